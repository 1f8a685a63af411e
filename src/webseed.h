/* webseed.h: a torrent's BEP 19 web seeds (url-list): whole pieces fetched with HTTP Range
 * requests (a single file's URL, or a folder's URL plus name/path for multi-file torrents),
 * several in flight per seed, retried with backoff; a seed whose data fails the hash check, or
 * that answers a range with the whole file, is disabled with the reason. Each seed is a task and
 * reports to its torrent through webseed_ops. Loop thread only. */
#ifndef DP_ENGINE_INTERNAL
#error "webseed.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_WEBSEED_H
#define DP_WEBSEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bw_bucket;
struct event_base;
struct evdns_base;
struct metainfo;
struct peer_swarm;
struct ssl_ctx_st;

#define WEBSEED_MAX 32              /* seeds used per torrent (a piece keeps a mask of them) */

struct webseed_ops {
	/* Where a block of piece goes; NULL when it is no longer wanted. */
	uint8_t *(*block_dest)(void *owner, uint32_t piece, uint32_t offset, uint32_t len);
	/* The block was copied there: seed is the requester the picker knows, idx its number. */
	void (*block_done)(void *owner, const void *seed, unsigned idx, uint32_t piece,
	    uint32_t offset, uint32_t len);
};

struct webseed_env {
	struct event_base *base;
	struct evdns_base *dns;
	struct ssl_ctx_st *ssl_ctx;         /* for https:// seeds; NULL: they fail with the reason */
	const struct metainfo *mi;
	const struct peer_swarm *sw;        /* its picker and rate limits, kept current */
	struct bw_bucket *global_down;      /* the session's download limit */
	const bool *disk_paused;            /* the session's disk pause: no new fetch while set
	                                       (NULL: none) */
	const struct webseed_ops *ops;
	void *owner;
	int torrent_id;
};

/* One seed as the peers list shows it. */
struct webseed_info {
	const char *url;
	bool disabled;
	const char *reason;                 /* why disabled, or the last failure; "" when none */
	unsigned inflight;
	uint64_t downloaded;                /* bytes delivered */
	uint64_t down_rate;                 /* bytes/s */
};

/* The seeds of env->mi's url-list (HTTP and HTTPS only, at most WEBSEED_MAX); NULL when none. */
struct webseed_set *webseed_set_new(const struct webseed_env *env);
void webseed_set_free(struct webseed_set *s);
/* Starts fetches while pieces are wanted, the seeds are due and the limits allow. */
void webseed_set_tick(struct webseed_set *s, uint64_t now_ms);
/* Cancels every fetch and gives its blocks back to the picker (stop, recheck). */
void webseed_set_stop(struct webseed_set *s);
/* piece, to which the seeds in mask (bit idx) contributed, failed its hash check. */
void webseed_set_piece_failed(struct webseed_set *s, uint32_t mask, uint32_t piece);
/* who (a requester the picker names) is one of these seeds. */
bool webseed_set_owns(const struct webseed_set *s, const void *who);
size_t webseed_set_count(const struct webseed_set *s);
void webseed_set_info(struct webseed_set *s, size_t i, struct webseed_info *out);

/* The URL of len bytes of file `file` for a seed at base (BEP 19): base itself for a single
 * file (base/name when it ends in '/'), base/name/path for multi-file torrents; components are
 * percent-encoded. Exposed for tests. */
char *webseed_file_url(const char *base, const struct metainfo *mi, size_t file);

#endif
