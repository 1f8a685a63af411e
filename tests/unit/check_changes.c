/* check_changes.c: the change list behind recently-active: move-to-front, the walk that stops at
 * the first stamp older than asked, removals in a bounded ring. */
#include "config.h"

#include <stdlib.h>
#include <check.h>

#include "changes.h"
#include "suites.h"

START_TEST(test_touch_order_and_window)
{
	struct change_list l;
	changes_init(&l);
	struct change_node n[5] = { { .id = 1 }, { .id = 2 }, { .id = 3 }, { .id = 4 }, { .id = 5 } };
	for (int i = 0; i < 5; i++)
		changes_touch(&l, &n[i], 1000 + 100 * (uint64_t)i);   /* 1 at 1000 ... 5 at 1400 */
	int *ids;
	size_t k = changes_since(&l, 1200, &ids);
	ck_assert_uint_eq(k, 3);
	ck_assert_int_eq(ids[0], 5);
	ck_assert_int_eq(ids[1], 4);
	ck_assert_int_eq(ids[2], 3);
	free(ids);
	/* Touching 1 again brings it to the front with the new stamp; the rest keep theirs. */
	changes_touch(&l, &n[0], 2000);
	k = changes_since(&l, 1350, &ids);
	ck_assert_uint_eq(k, 2);
	ck_assert_int_eq(ids[0], 1);
	ck_assert_int_eq(ids[1], 5);
	free(ids);
	/* A clock read out of order never puts a stamp behind its successor. */
	changes_touch(&l, &n[1], 1500);
	ck_assert_uint_ge(n[1].stamp_ms, 2000);
	/* Unlinking (a removal) takes it out; nothing is older than 0. */
	changes_unlink(&l, &n[0]);
	changes_unlink(&l, &n[0]);             /* twice is harmless */
	k = changes_since(&l, 0, &ids);
	ck_assert_uint_eq(k, 4);
	for (size_t i = 0; i < k; i++)
		ck_assert_int_ne(ids[i], 1);
	free(ids);
	ck_assert_uint_eq(changes_since(&l, 999999, &ids), 0);
	ck_assert_ptr_null(ids);
	changes_free(&l);
}
END_TEST

START_TEST(test_removed_ring)
{
	struct change_list l;
	changes_init(&l);
	for (int i = 1; i <= CHANGES_REMOVED_MAX + 10; i++)
		changes_note_removed(&l, i, (uint64_t)i);
	int *ids;
	size_t k = changes_removed_since(&l, CHANGES_REMOVED_MAX + 8, &ids);
	ck_assert_uint_eq(k, 3);
	ck_assert_int_eq(ids[0], CHANGES_REMOVED_MAX + 10);
	ck_assert_int_eq(ids[2], CHANGES_REMOVED_MAX + 8);
	free(ids);
	/* Bounded: the oldest ten are gone. */
	k = changes_removed_since(&l, 0, &ids);
	ck_assert_uint_eq(k, CHANGES_REMOVED_MAX);
	ck_assert_int_eq(ids[k - 1], 11);
	free(ids);
	changes_free(&l);
}
END_TEST

Suite *
changes_suite(void)
{
	Suite *s = suite_create("changes");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_touch_order_and_window);
	tcase_add_test(tc, test_removed_ring);
	suite_add_tcase(s, tc);
	return s;
}
