/* actions.c: the commands the user gives on torrents and on the session, shared by the list,
 * the detail screen and the frame: each runs on every chosen torrent and reports the first
 * failure with the engine's reason; removing and stopping everything ask first. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "actions.h"
#include "ui_state.h"
#include "widget_prompt.h"
#include "widgets.h"

static const char actions_limits_help[] = "rate limits: expected DOWN [UP] like '1.5M 500K' "
    "(one value: download only; 0 = unlimited)";

struct actions_pending {
	enum ui_action action;
	int *ids;
	size_t n;
};

static struct actions_pending *
actions_pending_new(enum ui_action a, const int *ids, size_t n)
{
	struct actions_pending *p = xcalloc(1, sizeof *p);
	p->action = a;
	p->n = n;
	p->ids = xcalloc(n ? n : 1, sizeof *ids);
	memcpy(p->ids, ids, n * sizeof *ids);
	return p;
}

static void
actions_pending_free(struct actions_pending *p)
{
	free(p->ids);
	free(p);
}

/* The words for a command in the status line: done ("started #3 name") and failed ("cannot
 * start #3: reason"). */
static const char *
actions_past(enum ui_action a)
{
	switch (a) {
	case UI_ACTION_START:
	case UI_ACTION_RESUME_ALL: return "started";
	case UI_ACTION_STOP:
	case UI_ACTION_PAUSE_ALL: return "stopped";
	case UI_ACTION_REMOVE: return "removed (data kept)";
	case UI_ACTION_REMOVE_DATA: return "removed with its data";
	case UI_ACTION_RECHECK: return "rechecking";
	case UI_ACTION_REANNOUNCE: return "announcing";
	case UI_ACTION_SEQUENTIAL: return "sequential toggled for";
	case UI_ACTION_LIMIT_TORRENT: return "rate limits set for";
	case UI_ACTION_QUEUE_UP: return "moved up the queue:";
	case UI_ACTION_QUEUE_DOWN: return "moved down the queue:";
	case UI_ACTION_QUEUE_TOP: return "moved to the queue's top:";
	case UI_ACTION_QUEUE_BOTTOM: return "moved to the queue's bottom:";
	default: return keymap_action_name(a);
	}
}

static const char *
actions_verb(enum ui_action a)
{
	switch (a) {
	case UI_ACTION_START:
	case UI_ACTION_RESUME_ALL: return "start";
	case UI_ACTION_STOP:
	case UI_ACTION_PAUSE_ALL: return "stop";
	case UI_ACTION_REMOVE:
	case UI_ACTION_REMOVE_DATA: return "remove";
	case UI_ACTION_RECHECK: return "recheck";
	case UI_ACTION_REANNOUNCE: return "reannounce";
	case UI_ACTION_SEQUENTIAL: return "toggle sequential for";
	case UI_ACTION_LIMIT_TORRENT: return "set rate limits for";
	case UI_ACTION_PEER_ADD: return "connect";
	case UI_ACTION_QUEUE_UP:
	case UI_ACTION_QUEUE_DOWN:
	case UI_ACTION_QUEUE_TOP:
	case UI_ACTION_QUEUE_BOTTOM: return "move in the queue";
	default: return keymap_action_name(a);
	}
}

/* Runs one command per torrent; reports the first failure with its torrent and the engine's
 * reason. */
static void
actions_run_each(struct ui *ui, enum ui_action a, const int *ids, size_t n, const char *text)
{
	char err[256];
	size_t ok = 0;
	for (size_t i = 0; i < n; i++) {
		err[0] = '\0';
		const struct engine_torrent_stats *t = ui_torrent(ui, ids[i]);
		struct client_cmd cmd = { .torrent = ids[i], .text = text };
		switch (a) {
		case UI_ACTION_START:
		case UI_ACTION_RESUME_ALL: cmd.kind = CLIENT_CMD_START; break;
		case UI_ACTION_STOP:
		case UI_ACTION_PAUSE_ALL: cmd.kind = CLIENT_CMD_STOP; break;
		case UI_ACTION_REMOVE: cmd.kind = CLIENT_CMD_REMOVE; break;
		case UI_ACTION_REMOVE_DATA: cmd.kind = CLIENT_CMD_REMOVE_DATA; break;
		case UI_ACTION_RECHECK: cmd.kind = CLIENT_CMD_RECHECK; break;
		case UI_ACTION_REANNOUNCE: cmd.kind = CLIENT_CMD_REANNOUNCE; break;
		case UI_ACTION_SEQUENTIAL:
			cmd.kind = CLIENT_CMD_SEQUENTIAL;
			cmd.on = t ? !t->sequential : true;
			break;
		case UI_ACTION_PEER_ADD: cmd.kind = CLIENT_CMD_ADD_PEER; break;
		case UI_ACTION_QUEUE_UP:
		case UI_ACTION_QUEUE_DOWN:
		case UI_ACTION_QUEUE_TOP:
		case UI_ACTION_QUEUE_BOTTOM:
			cmd.kind = CLIENT_CMD_QUEUE_MOVE;
			cmd.where = a == UI_ACTION_QUEUE_UP ? ENGINE_QUEUE_UP :
			    a == UI_ACTION_QUEUE_DOWN ? ENGINE_QUEUE_DOWN :
			    a == UI_ACTION_QUEUE_TOP ? ENGINE_QUEUE_TOP : ENGINE_QUEUE_BOTTOM;
			break;
		case UI_ACTION_LIMIT_TORRENT:
			cmd.up = t != NULL ? t->up_limit : 0;
			if (!actions_parse_limits(text, &cmd.down, &cmd.up)) {
				ui_message(ui, true, "%s", actions_limits_help);
				return;
			}
			cmd.kind = CLIENT_CMD_TORRENT_LIMITS;
			break;
		default:
			return;
		}
		int rc = client_command(ui->client, &cmd, NULL, err, sizeof err);
		if (rc != 0) {
			char done[64] = "";
			if (ok > 0)
				snprintf(done, sizeof done, " (%zu before it done)", ok);
			ui_message(ui, true, "cannot %s #%d %.60s%s%.100s: %s%s", actions_verb(a), ids[i],
			    t ? t->name : "", a == UI_ACTION_PEER_ADD ? " to " : "",
			    a == UI_ACTION_PEER_ADD && text ? text : "", err[0] ? err : "failed", done);
			ui_fetch(ui, true);
			return;
		}
		ok++;
	}
	if (a == UI_ACTION_REMOVE || a == UI_ACTION_REMOVE_DATA)
		ui->removals++;   /* the list drops its marks */
	const struct engine_torrent_stats *one = n == 1 ? ui_torrent(ui, ids[0]) : NULL;
	char what[300];
	if (one != NULL)
		snprintf(what, sizeof what, "#%d %.200s", one->id, one->name);
	else
		snprintf(what, sizeof what, "%zu torrent%s", ok, ok == 1 ? "" : "s");
	if (a == UI_ACTION_PEER_ADD)
		ui_message(ui, false, "connecting %s to %.100s", what, text);
	else
		ui_message(ui, false, "%s %s", actions_past(a), what);
	ui_fetch(ui, true);
}

static void
actions_pending_answer(struct ui *ui, const char *text, void *arg)
{
	struct actions_pending *p = arg;
	if (p->action == UI_ACTION_LIMIT_TORRENT || p->action == UI_ACTION_PEER_ADD) {
		if (text != NULL && text[0] != '\0')
			actions_run_each(ui, p->action, p->ids, p->n, text);
	} else if (text != NULL && text[0] == 'y') {
		actions_run_each(ui, p->action, p->ids, p->n, NULL);
		if (ui->screen == SCREEN_DETAIL && (p->action == UI_ACTION_REMOVE ||
		    p->action == UI_ACTION_REMOVE_DATA))
			ui_show(ui, SCREEN_LIST);
	} else {
		ui_message(ui, false, "cancelled");
	}
	actions_pending_free(p);
}

bool
actions_torrent(struct ui *ui, enum ui_action a, const int *ids, size_t n)
{
	char q[256];
	switch (a) {
	case UI_ACTION_START:
	case UI_ACTION_STOP:
	case UI_ACTION_RECHECK:
	case UI_ACTION_REANNOUNCE:
	case UI_ACTION_SEQUENTIAL:
	case UI_ACTION_QUEUE_UP:
	case UI_ACTION_QUEUE_DOWN:
	case UI_ACTION_QUEUE_TOP:
	case UI_ACTION_QUEUE_BOTTOM:
		if (n == 0) {
			ui_message(ui, true, "no torrent selected");
			return true;
		}
		actions_run_each(ui, a, ids, n, NULL);
		return true;
	case UI_ACTION_REMOVE:
	case UI_ACTION_REMOVE_DATA: {
		if (n == 0) {
			ui_message(ui, true, "no torrent selected");
			return true;
		}
		const struct engine_torrent_stats *t = ui_torrent(ui, ids[0]);
		if (n == 1 && t != NULL)
			snprintf(q, sizeof q, "Remove '%.120s'%s? (y/n)", t->name,
			    a == UI_ACTION_REMOVE_DATA ? " AND DELETE ITS DATA" : "");
		else
			snprintf(q, sizeof q, "Remove %zu torrents%s? (y/n)", n,
			    a == UI_ACTION_REMOVE_DATA ? " AND DELETE THEIR DATA" : "");
		prompt_confirm(ui, q, actions_pending_answer, actions_pending_new(a, ids, n));
		return true;
	}
	case UI_ACTION_LIMIT_TORRENT: {
		if (n == 0) {
			ui_message(ui, true, "no torrent selected");
			return true;
		}
		const struct engine_torrent_stats *t = ui_torrent(ui, ids[0]);
		char d[32] = "none", u[32] = "none";
		if (t != NULL && t->down_limit)
			fmt_rate(t->down_limit, d, sizeof d);
		if (t != NULL && t->up_limit)
			fmt_rate(t->up_limit, u, sizeof u);
		snprintf(q, sizeof q, "limits now %s / %s; DOWN [UP] for %zu torrent%s (0 = none):", d, u,
		    n, n == 1 ? "" : "s");
		prompt_open(ui, q, "", false, actions_pending_answer, NULL, actions_pending_new(a, ids, n));
		return true;
	}
	case UI_ACTION_PEER_ADD:
		if (n == 0) {
			ui_message(ui, true, "no torrent selected");
			return true;
		}
		if (n == 1)
			snprintf(q, sizeof q, "connect #%d to peer (ADDR:PORT):", ids[0]);
		else
			snprintf(q, sizeof q, "connect %zu torrents to peer (ADDR:PORT):", n);
		prompt_open(ui, q, "", false, actions_pending_answer, NULL, actions_pending_new(a, ids, n));
		return true;
	default:
		return false;
	}
}

bool
actions_all(struct ui *ui, enum ui_action a)
{
	if (a != UI_ACTION_PAUSE_ALL && a != UI_ACTION_RESUME_ALL)
		return false;
	int *all = xcalloc(ui->ntorrents ? ui->ntorrents : 1, sizeof *all);
	for (size_t i = 0; i < ui->ntorrents; i++)
		all[i] = ui->torrents[i].id;
	if (a == UI_ACTION_PAUSE_ALL && ui->ntorrents > 1) {
		/* stopping every transfer is hard to undo by hand: ask */
		char q[128];
		snprintf(q, sizeof q, "Stop all %zu torrents? (y/n)", ui->ntorrents);
		prompt_confirm(ui, q, actions_pending_answer, actions_pending_new(a, all, ui->ntorrents));
	} else {
		actions_run_each(ui, a, all, ui->ntorrents, NULL);
	}
	free(all);
	return true;
}

static void
actions_global_limits_done(struct ui *ui, const char *text, void *arg)
{
	(void)arg;
	uint64_t down, up = ui->global.up_limit;
	if (text == NULL)
		return;
	if (!actions_parse_limits(text, &down, &up)) {
		ui_message(ui, true, "%s", actions_limits_help);
		return;
	}
	struct client_cmd cmd = { .kind = CLIENT_CMD_GLOBAL_LIMITS, .down = down, .up = up };
	char err[256] = "";
	if (client_command(ui->client, &cmd, NULL, err, sizeof err) != 0)
		ui_message(ui, true, "cannot set the global limits: %s", err[0] ? err : "failed");
	else
		ui_message(ui, false, "global limits set");
	ui_fetch(ui, true);
}

void
actions_global_limits(struct ui *ui)
{
	char label[128], d[32], u[32];
	fmt_rate(ui->global.down_limit, d, sizeof d);
	fmt_rate(ui->global.up_limit, u, sizeof u);
	snprintf(label, sizeof label, "global limits now %s / %s; DOWN [UP] (0 = none):",
	    ui->global.down_limit ? d : "none", ui->global.up_limit ? u : "none");
	prompt_open(ui, label, "", false, actions_global_limits_done, NULL, NULL);
}

void
actions_alt_speed(struct ui *ui)
{
	bool on = !ui->global.alt_speed;
	struct client_cmd cmd = { .kind = CLIENT_CMD_ALT_SPEED, .on = on };
	char err[256] = "";
	if (client_command(ui->client, &cmd, NULL, err, sizeof err) != 0) {
		ui_message(ui, true, "cannot switch the alternative limits: %s",
		    err[0] ? err : "failed");
		ui_fetch(ui, true);
	} else {
		ui_fetch(ui, true);
		char d[32] = "none", u[32] = "none";
		if (ui->global.down_limit)
			fmt_rate(ui->global.down_limit, d, sizeof d);
		if (ui->global.up_limit)
			fmt_rate(ui->global.up_limit, u, sizeof u);
		ui_message(ui, false, "alternative limits (turtle mode) %s: limits now %s / %s",
		    on ? "on" : "off", d, u);
	}
}

/* A rate as people type it: "1.5M", "500K", "2MiB", "300k/s", "0"; K, M, G, T are 1024s. */
static bool
actions_parse_rate(const char *s, uint64_t *out)
{
	if (!isdigit((unsigned char)*s) && *s != '.')
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		return false;
	double mult = 1;
	const char *units = "KMGT";
	const char *u = *end != '\0' ? strchr(units, toupper((unsigned char)*end)) : NULL;
	if (u != NULL) {
		mult = (double)(1ull << (10 * (u - units + 1)));
		end++;
	}
	if (strcasecmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0 &&
	    strcasecmp(end, "/s") != 0 && strcasecmp(end, "B/s") != 0 &&
	    strcasecmp(end, "iB/s") != 0)
		return false;
	v *= mult;
	if (v >= 1.8e19)
		return false;
	*out = (uint64_t)(v + 0.5);
	return true;
}

/* Reads "DOWN [UP]" rates ("1.5M 500K", "0 0"): one value sets the download limit only (*up
 * is left as the caller set it: the limit in force). */
bool
actions_parse_limits(const char *text, uint64_t *down, uint64_t *up)
{
	char a[64], b[64], extra[2];
	int n = sscanf(text, "%63s %63s %1s", a, b, extra);
	if (n < 1 || n > 2 || !actions_parse_rate(a, down))
		return false;
	return n == 1 || actions_parse_rate(b, up);
}
