/* engine_stats.c: engine.h's aggregate queries for remote front ends (the RPC, /metrics): what
 * changed recently (recently-active), read from the change list without visiting the rest, and
 * counts kept as things change (torrents and tasks per state). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "engine.h"
#include "engine_private.h"
#include "session.h"
#include "task.h"
#include "torrent.h"
#include "tracker_hosts.h"
#include "tracker_scrape.h"
#include "util.h"

size_t
engine_torrents_changed(struct engine *e, unsigned window_s, int **ids, int **removed,
    size_t *nremoved)
{
	uint64_t now = dp_now_ms(), span = (uint64_t)window_s * 1000;
	uint64_t since = now > span ? now - span : 0;
	*nremoved = changes_removed_since(&e->changes, since, removed);
	return changes_since(&e->changes, since, ids);
}

size_t
engine_torrent_ids(struct engine *e, int **ids)
{
	return session_torrent_ids(e, ids);
}

int
engine_torrent_id_by_hash(struct engine *e, const char *hex)
{
	uint8_t hash[20];
	if (strlen(hex) != 40 || !dp_hex_decode(hex, 20, hash))
		return 0;
	struct torrent *t = session_find_by_hash(e, hash);
	return t != NULL ? t->id : 0;
}

void
engine_torrent_state_counts(struct engine *e, size_t out[ENGINE_TORRENT_STATE_COUNT])
{
	for (size_t i = 0; i < ENGINE_TORRENT_STATE_COUNT; i++)
		out[i] = e->torrent_states[i];
}

void
engine_task_state_counts(struct engine *e, size_t out[ENGINE_TASK_STATE_COUNT])
{
	(void)e;
	size_t n[DP_TASK_STATE_COUNT];
	task_state_counts(n);
	for (size_t i = 0; i < ENGINE_TASK_STATE_COUNT; i++)
		out[i] = n[i];
}

size_t
engine_tracker_hosts(struct engine *e, struct engine_tracker_host **out)
{
	const struct tracker_host_row *rows, *other;
	size_t n = tracker_hosts_rows(e->tracker_hosts, &rows, &other);
	size_t total = n + (other != NULL);
	*out = total ? xcalloc(total, sizeof **out) : NULL;
	for (size_t i = 0; i < total; i++) {
		const struct tracker_host_row *r = i < n ? &rows[i] : other;
		struct engine_tracker_host *o = &(*out)[i];
		snprintf(o->host, sizeof o->host, "%s", r->host);
		o->announces_ok = r->announces_ok;
		o->announces_failed = r->announces_failed;
		o->scrapes_ok = r->scrapes_ok;
		o->scrapes_failed = r->scrapes_failed;
		o->latency_sum_us = r->latency_sum_us;
		o->latency_count = r->latency_count;
		o->last_latency_us = r->last_latency_us;
		o->stops_dropped = r->stops_dropped;
	}
	return total;
}

void
engine_scrape_batches(struct engine *e, uint64_t *requests, uint64_t *hashes)
{
	tracker_scrapes_counts(tracker_hosts_scrapes(e->tracker_hosts), requests, hashes);
}
