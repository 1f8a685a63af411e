/* engine_types.h: the values the engine shares with its front ends and its own layers: events,
 * add options, file priorities, torrent states and a torrent's figures. engine.h (the front
 * ends' door) and the internal headers below it (torrent.h, session.h) both include this one,
 * so the layers under the public API never include engine.h. */
#ifndef DP_ENGINE_TYPES_H
#define DP_ENGINE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Events the caller may want to react to (the headless get exits on COMPLETED). */
#define ENGINE_EVENTS(X)                \
	X(ADDED, "added")               \
	X(CHECKED, "checked")           \
	X(COMPLETED, "completed")       \
	X(STOPPED, "stopped")           \
	X(ERROR, "error")               \
	X(REMOVED, "removed")           \
	X(METADATA, "metadata received")

enum engine_event {
#define X(name, str) ENGINE_EVENT_##name,
	ENGINE_EVENTS(X)
#undef X
	ENGINE_EVENT_COUNT
};
const char *engine_event_name(enum engine_event ev);

struct engine_add_opts {
	const char *save_dir;      /* NULL: the configured download directory */
	bool paused;               /* add stopped */
	bool sequential;
	bool skip_check;           /* trust existing data without hashing (tests) */
	bool restored;             /* from the session directory: not counted as files added */
	int id;                    /* the id wanted, in the range engine_policy_reserve_ids kept for
	                            * a restart; 0 (or taken): the next one */
};

/* Transmission's session-stats: what this run did, and the sum over every run of the session
 * directory (kept in SESSION/stats; without a session directory the same as this run). */
struct engine_totals {
	uint64_t uploaded, downloaded;  /* payload bytes */
	uint64_t files_added;           /* files of the torrents added (not restored) */
	int64_t seconds_active;         /* seconds the engine ran */
	uint64_t session_count;         /* runs, this one included */
};

enum engine_prio { ENGINE_PRIO_SKIP = 0, ENGINE_PRIO_LOW = 1, ENGINE_PRIO_NORMAL = 2,
	ENGINE_PRIO_HIGH = 3 };
const char *engine_prio_name(enum engine_prio p);

#define ENGINE_TORRENT_STATES(X)                 \
	X(STOPPED, "stopped")                    \
	X(QUEUED, "queued")                      \
	X(CHECKING, "checking")                  \
	X(METADATA, "fetching metadata")         \
	X(DOWNLOADING, "downloading")            \
	X(SEEDING, "seeding")                    \
	X(ERROR, "error")

enum engine_torrent_state {
#define X(name, str) ENGINE_TORRENT_##name,
	ENGINE_TORRENT_STATES(X)
#undef X
	ENGINE_TORRENT_STATE_COUNT
};
const char *engine_torrent_state_name(enum engine_torrent_state s);

/* Labels, joined by ',': each non-empty, without ',' or control characters, at most
 * ENGINE_LABELS_MAX - 1 bytes in all. */
#define ENGINE_LABELS_MAX 256

/* Transmission's idle seeding limit modes (seedIdleMode): the session's limit, the torrent's
 * own, none. A seed that moved no data for the limit's minutes stops. */
enum engine_idle_mode { ENGINE_IDLE_GLOBAL = 0, ENGINE_IDLE_SINGLE = 1, ENGINE_IDLE_UNLIMITED = 2 };
#define ENGINE_IDLE_LIMIT_MAX 65535    /* minutes (Transmission keeps them in 16 bits) */

struct engine_torrent_stats {
	int id;
	char name[256];
	char info_hash_hex[41];
	enum engine_torrent_state state;
	char error[256];               /* non-empty in ENGINE_TORRENT_ERROR */
	double progress;               /* 0..1 of the wanted (non-skipped) bytes */
	double check_progress;         /* 0..1 while CHECKING */
	uint64_t total_size;           /* the torrent's bytes */
	uint64_t wanted_size;          /* bytes of non-skipped files */
	uint64_t have_size;            /* verified bytes */
	uint64_t left;                 /* wanted bytes not yet verified */
	uint32_t piece_length;
	uint32_t pieces_have, pieces_total;
	size_t file_count;
	uint64_t down_rate, up_rate;   /* bytes/s, sliding window */
	uint64_t downloaded, uploaded; /* payload bytes, all time (kept in the resume file) */
	uint64_t session_downloaded, session_uploaded;   /* ... of them since this run began */
	uint64_t corrupt_bytes;        /* discarded by hash failures */
	double ratio;                  /* uploaded / max(downloaded, have); -1 when undefined */
	int64_t eta_s;                 /* -1 unknown */
	int peers_connected, peers_known, seeds_connected;
	int peers_sending, peers_receiving;
	char tracker_status[128];      /* e.g. "ok (3 trackers)", "error: connection refused" */
	char save_path[1024];
	int64_t added_date, completed_date;  /* wall seconds, 0 = never */
	uint64_t down_limit, up_limit; /* bytes/s, 0 unlimited */
	int max_peers, upload_slots;
	bool sequential;
	bool is_private;
	char comment[512];
	double metadata_progress;      /* 0..1 of a magnet's info dictionary; 1 once it is known */
	char labels[ENGINE_LABELS_MAX]; /* the user's labels, joined by ',' ("" = none) */
	int seed_idle_mode;            /* enum engine_idle_mode */
	int seed_idle_limit;           /* its own idle limit in minutes (used in mode SINGLE) */
	int64_t activity_date;         /* wall seconds data last moved (0 = not this run) */
	int64_t idle_stop_date;        /* wall seconds it stops if nothing moves; 0 = no limit */
	bool idle_stopped;             /* the idle seeding limit stopped it (isFinished) */
	int queue_position;            /* 0-based, the session directory's queue; -1 without one */
};

#endif
