/* disk.h: the disk worker pool: writes, reads and SHA-1 on worker threads; completions are handed
 * back to the loop thread through event_active. Submit and completion run on the loop thread. */
#ifndef DP_ENGINE_INTERNAL
#error "disk.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DISK_H
#define DP_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

/* A READ with want_refs opens the range as this many file refs at most (one descriptor each);
 * a range over more files is read into buf as usual. */
#define DISK_READ_REFS_MAX 8

struct event_base;
struct metainfo;
struct storage;
struct dp_task;

enum disk_op {
	DISK_OP_WRITE_PIECE,   /* SHA-1 buf against expected; only if it matches, write it */
	DISK_OP_READ,          /* read [offset, offset+length) into buf (or open it: want_refs) */
	DISK_OP_HASH_PIECE,    /* read the piece from disk and compare with expected (checking) */
	DISK_OP_DELETE,        /* close and unlink the storage's files, prune its empty folders */
	DISK_OP_FREE_SPACE,    /* statvfs(path): bytes free for unprivileged users (no storage) */
	DISK_OP_PROBE,         /* hash_ok = any of the storage's files exists with data */
	DISK_OP_CALL,          /* call(job) on a worker: any blocking filesystem work (no storage) */
	DISK_OP_HASH_PART,     /* extend ph over buf up to hash_to (no storage touched) */
};

/* A piece hashed while its blocks arrive: HASH_PART jobs extend it over the piece's in-order
 * prefix, and the WRITE_PIECE job given it hashes only what is left before its check. One job
 * at a time may hold it; the submitter owns it and frees it. */
struct disk_piece_hash;

struct disk_job;
typedef void (*disk_done_fn)(struct disk_job *job, void *arg);

struct disk_job {
	/* filled by the submitter */
	enum disk_op op;
	struct storage *storage;
	int torrent_id;
	uint32_t piece;
	uint64_t offset;           /* in the torrent's byte stream */
	uint32_t length;
	uint8_t *buf;              /* WRITE: the piece; READ: allocated by the pool if NULL.
	                              The submitter owns and frees it after completion. */
	uint8_t expected[20];      /* SHA-1 of the piece (v1), unless skip_v1 */
	/* BEP 52 (check_v2): the merkle root over the piece's first v2_len bytes (16 KiB leaves,
	 * v2_width of them, zeros past the data) must be expected_v2; a hybrid checks both.
	 * disk_job_expect fills these and expected from the torrent's metainfo. */
	bool check_v2, skip_v1;
	uint8_t expected_v2[32];
	uint32_t v2_len;
	uint64_t v2_width;
	/* READ: open the range for sending straight from its files (refs) instead of reading it,
	 * when it spans at most DISK_READ_REFS_MAX files */
	bool want_refs;
	/* HASH_PART (required) and WRITE_PIECE (optional): the piece's hash so far, and for
	 * HASH_PART the byte of the piece to hash up to (a multiple of 16 KiB: whole v2 leaves) */
	struct disk_piece_hash *ph;
	uint32_t hash_to;
	const char *path;          /* FREE_SPACE: the directory (the submitter's until done) */
	/* CALL: runs on a worker thread and touches only what the job (or arg) owns; it reports
	 * failure in error and errmsg. what names the work for its task ("reading x.torrent"),
	 * the submitter's until done. */
	void (*call)(struct disk_job *job);
	const char *what;
	disk_done_fn done;
	void *arg;
	/* results, valid in done() */
	int error;                 /* 0 or an errno value */
	char errmsg[256];          /* names the file and the operation */
	bool hash_ok;
	/* READ with want_refs: nrefs > 0 when the range was opened (the submitter owns the
	 * descriptors), else it was read into buf */
	struct storage_file_ref refs[DISK_READ_REFS_MAX];
	size_t nrefs;
	uint64_t free_bytes;       /* FREE_SPACE */
	uint64_t total_bytes;      /* FREE_SPACE: the filesystem's size */
	/* owned by the pool: the job's task while it is queued or running (NULL once it completed,
	 * when the pool lets go of it); its id stays for looking it up (task_find) afterwards */
	struct dp_task *task;
	uint64_t task_id;
	uint64_t queued_us;
	/* a free worker was waiting when it was queued: its task said "running" at once, so the
	 * worker that takes it does not wake the loop to say so */
	bool shown_running;
	struct disk_job *next;
};

struct disk_pool *disk_pool_new(struct event_base *base, int threads);
/* Lets queued jobs finish, runs their completions, joins the threads. */
void disk_pool_free(struct disk_pool *pool);
/* Queues a job (registers a DISK or HASH task for it). A CALL job's task is named "disk "
 * followed by its what, and waits in DISK_WAIT with what as the reason while it runs. */
void disk_pool_submit(struct disk_pool *pool, struct disk_job *job);
/* Completion callbacks run so far, and how many of them stopped at their time budget with
 * completions left for the next (a test sees the slicing). */
void disk_pool_slice_counts(const struct disk_pool *pool, uint64_t *slices, uint64_t *cut);
/* Bytes of pieces held by WRITE and HASH_PART jobs queued or in progress (a finished piece
 * whose write waits for its hash step counts through the latter): the backpressure signal. */
uint64_t disk_pool_pending_write_bytes(const struct disk_pool *pool);
size_t disk_pool_pending_jobs(const struct disk_pool *pool);
int disk_pool_threads(const struct disk_pool *pool);
/* Number of SHA-1 computations done so far (tests count rehashing). */
uint64_t disk_pool_hash_count(const struct disk_pool *pool);

/* The hashes WRITE_PIECE and HASH_PIECE check piece against: SHA-1 (v1), merkle root (v2), or
 * both (hybrid); a v2 piece whose hash is not known yet is checked by SHA-1 alone when there is
 * one, else it can only fail. */
void disk_job_expect(struct disk_job *job, const struct metainfo *mi, uint32_t piece);

/* A fresh hash for the piece job expects (disk_job_expect filled it); NULL when OpenSSL has no
 * memory (the write then hashes the whole piece). */
struct disk_piece_hash *disk_piece_hash_new(const struct disk_job *job);
void disk_piece_hash_free(struct disk_piece_hash *ph);
/* Bytes of the piece hashed so far (not while a job holds ph). */
uint32_t disk_piece_hash_done(const struct disk_piece_hash *ph);

/* SHA-1 with OpenSSL EVP (any thread). */
void disk_sha1(const uint8_t *data, size_t len, uint8_t out[20]);

#endif
