/* watch.c: the watch directory: an inotify descriptor read by a libevent event; only files that
 * were closed after writing or moved in are picked up, so half-written files are never added. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "task.h"
#include "util.h"
#include "watch.h"

struct watch {
	char *dir;
	int fd;
	struct event *ev;
	struct dp_task *task;
	watch_cb cb;
	void *arg;
};

static bool
watch_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcmp(s + n - m, suffix) == 0;
}

bool
watch_name_wanted(const char *name)
{
	if (name[0] == '.' || name[0] == '\0')
		return false;
	return watch_ends_with(name, ".torrent") || watch_ends_with(name, ".magnet");
}

static void
watch_handle(struct watch *w, const char *name, bool scanned)
{
	if (!watch_name_wanted(name))
		return;
	char *path = xasprintf("%s/%s", w->dir, name);
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		w->cb(path, scanned, w->arg);
	free(path);
}

static void
watch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	(void)what;
	task_cb_begin(w->task);
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN)
				log_error("watch %s: read: %s", w->dir, strerror(errno));
			break;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ie = (const struct inotify_event *)p;
			if (ie->mask & IN_Q_OVERFLOW) {
				log_warn("watch %s: events lost; scanning the directory", w->dir);
				DIR *d = opendir(w->dir);
				for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;)
					watch_handle(w, de->d_name, true);
				if (d != NULL)
					closedir(d);
			} else if (ie->len > 0 && (ie->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))) {
				watch_handle(w, ie->name, false);
			}
			if (ie->mask & IN_IGNORED)
				log_error("watch %s: the directory went away; no longer watching", w->dir);
			p += sizeof *ie + ie->len;
		}
	}
	task_wait(w->task, DP_TASK_READ_WAIT, "watching %s", w->dir);
	task_cb_end(w->task);
}

struct watch *
watch_new(struct event_base *base, const char *dir, watch_cb cb, void *arg, char *err,
    size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "watch directory %s: %s", dir,
		    errno != 0 && !S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
		return NULL;
	}
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "inotify_init1: %s", strerror(errno));
		return NULL;
	}
	if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
		snprintf(err, errlen, "watch directory %s: inotify_add_watch: %s", dir,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	struct watch *w = xcalloc(1, sizeof *w);
	w->dir = xstrdup(dir);
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	w->ev = event_new(base, fd, EV_READ | EV_PERSIST, watch_read_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) < 0) {
		snprintf(err, errlen, "watch directory %s: can't add the event", dir);
		if (w->ev != NULL)
			event_free(w->ev);
		close(fd);
		free(w->dir);
		free(w);
		return NULL;
	}
	w->task = task_new(DP_TASK_KIND_TIMER, 0, "watch %s", dir);
	task_wait(w->task, DP_TASK_READ_WAIT, "watching %s", dir);
	/* Files dropped while we were not running: the watch is in place first, so a file
	 * finishing now is seen by one or the other (the callback renames it, so not twice). */
	DIR *d = opendir(dir);
	if (d == NULL) {
		log_error("watch %s: can't scan: %s", dir, strerror(errno));
	} else {
		struct dirent *de;
		char **names = NULL;
		size_t n = 0;
		while ((de = readdir(d)) != NULL) {
			if (!watch_name_wanted(de->d_name))
				continue;
			names = xreallocarray(names, n + 1, sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
		closedir(d);
		for (size_t i = 0; i < n; i++) {
			watch_handle(w, names[i], true);
			free(names[i]);
		}
		free(names);
	}
	log_info("watching %s for .torrent and .magnet files", dir);
	return w;
}

const char *
watch_dir(const struct watch *w)
{
	return w->dir;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	event_free(w->ev);
	close(w->fd);
	task_done(w->task, "stopped watching");
	free(w->dir);
	free(w);
}
