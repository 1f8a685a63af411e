/* wire_hash.h: the BitTorrent v2 hash messages (BEP 52): hash request (21), hashes (22) and hash
 * reject (23), parsed from a message's payload with strict limits and built into an evbuffer.
 * No sockets, no torrent: peer.c hands the payload of a message wire.c left unknown. */
#ifndef DP_ENGINE_INTERNAL
#error "wire_hash.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_WIRE_HASH_H
#define DP_WIRE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum {
	WIRE_HASH_REQUEST = 21,
	WIRE_HASHES = 22,
	WIRE_HASH_REJECT = 23,
};

#define WIRE_HASH_HEADER 48u          /* pieces root, base layer, index, length, proof layers */
#define WIRE_HASH_MAX_LENGTH 8192u    /* base-layer hashes in one message (libtorrent's bound) */
#define WIRE_HASH_MAX_LAYER 62u       /* a tree of 2^62 leaves is far past any file */

struct wire_hash_req {
	uint8_t root[32];                 /* the file's pieces root */
	uint32_t base_layer;              /* 0: the 16 KiB leaves; log2(piece / 16 KiB): pieces */
	uint32_t index;                   /* first node of the run, a multiple of length */
	uint32_t length;                  /* nodes in the run: a power of two, at most 8192 */
	uint32_t proof_layers;            /* layers above the base the proof reaches, counted
	                                     from the base as libtorrent does: the run's own
	                                     subtree covers log2(length) of them, the rest are
	                                     uncles (wire_hash_uncles) */
};

struct wire_hashes {
	struct wire_hash_req req;
	const uint8_t *hashes;            /* length base-layer hashes, then the proof's uncles,
	                                     32 bytes each, pointing into the payload */
	uint32_t count;                   /* hashes in all: length + uncles */
};

/* Uncle hashes a full answer to r carries: proof_layers + 1 - log2(length), or 0 (libtorrent
 * sends exactly these and refuses an answer with another count; a server stops at the root). */
uint32_t wire_hash_uncles(const struct wire_hash_req *r);

/*
 * Parses the payload (after the id byte) of a HASH_REQUEST or HASH_REJECT (exactly 48 bytes)
 * or of HASHES (48 + 32 * n, at least length hashes and at most wire_hash_uncles more). Checks what
 * every message must satisfy: length a power of two in 1..8192, index a multiple of it,
 * base_layer and proof_layers at most 62. 0, or -1 with a reason in err.
 */
int wire_hash_parse_req(const uint8_t *payload, size_t len, struct wire_hash_req *out,
    char *err, size_t errlen);
int wire_hash_parse_hashes(const uint8_t *payload, size_t len, struct wire_hashes *out,
    char *err, size_t errlen);

/* Builders: append one whole message (length prefix, id, payload). 0, or -1 when the buffer
 * could not grow. hashes holds count * 32 bytes. */
int wire_hash_put_req(struct evbuffer *ev, int id, const struct wire_hash_req *r);
int wire_hash_put_hashes(struct evbuffer *ev, const struct wire_hash_req *r,
    const uint8_t *hashes, uint32_t count);

#endif
