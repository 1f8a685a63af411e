/* session_store.c: the session directory and the seedbox rules around the engine: metainfo
 * copies and resume files (saved on change, debounced, periodically and at shutdown, on the
 * writer thread), loading with a recheck of only the pieces of changed files, queueing, seeding
 * limits, moving finished data (and torrent-set-location's moves), completion and error hooks,
 * and the watch directory. A policy of the engine (struct engine_policy): it sees the engine
 * through engine.h and engine_policy.h only. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "bitfield.h"
#include "dp_config.h"
#include "engine.h"
#include "engine_policy.h"
#include "hooks.h"
#include "idmap.h"
#include "log.h"
#include "magnet.h"
#include "metainfo.h"
#include "queue.h"
#include "resume.h"
#include "session_store.h"
#include "session_stats.h"
#include "settings_file.h"
#include "util.h"
#include "watch.h"

#define STORE_TICK_MS 1000
#define STORE_DEBOUNCE_MS 2000        /* at most one save per torrent in this time */
#define STORE_PERIODIC_MS 300000      /* counters and seeding time, even without changes */
#define STORE_HOOK_WAIT_MS 1000       /* at exit, for hooks still running */
#define STORE_SLICE_US 8000u          /* queue starts per callback: at most this long ... */
#define STORE_SLICE_MIN 8u            /* ... and at least this many */
#define STORE_FLUSH_THREADS 3         /* with the loop's own: the last saves at exit */
#define STORE_WRITER_BACKLOG 64      /* saves handed on while the writer has fewer queued */
#define STORE_QUEUE_MIN_MS 250        /* queue passes at most this often (a burst: one pass) */

struct store_item {
	int id;
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
	bool checking;                /* the recheck of its changed files is running */
	char *restore_error;          /* the error state it was saved in, set again after it */
	bool moving;                  /* data on its way to completed_dir or move_to */
	bool move_waiting;            /* stopped, waiting for its disk jobs to drain */
	char *move_to;                /* torrent-set-location's folder; NULL: completed_dir */
	bool move_find;               /* ... without moving: take the data there and check it */
	bool completed_pending, error_pending;
	int pos;                      /* queue position, valid unless s->pos_dirty */
	struct event *limit_ev;       /* its seeding-time limit falls due (made when one applies) */
	struct store *s;              /* for limit_ev's callback */
	bool on_dirty;                /* on s->dirty: looked at on the next tick */
	bool on_qstale;               /* on s->qstale: the next queue pass reads it */
	struct store_item *next, *prev;
	struct store_item *dnext, *dprev;   /* s->dirty */
};

struct store {
	struct engine *e;
	struct event_base *base;
	char *dir, *tdir, *rdir;
	struct resume_writer *writer;     /* resume files and metainfo copies */
	struct resume_writer *mover;      /* moving data to completed_dir */
	struct hooks *hooks;
	struct watch *watch;
	struct event *timer;
	struct event *queue_ev;           /* the rest of a queue pass cut at its time budget */
	struct engine_task *task;
	struct store_item *items, *tail;  /* queue order */
	/* What the per-second tick looks at: torrents the engine marked changed since the last
	 * tick (engine_torrents_changed), an event, a deadline (limit_ev), or one still waiting
	 * (a debounced save, a move, a check). Idle torrents are on no list and cost nothing. */
	struct store_item *dirty, *dirty_tail;   /* oldest first */
	size_t ndirty;
	struct event *more_ev;            /* the next slice of a look cut at its time budget */
	uint64_t changes_ms;              /* the engine's changes were read up to here */
	bool queue_dirty;                 /* something the queue plan depends on changed */
	uint64_t queue_ms;                /* the last queue pass */
	int *sweep_ids;                   /* the periodic pass over every torrent, in slices */
	size_t sweep_n, sweep_next;
	struct dp_idmap by_id;            /* id -> item */
	int nitems;
	bool pos_dirty;                   /* an item left or moved: positions renumbered on use */
	bool queue_again;                 /* the last queue pass stopped at its time budget */
	struct store_qpass *qpass;        /* the queue pass under way (store_queue_pass) */
	/* Between full passes a pass reads only the torrents that changed (qstale) and decides
	 * from kept counts whether a full one could act (queue_needs_plan). */
	bool queue_full;                  /* a full pass is due (a setting, a move, a removal) */
	int *qstale;
	size_t nqstale, qstale_cap;
	bool starved_down, starved_seed;  /* the last full pass left no queued one of the class */
	unsigned long long queue_reads;   /* torrents read by queue passes (a test's measure) */
	uint64_t save_deadline_us;        /* the tick's saves stop here ... */
	bool saves_cut;                   /* ... and some were left for the next tick */
	bool backlog_cut;                 /* ... because the writer is behind, not the clock */
	bool loading, shutting_down;      /* loading: inside a slice of the load (adding) */
	bool load_pending;                /* the session's torrents are still being read or added */
	struct store_load *load;
	uint64_t last_periodic_ms;
	/* from the engine's live settings (store_settings_changed) */
	int max_down, max_seed;
	double seed_ratio;
	int64_t seed_time;
	char *completed_dir, *completion_hook, *error_hook, *watch_dir;
	bool hook_shell, start_paused;
	int hook_timeout;
	/* settings.conf: the engine's run-time changes (engine_settings_kept), written when they
	 * change */
	char *settings_path;
	char *stats_path;                 /* SESSION/stats: cumulative session-stats */
	struct event *settings_ev;        /* one write for the changes of one loop iteration */
	bool settings_dirty;
};

struct store_move {
	char **src, **dst;
	size_t n;
	char *from_dir, *to_dir;
	char *top;                    /* the torrent's folder (multi-file) or NULL */
	bool completed;               /* to completed_dir: the completion hook runs after */
	bool find;                    /* nothing moves: the torrent checks the data at to_dir */
};

static void store_save(struct store *s, struct store_item *it);
static void store_queue_pass(struct store *s);
static void store_queue_soon(struct store *s);
static void store_queue_item_soon(struct store *s, struct store_item *it);
static void store_queue_schedule(struct store *s);
static void store_qstale_clear(struct store *s);
static bool store_queue_changed(struct store *s);
static void store_save_stats(struct store *s, bool now);
static bool store_admit(struct store *s, struct store_item *it);
static void store_free(void *arg);
static void store_set_watch(struct store *s, const char *dir);
static void store_load_end(struct store *s, bool finished);

/* ---- helpers ---- */

static struct store_item *
store_find(struct store *s, int id)
{
	return id > 0 ? dp_idmap_get(&s->by_id, (uint64_t)id) : NULL;
}

/* Out of the queue order (it stays findable by id until store_forget_item). */
static void
store_unlink_item(struct store *s, struct store_item *it)
{
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		s->items = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	else
		s->tail = it->prev;
	if (it->next != NULL)
		s->pos_dirty = true;   /* those after it moved up */
	it->next = it->prev = NULL;
	s->nitems--;
}

/* Into the queue order before `before` (NULL: at the end). */
static void
store_insert_item(struct store *s, struct store_item *it, struct store_item *before)
{
	it->next = before;
	it->prev = before != NULL ? before->prev : s->tail;
	if (it->prev != NULL)
		it->prev->next = it;
	else
		s->items = it;
	if (before != NULL)
		before->prev = it;
	else
		s->tail = it;
	if (before != NULL)
		s->pos_dirty = true;
	else
		it->pos = s->nitems;
	s->nitems++;
}

static void
store_append_item(struct store *s, struct store_item *it)
{
	store_insert_item(s, it, NULL);
}

static void
store_item_free(struct store_item *it)
{
	if (it == NULL)
		return;
	if (it->limit_ev != NULL)
		event_free(it->limit_ev);
	free(it->restore_error);
	free(it->move_to);
	free(it);
}

/* The next tick looks at it (O(1); once however often it is marked). */
static void
store_mark(struct store *s, struct store_item *it)
{
	if (it->on_dirty || it->removed)
		return;
	it->on_dirty = true;
	it->dnext = NULL;
	it->dprev = s->dirty_tail;
	if (s->dirty_tail != NULL)
		s->dirty_tail->dnext = it;
	else
		s->dirty = it;
	s->dirty_tail = it;
	s->ndirty++;
}

static void
store_unmark(struct store *s, struct store_item *it)
{
	if (!it->on_dirty)
		return;
	if (it->dprev != NULL)
		it->dprev->dnext = it->dnext;
	else
		s->dirty = it->dnext;
	if (it->dnext != NULL)
		it->dnext->dprev = it->dprev;
	else
		s->dirty_tail = it->dprev;
	it->dnext = it->dprev = NULL;
	it->on_dirty = false;
	s->ndirty--;
}

/* A removed torrent's item leaves for good. */
static void
store_forget_item(struct store *s, struct store_item *it)
{
	store_unmark(s, it);
	store_unlink_item(s, it);
	dp_idmap_del(&s->by_id, (uint64_t)it->id, it);
	store_item_free(it);
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

/* What a resume file would say, minus counters: a change means "save soon". engine_fp is the
 * engine's part (engine_policy_torrent's persist_fp). */
static uint64_t
store_fingerprint(const struct store_item *it, uint64_t engine_fp, int pos)
{
	uint64_t h = engine_fp;
	h = dp_fnv1a(h, &it->want_running, sizeof it->want_running);
	h = dp_fnv1a(h, &it->seed_ratio_milli, sizeof it->seed_ratio_milli);
	h = dp_fnv1a(h, &it->seed_time_s, sizeof it->seed_time_s);
	h = dp_fnv1a(h, &pos, sizeof pos);
	return h;
}

/* Seconds counted so far plus those of the current stretch (since_ms 0: none running). */
static int64_t
store_seconds(int64_t counted, uint64_t since_ms, uint64_t now)
{
	return counted + (since_ms != 0 && now > since_ms ? (int64_t)((now - since_ms) / 1000) : 0);
}

/* Positions are kept; after a removal or a move one walk renumbers them, on first use. */
static int
store_position(struct store *s, const struct store_item *want)
{
	if (s->pos_dirty) {
		int pos = 0;
		for (struct store_item *it = s->items; it != NULL; it = it->next)
			it->pos = pos++;
		s->pos_dirty = false;
	}
	return want->pos;
}

/* ---- saving ---- */

/* A torrent's name for labels and logs (a magnet without metadata: its info-hash). */
static const char *
store_name(struct store *s, int id, struct engine_policy_names *n)
{
	if (engine_policy_names(s->e, id, n) < 0)
		snprintf(n->name, sizeof n->name, "torrent %d", id);
	return n->name;
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
store_save_metainfo(struct store *s, const struct store_item *it, bool with_magnet)
{
	size_t len;
	uint8_t *raw = engine_policy_torrent_file(s->e, it->id, &len);
	if (raw == NULL)
		return;
	struct engine_policy_names n;
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = store_torrent_path(s, it->hex);
	job->raw = raw;
	job->raw_len = len;
	job->done = store_copy_done;
	job->tag = it->id;
	snprintf(job->label, sizeof job->label, "writing the torrent file of %.96s",
	    store_name(s, it->id, &n));
	if (with_magnet) {
		struct store_unlink *u = xcalloc(1, sizeof *u);
		u->paths[u->n++] = store_magnet_path(s, it->hex);
		job->work = store_unlink_work;
		job->ctx = u;
		job->done = store_unlink_done;
	}
	resume_writer_submit(s->writer, job);
}

/* A magnet without its metadata yet: its link, so a restart adds it again. */
static void
store_save_magnet(struct store *s, const struct store_item *it, const char *uri)
{
	struct engine_policy_names n;
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = store_magnet_path(s, it->hex);
	job->raw = (uint8_t *)xasprintf("%s\n", uri);
	job->raw_len = strlen((char *)job->raw);
	job->done = store_copy_done;
	job->tag = it->id;
	snprintf(job->label, sizeof job->label, "writing the magnet link of %.96s",
	    store_name(s, it->id, &n));
	resume_writer_submit(s->writer, job);
}

/* The resume data of a torrent as of now (the loop thread's view); NULL when it is gone. *have
 * gets its verified pieces. */
static struct resume_job *
store_make_job(struct store *s, struct store_item *it, uint32_t *have)
{
	struct engine_resume_state rs;
	if (engine_policy_resume_get(s->e, it->id, &rs) < 0)
		return NULL;
	struct resume_job *job = xcalloc(1, sizeof *job);
	struct resume *r = &job->resume;
	resume_init(r);
	memcpy(r->info_hash, rs.info_hash, 20);
	r->piece_count = rs.piece_count;
	/* Only what was verified counts; during a check the bitfield is still being built. */
	r->pieces = rs.pieces;
	rs.pieces = NULL;
	if (it->checking)
		memset(r->pieces, 0, bitfield_bytes(r->piece_count));
	/* Saved before its data was looked at: the next start checks it, not trusts "none". */
	r->unchecked = !rs.checked;
	r->file_count = rs.file_count;
	r->files = xcalloc(rs.file_count, sizeof *r->files);
	for (size_t i = 0; i < rs.file_count; i++)
		r->files[i].priority = rs.priorities[i];
	job->file_paths = rs.paths;
	rs.paths = NULL;
	r->uploaded = rs.uploaded;
	r->downloaded = rs.downloaded;
	r->added_date = rs.added_date;
	r->completed_date = rs.completed_date;
	/* An idle seed is looked at only when it changes: its current stretch counts too. */
	uint64_t now = dp_now_ms();
	r->seeding_s = store_seconds(it->seeding_s, it->seeding_since_ms, now);
	r->downloading_s = store_seconds(it->downloading_s, it->downloading_since_ms, now);
	r->save_path = xstrdup(rs.save_dir);
	r->running = it->want_running;
	r->sequential = rs.sequential;
	r->down_limit = rs.down_limit;
	r->up_limit = rs.up_limit;
	r->max_peers = rs.max_peers;
	r->upload_slots = rs.upload_slots;
	r->seed_ratio_milli = it->seed_ratio_milli;
	r->seed_time_s = it->seed_time_s;
	r->queue_pos = store_position(s, it);
	if (rs.error[0] != '\0')
		r->error = xstrdup(rs.error);
	if (rs.labels[0] != '\0')
		r->labels = xstrdup(rs.labels);
	r->seed_idle_mode = rs.idle_mode;
	r->seed_idle_limit = rs.idle_limit;
	r->names = rs.names;             /* taken */
	rs.names = NULL;
	r->trackers = rs.trackers;       /* taken */
	rs.trackers = NULL;
	r->peers = rs.peers;             /* taken */
	rs.peers = NULL;
	job->path = store_resume_path(s, it->hex);
	/* Pieces claimed for the first time must be durable before the file says so. */
	job->sync = rs.have_pieces != it->synced_have;
	job->tag = it->id;
	*have = rs.have_pieces;
	engine_policy_resume_free(&rs);
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
			store_forget_item(s, it);
		} else if (it->save_again) {
			it->save_again = false;
			store_save(s, it);
		}
	}
	resume_job_free(job);
}

static void
store_save(struct store *s, struct store_item *it)
{
	if (it->saving) {
		it->save_again = true;
		return;
	}
	struct engine_policy_torrent v;
	uint32_t have;
	if (engine_policy_torrent(s->e, it->id, ENGINE_POLICY_FP, &v) < 0)
		return;
	struct resume_job *job = store_make_job(s, it, &have);
	if (job == NULL)
		return;
	if (job->sync)
		it->synced_have = have;
	it->saved_fp = store_fingerprint(it, v.persist_fp, store_position(s, it));
	it->saved_up = v.uploaded;
	it->saved_down = v.downloaded;
	it->last_save_ms = dp_now_ms();
	it->saving = true;
	job->done = store_save_done;
	job->arg = s;
	struct engine_policy_names n;
	snprintf(job->label, sizeof job->label, "writing resume data for %.100s",
	    store_name(s, it->id, &n));
	resume_writer_submit(s->writer, job);
}

/* ---- hooks ---- */

static void
store_run_hook(struct store *s, int id, const char *cmd, const char *event)
{
	if (cmd == NULL || cmd[0] == '\0')
		return;
	struct engine_policy_names nm;
	struct engine_torrent_stats st;
	if (engine_policy_names(s->e, id, &nm) < 0 || engine_torrent_get(s->e, id, &st) < 0)
		return;
	char *env[12];
	size_t n = 0;
	env[n++] = xasprintf("DOWNPOUR_EVENT=%s", event);
	env[n++] = xasprintf("DOWNPOUR_NAME=%s", nm.display_name);
	env[n++] = xasprintf("DOWNPOUR_HASH=%s", nm.info_hash_hex);
	env[n++] = xasprintf("DOWNPOUR_DIR=%s", nm.save_dir);
	env[n++] = xasprintf("DOWNPOUR_PATH=%s/%s", nm.save_dir, nm.name);
	env[n++] = xasprintf("DOWNPOUR_ID=%d", id);
	env[n++] = xasprintf("DOWNPOUR_SIZE=%llu", (unsigned long long)st.total_size);
	env[n++] = xasprintf("DOWNPOUR_FILES=%zu", st.file_count);
	env[n++] = xasprintf("DOWNPOUR_ERROR=%s", st.state == ENGINE_TORRENT_ERROR ? st.error : "");
	env[n++] = xasprintf("DOWNPOUR_UPLOADED=%llu", (unsigned long long)st.uploaded);
	env[n++] = xasprintf("DOWNPOUR_DOWNLOADED=%llu", (unsigned long long)st.downloaded);
	env[n] = NULL;
	char label[300], err[256];
	snprintf(label, sizeof label, "%s hook for %s", event, nm.name);
	if (hooks_run(s->hooks, cmd, s->hook_shell, s->hook_timeout, (const char *const *)env,
	    id, label, err, sizeof err) < 0)
		log_error("%s: %s", label, err);
	for (size_t i = 0; i < n; i++)
		free(env[i]);
}

/* ---- moving finished data ---- */

/* The directory that is to hold rel's last component under root, made where missing and
 * walked with O_NOFOLLOW at each step, as the storage does: a link planted in completed_dir
 * would aim the move at another user's directory (issue 11, finding 9). The fd, with *name
 * pointing into rel; -1 with err. */
static int
store_move_open_parent(const char *root, const char *rel, const char **name, char *err,
    size_t errlen)
{
	int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		/* The destination itself (completed_dir, a new location) is made as named. */
		char *p = xstrdup(root);
		for (char *q = p + 1;; q++) {
			if (*q != '/' && *q != '\0')
				continue;
			char c = *q;
			*q = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				break;
			*q = c;
			if (c == '\0')
				break;
		}
		free(p);
		dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	const char *comp = rel;
	for (const char *sl; (sl = strchr(comp, '/')) != NULL; comp = sl + 1) {
		char part[NAME_MAX + 1];
		snprintf(part, sizeof part, "%.*s", (int)DP_MIN((size_t)(sl - comp), (size_t)NAME_MAX),
		    comp);
		if (mkdirat(dfd, part, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s/%.*s: can't create: %s", root, (int)(sl - rel), rel,
			    strerror(errno));
			close(dfd);
			return -1;
		}
		int nfd = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			int e = errno;
			snprintf(err, errlen, "%s/%.*s: %s", root, (int)(sl - rel), rel,
			    e == ELOOP || e == ENOTDIR ? "a symbolic link or not a directory; not "
			    "moving through it" : strerror(e));
			close(dfd);
			return -1;
		}
		close(dfd);
		dfd = nfd;
	}
	*name = comp;
	return dfd;
}

/* Copies across filesystems into a new file (O_EXCL: never over an existing file or through a
 * link at its name): data, fsync; then the caller unlinks the source. */
static int
store_copy_file(const char *src, int dfd, const char *name, const char *dst, char *err,
    size_t errlen)
{
	FILE *in = fopen(src, "rbe");
	if (in == NULL) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return -1;
	}
	int ofd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *out = ofd >= 0 ? fdopen(ofd, "wb") : NULL;
	if (out == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", dst, e == EEXIST ? "exists; not replacing it" :
		    strerror(e));
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
		unlinkat(dfd, name, 0);
	return rc;
}

/* Moves src to name in dfd, never replacing what is there (a file of the same name, or a
 * link): rename with RENAME_NOREPLACE, or a hard link and unlink where the filesystem lacks
 * it. 0, or -1 with errno (EXDEV: another filesystem). */
static int
store_move_noreplace(const char *src, int dfd, const char *name)
{
	if (renameat2(AT_FDCWD, src, dfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(AT_FDCWD, src, dfd, name, 0) < 0)
		return -1;
	if (unlink(src) < 0) {
		int e = errno;
		unlinkat(dfd, name, 0);
		errno = e;
		return -1;
	}
	return 0;
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
		size_t tl = strlen(m->to_dir);
		if (strncmp(m->dst[i], m->to_dir, tl) != 0 || m->dst[i][tl] != '/') {
			snprintf(job->errmsg, sizeof job->errmsg, "%s: not under %s", m->dst[i],
			    m->to_dir);
			break;
		}
		const char *name;
		int dfd = store_move_open_parent(m->to_dir, m->dst[i] + tl + 1, &name, job->errmsg,
		    sizeof job->errmsg);
		if (dfd < 0)
			break;
		resume_job_set_phase(job, "rename");
		if (store_move_noreplace(m->src[i], dfd, name) == 0) {
			moved[i] = true;
			close(dfd);
			continue;
		}
		if (errno != EXDEV) {
			snprintf(job->errmsg, sizeof job->errmsg, "%s: %s", errno == EEXIST ?
			    m->dst[i] : m->src[i], errno == EEXIST ? "exists; not replacing it" :
			    strerror(errno));
			close(dfd);
			break;
		}
		resume_job_set_phase(job, "copy and fsync (another filesystem)");
		int rc = store_copy_file(m->src[i], dfd, name, m->dst[i], job->errmsg,
		    sizeof job->errmsg);
		close(dfd);
		if (rc < 0)
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
	struct engine_policy_torrent v;
	if (it != NULL) {
		it->moving = false;
		store_mark(s, it);
	}
	if (it != NULL && engine_policy_torrent(s->e, it->id, 0, &v) == 0) {
		char msg[700];
		if (job->error != 0) {
			snprintf(msg, sizeof msg, "moving to %s: %s", m->to_dir, job->errmsg);
			engine_policy_set_error(s->e, it->id, msg);
		} else {
			if (engine_policy_relocate(s->e, it->id, m->to_dir, msg, sizeof msg) < 0) {
				engine_policy_set_error(s->e, it->id, msg);
			} else {
				/* found there, not moved: what is there is checked (at the start) */
				if (m->find)
					engine_torrent_recheck(s->e, it->id, NULL, 0);
				if (it->want_running && store_admit(s, it))
					engine_policy_start(s->e, it->id);
			}
			store_save(s, it);
			if (m->completed)
				store_run_hook(s, it->id, s->completion_hook, "completed");
		}
	}
	store_move_free(m);
	resume_job_free(job);
}

static void
store_move_begin(struct store *s, struct store_item *it)
{
	it->move_waiting = false;
	struct engine_policy_names nm;
	if (engine_policy_names(s->e, it->id, &nm) < 0)
		return;
	engine_policy_close_files(s->e, it->id);
	struct store_move *m = xcalloc(1, sizeof *m);
	m->from_dir = xstrdup(nm.save_dir);
	m->to_dir = xstrdup(it->move_to != NULL ? it->move_to : s->completed_dir);
	m->completed = it->move_to == NULL;
	m->find = it->move_find;
	size_t nsrc = 0, ndst = 0;
	char **src = m->find ? NULL : engine_policy_file_paths(s->e, it->id, NULL, &nsrc);
	char **dst = m->find ? NULL : engine_policy_file_paths(s->e, it->id, m->to_dir, &ndst);
	m->src = xcalloc(nsrc ? nsrc : 1, sizeof *m->src);
	m->dst = xcalloc(nsrc ? nsrc : 1, sizeof *m->dst);
	for (size_t i = 0; i < nsrc && i < ndst; i++) {
		if (src[i] == NULL || dst[i] == NULL)
			continue;   /* pad files */
		m->src[m->n] = src[i];
		m->dst[m->n] = dst[i];
		src[i] = dst[i] = NULL;
		m->n++;
	}
	engine_policy_paths_free(src, nsrc);
	engine_policy_paths_free(dst, ndst);
	if (m->find)
		log_info("%s: looking for the data in %s", nm.name, m->to_dir);
	else
		log_info("%s: moving the data from %s to %s", nm.name, m->from_dir, m->to_dir);
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->work = store_move_work;
	job->ctx = m;
	job->tag = it->id;
	job->done = store_move_done;
	job->arg = s;
	snprintf(job->label, sizeof job->label, "moving %.60s to %.55s", nm.name, m->to_dir);
	resume_writer_submit(s->mover, job);
}

/* A download finished: move it if configured (then the hook runs), else run the hook now. */
static void
store_completed(struct store *s, struct store_item *it)
{
	it->completed_pending = false;
	struct engine_policy_names nm;
	if (engine_policy_names(s->e, it->id, &nm) < 0)
		return;
	if (s->completed_dir != NULL && strcmp(s->completed_dir, nm.save_dir) != 0 &&
	    !it->moving) {
		it->moving = it->move_waiting = true;
		free(it->move_to);
		it->move_to = NULL;
		it->move_find = false;
		engine_policy_stop(s->e, it->id);
		char why[1100];
		snprintf(why, sizeof why, "moving to %s", s->completed_dir);
		engine_policy_set_queued(s->e, it->id, ENGINE_TASK_DISK_WAIT, false, why);
		struct engine_policy_torrent v;
		if (engine_policy_torrent(s->e, it->id, 0, &v) == 0 && v.disk_jobs == 0)
			store_move_begin(s, it);
		return;
	}
	store_save(s, it);
	store_run_hook(s, it->id, s->completion_hook, "completed");
}

/* torrent-set-location: as a finished download's move, to dir, without the completion hook;
 * without move, nothing moves and the data found in dir is checked. */
static int
store_set_location(void *arg, int id, const char *dir, bool move, char *err, size_t errlen)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	struct engine_policy_names nm;
	if (it == NULL || engine_policy_names(s->e, id, &nm) < 0)
		return dp_fail(err, errlen, "no torrent with id %d", id);
	if (it->moving || it->checking)
		return dp_fail(err, errlen, "%s: its data is being moved or checked; try again after",
		    nm.name);
	if (move && strcmp(dir, nm.save_dir) == 0)
		return 0;
	it->moving = it->move_waiting = true;
	free(it->move_to);
	it->move_to = xstrdup(dir);
	it->move_find = !move;
	engine_policy_stop(s->e, id);
	char why[1100];
	snprintf(why, sizeof why, "%s %s", move ? "moving to" : "looking for its data in", dir);
	engine_policy_set_queued(s->e, id, ENGINE_TASK_DISK_WAIT, false, why);
	struct engine_policy_torrent v;
	if (engine_policy_torrent(s->e, id, 0, &v) == 0 && v.disk_jobs == 0)
		store_move_begin(s, it);
	return 0;
}

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

/* The session's torrents: read and parsed on the writer thread (10,000 .torrent and resume
 * files), then added on the loop in slices of STORE_SLICE_US, so the RPC answers and signals
 * are served while they come in. */
struct store_load {
	struct store *s;
	struct store_entry *v;
	size_t n, next, loaded;
	bool reading;                 /* the read job is on the writer thread */
	struct event *ev;             /* the next slice of adds */
	uint64_t started_ms;
	char err[300];
};

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

static void
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

static int
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

/* ---- queueing and the periodic pass ---- */

static bool
store_item_active(const struct engine_policy_torrent *v)
{
	return v->active || v->state == ENGINE_TORRENT_CHECKING ||
	    v->state == ENGINE_TORRENT_METADATA;
}

/* Which slot an active torrent holds: a download's (downloading, fetching metadata) or a
 * seed's; a check holds none. */
static bool
store_item_class_download(const struct engine_policy_torrent *v)
{
	return v->state == ENGINE_TORRENT_DOWNLOADING || v->state == ENGINE_TORRENT_METADATA;
}

/* What the plan needs to know of one torrent; false: it takes no part (stopped by its user,
 * removed, in error). A stopped one the user wants running becomes queued on the way. */
static bool
store_queue_read(struct store *s, struct store_item *it, struct queue_entry *q,
    enum engine_torrent_state *state)
{
	struct engine_policy_torrent t;
	if (!it->want_running || it->removed ||
	    engine_policy_torrent(s->e, it->id, 0, &t) < 0 || t.removing ||
	    t.state == ENGINE_TORRENT_ERROR)
		return false;
	if (t.state == ENGINE_TORRENT_STOPPED && !store_item_active(&t)) {
		engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, NULL);
		t.state = ENGINE_TORRENT_QUEUED;
	}
	memset(q, 0, sizeof *q);
	q->id = it->id;
	/* An active torrent holds the slot of what it does; a queued one waits for the slot of
	 * what its data says (unknown: it is checked first, in no class). */
	q->active = t.active;
	q->download = t.active ? store_item_class_download(&t) : !t.complete;
	q->unchecked = !t.checked && !t.active;
	q->pinned = it->checking || it->moving || t.state == ENGINE_TORRENT_CHECKING;
	*state = t.state;
	return true;
}

/*
 * A queue pass runs in three steps, each in slices of STORE_SLICE_US with the loop polling in
 * between (10,000 torrents at a restart: reading them all, or starting them all, is far more
 * than one callback may take): read every wanted torrent in queue order (the ids are taken at
 * the start), plan (queue_plan, pure), act. An action is taken only if the torrent is still
 * as it was read (a user's stop or a removal meanwhile wins); a change meanwhile makes the next
 * pass follow this one.
 */
struct store_qpass {
	int *ids;                     /* queue order at the start of the pass */
	size_t n, next;               /* read up to next */
	struct queue_entry *v;        /* what was read, k of them */
	size_t k;
	bool planned;
	size_t act;                   /* acted up to here */
};

static void
store_qpass_free(struct store *s)
{
	struct store_qpass *q = s->qpass;
	if (q == NULL)
		return;
	free(q->ids);
	free(q->v);
	free(q);
	s->qpass = NULL;
}

/* The next slice of a pass: at once, but after the loop polled (a zero timeout, not
 * event_active, which runs it in the same iteration: a chain of slices was a 2-4 s stall). */
static void
store_queue_next_slice(struct store *s)
{
	struct timeval tv = { 0, 0 };
	s->queue_again = true;
	event_add(s->queue_ev, &tv);
}

static void
store_queue_act(struct store *s, const struct queue_entry *q)
{
	struct store_item *it = store_find(s, q->id);
	struct queue_entry now;
	enum engine_torrent_state state;
	struct engine_policy_names nm;
	if (it == NULL || !store_queue_read(s, it, &now, &state))
		return;
	if (q->action == QUEUE_START) {
		if (now.active || now.pinned)
			return;
		log_info("%s: leaving the queue", store_name(s, it->id, &nm));
		engine_policy_start(s->e, it->id);
		/* Refused (its slot was taken meanwhile): still waiting, so its class is not
		 * starved and a freed slot brings a full pass. */
		if (store_queue_read(s, it, &now, &state) && !now.active &&
		    state == ENGINE_TORRENT_QUEUED) {
			if (now.download)
				s->starved_down = false;
			else
				s->starved_seed = false;
		}
	} else if (q->action == QUEUE_PARK) {
		if (!now.active || now.pinned)
			return;
		log_info("%s: queued (over the limit of active %s)",
		    store_name(s, it->id, &nm), q->download ? "downloads" : "seeds");
		engine_policy_stop(s->e, it->id);
		engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, "queued");
	} else if (state == ENGINE_TORRENT_QUEUED) {
		char why[64];
		snprintf(why, sizeof why, "queued: position %d", store_position(s, it) + 1);
		engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, why);
	}
}

/* A torrent changed (its state, a command, a look): the next pass reads it. */
static void
store_qstale_add(struct store *s, struct store_item *it)
{
	if (it->on_qstale)
		return;
	if (s->nqstale == s->qstale_cap) {
		s->qstale_cap = s->qstale_cap ? s->qstale_cap * 2 : 64;
		s->qstale = xreallocarray(s->qstale, s->qstale_cap, sizeof *s->qstale);
	}
	s->qstale[s->nqstale++] = it->id;
	it->on_qstale = true;
}

static void
store_qstale_clear(struct store *s)
{
	for (size_t i = 0; i < s->nqstale; i++) {
		struct store_item *it = store_find(s, s->qstale[i]);
		if (it != NULL)
			it->on_qstale = false;
	}
	s->nqstale = 0;
}

/*
 * A pass between full ones: the torrents that changed are read (a stopped one its user wants
 * running becomes queued; a queued one gets its position), then the engine's counts per state
 * say whether a full pass could start or park anything. true: nothing to do. 10,000 idle seeds
 * and a change of one cost one read, not 10,000.
 */
static bool
store_queue_changed(struct store *s)
{
	struct queue_counts c = { .starved_down = s->starved_down,
	    .starved_seed = s->starved_seed };
	for (size_t i = 0; i < s->nqstale; i++) {
		struct store_item *it = store_find(s, s->qstale[i]);
		struct queue_entry q;
		enum engine_torrent_state state;
		if (it == NULL)
			continue;
		it->on_qstale = false;
		s->queue_reads++;
		if (!store_queue_read(s, it, &q, &state) || q.active || q.pinned)
			continue;
		if (q.unchecked)
			c.unchecked = true;
		else if (q.download)
			c.starved_down = false;
		else
			c.starved_seed = false;
		if (state == ENGINE_TORRENT_QUEUED) {
			char why[64];
			snprintf(why, sizeof why, "queued: position %d", store_position(s, it) + 1);
			engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, why);
		}
	}
	s->nqstale = 0;
	s->starved_down = c.starved_down;
	s->starved_seed = c.starved_seed;
	size_t counts[ENGINE_TORRENT_STATE_COUNT];
	engine_torrent_state_counts(s->e, counts);
	c.active_down = counts[ENGINE_TORRENT_DOWNLOADING] + counts[ENGINE_TORRENT_METADATA];
	c.active_seed = counts[ENGINE_TORRENT_SEEDING];
	c.queued = counts[ENGINE_TORRENT_QUEUED];
	return !queue_needs_plan(&c, s->max_down, s->max_seed);
}

static void
store_queue_pass(struct store *s)
{
	if (s->loading || s->load_pending || s->shutting_down)
		return;
	s->queue_again = false;
	struct store_qpass *q = s->qpass;
	if (q == NULL) {
		s->queue_dirty = false;
		s->queue_ms = dp_now_ms();
		if (!s->queue_full && store_queue_changed(s))
			return;       /* nothing a full pass could do */
		s->queue_full = false;
		store_qstale_clear(s);
		if (s->nitems == 0)
			return;
		q = s->qpass = xcalloc(1, sizeof *q);
		q->ids = xcalloc((size_t)s->nitems, sizeof *q->ids);
		for (struct store_item *it = s->items; it != NULL && q->n < (size_t)s->nitems;
		    it = it->next)
			q->ids[q->n++] = it->id;
		q->v = xcalloc(q->n, sizeof *q->v);
	}
	uint64_t start_us = dp_now_us();
	size_t done = 0;
	while (q->next < q->n) {
		if (done >= STORE_SLICE_MIN * 16 && dp_now_us() - start_us >= STORE_SLICE_US) {
			store_queue_next_slice(s);
			return;
		}
		struct store_item *it = store_find(s, q->ids[q->next++]);
		enum engine_torrent_state state;
		s->queue_reads++;
		if (it != NULL && store_queue_read(s, it, &q->v[q->k], &state))
			q->k++;
		done++;
	}
	if (!q->planned) {
		queue_plan(q->v, q->k, s->max_down, s->max_seed);
		queue_plan_starved(q->v, q->k, &s->starved_down, &s->starved_seed);
		q->planned = true;
	}
	/* Starting thousands (a restart, a limit lifted) is done a slice at a time. */
	size_t acted = 0;
	while (q->act < q->k) {
		const struct queue_entry *e = &q->v[q->act];
		if (e->action != QUEUE_KEEP && acted >= STORE_SLICE_MIN &&
		    dp_now_us() - start_us >= STORE_SLICE_US) {
			store_queue_next_slice(s);
			return;
		}
		if (e->action != QUEUE_KEEP)
			acted++;
		store_queue_act(s, e);
		q->act++;
	}
	store_qpass_free(s);
	if (s->queue_dirty)
		store_queue_schedule(s);
}

/* Something the plan depends on changed (an event, a command, a setting): a pass soon, at most
 * one per STORE_QUEUE_MIN_MS however many changes come (a pass reads every torrent). */
static void
store_queue_soon(struct store *s)
{
	s->queue_full = true;
	store_queue_schedule(s);
}

unsigned long long
session_store_queue_reads(const void *store)
{
	return ((const struct store *)store)->queue_reads;
}

/* it changed: the next pass reads it (and goes through every torrent only if it could act). */
static void
store_queue_item_soon(struct store *s, struct store_item *it)
{
	store_qstale_add(s, it);
	store_queue_schedule(s);
}

static void
store_queue_schedule(struct store *s)
{
	if (s->queue_ev == NULL || s->shutting_down)
		return;
	s->queue_dirty = true;
	if (s->qpass != NULL)
		return;       /* the pass under way is followed by another (store_queue_pass) */
	uint64_t since = dp_now_ms() - s->queue_ms;
	if (since >= STORE_QUEUE_MIN_MS) {
		struct timeval tv = { 0, 0 };
		event_add(s->queue_ev, &tv);
	} else if (!event_pending(s->queue_ev, EV_TIMEOUT, NULL)) {
		uint64_t wait = STORE_QUEUE_MIN_MS - since;
		struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
		event_add(s->queue_ev, &tv);
	}
}

static void
store_queue_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	(void)fd;
	(void)what;
	if (s->shutting_down || (!s->queue_again && !s->queue_dirty))
		return;
	engine_task_cb_begin(s->task);
	store_queue_pass(s);
	engine_task_cb_end(s->task);
}

static bool
store_admit(struct store *s, struct store_item *it)
{
	struct engine_policy_torrent t;
	if (engine_policy_torrent(s->e, it->id, 0, &t) < 0)
		return true;
	it->want_running = true;
	if (it->moving || it->checking)
		return false;
	if (s->loading || s->shutting_down) {
		if (!s->shutting_down)
			engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, NULL);
		return false;
	}
	/* Data not looked at yet: the check takes no slot, and the torrent asks again once it
	 * knows whether it downloads or seeds (a complete one never takes a download's slot). */
	if (!t.checked)
		return true;
	bool download = !t.complete;
	int max = download ? s->max_down : s->max_seed;
	if (max <= 0)
		return true;
	/* The engine keeps torrents per state: no walk over the others. */
	size_t counts[ENGINE_TORRENT_STATE_COUNT];
	engine_torrent_state_counts(s->e, counts);
	size_t active = download ? counts[ENGINE_TORRENT_DOWNLOADING] +
	    counts[ENGINE_TORRENT_METADATA] : counts[ENGINE_TORRENT_SEEDING];
	if (t.active && active > 0 && store_item_class_download(&t) == download)
		active--;      /* itself */
	if (active < (size_t)max)
		return true;
	if (t.state != ENGINE_TORRENT_QUEUED) {
		struct engine_policy_names nm;
		log_info("%s: queued (%zu active %s)", store_name(s, it->id, &nm), active,
		    download ? "downloads" : "seeds");
	}
	engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, "queued");
	return false;
}

/* A torrent is asked to run (engine_policy's admit): true = start it now. */
static bool
store_policy_admit(void *arg, int torrent_id)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, torrent_id);
	return it == NULL || store_admit(s, it);
}

/* Notices a start (from the tick, or sooner when someone asks for the start date). */
static void
store_note_active(struct store_item *it, bool active)
{
	if (active && !it->was_active)
		it->start_date = dp_wall_time();
	it->was_active = active;
}

static void
store_limit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_item *it = arg;
	(void)fd;
	(void)what;
	store_mark(it->s, it);
}

/* A seed with a seeding-time limit is looked at again when the limit falls due (a ratio limit
 * is reached only by uploading, which marks it changed). */
static void
store_limit_arm(struct store *s, struct store_item *it, bool seeding)
{
	int64_t limit = it->seed_time_s < 0 ? s->seed_time : it->seed_time_s;
	if (!seeding || limit <= 0) {
		if (it->limit_ev != NULL)
			event_del(it->limit_ev);
		return;
	}
	if (it->limit_ev == NULL) {
		it->s = s;
		it->limit_ev = evtimer_new(s->base, store_limit_cb, it);
		if (it->limit_ev == NULL)
			return;
	}
	int64_t left = limit - it->seeding_s;
	struct timeval tv = { (time_t)(left > 1 ? left : 1), 0 };
	event_add(it->limit_ev, &tv);
}

/* One look at a torrent that changed; true: look again on the next tick (a save held back by
 * the debounce or the tick's budget, a move or a check under way). */
static bool
store_tick_item(struct store *s, struct store_item *it, const struct engine_policy_torrent *t,
    uint64_t now)
{
	bool same = true;      /* *t (with its fingerprint) still describes the torrent */
	/* Whatever changed (its state, a class with new priorities, the end of a move or a
	 * check), the next queue pass reads it. */
	store_queue_item_soon(s, it);
	/* Seeding time and limits. */
	if (t->state == ENGINE_TORRENT_SEEDING) {
		if (it->seeding_since_ms != 0)
			it->seeding_s += (int64_t)((now - it->seeding_since_ms) / 1000);
		it->seeding_since_ms = now - (it->seeding_since_ms != 0 ?
		    (now - it->seeding_since_ms) % 1000 : 0);
		char why[160];
		struct engine_policy_torrent w;
		/* Most seeds have no limit at all: no look at their files then. */
		bool limited = (it->seed_ratio_milli < 0 ? s->seed_ratio > 0 :
		    it->seed_ratio_milli > 0) || (it->seed_time_s < 0 ? s->seed_time > 0 :
		    it->seed_time_s > 0);
		if (limited && engine_policy_torrent(s->e, it->id, ENGINE_POLICY_WANTED, &w) == 0 &&
		    queue_seed_limit_reached(it->seed_ratio_milli, it->seed_time_s, s->seed_ratio,
		    s->seed_time, t->uploaded, t->downloaded, w.wanted, it->seeding_s, why,
		    sizeof why)) {
			struct engine_policy_names nm;
			log_info("%s: stopped seeding: %s", store_name(s, it->id, &nm), why);
			it->want_running = false;
			engine_torrent_stop(s->e, it->id, NULL, 0);
			same = false;
		}
		store_limit_arm(s, it, same);
	} else {
		/* Looked at within a tick of the change: the stretch up to now counts. */
		it->seeding_s = store_seconds(it->seeding_s, it->seeding_since_ms, now);
		it->seeding_since_ms = 0;
		store_limit_arm(s, it, false);
	}
	if (t->state == ENGINE_TORRENT_DOWNLOADING) {
		if (it->downloading_since_ms != 0)
			it->downloading_s += (int64_t)((now - it->downloading_since_ms) / 1000);
		it->downloading_since_ms = now - (it->downloading_since_ms != 0 ?
		    (now - it->downloading_since_ms) % 1000 : 0);
	} else {
		it->downloading_s = store_seconds(it->downloading_s, it->downloading_since_ms, now);
		it->downloading_since_ms = 0;
	}
	store_note_active(it, t->active);
	if (it->completed_pending && !it->moving) {
		store_completed(s, it);
		same = false;
	}
	struct engine_policy_torrent cur;
	if (it->move_waiting && engine_policy_torrent(s->e, it->id, 0, &cur) == 0 &&
	    cur.disk_jobs == 0) {
		store_move_begin(s, it);
		same = false;
	}
	if (it->error_pending) {
		it->error_pending = false;
		if (engine_policy_torrent(s->e, it->id, 0, &cur) == 0 &&
		    cur.state == ENGINE_TORRENT_ERROR)
			store_run_hook(s, it->id, s->error_hook, "error");
	}
	if (same)
		cur = *t;
	if (it->checking || it->moving || (!same && engine_policy_torrent(s->e, it->id,
	    ENGINE_POLICY_FP, &cur) < 0))
		return true;
	if (cur.state == ENGINE_TORRENT_CHECKING || it->move_waiting ||
	    (it->completed_pending && it->moving))
		return true;
	uint64_t fp = store_fingerprint(it, cur.persist_fp, store_position(s, it));
	if (fp == it->saved_fp)
		return false;
	if (now - it->last_save_ms < STORE_DEBOUNCE_MS)
		return true;
	/* 10,000 torrents just added all want their first save: a slice at a time, the rest on
	 * the next ones (they stay marked); and no faster than the writer writes them (a queue of
	 * thousands would be written twice at a shutdown: by the writer and by the flush). */
	if (dp_now_us() >= s->save_deadline_us) {
		s->saves_cut = true;
		return true;
	}
	if (resume_writer_pending(s->writer) >= STORE_WRITER_BACKLOG) {
		s->saves_cut = s->backlog_cut = true;
		return true;
	}
	store_save(s, it);
	return false;
}

/* The periodic pass: counters and seeding time of every torrent that moved data since its
 * last save, once per STORE_PERIODIC_MS, a slice per tick (the ids are taken at its start). */
static void
store_sweep(struct store *s, uint64_t now)
{
	if (s->sweep_ids == NULL && now - s->last_periodic_ms >= STORE_PERIODIC_MS) {
		s->last_periodic_ms = now;
		store_save_stats(s, false);
		s->sweep_ids = xcalloc(s->nitems > 0 ? (size_t)s->nitems : 1, sizeof *s->sweep_ids);
		s->sweep_n = s->sweep_next = 0;
		for (struct store_item *it = s->items; it != NULL; it = it->next)
			s->sweep_ids[s->sweep_n++] = it->id;
	}
	while (s->sweep_ids != NULL && s->sweep_next < s->sweep_n) {
		if (dp_now_us() >= s->save_deadline_us)
			return;
		if (resume_writer_pending(s->writer) >= STORE_WRITER_BACKLOG) {
			s->backlog_cut = true;
			return;
		}
		struct store_item *it = store_find(s, s->sweep_ids[s->sweep_next++]);
		struct engine_policy_torrent t;
		if (it == NULL || it->removed || it->checking || it->moving ||
		    engine_policy_torrent(s->e, it->id, 0, &t) < 0 ||
		    t.state == ENGINE_TORRENT_CHECKING)
			continue;
		if (t.uploaded != it->saved_up || t.downloaded != it->saved_down)
			store_save(s, it);
	}
	free(s->sweep_ids);
	s->sweep_ids = NULL;
}

/* Looks at the torrents that changed: a slice of STORE_SLICE_US at most; what is left (10,000
 * torrents just added all want their first save) follows in the next slice, 10 ms later. */
static void
store_look(struct store *s)
{
	uint64_t now = dp_now_ms();
	/* What changed since the last tick, as the engine stamps it (state, transfer, peers, any
	 * command): only those are read; 10,000 idle seeds cost nothing here. */
	int *ids = NULL, *gone = NULL;
	size_t ngone = 0;
	unsigned window = (unsigned)((now - s->changes_ms) / 1000) + 2;
	size_t n = engine_torrents_changed(s->e, window, &ids, &gone, &ngone);
	s->changes_ms = now;
	for (size_t i = 0; i < n; i++) {
		struct store_item *it = store_find(s, ids[i]);
		if (it != NULL)
			store_mark(s, it);
	}
	free(ids);
	free(gone);
	s->save_deadline_us = dp_now_us() + STORE_SLICE_US;
	s->saves_cut = s->backlog_cut = false;
	/* Each one marked now once, oldest first; one to look at again goes to the end. */
	size_t todo = s->ndirty;
	while (todo-- > 0 && s->dirty != NULL && !s->saves_cut) {
		struct store_item *it = s->dirty;
		struct engine_policy_torrent t;
		bool again = !it->removed &&
		    engine_policy_torrent(s->e, it->id, ENGINE_POLICY_FP, &t) == 0 &&
		    store_tick_item(s, it, &t, now);
		store_unmark(s, it);
		if (again)
			store_mark(s, it);
		if (dp_now_us() >= s->save_deadline_us)
			s->saves_cut = true;
	}
	store_sweep(s, now);
	if (s->saves_cut || (s->sweep_ids != NULL && s->sweep_next < s->sweep_n)) {
		/* the clock: the next slice soon; the writer: when it may have caught up */
		struct timeval tv = { 0, s->backlog_cut ? 100000 : 10000 };
		event_add(s->more_ev, &tv);
	}
}

static void
store_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	(void)fd;
	(void)what;
	if (s->shutting_down)
		return;
	engine_task_cb_begin(s->task);
	store_look(s);
	engine_task_idle(s->task, ENGINE_TASK_TIMER_WAIT, "session %s: %zu resume writes pending, "
	    "%zu torrents to look at", s->dir, resume_writer_pending(s->writer), s->ndirty);
	engine_task_cb_end(s->task);
}

/* ---- events ---- */

static void
store_on_event(void *arg, int torrent_id, enum engine_event ev)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, torrent_id);
	struct engine_policy_torrent t;
	struct engine_policy_names nm;
	switch (ev) {
	case ENGINE_EVENT_ADDED:
		if (it != NULL || engine_policy_torrent(s->e, torrent_id, 0, &t) < 0 ||
		    engine_policy_names(s->e, torrent_id, &nm) < 0)
			break;
		it = xcalloc(1, sizeof *it);
		it->id = torrent_id;
		memcpy(it->hex, nm.info_hash_hex, sizeof it->hex);
		it->seed_ratio_milli = -1;
		it->seed_time_s = -1;
		store_append_item(s, it);
		dp_idmap_put(&s->by_id, (uint64_t)it->id, it);
		if (s->loading)
			break;
		/* A magnet has no info dictionary to save until ut_metadata brings it: its
		 * link is kept meanwhile. */
		if (t.has_info) {
			store_save_metainfo(s, it, false);
		} else {
			char *uri = engine_policy_magnet_uri(s->e, torrent_id);
			if (uri != NULL)
				store_save_magnet(s, it, uri);
			free(uri);
		}
		break;
	case ENGINE_EVENT_METADATA:
		if (it != NULL && engine_policy_torrent(s->e, torrent_id, 0, &t) == 0 &&
		    t.has_info) {
			store_save_metainfo(s, it, true);
			/* The resume file too, so the two agree on pieces and files. */
			store_save(s, it);
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
			store_forget_item(s, it);
		}
		break;
	default:
		break;
	}
	if (it != NULL && ev != ENGINE_EVENT_REMOVED) {
		store_mark(s, it);
		store_queue_item_soon(s, it);
	} else {
		store_queue_soon(s);      /* a removal moves the positions of those behind */
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
	if (s->shutting_down) {
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
	s->watch = watch_new(s->e, s->base, dir, store_watch_cb, s);
}

/* ---- settings ---- */

static void
store_set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL && src[0] != '\0' ? xstrdup(src) : NULL;
}

/* The live settings the session directory follows (queue and seeding limits, hooks, dirs). */
static void
store_apply_settings(struct store *s)
{
	struct dp_config live;
	const struct dp_config *cfg = &live;
	engine_config_get(s->e, &live);
	struct engine_queue_limits q;
	engine_policy_queue_limits(s->e, &q);
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
	store_set_str(&s->watch_dir, cfg->watch_dir);
	config_free(&live);
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

static void
store_stats_done(struct resume_job *job, void *arg)
{
	(void)arg;
	if (job->error != 0)
		log_error("session: saving the cumulative statistics: %s", job->errmsg);
	resume_job_free(job);
}

/* The totals of every run so far, this one included (engine_global's cumulative figures):
 * at open (the run counts even if it crashes), with the periodic pass and at shutdown. */
static void
store_save_stats(struct store *s, bool now)
{
	struct engine_global_stats g;
	engine_global(s->e, &g);
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = xstrdup(s->stats_path);
	job->raw = (uint8_t *)session_stats_format(&g.cumulative, &job->raw_len);
	job->done = store_stats_done;
	snprintf(job->label, sizeof job->label, "writing %s", s->stats_path);
	if (!now) {
		resume_writer_submit(s->writer, job);
		return;
	}
	char err[600];
	if (resume_write_file(job->path, job->raw, job->raw_len, err, sizeof err) < 0)
		log_error("session: saving the cumulative statistics: %s", err);
	resume_job_free(job);
}

/* Earlier runs' totals: a damaged file (and backup) costs the history, not the start. */
static void
store_load_stats(struct store *s)
{
	struct engine_totals before;
	char err[700];
	if (session_stats_load(s->stats_path, &before, err, sizeof err) < 0) {
		log_error("session: cumulative statistics start again from zero: %s", err);
		memset(&before, 0, sizeof before);
	}
	engine_policy_set_totals(s->e, &before);
}

/* Written atomically on the writer thread; jobs run in order, so the last one wins. */
static void
store_save_settings(struct store *s)
{
	s->settings_dirty = false;
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = xstrdup(s->settings_path);
	job->raw = (uint8_t *)settings_format(engine_policy_kept_settings(s->e), &job->raw_len);
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
		if (engine_policy_keep_setting(s->e, kept.keys[i], kept.values[i], bad,
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
	/* While it opens, it reads the settings once they are all in (and settings.conf is what
	 * it is reading). */
	if (s->loading)
		return;
	double ratio = s->seed_ratio;
	int64_t seed_time = s->seed_time;
	store_apply_settings(s);
	if (!s->shutting_down && !s->load_pending)
		store_set_watch(s, s->watch_dir);
	if (save) {
		/* One write for the changes of one loop iteration. */
		s->settings_dirty = true;
		event_active(s->settings_ev, EV_TIMEOUT, 0);
	}
	/* New global seeding limits: every torrent is looked at once (a user's change, rare). */
	if (ratio != s->seed_ratio || seed_time != s->seed_time)
		for (struct store_item *it = s->items; it != NULL; it = it->next)
			store_mark(s, it);
	store_queue_soon(s);
}

/* ---- life cycle ---- */

static void
store_shutdown_begin(void *arg)
{
	struct store *s = arg;
	if (s->shutting_down)
		return;
	s->shutting_down = true;
	/* Torrents not added yet stay on disk for the next start (a read still running ends in
	 * its done callback). */
	if (s->load != NULL && !s->load->reading)
		store_load_end(s, false);
	/* From now on the writer's queue goes without fsyncs of its own: store_flush ends with
	 * one sync of the filesystem. */
	resume_writer_batch(s->writer);
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
	if (s->queue_ev != NULL)
		event_del(s->queue_ev);
	if (s->more_ev != NULL)
		event_del(s->more_ev);
	watch_free(s->watch);
	s->watch = NULL;
}

/* The last saves at exit, shared by the flush's threads. */
struct store_flush_run {
	struct resume_job **jobs;
	size_t n;
	size_t next;                  /* taken with an atomic add */
};

static void *
store_flush_thread(void *arg)
{
	struct store_flush_run *run = arg;
	for (;;) {
		size_t i = __atomic_fetch_add(&run->next, 1, __ATOMIC_RELAXED);
		if (i >= run->n)
			return NULL;
		resume_job_run(run->jobs[i]);
	}
}

static void
store_flush(void *arg)
{
	struct store *s = arg;
	if (s->settings_dirty)
		store_save_settings(s);
	/* What is still queued and the last saves below are written without fsyncs of their
	 * own; one sync of the filesystem at the end makes them all durable (10,000 torrents:
	 * one sync instead of 20,000 fsyncs). */
	resume_writer_batch(s->writer);
	resume_writer_drain(s->writer);
	resume_writer_drain(s->mover);
	/* The views are taken here, on the loop; the files are written by a few threads at once
	 * (replacing 10,000 files is metadata work the filesystem does in parallel). */
	struct store_flush_run run = { .jobs = xcalloc((size_t)s->nitems + 1, sizeof *run.jobs) };
	size_t cut = 0, unchecked = 0;
	for (struct store_item *it = s->items; it != NULL; it = it->next) {
		struct engine_policy_torrent t;
		if (it->removed || engine_policy_torrent(s->e, it->id, 0, &t) < 0)
			continue;
		/* A check still running at exit: its pieces are claimed by the previous file (none
		 * when it is the first check: the next start checks again). */
		if (it->checking || t.state == ENGINE_TORRENT_CHECKING) {
			cut++;
			continue;
		}
		uint32_t have;
		struct resume_job *job = store_make_job(s, it, &have);
		if (job == NULL)
			continue;
		if (job->resume.unchecked && t.has_info)
			unchecked++;
		/* Pieces claimed since the last synced save: their data first (the rest was made
		 * durable before an earlier file said so). */
		job->sync = have != it->synced_have;
		job->batch = true;
		if (run.n < (size_t)s->nitems + 1)
			run.jobs[run.n++] = job;
		else
			resume_job_free(job);
	}
	pthread_t th[STORE_FLUSH_THREADS];
	int started = 0;
	if (run.n > 64)
		for (; started < STORE_FLUSH_THREADS; started++)
			if (pthread_create(&th[started], NULL, store_flush_thread, &run) != 0)
				break;
	store_flush_thread(&run);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	size_t n = 0;
	for (size_t i = 0; i < run.n; i++) {
		if (run.jobs[i]->error != 0)
			log_error("session: saving resume data: %s", run.jobs[i]->errmsg);
		else
			n++;
		resume_job_free(run.jobs[i]);
	}
	free(run.jobs);
	char err[600];
	if (dp_sync_fs(s->dir, err, sizeof err) < 0)
		log_error("session: %s", err);
	store_save_stats(s, true);
	log_info("session: resume data of %zu torrent%s saved", n, n == 1 ? "" : "s");
	if (cut > 0 || unchecked > 0)
		log_info("session: %zu torrent%s not checked yet and %zu check%s cut short: their "
		    "data is checked at the next start (a recheck's previous pieces stand)",
		    unchecked, unchecked == 1 ? "" : "s", cut, cut == 1 ? "" : "s");
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
	if (s->queue_ev != NULL)
		event_free(s->queue_ev);
	if (s->more_ev != NULL)
		event_free(s->more_ev);
	if (s->settings_ev != NULL)
		event_free(s->settings_ev);
	engine_task_done(s->task, "closed");
	engine_task_release(&s->task);
	store_qpass_free(s);
	free(s->qstale);
	free(s->sweep_ids);
	while (s->items != NULL) {
		struct store_item *it = s->items;
		s->items = it->next;
		store_item_free(it);
	}
	dp_idmap_free(&s->by_id);
	free(s->settings_path);
	free(s->stats_path);
	free(s->watch_dir);
	free(s->completed_dir);
	free(s->completion_hook);
	free(s->error_hook);
	free(s->dir);
	free(s->tdir);
	free(s->rdir);
	free(s);
}

/* ---- what only the policy keeps: queue order, seeding limits, times ---- */

static int
store_queue_move(void *arg, int id, enum engine_queue_where where, char *err, size_t errlen)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	if (it == NULL || it->removed) {
		snprintf(err, errlen, "no torrent with id %d", id);
		return -1;
	}
	/* Neighbours by link: O(1) whatever the queue's length. */
	struct store_item *before = NULL;
	switch (where) {
	case ENGINE_QUEUE_TOP: before = s->items; break;
	case ENGINE_QUEUE_UP: before = it->prev != NULL ? it->prev : it; break;
	case ENGINE_QUEUE_DOWN: before = it->next != NULL ? it->next->next : NULL; break;
	case ENGINE_QUEUE_BOTTOM: before = NULL; break;
	}
	if (before == it || (where == ENGINE_QUEUE_DOWN && it->next == NULL))
		return 0;
	store_unlink_item(s, it);
	store_insert_item(s, it, before);
	s->pos_dirty = true;
	store_queue_soon(s);
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
	store_mark(arg, it);      /* the new limit may be reached already */
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
	struct engine_policy_torrent t;
	if (it == NULL || engine_policy_torrent(s->e, id, 0, &t) < 0)
		return;
	store_note_active(it, t.active);
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
	.set_location = store_set_location,
};

/* ---- session_store.h ---- */

int
session_store_open(struct engine *e, const char *dir, const struct dp_config *cfg, char *err,
    size_t errlen)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->e = e;
	s->base = engine_policy_base(e);
	s->dir = xstrdup(dir);
	s->tdir = xasprintf("%s/torrents", dir);
	s->rdir = xasprintf("%s/resume", dir);
	s->settings_path = xasprintf("%s/%s", dir, SETTINGS_FILE_NAME);
	s->stats_path = xasprintf("%s/%s", dir, SESSION_STATS_FILE_NAME);
	s->hooks = hooks_new(e, s->base);
	s->task = engine_task_new(e, ENGINE_TASK_KIND_SESSION, 0, "session %s", dir);
	/* Registered first: the torrents it adds go through its admit and events. It stays out
	 * of the way until it has loaded (settings changes while it reads settings.conf). */
	s->loading = true;
	if (engine_set_policy(e, &store_policy, s) < 0) {
		snprintf(err, errlen, "a session directory is already open");
		s->loading = false;
		goto fail;
	}
	if (cfg != NULL)
		engine_apply_config(e, cfg);
	if (store_mkdir(dir, err, errlen) < 0 || store_mkdir(s->tdir, err, errlen) < 0 ||
	    store_mkdir(s->rdir, err, errlen) < 0)
		goto unregister;
	if ((s->writer = resume_writer_new(e, s->base, err, errlen)) == NULL ||
	    (s->mover = resume_writer_new(e, s->base, err, errlen)) == NULL)
		goto unregister;
	s->timer = event_new(s->base, -1, EV_PERSIST, store_timer_cb, s);
	s->settings_ev = event_new(s->base, -1, 0, store_settings_cb, s);
	s->queue_ev = event_new(s->base, -1, 0, store_queue_cb, s);
	s->more_ev = event_new(s->base, -1, 0, store_timer_cb, s);   /* a look's next slice */
	if (s->timer == NULL || s->settings_ev == NULL || s->queue_ev == NULL ||
	    s->more_ev == NULL) {
		snprintf(err, errlen, "can't create the session timer");
		goto unregister;
	}
	if (store_load_settings(s, err, errlen) < 0)
		goto unregister;
	store_apply_settings(s);
	store_load_stats(s);
	store_save_stats(s, false);
	if (store_load_begin(s, err, errlen) < 0)
		goto unregister;
	s->loading = false;       /* from now on only inside a slice of adds */
	s->last_periodic_ms = dp_now_ms();
	struct timeval tv = { STORE_TICK_MS / 1000, (STORE_TICK_MS % 1000) * 1000 };
	event_add(s->timer, &tv);
	/* The queue's first pass and the watch directory follow the load (store_load_end). */
	/* The engine keeps its own state there too (the DHT's node table), for the next start. */
	engine_policy_session_dir(e, dir);
	return 0;
unregister:
	engine_set_policy(e, NULL, NULL);
fail:
	store_free(s);
	return -1;
}
