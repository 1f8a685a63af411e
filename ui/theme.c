/* theme.c: the colour theme: eight-colour pairs on the terminal's default background, falling
 * back to bold/reverse/underline attributes on monochrome terminals or when colours are off. */
#include "config.h"

#include <curses.h>

#include "theme.h"

static int theme_attrs[TH_ROLE_COUNT];
static bool theme_colors;

struct theme_def {
	short fg, bg;
	int color_attr;     /* added to the pair */
	int mono_attr;      /* used alone without colours */
};

static const struct theme_def theme_defs[TH_ROLE_COUNT] = {
	[TH_NORMAL] = { -1, -1, 0, 0 },
	[TH_TITLE] = { COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE | A_BOLD },
	[TH_TAB] = { COLOR_WHITE, COLOR_BLUE, 0, A_REVERSE },
	[TH_TAB_ACTIVE] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_BOLD },
	[TH_HEADER] = { COLOR_BLACK, COLOR_GREEN, 0, A_UNDERLINE | A_BOLD },
	[TH_HEADER_SORT] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD },
	[TH_SELECTED] = { COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE },
	[TH_MARKED] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[TH_STATUS] = { COLOR_WHITE, COLOR_BLUE, 0, A_REVERSE },
	[TH_DOWN] = { COLOR_GREEN, -1, 0, 0 },
	[TH_UP] = { COLOR_MAGENTA, -1, 0, 0 },
	[TH_BAR_DONE] = { COLOR_GREEN, -1, 0, 0 },
	[TH_BAR_TODO] = { COLOR_BLUE, -1, 0, 0 },
	[TH_SEEDING] = { COLOR_CYAN, -1, 0, 0 },
	[TH_ERROR] = { COLOR_RED, -1, A_BOLD, A_BOLD },
	[TH_WARN] = { COLOR_YELLOW, -1, 0, A_UNDERLINE },
	[TH_DIM] = { COLOR_WHITE, -1, A_DIM, A_DIM },
	[TH_PIECE_HAVE] = { COLOR_GREEN, -1, 0, A_BOLD },
	[TH_PIECE_DL] = { COLOR_YELLOW, -1, A_BOLD, A_REVERSE },
	[TH_PIECE_MISSING] = { COLOR_BLUE, -1, 0, A_DIM },
	[TH_PROMPT] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
};

void
theme_init(bool want_colors)
{
	theme_colors = false;
	if (want_colors && has_colors() && start_color() != ERR && COLOR_PAIRS >= TH_ROLE_COUNT) {
		bool default_bg = use_default_colors() != ERR;
		theme_colors = true;
		for (int r = 1; r < TH_ROLE_COUNT; r++) {
			short fg = theme_defs[r].fg, bg = theme_defs[r].bg;
			if (!default_bg) {
				if (fg < 0)
					fg = COLOR_WHITE;
				if (bg < 0)
					bg = COLOR_BLACK;
			}
			init_pair((short)r, fg, bg);
			theme_attrs[r] = (int)COLOR_PAIR(r) | theme_defs[r].color_attr;
		}
		theme_attrs[TH_NORMAL] = 0;
		return;
	}
	for (int r = 0; r < TH_ROLE_COUNT; r++)
		theme_attrs[r] = theme_defs[r].mono_attr;
}

int
theme_attr(enum theme_role role)
{
	return (unsigned)role < TH_ROLE_COUNT ? theme_attrs[role] : 0;
}

bool
theme_has_colors(void)
{
	return theme_colors;
}
