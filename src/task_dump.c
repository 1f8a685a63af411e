/* task_dump.c: the daemon's SIGUSR1 dump into the log. At 10,000 torrents it is 20,000 tasks
 * and 10,000 torrents, one callback of copies and 30,000 log writes when done at once: the tasks
 * are read with the registry's walk in slices (engine_task_walk, as `monitor ps` reads them),
 * the torrents a slice at a time by id, and the text goes to the log from a disk pool worker. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "monitor_server.h"
#include "task_dump.h"
#include "util.h"

/* A slice of the dump on the loop at most (as the monitor's ps). */
#define TASK_DUMP_SLICE_US 4000
/* The clock is read every this many torrents (a row is a few microseconds). */
#define TASK_DUMP_CLOCK_EVERY 16
/* The text is kept in pieces of about this size: one buffer of 4 MB grown by doubling copied
 * megabytes in one slice (a 10 ms slice of a 4 ms budget). */
#define TASK_DUMP_PIECE (64u << 10)

/* The lines gathered, in pieces, each line ended with a NUL. */
struct task_dump_text {
	struct dp_buf *pieces;
	size_t n, cap;
	size_t bytes;
};

struct task_dump {
	struct engine *e;
	struct engine_task *task;
	struct engine_sliced *run;
	bool returned;                 /* task_dump_start returned it: ended is called */
	struct engine_task_walk *walk; /* the tasks, until they are all read */
	bool listed;                   /* the torrents' ids taken */
	int *ids;                      /* then the torrents, by id */
	size_t nids, pos;
	size_t torrents;
	struct engine_torrent_stats *st;
	struct task_dump_text *text;   /* the lines so far */
	void (*ended)(void *arg);
	void *arg;
};

static void
task_dump_text_free(struct task_dump_text *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		dp_buf_free(&t->pieces[i]);
	free(t->pieces);
	free(t);
}

/* ---- on a worker: the text into the log ---- */

/* Lines end with a NUL, not a newline: a name or reason with a newline in it stays one line of
 * the log (which escapes it). */
static void
task_dump_write_work(void *arg)
{
	struct task_dump_text *t = arg;
	for (size_t i = 0; i < t->n; i++) {
		const char *p = (const char *)t->pieces[i].data, *end = p + t->pieces[i].len;
		while (p < end) {
			log_info("%s", p);
			p += strlen(p) + 1;
		}
	}
}

static void
task_dump_write_done(void *arg)
{
	task_dump_text_free(arg);
}

/* ---- on the loop ---- */

void
task_dump_free(struct task_dump *d)
{
	if (d == NULL)
		return;
	engine_sliced_cancel(&d->run);
	engine_task_walk_free(&d->walk);
	free(d->ids);
	free(d->st);
	task_dump_text_free(d->text);
	if (d->task != NULL) {
		engine_task_done(d->task, "given up: the daemon is stopping");
		engine_task_release(&d->task);
	}
	free(d);
}

static void
task_dump_line(struct task_dump *d, const char *fmt, ...) DP_PRINTF(2, 3);

static void
task_dump_line(struct task_dump *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *line = xvasprintf(fmt, ap);
	va_end(ap);
	struct task_dump_text *t = d->text;
	size_t n = strlen(line) + 1;
	/* a new piece when the line does not fit (dp_buf keeps a byte for its own NUL) */
	if (t->n == 0 || t->pieces[t->n - 1].len + n + 1 > t->pieces[t->n - 1].cap) {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 16;
			t->pieces = xreallocarray(t->pieces, t->cap, sizeof *t->pieces);
		}
		dp_buf_init(&t->pieces[t->n]);
		dp_buf_reserve(&t->pieces[t->n], TASK_DUMP_PIECE - 1);
		t->n++;
	}
	dp_buf_add(&t->pieces[t->n - 1], line, n);
	t->bytes += n;
	free(line);
}

static void
task_dump_task(const struct engine_task_info *ti, void *arg)
{
	struct task_dump *d = arg;
	task_dump_line(d, "task %llu %-8s %-10s %6.1fs %s: %s",
	    (unsigned long long)ti->id, ti->kind_name, ti->state_name,
	    (double)ti->waited_us / 1e6, ti->name, ti->reason);
}

/* The tasks, then the torrents; true when all are in the text. */
static bool
task_dump_step(void *arg, uint64_t budget_us)
{
	struct task_dump *d = arg;
	uint64_t start = dp_now_us();
	if (d->walk != NULL) {
		if (!engine_task_walk_step(d->walk, budget_us, task_dump_task, d))
			return false;
		struct engine_task_walk_counts wc;
		engine_task_walk_counts(d->walk, &wc);
		engine_task_walk_free(&d->walk);
		if (wc.done_skipped > 0)
			task_dump_line(d, "SIGUSR1: %zu finished tasks not listed",
			    wc.done_skipped);
	}
	if (!d->listed) {
		d->listed = true;
		task_dump_line(d, "SIGUSR1: pieces hashed since start: %llu",
		    (unsigned long long)engine_hash_count(d->e));
		/* Ids only (no stats copied): the rows follow a slice at a time. */
		d->nids = engine_torrent_ids(d->e, &d->ids);
		d->st = xmalloc(sizeof *d->st);
	}
	for (size_t done = 0; d->pos < d->nids; done++) {
		if (budget_us != 0 && done > 0 && done % TASK_DUMP_CLOCK_EVERY == 0 &&
		    dp_now_us() - start >= budget_us)
			return false;
		const struct engine_torrent_stats *ts = d->st;
		if (engine_torrent_get(d->e, d->ids[d->pos++], d->st) < 0)
			continue;      /* removed meanwhile */
		d->torrents++;
		task_dump_line(d, "torrent %d %s %s %.1f%% %u/%u pieces%s%s", ts->id,
		    engine_torrent_state_name(ts->state), ts->name, ts->progress * 100,
		    ts->pieces_have, ts->pieces_total, ts->error[0] ? " error: " : "", ts->error);
	}
	return true;
}

/* All gathered: the text to a worker, which writes it to the log. */
static void
task_dump_done(void *arg)
{
	struct task_dump *d = arg;
	d->run = NULL;
	struct task_dump_text *text = d->text;
	d->text = NULL;
	engine_task_done(d->task, "%zu bytes of %zu torrents and the tasks, written to the log on "
	    "the disk pool", text->bytes, d->torrents);
	engine_task_release(&d->task);
	engine_run_blocking(d->e, "SIGUSR1: writing the task table to the log",
	    task_dump_write_work, task_dump_write_done, text);
	if (d->returned) {
		void (*ended)(void *) = d->ended;
		void *ended_arg = d->arg;
		task_dump_free(d);
		ended(ended_arg);
	}
}

struct task_dump *
task_dump_start(struct engine *e, uint64_t slice_us, void (*ended)(void *arg), void *arg)
{
	struct task_dump *d = xcalloc(1, sizeof *d);
	d->e = e;
	d->ended = ended;
	d->arg = arg;
	d->text = xcalloc(1, sizeof *d->text);
	d->task = engine_task_new(e, ENGINE_TASK_KIND_SESSION, 0, "SIGUSR1: the task table to "
	    "the log");
	/* Counts kept by the registry: no walk for the first line. */
	size_t ntasks, nblocked, nidle;
	engine_task_wait_counts(e, &ntasks, &nblocked, &nidle);
	struct engine_loop_health h;
	engine_loop_health(e, &h);
	task_dump_line(d, "SIGUSR1: %zu tasks (%zu blocked, %zu idle by design); loop lag "
	    "%llu us (max %llu us), %llu callbacks/s", ntasks, nblocked, nidle,
	    (unsigned long long)h.lag_us, (unsigned long long)h.lag_max_us,
	    (unsigned long long)h.callbacks_per_sec);
	/* The last minute's slowest callbacks by wall time and by CPU, as `monitor blocked`. */
	for (size_t i = 0; i < h.slowest_count && i < 3; i++) {
		char s[160];
		monitor_format_slow(&h.slowest[i], false, s, sizeof s);
		task_dump_line(d, "SIGUSR1: slow callback %s in task %llu %s", s,
		    (unsigned long long)h.slowest[i].task_id, h.slowest[i].task_name);
	}
	for (size_t i = 0; i < h.heaviest_count && i < 3; i++) {
		char s[160];
		monitor_format_slow(&h.heaviest[i], true, s, sizeof s);
		task_dump_line(d, "SIGUSR1: cpu callback %s in task %llu %s", s,
		    (unsigned long long)h.heaviest[i].task_id, h.heaviest[i].task_name);
	}
	/* As `monitor ps`: finished DONE tasks (one per piece written) are only counted. */
	d->walk = engine_task_walk_new(e, ENGINE_TASK_WALK_NOT_DONE, 0);
	d->run = engine_run_sliced(e, d->task, slice_us > 0 ? slice_us : TASK_DUMP_SLICE_US,
	    task_dump_step, task_dump_done, d, "SIGUSR1: reading the tasks and torrents in slices");
	if (d->run == NULL) {
		task_dump_free(d);
		return NULL;
	}
	d->returned = true;
	return d;
}
