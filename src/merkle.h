/* merkle.h: BitTorrent v2 (BEP 52) SHA-256 merkle trees: 16 KiB leaves, the hash of one piece, a
 * file's root from its piece layer, and the proofs that hash messages carry. */
#ifndef DP_MERKLE_H
#define DP_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_BLOCK 16384u     /* bytes under one leaf */
#define MERKLE_HASH 32u         /* SHA-256 */

/* SHA-256 state reused across calls (allocating one per hash costs more than hashing 64 bytes).
 * One per thread; NULL wherever a hasher is asked for uses a temporary one. */
struct merkle_hasher;
struct merkle_hasher *merkle_hasher_new(void);
void merkle_hasher_free(struct merkle_hasher *h);

void merkle_sha256(struct merkle_hasher *h, const void *data, size_t len, uint8_t out[32]);
/* out = SHA-256(left || right); out may alias either input. */
void merkle_pair(struct merkle_hasher *h, const uint8_t left[32], const uint8_t right[32],
    uint8_t out[32]);
/* The root of a subtree of 2^level all-zero leaves (level 0: 32 zero bytes); level <= 63. */
void merkle_pad(struct merkle_hasher *h, unsigned level, uint8_t out[32]);

/* Smallest power of two >= n (1 for n <= 1); n must be <= 2^62. */
uint64_t merkle_pow2(uint64_t n);
/* log2 of a power of two. */
unsigned merkle_log2(uint64_t pow2);

/*
 * Root over width nodes (a power of two >= n) of which the first n are given (32 bytes each) and
 * the rest are pad subtrees of 2^pad_level zero leaves. scratch holds at least 32 * n bytes and
 * may equal nodes (then nodes is overwritten).
 */
void merkle_root(struct merkle_hasher *h, const uint8_t *nodes, uint64_t n, uint64_t width,
    unsigned pad_level, uint8_t *scratch, uint8_t out[32]);

/*
 * Leaves a piece's subtree has: piece_length / 16 KiB when the file spans more than one piece,
 * else the file's block count rounded up to a power of two (a small file's root is its only
 * piece's hash). file_length > 0.
 */
uint64_t merkle_piece_width(uint64_t file_length, uint32_t piece_length);

/* The hash of one piece: len bytes (<= 16 KiB * width) cut into leaves, padded with zero leaves
 * to width. scratch holds 32 * ceil(len / 16 KiB) bytes. */
void merkle_piece_root(struct merkle_hasher *h, const uint8_t *data, size_t len, uint64_t width,
    uint8_t *scratch, uint8_t out[32]);

/* A file's root from its piece layer: count piece hashes of a file longer than one piece,
 * padded with zero subtrees of piece_length / 16 KiB leaves. scratch: 32 * count bytes. */
void merkle_root_from_layer(struct merkle_hasher *h, const uint8_t *layer, uint64_t count,
    uint32_t piece_length, uint8_t *scratch, uint8_t out[32]);

/*
 * Checks a run of hashes against a file's root (BEP 52 hashes message): count nodes (a power of
 * two) of one layer starting at node index (a multiple of count), then proof_count uncle hashes
 * from the run's subtree upwards, which must end exactly at the root: the run's subtree sits at
 * index / count among 2^proof_count nodes of its height. True when they agree.
 */
bool merkle_verify_run(struct merkle_hasher *h, const uint8_t *run, uint64_t count,
    uint64_t index, const uint8_t *proof, unsigned proof_count, const uint8_t root[32]);

#endif
