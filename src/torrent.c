/* torrent.c: one torrent's state machine (checking, downloading, seeding, stopped, error): its
 * peers and known addresses, piece assembly and disk jobs, read cache, choking, trackers. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "announce_sched.h"
#include "tracker_list.h"
#include "choker.h"
#include "disk.h"
#include "log.h"
#include "metainfo.h"
#include "net.h"
#include "peer.h"
#include "peer_ext.h"
#include "picker.h"
#include "piece_mem.h"
#include "session_settings.h"
#include "storage.h"
#include "task.h"
#include "torrent.h"
#include "tracker.h"
#include "util.h"
#include "v2_hashes.h"
#include "v2_layers.h"
#include "webseed.h"

#define TORRENT_MAX_KNOWN 4000
#define TORRENT_CONNECTS_PER_TICK 16
#define TORRENT_MAX_CANCEL 16
#define TORRENT_STOP_DEADLINE_MS 3000
#define TORRENT_STRIKES_TO_BAN 3
#define TORRENT_EVICT_GRACE_MS 10000u      /* a new peer is never evicted sooner */
#define TORRENT_USEFUL_MS 60000u           /* a block within this keeps a peer useful */
/* A piece's blocks (piece_buf.busy): a peer reads one into place, or it landed. */
#define TORRENT_BLOCK_CLAIMED 1
#define TORRENT_BLOCK_LANDED 2
/* The in-order prefix of a piece larger than this goes to the hasher in steps of this much; the
 * write hashes the rest. Each step is a job (a task, a worker wakeup, a completion on the loop):
 * halves of a 1 MiB piece cost a 1 GiB download 1,024 more jobs, 2,200-2,900 futex calls and
 * 7,000-7,700 context switches a GiB where whole pieces cost 400-1,300 and 4,700-5,900. A piece
 * this small is hashed by its write alone: the pool's workers hash it while the next arrive, so
 * hashing still overlaps arrival, piece by piece, and the last piece waits for at most this
 * much hashing (well under a millisecond). */
#define TORRENT_HASH_STEP (1024u * 1024u)

/* A disk job and what it was for. */
struct torrent_job {
	struct disk_job job;
	struct torrent *t;
	struct torrent_job *gated_next;   /* while held back by data_gated */
	uint32_t gen;                 /* check generation, so a restarted check ignores old jobs */
	struct piece_buf *pb;         /* WRITE_PIECE */
	struct cache_piece *c;        /* READ */
};

static void torrent_check_issue(struct torrent *t);
static void torrent_maybe_free(struct torrent *t);
static void torrent_announce_new(struct torrent *t);
static void torrent_delete_done(struct disk_job *job, void *arg);
static void torrent_probe_done(struct disk_job *job, void *arg);
static void torrent_begin_transfer(struct torrent *t);
static void torrent_transfer_if_admitted(struct torrent *t);
static const struct peer_ops torrent_peer_ops;

/* The fetch of the piece layers t->mi lacks (none: t->v2l stays NULL). */
static void
torrent_v2_layers_begin(struct torrent *t)
{
	struct v2_layers_env env = {
		.mi = t->mi,
		.peers = &t->peers,
		.npeers = &t->npeers,
		.torrent_id = t->id,
	};
	t->v2l = v2_layers_new(&env);
}

/* Its peers read the torrent through t->swarm: refreshed whenever the metainfo or the picker
 * is replaced. */
static void
torrent_sync_swarm(struct torrent *t)
{
	struct peer_swarm *sw = &t->swarm;
	memcpy(sw->info_hash, t->mi->info_hash, 20);
	sw->v2 = t->mi->has_v2 && !t->mi->has_v1;
	/* A v2-only piece can be verified only by its layer; a hybrid's by its SHA-1 too. */
	sw->hold = t->v2l != NULL && !t->mi->has_v1;
	/* A hybrid, or a magnet naming both hashes (its info dictionary will be a hybrid's). */
	sw->hash_v2 = t->mi->has_v1 && t->mi->has_v2 ? t->mi->info_hash_v2 : NULL;
	sw->torrent_id = t->id;
	sw->name = t->mi->name;
	sw->piece_count = t->mi->piece_count;
	sw->piece_length = t->mi->piece_length;
	sw->total_size = t->mi->total_size;
	sw->have = &t->have;
	sw->pk = t->pk;
	sw->down_bucket = &t->down_bucket;
	sw->up_bucket = &t->up_bucket;
	sw->is_private = t->mi->is_private;
}

static void
torrent_emit(struct torrent *t, enum engine_event ev)
{
	t->env->ops->emit(t->env->arg, t->id, ev);
}

static uint32_t
torrent_random(struct torrent *t)
{
	return t->env->ops->random(t->env->arg);
}

static void
torrent_fill_request(void *arg, struct tracker_request *req)
{
	struct torrent *t = arg;
	memcpy(req->peer_id, t->env->peers->peer_id, 20);
	req->port = (uint16_t)(t->env->peers->listen_port > 0 ? t->env->peers->listen_port : 0);
	req->uploaded = t->uploaded;
	req->downloaded = t->downloaded;
	/* Without the metadata nothing is known; 0 would make us a seed (libtorrent sends 16 KiB). */
	req->left = t->md != NULL ? 16384 : torrent_left(t);
	req->numwant = t->env->set->numwant;
}

static void
torrent_got_peers(void *arg, const struct tracker_peer *peers, size_t n)
{
	struct torrent *t = arg;
	for (size_t i = 0; i < n; i++)
		torrent_add_known_peer(t, (const struct sockaddr *)&peers[i].addr, peers[i].addrlen);
	if (torrent_is_active(t))
		torrent_connect_peers(t, dp_now_ms());
}

/* The idle seeding limit passed (seed_idle.c): it stops as a user's stop, so it stays stopped. */
static void
torrent_idle_expired(void *arg, int limit_min)
{
	struct torrent *t = arg;
	log_info("%s: stopped seeding: nothing moved for %d minute%s (idle seeding limit)",
	    t->mi->name, limit_min, limit_min == 1 ? "" : "s");
	torrent_stop(t, true);
}

void
torrent_idle_changed(struct torrent *t)
{
	seed_idle_arm(&t->idle, t->state == ENGINE_TORRENT_SEEDING && !t->removing);
	torrent_touch(t);
}

struct torrent *
torrent_new(const struct torrent_env *env, int id, struct metainfo *mi, const char *save_dir,
    const struct engine_add_opts *opts, char *err, size_t errlen)
{
	/* t->save_dir is what resume files and moves use: it must be the storage's path, whole. */
	if (strlen(save_dir) >= TORRENT_SAVE_DIR_MAX) {
		snprintf(err, errlen, "%s: the download directory's path is too long (%zu bytes)",
		    mi->name, strlen(save_dir));
		return NULL;
	}
	struct torrent *t = xcalloc(1, sizeof *t);
	t->env = env;
	t->id = id;
	t->chg.id = id;
	t->mi = mi;
	t->save_dir = xstrdup(save_dir);
	t->st = storage_new(mi, save_dir, env->set->max_open_files);
	if (t->st == NULL) {
		snprintf(err, errlen, "%s: can't set up storage in %s", mi->name, save_dir);
		free(t->save_dir);
		free(t);
		return NULL;
	}
	t->rng = torrent_random(t) | 1;
	t->pk = picker_new(mi->piece_count, mi->piece_length, mi->total_size, torrent_random(t));
	bitfield_init(&t->have, mi->piece_count);
	t->file_prio = xcalloc(mi->file_count ? mi->file_count : 1, 1);
	t->file_level = xcalloc(mi->file_count ? mi->file_count : 1, 1);
	for (size_t i = 0; i < mi->file_count; i++)
		t->file_prio[i] = t->file_level[i] = ENGINE_PRIO_NORMAL;
	uint64_t now = dp_now_ms();
	bw_bucket_init(&t->down_bucket, 0, now);
	bw_bucket_init(&t->up_bucket, 0, now);
	bw_meter_init(&t->down_meter);
	bw_meter_init(&t->up_meter);
	t->added_date = dp_wall_time();
	seed_idle_init(&t->idle, env->base, env->set, torrent_idle_expired, t);
	torrent_set_state(t, ENGINE_TORRENT_STOPPED);
	t->task = task_new(DP_TASK_KIND_TORRENT, t->id, "torrent %s", mi->name);
	task_idle(t->task, DP_TASK_QUEUED, "stopped");
	if (opts != NULL && opts->sequential)
		torrent_set_sequential(t, true);
	torrent_announce_new(t);
	if (opts != NULL && opts->skip_check) {
		bitfield_set_all(&t->have);
		for (uint32_t i = 0; i < mi->piece_count; i++)
			picker_set_have(t->pk, i);
		t->have_bytes = mi->total_size;
		t->checked = true;
	}
	/* Piece layers the torrent file left out come from peers (hash requests). */
	torrent_v2_layers_begin(t);
	torrent_sync_swarm(t);
	return t;
}

bool
torrent_is_active(const struct torrent *t)
{
	return t->state == ENGINE_TORRENT_DOWNLOADING || t->state == ENGINE_TORRENT_SEEDING ||
	    t->state == ENGINE_TORRENT_METADATA;
}

bool
torrent_is_seeding(const struct torrent *t)
{
	return t->state == ENGINE_TORRENT_SEEDING;
}

bool
torrent_wants_peers(const struct torrent *t)
{
	return torrent_is_active(t) && !t->removing;
}

uint64_t
torrent_wanted(const struct torrent *t)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < t->mi->piece_count; i++)
		if (picker_priority(t->pk, i) != PRIO_SKIP)
			sum += metainfo_piece_size(t->mi, i);
	return sum;
}

uint64_t
torrent_left(const struct torrent *t)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < t->mi->piece_count; i++)
		if (!bitfield_get(&t->have, i) && picker_priority(t->pk, i) != PRIO_SKIP)
			sum += metainfo_piece_size(t->mi, i);
	return sum;
}

/* A download with peers and no block for this long is stalled (the blocked views show it). */
#define TORRENT_STALL_MS 20000

static void
torrent_update_task(struct torrent *t)
{
	switch (t->state) {
	case ENGINE_TORRENT_STOPPED:
		task_idle(t->task, DP_TASK_QUEUED, "stopped");
		break;
	case ENGINE_TORRENT_QUEUED:
		task_idle(t->task, DP_TASK_QUEUED, "queued");
		break;
	case ENGINE_TORRENT_CHECKING:
		task_wait(t->task, DP_TASK_DISK_WAIT, "checking pieces: %u of %u", t->check_done,
		    t->mi->piece_count);
		break;
	case ENGINE_TORRENT_METADATA:
		task_wait(t->task, DP_TASK_PEER_WAIT, "fetching metadata (%.0f%%) from %d peer%s",
		    100.0 * t->metadata_progress, t->npeers, t->npeers == 1 ? "" : "s");
		break;
	case ENGINE_TORRENT_DOWNLOADING: {
		/* Blocks arriving: a healthy download waits for more by design (the blocked view
		 * listed it for as long as it ran). Nothing for TORRENT_STALL_MS is a stall, timed
		 * from when it was seen. */
		uint64_t quiet = dp_now_ms() - DP_MIN(dp_now_ms(), t->recv_ms);
		if (t->npeers == 0)
			task_wait(t->task, DP_TASK_PEER_WAIT, "no peers (%zu known)", t->nknown);
		else if (quiet >= TORRENT_STALL_MS)
			task_wait(t->task, DP_TASK_PEER_WAIT,
			    "no data from %d peer%s for %llu s, %u/%u pieces", t->npeers,
			    t->npeers == 1 ? "" : "s", (unsigned long long)(quiet / 1000),
			    t->have.count, t->mi->piece_count);
		else
			task_idle(t->task, DP_TASK_READ_WAIT,
			    "downloading from %d peer%s, %u/%u pieces", t->npeers,
			    t->npeers == 1 ? "" : "s", t->have.count, t->mi->piece_count);
		break;
	}
	case ENGINE_TORRENT_SEEDING:
		task_idle(t->task, DP_TASK_READ_WAIT, "seeding to %d peer%s", t->npeers,
		    t->npeers == 1 ? "" : "s");
		break;
	case ENGINE_TORRENT_ERROR:
		task_wait(t->task, DP_TASK_FAILED, "%s", t->error);
		break;
	case ENGINE_TORRENT_STATE_COUNT:
		break;
	}
}

/* ---- disk jobs ---- */

/* Piece buffers are page-aligned, so the disk writes them without copying them into the page
 * cache (storage.h); they come from piece_mem.h's arenas. Freed ones wait in a pool for the next
 * pieces, up to this many bytes per torrent: fresh memory costs a page fault per 4 KiB, and
 * aligned allocations that come and go fragment the heap (a 1 GiB download peaked at 358 MiB
 * RSS without the pool).
 * What a download holds in them, the bound of issue 19: pieces handed to the disk pool (a write
 * or a hash step queued or running) up to disk_write_queue_bytes, since peers stop reading in
 * the callback whose job passes it (torrent_job_submit), plus the pieces that blocks already
 * read complete then (65-66 MiB at the 64 MiB default in d2d 1 GiB runs, loaded or with a slow
 * disk); pieces being received, at most what the peers' request queues cover (PEER_MAX_QUEUE
 * blocks each) rounded up to whole pieces; and this pool, which fills only as the others
 * empty. */
#define TORRENT_PIECE_POOL (32u << 20)

struct piece_mem {
	struct piece_mem *next;
	size_t len;
};

static uint8_t *
torrent_piece_alloc(struct torrent *t, size_t len)
{
	for (struct piece_mem **pp = (struct piece_mem **)&t->piece_pool; *pp != NULL;
	    pp = &(*pp)->next) {
		if ((*pp)->len == len) {
			struct piece_mem *m = *pp;
			*pp = m->next;
			t->piece_pool_bytes -= len;
			return (uint8_t *)(void *)m;
		}
	}
	return piece_mem_alloc(len);
}

static void
torrent_piece_release(struct torrent *t, uint8_t *data, size_t len)
{
	if (data == NULL)
		return;
	/* Only a download reuses buffers: a seed, a stopped or queued torrent keeps none (300
	 * finished torrents held 1.4 GiB of pooled buffers in the soak benchmark). */
	if (t->freeing || t->state != ENGINE_TORRENT_DOWNLOADING ||
	    len < sizeof(struct piece_mem) || t->piece_pool_bytes + len > TORRENT_PIECE_POOL) {
		piece_mem_free(data, len);
		return;
	}
	struct piece_mem *m = (struct piece_mem *)(void *)data;
	m->len = len;
	m->next = t->piece_pool;
	t->piece_pool = m;
	t->piece_pool_bytes += len;
}

static void
torrent_piece_pool_free(struct torrent *t)
{
	struct piece_mem *m = t->piece_pool;
	while (m != NULL) {
		struct piece_mem *next = m->next;
		piece_mem_free((uint8_t *)(void *)m, m->len);
		m = next;
	}
	t->piece_pool = NULL;
	t->piece_pool_bytes = 0;
}

/* t->disk_jobs changes by d, and the session's sum with it (what the shutdown waits for). */
static void
torrent_disk_jobs_add(struct torrent *t, int d)
{
	t->disk_jobs += d;
	if (t->env->busy == NULL)
		return;
	if (d >= 0)
		t->env->busy->disk_jobs += (size_t)d;
	else
		t->env->busy->disk_jobs -= (size_t)-d;
}

static void
torrent_set_tracker_stopping(struct torrent *t, bool on)
{
	if (t->tracker_stopping != on && t->env->busy != NULL)
		t->env->busy->tracker_stopping += on ? 1 : (size_t)-1;
	t->tracker_stopping = on;
}

static struct torrent_job *
torrent_job_new(struct torrent *t, enum disk_op op, uint32_t piece)
{
	struct torrent_job *tj = xcalloc(1, sizeof *tj);
	tj->t = t;
	tj->job.op = op;
	tj->job.storage = t->st;
	tj->job.torrent_id = t->id;
	tj->job.piece = piece;
	tj->job.offset = (uint64_t)piece * t->mi->piece_length;
	tj->job.length = metainfo_piece_size(t->mi, piece);
	disk_job_expect(&tj->job, t->mi, piece);
	tj->job.arg = tj;
	return tj;
}

/* A job holding a downloaded piece (a write or a hash step) adds its piece to the disk pool's
 * pending bytes (disk_pool_pending_write_bytes): the session weighs them at once, in the same
 * callback, so peers stop reading as soon as the bound is passed. Only writes did: under CPU
 * load every piece finished while its hash step was queued (its write waits for that step,
 * torrent_piece_write), so hash steps alone grew the pending bytes unchecked until the session's
 * once-a-second tick saw them: 167-304 MiB of piece buffers in 1 GiB d2d runs under the 64 MiB
 * default. */
static void
torrent_job_submit(struct torrent *t, struct torrent_job *tj, disk_done_fn done)
{
	tj->job.done = done;
	torrent_disk_jobs_add(t, 1);
	if (t->data_gated) {
		/* The earlier copy's DELETE must not remove what this one probes or writes. */
		tj->gated_next = NULL;
		if (t->gated_tail != NULL)
			t->gated_tail->gated_next = tj;
		else
			t->gated = tj;
		t->gated_tail = tj;
		return;
	}
	bool holds_piece = tj->job.op == DISK_OP_WRITE_PIECE || tj->job.op == DISK_OP_HASH_PART;
	disk_pool_submit(t->env->disk, &tj->job);
	if (holds_piece)
		t->env->ops->disk_pressure(t->env->arg);
}

void
torrent_open_data_gate(struct torrent *t)
{
	if (!t->data_gated)
		return;
	t->data_gated = false;
	log_info("%s: the earlier copy's data is deleted; going on", t->mi->name);
	struct torrent_job *tj = t->gated;
	t->gated = t->gated_tail = NULL;
	while (tj != NULL) {
		struct torrent_job *next = tj->gated_next;
		disk_pool_submit(t->env->disk, &tj->job);
		tj = next;
	}
	t->env->ops->disk_pressure(t->env->arg);   /* writes and hash steps among them */
}

/* ---- completion, verification ---- */

static void
torrent_on_complete(struct torrent *t)
{
	if (t->state != ENGINE_TORRENT_DOWNLOADING)
		return;
	torrent_set_state(t, ENGINE_TORRENT_SEEDING);
	t->completed_date = dp_wall_time();
	torrent_piece_pool_free(t);
	log_info("%s: download complete (%u piece%s)", t->mi->name, t->have.count,
	    t->have.count == 1 ? "" : "s");
	if (t->announce != NULL && t->have.count == t->mi->piece_count)
		announce_sched_completed(t->announce);
	/* No fsync here (issue 19: `get` waited 0.3-0.5 s per GiB for it before exiting): a
	 * resume file claims the pieces only after a synced save, or marked with the boot id. */
	/* Seeds have nothing for each other. */
	struct peer *p = t->peers;
	while (p != NULL) {
		struct peer *next = p->next;
		if (p->handshake_done && p->has_all)
			peer_close(p, "both sides are seeds");
		else
			peer_update_interest(p);
		p = next;
	}
	torrent_update_task(t);
	torrent_emit(t, ENGINE_EVENT_COMPLETED);
}

static void
torrent_strike(struct torrent *t, const struct sockaddr_storage *addr, bool alone)
{
	struct strike *s = NULL;
	for (size_t i = 0; i < t->nstrikes; i++)
		if (sockaddr_equal((const struct sockaddr *)&t->strikes[i].addr,
		    (const struct sockaddr *)addr, sockaddr_is_loopback((const struct sockaddr *)addr)))
			s = &t->strikes[i];
	if (s == NULL) {
		t->strikes = xreallocarray(t->strikes, t->nstrikes + 1, sizeof *t->strikes);
		s = &t->strikes[t->nstrikes++];
		memset(s, 0, sizeof *s);
		s->addr = *addr;
	}
	s->count++;
	char a[64];
	sockaddr_format((const struct sockaddr *)addr, a, sizeof a);
	if (alone || s->count >= TORRENT_STRIKES_TO_BAN) {
		char why[128];
		snprintf(why, sizeof why, "%s", alone ? "sent a whole piece that failed the hash check" :
		    "contributed to 3 pieces that failed the hash check");
		t->env->ops->ban(t->env->arg, (const struct sockaddr *)addr, why);
	} else {
		log_info("%s: peer %s: strike %d (a piece it helped with failed the hash check)",
		    t->mi->name, a, s->count);
	}
}

/* A failed piece with several senders passed: ban whoever sent a block that differs. */
static void
torrent_smartban_verdict(const struct sockaddr_storage *addr, bool guilty, void *arg)
{
	struct torrent *t = arg;
	char a[64];
	sockaddr_format((const struct sockaddr *)addr, a, sizeof a);
	if (guilty)
		t->env->ops->ban(t->env->arg, (const struct sockaddr *)addr,
		    "sent a corrupt block (found when the piece passed)");
	else
		log_info("%s: peer %s: cleared (its blocks of a failed piece were right)",
		    t->mi->name, a);
}

/* A piece in progress (NULL: none). The array of them exists only while one does: 8 bytes a
 * piece for each of 10,000 idle seeds was most of their memory for large torrents. */
static struct piece_buf *
torrent_partial(const struct torrent *t, uint32_t piece)
{
	return t->partial != NULL ? t->partial[piece] : NULL;
}

/* One piece in progress fewer; the array goes with the last. */
static void
torrent_partial_gone(struct torrent *t)
{
	if (t->npartial > 0)
		t->npartial--;
	if (t->npartial == 0) {
		free(t->partial);
		t->partial = NULL;
	}
}

static void
torrent_write_done(struct disk_job *job, void *arg)
{
	struct torrent_job *tj = arg;
	struct torrent *t = tj->t;
	struct piece_buf *pb = tj->pb;
	uint32_t piece = job->piece;
	torrent_disk_jobs_add(t, -1);
	t->partial[piece] = NULL;
	torrent_partial_gone(t);
	if (t->removing) {
		/* nothing to record */
	} else if (job->error != 0) {
		picker_piece_failed(t->pk, piece);
		torrent_set_error(t, "%s", job->errmsg);
	} else if (!job->hash_ok) {
		picker_piece_failed(t->pk, piece);
		t->corrupt += job->length;
		log_warn("%s: piece %u failed the hash check (%u peer%s contributed%s)", t->mi->name,
		    piece, pb->ncontrib, pb->ncontrib == 1 ? "" : "s",
		    pb->ws_mask != 0 ? ", and a web seed" : "");
		/* A web seed serves what its server holds: data that fails once fails again. */
		if (pb->ws_mask != 0)
			webseed_set_piece_failed(t->ws, pb->ws_mask, piece);
		/* Several senders: striking them all would ban an honest seeder that shared pieces
		 * with a poisoner. Keep who sent which block; the verdict comes when it passes. */
		if (pb->ncontrib > 1 && smartban_record_failure(&t->smartban, piece, pb->data,
		    job->length, DP_BLOCK_SIZE, pb->block_from, pb->contrib, pb->ncontrib))
			log_info("%s: piece %u: its %u senders' blocks kept to find the bad one",
			    t->mi->name, piece, pb->ncontrib);
		else
			for (uint8_t i = 0; i < pb->ncontrib; i++)
				torrent_strike(t, &pb->contrib[i], pb->ncontrib == 1);
	} else {
		bitfield_set(&t->have, piece);
		t->have_bytes += job->length;
		if (smartban_pending(&t->smartban, piece) > 0)
			smartban_judge(&t->smartban, piece, pb->data, job->length,
			    torrent_smartban_verdict, t);
		picker_piece_verified(t->pk, piece);
		for (struct peer *p = t->peers; p != NULL; p = p->next)
			peer_send_have(p, piece);
		if (picker_complete(t->pk))
			torrent_on_complete(t);
	}
	torrent_piece_release(t, pb->data, metainfo_piece_size(t->mi, pb->piece));
	disk_piece_hash_free(pb->ph);
	free(pb->block_from);
	free(pb);
	free(tj);
	t->env->ops->disk_pressure(t->env->arg);
	torrent_maybe_free(t);
}

static uint8_t *
torrent_block_dest(void *owner, uint32_t piece, uint32_t offset, uint32_t len)
{
	struct torrent *t = owner;
	if (t->state != ENGINE_TORRENT_DOWNLOADING || piece >= t->mi->piece_count ||
	    bitfield_get(&t->have, piece))
		return NULL;
	struct piece_buf *pb = torrent_partial(t, piece);
	if (pb == NULL) {
		if (picker_piece_state(t->pk, piece) == 2)
			return NULL;
		if (t->partial == NULL)
			t->partial = xcalloc(t->mi->piece_count, sizeof *t->partial);
		pb = xcalloc(1, sizeof *pb);
		pb->piece = piece;
		pb->data = torrent_piece_alloc(t, metainfo_piece_size(t->mi, piece));
		uint32_t nblocks = (metainfo_piece_size(t->mi, piece) + DP_BLOCK_SIZE - 1) /
		    DP_BLOCK_SIZE;
		pb->block_from = xmalloc(2 * (size_t)nblocks);
		memset(pb->block_from, SMARTBAN_NONE, nblocks);
		pb->busy = pb->block_from + nblocks;
		memset(pb->busy, 0, nblocks);
		t->partial[piece] = pb;
		t->npartial++;
	}
	/* A block already here (endgame: the cancel came too late, or went to the first 16 only)
	 * is dropped: a second copy must not overwrite the bytes the piece's check will judge,
	 * and smart-ban credits the first sender. */
	if (pb->writing || pb->busy[offset / DP_BLOCK_SIZE] ||
	    picker_block_have(t->pk, piece, offset))
		return NULL;
	(void)len;
	return pb->data + offset;
}

/* A peer's block is read into place as it arrives: the range is its own until done or abort,
 * and nobody else's copy may write there meanwhile (torrent_block_dest drops them). */
static uint8_t *
torrent_peer_block_dest(void *owner, uint32_t piece, uint32_t offset, uint32_t len)
{
	struct torrent *t = owner;
	uint8_t *dest = torrent_block_dest(owner, piece, offset, len);
	if (dest != NULL) {
		struct piece_buf *pb = t->partial[piece];
		pb->busy[offset / DP_BLOCK_SIZE] = TORRENT_BLOCK_CLAIMED;
		pb->nbusy++;
	}
	return dest;
}

static void
torrent_block_release(struct torrent *t, uint32_t piece, uint32_t offset)
{
	struct piece_buf *pb = piece < t->mi->piece_count ? torrent_partial(t, piece) : NULL;
	if (pb != NULL && pb->busy[offset / DP_BLOCK_SIZE] == TORRENT_BLOCK_CLAIMED) {
		pb->busy[offset / DP_BLOCK_SIZE] = 0;
		pb->nbusy--;
	}
}

/* The peer closed before its block was whole: someone else fills the range. */
static void
torrent_block_abort(void *owner, uint32_t piece, uint32_t offset)
{
	torrent_block_release(owner, piece, offset);
}

/* A block from who (a peer or a web seed) landed in its piece buffer: counted, the other
 * requesters of it (endgame) cancelled. False when the picker did not want it. */
static bool
torrent_block_arrived(struct torrent *t, const void *who, uint32_t piece, uint32_t offset,
    uint32_t len, bool *complete)
{
	const void *cancel[TORRENT_MAX_CANCEL];
	size_t ncancel = 0;
	*complete = false;
	if (!picker_block_received(t->pk, piece, offset, len, who, cancel, TORRENT_MAX_CANCEL,
	    &ncancel, complete))
		return false;
	uint64_t now = dp_now_ms();
	t->downloaded += len;
	t->recv_ms = now;
	seed_idle_activity(&t->idle, now);
	bw_meter_add(&t->down_meter, len, now);
	t->env->ops->transferred(t->env->arg, len, 0, now);
	torrent_touch(t);
	/* A web seed's GET runs to its end; only peers take a CANCEL. */
	for (size_t i = 0; i < ncancel; i++)
		if (cancel[i] != who && !webseed_set_owns(t->ws, cancel[i]))
			peer_cancel_block((struct peer *)(uintptr_t)cancel[i], piece, offset, len);
	return true;
}

/* Every block of the piece is here: checked (what was not hashed yet is hashed now) and written
 * on the disk pool; after the hash job holding the piece's hash, if one runs. */
static void
torrent_piece_write(struct torrent *t, struct piece_buf *pb)
{
	pb->writing = true;
	if (pb->hashing) {
		pb->write_wanted = true;
		return;
	}
	struct torrent_job *tj = torrent_job_new(t, DISK_OP_WRITE_PIECE, pb->piece);
	t->unsynced = true;
	tj->pb = pb;
	tj->job.buf = pb->data;
	tj->job.ph = pb->ph;
	torrent_job_submit(t, tj, torrent_write_done);
}

static void torrent_hash_done(struct disk_job *job, void *arg);

/* Blocks landed: the piece's in-order prefix goes to a worker's hash once it grew by a step, so
 * when the last block lands little is left to hash. Landed blocks are never written again
 * (torrent_block_dest), so the hash covers the bytes the write checks. */
static void
torrent_hash_advance(struct torrent *t, struct piece_buf *pb)
{
	uint32_t psize = metainfo_piece_size(t->mi, pb->piece), end = pb->hashed_to;
	if (pb->hashing || pb->writing || psize <= TORRENT_HASH_STEP)
		return;
	while (end < psize && pb->busy[end / DP_BLOCK_SIZE] == TORRENT_BLOCK_LANDED)
		end += DP_MIN(DP_BLOCK_SIZE, psize - end);
	/* The whole piece: its write hashes the rest. */
	if (end >= psize || end - pb->hashed_to < TORRENT_HASH_STEP)
		return;
	struct torrent_job *tj = torrent_job_new(t, DISK_OP_HASH_PART, pb->piece);
	/* A v2 piece whose root is not known yet: nothing to hash it by before the write. */
	if ((tj->job.skip_v1 && !tj->job.check_v2) ||
	    (pb->ph == NULL && (pb->ph = disk_piece_hash_new(&tj->job)) == NULL)) {
		free(tj);
		return;
	}
	tj->pb = pb;
	tj->job.buf = pb->data;
	tj->job.ph = pb->ph;
	tj->job.hash_to = end;
	pb->hashing = true;
	torrent_job_submit(t, tj, torrent_hash_done);
}

static void
torrent_hash_done(struct disk_job *job, void *arg)
{
	struct torrent_job *tj = arg;
	struct torrent *t = tj->t;
	struct piece_buf *pb = tj->pb;
	torrent_disk_jobs_add(t, -1);
	pb->hashing = false;
	if (pb->rehash) {
		disk_piece_hash_free(pb->ph);
		pb->ph = NULL;
		pb->hashed_to = 0;
		pb->rehash = false;
	} else {
		t->hashed_early += job->hash_to - pb->hashed_to;
		pb->hashed_to = job->hash_to;
	}
	free(tj);
	if (pb->write_wanted) {
		pb->write_wanted = false;
		torrent_piece_write(t, pb);
	} else if (!t->removing && !t->freeing) {
		torrent_hash_advance(t, pb);
	}
	/* The hash step's piece no longer counts in the pool's bytes: peers may read again. */
	t->env->ops->disk_pressure(t->env->arg);
	torrent_maybe_free(t);
}

static void
torrent_ws_block_done(void *owner, const void *seed, unsigned idx, uint32_t piece,
    uint32_t offset, uint32_t len)
{
	struct torrent *t = owner;
	struct piece_buf *pb = torrent_partial(t, piece);
	bool complete;
	if (!torrent_block_arrived(t, seed, piece, offset, len, &complete))
		return;
	pb->ws_mask |= 1u << idx;
	pb->busy[offset / DP_BLOCK_SIZE] = TORRENT_BLOCK_LANDED;
	if (complete)
		torrent_piece_write(t, pb);
	else
		torrent_hash_advance(t, pb);
}

static const struct webseed_ops torrent_webseed_ops = {
	.block_dest = torrent_block_dest,
	.block_done = torrent_ws_block_done,
};

static void
torrent_block_done(void *owner, struct peer *p, uint32_t piece, uint32_t offset, uint32_t len)
{
	struct torrent *t = owner;
	torrent_block_release(t, piece, offset);
	struct piece_buf *pb = torrent_partial(t, piece);
	bool complete;
	if (!torrent_block_arrived(t, p, piece, offset, len, &complete))
		return;
	uint8_t who = SMARTBAN_NONE;
	for (uint8_t i = 0; i < pb->ncontrib; i++)
		if (sockaddr_equal((struct sockaddr *)&pb->contrib[i], (struct sockaddr *)&p->addr,
		    true))
			who = i;
	if (who == SMARTBAN_NONE && pb->ncontrib < TORRENT_MAX_CONTRIBUTORS) {
		who = pb->ncontrib;
		pb->contrib[pb->ncontrib++] = p->addr;
	}
	pb->block_from[offset / DP_BLOCK_SIZE] = who;
	pb->busy[offset / DP_BLOCK_SIZE] = TORRENT_BLOCK_LANDED;
	if (complete)
		torrent_piece_write(t, pb);
	else
		torrent_hash_advance(t, pb);
}

/* ---- read cache ---- */

static void
torrent_cache_unref(struct cache_piece *c)
{
	if (--c->refs > 0)
		return;
	free(c->data);
	/* Queued blocks hold the segments (and their descriptors) until they are sent. */
	for (size_t i = 0; i < c->nspans; i++)
		if (c->spans[i].seg != NULL)
			evbuffer_file_segment_free(c->spans[i].seg);
	free(c);
}

static void
torrent_cache_ref_unref(struct peer_piece_ref *ref)
{
	torrent_cache_unref((struct cache_piece *)(void *)((char *)ref -
	    offsetof(struct cache_piece, ref)));
}

static void
torrent_cache_evict(struct torrent *t, int keep)
{
	while (t->ncache > keep) {
		/* Drop the least recently used entry that is not loading. */
		struct cache_piece **pp = &t->cache, **victim = NULL;
		for (; *pp != NULL; pp = &(*pp)->next)
			if (!(*pp)->loading)
				victim = pp;
		if (victim == NULL)
			return;
		struct cache_piece *c = *victim;
		*victim = c->next;
		c->cached = false;
		c->t = NULL;
		t->ncache--;
		torrent_cache_unref(c);
	}
}

/* The read job opened the piece's files: each descriptor goes to a file segment of libevent,
 * which closes it when the cache and every queued block are done with it. */
static int
torrent_cache_take_refs(struct cache_piece *c, struct disk_job *job)
{
	_Static_assert(PEER_PIECE_SPANS_MAX >= DISK_READ_REFS_MAX, "a piece's spans fit");
	int rc = 0;
	for (size_t i = 0; i < job->nrefs; i++) {
		struct storage_file_ref *r = &job->refs[i];
		struct peer_piece_span *s = &c->spans[c->nspans];
		s->seg = NULL;
		s->fd = -1;
		s->offset = r->file_offset;
		s->length = r->length;
		if (r->fd >= 0 && rc == 0) {
			s->seg = evbuffer_file_segment_new(r->fd, (ev_off_t)r->file_offset,
			    (ev_off_t)r->length, EVBUF_FS_CLOSE_ON_FREE | EVBUF_FS_DISABLE_MMAP |
			    EVBUF_FS_DISABLE_LOCKING);
			if (s->seg != NULL) {
				s->fd = r->fd;
				r->fd = -1;
			} else {
				rc = -1;
			}
		}
		c->nspans++;
	}
	storage_close_refs(job->refs, job->nrefs);
	job->nrefs = 0;
	return rc;
}

static void torrent_rebuild_picker(struct torrent *t);

/* A piece we claimed could not be read (its file deleted, truncated, unreadable): the pieces of
 * the file the error names (or of every file the piece touches, when it names none) are no longer
 * claimed, so `start` downloads them instead of seeding as if complete (issue 11, finding 10). */
static void
torrent_lose_file_pieces(struct torrent *t, uint32_t piece, const char *errmsg)
{
	const struct metainfo *mi = t->mi;
	uint64_t from = (uint64_t)piece * mi->piece_length;
	uint64_t to = from + metainfo_piece_size(mi, piece);
	bool named = false;
	uint8_t *hit = xcalloc(mi->file_count ? mi->file_count : 1, 1);
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		if (f->pad || f->length == 0 || f->offset >= to || f->offset + f->length <= from)
			continue;
		hit[i] = 1;
		char *path = storage_file_path(t->st, i);
		const char *at = path != NULL ? strstr(errmsg, path) : NULL;
		if (at != NULL && (at[strlen(path)] == ' ' || at[strlen(path)] == ':')) {
			hit[i] = 2;
			named = true;
		}
		free(path);
	}
	uint32_t lost = 0;
	for (size_t i = 0; i < mi->file_count; i++) {
		if (hit[i] == 0 || (named && hit[i] != 2))
			continue;
		const struct mi_file *f = &mi->files[i];
		uint32_t first = (uint32_t)(f->offset / mi->piece_length);
		uint32_t last = (uint32_t)((f->offset + f->length - 1) / mi->piece_length);
		for (uint32_t k = first; k <= last && k < mi->piece_count; k++) {
			if (!bitfield_get(&t->have, k))
				continue;
			bitfield_clear(&t->have, k);
			t->have_bytes -= metainfo_piece_size(mi, k);
			lost++;
		}
	}
	free(hit);
	if (lost == 0)
		return;
	t->have_lost++;
	torrent_rebuild_picker(t);
	log_warn("%s: %u piece%s no longer claimed after a failed read", mi->name, lost,
	    lost == 1 ? "" : "s");
}

static void
torrent_read_done(struct disk_job *job, void *arg)
{
	struct torrent_job *tj = arg;
	struct torrent *t = tj->t;
	struct cache_piece *c = tj->c;
	torrent_disk_jobs_add(t, -1);
	c->loading = false;
	c->data = job->buf;
	if (job->nrefs > 0 && torrent_cache_take_refs(c, job) < 0 && job->error == 0) {
		job->error = ENOMEM;
		snprintf(job->errmsg, sizeof job->errmsg, "piece %u: out of memory", job->piece);
	}
	if (job->error != 0 && !t->removing) {
		/* Remove the entry; serving peers would only wait forever. */
		for (struct cache_piece **pp = &t->cache; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				t->ncache--;
				c->cached = false;
				torrent_cache_unref(c);
				break;
			}
		}
		torrent_set_error(t, "%s", job->errmsg);
		torrent_lose_file_pieces(t, job->piece, job->errmsg);
	} else if (!t->removing) {
		struct peer *p = t->peers;
		while (p != NULL) {
			struct peer *next = p->next;
			if (p->ninreqs > 0)
				peer_serve(p);
			p = next;
		}
	}
	free(tj);
	torrent_maybe_free(t);
}

static struct cache_piece *
torrent_cache_get(struct torrent *t, uint32_t piece, bool files)
{
	struct cache_piece **pp, *c;
	for (pp = &t->cache; (c = *pp) != NULL; pp = &c->next) {
		if (c->piece != piece || c->files != files)
			continue;
		if (c->loading)
			return NULL;
		/* Move to the front. */
		*pp = c->next;
		c->next = t->cache;
		t->cache = c;
		c->used_ms = dp_now_ms();
		return c;
	}
	if (t->state == ENGINE_TORRENT_ERROR || t->removing)
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->t = t;
	c->piece = piece;
	c->files = files;
	c->length = metainfo_piece_size(t->mi, piece);
	c->ref.unref = torrent_cache_ref_unref;
	c->refs = 1;
	c->loading = c->cached = true;
	c->next = t->cache;
	t->cache = c;
	t->ncache++;
	torrent_cache_evict(t, t->env->set->piece_cache > 0 ? t->env->set->piece_cache : 32);
	struct torrent_job *tj = torrent_job_new(t, DISK_OP_READ, piece);
	tj->c = c;
	tj->job.want_refs = files;
	torrent_job_submit(t, tj, torrent_read_done);
	return NULL;
}

/* ---- checking ---- */

static void
torrent_check_done_cb(struct disk_job *job, void *arg)
{
	struct torrent_job *tj = arg;
	struct torrent *t = tj->t;
	bool current = tj->gen == t->check_gen && t->state == ENGINE_TORRENT_CHECKING &&
	    !t->removing;
	torrent_disk_jobs_add(t, -1);
	if (current) {
		t->check_inflight--;
		t->check_done++;
		if (job->error != 0) {
			torrent_set_error(t, "checking: %s", job->errmsg);
		} else {
			if (job->hash_ok && !bitfield_get(&t->have, job->piece)) {
				bitfield_set(&t->have, job->piece);
				t->have_bytes += job->length;
				picker_set_have(t->pk, job->piece);
			}
			torrent_check_issue(t);
		}
	}
	free(tj);
	torrent_maybe_free(t);
}

static void
torrent_check_issue(struct torrent *t)
{
	uint32_t window = (uint32_t)disk_pool_threads(t->env->disk) * 2;
	while (t->check_inflight < window && t->check_next < t->mi->piece_count) {
		uint32_t piece = t->check_next++;
		struct torrent_job *tj = torrent_job_new(t, DISK_OP_HASH_PIECE, piece);
		tj->gen = t->check_gen;
		t->check_inflight++;
		torrent_job_submit(t, tj, torrent_check_done_cb);
	}
	if (t->check_inflight == 0 && t->check_next >= t->mi->piece_count) {
		t->checked = true;
		log_info("%s: checked: %u of %u pieces verified", t->mi->name, t->have.count,
		    t->mi->piece_count);
		torrent_emit(t, ENGINE_EVENT_CHECKED);
		torrent_transfer_if_admitted(t);
		return;
	}
	torrent_update_task(t);
}

static void
torrent_start_check(struct torrent *t)
{
	torrent_set_state(t, ENGINE_TORRENT_CHECKING);
	t->check_gen++;
	t->check_next = t->check_done = t->check_inflight = 0;
	log_info("%s: checking existing data", t->mi->name);
	torrent_check_issue(t);
}

/* ---- starting and stopping ---- */

/* Joins or leaves the DHT and LSD: only public torrents ever join (BEP 27). */
static void
torrent_set_discovery(struct torrent *t, bool on)
{
	on = on && !t->mi->is_private;
	if (on == t->discovering || t->env->ops->discovery == NULL)
		return;
	t->discovering = on;
	t->env->ops->discovery(t->env->arg, t, on);
}

static void
torrent_begin_transfer(struct torrent *t)
{
	if (t->md != NULL)
		torrent_set_state(t, ENGINE_TORRENT_METADATA);
	else
		torrent_set_state(t, picker_complete(t->pk) ? ENGINE_TORRENT_SEEDING :
		    ENGINE_TORRENT_DOWNLOADING);
	if (t->state == ENGINE_TORRENT_SEEDING && t->completed_date == 0)
		t->completed_date = dp_wall_time();
	if (t->announce != NULL) {
		announce_sched_start(t->announce);
		t->announced = true;
	}
	torrent_set_discovery(t, true);
	torrent_update_task(t);
	torrent_connect_peers(t, dp_now_ms());
}

/* The data is known now: a complete torrent seeds, another downloads, each in its own class
 * of the policy's queue (a complete one never waits for a download slot). */
static void
torrent_transfer_if_admitted(struct torrent *t)
{
	if (t->env->ops->admit != NULL && !t->env->ops->admit(t->env->arg, t)) {
		torrent_update_task(t);
		return;
	}
	torrent_begin_transfer(t);
}

void
torrent_set_state(struct torrent *t, enum engine_torrent_state s)
{
	if (t->state != s) {
		if (t->env->state_counts != NULL && t->counted) {
			t->env->state_counts[t->state]--;
			t->env->state_counts[s]++;
		}
		t->state = s;
		if (s == ENGINE_TORRENT_DOWNLOADING)
			t->recv_ms = dp_now_ms();
		torrent_touch(t);
		seed_idle_arm(&t->idle, s == ENGINE_TORRENT_SEEDING);
		torrent_wake(t);
	}
}

void
torrent_wake(struct torrent *t)
{
	if (!t->ticking && t->env->ops->wake != NULL && !t->removing && !t->freeing)
		t->env->ops->wake(t->env->arg, t);
}

bool
torrent_quiet(const struct torrent *t)
{
	if (t->peers != NULL || t->md != NULL || t->ws != NULL)
		return false;
	switch (t->state) {
	case ENGINE_TORRENT_STOPPED:
	case ENGINE_TORRENT_QUEUED:
	case ENGINE_TORRENT_ERROR:
		return true;
	case ENGINE_TORRENT_SEEDING:
		return t->nknown == 0;
	default:
		return false;
	}
}

void
torrent_touch(struct torrent *t)
{
	if (t->env->changes != NULL && !t->removing && !t->freeing)
		changes_touch(t->env->changes, &t->chg, dp_now_ms());
}

void
torrent_names_changed(struct torrent *t)
{
	torrent_sync_swarm(t);
	task_rename(t->task, "torrent %s", t->mi->name);
}

void
torrent_start(struct torrent *t)
{
	if (t->removing || t->state == ENGINE_TORRENT_CHECKING || torrent_is_active(t))
		return;
	t->error[0] = '\0';
	seed_idle_started(&t->idle, dp_now_ms());
	for (size_t i = 0; i < t->nknown; i++) {
		t->known[i].next_try_ms = 0;
		if (t->known[i].fails < 1000)
			t->known[i].fails = 0;
	}
	/* A v2-only piece has no hash but its layer's: data on disk is checked once the layers
	 * are in (torrent_v2_layers_complete), not now, when no piece could pass. */
	if (!t->checked && t->md == NULL && t->v2l != NULL && !t->mi->has_v1)
		t->v2_check_deferred = true;
	if (t->checked || t->md != NULL || t->v2_check_deferred) {
		t->checked = true;
		torrent_begin_transfer(t);
		return;
	}
	/* Whether there is anything to check costs a stat() per file: a worker finds out, and
	 * the torrent shows as checking meanwhile. */
	torrent_set_state(t, ENGINE_TORRENT_CHECKING);
	t->check_gen++;
	t->check_next = t->check_done = t->check_inflight = 0;
	struct torrent_job *tj = torrent_job_new(t, DISK_OP_PROBE, 0);
	tj->gen = t->check_gen;
	tj->job.offset = 0;
	tj->job.length = 0;
	torrent_job_submit(t, tj, torrent_probe_done);
	torrent_update_task(t);
}

static void
torrent_probe_done(struct disk_job *job, void *arg)
{
	struct torrent_job *tj = arg;
	struct torrent *t = tj->t;
	bool current = tj->gen == t->check_gen && t->state == ENGINE_TORRENT_CHECKING &&
	    !t->removing;
	torrent_disk_jobs_add(t, -1);
	if (current) {
		if (job->hash_ok) {
			torrent_start_check(t);
		} else {
			t->checked = true;
			torrent_transfer_if_admitted(t);
		}
	}
	free(tj);
	torrent_maybe_free(t);
}

static void
torrent_tracker_stopped(void *arg)
{
	struct torrent *t = arg;
	torrent_set_tracker_stopping(t, false);
	/* its own callback is the last thing the schedule does: freeing it here is safe */
	if (t->announce_retired != NULL) {
		announce_sched_free(t->announce_retired);
		t->announce_retired = NULL;
	}
	torrent_maybe_free(t);
}

/* The announce schedule of the metainfo's tiers (none without trackers). */
static void
torrent_announce_new(struct torrent *t)
{
	const struct metainfo *mi = t->mi;
	const struct torrent_env *env = t->env;
	t->announce = NULL;
	if (mi->tier_count == 0)
		return;
	struct announce_callbacks cb = { torrent_fill_request, torrent_got_peers, t,
		env->tracker_hosts };
	t->announce = announce_sched_new(env->base, env->dns, env->ssl_ctx, mi->tiers, mi->tier_count,
	    mi->info_hash, t->id, mi->name, env->tracker_families, &cb);
}

void
torrent_set_trackers(struct torrent *t, struct mi_tier *tiers, size_t n)
{
	struct metainfo *mi = t->mi;
	struct tracker_list old_list = { mi->tiers, mi->tier_count };
	tracker_list_free(&old_list);
	mi->tiers = tiers;
	mi->tier_count = n;
	t->trackers_edited = true;
	struct announce_sched *old = t->announce;
	if (old != NULL && t->tracker_stopping && t->announce_retired == NULL)
		t->announce_retired = old;      /* its callback (torrent_tracker_stopped) frees it */
	else if (old != NULL)
		announce_sched_free(old);
	torrent_announce_new(t);
	if (t->announced) {
		if (t->announce != NULL)
			announce_sched_start(t->announce);
		else
			t->announced = false;
	}
}

static void
torrent_close_peers(struct torrent *t, const char *why)
{
	while (t->peers != NULL)
		peer_close(t->peers, "%s", why);
	webseed_set_stop(t->ws);
}

void
torrent_stop(struct torrent *t, bool user)
{
	if (t->state == ENGINE_TORRENT_STOPPED && !t->announced)
		return;
	torrent_close_peers(t, user ? "torrent stopped" : "shutting down");
	v2_layers_pause(t->v2l, user ? "torrent stopped" : "shutting down");
	torrent_set_discovery(t, false);
	if (t->announce != NULL && t->announced && !t->tracker_stopping) {
		torrent_set_tracker_stopping(t, true);
		t->announced = false;
		announce_sched_stop(t->announce, TORRENT_STOP_DEADLINE_MS, torrent_tracker_stopped,
		    t);
	}
	if (t->state != ENGINE_TORRENT_ERROR)
		torrent_set_state(t, ENGINE_TORRENT_STOPPED);
	torrent_piece_pool_free(t);
	t->check_gen++;   /* checking jobs in flight are ignored */
	if (t->state == ENGINE_TORRENT_STOPPED && !t->checked)
		t->check_inflight = 0;
	torrent_update_task(t);
	if (user)
		torrent_emit(t, ENGINE_EVENT_STOPPED);
}

void
torrent_set_error(struct torrent *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->error, sizeof t->error, fmt, ap);
	va_end(ap);
	if (t->state == ENGINE_TORRENT_ERROR)
		return;
	log_error("%s: %s", t->mi->name, t->error);
	bool was_checking = t->state == ENGINE_TORRENT_CHECKING;
	torrent_stop(t, false);
	torrent_set_state(t, ENGINE_TORRENT_ERROR);
	if (was_checking)
		t->checked = false;
	torrent_update_task(t);
	torrent_emit(t, ENGINE_EVENT_ERROR);
}

/* A fresh picker that knows only t->have (the picker cannot forget a piece): priorities and
 * sequential are set again, partial pieces not being written are dropped with their blocks. */
static void
torrent_rebuild_picker(struct torrent *t)
{
	picker_free(t->pk);
	t->pk = picker_new(t->mi->piece_count, t->mi->piece_length, t->mi->total_size,
	    torrent_random(t));
	torrent_sync_swarm(t);
	for (uint32_t k = 0; k < t->mi->piece_count; k++)
		if (bitfield_get(&t->have, k))
			picker_set_have(t->pk, k);
	for (size_t i = 0; i < t->mi->file_count; i++)
		torrent_file_priority(t, i, (enum engine_prio)t->file_prio[i]);
	picker_set_sequential(t->pk, t->sequential);
	for (uint32_t i = 0; t->partial != NULL && i < t->mi->piece_count; i++) {
		struct piece_buf *pb = t->partial[i];
		if (pb != NULL && !pb->writing && (pb->nbusy > 0 || pb->hashing)) {
			/* A peer is reading a block into it, or a worker hashing it: kept, its other
			 * blocks forgotten (the new picker asks for them again and they are written
			 * over), and its hash started again. */
			uint32_t nblocks = (metainfo_piece_size(t->mi, i) + DP_BLOCK_SIZE - 1) /
			    DP_BLOCK_SIZE;
			memset(pb->block_from, SMARTBAN_NONE, nblocks);
			for (uint32_t b = 0; b < nblocks; b++)
				if (pb->busy[b] == TORRENT_BLOCK_LANDED)
					pb->busy[b] = 0;
			pb->ncontrib = 0;
			pb->ws_mask = 0;
			pb->received = 0;
			if (pb->hashing) {
				pb->rehash = true;
			} else {
				disk_piece_hash_free(pb->ph);
				pb->ph = NULL;
				pb->hashed_to = 0;
			}
		} else if (pb != NULL && !pb->writing) {
			torrent_piece_release(t, pb->data, metainfo_piece_size(t->mi, pb->piece));
			disk_piece_hash_free(pb->ph);
			free(pb->block_from);
			free(pb);
			t->partial[i] = NULL;
			t->npartial--;
		}
	}
	if (t->partial != NULL && t->npartial == 0)
		torrent_partial_gone(t);
}

void
torrent_recheck(struct torrent *t)
{
	bool was_active = torrent_is_active(t) || t->state == ENGINE_TORRENT_CHECKING;
	torrent_close_peers(t, "rechecking");
	if (t->have.count > 0)
		t->have_lost++;
	bitfield_clear_all(&t->have);
	t->have_bytes = 0;
	torrent_rebuild_picker(t);
	t->checked = false;
	t->error[0] = '\0';
	if (was_active || t->state == ENGINE_TORRENT_ERROR) {
		torrent_set_state(t, ENGINE_TORRENT_STOPPED);
		torrent_start_check(t);
	} else {
		torrent_set_state(t, ENGINE_TORRENT_STOPPED);
	}
	torrent_update_task(t);
}

int
torrent_set_metainfo(struct torrent *t, struct metainfo *mi, char *err, size_t errlen)
{
	struct storage *st = storage_new(mi, t->save_dir, t->env->set->max_open_files);
	if (st == NULL) {
		snprintf(err, errlen, "%s: can't set up storage in %s", t->mi->name, t->save_dir);
		return -1;
	}
	struct metainfo *old = t->mi;
	/* The magnet's trackers and web seeds stay with the torrent. */
	mi->tiers = old->tiers;
	mi->tier_count = old->tier_count;
	old->tiers = NULL;
	old->tier_count = 0;
	if (mi->webseed_count == 0) {
		mi->webseeds = old->webseeds;
		mi->webseed_count = old->webseed_count;
		old->webseeds = NULL;
		old->webseed_count = 0;
	}
	storage_free(t->st);
	t->st = st;
	t->mi = mi;
	picker_free(t->pk);
	t->pk = picker_new(mi->piece_count, mi->piece_length, mi->total_size, torrent_random(t));
	picker_set_sequential(t->pk, t->sequential);
	bitfield_free(&t->have);
	bitfield_init(&t->have, mi->piece_count);
	t->have_bytes = 0;
	free(t->partial);
	t->partial = NULL;
	t->npartial = 0;
	free(t->file_prio);
	free(t->file_level);
	t->file_prio = xcalloc(mi->file_count ? mi->file_count : 1, 1);
	t->file_level = xcalloc(mi->file_count ? mi->file_count : 1, 1);
	for (size_t i = 0; i < mi->file_count; i++)
		t->file_prio[i] = t->file_level[i] = ENGINE_PRIO_NORMAL;
	t->checked = false;
	/* An info dictionary never carries piece layers: a v2 magnet asks peers for them. */
	v2_layers_free(t->v2l);
	v2_hashes_free(t->v2h);
	t->v2h = NULL;
	torrent_v2_layers_begin(t);
	torrent_sync_swarm(t);
	task_rename(t->task, "torrent %s", mi->name);
	metainfo_free(old);
	/* A magnet's torrent that turns out private leaves the DHT and LSD at once. */
	if (mi->is_private)
		torrent_set_discovery(t, false);
	/* What the peers said they have before the piece count was known applies now. */
	struct peer *p = t->peers;
	while (p != NULL) {
		struct peer *next = p->next;
		if (p->handshake_done && !p->dead)
			peer_pieces_known(p);
		p = next;
	}
	return 0;
}

void
torrent_remove(struct torrent *t, bool delete_data)
{
	torrent_stop(t, false);
	t->removing = true;
	t->delete_data = delete_data;
	t->deleting_data = delete_data;
	/* Removed before the earlier copy's deletion ended: what it held back may run now. */
	torrent_open_data_gate(t);
	/* Out of the session's set now; it frees itself when its jobs are done. */
	t->env->ops->removed(t->env->arg, t);
	torrent_emit(t, ENGINE_EVENT_REMOVED);
	torrent_maybe_free(t);
}

static void
torrent_maybe_free(struct torrent *t)
{
	if (!t->removing || t->disk_jobs > 0 || t->tracker_stopping || t->freeing)
		return;
	if (t->delete_data) {
		/* Unlinking a big tree (or on a slow filesystem) may take long: the disk pool does
		 * it, and the torrent, still dying, is freed when that job completes. */
		t->delete_data = false;
		/* What holds the files beyond storage's descriptors (the seeder's mappings) lets go
		 * here, on the loop, so the unlink frees their blocks at once. */
		storage_close_all(t->st);
		struct torrent_job *tj = torrent_job_new(t, DISK_OP_DELETE, 0);
		tj->job.offset = 0;
		tj->job.length = 0;
		torrent_job_submit(t, tj, torrent_delete_done);
		return;
	}
	t->env->ops->freed(t->env->arg, t);
	torrent_free(t);
}

static void
torrent_delete_done(struct disk_job *job, void *arg)
{
	struct torrent_job *tj = arg;
	struct torrent *t = tj->t;
	torrent_disk_jobs_add(t, -1);
	if (job->error != 0)
		log_error("%s: deleting data: %s", t->mi->name, job->errmsg);
	else
		log_info("%s: data deleted", t->mi->name);
	t->deleting_data = false;
	free(tj);
	torrent_maybe_free(t);
}

void
torrent_free(struct torrent *t)
{
	t->freeing = true;
	/* What it still counted (jobs held back below, a stop past its deadline) goes with it. */
	if (t->disk_jobs > 0)
		torrent_disk_jobs_add(t, -t->disk_jobs);
	torrent_set_tracker_stopping(t, false);
	/* Jobs still held back never reached the pool (freed at shutdown): nothing completes them. */
	while (t->gated != NULL) {
		struct torrent_job *tj = t->gated;
		t->gated = tj->gated_next;
		free(tj);
	}
	t->gated_tail = NULL;
	if (t->env->changes != NULL)
		changes_unlink(t->env->changes, &t->chg);
	torrent_close_peers(t, "torrent removed");
	torrent_set_discovery(t, false);
	v2_hashes_free(t->v2h);
	t->v2h = NULL;
	seed_idle_free(&t->idle);
	v2_layers_free(t->v2l);
	t->v2l = NULL;
	webseed_set_free(t->ws);
	t->ws = NULL;
	/* The extensions' state in it (the metadata fetch, PEX) goes with it. */
	const struct peer_env *pe = t->env->peers;
	for (size_t i = 0; i < pe->nexts; i++)
		if (pe->exts[i]->on_free != NULL)
			pe->exts[i]->on_free(t);
	if (t->announce != NULL)
		announce_sched_free(t->announce);
	if (t->announce_retired != NULL)
		announce_sched_free(t->announce_retired);
	while (t->cache != NULL) {
		struct cache_piece *c = t->cache;
		t->cache = c->next;
		c->cached = false;
		c->t = NULL;
		torrent_cache_unref(c);
	}
	torrent_piece_pool_free(t);
	for (uint32_t i = 0; t->partial != NULL && i < t->mi->piece_count; i++) {
		if (t->partial[i] != NULL) {
			piece_mem_free(t->partial[i]->data, metainfo_piece_size(t->mi, i));
			disk_piece_hash_free(t->partial[i]->ph);
			free(t->partial[i]->block_from);
			free(t->partial[i]);
		}
	}
	free(t->partial);
	if (t->pk != NULL)
		picker_free(t->pk);
	if (t->st != NULL)
		storage_free(t->st);
	bitfield_free(&t->have);
	free(t->known);
	dp_idmap_free(&t->known_by_addr);
	free(t->strikes);
	smartban_free(&t->smartban);
	free(t->file_prio);
	free(t->file_level);
	free(t->labels);
	free(t->magnet_peers);
	free(t->save_dir);
	task_done(t->task, "removed");
	task_release(&t->task);
	metainfo_free(t->mi);
	free(t);
}

/* ---- peers ---- */

/* The known-peer set's key: family, address and port (what sockaddr_equal compares). */
static uint64_t
torrent_known_key(const struct sockaddr *sa)
{
	uint64_t h = DP_FNV1A_INIT;
	uint16_t port = (uint16_t)sockaddr_port(sa);
	h = dp_fnv1a(h, &sa->sa_family, sizeof sa->sa_family);
	h = dp_fnv1a(h, &port, sizeof port);
	if (sa->sa_family == AF_INET)
		h = dp_fnv1a(h, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		h = dp_fnv1a(h, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	return h;
}

/* The known peer at this address and port, or NULL: O(1), whatever the list's length. */
struct known_peer *
torrent_find_known(struct torrent *t, const struct sockaddr *sa)
{
	size_t cursor = 0;
	void *v;
	while ((v = dp_idmap_next(&t->known_by_addr, torrent_known_key(sa), &cursor)) != NULL) {
		struct known_peer *k = &t->known[(uintptr_t)v - 1];
		if (sockaddr_equal((struct sockaddr *)&k->addr, sa, true))
			return k;
	}
	return NULL;
}

bool
torrent_add_known_peer(struct torrent *t, const struct sockaddr *sa, socklen_t len)
{
	/* The cap first: a tracker's list of 200,000 peers past it costs nothing more. */
	if (t->nknown >= TORRENT_MAX_KNOWN)
		return false;
	/* Trackers, the DHT and PEX are outside input: what cannot be a peer (port 0, multicast,
	 * broadcast), a banned address and our own listening address are never dialled. */
	if (!sockaddr_is_dialable(sa) || t->env->ops->refused(t->env->arg, sa))
		return false;
	if (torrent_find_known(t, sa) != NULL)
		return false;
	if (t->nknown == t->known_cap) {
		t->known_cap = t->known_cap ? t->known_cap * 2 : 32;
		t->known = xreallocarray(t->known, t->known_cap, sizeof *t->known);
	}
	struct known_peer *k = &t->known[t->nknown++];
	memset(k, 0, sizeof *k);
	memcpy(&k->addr, sa, DP_MIN((size_t)len, sizeof k->addr));
	k->len = len;
	dp_idmap_put(&t->known_by_addr, torrent_known_key(sa), (void *)(uintptr_t)t->nknown);
	torrent_wake(t);      /* someone to dial */
	return true;
}

int
torrent_peer_limit(const struct torrent *t)
{
	return t->max_peers > 0 ? t->max_peers : t->env->set->max_peers_per_torrent;
}

static int
torrent_host_limit(const struct torrent *t)
{
	return DP_MAX(t->env->set->max_peers_per_address, 1);
}

/* Connections of t to sa's host (sockaddr_same_host), not counting except. Bounded by the
 * torrent's peer limit. */
static int
torrent_peers_at_host(const struct torrent *t, const struct sockaddr *sa, const struct peer *except)
{
	int n = 0;
	for (const struct peer *p = t->peers; p != NULL; p = p->next)
		if (p != except && !p->dead && sockaddr_same_host((const struct sockaddr *)&p->addr, sa))
			n++;
	return n;
}

/* Gives nothing and takes nothing: past its first TORRENT_EVICT_GRACE_MS, no block from it for
 * a minute, and not unchoked by us while it wants data. Half-open and handshaking connections
 * have their own timeouts. */
static bool
torrent_peer_useless(const struct peer *p, uint64_t now_us)
{
	if (p->dead || !p->handshake_done ||
	    now_us - p->connected_us < TORRENT_EVICT_GRACE_MS * 1000ull)
		return false;
	uint64_t now_ms = now_us / 1000;
	if (p->downloaded > 0 && now_ms - p->last_block_ms < TORRENT_USEFUL_MS)
		return false;
	return !(p->peer_interested && !p->am_choking);
}

int
torrent_admit_peer(struct torrent *t, const struct peer *p, char *why, size_t whylen)
{
	const struct sockaddr *sa = (const struct sockaddr *)&p->addr;
	int at_host = torrent_peers_at_host(t, sa, p);
	if (at_host >= torrent_host_limit(t))
		return dp_fail(why, whylen, "%d connection%s to that address already "
		    "(max_peers_per_address)", at_host, at_host == 1 ? "" : "s");
	if (t->npeers < torrent_peer_limit(t))
		return 0;
	/* Full: a newcomer may be better than a peer that proved useless; that one makes room.
	 * Among those, one from a crowded address goes first, then the oldest. */
	uint64_t now_us = dp_now_us();
	struct peer *victim = NULL;
	int victim_crowd = 0;
	for (struct peer *q = t->peers; q != NULL; q = q->next) {
		if (!torrent_peer_useless(q, now_us))
			continue;
		int crowd = torrent_peers_at_host(t, (const struct sockaddr *)&q->addr, NULL);
		if (victim == NULL || crowd > victim_crowd ||
		    (crowd == victim_crowd && q->connected_us < victim->connected_us)) {
			victim = q;
			victim_crowd = crowd;
		}
	}
	if (victim == NULL)
		return dp_fail(why, whylen, "connection limit reached");
	peer_close(victim, "evicted: no use to us for %llu s and %s knocked while the torrent "
	    "was full", (unsigned long long)((now_us - victim->connected_us) / 1000000u),
	    p->addr_str);
	return 0;
}

void
torrent_connect_peers(struct torrent *t, uint64_t now)
{
	const struct torrent_env *env = t->env;
	int started = 0;
	if (!torrent_wants_peers(t) || !env->ops->may_connect(env->arg))
		return;
	for (size_t i = 0; i < t->nknown && started < TORRENT_CONNECTS_PER_TICK; i++) {
		if (t->npeers >= torrent_peer_limit(t) || !env->ops->may_connect(env->arg))
			return;
		struct known_peer *k = &t->known[i];
		if (k->connected || k->next_try_ms > now || k->fails >= 1000)
			continue;
		/* Seeds have nothing for each other: redialling one every 10 s only gets closed. */
		if (k->seed && t->state == ENGINE_TORRENT_SEEDING)
			continue;
		if (env->ops->refused(env->arg, (struct sockaddr *)&k->addr))
			continue;
		/* An incoming connection from the same address and port counts as connected; an
		 * address at max_peers_per_address gets no more. */
		bool dup = false;
		int at_host = 0;
		for (struct peer *p = t->peers; p != NULL && !dup; p = p->next) {
			dup = sockaddr_equal((struct sockaddr *)&p->addr, (struct sockaddr *)&k->addr,
			    true);
			if (!p->dead && sockaddr_same_host((struct sockaddr *)&p->addr,
			    (struct sockaddr *)&k->addr))
				at_host++;
		}
		if (dup || at_host >= torrent_host_limit(t))
			continue;
		k->connected = true;
		k->next_try_ms = now + 1000;
		started++;
		/* Peers answer hash requests only on a connection of the v2 swarm: a hybrid whose
		 * layers are missing dials by its v2 info-hash, every other try by the v1 one (a
		 * v1-only peer does not know the v2 hash and closes). */
		bool by_v2 = t->swarm.hash_v2 != NULL && k->fails % 2 == 0 &&
		    (t->v2l != NULL || t->md != NULL);
		peer_connect(env->peers, &torrent_peer_ops, t, &t->swarm, (struct sockaddr *)&k->addr,
		    k->len, by_v2);
	}
}

static void
torrent_attach_peer(void *owner, struct peer *p)
{
	struct torrent *t = owner;
	p->prev = NULL;
	p->next = t->peers;
	if (t->peers)
		t->peers->prev = p;
	t->peers = p;
	t->npeers++;
	torrent_touch(t);
	torrent_wake(t);
}

static void
torrent_detach_peer(void *owner, struct peer *p)
{
	struct torrent *t = owner;
	if (p->prev)
		p->prev->next = p->next;
	else
		t->peers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	t->npeers--;
	torrent_touch(t);
	v2_layers_peer_gone(t->v2l, p);
	if (p->incoming)
		return;
	uint64_t now = dp_now_ms();
	for (size_t i = 0; i < t->nknown; i++) {
		struct known_peer *k = &t->known[i];
		if (!sockaddr_equal((struct sockaddr *)&k->addr, (struct sockaddr *)&p->addr, true))
			continue;
		k->connected = false;
		if (p->handshake_done) {
			k->seed = p->has_all;
			k->fails = 0;
			k->next_try_ms = now + 10000;
		} else if (k->fails < 1000) {
			k->fails++;
			uint64_t backoff = 1000ull << DP_MIN(k->fails, 6);
			k->next_try_ms = now + DP_MIN(backoff, 60000ull);
		}
		break;
	}
}

static int
torrent_slots(const struct torrent *t)
{
	return t->upload_slots > 0 ? t->upload_slots : t->env->set->upload_slots;
}

static void
torrent_peer_interested(void *owner, struct peer *p)
{
	struct torrent *t = owner;
	/* Fill a free slot at once instead of waiting up to 10 s for the next round. */
	if (!p->am_choking)
		return;
	int unchoked = 0;
	for (struct peer *q = t->peers; q != NULL; q = q->next)
		if (q->handshake_done && !q->am_choking)
			unchoked++;
	if (unchoked < torrent_slots(t))
		peer_set_choke(p, false);
}

void
torrent_adopt_peer(struct torrent *t, struct peer *p)
{
	peer_adopt(p, &torrent_peer_ops, t, &t->swarm);
}

/* ---- what its peers ask of it (peer_ops) ---- */

static void
torrent_peer_bury(void *owner, struct peer *p)
{
	struct torrent *t = owner;
	t->env->ops->bury_peer(t->env->arg, p);
}

static enum peer_mode
torrent_peer_mode(void *owner)
{
	const struct torrent *t = owner;
	switch (t->state) {
	case ENGINE_TORRENT_DOWNLOADING:
		return PEER_MODE_DOWNLOAD;
	case ENGINE_TORRENT_SEEDING:
		return PEER_MODE_SEED;
	case ENGINE_TORRENT_ERROR:
		return PEER_MODE_ERROR;
	default:
		return PEER_MODE_IDLE;
	}
}

static bool
torrent_peer_cache_get(void *owner, uint32_t piece, bool from_file, struct peer_piece *out)
{
	struct cache_piece *c = torrent_cache_get(owner, piece, from_file);
	if (c == NULL)
		return false;
	c->refs++;
	out->data = c->data;
	out->spans = c->spans;
	out->nspans = c->nspans;
	out->length = c->length;
	out->ref = &c->ref;
	return true;
}

/* A file shrank under the pieces opened for sending: they go, so the next request opens its
 * piece again and meets the end there, as a read would (the torrent's error). */
static void
torrent_peer_file_short(void *owner, struct peer *p)
{
	struct torrent *t = owner;
	log_warn("%s: a file shrank while peer %s was sent a piece of it", t->mi->name,
	    p->addr_str);
	/* Its descriptors, and with them what else holds the files (the seeder's mappings, at
	 * their old size), go: the next open meets the file as it is now. */
	storage_close_all(t->st);
	struct cache_piece **pp = &t->cache;
	while (*pp != NULL) {
		struct cache_piece *c = *pp;
		if (c->loading || c->nspans == 0) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		c->cached = false;
		c->t = NULL;
		t->ncache--;
		torrent_cache_unref(c);
	}
}

static void
torrent_peer_uploaded(void *owner, struct peer *p, uint32_t len, uint64_t now_ms)
{
	struct torrent *t = owner;
	(void)p;
	t->uploaded += len;
	seed_idle_activity(&t->idle, now_ms);
	bw_meter_add(&t->up_meter, len, now_ms);
	t->env->ops->transferred(t->env->arg, 0, len, now_ms);
	torrent_touch(t);
}

static struct peer *
torrent_peer_find_id(void *owner, const struct peer *p, const uint8_t id[20])
{
	struct torrent *t = owner;
	for (struct peer *q = t->peers; q != NULL; q = q->next)
		if (q != p && q->handshake_done && memcmp(q->peer_id, id, 20) == 0)
			return q;
	return NULL;
}

static void
torrent_peer_self_connected(void *owner, struct peer *p)
{
	struct torrent *t = owner;
	struct known_peer *k = torrent_find_known(t, (struct sockaddr *)&p->addr);
	if (k != NULL)
		k->fails = 1000;
}

/* A peer that sent blocks nobody asked for is banned: no reason to trust anything else it sends. */
static void
torrent_peer_hostile(void *owner, struct peer *p, const char *why)
{
	struct torrent *t = owner;
	t->env->ops->ban(t->env->arg, (const struct sockaddr *)&p->addr, why);
}

static void
torrent_peer_on_port(void *owner, struct peer *p, uint16_t port)
{
	struct torrent *t = owner;
	/* A private torrent's peers stay out of the DHT too. */
	if (!t->mi->is_private && t->env->ops->dht_port != NULL)
		t->env->ops->dht_port(t->env->arg, (struct sockaddr *)&p->addr, port);
}

/* A BEP 52 hash request: answered from the piece layers the torrent file carried. */
static uint32_t
torrent_peer_hash_answer(void *owner, const struct wire_hash_req *req, uint8_t *out)
{
	struct torrent *t = owner;
	if (t->md != NULL || !t->mi->has_v2)
		return 0;
	if (t->v2h == NULL)
		t->v2h = v2_hashes_new(t->mi);
	return v2_hashes_answer(t->v2h, req, out);
}

/* Every piece layer is in: pieces can be verified, so blocks are asked for, and the session
 * saves the torrent file again (with its layers) as when the metadata arrived. */
static void
torrent_v2_layers_complete(struct torrent *t)
{
	v2_layers_free(t->v2l);
	t->v2l = NULL;
	v2_hashes_free(t->v2h);     /* rebuilt with the new layers on the next request */
	t->v2h = NULL;
	torrent_sync_swarm(t);
	torrent_emit(t, ENGINE_EVENT_METADATA);
	/* The check put off for the layers: data already on disk is verified now (a stat per
	 * file, as when a magnet's metadata arrives). */
	bool deferred = t->v2_check_deferred;
	t->v2_check_deferred = false;
	for (size_t i = 0; deferred && t->have.count == 0 && i < t->mi->file_count; i++) {
		uint64_t size;
		int64_t mtime;
		if (!t->mi->files[i].pad && storage_file_stat(t->st, i, &size, &mtime) == 0 &&
		    size > 0) {
			log_info("%s: piece layers in: checking the data already on disk", t->mi->name);
			torrent_recheck(t);
			return;
		}
	}
	struct peer *p = t->peers;
	while (p != NULL) {
		struct peer *next = p->next;
		peer_update_interest(p);
		peer_fill_requests(p);
		p = next;
	}
}

/* The answer to one of our hash requests, or its refusal. */
static void
torrent_peer_hash_reply(void *owner, struct peer *p, const struct wire_hashes *h,
    const struct wire_hash_req *rejected)
{
	struct torrent *t = owner;
	if (t->v2l == NULL)
		return;
	if (h != NULL)
		v2_layers_on_hashes(t->v2l, p, h);
	else
		v2_layers_on_reject(t->v2l, p, rejected);
	if (v2_layers_done(t->v2l))
		torrent_v2_layers_complete(t);
}

static const struct peer_ops torrent_peer_ops = {
	.hash_answer = torrent_peer_hash_answer,
	.hash_reply = torrent_peer_hash_reply,
	.attach = torrent_attach_peer,
	.detach = torrent_detach_peer,
	.bury = torrent_peer_bury,
	.mode = torrent_peer_mode,
	.block_dest = torrent_peer_block_dest,
	.block_done = torrent_block_done,
	.block_abort = torrent_block_abort,
	.cache_get = torrent_peer_cache_get,
	.file_short = torrent_peer_file_short,
	.interested = torrent_peer_interested,
	.uploaded = torrent_peer_uploaded,
	.find_peer_id = torrent_peer_find_id,
	.self_connected = torrent_peer_self_connected,
	.hostile = torrent_peer_hostile,
	.on_port = torrent_peer_on_port,
};

static void
torrent_choke_round(struct torrent *t, uint64_t now_ms, bool optimistic)
{
	size_t n = 0;
	for (struct peer *p = t->peers; p != NULL; p = p->next)
		if (p->handshake_done)
			n++;
	if (n == 0)
		return;
	struct choker_peer *cp = xcalloc(n, sizeof *cp);
	size_t i = 0;
	for (struct peer *p = t->peers; p != NULL; p = p->next) {
		if (!p->handshake_done)
			continue;
		cp[i].peer = p;
		cp[i].interested = p->peer_interested;
		cp[i].choked = p->am_choking;
		cp[i].snubbed = p->snubbed;
		cp[i].optimistic = p->optimistic;
		cp[i].download_rate = peer_down_rate(p);
		cp[i].upload_rate = peer_up_rate(p);
		cp[i].unchoked_since_us = p->unchoked_since_us;
		cp[i].connected_us = p->connected_us;
		i++;
	}
	choker_round(cp, n, (unsigned)torrent_slots(t), torrent_is_seeding(t), optimistic,
	    now_ms * 1000, &t->rng);
	for (i = 0; i < n; i++) {
		struct peer *p = (struct peer *)(uintptr_t)cp[i].peer;
		peer_set_choke(p, !cp[i].unchoke);
		p->optimistic = cp[i].optimistic && cp[i].unchoke;
		peer_serve(p);
	}
	free(cp);
}

void
torrent_refill(struct torrent *t, uint64_t now_ms)
{
	bw_bucket_refill(&t->down_bucket, now_ms);
	bw_bucket_refill(&t->up_bucket, now_ms);
	bool down_open = bw_bucket_open(&t->down_bucket) &&
	    bw_bucket_open(t->env->peers->down_bucket);
	bool up_open = bw_bucket_open(&t->up_bucket) && bw_bucket_open(t->env->peers->up_bucket);
	struct peer *p = t->peers;
	while (p != NULL) {
		struct peer *next = p->next;
		if (p->read_throttled && down_open) {
			p->read_throttled = false;
			peer_update_reading(p);
		}
		if (!p->dead && p->write_throttled && up_open)
			peer_serve(p);
		p = next;
	}
}

/* Web seeds work while it downloads; they are made once the metadata is known. */
static void
torrent_webseeds_tick(struct torrent *t, uint64_t now)
{
	if (t->state != ENGINE_TORRENT_DOWNLOADING || t->md != NULL || t->mi->webseed_count == 0 ||
	    t->swarm.hold)
		return;
	if (t->ws == NULL) {
		struct webseed_env env = {
			.base = t->env->base,
			.dns = t->env->dns,
			.ssl_ctx = t->env->ssl_ctx,
			.mi = t->mi,
			.sw = &t->swarm,
			.global_down = t->env->peers->down_bucket,
			/* peer_env says a session may lend no gate (NULL: none) */
			.disk_paused = t->env->peers->disk_gate != NULL ?
			    &t->env->peers->disk_gate->closed : NULL,
			.ops = &torrent_webseed_ops,
			.owner = t,
			.torrent_id = t->id,
		};
		t->ws = webseed_set_new(&env);
	}
	webseed_set_tick(t->ws, now);
}

void
torrent_tick(struct torrent *t, uint64_t now)
{
	struct peer *p = t->peers;
	while (p != NULL) {
		struct peer *next = p->next;
		peer_tick(p, now);
		p = next;
	}
	if (torrent_is_active(t)) {
		torrent_connect_peers(t, now);
		if (now - t->last_choke_ms >= DP_CHOKE_INTERVAL_S * 1000u) {
			bool opt = now - t->last_optimistic_ms >= DP_OPTIMISTIC_INTERVAL_S * 1000u;
			t->last_choke_ms = now;
			if (opt)
				t->last_optimistic_ms = now;
			torrent_choke_round(t, now, opt);
		}
		if (t->state == ENGINE_TORRENT_DOWNLOADING && (now / 1000) % 5 == 0) {
			p = t->peers;
			while (p != NULL) {
				struct peer *next = p->next;
				peer_update_interest(p);
				p = next;
			}
		}
	}
	if (t->v2l != NULL)
		v2_layers_tick(t->v2l, torrent_is_active(t) && t->md == NULL, now);
	torrent_webseeds_tick(t, now);
	/* The metadata fetch and PEX tick with it. */
	const struct peer_env *pe = t->env->peers;
	for (size_t i = 0; i < pe->nexts; i++)
		if (pe->exts[i]->on_tick != NULL)
			pe->exts[i]->on_tick(t, now);
	torrent_update_task(t);
}

/* ---- priorities ---- */

void
torrent_file_priority(struct torrent *t, size_t file, enum engine_prio prio)
{
	const struct metainfo *mi = t->mi;
	if (file < mi->file_count) {
		t->file_prio[file] = (uint8_t)prio;
		if (prio != ENGINE_PRIO_SKIP)
			t->file_level[file] = (uint8_t)prio;
	}
	/* A piece takes the highest priority of the files it overlaps. */
	uint8_t *pp = xcalloc(mi->piece_count ? mi->piece_count : 1, 1);
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		if (f->pad || f->length == 0)
			continue;
		uint32_t first = (uint32_t)(f->offset / mi->piece_length);
		uint32_t last = (uint32_t)((f->offset + f->length - 1) / mi->piece_length);
		for (uint32_t k = first; k <= last && k < mi->piece_count; k++)
			if (t->file_prio[i] > pp[k])
				pp[k] = t->file_prio[i];
	}
	for (uint32_t k = 0; k < mi->piece_count; k++)
		picker_set_priority(t->pk, k, (enum picker_prio)pp[k]);
	free(pp);
	if (t->state == ENGINE_TORRENT_SEEDING && !picker_complete(t->pk))
		torrent_set_state(t, ENGINE_TORRENT_DOWNLOADING);
	if (t->state == ENGINE_TORRENT_DOWNLOADING && picker_complete(t->pk))
		torrent_on_complete(t);
	for (struct peer *p = t->peers; p != NULL; p = p->next)
		peer_update_interest(p);
}

void
torrent_file_level(struct torrent *t, size_t file, enum engine_prio level)
{
	if (file >= t->mi->file_count || level == ENGINE_PRIO_SKIP)
		return;
	t->file_level[file] = (uint8_t)level;
	if (t->file_prio[file] != ENGINE_PRIO_SKIP && t->file_prio[file] != (uint8_t)level)
		torrent_file_priority(t, file, level);
}

void
torrent_set_sequential(struct torrent *t, bool on)
{
	t->sequential = on;
	picker_set_sequential(t->pk, on);
}

/* ---- stats ---- */

void
torrent_fill_stats(struct torrent *t, struct engine_torrent_stats *out)
{
	const struct metainfo *mi = t->mi;
	uint64_t now = dp_now_ms();
	memset(out, 0, sizeof *out);
	out->id = t->id;
	snprintf(out->name, sizeof out->name, "%s", mi->display_name ? mi->display_name : mi->name);
	snprintf(out->info_hash_hex, sizeof out->info_hash_hex, "%s", mi->info_hash_hex);
	snprintf(out->labels, sizeof out->labels, "%s", t->labels != NULL ? t->labels : "");
	out->seed_idle_mode = t->idle.mode;
	out->seed_idle_limit = t->idle.limit_min;
	out->activity_date = t->idle.activity_date;
	out->idle_stop_date = seed_idle_stop_date(&t->idle);
	out->idle_stopped = t->idle.stopped;
	out->state = t->state;
	snprintf(out->error, sizeof out->error, "%s", t->error);
	out->total_size = mi->total_size;
	out->wanted_size = torrent_wanted(t);
	out->left = torrent_left(t);
	out->have_size = t->have_bytes;
	out->progress = out->wanted_size ? (double)(out->wanted_size - out->left) /
	    (double)out->wanted_size : t->md != NULL ? 0.0 : 1.0;
	out->metadata_progress = t->md != NULL ? t->metadata_progress : 1.0;
	out->check_progress = mi->piece_count ? (double)t->check_done / mi->piece_count : 1.0;
	out->piece_length = mi->piece_length;
	out->pieces_have = t->have.count;
	out->pieces_total = mi->piece_count;
	out->file_count = mi->file_count;
	/* A stopped or queued torrent moves nothing: its meters' last seconds would show a rate
	 * (and an ETA) for a while after it stopped. */
	out->down_rate = torrent_is_active(t) ? bw_meter_rate(&t->down_meter, now) : 0;
	out->up_rate = torrent_is_active(t) ? bw_meter_rate(&t->up_meter, now) : 0;
	out->downloaded = t->downloaded;
	out->uploaded = t->uploaded;
	out->session_downloaded = t->downloaded - DP_MIN(t->downloaded, t->restored_down);
	out->session_uploaded = t->uploaded - DP_MIN(t->uploaded, t->restored_up);
	out->corrupt_bytes = t->corrupt;
	uint64_t base = DP_MAX(t->downloaded, t->have_bytes);
	out->ratio = base ? (double)t->uploaded / (double)base : -1.0;
	out->eta_s = out->left == 0 ? 0 : out->down_rate ? (int64_t)(out->left / out->down_rate) : -1;
	for (struct peer *p = t->peers; p != NULL; p = p->next) {
		if (!p->handshake_done)
			continue;
		out->peers_connected++;
		if (p->has_all)
			out->seeds_connected++;
		if (p->nreqs > 0 || bw_meter_rate(&p->down_meter, now) > 0)
			out->peers_sending++;
		if (!p->am_choking && p->peer_interested)
			out->peers_receiving++;
	}
	out->peers_known = (int)t->nknown;
	if (t->announce != NULL) {
		announce_sched_status(t->announce, out->tracker_status, sizeof out->tracker_status);
	} else {
		snprintf(out->tracker_status, sizeof out->tracker_status, "no trackers");
	}
	snprintf(out->save_path, sizeof out->save_path, "%s", t->save_dir);
	out->added_date = t->added_date;
	out->completed_date = t->completed_date;
	out->down_limit = t->down_bucket.rate;
	out->up_limit = t->up_bucket.rate;
	out->max_peers = torrent_peer_limit(t);
	out->upload_slots = torrent_slots(t);
	out->sequential = t->sequential;
	out->is_private = mi->is_private;
	if (mi->comment != NULL)
		snprintf(out->comment, sizeof out->comment, "%s", mi->comment);
}
