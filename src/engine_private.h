/* engine_private.h: the engine's state (struct engine): the loop, the disk pool, settings, the
 * listeners, the torrent set, global limits, bans and shutdown. Only engine files include it. */
#ifndef DP_ENGINE_PRIVATE_H
#define DP_ENGINE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bandwidth.h"
#include "engine.h"
#include "session.h"

struct event;
struct evconnlistener;
struct evdns_base;
struct disk_pool;
struct disk_job;
struct torrent;
struct peer;
struct store;
struct udp_socket;

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
	struct dp_task *timer_task;
	struct event *health_timer;   /* 250 ms: loop lag */
	uint64_t health_expected_us;
	struct event *tick_timer;     /* 100 ms: rate buckets, connects, timeouts, choking */
	uint64_t tick_count;
	struct event *reap_event;     /* frees closed peers outside their callbacks */

	struct torrent *torrents, *torrents_tail;
	struct torrent *dying;        /* removed, waiting for disk jobs and stopped announces */
	int next_torrent_id;

	struct peer *pending;         /* incoming, handshake not yet received */
	struct peer *graveyard;       /* closed, freed by reap_event */
	int connections;              /* every open peer socket */

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

	struct store *store;           /* the session directory (session_store.c), or NULL */
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
