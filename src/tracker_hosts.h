/* tracker_hosts.h: announce and scrape outcomes per tracker ("udp://host:port"), summed over
 * every torrent: successes, failures and announce latency for /metrics. A hash table bounded to
 * TRACKER_HOSTS_MAX names (the rest count under "other"); O(1) per outcome. Each row also has
 * its request slots (tracker_gate.h), which the table owns. */
#ifndef DP_ENGINE_INTERNAL
#error "tracker_hosts.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_TRACKER_HOSTS_H
#define DP_TRACKER_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACKER_HOSTS_MAX 1024

struct tracker_hosts;
struct tracker_gate;
struct tracker_scrapes;
struct event_base;

/* One tracker's figures since the start (engine_tracker_hosts copies them out). */
struct tracker_host_row {
	char host[280];
	uint64_t announces_ok, announces_failed;
	uint64_t scrapes_ok, scrapes_failed;
	uint64_t latency_sum_us, latency_count;
	uint64_t last_latency_us;
	uint64_t stops_dropped;         /* stopped announces dropped at their deadline */
};

struct tracker_hosts *tracker_hosts_new(void);
void tracker_hosts_free(struct tracker_hosts *h);
/* One announce (or scrape) to host ended: ok or not, after latency_us. */
void tracker_hosts_note(struct tracker_hosts *h, const char *host, bool scrape, bool ok,
    uint64_t latency_us);
/* A stopped announce to host was dropped at its deadline: unsent (it was still waiting for a
 * request slot) or unanswered. A shutdown drops thousands at once: they are logged once per
 * tracker with the counts, a second after the first of them (on base) or when h is freed. */
void tracker_hosts_stop_dropped(struct tracker_hosts *h, struct event_base *base,
    const char *host, bool unsent);
/* The row of a tracker ("http://host:port"), added when new; -1 past TRACKER_HOSTS_MAX. */
int tracker_hosts_index(struct tracker_hosts *h, const char *host);
/* The request slots of the rows (NULL for a NULL table). */
struct tracker_gate *tracker_hosts_gate(struct tracker_hosts *h);
/* The scrape batches (tracker_scrape.h) of the rows' trackers (NULL for a NULL table). */
struct tracker_scrapes *tracker_hosts_scrapes(struct tracker_hosts *h);
/* The rows in the order first seen ("other" last); valid until the next note. */
size_t tracker_hosts_rows(const struct tracker_hosts *h, const struct tracker_host_row **rows,
    const struct tracker_host_row **other);

#endif
