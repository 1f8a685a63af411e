/* rpc_torrent_fields.c: torrent-get's fields: each Transmission field name mapped to a builder
 * that reads one torrent's engine snapshot (stats, files, peers, trackers, pieces). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "rpc_private.h"
#include "tracker_list.h"
#include "util.h"

struct rpc_torrent_view {
	struct rpc_handler *h;
	const struct engine_torrent_stats *st;   /* the caller's, for the view's life */
	bool have_files, have_peers, have_trackers, have_pieces;
	struct engine_file_info *files;
	size_t nfiles;
	struct engine_peer_info *peers;
	size_t npeers;
	struct engine_tracker_info *trackers;
	size_t ntrackers;
	struct engine_piece_map pieces;
	bool pieces_ok;
	bool have_times;
	struct engine_torrent_times times;
};

typedef void (*rpc_field_fn)(struct rpc_torrent_view *v, struct rpc_jw *w);

int
rpc_status_of(const struct engine_torrent_stats *st)
{
	switch (st->state) {
	case ENGINE_TORRENT_STOPPED:
	case ENGINE_TORRENT_ERROR:
		return RPC_STATUS_STOPPED;
	case ENGINE_TORRENT_QUEUED:
		return st->left == 0 && st->pieces_total > 0 ? RPC_STATUS_SEED_WAIT :
		    RPC_STATUS_DOWNLOAD_WAIT;
	case ENGINE_TORRENT_CHECKING:
		return RPC_STATUS_CHECK;
	case ENGINE_TORRENT_METADATA:
	case ENGINE_TORRENT_DOWNLOADING:
		return RPC_STATUS_DOWNLOAD;
	case ENGINE_TORRENT_SEEDING:
		return RPC_STATUS_SEED;
	case ENGINE_TORRENT_STATE_COUNT:
		break;
	}
	return RPC_STATUS_STOPPED;
}

/* ---- lazy copies of the bigger snapshots ---- */

static void
view_files(struct rpc_torrent_view *v)
{
	if (!v->have_files) {
		v->nfiles = engine_files(v->h->e, v->st->id, &v->files);
		v->have_files = true;
	}
}

static void
view_peers(struct rpc_torrent_view *v)
{
	if (!v->have_peers) {
		v->npeers = engine_peers(v->h->e, v->st->id, &v->peers);
		v->have_peers = true;
	}
}

static void
view_trackers(struct rpc_torrent_view *v)
{
	if (!v->have_trackers) {
		v->ntrackers = engine_trackers(v->h->e, v->st->id, &v->trackers);
		v->have_trackers = true;
	}
}

static void
view_pieces(struct rpc_torrent_view *v)
{
	if (!v->have_pieces) {
		v->pieces_ok = engine_pieces(v->h->e, v->st->id, &v->pieces) == 0;
		v->have_pieces = true;
	}
}

static void
view_times(struct rpc_torrent_view *v)
{
	if (!v->have_times) {
		engine_torrent_get_times(v->h->e, v->st->id, &v->times);
		v->have_times = true;
	}
}

struct rpc_torrent_view *
rpc_view_new(struct rpc_handler *h, const struct engine_torrent_stats *st)
{
	struct rpc_torrent_view *v = xcalloc(1, sizeof *v);
	v->h = h;
	v->st = st;
	return v;
}

void
rpc_view_free(struct rpc_torrent_view *v)
{
	if (v == NULL)
		return;
	engine_files_free(v->files, v->nfiles);
	free(v->peers);
	free(v->trackers);
	if (v->pieces_ok)
		engine_piece_map_free(&v->pieces);
	free(v);
}

/* ---- helpers ---- */

static json_t *
rpc_json_u64(uint64_t n)
{
	return json_integer(n > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)n);
}

/* Transmission's speed unit for limits: kB/s with k = 1000. */
static void
rpc_field_kbps(struct rpc_jw *w, uint64_t bps)
{
	rpc_jw_u64(w, (bps + 999) / 1000);
}

static int
prio_to_rpc(enum engine_prio p)
{
	return p == ENGINE_PRIO_LOW ? -1 : p == ENGINE_PRIO_HIGH ? 1 : 0;
}

/* "scheme://host:port" of an announce URL, as Transmission's trackerStats "host". */
static void
url_host(const char *url, char *out, size_t outlen)
{
	const char *p = strstr(url, "://");
	const char *start = p != NULL ? p + 3 : url;
	size_t n = strcspn(start, "/?#");
	size_t scheme = p != NULL ? (size_t)(p - url) + 3 : 0;
	snprintf(out, outlen, "%.*s%.*s", (int)scheme, url, (int)n, start);
}

static void
url_escape(struct dp_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL) {
			dp_buf_add(b, p, 1);
		} else {
			char esc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			dp_buf_add(b, esc, 3);
		}
	}
}

/* ---- the fields ---- */

/* Outside text (a name or URL from the .torrent, a peer's client name) may not be UTF-8: the
 * nested fields' jansson values take it through rpc_json_text, as json_pack's "s" refused it
 * and the whole file, peer or tracker went missing from the list. */

#define RPC_FIELD(fname) static void fname(struct rpc_torrent_view *v, struct rpc_jw *w)

RPC_FIELD(f_activity_date)
{
	/* When data last moved this run; before any, the last date known. */
	if (v->st->state == ENGINE_TORRENT_CHECKING) {
		rpc_jw_int(w, dp_wall_time());
		return;
	}
	rpc_jw_int(w, DP_MAX(v->st->activity_date, DP_MAX(v->st->added_date,
	    v->st->completed_date)));
}
RPC_FIELD(f_added_date) { rpc_jw_int(w, v->st->added_date); }
RPC_FIELD(f_bandwidth_priority) { (void)v; rpc_jw_int(w, 0); }
RPC_FIELD(f_comment) { rpc_jw_str(w, v->st->comment); }
RPC_FIELD(f_creator) { view_times(v); rpc_jw_str(w, v->times.creator); }
RPC_FIELD(f_date_created) { view_times(v); rpc_jw_int(w, v->times.date_created); }
RPC_FIELD(f_corrupt_ever) { rpc_jw_u64(w, v->st->corrupt_bytes); }

RPC_FIELD(f_desired_available)
{
	/* Bytes of missing wanted pieces that connected peers have. */
	view_pieces(v);
	uint64_t sum = 0;
	if (v->pieces_ok) {
		for (uint32_t i = 0; i < v->pieces.count; i++) {
			if (v->pieces.state[i] >= 2 || v->pieces.availability[i] == 0)   /* have, skipped */
				continue;
			sum += i + 1 == v->pieces.count && v->st->total_size % v->st->piece_length ?
			    v->st->total_size % v->st->piece_length : v->st->piece_length;
		}
	}
	rpc_jw_u64(w, DP_MIN(sum, v->st->left));
}

RPC_FIELD(f_done_date) { rpc_jw_int(w, v->st->completed_date); }
RPC_FIELD(f_download_dir) { rpc_jw_str(w, v->st->save_path); }
RPC_FIELD(f_downloaded_ever) { rpc_jw_u64(w, v->st->downloaded); }
RPC_FIELD(f_download_limit) { rpc_field_kbps(w, v->st->down_limit); }
RPC_FIELD(f_download_limited) { rpc_jw_bool(w, v->st->down_limit > 0); }

#define RPC_REFUSED_PREFIX "tracker refused: "

/*
 * Transmission's error and its text: 3 for the torrent's own error; 2 when its only tracker
 * answered with a failure reason (with several, a dead one among them is common and not the
 * torrent's error); 1 when a tracker answered with a warning. A tracker that cannot be reached
 * is no error of the torrent: trackerStats says so.
 */
static int
rpc_error_of(struct rpc_torrent_view *v, const char **text)
{
	*text = "";
	if (v->st->state == ENGINE_TORRENT_ERROR) {
		*text = v->st->error;
		return RPC_STAT_LOCAL_ERROR;
	}
	view_trackers(v);
	size_t named = 0;
	const struct engine_tracker_info *only = NULL;
	for (size_t i = 0; i < v->ntrackers; i++) {
		if (v->trackers[i].ipv6)
			continue;
		named++;
		only = &v->trackers[i];
	}
	if (named == 1 && only->last_error_refused) {
		*text = only->last_error;
		if (strncmp(*text, RPC_REFUSED_PREFIX, sizeof RPC_REFUSED_PREFIX - 1) == 0)
			*text += sizeof RPC_REFUSED_PREFIX - 1;
		return RPC_STAT_TRACKER_ERROR;
	}
	for (size_t i = 0; i < v->ntrackers; i++) {
		if (v->trackers[i].last_warning[0] != '\0') {
			*text = v->trackers[i].last_warning;
			return RPC_STAT_TRACKER_WARNING;
		}
	}
	return RPC_STAT_OK;
}

RPC_FIELD(f_error)
{
	const char *text;
	rpc_jw_int(w, rpc_error_of(v, &text));
}

RPC_FIELD(f_error_string)
{
	const char *text;
	rpc_error_of(v, &text);
	rpc_jw_str(w, text);
}

RPC_FIELD(f_eta)
{
	/* -1: not available (done or not running), -2: unknown (no download rate yet, or a
	 * magnet whose size is not known: transmission-remote prints "Done" for -1 with nothing
	 * left, as Transmission's -2 gives "Unknown"). */
	if (v->st->state == ENGINE_TORRENT_METADATA) {
		rpc_jw_int(w, -2);
		return;
	}
	if (v->st->left == 0 || (v->st->state != ENGINE_TORRENT_DOWNLOADING &&
	    v->st->state != ENGINE_TORRENT_METADATA)) {
		rpc_jw_int(w, -1);
		return;
	}
	rpc_jw_int(w, v->st->eta_s >= 0 ? v->st->eta_s : -2);
}
RPC_FIELD(f_eta_idle) { (void)v; rpc_jw_int(w, -1); }
RPC_FIELD(f_file_count) { rpc_jw_u64(w, v->st->file_count); }

RPC_FIELD(f_files)
{
	view_files(v);
	json_t *a = json_array();
	for (size_t i = 0; i < v->nfiles; i++) {
		const struct engine_file_info *f = &v->files[i];
		/* Transmission names a multi-file torrent's files "folder/path". */
		char *name = v->nfiles > 1 ? xasprintf("%s/%s", v->st->name, f->display_path) :
		    xstrdup(f->display_path);
		json_array_append_new(a, json_pack("{s:o, s:o, s:o}", "bytesCompleted",
		    rpc_json_u64(f->done), "length", rpc_json_u64(f->size), "name",
		    rpc_json_text(name)));
		free(name);
	}
	rpc_jw_json(w, a);
}

RPC_FIELD(f_file_stats)
{
	view_files(v);
	json_t *a = json_array();
	for (size_t i = 0; i < v->nfiles; i++) {
		const struct engine_file_info *f = &v->files[i];
		json_array_append_new(a, json_pack("{s:o, s:b, s:i}", "bytesCompleted",
		    rpc_json_u64(f->done), "wanted", f->priority != ENGINE_PRIO_SKIP, "priority",
		    prio_to_rpc(f->level)));
	}
	rpc_jw_json(w, a);
}

RPC_FIELD(f_hash_string) { rpc_jw_str(w, v->st->info_hash_hex); }
RPC_FIELD(f_have_unchecked) { (void)v; rpc_jw_int(w, 0); }
RPC_FIELD(f_have_valid) { rpc_jw_u64(w, v->st->have_size); }
RPC_FIELD(f_honors_session_limits) { (void)v; rpc_jw_bool(w, true); }
RPC_FIELD(f_id) { rpc_jw_int(w, v->st->id); }
RPC_FIELD(f_is_finished)
{
	/* Transmission's meaning: stopped because a seeding limit was met. A seed stopped by hand
	 * is not finished (transmission-remote -l said "Finished" where Transmission says
	 * "Stopped"). */
	if (v->st->left != 0 || v->st->state != ENGINE_TORRENT_STOPPED ||
	    v->st->pieces_total == 0) {
		rpc_jw_bool(w, false);
		return;
	}
	if (v->st->idle_stopped) {
		rpc_jw_bool(w, true);
		return;
	}
	double ratio;
	int64_t secs;
	struct engine_queue_limits q;
	if (engine_torrent_get_seed_limits(v->h->e, v->st->id, &ratio, &secs) != 0 ||
	    engine_get_queue_limits(v->h->e, &q) != 0) {
		rpc_jw_bool(w, false);
		return;
	}
	view_times(v);
	char why[160];
	int64_t milli = ratio < 0 ? -1 : (int64_t)(ratio * 1000.0 + 0.5);
	rpc_jw_bool(w, queue_seed_limit_reached(milli, secs, q.seed_ratio, q.seed_time_s,
	    v->st->uploaded, v->st->downloaded, v->st->wanted_size, v->times.seconds_seeding, why,
	    sizeof why));
}
RPC_FIELD(f_is_private) { rpc_jw_bool(w, v->st->is_private); }
/* Transmission calls a torrent stalled when the queue's stalled detection (queue-stalled-enabled,
 * which downpour does not have and reports off) finds it idle too long: never here. A download
 * without peers is not stalled in Transmission either. */
RPC_FIELD(f_is_stalled) { (void)v; rpc_jw_bool(w, false); }
RPC_FIELD(f_labels)
{
	rpc_jw_array(w);
	for (const char *p = v->st->labels; *p != '\0';) {
		size_t n = strcspn(p, ",");
		rpc_jw_strn(w, p, n);
		p += n;
		if (*p == ',')
			p++;
	}
	rpc_jw_end(w);
}
RPC_FIELD(f_left_until_done) { rpc_jw_u64(w, v->st->left); }

RPC_FIELD(f_magnet_link)
{
	struct dp_buf b;
	dp_buf_init(&b);
	dp_buf_printf(&b, "magnet:?xt=urn:btih:%s&dn=", v->st->info_hash_hex);
	url_escape(&b, v->st->name);
	view_trackers(v);
	for (size_t i = 0; i < v->ntrackers; i++) {
		if (v->trackers[i].ipv6)
			continue;
		dp_buf_add_str(&b, "&tr=");
		url_escape(&b, v->trackers[i].url);
	}
	rpc_jw_strn(w, (const char *)b.data, b.len);
	dp_buf_free(&b);
}

RPC_FIELD(f_manual_announce_time) { (void)v; rpc_jw_int(w, -1); }
RPC_FIELD(f_max_connected_peers) { rpc_jw_int(w, v->st->max_peers); }
RPC_FIELD(f_metadata_percent)
{
	rpc_jw_real(w, v->st->metadata_progress);
}
RPC_FIELD(f_name) { rpc_jw_str(w, v->st->name); }

RPC_FIELD(f_peers)
{
	view_peers(v);
	json_t *a = json_array();
	for (size_t i = 0; i < v->npeers; i++) {
		const struct engine_peer_info *p = &v->peers[i];
		if (p->webseed)    /* Transmission lists those apart: webseeds */
			continue;
		char addr[64];
		int port = 0;
		const char *colon = strrchr(p->addr, ':');
		size_t alen = colon != NULL ? (size_t)(colon - p->addr) : strlen(p->addr);
		const char *a0 = p->addr;
		if (alen >= 2 && a0[0] == '[' && a0[alen - 1] == ']') {
			a0++;
			alen -= 2;
		}
		snprintf(addr, sizeof addr, "%.*s", (int)alen, a0);
		if (colon != NULL)
			port = atoi(colon + 1);
		bool downloading = p->down_rate > 0 || (!p->peer_choking && p->am_interested);
		bool uploading = !p->am_choking && p->peer_interested;
		char flags[16];
		size_t k = 0;
		if (p->optimistic)
			flags[k++] = 'O';
		if (downloading)
			flags[k++] = 'D';
		else if (p->am_interested)
			flags[k++] = 'd';
		if (uploading)
			flags[k++] = 'U';
		else if (p->peer_interested)
			flags[k++] = 'u';
		/* Transmission's letters: K, the peer unchoked us but we don't want its data; ?, we
		 * unchoked it but it wants nothing (they were the other way round). */
		if (!p->peer_choking && !p->am_interested)
			flags[k++] = 'K';
		if (!p->am_choking && !p->peer_interested)
			flags[k++] = '?';
		if (p->encrypted)
			flags[k++] = 'E';
		if (p->incoming)
			flags[k++] = 'I';
		if (p->utp)
			flags[k++] = 'T';
		flags[k] = '\0';
		json_t *o = json_pack("{s:s, s:i, s:o, s:b, s:b, s:b, s:b, s:s, s:b, s:b, s:b, s:b, "
		    "s:b, s:f, s:o, s:o, s:o, s:o}",
		    "address", addr, "port", port, "clientName", rpc_json_text(p->client),
		    "clientIsChoked", p->peer_choking, "clientIsInterested", p->am_interested,
		    "peerIsChoked", p->am_choking, "peerIsInterested", p->peer_interested,
		    "flagStr", flags, "isDownloadingFrom", downloading, "isUploadingTo", uploading,
		    "isEncrypted", p->encrypted, "isIncoming", p->incoming, "isUTP", p->utp,
		    "progress", p->progress,
		    "rateToClient", rpc_json_u64(p->down_rate), "rateToPeer",
		    rpc_json_u64(p->up_rate), "bytes_to_client", rpc_json_u64(p->downloaded),
		    "bytes_to_peer", rpc_json_u64(p->uploaded));
		json_array_append_new(a, o);
	}
	rpc_jw_json(w, a);
}

RPC_FIELD(f_peers_connected) { rpc_jw_int(w, v->st->peers_connected); }

RPC_FIELD(f_peers_from)
{
	view_peers(v);
	int incoming = 0, outgoing = 0;
	for (size_t i = 0; i < v->npeers; i++) {
		if (!v->peers[i].handshake_done)
			continue;
		if (v->peers[i].incoming)
			incoming++;
		else
			outgoing++;
	}
	/* Outgoing connections come from trackers or addresses the user gave. */
	const struct {
		const char *key;
		int n;
	} from[] = { { "fromCache", 0 }, { "fromDht", 0 }, { "fromIncoming", incoming },
		{ "fromLpd", 0 }, { "fromLtep", 0 }, { "fromPex", 0 },
		{ "fromTracker", outgoing } };
	rpc_jw_object(w);
	for (size_t i = 0; i < DP_ARRAY_LEN(from); i++) {
		rpc_jw_key(w, from[i].key);
		rpc_jw_int(w, from[i].n);
	}
	rpc_jw_end(w);
}

RPC_FIELD(f_peers_getting_from_us) { rpc_jw_int(w, v->st->peers_receiving); }
RPC_FIELD(f_peers_sending_to_us) { rpc_jw_int(w, v->st->peers_sending); }
RPC_FIELD(f_percent_complete)
{
	rpc_jw_real(w, v->st->total_size ? (double)v->st->have_size / (double)v->st->total_size :
	    0.0);
}
RPC_FIELD(f_percent_done) { rpc_jw_real(w, v->st->progress); }
RPC_FIELD(f_piece_count) { rpc_jw_int(w, v->st->pieces_total); }
RPC_FIELD(f_piece_size)
{
	/* A magnet without its metadata has no pieces yet: 0, as Transmission says ("None"). */
	rpc_jw_int(w, v->st->pieces_total > 0 ? v->st->piece_length : 0);
}

RPC_FIELD(f_pieces)
{
	view_pieces(v);
	if (!v->pieces_ok) {
		rpc_jw_str(w, "");
		return;
	}
	size_t nbytes = (v->pieces.count + 7) / 8;
	unsigned char *bits = xcalloc(nbytes ? nbytes : 1, 1);
	for (uint32_t i = 0; i < v->pieces.count; i++)
		if (v->pieces.state[i] == 2)
			bits[i / 8] |= (unsigned char)(0x80 >> (i % 8));
	char *b64 = rpc_base64_encode(bits, nbytes);
	rpc_jw_str(w, b64);
	free(b64);
	free(bits);
}

RPC_FIELD(f_priorities)
{
	view_files(v);
	json_t *a = json_array();
	for (size_t i = 0; i < v->nfiles; i++)
		json_array_append_new(a, json_integer(prio_to_rpc(v->files[i].level)));
	rpc_jw_json(w, a);
}

RPC_FIELD(f_mime) { (void)v; rpc_jw_str(w, "application/octet-stream"); }
RPC_FIELD(f_queue_position)
{
	/* Without a session directory there is no queue: the order added stands in. */
	int pos = engine_queue_position(v->h->e, v->st->id);
	rpc_jw_int(w, pos >= 0 ? pos : v->st->id - 1);
}

/* Transmission's seedRatioMode: 0 the global limit, 1 the torrent's own, 2 unlimited. */
static int
seed_ratio_mode(struct rpc_torrent_view *v, double *own)
{
	int64_t secs;
	if (engine_torrent_get_seed_limits(v->h->e, v->st->id, own, &secs) < 0 || *own < 0)
		return 0;
	return *own == 0 ? 2 : 1;
}

RPC_FIELD(f_seed_ratio_mode)
{
	double own;
	rpc_jw_int(w, seed_ratio_mode(v, &own));
}

RPC_FIELD(f_seed_ratio_limit)
{
	double own;
	if (seed_ratio_mode(v, &own) == 1) {
		rpc_jw_real(w, own);
		return;
	}
	struct engine_queue_limits q;
	engine_get_queue_limits(v->h->e, &q);
	rpc_jw_real(w, q.seed_ratio > 0 ? q.seed_ratio : rpc_session_seed_ratio(v->h));
}
RPC_FIELD(f_rate_download) { rpc_jw_u64(w, v->st->down_rate); }
RPC_FIELD(f_rate_upload) { rpc_jw_u64(w, v->st->up_rate); }
RPC_FIELD(f_recheck_progress)
{
	rpc_jw_real(w, v->st->state == ENGINE_TORRENT_CHECKING ? v->st->check_progress : 0.0);
}
RPC_FIELD(f_seed_idle_limit) { rpc_jw_int(w, v->st->seed_idle_limit); }
RPC_FIELD(f_seed_idle_mode) { rpc_jw_int(w, v->st->seed_idle_mode); }
RPC_FIELD(f_sequential) { rpc_jw_bool(w, v->st->sequential); }
RPC_FIELD(f_size_when_done) { rpc_jw_u64(w, v->st->wanted_size); }
RPC_FIELD(f_status) { rpc_jw_int(w, rpc_status_of(v->st)); }
RPC_FIELD(f_total_size) { rpc_jw_u64(w, v->st->total_size); }

RPC_FIELD(f_trackers)
{
	view_trackers(v);
	json_t *a = json_array();
	for (size_t i = 0; i < v->ntrackers; i++) {
		char host[256];
		if (v->trackers[i].ipv6)
			continue;       /* the same URL, announced to over IPv6 too (BEP 7) */
		url_host(v->trackers[i].url, host, sizeof host);
		json_array_append_new(a, json_pack("{s:o, s:I, s:o, s:o, s:i}", "announce",
		    rpc_json_text(v->trackers[i].url), "id",
		    (json_int_t)tracker_list_id(v->trackers[i].url), "scrape",
		    rpc_json_text(v->trackers[i].scrape_url), "sitename", rpc_json_text(host),
		    "tier", v->trackers[i].tier));
	}
	rpc_jw_json(w, a);
}

/* Transmission 4's text form: one URL a line, tiers apart by an empty line. */
RPC_FIELD(f_tracker_list)
{
	char *text, err[64];
	if (engine_torrent_tracker_list(v->h->e, v->st->id, &text, err, sizeof err) < 0) {
		rpc_jw_str(w, "");
		return;
	}
	rpc_jw_str(w, text);
	free(text);
}

/* Transmission's tracker states: inactive, waiting, queued, active. */
static int
rpc_tracker_announce_state(const struct engine_tracker_info *t)
{
	switch (t->status) {
	case ENGINE_TRACKER_DNS:
	case ENGINE_TRACKER_CONNECTING:
	case ENGINE_TRACKER_ANNOUNCING:
		return 3;
	case ENGINE_TRACKER_OK:
	case ENGINE_TRACKER_ERROR:
		return 1;
	case ENGINE_TRACKER_IDLE:
		return t->next_announce > 0 ? 1 : 0;
	}
	return 0;
}

RPC_FIELD(f_tracker_stats)
{
	view_trackers(v);
	json_t *a = json_array();
	for (size_t i = 0; i < v->ntrackers; i++) {
		const struct engine_tracker_info *t = &v->trackers[i];
		char host[256];
		if (t->ipv6)
			continue;       /* listed once, as trackers lists it */
		url_host(t->url, host, sizeof host);
		bool announced = t->last_announce > 0 || t->status == ENGINE_TRACKER_ERROR;
		bool scraped = t->last_scrape_end > 0;
		bool ok = t->status != ENGINE_TRACKER_ERROR && t->last_error[0] == '\0';
		const char *result = !ok ? t->last_error : t->last_warning[0] ? t->last_warning :
		    announced ? "Success" : "";
		json_t *o = json_object();
		json_object_set_new(o, "announce", rpc_json_text(t->url));
		json_object_set_new(o, "announceState",
		    json_integer(rpc_tracker_announce_state(t)));
		json_object_set_new(o, "downloadCount", json_integer(t->downloaded));
		json_object_set_new(o, "hasAnnounced", json_boolean(announced));
		json_object_set_new(o, "hasScraped", json_boolean(scraped));
		json_object_set_new(o, "host", rpc_json_text(host));
		json_object_set_new(o, "sitename", rpc_json_text(host));
		json_object_set_new(o, "id", json_integer((json_int_t)tracker_list_id(t->url)));
		json_object_set_new(o, "isBackup", json_false());
		json_object_set_new(o, "lastAnnouncePeerCount", rpc_json_u64(t->last_peer_count));
		json_object_set_new(o, "lastAnnounceResult", rpc_json_text(result));
		json_object_set_new(o, "lastAnnounceStartTime", json_integer(t->last_announce_start));
		json_object_set_new(o, "lastAnnounceSucceeded", json_boolean(announced && ok));
		json_object_set_new(o, "lastAnnounceTime", json_integer(t->last_announce));
		json_object_set_new(o, "lastAnnounceTimedOut", json_false());
		json_object_set_new(o, "lastScrapeResult", rpc_json_text(t->last_scrape_error));
		json_object_set_new(o, "lastScrapeStartTime", json_integer(t->last_scrape_start));
		json_object_set_new(o, "lastScrapeSucceeded", json_boolean(scraped &&
		    t->last_scrape_ok));
		json_object_set_new(o, "lastScrapeTime", json_integer(t->last_scrape_end));
		json_object_set_new(o, "lastScrapeTimedOut", json_false());
		json_object_set_new(o, "leecherCount", json_integer(t->leechers));
		json_object_set_new(o, "nextAnnounceTime", json_integer(t->next_announce));
		json_object_set_new(o, "nextScrapeTime", json_integer(0));
		json_object_set_new(o, "scrape", rpc_json_text(t->scrape_url));
		json_object_set_new(o, "scrapeState", json_integer(0));
		json_object_set_new(o, "seederCount", json_integer(t->seeders));
		json_object_set_new(o, "tier", json_integer(t->tier));
		json_array_append_new(a, o);
	}
	rpc_jw_json(w, a);
}

RPC_FIELD(f_seconds_downloading)
{
	view_times(v);
	rpc_jw_int(w, v->times.seconds_downloading);
}
RPC_FIELD(f_seconds_seeding) { view_times(v); rpc_jw_int(w, v->times.seconds_seeding); }
RPC_FIELD(f_start_date) { view_times(v); rpc_jw_int(w, v->times.start_date); }
RPC_FIELD(f_uploaded_ever) { rpc_jw_u64(w, v->st->uploaded); }
RPC_FIELD(f_upload_limit) { rpc_field_kbps(w, v->st->up_limit); }
RPC_FIELD(f_upload_limited) { rpc_jw_bool(w, v->st->up_limit > 0); }
RPC_FIELD(f_upload_ratio)
{
	/* Transmission: -1 = not available. */
	rpc_jw_real(w, v->st->ratio >= 0 ? v->st->ratio : -1.0);
}

RPC_FIELD(f_wanted)
{
	view_files(v);
	json_t *a = json_array();
	for (size_t i = 0; i < v->nfiles; i++)
		json_array_append_new(a, json_integer(v->files[i].priority != ENGINE_PRIO_SKIP));
	rpc_jw_json(w, a);
}

/* The web seeds the engine uses (HTTP and HTTPS of the url-list; a URL past 63 bytes is cut). */
RPC_FIELD(f_webseeds)
{
	view_peers(v);
	json_t *a = json_array();
	for (size_t i = 0; i < v->npeers; i++)
		if (v->peers[i].webseed)
			json_array_append_new(a, rpc_json_text(v->peers[i].addr));
	rpc_jw_json(w, a);
}

RPC_FIELD(f_webseeds_sending)
{
	view_peers(v);
	int n = 0;
	for (size_t i = 0; i < v->npeers; i++)
		n += v->peers[i].webseed && v->peers[i].requests_out > 0;
	rpc_jw_int(w, n);
}

#undef RPC_FIELD

static const struct {
	const char *name;
	rpc_field_fn fn;
} fields[] = {
	{ "activityDate", f_activity_date },
	{ "addedDate", f_added_date },
	{ "bandwidthPriority", f_bandwidth_priority },
	{ "comment", f_comment },
	{ "corruptEver", f_corrupt_ever },
	{ "creator", f_creator },
	{ "dateCreated", f_date_created },
	{ "desiredAvailable", f_desired_available },
	{ "doneDate", f_done_date },
	{ "downloadDir", f_download_dir },
	{ "downloadedEver", f_downloaded_ever },
	{ "downloadLimit", f_download_limit },
	{ "downloadLimited", f_download_limited },
	{ "error", f_error },
	{ "errorString", f_error_string },
	{ "eta", f_eta },
	{ "etaIdle", f_eta_idle },
	{ "file-count", f_file_count },
	{ "files", f_files },
	{ "fileStats", f_file_stats },
	{ "hashString", f_hash_string },
	{ "haveUnchecked", f_have_unchecked },
	{ "haveValid", f_have_valid },
	{ "honorsSessionLimits", f_honors_session_limits },
	{ "id", f_id },
	{ "isFinished", f_is_finished },
	{ "isPrivate", f_is_private },
	{ "isStalled", f_is_stalled },
	{ "labels", f_labels },
	{ "leftUntilDone", f_left_until_done },
	{ "magnetLink", f_magnet_link },
	{ "manualAnnounceTime", f_manual_announce_time },
	{ "maxConnectedPeers", f_max_connected_peers },
	{ "metadataPercentComplete", f_metadata_percent },
	{ "name", f_name },
	{ "peer-limit", f_max_connected_peers },
	{ "peers", f_peers },
	{ "peersConnected", f_peers_connected },
	{ "peersFrom", f_peers_from },
	{ "peersGettingFromUs", f_peers_getting_from_us },
	{ "peersSendingToUs", f_peers_sending_to_us },
	{ "percentComplete", f_percent_complete },
	{ "percentDone", f_percent_done },
	{ "pieceCount", f_piece_count },
	{ "pieces", f_pieces },
	{ "pieceSize", f_piece_size },
	{ "primary-mime-type", f_mime },
	{ "priorities", f_priorities },
	{ "queuePosition", f_queue_position },
	{ "rateDownload", f_rate_download },
	{ "rateUpload", f_rate_upload },
	{ "recheckProgress", f_recheck_progress },
	{ "secondsDownloading", f_seconds_downloading },
	{ "secondsSeeding", f_seconds_seeding },
	{ "seedIdleLimit", f_seed_idle_limit },
	{ "seedIdleMode", f_seed_idle_mode },
	{ "seedRatioLimit", f_seed_ratio_limit },
	{ "seedRatioMode", f_seed_ratio_mode },
	{ "sequentialDownload", f_sequential },
	{ "sizeWhenDone", f_size_when_done },
	{ "startDate", f_start_date },
	{ "status", f_status },
	{ "totalSize", f_total_size },
	{ "trackers", f_trackers },
	{ "trackerList", f_tracker_list },
	{ "trackerStats", f_tracker_stats },
	{ "uploadedEver", f_uploaded_ever },
	{ "uploadLimit", f_upload_limit },
	{ "uploadLimited", f_upload_limited },
	{ "uploadRatio", f_upload_ratio },
	{ "wanted", f_wanted },
	{ "webseeds", f_webseeds },
	{ "webseedsSendingToUs", f_webseeds_sending },
};

const char *
rpc_field_name_at(size_t i)
{
	return i < DP_ARRAY_LEN(fields) ? fields[i].name : NULL;
}

static rpc_field_fn
field_find(const char *name)
{
	for (size_t i = 0; i < DP_ARRAY_LEN(fields); i++)
		if (strcmp(fields[i].name, name) == 0)
			return fields[i].fn;
	return NULL;
}

bool
rpc_field_known(const char *name)
{
	return field_find(name) != NULL;
}

int
rpc_field_index(const char *name)
{
	for (size_t i = 0; i < DP_ARRAY_LEN(fields); i++)
		if (strcmp(fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
rpc_view_write_at(struct rpc_torrent_view *v, int index, struct rpc_jw *w)
{
	if (index >= 0 && (size_t)index < DP_ARRAY_LEN(fields))
		fields[index].fn(v, w);
	else
		rpc_jw_null(w);
}

json_t *
rpc_view_field(struct rpc_torrent_view *v, const char *name)
{
	int index = rpc_field_index(name);
	if (index < 0)
		return NULL;
	struct rpc_jw w;
	rpc_jw_tree(&w);
	fields[index].fn(v, &w);
	return rpc_jw_root(&w);
}
