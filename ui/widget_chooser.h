/* widget_chooser.h: the column chooser (the C key): a box over the screen listing every column
 * of one table with a mark for the shown ones; they are shown, hidden and moved with the keys,
 * the table follows at once, and closing keeps the choice in the columns file
 * (widget_chooser.c). */
#ifndef DP_UI_WIDGET_CHOOSER_H
#define DP_UI_WIDGET_CHOOSER_H

#include <stdbool.h>

#include "columns.h"

struct ui;

/* Opens the chooser on a screen's columns (replacing one open). */
void chooser_open(struct ui *ui, enum ui_cols_screen s);
/* Feeds a key while the chooser is open (ui->chooser != NULL). */
void chooser_key(struct ui *ui, int code);
/* Draws the box over lines [y, y + h) when open. */
void chooser_draw(struct ui *ui, int y, int h);
void chooser_free(struct ui *ui);

#endif
