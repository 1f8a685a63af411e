/* torrent.h: one torrent's state machine (checking, downloading, seeding, stopped, error), its
 * peers, piece assembly buffers, read cache, choking rounds, trackers and disk jobs. */
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
#include "engine.h"
#include "smartban.h"

struct engine;
struct peer;
struct metainfo;
struct storage;
struct picker;
struct tracker_set;
struct dp_task;
struct metadata_fetch;
struct ut_pex_state;

#define TORRENT_MAX_CONTRIBUTORS 8

/* A piece being downloaded: blocks land straight in data. */
struct piece_buf {
	uint32_t piece;
	uint8_t *data;
	uint32_t received;                       /* bytes */
	struct sockaddr_storage contrib[TORRENT_MAX_CONTRIBUTORS];   /* who sent blocks */
	uint8_t ncontrib;
	uint8_t *block_from;                     /* per block: index into contrib */
	bool writing;                            /* submitted to the disk pool */
};

/* A piece read from disk for serving; shared by reference with peers' output buffers. */
struct cache_piece {
	struct torrent *t;
	uint32_t piece;
	uint8_t *data;
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

struct torrent {
	struct engine *e;
	int id;
	struct torrent *next;
	struct dp_task *task;

	struct metainfo *mi;           /* a placeholder (no pieces, no files) while md != NULL */
	struct metadata_fetch *md;     /* a magnet's info dictionary being fetched; NULL once known */
	struct ut_pex_state *pex;      /* BEP 11: what each peer was told (ut_pex.c), lazily made */
	struct storage *st;
	struct picker *pk;
	struct tracker_set *ts;
	char save_dir[1024];

	enum engine_torrent_state state;
	char error[256];
	struct dp_bitfield have;                 /* verified pieces */
	uint64_t have_bytes;
	uint8_t *file_prio;                      /* enum engine_prio per file */
	bool sequential;
	bool stop_requested;

	struct peer *peers;
	int npeers;
	struct known_peer *known;
	size_t nknown, known_cap;
	struct strike *strikes;
	size_t nstrikes;
	struct smartban smartban;                /* failed mixed pieces awaiting a verdict */

	struct piece_buf **partial;              /* by piece index, NULL when not in progress */
	uint32_t npartial;
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
	int max_peers, upload_slots;
	int64_t added_date, completed_date;
	uint32_t rng;
	uint64_t last_choke_ms, last_optimistic_ms;
	bool announced;                          /* trackers were told started */
	bool tracker_stopping;                   /* waiting for the stopped announces */
	int disk_jobs;                           /* in flight; the torrent is freed after 0 */
	bool removing, freeing;
	bool delete_data;
	void *piece_pool;                        /* freed piece buffers kept for reuse */
	size_t piece_pool_bytes;
};

struct torrent *torrent_new(struct engine *e, struct metainfo *mi, const char *save_dir,
    const struct engine_add_opts *opts, char *err, size_t errlen);
void torrent_start(struct torrent *t);
/* Stops peers and trackers (stopped announce). */
void torrent_stop(struct torrent *t, bool user);
/* Stops and frees once its disk jobs are done; with delete_data removes its files. */
void torrent_remove(struct torrent *t, bool delete_data);
void torrent_free(struct torrent *t);
void torrent_recheck(struct torrent *t);
/* fsync the torrent's files on the disk pool. */
void torrent_sync(struct torrent *t);
/* Puts the torrent into the error state with msg (its peers are closed). */
void torrent_set_error(struct torrent *t, const char *fmt, ...) DP_PRINTF(2, 3);

void torrent_add_known_peer(struct torrent *t, const struct sockaddr *sa, socklen_t len);
void torrent_tick(struct torrent *t, uint64_t now_ms);
/* Opens connections to known peers up to the limits. */
void torrent_connect_peers(struct torrent *t, uint64_t now_ms);
void torrent_refill(struct torrent *t, uint64_t now_ms);
bool torrent_is_active(const struct torrent *t);
bool torrent_is_seeding(const struct torrent *t);
bool torrent_wants_peers(const struct torrent *t);
uint64_t torrent_left(const struct torrent *t);
uint64_t torrent_wanted(const struct torrent *t);

/* Peer hooks. */
void torrent_attach_peer(struct torrent *t, struct peer *p);
void torrent_detach_peer(struct torrent *t, struct peer *p);
/* A block arrived: the peer reads it from its input buffer into the assembly buffer. Returns
 * a pointer where len bytes at offset go, or NULL when the block is not wanted (then the peer
 * drains it). torrent_block_done then records it. */
uint8_t *torrent_block_dest(struct torrent *t, uint32_t piece, uint32_t offset, uint32_t len);
/* The peer became interested: it may get a free upload slot right away. */
void torrent_peer_interested(struct torrent *t, struct peer *p);
void torrent_block_done(struct torrent *t, struct peer *p, uint32_t piece, uint32_t offset,
    uint32_t len);
/* Cached piece data for serving, or NULL; a NULL starts loading it. */
struct cache_piece *torrent_cache_get(struct torrent *t, uint32_t piece);
void torrent_cache_unref(struct cache_piece *c);
void torrent_file_priority(struct torrent *t, size_t file, enum engine_prio prio);
void torrent_set_sequential(struct torrent *t, bool on);
void torrent_fill_stats(struct torrent *t, struct engine_torrent_stats *out);

#endif
