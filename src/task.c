/* task.c: the task registry, wait bookkeeping, callback accounting and loop-health sampling. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>

#include "escape.h"
#include "idmap.h"
#include "task.h"

/* Debug and ASan builds poison freed tasks and keep them a while, so a stale pointer fails
 * loudly (task_check, ASan's use-after-poison) instead of reading whatever took the memory. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1     /* clang's spelling of what gcc defines */
#endif
#endif
#if defined(DP_DEBUG) || defined(__SANITIZE_ADDRESS__)
#define TASK_POISON 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define TASK_ASAN_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define TASK_ASAN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define TASK_ASAN_POISON(p, n) ((void)(p), (void)(n))
#define TASK_ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#define TASK_MAGIC 0x7a5c0de5u
#define TASK_MAGIC_FREED 0xdeadf7eeu
#define TASK_QUARANTINE 1024          /* poisoned tasks kept before their memory is reused */
#define TASK_SLOW_WINDOW_US (60u * 1000000u)
#define TASK_SPIN_CYCLES_PER_SEC 2000       /* with no progress at all, that is spinning */
#define TASK_CB_STACK 16

static struct dp_task *task_head, *task_tail;
static size_t task_total, task_held;
static uint64_t task_next_id = 1;
/* Tasks by id: `where ID`, the UI's selection and a walk's cursor find one without a walk. */
static struct dp_idmap task_by_id;
#ifdef TASK_POISON
static struct dp_task *task_quarantine[TASK_QUARANTINE];
static size_t task_quarantine_next;
#endif

static struct dp_task *cb_stack[TASK_CB_STACK];
static uint64_t cb_start_us[TASK_CB_STACK];
/* A task that finished inside its own callback leaves the stack (it may be freed before the
 * callback ends); its id and name stay here, so a slow callback still names it. */
static uint64_t cb_done_id[TASK_CB_STACK];
static char cb_done_name[TASK_CB_STACK][sizeof((struct dp_task *)0)->name];
static int cb_depth;
/* CPU accounting: the thread's CPU clock is a real system call (no vDSO), too dear to read twice
 * per callback. Callbacks are timed with the monotonic clock (vDSO) and, once per health sample,
 * the loop thread's CPU since the last sample over the outermost callbacks' wall time gives the
 * share of that wall time that was CPU (at most 1); each task's pending wall time is converted
 * with it. A callback that blocks still shows in full as a slow callback. */
static uint64_t cb_outer_wall_us, cpu_sample_thread_us;
/* A slow callback's own CPU time (and context switches), for the health view, without a system
 * call per callback: the thread's CPU clock and switch counts are read at the end only of a
 * callback long enough to enter a slowest list, and at the start of an outermost callback only
 * when the last reading (the "mark") may hold much CPU: the callbacks run since it took
 * TASK_CPU_MARK_CB_US of wall time, or it is TASK_CPU_MARK_MAX_US old. The CPU charged is what
 * the thread used since the mark, at most the callback's wall time: it overstates by under
 * TASK_CPU_MARK_CB_US of other callbacks plus the loop's own work between callbacks (libevent's
 * dispatch, the reads it makes before calling back) over at most TASK_CPU_MARK_MAX_US. On this
 * 2-core VM a CPU clock read costs ~1.4 us and getrusage ~1.0 us against ~26 ns for the
 * monotonic clock: both around every callback would cost ~5 us a callback; a mark per
 * millisecond still cost 2.6 ms a second to scale.sh's swarm (1,000 light peers, ~1,000
 * callbacks a second, the daemon at 0.5 % CPU); these bounds make it at most 50 marks a second
 * when the loop is mostly idle, and 1,000 only when callbacks fill it. */
#define TASK_CPU_MARK_CB_US 1000u
#define TASK_CPU_MARK_MAX_US 20000u
#define TASK_CPU_FLOOR_US 1000u
struct task_cpu_reading {
	uint64_t wall_us, cpu_us;
	uint64_t involuntary, voluntary;
};
static struct task_cpu_reading cpu_mark;
static uint64_t cpu_mark_cb_wall_us;   /* outermost callbacks' wall time since the mark */

/* Tasks that ran a callback since the last health sample (and those found spinning in it), and
 * finished tasks oldest first: the sample reads these, not the registry. */
static struct dp_task *task_act_head;
static struct dp_task *task_fin_head, *task_fin_tail;
static size_t task_fin_count;

static struct dp_loop_health health;
static uint64_t health_lag_window_start, health_last_sample_us, health_cycles_total,
    health_cycles_at_sample;

static const char *const state_names[] = {
#define X(name, desc) #name,
	DP_TASK_STATES(X)
#undef X
};
static const char *const state_descs[] = {
#define X(name, desc) desc,
	DP_TASK_STATES(X)
#undef X
};
static const char *const kind_names[] = {
#define X(name, str) str,
	DP_TASK_KINDS(X)
#undef X
};

const char *
task_state_name(enum dp_task_state s)
{
	return (unsigned)s < DP_TASK_STATE_COUNT ? state_names[s] : "?";
}

const char *
task_state_description(enum dp_task_state s)
{
	return (unsigned)s < DP_TASK_STATE_COUNT ? state_descs[s] : "?";
}

const char *
task_kind_name(enum dp_task_kind k)
{
	return (unsigned)k < DP_TASK_KIND_COUNT ? kind_names[k] : "?";
}

void
task_check(const struct dp_task *t, const char *func)
{
#ifdef TASK_POISON
	if (t == NULL)
		return;
	/* Under ASan a poisoned task's magic cannot be read without a report: that is the point. */
	if (t->magic != TASK_MAGIC) {
		fprintf(stderr, "downpour: %s: task %p is %s (a holder kept it without a reference)\n",
		    func, (const void *)t, t->magic == TASK_MAGIC_FREED ? "freed" : "not a task");
		abort();
	}
#else
	(void)t;
	(void)func;
#endif
}

/* Tasks in the registry per state, kept as states change (/metrics reads them, never a walk). */
static size_t task_state_count[DP_TASK_STATE_COUNT];
/* Tasks blocked and tasks idle by design, kept the same way: `blocked` with nothing blocked
 * answers from them without reading 20,000 tasks. */
static size_t task_blocked_total, task_idle_total;

/* Takes t out of (d < 0) or puts it back into (d > 0) the kept counts, around a change. */
static void
task_tally(const struct dp_task *t, int d)
{
	if (task_is_blocked(t))
		task_blocked_total += (size_t)d;
	if (t->idle && t->finished_us == 0)
		task_idle_total += (size_t)d;
}

void
task_wait_counts(size_t *blocked, size_t *idle)
{
	*blocked = task_blocked_total;
	*idle = task_idle_total;
}

void
task_state_counts(size_t out[DP_TASK_STATE_COUNT])
{
	memcpy(out, task_state_count, sizeof task_state_count);
}

struct dp_task *
task_new(enum dp_task_kind kind, int torrent_id, const char *fmt, ...)
{
	struct dp_task *t = xcalloc(1, sizeof *t);
	va_list ap;
	t->magic = TASK_MAGIC;
	t->refs = 1;
	task_held++;
	t->id = task_next_id++;
	t->kind = kind;
	t->torrent_id = torrent_id;
	va_start(ap, fmt);
	dp_vformat_escaped(t->name, sizeof t->name, fmt, ap);
	va_end(ap);
	t->state = DP_TASK_READY;
	task_state_count[DP_TASK_READY]++;
	t->created_us = t->state_since_us = dp_now_us();
	t->prev = task_tail;
	if (task_tail)
		task_tail->next = t;
	else
		task_head = t;
	task_tail = t;
	task_total++;
	dp_idmap_put(&task_by_id, t->id, t);
	return t;
}

struct dp_task *
task_hold(struct dp_task *t)
{
	if (t == NULL)
		return NULL;
	task_check(t, __func__);
	if (t->refs++ == 0)
		task_held++;
	return t;
}

void
task_release(struct dp_task **tp)
{
	struct dp_task *t = *tp;
	if (t == NULL)
		return;
	*tp = NULL;
	task_check(t, __func__);
	if (t->refs == 0) {
		fprintf(stderr, "downpour: task_release: task %llu \"%s\" released more often than held\n",
		    (unsigned long long)t->id, t->name);
#ifdef TASK_POISON
		abort();
#endif
		return;
	}
	if (--t->refs > 0)
		return;
	task_held--;
	/* Nobody can finish it any more: it ends here, saying what it last did. */
	if (t->finished_us == 0) {
		char reason[sizeof t->reason];
		snprintf(reason, sizeof reason, "%s", t->reason);
		task_finish_at(t, DP_TASK_DONE, t->where_func, t->where_file, t->where_line,
		    "%s%sended with its owner", reason, reason[0] ? "; " : "");
	}
}

size_t
task_held_count(void)
{
	return task_held;
}

void
task_rename(struct dp_task *t, const char *fmt, ...)
{
	va_list ap;
	task_check(t, __func__);
	va_start(ap, fmt);
	dp_vformat_escaped(t->name, sizeof t->name, fmt, ap);
	va_end(ap);
}

static void
task_set_state(struct dp_task *t, enum dp_task_state state, const char *func, const char *file,
    int line, const char *fmt, va_list ap)
{
	if (t->state != state) {
		task_state_count[t->state]--;
		task_state_count[state]++;
		t->state = state;
		t->state_since_us = dp_now_us();
	}
	t->where_func = func;
	t->where_file = file;
	t->where_line = line;
	t->idle = false;     /* task_idle_at sets it after */
	if (fmt != NULL)
		dp_vformat_escaped(t->reason, sizeof t->reason, fmt, ap);
	else
		t->reason[0] = '\0';
}

void
task_wait_at(struct dp_task *t, enum dp_task_state state, const char *func, const char *file,
    int line, const char *fmt, ...)
{
	va_list ap;
	if (t == NULL)
		return;
	task_check(t, func);
	task_tally(t, -1);
	va_start(ap, fmt);
	task_set_state(t, state, func, file, line, fmt, ap);
	va_end(ap);
	task_tally(t, 1);
}

void
task_idle_at(struct dp_task *t, enum dp_task_state state, const char *func, const char *file,
    int line, const char *fmt, ...)
{
	va_list ap;
	if (t == NULL)
		return;
	task_check(t, func);
	task_tally(t, -1);
	va_start(ap, fmt);
	task_set_state(t, state, func, file, line, fmt, ap);
	va_end(ap);
	t->idle = true;
	task_tally(t, 1);
}

bool
task_is_blocked(const struct dp_task *t)
{
	switch (t->state) {
	case DP_TASK_RUNNING:
	case DP_TASK_READY:
	case DP_TASK_DONE:
	case DP_TASK_FAILED:
		return false;
	default:
		return !t->idle && t->finished_us == 0;
	}
}

void
task_set_deadline(struct dp_task *t, uint64_t deadline_us)
{
	if (t != NULL) {
		task_check(t, __func__);
		t->deadline_us = deadline_us;
	}
}

void
task_finish_at(struct dp_task *t, enum dp_task_state state, const char *func, const char *file,
    int line, const char *fmt, ...)
{
	va_list ap;
	if (t == NULL)
		return;
	task_check(t, func);
	task_tally(t, -1);
	va_start(ap, fmt);
	task_set_state(t, state, func, file, line, fmt, ap);
	va_end(ap);
	t->deadline_us = 0;
	t->finished_us = dp_now_us();
	task_tally(t, 1);
	if (!t->on_fin) {
		t->on_fin = true;
		t->fin_next = NULL;
		t->fin_prev = task_fin_tail;
		if (task_fin_tail != NULL)
			task_fin_tail->fin_next = t;
		else
			task_fin_head = t;
		task_fin_tail = t;
		task_fin_count++;
	}
	/* A callback still on the stack must not touch it after it is freed. */
	for (int i = 0; i < cb_depth && i < TASK_CB_STACK; i++)
		if (cb_stack[i] == t) {
			cb_stack[i] = NULL;
			cb_done_id[i] = t->id;
			memcpy(cb_done_name[i], t->name, sizeof cb_done_name[i]);
		}
}

static void
task_unlink_free(struct dp_task *t)
{
	if (t->refs > 0)
		task_held--;
	task_state_count[t->state]--;
	task_tally(t, -1);
	/* Freed only by the health sample after it emptied the active list, or by a clear. */
	if (t->on_fin) {
		if (t->fin_prev != NULL)
			t->fin_prev->fin_next = t->fin_next;
		else
			task_fin_head = t->fin_next;
		if (t->fin_next != NULL)
			t->fin_next->fin_prev = t->fin_prev;
		else
			task_fin_tail = t->fin_prev;
		task_fin_count--;
	}
	if (t->prev)
		t->prev->next = t->next;
	else
		task_head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		task_tail = t->prev;
	task_total--;
	dp_idmap_del(&task_by_id, t->id, t);
#ifdef TASK_POISON
	/* Poisoned and parked: a stale holder's next task_* call aborts naming the task, and ASan
	 * reports any direct read; the memory is reused only TASK_QUARANTINE frees later. */
	memset(t, 0xdb, sizeof *t);
	t->magic = TASK_MAGIC_FREED;
	TASK_ASAN_POISON(t, sizeof *t);
	struct dp_task *old = task_quarantine[task_quarantine_next];
	task_quarantine[task_quarantine_next] = t;
	task_quarantine_next = (task_quarantine_next + 1) % TASK_QUARANTINE;
	if (old != NULL) {
		TASK_ASAN_UNPOISON(old, sizeof *old);
		free(old);
	}
#else
	free(t);
#endif
}

/* The thread's CPU clock and context switches now (wall time now_us). */
static void
task_cpu_read(struct task_cpu_reading *r, uint64_t now_us)
{
	cpu_mark_cb_wall_us = 0;     /* every reading becomes the mark */
	r->wall_us = now_us;
	r->cpu_us = dp_thread_cpu_us();
#ifdef RUSAGE_THREAD
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) == 0) {
		r->involuntary = (uint64_t)ru.ru_nivcsw;
		r->voluntary = (uint64_t)ru.ru_nvcsw;
	}
#endif
}

void
task_cb_begin(struct dp_task *t)
{
	if (cb_depth >= TASK_CB_STACK) {
		cb_depth++;
		return;
	}
	task_check(t, __func__);
	uint64_t now = dp_now_us();
	if (cb_depth == 0 && (cpu_mark_cb_wall_us >= TASK_CPU_MARK_CB_US ||
	    now - cpu_mark.wall_us >= TASK_CPU_MARK_MAX_US))
		task_cpu_read(&cpu_mark, now);
	cb_stack[cb_depth] = t;
	cb_done_id[cb_depth] = 0;
	cb_start_us[cb_depth] = now;
	cb_depth++;
	health_cycles_total++;
	if (t != NULL && t->finished_us == 0)
		t->cycles++;
	if (t != NULL && !t->on_act) {
		t->on_act = true;
		t->act_next = task_act_head;
		task_act_head = t;
	}
}

/* Whether a callback of this wall time would enter the list ranked by key (wall or CPU time);
 * CPU never exceeds wall, so wall is the bound for both. */
static bool
task_slow_qualifies(const struct dp_slow_callback *list, size_t n, bool by_cpu, uint64_t wall)
{
	if (n < DP_SLOW_CALLBACKS)
		return true;
	return wall > (by_cpu ? list[n - 1].cpu_us : list[n - 1].duration_us);
}

/* Puts c into list (n entries, kept sorted by wall or CPU time, most first) if it ranks. */
static void
task_slow_insert(struct dp_slow_callback *list, size_t *count, bool by_cpu,
    const struct dp_slow_callback *c)
{
	size_t n = *count;
	uint64_t key = by_cpu ? c->cpu_us : c->duration_us;
#define TASK_SLOW_KEY(e) (by_cpu ? (e).cpu_us : (e).duration_us)
	if (n == DP_SLOW_CALLBACKS && key <= TASK_SLOW_KEY(list[n - 1]))
		return;
	if (n < DP_SLOW_CALLBACKS)
		n++;
	size_t i = n - 1;
	while (i > 0 && TASK_SLOW_KEY(list[i - 1]) < key) {
		list[i] = list[i - 1];
		i--;
	}
#undef TASK_SLOW_KEY
	list[i] = *c;
	*count = n;
}

/* An outermost callback that ended at now after wall: into the slowest lists if it ranks, with
 * its CPU time and switches read now (the only reading at a callback's end). t is its task,
 * NULL when it had none or finished during the callback (then cb_done_* name it). */
static void
task_note_slow(struct dp_task *t, uint64_t wall, uint64_t now)
{
	bool by_wall = task_slow_qualifies(health.slowest, health.slowest_count, false, wall);
	/* Wall time only bounds the CPU: a run of short callbacks of about equal CPU and wall
	 * would qualify often, each for a reading, to rank among sub-millisecond ones. Under
	 * TASK_CPU_FLOOR_US a callback reaches the full list by CPU only with a reading taken
	 * for the list by wall time. */
	bool by_cpu = task_slow_qualifies(health.heaviest, health.heaviest_count, true, wall) &&
	    (wall >= TASK_CPU_FLOOR_US || health.heaviest_count < DP_SLOW_CALLBACKS);
	if (!by_wall && !by_cpu)
		return;
	struct task_cpu_reading end;
	task_cpu_read(&end, now);
	struct dp_slow_callback c;
	memset(&c, 0, sizeof c);
	c.task_id = t ? t->id : cb_done_id[0];
	snprintf(c.task_name, sizeof c.task_name, "%s",
	    t ? t->name : cb_done_id[0] ? cb_done_name[0] : "(loop)");
	c.duration_us = wall;
	c.when_us = now;
	uint64_t cpu = end.cpu_us >= cpu_mark.cpu_us ? end.cpu_us - cpu_mark.cpu_us : 0;
	c.cpu_us = DP_MIN(cpu, wall);
	c.preempted = (uint32_t)DP_MIN(end.involuntary - cpu_mark.involuntary, UINT32_MAX);
	c.waits = (uint32_t)DP_MIN(end.voluntary - cpu_mark.voluntary, UINT32_MAX);
	/* The next callback's start measures from here (unless this reading grows old). */
	cpu_mark = end;
	if (by_wall)
		task_slow_insert(health.slowest, &health.slowest_count, false, &c);
	task_slow_insert(health.heaviest, &health.heaviest_count, true, &c);
}

void
task_cb_end(struct dp_task *t)
{
	(void)t;
	if (cb_depth == 0)
		return;
	cb_depth--;
	if (cb_depth >= TASK_CB_STACK)
		return;
	struct dp_task *owner = cb_stack[cb_depth];
	uint64_t now = dp_now_us();
	uint64_t wall = now - cb_start_us[cb_depth];
	if (owner != NULL) {
		owner->cb_wall_us += wall;
		owner->cpu_pending_us += wall;
	}
	/* A nested callback is also inside its caller's time; only the outermost counts as slow. */
	if (cb_depth == 0) {
		cb_outer_wall_us += wall;
		cpu_mark_cb_wall_us += wall;
		task_note_slow(owner, wall, now);
	}
}

/* Converts the callback wall time gathered since the last sample into CPU time (see above). */
static void
task_sample_cpu(void)
{
	uint64_t cpu_now = dp_thread_cpu_us();
	uint64_t cpu = cpu_now - cpu_sample_thread_us;
	uint64_t wall = cb_outer_wall_us;
	cpu_sample_thread_us = cpu_now;
	cb_outer_wall_us = 0;
	/* Only tasks that ran a callback have pending time. */
	for (struct dp_task *t = task_act_head; t != NULL; t = t->act_next) {
		if (t->cpu_pending_us == 0)
			continue;
		t->cpu_us += cpu >= wall ? t->cpu_pending_us : t->cpu_pending_us * cpu / wall;
		t->cpu_pending_us = 0;
	}
}

void
task_progress(struct dp_task *t, uint64_t in, uint64_t out)
{
	if (t == NULL)
		return;
	task_check(t, __func__);
	t->bytes_in += in;
	t->bytes_out += out;
	t->progress++;
	/* Data that arrived ended that read wait; the next one starts now. Otherwise a peer that
	 * streams blocks would look stuck in READ_WAIT for as long as the transfer lasts. */
	if (in > 0 && t->state == DP_TASK_READ_WAIT)
		t->state_since_us = dp_now_us();
}

struct dp_task *
task_first(void)
{
	return task_head;
}

struct dp_task *
task_next(struct dp_task *t)
{
	return t->next;
}

struct dp_task *
task_find(uint64_t id)
{
	return dp_idmap_get(&task_by_id, id);
}

size_t
task_count(void)
{
	return task_total;
}

/* Drops the slow callbacks older than the window (the order stays). */
static void
task_slow_age(struct dp_slow_callback *list, size_t *count, uint64_t now_us)
{
	size_t keep = 0;
	for (size_t i = 0; i < *count; i++)
		if (now_us - list[i].when_us <= TASK_SLOW_WINDOW_US)
			list[keep++] = list[i];
	*count = keep;
}

void
task_health_tick(uint64_t expected_us, uint64_t now_us)
{
	uint64_t lag = now_us > expected_us ? now_us - expected_us : 0;
	health.lag_us = lag;
	if (now_us - health_lag_window_start > TASK_SLOW_WINDOW_US) {
		health_lag_window_start = now_us;
		health.lag_max_us = lag;
	} else if (lag > health.lag_max_us) {
		health.lag_max_us = lag;
	}

	task_slow_age(health.slowest, &health.slowest_count, now_us);
	task_slow_age(health.heaviest, &health.heaviest_count, now_us);

	if (health_last_sample_us != 0 && now_us - health_last_sample_us < 1000000u)
		return;
	uint64_t elapsed = health_last_sample_us ? now_us - health_last_sample_us : 1000000u;
	health_last_sample_us = now_us;
	health.callbacks_per_sec = (health_cycles_total - health_cycles_at_sample) * 1000000u / elapsed;
	health_cycles_at_sample = health_cycles_total;
	task_sample_cpu();

	/* Spinning: only a task that ran callbacks since the last sample can be (one that was
	 * stays on the list, so the next sample clears it when it stopped). A task off the list
	 * ran nothing since it was last sampled: its sample counts are current. */
	size_t spinning = 0;
	struct dp_task *t = task_act_head;
	task_act_head = NULL;
	while (t != NULL) {
		struct dp_task *next = t->act_next;
		t->act_next = NULL;
		t->on_act = false;
		if (t->finished_us == 0) {
			uint64_t rate = (t->cycles - t->sample_cycles) * 1000000u / elapsed;
			t->spinning = rate >= TASK_SPIN_CYCLES_PER_SEC &&
			    t->progress == t->sample_progress;
			spinning += t->spinning;
			t->sample_cycles = t->cycles;
			t->sample_progress = t->progress;
			if (t->spinning) {
				t->on_act = true;
				t->act_next = task_act_head;
				task_act_head = t;
			}
		}
		t = next;
	}
	/* Finished tasks linger TASK_LINGER_US, at most TASK_LINGER_MAX of them (the oldest go
	 * first); a held one stays however long ago it finished: its holder may read it. */
	size_t held = 0;
	for (t = task_fin_head; t != NULL;) {
		struct dp_task *next = t->fin_next;
		if (t->refs > 0) {
			held++;
		} else if (now_us - t->finished_us > TASK_LINGER_US ||
		    task_fin_count - held > TASK_LINGER_MAX) {
			task_unlink_free(t);
		} else {
			break;
		}
		t = next;
	}
	health.spinning_count = spinning;
}

void
task_health_get(struct dp_loop_health *out)
{
	*out = health;
}

void
task_registry_clear(void)
{
	while (task_head != NULL)
		task_unlink_free(task_head);
	task_act_head = NULL;
	dp_idmap_free(&task_by_id);
	dp_idmap_init(&task_by_id);
	task_held = 0;
	memset(task_state_count, 0, sizeof task_state_count);
	task_blocked_total = task_idle_total = 0;
	memset(&health, 0, sizeof health);
	health_lag_window_start = health_last_sample_us = 0;
	health_cycles_total = health_cycles_at_sample = 0;
	cb_depth = 0;
	cb_outer_wall_us = 0;
	cpu_sample_thread_us = dp_thread_cpu_us();
	memset(&cpu_mark, 0, sizeof cpu_mark);
	cpu_mark_cb_wall_us = TASK_CPU_MARK_CB_US;
}
