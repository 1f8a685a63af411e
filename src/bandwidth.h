/* bandwidth.h: rate measurement over a sliding window and token buckets for rate limits.
 * Pure arithmetic on a caller-supplied clock, so the unit tests drive time themselves. */
#ifndef DP_ENGINE_INTERNAL
#error "bandwidth.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_BANDWIDTH_H
#define DP_BANDWIDTH_H

#include <stdbool.h>
#include <stdint.h>

#define BW_BIN_MS 250u            /* one bin covers this much time */
#define BW_BINS 16u               /* the window: 4 s */

/* Bytes per bin over the last BW_BINS bins; the current (partial) bin is counted too. */
struct bw_meter {
	uint64_t bins[BW_BINS];
	uint64_t cur_bin;             /* absolute bin number of bins[cur_bin % BW_BINS] */
	uint64_t start_ms;            /* first byte ever, so a young meter is not diluted */
	uint64_t total;
};

void bw_meter_init(struct bw_meter *m);
void bw_meter_add(struct bw_meter *m, uint64_t bytes, uint64_t now_ms);
/* Bytes per second over the window (or over the meter's life if shorter, at least 1 s). */
uint64_t bw_meter_rate(struct bw_meter *m, uint64_t now_ms);

/* A token bucket: rate bytes per second, holding at most burst bytes. rate 0 = unlimited. */
struct bw_bucket {
	uint64_t rate;
	uint64_t burst;
	int64_t tokens;               /* may go negative: a read takes what arrived */
	uint64_t last_ms;
};

void bw_bucket_init(struct bw_bucket *b, uint64_t rate, uint64_t now_ms);
void bw_bucket_set_rate(struct bw_bucket *b, uint64_t rate, uint64_t now_ms);
void bw_bucket_refill(struct bw_bucket *b, uint64_t now_ms);
void bw_bucket_consume(struct bw_bucket *b, uint64_t bytes);
/* True when traffic may flow now (unlimited, or tokens left). */
bool bw_bucket_open(const struct bw_bucket *b);
/* Bytes that may flow now (UINT64_MAX when unlimited, 0 when empty). */
uint64_t bw_bucket_available(const struct bw_bucket *b);

/* Request pipeline depth for a peer sending rate bytes/s: enough blocks for 2 s of data,
 * at least min_q (more on fast local links), at most max_q. */
uint32_t bw_request_queue_size(uint64_t rate, uint32_t block, uint32_t min_q, uint32_t max_q);

#endif
