/* dht_store.h: the peers other nodes announced to us (BEP 5 announce_peer), per info-hash and
 * bounded: DHT_STORE_MAX_HASHES info-hashes of DHT_STORE_MAX_PEERS peers each, every peer
 * forgotten DHT_STORE_TTL_MS after its last announce. Pure: time and randomness are arguments. */
#ifndef DP_ENGINE_INTERNAL
#error "dht_store.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DHT_STORE_H
#define DP_DHT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "krpc.h"

#define DHT_STORE_MAX_HASHES 1000
#define DHT_STORE_MAX_PEERS 100
#define DHT_STORE_TTL_MS (30u * 60u * 1000u)

struct dht_store;

struct dht_store *dht_store_new(void);
void dht_store_free(struct dht_store *s);
/* addr announced itself for info_hash. A new info-hash in a full store takes the place of a
 * random one (rnd), so a flood of made-up hashes cannot lock real ones out for long; a full
 * list of peers drops the one heard longest ago. */
void dht_store_add(struct dht_store *s, const uint8_t info_hash[DHT_ID_LEN],
    const struct sockaddr *addr, uint64_t now_ms, uint32_t rnd);
/* Up to max live peers of the given family for info_hash, starting at a random one (rnd) so
 * that askers see different subsets. Returns the count. */
size_t dht_store_get(const struct dht_store *s, const uint8_t info_hash[DHT_ID_LEN], int family,
    struct krpc_peer *out, size_t max, uint64_t now_ms, uint32_t rnd);
/* Forgets expired peers (and info-hashes left without any) in up to budget info-hashes,
 * continuing where the last call stopped: a bounded slice per timer tick. */
void dht_store_expire(struct dht_store *s, uint64_t now_ms, size_t budget);
size_t dht_store_hashes(const struct dht_store *s);
size_t dht_store_peers(const struct dht_store *s);

#endif
