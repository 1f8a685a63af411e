/* bandwidth.c: sliding-window rate meters, token buckets and request-queue sizing. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "bandwidth.h"
#include "util.h"

void
bw_meter_init(struct bw_meter *m)
{
	memset(m, 0, sizeof *m);
}

/* Moves the window forward to now, zeroing the bins that were skipped. */
static void
bw_meter_advance(struct bw_meter *m, uint64_t now_ms)
{
	uint64_t bin = now_ms / BW_BIN_MS;
	if (bin <= m->cur_bin)
		return;
	if (bin - m->cur_bin >= BW_BINS) {
		memset(m->bins, 0, sizeof m->bins);
	} else {
		for (uint64_t b = m->cur_bin + 1; b <= bin; b++)
			m->bins[b % BW_BINS] = 0;
	}
	m->cur_bin = bin;
}

void
bw_meter_add(struct bw_meter *m, uint64_t bytes, uint64_t now_ms)
{
	if (m->start_ms == 0) {
		m->start_ms = now_ms ? now_ms : 1;
		m->cur_bin = now_ms / BW_BIN_MS;
	}
	bw_meter_advance(m, now_ms);
	m->bins[m->cur_bin % BW_BINS] += bytes;
	m->total += bytes;
}

uint64_t
bw_meter_rate(struct bw_meter *m, uint64_t now_ms)
{
	if (m->start_ms == 0)
		return 0;
	bw_meter_advance(m, now_ms);
	uint64_t sum = 0;
	for (unsigned i = 0; i < BW_BINS; i++)
		sum += m->bins[i];
	/* The window spans the full bins before the current one plus the current bin's part. */
	uint64_t span = (BW_BINS - 1) * BW_BIN_MS + now_ms % BW_BIN_MS;
	uint64_t life = now_ms >= m->start_ms ? now_ms - m->start_ms : 0;
	if (life < span)
		span = life;
	if (span < 1000)
		span = 1000;
	return sum * 1000 / span;
}

void
bw_bucket_init(struct bw_bucket *b, uint64_t rate, uint64_t now_ms)
{
	memset(b, 0, sizeof *b);
	bw_bucket_set_rate(b, rate, now_ms);
}

void
bw_bucket_set_rate(struct bw_bucket *b, uint64_t rate, uint64_t now_ms)
{
	b->rate = rate;
	/* A quarter second of burst keeps the flow smooth without large overshoots. */
	b->burst = rate / 4 > 16384 ? rate / 4 : 16384;
	if (b->tokens > (int64_t)b->burst)
		b->tokens = (int64_t)b->burst;
	b->last_ms = now_ms;
}

void
bw_bucket_refill(struct bw_bucket *b, uint64_t now_ms)
{
	if (b->rate == 0 || now_ms <= b->last_ms) {
		b->last_ms = DP_MAX(b->last_ms, now_ms);
		return;
	}
	uint64_t add = b->rate * (now_ms - b->last_ms) / 1000;
	if (add == 0)
		return;    /* keep last_ms so slow rates still accumulate */
	b->last_ms = now_ms;
	int64_t t = b->tokens + (int64_t)add;
	b->tokens = t > (int64_t)b->burst ? (int64_t)b->burst : t;
}

void
bw_bucket_consume(struct bw_bucket *b, uint64_t bytes)
{
	if (b->rate == 0)
		return;
	b->tokens -= (int64_t)bytes;
	/* Bound the debt so a huge read cannot stall the connection for long. */
	if (b->tokens < -(int64_t)(b->burst * 4))
		b->tokens = -(int64_t)(b->burst * 4);
}

bool
bw_bucket_open(const struct bw_bucket *b)
{
	return b->rate == 0 || b->tokens > 0;
}

uint64_t
bw_bucket_available(const struct bw_bucket *b)
{
	if (b->rate == 0)
		return UINT64_MAX;
	return b->tokens > 0 ? (uint64_t)b->tokens : 0;
}

uint32_t
bw_request_queue_size(uint64_t rate, uint32_t block, uint32_t min_q, uint32_t max_q)
{
	if (block == 0)
		block = 16384;
	uint64_t q = rate * 2 / block;
	if (q < min_q)
		q = min_q;
	if (q > max_q)
		q = max_q;
	return (uint32_t)q;
}
