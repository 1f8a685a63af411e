/* dht_lookup.h: one iterative lookup (BEP 5 find_node / get_peers): candidates sorted by XOR
 * distance to the target, alpha queries in flight, done when the k closest have answered. Pure:
 * the node sends what dht_lookup_next picks and reports answers and timeouts back. */
#ifndef DP_ENGINE_INTERNAL
#error "dht_lookup.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DHT_LOOKUP_H
#define DP_DHT_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht_id.h"
#include "krpc.h"

#define DHT_ALPHA 3                      /* queries in flight per lookup */
#define DHT_LOOKUP_K 8                   /* the closest that must answer before it ends */
#define DHT_LOOKUP_MAX_CANDS 64          /* candidates kept; farther ones are dropped */
/* A query unanswered this long no longer holds its alpha slot (the lookup moves on past a slow
 * node; a late answer still counts). */
#define DHT_LOOKUP_SLOW_MS 1500u

enum dht_cand_state { DHT_CAND_NEW, DHT_CAND_SENT, DHT_CAND_REPLIED, DHT_CAND_FAILED };

struct dht_lookup_cand {
	struct krpc_node node;
	bool id_known;                   /* bootstrap addresses come without an ID */
	enum dht_cand_state state;
	uint64_t sent_ms;
	uint8_t token[KRPC_TOKEN_MAX];   /* get_peers answers: the write token for announce */
	size_t token_len;
};

struct dht_lookup {
	uint8_t target[DHT_ID_LEN];
	struct dht_lookup_cand cands[DHT_LOOKUP_MAX_CANDS];
	size_t n;
	size_t replied, failed, sent;    /* counts over the whole lookup */
};

void dht_lookup_init(struct dht_lookup *l, const uint8_t target[DHT_ID_LEN]);
/* Offers a node (id NULL: an address without a known ID, queried only while fewer than
 * DHT_LOOKUP_K nodes with IDs are known). Duplicates (same ID or same address) are ignored; a
 * full list drops its farthest for a closer node. Returns true when it was added. */
bool dht_lookup_add(struct dht_lookup *l, const uint8_t *id, const struct sockaddr *addr,
    socklen_t addrlen);
/* The next candidate to query now, marked as sent; -1 when alpha queries are in flight or none
 * of the candidates that matter is new. */
int dht_lookup_next(struct dht_lookup *l, uint64_t now_ms);
/* Candidate i answered with node ID id (a mismatch for a known ID counts as a failure) and an
 * optional token. Returns false when the answer was not accepted. */
bool dht_lookup_replied(struct dht_lookup *l, int i, const uint8_t id[DHT_ID_LEN],
    const uint8_t *token, size_t token_len);
void dht_lookup_failed(struct dht_lookup *l, int i);
/* Finished: the DHT_LOOKUP_K closest live candidates with IDs have all answered, or nothing is
 * left to ask and nothing is in flight. */
bool dht_lookup_done(const struct dht_lookup *l);
/* Queries in flight (sent, not yet answered or failed). */
size_t dht_lookup_inflight(const struct dht_lookup *l);
/* Indexes of up to max of the closest candidates that answered with a token (announce_peer
 * goes to them), closest first. */
size_t dht_lookup_announce_set(const struct dht_lookup *l, int *out, size_t max);
/* The index of the candidate at addr that is in flight, or -1. */
int dht_lookup_find_sent(const struct dht_lookup *l, const struct sockaddr *addr);

#endif
