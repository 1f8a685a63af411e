/* v2_layers.c: fetching missing BEP 52 piece layers: the runs of 512 piece hashes each file needs,
 * which peer is asked for which (a few at a time, a slow peer's runs moved to another, timeouts,
 * rejects and backoff), answers checked by their merkle proof against the file's pieces root, and
 * the task that says what we wait for. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "merkle.h"
#include "metainfo.h"
#include "peer.h"
#include "task.h"
#include "util.h"
#include "v2_layers.h"
#include "wire_hash.h"

#define VL_TIMEOUT_MS (20u * 1000u)      /* an unanswered request goes to another peer */
#define VL_HEDGE_MS (3u * 1000u)         /* ... this soon when another peer could answer it: the
                                            download waits for every layer (v2-only) */
#define VL_PEER_BACKOFF_MS (30u * 1000u) /* a peer that refused or timed out rests this long */
#define VL_MAX_BACKOFF_MS (60u * 1000u)  /* the longest a run waits after repeated failures */
#define VL_PER_PEER 8u                   /* requests outstanding at one peer */
#define VL_SEND_MAX 64u                  /* requests sent in one pass */

enum vl_state { VL_MISSING, VL_ASKED, VL_HAVE };

/* One request's worth of a file's piece layer. */
struct vl_run {
	size_t file;
	uint64_t pieces;                 /* the file's */
	struct wire_hash_req req;
	enum vl_state state;
	struct peer *from;               /* ASKED: of whom */
	uint64_t sent_ms;
	uint64_t next_ms;                /* MISSING: not asked again before this */
	unsigned fails;                  /* rejects, timeouts and bad answers so far */
};

struct vl_peer {
	struct peer *p;
	unsigned outstanding;
	uint64_t retry_ms;               /* not asked again before this */
};

struct v2_layers {
	struct v2_layers_env env;
	bool active;                     /* the torrent runs: peers may be asked */
	struct dp_task *task;
	struct merkle_hasher *mh;
	struct vl_run *runs;
	size_t nruns, runs_left;
	size_t files;                    /* files whose layer is fetched */
	struct vl_peer *peers;
	size_t npeers, peers_cap;
	uint64_t started_ms;
};

/* ---- pure parts ---- */

void
v2_layers_request_for(const uint8_t root[32], uint64_t pieces, unsigned piece_level,
    uint32_t index, struct wire_hash_req *out)
{
	uint64_t w = merkle_pow2(pieces);
	memset(out, 0, sizeof *out);
	memcpy(out->root, root, 32);
	out->base_layer = piece_level;
	out->index = index;
	out->length = (uint32_t)DP_MIN((uint64_t)V2_LAYERS_RUN, w - index);
	/* Counted from the base: up to the root's children, so the uncles end at the root. */
	out->proof_layers = merkle_log2(w) - 1;
}

bool
v2_layers_verify(struct merkle_hasher *mh, const struct wire_hash_req *sent, uint64_t pieces,
    const struct wire_hashes *got)
{
	const struct wire_hash_req *r = &got->req;
	if (memcmp(r->root, sent->root, 32) != 0 || r->base_layer != sent->base_layer ||
	    r->index != sent->index || r->length != sent->length ||
	    r->proof_layers != sent->proof_layers)
		return false;
	if (pieces < 2 || sent->length == 0 || (sent->length & (sent->length - 1)) != 0 ||
	    sent->index % sent->length != 0 || sent->index >= pieces || sent->base_layer > 62)
		return false;
	uint64_t w = merkle_pow2(pieces);
	unsigned height = merkle_log2(w), run = merkle_log2(sent->length);
	if ((uint64_t)sent->index + sent->length > w)
		return false;
	uint32_t uncles = height - run;
	if (wire_hash_uncles(sent) != uncles || got->count != sent->length + uncles)
		return false;
	/* Past the file's last piece the layer holds padding: the root of that many zero leaves. */
	uint8_t pad[MERKLE_HASH];
	merkle_pad(mh, sent->base_layer, pad);
	for (uint64_t i = DP_MAX((uint64_t)sent->index, pieces); i < sent->index + sent->length; i++)
		if (memcmp(got->hashes + (i - sent->index) * MERKLE_HASH, pad, MERKLE_HASH) != 0)
			return false;
	return merkle_verify_run(mh, got->hashes, sent->length, sent->index,
	    got->hashes + (size_t)sent->length * MERKLE_HASH, uncles, sent->root);
}

/* ---- life cycle ---- */

struct v2_layers *
v2_layers_new(const struct v2_layers_env *env)
{
	const struct metainfo *mi = env->mi;
	if (!mi->has_v2 || mi->piece_hashes_v2 == NULL || metainfo_v2_layers_known(mi))
		return NULL;
	struct v2_layers *vl = xcalloc(1, sizeof *vl);
	vl->env = *env;
	vl->started_ms = dp_now_ms();
	unsigned level = merkle_log2(mi->piece_length / MERKLE_BLOCK);
	for (size_t f = 0; f < mi->file_count; f++) {
		const struct mi_file *mf = &mi->files[f];
		if (mf->pad || mf->length == 0 || mf->layer_known)
			continue;
		uint64_t pieces = (mf->length + mi->piece_length - 1) / mi->piece_length;
		vl->files++;
		for (uint64_t i = 0; i < pieces; i += V2_LAYERS_RUN) {
			if (vl->nruns % 16 == 0)
				vl->runs = xreallocarray(vl->runs, vl->nruns + 16, sizeof *vl->runs);
			struct vl_run *r = &vl->runs[vl->nruns++];
			memset(r, 0, sizeof *r);
			r->file = f;
			r->pieces = pieces;
			v2_layers_request_for(mf->pieces_root, pieces, level, (uint32_t)i, &r->req);
		}
	}
	vl->runs_left = vl->nruns;
	vl->mh = merkle_hasher_new();
	vl->task = task_new(DP_TASK_KIND_METADATA, env->torrent_id, "piece layers %s", mi->name);
	task_idle(vl->task, DP_TASK_QUEUED, "torrent not started");
	log_info("%s: the piece layers of %zu file%s are missing: asking peers for them (%zu "
	    "request%s)", mi->name, vl->files, vl->files == 1 ? "" : "s", vl->nruns,
	    vl->nruns == 1 ? "" : "s");
	return vl;
}

void
v2_layers_free(struct v2_layers *vl)
{
	if (vl == NULL)
		return;
	if (vl->task != NULL) {
		if (vl->runs_left == 0)
			task_done(vl->task, "the piece layers of %zu file%s verified", vl->files,
			    vl->files == 1 ? "" : "s");
		else
			task_done(vl->task, "ended with %zu of %zu requests unanswered", vl->runs_left,
			    vl->nruns);
	}
	task_release(&vl->task);
	merkle_hasher_free(vl->mh);
	free(vl->runs);
	free(vl->peers);
	free(vl);
}

bool
v2_layers_done(const struct v2_layers *vl)
{
	return vl == NULL || vl->runs_left == 0;
}

/* ---- peers ---- */

static struct vl_peer *
v2_layers_peer(struct v2_layers *vl, const struct peer *p, bool create)
{
	for (size_t i = 0; i < vl->npeers; i++)
		if (vl->peers[i].p == p)
			return &vl->peers[i];
	if (!create)
		return NULL;
	if (vl->npeers == vl->peers_cap) {
		vl->peers_cap = vl->peers_cap ? vl->peers_cap * 2 : 8;
		vl->peers = xreallocarray(vl->peers, vl->peers_cap, sizeof *vl->peers);
	}
	struct vl_peer *vp = &vl->peers[vl->npeers++];
	memset(vp, 0, sizeof *vp);
	vp->p = (struct peer *)(uintptr_t)p;
	return vp;
}

/* A peer we may ask: connected in the v2 swarm (libtorrent drops a hybrid's connection made by
 * its v1 info-hash on a hash request) and known to hold some of the torrent (a peer with nothing
 * has no tree to answer from). */
static bool
v2_layers_peer_usable(const struct peer *p)
{
	return !p->dead && p->handshake_done && p->bev != NULL && (p->sw->v2 || p->hs_v2) &&
	    (p->has_all || p->has.count > 0);
}

/* The run failed at p (refused, timed out, lied): p rests, the run may wait. */
static void
v2_layers_run_failed(struct v2_layers *vl, struct vl_run *r, uint64_t now)
{
	struct vl_peer *vp = r->from != NULL ? v2_layers_peer(vl, r->from, false) : NULL;
	if (vp != NULL) {
		if (vp->outstanding > 0)
			vp->outstanding--;
		vp->retry_ms = now + VL_PEER_BACKOFF_MS;
	}
	r->state = VL_MISSING;
	r->from = NULL;
	r->fails++;
	/* Other peers are asked at once; a run every peer fails waits longer each time. */
	r->next_ms = r->fails <= 3 ? now :
	    now + DP_MIN((uint64_t)1000 << DP_MIN(r->fails - 3, 10u), (uint64_t)VL_MAX_BACKOFF_MS);
}

/* A run with the same request (a file of the same content) is on its way already. */
static bool
v2_layers_same_asked(const struct v2_layers *vl, const struct vl_run *r)
{
	for (size_t i = 0; i < vl->nruns; i++) {
		const struct vl_run *o = &vl->runs[i];
		if (o != r && o->state == VL_ASKED && o->req.index == r->req.index &&
		    memcmp(o->req.root, r->req.root, 32) == 0)
			return true;
	}
	return false;
}

static void
v2_layers_request_more(struct v2_layers *vl, uint64_t now)
{
	const struct metainfo *mi = vl->env.mi;
	if (!vl->active)
		return;
	unsigned sent = 0;
	for (size_t i = 0; i < vl->nruns && sent < VL_SEND_MAX; i++) {
		struct vl_run *r = &vl->runs[i];
		if (r->state != VL_MISSING || r->next_ms > now || v2_layers_same_asked(vl, r))
			continue;
		struct vl_peer *best = NULL;
		for (struct peer *p = *vl->env.peers; p != NULL; p = p->next) {
			if (!v2_layers_peer_usable(p))
				continue;
			struct vl_peer *vp = v2_layers_peer(vl, p, true);
			if (vp->retry_ms > now || vp->outstanding >= VL_PER_PEER)
				continue;
			if (best == NULL || vp->outstanding < best->outstanding)
				best = vp;
		}
		if (best == NULL)
			break;
		peer_send_hash_request(best->p, &r->req);
		best->outstanding++;
		r->state = VL_ASKED;
		r->from = best->p;
		r->sent_ms = now;
		sent++;
		log_debug("%s: asked %s for the piece layer of '%s' (%u hashes at %u)", mi->name,
		    best->p->addr_str, mi->files[r->file].path, r->req.length, r->req.index);
	}
}

static void
v2_layers_update_task(struct v2_layers *vl)
{
	const struct metainfo *mi = vl->env.mi;
	if (vl->task == NULL)
		return;
	if (vl->runs_left == 0) {
		task_set_deadline(vl->task, 0);
		task_idle(vl->task, DP_TASK_DONE, "the piece layers of %zu file%s verified",
		    vl->files, vl->files == 1 ? "" : "s");
		return;
	}
	if (!vl->active) {
		task_set_deadline(vl->task, 0);
		task_idle(vl->task, DP_TASK_QUEUED, "torrent not running");
		return;
	}
	const struct vl_run *oldest = NULL;
	unsigned asking = 0;
	for (size_t i = 0; i < vl->npeers; i++)
		if (vl->peers[i].outstanding > 0)
			asking++;
	for (size_t i = 0; i < vl->nruns; i++) {
		const struct vl_run *r = &vl->runs[i];
		if (r->state == VL_ASKED && (oldest == NULL || r->sent_ms < oldest->sent_ms))
			oldest = r;
	}
	if (oldest != NULL) {
		task_wait(vl->task, DP_TASK_READ_WAIT, "waiting for the piece layer of file '%s' "
		    "from %u peer%s (%zu of %zu requests left)", mi->files[oldest->file].path,
		    asking, asking == 1 ? "" : "s", vl->runs_left, vl->nruns);
		task_set_deadline(vl->task, (oldest->sent_ms + VL_TIMEOUT_MS) * 1000ull);
		return;
	}
	task_set_deadline(vl->task, 0);
	unsigned usable = 0, resting = 0;
	uint64_t now = dp_now_ms();
	for (struct peer *p = *vl->env.peers; p != NULL; p = p->next) {
		if (!v2_layers_peer_usable(p))
			continue;
		usable++;
		const struct vl_peer *vp = v2_layers_peer(vl, p, false);
		if (vp != NULL && vp->retry_ms > now)
			resting++;
	}
	task_wait(vl->task, DP_TASK_PEER_WAIT, "no peer to ask for the piece layers of %zu "
	    "request%s (%u peer%s with data, %u refused or timed out recently; %d connected)",
	    vl->runs_left, vl->runs_left == 1 ? "" : "s", usable, usable == 1 ? "" : "s", resting,
	    *vl->env.npeers);
}

/* A peer other than slow that could take a request now. */
static bool
v2_layers_other_peer(struct v2_layers *vl, const struct peer *slow, uint64_t now)
{
	for (struct peer *p = *vl->env.peers; p != NULL; p = p->next) {
		if (p == slow || !v2_layers_peer_usable(p))
			continue;
		const struct vl_peer *vp = v2_layers_peer(vl, p, false);
		if (vp == NULL || (vp->retry_ms <= now && vp->outstanding < VL_PER_PEER))
			return true;
	}
	return false;
}

void
v2_layers_tick(struct v2_layers *vl, bool active, uint64_t now)
{
	if (vl == NULL)
		return;
	vl->active = active;
	for (size_t i = 0; i < vl->nruns; i++) {
		struct vl_run *r = &vl->runs[i];
		if (r->state != VL_ASKED || now - r->sent_ms < VL_HEDGE_MS)
			continue;
		bool other = v2_layers_other_peer(vl, r->from, now);
		if (now - r->sent_ms < VL_TIMEOUT_MS && !other)
			continue;
		/* A late answer is then unsolicited and dropped. */
		log_info("%s: %s did not answer the hash request for '%s' in %llu s%s",
		    vl->env.mi->name, r->from->addr_str, vl->env.mi->files[r->file].path,
		    (unsigned long long)((now - r->sent_ms) / 1000),
		    other ? "; another peer is asked" : "");
		v2_layers_run_failed(vl, r, now);
	}
	v2_layers_request_more(vl, now);
	v2_layers_update_task(vl);
}

void
v2_layers_pause(struct v2_layers *vl, const char *why)
{
	if (vl == NULL)
		return;
	vl->active = false;
	for (size_t i = 0; i < vl->nruns; i++) {
		if (vl->runs[i].state == VL_ASKED) {
			vl->runs[i].state = VL_MISSING;
			vl->runs[i].from = NULL;
		}
	}
	vl->npeers = 0;
	if (vl->task != NULL && vl->runs_left > 0) {
		task_set_deadline(vl->task, 0);
		task_idle(vl->task, DP_TASK_QUEUED, "%s", why);
	}
}

void
v2_layers_peer_gone(struct v2_layers *vl, struct peer *p)
{
	if (vl == NULL)
		return;
	for (size_t i = 0; i < vl->nruns; i++) {
		if (vl->runs[i].state == VL_ASKED && vl->runs[i].from == p) {
			vl->runs[i].state = VL_MISSING;
			vl->runs[i].from = NULL;
		}
	}
	for (size_t i = 0; i < vl->npeers; i++) {
		if (vl->peers[i].p == p) {
			vl->peers[i] = vl->peers[--vl->npeers];
			break;
		}
	}
}

/* The run p was asked for that this header answers, or NULL. */
static struct vl_run *
v2_layers_find_asked(struct v2_layers *vl, const struct peer *p, const struct wire_hash_req *h)
{
	for (size_t i = 0; i < vl->nruns; i++) {
		struct vl_run *r = &vl->runs[i];
		if (r->state == VL_ASKED && r->from == p && r->req.index == h->index &&
		    r->req.length == h->length && r->req.base_layer == h->base_layer &&
		    memcmp(r->req.root, h->root, 32) == 0)
			return r;
	}
	return NULL;
}

/* The verified run goes into the metainfo, for every file of that content; a file whose runs
 * are all in has its layer known (its pieces can be verified from now on). */
static void
v2_layers_store(struct v2_layers *vl, const struct vl_run *src, const uint8_t *hashes)
{
	struct metainfo *mi = vl->env.mi;
	for (size_t i = 0; i < vl->nruns; i++) {
		struct vl_run *r = &vl->runs[i];
		if (r->state == VL_HAVE || r->req.index != src->req.index ||
		    memcmp(r->req.root, src->req.root, 32) != 0)
			continue;
		if (r->state == VL_ASKED) {
			struct vl_peer *vp = v2_layers_peer(vl, r->from, false);
			if (vp != NULL && vp->outstanding > 0 && r != src)
				vp->outstanding--;
		}
		uint64_t first = mi->files[r->file].offset / mi->piece_length + r->req.index;
		uint64_t n = DP_MIN((uint64_t)r->req.length, r->pieces - r->req.index);
		memcpy(mi->piece_hashes_v2 + first * MERKLE_HASH, hashes, (size_t)n * MERKLE_HASH);
		r->state = VL_HAVE;
		r->from = NULL;
		vl->runs_left--;
		bool all = true;
		for (size_t k = 0; k < vl->nruns && all; k++)
			if (vl->runs[k].file == r->file && vl->runs[k].state != VL_HAVE)
				all = false;
		if (all) {
			mi->files[r->file].layer_known = true;
			log_info("%s: piece layer of '%s' verified (%llu pieces)", mi->name,
			    mi->files[r->file].path, (unsigned long long)r->pieces);
		}
	}
}

void
v2_layers_on_hashes(struct v2_layers *vl, struct peer *p, const struct wire_hashes *h)
{
	struct vl_run *r = v2_layers_find_asked(vl, p, &h->req);
	if (r == NULL) {
		log_debug("peer %s: hashes nobody asked it for (%u at %u); ignored", p->addr_str,
		    h->req.length, h->req.index);
		return;
	}
	uint64_t now = dp_now_ms();
	if (!v2_layers_verify(vl->mh, &r->req, r->pieces, h)) {
		log_warn("%s: %s sent hashes for '%s' (%u at %u) that fail their merkle proof",
		    vl->env.mi->name, p->addr_str, vl->env.mi->files[r->file].path, h->req.length,
		    h->req.index);
		v2_layers_run_failed(vl, r, now);
		peer_close(p, "sent piece-layer hashes that fail their merkle proof");
		return;
	}
	struct vl_peer *vp = v2_layers_peer(vl, p, false);
	if (vp != NULL && vp->outstanding > 0)
		vp->outstanding--;
	task_progress(vl->task, (uint64_t)h->count * MERKLE_HASH, 0);
	v2_layers_store(vl, r, h->hashes);
	if (vl->runs_left == 0)
		log_info("%s: every piece layer is verified (%zu file%s, %llu ms)", vl->env.mi->name,
		    vl->files, vl->files == 1 ? "" : "s",
		    (unsigned long long)(now - vl->started_ms));
	else
		v2_layers_request_more(vl, now);
	v2_layers_update_task(vl);
}

void
v2_layers_on_reject(struct v2_layers *vl, struct peer *p, const struct wire_hash_req *req)
{
	struct vl_run *r = v2_layers_find_asked(vl, p, req);
	if (r == NULL)
		return;
	uint64_t now = dp_now_ms();
	log_info("%s: %s refused the hash request for '%s' (%u at %u)", vl->env.mi->name,
	    p->addr_str, vl->env.mi->files[r->file].path, req->length, req->index);
	v2_layers_run_failed(vl, r, now);
	v2_layers_request_more(vl, now);
	v2_layers_update_task(vl);
}
