/* utp_ledbat.h: LEDBAT congestion control (RFC 6817) for one uTP connection: base and current
 * one-way delay, the window driven toward a 100 ms queuing-delay target, slow start, halving on
 * congestion loss at most once a round trip (random loss told apart), one packet after a
 * timeout. Pure arithmetic, unit-tested. */
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
/* A loss is random (the path's, not congestion: no cut at all) when the queue it would come
 * from is absent, under a tenth of the target, and losses stay rare: under 3 % of the bytes
 * sent, averaged over about LEDBAT_LOSS_AVG packets. A congested bottleneck shows one or the
 * other: a drop-tail queue fills (delay) before it drops; a policer or a queue too short to
 * see drops at the rate the window overshoots by. Without this, 1 % random loss on a 100 ms
 * path held the window near 30 packets (0.33 MiB/s) on a path TCP (BBR) filled at 5 MiB/s;
 * TCP Veno and BBRv2 tell random loss apart the same two ways. Rates in 1/65536. */
#define LEDBAT_RANDOM_QUEUE_US (LEDBAT_TARGET_US / 10)
#define LEDBAT_RANDOM_RATE_MAX (65536u * 3 / 100)
#define LEDBAT_LOSS_AVG 256u
/* Slow start past this many packets of window grows half of it per round trip at most
 * (RFC 3742's max_ssthresh), not the whole window. */
#define LEDBAT_SS_LIMIT 100u

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
	uint64_t last_decrease_us;       /* the last cut or timeout (0: none yet) */
	uint32_t loss_rate;              /* lost share of the bytes sent lately, in 1/65536 */
	uint32_t losses, random_losses, timeouts;   /* counted for the task's reason */
	/* The window before the last timeout, while it may still prove spurious. */
	bool undo_valid, undo_slow_start;
	uint32_t undo_cwnd, undo_ssthresh;
	uint32_t spurious_timeouts;
};

void ledbat_init(struct ledbat *l, uint32_t mss, uint32_t max_cwnd, uint64_t now_us);
/* A delay sample: the peer's timestamp_difference (its clock minus ours, plus the trip). */
void ledbat_delay_sample(struct ledbat *l, uint32_t delay_us, uint64_t now_us);
/* Queuing delay now: current delay over the base (0 without samples). */
uint32_t ledbat_queuing_us(const struct ledbat *l);
/* bytes newly acknowledged; cwnd_limited: the window, not the application, held sending back
 * (a window nobody fills must not grow). */
void ledbat_on_ack(struct ledbat *l, uint32_t bytes, bool cwnd_limited);
/* lost_bytes were declared lost by one ACK (duplicate or selective ACKs past them, or packets
 * sent after them acked), the latest of them sent at sent_us: congestion shrinks the window
 * (see LEDBAT_LOSS_KEEP_*) once per episode: packets sent before the last cut (or timeout) were
 * sent by the window that cut already paid for, so their losses cut no more (at most once a
 * round trip, as RFC 6817 and libtorrent's loss_seq_nr; a time rule cut a burst 905 -> 633 ->
 * 444 -> 311 kB, once per rtt while its holes were resent), and count in the loss average no
 * more; a cut leaves the average at half the random bound. A random loss (LEDBAT_RANDOM_*)
 * leaves the window. Returns true when it counted as congestion. */
bool ledbat_on_loss(struct ledbat *l, uint32_t lost_bytes, uint64_t sent_us, uint64_t now_us);
/* The retransmission timer expired with lost_bytes in flight (again: the previous one did
 * too): one packet, slow start up to half the old window; for a first timeout that looks
 * random (LEDBAT_RANDOM_*, those bytes counted: a few packets of a window's tail lost, found by
 * the timer because too few followed them) up to the old window: early in a connection a tail
 * loss of 4 packets set the threshold to 3 kB, and the window then crept up 3 kB per round
 * trip for seconds. A whole large window unanswered lifts the loss rate past the bound for
 * that decision; the average keeps one packet of it. */
void ledbat_on_timeout(struct ledbat *l, uint32_t lost_bytes, bool again, uint64_t now_us);
/* The last timeout was spurious (a packet it declared lost was acknowledged without having been
 * resent: the ACKs were late, nothing was lost): the window before it comes back (Eifel,
 * RFC 3522). Only once per timeout; a cut since then or ledbat_timeout_genuine forgets it. */
bool ledbat_undo_timeout(struct ledbat *l);
/* A packet resent after the timeout was acknowledged first: the timeout was real. */
void ledbat_timeout_genuine(struct ledbat *l);
/* The packet size changed (path MTU): the window keeps its byte size within the bounds. */
void ledbat_set_mss(struct ledbat *l, uint32_t mss);

#endif
