/* store_load.c: the session store's start: the session's torrents read and parsed on the writer
 * thread, added on the loop in slices with what their resume files saved, a recheck of only the
 * pieces of changed files, and the error state a torrent was saved in. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "engine.h"
#include "engine_policy.h"
#include "log.h"
#include "magnet.h"
#include "metainfo.h"
#include "resume.h"
#include "store_private.h"
#include "util.h"

/* ---- restoring from the last session ---- */

/* A torrent saved in the error state stays there, with its message, until the user starts it
 * (a start clears the error): it must not come back as downloading after a restart. The error
 * hook ran when the error happened; it does not run again for the restore. */
static void
store_restore_error(struct store *s, struct store_item *it, const char *msg)
{
	struct engine_policy_names nm;
	log_warn("%s: still in the error state from the last session; start it once the cause "
	    "is fixed", store_name(s, it->id, &nm));
	engine_policy_set_error(s->e, it->id, msg);
	it->error_pending = false;
}

/* The recheck of the changed files' pieces is over (engine_policy_recheck). */
static void
store_recheck_done(void *arg, int id, bool applied)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	if (it == NULL)
		return;
	it->checking = false;
	store_mark(s, it);
	char *error = it->restore_error;
	it->restore_error = NULL;
	if (applied) {
		if (error != NULL)
			store_restore_error(s, it, error);
		store_save(s, it);
		struct engine_policy_torrent v;
		if (it->want_running && engine_policy_torrent(s->e, id, 0, &v) == 0 &&
		    v.state != ENGINE_TORRENT_ERROR && store_admit(s, it))
			engine_policy_start(s->e, id);
	}
	free(error);
}

/* ---- loading ---- */

/* Gives a torrent just added what its resume file saved; returns the pieces of changed files
 * to recheck (*nrecheck of them). */
static uint32_t *
store_apply_resume(struct store *s, struct store_item *it, const struct resume *r,
    uint32_t *nrecheck)
{
	struct engine_restore_file *files = xcalloc(r->file_count ? r->file_count : 1,
	    sizeof *files);
	for (size_t i = 0; i < r->file_count; i++) {
		files[i].size = r->files[i].size;
		files[i].mtime_ns = r->files[i].mtime_ns;
		files[i].priority = r->files[i].priority;
	}
	struct engine_restore er = {
		.pieces = r->pieces, .unchecked = r->unchecked, .files = files,
		.sequential = r->sequential,
		.down_limit = r->down_limit, .up_limit = r->up_limit,
		.max_peers = (int)r->max_peers, .upload_slots = (int)r->upload_slots,
		.uploaded = r->uploaded, .downloaded = r->downloaded,
		.added_date = r->added_date, .completed_date = r->completed_date,
		.labels = r->labels, .trackers = r->trackers, .peers = r->peers,
		.idle_mode = (int)r->seed_idle_mode, .idle_limit = (int)r->seed_idle_limit,
		.names = r->names,
	};
	uint32_t *recheck = engine_policy_restore(s->e, it->id, &er, nrecheck);
	free(files);
	it->seeding_s = r->seeding_s;
	it->downloading_s = r->downloading_s;
	it->seed_ratio_milli = r->seed_ratio_milli;
	it->seed_time_s = r->seed_time_s;
	it->want_running = r->running;
	struct engine_policy_torrent v;
	if (engine_policy_torrent(s->e, it->id, 0, &v) == 0)
		it->synced_have = v.have_pieces;
	return recheck;
}

struct store_entry {
	char *path;
	struct metainfo *mi;          /* parsed on the writer thread; taken by the add */
	char *uri;                    /* a magnet still fetching its metadata: its link */
	char hex[41];
	bool mi_ok;                   /* a .torrent that loads */
	struct resume r;
	bool have_resume;
	bool magnet_resume;           /* r is the magnet's (its metadata came just before a crash) */
	char why[1200];
	bool used_backup;
};

static int
store_entry_cmp(const void *a, const void *b)
{
	const struct store_entry *x = a, *y = b;
	int64_t px = x->have_resume || x->magnet_resume ? x->r.queue_pos : INT32_MAX;
	int64_t py = y->have_resume || y->magnet_resume ? y->r.queue_pos : INT32_MAX;
	if (px != py)
		return px < py ? -1 : 1;
	return strcmp(x->hex, y->hex);
}

/* A .torrent of the session directory that no longer loads stays listed, in the error state
 * with the reason, so the user sees it and can remove it (issue 11, finding 15; it used to
 * vanish with one log line): the magnet of its info-hash (the file's name), stopped. Starting
 * it fetches the metadata from peers, which writes a good .torrent again. */
static void
store_keep_unusable(struct store *s, struct store_entry *en)
{
	char *uri = xasprintf("magnet:?xt=urn:btih:%s", en->hex);
	struct engine_add_opts opts = { 0 };
	opts.paused = true;
	int id = 0;
	char err[512];
	if (engine_add_magnet(s->e, uri, &opts, &id, err, sizeof err) == 0) {
		/* The reason without the path it starts with: the message names the file. */
		const char *why = en->why[0] != '\0' ? en->why : "does not load";
		size_t pl = strlen(en->path);
		if (strncmp(why, en->path, pl) == 0 && strncmp(why + pl, ": ", 2) == 0)
			why += pl + 2;
		char msg[256];
		snprintf(msg, sizeof msg, "session file torrents/%s.torrent unusable (%.100s): "
		    "remove the torrent and add it again, or start it to fetch its metadata",
		    en->hex, why);
		engine_policy_set_error(s->e, id, msg);
	} else {
		log_error("session: %s: can't list it in the error state: %s", en->path, err);
	}
	free(uri);
}

static void
store_load_one(struct store *s, struct store_entry *en)
{
	char err[512];
	struct engine_add_opts opts = { 0 };
	opts.paused = true;
	opts.restored = true;
	if ((en->have_resume || en->magnet_resume) && en->r.save_path[0] != '\0')
		opts.save_dir = en->r.save_path;
	int id = 0;
	struct metainfo *mi = en->mi;
	en->mi = NULL;
	int rc = en->uri != NULL ?
	    engine_add_magnet(s->e, en->uri, &opts, &id, err, sizeof err) : mi != NULL ?
	    engine_policy_add_metainfo(s->e, mi, &opts, &id, err, sizeof err) :
	    engine_add_torrent_file(s->e, en->path, &opts, &id, err, sizeof err);
	if (rc < 0) {
		log_error("session: %s: %s", en->path, err);
		if (en->uri == NULL)
			store_keep_unusable(s, en);
		return;
	}
	struct store_item *it = store_find(s, id);
	struct engine_policy_names nm;
	if (it == NULL || engine_policy_names(s->e, id, &nm) < 0)
		return;
	if (!en->have_resume) {
		if (en->uri != NULL)
			log_warn("%s: no usable resume data (%s): fetching its metadata again",
			    nm.name, en->why);
		else
			log_warn("%s: no usable resume data (%s): checking the data", nm.name,
			    en->why);
		it->want_running = true;
		it->saved_fp = 0;
		if (en->magnet_resume) {
			/* What the user chose for the magnet still holds. */
			engine_policy_set_added_date(s->e, id, en->r.added_date);
			it->want_running = en->r.running;
			it->seed_ratio_milli = en->r.seed_ratio_milli;
			it->seed_time_s = en->r.seed_time_s;
		}
		return;
	}
	if (en->used_backup)
		log_warn("%s: resume file unusable (%s): using the backup", nm.name, en->why);
	if (en->r.unchecked)
		log_info("%s: its data was not checked before the last stop: it is checked when it "
		    "starts", nm.name);
	uint32_t nr = 0;
	uint32_t *recheck = store_apply_resume(s, it, &en->r, &nr);
	if (nr == 0) {
		free(recheck);
		if (en->r.error != NULL)
			store_restore_error(s, it, en->r.error);
		struct engine_policy_torrent v;
		if (engine_policy_torrent(s->e, id, ENGINE_POLICY_FP, &v) == 0)
			it->saved_fp = store_fingerprint(it, v.persist_fp, store_position(s, it));
		if (en->used_backup)
			it->saved_fp = 0;   /* write a good main file again */
		return;
	}
	/* The recheck owns its copy of the metainfo, so the torrent may be removed meanwhile. */
	char why[256];
	mi = metainfo_load(en->path, why, sizeof why);
	if (mi == NULL) {
		log_error("%s: %s", nm.name, why);
		free(recheck);
		return;
	}
	if (en->r.error != NULL)
		it->restore_error = xstrdup(en->r.error);   /* set again once the recheck is done */
	it->checking = true;
	engine_policy_recheck(s->e, id, mi, recheck, nr, store_recheck_done, s);
}

static void
store_drop_entry(struct store_entry *en)
{
	free(en->path);
	en->path = NULL;
	metainfo_free(en->mi);
	en->mi = NULL;
}

/*
 * A magnet's link file: its resume file has no pieces and no files. A usable .torrent of the
 * same hash wins (we stopped between writing it and removing the link); a link that does not
 * parse or names another hash is left on disk and skipped (en->path NULL).
 */
static void
store_read_magnet(struct store *s, struct store_entry *v, size_t n, struct store_entry *en)
{
	for (size_t k = 0; k < n; k++) {
		if (&v[k] == en || v[k].path == NULL || strcmp(v[k].hex, en->hex) != 0)
			continue;
		if (!v[k].mi_ok) {
			log_warn("session: %s is unusable (%s): the magnet link is used instead",
			    v[k].path, v[k].why);
			store_drop_entry(&v[k]);
			break;
		}
		log_info("session: %s: the metadata was saved as a .torrent; removing the link",
		    en->path);
		if (unlink(en->path) < 0)
			log_warn("%s: can't remove: %s", en->path, strerror(errno));
		store_drop_entry(en);
		return;
	}
	uint8_t *buf;
	size_t len;
	char why[256];
	if (dp_read_file(en->path, 64 * 1024, &buf, &len) < 0) {
		log_error("session: %s: %s", en->path, dp_strerror(errno));
		goto skip;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	struct magnet *m = magnet_parse((char *)buf, why, sizeof why);
	if (m == NULL || strcmp(m->info_hash_hex, en->hex) != 0) {
		log_error("session: %s: %s", en->path, m == NULL ? why : "names another info-hash");
		magnet_free(m);
		free(buf);
		goto skip;
	}
	en->uri = (char *)buf;
	char *rp = store_resume_path(s, en->hex);
	en->have_resume = resume_load(rp, m->info_hash, 0, 0, &en->r, &en->used_backup, en->why,
	    sizeof en->why) == 0;
	free(rp);
	magnet_free(m);
	return;
skip:
	store_drop_entry(en);
}

static void
store_entry_clear(struct store_entry *en)
{
	resume_clear(&en->r);
	metainfo_free(en->mi);
	en->mi = NULL;
	free(en->path);
	en->path = NULL;
	free(en->uri);
	en->uri = NULL;
}

/* The writer thread: the directory, every .torrent parsed and its resume file read, then the
 * queue order. Touches nothing of the store but its (fixed) paths. */
static void
store_load_read(struct resume_job *job)
{
	struct store_load *L = job->ctx;
	struct store *s = L->s;
	DIR *d = opendir(s->tdir);
	if (d == NULL) {
		snprintf(L->err, sizeof L->err, "%s: %s", s->tdir, strerror(errno));
		return;
	}
	struct store_entry *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 47 || strcmp(de->d_name + 40, len == 48 ? ".torrent" : ".magnet") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof *v);
		}
		struct store_entry *en = &v[n++];
		memset(en, 0, sizeof *en);
		memcpy(en->hex, de->d_name, 40);
		en->path = xasprintf("%s/%s", s->tdir, de->d_name);
	}
	closedir(d);
	/* Read every resume file first, to add the torrents in their queue order. */
	for (size_t i = 0; i < n; i++) {
		struct store_entry *en = &v[i];
		char why[256];
		if (strcmp(en->path + strlen(en->path) - 7, ".magnet") == 0)
			continue;
		struct metainfo *mi = metainfo_load(en->path, why, sizeof why);
		if (mi == NULL) {
			snprintf(en->why, sizeof en->why, "%s", why);
			continue;
		}
		en->mi_ok = true;
		char *rp = store_resume_path(s, en->hex);
		en->have_resume = resume_load(rp, mi->info_hash, mi->piece_count, mi->file_count,
		    &en->r, &en->used_backup, en->why, sizeof en->why) == 0;
		if (!en->have_resume) {
			/* Still the magnet's resume file: the .torrent was written, then we stopped. */
			char why2[600];
			bool bak;
			en->magnet_resume = resume_load(rp, mi->info_hash, 0, 0, &en->r, &bak, why2,
			    sizeof why2) == 0;
		}
		free(rp);
		en->mi = mi;
	}
	/* Then the links of magnets, which give way to a usable .torrent of the same hash. */
	for (size_t i = 0; i < n; i++)
		if (v[i].path != NULL && strcmp(v[i].path + strlen(v[i].path) - 7, ".magnet") == 0)
			store_read_magnet(s, v, n, &v[i]);
	if (n > 1)
		qsort(v, n, sizeof *v, store_entry_cmp);
	L->v = v;
	L->n = n;
}

void
store_load_end(struct store *s, bool finished)
{
	struct store_load *L = s->load;
	s->load = NULL;
	s->load_pending = false;
	if (L == NULL)
		return;
	if (finished && L->loaded > 0)
		log_info("session: %zu torrent%s loaded from %s in %llu ms (%llu pieces hashed so "
		    "far)", L->loaded, L->loaded == 1 ? "" : "s", s->dir,
		    (unsigned long long)(dp_now_ms() - L->started_ms),
		    (unsigned long long)engine_hash_count(s->e));
	for (size_t i = L->next; i < L->n; i++)
		store_entry_clear(&L->v[i]);
	if (L->ev != NULL)
		event_free(L->ev);
	free(L->v);
	free(L);
	if (finished && !s->shutting_down) {
		s->queue_full = true;
		store_queue_pass(s);
		store_set_watch(s, s->watch_dir);
	}
}

static void
store_load_slice_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_load *L = arg;
	struct store *s = L->s;
	(void)fd;
	(void)what;
	if (s->shutting_down) {
		store_load_end(s, false);
		return;
	}
	engine_task_cb_begin(s->task);
	uint64_t start = dp_now_us();
	size_t done = 0;
	s->loading = true;
	while (L->next < L->n &&
	    (done < STORE_SLICE_MIN || dp_now_us() - start < STORE_SLICE_US)) {
		struct store_entry *en = &L->v[L->next++];
		if (en->path != NULL) {
			store_load_one(s, en);
			L->loaded++;
		}
		store_entry_clear(en);
		done++;
	}
	s->loading = false;
	engine_task_idle(s->task, ENGINE_TASK_TIMER_WAIT, "session %s: loading: %zu of %zu "
	    "torrents added", s->dir, L->next, L->n);
	if (L->next < L->n) {
		/* A zero timeout, not event_active: the loop polls its sockets in between. */
		struct timeval tv = { 0, 0 };
		event_add(L->ev, &tv);
		engine_task_cb_end(s->task);
		return;
	}
	store_load_end(s, true);
	engine_task_cb_end(s->task);
}

static void
store_load_read_done(struct resume_job *job, void *arg)
{
	struct store *s = arg;
	struct store_load *L = job->ctx;
	resume_job_free(job);
	L->reading = false;
	if (L->err[0] != '\0')
		log_error("session: loading the torrents: %s", L->err);
	else if (L->n > 0)
		log_info("session: %zu session files read in %llu ms", L->n,
		    (unsigned long long)(dp_now_ms() - L->started_ms));
	if (s->shutting_down) {
		store_load_end(s, false);
		return;
	}
	struct timeval tv = { 0, 0 };
	event_add(L->ev, &tv);
}

int
store_load_begin(struct store *s, char *err, size_t errlen)
{
	DIR *d = opendir(s->tdir);
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", s->tdir, strerror(errno));
		return -1;
	}
	closedir(d);
	struct store_load *L = xcalloc(1, sizeof *L);
	L->s = s;
	L->started_ms = dp_now_ms();
	L->ev = evtimer_new(s->base, store_load_slice_cb, L);
	if (L->ev == NULL) {
		free(L);
		snprintf(err, errlen, "can't create the session's load event");
		return -1;
	}
	s->load = L;
	s->load_pending = true;
	L->reading = true;
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->work = store_load_read;
	job->ctx = L;
	job->done = store_load_read_done;
	job->arg = s;
	snprintf(job->label, sizeof job->label, "reading the session's torrents in %.90s",
	    s->dir);
	engine_task_idle(s->task, ENGINE_TASK_DISK_WAIT, "session %s: reading its torrents",
	    s->dir);
	resume_writer_submit(s->writer, job);
	return 0;
}
