/* engine.h: the engine's public API, the only engine header the UI, the RPC, the monitor and the
 * command-line tools include: commands (add, start, stop, remove, limits, ...), immutable
 * snapshots the caller owns, blocking work run on the pool, and front ends' own tasks.
 * Self-contained: every type a caller sees is declared here or in the shared layer (log.h,
 * util.h, task_states.h); no engine-internal header comes through it. */
#ifndef DP_ENGINE_H
#define DP_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "engine_types.h"
#include "task_states.h"
#include "util.h"

struct event_base;
struct dp_config;
struct engine;

/*
 * Life cycle. The engine runs on the caller's event_base (the UI shares the loop); call
 * evthread_use_pthreads() before creating the base. Settings are copied from cfg (NULL = the
 * built-in defaults). Returns NULL with a reason in err (e.g. the port can't be bound).
 * SIGPIPE is set to ignored if it still has its default action (peers close sockets under us).
 */
struct engine *engine_new(struct event_base *base, const struct dp_config *cfg, char *err,
    size_t errlen);
/*
 * Clean stop in the background: torrents stop, trackers get `stopped` (deadline_ms at most),
 * disk jobs finish and files are synced; then done(arg) runs on the loop. Idempotent.
 */
void engine_shutdown(struct engine *e, unsigned deadline_ms, void (*done)(void *arg), void *arg);
/* Frees everything. If engine_shutdown() has not completed it runs the loop itself (a ~3 s
 * deadline) to finish it, so call it from outside the loop's callbacks. */
void engine_free(struct engine *e);

/* One callback (NULL clears); runs on the loop, never re-entrantly from inside a command. */
void engine_set_event_cb(struct engine *e,
    void (*cb)(struct engine *e, int torrent_id, enum engine_event ev, void *arg), void *arg);

/* ---- commands: 0 on success, -1 with a one-line reason in err (err may be NULL) ---- */


/* Adds from a .torrent file, its bytes, or a magnet link. *id_out gets the torrent id (> 0).
 * Adding a torrent already present fails with "already added" and sets *id_out to it; when
 * that one is a magnet still fetching its metadata, a .torrent's info dictionary (same
 * info-hash) is given to it first, as if peers had sent it (err says whether it was used). */
int engine_add_torrent_file(struct engine *e, const char *path, const struct engine_add_opts *opts,
    int *id_out, char *err, size_t errlen);
int engine_add_torrent_data(struct engine *e, const uint8_t *buf, size_t len,
    const struct engine_add_opts *opts, int *id_out, char *err, size_t errlen);
int engine_add_magnet(struct engine *e, const char *uri, const struct engine_add_opts *opts,
    int *id_out, char *err, size_t errlen);

int engine_torrent_start(struct engine *e, int id, char *err, size_t errlen);
int engine_torrent_stop(struct engine *e, int id, char *err, size_t errlen);
/* Removes the torrent; with delete_data its files are deleted once its disk jobs are done. */
int engine_torrent_remove(struct engine *e, int id, bool delete_data, char *err, size_t errlen);
int engine_torrent_recheck(struct engine *e, int id, char *err, size_t errlen);
int engine_torrent_reannounce(struct engine *e, int id, char *err, size_t errlen);

int engine_torrent_set_file_priority(struct engine *e, int id, size_t file, enum engine_prio prio,
    char *err, size_t errlen);
/* Transmission keeps wanted and priority apart: a skipped file keeps its level (low, normal,
 * high) for when it is wanted again, and its level can change while it is skipped. Setting a
 * priority other than skip above sets the level and wants the file. */
int engine_torrent_set_file_wanted(struct engine *e, int id, size_t file, bool wanted,
    char *err, size_t errlen);
int engine_torrent_set_file_level(struct engine *e, int id, size_t file, enum engine_prio level,
    char *err, size_t errlen);
int engine_torrent_set_sequential(struct engine *e, int id, bool on, char *err, size_t errlen);
/* The torrent's labels (ENGINE_LABELS_MAX: joined by ',', "" = none); kept in the session
 * directory with the torrent. Refused with err when one is empty or has a control character,
 * or they are too long. */
int engine_torrent_set_labels(struct engine *e, int id, const char *labels, char *err,
    size_t errlen);
/* Transmission's idle seeding limit: mode (enum engine_idle_mode; < 0 keeps it) and the torrent's
 * own limit in minutes, 0..ENGINE_IDLE_LIMIT_MAX (< 0 keeps it), which mode SINGLE applies; kept in
 * the session directory. A seed that moves no data for that long stops as a user's stop would. */
int engine_torrent_set_seed_idle(struct engine *e, int id, int mode, int limit_min, char *err,
    size_t errlen);
/*
 * torrent-rename-path (Transmission's): the file or folder at path (as torrent-get's file names
 * have it: the torrent's name, or NAME/folder/file) takes the name `name` (one component: not
 * empty, '.', '..', with no '/' or control character, not a name the torrent has beside it),
 * in the torrent (kept in the session directory) and on disk (nothing there yet is fine). A
 * running torrent stops while its disk jobs finish and the rename runs on the disk pool, and
 * runs again after. -1 with err when refused at once; else done(arg, NULL or why it failed)
 * follows on the loop.
 */
int engine_torrent_rename_path(struct engine *e, int id, const char *path, const char *name,
    void (*done)(void *arg, const char *err), void *arg, char *err, size_t errlen);
/* The torrent's trackers in Transmission's trackerList form: one announce URL a line, tiers
 * apart by an empty line ("" = none). *out is the caller's to free. */
int engine_torrent_tracker_list(struct engine *e, int id, char **out, char *err, size_t errlen);
/* Replaces the torrent's trackers with a list in that form (http, https and udp URLs, at most
 * 256, a repeated one dropped); a running torrent announces to the new list at once. Kept in
 * the session directory. Refused with err, nothing changed, for a URL the announcer cannot
 * use. */
int engine_torrent_set_tracker_list(struct engine *e, int id, const char *text, char *err,
    size_t errlen);
/* Bytes per second; 0 = unlimited. */
int engine_torrent_set_rate_limits(struct engine *e, int id, uint64_t down_bps, uint64_t up_bps,
    char *err, size_t errlen);
/* max_peers: connections of this torrent; upload_slots: unchoked peers. 0 = the global value. */
int engine_torrent_set_limits(struct engine *e, int id, int max_peers, int upload_slots,
    char *err, size_t errlen);
/* Connects to a peer directly ("127.0.0.1:6881", "[::1]:6881"). */
int engine_torrent_add_peer(struct engine *e, int id, const char *addr_port, char *err,
    size_t errlen);
/* Disconnects peers at addr_port (or every port of the address when addr_port has no port);
 * with ban, the address is refused from then on (session-wide). */
int engine_peer_disconnect(struct engine *e, int id, const char *addr_port, bool ban, char *err,
    size_t errlen);

/*
 * Settings (settings_table.c describes every key). The setters below change the live settings
 * for this run, as engine_set_setting does; a SIGHUP (engine_apply_config) puts the file's
 * values back. Changes that must outlive the run go through engine_session_set_setting.
 */
/* Global rate limits in bytes/s (0 = none); both limits are switched on. */
void engine_set_rate_limits(struct engine *e, uint64_t down_bps, uint64_t up_bps);
/* Where torrents added from now on are saved (an absolute path; created when first needed). */
int engine_set_download_dir(struct engine *e, const char *dir, char *err, size_t errlen);
/* Global connection cap, per-torrent default peer cap and default upload slots; <= 0 keeps. */
void engine_set_limits(struct engine *e, int max_connections, int max_peers_per_torrent,
    int upload_slots);
/* Any key that applies without a restart ("download_rate_limit", "max_active_seeds", ...),
 * value as `--set KEY=VALUE` takes it; for this run only. 0 or -1 with err. */
int engine_set_setting(struct engine *e, const char *key, const char *value, char *err,
    size_t errlen);
/* The settings the engine runs with now (configuration, command line, run-time changes): a
 * copy the caller releases with config_free (dp_config.h). */
void engine_config_get(struct engine *e, struct dp_config *out);

/* ---- snapshots: copies the caller owns; arrays are freed with free() unless noted ---- */



int engine_torrent_get(struct engine *e, int id, struct engine_torrent_stats *out);
/*
 * Torrents that changed in the last window_s seconds (state, transfer, peers, progress, any
 * command or setting), most recent first, and those removed in that window: Transmission's
 * "recently-active". It reads only the torrents that changed (each keeps a change stamp), so it
 * costs the same with 10,000 idle torrents as with ten. Returns the count; *ids and *removed
 * are freed by the caller (NULL when empty).
 */
size_t engine_torrents_changed(struct engine *e, unsigned window_s, int **ids, int **removed,
    size_t *nremoved);
/* Every torrent's id, ascending (the order added); no stats copied, so it costs little with
 * 10,000 torrents. Returns the count; *ids is freed by the caller (NULL when empty). */
size_t engine_torrent_ids(struct engine *e, int **ids);
/* The id of the torrent whose info-hash is hex (40 hex digits, either case); 0 if none. */
int engine_torrent_id_by_hash(struct engine *e, const char *hex);
/* Torrents per state (indexed by enum engine_torrent_state): counts kept as states change,
 * so reading them costs nothing per torrent (/metrics). */
void engine_torrent_state_counts(struct engine *e, size_t out[ENGINE_TORRENT_STATE_COUNT]);
/* Every torrent, in the order added. Returns the count; *out is NULL when 0. */
size_t engine_torrents(struct engine *e, struct engine_torrent_stats **out);

struct engine_peer_info {
	char addr[64];                 /* "127.0.0.1:6881", "[::1]:6881" */
	char client[64];               /* decoded from the peer id, or the extension handshake */
	bool am_choking, am_interested;        /* we choke it / we want its data */
	bool peer_choking, peer_interested;    /* it chokes us / it wants our data */
	bool snubbed, incoming, fast_ext, ext_protocol, seed, optimistic;
	bool handshake_done;
	bool utp, encrypted;           /* over uTP (else TCP); RC4 (MSE/PE) */
	char transport[12];            /* "TCP", "uTP", "TCP+RC4", "uTP+RC4" ("" while connecting) */
	double progress;               /* its pieces / total */
	uint64_t down_rate, up_rate;   /* bytes/s */
	uint64_t downloaded, uploaded; /* payload bytes */
	uint32_t requests_out;         /* our requests waiting for blocks */
	uint32_t requests_in;          /* its requests we still have to answer */
	uint32_t queue_target;         /* pipeline depth we aim for */
	int64_t connected_s;           /* seconds connected */
	/* A BEP 19 web seed: addr is its URL (cut to fit), client "web seed" or why it is
	 * disabled, requests_out its pieces in flight; it is listed after the peers. */
	bool webseed;
};
size_t engine_peers(struct engine *e, int id, struct engine_peer_info **out);

struct engine_file_info {
	char *path;                    /* sanitised path on disk, relative to the save dir */
	char *display_path;            /* the torrent's original names */
	uint64_t size;
	uint64_t done;                 /* bytes of verified pieces that overlap the file */
	enum engine_prio priority;
	enum engine_prio level;        /* its priority when wanted (kept while skipped) */
	bool pad;
};
size_t engine_files(struct engine *e, int id, struct engine_file_info **out);
void engine_files_free(struct engine_file_info *files, size_t n);

enum engine_tracker_status { ENGINE_TRACKER_IDLE, ENGINE_TRACKER_DNS, ENGINE_TRACKER_CONNECTING,
	ENGINE_TRACKER_ANNOUNCING, ENGINE_TRACKER_OK, ENGINE_TRACKER_ERROR };
const char *engine_tracker_status_name(enum engine_tracker_status s);

struct engine_tracker_info {    /* one row of the trackers tab */
	char url[512];
	int tier;
	enum engine_tracker_status status;
	char last_error[256];
	char last_warning[256];
	int64_t last_announce;      /* wall seconds, 0 = never */
	int64_t next_announce;
	int seeders, leechers, downloaded;  /* -1 unknown */
	size_t last_peer_count;
	bool ipv6;                  /* a named tracker's announces over IPv6 (BEP 7): the same URL
	                               as its IPv4 row */
	/* the last announce: when it was sent, and whether its error is the tracker's own answer
	 * (a failure reason) rather than the tracker not being reached */
	int64_t last_announce_start;
	bool last_error_refused;
	/* scrapes (BEP 48): the URL asked ("" when the announce URL has none), the last one's
	 * start and end (wall seconds, 0 = never), whether it worked and why not */
	char scrape_url[512];
	int64_t last_scrape_start, last_scrape_end;
	bool last_scrape_ok;
	char last_scrape_error[256];
};
size_t engine_trackers(struct engine *e, int id, struct engine_tracker_info **out);
/* The DHT's row for the trackers tab (url "DHT", tier -1; last_peer_count: peers the last
 * lookup found; last_warning sums it up). -1 when the torrent is not in the DHT (the DHT is off,
 * the torrent is private or not running). */
int engine_torrent_dht(struct engine *e, int id, struct engine_tracker_info *out);

/* Announce and scrape outcomes per tracker ("udp://host:port"), summed over every torrent since
 * the start (/metrics). */
struct engine_tracker_host {
	char host[280];
	uint64_t announces_ok, announces_failed;   /* a failure: unreachable, or refused */
	uint64_t scrapes_ok, scrapes_failed;
	uint64_t latency_sum_us, latency_count;    /* announces, from sending to the end */
	uint64_t last_latency_us;
	uint64_t stops_dropped;                    /* stopped announces dropped at the deadline */
};
/* Every tracker seen so far (at most 1024 by name, the rest as "other"); *out freed by the
 * caller. */
size_t engine_tracker_hosts(struct engine *e, struct engine_tracker_host **out);
/* Multi-hash scrape requests sent since the start, and the hashes asked in them (/metrics). */
void engine_scrape_batches(struct engine *e, uint64_t *requests, uint64_t *hashes);

struct engine_piece_map {
	uint32_t count;
	uint8_t *state;                /* per piece: 0 missing, 1 downloading, 2 have, 3 skipped
	                                * (missing, every file in it unwanted) */
	uint16_t *availability;        /* per piece: connected peers that have it (saturating) */
};
int engine_pieces(struct engine *e, int id, struct engine_piece_map *out);
void engine_piece_map_free(struct engine_piece_map *m);

/* ---- tasks: the engine's activities and the front ends' own (see below), one registry ---- */

enum engine_task_state {
#define X(name, desc) ENGINE_TASK_##name,
	DP_TASK_STATES(X)
#undef X
	ENGINE_TASK_STATE_COUNT
};
enum engine_task_kind {
#define X(name, str) ENGINE_TASK_KIND_##name,
	DP_TASK_KINDS(X)
#undef X
	ENGINE_TASK_KIND_COUNT
};
const char *engine_task_state_name(enum engine_task_state s);         /* "READ_WAIT" */
const char *engine_task_state_description(enum engine_task_state s);  /* in words */
const char *engine_task_kind_name(enum engine_task_kind k);

/* One task as it was when copied. Times are monotonic microseconds (dp_now_us). */
struct engine_task_info {
	uint64_t id;
	enum engine_task_kind kind;
	char name[96];
	int torrent_id;                /* 0 when it belongs to no torrent */
	enum engine_task_state state;
	const char *where_func;        /* where it parked (static strings; NULL: never parked) */
	const char *where_file;
	int where_line;
	char reason[128];              /* what it waits for, in words */
	bool idle;                     /* the wait is idle by design: nothing is stuck */
	bool blocked;                  /* parked in a wait that is not idle, not finished */
	bool spinning;                 /* many callbacks, no progress */
	uint64_t deadline_us;          /* 0 = none */
	uint64_t cycles;               /* callbacks run */
	uint64_t cpu_us;               /* CPU time inside its callbacks */
	uint64_t bytes_in, bytes_out;
	uint64_t progress;             /* progress events */
	uint64_t finished_us;          /* 0 while it runs */
	const char *state_name;        /* static strings */
	const char *kind_name;
	uint64_t age_us;               /* since created */
	uint64_t waited_us;            /* in the current state */
	/* the same as instants (monotonic): they do not move while a task only waits, so a copy
	 * sent again can tell it did not change (attach) */
	uint64_t created_us;
	uint64_t state_since_us;
};
size_t engine_tasks(struct engine *e, struct engine_task_info **out);
/* Tasks in the registry, those blocked and those idle by design (unfinished): counts kept as
 * tasks change, never a walk. */
void engine_task_wait_counts(struct engine *e, size_t *tasks, size_t *blocked, size_t *idle);
/* One task by id (O(1)); -1 when there is none (finished long ago, or never existed). */
int engine_task_get(struct engine *e, uint64_t id, struct engine_task_info *out);

/*
 * The registry read in slices (10,000 torrents make 20,000 tasks: one copy of all of them was
 * a 40-230 ms callback). A walk visits the tasks in creation order, a step at a time, each step
 * until the end or until its time budget passes; between steps it holds the task it resumes
 * at, so tasks that come and go meanwhile never break it (those created meanwhile are visited
 * too). What a filter leaves out is counted, not copied.
 */
enum engine_task_walk_filter {
	ENGINE_TASK_WALK_ALL,
	ENGINE_TASK_WALK_NOT_DONE,     /* DONE ones counted (done_skipped), not visited */
	/* blocked ones waiting at least min_wait_us, and spinning ones; idle ones waiting that
	 * long are counted (idle_skipped) */
	ENGINE_TASK_WALK_BLOCKED,
};
struct engine_task_walk_counts {
	size_t seen;                   /* tasks looked at, visited or not */
	size_t visited;
	size_t done_skipped;
	size_t idle_skipped;
};
typedef void (*engine_task_visit_fn)(const struct engine_task_info *ti, void *arg);
struct engine_task_walk;
struct engine_task_walk *engine_task_walk_new(struct engine *e, enum engine_task_walk_filter f,
    uint64_t min_wait_us);
/* Visits tasks from where the last step stopped until the end (true) or until budget_us has
 * passed (false; 0: no budget). */
bool engine_task_walk_step(struct engine_task_walk *w, uint64_t budget_us,
    engine_task_visit_fn fn, void *arg);
void engine_task_walk_counts(const struct engine_task_walk *w,
    struct engine_task_walk_counts *out);
void engine_task_walk_free(struct engine_task_walk **wp);

/*
 * Work a front end does on the loop a slice at a time (a walk of the registry, 10,000 torrents'
 * rows): step(arg, budget_us) does about budget_us of it and returns true when all is done. The
 * first slice runs at once, in the caller's callback; each of the others in a loop turn of its
 * own (a zero timeout: the loop polls between them), inside a callback of task, which waits in
 * SLICE_WAIT meanwhile with reason what ("what" is copied). After the last slice, done(arg) runs
 * and the run is over (its handle freed): one slice enough, and done runs before this returns
 * NULL. A run still under way at the owner's end is stopped with engine_sliced_cancel (no more
 * slices, no done), before engine_free.
 */
struct engine_task;
struct engine_sliced;
typedef bool (*engine_slice_fn)(void *arg, uint64_t budget_us);
struct engine_sliced *engine_run_sliced(struct engine *e, struct engine_task *task,
    uint64_t budget_us, engine_slice_fn step, void (*done)(void *arg), void *arg,
    const char *what);
void engine_sliced_cancel(struct engine_sliced **sp);

#define ENGINE_SLOW_CALLBACKS 8
struct engine_slow_callback {
	uint64_t task_id;
	char task_name[96];
	uint64_t duration_us;          /* wall time */
	uint64_t when_us;
	/* the callback's own thread CPU time (at most its wall time); the thread's context switches
	 * meanwhile: preempted by the scheduler, and waits (it slept or blocked in a system call).
	 * cpu_measured is false from a daemon that did not send them (an older one, attached). */
	bool cpu_measured;
	uint64_t cpu_us;
	uint32_t preempted, waits;
};
struct engine_loop_health {
	uint64_t lag_us;               /* latest */
	uint64_t lag_max_us;           /* over the last minute */
	uint64_t callbacks_per_sec;
	/* recent (last minute), slowest first */
	struct engine_slow_callback slowest[ENGINE_SLOW_CALLBACKS];
	size_t slowest_count;
	/* recent (last minute), most CPU first: what a wall-time spike from being descheduled
	 * is not */
	struct engine_slow_callback heaviest[ENGINE_SLOW_CALLBACKS];
	size_t heaviest_count;
	size_t spinning_count;
};
void engine_loop_health(struct engine *e, struct engine_loop_health *out);
/* Tasks per state (indexed by enum engine_task_state), finished ones until they are freed:
 * counts kept as tasks change state (/metrics). */
void engine_task_state_counts(struct engine *e, size_t out[ENGINE_TASK_STATE_COUNT]);

/*
 * A front end's own activity (an RPC connection, a monitor client, a hook) as a task beside the
 * engine's, so ps, blocked and the Tasks screen show it. Loop thread only. engine_task_new()
 * returns the caller's reference; the caller finishes the task (engine_task_done) and gives the
 * reference back with engine_task_release(&t), which clears the pointer (task.h's rule). The
 * wait macros record the caller's function and line as where it parked.
 */
struct engine_task;
/* e: the engine whose registry it joins; NULL where there is none at hand (tests): every engine
 * of the process shares one registry today. */
struct engine_task *engine_task_new(struct engine *e, enum engine_task_kind kind, int torrent_id,
    const char *fmt, ...) DP_PRINTF(4, 5);
void engine_task_rename(struct engine_task *t, const char *fmt, ...) DP_PRINTF(2, 3);
#define engine_task_wait(t, state, ...) \
	engine_task_park_at((t), (state), false, __func__, __FILE__, __LINE__, __VA_ARGS__)
/* A wait that is idle by design (a server waiting for clients): kept out of blocked views. */
#define engine_task_idle(t, state, ...) \
	engine_task_park_at((t), (state), true, __func__, __FILE__, __LINE__, __VA_ARGS__)
void engine_task_park_at(struct engine_task *t, enum engine_task_state state, bool idle,
    const char *func, const char *file, int line, const char *fmt, ...) DP_PRINTF(7, 8);
#define engine_task_done(t, ...) \
	engine_task_finish_at((t), false, __func__, __FILE__, __LINE__, __VA_ARGS__)
#define engine_task_fail(t, ...) \
	engine_task_finish_at((t), true, __func__, __FILE__, __LINE__, __VA_ARGS__)
void engine_task_finish_at(struct engine_task *t, bool failed, const char *func,
    const char *file, int line, const char *fmt, ...) DP_PRINTF(6, 7);
void engine_task_release(struct engine_task **tp);
/* Brackets a callback (t may be NULL: a callback of no task still counts for loop health). */
void engine_task_cb_begin(struct engine_task *t);
void engine_task_cb_end(struct engine_task *t);
/* Work that moved something forward: bytes in and out (spinning is cycles without progress). */
void engine_task_progress(struct engine_task *t, uint64_t in, uint64_t out);
/* When the wait should end (monotonic microseconds; 0 = none), shown with the task. */
void engine_task_set_deadline(struct engine_task *t, uint64_t deadline_us);

/* Log lines with seq > after (see log_copy_since). */
size_t engine_log_since(struct engine *e, uint64_t after, struct dp_log_line *out, size_t max);

struct engine_global_stats {
	uint64_t down_rate, up_rate;
	uint64_t downloaded, uploaded;  /* this run */
	struct engine_totals current, cumulative;
	uint64_t down_limit, up_limit; /* 0 unlimited */
	bool alt_speed;                /* the alternative limits ("turtle mode") are in force */
	int connections, max_connections, max_peers_per_torrent, upload_slots;
	int listen_port;               /* 0 when not listening */
	int torrents, torrents_active;
	int torrents_stopped;           /* stopped or in error (Transmission's "paused") */
	uint64_t free_space;           /* bytes free in the download dir (refreshed every few s) */
	char download_dir[1024];
	uint64_t disk_pending_write_bytes;
	size_t disk_pending_jobs;
	char peer_id[21];
	int dht_nodes;                 /* nodes in the DHT's routing tables; -1 when it is off */
	bool lsd;                      /* local service discovery runs */
	bool pex;                      /* peer exchange (the pex setting) */
};
void engine_global(struct engine *e, struct engine_global_stats *out);

/*
 * The IP filter (the blocklist setting): ranges from blocklist_file (or SESSION/blocklist), in the
 * P2P, DAT or CIDR formats (no gzip), applied to every connection in and out. refused_*:
 * connections (and addresses to dial) turned away since the start.
 */
struct engine_blocklist_info {
	bool enabled;
	size_t ranges;                 /* after merging */
	size_t rules;                  /* lines read as ranges */
	uint64_t refused_in, refused_out;
	char source[1024];             /* the file or URL of the list in force; "" = none */
};
void engine_blocklist_get(struct engine *e, struct engine_blocklist_info *out);
/* Downloads blocklist_url (http:// only) with libevent's client, parses and keeps it on the
 * disk pool: done(arg, NULL or why, rules read) on the loop; -1 with err when it cannot start. */
int engine_blocklist_update(struct engine *e, void (*done)(void *arg, const char *err,
    size_t rules), void *arg, char *err, size_t errlen);

/* ---- settings, and what the policy keeps: queue order, seeding limits, times ----
 * A policy (engine_policy.h) plugs in once; the session directory is the one there is
 * (session_store.h, which the TUI and the daemon open after engine_new). */

/* SIGHUP: every key of cfg that applies without a restart (limits, download_dir, queue and
 * seeding limits, completed_dir, hooks, watch_dir, ...) except those changed at run time by
 * engine_session_set_setting; keys that need a restart are named in the log. */
void engine_apply_config(struct engine *e, const struct dp_config *cfg);

enum engine_queue_where { ENGINE_QUEUE_TOP, ENGINE_QUEUE_UP, ENGINE_QUEUE_DOWN,
	ENGINE_QUEUE_BOTTOM };
/*
 * Where the torrent's data lives (Transmission's torrent-set-location). move: its files go to
 * dir (the torrent stops while they move on the session's mover thread, and runs again after
 * if it ran; a failure puts every file back and the torrent in the error state with the
 * reason); without move: it takes the data found in dir and checks it. Needs a session
 * directory; answered at once, the move done later.
 */
int engine_torrent_set_location(struct engine *e, int id, const char *dir, bool move, char *err,
    size_t errlen);
/* Moves a torrent in the queue (needs a session directory); a freed slot goes to the first. */
int engine_queue_move(struct engine *e, int id, enum engine_queue_where where, char *err,
    size_t errlen);
/* 0-based position in the queue, -1 without a session directory or for an unknown id. */
int engine_queue_position(struct engine *e, int id);
/* Per-torrent seeding limits: ratio (uploaded / size) and seconds seeding; a negative value
 * means the global limit, 0 means none. */
int engine_torrent_set_seed_limits(struct engine *e, int id, double ratio, int64_t seconds,
    char *err, size_t errlen);
/* Session-wide queue sizes and seeding limits in effect (0 = unlimited / none; a limit switched
 * off reads 0). They need a session directory: -1 without one. */
struct engine_queue_limits {
	int max_active_downloads, max_active_seeds;
	double seed_ratio;
	int64_t seed_time_s;
	bool start_paused;             /* torrents added by the watch dir (and the RPC) stay stopped */
};
int engine_get_queue_limits(struct engine *e, struct engine_queue_limits *out);
/* A torrent's own seeding limits as set (negative = the global limit); -1 for an unknown id. */
int engine_torrent_get_seed_limits(struct engine *e, int id, double *ratio, int64_t *seconds);
/*
 * A setting changed at run time (the RPC's session-set): key is one of the configuration keys
 * settings_key_allowed() accepts, value its text as config_set takes it. It is applied now and
 * wins over the configuration file and the command line from then on, also on SIGHUP
 * (engine_apply_config); with a session directory it is kept in its settings.conf (written on
 * the session's writer thread) and applied again when the session directory opens. Returns 0, 1 without a
 * session directory (applied, not kept), or -1 with err for a key or value the configuration
 * refuses (nothing changes).
 */
int engine_session_set_setting(struct engine *e, const char *key, const char *value, char *err,
    size_t errlen);
/* Times and origin of a torrent beyond its stats (torrent-get's secondsDownloading and such). */
struct engine_torrent_times {
	/* counted by the session directory over every run; 0 without one */
	int64_t seconds_downloading;   /* in the downloading state */
	int64_t seconds_seeding;
	int64_t start_date;            /* wall seconds of the last start, 0 = not since loading */
	int64_t date_created;          /* the metainfo's creation date, 0 = none */
	char creator[128];             /* the metainfo's "created by", "" = none */
};
int engine_torrent_get_times(struct engine *e, int id, struct engine_torrent_times *out);
/* ---- the policy: the seedbox layer plugs in here ----
 * One registered set of callbacks the engine calls through (admit, events, settings, shutdown,
 * flush, free, and the per-torrent facts only the policy keeps); the engine never names the
 * policy. The session directory (session_store.h) is the policy today; what a policy may ask
 * of the engine beyond this header is in engine_policy.h. Every callback runs on the loop
 * thread; arg is what engine_set_policy() was given. */
struct engine_policy {
	/* A torrent is asked to run (the user's start, an add that is not paused): true = start it
	 * now; false = the policy keeps it stopped for now (queued, or busy with it). */
	bool (*admit)(void *arg, int torrent_id);
	/* Every engine event, synchronously where it happens (the torrent may be half-way through
	 * a state change), before the front end's event callback sees it from the loop. */
	void (*on_event)(void *arg, int torrent_id, enum engine_event ev);
	/* The live settings changed (engine_config_get has them); save: the run-time changes to
	 * keep changed too. */
	void (*settings_changed)(void *arg, bool save);
	/* engine_shutdown begins (before the torrents stop). */
	void (*shutdown_begin)(void *arg);
	/* The engine is quiet during shutdown: persist everything, in slices and on threads (the
	 * loop keeps answering), then done(done_arg) on the loop (maybe before flush returns). */
	void (*flush)(void *arg, void (*done)(void *done_arg), void *done_arg);
	/* engine_free: the policy lets go of everything; the engine calls it no more. */
	void (*free)(void *arg);

	/* What only the policy keeps, for engine.h's calls of the same names (engine_queue.c).
	 * The engine answers "needs a session directory" while no policy is registered. */
	int (*queue_move)(void *arg, int torrent_id, enum engine_queue_where where, char *err,
	    size_t errlen);
	int (*queue_position)(void *arg, int torrent_id);
	int (*set_seed_limits)(void *arg, int torrent_id, double ratio, int64_t seconds,
	    char *err, size_t errlen);
	int (*get_seed_limits)(void *arg, int torrent_id, double *ratio, int64_t *seconds);
	/* Fills the counters the policy keeps (seconds downloading and seeding, start date). */
	void (*get_times)(void *arg, int torrent_id, struct engine_torrent_times *out);
	/* engine_torrent_set_location (dir checked: absolute, not too long). */
	int (*set_location)(void *arg, int torrent_id, const char *dir, bool move, char *err,
	    size_t errlen);
};

/* Registers p (kept by pointer, with arg) as the engine's one policy; NULL unregisters. -1 when
 * one is registered already. */
int engine_set_policy(struct engine *e, const struct engine_policy *p, void *arg);

/* Pieces hashed by the disk pool so far (tests check that a restart rehashes nothing). */
uint64_t engine_hash_count(struct engine *e);

/*
 * Blocking work a front end needs (reading a file the user named, statvfs) runs on a disk pool
 * worker, never on the loop thread: work(arg) runs on a worker and touches only what arg owns
 * (it reports failure there too); then done(arg) runs on the loop. what names the work for its
 * task while it is queued or running ("rpc torrent-add: reading x.torrent"); it is copied.
 * Jobs still queued at engine_free() run, and their done() with them.
 */
void engine_run_blocking(struct engine *e, const char *what, void (*work)(void *arg),
    void (*done)(void *arg), void *arg);

#endif
