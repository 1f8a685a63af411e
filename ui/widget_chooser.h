/* widget_chooser.h: the column chooser (the C key): a box over the screen listing every column
 * of one table with a mark for the shown ones; they are shown, hidden and moved with the keys,
 * the table follows at once, and closing keeps the choice in the columns file, where the
 * tables' sort keys are kept too (widget_chooser.c). */
#ifndef DP_UI_WIDGET_CHOOSER_H
#define DP_UI_WIDGET_CHOOSER_H

#include <stdbool.h>

#include "columns.h"
#include "keymap.h"

struct ui;

/* Opens the chooser on a screen's columns (replacing one open). */
void chooser_open(struct ui *ui, enum ui_cols_screen s);
/* Feeds a key while the chooser is open (ui->chooser != NULL). */
void chooser_key(struct ui *ui, int code);
/* Draws the box over lines [y, y + h) when open. */
void chooser_draw(struct ui *ui, int y, int h);
void chooser_free(struct ui *ui);

/* A table's saved sort key, set on its state when the screen makes it. */
struct table_state;
void ui_sort_apply(struct ui *ui, enum ui_cols_screen s, struct table_state *st);
/* After draw_table_action took a: a sort key's change is kept in the columns file with the
 * columns (the sort key is the UI's, as the columns are). Returns true. */
bool ui_sort_action(struct ui *ui, enum ui_cols_screen s, const struct table_state *st,
    enum ui_action a);

#endif
