/* widget_prompt.h: the bottom line: the one-line editor (text, paths with Tab completion, y/n
 * questions) and, while no prompt is open, the status message (widget_prompt.c). The editor's
 * state, struct ui_prompt, is in widgets.h so the UI's state can hold one. */
#ifndef DP_UI_WIDGET_PROMPT_H
#define DP_UI_WIDGET_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "widgets.h"

struct ui;

void prompt_open(struct ui *ui, const char *label, const char *initial, bool paths,
    prompt_done_fn done, prompt_change_fn change, void *arg);
void prompt_confirm(struct ui *ui, const char *question, prompt_done_fn done, void *arg);
/* Feeds a key (UI_KEY_FN | KEY_x for function keys). */
void prompt_key(struct ui *ui, int code);
/* Draws row y: the open prompt with its cursor, else the recent message or the key hint. */
void prompt_draw(struct ui *ui, int y);
/* Edits a line buffer (pure, for tests): returns false when the key is not an edit. */
bool prompt_edit(struct ui_prompt *p, int code);

#endif
