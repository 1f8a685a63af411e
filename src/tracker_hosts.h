/* tracker_hosts.h: announce and scrape outcomes per tracker ("udp://host:port"), summed over
 * every torrent: successes, failures and announce latency for /metrics. A hash table bounded to
 * TRACKER_HOSTS_MAX names (the rest count under "other"); O(1) per outcome. */
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

/* One tracker's figures since the start (engine_tracker_hosts copies them out). */
struct tracker_host_row {
	char host[280];
	uint64_t announces_ok, announces_failed;
	uint64_t scrapes_ok, scrapes_failed;
	uint64_t latency_sum_us, latency_count;
	uint64_t last_latency_us;
};

struct tracker_hosts *tracker_hosts_new(void);
void tracker_hosts_free(struct tracker_hosts *h);
/* One announce (or scrape) to host ended: ok or not, after latency_us. */
void tracker_hosts_note(struct tracker_hosts *h, const char *host, bool scrape, bool ok,
    uint64_t latency_us);
/* The rows in the order first seen ("other" last); valid until the next note. */
size_t tracker_hosts_rows(const struct tracker_hosts *h, const struct tracker_host_row **rows,
    const struct tracker_host_row **other);

#endif
