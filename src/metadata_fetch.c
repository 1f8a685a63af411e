/* metadata_fetch.c: magnet torrents: fetching the info dictionary over ut_metadata (which peer
 * gets which piece, timeouts, retries, hash check), installing it, and serving ours to peers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "magnet.h"
#include "merkle.h"
#include "metadata_fetch.h"
#include "metainfo.h"
#include "peer.h"
#include "peer_ext.h"
#include "storage.h"
#include "task.h"
#include "torrent.h"
#include "ut_metadata.h"
#include "util.h"
#include "wire.h"

#define MD_REQUEST_TIMEOUT_MS (15u * 1000u)
#define MD_REJECT_BACKOFF_MS (30u * 1000u)
#define MD_TIMEOUT_BACKOFF_MS (20u * 1000u)
#define MD_PER_PEER 4u                  /* requests outstanding at one peer */
#define MD_MAX_SIZES 8u                 /* distinct advertised sizes counted; more are ignored */
#define MD_NAME "ut_metadata"           /* BEP 9's key in the handshake's "m" */

enum md_piece_state { MD_MISSING, MD_REQUESTED, MD_HAVE };

struct md_piece {
	enum md_piece_state state;
	struct peer *from;                  /* REQUESTED: asked of; HAVE: sent by (may be gone) */
	uint64_t sent_ms;
};

/* What we know of one connected peer while fetching. */
struct md_peer {
	struct peer *p;
	uint32_t outstanding;
	uint64_t retry_ms;                  /* not asked again before this (reject, timeout) */
	bool bad;                           /* lied: metadata that failed the hash check, or data
	                                     * for another size than it advertised */
	bool rejected;                      /* refused a request: its size counts only when no peer
	                                     * that never refused names one */
};

/* Votes for one advertised metadata size among the connected peers. */
struct md_vote {
	uint64_t size;
	unsigned votes;                     /* peers naming it that never refused or lied */
	unsigned weak;                      /* peers naming it that refused a request */
	unsigned usable;                    /* voters we may ask now */
};

struct metadata_fetch {
	struct torrent *t;
	struct dp_task *task;
	struct ut_metadata_buf buf;         /* size 0 until a peer tells us */
	struct md_piece *pieces;
	struct md_peer *peers;
	size_t npeers, peers_cap;
	struct peer *probe;                 /* asked for piece 0 to learn the size */
	uint64_t probe_sent_ms;
	unsigned hash_failures;
	uint64_t started_ms;
	char *uri;                          /* the magnet link, for the session directory */
};

/* ---- the placeholder metainfo ---- */

struct metainfo *
metadata_placeholder_metainfo(const struct magnet *m)
{
	struct metainfo *mi = xcalloc(1, sizeof *mi);
	memcpy(mi->info_hash, m->info_hash, 20);
	dp_hex_encode(m->info_hash, 20, mi->info_hash_hex);
	/* Which hashes the link names: the info dictionary must match each (and a v2-only swarm
	 * is greeted with the v2 bit). */
	mi->has_v1 = m->has_btih;
	if (m->btmh != NULL) {
		mi->has_v2 = true;
		memcpy(mi->info_hash_v2, m->info_hash_v2, 32);
		dp_hex_encode(m->info_hash_v2, 32, mi->info_hash_v2_hex);
	}
	if (m->display_name != NULL && m->display_name[0] != '\0') {
		mi->name = metainfo_sanitize_component(m->display_name, strlen(m->display_name));
		mi->display_name = xstrdup(m->display_name);
	} else {
		mi->name = xstrdup(mi->info_hash_hex);
	}
	/* BEP 9 gives tr no tiers: each tracker is its own tier, so every one is announced to. */
	if (m->tracker_count > 0) {
		mi->tiers = xcalloc(m->tracker_count, sizeof *mi->tiers);
		for (size_t i = 0; i < m->tracker_count; i++) {
			mi->tiers[i].urls = xcalloc(1, sizeof *mi->tiers[i].urls);
			mi->tiers[i].urls[0] = xstrdup(m->trackers[i]);
			mi->tiers[i].count = 1;
		}
		mi->tier_count = m->tracker_count;
	}
	if (m->webseed_count > 0) {
		mi->webseeds = xcalloc(m->webseed_count, sizeof *mi->webseeds);
		for (size_t i = 0; i < m->webseed_count; i++)
			mi->webseeds[i] = xstrdup(m->webseeds[i]);
		mi->webseed_count = m->webseed_count;
	}
	mi->piece_length = UT_METADATA_PIECE;
	return mi;
}

/* ---- life cycle ---- */

struct metadata_fetch *
metadata_fetch_new(struct torrent *t)
{
	struct metadata_fetch *md = xcalloc(1, sizeof *md);
	md->t = t;
	md->started_ms = dp_now_ms();
	md->task = task_new(DP_TASK_KIND_METADATA, t->id, "metadata %s", t->mi->name);
	task_idle(md->task, DP_TASK_QUEUED, "torrent not started");
	return md;
}

static void
metadata_fetch_reset_pieces(struct metadata_fetch *md)
{
	ut_metadata_buf_free(&md->buf);
	free(md->pieces);
	md->pieces = NULL;
	md->probe = NULL;
	for (size_t i = 0; i < md->npeers; i++)
		md->peers[i].outstanding = 0;
	md->t->metadata_progress = 0.0;
}

void
metadata_fetch_free(struct metadata_fetch *md)
{
	if (md == NULL)
		return;
	metadata_fetch_reset_pieces(md);
	free(md->peers);
	free(md->uri);
	if (md->task != NULL)
		task_done(md->task, "torrent removed before the metadata arrived");
	task_release(&md->task);
	free(md);
}

double
metadata_fetch_progress(const struct metadata_fetch *md)
{
	if (md == NULL)
		return 1.0;
	if (md->buf.pieces == 0)
		return 0.0;
	return (double)md->buf.received / md->buf.pieces;
}

void
metadata_fetch_set_uri(struct metadata_fetch *md, const char *uri)
{
	free(md->uri);
	md->uri = uri != NULL ? xstrdup(uri) : NULL;
}

const char *
metadata_fetch_uri(const struct metadata_fetch *md)
{
	return md != NULL ? md->uri : NULL;
}

/* ---- peers ---- */

static struct md_peer *
metadata_fetch_peer_find(struct metadata_fetch *md, const struct peer *p, bool create)
{
	for (size_t i = 0; i < md->npeers; i++)
		if (md->peers[i].p == p)
			return &md->peers[i];
	if (!create)
		return NULL;
	if (md->npeers == md->peers_cap) {
		md->peers_cap = md->peers_cap ? md->peers_cap * 2 : 8;
		md->peers = xreallocarray(md->peers, md->peers_cap, sizeof *md->peers);
	}
	struct md_peer *mp = &md->peers[md->npeers++];
	memset(mp, 0, sizeof *mp);
	mp->p = p == NULL ? NULL : (struct peer *)(uintptr_t)p;
	return mp;
}

/* True when p offers ut_metadata of a usable size (or has not said which size). */
static bool
metadata_fetch_peer_offers(const struct peer *p)
{
	return !p->dead && p->handshake_done && peer_ext_id(p, MD_NAME) != 0 &&
	    p->exth.metadata_size <= UT_METADATA_MAX_SIZE;
}

static void
metadata_fetch_send(struct peer *p, const struct dp_buf *b)
{
	peer_send_extended(p, peer_ext_id(p, MD_NAME), b->data, b->len);
}

static void
metadata_fetch_send_request(struct metadata_fetch *md, struct md_peer *mp, uint32_t piece,
    uint64_t now)
{
	struct dp_buf b;
	dp_buf_init(&b);
	ut_metadata_build_request(&b, piece);
	metadata_fetch_send(mp->p, &b);
	dp_buf_free(&b);
	mp->outstanding++;
	if (md->pieces != NULL && piece < md->buf.pieces) {
		md->pieces[piece].state = MD_REQUESTED;
		md->pieces[piece].from = mp->p;
		md->pieces[piece].sent_ms = now;
	}
	log_debug("%s: metadata: asked %s for piece %u", md->t->mi->name, mp->p->addr_str, piece);
}

/* The torrent shows how far the fetch is (torrent.h: metadata_progress). */
static void
metadata_fetch_publish_progress(struct metadata_fetch *md)
{
	md->t->metadata_progress = metadata_fetch_progress(md);
}

/* The metadata has this many bytes: set up the pieces. */
static bool
metadata_fetch_set_size(struct metadata_fetch *md, uint64_t size)
{
	if (!ut_metadata_buf_init(&md->buf, size))
		return false;
	md->pieces = xcalloc(md->buf.pieces, sizeof *md->pieces);
	metadata_fetch_publish_progress(md);
	log_info("%s: metadata is %llu bytes (%u piece%s)", md->t->mi->name,
	    (unsigned long long)size, md->buf.pieces, md->buf.pieces == 1 ? "" : "s");
	return true;
}

static void
metadata_fetch_update_task(struct metadata_fetch *md)
{
	struct torrent *t = md->t;
	if (md->task == NULL)
		return;
	if (t->state != ENGINE_TORRENT_METADATA) {
		task_idle(md->task, DP_TASK_QUEUED, "torrent %s", engine_torrent_state_name(t->state));
		task_set_deadline(md->task, 0);
		return;
	}
	/* The oldest outstanding request is what we wait for. */
	const struct md_piece *oldest = NULL;
	uint32_t idx = 0;
	for (uint32_t i = 0; md->pieces != NULL && i < md->buf.pieces; i++) {
		const struct md_piece *pc = &md->pieces[i];
		if (pc->state == MD_REQUESTED && (oldest == NULL || pc->sent_ms < oldest->sent_ms)) {
			oldest = pc;
			idx = i;
		}
	}
	if (oldest != NULL) {
		task_wait(md->task, DP_TASK_READ_WAIT, "waiting for metadata piece %u/%u from %s",
		    idx + 1, md->buf.pieces, oldest->from->addr_str);
		task_set_deadline(md->task, (oldest->sent_ms + MD_REQUEST_TIMEOUT_MS) * 1000ull);
		return;
	}
	if (md->probe != NULL) {
		task_wait(md->task, DP_TASK_READ_WAIT, "waiting for metadata piece 1 from %s",
		    md->probe->addr_str);
		task_set_deadline(md->task, (md->probe_sent_ms + MD_REQUEST_TIMEOUT_MS) * 1000ull);
		return;
	}
	task_set_deadline(md->task, 0);
	int offering = 0, waiting = 0;
	for (struct peer *p = t->peers; p != NULL; p = p->next) {
		struct md_peer *mp = metadata_fetch_peer_find(md, p, false);
		if (!metadata_fetch_peer_offers(p) || (mp != NULL && mp->bad))
			continue;
		offering++;
		if (mp != NULL && mp->retry_ms > dp_now_ms())
			waiting++;
	}
	if (offering == 0)
		task_wait(md->task, DP_TASK_PEER_WAIT,
		    "no peer offers metadata yet (%d connected, %zu known)", t->npeers, t->nknown);
	else
		task_wait(md->task, DP_TASK_PEER_WAIT,
		    "%d peer%s offer%s metadata, %d of them rejected or timed out recently",
		    offering, offering == 1 ? "" : "s", offering == 1 ? "s" : "", waiting);
}

/* Counts the sizes the connected peers advertise into v (at most MD_MAX_SIZES); returns how
 * many. A peer that lied has no vote; one that refused us has a weak one. A peer's vote goes
 * with it: nothing a peer said outlives its connection. */
static size_t
metadata_fetch_count_votes(struct metadata_fetch *md, uint64_t now, struct md_vote *v)
{
	size_t n = 0;
	for (struct peer *p = md->t->peers; p != NULL; p = p->next) {
		if (!metadata_fetch_peer_offers(p) || p->exth.metadata_size == 0)
			continue;
		const struct md_peer *mp = metadata_fetch_peer_find(md, p, false);
		if (mp != NULL && mp->bad)
			continue;
		size_t k = 0;
		while (k < n && v[k].size != p->exth.metadata_size)
			k++;
		if (k == n) {
			if (n == MD_MAX_SIZES)
				continue;
			memset(&v[n], 0, sizeof v[n]);
			v[n++].size = p->exth.metadata_size;
		}
		if (mp != NULL && mp->rejected)
			v[k].weak++;
		else
			v[k].votes++;
		if (mp == NULL || (mp->retry_ms <= now && mp->outstanding < MD_PER_PEER))
			v[k].usable++;
	}
	return n;
}

/* a beats b: more clean votes, then more votes at all, then more peers to ask now. */
static bool
metadata_fetch_vote_beats(const struct md_vote *a, const struct md_vote *b)
{
	if (a->votes != b->votes)
		return a->votes > b->votes;
	if (a->votes + a->weak != b->votes + b->weak)
		return a->votes + a->weak > b->votes + b->weak;
	return a->usable > b->usable;
}

/* The size to fetch is the one most peers agree on, not the first one heard: a peer that names
 * a wrong size and then refuses (or leaves) kept a magnet at 0 % with an honest seeder there.
 * When another size wins, what was fetched for the old one is dropped. */
static void
metadata_fetch_choose_size(struct metadata_fetch *md, uint64_t now)
{
	struct md_vote v[MD_MAX_SIZES], cur = { .size = md->buf.size };
	size_t n = metadata_fetch_count_votes(md, now, v);
	const struct md_vote *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (v[i].size == md->buf.size)
			cur = v[i];
		if (best == NULL || metadata_fetch_vote_beats(&v[i], best))
			best = &v[i];
	}
	if (best == NULL || best->size == md->buf.size)
		return;
	if (md->buf.size != 0) {
		if (!metadata_fetch_vote_beats(best, &cur))
			return;
		log_info("%s: metadata size %llu has %u+%u peers for it, %llu had %u+%u: fetching "
		    "%llu bytes instead", md->t->mi->name, (unsigned long long)best->size,
		    best->votes, best->weak, (unsigned long long)cur.size, cur.votes, cur.weak,
		    (unsigned long long)best->size);
		metadata_fetch_reset_pieces(md);
	}
	metadata_fetch_set_size(md, best->size);
}

/* Asks peers for the pieces nobody is fetching. */
static void
metadata_fetch_request_more(struct metadata_fetch *md)
{
	struct torrent *t = md->t;
	uint64_t now = dp_now_ms();
	if (t->state != ENGINE_TORRENT_METADATA || t->md != md)
		return;
	metadata_fetch_choose_size(md, now);
	if (md->buf.size == 0) {
		/* Nobody said: ask one peer for piece 0, whose answer carries total_size. */
		if (md->probe != NULL)
			return;
		for (struct peer *p = t->peers; p != NULL; p = p->next) {
			if (!metadata_fetch_peer_offers(p))
				continue;
			struct md_peer *mp = metadata_fetch_peer_find(md, p, true);
			if (mp->bad || mp->retry_ms > now)
				continue;
			md->probe = p;
			md->probe_sent_ms = now;
			metadata_fetch_send_request(md, mp, 0, now);
			return;
		}
		return;
	}
	for (uint32_t i = 0; i < md->buf.pieces; i++) {
		if (md->pieces[i].state != MD_MISSING)
			continue;
		/* The least busy peer that offers a blob of our size. */
		struct md_peer *best = NULL;
		for (struct peer *p = t->peers; p != NULL; p = p->next) {
			if (!metadata_fetch_peer_offers(p))
				continue;
			if (p->exth.metadata_size != 0 && p->exth.metadata_size != md->buf.size)
				continue;
			struct md_peer *mp = metadata_fetch_peer_find(md, p, true);
			if (mp->bad || mp->retry_ms > now || mp->outstanding >= MD_PER_PEER)
				continue;
			if (best == NULL || mp->outstanding < best->outstanding)
				best = mp;
		}
		if (best == NULL)
			break;
		metadata_fetch_send_request(md, best, i, now);
	}
}

static void
metadata_fetch_forget_requests_of(struct metadata_fetch *md, struct peer *p)
{
	for (uint32_t i = 0; md->pieces != NULL && i < md->buf.pieces; i++) {
		if (md->pieces[i].state == MD_REQUESTED && md->pieces[i].from == p) {
			md->pieces[i].state = MD_MISSING;
			md->pieces[i].from = NULL;
		}
	}
	if (md->probe == p)
		md->probe = NULL;
	struct md_peer *mp = metadata_fetch_peer_find(md, p, false);
	if (mp != NULL)
		mp->outstanding = 0;
}

void
metadata_fetch_tick(struct metadata_fetch *md, uint64_t now)
{
	if (md->t->state == ENGINE_TORRENT_METADATA) {
		for (uint32_t i = 0; md->pieces != NULL && i < md->buf.pieces; i++) {
			struct md_piece *pc = &md->pieces[i];
			if (pc->state != MD_REQUESTED || now - pc->sent_ms < MD_REQUEST_TIMEOUT_MS)
				continue;
			struct md_peer *mp = metadata_fetch_peer_find(md, pc->from, false);
			log_info("%s: metadata piece %u from %s timed out", md->t->mi->name, i,
			    pc->from->addr_str);
			if (mp != NULL) {
				mp->retry_ms = now + MD_TIMEOUT_BACKOFF_MS;
				if (mp->outstanding > 0)
					mp->outstanding--;
			}
			pc->state = MD_MISSING;
			pc->from = NULL;
		}
		if (md->probe != NULL && now - md->probe_sent_ms >= MD_REQUEST_TIMEOUT_MS) {
			struct md_peer *mp = metadata_fetch_peer_find(md, md->probe, false);
			log_info("%s: metadata piece 0 from %s timed out", md->t->mi->name,
			    md->probe->addr_str);
			if (mp != NULL) {
				mp->retry_ms = now + MD_TIMEOUT_BACKOFF_MS;
				mp->outstanding = 0;
			}
			md->probe = NULL;
		}
		metadata_fetch_request_more(md);
	}
	metadata_fetch_update_task(md);
}

/* ---- installing the info dictionary ---- */

/* The whole blob hashes to what the magnet named: SHA-1 for btih, SHA-256 for btmh (a hybrid
 * link names both, and both must match). */
static bool
metadata_fetch_verify(const struct metainfo *placeholder, const struct ut_metadata_buf *b)
{
	if (!ut_metadata_buf_complete(b))
		return false;
	if (placeholder->has_v1 && !ut_metadata_buf_verify(b, placeholder->info_hash))
		return false;
	if (placeholder->has_v2) {
		uint8_t digest[32];
		merkle_sha256(NULL, b->data, (size_t)b->size, digest);
		if (memcmp(digest, placeholder->info_hash_v2, 32) != 0)
			return false;
	}
	return placeholder->has_v1 || placeholder->has_v2;
}

/* The verified blob could not become the torrent's metainfo: the pieces are dropped, the task
 * fails with reason (a fresh one waits for a restart) and the torrent goes into error with what. */
static void
metadata_fetch_give_up(struct metadata_fetch *md, const char *reason, const char *what)
{
	struct torrent *t = md->t;
	metadata_fetch_reset_pieces(md);
	task_fail(md->task, "%s", reason);
	task_release(&md->task);
	md->task = task_new(DP_TASK_KIND_METADATA, t->id, "metadata %s", t->mi->name);
	torrent_set_error(t, "%s", what);
}

/* The verified info dictionary becomes the torrent's metainfo; md is freed. */
static void
metadata_fetch_install(struct metadata_fetch *md)
{
	struct torrent *t = md->t;
	/* Supplied by a .torrent file, a stopped or queued magnet stays stopped or queued. */
	bool running = t->state == ENGINE_TORRENT_METADATA;
	char why[256] = "";
	struct metainfo *mi = metainfo_parse_info(md->buf.data, (size_t)md->buf.size, why,
	    sizeof why);
	if (mi != NULL && (memcmp(mi->info_hash, t->mi->info_hash, 20) != 0 ||
	    (t->mi->has_v2 && (!mi->has_v2 ||
	    memcmp(mi->info_hash_v2, t->mi->info_hash_v2, 32) != 0)))) {
		snprintf(why, sizeof why, "the parsed dictionary hashes differently");
		metainfo_free(mi);
		mi = NULL;
	}
	if (mi == NULL) {
		/* The info-hash names exactly these bytes: no peer can send anything better. */
		char reason[300], what[300];
		snprintf(reason, sizeof reason, "the metadata is not a valid info dictionary: %s", why);
		snprintf(what, sizeof what, "metadata: %s", why);
		metadata_fetch_give_up(md, reason, what);
		return;
	}
	/* Installed first: a storage failure leaves the fetch as it was. */
	char err[300];
	t->md = NULL;
	if (torrent_set_metainfo(t, mi, err, sizeof err) < 0) {
		t->md = md;
		metainfo_free(mi);
		metadata_fetch_give_up(md, err, err);
		return;
	}
	uint64_t took = dp_now_ms() - md->started_ms;
	log_info("%s: metadata received and verified: %s, %u pieces, %zu files (%llu ms)",
	    mi->name, mi->info_hash_hex, mi->piece_count, mi->file_count,
	    (unsigned long long)took);
	task_done(md->task, "metadata verified: %llu bytes in %u piece%s",
	    (unsigned long long)md->buf.size, md->buf.pieces, md->buf.pieces == 1 ? "" : "s");
	task_release(&md->task);
	metadata_fetch_free(md);
	t->env->ops->emit(t->env->arg, t->id, ENGINE_EVENT_METADATA);
	/* Existing data is checked first; peers would not hear of the pieces found, so they go
	 * and come back (from the known list) when the check is done. */
	bool has_data = false;
	for (size_t i = 0; i < mi->file_count && !has_data; i++) {
		uint64_t size;
		int64_t mtime;
		if (!mi->files[i].pad && storage_file_stat(t->st, i, &size, &mtime) == 0 && size > 0)
			has_data = true;
	}
	if (has_data) {
		while (t->peers != NULL)
			peer_close(t->peers, "metadata received: checking existing data first");
	}
	if (!running)
		return;
	torrent_set_state(t, ENGINE_TORRENT_STOPPED);
	torrent_start(t);
	struct peer *p = t->peers;
	while (p != NULL) {
		struct peer *next = p->next;
		peer_update_interest(p);
		p = next;
	}
}

int
metadata_fetch_supply(struct torrent *t, const uint8_t *info, size_t len, char *err,
    size_t errlen)
{
	struct metadata_fetch *md = t->md;
	if (md == NULL) {
		snprintf(err, errlen, "%s: the metadata is already known", t->mi->name);
		return -1;
	}
	if (len == 0 || len > UT_METADATA_MAX_SIZE) {
		snprintf(err, errlen, "%s: an info dictionary of %zu bytes (at most %u MiB)",
		    t->mi->name, len, UT_METADATA_MAX_SIZE >> 20);
		return -1;
	}
	/* Checked in a buffer of our own first: a mismatch leaves the fetch as it was. */
	struct ut_metadata_buf b;
	memset(&b, 0, sizeof b);
	if (!ut_metadata_buf_init(&b, len)) {
		snprintf(err, errlen, "%s: can't hold %zu bytes of metadata", t->mi->name, len);
		return -1;
	}
	for (uint32_t i = 0; i < b.pieces; i++) {
		if (ut_metadata_buf_put(&b, i, info + (size_t)i * UT_METADATA_PIECE,
		    ut_metadata_piece_size(len, i), err, errlen) < 0) {
			ut_metadata_buf_free(&b);
			return -1;
		}
	}
	if (!metadata_fetch_verify(t->mi, &b)) {
		ut_metadata_buf_free(&b);
		snprintf(err, errlen, "%s: the info dictionary does not match the info-hash %s",
		    t->mi->name, t->mi->info_hash_hex);
		return -1;
	}
	log_info("%s: metadata supplied by a torrent file; the fetch from peers ends",
	    t->mi->name);
	metadata_fetch_reset_pieces(md);
	md->buf = b;
	md->pieces = xcalloc(b.pieces, sizeof *md->pieces);
	for (uint32_t i = 0; i < b.pieces; i++)
		md->pieces[i].state = MD_HAVE;
	metadata_fetch_install(md);
	if (t->md != NULL) {
		snprintf(err, errlen, "%s", t->error[0] != '\0' ? t->error :
		    "the metadata could not be installed");
		return -1;
	}
	return 0;
}

/* ---- messages ---- */

static void
metadata_fetch_serve(struct torrent *t, struct peer *p, uint32_t piece)
{
	struct dp_buf b;
	dp_buf_init(&b);
	const struct metainfo *mi = t->mi;
	bool have = t->md == NULL && mi->info_raw != NULL &&
	    piece < ut_metadata_piece_count(mi->info_len);
	/* A peer that does not read its data gets rejects rather than more of it. */
	if (have && peer_output_queued(p) >= PEER_OUTPUT_HIGH)
		have = false;
	if (have) {
		ut_metadata_build_data(&b, piece, mi->info_len,
		    mi->info_raw + (size_t)piece * UT_METADATA_PIECE,
		    ut_metadata_piece_size(mi->info_len, piece));
		log_debug("peer %s: sent metadata piece %u", p->addr_str, piece);
	} else {
		ut_metadata_build_reject(&b, piece);
	}
	metadata_fetch_send(p, &b);
	task_progress(p->task, 0, b.len);
	dp_buf_free(&b);
}

static void
metadata_fetch_on_data(struct metadata_fetch *md, struct peer *p, const struct ut_metadata_msg *m)
{
	struct md_peer *mp = metadata_fetch_peer_find(md, p, false);
	bool asked = false;
	if (md->probe == p && m->piece == 0) {
		md->probe = NULL;
		asked = true;
		if (mp != NULL && mp->outstanding > 0)
			mp->outstanding--;
		if (md->buf.size == 0 && !metadata_fetch_set_size(md, m->total_size))
			return;
		/* Piece 0 may be on its way from another peer too: that request is moot now. */
		if (md->pieces[0].state == MD_REQUESTED && md->pieces[0].from != p) {
			struct md_peer *q = metadata_fetch_peer_find(md, md->pieces[0].from, false);
			if (q != NULL && q->outstanding > 0)
				q->outstanding--;
		}
	} else if (md->pieces != NULL && m->piece < md->buf.pieces &&
	    md->pieces[m->piece].state == MD_REQUESTED && md->pieces[m->piece].from == p) {
		asked = true;
		if (mp != NULL && mp->outstanding > 0)
			mp->outstanding--;
	}
	if (!asked) {
		log_debug("peer %s: unrequested metadata piece %u ignored", p->addr_str, m->piece);
		return;
	}
	char err[128];
	if (mp != NULL && p->exth.metadata_size != 0 && m->total_size != p->exth.metadata_size) {
		log_info("peer %s: advertised %llu bytes of metadata, sends pieces of %llu: its size "
		    "no longer counts", p->addr_str, (unsigned long long)p->exth.metadata_size,
		    (unsigned long long)m->total_size);
		mp->bad = true;
	}
	if (m->total_size != md->buf.size ||
	    ut_metadata_buf_put(&md->buf, m->piece, m->data, m->data_len, err, sizeof err) < 0) {
		log_info("peer %s: metadata piece %u for a %llu-byte blob, we fetch %llu bytes",
		    p->addr_str, m->piece, (unsigned long long)m->total_size,
		    (unsigned long long)md->buf.size);
		if (m->piece < md->buf.pieces) {
			md->pieces[m->piece].state = MD_MISSING;
			md->pieces[m->piece].from = NULL;
		}
		if (mp != NULL)
			mp->retry_ms = dp_now_ms() + MD_REJECT_BACKOFF_MS;
		return;
	}
	md->pieces[m->piece].state = MD_HAVE;
	md->pieces[m->piece].from = p;
	metadata_fetch_publish_progress(md);
	task_progress(md->task, m->data_len, 0);
	if (!ut_metadata_buf_complete(&md->buf))
		return;
	if (metadata_fetch_verify(md->t->mi, &md->buf)) {
		metadata_fetch_install(md);
		return;
	}
	/* Someone lied (or the size was wrong): the senders are not asked again, start over. A
	 * peer that sent every piece alone is certainly the liar and is banned. */
	md->hash_failures++;
	log_warn("%s: metadata failed the hash check (attempt %u); discarding it",
	    md->t->mi->name, md->hash_failures);
	struct peer *only = md->pieces[0].from;
	for (uint32_t i = 0; i < md->buf.pieces; i++) {
		struct md_peer *q = metadata_fetch_peer_find(md, md->pieces[i].from, false);
		if (q != NULL)
			q->bad = true;
		if (md->pieces[i].from != only)
			only = NULL;
	}
	metadata_fetch_reset_pieces(md);
	if (only != NULL)   /* closes it too */
		md->t->env->ops->ban(md->t->env->arg, (struct sockaddr *)&only->addr,
		    "sent metadata that failed the hash check");
}

/* ---- the ut_metadata entry of the extension table ---- */

/* We offer it to every peer: we serve our info dictionary, and fetch it for a magnet. */
static bool
metadata_fetch_ext_offer(void *owner, struct peer *p, struct wire_ext_handshake *h)
{
	const struct torrent *t = owner;
	(void)p;
	if (t->md == NULL && t->mi->info_raw != NULL)
		h->metadata_size = t->mi->info_len;
	return true;
}

/* A message with our ut_metadata id: answers requests (data when we have the info dictionary,
 * else reject) and collects data/rejects while fetching. May close p. */
static void
metadata_fetch_ext_message(void *owner, struct peer *p, const uint8_t *payload, size_t len)
{
	struct torrent *t = owner;
	struct ut_metadata_msg m;
	char err[128];
	if (ut_metadata_parse(payload, len, &m, err, sizeof err) < 0) {
		peer_close(p, "protocol violation: ut_metadata: %s", err);
		return;
	}
	struct metadata_fetch *md = t->md;
	switch (m.type) {
	case UT_METADATA_REQUEST:
		/* Without its extension id we have no way to answer. */
		if (peer_ext_id(p, MD_NAME) != 0)
			metadata_fetch_serve(t, p, m.piece);
		break;
	case UT_METADATA_DATA:
		if (md != NULL)
			metadata_fetch_on_data(md, p, &m);
		break;
	case UT_METADATA_REJECT:
		if (md != NULL) {
			struct md_peer *mp = metadata_fetch_peer_find(md, p, false);
			log_debug("peer %s: rejected metadata piece %u", p->addr_str, m.piece);
			metadata_fetch_forget_requests_of(md, p);
			if (mp != NULL) {
				mp->retry_ms = dp_now_ms() + MD_REJECT_BACKOFF_MS;
				mp->rejected = true;
			}
		}
		break;
	}
	/* md may be gone (installed) now. */
	if (t->md != NULL && !p->dead) {
		metadata_fetch_request_more(t->md);
		metadata_fetch_update_task(t->md);
	}
}

/* The peer's extension handshake: ask it for pieces if it offers them. */
static void
metadata_fetch_ext_handshake(void *owner, struct peer *p)
{
	struct torrent *t = owner;
	if (t->md == NULL)
		return;
	struct metadata_fetch *md = t->md;
	if (peer_ext_id(p, MD_NAME) == 0 || p->exth.metadata_size > UT_METADATA_MAX_SIZE) {
		if (p->exth.metadata_size > UT_METADATA_MAX_SIZE)
			log_info("peer %s: offers %llu bytes of metadata, over our %u MiB limit",
			    p->addr_str, (unsigned long long)p->exth.metadata_size,
			    UT_METADATA_MAX_SIZE >> 20);
		/* A second handshake may take the extension back. */
		metadata_fetch_forget_requests_of(md, p);
	}
	metadata_fetch_request_more(md);
	metadata_fetch_update_task(md);
}

/* The peer is closing: its requests go back to the pool. */
static void
metadata_fetch_ext_gone(void *owner, struct peer *p)
{
	struct torrent *t = owner;
	struct metadata_fetch *md = t->md;
	if (md == NULL)
		return;
	metadata_fetch_forget_requests_of(md, p);
	for (uint32_t i = 0; md->pieces != NULL && i < md->buf.pieces; i++)
		if (md->pieces[i].from == p)
			md->pieces[i].from = NULL;
	for (size_t i = 0; i < md->npeers; i++) {
		if (md->peers[i].p != p)
			continue;
		md->peers[i] = md->peers[--md->npeers];
		break;
	}
}

static void
metadata_fetch_ext_tick(void *owner, uint64_t now_ms)
{
	struct torrent *t = owner;
	if (t->md != NULL)
		metadata_fetch_tick(t->md, now_ms);
}

static void
metadata_fetch_ext_free(void *owner)
{
	struct torrent *t = owner;
	metadata_fetch_free(t->md);
	t->md = NULL;
}

const struct peer_ext metadata_fetch_ext = {
	.name = MD_NAME,
	.local_id = UT_METADATA_LOCAL_ID,
	.offer = metadata_fetch_ext_offer,
	.on_handshake = metadata_fetch_ext_handshake,
	.on_message = metadata_fetch_ext_message,
	.on_gone = metadata_fetch_ext_gone,
	.on_tick = metadata_fetch_ext_tick,
	.on_free = metadata_fetch_ext_free,
};
