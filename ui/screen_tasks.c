/* screen_tasks.c: the task monitor (like curio's `ps`): id, state, waited, cycles, CPU,
 * deadline, name, torrent; live tasks only unless finished ones are asked for, a count per kind,
 * sortable, filtered by kind and torrent; Enter shows `where`. */
#include "config.h"

#include <curses.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "columns.h"
#include "draw.h"
#include "screens.h"
#include "theme.h"
#include "ui_state.h"
#include "widget_chooser.h"
#include "widget_prompt.h"

/* A row: what the sort compares, copied out of the task (a task is ~450 bytes, and 20,000 of
 * them compared in place missed the cache at every comparison), and where the task is. */
struct tasks_row {
	uint64_t key;            /* the sort column's number */
	const char *text;        /* or its text (kind and state names are static, names the
	                            client's), NULL for a number */
	uint64_t id;
	size_t at;               /* in tasks */
};

struct tasks_state {
	struct table_state st;
	const struct engine_task_info *tasks;   /* the client's (client_tasks) */
	size_t ntasks;
	struct tasks_row *rows;  /* only the rows shown, [st.top, st.top + page), are in order */
	size_t nrows, caprows;
	/* the selected task and its row when last put in order: a selection that has not moved
	 * since stays on its task; one that moved is a place in the order */
	uint64_t sel_id;
	int sel_row;
	int kind;                /* -1 all */
	int torrent;             /* 0 all */
	bool show_finished;      /* DONE and FAILED linger ~10 s; hidden unless asked for */
	size_t nfinished;        /* finished tasks matching the torrent filter */
	size_t nfailed;
	size_t kind_count[ENGINE_TASK_KIND_COUNT];  /* rows per kind before the kind filter */
	char search[128];
	uint64_t detail_id;      /* the task whose `where` is open, 0 none */
	int page;
};

static struct tasks_state *
tasks_get(struct ui *ui)
{
	if (ui->tasks == NULL) {
		ui->tasks = xcalloc(1, sizeof *ui->tasks);
		ui->tasks->st.sel = -1;
		ui->tasks->kind = -1;
		ui_sort_apply(ui, UCS_TASKS, &ui->tasks->st);
	}
	return ui->tasks;
}

static bool tasks_sort_desc;

#define TASKS_CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

/* The sort column's value of k, as a number or a text. */
static void
tasks_row_key(int col, const struct engine_task_info *k, struct tasks_row *r)
{
	r->text = NULL;
	r->key = 0;
	switch (col) {
	case TK_KIND: r->key = (uint64_t)k->kind; break;
	case TK_STATE: r->text = k->state_name != NULL ? k->state_name : ""; break;
	case TK_WAITED: r->key = k->waited_us; break;
	case TK_CYCLES: r->key = k->cycles; break;
	case TK_CPU: r->key = k->cpu_us; break;
	case TK_DEADLINE: r->key = k->deadline_us - 1; break;     /* none (0) last */
	case TK_NAME: r->text = k->name; break;
	case TK_TORRENT: r->key = (uint64_t)(uint32_t)k->torrent_id; break;
	default: break;
	}
}

static int
tasks_compare(const void *pa, const void *pb)
{
	const struct tasks_row *a = pa, *b = pb;
	int c = a->text != NULL && b->text != NULL ? strcmp(a->text, b->text) :
	    TASKS_CMP(a->key, b->key);
	if (c == 0)
		c = TASKS_CMP(a->id, b->id);
	return tasks_sort_desc ? -c : c;
}

static bool
tasks_finished(const struct engine_task_info *k)
{
	return k->state == ENGINE_TASK_DONE || k->state == ENGINE_TASK_FAILED;
}

/* Puts in order the page of rows that shows, the selection kept on the page (page rows from
 * the top); the selected task is noted. */
static void
tasks_order(struct tasks_state *t, int page)
{
	table_set_count(&t->st, (int)t->nrows, page);
	size_t top = (size_t)DP_MAX(t->st.top, 0);
	tasks_sort_desc = t->st.sort_desc;
	if (t->nrows > 1)
		table_partial_sort(t->rows, t->nrows, sizeof *t->rows, top, top + (size_t)page,
		    tasks_compare);
	t->sel_row = t->st.sel;
	t->sel_id = t->st.sel >= 0 && (size_t)t->st.sel < t->nrows ? t->rows[t->st.sel].id : 0;
}

/*
 * Reads the tasks, filters them and puts in order only the page that shows: at 10,000 torrents
 * the registry holds 20,000 tasks, and a whole sort of them at every refresh and every key was
 * most of the screen's CPU. A selection left where it was stays on its task: its place is the
 * count of the rows before it.
 */
static void
tasks_fetch(struct ui *ui, struct tasks_state *t, int page)
{
	struct tasks_row sel = { .id = t->sel_id };
	bool follow = t->sel_id != 0 && t->st.sel == t->sel_row;
	t->tasks = NULL;
	t->ntasks = client_tasks(ui->client, &t->tasks);
	if (t->caprows < t->ntasks) {
		t->caprows = t->ntasks + t->ntasks / 4;
		t->rows = xreallocarray(t->rows, t->caprows, sizeof *t->rows);
	}
	t->nrows = 0;
	t->nfinished = t->nfailed = 0;
	memset(t->kind_count, 0, sizeof t->kind_count);
	bool found = false;
	for (size_t i = 0; i < t->ntasks; i++) {
		const struct engine_task_info *k = &t->tasks[i];
		if (t->torrent > 0 && k->torrent_id != t->torrent)
			continue;
		if (tasks_finished(k)) {
			t->nfinished++;
			t->nfailed += k->state == ENGINE_TASK_FAILED;
			if (!t->show_finished)
				continue;
		}
		if ((unsigned)k->kind < ENGINE_TASK_KIND_COUNT)
			t->kind_count[k->kind]++;
		if (t->kind >= 0 && (int)k->kind != t->kind)
			continue;
		if (t->search[0] != '\0' && !text_matches(k->name, t->search) &&
		    !text_matches(k->reason, t->search) && !text_matches(k->state_name, t->search))
			continue;
		struct tasks_row *r = &t->rows[t->nrows++];
		tasks_row_key(t->st.sort_col, k, r);
		r->id = k->id;
		r->at = i;
		if (follow && k->id == sel.id) {
			sel = *r;
			found = true;
		}
	}
	tasks_sort_desc = t->st.sort_desc;
	if (found) {
		size_t before = 0;
		for (size_t r = 0; r < t->nrows; r++)
			before += tasks_compare(&t->rows[r], &sel) < 0;
		t->st.sel = (int)before;
	}
	tasks_order(t, page);
}

static int
tasks_state_attr(const struct engine_task_info *i)
{
	if (i->spinning)
		return theme_attr(TH_ERROR);
	if (i->idle && i->finished_us == 0)
		return theme_attr(TH_DIM);     /* idle by design: listed, but nothing is stuck */
	switch (i->state) {
	case ENGINE_TASK_FAILED: return theme_attr(TH_ERROR);
	case ENGINE_TASK_DONE: return theme_attr(TH_DIM);
	case ENGINE_TASK_RUNNING:
	case ENGINE_TASK_READY:
	case ENGINE_TASK_SLICE_WAIT: return theme_attr(TH_DOWN);   /* working, a slice a turn */
	case ENGINE_TASK_DISK_WAIT:
	case ENGINE_TASK_RATE_WAIT: return theme_attr(TH_WARN);
	default: return 0;
	}
}

static void
tasks_cell(struct ui *ui, void *arg, int row, int col, char *out, size_t outlen, int *attr)
{
	struct tasks_state *t = arg;
	const struct engine_task_info *i = &t->tasks[t->rows[row].at];
	const struct engine_task_info *k = i;
	switch (col) {
	case TK_ID: snprintf(out, outlen, "%" PRIu64, k->id); break;
	case TK_KIND: snprintf(out, outlen, "%s", i->kind_name); break;
	case TK_STATE:
		snprintf(out, outlen, "%s", i->state_name);
		*attr = tasks_state_attr(i);
		break;
	case TK_WAITED: fmt_duration_us(i->waited_us, out, outlen); break;
	case TK_CYCLES: snprintf(out, outlen, "%" PRIu64, k->cycles); break;
	case TK_CPU: fmt_duration_us(k->cpu_us, out, outlen); break;
	case TK_DEADLINE: {
		uint64_t now = dp_now_us();
		if (k->deadline_us == 0)
			snprintf(out, outlen, "-");
		else if (k->deadline_us <= now)
			snprintf(out, outlen, "passed");
		else
			fmt_duration_us(k->deadline_us - now, out, outlen);
		break;
	}
	case TK_NAME:
		snprintf(out, outlen, "%s%s", k->spinning ? "[SPINNING] " : "", k->name);
		break;
	case TK_TORRENT: {
		const struct engine_torrent_stats *tt = k->torrent_id ? ui_torrent(ui, k->torrent_id) : NULL;
		if (k->torrent_id == 0)
			snprintf(out, outlen, "-");
		else
			snprintf(out, outlen, "#%d %s", k->torrent_id, tt ? tt->name : "");
		break;
	}
	default: break;
	}
}

static void
tasks_draw_where(struct ui *ui, struct tasks_state *t, int y, int h)
{
	const struct engine_task_info *i = NULL;
	for (size_t n = 0; n < t->ntasks; n++)
		if (t->tasks[n].id == t->detail_id)
			i = &t->tasks[n];
	int ymax = y + h;
	char v[512], a[32], b[32];
	if (i == NULL) {
		snprintf(v, sizeof v, "task %" PRIu64 " has finished and left the registry",
		    t->detail_id);
		draw_text(y + 1, 1, COLS - 1, v, TW_LEFT, theme_attr(TH_WARN));
		return;
	}
	const struct engine_task_info *k = i;
#define WHERE_KV(key, ...) do { if (y < ymax) { snprintf(v, sizeof v, __VA_ARGS__); \
	draw_text(y, 1, 12, key, TW_LEFT, theme_attr(TH_DIM)); draw_text(y, 14, COLS - 14, v, TW_LEFT, 0); \
	y++; } } while (0)
	WHERE_KV("task", "%" PRIu64 " (%s)", k->id, i->kind_name);
	WHERE_KV("name", "%s", k->name);
	if (k->torrent_id) {
		const struct engine_torrent_stats *tt = ui_torrent(ui, k->torrent_id);
		WHERE_KV("torrent", "#%d %s", k->torrent_id, tt ? tt->name : "");
	}
	fmt_duration_us(i->waited_us, a, sizeof a);
	WHERE_KV("state", "%s for %s: %s", i->state_name, a,
	    engine_task_state_description(k->state));
	WHERE_KV("where", "%s() at %s:%d", k->where_func ? k->where_func : "?",
	    k->where_file ? k->where_file : "?", k->where_line);
	WHERE_KV("waits for", "%s", k->reason[0] ? k->reason : "-");
	if (k->deadline_us) {
		uint64_t now = dp_now_us();
		fmt_duration_us(k->deadline_us > now ? k->deadline_us - now : 0, a, sizeof a);
		WHERE_KV("deadline", "in %s", a);
	} else {
		WHERE_KV("deadline", "none");
	}
	fmt_duration_us(k->cpu_us, a, sizeof a);
	WHERE_KV("counters", "%" PRIu64 " cycles, %s CPU%s", k->cycles, a,
	    k->spinning ? "  SPINNING (many cycles, no progress)" : "");
	fmt_size(k->bytes_in, a, sizeof a);
	fmt_size(k->bytes_out, b, sizeof b);
	WHERE_KV("bytes", "in %s, out %s, progress events %" PRIu64, a, b, k->progress);
	fmt_duration_us(i->age_us, a, sizeof a);
	WHERE_KV("age", "%s", a);
#undef WHERE_KV
}

/* Appends to a header line; keeps it NUL-terminated when it runs out of room. */
static void
tasks_append(char *buf, size_t len, size_t *pos, const char *fmt, ...) DP_PRINTF(4, 5);

static void
tasks_append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	if (*pos >= len)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = DP_MIN(len - 1, *pos + (size_t)n);
}

/* "peer 3 · disk 2 · tracker 1": the shown tasks per kind, most numerous first. */
void
screen_tasks_kind_summary(const size_t counts[ENGINE_TASK_KIND_COUNT], bool ascii, char *out,
    size_t outlen)
{
	bool used[ENGINE_TASK_KIND_COUNT] = { false };
	size_t pos = 0;
	out[0] = '\0';
	for (;;) {
		int best = -1;
		for (int k = 0; k < ENGINE_TASK_KIND_COUNT; k++)
			if (!used[k] && counts[k] > 0 && (best < 0 || counts[k] > counts[best]))
				best = k;
		if (best < 0)
			break;
		used[best] = true;
		tasks_append(out, outlen, &pos, "%s%s %zu", pos == 0 ? "" : ascii ? ", " : " \xc2\xb7 ",
		    engine_task_kind_name((enum engine_task_kind)best), counts[best]);
	}
	if (pos == 0)
		snprintf(out, outlen, "no tasks");
}

static void
tasks_draw(struct ui *ui, int y, int h)
{
	struct tasks_state *t = tasks_get(ui);
	/* the table's page under the two header lines (draw_table: its own header, then rows) */
	tasks_fetch(ui, t, DP_MAX(1, h - 3));
	char info[512], key[32];
	size_t pos = 0;
	keymap_describe(UI_ACTION_SHOW_FINISHED, key, sizeof key);
	char *comma = strchr(key, ',');
	if (comma != NULL)
		*comma = '\0';
	tasks_append(info, sizeof info, &pos, " Tasks: %zu shown", t->nrows);
	if (t->show_finished)
		tasks_append(info, sizeof info, &pos, ", incl. %zu finished (%s hides)", t->nfinished,
		    key);
	else if (t->nfinished > 0)
		tasks_append(info, sizeof info, &pos, ", %zu finished hidden (%s shows)", t->nfinished,
		    key);
	if (t->nfailed > 0)
		tasks_append(info, sizeof info, &pos, ", %zu failed", t->nfailed);
	tasks_append(info, sizeof info, &pos, "   kind: %s",
	    t->kind < 0 ? "all" : engine_task_kind_name((enum engine_task_kind)t->kind));
	if (t->torrent > 0)
		tasks_append(info, sizeof info, &pos, "   torrent: #%d", t->torrent);
	if (t->search[0])
		tasks_append(info, sizeof info, &pos, "   search: %s", t->search);
	/* the sort key, also when its column is hidden or too wide to show */
	char sort[64];
	draw_sort_note(ui_columns_def(UCS_TASKS)->cols, TK_COUNT, &t->st, sort, sizeof sort);
	tasks_append(info, sizeof info, &pos, "   %s", sort);
	draw_text(y, 0, COLS, info, TW_LEFT, 0);
	info[0] = ' ';
	screen_tasks_kind_summary(t->kind_count, tw_ascii(), info + 1, sizeof info - 1);
	draw_text(y + 1, 0, COLS, info, TW_LEFT, theme_attr(TH_DIM));
	if (t->detail_id != 0) {
		tasks_draw_where(ui, t, y + 2, h - 2);
		return;
	}
	struct draw_table_view v = { .cols = ui_columns_def(UCS_TASKS)->cols, .ncols = TK_COUNT,
		.set = &ui->columns[UCS_TASKS], .st = &t->st, .cell = tasks_cell, .arg = t };
	t->page = draw_table(ui, &v, y + 2, h - 2);
	ui->page = t->page;
}

static void
tasks_search_change(struct ui *ui, const char *text, void *arg)
{
	struct tasks_state *t = arg;
	(void)ui;
	snprintf(t->search, sizeof t->search, "%s", text);
}

static void
tasks_search_done(struct ui *ui, const char *text, void *arg)
{
	struct tasks_state *t = arg;
	(void)ui;
	if (text == NULL)
		t->search[0] = '\0';
}

static bool
tasks_action(struct ui *ui, enum ui_action a)
{
	struct tasks_state *t = tasks_get(ui);
	if (t->detail_id != 0) {
		if (a == UI_ACTION_BACK || a == UI_ACTION_OPEN || a == UI_ACTION_LEFT) {
			t->detail_id = 0;
			return true;
		}
		return false;
	}
	if (draw_table_action(&t->st, &ui->columns[UCS_TASKS], TK_COUNT, a, t->page))
		return ui_sort_action(ui, UCS_TASKS, &t->st, a);
	switch (a) {
	case UI_ACTION_COLUMNS:
		chooser_open(ui, UCS_TASKS);
		return true;
	case UI_ACTION_OPEN:
		/* keys read together (j then Enter) moved the selection off the page put in order */
		tasks_order(t, DP_MAX(1, t->page));
		if (t->st.sel >= 0 && (size_t)t->st.sel < t->nrows)
			t->detail_id = t->rows[t->st.sel].id;
		return true;
	case UI_ACTION_FILTER:
		t->kind = t->kind + 1 >= ENGINE_TASK_KIND_COUNT ? -1 : t->kind + 1;
		return true;
	case UI_ACTION_SHOW_FINISHED:
		t->show_finished = !t->show_finished;
		return true;
	case UI_ACTION_FILTER_TORRENT: {
		/* cycle through the torrents that exist, then back to all */
		int next = 0;
		for (size_t i = 0; i < ui->ntorrents; i++) {
			int id = ui->torrents[i].id;
			if (id > t->torrent && (next == 0 || id < next))
				next = id;
		}
		t->torrent = next;
		return true;
	}
	case UI_ACTION_SEARCH:
		prompt_open(ui, "/", t->search, false, tasks_search_done, tasks_search_change, t);
		return true;
	case UI_ACTION_BACK:
		if (t->kind >= 0 || t->torrent > 0 || t->search[0]) {
			t->kind = -1;
			t->torrent = 0;
			t->search[0] = '\0';
			return true;
		}
		return false;
	default:
		return false;
	}
}

static void
tasks_free(struct ui *ui)
{
	if (ui->tasks == NULL)
		return;
	table_state_free(&ui->tasks->st);
	free(ui->tasks->rows);
	free(ui->tasks);
	ui->tasks = NULL;
}

const struct ui_screen screen_tasks = {
	.title = "Tasks",
	.ctx = KCTX_TASKS,
	.draw = tasks_draw,
	.action = tasks_action,
	.free = tasks_free,
};
