/* utp_ledbat.c: LEDBAT window arithmetic. Delays are differences of two unsynchronised 32-bit
 * microsecond clocks, so they are compared modulo 2^32, never as absolute values. */
#include "config.h"

#include <string.h>

#include "utp_ledbat.h"

#define LEDBAT_MINUTE_US 60000000ull

static bool
ledbat_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static uint32_t
ledbat_min_cwnd(const struct ledbat *l)
{
	return LEDBAT_MIN_CWND * l->mss;
}

void
ledbat_init(struct ledbat *l, uint32_t mss, uint32_t max_cwnd, uint64_t now_us)
{
	memset(l, 0, sizeof *l);
	l->mss = mss;
	l->max_cwnd = max_cwnd;
	l->cwnd = ledbat_min_cwnd(l);
	l->ssthresh = max_cwnd;
	l->slow_start = true;
	l->base_minute_us = now_us;
}

void
ledbat_delay_sample(struct ledbat *l, uint32_t delay_us, uint64_t now_us)
{
	if (l->nbase == 0) {
		l->base[0] = delay_us;
		l->nbase = 1;
		l->base_minute_us = now_us;
	} else if (now_us - l->base_minute_us >= LEDBAT_MINUTE_US) {
		/* A new minute: the oldest bucket goes, so clock drift cannot pin the base. */
		if (l->nbase < LEDBAT_BASE_HISTORY)
			l->nbase++;
		memmove(l->base + 1, l->base, (l->nbase - 1) * sizeof l->base[0]);
		l->base[0] = delay_us;
		l->base_minute_us = now_us;
	} else if (ledbat_before(delay_us, l->base[0])) {
		l->base[0] = delay_us;
	}
	l->cur[l->icur] = delay_us;
	l->icur = (l->icur + 1) % LEDBAT_CURRENT_FILTER;
	if (l->ncur < LEDBAT_CURRENT_FILTER)
		l->ncur++;
}

uint32_t
ledbat_queuing_us(const struct ledbat *l)
{
	if (l->nbase == 0 || l->ncur == 0)
		return 0;
	uint32_t base = l->base[0], cur = l->cur[0];
	for (uint32_t i = 1; i < l->nbase; i++)
		if (ledbat_before(l->base[i], base))
			base = l->base[i];
	for (uint32_t i = 1; i < l->ncur; i++)
		if (ledbat_before(l->cur[i], cur))
			cur = l->cur[i];
	return ledbat_before(cur, base) ? 0 : cur - base;
}

/* The loss rate's moving average: bytes delivered (lost false) or lost move it toward 0 or 1
 * by their share of LEDBAT_LOSS_AVG packets. */
static void
ledbat_loss_rate_add(struct ledbat *l, uint32_t bytes, bool lost)
{
	uint64_t span = (uint64_t)LEDBAT_LOSS_AVG * l->mss;
	uint64_t step = bytes >= span ? 65536u : (uint64_t)bytes * 65536u / span;
	uint64_t toward = lost ? 65536u - l->loss_rate : l->loss_rate;
	uint32_t d = (uint32_t)(toward * step / 65536u);
	if (lost)
		l->loss_rate += d;
	else
		l->loss_rate -= d;
}

void
ledbat_on_ack(struct ledbat *l, uint32_t bytes, bool cwnd_limited)
{
	ledbat_loss_rate_add(l, bytes, false);
	uint32_t q = ledbat_queuing_us(l);
	if (l->slow_start) {
		/* Out of slow start once the queue builds toward the target or the threshold is met. */
		if (q > LEDBAT_TARGET_US / 2 || l->cwnd >= l->ssthresh) {
			l->slow_start = false;
			l->ssthresh = l->cwnd;
		} else if (cwnd_limited) {
			/* Limited slow start (RFC 3742) past LEDBAT_SS_LIMIT packets: random losses no
			 * longer end slow start, so only a queue or a burst of drops does, and a window
			 * doubled from 700 to 1400 packets lost nearly all of a round at once (then
			 * cut after cut down to 40 kB). */
			uint64_t limit = (uint64_t)LEDBAT_SS_LIMIT * l->mss;
			uint64_t add = bytes;
			if (l->cwnd > limit)
				add = (uint64_t)bytes * (limit / 2) / l->cwnd;
			l->cwnd += (uint32_t)add;     /* at most bytes: no overflow past max_cwnd */
		}
	} else {
		int64_t off = (int64_t)LEDBAT_TARGET_US - (int64_t)q;
		if (off < -(int64_t)LEDBAT_TARGET_US)
			off = -(int64_t)LEDBAT_TARGET_US;
		/* RFC 6817: cwnd += GAIN * off_target * bytes_acked * MSS / (TARGET * cwnd), with
		 * GAIN * MSS = LEDBAT_GAIN_BYTES */
		int64_t delta = (int64_t)LEDBAT_GAIN_BYTES * off * (int64_t)bytes /
		    ((int64_t)LEDBAT_TARGET_US * l->cwnd);
		if (delta > 0 && !cwnd_limited)
			delta = 0;
		int64_t w = (int64_t)l->cwnd + delta;
		l->cwnd = w < 0 ? 0 : (uint32_t)(w > UINT32_MAX ? UINT32_MAX : w);
	}
	if (l->cwnd > l->max_cwnd)
		l->cwnd = l->max_cwnd;
	if (l->cwnd < ledbat_min_cwnd(l))
		l->cwnd = ledbat_min_cwnd(l);
}

bool
ledbat_on_loss(struct ledbat *l, uint32_t lost_bytes, uint64_t sent_us, uint64_t now_us)
{
	/* Sent before the last cut (or timeout): the episode that cut answered, counted once. */
	bool answered = l->last_decrease_us != 0 && sent_us < l->last_decrease_us;
	if (!answered)
		ledbat_loss_rate_add(l, lost_bytes, true);
	uint32_t q = ledbat_queuing_us(l);
	if (q < LEDBAT_RANDOM_QUEUE_US && l->loss_rate < LEDBAT_RANDOM_RATE_MAX) {
		l->random_losses++;
		return false;
	}
	if (answered)
		return true;
	l->last_decrease_us = now_us;
	l->undo_valid = false;
	l->losses++;
	bool queued = q >= LEDBAT_TARGET_US / 4;
	l->cwnd = (uint32_t)((uint64_t)l->cwnd *
	    (queued ? LEDBAT_LOSS_KEEP_QUEUED : LEDBAT_LOSS_KEEP_RANDOM) / 10);
	if (l->cwnd < ledbat_min_cwnd(l))
		l->cwnd = ledbat_min_cwnd(l);
	l->ssthresh = l->cwnd;
	l->slow_start = false;
	/* The cut answers the episode: the average starts again under the bound. Kept, a burst
	 * of a few hundred packets (a receiver's socket buffer overflowing: libtorrent under load
	 * dropped 204 datagrams in one run) held it past 3 % for thousands of packets, and at a
	 * window of 20-30 packets that is seconds in which every random loss cut again: 20 cuts,
	 * 281 kB down to 14 kB. Losses that go on lift it past the bound again within a few. */
	if (l->loss_rate > LEDBAT_RANDOM_RATE_MAX / 2)
		l->loss_rate = LEDBAT_RANDOM_RATE_MAX / 2;
	return true;
}

void
ledbat_on_timeout(struct ledbat *l, uint32_t lost_bytes, bool again, uint64_t now_us)
{
	uint32_t rate = l->loss_rate;
	ledbat_loss_rate_add(l, lost_bytes, true);
	bool random = !again && ledbat_queuing_us(l) < LEDBAT_RANDOM_QUEUE_US &&
	    l->loss_rate < LEDBAT_RANDOM_RATE_MAX;
	/* The whole flight judges this timeout; the average keeps one packet of it, what the
	 * timer proves lost. The rest is judged as its ACKs come: kept whole, a 1000-packet
	 * window (most of which had arrived) held the average at 30-90 % for a hundred round
	 * trips and every random loss after it cut (15 cuts, 424 kB down to 17 kB, seen at 1 %
	 * loss and 50 ms). */
	l->loss_rate = rate;
	ledbat_loss_rate_add(l, lost_bytes < l->mss ? lost_bytes : l->mss, true);
	l->undo_valid = !again;
	l->undo_cwnd = l->cwnd;
	l->undo_ssthresh = l->ssthresh;
	l->undo_slow_start = l->slow_start;
	l->timeouts++;
	l->last_decrease_us = now_us;
	if (random) {
		/* The path lost the tail of a window (nothing sent after it came back to tell):
		 * one packet as after any timeout, but slow start back to where the window was. */
		l->random_losses++;
		if (l->cwnd > l->ssthresh)
			l->ssthresh = l->cwnd;
	} else {
		l->ssthresh = l->cwnd / 2 > ledbat_min_cwnd(l) ? l->cwnd / 2 : ledbat_min_cwnd(l);
	}
	l->cwnd = l->mss;
	l->slow_start = true;
}

bool
ledbat_undo_timeout(struct ledbat *l)
{
	if (!l->undo_valid)
		return false;
	l->undo_valid = false;
	l->spurious_timeouts++;
	if (l->undo_cwnd > l->cwnd)
		l->cwnd = l->undo_cwnd;
	l->ssthresh = l->undo_ssthresh;
	l->slow_start = l->undo_slow_start;
	return true;
}

void
ledbat_timeout_genuine(struct ledbat *l)
{
	l->undo_valid = false;
}

void
ledbat_set_mss(struct ledbat *l, uint32_t mss)
{
	l->mss = mss;
	if (l->cwnd < ledbat_min_cwnd(l))
		l->cwnd = ledbat_min_cwnd(l);
}
