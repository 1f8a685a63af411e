/* session.h: the engine's internal session: settings, the listening sockets, the torrent set,
 * global limits and rate buckets, timers, bans, and the connections not yet tied to a torrent. */
#ifndef DP_SESSION_H
#define DP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bandwidth.h"
#include "engine.h"

struct event;
struct evconnlistener;
struct evdns_base;
struct disk_pool;
struct torrent;
struct peer;
struct store;
struct udp_socket;

struct session_settings {
	char download_dir[1024];
	int listen_port;              /* 0: an ephemeral port; -1: do not listen */
	bool listen_ipv6;
	int max_connections;          /* all torrents */
	int max_peers_per_torrent;
	int upload_slots;             /* per torrent */
	uint64_t down_limit, up_limit;/* bytes/s, 0 unlimited */
	int disk_threads;
	uint64_t disk_write_bound;    /* pending write bytes before peers stop reading */
	int max_open_files;
	int piece_cache;              /* pieces kept in each torrent's read cache */
	int numwant;
};

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

	/* shutdown */
	bool shutting_down, shutdown_done;
	int stops_pending;
	struct event *shutdown_timer;
	uint64_t shutdown_deadline_ms;
	void (*shutdown_cb)(void *);
	void *shutdown_arg;
};

int session_init(struct engine *e, struct event_base *base, const struct session_settings *set,
    char *err, size_t errlen);
void session_cleanup(struct engine *e);
void session_default_settings(struct session_settings *set);

struct torrent *session_find_torrent(struct engine *e, int id);
struct torrent *session_find_by_hash(struct engine *e, const uint8_t info_hash[20]);
void session_emit(struct engine *e, int torrent_id, enum engine_event ev);

bool session_is_banned(struct engine *e, const struct sockaddr *sa);
void session_ban(struct engine *e, const struct sockaddr *sa, const char *why);
/* True when sa is our own listening address (do not connect to ourselves). */
bool session_is_self(struct engine *e, const struct sockaddr *sa);
/* Schedules a closed peer for freeing outside the current callback. */
void session_bury_peer(struct engine *e, struct peer *p);
/* The disk pool drained below the bound: let throttled peers read again. */
void session_check_disk_pressure(struct engine *e);
uint32_t session_random(struct engine *e);

/* "127.0.0.1:6881" or "[::1]:6881". */
void sockaddr_format(const struct sockaddr *sa, char *out, size_t outlen);
/* Parses ADDR:PORT (IPv4 or [IPv6]); false on a bad address or port. */
bool sockaddr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len);
bool sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b, bool with_port);
bool sockaddr_is_loopback(const struct sockaddr *sa);

#endif
