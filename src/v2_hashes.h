/* v2_hashes.h: a torrent's answers to BEP 52 hash requests: the piece-layer runs of its files
 * with their proofs up to each file's root, from trees built once per file on first request.
 * Loop thread only. */
#ifndef DP_ENGINE_INTERNAL
#error "v2_hashes.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_V2_HASHES_H
#define DP_V2_HASHES_H

#include <stdint.h>

struct metainfo;
struct wire_hash_req;
struct v2_hashes;

/* The metainfo must outlive it and have v2 data. */
struct v2_hashes *v2_hashes_new(const struct metainfo *mi);
void v2_hashes_free(struct v2_hashes *vh);

/* Most hashes an answer holds: a run and its uncles. */
#define V2_HASHES_MAX (8192u + 64u)

/*
 * The answer to req: the run of req->length piece-layer hashes of the file whose pieces root is
 * req->root (hashes of padding past its last piece included), then the uncle hashes its proof
 * layers reach (wire_hash_uncles), stopping below the root. Writes them to out (room for V2_HASHES_MAX) and returns how
 * many; 0 when it cannot answer (unknown root, a base layer other than the pieces', a file of
 * one piece, a run outside the tree): the peer gets a hash reject.
 */
uint32_t v2_hashes_answer(struct v2_hashes *vh, const struct wire_hash_req *req, uint8_t *out);

#endif
