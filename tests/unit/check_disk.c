/* check_disk.c: the disk worker pool: verified writes, reads, hash checks, error reports, tasks
 * (queued, then running, then done), completions on the loop thread, backpressure, shutdown. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "disk.h"
#include "metainfo.h"
#include "storage.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "util.h"

#define PIECE 16384u

static char tmpdir[64];
static struct event_base *base;
static pthread_t loop_thread;
static struct metainfo *mi;
static struct storage *st;

struct result {
	int count;
	int wrong_thread;
	int order_errors;
	uint32_t last_piece_seen;
	struct disk_job *last;
};

/* A two-file torrent of n pieces of PIECE bytes with a pad file between. */
static struct metainfo *
mi_make(uint32_t pieces, const uint8_t *data)
{
	struct metainfo *m = xcalloc(1, sizeof *m);
	m->name = xstrdup("Disk");
	m->multi_file = true;
	m->piece_length = PIECE;
	m->piece_count = pieces;
	m->total_size = (uint64_t)pieces * PIECE;
	m->file_count = 3;
	m->files = xcalloc(3, sizeof *m->files);
	uint64_t a = m->total_size / 2 + 1000, pad = 100;
	m->files[0] = (struct mi_file){ .path = xstrdup("a.bin"), .length = a };
	m->files[1] = (struct mi_file){ .path = xstrdup(".pad/100"), .length = pad, .offset = a,
	    .pad = true };
	m->files[2] = (struct mi_file){ .path = xstrdup("sub/b.bin"),
	    .length = m->total_size - a - pad, .offset = a + pad };
	m->piece_hashes = xmalloc(20u * pieces);
	for (uint32_t i = 0; i < pieces; i++)
		disk_sha1(data + (uint64_t)i * PIECE, PIECE, m->piece_hashes + 20u * i);
	return m;
}

static void
mi_destroy(struct metainfo *m)
{
	for (size_t i = 0; i < m->file_count; i++)
		free(m->files[i].path);
	free(m->files);
	free(m->piece_hashes);
	free(m->name);
	free(m);
}

/* Piece data where the pad file's bytes are zero, as a real torrent's would be. */
static uint8_t *
data_make(uint32_t pieces)
{
	uint64_t total = (uint64_t)pieces * PIECE, a = total / 2 + 1000;
	uint8_t *d = xmalloc(total);
	for (uint64_t i = 0; i < total; i++)
		d[i] = (uint8_t)((i * 2654435761u) >> 11);
	memset(d + a, 0, 100);
	return d;
}

static void
setup(void)
{
	th_tmpdir_make(tmpdir, sizeof tmpdir, "disk");
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	loop_thread = pthread_self();
	mi = NULL;
	st = NULL;
}

static void
teardown(void)
{
	storage_free(st);
	if (mi)
		mi_destroy(mi);
	event_base_free(base);
	task_registry_clear();
	th_rm_rf(tmpdir);
}

static void
job_done_cb(struct disk_job *job, void *arg)
{
	struct result *r = arg;
	if (!pthread_equal(pthread_self(), loop_thread))
		r->wrong_thread++;
	r->count++;
	r->last = job;
}

static void
loop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Runs the loop until *count reaches want or ms pass. */
static void
run_until(const int *count, int want, int ms)
{
	struct event *tick = event_new(base, -1, EV_PERSIST, loop_timeout_cb, NULL);
	struct timeval tv = { 0, 10000 };
	event_add(tick, &tv);
	uint64_t deadline = dp_now_ms() + (uint64_t)ms;
	while (*count < want && dp_now_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
}

static struct disk_job *
job_new(enum disk_op op, uint32_t piece, uint8_t *buf, struct result *r)
{
	struct disk_job *j = xcalloc(1, sizeof *j);
	j->op = op;
	j->storage = st;
	j->torrent_id = 7;
	j->piece = piece;
	j->offset = (uint64_t)piece * PIECE;
	j->length = PIECE;
	j->buf = buf;
	if (mi)
		memcpy(j->expected, mi->piece_hashes + 20u * piece, 20);
	j->done = job_done_cb;
	j->arg = r;
	return j;
}

/* A job's task, found by id: the pool lets go of it when the job completes (task.h), and the
 * registry keeps it as long as it lingers. */
static const struct dp_task *
job_task(const struct disk_job *j)
{
	const struct dp_task *t = task_find(j->task_id);
	ck_assert_msg(t != NULL, "the task of job %llu is gone", (unsigned long long)j->task_id);
	return t;
}

START_TEST(test_sha1_vector)
{
	uint8_t out[20];
	char hex[41];
	disk_sha1((const uint8_t *)"abc", 3, out);
	dp_hex_encode(out, 20, hex);
	ck_assert_str_eq(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
	disk_sha1((const uint8_t *)"", 0, out);
	dp_hex_encode(out, 20, hex);
	ck_assert_str_eq(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}
END_TEST

START_TEST(test_write_good_and_bad)
{
	uint8_t *data = data_make(4);
	mi = mi_make(4, data);
	st = storage_new(mi, tmpdir, 8);
	struct disk_pool *pool = disk_pool_new(base, 2);
	ck_assert_ptr_nonnull(pool);
	ck_assert_int_eq(disk_pool_threads(pool), 2);
	struct result r = { 0 };

	struct disk_job *good = job_new(DISK_OP_WRITE_PIECE, 1, data + PIECE, &r);
	uint8_t *corrupt = xmemdup(data + 2 * PIECE, PIECE);
	corrupt[100] ^= 1;
	struct disk_job *bad = job_new(DISK_OP_WRITE_PIECE, 2, corrupt, &r);
	disk_pool_submit(pool, good);
	disk_pool_submit(pool, bad);
	ck_assert_uint_eq(disk_pool_pending_write_bytes(pool), 2 * PIECE);
	ck_assert_uint_eq(disk_pool_pending_jobs(pool), 2);
	ck_assert_ptr_nonnull(job_task(good));
	ck_assert_int_eq(job_task(good)->kind, DP_TASK_KIND_DISK);
	ck_assert_msg(strstr(job_task(good)->name, "write piece 1") != NULL, "%s", job_task(good)->name);

	run_until(&r.count, 2, 5000);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(r.wrong_thread, 0);
	ck_assert(good->hash_ok);
	ck_assert_int_eq(good->error, 0);
	ck_assert(!bad->hash_ok);
	ck_assert_int_eq(bad->error, 0);
	ck_assert_uint_eq(disk_pool_pending_write_bytes(pool), 0);
	ck_assert_uint_eq(disk_pool_pending_jobs(pool), 0);
	ck_assert_uint_eq(disk_pool_hash_count(pool), 2);
	ck_assert_int_eq(job_task(good)->state, DP_TASK_DONE);
	ck_assert_int_eq(job_task(bad)->state, DP_TASK_DONE);
	ck_assert_msg(strstr(job_task(bad)->reason, "mismatch") != NULL, "%s", job_task(bad)->reason);

	/* Only the good piece reached the disk: the bad one's bytes are still a hole. */
	uint8_t back[PIECE];
	char err[256];
	ck_assert_int_eq(storage_read(st, PIECE, back, PIECE, err, sizeof err), 0);
	ck_assert_mem_eq(back, data + PIECE, PIECE);
	ck_assert_int_eq(storage_read(st, 2 * PIECE, back, PIECE, err, sizeof err), -ENOENT);
	ck_assert_msg(strstr(err, "sub/b.bin") != NULL, "%s", err);
	ck_assert_int_eq(storage_read(st, 2 * PIECE, back, 1000, err, sizeof err), 0);
	for (size_t i = 0; i < 1000; i++)
		ck_assert_uint_eq(back[i], 0);

	/* Read it back through the pool, into a buffer the pool allocates. */
	struct disk_job *rd = job_new(DISK_OP_READ, 1, NULL, &r);
	disk_pool_submit(pool, rd);
	run_until(&r.count, 3, 5000);
	ck_assert_int_eq(r.count, 3);
	ck_assert_int_eq(rd->error, 0);
	ck_assert_ptr_nonnull(rd->buf);
	ck_assert_mem_eq(rd->buf, data + PIECE, PIECE);
	ck_assert_uint_eq(job_task(rd)->bytes_in, PIECE);

	disk_pool_free(pool);
	free(rd->buf);
	free(rd);
	free(good);
	free(bad);
	free(corrupt);
	free(data);
}
END_TEST

START_TEST(test_hash_check)
{
	const uint32_t n = 6;
	uint8_t *data = data_make(n);
	mi = mi_make(n, data);
	st = storage_new(mi, tmpdir, 8);
	char err[256];
	struct disk_pool *pool = disk_pool_new(base, 3);
	struct result r = { 0 };
	struct disk_job *jobs[6];

	/* Nothing on disk yet: every piece fails, none is an error. */
	for (uint32_t i = 0; i < n; i++) {
		jobs[i] = job_new(DISK_OP_HASH_PIECE, i, NULL, &r);
		disk_pool_submit(pool, jobs[i]);
		ck_assert_int_eq(job_task(jobs[i])->kind, DP_TASK_KIND_HASH);
	}
	ck_assert_uint_eq(disk_pool_pending_write_bytes(pool), 0);
	run_until(&r.count, (int)n, 5000);
	ck_assert_int_eq(r.count, (int)n);
	for (uint32_t i = 0; i < n; i++) {
		ck_assert(!jobs[i]->hash_ok);
		ck_assert_int_eq(jobs[i]->error, 0);
		free(jobs[i]);
	}
	ck_assert_uint_eq(disk_pool_hash_count(pool), 0);

	/* All data written, then one byte of piece 4 corrupted on disk. */
	ck_assert_int_eq(storage_write(st, 0, data, (uint32_t)mi->total_size, err, sizeof err), 0);
	storage_close_all(st);
	char *path = storage_file_path(st, 2);
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	uint64_t in_b = 4u * PIECE + 5 - mi->files[2].offset;
	ck_assert_int_eq(pwrite(fd, "X", 1, (off_t)in_b), 1);
	close(fd);
	free(path);

	r.count = 0;
	for (uint32_t i = 0; i < n; i++) {
		jobs[i] = job_new(DISK_OP_HASH_PIECE, i, NULL, &r);
		disk_pool_submit(pool, jobs[i]);
	}
	run_until(&r.count, (int)n, 5000);
	ck_assert_int_eq(r.count, (int)n);
	for (uint32_t i = 0; i < n; i++) {
		ck_assert_msg(jobs[i]->hash_ok == (i != 4), "piece %u", i);
		ck_assert_int_eq(jobs[i]->error, 0);
		ck_assert_int_eq(job_task(jobs[i])->state, DP_TASK_DONE);
		free(jobs[i]);
	}
	ck_assert_uint_eq(disk_pool_hash_count(pool), n);
	ck_assert_int_eq(r.wrong_thread, 0);

	/* An I/O error (a directory where a file should be) is reported, naming the file. */
	storage_close_all(st);
	char p[512];
	snprintf(p, sizeof p, "%s/Disk/a.bin", tmpdir);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	r.count = 0;
	jobs[0] = job_new(DISK_OP_HASH_PIECE, 0, NULL, &r);
	disk_pool_submit(pool, jobs[0]);
	run_until(&r.count, 1, 5000);
	ck_assert_int_eq(jobs[0]->error, EISDIR);
	ck_assert_msg(strstr(jobs[0]->errmsg, p) != NULL, "%s", jobs[0]->errmsg);
	ck_assert_int_eq(job_task(jobs[0])->state, DP_TASK_FAILED);
	free(jobs[0]);

	disk_pool_free(pool);
	free(data);
}
END_TEST

/* A call blocked reading a pipe the test holds: the test sees one job running while the next
 * is queued, then lets it go. (A FIFO as the torrent's file used to serve here, until storage
 * learnt to refuse FIFOs instead of blocking on them.) */
static int blocking_pipe[2];

static void
blocking_call(struct disk_job *job)
{
	char c;
	if (read(blocking_pipe[0], &c, 1) != 1)
		job->error = EIO;
}

START_TEST(test_many_jobs_loop_thread)
{
	const uint32_t n = 200;
	uint8_t *data = data_make(n);
	mi = mi_make(n, data);
	st = storage_new(mi, tmpdir, 4);
	struct disk_pool *pool = disk_pool_new(base, 4);
	struct result r = { 0 }, held = { 0 };
	/* Every worker held first (a call reading the test's pipe each), so the writes queue:
	 * otherwise the last one was queued only when the workers had not finished the others
	 * by its submission, and a loop thread descheduled while submitting (load 4.7) saw
	 * them all done and the last shown running. */
	ck_assert_int_eq(pipe(blocking_pipe), 0);
	struct disk_job *holds[4];
	for (int i = 0; i < 4; i++) {
		holds[i] = job_new(DISK_OP_CALL, 0, NULL, &held);
		holds[i]->storage = NULL;
		holds[i]->call = blocking_call;
		holds[i]->what = "waiting for the test's pipe";
		disk_pool_submit(pool, holds[i]);
	}
	struct disk_job **jobs = xcalloc(n, sizeof *jobs);
	for (uint32_t i = 0; i < n; i++) {
		jobs[i] = job_new(DISK_OP_WRITE_PIECE, i, data + (uint64_t)i * PIECE, &r);
		disk_pool_submit(pool, jobs[i]);
	}
	ck_assert_uint_eq(disk_pool_pending_write_bytes(pool), (uint64_t)n * PIECE);
	/* The last one is queued behind others and says so. */
	ck_assert_int_eq(job_task(jobs[n - 1])->state, DP_TASK_QUEUED);
	ck_assert_msg(strstr(job_task(jobs[n - 1])->reason, "jobs ahead") != NULL, "%s",
	    job_task(jobs[n - 1])->reason);
	ck_assert_int_eq(write(blocking_pipe[1], "xxxx", 4), 4);

	uint64_t prev_pending = disk_pool_pending_write_bytes(pool);
	int monotonic_errors = 0;
	uint64_t deadline = dp_now_ms() + 20000;
	while (r.count < (int)n && dp_now_ms() < deadline) {
		run_until(&r.count, r.count + 1, 1000);
		uint64_t p = disk_pool_pending_write_bytes(pool);
		if (p > prev_pending || p != (uint64_t)(n - (uint32_t)r.count) * PIECE)
			monotonic_errors++;
		prev_pending = p;
	}
	ck_assert_int_eq(r.count, (int)n);
	ck_assert_int_eq(r.wrong_thread, 0);
	ck_assert_int_eq(monotonic_errors, 0);
	run_until(&held.count, 4, 5000);
	ck_assert_int_eq(held.count, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(holds[i]->error, 0);
		free(holds[i]);
	}
	close(blocking_pipe[0]);
	close(blocking_pipe[1]);
	ck_assert_uint_eq(disk_pool_pending_jobs(pool), 0);
	ck_assert_uint_eq(disk_pool_hash_count(pool), n);
	for (uint32_t i = 0; i < n; i++) {
		ck_assert(jobs[i]->hash_ok);
		ck_assert_int_eq(job_task(jobs[i])->state, DP_TASK_DONE);
		free(jobs[i]);
	}
	free(jobs);
	disk_pool_free(pool);

	/* Everything is on disk. */
	uint8_t *back = xmalloc(mi->total_size);
	char err[256];
	ck_assert_int_eq(storage_read(st, 0, back, (uint32_t)mi->total_size, err, sizeof err), 0);
	ck_assert_mem_eq(back, data, mi->total_size);
	free(back);
	free(data);
}
END_TEST

START_TEST(test_task_states)
{
	const uint32_t n = 2;
	uint8_t *data = data_make(n);
	mi = mi_make(n, data);
	st = storage_new(mi, tmpdir, 4);
	ck_assert_int_eq(pipe(blocking_pipe), 0);

	struct disk_pool *pool = disk_pool_new(base, 1);
	struct result r = { 0 };
	struct disk_job *blocked = job_new(DISK_OP_CALL, 0, NULL, &r);
	blocked->storage = NULL;
	blocked->call = blocking_call;
	blocked->what = "waiting for the test's pipe";
	struct disk_job *behind = job_new(DISK_OP_HASH_PIECE, 0, NULL, &r);
	disk_pool_submit(pool, blocked);
	disk_pool_submit(pool, behind);
	ck_assert_int_eq(job_task(behind)->state, DP_TASK_QUEUED);
	ck_assert_str_eq(job_task(behind)->reason, "disk queue: 1 job ahead");

	/* Wait (bounded) for the loop to learn that the worker took the first job. */
	int never = 0;
	for (int i = 0; i < 200 && job_task(blocked)->state != DP_TASK_DISK_WAIT; i++)
		run_until(&never, 1, 10);
	ck_assert_int_eq(job_task(blocked)->state, DP_TASK_DISK_WAIT);
	ck_assert_str_eq(job_task(blocked)->reason, "waiting for the test's pipe");
	ck_assert_int_eq(job_task(behind)->state, DP_TASK_QUEUED);
	ck_assert_str_eq(job_task(behind)->reason, "disk queue: 1 job ahead");
	ck_assert_int_eq(r.count, 0);

	/* Unblock. */
	ck_assert_int_eq(write(blocking_pipe[1], "x", 1), 1);
	run_until(&r.count, 2, 5000);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(blocked->error, 0);
	ck_assert_int_eq(job_task(blocked)->state, DP_TASK_DONE);
	ck_assert_int_ne(job_task(behind)->state, DP_TASK_QUEUED);

	disk_pool_free(pool);
	close(blocking_pipe[0]);
	close(blocking_pipe[1]);
	free(blocked);
	free(behind);
	free(data);
}
END_TEST

/* A job that finds a free worker is shown running from its submission (its worker does not wake
 * the loop to say so: a wakeup per piece downloaded); one that waits in the queue is shown
 * queued, and running once a worker takes it, before it completes. */
START_TEST(test_running_at_submit)
{
	ck_assert_int_eq(pipe(blocking_pipe), 0);
	struct disk_pool *pool = disk_pool_new(base, 2);
	struct result r = { 0 };
	struct disk_job *jobs[3];
	for (int i = 0; i < 3; i++) {
		jobs[i] = job_new(DISK_OP_CALL, 0, NULL, &r);
		jobs[i]->storage = NULL;
		jobs[i]->call = blocking_call;
		jobs[i]->what = "waiting for the test's pipe";
		disk_pool_submit(pool, jobs[i]);
	}
	/* Two free workers: the first two run at once, the third waits. No loop pass yet. */
	ck_assert_int_eq(job_task(jobs[0])->state, DP_TASK_DISK_WAIT);
	ck_assert_str_eq(job_task(jobs[0])->reason, "waiting for the test's pipe");
	ck_assert_int_eq(job_task(jobs[1])->state, DP_TASK_DISK_WAIT);
	ck_assert_int_eq(job_task(jobs[2])->state, DP_TASK_QUEUED);
	ck_assert_str_eq(job_task(jobs[2])->reason, "disk queue: 2 jobs ahead");

	/* One finishes; the third is taken and the loop hears of it while it still blocks. */
	ck_assert_int_eq(write(blocking_pipe[1], "x", 1), 1);
	run_until(&r.count, 1, 5000);
	ck_assert_int_eq(r.count, 1);
	int never = 0;
	for (int i = 0; i < 200 && job_task(jobs[2])->state != DP_TASK_DISK_WAIT; i++)
		run_until(&never, 1, 10);
	ck_assert_int_eq(job_task(jobs[2])->state, DP_TASK_DISK_WAIT);
	ck_assert_str_eq(job_task(jobs[2])->reason, "waiting for the test's pipe");
	ck_assert_int_eq(r.count, 1);

	ck_assert_int_eq(write(blocking_pipe[1], "xx", 2), 2);
	run_until(&r.count, 3, 5000);
	ck_assert_int_eq(r.count, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(job_task(jobs[i])->state, DP_TASK_DONE);
		free(jobs[i]);
	}
	disk_pool_free(pool);
	close(blocking_pipe[0]);
	close(blocking_pipe[1]);
}
END_TEST

/* Hash checks wait behind other work: a write (here a call) queued after a torrent's whole check
 * window goes before all but at most one of its checks, and the checks still all run. */
struct order {
	int n;
	int urgent_at;
	const struct disk_job *urgent;
};

static void
order_done_cb(struct disk_job *job, void *arg)
{
	struct order *o = arg;
	o->n++;
	if (job == o->urgent)
		o->urgent_at = o->n;
}

static void
order_call(struct disk_job *job)
{
	(void)job;
}

START_TEST(test_checks_yield_to_other_work)
{
	enum { N = 6 };
	uint8_t *data = data_make(N);
	mi = mi_make(N, data);
	st = storage_new(mi, tmpdir, 4);
	ck_assert_int_eq(pipe(blocking_pipe), 0);
	struct disk_pool *pool = disk_pool_new(base, 1);
	struct order o = { 0 };
	struct result unused = { 0 };
	struct disk_job *blocked = job_new(DISK_OP_CALL, 0, NULL, &unused);
	blocked->storage = NULL;
	blocked->call = blocking_call;
	blocked->done = order_done_cb;
	blocked->arg = &o;
	disk_pool_submit(pool, blocked);
	struct disk_job *checks[N];
	for (int i = 0; i < N; i++) {
		checks[i] = job_new(DISK_OP_HASH_PIECE, (uint32_t)i, NULL, &unused);
		checks[i]->done = order_done_cb;
		checks[i]->arg = &o;
		disk_pool_submit(pool, checks[i]);
	}
	struct disk_job *urgent = job_new(DISK_OP_CALL, 0, NULL, &unused);
	urgent->storage = NULL;
	urgent->call = order_call;
	urgent->done = order_done_cb;
	urgent->arg = &o;
	o.urgent = urgent;
	disk_pool_submit(pool, urgent);
	ck_assert_str_eq(job_task(urgent)->reason, "disk queue: 1 job ahead");
	ck_assert_str_eq(job_task(checks[0])->reason, "disk queue: 1 job ahead");

	ck_assert_int_eq(write(blocking_pipe[1], "x", 1), 1);
	run_until(&o.n, N + 2, 5000);
	ck_assert_int_eq(o.n, N + 2);
	/* The blocked call, at most one check, then the call queued last. */
	ck_assert_int_le(o.urgent_at, 3);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(checks[i]->error, 0);
		ck_assert_int_eq(job_task(checks[i])->state, DP_TASK_DONE);
		free(checks[i]);
	}
	disk_pool_free(pool);
	close(blocking_pipe[0]);
	close(blocking_pipe[1]);
	free(blocked);
	free(urgent);
	free(data);
}
END_TEST

struct resubmit {
	struct disk_pool *pool;
	struct result *r;
	struct disk_job *extra;
};

static void
resubmit_done_cb(struct disk_job *job, void *arg)
{
	struct resubmit *rs = arg;
	job_done_cb(job, rs->r);
	if (rs->extra != NULL) {
		struct disk_job *e = rs->extra;
		rs->extra = NULL;
		disk_pool_submit(rs->pool, e);
	}
}

START_TEST(test_free_in_flight)
{
	const uint32_t n = 50;
	uint8_t *data = data_make(n);
	mi = mi_make(n, data);
	st = storage_new(mi, tmpdir, 4);
	struct disk_pool *pool = disk_pool_new(base, 2);
	struct result r = { 0 };
	struct disk_job **jobs = xcalloc(n + 1, sizeof *jobs);
	struct resubmit rs = { pool, &r, NULL };
	for (uint32_t i = 0; i < n; i++) {
		jobs[i] = job_new(DISK_OP_WRITE_PIECE, i, data + (uint64_t)i * PIECE, &r);
		if (i == n - 1) {
			jobs[i]->done = resubmit_done_cb;
			jobs[i]->arg = &rs;
		}
		disk_pool_submit(pool, jobs[i]);
	}
	/* A completion during shutdown submits one more job: it must still complete. */
	jobs[n] = job_new(DISK_OP_HASH_PIECE, 3, NULL, &r);
	rs.extra = jobs[n];
	disk_pool_free(pool);
	ck_assert_int_eq(r.count, (int)n + 1);
	ck_assert_int_eq(r.wrong_thread, 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert(jobs[i]->hash_ok);
	ck_assert(jobs[n]->hash_ok);
	for (uint32_t i = 0; i <= n; i++)
		free(jobs[i]);
	free(jobs);
	free(data);
}
END_TEST

/* Deleting a torrent's data runs on a worker (the loop never unlinks): files and the folders
 * left empty are gone, the completion and the task's end come back on the loop thread. */
START_TEST(test_delete_files)
{
	uint8_t *data = data_make(4);
	mi = mi_make(4, data);
	st = storage_new(mi, tmpdir, 8);
	struct disk_pool *pool = disk_pool_new(base, 2);
	ck_assert_ptr_nonnull(pool);
	struct result r = { 0 };
	struct disk_job *w[4];
	for (uint32_t i = 0; i < 4; i++) {
		w[i] = job_new(DISK_OP_WRITE_PIECE, i, data + (uint64_t)i * PIECE, &r);
		disk_pool_submit(pool, w[i]);
	}
	run_until(&r.count, 4, 5000);
	ck_assert_int_eq(r.count, 4);
	char a[128], b[128], sub[128], root[128];
	struct stat sb;
	snprintf(a, sizeof a, "%s/Disk/a.bin", tmpdir);
	snprintf(b, sizeof b, "%s/Disk/sub/b.bin", tmpdir);
	snprintf(sub, sizeof sub, "%s/Disk/sub", tmpdir);
	snprintf(root, sizeof root, "%s/Disk", tmpdir);
	ck_assert_int_eq(stat(a, &sb), 0);
	ck_assert_int_eq(stat(b, &sb), 0);

	struct disk_job *del = job_new(DISK_OP_DELETE, 0, NULL, &r);
	del->offset = 0;
	del->length = 0;
	disk_pool_submit(pool, del);
	ck_assert_ptr_nonnull(job_task(del));
	ck_assert_int_eq(job_task(del)->kind, DP_TASK_KIND_DISK);
	ck_assert_ptr_nonnull(strstr(job_task(del)->name, "delete"));
	run_until(&r.count, 5, 5000);
	ck_assert_int_eq(r.count, 5);
	ck_assert_int_eq(r.wrong_thread, 0);
	ck_assert_int_eq(del->error, 0);
	ck_assert_int_eq(job_task(del)->state, DP_TASK_DONE);
	ck_assert_str_eq(job_task(del)->reason, "files deleted");
	ck_assert_int_eq(stat(a, &sb), -1);
	ck_assert_int_eq(stat(b, &sb), -1);
	ck_assert_int_eq(stat(sub, &sb), -1);
	ck_assert_int_eq(stat(root, &sb), -1);

	/* Deleting again is not an error: the files are already gone. */
	disk_pool_submit(pool, del);
	run_until(&r.count, 6, 5000);
	ck_assert_int_eq(r.count, 6);
	ck_assert_int_eq(del->error, 0);

	disk_pool_free(pool);
	for (int i = 0; i < 4; i++)
		free(w[i]);
	free(del);
	free(data);
}
END_TEST

/* statvfs runs on a worker too: free bytes of a directory, an error naming a missing one. */
START_TEST(test_free_space)
{
	struct disk_pool *pool = disk_pool_new(base, 1);
	ck_assert_ptr_nonnull(pool);
	struct result r = { 0 };
	struct disk_job *ok = job_new(DISK_OP_FREE_SPACE, 0, NULL, &r);
	struct disk_job *bad = job_new(DISK_OP_FREE_SPACE, 0, NULL, &r);
	ok->path = tmpdir;
	ok->length = bad->length = 0;
	bad->path = "/no/such/dir/for/dp";
	disk_pool_submit(pool, ok);
	disk_pool_submit(pool, bad);
	ck_assert_ptr_nonnull(strstr(job_task(ok)->name, tmpdir));
	run_until(&r.count, 2, 5000);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(r.wrong_thread, 0);
	ck_assert_int_eq(ok->error, 0);
	ck_assert_uint_gt(ok->free_bytes, 0);
	ck_assert_int_eq(job_task(ok)->state, DP_TASK_DONE);
	ck_assert_int_eq(bad->error, ENOENT);
	ck_assert_uint_eq(bad->free_bytes, 0);
	ck_assert_ptr_nonnull(strstr(bad->errmsg, "/no/such/dir/for/dp"));
	ck_assert_int_eq(job_task(bad)->state, DP_TASK_FAILED);
	disk_pool_free(pool);
	free(ok);
	free(bad);
}
END_TEST

/* Whether a torrent has data to check is found out on a worker (a stat() per file). */
START_TEST(test_probe)
{
	uint8_t *data = data_make(4);
	mi = mi_make(4, data);
	st = storage_new(mi, tmpdir, 8);
	struct disk_pool *pool = disk_pool_new(base, 1);
	ck_assert_ptr_nonnull(pool);
	struct result r = { 0 };
	struct disk_job *probe = job_new(DISK_OP_PROBE, 0, NULL, &r);
	probe->length = 0;
	disk_pool_submit(pool, probe);
	run_until(&r.count, 1, 5000);
	ck_assert_int_eq(r.count, 1);
	ck_assert_int_eq(probe->error, 0);
	ck_assert(!probe->hash_ok);
	ck_assert_str_eq(job_task(probe)->reason, "no existing data");

	/* The last piece lies in the second file only: that file alone counts as data. */
	struct disk_job *w = job_new(DISK_OP_WRITE_PIECE, 3, data + 3 * PIECE, &r);
	disk_pool_submit(pool, w);
	run_until(&r.count, 2, 5000);
	ck_assert(w->hash_ok);
	disk_pool_submit(pool, probe);
	run_until(&r.count, 3, 5000);
	ck_assert_int_eq(r.count, 3);
	ck_assert_int_eq(r.wrong_thread, 0);
	ck_assert(probe->hash_ok);
	ck_assert_str_eq(job_task(probe)->reason, "existing data found");
	disk_pool_free(pool);
	free(w);
	free(probe);
	free(data);
}
END_TEST

/* A CALL job: the function runs on a worker thread, the completion on the loop thread, and its
 * task is named after the work and shows it as the reason while it runs. */
struct call_ctx {
	struct disk_job job;
	pthread_t ran_on;
	int ran;
	int fail;
	int *gate;                 /* the worker spins until the test opens it */
};

static void
call_work(struct disk_job *job)
{
	struct call_ctx *c = (struct call_ctx *)job;
	c->ran_on = pthread_self();
	for (int i = 0; i < 5000 && !__atomic_load_n(c->gate, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	c->ran++;
	if (c->fail) {
		job->error = EACCES;
		snprintf(job->errmsg, sizeof job->errmsg, "call: %s", strerror(EACCES));
	}
}

START_TEST(test_call)
{
	struct disk_pool *pool = disk_pool_new(base, 2);
	ck_assert_ptr_nonnull(pool);
	struct result r = { 0 };
	int gate = 0;
	struct call_ctx ok = { .gate = &gate }, bad = { .gate = &gate, .fail = 1 };
	struct call_ctx *cs[] = { &ok, &bad };
	for (int i = 0; i < 2; i++) {
		cs[i]->job.op = DISK_OP_CALL;
		cs[i]->job.call = call_work;
		cs[i]->job.what = i == 0 ? "reading a.torrent" : "renaming b.torrent";
		cs[i]->job.done = job_done_cb;
		cs[i]->job.arg = &r;
		disk_pool_submit(pool, &cs[i]->job);
	}
	ck_assert_str_eq(job_task(&ok.job)->name, "disk reading a.torrent");
	ck_assert_int_eq(job_task(&ok.job)->kind, DP_TASK_KIND_DISK);
	/* Held on the worker: the loop sees the task running, the work as its reason. */
	RUN_UNTIL(base, job_task(&ok.job)->state == DP_TASK_DISK_WAIT, 30);
	ck_assert_int_eq(job_task(&ok.job)->state, DP_TASK_DISK_WAIT);
	ck_assert_str_eq(job_task(&ok.job)->reason, "reading a.torrent");
	ck_assert_int_eq(r.count, 0);
	__atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
	run_until(&r.count, 2, 5000);
	ck_assert_int_eq(r.count, 2);
	ck_assert_int_eq(r.wrong_thread, 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(cs[i]->ran, 1);
		ck_assert(!pthread_equal(cs[i]->ran_on, loop_thread));
	}
	ck_assert_int_eq(ok.job.error, 0);
	ck_assert_int_eq(job_task(&ok.job)->state, DP_TASK_DONE);
	ck_assert_int_eq(bad.job.error, EACCES);
	ck_assert_int_eq(job_task(&bad.job)->state, DP_TASK_FAILED);
	ck_assert_ptr_nonnull(strstr(job_task(&bad.job)->reason, "call: "));
	disk_pool_free(pool);
}
END_TEST

/* Completions come back in slices with a time budget: 400 completions of 200 us each (80 ms
 * in all) are not run by one callback, and an event made ready by the first one runs before
 * the last (a signal or the RPC waiting meanwhile is served). */
struct slice_ctx {
	int done;
	int done_when_probe_ran;
	struct event *probe;
};

static void
slice_work(struct disk_job *job)
{
	(void)job;
}

static void
slice_done(struct disk_job *job, void *arg)
{
	struct slice_ctx *c = arg;
	(void)job;
	uint64_t until = dp_now_us() + 200;
	while (dp_now_us() < until)
		;
	if (c->done++ == 0)
		event_active(c->probe, EV_TIMEOUT, 0);
}

static void
slice_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slice_ctx *c = arg;
	(void)fd;
	(void)what;
	c->done_when_probe_ran = c->done;
}

START_TEST(test_completions_in_slices)
{
	enum { N = 400 };
	struct disk_pool *pool = disk_pool_new(base, 2);
	ck_assert_ptr_nonnull(pool);
	struct slice_ctx c = { .done_when_probe_ran = -1 };
	c.probe = event_new(base, -1, 0, slice_probe_cb, &c);
	struct disk_job *jobs = xcalloc(N, sizeof *jobs);
	for (int i = 0; i < N; i++) {
		jobs[i].op = DISK_OP_CALL;
		jobs[i].call = slice_work;
		jobs[i].done = slice_done;
		jobs[i].arg = &c;
		disk_pool_submit(pool, &jobs[i]);
	}
	/* The workers finish these empty calls at once, before the loop looks: one batch
	 * waits for it. */
	usleep(100000);
	uint64_t s0, cut0, s1, cut1;
	disk_pool_slice_counts(pool, &s0, &cut0);
	run_until(&c.done, N, 10000);
	ck_assert_int_eq(c.done, N);
	disk_pool_slice_counts(pool, &s1, &cut1);
	ck_assert_uint_ge(cut1 - cut0, 2);
	ck_assert_int_gt(c.done_when_probe_ran, 0);
	ck_assert_int_lt(c.done_when_probe_ran, N);
	disk_pool_free(pool);
	event_free(c.probe);
	free(jobs);
}
END_TEST

/* Pages of path's [off, off+len) held in the page cache. */
static size_t
resident_pages(const char *path, off_t off, size_t len)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);
	ck_assert(m != MAP_FAILED);
	size_t pages = (len + 4095) / 4096, n = 0;
	unsigned char *vec = xmalloc(pages);
	ck_assert_int_eq(mincore(m, len, vec), 0);
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	munmap(m, len);
	close(fd);
	return n;
}

/* Page-aligned piece buffers are written with O_DIRECT where the file offsets allow (not copied
 * into the page cache); unaligned spans and tails go through the page cache; every byte lands. */
START_TEST(test_write_direct_and_buffered)
{
	uint8_t *data = data_make(4);
	mi = mi_make(4, data);
	st = storage_new(mi, tmpdir, 8);
	struct disk_pool *pool = disk_pool_new(base, 2);
	ck_assert_ptr_nonnull(pool);
	struct result r = { 0 };
	uint8_t *bufs[4];
	struct disk_job *w[4];
	for (uint32_t i = 0; i < 4; i++) {
		void *p = NULL;
		ck_assert_int_eq(posix_memalign(&p, STORAGE_DIRECT_ALIGN, PIECE), 0);
		bufs[i] = p;
		memcpy(bufs[i], data + (uint64_t)i * PIECE, PIECE);
		w[i] = job_new(DISK_OP_WRITE_PIECE, i, bufs[i], &r);
		disk_pool_submit(pool, w[i]);
	}
	run_until(&r.count, 4, 5000);
	ck_assert_int_eq(r.count, 4);
	for (uint32_t i = 0; i < 4; i++) {
		ck_assert_int_eq(w[i]->error, 0);
		ck_assert(w[i]->hash_ok);
	}
	/* Before anything reads it back: where the filesystem has O_DIRECT, piece 0 (a.bin at offset 0) bypassed the cache. */
	char a[128];
	snprintf(a, sizeof a, "%s/Disk/a.bin", tmpdir);
	int probe = open(a, O_WRONLY | O_DIRECT);
	const char *preload = getenv("LD_PRELOAD");
	/* Under valgrind, mapping the file shows its pages resident: nothing to learn there. */
	bool valgrind = preload != NULL && strstr(preload, "vgpreload") != NULL;
	if (probe >= 0) {
		close(probe);
		if (!valgrind)
			ck_assert_uint_eq(resident_pages(a, 0, PIECE), 0);
	}
	/* Everything reads back, aligned spans, unaligned ones (b.bin starts mid-page) and tails. */
	uint8_t *back = xmalloc(4 * PIECE);
	char err[256];
	ck_assert_int_eq(storage_read(st, 0, back, 4 * PIECE, err, sizeof err), 0);
	ck_assert_mem_eq(back, data, 4 * PIECE);
	disk_pool_free(pool);
	for (int i = 0; i < 4; i++) {
		free(w[i]);
		free(bufs[i]);
	}
	free(back);
	free(data);
}
END_TEST

/* A job for [offset, offset + 4 blocks) of the storage as one piece, expecting data's SHA-1. */
static struct disk_job *
job_span(enum disk_op op, uint64_t offset, uint8_t *buf, const uint8_t *data,
    struct result *r)
{
	struct disk_job *j = job_new(op, 0, buf, r);
	j->offset = offset;
	j->length = 4 * PIECE;
	disk_sha1(data, 4 * PIECE, j->expected);
	return j;
}

/* Runs a HASH_PART job extending ph up to to. Until it completes, the piece it holds counts in
 * the backpressure bytes (a finished piece's write waits for it). */
static void
hash_part(struct disk_pool *pool, struct disk_piece_hash *ph, uint8_t *buf, const uint8_t *data,
    uint32_t to, struct result *r)
{
	struct disk_job *j = job_span(DISK_OP_HASH_PART, 0, buf, data, r);
	j->ph = ph;
	j->hash_to = to;
	int want = r->count + 1;
	uint64_t before = disk_pool_pending_write_bytes(pool);
	disk_pool_submit(pool, j);
	ck_assert_uint_eq(disk_pool_pending_write_bytes(pool), before + j->length);
	run_until(&r->count, want, 5000);
	ck_assert_int_eq(r->count, want);
	ck_assert_uint_eq(disk_pool_pending_write_bytes(pool), before);
	ck_assert_int_eq(j->error, 0);
	ck_assert_int_eq(job_task(j)->kind, DP_TASK_KIND_HASH);
	free(j);
}

/* A piece hashed while it arrives (HASH_PART over its in-order prefix as it grows, then the
 * write hashes the rest) is written when right, refused before writing when a block is wrong,
 * in the part hashed early or in the rest. */
START_TEST(test_write_hashed_as_it_arrives)
{
	uint8_t *data = data_make(16);
	mi = mi_make(16, data);
	st = storage_new(mi, tmpdir, 8);
	struct disk_pool *pool = disk_pool_new(base, 2);
	struct result r = { 0 };
	char err[256];
	uint8_t *back = xmalloc(4 * PIECE);

	/* Right: blocks 0, then 2 and 1 (the prefix grows to three blocks), then 3. */
	uint8_t *buf = xmemdup(data, 4 * PIECE);
	struct disk_job *tmpl = job_span(DISK_OP_WRITE_PIECE, 0, buf, data, &r);
	struct disk_piece_hash *ph = disk_piece_hash_new(tmpl);
	ck_assert_ptr_nonnull(ph);
	hash_part(pool, ph, buf, data, PIECE, &r);
	ck_assert_uint_eq(disk_piece_hash_done(ph), PIECE);
	hash_part(pool, ph, buf, data, 3 * PIECE, &r);
	ck_assert_uint_eq(disk_piece_hash_done(ph), 3 * PIECE);
	tmpl->ph = ph;
	int want = r.count + 1;
	disk_pool_submit(pool, tmpl);
	run_until(&r.count, want, 5000);
	ck_assert(tmpl->hash_ok);
	ck_assert_int_eq(tmpl->error, 0);
	ck_assert_uint_eq(disk_piece_hash_done(ph), 4 * PIECE);
	ck_assert_int_eq(storage_read(st, 0, back, 4 * PIECE, err, sizeof err), 0);
	ck_assert_mem_eq(back, data, 4 * PIECE);
	disk_piece_hash_free(ph);
	free(tmpl);
	free(buf);

	/* Wrong: a block hashed early (block 1), or one hashed by the write (block 3). */
	for (uint32_t bad = 1; bad <= 3; bad += 2) {
		uint64_t at = (uint64_t)bad * 4 * PIECE;     /* a region not written yet */
		const uint8_t *want_data = data + at;
		buf = xmemdup(want_data, 4 * PIECE);
		buf[bad * PIECE + 77] ^= 0x40;
		tmpl = job_span(DISK_OP_WRITE_PIECE, at, buf, want_data, &r);
		ph = disk_piece_hash_new(tmpl);
		hash_part(pool, ph, buf, want_data, 2 * PIECE, &r);
		tmpl->ph = ph;
		want = r.count + 1;
		disk_pool_submit(pool, tmpl);
		run_until(&r.count, want, 5000);
		ck_assert_msg(!tmpl->hash_ok, "a wrong block %u passed", bad);
		ck_assert_int_eq(tmpl->error, 0);
		/* Not written: a hole (zeros) or no file yet. */
		memset(back, 0xff, 1000);
		int rc = storage_read(st, at + 4 * PIECE - 1000, back, 1000, err, sizeof err);
		ck_assert_msg(rc == 0 || rc == -ENOENT, "%s", err);
		for (size_t i = 0; rc == 0 && i < 1000; i++)
			ck_assert_uint_eq(back[i], 0);
		disk_piece_hash_free(ph);
		free(tmpl);
		free(buf);
	}
	ck_assert_uint_eq(disk_pool_hash_count(pool), 3);
	disk_pool_free(pool);
	free(back);
	free(data);
}
END_TEST

Suite *
disk_suite(void)
{
	Suite *s = suite_create("disk");
	TCase *tc = tcase_create("sha1");
	tcase_add_test(tc, test_sha1_vector);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_write_good_and_bad);
	tcase_add_test(tc, test_hash_check);
	tcase_add_test(tc, test_many_jobs_loop_thread);
	tcase_add_test(tc, test_task_states);
	tcase_add_test(tc, test_running_at_submit);
	tcase_add_test(tc, test_checks_yield_to_other_work);
	tcase_add_test(tc, test_free_in_flight);
	tcase_add_test(tc, test_delete_files);
	tcase_add_test(tc, test_free_space);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_write_direct_and_buffered);
	tcase_add_test(tc, test_write_hashed_as_it_arrives);
	tcase_add_test(tc, test_call);
	tcase_add_test(tc, test_completions_in_slices);
	suite_add_tcase(s, tc);
	return s;
}
