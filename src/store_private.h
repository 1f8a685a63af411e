/* store_private.h: what the session store's files (session_store.c, store_*.c) share: the store
 * and its items, its tunables, and the functions one of them calls in another. Only they
 * include it; everyone else uses session_store.h. */
#ifndef DP_STORE_INTERNAL
#error "store_private.h is internal to the session store: others include session_store.h (see Makefile.am)"
#endif
#ifndef DP_STORE_PRIVATE_H
#define DP_STORE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "engine.h"
#include "engine_policy.h"
#include "idmap.h"

struct event;
struct event_base;
struct hooks;
struct resume_writer;
struct watch;

#define STORE_TICK_MS 1000
#define STORE_DEBOUNCE_MS 2000        /* at most one save per torrent in this time */
#define STORE_PERIODIC_MS 300000      /* counters and seeding time, even without changes */
#define STORE_HOOK_WAIT_MS 1000       /* at exit, for hooks still running */
#define STORE_SLICE_US 8000u          /* queue starts per callback: at most this long ... */
#define STORE_SLICE_MIN 8u            /* ... and at least this many */
#define STORE_FLUSH_THREADS 3         /* with the writer's own: the last saves at exit */
#define STORE_WRITER_BACKLOG 64      /* saves handed on while the writer has fewer queued */
#define STORE_QUEUE_MIN_MS 250        /* queue passes at most this often (a burst: one pass) */
#define STORE_RESYNC_BATCH 256        /* saves syncing an exit's unsynced pieces: per pass ... */
#define STORE_RESYNC_EVERY_MS 4000    /* ... and a pass at most this often */

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
	/* The pieces of the last save written with its sync (their data made durable first):
	 * have.count and the engine's have_lost then. A save claiming anything else syncs; one
	 * that failed, or that the exit wrote unsynced, records nothing (its successor syncs).
	 * synced_have UINT32_MAX: the last exit's file claims them unsynced (store_resync.c). */
	uint32_t synced_have, synced_lost;
	uint32_t saving_have, saving_lost;   /* what the save under way claims */
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
	bool resync_waiting;          /* its resume file keeps the last exit's unsynced mark until
	                               * a save of it is written (counted in s->resync_waiting) */
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
	struct store_flush_run *flush;    /* the last saves at exit, under way */
	/* Torrents whose resume file the last exit wrote unsynced (store_resync.c): ids, saved
	 * from resync_next on, a pass per tick */
	int *resync;
	size_t nresync, resync_next, resync_cap;
	uint64_t resync_ms;               /* the last pass began */
	unsigned resync_left;             /* saves left to the pass under way (0: none is) */
	unsigned resync_in_pass;          /* ... and made in it so far */
	unsigned resync_passes, resync_most;   /* passes begun, the most saves one made */
	unsigned resync_saved;            /* saves made (for the log line at the end) */
	uint64_t resync_first_ms;         /* the first pass began */
	size_t resync_waiting;            /* torrents whose resync save is not written yet */
};

/* The session's torrents: read and parsed on the store's two writer threads in batches (10,000 .torrent and
 * resume files), each added on the loop in slices of STORE_SLICE_US while the reader reads the
 * next, so the RPC answers and signals are served while they come in; the queue order the resume
 * files saved is put back once all are in. */
struct store_load {
	struct store *s;
	char **names;                 /* the session files, sorted: the reader's (first batch) */
	size_t nnames, nread;         /* nread: handed to the reader so far */
	struct store_entry *v;        /* read, waiting to be added: v[next, n) */
	size_t n, next, cap, loaded;
	struct store_load_pos *pos;   /* the ones added, with their saved queue positions */
	size_t npos, pos_cap;
	bool reading;                 /* a read job is on a writer thread (nreading of them) */
	unsigned nreading;
	bool writer_busy;             /* one of them on s->writer (the other: s->mover) */
	bool listed;                  /* the first batch listed the directory */
	bool read_all;                /* every batch handed to a reader */
	bool ordered;                 /* all in, the saved queue order put back */
	struct event *ev;             /* the next slice of adds */
	uint64_t started_ms;
	/* The ids kept for them (engine_policy_reserve_ids): id_base + saved position + 1, each
	 * asked for once (id_asked: a bit per position). */
	int id_base, id_count;
	uint8_t *id_asked;
	char err[300];
};

/* session_store.c: the items (queue order, the tick's list), paths and fingerprints */
struct store_item *store_find(struct store *s, int id);
/* Out of the queue order (still found by id), and into it before `before` (NULL: last). */
void store_unlink_item(struct store *s, struct store_item *it);
void store_insert_item(struct store *s, struct store_item *it, struct store_item *before);
/* A torrent's name for labels and logs (a magnet without metadata: its info-hash). */
const char *store_name(struct store *s, int id, struct engine_policy_names *n);
/* The next tick looks at it (O(1); once however often it is marked). */
void store_mark(struct store *s, struct store_item *it);
void store_unmark(struct store *s, struct store_item *it);
/* A removed torrent's item leaves for good. */
void store_forget_item(struct store *s, struct store_item *it);
char *store_resume_path(struct store *s, const char *hex);
char *store_torrent_path(struct store *s, const char *hex);
char *store_magnet_path(struct store *s, const char *hex);
/* What a resume file would say, minus counters: a change means "save soon". */
uint64_t store_fingerprint(const struct store_item *it, uint64_t engine_fp, int pos);
/* Seconds counted so far plus those of the current stretch (since_ms 0: none running). */
int64_t store_seconds(int64_t counted, uint64_t since_ms, uint64_t now);
/* Its queue position (renumbered on first use after a removal or a move). */
int store_position(struct store *s, const struct store_item *want);

/* store_save.c: the writer thread's saves, and the last ones at exit */
void store_forget_files(struct store *s, const char *hex);
void store_save_metainfo(struct store *s, const struct store_item *it, bool with_magnet);
void store_save_magnet(struct store *s, const struct store_item *it, const char *uri);
void store_save(struct store *s, struct store_item *it);
/* The last saves at exit in slices, then done(done_arg) on the loop (maybe before it returns). */
void store_flush(void *arg, void (*done)(void *arg), void *done_arg);
void store_flush_finish_now(struct store *s);

/* store_move.c: finished data and the hooks */
void store_run_hook(struct store *s, int id, const char *cmd, const char *event);
void store_move_begin(struct store *s, struct store_item *it);
void store_completed(struct store *s, struct store_item *it);
int store_set_location(void *arg, int id, const char *dir, bool move, char *err,
    size_t errlen);

/* store_load.c: the session's torrents at start */
int store_load_begin(struct store *s, char *err, size_t errlen);
/* finished: all added (the queue's first pass and the watch directory follow); false: cut */
void store_load_end(struct store *s, bool finished);

/* store_resync.c: the synced saves of what the last exit left unsynced, spread out */
void store_resync_add(struct store *s, struct store_item *it);
void store_resync_pass(struct store *s, uint64_t now_ms);
void store_resync_written(struct store *s, struct store_item *it);

/* store_queue.c: queue passes, admitting starts, seeding limits, the periodic look */
void store_qpass_free(struct store *s);
void store_queue_pass(struct store *s);
void store_queue_soon(struct store *s);
void store_queue_item_soon(struct store *s, struct store_item *it);
void store_queue_cb(evutil_socket_t fd, short what, void *arg);
bool store_admit(struct store *s, struct store_item *it);
bool store_policy_admit(void *arg, int torrent_id);
void store_note_active(struct store_item *it, bool active);
void store_timer_cb(evutil_socket_t fd, short what, void *arg);
void store_task_reason(struct store *s);

/* store_watch.c */
void store_set_watch(struct store *s, const char *dir);

/* store_settings.c: live settings, settings.conf, the cumulative statistics */
void store_apply_settings(struct store *s);
int store_load_settings(struct store *s, char *err, size_t errlen);
void store_settings_cb(evutil_socket_t fd, short what, void *arg);
void store_settings_changed(void *arg, bool save);
void store_save_settings(struct store *s);
void store_save_stats(struct store *s, bool now);
void store_load_stats(struct store *s);

#endif
