/* ut_metadata.h: the BEP 9 ut_metadata message codec (request, data, reject; 16 KiB pieces of the
 * info dictionary) and the assembly buffer that collects pieces and checks them against the hash. */
#ifndef DP_ENGINE_INTERNAL
#error "ut_metadata.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_UT_METADATA_H
#define DP_UT_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define UT_METADATA_PIECE (16u * 1024u)
/* The largest info dictionary we fetch or believe a peer about (BEP 9 sets no limit). */
#define UT_METADATA_MAX_SIZE (16u << 20)
#define UT_METADATA_MAX_PIECES (UT_METADATA_MAX_SIZE / UT_METADATA_PIECE)
/* The extension id we advertise in our handshake's "m" dict: peers send ut_metadata with it. */
#define UT_METADATA_LOCAL_ID 2

enum ut_metadata_type {
	UT_METADATA_REQUEST = 0,
	UT_METADATA_DATA = 1,
	UT_METADATA_REJECT = 2
};

struct ut_metadata_msg {
	enum ut_metadata_type type;
	uint32_t piece;
	uint64_t total_size;      /* DATA: the sender's metadata size */
	const uint8_t *data;      /* DATA: the piece's bytes, pointing into the parsed payload */
	size_t data_len;
};

/*
 * Parses the payload of an EXTENDED message (after the extension id byte). DATA must carry a
 * total_size in 1..UT_METADATA_MAX_SIZE, a piece inside it and exactly that piece's bytes after
 * the dictionary; REQUEST and REJECT must have nothing after it; every piece index must be below
 * UT_METADATA_MAX_PIECES. Unknown keys are ignored. 0, or -1 with err filled.
 */
int ut_metadata_parse(const uint8_t *payload, size_t len, struct ut_metadata_msg *out, char *err,
    size_t errlen);

/* Builders: append the payload (without the extension id byte) to out. */
void ut_metadata_build_request(struct dp_buf *out, uint32_t piece);
void ut_metadata_build_reject(struct dp_buf *out, uint32_t piece);
/* data is piece number piece of a metadata blob of total_size bytes (len = that piece's size). */
void ut_metadata_build_data(struct dp_buf *out, uint32_t piece, uint64_t total_size,
    const uint8_t *data, size_t len);

/* Pieces in a blob of total_size bytes, and the size of one of them (0 when out of range). */
uint32_t ut_metadata_piece_count(uint64_t total_size);
uint32_t ut_metadata_piece_size(uint64_t total_size, uint32_t piece);

/* Collects the pieces of one metadata blob. */
struct ut_metadata_buf {
	uint64_t size;            /* 0: not sized yet */
	uint32_t pieces;
	uint32_t received;        /* pieces stored */
	uint8_t *have;            /* one byte per piece */
	uint8_t *data;
};

/* false when size is 0 or over UT_METADATA_MAX_SIZE. */
bool ut_metadata_buf_init(struct ut_metadata_buf *b, uint64_t size);
void ut_metadata_buf_free(struct ut_metadata_buf *b);
/* Stores a piece. -1 with err when the index or the length does not fit the size; 0 when
 * stored (a piece already held is overwritten). */
int ut_metadata_buf_put(struct ut_metadata_buf *b, uint32_t piece, const uint8_t *data,
    size_t len, char *err, size_t errlen);
bool ut_metadata_buf_complete(const struct ut_metadata_buf *b);
/* True when the whole blob is there and its SHA-1 equals info_hash. */
bool ut_metadata_buf_verify(const struct ut_metadata_buf *b, const uint8_t info_hash[20]);

#endif
