/* engine_policy.h: what a policy (engine.h's struct engine_policy; the session directory in
 * session_store.c) may ask of the engine beyond engine.h: a cheap view of a torrent for its
 * decisions, the state a resume file records and restoring it, keeping a torrent queued or
 * starting one it admitted, an error that comes back from the last session, and a finished
 * download's files moved elsewhere. Loop thread only. Not engine-internal: a policy is a
 * client of the engine; engine_policy.c and engine_restore.c implement it. */
#ifndef DP_ENGINE_POLICY_H
#define DP_ENGINE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct event_base;
struct metainfo;
struct settings;

/* The loop the engine runs on (the policy's timers and threads answer there). */
struct event_base *engine_policy_base(struct engine *e);
/* The policy keeps its session in dir: the engine keeps its own state there too (the DHT's
 * node table), saved for the next start. */
void engine_policy_session_dir(struct engine *e, const char *dir);

/* Adds a torrent from a metainfo the policy parsed off the loop (taken over, freed on failure),
 * as engine_add_torrent_file does from its file. */
int engine_policy_add_metainfo(struct engine *e, struct metainfo *mi,
    const struct engine_add_opts *opts, int *id_out, char *err, size_t errlen);

/* The totals of the session directory's earlier runs (SESSION/stats): engine_global's
 * cumulative figures are these plus this run's. */
void engine_policy_set_totals(struct engine *e, const struct engine_totals *before);

/* ---- a torrent as the policy's decisions see it ---- */

enum {
	ENGINE_POLICY_FP = 1 << 0,       /* fill persist_fp */
	ENGINE_POLICY_WANTED = 1 << 1,   /* fill wanted */
};
struct engine_policy_torrent {
	enum engine_torrent_state state;
	bool active;                   /* downloading, seeding or fetching metadata */
	bool complete;                 /* metadata known, checked, every wanted piece verified */
	bool checked;                  /* its data was checked (or trusted) since it was added */
	bool removing;
	bool has_info;                 /* its info dictionary is known (a magnet's, once fetched) */
	uint32_t have_pieces;          /* verified pieces */
	uint32_t have_lost;            /* bumped whenever verified pieces are dropped (a recheck, a
	                                  failed read): a set that changed at the same count */
	unsigned disk_jobs;            /* its jobs on the disk pool */
	uint64_t uploaded, downloaded; /* payload bytes over every run */
	uint64_t wanted;               /* bytes of wanted pieces (ENGINE_POLICY_WANTED) */
	/* Changes whenever what a resume file records of the torrent changes: error state, pieces,
	 * save dir, file priorities, sequential, limits, completion date (ENGINE_POLICY_FP). */
	uint64_t persist_fp;
};
/* 0, or -1 for an unknown id. what: the ENGINE_POLICY_ flags of the costlier fields. */
int engine_policy_torrent(struct engine *e, int id, unsigned what,
    struct engine_policy_torrent *out);

/* Names for logs and hooks: the on-disk name (the info dictionary's, the info-hash for a magnet
 * without one), the name as the torrent gave it, and where its data is. */
struct engine_policy_names {
	char name[256];
	char display_name[256];
	char info_hash_hex[41];
	char save_dir[1024];
};
int engine_policy_names(struct engine *e, int id, struct engine_policy_names *out);

/* The .torrent file of a torrent as the engine keeps it (trackers, comment, creator, date, web
 * seeds, the info dictionary), bencoded; NULL while a magnet has no info dictionary. */
uint8_t *engine_policy_torrent_file(struct engine *e, int id, size_t *len);
/* A magnet still fetching its info dictionary: the link it was added with (a new string). */
char *engine_policy_magnet_uri(struct engine *e, int id);

/* ---- what a resume file records ---- */

/* A file's byte in priorities[]: its priority (skip included) and the level it keeps. */
#define ENGINE_POLICY_PRIO(v) ((enum engine_prio)((v) & 3))
#define ENGINE_POLICY_LEVEL(v) ((enum engine_prio)(((v) >> 2) & 3))

struct engine_resume_state {
	uint8_t info_hash[20];
	uint32_t piece_count;
	uint8_t *pieces;               /* verified pieces, wire-order bitfield; all clear while its
	                                  data is being checked */
	uint32_t have_pieces;
	uint32_t have_lost;            /* as engine_policy_torrent's, with the same pieces */
	bool checked;                  /* its data was looked at (a check ended; not checking) */
	size_t file_count;
	/* per file: enum engine_prio in the low 2 bits, the priority it has when wanted (what a
	 * skipped file keeps, ENGINE_POLICY_LEVEL) in the next 2 */
	uint8_t *priorities;
	char **paths;                  /* per file, where it is on disk; NULL for pad files */
	uint64_t uploaded, downloaded;
	int64_t added_date, completed_date;
	char save_dir[1024];
	bool sequential;
	uint64_t down_limit, up_limit;
	int max_peers, upload_slots;
	char error[256];               /* "" unless in the error state */
	char labels[ENGINE_LABELS_MAX];   /* "" = none */
	char *trackers;                /* the user's list (trackerList text), NULL: the metainfo's */
	char *peers;                   /* the magnet's x.pe peers, "ADDR:PORT" lines; NULL: none */
	int idle_mode, idle_limit;     /* the idle seeding limit: enum engine_idle_mode, minutes */
	/* torrent-rename-path's names: the torrent's, then each file's path (file_count + 1);
	 * NULL when never renamed */
	char **names;
};
int engine_policy_resume_get(struct engine *e, int id, struct engine_resume_state *out);
void engine_policy_resume_free(struct engine_resume_state *r);

struct engine_restore_file {
	uint64_t size;                 /* as saved: a file whose size or mtime differs changed */
	int64_t mtime_ns;
	uint8_t priority;
	/* What the caller already saw on disk (engine_policy_restore_stat, off the loop) at
	 * seen_path; used when the torrent keeps the file there. NULL: looked at by the restore. */
	char *seen_path;
	uint64_t seen_size;
	int64_t seen_mtime_ns;
};
/* Keeps the next n ids for a restart's torrents and returns the one before them (0 at start):
 * each asks for that plus its saved queue position + 1 (engine_add_opts.id), so ids keep the
 * queue order across restarts although the torrents come back in reading order; a torrent
 * added meanwhile takes an id after them. */
int engine_policy_reserve_ids(struct engine *e, int n);
/* A file as the restore compares it: size and mtime of a regular file, else 0 and 0 (lstat;
 * callable from any thread). */
void engine_policy_restore_stat(const char *path, uint64_t *size, int64_t *mtime_ns);
struct engine_restore {
	const uint8_t *pieces;         /* the pieces the file says were verified; NULL: none */
	bool unchecked;                /* the data was never looked at: pieces and files are not
	                                  trusted, the next start checks it */
	/* The pieces were written at an exit without a sync, in another boot (resume.h): each
	 * claimed piece is checked again, and one that fails is no error (the reboot lost it) */
	bool untrusted;
	const struct engine_restore_file *files;   /* one per file of the torrent */
	bool sequential;
	uint64_t down_limit, up_limit;
	int max_peers, upload_slots;
	uint64_t uploaded, downloaded;
	int64_t added_date;            /* 0 keeps the torrent's */
	int64_t completed_date;
	const char *labels;            /* NULL or "": none */
	const char *trackers;          /* the user's list (trackerList text); NULL: the metainfo's */
	const char *peers;             /* the magnet's x.pe peers, "ADDR:PORT" lines; NULL: none */
	int idle_mode;                 /* enum engine_idle_mode */
	int idle_limit;                /* minutes; < 0 keeps the torrent's (the session's) */
	char *const *names;            /* as engine_resume_state's (checked here); NULL: none */
};
/*
 * A torrent just added stopped takes what its resume file saved, and trusts the file's pieces
 * but those touching files whose size or mtime changed since (and none when r->untrusted).
 * Returns those pieces (*n of them; NULL when none), for engine_policy_recheck, or to free.
 */
uint32_t *engine_policy_restore(struct engine *e, int id, const struct engine_restore *r,
    uint32_t *n);
/* Restores only the date it was first added (a magnet's resume file before its metadata). */
void engine_policy_set_added_date(struct engine *e, int id, int64_t added_date);
/*
 * Rechecks pieces (taken over) with mi, the torrent's metainfo as the policy keeps it (taken
 * over too: the check owns it, so the torrent may be removed meanwhile). The torrent shows as
 * checking; when every hash is in, the good pieces are verified, it is stopped and
 * ENGINE_EVENT_CHECKED is emitted, then done(arg, id, true). done(arg, id, false) when it was
 * removed, stopped or checked again meanwhile; done is not called once the policy is gone.
 */
void engine_policy_recheck(struct engine *e, int id, struct metainfo *mi, uint32_t *pieces,
    uint32_t n, void (*done)(void *arg, int id, bool applied), void *arg);

/* ---- running ---- */

/* Starts a torrent the policy admitted itself (its admit is not asked again). */
void engine_policy_start(struct engine *e, int id);
/* Stops a torrent for the policy (not the user's stop: no ENGINE_EVENT_STOPPED, and its wish to
 * run stays the policy's to remember). */
void engine_policy_stop(struct engine *e, int id);
/* Shows a torrent that is not running as queued; with a reason its task waits in state with
 * it (idle: a wait by design, kept out of the blocked views). */
void engine_policy_set_queued(struct engine *e, int id, enum engine_task_state state, bool idle,
    const char *reason);
/* Puts a torrent in the error state with msg, as a failure of its own would (the ERROR event
 * included). */
void engine_policy_set_error(struct engine *e, int id, const char *msg);

/* ---- moving a finished download ---- */

/* Closes the files the engine holds open for a torrent (before they are moved). */
void engine_policy_close_files(struct engine *e, int id);
/* Where each of a torrent's files is (or would be) under dir (NULL: its save dir): file_count
 * strings, NULL for pad files; free with engine_policy_paths_free. */
char **engine_policy_file_paths(struct engine *e, int id, const char *dir, size_t *n);
void engine_policy_paths_free(char **paths, size_t n);
/* Its files are now in dir: the torrent (stopped) uses them there. -1 with err if it can't. */
int engine_policy_relocate(struct engine *e, int id, const char *dir, char *err, size_t errlen);

/* ---- settings ---- */

/* The queue and seeding limits in effect (a switched-off limit is 0, "none"), with or without
 * a policy registered. */
void engine_policy_queue_limits(struct engine *e, struct engine_queue_limits *out);
/* The run-time changes kept over the configuration (for settings.conf), as settings_format
 * takes them. */
const struct settings *engine_policy_kept_settings(struct engine *e);
/* A run-time change read back from settings.conf: applied and kept, quietly. 0 or -1 with err. */
int engine_policy_keep_setting(struct engine *e, const char *key, const char *value, char *err,
    size_t errlen);

#endif
