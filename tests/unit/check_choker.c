/* check_choker.c: choker decisions: best rates win, slots, interest, snubbing, optimistic
 * rotation and weighting, and seeding rotation. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "choker.h"
#include "suites.h"

#define S 1000000ULL
#define NOW (1000 * S)

static void
peers_init(struct choker_peer *cp, size_t n)
{
	memset(cp, 0, n * sizeof *cp);
	for (size_t i = 0; i < n; i++) {
		cp[i].peer = &cp[i];
		cp[i].interested = true;
		cp[i].choked = true;
		cp[i].connected_us = NOW - 600 * S;
	}
}

/* Feeds a round's output back as the next round's input, as the caller would. */
static void
peers_apply(struct choker_peer *cp, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (cp[i].unchoke && cp[i].choked)
			cp[i].unchoked_since_us = now;
		if (!cp[i].unchoke)
			cp[i].unchoked_since_us = 0;
		cp[i].choked = !cp[i].unchoke;
	}
}

static unsigned
count_unchoked(const struct choker_peer *cp, size_t n, unsigned *optimistic)
{
	unsigned u = 0, o = 0;
	for (size_t i = 0; i < n; i++) {
		u += cp[i].unchoke;
		o += cp[i].optimistic;
		if (cp[i].optimistic)
			ck_assert(cp[i].unchoke);
	}
	if (optimistic != NULL)
		*optimistic = o;
	return u;
}

START_TEST(test_best_rates_win)
{
	struct choker_peer cp[8];
	uint32_t rng = 1;
	peers_init(cp, 8);
	for (int i = 0; i < 8; i++)
		cp[i].download_rate = (uint64_t)(i + 1) * 1000;
	choker_round(cp, 8, 4, false, true, NOW, &rng);
	unsigned opt;
	ck_assert_uint_eq(count_unchoked(cp, 8, &opt), 4);
	ck_assert_uint_eq(opt, 1);
	for (int i = 5; i < 8; i++) {
		ck_assert(cp[i].unchoke);
		ck_assert(!cp[i].optimistic);
	}
	/* The optimistic one is any of the others. */
	int o = -1;
	for (int i = 0; i < 8; i++)
		if (cp[i].optimistic)
			o = i;
	ck_assert(o >= 0 && o < 5);
	/* Upload rate is irrelevant while downloading. */
	peers_init(cp, 8);
	for (int i = 0; i < 8; i++) {
		cp[i].download_rate = (uint64_t)(i + 1) * 1000;
		cp[i].upload_rate = (uint64_t)(8 - i) * 1000000;
	}
	choker_round(cp, 8, 3, false, false, NOW, &rng);
	ck_assert(cp[7].unchoke && cp[6].unchoke);
	ck_assert(!cp[0].unchoke || cp[0].optimistic);
}
END_TEST

START_TEST(test_ties_keep_unchoked)
{
	/* Equal rates: those already unchoked stay, so slots don't flap every round. */
	struct choker_peer cp[6];
	uint32_t rng = 7;
	for (int round = 0; round < 20; round++) {
		peers_init(cp, 6);
		cp[4].choked = false;
		cp[5].choked = false;
		choker_round(cp, 6, 3, false, false, NOW, &rng);
		ck_assert(cp[4].unchoke && cp[5].unchoke);
		ck_assert_uint_eq(count_unchoked(cp, 6, NULL), 3);
	}
}
END_TEST

START_TEST(test_slots_respected)
{
	struct choker_peer cp[20];
	uint32_t rng = 3;
	for (unsigned slots = 0; slots < 25; slots++) {
		peers_init(cp, 20);
		for (int i = 0; i < 20; i++)
			cp[i].download_rate = (uint64_t)i * 10;
		choker_round(cp, 20, slots, false, true, NOW, &rng);
		unsigned opt;
		ck_assert_uint_eq(count_unchoked(cp, 20, &opt), slots < 20 ? slots : 20);
		ck_assert_uint_eq(opt, slots > 0 && slots <= 20 ? 1 : 0);
		peers_init(cp, 20);
		choker_round(cp, 20, slots, true, true, NOW, &rng);
		ck_assert_uint_eq(count_unchoked(cp, 20, NULL), slots < 20 ? slots : 20);
	}
	/* No peers at all. */
	choker_round(cp, 0, 4, false, true, NOW, &rng);
	/* A NULL rng state still works. */
	peers_init(cp, 3);
	choker_round(cp, 3, 2, false, true, NOW, NULL);
	ck_assert_uint_eq(count_unchoked(cp, 3, NULL), 2);
}
END_TEST

START_TEST(test_uninterested_ignored)
{
	struct choker_peer cp[5];
	uint32_t rng = 5;
	peers_init(cp, 5);
	cp[0].interested = false;
	cp[0].download_rate = 1u << 30;
	cp[0].upload_rate = 1u << 30;
	cp[0].choked = false;
	cp[1].interested = false;
	cp[1].optimistic = true;	/* lost interest: loses the optimistic slot too */
	for (int round = 0; round < 50; round++) {
		choker_round(cp, 5, 4, round % 2 == 0, round % 3 == 0, NOW, &rng);
		ck_assert(!cp[0].unchoke && !cp[1].unchoke);
		ck_assert(!cp[0].optimistic && !cp[1].optimistic);
		ck_assert_uint_eq(count_unchoked(cp, 5, NULL), 3);
	}
	/* Nobody interested: nobody unchoked. */
	for (int i = 0; i < 5; i++)
		cp[i].interested = false;
	choker_round(cp, 5, 4, false, true, NOW, &rng);
	ck_assert_uint_eq(count_unchoked(cp, 5, NULL), 0);
}
END_TEST

START_TEST(test_snubbed_excluded)
{
	struct choker_peer cp[6];
	uint32_t rng = 9;
	peers_init(cp, 6);
	for (int i = 0; i < 6; i++)
		cp[i].download_rate = (uint64_t)(i + 1) * 100;
	cp[5].snubbed = true;
	cp[4].snubbed = true;
	choker_round(cp, 6, 3, false, false, NOW, &rng);
	/* Regular slots go to 3 and 2, not to the faster but snubbed 5 and 4. */
	ck_assert(cp[3].unchoke && !cp[3].optimistic);
	ck_assert(cp[2].unchoke && !cp[2].optimistic);
	ck_assert(!cp[5].unchoke || cp[5].optimistic);
	ck_assert(!cp[4].unchoke || cp[4].optimistic);
	/* A snubbed peer can still be the optimistic unchoke: make it the only choice. */
	peers_init(cp, 3);
	cp[0].download_rate = 10;
	cp[1].download_rate = 20;
	cp[2].snubbed = true;
	cp[2].download_rate = 1000;
	choker_round(cp, 3, 3, false, true, NOW, &rng);
	ck_assert(cp[0].unchoke && cp[1].unchoke);
	ck_assert(cp[2].unchoke && cp[2].optimistic);
	/* Snubbing means nothing when seeding (we download nothing). */
	peers_init(cp, 3);
	cp[2].snubbed = true;
	cp[2].upload_rate = 1000;
	choker_round(cp, 3, 2, true, false, NOW, &rng);
	ck_assert(cp[2].unchoke && !cp[2].optimistic);
}
END_TEST

START_TEST(test_optimistic_rotates)
{
	struct choker_peer cp[8];
	uint32_t rng = 11;
	peers_init(cp, 8);
	for (int i = 0; i < 8; i++)
		cp[i].download_rate = i < 2 ? 5000 : 0;
	int holder = -1, changes = 0;
	bool held[8] = { false };
	uint64_t now = NOW;
	for (int round = 0; round < 60; round++) {
		bool rotate = round % 3 == 0;	/* every 30 s with 10 s rounds */
		choker_round(cp, 8, 3, false, rotate, now, &rng);
		unsigned opt;
		ck_assert_uint_eq(count_unchoked(cp, 8, &opt), 3);
		ck_assert_uint_eq(opt, 1);
		ck_assert(cp[0].unchoke && cp[1].unchoke);
		int h = -1;
		for (int i = 0; i < 8; i++)
			if (cp[i].optimistic)
				h = i;
		ck_assert(h >= 2);
		if (!rotate)
			ck_assert_int_eq(h, holder);	/* kept between rotations */
		else if (holder >= 0)
			ck_assert_int_ne(h, holder);	/* moves to another peer */
		changes += h != holder;
		held[h] = true;
		holder = h;
		peers_apply(cp, 8, now);
		now += DP_CHOKE_INTERVAL_S * S;
	}
	ck_assert_int_eq(changes, 20);
	int distinct = 0;
	for (int i = 0; i < 8; i++)
		distinct += held[i];
	ck_assert_int_ge(distinct, 5);

	/* The optimistic holder that earns a regular slot frees the optimistic one. */
	peers_init(cp, 4);
	cp[3].optimistic = true;
	cp[3].download_rate = 9999;
	choker_round(cp, 4, 2, false, false, NOW, &rng);
	ck_assert(cp[3].unchoke && !cp[3].optimistic);
	unsigned opt;
	ck_assert_uint_eq(count_unchoked(cp, 4, &opt), 2);
	ck_assert_uint_eq(opt, 1);
	/* Only one candidate: it keeps the slot even when a rotation is due. */
	peers_init(cp, 1);
	cp[0].optimistic = true;
	choker_round(cp, 1, 1, false, true, NOW, &rng);
	ck_assert(cp[0].unchoke && cp[0].optimistic);
}
END_TEST

START_TEST(test_new_peers_weighted)
{
	/* One new and one old candidate: the new one should win about 3 times in 4. */
	struct choker_peer cp[3];
	uint32_t rng = 13;
	int new_wins = 0;
	for (int round = 0; round < 4000; round++) {
		peers_init(cp, 3);
		cp[0].download_rate = 100;
		cp[1].connected_us = NOW - 5 * S;
		choker_round(cp, 3, 2, false, true, NOW, &rng);
		ck_assert(cp[0].unchoke);
		ck_assert(cp[1].optimistic != cp[2].optimistic);
		new_wins += cp[1].optimistic;
	}
	ck_assert_int_gt(new_wins, 2700);
	ck_assert_int_lt(new_wins, 3300);
}
END_TEST

START_TEST(test_seeding_rotation)
{
	/* 5 slots: 4 regular, the fastest 2 of them never rotate out. */
	struct choker_peer cp[8];
	uint32_t rng = 17;
	peers_init(cp, 8);
	uint64_t rates[] = { 100000, 90000, 10000, 5000 };
	for (int i = 0; i < 4; i++) {
		cp[i].choked = false;
		cp[i].upload_rate = rates[i];
		cp[i].unchoked_since_us = NOW - 40 * S;
	}
	/* Peer 4 is choked but was fast before: rate alone would not rotate anyone. */
	choker_round(cp, 8, 5, true, true, NOW, &rng);
	ck_assert(cp[0].unchoke && !cp[0].optimistic);
	ck_assert(cp[1].unchoke && !cp[1].optimistic);
	/* 2 and 3 held their slots for 40 s without being among the best: they rotate out. */
	ck_assert(!cp[2].unchoke);
	ck_assert(!cp[3].unchoke);
	unsigned waiting = 0;
	for (int i = 4; i < 8; i++)
		waiting += cp[i].unchoke;
	ck_assert_uint_eq(waiting, 3);	/* two regular slots and the optimistic */
	ck_assert_uint_eq(count_unchoked(cp, 8, NULL), 5);

	/* Recently unchoked slower peers keep their turn. */
	peers_init(cp, 8);
	for (int i = 0; i < 4; i++) {
		cp[i].choked = false;
		cp[i].upload_rate = rates[i];
		cp[i].unchoked_since_us = NOW - 5 * S;
	}
	choker_round(cp, 8, 5, true, false, NOW, &rng);
	for (int i = 0; i < 4; i++)
		ck_assert(cp[i].unchoke && !cp[i].optimistic);

	/* Over many rounds every interested peer gets upload time, while the fastest keeps
	 * its slot throughout. */
	peers_init(cp, 8);
	bool served[8] = { false }, zero_in = false;
	uint64_t now = NOW;
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < 8; i++)
			cp[i].upload_rate = cp[i].choked ? 0 : (i == 0 ? 500000 : 1000u * (uint64_t)(i + 1));
		choker_round(cp, 8, 3, true, round % 3 == 0, now, &rng);
		ck_assert_uint_eq(count_unchoked(cp, 8, NULL), 3);
		if (zero_in)
			ck_assert(cp[0].unchoke && !cp[0].optimistic);
		zero_in |= cp[0].unchoke && !cp[0].optimistic;
		for (int i = 0; i < 8; i++)
			if (cp[i].unchoke && !cp[i].optimistic)
				served[i] = true;
		peers_apply(cp, 8, now);
		now += DP_CHOKE_INTERVAL_S * S;
	}
	for (int i = 0; i < 8; i++)
		ck_assert_msg(served[i], "peer %d never got a regular seeding slot", i);
}
END_TEST

Suite *
choker_suite(void)
{
	Suite *s = suite_create("choker");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_best_rates_win);
	tcase_add_test(tc, test_ties_keep_unchoked);
	tcase_add_test(tc, test_slots_respected);
	tcase_add_test(tc, test_uninterested_ignored);
	tcase_add_test(tc, test_snubbed_excluded);
	tcase_add_test(tc, test_optimistic_rotates);
	tcase_add_test(tc, test_new_peers_weighted);
	tcase_add_test(tc, test_seeding_rotation);
	suite_add_tcase(s, tc);
	return s;
}
