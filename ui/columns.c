/* columns.c: the columns of the table screens (one table per screen: title, width, priority, the
 * name the config's lists use) and the lists that choose and order them: parsing, checking,
 * formatting, the config's keys, and the sort keys' walk over shown and hidden columns. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dp_config.h"
#include "escape.h"
#include "util.h"
#include "columns.h"

/* Narrow terminals drop columns from the highest priority number down until the name has 24
 * cells: at 80 cells the list keeps #, name (26 cells), state, progress, down and up, ETA from
 * 86; at 200 everything shows. */
static const struct table_col columns_list[LI_COUNT] = {
	[LI_NUM] = { "#", 3, 4, TW_RIGHT, 0, 0, "num" },
	/* names first: columns go before it is cut */
	[LI_NAME] = { "Name", 16, 0, TW_LEFT, 0, 24, "name" },
	[LI_STATE] = { "State", 11, 11, TW_LEFT, 1, 0, "state" },
	[LI_PROGRESS] = { "Progress", 10, 14, TW_LEFT, 0, 0, "progress" },
	[LI_SIZE] = { "Size", 9, 9, TW_RIGHT, 5, 0, "size" },
	[LI_DONE] = { "Done", 9, 9, TW_RIGHT, 8, 0, "done" },
	/* "1023 KiB/s" is the widest rate */
	[LI_DOWN] = { "Down", 10, 10, TW_RIGHT, 2, 0, "down" },
	/* a seedbox watches its upload */
	[LI_UP] = { "Up", 10, 10, TW_RIGHT, 3, 0, "up" },
	[LI_RATIO] = { "Ratio", 5, 5, TW_RIGHT, 7, 0, "ratio" },
	[LI_ETA] = { "ETA", 6, 6, TW_RIGHT, 4, 0, "eta" },
	[LI_PEERS] = { "Peers", 7, 7, TW_RIGHT, 6, 0, "peers" },
	[LI_SEEDS] = { "Seeds", 5, 5, TW_RIGHT, 9, 0, "seeds" },
	/* where K/J/{/} move it */
	[LI_QUEUE] = { "Queue", 6, 6, TW_RIGHT, 6, 0, "queue" },
	[LI_TRACKER] = { "Tracker", 14, 18, TW_LEFT, 10, 0, "tracker" },
};

static const struct table_col columns_peers[PC_COUNT] = {
	[PC_ADDR] = { "Address", 21, 24, TW_LEFT, 0, 0, "address" },
	[PC_CLIENT] = { "Client", 10, 0, TW_LEFT, 0, 0, "client" },
	[PC_VIA] = { "Via", 7, 7, TW_LEFT, 2, 0, "via" },
	[PC_FLAGS] = { "Flags", 9, 9, TW_LEFT, 0, 0, "flags" },
	[PC_PROGRESS] = { "Have", 6, 6, TW_RIGHT, 1, 0, "have" },
	[PC_DOWN] = { "Down", 11, 11, TW_RIGHT, 0, 0, "down" },
	[PC_UP] = { "Up", 11, 11, TW_RIGHT, 2, 0, "up" },
	[PC_REQ] = { "Req out/in", 10, 10, TW_RIGHT, 3, 0, "requests" },
	[PC_TIME] = { "Conn", 7, 7, TW_RIGHT, 4, 0, "connected" },
};

static const struct table_col columns_trackers[TC_COUNT] = {
	/* the error takes the rest: it was cut at 30 */
	[TC_URL] = { "URL", 20, 48, TW_LEFT, 0, 0, "url" },
	[TC_TIER] = { "Tier", 4, 4, TW_RIGHT, 3, 0, "tier" },
	[TC_STATUS] = { "Status", 10, 10, TW_LEFT, 0, 0, "status" },
	[TC_LAST] = { "Last", 8, 8, TW_RIGHT, 4, 0, "last" },
	[TC_NEXT] = { "Next", 8, 8, TW_RIGHT, 1, 0, "next" },
	[TC_PEERS] = { "Peers", 5, 5, TW_RIGHT, 2, 0, "peers" },
	[TC_SEEDS] = { "Seeds", 5, 5, TW_RIGHT, 2, 0, "seeds" },
	[TC_LEECH] = { "Leech", 5, 5, TW_RIGHT, 2, 0, "leechers" },
	[TC_ERROR] = { "Last error", 12, 0, TW_LEFT, 5, 30, "error" },
};

static const struct table_col columns_files[FC_COUNT] = {
	[FC_NAME] = { "Name", 16, 0, TW_LEFT, 0, 0, "name" },
	[FC_SIZE] = { "Size", 9, 9, TW_RIGHT, 1, 0, "size" },
	[FC_PROGRESS] = { "Progress", 12, 14, TW_LEFT, 0, 0, "progress" },
	[FC_PRIO] = { "Priority", 8, 8, TW_LEFT, 0, 0, "priority" },
};

/* The name starts with the kind ("peer 10.0.0.2:51413 ubuntu.iso") and usually the torrent, so
 * those columns drop first; at 80 cells: ID, state, waited, CPU, deadline and a 30-cell name. */
static const struct table_col columns_tasks[TK_COUNT] = {
	[TK_ID] = { "ID", 5, 6, TW_RIGHT, 0, 0, "id" },
	[TK_KIND] = { "Kind", 8, 8, TW_LEFT, 6, 0, "kind" },
	[TK_STATE] = { "State", 12, 12, TW_LEFT, 0, 0, "state" },
	[TK_WAITED] = { "Waited", 7, 7, TW_RIGHT, 0, 0, "waited" },
	[TK_CYCLES] = { "Cycles", 8, 8, TW_RIGHT, 4, 0, "cycles" },
	[TK_CPU] = { "CPU", 8, 8, TW_RIGHT, 2, 0, "cpu" },
	[TK_DEADLINE] = { "Deadline", 8, 8, TW_RIGHT, 3, 0, "deadline" },
	[TK_NAME] = { "Name", 28, 0, TW_LEFT, 0, 0, "name" },
	[TK_TORRENT] = { "Torrent", 4, 24, TW_LEFT, 5, 0, "torrent" },
};

static const struct ui_columns_def columns_defs[UCS_COUNT] = {
	[UCS_LIST] = { "list", "Torrent list", columns_list, LI_COUNT, LI_NAME },
	[UCS_PEERS] = { "peers", "Detail: peers", columns_peers, PC_COUNT, PC_ADDR },
	[UCS_TRACKERS] = { "trackers", "Detail: trackers", columns_trackers, TC_COUNT, TC_URL },
	[UCS_FILES] = { "files", "Detail: files", columns_files, FC_COUNT, FC_NAME },
	[UCS_TASKS] = { "tasks", "Tasks", columns_tasks, TK_COUNT, TK_NAME },
};

#define COLUMNS_TEXT_MAX 1024

const struct ui_columns_def *
ui_columns_def(enum ui_cols_screen s)
{
	return (unsigned)s < UCS_COUNT ? &columns_defs[s] : &columns_defs[0];
}

void
ui_columns_default(enum ui_cols_screen s, struct ui_col_set *out)
{
	const struct ui_columns_def *d = ui_columns_def(s);
	out->n = DP_MIN(d->ncols, UI_COLS_MAX);
	for (int i = 0; i < out->n; i++)
		out->ids[i] = i;
}

/* "num, name, state" for messages: the names a list may use. */
static void
columns_allowed(const struct ui_columns_def *d, char *out, size_t outlen)
{
	size_t pos = 0;
	out[0] = '\0';
	for (int i = 0; i < d->ncols && pos < outlen; i++) {
		int n = snprintf(out + pos, outlen - pos, "%s%s", i ? ", " : "", d->cols[i].key);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
}

int
ui_columns_find(enum ui_cols_screen s, const char *name, size_t len)
{
	const struct ui_columns_def *d = ui_columns_def(s);
	for (int i = 0; i < d->ncols; i++)
		if (strlen(d->cols[i].key) == len && strncasecmp(d->cols[i].key, name, len) == 0)
			return i;
	return -1;
}

int
ui_columns_parse(enum ui_cols_screen s, const char *text, struct ui_col_set *out, char *err,
    size_t errlen)
{
	const struct ui_columns_def *d = ui_columns_def(s);
	char allowed[512];
	struct ui_col_set set = { 0 };
	size_t len = strlen(text);
	if (len > COLUMNS_TEXT_MAX) {
		dp_fail(err, errlen, "longer than %d bytes", COLUMNS_TEXT_MAX);
		return -1;
	}
	const char *p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0') {
		columns_allowed(d, allowed, sizeof allowed);
		dp_fail(err, errlen, "no columns (an empty list is refused; columns: %s)", allowed);
		return -1;
	}
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		size_t a = 0, b = n;
		while (a < b && (p[a] == ' ' || p[a] == '\t'))
			a++;
		while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
			b--;
		if (a == b) {
			dp_fail(err, errlen, "an empty entry (two commas, or one at an end)");
			return -1;
		}
		int id = ui_columns_find(s, p + a, b - a);
		if (id < 0) {
			char name[25], shown[100];
			/* hostile text: printed escaped and cut */
			snprintf(name, sizeof name, "%.*s", (int)DP_MIN(b - a, sizeof name - 1), p + a);
			dp_escape(name, shown, sizeof shown);
			columns_allowed(d, allowed, sizeof allowed);
			dp_fail(err, errlen, "unknown column '%s' (columns: %s)", shown, allowed);
			return -1;
		}
		if (ui_columns_has(&set, id)) {
			dp_fail(err, errlen, "column '%s' is listed twice", d->cols[id].key);
			return -1;
		}
		/* no overflow: the names are distinct and there are at most UI_COLS_MAX */
		set.ids[set.n++] = id;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (!ui_columns_has(&set, d->required)) {
		dp_fail(err, errlen, "the %s column is required (it names the rows)",
		    d->cols[d->required].key);
		return -1;
	}
	*out = set;
	return 0;
}

void
ui_columns_format(enum ui_cols_screen s, const struct ui_col_set *set, char *out, size_t outlen)
{
	const struct ui_columns_def *d = ui_columns_def(s);
	size_t pos = 0;
	if (outlen > 0)
		out[0] = '\0';
	for (int i = 0; i < set->n && pos < outlen; i++) {
		if (set->ids[i] < 0 || set->ids[i] >= d->ncols)
			continue;
		int n = snprintf(out + pos, outlen - pos, "%s%s", pos ? "," : "",
		    d->cols[set->ids[i]].key);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
}

bool
ui_columns_equal(const struct ui_col_set *a, const struct ui_col_set *b)
{
	return a->n == b->n && memcmp(a->ids, b->ids, (size_t)a->n * sizeof a->ids[0]) == 0;
}

bool
ui_columns_has(const struct ui_col_set *set, int id)
{
	for (int i = 0; i < set->n; i++)
		if (set->ids[i] == id)
			return true;
	return false;
}

int
ui_columns_sort_step(const struct ui_col_set *set, int ncols, int cur, int delta)
{
	int order[UI_COLS_MAX], n = 0;
	ncols = DP_MIN(ncols, UI_COLS_MAX);
	if (ncols <= 0)
		return 0;
	for (int i = 0; set != NULL && i < set->n && n < ncols; i++)
		if (set->ids[i] >= 0 && set->ids[i] < ncols)
			order[n++] = set->ids[i];
	for (int id = 0; id < ncols; id++)
		if (set == NULL || !ui_columns_has(set, id))
			order[n++] = id;
	int at = 0;
	for (int i = 0; i < n; i++)
		if (order[i] == cur)
			at = i;
	return order[((at + (delta < 0 ? n - 1 : 1)) % n)];
}

const char *
ui_columns_config_text(const struct dp_config *cfg, enum ui_cols_screen s)
{
	switch (s) {
	case UCS_LIST: return cfg->ui.list_columns;
	case UCS_PEERS: return cfg->ui.peers_columns;
	case UCS_TRACKERS: return cfg->ui.trackers_columns;
	case UCS_FILES: return cfg->ui.files_columns;
	case UCS_TASKS: return cfg->ui.tasks_columns;
	default: return NULL;
	}
}

int
ui_columns_from_config(const struct dp_config *cfg, struct ui_col_set out[UCS_COUNT], char *err,
    size_t errlen)
{
	for (int s = 0; s < UCS_COUNT; s++) {
		const char *text = ui_columns_config_text(cfg, (enum ui_cols_screen)s);
		char why[768];
		if (text == NULL) {
			ui_columns_default((enum ui_cols_screen)s, &out[s]);
			continue;
		}
		if (ui_columns_parse((enum ui_cols_screen)s, text, &out[s], why, sizeof why) != 0) {
			dp_fail(err, errlen, "ui.%s_columns: %s", columns_defs[s].name, why);
			return -1;
		}
	}
	return 0;
}
