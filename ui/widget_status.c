/* widget_status.c: the status bar: global rates with their limits and a rate-history sparkline,
 * "turtle" while the alternative limits are in force, connections, listening port, DHT nodes, free space in the download directory. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "draw.h"
#include "theme.h"
#include "ui_state.h"
#include "widget_status.h"
#include "widgets.h"

/* The bar's pieces in display order; the narrower the terminal, the fewer are shown, dropped
 * from the highest priority number down (rates always stay). Rates sit right-aligned in a fixed
 * field so the sparklines beside them do not move as the numbers change. */
enum { SB_DOWN, SB_DOWN_SPARK, SB_UP, SB_UP_SPARK, SB_ALT, SB_CONN, SB_DHT, SB_PORT, SB_FREE,
	SB_TORRENTS, SB_COUNT };
/* "turtle" stays with the rates: it says why they are capped */
static const int status_priority[SB_COUNT] = {
	[SB_DOWN] = 0, [SB_UP] = 0, [SB_ALT] = 0, [SB_CONN] = 1, [SB_FREE] = 2, [SB_DOWN_SPARK] = 3,
	[SB_UP_SPARK] = 3, [SB_TORRENTS] = 4, [SB_DHT] = 4, [SB_PORT] = 5,
};
#define STATUS_SPARK_CELLS 12
#define STATUS_RATE_CELLS 10

static void
status_rate_text(const char *arrow, uint64_t rate, uint64_t limit, char *out, size_t outlen)
{
	char r[32], f[64], lim[32];
	fmt_rate(rate, r, sizeof r);
	if (rate == 0)
		snprintf(r, sizeof r, "0 B/s");
	tw_fit(r, STATUS_RATE_CELLS, TW_RIGHT, f, sizeof f);
	if (limit > 0) {
		fmt_size(limit, lim, sizeof lim);
		snprintf(out, outlen, "%s %s (max %s/s)", arrow, f, lim);
	} else {
		snprintf(out, outlen, "%s %s", arrow, f);
	}
}

void
status_draw(struct ui *ui, int y)
{
	const struct engine_global_stats *g = &ui->global;
	int bar = theme_attr(TH_STATUS);
	bool ascii = tw_ascii();
	char text[SB_COUNT][160];
	int width[SB_COUNT];
	bool shown[SB_COUNT];

	status_rate_text(ascii ? "D" : "\xe2\x86\x93", g->down_rate, g->down_limit, text[SB_DOWN],
	    sizeof text[SB_DOWN]);
	status_rate_text(ascii ? "U" : "\xe2\x86\x91", g->up_rate, g->up_limit, text[SB_UP],
	    sizeof text[SB_UP]);
	/* scaled to the limit when there is one, else to the history's peak */
	sparkline_render(ui->down_hist.v, ui->down_hist.n, STATUS_SPARK_CELLS, g->down_limit,
	    text[SB_DOWN_SPARK], sizeof text[SB_DOWN_SPARK]);
	sparkline_render(ui->up_hist.v, ui->up_hist.n, STATUS_SPARK_CELLS, g->up_limit,
	    text[SB_UP_SPARK], sizeof text[SB_UP_SPARK]);
	snprintf(text[SB_ALT], sizeof text[SB_ALT], "%s", g->alt_speed ? "turtle" : "");
	snprintf(text[SB_CONN], sizeof text[SB_CONN], "conn %d/%d", g->connections,
	    g->max_connections);
	/* the DHT's node count; nothing when the DHT is off */
	text[SB_DHT][0] = '\0';
	if (g->dht_nodes >= 0)
		snprintf(text[SB_DHT], sizeof text[SB_DHT], "DHT %d", g->dht_nodes);
	if (g->listen_port > 0)
		snprintf(text[SB_PORT], sizeof text[SB_PORT], "port %d", g->listen_port);
	else
		snprintf(text[SB_PORT], sizeof text[SB_PORT], "not listening");
	char free_s[32];
	fmt_size(g->free_space, free_s, sizeof free_s);
	snprintf(text[SB_FREE], sizeof text[SB_FREE], "free %s", free_s);
	snprintf(text[SB_TORRENTS], sizeof text[SB_TORRENTS], "%d/%d active", g->torrents_active,
	    g->torrents);

	/* keep pieces by priority while they fit: one leading space, two between pieces */
	int used = 1;
	for (int i = 0; i < SB_COUNT; i++) {
		width[i] = tw_width(text[i]);
		shown[i] = false;
	}
	for (int prio = 0; prio <= 5; prio++) {
		for (int i = 0; i < SB_COUNT; i++) {
			if (status_priority[i] != prio || text[i][0] == '\0')
				continue;
			if (used + width[i] + 2 <= COLS || prio == 0) {
				shown[i] = true;
				used += width[i] + 2;
			}
		}
	}
	draw_fill(y, 0, bar);
	int x = 1;
	for (int i = 0; i < SB_COUNT && x < COLS; i++) {
		if (!shown[i])
			continue;
		/* a rate and its sparkline belong together: one space between them */
		int gap = (i == SB_DOWN || i == SB_UP) && shown[i + 1] ? 1 : 2;
		draw_text(y, x, DP_MIN(width[i], COLS - x), text[i], TW_LEFT, bar);
		x += width[i] + gap;
	}
}
