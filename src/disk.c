/* disk.c: the disk worker pool: a job queue served by N threads doing SHA-1 and file I/O, and the
 * completion queue that one event hands back to the loop thread, where tasks are updated. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "disk.h"
#include "log.h"
#include "merkle.h"
#include "metainfo.h"
#include "storage.h"
#include "task.h"
#include "util.h"

#define DISK_MAX_THREADS 64
/* Completions run on the loop for at most this long per callback (at least DISK_SLICE_MIN). */
#define DISK_SLICE_US 8000u
#define DISK_SLICE_MIN 4u
/* Queued tasks whose "N jobs ahead" is refreshed when workers take jobs: the head of the queue
 * is what the monitor cares about, and the walk must stay cheap. */
#define DISK_REFRESH_QUEUED 128
/* Hash checks ask the kernel for the pieces after theirs, so the disk keeps reading while the
 * CPU hashes. */
#define DISK_READAHEAD_PIECES 2
/* Hash checks read and hash in chunks that stay in the CPU cache between the copy out of the
 * page cache and SHA-1, instead of copying a whole piece first. */
#define DISK_HASH_CHUNK (128u * 1024u)

/* Jobs waiting for a worker, in order. */
struct disk_queue {
	struct disk_job *head, *tail;
	size_t len;
};

/* A worker's own buffers, reused from job to job. */
struct disk_scratch {
	uint8_t *buf;
	size_t len;
	EVP_MD_CTX *md;
	struct merkle_hasher *mh;       /* v2 pieces */
	uint8_t *leaves;                /* their leaf hashes */
	size_t leaves_cap;              /* in hashes */
};

struct disk_worker {
	struct disk_pool *pool;
	pthread_t thread;
	struct disk_job *current;       /* under pool->lock; the loop marks its task as running */
};

struct disk_pool {
	struct event_base *base;
	struct event *wake;             /* activated by workers: jobs started or finished */
	int nthreads;
	struct disk_worker *workers;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Hash checks wait apart from the rest, so a download's writes and a seed's reads never
	 * queue behind the pieces of every torrent checking at once (disk_pool_pick_locked). */
	struct disk_queue jobs;                     /* waiting for a worker */
	struct disk_queue checks;                   /* DISK_OP_HASH_PIECE waiting for a worker */
	size_t running;                             /* jobs workers are doing */
	size_t running_checks;                      /* of which hash checks */
	bool took_check;                            /* the last job a worker took was one */
	struct disk_job *done_head, *done_tail;     /* waiting for the loop */
	uint64_t started_seq;                       /* jobs taken by workers so far */
	bool stopping;

	/* loop thread only */
	uint64_t refreshed_seq;
	uint64_t slices, slices_cut;    /* completion callbacks; those that left some for later */
	size_t pending_jobs;
	uint64_t pending_write_bytes;

	uint64_t hash_count;            /* atomic: workers add */
};

void
disk_sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
	unsigned int outlen = 20;
	if (EVP_Digest(data, len, out, &outlen, EVP_sha1(), NULL) != 1) {
		/* Only a broken OpenSSL gets here; a wrong hash is safer than a guessed one. */
		log_error("SHA-1 failed in OpenSSL (EVP_Digest)");
		memset(out, 0, 20);
	}
}

static const char *
disk_op_verb(enum disk_op op)
{
	switch (op) {
	case DISK_OP_WRITE_PIECE: return "write";
	case DISK_OP_READ: return "read";
	case DISK_OP_HASH_PIECE: return "hash check";
	case DISK_OP_DELETE: return "delete";
	case DISK_OP_FREE_SPACE: return "free space";
	case DISK_OP_PROBE: return "probe";
	case DISK_OP_CALL: return "call";
	case DISK_OP_HASH_PART: return "hash";
	}
	return "?";
}

static void
disk_scratch_free(struct disk_scratch *sc)
{
	free(sc->buf);
	EVP_MD_CTX_free(sc->md);
	merkle_hasher_free(sc->mh);
	free(sc->leaves);
	memset(sc, 0, sizeof *sc);
}

void
disk_job_expect(struct disk_job *job, const struct metainfo *mi, uint32_t piece)
{
	job->skip_v1 = !mi->has_v1;
	if (mi->has_v1)
		memcpy(job->expected, mi->piece_hashes + 20 * (size_t)piece, 20);
	const uint8_t *v2 = metainfo_piece_hash_v2(mi, piece);
	job->check_v2 = v2 != NULL && metainfo_piece_v2_span(mi, piece, &job->v2_len,
	    &job->v2_width);
	if (job->check_v2)
		memcpy(job->expected_v2, v2, 32);
}

/* Room for the leaf hashes of a v2 piece (the width bounds their count). */
static void
disk_scratch_leaves(struct disk_scratch *sc, uint64_t width)
{
	if (sc->mh == NULL)
		sc->mh = merkle_hasher_new();
	if (sc->leaves_cap < width) {
		free(sc->leaves);
		sc->leaves = xcalloc((size_t)width, MERKLE_HASH);
		sc->leaves_cap = (size_t)width;
	}
}

/* Leaf hashes of data that starts at byte at of the piece (a multiple of 16 KiB). */
static void
disk_hash_leaves(struct disk_scratch *sc, const struct disk_job *job, uint32_t at,
    const uint8_t *data, uint32_t n)
{
	for (uint32_t off = 0; off < n && at + off < job->v2_len; off += MERKLE_BLOCK) {
		uint32_t len = DP_MIN(DP_MIN(MERKLE_BLOCK, n - off), job->v2_len - (at + off));
		merkle_sha256(sc->mh, data + off, len,
		    sc->leaves + (size_t)(at + off) / MERKLE_BLOCK * MERKLE_HASH);
	}
}

/* The leaves hashed so far, up to the piece's root, compared with what the torrent says. */
static bool
disk_v2_matches(struct disk_scratch *sc, const struct disk_job *job)
{
	uint8_t root[MERKLE_HASH];
	uint64_t n = ((uint64_t)job->v2_len + MERKLE_BLOCK - 1) / MERKLE_BLOCK;
	merkle_root(sc->mh, sc->leaves, n, job->v2_width, 0, sc->leaves, root);
	return memcmp(root, job->expected_v2, MERKLE_HASH) == 0;
}

struct disk_piece_hash {
	/* what it was made for: a job expecting other hashes (a v2 piece's root learnt since)
	 * hashes the whole piece instead */
	bool v1, v2;
	uint32_t v2_len;
	uint64_t v2_width;
	EVP_MD_CTX *md;                 /* SHA-1 so far (v1) */
	struct merkle_hasher *mh;       /* v2: the piece's leaves, v2_width of them */
	uint8_t *leaves;
	uint32_t done;                  /* bytes hashed from the piece's start */
};

struct disk_piece_hash *
disk_piece_hash_new(const struct disk_job *job)
{
	struct disk_piece_hash *ph = xcalloc(1, sizeof *ph);
	ph->v1 = !job->skip_v1;
	/* Out of bounds (disk_piece_ok refuses such a piece): no leaves kept. */
	ph->v2 = job->check_v2 && job->v2_len <= job->length && job->v2_width <= (1u << 24);
	ph->v2_len = job->v2_len;
	ph->v2_width = job->v2_width;
	if (ph->v1 && ((ph->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ph->md, EVP_sha1(), NULL) != 1)) {
		disk_piece_hash_free(ph);
		return NULL;
	}
	if (ph->v2) {
		ph->mh = merkle_hasher_new();
		ph->leaves = xcalloc((size_t)ph->v2_width, MERKLE_HASH);
	}
	return ph;
}

void
disk_piece_hash_free(struct disk_piece_hash *ph)
{
	if (ph == NULL)
		return;
	EVP_MD_CTX_free(ph->md);
	merkle_hasher_free(ph->mh);
	free(ph->leaves);
	free(ph);
}

uint32_t
disk_piece_hash_done(const struct disk_piece_hash *ph)
{
	return ph->done;
}

/* Whether ph was made for the hashes job checks. */
static bool
disk_piece_hash_fits(const struct disk_piece_hash *ph, const struct disk_job *job)
{
	bool v2 = job->check_v2 && job->v2_len <= job->length && job->v2_width <= (1u << 24);
	return ph->v1 == !job->skip_v1 && ph->v2 == v2 &&
	    (!v2 || (ph->v2_len == job->v2_len && ph->v2_width == job->v2_width));
}

/* Worker: ph extended over job->buf up to byte to of the piece (leaves stay whole: it moves
 * by 16 KiB blocks, and to the piece's end last). */
static void
disk_piece_hash_update(struct disk_piece_hash *ph, const struct disk_job *job, uint32_t to)
{
	uint32_t from = ph->done;
	if (to <= from || to > job->length)
		return;
	if (ph->v1)
		EVP_DigestUpdate(ph->md, job->buf + from, to - from);
	for (uint32_t at = from; ph->v2 && at < to && at < ph->v2_len; at += MERKLE_BLOCK) {
		uint32_t len = DP_MIN(DP_MIN(MERKLE_BLOCK, to - at), ph->v2_len - at);
		merkle_sha256(ph->mh, job->buf + at, len,
		    ph->leaves + (size_t)(at / MERKLE_BLOCK) * MERKLE_HASH);
	}
	ph->done = to;
}

/* Worker: the rest of the piece hashed, then both hashes compared, as disk_piece_ok does. */
static bool
disk_piece_hash_check(struct disk_piece_hash *ph, const struct disk_job *job)
{
	disk_piece_hash_update(ph, job, job->length);
	if (ph->v1) {
		uint8_t digest[20];
		unsigned int outlen = 20;
		if (EVP_DigestFinal_ex(ph->md, digest, &outlen) != 1 ||
		    memcmp(digest, job->expected, 20) != 0)
			return false;
	}
	if (!job->check_v2)
		return ph->v1;
	if (!ph->v2)
		return false;
	uint8_t root[MERKLE_HASH];
	uint64_t n = ((uint64_t)ph->v2_len + MERKLE_BLOCK - 1) / MERKLE_BLOCK;
	merkle_root(ph->mh, ph->leaves, n, ph->v2_width, 0, ph->leaves, root);
	return memcmp(root, job->expected_v2, MERKLE_HASH) == 0;
}

/* WRITE_PIECE: the received piece against both of its hashes. */
static bool
disk_piece_ok(struct disk_scratch *sc, const struct disk_job *job)
{
	/* Hashed as it arrived: only the rest is hashed now. */
	if (job->ph != NULL && job->ph->done <= job->length && disk_piece_hash_fits(job->ph, job))
		return disk_piece_hash_check(job->ph, job);
	if (!job->skip_v1) {
		uint8_t digest[20];
		disk_sha1(job->buf, job->length, digest);
		if (memcmp(digest, job->expected, 20) != 0)
			return false;
	}
	if (!job->check_v2)
		return !job->skip_v1;     /* nothing to check it by: not accepted */
	if (job->v2_len > job->length || job->v2_width > (1u << 24))
		return false;
	disk_scratch_leaves(sc, job->v2_width);
	disk_hash_leaves(sc, job, 0, job->buf, job->v2_len);
	return disk_v2_matches(sc, job);
}

/* Reads [offset, offset+length) chunk by chunk and hashes it. Returns 0 or -errno. */
static int
disk_hash_from_disk(struct disk_job *job, struct disk_scratch *sc, uint8_t digest[20])
{
	if (sc->buf == NULL) {
		sc->buf = xmalloc(DISK_HASH_CHUNK);
		sc->len = DISK_HASH_CHUNK;
	}
	if (sc->md == NULL && (sc->md = EVP_MD_CTX_new()) == NULL) {
		snprintf(job->errmsg, sizeof job->errmsg, "hash piece %u: out of memory in OpenSSL",
		    job->piece);
		return -ENOMEM;
	}
	if (EVP_DigestInit_ex(sc->md, EVP_sha1(), NULL) != 1) {
		snprintf(job->errmsg, sizeof job->errmsg, "hash piece %u: SHA-1 init failed",
		    job->piece);
		return -EIO;
	}
	if (job->check_v2)
		disk_scratch_leaves(sc, job->v2_width);
	/* The chunks are whole leaves (DISK_HASH_CHUNK is a multiple of 16 KiB). */
	for (uint32_t done = 0; done < job->length;) {
		uint32_t n = DP_MIN(job->length - done, (uint32_t)sc->len);
		int rc = storage_read(job->storage, job->offset + done, sc->buf, n, job->errmsg,
		    sizeof job->errmsg);
		if (rc < 0)
			return rc;
		if (!job->skip_v1)
			EVP_DigestUpdate(sc->md, sc->buf, n);
		if (job->check_v2)
			disk_hash_leaves(sc, job, done, sc->buf, n);
		done += n;
	}
	unsigned int outlen = 20;
	EVP_DigestFinal_ex(sc->md, digest, &outlen);
	return 0;
}

/* Runs on a worker thread: touches only the job, its storage, and the worker's scratch. */
static void
disk_job_run(struct disk_pool *pool, struct disk_job *job, struct disk_scratch *sc)
{
	uint8_t digest[20];
	int rc;
	switch (job->op) {
	case DISK_OP_WRITE_PIECE:
		job->hash_ok = disk_piece_ok(sc, job);
		__atomic_add_fetch(&pool->hash_count, 1, __ATOMIC_RELAXED);
		if (!job->hash_ok)
			break;
		rc = storage_write(job->storage, job->offset, job->buf, job->length, job->errmsg,
		    sizeof job->errmsg);
		if (rc < 0)
			job->error = -rc;
		break;
	case DISK_OP_READ:
		if (job->want_refs) {
			rc = storage_open_refs(job->storage, job->offset, job->length, job->refs,
			    DISK_READ_REFS_MAX, &job->nrefs, job->errmsg, sizeof job->errmsg);
			if (rc == 0)
				break;
			if (rc != -E2BIG) {
				job->error = -rc;
				break;
			}
			job->errmsg[0] = '\0';
		}
		if (job->buf == NULL)
			job->buf = xmalloc(job->length);
		rc = storage_read(job->storage, job->offset, job->buf, job->length, job->errmsg,
		    sizeof job->errmsg);
		if (rc < 0)
			job->error = -rc;
		break;
	case DISK_OP_HASH_PIECE:
		storage_readahead(job->storage, job->offset + job->length,
		    (uint64_t)job->length * DISK_READAHEAD_PIECES);
		rc = disk_hash_from_disk(job, sc, digest);
		if (rc == -ENOENT || rc == -ENODATA) {
			/* Not downloaded yet: a normal outcome of checking, not an error. */
			job->hash_ok = false;
			break;
		}
		if (rc < 0) {
			job->error = -rc;
			break;
		}
		__atomic_add_fetch(&pool->hash_count, 1, __ATOMIC_RELAXED);
		job->hash_ok = (job->skip_v1 || memcmp(digest, job->expected, 20) == 0) &&
		    (job->check_v2 ? job->v2_len <= job->length && disk_v2_matches(sc, job) :
		    !job->skip_v1);
		break;
	case DISK_OP_DELETE:
		rc = storage_delete_files(job->storage, job->errmsg, sizeof job->errmsg);
		if (rc < 0)
			job->error = -rc;
		break;
	case DISK_OP_FREE_SPACE: {
		struct statvfs sv;
		if (statvfs(job->path, &sv) != 0) {
			job->error = errno;
			snprintf(job->errmsg, sizeof job->errmsg, "free space of %s: %s", job->path,
			    strerror(job->error));
			break;
		}
		job->free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
		job->total_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
		break;
	}
	case DISK_OP_PROBE:
		job->hash_ok = storage_has_data(job->storage);
		break;
	case DISK_OP_CALL:
		job->call(job);
		break;
	case DISK_OP_HASH_PART:
		if (job->ph != NULL)
			disk_piece_hash_update(job->ph, job, job->hash_to);
		break;
	}
}

static void
disk_queue_push(struct disk_queue *q, struct disk_job *job)
{
	job->next = NULL;
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	q->len++;
}

static struct disk_job *
disk_queue_pop(struct disk_queue *q)
{
	struct disk_job *job = q->head;
	if (job == NULL)
		return NULL;
	q->head = job->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->len--;
	job->next = NULL;
	return job;
}

/* The next job for a free worker. Other work goes first, but while it waits one hash check at
 * a time, queued before it, still runs, and a single worker alternates, so neither side starves
 * the other: a check keeps every worker busy only when nothing else waits. */
static struct disk_job *
disk_pool_pick_locked(struct disk_pool *pool)
{
	struct disk_queue *q = &pool->jobs;
	if (pool->checks.head != NULL && (pool->jobs.head == NULL ||
	    (pool->running_checks == 0 && !pool->took_check &&
	    pool->checks.head->queued_us < pool->jobs.head->queued_us)))
		q = &pool->checks;
	struct disk_job *job = disk_queue_pop(q);
	if (job != NULL) {
		pool->took_check = q == &pool->checks;
		if (pool->took_check)
			pool->running_checks++;
	}
	return job;
}

static void
disk_done_push_locked(struct disk_pool *pool, struct disk_job *job)
{
	job->next = NULL;
	if (pool->done_tail)
		pool->done_tail->next = job;
	else
		pool->done_head = job;
	pool->done_tail = job;
}

static void *
disk_worker_main(void *arg)
{
	struct disk_worker *w = arg;
	struct disk_pool *pool = w->pool;
	struct disk_scratch sc = { 0 };

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->jobs.head == NULL && pool->checks.head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		struct disk_job *job = disk_pool_pick_locked(pool);
		if (job == NULL)
			break;
		w->current = job;
		pool->running++;
		pool->started_seq++;
		pthread_mutex_unlock(&pool->lock);
		/* Lets the loop show the task as running rather than queued (a job that found a
		 * free worker says so from its submission: a wakeup per piece saved). */
		if (!job->shown_running)
			event_active(pool->wake, EV_READ, 0);

		disk_job_run(pool, job, &sc);

		pthread_mutex_lock(&pool->lock);
		w->current = NULL;
		pool->running--;
		if (job->op == DISK_OP_HASH_PIECE)
			pool->running_checks--;
		/* Completions already waiting have their wakeup coming: the loop takes the whole
		 * list when it runs, and whoever finds the list empty wakes it again. */
		bool wake = pool->done_head == NULL;
		disk_done_push_locked(pool, job);
		pthread_mutex_unlock(&pool->lock);
		if (wake)
			event_active(pool->wake, EV_READ, 0);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	disk_scratch_free(&sc);
	return NULL;
}

static void
disk_task_mark_running(struct disk_job *job)
{
	char size[32];
	dp_format_size(job->length, size, sizeof size);
	switch (job->op) {
	case DISK_OP_WRITE_PIECE:
		task_wait(job->task, DP_TASK_DISK_WAIT, "writing piece %u, %s", job->piece, size);
		break;
	case DISK_OP_READ:
		task_wait(job->task, DP_TASK_DISK_WAIT, "reading piece %u, %s", job->piece, size);
		break;
	case DISK_OP_HASH_PIECE:
		task_wait(job->task, DP_TASK_DISK_WAIT, "reading and hashing piece %u, %s",
		    job->piece, size);
		break;
	case DISK_OP_DELETE:
		task_wait(job->task, DP_TASK_DISK_WAIT, "deleting the torrent's files");
		break;
	case DISK_OP_FREE_SPACE:
		task_wait(job->task, DP_TASK_DISK_WAIT, "asking the filesystem for free space");
		break;
	case DISK_OP_PROBE:
		task_wait(job->task, DP_TASK_DISK_WAIT, "looking for existing data");
		break;
	case DISK_OP_CALL:
		task_wait(job->task, DP_TASK_DISK_WAIT, "%s", job->what);
		break;
	case DISK_OP_HASH_PART:
		task_wait(job->task, DP_TASK_DISK_WAIT, "hashing piece %u as it arrives, up to %u",
		    job->piece, job->hash_to);
		break;
	}
}

/* Whether the job holds a downloaded piece's buffer (job->length bytes) until it completes: a
 * write, or a hash of a piece's prefix, which a finished piece's write waits for. Both count
 * in the backpressure bound: with writes alone, a 1 GiB download on loopback held up to 210 MiB
 * of finished pieces behind their queued hash steps under a 64 MiB bound. */
static bool
disk_job_holds_piece(const struct disk_job *job)
{
	return job->op == DISK_OP_WRITE_PIECE || job->op == DISK_OP_HASH_PART;
}

/* Loop thread: hands one finished job to its submitter and closes its task. */
static void
disk_job_complete(struct disk_pool *pool, struct disk_job *job)
{
	struct dp_task *t = job->task;
	bool failed = job->error != 0;
	char msg[sizeof job->errmsg + 64];
	char size[32];
	uint64_t in = 0, out = 0;

	pool->pending_jobs--;
	if (disk_job_holds_piece(job))
		pool->pending_write_bytes -= job->length;

	dp_format_size(job->length, size, sizeof size);
	if (failed) {
		snprintf(msg, sizeof msg, "%s", job->errmsg[0] ? job->errmsg : strerror(job->error));
	} else {
		switch (job->op) {
		case DISK_OP_WRITE_PIECE:
			if (job->hash_ok) {
				snprintf(msg, sizeof msg, "piece %u written, %s", job->piece, size);
				out = job->length;
			} else {
				snprintf(msg, sizeof msg, "piece %u hash mismatch: not written",
				    job->piece);
			}
			break;
		case DISK_OP_READ:
			if (job->nrefs > 0) {
				snprintf(msg, sizeof msg, "piece %u opened for sending, %s", job->piece,
				    size);
				break;
			}
			snprintf(msg, sizeof msg, "piece %u read, %s", job->piece, size);
			in = job->length;
			break;
		case DISK_OP_HASH_PIECE:
			in = job->length;
			snprintf(msg, sizeof msg, "piece %u %s", job->piece,
			    job->hash_ok ? "verified" :
			    job->errmsg[0] ? "missing on disk" : "hash mismatch");
			break;
		case DISK_OP_DELETE:
			snprintf(msg, sizeof msg, "files deleted");
			break;
		case DISK_OP_FREE_SPACE:
			dp_format_size(job->free_bytes, size, sizeof size);
			snprintf(msg, sizeof msg, "%s free", size);
			break;
		case DISK_OP_PROBE:
			snprintf(msg, sizeof msg, "%s", job->hash_ok ? "existing data found" :
			    "no existing data");
			break;
		case DISK_OP_CALL:
			snprintf(msg, sizeof msg, "%s: done", job->what);
			break;
		case DISK_OP_HASH_PART:
			snprintf(msg, sizeof msg, "piece %u hashed up to %u", job->piece, job->hash_to);
			break;
		}
	}
	if (t != NULL && t->state == DP_TASK_QUEUED)
		disk_task_mark_running(job);

	/* The job's reference to its task moves to t: done() may free the job, and nothing below
	 * reads it. */
	job->task = NULL;
	task_cb_begin(t);
	task_progress(t, in, out);
	if (job->done != NULL)
		job->done(job, job->arg);
	if (failed)
		task_fail(t, "%s", msg);
	else
		task_done(t, "%s", msg);
	task_cb_end(t);
	task_release(&t);
}

/* Loop thread: marks jobs the workers took as running, then runs completions in order. */
static void
disk_pool_process(struct disk_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	for (int i = 0; i < pool->nthreads; i++) {
		struct disk_job *job = pool->workers[i].current;
		if (job != NULL && job->task != NULL && job->task->state == DP_TASK_QUEUED)
			disk_task_mark_running(job);
	}
	if (pool->refreshed_seq != pool->started_seq) {
		/* Checks wait behind the other jobs (roughly: one of them may go first). */
		size_t ahead = pool->running, k = 0;
		for (struct disk_job *j = pool->jobs.head; j != NULL && k < DISK_REFRESH_QUEUED;
		    j = j->next, ahead++, k++)
			if (!j->shown_running)
				task_wait(j->task, DP_TASK_QUEUED, "disk queue: %zu job%s ahead",
				    ahead, ahead == 1 ? "" : "s");
		ahead = pool->running + pool->jobs.len;
		for (struct disk_job *j = pool->checks.head; j != NULL && k < DISK_REFRESH_QUEUED;
		    j = j->next, ahead++, k++)
			if (!j->shown_running)
				task_wait(j->task, DP_TASK_QUEUED, "disk queue: %zu job%s ahead",
				    ahead, ahead == 1 ? "" : "s");
		pool->refreshed_seq = pool->started_seq;
	}
	struct disk_job *done = pool->done_head;
	pool->done_head = pool->done_tail = NULL;
	pthread_mutex_unlock(&pool->lock);

	/* A slice at a time: thousands of completions (a session's probes) must not keep the
	 * loop from signals, timers and the RPC. The rest go back to the front, in order. */
	uint64_t start = dp_now_us();
	size_t n = 0;
	while (done != NULL && (n < DISK_SLICE_MIN || dp_now_us() - start < DISK_SLICE_US)) {
		struct disk_job *next = done->next;
		done->next = NULL;
		disk_job_complete(pool, done);
		done = next;
		n++;
	}
	if (done != NULL) {
		struct disk_job *last = done;
		while (last->next != NULL)
			last = last->next;
		pthread_mutex_lock(&pool->lock);
		last->next = pool->done_head;
		if (pool->done_head == NULL)
			pool->done_tail = last;
		pool->done_head = done;
		pthread_mutex_unlock(&pool->lock);
		event_active(pool->wake, EV_READ, 0);
	}
	pool->slices++;
	if (done != NULL)
		pool->slices_cut++;
}

void
disk_pool_slice_counts(const struct disk_pool *pool, uint64_t *slices, uint64_t *cut)
{
	*slices = pool->slices;
	*cut = pool->slices_cut;
}

static void
disk_pool_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	disk_pool_process(arg);
}

struct disk_pool *
disk_pool_new(struct event_base *base, int threads)
{
	struct disk_pool *pool = xcalloc(1, sizeof *pool);
	sigset_t all, old;
	if (threads < 1)
		threads = 1;
	if (threads > DISK_MAX_THREADS)
		threads = DISK_MAX_THREADS;
	pool->base = base;
	pool->wake = event_new(base, -1, 0, disk_pool_wake_cb, pool);
	if (pool->wake == NULL) {
		log_error("disk pool: cannot create its completion event");
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->workers = xcalloc((size_t)threads, sizeof *pool->workers);

	/* Signals belong to the loop thread (libevent signal events), never to a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < threads; i++) {
		pool->workers[i].pool = pool;
		int rc = pthread_create(&pool->workers[i].thread, NULL, disk_worker_main,
		    &pool->workers[i]);
		if (rc != 0) {
			log_error("disk pool: cannot start worker thread %d: %s", i + 1, strerror(rc));
			break;
		}
		pool->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pool->nthreads == 0) {
		pthread_mutex_destroy(&pool->lock);
		pthread_cond_destroy(&pool->cond);
		event_free(pool->wake);
		free(pool->workers);
		free(pool);
		return NULL;
	}
	return pool;
}

void
disk_pool_submit(struct disk_pool *pool, struct disk_job *job)
{
	char size[32];
	job->error = 0;
	job->errmsg[0] = '\0';
	job->hash_ok = false;
	job->nrefs = 0;
	job->free_bytes = 0;
	job->total_bytes = 0;
	if (job->op == DISK_OP_CALL && job->what == NULL)
		job->what = "filesystem work";
	job->queued_us = dp_now_us();
	job->shown_running = false;
	job->next = NULL;
	dp_format_size(job->length, size, sizeof size);
	if (job->op == DISK_OP_FREE_SPACE)
		job->task = task_new(DP_TASK_KIND_DISK, job->torrent_id, "disk free space %s",
		    job->path);
	else if (job->op == DISK_OP_CALL)
		job->task = task_new(DP_TASK_KIND_DISK, job->torrent_id, "disk %s", job->what);
	else if (job->op == DISK_OP_DELETE || job->op == DISK_OP_PROBE)
		job->task = task_new(DP_TASK_KIND_DISK, job->torrent_id, "disk %s torrent %d",
		    disk_op_verb(job->op), job->torrent_id);
	else
		job->task = task_new(job->op == DISK_OP_HASH_PIECE || job->op == DISK_OP_HASH_PART ?
		    DP_TASK_KIND_HASH : DP_TASK_KIND_DISK, job->torrent_id, "disk %s piece %u torrent %d",
		    disk_op_verb(job->op), job->piece, job->torrent_id);

	job->task_id = job->task->id;
	pool->pending_jobs++;
	if (disk_job_holds_piece(job))
		pool->pending_write_bytes += job->length;

	pthread_mutex_lock(&pool->lock);
	if (pool->stopping) {
		/* A completion run by disk_pool_free submitted more work: the workers are gone,
		 * so it runs here and completes with the rest of the drain. */
		struct disk_scratch sc = { 0 };
		pthread_mutex_unlock(&pool->lock);
		task_wait(job->task, DP_TASK_DISK_WAIT, "%s piece %u, %s (pool shutting down)",
		    disk_op_verb(job->op), job->piece, size);
		disk_job_run(pool, job, &sc);
		disk_scratch_free(&sc);
		pthread_mutex_lock(&pool->lock);
		disk_done_push_locked(pool, job);
		pthread_mutex_unlock(&pool->lock);
		return;
	}
	/* Jobs in progress are ahead too: a free worker would have taken this one at once. */
	bool check = job->op == DISK_OP_HASH_PIECE;
	size_t ahead = pool->jobs.len + pool->running + (check ? pool->checks.len : 0);
	/* More free workers than jobs waiting (this one included): every waiting job is taken
	 * now, whatever the order they are picked in. */
	job->shown_running = pool->jobs.len + pool->checks.len <
	    (size_t)pool->nthreads - pool->running;
	bool running = job->shown_running;
	disk_queue_push(check ? &pool->checks : &pool->jobs, job);
	pthread_mutex_unlock(&pool->lock);
	/* After the unlock: a worker woken under the lock ran on the other core into the lock
	 * still held and slept on it again (strace of a seeder: two more futex calls and a switch
	 * per piece). The pool is freed only by this thread, so it is still there. */
	pthread_cond_signal(&pool->cond);
	if (running)
		disk_task_mark_running(job);
	else
		task_wait(job->task, DP_TASK_QUEUED, "disk queue: %zu job%s ahead", ahead,
		    ahead == 1 ? "" : "s");
}

void
disk_pool_free(struct disk_pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->nthreads; i++) {
		int rc = pthread_join(pool->workers[i].thread, NULL);
		if (rc != 0)
			log_error("disk pool: joining worker thread %d: %s", i + 1, strerror(rc));
	}
	/* Completions may submit more; those run inline and land on the done list. */
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		bool empty = pool->done_head == NULL;
		pthread_mutex_unlock(&pool->lock);
		if (empty)
			break;
		disk_pool_process(pool);
	}
	event_free(pool->wake);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	free(pool->workers);
	free(pool);
}

uint64_t
disk_pool_pending_write_bytes(const struct disk_pool *pool)
{
	return pool->pending_write_bytes;
}

size_t
disk_pool_pending_jobs(const struct disk_pool *pool)
{
	return pool->pending_jobs;
}

int
disk_pool_threads(const struct disk_pool *pool)
{
	return pool->nthreads;
}

uint64_t
disk_pool_hash_count(const struct disk_pool *pool)
{
	return __atomic_load_n(&pool->hash_count, __ATOMIC_RELAXED);
}
