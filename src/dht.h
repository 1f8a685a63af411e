/* dht.h: the Mainline DHT node (BEP 5; BEP 32 IPv6 with its own table; BEP 42 node IDs) on the
 * engine's loop: it answers KRPC queries on the shared UDP sockets of the peer port, keeps the
 * routing tables, bootstraps, looks up and announces the info-hashes its owner registers, and
 * reports the peers it finds upward through a callback. Loop thread only. */
#ifndef DP_ENGINE_INTERNAL
#error "dht.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DHT_H
#define DP_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "krpc.h"

struct event_base;
struct evdns_base;
struct disk_pool;
struct udp_socket;
struct dht;

/* Without a bootstrap list of its own the node starts from these. */
#define DHT_BUILTIN_BOOTSTRAP \
	"router.bittorrent.com:6881", "router.utorrent.com:6881", "dht.transmissionbt.com:6881", \
	"dht.libtorrent.org:25401"

#define DHT_ANNOUNCE_INTERVAL_MS (15u * 60u * 1000u)   /* each registered info-hash */
#define DHT_QUERY_TIMEOUT_MS 4000u
#define DHT_MAX_SEARCHES 16            /* lookups running at once; more wait their turn */
#define DHT_MAX_RPCS 512               /* queries in flight at once */
/* Our outgoing queries: a token bucket (queries per second, burst). */
#define DHT_OUT_RATE 100u
#define DHT_OUT_BURST 100u
/* Incoming queries answered: all sources together, and each source (an IP; an IP and port for
 * local addresses, where several nodes share one host). Beyond them queries are dropped. */
#define DHT_IN_RATE 2000u
#define DHT_IN_SOURCE_RATE 20u
#define DHT_IN_SOURCE_BURST 40u
/* No amplification: an answer is at most this many times the size of the query it answers
 * (values and nodes are trimmed to fit), so a forged source address gains a victim little. */
#define DHT_AMP_FACTOR 4u

struct dht_callbacks {
	/* Peers a lookup found for a registered info-hash (several calls per lookup); owner is
	 * what dht_announce_add was given. */
	void (*got_peers)(void *arg, void *owner, const uint8_t info_hash[DHT_ID_LEN],
	    const struct krpc_peer *peers, size_t n);
	void *arg;
};

struct dht_config {
	const char *const *bootstrap;  /* "host:port" / "[v6]:port" entries */
	size_t nbootstrap;             /* 0: DHT_BUILTIN_BOOTSTRAP */
	uint16_t peer_port;            /* announced to other nodes (our TCP port) */
	/* The sockets are bound to a loopback address: only loopback nodes can be reached, so
	 * other bootstrap entries are skipped (no DNS lookups) and no other address is sent to. */
	bool loopback_only;
};

/* A node on u4 and/or u6 (either may be NULL, not both). It claims the datagrams that start
 * with 'd' (bencoded dictionaries; uTP's never do). Returns NULL with err when it has no socket. */
struct dht *dht_new(struct event_base *base, struct evdns_base *dns, struct disk_pool *pool,
    struct udp_socket *u4, struct udp_socket *u6, const struct dht_config *cfg,
    const struct dht_callbacks *cb, char *err, size_t errlen);
/* Writes the table one last time (on the pool, with nothing left pointing at the node), then
 * frees everything. Call before the sockets and the pool are freed. */
void dht_free(struct dht *d);
/* Loads the saved table from path (on the pool) and from then on saves it there every few
 * minutes and at dht_free. Saved nodes join the bootstrap. */
void dht_set_state_file(struct dht *d, const char *path);
void dht_set_peer_port(struct dht *d, uint16_t port);

/* Registers an info-hash: looked up and announced now and every DHT_ANNOUNCE_INTERVAL_MS.
 * torrent_id and name label its tasks; owner comes back with the peers found (it must stay
 * valid until dht_announce_remove). Registering twice is harmless. */
void dht_announce_add(struct dht *d, const uint8_t info_hash[DHT_ID_LEN], int torrent_id,
    const char *name, void *owner);
/* Stops looking up and announcing it (a lookup in flight is abandoned). */
void dht_announce_remove(struct dht *d, const uint8_t info_hash[DHT_ID_LEN]);
/* Looks it up again now (the user asked, or the torrent needs peers), at most once a minute. */
void dht_announce_now(struct dht *d, const uint8_t info_hash[DHT_ID_LEN]);

/* A peer told us its DHT port (BEP 5 PORT message): it is pinged and, if it answers, added. */
void dht_add_node(struct dht *d, const struct sockaddr *addr, socklen_t addrlen);

struct dht_torrent_info {           /* the DHT row of a torrent's trackers tab */
	bool registered;
	bool searching;
	size_t peers_last;             /* peers the last (or running) lookup found */
	size_t nodes_last;             /* nodes that answered it */
	size_t announced_last;         /* nodes that accepted our announce */
	int64_t last_lookup;           /* wall seconds, 0 = never */
	int64_t next_lookup;
};
bool dht_torrent_info(const struct dht *d, const uint8_t info_hash[DHT_ID_LEN],
    struct dht_torrent_info *out);

struct dht_stats {
	size_t nodes, good, questionable;      /* both tables */
	size_t nodes6;                         /* of which in the IPv6 table */
	size_t searches, registered;
	size_t stored_hashes, stored_peers;
	double in_per_s, out_per_s;            /* queries, over the last second */
	uint64_t queries_in, answers_out, queries_out, replies_in, timeouts;
	uint64_t malformed, dropped_rate, unexpected;
	uint8_t id[DHT_ID_LEN];
};
void dht_get_stats(const struct dht *d, struct dht_stats *out);

#endif
