/* bench_recheck.c: times a full hash check of a torrent's data through the disk worker pool,
 * keeping 2x threads jobs in flight as the engine does; prints KEY=value figures. With -w MS, a
 * no-op job (standing in for a download's write) is queued every MS ms during the check, and how
 * long it waited for a worker is printed: checks must not starve other work. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "disk.h"
#include "metainfo.h"
#include "storage.h"
#include "task.h"
#include "util.h"

struct bench {
	struct event_base *base;
	struct disk_pool *pool;
	struct storage *st;
	const struct metainfo *mi;
	uint32_t next_piece;
	uint32_t finished, ok, errors;
	struct disk_job probe;          /* -w: the job standing in for other work */
	bool probe_busy;
	uint32_t probes;
	uint64_t probe_sum_us, probe_max_us;
};

static void bench_submit(struct bench *b, struct disk_job *job);

static void
bench_done_cb(struct disk_job *job, void *arg)
{
	struct bench *b = arg;
	b->finished++;
	if (job->error != 0) {
		b->errors++;
		fprintf(stderr, "bench_recheck: piece %u: %s\n", job->piece, job->errmsg);
	} else if (job->hash_ok) {
		b->ok++;
	}
	if (b->next_piece < b->mi->piece_count)
		bench_submit(b, job);
	else if (b->finished == b->mi->piece_count)
		event_base_loopbreak(b->base);
}

static void
bench_submit(struct bench *b, struct disk_job *job)
{
	uint32_t p = b->next_piece++;
	memset(job, 0, sizeof *job);
	job->op = DISK_OP_HASH_PIECE;
	job->storage = b->st;
	job->torrent_id = 1;
	job->piece = p;
	job->offset = (uint64_t)p * b->mi->piece_length;
	job->length = (uint32_t)DP_MIN((uint64_t)b->mi->piece_length,
	    b->mi->total_size - job->offset);
	memcpy(job->expected, b->mi->piece_hashes + 20u * p, 20);
	job->done = bench_done_cb;
	job->arg = b;
	disk_pool_submit(b->pool, job);
}

/* Keeps the loop alive while only the pool's (never added) wake event is in play, and lets
 * the registry free finished tasks. */
static void
bench_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	uint64_t now = dp_now_us();
	task_health_tick(now, now);
}

static void
bench_probe_work(struct disk_job *job)
{
	(void)job;
}

static void
bench_probe_done_cb(struct disk_job *job, void *arg)
{
	struct bench *b = arg;
	uint64_t waited = dp_now_us() - job->queued_us;
	b->probe_busy = false;
	b->probes++;
	b->probe_sum_us += waited;
	b->probe_max_us = DP_MAX(b->probe_max_us, waited);
}

static void
bench_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	(void)fd;
	(void)what;
	if (b->probe_busy || b->finished == b->mi->piece_count)
		return;
	memset(&b->probe, 0, sizeof b->probe);
	b->probe.op = DISK_OP_CALL;
	b->probe.what = "bench probe";
	b->probe.call = bench_probe_work;
	b->probe.done = bench_probe_done_cb;
	b->probe.arg = b;
	b->probe_busy = true;
	disk_pool_submit(b->pool, &b->probe);
}

static double
bench_cpu_seconds(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
bench_usage(void)
{
	fprintf(stderr, "usage: bench_recheck [-t THREADS] [-q JOBS_IN_FLIGHT] [-w PROBE_MS] TORRENT "
	    "SAVE_DIR\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int threads = dp_cpu_count(), inflight = 0, probe_ms = 0, c;
	char err[256];
	while ((c = getopt(argc, argv, "t:q:w:")) != -1) {
		switch (c) {
		case 't': threads = atoi(optarg); break;
		case 'q': inflight = atoi(optarg); break;
		case 'w': probe_ms = atoi(optarg); break;
		default: bench_usage();
		}
	}
	if (argc - optind != 2 || threads < 1)
		bench_usage();
	if (inflight < 1)
		inflight = 2 * threads;

	struct metainfo *mi = metainfo_load(argv[optind], err, sizeof err);
	if (mi == NULL) {
		fprintf(stderr, "bench_recheck: %s\n", err);
		return 1;
	}
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "bench_recheck: libevent has no pthreads support\n");
		return 1;
	}
	struct bench b = { 0 };
	b.base = event_base_new();
	if (b.base == NULL) {
		fprintf(stderr, "bench_recheck: cannot create an event base\n");
		return 1;
	}
	b.mi = mi;
	b.st = storage_new(mi, argv[optind + 1], 64);
	b.pool = disk_pool_new(b.base, threads);
	if (b.pool == NULL) {
		fprintf(stderr, "bench_recheck: cannot start the disk pool\n");
		return 1;
	}
	struct event *tick = event_new(b.base, -1, EV_PERSIST, bench_tick_cb, NULL);
	struct timeval tv = { 1, 0 };
	event_add(tick, &tv);
	struct event *probe = event_new(b.base, -1, EV_PERSIST, bench_probe_cb, &b);
	struct timeval ptv = { probe_ms / 1000, (probe_ms % 1000) * 1000 };
	if (probe_ms > 0)
		event_add(probe, &ptv);

	struct disk_job *jobs = xcalloc((size_t)inflight, sizeof *jobs);
	double cpu0 = bench_cpu_seconds();
	uint64_t t0 = dp_now_us();
	for (int i = 0; i < inflight && b.next_piece < mi->piece_count; i++)
		bench_submit(&b, &jobs[i]);
	if (mi->piece_count > 0)
		event_base_dispatch(b.base);
	uint64_t wall_us = dp_now_us() - t0;
	double cpu = bench_cpu_seconds() - cpu0;
	double wall = wall_us / 1e6, mib = mi->total_size / 1048576.0;

	printf("pieces=%u ok=%u errors=%u piece_kib=%u threads=%d in_flight=%d hashes=%llu\n",
	    mi->piece_count, b.ok, b.errors, mi->piece_length / 1024, threads, inflight,
	    (unsigned long long)disk_pool_hash_count(b.pool));
	printf("wall_s=%.3f mib_s=%.1f cpu_s=%.3f\n", wall, wall > 0 ? mib / wall : 0.0, cpu);
	if (probe_ms > 0)
		printf("probes=%u probe_wait_avg_ms=%.2f probe_wait_max_ms=%.2f\n", b.probes,
		    b.probes > 0 ? b.probe_sum_us / 1e3 / b.probes : 0.0, b.probe_max_us / 1e3);

	disk_pool_free(b.pool);
	event_free(probe);
	event_free(tick);
	storage_free(b.st);
	event_base_free(b.base);
	task_registry_clear();
	free(jobs);
	int rc = b.ok == mi->piece_count ? 0 : 1;
	metainfo_free(mi);
	return rc;
}
