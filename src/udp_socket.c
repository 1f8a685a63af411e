/* udp_socket.c: the shared UDP socket: binding, kernel buffer sizes, batched reads (recvmmsg)
 * under a budget, the handler chain that claims datagrams, counted sends and drops. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "log.h"
#include "net.h"
#include "task.h"
#include "udp_socket.h"
#include "util.h"

/* Datagrams one recvmmsg call takes. */
#define UDP_SOCKET_BATCH 32u
/* The task's reason is formatted at most this often (it costs a printf; packets come fast). */
#define UDP_SOCKET_REASON_MS 250u

struct udp_socket_handler {
	udp_handler_fn fn;      /* NULL: removed while the chain was running */
	void *arg;
};

struct udp_socket {
	struct event_base *base;
	int fd;
	int family;
	int port;
	char name[80];
	struct event *rev;
	struct event *wev;                  /* armed after an EAGAIN, for writable_fn */
	void (*writable_fn)(void *arg);
	void *writable_arg;
	struct udp_socket_handler *handlers;
	size_t nhandlers, handlers_cap;
	bool dispatching;
	struct dp_task *task;
	uint64_t reason_ms;
	struct udp_socket_stats st;
	uint64_t last_error_log_ms;
	/* recvmmsg's batch: one buffer, address and header per datagram */
	uint8_t *bufs;
	struct mmsghdr msgs[UDP_SOCKET_BATCH];
	struct iovec iovs[UDP_SOCKET_BATCH];
	struct sockaddr_storage froms[UDP_SOCKET_BATCH];
};

/* Raises one kernel buffer to UDP_SOCKET_BUFFER: the plain option first (capped by
 * net.core.[rw]mem_max), the privileged one when that fell short; says so when capped. */
static int
udp_socket_raise_buffer(struct udp_socket *u, int opt, int force_opt, const char *what,
    const char *sysctl)
{
	int want = (int)UDP_SOCKET_BUFFER, got = 0;
	socklen_t len = sizeof got;
	if (setsockopt(u->fd, SOL_SOCKET, opt, &want, sizeof want) < 0)
		log_debug("%s: %s %d: %s", u->name, what, want, strerror(errno));
	if (getsockopt(u->fd, SOL_SOCKET, opt, &got, &len) < 0)
		got = 0;
	/* Linux reports twice what it grants (the other half is its bookkeeping). */
	if (got < want && force_opt >= 0 &&
	    setsockopt(u->fd, SOL_SOCKET, force_opt, &want, sizeof want) == 0) {
		len = sizeof got;
		if (getsockopt(u->fd, SOL_SOCKET, opt, &got, &len) < 0)
			got = 0;
	}
	if (got < want)
		log_info("%s: the kernel caps the UDP %s buffer at %d KiB (asked %d KiB); raise %s "
		    "for uTP at full speed", u->name, what, got / 1024, want / 1024, sysctl);
	return got;
}

static void
udp_socket_update_task(struct udp_socket *u, uint64_t now)
{
	u->reason_ms = now;
	task_idle(u->task, DP_TASK_READ_WAIT,
	    "in %llu datagrams, out %llu, dropped %llu on send, %llu unclaimed",
	    (unsigned long long)u->st.in_dgrams, (unsigned long long)u->st.out_dgrams,
	    (unsigned long long)u->st.send_drops, (unsigned long long)u->st.unclaimed);
}

static void
udp_socket_compact(struct udp_socket *u)
{
	size_t j = 0;
	for (size_t i = 0; i < u->nhandlers; i++)
		if (u->handlers[i].fn != NULL)
			u->handlers[j++] = u->handlers[i];
	u->nhandlers = j;
}

static void
udp_socket_dispatch(struct udp_socket *u, const uint8_t *data, size_t len,
    const struct sockaddr *from, socklen_t fromlen)
{
	u->dispatching = true;
	bool taken = false;
	/* nhandlers is read each time: a handler may add one (it sees the next datagram). */
	for (size_t i = 0; i < u->nhandlers && !taken; i++) {
		struct udp_socket_handler h = u->handlers[i];
		if (h.fn != NULL)
			taken = h.fn(h.arg, data, len, from, fromlen);
	}
	u->dispatching = false;
	udp_socket_compact(u);
	if (!taken)
		u->st.unclaimed++;
}

/* One recvmmsg batch. Returns datagrams read, 0 when the socket is empty, -1 on an error. */
static int
udp_socket_read_batch(struct udp_socket *u, unsigned max)
{
	for (unsigned i = 0; i < max; i++) {
		u->iovs[i].iov_base = u->bufs + (size_t)i * UDP_SOCKET_MAX_DGRAM;
		u->iovs[i].iov_len = UDP_SOCKET_MAX_DGRAM;
		memset(&u->msgs[i].msg_hdr, 0, sizeof u->msgs[i].msg_hdr);
		u->msgs[i].msg_hdr.msg_name = &u->froms[i];
		u->msgs[i].msg_hdr.msg_namelen = sizeof u->froms[i];
		u->msgs[i].msg_hdr.msg_iov = &u->iovs[i];
		u->msgs[i].msg_hdr.msg_iovlen = 1;
		u->msgs[i].msg_len = 0;
	}
	int n;
	do
		n = recvmmsg(u->fd, u->msgs, max, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		/* ICMP errors queued for earlier sends surface here on some kernels: not fatal. */
		u->st.recv_errors++;
		uint64_t now = dp_now_ms();
		if (now - u->last_error_log_ms >= 10000) {
			u->last_error_log_ms = now;
			log_debug("%s: receive failed: %s", u->name, strerror(errno));
		}
		return errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH ? 1 : -1;
	}
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &u->msgs[i].msg_hdr;
		size_t len = u->msgs[i].msg_len;
		if (h->msg_flags & MSG_TRUNC) {
			u->st.oversized++;
			continue;
		}
		u->st.in_dgrams++;
		u->st.in_bytes += len;
		task_progress(u->task, len, 0);
		udp_socket_dispatch(u, u->iovs[i].iov_base, len, (struct sockaddr *)&u->froms[i],
		    h->msg_namelen);
	}
	return n;
}

static void
udp_socket_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_socket *u = arg;
	(void)fd;
	(void)what;
	struct dp_task *task = task_hold(u->task);
	task_cb_begin(task);
	u->st.callbacks++;
	/* Level-triggered: what the budget leaves is read on the next loop iteration. */
	for (unsigned done = 0; done < UDP_SOCKET_BUDGET;) {
		unsigned want = DP_MIN(UDP_SOCKET_BATCH, UDP_SOCKET_BUDGET - done);
		int n = udp_socket_read_batch(u, want);
		if (n <= 0)
			break;
		done += (unsigned)n;
		if ((unsigned)n < want)
			break;
	}
	uint64_t now = dp_now_ms();
	if (now - u->reason_ms >= UDP_SOCKET_REASON_MS)
		udp_socket_update_task(u, now);
	task_cb_end(task);
	task_release(&task);
}

static void
udp_socket_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_socket *u = arg;
	(void)fd;
	(void)what;
	if (u->writable_fn != NULL)
		u->writable_fn(u->writable_arg);
}

struct udp_socket *
udp_socket_new(struct event_base *base, const struct sockaddr *bind_sa, socklen_t bindlen,
    char *err, size_t errlen)
{
	if (bind_sa->sa_family != AF_INET && bind_sa->sa_family != AF_INET6)
		return (void)dp_fail(err, errlen, "UDP: address family %d is not IP",
		    bind_sa->sa_family), NULL;
	struct udp_socket *u = xcalloc(1, sizeof *u);
	u->base = base;
	u->family = bind_sa->sa_family;
	u->fd = -1;
	char a[64];
	sockaddr_format(bind_sa, a, sizeof a);
	snprintf(u->name, sizeof u->name, "udp %s", a);
	u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		dp_fail(err, errlen, "can't create a UDP socket for %s: %s", a, strerror(errno));
		goto fail;
	}
	if (u->family == AF_INET6) {
		int on = 1;
		if (setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) {
			dp_fail(err, errlen, "UDP %s: IPV6_V6ONLY: %s", a, strerror(errno));
			goto fail;
		}
	}
	if (bind(u->fd, bind_sa, bindlen) < 0) {
		dp_fail(err, errlen, "can't bind UDP %s: %s", a, strerror(errno));
		goto fail;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	if (getsockname(u->fd, (struct sockaddr *)&bound, &blen) < 0) {
		dp_fail(err, errlen, "getsockname on UDP %s: %s", a, strerror(errno));
		goto fail;
	}
	u->port = bound.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&bound)->sin_port) :
	    ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
	sockaddr_format((struct sockaddr *)&bound, a, sizeof a);
	snprintf(u->name, sizeof u->name, "udp %s", a);
	/* Don't Fragment on every datagram, the kernel's cached path MTU ignored: uTP finds the
	 * path's MTU itself by probing (a fragment lost loses the whole datagram). */
	int pmtu = u->family == AF_INET ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE;
	if (setsockopt(u->fd, u->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
	    u->family == AF_INET ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu) < 0)
		log_debug("%s: path MTU discovery mode: %s", u->name, strerror(errno));
	u->st.rcvbuf = udp_socket_raise_buffer(u, SO_RCVBUF, SO_RCVBUFFORCE, "receive",
	    "net.core.rmem_max");
	u->st.sndbuf = udp_socket_raise_buffer(u, SO_SNDBUF, SO_SNDBUFFORCE, "send",
	    "net.core.wmem_max");
	u->bufs = xmalloc((size_t)UDP_SOCKET_BATCH * UDP_SOCKET_MAX_DGRAM);
	u->rev = event_new(base, u->fd, EV_READ | EV_PERSIST, udp_socket_read_cb, u);
	u->wev = event_new(base, u->fd, EV_WRITE, udp_socket_write_cb, u);
	if (u->rev == NULL || u->wev == NULL || event_add(u->rev, NULL) < 0) {
		errno = ENOMEM;
		dp_fail(err, errlen, "UDP %s: can't watch the socket", a);
		goto fail;
	}
	u->task = task_new(DP_TASK_KIND_LISTENER, 0, "%s", u->name);
	udp_socket_update_task(u, dp_now_ms());
	log_debug("%s: receive buffer %d KiB, send buffer %d KiB", u->name, u->st.rcvbuf / 1024,
	    u->st.sndbuf / 1024);
	return u;
fail:;
	int saved = errno;       /* the caller may retry another port on EADDRINUSE */
	udp_socket_free(u);
	errno = saved;
	return NULL;
}

void
udp_socket_add_handler(struct udp_socket *u, udp_handler_fn fn, void *arg)
{
	if (u->nhandlers == u->handlers_cap) {
		u->handlers_cap = u->handlers_cap ? 2 * u->handlers_cap : 4;
		u->handlers = xreallocarray(u->handlers, u->handlers_cap, sizeof *u->handlers);
	}
	u->handlers[u->nhandlers].fn = fn;
	u->handlers[u->nhandlers].arg = arg;
	u->nhandlers++;
}

void
udp_socket_remove_handler(struct udp_socket *u, udp_handler_fn fn, void *arg)
{
	for (size_t i = 0; i < u->nhandlers; i++) {
		if (u->handlers[i].fn == fn && u->handlers[i].arg == arg) {
			u->handlers[i].fn = NULL;
			break;
		}
	}
	if (!u->dispatching)
		udp_socket_compact(u);
}

int
udp_socket_send(struct udp_socket *u, const void *data, size_t len, const struct sockaddr *to,
    socklen_t tolen)
{
	ssize_t n;
	do
		n = sendto(u->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL, to, tolen);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		u->st.out_dgrams++;
		u->st.out_bytes += (uint64_t)n;
		task_progress(u->task, 0, (uint64_t)n);
		return 0;
	}
	int saved = errno;
	if (saved == EAGAIN || saved == EWOULDBLOCK || saved == ENOBUFS) {
		u->st.send_drops++;
		if (u->writable_fn != NULL && !event_pending(u->wev, EV_WRITE, NULL))
			event_add(u->wev, NULL);
		saved = EAGAIN;
	} else {
		u->st.send_errors++;
		uint64_t now = dp_now_ms();
		if (now - u->last_error_log_ms >= 10000) {
			u->last_error_log_ms = now;
			char a[64];
			sockaddr_format(to, a, sizeof a);
			log_debug("%s: send of %zu bytes to %s failed: %s", u->name, len, a,
			    strerror(saved));
		}
	}
	errno = saved;
	return -1;
}

size_t
udp_socket_send_batch(struct udp_socket *u, const struct udp_dgram *d, size_t n,
    const struct sockaddr *to, socklen_t tolen)
{
	struct mmsghdr msgs[UDP_SOCKET_BATCH_MAX];
	struct iovec iov[UDP_SOCKET_BATCH_MAX];
	n = DP_MIN(n, (size_t)UDP_SOCKET_BATCH_MAX);
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = (void *)d[i].data;
		iov[i].iov_len = d[i].len;
		memset(&msgs[i], 0, sizeof msgs[i]);
		msgs[i].msg_hdr.msg_name = (void *)to;
		msgs[i].msg_hdr.msg_namelen = tolen;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	size_t sent = 0;
	while (sent < n) {
		int r = sendmmsg(u->fd, msgs + sent, (unsigned)(n - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* The first of the rest failed: send it alone, which counts and logs why, and
			 * go on with the others. */
			udp_socket_send(u, d[sent].data, d[sent].len, to, tolen);
			sent++;
			continue;
		}
		for (int i = 0; i < r; i++) {
			u->st.out_dgrams++;
			u->st.out_bytes += msgs[sent + (size_t)i].msg_len;
			task_progress(u->task, 0, msgs[sent + (size_t)i].msg_len);
		}
		sent += (size_t)r;
	}
	return sent;
}

int
udp_socket_send_fragmentable(struct udp_socket *u, const void *data, size_t len,
    const struct sockaddr *to, socklen_t tolen)
{
	int level = u->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int opt = u->family == AF_INET ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER;
	int dont = u->family == AF_INET ? IP_PMTUDISC_DONT : IPV6_PMTUDISC_DONT;
	int probe = u->family == AF_INET ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE;
	setsockopt(u->fd, level, opt, &dont, sizeof dont);
	int r = udp_socket_send(u, data, len, to, tolen);
	int saved = errno;
	setsockopt(u->fd, level, opt, &probe, sizeof probe);
	errno = saved;
	return r;
}

int
udp_socket_port(const struct udp_socket *u)
{
	return u->port;
}

int
udp_socket_family(const struct udp_socket *u)
{
	return u->family;
}

void
udp_socket_set_writable_cb(struct udp_socket *u, void (*fn)(void *arg), void *arg)
{
	u->writable_fn = fn;
	u->writable_arg = arg;
	if (fn == NULL && u->wev != NULL)
		event_del(u->wev);
}

void
udp_socket_stats(const struct udp_socket *u, struct udp_socket_stats *out)
{
	*out = u->st;
}

void
udp_socket_free(struct udp_socket *u)
{
	if (u == NULL)
		return;
	if (u->rev != NULL)
		event_free(u->rev);
	if (u->wev != NULL)
		event_free(u->wev);
	if (u->fd >= 0)
		close(u->fd);
	if (u->task != NULL)
		task_done(u->task, "closed after %llu datagrams in, %llu out",
		    (unsigned long long)u->st.in_dgrams, (unsigned long long)u->st.out_dgrams);
	task_release(&u->task);
	free(u->handlers);
	free(u->bufs);
	free(u);
}
