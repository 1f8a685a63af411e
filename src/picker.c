/* picker.c: the piece picker: candidate pieces bucketed by (priority, availability) for O(1)
 * moves, per-block state only for pieces in progress, endgame duplicates and cancels. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "picker.h"
#include "util.h"

/* Per-piece state bits. */
#define PS_HAVE 0x01
#define PS_BUCKET 0x02	/* a fresh candidate: pos is its index in its bucket */
#define PS_PARTIAL 0x04	/* in progress: pos is its index in p->partials */

#define PRIO_LEVELS (PRIO_HIGH + 1)
#define NO_POS UINT32_MAX
/* Random-first draws per wanted piece before falling back to rarest order (the peer may lack
 * most of our candidates). */
#define RANDOM_FIRST_TRIES 32
#define BUCKET_MIN_CAP 8

enum block_state { BLK_FREE = 0, BLK_REQUESTED, BLK_RECEIVED };

struct pblock {
	const void *peer;	/* first requester while BLK_REQUESTED */
	uint16_t nextra;	/* further requesters (endgame), kept in the partial's extra list */
	uint8_t state;
};

struct extra_req {
	uint32_t block;
	const void *peer;
};

/* A piece in progress. Only these carry block state, so memory follows the download front. */
struct partial {
	uint32_t piece;
	uint32_t nblocks;
	uint32_t nfree, nreq, nrecv;
	uint32_t first_free;	/* no free block below this index */
	const void *owner;	/* peer that started (or took over) the piece */
	bool owner_fast;
	struct pblock *blocks;
	struct extra_req *extra;
	size_t nextra, extra_cap;
};

/* Fresh candidates of one (priority, availability); the order is a random permutation, which
 * is the random tie-break among equally rare pieces. */
struct bucket {
	uint32_t *v;
	uint32_t n, cap;
};

struct prio_level {
	struct bucket *buckets;	/* index: availability not counting seeds */
	uint32_t nbuckets;
	uint32_t count;		/* pieces in all buckets of this level */
	uint32_t seq_next;	/* sequential mode: no candidate of this level below this piece */
};

struct picker {
	uint32_t piece_count;
	uint32_t piece_length, last_piece_length;
	uint64_t total_size;
	uint8_t *state;
	uint8_t *prio;
	uint32_t *avail;
	uint32_t *pos;
	struct prio_level levels[PRIO_LEVELS];
	uint32_t bucket_total;
	struct partial **partials;
	size_t npartials, partials_cap;
	uint32_t have_count;
	uint32_t wanted_missing;	/* not had and not PRIO_SKIP */
	uint32_t seeds;
	bool sequential;
	/* Buckets are stale after a bulk availability change; rebuilt before the next use. */
	bool dirty;
	uint64_t rng;
};

enum partial_pass {
	PASS_OWN_OR_IDLE,	/* fast peer: its own pieces, or pieces nobody is serving */
	PASS_SHARED,		/* slow peer: pieces no fast peer is working through */
	PASS_ANY,
};

static uint32_t
picker_random(struct picker *p)
{
	/* splitmix64: tiny state, good spread, reproducible from the seed. */
	uint64_t z = (p->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static uint32_t
picker_random_below(struct picker *p, uint32_t n)
{
	return (uint32_t)(((uint64_t)picker_random(p) * n) >> 32);
}

static uint32_t
picker_piece_size(const struct picker *p, uint32_t piece)
{
	return piece + 1 == p->piece_count ? p->last_piece_length : p->piece_length;
}

static uint32_t
picker_nblocks(const struct picker *p, uint32_t piece)
{
	return (uint32_t)(((uint64_t)picker_piece_size(p, piece) + DP_BLOCK_SIZE - 1) /
	    DP_BLOCK_SIZE);
}

static bool
picker_peer_has(const struct dp_bitfield *has, uint32_t piece)
{
	return has == NULL || bitfield_get(has, piece);
}

/* --- buckets of fresh candidates --- */

static void
picker_level_grow(struct prio_level *lv, uint32_t a)
{
	if (a < lv->nbuckets)
		return;
	uint32_t n = DP_MAX(a + 1, lv->nbuckets * 2);
	n = DP_MAX(n, 8u);
	lv->buckets = xreallocarray(lv->buckets, n, sizeof *lv->buckets);
	memset(lv->buckets + lv->nbuckets, 0, (n - lv->nbuckets) * sizeof *lv->buckets);
	lv->nbuckets = n;
}

/*
 * Re-sorts every candidate into its (priority, availability) bucket in O(pieces): a counting
 * pass, a fill in piece order and a shuffle per bucket. A bitfield from a new peer moves most
 * pieces; moving them one by one would cost a cache miss or four each.
 */
static void
picker_rebuild(struct picker *p)
{
	p->dirty = false;
	for (int l = 0; l < PRIO_LEVELS; l++)
		for (uint32_t a = 0; a < p->levels[l].nbuckets; a++)
			p->levels[l].buckets[a].n = 0;
	for (uint32_t i = 0; i < p->piece_count; i++) {
		if (!(p->state[i] & PS_BUCKET))
			continue;
		struct prio_level *lv = &p->levels[p->prio[i]];
		picker_level_grow(lv, p->avail[i]);
		lv->buckets[p->avail[i]].n++;
	}
	for (int l = 0; l < PRIO_LEVELS; l++) {
		struct prio_level *lv = &p->levels[l];
		for (uint32_t a = 0; a < lv->nbuckets; a++) {
			struct bucket *b = &lv->buckets[a];
			uint32_t cap = DP_MAX(b->n, (uint32_t)BUCKET_MIN_CAP);
			if (b->cap < cap || b->cap / 4 > cap) {
				b->cap = cap;
				b->v = xreallocarray(b->v, b->cap, sizeof *b->v);
			}
			b->n = 0;
		}
	}
	for (uint32_t i = 0; i < p->piece_count; i++) {
		if (!(p->state[i] & PS_BUCKET))
			continue;
		struct bucket *b = &p->levels[p->prio[i]].buckets[p->avail[i]];
		p->pos[i] = b->n;
		b->v[b->n++] = i;
	}
	for (int l = 0; l < PRIO_LEVELS; l++) {
		struct prio_level *lv = &p->levels[l];
		for (uint32_t a = 0; a < lv->nbuckets; a++) {
			struct bucket *b = &lv->buckets[a];
			for (uint32_t j = b->n; j > 1; j--) {
				uint32_t k = picker_random_below(p, j);
				uint32_t x = b->v[j - 1];
				b->v[j - 1] = b->v[k];
				b->v[k] = x;
				p->pos[b->v[j - 1]] = j - 1;
				p->pos[x] = k;
			}
		}
	}
}

static void
picker_buckets_fresh(struct picker *p)
{
	if (p->dirty)
		picker_rebuild(p);
}

static void
picker_bucket_insert(struct picker *p, uint32_t piece)
{
	struct prio_level *lv = &p->levels[p->prio[piece]];
	uint32_t a = p->avail[piece];

	if (p->dirty) {
		/* The rebuild places it; only the flag and the counts matter until then. */
		p->state[piece] |= PS_BUCKET;
		lv->count++;
		p->bucket_total++;
		if (piece < lv->seq_next)
			lv->seq_next = piece;
		return;
	}

	picker_level_grow(lv, a);
	struct bucket *b = &lv->buckets[a];
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : BUCKET_MIN_CAP;
		b->v = xreallocarray(b->v, b->cap, sizeof *b->v);
	}
	/* Inside-out shuffle step: the bucket stays a uniformly random permutation. */
	uint32_t i = b->n++;
	uint32_t j = picker_random_below(p, b->n);
	if (j != i) {
		b->v[i] = b->v[j];
		p->pos[b->v[i]] = i;
	}
	b->v[j] = piece;
	p->pos[piece] = j;

	p->state[piece] |= PS_BUCKET;
	lv->count++;
	p->bucket_total++;
	if (piece < lv->seq_next)
		lv->seq_next = piece;
}

static void
picker_bucket_remove(struct picker *p, uint32_t piece)
{
	struct prio_level *lv = &p->levels[p->prio[piece]];
	if (p->dirty) {
		p->state[piece] &= (uint8_t)~PS_BUCKET;
		p->pos[piece] = NO_POS;
		lv->count--;
		p->bucket_total--;
		return;
	}
	struct bucket *b = &lv->buckets[p->avail[piece]];
	uint32_t i = p->pos[piece];
	uint32_t last = b->v[--b->n];

	b->v[i] = last;
	p->pos[last] = i;
	p->pos[piece] = NO_POS;
	p->state[piece] &= (uint8_t)~PS_BUCKET;
	lv->count--;
	p->bucket_total--;
	/* Shrink so pieces sweeping through availability levels don't leave big empty arrays. */
	if (b->cap > BUCKET_MIN_CAP && b->n < b->cap / 4) {
		b->cap /= 2;
		b->v = xreallocarray(b->v, b->cap, sizeof *b->v);
	}
}

/* Makes piece a fresh candidate if it is wanted and not had or in progress. */
static void
picker_piece_make_candidate(struct picker *p, uint32_t piece)
{
	if ((p->state[piece] & (PS_HAVE | PS_BUCKET | PS_PARTIAL)) == 0 &&
	    p->prio[piece] != PRIO_SKIP)
		picker_bucket_insert(p, piece);
}

static void
picker_avail_inc(struct picker *p, uint32_t piece)
{
	bool in = (p->state[piece] & PS_BUCKET) != 0 && !p->dirty;
	if (p->avail[piece] == UINT32_MAX)
		return;
	if (in)
		picker_bucket_remove(p, piece);
	p->avail[piece]++;
	if (in)
		picker_bucket_insert(p, piece);
}

static void
picker_avail_dec(struct picker *p, uint32_t piece)
{
	bool in = (p->state[piece] & PS_BUCKET) != 0 && !p->dirty;
	if (p->avail[piece] == 0) {
		log_warn("picker: availability of piece %u would drop below zero", piece);
		return;
	}
	if (in)
		picker_bucket_remove(p, piece);
	p->avail[piece]--;
	if (in)
		picker_bucket_insert(p, piece);
}

/* --- pieces in progress --- */

static struct partial *
picker_partial_get(const struct picker *p, uint32_t piece)
{
	return (p->state[piece] & PS_PARTIAL) ? p->partials[p->pos[piece]] : NULL;
}

static struct partial *
picker_partial_start(struct picker *p, uint32_t piece, const void *owner, bool fast)
{
	if (p->state[piece] & PS_BUCKET)
		picker_bucket_remove(p, piece);
	struct partial *part = xcalloc(1, sizeof *part);
	part->piece = piece;
	part->nblocks = picker_nblocks(p, piece);
	part->nfree = part->nblocks;
	part->blocks = xcalloc(part->nblocks, sizeof *part->blocks);
	part->owner = owner;
	part->owner_fast = fast;
	if (p->npartials == p->partials_cap) {
		p->partials_cap = p->partials_cap ? p->partials_cap * 2 : 16;
		p->partials = xreallocarray(p->partials, p->partials_cap, sizeof *p->partials);
	}
	p->pos[piece] = (uint32_t)p->npartials;
	p->partials[p->npartials++] = part;
	p->state[piece] |= PS_PARTIAL;
	return part;
}

/* Forgets a piece's progress; the caller decides whether it becomes a candidate again. */
static void
picker_partial_drop(struct picker *p, struct partial *part)
{
	uint32_t i = p->pos[part->piece];
	struct partial *last = p->partials[--p->npartials];

	p->partials[i] = last;
	p->pos[last->piece] = i;
	p->pos[part->piece] = NO_POS;
	p->state[part->piece] &= (uint8_t)~PS_PARTIAL;
	free(part->blocks);
	free(part->extra);
	free(part);
}

/* A piece nobody requests any more and of which nothing arrived is fresh again. */
static void
picker_partial_release_if_idle(struct picker *p, struct partial *part)
{
	if (part->nreq != 0 || part->nrecv != 0)
		return;
	uint32_t piece = part->piece;
	picker_partial_drop(p, part);
	picker_piece_make_candidate(p, piece);
}

static bool
picker_block_requested_by(const struct partial *part, uint32_t b, const void *peer)
{
	const struct pblock *blk = &part->blocks[b];
	if (blk->state != BLK_REQUESTED)
		return false;
	if (blk->peer == peer)
		return true;
	if (blk->nextra == 0)
		return false;
	for (size_t i = 0; i < part->nextra; i++)
		if (part->extra[i].block == b && part->extra[i].peer == peer)
			return true;
	return false;
}

static void
picker_extra_remove_at(struct partial *part, size_t i)
{
	part->blocks[part->extra[i].block].nextra--;
	part->extra[i] = part->extra[--part->nextra];
}

static void
picker_block_add_requester(struct partial *part, uint32_t b, const void *peer)
{
	struct pblock *blk = &part->blocks[b];
	if (blk->state == BLK_FREE) {
		blk->state = BLK_REQUESTED;
		blk->peer = peer;
		part->nfree--;
		part->nreq++;
		return;
	}
	if (part->nextra == part->extra_cap) {
		part->extra_cap = part->extra_cap ? part->extra_cap * 2 : 8;
		part->extra = xreallocarray(part->extra, part->extra_cap, sizeof *part->extra);
	}
	part->extra[part->nextra].block = b;
	part->extra[part->nextra].peer = peer;
	part->nextra++;
	blk->nextra++;
}

/* Returns true if peer had requested block b; the block is free again when nobody has. */
static bool
picker_block_remove_requester(struct partial *part, uint32_t b, const void *peer)
{
	struct pblock *blk = &part->blocks[b];
	if (blk->state != BLK_REQUESTED)
		return false;
	if (blk->peer == peer) {
		if (blk->nextra > 0) {
			for (size_t i = 0; i < part->nextra; i++) {
				if (part->extra[i].block == b) {
					blk->peer = part->extra[i].peer;
					picker_extra_remove_at(part, i);
					return true;
				}
			}
		}
		blk->peer = NULL;
		blk->state = BLK_FREE;
		part->nreq--;
		part->nfree++;
		if (b < part->first_free)
			part->first_free = b;
		return true;
	}
	if (blk->nextra == 0)
		return false;
	for (size_t i = 0; i < part->nextra; i++) {
		if (part->extra[i].block == b && part->extra[i].peer == peer) {
			picker_extra_remove_at(part, i);
			return true;
		}
	}
	return false;
}

static struct picker_block
picker_make_block(const struct picker *p, uint32_t piece, uint32_t b)
{
	struct picker_block blk;
	uint32_t size = picker_piece_size(p, piece);
	blk.piece = piece;
	blk.offset = b * DP_BLOCK_SIZE;
	blk.length = DP_MIN(DP_BLOCK_SIZE, size - blk.offset);
	return blk;
}

/* Hands free blocks of part to peer, lowest offset first. */
static size_t
picker_partial_take(struct picker *p, struct partial *part, const void *peer, bool fast,
    struct picker_block *out, size_t n, size_t max)
{
	if (part->nfree == 0 || n >= max)
		return n;
	if (part->nreq == 0) {
		/* Nobody is serving it: whoever continues it owns it now. */
		part->owner = peer;
		part->owner_fast = fast;
	}
	uint32_t b = part->first_free;
	for (; b < part->nblocks && part->nfree > 0 && n < max; b++) {
		if (part->blocks[b].state != BLK_FREE)
			continue;
		picker_block_add_requester(part, b, peer);
		out[n++] = picker_make_block(p, part->piece, b);
	}
	part->first_free = b;
	return n;
}

static bool
picker_partial_eligible(const struct partial *part, enum partial_pass pass, const void *peer)
{
	switch (pass) {
	case PASS_OWN_OR_IDLE:
		return part->owner == peer || part->nreq == 0;
	case PASS_SHARED:
		return !part->owner_fast || part->owner == peer || part->nreq == 0;
	case PASS_ANY:
		return true;
	}
	return false;
}

static size_t
picker_pick_partials(struct picker *p, int prio, enum partial_pass pass,
    const struct dp_bitfield *has, const void *peer, bool fast, struct picker_block *out,
    size_t n, size_t max)
{
	for (size_t i = 0; i < p->npartials && n < max; i++) {
		struct partial *part = p->partials[i];
		if (part->nfree == 0 || p->prio[part->piece] != prio ||
		    !picker_partial_eligible(part, pass, peer) || !picker_peer_has(has, part->piece))
			continue;
		n = picker_partial_take(p, part, peer, fast, out, n, max);
	}
	return n;
}

static size_t
picker_start_piece(struct picker *p, uint32_t piece, const void *peer, bool fast,
    struct picker_block *out, size_t n, size_t max)
{
	struct partial *part = picker_partial_start(p, piece, peer, fast);
	return picker_partial_take(p, part, peer, fast, out, n, max);
}

static size_t
picker_pick_sequential(struct picker *p, int prio, const struct dp_bitfield *has,
    const void *peer, bool fast, struct picker_block *out, size_t n, size_t max)
{
	struct prio_level *lv = &p->levels[prio];
	bool advancing = true;	/* nothing of this level left behind us yet: move the cursor */

	for (uint32_t i = lv->seq_next; i < p->piece_count && n < max && lv->count > 0; i++) {
		if ((p->state[i] & PS_BUCKET) && p->prio[i] == prio) {
			if (!picker_peer_has(has, i)) {
				advancing = false;
				continue;
			}
			n = picker_start_piece(p, i, peer, fast, out, n, max);
		}
		if (advancing)
			lv->seq_next = i + 1;
	}
	return n;
}

/* The piece at index r of the level's candidates, counting through the buckets. */
static uint32_t
picker_level_nth(const struct prio_level *lv, uint32_t r)
{
	for (uint32_t a = 0; a < lv->nbuckets; a++) {
		if (r < lv->buckets[a].n)
			return lv->buckets[a].v[r];
		r -= lv->buckets[a].n;
	}
	return NO_POS;
}

static size_t
picker_pick_fresh(struct picker *p, int prio, const struct dp_bitfield *has, const void *peer,
    bool fast, struct picker_block *out, size_t n, size_t max)
{
	struct prio_level *lv = &p->levels[prio];

	if (lv->count == 0 || n >= max)
		return n;
	if (p->sequential)
		return picker_pick_sequential(p, prio, has, peer, fast, out, n, max);
	picker_buckets_fresh(p);

	/* First pieces at random: common pieces arrive sooner than rare ones, and we need
	 * something to trade early. */
	if (p->have_count < DP_RANDOM_FIRST_PIECES) {
		for (int tries = 0; tries < RANDOM_FIRST_TRIES && n < max && lv->count > 0;
		    tries++) {
			uint32_t piece = picker_level_nth(lv, picker_random_below(p, lv->count));
			if (piece == NO_POS || !picker_peer_has(has, piece))
				continue;
			n = picker_start_piece(p, piece, peer, fast, out, n, max);
		}
	}

	/* Rarest first; within a bucket the order is already random. */
	for (uint32_t a = 0; a < lv->nbuckets && n < max; a++) {
		struct bucket *b = &lv->buckets[a];
		uint32_t i = 0;
		while (i < b->n && n < max) {
			uint32_t piece = b->v[i];
			if (!picker_peer_has(has, piece)) {
				i++;
				continue;
			}
			/* Starting it removes it from b; b->v[i] now holds another piece. */
			n = picker_start_piece(p, piece, peer, fast, out, n, max);
		}
	}
	return n;
}

/* Endgame: requested-but-missing blocks of part that peer has not requested yet. Round 0 takes
 * blocks with a single requester, so duplicates spread before they pile up. */
static size_t
picker_endgame_take(struct partial *part, const struct picker *p, int round, const void *peer,
    struct picker_block *out, size_t n, size_t max)
{
	for (uint32_t b = 0; b < part->nblocks && n < max; b++) {
		struct pblock *blk = &part->blocks[b];
		if (blk->state != BLK_REQUESTED || (round == 0 && blk->nextra > 0) ||
		    blk->nextra == UINT16_MAX || picker_block_requested_by(part, b, peer))
			continue;
		picker_block_add_requester(part, b, peer);
		out[n++] = picker_make_block(p, part->piece, b);
	}
	return n;
}

static size_t
picker_pick_endgame(struct picker *p, const struct dp_bitfield *has, const void *peer,
    struct picker_block *out, size_t n, size_t max)
{
	for (int round = 0; round < 2 && n < max; round++) {
		for (size_t i = 0; i < p->npartials && n < max; i++) {
			struct partial *part = p->partials[i];
			if (part->nreq == 0 || p->prio[part->piece] == PRIO_SKIP ||
			    !picker_peer_has(has, part->piece))
				continue;
			n = picker_endgame_take(part, p, round, peer, out, n, max);
		}
	}
	return n;
}

/* --- public API --- */

struct picker *
picker_new(uint32_t piece_count, uint32_t piece_length, uint64_t total_size,
    uint32_t random_seed)
{
	struct picker *p = xcalloc(1, sizeof *p);

	if (piece_length == 0) {
		log_warn("picker: piece length 0, using %u", DP_BLOCK_SIZE);
		piece_length = DP_BLOCK_SIZE;
	}
	p->piece_count = piece_count;
	p->piece_length = piece_length;
	p->total_size = total_size;
	p->last_piece_length = piece_length;
	if (piece_count > 0) {
		uint64_t before_last = (uint64_t)(piece_count - 1) * piece_length;
		if (total_size > before_last && total_size - before_last <= piece_length)
			p->last_piece_length = (uint32_t)(total_size - before_last);
		else
			log_warn("picker: total size %llu does not fit %u pieces of %u bytes",
			    (unsigned long long)total_size, piece_count, piece_length);
	}
	p->rng = ((uint64_t)random_seed << 32) ^ random_seed ^ 0x5deece66dULL;
	p->state = xcalloc(piece_count, 1);
	p->prio = xmalloc(piece_count ? piece_count : 1);
	memset(p->prio, PRIO_NORMAL, piece_count);
	p->avail = xcalloc(piece_count, sizeof *p->avail);
	p->pos = xmalloc((piece_count ? piece_count : 1) * sizeof *p->pos);
	for (uint32_t i = 0; i < piece_count; i++)
		p->pos[i] = NO_POS;
	/* Every piece starts as a candidate; the first use sorts them into buckets. */
	for (uint32_t i = 0; i < piece_count; i++)
		p->state[i] = PS_BUCKET;
	p->levels[PRIO_NORMAL].count = piece_count;
	p->bucket_total = piece_count;
	p->dirty = true;
	p->wanted_missing = piece_count;
	return p;
}

void
picker_free(struct picker *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->npartials; i++) {
		free(p->partials[i]->blocks);
		free(p->partials[i]->extra);
		free(p->partials[i]);
	}
	free(p->partials);
	for (int l = 0; l < PRIO_LEVELS; l++) {
		for (uint32_t a = 0; a < p->levels[l].nbuckets; a++)
			free(p->levels[l].buckets[a].v);
		free(p->levels[l].buckets);
	}
	free(p->state);
	free(p->prio);
	free(p->avail);
	free(p->pos);
	free(p);
}

void
picker_set_have(struct picker *p, uint32_t piece)
{
	if (piece >= p->piece_count || (p->state[piece] & PS_HAVE))
		return;
	struct partial *part = picker_partial_get(p, piece);
	if (part != NULL)
		picker_partial_drop(p, part);
	if (p->state[piece] & PS_BUCKET)
		picker_bucket_remove(p, piece);
	p->state[piece] |= PS_HAVE;
	p->have_count++;
	if (p->prio[piece] != PRIO_SKIP)
		p->wanted_missing--;
}

bool
picker_have(const struct picker *p, uint32_t piece)
{
	return piece < p->piece_count && (p->state[piece] & PS_HAVE) != 0;
}

uint32_t
picker_have_count(const struct picker *p)
{
	return p->have_count;
}

bool
picker_complete(const struct picker *p)
{
	return p->wanted_missing == 0;
}

void
picker_set_priority(struct picker *p, uint32_t piece, enum picker_prio prio)
{
	if (piece >= p->piece_count)
		return;
	if ((unsigned)prio > PRIO_HIGH)
		prio = PRIO_HIGH;
	if (p->prio[piece] == prio)
		return;
	bool in = (p->state[piece] & PS_BUCKET) != 0;
	if (in)
		picker_bucket_remove(p, piece);
	if (!(p->state[piece] & PS_HAVE)) {
		if (p->prio[piece] == PRIO_SKIP)
			p->wanted_missing++;
		else if (prio == PRIO_SKIP)
			p->wanted_missing--;
	}
	p->prio[piece] = (uint8_t)prio;
	/* A piece in progress keeps its blocks; picks skip it while it is PRIO_SKIP. */
	picker_piece_make_candidate(p, piece);
}

enum picker_prio
picker_priority(const struct picker *p, uint32_t piece)
{
	return piece < p->piece_count ? (enum picker_prio)p->prio[piece] : PRIO_SKIP;
}

void
picker_set_sequential(struct picker *p, bool on)
{
	p->sequential = on;
	for (int l = 0; l < PRIO_LEVELS; l++)
		p->levels[l].seq_next = 0;
}

/* Whether a bitfield moves enough pieces that one rebuild beats moving them one by one. */
static void
picker_bulk_begin(struct picker *p, const struct dp_bitfield *bf)
{
	if (bf->count >= 64 && bf->count >= p->piece_count / 32)
		p->dirty = true;
}

/* Counts (add) or uncounts each piece of a peer's bitfield, skipping empty bytes. */
static void
picker_peer_bitfield_count(struct picker *p, const struct dp_bitfield *bf, bool add)
{
	uint32_t n = DP_MIN(bf->nbits, p->piece_count);
	picker_bulk_begin(p, bf);
	for (uint32_t byte = 0; byte * 8 < n; byte++) {
		if (bf->bits[byte] == 0)
			continue;
		for (uint32_t i = byte * 8; i < byte * 8 + 8 && i < n; i++) {
			if (!bitfield_get(bf, i))
				continue;
			if (add)
				picker_avail_inc(p, i);
			else
				picker_avail_dec(p, i);
		}
	}
}

void
picker_peer_bitfield_add(struct picker *p, const struct dp_bitfield *bf)
{
	picker_peer_bitfield_count(p, bf, true);
}

void
picker_peer_bitfield_remove(struct picker *p, const struct dp_bitfield *bf)
{
	picker_peer_bitfield_count(p, bf, false);
}

void
picker_peer_have(struct picker *p, uint32_t piece)
{
	if (piece < p->piece_count)
		picker_avail_inc(p, piece);
}

void
picker_seed_add(struct picker *p)
{
	p->seeds++;
}

void
picker_seed_remove(struct picker *p)
{
	if (p->seeds == 0) {
		log_warn("picker: seed removed but none was counted");
		return;
	}
	p->seeds--;
}

uint32_t
picker_availability(const struct picker *p, uint32_t piece)
{
	if (piece >= p->piece_count)
		return 0;
	uint64_t a = (uint64_t)p->avail[piece] + p->seeds;
	return a > UINT32_MAX ? UINT32_MAX : (uint32_t)a;
}

size_t
picker_pick(struct picker *p, const struct dp_bitfield *peer_has, const void *peer,
    bool fast_peer, struct picker_block *out, size_t max)
{
	size_t n = 0;

	if (out == NULL || max == 0)
		return 0;
	/* Higher priority first; within a level finish pieces in progress before new ones. */
	for (int prio = PRIO_HIGH; prio >= PRIO_LOW && n < max; prio--) {
		if (fast_peer) {
			n = picker_pick_partials(p, prio, PASS_OWN_OR_IDLE, peer_has, peer, true, out,
			    n, max);
			n = picker_pick_fresh(p, prio, peer_has, peer, true, out, n, max);
			n = picker_pick_partials(p, prio, PASS_ANY, peer_has, peer, true, out, n, max);
		} else {
			n = picker_pick_partials(p, prio, PASS_SHARED, peer_has, peer, false, out, n,
			    max);
			n = picker_pick_partials(p, prio, PASS_ANY, peer_has, peer, false, out, n,
			    max);
			n = picker_pick_fresh(p, prio, peer_has, peer, false, out, n, max);
		}
	}
	if (n < max && picker_in_endgame(p))
		n = picker_pick_endgame(p, peer_has, peer, out, n, max);
	return n;
}

size_t
picker_pick_from(struct picker *p, const uint32_t *pieces, size_t npieces,
    const struct dp_bitfield *peer_has, const void *peer, struct picker_block *out, size_t max)
{
	size_t n = 0;

	if (out == NULL || max == 0)
		return 0;
	for (size_t i = 0; i < npieces && n < max; i++) {
		uint32_t piece = pieces[i];
		if (piece >= p->piece_count || !picker_peer_has(peer_has, piece) ||
		    p->prio[piece] == PRIO_SKIP)
			continue;
		struct partial *part = picker_partial_get(p, piece);
		if (part != NULL)
			n = picker_partial_take(p, part, peer, false, out, n, max);
		else if (p->state[piece] & PS_BUCKET)
			n = picker_start_piece(p, piece, peer, false, out, n, max);
	}
	if (n < max && picker_in_endgame(p)) {
		for (int round = 0; round < 2 && n < max; round++) {
			for (size_t i = 0; i < npieces && n < max; i++) {
				uint32_t piece = pieces[i];
				if (piece >= p->piece_count || !picker_peer_has(peer_has, piece) ||
				    p->prio[piece] == PRIO_SKIP)
					continue;
				struct partial *part = picker_partial_get(p, piece);
				if (part != NULL)
					n = picker_endgame_take(part, p, round, peer, out, n, max);
			}
		}
	}
	return n;
}

bool
picker_block_received(struct picker *p, uint32_t piece, uint32_t offset, uint32_t length,
    const void *peer, const void **cancel_peers, size_t max_cancel, size_t *ncancel,
    bool *piece_complete)
{
	size_t nc = 0;

	if (ncancel != NULL)
		*ncancel = 0;
	if (piece_complete != NULL)
		*piece_complete = false;
	if (piece >= p->piece_count || (p->state[piece] & PS_HAVE) || offset % DP_BLOCK_SIZE != 0)
		return false;
	uint32_t b = offset / DP_BLOCK_SIZE;
	if (b >= picker_nblocks(p, piece) || length != picker_make_block(p, piece, b).length)
		return false;
	struct partial *part = picker_partial_get(p, piece);
	if (part == NULL) {
		/* Unrequested (or requested, abandoned and sent anyway): still useful if wanted. */
		if (p->prio[piece] == PRIO_SKIP)
			return false;
		part = picker_partial_start(p, piece, NULL, false);
	}
	struct pblock *blk = &part->blocks[b];
	if (blk->state == BLK_RECEIVED)
		return false;
	if (blk->state == BLK_REQUESTED) {
		if (blk->peer != peer && nc < max_cancel && cancel_peers != NULL)
			cancel_peers[nc++] = blk->peer;
		size_t i = 0;
		while (blk->nextra > 0 && i < part->nextra) {
			if (part->extra[i].block != b) {
				i++;
				continue;
			}
			if (part->extra[i].peer != peer && nc < max_cancel && cancel_peers != NULL)
				cancel_peers[nc++] = part->extra[i].peer;
			picker_extra_remove_at(part, i);
		}
		part->nreq--;
	} else {
		part->nfree--;
	}
	blk->state = BLK_RECEIVED;
	blk->peer = NULL;
	part->nrecv++;
	if (ncancel != NULL)
		*ncancel = nc;
	if (piece_complete != NULL)
		*piece_complete = part->nrecv == part->nblocks;
	return true;
}

bool
picker_block_have(const struct picker *p, uint32_t piece, uint32_t offset)
{
	if (piece >= p->piece_count)
		return false;
	if (p->state[piece] & PS_HAVE)
		return true;
	const struct partial *part = picker_partial_get(p, piece);
	uint32_t b = offset / DP_BLOCK_SIZE;
	return part != NULL && b < part->nblocks && part->blocks[b].state == BLK_RECEIVED;
}

void
picker_block_abandoned(struct picker *p, uint32_t piece, uint32_t offset, const void *peer)
{
	if (piece >= p->piece_count || offset % DP_BLOCK_SIZE != 0)
		return;
	struct partial *part = picker_partial_get(p, piece);
	uint32_t b = offset / DP_BLOCK_SIZE;
	if (part == NULL || b >= part->nblocks)
		return;
	if (picker_block_remove_requester(part, b, peer))
		picker_partial_release_if_idle(p, part);
}

void
picker_peer_abandon_all(struct picker *p, const void *peer)
{
	/* Downwards: releasing partial i moves the last (already visited) one into slot i. */
	for (size_t i = p->npartials; i-- > 0;) {
		struct partial *part = p->partials[i];
		if (part->owner == peer) {
			part->owner = NULL;
			part->owner_fast = false;
		}
		if (part->nreq == 0)
			continue;
		for (uint32_t b = 0; b < part->nblocks; b++)
			picker_block_remove_requester(part, b, peer);
		picker_partial_release_if_idle(p, part);
	}
}

void
picker_piece_failed(struct picker *p, uint32_t piece)
{
	if (piece >= p->piece_count || (p->state[piece] & PS_HAVE))
		return;
	struct partial *part = picker_partial_get(p, piece);
	if (part != NULL)
		picker_partial_drop(p, part);
	picker_piece_make_candidate(p, piece);
}

void
picker_piece_verified(struct picker *p, uint32_t piece)
{
	picker_set_have(p, piece);
}

bool
picker_in_endgame(const struct picker *p)
{
	if (p->bucket_total > 0 || p->wanted_missing == 0)
		return false;
	for (size_t i = 0; i < p->npartials; i++) {
		const struct partial *part = p->partials[i];
		if (part->nfree > 0 && p->prio[part->piece] != PRIO_SKIP)
			return false;
	}
	return true;
}

int
picker_piece_state(const struct picker *p, uint32_t piece)
{
	if (piece >= p->piece_count)
		return 0;
	if (p->state[piece] & PS_HAVE)
		return 2;
	return (p->state[piece] & PS_PARTIAL) ? 1 : 0;
}

uint32_t
picker_blocks_in_piece(const struct picker *p, uint32_t piece)
{
	return piece < p->piece_count ? picker_nblocks(p, piece) : 0;
}

uint32_t
picker_piece_length(const struct picker *p, uint32_t piece)
{
	return piece < p->piece_count ? picker_piece_size(p, piece) : 0;
}

uint32_t
picker_block_length(const struct picker *p, uint32_t piece, uint32_t block)
{
	if (piece >= p->piece_count || block >= picker_nblocks(p, piece))
		return 0;
	return picker_make_block(p, piece, block).length;
}
