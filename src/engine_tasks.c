/* engine_tasks.c: the task side of engine.h: snapshots of the task registry and of loop health
 * copied into the public structs, the names of states and kinds, and front ends' own tasks
 * (an engine_task is a registry task that only this file sees as one). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine.h"
#include "engine_state.h"
#include "task.h"
#include "util.h"

/* Both enums come from the same lists (task_states.h): one cast converts. */
_Static_assert((int)ENGINE_TASK_STATE_COUNT == (int)DP_TASK_STATE_COUNT, "task states differ");
_Static_assert((int)ENGINE_TASK_KIND_COUNT == (int)DP_TASK_KIND_COUNT, "task kinds differ");
_Static_assert(ENGINE_SLOW_CALLBACKS == DP_SLOW_CALLBACKS, "slow callback counts differ");

/* A front end's handle is the registry's task: the public type stays opaque. */
static struct dp_task *
engine_tasks_dp(struct engine_task *t)
{
	return (struct dp_task *)(void *)t;
}

const char *
engine_task_state_name(enum engine_task_state s)
{
	return task_state_name((enum dp_task_state)s);
}

const char *
engine_task_state_description(enum engine_task_state s)
{
	return task_state_description((enum dp_task_state)s);
}

const char *
engine_task_kind_name(enum engine_task_kind k)
{
	return task_kind_name((enum dp_task_kind)k);
}

/* Copies of the registry's strings: the arrays have the same size (a plain copy, no printf:
 * a snapshot copies 20,000 of them). */
_Static_assert(sizeof ((struct engine_task_info *)0)->name == sizeof ((struct dp_task *)0)->name,
    "task name sizes differ");
_Static_assert(sizeof ((struct engine_task_info *)0)->reason ==
    sizeof ((struct dp_task *)0)->reason, "task reason sizes differ");

static void
engine_tasks_copy(const struct dp_task *t, uint64_t now, struct engine_task_info *out)
{
	out->id = t->id;
	out->kind = (enum engine_task_kind)t->kind;
	memcpy(out->name, t->name, sizeof out->name);
	out->name[sizeof out->name - 1] = '\0';
	out->torrent_id = t->torrent_id;
	out->state = (enum engine_task_state)t->state;
	out->where_func = t->where_func;
	out->where_file = t->where_file;
	out->where_line = t->where_line;
	memcpy(out->reason, t->reason, sizeof out->reason);
	out->reason[sizeof out->reason - 1] = '\0';
	out->idle = t->idle;
	out->blocked = task_is_blocked(t);
	out->spinning = t->spinning;
	out->deadline_us = t->deadline_us;
	out->cycles = t->cycles;
	out->cpu_us = t->cpu_us;
	out->bytes_in = t->bytes_in;
	out->bytes_out = t->bytes_out;
	out->progress = t->progress;
	out->finished_us = t->finished_us;
	out->state_name = task_state_name(t->state);
	out->kind_name = task_kind_name(t->kind);
	out->age_us = now - t->created_us;
	out->waited_us = now - t->state_since_us;
	out->created_us = t->created_us;
	out->state_since_us = t->state_since_us;
}

size_t
engine_tasks(struct engine *e, struct engine_task_info **out)
{
	(void)e;
	size_t n = task_count();
	*out = NULL;
	if (n == 0)
		return 0;
	struct engine_task_info *a = xmalloc(n * sizeof *a);
	uint64_t now = dp_now_us();
	size_t i = 0;
	for (struct dp_task *t = task_first(); t != NULL && i < n; t = task_next(t))
		engine_tasks_copy(t, now, &a[i++]);
	*out = a;
	return i;
}

void
engine_task_wait_counts(struct engine *e, size_t *tasks, size_t *blocked, size_t *idle)
{
	(void)e;
	*tasks = task_count();
	task_wait_counts(blocked, idle);
}

int
engine_task_get(struct engine *e, uint64_t id, struct engine_task_info *out)
{
	(void)e;
	const struct dp_task *t = task_find(id);
	if (t == NULL)
		return -1;
	engine_tasks_copy(t, dp_now_us(), out);
	return 0;
}

/* ---- the registry in slices ---- */

/* The clock is read every this many tasks looked at (a look is ~50 ns, a copy ~100 ns). */
#define ENGINE_TASK_WALK_CLOCK_EVERY 64

struct engine_task_walk {
	enum engine_task_walk_filter filter;
	uint64_t min_wait_us;
	struct dp_task *at;            /* held: the next task to look at; NULL at the end */
	bool started, ended;
	struct engine_task_walk_counts counts;
};

struct engine_task_walk *
engine_task_walk_new(struct engine *e, enum engine_task_walk_filter f, uint64_t min_wait_us)
{
	(void)e;
	struct engine_task_walk *w = xcalloc(1, sizeof *w);
	w->filter = f;
	w->min_wait_us = min_wait_us;
	return w;
}

/* What the filter does with t: visit it (true), or count it and pass (false). */
static bool
engine_task_walk_keeps(struct engine_task_walk *w, const struct dp_task *t, uint64_t now)
{
	switch (w->filter) {
	case ENGINE_TASK_WALK_NOT_DONE:
		if (t->state == DP_TASK_DONE) {
			w->counts.done_skipped++;
			return false;
		}
		return true;
	case ENGINE_TASK_WALK_BLOCKED: {
		bool spinning = t->spinning && t->finished_us == 0;
		bool long_wait = now - t->state_since_us >= w->min_wait_us;
		if (spinning || (long_wait && task_is_blocked(t)))
			return true;
		if (t->idle && t->finished_us == 0 && long_wait)
			w->counts.idle_skipped++;
		return false;
	}
	case ENGINE_TASK_WALK_ALL:
	default:
		return true;
	}
}

bool
engine_task_walk_step(struct engine_task_walk *w, uint64_t budget_us, engine_task_visit_fn fn,
    void *arg)
{
	if (w->ended)
		return true;
	struct dp_task *t;
	if (!w->started) {
		w->started = true;
		t = task_first();
	} else {
		/* The held cursor is still in the registry: a held task is never freed. */
		t = w->at;
	}
	struct dp_task *held = w->at;
	w->at = NULL;
	uint64_t start = dp_now_us(), now = start;
	struct engine_task_info info;
	for (size_t looked = 0; t != NULL; looked++) {
		if (budget_us != 0 && looked > 0 && looked % ENGINE_TASK_WALK_CLOCK_EVERY == 0) {
			now = dp_now_us();
			if (now - start >= budget_us) {
				w->at = task_hold(t);
				task_release(&held);
				return false;
			}
		}
		w->counts.seen++;
		if (engine_task_walk_keeps(w, t, now)) {
			engine_tasks_copy(t, now, &info);
			w->counts.visited++;
			fn(&info, arg);
		}
		t = task_next(t);
	}
	task_release(&held);
	w->ended = true;
	return true;
}

void
engine_task_walk_counts(const struct engine_task_walk *w, struct engine_task_walk_counts *out)
{
	*out = w->counts;
}

void
engine_task_walk_free(struct engine_task_walk **wp)
{
	struct engine_task_walk *w = *wp;
	if (w == NULL)
		return;
	*wp = NULL;
	task_release(&w->at);
	free(w);
}

/* ---- front ends' work in slices ---- */

struct engine_sliced {
	struct engine_task *task;
	uint64_t budget_us;
	engine_slice_fn step;
	void (*done)(void *arg);
	void *arg;
	struct event *ev;
	char what[sizeof ((struct dp_task *)0)->reason];
};

static void
engine_sliced_free(struct engine_sliced *s)
{
	event_free(s->ev);
	free(s);
}

/* One slice; false when the run is over (done ran, s is freed). */
static bool
engine_sliced_step(struct engine_sliced *s)
{
	if (s->step(s->arg, s->budget_us)) {
		void (*done)(void *) = s->done;
		void *arg = s->arg;
		engine_sliced_free(s);
		done(arg);
		return false;
	}
	event_add(s->ev, &(struct timeval){ 0, 0 });
	engine_task_wait(s->task, ENGINE_TASK_SLICE_WAIT, "%s", s->what);
	return true;
}

static void
engine_sliced_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine_sliced *s = arg;
	struct engine_task *task = s->task;
	(void)fd;
	(void)what;
	/* The task is the owner's: done may finish it, never free it under us (held). */
	engine_task_cb_begin(task);
	engine_sliced_step(s);
	engine_task_cb_end(task);
}

struct engine_sliced *
engine_run_sliced(struct engine *e, struct engine_task *task, uint64_t budget_us,
    engine_slice_fn step, void (*done)(void *arg), void *arg, const char *what)
{
	struct engine_sliced *s = xcalloc(1, sizeof *s);
	s->task = task;
	s->budget_us = budget_us;
	s->step = step;
	s->done = done;
	s->arg = arg;
	snprintf(s->what, sizeof s->what, "%s", what);
	s->ev = event_new(e->base, -1, 0, engine_sliced_cb, s);
	if (s->ev == NULL)
		abort();        /* out of memory, as xmalloc */
	return engine_sliced_step(s) ? s : NULL;
}

void
engine_sliced_cancel(struct engine_sliced **sp)
{
	if (*sp == NULL)
		return;
	engine_sliced_free(*sp);
	*sp = NULL;
}

static size_t
engine_tasks_slow_copy(struct engine_slow_callback *out, const struct dp_slow_callback *in,
    size_t n)
{
	n = DP_MIN(n, (size_t)ENGINE_SLOW_CALLBACKS);
	for (size_t i = 0; i < n; i++) {
		out[i].task_id = in[i].task_id;
		snprintf(out[i].task_name, sizeof out[i].task_name, "%s", in[i].task_name);
		out[i].duration_us = in[i].duration_us;
		out[i].when_us = in[i].when_us;
		out[i].cpu_measured = true;
		out[i].cpu_us = in[i].cpu_us;
		out[i].preempted = in[i].preempted;
		out[i].waits = in[i].waits;
	}
	return n;
}

void
engine_loop_health(struct engine *e, struct engine_loop_health *out)
{
	(void)e;
	struct dp_loop_health h;
	task_health_get(&h);
	memset(out, 0, sizeof *out);
	out->lag_us = h.lag_us;
	out->lag_max_us = h.lag_max_us;
	out->callbacks_per_sec = h.callbacks_per_sec;
	out->slowest_count = engine_tasks_slow_copy(out->slowest, h.slowest, h.slowest_count);
	out->heaviest_count = engine_tasks_slow_copy(out->heaviest, h.heaviest, h.heaviest_count);
	out->spinning_count = h.spinning_count;
}

/* ---- front ends' own tasks ---- */

struct engine_task *
engine_task_new(struct engine *e, enum engine_task_kind kind, int torrent_id, const char *fmt,
    ...)
{
	(void)e;
	char name[sizeof ((struct dp_task *)0)->name];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	return (struct engine_task *)(void *)task_new((enum dp_task_kind)kind, torrent_id, "%s",
	    name);
}

void
engine_task_rename(struct engine_task *t, const char *fmt, ...)
{
	char name[sizeof ((struct dp_task *)0)->name];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	task_rename(engine_tasks_dp(t), "%s", name);
}

void
engine_task_park_at(struct engine_task *t, enum engine_task_state state, bool idle,
    const char *func, const char *file, int line, const char *fmt, ...)
{
	char reason[sizeof ((struct dp_task *)0)->reason];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (idle)
		task_idle_at(engine_tasks_dp(t), (enum dp_task_state)state, func, file, line, "%s",
		    reason);
	else
		task_wait_at(engine_tasks_dp(t), (enum dp_task_state)state, func, file, line, "%s",
		    reason);
}

void
engine_task_finish_at(struct engine_task *t, bool failed, const char *func, const char *file,
    int line, const char *fmt, ...)
{
	char reason[sizeof ((struct dp_task *)0)->reason];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	task_finish_at(engine_tasks_dp(t), failed ? DP_TASK_FAILED : DP_TASK_DONE, func, file, line,
	    "%s", reason);
}

void
engine_task_release(struct engine_task **tp)
{
	struct dp_task *t = engine_tasks_dp(*tp);
	task_release(&t);
	*tp = NULL;
}

void
engine_task_cb_begin(struct engine_task *t)
{
	task_cb_begin(engine_tasks_dp(t));
}

void
engine_task_cb_end(struct engine_task *t)
{
	task_cb_end(engine_tasks_dp(t));
}

void
engine_task_progress(struct engine_task *t, uint64_t in, uint64_t out)
{
	task_progress(engine_tasks_dp(t), in, out);
}

void
engine_task_set_deadline(struct engine_task *t, uint64_t deadline_us)
{
	task_set_deadline(engine_tasks_dp(t), deadline_us);
}
