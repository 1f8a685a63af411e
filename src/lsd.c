/* lsd.c: Local Service Discovery (BEP 14): the BT-SEARCH codec, the multicast sockets, the
 * announce schedule (a FIFO by due time, batches of info-hashes at most once a minute) and the
 * peers heard, on one task. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "log.h"
#include "lsd.h"
#include "net.h"
#include "task.h"
#include "util.h"

#define LSD_LINE_MAX 256
#define LSD_READ_BUDGET 32                /* datagrams per read callback */
#define LSD_TICK_MS 1000u

/* ---- codec ---- */

size_t
lsd_build(char *out, size_t cap, const char *host, uint16_t port, const uint8_t (*hashes)[20],
    size_t n, const char *cookie)
{
	struct dp_buf b;
	dp_buf_init(&b);
	dp_buf_printf(&b, "BT-SEARCH * HTTP/1.1\r\nHost: %s\r\nPort: %u\r\n", host, (unsigned)port);
	for (size_t i = 0; i < n; i++) {
		char hex[41];
		dp_hex_encode(hashes[i], 20, hex);
		dp_buf_printf(&b, "Infohash: %s\r\n", hex);
	}
	if (cookie != NULL && cookie[0] != '\0')
		dp_buf_printf(&b, "cookie: %s\r\n", cookie);
	dp_buf_add_str(&b, "\r\n\r\n");
	size_t len = b.len;
	if (len > cap)
		len = 0;
	else
		memcpy(out, b.data, len);
	dp_buf_free(&b);
	return len;
}

/* The value of header line (name: value) when its name is name (any case), else NULL. */
static const char *
lsd_header(const char *line, const char *name)
{
	size_t n = strlen(name);
	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	const char *v = line + n + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	return v;
}

int
lsd_parse(const uint8_t *buf, size_t len, struct lsd_msg *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (len > LSD_MAX_DGRAM)
		return dp_fail(err, errlen, "announce of %zu bytes", len);
	size_t pos = 0;
	bool first = true, have_port = false;
	while (pos < len) {
		char line[LSD_LINE_MAX + 1];
		size_t l = 0;
		while (pos < len && buf[pos] != '\n') {
			if (l == LSD_LINE_MAX)
				return dp_fail(err, errlen, "a line longer than %d bytes", LSD_LINE_MAX);
			if (buf[pos] == '\0')
				return dp_fail(err, errlen, "a NUL byte");
			line[l++] = (char)buf[pos++];
		}
		pos++;                  /* the '\n' */
		if (l > 0 && line[l - 1] == '\r')
			l--;
		line[l] = '\0';
		if (first) {
			if (strcmp(line, "BT-SEARCH * HTTP/1.1") != 0)
				return dp_fail(err, errlen, "not a BT-SEARCH request");
			first = false;
			continue;
		}
		if (l == 0)
			break;          /* the end of the headers */
		const char *v;
		if ((v = lsd_header(line, "Port")) != NULL) {
			char *end;
			errno = 0;
			unsigned long p = strtoul(v, &end, 10);
			if (end == v || *end != '\0' || errno != 0 || p == 0 || p > 65535)
				return dp_fail(err, errlen, "a bad Port");
			out->port = (uint16_t)p;
			have_port = true;
		} else if ((v = lsd_header(line, "Infohash")) != NULL) {
			if (strlen(v) != 40)
				return dp_fail(err, errlen, "an Infohash that is not 40 hex digits");
			if (out->nhashes < LSD_MAX_HASHES) {
				if (!dp_hex_decode(v, 20, out->hashes[out->nhashes]))
					return dp_fail(err, errlen, "an Infohash that is not hex");
				out->nhashes++;
			}
		} else if ((v = lsd_header(line, "cookie")) != NULL) {
			snprintf(out->cookie, sizeof out->cookie, "%s", v);
		}
	}
	if (first)
		return dp_fail(err, errlen, "empty");
	if (!have_port)
		return dp_fail(err, errlen, "no Port");
	if (out->nhashes == 0)
		return dp_fail(err, errlen, "no Infohash");
	return 0;
}

/* ---- the loop side ---- */

struct lsd_entry {
	uint8_t ih[20];
	void *owner;
	uint64_t due_ms;
	struct lsd_entry *prev, *next;   /* by due time (every interval is the same: a FIFO) */
};

struct lsd_sock {
	int fd;
	int af;
	struct event *ev;
	struct sockaddr_storage group;
	socklen_t grouplen;
	char host[64];                   /* the Host header: the group's ADDR:PORT */
	int last_errno;                  /* a send error is logged once until it changes */
};

struct lsd {
	struct event_base *base;
	struct lsd_callbacks cb;
	uint16_t peer_port;
	char cookie[17];
	struct lsd_sock socks[2];        /* IPv4, IPv6; fd -1 when that family is off */
	struct lsd_entry **entries;      /* sorted by info-hash */
	size_t n, cap;
	struct lsd_entry *head, *tail;
	uint64_t last_sent_ms;
	struct event *tick;
	struct dp_task *task;
	struct lsd_stats st;
};

static void
lsd_update_task(struct lsd *l)
{
	task_idle(l->task, DP_TASK_READ_WAIT,
	    "%zu torrents, %" PRIu64 " announces sent, %" PRIu64 " heard, %" PRIu64 " peers",
	    l->n, l->st.sent, l->st.received, l->st.peers);
}

static size_t
lsd_search(const struct lsd *l, const uint8_t ih[20], bool *found)
{
	/* an entry begins with its info-hash */
	return dp_search_key20((void *const *)l->entries, l->n, ih, found);
}

static void
lsd_unlink(struct lsd *l, struct lsd_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lsd_push_tail(struct lsd *l, struct lsd_entry *e)
{
	e->prev = l->tail;
	e->next = NULL;
	if (l->tail != NULL)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
}

static void
lsd_push_head(struct lsd *l, struct lsd_entry *e)
{
	e->next = l->head;
	e->prev = NULL;
	if (l->head != NULL)
		l->head->prev = e;
	else
		l->tail = e;
	l->head = e;
}

/* Sends the due info-hashes (the longest waiting first, at most LSD_MAX_HASHES) on every
 * family, at most once per LSD_MIN_GAP_MS. */
static void
lsd_send_due(struct lsd *l, uint64_t now_ms)
{
	if (l->head == NULL || l->head->due_ms > now_ms ||
	    (l->last_sent_ms != 0 && now_ms - l->last_sent_ms < LSD_MIN_GAP_MS))
		return;
	uint8_t batch[LSD_MAX_HASHES][20];
	size_t n = 0;
	while (l->head != NULL && l->head->due_ms <= now_ms && n < LSD_MAX_HASHES) {
		struct lsd_entry *e = l->head;
		memcpy(batch[n++], e->ih, 20);
		lsd_unlink(l, e);
		e->due_ms = now_ms + LSD_INTERVAL_MS;
		lsd_push_tail(l, e);
	}
	l->last_sent_ms = now_ms;
	for (int i = 0; i < 2; i++) {
		struct lsd_sock *s = &l->socks[i];
		if (s->fd < 0)
			continue;
		char msg[LSD_MAX_DGRAM];
		size_t len = lsd_build(msg, sizeof msg, s->host, l->peer_port,
		    (const uint8_t (*)[20])batch, n, l->cookie);
		if (len == 0)
			continue;
		if (sendto(s->fd, msg, len, 0, (struct sockaddr *)&s->group, s->grouplen) < 0) {
			if (errno != s->last_errno)
				log_info("lsd: announce to %s: %s", s->host, strerror(errno));
			s->last_errno = errno;
			continue;
		}
		s->last_errno = 0;
		l->st.sent++;
		task_progress(l->task, 0, len);
	}
	lsd_update_task(l);
}

static void
lsd_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lsd *l = arg;
	(void)fd;
	(void)what;
	task_cb_begin(l->task);
	lsd_send_due(l, dp_now_ms());
	task_cb_end(l->task);
}

static void
lsd_handle(struct lsd *l, const uint8_t *buf, size_t len, const struct sockaddr *from,
    socklen_t fromlen)
{
	struct lsd_msg m;
	char err[96];
	if (lsd_parse(buf, len, &m, err, sizeof err) < 0) {
		l->st.malformed++;
		log_debug("lsd: dropped %zu bytes: %s", len, err);
		return;
	}
	if (strcmp(m.cookie, l->cookie) == 0) {
		l->st.own++;
		return;
	}
	l->st.received++;
	struct sockaddr_storage peer;
	memcpy(&peer, from, DP_MIN((size_t)fromlen, sizeof peer));
	if (peer.ss_family == AF_INET)
		((struct sockaddr_in *)&peer)->sin_port = htons(m.port);
	else
		((struct sockaddr_in6 *)&peer)->sin6_port = htons(m.port);
	for (size_t i = 0; i < m.nhashes; i++) {
		bool found;
		size_t pos = lsd_search(l, m.hashes[i], &found);
		if (!found)
			continue;
		l->st.peers++;
		if (l->cb.got_peer != NULL)
			l->cb.got_peer(l->cb.arg, l->entries[pos]->owner, m.hashes[i],
			    (struct sockaddr *)&peer, fromlen);
	}
}

static void
lsd_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lsd *l = arg;
	(void)what;
	task_cb_begin(l->task);
	for (int i = 0; i < LSD_READ_BUDGET; i++) {
		uint8_t buf[LSD_MAX_DGRAM + 1];
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof from;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("lsd: recvfrom: %s", strerror(errno));
			break;
		}
		task_progress(l->task, (uint64_t)n, 0);
		lsd_handle(l, buf, (size_t)n, (struct sockaddr *)&from, fromlen);
	}
	lsd_update_task(l);
	task_cb_end(l->task);
}

/* One family's socket: bound to port 6771 beside other clients of this host, in the group. */
static int
lsd_open(struct lsd *l, struct lsd_sock *s, int af, char *err, size_t errlen)
{
	int one = 1, hops = 1;
	s->af = af;
	s->fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return dp_fail(err, errlen, "socket: %s", strerror(errno));
	struct sockaddr_storage any;
	socklen_t anylen;
	memset(&any, 0, sizeof any);
	memset(&s->group, 0, sizeof s->group);
	const char *why = NULL;
	if (setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		why = "SO_REUSEADDR/SO_REUSEPORT";
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&any, *g = (struct sockaddr_in *)&s->group;
		a->sin_family = g->sin_family = AF_INET;
		a->sin_port = g->sin_port = htons(LSD_PORT);
		inet_pton(AF_INET, LSD_GROUP4, &g->sin_addr);
		anylen = s->grouplen = sizeof *a;
		snprintf(s->host, sizeof s->host, "%s:%d", LSD_GROUP4, LSD_PORT);
		struct ip_mreqn mreq;
		memset(&mreq, 0, sizeof mreq);
		mreq.imr_multiaddr = g->sin_addr;
		if (why == NULL && bind(s->fd, (struct sockaddr *)&any, anylen) < 0)
			why = "bind";
		else if (why == NULL && setsockopt(s->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq,
		    sizeof mreq) < 0)
			why = "joining " LSD_GROUP4;
		else if (why == NULL &&
		    (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one) < 0 ||
		    setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_TTL, &hops, sizeof hops) < 0))
			why = "IP_MULTICAST_LOOP/TTL";
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&any;
		struct sockaddr_in6 *g = (struct sockaddr_in6 *)&s->group;
		a->sin6_family = g->sin6_family = AF_INET6;
		a->sin6_port = g->sin6_port = htons(LSD_PORT);
		inet_pton(AF_INET6, LSD_GROUP6, &g->sin6_addr);
		anylen = s->grouplen = sizeof *a;
		snprintf(s->host, sizeof s->host, "[%s]:%d", LSD_GROUP6, LSD_PORT);
		struct ipv6_mreq mreq;
		memset(&mreq, 0, sizeof mreq);
		mreq.ipv6mr_multiaddr = g->sin6_addr;
		if (why == NULL && setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
			why = "IPV6_V6ONLY";
		else if (why == NULL && bind(s->fd, (struct sockaddr *)&any, anylen) < 0)
			why = "bind";
		else if (why == NULL && setsockopt(s->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq,
		    sizeof mreq) < 0)
			why = "joining " LSD_GROUP6;
		else if (why == NULL &&
		    (setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof one) < 0 ||
		    setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) < 0))
			why = "IPV6_MULTICAST_LOOP/HOPS";
	}
	if (why != NULL) {
		int e = errno;
		close(s->fd);
		s->fd = -1;
		return dp_fail(err, errlen, "%s: %s", why, strerror(e));
	}
	s->ev = event_new(l->base, s->fd, EV_READ | EV_PERSIST, lsd_read_cb, l);
	event_add(s->ev, NULL);
	return 0;
}

struct lsd *
lsd_new(struct event_base *base, uint16_t peer_port, const struct lsd_callbacks *cb, char *err,
    size_t errlen)
{
	struct lsd *l = xcalloc(1, sizeof *l);
	l->base = base;
	l->peer_port = peer_port;
	if (cb != NULL)
		l->cb = *cb;
	uint8_t rnd[8];
	if (RAND_bytes(rnd, sizeof rnd) != 1) {
		uint64_t t = dp_now_us();
		memcpy(rnd, &t, sizeof rnd);
	}
	dp_hex_encode(rnd, sizeof rnd, l->cookie);
	char why[2][160];
	int ok = 0;
	for (int i = 0; i < 2; i++)
		ok += lsd_open(l, &l->socks[i], i == 0 ? AF_INET : AF_INET6, why[i], sizeof why[i]) == 0;
	if (ok == 0) {
		dp_fail(err, errlen, "IPv4: %s; IPv6: %s", why[0], why[1]);
		free(l);
		return NULL;
	}
	for (int i = 0; i < 2; i++)
		if (l->socks[i].fd < 0)
			log_info("lsd: %s off: %s", i == 0 ? "IPv4" : "IPv6", why[i]);
	l->task = task_new(DP_TASK_KIND_LSD, 0, "lsd %s%s%s", l->socks[0].fd >= 0 ? LSD_GROUP4 : "",
	    l->socks[0].fd >= 0 && l->socks[1].fd >= 0 ? " " : "",
	    l->socks[1].fd >= 0 ? LSD_GROUP6 : "");
	l->tick = event_new(base, -1, EV_PERSIST, lsd_tick_cb, l);
	struct timeval tv = { LSD_TICK_MS / 1000, (LSD_TICK_MS % 1000) * 1000 };
	event_add(l->tick, &tv);
	lsd_update_task(l);
	return l;
}

void
lsd_free(struct lsd *l)
{
	if (l == NULL)
		return;
	for (int i = 0; i < 2; i++)
		if (l->socks[i].fd >= 0) {
			event_free(l->socks[i].ev);
			close(l->socks[i].fd);
		}
	event_free(l->tick);
	for (size_t i = 0; i < l->n; i++)
		free(l->entries[i]);
	free(l->entries);
	task_done(l->task, "stopped: %" PRIu64 " announces sent, %" PRIu64 " peers heard",
	    l->st.sent, l->st.peers);
	task_release(&l->task);
	free(l);
}

void
lsd_set_peer_port(struct lsd *l, uint16_t port)
{
	l->peer_port = port;
}

void
lsd_add(struct lsd *l, const uint8_t info_hash[20], void *owner)
{
	bool found;
	size_t pos = lsd_search(l, info_hash, &found);
	if (found)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->entries = xreallocarray(l->entries, l->cap, sizeof *l->entries);
	}
	struct lsd_entry *e = xcalloc(1, sizeof *e);
	memcpy(e->ih, info_hash, 20);
	e->owner = owner;
	e->due_ms = dp_now_ms();
	memmove(&l->entries[pos + 1], &l->entries[pos], (l->n - pos) * sizeof *l->entries);
	l->entries[pos] = e;
	l->n++;
	/* Due now: first in line for the next allowed announce (the tick sends it, with the
	 * others added in the same second: a session loading many torrents sends one batch). */
	lsd_push_head(l, e);
	lsd_update_task(l);
}

void
lsd_remove(struct lsd *l, const uint8_t info_hash[20])
{
	bool found;
	size_t pos = lsd_search(l, info_hash, &found);
	if (!found)
		return;
	struct lsd_entry *e = l->entries[pos];
	lsd_unlink(l, e);
	memmove(&l->entries[pos], &l->entries[pos + 1], (l->n - pos - 1) * sizeof *l->entries);
	l->n--;
	free(e);
	lsd_update_task(l);
}

void
lsd_get_stats(const struct lsd *l, struct lsd_stats *out)
{
	*out = l->st;
	out->registered = l->n;
}
