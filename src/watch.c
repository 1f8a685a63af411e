/* watch.c: the watch directory: an inotify descriptor read by a libevent event; only files that
 * were closed after writing or moved in are picked up, so half-written files are never added.
 * Setting up, scanning, reading, parsing .torrent files and renaming run on the disk pool, never
 * on the loop thread; the inotify events and what was read are taken in slices with a time
 * budget (10,000 files dropped at once never hold the loop). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "engine.h"
#include "idmap.h"
#include "log.h"
#include "metainfo.h"
#include "util.h"
#include "watch.h"

#define WATCH_FRESH_S 5                 /* younger files found by a scan may be half-written */
#define WATCH_MAX_MAGNET (64u * 1024u)
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR)
/* Files handed over, or inotify events read, per callback: at most this long (an add costs
 * 0.1-0.2 ms of the loop; 8 ms slices measured 10-80 ms of wall time on a loaded machine). */
#define WATCH_SLICE_US 4000u

/* A name being read or renamed: a second job for it would add it twice or rename it away
 * under the first. An event for it meanwhile is remembered (again) and read afterwards. */
struct watch_busy {
	char *name;
	bool renaming;
	bool again;
	uint64_t key;                   /* in busy_by_name */
	struct watch_busy *next, *prev;
};

struct watch {
	char *dir;
	int fd;
	struct event *ev;
	struct engine_task *task;
	bool failed;                    /* its task failed: the watch is inert */
	struct engine *e;               /* runs its filesystem work (engine_run_blocking) */
	watch_cb cb;
	void *arg;
	struct watch_busy *busy;
	struct dp_idmap busy_by_name;   /* name hash -> busy entry: no walk per inotify event */
	size_t jobs;                    /* on the pool, or read and still being handed over */
	bool dead;                      /* freed while jobs were on the pool */
	/* Read jobs whose files are handed to cb a slice at a time, in order. */
	struct watch_job *deliver_head, *deliver_tail;
	size_t deliver_next;            /* the head's next result */
	bool delivering;
	struct event *deliver_ev;
	uint64_t slice_us;              /* WATCH_SLICE_US but in tests */
};

struct watch_result {
	char *name;
	char *path;
	uint8_t *data;
	size_t len;
	int error;
	char errmsg[300];
	bool fresh;
	bool skip;                      /* gone, or not a regular file */
	struct metainfo *mi;            /* a .torrent, parsed on the worker (NULL: taken, or none) */
};

/* One pool job: set the directory up, scan it, read files, or rename one. */
struct watch_job {
	struct watch *w;
	int error;                      /* the work's: 0 or an errno value */
	char errmsg[256];
	char what[160];
	char *dir;                      /* the job's own copy */
	int fd;
	bool setup;                     /* create and check dir, add the inotify watch */
	bool scan;                      /* list dir for the files to read */
	char **names;                   /* to read (a scan fills it on the worker) */
	size_t n;
	struct watch_result *res;
	char *from, *to;                /* a rename */
	char *rename_name;
	struct watch_job *next;         /* in the delivery queue */
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

static uint64_t
watch_name_key(const char *name)
{
	return dp_fnv1a(DP_FNV1A_INIT, name, strlen(name));
}

static struct watch_busy *
watch_busy_find(struct watch *w, const char *name)
{
	size_t cursor = 0;
	struct watch_busy *b;
	uint64_t key = watch_name_key(name);
	while ((b = dp_idmap_next(&w->busy_by_name, key, &cursor)) != NULL)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

static struct watch_busy *
watch_busy_add(struct watch *w, const char *name)
{
	struct watch_busy *b = xcalloc(1, sizeof *b);
	b->name = xstrdup(name);
	b->key = watch_name_key(name);
	b->next = w->busy;
	if (w->busy != NULL)
		w->busy->prev = b;
	w->busy = b;
	dp_idmap_put(&w->busy_by_name, b->key, b);
	return b;
}

static void
watch_busy_remove(struct watch *w, struct watch_busy *b)
{
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		w->busy = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	dp_idmap_del(&w->busy_by_name, b->key, b);
	free(b->name);
	free(b);
}

/* ---- on a worker ---- */

static void
watch_read_one(struct watch_result *r)
{
	struct stat st;
	if (stat(r->path, &st) < 0 || !S_ISREG(st.st_mode)) {
		r->skip = true;
		return;
	}
	r->fresh = st.st_mtime >= time(NULL) - WATCH_FRESH_S;
	size_t max = watch_ends_with(r->name, ".magnet") ? WATCH_MAX_MAGNET :
	    DP_MAX_TORRENT_FILE_SIZE;
	if (dp_read_file(r->path, max, &r->data, &r->len) < 0) {
		r->error = errno;
		if (errno == ENOENT)
			r->skip = true;
		else if (errno == EFBIG)
			snprintf(r->errmsg, sizeof r->errmsg, "%s: larger than the %zu KiB limit",
			    r->path, max / 1024);
		else
			snprintf(r->errmsg, sizeof r->errmsg, "%s: %s", r->path, dp_strerror(errno));
		return;
	}
	/* Text for a magnet link: terminated here so the loop never copies it. */
	r->data = xrealloc(r->data, r->len + 1);
	r->data[r->len] = '\0';
	if (!watch_ends_with(r->name, ".torrent"))
		return;
	/* Parsed here, not on the loop: a large .torrent (up to the size limit) is megabytes to
	 * decode and hash. The bytes stay for a caller that wants them. */
	char why[256];
	r->mi = metainfo_parse(r->data, r->len, why, sizeof why);
	if (r->mi == NULL) {
		r->error = EINVAL;
		snprintf(r->errmsg, sizeof r->errmsg, "%s: %s", r->path, why);
	}
}

static void
watch_job_work(void *arg)
{
	struct watch_job *wj = arg;
	if (wj->from != NULL) {
		if (rename(wj->from, wj->to) < 0) {
			wj->error = errno;
			snprintf(wj->errmsg, sizeof wj->errmsg, "can't rename %s to %s: %s",
			    wj->from, wj->to, strerror(errno));
		}
		return;
	}
	if (wj->setup) {
		struct stat st;
		if (mkdir(wj->dir, 0755) < 0 && errno != EEXIST) {
			wj->error = errno;
			snprintf(wj->errmsg, sizeof wj->errmsg, "can't create: %s",
			    strerror(errno));
			return;
		}
		if (stat(wj->dir, &st) < 0)
			wj->error = errno;
		else if (!S_ISDIR(st.st_mode))
			wj->error = ENOTDIR;
		if (wj->error != 0) {
			snprintf(wj->errmsg, sizeof wj->errmsg, "%s", strerror(wj->error));
			return;
		}
		if (inotify_add_watch(wj->fd, wj->dir, WATCH_MASK) < 0) {
			wj->error = errno;
			snprintf(wj->errmsg, sizeof wj->errmsg, "inotify_add_watch: %s",
			    strerror(errno));
			return;
		}
	}
	if (wj->scan) {
		/* The watch is in place first, so a file finishing now is seen by the scan or
		 * by an event, and the busy list keeps it from being handled twice. */
		DIR *d = opendir(wj->dir);
		if (d == NULL) {
			wj->error = errno;
			snprintf(wj->errmsg, sizeof wj->errmsg, "can't scan: %s", strerror(errno));
			return;
		}
		for (struct dirent *de; (de = readdir(d)) != NULL;) {
			if (!watch_name_wanted(de->d_name))
				continue;
			wj->names = xreallocarray(wj->names, wj->n + 1, sizeof *wj->names);
			wj->names[wj->n++] = xstrdup(de->d_name);
		}
		closedir(d);
	}
	wj->res = xcalloc(wj->n ? wj->n : 1, sizeof *wj->res);
	for (size_t i = 0; i < wj->n; i++) {
		wj->res[i].name = wj->names[i];
		wj->res[i].path = xasprintf("%s/%s", wj->dir, wj->names[i]);
		watch_read_one(&wj->res[i]);
	}
}

/* ---- on the loop ---- */

static void watch_job_done(void *arg);

static struct watch_job *
watch_job_new(struct watch *w)
{
	struct watch_job *wj = xcalloc(1, sizeof *wj);
	wj->w = w;
	wj->dir = xstrdup(w->dir);
	wj->fd = w->fd;
	return wj;
}

static void
watch_job_submit(struct watch *w, struct watch_job *wj)
{
	w->jobs++;
	engine_run_blocking(w->e, wj->what, watch_job_work, watch_job_done, wj);
}

/* What a result holds, once handed over (or never: the watch was freed). */
static void
watch_result_clear(struct watch_result *r)
{
	free(r->path);
	r->path = NULL;
	free(r->data);
	r->data = NULL;
	metainfo_free(r->mi);
	r->mi = NULL;
}

static void
watch_job_free(struct watch_job *wj)
{
	for (size_t i = 0; i < wj->n; i++) {
		free(wj->names[i]);
		if (wj->res != NULL)
			watch_result_clear(&wj->res[i]);
	}
	free(wj->names);
	free(wj->res);
	free(wj->dir);
	free(wj->from);
	free(wj->to);
	free(wj->rename_name);
	free(wj);
}

static void
watch_destroy(struct watch *w)
{
	while (w->busy != NULL)
		watch_busy_remove(w, w->busy);
	dp_idmap_free(&w->busy_by_name);
	if (w->deliver_ev != NULL)
		event_free(w->deliver_ev);
	if (w->fd >= 0)
		close(w->fd);
	engine_task_release(&w->task);
	free(w->dir);
	free(w);
}

static void
watch_scan(struct watch *w, bool setup)
{
	struct watch_job *wj = watch_job_new(w);
	wj->setup = setup;
	wj->scan = true;
	snprintf(wj->what, sizeof wj->what, "watch: %s %s", setup ? "setting up and scanning" :
	    "scanning", w->dir);
	watch_job_submit(w, wj);
}

/* Reads the named files (already marked busy) in one job. */
static void
watch_read(struct watch *w, char **names, size_t n)
{
	struct watch_job *wj = watch_job_new(w);
	wj->names = names;
	wj->n = n;
	if (n == 1)
		snprintf(wj->what, sizeof wj->what, "watch: reading %s/%s", w->dir, names[0]);
	else
		snprintf(wj->what, sizeof wj->what, "watch: reading %zu files in %s", n, w->dir);
	watch_job_submit(w, wj);
}

static void
watch_read_name(struct watch *w, const char *name)
{
	char **names = xcalloc(1, sizeof *names);
	names[0] = xstrdup(name);
	watch_read(w, names, 1);
}

/* A busy name is done with: read it again if an event came for it meanwhile. */
static void
watch_release(struct watch *w, struct watch_busy *b)
{
	bool again = b->again;
	char *name = xstrdup(b->name);
	watch_busy_remove(w, b);
	if (again) {
		watch_busy_add(w, name);
		watch_read_name(w, name);
	}
	free(name);
}

static void
watch_deliver(struct watch *w, struct watch_job *wj, struct watch_result *r)
{
	struct watch_busy *b = watch_busy_find(w, r->name);
	if (wj->scan && b != NULL) {
		/* An event's job (or a rename) has it. */
		return;
	}
	if (b == NULL)
		b = watch_busy_add(w, r->name);
	if (!r->skip) {
		struct watch_file f = {
			.path = r->path, .name = r->name, .scanned = wj->scan, .fresh = r->fresh,
			.data = r->error ? NULL : r->data, .len = r->error ? 0 : r->len,
			.error = r->error, .errmsg = r->errmsg, .mi = r->mi,
		};
		r->mi = NULL;
		w->cb(w, &f, w->arg);
		metainfo_free(f.mi);   /* not taken */
		if (w->dead)
			return;
	}
	/* The callback may have asked for a rename: the entry stays until that is done. */
	b = watch_busy_find(w, r->name);
	if (b != NULL && !b->renaming)
		watch_release(w, b);
	/* Freed as it goes: the job's end frees nothing per file. */
	watch_result_clear(r);
}

/* A read job handed over to the end (or dropped: the watch was freed). */
static void
watch_deliver_finish(struct watch *w)
{
	struct watch_job *wj = w->deliver_head;
	w->deliver_head = wj->next;
	if (w->deliver_head == NULL)
		w->deliver_tail = NULL;
	w->deliver_next = 0;
	watch_job_free(wj);
	w->jobs--;
}

/* Hands read files to the callback for at most slice_us; the rest follows in the next loop
 * turn (deliver_ev), after what else is waiting. */
static void
watch_deliver_slice(struct watch *w)
{
	uint64_t start = dp_now_us();
	size_t done = 0;
	w->delivering = true;
	while (w->deliver_head != NULL && !w->dead) {
		struct watch_job *wj = w->deliver_head;
		if (w->deliver_next >= wj->n) {
			watch_deliver_finish(w);
			continue;
		}
		if (done > 0 && dp_now_us() - start >= w->slice_us)
			break;
		watch_deliver(w, wj, &wj->res[w->deliver_next++]);
		done++;
	}
	w->delivering = false;
	if (w->dead) {
		while (w->deliver_head != NULL)
			watch_deliver_finish(w);
	} else if (w->deliver_head != NULL) {
		engine_task_wait(w->task, ENGINE_TASK_READY, "adding what was read: %zu of %zu "
		    "files", w->deliver_next, w->deliver_head->n);
		/* A zero timeout, not event_active: that would run it in this same loop turn,
		 * before the loop polls for anything else. */
		event_add(w->deliver_ev, &(struct timeval){ 0, 0 });
	}
}

static void
watch_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	(void)fd;
	(void)what;
	engine_task_cb_begin(w->task);
	watch_deliver_slice(w);
	if (!w->dead && !w->failed && w->deliver_head == NULL)
		engine_task_idle(w->task, ENGINE_TASK_READ_WAIT, "watching %s", w->dir);
	engine_task_cb_end(w->task);
	if (w->dead && w->jobs == 0)
		watch_destroy(w);
}

static void
watch_job_done(void *arg)
{
	struct watch_job *wj = arg;
	struct watch *w = wj->w;
	if (w->dead) {
		watch_job_free(wj);
		if (--w->jobs == 0)
			watch_destroy(w);
		return;
	}
	engine_task_cb_begin(w->task);
	if (wj->from != NULL) {
		if (wj->error != 0)
			log_error("watch: %s", wj->errmsg);
		struct watch_busy *b = watch_busy_find(w, wj->rename_name);
		if (b != NULL)
			watch_release(w, b);
	} else if (wj->error != 0) {
		log_error("watch %s: %s%s", w->dir, wj->errmsg, wj->setup ?
		    "; not watching it" : "");
		if (wj->setup) {
			engine_task_fail(w->task, "%s: %s", w->dir, wj->errmsg);
			w->failed = true;
		}
	} else {
		if (wj->setup) {
			if (event_add(w->ev, NULL) < 0) {
				log_error("watch %s: can't add the event; not watching it", w->dir);
				engine_task_fail(w->task, "%s: can't add the event", w->dir);
				w->failed = true;
			} else {
				log_info("watching %s for .torrent and .magnet files", w->dir);
			}
		}
		if (wj->n > 0) {
			/* Counted in jobs until handed over to the end. Behind others, it waits for
			 * their next slice (already due): one slice a loop turn. */
			bool first = w->deliver_head == NULL;
			wj->next = NULL;
			if (w->deliver_tail != NULL)
				w->deliver_tail->next = wj;
			else
				w->deliver_head = wj;
			w->deliver_tail = wj;
			wj = NULL;
			if (first && !w->delivering)
				watch_deliver_slice(w);
		}
	}
	if (!w->dead && !w->failed && w->deliver_head == NULL)
		engine_task_idle(w->task, ENGINE_TASK_READ_WAIT, "watching %s", w->dir);
	engine_task_cb_end(w->task);
	if (wj != NULL) {
		watch_job_free(wj);
		w->jobs--;
	}
	/* Counted until here: a callback that frees the watch must not destroy it under us. */
	if (w->jobs == 0 && w->dead)
		watch_destroy(w);
}

void
watch_file_rename(struct watch *w, const struct watch_file *f, const char *suffix)
{
	struct watch_busy *b = watch_busy_find(w, f->name);
	if (b == NULL)
		b = watch_busy_add(w, f->name);
	b->renaming = true;
	struct watch_job *wj = watch_job_new(w);
	wj->from = xstrdup(f->path);
	wj->to = xasprintf("%s%s", f->path, suffix);
	wj->rename_name = xstrdup(f->name);
	snprintf(wj->what, sizeof wj->what, "watch: renaming %s to *%s", f->path, suffix);
	watch_job_submit(w, wj);
}

static void
watch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	(void)what;
	engine_task_cb_begin(w->task);
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	char **names = NULL;
	size_t n = 0, cap = 0, reads = 0;
	bool lost = false, more = false;
	uint64_t start = dp_now_us();
	for (;; reads++) {
		/* The rest of a full queue (16,384 events by default: our own renames to .added
		 * are events too) waits for the next loop turn; the descriptor stays readable. */
		if (reads > 0 && dp_now_us() - start >= w->slice_us) {
			more = true;
			break;
		}
		ssize_t got = read(fd, buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got < 0 && errno != EAGAIN)
				log_error("watch %s: read: %s", w->dir, strerror(errno));
			break;
		}
		engine_task_progress(w->task, (uint64_t)got, 0);
		for (char *p = buf; p < buf + got;) {
			const struct inotify_event *ie = (const struct inotify_event *)p;
			if (ie->mask & IN_Q_OVERFLOW) {
				lost = true;
			} else if (ie->len > 0 && (ie->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) &&
			    watch_name_wanted(ie->name)) {
				struct watch_busy *b = watch_busy_find(w, ie->name);
				if (b != NULL) {
					b->again = true;
				} else {
					watch_busy_add(w, ie->name);
					if (n == cap) {
						cap = cap ? cap * 2 : 16;
						names = xreallocarray(names, cap, sizeof *names);
					}
					names[n++] = xstrdup(ie->name);
				}
			}
			if (ie->mask & IN_IGNORED)
				log_error("watch %s: the directory went away; no longer watching", w->dir);
			p += sizeof *ie + ie->len;
		}
	}
	if (n > 0)
		watch_read(w, names, n);
	if (lost) {
		log_warn("watch %s: events lost; scanning the directory", w->dir);
		watch_scan(w, false);
	}
	if (more)
		engine_task_wait(w->task, ENGINE_TASK_READY, "more events to read (%zu so far "
		    "this turn)", n);
	else if (w->deliver_head == NULL)
		engine_task_idle(w->task, ENGINE_TASK_READ_WAIT, "watching %s", w->dir);
	engine_task_cb_end(w->task);
}

struct watch *
watch_new(struct engine *e, struct event_base *base, const char *dir, watch_cb cb, void *arg)
{
	struct watch *w = xcalloc(1, sizeof *w);
	w->dir = xstrdup(dir);
	w->e = e;
	w->cb = cb;
	w->arg = arg;
	w->slice_us = WATCH_SLICE_US;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->task = engine_task_new(e, ENGINE_TASK_KIND_TIMER, 0, "watch %s", dir);
	if (w->fd < 0) {
		log_error("watch %s: inotify_init1: %s; not watching it", dir, strerror(errno));
		engine_task_fail(w->task, "inotify_init1: %s", strerror(errno));
		w->failed = true;
		w->dead = true;
		return w;
	}
	w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST, watch_read_cb, w);
	w->deliver_ev = event_new(base, -1, 0, watch_deliver_cb, w);
	if (w->ev == NULL || w->deliver_ev == NULL) {
		log_error("watch %s: can't create the event; not watching it", dir);
		engine_task_fail(w->task, "can't create the event");
		w->failed = true;
		w->dead = true;
		return w;
	}
	engine_task_wait(w->task, ENGINE_TASK_DISK_WAIT,
	    "setting up and scanning %s on the disk pool", dir);
	watch_scan(w, true);
	return w;
}

const char *
watch_dir(const struct watch *w)
{
	return w->dir;
}

void
watch_set_slice_us(struct watch *w, uint64_t us)
{
	w->slice_us = us > 0 ? us : WATCH_SLICE_US;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->ev != NULL)
		event_free(w->ev);
	w->ev = NULL;
	if (!w->failed)
		engine_task_done(w->task, "stopped watching");
	w->dead = true;
	/* Read but not handed over: left on disk for the next start's scan. */
	if (!w->delivering) {
		if (w->deliver_ev != NULL)
			event_del(w->deliver_ev);
		while (w->deliver_head != NULL)
			watch_deliver_finish(w);
	}
	if (w->jobs == 0)
		watch_destroy(w);
}
