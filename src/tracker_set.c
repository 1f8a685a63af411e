/* tracker_set.c: the trackers of one torrent: BEP 12 tiers (shuffled, the tracker that answers
 * promoted), the announce schedule (started, interval, completed, stopped, retry backoff),
 * scrapes, one task per tracker for the monitor, and rows for the trackers tab. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "task.h"
#include "tracker.h"
#include "tracker_private.h"
#include "util.h"

#define TRACKER_NUMWANT 80

struct tracker_tier;

struct tracker {
	struct tracker_set *ts;
	struct tracker_tier *tier;
	char *url;
	struct tracker_url u;
	bool valid;                     /* a URL we can talk to */
	struct dp_task *task;
	enum tracker_status status;     /* when nothing is in flight */
	char last_error[256];
	char last_warning[256];
	int64_t last_announce, next_announce;
	uint64_t last_announce_ms;      /* monotonic, for min interval */
	int64_t last_scrape;
	int seeders, leechers, downloaded;
	size_t last_peer_count;
	int interval, min_interval;
	char tracker_id[128];
	bool started;                   /* accepted a started: it is owed a stopped */
	struct tracker_udp_conn udp;
	struct tracker_http_fetch *http;
	struct tracker_udp_op *udp_op;
	bool op_scrape;
	enum tracker_event op_event;
};

struct tracker_tier {
	struct tracker_set *ts;
	int index;
	size_t *order;                  /* indices into ts->trackers, the working one first */
	size_t n;
	size_t cur;                     /* position being tried */
	unsigned fails;                 /* whole rounds that failed in a row */
	bool completed_pending;
	struct event *timer;
};

struct tracker_set {
	struct event_base *base;
	struct evdns_base *dns;
	struct ssl_ctx_st *ssl_ctx;
	uint8_t info_hash[20];
	int torrent_id;
	char *name;
	struct tracker_callbacks cb;
	uint32_t key;
	struct tracker *trackers;
	size_t count;
	struct tracker_tier *tiers;
	size_t tier_count;
	bool running;
	bool stopping;
	size_t stop_pending;
	struct event *stop_timer;
	void (*stop_done)(void *);
	void *stop_arg;
};

static void tracker_tier_announce(struct tracker_tier *tier);
static void tracker_op_finish_stop(struct tracker *t);
static void tracker_stop_deadline_cb(evutil_socket_t fd, short what, void *arg);

static const char *const tracker_status_names[] = {
	[TRACKER_IDLE] = "idle",
	[TRACKER_DNS] = "resolving",
	[TRACKER_CONNECTING] = "connecting",
	[TRACKER_ANNOUNCING] = "announcing",
	[TRACKER_OK] = "working",
	[TRACKER_ERROR] = "error",
};

const char *
tracker_status_name(enum tracker_status s)
{
	return (unsigned)s < DP_ARRAY_LEN(tracker_status_names) ? tracker_status_names[s] : "?";
}

static const char *
tracker_event_name(enum tracker_event e)
{
	switch (e) {
	case TRACKER_EVENT_STARTED:
		return "started";
	case TRACKER_EVENT_COMPLETED:
		return "completed";
	case TRACKER_EVENT_STOPPED:
		return "stopped";
	default:
		return "regular";
	}
}

/* Copies a string into a fixed field, cutting it when it does not fit. */
static void
tracker_copy(char *dst, size_t size, const char *src)
{
	size_t n = DP_MIN(strlen(src), size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint32_t
tracker_rand_cb(void *arg)
{
	(void)arg;
	return tracker_random32();
}

static bool
tracker_busy(const struct tracker *t)
{
	return t->http != NULL || t->udp_op != NULL;
}

/* A live task for the tracker. A finished one (failed attempt, stop) is released to linger in
 * the registry, and a request still in flight keeps its own reference to it. */
static struct dp_task *
tracker_task(struct tracker *t)
{
	if (t->task == NULL || t->task->finished_us != 0) {
		task_release(&t->task);
		t->task = task_new(DP_TASK_KIND_TRACKER, t->ts->torrent_id, "tracker %s", t->url);
	}
	return t->task;
}

static void
tracker_cancel_op(struct tracker *t)
{
	tracker_http_fetch_cancel(t->http);
	t->http = NULL;
	tracker_udp_cancel(t->udp_op);
	t->udp_op = NULL;
}

static void
tracker_tier_schedule(struct tracker_tier *tier, unsigned delay_s)
{
	struct timeval tv = { .tv_sec = delay_s, .tv_usec = 0 };
	evtimer_add(tier->timer, &tv);
	struct tracker *t = &tier->ts->trackers[tier->order[tier->cur]];
	t->next_announce = dp_wall_time() + delay_s;
}

static void tracker_http_done(void *arg, int status, const uint8_t *body, size_t len,
    const char *err);
static void tracker_udp_done(void *arg, const struct tracker_response *resp, const char *err);

/* Starts an announce or scrape on t; its result arrives in tracker_*_done. */
static void
tracker_start_op(struct tracker *t, enum tracker_event ev, bool scrape)
{
	struct tracker_set *ts = t->ts;
	struct tracker_request req;
	memset(&req, 0, sizeof req);
	memcpy(req.info_hash, ts->info_hash, 20);
	req.numwant = TRACKER_NUMWANT;
	if (ts->cb.fill_request != NULL)
		ts->cb.fill_request(ts->cb.arg, &req);
	memcpy(req.info_hash, ts->info_hash, 20);
	req.event = ev;
	req.key = ts->key;
	if (ev == TRACKER_EVENT_STOPPED)
		req.numwant = 0;
	req.tracker_id = t->tracker_id[0] ? t->tracker_id : NULL;
	t->op_scrape = scrape;
	t->op_event = ev;
	struct dp_task *task = tracker_task(t);
	if (!scrape) {
		log_debug("tracker %s: announce (%s)", t->url, tracker_event_name(ev));
		t->last_announce = dp_wall_time();
		t->last_announce_ms = dp_now_ms();
		t->next_announce = 0;
	}
	if (t->u.scheme == TRACKER_SCHEME_UDP) {
		t->udp_op = tracker_udp_start(ts->base, ts->dns, t->u.host, t->u.port, &t->udp, scrape,
		    &req, task, tracker_udp_done, t);
		if (t->udp_op == NULL)
			tracker_udp_done(t, NULL, "cannot start a UDP exchange");
		return;
	}
	char *url = scrape ? tracker_http_scrape_url(t->url, ts->info_hash) :
	    tracker_http_announce_url(t->url, &req);
	t->http = tracker_http_fetch_start(ts->base, ts->dns, ts->ssl_ctx, url,
	    scrape ? "scrape" : "announce", task, tracker_http_done, t);
	free(url);
	if (t->http == NULL)
		tracker_http_done(t, 0, NULL, 0, "cannot start an HTTP request");
}

static bool
tracker_can_scrape(const struct tracker *t)
{
	if (t->u.scheme == TRACKER_SCHEME_UDP)
		return true;
	char *s = tracker_http_scrape_url(t->url, t->ts->info_hash);
	free(s);
	return s != NULL;
}

static void
tracker_wait_next(struct tracker *t)
{
	int64_t left = t->next_announce - dp_wall_time();
	if (left < 0)
		left = 0;
	/* No countdown in the reason: it is written once and read for half an hour (it said
	 * "in 1916 s" ten minutes later); the deadline counts down. */
	task_idle(tracker_task(t), DP_TASK_TIMER_WAIT, "the next announce (set %lld s ahead)",
	    (long long)left);
	/* The deadline is the next announce, not the timeout of the request that just ended. */
	task_set_deadline(tracker_task(t), dp_now_us() + (uint64_t)left * 1000000ull);
}

/* The current tracker of the tier failed: try the next one now, or back off. */
static void
tracker_tier_failed(struct tracker_tier *tier, struct tracker *t, const char *err)
{
	struct tracker_set *ts = tier->ts;
	t->status = TRACKER_ERROR;
	tracker_copy(t->last_error, sizeof t->last_error, err);
	log_warn("tracker %s: %s", t->url, err);
	task_fail(tracker_task(t), "%s", err);
	for (tier->cur++; tier->cur < tier->n; tier->cur++)
		if (ts->trackers[tier->order[tier->cur]].valid)
			break;
	if (tier->cur < tier->n) {
		task_idle(tracker_task(t), DP_TASK_QUEUED, "standby in tier %d after: %s",
		    tier->index, err);
		task_set_deadline(tracker_task(t), 0);
		tracker_tier_announce(tier);
		return;
	}
	tier->cur = 0;
	tier->fails++;
	unsigned delay = tracker_retry_delay(tier->fails);
	tracker_tier_schedule(tier, delay);
	struct tracker *first = &ts->trackers[tier->order[0]];
	if (first != t) {
		task_idle(tracker_task(t), DP_TASK_QUEUED, "standby in tier %d after: %s",
		    tier->index, err);
		task_set_deadline(tracker_task(t), 0);
	}
	task_wait(tracker_task(first), DP_TASK_TIMER_WAIT, "a retry (back-off %u s) after: %.80s", delay,
	    first->last_error[0] ? first->last_error : err);
	task_set_deadline(tracker_task(first), dp_now_us() + (uint64_t)delay * 1000000ull);
}

static void
tracker_announce_ok(struct tracker *t, struct tracker_response *r)
{
	struct tracker_set *ts = t->ts;
	struct tracker_tier *tier = t->tier;
	tracker_copy(t->last_warning, sizeof t->last_warning, r->warning);
	if (r->warning[0])
		log_warn("tracker %s: warning: %s", t->url, r->warning);
	if (r->tracker_id[0])
		tracker_copy(t->tracker_id, sizeof t->tracker_id, r->tracker_id);
	t->interval = r->interval;
	t->min_interval = r->min_interval;
	if (r->complete >= 0)
		t->seeders = r->complete;
	if (r->incomplete >= 0)
		t->leechers = r->incomplete;
	if (r->downloaded >= 0)
		t->downloaded = r->downloaded;
	t->last_peer_count = r->peer_count;
	t->status = TRACKER_OK;
	t->last_error[0] = '\0';
	log_debug("tracker %s: %zu peers, interval %d, seeders %d, leechers %d", t->url,
	    r->peer_count, r->interval, r->complete, r->incomplete);
	if (t->op_event == TRACKER_EVENT_STARTED)
		t->started = true;
	if (t->op_event == TRACKER_EVENT_COMPLETED)
		tier->completed_pending = false;

	/* BEP 12: the tracker that answered moves to the front of its tier. */
	tracker_tier_promote(tier->order, tier->n, tier->cur);
	tier->cur = 0;
	tier->fails = 0;
	unsigned delay = tracker_next_delay(r->interval, r->min_interval);
	if (tier->completed_pending && t->started)
		delay = 0;
	tracker_tier_schedule(tier, delay);
	bool counts_unknown = r->complete < 0 || r->incomplete < 0 || r->downloaded < 0;
	if (counts_unknown && dp_wall_time() - t->last_scrape >= tracker_tunables.scrape_every_s &&
	    delay > 0 && tracker_can_scrape(t)) {
		t->last_scrape = dp_wall_time();
		tracker_start_op(t, TRACKER_EVENT_NONE, true);
	} else {
		tracker_wait_next(t);
	}
	if (r->peer_count > 0 && ts->cb.got_peers != NULL)
		ts->cb.got_peers(ts->cb.arg, r->peers, r->peer_count);
}

/* The end of any op: result is a parsed response or an error. */
static void
tracker_op_done(struct tracker *t, struct tracker_response *r, const char *err)
{
	struct tracker_set *ts = t->ts;
	char msg[300];
	if (err == NULL && r->failure[0]) {
		snprintf(msg, sizeof msg, "tracker refused: %s", r->failure);
		err = msg;
	}
	if (t->op_event == TRACKER_EVENT_STOPPED) {
		if (err != NULL)
			log_warn("tracker %s: stopped announce failed: %s", t->url, err);
		tracker_op_finish_stop(t);
		return;
	}
	if (t->op_scrape) {
		if (err != NULL) {
			log_debug("tracker %s: scrape failed: %s", t->url, err);
		} else {
			t->seeders = r->complete;
			t->leechers = r->incomplete;
			t->downloaded = r->downloaded;
		}
		tracker_wait_next(t);
		return;
	}
	if (err != NULL) {
		tracker_tier_failed(t->tier, t, err);
		return;
	}
	(void)ts;
	tracker_announce_ok(t, r);
}

static void
tracker_http_done(void *arg, int status, const uint8_t *body, size_t len, const char *err)
{
	struct tracker *t = arg;
	struct tracker_response r;
	char perr[256];
	t->http = NULL;
	memset(&r, 0, sizeof r);
	tracker_response_clear(&r);
	if (err != NULL) {
		tracker_op_done(t, NULL, err);
	} else if (t->op_scrape) {
		if (status != 200) {
			snprintf(perr, sizeof perr, "scrape: HTTP status %d", status);
			tracker_op_done(t, NULL, perr);
		} else if (tracker_http_parse_scrape(body, len, t->ts->info_hash, &r.complete,
		    &r.incomplete, &r.downloaded, perr, sizeof perr) < 0) {
			tracker_op_done(t, NULL, perr);
		} else {
			tracker_op_done(t, &r, NULL);
		}
	} else if (tracker_http_parse_announce(body, len, &r, perr, sizeof perr) < 0) {
		char m[300];
		if (status != 200)
			snprintf(m, sizeof m, "HTTP status %d", status);
		else
			tracker_copy(m, sizeof m, perr);
		tracker_op_done(t, NULL, m);
	} else if (status != 200 && r.failure[0] == '\0') {
		snprintf(perr, sizeof perr, "HTTP status %d", status);
		tracker_op_done(t, NULL, perr);
	} else {
		tracker_op_done(t, &r, NULL);
	}
	tracker_response_clear(&r);
}

static void
tracker_udp_done(void *arg, const struct tracker_response *resp, const char *err)
{
	struct tracker *t = arg;
	struct tracker_response r = resp ? *resp : (struct tracker_response){ 0 };
	t->udp_op = NULL;
	if (resp == NULL)
		tracker_response_clear(&r);
	/* The peers stay owned by the UDP side; we only read them. */
	tracker_op_done(t, err ? NULL : &r, err);
}

/* Announces on the tier's current tracker, skipping URLs we cannot use. */
static void
tracker_tier_announce(struct tracker_tier *tier)
{
	struct tracker_set *ts = tier->ts;
	if (!ts->running || ts->stopping)
		return;
	evtimer_del(tier->timer);
	while (tier->cur < tier->n && !ts->trackers[tier->order[tier->cur]].valid)
		tier->cur++;
	if (tier->cur == tier->n) {
		tier->cur = 0;
		return;         /* nothing usable in this tier; each tracker shows why */
	}
	struct tracker *t = &ts->trackers[tier->order[tier->cur]];
	if (tracker_busy(t)) {
		if (!t->op_scrape)
			return;
		tracker_cancel_op(t);
	}
	enum tracker_event ev = TRACKER_EVENT_NONE;
	if (!t->started)
		ev = TRACKER_EVENT_STARTED;
	else if (tier->completed_pending)
		ev = TRACKER_EVENT_COMPLETED;
	tracker_start_op(t, ev, false);
}

static void
tracker_tier_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_tier *tier = arg;
	struct tracker *t = &tier->ts->trackers[tier->order[tier->cur]];
	struct dp_task *task = tracker_task(t);
	task_cb_begin(task);
	tracker_tier_announce(tier);
	task_cb_end(task);
}

struct tracker_set *
tracker_set_new(struct event_base *base, struct evdns_base *dns, struct ssl_ctx_st *ssl_ctx,
    const struct mi_tier *tiers, size_t tier_count, const uint8_t info_hash[20], int torrent_id,
    const char *torrent_name, const struct tracker_callbacks *cb)
{
	struct tracker_set *ts = xcalloc(1, sizeof *ts);
	ts->base = base;
	ts->dns = dns;
	ts->ssl_ctx = ssl_ctx;
	memcpy(ts->info_hash, info_hash, 20);
	ts->torrent_id = torrent_id;
	ts->name = xstrdup(torrent_name ? torrent_name : "");
	if (cb != NULL)
		ts->cb = *cb;
	ts->key = tracker_random32();
	for (size_t i = 0; i < tier_count; i++)
		ts->count += tiers[i].count;
	ts->trackers = xcalloc(ts->count ? ts->count : 1, sizeof *ts->trackers);
	ts->tiers = xcalloc(tier_count ? tier_count : 1, sizeof *ts->tiers);
	ts->stop_timer = evtimer_new(base, tracker_stop_deadline_cb, ts);
	size_t k = 0;
	for (size_t i = 0; i < tier_count; i++) {
		struct tracker_tier *tier = &ts->tiers[ts->tier_count];
		if (tiers[i].count == 0)
			continue;
		ts->tier_count++;
		tier->ts = ts;
		tier->index = (int)ts->tier_count - 1;
		tier->n = tiers[i].count;
		tier->order = xcalloc(tier->n, sizeof *tier->order);
		tier->timer = evtimer_new(base, tracker_tier_timer_cb, tier);
		for (size_t j = 0; j < tier->n; j++, k++) {
			struct tracker *t = &ts->trackers[k];
			char err[200];
			tier->order[j] = k;
			t->ts = ts;
			t->tier = tier;
			t->url = xstrdup(tiers[i].urls[j]);
			t->seeders = t->leechers = t->downloaded = -1;
			t->interval = t->min_interval = -1;
			t->status = TRACKER_IDLE;
			t->task = task_new(DP_TASK_KIND_TRACKER, torrent_id, "tracker %s", t->url);
			if (tracker_url_parse(t->url, &t->u, err, sizeof err) < 0) {
				t->status = TRACKER_ERROR;
				tracker_copy(t->last_error, sizeof t->last_error, err);
				log_warn("tracker %s: %s", t->url, err);
				task_fail(t->task, "%s", err);
			} else if (t->u.scheme == TRACKER_SCHEME_HTTPS && ssl_ctx == NULL) {
				t->status = TRACKER_ERROR;
				snprintf(t->last_error, sizeof t->last_error,
				    "HTTPS is not available (no TLS context)");
				log_warn("tracker %s: %s", t->url, t->last_error);
				task_fail(t->task, "%s", t->last_error);
			} else {
				t->valid = true;
				task_idle(t->task, DP_TASK_QUEUED, "not started");
			}
		}
		/* BEP 12: the order within a tier is random, then kept by promotion. */
		tracker_tier_shuffle(tier->order, tier->n, tracker_rand_cb, NULL);
	}
	ts->count = k;
	if (ts->stop_timer == NULL)
		log_error("tracker set for %s: cannot create a timer", ts->name);
	return ts;
}

void
tracker_set_start(struct tracker_set *ts)
{
	if (ts->running)
		return;
	ts->running = true;
	ts->stopping = false;
	for (size_t i = 0; i < ts->tier_count; i++) {
		struct tracker_tier *tier = &ts->tiers[i];
		tier->fails = 0;
		for (size_t j = 0; j < tier->n; j++) {
			struct tracker *t = &ts->trackers[tier->order[j]];
			if (t->valid && j != tier->cur)
				task_idle(tracker_task(t), DP_TASK_QUEUED, "standby in tier %d",
				    tier->index);
		}
		tracker_tier_announce(tier);
	}
}

void
tracker_set_completed(struct tracker_set *ts)
{
	for (size_t i = 0; i < ts->tier_count; i++) {
		struct tracker_tier *tier = &ts->tiers[i];
		tier->completed_pending = true;
		struct tracker *t = &ts->trackers[tier->order[tier->cur]];
		/* An announce in flight will see the flag and announce again when it ends. */
		if (ts->running && !tracker_busy(t) && t->started)
			tracker_tier_announce(tier);
	}
}

void
tracker_set_reannounce(struct tracker_set *ts)
{
	if (!ts->running || ts->stopping)
		return;
	int64_t now = (int64_t)dp_now_ms();
	for (size_t i = 0; i < ts->tier_count; i++) {
		struct tracker_tier *tier = &ts->tiers[i];
		struct tracker *t = &ts->trackers[tier->order[tier->cur]];
		if (!t->valid || (tracker_busy(t) && !t->op_scrape))
			continue;
		int64_t since = t->last_announce_ms ? (now - (int64_t)t->last_announce_ms) / 1000 : -1;
		unsigned wait = t->status == TRACKER_ERROR ? 0 :
		    tracker_reannounce_wait(since, t->min_interval);
		if (wait == 0) {
			tracker_tier_announce(tier);
		} else {
			tracker_tier_schedule(tier, wait);
			if (!tracker_busy(t))
				tracker_wait_next(t);
		}
	}
}

static void
tracker_stop_complete(struct tracker_set *ts)
{
	void (*done)(void *) = ts->stop_done;
	void *arg = ts->stop_arg;
	ts->stop_done = NULL;
	ts->stop_arg = NULL;
	if (ts->stop_timer != NULL)
		evtimer_del(ts->stop_timer);
	if (done != NULL)
		done(arg);
}

static void
tracker_op_finish_stop(struct tracker *t)
{
	struct tracker_set *ts = t->ts;
	t->started = false;
	t->status = TRACKER_IDLE;
	task_done(tracker_task(t), "stopped");
	if (ts->stop_pending > 0 && --ts->stop_pending == 0)
		tracker_stop_complete(ts);
}

static void
tracker_stop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_set *ts = arg;
	for (size_t i = 0; i < ts->count; i++) {
		struct tracker *t = &ts->trackers[i];
		if (tracker_busy(t)) {
			tracker_cancel_op(t);
			log_warn("tracker %s: no reply to stopped before the deadline", t->url);
			t->started = false;
			task_done(tracker_task(t), "stopped (no reply before the deadline)");
		}
	}
	ts->stop_pending = 0;
	tracker_stop_complete(ts);
}

void
tracker_set_stop(struct tracker_set *ts, unsigned deadline_ms, void (*done)(void *), void *arg)
{
	ts->running = false;
	ts->stopping = true;
	ts->stop_done = done;
	ts->stop_arg = arg;
	ts->stop_pending = 0;
	for (size_t i = 0; i < ts->tier_count; i++)
		evtimer_del(ts->tiers[i].timer);
	for (size_t i = 0; i < ts->count; i++) {
		struct tracker *t = &ts->trackers[i];
		tracker_cancel_op(t);
		t->next_announce = 0;
		if (t->valid && t->started) {
			ts->stop_pending++;
			tracker_start_op(t, TRACKER_EVENT_STOPPED, false);
		} else if (t->valid) {
			t->status = TRACKER_IDLE;
			task_done(tracker_task(t), "stopped");
		}
	}
	/* The deadline, or at once (from the loop) when nothing needed a stopped. */
	if (ts->stop_timer == NULL) {
		log_error("tracker set for %s: no stop timer", ts->name);
		return;
	}
	struct timeval tv = {
		.tv_sec = ts->stop_pending ? deadline_ms / 1000 : 0,
		.tv_usec = ts->stop_pending ? (deadline_ms % 1000) * 1000 : 0,
	};
	evtimer_add(ts->stop_timer, &tv);
}

void
tracker_set_free(struct tracker_set *ts)
{
	if (ts == NULL)
		return;
	for (size_t i = 0; i < ts->count; i++) {
		struct tracker *t = &ts->trackers[i];
		tracker_cancel_op(t);
		if (t->task != NULL && t->task->finished_us == 0)
			task_done(t->task, "removed");
		task_release(&t->task);
		free(t->url);
	}
	for (size_t i = 0; i < ts->tier_count; i++) {
		if (ts->tiers[i].timer != NULL)
			event_free(ts->tiers[i].timer);
		free(ts->tiers[i].order);
	}
	if (ts->stop_timer != NULL)
		event_free(ts->stop_timer);
	free(ts->tiers);
	free(ts->trackers);
	free(ts->name);
	free(ts);
}

static enum tracker_status
tracker_live_status(const struct tracker *t)
{
	if (!tracker_busy(t) || t->task == NULL)
		return t->status;
	switch (t->task->state) {
	case DP_TASK_DNS_WAIT:
		return TRACKER_DNS;
	case DP_TASK_CONNECT_WAIT:
		return TRACKER_CONNECTING;
	default:
		return TRACKER_ANNOUNCING;
	}
}

size_t
tracker_set_info(const struct tracker_set *ts, struct tracker_info *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < ts->tier_count; i++) {
		const struct tracker_tier *tier = &ts->tiers[i];
		for (size_t j = 0; j < tier->n && n < max; j++) {
			const struct tracker *t = &ts->trackers[tier->order[j]];
			struct tracker_info *r = &out[n++];
			memset(r, 0, sizeof *r);
			tracker_copy(r->url, sizeof r->url, t->url);
			r->tier = tier->index;
			r->status = tracker_live_status(t);
			tracker_copy(r->last_error, sizeof r->last_error, t->last_error);
			tracker_copy(r->last_warning, sizeof r->last_warning, t->last_warning);
			r->last_announce = t->last_announce;
			r->next_announce = t->next_announce;
			r->seeders = t->seeders;
			r->leechers = t->leechers;
			r->downloaded = t->downloaded;
			r->last_peer_count = t->last_peer_count;
		}
	}
	return n;
}
