/* utp.c: the uTP engine: claims uTP datagrams on the shared UDP sockets, finds their connection
 * (by address and receive id), accepts SYNs, answers strays with RESET, opens outgoing
 * connections, and runs connections' sends and ACKs once per batch of datagrams. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "log.h"
#include "net.h"
#include "udp_socket.h"
#include "util.h"
#include "utp_private.h"

#define UTP_TICK_MS 250u

uint32_t
utp_now_micro(void)
{
	return (uint32_t)dp_now_us();
}

static uint32_t
utp_engine_hash(const struct sockaddr *sa, uint16_t id)
{
	/* FNV-1a over the address, port and id. */
	uint32_t h = 2166136261u;
	const uint8_t *p;
	size_t n;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
		p = (const uint8_t *)&s->sin_addr;
		n = 4;
		h = (h ^ (s->sin_port & 0xffu)) * 16777619u;
		h = (h ^ (s->sin_port >> 8)) * 16777619u;
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
		p = (const uint8_t *)&s->sin6_addr;
		n = 16;
		h = (h ^ (s->sin6_port & 0xffu)) * 16777619u;
		h = (h ^ (s->sin6_port >> 8)) * 16777619u;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ (id & 0xffu)) * 16777619u;
	h = (h ^ (id >> 8)) * 16777619u;
	return h;
}

static struct utp_conn *
utp_engine_find(struct utp_engine *eng, const struct sockaddr *sa, uint16_t recv_id)
{
	uint32_t h = utp_engine_hash(sa, recv_id) & (uint32_t)(eng->nbuckets - 1);
	for (struct utp_conn *c = eng->buckets[h]; c != NULL; c = c->hnext)
		if (c->recv_id == recv_id && c->state != UTP_DEAD &&
		    sockaddr_equal((const struct sockaddr *)&c->addr, sa, true))
			return c;
	return NULL;
}

static void
utp_engine_hash_insert(struct utp_engine *eng, struct utp_conn *c)
{
	if (eng->nconns + 1 > eng->nbuckets) {
		/* Grow: keep chains short (O(1) lookups at any number of connections). */
		size_t nb = eng->nbuckets * 2;
		struct utp_conn **b = xcalloc(nb, sizeof *b);
		for (size_t i = 0; i < eng->nbuckets; i++) {
			struct utp_conn *x = eng->buckets[i];
			while (x != NULL) {
				struct utp_conn *nx = x->hnext;
				uint32_t h = utp_engine_hash((struct sockaddr *)&x->addr, x->recv_id) &
				    (uint32_t)(nb - 1);
				x->hnext = b[h];
				b[h] = x;
				x = nx;
			}
		}
		free(eng->buckets);
		eng->buckets = b;
		eng->nbuckets = nb;
	}
	uint32_t h = utp_engine_hash((struct sockaddr *)&c->addr, c->recv_id) &
	    (uint32_t)(eng->nbuckets - 1);
	c->hnext = eng->buckets[h];
	eng->buckets[h] = c;
	eng->nconns++;
	c->next = eng->all;
	if (eng->all)
		eng->all->prev = c;
	eng->all = c;
	eng->st.connections = eng->nconns;
}

void
utp_engine_unhash(struct utp_engine *eng, struct utp_conn *c)
{
	uint32_t h = utp_engine_hash((struct sockaddr *)&c->addr, c->recv_id) &
	    (uint32_t)(eng->nbuckets - 1);
	for (struct utp_conn **pp = &eng->buckets[h]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			eng->nconns--;
			break;
		}
	}
	if (c->prev)
		c->prev->next = c->next;
	else if (eng->all == c)
		eng->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = c->hnext = NULL;
	eng->st.connections = eng->nconns;
}

void
utp_engine_queue(struct utp_engine *eng, struct utp_conn *c)
{
	if (c->queued)
		return;
	c->queued = true;
	bool first = eng->flush_head == NULL;
	c->fnext = eng->flush_head;
	eng->flush_head = c;
	/* After the current callback (the whole batch of datagrams): one ACK per batch. The
	 * event is activated once per batch, not per connection (it takes the base's lock). */
	if (first)
		event_active(eng->flush_ev, EV_TIMEOUT, 0);
}

static void
utp_engine_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct utp_engine *eng = arg;
	(void)fd;
	(void)what;
	/* Bounded: a connection queued again while flushing waits for the next activation. */
	struct utp_conn *list = eng->flush_head;
	eng->flush_head = NULL;
	while (list != NULL) {
		struct utp_conn *c = list;
		list = c->fnext;
		c->fnext = NULL;
		c->queued = false;
		utp_conn_flush(c);
	}
}

static void
utp_engine_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct utp_engine *eng = arg;
	(void)fd;
	(void)what;
	uint64_t now = dp_now_us();
	for (struct utp_conn *c = eng->all; c != NULL; c = c->next)
		utp_conn_tick(c, now);
}

int
utp_engine_send(struct utp_engine *eng, struct utp_conn *c, const uint8_t *d, size_t len)
{
	int r = udp_socket_send(c->sock, d, len, (struct sockaddr *)&c->addr, c->addrlen);
	if (r == 0)
		eng->st.packets_out++;
	return r;
}

/* A RESET for a packet of a connection we don't know (BEP 29: "the remote host does not have
 * any state for this connection"). Never for a RESET: two strangers must not ping-pong. */
static void
utp_engine_send_reset(struct utp_engine *eng, struct udp_socket *s, const struct sockaddr *to,
    socklen_t tolen, const struct utp_header *h)
{
	if (h->type == UTP_ST_RESET)
		return;
	struct utp_header r = { .type = UTP_ST_RESET, .conn_id = h->conn_id,
		.ts_us = utp_now_micro(), .ts_diff_us = utp_now_micro() - h->ts_us,
		.seq = (uint16_t)(dp_now_us() & 0xffff), .ack = h->seq };
	uint8_t buf[UTP_HEADER_LEN];
	size_t n = utp_packet_write(&r, buf);
	if (udp_socket_send(s, buf, n, to, tolen) == 0)
		eng->st.resets_sent++;
}

static void
utp_engine_syn(struct utp_engine *eng, struct udp_socket *s, const struct utp_header *h,
    const struct sockaddr *from, socklen_t fromlen)
{
	/* A repeated SYN: our STATE was lost; the connection answers again. */
	struct utp_conn *c = utp_engine_find(eng, from, (uint16_t)(h->conn_id + 1));
	if (c != NULL) {
		if (c->incoming)
			utp_conn_accept_syn(c, h);
		return;
	}
	if (!eng->accepting) {
		eng->st.refused++;
		utp_engine_send_reset(eng, s, from, fromlen, h);
		return;
	}
	struct bufferevent *user = NULL;
	c = utp_conn_new(eng, s, from, fromlen, true, (uint16_t)(h->conn_id + 1), &user);
	if (c == NULL)
		return;
	utp_engine_hash_insert(eng, c);
	/* Asked before the STATE goes: a refused peer sees only the RESET. */
	if (!eng->accept_fn(eng->accept_arg, user, from, fromlen)) {
		eng->st.refused++;
		bufferevent_free(user);
		utp_conn_reset(c, ECONNREFUSED);
		utp_engine_send_reset(eng, s, from, fromlen, h);
		return;
	}
	utp_conn_accept_syn(c, h);
}

bool
utp_engine_datagram(void *arg, const uint8_t *data, size_t len, const struct sockaddr *from,
    socklen_t fromlen)
{
	struct udp_socket *s = NULL;
	struct utp_engine *eng = arg;
	if (!utp_packet_looks_like(data, len))
		return false;
	for (int i = 0; i < 2; i++)
		if (eng->socks[i] != NULL && udp_socket_family(eng->socks[i]) == from->sa_family)
			s = eng->socks[i];
	struct utp_header h;
	size_t off;
	if (s == NULL || !utp_packet_parse(data, len, &h, &off))
		return true;      /* uTP's, but broken: nobody else wants it either */
	eng->st.packets_in++;
	if (h.type == UTP_ST_SYN) {
		utp_engine_syn(eng, s, &h, from, fromlen);
		return true;
	}
	struct utp_conn *c = utp_engine_find(eng, from, h.conn_id);
	if (c == NULL && h.type == UTP_ST_RESET) {
		/* A RESET may carry either of our ids (libutp sends the one it was sent). */
		c = utp_engine_find(eng, from, (uint16_t)(h.conn_id + 1));
		if (c == NULL || c->send_id != h.conn_id)
			c = utp_engine_find(eng, from, (uint16_t)(h.conn_id - 1));
		if (c != NULL && c->send_id != h.conn_id)
			c = NULL;
	}
	if (c == NULL) {
		utp_engine_send_reset(eng, s, from, fromlen, &h);
		return true;
	}
	utp_conn_packet(c, &h, data + off, len - off);
	return true;
}

struct utp_engine *
utp_engine_new(struct event_base *base, utp_accept_fn accept, void *arg)
{
	struct utp_engine *eng = xcalloc(1, sizeof *eng);
	eng->base = base;
	eng->accept_fn = accept;
	eng->accept_arg = arg;
	eng->accepting = true;
	eng->nbuckets = 64;
	eng->buckets = xcalloc(eng->nbuckets, sizeof *eng->buckets);
	eng->flush_ev = event_new(base, -1, 0, utp_engine_flush_cb, eng);
	eng->tick_ev = event_new(base, -1, EV_PERSIST, utp_engine_tick_cb, eng);
	if (eng->flush_ev == NULL || eng->tick_ev == NULL) {
		utp_engine_free(eng);
		return NULL;
	}
	struct timeval tv = { 0, UTP_TICK_MS * 1000 };
	event_add(eng->tick_ev, &tv);
	return eng;
}

void
utp_engine_add_socket(struct utp_engine *u, struct udp_socket *s)
{
	int i = udp_socket_family(s) == AF_INET ? 0 : 1;
	u->socks[i] = s;
	udp_socket_add_handler(s, utp_engine_datagram, u);
}

void
utp_engine_set_accepting(struct utp_engine *u, bool on)
{
	u->accepting = on;
}

void
utp_engine_detach(struct utp_engine *u)
{
	for (int i = 0; i < 2; i++) {
		if (u->socks[i] != NULL)
			udp_socket_remove_handler(u->socks[i], utp_engine_datagram, u);
	}
}

void
utp_engine_free(struct utp_engine *u)
{
	if (u == NULL)
		return;
	while (u->all != NULL) {
		struct utp_conn *c = u->all;
		if (c->state != UTP_DEAD)
			utp_conn_reset(c, ECONNRESET);
		utp_engine_unhash(u, c);
		utp_conn_free(c);
	}
	utp_engine_detach(u);
	if (u->flush_ev)
		event_free(u->flush_ev);
	if (u->tick_ev)
		event_free(u->tick_ev);
	free(u->buckets);
	free(u);
}

struct bufferevent *
utp_connect(struct utp_engine *u, const struct sockaddr *sa, socklen_t len)
{
	struct udp_socket *s = u->socks[sa->sa_family == AF_INET ? 0 : 1];
	if (s == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	uint16_t id = 0;
	for (int tries = 0; tries < 64; tries++) {
		if (RAND_bytes((uint8_t *)&id, sizeof id) != 1)
			id = (uint16_t)dp_now_us();
		/* Our receive id and the peer's (id + 1) must both be free for this address. */
		if (utp_engine_find(u, sa, id) == NULL && utp_engine_find(u, sa, (uint16_t)(id + 1)) ==
		    NULL && utp_engine_find(u, sa, (uint16_t)(id - 1)) == NULL)
			break;
	}
	struct bufferevent *user = NULL;
	struct utp_conn *c = utp_conn_new(u, s, sa, len, false, id, &user);
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	utp_engine_hash_insert(u, c);
	utp_conn_send_syn(c);
	return user;
}

void
utp_engine_stats(const struct utp_engine *u, struct utp_engine_stats *out)
{
	*out = u->st;
}
