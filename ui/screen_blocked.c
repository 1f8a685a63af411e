/* screen_blocked.c: tasks waiting longer than a threshold, longest first, with reason and where;
 * above them the loop's health: lag, slowest recent callbacks, tasks flagged as spinning. */
#include "config.h"

#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "ui_priv.h"

enum { BC_WAITED, BC_STATE, BC_NAME, BC_REASON, BC_WHERE, BC_COUNT };
static const struct table_col blocked_cols[BC_COUNT] = {
	[BC_WAITED] = { "Waited", 7, 8, TW_RIGHT, 0 },
	[BC_STATE] = { "State", 12, 12, TW_LEFT, 0 },
	[BC_NAME] = { "Task", 16, 30, TW_LEFT, 0 },
	[BC_REASON] = { "Waiting for", 16, 0, TW_LEFT, 0 },
	[BC_WHERE] = { "Where", 12, 28, TW_LEFT, 1 },
};

struct blocked_state {
	struct table_state st;
	struct engine_task_info *tasks;
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

/* Waiting means parked on something: not running, ready, or finished. */
static bool
blocked_is_waiting(const struct dp_task *t)
{
	return t->state != DP_TASK_RUNNING && t->state != DP_TASK_READY &&
	    t->state != DP_TASK_DONE && t->state != DP_TASK_FAILED;
}

static const struct engine_task_info *blocked_base;

static int
blocked_compare(const void *pa, const void *pb)
{
	const struct engine_task_info *a = &blocked_base[*(const size_t *)pa];
	const struct engine_task_info *b = &blocked_base[*(const size_t *)pb];
	/* spinning tasks first, then the longest wait */
	if (a->task.spinning != b->task.spinning)
		return a->task.spinning ? -1 : 1;
	if (a->waited_us != b->waited_us)
		return a->waited_us > b->waited_us ? -1 : 1;
	return a->task.id < b->task.id ? -1 : a->task.id > b->task.id;
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
		snprintf(out, outlen, "%s", i->task.spinning ? "SPINNING" : i->state_name);
		*attr = theme_attr(i->task.spinning ? TH_ERROR : TH_WARN);
		break;
	case BC_NAME: snprintf(out, outlen, "%s", i->task.name); break;
	case BC_REASON:
		snprintf(out, outlen, "%s", i->task.reason[0] ? i->task.reason :
		    task_state_description(i->task.state));
		break;
	case BC_WHERE:
		snprintf(out, outlen, "%s:%d", i->task.where_func ? i->task.where_func : "?",
		    i->task.where_line);
		break;
	default: break;
	}
}

static void
blocked_draw(struct ui *ui, int y, int h)
{
	struct blocked_state *b = blocked_get(ui);
	struct dp_loop_health hl;
	char lag[32], lagmax[32], line[512], d[32];
	int ymax = y + h;
	engine_loop_health(ui->engine, &hl);
	fmt_duration_us(hl.lag_us, lag, sizeof lag);
	fmt_duration_us(hl.lag_max_us, lagmax, sizeof lagmax);
	snprintf(line, sizeof line, " Loop lag %s (max %s in 1 min)  callbacks/s %" PRIu64
	    "  spinning %zu  threshold %ds (+/-)", lag, lagmax, hl.callbacks_per_sec,
	    hl.spinning_count, ui->blocked_threshold_s);
	ui_put(y++, 0, COLS, line, TW_LEFT,
	    hl.lag_max_us > 100000 || hl.spinning_count ? theme_attr(TH_WARN) : (int)A_BOLD);
	/* slowest recent callbacks: at most three lines to leave room for the table */
	size_t shown = DP_MIN(hl.slowest_count, (size_t)3);
	ui_put(y++, 0, COLS, shown ? " Slowest recent callbacks:" : " Slowest recent callbacks: none",
	    TW_LEFT, theme_attr(TH_DIM));
	for (size_t i = 0; i < shown && y < ymax; i++) {
		fmt_duration_us(hl.slowest[i].duration_us, d, sizeof d);
		snprintf(line, sizeof line, "   %8s  task %" PRIu64 "  %s", d, hl.slowest[i].task_id,
		    hl.slowest[i].task_name);
		ui_put(y++, 0, COLS, line, TW_LEFT, 0);
	}

	free(b->tasks);
	free(b->rows);
	b->tasks = NULL;
	b->ntasks = engine_tasks(ui->engine, &b->tasks);
	b->rows = xcalloc(b->ntasks ? b->ntasks : 1, sizeof *b->rows);
	b->nrows = 0;
	uint64_t threshold = (uint64_t)ui->blocked_threshold_s * 1000000u;
	for (size_t i = 0; i < b->ntasks; i++) {
		const struct engine_task_info *t = &b->tasks[i];
		if (t->task.spinning || (blocked_is_waiting(&t->task) && t->waited_us >= threshold))
			b->rows[b->nrows++] = i;
	}
	blocked_base = b->tasks;
	if (b->nrows > 1)
		qsort(b->rows, b->nrows, sizeof *b->rows, blocked_compare);
	b->st.count = (int)b->nrows;
	snprintf(line, sizeof line, " Blocked: %zu task%s waiting longer than %ds (of %zu)", b->nrows,
	    b->nrows == 1 ? "" : "s", ui->blocked_threshold_s, b->ntasks);
	if (y < ymax)
		ui_put(y++, 0, COLS, line, TW_LEFT, A_BOLD);
	struct ui_table_view v = { .cols = blocked_cols, .ncols = BC_COUNT, .st = &b->st,
		.cell = blocked_cell, .arg = b };
	if (ymax - y >= 2)
		b->page = ui_table_draw(ui, &v, y, ymax - y);
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
		ui->blocked_threshold_s = ui->blocked_threshold_s <= 5 ?
		    DP_MAX(ui->blocked_threshold_s - 1, 1) : ui->blocked_threshold_s / 2;
		return true;
	case UI_ACTION_SORT_NEXT:
	case UI_ACTION_SORT_PREV:
	case UI_ACTION_SORT_REVERSE:
		return true;     /* always longest first */
	default:
		return ui_table_action(&b->st, BC_COUNT, a, b->page);
	}
}

static void
blocked_free(struct ui *ui)
{
	if (ui->blocked == NULL)
		return;
	table_state_free(&ui->blocked->st);
	free(ui->blocked->tasks);
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
