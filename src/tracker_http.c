/* tracker_http.c: one HTTP(S) GET to a tracker on the loop (evdns lookup, evhttp with
 * bufferevent_openssl, SNI and certificate checks, redirects, size limit, timeout), and the
 * non-blocking name resolution the UDP side shares. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "task.h"
#include "tls_trust.h"
#include "tracker.h"
#include "tracker_private.h"
#include "util.h"

uint32_t
tracker_random32(void)
{
	uint32_t v;
	if (RAND_bytes((unsigned char *)&v, sizeof v) != 1) {
		/* Only a broken OpenSSL gets here; transaction ids then just get weaker. */
		v = (uint32_t)dp_now_us() ^ (uint32_t)(dp_now_us() >> 32) * 2654435761u;
	}
	return v;
}

struct tracker_resolve {
	struct evdns_getaddrinfo_request *req;
	struct event *deliver;
	tracker_resolve_cb cb;
	void *arg;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char host[256];
	char err[320];
};

static void
tracker_resolve_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_resolve *r = arg;
	tracker_resolve_cb cb = r->cb;
	void *cbarg = r->arg;
	struct sockaddr_storage ss = r->ss;
	socklen_t sslen = r->sslen;
	char err[sizeof r->err];
	snprintf(err, sizeof err, "%s", r->err);
	event_free(r->deliver);
	free(r);
	cb(cbarg, err[0] ? NULL : (struct sockaddr *)&ss, sslen, err[0] ? err : NULL);
}

static void
tracker_resolve_result(struct tracker_resolve *r, int result, struct evutil_addrinfo *ai)
{
	if (result != 0) {
		snprintf(r->err, sizeof r->err, "cannot resolve %s: %s", r->host,
		    evutil_gai_strerror(result));
	} else if (ai == NULL || ai->ai_addrlen > sizeof r->ss) {
		snprintf(r->err, sizeof r->err, "cannot resolve %s: no address", r->host);
	} else {
		/* Prefer IPv4 when both come back: it is what most trackers answer best on. */
		struct evutil_addrinfo *pick = ai;
		for (struct evutil_addrinfo *a = ai; a != NULL; a = a->ai_next)
			if (a->ai_family == AF_INET) {
				pick = a;
				break;
			}
		memcpy(&r->ss, pick->ai_addr, pick->ai_addrlen);
		r->sslen = (socklen_t)pick->ai_addrlen;
	}
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	event_active(r->deliver, EV_TIMEOUT, 1);
}

static void
tracker_resolve_done(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct tracker_resolve *r = arg;
	if (result == EVUTIL_EAI_CANCEL) {
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		return;
	}
	r->req = NULL;
	tracker_resolve_result(r, result, ai);
}

struct tracker_resolve *
tracker_resolve_start(struct event_base *base, struct evdns_base *dns, const char *host,
    uint16_t port, int socktype, int family, tracker_resolve_cb cb, void *arg)
{
	struct tracker_resolve *r = xcalloc(1, sizeof *r);
	struct evutil_addrinfo hints;
	char portstr[8];
	r->cb = cb;
	r->arg = arg;
	snprintf(r->host, sizeof r->host, "%s", host);
	r->deliver = event_new(base, -1, 0, tracker_resolve_deliver, r);
	if (r->deliver == NULL) {
		free(r);
		return NULL;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = family;
	hints.ai_socktype = socktype;
	hints.ai_protocol = socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
	snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
	if (dns == NULL) {
		/* Without a resolver only numeric hosts work: never a blocking lookup. */
		struct evutil_addrinfo *ai = NULL;
		hints.ai_flags = EVUTIL_AI_NUMERICHOST;
		int rc = evutil_getaddrinfo(host, portstr, &hints, &ai);
		if (rc != 0) {
			snprintf(r->err, sizeof r->err, "cannot resolve %s: no DNS resolver", host);
			event_active(r->deliver, EV_TIMEOUT, 1);
		} else {
			tracker_resolve_result(r, 0, ai);
		}
		return r;
	}
	/* The callback may run inside this call (numeric hosts, errors); it only stores. */
	r->req = evdns_getaddrinfo(dns, host, portstr, &hints, tracker_resolve_done, r);
	return r;
}

void
tracker_resolve_cancel(struct tracker_resolve *r)
{
	if (r == NULL)
		return;
	if (r->req != NULL)
		evdns_getaddrinfo_cancel(r->req);
	event_free(r->deliver);
	free(r);
}

/* --- HTTP fetch --- */

struct tracker_http_fetch {
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ssl_ctx;
	struct tls_trust_wait *tls_wait;   /* for the system's certificates to be loaded */
	char *url;
	const char *what;
	int family;                     /* of the tracker's addresses we use (AF_UNSPEC: any) */
	struct dp_task *task;
	struct tracker_url u;
	int redirects;
	char *redirect_to;
	struct tracker_resolve *res;
	struct evhttp_connection *conn;
	struct bufferevent *bev;
	struct event *connect_ev;       /* watches the socket until the TCP connect completes */
	struct event *finish_ev;        /* runs the end of a request outside libevent's callback */
	struct event *timer;            /* the whole exchange's deadline */
	bool have_req_error;
	enum evhttp_request_error req_error;
	bool connect_failed;
	int status;
	/* A ranged GET (web seeds): bytes range_first.. of range_len (0: a whole reply, up to
	 * TRACKER_MAX_BODY); max_body is what may come. */
	uint64_t range_first, range_len;
	size_t max_body;
	struct dp_buf body;
	char err[256];
	tracker_http_cb cb;
	void *arg;
};

static void tracker_http_begin(struct tracker_http_fetch *f);

static void
tracker_http_close(struct tracker_http_fetch *f)
{
	if (f->res != NULL) {
		tracker_resolve_cancel(f->res);
		f->res = NULL;
	}
	if (f->connect_ev != NULL) {
		event_free(f->connect_ev);
		f->connect_ev = NULL;
	}
	if (f->conn != NULL) {
		/* Frees the bufferevent and any request still queued, without callbacks. */
		evhttp_connection_free(f->conn);
		f->conn = NULL;
		f->bev = NULL;
	}
}

static void
tracker_http_free(struct tracker_http_fetch *f)
{
	tracker_http_close(f);
	tls_trust_cancel(f->ssl_ctx, f->tls_wait);
	f->tls_wait = NULL;
	if (f->finish_ev != NULL)
		event_free(f->finish_ev);
	if (f->timer != NULL)
		event_free(f->timer);
	dp_buf_free(&f->body);
	free(f->redirect_to);
	free(f->url);
	task_release(&f->task);
	free(f);
}

/* Ends the fetch from the loop: the caller's callback may free what owns us. */
static void
tracker_http_fail(struct tracker_http_fetch *f, const char *fmt, ...) DP_PRINTF(2, 3);
static void
tracker_http_fail(struct tracker_http_fetch *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->err, sizeof f->err, fmt, ap);
	va_end(ap);
	f->status = 0;
	event_active(f->finish_ev, EV_TIMEOUT, 1);
}

static void
tracker_http_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_http_fetch *f = arg;
	task_cb_begin(f->task);
	tracker_http_close(f);
	if (f->redirect_to != NULL && f->err[0] == '\0') {
		char err[200];
		char *to = f->redirect_to;
		f->redirect_to = NULL;
		log_debug("tracker %s: redirected to %s", f->url, to);
		free(f->url);
		f->url = to;
		if (tracker_url_parse(f->url, &f->u, err, sizeof err) < 0 ||
		    f->u.scheme == TRACKER_SCHEME_UDP) {
			snprintf(f->err, sizeof f->err, "bad redirect to %s: %s", f->url,
			    f->u.scheme == TRACKER_SCHEME_UDP ? "not HTTP" : err);
		} else {
			tracker_http_begin(f);
			task_cb_end(f->task);
			return;
		}
	}
	tracker_http_cb cb = f->cb;
	void *cbarg = f->arg;
	struct dp_task *task = f->task;   /* our reference moves here: f is freed first */
	int status = f->status;
	struct dp_buf body = f->body;
	char err[sizeof f->err];
	snprintf(err, sizeof err, "%s", f->err);
	dp_buf_init(&f->body);
	f->task = NULL;
	tracker_http_free(f);
	cb(cbarg, status, body.data, body.len, err[0] ? err : NULL);
	dp_buf_free(&body);
	task_cb_end(task);
	task_release(&task);
}

static void
tracker_http_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_http_fetch *f = arg;
	task_cb_begin(f->task);
	tracker_http_close(f);
	tracker_http_fail(f, "no %s reply from %s within %u s", f->what, f->u.host,
	    tracker_tunables.http_timeout_ms / 1000);
	task_cb_end(f->task);
}

static void
tracker_http_connected_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_http_fetch *f = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	task_cb_begin(f->task);
	/* Writable also means the connect failed; getpeername tells which without taking the
	 * socket error libevent is about to read. */
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		f->connect_failed = true;
	else
		task_wait(f->task, DP_TASK_READ_WAIT, "waiting for %s reply from %s:%u", f->what,
		    f->u.host, (unsigned)f->u.port);
	task_cb_end(f->task);
}

static void
tracker_http_error_cb(enum evhttp_request_error e, void *arg)
{
	struct tracker_http_fetch *f = arg;
	f->have_req_error = true;
	f->req_error = e;

}

static const char *
tracker_http_error_text(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		return "timed out";
	case EVREQ_HTTP_EOF:
		return "connection closed before a complete reply";
	case EVREQ_HTTP_INVALID_HEADER:
		return "invalid HTTP reply header";
	case EVREQ_HTTP_BUFFER_ERROR:
		return "buffer error";
	case EVREQ_HTTP_REQUEST_CANCEL:
		return "request cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "reply too large";
	default:
		return "connection failed";
	}
}

char *
tracker_http_resolve_location(const struct tracker_url *u, const char *loc)
{
	const char *scheme = u->scheme == TRACKER_SCHEME_HTTPS ? "https" : "http";
	bool v6 = strchr(u->host, ':') != NULL;
	if (strstr(loc, "://") != NULL)
		return xstrdup(loc);
	if (loc[0] == '/' && loc[1] == '/')
		return xasprintf("%s:%s", scheme, loc);
	if (loc[0] == '/')
		return xasprintf("%s://%s%s%s:%u%s", scheme, v6 ? "[" : "", u->host, v6 ? "]" : "",
		    (unsigned)u->port, loc);
	size_t dir = strcspn(u->path, "?");
	while (dir > 0 && u->path[dir - 1] != '/')
		dir--;
	return xasprintf("%s://%s%s%s:%u%.*s%s", scheme, v6 ? "[" : "", u->host, v6 ? "]" : "",
	    (unsigned)u->port, (int)dir, u->path, loc);
}

static void
tracker_http_done_cb(struct evhttp_request *req, void *arg)
{
	struct tracker_http_fetch *f = arg;
	task_cb_begin(f->task);
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (code == 0) {
		char extra[200] = "";
		unsigned long ssl_err = 0;
		if (f->bev != NULL && f->u.scheme == TRACKER_SCHEME_HTTPS) {
			/* The first queued error is the cause; the rest follow from it. */
			while ((ssl_err = bufferevent_get_openssl_error(f->bev)) != 0) {
				if (extra[0] == '\0') {
					char buf[120];
					ERR_error_string_n(ssl_err, buf, sizeof buf);
					snprintf(extra, sizeof extra, " (TLS: %s)", buf);
				}
			}
		}

		if (f->have_req_error && f->req_error == EVREQ_HTTP_DATA_TOO_LONG && f->range_len > 0)
			tracker_http_fail(f, "%s from %s: " TRACKER_HTTP_TOO_LONG " (%llu bytes)", f->what,
			    f->u.host, (unsigned long long)f->range_len);
		else if (f->have_req_error && f->req_error == EVREQ_HTTP_DATA_TOO_LONG)
			tracker_http_fail(f, "%s reply from %s is larger than %u MiB", f->what,
			    f->u.host, TRACKER_MAX_BODY >> 20);
		else if (f->connect_failed)
			tracker_http_fail(f, "cannot connect to %s port %u (refused or unreachable)",
			    f->u.host, (unsigned)f->u.port);
		else
			tracker_http_fail(f, "%s to %s:%u failed: %s%s", f->what, f->u.host,
			    (unsigned)f->u.port, f->have_req_error ?
			    tracker_http_error_text(f->req_error) : "connection failed", extra);
		task_cb_end(f->task);
		return;
	}
	f->status = code;
	const char *loc = evhttp_find_header(evhttp_request_get_input_headers(req), "Location");
	if ((code == 301 || code == 302 || code == 303 || code == 307 || code == 308) &&
	    loc != NULL) {
		if (f->redirects >= TRACKER_MAX_REDIRECTS) {
			tracker_http_fail(f, "too many redirects (last to %.120s)", loc);
		} else {
			f->redirects++;
			f->redirect_to = tracker_http_resolve_location(&f->u, loc);
			event_active(f->finish_ev, EV_TIMEOUT, 1);
		}
		task_cb_end(f->task);
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len > f->max_body) {
		tracker_http_fail(f, "%s reply from %s is larger than %zu bytes", f->what, f->u.host,
		    f->max_body);
	} else {
		dp_buf_reserve(&f->body, len);
		evbuffer_remove(in, f->body.data, len);
		f->body.len = len;
		f->body.data[len] = '\0';
		task_progress(f->task, len, 0);
		event_active(f->finish_ev, EV_TIMEOUT, 1);
	}
	task_cb_end(f->task);
}

static struct bufferevent *
tracker_http_make_bev(struct tracker_http_fetch *f)
{
	if (f->u.scheme == TRACKER_SCHEME_HTTP)
		return bufferevent_socket_new(f->base, -1, BEV_OPT_CLOSE_ON_FREE);
	SSL *ssl = SSL_new(f->ssl_ctx);
	if (ssl == NULL)
		return NULL;
	/* SNI for name hosts, and the certificate must name the host we asked for. */
	struct in6_addr dummy;
	bool numeric = inet_pton(AF_INET, f->u.host, &dummy) == 1 ||
	    inet_pton(AF_INET6, f->u.host, &dummy) == 1;
	if (!numeric)
		SSL_set_tlsext_host_name(ssl, f->u.host);
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (numeric ? X509_VERIFY_PARAM_set1_ip_asc(param, f->u.host) != 1 :
	    X509_VERIFY_PARAM_set1_host(param, f->u.host, 0) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	struct bufferevent *bev = bufferevent_openssl_socket_new(f->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* Many trackers close without a TLS close_notify; the reply is complete anyway. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void
tracker_http_resolved(void *arg, const struct sockaddr *sa, socklen_t salen, const char *err)
{
	struct tracker_http_fetch *f = arg;
	char ip[INET6_ADDRSTRLEN];
	task_cb_begin(f->task);
	f->res = NULL;
	if (err != NULL) {
		tracker_http_fail(f, "%s", err);
		goto out;
	}
	const void *a = sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (inet_ntop(sa->sa_family, a, ip, sizeof ip) == NULL) {
		tracker_http_fail(f, "cannot format the address of %s", f->u.host);
		goto out;
	}
	f->bev = tracker_http_make_bev(f);
	if (f->bev == NULL) {
		tracker_http_fail(f, "cannot set up %s connection to %s",
		    f->u.scheme == TRACKER_SCHEME_HTTPS ? "TLS" : "a", f->u.host);
		goto out;
	}
	f->conn = evhttp_connection_base_bufferevent_new(f->base, NULL, f->bev, ip, f->u.port);
	if (f->conn == NULL) {
		bufferevent_free(f->bev);
		f->bev = NULL;
		tracker_http_fail(f, "cannot create an HTTP connection to %s", f->u.host);
		goto out;
	}
	struct timeval tv = {
		.tv_sec = tracker_tunables.http_timeout_ms / 1000,
		.tv_usec = (tracker_tunables.http_timeout_ms % 1000) * 1000,
	};
	evhttp_connection_set_timeout_tv(f->conn, &tv);
	evhttp_connection_set_max_body_size(f->conn, (ev_ssize_t)f->max_body);
	evhttp_connection_set_max_headers_size(f->conn, 64 * 1024);
	evhttp_connection_set_retries(f->conn, 0);
	struct evhttp_request *req = evhttp_request_new(tracker_http_done_cb, f);
	if (req == NULL) {
		tracker_http_fail(f, "out of memory for an HTTP request");
		goto out;
	}
	evhttp_request_set_error_cb(req, tracker_http_error_cb);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	bool v6 = strchr(f->u.host, ':') != NULL;
	bool default_port = f->u.port == (f->u.scheme == TRACKER_SCHEME_HTTPS ? 443 : 80);
	char hostline[300];
	if (default_port)
		snprintf(hostline, sizeof hostline, "%s%s%s", v6 ? "[" : "", f->u.host, v6 ? "]" : "");
	else
		snprintf(hostline, sizeof hostline, "%s%s%s:%u", v6 ? "[" : "", f->u.host,
		    v6 ? "]" : "", (unsigned)f->u.port);
	evhttp_add_header(h, "Host", hostline);
	evhttp_add_header(h, "User-Agent", PACKAGE_NAME "/" PACKAGE_VERSION);
	evhttp_add_header(h, "Accept-Encoding", "identity");
	evhttp_add_header(h, "Connection", "close");
	if (f->range_len > 0) {
		char range[64];
		snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)f->range_first,
		    (unsigned long long)(f->range_first + f->range_len - 1));
		evhttp_add_header(h, "Range", range);
	}
	if (evhttp_make_request(f->conn, req, EVHTTP_REQ_GET, f->u.path) != 0) {
		/* evhttp_make_request frees the request on failure. */
		tracker_http_fail(f, "cannot send the %s request to %s", f->what, f->u.host);
		goto out;
	}
	int fd = bufferevent_getfd(f->bev);
	task_set_deadline(f->task, dp_now_us() + tracker_tunables.http_timeout_ms * 1000ull);
	if (fd >= 0) {
		f->connect_ev = event_new(f->base, fd, EV_WRITE, tracker_http_connected_cb, f);
		if (f->connect_ev != NULL && event_add(f->connect_ev, NULL) == 0) {
			task_wait(f->task, DP_TASK_CONNECT_WAIT, "connecting to %s port %u", f->u.host,
			    (unsigned)f->u.port);
			goto out;
		}
	}
	task_wait(f->task, DP_TASK_READ_WAIT, "waiting for %s reply from %s:%u", f->what, f->u.host,
	    (unsigned)f->u.port);
out:
	task_cb_end(f->task);
}

static void tracker_http_resolve(struct tracker_http_fetch *f);

/* The certificates are loaded: on to resolving. */
static void
tracker_http_tls_ready(void *arg)
{
	struct tracker_http_fetch *f = arg;
	f->tls_wait = NULL;
	task_cb_begin(f->task);
	tracker_http_resolve(f);
	task_cb_end(f->task);
}

static void
tracker_http_begin(struct tracker_http_fetch *f)
{
	f->have_req_error = false;
	f->connect_failed = false;
	f->status = 0;
	f->err[0] = '\0';
	dp_buf_free(&f->body);
	dp_buf_init(&f->body);
	if (f->u.scheme == TRACKER_SCHEME_HTTPS && f->ssl_ctx == NULL) {
		tracker_http_fail(f, "HTTPS is not available (no TLS context)");
		return;
	}
	/* The first HTTPS request of the run waits for the certificates (a disk pool job loads
	 * them, behind whatever the pool has queued: at a start with thousands of torrents that
	 * can take longer than a tracker may take to answer). The reply timer starts after. */
	if (f->u.scheme == TRACKER_SCHEME_HTTPS && (f->tls_wait != NULL ||
	    (f->tls_wait = tls_trust_when_ready(f->ssl_ctx, tracker_http_tls_ready, f)) != NULL)) {
		/* A redirect to HTTPS comes here with the first hop's timer still running. */
		evtimer_del(f->timer);
		task_wait(f->task, DP_TASK_DISK_WAIT, "loading the system's certificates");
		return;
	}
	tracker_http_resolve(f);
}

/* Name resolution, then the connection. */
static void
tracker_http_resolve(struct tracker_http_fetch *f)
{
	struct timeval tv = {
		.tv_sec = tracker_tunables.http_timeout_ms / 1000,
		.tv_usec = (tracker_tunables.http_timeout_ms % 1000) * 1000,
	};
	evtimer_add(f->timer, &tv);
	task_wait(f->task, DP_TASK_DNS_WAIT, "resolving %s", f->u.host);
	f->res = tracker_resolve_start(f->base, f->dns, f->u.host, f->u.port, SOCK_STREAM,
	    f->family, tracker_http_resolved, f);
	if (f->res == NULL)
		tracker_http_fail(f, "cannot start resolving %s", f->u.host);
}

struct tracker_http_fetch *
tracker_http_fetch_start(struct event_base *base, struct evdns_base *dns,
    struct ssl_ctx_st *ssl_ctx, const char *url, const char *what, int family,
    struct dp_task *task, tracker_http_cb cb, void *arg)
{
	return tracker_http_fetch_range(base, dns, ssl_ctx, url, what, family, 0, 0, task, cb, arg);
}

struct tracker_http_fetch *
tracker_http_fetch_range(struct event_base *base, struct evdns_base *dns,
    struct ssl_ctx_st *ssl_ctx, const char *url, const char *what, int family, uint64_t first,
    uint64_t len, struct dp_task *task, tracker_http_cb cb, void *arg)
{
	struct tracker_http_fetch *f = xcalloc(1, sizeof *f);
	f->range_first = first;
	f->range_len = len;
	/* A server that ignores Range sends the whole file: no more than was asked is read. */
	f->max_body = len > 0 ? (size_t)len : TRACKER_MAX_BODY;
	f->family = family;
	f->base = base;
	f->dns = dns;
	f->ssl_ctx = ssl_ctx;
	f->url = xstrdup(url);
	f->what = what;
	f->task = task_hold(task);
	f->cb = cb;
	f->arg = arg;
	dp_buf_init(&f->body);
	f->finish_ev = event_new(base, -1, 0, tracker_http_finish_cb, f);
	f->timer = evtimer_new(base, tracker_http_timeout_cb, f);
	if (f->finish_ev == NULL || f->timer == NULL) {
		log_error("tracker %s: cannot create events", url);
		tracker_http_free(f);
		return NULL;
	}
	char err[200];
	if (tracker_url_parse(url, &f->u, err, sizeof err) < 0 || f->u.scheme == TRACKER_SCHEME_UDP)
		tracker_http_fail(f, "%s", f->u.scheme == TRACKER_SCHEME_UDP ? "not an HTTP URL" : err);
	else
		tracker_http_begin(f);
	return f;
}

void
tracker_http_fetch_cancel(struct tracker_http_fetch *f)
{
	if (f != NULL)
		tracker_http_free(f);
}
