/* dht_private.h: what the DHT node's files (dht.c: datagrams, answers, rate limits, the node's
 * task; dht_search.c: lookups and the announce schedule; dht_boot.c: bootstrap and the saved
 * table) share. Nothing outside src/dht*.c includes it. */
#ifndef DP_ENGINE_INTERNAL
#error "dht_private.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DHT_PRIVATE_H
#define DP_DHT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dht.h"
#include "dht_lookup.h"
#include "dht_table.h"
#include "dht_token.h"

struct dp_task;
struct event;
struct dht_search;
struct dht_entry;
struct dht_resolve;
struct dht_load_job;

#define DHT_TICK_MS 100u
#define DHT_SAVE_EVERY_MS (10u * 60u * 1000u)
#define DHT_MAX_BOOT 32                  /* bootstrap addresses kept */
#define DHT_SOURCES 1024                 /* per-source rate limit slots (hashed) */
#define DHT_VOTES 4                      /* external address candidates (BEP 42) */
#define DHT_VOTES_NEEDED 5               /* answers agreeing on it before we trust it */

/* One address family: its socket and its routing table (BEP 32 keeps them apart). */
struct dht_family {
	struct dht *d;
	int af;                          /* AF_INET or AF_INET6 */
	struct udp_socket *u;            /* NULL: this family is off */
	struct dht_table table;
	struct dht_search *nodes_search; /* the bootstrap or refresh lookup running, or NULL */
	uint64_t boot_next_ms;           /* next bootstrap attempt while the table is short */
	unsigned boot_backoff_ms;
	size_t boot_good;                /* good nodes when the last bootstrap started */
};

/* A query of ours waiting for its answer. */
struct dht_rpc {
	bool used;
	uint16_t gen;                    /* with the slot index, the transaction id */
	struct dht_family *fam;
	struct sockaddr_storage to;
	socklen_t tolen;
	uint8_t id[DHT_ID_LEN];
	bool id_known;
	enum krpc_method method;
	uint64_t sent_ms;
	struct dht_search *search;       /* the lookup it serves, or NULL (pings) */
	int cand;                        /* its candidate slot in the lookup */
	struct dht_rpc *prev, *next;     /* in flight, oldest first (timeouts pop the head) */
};

struct dht_source {                  /* rate limit state of one source (hashed slot) */
	uint32_t key;
	double tokens;
	uint64_t at_ms;
	uint64_t pinged_ms;              /* when we last pinged it to learn whether it answers */
};

struct dht_vote {
	struct sockaddr_storage addr;    /* port 0 */
	unsigned count;
};

struct dht {
	struct event_base *base;
	struct evdns_base *dns;
	struct disk_pool *pool;
	struct dht_callbacks cb;
	uint8_t id[DHT_ID_LEN];
	uint16_t peer_port;
	bool loopback_only;              /* see dht_config */
	uint8_t version[4];
	struct dht_family fam[2];        /* [0] IPv4, [1] IPv6 */
	struct dht_tokens tokens;
	struct dht_store *store;
	uint64_t rng;

	struct dht_rpc rpcs[DHT_MAX_RPCS];
	uint16_t free_rpcs[DHT_MAX_RPCS];
	size_t nfree;
	struct dht_rpc *inflight_head, *inflight_tail;

	double out_tokens, in_tokens;
	uint64_t out_at_ms, in_at_ms;
	struct dht_source sources[DHT_SOURCES];

	struct dht_search *searches;     /* running (lookups and announces), newest first */
	size_t nsearches;
	struct dht_entry **entries;      /* registered info-hashes, sorted */
	size_t nentries, entries_cap;
	struct dht_entry **heap;         /* the same, by next lookup time (a min-heap) */

	struct event *tick;
	uint64_t ticks;
	struct dp_task *task;

	/* bootstrap: addresses without IDs, and nodes from the saved table */
	struct sockaddr_storage boot[DHT_MAX_BOOT];
	socklen_t bootlen[DHT_MAX_BOOT];
	size_t nboot;
	struct dht_resolve *resolving;
	struct krpc_node *saved;         /* from the state file, offered to the next bootstrap */
	size_t nsaved;
	char *state_path;
	struct dht_load_job *load_job;
	uint64_t saved_at_ms;

	struct dht_vote votes[DHT_VOTES];
	bool external_known;

	/* counters */
	uint64_t queries_in, answers_out, queries_out, replies_in, timeouts;
	uint64_t malformed, dropped_rate, unexpected;
	uint64_t last_queries_in, last_queries_out;
	double in_per_s, out_per_s;
};

/* dht.c */
uint32_t dht_random(struct dht *d);
void dht_random_bytes(struct dht *d, uint8_t *out, size_t n);
/* Takes one token of the outgoing rate; false when none is left (try again next tick). */
bool dht_out_allowed(struct dht *d, uint64_t now_ms);
/* Sends a query: find_node/get_peers to target, ping, or announce_peer with token. Returns
 * the transaction, or NULL when none could be sent (no slot, no rate, a send error). */
struct dht_rpc *dht_send_query(struct dht_family *f, enum krpc_method m,
    const struct sockaddr *to, socklen_t tolen, const uint8_t *id, const uint8_t *target,
    const uint8_t *token, size_t token_len, uint64_t now_ms);
void dht_ping(struct dht_family *f, const struct sockaddr *to, socklen_t tolen,
    const uint8_t *id, uint64_t now_ms);
struct dht_family *dht_family_of(struct dht *d, int af);

/* dht_search.c */
/* A find_node lookup for target (our ID: a bootstrap; another: a bucket refresh). */
void dht_search_nodes(struct dht_family *f, const uint8_t target[DHT_ID_LEN], bool bootstrap,
    uint64_t now_ms);
/* The transaction's answer (msg NULL: it timed out, or an error came back). */
void dht_search_answer(struct dht_rpc *r, const struct krpc_msg *msg, uint64_t now_ms);
/* Each tick: sends what rate and alpha allow, starts lookups that are due. */
void dht_search_tick(struct dht *d, uint64_t now_ms);
/* The transaction is forgotten without an answer (the node is being freed). */
void dht_search_drop_rpc(struct dht_rpc *r);
/* Abandons every lookup and forgets every registered info-hash. */
void dht_search_free_all(struct dht *d);
size_t dht_search_registered(const struct dht *d);

/* dht_boot.c */
/* Resolves the bootstrap entries (numeric ones at once, names through evdns). */
void dht_boot_start(struct dht *d, const struct dht_config *cfg);
/* Each tick: a bootstrap lookup while a table is short, bucket refreshes, pings. */
void dht_boot_tick(struct dht *d, uint64_t now_ms);
/* Whether the family has anyone to ask: nodes in its table, or bootstrap addresses. */
bool dht_boot_reachable(const struct dht_family *f);
/* Seeds a bootstrap lookup with the bootstrap addresses and the saved nodes. */
void dht_boot_seed(struct dht_family *f, struct dht_lookup *l);
/* Saves the tables now (on the pool) when a state file is set; durable: fsynced (not at exit). */
void dht_boot_save(struct dht *d, uint64_t now_ms, bool durable);
void dht_boot_free(struct dht *d);
/* An answer said how it saw our address (BEP 42 "ip"): enough agreeing answers give our
 * external address, and an ID it does not allow is replaced. */
void dht_boot_vote(struct dht *d, const struct sockaddr *ours, uint64_t now_ms);

#endif
