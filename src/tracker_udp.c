/* tracker_udp.c: one BEP 15 exchange on the loop: connect (or reuse a fresh connection id),
 * then announce or scrape, with 15 * 2^n retransmission and checked transaction ids. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "task.h"
#include "tracker.h"
#include "tracker_private.h"
#include "util.h"

#define TRACKER_UDP_READS_PER_EVENT 16

struct tracker_udp_op {
	struct event_base *base;
	struct evdns_base *dns;
	char host[256];
	uint16_t port;
	struct tracker_udp_conn *conn;
	bool scrape;
	struct tracker_request req;
	struct dp_task *task;
	struct tracker_resolve *res;
	int fd;
	int family;
	struct event *read_ev, *timer, *finish_ev;
	bool connecting;                /* the packet in flight is a connect */
	uint32_t tid;
	unsigned tries;                 /* n of BEP 15 for the packet in flight */
	uint8_t pkt[16 + 20 * TRACKER_SCRAPE_UDP_MAX];
	uint8_t (*hashes)[20];          /* a multi-hash scrape's (tracker_udp_scrape), or NULL */
	size_t nhashes;
	struct tracker_scrape_result *results;
	tracker_udp_scrape_cb scb;
	size_t pktlen;
	bool ok;
	struct tracker_response resp;
	char err[256];
	tracker_udp_cb cb;
	void *arg;
};

static void
tracker_udp_close(struct tracker_udp_op *op)
{
	if (op->res != NULL) {
		tracker_resolve_cancel(op->res);
		op->res = NULL;
	}
	if (op->read_ev != NULL) {
		event_free(op->read_ev);
		op->read_ev = NULL;
	}
	if (op->timer != NULL)
		evtimer_del(op->timer);
	if (op->fd >= 0) {
		close(op->fd);
		op->fd = -1;
	}
}

static void
tracker_udp_free(struct tracker_udp_op *op)
{
	tracker_udp_close(op);
	if (op->timer != NULL)
		event_free(op->timer);
	if (op->finish_ev != NULL)
		event_free(op->finish_ev);
	tracker_response_clear(&op->resp);
	task_release(&op->task);
	free(op->hashes);
	free(op->results);
	free(op);
}

static void tracker_udp_fail(struct tracker_udp_op *op, const char *fmt, ...) DP_PRINTF(2, 3);
static void
tracker_udp_fail(struct tracker_udp_op *op, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op->err, sizeof op->err, fmt, ap);
	va_end(ap);
	op->ok = false;
	tracker_udp_close(op);
	event_active(op->finish_ev, EV_TIMEOUT, 1);
}

static void
tracker_udp_succeed(struct tracker_udp_op *op)
{
	op->ok = true;
	tracker_udp_close(op);
	event_active(op->finish_ev, EV_TIMEOUT, 1);
}

static void
tracker_udp_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_udp_op *op = arg;
	struct dp_task *task = op->task;   /* our reference moves here: op is freed first */
	if (op->scb != NULL) {
		tracker_udp_scrape_cb scb = op->scb;
		void *sarg = op->arg;
		struct tracker_scrape_result *results = op->ok ? op->results : NULL;
		size_t n = op->nhashes;
		char err[sizeof op->err];
		task_cb_begin(task);
		snprintf(err, sizeof err, "%s", op->err[0] ? op->err : "no reply");
		op->results = NULL;
		op->task = NULL;
		tracker_udp_free(op);
		scb(sarg, results, n, results != NULL ? NULL : err);
		free(results);
		task_cb_end(task);
		task_release(&task);
		return;
	}
	tracker_udp_cb cb = op->cb;
	void *cbarg = op->arg;
	struct tracker_response resp = op->resp;
	char err[sizeof op->err];
	bool ok = op->ok;
	task_cb_begin(task);
	snprintf(err, sizeof err, "%s", op->err);
	memset(&op->resp, 0, sizeof op->resp);
	op->task = NULL;
	tracker_udp_free(op);
	cb(cbarg, ok ? &resp : NULL, ok ? NULL : err);
	free(resp.peers);
	task_cb_end(task);
	task_release(&task);
}

static uint64_t
tracker_udp_timeout_ms(unsigned tries)
{
	return (uint64_t)tracker_tunables.udp_base_ms << DP_MIN(tries, 16u);
}

/* Builds the next packet: a connect unless our connection id is still fresh. */
static void
tracker_udp_build(struct tracker_udp_op *op)
{
	uint64_t now = dp_now_ms();
	op->tid = tracker_random32();
	if (op->conn->received_ms == 0 || now - op->conn->received_ms >= TRACKER_UDP_CONN_ID_MS) {
		op->connecting = true;
		op->pktlen = tracker_udp_build_connect(op->pkt, op->tid);
	} else if (op->scrape && op->hashes != NULL) {
		op->connecting = false;
		op->pktlen = tracker_udp_build_scrape_multi(op->pkt, op->conn->id, op->tid,
		    (const uint8_t (*)[20])op->hashes, op->nhashes);
	} else if (op->scrape) {
		op->connecting = false;
		op->pktlen = tracker_udp_build_scrape(op->pkt, op->conn->id, op->tid,
		    op->req.info_hash);
	} else {
		op->connecting = false;
		op->pktlen = tracker_udp_build_announce(op->pkt, op->conn->id, op->tid, &op->req);
	}
}

static void
tracker_udp_send(struct tracker_udp_op *op)
{
	uint64_t ms = tracker_udp_timeout_ms(op->tries);
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	ssize_t n = send(op->fd, op->pkt, op->pktlen, 0);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
		tracker_udp_fail(op, "cannot send to %s port %u: %s", op->host, (unsigned)op->port,
		    strerror(errno));
		return;
	}
	/* A send the kernel refused for now counts as lost: the retransmission timer covers it. */
	if (n > 0)
		task_progress(op->task, 0, (uint64_t)n);
	evtimer_add(op->timer, &tv);
	task_set_deadline(op->task, dp_now_us() + ms * 1000);
	/* Retransmissions say how many went unanswered, so a silent tracker is plain to see; the
	 * deadline (when it retries or gives up) is shown next to the reason by the monitor and UI. */
	char tries[64] = "";
	if (op->tries > 0)
		snprintf(tries, sizeof tries, " (unanswered, retransmission %u of %u)", op->tries,
		    tracker_tunables.udp_max_retries);
	if (op->connecting)
		task_wait(op->task, DP_TASK_CONNECT_WAIT, "waiting for UDP connect reply from %s:%u%s",
		    op->host, (unsigned)op->port, tries);
	else
		task_wait(op->task, DP_TASK_READ_WAIT, "waiting for UDP %s reply from %s:%u%s",
		    op->scrape ? "scrape" : "announce", op->host, (unsigned)op->port, tries);
}

static void
tracker_udp_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_udp_op *op = arg;
	task_cb_begin(op->task);
	if (op->tries >= tracker_tunables.udp_max_retries) {
		tracker_udp_fail(op, "no reply from %s port %u after %u tr%s", op->host,
		    (unsigned)op->port, op->tries + 1, op->tries == 0 ? "y" : "ies");
	} else {
		op->tries++;
		log_debug("tracker udp://%s:%u: no reply, retransmitting (try %u)", op->host,
		    (unsigned)op->port, op->tries + 1);
		/* A connection id that expired while we waited must be fetched again. */
		if (!op->connecting && dp_now_ms() - op->conn->received_ms >= TRACKER_UDP_CONN_ID_MS)
			tracker_udp_build(op);
		tracker_udp_send(op);
	}
	task_cb_end(op->task);
}

/* Handles one datagram; returns true when the exchange ended. */
static bool
tracker_udp_handle(struct tracker_udp_op *op, const uint8_t *pkt, size_t len)
{
	uint32_t action;
	uint64_t cid = 0;
	char err[200];
	/* Datagrams we cannot match to our request are noise (late, spoofed): keep waiting. */
	if (len < 8 || ((uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 | (uint32_t)pkt[6] << 8 |
	    pkt[7]) != op->tid) {
		log_debug("tracker udp://%s:%u: ignoring a %zu-byte datagram that does not match",
		    op->host, (unsigned)op->port, len);
		return false;
	}
	if (tracker_udp_parse(pkt, len, op->tid, op->family, &action, &cid, &op->resp, err,
	    sizeof err) < 0) {
		tracker_udp_fail(op, "bad UDP reply from %s: %s", op->host, err);
		return true;
	}
	if (action == 3) {
		tracker_udp_fail(op, "tracker error: %s", op->resp.failure);
		return true;
	}
	if (op->connecting) {
		if (action != 0) {
			tracker_udp_fail(op, "UDP tracker %s answered a connect with action %u",
			    op->host, action);
			return true;
		}
		op->conn->id = cid;
		op->conn->received_ms = dp_now_ms();
		if (op->conn->received_ms == 0)
			op->conn->received_ms = 1;
		op->tries = 0;
		tracker_udp_build(op);
		tracker_udp_send(op);
		return op->fd < 0;
	}
	if (action != (op->scrape ? 2u : 1u)) {
		tracker_udp_fail(op, "UDP tracker %s answered %s with action %u", op->host,
		    op->scrape ? "a scrape" : "an announce", action);
		return true;
	}
	if (op->hashes != NULL) {
		op->results = xcalloc(op->nhashes, sizeof *op->results);
		tracker_udp_parse_scrape(pkt, len, op->nhashes, op->results);
	}
	tracker_udp_succeed(op);
	return true;
}

static void
tracker_udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_udp_op *op = arg;
	uint8_t buf[TRACKER_UDP_MAX_PACKET];
	task_cb_begin(op->task);
	for (int i = 0; i < TRACKER_UDP_READS_PER_EVENT; i++) {
		ssize_t n = recv(op->fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			if (errno == ECONNREFUSED)
				tracker_udp_fail(op, "%s port %u refused the UDP packet (nothing listens "
				    "there)", op->host, (unsigned)op->port);
			else
				tracker_udp_fail(op, "cannot receive from %s port %u: %s", op->host,
				    (unsigned)op->port, strerror(errno));
			break;
		}
		task_progress(op->task, (uint64_t)n, 0);
		if (tracker_udp_handle(op, buf, (size_t)n))
			break;
	}
	task_cb_end(op->task);
}

static void
tracker_udp_resolved(void *arg, const struct sockaddr *sa, socklen_t salen, const char *err)
{
	struct tracker_udp_op *op = arg;
	task_cb_begin(op->task);
	op->res = NULL;
	if (err != NULL) {
		tracker_udp_fail(op, "%s", err);
		goto out;
	}
	op->family = sa->sa_family;
	op->fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (op->fd < 0) {
		tracker_udp_fail(op, "cannot create a UDP socket for %s: %s", op->host,
		    strerror(errno));
		goto out;
	}
	/* Connected: the kernel then drops datagrams from anyone but the tracker. */
	if (connect(op->fd, sa, salen) < 0) {
		tracker_udp_fail(op, "cannot reach %s port %u: %s", op->host, (unsigned)op->port,
		    strerror(errno));
		goto out;
	}
	op->read_ev = event_new(op->base, op->fd, EV_READ | EV_PERSIST, tracker_udp_read_cb, op);
	if (op->read_ev == NULL || event_add(op->read_ev, NULL) < 0) {
		tracker_udp_fail(op, "cannot watch the UDP socket for %s", op->host);
		goto out;
	}
	tracker_udp_build(op);
	tracker_udp_send(op);
out:
	task_cb_end(op->task);
}

struct tracker_udp_op *
tracker_udp_start(struct event_base *base, struct evdns_base *dns, const char *host,
    uint16_t port, int family, struct tracker_udp_conn *conn, bool scrape,
    const struct tracker_request *req, struct dp_task *task, tracker_udp_cb cb, void *arg)
{
	struct tracker_udp_op *op = xcalloc(1, sizeof *op);
	op->base = base;
	op->dns = dns;
	snprintf(op->host, sizeof op->host, "%s", host);
	op->port = port;
	op->conn = conn;
	op->scrape = scrape;
	op->req = *req;
	op->req.tracker_id = NULL;
	op->task = task_hold(task);
	op->fd = -1;
	op->cb = cb;
	op->arg = arg;
	tracker_response_clear(&op->resp);
	op->timer = evtimer_new(base, tracker_udp_timeout_cb, op);
	op->finish_ev = event_new(base, -1, 0, tracker_udp_finish_cb, op);
	if (op->timer == NULL || op->finish_ev == NULL) {
		log_error("tracker udp://%s:%u: cannot create events", host, (unsigned)port);
		tracker_udp_free(op);
		return NULL;
	}
	task_wait(task, DP_TASK_DNS_WAIT, "resolving %s", host);
	op->res = tracker_resolve_start(base, dns, host, port, SOCK_DGRAM, family,
	    tracker_udp_resolved, op);
	if (op->res == NULL)
		tracker_udp_fail(op, "cannot start resolving %s", host);
	return op;
}

struct tracker_udp_op *
tracker_udp_scrape(struct event_base *base, struct evdns_base *dns, const char *host,
    uint16_t port, int family, struct tracker_udp_conn *conn, const uint8_t (*hashes)[20],
    size_t n, struct dp_task *task, tracker_udp_scrape_cb cb, void *arg)
{
	struct tracker_request req;
	memset(&req, 0, sizeof req);
	n = DP_MIN(n, (size_t)TRACKER_SCRAPE_UDP_MAX);
	if (n == 0)
		return NULL;
	memcpy(req.info_hash, hashes[0], 20);
	struct tracker_udp_op *op = tracker_udp_start(base, dns, host, port, family, conn, true,
	    &req, task, NULL, arg);
	if (op == NULL)
		return NULL;
	op->hashes = xmalloc(n * sizeof *op->hashes);
	memcpy(op->hashes, hashes, n * sizeof *op->hashes);
	op->nhashes = n;
	op->scb = cb;
	return op;
}

void
tracker_udp_cancel(struct tracker_udp_op *op)
{
	if (op != NULL)
		tracker_udp_free(op);
}
