/* discovery.h: peer sources beside trackers, as one piece for the session: the DHT node (dht.h)
 * on the UDP sockets of the peer port and local service discovery (lsd.h), set up as the
 * settings say. The session registers public torrents while they run (never private ones,
 * BEP 27) and hears of the peers found through a callback; this knows no torrent or session. */
#ifndef DP_ENGINE_INTERNAL
#error "discovery.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DISCOVERY_H
#define DP_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dht.h"
#include "krpc.h"

struct event_base;
struct evdns_base;
struct disk_pool;
struct udp_socket;
struct discovery;

struct discovery_config {
	bool dht, lsd;
	const char *const *dht_bootstrap;   /* none: the DHT's built-in list */
	size_t dht_bootstrap_count;
	const char *listen_address;         /* numeric; NULL: every IPv4 address */
	int listen_port;                    /* the peer port (TCP, and UDP for the DHT) */
};

/* Peers the DHT or LSD found for a registered info-hash; owner is what discovery_add got. */
typedef void (*discovery_peers_fn)(void *arg, void *owner, const struct krpc_peer *peers,
    size_t n);

/* The DHT on u4/u6 and LSD as cfg says: LSD stays off while listening on a loopback address
 * (nobody else could reach the address it would announce) and the DHT then reaches loopback
 * nodes only. What is off, and why, is logged. NULL when both are off. */
struct discovery *discovery_new(struct event_base *base, struct evdns_base *dns,
    struct disk_pool *pool, struct udp_socket *u4, struct udp_socket *u6,
    const struct discovery_config *cfg, discovery_peers_fn fn, void *arg);
/* Before the UDP sockets and the disk pool go: the DHT's table is saved one last time. */
void discovery_free(struct discovery *d);
/* The session directory: the DHT keeps its node table there (dht.dat) for the next start. */
void discovery_set_session_dir(struct discovery *d, const char *dir);

/* A public torrent looks for peers (owner comes back with them) / stops. Idempotent. */
void discovery_add(struct discovery *d, const uint8_t info_hash[20], int torrent_id,
    const char *name, void *owner);
void discovery_remove(struct discovery *d, const uint8_t info_hash[20]);
/* The user asked for an announce now. */
void discovery_reannounce(struct discovery *d, const uint8_t info_hash[20]);
/* A peer told us its DHT port (BEP 5 PORT). */
void discovery_dht_port(struct discovery *d, const struct sockaddr *peer, uint16_t port);

/* The DHT's UDP port for the PORT message, 0 when the DHT is off. */
int discovery_dht_port_number(const struct discovery *d);
/* Nodes in the DHT's routing tables; -1 when the DHT is off. */
int discovery_dht_nodes(const struct discovery *d);
bool discovery_lsd_on(const struct discovery *d);
/* How the info-hash fares in the DHT; false when it is not there. */
bool discovery_dht_info(const struct discovery *d, const uint8_t info_hash[20],
    struct dht_torrent_info *out);

#endif
