/* session.c: the session on one event_base: settings, listening sockets, the torrent set,
 * global rate buckets, the periodic timers (loop health, ticks), bans and disk backpressure. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "accept_backoff.h"
#include "blocklist.h"
#include "announce_sched.h"
#include "discovery.h"
#include "disk.h"
#include "dp_config.h"
#include "engine_state.h"
#include "log.h"
#include "metadata_fetch.h"
#include "metainfo.h"
#include "net.h"
#include "peer.h"
#include "peer_ext.h"
#include "peer_id.h"
#include "peer_splice.h"
#include "session.h"
#include "storage.h"
#include "task.h"
#include "torrent.h"
#include "tls_trust.h"
#include "tracker_hosts.h"
#include "transport.h"
#include "udp_socket.h"
#include "ut_pex.h"
#include "util.h"

#define SESSION_HEALTH_US 250000u
#define SESSION_TICK_MS 100u

uint32_t
session_random(struct engine *e)
{
	/* xorshift32: peer selection and tie-breaks only, nothing secret. */
	uint32_t x = e->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	e->rng = x;
	return x;
}

/* ---- torrents ---- */

/* A removed torrent of this info-hash whose data is still to be deleted. */
static bool
session_dying_deletes(struct engine *e, const uint8_t info_hash[20])
{
	for (struct torrent *d = e->dying; d != NULL; d = d->next)
		if (d->deleting_data && memcmp(d->mi->info_hash, info_hash, 20) == 0)
			return true;
	return false;
}
/* ---- the index by id: ids grow, so a new torrent goes last (found by search all the same) ---- */

static size_t session_index_find(const struct engine *e, int id, bool *found);
static void session_torrent_wake(void *arg, struct torrent *t);

static void
session_index_add(struct engine *e, struct torrent *t)
{
	bool found;
	size_t i = session_index_find(e, t->id, &found);
	if (found)
		return;
	if (e->nby_id == e->cap_by_id) {
		e->cap_by_id = e->cap_by_id ? e->cap_by_id * 2 : 64;
		e->by_id = xreallocarray(e->by_id, e->cap_by_id, sizeof *e->by_id);
	}
	memmove(e->by_id + i + 1, e->by_id + i, (e->nby_id - i) * sizeof *e->by_id);
	e->by_id[i] = t;
	e->nby_id++;
}

static void
session_index_remove(struct engine *e, struct torrent *t)
{
	bool found;
	size_t i = session_index_find(e, t->id, &found);
	if (!found || e->by_id[i] != t)
		return;
	memmove(e->by_id + i, e->by_id + i + 1, (e->nby_id - i - 1) * sizeof *e->by_id);
	e->nby_id--;
}

/* A hybrid answers to its v2 info-hash too; a magnet learns it with its metadata. */
static void
session_index_v2(struct engine *e, struct torrent *t)
{
	if (t->mi->hybrid && !t->v2_indexed) {
		dp_idmap_put(&e->torrents_by_hash, dp_idmap_key20(t->mi->info_hash_v2), t);
		t->v2_indexed = true;
	}
}

static void
session_unindex(struct engine *e, struct torrent *t)
{
	session_index_remove(e, t);
	dp_idmap_del(&e->torrents_by_hash, dp_idmap_key20(t->mi->info_hash), t);
	if (t->v2_indexed)
		dp_idmap_del(&e->torrents_by_hash, dp_idmap_key20(t->mi->info_hash_v2), t);
	t->v2_indexed = false;
}

struct torrent *
session_new_torrent(struct engine *e, struct metainfo *mi, const char *save_dir,
    const struct engine_add_opts *opts, char *err, size_t errlen)
{
	/* A wanted id is taken only from the range a restart kept and only while free, so no id
	 * is ever given twice in a run. */
	int id = e->next_torrent_id + 1;
	if (opts != NULL && opts->id >= e->reserved_ids_from && opts->id <= e->reserved_ids_to &&
	    opts->id > 0 &&
	    session_find_torrent(e, opts->id) == NULL)
		id = opts->id;
	struct torrent *t = torrent_new(&e->torrent_env, id, mi, save_dir, opts, err, errlen);
	if (t == NULL)
		return NULL;
	if (t->id > e->next_torrent_id)
		e->next_torrent_id = t->id;
	/* Removed with its data and added again at once (a re-grab): the earlier copy's DELETE is
	 * still to run, and would remove what this copy finds or writes. Its disk jobs wait. */
	if (session_dying_deletes(e, mi->info_hash)) {
		t->data_gated = true;
		log_info("%s: waiting for the data of its earlier copy to be deleted", mi->name);
	}
	if (e->transport != NULL)
		transport_add_torrent(e->transport, mi->info_hash);
	t->prev = e->torrents_tail;
	if (e->torrents_tail)
		e->torrents_tail->next = t;
	else
		e->torrents = t;
	e->torrents_tail = t;
	session_index_add(e, t);
	dp_idmap_put(&e->torrents_by_hash, dp_idmap_key20(mi->info_hash), t);
	session_index_v2(e, t);
	t->counted = true;
	e->torrent_states[t->state]++;
	session_torrent_wake(e, t);     /* one tick, then it leaves if quiet */
	return t;
}

/* Where id is, or would go, in the index by id (binary search). */
static size_t
session_index_find(const struct engine *e, int id, bool *found)
{
	size_t lo = 0, hi = e->nby_id;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->by_id[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < e->nby_id && e->by_id[lo]->id == id;
	return lo;
}

struct torrent *
session_find_torrent(struct engine *e, int id)
{
	bool found;
	size_t i = session_index_find(e, id, &found);
	return found ? e->by_id[i] : NULL;
}

size_t
session_torrent_ids(struct engine *e, int **ids)
{
	*ids = NULL;
	if (e->nby_id == 0)
		return 0;
	*ids = xcalloc(e->nby_id, sizeof **ids);
	for (size_t i = 0; i < e->nby_id; i++)
		(*ids)[i] = e->by_id[i]->id;
	return e->nby_id;
}

struct torrent *
session_find_by_hash(struct engine *e, const uint8_t info_hash[20])
{
	size_t cursor = 0;
	struct torrent *t;
	/* The key is 8 bytes of the hash: the whole hash decides. */
	while ((t = dp_idmap_next(&e->torrents_by_hash, dp_idmap_key20(info_hash), &cursor)))
		if (memcmp(t->mi->info_hash, info_hash, 20) == 0 ||
		    (t->mi->hybrid && memcmp(t->mi->info_hash_v2, info_hash, 20) == 0))
			return t;
	return NULL;
}

/* ---- bans, self, the IP filter ---- */

/* In the blocklist (engine_blocklist.c keeps e->ip_filter): refused, and counted. */
static bool
session_filtered(struct engine *e, const struct sockaddr *sa, bool incoming)
{
	if (e->ip_filter == NULL || !blocklist_has_addr(e->ip_filter, sa))
		return false;
	if (incoming)
		e->filtered_in++;
	else
		e->filtered_out++;
	return true;
}

bool
session_is_banned(struct engine *e, const struct sockaddr *sa)
{
	for (size_t i = 0; i < e->ban_count; i++) {
		const struct sockaddr *b = (const struct sockaddr *)&e->bans[i].addr;
		if (sockaddr_equal(b, sa, sockaddr_port(b) != 0))
			return true;
	}
	return false;
}

void
session_ban(struct engine *e, const struct sockaddr *sa, const char *why)
{
	/* On loopback every peer shares 127.0.0.1, so there a ban is for one address and port. */
	bool with_port = sockaddr_is_loopback(sa);
	struct ban b;
	memset(&b, 0, sizeof b);
	memcpy(&b.addr, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
	if (!with_port) {
		if (sa->sa_family == AF_INET)
			((struct sockaddr_in *)&b.addr)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&b.addr)->sin6_port = 0;
	}
	char a[64];
	sockaddr_format((const struct sockaddr *)&b.addr, a, sizeof a);
	if (!session_is_banned(e, sa)) {
		e->bans = xreallocarray(e->bans, e->ban_count + 1, sizeof *e->bans);
		e->bans[e->ban_count++] = b;
		log_warn("banned %s: %s", a, why);
	}
	for (struct torrent *t = e->torrents; t != NULL; t = t->next) {
		struct peer *p = t->peers;
		while (p != NULL) {
			struct peer *next = p->next;
			if (sockaddr_equal((struct sockaddr *)&p->addr, (struct sockaddr *)&b.addr,
			    with_port))
				peer_close(p, "banned: %s", why);
			p = next;
		}
	}
}

bool
session_is_self(struct engine *e, const struct sockaddr *sa)
{
	if (e->listen_port <= 0 || sockaddr_port(sa) != e->listen_port)
		return false;
	if (sockaddr_is_loopback(sa))
		return true;
	if (sa->sa_family == AF_INET &&
	    ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY))
		return true;
	/* The address we listen on, when it is one (a PEX or tracker list may name it). */
	struct sockaddr_storage own;
	socklen_t len;
	char buf[80];
	snprintf(buf, sizeof buf, strchr(e->listen_address ? e->listen_address : "", ':') ?
	    "[%s]:%d" : "%s:%d", e->listen_address ? e->listen_address : "", e->listen_port);
	return e->listen_address != NULL && sockaddr_parse(buf, &own, &len) &&
	    sockaddr_equal((const struct sockaddr *)&own, sa, false);
}

/* ---- peers leaving ---- */

void
session_bury_peer(struct engine *e, struct peer *p)
{
	p->next = e->graveyard;
	e->graveyard = p;
	event_active(e->reap_event, EV_TIMEOUT, 0);
}

static void
session_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	(void)fd;
	(void)what;
	task_cb_begin(e->timer_task);
	while (e->graveyard != NULL) {
		struct peer *p = e->graveyard;
		e->graveyard = p->next;
		peer_free(p);
	}
	task_cb_end(e->timer_task);
}

/* ---- backpressure ---- */

/* Held peers woken per callback once the disk pool drains: a session of thousands of peers
 * wakes them a slice at a time, so timers, signals and the UI are served between slices. */
#define SESSION_DISK_WAKE_US 4000u

static void
session_disk_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	(void)fd;
	(void)what;
	task_cb_begin(e->timer_task);
	uint64_t deadline = dp_now_us() + SESSION_DISK_WAKE_US;
	if (peer_disk_gate_wake(&e->disk_gate, deadline, peer_disk_woken))
		event_active(e->disk_wake_event, EV_TIMEOUT, 0);
	task_cb_end(e->timer_task);
}

/* Closing the gate touches no peer: each stops at its next read (peer.c's peer_disk_hold), the one
 * whose piece passed the bound within this very callback, a peer attached later after its
 * handshake. Opening it wakes only the peers held, from the loop, a slice at a time. */
void
session_check_disk_pressure(struct engine *e)
{
	struct peer_disk_gate *g = &e->disk_gate;
	uint64_t pending = disk_pool_pending_write_bytes(e->disk);
	uint64_t bound = e->set.disk_write_bound;
	if (!g->closed && pending > bound) {
		char sz[32];
		dp_format_size(pending, sz, sizeof sz);
		log_debug("disk write queue at %s: peers stop reading", sz);
		g->closed = true;
	} else if (g->closed && pending <= bound / 2) {
		g->closed = false;
		if (g->held != NULL)
			event_active(e->disk_wake_event, EV_TIMEOUT, 0);
	}
}

/* ---- what torrents report (torrent_ops) ---- */

static void
session_torrent_emit(void *arg, int torrent_id, enum engine_event ev)
{
	struct engine *e = arg;
	struct torrent *t;
	if (ev == ENGINE_EVENT_METADATA && (t = session_find_torrent(e, torrent_id)) != NULL)
		session_index_v2(e, t);
	e->emit(e, torrent_id, ev);
}

static void
session_torrent_ban(void *arg, const struct sockaddr *sa, const char *why)
{
	session_ban(arg, sa, why);
}

static bool
session_torrent_refused(void *arg, const struct sockaddr *sa)
{
	return session_is_self(arg, sa) || session_is_banned(arg, sa) ||
	    session_filtered(arg, sa, false);
}

static bool
session_torrent_may_connect(void *arg)
{
	struct engine *e = arg;
	return !e->shutting_down && e->connections < e->set.max_connections;
}

static void
session_torrent_disk_pressure(void *arg)
{
	session_check_disk_pressure(arg);
}

static void
session_torrent_transferred(void *arg, uint64_t down, uint64_t up, uint64_t now_ms)
{
	struct engine *e = arg;
	if (down > 0) {
		e->downloaded += down;
		bw_meter_add(&e->down_meter, down, now_ms);
	}
	if (up > 0) {
		e->uploaded += up;
		bw_meter_add(&e->up_meter, up, now_ms);
	}
}

static uint32_t
session_torrent_random(void *arg)
{
	return session_random(arg);
}

/* Into the set the tick visits (O(1)). */
static void
session_torrent_wake(void *arg, struct torrent *t)
{
	struct engine *e = arg;
	if (t->ticking)
		return;
	t->ticking = true;
	t->tick_prev = NULL;
	t->tick_next = e->ticking;
	if (e->ticking != NULL)
		e->ticking->tick_prev = t;
	e->ticking = t;
	e->nticking++;
}

static void
session_tick_unlink(struct engine *e, struct torrent *t)
{
	if (!t->ticking)
		return;
	if (t->tick_prev != NULL)
		t->tick_prev->tick_next = t->tick_next;
	else
		e->ticking = t->tick_next;
	if (t->tick_next != NULL)
		t->tick_next->tick_prev = t->tick_prev;
	t->tick_next = t->tick_prev = NULL;
	t->ticking = false;
	e->nticking--;
}

/* Out of the running set into the dying list, where it waits for its disk jobs. */
static void
session_torrent_removed(void *arg, struct torrent *t)
{
	struct engine *e = arg;
	session_tick_unlink(e, t);
	if (e->transport != NULL)
		transport_remove_torrent(e->transport, t->mi->info_hash);
	/* Gone for recently-active: listed among the removed from now on. */
	changes_unlink(&e->changes, &t->chg);
	if (t->counted)
		e->torrent_states[t->state]--;
	t->counted = false;
	changes_note_removed(&e->changes, t->id, dp_now_ms());
	session_unindex(e, t);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		e->torrents = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	else
		e->torrents_tail = t->prev;
	t->prev = NULL;
	t->next = e->dying;
	e->dying = t;
}

static void
session_torrent_freed(void *arg, struct torrent *t)
{
	struct engine *e = arg;
	for (struct torrent **pp = &e->dying; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	/* Its data is gone: a copy added meanwhile may touch the files now. */
	struct torrent *again = session_find_by_hash(e, t->mi->info_hash);
	if (again != NULL && again->data_gated && !session_dying_deletes(e, t->mi->info_hash))
		torrent_open_data_gate(again);
}

static void
session_torrent_bury_peer(void *arg, struct peer *p)
{
	session_bury_peer(arg, p);
}

/* A public torrent joins or leaves the DHT and LSD (torrent.c never asks for a private one). */
static void
session_torrent_discovery(void *arg, struct torrent *t, bool active)
{
	struct engine *e = arg;
	if (active && !t->mi->is_private)
		discovery_add(e->disc, t->mi->info_hash, t->id, t->mi->name, t);
	else
		discovery_remove(e->disc, t->mi->info_hash);
}

static void
session_torrent_dht_port(void *arg, const struct sockaddr *peer, uint16_t port)
{
	struct engine *e = arg;
	discovery_dht_port(e->disc, peer, port);
}

/* Peers from the DHT or LSD: known like a tracker's, dialled now while the torrent runs (owner
 * is the torrent; it left discovery before it could be freed). */
static void
session_discovered_peers(void *arg, void *owner, const struct krpc_peer *peers, size_t n)
{
	struct torrent *t = owner;
	(void)arg;
	for (size_t i = 0; i < n; i++)
		torrent_add_known_peer(t, (const struct sockaddr *)&peers[i].addr, peers[i].addrlen);
	if (torrent_is_active(t))
		torrent_connect_peers(t, dp_now_ms());
}

static void
session_discovery_start(struct engine *e, const struct dp_config *c)
{
	struct discovery_config dc = {
		.dht = c->dht,
		.lsd = c->lsd,
		.dht_bootstrap = (const char *const *)c->dht_bootstrap,
		.dht_bootstrap_count = c->dht_bootstrap_count,
		.listen_address = e->listen_address,
		.listen_port = e->listen_port,
	};
	e->disc = discovery_new(e->base, e->dns, e->disk, e->udp4, e->udp6, &dc,
	    session_discovered_peers, e);
}

/* After its check a torrent asks again: complete data takes a seed's slot, the rest a
 * download's (the policy decides; without one it runs). */
static bool
session_torrent_admit(void *arg, struct torrent *t)
{
	struct engine *e = arg;
	if (e->admit(e, t->id))
		return true;
	if (t->state == ENGINE_TORRENT_CHECKING)
		torrent_set_state(t, ENGINE_TORRENT_QUEUED);
	return false;
}

static const struct torrent_ops session_torrent_ops = {
	.emit = session_torrent_emit,
	.ban = session_torrent_ban,
	.refused = session_torrent_refused,
	.may_connect = session_torrent_may_connect,
	.disk_pressure = session_torrent_disk_pressure,
	.transferred = session_torrent_transferred,
	.random = session_torrent_random,
	.removed = session_torrent_removed,
	.freed = session_torrent_freed,
	.bury_peer = session_torrent_bury_peer,
	.discovery = session_torrent_discovery,
	.dht_port = session_torrent_dht_port,
	.admit = session_torrent_admit,
	.wake = session_torrent_wake,
};

/* ---- incoming peers until their handshake (peer_ops) ---- */

static void
session_pending_attach(void *owner, struct peer *p)
{
	struct engine *e = owner;
	p->prev = NULL;
	p->next = e->pending;
	if (e->pending)
		e->pending->prev = p;
	e->pending = p;
}

static void
session_pending_detach(void *owner, struct peer *p)
{
	struct engine *e = owner;
	if (p->prev)
		p->prev->next = p->next;
	else
		e->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->next = p->prev = NULL;
}

static void
session_pending_bury(void *owner, struct peer *p)
{
	session_bury_peer(owner, p);
}

/* Its handshake named info_hash: the torrent takes it, if it runs and has room. */
static int
session_pending_adopt(void *owner, struct peer *p, const uint8_t info_hash[20], char *why,
    size_t whylen)
{
	struct engine *e = owner;
	struct torrent *t = session_find_by_hash(e, info_hash);
	if (t == NULL || !torrent_is_active(t)) {
		char hex[41];
		dp_hex_encode(info_hash, 20, hex);
		snprintf(why, whylen, "no active torrent with info hash %s", hex);
		return -1;
	}
	if (e->connections > e->set.max_connections) {
		snprintf(why, whylen, "connection limit reached");
		return -1;
	}
	if (torrent_admit_peer(t, p, why, whylen) < 0)
		return -1;
	session_pending_detach(e, p);
	torrent_adopt_peer(t, p);
	return 0;
}

static const struct peer_ops session_pending_ops = {
	.attach = session_pending_attach,
	.detach = session_pending_detach,
	.bury = session_pending_bury,
	.adopt = session_pending_adopt,
};

/* ---- listener ---- */

static void
session_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
    void *arg)
{
	struct engine *e = arg;
	(void)l;
	task_cb_begin(e->listener_task);
	char a[64];
	sockaddr_format(sa, a, sizeof a);
	if (e->shutting_down) {
		evutil_closesocket(fd);
	} else if (session_is_banned(e, sa)) {
		log_debug("refused %s: banned", a);
		evutil_closesocket(fd);
	} else if (session_filtered(e, sa, true)) {
		log_debug("refused %s: in the blocklist", a);
		evutil_closesocket(fd);
	} else if (e->connections >= e->set.max_connections) {
		log_debug("refused %s: %d connections (the limit)", a, e->connections);
		evutil_closesocket(fd);
	} else {
		peer_accept(&e->peer_env, &session_pending_ops, e, fd, sa, (socklen_t)len);
		task_progress(e->listener_task, 0, 0);
	}
	task_idle(e->listener_task, DP_TASK_READ_WAIT, "listening on port %d", e->listen_port);
	task_cb_end(e->listener_task);
}

/* An incoming uTP connection: the same limits as an accepted TCP socket. */
static bool
session_utp_incoming(void *arg, struct bufferevent *raw, const struct sockaddr *sa,
    socklen_t len)
{
	struct engine *e = arg;
	char a[64];
	sockaddr_format(sa, a, sizeof a);
	if (e->shutting_down)
		return false;
	if (session_is_banned(e, sa)) {
		log_debug("refused uTP %s: banned", a);
		return false;
	}
	if (session_filtered(e, sa, true)) {
		log_debug("refused uTP %s: in the blocklist", a);
		return false;
	}
	if (e->connections >= e->set.max_connections) {
		log_debug("refused uTP %s: %d connections (the limit)", a, e->connections);
		return false;
	}
	peer_accept_stream(&e->peer_env, &session_pending_ops, e, raw, sa, len, true);
	return true;
}

static struct evconnlistener *
session_listen_on(struct engine *e, struct sockaddr *sa, socklen_t len, char *err, size_t errlen)
{
	char a[64];
	sockaddr_format(sa, a, sizeof a);
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;
	if (sa->sa_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	struct evconnlistener *l = evconnlistener_new_bind(e->base, session_accept_cb, e, flags, 128,
	    sa, (int)len);
	if (l == NULL) {
		snprintf(err, errlen, "can't listen on %s: %s", a,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return NULL;
	}
	/* Out of descriptors, a failing accept pauses the listener instead of spinning. */
	accept_backoff_watch(e->base, l, "listener");
	return l;
}

static int
session_listen(struct engine *e, const char *address, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	bool v6only_addr = false;
	if (address == NULL || *address == '\0')
		address = "0.0.0.0";
	if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)e->set.listen_port);
		len = sizeof *sin;
	} else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)e->set.listen_port);
		len = sizeof *sin6;
		v6only_addr = true;
	} else {
		snprintf(err, errlen, "bad listen address '%s'", address);
		return -1;
	}
	struct evconnlistener *l = session_listen_on(e, (struct sockaddr *)&ss, len, err, errlen);
	if (l == NULL)
		return -1;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&bound, &blen) < 0) {
		snprintf(err, errlen, "getsockname on the listener: %s", strerror(errno));
		accept_backoff_forget(l);
		evconnlistener_free(l);
		return -1;
	}
	e->listen_port = sockaddr_port((struct sockaddr *)&bound);
	if (v6only_addr) {
		e->listener6 = l;
		return 0;
	}
	e->listener4 = l;
	/* The same port on IPv6: loopback when we listen on loopback, else every address. */
	if (e->set.listen_ipv6) {
		memset(&ss, 0, sizeof ss);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)e->listen_port);
		if (strncmp(address, "127.", 4) == 0)
			sin6->sin6_addr = in6addr_loopback;
		else if (strcmp(address, "0.0.0.0") == 0)
			sin6->sin6_addr = in6addr_any;
		else
			return 0;
		char err6[256];
		e->listener6 = session_listen_on(e, (struct sockaddr *)&ss, sizeof *sin6, err6,
		    sizeof err6);
		if (e->listener6 == NULL)
			log_info("no IPv6 listener: %s", err6);
	}
	return 0;
}

static void
session_unlisten(struct engine *e)
{
	if (e->listener4) {
		accept_backoff_forget(e->listener4);
		evconnlistener_free(e->listener4);
	}
	if (e->listener6) {
		accept_backoff_forget(e->listener6);
		evconnlistener_free(e->listener6);
	}
	e->listener4 = e->listener6 = NULL;
	udp_socket_free(e->udp4);
	udp_socket_free(e->udp6);
	e->udp4 = e->udp6 = NULL;
}

/* Binds UDP on each TCP listener's address and port (uTP and the DHT share these sockets).
 * Returns -1 when a port the kernel picked for TCP is taken for UDP (the caller picks again);
 * any other failure leaves that family without UDP, said in the log. */
static int
session_udp_open(struct engine *e)
{
	struct evconnlistener *ls[2] = { e->listener4, e->listener6 };
	struct udp_socket **us[2] = { &e->udp4, &e->udp6 };
	for (int i = 0; i < 2; i++) {
		if (ls[i] == NULL)
			continue;
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		char err[256];
		if (getsockname(evconnlistener_get_fd(ls[i]), (struct sockaddr *)&ss, &len) < 0) {
			log_warn("no UDP beside the TCP listener: getsockname: %s", strerror(errno));
			continue;
		}
		*us[i] = udp_socket_new(e->base, (struct sockaddr *)&ss, len, err, sizeof err);
		if (*us[i] != NULL)
			continue;
		if (errno == EADDRINUSE && e->set.listen_port == 0)
			return -1;
		log_warn("%s: uTP and the DHT are off on this address", err);
	}
	return 0;
}

/* ---- timers ---- */

/* statvfs can block for long (a network filesystem, a hung mount): a worker asks. */
struct session_space_job {
	struct disk_job job;
	struct engine *e;
	char dir[sizeof ((struct session_settings *)0)->download_dir];
};

static void
session_free_space_done(struct disk_job *job, void *arg)
{
	struct session_space_job *sj = arg;
	struct engine *e = sj->e;
	e->free_space_job = NULL;
	/* The directory may have changed meanwhile: then the next tick asks again. */
	if (job->error == 0 && strcmp(sj->dir, e->set.download_dir) == 0)
		e->free_space = job->free_bytes;
	else if (job->error != 0)
		log_debug("%s", job->errmsg);
	free(sj);
}

static void
session_refresh_free_space(struct engine *e, uint64_t now)
{
	if (e->free_space_job != NULL || e->disk == NULL)
		return;
	if (e->free_space_at_ms != 0 && now - e->free_space_at_ms < 5000)
		return;
	e->free_space_at_ms = now;
	struct session_space_job *sj = xcalloc(1, sizeof *sj);
	sj->e = e;
	snprintf(sj->dir, sizeof sj->dir, "%s", e->set.download_dir);
	sj->job.op = DISK_OP_FREE_SPACE;
	sj->job.path = sj->dir;
	sj->job.done = session_free_space_done;
	sj->job.arg = sj;
	e->free_space_job = &sj->job;
	disk_pool_submit(e->disk, &sj->job);
}

static void
session_health_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	(void)fd;
	(void)what;
	task_cb_begin(e->timer_task);
	uint64_t now = dp_now_us();
	task_health_tick(e->health_expected_us, now);
	e->health_expected_us = now + SESSION_HEALTH_US;
	task_idle(e->timer_task, DP_TASK_TIMER_WAIT, "session timers (250 ms health, 100 ms tick)");
	task_cb_end(e->timer_task);
}

static void
session_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	(void)fd;
	(void)what;
	task_cb_begin(e->timer_task);
	uint64_t now = dp_now_ms();
	bw_bucket_refill(&e->down_bucket, now);
	bw_bucket_refill(&e->up_bucket, now);
	/* Only torrents with peers or work are visited (e->ticking; a torrent with a peer is never
	 * quiet): 10,000 idle seeds cost nothing. Each ticks once a second, a tenth of them (by
	 * id) per tick. Buckets without peers wait: the next refill adds what the time since
	 * allows. */
	unsigned phase = (unsigned)(++e->tick_count % (1000 / SESSION_TICK_MS));
	struct torrent *t = e->ticking;
	while (t != NULL) {
		struct torrent *next = t->tick_next;
		if (t->peers != NULL)
			torrent_refill(t, now);
		if ((unsigned)t->id % (1000 / SESSION_TICK_MS) == phase) {
			torrent_tick(t, now);
			if (torrent_quiet(t))
				session_tick_unlink(e, t);
		}
		t = next;
	}
	if (phase == 0) {
		struct peer *p = e->pending;
		while (p != NULL) {
			struct peer *next = p->next;
			peer_tick(p, now);
			p = next;
		}
		session_refresh_free_space(e, now);
		session_check_disk_pressure(e);
	}
	task_idle(e->timer_task, DP_TASK_TIMER_WAIT, "session timers (250 ms health, 100 ms tick: "
	    "%zu torrents with work)", e->nticking);
	task_cb_end(e->timer_task);
}

/* The BEP 10 extensions our peers speak, one entry each (peer_ext.h; local ids must differ):
 * lt_donthave or ut_holepunch would be one line here and their own file. */
static const struct peer_ext *const session_extensions[] = {
	&metadata_fetch_ext,         /* BEP 9 ut_metadata, local id 2 */
	&ut_pex_ext,                 /* BEP 11 ut_pex, local id 1 */
};

/* BEP 7: trackers hear from us over IPv6 too when we listen on IPv6 and peers can reach us
 * there: on loopback ::1 (loopback swarms), elsewhere when the host has an address beyond
 * link-local. */
static bool
session_ipv6_reachable(struct engine *e)
{
	if (e->listener6 == NULL)
		return false;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(evconnlistener_get_fd(e->listener6), (struct sockaddr *)&ss, &len) == 0 &&
	    sockaddr_is_loopback((struct sockaddr *)&ss))
		return true;
	return net_host_has_ipv6();
}

/* What torrents and peers may see of the session, once it is set up. */
static void
session_lend(struct engine *e)
{
	struct peer_env *pe = &e->peer_env;
	pe->base = e->base;
	memcpy(pe->peer_id, e->peer_id, 20);
	pe->listen_port = e->listen_port;
	pe->down_bucket = &e->down_bucket;
	pe->up_bucket = &e->up_bucket;
	pe->connections = &e->connections;
	pe->disk = e->disk;
	pe->disk_write_bound = &e->set.disk_write_bound;
	pe->disk_gate = &e->disk_gate;
	pe->exts = session_extensions;
	pe->nexts = DP_ARRAY_LEN(session_extensions);
	pe->transport = e->transport;
	pe->dht_port = discovery_dht_port_number(e->disc);
	struct torrent_env *te = &e->torrent_env;
	te->base = e->base;
	te->dns = e->dns;
	te->disk = e->disk;
	te->set = &e->set;
	te->peers = pe;
	te->ops = &session_torrent_ops;
	te->arg = e;
	te->tracker_families = (e->listener4 != NULL ? ANNOUNCE_IPV4 : 0) |
	    (session_ipv6_reachable(e) ? ANNOUNCE_IPV6 : 0);
	te->changes = &e->changes;
	te->state_counts = e->torrent_states;
	te->busy = &e->torrent_busy;
	te->tracker_hosts = e->tracker_hosts;
	te->ssl_ctx = e->ssl_ctx;
}

int
session_init(struct engine *e, struct event_base *base, const struct session_settings *set,
    const struct dp_config *cfg,
    char *err, size_t errlen)
{
	e->base = base;
	e->set = *set;
	changes_init(&e->changes);
	e->tracker_hosts = tracker_hosts_new();
	peer_id_generate(e->peer_id);
	if (RAND_bytes((unsigned char *)&e->rng, sizeof e->rng) != 1 || e->rng == 0)
		e->rng = (uint32_t)dp_now_us() | 1;
	uint64_t now = dp_now_ms();
	bw_bucket_init(&e->down_bucket, set->down_limit, now);
	bw_bucket_init(&e->up_bucket, set->up_limit, now);
	bw_meter_init(&e->down_meter);
	bw_meter_init(&e->up_meter);
	e->timer_task = task_new(DP_TASK_KIND_TIMER, 0, "session timers");
	e->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (e->dns == NULL) {
		/* No resolv.conf: numeric trackers still work. */
		log_warn("no DNS resolver configured; tracker host names will fail");
		e->dns = evdns_base_new(base, 0);
	}
	/* Storage tells the seeder's kept mappings (peer_splice.c) of each file it lets go of: a
	 * mapping would keep a deleted file's blocks, and storage sees every path that releases. */
	storage_set_release_hook(peer_splice_forget_file);
	int threads = set->disk_threads > 0 ? set->disk_threads : dp_cpu_count();
	e->disk = disk_pool_new(base, threads);
	if (e->disk == NULL) {
		snprintf(err, errlen, "can't start %d disk threads", threads);
		return -1;
	}
	/* The client side of TLS for HTTPS trackers and web seeds: the system's trust store
	 * (OpenSSL's default paths, SSL_CERT_FILE and SSL_CERT_DIR included), loaded on the pool
	 * when the first HTTPS connection needs it; each connection checks the name. */
	e->ssl_ctx = tls_trust_ctx_new(base, e->disk);
	e->reap_event = event_new(base, -1, 0, session_reap_cb, e);
	e->disk_wake_event = event_new(base, -1, 0, session_disk_wake_cb, e);
	e->health_timer = event_new(base, -1, EV_PERSIST, session_health_cb, e);
	e->tick_timer = event_new(base, -1, EV_PERSIST, session_tick_cb, e);
	if (e->reap_event == NULL || e->disk_wake_event == NULL || e->health_timer == NULL ||
	    e->tick_timer == NULL) {
		snprintf(err, errlen, "can't create the session's timers");
		return -1;
	}
	struct timeval hv = { 0, SESSION_HEALTH_US }, tv = { 0, SESSION_TICK_MS * 1000 };
	e->health_expected_us = dp_now_us() + SESSION_HEALTH_US;
	event_add(e->health_timer, &hv);
	event_add(e->tick_timer, &tv);
	task_idle(e->timer_task, DP_TASK_TIMER_WAIT, "session timers (250 ms health, 100 ms tick)");
	if (set->listen_port >= 0) {
		/* With port 0 the kernel picks a TCP port whose UDP number may be taken: pick again. */
		for (int attempt = 0;; attempt++) {
			if (session_listen(e, e->listen_address, err, errlen) < 0)
				return -1;
			if (session_udp_open(e) == 0)
				break;
			session_unlisten(e);
			if (attempt == 16) {
				snprintf(err, errlen, "no port free for both TCP and UDP after %d tries",
				    attempt + 1);
				return -1;
			}
		}
		e->listener_task = task_new(DP_TASK_KIND_LISTENER, 0, "listener port %d",
		    e->listen_port);
		task_idle(e->listener_task, DP_TASK_READ_WAIT, "listening on port %d", e->listen_port);
		log_info("listening on port %d", e->listen_port);
		session_discovery_start(e, cfg);
	}
	struct transport_settings ts = { .encryption = (enum dp_encryption)set->encryption,
		.utp = set->utp };
	e->transport = transport_new(base, e->udp4, e->udp6, &ts, session_utp_incoming, e);
	session_lend(e);
	return 0;
}

void
session_cleanup(struct engine *e)
{
	/* The DHT saves its table on the pool and leaves the UDP sockets before they close. */
	discovery_free(e->disc);
	e->disc = NULL;
	e->peer_env.dht_port = 0;
	/* Completions still reference their torrents: drain the pool first. A certificate load
	 * that completes in the drain answers no wait: the fetches waiting go with their torrents. */
	tls_trust_ctx_stop(e->ssl_ctx);
	if (e->disk != NULL)
		disk_pool_free(e->disk);
	e->disk = NULL;
	free(e->by_id);
	e->by_id = NULL;
	e->nby_id = e->cap_by_id = 0;
	while (e->torrents != NULL) {
		struct torrent *t = e->torrents;
		e->torrents = t->next;
		torrent_free(t);
	}
	e->torrents_tail = NULL;
	dp_idmap_free(&e->torrents_by_hash);
	while (e->dying != NULL) {
		struct torrent *t = e->dying;
		e->dying = t->next;
		torrent_free(t);
	}
	changes_free(&e->changes);
	tracker_hosts_free(e->tracker_hosts);
	e->tracker_hosts = NULL;
	tls_trust_ctx_free(e->ssl_ctx);    /* every fetch went with its torrent */
	e->ssl_ctx = NULL;
	e->torrent_env.ssl_ctx = NULL;
	while (e->pending != NULL)
		peer_close(e->pending, "shutting down");
	session_reap_cb(-1, 0, e);
	/* No peer is served any more: the PIECE header pipe is closed with them. */
	peer_splice_release();
	/* Its uTP connections live on the UDP sockets: it goes first. */
	transport_free(e->transport);
	e->transport = NULL;
	e->peer_env.transport = NULL;
	session_unlisten(e);
	if (e->listener_task)
		task_done(e->listener_task, "closed");
	task_release(&e->listener_task);
	if (e->reap_event)
		event_free(e->reap_event);
	if (e->disk_wake_event)
		event_free(e->disk_wake_event);
	if (e->health_timer)
		event_free(e->health_timer);
	if (e->tick_timer)
		event_free(e->tick_timer);
	if (e->shutdown_timer)
		event_free(e->shutdown_timer);
	if (e->dns)
		evdns_base_free(e->dns, 0);
	if (e->timer_task)
		task_done(e->timer_task, "stopped");
	task_release(&e->timer_task);
	free(e->bans);
	free(e->listen_address);
}
