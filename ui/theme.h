/* theme.h: the UI's colour roles and the curses attribute each one draws with (theme.c). */
#ifndef DP_UI_THEME_H
#define DP_UI_THEME_H

#include <stdbool.h>

enum theme_role {
	TH_NORMAL, TH_TITLE, TH_TAB, TH_TAB_ACTIVE, TH_HEADER, TH_HEADER_SORT, TH_SELECTED,
	TH_MARKED, TH_STATUS, TH_DOWN, TH_UP, TH_BAR_DONE, TH_BAR_TODO, TH_SEEDING, TH_ERROR,
	TH_WARN, TH_DIM, TH_PIECE_HAVE, TH_PIECE_DL, TH_PIECE_MISSING, TH_PROMPT, TH_ROLE_COUNT
};
/* Colours when the terminal has them and the config allows; else attributes only. */
void theme_init(bool want_colors);
int theme_attr(enum theme_role role);
bool theme_has_colors(void);

#endif
