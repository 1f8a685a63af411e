/* store_load.c: the session store's start: the session's torrents read and parsed on the writer
 * thread, added on the loop in slices with what their resume files saved, a recheck of only the
 * pieces of changed files, and the error state a torrent was saved in. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
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

#define STORE_LOAD_BATCH 128            /* session files per read job */
#define STORE_LOAD_AHEAD (2 * STORE_LOAD_BATCH)   /* read, not added yet: at most about this */

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

/* What r says of each file (sizes and times as saved, priorities), nothing seen on disk yet. */
static struct engine_restore_file *
store_restore_files(const struct resume *r)
{
	struct engine_restore_file *files = xcalloc(r->file_count ? r->file_count : 1,
	    sizeof *files);
	for (size_t i = 0; i < r->file_count; i++) {
		files[i].size = r->files[i].size;
		files[i].mtime_ns = r->files[i].mtime_ns;
		files[i].priority = r->files[i].priority;
	}
	return files;
}

/* Gives a torrent just added what its resume file saved (seen: its files as the reader saw
 * them, or NULL; trust: what its pieces are worth, resume_trust); returns the pieces to recheck
 * (*nrecheck of them): those of changed files, every claimed one after a reboot. */
static uint32_t *
store_apply_resume(struct store *s, struct store_item *it, const struct resume *r,
    enum resume_trust trust, const struct engine_restore_file *seen, uint32_t *nrecheck)
{
	struct engine_restore_file *files = NULL;
	if (seen == NULL)
		files = store_restore_files(r);
	struct engine_restore er = {
		.pieces = r->pieces, .unchecked = r->unchecked, .files = seen != NULL ? seen : files,
		.sequential = r->sequential,
		.down_limit = r->down_limit, .up_limit = r->up_limit,
		.max_peers = (int)r->max_peers, .upload_slots = (int)r->upload_slots,
		.uploaded = r->uploaded, .downloaded = r->downloaded,
		.added_date = r->added_date, .completed_date = r->completed_date,
		.labels = r->labels, .trackers = r->trackers, .peers = r->peers,
		.idle_mode = (int)r->seed_idle_mode, .idle_limit = (int)r->seed_idle_limit,
		.names = r->names, .untrusted = trust == RESUME_TRUST_OTHER_BOOT,
	};
	uint32_t *recheck = engine_policy_restore(s->e, it->id, &er, nrecheck);
	free(files);
	it->seeding_s = r->seeding_s;
	it->downloading_s = r->downloading_s;
	it->seed_ratio_milli = r->seed_ratio_milli;
	it->seed_time_s = r->seed_time_s;
	it->want_running = r->running;
	struct engine_policy_torrent v;
	if (engine_policy_torrent(s->e, it->id, 0, &v) == 0) {
		it->synced_have = v.have_pieces;
		it->synced_lost = v.have_lost;
	}
	/* Saved at an exit without a sync: the next save syncs the files (on the writer) and
	 * claims the pieces without the mark. */
	if (trust != RESUME_TRUST_SYNCED)
		it->synced_have = UINT32_MAX;
	return recheck;
}

struct store_entry {
	char *path;
	struct metainfo *mi;          /* parsed on the reader; taken by the add */
	char *uri;                    /* a magnet still fetching its metadata: its link */
	char hex[41];
	bool mi_ok;                   /* a .torrent that loads */
	struct resume r;
	bool have_resume;
	bool magnet_resume;           /* r is the magnet's (its metadata came just before a crash) */
	bool used_backup;
	enum resume_trust trust;      /* r's pieces, as the reader judged them (resume_trust) */
	char *why;                    /* why it or its resume file does not load; NULL: it does */
	/* What its resume file says of each file, with what the reader saw on disk (NULL: the add
	 * looks itself): the lstats are off the loop. */
	struct engine_restore_file *files;
	size_t file_count;
};

/* A torrent added by the load, with the queue position its resume file saved (INT32_MAX: none),
 * for the queue order once every one is in (they are added as they are read). */
struct store_load_pos {
	int id;
	int64_t key;
	char hex[41];
};

static int
store_load_pos_cmp(const void *a, const void *b)
{
	const struct store_load_pos *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->hex, y->hex);
}

static void
store_load_note(struct store_load *L, int id, const struct store_entry *en)
{
	if (L->npos == L->pos_cap) {
		L->pos_cap = L->pos_cap ? L->pos_cap * 2 : 256;
		L->pos = xreallocarray(L->pos, L->pos_cap, sizeof *L->pos);
	}
	struct store_load_pos *p = &L->pos[L->npos++];
	p->id = id;
	p->key = en->have_resume || en->magnet_resume ? en->r.queue_pos : INT32_MAX;
	memcpy(p->hex, en->hex, sizeof p->hex);
}

/*
 * Once every torrent is in: the queue order the resume files saved (their position, then the
 * info-hash), the torrents added meanwhile by the user after them in their order. One sort of
 * the added ones, each unlinked, then linked in order before the first of the others, in a
 * callback of its own (a few milliseconds for
 * 10,000; the queue's first pass follows in the next).
 */
static void
store_load_order(struct store *s, struct store_load *L)
{
	if (L->npos == 0 || s->items == NULL)
		return;
	qsort(L->pos, L->npos, sizeof *L->pos, store_load_pos_cmp);
	/* Marks the loaded ones (pos -1), then moves them, in order, in front of the others. */
	for (struct store_item *it = s->items; it != NULL; it = it->next)
		it->pos = 0;
	for (size_t i = 0; i < L->npos; i++) {
		struct store_item *it = store_find(s, L->pos[i].id);
		if (it == NULL || it->removed || it->pos < 0) {
			L->pos[i].id = 0;
			continue;
		}
		it->pos = -1;
		store_unlink_item(s, it);
	}
	/* Each before the first of the others, in order: the loaded ones lead. */
	struct store_item *first_other = s->items;
	for (size_t i = 0; i < L->npos; i++) {
		struct store_item *it = L->pos[i].id != 0 ? store_find(s, L->pos[i].id) : NULL;
		if (it != NULL)
			store_insert_item(s, it, first_other);
	}
	s->pos_dirty = true;
}

/* A .torrent of the session directory that no longer loads stays listed, in the error state
 * with the reason, so the user sees it and can remove it (issue 11, finding 15; it used to
 * vanish with one log line): the magnet of its info-hash (the file's name), stopped. Starting
 * it fetches the metadata from peers, which writes a good .torrent again. */
static void
store_keep_unusable(struct store *s, struct store_load *L, struct store_entry *en)
{
	char *uri = xasprintf("magnet:?xt=urn:btih:%s", en->hex);
	struct engine_add_opts opts = { 0 };
	opts.paused = true;
	int id = 0;
	char err[512];
	if (engine_add_magnet(s->e, uri, &opts, &id, err, sizeof err) == 0) {
		/* The reason without the path it starts with: the message names the file. */
		const char *why = en->why != NULL && en->why[0] != '\0' ? en->why : "does not load";
		size_t pl = strlen(en->path);
		if (strncmp(why, en->path, pl) == 0 && strncmp(why + pl, ": ", 2) == 0)
			why += pl + 2;
		char msg[256];
		snprintf(msg, sizeof msg, "session file torrents/%s.torrent unusable (%.100s): "
		    "remove the torrent and add it again, or start it to fetch its metadata",
		    en->hex, why);
		engine_policy_set_error(s->e, id, msg);
		store_load_note(L, id, en);
	} else {
		log_error("session: %s: can't list it in the error state: %s", en->path, err);
	}
	free(uri);
}

static void
store_load_one(struct store *s, struct store_load *L, struct store_entry *en)
{
	char err[512];
	struct engine_add_opts opts = { 0 };
	opts.paused = true;
	opts.restored = true;
	if ((en->have_resume || en->magnet_resume) && en->r.save_path[0] != '\0')
		opts.save_dir = en->r.save_path;
	/* Its id from its saved queue position: ids keep the queue order across restarts. */
	int64_t pos = en->r.queue_pos;
	if ((en->have_resume || en->magnet_resume) && pos >= 0 && pos < L->id_count &&
	    !(L->id_asked[pos / 8] & (1u << (pos % 8)))) {
		L->id_asked[pos / 8] |= (uint8_t)(1u << (pos % 8));
		opts.id = L->id_base + (int)pos + 1;
	}
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
			store_keep_unusable(s, L, en);
		return;
	}
	store_load_note(L, id, en);
	struct store_item *it = store_find(s, id);
	struct engine_policy_names nm;
	if (it == NULL || engine_policy_names(s->e, id, &nm) < 0)
		return;
	if (!en->have_resume) {
		if (en->uri != NULL)
			log_warn("%s: no usable resume data (%s): fetching its metadata again",
			    nm.name, en->why != NULL ? en->why : "?");
		else
			log_warn("%s: no usable resume data (%s): checking the data", nm.name,
			    en->why != NULL ? en->why : "?");
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
		log_warn("%s: resume file unusable (%s): using the backup", nm.name,
		    en->why != NULL ? en->why : "?");
	if (en->r.unchecked)
		log_info("%s: its data was not checked before the last stop: it is checked when it "
		    "starts", nm.name);
	uint32_t nr = 0;
	uint32_t *recheck = store_apply_resume(s, it, &en->r, en->trust, en->files, &nr);
	if (nr == 0) {
		free(recheck);
		if (en->r.error != NULL)
			store_restore_error(s, it, en->r.error);
		struct engine_policy_torrent v;
		if (engine_policy_torrent(s->e, id, ENGINE_POLICY_FP, &v) == 0)
			/* The position it will have once the load puts the queue in the order saved
			 * (store_load_order): a file whose position has to change is saved again. */
			it->saved_fp = store_fingerprint(it, v.persist_fp, (int)en->r.queue_pos);
		/* write a good main file again, at once; a file saved without a sync: a synced
		 * one, spread over the ticks after the load (thousands at a time after a stop
		 * just after they came) */
		if (en->used_backup)
			it->saved_fp = 0;
		else if (en->trust != RESUME_TRUST_SYNCED)
			store_resync_add(s, it);
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

static void
store_entry_why(struct store_entry *en, const char *why)
{
	free(en->why);
	en->why = xstrdup(why);
}

/*
 * A magnet's link file: its resume file has no pieces and no files. A usable .torrent of the
 * same hash (tor: the entry read just before it, the names being sorted, or NULL) wins (we
 * stopped between writing it and removing the link); a link that does not parse or names
 * another hash is left on disk and skipped (en->path NULL).
 */
static void
store_read_magnet(struct store *s, struct store_entry *tor, struct store_entry *en)
{
	if (tor != NULL && tor->path != NULL && strcmp(tor->hex, en->hex) == 0) {
		if (!tor->mi_ok) {
			log_warn("session: %s is unusable (%s): the magnet link is used instead",
			    tor->path, tor->why != NULL ? tor->why : "?");
			store_drop_entry(tor);
		} else {
			log_info("session: %s: the metadata was saved as a .torrent; removing the "
			    "link", en->path);
			if (unlink(en->path) < 0)
				log_warn("%s: can't remove: %s", en->path, strerror(errno));
			store_drop_entry(en);
			return;
		}
	}
	uint8_t *buf;
	size_t len;
	char why[1200];
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
	en->have_resume = resume_load(rp, m->info_hash, 0, 0, &en->r, &en->used_backup, why,
	    sizeof why) == 0;
	if (!en->have_resume || en->used_backup)
		store_entry_why(en, why);
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
	free(en->why);
	en->why = NULL;
	if (en->files != NULL) {
		for (size_t i = 0; i < en->file_count; i++)
			free(en->files[i].seen_path);
		free(en->files);
		en->files = NULL;
	}
}

/*
 * The reader looks at the files the resume file describes (lstat, the add's costliest step on
 * the loop when done there): where the torrent will keep them, as storage names them (save
 * directory, the saved names or the metainfo's). The add uses what was seen only for the same
 * path (engine_policy_restore compares), so a guess that differs costs an lstat, nothing else.
 */
static void
store_read_files(struct store_entry *en)
{
	const struct metainfo *mi = en->mi;
	const struct resume *r = &en->r;
	if (r->unchecked || r->save_path == NULL || r->save_path[0] == '\0' ||
	    r->file_count != mi->file_count)
		return;
	en->files = store_restore_files(r);
	en->file_count = r->file_count;
	const char *dir = r->save_path;
	const char *sep = dir[strlen(dir) - 1] != '/' ? "/" : "";
	const char *name = r->names != NULL ? r->names[0] : mi->name;
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		if (f->pad || f->length == 0)
			continue;
		struct engine_restore_file *rf = &en->files[i];
		rf->seen_path = !mi->multi_file ? xasprintf("%s%s%s", dir, sep, name) :
		    xasprintf("%s%s%s/%s", dir, sep, name, r->names != NULL ? r->names[i + 1] :
		    f->path);
		engine_policy_restore_stat(rf->seen_path, &rf->seen_size, &rf->seen_mtime_ns);
	}
}

/* Reads one .torrent of the session and its resume file (on the reader). */
static void
store_read_torrent(struct store *s, struct store_entry *en)
{
	char why[1200];
	struct metainfo *mi = metainfo_load(en->path, why, sizeof why);
	if (mi == NULL) {
		store_entry_why(en, why);
		return;
	}
	en->mi_ok = true;
	char *rp = store_resume_path(s, en->hex);
	en->have_resume = resume_load(rp, mi->info_hash, mi->piece_count, mi->file_count, &en->r,
	    &en->used_backup, why, sizeof why) == 0;
	if (!en->have_resume || en->used_backup)
		store_entry_why(en, why);
	if (!en->have_resume) {
		/* Still the magnet's resume file: the .torrent was written, then we stopped. */
		bool bak;
		en->magnet_resume = resume_load(rp, mi->info_hash, 0, 0, &en->r, &bak, why,
		    sizeof why) == 0;
	}
	free(rp);
	en->mi = mi;
	/* Here, off the loop: the first call reads the boot id. */
	en->trust = en->have_resume ? resume_trust(&en->r) : RESUME_TRUST_SYNCED;
	if (en->have_resume)
		store_read_files(en);
}

static int
store_load_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The reader's first step: the session files' names, sorted, so a magnet's link comes just
 * before the .torrent of the same hash. */
static int
store_load_list(struct store_load *L)
{
	struct store *s = L->s;
	DIR *d = opendir(s->tdir);
	if (d == NULL) {
		snprintf(L->err, sizeof L->err, "%s: %s", s->tdir, strerror(errno));
		return -1;
	}
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 47 || strcmp(de->d_name + 40, len == 48 ? ".torrent" : ".magnet") != 0)
			continue;
		if (L->nnames == cap) {
			cap = cap ? cap * 2 : 64;
			L->names = xreallocarray(L->names, cap, sizeof *L->names);
		}
		L->names[L->nnames++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (L->nnames > 1)
		qsort(L->names, L->nnames, sizeof *L->names, store_load_name_cmp);
	return 0;
}

/* One batch of the session's torrents: names[from, to) read on a writer thread while the
 * loop adds the batches before it. */
struct store_load_batch {
	struct store_load *L;
	bool first;                   /* lists the directory, then chooses its own end */
	bool on_writer;               /* on s->writer (else s->mover) */
	size_t from, to;
	struct store_entry *v;
	size_t n;
};

/* Where the batch that starts at from ends: a magnet's link and the .torrent of its hash stay
 * in one batch. */
static size_t
store_load_batch_end(const struct store_load *L, size_t from)
{
	size_t to = DP_MIN(from + STORE_LOAD_BATCH, L->nnames);
	while (to > 0 && to < L->nnames && strncmp(L->names[to - 1], L->names[to], 40) == 0)
		to++;
	return to;
}

/* A writer thread: (the first time) the directory, then a batch of .torrent files parsed,
 * their resume files read, their files looked at, and the magnets' links. Touches nothing of the
 * store but its (fixed) paths, and of the load only the names, which it alone writes (in the
 * first batch, before the loop reads them). */
static void
store_load_read(struct resume_job *job)
{
	struct store_load_batch *b = job->ctx;
	struct store_load *L = b->L;
	struct store *s = L->s;
	if (b->first) {
		if (store_load_list(L) < 0)
			return;
		b->to = store_load_batch_end(L, 0);
	}
	b->n = b->to - b->from;
	b->v = xcalloc(b->n ? b->n : 1, sizeof *b->v);
	for (size_t i = 0; i < b->n; i++) {
		struct store_entry *en = &b->v[i];
		memcpy(en->hex, L->names[b->from + i], 40);
		en->path = xasprintf("%s/%s", s->tdir, L->names[b->from + i]);
		if (strcmp(L->names[b->from + i] + 40, ".torrent") == 0)
			store_read_torrent(s, en);
	}
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(L->names[b->from + i] + 40, ".magnet") == 0)
			store_read_magnet(s, i + 1 < b->n ? &b->v[i + 1] : NULL, &b->v[i]);
}

static void
store_load_batch_free(struct store_load_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		store_entry_clear(&b->v[i]);
	free(b->v);
	free(b);
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
	for (size_t i = 0; i < L->nnames; i++)
		free(L->names[i]);
	free(L->names);
	free(L->id_asked);
	free(L->pos);
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

/* One id kept per torrent listed (a link and a .torrent of one hash are one). */
static void
store_load_keep_ids(struct store *s, struct store_load *L)
{
	size_t n = 0;
	for (size_t i = 0; i < L->nnames; i++)
		if (i == 0 || strncmp(L->names[i - 1], L->names[i], 40) != 0)
			n++;
	if (n == 0 || n > INT32_MAX / 4)
		return;
	L->id_base = engine_policy_reserve_ids(s->e, (int)n);
	L->id_count = (int)n;
	L->id_asked = xcalloc(n / 8 + 1, 1);
}

static void store_load_read_done(struct resume_job *job, void *arg);
static void store_load_submit(struct store *s, struct store_load *L,
    struct store_load_batch *b);

/* The next batch to the reader, unless it is busy, done, or far enough ahead of the adds (what
 * waits to be added stays bounded). */
static void
store_load_read_more(struct store *s, struct store_load *L)
{
	/* Until the first batch has listed the directory, it alone; then a batch on each of the
	 * store's two writer threads (the saves of the few torrents a load rechecks queue behind a
	 * batch; nothing is moved before the load ends). */
	while (!L->read_all && L->n - L->next < STORE_LOAD_AHEAD &&
	    L->nreading < (L->listed ? 2u : 1u)) {
		struct store_load_batch *b = xcalloc(1, sizeof *b);
		b->L = L;
		b->first = !L->listed;
		b->from = L->nread;
		if (L->listed) {
			b->to = store_load_batch_end(L, b->from);
			L->nread = b->to;
			L->read_all = L->nread >= L->nnames;
		}
		store_load_submit(s, L, b);
	}
}

static void
store_load_submit(struct store *s, struct store_load *L, struct store_load_batch *b)
{
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->work = store_load_read;
	job->ctx = b;
	job->done = store_load_read_done;
	job->arg = s;
	snprintf(job->label, sizeof job->label, "reading the session's torrents in %.90s",
	    s->dir);
	L->reading = true;
	/* The two threads in turn: a writer thread has one job at a time. */
	struct resume_writer *w = !L->writer_busy ? s->writer : s->mover;
	b->on_writer = w == s->writer;
	if (b->on_writer)
		L->writer_busy = true;
	L->nreading++;
	resume_writer_submit(w, job);
}

static void
store_load_slice_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_load *L = arg;
	struct store *s = L->s;
	(void)fd;
	(void)what;
	if (s->shutting_down) {
		/* A read still running ends the load in its done callback. */
		if (!L->reading)
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
			store_load_one(s, L, en);
			L->loaded++;
		}
		store_entry_clear(en);
		done++;
	}
	s->loading = false;
	store_load_read_more(s, L);
	if (L->next < L->n) {
		engine_task_idle(s->task, ENGINE_TASK_TIMER_WAIT, "session %s: loading: %zu of %zu "
		    "torrents added", s->dir, L->loaded, L->nnames);
		/* A zero timeout, not event_active: the loop polls its sockets in between. */
		struct timeval tv = { 0, 0 };
		event_add(L->ev, &tv);
		engine_task_cb_end(s->task);
		return;
	}
	if (L->reading) {
		engine_task_idle(s->task, ENGINE_TASK_DISK_WAIT, "session %s: loading: %zu of %zu "
		    "torrents added, reading more", s->dir, L->loaded, L->nnames);
		engine_task_cb_end(s->task);
		return;
	}
	if (!L->ordered) {
		store_load_order(s, L);
		L->ordered = true;
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
	struct store_load_batch *b = job->ctx;
	struct store_load *L = b->L;
	resume_job_free(job);
	L->nreading--;
	L->reading = L->nreading > 0;
	if (b->on_writer)
		L->writer_busy = false;
	if (s->shutting_down) {
		store_load_batch_free(b);
		if (!L->reading)
			store_load_end(s, false);
		return;
	}
	if (b->first) {
		L->listed = true;
		if (L->err[0] != '\0') {
			log_error("session: loading the torrents: %s", L->err);
			L->read_all = true;
		} else {
			L->nread = b->to;
			L->read_all = L->nread >= L->nnames;
			store_load_keep_ids(s, L);
		}
	}
	if (L->read_all && !L->reading && L->nnames > 0 && L->err[0] == '\0')
		log_info("session: %zu session files read in %llu ms", L->nnames,
		    (unsigned long long)(dp_now_ms() - L->started_ms));
	/* The batch joins what waits to be added (the added ones leave the array first). */
	if (L->next > 0) {
		memmove(L->v, L->v + L->next, (L->n - L->next) * sizeof *L->v);
		L->n -= L->next;
		L->next = 0;
	}
	if (L->n + b->n > L->cap) {
		L->cap = DP_MAX(L->n + b->n, L->cap * 2);
		L->v = xreallocarray(L->v, L->cap, sizeof *L->v);
	}
	if (b->n > 0)
		memcpy(L->v + L->n, b->v, b->n * sizeof *b->v);
	L->n += b->n;
	free(b->v);
	free(b);
	store_load_read_more(s, L);
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
	engine_task_idle(s->task, ENGINE_TASK_DISK_WAIT, "session %s: reading its torrents",
	    s->dir);
	store_load_read_more(s, L);
	return 0;
}
