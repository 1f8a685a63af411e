/* check_tracker_list.c: trackerList text (tracker_list.c): tiers by empty lines, limits on
 * count, length and bytes, a repeated URL dropped, ids stable, the edits trackerAdd,
 * trackerRemove and trackerReplace make. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "suites.h"
#include "tracker_list.h"
#include "util.h"

START_TEST(test_parse_format)
{
	struct tracker_list l;
	char err[128];
	const char *in = "\n\n http://a/1 \r\nhttp://b/1\n\n\n\nudp://c:1\nhttp://a/1\n\n";
	ck_assert_int_eq(tracker_list_parse(in, strlen(in), &l, err, sizeof err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(l.tiers[0].count, 2);
	ck_assert_uint_eq(l.tiers[1].count, 1);
	char *s = tracker_list_format(l.tiers, l.n);
	ck_assert_str_eq(s, "http://a/1\nhttp://b/1\n\nudp://c:1\n");
	free(s);
	tracker_list_free(&l);
	ck_assert_int_eq(tracker_list_parse("", 0, &l, err, sizeof err), 0);
	ck_assert_uint_eq(l.n, 0);
	s = tracker_list_format(l.tiers, l.n);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(test_limits)
{
	struct tracker_list l;
	char err[128];
	ck_assert_int_lt(tracker_list_parse("http://a/\001\n", 11, &l, err, sizeof err), 0);
	ck_assert_int_lt(tracker_list_parse("http://a/\0x", 11, &l, err, sizeof err), 0);
	char *longer = xmalloc(TRACKER_LIST_URL_MAX + 2);
	memset(longer, 'a', TRACKER_LIST_URL_MAX + 1);
	longer[TRACKER_LIST_URL_MAX + 1] = '\0';
	ck_assert_int_lt(tracker_list_parse(longer, strlen(longer), &l, err, sizeof err), 0);
	free(longer);
	struct dp_buf b;
	dp_buf_init(&b);
	for (int i = 0; i < TRACKER_LIST_MAX; i++) {
		char line[64];
		int n = snprintf(line, sizeof line, "http://t%d/a\n", i);
		dp_buf_add(&b, line, (size_t)n);
	}
	ck_assert_int_eq(tracker_list_parse((const char *)b.data, b.len, &l, err, sizeof err), 0);
	ck_assert_uint_eq(tracker_list_count(&l), TRACKER_LIST_MAX);
	ck_assert(!tracker_list_append(&l, "http://one-more/a"));
	tracker_list_free(&l);
	dp_buf_add(&b, "http://one-more/a\n", 18);
	ck_assert_int_lt(tracker_list_parse((const char *)b.data, b.len, &l, err, sizeof err), 0);
	dp_buf_free(&b);
}
END_TEST

START_TEST(test_edits)
{
	struct tracker_list l;
	char err[128];
	const char *in = "http://a/1\nhttp://b/1\n\nudp://c:1\n";
	ck_assert_int_eq(tracker_list_parse(in, strlen(in), &l, err, sizeof err), 0);
	/* the same URL, the same id; another URL, another */
	ck_assert_int_eq(tracker_list_id("http://a/1"), tracker_list_id("http://a/1"));
	ck_assert_int_ne(tracker_list_id("http://a/1"), tracker_list_id("http://b/1"));
	ck_assert_int_ge(tracker_list_id("http://a/1"), 0);
	ck_assert(!tracker_list_append(&l, "http://b/1"));
	ck_assert(!tracker_list_append(&l, "http://x/\n"));
	ck_assert(tracker_list_append(&l, "http://d/1"));
	ck_assert(tracker_list_remove_id(&l, tracker_list_id("udp://c:1")));
	ck_assert(!tracker_list_remove_id(&l, tracker_list_id("udp://c:1")));
	ck_assert(!tracker_list_replace_id(&l, tracker_list_id("http://a/1"), "http://b/1"));
	ck_assert(tracker_list_replace_id(&l, tracker_list_id("http://a/1"), "http://e/1"));
	char *s = tracker_list_format(l.tiers, l.n);
	ck_assert_str_eq(s, "http://e/1\nhttp://b/1\n\nhttp://d/1\n");
	free(s);
	tracker_list_free(&l);
}
END_TEST

Suite *
tracker_list_suite(void)
{
	Suite *s = suite_create("tracker_list");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_parse_format);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_edits);
	suite_add_tcase(s, tc);
	return s;
}
