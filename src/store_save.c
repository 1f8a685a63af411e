/* store_save.c: the session store's saves on the writer thread: metainfo copies, magnet links,
 * resume files and the removal of a torrent's files; and the last saves at exit (the flush). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitfield.h"
#include "engine.h"
#include "engine_policy.h"
#include "log.h"
#include "resume.h"
#include "session_store.h"
#include "store_private.h"
#include "util.h"

/* ---- saving ---- */

/* Files to unlink on the writer thread, after the jobs queued before (a removed torrent's
 * copies, or a magnet's link once its .torrent is written). */
struct store_unlink {
	char *paths[5];
	size_t n;
};

static void
store_unlink_work(struct resume_job *job)
{
	struct store_unlink *u = job->ctx;
	/* A .torrent to write first (job->raw): the link goes only once the copy is safe. */
	if (job->raw != NULL && resume_write_file(job->path, job->raw, job->raw_len, job->errmsg,
	    sizeof job->errmsg) < 0) {
		job->error = errno ? errno : EIO;
		return;
	}
	for (size_t i = 0; i < u->n; i++) {
		resume_job_set_phase(job, "unlink");
		if (unlink(u->paths[i]) < 0 && errno != ENOENT) {
			job->error = errno;
			snprintf(job->errmsg, sizeof job->errmsg, "%s: can't remove: %s", u->paths[i],
			    strerror(errno));
		}
	}
}

static void
store_unlink_done(struct resume_job *job, void *arg)
{
	(void)arg;
	struct store_unlink *u = job->ctx;
	if (job->error != 0)
		log_error("session: %s", job->errmsg);
	for (size_t i = 0; i < u->n; i++)
		free(u->paths[i]);
	free(u);
	resume_job_free(job);
}

void
store_forget_files(struct store *s, const char *hex)
{
	struct store_unlink *u = xcalloc(1, sizeof *u);
	u->paths[u->n++] = store_resume_path(s, hex);
	u->paths[u->n++] = xasprintf("%s.bak", u->paths[0]);
	u->paths[u->n++] = store_torrent_path(s, hex);
	u->paths[u->n++] = store_magnet_path(s, hex);
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->work = store_unlink_work;
	job->ctx = u;
	job->done = store_unlink_done;
	snprintf(job->label, sizeof job->label, "removing the session files of %s", hex);
	resume_writer_submit(s->writer, job);
}

static void
store_copy_done(struct resume_job *job, void *arg)
{
	(void)arg;
	if (job->error != 0)
		log_error("session: saving the torrent file: %s", job->errmsg);
	resume_job_free(job);
}

/* The .torrent copy; a magnet's link file goes once the copy is written (with_magnet). */
void
store_save_metainfo(struct store *s, const struct store_item *it, bool with_magnet)
{
	size_t len;
	uint8_t *raw = engine_policy_torrent_file(s->e, it->id, &len);
	if (raw == NULL)
		return;
	struct engine_policy_names n;
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = store_torrent_path(s, it->hex);
	job->raw = raw;
	job->raw_len = len;
	job->done = store_copy_done;
	job->tag = it->id;
	snprintf(job->label, sizeof job->label, "writing the torrent file of %.96s",
	    store_name(s, it->id, &n));
	if (with_magnet) {
		struct store_unlink *u = xcalloc(1, sizeof *u);
		u->paths[u->n++] = store_magnet_path(s, it->hex);
		job->work = store_unlink_work;
		job->ctx = u;
		job->done = store_unlink_done;
	}
	resume_writer_submit(s->writer, job);
}

/* A magnet without its metadata yet: its link, so a restart adds it again. */
void
store_save_magnet(struct store *s, const struct store_item *it, const char *uri)
{
	struct engine_policy_names n;
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = store_magnet_path(s, it->hex);
	job->raw = (uint8_t *)xasprintf("%s\n", uri);
	job->raw_len = strlen((char *)job->raw);
	job->done = store_copy_done;
	job->tag = it->id;
	snprintf(job->label, sizeof job->label, "writing the magnet link of %.96s",
	    store_name(s, it->id, &n));
	resume_writer_submit(s->writer, job);
}

/* The resume data of a torrent as of now (the loop thread's view); NULL when it is gone. *have
 * and *lost get its verified pieces (count, and the engine's have_lost). */
static struct resume_job *
store_make_job(struct store *s, struct store_item *it, uint32_t *have, uint32_t *lost)
{
	struct engine_resume_state rs;
	if (engine_policy_resume_get(s->e, it->id, &rs) < 0)
		return NULL;
	struct resume_job *job = xcalloc(1, sizeof *job);
	struct resume *r = &job->resume;
	resume_init(r);
	memcpy(r->info_hash, rs.info_hash, 20);
	r->piece_count = rs.piece_count;
	/* Only what was verified counts; during a check the bitfield is still being built. */
	r->pieces = rs.pieces;
	rs.pieces = NULL;
	if (it->checking)
		memset(r->pieces, 0, bitfield_bytes(r->piece_count));
	/* Saved before its data was looked at: the next start checks it, not trusts "none". */
	r->unchecked = !rs.checked;
	r->file_count = rs.file_count;
	r->files = xcalloc(rs.file_count, sizeof *r->files);
	for (size_t i = 0; i < rs.file_count; i++)
		r->files[i].priority = rs.priorities[i];
	job->file_paths = rs.paths;
	rs.paths = NULL;
	r->uploaded = rs.uploaded;
	r->downloaded = rs.downloaded;
	r->added_date = rs.added_date;
	r->completed_date = rs.completed_date;
	/* An idle seed is looked at only when it changes: its current stretch counts too. */
	uint64_t now = dp_now_ms();
	r->seeding_s = store_seconds(it->seeding_s, it->seeding_since_ms, now);
	r->downloading_s = store_seconds(it->downloading_s, it->downloading_since_ms, now);
	r->save_path = xstrdup(rs.save_dir);
	r->running = it->want_running;
	r->sequential = rs.sequential;
	r->down_limit = rs.down_limit;
	r->up_limit = rs.up_limit;
	r->max_peers = rs.max_peers;
	r->upload_slots = rs.upload_slots;
	r->seed_ratio_milli = it->seed_ratio_milli;
	r->seed_time_s = it->seed_time_s;
	r->queue_pos = store_position(s, it);
	if (rs.error[0] != '\0')
		r->error = xstrdup(rs.error);
	if (rs.labels[0] != '\0')
		r->labels = xstrdup(rs.labels);
	r->seed_idle_mode = rs.idle_mode;
	r->seed_idle_limit = rs.idle_limit;
	r->names = rs.names;             /* taken */
	rs.names = NULL;
	r->trackers = rs.trackers;       /* taken */
	rs.trackers = NULL;
	r->peers = rs.peers;             /* taken */
	rs.peers = NULL;
	job->path = store_resume_path(s, it->hex);
	/* Pieces claimed that the last synced save did not claim must be durable before the file
	 * says so (at exit: the file marks them with the boot id). Pieces only come, unless
	 * have_lost moves: the same count and the same have_lost are the same pieces. */
	job->sync = rs.have_pieces != it->synced_have || rs.have_lost != it->synced_lost;
	job->tag = it->id;
	*have = rs.have_pieces;
	*lost = rs.have_lost;
	engine_policy_resume_free(&rs);
	return job;
}

static void
store_save_done(struct resume_job *job, void *arg)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, job->tag);
	if (job->error != 0)
		log_error("session: saving resume data: %s", job->errmsg);
	if (it != NULL) {
		it->saving = false;
		/* Its pieces are durable only when the writer synced them: not after a failure
		 * (the data's fsync, or the file's write, may be what failed), nor when the exit
		 * took the job unsynced (marked with the boot id). Then the next save syncs. */
		if (job->error == 0 && job->sync && !job->batch) {
			it->synced_have = it->saving_have;
			it->synced_lost = it->saving_lost;
			store_resync_written(s, it);
		}
		if (it->removed) {
			store_forget_item(s, it);   /* its files' removal is queued behind this save */
		} else if (it->save_again) {
			it->save_again = false;
			store_save(s, it);
		}
	}
	resume_job_free(job);
}

void
store_save(struct store *s, struct store_item *it)
{
	if (it->saving) {
		it->save_again = true;
		return;
	}
	struct engine_policy_torrent v;
	if (engine_policy_torrent(s->e, it->id, ENGINE_POLICY_FP, &v) < 0)
		return;
	struct resume_job *job = store_make_job(s, it, &it->saving_have, &it->saving_lost);
	if (job == NULL)
		return;
	it->saved_fp = store_fingerprint(it, v.persist_fp, store_position(s, it));
	it->saved_up = v.uploaded;
	it->saved_down = v.downloaded;
	it->last_save_ms = dp_now_ms();
	it->saving = true;
	job->done = store_save_done;
	job->arg = s;
	struct engine_policy_names n;
	snprintf(job->label, sizeof job->label, "writing resume data for %.100s",
	    store_name(s, it->id, &n));
	resume_writer_submit(s->writer, job);
}

/* The last saves at exit. The views are taken on the loop in slices of STORE_SLICE_US (10,000
 * torrents' resume states are 200 ms of work), the files written by a few threads at once
 * (replacing 10,000 files is metadata work the filesystem does in parallel) while the loop goes
 * on answering: one job of the store's writer thread, whose done() comes back on the loop.
 * Nothing is synced (issue 19: on a VM any fsync or syncfs makes the host flush the disk
 * image's cache, 0.3-0.5 s per GiB written): a file claiming pieces not synced yet says so
 * with the boot id, and only a reboot before the system wrote them out costs a recheck. */
struct store_flush_run {
	struct store *s;
	void (*done)(void *arg);
	void *done_arg;
	int *ids;                     /* the torrents to save, in queue order */
	size_t nids, at;              /* ... and the next one to take a view of */
	size_t cut, unchecked;
	struct resume_job **jobs;
	size_t n;
	size_t next;                  /* the next job to write: taken with an atomic add */
	struct engine_sliced *views;  /* the slices taking the views */
	bool writing;                 /* the writes are a job of s->writer */
};

static void *
store_flush_thread(void *arg)
{
	struct store_flush_run *run = arg;
	for (;;) {
		size_t i = __atomic_fetch_add(&run->next, 1, __ATOMIC_RELAXED);
		if (i >= run->n)
			return NULL;
		resume_job_run(run->jobs[i]);
	}
}

/* The writes, with helpers when there are many. */
static void
store_flush_write(struct store_flush_run *run)
{
	pthread_t th[STORE_FLUSH_THREADS];
	int started = 0;
	if (run->n > 64)
		for (; started < STORE_FLUSH_THREADS; started++)
			if (pthread_create(&th[started], NULL, store_flush_thread, run) != 0)
				break;
	store_flush_thread(run);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* On the loop once everything is written: the counts, then the engine's shutdown goes on. */
static void
store_flush_end(struct store_flush_run *run)
{
	struct store *s = run->s;
	size_t n = 0, unsynced = 0;
	for (size_t i = 0; i < run->n; i++) {
		if (run->jobs[i]->error != 0)
			log_error("session: saving resume data: %s", run->jobs[i]->errmsg);
		else
			n++;
		if (run->jobs[i]->error == 0 && run->jobs[i]->resume.unsynced)
			unsynced++;
		resume_job_free(run->jobs[i]);
	}
	store_save_stats(s, true);
	log_info("session: resume data of %zu torrent%s saved", n, n == 1 ? "" : "s");
	if (unsynced > 0)
		log_info("session: %zu torrent%s wrote data not synced yet: left to the system to "
		    "write out (a start after a reboot that comes first checks those pieces again)",
		    unsynced, unsynced == 1 ? "" : "s");
	if (run->cut > 0 || run->unchecked > 0)
		log_info("session: %zu torrent%s not checked yet and %zu check%s cut short: their "
		    "data is checked at the next start (a recheck's previous pieces stand)",
		    run->unchecked, run->unchecked == 1 ? "" : "s", run->cut,
		    run->cut == 1 ? "" : "s");
	void (*done)(void *) = run->done;
	void *done_arg = run->done_arg;
	s->flush = NULL;
	free(run->jobs);
	free(run->ids);
	free(run);
	engine_task_wait(s->task, ENGINE_TASK_TIMER_WAIT, "session saved");
	if (done != NULL)
		done(done_arg);
}

static void
store_flush_job_work(struct resume_job *job)
{
	store_flush_write(job->ctx);
}

static void
store_flush_job_done(struct resume_job *job, void *arg)
{
	struct store_flush_run *run = job->ctx;
	(void)arg;
	resume_job_free(job);
	run->writing = false;
	store_flush_end(run);
}

/* One slice of views: false while torrents are left. */
static bool
store_flush_views(void *arg, uint64_t budget_us)
{
	struct store_flush_run *run = arg;
	struct store *s = run->s;
	uint64_t until = budget_us > 0 ? dp_now_us() + budget_us : UINT64_MAX;
	while (run->at < run->nids) {
		struct store_item *it = store_find(s, run->ids[run->at++]);
		struct engine_policy_torrent t;
		if (it == NULL || it->removed || engine_policy_torrent(s->e, it->id, 0, &t) < 0)
			continue;
		/* A check still running at exit: its pieces are claimed by the previous file (none
		 * when it is the first check: the next start checks again). */
		if (it->checking || t.state == ENGINE_TORRENT_CHECKING) {
			run->cut++;
			continue;
		}
		uint32_t have, lost;
		struct resume_job *job = store_make_job(s, it, &have, &lost);
		if (job == NULL)
			continue;
		if (job->resume.unchecked && t.has_info)
			run->unchecked++;
		/* Pieces claimed since the last synced save (job->sync): not synced now, the file
		 * marks them with the boot id (the rest was made durable before an earlier file
		 * said so). */
		job->batch = true;
		run->jobs[run->n++] = job;
		if ((run->n & 31) == 0 && dp_now_us() >= until)
			break;
	}
	return run->at >= run->nids;
}

/* The views are taken: write them, on a thread when there are many. */
static void
store_flush_views_done(void *arg)
{
	struct store_flush_run *run = arg;
	struct store *s = run->s;
	run->views = NULL;
	if (run->n > 64) {
		struct resume_job *job = xcalloc(1, sizeof *job);
		resume_init(&job->resume);
		job->work = store_flush_job_work;
		job->ctx = run;
		job->done = store_flush_job_done;
		snprintf(job->label, sizeof job->label, "writing the resume data of %zu torrents", run->n);
		run->writing = true;
		engine_task_wait(s->task, ENGINE_TASK_DISK_WAIT,
		    "writing the resume data of %zu torrents", run->n);
		resume_writer_submit(s->writer, job);
		return;
	}
	store_flush_write(run);
	store_flush_end(run);
}

void
store_flush(void *arg, void (*done)(void *arg), void *done_arg)
{
	struct store *s = arg;
	if (s->settings_dirty)
		store_save_settings(s);
	/* What is still queued and the last saves below are written without fsyncs (a file
	 * claiming pieces not synced yet says so, with the boot id). */
	resume_writer_batch(s->writer);
	resume_writer_drain(s->writer);
	resume_writer_drain(s->mover);
	struct store_flush_run *run = xcalloc(1, sizeof *run);
	run->s = s;
	run->done = done;
	run->done_arg = done_arg;
	/* By id, not by item: a torrent removed between two slices is skipped, not followed. */
	run->ids = xcalloc((size_t)s->nitems + 1, sizeof *run->ids);
	for (struct store_item *it = s->items; it != NULL && run->nids < (size_t)s->nitems;
	    it = it->next)
		run->ids[run->nids++] = it->id;
	run->jobs = xcalloc(run->nids + 1, sizeof *run->jobs);
	s->flush = run;
	/* NULL: all done in the first slice (run is gone). */
	struct engine_sliced *views = engine_run_sliced(s->e, s->task, STORE_SLICE_US,
	    store_flush_views, store_flush_views_done, run, "taking the resume data of every torrent");
	if (views != NULL)
		run->views = views;
}

/* store_free with a flush under way (an engine freed before its shutdown finished): the rest
 * is saved here, at once, without its done. */
void
store_flush_finish_now(struct store *s)
{
	struct store_flush_run *run = s->flush;
	if (run == NULL)
		return;
	engine_sliced_cancel(&run->views);
	run->done = NULL;
	if (run->writing) {
		resume_writer_drain(s->writer);   /* its done() ends the run */
		return;
	}
	while (!store_flush_views(run, 0))
		;
	store_flush_write(run);
	store_flush_end(run);
}

/* A job of session_store_writer_call_for_tests. */
struct store_call {
	void (*work)(void *arg);
	void *arg;
};

static void
store_call_work(struct resume_job *job)
{
	struct store_call *c = job->ctx;
	c->work(c->arg);
}

static void
store_call_done(struct resume_job *job, void *arg)
{
	(void)arg;
	free(job->ctx);
	resume_job_free(job);
}

void
session_store_writer_call_for_tests(void *store, void (*work)(void *arg), void *arg)
{
	struct store *s = store;
	struct store_call *c = xcalloc(1, sizeof *c);
	c->work = work;
	c->arg = arg;
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->work = store_call_work;
	job->ctx = c;
	job->done = store_call_done;
	snprintf(job->label, sizeof job->label, "a test's call");
	resume_writer_submit(s->writer, job);
}
