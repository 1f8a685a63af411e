/* engine_rename.c: torrent-rename-path (Transmission's): a file or folder of a torrent takes a
 * new name, in the torrent (what every front end shows, kept in the resume file) and on disk.
 * The torrent stops while it happens (its disk jobs drain first: the storage's paths change), the
 * rename runs on the disk pool under the torrent's directory (each folder opened without
 * following links, RENAME_NOREPLACE: never over an existing file), and a torrent that ran runs
 * again after. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "engine.h"
#include "engine_private.h"
#include "engine_state.h"
#include "log.h"
#include "metainfo.h"
#include "session.h"
#include "storage.h"
#include "torrent.h"
#include "util.h"

#define RENAME_WAIT_MS 20            /* how often a stopped torrent's disk jobs are looked at */
#define RENAME_WAIT_MAX_MS 30000     /* ... and for how long at most */

struct engine_rename {
	struct engine *e;
	int id;
	char *path, *name;           /* as the client gave them */
	char *rel;                   /* inside the torrent's folder; NULL: the top (mi->name) */
	char *new_rel;               /* rel with its last component replaced */
	bool was_active;
	uint64_t waited_ms;
	struct event *wait_ev;
	/* for the worker: where, from what, to what (copies) */
	char *save_dir, *disk_from, *disk_to;   /* relative to save_dir */
	int error;
	char errmsg[512];
	void (*done)(void *arg, const char *err);
	void *arg;
};

static void
engine_rename_free(struct engine_rename *r)
{
	if (r->wait_ev != NULL)
		event_free(r->wait_ev);
	free(r->path);
	free(r->name);
	free(r->rel);
	free(r->new_rel);
	free(r->save_dir);
	free(r->disk_from);
	free(r->disk_to);
	free(r);
}

/* Whether file path p is rel itself or lies under the folder rel. */
static bool
engine_rename_under(const char *p, const char *rel)
{
	size_t n = strlen(rel);
	return strncmp(p, rel, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* The checks Transmission makes (and one it does not: a name another file or folder of the
 * torrent already has is refused, where Transmission makes two files of one path). */
static int
engine_rename_check(const struct metainfo *mi, struct engine_rename *r, char *err, size_t errlen)
{
	const char *name = r->name;
	if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return dp_fail(err, errlen, "invalid name: not empty, '.', '..' or with a '/'");
	if (strlen(name) > 255)
		return dp_fail(err, errlen, "invalid name: longer than 255 bytes");
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return dp_fail(err, errlen, "invalid name: it has a control character");
	size_t nlen = strlen(mi->name);
	if (strcmp(r->path, mi->name) == 0) {
		r->rel = NULL;
		return 0;
	}
	if (mi->file_count <= 1 && !mi->multi_file)
		return dp_fail(err, errlen, "no file or folder '%s' in this torrent", r->path);
	if (strncmp(r->path, mi->name, nlen) != 0 || r->path[nlen] != '/' ||
	    r->path[nlen + 1] == '\0')
		return dp_fail(err, errlen, "no file or folder '%s' in this torrent", r->path);
	const char *rel = r->path + nlen + 1;
	bool found = false;
	for (size_t i = 0; i < mi->file_count && !found; i++)
		found = !mi->files[i].pad && engine_rename_under(mi->files[i].path, rel);
	if (!found)
		return dp_fail(err, errlen, "no file or folder '%s' in this torrent", r->path);
	const char *slash = strrchr(rel, '/');
	size_t plen = slash != NULL ? (size_t)(slash - rel) + 1 : 0;
	r->rel = xstrdup(rel);
	r->new_rel = xasprintf("%.*s%s", (int)plen, rel, name);
	for (size_t i = 0; i < mi->file_count; i++)
		if (engine_rename_under(mi->files[i].path, r->new_rel))
			return dp_fail(err, errlen, "the torrent has a file or folder '%s/%s' already",
			    mi->name, r->new_rel);
	return 0;
}

/* Worker: renames disk_from to disk_to under save_dir, each folder on the way opened with
 * O_NOFOLLOW; nothing there is not an error (not downloaded yet: the names change only in the
 * torrent, as in Transmission). */
static void
engine_rename_work(void *arg)
{
	struct engine_rename *r = arg;
	int dfd = open(r->save_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r->error = errno;
		snprintf(r->errmsg, sizeof r->errmsg, "%s: %s", r->save_dir, strerror(errno));
		return;
	}
	char *from = r->disk_from;
	char *leaf = from;
	for (char *slash; (slash = strchr(leaf, '/')) != NULL; leaf = slash + 1) {
		*slash = '\0';
		int nfd = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		*slash = '/';
		if (nfd < 0) {
			close(dfd);
			if (e == ENOENT)
				return;        /* nothing on disk yet */
			r->error = e;
			snprintf(r->errmsg, sizeof r->errmsg, "%s/%.*s: %s", r->save_dir,
			    (int)(slash - from), from, e == ELOOP || e == ENOTDIR ?
			    "a symbolic link or not a directory; not renaming through it" :
			    strerror(e));
			return;
		}
		close(dfd);
		dfd = nfd;
	}
	struct stat sb;
	if (fstatat(dfd, leaf, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		int e = errno;
		close(dfd);
		if (e != ENOENT) {
			r->error = e;
			snprintf(r->errmsg, sizeof r->errmsg, "%s/%s: %s", r->save_dir, from,
			    strerror(e));
		}
		return;
	}
	const char *to = strrchr(r->disk_to, '/');
	to = to != NULL ? to + 1 : r->disk_to;
	if (renameat2(dfd, leaf, dfd, to, RENAME_NOREPLACE) != 0) {
		int e = errno;
		/* A filesystem without RENAME_NOREPLACE: a hard link refuses an existing name too. */
		if ((e == EINVAL || e == ENOSYS) && !S_ISDIR(sb.st_mode) &&
		    linkat(dfd, leaf, dfd, to, 0) == 0) {
			if (unlinkat(dfd, leaf, 0) != 0)
				e = errno;
			else
				e = 0;
		}
		if (e != 0) {
			r->error = e;
			snprintf(r->errmsg, sizeof r->errmsg, "%s/%s -> %s: %s", r->save_dir, from, to,
			    e == EEXIST ? "exists; not replacing it" : strerror(e));
		}
	}
	close(dfd);
}

/* A storage that uses the torrent's new names (storage keeps whole paths); its swarm and task
 * take them too. */
static void
engine_rename_storage(struct engine *e, struct torrent *t)
{
	struct storage *st = storage_new(t->mi, t->save_dir, e->set.max_open_files);
	if (st != NULL) {
		storage_free(t->st);
		t->st = st;
	}
	t->renamed = true;
	torrent_names_changed(t);
	torrent_touch(t);
}

/* A path the resume file gives: relative, each component neither empty, '.' nor '..'. */
static bool
engine_rename_safe(const char *p)
{
	if (p[0] == '\0' || p[0] == '/')
		return false;
	for (const char *c = p; c != NULL;) {
		const char *slash = strchr(c, '/');
		size_t n = slash != NULL ? (size_t)(slash - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = slash != NULL ? slash + 1 : NULL;
	}
	return true;
}

void
engine_rename_restore(struct engine *e, struct torrent *t, char *const *names)
{
	struct metainfo *mi = t->mi;
	bool ok = t->md == NULL && t->disk_jobs == 0 && engine_rename_safe(names[0]) &&
	    strchr(names[0], '/') == NULL;
	for (size_t i = 0; i < mi->file_count && ok; i++)
		ok = engine_rename_safe(names[i + 1]);
	if (!ok) {
		log_warn("%s: the names its resume file gives are not safe paths; keeping the "
		    "torrent's", mi->name);
		return;
	}
	free(mi->name);
	mi->name = xstrdup(names[0]);
	free(mi->display_name);
	mi->display_name = xstrdup(names[0]);
	for (size_t i = 0; i < mi->file_count; i++) {
		free(mi->files[i].path);
		mi->files[i].path = xstrdup(names[i + 1]);
		free(mi->files[i].display_path);
		mi->files[i].display_path = xstrdup(names[i + 1]);
	}
	engine_rename_storage(e, t);
}

/* The new names in the torrent (mi) and a storage that uses them. */
static void
engine_rename_apply(struct engine *e, struct torrent *t, struct engine_rename *r)
{
	struct metainfo *mi = t->mi;
	if (r->rel == NULL) {
		free(mi->name);
		mi->name = xstrdup(r->name);
		free(mi->display_name);
		mi->display_name = xstrdup(r->name);
		if (!mi->multi_file && mi->file_count == 1) {
			free(mi->files[0].path);
			mi->files[0].path = xstrdup(r->name);
			free(mi->files[0].display_path);
			mi->files[0].display_path = xstrdup(r->name);
		}
	} else {
		size_t n = strlen(r->rel);
		for (size_t i = 0; i < mi->file_count; i++) {
			struct mi_file *f = &mi->files[i];
			if (!engine_rename_under(f->path, r->rel))
				continue;
			char *p = xasprintf("%s%s", r->new_rel, f->path + n);
			free(f->path);
			f->path = p;
			free(f->display_path);
			f->display_path = xstrdup(p);
		}
	}
	engine_rename_storage(e, t);
}

/* Loop: the worker is done. */
static void
engine_rename_done(void *arg)
{
	struct engine_rename *r = arg;
	struct torrent *t = session_find_torrent(r->e, r->id);
	const char *err = NULL;
	if (t == NULL || t->removing) {
		err = "the torrent was removed meanwhile";
	} else if (r->error != 0) {
		err = r->errmsg;
		log_error("%s: rename of '%s' to '%s': %s", t->mi->name, r->path, r->name, r->errmsg);
	} else {
		log_info("%s: '%s' renamed to '%s'", t->mi->name, r->path, r->name);
		engine_rename_apply(r->e, t, r);
	}
	if (t != NULL && !t->removing && r->was_active && !r->e->shutting_down)
		torrent_start(t);
	r->done(r->arg, err);
	engine_rename_free(r);
}

/* Loop: waits for the stopped torrent's disk jobs, then hands the rename to the pool. */
static void
engine_rename_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine_rename *r = arg;
	(void)fd;
	(void)what;
	struct torrent *t = session_find_torrent(r->e, r->id);
	if (t == NULL || t->removing || r->e->shutting_down) {
		r->done(r->arg, "the torrent was removed meanwhile");
		engine_rename_free(r);
		return;
	}
	if (t->disk_jobs > 0 && r->waited_ms < RENAME_WAIT_MAX_MS) {
		r->waited_ms += RENAME_WAIT_MS;
		struct timeval tv = { 0, RENAME_WAIT_MS * 1000 };
		evtimer_add(r->wait_ev, &tv);
		return;
	}
	if (t->disk_jobs > 0) {
		if (r->was_active)
			torrent_start(t);
		r->done(r->arg, "the torrent's disk jobs did not finish in 30 s; nothing renamed");
		engine_rename_free(r);
		return;
	}
	storage_close_all(t->st);
	r->save_dir = xstrdup(t->save_dir);
	r->disk_from = r->rel != NULL ? xasprintf("%s/%s", t->mi->name, r->rel) :
	    xstrdup(t->mi->name);
	r->disk_to = r->rel != NULL ? xasprintf("%s/%s", t->mi->name, r->new_rel) :
	    xstrdup(r->name);
	char task[160];
	snprintf(task, sizeof task, "rename in %.100s", t->mi->name);
	engine_run_blocking(r->e, task, engine_rename_work, engine_rename_done, r);
}

int
engine_torrent_rename_path(struct engine *e, int id, const char *path, const char *name,
    void (*done)(void *arg, const char *err), void *arg, char *err, size_t errlen)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL)
		return dp_fail(err, errlen, "no torrent with id %d", id);
	if (t->md != NULL)
		return dp_fail(err, errlen, "%s: no metadata yet, no files to rename", t->mi->name);
	if (t->state == ENGINE_TORRENT_CHECKING)
		return dp_fail(err, errlen, "%s is being checked; rename it after", t->mi->name);
	struct engine_rename *r = xcalloc(1, sizeof *r);
	r->e = e;
	r->id = id;
	r->path = xstrdup(path);
	r->name = xstrdup(name);
	if (engine_rename_check(t->mi, r, err, errlen) < 0) {
		engine_rename_free(r);
		return -1;
	}
	r->done = done;
	r->arg = arg;
	r->was_active = torrent_is_active(t);
	if (r->was_active)
		torrent_stop(t, false);
	r->wait_ev = evtimer_new(e->base, engine_rename_wait_cb, r);
	event_active(r->wait_ev, EV_TIMEOUT, 0);
	return 0;
}
