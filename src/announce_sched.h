/* announce_sched.h: when one torrent's trackers are told what (announce_sched.c): BEP 12 tiers,
 * the started / interval / completed / stopped announces with retry backoff, scrapes, and a row
 * per tracker for the trackers tab. The codecs and exchanges it drives are tracker.h's. */
#ifndef DP_ENGINE_INTERNAL
#error "announce_sched.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_ANNOUNCE_SCHED_H
#define DP_ANNOUNCE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "tracker.h"

struct event_base;
struct evdns_base;
struct ssl_ctx_st;
struct tracker_hosts;

/* The schedule of one torrent's trackers. */
struct announce_sched;

/* How the schedule reaches its torrent (events go up through these, never by name). */
struct announce_callbacks {
	/* Fills uploaded/downloaded/left/port/peer_id for the next announce. */
	void (*fill_request)(void *arg, struct tracker_request *req);
	/* Peers from any tracker. */
	void (*got_peers)(void *arg, const struct tracker_peer *peers, size_t n);
	void *arg;
	/* Where each announce's and scrape's outcome is counted per tracker (may be NULL). */
	struct tracker_hosts *hosts;
};

/* A tracker as the schedule last saw it: the trackers tab and the torrent's status read it. */
enum tracker_status { TRACKER_IDLE, TRACKER_DNS, TRACKER_CONNECTING, TRACKER_ANNOUNCING,
	TRACKER_OK, TRACKER_ERROR };

struct tracker_info {           /* one row of the trackers tab */
	char url[512];
	int tier;
	enum tracker_status status;
	char last_error[256];
	char last_warning[256];
	int64_t last_announce;      /* wall seconds, 0 = never */
	int64_t next_announce;
	int seeders, leechers, downloaded;  /* -1 unknown */
	size_t last_peer_count;
	bool ipv6;                  /* the announces over IPv6 of a named tracker (BEP 7) */
	/* the last announce: when it was sent, and whether its error is the tracker's own answer
	 * (a failure reason) rather than the tracker not being reached */
	int64_t last_announce_start;
	bool last_error_refused;
	/* scrapes (BEP 48): the URL asked ("" when the announce URL has none), the last one's
	 * start and end (wall seconds, 0 = never), whether it worked and why not */
	char scrape_url[512];
	int64_t last_scrape_start, last_scrape_end;
	bool last_scrape_ok;
	char last_scrape_error[256];
};

/* The address families peers can reach us on (BEP 7): with both, a named tracker is announced
 * to over each (its IPv6 announces are rows of their own); with IPv6 alone, over IPv6; with
 * IPv4 alone (or 0), over whatever the name resolves to, IPv4 first. */
#define ANNOUNCE_IPV4 1u
#define ANNOUNCE_IPV6 2u
struct announce_sched *announce_sched_new(struct event_base *base, struct evdns_base *dns,
    struct ssl_ctx_st *ssl_ctx, const struct mi_tier *tiers, size_t tier_count,
    const uint8_t info_hash[20], int torrent_id, const char *torrent_name, unsigned families,
    const struct announce_callbacks *cb);
/* Rows announce_sched_info can return. */
size_t announce_sched_rows(const struct announce_sched *as);
/* Announces started and then at the tracker's interval. */
void announce_sched_start(struct announce_sched *as);
void announce_sched_completed(struct announce_sched *as);
/* Announce now (user asked, or we need peers), respecting min interval. */
void announce_sched_reannounce(struct announce_sched *as);
/* Sends stopped to trackers that had been announced to, with a deadline; done(arg) runs when
 * every one answered or the deadline passed. */
void announce_sched_stop(struct announce_sched *as, unsigned deadline_ms, void (*done)(void *),
    void *arg);
void announce_sched_free(struct announce_sched *as);
size_t announce_sched_info(const struct announce_sched *as, struct tracker_info *out, size_t max);
/* The trackers in a word for the torrent's status, as its first ANNOUNCE_STATUS_ROWS rows say:
 * "ok (N of M)", "error: ...", or the first one's status; nothing written without trackers. */
#define ANNOUNCE_STATUS_ROWS 16
void announce_sched_status(const struct announce_sched *as, char *out, size_t size);
const char *tracker_status_name(enum tracker_status s);

#endif
