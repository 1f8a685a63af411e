/* check_idmap.c: the hash multimap behind the O(1) lookups (torrents by id and info-hash, known
 * peers): puts, gets, deletes against a plain array as the reference, duplicates, growth. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <check.h>

#include "idmap.h"
#include "suites.h"
#include "util.h"

/* Random puts and deletes of 4,000 pairs over 500 keys (many values per key, so probe runs
 * are long and deletions shift them); after each step every lookup agrees with the array. */
START_TEST(test_idmap_against_array)
{
	enum { PAIRS = 4000, KEYS = 500 };
	struct dp_idmap m;
	dp_idmap_init(&m);
	uint64_t *key = xcalloc(PAIRS, sizeof *key);
	bool *in = xcalloc(PAIRS, sizeof *in);
	size_t count = 0;
	uint32_t x = 12345;
	for (int step = 0; step < 20000; step++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		size_t i = x % PAIRS;
		void *val = (void *)(uintptr_t)(i + 1);
		if (in[i]) {
			ck_assert(dp_idmap_del(&m, key[i], val));
			ck_assert(!dp_idmap_del(&m, key[i], val));
			in[i] = false;
			count--;
		} else {
			key[i] = (x >> 8) % KEYS;
			dp_idmap_put(&m, key[i], val);
			in[i] = true;
			count++;
		}
		ck_assert_uint_eq(m.count, count);
		if (step % 1000 != 999)
			continue;
		for (size_t j = 0; j < PAIRS; j++) {
			/* Each pair is found among its key's values exactly as often as it is in. */
			size_t cursor = 0, seen = 0;
			void *v;
			for (uint64_t k = key[j]; (v = dp_idmap_next(&m, k, &cursor)) != NULL;)
				seen += v == (void *)(uintptr_t)(j + 1);
			ck_assert_uint_eq(seen, in[j] ? 1 : 0);
		}
	}
	free(key);
	free(in);
	dp_idmap_free(&m);
}
END_TEST

/* Sequential ids (how torrents are numbered): 10,000 in, every other one out, the rest found,
 * an absent key gives NULL, and the table stays at most half full. */
START_TEST(test_idmap_sequential_ids)
{
	struct dp_idmap m;
	dp_idmap_init(&m);
	ck_assert_ptr_null(dp_idmap_get(&m, 1));
	ck_assert(!dp_idmap_del(&m, 1, (void *)1));
	for (uintptr_t id = 1; id <= 10000; id++)
		dp_idmap_put(&m, id, (void *)(id * 16));
	for (uintptr_t id = 2; id <= 10000; id += 2)
		ck_assert(dp_idmap_del(&m, id, (void *)(id * 16)));
	for (uintptr_t id = 1; id <= 10000; id++) {
		void *want = id % 2 ? (void *)(id * 16) : NULL;
		ck_assert_ptr_eq(dp_idmap_get(&m, id), want);
	}
	ck_assert_ptr_null(dp_idmap_get(&m, 10001));
	ck_assert_uint_eq(m.count, 5000);
	ck_assert_uint_ge(m.cap, 2 * m.count);
	dp_idmap_free(&m);
	ck_assert_uint_eq(m.count, 0);
}
END_TEST

/* An info-hash's key is its first 8 bytes: two hashes that share them share the key, so the
 * caller compares whole hashes over the key's values. */
/* A walk over the slots meets every pair once, with its key; slot numbers go round. */
START_TEST(test_idmap_slots_walk)
{
	enum { N = 3000 };
	struct dp_idmap m;
	dp_idmap_init(&m);
	ck_assert_uint_eq(dp_idmap_slots(&m), 0);
	ck_assert_ptr_null(dp_idmap_slot(&m, 5, NULL));
	uint8_t *met = xcalloc(N, 1);
	for (size_t i = 0; i < N; i++)
		dp_idmap_put(&m, i * 7, (void *)(uintptr_t)(i + 1));
	for (size_t i = 0; i < N; i += 3)
		ck_assert(dp_idmap_del(&m, i * 7, (void *)(uintptr_t)(i + 1)));
	size_t slots = dp_idmap_slots(&m), pairs = 0;
	ck_assert_uint_ge(slots, 2 * m.count);
	for (size_t i = 0; i < slots; i++) {
		uint64_t key = UINT64_MAX;
		void *v = dp_idmap_slot(&m, i, &key);
		if (v == NULL)
			continue;
		size_t at = (size_t)(uintptr_t)v - 1;
		ck_assert_uint_eq(key, at * 7);
		ck_assert_uint_ne(at % 3, 0);
		ck_assert_uint_eq(met[at]++, 0);
		pairs++;
		/* slot i and slot i + slots are the same */
		ck_assert_ptr_eq(dp_idmap_slot(&m, i + slots, NULL), v);
	}
	ck_assert_uint_eq(pairs, m.count);
	ck_assert_uint_eq(pairs, N - (N + 2) / 3);
	free(met);
	dp_idmap_free(&m);
}
END_TEST

/* Lookup of every pair against the array: each is found among its key's values exactly as
 * often as it is in. */
static void
idmap_check_all(const struct dp_idmap *m, const uint64_t *key, const bool *in, size_t pairs)
{
	for (size_t j = 0; j < pairs; j++) {
		size_t cursor = 0, seen = 0;
		void *v;
		while ((v = dp_idmap_next(m, key[j], &cursor)) != NULL)
			seen += v == (void *)(uintptr_t)(j + 1);
		ck_assert_uint_eq(seen, in[j] ? 1 : 0);
	}
}

/* A large table grows in steps: while pairs are still in the table it grows out of, puts,
 * deletes (of pairs in either table), lookups of keys whose values are split between the two,
 * and a walk over the slots all agree with the array; each put or delete moves a bounded
 * number of old slots, and the old table is gone before the next growth. */
START_TEST(test_idmap_grows_in_steps)
{
	enum { PAIRS = 24000, KEYS = 3000 };
	struct dp_idmap m;
	dp_idmap_init(&m);
	uint64_t *key = xcalloc(PAIRS, sizeof *key);
	bool *in = xcalloc(PAIRS, sizeof *in);
	size_t count = 0, checks = 0, growths = 0;
	uint32_t x = 777;
	for (int step = 0; step < 60000; step++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		/* mostly puts, so the table keeps growing through several steps */
		size_t i = x % PAIRS;
		void *val = (void *)(uintptr_t)(i + 1);
		size_t cap = m.cap, done = m.old_done;
		bool was_old = m.old != NULL;
		if (in[i] && x % 4 == 0) {
			ck_assert(dp_idmap_del(&m, key[i], val));
			in[i] = false;
			count--;
		} else if (!in[i]) {
			key[i] = (x >> 8) % KEYS;
			dp_idmap_put(&m, key[i], val);
			in[i] = true;
			count++;
		} else {
			continue;
		}
		ck_assert_uint_eq(m.count, count);
		ck_assert_uint_ge(m.cap, 2 * m.count);
		if (m.cap != cap && cap >= 1024) {
			/* a growth of a large table moves nothing yet, the one before is over */
			ck_assert(!was_old);
			ck_assert_ptr_nonnull(m.old);
			ck_assert_uint_eq(m.old_done, 0);
			growths++;
		} else if (was_old && m.old != NULL) {
			ck_assert_uint_le(m.old_done - done, 64);
		}
		if (m.old == NULL || step % 53 != 0)
			continue;
		idmap_check_all(&m, key, in, PAIRS);
		size_t slots = dp_idmap_slots(&m), pairs = 0;
		ck_assert_uint_eq(slots, m.cap + m.old_cap);
		for (size_t s = 0; s < slots; s++)
			pairs += dp_idmap_slot(&m, s, NULL) != NULL;
		ck_assert_uint_eq(pairs, count);
		checks++;
	}
	ck_assert_uint_ge(growths, 3);
	ck_assert_uint_ge(checks, 5);
	idmap_check_all(&m, key, in, PAIRS);
	free(key);
	free(in);
	dp_idmap_free(&m);
}
END_TEST

START_TEST(test_idmap_key20)
{
	uint8_t a[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, b[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 10 };
	uint8_t c[20] = { 1, 2, 3, 4, 5, 6, 7, 9 };
	ck_assert(dp_idmap_key20(a) == dp_idmap_key20(b));
	ck_assert(dp_idmap_key20(a) != dp_idmap_key20(c));
	struct dp_idmap m;
	dp_idmap_init(&m);
	dp_idmap_put(&m, dp_idmap_key20(a), a);
	dp_idmap_put(&m, dp_idmap_key20(b), b);
	size_t cursor = 0, n = 0;
	void *v;
	while ((v = dp_idmap_next(&m, dp_idmap_key20(a), &cursor)) != NULL)
		n += v == a || v == b;
	ck_assert_uint_eq(n, 2);
	ck_assert_ptr_null(dp_idmap_get(&m, dp_idmap_key20(c)));
	dp_idmap_free(&m);
}
END_TEST

Suite *
idmap_suite(void)
{
	Suite *s = suite_create("idmap");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_idmap_against_array);
	tcase_add_test(tc, test_idmap_sequential_ids);
	tcase_add_test(tc, test_idmap_key20);
	tcase_add_test(tc, test_idmap_slots_walk);
	tcase_add_test(tc, test_idmap_grows_in_steps);
	/* A timeout catches a hang, not slowness: the stepwise-growth test takes 2 s alone here and
	 * ran past Check's default 4 s at a load of 5-7 beside the parallel unit suites. */
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
