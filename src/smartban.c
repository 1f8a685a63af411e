/* smartban.c: block-level blame for pieces that failed the hash check with several senders:
 * SHA-1 of each received block, compared with the good block once the piece passes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "smartban.h"
#include "util.h"

struct smartban_record {
	uint32_t piece;
	uint32_t len;
	uint32_t block_size;
	uint32_t nblocks;
	uint8_t *from;                       /* per block, index into senders */
	uint8_t (*digest)[20];               /* per block */
	struct sockaddr_storage senders[SMARTBAN_MAX_SENDERS];
	uint8_t nsenders;
};

void
smartban_init(struct smartban *sb)
{
	sb->recs = NULL;
	sb->n = 0;
}

static void
smartban_record_clear(struct smartban_record *r)
{
	free(r->from);
	free(r->digest);
}

void
smartban_free(struct smartban *sb)
{
	for (size_t i = 0; i < sb->n; i++)
		smartban_record_clear(&sb->recs[i]);
	free(sb->recs);
	sb->recs = NULL;
	sb->n = 0;
}

bool
smartban_record_failure(struct smartban *sb, uint32_t piece, const uint8_t *data,
    uint32_t len, uint32_t block_size, const uint8_t *from,
    const struct sockaddr_storage *senders, uint8_t nsenders)
{
	if (sb->n >= SMARTBAN_MAX_RECORDS || len == 0 || block_size == 0 || nsenders == 0 ||
	    nsenders > SMARTBAN_MAX_SENDERS)
		return false;
	struct smartban_record r;
	memset(&r, 0, sizeof r);
	r.piece = piece;
	r.len = len;
	r.block_size = block_size;
	r.nblocks = (uint32_t)(((uint64_t)len + block_size - 1) / block_size);
	r.from = xmalloc(r.nblocks);
	r.digest = xcalloc(r.nblocks, sizeof *r.digest);
	for (uint32_t b = 0; b < r.nblocks; b++) {
		uint32_t off = b * block_size;
		uint32_t n = len - off < block_size ? len - off : block_size;
		r.from[b] = from[b] < nsenders ? from[b] : SMARTBAN_NONE;
		if (r.from[b] != SMARTBAN_NONE)
			disk_sha1(data + off, n, r.digest[b]);
	}
	memcpy(r.senders, senders, nsenders * sizeof *senders);
	r.nsenders = nsenders;
	sb->recs = xreallocarray(sb->recs, sb->n + 1, sizeof *sb->recs);
	sb->recs[sb->n++] = r;
	return true;
}

size_t
smartban_pending(const struct smartban *sb, uint32_t piece)
{
	size_t n = 0;
	for (size_t i = 0; i < sb->n; i++)
		if (sb->recs[i].piece == piece)
			n++;
	return n;
}

static void
smartban_remove(struct smartban *sb, size_t i)
{
	smartban_record_clear(&sb->recs[i]);
	memmove(&sb->recs[i], &sb->recs[i + 1], (sb->n - i - 1) * sizeof *sb->recs);
	sb->n--;
	if (sb->n == 0) {
		free(sb->recs);
		sb->recs = NULL;
	}
}

size_t
smartban_judge(struct smartban *sb, uint32_t piece, const uint8_t *good, uint32_t len,
    void (*verdict)(const struct sockaddr_storage *addr, bool guilty, void *arg), void *arg)
{
	size_t judged = 0;
	size_t i = 0;
	while (i < sb->n) {
		struct smartban_record *r = &sb->recs[i];
		if (r->piece != piece) {
			i++;
			continue;
		}
		if (r->len == len) {
			bool guilty[SMARTBAN_MAX_SENDERS] = { false };
			bool seen[SMARTBAN_MAX_SENDERS] = { false };
			for (uint32_t b = 0; b < r->nblocks; b++) {
				if (r->from[b] == SMARTBAN_NONE)
					continue;
				uint32_t off = b * r->block_size;
				uint32_t n = len - off < r->block_size ? len - off : r->block_size;
				uint8_t d[20];
				disk_sha1(good + off, n, d);
				seen[r->from[b]] = true;
				if (memcmp(d, r->digest[b], 20) != 0)
					guilty[r->from[b]] = true;
			}
			for (uint8_t s = 0; s < r->nsenders; s++)
				if (seen[s])
					verdict(&r->senders[s], guilty[s], arg);
			judged++;
		}
		smartban_remove(sb, i);
	}
	return judged;
}

void
smartban_forget(struct smartban *sb, uint32_t piece)
{
	size_t i = 0;
	while (i < sb->n) {
		if (sb->recs[i].piece == piece)
			smartban_remove(sb, i);
		else
			i++;
	}
}
