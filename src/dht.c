/* dht.c: the DHT node on the loop: datagrams in (claimed from the shared UDP sockets), queries
 * answered within the rate limits and the amplification bound, our transactions and their
 * timeouts, the node's task and counters. Lookups live in dht_search.c, bootstrap and the saved
 * table in dht_boot.c. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "dht_private.h"
#include "dht_store.h"
#include "log.h"
#include "net.h"
#include "task.h"
#include "udp_socket.h"
#include "util.h"

/* "v" of our messages: client code and version (BEP 5 leaves the format to clients). */
static const uint8_t dht_version[4] = { 'D', 'P', 0, 1 };

/* The decoded message being handled (the loop runs one handler at a time). */
static struct krpc_msg dht_msg;

uint32_t
dht_random(struct dht *d)
{
	/* xorshift64*: fast and good enough for picking subsets and slots; secrets and IDs come
	 * from RAND_bytes. */
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return (uint32_t)((d->rng * 2685821657736338717ull) >> 32);
}

void
dht_random_bytes(struct dht *d, uint8_t *out, size_t n)
{
	if (RAND_bytes(out, (int)n) == 1)
		return;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)dht_random(d);
}

struct dht_family *
dht_family_of(struct dht *d, int af)
{
	struct dht_family *f = af == AF_INET ? &d->fam[0] : af == AF_INET6 ? &d->fam[1] : NULL;
	return f != NULL && f->u != NULL ? f : NULL;
}

/* ---- rate limits ---- */

static void
dht_bucket_refill(double *tokens, uint64_t *at_ms, double rate, double burst, uint64_t now_ms)
{
	if (now_ms > *at_ms) {
		*tokens += (double)(now_ms - *at_ms) * rate / 1000.0;
		if (*tokens > burst)
			*tokens = burst;
	}
	*at_ms = now_ms;
}

static bool
dht_can_send(struct dht *d, uint64_t now_ms)
{
	dht_bucket_refill(&d->out_tokens, &d->out_at_ms, DHT_OUT_RATE, DHT_OUT_BURST, now_ms);
	return d->out_tokens >= 1.0 && d->nfree > 0;
}

bool
dht_out_allowed(struct dht *d, uint64_t now_ms)
{
	return dht_can_send(d, now_ms);
}

/* The source's rate slot: an IP, or an IP and port for local addresses (several nodes of a
 * test, or of a LAN host, share one IP there). */
static struct dht_source *
dht_source_of(struct dht *d, const struct sockaddr *from, uint64_t now_ms)
{
	uint8_t key[18];
	size_t n = krpc_compact_addr(from, key);
	if (!dht_addr_is_local(from))
		n -= 2;
	uint32_t k = dht_crc32c(key, n);
	struct dht_source *s = &d->sources[k % DHT_SOURCES];
	if (s->key != k || s->at_ms == 0) {
		s->key = k;
		s->tokens = DHT_IN_SOURCE_BURST;
		s->at_ms = now_ms;
		s->pinged_ms = 0;
	}
	return s;
}

static bool
dht_in_allowed(struct dht *d, struct dht_source *s, uint64_t now_ms)
{
	dht_bucket_refill(&d->in_tokens, &d->in_at_ms, DHT_IN_RATE, DHT_IN_RATE, now_ms);
	dht_bucket_refill(&s->tokens, &s->at_ms, DHT_IN_SOURCE_RATE, DHT_IN_SOURCE_BURST, now_ms);
	if (d->in_tokens < 1.0 || s->tokens < 1.0) {
		d->dropped_rate++;
		return false;
	}
	d->in_tokens -= 1.0;
	s->tokens -= 1.0;
	return true;
}

/* ---- transactions ---- */

static void
dht_rpc_unlink(struct dht *d, struct dht_rpc *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		d->inflight_head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		d->inflight_tail = r->prev;
	r->prev = r->next = NULL;
}

static void
dht_rpc_release(struct dht *d, struct dht_rpc *r)
{
	r->used = false;
	r->search = NULL;
	d->free_rpcs[d->nfree++] = (uint16_t)(r - d->rpcs);
}

struct dht_rpc *
dht_send_query(struct dht_family *f, enum krpc_method m, const struct sockaddr *to,
    socklen_t tolen, const uint8_t *id, const uint8_t *target, const uint8_t *token,
    size_t token_len, uint64_t now_ms)
{
	struct dht *d = f->d;
	if (!dht_can_send(d, now_ms) || to->sa_family != f->af || sockaddr_port(to) == 0 ||
	    (d->loopback_only && !sockaddr_is_loopback(to)))
		return NULL;
	uint16_t slot = d->free_rpcs[--d->nfree];
	struct dht_rpc *r = &d->rpcs[slot];
	r->gen++;
	uint8_t tid[4] = { (uint8_t)(slot >> 8), (uint8_t)slot, (uint8_t)(r->gen >> 8),
		(uint8_t)r->gen };
	struct krpc_head h = { tid, sizeof tid, d->version, false };
	struct dp_buf b;
	dp_buf_init(&b);
	switch (m) {
	case KRPC_PING: krpc_enc_ping(&b, &h, d->id); break;
	case KRPC_FIND_NODE: krpc_enc_find_node(&b, &h, d->id, target, false, false); break;
	case KRPC_GET_PEERS: krpc_enc_get_peers(&b, &h, d->id, target, false, false); break;
	case KRPC_ANNOUNCE_PEER:
		krpc_enc_announce_peer(&b, &h, d->id, target, d->peer_port, false, token, token_len);
		break;
	case KRPC_UNKNOWN: break;
	}
	int rc = b.len > 0 ? udp_socket_send(f->u, b.data, b.len, to, tolen) : -1;
	if (rc == 0)
		task_progress(d->task, 0, b.len);
	dp_buf_free(&b);
	d->out_tokens -= 1.0;
	if (rc < 0) {
		d->free_rpcs[d->nfree++] = slot;
		return NULL;
	}
	r->used = true;
	r->fam = f;
	memcpy(&r->to, to, DP_MIN((size_t)tolen, sizeof r->to));
	r->tolen = tolen;
	r->id_known = id != NULL;
	if (id != NULL)
		memcpy(r->id, id, DHT_ID_LEN);
	r->method = m;
	r->sent_ms = now_ms;
	r->search = NULL;
	r->cand = -1;
	r->prev = d->inflight_tail;
	r->next = NULL;
	if (d->inflight_tail != NULL)
		d->inflight_tail->next = r;
	else
		d->inflight_head = r;
	d->inflight_tail = r;
	d->queries_out++;
	return r;
}

void
dht_ping(struct dht_family *f, const struct sockaddr *to, socklen_t tolen, const uint8_t *id,
    uint64_t now_ms)
{
	dht_send_query(f, KRPC_PING, to, tolen, id, NULL, NULL, 0, now_ms);
}

static void
dht_expire_rpcs(struct dht *d, uint64_t now_ms)
{
	while (d->inflight_head != NULL && now_ms - d->inflight_head->sent_ms >= DHT_QUERY_TIMEOUT_MS) {
		struct dht_rpc *r = d->inflight_head;
		dht_rpc_unlink(d, r);
		d->timeouts++;
		if (r->id_known)
			dht_table_failed(&r->fam->table, r->id, (struct sockaddr *)&r->to, now_ms);
		if (r->search != NULL)
			dht_search_answer(r, NULL, now_ms);
		dht_rpc_release(d, r);
	}
}

/* ---- answering queries ---- */

static void
dht_send_answer(struct dht_family *f, struct dp_buf *b, const struct sockaddr *to,
    socklen_t tolen)
{
	if (udp_socket_send(f->u, b->data, b->len, to, tolen) == 0) {
		f->d->answers_out++;
		task_progress(f->d->task, 0, b->len);
	}
}

static void
dht_send_error(struct dht_family *f, const struct krpc_msg *m, const struct sockaddr *to,
    socklen_t tolen, int code, const char *what)
{
	struct krpc_head h = { m->tid, m->tid_len, f->d->version, false };
	struct dp_buf b;
	dp_buf_init(&b);
	krpc_enc_error(&b, &h, code, what);
	dht_send_answer(f, &b, to, tolen);
	dp_buf_free(&b);
}

/* The closest nodes of each family the query wants (BEP 32), or of the one it came on. */
static size_t
dht_answer_nodes(struct dht_family *f, const struct krpc_msg *m, struct krpc_node *out,
    uint64_t now_ms)
{
	size_t n = 0;
	for (int i = 0; i < 2; i++) {
		struct dht_family *g = &f->d->fam[i];
		bool wanted = (m->want4 || m->want6) ? (g->af == AF_INET ? m->want4 : m->want6) :
		    g == f;
		if (wanted && g->u != NULL)
			n += dht_table_closest(&g->table, m->target, out + n, DHT_K, now_ms);
	}
	return n;
}

/* A query's sender: added to the table once it shows that it answers; a sender with room in
 * its bucket is pinged to find out (at most once a minute per source). */
static void
dht_learn_sender(struct dht_family *f, const struct krpc_msg *m, struct dht_source *src,
    const struct sockaddr *from, socklen_t fromlen, uint64_t now_ms)
{
	struct dht_table_action act;
	bool fits = dht_table_heard(&f->table, m->id, from, fromlen, false, now_ms, &act);
	if (!fits || dht_table_find(&f->table, m->id) != NULL)
		return;
	if (src->pinged_ms != 0 && now_ms - src->pinged_ms < DHT_PING_AGAIN_MS)
		return;
	src->pinged_ms = now_ms;
	dht_ping(f, from, fromlen, m->id, now_ms);
}

static void
dht_answer(struct dht_family *f, const struct krpc_msg *m, size_t qlen,
    const struct sockaddr *from, socklen_t fromlen, uint64_t now_ms)
{
	struct dht *d = f->d;
	d->queries_in++;
	struct dht_source *src = dht_source_of(d, from, now_ms);
	if (!dht_in_allowed(d, src, now_ms))
		return;
	if (!m->read_only)
		dht_learn_sender(f, m, src, from, fromlen, now_ms);
	struct krpc_node nodes[2 * DHT_K];
	static struct krpc_peer values[KRPC_MAX_VALUES];
	uint8_t token[DHT_TOKEN_LEN];
	struct krpc_reply r = { d->id, from, nodes, 0, NULL, 0, NULL, 0 };
	switch (m->method) {
	case KRPC_PING:
		break;
	case KRPC_FIND_NODE:
		r.nnodes = dht_answer_nodes(f, m, nodes, now_ms);
		break;
	case KRPC_GET_PEERS:
		dht_token_make(&d->tokens, from, token);
		r.token = token;
		r.token_len = sizeof token;
		r.nvalues = dht_store_get(d->store, m->target, f->af, values, KRPC_MAX_VALUES, now_ms,
		    dht_random(d));
		if (r.nvalues > 0)
			r.values = values;
		else
			r.nnodes = dht_answer_nodes(f, m, nodes, now_ms);
		break;
	case KRPC_ANNOUNCE_PEER: {
		if (!dht_token_check(&d->tokens, from, m->token, m->token_len)) {
			dht_send_error(f, m, from, fromlen, KRPC_ERR_PROTOCOL, "bad token");
			return;
		}
		struct sockaddr_storage peer;
		memcpy(&peer, from, DP_MIN((size_t)fromlen, sizeof peer));
		if (!m->implied_port) {
			if (peer.ss_family == AF_INET)
				((struct sockaddr_in *)&peer)->sin_port = htons(m->port);
			else
				((struct sockaddr_in6 *)&peer)->sin6_port = htons(m->port);
		}
		dht_store_add(d->store, m->target, (struct sockaddr *)&peer, now_ms, dht_random(d));
		break;
	}
	case KRPC_UNKNOWN:
		dht_send_error(f, m, from, fromlen, KRPC_ERR_METHOD, "method unknown");
		return;
	}
	/* No amplification: trim values, then nodes (the other family's first), until the answer
	 * fits DHT_AMP_FACTOR times the query. An answer with neither is always small enough. */
	struct krpc_head h = { m->tid, m->tid_len, d->version, false };
	size_t budget = qlen * DHT_AMP_FACTOR;
	struct dp_buf b;
	dp_buf_init(&b);
	for (;;) {
		b.len = 0;
		krpc_enc_reply(&b, &h, &r);
		if (b.len <= budget)
			break;
		size_t over = b.len - budget;
		if (r.nvalues > 0) {
			size_t drop = over / 8 + 1;       /* an IPv4 value takes 8 bytes */
			r.nvalues = r.nvalues > drop ? r.nvalues - drop : 0;
			if (r.nvalues == 0)
				r.values = NULL;
		} else if (r.nnodes > 0) {
			r.nnodes--;
		} else {
			break;
		}
	}
	dht_send_answer(f, &b, from, fromlen);
	dp_buf_free(&b);
}

/* ---- answers to our queries ---- */

static void
dht_handle_reply(struct dht_family *f, const struct krpc_msg *m, const struct sockaddr *from,
    socklen_t fromlen, uint64_t now_ms)
{
	struct dht *d = f->d;
	if (m->tid_len != 4) {
		d->unexpected++;
		return;
	}
	uint16_t slot = (uint16_t)(m->tid[0] << 8 | m->tid[1]);
	uint16_t gen = (uint16_t)(m->tid[2] << 8 | m->tid[3]);
	struct dht_rpc *r = slot < DHT_MAX_RPCS ? &d->rpcs[slot] : NULL;
	if (r == NULL || !r->used || r->gen != gen || r->fam != f ||
	    !sockaddr_equal((struct sockaddr *)&r->to, from, true)) {
		d->unexpected++;
		return;
	}
	dht_rpc_unlink(d, r);
	d->replies_in++;
	const struct krpc_msg *answer = NULL;
	if (m->type == KRPC_RESPONSE) {
		if (r->id_known && memcmp(r->id, m->id, DHT_ID_LEN) != 0) {
			/* Another node answers at that address now: the one we knew is gone. */
			dht_table_failed(&f->table, r->id, from, now_ms);
		} else {
			struct dht_table_action act;
			dht_table_heard(&f->table, m->id, from, fromlen, true, now_ms, &act);
			if (act.ping)
				dht_ping(f, (struct sockaddr *)&act.node.addr, act.node.addrlen,
				    act.node.id, now_ms);
		}
		if (m->has_ip && f->af == AF_INET)
			dht_boot_vote(d, (const struct sockaddr *)&m->ip, now_ms);
		answer = m;
	}
	if (r->search != NULL)
		dht_search_answer(r, answer, now_ms);
	dht_rpc_release(d, r);
}

static bool
dht_handle_datagram(void *arg, const uint8_t *data, size_t len, const struct sockaddr *from,
    socklen_t fromlen)
{
	struct dht_family *f = arg;
	if (len == 0 || data[0] != 'd')
		return false;
	struct dht *d = f->d;
	task_cb_begin(d->task);
	task_progress(d->task, len, 0);
	uint64_t now = dp_now_ms();
	char why[128];
	if (sockaddr_port(from) == 0 || from->sa_family != f->af) {
		d->malformed++;
	} else if (krpc_decode(data, len, &dht_msg, why, sizeof why) < 0) {
		d->malformed++;
		log_debug("dht: dropped a datagram of %zu bytes: %s", len, why);
		/* A query whose arguments are wrong still hears why (rate limits apply). */
		if (dht_msg.type == KRPC_QUERY) {
			struct dht_source *src = dht_source_of(d, from, now);
			if (dht_in_allowed(d, src, now))
				dht_send_error(f, &dht_msg, from, fromlen, KRPC_ERR_PROTOCOL, why);
		}
	} else if (dht_msg.type == KRPC_QUERY) {
		dht_answer(f, &dht_msg, len, from, fromlen, now);
	} else {
		dht_handle_reply(f, &dht_msg, from, fromlen, now);
	}
	task_cb_end(d->task);
	return true;
}

/* ---- the node's task and timer ---- */

static void
dht_update_task(struct dht *d, uint64_t now_ms)
{
	struct dht_stats st;
	dht_get_stats(d, &st);
	(void)now_ms;
	task_idle(d->task, DP_TASK_READ_WAIT,
	    "%zu nodes (%zu good, %zu questionable), %.1f queries/s in, %.1f out, %zu lookups",
	    st.nodes, st.good, st.questionable, st.in_per_s, st.out_per_s, st.searches);
}

static void
dht_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dht *d = arg;
	(void)fd;
	(void)what;
	task_cb_begin(d->task);
	uint64_t now = dp_now_ms();
	d->ticks++;
	dht_expire_rpcs(d, now);
	dht_search_tick(d, now);
	if (d->ticks % (1000 / DHT_TICK_MS) == 1) {
		d->in_per_s = (double)(d->queries_in - d->last_queries_in);
		d->out_per_s = (double)(d->queries_out - d->last_queries_out);
		d->last_queries_in = d->queries_in;
		d->last_queries_out = d->queries_out;
		dht_boot_tick(d, now);
		uint8_t rnd[DHT_TOKEN_SECRET_LEN];
		if (now - d->tokens.rotated_ms >= DHT_TOKEN_ROTATE_MS) {
			dht_random_bytes(d, rnd, sizeof rnd);
			dht_tokens_rotate(&d->tokens, rnd, now);
		}
		dht_store_expire(d->store, now, 16);
		if (now - d->saved_at_ms >= DHT_SAVE_EVERY_MS)
			dht_boot_save(d, now, true);
		dht_update_task(d, now);
	}
	task_cb_end(d->task);
}

struct dht *
dht_new(struct event_base *base, struct evdns_base *dns, struct disk_pool *pool,
    struct udp_socket *u4, struct udp_socket *u6, const struct dht_config *cfg,
    const struct dht_callbacks *cb, char *err, size_t errlen)
{
	if (u4 == NULL && u6 == NULL) {
		dp_fail(err, errlen, "the DHT needs a UDP socket");
		return NULL;
	}
	struct dht *d = xcalloc(1, sizeof *d);
	d->base = base;
	d->dns = dns;
	d->pool = pool;
	if (cb != NULL)
		d->cb = *cb;
	d->peer_port = cfg != NULL ? cfg->peer_port : 0;
	d->loopback_only = cfg != NULL && cfg->loopback_only;
	memcpy(d->version, dht_version, sizeof d->version);
	if (RAND_bytes((unsigned char *)&d->rng, sizeof d->rng) != 1 || d->rng == 0)
		d->rng = dp_now_us() | 1;
	dht_random_bytes(d, d->id, DHT_ID_LEN);
	uint64_t now = dp_now_ms();
	uint8_t secret[DHT_TOKEN_SECRET_LEN];
	dht_random_bytes(d, secret, sizeof secret);
	dht_tokens_init(&d->tokens, secret, now);
	d->store = dht_store_new();
	for (uint16_t i = 0; i < DHT_MAX_RPCS; i++)
		d->free_rpcs[d->nfree++] = (uint16_t)(DHT_MAX_RPCS - 1 - i);
	d->out_tokens = DHT_OUT_BURST;
	d->in_tokens = DHT_IN_RATE;
	d->out_at_ms = d->in_at_ms = now;
	d->saved_at_ms = now;
	struct udp_socket *us[2] = { u4, u6 };
	int port = 0;
	for (int i = 0; i < 2; i++) {
		struct dht_family *f = &d->fam[i];
		f->d = d;
		f->af = i == 0 ? AF_INET : AF_INET6;
		f->u = us[i];
		dht_table_init(&f->table, d->id, f->af, now);
		if (f->u != NULL) {
			udp_socket_add_handler(f->u, dht_handle_datagram, f);
			port = udp_socket_port(f->u);
		}
	}
	d->task = task_new(DP_TASK_KIND_DHT, 0, "dht node UDP %d", port);
	d->tick = event_new(base, -1, EV_PERSIST, dht_tick_cb, d);
	struct timeval tv = { 0, DHT_TICK_MS * 1000 };
	event_add(d->tick, &tv);
	dht_boot_start(d, cfg);
	char hex[41];
	dp_hex_encode(d->id, DHT_ID_LEN, hex);
	log_info("dht: node %s on UDP port %d (%s%s%s)", hex, port, u4 ? "IPv4" : "",
	    u4 && u6 ? ", " : "", u6 ? "IPv6" : "");
	dht_update_task(d, now);
	return d;
}

void
dht_free(struct dht *d)
{
	if (d == NULL)
		return;
	uint64_t now = dp_now_ms();
	/* At exit without a sync (issue 19): the table is a cache, a crash costs a bootstrap. */
	dht_boot_save(d, now, false);
	for (int i = 0; i < 2; i++)
		if (d->fam[i].u != NULL)
			udp_socket_remove_handler(d->fam[i].u, dht_handle_datagram, &d->fam[i]);
	/* Lookups give back their transactions' references first. */
	for (struct dht_rpc *r = d->inflight_head; r != NULL; r = r->next)
		dht_search_drop_rpc(r);
	dht_search_free_all(d);
	dht_boot_free(d);
	for (int i = 0; i < 2; i++)
		dht_table_free(&d->fam[i].table);
	dht_store_free(d->store);
	event_free(d->tick);
	task_done(d->task, "stopped: %" PRIu64 " queries answered, %" PRIu64 " sent",
	    d->answers_out, d->queries_out);
	task_release(&d->task);
	free(d);
}

void
dht_set_peer_port(struct dht *d, uint16_t port)
{
	d->peer_port = port;
}

void
dht_add_node(struct dht *d, const struct sockaddr *addr, socklen_t addrlen)
{
	struct sockaddr_in s4;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)addr;
	if (addr->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memset(&s4, 0, sizeof s4);
		s4.sin_family = AF_INET;
		memcpy(&s4.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
		s4.sin_port = s6->sin6_port;
		addr = (const struct sockaddr *)&s4;
		addrlen = sizeof s4;
	}
	struct dht_family *f = dht_family_of(d, addr->sa_family);
	if (f != NULL)
		dht_ping(f, addr, addrlen, NULL, dp_now_ms());
}

void
dht_get_stats(const struct dht *d, struct dht_stats *out)
{
	memset(out, 0, sizeof *out);
	uint64_t now = dp_now_ms();
	for (int i = 0; i < 2; i++) {
		if (d->fam[i].u == NULL)
			continue;
		struct dht_table_counts c;
		dht_table_count(&d->fam[i].table, now, &c);
		out->good += c.good;
		out->questionable += c.questionable;
		out->nodes += c.good + c.questionable + c.bad;
		if (i == 1)
			out->nodes6 = c.good + c.questionable + c.bad;
	}
	out->searches = d->nsearches;
	out->registered = dht_search_registered(d);
	out->stored_hashes = dht_store_hashes(d->store);
	out->stored_peers = dht_store_peers(d->store);
	out->in_per_s = d->in_per_s;
	out->out_per_s = d->out_per_s;
	out->queries_in = d->queries_in;
	out->answers_out = d->answers_out;
	out->queries_out = d->queries_out;
	out->replies_in = d->replies_in;
	out->timeouts = d->timeouts;
	out->malformed = d->malformed;
	out->dropped_rate = d->dropped_rate;
	out->unexpected = d->unexpected;
	memcpy(out->id, d->id, DHT_ID_LEN);
}
