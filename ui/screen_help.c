/* screen_help.c: the key help, generated from the keymap so rebound keys show as bound. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "draw.h"
#include "screens.h"
#include "theme.h"
#include "ui_state.h"

struct help_state {
	int top;
	int lines;
	int page;
};

struct help_draw_ctx {
	int y, ymax, skip, count;
};

static void
help_line(void *arg, const char *section, const char *keys, const char *help)
{
	struct help_draw_ctx *c = arg;
	int n = c->count++;
	if (n < c->skip || c->y >= c->ymax)
		return;
	if (section != NULL) {
		draw_text(c->y++, 1, COLS - 1, section, TW_LEFT, A_BOLD | A_UNDERLINE);
		return;
	}
	draw_text(c->y, 3, 22, keys, TW_LEFT, theme_attr(TH_PROMPT));
	draw_text(c->y, 26, COLS - 26, help, TW_LEFT, 0);
	c->y++;
}

static void
help_draw(struct ui *ui, int y, int h)
{
	if (ui->help == NULL)
		ui->help = xcalloc(1, sizeof *ui->help);
	struct help_state *s = ui->help;
	draw_text(y, 0, COLS, " Keys (rebind them in the config file's keys section: action = \"key\";)",
	    TW_LEFT, theme_attr(TH_DIM));
	struct help_draw_ctx c = { .y = y + 1, .ymax = y + h, .skip = s->top };
	keymap_help(help_line, &c);
	s->lines = c.count;
	s->page = DP_MAX(1, h - 1);
	ui->page = s->page;
}

static bool
help_action(struct ui *ui, enum ui_action a)
{
	struct help_state *s = ui->help;
	if (s == NULL)
		return false;
	int max_top = DP_MAX(0, s->lines - s->page);
	switch (a) {
	case UI_ACTION_UP: s->top--; break;
	case UI_ACTION_DOWN: s->top++; break;
	case UI_ACTION_HALF_UP: s->top -= s->page / 2; break;
	case UI_ACTION_HALF_DOWN: s->top += s->page / 2; break;
	case UI_ACTION_PAGE_UP: s->top -= s->page; break;
	case UI_ACTION_PAGE_DOWN: s->top += s->page; break;
	case UI_ACTION_TOP: s->top = 0; break;
	case UI_ACTION_BOTTOM: s->top = max_top; break;
	default: return false;
	}
	s->top = DP_MAX(0, DP_MIN(s->top, max_top));
	return true;
}

static void
help_free(struct ui *ui)
{
	free(ui->help);
	ui->help = NULL;
}

const struct ui_screen screen_help = {
	.title = "Help",
	.ctx = 0,
	.draw = help_draw,
	.action = help_action,
	.free = help_free,
};
