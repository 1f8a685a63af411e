/* task.h: the task registry: every engine activity is a task with a state, a reason, and where
 * it parked; plus the loop's own health (lag, slowest callbacks, spinning tasks). Loop thread only.
 *
 * Ownership (the one rule): a task is freed by the registry only when it is finished, nobody
 * holds it, and it has lingered (so the monitor can show how it ended). task_new() returns a task
 * holding one reference, its creator's. Whoever keeps a `struct dp_task *` beyond the current
 * callback holds a reference: the creator by keeping the one it got, anyone else by task_hold().
 * Every holder gives its reference back with task_release(&ptr), which also clears the pointer,
 * when it stops pointing at the task (it is freed, or it replaces the task with a new one).
 * A finished task may be held and read for as long as the holder likes; a task released while
 * still unfinished by its last holder is finished then ("abandoned"). In debug and ASan builds
 * freed tasks are poisoned and every task_* call checks for a stale pointer (task_check). */
#ifndef DP_ENGINE_INTERNAL
#error "task.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_TASK_H
#define DP_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include "task_states.h"
#include "util.h"

/* Generated from the lists in task_states.h, like the engine snapshots' enums (engine.h). */
enum dp_task_state {
#define X(name, desc) DP_TASK_##name,
	DP_TASK_STATES(X)
#undef X
	DP_TASK_STATE_COUNT
};

enum dp_task_kind {
#define X(name, str) DP_TASK_KIND_##name,
	DP_TASK_KINDS(X)
#undef X
	DP_TASK_KIND_COUNT
};

struct dp_task {
	uint64_t id;
	enum dp_task_kind kind;
	char name[96];
	int torrent_id;            /* 0 when it belongs to no torrent */
	enum dp_task_state state;
	uint64_t state_since_us;   /* monotonic */
	const char *where_func;    /* where it parked, captured by task_wait() */
	const char *where_file;
	int where_line;
	char reason[128];          /* what it waits for, in words */
	bool idle;                 /* the wait is idle by design (see task_idle); nothing is stuck */
	uint64_t deadline_us;      /* monotonic; 0 = none */
	uint64_t cycles;           /* callbacks run */
	uint64_t cpu_us;           /* CPU time inside its callbacks (see task_cb_end) */
	uint64_t cb_wall_us;       /* wall time inside its callbacks */
	uint64_t cpu_pending_us;   /* callback wall time not yet converted into cpu_us */
	uint64_t bytes_in, bytes_out;
	uint64_t created_us;
	/* spin detection: cycles and progress seen at the last health sample */
	uint64_t sample_cycles, sample_progress, progress;
	bool spinning;
	/* finished tasks linger briefly so the monitor can show how they ended */
	uint64_t finished_us;
	uint32_t refs;             /* holders (see the ownership rule above) */
	uint32_t magic;            /* TASK_MAGIC while allocated; poisoned when freed */
	struct dp_task *next, *prev;
	/* the health sample reads only tasks that ran (or spun) since the last one, and frees
	 * finished ones from a list in the order they finished: never a walk over every task */
	struct dp_task *act_next;
	struct dp_task *fin_next, *fin_prev;
	bool on_act, on_fin;
};

const char *task_state_name(enum dp_task_state s);
/* Tasks in the registry per state (finished ones until they are freed): kept, not counted. */
void task_state_counts(size_t out[DP_TASK_STATE_COUNT]);
/* Unfinished tasks that are blocked (task_is_blocked) and idle by design: kept, not counted. */
void task_wait_counts(size_t *blocked, size_t *idle);
const char *task_state_description(enum dp_task_state s);
const char *task_kind_name(enum dp_task_kind k);

/* A new task starts READY, held once by the caller. Names are formatted like printf. */
struct dp_task *task_new(enum dp_task_kind kind, int torrent_id, const char *fmt, ...)
    DP_PRINTF(3, 4);
/* Another holder keeps a pointer to t (a request borrowing its tracker's task); returns t. */
struct dp_task *task_hold(struct dp_task *t);
/* Gives back the reference *tp holds and sets *tp to NULL (NULL *tp: nothing). */
void task_release(struct dp_task **tp);
/* Aborts with a message when t is a freed task (debug and ASan builds; a no-op otherwise). */
void task_check(const struct dp_task *t, const char *func);
/* Tasks allocated and still held: what a clean shutdown must bring to 0 (tests). */
size_t task_held_count(void);
void task_rename(struct dp_task *t, const char *fmt, ...) DP_PRINTF(2, 3);

/* Parks a task: records state, reason, and the caller's function and line. */
#define task_wait(t, state, ...) \
	task_wait_at((t), (state), __func__, __FILE__, __LINE__, __VA_ARGS__)
void task_wait_at(struct dp_task *t, enum dp_task_state state, const char *func, const char *file,
    int line, const char *fmt, ...) DP_PRINTF(6, 7);
/* Parks a task in a wait that is idle by design: a listener waiting for connections, a stopped
 * or queued torrent, a tracker sleeping until its next announce, a server waiting for clients.
 * Same states as task_wait (names unchanged); the blocked views hide these and say how many.
 * task_wait and task_done/task_fail clear the flag. */
#define task_idle(t, state, ...) \
	task_idle_at((t), (state), __func__, __FILE__, __LINE__, __VA_ARGS__)
void task_idle_at(struct dp_task *t, enum dp_task_state state, const char *func, const char *file,
    int line, const char *fmt, ...) DP_PRINTF(6, 7);
/* A parked task that counts as blocked: waiting (not running, ready or finished), not idle by
 * design. Spinning is judged apart. */
bool task_is_blocked(const struct dp_task *t);
void task_set_deadline(struct dp_task *t, uint64_t deadline_us);

/* Brackets a callback: counts a cycle and its CPU and wall time for the health view. */
void task_cb_begin(struct dp_task *t);
void task_cb_end(struct dp_task *t);
/* Work that moved something forward (bytes, a message): spinning is cycles without progress. */
void task_progress(struct dp_task *t, uint64_t in, uint64_t out);

/* A finished task stays visible for a while, then the registry frees it once nobody holds it. */
#define task_done(t, ...) task_finish_at((t), DP_TASK_DONE, __func__, __FILE__, __LINE__, __VA_ARGS__)
#define task_fail(t, ...) task_finish_at((t), DP_TASK_FAILED, __func__, __FILE__, __LINE__, __VA_ARGS__)
void task_finish_at(struct dp_task *t, enum dp_task_state state, const char *func,
    const char *file, int line, const char *fmt, ...) DP_PRINTF(6, 7);

/* Iteration over live and recently finished tasks (in creation order). */
struct dp_task *task_first(void);
struct dp_task *task_next(struct dp_task *t);
struct dp_task *task_find(uint64_t id);
size_t task_count(void);

/* Loop health. The engine calls task_health_tick() from a periodic timer whose expected
 * firing time is given, so lag = how late it actually fired. */
struct dp_slow_callback {
	uint64_t task_id;
	char task_name[96];
	uint64_t duration_us;          /* wall time */
	uint64_t when_us;
	/* The callback's own thread CPU time (never above its wall time; see task.c for how it is
	 * read without a system call per callback) and the thread's context switches meanwhile:
	 * preempted (involuntary: the wall time beyond the CPU was the scheduler's) and waits
	 * (voluntary: it slept or blocked in a system call). */
	uint64_t cpu_us;
	uint32_t preempted, waits;
};
#define DP_SLOW_CALLBACKS 8
struct dp_loop_health {
	uint64_t lag_us;               /* latest */
	uint64_t lag_max_us;           /* over the last minute */
	uint64_t callbacks_per_sec;
	struct dp_slow_callback slowest[DP_SLOW_CALLBACKS];  /* recent (last minute), slowest first */
	size_t slowest_count;
	/* recent (last minute), most CPU first: a wall-time spike from being descheduled is not
	 * a long callback, and these are the ones that are */
	struct dp_slow_callback heaviest[DP_SLOW_CALLBACKS];
	size_t heaviest_count;
	size_t spinning_count;
};
void task_health_tick(uint64_t expected_us, uint64_t now_us);
void task_health_get(struct dp_loop_health *out);

/* Frees everything, held or not (in tests; the pointers holders keep dangle after it). */
void task_registry_clear(void);
/* Limits of the registry, for tests: how long finished tasks linger, and how many may. */
#define TASK_LINGER_US (10u * 1000000u)
/* A download writing 3000 pieces a second kept 35000 disk tasks, and each monitor `ps`/`blocked`
 * copying them held the loop for 250 ms. */
#define TASK_LINGER_MAX 2000

#endif
