/* check_alt_speed.c: the alternative limits: the schedule's window (same day, past midnight, day
 * masks, empty), and the limits in force when they are switched on over the RPC. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <check.h>
#include <jansson.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "alt_speed.h"
#include "dp_config.h"
#include "engine.h"
#include "rpc.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "util.h"

START_TEST(test_window)
{
	/* 9:00-17:00 every day. */
	ck_assert(alt_speed_in_window(540, 1020, 127, 3, 540));
	ck_assert(alt_speed_in_window(540, 1020, 127, 3, 1019));
	ck_assert(!alt_speed_in_window(540, 1020, 127, 3, 1020));
	ck_assert(!alt_speed_in_window(540, 1020, 127, 3, 539));
	/* Weekdays only (Monday 2 .. Friday 32): not on Sunday (0) or Saturday (6). */
	int weekdays = 2 | 4 | 8 | 16 | 32;
	ck_assert(alt_speed_in_window(540, 1020, weekdays, 1, 600));
	ck_assert(!alt_speed_in_window(540, 1020, weekdays, 0, 600));
	ck_assert(!alt_speed_in_window(540, 1020, weekdays, 6, 600));
	/* 23:00-06:00 from Friday night: Friday 23:30 and Saturday 05:00 in, Saturday 23:30 not. */
	ck_assert(alt_speed_in_window(1380, 360, 32, 5, 1410));
	ck_assert(alt_speed_in_window(1380, 360, 32, 6, 300));
	ck_assert(!alt_speed_in_window(1380, 360, 32, 6, 1410));
	ck_assert(!alt_speed_in_window(1380, 360, 32, 5, 300));
	/* Sunday night into Monday wraps the week. */
	ck_assert(alt_speed_in_window(1380, 360, 64, 0, 100));
	/* begin == end: 24 hours from begin on each day of the mask (Transmission's table); no
	 * day: never. */
	ck_assert(alt_speed_in_window(600, 600, 4, 2, 600));
	ck_assert(alt_speed_in_window(600, 600, 4, 3, 599));
	ck_assert(!alt_speed_in_window(600, 600, 4, 3, 600));
	ck_assert(!alt_speed_in_window(600, 600, 4, 2, 599));
	ck_assert(!alt_speed_in_window(540, 1020, 0, 2, 600));
}
END_TEST

START_TEST(test_limits_in_force)
{
	char dir[64];
	th_tmpdir_make(dir, sizeof dir, "alt");
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 1);
	struct rpc_handler *h = rpc_handler_new(e, NULL);
	const char *reqs[] = {
		("{\"method\":\"session-set\",\"arguments\":{\"speed-limit-down\":500,"
		 "\"speed-limit-down-enabled\":true,\"alt-speed-down\":20,\"alt-speed-up\":7}}"),
		"{\"method\":\"session-set\",\"arguments\":{\"alt-speed-enabled\":true}}",
		"{\"method\":\"session-set\",\"arguments\":{\"alt-speed-enabled\":false}}",
	};
	const uint64_t down[] = { 500000, 20000, 500000 }, up[] = { 0, 7000, 0 };
	for (size_t i = 0; i < 3; i++) {
		char *ans = rpc_handler_run(h, reqs[i], strlen(reqs[i]), NULL, 0);
		ck_assert_msg(strstr(ans, "\"success\"") != NULL, "%s", ans);
		free(ans);
		struct engine_global_stats g;
		engine_global(e, &g);
		ck_assert_uint_eq(g.down_limit, down[i]);
		ck_assert_uint_eq(g.up_limit, up[i]);
	}
	const char *get = "{\"method\":\"session-get\",\"arguments\":{\"fields\":["
	    "\"alt-speed-down\",\"alt-speed-enabled\",\"alt-speed-time-day\"]}}";
	char *ans = rpc_handler_run(h, get, strlen(get), NULL, 0);
	json_t *j = json_loads(ans, 0, NULL);
	free(ans);
	json_t *a = json_object_get(j, "arguments");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "alt-speed-down")), 20);
	ck_assert(json_is_false(json_object_get(a, "alt-speed-enabled")));
	ck_assert_int_eq(json_integer_value(json_object_get(a, "alt-speed-time-day")), 127);
	json_decref(j);
	const char *bad = "{\"method\":\"session-set\",\"arguments\":{\"alt-speed-time-begin\":1440}}";
	ans = rpc_handler_run(h, bad, strlen(bad), NULL, 0);
	ck_assert(strstr(ans, "out of range") != NULL);
	free(ans);
	rpc_handler_free(h);
	engine_free(e);
	event_base_free(base);
	th_rm_rf(dir);
	task_registry_clear();
}
END_TEST

/* The schedule's first look at start: inside the window, the alternative limits are on. */
START_TEST(test_schedule_at_start)
{
	char dir[64];
	th_tmpdir_make(dir, sizeof dir, "alts");
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	int minute = tm.tm_hour * 60 + tm.tm_min;
	struct dp_config cfg;
	char err[256];
	th_config_loopback(&cfg, dir, 1);
	cfg.alt_speed_time_enabled = true;
	cfg.alt_speed_time_begin = (minute + 1439) % 1440;     /* a minute ago ... */
	cfg.alt_speed_time_end = (minute + 3) % 1440;          /* ... to three minutes on */
	cfg.alt_speed_time_day = 127;
	cfg.alt_speed_down = 12345;
	struct engine *e = engine_new(base, &cfg, err, sizeof err);
	ck_assert_msg(e != NULL, "%s", err);
	struct engine_global_stats g;
	engine_global(e, &g);
	ck_assert_uint_eq(g.down_limit, 12345);
	struct dp_config live;
	engine_config_get(e, &live);
	ck_assert(live.alt_speed_enabled);
	config_free(&live);
	engine_free(e);
	/* Outside it, they stay off. */
	cfg.alt_speed_time_begin = (minute + 10) % 1440;
	cfg.alt_speed_time_end = (minute + 20) % 1440;
	e = engine_new(base, &cfg, err, sizeof err);
	ck_assert_msg(e != NULL, "%s", err);
	engine_global(e, &g);
	ck_assert_uint_eq(g.down_limit, 0);
	engine_free(e);
	config_free(&cfg);
	event_base_free(base);
	th_rm_rf(dir);
	task_registry_clear();
}
END_TEST

/* session-set with these arguments (a JSON object's inside), one turn of the loop, and the
 * download limit in force then. */
static uint64_t
alt_speed_set_run(struct rpc_handler *h, struct event_base *base, struct engine *e,
    const char *args)
{
	char req[400];
	snprintf(req, sizeof req, "{\"method\":\"session-set\",\"arguments\":{%s}}", args);
	char *ans = rpc_handler_run(h, req, strlen(req), NULL, 0);
	ck_assert_msg(strstr(ans, "\"success\"") != NULL, "%s", ans);
	free(ans);
	event_base_loop(base, EVLOOP_NONBLOCK);
	struct engine_global_stats g;
	engine_global(e, &g);
	return g.down_limit;
}

/* The schedule switched on over the RPC applies at the next turn of the loop, not at the next
 * tick or edge (Transmission pokes its clock); switched by hand in the window, it stays so. */
START_TEST(test_schedule_poked)
{
	char dir[64];
	th_tmpdir_make(dir, sizeof dir, "altp");
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 1);
	struct rpc_handler *h = rpc_handler_new(e, NULL);
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	int minute = tm.tm_hour * 60 + tm.tm_min;
	char around[100], away[100], args[200];
	snprintf(around, sizeof around, "\"alt-speed-time-begin\":%d,\"alt-speed-time-end\":%d",
	    (minute + 1439) % 1440, (minute + 3) % 1440);
	snprintf(away, sizeof away, "\"alt-speed-time-begin\":%d,\"alt-speed-time-end\":%d",
	    (minute + 10) % 1440, (minute + 20) % 1440);
	snprintf(args, sizeof args, "\"alt-speed-down\":9,\"alt-speed-time-day\":127,"
	    "\"alt-speed-time-enabled\":true,%s", around);
	ck_assert_uint_eq(alt_speed_set_run(h, base, e, args), 9000);
	/* Off by hand inside the window: the 10 s tick leaves it off until the next edge. */
	ck_assert_uint_eq(alt_speed_set_run(h, base, e, "\"alt-speed-enabled\":false"), 0);
	/* The window moved away from now: the poke switches nothing on, and it stays off. */
	ck_assert_uint_eq(alt_speed_set_run(h, base, e, away), 0);
	/* Back around now: on again. */
	ck_assert_uint_eq(alt_speed_set_run(h, base, e, around), 9000);
	rpc_handler_free(h);
	engine_free(e);
	event_base_free(base);
	th_rm_rf(dir);
	task_registry_clear();
}
END_TEST

Suite *
alt_speed_suite(void)
{
	Suite *s = suite_create("alt_speed");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_limits_in_force);
	tcase_add_test(tc, test_schedule_at_start);
	tcase_add_test(tc, test_schedule_poked);
	suite_add_tcase(s, tc);
	return s;
}
