/* engine_restore.c: a torrent takes back what its resume file saved (engine_policy.h): the
 * saved pieces are trusted except those touching files changed since, and those are rechecked
 * on the disk pool with the policy's own copy of the metainfo, so the torrent may go meanwhile. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bitfield.h"
#include "disk.h"
#include "engine.h"
#include "engine_policy.h"
#include "engine_private.h"
#include "log.h"
#include "metainfo.h"
#include "net.h"
#include "picker.h"
#include "session.h"
#include "storage.h"
#include "task.h"
#include "torrent.h"
#include "util.h"

/* The recheck of the pieces of changed files: its own metainfo and storage, so the torrent
 * may be removed meanwhile. */
struct engine_restore_check {
	struct engine *e;
	int id;
	uint32_t gen;                 /* the torrent's check_gen when it began */
	struct metainfo *mi;
	struct storage *st;
	uint32_t *pieces;
	uint32_t n, next, inflight, good;
	uint8_t *ok;                  /* per entry of pieces */
	void (*done)(void *arg, int id, bool applied);
	void *arg;
	const struct engine_policy *policy;   /* who asked: done is its, while it is registered */
};

struct engine_restore_job {
	struct disk_job job;
	struct engine_restore_check *c;
	uint32_t index;
};

static void engine_restore_issue(struct engine_restore_check *c);

/* In the list of pieces to recheck, the top bit marks a piece the resume file said was verified:
 * one of those that fails is data lost since the last save, which the torrent must say. */
#define ENGINE_RESTORE_CLAIMED (1u << 31)

int
engine_policy_reserve_ids(struct engine *e, int n)
{
	int base = e->next_torrent_id;
	if (n <= 0 || n > INT_MAX / 2 - base)
		return base;
	e->reserved_ids_from = base + 1;
	e->reserved_ids_to = base + n;
	e->next_torrent_id = base + n;
	return base;
}

void
engine_policy_restore_stat(const char *path, uint64_t *size, int64_t *mtime_ns)
{
	struct stat st;
	*size = 0;
	*mtime_ns = 0;
	if (path == NULL || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	*size = (uint64_t)st.st_size;
	*mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* The magnet's x.pe peers, as the resume file kept them: known peers again, and kept for the
 * next save. Each line is checked as any address from outside. */
static void
engine_restore_peers(struct torrent *t, const char *peers)
{
	if (peers == NULL || peers[0] == '\0' || t->magnet_peers != NULL)
		return;
	t->magnet_peers = xstrdup(peers);
	size_t n = 0;
	for (const char *p = peers; *p != '\0' && n < TORRENT_MAGNET_PEERS_MAX; n++) {
		size_t len = strcspn(p, "\n");
		char a[80];
		struct sockaddr_storage ss;
		socklen_t sl;
		if (len < sizeof a) {
			memcpy(a, p, len);
			a[len] = '\0';
			if (sockaddr_parse(a, &ss, &sl))
				torrent_add_known_peer(t, (struct sockaddr *)&ss, sl);
		}
		p += len;
		if (*p == '\n')
			p++;
	}
}

uint32_t *
engine_policy_restore(struct engine *e, int id, const struct engine_restore *r, uint32_t *n)
{
	struct torrent *t = session_find_torrent(e, id);
	*n = 0;
	if (t == NULL)
		return NULL;
	if (r->names != NULL)
		engine_rename_restore(e, t, r->names);
	const struct metainfo *mi = t->mi;
	uint32_t np = mi->piece_count;
	uint8_t *dirty = xcalloc(np ? np : 1, 1);   /* 1 = recheck, 2 = can't be there */
	size_t changed = 0;
	const char *gone = NULL;                    /* the first file missing since the save */
	size_t ngone = 0;
	/* A file saved before the first check ended claims nothing: the start checks it all. */
	for (size_t i = 0; i < mi->file_count && !r->unchecked; i++) {
		const struct mi_file *f = &mi->files[i];
		if (f->pad || f->length == 0)
			continue;
		char *path = storage_file_path(t->st, i);
		const struct engine_restore_file *rf = &r->files[i];
		uint64_t size;
		int64_t mtime;
		if (rf->seen_path != NULL && path != NULL && strcmp(rf->seen_path, path) == 0) {
			size = rf->seen_size;
			mtime = rf->seen_mtime_ns;
		} else {
			engine_policy_restore_stat(path, &size, &mtime);
		}
		free(path);
		if (size == r->files[i].size && mtime == r->files[i].mtime_ns)
			continue;
		changed++;
		uint8_t mark = size == 0 ? 2 : 1;
		if (size == 0 && r->files[i].size > 0) {
			/* It was there at the save: missing or emptied since (issue 11, finding 10). */
			if (gone == NULL)
				gone = f->display_path != NULL ? f->display_path : f->path;
			ngone++;
		}
		uint32_t first = (uint32_t)(f->offset / mi->piece_length);
		uint32_t last = (uint32_t)((f->offset + f->length - 1) / mi->piece_length);
		for (uint32_t k = first; k <= last && k < np; k++)
			if (dirty[k] < mark)
				dirty[k] = mark;
	}
	struct dp_bitfield claimed_bf;
	bitfield_init(&claimed_bf, np);
	if (r->pieces != NULL && !r->unchecked)
		bitfield_load(&claimed_bf, r->pieces, bitfield_bytes(np));
	uint32_t *recheck = NULL;
	uint32_t nr = 0, lost = 0;
	for (uint32_t k = 0; k < np; k++) {
		bool claimed = bitfield_get(&claimed_bf, k);
		/* Pieces not synced before a reboot: what failed is what the reboot lost, the
		 * download gets it again (files the writeback left short or empty too). */
		if (dirty[k] == 2 && claimed && !r->untrusted)
			lost++;
		if (dirty[k] == 1 || (dirty[k] == 0 && claimed && r->untrusted)) {
			if (nr % 256 == 0)
				recheck = xreallocarray(recheck, nr + 256, sizeof *recheck);
			recheck[nr++] = k | (claimed && !r->untrusted && np <= ENGINE_RESTORE_CLAIMED ?
			    ENGINE_RESTORE_CLAIMED : 0);
		} else if (dirty[k] == 0 && claimed) {
			bitfield_set(&t->have, k);
			t->have_bytes += metainfo_piece_size(mi, k);
			picker_set_have(t->pk, k);
		}
	}
	bitfield_free(&claimed_bf);
	free(dirty);
	if (r->untrusted)
		log_info("%s: written by a run before the last reboot without a final sync: "
		    "rechecking %u piece%s", mi->name, nr, nr == 1 ? "" : "s");
	else if (changed > 0)
		log_info("%s: %zu file%s changed since the last save: rechecking %u piece%s",
		    mi->name, changed, changed == 1 ? "" : "s", nr, nr == 1 ? "" : "s");
	for (size_t i = 0; i < mi->file_count; i++) {
		uint8_t v = r->files[i].priority;
		t->file_prio[i] = ENGINE_POLICY_PRIO(v);
		/* Files saved before levels were kept: a skipped one comes back normal. */
		enum engine_prio level = ENGINE_POLICY_LEVEL(v);
		t->file_level[i] = level != ENGINE_PRIO_SKIP ? level : t->file_prio[i] !=
		    ENGINE_PRIO_SKIP ? t->file_prio[i] : ENGINE_PRIO_NORMAL;
	}
	if (mi->file_count > 0)
		torrent_file_priority(t, 0, (enum engine_prio)t->file_prio[0]);
	torrent_set_sequential(t, r->sequential);
	uint64_t now = dp_now_ms();
	bw_bucket_set_rate(&t->down_bucket, r->down_limit, now);
	bw_bucket_set_rate(&t->up_bucket, r->up_limit, now);
	t->max_peers = r->max_peers;
	t->upload_slots = r->upload_slots;
	t->uploaded = t->restored_up = r->uploaded;
	t->downloaded = t->restored_down = r->downloaded;
	if (r->added_date > 0)
		t->added_date = r->added_date;
	t->completed_date = r->completed_date;
	free(t->labels);
	t->labels = r->labels != NULL && r->labels[0] != '\0' ? xstrdup(r->labels) : NULL;
	engine_trackers_restore(t, r->trackers);
	engine_restore_peers(t, r->peers);
	if (r->idle_mode >= ENGINE_IDLE_GLOBAL && r->idle_mode <= ENGINE_IDLE_UNLIMITED)
		t->idle.mode = r->idle_mode;
	if (r->idle_limit >= 0 && r->idle_limit <= ENGINE_IDLE_LIMIT_MAX)
		t->idle.limit_min = r->idle_limit;
	/* A magnet (no pieces yet) is checked once its metadata arrives. */
	t->checked = t->md == NULL && !r->unchecked;
	if (lost > 0) {
		/* Seeding on as if complete hid it until a peer asked (issue 11, finding 10); the
		 * error state says it, and starting downloads what is missing. */
		char more[48] = "";
		if (ngone > 1)
			snprintf(more, sizeof more, " (and %zu more)", ngone - 1);
		torrent_set_error(t, "data missing: %s%s is gone or empty since the last save, %u "
		    "verified piece%s lost; start the torrent to download %s again",
		    gone != NULL ? gone : "a file", more, lost, lost == 1 ? "" : "s",
		    lost == 1 ? "it" : "them");
	}
	*n = nr;
	return recheck;
}

void
engine_policy_set_added_date(struct engine *e, int id, int64_t added_date)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t != NULL && added_date > 0)
		t->added_date = added_date;
}

static void
engine_restore_finish(struct engine_restore_check *c)
{
	struct engine *e = c->e;
	struct torrent *t = session_find_torrent(e, c->id);
	bool applied = t != NULL && t->check_gen == c->gen && t->state == ENGINE_TORRENT_CHECKING;
	if (applied) {
		uint32_t lost = 0;
		for (uint32_t i = 0; i < c->n; i++) {
			uint32_t p = c->pieces[i] & ~ENGINE_RESTORE_CLAIMED;
			if (!c->ok[i] && (c->pieces[i] & ENGINE_RESTORE_CLAIMED))
				lost++;
			if (!c->ok[i] || bitfield_get(&t->have, p))
				continue;
			bitfield_set(&t->have, p);
			t->have_bytes += metainfo_piece_size(t->mi, p);
			picker_set_have(t->pk, p);
		}
		t->checked = true;
		torrent_set_state(t, ENGINE_TORRENT_STOPPED);
		log_info("%s: rechecked %u piece%s: %u good; %u of %u pieces "
		    "verified", t->mi->name, c->n, c->n == 1 ? "" : "s", c->good, t->have.count,
		    t->mi->piece_count);
		engine_emit(e, t->id, ENGINE_EVENT_CHECKED);
		if (lost > 0)
			torrent_set_error(t, "data changed: %u verified piece%s no longer match%s "
			    "after files changed since the last save; start the torrent to download "
			    "%s again", lost, lost == 1 ? "" : "s", lost == 1 ? "es" : "",
			    lost == 1 ? "it" : "them");
	}
	if (c->done != NULL && e->policy == c->policy && e->policy != NULL)
		c->done(c->arg, c->id, applied);
	storage_free(c->st);
	metainfo_free(c->mi);
	free(c->pieces);
	free(c->ok);
	free(c);
}

static void
engine_restore_job_done(struct disk_job *job, void *arg)
{
	struct engine_restore_job *rj = arg;
	struct engine_restore_check *c = rj->c;
	c->inflight--;
	if (job->error == 0 && job->hash_ok) {
		c->ok[rj->index] = 1;
		c->good++;
	}
	free(rj);
	engine_restore_issue(c);
}

static void
engine_restore_issue(struct engine_restore_check *c)
{
	struct disk_pool *pool = c->e->disk;
	uint32_t window = (uint32_t)disk_pool_threads(pool) * 2;
	while (c->inflight < window && c->next < c->n) {
		uint32_t idx = c->next++;
		uint32_t piece = c->pieces[idx] & ~ENGINE_RESTORE_CLAIMED;
		struct engine_restore_job *rj = xcalloc(1, sizeof *rj);
		rj->c = c;
		rj->index = idx;
		rj->job.op = DISK_OP_HASH_PIECE;
		rj->job.storage = c->st;
		rj->job.torrent_id = c->id;
		rj->job.piece = piece;
		rj->job.offset = (uint64_t)piece * c->mi->piece_length;
		rj->job.length = metainfo_piece_size(c->mi, piece);
		disk_job_expect(&rj->job, c->mi, piece);
		rj->job.done = engine_restore_job_done;
		rj->job.arg = rj;
		c->inflight++;
		disk_pool_submit(pool, &rj->job);
	}
	if (c->inflight == 0 && c->next >= c->n)
		engine_restore_finish(c);
}

void
engine_policy_recheck(struct engine *e, int id, struct metainfo *mi, uint32_t *pieces,
    uint32_t n, void (*done)(void *arg, int id, bool applied), void *arg)
{
	struct torrent *t = session_find_torrent(e, id);
	struct engine_restore_check *c = xcalloc(1, sizeof *c);
	c->e = e;
	c->id = id;
	c->mi = mi;
	c->pieces = pieces;
	c->n = t != NULL ? n : 0;
	c->ok = xcalloc(n ? n : 1, 1);
	c->done = done;
	c->arg = arg;
	c->policy = e->policy;
	if (t != NULL) {
		c->st = storage_new(c->mi, t->save_dir, 8);
		torrent_set_state(t, ENGINE_TORRENT_CHECKING);
		t->check_gen++;
		c->gen = t->check_gen;
		task_wait(t->task, DP_TASK_DISK_WAIT, "rechecking %u piece%s of changed files", n,
		    n == 1 ? "" : "s");
	}
	engine_restore_issue(c);
}
