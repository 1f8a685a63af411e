/* screen_list.c: the torrent list: columns sortable by any field, a state filter, incremental
 * search, multi-select; the commands on the chosen torrents are actions.c's. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "util.h"
#include "actions.h"
#include "columns.h"
#include "draw.h"
#include "screens.h"
#include "theme.h"
#include "ui_state.h"
#include "widget_chooser.h"
#include "widget_prompt.h"

enum list_filter { LF_ALL, LF_DOWNLOADING, LF_SEEDING, LF_PAUSED, LF_CHECKING, LF_ERROR,
	LF_COUNT };
/* As the states are named ("stopped", not "paused": the filter said one, the rows the other). */
static const char *const list_filter_names[LF_COUNT] = { "all", "downloading", "seeding",
	"stopped", "checking", "error" };

/* A torrent's name folded once, for the search and the Name sort: folding 10,000 names on
 * every draw (twice per comparison when sorting) cost more than the rest of the screen. */
struct list_name {
	uint64_t hash;           /* of the name it was folded from */
	struct text_key *key;
};

/* What the filter and the sort read of a torrent, at the same index as its row in
 * ui->torrents, copied again only from the rows the client says changed (client_changes): a
 * client's row is 3 KiB, and the walk over 10,000 of them at every refresh (a cache and TLB
 * miss each, first touches of a grown array much worse on this VM) was most of a draw's CPU,
 * 45-60 ms on the first full list. */
struct list_entry {
	int id;
	enum engine_torrent_state state;
	int peers, seeds, queue;
	double progress, ratio;
	uint64_t size, done, down, up;
	int64_t eta;
	const struct text_key *name;   /* folded, once a search or the Name sort wanted it */
};

/* A row shown: where its torrent is in ui->torrents (and in the entries), and its id when
 * built (a client's rows move when one goes, so the selection is found again by id). */
struct list_row {
	size_t at;
	int id;
};

struct list_state {
	struct table_state st;
	enum list_filter filter;
	char search[256];
	struct list_row *rows;   /* after filter and sort */
	size_t nrows, caprows;
	struct list_entry *ent;  /* by index in ui->torrents */
	size_t nent, capent;
	struct dp_idmap names;   /* id -> struct list_name */
	size_t fold_at;          /* where folding ahead goes on (list_fold_ahead) */
	/* what the rows were last built from: a draw with the same skips the rebuild */
	bool built;
	uint64_t built_fetch;
	enum list_filter built_filter;
	char built_search[256];
	int built_sort_col;
	bool built_sort_desc;
	int page;
	unsigned removals;       /* ui->removals when the marks were last valid */
	/* adds under way (a file is read on a disk worker): what was typed, for the answer's
	 * message; a ring, the ninth at once reuses the first's */
	struct list_adding {
		struct ui *ui;
		char text[256];
	} adding[8];
	unsigned nadding;
};

static struct list_state *
list_get(struct ui *ui)
{
	if (ui->list == NULL) {
		ui->list = xcalloc(1, sizeof *ui->list);
		dp_idmap_init(&ui->list->names);
		ui->list->st.sel = -1;
		ui->list->st.sort_col = LI_NUM;
		ui_sort_apply(ui, UCS_LIST, &ui->list->st);
		ui->list->removals = ui->removals;
	}
	/* marked torrents were removed (from here or from their detail): the marks go with them */
	if (ui->list->removals != ui->removals) {
		table_clear_marks(&ui->list->st);
		ui->list->removals = ui->removals;
	}
	return ui->list;
}

static bool
list_filter_match(enum list_filter f, enum engine_torrent_state state)
{
	switch (f) {
	case LF_ALL:
		return true;
	case LF_DOWNLOADING:
		return state == ENGINE_TORRENT_DOWNLOADING || state == ENGINE_TORRENT_METADATA;
	case LF_SEEDING:
		return state == ENGINE_TORRENT_SEEDING;
	case LF_PAUSED:
		return state == ENGINE_TORRENT_STOPPED || state == ENGINE_TORRENT_QUEUED;
	case LF_CHECKING:
		return state == ENGINE_TORRENT_CHECKING;
	case LF_ERROR:
		return state == ENGINE_TORRENT_ERROR;
	default:
		return true;
	}
}

/* qsort has no context argument: the sort key lives here for the duration of one sort. */
static const struct engine_torrent_stats *list_sort_base;
static const struct list_entry *list_sort_ent;
static int list_sort_col;
static bool list_sort_desc;

/* The ETA shown and sorted on: a seed's 0 and a stopped torrent's stale estimate read "-". */
static int64_t
list_eta(const struct engine_torrent_stats *t)
{
	return t->state == ENGINE_TORRENT_DOWNLOADING ? t->eta_s : -1;
}

/* Done of what is wanted, beside Size (the wanted bytes): verified pieces of skipped files
 * counted too made "Done 126 MiB" of "Size 108 MiB". */
static uint64_t
list_done(const struct engine_torrent_stats *t)
{
	return t->wanted_size > t->left ? t->wanted_size - t->left : 0;
}

#define LIST_CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

static int
list_compare(const void *pa, const void *pb)
{
	size_t ia = ((const struct list_row *)pa)->at, ib = ((const struct list_row *)pb)->at;
	const struct list_entry *a = &list_sort_ent[ia], *b = &list_sort_ent[ib];
	int c = 0;
	switch (list_sort_col) {
	case LI_NAME:
		c = text_key_cmp(a->name, b->name);
		if (c == 0)
			c = strcmp(list_sort_base[ia].name, list_sort_base[ib].name);
		break;
	case LI_STATE: c = LIST_CMP(a->state, b->state); break;
	case LI_PROGRESS: c = LIST_CMP(a->progress, b->progress); break;
	case LI_SIZE: c = LIST_CMP(a->size, b->size); break;
	case LI_DONE: c = LIST_CMP(a->done, b->done); break;
	case LI_DOWN: c = LIST_CMP(a->down, b->down); break;
	case LI_UP: c = LIST_CMP(a->up, b->up); break;
	case LI_RATIO: c = LIST_CMP(a->ratio, b->ratio); break;
	case LI_ETA: c = LIST_CMP((uint64_t)a->eta, (uint64_t)b->eta); break; /* - last */
	case LI_PEERS: c = LIST_CMP(a->peers, b->peers); break;
	case LI_SEEDS: c = LIST_CMP(a->seeds, b->seeds); break;
	case LI_QUEUE: c = LIST_CMP((unsigned)a->queue, (unsigned)b->queue);
		break;                /* none (-1) last */
	case LI_TRACKER:
		/* the rows themselves: a sort on a text nobody keeps a key of */
		c = strcmp(list_sort_base[ia].tracker_status, list_sort_base[ib].tracker_status);
		break;
	default: break;
	}
	if (c == 0)
		c = LIST_CMP(a->id, b->id);
	return list_sort_desc ? -c : c;
}

static void
list_names_free(struct list_state *l)
{
	for (size_t i = 0; i < dp_idmap_slots(&l->names); i++) {
		struct list_name *nm = dp_idmap_slot(&l->names, i, NULL);
		if (nm != NULL) {
			free(nm->key);
			free(nm);
		}
	}
	dp_idmap_free(&l->names);
	dp_idmap_init(&l->names);
	for (size_t i = 0; i < l->nent; i++)
		l->ent[i].name = NULL;
}

/* t's folded name, folded again only when the name changed (a magnet's name arrives). */
static const struct text_key *
list_name_key(struct list_state *l, const struct engine_torrent_stats *t)
{
	uint64_t h = dp_fnv1a(DP_FNV1A_INIT, t->name, strnlen(t->name, sizeof t->name));
	struct list_name *nm = dp_idmap_get(&l->names, (uint64_t)t->id);
	if (nm == NULL) {
		nm = xcalloc(1, sizeof *nm);
		dp_idmap_put(&l->names, (uint64_t)t->id, nm);
	} else if (nm->hash == h) {
		return nm->key;
	}
	free(nm->key);
	nm->key = text_key_new(t->name);
	nm->hash = h;
	return nm->key;
}

/* Copies what the filter and sort read of the row at index i; a name folded before is kept
 * (folded again if it changed), else left to whoever needs it. */
static void
list_entry_set(struct list_state *l, const struct engine_torrent_stats *t, size_t i)
{
	struct list_entry *e = &l->ent[i];
	e->id = t->id;
	e->state = t->state;
	e->peers = t->peers_connected;
	e->seeds = t->seeds_connected;
	e->queue = t->queue_position;
	e->progress = t->progress;
	e->ratio = t->ratio;
	e->size = t->wanted_size;
	e->done = list_done(t);
	e->down = t->down_rate;
	e->up = t->up_rate;
	e->eta = list_eta(t);
	e->name = dp_idmap_get(&l->names, (uint64_t)t->id) != NULL ? list_name_key(l, t) : NULL;
}

/* Brings the entries up to the rows: those the client says changed, or all of them; true when
 * any did. */
static bool
list_entries_follow(struct ui *ui, struct list_state *l)
{
	int *ids = NULL;
	bool all = true;
	size_t n = ui->client != NULL ? client_changes(ui->client, &ids, &all) : 0;
	/* room for the whole list at once while its first reading comes in parts */
	size_t want = DP_MAX(ui->ntorrents, (size_t)DP_MAX(ui->global.torrents, 0));
	if (l->capent < want) {
		l->capent = DP_MAX(want, 2 * l->capent);
		l->ent = xreallocarray(l->ent, l->capent, sizeof *l->ent);
	}
	bool grew = l->nent != ui->ntorrents;
	l->nent = ui->ntorrents;
	if (all) {
		for (size_t i = 0; i < ui->ntorrents; i++)
			list_entry_set(l, &ui->torrents[i], i);
	} else {
		/* a removal moved the last row into its gap: both ids are among the changes */
		for (size_t k = 0; k < n; k++) {
			const struct engine_torrent_stats *t = ui_torrent(ui, ids[k]);
			if (t != NULL && t >= ui->torrents && t < ui->torrents + ui->ntorrents)
				list_entry_set(l, t, (size_t)(t - ui->torrents));
		}
	}
	free(ids);
	return all || n > 0 || grew;
}

void
screen_list_follow(struct ui *ui)
{
	struct list_state *l = list_get(ui);
	l->built_fetch = ui->fetches;
	if (list_entries_follow(ui, l))
		l->built = false;
}

/* Names folded ahead at each rebuild that needs none, so that the first Name sort or search of
 * 10,000 rows finds them ready instead of folding all of them in one callback (~10-30 ms). */
#define LIST_FOLD_AHEAD 512

static void
list_fold_ahead(const struct ui *ui, struct list_state *l)
{
	for (size_t k = 0; k < LIST_FOLD_AHEAD && k < ui->ntorrents; k++) {
		size_t i = l->fold_at++ % ui->ntorrents;
		if (l->ent[i].name == NULL)
			l->ent[i].name = list_name_key(l, &ui->torrents[i]);
	}
}

/* Whether the rows are built from what is there now (the same filter, search, sort, and no row
 * changed since). */
static bool
list_built_current(const struct list_state *l)
{
	return l->built && l->built_filter == l->filter &&
	    l->built_sort_col == l->st.sort_col && l->built_sort_desc == l->st.sort_desc &&
	    strcmp(l->built_search, l->search) == 0;
}

/* Rebuilds the visible rows, keeping the selection on the same torrent; a draw with nothing new
 * (a key that moves the selection, a refresh where no row changed) keeps them. */
static void
list_rebuild(struct ui *ui, struct list_state *l)
{
	/* without a client (the benchmark's rows) every fetch is all rows anew */
	if (l->built_fetch != ui->fetches || l->nent != ui->ntorrents)
		screen_list_follow(ui);
	if (list_built_current(l))
		return;
	l->built = true;
	l->built_filter = l->filter;
	l->built_sort_col = l->st.sort_col;
	l->built_sort_desc = l->st.sort_desc;
	snprintf(l->built_search, sizeof l->built_search, "%s", l->search);
	int sel_id = -1;
	if (l->st.sel >= 0 && (size_t)l->st.sel < l->nrows)
		sel_id = l->rows[l->st.sel].id;
	if (l->caprows < ui->ntorrents) {
		l->caprows = l->capent;
		l->rows = xreallocarray(l->rows, l->caprows, sizeof *l->rows);
	}
	/* names of torrents gone pile up: dropped all at once now and then */
	if (l->names.count > 2 * ui->ntorrents + 64)
		list_names_free(l);
	/* the folded names only when a search or the Name sort needs them */
	struct text_key *needle = l->search[0] != '\0' ? text_key_new(l->search) : NULL;
	bool keyed = needle != NULL || l->st.sort_col == LI_NAME;
	l->nrows = 0;
	for (size_t i = 0; i < l->nent; i++) {
		struct list_entry *e = &l->ent[i];
		if (keyed && e->name == NULL)
			e->name = list_name_key(l, &ui->torrents[i]);
		if (list_filter_match(l->filter, e->state) && (needle == NULL ||
		    text_key_has(e->name, needle)))
			l->rows[l->nrows++] = (struct list_row){ .at = i, .id = e->id };
	}
	free(needle);
	if (!keyed)
		list_fold_ahead(ui, l);
	list_sort_base = ui->torrents;
	list_sort_ent = l->ent;
	list_sort_col = l->st.sort_col;
	list_sort_desc = l->st.sort_desc;
	if (l->nrows > 1)
		qsort(l->rows, l->nrows, sizeof *l->rows, list_compare);
	if (sel_id >= 0 && (l->st.sel < 0 || (size_t)l->st.sel >= l->nrows ||
	    l->rows[l->st.sel].id != sel_id)) {
		for (size_t r = 0; r < l->nrows; r++)
			if (l->rows[r].id == sel_id)
				l->st.sel = (int)r;
	}
	l->st.count = (int)l->nrows;
}

static int
list_state_attr(enum engine_torrent_state s)
{
	switch (s) {
	case ENGINE_TORRENT_ERROR: return theme_attr(TH_ERROR);
	case ENGINE_TORRENT_SEEDING: return theme_attr(TH_SEEDING);
	case ENGINE_TORRENT_DOWNLOADING: return theme_attr(TH_DOWN);
	case ENGINE_TORRENT_STOPPED: return theme_attr(TH_DIM);
	case ENGINE_TORRENT_CHECKING:
	case ENGINE_TORRENT_METADATA: return theme_attr(TH_WARN);
	case ENGINE_TORRENT_QUEUED: return theme_attr(TH_DIM);
	default: return 0;
	}
}

static void
list_cell(struct ui *ui, void *arg, int row, int col, char *out, size_t outlen, int *attr)
{
	struct list_state *l = arg;
	const struct engine_torrent_stats *t = &ui->torrents[l->rows[row].at];
	char a[64], b[64];
	switch (col) {
	case LI_NUM: snprintf(out, outlen, "%d", t->id); break;
	case LI_NAME: snprintf(out, outlen, "%s", t->name); break;
	case LI_STATE:
		snprintf(out, outlen, "%s", t->state == ENGINE_TORRENT_METADATA ? "metadata" :
		    engine_torrent_state_name(t->state));
		*attr = list_state_attr(t->state);
		break;
	case LI_PROGRESS: {
		double f = t->state == ENGINE_TORRENT_CHECKING ? t->check_progress : t->progress;
		int w = DP_MAX(1, ui_columns_def(UCS_LIST)->cols[LI_PROGRESS].max - 5);
		bar_render(f, w, a, sizeof a);
		int pct = (int)(f * 100);
		if (f >= 1.0)
			pct = 100;
		snprintf(out, outlen, "%s%4d%%", a, pct);
		*attr = theme_attr(f >= 1.0 ? TH_SEEDING : TH_BAR_DONE);
		break;
	}
	case LI_SIZE: fmt_size(t->wanted_size, out, outlen); break;
	case LI_DONE: fmt_size(list_done(t), out, outlen); break;
	case LI_DOWN:
		fmt_rate(t->down_rate, out, outlen);
		if (t->down_rate)
			*attr = theme_attr(TH_DOWN);
		break;
	case LI_UP:
		fmt_rate(t->up_rate, out, outlen);
		if (t->up_rate)
			*attr = theme_attr(TH_UP);
		break;
	case LI_RATIO: fmt_ratio(t->ratio, out, outlen); break;
	case LI_ETA:
		fmt_eta(list_eta(t), out, outlen);
		break;
	case LI_PEERS: snprintf(out, outlen, "%d/%d", t->peers_connected, t->peers_known); break;
	case LI_SEEDS: snprintf(out, outlen, "%d", t->seeds_connected); break;
	case LI_QUEUE:
		snprintf(out, outlen, t->queue_position >= 0 ? "%d" : "-", t->queue_position + 1);
		break;
	case LI_TRACKER:
		snprintf(out, outlen, "%s", t->state == ENGINE_TORRENT_ERROR && t->error[0] ?
		    t->error : t->tracker_status);
		if (strncmp(t->tracker_status, "error", 5) == 0)
			*attr = theme_attr(TH_WARN);
		break;
	default: break;
	}
	(void)b;
}

static uint64_t
list_row_id(struct ui *ui, void *arg, int row)
{
	struct list_state *l = arg;
	return (uint64_t)l->rows[row].id;
}

static void
list_draw(struct ui *ui, int y, int h)
{
	struct list_state *l = list_get(ui);
	list_rebuild(ui, l);
	char info[512];
	int n = snprintf(info, sizeof info, " Torrents: %zu shown of %zu   filter: %s",
	    l->nrows, ui->ntorrents, list_filter_names[l->filter]);
	/* a first list of many torrents comes in parts: say so until all are in */
	if (ui->list_partial && ui->ntorrents < (size_t)DP_MAX(ui->global.torrents, 0) && n > 0 &&
	    (size_t)n < sizeof info)
		n += snprintf(info + n, sizeof info - (size_t)n, "   reading the list: %zu of %d",
		    ui->ntorrents, ui->global.torrents);
	if (l->search[0] != '\0' && n > 0 && (size_t)n < sizeof info)
		n += snprintf(info + n, sizeof info - (size_t)n, "   search: %s", l->search);
	if (l->st.nmarks > 0 && n > 0 && (size_t)n < sizeof info)
		n += snprintf(info + n, sizeof info - (size_t)n, "   marked: %zu", l->st.nmarks);
	/* the sort key, also when its column is hidden or too wide to show */
	char sort[64];
	draw_sort_note(ui_columns_def(UCS_LIST)->cols, LI_COUNT, &l->st, sort, sizeof sort);
	if (n > 0 && (size_t)n < sizeof info && sort[0] != '\0')
		snprintf(info + n, sizeof info - (size_t)n, "   %s", sort);
	draw_text(y, 0, COLS, info, TW_LEFT, 0);
	if (ui->ntorrents == 0) {
		char add[32];
		keymap_describe(UI_ACTION_ADD, add, sizeof add);
		char msg[128];
		snprintf(msg, sizeof msg, "No torrents yet. Press %s to add one, or run downpour --demo.",
		    add);
		draw_text(y + 2, 2, COLS - 2, msg, TW_LEFT, theme_attr(TH_DIM));
		return;
	}
	struct draw_table_view v = {
		.cols = ui_columns_def(UCS_LIST)->cols, .ncols = LI_COUNT,
		.set = &ui->columns[UCS_LIST], .st = &l->st, .cell = list_cell,
		.row_id = list_row_id, .arg = l,
	};
	l->page = draw_table(ui, &v, y + 1, h - 1);
	ui->page = l->page;
}

/* The selected torrent ids (marked ones, else the selected row); returns the count. */
static size_t
list_targets(struct ui *ui, int **ids)
{
	struct list_state *l = list_get(ui);
	*ids = NULL;
	if (l->st.nmarks > 0) {
		*ids = xcalloc(l->st.nmarks, sizeof **ids);
		for (size_t i = 0; i < l->st.nmarks; i++)
			(*ids)[i] = (int)l->st.marks[i];
		return l->st.nmarks;
	}
	if (l->st.sel < 0 || (size_t)l->st.sel >= l->nrows)
		return 0;
	*ids = xcalloc(1, sizeof **ids);
	(*ids)[0] = l->rows[l->st.sel].id;
	return 1;
}

/* ---- adding ---- */

/* The `m` prompt's argument: a bare info-hash is taken for a link there. */
static char list_magnet_prompt;

/* The add's answer (at once for a link; a file is read on a disk worker first). */
static void
list_added(void *arg, int rc, int id, const char *err)
{
	struct list_adding *a = arg;
	struct ui *ui = a->ui;
	if (rc != 0)
		ui_message(ui, true, "cannot add %.200s: %s", a->text, err[0] ? err : "failed");
	else
		ui_message(ui, false, "added torrent #%d", id);
	ui_fetch(ui, true);
	ui_answered(ui);
}

static void
list_add_done(struct ui *ui, const char *text, void *arg)
{
	if (text == NULL || text[0] == '\0')
		return;
	/* `m` takes a whole link or a bare info-hash (40 hex or 32 base32 characters) */
	char link[128];
	size_t n = strlen(text);
	if (arg == &list_magnet_prompt && (n == 40 || n == 32) && strspn(text, "0123456789abcdefABCDEF"
	    "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ") == n) {
		snprintf(link, sizeof link, "magnet:?xt=urn:btih:%s", text);
		text = link;
	}
	/* a file name is the engine's to read (on its disk pool; the daemon's file system when
	 * attached): the answer may come later */
	bool magnet = strncmp(text, "magnet:", 7) == 0;
	struct client_cmd cmd = { .kind = magnet ? CLIENT_CMD_ADD_MAGNET : CLIENT_CMD_ADD_FILE,
		.text = text, .cwd = ui->cwd };
	if (!magnet)
		ui_message(ui, false, "reading %.200s...", text);
	struct list_state *l = list_get(ui);
	struct list_adding *a = &l->adding[l->nadding++ % DP_ARRAY_LEN(l->adding)];
	a->ui = ui;
	snprintf(a->text, sizeof a->text, "%s", text);
	client_command_start(ui->client, &cmd, list_added, a);
}

static void
list_search_change(struct ui *ui, const char *text, void *arg)
{
	struct list_state *l = arg;
	snprintf(l->search, sizeof l->search, "%s", text);
	l->st.sel = 0;
	l->st.top = 0;
	(void)ui;
}

static void
list_search_done(struct ui *ui, const char *text, void *arg)
{
	struct list_state *l = arg;
	if (text == NULL)
		l->search[0] = '\0';
	(void)ui;
}

static bool
list_action(struct ui *ui, enum ui_action a)
{
	struct list_state *l = list_get(ui);
	int *ids = NULL;
	size_t n;
	if (draw_table_action(&l->st, &ui->columns[UCS_LIST], LI_COUNT, a, l->page))
		return ui_sort_action(ui, UCS_LIST, &l->st, a);
	switch (a) {
	case UI_ACTION_COLUMNS:
		chooser_open(ui, UCS_LIST);
		return true;
	case UI_ACTION_OPEN:
	case UI_ACTION_RIGHT:
		if (l->st.sel >= 0 && (size_t)l->st.sel < l->nrows)
			ui_open_detail(ui, l->rows[l->st.sel].id);
		return true;
	case UI_ACTION_FILTER:
		l->filter = (l->filter + 1) % LF_COUNT;
		l->st.sel = 0;
		l->st.top = 0;
		return true;
	case UI_ACTION_SEARCH:
		prompt_open(ui, "/", l->search, false, list_search_done, list_search_change, l);
		return true;
	case UI_ACTION_BACK:
		if (l->search[0] != '\0' || l->filter != LF_ALL) {
			l->search[0] = '\0';
			l->filter = LF_ALL;
			return true;
		}
		return false;
	case UI_ACTION_MARK:
		if (l->st.sel >= 0 && (size_t)l->st.sel < l->nrows) {
			table_toggle_mark(&l->st, (uint64_t)l->rows[l->st.sel].id);
			table_move(&l->st, 1, l->page);
		}
		return true;
	case UI_ACTION_MARK_CLEAR:
		table_clear_marks(&l->st);
		return true;
	case UI_ACTION_ADD:
		prompt_open(ui, "add torrent file or magnet (Tab completes):", "", true, list_add_done,
		    NULL, NULL);
		return true;
	case UI_ACTION_ADD_MAGNET:
		/* empty: a pasted link used to follow a pre-filled "magnet:?xt=urn:btih:" */
		prompt_open(ui, "add magnet link (or info-hash):", "", false, list_add_done, NULL,
		    &list_magnet_prompt);
		return true;
	case UI_ACTION_PAUSE_ALL:
	case UI_ACTION_RESUME_ALL:
		return actions_all(ui, a);
	default:
		break;
	}
	n = list_targets(ui, &ids);
	bool handled = actions_torrent(ui, a, ids, n);
	free(ids);
	return handled;
}

static void
list_free(struct ui *ui)
{
	if (ui->list == NULL)
		return;
	table_state_free(&ui->list->st);
	list_names_free(ui->list);
	dp_idmap_free(&ui->list->names);
	free(ui->list->ent);
	free(ui->list->rows);
	free(ui->list);
	ui->list = NULL;
}

void
screen_list_synthetic(struct ui *ui, size_t n)
{
	static const char *const names[] = {
		"debian-12.5.0-amd64-netinst.iso",
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab",
		"archlinux-2024.05.01-x86_64.iso",
		"\xf0\x9f\x8e\xb5 music collection", "big_buck_bunny_1080p.mp4",
	};
	free(ui->synthetic);
	ui->synthetic = xcalloc(n ? n : 1, sizeof *ui->synthetic);
	ui->torrents = ui->synthetic;
	ui->ntorrents = n;
	uint64_t seed = 12345;
	for (size_t i = 0; i < n; i++) {
		struct engine_torrent_stats *t = &ui->synthetic[i];
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		t->id = (int)i + 1;
		snprintf(t->name, sizeof t->name, "%s #%zu", names[i % DP_ARRAY_LEN(names)], i);
		t->state = (enum engine_torrent_state)((seed >> 33) % ENGINE_TORRENT_STATE_COUNT);
		t->progress = (double)((seed >> 20) % 1001) / 1000.0;
		t->total_size = t->wanted_size = (seed >> 10) % (8ull << 30);
		t->have_size = (uint64_t)(t->progress * (double)t->wanted_size);
		t->left = t->wanted_size - t->have_size;
		t->queue_position = (int)i;
		t->down_rate = (seed >> 40) % 5000000;
		t->up_rate = (seed >> 44) % 1000000;
		t->ratio = (double)((seed >> 30) % 300) / 100.0;
		t->eta_s = (int64_t)((seed >> 36) % 100000);
		t->peers_connected = (int)((seed >> 48) % 50);
		t->peers_known = t->peers_connected + (int)((seed >> 52) % 200);
		t->seeds_connected = t->peers_connected / 3;
		snprintf(t->tracker_status, sizeof t->tracker_status, "ok (%d tracker%s)",
		    (int)(seed % 4) + 1, seed % 4 == 0 ? "" : "s");
	}
}

const struct ui_screen screen_list = {
	.title = "Torrents",
	.ctx = KCTX_LIST | KCTX_TORRENT,
	.draw = list_draw,
	.action = list_action,
	.free = list_free,
};
