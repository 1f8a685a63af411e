/* transport.c: connection policy under the peer: the TCP/uTP race (or what worked before at
 * the address), MSE or plaintext per the encryption setting with at most one plaintext retry,
 * the sniffing of incoming streams, the info-hash index for MSE's SKEY lookup, and the memory
 * of what worked per address. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "mse.h"
#include "mse_bev.h"
#include "net.h"
#include "transport.h"
#include "util.h"
#include "utp.h"

/* Addresses remembered (a cache: a collision forgets the older one), and for how long. */
#define TRANSPORT_MEM_SLOTS 4096u
#define TRANSPORT_MEM_TTL_MS (3600u * 1000u)

enum transport_known { TRANSPORT_UNKNOWN, TRANSPORT_WORKS, TRANSPORT_FAILS };
enum transport_enc_mem {
	TRANSPORT_MEMENC_UNKNOWN,
	TRANSPORT_MEMENC_WORKS,        /* MSE got through */
	TRANSPORT_MEMENC_PLAIN_ONLY,   /* MSE failed, plaintext is what it speaks */
	TRANSPORT_MEMENC_NEEDS_ENC,    /* plaintext was cut before the handshake */
};

struct transport_mem {
	struct sockaddr_storage addr;
	uint64_t when_ms;               /* 0: empty */
	uint8_t tcp, utp, enc;
};

struct transport_skey {
	struct transport_skey *next;
	uint8_t req2[20];
	uint8_t info_hash[20];
};

#define TRANSPORT_SKEY_BUCKETS 1024u

struct transport {
	struct event_base *base;
	struct utp_engine *utp;
	struct transport_settings set;
	transport_incoming_fn incoming;
	void *incoming_arg;
	struct transport_mem *mem;
	struct transport_skey *skeys[TRANSPORT_SKEY_BUCKETS];
	struct transport_stats st;
};

struct transport_conn {
	struct transport *tr;
	bool outgoing;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char name[64];
	uint8_t info_hash[20];
	uint8_t *ia;                        /* the caller's first words, for MSE's initial payload */
	size_t ia_len;
	transport_cb cb;
	void *arg;
	/* dialling */
	struct bufferevent *tcp, *utp;
	bool tcp_tried, utp_tried;
	bool tcp_failed, utp_failed;        /* in this attempt (a race's loser did not fail) */
	char tcp_err[96], utp_err[96];
	/* connected */
	struct bufferevent *raw;            /* the stream that won, until MSE wraps it */
	bool raw_utp;
	bool encrypt;
	struct bufferevent *mse;            /* the MSE filter (owns raw) ... */
	struct mse_bev *mse_h;              /* ... and its state, to forget its notice (mse_bev.h) */
	uint64_t heard;                     /* bytes the peer sent during the MSE handshake */
	bool retried_plain;
	/* the end */
	struct event *deliver_ev;
	struct bufferevent *result;
	struct transport_info info;
	bool failed;
	char why[200];
	char doing[64];
};

const char *
transport_info_name(const struct transport_info *info)
{
	if (info->encrypted)
		return info->utp ? "uTP+RC4" : "TCP+RC4";
	if (info->mse)
		return info->utp ? "uTP+MSE" : "TCP+MSE";
	return info->utp ? "uTP" : "TCP";
}

/* ---- memory per address ---- */

static uint32_t
transport_addr_hash(const struct sockaddr *sa)
{
	uint32_t h = 2166136261u;
	const uint8_t *p = NULL;
	size_t n = 0;
	uint16_t port = sockaddr_port(sa);
	if (sa->sa_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else if (sa->sa_family == AF_INET6) {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ (port & 0xffu)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h;
}

/* The entry for sa: found, or (create) a fresh one in its slot. NULL when absent. */
static struct transport_mem *
transport_mem_get(struct transport *tr, const struct sockaddr *sa, bool create)
{
	struct transport_mem *m = &tr->mem[transport_addr_hash(sa) % TRANSPORT_MEM_SLOTS];
	uint64_t now = dp_now_ms();
	bool same = m->when_ms != 0 && now - m->when_ms < TRANSPORT_MEM_TTL_MS &&
	    sockaddr_equal((const struct sockaddr *)&m->addr, sa, true);
	if (same)
		return m;
	if (!create)
		return NULL;
	memset(m, 0, sizeof *m);
	memcpy(&m->addr, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6));
	m->when_ms = now;
	return m;
}

static void
transport_mem_set(struct transport *tr, const struct sockaddr *sa, int tcp, int utp, int enc)
{
	struct transport_mem *m = transport_mem_get(tr, sa, true);
	if (tcp >= 0)
		m->tcp = (uint8_t)tcp;
	if (utp >= 0)
		m->utp = (uint8_t)utp;
	if (enc >= 0)
		m->enc = (uint8_t)enc;
	m->when_ms = dp_now_ms();
}

/* ---- the SKEY index ---- */

static unsigned
transport_skey_bucket(const uint8_t req2[20])
{
	return ((unsigned)req2[0] << 8 | req2[1]) % TRANSPORT_SKEY_BUCKETS;
}

void
transport_add_torrent(struct transport *tr, const uint8_t info_hash[20])
{
	uint8_t r[20];
	mse_req2_hash(info_hash, r);
	struct transport_skey **b = &tr->skeys[transport_skey_bucket(r)];
	for (struct transport_skey *k = *b; k != NULL; k = k->next)
		if (memcmp(k->info_hash, info_hash, 20) == 0)
			return;
	struct transport_skey *k = xcalloc(1, sizeof *k);
	memcpy(k->req2, r, 20);
	memcpy(k->info_hash, info_hash, 20);
	k->next = *b;
	*b = k;
}

void
transport_remove_torrent(struct transport *tr, const uint8_t info_hash[20])
{
	uint8_t r[20];
	mse_req2_hash(info_hash, r);
	for (struct transport_skey **pp = &tr->skeys[transport_skey_bucket(r)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (memcmp((*pp)->info_hash, info_hash, 20) == 0) {
			struct transport_skey *k = *pp;
			*pp = k->next;
			free(k);
			return;
		}
	}
}

static bool
transport_find_skey(void *arg, const uint8_t req2[20], uint8_t skey[20])
{
	struct transport *tr = arg;
	for (struct transport_skey *k = tr->skeys[transport_skey_bucket(req2)]; k != NULL;
	    k = k->next) {
		if (memcmp(k->req2, req2, 20) == 0) {
			memcpy(skey, k->info_hash, 20);
			return true;
		}
	}
	return false;
}

/* ---- the end of a connection attempt ---- */

/* Frees the MSE filter, and raw under it. The notice of its handshake's end may be queued
 * already: forgotten, it never reaches c, which may be freed next (the clang ASan build saw a
 * pending peer closed at shutdown free c, then the queued notice run, in the ut_pex suite). */
static void
transport_drop_mse(struct transport_conn *c)
{
	mse_bev_forget(c->mse_h);
	bufferevent_free(c->mse);
	c->mse = c->raw = NULL;
	c->mse_h = NULL;
}

static void
transport_conn_release(struct transport_conn *c)
{
	if (c->tcp != NULL)
		bufferevent_free(c->tcp);
	if (c->utp != NULL)
		bufferevent_free(c->utp);
	if (c->mse != NULL)
		transport_drop_mse(c);
	else if (c->raw != NULL)
		bufferevent_free(c->raw);
	if (c->deliver_ev != NULL)
		event_free(c->deliver_ev);
	free(c->ia);
	free(c);
}

static void
transport_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct transport_conn *c = arg;
	(void)fd;
	(void)what;
	struct bufferevent *bev = c->result;
	transport_cb cb = c->cb;
	void *cbarg = c->arg;
	struct transport_info info = c->info;
	char why[sizeof c->why];
	snprintf(why, sizeof why, "%s", c->why);
	bool failed = c->failed;
	/* The stream now belongs to the callee: nothing of it is freed with the attempt. */
	if (bev != NULL && bev == c->mse)
		c->mse = c->raw = NULL;         /* (its end was told: nothing to forget) */
	else if (bev != NULL && bev == c->raw)
		c->raw = NULL;
	if (bev != NULL)
		bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	transport_conn_release(c);
	cb(cbarg, failed ? NULL : bev, &info, failed ? why : NULL);
	/* Bytes already read (the sniffed handshake, a peer's first message) are read at once. */
	if (!failed && bev != NULL && evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
}

static void
transport_finish(struct transport_conn *c, struct bufferevent *bev, const char *fmt, ...)
    DP_PRINTF(3, 4);

static void
transport_finish(struct transport_conn *c, struct bufferevent *bev, const char *fmt, ...)
{
	if (c->result != NULL || c->failed)
		return;
	if (bev != NULL) {
		c->result = bev;
		c->info.utp = c->raw_utp;
		if (c->info.encrypted)
			c->tr->st.encrypted++;
		if (c->raw_utp)
			c->tr->st.utp++;
		else
			c->tr->st.tcp++;
	} else {
		c->failed = true;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->why, sizeof c->why, fmt, ap);
		va_end(ap);
	}
	event_active(c->deliver_ev, EV_TIMEOUT, 0);
}

/* ---- MSE over the connected stream ---- */

static void transport_dial(struct transport_conn *c, bool tcp, bool utp);

/* A transport the address may still be tried over in this attempt. */
static bool
transport_other_ok(struct transport_conn *c, bool utp)
{
	struct transport *tr = c->tr;
	struct transport_mem *m = transport_mem_get(tr, (struct sockaddr *)&c->addr, false);
	if (utp)
		return !c->utp_failed && tr->set.utp && tr->utp != NULL &&
		    (m == NULL || m->utp != TRANSPORT_FAILS);
	return !c->tcp_failed && (m == NULL || m->tcp != TRANSPORT_FAILS);
}

static void
transport_mse_failed(struct transport_conn *c, const char *why)
{
	struct transport *tr = c->tr;
	if (c->result != NULL || c->failed)
		return;         /* decided already: this is the stream closing with it */
	bool utp = c->raw_utp;
	if (c->outgoing && c->heard == 0 && transport_other_ok(c, !utp)) {
		/* Closed without a word: that transport is refused here (a uTP-only peer closes
		 * TCP at once), not the encryption. The other one, still encrypted. */
		log_debug("peer %s: %s closed during the encryption handshake (%s): trying %s",
		    c->name, utp ? "uTP" : "TCP", why, utp ? "TCP" : "uTP");
		transport_mem_set(tr, (struct sockaddr *)&c->addr, utp ? -1 : TRANSPORT_FAILS,
		    utp ? TRANSPORT_FAILS : -1, -1);
		if (utp)
			c->utp_failed = true;
		else
			c->tcp_failed = true;
		transport_drop_mse(c);
		c->heard = 0;
		transport_dial(c, utp, !utp);
		return;
	}
	if (c->outgoing && !c->retried_plain && tr->set.encryption != DP_ENCRYPTION_REQUIRED) {
		/* Once, in plaintext, over what connected. */
		log_debug("peer %s: encryption handshake failed (%s): retrying in plaintext", c->name,
		    why);
		transport_mem_set(tr, (struct sockaddr *)&c->addr, -1, -1,
		    TRANSPORT_MEMENC_PLAIN_ONLY);
		tr->st.plaintext_fallbacks++;
		transport_drop_mse(c);
		c->retried_plain = true;
		c->encrypt = false;
		/* The dial again: what was tried is tried again. */
		c->tcp_tried = c->utp_tried = false;
		transport_dial(c, !utp, utp);
		return;
	}
	tr->st.mse_failed++;
	transport_finish(c, NULL, "encryption handshake failed: %s", why);
}

static void
transport_mse_done(void *arg, struct bufferevent *bev, bool ok, uint32_t selected,
    const char *why)
{
	struct transport_conn *c = arg;
	(void)bev;
	if (c->result != NULL || c->failed)
		return;
	if (!ok) {
		transport_mse_failed(c, why);
		return;
	}
	c->info.mse = true;
	c->info.encrypted = selected == MSE_CRYPTO_RC4;
	c->info.ia_sent = c->outgoing && c->ia_len > 0;
	if (c->outgoing)
		transport_mem_set(c->tr, (struct sockaddr *)&c->addr, -1, -1,
		    TRANSPORT_MEMENC_WORKS);
	transport_finish(c, c->mse, NULL);
}

static void
transport_mse_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct transport_conn *c = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		transport_mse_failed(c, (what & BEV_EVENT_EOF) ? "the peer closed the connection" :
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
transport_start_mse(struct transport_conn *c)
{
	struct transport *tr = c->tr;
	struct mse_params p = { .initiator = c->outgoing, .find_skey = transport_find_skey,
		.find_arg = tr };
	if (c->outgoing) {
		memcpy(p.skey, c->info_hash, 20);
		/* Preferred and required offer RC4 alone: a peer offered both picks plaintext
		 * (libtorrent does by default), which hides nothing. */
		p.crypto = tr->set.encryption == DP_ENCRYPTION_TOLERATED ?
		    MSE_CRYPTO_RC4 | MSE_CRYPTO_PLAIN : MSE_CRYPTO_RC4;
		p.ia = c->ia;
		p.ia_len = c->ia_len;
	} else {
		p.crypto = tr->set.encryption == DP_ENCRYPTION_REQUIRED ? MSE_CRYPTO_RC4 :
		    MSE_CRYPTO_RC4 | MSE_CRYPTO_PLAIN;
		p.prefer_plain = tr->set.encryption == DP_ENCRYPTION_TOLERATED;
	}
	snprintf(c->doing, sizeof c->doing, "encryption handshake over %s",
	    c->raw_utp ? "uTP" : "TCP");
	bufferevent_setcb(c->raw, NULL, NULL, NULL, NULL);
	c->mse = mse_bev_new(c->raw, &p, transport_mse_done, c, &c->heard, &c->mse_h);
	if (c->mse == NULL) {
		transport_finish(c, NULL, "can't set up the encryption handshake");
		return;
	}
	bufferevent_setcb(c->mse, NULL, NULL, transport_mse_event_cb, c);
}

/* ---- outgoing: the dial race ---- */

static void
transport_connected(struct transport_conn *c, struct bufferevent *raw, bool utp)
{
	c->raw = raw;
	c->raw_utp = utp;
	/* The other attempt lost the race: it goes (the peer sees a connection close unused). */
	if (c->tcp != NULL) {
		bufferevent_free(c->tcp);
		c->tcp = NULL;
	}
	if (c->utp != NULL) {
		bufferevent_free(c->utp);
		c->utp = NULL;
	}
	if (c->encrypt)
		transport_start_mse(c);
	else
		transport_finish(c, raw, NULL);
}

/* One attempt failed: the other may still win, or be tried now. */
static void
transport_dial_failed(struct transport_conn *c)
{
	if (c->tcp != NULL || c->utp != NULL)
		return;
	struct transport *tr = c->tr;
	bool utp_ok = tr->set.utp && tr->utp != NULL;
	if (!c->tcp_tried) {
		transport_dial(c, true, false);
		return;
	}
	if (!c->utp_tried && utp_ok) {
		transport_dial(c, false, true);
		return;
	}
	if (c->utp_tried && c->tcp_tried)
		transport_finish(c, NULL, "connect failed: TCP: %s; uTP: %s", c->tcp_err, c->utp_err);
	else
		transport_finish(c, NULL, "connect failed: %s", c->tcp_tried ? c->tcp_err :
		    c->utp_err);
}

static void
transport_tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct transport_conn *c = arg;
	if (c->result != NULL || c->failed)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		/* Connected is not yet "works": a uTP-only peer accepts TCP and closes it. The
		 * handshake decides (transport_outcome). */
		c->tcp = NULL;
		bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
		transport_connected(c, bev, false);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		snprintf(c->tcp_err, sizeof c->tcp_err, "%s", (what & BEV_EVENT_EOF) ?
		    "connection refused" : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		transport_mem_set(c->tr, (struct sockaddr *)&c->addr, TRANSPORT_FAILS, -1, -1);
		bufferevent_free(bev);
		c->tcp = NULL;
		c->tcp_failed = true;
		transport_dial_failed(c);
	}
}

static void
transport_utp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct transport_conn *c = arg;
	if (c->result != NULL || c->failed)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		c->utp = NULL;
		bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
		transport_connected(c, bev, true);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		snprintf(c->utp_err, sizeof c->utp_err, "%s", (what & BEV_EVENT_EOF) ?
		    "connection closed" : strerror(EVUTIL_SOCKET_ERROR()));
		transport_mem_set(c->tr, (struct sockaddr *)&c->addr, -1, TRANSPORT_FAILS, -1);
		bufferevent_free(bev);
		c->utp = NULL;
		c->utp_failed = true;
		transport_dial_failed(c);
	}
}

static void
transport_dial(struct transport_conn *c, bool tcp, bool utp)
{
	struct transport *tr = c->tr;
	const struct sockaddr *sa = (const struct sockaddr *)&c->addr;
	if (utp) {
		c->utp_tried = true;
		c->utp = utp_connect(tr->utp, sa, c->addrlen);
		if (c->utp == NULL)
			snprintf(c->utp_err, sizeof c->utp_err, "%s", strerror(errno));
		else
			bufferevent_setcb(c->utp, NULL, NULL, transport_utp_event_cb, c);
	}
	if (tcp) {
		c->tcp_tried = true;
		c->tcp = bufferevent_socket_new(tr->base, -1, BEV_OPT_CLOSE_ON_FREE);
		if (c->tcp == NULL) {
			snprintf(c->tcp_err, sizeof c->tcp_err, "can't create a socket: %s",
			    strerror(errno));
		} else {
			bufferevent_setcb(c->tcp, NULL, NULL, transport_tcp_event_cb, c);
			if (bufferevent_socket_connect(c->tcp, (struct sockaddr *)&c->addr,
			    (int)c->addrlen) < 0) {
				snprintf(c->tcp_err, sizeof c->tcp_err, "%s", strerror(errno));
				bufferevent_free(c->tcp);
				c->tcp = NULL;
			}
		}
	}
	snprintf(c->doing, sizeof c->doing, "%s over %s%s%s",
	    c->retried_plain ? "plaintext retry" : "connecting", c->utp ? "uTP" : "",
	    c->utp && c->tcp ? " and " : "", c->tcp ? "TCP" : "");
	if (c->tcp == NULL && c->utp == NULL)
		transport_dial_failed(c);
}

static struct transport_conn *
transport_conn_new(struct transport *tr, const struct sockaddr *sa, socklen_t len,
    transport_cb cb, void *arg)
{
	struct transport_conn *c = xcalloc(1, sizeof *c);
	c->tr = tr;
	memcpy(&c->addr, sa, DP_MIN((size_t)len, sizeof c->addr));
	c->addrlen = len;
	sockaddr_format(sa, c->name, sizeof c->name);
	c->cb = cb;
	c->arg = arg;
	c->deliver_ev = event_new(tr->base, -1, 0, transport_deliver_cb, c);
	if (c->deliver_ev == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

struct transport_conn *
transport_connect(struct transport *tr, const struct sockaddr *sa, socklen_t len,
    const uint8_t info_hash[20], const uint8_t *ia, size_t ia_len, transport_cb cb, void *arg,
    char *err, size_t errlen)
{
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
		dp_fail(err, errlen, "address family %d is not IP", sa->sa_family);
		return NULL;
	}
	struct transport_conn *c = transport_conn_new(tr, sa, len, cb, arg);
	if (c == NULL) {
		dp_fail(err, errlen, "out of events");
		return NULL;
	}
	c->outgoing = true;
	memcpy(c->info_hash, info_hash, 20);
	if (ia != NULL && ia_len > 0) {
		c->ia_len = DP_MIN(ia_len, (size_t)MSE_IA_MAX);
		c->ia = xmemdup(ia, c->ia_len);
	}
	struct transport_mem none = { 0 }, *m = transport_mem_get(tr, sa, false);
	if (m == NULL)
		m = &none;
	switch (tr->set.encryption) {
	case DP_ENCRYPTION_REQUIRED:
		c->encrypt = true;
		break;
	case DP_ENCRYPTION_PREFERRED:
		c->encrypt = m->enc != TRANSPORT_MEMENC_PLAIN_ONLY;
		break;
	default:
		c->encrypt = m->enc == TRANSPORT_MEMENC_NEEDS_ENC;
		break;
	}
	bool utp_ok = tr->set.utp && tr->utp != NULL && m->utp != TRANSPORT_FAILS;
	bool tcp_ok = true;
	/* What worked here before goes alone, and what failed waits: the other stays the
	 * fallback (transport_dial_failed). Else both race and the first to connect wins. */
	if (utp_ok && (m->utp == TRANSPORT_WORKS || m->tcp == TRANSPORT_FAILS))
		tcp_ok = false;
	else if (m->tcp == TRANSPORT_WORKS)
		utp_ok = false;
	transport_dial(c, tcp_ok, utp_ok);
	return c;
}

/* ---- incoming: plaintext or MSE by the first bytes ---- */

static void
transport_sniff_read_cb(struct bufferevent *bev, void *arg)
{
	struct transport_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t first[MSE_BT_PREFIX_LEN];
	size_t n = DP_MIN(evbuffer_get_length(in), sizeof first);
	evbuffer_copyout(in, first, n);
	int plain = mse_sniff_plaintext(first, n);
	if (plain < 0)
		return;
	bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	if (plain == 1) {
		if (c->tr->set.encryption == DP_ENCRYPTION_REQUIRED) {
			c->tr->st.refused_plaintext++;
			transport_finish(c, NULL, "plaintext refused: encryption is required");
			return;
		}
		transport_finish(c, bev, NULL);
		return;
	}
	transport_start_mse(c);
}

static void
transport_sniff_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct transport_conn *c = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		transport_finish(c, NULL, "%s before its handshake", (what & BEV_EVENT_EOF) ?
		    "the peer closed the connection" : "socket error");
}

struct transport_conn *
transport_accept(struct transport *tr, struct bufferevent *raw, const struct sockaddr *sa,
    socklen_t len, bool utp, transport_cb cb, void *arg)
{
	struct transport_conn *c = transport_conn_new(tr, sa, len, cb, arg);
	if (c == NULL)
		return NULL;
	c->raw = raw;
	c->raw_utp = utp;
	c->info.incoming = true;
	snprintf(c->doing, sizeof c->doing, "waiting for its first bytes over %s",
	    utp ? "uTP" : "TCP");
	bufferevent_setcb(raw, transport_sniff_read_cb, NULL, transport_sniff_event_cb, c);
	bufferevent_enable(raw, EV_READ | EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_input(raw)) > 0)
		bufferevent_trigger(raw, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
	return c;
}

void
transport_cancel(struct transport_conn *c)
{
	if (c != NULL)
		transport_conn_release(c);
}

const char *
transport_conn_doing(const struct transport_conn *c)
{
	return c->doing;
}

bool
transport_conn_awaits_peer(const struct transport_conn *c)
{
	return c->mse != NULL || c->info.incoming;
}

void
transport_outcome(struct transport *tr, const struct sockaddr *sa,
    const struct transport_info *info, bool handshake_ok)
{
	if (info->incoming)
		return;
	int works = handshake_ok ? TRANSPORT_WORKS : TRANSPORT_FAILS;
	if (handshake_ok) {
		transport_mem_set(tr, sa, info->utp ? -1 : works, info->utp ? works : -1, -1);
		return;
	}
	/* Cut before the handshake: next time the other transport goes first when it may, and
	 * under "tolerated" encryption is tried (the peer may refuse plaintext). */
	struct transport_mem *m = transport_mem_get(tr, sa, false);
	bool other = info->utp ? (m == NULL || m->tcp != TRANSPORT_FAILS) :
	    (tr->set.utp && tr->utp != NULL && (m == NULL || m->utp != TRANSPORT_FAILS));
	if (other)
		transport_mem_set(tr, sa, info->utp ? -1 : works, info->utp ? works : -1, -1);
	if (!info->mse && tr->set.encryption == DP_ENCRYPTION_TOLERATED)
		transport_mem_set(tr, sa, -1, -1, TRANSPORT_MEMENC_NEEDS_ENC);
}

/* ---- the module ---- */

static bool
transport_utp_accept(void *arg, struct bufferevent *bev, const struct sockaddr *sa,
    socklen_t len)
{
	struct transport *tr = arg;
	if (!tr->set.utp)
		return false;
	return tr->incoming(tr->incoming_arg, bev, sa, len);
}

struct transport *
transport_new(struct event_base *base, struct udp_socket *udp4, struct udp_socket *udp6,
    const struct transport_settings *set, transport_incoming_fn incoming, void *arg)
{
	struct transport *tr = xcalloc(1, sizeof *tr);
	tr->base = base;
	tr->set = *set;
	tr->incoming = incoming;
	tr->incoming_arg = arg;
	tr->mem = xcalloc(TRANSPORT_MEM_SLOTS, sizeof *tr->mem);
	if (udp4 != NULL || udp6 != NULL) {
		tr->utp = utp_engine_new(base, transport_utp_accept, tr);
		if (tr->utp != NULL) {
			if (udp4 != NULL)
				utp_engine_add_socket(tr->utp, udp4);
			if (udp6 != NULL)
				utp_engine_add_socket(tr->utp, udp6);
			utp_engine_set_accepting(tr->utp, set->utp);
		}
	}
	return tr;
}

void
transport_set(struct transport *tr, const struct transport_settings *set)
{
	tr->set = *set;
	if (tr->utp != NULL)
		utp_engine_set_accepting(tr->utp, set->utp);
}

void
transport_get(const struct transport *tr, struct transport_settings *out)
{
	*out = tr->set;
}

void
transport_free(struct transport *tr)
{
	if (tr == NULL)
		return;
	utp_engine_free(tr->utp);
	for (size_t i = 0; i < TRANSPORT_SKEY_BUCKETS; i++) {
		while (tr->skeys[i] != NULL) {
			struct transport_skey *k = tr->skeys[i];
			tr->skeys[i] = k->next;
			free(k);
		}
	}
	free(tr->mem);
	free(tr);
}

void
transport_stats(const struct transport *tr, struct transport_stats *out)
{
	*out = tr->st;
}
