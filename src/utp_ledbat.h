/* utp_ledbat.h: LEDBAT congestion control (RFC 6817) for one uTP connection: base and current
 * one-way delay, the window driven toward a 100 ms queuing-delay target, slow start, halving on
 * loss at most once a round trip, one packet after a timeout. Pure arithmetic, unit-tested. */
#ifndef DP_ENGINE_INTERNAL
#error "utp_ledbat.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_UTP_LEDBAT_H
#define DP_UTP_LEDBAT_H

#include <stdbool.h>
#include <stdint.h>

#define LEDBAT_TARGET_US 100000u     /* RFC 6817 TARGET; BEP 29's CCONTROL_TARGET */
#define LEDBAT_BASE_HISTORY 10u      /* one-minute minima kept (RFC 6817 BASE_HISTORY) */
#define LEDBAT_CURRENT_FILTER 4u     /* current delay: the least of the last samples */
#define LEDBAT_MIN_CWND 2u           /* packets */
/* Window growth per round trip at zero queuing delay, in bytes: libutp's and libtorrent's
 * (MAX_CWND_INCREASE_BYTES_PER_RTT, gain_factor), two packets, where RFC 6817 allows one. */
#define LEDBAT_GAIN_BYTES 3000u
/* What a loss leaves of the window: half (BEP 29, RFC 6817) when our own queue is building (the
 * loss is congestion we cause); CUBIC's 0.7 when the queue is near empty (a loss on a path we do
 * not fill: the delay signal is what LEDBAT yields to, and halving at every random loss caps the
 * window at Reno's sqrt(1.5/p) packets). In tenths. */
#define LEDBAT_LOSS_KEEP_QUEUED 5u
#define LEDBAT_LOSS_KEEP_RANDOM 7u

struct ledbat {
	uint32_t cwnd;                   /* bytes allowed in flight */
	uint32_t ssthresh;
	uint32_t mss;
	uint32_t max_cwnd;
	bool slow_start;
	uint32_t base[LEDBAT_BASE_HISTORY];
	uint32_t nbase;
	uint64_t base_minute_us;         /* when the newest base bucket started */
	uint32_t cur[LEDBAT_CURRENT_FILTER];
	uint32_t ncur, icur;
	uint64_t last_decrease_us;
	uint32_t losses, timeouts;       /* counted for the task's reason */
};

void ledbat_init(struct ledbat *l, uint32_t mss, uint32_t max_cwnd, uint64_t now_us);
/* A delay sample: the peer's timestamp_difference (its clock minus ours, plus the trip). */
void ledbat_delay_sample(struct ledbat *l, uint32_t delay_us, uint64_t now_us);
/* Queuing delay now: current delay over the base (0 without samples). */
uint32_t ledbat_queuing_us(const struct ledbat *l);
/* bytes newly acknowledged; cwnd_limited: the window, not the application, held sending back
 * (a window nobody fills must not grow). */
void ledbat_on_ack(struct ledbat *l, uint32_t bytes, bool cwnd_limited);
/* A packet was lost (duplicate or selective ACKs past it, or packets sent after it acked):
 * shrink (see LEDBAT_LOSS_KEEP_*), once per rtt. */
void ledbat_on_loss(struct ledbat *l, uint64_t now_us, uint32_t rtt_us);
/* The retransmission timer expired: one packet, slow start up to half the old window. */
void ledbat_on_timeout(struct ledbat *l);
/* The packet size changed (path MTU): the window keeps its byte size within the bounds. */
void ledbat_set_mss(struct ledbat *l, uint32_t mss);

#endif
