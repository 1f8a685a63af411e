/* widget_status.c: the status bar: global rates with their limits and a rate-history sparkline,
 * connections, listening port, free space in the download directory; the message line below. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "ui_priv.h"

#define STATUS_MESSAGE_MS 15000

/* One rate: arrow, rate, limit if any, sparkline scaled to the limit (or the history's peak). */
static int
status_rate(int y, int x, const char *arrow, uint64_t rate, uint64_t limit,
    const struct spark_history *h, int attr)
{
	char r[32], l[64], text[160], spark[64];
	fmt_rate(rate, r, sizeof r);
	if (rate == 0)
		snprintf(r, sizeof r, "0 B/s");
	l[0] = '\0';
	if (limit > 0) {
		char lim[32];
		fmt_size(limit, lim, sizeof lim);
		snprintf(l, sizeof l, " (max %s/s)", lim);
	}
	snprintf(text, sizeof text, "%s %s%s ", arrow, r, l);
	int w = tw_width(text);
	ui_put(y, x, w, text, TW_LEFT, attr);
	x += w;
	sparkline_render(h->v, h->n, 12, limit, spark, sizeof spark);
	ui_put(y, x, 12, spark, TW_LEFT, attr);
	return x + 13;
}

void
status_draw(struct ui *ui, int y)
{
	const struct engine_global_stats *g = &ui->global;
	int bar = theme_attr(TH_STATUS);
	ui_fill(y, 0, bar);
	bool ascii = tw_ascii();
	int x = 1;
	x = status_rate(y, x, ascii ? "D" : "\xe2\x86\x93", g->down_rate, g->down_limit,
	    &ui->down_hist, bar);
	x = status_rate(y, x, ascii ? "U" : "\xe2\x86\x91", g->up_rate, g->up_limit, &ui->up_hist,
	    bar);
	char text[256], free_s[32];
	fmt_size(g->free_space, free_s, sizeof free_s);
	char port[16];
	if (g->listen_port > 0)
		snprintf(port, sizeof port, "%d", g->listen_port);
	else
		snprintf(port, sizeof port, "none");
	snprintf(text, sizeof text, "conn %d/%d  port %s  free %s  torrents %d/%d", g->connections,
	    g->max_connections, port, free_s, g->torrents_active, g->torrents);
	if (x < COLS)
		ui_put(y, x, COLS - x, text, TW_LEFT, bar);

	/* the line below: the prompt when one is open, else the last message or a hint */
	(void)y;
}

void
prompt_draw(struct ui *ui, int y)
{
	struct ui_prompt *p = &ui->prompt;
	ui_fill(y, 0, 0);
	if (!p->active) {
		if (ui->message[0] != '\0' && dp_now_ms() - ui->message_ms < STATUS_MESSAGE_MS) {
			ui_put(y, 0, COLS, ui->message, TW_LEFT,
			    theme_attr(ui->message_error ? TH_ERROR : TH_NORMAL));
		} else {
			char q[32], h[32], text[128];
			keymap_describe(UI_ACTION_QUIT, q, sizeof q);
			keymap_describe(UI_ACTION_HELP, h, sizeof h);
			snprintf(text, sizeof text, "%s: help   %s: quit", h, q);
			ui_put(y, 0, COLS, text, TW_LEFT, theme_attr(TH_DIM));
		}
		return;
	}
	int lw = tw_width(p->label) + 1;
	if (lw > COLS / 2)
		lw = COLS / 2;
	ui_put(y, 0, lw, p->label, TW_LEFT, theme_attr(TH_PROMPT));
	int avail = COLS - lw - 1;
	if (avail < 1)
		return;
	/* keep the cursor visible: show the tail of the text when it is wider than the field */
	char before[sizeof p->buf];
	memcpy(before, p->buf, p->cur);
	before[p->cur] = '\0';
	int cur_w = tw_width(before);
	const char *shown = p->buf;
	while (cur_w >= avail && *shown != '\0') {
		char one[8];
		size_t n = 1;
		while ((shown[n] & 0xc0) == 0x80)
			n++;
		memcpy(one, shown, n);
		one[n] = '\0';
		cur_w -= tw_width(one);
		shown += n;
	}
	ui_put(y, lw, avail, shown, TW_LEFT, 0);
	if (p->hint[0] != '\0' && tw_width(p->buf) + lw + 4 < COLS) {
		int hx = lw + tw_width(p->buf) + 2;
		ui_put(y, hx, COLS - hx, p->hint, TW_LEFT, theme_attr(TH_DIM));
	}
	move(y, lw + cur_w);
}
