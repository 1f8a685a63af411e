/* rpc.c: the RPC's HTTP side: an evhttp server on /transmission/rpc with Transmission's
 * session-id handshake, Basic authentication, a Host whitelist, body limits, one task per client;
 * it routes /transmission/web/ to the web client's files and /metrics to Prometheus' text, behind
 * the same authentication and Host check. */
#include "config.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "accept_backoff.h"
#include "dp_config.h"
#include "log.h"
#include "rpc.h"
#include "rpc_private.h"
#include "engine.h"
#include "util.h"

#define RPC_SESSION_ID_HEADER "X-Transmission-Session-Id"
#define RPC_TIMEOUT_S 60
#define RPC_MAX_HEADERS 16384
/* Connections: a share of the descriptor limit, within these bounds (rpc.max_connections). */
#define RPC_CONNS_FLOOR 16
#define RPC_CONNS_CEILING 512
#define RPC_FLOOD_LOG_MS 10000

/* One client connection, as a task between and during its requests. */
struct rpc_conn {
	struct rpc_server *srv;
	struct evhttp_connection *evcon;
	struct engine_task *task;
	char peer[80];                 /* "127.0.0.1:50123" */
	uint64_t requests;
	/* Waiting for a request: it must arrive whole (headers and body) before the deadline.
	 * evhttp's own timeout restarts at every byte, so a client sending a header byte every
	 * 50 s (slowloris) held its connection for good. */
	struct event *deadline;
	uint64_t armed_ms;
	bool extended;                 /* the deadline came late once and was given another */
	bool waiting;                  /* in srv->waiting, deadline armed */
	TAILQ_ENTRY(rpc_conn) wait_link;
	struct rpc_conn *next;
};
TAILQ_HEAD(rpc_conn_queue, rpc_conn);

struct rpc_server {
	struct event_base *base;
	struct engine *e;
	struct evhttp *http;
	struct rpc_handler *handler;
	struct rpc_web *web;               /* /transmission/web/ */
	struct engine_task *task;          /* the listener */
	char bind[64];
	int port;
	char *username, *password;     /* NULL: no authentication */
	char **whitelist;
	size_t whitelist_count;
	char session_id[49];
	void (*on_close)(void *arg);   /* session-close */
	void *close_arg;
	struct rpc_conn *conns;
	struct rpc_pending *pending;   /* requests whose answer waits for the disk pool */
	uint64_t requests;
	/* accept failing (out of descriptors): the listener pauses instead of spinning */
	struct evconnlistener *listener;
	/* Connections as they are accepted: evhttp makes their bufferevents through
	 * rpc_bev_new_cb; rpc_adopt_cb finds each one's connection once evhttp has set it up. */
	struct bufferevent **adopt;
	size_t nadopt, adopt_cap;
	struct event *adopt_ev;
	int nconns, max_conns;
	int request_timeout_s;
	struct rpc_conn_queue waiting; /* by how long they have waited for a request, oldest first */
	uint64_t flood_logged_ms;
	unsigned evicted, timed_out;   /* since the last log line */
	/* refused requests (credentials, Host): one line per interval, as for the flood */
	uint64_t refused_logged_ms;
	unsigned refused_auth, refused_host;
};

/* A request being answered: the handler may answer later, from a disk pool completion. */
struct rpc_pending {
	struct rpc_server *srv;
	struct rpc_conn *conn;         /* NULL once the connection closed */
	struct evhttp_request *req;    /* NULL once the connection closed: evhttp frees it */
	size_t in_len;
	bool deferred;                 /* the handler returned before answering */
	struct rpc_pending *next;
};

/* ---- base64 ---- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
rpc_base64_encode(const unsigned char *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

unsigned char *
rpc_base64_decode(const char *in, size_t len, size_t *out_len)
{
	unsigned char *out = xmalloc(len / 4 * 3 + 4);
	size_t o = 0, pad = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		const char *p = c != '\0' ? strchr(b64_alphabet, c) : NULL;
		if (p == NULL || pad > 0) {
			/* Not base64, or data after the padding. */
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)(p - b64_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* 6 leftover bits cannot come from a byte; more than two '=' is malformed. */
	if (bits >= 6 || pad > 2) {
		free(out);
		return NULL;
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* ---- options ---- */

void
rpc_options_from_config(struct rpc_options *o, const struct dp_config *cfg)
{
	memset(o, 0, sizeof *o);
	o->bind = cfg->rpc.bind;
	o->port = cfg->rpc.port;
	o->username = cfg->rpc.username;
	o->password = cfg->rpc.password;
	o->host_whitelist = cfg->rpc.host_whitelist;
	o->host_whitelist_count = cfg->rpc.host_whitelist_count;
	o->config_dir = cfg->session_dir;
	o->web_root = cfg->rpc.web_root;
	o->max_connections = cfg->rpc.max_connections;
	o->request_timeout_s = cfg->rpc.request_timeout;
}

/* ---- checks ---- */

static void
rpc_new_session_id(struct rpc_server *s)
{
	unsigned char raw[24];
	if (RAND_bytes(raw, sizeof raw) != 1) {
		/* Not secret-grade, but never a fixed value. */
		uint64_t t = dp_now_us() ^ (uint64_t)(uintptr_t)s;
		for (size_t i = 0; i < sizeof raw; i++, t = t * 6364136223846793005ull + 1)
			raw[i] = (unsigned char)(t >> 56);
	}
	dp_hex_encode(raw, sizeof raw, s->session_id);
}

/* Constant time for equal lengths, so a guess can't be timed byte by byte. */
static bool
rpc_secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return false;
	return CRYPTO_memcmp(a, b, la) == 0;
}

bool
rpc_basic_auth_matches(const char *h, const char *username, const char *password)
{
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return false;
	h += 6;
	while (*h == ' ')
		h++;
	size_t len;
	char *plain = (char *)rpc_base64_decode(h, strlen(h), &len);
	if (plain == NULL)
		return false;
	bool ok = false;
	char *colon = memchr(plain, ':', len);
	if (colon != NULL && strlen(plain) == len) {
		*colon = '\0';
		/* Evaluate both so the time does not tell which one was wrong. */
		bool u = rpc_secret_equal(plain, username);
		bool p = rpc_secret_equal(colon + 1, password);
		ok = u && p;
	}
	OPENSSL_cleanse(plain, len);
	free(plain);
	return ok;
}

static bool
rpc_auth_ok(struct rpc_server *s, struct evhttp_request *req)
{
	if (s->username == NULL)
		return true;
	return rpc_basic_auth_matches(evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization"), s->username, s->password);
}

bool
rpc_host_allowed(const char *h, char *const *whitelist, size_t whitelist_count)
{
	if (h == NULL)
		return true;   /* HTTP/1.0 without Host: not a browser, so not a rebinding attack */
	char host[256];
	if (h[0] == '[') {
		const char *end = strchr(h, ']');
		if (end == NULL || (size_t)(end - h - 1) >= sizeof host)
			return false;
		snprintf(host, sizeof host, "%.*s", (int)(end - h - 1), h + 1);
	} else {
		size_t n = strcspn(h, ":");
		if (n >= sizeof host)
			return false;
		snprintf(host, sizeof host, "%.*s", (int)n, h);
	}
	size_t n = strlen(host);
	if (n > 0 && host[n - 1] == '.')
		host[n - 1] = '\0';
	if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.localdomain") == 0)
		return true;
	unsigned char addr[16];
	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
		return true;
	for (size_t i = 0; i < whitelist_count; i++)
		if (fnmatch(whitelist[i], host, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

/* Host header check against DNS rebinding: numeric addresses, localhost and the whitelist. */
static bool
rpc_host_ok(struct rpc_server *s, struct evhttp_request *req)
{
	return rpc_host_allowed(evhttp_find_header(evhttp_request_get_input_headers(req), "Host"),
	    s->whitelist, s->whitelist_count);
}

/* ---- connections ---- */

/* A connection's end, once it is off s->conns. */
static void
rpc_conn_free(struct rpc_conn *c, const char *why)
{
	struct rpc_server *s = c->srv;
	if (c->waiting)
		TAILQ_REMOVE(&s->waiting, c, wait_link);
	if (c->deadline != NULL)
		event_free(c->deadline);
	s->nconns--;
	engine_task_done(c->task, "%s after %llu request%s", why, (unsigned long long)c->requests,
	    c->requests == 1 ? "" : "s");
	engine_task_release(&c->task);
	free(c);
}

/* One line per interval for what the caps and deadlines closed: a flood must not become a flood
 * of log lines (issue 11, finding 7). */
static void
rpc_flood_log(struct rpc_server *s)
{
	uint64_t now = dp_now_ms();
	if (s->flood_logged_ms != 0 && now - s->flood_logged_ms < RPC_FLOOD_LOG_MS)
		return;
	if (s->evicted == 0 && s->timed_out == 0)
		return;
	log_warn("rpc: closed %u connection%s waiting longest for a request to stay within %d "
	    "connections (rpc.max_connections), and %u that sent no whole request within %d s "
	    "(rpc.request_timeout), in the last %d s", s->evicted, s->evicted == 1 ? "" : "s",
	    s->max_conns, s->timed_out, s->request_timeout_s, RPC_FLOOD_LOG_MS / 1000);
	s->flood_logged_ms = now;
	s->evicted = 0;
	s->timed_out = 0;
}

/* A request refused for its credentials or Host: a client guessing passwords in a loop must not
 * write a log line per guess. The first is logged at once, the rest counted per interval. */
static void
rpc_refused_log(struct rpc_server *s, bool auth, const char *host)
{
	uint64_t now = dp_now_ms();
	if (auth)
		s->refused_auth++;
	else
		s->refused_host++;
	if (s->refused_logged_ms != 0 && now - s->refused_logged_ms < RPC_FLOOD_LOG_MS)
		return;
	if (s->refused_auth + s->refused_host == 1)
		log_warn("rpc: refused a request %s%s%s", auth ? "with wrong or missing credentials" :
		    "for Host '", auth ? "" : host != NULL ? host : "", auth ? "" : "'");
	else
		log_warn("rpc: refused %u request%s with wrong or missing credentials and %u for "
		    "a Host not allowed (last: '%s') in the last %d s", s->refused_auth,
		    s->refused_auth == 1 ? "" : "s", s->refused_host, host != NULL ? host : "",
		    RPC_FLOOD_LOG_MS / 1000);
	s->refused_logged_ms = now;
	s->refused_auth = s->refused_host = 0;
}

static void
rpc_conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_conn *c = arg;
	struct rpc_server *s = c->srv;
	(void)fd;
	(void)what;
	uint64_t period = (uint64_t)s->request_timeout_s * 1000;
	if (!c->extended && accept_deadline_late(c->armed_ms, period)) {
		c->extended = true;
		struct timeval tv = { s->request_timeout_s, 0 };
		evtimer_add(c->deadline, &tv);
		return;
	}
	s->timed_out++;
	rpc_flood_log(s);
	/* Runs rpc_conn_closed, which frees c. */
	evhttp_connection_free(c->evcon);
}

/* The connection waits for its next request from now: the request must be whole in time, and
 * until it is the connection is the first to go when the cap is reached. */
static void
rpc_conn_wait(struct rpc_conn *c)
{
	struct rpc_server *s = c->srv;
	if (c->waiting)
		TAILQ_REMOVE(&s->waiting, c, wait_link);
	TAILQ_INSERT_TAIL(&s->waiting, c, wait_link);
	c->waiting = true;
	c->armed_ms = dp_now_ms();
	c->extended = false;
	struct timeval tv = { s->request_timeout_s, 0 };
	evtimer_add(c->deadline, &tv);
}

/* A request arrived whole: it is being answered, neither timed nor evicted. */
static void
rpc_conn_busy(struct rpc_conn *c)
{
	if (!c->waiting)
		return;
	TAILQ_REMOVE(&c->srv->waiting, c, wait_link);
	c->waiting = false;
	evtimer_del(c->deadline);
}

static void
rpc_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct rpc_conn *c = arg;
	(void)evcon;
	struct rpc_server *s = c->srv;
	for (struct rpc_pending *p = s->pending; p != NULL; p = p->next) {
		if (p->conn == c) {
			p->conn = NULL;
			p->req = NULL;
		}
	}
	for (struct rpc_conn **pp = &s->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	rpc_conn_free(c, "connection closed");
}

static struct rpc_conn *
rpc_conn_of(struct rpc_server *s, struct evhttp_connection *evcon)
{
	for (struct rpc_conn *c = s->conns; c != NULL; c = c->next)
		if (c->evcon == evcon)
			return c;
	struct rpc_conn *c = xcalloc(1, sizeof *c);
	char *addr = NULL;
	ev_uint16_t port = 0;
	evhttp_connection_get_peer(evcon, &addr, &port);
	c->srv = s;
	c->evcon = evcon;
	snprintf(c->peer, sizeof c->peer, "%s%s%s:%u", addr != NULL && strchr(addr, ':') ? "[" : "",
	    addr != NULL ? addr : "?", addr != NULL && strchr(addr, ':') ? "]" : "",
	    (unsigned)port);
	c->task = engine_task_new(s->e, ENGINE_TASK_KIND_RPC, 0, "rpc client %s", c->peer);
	engine_task_idle(c->task, ENGINE_TASK_READ_WAIT, "idle connection: waiting for request 1");
	c->deadline = evtimer_new(s->base, rpc_conn_deadline_cb, c);
	c->next = s->conns;
	s->conns = c;
	s->nconns++;
	evhttp_connection_set_closecb(evcon, rpc_conn_closed, c);
	return c;
}

static struct rpc_conn *
rpc_conn_get(struct rpc_server *s, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	return evcon != NULL ? rpc_conn_of(s, evcon) : NULL;
}

/* evhttp makes each accepted connection's bufferevent here. We keep a reference so it stays
 * readable until rpc_adopt_cb, on this loop pass, finds the connection evhttp made around it
 * (its callbacks' argument). */
static struct bufferevent *
rpc_bev_new_cb(struct event_base *base, void *arg)
{
	struct rpc_server *s = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;   /* evhttp makes its own; that connection is found at its request */
	if (s->nadopt == s->adopt_cap) {
		s->adopt_cap = s->adopt_cap ? 2 * s->adopt_cap : 16;
		s->adopt = xrealloc(s->adopt, s->adopt_cap * sizeof *s->adopt);
	}
	bufferevent_incref(bev);
	s->adopt[s->nadopt++] = bev;
	event_active(s->adopt_ev, EV_TIMEOUT, 0);
	return bev;
}

/* The connections just accepted: each gets its task and its request deadline; past the cap the
 * ones waiting longest for a request make room, so a flood of idle or slow connections cannot
 * lock a real client out (issue 11, finding 7). */
static void
rpc_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *s = arg;
	(void)fd;
	(void)what;
	for (size_t i = 0; i < s->nadopt; i++) {
		struct bufferevent *bev = s->adopt[i];
		bufferevent_data_cb readcb = NULL, writecb = NULL;
		bufferevent_event_cb eventcb = NULL;
		void *cbarg = NULL;
		bufferevent_getcb(bev, &readcb, &writecb, &eventcb, &cbarg);
		/* Freed by evhttp already: its callbacks are cleared. */
		struct evhttp_connection *evcon = eventcb != NULL ? cbarg : NULL;
		if (evcon != NULL && evhttp_connection_get_bufferevent(evcon) == bev) {
			struct rpc_conn *c = rpc_conn_of(s, evcon);
			if (c->requests == 0 && !c->waiting)
				rpc_conn_wait(c);
		}
		bufferevent_decref(bev);
	}
	s->nadopt = 0;
	while (s->nconns > s->max_conns && !TAILQ_EMPTY(&s->waiting)) {
		struct rpc_conn *old = TAILQ_FIRST(&s->waiting);
		s->evicted++;
		evhttp_connection_free(old->evcon);   /* runs rpc_conn_closed */
	}
	rpc_flood_log(s);
}

/* ---- requests ---- */

/* evbuffer_add_reference's cleanup: an answer handed over by rpc_reply_take. */
static void
rpc_reply_free_cb(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* Sends body (len bytes, may be NULL when 0); own: body is malloc'd and goes with the reply
 * (no copy of a reply of megabytes), else it is copied. */
static void
rpc_reply_how(struct rpc_server *s, struct evhttp_request *req, struct rpc_conn *c, int code,
    const char *reason, const char *type, const char *body, size_t len, bool own)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Server", "downpour/" PACKAGE_VERSION);
	evhttp_add_header(out, RPC_SESSION_ID_HEADER, s->session_id);
	if (type != NULL)
		evhttp_add_header(out, "Content-Type", type);
	struct evbuffer *buf = evbuffer_new();
	if (buf == NULL) {
		log_error("rpc: out of memory for an answer");
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		if (own)
			free((void *)body);
		return;
	}
	if (own && len > 0) {
		if (evbuffer_add_reference(buf, body, len, rpc_reply_free_cb, NULL) < 0) {
			log_error("rpc: can't buffer an answer of %zu bytes", len);
			free((void *)body);
		}
	} else {
		if (len > 0 && evbuffer_add(buf, body, len) < 0)
			log_error("rpc: can't buffer an answer of %zu bytes", len);
		if (own)
			free((void *)body);
	}
	if (c != NULL) {
		engine_task_progress(c->task, 0, len);
		rpc_conn_wait(c);
	}
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

static void
rpc_reply(struct rpc_server *s, struct evhttp_request *req, struct rpc_conn *c, int code,
    const char *reason, const char *type, const char *body, size_t len)
{
	rpc_reply_how(s, req, c, code, reason, type, body, len, false);
}

static void
rpc_reply_html(struct rpc_server *s, struct evhttp_request *req, struct rpc_conn *c, int code,
    const char *reason, const char *text)
{
	char *body = xasprintf("<h1>%d: %s</h1><p>%s</p>", code, reason, text);
	rpc_reply(s, req, c, code, reason, "text/html; charset=UTF-8", body, strlen(body));
	free(body);
}

#define RPC_WEB_PREFIX "/transmission/web/"

enum rpc_route
rpc_route_of(const char *uri, const char **rest)
{
	size_t n = strcspn(uri, "?#");
	*rest = NULL;
	if ((n == 17 && strncmp(uri, "/transmission/rpc", 17) == 0) ||
	    (n == 18 && strncmp(uri, "/transmission/rpc/", 18) == 0))
		return RPC_ROUTE_RPC;
	if (n >= sizeof RPC_WEB_PREFIX - 1 && strncmp(uri, RPC_WEB_PREFIX,
	    sizeof RPC_WEB_PREFIX - 1) == 0) {
		*rest = uri + sizeof RPC_WEB_PREFIX - 1;
		return RPC_ROUTE_WEB;
	}
	static const char *const home[] = { "/", "/transmission", "/transmission/",
		"/transmission/web" };
	for (size_t i = 0; i < DP_ARRAY_LEN(home); i++)
		if (n == strlen(home[i]) && strncmp(uri, home[i], n) == 0)
			return RPC_ROUTE_WEB_HOME;
	if (n == 8 && strncmp(uri, "/metrics", 8) == 0)
		return RPC_ROUTE_METRICS;
	return RPC_ROUTE_NONE;
}

/* Unlinks p from the requests waiting for an answer. */
static void
rpc_pending_take(struct rpc_server *s, struct rpc_pending *p)
{
	for (struct rpc_pending **pp = &s->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
}

static bool
rpc_pending_find(struct rpc_server *s, const struct rpc_pending *p)
{
	for (const struct rpc_pending *x = s->pending; x != NULL; x = x->next)
		if (x == p)
			return true;
	return false;
}

/* The handler's answer: now (inside rpc_request_cb) or later from a disk pool completion. */
static void
rpc_answer_cb(char *answer, const char *method, void *arg)
{
	struct rpc_pending *p = arg;
	struct rpc_server *s = p->srv;
	struct rpc_conn *c = p->conn;
	rpc_pending_take(s, p);
	if (p->deferred && c != NULL)
		engine_task_cb_begin(c->task);
	if (c != NULL)
		engine_task_rename(c->task, "rpc client %s %.40s", c->peer, method);
	if (answer == NULL || p->req == NULL) {
		log_debug("rpc: %s: the client went away before the answer", method);
		free(answer);
	} else {
		size_t len = strlen(answer);
		log_debug("rpc: %s (%zu bytes in, %zu out)", method, p->in_len, len);
		if (len == 0) {
			rpc_reply(s, p->req, c, 204, "No Content", NULL, NULL, 0);
			free(answer);
		} else {
			rpc_reply_how(s, p->req, c, 200, "OK", "application/json; charset=UTF-8",
			    answer, len, true);
		}
	}
	if (p->deferred && c != NULL) {
		engine_task_idle(c->task, ENGINE_TASK_READ_WAIT,
		    "idle connection: waiting for request %llu",
		    (unsigned long long)c->requests + 1);
		engine_task_cb_end(c->task);
	}
	free(p);
}

/* A web client file (or why not), from rpc_web's disk pool completion. */
static void
rpc_web_answer_cb(void *arg, int code, const char *reason, const char *type, const uint8_t *body,
    size_t len)
{
	struct rpc_pending *p = arg;
	struct rpc_server *s = p->srv;
	struct rpc_conn *c = p->conn;
	if (code == 0) {
		/* The server is being freed: nothing to answer, nobody to tell. */
		free(p);
		return;
	}
	rpc_pending_take(s, p);
	if (c != NULL)
		engine_task_cb_begin(c->task);
	if (p->req != NULL) {
		if (type != NULL) {
			evhttp_add_header(evhttp_request_get_output_headers(p->req), "Cache-Control",
			    "no-cache");
			evhttp_add_header(evhttp_request_get_output_headers(p->req),
			    "X-Content-Type-Options", "nosniff");
			rpc_reply(s, p->req, c, code, reason, type, (const char *)body, len);
		} else {
			char *text = xasprintf("%.*s", (int)len, (const char *)body);
			rpc_reply_html(s, p->req, c, code, reason, text);
			free(text);
		}
	}
	if (c != NULL) {
		engine_task_idle(c->task, ENGINE_TASK_READ_WAIT,
		    "idle connection: waiting for request %llu",
		    (unsigned long long)c->requests + 1);
		engine_task_cb_end(c->task);
	}
	free(p);
}

/* GET of the web client's files, the redirect to them, and /metrics. True if it answered now,
 * false if the answer waits for the disk pool. */
static bool
rpc_serve_page(struct rpc_server *s, struct evhttp_request *req, struct rpc_conn *c,
    enum rpc_route route, const char *rest)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	if (route == RPC_ROUTE_WEB_HOME) {
		evhttp_add_header(out, "Location", RPC_WEB_PREFIX);
		rpc_reply_html(s, req, c, 301, "Moved Permanently",
		    "The web client is on <a href=\"" RPC_WEB_PREFIX "\">" RPC_WEB_PREFIX "</a>.");
		return true;
	}
	if (route == RPC_ROUTE_METRICS) {
		size_t len;
		char *text = rpc_metrics_text(s->e, &len);
		evhttp_add_header(out, "Cache-Control", "no-cache");
		rpc_reply(s, req, c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text,
		    len);
		free(text);
		return true;
	}
	char *rel = rpc_web_path(rest);
	if (rel == NULL) {
		rpc_reply_html(s, req, c, 404, "Not Found", "No such file.");
		return true;
	}
	struct rpc_pending *p = xcalloc(1, sizeof *p);
	p->srv = s;
	p->conn = c;
	p->req = req;
	p->deferred = true;
	p->next = s->pending;
	s->pending = p;
	rpc_web_get(s->web, rel, rpc_web_answer_cb, p);
	free(rel);
	if (c != NULL)
		engine_task_wait(c->task, ENGINE_TASK_DISK_WAIT,
		    "answering request %llu: reading a web client file on the disk pool",
		    (unsigned long long)c->requests);
	return false;
}

static void
rpc_request_cb(struct evhttp_request *req, void *arg)
{
	struct rpc_server *s = arg;
	struct rpc_conn *c = rpc_conn_get(s, req);
	if (c != NULL) {
		engine_task_cb_begin(c->task);
		c->requests++;
		rpc_conn_busy(c);
	}
	s->requests++;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t in_len = in != NULL ? evbuffer_get_length(in) : 0;
	if (c != NULL)
		engine_task_progress(c->task, in_len, 0);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *rest;
	enum rpc_route route = uri != NULL ? rpc_route_of(uri, &rest) : RPC_ROUTE_NONE;

	if (route == RPC_ROUTE_NONE) {
		rpc_reply_html(s, req, c, 404, "Not Found", "The RPC is served on /transmission/rpc, "
		    "the web client on " RPC_WEB_PREFIX ", metrics on /metrics.");
	} else if (route == RPC_ROUTE_RPC && cmd != EVHTTP_REQ_POST && cmd != EVHTTP_REQ_GET) {
		/* RFC 9110: a 405 names the methods the resource takes */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST, GET");
		rpc_reply_html(s, req, c, 405, "Method Not Allowed", "Use POST.");
	} else if (route != RPC_ROUTE_RPC && cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		rpc_reply_html(s, req, c, 405, "Method Not Allowed", "Use GET.");
	} else if (!rpc_auth_ok(s, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Basic realm=\"downpour\"");
		rpc_reply_html(s, req, c, 401, "Unauthorized",
		    "Unauthorized User: wrong or missing user name and password.");
		rpc_refused_log(s, true, NULL);
	} else if (!rpc_host_ok(s, req)) {
		rpc_reply_html(s, req, c, 421, "Misdirected Request",
		    "This server does not answer for that Host name (DNS rebinding protection); add "
		    "it to rpc.host_whitelist to allow it.");
		rpc_refused_log(s, false,
		    evhttp_find_header(evhttp_request_get_input_headers(req), "Host"));
	} else if (route != RPC_ROUTE_RPC) {
		if (!rpc_serve_page(s, req, c, route, rest)) {
			if (c != NULL)
				engine_task_cb_end(c->task);
			engine_task_idle(s->task, ENGINE_TASK_READ_WAIT,
			    "waiting for RPC requests (%llu answered)",
			    (unsigned long long)s->requests);
			return;
		}
	} else {
		const char *sid = evhttp_find_header(evhttp_request_get_input_headers(req),
		    RPC_SESSION_ID_HEADER);
		if (sid == NULL || strcmp(sid, s->session_id) != 0) {
			rpc_reply_html(s, req, c, 409, "Conflict",
			    "Your request had an invalid session-id header. To fix this, read the "
			    RPC_SESSION_ID_HEADER " header of this answer and send it with your "
			    "requests.");
		} else {
			char *body = xmalloc(in_len + 1);
			if (in_len > 0 && evbuffer_remove(in, body, in_len) != (int)in_len)
				in_len = 0;
			body[in_len] = '\0';
			struct rpc_pending *p = xcalloc(1, sizeof *p);
			p->srv = s;
			p->conn = c;
			p->req = req;
			p->in_len = in_len;
			p->next = s->pending;
			s->pending = p;
			rpc_handler_run_async(s->handler, body, in_len, rpc_answer_cb, p);
			free(body);
			if (rpc_pending_find(s, p)) {
				/* The answer waits for the filesystem (on the disk pool) or for
				 * torrent-get's slices. */
				p->deferred = true;
				if (c != NULL) {
					char why[192];
					enum engine_task_state st = rpc_handler_answer_wait(
					    s->handler, p, why, sizeof why);
					engine_task_wait(c->task, st, "answering request %llu: "
					    "waiting for %s", (unsigned long long)c->requests, why);
					engine_task_cb_end(c->task);
				}
				engine_task_idle(s->task, ENGINE_TASK_READ_WAIT,
				    "waiting for RPC requests (%llu answered)",
				    (unsigned long long)s->requests);
				return;
			}
		}
	}
	if (c != NULL) {
		engine_task_idle(c->task, ENGINE_TASK_READ_WAIT,
		    "idle connection: waiting for request %llu",
		    (unsigned long long)c->requests + 1);
		engine_task_cb_end(c->task);
	}
	engine_task_idle(s->task, ENGINE_TASK_READ_WAIT, "waiting for RPC requests (%llu answered)",
	    (unsigned long long)s->requests);
}

/* ---- life cycle ---- */

static void
rpc_server_close_now(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_server *s = arg;
	(void)fd;
	(void)what;
	s->on_close(s->close_arg);
}

/* session-close: the program stops from the next loop pass, so the answer is queued first. */
static void
rpc_server_close_cb(void *arg)
{
	struct rpc_server *s = arg;
	struct timeval now = { 0, 0 };
	if (event_base_once(s->base, -1, EV_TIMEOUT, rpc_server_close_now, s, &now) < 0) {
		log_error("rpc: session-close: can't schedule the stop; stopping now");
		s->on_close(s->close_arg);
	}
}

struct rpc_server *
rpc_server_new(struct event_base *base, struct engine *e, const struct rpc_options *opts,
    char *err, size_t errlen)
{
	const char *bind = opts->bind != NULL && opts->bind[0] != '\0' ? opts->bind :
	    RPC_DEFAULT_BIND;
	if (opts->port < 0 || opts->port > 65535) {
		snprintf(err, errlen, "rpc: bad port %d", opts->port);
		return NULL;
	}
	bool auth = opts->username != NULL && opts->username[0] != '\0';
	if (auth && (opts->password == NULL || opts->password[0] == '\0')) {
		snprintf(err, errlen, "rpc: a user name needs a password");
		return NULL;
	}
	struct rpc_server *s = xcalloc(1, sizeof *s);
	s->base = base;
	s->e = e;
	TAILQ_INIT(&s->waiting);
	s->max_conns = accept_cap_from_fd_limit(opts->max_connections, RPC_CONNS_FLOOR,
	    RPC_CONNS_CEILING);
	s->request_timeout_s = opts->request_timeout_s > 0 ? opts->request_timeout_s :
	    RPC_DEFAULT_REQUEST_TIMEOUT_S;
	snprintf(s->bind, sizeof s->bind, "%s", bind);
	if (auth) {
		s->username = xstrdup(opts->username);
		s->password = xstrdup(opts->password);
	}
	if (opts->host_whitelist_count > 0) {
		s->whitelist = xcalloc(opts->host_whitelist_count, sizeof *s->whitelist);
		for (size_t i = 0; i < opts->host_whitelist_count; i++)
			s->whitelist[i] = xstrdup(opts->host_whitelist[i]);
		s->whitelist_count = opts->host_whitelist_count;
	}
	rpc_new_session_id(s);
	s->http = evhttp_new(base);
	if (s->http == NULL) {
		snprintf(err, errlen, "rpc: can't create the HTTP server");
		rpc_server_free(s);
		return NULL;
	}
	evhttp_set_max_body_size(s->http, (ev_ssize_t)(opts->max_body ? opts->max_body :
	    RPC_DEFAULT_MAX_BODY));
	evhttp_set_max_headers_size(s->http, RPC_MAX_HEADERS);
	evhttp_set_timeout(s->http, RPC_TIMEOUT_S);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(s->http, rpc_request_cb, s);
	s->adopt_ev = event_new(base, -1, 0, rpc_adopt_cb, s);
	evhttp_set_bevcb(s->http, rpc_bev_new_cb, s);
	struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(s->http, s->bind,
	    (ev_uint16_t)opts->port);
	if (sock == NULL) {
		snprintf(err, errlen, "rpc: can't listen on %s port %d (in use, or not a local "
		    "numeric address)", s->bind, opts->port);
		rpc_server_free(s);
		return NULL;
	}
	s->listener = evhttp_bound_socket_get_listener(sock);
	accept_backoff_watch(base, s->listener, "rpc");
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0)
		s->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	else
		s->port = opts->port;
	s->handler = rpc_handler_new(e, opts->config_dir);
	rpc_handler_set_base(s->handler, base);
	s->web = rpc_web_new(e, opts->web_root);
	if (opts->on_close != NULL) {
		s->on_close = opts->on_close;
		s->close_arg = opts->close_arg;
		rpc_handler_set_close_cb(s->handler, rpc_server_close_cb, s);
	}
	s->task = engine_task_new(s->e, ENGINE_TASK_KIND_RPC, 0, "rpc server %s%s%s:%d",
	    strchr(s->bind, ':') ? "[" : "", s->bind, strchr(s->bind, ':') ? "]" : "", s->port);
	engine_task_idle(s->task, ENGINE_TASK_READ_WAIT, "waiting for RPC requests");
	log_info("rpc: listening on http://%s%s%s:%d/transmission/rpc%s", strchr(s->bind, ':') ?
	    "[" : "", s->bind, strchr(s->bind, ':') ? "]" : "", s->port,
	    auth ? " (authentication on)" : "");
	return s;
}

void
rpc_server_free(struct rpc_server *s)
{
	if (s == NULL)
		return;
	if (s->listener != NULL)
		accept_backoff_forget(s->listener);
	if (s->http != NULL)
		evhttp_free(s->http);   /* may run rpc_conn_closed for open connections */
	for (size_t i = 0; i < s->nadopt; i++)
		bufferevent_decref(s->adopt[i]);
	free(s->adopt);
	if (s->adopt_ev != NULL)
		event_free(s->adopt_ev);
	for (struct rpc_pending *p = s->pending; p != NULL; p = p->next) {
		p->conn = NULL;
		p->req = NULL;
	}
	while (s->conns != NULL) {
		struct rpc_conn *c = s->conns;
		s->conns = c->next;
		rpc_conn_free(c, "server stopped");
	}
	if (s->task != NULL)
		engine_task_done(s->task, "stopped after %llu request%s",
		    (unsigned long long)s->requests, s->requests == 1 ? "" : "s");
	engine_task_release(&s->task);
	rpc_handler_free(s->handler);
	rpc_web_free(s->web);
	if (s->password != NULL)
		OPENSSL_cleanse(s->password, strlen(s->password));
	free(s->username);
	free(s->password);
	for (size_t i = 0; i < s->whitelist_count; i++)
		free(s->whitelist[i]);
	free(s->whitelist);
	free(s);
}

int
rpc_server_port(const struct rpc_server *s)
{
	return s->port;
}

const char *
rpc_server_session_id(const struct rpc_server *s)
{
	return s->session_id;
}
