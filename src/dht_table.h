/* dht_table.h: the DHT routing table of one address family (BEP 5, BEP 32 keeps IPv6 apart):
 * k-buckets that split around our own ID, a replacement cache per bucket, good / questionable /
 * bad nodes, and which bucket needs a refresh. Pure: the time comes in as an argument. */
#ifndef DP_ENGINE_INTERNAL
#error "dht_table.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DHT_TABLE_H
#define DP_DHT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dht_id.h"
#include "krpc.h"

#define DHT_K 8                          /* nodes per bucket */
#define DHT_REPLACEMENTS 8               /* candidates waiting per bucket */
#define DHT_MAX_BUCKETS 160
#define DHT_NODE_MAX_FAILS 3             /* unanswered queries in a row that make a node bad */
#define DHT_GOOD_MS (15u * 60u * 1000u)  /* BEP 5: activity within 15 min keeps a node good */
#define DHT_REFRESH_MS (15u * 60u * 1000u)   /* a bucket unchanged for this long is refreshed */
#define DHT_PING_AGAIN_MS (60u * 1000u)  /* a questionable node is pinged at most this often */

enum dht_node_state { DHT_NODE_GOOD, DHT_NODE_QUESTIONABLE, DHT_NODE_BAD };

struct dht_node {
	uint8_t id[DHT_ID_LEN];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t last_reply_ms;          /* it answered one of our queries; 0 = never */
	uint64_t last_query_ms;          /* it queried us */
	uint64_t pinged_ms;              /* our last ping to it (questionable nodes) */
	int fails;                       /* our queries it left unanswered, in a row */
	bool secure;                     /* its ID is what BEP 42 allows for its address */
};

struct dht_bucket {
	struct dht_node nodes[DHT_K];
	int n;
	struct dht_node repl[DHT_REPLACEMENTS];
	int nrepl;
	uint64_t changed_ms;             /* a node was added or answered; refreshes wait on it */
};

struct dht_table {
	uint8_t own[DHT_ID_LEN];
	int family;                      /* AF_INET or AF_INET6 */
	struct dht_bucket *buckets;      /* bucket i: IDs sharing exactly i bits with own; the last
	                                    one every ID sharing at least that many */
	int nbuckets;
	uint64_t created_ms;
};

void dht_table_init(struct dht_table *t, const uint8_t own[DHT_ID_LEN], int family,
    uint64_t now_ms);
void dht_table_free(struct dht_table *t);
/* Our ID changed (BEP 42): every node is placed again around the new one. */
void dht_table_set_own(struct dht_table *t, const uint8_t own[DHT_ID_LEN], uint64_t now_ms);

enum dht_node_state dht_node_state(const struct dht_node *n, uint64_t now_ms);

/* What dht_table_heard asks its caller to do. */
struct dht_table_action {
	bool ping;                       /* ping this questionable node: it may be replaced */
	struct dht_node node;
};

/*
 * A node answered one of our queries (replied) or queried us. An answering node is added when
 * its bucket has room (splitting the bucket of our own ID if needed) or takes a bad node's
 * place; otherwise it waits in the replacement cache and, when the bucket has a questionable
 * node not pinged lately, *act asks for a ping to it. A node that only queried us is not added
 * (it has not shown that it answers): the result says whether it would be, so the caller pings
 * it first. A known ID at another address keeps the address we had. Returns true when the
 * node is (or would be) in the table.
 */
bool dht_table_heard(struct dht_table *t, const uint8_t id[DHT_ID_LEN],
    const struct sockaddr *addr, socklen_t addrlen, bool replied, uint64_t now_ms,
    struct dht_table_action *act);
/* Our query to this node went unanswered: one more failure; a bad node gives its place to the
 * best replacement (BEP 42 compliant ones first, then the most recently heard). */
void dht_table_failed(struct dht_table *t, const uint8_t id[DHT_ID_LEN],
    const struct sockaddr *addr, uint64_t now_ms);
struct dht_node *dht_table_find(struct dht_table *t, const uint8_t id[DHT_ID_LEN]);

/* Up to max nodes closest to target that are not bad, closest first. Returns the count. */
size_t dht_table_closest(const struct dht_table *t, const uint8_t target[DHT_ID_LEN],
    struct krpc_node *out, size_t max, uint64_t now_ms);
/* A bucket not changed for DHT_REFRESH_MS: fills target with a random ID in its range, marks it
 * as changed now (so it is refreshed once), returns true. rnd: 20 random bytes. */
bool dht_table_refresh_due(struct dht_table *t, uint64_t now_ms, const uint8_t rnd[DHT_ID_LEN],
    uint8_t target[DHT_ID_LEN]);
/* A questionable node not pinged within DHT_PING_AGAIN_MS, marked as pinged now; or false. */
bool dht_table_ping_due(struct dht_table *t, uint64_t now_ms, struct dht_node *out);

struct dht_table_counts {
	size_t good, questionable, bad, replacements, buckets;
};
void dht_table_count(const struct dht_table *t, uint64_t now_ms, struct dht_table_counts *out);
/* Every node in the table (for saving), good ones first; returns the count (<= max). */
size_t dht_table_export(const struct dht_table *t, struct krpc_node *out, size_t max,
    uint64_t now_ms);

#endif
