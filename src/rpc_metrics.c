/* rpc_metrics.c: /metrics in Prometheus' text format (version 0.0.4): torrents and tasks by
 * state, bytes and rates, peers, the disk queue, loop lag, per-tracker announces; all read from
 * engine.h's snapshots and kept counts, never a walk over every torrent. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "rpc_private.h"
#include "util.h"

/* Label values for the torrent states (engine_torrent_state_name has spaces in one). */
static const char *const rpc_metrics_torrent_states[] = {
#define X(name, str) #name,
	ENGINE_TORRENT_STATES(X)
#undef X
};

static void
rpc_metrics_head(struct dp_buf *b, const char *name, const char *type, const char *help)
{
	dp_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it: backslash, double quote and line feed escaped; other
 * control bytes (a hostile tracker name) dropped. */
static void
rpc_metrics_label(struct dp_buf *b, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			dp_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			dp_buf_add_str(b, "\\n");
		else if (*p >= 0x20 && *p != 0x7f)
			dp_buf_add(b, p, 1);
	}
}

/* A state name in lower case, as a label value. */
static void
rpc_metrics_lower(struct dp_buf *b, const char *name)
{
	for (const char *p = name; *p != '\0'; p++) {
		char c = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		dp_buf_add(b, &c, 1);
	}
}

static void
rpc_metrics_gauge(struct dp_buf *b, const char *name, const char *help, double v)
{
	rpc_metrics_head(b, name, "gauge", help);
	dp_buf_printf(b, "%s %.17g\n", name, v);
}

static void
rpc_metrics_counter(struct dp_buf *b, const char *name, const char *help, uint64_t v)
{
	rpc_metrics_head(b, name, "counter", help);
	dp_buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

char *
rpc_metrics_text(struct engine *e, size_t *len)
{
	struct dp_buf b;
	dp_buf_init(&b);
	struct engine_global_stats g;
	engine_global(e, &g);

	size_t ts[ENGINE_TORRENT_STATE_COUNT];
	engine_torrent_state_counts(e, ts);
	rpc_metrics_head(&b, "downpour_torrents", "gauge", "Torrents by state.");
	for (size_t i = 0; i < ENGINE_TORRENT_STATE_COUNT; i++) {
		dp_buf_add_str(&b, "downpour_torrents{state=\"");
		rpc_metrics_lower(&b, rpc_metrics_torrent_states[i]);
		dp_buf_printf(&b, "\"} %zu\n", ts[i]);
	}

	rpc_metrics_counter(&b, "downpour_downloaded_bytes_total",
	    "Payload bytes received since the start.", g.downloaded);
	rpc_metrics_counter(&b, "downpour_uploaded_bytes_total",
	    "Payload bytes sent since the start.", g.uploaded);
	struct engine_blocklist_info bl;
	engine_blocklist_get(e, &bl);
	rpc_metrics_gauge(&b, "downpour_blocklist_ranges",
	    "Address ranges in the blocklist in force (merged), 0 = none.", (double)bl.ranges);
	rpc_metrics_head(&b, "downpour_blocklist_refused_total", "counter",
	    "Connections (in) and peer addresses to dial (out) the blocklist refused.");
	dp_buf_printf(&b, "downpour_blocklist_refused_total{direction=\"in\"} %" PRIu64 "\n"
	    "downpour_blocklist_refused_total{direction=\"out\"} %" PRIu64 "\n", bl.refused_in,
	    bl.refused_out);
	rpc_metrics_gauge(&b, "downpour_download_rate_bytes",
	    "Download rate in bytes per second (sliding window).", (double)g.down_rate);
	rpc_metrics_gauge(&b, "downpour_upload_rate_bytes",
	    "Upload rate in bytes per second (sliding window).", (double)g.up_rate);
	rpc_metrics_gauge(&b, "downpour_download_limit_bytes",
	    "Global download limit in bytes per second, 0 = none.", (double)g.down_limit);
	rpc_metrics_gauge(&b, "downpour_upload_limit_bytes",
	    "Global upload limit in bytes per second, 0 = none.", (double)g.up_limit);
	rpc_metrics_gauge(&b, "downpour_peers_connected", "Open peer connections.",
	    (double)g.connections);
	rpc_metrics_gauge(&b, "downpour_peers_limit", "The global connection limit.",
	    (double)g.max_connections);
	rpc_metrics_gauge(&b, "downpour_disk_queue_bytes",
	    "Bytes of pieces waiting to be written.", (double)g.disk_pending_write_bytes);
	rpc_metrics_gauge(&b, "downpour_disk_queue_jobs", "Jobs queued on the disk pool.",
	    (double)g.disk_pending_jobs);
	rpc_metrics_gauge(&b, "downpour_free_space_bytes",
	    "Free bytes in the download directory (refreshed every few seconds).",
	    (double)g.free_space);

	struct engine_loop_health h;
	engine_loop_health(e, &h);
	rpc_metrics_gauge(&b, "downpour_loop_lag_seconds",
	    "How late the loop's last health timer ran.", (double)h.lag_us / 1e6);
	rpc_metrics_gauge(&b, "downpour_loop_lag_max_seconds",
	    "The worst loop lag over the last minute.", (double)h.lag_max_us / 1e6);
	rpc_metrics_gauge(&b, "downpour_loop_callbacks_per_second",
	    "Callbacks the loop ran per second.", (double)h.callbacks_per_sec);
	/* The worst callback of the last minute by wall time and by CPU: apart, so a wall-time
	 * spike from the thread being descheduled is not read as a long callback. */
	rpc_metrics_gauge(&b, "downpour_loop_slowest_callback_seconds",
	    "Wall time of the loop's slowest callback in the last minute.",
	    h.slowest_count ? (double)h.slowest[0].duration_us / 1e6 : 0.0);
	rpc_metrics_gauge(&b, "downpour_loop_slowest_callback_cpu_seconds",
	    "Thread CPU time of that slowest callback.",
	    h.slowest_count ? (double)h.slowest[0].cpu_us / 1e6 : 0.0);
	rpc_metrics_gauge(&b, "downpour_loop_heaviest_callback_cpu_seconds",
	    "Thread CPU time of the loop's callback with the most CPU in the last minute.",
	    h.heaviest_count ? (double)h.heaviest[0].cpu_us / 1e6 : 0.0);
	rpc_metrics_gauge(&b, "downpour_tasks_spinning",
	    "Tasks running callbacks without progress.", (double)h.spinning_count);

	size_t ks[ENGINE_TASK_STATE_COUNT];
	engine_task_state_counts(e, ks);
	rpc_metrics_head(&b, "downpour_tasks", "gauge",
	    "Tasks by state (finished ones linger briefly).");
	for (size_t i = 0; i < ENGINE_TASK_STATE_COUNT; i++) {
		dp_buf_add_str(&b, "downpour_tasks{state=\"");
		rpc_metrics_lower(&b, engine_task_state_name((enum engine_task_state)i));
		dp_buf_printf(&b, "\"} %zu\n", ks[i]);
	}

	struct engine_tracker_host *hosts;
	size_t nh = engine_tracker_hosts(e, &hosts);
	static const struct {
		const char *name, *help;
	} tracker_metrics[] = {
		{ "downpour_tracker_announces_total", "Announces answered, by tracker and result." },
		{ "downpour_tracker_announce_latency_seconds",
		    "Time from sending an announce to its answer or failure." },
		{ "downpour_tracker_scrapes_total", "Scrapes answered, by tracker and result." },
		{ "downpour_tracker_stops_dropped_total",
		    "Stopped announces dropped at their deadline (unsent or unanswered), by tracker." },
	};
	for (size_t m = 0; m < DP_ARRAY_LEN(tracker_metrics); m++) {
		rpc_metrics_head(&b, tracker_metrics[m].name, m == 1 ? "summary" : "counter",
		    tracker_metrics[m].help);
		for (size_t i = 0; i < nh; i++) {
			const struct engine_tracker_host *t = &hosts[i];
			if (m == 3) {
				dp_buf_printf(&b, "%s{tracker=\"", tracker_metrics[m].name);
				rpc_metrics_label(&b, t->host);
				dp_buf_printf(&b, "\"} %" PRIu64 "\n", t->stops_dropped);
				continue;
			}
			if (m == 1) {
				dp_buf_printf(&b, "%s_sum{tracker=\"", tracker_metrics[m].name);
				rpc_metrics_label(&b, t->host);
				dp_buf_printf(&b, "\"} %.6f\n", (double)t->latency_sum_us / 1e6);
				dp_buf_printf(&b, "%s_count{tracker=\"", tracker_metrics[m].name);
				rpc_metrics_label(&b, t->host);
				dp_buf_printf(&b, "\"} %" PRIu64 "\n", t->latency_count);
				continue;
			}
			uint64_t ok = m == 0 ? t->announces_ok : t->scrapes_ok;
			uint64_t bad = m == 0 ? t->announces_failed : t->scrapes_failed;
			for (int r = 0; r < 2; r++) {
				dp_buf_printf(&b, "%s{tracker=\"", tracker_metrics[m].name);
				rpc_metrics_label(&b, t->host);
				dp_buf_printf(&b, "\",result=\"%s\"} %" PRIu64 "\n",
				    r == 0 ? "success" : "failure", r == 0 ? ok : bad);
			}
		}
	}
	free(hosts);
	uint64_t batches, batch_hashes;
	engine_scrape_batches(e, &batches, &batch_hashes);
	rpc_metrics_head(&b, "downpour_tracker_scrape_batches_total", "counter",
	    "Multi-hash scrape requests sent (each asks one tracker for up to 50 or 74 hashes).");
	dp_buf_printf(&b, "downpour_tracker_scrape_batches_total %" PRIu64 "\n", batches);
	rpc_metrics_head(&b, "downpour_tracker_scrape_batch_hashes_total", "counter",
	    "Hashes asked in multi-hash scrape requests.");
	dp_buf_printf(&b, "downpour_tracker_scrape_batch_hashes_total %" PRIu64 "\n", batch_hashes);
	return (char *)dp_buf_steal(&b, len);
}
