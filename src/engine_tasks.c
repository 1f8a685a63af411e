/* engine_tasks.c: the task side of engine.h: snapshots of the task registry and of loop health
 * copied into the public structs, the names of states and kinds, and front ends' own tasks
 * (an engine_task is a registry task that only this file sees as one). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
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

static void
engine_tasks_copy(const struct dp_task *t, uint64_t now, struct engine_task_info *out)
{
	out->id = t->id;
	out->kind = (enum engine_task_kind)t->kind;
	snprintf(out->name, sizeof out->name, "%s", t->name);
	out->torrent_id = t->torrent_id;
	out->state = (enum engine_task_state)t->state;
	out->where_func = t->where_func;
	out->where_file = t->where_file;
	out->where_line = t->where_line;
	snprintf(out->reason, sizeof out->reason, "%s", t->reason);
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
}

size_t
engine_tasks(struct engine *e, struct engine_task_info **out)
{
	(void)e;
	size_t n = task_count();
	*out = NULL;
	if (n == 0)
		return 0;
	struct engine_task_info *a = xcalloc(n, sizeof *a);
	uint64_t now = dp_now_us();
	size_t i = 0;
	for (struct dp_task *t = task_first(); t != NULL && i < n; t = task_next(t))
		engine_tasks_copy(t, now, &a[i++]);
	*out = a;
	return i;
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
	out->slowest_count = DP_MIN(h.slowest_count, (size_t)ENGINE_SLOW_CALLBACKS);
	for (size_t i = 0; i < out->slowest_count; i++) {
		out->slowest[i].task_id = h.slowest[i].task_id;
		snprintf(out->slowest[i].task_name, sizeof out->slowest[i].task_name, "%s",
		    h.slowest[i].task_name);
		out->slowest[i].duration_us = h.slowest[i].duration_us;
		out->slowest[i].when_us = h.slowest[i].when_us;
	}
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
