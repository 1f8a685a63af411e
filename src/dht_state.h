/* dht_state.h: the DHT's saved state in the session directory (our node ID and the nodes of the
 * routing tables, so that the next start needs no bootstrap): a bencoded dictionary with "id",
 * compact "nodes" and "nodes6". Pure; the file is read and written on the disk pool. */
#ifndef DP_ENGINE_INTERNAL
#error "dht_state.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DHT_STATE_H
#define DP_DHT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "krpc.h"
#include "util.h"

#define DHT_STATE_FILE "dht.dat"
#define DHT_STATE_MAX_BYTES (64u * 1024u)
#define DHT_STATE_MAX_NODES 1000u        /* per family, kept on load; more are ignored */

void dht_state_encode(struct dp_buf *b, const uint8_t id[DHT_ID_LEN],
    const struct krpc_node *nodes, size_t n);
/* Decodes a saved state: id (all zero when absent), nodes of both families into a new array
 * *nodes (free()), their count in *n. 0, or -1 with err. */
int dht_state_decode(const uint8_t *buf, size_t len, uint8_t id[DHT_ID_LEN],
    struct krpc_node **nodes, size_t *n, char *err, size_t errlen);

#endif
