/* check_piece_mem.c: piece buffer memory (piece_mem.h): alignment, slots that never overlap,
 * reuse of freed slots by size class, empty arenas kept up to the reserve and unmapped beyond,
 * pieces of 2 MiB and more in regions of their own, the heap when the kernel refuses a map. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "piece_mem.h"
#include "storage.h"
#include "suites.h"

/* Fills each buffer with its own byte and checks them all afterwards: slots that overlapped
 * would have overwritten one another. */
static void
pm_fill_check(uint8_t **bufs, const size_t *lens, size_t n)
{
	for (size_t i = 0; i < n; i++)
		memset(bufs[i], (int)(i * 7 + 1) & 0xff, lens[i]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < lens[i]; j += 509)
			ck_assert_uint_eq(bufs[i][j], (unsigned)(i * 7 + 1) & 0xff);
}

/* Every size from a last piece of 100 bytes up to 32 MiB: aligned for O_DIRECT, disjoint. */
START_TEST(test_piece_mem_alignment_sizes)
{
	static const size_t lens[] = { 100, 16384, 16385, 32768, 65536 - 3, 262144, 524288,
		1048576, 1048576 - 4096, 2u << 20, (2u << 20) + 1, 4u << 20, 16u << 20,
		(16u << 20) + 16384, 32u << 20 };
	enum { N = sizeof lens / sizeof lens[0] };
	uint8_t *bufs[N];
	for (size_t i = 0; i < N; i++) {
		bufs[i] = piece_mem_alloc(lens[i]);
		ck_assert_ptr_nonnull(bufs[i]);
		ck_assert_uint_eq((uintptr_t)bufs[i] % STORAGE_DIRECT_ALIGN, 0);
		if (!piece_mem_plain() && lens[i] >= PIECE_MEM_ARENA)
			ck_assert_uint_eq((uintptr_t)bufs[i] % PIECE_MEM_ARENA, 0);
	}
	pm_fill_check(bufs, lens, N);
	for (size_t i = 0; i < N; i++)
		piece_mem_free(bufs[i], lens[i]);
	piece_mem_free(NULL, 1048576);
}
END_TEST

/* A freed slot is the next one handed out for its class; another class does not take it. */
START_TEST(test_piece_mem_reuse)
{
	if (piece_mem_plain())
		return;   /* ASan build: the heap's own allocations, which ASan checks */
	uint8_t *a = piece_mem_alloc(1048576);
	uint8_t *b = piece_mem_alloc(1048576);
	ck_assert_ptr_ne(a, b);
	struct piece_mem_stats s0;
	piece_mem_stats(&s0);
	piece_mem_free(a, 1048576);
	uint8_t *small = piece_mem_alloc(16384);
	ck_assert(small < a || small >= a + 1048576);
	uint8_t *c = piece_mem_alloc(1048576 - 100);   /* a shorter last piece: same class */
	ck_assert_ptr_eq(c, a);
	struct piece_mem_stats s1;
	piece_mem_stats(&s1);
	ck_assert_uint_eq(s1.fallback, s0.fallback);
	piece_mem_free(c, 1048576 - 100);
	piece_mem_free(b, 1048576);
	piece_mem_free(small, 16384);
}
END_TEST

/* 40 MiB of 256 KiB pieces, freed in an interleaved order: what is mapped afterwards is what
 * was mapped before plus at most the reserve, and every empty arena kept is a spare. */
START_TEST(test_piece_mem_release)
{
	if (piece_mem_plain())
		return;
	enum { N = 160, LEN = 262144 };
	struct piece_mem_stats s0, s1, s2;
	piece_mem_stats(&s0);
	uint8_t **bufs = calloc(N, sizeof *bufs);
	size_t *lens = calloc(N, sizeof *lens);
	ck_assert_ptr_nonnull(bufs);
	ck_assert_ptr_nonnull(lens);
	for (size_t i = 0; i < N; i++) {
		bufs[i] = piece_mem_alloc(LEN);
		lens[i] = LEN;
	}
	pm_fill_check(bufs, lens, N);
	piece_mem_stats(&s1);
	ck_assert_uint_ge(s1.mapped - s1.spare, (size_t)N * LEN);
	ck_assert_uint_le(s1.mapped - s1.spare, s0.mapped - s0.spare + (size_t)N * LEN);
	for (size_t i = 0; i < N; i += 2)
		piece_mem_free(bufs[i], LEN);
	for (size_t i = 1; i < N; i += 2)
		piece_mem_free(bufs[i], LEN);
	piece_mem_stats(&s2);
	ck_assert_uint_le(s2.spare, PIECE_MEM_RESERVE);
	ck_assert_uint_eq(s2.mapped - s2.spare, s0.mapped - s0.spare);
	ck_assert_uint_lt(s2.mapped, s1.mapped);
	/* The next pieces come from the spares: nothing new is mapped for them. */
	uint8_t *again = piece_mem_alloc(LEN);
	struct piece_mem_stats s3;
	piece_mem_stats(&s3);
	ck_assert_uint_eq(s3.mapped, s2.mapped);
	piece_mem_free(again, LEN);
	free(lens);
	free(bufs);
}
END_TEST

/* Pieces of 2 MiB and more: a region each, kept while the reserve has room, unmapped beyond. */
START_TEST(test_piece_mem_large)
{
	if (piece_mem_plain())
		return;
	struct piece_mem_stats s0, s1, s2;
	piece_mem_stats(&s0);
	size_t lens[] = { 4u << 20, 16u << 20, 24u << 20 };
	uint8_t *bufs[3];
	for (size_t i = 0; i < 3; i++)
		bufs[i] = piece_mem_alloc(lens[i]);
	pm_fill_check(bufs, lens, 3);
	piece_mem_stats(&s1);
	ck_assert_uint_ge(s1.mapped - s1.spare, (size_t)(44u << 20));
	for (size_t i = 0; i < 3; i++)
		piece_mem_free(bufs[i], lens[i]);
	piece_mem_stats(&s2);
	ck_assert_uint_le(s2.spare, PIECE_MEM_RESERVE);
	ck_assert_uint_eq(s2.mapped - s2.spare, s0.mapped - s0.spare);
	/* A 4 MiB piece again takes the 4 MiB region kept, if the reserve kept it. */
	uint8_t *again = piece_mem_alloc(4u << 20);
	ck_assert_uint_eq((uintptr_t)again % PIECE_MEM_ARENA, 0);
	piece_mem_free(again, 4u << 20);
}
END_TEST

/* Many rounds of a download's pattern (pieces in flight come and go out of order): an arena
 * is mapped only while a buffer lives in it, so what is mapped besides the spares stays within
 * one arena per live buffer, and the spares within the reserve. */
START_TEST(test_piece_mem_churn_bounded)
{
	if (piece_mem_plain())
		return;
	enum { SLOTS = 48, LEN = 1048576, ROUNDS = 5000 };
	uint8_t *bufs[SLOTS] = { NULL };
	struct piece_mem_stats s0, s;
	piece_mem_stats(&s0);
	uint32_t x = 2463534242u;
	size_t live = 0;
	for (int r = 0; r < ROUNDS; r++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		size_t i = x % SLOTS;
		if (bufs[i] != NULL) {
			ck_assert_uint_eq(bufs[i][0], (unsigned)i);
			ck_assert_uint_eq(bufs[i][LEN - 1], (unsigned)i);
			piece_mem_free(bufs[i], LEN);
			bufs[i] = NULL;
			live--;
		} else {
			bufs[i] = piece_mem_alloc(LEN);
			bufs[i][0] = (uint8_t)i;
			bufs[i][LEN - 1] = (uint8_t)i;
			live++;
		}
		piece_mem_stats(&s);
		ck_assert_uint_le(s.spare, PIECE_MEM_RESERVE);
		ck_assert_uint_le(s.mapped - s.spare, s0.mapped - s0.spare + live * PIECE_MEM_ARENA);
		ck_assert_uint_ge(s.mapped - s.spare, s0.mapped - s0.spare + live * LEN);
	}
	for (size_t i = 0; i < SLOTS; i++)
		piece_mem_free(bufs[i], LEN);
	piece_mem_stats(&s);
	ck_assert_uint_eq(s.mapped - s.spare, s0.mapped - s0.spare);
	ck_assert_uint_eq(s.fallback, s0.fallback);
}
END_TEST

/* When the kernel refuses a new arena or region, buffers come from the heap: still aligned for
 * O_DIRECT, counted as fallbacks, given back to the heap (no arena takes them); the arenas serve
 * again once maps succeed. */
START_TEST(test_piece_mem_mmap_fails)
{
	if (piece_mem_plain())
		return;   /* ASan build: always the heap */
	static const size_t lens[] = { 100, 16384, 1048576, 1048576 };
	enum { N = sizeof lens / sizeof lens[0] };
	/* Spare arenas (kept by earlier tests in this process) would serve without a map. */
	uint8_t *hold[PIECE_MEM_RESERVE / PIECE_MEM_ARENA + 1];
	size_t nhold = 0;
	struct piece_mem_stats s0, s1;
	piece_mem_stats(&s0);
	while (nhold < sizeof hold / sizeof hold[0]) {
		hold[nhold++] = piece_mem_alloc(PIECE_MEM_ARENA);
		piece_mem_stats(&s1);
		if (s1.spare == s0.spare)
			break;
		s0 = s1;
	}
	piece_mem_stats(&s0);
	piece_mem_fail_maps(true);
	uint8_t *bufs[N];
	for (size_t i = 0; i < N; i++) {
		bufs[i] = piece_mem_alloc(lens[i]);
		ck_assert_ptr_nonnull(bufs[i]);
		ck_assert_uint_eq((uintptr_t)bufs[i] % STORAGE_DIRECT_ALIGN, 0);
	}
	piece_mem_stats(&s1);
	ck_assert_uint_eq(s1.fallback, s0.fallback + N);
	ck_assert_uint_eq(s1.mapped, s0.mapped);
	ck_assert_uint_eq(s1.regions, s0.regions);
	pm_fill_check(bufs, lens, N);
	piece_mem_fail_maps(false);
	for (size_t i = 0; i < N; i++)
		piece_mem_free(bufs[i], lens[i]);
	piece_mem_stats(&s1);
	ck_assert_uint_eq(s1.mapped, s0.mapped);
	ck_assert_uint_eq(s1.spare, s0.spare);
	uint8_t *again = piece_mem_alloc(1048576);
	piece_mem_stats(&s1);
	ck_assert_uint_eq(s1.regions, s0.regions + 1);
	ck_assert_uint_eq(s1.fallback, s0.fallback + N);
	ck_assert_uint_eq((uintptr_t)again % PIECE_MEM_ARENA, 0);
	piece_mem_free(again, 1048576);
	for (size_t i = 0; i < nhold; i++)
		piece_mem_free(hold[i], PIECE_MEM_ARENA);
}
END_TEST

Suite *
piece_mem_suite(void)
{
	Suite *s = suite_create("piece_mem");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_piece_mem_alignment_sizes);
	tcase_add_test(tc, test_piece_mem_reuse);
	tcase_add_test(tc, test_piece_mem_release);
	tcase_add_test(tc, test_piece_mem_large);
	tcase_add_test(tc, test_piece_mem_churn_bounded);
	tcase_add_test(tc, test_piece_mem_mmap_fails);
	suite_add_tcase(s, tc);
	return s;
}
