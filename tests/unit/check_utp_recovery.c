/* check_utp_recovery.c: how a uTP sender recovers from loss, against a scripted receiver that
 * keeps to libtorrent 2.0's rules (utp_stream.cpp): a bounded buffer whose room left is the
 * window it advertises, every packet that does not fit dropped (the one filling a hole too),
 * packets too far past its ack_nr ignored, one ACK per batch of datagrams with a selective ACK
 * as long as what it holds (up to a length the test sets), sent after a delay (the path's round
 * trip). The test picks which transmissions of which packets the wire loses. Covers the
 * receiver's window and holes, the tail-loss probe, a resent packet lost again, and selective
 * ACKs past 256 packets both ways. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "suites.h"
#include "test_helpers.h"
#include "udp_socket.h"
#include "util.h"
#include "utp.h"
#include "utp_packet.h"
#include "utp_private.h"

#define RX_SEQS 65536u
#define RX_DROP_SPAN 8192u           /* packets (from the first data packet) losses apply to */
#define RX_DELAYED 8192u             /* ACKs waiting for their delay at most */
#define RX_DGRAM 1600u

struct rx_delayed {
	uint64_t due_us;
	uint16_t len;
	uint8_t data[UTP_HEADER_LEN + 2 + UTP_SACK_MAX];
};

struct rx {
	struct event_base *base;
	int fd;
	struct event *read_ev, *delay_ev;
	struct sockaddr_in self, peer;
	bool connected;
	uint16_t conn_id;               /* what packets to the sender carry: its receive id */
	uint16_t seq;                   /* ours (a STATE consumes none) */
	uint16_t ack_nr;
	uint16_t first;                 /* the sender's first data packet */
	uint32_t cap;                   /* receive buffer (libtorrent: 1 MiB) */
	uint32_t buffered;              /* held out of order */
	uint32_t sack_max;              /* selective-ACK bytes at most */
	unsigned ack_delay_ms;
	uint8_t *held[RX_SEQS];
	uint32_t held_len[RX_SEQS];
	uint8_t arrivals[RX_SEQS];      /* transmissions of each packet that reached the wire */
	/* the wire's losses: bit t-1 of drop[seq - first] loses that packet's t-th transmission */
	uint8_t drop[RX_DROP_SPAN];
	bool drop_first_all;            /* every first transmission is lost */
	struct dp_buf got;
	unsigned dropped, refused, acks;
	bool ack_due;
	/* what the sender's own STATE packets said (a transfer the other way) */
	unsigned states_in;
	uint8_t max_sack_in;
	struct utp_header last_state;
	struct rx_delayed *delayed;
	unsigned ndelayed, delayed_head;
};

static void
rx_send_now(struct rx *r, const uint8_t *d, size_t n)
{
	ck_assert_int_eq(sendto(r->fd, d, n, 0, (struct sockaddr *)&r->peer, sizeof r->peer),
	    (ssize_t)n);
}

static void
rx_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rx *r = arg;
	(void)fd;
	(void)what;
	uint64_t now = dp_now_us();
	while (r->ndelayed > 0 && r->delayed[r->delayed_head].due_us <= now) {
		struct rx_delayed *d = &r->delayed[r->delayed_head];
		rx_send_now(r, d->data, d->len);
		r->delayed_head = (r->delayed_head + 1) % RX_DELAYED;
		r->ndelayed--;
	}
	if (r->ndelayed > 0) {
		uint64_t left = r->delayed[r->delayed_head].due_us - now;
		struct timeval tv = { 0, (suseconds_t)left };
		evtimer_add(r->delay_ev, &tv);
	}
}

/* Sends a header now or after the round trip's delay, in order. */
static void
rx_send(struct rx *r, const struct utp_header *h)
{
	uint8_t buf[UTP_HEADER_LEN + 2 + UTP_SACK_MAX];
	size_t n = utp_packet_write(h, buf);
	if (r->ack_delay_ms == 0) {
		rx_send_now(r, buf, n);
		return;
	}
	ck_assert_uint_lt(r->ndelayed, RX_DELAYED);
	struct rx_delayed *d = &r->delayed[(r->delayed_head + r->ndelayed) % RX_DELAYED];
	d->due_us = dp_now_us() + r->ack_delay_ms * 1000ull;
	d->len = (uint16_t)n;
	memcpy(d->data, buf, n);
	if (r->ndelayed++ == 0) {
		struct timeval tv = { r->ack_delay_ms / 1000, (r->ack_delay_ms % 1000) * 1000 };
		evtimer_add(r->delay_ev, &tv);
	}
}

static void
rx_send_state(struct rx *r)
{
	struct utp_header h = { .type = UTP_ST_STATE, .conn_id = r->conn_id,
		.ts_us = (uint32_t)dp_now_us(), .wnd = r->cap - r->buffered, .seq = r->seq,
		.ack = r->ack_nr };
	/* libtorrent's mask covers all it holds, as long as the test allows. */
	uint32_t last = 0;
	bool any = false;
	for (uint32_t i = 0; i < r->sack_max * 8u; i++) {
		if (r->held[(uint16_t)(r->ack_nr + 2 + i)] != NULL) {
			h.sack[i / 8] |= (uint8_t)(1u << (i % 8));
			last = i;
			any = true;
		}
	}
	if (any)
		h.sack_len = (uint8_t)(last / 8 + 1);
	rx_send(r, &h);
	r->acks++;
}

static void
rx_deliver(struct rx *r, const uint8_t *d, uint32_t n)
{
	dp_buf_add(&r->got, d, n);
}

static void
rx_data(struct rx *r, const struct utp_header *h, const uint8_t *d, uint32_t n)
{
	uint8_t t = r->arrivals[h->seq] < 255 ? ++r->arrivals[h->seq] : 255;
	uint16_t rel = (uint16_t)(h->seq - r->first);
	if ((t == 1 && r->drop_first_all) ||
	    (rel < RX_DROP_SPAN && t <= 8 && (r->drop[rel] >> (t - 1)) & 1)) {
		r->dropped++;
		return;
	}
	uint16_t off = (uint16_t)(h->seq - r->ack_nr - 1);
	if (off >= 0x8000u) {
		r->ack_due = true;           /* a duplicate: acknowledged again */
		return;
	}
	/* libtorrent ignores a packet past its reorder buffer altogether (no ACK). */
	if (off >= DP_MAX(16u, r->cap / 1100u)) {
		r->refused++;
		return;
	}
	r->ack_due = true;
	if (r->held[h->seq] != NULL)
		return;
	/* "other end is not honoring our advertised window, dropping packet" */
	if (r->buffered + n > r->cap) {
		r->refused++;
		return;
	}
	if (off > 0) {
		r->held[h->seq] = xmalloc(n ? n : 1);
		memcpy(r->held[h->seq], d, n);
		r->held_len[h->seq] = n;
		r->buffered += n;
		return;
	}
	rx_deliver(r, d, n);
	r->ack_nr++;
	for (uint16_t s = (uint16_t)(r->ack_nr + 1); r->held[s] != NULL; s++) {
		rx_deliver(r, r->held[s], r->held_len[s]);
		r->buffered -= r->held_len[s];
		free(r->held[s]);
		r->held[s] = NULL;
		r->ack_nr = s;
	}
}

static void
rx_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rx *r = arg;
	(void)what;
	for (int i = 0; i < 256; i++) {
		uint8_t buf[RX_DGRAM];
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			break;
		struct utp_header h;
		size_t off;
		if (!utp_packet_parse(buf, (size_t)n, &h, &off))
			continue;
		if (h.type == UTP_ST_SYN) {
			r->peer = from;
			r->conn_id = h.conn_id;
			r->ack_nr = h.seq;
			r->first = (uint16_t)(h.seq + 1);
			r->seq = 1000;
			r->connected = true;
			r->ack_due = true;
		} else if (h.type == UTP_ST_DATA || h.type == UTP_ST_FIN) {
			rx_data(r, &h, buf + off, (uint32_t)(n - (ssize_t)off));
		} else if (h.type == UTP_ST_STATE) {
			r->states_in++;
			r->max_sack_in = DP_MAX(r->max_sack_in, h.sack_len);
			r->last_state = h;
		}
	}
	/* One ACK per batch, as libtorrent defers its ACKs to the end of a read. */
	if (r->ack_due && r->connected) {
		r->ack_due = false;
		rx_send_state(r);
	}
}

static struct rx *
rx_open(struct event_base *base, uint32_t cap, uint32_t sack_max, unsigned ack_delay_ms)
{
	struct rx *r = xcalloc(1, sizeof *r);
	r->base = base;
	r->cap = cap;
	r->sack_max = DP_MIN(sack_max, UTP_SACK_MAX);
	r->ack_delay_ms = ack_delay_ms;
	r->delayed = xcalloc(RX_DELAYED, sizeof *r->delayed);
	dp_buf_init(&r->got);
	r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(r->fd, 0);
	int big = 4 << 20;
	setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	r->self.sin_family = AF_INET;
	r->self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(r->fd, (struct sockaddr *)&r->self, sizeof r->self), 0);
	socklen_t sl = sizeof r->self;
	ck_assert_int_eq(getsockname(r->fd, (struct sockaddr *)&r->self, &sl), 0);
	r->read_ev = event_new(base, r->fd, EV_READ | EV_PERSIST, rx_read_cb, r);
	r->delay_ev = evtimer_new(base, rx_delay_cb, r);
	event_add(r->read_ev, NULL);
	return r;
}

static void
rx_close(struct rx *r)
{
	event_free(r->read_ev);
	event_free(r->delay_ev);
	close(r->fd);
	for (size_t i = 0; i < RX_SEQS; i++)
		free(r->held[i]);
	free(r->delayed);
	dp_buf_free(&r->got);
	free(r);
}

/* Data packets of ours the scripted peer sends the other way (for our receiver's ACKs). */
static void
rx_send_data(struct rx *r, uint16_t seq, const uint8_t *d, size_t n)
{
	struct utp_header h = { .type = UTP_ST_DATA, .conn_id = r->conn_id,
		.ts_us = (uint32_t)dp_now_us(), .wnd = r->cap, .seq = seq, .ack = r->ack_nr };
	uint8_t buf[UTP_HEADER_LEN + RX_DGRAM];
	size_t hl = utp_packet_write(&h, buf);
	memcpy(buf + hl, d, n);
	rx_send_now(r, buf, hl + n);
}

/* ---- the sender: an engine on loopback, one outgoing connection ---- */

struct tx {
	struct event_base *base;
	struct udp_socket *udp;
	struct utp_engine *eng;
	struct bufferevent *bev;
	struct dp_buf got;
	bool connected, error;
};

static bool
tx_accept(void *arg, struct bufferevent *bev, const struct sockaddr *sa, socklen_t len)
{
	(void)arg;
	(void)bev;
	(void)sa;
	(void)len;
	return false;
}

static void
tx_read_cb(struct bufferevent *bev, void *arg)
{
	struct tx *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);
	dp_buf_reserve(&t->got, n);
	evbuffer_remove(in, t->got.data + t->got.len, n);
	t->got.len += n;
}

static void
tx_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tx *t = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		t->connected = true;
	if (what & BEV_EVENT_ERROR)
		t->error = true;
}

/* The sender connected to r; returns its connection. */
static struct utp_conn *
tx_open(struct tx *t, struct event_base *base, struct rx *r)
{
	memset(t, 0, sizeof *t);
	t->base = base;
	dp_buf_init(&t->got);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char err[256];
	t->udp = udp_socket_new(base, (struct sockaddr *)&sin, sizeof sin, err, sizeof err);
	ck_assert_msg(t->udp != NULL, "%s", err);
	t->eng = utp_engine_new(base, tx_accept, t);
	ck_assert_ptr_nonnull(t->eng);
	utp_engine_add_socket(t->eng, t->udp);
	t->bev = utp_connect(t->eng, (struct sockaddr *)&r->self, sizeof r->self);
	ck_assert_ptr_nonnull(t->bev);
	bufferevent_setcb(t->bev, tx_read_cb, NULL, tx_event_cb, t);
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
	RUN_UNTIL(base, t->connected, 10);
	ck_assert(t->connected);
	ck_assert_ptr_nonnull(t->eng->all);
	return t->eng->all;
}

static void
tx_close(struct tx *t)
{
	bufferevent_free(t->bev);
	utp_engine_free(t->eng);
	udp_socket_free(t->udp);
	dp_buf_free(&t->got);
	th_loop_run(t->base, 10);
}

static uint8_t *
rx_pattern(size_t n, uint32_t seed)
{
	uint8_t *p = xmalloc(n);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (uint8_t)(seed >> 24);
	}
	return p;
}

/* Writes n bytes at once and runs until the receiver has everything sent so far. */
static void
tx_send_all(struct tx *t, struct rx *r, const uint8_t *d, size_t n, unsigned secs)
{
	size_t want = r->got.len + n;
	bufferevent_write(t->bev, d, n);
	RUN_UNTIL(t->base, r->got.len >= want, secs);
	ck_assert_uint_eq(r->got.len, want);
}

START_TEST(test_utp_hole_resend_fits_window)
{
	/* A receiver with libtorrent's window (its buffer's room, what it holds past a hole taken
	 * off) and its rule: a packet that does not fit is dropped, the one that fills the hole
	 * too. The sender keeps the holes' room (new data is bounded by the flight and the holes
	 * to resend), and a hole's resend does not wait on a window that shrank by what waits on
	 * the hole: every packet fits, no timeout. */
	const size_t size = 3u << 20;
	struct event_base *base = event_base_new();
	struct rx *r = rx_open(base, 256u << 10, UTP_SACK_MAX, 10);
	struct tx t;
	struct utp_conn *c = tx_open(&t, base, r);
	/* Holes at several points of the transfer, each lost once. */
	for (unsigned i = 300; i < 2000; i += 400)
		r->drop[i] = 1;
	uint8_t *d = rx_pattern(size, 7);
	tx_send_all(&t, r, d, size, 30);
	ck_assert(memcmp(r->got.data, d, size) == 0);
	ck_assert_uint_ge(r->dropped, 4);
	ck_assert_msg(r->refused == 0, "%u packets did not fit the receiver's window", r->refused);
	ck_assert_uint_eq(c->cc.timeouts, 0);
	free(d);
	tx_close(&t);
	rx_close(r);
	event_base_free(base);
}
END_TEST

START_TEST(test_utp_tail_loss_probe)
{
	/* The last packets of a burst are lost and nothing follows them: no ACK comes to say so.
	 * The probe (the newest packet again, after two round trips) draws a selective ACK, from
	 * which the rest is found lost; without it only the retransmission timer (500 ms at
	 * least) finds them, and a timeout declares everything in flight lost. */
	struct event_base *base = event_base_new();
	struct rx *r = rx_open(base, 1u << 20, UTP_SACK_MAX, 10);
	struct tx t;
	struct utp_conn *c = tx_open(&t, base, r);
	uint8_t *d = rx_pattern(64u << 10, 8);
	tx_send_all(&t, r, d, 64u << 10, 10);
	/* Every ACK of the warm-up in, so no round-trip sample comes after the timeout is set:
	 * the tail's packets all go more than once, and those give none (Karn). */
	RUN_UNTIL(base, c->seq_nr == (uint16_t)(c->acked + 1), 10);
	ck_assert_uint_eq(c->seq_nr, (uint16_t)(c->acked + 1));
	ck_assert(c->have_rtt);
	ck_assert_uint_eq(c->tail_probes, 0);
	/* The probe and the timer race: a loop that stalls past the 500 ms timeout (an ASan
	 * build beside busy processes: 2 runs in 20 at load 6, 'the retransmission timer found
	 * the tail') runs the timer's callback first, and valgrind's round trips of hundreds of
	 * ms left no probe due before it. A timeout longer than the wait below leaves only the
	 * probe to find the tail in time: without it the data never arrives in the test's 10 s. */
	c->rto_ms = 60000;
	/* Four packets' worth, every first transmission lost. */
	r->drop_first_all = true;
	uint8_t *tail = rx_pattern(4 * c->mss, 9);
	size_t want = r->got.len + 4 * c->mss;
	bufferevent_write(t.bev, tail, 4 * c->mss);
	RUN_UNTIL(base, r->got.len >= want, 10);
	ck_assert_uint_ge(r->dropped, 4);
	ck_assert_msg(c->tail_probes >= 1, "no tail-loss probe (%u of %zu bytes arrived, round "
	    "trip %u us)", (unsigned)(r->got.len - (64u << 10)), (size_t)4 * c->mss, c->rtt_us);
	ck_assert_msg(c->cc.timeouts == 0, "the retransmission timer found the tail (%u "
	    "timeouts)", c->cc.timeouts);
	ck_assert_uint_eq(r->got.len, want);
	ck_assert(memcmp(r->got.data + (64u << 10), tail, 4 * c->mss) == 0);
	free(d);
	free(tail);
	tx_close(&t);
	rx_close(r);
	event_base_free(base);
}
END_TEST

/* Writes one packet's worth every interval, count times: data that leaves after a resend. */
struct trickle {
	struct bufferevent *bev;
	struct event *ev;
	const uint8_t *d;
	size_t chunk, left, off;
};

static void
trickle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct trickle *tr = arg;
	(void)fd;
	(void)what;
	if (tr->left == 0)
		return;
	bufferevent_write(tr->bev, tr->d + tr->off, tr->chunk);
	tr->off += tr->chunk;
	tr->left--;
	struct timeval tv = { 0, 5000 };
	evtimer_add(tr->ev, &tv);
}

START_TEST(test_utp_resent_hole_lost_again)
{
	/* A hole's resend is lost too, and what was sent after the resend lies beyond the reach
	 * of the receiver's selective ACK (32 bytes: 256 packets, as libutp and downpour before
	 * sent them), so RACK never sees a later packet acknowledged. ACKs keep coming that stop
	 * before the hole: a round trip and a quarter after the resend it is lost again. Without
	 * that rule only the timer found it (fix 4 of the last session: windows of 700 packets
	 * declared lost whole, 300-400 of which had arrived). */
	struct event_base *base = event_base_new();
	struct rx *r = rx_open(base, 8u << 20, 32, 80);
	struct tx t;
	struct utp_conn *c = tx_open(&t, base, r);
	uint8_t *warm = rx_pattern(256u << 10, 10);
	tx_send_all(&t, r, warm, 256u << 10, 10);
	ck_assert(c->have_rtt);
	/* A window of a long path (80 ms), so that 400 packets are out before the hole's first
	 * loss is known. */
	c->cc.cwnd = c->cc.ssthresh = 1000 * c->mss;
	c->cc.slow_start = false;
	uint16_t hole = (uint16_t)(r->ack_nr + 11 - r->first);
	ck_assert_uint_lt(hole, RX_DROP_SPAN);
	r->drop[hole] = 3;                   /* the first and the second transmission */
	const size_t burst = 400 * (size_t)c->mss, trickle_n = 60;
	size_t total = burst + trickle_n * c->mss;
	uint8_t *d = rx_pattern(total, 11);
	struct trickle tr = { .bev = t.bev, .d = d, .chunk = c->mss, .left = trickle_n,
		.off = burst };
	tr.ev = evtimer_new(base, trickle_cb, &tr);
	bufferevent_write(t.bev, d, burst);
	trickle_cb(-1, 0, &tr);
	size_t want = r->got.len + total;
	RUN_UNTIL(base, r->got.len >= want, 20);
	event_free(tr.ev);
	ck_assert_uint_eq(r->got.len, want);
	ck_assert(memcmp(r->got.data + (256u << 10), d, total) == 0);
	/* The third transmission arrives. A fourth may follow when its ACK comes later than a
	 * round trip and a quarter (valgrind, or a loaded machine: the clean-clone run of 5bb7dc3
	 * saw 4 under valgrind): a spurious resend, not the timer's. */
	unsigned sent = r->arrivals[(uint16_t)(r->first + hole)];
	ck_assert_msg(sent == 3 || sent == 4, "the hole arrived %u times", sent);
	/* Under valgrind a stall can hold the ACKs that would apply the rule until a tail-loss
	 * probe went (2 of 12 runs on an idle machine, and the clean-clone run of 68f8d69): a
	 * probe is accepted there, the timer is not (it declares the whole window lost, what
	 * the rule is for). Elsewhere, as before, neither. */
	bool slow = getenv("DP_UNDER_VALGRIND") != NULL;
	ck_assert_msg(c->cc.timeouts == 0 && (c->tail_probes == 0 || slow),
	    "the hole was found by the timer (%u timeouts, %llu tail probes)", c->cc.timeouts,
	    (unsigned long long)c->tail_probes);
	free(warm);
	free(d);
	tx_close(&t);
	rx_close(r);
	event_base_free(base);
}
END_TEST

START_TEST(test_utp_long_sack)
{
	/* Selective ACKs past 256 packets. Read: a codec round trip of a 128-byte mask, and a
	 * longer one (libtorrent sends its whole reorder buffer's span) cut to what we read. */
	struct utp_header h = { .type = UTP_ST_STATE, .conn_id = 1, .seq = 5, .ack = 100,
		.sack_len = UTP_SACK_MAX };
	ck_assert_uint_ge(UTP_SACK_MAX * 8u, 1000u);
	h.sack[UTP_SACK_MAX - 1] = 0x80;
	uint8_t buf[UTP_HEADER_LEN + 2 + 200];
	size_t n = utp_packet_write(&h, buf);
	struct utp_header g;
	size_t off;
	ck_assert(utp_packet_parse(buf, n, &g, &off));
	;
	ck_assert_uint_eq(g.sack_len, UTP_SACK_MAX);
	ck_assert(utp_packet_sack_has(&g, (uint16_t)(100 + 2 + UTP_SACK_MAX * 8 - 1)));
	ck_assert(!utp_packet_sack_has(&g, (uint16_t)(100 + 2 + UTP_SACK_MAX * 8 - 2)));
	buf[UTP_HEADER_LEN + 1] = 150;
	memset(buf + UTP_HEADER_LEN + 2, 0xff, 150);
	ck_assert(utp_packet_parse(buf, UTP_HEADER_LEN + 2 + 150, &g, &off));
	ck_assert_uint_eq(g.sack_len, UTP_SACK_MAX);

	/* Written: our receiver holding 900 packets past a hole says so for all of them. */
	struct event_base *base = event_base_new();
	struct rx *r = rx_open(base, 8u << 20, UTP_SACK_MAX, 0);
	struct tx t;
	tx_open(&t, base, r);
	uint16_t next = r->seq;         /* our STATE's seq_nr: the next data packet of ours */
	uint8_t payload[100];
	memset(payload, 'x', sizeof payload);
	for (uint16_t i = 1; i <= 900; i++)
		rx_send_data(r, (uint16_t)(next + i), payload, sizeof payload);
	RUN_UNTIL(base, r->last_state.sack_len >= 112, 5);
	ck_assert_uint_ge(r->max_sack_in, 112);      /* bit 898: packet next + 900 */
	ck_assert_uint_eq(r->last_state.ack, (uint16_t)(next - 1));
	for (uint16_t i = 1; i <= 900; i++)
		ck_assert(utp_packet_sack_has(&r->last_state, (uint16_t)(next + i)));
	/* The hole filled, everything is delivered in order. */
	rx_send_data(r, next, payload, sizeof payload);
	RUN_UNTIL(base, t.got.len >= 901 * sizeof payload, 5);
	ck_assert_uint_eq(t.got.len, 901 * sizeof payload);
	tx_close(&t);
	rx_close(r);
	event_base_free(base);
}
END_TEST

/* Past the hole (c->acked + 1): the packets acknowledged (their slots freed). */
static unsigned
utp_acked_past_hole(const struct utp_conn *c)
{
	unsigned n = 0;
	for (uint16_t i = 2; i <= (uint16_t)(c->seq_nr - c->acked - 1); i++)
		n += c->out[(uint16_t)(c->acked + i) & (UTP_SEND_RING - 1)] == NULL;
	return n;
}

START_TEST(test_utp_long_sack_read)
{
	/* Read, by the sender: a window of 900 packets behind a hole lost three times; the
	 * receiver's long mask (libtorrent's) acknowledges all of them while the hole waits, so
	 * nothing past it is left to be declared lost by a timeout. Cut at 32 bytes, 640 of them
	 * stayed unacknowledged: a timeout then counted them lost and resent them (595 packets
	 * declared lost that arrived, in a downpour -> libtorrent run with 6 timeouts). */
	struct event_base *base = event_base_new();
	struct rx *r = rx_open(base, 8u << 20, UTP_SACK_MAX, 25);
	struct tx t;
	struct utp_conn *c = tx_open(&t, base, r);
	uint8_t *warm = rx_pattern(256u << 10, 12);
	tx_send_all(&t, r, warm, 256u << 10, 10);
	c->cc.cwnd = c->cc.ssthresh = 1000 * c->mss;
	c->cc.slow_start = false;
	uint16_t hole = (uint16_t)(r->ack_nr + 1);
	r->drop[(uint16_t)(hole - r->first)] = 7;
	size_t size = 900 * (size_t)c->mss;
	uint8_t *d = rx_pattern(size, 13);
	size_t want = r->got.len + size;
	bufferevent_write(t.bev, d, size);
	RUN_UNTIL(base, r->arrivals[hole] >= 3, 10);
	ck_assert_uint_ge(r->arrivals[hole], 3);
	/* More than 256 packets past the hole (what a 32-byte mask covers) acknowledged while
	 * the hole still waits (its losses outlast this). Waited for, not judged by their age:
	 * counting those sent two round trips ago as due failed under load (an ASan build beside
	 * busy processes, 3 runs in 80: '112 packets past the hole not acknowledged'), the loop
	 * having stalled with their ACKs still in the receiver's delay. Cut at 32 bytes, no more
	 * than 256 are ever acknowledged and the wait ends at its bound. */
	unsigned acked = 0;
	RUN_UNTIL(base, (uint16_t)(c->acked + 1) != hole ||
	    (acked = utp_acked_past_hole(c)) > 256, 10);
	ck_assert_msg((uint16_t)(c->acked + 1) == hole && acked > 256, "%u packets past the "
	    "hole acknowledged while it waited (%s)", acked,
	    (uint16_t)(c->acked + 1) == hole ? "still waits" : "filled since");
	RUN_UNTIL(base, r->got.len >= want, 10);
	ck_assert_uint_eq(r->got.len, want);
	free(warm);
	free(d);
	tx_close(&t);
	rx_close(r);
	event_base_free(base);
}
END_TEST

Suite *
utp_recovery_suite(void)
{
	Suite *s = suite_create("utp_recovery");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_utp_hole_resend_fits_window);
	tcase_add_test(tc, test_utp_tail_loss_probe);
	tcase_add_test(tc, test_utp_resent_hole_lost_again);
	tcase_add_test(tc, test_utp_long_sack);
	tcase_add_test(tc, test_utp_long_sack_read);
	suite_add_tcase(s, tc);
	return s;
}
