/* check_resume.c: resume files (round trip, every corruption refused with a reason, atomic write
 * with backup and fallback, the writer thread, the exit's unsynced mark and boot id), the
 * queueing rule, seed limits and hook command splitting. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "hooks.h"
#include "queue.h"
#include "resume.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "util.h"

static void
sample(struct resume *r)
{
	resume_init(r);
	for (int i = 0; i < 20; i++)
		r->info_hash[i] = (uint8_t)(i * 7);
	r->piece_count = 10;
	r->pieces = xcalloc(2, 1);
	r->pieces[0] = 0xa5;
	r->pieces[1] = 0x40;           /* piece 9; spare bits clear */
	r->file_count = 2;
	r->files = xcalloc(2, sizeof *r->files);
	r->files[0] = (struct resume_file){ 1000, 1700000000123456789LL, 2 };
	r->files[1] = (struct resume_file){ 0, 0, 0 };
	r->uploaded = 1ull << 40;
	r->downloaded = 12345;
	r->added_date = 1700000000;
	r->completed_date = 1700000500;
	r->seeding_s = 77;
	r->save_path = xstrdup("/srv/data");
	r->running = true;
	r->sequential = true;
	r->down_limit = 1000;
	r->up_limit = 2000;
	r->max_peers = 30;
	r->upload_slots = 4;
	r->seed_ratio_milli = 1500;
	r->seed_time_s = -1;
	r->queue_pos = 3;
	r->error = xstrdup("No space left on device");
	r->seed_idle_mode = 1;
	r->seed_idle_limit = 45;
	r->names = xcalloc(3, sizeof *r->names);
	r->names[0] = xstrdup("renamed");
	r->names[1] = xstrdup("x.bin");
	r->names[2] = xstrdup("sub2/b.bin");
}

static struct dp_buf
encoded(void)
{
	struct resume r;
	sample(&r);
	struct dp_buf b;
	dp_buf_init(&b);
	resume_encode(&r, &b);
	resume_clear(&r);
	return b;
}

START_TEST(test_roundtrip)
{
	struct dp_buf b = encoded();
	struct resume r, want;
	char err[256];
	ck_assert_int_eq(resume_decode(b.data, b.len, &r, err, sizeof err), 0);
	sample(&want);
	ck_assert_mem_eq(r.info_hash, want.info_hash, 20);
	ck_assert_uint_eq(r.piece_count, 10);
	ck_assert_mem_eq(r.pieces, want.pieces, 2);
	ck_assert_uint_eq(r.file_count, 2);
	ck_assert_uint_eq(r.files[0].size, 1000);
	ck_assert(r.files[0].mtime_ns == 1700000000123456789LL);
	ck_assert_uint_eq(r.files[0].priority, 2);
	ck_assert(r.uploaded == 1ull << 40);
	ck_assert_uint_eq(r.downloaded, 12345);
	ck_assert_int_eq(r.seeding_s, 77);
	ck_assert_str_eq(r.save_path, "/srv/data");
	ck_assert(r.running && r.sequential);
	ck_assert_uint_eq(r.up_limit, 2000);
	ck_assert_int_eq(r.seed_ratio_milli, 1500);
	ck_assert_int_eq(r.seed_time_s, -1);
	ck_assert_int_eq(r.queue_pos, 3);
	ck_assert_str_eq(r.error, "No space left on device");
	ck_assert_int_eq(r.seed_idle_mode, 1);
	ck_assert_int_eq(r.seed_idle_limit, 45);
	ck_assert_ptr_nonnull(r.names);
	ck_assert_str_eq(r.names[0], "renamed");
	ck_assert_str_eq(r.names[2], "sub2/b.bin");
	/* Encoding the decoded value gives the same bytes. */
	struct dp_buf again;
	dp_buf_init(&again);
	resume_encode(&r, &again);
	ck_assert_uint_eq(again.len, b.len);
	ck_assert_mem_eq(again.data, b.data, b.len);
	dp_buf_free(&again);
	resume_clear(&r);
	resume_clear(&want);
	dp_buf_free(&b);
}
END_TEST

/* The error state is optional: a torrent not in error writes no 'error' key and reads back
 * NULL (files from before the key load as they did); in error, it round-trips (test_roundtrip). */
START_TEST(test_error_optional)
{
	struct resume r;
	sample(&r);
	free(r.error);
	r.error = NULL;
	struct dp_buf b;
	dp_buf_init(&b);
	resume_encode(&r, &b);
	resume_clear(&r);
	ck_assert(memmem(b.data, b.len, "5:error", 7) == NULL);
	char err[256];
	ck_assert_int_eq(resume_decode(b.data, b.len, &r, err, sizeof err), 0);
	ck_assert_ptr_null(r.error);
	ck_assert(r.running);
	/* Names only when renamed. */
	ck_assert_ptr_nonnull(r.names);
	for (size_t i = 0; i <= r.file_count; i++)
		free(r.names[i]);
	free(r.names);
	r.names = NULL;
	struct dp_buf nb;
	dp_buf_init(&nb);
	resume_encode(&r, &nb);
	ck_assert(memmem(nb.data, nb.len, "5:names", 7) == NULL);
	dp_buf_free(&nb);
	resume_clear(&r);
	dp_buf_free(&b);

	struct dp_buf e = encoded();
	ck_assert(memmem(e.data, e.len, "5:error23:No space left on device", 33) != NULL);
	dp_buf_free(&e);
}
END_TEST

/* "Never checked" is kept (a file saved before the first check ended must not claim "no
 * piece" as if looked at): optional, absent = checked, round-trips, only 0 or 1. */
START_TEST(test_unchecked_optional)
{
	struct resume r;
	sample(&r);
	struct dp_buf b;
	dp_buf_init(&b);
	resume_encode(&r, &b);
	ck_assert(memmem(b.data, b.len, "9:unchecked", 11) == NULL);
	r.unchecked = true;
	struct dp_buf u;
	dp_buf_init(&u);
	resume_encode(&r, &u);
	resume_clear(&r);
	ck_assert(memmem(u.data, u.len, "9:uncheckedi1e", 14) != NULL);
	char err[256];
	ck_assert_int_eq(resume_decode(b.data, b.len, &r, err, sizeof err), 0);
	ck_assert(!r.unchecked);
	resume_clear(&r);
	ck_assert_int_eq(resume_decode(u.data, u.len, &r, err, sizeof err), 0);
	ck_assert(r.unchecked);
	resume_clear(&r);
	dp_buf_free(&b);
	dp_buf_free(&u);
}
END_TEST

/* A magnet's x.pe peers are kept (issue 11, finding 14): optional, in key order, round-trip;
 * a value that is not a string or holds a NUL is refused. */
START_TEST(test_magnet_peers)
{
	struct resume r;
	sample(&r);
	r.peers = xstrdup("127.0.0.1:6881\n[::1]:51413\n");
	struct dp_buf b;
	dp_buf_init(&b);
	resume_encode(&r, &b);
	resume_clear(&r);
	char err[256];
	ck_assert_int_eq(resume_decode(b.data, b.len, &r, err, sizeof err), 0);
	ck_assert_str_eq(r.peers, "127.0.0.1:6881\n[::1]:51413\n");
	struct dp_buf again;
	dp_buf_init(&again);
	resume_encode(&r, &again);
	ck_assert_uint_eq(again.len, b.len);
	ck_assert_mem_eq(again.data, b.data, b.len);
	dp_buf_free(&again);
	resume_clear(&r);
	dp_buf_free(&b);

	sample(&r);
	r.peers = xstrdup("1.2.3.4:5");
	dp_buf_init(&b);
	resume_encode(&r, &b);
	resume_clear(&r);
	uint8_t *at = memmem(b.data, b.len, "5:peers9:1.2.3.4:5", 18);
	ck_assert_ptr_nonnull(at);
	at[12] = '\0';   /* a NUL inside: refused, whatever the checksum says */
	ck_assert_int_eq(resume_decode(b.data, b.len, &r, err, sizeof err), -1);
	dp_buf_free(&b);
}
END_TEST

/* A magnet's resume file, written before its metadata arrived: no pieces and no files. Files
 * without pieces (or pieces without files) stay refused. */
START_TEST(test_magnet_resume)
{
	struct resume r, got;
	sample(&r);
	r.piece_count = 0;
	r.file_count = 0;
	char err[256];
	struct dp_buf b;
	dp_buf_init(&b);
	resume_encode(&r, &b);
	ck_assert_msg(resume_decode(b.data, b.len, &got, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(got.piece_count, 0);
	ck_assert_uint_eq(got.file_count, 0);
	ck_assert_str_eq(got.save_path, "/srv/data");
	ck_assert_int_eq(got.queue_pos, 3);
	ck_assert(got.running);
	resume_clear(&got);
	dp_buf_free(&b);
	r.file_count = 2;
	dp_buf_init(&b);
	resume_encode(&r, &b);
	ck_assert_int_eq(resume_decode(b.data, b.len, &got, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "'piece-count' is 0") != NULL, "%s", err);
	dp_buf_free(&b);
	r.piece_count = 10;
	r.file_count = 0;
	dp_buf_init(&b);
	resume_encode(&r, &b);
	ck_assert_int_eq(resume_decode(b.data, b.len, &got, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "'files' must be empty") != NULL, "%s", err);
	dp_buf_free(&b);
	r.file_count = 2;
	resume_clear(&r);
}
END_TEST

/* Replaces the first occurrence of from with to (same length) in the body and re-signs it when
 * resign is set, so the decoder's own checks (not the checksum) must catch it. */
static int
decode_patched(const char *from, const char *to, bool resign, char *err, size_t errlen)
{
	struct dp_buf b = encoded();
	char *p = memmem(b.data, b.len, from, strlen(from));
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
	if (resign) {
		/* body starts after "d4:body"; the checksum is the 20 bytes after "4:sha120:". */
		char *sum = memmem(b.data, b.len, "4:sha120:", 9);
		ck_assert_ptr_nonnull(sum);
		const uint8_t *body = b.data + 7;
		size_t body_len = (size_t)((uint8_t *)sum - body);
		extern void disk_sha1(const uint8_t *, size_t, uint8_t *);
		disk_sha1(body, body_len, (uint8_t *)sum + 9);
	}
	struct resume r;
	int rc = resume_decode(b.data, b.len, &r, err, errlen);
	if (rc == 0)
		resume_clear(&r);
	dp_buf_free(&b);
	return rc;
}

START_TEST(test_corrupt_refused)
{
	char err[256];
	struct resume r;
	/* Not bencode, empty, truncated. */
	ck_assert_int_eq(resume_decode((const uint8_t *)"xyz", 3, &r, err, sizeof err), -1);
	ck_assert(strstr(err, "bencode") != NULL);
	ck_assert_int_eq(resume_decode((const uint8_t *)"", 0, &r, err, sizeof err), -1);
	ck_assert_str_eq(err, "empty file");
	struct dp_buf b = encoded();
	ck_assert_int_eq(resume_decode(b.data, b.len - 5, &r, err, sizeof err), -1);
	/* A flipped byte inside the body: the checksum says so. */
	b.data[40] ^= 1;
	ck_assert_int_eq(resume_decode(b.data, b.len, &r, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "checksum") != NULL || strstr(err, "bencode") != NULL, "%s", err);
	dp_buf_free(&b);
	/* Wrong version. */
	ck_assert_int_eq(decode_patched("7:versioni1e", "7:versioni2e", false, err, sizeof err), -1);
	ck_assert(strstr(err, "version 2") != NULL);
	/* Re-signed but inconsistent: the field checks must catch these. */
	ck_assert_int_eq(decode_patched("7:runningi1e", "7:runningi7e", true, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "'running'") != NULL, "%s", err);
	ck_assert_int_eq(decode_patched("11:piece-counti10e", "11:piece-counti99e", true, err,
	    sizeof err), -1);
	ck_assert_msg(strstr(err, "'pieces'") != NULL, "%s", err);
	ck_assert_int_eq(decode_patched("i1000ei1700000000123456789ei2e",
	    "i1000ei170000000012345678ei16e", true, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "file 0") != NULL, "%s", err);
	ck_assert_int_eq(decode_patched("9:save-path9:/srv/data", "9:save-patx9:/srv/data", true,
	    err, sizeof err), -1);
	ck_assert_msg(strstr(err, "save-path") != NULL || strstr(err, "bencode") != NULL, "%s",
	    err);
	/* The same change without re-signing is a checksum mismatch. */
	ck_assert_int_eq(decode_patched("7:runningi1e", "7:runningi0e", false, err, sizeof err), -1);
	ck_assert(strstr(err, "checksum") != NULL);
	/* And re-signed, a valid value passes. */
	ck_assert_int_eq(decode_patched("7:runningi1e", "7:runningi0e", true, err, sizeof err), 0);
}
END_TEST

START_TEST(test_write_and_backup)
{
	char dir[] = "/tmp/dp-check-resume.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *path = xasprintf("%s/x.resume", dir);
	char *bak = xasprintf("%s.bak", path);
	struct resume r;
	sample(&r);
	struct dp_buf one, two;
	dp_buf_init(&one);
	dp_buf_init(&two);
	resume_encode(&r, &one);
	r.uploaded = 5;
	resume_encode(&r, &two);
	char err[512];
	ck_assert_int_eq(resume_write_file(path, one.data, one.len, err, sizeof err), 0);
	ck_assert_int_eq(access(bak, F_OK), -1);
	ck_assert_int_eq(resume_write_file(path, two.data, two.len, err, sizeof err), 0);
	struct resume got;
	bool used_backup;
	char why[1024];
	ck_assert_int_eq(resume_load(path, r.info_hash, 10, 2, &got, &used_backup, why,
	    sizeof why), 0);
	ck_assert(!used_backup);
	ck_assert_uint_eq(got.uploaded, 5);
	resume_clear(&got);
	/* Main damaged: the backup (the previous save) answers, with the reason. */
	FILE *f = fopen(path, "w");
	fputs("d4:body", f);
	fclose(f);
	ck_assert_int_eq(resume_load(path, r.info_hash, 10, 2, &got, &used_backup, why,
	    sizeof why), 0);
	ck_assert(used_backup);
	ck_assert(got.uploaded == 1ull << 40);
	ck_assert_msg(strstr(why, "x.resume") != NULL, "%s", why);
	resume_clear(&got);
	/* Another torrent's file, or another piece count, is refused. */
	uint8_t other[20] = { 0 };
	ck_assert_int_eq(resume_load(path, other, 10, 2, &got, &used_backup, why, sizeof why), -1);
	ck_assert_msg(strstr(why, "another torrent") != NULL, "%s", why);
	ck_assert_int_eq(resume_load(path, r.info_hash, 11, 2, &got, &used_backup, why,
	    sizeof why), -1);
	/* Both missing. */
	unlink(path);
	unlink(bak);
	ck_assert_int_eq(resume_load(path, r.info_hash, 10, 2, &got, &used_backup, why,
	    sizeof why), -1);
	ck_assert_msg(strstr(why, "missing") != NULL, "%s", why);
	/* An unwritable directory is reported with the file name. */
	char *bad = xasprintf("%s/nodir/y.resume", dir);
	ck_assert_int_eq(resume_write_file(bad, one.data, one.len, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "y.resume") != NULL, "%s", err);
	free(bad);
	resume_clear(&r);
	dp_buf_free(&one);
	dp_buf_free(&two);
	rmdir(dir);
	free(path);
	free(bak);
}
END_TEST

static int writer_done_count;

static void
writer_done(struct resume_job *job, void *arg)
{
	(void)arg;
	ck_assert_int_eq(job->error, 0);
	writer_done_count++;
	resume_job_free(job);
}

/* The writer's jobs are DISK tasks: queued behind the running one, then a stuck step shows as a
 * DISK_WAIT naming the job and the step, then done (or failed with the error). */
static int writer_gate;

static void
writer_stuck_work(struct resume_job *job)
{
	resume_job_set_phase(job, "fsync");
	for (int i = 0; i < 5000 && !__atomic_load_n(&writer_gate, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	if (job->tag == 2) {
		job->error = EIO;
		snprintf(job->errmsg, sizeof job->errmsg, "x.resume: fsync: %s", strerror(EIO));
	}
}

static void
writer_task_done(struct resume_job *job, void *arg)
{
	(void)arg;
	writer_done_count++;
	resume_job_free(job);
}

/* Submits a job of writer_stuck_work for torrent tag; returns its task, held. */
static struct dp_task *
writer_task_submit(struct resume_writer *w, int tag)
{
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->work = writer_stuck_work;
	job->tag = tag;
	job->done = writer_task_done;
	snprintf(job->label, sizeof job->label, "writing resume data for T%d", tag);
	resume_writer_submit(w, job);
	/* The test reads it after the job ends; a front end's engine_task is a registry task
	 * underneath. */
	return task_hold((struct dp_task *)(void *)job->task);
}

START_TEST(test_writer_task)
{
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	struct event_base *base = event_base_new();
	char err[256];
	struct resume_writer *w = resume_writer_new(NULL, base, err, sizeof err);
	ck_assert_ptr_nonnull(w);
	writer_done_count = 0;
	writer_gate = 0;
	struct dp_task *tasks[3];
	for (int i = 0; i < 2; i++)
		tasks[i] = writer_task_submit(w, i + 1);
	ck_assert_str_eq(tasks[0]->name, "writer: writing resume data for T1");
	ck_assert_int_eq(tasks[0]->kind, DP_TASK_KIND_DISK);
	ck_assert_int_eq(tasks[0]->torrent_id, 1);
	ck_assert_int_eq(tasks[1]->state, DP_TASK_QUEUED);
	/* Generous bounds: valgrind runs the writer thread slowly; the loops end when done. */
	RUN_UNTIL(base, tasks[0]->state == DP_TASK_DISK_WAIT &&
	    strcmp(tasks[0]->reason, "writing resume data for T1: fsync") == 0, 30);
	ck_assert_int_eq(tasks[0]->state, DP_TASK_DISK_WAIT);
	ck_assert_str_eq(tasks[0]->reason, "writing resume data for T1: fsync");
	ck_assert_int_eq(tasks[1]->state, DP_TASK_QUEUED);
	ck_assert_str_eq(tasks[1]->reason, "writer queue: 1 job ahead");
	/* The one the thread holds and the one queued (a kept count, as the thread takes them). */
	tasks[2] = writer_task_submit(w, 3);
	ck_assert_str_eq(tasks[2]->reason, "writer queue: 2 jobs ahead");
	ck_assert_int_eq(writer_done_count, 0);
	__atomic_store_n(&writer_gate, 1, __ATOMIC_RELEASE);
	RUN_UNTIL(base, writer_done_count >= 3, 30);
	ck_assert_int_eq(writer_done_count, 3);
	/* All taken: a new job has none ahead. */
	struct dp_task *last = writer_task_submit(w, 4);
	ck_assert_str_eq(last->reason, "writer queue: 0 jobs ahead");
	RUN_UNTIL(base, writer_done_count >= 4, 30);
	ck_assert_int_eq(last->state, DP_TASK_DONE);
	task_release(&last);
	task_release(&tasks[2]);
	ck_assert_int_eq(tasks[0]->state, DP_TASK_DONE);
	ck_assert_int_eq(tasks[1]->state, DP_TASK_FAILED);
	ck_assert_ptr_nonnull(strstr(tasks[1]->reason, "x.resume: fsync"));
	task_release(&tasks[0]);
	task_release(&tasks[1]);
	resume_writer_free(w);
	event_base_free(base);
	task_registry_clear();
}
END_TEST

/* A writer on a new event base, and a 10-byte data file in dir (its path returned). */
static char *
writer_open(const char *dir, struct event_base **base, struct resume_writer **w)
{
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	*base = event_base_new();
	char err[256];
	*w = resume_writer_new(NULL, *base, err, sizeof err);
	ck_assert_ptr_nonnull(*w);
	char *data = xasprintf("%s/data.bin", dir);
	FILE *f = fopen(data, "w");
	fputs("0123456789", f);
	fclose(f);
	return data;
}

/* A save of dir/NAME claiming new pieces of data (synced first) and of a file not there. */
static struct resume_job *
writer_sync_job(const char *dir, const char *name, uint64_t uploaded, const char *data,
    void (*done)(struct resume_job *, void *))
{
	struct resume_job *job = xcalloc(1, sizeof *job);
	sample(&job->resume);
	job->resume.uploaded = uploaded;
	job->path = xasprintf("%s/%s", dir, name);
	job->file_paths = xcalloc(2, sizeof *job->file_paths);
	job->file_paths[0] = xstrdup(data);
	job->file_paths[1] = xasprintf("%s/missing.bin", dir);
	job->sync = true;
	job->done = done;
	return job;
}

START_TEST(test_writer_thread)
{
	char dir[] = "/tmp/dp-check-resume-w.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct event_base *base;
	struct resume_writer *w;
	char *data = writer_open(dir, &base, &w);
	writer_done_count = 0;
	for (int i = 0; i < 3; i++)
		resume_writer_submit(w, writer_sync_job(dir, "x.resume", (uint64_t)i, data,
		    writer_done));
	ck_assert_uint_eq(resume_writer_pending(w), 3);
	resume_writer_drain(w);
	ck_assert_int_eq(writer_done_count, 3);
	ck_assert_uint_eq(resume_writer_pending(w), 0);
	struct resume got, r;
	sample(&r);
	bool used_backup;
	char why[512];
	char *path = xasprintf("%s/x.resume", dir);
	ck_assert_int_eq(resume_load(path, r.info_hash, 10, 2, &got, &used_backup, why,
	    sizeof why), 0);
	ck_assert_uint_eq(got.uploaded, 2);            /* the last one written wins */
	ck_assert_uint_eq(got.files[0].size, 10);      /* stats taken by the worker */
	ck_assert(got.files[0].mtime_ns > 0);
	ck_assert_uint_eq(got.files[1].size, 0);
	ck_assert(got.files[1].mtime_ns == 0);
	resume_clear(&got);
	resume_clear(&r);
	resume_writer_free(w);
	event_base_free(base);
	char *bak = xasprintf("%s.bak", path);
	unlink(path);
	unlink(bak);
	unlink(data);
	rmdir(dir);
	free(bak);
	free(path);
	free(data);
}
END_TEST

/* A shutdown's batch: after resume_writer_batch the jobs the thread takes are batch jobs
 * (written without fsyncs), the files hold what was written with the previous copy as .bak. */
static bool batch_seen[4];

static void
batch_done(struct resume_job *job, void *arg)
{
	(void)arg;
	batch_seen[job->tag] = job->batch;
	resume_job_free(job);
}

START_TEST(test_writer_batch)
{
	char dir[] = "/tmp/dp-check-resume-b.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	struct event_base *base = event_base_new();
	char err[256];
	struct resume_writer *w = resume_writer_new(NULL, base, err, sizeof err);
	ck_assert_ptr_nonnull(w);
	char *path = xasprintf("%s/x.resume", dir);
	for (int i = 0; i < 4; i++) {
		if (i == 2) {
			resume_writer_drain(w);
			resume_writer_batch(w);
		}
		struct resume_job *job = xcalloc(1, sizeof *job);
		sample(&job->resume);
		job->resume.uploaded = (uint64_t)i + 100;
		job->path = xstrdup(path);
		job->tag = i;
		job->done = batch_done;
		resume_writer_submit(w, job);
	}
	resume_writer_drain(w);
	ck_assert(!batch_seen[0] && !batch_seen[1]);
	ck_assert(batch_seen[2] && batch_seen[3]);
	struct resume got, r;
	sample(&r);
	bool used_backup;
	char why[512];
	ck_assert_int_eq(resume_load(path, r.info_hash, 10, 2, &got, &used_backup, why,
	    sizeof why), 0);
	ck_assert(!used_backup);
	ck_assert_uint_eq(got.uploaded, 103);
	resume_clear(&got);
	char *bak = xasprintf("%s.bak", path);
	unlink(path);
	ck_assert_int_eq(resume_load(path, r.info_hash, 10, 2, &got, &used_backup, why,
	    sizeof why), 0);
	ck_assert(used_backup);
	ck_assert_uint_eq(got.uploaded, 102);
	resume_clear(&got);
	resume_clear(&r);
	resume_writer_free(w);
	event_base_free(base);
	unlink(bak);
	rmdir(dir);
	free(bak);
	free(path);
}
END_TEST

/* Issue 19: a file written at exit without a sync says so with the boot id; both round-trip,
 * a file without them (every file before) reads as synced, a malformed boot id is refused. */
START_TEST(test_unsynced_fields)
{
	struct dp_buf b = encoded();
	struct resume r;
	char err[256];
	ck_assert_int_eq(resume_decode(b.data, b.len, &r, err, sizeof err), 0);
	ck_assert(!r.unsynced);
	ck_assert_str_eq(r.boot_id, "");
	ck_assert(strstr((const char *)b.data, "unsynced") == NULL);
	ck_assert(strstr((const char *)b.data, "boot-id") == NULL);
	dp_buf_free(&b);
	r.unsynced = true;
	snprintf(r.boot_id, sizeof r.boot_id, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	dp_buf_init(&b);
	resume_encode(&r, &b);
	resume_clear(&r);
	ck_assert_int_eq(resume_decode(b.data, b.len, &r, err, sizeof err), 0);
	ck_assert(r.unsynced);
	ck_assert_str_eq(r.boot_id, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	/* the rest as before */
	ck_assert_int_eq(r.queue_pos, 3);
	ck_assert_str_eq(r.save_path, "/srv/data");
	/* Encoding the decoded value gives the same bytes. */
	struct dp_buf again;
	dp_buf_init(&again);
	resume_encode(&r, &again);
	ck_assert_uint_eq(again.len, b.len);
	ck_assert_mem_eq(again.data, b.data, b.len);
	dp_buf_free(&again);
	/* A boot id that is no UUID's text: the file is refused (its backup is used). */
	snprintf(r.boot_id, sizeof r.boot_id, "../../etc\n");
	dp_buf_free(&b);
	dp_buf_init(&b);
	resume_encode(&r, &b);
	resume_clear(&r);
	ck_assert_int_eq(resume_decode(b.data, b.len, &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "boot-id"));
	dp_buf_free(&b);
}
END_TEST

/* What the claimed pieces are worth: synced ones always; unsynced ones in the boot that wrote
 * them only (another boot, no boot id in the file, or none readable now: checked again). */
START_TEST(test_unsynced_trust)
{
	struct resume r;
	sample(&r);
	resume_boot_id_set_for_tests("11111111-2222-3333-4444-555555555555");
	ck_assert_int_eq(resume_trust(&r), RESUME_TRUST_SYNCED);
	resume_mark_unsynced(&r);
	ck_assert(r.unsynced);
	ck_assert_str_eq(r.boot_id, "11111111-2222-3333-4444-555555555555");
	ck_assert_int_eq(resume_trust(&r), RESUME_TRUST_THIS_BOOT);
	resume_boot_id_set_for_tests("99999999-2222-3333-4444-555555555555");
	ck_assert_int_eq(resume_trust(&r), RESUME_TRUST_OTHER_BOOT);
	r.boot_id[0] = '\0';
	ck_assert_int_eq(resume_trust(&r), RESUME_TRUST_OTHER_BOOT);
	/* this boot's id unreadable: marked without one, and never trusted */
	resume_boot_id_set_for_tests("");
	resume_mark_unsynced(&r);
	ck_assert_str_eq(r.boot_id, "");
	ck_assert_int_eq(resume_trust(&r), RESUME_TRUST_OTHER_BOOT);
	/* the system's: a UUID */
	resume_boot_id_set_for_tests(NULL);
	char id[RESUME_BOOT_ID_MAX];
	if (resume_boot_id(id))
		ck_assert_uint_eq(strlen(id), 36);
	resume_clear(&r);
}
END_TEST

/* The shutdown's saves (batch jobs) sync nothing: one claiming new pieces is written with the
 * mark and this boot's id, one claiming nothing new without it; a save while running syncs
 * the data and writes no mark. */
START_TEST(test_writer_exit_unsynced)
{
	char dir[] = "/tmp/dp-check-resume-u.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct event_base *base;
	struct resume_writer *w;
	char *data = writer_open(dir, &base, &w);
	resume_boot_id_set_for_tests("abcdef01-2222-3333-4444-555555555555");
	writer_done_count = 0;
	resume_writer_submit(w, writer_sync_job(dir, "run.resume", 1, data, writer_done));
	resume_writer_drain(w);
	resume_writer_batch(w);
	resume_writer_submit(w, writer_sync_job(dir, "new.resume", 2, data, writer_done));
	struct resume_job *old = writer_sync_job(dir, "old.resume", 3, data, writer_done);
	old->sync = false;
	resume_writer_submit(w, old);
	resume_writer_drain(w);
	ck_assert_int_eq(writer_done_count, 3);
	const char *names[] = { "run.resume", "new.resume", "old.resume" };
	const bool marked[] = { false, true, false };
	struct resume r;
	sample(&r);
	for (int i = 0; i < 3; i++) {
		struct resume got;
		bool used_backup;
		char why[512];
		char *path = xasprintf("%s/%s", dir, names[i]);
		ck_assert_int_eq(resume_load(path, r.info_hash, 10, 2, &got, &used_backup, why,
		    sizeof why), 0);
		ck_assert_uint_eq(got.uploaded, (uint64_t)i + 1);
		ck_assert_uint_eq(got.files[0].size, 10);
		ck_assert_msg(got.unsynced == marked[i], "%s", names[i]);
		ck_assert_str_eq(got.boot_id, marked[i] ? "abcdef01-2222-3333-4444-555555555555" :
		    "");
		ck_assert_int_eq(resume_trust(&got), marked[i] ? RESUME_TRUST_THIS_BOOT :
		    RESUME_TRUST_SYNCED);
		resume_clear(&got);
		char *bak = xasprintf("%s.bak", path);
		unlink(path);
		unlink(bak);
		free(bak);
		free(path);
	}
	resume_boot_id_set_for_tests(NULL);
	resume_clear(&r);
	resume_writer_free(w);
	event_base_free(base);
	unlink(data);
	rmdir(dir);
	free(data);
}
END_TEST

/* Jobs queued while the writer is busy are written together (issue 10: one sync for many
 * files): every file holds its own save with the previous copy as .bak, a second save of one
 * file waits for the next batch, a job whose folder is missing fails alone. */
static int batches_done, batches_failed;
static size_t batches_max;

static void
batches_job_done(struct resume_job *job, void *arg)
{
	(void)arg;
	if (job->error != 0)
		batches_failed++;
	else
		batches_done++;
	if (job->batched > batches_max)
		batches_max = job->batched;
	resume_job_free(job);
}

static struct resume_job *
batches_job(const char *dir, int i, uint64_t uploaded, const char *data)
{
	char name[32];
	snprintf(name, sizeof name, "%d.resume", i);
	struct resume_job *job = writer_sync_job(dir, name, uploaded, data, batches_job_done);
	job->tag = i;
	return job;
}

START_TEST(test_writer_batches)
{
	char dir[] = "/tmp/dp-check-resume-m.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct event_base *base;
	struct resume_writer *w;
	char *data = writer_open(dir, &base, &w);
	batches_done = batches_failed = 0;
	batches_max = 0;
	for (int round = 0; round < 2; round++) {
		/* The thread held by a job, so the saves queue up behind it. */
		writer_gate = 0;
		struct resume_job *gate = xcalloc(1, sizeof *gate);
		resume_init(&gate->resume);
		gate->work = writer_stuck_work;
		gate->done = batches_job_done;
		resume_writer_submit(w, gate);
		for (int i = 0; i < 20; i++)
			resume_writer_submit(w, batches_job(dir, i, (uint64_t)(round * 100 + i), data));
		/* the same file again: its own batch, after the first */
		resume_writer_submit(w, batches_job(dir, 3, (uint64_t)(round * 100 + 50), data));
		/* a folder that is not there */
		struct resume_job *bad = batches_job(dir, 99, 1, data);
		free(bad->path);
		bad->path = xasprintf("%s/nodir/x.resume", dir);
		resume_writer_submit(w, bad);
		__atomic_store_n(&writer_gate, 1, __ATOMIC_RELEASE);
		resume_writer_drain(w);
	}
	ck_assert_int_eq(batches_failed, 2);
	ck_assert_int_eq(batches_done, 2 * (1 + 21));
	ck_assert_msg(batches_max >= 20, "largest batch %zu", batches_max);
	struct resume r;
	sample(&r);
	for (int i = 0; i < 20; i++) {
		struct resume got;
		bool used_backup;
		char why[512];
		char *path = xasprintf("%s/%d.resume", dir, i);
		ck_assert_int_eq(resume_load(path, r.info_hash, 10, 2, &got, &used_backup, why,
		    sizeof why), 0);
		ck_assert(!used_backup);
		ck_assert_uint_eq(got.uploaded, i == 3 ? 150 : 100 + (uint64_t)i);
		ck_assert_uint_eq(got.files[0].size, 10);
		resume_clear(&got);
		/* the backup: the save before */
		char *bak = xasprintf("%s.bak", path);
		ck_assert_int_eq(rename(bak, path), 0);
		ck_assert_int_eq(resume_load(path, r.info_hash, 10, 2, &got, &used_backup, why,
		    sizeof why), 0);
		ck_assert_uint_eq(got.uploaded, i == 3 ? 100 + 3 : (uint64_t)i);
		resume_clear(&got);
		unlink(path);
		free(bak);
		free(path);
	}
	resume_clear(&r);
	resume_writer_free(w);
	event_base_free(base);
	unlink(data);
	free(data);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A backup that is a hard link of the file (a crash in the middle of the old way of writing)
 * is not written through: the file gets the new copy, the backup keeps the old one. */
START_TEST(test_write_linked_backup)
{
	char dir[] = "/tmp/dp-check-resume-l.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *path = xasprintf("%s/x.resume", dir);
	char *bak = xasprintf("%s.bak", path);
	char err[256];
	ck_assert_int_eq(resume_write_file(path, (const uint8_t *)"old", 3, err, sizeof err), 0);
	ck_assert_int_eq(access(bak, F_OK), -1);
	ck_assert_int_eq(link(path, bak), 0);
	ck_assert_int_eq(resume_write_file(path, (const uint8_t *)"newer", 5, err, sizeof err), 0);
	uint8_t *buf;
	size_t len;
	ck_assert_int_eq(dp_read_file(path, 100, &buf, &len), 0);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq((char *)buf, "newer");
	free(buf);
	ck_assert_int_eq(dp_read_file(bak, 100, &buf, &len), 0);
	ck_assert_str_eq((char *)buf, "old");
	free(buf);
	/* a shorter copy over a longer backup leaves nothing of the longer one */
	ck_assert_int_eq(resume_write_file(path, (const uint8_t *)"ab", 2, err, sizeof err), 0);
	ck_assert_int_eq(dp_read_file(path, 100, &buf, &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_str_eq((char *)buf, "ab");
	free(buf);
	ck_assert_int_eq(dp_read_file(bak, 100, &buf, &len), 0);
	ck_assert_str_eq((char *)buf, "newer");
	free(buf);
	unlink(path);
	unlink(bak);
	ck_assert_int_eq(rmdir(dir), 0);
	free(path);
	free(bak);
}
END_TEST

/* The kept counts say when a full plan could act (issue 10: no pass reads every torrent for
 * nothing). */
START_TEST(test_queue_needs_plan)
{
	struct queue_counts c = { .active_down = 2, .active_seed = 10, .queued = 0 };
	/* nothing queued, no class over its limit */
	ck_assert(!queue_needs_plan(&c, 5, 0));
	ck_assert(!queue_needs_plan(&c, 2, 10));
	/* over a limit: park */
	ck_assert(queue_needs_plan(&c, 1, 0));
	ck_assert(queue_needs_plan(&c, 5, 9));
	/* queued ones and a free slot of a class that may have one */
	c.queued = 3;
	ck_assert(queue_needs_plan(&c, 5, 10));
	ck_assert(queue_needs_plan(&c, 2, 0));
	/* ... unless the last full plan left none of that class */
	c.starved_down = true;
	ck_assert(!queue_needs_plan(&c, 5, 10));
	c.starved_seed = true;
	ck_assert(!queue_needs_plan(&c, 5, 0));
	/* every slot taken: the queued ones wait */
	c.starved_down = c.starved_seed = false;
	ck_assert(!queue_needs_plan(&c, 2, 10));
	/* a changed torrent with unchecked data: it starts whatever the limits */
	c.unchecked = true;
	ck_assert(queue_needs_plan(&c, 2, 10));
	/* After a plan: a class is starved when none of it is left waiting. */
	struct queue_entry v[] = {
		{ 1, true, false, false, 0, false }, { 2, true, false, false, 0, false },
		{ 3, false, true, false, 0, false }, { 4, false, false, true, 0, false },
	};
	queue_plan(v, 4, 1, 0);
	bool sd, ss;
	queue_plan_starved(v, 4, &sd, &ss);
	ck_assert(!sd);        /* entry 2 waits for the one download slot */
	ck_assert(ss);         /* the seeds are active or pinned */
	queue_plan(v, 4, 0, 0);
	queue_plan_starved(v, 4, &sd, &ss);
	ck_assert(sd);
}
END_TEST

START_TEST(test_queue_plan)
{
	/* Two downloads allowed: the first two queued ones start, in order. */
	struct queue_entry v[] = {
		{ 1, true, false, false, 0, false }, { 2, true, false, false, 0, false },
		{ 3, true, false, false, 0, false }, { 4, false, false, false, 0, false },
		{ 5, false, false, false, 0, false },
	};
	ck_assert_uint_eq(queue_plan(v, 5, 2, 1), 3);
	ck_assert_int_eq(v[0].action, QUEUE_START);
	ck_assert_int_eq(v[1].action, QUEUE_START);
	ck_assert_int_eq(v[2].action, QUEUE_KEEP);
	ck_assert_int_eq(v[3].action, QUEUE_START);
	ck_assert_int_eq(v[4].action, QUEUE_KEEP);
	/* Active ones are not swapped for an earlier queued one. */
	struct queue_entry w[] = {
		{ 1, true, false, false, 0, false }, { 2, true, true, false, 0, false }, { 3, true, true, false, 0, false },
	};
	ck_assert_uint_eq(queue_plan(w, 3, 2, 0), 0);
	/* A lowered limit parks from the back, never a pinned (checking) one. */
	struct queue_entry x[] = {
		{ 1, true, true, false, 0, false }, { 2, true, true, false, 0, false }, { 3, true, true, true, 0, false },
	};
	ck_assert_uint_eq(queue_plan(x, 3, 2, 0), 1);
	ck_assert_int_eq(x[0].action, QUEUE_KEEP);
	ck_assert_int_eq(x[1].action, QUEUE_PARK);
	ck_assert_int_eq(x[2].action, QUEUE_KEEP);
	/* 0 = unlimited: everything starts. */
	struct queue_entry y[] = { { 1, true, false, false, 0, false }, { 2, false, false, false, 0, false } };
	ck_assert_uint_eq(queue_plan(y, 2, 0, 0), 2);
	/* Unchecked torrents take no slot: with one download slot taken and no seed slot left,
	 * both still start (to be checked), and they do not count against the queued download
	 * behind them; a checking one (pinned) counts in no class either. */
	struct queue_entry z[] = {
		{ 1, true, true, false, 0, false }, { 2, true, false, false, 0, true },
		{ 3, true, false, false, 0, true }, { 4, true, false, false, 0, false },
		{ 5, false, true, false, 0, false }, { 6, true, false, true, 0, false },
	};
	ck_assert_uint_eq(queue_plan(z, 6, 2, 1), 3);
	ck_assert_int_eq(z[0].action, QUEUE_KEEP);
	ck_assert_int_eq(z[1].action, QUEUE_START);
	ck_assert_int_eq(z[2].action, QUEUE_START);
	ck_assert_int_eq(z[3].action, QUEUE_START);
	ck_assert_int_eq(z[4].action, QUEUE_KEEP);
	ck_assert_int_eq(z[5].action, QUEUE_KEEP);
}
END_TEST

START_TEST(test_seed_limits)
{
	char why[160];
	/* Global ratio 2: 1.9 keeps seeding, 2.0 stops. */
	ck_assert(!queue_seed_limit_reached(-1, -1, 2.0, 0, 1900, 0, 1000, 0, why, sizeof why));
	ck_assert(queue_seed_limit_reached(-1, -1, 2.0, 0, 2000, 0, 1000, 0, why, sizeof why));
	ck_assert(strstr(why, "ratio") != NULL);
	/* Downloaded more than the size (rehashed data): ratio over the larger. */
	ck_assert(!queue_seed_limit_reached(-1, -1, 2.0, 0, 2000, 1500, 1000, 0, why, sizeof why));
	/* Per torrent 0 = none beats the global. */
	ck_assert(!queue_seed_limit_reached(0, 0, 2.0, 10, 5000, 0, 1000, 50, why, sizeof why));
	/* Per torrent 0.5 beats a global 2. */
	ck_assert(queue_seed_limit_reached(500, -1, 2.0, 0, 600, 0, 1000, 0, why, sizeof why));
	/* Time limits. */
	ck_assert(queue_seed_limit_reached(-1, -1, 0, 60, 0, 0, 1000, 60, why, sizeof why));
	ck_assert(strstr(why, "60 s") != NULL);
	ck_assert(!queue_seed_limit_reached(-1, 120, 0, 60, 0, 0, 1000, 60, why, sizeof why));
}
END_TEST

START_TEST(test_hook_split)
{
	char err[128];
	char **a = hooks_split("  /bin/echo 'a b' \"c \\\"d\\\"\" e\\ f  ", err, sizeof err);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a[0], "/bin/echo");
	ck_assert_str_eq(a[1], "a b");
	ck_assert_str_eq(a[2], "c \"d\"");
	ck_assert_str_eq(a[3], "e f");
	ck_assert_ptr_null(a[4]);
	hooks_argv_free(a);
	a = hooks_split("x ''", err, sizeof err);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a[1], "");
	hooks_argv_free(a);
	ck_assert_ptr_null(hooks_split("echo 'open", err, sizeof err));
	ck_assert(strstr(err, "unbalanced") != NULL);
	ck_assert_ptr_null(hooks_split("   ", err, sizeof err));
	ck_assert(strstr(err, "empty") != NULL);
}
END_TEST

Suite *
resume_suite(void)
{
	Suite *s = suite_create("resume");
	TCase *tc = tcase_create("resume");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_error_optional);
	tcase_add_test(tc, test_unchecked_optional);
	tcase_add_test(tc, test_magnet_resume);
	tcase_add_test(tc, test_magnet_peers);
	tcase_add_test(tc, test_corrupt_refused);
	tcase_add_test(tc, test_write_and_backup);
	tcase_add_test(tc, test_writer_thread);
	tcase_add_test(tc, test_writer_task);
	tcase_add_test(tc, test_queue_plan);
	tcase_add_test(tc, test_queue_needs_plan);
	tcase_add_test(tc, test_writer_batch);
	tcase_add_test(tc, test_writer_batches);
	tcase_add_test(tc, test_unsynced_fields);
	tcase_add_test(tc, test_unsynced_trust);
	tcase_add_test(tc, test_writer_exit_unsynced);
	tcase_add_test(tc, test_write_linked_backup);
	tcase_add_test(tc, test_seed_limits);
	tcase_add_test(tc, test_hook_split);
	suite_add_tcase(s, tc);
	return s;
}
