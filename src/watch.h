/* watch.h: the watch directory: inotify (IN_CLOSE_WRITE, IN_MOVED_TO) as a libevent event plus a
 * scan at start, handing each finished .torrent or .magnet file, read (and a .torrent parsed) on
 * the disk pool (engine_run_blocking), to a callback, a few milliseconds of them at a time. */
#ifndef DP_WATCH_H
#define DP_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct engine;
struct event_base;
struct metainfo;
struct watch;

/* A file picked up, read on a disk pool worker (regular files only; vanished ones are skipped). */
struct watch_file {
	const char *path;              /* dir/name */
	const char *name;
	bool scanned;                  /* found by a scan, so possibly still being written */
	bool fresh;                    /* modified in the last 5 seconds */
	const uint8_t *data;           /* its content (NUL-terminated), NULL when error is set */
	size_t len;
	int error;                     /* 0, or the errno of reading it (EINVAL: a .torrent that
	                                  does not parse) */
	const char *errmsg;            /* names the file and the failure when error is set */
	struct metainfo *mi;           /* a .torrent, parsed on the pool: the callback may take it
	                                  (and set mi to NULL); freed after it otherwise */
};

/* Called on the loop; it gives its verdict with watch_file_rename (or leaves the file for its
 * next close). */
typedef void (*watch_cb)(struct watch *w, struct watch_file *f, void *arg);

/*
 * Watches dir, creating it if missing: the directory is set up and scanned on the disk pool, so
 * a failure (not a directory, no permission) is logged when that job completes and leaves the
 * watch inert. Every filesystem call (stat, readdir, reading, renaming) runs on the pool.
 */
struct watch *watch_new(struct engine *e, struct event_base *base, const char *dir, watch_cb cb,
    void *arg);
/* From the callback: rename the file to its path + suffix (".added", ".invalid") on the pool. */
void watch_file_rename(struct watch *w, const struct watch_file *f, const char *suffix);
const char *watch_dir(const struct watch *w);
/* Tests: the time budget of one callback (files handed over, events read); 0: the default. */
void watch_set_slice_us(struct watch *w, uint64_t us);
/* Stops watching; jobs still on the pool finish without calling back. */
void watch_free(struct watch *w);
/* Pure: true for names ending in ".torrent" or ".magnet" (not hidden, not empty stem). */
bool watch_name_wanted(const char *name);

#endif
