/* tracker_scrape.h: multi-hash scrapes (tracker_scrape.c): the scrapes due to one tracker (one
 * scrape URL over HTTP, one host:port over UDP) within a short window go out as one request of up
 * to TRACKER_SCRAPE_HTTP_MAX (UDP: TRACKER_SCRAPE_UDP_MAX) hashes holding one request slot
 * (tracker_gate.h); the reply is read once and each torrent gets its own part. A tracker that
 * refuses a batch (or, over UDP, answers fewer hashes than asked) is remembered and scraped one
 * hash at a time. */
#ifndef DP_ENGINE_INTERNAL
#error "tracker_scrape.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_TRACKER_SCRAPE_H
#define DP_TRACKER_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracker.h"

struct event_base;
struct evdns_base;
struct ssl_ctx_st;
struct dp_task;
struct tracker_gate;
struct tracker_scrape_batch;

/* All batches of an engine: one per tracker_hosts table. */
struct tracker_scrapes;

/* One torrent's scrape in a batch, kept inside its owner (no allocation). */
struct tracker_scrape_member {
	struct tracker_scrape_member *prev, *next;
	struct tracker_scrape_batch *batch;     /* NULL: in none */
	uint8_t info_hash[20];
	struct dp_task *task;                   /* the owner's, told how its scrape goes (held) */
	size_t slot;                            /* its place in the request sent */
	/* The outcome: result, or err; single: the tracker refused the batch or left m out of a
	 * short UDP reply, scrape again alone
	 * (tracker_scrape_join now returns false for it). Runs once, after the member left. */
	void (*done)(struct tracker_scrape_member *m, const struct tracker_scrape_result *result,
	    const char *err, bool single);
};

/* Where a batch goes: the same for every torrent of one tracker lane. */
struct tracker_scrape_target {
	const char *announce;           /* HTTP: the announce URL (its scrape URL is the lane) */
	bool udp;
	const char *host;               /* UDP: host and port are the lane */
	uint16_t port;
	int family;                     /* AF_UNSPEC, AF_INET or AF_INET6 */
	int host_row;                   /* the tracker's gate row (tracker_hosts_index), -1: none */
	const char *host_key;           /* "scheme://host:port", for reasons and logs */
};

struct tracker_scrapes *tracker_scrapes_new(struct tracker_gate *gate);
/* Cancels the batches in flight (their members must be gone). */
void tracker_scrapes_free(struct tracker_scrapes *s);
/* Adds m (its info_hash and done set) to the batch gathering for target, its reasons told on
 * task (held meanwhile): true, or false when the tracker takes one hash at a time (or the lane
 * table is full): scrape it alone. */
bool tracker_scrape_join(struct tracker_scrapes *s, struct event_base *base,
    struct evdns_base *dns, struct ssl_ctx_st *ssl_ctx, const struct tracker_scrape_target *tg,
    struct tracker_scrape_member *m, struct dp_task *task);
/* Takes m out of its batch (removed or stopped torrent): done never runs for it; a batch left
 * empty before it was sent is dropped, one in flight is answered to nobody. O(1). */
void tracker_scrape_leave(struct tracker_scrape_member *m);
/* Whether m's batch has been sent (false when m is in none or it still gathers or waits). */
bool tracker_scrape_sent(const struct tracker_scrape_member *m);
/* Batches sent and hashes in them since the start (tests, figures). */
void tracker_scrapes_counts(const struct tracker_scrapes *s, uint64_t *requests,
    uint64_t *hashes);

#endif
