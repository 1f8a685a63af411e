/* draw.c: drawing primitives on the curses screen: text fitted to a number of display cells,
 * filled rows, and the table view (the chosen columns in their order, header with the sort
 * column, rows, selection and marks). */
#include "config.h"

#include <curses.h>
#include <stdio.h>

#include "util.h"
#include "draw.h"
#include "theme.h"

void
draw_text(int y, int x, int cells, const char *text, enum tw_align align, int attr)
{
	char buf[4096];
	if (y < 0 || y >= LINES || x >= COLS || cells <= 0)
		return;
	if (x + cells > COLS)
		cells = COLS - x;
	tw_fit(text, cells, align, buf, sizeof buf);
	attrset(attr);
	mvaddstr(y, x, buf);
	attrset(A_NORMAL);
}

void
draw_fill(int y, int x, int attr)
{
	if (y < 0 || y >= LINES || x >= COLS)
		return;
	attrset(attr);
	mvhline(y, x, ' ', COLS - x);
	attrset(A_NORMAL);
}

int
draw_table(struct ui *ui, const struct draw_table_view *v, int y, int h)
{
	/* the chosen columns in their order; layout and drawing see only those */
	int ids[UI_COLS_MAX], widths[UI_COLS_MAX], ncols = 0;
	struct table_col shown[UI_COLS_MAX] = { { 0 } };
	int total = DP_MIN(v->set != NULL ? v->set->n : v->ncols, UI_COLS_MAX);
	for (int i = 0; i < total; i++) {
		int id = v->set != NULL ? v->set->ids[i] : i;
		if (id < 0 || id >= v->ncols)
			continue;
		ids[ncols] = id;
		shown[ncols++] = v->cols[id];
	}
	table_layout(shown, ncols, COLS, widths);
	int page = DP_MAX(1, h - 1);
	table_set_count(v->st, v->st->count, page);

	/* header, with the sort column and its direction */
	draw_fill(y, 0, theme_attr(TH_HEADER));
	int x = 0;
	v->st->sort_shown = false;
	for (int c = 0; c < ncols; c++) {
		if (widths[c] == 0)
			continue;
		char title[64];
		bool sorted = ids[c] == v->st->sort_col;
		v->st->sort_shown |= sorted;
		snprintf(title, sizeof title, "%s%s", shown[c].title,
		    !sorted ? "" : tw_ascii() ? (v->st->sort_desc ? "v" : "^") :
		    (v->st->sort_desc ? "\xe2\x96\xbc" : "\xe2\x96\xb2"));
		draw_text(y, x, widths[c], title, shown[c].align,
		    theme_attr(sorted ? TH_HEADER_SORT : TH_HEADER));
		x += widths[c] + 1;
	}
	for (int i = 0; i < page; i++) {
		int row = v->st->top + i;
		if (row >= v->st->count)
			break;
		int ry = y + 1 + i;
		bool sel = row == v->st->sel;
		bool marked = v->row_id != NULL && v->st->nmarks > 0 &&
		    table_is_marked(v->st, v->row_id(ui, v->arg, row));
		int base = v->row_attr ? v->row_attr(ui, v->arg, row) : 0;
		if (marked)
			base = theme_attr(TH_MARKED);
		if (sel)
			base = theme_attr(TH_SELECTED) | (marked ? A_BOLD : 0);
		if (sel || marked)
			draw_fill(ry, 0, base);
		x = 0;
		for (int c = 0; c < ncols; c++) {
			if (widths[c] == 0)
				continue;
			char cell[1024];
			int attr = base;
			cell[0] = '\0';
			v->cell(ui, v->arg, row, ids[c], cell, sizeof cell, &attr);
			if (sel)
				attr = base;
			draw_text(ry, x, widths[c], cell, shown[c].align, attr);
			if (x + widths[c] < COLS && (sel || marked))
				draw_text(ry, x + widths[c], 1, " ", TW_LEFT, base);
			x += widths[c] + 1;
		}
	}
	return page;
}

void
draw_sort_note(const struct table_col *cols, int ncols, const struct table_state *st, char *out,
    size_t outlen)
{
	if (st->sort_col < 0 || st->sort_col >= ncols) {
		snprintf(out, outlen, "%s", "");
		return;
	}
	snprintf(out, outlen, "sort: %s %s", cols[st->sort_col].title, st->sort_desc ?
	    (tw_ascii() ? "v" : "\xe2\x96\xbc") : (tw_ascii() ? "^" : "\xe2\x96\xb2"));
}

bool
draw_table_action(struct table_state *st, const struct ui_col_set *set, int ncols,
    enum ui_action a, int page)
{
	switch (a) {
	case UI_ACTION_UP:
		table_move(st, -1, page);
		return true;
	case UI_ACTION_DOWN:
		table_move(st, 1, page);
		return true;
	case UI_ACTION_TOP:
		table_move_to(st, 0, page);
		return true;
	case UI_ACTION_BOTTOM:
		table_move_to(st, st->count - 1, page);
		return true;
	case UI_ACTION_HALF_DOWN:
		table_move(st, DP_MAX(1, page / 2), page);
		return true;
	case UI_ACTION_HALF_UP:
		table_move(st, -DP_MAX(1, page / 2), page);
		return true;
	case UI_ACTION_PAGE_DOWN:
		table_move(st, page, page);
		return true;
	case UI_ACTION_PAGE_UP:
		table_move(st, -page, page);
		return true;
	case UI_ACTION_SORT_NEXT:
		st->sort_col = ui_columns_sort_step(set, ncols, st->sort_col, 1);
		return true;
	case UI_ACTION_SORT_PREV:
		st->sort_col = ui_columns_sort_step(set, ncols, st->sort_col, -1);
		return true;
	case UI_ACTION_SORT_REVERSE:
		st->sort_desc = !st->sort_desc;
		return true;
	default:
		return false;
	}
}

