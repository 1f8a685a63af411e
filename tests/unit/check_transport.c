/* check_transport.c: the connection policy between two nodes on loopback (each a transport with
 * a TCP listener and a UDP socket): the TCP/uTP race and uTP when TCP is closed, MSE by policy
 * with RC4 both ways, plaintext sniffed and refused under "required", the one plaintext retry
 * after a failed encrypted attempt, and what is remembered per address. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "mse.h"
#include "suites.h"
#include "test_helpers.h"
#include "transport.h"
#include "udp_socket.h"
#include "util.h"

static const uint8_t tt_hash[20] = "transport-test-hash!";
#define TT_HELLO MSE_BT_PREFIX " and a little more of a handshake"

struct tt_end {
	struct bufferevent *bev;
	struct transport_info info;
	bool done, failed, eof;
	char why[200];
	struct dp_buf got;
};

struct tt_node {
	struct event_base *base;
	struct transport *tr;
	struct udp_socket *udp;
	struct evconnlistener *lis;
	int port;
	bool plain_only;                /* no MSE: a peer that closes on anything but plaintext */
	struct tt_end in;               /* the last incoming connection, or the one that got in */
	struct tt_end extra;            /* an incoming one while `in` holds a connection */
	struct transport_conn *pending;
};

static void
tt_read_cb(struct bufferevent *bev, void *arg)
{
	struct tt_end *e = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);
	dp_buf_reserve(&e->got, n);
	evbuffer_remove(in, e->got.data + e->got.len, n);
	e->got.len += n;
}

static void
tt_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tt_end *e = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		e->eof = true;
}

static void
tt_done(void *arg, struct bufferevent *bev, const struct transport_info *info, const char *why)
{
	struct tt_end *e = arg;
	e->done = true;
	e->info = *info;
	if (bev == NULL) {
		e->failed = true;
		snprintf(e->why, sizeof e->why, "%s", why);
		return;
	}
	e->bev = bev;
	bufferevent_setcb(bev, tt_read_cb, NULL, tt_event_cb, e);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
tt_end_reset(struct tt_end *e)
{
	if (e->bev != NULL)
		bufferevent_free(e->bev);
	dp_buf_free(&e->got);
	memset(e, 0, sizeof *e);
	dp_buf_init(&e->got);
}

/* An incoming connection's outcome lands in `in` unless `in` already holds one that got in:
 * when the dialler races TCP and uTP both may reach us, and the loser, failing after the
 * winner got in, must not replace it (under load it did, and the race test failed). */
static void
tt_in_done(void *arg, struct bufferevent *bev, const struct transport_info *info, const char *why)
{
	struct tt_node *n = arg;
	struct tt_end *e = n->in.done && !n->in.failed ? &n->extra : &n->in;
	tt_end_reset(e);
	tt_done(e, bev, info, why);
}

static bool
tt_incoming_utp(void *arg, struct bufferevent *raw, const struct sockaddr *sa, socklen_t len)
{
	struct tt_node *n = arg;
	n->pending = transport_accept(n->tr, raw, sa, len, true, tt_in_done, n);
	return n->pending != NULL;
}

/* A peer without MSE: keeps a connection whose first bytes are a plaintext handshake. */
static void
tt_plain_read_cb(struct bufferevent *bev, void *arg)
{
	struct tt_node *n = arg;
	uint8_t first[MSE_BT_PREFIX_LEN];
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t k = DP_MIN(evbuffer_get_length(in), sizeof first);
	evbuffer_copyout(in, first, k);
	int plain = mse_sniff_plaintext(first, k);
	if (plain < 0)
		return;
	if (plain == 0) {
		bufferevent_free(bev);
		return;
	}
	tt_end_reset(&n->in);
	n->in.done = true;
	n->in.bev = bev;
	bufferevent_setcb(bev, tt_read_cb, NULL, tt_event_cb, &n->in);
	tt_read_cb(bev, &n->in);
}

static void
tt_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
    void *arg)
{
	struct tt_node *n = arg;
	(void)l;
	struct bufferevent *raw = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(raw);
	if (n->plain_only) {
		bufferevent_setcb(raw, tt_plain_read_cb, NULL, NULL, n);
		bufferevent_enable(raw, EV_READ | EV_WRITE);
		return;
	}
	n->pending = transport_accept(n->tr, raw, sa, (socklen_t)len, false, tt_in_done, n);
}

static void
tt_node_open(struct tt_node *n, struct event_base *base, enum dp_encryption enc,
    bool tcp, bool utp)
{
	memset(n, 0, sizeof *n);
	n->base = base;
	dp_buf_init(&n->in.got);
	dp_buf_init(&n->extra.got);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char err[256];
	/* The TCP listener takes the UDP socket's port number, which another process may hold:
	 * a few fresh UDP ports before giving up. */
	for (int attempt = 0; attempt < 20; attempt++) {
		sin.sin_port = 0;
		n->udp = udp_socket_new(base, (struct sockaddr *)&sin, sizeof sin, err, sizeof err);
		ck_assert_msg(n->udp != NULL, "%s", err);
		n->port = udp_socket_port(n->udp);
		if (!tcp)
			break;
		sin.sin_port = htons((uint16_t)n->port);
		n->lis = evconnlistener_new_bind(base, tt_accept_cb, n, LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_REUSEABLE, 16, (struct sockaddr *)&sin, sizeof sin);
		if (n->lis != NULL)
			break;
		udp_socket_free(n->udp);
		n->udp = NULL;
	}
	ck_assert_ptr_nonnull(n->udp);
	ck_assert(!tcp || n->lis != NULL);
	struct transport_settings set = { .encryption = enc, .utp = utp };
	n->tr = transport_new(base, n->udp, NULL, &set, tt_incoming_utp, n);
	transport_add_torrent(n->tr, tt_hash);
}

static void
tt_node_close(struct tt_node *n)
{
	tt_end_reset(&n->in);
	dp_buf_free(&n->in.got);
	tt_end_reset(&n->extra);
	dp_buf_free(&n->extra.got);
	if (n->lis != NULL)
		evconnlistener_free(n->lis);
	transport_free(n->tr);
	udp_socket_free(n->udp);
	th_loop_run(n->base, 10);
}

/* A dials B; out says how it went. */
static void
tt_dial(struct tt_node *a, struct tt_node *b, struct tt_end *out)
{
	struct sockaddr_in to;
	memset(&to, 0, sizeof to);
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((uint16_t)b->port);
	char err[128];
	dp_buf_init(&out->got);
	ck_assert_ptr_nonnull(transport_connect(a->tr, (struct sockaddr *)&to, sizeof to, tt_hash,
	    NULL, 0, tt_done, out, err, sizeof err));
	RUN_UNTIL(a->base, out->done, 15);
	ck_assert(out->done);
}

/* A dials B and they trade a handshake-looking greeting and a reply. */
static void
tt_exchange(struct tt_node *a, struct tt_node *b, struct tt_end *out)
{
	tt_dial(a, b, out);
	if (out->failed)
		return;
	bufferevent_write(out->bev, TT_HELLO, strlen(TT_HELLO));
	RUN_UNTIL(a->base, b->in.got.len >= strlen(TT_HELLO), 10);
	ck_assert_uint_eq(b->in.got.len, strlen(TT_HELLO));
	ck_assert(memcmp(b->in.got.data, TT_HELLO, strlen(TT_HELLO)) == 0);
	bufferevent_write(b->in.bev, "reply", 5);
	RUN_UNTIL(a->base, out->got.len >= 5, 10);
	ck_assert_uint_eq(out->got.len, 5);
	ck_assert(memcmp(out->got.data, "reply", 5) == 0);
}

START_TEST(test_transport_encrypted_race)
{
	struct event_base *base = event_base_new();
	struct tt_node a, b;
	tt_node_open(&a, base, DP_ENCRYPTION_PREFERRED, true, true);
	tt_node_open(&b, base, DP_ENCRYPTION_PREFERRED, true, true);
	struct tt_end e = { 0 };
	tt_exchange(&a, &b, &e);
	ck_assert_msg(!e.failed, "%s", e.why);
	ck_assert(e.info.encrypted && e.info.mse && !e.info.incoming);
	ck_assert(b.in.info.encrypted && b.in.info.incoming);
	ck_assert(e.info.utp == b.in.info.utp);
	tt_end_reset(&e);
	dp_buf_free(&e.got);
	tt_node_close(&a);
	tt_node_close(&b);
	event_base_free(base);
}
END_TEST

/* Megabytes both ways through RC4 (and over uTP): byte for byte, whatever the chunking. */
static void
tt_bulk(bool tcp)
{
	struct event_base *base = event_base_new();
	struct tt_node a, b;
	tt_node_open(&a, base, DP_ENCRYPTION_REQUIRED, true, !tcp);
	tt_node_open(&b, base, DP_ENCRYPTION_REQUIRED, tcp, !tcp);
	struct tt_end e = { 0 };
	tt_exchange(&a, &b, &e);
	ck_assert_msg(!e.failed, "%s", e.why);
	ck_assert(e.info.encrypted && e.info.utp == !tcp);
	size_t n = 6u << 20;
	uint8_t *ab = xmalloc(n), *ba = xmalloc(n);
	for (size_t i = 0; i < n; i++) {
		ab[i] = (uint8_t)(i * 31 + (i >> 13));
		ba[i] = (uint8_t)(i * 17 + (i >> 11));
	}
	/* Written in uneven pieces, some by reference (as blocks are served). */
	for (size_t off = 0; off < n;) {
		size_t k = DP_MIN(n - off, (size_t)(1000 + off % 70000));
		if ((off / 7) % 2)
			evbuffer_add_reference(bufferevent_get_output(e.bev), ab + off, k, NULL, NULL);
		else
			bufferevent_write(e.bev, ab + off, k);
		bufferevent_write(b.in.bev, ba + off, k);
		off += k;
	}
	RUN_UNTIL(base, b.in.got.len >= strlen(TT_HELLO) + n && e.got.len >= 5 + n, 60);
	ck_assert_uint_eq(b.in.got.len, strlen(TT_HELLO) + n);
	ck_assert_uint_eq(e.got.len, 5 + n);
	ck_assert(memcmp(b.in.got.data + strlen(TT_HELLO), ab, n) == 0);
	ck_assert(memcmp(e.got.data + 5, ba, n) == 0);
	free(ab);
	free(ba);
	tt_end_reset(&e);
	dp_buf_free(&e.got);
	tt_node_close(&a);
	tt_node_close(&b);
	event_base_free(base);
}

START_TEST(test_transport_bulk_rc4)
{
	tt_bulk(true);
	tt_bulk(false);
}
END_TEST

START_TEST(test_transport_utp_when_tcp_closed)
{
	struct event_base *base = event_base_new();
	struct tt_node a, b;
	tt_node_open(&a, base, DP_ENCRYPTION_REQUIRED, true, true);
	tt_node_open(&b, base, DP_ENCRYPTION_REQUIRED, false, true);     /* no TCP listener */
	struct tt_end e = { 0 };
	tt_exchange(&a, &b, &e);
	ck_assert_msg(!e.failed, "%s", e.why);
	ck_assert(e.info.utp && e.info.encrypted);
	ck_assert(b.in.info.utp && b.in.info.encrypted);
	ck_assert_str_eq(transport_info_name(&e.info), "uTP+RC4");
	tt_end_reset(&e);
	dp_buf_free(&e.got);
	tt_node_close(&a);
	tt_node_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_transport_plaintext_and_required)
{
	struct event_base *base = event_base_new();
	struct tt_node a, b;
	/* Tolerated to preferred: plaintext TCP, the socket's own bufferevent. */
	tt_node_open(&a, base, DP_ENCRYPTION_TOLERATED, true, false);
	tt_node_open(&b, base, DP_ENCRYPTION_PREFERRED, true, false);
	struct tt_end e = { 0 };
	tt_exchange(&a, &b, &e);
	ck_assert_msg(!e.failed, "%s", e.why);
	ck_assert(!e.info.encrypted && !e.info.mse && !e.info.utp);
	ck_assert(bufferevent_getfd(e.bev) >= 0 && bufferevent_get_underlying(e.bev) == NULL);
	ck_assert(!b.in.info.mse);
	tt_end_reset(&e);
	dp_buf_free(&e.got);
	tt_node_close(&b);
	/* Tolerated to required: the plaintext greeting is refused... */
	tt_node_open(&b, base, DP_ENCRYPTION_REQUIRED, true, false);
	memset(&e, 0, sizeof e);
	tt_dial(&a, &b, &e);
	ck_assert(!e.failed);      /* TCP connected; the refusal comes as a close */
	bufferevent_write(e.bev, TT_HELLO, strlen(TT_HELLO));
	RUN_UNTIL(base, b.in.done && e.eof, 10);
	ck_assert(b.in.failed);
	ck_assert_ptr_nonnull(strstr(b.in.why, "plaintext refused"));
	ck_assert(e.eof);
	/* ...which the dialler remembers: its next attempt there is encrypted, and gets in. */
	struct sockaddr_in to;
	memset(&to, 0, sizeof to);
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((uint16_t)b.port);
	transport_outcome(a.tr, (struct sockaddr *)&to, &e.info, false);
	tt_end_reset(&e);
	dp_buf_free(&e.got);
	memset(&e, 0, sizeof e);
	tt_exchange(&a, &b, &e);
	ck_assert_msg(!e.failed, "%s", e.why);
	ck_assert(e.info.encrypted);
	tt_end_reset(&e);
	dp_buf_free(&e.got);
	tt_node_close(&a);
	tt_node_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_transport_plaintext_retry)
{
	struct event_base *base = event_base_new();
	struct tt_node a, b;
	tt_node_open(&a, base, DP_ENCRYPTION_PREFERRED, true, false);
	tt_node_open(&b, base, DP_ENCRYPTION_PREFERRED, true, false);
	b.plain_only = true;
	struct tt_end e = { 0 };
	tt_exchange(&a, &b, &e);
	ck_assert_msg(!e.failed, "%s", e.why);
	ck_assert(!e.info.mse && !e.info.encrypted);
	struct transport_stats st;
	transport_stats(a.tr, &st);
	ck_assert_uint_eq(st.plaintext_fallbacks, 1);
	tt_end_reset(&e);
	dp_buf_free(&e.got);
	/* Required: no plaintext retry, the attempt fails. */
	tt_node_close(&a);
	tt_node_open(&a, base, DP_ENCRYPTION_REQUIRED, true, false);
	memset(&e, 0, sizeof e);
	tt_exchange(&a, &b, &e);
	ck_assert(e.failed);
	ck_assert_ptr_nonnull(strstr(e.why, "encryption handshake failed"));
	transport_stats(a.tr, &st);
	ck_assert_uint_eq(st.plaintext_fallbacks, 0);
	dp_buf_free(&e.got);
	tt_node_close(&a);
	tt_node_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_transport_unknown_torrent)
{
	struct event_base *base = event_base_new();
	struct tt_node a, b;
	tt_node_open(&a, base, DP_ENCRYPTION_REQUIRED, true, false);
	tt_node_open(&b, base, DP_ENCRYPTION_PREFERRED, true, false);
	transport_remove_torrent(b.tr, tt_hash);
	struct tt_end e = { 0 };
	tt_exchange(&a, &b, &e);
	ck_assert(e.failed);
	RUN_UNTIL(base, b.in.done, 5);
	ck_assert(b.in.failed);
	ck_assert_ptr_nonnull(strstr(b.in.why, "torrent we do not have"));
	dp_buf_free(&e.got);
	tt_node_close(&a);
	tt_node_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(test_transport_names)
{
	struct transport_info i = { .utp = false, .encrypted = false };
	ck_assert_str_eq(transport_info_name(&i), "TCP");
	i.encrypted = i.mse = true;
	ck_assert_str_eq(transport_info_name(&i), "TCP+RC4");
}
END_TEST

Suite *
transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_transport_names);
	tcase_add_test(tc, test_transport_encrypted_race);
	tcase_add_test(tc, test_transport_bulk_rc4);
	tcase_add_test(tc, test_transport_utp_when_tcp_closed);
	tcase_add_test(tc, test_transport_plaintext_and_required);
	tcase_add_test(tc, test_transport_plaintext_retry);
	tcase_add_test(tc, test_transport_unknown_torrent);
	suite_add_tcase(s, tc);
	return s;
}
