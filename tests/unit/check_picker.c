/* check_picker.c: the piece picker: rarest-first, randomness, priorities, fast/slow peers,
 * endgame cancels, failures, block sizes, a randomized swarm and a large-torrent workout. */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "bitfield.h"
#include "picker.h"
#include "suites.h"
#include "util.h"

#define B DP_BLOCK_SIZE

static int peer_a, peer_b, peer_c, peer_d;

static void
bf_make(struct dp_bitfield *bf, uint32_t n, bool all)
{
	bitfield_init(bf, n);
	if (all)
		bitfield_set_all(bf);
}

/* Picks one block at a time until nothing more comes; returns the count. */
static size_t
pick_all(struct picker *p, const struct dp_bitfield *has, const void *peer, bool fast,
    struct picker_block *out, size_t max)
{
	size_t n = 0;
	while (n < max) {
		size_t got = picker_pick(p, has, peer, fast, out + n, max - n);
		if (got == 0)
			break;
		n += got;
	}
	return n;
}

/* Receives every block of a piece from peer and verifies it. */
static void
complete_piece(struct picker *p, uint32_t piece, const void *peer)
{
	uint32_t nb = picker_blocks_in_piece(p, piece);
	bool done = false;
	for (uint32_t b = 0; b < nb; b++) {
		size_t nc;
		ck_assert(picker_block_received(p, piece, b * B, picker_block_length(p, piece, b),
		    peer, NULL, 0, &nc, &done));
	}
	ck_assert(done);
	picker_piece_verified(p, piece);
}

START_TEST(test_block_sizes)
{
	/* 3 pieces of 40000 bytes, the last 20000: 3 + 3 + 2 blocks. */
	struct picker *p = picker_new(3, 40000, 100000, 1);
	ck_assert_uint_eq(picker_blocks_in_piece(p, 0), 3);
	ck_assert_uint_eq(picker_blocks_in_piece(p, 2), 2);
	ck_assert_uint_eq(picker_blocks_in_piece(p, 3), 0);
	ck_assert_uint_eq(picker_piece_length(p, 1), 40000);
	ck_assert_uint_eq(picker_piece_length(p, 2), 20000);
	ck_assert_uint_eq(picker_block_length(p, 0, 2), 40000 - 2 * B);
	ck_assert_uint_eq(picker_block_length(p, 2, 1), 20000 - B);
	ck_assert_uint_eq(picker_block_length(p, 2, 2), 0);

	struct picker_block out[16];
	size_t n = pick_all(p, NULL, &peer_a, true, out, 16);
	ck_assert_uint_eq(n, 8);
	uint64_t total = 0;
	bool seen[3][3] = { { false } };
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_lt(out[i].piece, 3);
		ck_assert_uint_eq(out[i].offset % B, 0);
		uint32_t b = out[i].offset / B;
		ck_assert(!seen[out[i].piece][b]);
		seen[out[i].piece][b] = true;
		ck_assert_uint_eq(out[i].length, picker_block_length(p, out[i].piece, b));
		ck_assert_uint_le(out[i].length, B);
		total += out[i].length;
	}
	ck_assert_uint_eq(total, 100000);
	picker_free(p);

	/* Exact multiple: the last block is full. */
	p = picker_new(2, 2 * B, 4 * B, 1);
	ck_assert_uint_eq(picker_block_length(p, 1, 1), B);
	picker_free(p);
	/* A one-byte torrent. */
	p = picker_new(1, 4 * B, 1, 1);
	ck_assert_uint_eq(picker_blocks_in_piece(p, 0), 1);
	ck_assert_uint_eq(picker_block_length(p, 0, 0), 1);
	n = picker_pick(p, NULL, &peer_a, false, out, 16);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0].length, 1);
	picker_free(p);
}
END_TEST

START_TEST(test_received_validation)
{
	struct picker *p = picker_new(3, 40000, 100000, 1);
	bool done;
	size_t nc;
	ck_assert(!picker_block_received(p, 3, 0, B, &peer_a, NULL, 0, &nc, &done));
	ck_assert(!picker_block_received(p, 0, 100, B, &peer_a, NULL, 0, &nc, &done));
	ck_assert(!picker_block_received(p, 0, 0, B - 1, &peer_a, NULL, 0, &nc, &done));
	ck_assert(!picker_block_received(p, 0, 3 * B, B, &peer_a, NULL, 0, &nc, &done));
	ck_assert(!picker_block_received(p, 2, B, B, &peer_a, NULL, 0, &nc, &done));
	/* An unrequested but wanted block is accepted once. */
	ck_assert(picker_block_received(p, 2, B, 20000 - B, &peer_a, NULL, 0, &nc, &done));
	ck_assert(!done);
	ck_assert_int_eq(picker_piece_state(p, 2), 1);
	ck_assert(!picker_block_received(p, 2, B, 20000 - B, &peer_a, NULL, 0, &nc, &done));
	picker_set_have(p, 1);
	ck_assert(!picker_block_received(p, 1, 0, B, &peer_a, NULL, 0, &nc, &done));
	picker_set_priority(p, 0, PRIO_SKIP);
	ck_assert(!picker_block_received(p, 0, 0, B, &peer_a, NULL, 0, &nc, &done));
	picker_free(p);
}
END_TEST

START_TEST(test_rarest_first)
{
	/* 10 one-block pieces; pieces 7 and 2 are rarer than the rest. */
	struct picker *p = picker_new(10, B, 10 * B, 7);
	for (uint32_t i = 0; i < DP_RANDOM_FIRST_PIECES; i++)
		picker_set_have(p, i);	/* past the random-first phase */
	struct dp_bitfield all, most, some;
	bf_make(&all, 10, true);
	bf_make(&most, 10, true);
	bitfield_clear(&most, 7);
	bitfield_clear(&most, 5);
	bf_make(&some, 10, true);
	bitfield_clear(&some, 7);
	picker_peer_bitfield_add(p, &all);
	picker_peer_bitfield_add(p, &most);
	picker_peer_bitfield_add(p, &some);
	ck_assert_uint_eq(picker_availability(p, 7), 1);
	ck_assert_uint_eq(picker_availability(p, 5), 2);
	ck_assert_uint_eq(picker_availability(p, 4), 3);

	struct picker_block out[4];
	ck_assert_uint_eq(picker_pick(p, &all, &peer_a, false, out, 1), 1);
	ck_assert_uint_eq(out[0].piece, 7);
	ck_assert_uint_eq(picker_pick(p, &all, &peer_a, false, out, 1), 1);
	ck_assert_uint_eq(out[0].piece, 5);
	/* A peer without the rare pieces still gets one of the common ones. */
	ck_assert_uint_eq(picker_pick(p, &most, &peer_b, false, out, 1), 1);
	uint32_t y = out[0].piece;
	ck_assert(y == 4 || y == 6 || y == 8 || y == 9);

	/* Availability changes reorder: all but one remaining piece gain copies. */
	picker_peer_bitfield_remove(p, &all);
	picker_peer_bitfield_remove(p, &most);
	ck_assert_uint_eq(picker_availability(p, 4), 1);
	uint32_t rest[] = { 4, 6, 8, 9 }, last = 0;
	for (int i = 0; i < 4; i++) {
		if (rest[i] == y)
			continue;
		if (last != 0)
			picker_peer_have(p, last);
		last = rest[i];
	}
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_c, false, out, 1), 1);
	ck_assert_uint_eq(out[0].piece, last);
	bitfield_free(&all);
	bitfield_free(&most);
	bitfield_free(&some);
	picker_free(p);
}
END_TEST

START_TEST(test_random_tiebreak)
{
	/* Equal availability: different seeds start on different pieces, and a single picker's
	 * order is not just the index order. */
	uint32_t counts[64] = { 0 };
	for (uint32_t seed = 1; seed <= 200; seed++) {
		struct picker *p = picker_new(64, B, 64 * B, seed);
		for (uint32_t i = 0; i < DP_RANDOM_FIRST_PIECES; i++)
			picker_set_have(p, i);
		struct picker_block out;
		ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, &out, 1), 1);
		ck_assert_uint_ge(out.piece, DP_RANDOM_FIRST_PIECES);
		counts[out.piece]++;
		picker_free(p);
	}
	uint32_t distinct = 0, most = 0;
	for (int i = 0; i < 64; i++) {
		distinct += counts[i] > 0;
		most = DP_MAX(most, counts[i]);
	}
	ck_assert_uint_ge(distinct, 40);
	ck_assert_uint_le(most, 20);

	struct picker *p = picker_new(64, B, 64 * B, 99);
	for (uint32_t i = 0; i < DP_RANDOM_FIRST_PIECES; i++)
		picker_set_have(p, i);
	struct picker_block out[64];
	size_t n = pick_all(p, NULL, &peer_a, false, out, 64);
	ck_assert_uint_eq(n, 60);
	uint32_t ascending = 0;
	for (size_t i = 1; i < n; i++)
		ascending += out[i].piece > out[i - 1].piece;
	ck_assert_uint_lt(ascending, 45);
	/* Same seed, same order: tests and bug reports are reproducible. */
	struct picker *q = picker_new(64, B, 64 * B, 99);
	for (uint32_t i = 0; i < DP_RANDOM_FIRST_PIECES; i++)
		picker_set_have(q, i);
	struct picker_block again[64];
	ck_assert_uint_eq(pick_all(q, NULL, &peer_a, false, again, 64), 60);
	ck_assert(memcmp(out, again, sizeof out[0] * 60) == 0);
	picker_free(p);
	picker_free(q);
}
END_TEST

START_TEST(test_random_first_pieces)
{
	/* Piece 5 is the rarest. Before DP_RANDOM_FIRST_PIECES are had, the first pick is random,
	 * so it is not always piece 5; afterwards it always is. */
	uint32_t rare_first = 0;
	for (uint32_t seed = 1; seed <= 40; seed++) {
		struct picker *p = picker_new(50, B, 50 * B, seed);
		struct dp_bitfield all, most;
		bf_make(&all, 50, true);
		bf_make(&most, 50, true);
		bitfield_clear(&most, 5);
		picker_peer_bitfield_add(p, &all);
		picker_peer_bitfield_add(p, &most);
		struct picker_block out;
		ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, &out, 1), 1);
		rare_first += out.piece == 5;
		picker_block_abandoned(p, out.piece, out.offset, &peer_a);
		ck_assert_int_eq(picker_piece_state(p, out.piece), 0);

		uint32_t had = 0;
		for (uint32_t i = 0; i < 50 && had < DP_RANDOM_FIRST_PIECES; i++) {
			if (i == 5)
				continue;
			picker_set_have(p, i);
			had++;
		}
		ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, &out, 1), 1);
		ck_assert_uint_eq(out.piece, 5);
		bitfield_free(&all);
		bitfield_free(&most);
		picker_free(p);
	}
	ck_assert_uint_lt(rare_first, 10);
}
END_TEST

START_TEST(test_in_progress_first)
{
	/* 8 pieces of 8 blocks. A slow peer starts a piece; other slow peers join it before
	 * anything new is started. */
	struct picker *p = picker_new(8, 8 * B, 64 * B, 3);
	for (uint32_t i = 0; i < DP_RANDOM_FIRST_PIECES; i++)
		picker_set_have(p, i);
	struct picker_block out[16];
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 3), 3);
	uint32_t x = out[0].piece;
	ck_assert_uint_eq(out[2].piece, x);
	ck_assert_int_eq(picker_piece_state(p, x), 1);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_b, false, out, 3), 3);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(out[i].piece, x);
	/* Two blocks of x remain: c gets them, then a new piece. */
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_c, false, out, 4), 4);
	ck_assert_uint_eq(out[0].piece, x);
	ck_assert_uint_eq(out[1].piece, x);
	ck_assert_uint_eq(out[1].offset, 7 * B);
	ck_assert(out[2].piece != x);
	ck_assert_uint_eq(out[2].piece, out[3].piece);
	picker_free(p);
}
END_TEST

START_TEST(test_fast_peer_whole_piece)
{
	struct picker *p = picker_new(8, 8 * B, 64 * B, 5);
	for (uint32_t i = 0; i < DP_RANDOM_FIRST_PIECES; i++)
		picker_set_have(p, i);
	struct picker_block out[16];
	/* Slow a starts piece x. */
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 2), 2);
	uint32_t x = out[0].piece;
	/* Fast b does not join x (a is serving it): it starts its own piece y. */
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_b, true, out, 4), 4);
	uint32_t y = out[0].piece;
	ck_assert(y != x);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(out[i].piece, y);
	/* Next time b continues y, and all of y goes to b. */
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_b, true, out, 4), 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(out[i].piece, y);
		ck_assert_uint_eq(out[i].offset, (uint32_t)(4 + i) * B);
	}
	/* Slow c joins x, not b's y (y has nothing free anyway) and not a new piece. */
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_c, false, out, 2), 2);
	ck_assert_uint_eq(out[0].piece, x);
	ck_assert_uint_eq(out[1].piece, x);
	/* Fast b, with y fully requested, starts yet another piece of its own. */
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_b, true, out, 8), 8);
	uint32_t z = out[0].piece;
	ck_assert(z != x && z != y);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(out[i].piece, z);
	/* A slow peer prefers x (shared) over z (a fast peer's piece) while x has free blocks. */
	picker_block_abandoned(p, z, 7 * B, &peer_b);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_d, false, out, 1), 1);
	ck_assert_uint_eq(out[0].piece, x);
	/* An abandoned piece nobody serves any more is taken over by a fast peer. */
	picker_peer_abandon_all(p, &peer_a);
	picker_peer_abandon_all(p, &peer_c);
	picker_peer_abandon_all(p, &peer_d);
	ck_assert_int_eq(picker_piece_state(p, x), 0);
	bool done;
	size_t nc;
	ck_assert(picker_block_received(p, x, 0, B, &peer_a, NULL, 0, &nc, &done));
	ck_assert_int_eq(picker_piece_state(p, x), 1);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_c, true, out, 7), 7);
	for (int i = 0; i < 7; i++)
		ck_assert_uint_eq(out[i].piece, x);
	picker_free(p);
}
END_TEST

START_TEST(test_endgame_cancels)
{
	/* 2 pieces of 2 blocks: a requests all four, endgame begins, b duplicates them. */
	struct picker *p = picker_new(2, 2 * B, 4 * B, 11);
	struct picker_block out[8];
	ck_assert(!picker_in_endgame(p));
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 3), 3);
	ck_assert(!picker_in_endgame(p));
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 8), 1);
	ck_assert(picker_in_endgame(p));
	/* Never the same block twice to the same peer. */
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 8), 0);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_b, false, out, 8), 4);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_b, false, out, 8), 0);
	/* c gets the duplicates too, but only what it has. */
	struct dp_bitfield only1;
	bf_make(&only1, 2, false);
	bitfield_set(&only1, 1);
	ck_assert_uint_eq(picker_pick(p, &only1, &peer_c, false, out, 8), 2);
	ck_assert_uint_eq(out[0].piece, 1);
	ck_assert_uint_eq(out[1].piece, 1);

	/* Block (1, 0) arrives from c: a and b get a cancel. */
	const void *cancel[4];
	size_t nc = 99;
	bool done = true;
	ck_assert(picker_block_received(p, 1, 0, B, &peer_c, cancel, 4, &nc, &done));
	ck_assert(!done);
	ck_assert_uint_eq(nc, 2);
	ck_assert((cancel[0] == &peer_a && cancel[1] == &peer_b) ||
	    (cancel[0] == &peer_b && cancel[1] == &peer_a));
	/* The cancel list is bounded by max_cancel. */
	ck_assert(picker_block_received(p, 1, B, B, &peer_a, cancel, 1, &nc, &done));
	ck_assert_uint_eq(nc, 1);
	ck_assert(cancel[0] == &peer_b || cancel[0] == &peer_c);
	ck_assert(done);
	/* b's late copy of a block already here: known as had, so it is not written again. */
	ck_assert(picker_block_have(p, 1, B));
	ck_assert(!picker_block_have(p, 0, 0));
	ck_assert(!picker_block_have(p, 9, 0));
	ck_assert(!picker_block_received(p, 1, B, B, &peer_b, cancel, 4, &nc, &done));

	/* b disconnects: piece 0's blocks are still requested from a, endgame holds. */
	picker_peer_abandon_all(p, &peer_b);
	ck_assert(picker_in_endgame(p));
	ck_assert(picker_block_received(p, 0, 0, B, &peer_a, cancel, 4, &nc, &done));
	ck_assert_uint_eq(nc, 0);
	/* a chokes us: block (0, 1) is free again, endgame ends, d gets it normally. */
	picker_block_abandoned(p, 0, B, &peer_a);
	ck_assert(!picker_in_endgame(p));
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_d, false, out, 8), 1);
	ck_assert_uint_eq(out[0].piece, 0);
	ck_assert_uint_eq(out[0].offset, B);
	ck_assert(picker_block_received(p, 0, B, B, &peer_d, cancel, 4, &nc, &done));
	ck_assert(done);
	picker_piece_verified(p, 0);
	picker_piece_verified(p, 1);
	ck_assert(picker_complete(p));
	ck_assert(!picker_in_endgame(p));
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 8), 0);
	bitfield_free(&only1);
	picker_free(p);
}
END_TEST

START_TEST(test_endgame_not_with_unrequested)
{
	/* A piece nobody has is still wanted and unrequested: no endgame. */
	struct picker *p = picker_new(3, B, 3 * B, 1);
	struct dp_bitfield bf;
	bf_make(&bf, 3, true);
	bitfield_clear(&bf, 2);
	struct picker_block out[8];
	ck_assert_uint_eq(picker_pick(p, &bf, &peer_a, false, out, 8), 2);
	ck_assert(!picker_in_endgame(p));
	ck_assert_uint_eq(picker_pick(p, &bf, &peer_b, false, out, 8), 0);
	/* Skipping piece 2 makes everything wanted requested. */
	picker_set_priority(p, 2, PRIO_SKIP);
	ck_assert(picker_in_endgame(p));
	ck_assert_uint_eq(picker_pick(p, &bf, &peer_b, false, out, 8), 2);
	bitfield_free(&bf);
	picker_free(p);
}
END_TEST

START_TEST(test_sequential)
{
	struct picker *p = picker_new(20, B, 20 * B, 17);
	struct dp_bitfield bf;
	bf_make(&bf, 20, true);
	bitfield_clear(&bf, 3);
	/* Rarity must not matter in sequential mode. */
	for (int i = 0; i < 5; i++)
		picker_peer_have(p, 0);
	picker_set_sequential(p, true);
	struct picker_block out[20];
	ck_assert_uint_eq(picker_pick(p, &bf, &peer_a, false, out, 5), 5);
	uint32_t want[] = { 0, 1, 2, 4, 5 };
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(out[i].piece, want[i]);
	/* Piece 3 was left behind for a peer that has it. */
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_b, false, out, 2), 2);
	ck_assert_uint_eq(out[0].piece, 3);
	ck_assert_uint_eq(out[1].piece, 6);
	/* A failed piece goes back to the front. */
	bool done;
	size_t nc;
	ck_assert(picker_block_received(p, 1, 0, B, &peer_a, NULL, 0, &nc, &done));
	ck_assert(done);
	picker_piece_failed(p, 1);
	ck_assert_int_eq(picker_piece_state(p, 1), 0);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_b, false, out, 2), 2);
	ck_assert_uint_eq(out[0].piece, 1);
	ck_assert_uint_eq(out[1].piece, 7);
	/* Off again: rarest first (the common piece 0 is taken already; piece 19 rarer). */
	picker_set_sequential(p, false);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_b, false, out, 12), 12);
	bitfield_free(&bf);
	picker_free(p);
}
END_TEST

START_TEST(test_skip_and_priorities)
{
	struct picker *p = picker_new(12, B, 12 * B, 23);
	for (uint32_t i = 0; i < 4; i++)
		picker_set_priority(p, i, PRIO_SKIP);
	picker_set_priority(p, 10, PRIO_HIGH);
	picker_set_priority(p, 11, PRIO_HIGH);
	picker_set_priority(p, 4, PRIO_LOW);
	ck_assert_int_eq(picker_priority(p, 0), PRIO_SKIP);
	ck_assert_int_eq(picker_priority(p, 10), PRIO_HIGH);
	ck_assert_int_eq(picker_priority(p, 5), PRIO_NORMAL);
	/* The high pieces are the most common: priority beats rarity. */
	for (int i = 0; i < 3; i++) {
		picker_peer_have(p, 10);
		picker_peer_have(p, 11);
	}
	struct picker_block out[16];
	size_t n = pick_all(p, NULL, &peer_a, false, out, 16);
	ck_assert_uint_eq(n, 8);
	ck_assert(out[0].piece >= 10 && out[1].piece >= 10);
	ck_assert_uint_eq(out[7].piece, 4);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_ge(out[i].piece, 4);
	ck_assert(!picker_complete(p));
	for (uint32_t i = 4; i < 12; i++)
		complete_piece(p, i, &peer_a);
	ck_assert(picker_complete(p));
	ck_assert_uint_eq(picker_have_count(p), 8);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 16), 0);
	/* Wanting a skipped piece again makes it pickable and the torrent incomplete. */
	picker_set_priority(p, 2, PRIO_LOW);
	ck_assert(!picker_complete(p));
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 16), 1);
	ck_assert_uint_eq(out[0].piece, 2);
	/* Skipping a piece in progress stops further picks from it. */
	picker_free(p);

	p = picker_new(2, 4 * B, 8 * B, 1);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 1), 1);
	uint32_t x = out[0].piece;
	picker_set_priority(p, x, PRIO_SKIP);
	n = pick_all(p, NULL, &peer_b, false, out, 16);
	ck_assert_uint_eq(n, 4);
	for (size_t i = 0; i < n; i++)
		ck_assert(out[i].piece != x);
	picker_free(p);
}
END_TEST

START_TEST(test_availability)
{
	struct picker *p = picker_new(20, B, 20 * B, 1);
	struct dp_bitfield a, b;
	bf_make(&a, 20, false);
	bf_make(&b, 20, false);
	for (uint32_t i = 0; i < 20; i += 2)
		bitfield_set(&a, i);
	for (uint32_t i = 0; i < 20; i += 3)
		bitfield_set(&b, i);
	picker_peer_bitfield_add(p, &a);
	picker_peer_bitfield_add(p, &b);
	ck_assert_uint_eq(picker_availability(p, 0), 2);
	ck_assert_uint_eq(picker_availability(p, 2), 1);
	ck_assert_uint_eq(picker_availability(p, 3), 1);
	ck_assert_uint_eq(picker_availability(p, 1), 0);
	picker_seed_add(p);
	picker_seed_add(p);
	ck_assert_uint_eq(picker_availability(p, 1), 2);
	ck_assert_uint_eq(picker_availability(p, 0), 4);
	picker_peer_have(p, 1);
	ck_assert_uint_eq(picker_availability(p, 1), 3);
	picker_peer_bitfield_remove(p, &a);
	ck_assert_uint_eq(picker_availability(p, 0), 3);
	ck_assert_uint_eq(picker_availability(p, 2), 2);
	picker_seed_remove(p);
	picker_seed_remove(p);
	picker_seed_remove(p);	/* one too many: ignored */
	ck_assert_uint_eq(picker_availability(p, 2), 0);
	ck_assert_uint_eq(picker_availability(p, 1), 1);
	picker_peer_bitfield_remove(p, &b);
	for (uint32_t i = 0; i < 20; i++)
		ck_assert_uint_eq(picker_availability(p, i), i == 1 ? 1 : 0);
	ck_assert_uint_eq(picker_availability(p, 20), 0);
	/* Availability of had pieces is still tracked (the piece map shows it). */
	picker_set_have(p, 5);
	picker_peer_have(p, 5);
	ck_assert_uint_eq(picker_availability(p, 5), 1);
	/* Seeds do not change the order among pieces; past the random phase piece 1 (had by one
	 * more peer) comes last. */
	for (uint32_t i = 6; i < 9; i++)
		picker_set_have(p, i);
	picker_seed_add(p);
	struct picker_block out[32];
	size_t n = pick_all(p, NULL, &peer_a, false, out, 32);
	ck_assert_uint_eq(n, 16);
	ck_assert_uint_eq(out[15].piece, 1);
	bitfield_free(&a);
	bitfield_free(&b);
	picker_free(p);
}
END_TEST

START_TEST(test_failed_and_abandoned)
{
	struct picker *p = picker_new(4, 4 * B, 16 * B, 29);
	struct picker_block out[16];
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, true, out, 4), 4);
	uint32_t x = out[0].piece;
	bool done = false;
	size_t nc;
	for (int i = 0; i < 4; i++)
		ck_assert(picker_block_received(p, x, out[i].offset, out[i].length, &peer_a, NULL, 0,
		    &nc, &done));
	ck_assert(done);
	ck_assert_int_eq(picker_piece_state(p, x), 1);
	picker_piece_failed(p, x);
	ck_assert_int_eq(picker_piece_state(p, x), 0);
	ck_assert(!picker_have(p, x));
	/* All four blocks of x come back, to anyone. */
	uint32_t got_x = 0;
	size_t n = pick_all(p, NULL, &peer_b, false, out, 16);
	ck_assert_uint_eq(n, 16);
	for (size_t i = 0; i < n; i++)
		got_x += out[i].piece == x;
	ck_assert_uint_eq(got_x, 4);
	/* b abandons one block: c gets exactly that one. */
	picker_block_abandoned(p, out[5].piece, out[5].offset, &peer_b);
	/* Abandoning for a peer that never asked changes nothing. */
	picker_block_abandoned(p, out[6].piece, out[6].offset, &peer_c);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_c, false, out + 10, 1), 1);
	ck_assert_uint_eq(out[10].piece, out[5].piece);
	ck_assert_uint_eq(out[10].offset, out[5].offset);
	ck_assert(picker_in_endgame(p));
	/* b goes away: everything but c's block is free; pieces c is not in are fresh again. */
	picker_peer_abandon_all(p, &peer_b);
	uint32_t fresh = 0;
	for (uint32_t i = 0; i < 4; i++)
		fresh += picker_piece_state(p, i) == 0;
	ck_assert_uint_eq(fresh, 3);
	/* 15 free blocks, then endgame: c's one block again. */
	n = pick_all(p, NULL, &peer_d, false, out, 16);
	ck_assert_uint_eq(n, 16);
	ck_assert(picker_in_endgame(p));
	picker_free(p);
}
END_TEST

START_TEST(test_pick_from_allowed_fast)
{
	struct picker *p = picker_new(10, 2 * B, 20 * B, 31);
	uint32_t allowed[] = { 3, 7, 42 };
	struct dp_bitfield bf;
	bf_make(&bf, 10, true);
	bitfield_clear(&bf, 7);
	struct picker_block out[8];
	size_t n = picker_pick_from(p, allowed, 3, &bf, &peer_a, out, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[0].piece, 3);
	ck_assert_uint_eq(out[1].piece, 3);
	ck_assert_uint_eq(picker_pick_from(p, allowed, 3, &bf, &peer_a, out, 8), 0);
	n = picker_pick_from(p, allowed, 3, NULL, &peer_b, out, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[0].piece, 7);
	bitfield_free(&bf);
	picker_free(p);
}
END_TEST

/* A swarm of peers with random bitfields; random picks, deliveries, abandons, disconnects and
 * hash failures. Checks every answer against a model of outstanding requests. */
#define SW_PIECES 160	/* big enough that peer bitfields take the bulk (rebuild) path */
#define SW_BLOCKS 3
#define SW_PEERS 6

struct sw_peer {
	struct dp_bitfield has;
	bool out[SW_PIECES][SW_BLOCKS];
};

static uint32_t
sw_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

START_TEST(test_random_swarm)
{
	uint32_t rs = 0x1234567u + (uint32_t)_i;
	struct picker *p = picker_new(SW_PIECES, SW_BLOCKS * B, (uint64_t)SW_PIECES * SW_BLOCKS * B -
	    100, (uint32_t)_i);
	static struct sw_peer peers[SW_PEERS];
	bool got[SW_PIECES][SW_BLOCKS];
	memset(peers, 0, sizeof peers);
	memset(got, 0, sizeof got);
	for (int k = 0; k < SW_PEERS; k++) {
		bf_make(&peers[k].has, SW_PIECES, k == 0);
		for (uint32_t i = 0; i < SW_PIECES; i++)
			if (sw_rand(&rs) % 2)
				bitfield_set(&peers[k].has, i);
		picker_peer_bitfield_add(p, &peers[k].has);
	}
	for (uint32_t i = 0; i < SW_PIECES; i += 7)
		picker_set_priority(p, i, PRIO_SKIP);
	picker_set_priority(p, 1, PRIO_HIGH);
	bool saw_endgame = false;
	int step;
	for (step = 0; step < 50000 && !picker_complete(p); step++) {
		int k = (int)(sw_rand(&rs) % SW_PEERS);
		struct sw_peer *sp = &peers[k];
		uint32_t op = sw_rand(&rs) % 100;
		if (op < 40) {
			struct picker_block out[6];
			size_t n = picker_pick(p, &sp->has, sp, k % 2 == 0, out, 1 + sw_rand(&rs) % 6);
			/* Picks never free blocks, so endgame now covers any duplicates given. */
			bool eg = picker_in_endgame(p);
			saw_endgame |= eg;
			for (size_t i = 0; i < n; i++) {
				uint32_t pc = out[i].piece, b = out[i].offset / B;
				ck_assert(bitfield_get(&sp->has, pc));
				ck_assert(!picker_have(p, pc));
				ck_assert_int_ne(picker_priority(p, pc), PRIO_SKIP);
				ck_assert(!sp->out[pc][b]);
				ck_assert(!got[pc][b]);
				ck_assert_uint_eq(out[i].length, picker_block_length(p, pc, b));
				if (!eg) {
					for (int o = 0; o < SW_PEERS; o++)
						ck_assert(!peers[o].out[pc][b]);
				}
				sp->out[pc][b] = true;
			}
		} else if (op < 85) {
			/* Deliver one of this peer's outstanding blocks. */
			for (uint32_t pc = 0; pc < SW_PIECES; pc++) {
				for (uint32_t b = 0; b < SW_BLOCKS; b++) {
					if (!sp->out[pc][b])
						continue;
					const void *cancel[SW_PEERS];
					size_t nc;
					bool done;
					ck_assert(picker_block_received(p, pc, b * B,
					    picker_block_length(p, pc, b), sp, cancel, SW_PEERS, &nc,
					    &done));
					sp->out[pc][b] = false;
					got[pc][b] = true;
					size_t expect = 0;
					for (int o = 0; o < SW_PEERS; o++)
						expect += peers[o].out[pc][b];
					ck_assert_uint_eq(nc, expect);
					for (size_t c = 0; c < nc; c++) {
						struct sw_peer *cp = (struct sw_peer *)cancel[c];
						ck_assert(cp != sp && cp->out[pc][b]);
						cp->out[pc][b] = false;
					}
					bool all = true;
					for (uint32_t x = 0; x < SW_BLOCKS; x++)
						all &= got[pc][x];
					ck_assert(done == all);
					if (done) {
						if (sw_rand(&rs) % 8 == 0) {
							picker_piece_failed(p, pc);
							memset(got[pc], 0, sizeof got[pc]);
						} else {
							picker_piece_verified(p, pc);
							ck_assert_int_eq(picker_piece_state(p, pc), 2);
						}
					}
					goto delivered;
				}
			}
delivered:		;
		} else if (op < 93) {
			for (uint32_t pc = 0; pc < SW_PIECES; pc++) {
				for (uint32_t b = 0; b < SW_BLOCKS; b++) {
					if (sp->out[pc][b] && sw_rand(&rs) % 3 == 0) {
						picker_block_abandoned(p, pc, b * B, sp);
						sp->out[pc][b] = false;
					}
				}
			}
		} else if (op < 97) {
			picker_peer_abandon_all(p, sp);
			memset(sp->out, 0, sizeof sp->out);
		} else {
			/* Reconnects with another bitfield; peer 0 stays a full copy. */
			picker_peer_abandon_all(p, sp);
			memset(sp->out, 0, sizeof sp->out);
			picker_peer_bitfield_remove(p, &sp->has);
			for (uint32_t i = 0; i < SW_PIECES; i++) {
				if (k == 0 || sw_rand(&rs) % 2)
					bitfield_set(&sp->has, i);
				else
					bitfield_clear(&sp->has, i);
			}
			picker_peer_bitfield_add(p, &sp->has);
		}
	}
	ck_assert_msg(picker_complete(p), "swarm did not finish in %d steps", step);
	ck_assert(saw_endgame);
	for (uint32_t i = 0; i < SW_PIECES; i++)
		ck_assert(picker_have(p, i) == (i % 7 != 0));
	for (int k = 0; k < SW_PEERS; k++)
		bitfield_free(&peers[k].has);
	picker_free(p);
}
END_TEST

/* 200k pieces of 4 blocks and 30 partial peers: thousands of picks, each answered with work,
 * without timing anything. Then drive the whole torrent to completion with one seed. */
START_TEST(test_large_torrent)
{
	const uint32_t np = 200000;
	struct picker *p = picker_new(np, 4 * B, (uint64_t)np * 4 * B, 77);
	struct dp_bitfield bfs[30];
	uint32_t rs = 99;
	for (int k = 0; k < 30; k++) {
		bf_make(&bfs[k], np, false);
		for (uint32_t i = 0; i < np; i++)
			if (sw_rand(&rs) % 4 != 0)
				bitfield_set(&bfs[k], i);
		picker_peer_bitfield_add(p, &bfs[k]);
	}
	picker_seed_add(p);
	struct picker_block out[64];
	uint64_t blocks = 0;
	for (int round = 0; round < 5000; round++) {
		int k = round % 30;
		size_t n = picker_pick(p, &bfs[k], &bfs[k], k < 10, out, 64);
		ck_assert_uint_eq(n, 64);
		for (size_t i = 0; i < n; i++) {
			bool done;
			size_t nc;
			ck_assert(picker_block_received(p, out[i].piece, out[i].offset, out[i].length,
			    &bfs[k], NULL, 0, &nc, &done));
			if (done)
				picker_piece_verified(p, out[i].piece);
		}
		blocks += n;
		/* Peers come and go: availability churn while picking. */
		if (round % 1000 == 999) {
			picker_peer_bitfield_remove(p, &bfs[k]);
			picker_peer_bitfield_add(p, &bfs[k]);
		}
	}
	ck_assert_uint_eq(blocks, 5000 * 64);
	ck_assert_uint_ge(picker_have_count(p), 75000);
	for (int k = 0; k < 30; k++) {
		picker_peer_abandon_all(p, &bfs[k]);
		picker_peer_bitfield_remove(p, &bfs[k]);
		bitfield_free(&bfs[k]);
	}
	/* The seed takes the rest. */
	size_t picks = 0;
	while (!picker_complete(p) && picks < np) {
		size_t n = picker_pick(p, NULL, &peer_a, true, out, 64);
		ck_assert_uint_gt(n, 0);
		for (size_t i = 0; i < n; i++) {
			bool done;
			size_t nc;
			ck_assert(picker_block_received(p, out[i].piece, out[i].offset, out[i].length,
			    &peer_a, NULL, 0, &nc, &done));
			if (done)
				picker_piece_verified(p, out[i].piece);
		}
		picks++;
	}
	ck_assert(picker_complete(p));
	ck_assert_uint_eq(picker_have_count(p), np);
	picker_free(p);
}
END_TEST

/* A million pieces: the picker's own memory stays within a few tens of MiB. */
START_TEST(test_million_pieces_memory)
{
	const uint32_t np = 1000000;
	struct mallinfo2 before = mallinfo2();
	struct picker *p = picker_new(np, 16 * B, (uint64_t)np * 16 * B, 5);
	struct dp_bitfield bf;
	bf_make(&bf, np, false);
	uint32_t rs = 3;
	for (uint32_t i = 0; i < np; i++)
		if (sw_rand(&rs) % 2)
			bitfield_set(&bf, i);
	for (int k = 0; k < 4; k++)
		picker_peer_bitfield_add(p, &bf);
	struct picker_block out[128];
	static char ids[200];
	for (int k = 0; k < 200; k++)
		ck_assert_uint_eq(picker_pick(p, k % 2 ? &bf : NULL, &ids[k], k % 3 == 0, out, 128),
		    128);
	struct mallinfo2 after = mallinfo2();
	/* Big arrays are mmapped: count those too. */
	size_t b0 = before.uordblks + before.hblkhd, b1 = after.uordblks + after.hblkhd;
	size_t used = b1 > b0 ? b1 - b0 : 0;
	fprintf(stderr, "picker: 1M pieces use %zu KiB\n", used / 1024);
	ck_assert_uint_lt(used, 40u << 20);
	picker_peer_bitfield_remove(p, &bf);
	bitfield_free(&bf);
	picker_free(p);
}
END_TEST

START_TEST(test_empty_and_odd)
{
	struct picker *p = picker_new(0, B, 0, 1);
	struct picker_block out[4];
	ck_assert(picker_complete(p));
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, true, out, 4), 0);
	ck_assert(!picker_in_endgame(p));
	picker_free(p);
	picker_free(NULL);
	/* max 0 and out of range calls are harmless. */
	p = picker_new(2, B, 2 * B, 1);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, true, out, 0), 0);
	picker_set_have(p, 9);
	picker_peer_have(p, 9);
	picker_set_priority(p, 9, PRIO_HIGH);
	picker_piece_failed(p, 9);
	picker_block_abandoned(p, 9, 0, &peer_a);
	picker_block_abandoned(p, 0, 0, &peer_a);
	ck_assert_int_eq(picker_piece_state(p, 9), 0);
	ck_assert_uint_eq(picker_have_count(p), 0);
	/* A bitfield of the wrong size counts only what fits. */
	struct dp_bitfield big;
	bf_make(&big, 50, true);
	picker_peer_bitfield_add(p, &big);
	ck_assert_uint_eq(picker_availability(p, 1), 1);
	picker_peer_bitfield_remove(p, &big);
	ck_assert_uint_eq(picker_availability(p, 1), 0);
	bitfield_free(&big);
	picker_set_have(p, 0);
	picker_set_have(p, 0);
	ck_assert_uint_eq(picker_have_count(p), 1);
	ck_assert_int_eq(picker_piece_state(p, 0), 2);
	picker_free(p);
}
END_TEST

START_TEST(test_bulk_availability)
{
	/* Bitfields this large re-sort the buckets in bulk; order must come out the same. */
	const uint32_t np = 3000;
	struct picker *p = picker_new(np, B, (uint64_t)np * B, 41);
	for (uint32_t i = 0; i < DP_RANDOM_FIRST_PIECES; i++)
		picker_set_have(p, i);
	struct dp_bitfield a, b, c;
	bf_make(&a, np, true);
	bf_make(&b, np, true);
	for (uint32_t i = 100; i < 200; i++)
		bitfield_clear(&b, i);
	picker_peer_bitfield_add(p, &a);
	picker_peer_bitfield_add(p, &b);
	picker_peer_have(p, 150);
	ck_assert_uint_eq(picker_availability(p, 150), 2);
	ck_assert_uint_eq(picker_availability(p, 199), 1);
	ck_assert_uint_eq(picker_availability(p, 200), 2);
	struct picker_block out[128];
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 99), 99);
	bool seen[100] = { false };
	for (int i = 0; i < 99; i++) {
		ck_assert(out[i].piece >= 100 && out[i].piece < 200 && out[i].piece != 150);
		ck_assert(!seen[out[i].piece - 100]);
		seen[out[i].piece - 100] = true;
	}
	picker_peer_bitfield_remove(p, &a);
	bf_make(&c, np, true);
	bitfield_clear(&c, 500);
	picker_peer_bitfield_add(p, &c);
	ck_assert_uint_eq(picker_availability(p, 500), 1);
	ck_assert_uint_eq(picker_availability(p, 150), 2);
	ck_assert_uint_eq(picker_pick(p, NULL, &peer_a, false, out, 1), 1);
	ck_assert_uint_eq(out[0].piece, 500);
	/* Single HAVEs after a bulk change, then a pick: 777 loses nothing, all else gains. */
	picker_peer_bitfield_remove(p, &c);
	picker_peer_have(p, 777);
	picker_peer_have(p, 777);
	ck_assert_uint_eq(picker_pick(p, &b, &peer_b, false, out, 1), 1);
	ck_assert(out[0].piece != 777);
	size_t n = pick_all(p, NULL, &peer_b, false, out, 128);
	ck_assert_uint_eq(n, 128);
	bitfield_free(&a);
	bitfield_free(&b);
	bitfield_free(&c);
	picker_free(p);
}
END_TEST

Suite *
picker_suite(void)
{
	Suite *s = suite_create("picker");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_block_sizes);
	tcase_add_test(tc, test_received_validation);
	tcase_add_test(tc, test_rarest_first);
	tcase_add_test(tc, test_random_tiebreak);
	tcase_add_test(tc, test_random_first_pieces);
	tcase_add_test(tc, test_in_progress_first);
	tcase_add_test(tc, test_fast_peer_whole_piece);
	tcase_add_test(tc, test_endgame_cancels);
	tcase_add_test(tc, test_endgame_not_with_unrequested);
	tcase_add_test(tc, test_sequential);
	tcase_add_test(tc, test_skip_and_priorities);
	tcase_add_test(tc, test_availability);
	tcase_add_test(tc, test_failed_and_abandoned);
	tcase_add_test(tc, test_pick_from_allowed_fast);
	tcase_add_test(tc, test_empty_and_odd);
	tcase_add_test(tc, test_bulk_availability);
	tcase_add_loop_test(tc, test_random_swarm, 1, 9);
	suite_add_tcase(s, tc);
	TCase *big = tcase_create("scale");
	tcase_set_timeout(big, 300);
	tcase_add_test(big, test_large_torrent);
	tcase_add_test(big, test_million_pieces_memory);
	suite_add_tcase(s, big);
	return s;
}
