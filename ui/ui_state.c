/* ui_state.c: the calls on the UI's shared state: the status message, refetching the engine's
 * snapshots (and sampling the rate history), finding a torrent, switching screens. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "keymap.h"
#include "log.h"
#include "screens.h"
#include "ui_state.h"

void
ui_message(struct ui *ui, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ui->message, sizeof ui->message, fmt, ap);
	va_end(ap);
	ui->message_error = error;
	ui->message_ms = dp_now_ms();
	if (error)
		log_warn("ui: %s", ui->message);
}

/* ---- snapshots ---- */

void
ui_fetch(struct ui *ui, bool force)
{
	uint64_t now = dp_now_ms();
	if (ui->client == NULL)
		return;
	if (!force && now - ui->fetched_ms < (uint64_t)ui->refresh_ms / 2)
		return;
	ui->fetched_ms = now;
	ui->ntorrents = client_snapshot(ui->client, &ui->torrents, &ui->global);
	ui->list_partial = client_list_partial(ui->client);
	ui->fetches++;
	screen_list_follow(ui);
	if (now - ui->sampled_ms >= 1000) {
		ui->sampled_ms = now;
		spark_push(&ui->down_hist, ui->global.down_rate);
		spark_push(&ui->up_hist, ui->global.up_rate);
	}
}

const struct engine_torrent_stats *
ui_torrent(const struct ui *ui, int id)
{
	/* the client's index (the Tasks screen asks once per row shown, 10,000 torrents behind) */
	if (ui->client != NULL)
		return client_torrent(ui->client, id);
	for (size_t i = 0; i < ui->ntorrents; i++)
		if (ui->torrents[i].id == id)
			return &ui->torrents[i];
	return NULL;
}

bool
ui_transfers_active(const struct ui *ui)
{
	for (size_t i = 0; i < ui->ntorrents; i++) {
		const struct engine_torrent_stats *t = &ui->torrents[i];
		/* data moving or being checked; a download without peers moves nothing */
		if (t->state == ENGINE_TORRENT_CHECKING || t->down_rate > 0 || t->up_rate > 0)
			return true;
	}
	return false;
}

void
ui_show(struct ui *ui, enum ui_screen_id s)
{
	if (s == ui->screen)
		return;
	if (s == SCREEN_HELP || s == SCREEN_DETAIL)
		ui->back_screen = ui->screen == SCREEN_HELP ? ui->back_screen : ui->screen;
	ui->screen = s;
	keymap_reset_pending();
}

void
ui_open_detail(struct ui *ui, int torrent_id)
{
	ui->detail_torrent = torrent_id;
	ui_show(ui, SCREEN_DETAIL);
}
