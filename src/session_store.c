/* session_store.c: the session directory and the seedbox rules around the engine: metainfo
 * copies and resume files (saved on change, debounced, periodically and at shutdown, on the
 * writer thread), loading with a recheck of only the pieces of changed files, queueing, seeding
 * limits, moving finished data, completion and error hooks, and the watch directory. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "bencode.h"
#include "disk.h"
#include "dp_config.h"
#include "discovery.h"
#include "engine_private.h"
#include "hooks.h"
#include "log.h"
#include "magnet.h"
#include "metadata_fetch.h"
#include "metainfo.h"
#include "picker.h"
#include "queue.h"
#include "resume.h"
#include "session.h"
#include "session_store.h"
#include "settings_file.h"
#include "storage.h"
#include "task.h"
#include "torrent.h"
#include "util.h"
#include "watch.h"

#define STORE_TICK_MS 1000
#define STORE_DEBOUNCE_MS 2000        /* at most one save per torrent in this time */
#define STORE_PERIODIC_MS 300000      /* counters and seeding time, even without changes */
#define STORE_HOOK_WAIT_MS 1000       /* at exit, for hooks still running */

struct store_item {
	int id;
	uint8_t hash[20];
	char hex[41];
	bool want_running;            /* the user's wish: running (or queued) vs stopped */
	int64_t seed_ratio_milli;     /* -1 = global */
	int64_t seed_time_s;          /* -1 = global */
	int64_t seeding_s;
	uint64_t seeding_since_ms;    /* last tick counted while seeding; 0 = not seeding */
	int64_t downloading_s;
	uint64_t downloading_since_ms;
	int64_t start_date;           /* wall seconds when it last became active */
	bool was_active;
	uint64_t saved_fp;            /* fingerprint of what the last save described */
	uint32_t synced_have;         /* have.count at the last save that synced the files */
	uint64_t saved_up, saved_down;
	uint64_t last_save_ms;
	bool saving, save_again;
	bool removed;
	bool checking;                /* our partial recheck of changed files is running */
	bool moving;                  /* data on its way to completed_dir */
	bool move_waiting;            /* stopped, waiting for its disk jobs to drain */
	bool completed_pending, error_pending;
	struct store_item *next;
};

struct store {
	struct engine *e;
	char *dir, *tdir, *rdir;
	struct resume_writer *writer;     /* resume files and metainfo copies */
	struct resume_writer *mover;      /* moving data to completed_dir */
	struct hooks *hooks;
	struct watch *watch;
	struct event *timer;
	struct dp_task *task;
	struct store_item *items, *tail;  /* queue order */
	bool loading, shutting_down;
	uint64_t last_periodic_ms;
	/* from the engine's live settings (store_settings_changed) */
	int max_down, max_seed;
	double seed_ratio;
	int64_t seed_time;
	char *completed_dir, *completion_hook, *error_hook;
	bool hook_shell, start_paused;
	int hook_timeout;
	/* settings.conf: the engine's run-time changes (engine_settings_kept), written when they
	 * change */
	char *settings_path;
	struct event *settings_ev;        /* one write for the changes of one loop iteration */
	bool settings_dirty;
};

/* A recheck of the pieces touching files that changed while we were not running. It owns its
 * metainfo and storage so the torrent may be removed meanwhile. */
struct store_check {
	struct store *s;
	int id;
	uint32_t gen;                 /* the torrent's check_gen when we began */
	struct metainfo *mi;
	struct storage *st;
	uint32_t *pieces;
	uint32_t n, next, inflight, good;
	uint8_t *ok;                  /* per entry of pieces */
	char *error;                  /* the error state saved in the resume file, NULL if none */
};

struct store_check_job {
	struct disk_job job;
	struct store_check *c;
	uint32_t index;
};

struct store_move {
	char **src, **dst;
	size_t n;
	char *from_dir, *to_dir;
	char *top;                    /* the torrent's folder (multi-file) or NULL */
};

static void store_save(struct store *s, struct store_item *it, struct torrent *t, bool force);
static void store_queue_pass(struct store *s);
static bool store_admit(struct store *s, struct torrent *t);
static void store_free(void *arg);

/* ---- helpers ---- */

static struct store_item *
store_find(struct store *s, int id)
{
	for (struct store_item *it = s->items; it != NULL; it = it->next)
		if (it->id == id)
			return it;
	return NULL;
}

static void
store_unlink_item(struct store *s, struct store_item *it)
{
	struct store_item *prev = NULL;
	for (struct store_item *x = s->items; x != NULL; prev = x, x = x->next) {
		if (x != it)
			continue;
		if (prev)
			prev->next = it->next;
		else
			s->items = it->next;
		if (s->tail == it)
			s->tail = prev;
		it->next = NULL;
		return;
	}
}

static void
store_append_item(struct store *s, struct store_item *it)
{
	it->next = NULL;
	if (s->tail)
		s->tail->next = it;
	else
		s->items = it;
	s->tail = it;
}

static char *
store_resume_path(struct store *s, const char *hex)
{
	return xasprintf("%s/%s.resume", s->rdir, hex);
}

static char *
store_torrent_path(struct store *s, const char *hex)
{
	return xasprintf("%s/%s.torrent", s->tdir, hex);
}

/* A magnet still fetching its metadata is kept as its link until the .torrent replaces it. */
static char *
store_magnet_path(struct store *s, const char *hex)
{
	return xasprintf("%s/%s.magnet", s->tdir, hex);
}

static int
store_mkdir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: can't create: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static bool
store_is_complete(const struct torrent *t)
{
	/* A magnet still fetching its metadata has no pieces, so none missing: it is still a
	 * download (counted as a seed it was parked "over the limit of active seeds"). */
	return t->md == NULL && t->checked && picker_complete(t->pk);
}

static uint64_t
store_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* What a resume file would say, minus counters: a change means "save soon". */
static uint64_t
store_fingerprint(const struct store_item *it, const struct torrent *t, int pos)
{
	uint64_t h = 1469598103934665603ull;
	int state = t->state == ENGINE_TORRENT_ERROR;
	h = store_fnv(h, &state, sizeof state);
	h = store_fnv(h, &t->have.count, sizeof t->have.count);
	h = store_fnv(h, t->save_dir, strlen(t->save_dir));
	h = store_fnv(h, t->file_prio, t->mi->file_count);
	h = store_fnv(h, &t->sequential, sizeof t->sequential);
	h = store_fnv(h, &t->down_bucket.rate, sizeof t->down_bucket.rate);
	h = store_fnv(h, &t->up_bucket.rate, sizeof t->up_bucket.rate);
	h = store_fnv(h, &t->max_peers, sizeof t->max_peers);
	h = store_fnv(h, &t->upload_slots, sizeof t->upload_slots);
	h = store_fnv(h, &t->completed_date, sizeof t->completed_date);
	h = store_fnv(h, &it->want_running, sizeof it->want_running);
	h = store_fnv(h, &it->seed_ratio_milli, sizeof it->seed_ratio_milli);
	h = store_fnv(h, &it->seed_time_s, sizeof it->seed_time_s);
	h = store_fnv(h, &pos, sizeof pos);
	return h;
}

static int
store_position(struct store *s, const struct store_item *want)
{
	int pos = 0;
	for (struct store_item *it = s->items; it != NULL; it = it->next, pos++)
		if (it == want)
			return pos;
	return -1;
}

/* ---- saving ---- */

/* A .torrent rebuilt from what the engine keeps: trackers, comment, web seeds, the info dict. */
static uint8_t *
store_encode_metainfo(const struct metainfo *mi, size_t *len)
{
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	if (mi->tier_count > 0 && mi->tiers[0].count > 0) {
		be_enc_cstr(&b, "announce");
		be_enc_cstr(&b, mi->tiers[0].urls[0]);
		be_enc_cstr(&b, "announce-list");
		be_enc_list_begin(&b);
		for (size_t i = 0; i < mi->tier_count; i++) {
			be_enc_list_begin(&b);
			for (size_t j = 0; j < mi->tiers[i].count; j++)
				be_enc_cstr(&b, mi->tiers[i].urls[j]);
			be_enc_end(&b);
		}
		be_enc_end(&b);
	}
	if (mi->comment != NULL) {
		be_enc_cstr(&b, "comment");
		be_enc_cstr(&b, mi->comment);
	}
	if (mi->created_by != NULL) {
		be_enc_cstr(&b, "created by");
		be_enc_cstr(&b, mi->created_by);
	}
	if (mi->has_creation_date) {
		be_enc_cstr(&b, "creation date");
		be_enc_int(&b, mi->creation_date);
	}
	be_enc_cstr(&b, "info");
	dp_buf_add(&b, mi->info_raw, mi->info_len);
	if (mi->webseed_count > 0) {
		be_enc_cstr(&b, "url-list");
		be_enc_list_begin(&b);
		for (size_t i = 0; i < mi->webseed_count; i++)
			be_enc_cstr(&b, mi->webseeds[i]);
		be_enc_end(&b);
	}
	be_enc_end(&b);
	return dp_buf_steal(&b, len);
}

/* A torrent's name for task labels (a magnet without metadata may have none yet). */
static const char *
store_torrent_name(const struct torrent *t)
{
	return t->mi->name != NULL && t->mi->name[0] != '\0' ? t->mi->name :
	    t->mi->info_hash_hex;
}

/* Files to unlink on the writer thread, after the jobs queued before (a removed torrent's
 * copies, or a magnet's link once its .torrent is written). */
struct store_unlink {
	char *paths[5];
	size_t n;
};

static void
store_unlink_work(struct resume_job *job)
{
	struct store_unlink *u = job->ctx;
	/* A .torrent to write first (job->raw): the link goes only once the copy is safe. */
	if (job->raw != NULL && resume_write_file(job->path, job->raw, job->raw_len, job->errmsg,
	    sizeof job->errmsg) < 0) {
		job->error = errno ? errno : EIO;
		return;
	}
	for (size_t i = 0; i < u->n; i++) {
		resume_job_set_phase(job, "unlink");
		if (unlink(u->paths[i]) < 0 && errno != ENOENT) {
			job->error = errno;
			snprintf(job->errmsg, sizeof job->errmsg, "%s: can't remove: %s", u->paths[i],
			    strerror(errno));
		}
	}
}

static void
store_unlink_done(struct resume_job *job, void *arg)
{
	(void)arg;
	struct store_unlink *u = job->ctx;
	if (job->error != 0)
		log_error("session: %s", job->errmsg);
	for (size_t i = 0; i < u->n; i++)
		free(u->paths[i]);
	free(u);
	resume_job_free(job);
}

static void
store_forget_files(struct store *s, const char *hex)
{
	struct store_unlink *u = xcalloc(1, sizeof *u);
	u->paths[u->n++] = store_resume_path(s, hex);
	u->paths[u->n++] = xasprintf("%s.bak", u->paths[0]);
	u->paths[u->n++] = store_torrent_path(s, hex);
	u->paths[u->n++] = store_magnet_path(s, hex);
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->work = store_unlink_work;
	job->ctx = u;
	job->done = store_unlink_done;
	snprintf(job->label, sizeof job->label, "removing the session files of %s", hex);
	resume_writer_submit(s->writer, job);
}

static void
store_copy_done(struct resume_job *job, void *arg)
{
	(void)arg;
	if (job->error != 0)
		log_error("session: saving the torrent file: %s", job->errmsg);
	resume_job_free(job);
}

/* The .torrent copy; a magnet's link file goes once the copy is written (with_magnet). */
static void
store_save_metainfo(struct store *s, const struct torrent *t, bool with_magnet)
{
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = store_torrent_path(s, t->mi->info_hash_hex);
	job->raw = store_encode_metainfo(t->mi, &job->raw_len);
	job->done = store_copy_done;
	job->tag = t->id;
	snprintf(job->label, sizeof job->label, "writing the torrent file of %s",
	    store_torrent_name(t));
	if (with_magnet) {
		struct store_unlink *u = xcalloc(1, sizeof *u);
		u->paths[u->n++] = store_magnet_path(s, t->mi->info_hash_hex);
		job->work = store_unlink_work;
		job->ctx = u;
		job->done = store_unlink_done;
	}
	resume_writer_submit(s->writer, job);
}

/* A magnet without its metadata yet: its link, so a restart adds it again. */
static void
store_save_magnet(struct store *s, const struct torrent *t, const char *uri)
{
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = store_magnet_path(s, t->mi->info_hash_hex);
	job->raw = (uint8_t *)xasprintf("%s\n", uri);
	job->raw_len = strlen((char *)job->raw);
	job->done = store_copy_done;
	job->tag = t->id;
	snprintf(job->label, sizeof job->label, "writing the magnet link of %s",
	    store_torrent_name(t));
	resume_writer_submit(s->writer, job);
}

/* The resume data of t as of now (the loop thread's view). */
static struct resume_job *
store_make_job(struct store *s, struct store_item *it, struct torrent *t)
{
	const struct metainfo *mi = t->mi;
	struct resume_job *job = xcalloc(1, sizeof *job);
	struct resume *r = &job->resume;
	resume_init(r);
	memcpy(r->info_hash, mi->info_hash, 20);
	r->piece_count = mi->piece_count;
	/* Only what was verified counts; during a check the bitfield is still being built. */
	r->pieces = xcalloc(bitfield_bytes(mi->piece_count) ? bitfield_bytes(mi->piece_count) : 1,
	    1);
	if (t->checked && t->state != ENGINE_TORRENT_CHECKING && !it->checking)
		memcpy(r->pieces, t->have.bits, bitfield_bytes(mi->piece_count));
	r->file_count = mi->file_count;
	r->files = xcalloc(mi->file_count, sizeof *r->files);
	job->file_paths = xcalloc(mi->file_count, sizeof *job->file_paths);
	for (size_t i = 0; i < mi->file_count; i++) {
		r->files[i].priority = t->file_prio[i];
		if (!mi->files[i].pad)
			job->file_paths[i] = storage_file_path(t->st, i);
	}
	r->uploaded = t->uploaded;
	r->downloaded = t->downloaded;
	r->added_date = t->added_date;
	r->completed_date = t->completed_date;
	r->seeding_s = it->seeding_s;
	r->downloading_s = it->downloading_s;
	r->save_path = xstrdup(t->save_dir);
	r->running = it->want_running;
	r->sequential = t->sequential;
	r->down_limit = t->down_bucket.rate;
	r->up_limit = t->up_bucket.rate;
	r->max_peers = t->max_peers;
	r->upload_slots = t->upload_slots;
	r->seed_ratio_milli = it->seed_ratio_milli;
	r->seed_time_s = it->seed_time_s;
	r->queue_pos = store_position(s, it);
	if (t->state == ENGINE_TORRENT_ERROR && t->error[0] != '\0')
		r->error = xstrdup(t->error);
	job->path = store_resume_path(s, mi->info_hash_hex);
	/* Pieces claimed for the first time must be durable before the file says so. */
	job->sync = t->have.count != it->synced_have;
	job->tag = t->id;
	return job;
}

static void
store_save_done(struct resume_job *job, void *arg)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, job->tag);
	if (job->error != 0)
		log_error("session: saving resume data: %s", job->errmsg);
	if (it != NULL) {
		it->saving = false;
		if (it->removed) {
			store_forget_files(s, it->hex);
			store_unlink_item(s, it);
			free(it);
		} else if (it->save_again) {
			it->save_again = false;
			struct torrent *t = session_find_torrent(s->e, it->id);
			if (t != NULL)
				store_save(s, it, t, true);
		}
	}
	resume_job_free(job);
}

static void
store_save(struct store *s, struct store_item *it, struct torrent *t, bool force)
{
	(void)force;
	if (it->saving) {
		it->save_again = true;
		return;
	}
	struct resume_job *job = store_make_job(s, it, t);
	if (job->sync)
		it->synced_have = t->have.count;
	it->saved_fp = store_fingerprint(it, t, store_position(s, it));
	it->saved_up = t->uploaded;
	it->saved_down = t->downloaded;
	it->last_save_ms = dp_now_ms();
	it->saving = true;
	job->done = store_save_done;
	job->arg = s;
	snprintf(job->label, sizeof job->label, "writing resume data for %s",
	    store_torrent_name(t));
	resume_writer_submit(s->writer, job);
}

/* ---- hooks ---- */

static void
store_run_hook(struct store *s, struct torrent *t, const char *cmd, const char *event)
{
	if (cmd == NULL || cmd[0] == '\0')
		return;
	const struct metainfo *mi = t->mi;
	char *env[12];
	size_t n = 0;
	env[n++] = xasprintf("DOWNPOUR_EVENT=%s", event);
	env[n++] = xasprintf("DOWNPOUR_NAME=%s", mi->display_name ? mi->display_name : mi->name);
	env[n++] = xasprintf("DOWNPOUR_HASH=%s", mi->info_hash_hex);
	env[n++] = xasprintf("DOWNPOUR_DIR=%s", t->save_dir);
	env[n++] = xasprintf("DOWNPOUR_PATH=%s/%s", t->save_dir, mi->name);
	env[n++] = xasprintf("DOWNPOUR_ID=%d", t->id);
	env[n++] = xasprintf("DOWNPOUR_SIZE=%llu", (unsigned long long)mi->total_size);
	env[n++] = xasprintf("DOWNPOUR_FILES=%zu", mi->file_count);
	env[n++] = xasprintf("DOWNPOUR_ERROR=%s", t->state == ENGINE_TORRENT_ERROR ? t->error : "");
	env[n++] = xasprintf("DOWNPOUR_UPLOADED=%llu", (unsigned long long)t->uploaded);
	env[n++] = xasprintf("DOWNPOUR_DOWNLOADED=%llu", (unsigned long long)t->downloaded);
	env[n] = NULL;
	char label[200], err[256];
	snprintf(label, sizeof label, "%s hook for %s", event, mi->name);
	if (hooks_run(s->hooks, cmd, s->hook_shell, s->hook_timeout, (const char *const *)env,
	    t->id, label, err, sizeof err) < 0)
		log_error("%s: %s", label, err);
	for (size_t i = 0; i < n; i++)
		free(env[i]);
}

/* ---- moving finished data ---- */

static int
store_mkdirs_for(const char *file, char *err, size_t errlen)
{
	char *p = xstrdup(file);
	for (char *q = p + 1; *q != '\0'; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: can't create: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*q = '/';
	}
	free(p);
	return 0;
}

/* Copies across filesystems: data, fsync, then the caller unlinks the source. */
static int
store_copy_file(const char *src, const char *dst, char *err, size_t errlen)
{
	FILE *in = fopen(src, "rbe");
	if (in == NULL) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return -1;
	}
	/* Never through a link planted at the destination's name: it would aim the copy (and the
	 * truncation) at someone else's file. */
	int ofd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *out = ofd >= 0 ? fdopen(ofd, "wb") : NULL;
	if (out == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", dst, e == ELOOP ?
		    "a symbolic link; not copying through it" : strerror(e));
		if (ofd >= 0)
			close(ofd);
		fclose(in);
		return -1;
	}
	char *buf = xmalloc(1 << 20);
	int rc = 0;
	size_t n;
	while ((n = fread(buf, 1, 1 << 20, in)) > 0) {
		if (fwrite(buf, 1, n, out) != n) {
			snprintf(err, errlen, "%s: write: %s", dst, strerror(errno));
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(in)) {
		snprintf(err, errlen, "%s: read: %s", src, strerror(errno));
		rc = -1;
	}
	free(buf);
	fclose(in);
	if (rc == 0 && (fflush(out) != 0 || fsync(fileno(out)) < 0)) {
		snprintf(err, errlen, "%s: sync: %s", dst, strerror(errno));
		rc = -1;
	}
	if (fclose(out) != 0 && rc == 0) {
		snprintf(err, errlen, "%s: close: %s", dst, strerror(errno));
		rc = -1;
	}
	if (rc < 0)
		unlink(dst);
	return rc;
}

/* Worker thread: every file moved (rename, or copy when across filesystems) or none. */
static void
store_move_work(struct resume_job *job)
{
	struct store_move *m = job->ctx;
	bool *copied = xcalloc(m->n ? m->n : 1, sizeof *copied);
	bool *moved = xcalloc(m->n ? m->n : 1, sizeof *moved);
	size_t i;
	for (i = 0; i < m->n; i++) {
		struct stat st;
		if (stat(m->src[i], &st) < 0 && errno == ENOENT)
			continue;   /* a skipped file never written */
		if (store_mkdirs_for(m->dst[i], job->errmsg, sizeof job->errmsg) < 0)
			break;
		resume_job_set_phase(job, "rename");
		if (rename(m->src[i], m->dst[i]) == 0) {
			moved[i] = true;
			continue;
		}
		if (errno != EXDEV) {
			snprintf(job->errmsg, sizeof job->errmsg, "%s: rename: %s", m->src[i],
			    strerror(errno));
			break;
		}
		resume_job_set_phase(job, "copy and fsync (another filesystem)");
		if (store_copy_file(m->src[i], m->dst[i], job->errmsg, sizeof job->errmsg) < 0)
			break;
		copied[i] = true;
	}
	if (i < m->n) {
		/* Put back what moved so the torrent's data stays in one place. */
		job->error = EIO;
		for (size_t k = 0; k < i; k++) {
			if (moved[k] && rename(m->dst[k], m->src[k]) < 0)
				log_error("moving back %s: %s", m->dst[k], strerror(errno));
			if (copied[k])
				unlink(m->dst[k]);
		}
	} else {
		for (size_t k = 0; k < m->n; k++)
			if (copied[k] && unlink(m->src[k]) < 0)
				log_warn("%s: copied but can't remove: %s", m->src[k], strerror(errno));
		/* Remove the directories left empty (deepest first; rmdir fails on non-empty). */
		for (size_t k = m->n; k-- > 0;) {
			char *d = xstrdup(m->src[k]);
			size_t root = strlen(m->from_dir);
			for (char *sl = strrchr(d, '/'); sl != NULL && (size_t)(sl - d) > root;
			    sl = strrchr(d, '/')) {
				*sl = '\0';
				if (rmdir(d) < 0)
					break;
			}
			free(d);
		}
	}
	free(copied);
	free(moved);
}

static void
store_move_free(struct store_move *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->src[i]);
		free(m->dst[i]);
	}
	free(m->src);
	free(m->dst);
	free(m->from_dir);
	free(m->to_dir);
	free(m);
}

static void
store_move_done(struct resume_job *job, void *arg)
{
	struct store *s = arg;
	struct store_move *m = job->ctx;
	struct store_item *it = store_find(s, job->tag);
	struct torrent *t = session_find_torrent(s->e, job->tag);
	if (it != NULL)
		it->moving = false;
	if (t != NULL && it != NULL) {
		if (job->error != 0) {
			torrent_set_error(t, "moving to %s: %s", m->to_dir, job->errmsg);
		} else {
			struct storage *st = storage_new(t->mi, m->to_dir, s->e->set.max_open_files);
			if (st == NULL) {
				torrent_set_error(t, "can't set up storage in %s", m->to_dir);
			} else {
				storage_free(t->st);
				t->st = st;
				snprintf(t->save_dir, sizeof t->save_dir, "%s", m->to_dir);
				log_info("%s: moved to %s", t->mi->name, m->to_dir);
				torrent_set_state(t, ENGINE_TORRENT_STOPPED);
				if (it->want_running && store_admit(s, t))
					torrent_start(t);
			}
			store_save(s, it, t, true);
			store_run_hook(s, t, s->completion_hook, "completed");
		}
	}
	store_move_free(m);
	resume_job_free(job);
}

static void
store_move_begin(struct store *s, struct store_item *it, struct torrent *t)
{
	it->move_waiting = false;
	storage_close_all(t->st);
	struct store_move *m = xcalloc(1, sizeof *m);
	m->from_dir = xstrdup(t->save_dir);
	m->to_dir = xstrdup(s->completed_dir);
	m->src = xcalloc(t->mi->file_count, sizeof *m->src);
	m->dst = xcalloc(t->mi->file_count, sizeof *m->dst);
	struct storage *to = storage_new(t->mi, m->to_dir, 1);
	for (size_t i = 0; i < t->mi->file_count; i++) {
		if (t->mi->files[i].pad)
			continue;
		m->src[m->n] = storage_file_path(t->st, i);
		m->dst[m->n] = storage_file_path(to, i);
		m->n++;
	}
	storage_free(to);
	log_info("%s: moving the data from %s to %s", t->mi->name, m->from_dir, m->to_dir);
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->work = store_move_work;
	job->ctx = m;
	job->tag = t->id;
	job->done = store_move_done;
	job->arg = s;
	snprintf(job->label, sizeof job->label, "moving %s to %s", store_torrent_name(t),
	    m->to_dir);
	resume_writer_submit(s->mover, job);
}

/* A download finished: move it if configured (then the hook runs), else run the hook now. */
static void
store_completed(struct store *s, struct store_item *it, struct torrent *t)
{
	it->completed_pending = false;
	if (s->completed_dir != NULL && strcmp(s->completed_dir, t->save_dir) != 0 &&
	    !it->moving) {
		it->moving = it->move_waiting = true;
		torrent_stop(t, false);
		torrent_set_state(t, ENGINE_TORRENT_QUEUED);
		task_wait(t->task, DP_TASK_DISK_WAIT, "moving to %s", s->completed_dir);
		if (t->disk_jobs == 0)
			store_move_begin(s, it, t);
		return;
	}
	store_save(s, it, t, true);
	store_run_hook(s, t, s->completion_hook, "completed");
}

/* ---- the partial recheck of changed files ---- */

static void store_check_issue(struct store_check *c);

/* A torrent saved in the error state stays there, with its message, until the user starts it
 * (torrent_start clears the error): it must not come back as downloading after a restart. The
 * error hook ran when the error happened; it does not run again for the restore. */
static void
store_restore_error(struct store_item *it, struct torrent *t, const char *msg)
{
	log_warn("%s: still in the error state from the last session; start it once the cause "
	    "is fixed", t->mi->name);
	torrent_set_error(t, "%s", msg);
	it->error_pending = false;
}

static void
store_check_finish(struct store_check *c)
{
	struct store *s = c->s;
	struct torrent *t = session_find_torrent(s->e, c->id);
	struct store_item *it = store_find(s, c->id);
	if (it != NULL)
		it->checking = false;
	if (t != NULL && t->check_gen == c->gen && t->state == ENGINE_TORRENT_CHECKING) {
		for (uint32_t i = 0; i < c->n; i++) {
			uint32_t p = c->pieces[i];
			if (!c->ok[i] || bitfield_get(&t->have, p))
				continue;
			bitfield_set(&t->have, p);
			t->have_bytes += metainfo_piece_size(t->mi, p);
			picker_set_have(t->pk, p);
		}
		t->checked = true;
		torrent_set_state(t, ENGINE_TORRENT_STOPPED);
		log_info("%s: rechecked %u piece%s of changed files: %u good; %u of %u pieces "
		    "verified", t->mi->name, c->n, c->n == 1 ? "" : "s", c->good, t->have.count,
		    t->mi->piece_count);
		session_emit(s->e, t->id, ENGINE_EVENT_CHECKED);
		if (c->error != NULL && it != NULL)
			store_restore_error(it, t, c->error);
		if (it != NULL) {
			store_save(s, it, t, true);
			if (it->want_running && t->state != ENGINE_TORRENT_ERROR && store_admit(s, t))
				torrent_start(t);
		}
	}
	storage_free(c->st);
	metainfo_free(c->mi);
	free(c->pieces);
	free(c->ok);
	free(c->error);
	free(c);
}

static void
store_check_done(struct disk_job *job, void *arg)
{
	struct store_check_job *cj = arg;
	struct store_check *c = cj->c;
	c->inflight--;
	if (job->error == 0 && job->hash_ok) {
		c->ok[cj->index] = 1;
		c->good++;
	}
	free(cj);
	store_check_issue(c);
}

static void
store_check_issue(struct store_check *c)
{
	struct disk_pool *pool = c->s->e->disk;
	uint32_t window = (uint32_t)disk_pool_threads(pool) * 2;
	while (c->inflight < window && c->next < c->n) {
		uint32_t idx = c->next++;
		uint32_t piece = c->pieces[idx];
		struct store_check_job *cj = xcalloc(1, sizeof *cj);
		cj->c = c;
		cj->index = idx;
		cj->job.op = DISK_OP_HASH_PIECE;
		cj->job.storage = c->st;
		cj->job.torrent_id = c->id;
		cj->job.piece = piece;
		cj->job.offset = (uint64_t)piece * c->mi->piece_length;
		cj->job.length = metainfo_piece_size(c->mi, piece);
		disk_job_expect(&cj->job, c->mi, piece);
		cj->job.done = store_check_done;
		cj->job.arg = cj;
		c->inflight++;
		disk_pool_submit(pool, &cj->job);
	}
	if (c->inflight == 0 && c->next >= c->n)
		store_check_finish(c);
}

/* ---- loading ---- */

static void
store_stat_path(const char *path, uint64_t *size, int64_t *mtime_ns)
{
	struct stat st;
	*size = 0;
	*mtime_ns = 0;
	if (path == NULL || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	*size = (uint64_t)st.st_size;
	*mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* Trusts the resume file's pieces except those touching files changed since it was written;
 * those pieces are rechecked (returns the list). */
static uint32_t *
store_apply_resume(struct store *s, struct store_item *it, struct torrent *t,
    const struct resume *r, uint32_t *nrecheck)
{
	const struct metainfo *mi = t->mi;
	uint32_t np = mi->piece_count;
	uint8_t *dirty = xcalloc(np ? np : 1, 1);   /* 1 = recheck, 2 = can't be there */
	size_t changed = 0;
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		if (f->pad || f->length == 0)
			continue;
		char *path = storage_file_path(t->st, i);
		uint64_t size;
		int64_t mtime;
		store_stat_path(path, &size, &mtime);
		free(path);
		if (size == r->files[i].size && mtime == r->files[i].mtime_ns)
			continue;
		changed++;
		uint8_t mark = size == 0 ? 2 : 1;
		uint32_t first = (uint32_t)(f->offset / mi->piece_length);
		uint32_t last = (uint32_t)((f->offset + f->length - 1) / mi->piece_length);
		for (uint32_t k = first; k <= last && k < np; k++)
			if (dirty[k] < mark)
				dirty[k] = mark;
	}
	struct dp_bitfield claimed;
	bitfield_init(&claimed, np);
	if (r->pieces != NULL)
		bitfield_load(&claimed, r->pieces, bitfield_bytes(np));
	uint32_t *recheck = NULL;
	uint32_t nr = 0;
	for (uint32_t k = 0; k < np; k++) {
		if (dirty[k] == 1) {
			if (nr % 256 == 0)
				recheck = xreallocarray(recheck, nr + 256, sizeof *recheck);
			recheck[nr++] = k;
		} else if (dirty[k] == 0 && bitfield_get(&claimed, k)) {
			bitfield_set(&t->have, k);
			t->have_bytes += metainfo_piece_size(mi, k);
			picker_set_have(t->pk, k);
		}
	}
	bitfield_free(&claimed);
	free(dirty);
	if (changed > 0)
		log_info("%s: %zu file%s changed since the last save: rechecking %u piece%s",
		    mi->name, changed, changed == 1 ? "" : "s", nr, nr == 1 ? "" : "s");
	for (size_t i = 0; i < mi->file_count; i++)
		t->file_prio[i] = r->files[i].priority;
	if (mi->file_count > 0)
		torrent_file_priority(t, 0, (enum engine_prio)t->file_prio[0]);
	torrent_set_sequential(t, r->sequential);
	uint64_t now = dp_now_ms();
	bw_bucket_set_rate(&t->down_bucket, r->down_limit, now);
	bw_bucket_set_rate(&t->up_bucket, r->up_limit, now);
	t->max_peers = (int)r->max_peers;
	t->upload_slots = (int)r->upload_slots;
	t->uploaded = r->uploaded;
	t->downloaded = r->downloaded;
	if (r->added_date > 0)
		t->added_date = r->added_date;
	t->completed_date = r->completed_date;
	it->seeding_s = r->seeding_s;
	it->downloading_s = r->downloading_s;
	it->seed_ratio_milli = r->seed_ratio_milli;
	it->seed_time_s = r->seed_time_s;
	it->want_running = r->running;
	it->synced_have = t->have.count;
	/* A magnet (no pieces yet) is checked once its metadata arrives. */
	t->checked = t->md == NULL;
	(void)s;
	*nrecheck = nr;
	return recheck;
}

struct store_entry {
	char *path;
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

static void
store_load_one(struct store *s, struct store_entry *en)
{
	char err[512];
	struct engine_add_opts opts = { 0 };
	opts.paused = true;
	if ((en->have_resume || en->magnet_resume) && en->r.save_path[0] != '\0')
		opts.save_dir = en->r.save_path;
	int id = 0;
	int rc = en->uri != NULL ?
	    engine_add_magnet(s->e, en->uri, &opts, &id, err, sizeof err) :
	    engine_add_torrent_file(s->e, en->path, &opts, &id, err, sizeof err);
	if (rc < 0) {
		log_error("session: %s: %s", en->path, err);
		return;
	}
	struct torrent *t = session_find_torrent(s->e, id);
	struct store_item *it = store_find(s, id);
	if (t == NULL || it == NULL)
		return;
	if (!en->have_resume) {
		if (en->uri != NULL)
			log_warn("%s: no usable resume data (%s): fetching its metadata again",
			    t->mi->name, en->why);
		else
			log_warn("%s: no usable resume data (%s): checking the data", t->mi->name,
			    en->why);
		it->want_running = true;
		it->saved_fp = 0;
		if (en->magnet_resume) {
			/* What the user chose for the magnet still holds. */
			if (en->r.added_date > 0)
				t->added_date = en->r.added_date;
			it->want_running = en->r.running;
			it->seed_ratio_milli = en->r.seed_ratio_milli;
			it->seed_time_s = en->r.seed_time_s;
		}
		return;
	}
	if (en->used_backup)
		log_warn("%s: resume file unusable (%s): using the backup", t->mi->name, en->why);
	uint32_t nr = 0;
	uint32_t *recheck = store_apply_resume(s, it, t, &en->r, &nr);
	if (nr == 0) {
		free(recheck);
		if (en->r.error != NULL)
			store_restore_error(it, t, en->r.error);
		it->saved_fp = store_fingerprint(it, t, store_position(s, it));
		if (en->used_backup)
			it->saved_fp = 0;   /* write a good main file again */
		return;
	}
	char why[256];
	struct store_check *c = xcalloc(1, sizeof *c);
	c->s = s;
	c->id = id;
	c->mi = metainfo_load(en->path, why, sizeof why);
	if (c->mi == NULL) {
		log_error("%s: %s", t->mi->name, why);
		free(c);
		free(recheck);
		return;
	}
	c->st = storage_new(c->mi, t->save_dir, 8);
	c->pieces = recheck;
	c->n = nr;
	c->ok = xcalloc(nr, 1);
	if (en->r.error != NULL)
		c->error = xstrdup(en->r.error);   /* set again once the recheck is done */
	it->checking = true;
	torrent_set_state(t, ENGINE_TORRENT_CHECKING);
	t->check_gen++;
	c->gen = t->check_gen;
	task_wait(t->task, DP_TASK_DISK_WAIT, "rechecking %u piece%s of changed files", nr,
	    nr == 1 ? "" : "s");
	store_check_issue(c);
}

static void
store_drop_entry(struct store_entry *en)
{
	free(en->path);
	en->path = NULL;
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

static int
store_load_all(struct store *s, char *err, size_t errlen)
{
	DIR *d = opendir(s->tdir);
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", s->tdir, strerror(errno));
		return -1;
	}
	struct store_entry *v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 47 || strcmp(de->d_name + 40, len == 48 ? ".torrent" : ".magnet") != 0)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
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
		metainfo_free(mi);
	}
	/* Then the links of magnets, which give way to a usable .torrent of the same hash. */
	for (size_t i = 0; i < n; i++)
		if (v[i].path != NULL && strcmp(v[i].path + strlen(v[i].path) - 7, ".magnet") == 0)
			store_read_magnet(s, v, n, &v[i]);
	if (n > 1)
		qsort(v, n, sizeof *v, store_entry_cmp);
	s->loading = true;
	size_t loaded = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].path != NULL) {
			store_load_one(s, &v[i]);
			loaded++;
		}
		resume_clear(&v[i].r);
		free(v[i].path);
		free(v[i].uri);
	}
	s->loading = false;
	free(v);
	if (loaded > 0)
		log_info("session: %zu torrent%s loaded from %s (%llu pieces hashed so far)",
		    loaded, loaded == 1 ? "" : "s", s->dir,
		    (unsigned long long)disk_pool_hash_count(s->e->disk));
	return 0;
}

/* ---- queueing and the periodic pass ---- */

static bool
store_item_active(const struct torrent *t)
{
	return torrent_is_active(t) || t->state == ENGINE_TORRENT_CHECKING ||
	    t->state == ENGINE_TORRENT_METADATA;
}

static void
store_queue_pass(struct store *s)
{
	if (s->loading || s->shutting_down)
		return;
	size_t n = 0;
	for (struct store_item *it = s->items; it != NULL; it = it->next)
		n++;
	if (n == 0)
		return;
	struct queue_entry *v = xcalloc(n, sizeof *v);
	struct torrent **ts = xcalloc(n, sizeof *ts);
	size_t k = 0;
	for (struct store_item *it = s->items; it != NULL; it = it->next) {
		struct torrent *t = session_find_torrent(s->e, it->id);
		if (t == NULL || !it->want_running || it->removed || t->removing ||
		    t->state == ENGINE_TORRENT_ERROR)
			continue;
		if (t->state == ENGINE_TORRENT_STOPPED && !store_item_active(t))
			torrent_set_state(t, ENGINE_TORRENT_QUEUED);
		v[k].id = it->id;
		v[k].download = !store_is_complete(t);
		v[k].active = store_item_active(t);
		v[k].pinned = it->checking || it->moving || t->state == ENGINE_TORRENT_CHECKING;
		ts[k] = t;
		k++;
	}
	queue_plan(v, k, s->max_down, s->max_seed);
	for (size_t i = 0; i < k; i++) {
		struct torrent *t = ts[i];
		if (v[i].action == QUEUE_START) {
			log_info("%s: leaving the queue", t->mi->name);
			torrent_start(t);
		} else if (v[i].action == QUEUE_PARK) {
			log_info("%s: queued (over the limit of active %s)", t->mi->name,
			    v[i].download ? "downloads" : "seeds");
			torrent_stop(t, false);
			torrent_set_state(t, ENGINE_TORRENT_QUEUED);
			task_idle(t->task, DP_TASK_QUEUED, "queued");
		} else if (t->state == ENGINE_TORRENT_QUEUED) {
			task_idle(t->task, DP_TASK_QUEUED, "queued: position %d",
			    store_position(s, store_find(s, t->id)) + 1);
		}
	}
	free(v);
	free(ts);
}

/* The user (or an add) asks t to run: true = start it now, false = it was queued. */
static bool
store_admit(struct store *s, struct torrent *t)
{
	struct store_item *it = store_find(s, t->id);
	if (it == NULL)
		return true;
	it->want_running = true;
	if (it->moving || it->checking)
		return false;
	if (s->loading || s->shutting_down) {
		if (!s->shutting_down)
			torrent_set_state(t, ENGINE_TORRENT_QUEUED);
		return false;
	}
	bool download = !store_is_complete(t);
	int max = download ? s->max_down : s->max_seed;
	if (max <= 0)
		return true;
	int active = 0;
	for (struct store_item *x = s->items; x != NULL; x = x->next) {
		struct torrent *o = x == it ? NULL : session_find_torrent(s->e, x->id);
		if (o != NULL && store_item_active(o) && !store_is_complete(o) == download)
			active++;
	}
	if (active < max)
		return true;
	if (t->state != ENGINE_TORRENT_QUEUED)
		log_info("%s: queued (%d active %s)", t->mi->name, active,
		    download ? "downloads" : "seeds");
	torrent_set_state(t, ENGINE_TORRENT_QUEUED);
	task_idle(t->task, DP_TASK_QUEUED, "queued");
	return false;
}

/* Notices a start (from the tick, or sooner when someone asks for the start date). */
static void
store_note_active(struct store_item *it, const struct torrent *t)
{
	bool active = torrent_is_active(t);
	if (active && !it->was_active)
		it->start_date = dp_wall_time();
	it->was_active = active;
}

static void
store_tick_item(struct store *s, struct store_item *it, struct torrent *t, uint64_t now,
    bool periodic)
{
	/* Seeding time and limits. */
	if (t->state == ENGINE_TORRENT_SEEDING) {
		if (it->seeding_since_ms != 0)
			it->seeding_s += (int64_t)((now - it->seeding_since_ms) / 1000);
		it->seeding_since_ms = now - (it->seeding_since_ms != 0 ?
		    (now - it->seeding_since_ms) % 1000 : 0);
		char why[160];
		if (queue_seed_limit_reached(it->seed_ratio_milli, it->seed_time_s, s->seed_ratio,
		    s->seed_time, t->uploaded, t->downloaded, torrent_wanted(t), it->seeding_s, why,
		    sizeof why)) {
			log_info("%s: stopped seeding: %s", t->mi->name, why);
			it->want_running = false;
			torrent_stop(t, true);
		}
	} else {
		it->seeding_since_ms = 0;
	}
	if (t->state == ENGINE_TORRENT_DOWNLOADING) {
		if (it->downloading_since_ms != 0)
			it->downloading_s += (int64_t)((now - it->downloading_since_ms) / 1000);
		it->downloading_since_ms = now - (it->downloading_since_ms != 0 ?
		    (now - it->downloading_since_ms) % 1000 : 0);
	} else {
		it->downloading_since_ms = 0;
	}
	store_note_active(it, t);
	if (it->completed_pending && !it->moving)
		store_completed(s, it, t);
	if (it->move_waiting && t->disk_jobs == 0)
		store_move_begin(s, it, t);
	if (it->error_pending) {
		it->error_pending = false;
		if (t->state == ENGINE_TORRENT_ERROR)
			store_run_hook(s, t, s->error_hook, "error");
	}
	if (it->checking || it->moving || t->state == ENGINE_TORRENT_CHECKING)
		return;
	uint64_t fp = store_fingerprint(it, t, store_position(s, it));
	bool changed = fp != it->saved_fp;
	bool counters = t->uploaded != it->saved_up || t->downloaded != it->saved_down;
	if ((changed && now - it->last_save_ms >= STORE_DEBOUNCE_MS) || (periodic && counters))
		store_save(s, it, t, false);
}

static void
store_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	(void)fd;
	(void)what;
	if (s->shutting_down)
		return;
	task_cb_begin(s->task);
	uint64_t now = dp_now_ms();
	bool periodic = now - s->last_periodic_ms >= STORE_PERIODIC_MS;
	if (periodic)
		s->last_periodic_ms = now;
	struct store_item *it = s->items;
	while (it != NULL) {
		struct store_item *next = it->next;
		struct torrent *t = session_find_torrent(s->e, it->id);
		if (t != NULL && !it->removed)
			store_tick_item(s, it, t, now, periodic);
		it = next;
	}
	store_queue_pass(s);
	task_idle(s->task, DP_TASK_TIMER_WAIT, "session %s: %zu resume writes pending", s->dir,
	    resume_writer_pending(s->writer));
	task_cb_end(s->task);
}

/* ---- events ---- */

static bool
store_policy_admit(void *arg, int torrent_id)
{
	struct store *s = arg;
	struct torrent *t = session_find_torrent(s->e, torrent_id);
	return t == NULL || store_admit(s, t);
}

/* ---- events ---- */

static void
store_on_event(void *arg, int torrent_id, enum engine_event ev)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, torrent_id);
	struct torrent *t = session_find_torrent(s->e, torrent_id);
	switch (ev) {
	case ENGINE_EVENT_ADDED:
		if (it != NULL || t == NULL)
			break;
		it = xcalloc(1, sizeof *it);
		it->id = torrent_id;
		memcpy(it->hash, t->mi->info_hash, 20);
		memcpy(it->hex, t->mi->info_hash_hex, 41);
		it->seed_ratio_milli = -1;
		it->seed_time_s = -1;
		store_append_item(s, it);
		if (s->loading)
			break;
		/* A magnet has no info dictionary to save until ut_metadata brings it: its
		 * link is kept meanwhile. */
		if (t->mi->info_raw != NULL)
			store_save_metainfo(s, t, false);
		else if (t->md != NULL && metadata_fetch_uri(t->md) != NULL)
			store_save_magnet(s, t, metadata_fetch_uri(t->md));
		break;
	case ENGINE_EVENT_METADATA:
		if (it != NULL && t != NULL && t->mi->info_raw != NULL) {
			store_save_metainfo(s, t, true);
			/* The resume file too, so the two agree on pieces and files. */
			store_save(s, it, t, true);
		}
		break;
	case ENGINE_EVENT_STOPPED:
		/* Only a user's stop is reported: the torrent stays stopped across restarts. */
		if (it != NULL && !s->shutting_down)
			it->want_running = false;
		break;
	case ENGINE_EVENT_COMPLETED:
		if (it != NULL)
			it->completed_pending = true;
		break;
	case ENGINE_EVENT_ERROR:
		if (it != NULL)
			it->error_pending = true;
		break;
	case ENGINE_EVENT_REMOVED:
		if (it == NULL)
			break;
		it->removed = true;
		if (!it->saving) {
			store_forget_files(s, it->hex);
			store_unlink_item(s, it);
			free(it);
		}
		break;
	default:
		break;
	}
	if (s->timer != NULL && !s->shutting_down && ev != ENGINE_EVENT_ADDED)
		event_active(s->timer, EV_TIMEOUT, 0);
}

/* ---- the watch directory ---- */

static bool
store_name_is_magnet(const char *name)
{
	size_t n = strlen(name);
	return n > 7 && strcmp(name + n - 7, ".magnet") == 0;
}

static void
store_watch_cb(struct watch *w, const struct watch_file *f, void *arg)
{
	struct store *s = arg;
	char err[512];
	struct engine_add_opts opts = { 0 };
	opts.paused = s->start_paused;
	int id = 0, rc = -1;
	if (s->shutting_down || s->e->shutting_down) {
		/* Read while we were stopping: left as it is for the next start's scan. */
		log_info("watch: %s left for the next start (shutting down)", f->path);
		return;
	}
	if (f->error != 0) {
		snprintf(err, sizeof err, "%s", f->errmsg);
	} else if (store_name_is_magnet(f->name)) {
		char *uri = xstrdup((const char *)f->data);
		size_t len = strlen(uri);
		while (len > 0 && (uri[len - 1] == '\n' || uri[len - 1] == '\r' ||
		    uri[len - 1] == ' '))
			uri[--len] = '\0';
		rc = engine_add_magnet(s->e, uri, &opts, &id, err, sizeof err);
		free(uri);
	} else {
		char why[400];
		rc = engine_add_torrent_data(s->e, f->data, f->len, &opts, &id, why, sizeof why);
		if (rc < 0)
			snprintf(err, sizeof err, "%s%s%s", id > 0 ? "" : f->path, id > 0 ? "" : ": ",
			    why);
	}
	if (rc == 0) {
		log_info("watch: added %s (id %d)%s", f->path, id, opts.paused ? ", paused" : "");
		watch_file_rename(w, f, ".added");
	} else if (id > 0) {
		log_info("watch: %s", err);
		watch_file_rename(w, f, ".added");
	} else if (f->scanned && f->fresh) {
		/* Found by the scan and fresh: maybe still being written; its close will bring it
		 * back to us. */
		log_info("watch: %s is not readable yet (%s); waiting for it to be closed", f->path,
		    err);
	} else {
		log_error("watch: %s is invalid: %s", f->path, err);
		watch_file_rename(w, f, ".invalid");
	}
}

static void
store_set_watch(struct store *s, const char *dir)
{
	if (s->watch != NULL && dir != NULL && strcmp(watch_dir(s->watch), dir) == 0)
		return;
	watch_free(s->watch);
	s->watch = NULL;
	if (dir == NULL)
		return;
	/* Created, checked and scanned on the disk pool; failures are logged from there. */
	s->watch = watch_new(s->e->base, s->e->disk, dir, store_watch_cb, s);
}

/* ---- settings ---- */

static void
store_set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL && src[0] != '\0' ? xstrdup(src) : NULL;
}

static void
store_apply_settings(struct store *s, const struct dp_config *cfg)
{
	struct engine_queue_limits q;
	engine_settings_queue_limits(cfg, &q);
	s->max_down = q.max_active_downloads;
	s->max_seed = q.max_active_seeds;
	s->seed_ratio = q.seed_ratio;
	s->seed_time = q.seed_time_s;
	s->start_paused = q.start_paused;
	store_set_str(&s->completed_dir, cfg->completed_dir);
	store_set_str(&s->completion_hook, cfg->completion_hook);
	store_set_str(&s->error_hook, cfg->error_hook);
	s->hook_shell = cfg->hook_shell;
	s->hook_timeout = cfg->hook_timeout;
}

/* ---- run-time settings (settings.conf) ---- */

static void
store_settings_done(struct resume_job *job, void *arg)
{
	(void)arg;
	if (job->error != 0)
		log_error("session: saving the run-time settings: %s", job->errmsg);
	resume_job_free(job);
}

/* Written atomically on the writer thread; jobs run in order, so the last one wins. */
static void
store_save_settings(struct store *s)
{
	s->settings_dirty = false;
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = xstrdup(s->settings_path);
	job->raw = (uint8_t *)settings_format(engine_settings_kept(s->e), &job->raw_len);
	job->done = store_settings_done;
	snprintf(job->label, sizeof job->label, "writing %s", s->settings_path);
	resume_writer_submit(s->writer, job);
}

static void
store_settings_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct store *s = arg;
	if (s->settings_dirty)
		store_save_settings(s);
}

/* The run-time changes kept in settings.conf (or its backup) go back over the configuration;
 * a line the table refuses now is logged and left out. */
static int
store_load_settings(struct store *s, char *err, size_t errlen)
{
	struct settings kept;
	char why[600], bad[600];
	if (settings_load(s->settings_path, &kept, why, sizeof why, err, errlen) < 0)
		return -1;
	if (why[0] != '\0')
		log_warn("session: %s: using the backup", why);
	for (size_t i = 0; i < kept.n; i++)
		if (engine_settings_keep(s->e, kept.keys[i], kept.values[i], NULL, bad,
		    sizeof bad) < 0)
			log_error("%s: %s (ignored)", s->settings_path, bad);
	if (kept.n > 0)
		log_info("session: %zu setting%s changed at run time applied from %s", kept.n,
		    kept.n == 1 ? "" : "s", s->settings_path);
	settings_clear(&kept);
	return 0;
}

static void
store_settings_changed(void *arg, bool save)
{
	struct store *s = arg;
	store_apply_settings(s, engine_settings_live(s->e));
	if (!s->shutting_down)
		store_set_watch(s, engine_settings_live(s->e)->watch_dir);
	if (save) {
		/* One write for the changes of one loop iteration. */
		s->settings_dirty = true;
		event_active(s->settings_ev, EV_TIMEOUT, 0);
	}
	store_queue_pass(s);
}

/* ---- life cycle ---- */

static void
store_shutdown_begin(void *arg)
{
	struct store *s = arg;
	if (s->shutting_down)
		return;
	s->shutting_down = true;
	/* A last count of seeding time before the torrents stop. */
	uint64_t now = dp_now_ms();
	for (struct store_item *it = s->items; it != NULL; it = it->next) {
		if (it->seeding_since_ms != 0)
			it->seeding_s += (int64_t)((now - it->seeding_since_ms) / 1000);
		if (it->downloading_since_ms != 0)
			it->downloading_s += (int64_t)((now - it->downloading_since_ms) / 1000);
		it->seeding_since_ms = it->downloading_since_ms = 0;
	}
	if (s->timer != NULL)
		event_del(s->timer);
	watch_free(s->watch);
	s->watch = NULL;
}

static void
store_flush(void *arg)
{
	struct store *s = arg;
	if (s->settings_dirty)
		store_save_settings(s);
	resume_writer_drain(s->writer);
	resume_writer_drain(s->mover);
	size_t n = 0;
	for (struct store_item *it = s->items; it != NULL; it = it->next) {
		struct torrent *t = session_find_torrent(s->e, it->id);
		if (t == NULL || it->removed)
			continue;
		/* A check still running at exit: its pieces are claimed by the previous file. */
		if (it->checking || t->state == ENGINE_TORRENT_CHECKING)
			continue;
		struct resume_job *job = store_make_job(s, it, t);
		job->sync = true;
		resume_job_run(job);
		if (job->error != 0)
			log_error("session: saving resume data: %s", job->errmsg);
		else
			n++;
		resume_job_free(job);
	}
	log_info("session: resume data of %zu torrent%s saved", n, n == 1 ? "" : "s");
}

static void
store_free(void *arg)
{
	struct store *s = arg;
	if (s == NULL)
		return;
	store_shutdown_begin(s);
	resume_writer_free(s->writer);
	resume_writer_free(s->mover);
	hooks_free(s->hooks, STORE_HOOK_WAIT_MS);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->settings_ev != NULL)
		event_free(s->settings_ev);
	task_done(s->task, "closed");
	task_release(&s->task);
	while (s->items != NULL) {
		struct store_item *it = s->items;
		s->items = it->next;
		free(it);
	}
	free(s->settings_path);
	free(s->completed_dir);
	free(s->completion_hook);
	free(s->error_hook);
	free(s->dir);
	free(s->tdir);
	free(s->rdir);
	free(s);
}

/* ---- what only the policy keeps: queue order, seeding limits, times ---- */

/* ---- what only the policy keeps: queue order, seeding limits, times ---- */

static const struct engine_policy store_policy;

int
session_store_open(struct engine *e, const char *dir, const struct dp_config *cfg, char *err,
    size_t errlen)
{
	if (e->policy != NULL) {
		snprintf(err, errlen, "a session directory is already open");
		return -1;
	}
	struct store *s = xcalloc(1, sizeof *s);
	s->e = e;
	s->dir = xstrdup(dir);
	s->tdir = xasprintf("%s/torrents", dir);
	s->rdir = xasprintf("%s/resume", dir);
	s->settings_path = xasprintf("%s/%s", dir, SETTINGS_FILE_NAME);
	if (cfg != NULL)
		engine_settings_reconfigure(e, cfg);
	s->hooks = hooks_new(e->base);
	s->task = task_new(DP_TASK_KIND_SESSION, 0, "session %s", dir);
	if (store_mkdir(dir, err, errlen) < 0 || store_mkdir(s->tdir, err, errlen) < 0 ||
	    store_mkdir(s->rdir, err, errlen) < 0)
		goto fail;
	if ((s->writer = resume_writer_new(e->base, err, errlen)) == NULL ||
	    (s->mover = resume_writer_new(e->base, err, errlen)) == NULL)
		goto fail;
	s->timer = event_new(e->base, -1, EV_PERSIST, store_timer_cb, s);
	s->settings_ev = event_new(e->base, -1, 0, store_settings_cb, s);
	if (s->timer == NULL || s->settings_ev == NULL) {
		snprintf(err, errlen, "can't create the session timer");
		goto fail;
	}
	if (store_load_settings(s, err, errlen) < 0)
		goto fail;
	store_apply_settings(s, engine_settings_live(e));
	/* Registered first: the torrents it adds go through its admit and events. */
	engine_set_policy(e, &store_policy, s);
	if (store_load_all(s, err, errlen) < 0) {
		engine_set_policy(e, NULL, NULL);
		goto fail;
	}
	struct timeval tv = { STORE_TICK_MS / 1000, (STORE_TICK_MS % 1000) * 1000 };
	event_add(s->timer, &tv);
	task_idle(s->task, DP_TASK_TIMER_WAIT, "session %s", dir);
	store_queue_pass(s);
	store_set_watch(s, engine_settings_live(e)->watch_dir);
	/* The DHT keeps its node table here too, for the next start. */
	discovery_set_session_dir(e->disc, dir);
	return 0;
fail:
	store_free(s);
	return -1;
}

static int
store_queue_move(void *arg, int id, enum engine_queue_where where, char *err, size_t errlen)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	if (it == NULL || it->removed) {
		snprintf(err, errlen, "no torrent with id %d", id);
		return -1;
	}
	int pos = store_position(s, it);
	store_unlink_item(s, it);
	struct store_item **pp = &s->items;
	int target = 0;
	switch (where) {
	case ENGINE_QUEUE_TOP: target = 0; break;
	case ENGINE_QUEUE_UP: target = pos > 0 ? pos - 1 : 0; break;
	case ENGINE_QUEUE_DOWN: target = pos + 1; break;
	case ENGINE_QUEUE_BOTTOM: target = 1 << 30; break;
	}
	for (int i = 0; i < target && *pp != NULL; i++)
		pp = &(*pp)->next;
	it->next = *pp;
	*pp = it;
	s->tail = NULL;
	for (struct store_item *x = s->items; x != NULL; x = x->next)
		s->tail = x;
	store_queue_pass(s);
	return 0;
}

static int
store_queue_position(void *arg, int id)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	return it != NULL ? store_position(s, it) : -1;
}

static int
store_set_seed_limits(void *arg, int id, double ratio, int64_t seconds, char *err,
    size_t errlen)
{
	struct store_item *it = store_find(arg, id);
	if (it == NULL) {
		snprintf(err, errlen, "no torrent with id %d", id);
		return -1;
	}
	it->seed_ratio_milli = ratio < 0 ? -1 : (int64_t)(ratio * 1000 + 0.5);
	it->seed_time_s = seconds < 0 ? -1 : seconds;
	return 0;
}

static int
store_get_seed_limits(void *arg, int id, double *ratio, int64_t *seconds)
{
	struct store_item *it = store_find(arg, id);
	if (it == NULL)
		return -1;
	*ratio = it->seed_ratio_milli < 0 ? -1.0 : (double)it->seed_ratio_milli / 1000.0;
	*seconds = it->seed_time_s;
	return 0;
}

static void
store_get_times(void *arg, int id, struct engine_torrent_times *out)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	struct torrent *t = session_find_torrent(s->e, id);
	if (it == NULL || t == NULL)
		return;
	store_note_active(it, t);
	uint64_t now = dp_now_ms();
	out->seconds_downloading = it->downloading_s + (it->downloading_since_ms != 0 ?
	    (int64_t)((now - it->downloading_since_ms) / 1000) : 0);
	out->seconds_seeding = it->seeding_s + (it->seeding_since_ms != 0 ?
	    (int64_t)((now - it->seeding_since_ms) / 1000) : 0);
	out->start_date = it->start_date;
}

static const struct engine_policy store_policy = {
	.admit = store_policy_admit,
	.on_event = store_on_event,
	.settings_changed = store_settings_changed,
	.shutdown_begin = store_shutdown_begin,
	.flush = store_flush,
	.free = store_free,
	.queue_move = store_queue_move,
	.queue_position = store_queue_position,
	.set_seed_limits = store_set_seed_limits,
	.get_seed_limits = store_get_seed_limits,
	.get_times = store_get_times,
};

/* ---- session_store.h ---- */


