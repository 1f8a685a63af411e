/* check_task.c: the task registry's callback accounting: cycles, wall time inside callbacks, CPU
 * converted at the health sample (never above the wall time), nesting, slow callbacks with their
 * own CPU time and the list by CPU; states,
 * where a task parked, lag, slow-callback ranking and aging, spinning, lingering, clearing. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "client.h"
#include "client_local.h"
#include "engine.h"
#include "log.h"
#include "monitor_server.h"
#include "suites.h"
#include "task.h"
#include "task_dump.h"
#include "test_helpers.h"
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

/* A slow callback carries its own CPU time: one that burns 30 ms of CPU shows that CPU (its wall
 * time is at least as long, however busy the machine); one that sleeps 30 ms shows the wall time
 * and next to no CPU, and it slept (a voluntary switch). The list by CPU puts the burner first
 * whichever of the two took longer on the clock. */
START_TEST(test_task_slow_callback_cpu)
{
	task_registry_clear();
	struct dp_task *burner = task_new(DP_TASK_KIND_PEER, 1, "burner");
	struct dp_task *sleeper = task_new(DP_TASK_KIND_DISK, 0, "sleeper");
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	task_cb_begin(sleeper);
	nanosleep(&ts, NULL);
	task_cb_end(sleeper);
	task_cb_begin(burner);
	burn_cpu(30000);
	task_cb_end(burner);
	struct dp_loop_health h;
	task_health_get(&h);
	ck_assert_uint_eq(h.slowest_count, 2);
	ck_assert_uint_eq(h.heaviest_count, 2);
	const struct dp_slow_callback *b = NULL, *z = NULL;
	for (size_t i = 0; i < h.slowest_count; i++) {
		if (h.slowest[i].task_id == burner->id)
			b = &h.slowest[i];
		if (h.slowest[i].task_id == sleeper->id)
			z = &h.slowest[i];
	}
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(z);
	/* the burner: all of its 30 ms of CPU, never more than its wall time */
	ck_assert_uint_ge(b->cpu_us, 29000);
	ck_assert_uint_le(b->cpu_us, b->duration_us);
	/* the sleeper: the wall time it slept, next to no CPU */
	ck_assert_uint_ge(z->duration_us, 30000);
	ck_assert_uint_lt(z->cpu_us, 10000);
	ck_assert_uint_lt(z->cpu_us * 3, z->duration_us);
#ifdef RUSAGE_THREAD
	ck_assert_uint_ge(z->waits, 1);
#endif
	/* most CPU first: the burner, then the sleeper */
	ck_assert_uint_eq(h.heaviest[0].task_id, burner->id);
	ck_assert_uint_eq(h.heaviest[1].task_id, sleeper->id);
	ck_assert_uint_ge(h.heaviest[0].cpu_us, h.heaviest[1].cpu_us);
	/* a task that finishes inside its own slow callback is still named (not "(loop)") */
	struct dp_task *quitter = task_new(DP_TASK_KIND_RPC, 0, "quitter");
	uint64_t quitter_id = quitter->id;
	task_cb_begin(quitter);
	burn_cpu(40000);
	task_done(quitter, "finished in its callback");
	task_release(&quitter);
	task_cb_end(NULL);
	task_health_get(&h);
	bool named = false;
	for (size_t i = 0; i < h.heaviest_count; i++)
		if (h.heaviest[i].task_id == quitter_id)
			named = strcmp(h.heaviest[i].task_name, "quitter") == 0;
	ck_assert(named);
	/* both lists age out together */
	uint64_t later = dp_now_us() + 61u * 1000000u;
	task_health_tick(later, later);
	task_health_get(&h);
	ck_assert_uint_eq(h.slowest_count, 0);
	ck_assert_uint_eq(h.heaviest_count, 0);
	task_registry_clear();
}
END_TEST

/* The CPU list keeps the 8 callbacks with the most CPU even when slower (by the clock) sleeping
 * ones fill the list by wall time: a sleep never pushes a burner out of it. */
START_TEST(test_task_heaviest_not_displaced_by_sleep)
{
	task_registry_clear();
	struct dp_task *burner = task_new(DP_TASK_KIND_PEER, 1, "burner");
	struct dp_task *sleeper = task_new(DP_TASK_KIND_DISK, 0, "sleeper");
	task_cb_begin(burner);
	burn_cpu(5000);
	task_cb_end(burner);
	struct timespec ts = { 0, 8 * 1000 * 1000 };
	for (int i = 0; i < DP_SLOW_CALLBACKS + 2; i++) {
		task_cb_begin(sleeper);
		nanosleep(&ts, NULL);
		task_cb_end(sleeper);
	}
	struct dp_loop_health h;
	task_health_get(&h);
	ck_assert_uint_eq(h.heaviest[0].task_id, burner->id);
	ck_assert_uint_ge(h.heaviest[0].cpu_us, 4500);
	for (size_t i = 1; i < h.heaviest_count; i++)
		ck_assert_uint_ge(h.heaviest[i - 1].cpu_us, h.heaviest[i].cpu_us);
	task_registry_clear();
}
END_TEST

/* ---- states, where, health (lag, slow callbacks, spinning), lingering, clearing ---- */

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

START_TEST(test_task_names)
{
	ck_assert_str_eq(task_state_name(DP_TASK_READ_WAIT), "READ_WAIT");
	ck_assert_str_eq(task_state_name(DP_TASK_RATE_WAIT), "RATE_WAIT");
	ck_assert_str_eq(task_state_name(DP_TASK_DISK_WAIT), "DISK_WAIT");
	ck_assert_str_eq(task_state_name(DP_TASK_STATE_COUNT), "?");
	ck_assert_str_eq(task_state_description(DP_TASK_RATE_WAIT), "throttled by a rate limit");
	ck_assert_str_eq(task_state_description((enum dp_task_state)-1), "?");
	ck_assert_str_eq(task_kind_name(DP_TASK_KIND_TRACKER), "tracker");
	ck_assert_str_eq(task_kind_name(DP_TASK_KIND_COUNT), "?");
}
END_TEST

/* Parks t where the test knows the function and line; returns the line. */
static int
park_in_read_wait(struct dp_task *t, int quiet_s)
{
	task_wait(t, DP_TASK_READ_WAIT, "peer sent nothing for %d s", quiet_s);
	return __LINE__ - 1;
}

START_TEST(test_task_wait_records_where)
{
	task_registry_clear();
	struct dp_task *t = task_new(DP_TASK_KIND_PEER, 3, "peer %s:%d", "127.0.0.1", 6881);
	ck_assert_str_eq(t->name, "peer 127.0.0.1:6881");
	ck_assert_int_eq(t->torrent_id, 3);
	ck_assert_int_eq(t->state, DP_TASK_READY);
	ck_assert_ptr_null(t->where_func);
	ck_assert_str_eq(t->reason, "");
	uint64_t before = dp_now_us();
	int line = park_in_read_wait(t, 20);
	ck_assert_int_eq(t->state, DP_TASK_READ_WAIT);
	ck_assert_str_eq(t->reason, "peer sent nothing for 20 s");
	ck_assert_str_eq(t->where_func, "park_in_read_wait");
	ck_assert_ptr_nonnull(strstr(t->where_file, "check_task.c"));
	ck_assert_int_eq(t->where_line, line);
	ck_assert_uint_ge(t->state_since_us, before);
	/* The same state with a new reason keeps the time it entered the state... */
	uint64_t since = t->state_since_us;
	sleep_us(2000);
	task_wait(t, DP_TASK_READ_WAIT, "peer sent nothing for %d s", 21);
	ck_assert_uint_eq(t->state_since_us, since);
	ck_assert_str_eq(t->reason, "peer sent nothing for 21 s");
	/* ...a new state restarts it. */
	task_wait(t, DP_TASK_RATE_WAIT, "throttled: torrent download limit 64.0 KiB/s");
	ck_assert_uint_gt(t->state_since_us, since);
	ck_assert_int_eq(t->state, DP_TASK_RATE_WAIT);
	/* Bytes received end a read wait (a streaming peer is not stuck); sending does not. */
	task_wait(t, DP_TASK_READ_WAIT, "waiting for piece 1 block 0 from peer");
	since = t->state_since_us;
	sleep_us(2000);
	task_progress(t, 0, 100);
	ck_assert_uint_eq(t->state_since_us, since);
	task_progress(t, 16384, 0);
	ck_assert_uint_gt(t->state_since_us, since);
	ck_assert_uint_eq(t->bytes_in, 16384);
	ck_assert_uint_eq(t->bytes_out, 100);
	task_wait(t, DP_TASK_RATE_WAIT, "throttled: torrent download limit 64.0 KiB/s");
	since = t->state_since_us;
	sleep_us(2000);
	task_progress(t, 16384, 0);
	ck_assert_uint_eq(t->state_since_us, since);
	task_set_deadline(t, 12345);
	ck_assert_uint_eq(t->deadline_us, 12345);
	/* A NULL task is ignored, as callers with no task rely on. */
	task_wait(NULL, DP_TASK_READ_WAIT, "nothing");
	task_set_deadline(NULL, 1);
	task_progress(NULL, 1, 1);
	task_rename(t, "peer %s", "renamed");
	ck_assert_str_eq(t->name, "peer renamed");
	task_registry_clear();
}
END_TEST

START_TEST(test_task_registry_iteration)
{
	task_registry_clear();
	struct dp_task *a = task_new(DP_TASK_KIND_TIMER, 0, "a");
	struct dp_task *b = task_new(DP_TASK_KIND_DISK, 0, "b");
	struct dp_task *c = task_new(DP_TASK_KIND_RPC, 0, "c");
	ck_assert_uint_eq(task_count(), 3);
	ck_assert_ptr_eq(task_first(), a);
	ck_assert_ptr_eq(task_next(a), b);
	ck_assert_ptr_eq(task_next(b), c);
	ck_assert_ptr_null(task_next(c));
	ck_assert_uint_lt(a->id, b->id);
	ck_assert_ptr_eq(task_find(b->id), b);
	ck_assert_ptr_null(task_find(c->id + 1000));
	uint64_t last = c->id;
	task_registry_clear();
	ck_assert_uint_eq(task_count(), 0);
	ck_assert_ptr_null(task_first());
	ck_assert_ptr_null(task_find(last));
	/* Ids are never reused, even after a clear. */
	struct dp_task *d = task_new(DP_TASK_KIND_RPC, 0, "d");
	ck_assert_uint_gt(d->id, last);
	task_registry_clear();
}
END_TEST

/* Finished tasks are freed in the order they finished (the sample reads a list of them, not
 * the registry): one created first but finished last outlives the others, and one still held
 * neither goes nor keeps those behind it. */
START_TEST(test_task_finished_in_finish_order)
{
	task_registry_clear();
	struct dp_task *old = task_new(DP_TASK_KIND_HOOK, 0, "created first");
	struct dp_task *held = task_new(DP_TASK_KIND_HOOK, 0, "held");
	struct dp_task *young = task_new(DP_TASK_KIND_HOOK, 0, "created last");
	uint64_t oldid = old->id, heldid = held->id, youngid = young->id;
	struct dp_task *keep = task_hold(held);
	uint64_t t0 = dp_now_us();
	task_done(held, "done");
	task_done(young, "done");
	task_release(&held);
	task_release(&young);
	task_health_tick(t0, t0);
	/* old finishes 8 s later than the others */
	struct dp_task *o = old;
	task_done(old, "done");
	old->finished_us = t0 + 8000000;
	task_release(&o);
	task_health_tick(t0 + 11000000, t0 + 11000000);
	ck_assert_ptr_null(task_find(youngid));
	ck_assert_ptr_eq(task_find(heldid), keep);
	ck_assert_ptr_nonnull(task_find(oldid));
	task_health_tick(t0 + 19000000, t0 + 19000000);
	ck_assert_ptr_null(task_find(oldid));
	ck_assert_ptr_eq(task_find(heldid), keep);
	task_release(&keep);
	task_health_tick(t0 + 30000000, t0 + 30000000);
	ck_assert_ptr_null(task_find(heldid));
	ck_assert_uint_eq(task_count(), 0);
	task_registry_clear();
}
END_TEST

START_TEST(test_task_finished_linger_then_vanish)
{
	task_registry_clear();
	struct dp_task *keep = task_new(DP_TASK_KIND_TIMER, 0, "keep");
	struct dp_task *ok = task_new(DP_TASK_KIND_HOOK, 0, "ok");
	struct dp_task *bad = task_new(DP_TASK_KIND_HOOK, 0, "bad");
	uint64_t okid = ok->id, badid = bad->id;
	task_set_deadline(ok, dp_now_us() + 1000000);
	task_done(ok, "exit status %d", 0);
	task_fail(bad, "killed by signal %d", 9);
	ck_assert_int_eq(ok->state, DP_TASK_DONE);
	ck_assert_int_eq(bad->state, DP_TASK_FAILED);
	ck_assert_str_eq(bad->reason, "killed by signal 9");
	ck_assert_uint_eq(ok->deadline_us, 0);
	ck_assert_uint_ne(ok->finished_us, 0);
	/* A finished task runs no more cycles. */
	task_cb_begin(ok);
	task_cb_end(ok);
	ck_assert_uint_eq(ok->cycles, 0);
	/* Their owners let go (the registry frees only what nobody holds). */
	struct dp_task *ok_ref = ok, *bad_ref = bad;
	task_release(&ok_ref);
	task_release(&bad_ref);
	uint64_t t0 = dp_now_us();
	task_health_tick(t0, t0);
	task_health_tick(t0 + 5000000, t0 + 5000000);
	ck_assert_ptr_eq(task_find(okid), ok);
	ck_assert_ptr_eq(task_find(badid), bad);
	ck_assert_uint_eq(task_count(), 3);
	/* Past the linger time (10 s) they are freed; the live one stays. */
	task_health_tick(t0 + 11000000, t0 + 11000000);
	ck_assert_ptr_null(task_find(okid));
	ck_assert_ptr_null(task_find(badid));
	ck_assert_uint_eq(task_count(), 1);
	ck_assert_ptr_eq(task_first(), keep);
	task_registry_clear();
}
END_TEST

/* A burst of short tasks (a disk job each) lingers only up to a bound, oldest first: 35000
 * finished disk tasks made each monitor command hold the loop for 250 ms in the soak run. */
START_TEST(test_task_finished_bounded)
{
	task_registry_clear();
	struct dp_task *live = task_new(DP_TASK_KIND_TIMER, 0, "live");
	uint64_t first = 0, last = 0;
	for (int i = 0; i < 5000; i++) {
		struct dp_task *d = task_new(DP_TASK_KIND_DISK, 1, "disk job %d", i);
		if (i == 0)
			first = d->id;
		last = d->id;
		task_done(d, "written");
		task_release(&d);
	}
	ck_assert_uint_eq(task_count(), 5001);
	uint64_t t0 = dp_now_us();
	task_health_tick(t0, t0);
	ck_assert_uint_le(task_count(), 2001);
	ck_assert_uint_ge(task_count(), 1001);
	ck_assert_ptr_null(task_find(first));
	ck_assert_ptr_nonnull(task_find(last));
	ck_assert_ptr_eq(task_first(), live);
	task_registry_clear();
}
END_TEST

START_TEST(test_task_lag)
{
	task_registry_clear();
	struct dp_loop_health h;
	uint64_t t0 = dp_now_us();
	task_health_tick(t0, t0 + 5000);
	task_health_get(&h);
	ck_assert_uint_eq(h.lag_us, 5000);
	ck_assert_uint_eq(h.lag_max_us, 5000);
	/* Early firing is no lag; the minute's worst stays. */
	task_health_tick(t0 + 300000, t0 + 250000);
	task_health_get(&h);
	ck_assert_uint_eq(h.lag_us, 0);
	ck_assert_uint_eq(h.lag_max_us, 5000);
	task_health_tick(t0 + 500000, t0 + 500800);
	task_health_get(&h);
	ck_assert_uint_eq(h.lag_us, 800);
	ck_assert_uint_eq(h.lag_max_us, 5000);
	/* A minute on, the worst is forgotten. */
	task_health_tick(t0 + 61000000, t0 + 61000300);
	task_health_get(&h);
	ck_assert_uint_eq(h.lag_us, 300);
	ck_assert_uint_eq(h.lag_max_us, 300);
	task_registry_clear();
}
END_TEST

START_TEST(test_task_slow_ranking_and_aging)
{
	task_registry_clear();
	struct dp_task *t[11];
	/* Ten top-level callbacks of growing length in a shuffled order and one (t[10], "outer")
	 * holding a nested callback: only the 8 slowest top-level ones are kept, sorted. What
	 * counts is what was measured (each task runs one top-level callback, so its cb_wall_us is
	 * that callback's time): a loaded machine oversleeps any of them, and once made a 46 ms
	 * sleep outlast the 80 ms one. */
	static const int order[10] = { 3, 9, 0, 6, 1, 8, 2, 7, 5, 4 };
	for (int i = 0; i < 10; i++)
		t[i] = task_new(DP_TASK_KIND_PEER, 0, "cb %d", i);
	for (int k = 0; k < 10; k++) {
		int i = order[k];
		task_cb_begin(t[i]);
		sleep_us(1000 + 5000L * i);
		task_cb_end(t[i]);
	}
	/* A nested callback is inside its caller: it is not ranked on its own. */
	struct dp_task *inner = task_new(DP_TASK_KIND_PEER, 0, "inner");
	t[10] = task_new(DP_TASK_KIND_TIMER, 0, "outer");
	task_cb_begin(t[10]);
	task_cb_begin(inner);
	sleep_us(80000);
	task_cb_end(inner);
	task_cb_end(t[10]);
	ck_assert_uint_ge(t[10]->cb_wall_us, 80000);
	struct dp_loop_health h;
	task_health_get(&h);
	ck_assert_uint_eq(h.slowest_count, DP_SLOW_CALLBACKS);
	/* The expected ranking: the tasks by measured time, slowest first. */
	struct dp_task *want[11];
	memcpy(want, t, sizeof want);
	for (int i = 1; i < 11; i++)
		for (int j = i; j > 0 && want[j]->cb_wall_us > want[j - 1]->cb_wall_us; j--) {
			struct dp_task *x = want[j];
			want[j] = want[j - 1];
			want[j - 1] = x;
		}
	for (size_t i = 0; i < h.slowest_count; i++) {
		ck_assert_uint_ne(h.slowest[i].task_id, inner->id);
		ck_assert_uint_eq(h.slowest[i].duration_us, want[i]->cb_wall_us);
		if (i > 0)
			ck_assert_uint_ge(h.slowest[i - 1].duration_us, h.slowest[i].duration_us);
		if (i + 1 < h.slowest_count && want[i]->cb_wall_us != want[i + 1]->cb_wall_us &&
		    (i == 0 || want[i]->cb_wall_us != want[i - 1]->cb_wall_us))
			ck_assert_uint_eq(h.slowest[i].task_id, want[i]->id);
	}
	/* Still there within the minute, gone after it. */
	uint64_t now = dp_now_us();
	task_health_tick(now + 30000000, now + 30000000);
	task_health_get(&h);
	ck_assert_uint_eq(h.slowest_count, DP_SLOW_CALLBACKS);
	task_health_tick(now + 61000000, now + 61000000);
	task_health_get(&h);
	ck_assert_uint_eq(h.slowest_count, 0);
	task_registry_clear();
}
END_TEST

START_TEST(test_task_spin_flag)
{
	task_registry_clear();
	struct dp_task *spinner = task_new(DP_TASK_KIND_PEER, 0, "spinner");
	struct dp_task *worker = task_new(DP_TASK_KIND_PEER, 0, "worker");
	struct dp_task *calm = task_new(DP_TASK_KIND_TIMER, 0, "calm");
	struct dp_loop_health h;
	uint64_t t0 = dp_now_us();
	task_health_tick(t0, t0);
	for (int i = 0; i < 3000; i++) {
		task_cb_begin(spinner);
		task_cb_end(spinner);
		task_cb_begin(worker);
		task_progress(worker, 100, 0);
		task_cb_end(worker);
	}
	for (int i = 0; i < 10; i++) {
		task_cb_begin(calm);
		task_cb_end(calm);
	}
	/* One second later: 3000 cycles without progress is spinning; with progress it is work. */
	task_health_tick(t0 + 1000000, t0 + 1000000);
	task_health_get(&h);
	ck_assert(spinner->spinning);
	ck_assert(!worker->spinning);
	ck_assert(!calm->spinning);
	ck_assert_uint_eq(h.spinning_count, 1);
	ck_assert_uint_eq(h.callbacks_per_sec, 6010);
	ck_assert_uint_eq(worker->bytes_in, 300000);
	ck_assert_uint_eq(spinner->cycles, 3000);
	/* Samples closer than a second apart do not re-judge. */
	task_health_tick(t0 + 1500000, t0 + 1500000);
	ck_assert(spinner->spinning);
	/* A quiet second clears the flag. */
	task_health_tick(t0 + 2000000, t0 + 2000000);
	task_health_get(&h);
	ck_assert(!spinner->spinning);
	ck_assert_uint_eq(h.spinning_count, 0);
	/* Few cycles without progress are a wait, not a spin. */
	for (int i = 0; i < 100; i++) {
		task_cb_begin(spinner);
		task_cb_end(spinner);
	}
	task_health_tick(t0 + 3000000, t0 + 3000000);
	ck_assert(!spinner->spinning);
	task_registry_clear();
	task_health_get(&h);
	ck_assert_uint_eq(h.spinning_count, 0);
	ck_assert_uint_eq(h.slowest_count, 0);
	ck_assert_uint_eq(h.callbacks_per_sec, 0);
}
END_TEST

/* The monitor's `blocked` over a real engine: a spinning task is named in the header and listed
 * though it never waited; a wait with a deadline says when it gives up; `where` says SPINNING. */
START_TEST(test_task_monitor_blocked)
{
	char dir[64];
	th_tmpdir_make(dir, sizeof dir, "task");
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 0);

	struct dp_task *spinner = task_new(DP_TASK_KIND_PEER, 0, "peer 127.0.0.1:9 spinner");
	struct dp_task *tracker = task_new(DP_TASK_KIND_TRACKER, 0, "tracker http://127.0.0.1:9/a");
	task_wait(tracker, DP_TASK_READ_WAIT, "waiting for announce reply from 127.0.0.1:9");
	task_set_deadline(tracker, dp_now_us() + 20000000);
	uint64_t t0 = dp_now_us() + 2000000;
	task_health_tick(t0, t0);
	for (int i = 0; i < 5000; i++) {
		task_cb_begin(spinner);
		task_cb_end(spinner);
	}
	task_health_tick(t0 + 1000000, t0 + 1000000);
	ck_assert(spinner->spinning);
	/* a callback that sleeps: the slowest by wall time, with its CPU and its wait beside */
	struct dp_task *sleepy = task_new(DP_TASK_KIND_DISK, 0, "sleepy disk");
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	task_cb_begin(sleepy);
	nanosleep(&ts, NULL);
	task_cb_end(sleepy);

	struct dp_buf out;
	dp_buf_init(&out);
	ck_assert_int_eq(monitor_run_command(e, "blocked", &out), 0);
	dp_buf_add_str(&out, "");
	const char *text = (const char *)out.data;
	char want[160];
	snprintf(want, sizeof want, " in task %llu sleepy disk\n", (unsigned long long)sleepy->id);
	const char *sl = strstr(text, "# slow callback: ");
	ck_assert_msg(sl != NULL && strstr(sl, want) != NULL, "no slow callback in:\n%s", text);
	const char *sl_end = strstr(sl, want);
	ck_assert_msg(memchr(sl, '\n', (size_t)(sl_end - sl)) == NULL, "not the slowest:\n%s", text);
	ck_assert_msg(strstr(sl, " (cpu ") != NULL && strstr(sl, " (cpu ") < sl_end,
	    "no cpu beside the wall time:\n%s", text);
#ifdef RUSAGE_THREAD
	ck_assert_msg(strstr(sl, ", waits ") != NULL && strstr(sl, ", waits ") < sl_end,
	    "the sleep is not a wait:\n%s", text);
#endif
	ck_assert_msg(strstr(text, "\n# cpu callback: ") != NULL, "no cpu callbacks in:\n%s", text);
	/* `health`: the loop line and every kept callback (blocked shows three of each), each
	 * saying how long ago it ended */
	struct dp_buf hb;
	dp_buf_init(&hb);
	ck_assert_int_eq(monitor_run_command(e, "health", &hb), 0);
	dp_buf_add_str(&hb, "");
	const char *ht = (const char *)hb.data;
	ck_assert_msg(strncmp(ht, "# loop: lag ", 12) == 0, "health:\n%s", ht);
	size_t nslow = 0, ncpu = 0;
	for (const char *q = ht; (q = strstr(q, "\n# slow callback: ")) != NULL; q++)
		nslow++;
	for (const char *q = ht; (q = strstr(q, "\n# cpu callback: ")) != NULL; q++)
		ncpu++;
	ck_assert_uint_eq(nslow, DP_SLOW_CALLBACKS);
	ck_assert_uint_eq(ncpu, DP_SLOW_CALLBACKS);
	ck_assert_msg(strstr(ht, " ago in task ") != NULL, "health:\n%s", ht);
	ck_assert_msg(strstr(ht, want) != NULL, "health lacks the sleeper:\n%s", ht);
	dp_buf_free(&hb);
	snprintf(want, sizeof want, "# spinning: task %llu peer 127.0.0.1:9 spinner",
	    (unsigned long long)spinner->id);
	ck_assert_msg(strstr(text, want) != NULL, "no spinning header in:\n%s", text);
	ck_assert_msg(strstr(text, "1 spinning") != NULL, "no spinning count in:\n%s", text);
	snprintf(want, sizeof want, "%6llu  READY ", (unsigned long long)spinner->id);
	ck_assert_msg(strstr(text, want) != NULL, "spinning task not listed in:\n%s", text);
	ck_assert_msg(strstr(text, "#   ^ spinning") != NULL, "no spinning mark in:\n%s", text);
	const char *dl = strstr(text, "-- waiting for announce reply from 127.0.0.1:9 (deadline in ");
	ck_assert_msg(dl != NULL, "no deadline in:\n%s", text);
	double left = atof(strstr(dl, "in ") + 3);
	ck_assert_msg(left > 10.0 && left <= 20.0, "deadline in %.1f s, not about 20 s", left);

	out.len = 0;
	char cmd[64];
	snprintf(cmd, sizeof cmd, "where %llu", (unsigned long long)spinner->id);
	ck_assert_int_eq(monitor_run_command(e, cmd, &out), 0);
	dp_buf_add_str(&out, "");
	ck_assert_msg(strstr((const char *)out.data, ", SPINNING") != NULL, "where:\n%s",
	    (const char *)out.data);
	dp_buf_free(&out);
	engine_free(e);
	event_base_free(base);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Idle-by-design waits (task_idle) are not blocked: the monitor's `blocked` counts them instead
 * of listing them, `ps` still lists them marked [idle], and a task_wait makes a task count
 * again. A stalled peer and a tracker waiting for a reply stay listed. */
START_TEST(test_task_idle_hidden_from_blocked)
{
	char dir[64];
	th_tmpdir_make(dir, sizeof dir, "task");
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 0);

	struct dp_task *sleeper = task_new(DP_TASK_KIND_TRACKER, 0, "tracker http://127.0.0.1:9/s");
	task_idle(sleeper, DP_TASK_TIMER_WAIT, "the next announce (set 1800 s ahead)");
	task_set_deadline(sleeper, dp_now_us() + 1800000000ull);
	struct dp_task *stopped = task_new(DP_TASK_KIND_TORRENT, 0, "torrent stopped-one");
	task_idle(stopped, DP_TASK_QUEUED, "stopped");
	struct dp_task *stalled = task_new(DP_TASK_KIND_PEER, 0, "peer 127.0.0.1:9 stalled");
	task_wait(stalled, DP_TASK_READ_WAIT, "waiting for handshake");
	struct dp_task *asked = task_new(DP_TASK_KIND_TRACKER, 0, "tracker http://127.0.0.1:9/q");
	task_wait(asked, DP_TASK_READ_WAIT, "waiting for announce reply from 127.0.0.1:9");
	task_set_deadline(asked, dp_now_us() + 20000000);

	ck_assert(sleeper->idle && stopped->idle && !stalled->idle && !asked->idle);
	ck_assert(!task_is_blocked(sleeper));
	ck_assert(!task_is_blocked(stopped));
	ck_assert(task_is_blocked(stalled));
	ck_assert(task_is_blocked(asked));
	ck_assert_str_eq(task_state_name(sleeper->state), "TIMER_WAIT");
	ck_assert(strncmp(sleeper->where_func, "test_task_idle_hidden_from_blocked", 34) == 0);

	struct dp_buf out;
	dp_buf_init(&out);
	ck_assert_int_eq(monitor_run_command(e, "blocked 0", &out), 0);
	dp_buf_add_str(&out, "");
	const char *text = (const char *)out.data;
	ck_assert_msg(strstr(text, "peer 127.0.0.1:9 stalled -- waiting for handshake") != NULL,
	    "stalled peer not listed in:\n%s", text);
	ck_assert_msg(strstr(text, "tracker http://127.0.0.1:9/q -- waiting for announce") != NULL,
	    "waiting tracker not listed in:\n%s", text);
	ck_assert_msg(strstr(text, "http://127.0.0.1:9/s") == NULL, "sleeper listed in:\n%s", text);
	ck_assert_msg(strstr(text, "stopped-one") == NULL, "stopped torrent listed in:\n%s", text);
	/* the two above plus the engine's own (listener, timers, monitor/RPC servers) */
	size_t hidden = 0;
	for (const char *l = text; l != NULL; l = strchr(l, '\n')) {
		if (*l == '\n')
			l++;
		if (sscanf(l, "# %zu idle task", &hidden) == 1)
			break;
	}
	ck_assert_msg(hidden >= 2, "hidden count %zu in:\n%s", hidden, text);
	size_t hidden_before = hidden;

	/* None waiting that long: the answer is the header alone (the sort of no rows took a NULL
	 * array, which UBSan stops in the sanitizer build). */
	out.len = 0;
	ck_assert_int_eq(monitor_run_command(e, "blocked 86400", &out), 0);
	dp_buf_add_str(&out, "");
	text = (const char *)out.data;
	ck_assert_msg(strstr(text, "stalled") == NULL && strstr(text, "idle task") != NULL,
	    "blocked 86400:\n%s", text);

	out.len = 0;
	ck_assert_int_eq(monitor_run_command(e, "ps", &out), 0);
	dp_buf_add_str(&out, "");
	text = (const char *)out.data;
	const char *line = strstr(text, "torrent stopped-one -- stopped");
	ck_assert_msg(line != NULL, "ps lacks the stopped torrent:\n%s", text);
	ck_assert_msg(strncmp(strchr(line, '\n') - 7, " [idle]", 7) == 0, "no idle mark:\n%s", text);
	line = strstr(text, "peer 127.0.0.1:9 stalled");
	ck_assert(line != NULL);
	ck_assert_msg(strstr(line, "[idle]") == NULL || strstr(line, "[idle]") > strchr(line, '\n'),
	    "stalled peer marked idle:\n%s", text);

	/* the sleeper wakes and asks: now it counts; a finished idle task is no longer idle */
	task_wait(sleeper, DP_TASK_READ_WAIT, "waiting for announce reply from 127.0.0.1:9");
	ck_assert(!sleeper->idle && task_is_blocked(sleeper));
	task_done(stopped, "removed");
	ck_assert(!stopped->idle && !task_is_blocked(stopped));
	out.len = 0;
	ck_assert_int_eq(monitor_run_command(e, "blocked 0", &out), 0);
	dp_buf_add_str(&out, "");
	text = (const char *)out.data;
	ck_assert_msg(strstr(text, "http://127.0.0.1:9/s -- waiting") != NULL, "woken:\n%s", text);
	for (const char *l = text; l != NULL; l = strchr(l, '\n')) {
		if (*l == '\n')
			l++;
		if (sscanf(l, "# %zu idle task", &hidden) == 1)
			break;
	}
	ck_assert_uint_eq(hidden, hidden_before - 2);
	/* ps hides the finished DONE task, says so, and `ps all` lists it. */
	out.len = 0;
	ck_assert_int_eq(monitor_run_command(e, "ps", &out), 0);
	dp_buf_add_str(&out, "");
	text = (const char *)out.data;
	ck_assert_msg(strstr(text, "stopped-one") == NULL, "DONE task listed:\n%s", text);
	ck_assert_msg(strstr(text, "finished task") != NULL, "no hidden count:\n%s", text);
	out.len = 0;
	ck_assert_int_eq(monitor_run_command(e, "ps all", &out), 0);
	dp_buf_add_str(&out, "");
	text = (const char *)out.data;
	ck_assert_msg(strstr(text, "stopped-one") != NULL, "ps all lacks it:\n%s", text);
	out.len = 0;
	ck_assert_int_eq(monitor_run_command(e, "ps some", &out), -1);
	dp_buf_free(&out);
	engine_free(e);
	event_base_free(base);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A task released while unfinished ends; a borrowed reference keeps a finished task alive. */
START_TEST(test_task_hold_release)
{
	task_registry_clear();
	struct dp_task *owner = task_new(DP_TASK_KIND_TRACKER, 1, "owned");
	struct dp_task *borrowed = task_hold(owner);
	ck_assert_uint_eq(owner->refs, 2);
	ck_assert_uint_eq(task_held_count(), 1);
	task_fail(owner, "refused");
	task_release(&owner);
	ck_assert_ptr_null(owner);
	uint64_t later = dp_now_us() + TASK_LINGER_US + 2000000u;
	task_health_tick(later, later);
	/* Still held by the borrower: not freed, readable. */
	ck_assert_uint_eq(task_count(), 1);
	ck_assert_int_eq(borrowed->state, DP_TASK_FAILED);
	ck_assert_str_eq(borrowed->reason, "refused");
	task_release(&borrowed);
	ck_assert_uint_eq(task_held_count(), 0);
	task_health_tick(later + 1500000u, later + 1500000u);
	ck_assert_uint_eq(task_count(), 0);

	/* Released unfinished: it is finished then, with what it last said. */
	struct dp_task *t = task_new(DP_TASK_KIND_PEER, 2, "peer");
	task_wait(t, DP_TASK_READ_WAIT, "waiting for a block");
	struct dp_task *keep = t;
	task_release(&t);
	ck_assert_int_eq(keep->state, DP_TASK_DONE);
	ck_assert_uint_ne(keep->finished_us, 0);
	ck_assert_ptr_nonnull(strstr(keep->reason, "waiting for a block"));
	task_registry_clear();
}
END_TEST

/* ---- the registry read in slices (engine_task_walk, the monitor's ps and blocked) ---- */

/* The kept counts of blocked and idle tasks agree with a count over the registry through every
 * kind of change: a wait, an idle wait, a wait again, a finish, a release while unfinished, and
 * the health sample freeing finished ones. */
static void
check_task_counts_agree(void)
{
	size_t blocked = 0, idle = 0, kb, ki;
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t)) {
		blocked += task_is_blocked(t);
		idle += t->idle && t->finished_us == 0;
	}
	task_wait_counts(&kb, &ki);
	ck_assert_uint_eq(kb, blocked);
	ck_assert_uint_eq(ki, idle);
}

START_TEST(test_task_wait_counts_kept)
{
	task_registry_clear();
	struct dp_task *t[40];
	for (int i = 0; i < 40; i++) {
		t[i] = task_new(DP_TASK_KIND_PEER, 0, "peer %d", i);
		check_task_counts_agree();
	}
	for (int i = 0; i < 40; i++) {
		if (i % 3 == 0)
			task_wait(t[i], DP_TASK_READ_WAIT, "a block");
		else if (i % 3 == 1)
			task_idle(t[i], DP_TASK_TIMER_WAIT, "the next announce");
		check_task_counts_agree();
	}
	size_t kb, ki;
	task_wait_counts(&kb, &ki);
	ck_assert_uint_eq(kb, 14);
	ck_assert_uint_eq(ki, 13);
	for (int i = 0; i < 40; i++) {
		if (i % 4 == 0)
			task_idle(t[i], DP_TASK_QUEUED, "stopped");      /* blocked or not, idle now */
		else if (i % 4 == 1)
			task_wait(t[i], DP_TASK_DISK_WAIT, "the disk");  /* idle or not, blocked now */
		else if (i % 4 == 2)
			task_done(t[i], "ended");
		check_task_counts_agree();
	}
	/* released unfinished: ended by its last holder */
	for (int i = 3; i < 40; i += 4) {
		task_release(&t[i]);
		check_task_counts_agree();
	}
	/* the sample frees the finished ones nobody holds, after they lingered */
	for (int i = 2; i < 40; i += 4)
		task_release(&t[i]);
	uint64_t later = dp_now_us() + TASK_LINGER_US + 2000000;
	task_health_tick(later, later);
	check_task_counts_agree();
	task_wait_counts(&kb, &ki);
	ck_assert_uint_eq(kb, 10);
	ck_assert_uint_eq(ki, 10);
	task_registry_clear();
	task_wait_counts(&kb, &ki);
	ck_assert_uint_eq(kb + ki, 0);
}
END_TEST

struct walk_seen {
	uint64_t ids[4096];
	size_t n;
};

static void
walk_record(const struct engine_task_info *ti, void *arg)
{
	struct walk_seen *w = arg;
	if (w->n < DP_ARRAY_LEN(w->ids))
		w->ids[w->n++] = ti->id;
}

/* A walk with a tiny budget takes many steps, visits every task once in creation order, holds
 * the task it resumes at (so one finished and let go meanwhile is still there), visits tasks
 * created meanwhile, and its filters count what they leave out. */
START_TEST(test_task_walk_in_slices)
{
	task_registry_clear();
	enum { N = 1000 };
	static struct dp_task *t[N];
	size_t idle = 0, blocked = 0, done = 0;
	for (int i = 0; i < N; i++) {
		t[i] = task_new(DP_TASK_KIND_TORRENT, i + 1, "torrent %d", i);
		if (i % 10 == 0) {
			task_wait(t[i], DP_TASK_READ_WAIT, "waiting for a block");
			blocked++;
		} else if (i % 10 == 1) {
			task_done(t[i], "ended");
			done++;
		} else {
			task_idle(t[i], DP_TASK_TIMER_WAIT, "the next announce");
			idle++;
		}
	}
	struct walk_seen *seen = xcalloc(1, sizeof *seen);
	struct engine_task_walk *w = engine_task_walk_new(NULL, ENGINE_TASK_WALK_ALL, 0);
	size_t steps = 0;
	struct dp_task *late = NULL;
	uint64_t gone_id = 0;
	int gone = -1;
	while (!engine_task_walk_step(w, 1, walk_record, seen)) {
		steps++;
		ck_assert_uint_lt(steps, N);
		/* the next task to visit is held by the walk besides its creator */
		struct dp_task *next = task_find(seen->ids[seen->n - 1] + 1);
		ck_assert_ptr_nonnull(next);
		ck_assert_uint_eq(next->refs, 2);
		if (steps == 1) {
			late = task_new(DP_TASK_KIND_RPC, 0, "created meanwhile");
			/* the next one ends and its creator lets go: the walk still visits it */
			gone_id = next->id;
			for (int i = 0; i < N; i++)
				if (t[i] == next) {
					gone = i;
					task_done(t[i], "ended meanwhile");
					task_release(&t[i]);
				}
			ck_assert_uint_eq(next->refs, 1);
		}
	}
	ck_assert_uint_gt(steps, 2);
	ck_assert_uint_eq(seen->n, N + 1);
	for (size_t i = 1; i < seen->n; i++)
		ck_assert_uint_gt(seen->ids[i], seen->ids[i - 1]);
	ck_assert_uint_eq(seen->ids[seen->n - 1], late->id);
	bool found = false;
	for (size_t i = 0; i < seen->n; i++)
		found = found || seen->ids[i] == gone_id;
	ck_assert(found);
	/* the walk let go of it: nobody holds it now */
	ck_assert_uint_eq(task_find(gone_id)->refs, 0);
	struct engine_task_walk_counts wc;
	engine_task_walk_counts(w, &wc);
	ck_assert_uint_eq(wc.seen, N + 1);
	ck_assert_uint_eq(wc.visited, N + 1);
	engine_task_walk_free(&w);
	ck_assert_ptr_null(w);

	/* NOT_DONE counts the finished ones (one more ended above) without visiting them */
	seen->n = 0;
	w = engine_task_walk_new(NULL, ENGINE_TASK_WALK_NOT_DONE, 0);
	while (!engine_task_walk_step(w, 1, walk_record, seen))
		;
	engine_task_walk_counts(w, &wc);
	engine_task_walk_free(&w);
	ck_assert_int_ge(gone, 0);
	size_t done_now = done + (gone % 10 == 1 ? 0 : 1);
	ck_assert_uint_eq(wc.done_skipped, done_now);
	ck_assert_uint_eq(seen->n, N + 1 - done_now);

	/* BLOCKED visits the blocked ones and counts the idle ones */
	seen->n = 0;
	w = engine_task_walk_new(NULL, ENGINE_TASK_WALK_BLOCKED, 0);
	ck_assert(engine_task_walk_step(w, 0, walk_record, seen));
	engine_task_walk_counts(w, &wc);
	engine_task_walk_free(&w);
	size_t idle_now = idle - (gone % 10 >= 2 ? 1 : 0);
	size_t blocked_now = blocked - (gone % 10 == 0 ? 1 : 0);
	ck_assert_uint_eq(wc.idle_skipped, idle_now);
	ck_assert_uint_eq(seen->n, blocked_now);

	/* a walk freed half way gives back the task it held */
	w = engine_task_walk_new(NULL, ENGINE_TASK_WALK_ALL, 0);
	seen->n = 0;
	ck_assert(!engine_task_walk_step(w, 1, walk_record, seen));
	struct dp_task *held = task_find(seen->ids[seen->n - 1] + 1);
	uint32_t refs = held->refs;
	engine_task_walk_free(&w);
	ck_assert_uint_eq(held->refs, refs - 1);
	free(seen);
	task_registry_clear();
}
END_TEST

struct monitor_probe {
	struct event_base *base;
	struct bufferevent *bev;
	struct dp_buf got;
	int ends;                      /* answers ended ("." lines) */
	int want;
};

static void
monitor_probe_read(struct bufferevent *bev, void *arg)
{
	struct monitor_probe *p = arg;
	char *line;
	size_t len;
	while ((line = evbuffer_readln(bufferevent_get_input(bev), &len, EVBUFFER_EOL_LF)) != NULL) {
		dp_buf_add(&p->got, line, len);
		dp_buf_add(&p->got, "\n", 1);
		if (strcmp(line, ".") == 0 && ++p->ends == p->want)
			event_base_loopbreak(p->base);
		free(line);
	}
}

/* ps and blocked over the socket in slices of 64 tasks: the answers are whole and in order (ps
 * lists every task once, blocked its one stuck task), a command sent during a slice waits its
 * turn, and the client's task ran many callbacks and said it answered in slices meanwhile. */
START_TEST(test_task_monitor_ps_in_slices)
{
	char dir[64];
	th_tmpdir_make(dir, sizeof dir, "task");
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 0);
	char err[256];
	struct monitor_server *m = monitor_server_new(base, e, dir, err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	monitor_server_set_slice_us(m, 1);
	enum { N = 3000 };
	static struct dp_task *t[N];
	for (int i = 0; i < N; i++) {
		t[i] = task_new(DP_TASK_KIND_TRACKER, 0, "tracker %d", i);
		task_idle(t[i], DP_TASK_TIMER_WAIT, "the next announce");
	}
	struct dp_task *stuck = task_new(DP_TASK_KIND_PEER, 0, "peer 127.0.0.1:9 stuck");
	task_wait(stuck, DP_TASK_READ_WAIT, "waiting for handshake");

	char *path = monitor_socket_path(dir);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	struct monitor_probe p = { .base = base, .want = 3 };
	dp_buf_init(&p.got);
	p.bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_int_eq(bufferevent_socket_connect(p.bev, (struct sockaddr *)&sun, sizeof sun), 0);
	bufferevent_setcb(p.bev, monitor_probe_read, NULL, NULL, &p);
	bufferevent_enable(p.bev, EV_READ | EV_WRITE);
	bufferevent_write(p.bev, "ps\nblocked 0\nwhere 1\n", 21);
	struct timeval limit = { 30, 0 };
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
	ck_assert_int_eq(p.ends, 3);
	dp_buf_add_str(&p.got, "");
	char *text = (char *)p.got.data;
	/* ps: every tracker once, before the first end marker */
	char *end1 = strstr(text, "\n.\n");
	ck_assert_ptr_nonnull(end1);
	*end1 = '\0';
	size_t trackers = 0;
	for (char *l = strstr(text, "TIMER_WAIT   tracker"); l != NULL;
	    l = strstr(l + 1, "TIMER_WAIT   tracker"))
		trackers++;
	ck_assert_uint_eq(trackers, N);
	ck_assert_ptr_nonnull(strstr(text, "peer 127.0.0.1:9 stuck -- waiting for handshake"));
	/* the monitor client itself, between two slices of this answer when the walk reached it */
	ck_assert_msg(strstr(text, "SLICE_WAIT   ui") != NULL && strstr(text,
	    "monitor client -- answering command 1 (ps) in slices") != NULL, "ps:\n%.2000s", text);
	/* blocked: the stuck peer, the trackers counted as idle */
	char *blocked = end1 + 3;
	char *end2 = strstr(blocked, "\n.\n");
	ck_assert_ptr_nonnull(end2);
	*end2 = '\0';
	ck_assert_msg(strstr(blocked, "READ_WAIT    peer") != NULL, "blocked:\n%s", blocked);
	ck_assert_msg(strstr(blocked, "TIMER_WAIT") == NULL, "blocked:\n%s", blocked);
	size_t hidden = 0;
	for (const char *l = blocked; l != NULL && sscanf(l, "# %zu idle task", &hidden) != 1;
	    l = strchr(l, '\n') != NULL ? strchr(l, '\n') + 1 : NULL)
		;
	ck_assert_uint_ge(hidden, N);
	size_t ntasks = 0, nblocked = 0, nidle = 0;
	const char *tl = strstr(blocked, "# tasks: ");
	ck_assert_ptr_nonnull(tl);
	ck_assert_int_eq(sscanf(tl, "# tasks: %zu, %zu blocked, %zu idle", &ntasks, &nblocked,
	    &nidle), 3);
	ck_assert_uint_gt(ntasks, N);
	ck_assert_uint_ge(nblocked, 1);
	ck_assert_uint_eq(nidle, hidden);
	ck_assert_ptr_nonnull(strstr(end2 + 3, "task 1 ("));

	/* the client's task: many callbacks, its answer in slices said so */
	struct engine_task_info *all;
	size_t n = engine_tasks(e, &all);
	const struct engine_task_info *client = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].name, "monitor client") == 0)
			client = &all[i];
	ck_assert_ptr_nonnull(client);
	ck_assert_uint_gt(client->cycles, N / 64);
	free(all);

	bufferevent_free(p.bev);
	dp_buf_free(&p.got);
	free(path);
	monitor_server_free(m);
	engine_free(e);
	event_base_free(base);
	task_registry_clear();
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ---- the SIGUSR1 dump (task_dump.c) ---- */

struct dump_probe {
	struct th_turns turns;
	int ended;
	uint64_t ended_turn;
};

static void
dump_probe_ended(void *arg)
{
	struct dump_probe *p = arg;
	p->ended++;
	p->ended_turn = p->turns.n;
}

/* The log's lines after seq (the ring keeps 2,048): how many contain needle. */
static size_t
dump_log_count(uint64_t after, const char *needle)
{
	static struct dp_log_line lines[2048];
	size_t n = log_copy_since(after, lines, 2048), hits = 0;
	for (size_t i = 0; i < n; i++)
		hits += strstr(lines[i].text, needle) != NULL;
	return hits;
}

static uint64_t
dump_log_last(void)
{
	struct dp_log_line l[1];
	return log_copy_since(0, l, 1) == 1 ? l[0].seq : 0;
}

static struct dp_task *
dump_find_task(const char *name)
{
	struct dp_task *found = NULL;
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t))
		if (strcmp(t->name, name) == 0)
			found = t;
	return found;
}

/* 1,000 tasks and a torrent, slices of 1 us: the dump's task waits in SLICE_WAIT between
 * slices that each run in a loop turn of their own, ended() comes once, and the log gets every
 * task, the hash count and the torrent (written on the pool). Given up midway (the daemon
 * stopping): no ended(), nothing written. A small registry at the default budget: at once. */
START_TEST(test_task_dump_in_slices)
{
	char dir[64];
	th_tmpdir_make(dir, sizeof dir, "task");
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 1);
	uint8_t data[100] = { 1 };
	size_t len;
	uint8_t *t = th_torrent_single("dumped", data, sizeof data, 16384, &len);
	struct engine_add_opts opts = { .paused = true };
	char err[256];
	int id = 0;
	ck_assert_int_eq(engine_add_torrent_data(e, t, len, &opts, &id, err, sizeof err), 0);
	free(t);
	enum { N = 1000 };
	static struct dp_task *tr[N];
	for (int i = 0; i < N; i++) {
		tr[i] = task_new(DP_TASK_KIND_TRACKER, 0, "tracker %d", i);
		task_idle(tr[i], DP_TASK_TIMER_WAIT, "the next announce");
	}
	struct dump_probe p = { 0 };
	th_turns_start(&p.turns, base);
	th_loop_run(base, 20);

	uint64_t seq = dump_log_last();
	struct task_dump *d = task_dump_start(e, 1, dump_probe_ended, &p);
	ck_assert_ptr_nonnull(d);
	uint64_t started = p.turns.n;
	struct dp_task *dt = dump_find_task("SIGUSR1: the task table to the log");
	ck_assert_ptr_nonnull(dt);
	ck_assert_int_eq(dt->state, DP_TASK_SLICE_WAIT);
	RUN_UNTIL(base, p.ended == 1, 20);
	ck_assert_int_eq(p.ended, 1);
	/* the walk reads the clock every 64 tasks: over 10 slices, each in a turn of its own */
	ck_assert_uint_ge(p.ended_turn - started, 10);
	/* The torrent's line is the text's last; "torrent " alone may be in a slow-callback line
	 * near its start (a task's name), while the worker is still writing the rest. */
	char want[64];
	snprintf(want, sizeof want, "torrent %d stopped dumped", id);
	RUN_UNTIL(base, dump_log_count(seq, want) >= 1, 20);
	ck_assert_uint_eq(dump_log_count(seq, "tracker  TIMER_WAIT"), N);
	ck_assert_uint_eq(dump_log_count(seq, "SIGUSR1: pieces hashed since start: 0"), 1);
	ck_assert_msg(dump_log_count(seq, want) == 1, "no '%s' in the log", want);
	ck_assert_uint_eq(dump_log_count(seq, "SIGUSR1: 1"), 1);

	/* given up midway */
	seq = dump_log_last();
	d = task_dump_start(e, 1, dump_probe_ended, &p);
	ck_assert_ptr_nonnull(d);
	task_dump_free(d);
	th_loop_run(base, 200);
	ck_assert_int_eq(p.ended, 1);
	ck_assert_uint_eq(dump_log_count(seq, "SIGUSR1"), 0);

	/* at once */
	for (int i = 0; i < N; i++) {
		task_done(tr[i], "stopped");
		task_release(&tr[i]);
	}
	seq = dump_log_last();
	ck_assert_ptr_null(task_dump_start(e, 0, dump_probe_ended, &p));
	RUN_UNTIL(base, dump_log_count(seq, want) >= 1, 20);
	ck_assert_uint_eq(dump_log_count(seq, "SIGUSR1: pieces hashed since start: 0"), 1);
	ck_assert_int_eq(p.ended, 1);

	th_turns_stop(&p.turns);
	engine_free(e);
	event_base_free(base);
	task_registry_clear();
	th_rm_rf(dir);
}
END_TEST

/* The in-process UI's client_tasks: 1,000 tasks read in slices of 1 us, each slice a loop turn
 * of its own with the client's task in SLICE_WAIT; the call hands out the last whole copy (the
 * client's, not written by the read under way), its waits brought up to now; a task created
 * after a read is in the next. A small registry is read at once. */
START_TEST(test_task_client_local_in_slices)
{
	char dir[64];
	th_tmpdir_make(dir, sizeof dir, "task");
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 0);
	struct client *c = client_local_new(e);
	/* small: at once */
	const struct engine_task_info *got = NULL;
	size_t n = client_tasks(c, &got);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, 100);
	enum { N = 1000 };
	static struct dp_task *tr[N];
	for (int i = 0; i < N; i++) {
		tr[i] = task_new(DP_TASK_KIND_TRACKER, 0, "tracker %d", i);
		task_idle(tr[i], DP_TASK_TIMER_WAIT, "the next announce");
	}
	client_local_set_tasks_slice_us(c, 1);
	struct dump_probe p = { 0 };
	th_turns_start(&p.turns, base);
	/* the last copy (small), and the next one started */
	size_t small = n;
	n = client_tasks(c, &got);
	ck_assert_uint_eq(n, small);
	const struct engine_task_info *shown = got;
	struct engine_task_info first = got[0];
	struct dp_task *ct = dump_find_task("terminal UI: the registry for the task screens");
	ck_assert_ptr_nonnull(ct);
	ck_assert_int_eq(ct->state, DP_TASK_SLICE_WAIT);
	uint64_t started = p.turns.n;
	RUN_UNTIL(base, ct->state != DP_TASK_SLICE_WAIT, 20);
	ck_assert_int_eq(ct->state, DP_TASK_READ_WAIT);
	ck_assert_uint_ge(p.turns.n - started, 10);
	/* what was handed out is the client's until the next call: the read went elsewhere */
	ck_assert_uint_eq(shown[0].id, first.id);
	ck_assert_str_eq(shown[0].name, first.name);
	struct dp_task *late = task_new(DP_TASK_KIND_PEER, 0, "peer created after the read");
	usleep(20000);
	n = client_tasks(c, &got);
	ck_assert_uint_ge(n, small + N);
	size_t trackers = 0;
	bool late_seen = false;
	for (size_t i = 0; i < n; i++) {
		trackers += strncmp(got[i].name, "tracker ", 8) == 0;
		late_seen |= strcmp(got[i].name, "peer created after the read") == 0;
		if (strcmp(got[i].name, "tracker 0") == 0)
			ck_assert_uint_ge(got[i].waited_us, 20000);   /* up to now, not to the copy */
	}
	ck_assert_uint_eq(trackers, N);
	ck_assert(!late_seen);
	RUN_UNTIL(base, ct->state != DP_TASK_SLICE_WAIT, 20);
	n = client_tasks(c, &got);
	late_seen = false;
	for (size_t i = 0; i < n; i++)
		late_seen |= strcmp(got[i].name, "peer created after the read") == 0;
	ck_assert(late_seen);
	/* a read under way at the end is stopped with the client */
	client_free(c);
	task_release(&late);
	for (int i = 0; i < N; i++)
		task_release(&tr[i]);
	th_turns_stop(&p.turns);
	engine_free(e);
	event_base_free(base);
	task_registry_clear();
	th_rm_rf(dir);
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
	tcase_add_test(tc, test_task_slow_callback_cpu);
	tcase_add_test(tc, test_task_heaviest_not_displaced_by_sleep);
	suite_add_tcase(s, tc);
	TCase *ts = tcase_create("states and health");
	tcase_add_test(ts, test_task_names);
	tcase_add_test(ts, test_task_wait_records_where);
	tcase_add_test(ts, test_task_registry_iteration);
	tcase_add_test(ts, test_task_finished_linger_then_vanish);
	tcase_add_test(ts, test_task_finished_bounded);
	tcase_add_test(ts, test_task_finished_in_finish_order);
	tcase_add_test(ts, test_task_lag);
	tcase_add_test(ts, test_task_slow_ranking_and_aging);
	tcase_add_test(ts, test_task_spin_flag);
	tcase_add_test(ts, test_task_monitor_blocked);
	tcase_add_test(ts, test_task_idle_hidden_from_blocked);
	tcase_add_test(ts, test_task_hold_release);
	tcase_add_test(ts, test_task_walk_in_slices);
	tcase_add_test(ts, test_task_wait_counts_kept);
	tcase_add_test(ts, test_task_monitor_ps_in_slices);
	tcase_add_test(ts, test_task_dump_in_slices);
	tcase_add_test(ts, test_task_client_local_in_slices);
	suite_add_tcase(s, ts);
	return s;
}
