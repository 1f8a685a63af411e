/* screen_detail.c: one torrent in tabs: info, peers (flags, rates, requests; disconnect/ban),
 * files (a folder tree with sizes, progress and priorities), trackers, and the piece map. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "actions.h"
#include "columns.h"
#include "draw.h"
#include "screens.h"
#include "theme.h"
#include "ui_state.h"
#include "widget_chooser.h"

enum detail_tab { DT_INFO, DT_PEERS, DT_FILES, DT_TRACKERS, DT_PIECES, DT_COUNT };
static const char *const detail_tab_names[DT_COUNT] = { "Info", "Peers", "Files", "Trackers",
	"Pieces" };

/* One row of the files tree: a folder (aggregating the files below) or a file. */
struct file_row {
	char name[512];
	char path[1024];         /* folder path, for the collapsed set */
	int depth;
	bool dir;
	uint64_t size, done;
	int prio;                /* -1 mixed */
	size_t first;            /* a file's index in the engine's list */
	size_t count;            /* files below a folder */
};

struct detail_state {
	int id;
	enum detail_tab tab;
	struct table_state st[DT_COUNT];
	int page;
	int info_top;
	/* fetched per draw */
	struct engine_peer_info *peers;
	size_t npeers;
	struct engine_file_info *files;
	size_t nfiles;
	size_t *order;           /* files sorted by path */
	struct file_row *rows;
	size_t nrows;
	struct engine_tracker_info *trackers;
	size_t ntrackers;
	char **collapsed;        /* folder paths the user closed */
	size_t ncollapsed;
};

static struct detail_state *
detail_get(struct ui *ui)
{
	if (ui->detail == NULL) {
		ui->detail = xcalloc(1, sizeof *ui->detail);
		for (int i = 0; i < DT_COUNT; i++)
			ui->detail->st[i].sel = -1;
		ui_sort_apply(ui, UCS_PEERS, &ui->detail->st[DT_PEERS]);
	}
	/* another torrent opened (ui_open_detail): its tabs start at the top */
	struct detail_state *d = ui->detail;
	if (d->id != ui->detail_torrent) {
		d->id = ui->detail_torrent;
		for (int i = 0; i < DT_COUNT; i++) {
			d->st[i].sel = 0;
			d->st[i].top = 0;
		}
		d->info_top = 0;
	}
	return d;
}

static void
detail_release(struct detail_state *d)
{
	free(d->peers);
	d->peers = NULL;
	d->npeers = 0;
	if (d->files != NULL)
		engine_files_free(d->files, d->nfiles);
	d->files = NULL;
	d->nfiles = 0;
	free(d->order);
	d->order = NULL;
	free(d->rows);
	d->rows = NULL;
	d->nrows = 0;
	free(d->trackers);
	d->trackers = NULL;
	d->ntrackers = 0;
}

static int
detail_context(struct ui *ui)
{
	struct detail_state *d = detail_get(ui);
	int ctx = KCTX_DETAIL | KCTX_TORRENT;
	if (d->tab == DT_PEERS)
		ctx |= KCTX_PEERS;
	if (d->tab == DT_FILES)
		ctx |= KCTX_FILES;
	return ctx;
}

/* ---- info ---- */

static void
detail_kv(int *y, int ymax, const char *key, const char *value, int attr)
{
	if (*y >= ymax)
		return;
	draw_text(*y, 1, 16, key, TW_LEFT, theme_attr(TH_DIM));
	draw_text(*y, 18, COLS - 18, value, TW_LEFT, attr);
	(*y)++;
}

/* The idle seeding limit: whose, how long, and when it stops a seed that moves nothing. */
static void
detail_idle_limit(const struct engine_torrent_stats *t, char *v, size_t vlen)
{
	char when[64];
	int n;
	if (t->seed_idle_mode == ENGINE_IDLE_UNLIMITED)
		n = snprintf(v, vlen, "none");
	else if (t->seed_idle_mode == ENGINE_IDLE_SINGLE)
		n = snprintf(v, vlen, "its own, %d min without a transfer", t->seed_idle_limit);
	else
		n = snprintf(v, vlen, "the session's");
	if (n < 0 || (size_t)n >= vlen)
		return;
	if (t->idle_stopped) {
		snprintf(v + n, vlen - (size_t)n, " (reached: stopped seeding)");
	} else if (t->idle_stop_date > 0) {
		fmt_date(t->idle_stop_date, when, sizeof when);
		snprintf(v + n, vlen - (size_t)n, " (stops at %s unless data moves)", when);
	} else if (t->seed_idle_mode == ENGINE_IDLE_GLOBAL) {
		snprintf(v + n, vlen - (size_t)n, " (off, or not seeding now)");
	}
}

static void
detail_draw_info(struct ui *ui, const struct engine_torrent_stats *t, int y, int h)
{
	char a[64], b[64], c[64], v[1200];
	int ymax = y + h;
	detail_kv(&y, ymax, "name", t->name, A_BOLD);
	detail_kv(&y, ymax, "info hash", t->info_hash_hex, 0);
	snprintf(v, sizeof v, "%s%s", engine_torrent_state_name(t->state),
	    t->sequential ? " (sequential)" : "");
	detail_kv(&y, ymax, "state", v, 0);
	int qpos = client_queue_position(ui->client, t->id);
	if (qpos >= 0) {
		snprintf(v, sizeof v, "%d (K/J move it up/down, { } to the top/bottom)", qpos + 1);
		detail_kv(&y, ymax, "queue position", v, 0);
	}
	if (t->error[0])
		detail_kv(&y, ymax, "error", t->error, theme_attr(TH_ERROR));
	detail_kv(&y, ymax, "save path", t->save_path, 0);
	fmt_size(t->total_size, a, sizeof a);
	fmt_size(t->wanted_size, b, sizeof b);
	snprintf(v, sizeof v, "%s (%s wanted) in %zu file%s", a, b, t->file_count,
	    t->file_count == 1 ? "" : "s");
	detail_kv(&y, ymax, "size", v, 0);
	fmt_size(t->piece_length, a, sizeof a);
	snprintf(v, sizeof v, "%u of %u, %s each", t->pieces_have, t->pieces_total, a);
	detail_kv(&y, ymax, "pieces", v, 0);
	/* of what is wanted, as the list's Done and Size; verified bytes of skipped files apart */
	fmt_size(t->wanted_size > t->left ? t->wanted_size - t->left : 0, a, sizeof a);
	fmt_size(t->wanted_size, b, sizeof b);
	int hn = snprintf(v, sizeof v, "%s of %s wanted (%.1f%%)", a, b, t->progress * 100);
	if (t->wanted_size < t->total_size && hn > 0 && (size_t)hn < sizeof v) {
		fmt_size(t->have_size, c, sizeof c);
		snprintf(v + hn, sizeof v - (size_t)hn, "; %s verified with skipped files", c);
	}
	detail_kv(&y, ymax, "have", v, 0);
	/* The resume file keeps the totals across runs: this run's share apart. */
	fmt_size(t->session_downloaded, a, sizeof a);
	fmt_size(t->session_uploaded, b, sizeof b);
	snprintf(v, sizeof v, "down %s, up %s", a, b);
	detail_kv(&y, ymax, "this session", v, 0);
	fmt_size(t->downloaded, a, sizeof a);
	fmt_size(t->uploaded, b, sizeof b);
	fmt_ratio(t->ratio, c, sizeof c);
	snprintf(v, sizeof v, "down %s, up %s, ratio %s", a, b, c);
	detail_kv(&y, ymax, "all time", v, 0);
	if (t->corrupt_bytes) {
		fmt_size(t->corrupt_bytes, a, sizeof a);
		detail_kv(&y, ymax, "corrupt", a, theme_attr(TH_WARN));
	}
	fmt_rate(t->down_rate, a, sizeof a);
	fmt_rate(t->up_rate, b, sizeof b);
	/* As in the list: only a running download has an ETA (a seed's is 0, not "0s"). */
	fmt_eta(t->state == ENGINE_TORRENT_DOWNLOADING ? t->eta_s : -1, c, sizeof c);
	snprintf(v, sizeof v, "down %s, up %s, ETA %s", a, b, c);
	detail_kv(&y, ymax, "rates", v, 0);
	snprintf(a, sizeof a, "%s", t->down_limit ? "" : "none");
	if (t->down_limit)
		fmt_rate(t->down_limit, a, sizeof a);
	snprintf(b, sizeof b, "%s", t->up_limit ? "" : "none");
	if (t->up_limit)
		fmt_rate(t->up_limit, b, sizeof b);
	snprintf(v, sizeof v, "down %s, up %s, peers %d, upload slots %d", a, b, t->max_peers,
	    t->upload_slots);
	detail_kv(&y, ymax, "limits", v, 0);
	detail_idle_limit(t, v, sizeof v);
	detail_kv(&y, ymax, "idle limit", v, t->idle_stopped ? theme_attr(TH_WARN) : 0);
	snprintf(v, sizeof v, "%d connected of %d known, %d seed%s, %d sending, %d receiving",
	    t->peers_connected, t->peers_known, t->seeds_connected,
	    t->seeds_connected == 1 ? "" : "s", t->peers_sending,
	    t->peers_receiving);
	detail_kv(&y, ymax, "peers", v, 0);
	detail_kv(&y, ymax, "trackers", t->tracker_status, 0);
	fmt_date(t->added_date, a, sizeof a);
	fmt_date(t->completed_date, b, sizeof b);
	snprintf(v, sizeof v, "added %s, completed %s", a, b);
	detail_kv(&y, ymax, "dates", v, 0);
	detail_kv(&y, ymax, "private", t->is_private ? "yes (no DHT/PEX)" : "no", 0);
	detail_kv(&y, ymax, "comment", t->comment[0] ? t->comment : "-", 0);
	(void)ui;
}

/* ---- peers ---- */

/* D/d: we download (unchoked / choked but interested); U/u: it downloads from us (unchoked /
 * interested but choked); S snubbed, I incoming, O optimistic unchoke, E extension protocol,
 * F fast extension, s seed. */
static void
detail_peer_flags(const struct engine_peer_info *p, char *out, size_t outlen)
{
	snprintf(out, outlen, "%c%c%c%c%c%c%c%c",
	    p->am_interested ? (p->peer_choking ? 'd' : 'D') : (p->peer_choking ? '.' : 'K'),
	    p->peer_interested ? (p->am_choking ? 'u' : 'U') : (p->am_choking ? '.' : '?'),
	    p->snubbed ? 'S' : '.', p->incoming ? 'I' : '.', p->optimistic ? 'O' : '.',
	    p->ext_protocol ? 'E' : '.', p->fast_ext ? 'F' : '.', p->seed ? 's' : '.');
}

static void
detail_peer_cell(struct ui *ui, void *arg, int row, int col, char *out, size_t outlen, int *attr)
{
	struct detail_state *d = arg;
	const struct engine_peer_info *p = &d->peers[row];
	(void)ui;
	switch (col) {
	case PC_ADDR: snprintf(out, outlen, "%s", p->addr); break;
	case PC_CLIENT:
		snprintf(out, outlen, "%s", p->client[0] ? p->client :
		    p->handshake_done ? "unknown" : "(connecting)");
		break;
	case PC_VIA:
		/* TCP or uTP, and RC4 when MSE/PE encrypts it. */
		snprintf(out, outlen, "%s", p->transport[0] ? p->transport : "-");
		break;
	case PC_FLAGS:
		detail_peer_flags(p, out, outlen);
		if (p->snubbed)
			*attr = theme_attr(TH_WARN);
		break;
	case PC_PROGRESS: snprintf(out, outlen, "%.0f%%", p->progress * 100); break;
	case PC_DOWN:
		fmt_rate(p->down_rate, out, outlen);
		if (p->down_rate)
			*attr = theme_attr(TH_DOWN);
		break;
	case PC_UP:
		fmt_rate(p->up_rate, out, outlen);
		if (p->up_rate)
			*attr = theme_attr(TH_UP);
		break;
	case PC_REQ: snprintf(out, outlen, "%u/%u", p->requests_out, p->requests_in); break;
	case PC_TIME: fmt_eta(p->connected_s, out, outlen); break;
	default: break;
	}
}

/* qsort has no context argument: the sort key lives here for the duration of one sort. */
static int detail_peer_sort_col;
static bool detail_peer_sort_desc;

#define DETAIL_CMP(a, b) ((a) < (b) ? -1 : (a) > (b) ? 1 : 0)

static int
detail_peer_compare(const void *pa, const void *pb)
{
	const struct engine_peer_info *a = pa, *b = pb;
	int c = 0;
	switch (detail_peer_sort_col) {
	case PC_CLIENT: c = strcmp(a->client, b->client); break;
	case PC_VIA: c = strcmp(a->transport, b->transport); break;
	case PC_FLAGS: c = DETAIL_CMP(a->peer_choking, b->peer_choking); break;
	case PC_PROGRESS: c = DETAIL_CMP(a->progress, b->progress); break;
	case PC_DOWN: c = DETAIL_CMP(a->down_rate, b->down_rate); break;
	case PC_UP: c = DETAIL_CMP(a->up_rate, b->up_rate); break;
	case PC_REQ: c = DETAIL_CMP(a->requests_out, b->requests_out); break;
	case PC_TIME: c = DETAIL_CMP(a->connected_s, b->connected_s); break;
	default: break;
	}
	if (c == 0)
		c = strcmp(a->addr, b->addr);
	return detail_peer_sort_desc ? -c : c;
}

/* Sorts the fetched peers and keeps the selection on the same address. */
static void
detail_sort_peers(struct detail_state *d, const char *sel_addr)
{
	struct table_state *st = &d->st[DT_PEERS];
	detail_peer_sort_col = st->sort_col;
	detail_peer_sort_desc = st->sort_desc;
	if (d->npeers > 1)
		qsort(d->peers, d->npeers, sizeof *d->peers, detail_peer_compare);
	for (size_t i = 0; sel_addr[0] != '\0' && i < d->npeers; i++)
		if (strcmp(d->peers[i].addr, sel_addr) == 0)
			st->sel = (int)i;
}

/* ---- files ---- */

static const struct engine_file_info *file_sort_base;

static int
detail_file_compare(const void *a, const void *b)
{
	const struct engine_file_info *x = &file_sort_base[*(const size_t *)a];
	const struct engine_file_info *y = &file_sort_base[*(const size_t *)b];
	return strcmp(x->display_path ? x->display_path : x->path,
	    y->display_path ? y->display_path : y->path);
}

static bool
detail_is_collapsed(struct detail_state *d, const char *path)
{
	for (size_t i = 0; i < d->ncollapsed; i++)
		if (strcmp(d->collapsed[i], path) == 0)
			return true;
	return false;
}

static void
detail_toggle_collapsed(struct detail_state *d, const char *path, bool collapse)
{
	for (size_t i = 0; i < d->ncollapsed; i++) {
		if (strcmp(d->collapsed[i], path) == 0) {
			if (!collapse) {
				free(d->collapsed[i]);
				d->collapsed[i] = d->collapsed[--d->ncollapsed];
			}
			return;
		}
	}
	if (collapse) {
		d->collapsed = xreallocarray(d->collapsed, d->ncollapsed + 1, sizeof *d->collapsed);
		d->collapsed[d->ncollapsed++] = xstrdup(path);
	}
}

/* Builds the visible tree rows from the files sorted by path: a row per folder (aggregating
 * everything below it) and per file; a collapsed folder's contents get no rows. */
static void
detail_build_tree(struct detail_state *d)
{
	free(d->order);
	free(d->rows);
	d->order = xcalloc(d->nfiles ? d->nfiles : 1, sizeof *d->order);
	for (size_t i = 0; i < d->nfiles; i++)
		d->order[i] = i;
	file_sort_base = d->files;
	qsort(d->order, d->nfiles, sizeof *d->order, detail_file_compare);
	size_t cap = 1;
	for (size_t i = 0; i < d->nfiles; i++) {
		const char *p = d->files[i].display_path ? d->files[i].display_path : d->files[i].path;
		cap++;
		for (; *p; p++)
			cap += *p == '/';
	}
	d->rows = xcalloc(cap, sizeof *d->rows);
	d->nrows = 0;
	/* the open folders of the previous file: their row (-1 when hidden) and path length */
	enum { MAXDEPTH = 64 };
	long stack_row[MAXDEPTH];
	size_t stack_len[MAXDEPTH];
	int depth_open = 0;
	const char *prev = "";
	for (size_t k = 0; k < d->nfiles; k++) {
		size_t fi = d->order[k];
		const struct engine_file_info *f = &d->files[fi];
		if (f->pad)
			continue;
		const char *path = f->display_path ? f->display_path : f->path;
		/* keep the folders this file shares with the previous one */
		int depth = 0;
		const char *seg = path, *slash;
		bool hidden = false;
		while ((slash = strchr(seg, '/')) != NULL && depth < MAXDEPTH) {
			size_t plen = (size_t)(slash - path);
			bool shared = depth < depth_open && stack_len[depth] == plen &&
			    strncmp(prev, path, plen + 1) == 0;
			if (!shared) {
				depth_open = depth;
				long row = -1;
				if (!hidden) {
					struct file_row *fr = &d->rows[d->nrows];
					memset(fr, 0, sizeof *fr);
					snprintf(fr->name, sizeof fr->name, "%.*s", (int)(slash - seg), seg);
					snprintf(fr->path, sizeof fr->path, "%.*s", (int)plen, path);
					fr->depth = depth;
					fr->dir = true;
					fr->prio = f->priority;
					row = (long)d->nrows++;
				}
				stack_row[depth] = row;
				stack_len[depth] = plen;
				depth_open = depth + 1;
			}
			if (stack_row[depth] >= 0) {
				struct file_row *fr = &d->rows[stack_row[depth]];
				fr->size += f->size;
				fr->done += f->done;
				fr->count++;
				if (fr->prio != (int)f->priority)
					fr->prio = -1;
				if (detail_is_collapsed(d, fr->path))
					hidden = true;
			} else {
				hidden = true;
			}
			seg = slash + 1;
			depth++;
		}
		depth_open = depth;
		prev = path;
		if (hidden)
			continue;
		struct file_row *r = &d->rows[d->nrows++];
		memset(r, 0, sizeof *r);
		snprintf(r->name, sizeof r->name, "%s", seg);
		snprintf(r->path, sizeof r->path, "%s", path);
		r->depth = depth;
		r->size = f->size;
		r->done = f->done;
		r->prio = f->priority;
		r->first = fi;
		r->count = 1;
	}
}

static void
detail_file_cell(struct ui *ui, void *arg, int row, int col, char *out, size_t outlen, int *attr)
{
	struct detail_state *d = arg;
	const struct file_row *r = &d->rows[row];
	char bar[64];
	(void)ui;
	switch (col) {
	case FC_NAME: {
		const char *mark = !r->dir ? "  " : detail_is_collapsed(d, r->path) ?
		    (tw_ascii() ? "+ " : "\xe2\x96\xb8 ") : (tw_ascii() ? "- " : "\xe2\x96\xbe ");
		snprintf(out, outlen, "%*s%s%s%s", r->depth * 2, "", mark, r->name, r->dir ? "/" : "");
		if (r->dir)
			*attr |= A_BOLD;
		break;
	}
	case FC_SIZE: fmt_size(r->size, out, outlen); break;
	case FC_PROGRESS: {
		double f = r->size ? (double)r->done / (double)r->size : 1.0;
		bar_render(f, 9, bar, sizeof bar);
		snprintf(out, outlen, "%s%4d%%", bar, (int)(f * 100));
		*attr = theme_attr(TH_BAR_DONE);
		break;
	}
	case FC_PRIO:
		snprintf(out, outlen, "%s", r->prio < 0 ? "mixed" : engine_prio_name(r->prio));
		if (r->prio == ENGINE_PRIO_SKIP)
			*attr = theme_attr(TH_DIM);
		else if (r->prio == ENGINE_PRIO_HIGH)
			*attr = A_BOLD;
		break;
	default: break;
	}
}

static void
detail_set_priority(struct ui *ui, struct detail_state *d, enum ui_action a)
{
	int sel = d->st[DT_FILES].sel;
	if (sel < 0 || (size_t)sel >= d->nrows)
		return;
	const struct file_row *r = &d->rows[sel];
	int cur = r->prio < 0 ? ENGINE_PRIO_NORMAL : r->prio;
	int next = a == UI_ACTION_PRIO_SKIP ? ENGINE_PRIO_SKIP :
	    a == UI_ACTION_PRIO_UP ? DP_MIN(cur + 1, ENGINE_PRIO_HIGH) : DP_MAX(cur - 1, ENGINE_PRIO_SKIP);
	char err[256] = "";
	size_t changed = 0;
	size_t plen = strlen(r->path);
	size_t *which = xcalloc(d->nfiles ? d->nfiles : 1, sizeof *which);
	for (size_t fi = 0; fi < d->nfiles; fi++) {
		const struct engine_file_info *f = &d->files[fi];
		const char *path = f->display_path ? f->display_path : f->path;
		if (f->pad)
			continue;
		if (r->dir ? strncmp(path, r->path, plen) != 0 || path[plen] != '/' : fi != r->first)
			continue;
		which[changed++] = fi;
	}
	/* a folder's files in one command: one message to a daemon, not one per file */
	struct client_cmd cmd = { .kind = CLIENT_CMD_FILE_PRIORITY, .torrent = d->id,
		.prio = (enum engine_prio)next, .files = which, .nfiles = changed };
	int rc = client_command(ui->client, &cmd, NULL, err, sizeof err);
	free(which);
	if (rc != 0) {
		ui_message(ui, true, "priority of %s: %s", r->name, err[0] ? err : "failed");
		return;
	}
	ui_message(ui, false, "%s: priority %s (%zu file%s)", r->name,
	    engine_prio_name((enum engine_prio)next), changed, changed == 1 ? "" : "s");
	ui_fetch(ui, true);
}

/* ---- trackers ---- */

static void
detail_tracker_cell(struct ui *ui, void *arg, int row, int col, char *out, size_t outlen, int *attr)
{
	struct detail_state *d = arg;
	const struct engine_tracker_info *t = &d->trackers[row];
	int64_t now = dp_wall_time();
	(void)ui;
	switch (col) {
	case TC_URL: snprintf(out, outlen, "%s%s", t->url, t->ipv6 ? " (IPv6)" : ""); break;
	/* from 1, as `downpour info` and Transmission's clients count them */
	case TC_TIER: snprintf(out, outlen, t->tier >= 0 ? "%d" : "-", t->tier + 1); break;
	case TC_PEERS: snprintf(out, outlen, "%zu", t->last_peer_count); break;
	case TC_STATUS:
		snprintf(out, outlen, "%s", engine_tracker_status_name(t->status));
		if (t->status == ENGINE_TRACKER_ERROR)
			*attr = theme_attr(TH_ERROR);
		break;
	case TC_LAST:
		if (t->last_announce > 0)
			fmt_eta(now - t->last_announce, out, outlen);
		else
			snprintf(out, outlen, "never");
		break;
	case TC_NEXT:
		if (t->next_announce > 0)
			fmt_eta(t->next_announce > now ? t->next_announce - now : 0, out, outlen);
		else
			snprintf(out, outlen, "-");
		break;
	case TC_SEEDS:
		snprintf(out, outlen, t->seeders >= 0 ? "%d" : "-", t->seeders);
		break;
	case TC_LEECH:
		snprintf(out, outlen, t->leechers >= 0 ? "%d" : "-", t->leechers);
		break;
	case TC_ERROR:
		snprintf(out, outlen, "%s", t->last_error[0] ? t->last_error : t->last_warning);
		break;
	default: break;
	}
}

/* The peers' flag legend under the table, wrapped after its commas so that it is whole on
 * narrow screens too (it was cut below 200 cells): on the last lines before `bottom`, at most
 * max_lines of them. Returns the lines it takes; draws them when draw is set. */
static int
detail_flag_legend(int bottom, int max_lines, bool draw)
{
	static const char *const parts[] = { "flags: D/d download unchoked/choked,",
		"U/u upload unchoked/choked,", "K unchoked not interested,", "S snubbed,",
		"I incoming,", "O optimistic,", "E ext,", "F fast,", "s seed" };
	char lines[4][256];
	int n = 0;
	lines[0][0] = '\0';
	for (size_t i = 0; i < DP_ARRAY_LEN(parts); i++) {
		size_t len = strlen(lines[n]);
		if (len > 0 && len + 1 + strlen(parts[i]) > (size_t)DP_MAX(COLS, 1) && n + 1 < 4)
			lines[++n][0] = '\0', len = 0;
		snprintf(lines[n] + len, sizeof lines[n] - len, "%s%s", len > 0 ? " " : "", parts[i]);
	}
	int count = DP_MAX(1, DP_MIN(n + 1, max_lines));
	for (int i = 0; draw && i < count; i++)
		draw_text(bottom - count + i, 0, COLS, lines[i], TW_LEFT, theme_attr(TH_DIM));
	return count;
}

/* ---- pieces ---- */

/* A piece of skipped files: a dashed line (ASCII '-'), apart from every missing glyph. */
#define DETAIL_SKIPPED_GLYPH(ascii) ((ascii) ? "-" : "\xe2\x95\x8c")

static void
detail_draw_pieces(struct ui *ui, struct detail_state *d, int y, int h)
{
	struct engine_piece_map m = { 0 };
	if (client_pieces(ui->client, d->id, &m) != 0 || m.count == 0) {
		draw_text(y, 1, COLS - 1, "no piece information (metadata not known yet)", TW_LEFT, 0);
		engine_piece_map_free(&m);
		return;
	}
	bool ascii = tw_ascii();
	char legend[256];
	snprintf(legend, sizeof legend, "%u piece%s  %s have  %s downloading  %s skipped  missing, "
	    "peers with it: %s 0 %s 1 %s 2-3 %s 4+", m.count, m.count == 1 ? "" : "s",
	    ascii ? "#" : "\xe2\x96\x88", ascii ? "*" : "\xe2\x96\x9e", DETAIL_SKIPPED_GLYPH(ascii),
	    ascii ? "." : "\xc2\xb7", ascii ? "1" : "\xe2\x96\x91", ascii ? "2" : "\xe2\x96\x92",
	    ascii ? "4" : "\xe2\x96\x93");
	draw_text(y, 1, COLS - 1, legend, TW_LEFT, theme_attr(TH_DIM));
	int w = COLS - 2, rows = h - 2;
	if (w < 1 || rows < 1) {
		engine_piece_map_free(&m);
		return;
	}
	size_t cells = (size_t)w * (size_t)rows;
	size_t per = (m.count + cells - 1) / cells;   /* pieces per cell */
	if (per == 0)
		per = 1;
	size_t ncells = (m.count + per - 1) / per;
	for (size_t c = 0; c < ncells; c++) {
		size_t from = c * per, to = DP_MIN(from + per, (size_t)m.count);
		size_t have = 0, dl = 0, skipped = 0;
		unsigned avail = 65535;
		for (size_t p = from; p < to; p++) {
			have += m.state[p] == 2;
			dl += m.state[p] == 1;
			skipped += m.state[p] == 3;
			if (m.availability != NULL && m.state[p] == 0 && m.availability[p] < avail)
				avail = m.availability[p];
		}
		const char *ch;
		int attr;
		if (have == to - from) {
			ch = ascii ? "#" : "\xe2\x96\x88";
			attr = theme_attr(TH_PIECE_HAVE);
		} else if (dl > 0) {
			ch = ascii ? "*" : "\xe2\x96\x9e";
			attr = theme_attr(TH_PIECE_DL);
		} else if (have + skipped == to - from) {
			/* nothing left in the cell that is wanted: the user skipped those files */
			ch = DETAIL_SKIPPED_GLYPH(ascii);
			attr = theme_attr(TH_DIM);
		} else {
			if (avail == 65535)
				avail = 0;
			ch = avail == 0 ? (ascii ? "." : "\xc2\xb7") : avail == 1 ?
			    (ascii ? "1" : "\xe2\x96\x91") : avail <= 3 ? (ascii ? "2" : "\xe2\x96\x92") :
			    (ascii ? "4" : "\xe2\x96\x93");
			attr = theme_attr(TH_PIECE_MISSING);
		}
		draw_text(y + 1 + (int)(c / (size_t)w), 1 + (int)(c % (size_t)w), 1, ch, TW_LEFT, attr);
	}
	if (per > 1) {
		char note[64];
		snprintf(note, sizeof note, "(each cell: %zu pieces)", per);
		draw_text(y + h - 1, 1, COLS - 1, note, TW_LEFT, theme_attr(TH_DIM));
	}
	engine_piece_map_free(&m);
}

/* ---- frame ---- */

static void
detail_draw(struct ui *ui, int y, int h)
{
	struct detail_state *d = detail_get(ui);
	const struct engine_torrent_stats *t = ui_torrent(ui, d->id);
	if (t == NULL) {
		draw_text(y + 1, 1, COLS - 1, "this torrent is gone (removed)", TW_LEFT, theme_attr(TH_WARN));
		return;
	}
	/* title and tabs */
	char title[400];
	snprintf(title, sizeof title, " #%d %s ", t->id, t->name);
	int x = 0;
	for (int i = 0; i < DT_COUNT; i++) {
		char label[32];
		snprintf(label, sizeof label, " %s ", detail_tab_names[i]);
		draw_text(y, x, tw_width(label), label, TW_LEFT,
		    theme_attr(i == (int)d->tab ? TH_TAB_ACTIVE : TH_TAB));
		x += tw_width(label) + 1;
	}
	draw_text(y, x, COLS - x, title, TW_LEFT, A_BOLD);
	y++;
	h--;
	char sel_addr[64] = "";
	if (d->st[DT_PEERS].sel >= 0 && (size_t)d->st[DT_PEERS].sel < d->npeers)
		snprintf(sel_addr, sizeof sel_addr, "%s", d->peers[d->st[DT_PEERS].sel].addr);
	detail_release(d);
	struct draw_table_view v = { .arg = d, .st = &d->st[d->tab] };
	switch (d->tab) {
	case DT_INFO:
		detail_draw_info(ui, t, y, h);
		return;
	case DT_PEERS:
		d->npeers = client_peers(ui->client, d->id, &d->peers);
		detail_sort_peers(d, sel_addr);
		d->st[DT_PEERS].count = (int)d->npeers;
		v.cols = ui_columns_def(UCS_PEERS)->cols;
		v.ncols = PC_COUNT;
		v.set = &ui->columns[UCS_PEERS];
		v.cell = detail_peer_cell;
		int legend_lines = detail_flag_legend(y + h, h / 3, false);
		d->page = draw_table(ui, &v, y, h - legend_lines);
		detail_flag_legend(y + h, h / 3, true);
		if (!d->st[DT_PEERS].sort_shown) {
			/* sorted by a hidden (or too wide) column: say which, right of the tabs */
			char sort[64];
			draw_sort_note(v.cols, PC_COUNT, &d->st[DT_PEERS], sort, sizeof sort);
			int w = tw_width(sort) + 1;
			draw_text(y - 1, DP_MAX(0, COLS - w), DP_MIN(w, COLS), sort, TW_LEFT,
			    theme_attr(TH_HEADER_SORT));
		}
		if (d->npeers == 0)
			draw_text(y + 2, 1, COLS - 1, "no peers connected", TW_LEFT, theme_attr(TH_DIM));
		break;
	case DT_FILES:
		d->nfiles = client_files(ui->client, d->id, &d->files);
		detail_build_tree(d);
		d->st[DT_FILES].count = (int)d->nrows;
		v.cols = ui_columns_def(UCS_FILES)->cols;
		v.ncols = FC_COUNT;
		v.set = &ui->columns[UCS_FILES];
		v.cell = detail_file_cell;
		d->page = draw_table(ui, &v, y, h);
		break;
	case DT_TRACKERS: {
		/* the DHT's row comes last: peers found, last and next lookup */
		d->ntrackers = client_trackers(ui->client, d->id, &d->trackers);
		d->st[DT_TRACKERS].count = (int)d->ntrackers;
		v.cols = ui_columns_def(UCS_TRACKERS)->cols;
		v.ncols = TC_COUNT;
		v.set = &ui->columns[UCS_TRACKERS];
		v.cell = detail_tracker_cell;
		d->page = draw_table(ui, &v, y, h);
		if (d->ntrackers == 0)
			draw_text(y + 2, 1, COLS - 1, "no trackers (direct peers only)", TW_LEFT,
			    theme_attr(TH_DIM));
		break;
	}
	case DT_PIECES:
		detail_draw_pieces(ui, d, y, h);
		return;
	default:
		return;
	}
	ui->page = d->page;
}

static void
detail_peer_action(struct ui *ui, struct detail_state *d, bool ban)
{
	/* the rows as last drawn (sorted): the selection indexes them */
	int sel = d->st[DT_PEERS].sel;
	char err[256] = "";
	if (sel < 0 || (size_t)sel >= d->npeers) {
		ui_message(ui, true, "no peer selected");
		return;
	}
	char addr[64];
	snprintf(addr, sizeof addr, "%s", d->peers[sel].addr);
	if (d->peers[sel].webseed) {
		/* Not a connection: the torrent's url-list names it, and a bad one disables itself. */
		ui_message(ui, true, "%s is a web seed: it cannot be %s", addr,
		    ban ? "banned" : "disconnected");
		return;
	}
	if (ban) {
		/* the address without its port, so every port of that host is refused */
		char *colon = strrchr(addr, ':');
		if (colon != NULL && (addr[0] != '[' || (colon > addr && colon[-1] == ']')))
			*colon = '\0';
	}
	struct client_cmd cmd = { .kind = CLIENT_CMD_PEER_DISCONNECT, .torrent = d->id, .text = addr,
		.on = ban };
	if (client_command(ui->client, &cmd, NULL, err, sizeof err) != 0)
		ui_message(ui, true, "%s %s: %s", ban ? "ban" : "disconnect", addr, err[0] ? err : "failed");
	else
		ui_message(ui, false, "%s %s", ban ? "banned" : "disconnected", addr);
}

static bool
detail_action(struct ui *ui, enum ui_action a)
{
	struct detail_state *d = detail_get(ui);
	int page = DP_MAX(1, d->page);
	switch (a) {
	case UI_ACTION_COLUMNS:
		if (d->tab == DT_PEERS || d->tab == DT_FILES || d->tab == DT_TRACKERS)
			chooser_open(ui, d->tab == DT_PEERS ? UCS_PEERS : d->tab == DT_FILES ?
			    UCS_FILES : UCS_TRACKERS);
		else
			ui_message(ui, true, "the %s tab has no columns to choose",
			    detail_tab_names[d->tab]);
		return true;
	case UI_ACTION_NEXT_TAB:
		d->tab = (d->tab + 1) % DT_COUNT;
		return true;
	case UI_ACTION_PREV_TAB:
		d->tab = (d->tab + DT_COUNT - 1) % DT_COUNT;
		return true;
	case UI_ACTION_PRIO_UP:
	case UI_ACTION_PRIO_DOWN:
	case UI_ACTION_PRIO_SKIP:
		if (d->tab == DT_FILES)
			detail_set_priority(ui, d, a);
		return true;
	case UI_ACTION_PEER_DISCONNECT:
	case UI_ACTION_PEER_BAN:
		if (d->tab == DT_PEERS)
			detail_peer_action(ui, d, a == UI_ACTION_PEER_BAN);
		return true;
	case UI_ACTION_LEFT:
	case UI_ACTION_RIGHT:
	case UI_ACTION_OPEN:
		if (d->tab == DT_FILES && d->st[DT_FILES].sel >= 0 &&
		    (size_t)d->st[DT_FILES].sel < d->nrows) {
			int sel = d->st[DT_FILES].sel;
			const struct file_row *r = &d->rows[sel];
			const char *path = r->path;
			/* An open folder closes; on a file or a closed folder, h goes up to the
			 * folder holding it (it used to switch tabs); at the top it stays. */
			if (r->dir && !(a == UI_ACTION_LEFT && detail_is_collapsed(d, path))) {
				bool collapse = a == UI_ACTION_LEFT ? true : a == UI_ACTION_RIGHT ?
				    false : !detail_is_collapsed(d, path);
				detail_toggle_collapsed(d, path, collapse);
				return true;
			}
			if (a == UI_ACTION_LEFT) {
				for (int i = sel - 1; i >= 0; i--) {
					if (d->rows[i].dir && d->rows[i].depth < r->depth) {
						d->st[DT_FILES].sel = i;
						break;
					}
				}
				return true;
			}
			if (r->dir)
				return true;
		}
		if (a == UI_ACTION_LEFT)
			d->tab = (d->tab + DT_COUNT - 1) % DT_COUNT;
		else if (a == UI_ACTION_RIGHT)
			d->tab = (d->tab + 1) % DT_COUNT;
		return true;
	default:
		break;
	}
	/* only the peers sort (the files are a tree, the trackers in tier order) */
	if (d->tab == DT_PEERS &&
	    draw_table_action(&d->st[DT_PEERS], &ui->columns[UCS_PEERS], PC_COUNT, a, page))
		return ui_sort_action(ui, UCS_PEERS, &d->st[DT_PEERS], a);
	if (d->tab != DT_INFO && d->tab != DT_PIECES &&
	    a != UI_ACTION_SORT_NEXT && a != UI_ACTION_SORT_PREV && a != UI_ACTION_SORT_REVERSE &&
	    draw_table_action(&d->st[d->tab], NULL, 1, a, page))
		return true;
	int id = d->id;
	return actions_torrent(ui, a, &id, 1);
}

static void
detail_free(struct ui *ui)
{
	struct detail_state *d = ui->detail;
	if (d == NULL)
		return;
	detail_release(d);
	for (size_t i = 0; i < d->ncollapsed; i++)
		free(d->collapsed[i]);
	free(d->collapsed);
	for (int i = 0; i < DT_COUNT; i++)
		table_state_free(&d->st[i]);
	free(d);
	ui->detail = NULL;
}

const struct ui_screen screen_detail = {
	.title = "Detail",
	.ctx = KCTX_DETAIL | KCTX_TORRENT,
	.context = detail_context,
	.draw = detail_draw,
	.action = detail_action,
	.free = detail_free,
};
