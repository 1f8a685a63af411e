/* peer_piece.c: the walk over the parts of a lent piece's file spans that a block covers. */
#include "config.h"

#include "peer_piece.h"
#include "util.h"

int
peer_piece_walk(const struct peer_piece *c, uint32_t offset, uint32_t len,
    peer_piece_part_fn fn, void *arg)
{
	uint32_t pos = 0, end = offset + len;
	for (size_t i = 0; i < c->nspans && pos < end; pos += c->spans[i].length, i++) {
		const struct peer_piece_span *s = &c->spans[i];
		if (pos + s->length <= offset)
			continue;
		uint32_t from = DP_MAX(offset, pos), to = DP_MIN(end, pos + s->length);
		if (fn(arg, s, from - pos, to - from) < 0)
			return -1;
	}
	return pos >= end ? 0 : -1;
}
