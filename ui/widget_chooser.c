/* widget_chooser.c: the column chooser (like htop's setup screen for its columns): every column
 * of one table, shown ones marked, in the order they show; keys show, hide and move them, the
 * table behind follows at once, and closing keeps the choice in the columns file. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "columns_writer.h"
#include "draw.h"
#include "keymap.h"
#include "theme.h"
#include "ui_state.h"
#include "widget_chooser.h"

struct ui_chooser {
	enum ui_cols_screen screen;
	int order[UI_COLS_MAX];  /* every column: the shown ones in their order, then the hidden */
	bool shown[UI_COLS_MAX];
	int n;
	int sel;
	int top;                 /* first row drawn when the box is shorter than the list */
	bool changed;
};

/* Lays the set out as the chooser lists it: shown columns first, in order, then the others. */
static void
chooser_fill(struct ui_chooser *c, const struct ui_col_set *set)
{
	const struct ui_columns_def *d = ui_columns_def(c->screen);
	c->n = 0;
	for (int i = 0; i < set->n && c->n < UI_COLS_MAX; i++) {
		c->order[c->n] = set->ids[i];
		c->shown[c->n++] = true;
	}
	for (int id = 0; id < d->ncols && c->n < UI_COLS_MAX; id++) {
		if (ui_columns_has(set, id))
			continue;
		c->order[c->n] = id;
		c->shown[c->n++] = false;
	}
}

/* The table behind follows every change. */
static void
chooser_apply(struct ui *ui, struct ui_chooser *c)
{
	struct ui_col_set *set = &ui->columns[c->screen];
	set->n = 0;
	for (int i = 0; i < c->n; i++)
		if (c->shown[i])
			set->ids[set->n++] = c->order[i];
	c->changed = true;
}

void
chooser_open(struct ui *ui, enum ui_cols_screen s)
{
	chooser_free(ui);
	struct ui_chooser *c = xcalloc(1, sizeof *c);
	c->screen = s;
	chooser_fill(c, &ui->columns[s]);
	ui->chooser = c;
	keymap_reset_pending();
}

void
chooser_free(struct ui *ui)
{
	free(ui->chooser);
	ui->chooser = NULL;
}

/* Hands the columns and the sort keys to the columns file's writer thread (ui->columns_file
 * set): a failure shows at the next draw (ui_columns_writer_failed). */
static void
chooser_keep(struct ui *ui)
{
	char *text = xmalloc(8192);
	ui_columns_saved_format(ui->columns, ui->columns_conf, ui->sort, text, 8192);
	ui_columns_writer_save(ui->columns_file, text);
	free(text);
}

void
ui_sort_apply(struct ui *ui, enum ui_cols_screen s, struct table_state *st)
{
	if (ui->sort[s].set && ui->sort[s].col >= 0 && ui->sort[s].col < ui_columns_def(s)->ncols) {
		st->sort_col = ui->sort[s].col;
		st->sort_desc = ui->sort[s].desc;
	}
}

bool
ui_sort_action(struct ui *ui, enum ui_cols_screen s, const struct table_state *st,
    enum ui_action a)
{
	if (a != UI_ACTION_SORT_NEXT && a != UI_ACTION_SORT_PREV && a != UI_ACTION_SORT_REVERSE)
		return true;
	ui->sort[s] = (struct ui_sort_key){ true, st->sort_col, st->sort_desc };
	/* no message when kept: the header shows the new key; one when it could not be */
	if (ui->columns_file[0] != '\0')
		chooser_keep(ui);
	return true;
}

/* Closes the chooser; a changed choice is written to the columns file for the next start. */
static void
chooser_close(struct ui *ui)
{
	struct ui_chooser *c = ui->chooser;
	enum ui_cols_screen s = c->screen;
	bool changed = c->changed;
	chooser_free(ui);
	keymap_reset_pending();
	if (!changed)
		return;
	char list[512];
	ui_columns_format(s, &ui->columns[s], list, sizeof list);
	if (ui->columns_file[0] == '\0') {
		ui_message(ui, false, "columns: %s (not kept: no columns file)", list);
		return;
	}
	chooser_keep(ui);
	ui_message(ui, false, "columns: %s (kept in %s)", list, ui->columns_file);
}

static void
chooser_toggle(struct ui *ui, struct ui_chooser *c)
{
	const struct ui_columns_def *d = ui_columns_def(c->screen);
	int id = c->order[c->sel];
	if (id == d->required && c->shown[c->sel]) {
		ui_message(ui, true, "%s is always shown (it names the rows)", d->cols[id].title);
		return;
	}
	c->shown[c->sel] = !c->shown[c->sel];
	chooser_apply(ui, c);
}

static void
chooser_move(struct ui *ui, struct ui_chooser *c, int delta)
{
	int to = c->sel + delta;
	if (to < 0 || to >= c->n)
		return;
	int id = c->order[c->sel];
	bool sh = c->shown[c->sel];
	c->order[c->sel] = c->order[to];
	c->shown[c->sel] = c->shown[to];
	c->order[to] = id;
	c->shown[to] = sh;
	c->sel = to;
	chooser_apply(ui, c);
}

void
chooser_key(struct ui *ui, int code)
{
	struct ui_chooser *c = ui->chooser;
	enum ui_action a;
	if (c == NULL || keymap_feed(KCTX_CHOOSER, code, &a) != KEYMAP_MATCH)
		return;
	switch (a) {
	case UI_ACTION_UP: c->sel = DP_MAX(0, c->sel - 1); break;
	case UI_ACTION_DOWN: c->sel = DP_MIN(c->n - 1, c->sel + 1); break;
	case UI_ACTION_TOP: c->sel = 0; break;
	case UI_ACTION_BOTTOM: c->sel = c->n - 1; break;
	case UI_ACTION_COLUMN_TOGGLE: chooser_toggle(ui, c); break;
	case UI_ACTION_COLUMN_UP: chooser_move(ui, c, -1); break;
	case UI_ACTION_COLUMN_DOWN: chooser_move(ui, c, 1); break;
	case UI_ACTION_COLUMN_RESET:
		chooser_fill(c, &ui->columns_conf[c->screen]);
		chooser_apply(ui, c);
		break;
	case UI_ACTION_OPEN:
	case UI_ACTION_BACK:
	case UI_ACTION_COLUMNS:
	case UI_ACTION_QUIT:
		chooser_close(ui);
		break;
	default:
		/* other screens' keys wait until the box is closed */
		break;
	}
}

/* The first key bound to an action ("Space" of "Space, x"). */
static void
chooser_key_name(enum ui_action a, char *out, size_t outlen)
{
	keymap_describe(a, out, outlen);
	char *comma = strchr(out, ',');
	if (comma != NULL)
		*comma = '\0';
}

void
chooser_draw(struct ui *ui, int y, int h)
{
	struct ui_chooser *c = ui->chooser;
	if (c == NULL)
		return;
	const struct ui_columns_def *d = ui_columns_def(c->screen);
	bool ascii = tw_ascii();
	char k_toggle[32], k_up[32], k_down[32], k_reset[32], k_done[32], hint[256], line[256];
	chooser_key_name(UI_ACTION_COLUMN_TOGGLE, k_toggle, sizeof k_toggle);
	chooser_key_name(UI_ACTION_COLUMN_UP, k_up, sizeof k_up);
	chooser_key_name(UI_ACTION_COLUMN_DOWN, k_down, sizeof k_down);
	chooser_key_name(UI_ACTION_COLUMN_RESET, k_reset, sizeof k_reset);
	chooser_key_name(UI_ACTION_OPEN, k_done, sizeof k_done);
	snprintf(hint, sizeof hint, " %s show/hide  %s/%s move  %s reset  %s done", k_toggle, k_up,
	    k_down, k_reset, k_done);
	int w = DP_MIN(COLS - 2, DP_MAX(46, tw_width(hint) + 2));
	int rows = DP_MAX(1, DP_MIN(c->n, h - 3));
	int bh = rows + 3;
	int x = DP_MAX(0, (COLS - w) / 2), by = y + DP_MAX(0, (h - bh) / 2);
	if (w < 20 || h < 4)
		return;
	if (c->sel < c->top)
		c->top = c->sel;
	if (c->sel >= c->top + rows)
		c->top = c->sel - rows + 1;

	snprintf(line, sizeof line, " Columns: %s (top = left)", d->title);
	draw_text(by, x, w, line, TW_LEFT, theme_attr(TH_HEADER));
	for (int i = 0; i < rows; i++) {
		int r = c->top + i;
		int attr = theme_attr(TH_STATUS);
		if (r >= c->n) {
			draw_text(by + 1 + i, x, w, "", TW_LEFT, attr);
			continue;
		}
		const struct table_col *col = &d->cols[c->order[r]];
		snprintf(line, sizeof line, " %s %s %-12s %-10s %s", r == c->sel ?
		    (ascii ? ">" : "\xe2\x96\xb8") : " ", c->shown[r] ? "[x]" : "[ ]", col->title,
		    col->key, c->order[r] == d->required ? "(always)" : "");
		if (r == c->sel)
			attr = theme_attr(TH_SELECTED);
		else if (!c->shown[r])
			attr = theme_attr(TH_DIM);
		draw_text(by + 1 + i, x, w, line, TW_LEFT, attr);
	}
	draw_text(by + 1 + rows, x, w, hint, TW_LEFT, theme_attr(TH_STATUS));
	draw_text(by + 2 + rows, x, w, c->n > rows ? " (more: scroll with the arrows)" : "",
	    TW_LEFT, theme_attr(TH_STATUS));
}
