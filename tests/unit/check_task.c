/* check_task.c: the task registry's callback accounting: cycles, wall time inside callbacks, CPU
 * converted at the health sample (never above the wall time), nesting, slow callbacks. */
#include "config.h"

#include <check.h>
#include <time.h>

#include "suites.h"
#include "task.h"
#include "util.h"

/* Burns about us microseconds of CPU on this thread. */
static void
burn_cpu(uint64_t us)
{
	uint64_t start = dp_thread_cpu_us();
	volatile uint64_t x = 0;
	while (dp_thread_cpu_us() - start < us)
		x++;
}

START_TEST(test_task_cb_cpu_converted_at_sample)
{
	task_registry_clear();
	struct dp_task *busy = task_new(DP_TASK_KIND_PEER, 1, "busy");
	struct dp_task *idle = task_new(DP_TASK_KIND_TIMER, 0, "idle");
	for (int i = 0; i < 10; i++) {
		task_cb_begin(busy);
		burn_cpu(2000);
		task_cb_end(busy);
	}
	task_cb_begin(idle);
	task_cb_end(idle);
	ck_assert_uint_eq(busy->cycles, 10);
	ck_assert_uint_eq(idle->cycles, 1);
	ck_assert_uint_ge(busy->cb_wall_us, 20000);
	/* Not converted before the sample. */
	ck_assert_uint_eq(busy->cpu_us, 0);
	uint64_t now = dp_now_us();
	task_health_tick(now, now);
	ck_assert_uint_eq(busy->cpu_pending_us, 0);
	/* Busy callbacks are nearly all CPU; CPU never exceeds the wall time measured. */
	ck_assert_uint_ge(busy->cpu_us, 18000);
	ck_assert_uint_le(busy->cpu_us, busy->cb_wall_us);
	ck_assert_uint_le(idle->cpu_us, idle->cb_wall_us);
	struct dp_loop_health h;
	task_health_get(&h);
	ck_assert_uint_ge(h.slowest_count, 1);
	ck_assert_uint_eq(h.slowest[0].task_id, busy->id);
	ck_assert_uint_ge(h.slowest[0].duration_us, 2000);
	task_registry_clear();
}
END_TEST

START_TEST(test_task_cb_sleep_is_not_cpu)
{
	task_registry_clear();
	struct dp_task *sleeper = task_new(DP_TASK_KIND_DISK, 0, "sleeper");
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	task_cb_begin(sleeper);
	nanosleep(&ts, NULL);
	task_cb_end(sleeper);
	ck_assert_uint_ge(sleeper->cb_wall_us, 30000);
	uint64_t now = dp_now_us();
	task_health_tick(now, now);
	/* A callback that blocks is wall time, not CPU: far less than the 30 ms are charged. */
	ck_assert_uint_lt(sleeper->cpu_us, 15000);
	/* ...but it is the slowest callback. */
	struct dp_loop_health h;
	task_health_get(&h);
	ck_assert_uint_eq(h.slowest[0].task_id, sleeper->id);
	task_registry_clear();
}
END_TEST

START_TEST(test_task_cb_nested_and_finished)
{
	task_registry_clear();
	struct dp_task *outer = task_new(DP_TASK_KIND_SESSION, 0, "outer");
	struct dp_task *inner = task_new(DP_TASK_KIND_DISK, 0, "inner");
	task_cb_begin(outer);
	burn_cpu(1000);
	task_cb_begin(inner);
	burn_cpu(3000);
	task_done(inner, "finished inside its callback");
	task_cb_end(inner);
	task_cb_end(outer);
	/* The inner task finished while on the stack: its time is not charged after that. */
	ck_assert_uint_eq(inner->cb_wall_us, 0);
	/* The outer callback contains the nested one. */
	ck_assert_uint_ge(outer->cb_wall_us, 4000);
	uint64_t now = dp_now_us();
	task_health_tick(now, now);
	ck_assert_uint_le(outer->cpu_us, outer->cb_wall_us);
	ck_assert_uint_ge(outer->cpu_us, 3500);
	task_registry_clear();
}
END_TEST

Suite *
task_suite(void)
{
	Suite *s = suite_create("task");
	TCase *tc = tcase_create("accounting");
	tcase_add_test(tc, test_task_cb_cpu_converted_at_sample);
	tcase_add_test(tc, test_task_cb_sleep_is_not_cpu);
	tcase_add_test(tc, test_task_cb_nested_and_finished);
	suite_add_tcase(s, tc);
	return s;
}
