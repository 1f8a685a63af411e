/* watch.h: the watch directory: inotify (IN_CLOSE_WRITE, IN_MOVED_TO) as a libevent event plus a
 * scan at start, handing each finished .torrent or .magnet file to a callback. */
#ifndef DP_WATCH_H
#define DP_WATCH_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct watch;

/* Called on the loop with the file's full path; it renames the file (.added, .invalid).
 * scanned: found by the start-up scan, so possibly still being written by someone. */
typedef void (*watch_cb)(const char *path, bool scanned, void *arg);

/* Watches dir (which must exist) and scans it once now. NULL with err on failure. */
struct watch *watch_new(struct event_base *base, const char *dir, watch_cb cb, void *arg,
    char *err, size_t errlen);
const char *watch_dir(const struct watch *w);
void watch_free(struct watch *w);
/* Pure: true for names ending in ".torrent" or ".magnet" (not hidden, not empty stem). */
bool watch_name_wanted(const char *name);

#endif
