/* screen_blocked.c: tasks waiting longer than a threshold, longest first, with reason and where;
 * above them the loop's health: lag, slowest recent callbacks (wall time, with each one's own CPU
 * time), the ones with the most CPU, tasks flagged as spinning. */
#include "config.h"

#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "draw.h"
#include "screens.h"
#include "theme.h"
#include "ui_state.h"

enum { BC_WAITED, BC_STATE, BC_NAME, BC_REASON, BC_WHERE, BC_COUNT };
static const struct table_col blocked_cols[BC_COUNT] = {
	[BC_WAITED] = { "Waited", 7, 8, TW_RIGHT, 0, 0, NULL },
	[BC_STATE] = { "State", 12, 12, TW_LEFT, 0, 0, NULL },
	[BC_NAME] = { "Task", 16, 44, TW_LEFT, 0, 0, NULL },
	[BC_REASON] = { "Waiting for", 16, 0, TW_LEFT, 0, 0, NULL },
	[BC_WHERE] = { "Where", 12, 36, TW_LEFT, 1, 0, NULL },
};

struct blocked_state {
	struct table_state st;
	const struct engine_task_info *tasks;   /* the client's (client_tasks) */
	size_t ntasks;
	size_t *rows;
	size_t nrows;
	int page;
};

static struct blocked_state *
blocked_get(struct ui *ui)
{
	if (ui->blocked == NULL) {
		ui->blocked = xcalloc(1, sizeof *ui->blocked);
		ui->blocked->st.sel = -1;
	}
	return ui->blocked;
}

/* A task that finished keeps its last spin flag while it lingers: that is history, not now. */
static bool
blocked_is_spinning(const struct engine_task_info *t)
{
	return t->spinning && t->finished_us == 0;
}

static const struct engine_task_info *blocked_base;

static int
blocked_compare(const void *pa, const void *pb)
{
	const struct engine_task_info *a = &blocked_base[*(const size_t *)pa];
	const struct engine_task_info *b = &blocked_base[*(const size_t *)pb];
	/* spinning tasks first, then the longest wait */
	if (a->spinning != b->spinning)
		return a->spinning ? -1 : 1;
	if (a->waited_us != b->waited_us)
		return a->waited_us > b->waited_us ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static void
blocked_cell(struct ui *ui, void *arg, int row, int col, char *out, size_t outlen, int *attr)
{
	struct blocked_state *b = arg;
	const struct engine_task_info *i = &b->tasks[b->rows[row]];
	(void)ui;
	switch (col) {
	case BC_WAITED: fmt_duration_us(i->waited_us, out, outlen); break;
	case BC_STATE:
		snprintf(out, outlen, "%s", i->spinning ? "SPINNING" : i->state_name);
		*attr = theme_attr(i->spinning ? TH_ERROR : TH_WARN);
		break;
	case BC_NAME: snprintf(out, outlen, "%s", i->name); break;
	case BC_REASON: {
		int n = snprintf(out, outlen, "%s", i->reason[0] ? i->reason :
		    engine_task_state_description(i->state));
		uint64_t now = dp_now_us();
		if (i->deadline_us > now && n > 0 && (size_t)n < outlen) {
			char d[32];
			fmt_duration_us(i->deadline_us - now, d, sizeof d);
			snprintf(out + n, outlen - (size_t)n, " (deadline in %s)", d);
		}
		break;
	}
	case BC_WHERE:
		snprintf(out, outlen, "%s:%d", i->where_func ? i->where_func : "?",
		    i->where_line);
		break;
	default: break;
	}
}

/* Appends sep and entry to line when they fit in cells; the first entry (first) is always
 * taken, and cut by draw_text if it must be. */
static bool
blocked_append(char *line, size_t linelen, int cells, const char *sep, const char *entry,
    bool first)
{
	size_t len = strlen(line);
	if (!first && tw_width(line) + tw_width(sep) + tw_width(entry) > cells)
		return false;
	snprintf(line + len, linelen - len, "%s%s", sep, entry);
	return true;
}

/* A task's name in the health lines: cut so the next one still shows. */
#define BLOCKED_NAME_CELLS (COLS >= 160 ? 60 : 36)

/* One line of callbacks after title, as many as fit, first the one that cost most; a long name
 * is cut so the next one still shows. by_cpu: the list ranked by CPU time (each entry gives it);
 * else by wall time (each entry gives it, and its CPU when measured). Warns past 100 ms of wall
 * time or 20 ms of CPU (the loop's budget for one callback). */
static int
blocked_draw_callbacks(int y, int ymax, const char *title, const struct engine_slow_callback *cb,
    size_t n, bool by_cpu, const char *sep)
{
	char line[1024], d[32], cpu[32], name[160], entry[240];
	snprintf(line, sizeof line, "%s", title);
	for (size_t i = 0; i < n; i++) {
		fmt_duration_us(cb[i].duration_us, d, sizeof d);
		fmt_duration_us(cb[i].cpu_us, cpu, sizeof cpu);
		tw_truncate(cb[i].task_name, BLOCKED_NAME_CELLS, name, sizeof name);
		if (by_cpu)
			snprintf(entry, sizeof entry, "%s %s", cpu, name);
		else if (cb[i].cpu_measured)
			snprintf(entry, sizeof entry, "%s (cpu %s) %s", d, cpu, name);
		else
			snprintf(entry, sizeof entry, "%s %s", d, name);
		if (!blocked_append(line, sizeof line, COLS - 1, i ? sep : " ", entry, i == 0))
			break;
	}
	if (n == 0)
		blocked_append(line, sizeof line, COLS - 1, " ", "none in the last minute", true);
	bool warn = n > 0 && (by_cpu ? cb[0].cpu_us > 20000 : cb[0].duration_us > 100000);
	if (y < ymax)
		draw_text(y++, 0, COLS, line, TW_LEFT, warn ? theme_attr(TH_WARN) : theme_attr(TH_DIM));
	return y;
}

/* The loop's health in four lines that fit 80 cells and use the room of wider terminals:
 * lag now and at worst, slowest recent callbacks (wall time, its CPU, task), the ones with the
 * most CPU (a callback slow only because the thread was descheduled is not among them),
 * spinning tasks by name. */
static int
blocked_draw_health(struct ui *ui, const struct blocked_state *b, int y, int ymax)
{
	struct engine_loop_health hl;
	char lag[32], lagmax[32], line[1024], name[160];
	const char *sep = tw_ascii() ? " | " : " \xc2\xb7 ";
	client_loop_health(ui->client, &hl);
	fmt_duration_us(hl.lag_us, lag, sizeof lag);
	fmt_duration_us(hl.lag_max_us, lagmax, sizeof lagmax);
	snprintf(line, sizeof line, " Loop lag %s, max %s in 1 min%s%" PRIu64 " callbacks/s%s"
	    "threshold %ds (+/-)", lag, lagmax, sep, hl.callbacks_per_sec, sep,
	    ui->blocked_threshold_s);
	if (y < ymax)
		draw_text(y++, 0, COLS, line, TW_LEFT,
		    hl.lag_max_us > 100000 ? theme_attr(TH_WARN) : (int)A_BOLD);

	/* Slowest by wall time, then most CPU: the callbacks that were long by their own work
	 * (none from a daemon of before, which does not send them). */
	y = blocked_draw_callbacks(y, ymax, " Slowest callbacks:", hl.slowest, hl.slowest_count,
	    false, sep);
	y = blocked_draw_callbacks(y, ymax, " Most CPU:", hl.heaviest, hl.heaviest_count, true,
	    sep);

	/* Spinning: callbacks without progress; named, since each is a bug to chase. */
	size_t nspin = 0;
	for (size_t i = 0; i < b->ntasks; i++)
		nspin += blocked_is_spinning(&b->tasks[i]);
	if (nspin == 0) {
		snprintf(line, sizeof line, " Spinning: none");
	} else {
		snprintf(line, sizeof line, " Spinning %zu (callbacks, no progress):", nspin);
		bool first = true;
		for (size_t i = 0; i < b->ntasks; i++) {
			if (!blocked_is_spinning(&b->tasks[i]))
				continue;
			tw_truncate(b->tasks[i].name, BLOCKED_NAME_CELLS, name, sizeof name);
			if (!blocked_append(line, sizeof line, COLS - 1, first ? " " : sep, name, first))
				break;
			first = false;
		}
	}
	if (y < ymax)
		draw_text(y++, 0, COLS, line, TW_LEFT, nspin ? theme_attr(TH_ERROR) : theme_attr(TH_DIM));
	return y;
}

static void
blocked_draw(struct ui *ui, int y, int h)
{
	struct blocked_state *b = blocked_get(ui);
	char line[512];
	int ymax = y + h;

	free(b->rows);
	b->tasks = NULL;
	b->ntasks = client_tasks(ui->client, &b->tasks);
	b->rows = xcalloc(b->ntasks ? b->ntasks : 1, sizeof *b->rows);
	b->nrows = 0;
	y = blocked_draw_health(ui, b, y, ymax);

	/* Waits that are idle by design (listener, stopped torrents, trackers sleeping until the
	 * next announce, servers waiting for clients) are not stuck: counted, not listed. */
	uint64_t threshold = (uint64_t)ui->blocked_threshold_s * 1000000u;
	size_t hidden = 0;
	for (size_t i = 0; i < b->ntasks; i++) {
		const struct engine_task_info *t = &b->tasks[i];
		bool long_wait = t->waited_us >= threshold;
		if (blocked_is_spinning(t) || (t->blocked && long_wait))
			b->rows[b->nrows++] = i;
		else if (t->idle && t->finished_us == 0 && long_wait)
			hidden++;
	}
	blocked_base = b->tasks;
	if (b->nrows > 1)
		qsort(b->rows, b->nrows, sizeof *b->rows, blocked_compare);
	/* The order is fixed (spinning, then the longest wait): the header's arrow says so, and
	 * the sort keys, which moved the arrow without reordering anything, leave it there. */
	b->st.sort_col = BC_WAITED;
	b->st.sort_desc = true;
	b->st.count = (int)b->nrows;
	char idle[64] = "";
	if (hidden > 0)
		snprintf(idle, sizeof idle, ", %zu idle task%s hidden", hidden,
		    hidden == 1 ? "" : "s");
	if (ui->blocked_threshold_s > 0)
		snprintf(line, sizeof line, " Blocked: %zu task%s waiting longer than %ds (of %zu)%s",
		    b->nrows, b->nrows == 1 ? "" : "s", ui->blocked_threshold_s, b->ntasks, idle);
	else
		snprintf(line, sizeof line, " Blocked: %zu task%s waiting, however briefly (of %zu)%s",
		    b->nrows, b->nrows == 1 ? "" : "s", b->ntasks, idle);
	if (y < ymax)
		draw_text(y++, 0, COLS, line, TW_LEFT, A_BOLD);
	/* The reason is what matters: on narrow screens names give up room to it. */
	struct table_col cols[BC_COUNT];
	memcpy(cols, blocked_cols, sizeof cols);
	cols[BC_NAME].max = COLS >= 160 ? 44 : COLS >= 120 ? 32 : 24;
	struct draw_table_view v = { .cols = cols, .ncols = BC_COUNT, .st = &b->st,
		.cell = blocked_cell, .arg = b };
	if (ymax - y >= 2)
		b->page = draw_table(ui, &v, y, ymax - y);
	ui->page = b->page;
}

static bool
blocked_action(struct ui *ui, enum ui_action a)
{
	struct blocked_state *b = blocked_get(ui);
	switch (a) {
	case UI_ACTION_THRESHOLD_UP:
		ui->blocked_threshold_s = ui->blocked_threshold_s < 5 ? ui->blocked_threshold_s + 1 :
		    DP_MIN(ui->blocked_threshold_s * 2, 86400);
		return true;
	case UI_ACTION_THRESHOLD_DOWN:
		/* 0 lists every waiting task, even a wait of a few milliseconds (backpressure). */
		ui->blocked_threshold_s = ui->blocked_threshold_s <= 5 ?
		    DP_MAX(ui->blocked_threshold_s - 1, 0) : ui->blocked_threshold_s / 2;
		return true;
	case UI_ACTION_SORT_NEXT:
	case UI_ACTION_SORT_PREV:
	case UI_ACTION_SORT_REVERSE:
		return true;     /* always longest first */
	default:
		return draw_table_action(&b->st, NULL, BC_COUNT, a, b->page);
	}
}

static void
blocked_free(struct ui *ui)
{
	if (ui->blocked == NULL)
		return;
	table_state_free(&ui->blocked->st);
	free(ui->blocked->rows);
	free(ui->blocked);
	ui->blocked = NULL;
}

const struct ui_screen screen_blocked = {
	.title = "Blocked",
	.ctx = KCTX_BLOCKED,
	.draw = blocked_draw,
	.action = blocked_action,
	.free = blocked_free,
};
