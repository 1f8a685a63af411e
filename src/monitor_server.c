/* monitor_server.c: the headless monitor's server side: the session's Unix socket, one task per
 * client, and the command interpreter (ps, blocked, where, log, help) over engine.h snapshots. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "accept_backoff.h"
#include "engine.h"
#include "log.h"
#include "monitor_server.h"
#include "util.h"

#define MONITOR_IDLE_S 600        /* an idle interactive client is closed after this */
/* A command line must be whole this long after its first byte: `downpour monitor` sends whole
 * lines, so a partial one that lingers is a slow client holding a slot. */
#define MONITOR_LINE_S 10
#define MONITOR_FLOOD_LOG_MS 10000
#define MONITOR_LOG_DEFAULT 50
#define MONITOR_LOG_MAX 1000
/* A client that sends commands but never reads the answers ('log 1000' is ~100 KiB each) is
 * closed at this much unread output rather than growing our memory. */
#define MONITOR_MAX_OUTPUT (4u << 20)
/* ps and blocked read every task (20,000 at 10,000 torrents): the server runs them a slice of
 * at most this long per callback, answering between them nothing else from that client. */
#define MONITOR_SLICE_US 4000

/* Command lines queued behind a command answered in slices, at most. */
#define MONITOR_MAX_WAITING (64 << 10)

struct monitor_client {
	struct monitor_server *m;
	struct bufferevent *bev;
	struct engine_task *task;
	uint64_t commands;
	uint64_t active_ms;            /* the last command or the connection */
	struct event *line_deadline;   /* armed while a partial line waits */
	uint64_t line_armed_ms;
	bool line_extended;            /* the deadline came late once and was given another */
	/* a command answered in slices: the lines after it wait in the input until it ends */
	struct monitor_cmd *cmd;
	struct event *slice_ev;
	struct monitor_client *next;
};

struct monitor_server {
	struct event_base *base;
	struct engine *e;
	struct evconnlistener *listener;
	char *path;
	struct engine_task *task;
	struct monitor_client *clients;
	int nclients, max_clients;
	uint64_t flood_logged_ms;
	unsigned evicted, slow;        /* since the last log line */
	uint64_t slice_us;             /* a slice of ps or blocked at most (MONITOR_SLICE_US) */
};

char *
monitor_socket_path(const char *session_dir)
{
	size_t n = strlen(session_dir);
	while (n > 1 && session_dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", (int)n, session_dir, MONITOR_SOCKET_NAME);
}

/* ---- formatting ---- */

static void
monitor_format_duration(uint64_t us, char *out, size_t outlen)
{
	uint64_t s = us / 1000000;
	/* Callbacks take microseconds: below 1 ms a fraction, so they do not all read "0ms". */
	if (us < 1000)
		snprintf(out, outlen, "%.2fms", (double)us / 1e3);
	else if (us < 1000000)
		snprintf(out, outlen, "%llums", (unsigned long long)(us / 1000));
	else if (s < 60)
		snprintf(out, outlen, "%.1fs", (double)us / 1e6);
	else if (s < 3600)
		snprintf(out, outlen, "%llum%02llus", (unsigned long long)(s / 60),
		    (unsigned long long)(s % 60));
	else
		snprintf(out, outlen, "%lluh%02llum", (unsigned long long)(s / 3600),
		    (unsigned long long)(s / 60 % 60));
}

void
monitor_format_slow(const struct engine_slow_callback *c, bool by_cpu, char *out, size_t outlen)
{
	char wall[32], cpu[32], sw[64] = "";
	monitor_format_duration(c->duration_us, wall, sizeof wall);
	if (!c->cpu_measured) {
		snprintf(out, outlen, by_cpu ? "%s wall (cpu not measured)" : "%s", wall);
		return;
	}
	monitor_format_duration(c->cpu_us, cpu, sizeof cpu);
	size_t n = 0;
	if (c->preempted > 0)
		n = (size_t)snprintf(sw, sizeof sw, ", preempted %u", (unsigned)c->preempted);
	if (c->waits > 0 && n < sizeof sw)
		snprintf(sw + n, sizeof sw - n, ", waits %u", (unsigned)c->waits);
	if (by_cpu)
		snprintf(out, outlen, "%s cpu (wall %s%s)", cpu, wall, sw);
	else
		snprintf(out, outlen, "%s (cpu %s%s)", wall, cpu, sw);
}

static void
monitor_task_line(struct dp_buf *out, const struct engine_task_info *ti)
{
	char waited[32];
	monitor_format_duration(ti->waited_us, waited, sizeof waited);
	dp_buf_printf(out, "%6llu  %-12s %-8s %8s %9llu  %s", (unsigned long long)ti->id,
	    ti->state_name, ti->kind_name, waited, (unsigned long long)ti->cycles,
	    ti->name);
	if (ti->reason[0] != '\0')
		dp_buf_printf(out, " -- %s", ti->reason);
	/* A wait with a deadline (a handshake, a tracker reply) says when it gives up. */
	uint64_t now = dp_now_us();
	if (ti->deadline_us > now && ti->finished_us == 0) {
		monitor_format_duration(ti->deadline_us - now, waited, sizeof waited);
		dp_buf_printf(out, " (deadline in %s)", waited);
	}
	/* ps lists waits that are idle by design too; blocked hides them. */
	if (ti->idle && ti->finished_us == 0)
		dp_buf_add_str(out, " [idle]");
	dp_buf_add_str(out, "\n");
}

static void
monitor_task_header(struct dp_buf *out)
{
	dp_buf_printf(out, "%6s  %-12s %-8s %8s %9s  %s\n", "ID", "STATE", "KIND", "WAITED",
	    "CYCLES", "NAME -- REASON");
}

static int
monitor_task_cmp_waited(const void *a, const void *b)
{
	const struct engine_task_info *x = a, *y = b;
	return x->waited_us < y->waited_us ? 1 : x->waited_us > y->waited_us ? -1 : 0;
}

/* ---- commands ---- */

static int
monitor_fail(struct dp_buf *out, const char *fmt, ...) DP_PRINTF(2, 3);

static int
monitor_fail(struct dp_buf *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	out->len = 0;
	dp_buf_add_str(out, msg);
	free(msg);
	return -1;
}

static bool
monitor_parse_u64(const char *s, uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

/* ---- ps and blocked: the registry read in slices ---- */

enum monitor_cmd_kind { MONITOR_CMD_PS, MONITOR_CMD_BLOCKED };

struct monitor_cmd {
	enum monitor_cmd_kind kind;
	char name[16];                 /* for the client's task: what it answers */
	struct engine_task_walk *walk;
	struct dp_buf *out;            /* where ps's lines go (the step's) */
	struct engine_task_info *found;   /* blocked: the tasks it lists */
	size_t nfound, capfound;
	size_t idle_counted;           /* blocked without a walk (NULL walk): the kept idle count */
};

static void
monitor_cmd_free(struct monitor_cmd *cmd)
{
	if (cmd == NULL)
		return;
	engine_task_walk_free(&cmd->walk);
	free(cmd->found);
	free(cmd);
}

static void
monitor_ps_visit(const struct engine_task_info *ti, void *arg)
{
	struct monitor_cmd *cmd = arg;
	monitor_task_line(cmd->out, ti);
}

static void
monitor_blocked_visit(const struct engine_task_info *ti, void *arg)
{
	struct monitor_cmd *cmd = arg;
	if (cmd->nfound == cmd->capfound) {
		cmd->capfound = cmd->capfound ? cmd->capfound * 2 : 64;
		cmd->found = xreallocarray(cmd->found, cmd->capfound, sizeof *cmd->found);
	}
	cmd->found[cmd->nfound++] = *ti;
}

/* Every task; DONE ones (a line per piece written, each lingering a while) only with all.
 * FAILED ones stay: a failure is worth seeing. */
static struct monitor_cmd *
monitor_ps_start(struct engine *e, bool all, struct dp_buf *out)
{
	struct monitor_cmd *cmd = xcalloc(1, sizeof *cmd);
	cmd->kind = MONITOR_CMD_PS;
	snprintf(cmd->name, sizeof cmd->name, "ps%s", all ? " all" : "");
	cmd->walk = engine_task_walk_new(e, all ? ENGINE_TASK_WALK_ALL : ENGINE_TASK_WALK_NOT_DONE,
	    0);
	monitor_task_header(out);
	return cmd;
}

/* The loop's line: lag, callbacks a second, spinning tasks. Health lines start with '#' so
 * that task lines are the ones starting with an id. */
static void
monitor_loop_line(struct dp_buf *out, const struct engine_loop_health *h)
{
	char lag[32], lagmax[32];
	monitor_format_duration(h->lag_us, lag, sizeof lag);
	monitor_format_duration(h->lag_max_us, lagmax, sizeof lagmax);
	dp_buf_printf(out, "# loop: lag %s (max %s in the last minute), %llu callbacks/s, "
	    "%zu spinning\n", lag, lagmax, (unsigned long long)h->callbacks_per_sec,
	    h->spinning_count);
}

/* The slowest callbacks by wall time, then by CPU, at most max of each, with how long ago each
 * ended: a callback slow only because the thread was descheduled shows its small CPU beside
 * the wall time, and is not among the CPU ones. */
static void
monitor_slow_lines(struct dp_buf *out, const struct engine_loop_health *h, size_t max)
{
	uint64_t now = dp_now_us();
	for (int by_cpu = 0; by_cpu < 2; by_cpu++) {
		const struct engine_slow_callback *list = by_cpu ? h->heaviest : h->slowest;
		size_t n = by_cpu ? h->heaviest_count : h->slowest_count;
		for (size_t i = 0; i < n && i < max; i++) {
			char d[160], ago[32];
			monitor_format_slow(&list[i], by_cpu, d, sizeof d);
			monitor_format_duration(now > list[i].when_us ? now - list[i].when_us : 0, ago,
			    sizeof ago);
			dp_buf_printf(out, "# %s callback: %s %s ago in task %llu %s\n",
			    by_cpu ? "cpu" : "slow", d, ago, (unsigned long long)list[i].task_id,
			    list[i].task_name);
		}
	}
}

/* `health`: the loop line and every callback the health keeps (the last minute's slowest by
 * wall time and by CPU), for scripts that want all of them (tests/bench/scale.sh). */
static int
monitor_cmd_health(struct engine *e, struct dp_buf *out)
{
	struct engine_loop_health h;
	engine_loop_health(e, &h);
	monitor_loop_line(out, &h);
	monitor_slow_lines(out, &h, ENGINE_SLOW_CALLBACKS);
	return 0;
}

/* Loop health first (what it was when asked), then the waiting tasks found by the walk. */
static struct monitor_cmd *
monitor_blocked_start(struct engine *e, uint64_t min_s, struct dp_buf *out)
{
	struct engine_loop_health h;
	engine_loop_health(e, &h);
	monitor_loop_line(out, &h);
	struct engine_blocklist_info bl;
	engine_blocklist_get(e, &bl);
	if (bl.enabled)
		dp_buf_printf(out, "# blocklist: %zu ranges, refused %llu connections in, %llu "
		    "addresses out\n", bl.ranges, (unsigned long long)bl.refused_in,
		    (unsigned long long)bl.refused_out);
	monitor_slow_lines(out, &h, 3);
	size_t ntasks, nblocked, nidle;
	engine_task_wait_counts(e, &ntasks, &nblocked, &nidle);
	dp_buf_printf(out, "# tasks: %zu, %zu blocked, %zu idle by design\n", ntasks, nblocked,
	    nidle);
	struct monitor_cmd *cmd = xcalloc(1, sizeof *cmd);
	cmd->kind = MONITOR_CMD_BLOCKED;
	snprintf(cmd->name, sizeof cmd->name, "blocked");
	/* Nothing blocked, nothing spinning, every wait wanted: the kept counts are the answer
	 * (at 10,000 idle seeds, no walk over 20,000 tasks). */
	if (min_s == 0 && nblocked == 0 && h.spinning_count == 0) {
		cmd->idle_counted = nidle;
		return cmd;
	}
	/* Waits that are idle by design (a listener, a stopped torrent, a tracker sleeping until
	 * its next announce) are not stuck: the walk counts them instead of copying them. */
	cmd->walk = engine_task_walk_new(e, ENGINE_TASK_WALK_BLOCKED,
	    min_s > UINT64_MAX / 1000000 ? UINT64_MAX : min_s * 1000000);
	return cmd;
}

static void
monitor_blocked_end(struct monitor_cmd *cmd, struct dp_buf *out)
{
	struct engine_task_walk_counts wc = { .idle_skipped = cmd->idle_counted };
	if (cmd->walk != NULL)
		engine_task_walk_counts(cmd->walk, &wc);
	/* Spinning tasks by name: each is a bug to chase, and it may not be waiting at all. */
	for (size_t i = 0; i < cmd->nfound; i++)
		if (cmd->found[i].spinning && cmd->found[i].finished_us == 0)
			dp_buf_printf(out, "# spinning: task %llu %s (callbacks without progress)\n",
			    (unsigned long long)cmd->found[i].id, cmd->found[i].name);
	dp_buf_printf(out, "# %zu idle task%s hidden (waiting by design; `ps` lists them)\n",
	    wc.idle_skipped, wc.idle_skipped == 1 ? "" : "s");
	if (cmd->nfound > 1)   /* none found: found is NULL, which qsort may not take */
		qsort(cmd->found, cmd->nfound, sizeof *cmd->found, monitor_task_cmp_waited);
	monitor_task_header(out);
	for (size_t i = 0; i < cmd->nfound; i++) {
		monitor_task_line(out, &cmd->found[i]);
		if (cmd->found[i].spinning)
			dp_buf_add_str(out, "#   ^ spinning: callbacks without progress\n");
	}
}

/* One slice (budget_us; 0: to the end); the text it adds goes to out. True when done. */
static bool
monitor_cmd_step(struct monitor_cmd *cmd, uint64_t budget_us, struct dp_buf *out)
{
	bool ended;
	cmd->out = out;
	if (cmd->walk == NULL) {
		monitor_blocked_end(cmd, out);
		return true;
	}
	if (cmd->kind == MONITOR_CMD_PS)
		ended = engine_task_walk_step(cmd->walk, budget_us, monitor_ps_visit, cmd);
	else
		ended = engine_task_walk_step(cmd->walk, budget_us, monitor_blocked_visit, cmd);
	cmd->out = NULL;
	if (!ended)
		return false;
	struct engine_task_walk_counts wc;
	engine_task_walk_counts(cmd->walk, &wc);
	if (cmd->kind == MONITOR_CMD_PS) {
		if (wc.done_skipped > 0)
			dp_buf_printf(out, "# %zu finished task%s hidden (`ps all` lists them)\n",
			    wc.done_skipped, wc.done_skipped == 1 ? "" : "s");
	} else {
		monitor_blocked_end(cmd, out);
	}
	return true;
}

static int
monitor_cmd_where(struct engine *e, uint64_t id, struct dp_buf *out)
{
	struct engine_task_info info;
	if (engine_task_get(e, id, &info) < 0)
		return monitor_fail(out, "no task %llu (finished long ago, or never existed)",
		    (unsigned long long)id);
	const struct engine_task_info *t = &info, *ti = &info;
	char waited[32], age[32];
	monitor_format_duration(ti->waited_us, waited, sizeof waited);
	monitor_format_duration(ti->age_us, age, sizeof age);
	dp_buf_printf(out, "task %llu (%s): %s\n", (unsigned long long)t->id, ti->kind_name,
	    t->name);
	if (t->torrent_id > 0)
		dp_buf_printf(out, "  torrent:   %d\n", t->torrent_id);
	dp_buf_printf(out, "  state:     %s (%s) for %s\n", ti->state_name,
	    engine_task_state_description(t->state), waited);
	if (t->where_func != NULL)
		dp_buf_printf(out, "  parked in: %s() at %s:%d\n", t->where_func,
		    t->where_file ? t->where_file : "?", t->where_line);
	else
		dp_buf_add_str(out, "  parked in: (has not waited yet)\n");
	dp_buf_printf(out, "  waits for: %s\n", t->reason[0] ? t->reason : "(no reason given)");
	if (t->deadline_us > 0) {
		uint64_t now = dp_now_us();
		char d[32];
		monitor_format_duration(t->deadline_us > now ? t->deadline_us - now :
		    now - t->deadline_us, d, sizeof d);
		dp_buf_printf(out, "  deadline:  %s %s\n", t->deadline_us > now ? "in" : "passed",
		    d);
	}
	dp_buf_printf(out, "  cycles:    %llu callbacks, %.1f ms CPU%s\n",
	    (unsigned long long)t->cycles, (double)t->cpu_us / 1000.0,
	    t->spinning ? ", SPINNING" : "");
	dp_buf_printf(out, "  bytes:     %llu in, %llu out\n", (unsigned long long)t->bytes_in,
	    (unsigned long long)t->bytes_out);
	dp_buf_printf(out, "  age:       %s\n", age);
	return 0;
}

static int
monitor_cmd_log(struct engine *e, uint64_t want, struct dp_buf *out)
{
	/* The last `want` lines: read forward in chunks, keeping a ring of the newest. */
	struct dp_log_line *ring = xcalloc(want, sizeof *ring);
	struct dp_log_line chunk[128];
	uint64_t after = 0, total = 0;
	for (int rounds = 0; rounds < 10000; rounds++) {
		size_t n = engine_log_since(e, after, chunk, DP_ARRAY_LEN(chunk));
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			ring[total++ % want] = chunk[i];
		after = chunk[n - 1].seq;
		if (n < DP_ARRAY_LEN(chunk))
			break;
	}
	uint64_t first = total > want ? total - want : 0;
	for (uint64_t i = first; i < total; i++) {
		const struct dp_log_line *l = &ring[i % want];
		time_t when = (time_t)l->when;
		struct tm tm;
		char ts[32] = "?";
		if (localtime_r(&when, &tm) != NULL)
			strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
		dp_buf_printf(out, "%s %-5s %s\n", ts, log_level_name(l->level), l->text);
	}
	free(ring);
	return 0;
}

static const char monitor_help[] =
    "ps [all]        every task: id, state, kind, time in that state, callbacks, name, reason\n"
    "                (finished DONE tasks only with all)\n"
    "blocked [SECS]  loop health, then waiting tasks (at least SECS), longest wait first\n"
    "health          loop health: lag, the last minute's slowest callbacks by wall time (each\n"
    "                with its own CPU time) and by CPU, how long ago each ended\n"
    "where ID        where task ID parked (function, file, line) and what it waits for\n"
    "log [N]         the last N log lines (default 50)\n"
    "help            this list\n"
    "quit            close the connection\n";

/* A command line: -1 with an error in out, 0 answered in out, 1 when *cmdp is a command to
 * finish in slices (monitor_cmd_step), with the start of its answer in out. */
static int
monitor_cmd_start(struct engine *e, const char *line, struct dp_buf *out,
    struct monitor_cmd **cmdp)
{
	char buf[MONITOR_MAX_LINE];
	snprintf(buf, sizeof buf, "%s", line);
	char *save = NULL;
	char *cmd = strtok_r(buf, " \t\r\n", &save);
	char *arg = cmd != NULL ? strtok_r(NULL, " \t\r\n", &save) : NULL;
	char *extra = arg != NULL ? strtok_r(NULL, " \t\r\n", &save) : NULL;
	*cmdp = NULL;
	if (cmd == NULL)
		return 0;
	if (extra != NULL)
		return monitor_fail(out, "too many arguments to '%s' (try 'help')", cmd);
	uint64_t n = 0;
	if (strcmp(cmd, "ps") == 0) {
		if (arg != NULL && strcmp(arg, "all") != 0)
			return monitor_fail(out, "ps takes no argument but 'all'");
		*cmdp = monitor_ps_start(e, arg != NULL, out);
		return 1;
	}
	if (strcmp(cmd, "blocked") == 0) {
		if (arg != NULL && !monitor_parse_u64(arg, &n))
			return monitor_fail(out, "blocked: '%s' is not a number of seconds", arg);
		*cmdp = monitor_blocked_start(e, n, out);
		return 1;
	}
	if (strcmp(cmd, "health") == 0) {
		if (arg != NULL)
			return monitor_fail(out, "health takes no argument");
		return monitor_cmd_health(e, out);
	}
	if (strcmp(cmd, "where") == 0) {
		if (!monitor_parse_u64(arg, &n))
			return monitor_fail(out, "usage: where ID (a task id from ps)");
		return monitor_cmd_where(e, n, out);
	}
	if (strcmp(cmd, "log") == 0) {
		n = MONITOR_LOG_DEFAULT;
		if (arg != NULL && (!monitor_parse_u64(arg, &n) || n == 0 || n > MONITOR_LOG_MAX))
			return monitor_fail(out, "log: want a line count from 1 to %d",
			    MONITOR_LOG_MAX);
		return monitor_cmd_log(e, n, out);
	}
	if (strcmp(cmd, "help") == 0) {
		dp_buf_add_str(out, monitor_help);
		return 0;
	}
	return monitor_fail(out, "unknown command '%.60s' (try 'help')", cmd);
}

int
monitor_run_command(struct engine *e, const char *line, struct dp_buf *out)
{
	struct monitor_cmd *cmd;
	int rc = monitor_cmd_start(e, line, out, &cmd);
	if (rc != 1)
		return rc;
	while (!monitor_cmd_step(cmd, 0, out))
		;
	monitor_cmd_free(cmd);
	return 0;
}

/* ---- clients ---- */

static void
monitor_client_free(struct monitor_client *c, const char *why)
{
	struct monitor_server *m = c->m;
	for (struct monitor_client **pp = &m->clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	m->nclients--;
	event_free(c->line_deadline);
	event_free(c->slice_ev);
	monitor_cmd_free(c->cmd);
	engine_task_done(c->task, "%s after %llu command%s", why, (unsigned long long)c->commands,
	    c->commands == 1 ? "" : "s");
	engine_task_release(&c->task);
	bufferevent_free(c->bev);
	free(c);
}

/* Answer text, dot-stuffed (a line starting with '.' gets another): whole runs between such
 * lines go in one piece (ps at 10,000 torrents is 20,000 lines). A last line without its
 * newline gets one. */
static void
monitor_client_text(struct monitor_client *c, const struct dp_buf *text)
{
	struct evbuffer *o = bufferevent_get_output(c->bev);
	/* An empty answer's data may be NULL, and NULL + 0 is undefined (UBSan in the task suite). */
	const char *p = text->len > 0 ? (const char *)text->data : "", *end = p + text->len;
	while (p < end) {
		if (*p == '.')
			evbuffer_add(o, ".", 1);
		const char *dot = p + 1 < end ? memmem(p + 1, (size_t)(end - p - 1), "\n.", 2) : NULL;
		const char *stop = dot != NULL ? dot + 1 : end;
		evbuffer_add(o, p, (size_t)(stop - p));
		p = stop;
	}
	if (text->len > 0 && text->data[text->len - 1] != '\n')
		evbuffer_add(o, "\n", 1);
	engine_task_progress(c->task, 0, text->len);
}

/* Ends an answer: the error line for a failed command (text is the error), or the end marker
 * after the text. */
static void
monitor_client_answer(struct monitor_client *c, int rc, const struct dp_buf *text)
{
	struct evbuffer *o = bufferevent_get_output(c->bev);
	if (rc < 0) {
		evbuffer_add_printf(o, "%s%.*s\n", MONITOR_ERR, (int)text->len,
		    (const char *)text->data);
		engine_task_progress(c->task, 0, text->len);
	} else {
		monitor_client_text(c, text);
	}
	evbuffer_add_printf(o, "%s\n", MONITOR_END);
}

/* One line per interval for the clients the cap and the line deadline closed. */
static void
monitor_flood_log(struct monitor_server *m)
{
	uint64_t now = dp_now_ms();
	if ((m->flood_logged_ms != 0 && now - m->flood_logged_ms < MONITOR_FLOOD_LOG_MS) ||
	    (m->evicted == 0 && m->slow == 0))
		return;
	log_warn("monitor: closed %u client%s idle longest to stay within %d (monitor_max_clients) "
	    "and %u that left a command line unfinished for %d s, in the last %d s", m->evicted,
	    m->evicted == 1 ? "" : "s", m->max_clients, m->slow, MONITOR_LINE_S,
	    MONITOR_FLOOD_LOG_MS / 1000);
	m->flood_logged_ms = now;
	m->evicted = 0;
	m->slow = 0;
}

static void
monitor_line_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct monitor_client *c = arg;
	struct monitor_server *m = c->m;
	(void)fd;
	(void)what;
	if (!c->line_extended && accept_deadline_late(c->line_armed_ms, MONITOR_LINE_S * 1000)) {
		c->line_extended = true;
		struct timeval tv = { MONITOR_LINE_S, 0 };
		evtimer_add(c->line_deadline, &tv);
		return;
	}
	m->slow++;
	monitor_client_free(c, "command line unfinished");
	monitor_flood_log(m);
}

/* Closes a client that does not read its answers; true when it did. */
static bool
monitor_client_check_output(struct monitor_client *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) <= MONITOR_MAX_OUTPUT)
		return false;
	engine_task_cb_end(c->task);
	log_warn("monitor: a client does not read its answers (over %u MiB queued)",
	    MONITOR_MAX_OUTPUT >> 20);
	monitor_client_free(c, "does not read its answers");
	return true;
}

/* Runs the client's command lines, inside a callback of its task; a command answered in slices
 * stops it until its last slice (monitor_client_slice_cb). Ends the callback; true when it
 * freed the client. */
static bool
monitor_client_serve(struct monitor_client *c)
{
	struct bufferevent *bev = c->bev;
	struct evbuffer *in = bufferevent_get_input(bev);
	c->active_ms = dp_now_ms();
	while (c->cmd == NULL) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_ANY);
		if (line == NULL) {
			if (evbuffer_get_length(in) > MONITOR_MAX_LINE) {
				engine_task_cb_end(c->task);
				log_warn("monitor: a client sent a line over %d bytes", MONITOR_MAX_LINE);
				monitor_client_free(c, "line too long");
				return true;
			}
			break;
		}
		c->commands++;
		engine_task_progress(c->task, len + 1, 0);
		bool quit = strcmp(line, "quit") == 0 || strcmp(line, "exit") == 0;
		struct dp_buf text;
		dp_buf_init(&text);
		int rc = quit ? 0 : monitor_cmd_start(c->m->e, line, &text, &c->cmd);
		free(line);
		if (rc == 1) {
			/* The first slice now; the rest on zero timeouts, so the loop polls between. */
			bool ended = monitor_cmd_step(c->cmd, c->m->slice_us, &text);
			if (ended) {
				monitor_cmd_free(c->cmd);
				c->cmd = NULL;
				rc = 0;
			} else {
				monitor_client_text(c, &text);
				dp_buf_free(&text);
				event_add(c->slice_ev, &(struct timeval){ 0, 0 });
				engine_task_wait(c->task, ENGINE_TASK_SLICE_WAIT,
				    "answering command %llu (%s) in slices",
				    (unsigned long long)c->commands, c->cmd->name);
				if (monitor_client_check_output(c))
					return true;
				engine_task_cb_end(c->task);
				return false;
			}
		}
		monitor_client_answer(c, rc, &text);
		dp_buf_free(&text);
		if (monitor_client_check_output(c))
			return true;
		if (quit) {
			/* Close once the end marker is out. */
			bufferevent_disable(bev, EV_READ);
			engine_task_wait(c->task, ENGINE_TASK_WRITE_WAIT,
			    "sending the last answer before closing");
			engine_task_cb_end(c->task);
			return false;
		}
	}
	if (c->cmd != NULL) {
		engine_task_cb_end(c->task);
		return false;
	}
	if (evbuffer_get_length(in) == 0) {
		evtimer_del(c->line_deadline);
	} else if (!evtimer_pending(c->line_deadline, NULL)) {
		c->line_armed_ms = dp_now_ms();
		c->line_extended = false;
		struct timeval tv = { MONITOR_LINE_S, 0 };
		evtimer_add(c->line_deadline, &tv);
	}
	engine_task_idle(c->task, ENGINE_TASK_READ_WAIT, "waiting for command %llu",
	    (unsigned long long)c->commands + 1);
	engine_task_cb_end(c->task);
	return false;
}

static void
monitor_client_read_cb(struct bufferevent *bev, void *arg)
{
	struct monitor_client *c = arg;
	/* Lines that come during a command in slices wait for its end, up to a bound. */
	if (c->cmd != NULL) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) > MONITOR_MAX_WAITING) {
			log_warn("monitor: a client sent over %d KiB of commands during one answer",
			    MONITOR_MAX_WAITING >> 10);
			monitor_client_free(c, "too many commands at once");
		}
		return;
	}
	engine_task_cb_begin(c->task);
	monitor_client_serve(c);
}

/* The next slice of a command (ps, blocked); at its end the lines that came meanwhile. */
static void
monitor_client_slice_cb(evutil_socket_t fd, short what, void *arg)
{
	struct monitor_client *c = arg;
	(void)fd;
	(void)what;
	engine_task_cb_begin(c->task);
	struct dp_buf text;
	dp_buf_init(&text);
	bool ended = monitor_cmd_step(c->cmd, c->m->slice_us, &text);
	if (!ended) {
		monitor_client_text(c, &text);
		dp_buf_free(&text);
		event_add(c->slice_ev, &(struct timeval){ 0, 0 });
		engine_task_wait(c->task, ENGINE_TASK_SLICE_WAIT, "answering command %llu (%s) in "
		    "slices", (unsigned long long)c->commands, c->cmd->name);
		if (!monitor_client_check_output(c))
			engine_task_cb_end(c->task);
		return;
	}
	monitor_cmd_free(c->cmd);
	c->cmd = NULL;
	monitor_client_answer(c, 0, &text);
	dp_buf_free(&text);
	if (monitor_client_check_output(c))
		return;
	monitor_client_serve(c);
}

static void
monitor_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct monitor_client *c = arg;
	/* Output drained: after "quit" (reading disabled) the client is done. */
	if (!(bufferevent_get_enabled(bev) & EV_READ))
		monitor_client_free(c, "quit");
}

static void
monitor_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct monitor_client *c = arg;
	(void)bev;
	if (what & BEV_EVENT_EOF)
		monitor_client_free(c, "disconnected");
	else if (what & BEV_EVENT_TIMEOUT)
		monitor_client_free(c, "idle timeout");
	else if (what & BEV_EVENT_ERROR)
		monitor_client_free(c, strerror(EVUTIL_SOCKET_ERROR()));
}

static void
monitor_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct monitor_server *m = arg;
	(void)l;
	(void)sa;
	(void)salen;
	engine_task_cb_begin(m->task);
	if (m->nclients >= m->max_clients) {
		/* The client idle longest makes room (a few dozen at most to look at): idle
		 * connections from a flood must not lock the user out of their own daemon. */
		struct monitor_client *old = NULL;
		for (struct monitor_client *x = m->clients; x != NULL; x = x->next)
			if ((bufferevent_get_enabled(x->bev) & EV_READ) &&
			    (old == NULL || x->active_ms < old->active_ms))
				old = x;
		if (old != NULL) {
			m->evicted++;
			monitor_client_free(old, "closed to make room for a new client");
			monitor_flood_log(m);
		}
	}
	if (m->nclients >= m->max_clients) {
		static const char busy[] = "ERR too many monitor clients\n.\n";
		if (write(fd, busy, sizeof busy - 1) < 0)
			log_debug("monitor: can't tell a client we are busy: %s", strerror(errno));
		evutil_closesocket(fd);
		engine_task_cb_end(m->task);
		return;
	}
	struct bufferevent *bev = bufferevent_socket_new(m->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_error("monitor: can't set up a client connection");
		evutil_closesocket(fd);
		engine_task_cb_end(m->task);
		return;
	}
	struct monitor_client *c = xcalloc(1, sizeof *c);
	c->m = m;
	c->bev = bev;
	c->task = engine_task_new(m->e, ENGINE_TASK_KIND_UI, 0, "monitor client");
	c->active_ms = dp_now_ms();
	c->line_deadline = evtimer_new(m->base, monitor_line_deadline_cb, c);
	c->slice_ev = evtimer_new(m->base, monitor_client_slice_cb, c);
	engine_task_idle(c->task, ENGINE_TASK_READ_WAIT, "waiting for command 1");
	c->next = m->clients;
	m->clients = c;
	m->nclients++;
	struct timeval idle = { MONITOR_IDLE_S, 0 };
	bufferevent_set_timeouts(bev, &idle, &idle);
	bufferevent_setcb(bev, monitor_client_read_cb, monitor_client_write_cb,
	    monitor_client_event_cb, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	engine_task_cb_end(m->task);
	engine_task_idle(m->task, ENGINE_TASK_READ_WAIT,
	    "waiting for monitor clients (%d connected)", m->nclients);
}

/* ---- life cycle ---- */

/* A socket file no process answers on is left over from a crash: remove it. Returns -1 when a
 * live server answers there. */
static int
monitor_clear_stale(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0) {
		snprintf(err, errlen, "monitor: socket: %s", strerror(errno));
		return -1;
	}
	int rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another daemon answers on it", path);
		return -1;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: can't remove the stale socket: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
monitor_listen_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "%s: path too long for a Unix socket (%zu bytes at most)", path,
		    sizeof sun.sun_path - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (monitor_clear_stale(path, &sun, err, errlen) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", path, strerror(errno));
		return -1;
	}
	/* fchmod before bind makes the file 0600 from the start on Linux; chmod after is the
	 * portable guarantee. */
	if (fchmod(fd, 0600) < 0)
		log_debug("monitor: fchmod on the socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || chmod(path, 0600) < 0 ||
	    evutil_make_socket_nonblocking(fd) < 0 || listen(fd, 8) < 0) {
		snprintf(err, errlen, "%s: can't listen: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

bool
monitor_peer_is_us(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof cred &&
	    cred.uid == geteuid();
}

struct monitor_server *
monitor_server_new(struct event_base *base, struct engine *e, const char *session_dir,
    char *err, size_t errlen)
{
	char *path = monitor_socket_path(session_dir);
	int fd = monitor_listen_socket(path, err, errlen);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	struct monitor_server *m = xcalloc(1, sizeof *m);
	m->base = base;
	m->e = e;
	m->path = path;
	m->max_clients = accept_cap_from_fd_limit(0, MONITOR_CLIENTS_FLOOR, MONITOR_CLIENTS_CEILING);
	m->slice_us = MONITOR_SLICE_US;
	m->listener = evconnlistener_new(base, monitor_accept_cb, m, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (m->listener == NULL) {
		snprintf(err, errlen, "%s: can't watch the socket", path);
		close(fd);
		unlink(path);
		free(path);
		free(m);
		return NULL;
	}
	accept_backoff_watch(base, m->listener, "monitor");
	m->task = engine_task_new(m->e, ENGINE_TASK_KIND_UI, 0, "monitor server %s", path);
	engine_task_idle(m->task, ENGINE_TASK_READ_WAIT, "waiting for monitor clients");
	log_info("monitor: listening on %s", path);
	return m;
}

void
monitor_server_set_max_clients(struct monitor_server *m, int max_clients)
{
	m->max_clients = accept_cap_from_fd_limit(max_clients, MONITOR_CLIENTS_FLOOR,
	    MONITOR_CLIENTS_CEILING);
}

void
monitor_server_set_slice_us(struct monitor_server *m, uint64_t us)
{
	m->slice_us = us > 0 ? us : MONITOR_SLICE_US;
}

void
monitor_server_free(struct monitor_server *m)
{
	if (m == NULL)
		return;
	while (m->clients != NULL)
		monitor_client_free(m->clients, "server stopped");
	accept_backoff_forget(m->listener);
	evconnlistener_free(m->listener);
	if (unlink(m->path) < 0 && errno != ENOENT)
		log_warn("monitor: can't remove %s: %s", m->path, strerror(errno));
	engine_task_done(m->task, "stopped");
	engine_task_release(&m->task);
	free(m->path);
	free(m);
}
