/* engine_state.h: the engine's state (struct engine): the loop, the disk pool, settings, the
 * listeners, the torrent set, global limits, bans and shutdown. The public API (engine*.c) and
 * the session under it (session*.c) both work on it; it includes nothing above the session, so
 * the session never includes the API's headers. */
#ifndef DP_ENGINE_INTERNAL
#error "engine_state.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_ENGINE_STATE_H
#define DP_ENGINE_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bandwidth.h"
#include "changes.h"
#include "engine_types.h"
#include "idmap.h"
#include "peer.h"
#include "session_settings.h"
#include "torrent.h"

struct event;
struct evconnlistener;
struct evdns_base;
struct disk_pool;
struct disk_job;
struct torrent;
struct peer;
struct engine_policy;
struct udp_socket;
struct transport;
struct discovery;

struct ban {
	struct sockaddr_storage addr; /* port 0 = every port of the address */
};

struct engine {
	struct event_base *base;
	struct evdns_base *dns;
	struct disk_pool *disk;
	struct session_settings set;
	uint8_t peer_id[20];
	uint32_t rng;
	int64_t started_s;            /* wall clock at engine_new: this run's seconds active */
	uint64_t files_added;         /* this run's (engine_totals) */
	struct engine_totals totals_before;   /* earlier runs' (engine_policy_set_totals) */

	struct evconnlistener *listener4, *listener6;
	char *listen_address;         /* numeric, NULL = every IPv4 address */
	int listen_port;
	struct dp_task *listener_task;
	/* The UDP sockets on the listener's port number (uTP and the DHT share them); NULL when
	 * that family has no TCP listener or the port's UDP number could not be bound. */
	struct udp_socket *udp4, *udp6;
	struct portmap *portmap;      /* port_mapping = true: UPnP/NAT-PMP for listen_port */
	struct transport *transport;  /* how peer connections are made (TCP/uTP, MSE) */
	struct discovery *disc;       /* the DHT and LSD (discovery.h); NULL: both off */
	struct dp_task *timer_task;
	struct event *health_timer;   /* 250 ms: loop lag */
	uint64_t health_expected_us;
	struct event *tick_timer;     /* 100 ms: rate buckets, connects, timeouts, choking */
	uint64_t tick_count;
	/* The torrents the tick visits: those with peers or work (torrent_quiet false); a quiet
	 * one leaves after its tick and comes back when woken (torrent_ops.wake). */
	struct torrent *ticking;
	size_t nticking;
	struct event *reap_event;     /* frees closed peers outside their callbacks */

	struct torrent *torrents, *torrents_tail;
	/* the same torrents by id (ascending: ids only grow), for O(log n) lookups by id */
	struct torrent **by_id;
	size_t nby_id, cap_by_id;
	struct dp_idmap torrents_by_hash;    /* info-hash key (v1; a hybrid's v2 too) -> torrent */
	struct change_list changes;   /* torrents by last change, for recently-active */
	size_t torrent_states[ENGINE_TORRENT_STATE_COUNT];   /* torrents per state, kept */
	struct tracker_hosts *tracker_hosts;  /* announce outcomes per tracker (/metrics) */
	struct ssl_ctx_st *ssl_ctx;   /* TLS for HTTPS trackers and web seeds; NULL: none */
	struct alt_speed_sched *alt_speed;    /* the alternative limits' schedule */
	struct torrent *dying;        /* removed, waiting for disk jobs and stopped announces */
	int next_torrent_id;
	int reserved_ids_from, reserved_ids_to;   /* kept for a restart's torrents (queue order) */

	struct peer *pending;         /* incoming, handshake not yet received */
	struct peer *graveyard;       /* closed, freed by reap_event */
	int connections;              /* every open peer socket */
	struct peer_env peer_env;     /* what peers are lent (session_init fills it) */
	struct torrent_env torrent_env;   /* what torrents are lent */
	struct torrent_busy torrent_busy; /* what the shutdown waits for (torrent.c keeps it) */

	struct bw_bucket down_bucket, up_bucket;
	struct bw_meter down_meter, up_meter;
	uint64_t downloaded, uploaded;
	/* Pending writes over the bound: peers stop reading at their next read; the ones held are
	 * woken in slices (disk_wake_event) once the pool drains. */
	struct peer_disk_gate disk_gate;
	struct event *disk_wake_event;

	struct ban *bans;
	size_t ban_count;
	struct engine_blocklist *blocklist;   /* the IP filter's loading (engine_blocklist.c) */
	const struct blocklist *ip_filter;    /* the ranges in force; NULL: none */
	uint64_t filtered_in, filtered_out;   /* connections and dials it refused */

	uint64_t free_space;
	uint64_t free_space_at_ms;
	struct disk_job *free_space_job;   /* statvfs in flight on the disk pool */

	/* engine.c's: how the session reaches what sits above it. emit: an event for the policy
	 * (at once) and the front end (from the loop); admit: may this torrent run now (the
	 * policy's queue; true without a policy). */
	void (*emit)(struct engine *e, int torrent_id, enum engine_event ev);
	bool (*admit)(struct engine *e, int torrent_id);
	void (*event_cb)(struct engine *, int, enum engine_event, void *);
	void *event_arg;

	const struct engine_policy *policy; /* the registered policy (engine_policy.h), or NULL */
	void *policy_arg;
	struct engine_settings *settings; /* live settings (engine_settings.c); set fills from it */

	/* shutdown */
	bool shutting_down, shutdown_done;
	int stops_pending;
	struct event *shutdown_timer;
	uint64_t shutdown_deadline_ms;
	void (*shutdown_cb)(void *);
	void *shutdown_arg;
};

#endif
