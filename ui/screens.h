/* screens.h: what a screen is, a table of operations (like tig's views and htop's panels), and
 * the screens there are (screen_*.c); the frame (ui.c) shows one at a time. */
#ifndef DP_UI_SCREENS_H
#define DP_UI_SCREENS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "keymap.h"

struct ui;

struct ui_screen {
	const char *title;
	int ctx;                                   /* keymap contexts while shown */
	int (*context)(struct ui *ui);             /* NULL: ctx */
	void (*draw)(struct ui *ui, int y, int h); /* lines [y, y + h) */
	bool (*action)(struct ui *ui, enum ui_action a);
	void (*free)(struct ui *ui);
};
extern const struct ui_screen screen_list, screen_detail, screen_tasks, screen_blocked,
    screen_log, screen_help;

/* Synthetic rows for the benchmark: fills ui->torrents with n made-up torrents. */
void screen_list_synthetic(struct ui *ui, size_t n);
/* After each fetch: the list's copy of what it sorts and filters on takes the rows that changed
 * while the client has just written them (in cache), whichever screen is shown. */
void screen_list_follow(struct ui *ui);

/* The tasks header's count per kind, most numerous first: "peer 3 · disk 2 · tracker 1" (", "
 * between them in ASCII mode); "no tasks" when every count is 0. */
void screen_tasks_kind_summary(const size_t counts[ENGINE_TASK_KIND_COUNT], bool ascii, char *out,
    size_t outlen);

#endif
