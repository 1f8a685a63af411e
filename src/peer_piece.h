/* peer_piece.h: piece data a peer's owner lends it for serving: bytes in memory, or spans of
 * the files (sent from the page cache), the reference that gives them back, and the walk over
 * a block's parts of those spans. */
#ifndef DP_PEER_PIECE_H
#define DP_PEER_PIECE_H

#include <stddef.h>
#include <stdint.h>

/* A reference to piece data the owner lends for serving: the evbuffer holding a block gives it
 * back with ref->unref(ref) once the block is sent (or dropped), perhaps after the peer is gone. */
struct peer_piece_ref {
	void (*unref)(struct peer_piece_ref *ref);
};

/* Piece bytes lent as a part of one file (seg: sent from the page cache by sendfile or splice,
 * never copied through user space), or zeros (seg NULL: a pad file). fd, the segment's own
 * descriptor, and offset, where the span starts in the file, are for splice. */
#define PEER_PIECE_SPANS_MAX 8
struct evbuffer_file_segment;
struct peer_piece_span {
	struct evbuffer_file_segment *seg;
	int fd;
	uint64_t offset;
	uint32_t length;
};

/* A piece lent for serving: its bytes (data), or the spans of its files in order (data NULL). */
struct peer_piece {
	const uint8_t *data;
	const struct peer_piece_span *spans;
	size_t nspans;
	uint32_t length;
	struct peer_piece_ref *ref;         /* one reference, taken for the caller */
};

/* Calls fn for each part of [offset, offset+len) of c's spans, in order: the span and where
 * the part starts in it, n bytes. Stops at fn's -1. Returns 0, or -1 when fn failed or the
 * spans end before offset+len. */
typedef int (*peer_piece_part_fn)(void *arg, const struct peer_piece_span *s, uint32_t at,
    uint32_t n);
int peer_piece_walk(const struct peer_piece *c, uint32_t offset, uint32_t len,
    peer_piece_part_fn fn, void *arg);

#endif
