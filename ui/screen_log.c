/* screen_log.c: the engine's log ring: time, level, text; a minimum-level filter, search,
 * follow mode that keeps the newest line in view, and the selected line wrapped whole. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "draw.h"
#include "screens.h"
#include "theme.h"
#include "ui_state.h"
#include "widget_prompt.h"

#define SCREEN_LOG_KEEP 2000

struct log_state {
	struct dp_log_line *lines;      /* the newest SCREEN_LOG_KEEP, oldest first */
	size_t n;
	uint64_t last_seq;
	int min_level;                  /* show lines at or above this severity (<= level value) */
	char search[128];
	size_t *rows;
	size_t nrows;
	struct table_state st;
	bool follow;
	int page;
};

static struct log_state *
screen_log_get(struct ui *ui)
{
	if (ui->log == NULL) {
		ui->log = xcalloc(1, sizeof *ui->log);
		ui->log->lines = xcalloc(SCREEN_LOG_KEEP, sizeof *ui->log->lines);
		ui->log->min_level = DP_LOG_DEBUG;
		ui->log->follow = true;
		ui->log->st.sel = -1;
	}
	return ui->log;
}

static void
screen_log_fetch(struct ui *ui, struct log_state *l)
{
	struct dp_log_line buf[256];
	size_t got;
	while ((got = client_log_since(ui->client, l->last_seq, buf, DP_ARRAY_LEN(buf))) > 0) {
		if (l->n + got > SCREEN_LOG_KEEP) {
			size_t drop = l->n + got - SCREEN_LOG_KEEP;
			if (drop > l->n)
				drop = l->n;
			memmove(l->lines, l->lines + drop, (l->n - drop) * sizeof *l->lines);
			l->n -= drop;
		}
		size_t skip = got > SCREEN_LOG_KEEP ? got - SCREEN_LOG_KEEP : 0;
		memcpy(l->lines + l->n, buf + skip, (got - skip) * sizeof *buf);
		l->n += got - skip;
		l->last_seq = buf[got - 1].seq;
		if (got < DP_ARRAY_LEN(buf))
			break;
	}
	free(l->rows);
	l->rows = xcalloc(l->n ? l->n : 1, sizeof *l->rows);
	l->nrows = 0;
	for (size_t i = 0; i < l->n; i++)
		if ((int)l->lines[i].level <= l->min_level && text_matches(l->lines[i].text, l->search))
			l->rows[l->nrows++] = i;
	l->st.count = (int)l->nrows;
}

/* Continuation rows of a wrapped line start under the text, past "HH:MM:SS level ". */
#define SCREEN_LOG_INDENT 15

static void
screen_log_format(const struct dp_log_line *ln, char *out, size_t outlen)
{
	char when[16];
	struct tm tm;
	time_t t = (time_t)ln->when;
	if (localtime_r(&t, &tm) == NULL || strftime(when, sizeof when, "%H:%M:%S", &tm) == 0)
		snprintf(when, sizeof when, "--:--:--");
	snprintf(out, outlen, "%s %-5s %s", when, log_level_name(ln->level), ln->text);
}

/* Bytes of rest on one wrapped row of `cells` cells: up to a space when there is one in
 * the row's second half, so words stay whole. */
static size_t
screen_log_wrap_bytes(const char *rest, int cells)
{
	size_t n = tw_prefix_bytes(rest, cells);
	if (rest[n] == '\0')
		return n;
	for (size_t i = n; i > n / 2; i--)
		if (rest[i - 1] == ' ')
			return i;
	return n;
}

/* Rows the line takes wrapped at the screen's width, at most half a page. */
static int
screen_log_rows(const struct dp_log_line *ln, int page)
{
	char text[320];
	screen_log_format(ln, text, sizeof text);
	int rows = 0, most = DP_MAX(1, page / 2);
	for (const char *rest = text; *rest != '\0' && rows < most; rows++) {
		int indent = rows == 0 || COLS < 2 * SCREEN_LOG_INDENT ? 0 : SCREEN_LOG_INDENT;
		rest += screen_log_wrap_bytes(rest, COLS - indent);
	}
	return DP_MAX(rows, 1);
}

static void
screen_log_draw(struct ui *ui, int y, int h)
{
	struct log_state *l = screen_log_get(ui);
	screen_log_fetch(ui, l);
	char info[256];
	snprintf(info, sizeof info, " Log: %zu line%s shown of %zu   level: %s and above%s%s%s",
	    l->nrows, l->nrows == 1 ? "" : "s", l->n, log_level_name((enum dp_log_level)l->min_level),
	    l->follow ? "   following" : "", l->search[0] ? "   search: " : "", l->search);
	draw_text(y, 0, COLS, info, TW_LEFT, 0);
	int page = DP_MAX(1, h - 1);
	l->page = page;
	ui->page = page;
	if (l->follow)
		l->st.sel = (int)l->nrows - 1;
	table_set_count(&l->st, (int)l->nrows, page);
	/* The selected line (when not following) is wrapped so that it can be read whole; the
	 * rows after it move down, and the view starts later if its tail would fall off. */
	int sel = l->follow ? -1 : l->st.sel;
	int sel_rows = sel >= 0 && sel < (int)l->nrows ? screen_log_rows(&l->lines[l->rows[sel]],
	    page) : 1;
	int top = l->st.top;
	if (sel >= 0 && sel - top + sel_rows > page)
		top = DP_MIN(sel, sel - (page - sel_rows));
	int line = 0;
	for (int r = top; r < (int)l->nrows && line < page; r++) {
		const struct dp_log_line *ln = &l->lines[l->rows[r]];
		char text[320];
		screen_log_format(ln, text, sizeof text);
		int attr = ln->level == DP_LOG_ERROR ? theme_attr(TH_ERROR) :
		    ln->level == DP_LOG_WARN ? theme_attr(TH_WARN) :
		    ln->level == DP_LOG_DEBUG ? theme_attr(TH_DIM) : 0;
		if (r != sel) {
			draw_text(y + 1 + line++, 0, COLS, text, TW_LEFT, attr);
			continue;
		}
		attr = theme_attr(TH_SELECTED);
		const char *rest = text;
		for (int k = 0; k < sel_rows && *rest != '\0' && line < page; k++) {
			int indent = k == 0 || COLS < 2 * SCREEN_LOG_INDENT ? 0 : SCREEN_LOG_INDENT;
			char piece[320];
			size_t n = screen_log_wrap_bytes(rest, COLS - indent);
			if (k == sel_rows - 1)
				n = strlen(rest);          /* the last row shows the rest, cut if need be */
			snprintf(piece, sizeof piece, "%.*s", (int)n, rest);
			draw_fill(y + 1 + line, 0, 0);
			draw_text(y + 1 + line++, indent, COLS - indent, piece, TW_LEFT, attr);
			rest += n;
		}
	}
}

static void
screen_log_search_change(struct ui *ui, const char *text, void *arg)
{
	struct log_state *l = arg;
	(void)ui;
	snprintf(l->search, sizeof l->search, "%s", text);
}

static void
screen_log_search_done(struct ui *ui, const char *text, void *arg)
{
	struct log_state *l = arg;
	(void)ui;
	if (text == NULL)
		l->search[0] = '\0';
}

static bool
screen_log_action(struct ui *ui, enum ui_action a)
{
	struct log_state *l = screen_log_get(ui);
	switch (a) {
	case UI_ACTION_FILTER:
		/* debug -> info -> warn -> error -> debug */
		l->min_level = l->min_level == DP_LOG_ERROR ? DP_LOG_DEBUG : l->min_level - 1;
		return true;
	case UI_ACTION_FOLLOW:
		l->follow = !l->follow;
		return true;
	case UI_ACTION_SEARCH:
		prompt_open(ui, "/", l->search, false, screen_log_search_done,
		    screen_log_search_change, l);
		return true;
	case UI_ACTION_SORT_NEXT:
	case UI_ACTION_SORT_PREV:
	case UI_ACTION_SORT_REVERSE:
		return true;
	default:
		break;
	}
	if (draw_table_action(&l->st, NULL, 1, a, l->page)) {
		l->follow = a == UI_ACTION_BOTTOM;
		return true;
	}
	return false;
}

static void
screen_log_free(struct ui *ui)
{
	if (ui->log == NULL)
		return;
	table_state_free(&ui->log->st);
	free(ui->log->lines);
	free(ui->log->rows);
	free(ui->log);
	ui->log = NULL;
}

const struct ui_screen screen_log = {
	.title = "Log",
	.ctx = KCTX_LOG,
	.draw = screen_log_draw,
	.action = screen_log_action,
	.free = screen_log_free,
};
