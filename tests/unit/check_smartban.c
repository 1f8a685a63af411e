/* check_smartban.c: block-level blame for pieces that failed the hash check with several
 * senders: the one that sent a differing block is guilty, the others are cleared. */
#include "config.h"

#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "smartban.h"
#include "suites.h"
#include "util.h"

#define BS 16384u

struct verdicts {
	int n;
	uint16_t port[8];
	bool guilty[8];
};

static void
collect(const struct sockaddr_storage *addr, bool guilty, void *arg)
{
	struct verdicts *v = arg;
	ck_assert_int_lt(v->n, 8);
	v->port[v->n] = ntohs(((const struct sockaddr_in *)addr)->sin_port);
	v->guilty[v->n] = guilty;
	v->n++;
}

static struct sockaddr_storage
lo(uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return ss;
}

static void
fill(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
}

/* Two senders on loopback (same address, other ports): the slow poisoner sent blocks 1
 * and 3 of a 4.5-block piece, one of them corrupt; the good seeder sent the rest. */
START_TEST(test_smartban_blames_only_the_corrupt_sender)
{
	uint32_t len = 4 * BS + 100;
	uint8_t *good = xmalloc(len), *bad = xmalloc(len);
	fill(good, len, 7);
	memcpy(bad, good, len);
	bad[3 * BS + 5] ^= 0x01;                 /* one bit in block 3 */
	struct sockaddr_storage senders[2] = { lo(6881), lo(6882) };
	uint8_t from[5] = { 0, 1, 0, 1, 0 };
	struct smartban sb;
	smartban_init(&sb);
	ck_assert(smartban_record_failure(&sb, 9, bad, len, BS, from, senders, 2));
	ck_assert_uint_eq(smartban_pending(&sb, 9), 1);
	ck_assert_uint_eq(smartban_pending(&sb, 8), 0);
	/* Another piece passing judges nothing. */
	struct verdicts v = { 0 };
	ck_assert_uint_eq(smartban_judge(&sb, 8, good, len, collect, &v), 0);
	ck_assert_int_eq(v.n, 0);
	ck_assert_uint_eq(smartban_judge(&sb, 9, good, len, collect, &v), 1);
	ck_assert_int_eq(v.n, 2);
	for (int i = 0; i < v.n; i++)
		ck_assert(v.guilty[i] == (v.port[i] == 6882));
	ck_assert_uint_eq(smartban_pending(&sb, 9), 0);
	smartban_free(&sb);
	free(good);
	free(bad);
}
END_TEST

/* The short last block counts, unknown senders are skipped, and a sender whose blocks were all
 * right in one attempt can still be guilty in another attempt of the same piece. */
START_TEST(test_smartban_last_block_and_several_attempts)
{
	uint32_t len = 2 * BS + 10;
	uint8_t *good = xmalloc(len), *a1 = xmalloc(len), *a2 = xmalloc(len);
	fill(good, len, 99);
	memcpy(a1, good, len);
	memcpy(a2, good, len);
	a1[len - 1] ^= 0x80;                     /* attempt 1: the 10-byte tail is bad */
	a2[0] ^= 0x80;                           /* attempt 2: block 0 is bad */
	struct sockaddr_storage s1[2] = { lo(1000), lo(2000) };
	uint8_t f1[3] = { 0, SMARTBAN_NONE, 1 };
	struct sockaddr_storage s2[2] = { lo(3000), lo(1000) };
	uint8_t f2[3] = { 0, 1, 1 };
	struct smartban sb;
	smartban_init(&sb);
	ck_assert(smartban_record_failure(&sb, 0, a1, len, BS, f1, s1, 2));
	ck_assert(smartban_record_failure(&sb, 0, a2, len, BS, f2, s2, 2));
	ck_assert_uint_eq(smartban_pending(&sb, 0), 2);
	struct verdicts v = { 0 };
	ck_assert_uint_eq(smartban_judge(&sb, 0, good, len, collect, &v), 2);
	ck_assert_int_eq(v.n, 4);
	int guilty2000 = 0, guilty3000 = 0, clear1000 = 0;
	for (int i = 0; i < v.n; i++) {
		if (v.port[i] == 2000 && v.guilty[i])
			guilty2000++;
		if (v.port[i] == 3000 && v.guilty[i])
			guilty3000++;
		if (v.port[i] == 1000 && !v.guilty[i])
			clear1000++;
	}
	ck_assert_int_eq(guilty2000, 1);
	ck_assert_int_eq(guilty3000, 1);
	ck_assert_int_eq(clear1000, 2);
	smartban_free(&sb);
	free(good);
	free(a1);
	free(a2);
}
END_TEST

START_TEST(test_smartban_bounded_and_forget)
{
	uint8_t data[100];
	fill(data, sizeof data, 1);
	struct sockaddr_storage s[1] = { lo(1) };
	uint8_t from[1] = { 0 };
	struct smartban sb;
	smartban_init(&sb);
	for (uint32_t i = 0; i < SMARTBAN_MAX_RECORDS; i++)
		ck_assert(smartban_record_failure(&sb, i % 3, data, sizeof data, BS, from, s, 1));
	/* Full: the caller falls back to strikes. */
	ck_assert(!smartban_record_failure(&sb, 5, data, sizeof data, BS, from, s, 1));
	/* Unusable input is refused. */
	smartban_forget(&sb, 0);
	ck_assert_uint_eq(smartban_pending(&sb, 0), 0);
	ck_assert(!smartban_record_failure(&sb, 5, data, 0, BS, from, s, 1));
	ck_assert(!smartban_record_failure(&sb, 5, data, sizeof data, BS, from, s, 0));
	ck_assert(smartban_record_failure(&sb, 5, data, sizeof data, BS, from, s, 1));
	/* A verdict for a piece whose length does not match the record is dropped, not judged. */
	struct verdicts v = { 0 };
	ck_assert_uint_eq(smartban_judge(&sb, 5, data, 50, collect, &v), 0);
	ck_assert_int_eq(v.n, 0);
	ck_assert_uint_eq(smartban_pending(&sb, 5), 0);
	smartban_free(&sb);
	ck_assert_uint_eq(sb.n, 0);
}
END_TEST

Suite *
smartban_suite(void)
{
	Suite *s = suite_create("smartban");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_smartban_blames_only_the_corrupt_sender);
	tcase_add_test(tc, test_smartban_last_block_and_several_attempts);
	tcase_add_test(tc, test_smartban_bounded_and_forget);
	suite_add_tcase(s, tc);
	return s;
}
