/* announce_sched.c: when one torrent's trackers are told what: BEP 12 tiers (shuffled, the
 * tracker that answers promoted), the announce schedule (started, interval, completed, stopped,
 * retry backoff), scrapes, one task per tracker for the monitor, and rows for the trackers tab. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>

#include "log.h"
#include "task.h"
#include "announce_sched.h"
#include "tracker.h"
#include "tracker_hosts.h"
#include "tracker_private.h"
#include "util.h"

#define ANNOUNCE_NUMWANT 80

struct announce_tier;

struct announce_tracker {
	struct announce_sched *as;
	struct announce_tier *tier;
	char *url;
	struct tracker_url u;
	int family;                     /* the tracker's addresses we use: AF_UNSPEC (any), or one
	                                   family when we announce once per family (BEP 7) */
	bool valid;                     /* a URL we can talk to */
	struct dp_task *task;
	enum tracker_status status;     /* when nothing is in flight */
	char last_error[256];
	char last_warning[256];
	int64_t last_announce, next_announce;
	uint64_t last_announce_ms;      /* monotonic, for min interval */
	int64_t last_scrape;            /* when the last scrape was sent (wall seconds) */
	int64_t last_scrape_end;        /* when its answer or failure came, 0 = none yet */
	bool last_scrape_ok;
	char last_scrape_error[256];
	int64_t last_announce_start;
	bool last_error_refused;        /* last_error is the tracker's failure reason */
	char *scrape_url;               /* BEP 48, NULL when the URL has no scrape */
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
	uint64_t op_start_us;           /* monotonic: when the op in flight was sent */
	char host_key[280];             /* "udp://host:port", its row in tracker_hosts */
};

struct announce_tier {
	struct announce_sched *as;
	int index;
	size_t *order;                  /* indices into as->trackers, the working one first */
	size_t n;
	size_t cur;                     /* position being tried */
	unsigned fails;                 /* whole rounds that failed in a row */
	bool completed_pending;
	struct event *timer;
};

struct announce_sched {
	struct event_base *base;
	struct evdns_base *dns;
	struct ssl_ctx_st *ssl_ctx;
	uint8_t info_hash[20];
	int torrent_id;
	char *name;
	struct announce_callbacks cb;
	uint32_t key;
	struct announce_tracker *trackers;
	size_t count;
	struct announce_tier *tiers;
	size_t tier_count;
	bool running;
	bool stopping;
	size_t stop_pending;
	struct event *stop_timer;
	void (*stop_done)(void *);
	void *stop_arg;
};

static void announce_tier_send(struct announce_tier *tier);
static void announce_op_finish_stop(struct announce_tracker *t);
static void announce_stop_deadline_cb(evutil_socket_t fd, short what, void *arg);

static const char *const announce_status_names[] = {
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
	return (unsigned)s < DP_ARRAY_LEN(announce_status_names) ? announce_status_names[s] : "?";
}

static const char *
announce_event_name(enum tracker_event e)
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
announce_copy(char *dst, size_t size, const char *src)
{
	size_t n = DP_MIN(strlen(src), size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint32_t
announce_rand_cb(void *arg)
{
	(void)arg;
	return tracker_random32();
}

static bool
announce_busy(const struct announce_tracker *t)
{
	return t->http != NULL || t->udp_op != NULL;
}

/* A live task for the tracker. A finished one (failed attempt, stop) is released to linger in
 * the registry, and a request still in flight keeps its own reference to it. */
static struct dp_task *
announce_task(struct announce_tracker *t)
{
	if (t->task == NULL || t->task->finished_us != 0) {
		task_release(&t->task);
		t->task = task_new(DP_TASK_KIND_TRACKER, t->as->torrent_id, "tracker %s", t->url);
	}
	return t->task;
}

static void
announce_cancel_op(struct announce_tracker *t)
{
	tracker_http_fetch_cancel(t->http);
	t->http = NULL;
	tracker_udp_cancel(t->udp_op);
	t->udp_op = NULL;
}

static void
announce_tier_schedule(struct announce_tier *tier, unsigned delay_s)
{
	struct timeval tv = { .tv_sec = delay_s, .tv_usec = 0 };
	evtimer_add(tier->timer, &tv);
	struct announce_tracker *t = &tier->as->trackers[tier->order[tier->cur]];
	t->next_announce = dp_wall_time() + delay_s;
}

static void announce_http_done(void *arg, int status, const uint8_t *body, size_t len,
    const char *err);
static void announce_udp_done(void *arg, const struct tracker_response *resp, const char *err);

/* Starts an announce or scrape on t; its result arrives in tracker_*_done. */
static void
announce_start_op(struct announce_tracker *t, enum tracker_event ev, bool scrape)
{
	struct announce_sched *as = t->as;
	struct tracker_request req;
	memset(&req, 0, sizeof req);
	memcpy(req.info_hash, as->info_hash, 20);
	req.numwant = ANNOUNCE_NUMWANT;
	if (as->cb.fill_request != NULL)
		as->cb.fill_request(as->cb.arg, &req);
	memcpy(req.info_hash, as->info_hash, 20);
	req.event = ev;
	req.key = as->key;
	if (ev == TRACKER_EVENT_STOPPED)
		req.numwant = 0;
	req.tracker_id = t->tracker_id[0] ? t->tracker_id : NULL;
	t->op_scrape = scrape;
	t->op_event = ev;
	t->op_start_us = dp_now_us();
	struct dp_task *task = announce_task(t);
	if (scrape)
		t->last_scrape = dp_wall_time();
	if (!scrape) {
		t->last_announce_start = dp_wall_time();
		log_debug("tracker %s: announce (%s)", t->url, announce_event_name(ev));
		t->last_announce = dp_wall_time();
		t->last_announce_ms = dp_now_ms();
		t->next_announce = 0;
	}
	if (t->u.scheme == TRACKER_SCHEME_UDP) {
		t->udp_op = tracker_udp_start(as->base, as->dns, t->u.host, t->u.port, t->family,
		    &t->udp, scrape, &req, task, announce_udp_done, t);
		if (t->udp_op == NULL)
			announce_udp_done(t, NULL, "cannot start a UDP exchange");
		return;
	}
	char *url = scrape ? tracker_http_scrape_url(t->url, as->info_hash) :
	    tracker_http_announce_url(t->url, &req);
	t->http = tracker_http_fetch_start(as->base, as->dns, as->ssl_ctx, url,
	    scrape ? "scrape" : "announce", t->family, task, announce_http_done, t);
	free(url);
	if (t->http == NULL)
		announce_http_done(t, 0, NULL, 0, "cannot start an HTTP request");
}

static bool
announce_can_scrape(const struct announce_tracker *t)
{
	if (t->u.scheme == TRACKER_SCHEME_UDP)
		return true;
	char *s = tracker_http_scrape_url(t->url, t->as->info_hash);
	free(s);
	return s != NULL;
}

static void
announce_wait_next(struct announce_tracker *t)
{
	int64_t left = t->next_announce - dp_wall_time();
	if (left < 0)
		left = 0;
	/* No countdown in the reason: it is written once and read for half an hour (it said
	 * "in 1916 s" ten minutes later); the deadline counts down. */
	task_idle(announce_task(t), DP_TASK_TIMER_WAIT, "the next announce (set %lld s ahead)",
	    (long long)left);
	/* The deadline is the next announce, not the timeout of the request that just ended. */
	task_set_deadline(announce_task(t), dp_now_us() + (uint64_t)left * 1000000ull);
}

/* The current tracker of the tier failed: try the next one now, or back off. */
static void
announce_tier_failed(struct announce_tier *tier, struct announce_tracker *t, const char *err)
{
	struct announce_sched *as = tier->as;
	t->status = TRACKER_ERROR;
	announce_copy(t->last_error, sizeof t->last_error, err);
	log_warn("tracker %s: %s", t->url, err);
	task_fail(announce_task(t), "%s", err);
	for (tier->cur++; tier->cur < tier->n; tier->cur++)
		if (as->trackers[tier->order[tier->cur]].valid)
			break;
	if (tier->cur < tier->n) {
		task_idle(announce_task(t), DP_TASK_QUEUED, "standby in tier %d after: %s",
		    tier->index, err);
		task_set_deadline(announce_task(t), 0);
		announce_tier_send(tier);
		return;
	}
	tier->cur = 0;
	tier->fails++;
	unsigned delay = tracker_retry_delay(tier->fails);
	announce_tier_schedule(tier, delay);
	struct announce_tracker *first = &as->trackers[tier->order[0]];
	if (first != t) {
		task_idle(announce_task(t), DP_TASK_QUEUED, "standby in tier %d after: %s",
		    tier->index, err);
		task_set_deadline(announce_task(t), 0);
	}
	task_wait(announce_task(first), DP_TASK_TIMER_WAIT, "a retry (back-off %u s) after: %.80s",
	    delay, first->last_error[0] ? first->last_error : err);
	task_set_deadline(announce_task(first), dp_now_us() + (uint64_t)delay * 1000000ull);
}

static void
announce_accepted(struct announce_tracker *t, struct tracker_response *r)
{
	struct announce_sched *as = t->as;
	struct announce_tier *tier = t->tier;
	announce_copy(t->last_warning, sizeof t->last_warning, r->warning);
	if (r->warning[0])
		log_warn("tracker %s: warning: %s", t->url, r->warning);
	if (r->tracker_id[0])
		announce_copy(t->tracker_id, sizeof t->tracker_id, r->tracker_id);
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
	announce_tier_schedule(tier, delay);
	bool counts_unknown = r->complete < 0 || r->incomplete < 0 || r->downloaded < 0;
	if (counts_unknown && dp_wall_time() - t->last_scrape >= tracker_tunables.scrape_every_s &&
	    delay > 0 && announce_can_scrape(t)) {
		announce_start_op(t, TRACKER_EVENT_NONE, true);
	} else {
		announce_wait_next(t);
	}
	if (r->peer_count > 0 && as->cb.got_peers != NULL)
		as->cb.got_peers(as->cb.arg, r->peers, r->peer_count);
}

/* The end of any op: result is a parsed response or an error. */
static void
announce_op_done(struct announce_tracker *t, struct tracker_response *r, const char *err)
{
	struct announce_sched *as = t->as;
	char msg[300];
	bool refused = err == NULL && r->failure[0];
	if (refused) {
		snprintf(msg, sizeof msg, "tracker refused: %s", r->failure);
		err = msg;
	}
	if (!t->op_scrape)
		t->last_error_refused = refused;
	tracker_hosts_note(as->cb.hosts, t->host_key, t->op_scrape, err == NULL,
	    dp_now_us() - t->op_start_us);
	if (t->op_event == TRACKER_EVENT_STOPPED) {
		if (err != NULL)
			log_warn("tracker %s: stopped announce failed: %s", t->url, err);
		announce_op_finish_stop(t);
		return;
	}
	if (t->op_scrape) {
		t->last_scrape_end = dp_wall_time();
		t->last_scrape_ok = err == NULL;
		announce_copy(t->last_scrape_error, sizeof t->last_scrape_error, err ? err : "");
		if (err != NULL) {
			log_debug("tracker %s: scrape failed: %s", t->url, err);
		} else {
			t->seeders = r->complete;
			t->leechers = r->incomplete;
			t->downloaded = r->downloaded;
		}
		announce_wait_next(t);
		return;
	}
	if (err != NULL) {
		announce_tier_failed(t->tier, t, err);
		return;
	}
	(void)as;
	announce_accepted(t, r);
}

static void
announce_http_done(void *arg, int status, const uint8_t *body, size_t len, const char *err)
{
	struct announce_tracker *t = arg;
	struct tracker_response r;
	char perr[256];
	t->http = NULL;
	memset(&r, 0, sizeof r);
	tracker_response_clear(&r);
	if (err != NULL) {
		announce_op_done(t, NULL, err);
	} else if (t->op_scrape) {
		if (status != 200) {
			snprintf(perr, sizeof perr, "scrape: HTTP status %d", status);
			announce_op_done(t, NULL, perr);
		} else if (tracker_http_parse_scrape(body, len, t->as->info_hash, &r.complete,
		    &r.incomplete, &r.downloaded, perr, sizeof perr) < 0) {
			announce_op_done(t, NULL, perr);
		} else {
			announce_op_done(t, &r, NULL);
		}
	} else if (tracker_http_parse_announce(body, len, &r, perr, sizeof perr) < 0) {
		char m[300];
		if (status != 200)
			snprintf(m, sizeof m, "HTTP status %d", status);
		else
			announce_copy(m, sizeof m, perr);
		announce_op_done(t, NULL, m);
	} else if (status != 200 && r.failure[0] == '\0') {
		snprintf(perr, sizeof perr, "HTTP status %d", status);
		announce_op_done(t, NULL, perr);
	} else {
		announce_op_done(t, &r, NULL);
	}
	tracker_response_clear(&r);
}

static void
announce_udp_done(void *arg, const struct tracker_response *resp, const char *err)
{
	struct announce_tracker *t = arg;
	struct tracker_response r = resp ? *resp : (struct tracker_response){ 0 };
	t->udp_op = NULL;
	if (resp == NULL)
		tracker_response_clear(&r);
	/* The peers stay owned by the UDP side; we only read them. */
	announce_op_done(t, err ? NULL : &r, err);
}

/* Announces on the tier's current tracker, skipping URLs we cannot use. */
static void
announce_tier_send(struct announce_tier *tier)
{
	struct announce_sched *as = tier->as;
	if (!as->running || as->stopping)
		return;
	evtimer_del(tier->timer);
	while (tier->cur < tier->n && !as->trackers[tier->order[tier->cur]].valid)
		tier->cur++;
	if (tier->cur == tier->n) {
		tier->cur = 0;
		return;         /* nothing usable in this tier; each tracker shows why */
	}
	struct announce_tracker *t = &as->trackers[tier->order[tier->cur]];
	if (announce_busy(t)) {
		if (!t->op_scrape)
			return;
		announce_cancel_op(t);
	}
	enum tracker_event ev = TRACKER_EVENT_NONE;
	if (!t->started)
		ev = TRACKER_EVENT_STARTED;
	else if (tier->completed_pending)
		ev = TRACKER_EVENT_COMPLETED;
	announce_start_op(t, ev, false);
}

static void
announce_tier_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct announce_tier *tier = arg;
	struct announce_tracker *t = &tier->as->trackers[tier->order[tier->cur]];
	struct dp_task *task = announce_task(t);
	task_cb_begin(task);
	announce_tier_send(tier);
	task_cb_end(task);
}

/* A host given as an address: its family is the only one it can be reached on. */
static bool
announce_host_is_literal(const char *host)
{
	struct in6_addr a;
	return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
}

/* Sets up tracker t of tier for url, announced over family's addresses. */
static void
announce_tracker_init(struct announce_sched *as, struct announce_tier *tier,
    struct announce_tracker *t, const char *url, int family)
{
	char err[200];
	t->as = as;
	t->tier = tier;
	t->url = xstrdup(url);
	t->family = family;
	t->seeders = t->leechers = t->downloaded = -1;
	t->interval = t->min_interval = -1;
	t->status = TRACKER_IDLE;
	t->task = task_new(DP_TASK_KIND_TRACKER, as->torrent_id, "tracker %s%s", t->url,
	    family == AF_INET6 ? " (IPv6)" : "");
	if (tracker_url_parse(t->url, &t->u, err, sizeof err) < 0) {
		t->status = TRACKER_ERROR;
		announce_copy(t->last_error, sizeof t->last_error, err);
		log_warn("tracker %s: %s", t->url, err);
		task_fail(t->task, "%s", err);
	} else if (t->u.scheme == TRACKER_SCHEME_HTTPS && as->ssl_ctx == NULL) {
		t->status = TRACKER_ERROR;
		snprintf(t->last_error, sizeof t->last_error,
		    "HTTPS is not available (no TLS context)");
		log_warn("tracker %s: %s", t->url, t->last_error);
		task_fail(t->task, "%s", t->last_error);
	} else {
		t->valid = true;
		task_idle(t->task, DP_TASK_QUEUED, "not started");
		/* What clients show as its scrape: UDP scrapes at the announce address. */
		t->scrape_url = t->u.scheme == TRACKER_SCHEME_UDP ? xstrdup(t->url) :
		    tracker_scrape_url(t->url);
		bool v6 = strchr(t->u.host, ':') != NULL;
		snprintf(t->host_key, sizeof t->host_key, "%s://%s%s%s:%u",
		    t->u.scheme == TRACKER_SCHEME_UDP ? "udp" :
		    t->u.scheme == TRACKER_SCHEME_HTTPS ? "https" : "http",
		    v6 ? "[" : "", t->u.host, v6 ? "]" : "", (unsigned)t->u.port);
	}
}

/* Whether a tracker has an entry in this lane: every one in the first, only those named by a
 * host (not an address, which has one family) in the second. */
static bool
announce_lane_wants(const char *url, size_t lane)
{
	struct tracker_url u;
	char err[200];
	return lane == 0 || tracker_url_parse(url, &u, err, sizeof err) < 0 ||
	    !announce_host_is_literal(u.host);
}

struct announce_sched *
announce_sched_new(struct event_base *base, struct evdns_base *dns, struct ssl_ctx_st *ssl_ctx,
    const struct mi_tier *tiers, size_t tier_count, const uint8_t info_hash[20], int torrent_id,
    const char *torrent_name, unsigned families, const struct announce_callbacks *cb)
{
	struct announce_sched *as = xcalloc(1, sizeof *as);
	as->base = base;
	as->dns = dns;
	as->ssl_ctx = ssl_ctx;
	memcpy(as->info_hash, info_hash, 20);
	as->torrent_id = torrent_id;
	as->name = xstrdup(torrent_name ? torrent_name : "");
	if (cb != NULL)
		as->cb = *cb;
	as->key = tracker_random32();
	/* BEP 7: reachable over both families, every named tracker is announced to once per
	 * family, each lane its own tiers with its own schedule (the same key lets the tracker
	 * tell it is one client). A tracker given as an address has one family anyway. */
	bool ipv6 = (families & ANNOUNCE_IPV6) != 0;
	bool only6 = families == ANNOUNCE_IPV6;
	size_t lanes = ipv6 && !only6 ? 2 : 1;
	/* Exactly the entries used (one is 2.6 KiB: an address given as a literal has no second
	 * lane, and 10,000 torrents on one such tracker paid for 10,000 unused ones). */
	size_t ntrackers = 0, ntiers = 0;
	for (size_t lane = 0; lane < lanes; lane++) {
		for (size_t i = 0; i < tier_count; i++) {
			size_t n = 0;
			for (size_t j = 0; j < tiers[i].count; j++)
				n += announce_lane_wants(tiers[i].urls[j], lane);
			ntrackers += n;
			ntiers += n > 0;
		}
	}
	as->trackers = xcalloc(ntrackers ? ntrackers : 1, sizeof *as->trackers);
	as->tiers = xcalloc(ntiers ? ntiers : 1, sizeof *as->tiers);
	as->stop_timer = evtimer_new(base, announce_stop_deadline_cb, as);
	size_t k = 0;
	for (size_t lane = 0; lane < lanes; lane++) {
		for (size_t i = 0; i < tier_count; i++) {
			size_t n = 0;
			for (size_t j = 0; j < tiers[i].count; j++)
				n += announce_lane_wants(tiers[i].urls[j], lane);
			if (n == 0)
				continue;
			struct announce_tier *tier = &as->tiers[as->tier_count];
			as->tier_count++;
			tier->as = as;
			tier->index = (int)as->tier_count - 1;
			tier->n = 0;
			tier->order = xcalloc(n, sizeof *tier->order);
			tier->timer = evtimer_new(base, announce_tier_timer_cb, tier);
			for (size_t j = 0; j < tiers[i].count; j++) {
				struct tracker_url u;
				char err[200];
				bool literal = tracker_url_parse(tiers[i].urls[j], &u, err, sizeof err) == 0 &&
				    announce_host_is_literal(u.host);
				if (lane == 1 && literal)
					continue;
				int family = !ipv6 || literal ? AF_UNSPEC :
				    only6 || lane == 1 ? AF_INET6 : AF_INET;
				announce_tracker_init(as, tier, &as->trackers[k], tiers[i].urls[j], family);
				tier->order[tier->n++] = k++;
			}
			/* BEP 12: the order within a tier is random, then kept by promotion. */
			tracker_tier_shuffle(tier->order, tier->n, announce_rand_cb, NULL);
		}
	}
	as->count = k;
	if (as->stop_timer == NULL)
		log_error("announce schedule for %s: cannot create a timer", as->name);
	return as;
}

void
announce_sched_start(struct announce_sched *as)
{
	if (as->running)
		return;
	as->running = true;
	as->stopping = false;
	for (size_t i = 0; i < as->tier_count; i++) {
		struct announce_tier *tier = &as->tiers[i];
		tier->fails = 0;
		for (size_t j = 0; j < tier->n; j++) {
			struct announce_tracker *t = &as->trackers[tier->order[j]];
			if (t->valid && j != tier->cur)
				task_idle(announce_task(t), DP_TASK_QUEUED, "standby in tier %d",
				    tier->index);
		}
		announce_tier_send(tier);
	}
}

void
announce_sched_completed(struct announce_sched *as)
{
	for (size_t i = 0; i < as->tier_count; i++) {
		struct announce_tier *tier = &as->tiers[i];
		tier->completed_pending = true;
		struct announce_tracker *t = &as->trackers[tier->order[tier->cur]];
		/* An announce in flight will see the flag and announce again when it ends. */
		if (as->running && !announce_busy(t) && t->started)
			announce_tier_send(tier);
	}
}

void
announce_sched_reannounce(struct announce_sched *as)
{
	if (!as->running || as->stopping)
		return;
	int64_t now = (int64_t)dp_now_ms();
	for (size_t i = 0; i < as->tier_count; i++) {
		struct announce_tier *tier = &as->tiers[i];
		struct announce_tracker *t = &as->trackers[tier->order[tier->cur]];
		if (!t->valid || (announce_busy(t) && !t->op_scrape))
			continue;
		int64_t since = t->last_announce_ms ? (now - (int64_t)t->last_announce_ms) / 1000 : -1;
		unsigned wait = t->status == TRACKER_ERROR ? 0 :
		    tracker_reannounce_wait(since, t->min_interval);
		if (wait == 0) {
			announce_tier_send(tier);
		} else {
			announce_tier_schedule(tier, wait);
			if (!announce_busy(t))
				announce_wait_next(t);
		}
	}
}

static void
announce_stop_complete(struct announce_sched *as)
{
	void (*done)(void *) = as->stop_done;
	void *arg = as->stop_arg;
	as->stop_done = NULL;
	as->stop_arg = NULL;
	if (as->stop_timer != NULL)
		evtimer_del(as->stop_timer);
	if (done != NULL)
		done(arg);
}

static void
announce_op_finish_stop(struct announce_tracker *t)
{
	struct announce_sched *as = t->as;
	t->started = false;
	t->status = TRACKER_IDLE;
	task_done(announce_task(t), "stopped");
	if (as->stop_pending > 0 && --as->stop_pending == 0)
		announce_stop_complete(as);
}

static void
announce_stop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct announce_sched *as = arg;
	for (size_t i = 0; i < as->count; i++) {
		struct announce_tracker *t = &as->trackers[i];
		if (announce_busy(t)) {
			announce_cancel_op(t);
			log_warn("tracker %s: no reply to stopped before the deadline", t->url);
			t->started = false;
			task_done(announce_task(t), "stopped (no reply before the deadline)");
		}
	}
	as->stop_pending = 0;
	announce_stop_complete(as);
}

void
announce_sched_stop(struct announce_sched *as, unsigned deadline_ms, void (*done)(void *),
    void *arg)
{
	as->running = false;
	as->stopping = true;
	as->stop_done = done;
	as->stop_arg = arg;
	as->stop_pending = 0;
	for (size_t i = 0; i < as->tier_count; i++)
		evtimer_del(as->tiers[i].timer);
	for (size_t i = 0; i < as->count; i++) {
		struct announce_tracker *t = &as->trackers[i];
		announce_cancel_op(t);
		t->next_announce = 0;
		if (t->valid && t->started) {
			as->stop_pending++;
			announce_start_op(t, TRACKER_EVENT_STOPPED, false);
		} else if (t->valid) {
			t->status = TRACKER_IDLE;
			task_done(announce_task(t), "stopped");
		}
	}
	/* The deadline, or at once (from the loop) when nothing needed a stopped. */
	if (as->stop_timer == NULL) {
		log_error("announce schedule for %s: no stop timer", as->name);
		return;
	}
	struct timeval tv = {
		.tv_sec = as->stop_pending ? deadline_ms / 1000 : 0,
		.tv_usec = as->stop_pending ? (deadline_ms % 1000) * 1000 : 0,
	};
	evtimer_add(as->stop_timer, &tv);
}

void
announce_sched_free(struct announce_sched *as)
{
	if (as == NULL)
		return;
	for (size_t i = 0; i < as->count; i++) {
		struct announce_tracker *t = &as->trackers[i];
		announce_cancel_op(t);
		if (t->task != NULL && t->task->finished_us == 0)
			task_done(t->task, "removed");
		task_release(&t->task);
		free(t->url);
		free(t->scrape_url);
	}
	for (size_t i = 0; i < as->tier_count; i++) {
		if (as->tiers[i].timer != NULL)
			event_free(as->tiers[i].timer);
		free(as->tiers[i].order);
	}
	if (as->stop_timer != NULL)
		event_free(as->stop_timer);
	free(as->tiers);
	free(as->trackers);
	free(as->name);
	free(as);
}

static enum tracker_status
announce_live_status(const struct announce_tracker *t)
{
	if (!announce_busy(t) || t->task == NULL)
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
announce_sched_rows(const struct announce_sched *as)
{
	return as->count;
}

size_t
announce_sched_info(const struct announce_sched *as, struct tracker_info *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < as->tier_count; i++) {
		const struct announce_tier *tier = &as->tiers[i];
		for (size_t j = 0; j < tier->n && n < max; j++) {
			const struct announce_tracker *t = &as->trackers[tier->order[j]];
			struct tracker_info *r = &out[n++];
			memset(r, 0, sizeof *r);
			announce_copy(r->url, sizeof r->url, t->url);
			r->tier = tier->index;
			r->ipv6 = t->family == AF_INET6;
			r->status = announce_live_status(t);
			announce_copy(r->last_error, sizeof r->last_error, t->last_error);
			announce_copy(r->last_warning, sizeof r->last_warning, t->last_warning);
			r->last_announce = t->last_announce;
			r->next_announce = t->next_announce;
			r->seeders = t->seeders;
			r->leechers = t->leechers;
			r->downloaded = t->downloaded;
			r->last_peer_count = t->last_peer_count;
			r->last_announce_start = t->last_announce_start;
			r->last_error_refused = t->last_error_refused && t->last_error[0] != '\0';
			announce_copy(r->scrape_url, sizeof r->scrape_url,
			    t->scrape_url != NULL ? t->scrape_url : "");
			r->last_scrape_start = t->last_scrape;
			r->last_scrape_end = t->last_scrape_end;
			r->last_scrape_ok = t->last_scrape_ok;
			announce_copy(r->last_scrape_error, sizeof r->last_scrape_error,
			    t->last_scrape_error);
		}
	}
	return n;
}
