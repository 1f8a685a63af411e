/* utp_conn.c: one uTP connection: SYN/STATE setup, sending within min(cwnd, peer window),
 * cumulative and selective ACKs, fast retransmit, timeouts with backoff, MTU probing, the
 * reorder buffer, FIN/RESET, and the bufferevent pair its user reads and writes. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "log.h"
#include "net.h"
#include "task.h"
#include "udp_socket.h"
#include "util.h"
#include "utp_private.h"

#define UTP_SEND_MASK (UTP_SEND_RING - 1u)
#define UTP_RECV_MASK (UTP_RECV_RING - 1u)
#define UTP_RTO_MIN_MS 500u           /* BEP 29 */
#define UTP_RTO_INITIAL_MS 1000u
#define UTP_RTO_MAX_MS 30000u
#define UTP_SYN_TRIES 3u              /* SYN at 0, 1 and 3 s; given up at 7 s */
#define UTP_MAX_TIMEOUTS 8u           /* consecutive, with backoff: about a minute */
#define UTP_CLOSE_LINGER_US (20ull * 1000000u)
#define UTP_DUP_ACKS 3u
#define UTP_RACK_SCAN 256u            /* oldest packets RACK looks at per ACK */
/* Packet sizes: start where every IPv6 path (and nearly every IPv4 one) carries a packet
 * (1280-byte IP packets), probe up to an Ethernet MTU (1500) in halves. */
#define UTP_PATH_MTU_SAFE 1280u
#define UTP_PATH_MTU_MAX 1500u
#define UTP_PROBE_STOP 16u            /* the search ends when floor and ceiling are this close */
#define UTP_REASON_MS 250u
/* Pacing: a window never leaves in one burst. At most this many packets back to back, the rest
 * at twice the window's rate (cwnd per round trip): a receiver on the default 208 KiB socket
 * buffer overflows on a 150 KiB burst, and libtorrent 2.0 then stops answering on that
 * connection altogether (seen on loopback: a dead stream until it reconnects). */
#define UTP_PACE_BURST 16u
#define UTP_PACE_TICK_US 1000u
/* Tail-loss probe (RFC 8985's TLP): packets out and no ACK that moves for two round trips, the
 * newest packet goes again; its ACK (a selective one past a lost tail) lets RACK find what is
 * lost. Before, the 500 ms timer found it and declared the whole window lost, 500-1000
 * packets at large windows, most of which had arrived: the loss rate then read 30-90 % and
 * every later loss cut the window. One packet out waits longer: libutp holds an ACK up to
 * 100 ms (DELAYED_ACK_TIME_THRESHOLD). */
#define UTP_TLP_MIN_US 10000u
#define UTP_TLP_DELACK_US 100000u

static void utp_conn_timer_cb(evutil_socket_t fd, short what, void *arg);

static void utp_conn_u_read_cb(struct bufferevent *bev, void *arg);
static void utp_conn_u_write_cb(struct bufferevent *bev, void *arg);
static void utp_conn_pace_cb(evutil_socket_t fd, short what, void *arg);

static struct bufferevent *
utp_conn_user(const struct utp_conn *c)
{
	return c->u != NULL ? bufferevent_pair_get_partner(c->u) : NULL;
}

static uint16_t
utp_conn_outstanding(const struct utp_conn *c)
{
	return (uint16_t)(c->seq_nr - c->acked - 1u);
}

/* Bytes the reader has not taken yet, ours and in the user's end. */
static uint32_t
utp_conn_buffered(const struct utp_conn *c)
{
	size_t n = evbuffer_get_length(bufferevent_get_output(c->u)) + c->reorder_bytes;
	struct bufferevent *user = utp_conn_user(c);
	if (user != NULL)
		n += evbuffer_get_length(bufferevent_get_input(user));
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static uint32_t
utp_conn_recv_window(struct utp_conn *c)
{
	uint32_t used = utp_conn_buffered(c);
	uint32_t wnd = used >= UTP_RECV_BUFFER ? 0 : UTP_RECV_BUFFER - used;
	if (wnd < UTP_RECV_BUFFER / 4)
		c->window_was_small = true;
	return wnd;
}

static void
utp_conn_update_task(struct utp_conn *c, uint64_t now_ms)
{
	c->reason_ms = now_ms;
	switch (c->state) {
	case UTP_SYN_SENT:
		task_wait(c->task, DP_TASK_CONNECT_WAIT, "SYN sent (%u of %u)", c->timeouts_in_row + 1,
		    UTP_SYN_TRIES);
		break;
	case UTP_CONNECTED:
		if (c->timeouts_in_row > 0)
			task_wait(c->task, DP_TASK_TIMER_WAIT,
			    "retransmission timeout %u in a row, next in %u ms", c->timeouts_in_row,
			    c->rto_ms);
		else if (c->cwnd_limited)
			task_wait(c->task, DP_TASK_WRITE_WAIT,
			    "window full: %u KiB in flight, cwnd %u KiB, peer window %u KiB, rtt %u ms, "
			    "queuing %u ms, packets %u B", c->in_flight / 1024, c->cc.cwnd / 1024,
			    c->peer_wnd / 1024, c->rtt_us / 1000, ledbat_queuing_us(&c->cc) / 1000,
			    c->mss);
		else
			task_wait(c->task, DP_TASK_READ_WAIT,
			    "cwnd %u KiB, rtt %u ms, queuing %u ms, packets %u B, %llu resent, "
			    "window cut %u times (%u losses random)", c->cc.cwnd / 1024, c->rtt_us / 1000,
			    ledbat_queuing_us(&c->cc) / 1000, c->mss, (unsigned long long)c->resent,
			    c->cc.losses, c->cc.random_losses);
		break;
	case UTP_CLOSING:
		task_wait(c->task, DP_TASK_WRITE_WAIT, "closing: %s", c->fin_sent ?
		    "FIN sent, waiting for its ACK" : "sending what is left, then FIN");
		break;
	case UTP_DEAD:
		break;
	}
}

struct utp_conn *
utp_conn_new(struct utp_engine *eng, struct udp_socket *sock, const struct sockaddr *sa,
    socklen_t len, bool incoming, uint16_t recv_id, struct bufferevent **user)
{
	struct bufferevent *pair[2];
	if (bufferevent_pair_new(eng->base, BEV_OPT_DEFER_CALLBACKS, pair) < 0)
		return NULL;
	struct utp_conn *c = xcalloc(1, sizeof *c);
	c->eng = eng;
	c->sock = sock;
	c->incoming = incoming;
	memcpy(&c->addr, sa, DP_MIN((size_t)len, sizeof c->addr));
	c->addrlen = len;
	c->recv_id = recv_id;
	/* The initiator sends with its receive id + 1; the acceptor with the SYN's id. */
	c->send_id = incoming ? (uint16_t)(recv_id - 1) : (uint16_t)(recv_id + 1);
	c->u = pair[0];
	*user = pair[1];
	bufferevent_setcb(c->u, utp_conn_u_read_cb, utp_conn_u_write_cb, NULL, c);
	/* The send buffer's bound: what is taken from the writer ahead of the window. */
	bufferevent_setwatermark(c->u, EV_READ, 0, UTP_SEND_BUFFER);
	bufferevent_enable(c->u, EV_READ | EV_WRITE);
	c->timer = evtimer_new(eng->base, utp_conn_timer_cb, c);
	c->pace_timer = evtimer_new(eng->base, utp_conn_pace_cb, c);
	uint32_t overhead = (sa->sa_family == AF_INET6 ? 48u : 28u) + UTP_HEADER_LEN;
	c->mss = c->mss_floor = UTP_PATH_MTU_SAFE - overhead;
	c->mss_ceiling = UTP_PATH_MTU_MAX - overhead;
	c->rto_ms = UTP_RTO_INITIAL_MS;
	c->peer_wnd = UTP_RECV_BUFFER;
	c->created_us = c->last_recv_us = dp_now_us();
	ledbat_init(&c->cc, c->mss, UTP_SEND_RING / 2 * c->mss_ceiling, c->created_us);
	if (incoming) {
		uint16_t r = 0;
		if (RAND_bytes((uint8_t *)&r, sizeof r) != 1)
			r = (uint16_t)c->created_us;
		c->seq_nr = r;
		c->state = UTP_CONNECTED;
	} else {
		c->seq_nr = 1;
		c->state = UTP_SYN_SENT;
	}
	c->acked = (uint16_t)(c->seq_nr - 1);
	char a[64];
	sockaddr_format(sa, a, sizeof a);
	snprintf(c->name, sizeof c->name, "utp %s %s", a, incoming ? "(incoming)" : "(outgoing)");
	c->task = task_new(DP_TASK_KIND_UTP, 0, "%s", c->name);
	utp_conn_update_task(c, dp_now_ms());
	return c;
}

/* ---- sending ---- */

/* The timer event serves the probe and the timeout: it is added again only when none is
 * pending or the pending one is due after the earlier deadline (a backed-off timeout, then an
 * RTO that a fresh sample shortened); one due earlier sees the deadlines and waits the rest. */
static void
utp_conn_timer_schedule(struct utp_conn *c, uint64_t now)
{
	uint64_t due = c->rto_at_us;
	if (c->tlp_at_us != 0 && c->tlp_at_us < due)
		due = c->tlp_at_us;
	if (due == 0 || (evtimer_pending(c->timer, NULL) && c->rto_ev_at_us <= due))
		return;
	uint64_t left = due > now ? due - now : 0;
	struct timeval tv = { (time_t)(left / 1000000u), (suseconds_t)(left % 1000000u) };
	evtimer_add(c->timer, &tv);
	c->rto_ev_at_us = due;
}

/* When the tail-loss probe is due, counted from now (0: none: no round trip known yet, a
 * probe already sent in this silence, timeouts running, or the timeout comes first). */
static uint64_t
utp_conn_tlp_due(const struct utp_conn *c, uint64_t now)
{
	uint16_t n = utp_conn_outstanding(c);
	if ((c->state != UTP_CONNECTED && c->state != UTP_CLOSING) || n == 0 || !c->have_rtt ||
	    c->tlp_sent || c->timeouts_in_row > 0)
		return 0;
	uint64_t pto = n == 1 ? (uint64_t)c->rtt_us * 3 / 2 + UTP_TLP_DELACK_US :
	    2ull * c->rtt_us;
	pto = DP_MAX(pto, (uint64_t)UTP_TLP_MIN_US);
	return pto < (uint64_t)c->rto_ms * 1000u ? now + pto : 0;
}

static void
utp_conn_arm(struct utp_conn *c, bool restart, uint64_t now)
{
	if (c->state == UTP_DEAD || c->timer == NULL)
		return;
	bool want = c->state == UTP_SYN_SENT || utp_conn_outstanding(c) > 0 ||
	    (evbuffer_get_length(bufferevent_get_input(c->u)) > 0 && c->in_flight == 0);
	if (!want) {
		c->rto_at_us = c->tlp_at_us = 0;
		return;        /* a pending event finds nothing due and lapses */
	}
	if (!restart && c->rto_at_us != 0)
		return;
	/* The deadlines move with every ACK that moves (no event re-added per ACK). */
	c->rto_at_us = now + (uint64_t)c->rto_ms * 1000u;
	c->tlp_at_us = utp_conn_tlp_due(c, now);
	utp_conn_timer_schedule(c, now);
}

/* Sends the flush's batch of data packets in one system call. */
static void
utp_conn_send_batch(struct utp_conn *c)
{
	if (c->nbatch == 0)
		return;
	c->eng->st.packets_out += udp_socket_send_batch(c->sock, c->batch, c->nbatch,
	    (struct sockaddr *)&c->addr, c->addrlen);
	c->nbatch = 0;
}

/* Writes the header (timestamps, window and ack fresh at every transmission) and sends. */
static int
utp_conn_transmit(struct utp_conn *c, struct utp_out_pkt *p, uint64_t now)
{
	struct utp_header h = {
		.type = p->type,
		.conn_id = p->type == UTP_ST_SYN ? c->recv_id : c->send_id,
		.ts_us = (uint32_t)now,
		.ts_diff_us = c->reply_micro,
		.wnd = utp_conn_recv_window(c),
		.seq = p->seq,
		.ack = c->ack_nr,
	};
	utp_packet_write(&h, p->buf);
	p->transmissions++;
	p->sent_us = now;
	if (p->transmissions > 1) {
		c->resent++;
		c->eng->st.resent++;
	}
	size_t n = UTP_HEADER_LEN + p->len;
	int r;
	if (p->type == UTP_ST_DATA && !p->probe) {
		/* Sent at the end of the flush with the others (sendmmsg). */
		c->batch[c->nbatch].data = p->buf;
		c->batch[c->nbatch].len = n;
		if (++c->nbatch == UDP_SOCKET_BATCH_MAX)
			utp_conn_send_batch(c);
		c->packets_out++;
		c->ack_due = false;
		return 0;
	}
	utp_conn_send_batch(c);    /* what was batched leaves first: order holds */
	if (p->probe && p->transmissions > 1)
		/* A probe larger than the path: let it go in fragments, or it never arrives. */
		r = udp_socket_send_fragmentable(c->sock, p->buf, n, (struct sockaddr *)&c->addr,
		    c->addrlen);
	else
		r = utp_engine_send(c->eng, c, p->buf, n);
	c->packets_out++;
	if (p->type != UTP_ST_SYN)
		c->ack_due = false;     /* it carries our ack_nr */
	return r;
}

static void
utp_conn_send_state(struct utp_conn *c, uint64_t now)
{
	struct utp_header h = {
		.type = UTP_ST_STATE,
		.conn_id = c->send_id,
		.ts_us = (uint32_t)now,
		.ts_diff_us = c->reply_micro,
		.wnd = utp_conn_recv_window(c),
		.seq = c->seq_nr,          /* the next one: a STATE consumes none */
		.ack = c->ack_nr,
	};
	if (c->reorder_count > 0) {
		/* Selective ACK: bit i says ack_nr + 2 + i arrived. */
		uint32_t last = 0;
		for (uint32_t i = 0; i < UTP_SACK_MAX * 8u && i + 2 < UTP_RECV_RING; i++) {
			uint16_t seq = (uint16_t)(c->ack_nr + 2 + i);
			if (c->in[seq & UTP_RECV_MASK] != NULL) {
				h.sack[i / 8] |= (uint8_t)(1u << (i % 8));
				last = i;
			}
		}
		h.sack_len = (uint8_t)((last / 32 + 1) * 4);
	}
	uint8_t buf[UTP_HEADER_LEN + 2 + UTP_SACK_MAX];
	size_t n = utp_packet_write(&h, buf);
	utp_conn_send_batch(c);
	utp_engine_send(c->eng, c, buf, n);
	c->packets_out++;
	c->ack_due = c->sack_due = false;
}

static struct utp_out_pkt *
utp_conn_new_pkt(struct utp_conn *c, uint8_t type, uint32_t len)
{
	struct utp_out_pkt *p = xmalloc(sizeof *p + UTP_HEADER_LEN + len);
	memset(p, 0, sizeof *p);
	p->type = type;
	p->len = len;
	p->seq = c->seq_nr++;
	c->out[p->seq & UTP_SEND_MASK] = p;
	return p;
}

void
utp_conn_send_syn(struct utp_conn *c)
{
	struct utp_out_pkt *p = utp_conn_new_pkt(c, UTP_ST_SYN, 0);
	uint64_t now = dp_now_us();
	utp_conn_transmit(c, p, now);
	utp_conn_arm(c, true, now);
}

void
utp_conn_accept_syn(struct utp_conn *c, const struct utp_header *h)
{
	c->ack_nr = h->seq;
	c->reply_micro = utp_now_micro() - h->ts_us;
	c->peer_wnd = h->wnd;
	c->last_recv_us = dp_now_us();
	utp_conn_send_state(c, dp_now_us());
}

static void
utp_conn_tell_user(struct utp_conn *c, short what, int err)
{
	struct bufferevent *user = utp_conn_user(c);
	if (user == NULL)
		return;
	/* Deferred callbacks keep errno for the event: the user reads it as a socket's. */
	errno = err;
	bufferevent_trigger_event(user, what, 0);
}

static void
utp_conn_pace_refill(struct utp_conn *c, uint64_t now)
{
	uint64_t burst = (uint64_t)UTP_PACE_BURST * (c->mss + UTP_HEADER_LEN);
	uint64_t rtt = DP_MAX(c->have_rtt ? c->rtt_us : 100000u, 100u);
	uint64_t dt = now - c->pace_last_us;
	c->pace_last_us = now;
	/* Twice cwnd per round trip: pacing spreads a window, it must not be what limits it. */
	uint64_t add = (uint64_t)c->cc.cwnd * 2 * DP_MIN(dt, 10000000ull) / rtt;
	c->pace_tokens = DP_MIN(c->pace_tokens + add, burst);
}

/* Whether a packet of len bytes may leave now; else the pacing timer is armed. */
static bool
utp_conn_pace_take(struct utp_conn *c, uint32_t len)
{
	uint64_t need = len + UTP_HEADER_LEN;
	if (c->in_flight == 0)
		return true;     /* nothing out to burst with: the ACK clock must not wait on a rate */
	if (c->pace_tokens >= need) {
		c->pace_tokens -= need;
		return true;
	}
	if (!evtimer_pending(c->pace_timer, NULL)) {
		struct timeval tv = { 0, UTP_PACE_TICK_US };
		evtimer_add(c->pace_timer, &tv);
	}
	return false;
}

/* Resends what was declared lost, oldest first, within the congestion window only: the
 * receiver's window keeps room for them (new data leaves it, see utp_conn_send_new), and the
 * receiver's window shrinks by what it holds past a hole, so gating a hole's resend on it
 * waits for the very data that cannot move until the hole is filled. The oldest packet goes
 * even past cwnd: everything the receiver holds waits on it. */
static void
utp_conn_resend(struct utp_conn *c, uint64_t now)
{
	uint16_t n = utp_conn_outstanding(c);
	for (uint16_t i = 1; i <= n && c->nresend > 0; i++) {
		struct utp_out_pkt *p = c->out[(uint16_t)(c->acked + i) & UTP_SEND_MASK];
		if (p == NULL || !p->need_resend)
			continue;
		if (i > 1 && c->in_flight > 0 && c->in_flight + p->len > c->cc.cwnd) {
			c->cwnd_limited = true;
			return;
		}
		if (!utp_conn_pace_take(c, p->len))
			return;
		p->need_resend = false;
		c->nresend--;
		c->resend_bytes -= DP_MIN(c->resend_bytes, p->len);
		c->in_flight += p->len;
		utp_conn_transmit(c, p, now);
	}
}

/* New data from the writer's buffer, in packets of mss bytes (one probe at a time larger).
 * The receiver's window (what its buffer has left, the packets it holds out of order taken
 * off) bounds everything between its ack_nr and our newest packet: what is in flight, and
 * the holes declared lost and still to resend. libtorrent (utp_stream.cpp) drops any packet
 * that does not fit its buffer, a hole's resend too ("not honoring our advertised window"):
 * new data must never take the room a hole will need. */
static void
utp_conn_send_new(struct utp_conn *c, uint64_t now)
{
	struct evbuffer *in = bufferevent_get_input(c->u);
	for (;;) {
		if (utp_conn_outstanding(c) >= UTP_SEND_RING - 1)
			break;
		size_t avail = evbuffer_get_length(in);
		struct bufferevent *user = utp_conn_user(c);
		if (avail < c->mss && user != NULL &&
		    evbuffer_get_length(bufferevent_get_output(user)) > 0) {
			/* Take more from the writer's end (bounded by the read watermark). A flush
			 * runs our read callback whatever it moves: only when there is something. */
			bufferevent_flush(c->u, EV_READ, BEV_FLUSH);
			avail = evbuffer_get_length(in);
		}
		if (avail == 0)
			break;
		uint32_t size = (uint32_t)DP_MIN(avail, (size_t)c->mss);
		bool probe = false;
		uint32_t probe_size = (c->mss_floor + c->mss_ceiling + 1) / 2;
		if (!c->probing && c->mss_ceiling > c->mss_floor + UTP_PROBE_STOP &&
		    avail >= probe_size) {
			size = probe_size;
			probe = true;
		}
		bool over_cwnd = c->in_flight + size > c->cc.cwnd;
		bool over_peer = (uint64_t)c->in_flight + c->resend_bytes + size > c->peer_wnd;
		if ((over_cwnd || over_peer) && !(c->in_flight == 0 && c->probe_zero_window)) {
			c->cwnd_limited = over_cwnd && c->cc.cwnd <= c->peer_wnd;
			break;
		}
		if (!utp_conn_pace_take(c, size))
			break;
		c->probe_zero_window = false;
		struct utp_out_pkt *p = utp_conn_new_pkt(c, UTP_ST_DATA, size);
		evbuffer_remove(in, p->buf + UTP_HEADER_LEN, size);
		p->probe = probe;
		c->in_flight += size;
		c->bytes_out += size;
		c->eng->st.bytes_out += size;
		if (utp_conn_transmit(c, p, now) < 0 && errno == EMSGSIZE) {
			/* Too large for the local interface: take the packet back (nothing was sent)
			 * and lower the ceiling; a plain packet is never larger than the floor. */
			evbuffer_prepend(in, p->buf + UTP_HEADER_LEN, size);
			c->out[p->seq & UTP_SEND_MASK] = NULL;
			c->seq_nr--;
			c->in_flight -= size;
			c->bytes_out -= size;
			c->eng->st.bytes_out -= size;
			c->packets_out--;
			c->mss_ceiling = size - 1;
			if (c->mss > c->mss_ceiling)
				c->mss = c->mss_floor;
			free(p);
			continue;
		}
		if (probe) {
			c->probing = true;
			c->probe_seq = p->seq;
		}
	}
}

static void
utp_conn_send_fin(struct utp_conn *c, uint64_t now)
{
	struct utp_out_pkt *p = utp_conn_new_pkt(c, UTP_ST_FIN, 0);
	c->fin_sent = true;
	c->fin_seq = p->seq;
	utp_conn_transmit(c, p, now);
}

bool
utp_conn_flush(struct utp_conn *c)
{
	if (c->state == UTP_DEAD) {
		utp_engine_unhash(c->eng, c);
		utp_conn_free(c);
		return false;
	}
	struct dp_task *task = task_hold(c->task);
	task_cb_begin(task);
	uint64_t now = dp_now_us();
	if (c->state == UTP_CONNECTED || c->state == UTP_CLOSING) {
		utp_conn_pace_refill(c, now);
		c->cwnd_limited = false;
		utp_conn_resend(c, now);
		if (!c->fin_sent)
			utp_conn_send_new(c, now);
		if (c->state == UTP_CLOSING && !c->fin_sent &&
		    evbuffer_get_length(bufferevent_get_input(c->u)) == 0)
			utp_conn_send_fin(c, now);
	}
	if (c->ack_due || c->sack_due)
		utp_conn_send_state(c, now);
	utp_conn_send_batch(c);
	utp_conn_arm(c, false, now);
	uint64_t now_ms = now / 1000;
	if (now_ms - c->reason_ms >= UTP_REASON_MS)
		utp_conn_update_task(c, now_ms);
	task_cb_end(task);
	task_release(&task);
	return true;
}

/* ---- acknowledgements ---- */

static void
utp_conn_rtt_sample(struct utp_conn *c, uint32_t sample)
{
	if (!c->have_rtt) {
		c->rtt_us = sample;
		c->rtt_var_us = sample / 2;
		c->have_rtt = true;
	} else {
		int64_t delta = (int64_t)c->rtt_us - sample;
		c->rtt_var_us = (uint32_t)((int64_t)c->rtt_var_us +
		    ((delta < 0 ? -delta : delta) - (int64_t)c->rtt_var_us) / 4);
		c->rtt_us = (uint32_t)((int64_t)c->rtt_us + ((int64_t)sample - c->rtt_us) / 8);
	}
	uint32_t rto = (c->rtt_us + 4 * c->rtt_var_us) / 1000;
	c->rto_ms = DP_MAX(rto, UTP_RTO_MIN_MS);
}

/* The newest packet one ACK covers: the round trip is sampled from it alone. */
struct utp_ack_newest {
	uint64_t sent_us;
	bool clean;                /* sent once and never declared lost */
	bool spurious;             /* some packet declared lost arrived from its one transmission */
	bool resent;               /* some packet arrived from a retransmission */
};

/* One packet acknowledged: its bytes leave the flight; an MTU probe that made it raises the
 * floor. Returns the payload bytes. */
static uint32_t
utp_conn_acked_pkt(struct utp_conn *c, struct utp_out_pkt *p, struct utp_ack_newest *nw)
{
	uint32_t len = p->len;
	if (p->sent_us > c->rack_sent_us)
		c->rack_sent_us = p->sent_us;
	if (p->sent_us >= nw->sent_us) {
		nw->sent_us = p->sent_us;
		nw->clean = p->transmissions == 1 && !p->need_resend;
	}
	if (p->need_resend && p->transmissions == 1) {
		nw->spurious = true;       /* declared lost, yet its only transmission arrived */
		c->false_losses++;
	}
	else if (p->transmissions > 1)
		nw->resent = true;
	if (!p->need_resend) {
		c->in_flight -= DP_MIN(c->in_flight, len);
	} else {
		c->nresend--;
		c->resend_bytes -= DP_MIN(c->resend_bytes, len);
	}
	if (p->probe) {
		c->probing = false;
		if (len > c->mss_floor) {
			c->mss_floor = len;
			c->mss = len;
			ledbat_set_mss(&c->cc, len);
		}
	}
	c->out[p->seq & UTP_SEND_MASK] = NULL;
	free(p);
	return len;
}

/* Declares a packet lost: out of flight, to be resent. Returns the bytes that count toward
 * congestion control (none for an MTU probe or a packet already declared); *sent_us becomes
 * the latest send time among those. */
static uint32_t
utp_conn_lost(struct utp_conn *c, struct utp_out_pkt *p, uint64_t *sent_us)
{
	if (p->need_resend)
		return 0;
	p->need_resend = true;
	c->nresend++;
	c->resend_bytes += p->len;
	c->in_flight -= DP_MIN(c->in_flight, p->len);
	if (p->probe) {
		/* Larger than the path, most likely: not a sign of congestion. */
		c->probing = false;
		if (p->len - 1 < c->mss_ceiling)
			c->mss_ceiling = p->len - 1;
		return 0;
	}
	*sent_us = DP_MAX(*sent_us, p->sent_us);
	return DP_MAX(p->len, 1u);
}

static void
utp_conn_process_ack(struct utp_conn *c, const struct utp_header *h, bool pure_ack, uint64_t now)
{
	uint16_t outstanding = utp_conn_outstanding(c);
	uint16_t adv = (uint16_t)(h->ack - c->acked);
	uint32_t bytes = 0;
	bool progress = false;
	uint64_t rack_before = c->rack_sent_us;
	struct utp_ack_newest newest = { 0, false, false, false };
	if (adv >= 1 && adv <= outstanding) {
		for (uint16_t i = 1; i <= adv; i++) {
			struct utp_out_pkt *p = c->out[(uint16_t)(c->acked + i) & UTP_SEND_MASK];
			if (p != NULL)
				bytes += utp_conn_acked_pkt(c, p, &newest);
		}
		c->acked = h->ack;
		c->dup_acks = 0;
		progress = true;
	} else if (adv == 0 && pure_ack && outstanding > 0) {
		c->dup_acks++;
	}
	uint32_t lost = 0;
	uint64_t lost_sent_us = 0;
	outstanding = utp_conn_outstanding(c);
	if (h->sack_len > 0 && outstanding > 1) {
		/* Walk down from the newest packet the mask covers: a packet still missing with
		 * three or more acknowledged after it is lost. */
		uint32_t after = 0;
		uint16_t span = (uint16_t)DP_MIN((uint32_t)h->sack_len * 8u + 1u, (uint32_t)outstanding);
		for (uint16_t i = span; i >= 1; i--) {
			uint16_t seq = (uint16_t)(c->acked + i);
			struct utp_out_pkt *p = c->out[seq & UTP_SEND_MASK];
			if (i >= 2 && utp_packet_sack_has(h, seq)) {
				if (p != NULL) {
					bytes += utp_conn_acked_pkt(c, p, &newest);
					progress = true;
				}
				after++;
			} else if (p != NULL && after >= UTP_DUP_ACKS && p->transmissions == 1) {
				/* A resent packet is judged by RACK: the packets acknowledged after it
				 * here left before the resend and say nothing of it. */
				lost += utp_conn_lost(c, p, &lost_sent_us);
			} else if (p == NULL && i >= 2) {
				after++;          /* acknowledged by an earlier mask */
			}
		}
	}
	/* One round-trip sample per ACK, from the newest packet it covers (RACK's, with Karn's
	 * rule): only when that packet went once, was not declared lost, and nothing sent after it
	 * had been acknowledged before. Any other packet's ACK was held back by a hole or left
	 * the selective ACK's reach: after a receiver paused, packets it held were acknowledged
	 * seconds after they left, one per ACK as the holes before them were resent, and those
	 * ages taken as samples grew the estimate to tens of seconds; pacing (cwnd per round
	 * trip) then let a packet out every few hundred ms and the stream stalled. */
	if (newest.sent_us != 0 && newest.clean && newest.sent_us >= rack_before &&
	    now >= newest.sent_us)
		utp_conn_rtt_sample(c, (uint32_t)DP_MIN(now - newest.sent_us, (uint64_t)UINT32_MAX));
	/* A resent hole lost again: this ACK still stops before it with selective ACKs past it,
	 * and a round trip and a quarter (plus the variance) passed since it went. RACK cannot
	 * see it when what was sent after the resend lies beyond the selective ACK's 256-packet
	 * reach (windows of 700 packets), and the timer then declared the whole window lost:
	 * 300-400 packets that had arrived, counted as losses (cut after cut). */
	if (c->have_rtt && h->ack == c->acked && h->sack_len > 0 && utp_conn_outstanding(c) > 0) {
		struct utp_out_pkt *p = c->out[(uint16_t)(c->acked + 1) & UTP_SEND_MASK];
		uint64_t wait = (uint64_t)c->rtt_us * 5 / 4 + c->rtt_var_us;
		if (p != NULL && p->transmissions > 1 && !p->need_resend && now > p->sent_us + wait)
			lost += utp_conn_lost(c, p, &lost_sent_us);
	}
	/* RACK (RFC 8985, simplified): a packet sent a reordering window before one that got
	 * through is lost, retransmissions included (the rules above never see a resent packet
	 * lost again, which left only the timeout, at 500 ms and a window of one). */
	if (progress && c->have_rtt) {
		uint64_t reo = DP_MAX((uint64_t)c->rtt_us / 4, 1000u);
		uint16_t n = (uint16_t)DP_MIN((uint32_t)utp_conn_outstanding(c), UTP_RACK_SCAN);
		for (uint16_t i = 1; i <= n; i++) {
			struct utp_out_pkt *p = c->out[(uint16_t)(c->acked + i) & UTP_SEND_MASK];
			if (p == NULL || p->need_resend || p->transmissions == 0)
				continue;
			if (p->sent_us + reo < c->rack_sent_us)
				lost += utp_conn_lost(c, p, &lost_sent_us);
			else if (p->transmissions == 1)
				break;     /* sent in order: the later ones are later still */
		}
	}
	if (c->dup_acks >= UTP_DUP_ACKS) {
		struct utp_out_pkt *p = c->out[(uint16_t)(c->acked + 1) & UTP_SEND_MASK];
		/* Once: the duplicates keep coming for a round trip after the resend. */
		if (p != NULL && p->transmissions == 1)
			lost += utp_conn_lost(c, p, &lost_sent_us);
		c->dup_acks = 0;
	}
	if (newest.spurious && !newest.resent && ledbat_undo_timeout(&c->cc)) {
		/* The timeout was spurious (late ACKs): what it declared lost and has not resent
		 * goes back in flight; RACK finds again whatever of it is really lost. */
		uint16_t n = utp_conn_outstanding(c);
		for (uint16_t i = 1; i <= n; i++) {
			struct utp_out_pkt *p = c->out[(uint16_t)(c->acked + i) & UTP_SEND_MASK];
			if (p == NULL || !p->need_resend || p->transmissions != 1)
				continue;
			p->need_resend = false;
			c->nresend--;
			c->resend_bytes -= DP_MIN(c->resend_bytes, p->len);
			c->in_flight += p->len;
		}
		log_debug("%s: the retransmission timeout was spurious: window %u B again", c->name,
		    c->cc.cwnd);
	} else if (newest.resent) {
		ledbat_timeout_genuine(&c->cc);
	}
	if (lost > 0) {
		uint32_t before = c->cc.cwnd;
		if (ledbat_on_loss(&c->cc, lost, lost_sent_us, now))
			c->eng->st.losses++;
		if (c->cc.cwnd < before)
			log_debug("%s: congestion loss: window %u -> %u B, queuing %u ms, loss rate %.1f %%",
			    c->name, before, c->cc.cwnd, ledbat_queuing_us(&c->cc) / 1000,
			    c->cc.loss_rate * 100.0 / 65536);
	}
	if (bytes > 0)
		ledbat_on_ack(&c->cc, bytes, c->cwnd_limited);
	if (progress) {
		c->timeouts_in_row = 0;
		c->tlp_sent = false;
		utp_conn_arm(c, true, now);
	}
	if (c->fin_sent && (uint16_t)(c->acked - c->fin_seq) < 0x8000u && c->state == UTP_CLOSING)
		c->state = UTP_DEAD;
}

/* ---- receiving ---- */

static void
utp_conn_deliver(struct utp_conn *c, const uint8_t *data, size_t len)
{
	if (len == 0)
		return;
	c->bytes_in += len;
	c->eng->st.bytes_in += len;
	task_progress(c->task, len, 0);
	/* A user gone (closing) reads nothing more: dropped, still acknowledged. */
	if (utp_conn_user(c) != NULL)
		evbuffer_add(bufferevent_get_output(c->u), data, len);
}

static void
utp_conn_maybe_eof(struct utp_conn *c)
{
	if (!c->got_fin || c->eof_told || c->ack_nr != c->eof_seq)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->u)) > 0)
		return;     /* the reader takes what is left first */
	c->eof_told = true;
	utp_conn_tell_user(c, BEV_EVENT_EOF | BEV_EVENT_READING, 0);
}

static void
utp_conn_receive(struct utp_conn *c, const struct utp_header *h, const uint8_t *data,
    size_t len)
{
	if (c->got_fin && (uint16_t)(h->seq - c->eof_seq - 1) < 0x8000u)
		return;     /* past the end the peer announced */
	uint16_t off = (uint16_t)(h->seq - c->ack_nr - 1);
	c->ack_due = true;
	if (off >= 0x8000u)
		return;     /* a duplicate: acknowledged again */
	if (off >= UTP_RECV_RING || utp_conn_buffered(c) + len > 2u * UTP_RECV_BUFFER)
		return;     /* beyond what we hold: the peer ignored our window; it resends */
	if (h->type == UTP_ST_FIN) {
		c->got_fin = true;
		c->eof_seq = h->seq;
	}
	if (off > 0) {
		c->sack_due = true;
		struct utp_in_pkt **slot = &c->in[h->seq & UTP_RECV_MASK];
		if (*slot == NULL) {
			struct utp_in_pkt *ip = xmalloc(sizeof *ip + len);
			ip->fin = h->type == UTP_ST_FIN;
			ip->len = (uint32_t)len;
			memcpy(ip->data, data, len);
			*slot = ip;
			c->reorder_count++;
			c->reorder_bytes += (uint32_t)len;
		}
		return;
	}
	utp_conn_deliver(c, data, len);
	c->ack_nr++;
	for (;;) {
		struct utp_in_pkt **slot = &c->in[(uint16_t)(c->ack_nr + 1) & UTP_RECV_MASK];
		if (*slot == NULL)
			break;
		utp_conn_deliver(c, (*slot)->data, (*slot)->len);
		c->reorder_count--;
		c->reorder_bytes -= (*slot)->len;
		free(*slot);
		*slot = NULL;
		c->ack_nr++;
	}
	if (c->reorder_count > 0)
		c->sack_due = true;
	utp_conn_maybe_eof(c);
}

void
utp_conn_packet(struct utp_conn *c, const struct utp_header *h, const uint8_t *payload,
    size_t len)
{
	if (c->state == UTP_DEAD)
		return;
	/* No callback bracket per packet: the UDP socket's read callback is the one running, and
	 * two clock reads per packet cost more than the packet's own work. */
	uint64_t now = dp_now_us();
	c->packets_in++;
	c->last_recv_us = now;
	if (h->type == UTP_ST_RESET) {
		utp_conn_reset(c, c->state == UTP_SYN_SENT ? ECONNREFUSED : ECONNRESET);
		return;
	}
	if (c->state == UTP_SYN_SENT) {
		if (h->type != UTP_ST_STATE && h->type != UTP_ST_DATA)
			return;
		/* The acceptor's STATE carries the sequence number of its first data packet. */
		c->ack_nr = (uint16_t)(h->type == UTP_ST_STATE ? h->seq - 1 : h->seq - 1);
		c->state = UTP_CONNECTED;
		c->timeouts_in_row = 0;
		c->rto_ms = UTP_RTO_INITIAL_MS;
		c->user_told = true;
		utp_conn_tell_user(c, BEV_EVENT_CONNECTED, 0);
		log_debug("%s: connected", c->name);
	}
	c->reply_micro = utp_now_micro() - h->ts_us;
	c->peer_wnd = h->wnd;
	if (h->ts_diff_us != 0)
		ledbat_delay_sample(&c->cc, h->ts_diff_us, now);
	utp_conn_process_ack(c, h, h->type == UTP_ST_STATE, now);
	if (h->type == UTP_ST_DATA || h->type == UTP_ST_FIN)
		utp_conn_receive(c, h, payload, len);
	utp_engine_queue(c->eng, c);
}

void
utp_conn_reset(struct utp_conn *c, int err)
{
	if (c->state == UTP_DEAD)
		return;
	c->error = err;
	utp_conn_tell_user(c, BEV_EVENT_ERROR | (c->state == UTP_SYN_SENT ? 0 : BEV_EVENT_READING),
	    err);
	if (c->task != NULL)
		task_fail(c->task, "%s", strerror(err));
	c->state = UTP_DEAD;
	utp_engine_queue(c->eng, c);
}

/* ---- timers ---- */

/* The tail-loss probe: the newest packet not declared lost goes again (packets waiting to be
 * resent are a probe of their own: none then). When the oldest packet is a resend that is a
 * round trip and a quarter old, it is the one lost (again) and goes instead: the receiver's
 * window closes behind a hole, nothing else can leave, and no ACK comes to find it. */
static void
utp_conn_tail_probe(struct utp_conn *c, uint64_t now)
{
	c->tlp_sent = true;
	if (c->nresend > 0)
		return;
	struct utp_out_pkt *first = c->out[(uint16_t)(c->acked + 1) & UTP_SEND_MASK];
	if (first != NULL && first->transmissions > 1 && !first->need_resend &&
	    now > first->sent_us + (uint64_t)c->rtt_us * 5 / 4 + c->rtt_var_us) {
		uint64_t sent = 0;
		if (utp_conn_lost(c, first, &sent) > 0)
			ledbat_on_loss(&c->cc, first->len, sent, now);
		c->tail_probes++;
		log_debug("%s: tail-loss probe: resend %u lost again (%u packets out)", c->name,
		    first->seq, utp_conn_outstanding(c));
		utp_engine_queue(c->eng, c);
		return;
	}
	for (uint16_t i = utp_conn_outstanding(c); i >= 1; i--) {
		struct utp_out_pkt *p = c->out[(uint16_t)(c->acked + i) & UTP_SEND_MASK];
		if (p == NULL || p->need_resend)
			continue;
		c->tail_probes++;
		log_debug("%s: tail-loss probe: packet %u again (%u packets out)", c->name, p->seq,
		    utp_conn_outstanding(c));
		utp_conn_transmit(c, p, now);
		utp_conn_send_batch(c);
		return;
	}
}

static void
utp_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct utp_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->state == UTP_DEAD || c->rto_at_us == 0)
		return;
	uint64_t now = dp_now_us();
	bool probe_due = c->tlp_at_us != 0 && now >= c->tlp_at_us;
	if (now < c->rto_at_us && !probe_due) {
		/* ACKs moved the deadlines: wait the rest. */
		utp_conn_timer_schedule(c, now);
		return;
	}
	struct dp_task *task = task_hold(c->task);
	task_cb_begin(task);
	if (now < c->rto_at_us) {
		c->tlp_at_us = 0;
		utp_conn_tail_probe(c, now);
		utp_conn_timer_schedule(c, now);
		goto out;
	}
	c->rto_at_us = c->tlp_at_us = 0;
	if (c->state == UTP_SYN_SENT) {
		if (++c->timeouts_in_row >= UTP_SYN_TRIES) {
			utp_conn_reset(c, ETIMEDOUT);
		} else {
			c->rto_ms *= 2;
			struct utp_out_pkt *p = c->out[(uint16_t)(c->acked + 1) & UTP_SEND_MASK];
			if (p != NULL)
				utp_conn_transmit(c, p, now);
			utp_conn_arm(c, true, now);
			utp_conn_update_task(c, now / 1000);
		}
		goto out;
	}
	uint16_t n = utp_conn_outstanding(c);
	if (n == 0) {
		/* A shut window and data waiting: one packet goes as a probe. */
		c->probe_zero_window = true;
		utp_engine_queue(c->eng, c);
		goto out;
	}
	c->timeouts_in_row++;
	c->eng->st.timeouts++;
	if (c->timeouts_in_row > UTP_MAX_TIMEOUTS) {
		utp_conn_reset(c, ETIMEDOUT);
		goto out;
	}
	log_debug("%s: retransmission timeout %u (%u packets out, cwnd %u B, peer window %u B, "
	    "rtt %u ms)", c->name, c->timeouts_in_row, n, c->cc.cwnd, c->peer_wnd, c->rtt_us / 1000);
	/* Everything in flight is declared lost below and counts toward the loss rate: a window's
	 * tail of a few packets may be chance, a whole window unanswered for an RTO is not. */
	ledbat_on_timeout(&c->cc, DP_MAX(c->in_flight, c->mss), c->timeouts_in_row > 1, now);
	uint64_t lost_sent_us = 0;
	for (uint16_t i = 1; i <= n; i++) {
		struct utp_out_pkt *p = c->out[(uint16_t)(c->acked + i) & UTP_SEND_MASK];
		if (p != NULL)
			utp_conn_lost(c, p, &lost_sent_us);
	}
	c->in_flight = 0;
	c->rto_ms = DP_MIN(c->rto_ms * 2, UTP_RTO_MAX_MS);
	utp_conn_update_task(c, now / 1000);
	utp_engine_queue(c->eng, c);
	utp_conn_arm(c, true, now);
out:
	task_cb_end(task);
	task_release(&task);
}

void
utp_conn_tick(struct utp_conn *c, uint64_t now)
{
	if (c->state == UTP_DEAD)
		return;
	if (utp_conn_user(c) == NULL) {
		/* The user freed its end: that is a close. */
		if (c->state == UTP_SYN_SENT) {
			if (c->task != NULL)
				task_done(c->task, "given up before connecting");
			c->state = UTP_DEAD;
			utp_engine_queue(c->eng, c);
			return;
		}
		if (c->state == UTP_CONNECTED) {
			c->state = UTP_CLOSING;
			c->closing_since_us = now;
			utp_engine_queue(c->eng, c);
		} else if (now - c->closing_since_us > UTP_CLOSE_LINGER_US) {
			if (c->task != NULL)
				task_done(c->task, "closed (FIN not acknowledged)");
			c->state = UTP_DEAD;
			utp_engine_queue(c->eng, c);
			return;
		}
	}
	if (now / 1000 - c->reason_ms >= UTP_REASON_MS)
		utp_conn_update_task(c, now / 1000);
}

static void
utp_conn_pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct utp_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->state != UTP_DEAD)
		utp_engine_queue(c->eng, c);
}

/* ---- the pair's callbacks ---- */

static void
utp_conn_u_read_cb(struct bufferevent *bev, void *arg)
{
	struct utp_conn *c = arg;
	/* libevent runs this after every transfer, empty ones too. */
	if (c->state != UTP_DEAD && evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		utp_engine_queue(c->eng, c);
}

static void
utp_conn_u_write_cb(struct bufferevent *bev, void *arg)
{
	struct utp_conn *c = arg;
	(void)bev;
	if (c->state == UTP_DEAD)
		return;
	/* The reader took what we held: a window we shrank opens again (say so at once). */
	if (c->window_was_small && utp_conn_recv_window(c) >= UTP_RECV_BUFFER / 2) {
		c->window_was_small = false;
		c->ack_due = true;
		utp_engine_queue(c->eng, c);
	}
	utp_conn_maybe_eof(c);
}

void
utp_conn_free(struct utp_conn *c)
{
	if (c->task != NULL && c->task->finished_us == 0)
		task_done(c->task, "closed: %llu bytes in, %llu out, %llu resent, %llu packets "
		    "declared lost that arrived, %llu tail probes, %u timeouts (%u spurious)",
		    (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
		    (unsigned long long)c->resent, (unsigned long long)c->false_losses,
		    (unsigned long long)c->tail_probes, c->cc.timeouts, c->cc.spurious_timeouts);
	if (c->bytes_out > 0)
		log_debug("%s: closed: %llu bytes out, %llu resent, %llu packets declared lost that "
		    "arrived, window cut %u times, %u losses random, %llu tail probes, %u timeouts "
		    "(%u spurious)", c->name, (unsigned long long)c->bytes_out,
		    (unsigned long long)c->resent, (unsigned long long)c->false_losses, c->cc.losses,
		    c->cc.random_losses, (unsigned long long)c->tail_probes, c->cc.timeouts,
		    c->cc.spurious_timeouts);
	task_release(&c->task);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->pace_timer != NULL)
		event_free(c->pace_timer);
	for (size_t i = 0; i < UTP_SEND_RING; i++)
		free(c->out[i]);
	for (size_t i = 0; i < UTP_RECV_RING; i++)
		free(c->in[i]);
	if (c->u != NULL)
		bufferevent_free(c->u);
	free(c);
}
