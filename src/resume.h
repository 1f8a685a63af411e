/* resume.h: a torrent's resume file: the bencoded format (with a SHA-1 over its body), atomic
 * writing (temporary name, fsync, previous copy kept as .bak, rename, directory fsync; at exit
 * without the fsyncs, the pieces marked with the boot id), loading with the backup as fallback,
 * and a writer thread so the loop never waits for the disk. */
#ifndef DP_RESUME_H
#define DP_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define RESUME_VERSION 1
#define RESUME_MAX_FILE_SIZE (64u << 20)
#define RESUME_BOOT_ID_MAX 40          /* /proc/sys/kernel/random/boot_id: 36 characters */

struct event_base;
struct engine;
struct engine_task;
struct resume_writer;

struct resume_file {
	uint64_t size;                 /* on disk when the pieces were synced; 0 = missing */
	int64_t mtime_ns;              /* 0 = missing */
	uint8_t priority;              /* enum engine_prio, and the level a skipped file keeps
	                                  times 4 (engine_policy.h's ENGINE_POLICY_LEVEL) */
};

struct resume {
	uint8_t info_hash[20];
	uint32_t piece_count;
	uint8_t *pieces;               /* bitfield in wire order, bitfield_bytes(piece_count) */
	size_t file_count;
	struct resume_file *files;
	uint64_t uploaded, downloaded; /* payload totals over every session */
	int64_t added_date, completed_date;
	int64_t seeding_s;             /* seconds spent seeding, for the seed time limit */
	int64_t downloading_s;         /* seconds spent downloading (optional in the file) */
	char *save_path;
	bool running;                  /* the user's wish: started (running, queued) or stopped */
	/* Its data was never looked at (saved before its first check ended, or during a
	 * recheck): no piece is claimed and the next start checks the data (optional: 0) */
	bool unchecked;
	/* Written at exit without a sync (issue 19): the claimed pieces may still be in the page
	 * cache only. boot_id ("" when it could not be read) is the boot that wrote them: in the
	 * same boot they are trusted, after a reboot they are checked again (optional: false) */
	bool unsynced;
	char boot_id[RESUME_BOOT_ID_MAX];
	bool sequential;
	uint64_t down_limit, up_limit; /* bytes/s, 0 = unlimited */
	int64_t max_peers, upload_slots;   /* 0 = the global value */
	int64_t seed_ratio_milli;      /* -1 = the global limit, 0 = none, else ratio * 1000 */
	int64_t seed_time_s;           /* -1 = the global limit, 0 = none */
	int64_t seed_idle_mode;        /* enum engine_idle_mode (optional in the file: 0) */
	int64_t seed_idle_limit;       /* minutes (optional: -1, the session's at load) */
	/* torrent-rename-path's names (optional): the torrent's name, then each file's path, '/'
	 * separated (file_count + 1 of them); NULL: the metainfo's */
	char **names;
	int64_t queue_pos;
	char *error;                   /* the error state's message, NULL when none */
	char *labels;                  /* joined by ',', NULL when none */
	char *trackers;                /* the user's tracker list (trackerList text), NULL: the
	                                  metainfo's */
	char *peers;                   /* the magnet's x.pe peers, "ADDR:PORT" lines; NULL: none */
};

void resume_init(struct resume *r);
void resume_clear(struct resume *r);

/* Canonical bencoding: d 4:body d...e 4:sha1 20:... 7:version i1e e. */
void resume_encode(const struct resume *r, struct dp_buf *out);
/* Strict: every key present with the right type and range, the SHA-1 matching, the lengths
 * consistent. Returns 0, or -1 with a one-line reason in err. */
int resume_decode(const uint8_t *buf, size_t len, struct resume *out, char *err,
    size_t errlen);

/* What a resume file's claimed pieces are worth in this boot. */
enum resume_trust {
	RESUME_TRUST_SYNCED,           /* made durable before the file said so */
	RESUME_TRUST_THIS_BOOT,        /* not synced, but written in this boot: in the page cache
	                                  or on the device; trusted, to be synced by the next save */
	RESUME_TRUST_OTHER_BOOT,       /* not synced, and a reboot since (or no boot id to tell):
	                                  the pieces may be lost, they are checked again */
};
enum resume_trust resume_trust(const struct resume *r);
/* This boot's id into out (cached; any thread); false when it can't be read. */
bool resume_boot_id(char out[RESUME_BOOT_ID_MAX]);
/* Tests: the boot id resume_boot_id gives from now on ("" = unreadable); NULL: the system's. */
void resume_boot_id_set_for_tests(const char *id);
/* Marks r as written without a sync in this boot (the shutdown's saves). */
void resume_mark_unsynced(struct resume *r);

/* Writes a session file atomically, keeping the previous copy as .bak (dp_write_file_atomic).
 * Returns 0, or -1 with err naming the file and the call. Any thread. */
int resume_write_file(const char *path, const uint8_t *data, size_t len, char *err,
    size_t errlen);
/*
 * Loads path, or path.bak when path is missing or unusable; the reason for each file refused is
 * written to why[] (one line each, why may be NULL). A file whose info-hash, piece count or
 * file count differs from the expected values counts as unusable. Returns 0 (used_backup says
 * which) or -1 when neither is usable.
 */
int resume_load(const char *path, const uint8_t info_hash[20], uint32_t piece_count,
    size_t file_count, struct resume *out, bool *used_backup, char *why, size_t whylen);

/*
 * The writer thread. A job first fsyncs each of the torrent's files that exists (when sync is
 * set: the pieces the resume file claims are made durable before it says so), records their
 * size and mtime in resume.files, then encodes and writes the file atomically. Jobs that queue
 * up while the thread is busy are written together: one syncfs of each filesystem involved
 * (the claimed data and the new copies) before any copy takes its name, one fsync of each
 * folder after. done() runs on the loop thread, once the file is durable.
 */
struct resume_job {
	char *path;                    /* the resume file */
	char **file_paths;             /* resume.file_count entries; NULL for pad files */
	bool sync;                     /* fsync the files first (the bitfield changed) */
	bool batch;                    /* at exit: written without any fsync; the pieces a sync
	                                * job claims are marked unsynced with the boot id */
	struct resume resume;
	uint8_t *raw;                  /* when set: written as is instead of the resume */
	size_t raw_len;
	void (*work)(struct resume_job *job);   /* when set: run instead of any of the above */
	void *ctx;                     /* for work() and done(); the submitter frees it */
	int tag;                       /* the submitter's (a torrent id) */
	int error;                     /* results: 0 or an errno value */
	size_t batched;                /* result: how many jobs the thread wrote together */
	char errmsg[512];
	void (*done)(struct resume_job *job, void *arg);
	void *arg;
	/* For its DISK task: what the job does ("writing resume data for NAME"; "writing a session
	 * file" when empty), and the step the writer thread is in, shown after it ("fsync"). */
	char label[128];
	const char *phase;             /* a string literal; set with resume_job_set_phase */
	struct engine_task *task;      /* the writer's (loop thread only) */
	const char *shown_phase;       /* the writer's (loop thread only) */
	bool shown_running;            /* the writer's: its task left the queue's wait */
	struct resume_writer *writer;  /* set by resume_writer_submit */
	struct resume_job *next;
};
struct resume_writer;
/* A writer thread for one session directory; its jobs show as DISK tasks in e's registry (e may
 * be NULL in tests: every engine shares the process's registry). */
struct resume_writer *resume_writer_new(struct engine *e, struct event_base *base, char *err,
    size_t errlen);
void resume_writer_submit(struct resume_writer *w, struct resume_job *job);
size_t resume_writer_pending(const struct resume_writer *w);
/* Runs queued jobs to the end on the calling thread's behalf (waits), with their done(). */
void resume_writer_drain(struct resume_writer *w);
/* From now on the jobs the thread takes are batch jobs (job->batch): at shutdown, thousands of
 * queued writes cost no fsync at all (issue 19: any fsync makes the device flush everything). */
void resume_writer_batch(struct resume_writer *w);
void resume_writer_free(struct resume_writer *w);
void resume_job_free(struct resume_job *job);
/* The job's work, exposed for the writer's shutdown path and tests (any thread). */
void resume_job_run(struct resume_job *job);
/* resume_write_file on behalf of job (may be NULL): each step shows in its task, and a batch
 * job writes without fsyncs. */
int resume_write_file_job(struct resume_job *job, const char *path, const uint8_t *data,
    size_t len, char *err, size_t errlen);
/* The writer thread (or work()) enters a step; the loop shows it in the job's task reason, so
 * a stuck fsync is seen as a long DISK_WAIT naming it. phase must be a string literal. */
void resume_job_set_phase(struct resume_job *job, const char *phase);

#endif
