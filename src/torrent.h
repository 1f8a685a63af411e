/* torrent.h: one torrent's state machine (checking, downloading, seeding, stopped, error), its
 * peers, piece assembly buffers, read cache, choking rounds, trackers and disk jobs. A torrent
 * reports to its session through the torrent_ops it was given and owns its peers (it answers
 * their peer_ops); it does not know the session. */
#ifndef DP_ENGINE_INTERNAL
#error "torrent.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_TORRENT_H
#define DP_TORRENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bandwidth.h"
#include "bitfield.h"
#include "changes.h"
#include "engine_types.h"
#include "idmap.h"
#include "peer.h"
#include "seed_idle.h"
#include "smartban.h"

struct disk_pool;
struct event_base;
struct evdns_base;
struct peer;
struct metainfo;
struct mi_tier;
struct session_settings;
struct storage;
struct picker;
struct announce_sched;
struct dp_task;
struct metadata_fetch;
struct ut_pex_state;
struct webseed_set;
struct ssl_ctx_st;

#define TORRENT_MAX_CONTRIBUTORS 8

/* A piece being downloaded: blocks land straight in data. */
struct piece_buf {
	uint32_t piece;
	uint8_t *data;
	uint32_t received;                       /* bytes */
	struct sockaddr_storage contrib[TORRENT_MAX_CONTRIBUTORS];   /* who sent blocks */
	uint8_t ncontrib;
	uint8_t *block_from;                     /* per block: index into contrib; then per block
	                                          * (busy = block_from + blocks): a peer is
	                                          * reading it into place (peer_ops.block_dest) */
	uint8_t *busy;                           /* TORRENT_BLOCK_*: claimed, landed */
	uint32_t nbusy;                          /* blocks claimed */
	/* Hashed as its blocks land, in order (torrent_hash_advance): the hash so far, the
	 * prefix given to it, a HASH_PART job holding it, the write waiting for that job, and
	 * a picker rebuild while it ran (the hash covers blocks that may be written over). */
	struct disk_piece_hash *ph;
	uint32_t hashed_to;
	bool hashing, write_wanted, rehash;
	bool writing;                            /* submitted to the disk pool */
	uint32_t ws_mask;                        /* web seeds that sent blocks (bit = index) */
};

/* A piece read from disk for serving; shared by reference with peers' output buffers. */
struct cache_piece {
	struct peer_piece_ref ref;               /* what peers give back (torrent_cache_unref) */
	struct torrent *t;
	uint32_t piece;
	bool files;                              /* asked for as file spans (plain sockets) */
	uint8_t *data;                           /* or NULL and the spans: */
	struct peer_piece_span spans[PEER_PIECE_SPANS_MAX];
	size_t nspans;
	uint32_t length;
	int refs;                                /* the cache's own + evbuffer references */
	bool loading, cached;
	uint64_t used_ms;
	struct cache_piece *next;
};

struct known_peer {
	struct sockaddr_storage addr;
	socklen_t len;
	uint64_t next_try_ms;
	int fails;
	bool connected;
	bool seed;                     /* had all pieces last time: not dialled while we seed */
};

struct strike {
	struct sockaddr_storage addr;
	int count;
};

/* How a torrent reports to its session (session.c's table). */
struct torrent_ops {
	void (*emit)(void *arg, int torrent_id, enum engine_event ev);
	/* Bans sa for why (its connections close, in every torrent). */
	void (*ban)(void *arg, const struct sockaddr *sa, const char *why);
	/* Never to be dialled or learnt: banned, or our own listening address. */
	bool (*refused)(void *arg, const struct sockaddr *sa);
	/* Room for one more connection (the global limit; not while shutting down). */
	bool (*may_connect)(void *arg);
	/* Jobs holding pieces (writes, hash steps) were queued or finished: the session weighs
	 * disk backpressure. */
	void (*disk_pressure)(void *arg);
	/* Bytes of blocks received (verified or not) and sent: the global totals and meters. */
	void (*transferred)(void *arg, uint64_t down, uint64_t up, uint64_t now_ms);
	uint32_t (*random)(void *arg);
	/* torrent_remove: t leaves the session's set for the dying list; torrent_free follows
	 * freed (once its disk jobs and stopped announces are done). */
	void (*removed)(void *arg, struct torrent *t);
	void (*freed)(void *arg, struct torrent *t);
	/* A closed peer: freed outside the current callback (peer_ops.bury). */
	void (*bury_peer)(void *arg, struct peer *p);
	/* A public torrent starts (active) or stops looking for peers beyond its trackers: the
	 * DHT and LSD. Never called for a private one (BEP 27). Optional. */
	void (*discovery)(void *arg, struct torrent *t, bool active);
	/* A peer's DHT port (BEP 5 PORT message). Optional. */
	void (*dht_port)(void *arg, const struct sockaddr *peer, uint16_t port);
	/* Its data is known (checked): may it download or seed now? False: the policy queued it
	 * (its state is no longer CHECKING). Optional (then it may). */
	bool (*admit)(void *arg, struct torrent *t);
	/* t has work for the per-second tick again (a peer, a known address, a new state) after
	 * torrent_quiet said it had none: the session ticks it until it is quiet. Optional. */
	void (*wake)(void *arg, struct torrent *t);
};

/* What the session lends every torrent; it outlives them all. */
/* The session's counts of what a shutdown waits for (torrent_env.busy; may be NULL). */
struct torrent_busy {
	size_t tracker_stopping;        /* torrents with tracker_stopping set */
	size_t disk_jobs;               /* the sum of their disk_jobs */
};

struct torrent_env {
	struct event_base *base;
	struct evdns_base *dns;
	struct disk_pool *disk;
	const struct session_settings *set;      /* read when used: they change at run time */
	const struct peer_env *peers;            /* lent on to its peers */
	const struct torrent_ops *ops;
	void *arg;
	struct change_list *changes;             /* torrents touch it on every change */
	unsigned tracker_families;               /* ANNOUNCE_IPV4/6: where peers reach us (BEP 7) */
	/* Torrents of the session per state, kept by torrent_set_state (the session counts a
	 * torrent in when it joins, out when it is removed). */
	size_t *state_counts;
	/* What the shutdown waits for, kept by torrent.c as it changes (no walk over torrents):
	 * torrents waiting for their stopped announces, disk jobs in flight over all torrents. */
	struct torrent_busy *busy;
	struct tracker_hosts *tracker_hosts;     /* announce outcomes per tracker */
	struct ssl_ctx_st *ssl_ctx;              /* TLS for HTTPS trackers and web seeds, or NULL */
};

/* The x.pe peers of a magnet kept with it (torrent.magnet_peers), at most. */
#define TORRENT_MAGNET_PEERS_MAX 200

/* The longest download directory a torrent takes, with its NUL (what engine_resume_state and
 * engine_policy_names carry). */
#define TORRENT_SAVE_DIR_MAX 1024

struct torrent {
	const struct torrent_env *env;
	int id;
	struct torrent *next;
	struct torrent *prev;          /* in the session's running set (O(1) removal) */
	struct torrent *tick_next, *tick_prev;   /* the session's set of torrents it ticks */
	bool ticking;
	bool v2_indexed;               /* the session indexes its v2 info-hash too */
	bool unsynced;                 /* pieces written this run (nothing syncs them but the
	                                  session store's saves) */
	/* Bumped whenever verified pieces leave `have` (a recheck, a failed read): with have.count
	 * it tells the session store that the set changed when the count came back the same. */
	uint32_t have_lost;
	struct dp_task *task;

	struct metainfo *mi;           /* a placeholder (no pieces, no files) while md != NULL */
	struct metadata_fetch *md;     /* a magnet's info dictionary being fetched; NULL once known */
	double metadata_progress;      /* 0..1 of it while fetching (metadata_fetch.c keeps it) */
	struct ut_pex_state *pex;      /* BEP 11: what each peer was told (ut_pex.c), lazily made */
	struct v2_hashes *v2h;         /* BEP 52 hash requests answered (v2_hashes.c), lazily made */
	struct v2_layers *v2l;         /* piece layers being fetched from peers (v2_layers.c) */
	bool v2_check_deferred;        /* started without checking its data: v2-only, no layers */
	struct webseed_set *ws;        /* BEP 19 web seeds (webseed.c), made when it downloads */
	struct storage *st;
	struct picker *pk;
	struct announce_sched *announce;
	/* the schedule the trackers were replaced under while it told them stopped: freed when
	 * it has (torrent_set_trackers) */
	struct announce_sched *announce_retired;
	char *save_dir;                          /* shorter than TORRENT_SAVE_DIR_MAX */

	enum engine_torrent_state state;         /* changed by torrent_set_state */
	struct change_node chg;                  /* when it last changed (recently-active) */
	bool counted;                            /* in env->state_counts (in the session's set) */
	char error[256];
	struct dp_bitfield have;                 /* verified pieces */
	uint64_t have_bytes;
	uint8_t *file_prio;                      /* enum engine_prio per file */
	/* per file, the priority it has when wanted (low, normal, high): a skipped file keeps it,
	 * as Transmission keeps priority and wanted apart */
	uint8_t *file_level;
	char *labels;                            /* joined by ',', NULL = none (engine.h) */
	/* The x.pe peers of the magnet it was added as ("ADDR:PORT" lines), NULL = none: kept
	 * in the resume file, so a restart after the metadata still knows them (issue 11, 14). */
	char *magnet_peers;
	bool sequential;
	bool stop_requested;

	struct peer *peers;
	int npeers;
	struct peer_swarm swarm;       /* what its peers read of it (torrent_sync_swarm) */
	struct known_peer *known;
	size_t nknown, known_cap;
	struct dp_idmap known_by_addr;           /* address and port -> index + 1 in known */
	struct strike *strikes;
	size_t nstrikes;
	struct smartban smartban;                /* failed mixed pieces awaiting a verdict */

	struct piece_buf **partial;              /* by piece index, NULL when not in progress;
	                                          * the array NULL while no piece is */
	uint32_t npartial;
	uint64_t hashed_early;                   /* bytes hashed before their piece was whole */
	struct cache_piece *cache;               /* read cache, most recent first */
	int ncache;

	/* checking */
	uint32_t check_next, check_inflight, check_done;
	uint32_t check_gen;                      /* bumped when a check is abandoned */
	bool checked;                            /* have reflects the data on disk */

	/* limits and accounting */
	struct bw_bucket down_bucket, up_bucket;
	struct bw_meter down_meter, up_meter;
	uint64_t downloaded, uploaded, corrupt;
	uint64_t restored_down, restored_up;   /* the resume file's totals: earlier runs' */
	uint64_t recv_ms;             /* the last block that arrived, or the download's start */
	int max_peers, upload_slots;
	int64_t added_date, completed_date;
	uint32_t rng;
	uint64_t last_choke_ms, last_optimistic_ms;
	bool announced;                          /* trackers were told started */
	bool discovering;                        /* in the DHT and LSD (torrent_ops.discovery) */
	bool tracker_stopping;                   /* waiting for the stopped announces */
	bool trackers_edited;                    /* the user's list, not the metainfo's: kept */
	int disk_jobs;                           /* in flight; the torrent is freed after 0 */
	bool removing, freeing;
	bool delete_data;
	bool deleting_data;                      /* removed with its data, not yet deleted */
	/* Added again while an earlier copy's data is still being deleted: its disk jobs wait
	 * here (in order) until that deletion is done (torrent_open_data_gate). */
	bool data_gated;
	struct torrent_job *gated, *gated_tail;
	void *piece_pool;                        /* freed piece buffers kept for reuse */
	size_t piece_pool_bytes;
	struct seed_idle idle;                   /* the idle seeding limit (seed_idle.c) */
	bool renamed;                            /* torrent-rename-path changed its names */
};

/* A stopped torrent numbered id on mi (the torrent owns mi from now); NULL with err when it
 * can't be set up (mi is still the caller's then). */
struct torrent *torrent_new(const struct torrent_env *env, int id, struct metainfo *mi,
    const char *save_dir, const struct engine_add_opts *opts, char *err, size_t errlen);
void torrent_start(struct torrent *t);
/* The state changes (and the torrent counts as changed, for recently-active). */
void torrent_set_state(struct torrent *t, enum engine_torrent_state s);
/* Something a client shows changed (a transfer, a peer, a setting): O(1). */
void torrent_touch(struct torrent *t);
/* Its metainfo's names were replaced (a rename): what its peers and its task read of them
 * follows (the swarm held a pointer to the old name). */
void torrent_names_changed(struct torrent *t);
/* It has work for the session's tick again (see torrent_ops.wake). */
void torrent_wake(struct torrent *t);
/* Stops peers and trackers (stopped announce). */
void torrent_stop(struct torrent *t, bool user);
/* Stops and frees once its disk jobs are done; with delete_data removes its files. */
void torrent_remove(struct torrent *t, bool delete_data);
void torrent_free(struct torrent *t);
/* The earlier copy's data is deleted: the jobs held back (data_gated) go to the disk pool. */
void torrent_open_data_gate(struct torrent *t);
void torrent_recheck(struct torrent *t);
/* Puts the torrent into the error state with msg (its peers are closed). */
void torrent_set_error(struct torrent *t, const char *fmt, ...) DP_PRINTF(2, 3);
/* A magnet's verified info dictionary, parsed: mi (whose info-hash the caller checked)
 * replaces the placeholder, keeping its trackers and web seeds; storage, picker and pieces start
 * afresh and the peers' early BITFIELD/HAVEs apply. The state is the caller's to change. 0, or
 * -1 with err (then mi is still the caller's). */
int torrent_set_metainfo(struct torrent *t, struct metainfo *mi, char *err, size_t errlen);
/* The trackers become tiers[0..n) (taken; the URLs checked by the caller): a new announce
 * schedule, started at once when the torrent runs (Transmission announces to an added tracker
 * at once too); the old one is dropped, or kept until its stopped announces are done. */
void torrent_set_trackers(struct torrent *t, struct mi_tier *tiers, size_t n);

/* Remembers an address to dial; false when it was dropped (not dialable: sockaddr_is_dialable,
 * banned, ours, already known, or the list is full). */
bool torrent_add_known_peer(struct torrent *t, const struct sockaddr *sa, socklen_t len);
/* The known peer at this address and port, or NULL (a hash lookup). */
struct known_peer *torrent_find_known(struct torrent *t, const struct sockaddr *sa);
void torrent_tick(struct torrent *t, uint64_t now_ms);
/* Its tick would do nothing (no peers, nobody to dial, no metadata or web seed to fetch, not
 * checking or downloading) until an event wakes it (torrent_ops.wake). */
bool torrent_quiet(const struct torrent *t);
/* Opens connections to known peers up to the limits. */
void torrent_connect_peers(struct torrent *t, uint64_t now_ms);
void torrent_refill(struct torrent *t, uint64_t now_ms);
bool torrent_is_active(const struct torrent *t);
bool torrent_is_seeding(const struct torrent *t);
bool torrent_wants_peers(const struct torrent *t);
uint64_t torrent_left(const struct torrent *t);
uint64_t torrent_wanted(const struct torrent *t);
/* Connections it may hold: its own limit, else the session's. */
int torrent_peer_limit(const struct torrent *t);
/* Whether p (incoming, its handshake naming t) may join: one address gets at most
 * max_peers_per_address connections, and a full torrent makes room by closing a peer that gave
 * nothing and took nothing past its grace time. 0, or -1 with why. */
int torrent_admit_peer(struct torrent *t, const struct peer *p, char *why, size_t whylen);
/* An incoming peer whose handshake named this torrent joins it (peer_adopt). */
void torrent_adopt_peer(struct torrent *t, struct peer *p);

void torrent_file_priority(struct torrent *t, size_t file, enum engine_prio prio);
/* The priority file has while wanted (low, normal or high); a skipped file stays skipped. */
void torrent_file_level(struct torrent *t, size_t file, enum engine_prio level);
void torrent_set_sequential(struct torrent *t, bool on);
/* Its idle seeding limit changed (t->idle, or the session's): the deadline is set again. */
void torrent_idle_changed(struct torrent *t);
void torrent_fill_stats(struct torrent *t, struct engine_torrent_stats *out);

#endif
