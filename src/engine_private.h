/* engine_private.h: the engine's state (struct engine): the loop, the disk pool, settings, the
 * listeners, the torrent set, global limits, bans and shutdown. Only engine files include it. */
#ifndef DP_ENGINE_INTERNAL
#error "engine_private.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_ENGINE_PRIVATE_H
#define DP_ENGINE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bandwidth.h"
#include "changes.h"
#include "idmap.h"
#include "engine.h"
#include "peer.h"
#include "session.h"
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

	struct peer *pending;         /* incoming, handshake not yet received */
	struct peer *graveyard;       /* closed, freed by reap_event */
	int connections;              /* every open peer socket */
	struct peer_env peer_env;     /* what peers are lent (session_init fills it) */
	struct torrent_env torrent_env;   /* what torrents are lent */

	struct bw_bucket down_bucket, up_bucket;
	struct bw_meter down_meter, up_meter;
	uint64_t downloaded, uploaded;
	bool disk_throttled;          /* pending writes over the bound: peers stopped reading */

	struct ban *bans;
	size_t ban_count;

	uint64_t free_space;
	uint64_t free_space_at_ms;
	struct disk_job *free_space_job;   /* statvfs in flight on the disk pool */

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

/*
 * engine_settings.c: the settings the engine runs with, one struct dp_config described by
 * settings_table.c; every change (SIGHUP, the RPC, the UI, settings.conf) goes through one
 * commit that runs each changed key's way of applying. Declared here, with the state, because
 * only engine files call them (engine_new, the session directory).
 */
struct dp_config;
struct settings;

/* engine_new: copies cfg (NULL: the table's defaults) and fills what session_init takes.
 * 0, or -1 with err for a value the engine cannot hold. */
int engine_settings_init(struct engine *e, const struct dp_config *cfg,
    struct session_settings *set, char *err, size_t errlen);
void engine_settings_free(struct engine *e);

/* What the engine runs with now; valid until the next change. */
const struct dp_config *engine_settings_live(const struct engine *e);
/* The run-time changes that win over the configuration (settings.conf holds them). */
const struct settings *engine_settings_kept(const struct engine *e);
/*
 * A run-time change kept over the configuration: key must be a SETTING_REMOTE key. Applies it,
 * records it in engine_settings_kept() and, with a session directory, has it saved. *changed
 * (may be NULL) says whether the kept value differs from before. 0 or -1 with err.
 */
int engine_settings_keep(struct engine *e, const char *key, const char *value, bool *changed,
    char *err, size_t errlen);
/* Every live key of cfg except the kept ones (SIGHUP, opening the session directory); keys
 * that only a restart applies are named in the log when they differ. */
void engine_settings_reconfigure(struct engine *e, const struct dp_config *cfg);
/* The queue and seeding limits in effect (a switched-off limit is 0, "none"). */
void engine_settings_queue_limits(const struct dp_config *c, struct engine_queue_limits *out);

/* engine_trackers.c: a list kept in the resume file put back (NULL: the metainfo's stays; one
 * the announcer cannot use is logged and left), and the list to keep (NULL unless the user
 * changed it; the caller frees it). */
struct torrent;
void engine_trackers_restore(struct torrent *t, const char *text);
char *engine_trackers_kept(const struct torrent *t);

#endif
