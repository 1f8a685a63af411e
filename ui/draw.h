/* draw.h: drawing primitives on the curses screen, shared by the frame, the screens and the
 * widgets: fitted text, filled rows, and the table view with its movement and sort keys (draw.c). */
#ifndef DP_UI_DRAW_H
#define DP_UI_DRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "columns.h"
#include "keymap.h"
#include "widgets.h"

struct ui;

/* Draws text fitted to exactly `cells` cells at (y, x), clipped to the screen. */
void draw_text(int y, int x, int cells, const char *text, enum tw_align align, int attr);
/* Fills the rest of row y from x with spaces in attr. */
void draw_fill(int y, int x, int attr);

/* A table header and rows: the caller provides a cell callback. */
struct draw_table_view {
	const struct table_col *cols;   /* every column, by id */
	int ncols;
	const struct ui_col_set *set;   /* the ids shown, in order (the user's choice); NULL: all */
	struct table_state *st;
	/* writes column id `col` of row `row` into out; *attr may be changed for that cell */
	void (*cell)(struct ui *ui, void *arg, int row, int col, char *out, size_t outlen, int *attr);
	/* the attribute of a whole row (e.g. error rows in red), may be NULL */
	int (*row_attr)(struct ui *ui, void *arg, int row);
	/* stable id of a row for marks; may be NULL (no marks) */
	uint64_t (*row_id)(struct ui *ui, void *arg, int row);
	void *arg;
};
/* Draws header + visible rows in lines [y, y + h); returns the page size (rows shown). Sets
 * st->sort_shown: whether the sort column is on screen (it may be hidden or too wide). */
int draw_table(struct ui *ui, const struct draw_table_view *v, int y, int h);
/* Handles movement/sort actions on a table; true when the action was one. page = visible rows.
 * The sort keys step through the shown columns in their order, then the hidden ones. */
bool draw_table_action(struct table_state *st, const struct ui_col_set *set, int ncols,
    enum ui_action a, int page);
/* "sort: Name ▲" (ASCII: "^"/"v") for the info lines. */
void draw_sort_note(const struct table_col *cols, int ncols, const struct table_state *st,
    char *out, size_t outlen);

#endif
