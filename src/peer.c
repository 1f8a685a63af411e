/* peer.c: one peer connection: bufferevent I/O, handshake, message dispatch through wire.h, the
 * request pipeline, serving requests from the read cache, keep-alive, idle and snub detection. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "disk.h"
#include "log.h"
#include "net.h"
#include "peer.h"
#include "peer_ext.h"
#include "peer_id.h"
#include "peer_splice.h"
#include "task.h"
#include "util.h"
#include "v2_hashes.h"
#include "wire_hash.h"

#define PEER_MAX_SINGLE_READ (256u * 1024u)
/* libevent 2.1's evbuffer_read takes at most 4 KiB per wakeup (EVBUFFER_MAX_READ), so a bulk
 * transfer cost an epoll_wait, an ioctl and a readv per 4 KiB. After libevent's read the read
 * callback drains the socket itself, into the input buffer in chunks this large, up to a budget
 * per callback so one fast peer cannot starve the others. */
#define PEER_READ_CHUNK (128u * 1024u)
/* Blocks a read may take straight into their piece buffers beyond the one arriving: a readv per
 * 16 KiB block costs a TCP window update each on loopback (the ACK path was a quarter of the
 * leecher's CPU), so one read lays out the blocks asked for next, in the order asked. The bytes
 * land in piece buffers, not in the input buffer, so a direct read may be larger. */
#define PEER_RX_AHEAD 32
#define PEER_READ_DIRECT (PEER_RX_AHEAD * (DP_BLOCK_SIZE + WIRE_PIECE_HEADER_LEN))
#define PEER_READ_BUDGET (2u * 1024u * 1024u)
#define PEER_READ_MIN 4096u
#define PEER_MAX_REQUEST (128u * 1024u)    /* largest block a peer may ask us for */
/* A plain socket's blocks go from the page cache by sendfile: serving writes them at once, up
 * to this much per callback. libevent 2.1's evbuffer_add sizes the chain it appends after a
 * file segment by the segment's offset in its file (a 16 MiB allocation for a 13-byte header
 * 16 MiB into a file), so nothing is copied in right after one: block headers go by reference
 * and a round that leaves a segment last ends with a keep-alive by reference. */
#define PEER_SENDFILE_BUDGET (4u * 1024u * 1024u)
#define PEER_ALLOWED_FAST_K 10u
#define PEER_QUIET_S 15u      /* silence while we want data is named in the task's reason */
/* Blocks stop at PEER_OUTPUT_HIGH, but rejects, metadata rejects and the like answer input one
 * for one: a peer that keeps sending and never reads is closed at this much queued output. */
#define PEER_OUTPUT_MAX (4u * PEER_OUTPUT_HIGH)
#define PEER_CLIENT_VERSION "downpour " PACKAGE_VERSION
/* Before a magnet's metadata arrives the piece count is unknown: what the peer says it has is
 * kept and applied then. A 16 MiB info dictionary at most (20 bytes a piece hash) bounds the
 * bitfield; HAVEs past this many are dropped. */
#define PEER_EARLY_BITFIELD_MAX (((16u << 20) / 20u + 7u) / 8u)
#define PEER_EARLY_HAVES_MAX 65536u

static void peer_read_cb(struct bufferevent *bev, void *arg);
static void peer_sock_read_cb(evutil_socket_t fd, short what, void *arg);
static void peer_write_cb(struct bufferevent *bev, void *arg);
static void peer_event_cb(struct bufferevent *bev, short what, void *arg);
static void peer_read_input(struct peer *p);
static void peer_send_handshake(struct peer *p);
static bool peer_plain_socket(const struct peer *p);
static struct peer_request *peer_req_at(struct peer *p, uint32_t i);
static void peer_splice_drop(struct peer *p);

/* What the owner's torrent does; a peer that belongs to none yet is idle. */
static enum peer_mode
peer_swarm_mode(const struct peer *p)
{
	return p->sw != NULL ? p->ops->mode(p->owner) : PEER_MODE_IDLE;
}

static uint32_t
peer_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Size of piece (below piece_count): the last one is shorter. */
static uint32_t
peer_piece_size(const struct peer_swarm *sw, uint32_t piece)
{
	if (piece + 1 < sw->piece_count)
		return sw->piece_length;
	return (uint32_t)(sw->total_size - (uint64_t)piece * sw->piece_length);
}

static struct peer *
peer_alloc(const struct peer_env *env, const struct peer_ops *ops, void *owner,
    const struct sockaddr *sa, socklen_t len, bool incoming, int tid, const char *tname)
{
	struct peer *p = xcalloc(1, sizeof *p);
	p->env = env;
	p->ops = ops;
	p->owner = owner;
	memcpy(&p->addr, sa, DP_MIN((size_t)len, sizeof p->addr));
	p->addrlen = len;
	sockaddr_format(sa, p->addr_str, sizeof p->addr_str);
	p->incoming = incoming;
	p->am_choking = p->peer_choking = true;
	p->queue_target = sockaddr_is_loopback(sa) ? 16 : 4;
	bw_meter_init(&p->down_meter);
	bw_meter_init(&p->up_meter);
	p->connected_us = dp_now_us();
	p->started_ms = p->last_recv_ms = p->last_send_ms = dp_now_ms();
	p->task = task_new(DP_TASK_KIND_PEER, tid, "peer %s %s", p->addr_str, tname);
	return p;
}

static void
peer_setup_bev(struct peer *p)
{
	bufferevent_setcb(p->bev, peer_read_cb, peer_write_cb, peer_event_cb, p);
	/* A plain socket's bytes are read by peer_read_ready (blocks straight into their piece
	 * buffers) when its own event says the socket is readable: the bufferevent's read did an
	 * ioctl(FIONREAD) and a readv of a block header before it on every wakeup, two of the
	 * six system calls a wakeup cost. Without that event libevent reads as before, taking no
	 * more than a block header. */
	evutil_socket_t fd = bufferevent_getfd(p->bev);
	if (peer_plain_socket(p) && bufferevent_get_underlying(p->bev) == NULL && fd >= 0) {
		p->read_ev = event_new(bufferevent_get_base(p->bev), fd, EV_READ | EV_PERSIST,
		    peer_sock_read_cb, p);
		if (p->read_ev == NULL)
			log_debug("peer %s: no read event: libevent reads", p->addr_str);
	}
	bufferevent_set_max_single_read(p->bev, peer_plain_socket(p) ? WIRE_PIECE_HEADER_LEN :
	    PEER_MAX_SINGLE_READ);
	/* The write callback runs when queued output drains below this: time to serve more. A
	 * plain socket's serving writes by itself (peer_flush_plain): called back after every
	 * write libevent makes, it sends the rest and refills. */
	bufferevent_setwatermark(p->bev, EV_WRITE, peer_plain_socket(p) ? PEER_OUTPUT_HIGH :
	    PEER_OUTPUT_HIGH / 2, 0);
}

/* The peer's task names its transport once it is known ("peer ADDR NAME (uTP+RC4)"). */
static void
peer_name_task(struct peer *p)
{
	const char *name = p->sw != NULL ? p->sw->name : "(incoming)";
	if (p->connected)
		task_rename(p->task, "peer %s %s (%s)", p->addr_str, name,
		    transport_info_name(&p->tinfo));
	else
		task_rename(p->task, "peer %s %s", p->addr_str, name);
}

/* Connected: the outgoing side speaks first. */
static void
peer_on_connected(struct peer *p)
{
	p->connected = true;
	p->started_ms = p->last_recv_ms = dp_now_ms();
	if (p->tinfo.ia_sent) {
		/* It went as MSE's initial payload. */
		p->handshake_sent = true;
		p->last_send_ms = p->started_ms;
	} else if (!p->incoming) {
		peer_send_handshake(p);
	}
	if (p->read_ev != NULL) {
		/* An incoming stream comes from the transport still reading (it sniffed the first
		 * bytes): left on, libevent would read beside read_ev, and on through a pause. */
		bufferevent_disable(p->bev, EV_READ);
		bufferevent_enable(p->bev, EV_WRITE);
		event_add(p->read_ev, NULL);
	} else {
		bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	}
	task_wait(p->task, DP_TASK_READ_WAIT, "waiting for handshake");
	task_set_deadline(p->task, dp_now_us() + PEER_HANDSHAKE_MS * 1000ull);
}

/* The transport made the connection (TCP or uTP, encrypted or not), or could not. */
static void
peer_transport_cb(void *arg, struct bufferevent *bev, const struct transport_info *info,
    const char *why)
{
	struct peer *p = arg;
	struct dp_task *task = p->task;
	task_cb_begin(task);
	p->tconn = NULL;
	if (bev == NULL) {
		peer_close(p, "%s", why);
	} else {
		p->bev = bev;
		p->tinfo = *info;
		peer_setup_bev(p);
		p->connected = true;
		peer_name_task(p);
		log_debug("peer %s: connected over %s", p->addr_str, transport_info_name(info));
		peer_on_connected(p);
	}
	task_cb_end(task);
}

/* An outgoing connection the transport is still making: dialling is a CONNECT_WAIT, the
 * encryption handshake on a connected socket waits for the peer's bytes (READ_WAIT). */
static void
peer_wait_transport(struct peer *p)
{
	task_wait(p->task, transport_conn_awaits_peer(p->tconn) ? DP_TASK_READ_WAIT :
	    DP_TASK_CONNECT_WAIT, "%s", transport_conn_doing(p->tconn));
}

struct peer *
peer_connect(const struct peer_env *env, const struct peer_ops *ops, void *owner,
    const struct peer_swarm *sw, const struct sockaddr *sa, socklen_t len, bool by_v2)
{
	struct peer *p = peer_alloc(env, ops, owner, sa, len, false, sw->torrent_id, sw->name);
	p->sw = sw;
	p->counted = true;
	(*env->connections)++;
	ops->attach(owner, p);
	task_set_deadline(p->task, dp_now_us() + PEER_CONNECT_MS * 1000ull);
	/* The hash names the swarm in the handshake and keys the encryption (MSE's SKEY). */
	if (by_v2 && sw->hash_v2 != NULL) {
		memcpy(p->hs_hash, sw->hash_v2, 20);
		p->hs_hash_set = p->hs_v2 = true;
	}
	const uint8_t *ih = p->hs_hash_set ? p->hs_hash : sw->info_hash;
	char err[160];
	uint8_t hs[WIRE_HANDSHAKE_LEN];
	wire_build_handshake(hs, ih, env->peer_id, true, true, false);
	p->tconn = transport_connect(env->transport, (struct sockaddr *)&p->addr, p->addrlen,
	    ih, hs, sizeof hs, peer_transport_cb, p, err, sizeof err);
	if (p->tconn == NULL) {
		peer_close(p, "connect failed: %s", err);
		return NULL;
	}
	peer_wait_transport(p);
	return p;
}

struct peer *
peer_accept(const struct peer_env *env, const struct peer_ops *ops, void *owner, int fd,
    const struct sockaddr *sa, socklen_t len)
{
	struct bufferevent *raw = bufferevent_socket_new(env->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (raw == NULL) {
		char a[64];
		sockaddr_format(sa, a, sizeof a);
		log_warn("peer %s: can't set up the accepted socket", a);
		evutil_closesocket(fd);
		return NULL;
	}
	return peer_accept_stream(env, ops, owner, raw, sa, len, false);
}

struct peer *
peer_accept_stream(const struct peer_env *env, const struct peer_ops *ops, void *owner,
    struct bufferevent *raw, const struct sockaddr *sa, socklen_t len, bool utp)
{
	struct peer *p = peer_alloc(env, ops, owner, sa, len, true, 0, "(incoming)");
	p->counted = true;
	(*env->connections)++;
	ops->attach(owner, p);
	/* Its first bytes say plaintext or MSE; the stream comes back through the callback. */
	p->tconn = transport_accept(env->transport, raw, sa, len, utp, peer_transport_cb, p);
	if (p->tconn == NULL) {
		bufferevent_free(raw);
		peer_close(p, "can't set up the connection");
		return NULL;
	}
	task_wait(p->task, DP_TASK_READ_WAIT, "waiting for handshake");
	task_set_deadline(p->task, dp_now_us() + PEER_HANDSHAKE_MS * 1000ull);
	return p;
}

void
peer_adopt(struct peer *p, const struct peer_ops *ops, void *owner, const struct peer_swarm *sw)
{
	p->ops = ops;
	p->owner = owner;
	p->sw = sw;
	ops->attach(owner, p);
	p->task->torrent_id = sw->torrent_id;
	peer_name_task(p);
}

void *
peer_owner(const struct peer *p)
{
	return p->owner;
}

/* BEP 5: we run a DHT node and the torrent is not private. */
static bool
peer_offers_dht(const struct peer *p)
{
	return p->env->dht_port > 0 && p->sw != NULL && !p->sw->is_private;
}

static void
peer_send_handshake(struct peer *p)
{
	uint8_t hs[WIRE_HANDSHAKE_LEN];
	wire_build_handshake(hs, p->hs_hash_set ? p->hs_hash : p->sw->info_hash, p->env->peer_id,
	    true, true, peer_offers_dht(p));
	if (p->sw->v2 || p->hs_v2)
		hs[20 + WIRE_RESERVED_V2_BYTE] |= WIRE_RESERVED_V2_BIT;
	bufferevent_write(p->bev, hs, sizeof hs);
	p->handshake_sent = true;
	p->last_send_ms = dp_now_ms();
}

void
peer_close(struct peer *p, const char *fmt, ...)
{
	if (p->dead)
		return;
	char reason[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	p->dead = true;
	if (p->env->disk_gate != NULL)
		peer_disk_gate_leave(p->env->disk_gate, &p->disk_wait);
	if (p->rx_dest != NULL && p->ops->block_abort != NULL)
		p->ops->block_abort(p->owner, p->rx_piece, p->rx_offset);
	p->rx_dest = NULL;
	p->rx_len = 0;
	if (p->handshake_done)
		log_info("peer %s (%s): closed: %s", p->addr_str, p->client, reason);
	else
		log_debug("peer %s: closed: %s", p->addr_str, reason);
	if (p->bev != NULL) {
		bufferevent_disable(p->bev, EV_READ | EV_WRITE);
		bufferevent_setcb(p->bev, NULL, NULL, NULL, NULL);
	}
	/* Freed with p (peer_free): this may run inside its callback. */
	if (p->read_ev != NULL)
		event_del(p->read_ev);
	peer_splice_drop(p);
	if (p->tconn != NULL) {
		transport_cancel(p->tconn);
		p->tconn = NULL;
	} else if (p->connected) {
		/* What worked at this address (a plaintext one cut before the handshake is tried
		 * encrypted next time when the policy allows). */
		transport_outcome(p->env->transport, (struct sockaddr *)&p->addr, &p->tinfo,
		    p->handshake_done);
	}
	if (p->counted) {
		(*p->env->connections)--;
		p->counted = false;
	}
	if (p->sw != NULL) {
		const struct peer_swarm *sw = p->sw;
		for (size_t i = 0; i < p->env->nexts; i++)
			if (p->env->exts[i]->on_gone != NULL)
				p->env->exts[i]->on_gone(p->owner, p);
		if (sw->pk != NULL) {
			picker_peer_abandon_all(sw->pk, p);
			if (p->has_all)
				picker_seed_remove(sw->pk);
			else if (p->has.count > 0)
				picker_peer_bitfield_remove(sw->pk, &p->has);
		}
		p->nreqs = 0;
	}
	p->ops->detach(p->owner, p);
	p->next = p->prev = NULL;
	if (p->handshake_done)
		task_done(p->task, "closed: %s", reason);
	else
		task_fail(p->task, "closed: %s", reason);
	task_release(&p->task);
	p->ops->bury(p->owner, p);
}

void
peer_free(struct peer *p)
{
	peer_splice_drop(p);
	/* Before the bufferevent closes the socket its fd names. */
	if (p->read_ev != NULL)
		event_free(p->read_ev);
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	bitfield_free(&p->has);
	free(p->early_bits);
	free(p->early_haves);
	free(p->reqs);
	free(p->inreqs);
	free(p->allowed_fast);
	task_release(&p->task);
	free(p);
}

uint8_t
peer_ext_id(const struct peer *p, const char *name)
{
	return wire_ext_id(&p->exth, name);
}

void
peer_send_extended(struct peer *p, uint8_t remote_id, const void *payload, size_t len)
{
	if (p->dead)
		return;
	wire_put_extended(bufferevent_get_output(p->bev), remote_id, payload, len);
	p->last_send_ms = dp_now_ms();
}

void
peer_send_hash_request(struct peer *p, const struct wire_hash_req *r)
{
	if (p->dead || p->bev == NULL)
		return;
	wire_hash_put_req(bufferevent_get_output(p->bev), WIRE_HASH_REQUEST, r);
	p->last_send_ms = dp_now_ms();
}

size_t
peer_output_queued(const struct peer *p)
{
	size_t piped = p->splice != NULL ? p->splice->queued : 0;
	return p->bev != NULL ? evbuffer_get_length(bufferevent_get_output(p->bev)) + piped : 0;
}

uint64_t
peer_down_rate(struct peer *p)
{
	return bw_meter_rate(&p->down_meter, dp_now_ms());
}

uint64_t
peer_up_rate(struct peer *p)
{
	return bw_meter_rate(&p->up_meter, dp_now_ms());
}

/* ---- task state ---- */

/* Which limit holds a throttled peer back, in words: the torrent's own or the global one. */
static void
peer_format_limit(struct peer *p, bool down, char *out, size_t outlen)
{
	const struct bw_bucket *tb = p->sw ? (down ? p->sw->down_bucket : p->sw->up_bucket) : NULL;
	const struct bw_bucket *gb = down ? p->env->down_bucket : p->env->up_bucket;
	const struct bw_bucket *b = tb != NULL && !bw_bucket_open(tb) ? tb : gb;
	char rate[32];
	dp_format_size(b->rate, rate, sizeof rate);
	snprintf(out, outlen, "throttled: %s %s limit %s/s", b == tb ? "torrent" : "global",
	    down ? "download" : "upload", rate);
}

void
peer_update_task(struct peer *p)
{
	if (p->dead || p->task == NULL)
		return;
	uint64_t now = dp_now_ms();
	uint64_t quiet = (now - p->last_recv_ms) / 1000;
	char why[96];
	if (!p->connected) {
		if (p->incoming)
			task_wait(p->task, DP_TASK_READ_WAIT, "waiting for handshake");
		else if (p->tconn != NULL)
			peer_wait_transport(p);
		else
			task_wait(p->task, DP_TASK_CONNECT_WAIT, "connecting");
	} else if (!p->handshake_done) {
		task_wait(p->task, DP_TASK_READ_WAIT, "waiting for handshake");
	} else if (p->disk_paused) {
		char sz[32], bound[32];
		dp_format_size(disk_pool_pending_write_bytes(p->env->disk), sz, sizeof sz);
		dp_format_size(*p->env->disk_write_bound, bound, sizeof bound);
		task_wait(p->task, DP_TASK_DISK_WAIT,
		    "disk write queue full: %s waiting to be written (limit %s)", sz, bound);
	} else if (p->read_throttled) {
		peer_format_limit(p, true, why, sizeof why);
		task_wait(p->task, DP_TASK_RATE_WAIT, "%s", why);
	} else if (p->write_throttled) {
		peer_format_limit(p, false, why, sizeof why);
		task_wait(p->task, DP_TASK_RATE_WAIT, "%s", why);
	} else if (peer_output_queued(p) >= PEER_OUTPUT_HIGH || (p->splice != NULL &&
	    p->splice->queued > 0 && p->ninreqs > 0)) {
		task_wait(p->task, DP_TASK_WRITE_WAIT, "%zu KiB queued to send",
		    peer_output_queued(p) / 1024);
	} else if (quiet >= PEER_QUIET_S && (p->nreqs > 0 || p->am_interested)) {
		/* We want data and nothing comes: say so before the idle timeout closes it. */
		task_wait(p->task, DP_TASK_READ_WAIT, "peer sent nothing for %llu s (%s; "
		    "disconnect at %u s)", (unsigned long long)quiet, p->nreqs > 0 ?
		    "requests out" : p->peer_choking ? "we are choked" : "we are interested",
		    PEER_IDLE_MS / 1000);
	} else if (quiet >= 45) {
		task_wait(p->task, DP_TASK_READ_WAIT, "peer sent nothing for %llu s",
		    (unsigned long long)quiet);
	} else if (p->nreqs > 0) {
		/* The oldest request is what we wait for. */
		struct peer_request *r = peer_req_at(p, 0);
		task_wait(p->task, DP_TASK_READ_WAIT,
		    "waiting for piece %u block %u from peer (%u requests out)", r->piece,
		    r->offset / DP_BLOCK_SIZE, p->nreqs);
	} else if (p->am_interested && p->peer_choking) {
		task_wait(p->task, DP_TASK_PEER_WAIT, "choked by peer for %llu s",
		    (unsigned long long)(now - p->choked_since_ms) / 1000);
	} else if (peer_swarm_mode(p) == PEER_MODE_DOWNLOAD && !p->bitfield_received && !p->has_all) {
		task_wait(p->task, DP_TASK_PEER_WAIT, "peer announced no pieces (silent for %llu s)",
		    (unsigned long long)quiet);
	} else if (peer_swarm_mode(p) == PEER_MODE_DOWNLOAD) {
		task_wait(p->task, DP_TASK_PEER_WAIT, "peer has nothing we need");
	} else if (p->peer_interested && !p->am_choking) {
		task_idle(p->task, DP_TASK_READ_WAIT, "waiting for requests");
	} else {
		task_idle(p->task, DP_TASK_READ_WAIT, "idle: neither side wants data");
	}
}

/* ---- outgoing requests: a ring, oldest first (blocks mostly arrive in request order) ---- */

static struct peer_request *
peer_req_at(struct peer *p, uint32_t i)
{
	return &p->reqs[(p->reqs_head + i) % p->reqs_cap];
}

static void
peer_reqs_push(struct peer *p, const struct picker_block *b, uint64_t now)
{
	if (p->nreqs == p->reqs_cap) {
		uint32_t ncap = p->reqs_cap ? p->reqs_cap * 2 : 64;
		struct peer_request *n = xcalloc(ncap, sizeof *n);
		for (uint32_t i = 0; i < p->nreqs; i++)
			n[i] = *peer_req_at(p, i);
		free(p->reqs);
		p->reqs = n;
		p->reqs_cap = ncap;
		p->reqs_head = 0;
	}
	struct peer_request *r = &p->reqs[(p->reqs_head + p->nreqs) % p->reqs_cap];
	r->piece = b->piece;
	r->offset = b->offset;
	r->length = b->length;
	r->sent_ms = now;
	p->nreqs++;
}

/* Removes a matching request (length 0 matches any); false when we had not asked for it. */
static bool
peer_reqs_remove(struct peer *p, uint32_t piece, uint32_t offset, uint32_t length)
{
	for (uint32_t i = 0; i < p->nreqs; i++) {
		struct peer_request *r = peer_req_at(p, i);
		if (r->piece != piece || r->offset != offset || (length != 0 && r->length != length))
			continue;
		if (i == 0) {
			p->reqs_head = (p->reqs_head + 1) % p->reqs_cap;
		} else {
			for (uint32_t j = i; j + 1 < p->nreqs; j++)
				*peer_req_at(p, j) = *peer_req_at(p, j + 1);
		}
		p->nreqs--;
		return true;
	}
	return false;
}

static void
peer_reqs_clear(struct peer *p)
{
	p->nreqs = 0;
	p->reqs_head = 0;
}

/* Requests we gave up may still be answered, in flight or by a peer that ignores CANCEL. */
static void
peer_allow_late(struct peer *p, uint32_t n)
{
	p->late_allowed = DP_MIN(p->late_allowed + n, 2 * PEER_MAX_QUEUE);
}

static void
peer_abandon_requests(struct peer *p)
{
	if (p->sw != NULL && p->sw->pk != NULL && p->nreqs > 0)
		picker_peer_abandon_all(p->sw->pk, p);
	peer_allow_late(p, p->nreqs);
	peer_reqs_clear(p);
}

/* A batch of requests: straight to a plaintext socket when nothing is queued before them (the
 * bufferevent's output and the splice pipe are empty, so the stream is between messages), else
 * behind what is queued. Through the bufferevent a batch cost two epoll_ctl calls (its write
 * event added, then removed once empty) and a loop pass: 5,700 of those calls a GiB downloaded.
 * What the socket does not take (full, or an error libevent will meet) goes the usual way. */
static void
peer_send_requests(struct peer *p, const struct picker_block *b, size_t n)
{
	uint8_t msg[PEER_MAX_QUEUE * WIRE_REQUEST_LEN];
	size_t len = 0, sent = 0;
	for (size_t i = 0; i < n && len + WIRE_REQUEST_LEN <= sizeof msg; i++) {
		wire_request_encode(msg + len, b[i].piece, b[i].offset, b[i].length);
		len += WIRE_REQUEST_LEN;
	}
	struct evbuffer *out = bufferevent_get_output(p->bev);
	evutil_socket_t fd = bufferevent_getfd(p->bev);
	if (p->connected && peer_plain_socket(p) && bufferevent_get_underlying(p->bev) == NULL &&
	    fd >= 0 && evbuffer_get_length(out) == 0 &&
	    (p->splice == NULL || p->splice->queued == 0)) {
		ssize_t k;
		do
			k = send(fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (k < 0 && errno == EINTR);
		if (k > 0) {
			sent = (size_t)k;
			p->requests_direct += sent / WIRE_REQUEST_LEN;
		}
	}
	if (sent < len)
		evbuffer_add(out, msg + sent, len - sent);
}

static bool
peer_is_fast_link(struct peer *p)
{
	return p->queue_target >= 32;
}

void
peer_fill_requests(struct peer *p)
{
	const struct peer_swarm *sw = p->sw;
	if (p->dead || !p->handshake_done || sw == NULL || sw->pk == NULL || sw->hold ||
	    peer_swarm_mode(p) != PEER_MODE_DOWNLOAD || !p->am_interested)
		return;
	uint32_t maxq = PEER_MAX_QUEUE;
	if (p->exth.reqq > 0 && p->exth.reqq < maxq)
		maxq = p->exth.reqq;
	uint32_t minq = sockaddr_is_loopback((struct sockaddr *)&p->addr) ? 16 : 4;
	p->queue_target = bw_request_queue_size(peer_down_rate(p), DP_BLOCK_SIZE, DP_MIN(minq, maxq),
	    maxq);
	if (p->nreqs >= p->queue_target)
		return;
	/* Top up in batches so a fast peer is not sent one request per block received. */
	uint32_t need = p->queue_target - p->nreqs;
	if (p->nreqs > 0 && need < p->queue_target / 4 && need < DP_MAX(8u, p->queue_target / 8))
		return;
	struct picker_block blocks[PEER_MAX_QUEUE];
	size_t n;
	const struct dp_bitfield *has = p->has_all ? NULL : &p->has;
	if (!p->has_all && !p->bitfield_received && p->has.count == 0)
		return;
	if (p->peer_choking) {
		if (!p->fast || p->nallowed_fast == 0)
			return;
		n = picker_pick_from(sw->pk, p->allowed_fast, p->nallowed_fast, has, p, blocks, need);
	} else {
		n = picker_pick(sw->pk, has, p, peer_is_fast_link(p), blocks, need);
	}
	if (n == 0)
		return;
	uint64_t now = dp_now_ms();
	for (size_t i = 0; i < n; i++)
		peer_reqs_push(p, &blocks[i], now);
	peer_send_requests(p, blocks, n);
	if (p->nreqs == n)
		p->last_block_ms = now;   /* the snub clock starts with the first request */
	p->last_send_ms = now;
}

void
peer_cancel_block(struct peer *p, uint32_t piece, uint32_t offset, uint32_t length)
{
	if (p->dead || !peer_reqs_remove(p, piece, offset, length))
		return;
	peer_allow_late(p, 1);
	wire_put_cancel(bufferevent_get_output(p->bev), piece, offset, length);
}

/* ---- interest and choking ---- */

static bool
peer_has_wanted_piece(struct peer *p)
{
	const struct peer_swarm *sw = p->sw;
	if (sw->pk == NULL || peer_swarm_mode(p) != PEER_MODE_DOWNLOAD)
		return false;
	if (p->has_all)
		return !picker_complete(sw->pk);
	if (!p->bitfield_received && p->has.count == 0)
		return false;
	const struct dp_bitfield *have = sw->have;
	uint32_t nbytes = (uint32_t)bitfield_bytes(have->nbits);
	for (uint32_t i = 0; i < nbytes; i++) {
		uint8_t want = p->has.bits[i] & (uint8_t)~have->bits[i];
		if (want == 0)
			continue;
		for (uint32_t b = 0; b < 8; b++) {
			uint32_t piece = i * 8 + b;
			if ((want & (0x80u >> b)) && piece < have->nbits &&
			    picker_priority(sw->pk, piece) != PRIO_SKIP)
				return true;
		}
	}
	return false;
}

static void
peer_set_interested(struct peer *p, bool on)
{
	if (p->am_interested == on || p->dead)
		return;
	p->am_interested = on;
	wire_put_simple(bufferevent_get_output(p->bev), on ? WIRE_INTERESTED : WIRE_NOT_INTERESTED);
	p->last_send_ms = dp_now_ms();
	if (!on)
		peer_abandon_requests(p);
}

void
peer_update_interest(struct peer *p)
{
	if (p->dead || !p->handshake_done || p->sw == NULL)
		return;
	peer_set_interested(p, peer_has_wanted_piece(p));
	if (p->am_interested)
		peer_fill_requests(p);
	peer_update_task(p);
}

void
peer_set_choke(struct peer *p, bool choke)
{
	if (p->dead || !p->handshake_done || p->am_choking == choke)
		return;
	struct evbuffer *out = bufferevent_get_output(p->bev);
	p->am_choking = choke;
	wire_put_simple(out, choke ? WIRE_CHOKE : WIRE_UNCHOKE);
	p->last_send_ms = dp_now_ms();
	if (choke) {
		p->unchoked_since_us = 0;
		p->optimistic = false;
		/* A choked peer's pipe (two descriptors) goes once empty; serving opens another. */
		if (p->splice != NULL && p->splice->queued == 0)
			peer_splice_drop(p);
		/* BEP 6: queued requests are rejected explicitly; without it they are dropped. */
		for (uint32_t i = 0; i < p->ninreqs; i++) {
			struct peer_in_request *r = &p->inreqs[(p->inreqs_head + i) % p->inreqs_cap];
			if (p->fast)
				wire_put_reject(out, r->piece, r->offset, r->length);
		}
		p->ninreqs = 0;
		p->inreqs_head = 0;
	} else {
		p->unchoked_since_us = dp_now_us();
	}
}

void
peer_send_have(struct peer *p, uint32_t piece)
{
	if (p->dead || !p->handshake_done)
		return;
	if (p->has_all || (p->has.bits != NULL && bitfield_get(&p->has, piece)))
		return;
	wire_put_have(bufferevent_get_output(p->bev), piece);
	p->last_send_ms = dp_now_ms();
}

/* ---- serving requests ---- */

/* The evbuffer let go of a block: its piece's reference goes back to the owner. */
static void
peer_cache_cleanup(const void *data, size_t len, void *arg)
{
	struct peer_piece_ref *ref = arg;
	(void)data;
	(void)len;
	ref->unref(ref);
}

/* Plaintext TCP: the socket's own bufferevent, whose output libevent writes with sendfile where
 * it holds file segments (a filter or uTP would read them into memory). */
static bool
peer_plain_socket(const struct peer *p)
{
	return !p->tinfo.utp && !p->tinfo.mse;
}

/* One part of a block lent as file spans into out: a segment of its file, or zeros (a pad
 * file). 0 or -1. */
static int
peer_add_part(void *arg, const struct peer_piece_span *s, uint32_t at, uint32_t n)
{
	static const uint8_t zeros[16384];
	struct evbuffer *out = arg;
	if (s->seg != NULL)
		return evbuffer_add_file_segment(out, s->seg, at, n);
	for (uint32_t k; n > 0; n -= k) {
		k = DP_MIN(n, (uint32_t)sizeof zeros);
		if (evbuffer_add_reference(out, zeros, k, NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

static void
peer_header_free(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

static bool
peer_allowed_fast_for(struct peer *p, uint32_t piece)
{
	/* We offer the allowed-fast set computed for its address (IPv4 only). */
	if (!p->fast || p->addr.ss_family != AF_INET)
		return false;
	uint32_t set[PEER_ALLOWED_FAST_K];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&p->addr;
	unsigned n = wire_allowed_fast_set(ntohl(sin->sin_addr.s_addr), p->sw->info_hash,
	    p->sw->piece_count, PEER_ALLOWED_FAST_K, set);
	for (unsigned i = 0; i < n; i++)
		if (set[i] == piece)
			return true;
	return false;
}

/* Writes a plain socket's queued output now, up to *budget bytes. libevent writes one file
 * segment per wakeup (a sendfile, then the next header by writev): two loop turns a block.
 * Stops at EAGAIN, an error or a file's end, which the bufferevent's own write then reports
 * (a real error or end is met again there). */
static void
peer_flush_plain(struct peer *p, struct evbuffer *out, size_t *budget)
{
	evutil_socket_t fd = bufferevent_getfd(p->bev);
	/* A socket bufferevent keeps its output's start frozen except around its own writes. */
	if (evbuffer_get_length(out) == 0)
		return;
	evbuffer_unfreeze(out, 1);
	while (*budget > 0 && evbuffer_get_length(out) > 0) {
		int n = evbuffer_write_atmost(out, fd, (ev_ssize_t)*budget);
		if (n <= 0)
			break;
		*budget -= DP_MIN((size_t)n, *budget);
	}
	evbuffer_freeze(out, 1);
	/* Left over: the socket may be full now while its write event is already due in this
	 * turn of the loop, and libevent would meet EAGAIN in sendfile, which it reports as 0,
	 * and take that for the end of the stream. Rearming the event drops it from this turn. */
	if (evbuffer_get_length(out) > 0 && (bufferevent_get_enabled(p->bev) & EV_WRITE)) {
		bufferevent_disable(p->bev, EV_WRITE);
		bufferevent_enable(p->bev, EV_WRITE);
	}
}

/* A block lent as file spans: its header by reference (see PEER_SENDFILE_BUDGET), then the
 * segments of its files. Returns 0 or -1. */
static int
peer_add_file_block(struct evbuffer *out, const struct peer_piece *c,
    const struct peer_in_request *r)
{
	uint8_t *h = xmalloc(WIRE_PIECE_HEADER_LEN);
	wire_piece_header_encode(h, r->piece, r->offset, r->length);
	if (evbuffer_add_reference(out, h, WIRE_PIECE_HEADER_LEN, peer_header_free, NULL) < 0) {
		free(h);
		return -1;
	}
	return peer_piece_walk(c, r->offset, r->length, peer_add_part, out);
}

/* A serving round of a plain socket ends: what is queued goes now. more: requests are left
 * that this round could have served. */
static void
peer_serve_plain_end(struct peer *p, struct evbuffer *out, size_t *budget, bool ends_in_file,
    bool more)
{
	peer_flush_plain(p, out, budget);
	if (ends_in_file && evbuffer_get_length(out) > 0) {
		/* Whatever is written next must not follow a file segment (see
		 * PEER_SENDFILE_BUDGET): a keep-alive, by reference, ends the round. */
		static const uint8_t keepalive[4];
		evbuffer_add_reference(out, keepalive, sizeof keepalive, NULL, NULL);
	}
	/* All of it sent with requests left (the budget ran out): nothing queued will have the
	 * bufferevent call us back, so ask for a turn of the loop. */
	if (more && evbuffer_get_length(out) == 0)
		bufferevent_trigger(p->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
}

/* A block was queued: the peer's and owner's counts, the rate buckets, the task's progress;
 * the request leaves the queue. */
static void
peer_served(struct peer *p, const struct peer_in_request *r, uint64_t now)
{
	p->uploaded += r->length;
	bw_meter_add(&p->up_meter, r->length, now);
	p->ops->uploaded(p->owner, p, r->length, now);
	bw_bucket_consume(p->env->up_bucket, r->length);
	bw_bucket_consume(p->sw->up_bucket, r->length);
	task_progress(p->task, 0, r->length);
	p->inreqs_head = (p->inreqs_head + 1) % p->inreqs_cap;
	p->ninreqs--;
	p->last_send_ms = now;
}

/* Sending a block from a file met the file's end: it shrank after it was opened. */
static void
peer_close_file_short(struct peer *p)
{
	if (p->ops->file_short != NULL)
		p->ops->file_short(p->owner, p);
	peer_close(p, "a file being sent ended early: it shrank after it was opened");
}

/* The pipe goes (the peer closes, or is choked with nothing in it). */
static void
peer_splice_drop(struct peer *p)
{
	if (p->splice_ev != NULL) {
		event_free(p->splice_ev);
		p->splice_ev = NULL;
	}
	if (p->splice != NULL) {
		peer_splice_close(p->splice);
		free(p->splice);
		p->splice = NULL;
	}
}

static void peer_splice_cb(evutil_socket_t fd, short what, void *arg);

/* Whether p's blocks go through a pipe: a plain socket whose pipe could be opened (once; a
 * failure leaves libevent's path for the connection). */
static bool
peer_splice_ready(struct peer *p)
{
	if (p->splice != NULL)
		return true;
	if (p->splice_failed || !peer_plain_socket(p))
		return false;
	struct peer_splice *ps = xmalloc(sizeof *ps);
	peer_splice_init(ps);
	if (peer_splice_open(ps) < 0) {
		log_debug("peer %s: blocks go by sendfile: no pipe (%s)", p->addr_str,
		    strerror(errno));
		free(ps);
		p->splice_failed = true;
		return false;
	}
	struct event *ev = event_new(bufferevent_get_base(p->bev), bufferevent_getfd(p->bev),
	    EV_WRITE, peer_splice_cb, p);
	if (ev == NULL) {
		log_debug("peer %s: blocks go by sendfile: no event for the pipe", p->addr_str);
		peer_splice_close(ps);
		free(ps);
		p->splice_failed = true;
		return false;
	}
	/* The pipe is the queue now: the socket keeps few bytes unsent. */
	if (peer_splice_bound_unsent(bufferevent_getfd(p->bev)) < 0)
		log_debug("peer %s: its socket's unsent bytes stay unbounded (%s)", p->addr_str,
		    strerror(errno));
	p->splice = ps;
	p->splice_ev = ev;
	return true;
}

/* Moves the pipe's bytes to the socket, up to *budget. While some stay, the bufferevent's
 * writes are off and splice_ev waits for room; once none stay they are on again. Returns -1
 * when p closed. */
static int
peer_splice_flush(struct peer *p, size_t *budget)
{
	struct peer_splice *ps = p->splice;
	int fd = bufferevent_getfd(p->bev);
	while (ps->queued > 0 && *budget > 0) {
		ssize_t n = peer_splice_send(ps, fd, *budget);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			peer_close(p, "socket error: %s", n < 0 ? strerror(errno) : "nothing sent");
			return -1;
		}
		*budget -= DP_MIN((size_t)n, *budget);
	}
	if (ps->queued > 0) {
		bufferevent_disable(p->bev, EV_WRITE);
		event_add(p->splice_ev, NULL);
	} else if (!(bufferevent_get_enabled(p->bev) & EV_WRITE)) {
		bufferevent_enable(p->bev, EV_WRITE);
	}
	return 0;
}

/* The socket has room for the pipe's bytes: send them, then serve more. */
static void
peer_splice_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	(void)fd;
	(void)what;
	struct dp_task *task = p->task;
	task_cb_begin(task);
	if (!p->dead) {
		size_t budget = PEER_SENDFILE_BUDGET;
		if (peer_splice_flush(p, &budget) == 0) {
			peer_serve(p);
			if (!p->dead)
				peer_update_task(p);
		}
	}
	task_cb_end(task);
}

/* A block could not go into the pipe: the pipe holds part of a batch, so p closes. */
static void
peer_splice_failed(struct peer *p, int err)
{
	if (err == ENODATA)
		peer_close_file_short(p);
	else
		peer_close(p, "queueing a block in a pipe: %s", strerror(err));
}

/* Serving through the pipe: what was queued before goes first (the pipe's bytes, then the
 * bufferevent's), then the next batch of blocks goes into the pipe and on to the socket, until
 * the socket is full, the budget is spent, the rate limits close or a piece is not read yet. */
static void
peer_serve_spliced(struct peer *p)
{
	const struct peer_swarm *sw = p->sw;
	const struct peer_env *env = p->env;
	struct evbuffer *out = bufferevent_get_output(p->bev);
	uint64_t now = dp_now_ms();
	size_t budget = PEER_SENDFILE_BUDGET;
	bool reading = false, filled = false;
	uint32_t reading_piece = 0;
	for (;;) {
		if (peer_splice_flush(p, &budget) < 0)
			return;
		if (p->splice->queued > 0)
			break;
		/* The socket took a full pipe at once: a bigger one makes longer batches. */
		if (filled)
			(void)peer_splice_grow(p->splice);
		filled = false;
		peer_flush_plain(p, out, &budget);
		if (evbuffer_get_length(out) > 0 || budget == 0 || reading ||
		    p->write_throttled || p->ninreqs == 0)
			break;
		/* The batch: requests from the queue's head, gathered, then put into the pipe at
		 * once (peer_splice_commit); they count as served once their bytes are in it. */
		unsigned pending = 0;
		uint64_t pending_bytes = 0;
		bool error_mode = false;
		while (pending < p->ninreqs) {
			/* As peer_served would have taken each block from the buckets by now. */
			uint64_t room = DP_MIN(bw_bucket_available(env->up_bucket),
			    bw_bucket_available(sw->up_bucket));
			if (room <= pending_bytes) {
				p->write_throttled = true;
				break;
			}
			struct peer_in_request *r =
			    &p->inreqs[(p->inreqs_head + pending) % p->inreqs_cap];
			struct peer_piece c;
			if (!p->ops->cache_get(p->owner, r->piece, true, &c)) {
				if (peer_swarm_mode(p) == PEER_MODE_ERROR) {
					error_mode = true;
					break;
				}
				reading = true;
				reading_piece = r->piece;
				break;
			}
			if (r->offset + (uint64_t)r->length > c.length) {
				/* Validated on arrival against the piece size: cannot happen. */
				c.ref->unref(c.ref);
				peer_close(p, "request past the end of piece %u", r->piece);
				return;
			}
			if (!peer_splice_fits(p->splice, &c, r->offset, r->length)) {
				c.ref->unref(c.ref);
				if (p->splice->used > 0) {
					filled = true;
					break;
				}
				/* An empty pipe takes any block (PEER_SPLICE_MIN_SLOTS). */
				peer_close(p, "a block of %u bytes does not fit an empty pipe",
				    r->length);
				return;
			}
			uint8_t h[WIRE_PIECE_HEADER_LEN];
			wire_piece_header_encode(h, r->piece, r->offset, r->length);
			int rc = peer_splice_add(p->splice, h, sizeof h, &c, r->offset, r->length);
			c.ref->unref(c.ref);
			if (rc < 0) {
				peer_splice_failed(p, errno);
				return;
			}
			pending++;
			pending_bytes += r->length;
		}
		if (peer_splice_commit(p->splice) < 0) {
			peer_splice_failed(p, errno);
			return;
		}
		for (unsigned i = 0; i < pending; i++)
			peer_served(p, &p->inreqs[p->inreqs_head], now);
		if (p->ninreqs == 0)
			p->inreqs_head = 0;
		if (error_mode)
			return;
		if (pending == 0)
			break;
	}
	if (reading) {
		task_wait(p->task, DP_TASK_DISK_WAIT, "reading piece %u from disk", reading_piece);
		return;
	}
	/* The budget ran out with everything sent and requests left: nothing queued will call
	 * us back, so ask for a turn of the loop. */
	if (p->ninreqs > 0 && !p->write_throttled && p->splice->queued == 0 &&
	    evbuffer_get_length(out) == 0)
		bufferevent_trigger(p->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
	peer_update_task(p);
}

void
peer_serve(struct peer *p)
{
	const struct peer_swarm *sw = p->sw;
	if (p->dead || sw == NULL || p->ninreqs == 0)
		return;
	if (peer_splice_ready(p)) {
		p->write_throttled = false;
		peer_serve_spliced(p);
		return;
	}
	struct evbuffer *out = bufferevent_get_output(p->bev);
	const struct peer_env *env = p->env;
	uint64_t now = dp_now_ms();
	bool plain = peer_plain_socket(p), ends_in_file = false;
	size_t budget = PEER_SENDFILE_BUDGET;
	p->write_throttled = false;
	while (p->ninreqs > 0) {
		if (plain && evbuffer_get_length(out) >= PEER_OUTPUT_HIGH)
			peer_flush_plain(p, out, &budget);
		if (evbuffer_get_length(out) >= PEER_OUTPUT_HIGH)
			break;
		if (!bw_bucket_open(env->up_bucket) || !bw_bucket_open(sw->up_bucket)) {
			p->write_throttled = true;
			break;
		}
		struct peer_in_request *r = &p->inreqs[p->inreqs_head];
		struct peer_piece c;
		if (!p->ops->cache_get(p->owner, r->piece, plain, &c)) {
			if (plain)
				peer_serve_plain_end(p, out, &budget, ends_in_file, false);
			if (peer_swarm_mode(p) == PEER_MODE_ERROR)
				return;
			task_wait(p->task, DP_TASK_DISK_WAIT, "reading piece %u from disk", r->piece);
			return;
		}
		if (r->offset + (uint64_t)r->length > c.length) {
			/* Validated on arrival against the piece size, so this cannot happen. */
			c.ref->unref(c.ref);
			peer_close(p, "request past the end of piece %u", r->piece);
			return;
		}
		int rc;
		if (c.data != NULL) {
			wire_put_piece_header(out, r->piece, r->offset, r->length);
			rc = evbuffer_add_reference(out, c.data + r->offset, r->length,
			    peer_cache_cleanup, c.ref);
			if (rc < 0)
				c.ref->unref(c.ref);
		} else {
			/* The file segments keep their descriptors open while queued. */
			rc = peer_add_file_block(out, &c, r);
			c.ref->unref(c.ref);
		}
		ends_in_file = c.data == NULL;
		if (rc < 0) {
			peer_close(p, "out of memory queueing a block");
			return;
		}
		peer_served(p, r, now);
	}
	if (p->ninreqs == 0)
		p->inreqs_head = 0;
	if (plain)
		peer_serve_plain_end(p, out, &budget, ends_in_file, p->ninreqs > 0 &&
		    !p->write_throttled);
	peer_update_task(p);
}

static void
peer_queue_request(struct peer *p, uint32_t piece, uint32_t offset, uint32_t length)
{
	struct evbuffer *out = bufferevent_get_output(p->bev);
	enum peer_mode mode = peer_swarm_mode(p);
	bool ok = mode == PEER_MODE_DOWNLOAD || mode == PEER_MODE_SEED;
	if (!ok || !bitfield_get(p->sw->have, piece) ||
	    (p->am_choking && !peer_allowed_fast_for(p, piece))) {
		if (p->fast)
			wire_put_reject(out, piece, offset, length);
		return;
	}
	if (p->ninreqs >= PEER_MAX_INCOMING_REQUESTS) {
		if (p->fast)
			wire_put_reject(out, piece, offset, length);
		return;
	}
	if (p->ninreqs == p->inreqs_cap) {
		/* Grow the ring, unrolling it so head is 0 again. */
		uint32_t ncap = p->inreqs_cap ? p->inreqs_cap * 2 : 64;
		struct peer_in_request *n = xcalloc(ncap, sizeof *n);
		for (uint32_t i = 0; i < p->ninreqs; i++)
			n[i] = p->inreqs[(p->inreqs_head + i) % p->inreqs_cap];
		free(p->inreqs);
		p->inreqs = n;
		p->inreqs_cap = ncap;
		p->inreqs_head = 0;
	}
	struct peer_in_request *r = &p->inreqs[(p->inreqs_head + p->ninreqs) % p->inreqs_cap];
	r->piece = piece;
	r->offset = offset;
	r->length = length;
	p->ninreqs++;
}

static void
peer_cancel_request(struct peer *p, uint32_t piece, uint32_t offset, uint32_t length)
{
	for (uint32_t i = 0; i < p->ninreqs; i++) {
		uint32_t idx = (p->inreqs_head + i) % p->inreqs_cap;
		struct peer_in_request *r = &p->inreqs[idx];
		if (r->piece != piece || r->offset != offset || r->length != length)
			continue;
		/* Shift the later entries down by one. */
		for (uint32_t j = i; j + 1 < p->ninreqs; j++)
			p->inreqs[(p->inreqs_head + j) % p->inreqs_cap] =
			    p->inreqs[(p->inreqs_head + j + 1) % p->inreqs_cap];
		p->ninreqs--;
		/* BEP 6: every request gets exactly one answer, a piece or a reject, cancelled or
		 * not; one dropped in silence leaves a fast peer waiting on it. */
		if (p->fast)
			wire_put_reject(bufferevent_get_output(p->bev), piece, offset, length);
		return;
	}
}

/* ---- handshake ---- */

static void
peer_send_ext_handshake(struct peer *p)
{
	struct wire_ext_handshake h;
	memset(&h, 0, sizeof h);
	h.port = (uint16_t)(p->env->listen_port > 0 ? p->env->listen_port : 0);
	snprintf(h.client, sizeof h.client, "%s", PEER_CLIENT_VERSION);
	h.reqq = PEER_MAX_INCOMING_REQUESTS;
	if (p->addr.ss_family == AF_INET) {
		memcpy(h.yourip, &((struct sockaddr_in *)&p->addr)->sin_addr, 4);
		h.yourip_len = 4;
	} else if (p->addr.ss_family == AF_INET6) {
		memcpy(h.yourip, &((struct sockaddr_in6 *)&p->addr)->sin6_addr, 16);
		h.yourip_len = 16;
	}
	h.upload_only = peer_swarm_mode(p) == PEER_MODE_SEED;
	/* Every extension is listed; one not offered to this peer (ut_pex on a private torrent,
	 * BEP 27) with id 0. */
	for (size_t i = 0; i < p->env->nexts; i++) {
		const struct peer_ext *x = p->env->exts[i];
		bool on = x->offer == NULL || x->offer(p->owner, p, &h);
		wire_ext_set(&h, x->name, on ? x->local_id : 0);
	}
	struct dp_buf b;
	dp_buf_init(&b);
	wire_build_ext_handshake(&b, &h);
	wire_put_extended(bufferevent_get_output(p->bev), 0, b.data, b.len);
	dp_buf_free(&b);
}

/* After both handshakes: what we have, the extension handshake, allowed-fast pieces. */
static void
peer_send_intro(struct peer *p)
{
	const struct peer_swarm *sw = p->sw;
	const struct dp_bitfield *have = sw->have;
	struct evbuffer *out = bufferevent_get_output(p->bev);
	if (p->ext)
		peer_send_ext_handshake(p);
	if (p->dht && peer_offers_dht(p))
		wire_put_port(out, (uint16_t)p->env->dht_port);
	if (p->fast && have->count == have->nbits && have->nbits > 0)
		wire_put_simple(out, WIRE_HAVE_ALL);
	else if (p->fast && have->count == 0)
		wire_put_simple(out, WIRE_HAVE_NONE);
	else if (have->count > 0)
		wire_put_bitfield(out, have->bits, bitfield_bytes(have->nbits));
	if (p->fast && p->addr.ss_family == AF_INET && have->count > 0) {
		uint32_t set[PEER_ALLOWED_FAST_K];
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&p->addr;
		unsigned n = wire_allowed_fast_set(ntohl(sin->sin_addr.s_addr), sw->info_hash,
		    sw->piece_count, PEER_ALLOWED_FAST_K, set);
		for (unsigned i = 0; i < n; i++)
			if (bitfield_get(have, set[i]))
				wire_put_allowed_fast(out, set[i]);
	}
	p->last_send_ms = dp_now_ms();
}

static int
peer_on_handshake(struct peer *p, const uint8_t *raw)
{
	struct wire_handshake hs;
	char err[128];
	if (wire_parse_handshake(raw, &hs, err, sizeof err) < 0) {
		peer_close(p, "bad handshake: %s", err);
		return -1;
	}
	if (memcmp(hs.peer_id, p->env->peer_id, 20) == 0) {
		if (p->sw != NULL)
			p->ops->self_connected(p->owner, p);   /* never again */
		peer_close(p, "connected to ourselves");
		return -1;
	}
	if (p->incoming) {
		/* The owner (the session) finds the torrent and hands the peer to it. */
		char why[160];
		if (p->ops->adopt(p->owner, p, hs.info_hash, why, sizeof why) < 0) {
			peer_close(p, "%s", why);
			return -1;
		}
		memcpy(p->hs_hash, hs.info_hash, 20);
		p->hs_hash_set = true;
		p->hs_v2 = p->sw->hash_v2 != NULL && memcmp(hs.info_hash, p->sw->hash_v2, 20) == 0;
		peer_send_handshake(p);
	} else if (memcmp(hs.info_hash, p->sw->info_hash, 20) != 0 &&
	    (p->sw->hash_v2 == NULL || memcmp(hs.info_hash, p->sw->hash_v2, 20) != 0)) {
		peer_close(p, "handshake for another torrent");
		return -1;
	}
	const struct peer_swarm *sw = p->sw;
	struct peer *q = p->ops->find_peer_id(p->owner, p, hs.peer_id);
	if (q != NULL) {
		/* Both sides dialled at once (PEX makes that common): both keep the connection
		 * opened by the lower peer id, or each would close the other's and lose both. */
		bool closed_q = false;
		if (q->incoming != p->incoming) {
			bool keep_outgoing = memcmp(p->env->peer_id, hs.peer_id, 20) < 0;
			if (keep_outgoing != p->incoming) {
				peer_close(q, "duplicate of %s, which is kept", p->addr_str);
				closed_q = true;
			}
		}
		if (!closed_q) {
			peer_close(p, "already connected to this peer (%s)", q->addr_str);
			return -1;
		}
	}
	memcpy(p->peer_id, hs.peer_id, 20);
	peer_id_client_name(hs.peer_id, p->client, sizeof p->client);
	p->fast = hs.supports_fast;
	p->ext = hs.supports_ext;
	p->dht = hs.supports_dht;
	p->handshake_done = true;
	p->choked_since_ms = dp_now_ms();
	memset(&p->lim, 0, sizeof p->lim);
	p->lim.piece_count = sw->piece_count;
	p->lim.piece_length = sw->piece_length;
	p->lim.total_size = sw->total_size;
	p->lim.max_request = PEER_MAX_REQUEST;
	p->lim.fast = p->fast;
	p->lim.ext = p->ext;
	bitfield_init(&p->has, sw->piece_count);
	task_set_deadline(p->task, 0);
	log_debug("peer %s: handshake done (%s%s%s)", p->addr_str, p->client,
	    p->fast ? ", fast" : "", p->ext ? ", ext" : "");
	peer_send_intro(p);
	peer_update_task(p);
	return 0;
}

/* ---- messages ---- */

static void
peer_got_bitfield_piece(struct peer *p, uint32_t piece)
{
	const struct peer_swarm *sw = p->sw;
	if (bitfield_get(&p->has, piece))
		return;
	bitfield_set(&p->has, piece);
	if (sw->pk != NULL)
		picker_peer_have(sw->pk, piece);
	if (p->has.count == p->has.nbits)
		p->seed = true;
	if (!p->am_interested && peer_swarm_mode(p) == PEER_MODE_DOWNLOAD &&
	    !bitfield_get(sw->have, piece) && sw->pk != NULL &&
	    picker_priority(sw->pk, piece) != PRIO_SKIP) {
		peer_set_interested(p, true);
		peer_fill_requests(p);
	} else if (p->am_interested && !p->peer_choking) {
		peer_fill_requests(p);
	}
}

/* A seed's connection to another seed carries nothing (the torrent drops them when we finish;
 * this covers a seed meeting one later). */
static bool
peer_close_if_both_seeds(struct peer *p)
{
	if (!p->has_all || peer_swarm_mode(p) != PEER_MODE_SEED)
		return false;
	peer_close(p, "both sides are seeds");
	return true;
}

static void
peer_on_have_all(struct peer *p)
{
	const struct peer_swarm *sw = p->sw;
	if (p->has_all)
		return;
	if (p->has.count > 0 && sw->pk != NULL)
		picker_peer_bitfield_remove(sw->pk, &p->has);
	p->has_all = p->seed = true;
	p->bitfield_received = true;
	bitfield_set_all(&p->has);
	if (sw->pk != NULL)
		picker_seed_add(sw->pk);
	if (peer_close_if_both_seeds(p))
		return;
	peer_update_interest(p);
}

static void
peer_on_extended(struct peer *p, const struct wire_msg *m)
{
	const struct peer_env *env = p->env;
	if (m->ext_id != 0) {
		/* Dispatched by the id we advertised; one we did not is ignored. */
		for (size_t i = 0; i < env->nexts; i++) {
			const struct peer_ext *x = env->exts[i];
			if (x->local_id == m->ext_id) {
				if (x->on_message != NULL)
					x->on_message(p->owner, p, m->payload, m->payload_len);
				return;
			}
		}
		return;
	}
	struct wire_ext_handshake h;
	char err[128];
	if (wire_parse_ext_handshake(m->payload, m->payload_len, &h, err, sizeof err) < 0) {
		log_debug("peer %s: bad extension handshake: %s", p->addr_str, err);
		return;
	}
	p->exth = h;
	p->upload_only = h.upload_only;
	if (h.client[0] != '\0')
		snprintf(p->client, sizeof p->client, "%s", h.client);
	for (size_t i = 0; i < env->nexts && !p->dead; i++)
		if (env->exts[i]->on_handshake != NULL)
			env->exts[i]->on_handshake(p->owner, p);
}

/* A BITFIELD before the piece count is known: kept (the newest wins) for peer_pieces_known. */
static void
peer_keep_bitfield(struct peer *p, const uint8_t *bits, size_t len)
{
	if (len > PEER_EARLY_BITFIELD_MAX) {
		peer_close(p, "protocol violation: %zu-byte bitfield", len);
		return;
	}
	free(p->early_bits);
	p->early_bits = xmemdup(bits, len);
	p->early_bits_len = len;
	p->nearly_haves = 0;
	p->bitfield_received = true;
}

static void
peer_keep_have(struct peer *p, uint32_t piece)
{
	if (p->has_all || p->nearly_haves >= PEER_EARLY_HAVES_MAX)
		return;
	if (p->nearly_haves == p->early_haves_cap) {
		p->early_haves_cap = p->early_haves_cap ? p->early_haves_cap * 2 : 64;
		p->early_haves = xreallocarray(p->early_haves, p->early_haves_cap,
		    sizeof *p->early_haves);
	}
	p->early_haves[p->nearly_haves++] = piece;
}

static void
peer_drop_early(struct peer *p)
{
	free(p->early_bits);
	free(p->early_haves);
	p->early_bits = NULL;
	p->early_haves = NULL;
	p->early_bits_len = p->nearly_haves = p->early_haves_cap = 0;
}

bool
peer_pieces_known(struct peer *p)
{
	const struct peer_swarm *sw = p->sw;
	p->lim.piece_count = sw->piece_count;
	p->lim.piece_length = sw->piece_length;
	p->lim.total_size = sw->total_size;
	bitfield_free(&p->has);
	bitfield_init(&p->has, sw->piece_count);
	if (p->task != NULL)
		task_rename(p->task, "peer %s %s", p->addr_str, sw->name);
	if (p->has_all) {
		peer_drop_early(p);
		bitfield_set_all(&p->has);
		picker_seed_add(sw->pk);
		return true;
	}
	if (p->early_bits != NULL && !bitfield_load(&p->has, p->early_bits, p->early_bits_len)) {
		size_t len = p->early_bits_len;
		peer_drop_early(p);
		peer_close(p, "protocol violation: bitfield of %zu bytes for %u pieces", len,
		    sw->piece_count);
		return false;
	}
	for (size_t i = 0; i < p->nearly_haves; i++) {
		if (p->early_haves[i] >= sw->piece_count) {
			uint32_t bad = p->early_haves[i];
			peer_drop_early(p);
			/* None of it reached the picker: closing must not take it back. */
			bitfield_clear_all(&p->has);
			peer_close(p, "protocol violation: have %u of %u pieces", bad, sw->piece_count);
			return false;
		}
		bitfield_set(&p->has, p->early_haves[i]);
	}
	peer_drop_early(p);
	if (p->has.count == p->has.nbits && p->has.nbits > 0) {
		p->has_all = p->seed = true;
		picker_seed_add(sw->pk);
	} else if (p->has.count > 0) {
		picker_peer_bitfield_add(sw->pk, &p->has);
	}
	return true;
}

/* BEP 52 hash request: answered from what the owner knows, else rejected. Hashes and rejects
 * go to the owner, which knows what it asked for. */
static void
peer_on_hash_message(struct peer *p, const struct wire_msg *m)
{
	char why[160];
	struct wire_hash_req req;
	if (m->raw_id == WIRE_HASH_REQUEST) {
		if (wire_hash_parse_req(m->payload, m->payload_len, &req, why, sizeof why) < 0) {
			peer_close(p, "%s", why);
			return;
		}
		struct evbuffer *out = bufferevent_get_output(p->bev);
		uint8_t *hashes = NULL;
		uint32_t n = 0;
		/* A peer with answers still unsent gets a reject, not more memory. */
		if (p->ops->hash_answer != NULL && evbuffer_get_length(out) < PEER_OUTPUT_HIGH) {
			hashes = xmalloc((size_t)V2_HASHES_MAX * 32);
			n = p->ops->hash_answer(p->owner, &req, hashes);
		}
		if (n > 0)
			wire_hash_put_hashes(out, &req, hashes, n);
		else
			wire_hash_put_req(out, WIRE_HASH_REJECT, &req);
		log_debug("peer %s: hash request (layer %u, %u at %u, %u proof layers): %s", p->addr_str,
		    req.base_layer, req.length, req.index, req.proof_layers,
		    n > 0 ? "answered" : "rejected");
		free(hashes);
		p->last_send_ms = dp_now_ms();
		return;
	}
	struct wire_hashes h;
	if (m->raw_id == WIRE_HASHES) {
		if (wire_hash_parse_hashes(m->payload, m->payload_len, &h, why, sizeof why) < 0)
			log_info("peer %s: %s; dropped", p->addr_str, why);
		else if (p->ops->hash_reply != NULL)
			p->ops->hash_reply(p->owner, p, &h, NULL);
		return;
	}
	if (wire_hash_parse_req(m->payload, m->payload_len, &req, why, sizeof why) < 0)
		log_info("peer %s: %s; dropped", p->addr_str, why);
	else if (p->ops->hash_reply != NULL)
		p->ops->hash_reply(p->owner, p, NULL, &req);
}

static void
peer_on_message(struct peer *p, const struct wire_msg *m)
{
	const struct peer_swarm *sw = p->sw;
	switch (m->id) {
	case WIRE_UNKNOWN:
		if (m->raw_id >= WIRE_HASH_REQUEST && m->raw_id <= WIRE_HASH_REJECT)
			peer_on_hash_message(p, m);
		break;
	case WIRE_KEEPALIVE:
	case WIRE_SUGGEST:
		break;
	case WIRE_PORT:
		/* BEP 5: the peer's DHT port, for whoever runs a DHT. */
		if (p->ops->on_port != NULL)
			p->ops->on_port(p->owner, p, m->port);
		break;
	case WIRE_CHOKE:
		if (!p->peer_choking)
			p->choked_since_ms = dp_now_ms();
		p->peer_choking = true;
		/* With the Fast extension pending requests are rejected one by one. */
		if (!p->fast)
			peer_abandon_requests(p);
		break;
	case WIRE_UNCHOKE:
		p->peer_choking = false;
		peer_fill_requests(p);
		break;
	case WIRE_INTERESTED:
		p->peer_interested = true;
		p->ops->interested(p->owner, p);
		break;
	case WIRE_NOT_INTERESTED:
		p->peer_interested = false;
		break;
	case WIRE_HAVE:
		if (sw->piece_count == 0)
			peer_keep_have(p, m->index);   /* kept until the piece count is known */
		else if (!p->has_all)
			peer_got_bitfield_piece(p, m->index);
		break;
	case WIRE_BITFIELD: {
		if (sw->piece_count == 0) {
			peer_keep_bitfield(p, m->payload, m->payload_len);
			break;
		}
		/* Some clients (aria2) send have-none and then a bitfield: the newest one wins. */
		struct dp_bitfield bf;
		bitfield_init(&bf, sw->piece_count);
		if (!bitfield_load(&bf, m->payload, m->payload_len)) {
			bitfield_free(&bf);
			peer_close(p, "protocol violation: malformed bitfield");
			return;
		}
		if (p->has_all && sw->pk != NULL)
			picker_seed_remove(sw->pk);
		else if (p->has.count > 0 && sw->pk != NULL)
			picker_peer_bitfield_remove(sw->pk, &p->has);
		p->has_all = p->seed = false;
		bitfield_free(&p->has);
		p->has = bf;
		p->bitfield_received = true;
		if (p->has.count == p->has.nbits && p->has.nbits > 0) {
			p->has_all = p->seed = true;
			if (sw->pk != NULL)
				picker_seed_add(sw->pk);
		} else if (p->has.count > 0 && sw->pk != NULL) {
			picker_peer_bitfield_add(sw->pk, &p->has);
		}
		if (peer_close_if_both_seeds(p))
			return;
		peer_update_interest(p);
		break;
	}
	case WIRE_HAVE_ALL:
		peer_on_have_all(p);
		break;
	case WIRE_HAVE_NONE:
		/* Only meaningful as the first message; later it changes nothing we rely on. */
		p->bitfield_received = true;
		break;
	case WIRE_REQUEST:
		/* Served once the read is parsed (peer_read_ready): served here, each request that
		 * found the pipe empty went to the socket alone, a TCP push of one block (2,900 of
		 * the 65,536 blocks of a GiB, 58 % of the seeder's sends). */
		peer_queue_request(p, m->index, m->begin, m->length);
		break;
	case WIRE_CANCEL:
		peer_cancel_request(p, m->index, m->begin, m->length);
		break;
	case WIRE_REJECT:
		if (peer_reqs_remove(p, m->index, m->begin, m->length) && sw->pk != NULL)
			picker_block_abandoned(sw->pk, m->index, m->begin, p);
		if (!p->peer_choking)
			peer_fill_requests(p);
		break;
	case WIRE_ALLOWED_FAST:
		if (p->nallowed_fast < WIRE_ALLOWED_FAST_MAX) {
			for (uint32_t i = 0; i < p->nallowed_fast; i++)
				if (p->allowed_fast[i] == m->index)
					return;
			p->allowed_fast = xreallocarray(p->allowed_fast, p->nallowed_fast + 1,
			    sizeof *p->allowed_fast);
			p->allowed_fast[p->nallowed_fast++] = m->index;
			if (p->peer_choking)
				peer_fill_requests(p);
		}
		break;
	case WIRE_EXTENDED:
		peer_on_extended(p, m);
		break;
	case WIRE_PIECE:
		/* handled without a copy in peer_read_input */
		break;
	}
}

/* A block that matches no outstanding request: dropped before any piece buffer is made or
 * touched (one peer sending a block of every piece grew a 1 GiB torrent's buffers to 1 GiB, and
 * unaligned ones corrupted pieces an honest seeder was filling, which got it banned). Counted;
 * past the late answers we allow, PEER_MAX_UNREQUESTED of them close the peer as hostile. */
static int
peer_drop_unrequested(struct peer *p, uint32_t piece, uint32_t offset, uint32_t len)
{
	p->unrequested++;
	p->unrequested_bytes += len;
	if (p->late_allowed > 0) {
		p->late_allowed--;
		return 0;
	}
	if (p->hostile_blocks++ == 0)
		log_info("peer %s (%s): block %u+%u of piece %u was never asked for: dropped",
		    p->addr_str, p->client, offset, len, piece);
	if (p->hostile_blocks < PEER_MAX_UNREQUESTED)
		return 0;
	char why[128];
	snprintf(why, sizeof why, "sent %u blocks (%llu bytes) it was never asked for",
	    p->hostile_blocks, (unsigned long long)p->unrequested_bytes);
	if (p->ops->hostile != NULL)
		p->ops->hostile(p->owner, p, why);   /* may close p */
	peer_close(p, "%s", why);
	return -1;
}

/* The payload of a PIECE message arrived up to rx_got + n: counted against the rate limits as it
 * comes; the whole block is recorded. Returns -1 when p closed. */
static int
peer_rx_advance(struct peer *p, size_t n)
{
	const struct peer_swarm *sw = p->sw;
	uint64_t now = dp_now_ms();
	bw_bucket_consume(p->env->down_bucket, n);
	bw_bucket_consume(sw->down_bucket, n);
	task_progress(p->task, n, 0);
	if (p->rx_wanted) {
		p->downloaded += n;
		bw_meter_add(&p->down_meter, n, now);
	}
	p->rx_got += (uint32_t)n;
	if (p->rx_got < p->rx_len)
		return 0;
	uint8_t *dest = p->rx_dest;
	uint32_t piece = p->rx_piece, offset = p->rx_offset, len = p->rx_len;
	bool wanted = p->rx_wanted;
	p->rx_dest = NULL;
	p->rx_len = 0;
	p->rx_blocks = true;
	if (!wanted)
		return 0;
	p->last_block_ms = now;
	p->snubbed = false;
	if (dest != NULL)
		p->ops->block_done(p->owner, p, piece, offset, len);   /* may close peers, even p */
	if (p->dead)
		return -1;
	if (!p->peer_choking || p->nallowed_fast > 0)
		peer_fill_requests(p);
	return 0;
}

/* Past the rate limit: no more reading until the buckets refill. */
static void
peer_check_down_bucket(struct peer *p)
{
	if (!p->dead && !p->read_throttled && (!bw_bucket_open(p->env->down_bucket) ||
	    !bw_bucket_open(p->sw->down_bucket))) {
		p->read_throttled = true;
		peer_update_reading(p);
	}
}

/* A PIECE message's header: checked, and where its payload goes is settled before any of it is
 * read (peer_rx_advance takes it from there). */
static int
peer_on_piece(struct peer *p, struct evbuffer *in, const uint8_t *hdr, uint32_t mlen)
{
	const struct peer_swarm *sw = p->sw;
	uint32_t piece = peer_be32(hdr + 5), offset = peer_be32(hdr + 9), len = mlen - 9;
	if (piece >= sw->piece_count) {
		peer_close(p, "protocol violation: piece %u out of range", piece);
		return -1;
	}
	uint32_t psize = peer_piece_size(sw, piece);
	if (len == 0 || len > PEER_MAX_REQUEST || offset > psize || len > psize - offset) {
		peer_close(p, "protocol violation: block %u+%u outside piece %u", offset, len, piece);
		return -1;
	}
	evbuffer_drain(in, 13);
	p->rx_piece = piece;
	p->rx_offset = offset;
	p->rx_len = len;
	p->rx_got = 0;
	p->rx_dest = NULL;
	p->rx_wanted = peer_reqs_remove(p, piece, offset, len);
	if (!p->rx_wanted)
		return peer_drop_unrequested(p, piece, offset, len);
	p->rx_dest = p->ops->block_dest(p->owner, piece, offset, len);
	return 0;
}

/* The part of the arriving block the input buffer holds goes to its place. */
static int
peer_rx_take(struct peer *p, struct evbuffer *in)
{
	size_t n = DP_MIN(evbuffer_get_length(in), (size_t)(p->rx_len - p->rx_got));
	if (p->rx_dest != NULL)
		evbuffer_remove(in, p->rx_dest + p->rx_got, n);
	else
		evbuffer_drain(in, n);
	if (peer_rx_advance(p, n) < 0)
		return -1;
	peer_check_down_bucket(p);
	return 0;
}

/* Whether disk backpressure holds p's reading. The session closes its gate without touching a
 * peer: one past its handshake that meets it closed is held from then on (DISK_WAIT). */
static bool
peer_disk_hold(struct peer *p)
{
	if (!p->disk_paused && p->handshake_done && !p->dead && p->env->disk_gate != NULL &&
	    peer_disk_gate_hold(p->env->disk_gate, &p->disk_wait))
		p->disk_paused = true;
	return p->disk_paused;
}

/* The same where p would read: one held here stops (its read event off) before it reads or
 * parses another message, in the callback that closed the gate or in its next one. */
static bool
peer_disk_held(struct peer *p)
{
	if (!p->disk_paused && peer_disk_hold(p))
		peer_update_reading(p);
	return p->disk_paused;
}

void
peer_disk_woken(struct peer_disk_waiter *w)
{
	struct peer *p = (struct peer *)(void *)((char *)w - offsetof(struct peer, disk_wait));
	p->disk_paused = false;
	peer_update_reading(p);
}

static void
peer_read_input(struct peer *p)
{
	struct evbuffer *in = bufferevent_get_input(p->bev);
	p->last_recv_ms = dp_now_ms();
	while (!p->dead) {
		size_t avail = evbuffer_get_length(in);
		if (!p->handshake_done) {
			if (avail < WIRE_HANDSHAKE_LEN)
				break;
			uint8_t hs[WIRE_HANDSHAKE_LEN];
			evbuffer_remove(in, hs, sizeof hs);
			if (peer_on_handshake(p, hs) < 0)
				return;
			continue;
		}
		if (p->rx_len != 0) {
			/* Bytes already read: taken even when paused, so the block can complete. */
			if (avail == 0 || peer_rx_take(p, in) < 0)
				break;
			continue;
		}
		if (p->read_throttled || peer_disk_held(p) || avail < 4)
			break;
		uint8_t hdr[13];
		size_t hlen = DP_MIN(avail, sizeof hdr);
		evbuffer_copyout(in, hdr, hlen);
		uint32_t mlen = peer_be32(hdr);
		if (hlen >= 5 && mlen >= 9 && hdr[4] == WIRE_PIECE) {
			if (mlen - 9 > PEER_MAX_REQUEST) {
				peer_close(p, "protocol violation: %u-byte piece message", mlen);
				return;
			}
			if (hlen < 13)
				break;
			if (peer_on_piece(p, in, hdr, mlen) < 0)
				return;
			continue;
		}
		if (hlen >= 5)
			p->rx_blocks = false;
		struct wire_msg m;
		size_t consumed = 0;
		char err[160];
		enum wire_result r = wire_parse(hdr, hlen, &p->lim, &m, &consumed, err, sizeof err);
		if (r == WIRE_NEED_MORE) {
			if (avail < consumed)
				break;
			uint8_t *buf = evbuffer_pullup(in, (ev_ssize_t)consumed);
			if (buf == NULL) {
				peer_close(p, "out of memory reading a %zu-byte message", consumed);
				return;
			}
			r = wire_parse(buf, consumed, &p->lim, &m, &consumed, err, sizeof err);
			if (r == WIRE_NEED_MORE) {
				peer_close(p, "internal error: message length changed");
				return;
			}
		}
		if (r == WIRE_ERROR) {
			peer_close(p, "protocol violation: %s", err);
			return;
		}
		peer_on_message(p, &m);
		if (p->dead)
			return;
		evbuffer_drain(in, consumed);
		size_t queued = evbuffer_get_length(bufferevent_get_output(p->bev));
		if (queued > PEER_OUTPUT_MAX) {
			peer_close(p, "peer does not read what it asks for: %zu KiB queued to send",
			    queued / 1024);
			return;
		}
		task_progress(p->task, consumed, 0);
	}
}

/* A block the next read expects: its header lands in hdr and is checked before the payload
 * read into dest (claimed through block_dest) counts. */
struct peer_rx_slot {
	struct peer_request req;
	uint8_t hdr[WIRE_PIECE_HEADER_LEN];
	uint8_t *dest;
};

static ssize_t
peer_readv(struct peer *p, evutil_socket_t fd, struct iovec *iov, int niov)
{
	ssize_t n;
	do
		n = readv(fd, iov, niov);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		peer_close(p, "socket error: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		peer_close(p, "peer closed the connection");
		return -1;
	}
	return n;
}

/* Reads what the socket holds (up to max bytes) into the input buffer, straight from the kernel;
 * *asked: how much the read had room for. Returns the bytes read, 0 when the socket has nothing
 * now, -1 when the peer is closed. */
static ssize_t
peer_read_buffered(struct peer *p, struct evbuffer *in, evutil_socket_t fd, size_t max,
    size_t *asked)
{
	struct evbuffer_iovec vec[2];
	struct iovec iov[2];
	max = DP_MIN(max, (size_t)PEER_READ_CHUNK);
	int nvec = evbuffer_reserve_space(in, (ev_ssize_t)max, vec, 2);
	if (nvec <= 0) {
		peer_close(p, "out of memory for a %zu-byte socket read", max);
		return -1;
	}
	size_t room = 0;
	for (int i = 0; i < nvec; i++) {
		iov[i].iov_base = vec[i].iov_base;
		iov[i].iov_len = DP_MIN(vec[i].iov_len, max - room);
		room += iov[i].iov_len;
	}
	*asked = room;
	ssize_t n = peer_readv(p, fd, iov, nvec);
	if (n <= 0)
		return n;
	size_t left = (size_t)n;
	for (int i = 0; i < nvec; i++) {
		vec[i].iov_len = DP_MIN(iov[i].iov_len, left);
		left -= vec[i].iov_len;
	}
	if (evbuffer_commit_space(in, vec, nvec) < 0) {
		peer_close(p, "internal error: cannot commit a %zd-byte socket read", n);
		return -1;
	}
	return n;
}

/* Whether slot's header is the PIECE message it expects. */
static bool
peer_rx_slot_matches(const struct peer_rx_slot *sl)
{
	const struct peer_request *r = &sl->req;
	return peer_be32(sl->hdr) == 9 + r->length && sl->hdr[4] == WIRE_PIECE &&
	    peer_be32(sl->hdr + 5) == r->piece && peer_be32(sl->hdr + 9) == r->offset;
}

/* A read laid out in stream order: the rest of the arriving block into place, then for each block
 * asked for next its header and its payload in place, then the next header. The first header
 * that is not the expected block (another message, blocks out of order) and all after it go to
 * the input buffer as read; what landed in that block's place is not counted, and someone's
 * copy of it writes over it later. */
static ssize_t
peer_read_direct(struct peer *p, struct evbuffer *in, evutil_socket_t fd, size_t max,
    size_t *asked)
{
	struct peer_rx_slot slots[PEER_RX_AHEAD];
	struct iovec iov[2 + 2 * PEER_RX_AHEAD];
	uint8_t tail[WIRE_PIECE_HEADER_LEN];
	int niov = 0, nslots = 0;
	size_t direct = 0, planned = 0;
	if (p->rx_len != 0) {
		direct = DP_MIN(max, (size_t)(p->rx_len - p->rx_got));
		iov[niov].iov_base = p->rx_dest + p->rx_got;
		iov[niov++].iov_len = direct;
		planned = direct;
	}
	/* Only a read that reaches the end of the arriving block can see the next header. */
	bool ahead = p->rx_len == 0 || direct == (size_t)(p->rx_len - p->rx_got);
	for (uint32_t i = 0; ahead && i < p->nreqs && nslots < PEER_RX_AHEAD; i++) {
		const struct peer_request *r = peer_req_at(p, i);
		if (planned + WIRE_PIECE_HEADER_LEN + r->length > max)
			break;
		uint8_t *dest = p->ops->block_dest(p->owner, r->piece, r->offset, r->length);
		if (dest == NULL)
			break;
		struct peer_rx_slot *sl = &slots[nslots++];
		sl->req = *r;
		sl->dest = dest;
		iov[niov].iov_base = sl->hdr;
		iov[niov++].iov_len = sizeof sl->hdr;
		iov[niov].iov_base = dest;
		iov[niov++].iov_len = r->length;
		planned += WIRE_PIECE_HEADER_LEN + r->length;
	}
	size_t ntail = ahead ? DP_MIN(max - planned, sizeof tail) : 0;
	if (ntail > 0) {
		iov[niov].iov_base = tail;
		iov[niov++].iov_len = ntail;
	}
	*asked = planned + ntail;
	ssize_t n = peer_readv(p, fd, iov, niov);
	size_t left = n > 0 ? (size_t)n : 0;
	int k = 0;
	bool spill = false;
	/* The arriving block first: completing it may close p (block_done). */
	size_t take = DP_MIN(left, direct);
	left -= take;
	if (take > 0 && peer_rx_advance(p, take) < 0)
		goto out;
	for (; k < nslots && left > 0 && !p->dead; k++) {
		struct peer_rx_slot *sl = &slots[k];
		size_t h = DP_MIN(left, sizeof sl->hdr);
		size_t pay = DP_MIN(left - h, (size_t)sl->req.length);
		if (spill || h < sizeof sl->hdr || !peer_rx_slot_matches(sl) ||
		    !peer_reqs_remove(p, sl->req.piece, sl->req.offset, sl->req.length)) {
			/* Not the block expected: the bytes go through the input buffer. */
			spill = true;
			p->ops->block_abort(p->owner, sl->req.piece, sl->req.offset);
			if (evbuffer_add(in, sl->hdr, h) < 0 || evbuffer_add(in, sl->dest, pay) < 0) {
				peer_close(p, "out of memory for a %zu-byte socket read", (size_t)n);
				k++;
				goto out;
			}
			left -= h + pay;
			continue;
		}
		left -= h + pay;
		p->rx_piece = sl->req.piece;
		p->rx_offset = sl->req.offset;
		p->rx_len = sl->req.length;
		p->rx_got = 0;
		p->rx_dest = sl->dest;
		p->rx_wanted = true;
		if (pay > 0 && peer_rx_advance(p, pay) < 0) {
			k++;
			goto out;
		}
	}
	if (left > 0 && !p->dead && evbuffer_add(in, tail, left) < 0)
		peer_close(p, "out of memory for a %zu-byte socket read", (size_t)n);
out:
	/* Blocks the read did not reach (or p closed) give their places back. */
	for (; k < nslots; k++)
		p->ops->block_abort(p->owner, slots[k].req.piece, slots[k].req.offset);
	if (p->dead)
		return -1;
	peer_check_down_bucket(p);
	return n;
}

/* Reads what the socket holds (up to max bytes). While blocks stream in and the input buffer is
 * empty, they are read straight into their piece buffers (peer_read_direct). Returns the bytes
 * read, 0 when the socket has nothing now, -1 when the peer is closed; *asked: how much the read
 * had room for (0: no read). */
static ssize_t
peer_read_socket(struct peer *p, size_t max, size_t *asked)
{
	*asked = 0;
	struct evbuffer *in = bufferevent_get_input(p->bev);
	/* Plaintext TCP only: a filter (MSE) answers with its stream's socket, whose bytes are
	 * still encrypted; a uTP stream has none. */
	if (bufferevent_get_underlying(p->bev) != NULL)
		return 0;
	evutil_socket_t fd = bufferevent_getfd(p->bev);
	if (fd < 0)
		return 0;
	bool direct = evbuffer_get_length(in) == 0 && p->ops->block_abort != NULL &&
	    (p->rx_len != 0 ? p->rx_dest != NULL : p->rx_blocks);
	/* A socket bufferevent keeps its input's end frozen except around its own reads. */
	evbuffer_unfreeze(in, 0);
	ssize_t n = direct ? peer_read_direct(p, in, fd, max, asked) :
	    peer_read_buffered(p, in, fd, max, asked);
	evbuffer_freeze(in, 0);
	return n;
}

/* How much the next socket read may take: rate limits get small reads, so a limited peer
 * overshoots its tokens by little. */
static size_t
peer_read_chunk(struct peer *p)
{
	uint64_t allow = bw_bucket_available(p->env->down_bucket);
	if (p->sw != NULL)
		allow = DP_MIN(allow, bw_bucket_available(p->sw->down_bucket));
	return (size_t)DP_MAX(DP_MIN(allow, (uint64_t)PEER_READ_DIRECT), (uint64_t)PEER_READ_MIN);
}

/* ---- callbacks ---- */

/* The socket is readable (or input waits): what the input buffer holds is handled, then the
 * socket is drained. */
static void
peer_read_ready(struct peer *p)
{
	struct dp_task *task = p->task;
	task_cb_begin(task);
	peer_read_input(p);
	/* Drain the socket while nothing holds reading back (see PEER_READ_CHUNK). A read that
	 * got less than it had room for emptied the socket: the next one would only say so
	 * (EAGAIN, a system call per wakeup); what comes after wakes the loop again. */
	for (size_t budget = PEER_READ_BUDGET; budget > 0 && !p->dead && p->connected &&
	    !p->read_throttled && !peer_disk_held(p);) {
		size_t asked;
		ssize_t n = peer_read_socket(p, DP_MIN(budget, peer_read_chunk(p)), &asked);
		if (n <= 0)
			break;
		budget -= DP_MIN(budget, (size_t)n);
		peer_read_input(p);
		if ((size_t)n < asked)
			break;
	}
	if (!p->dead) {
		peer_serve(p);
		/* The reason text costs a format: refresh it a few times a second, not per read. */
		uint64_t now = dp_now_ms();
		if (now - p->task_updated_ms >= 200) {
			p->task_updated_ms = now;
			peer_update_task(p);
		}
	}
	task_cb_end(task);
}

/* The bufferevent read (a stream it reads: MSE, uTP), or bytes already read were triggered. */
static void
peer_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	peer_read_ready(arg);
}

/* A plain socket is readable (read_ev). */
static void
peer_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	peer_read_ready(arg);
}

static void
peer_write_cb(struct bufferevent *bev, void *arg)
{
	struct peer *p = arg;
	(void)bev;
	struct dp_task *task = p->task;
	task_cb_begin(task);
	if (!p->dead)
		peer_serve(p);
	task_cb_end(task);
}

static void
peer_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct peer *p = arg;
	struct dp_task *task = p->task;
	task_cb_begin(task);
	(void)bev;
	if ((what & (BEV_EVENT_WRITING | BEV_EVENT_EOF)) == (BEV_EVENT_WRITING | BEV_EVENT_EOF) &&
	    peer_plain_socket(p)) {
		/* A socket write never returns 0: sendfile met the end of a file we were sending. */
		peer_close_file_short(p);
	} else if (what & BEV_EVENT_EOF) {
		peer_close(p, p->connected ? "peer closed the connection" : "connection refused");
	} else if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();
		peer_close(p, "%s: %s", p->connected ? "socket error" : "connect failed",
		    evutil_socket_error_to_string(err));
	} else if (what & BEV_EVENT_TIMEOUT) {
		peer_close(p, "timed out");
	}
	task_cb_end(task);
}

void
peer_update_reading(struct peer *p)
{
	if (p->dead || p->bev == NULL || !p->connected)
		return;
	bool want = !p->read_throttled && !peer_disk_hold(p);
	if (want) {
		if (p->read_ev != NULL)
			event_add(p->read_ev, NULL);
		else
			bufferevent_enable(p->bev, EV_READ);
		/* Messages that arrived while paused are still in the buffer: handle them from the
		 * loop, not inside whatever callback lifted the pause (it may be this peer's). */
		if (evbuffer_get_length(bufferevent_get_input(p->bev)) > 0)
			bufferevent_trigger(p->bev, EV_READ,
			    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	} else if (p->read_ev != NULL) {
		event_del(p->read_ev);
	} else {
		bufferevent_disable(p->bev, EV_READ);
	}
	if (!p->dead)
		peer_update_task(p);
}

void
peer_tick(struct peer *p, uint64_t now)
{
	if (p->dead)
		return;
	if (!p->connected) {
		/* An incoming stream still being sniffed (or in MSE) is waiting for a handshake. */
		uint64_t limit = p->incoming ? PEER_HANDSHAKE_MS : PEER_CONNECT_MS;
		if (now - p->started_ms > limit)
			peer_close(p, "%s after %llu s", p->incoming ? "no handshake" :
			    "connect timed out", (unsigned long long)limit / 1000);
		else if (p->tconn != NULL && !p->incoming)
			peer_wait_transport(p);
		return;
	}
	if (!p->handshake_done) {
		if (now - p->started_ms > PEER_HANDSHAKE_MS)
			peer_close(p, "no handshake after %u s", PEER_HANDSHAKE_MS / 1000);
		return;
	}
	if (now - p->last_recv_ms > PEER_IDLE_MS && !p->disk_paused && !p->read_throttled) {
		peer_close(p, "peer sent nothing for %llu s",
		    (unsigned long long)(now - p->last_recv_ms) / 1000);
		return;
	}
	if (p->nreqs > 0 && now - p->last_block_ms > PEER_SNUB_MS) {
		if (!p->snubbed)
			log_info("peer %s: snubbed (no block for %u s)", p->addr_str,
			    PEER_SNUB_MS / 1000);
		p->snubbed = true;
		p->last_block_ms = now;   /* it gets a new chance with fresh requests */
		/* Others may fetch what it sits on. */
		struct evbuffer *out = bufferevent_get_output(p->bev);
		for (uint32_t i = 0; i < p->nreqs; i++) {
			struct peer_request *r = peer_req_at(p, i);
			wire_put_cancel(out, r->piece, r->offset, r->length);
		}
		peer_abandon_requests(p);
	}
	if (now - p->last_send_ms >= PEER_KEEPALIVE_MS) {
		wire_put_keepalive(bufferevent_get_output(p->bev));
		p->last_send_ms = now;
	}
	if (p->write_throttled)
		peer_serve(p);
	else if (!p->peer_choking && p->am_interested && p->nreqs == 0)
		peer_fill_requests(p);
	peer_update_task(p);
}
