/* announce_sched.c: when one torrent's trackers are told what: BEP 12 tiers (shuffled, the
 * tracker that answers promoted), the announce schedule (started, interval, completed, stopped,
 * retry backoff), scrapes, one task per tracker for the monitor, and rows for the trackers tab. */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
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
#include "tracker_gate.h"
#include "tracker_hosts.h"
#include "tracker_private.h"
#include "tracker_scrape.h"
#include "util.h"

#define ANNOUNCE_NUMWANT 80
/* A stopped that gets its request slot with less than this left before the stop's deadline is
 * not sent: it could not be answered in time, and the deadline would close it at once. */
#define ANNOUNCE_STOP_MIN_LEFT_US 100000u

struct announce_tier;

/* One tracker of one torrent: 10,000 torrents on one tracker hold 10,000 of these, so what is
 * rare (errors, warnings, a tracker id) is allocated when it comes, and the URL's parts kept are
 * only what an announce needs (the HTTP side parses the URL itself). */
struct announce_tracker {
	struct announce_sched *as;
	struct announce_tier *tier;
	char *url;
	char *host;                     /* the URL's host, without IPv6 brackets (valid ones) */
	enum tracker_scheme scheme;
	uint16_t port;
	int family;                     /* the tracker's addresses we use: AF_UNSPEC (any), or one
	                                   family when we announce once per family (BEP 7) */
	bool valid;                     /* a URL we can talk to */
	struct dp_task *task;
	enum tracker_status status;     /* when nothing is in flight */
	char *last_error;               /* NULL: none (as last_warning, last_scrape_error) */
	char *last_warning;
	int64_t last_announce, next_announce;
	uint64_t last_announce_ms;      /* monotonic, for min interval */
	int64_t last_scrape;            /* when the last scrape was sent (wall seconds) */
	int64_t last_scrape_end;        /* when its answer or failure came, 0 = none yet */
	bool last_scrape_ok;
	char *last_scrape_error;
	int64_t last_announce_start;
	bool last_error_refused;        /* last_error is the tracker's failure reason */
	int seeders, leechers, downloaded;
	size_t last_peer_count;
	int interval, min_interval;
	char *tracker_id;               /* the tracker's, sent back; NULL: none */
	bool started;                   /* accepted a started: it is owed a stopped */
	struct tracker_udp_conn udp;
	struct tracker_http_fetch *http;
	struct tracker_udp_op *udp_op;
	bool op_scrape;
	enum tracker_event op_event;
	bool stop_held;                 /* holds a slot for a stopped it will not send (too late) */
	uint64_t op_start_us;           /* monotonic: when the op in flight was sent */
	struct tracker_gate_wait gate;  /* its place at the tracker's request slots */
	struct tracker_scrape_member scrape;    /* its place in a multi-hash scrape */
	int host_row;                   /* its row in cb.hosts: -2 not looked up, -1 none */
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
	uint64_t stop_deadline_us;      /* the stop's deadline (monotonic), 0: not stopping */
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

/* Copies a string into a fixed field, cutting it when it does not fit (NULL: ""). */
static void
announce_copy(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? DP_MIN(strlen(src), size - 1) : 0;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Keeps a message (cut at max bytes, as the rows show it) or none (NULL or ""). */
static void
announce_set(char **dst, const char *src, size_t max)
{
	char *v = src != NULL && src[0] != '\0' ? xstrndup(src, max) : NULL;
	free(*dst);
	*dst = v;
}

#define ANNOUNCE_MSG_MAX 255            /* a row's last_error and the like hold this much */

/* ---- the announce key and tier shuffles: unpredictable to others, cheap per torrent ---- */

/* SipHash-2-4 of one 64-bit word under the 128-bit key k. */
#define ANNOUNCE_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define ANNOUNCE_SIPROUND \
	do { \
		v0 += v1; v1 = ANNOUNCE_ROTL(v1, 13); v1 ^= v0; v0 = ANNOUNCE_ROTL(v0, 32); \
		v2 += v3; v3 = ANNOUNCE_ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ANNOUNCE_ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ANNOUNCE_ROTL(v1, 17); v1 ^= v2; v2 = ANNOUNCE_ROTL(v2, 32); \
	} while (0)

static uint64_t
announce_siphash(const uint64_t k[2], uint64_t m)
{
	uint64_t v0 = k[0] ^ 0x736f6d6570736575ull, v1 = k[1] ^ 0x646f72616e646f6dull;
	uint64_t v2 = k[0] ^ 0x6c7967656e657261ull, v3 = k[1] ^ 0x7465646279746573ull;
	uint64_t b = (uint64_t)8 << 56;
	v3 ^= m;
	ANNOUNCE_SIPROUND;
	ANNOUNCE_SIPROUND;
	v0 ^= m;
	v3 ^= b;
	ANNOUNCE_SIPROUND;
	ANNOUNCE_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	ANNOUNCE_SIPROUND;
	ANNOUNCE_SIPROUND;
	ANNOUNCE_SIPROUND;
	ANNOUNCE_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t announce_rand_key[2];
static uint64_t announce_rand_next;
static pthread_once_t announce_rand_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t announce_rand_lock = PTHREAD_MUTEX_INITIALIZER;

static void
announce_rand_seed(void)
{
	for (size_t i = 0; i < 2; i++)
		announce_rand_key[i] = (uint64_t)tracker_random32() << 32 | tracker_random32();
}

/*
 * 32 random bits for an announce key or a shuffle: a keyed hash (SipHash) of a counter under a
 * key drawn once from the system CSPRNG, so others cannot predict one from those they see (the
 * key is what lets a tracker trust an announce from a changed address), at a fraction of a
 * RAND_bytes per torrent (10,000 at a restart).
 */
static uint32_t
announce_rand32(void)
{
	pthread_once(&announce_rand_once, announce_rand_seed);
	pthread_mutex_lock(&announce_rand_lock);
	uint64_t n = announce_rand_next++;
	pthread_mutex_unlock(&announce_rand_lock);
	return (uint32_t)announce_siphash(announce_rand_key, n);
}

static uint32_t
announce_rand_cb(void *arg)
{
	(void)arg;
	return announce_rand32();
}

/* The tracker's row in tracker_hosts: "udp://host:port". */
static void
announce_host_key(const struct announce_tracker *t, char *out, size_t size)
{
	bool v6 = strchr(t->host, ':') != NULL;
	snprintf(out, size, "%s://%s%s%s:%u", t->scheme == TRACKER_SCHEME_UDP ? "udp" :
	    t->scheme == TRACKER_SCHEME_HTTPS ? "https" : "http", v6 ? "[" : "", t->host,
	    v6 ? "]" : "", (unsigned)t->port);
}

/* An op in flight, or waiting for a request slot to send one. */
static bool
announce_busy(const struct announce_tracker *t)
{
	return t->http != NULL || t->udp_op != NULL || t->gate.queued || t->gate.holding ||
	    t->scrape.batch != NULL;
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
	tracker_gate_leave(&t->gate);
	t->stop_held = false;
	tracker_scrape_leave(&t->scrape);
	tracker_http_fetch_cancel(t->http);
	t->http = NULL;
	tracker_udp_cancel(t->udp_op);
	t->udp_op = NULL;
}

static void announce_tier_timer_cb(evutil_socket_t fd, short what, void *arg);

/* The tier's timer is made when first needed: a torrent that never starts has none. */
static void
announce_tier_schedule(struct announce_tier *tier, unsigned delay_s)
{
	struct timeval tv = { .tv_sec = delay_s, .tv_usec = 0 };
	if (tier->timer == NULL)
		tier->timer = evtimer_new(tier->as->base, announce_tier_timer_cb, tier);
	if (tier->timer != NULL)
		evtimer_add(tier->timer, &tv);
	else
		log_error("announce schedule for %s: cannot create a timer", tier->as->name);
	struct announce_tracker *t = &tier->as->trackers[tier->order[tier->cur]];
	t->next_announce = dp_wall_time() + delay_s;
}

static void announce_http_done(void *arg, int status, const uint8_t *body, size_t len,
    const char *err);
static void announce_udp_done(void *arg, const struct tracker_response *resp, const char *err);

/* Sends the op set up by announce_start_op; its result arrives in announce_*_done. */
static void
announce_send_op(struct announce_tracker *t)
{
	struct announce_sched *as = t->as;
	enum tracker_event ev = t->op_event;
	bool scrape = t->op_scrape;
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
	req.tracker_id = t->tracker_id;
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
	if (t->scheme == TRACKER_SCHEME_UDP) {
		t->udp_op = tracker_udp_start(as->base, as->dns, t->host, t->port, t->family,
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

static void
announce_gate_go(struct tracker_gate_wait *w)
{
	struct announce_tracker *t = (struct announce_tracker *)(void *)((char *)w -
	    offsetof(struct announce_tracker, gate));
	/* The slot came as the stop's deadline is due (the first torrents' deadlines free slots
	 * in the same loop turn as the others'): it is kept, unsent, until this torrent's own
	 * deadline callback drops it. Letting go of it here would hand it on to the next one
	 * just as late, a chain of calls as long as the queue. */
	if (t->op_event == TRACKER_EVENT_STOPPED && t->as->stop_deadline_us != 0 &&
	    dp_now_us() + ANNOUNCE_STOP_MIN_LEFT_US >= t->as->stop_deadline_us) {
		t->stop_held = true;
		task_idle(announce_task(t), DP_TASK_QUEUED, "stopped not sent: the stop's deadline "
		    "is due");
		return;
	}
	announce_send_op(t);
}

static void announce_start_op(struct announce_tracker *t, enum tracker_event ev, bool scrape);
static void announce_op_done(struct announce_tracker *t, struct tracker_response *r,
    const char *err);

/* t's part of a multi-hash scrape came back (or the tracker refused the batch: scrape alone). */
static void
announce_scrape_done(struct tracker_scrape_member *m, const struct tracker_scrape_result *r,
    const char *err, bool single)
{
	struct announce_tracker *t = (struct announce_tracker *)(void *)((char *)m -
	    offsetof(struct announce_tracker, scrape));
	if (single) {
		announce_start_op(t, TRACKER_EVENT_NONE, true);
		return;
	}
	struct tracker_response resp;
	memset(&resp, 0, sizeof resp);
	tracker_response_clear(&resp);
	if (r != NULL && r->ok) {
		resp.complete = r->complete;
		resp.incomplete = r->incomplete;
		resp.downloaded = r->downloaded;
		announce_op_done(t, &resp, NULL);
	} else {
		announce_op_done(t, NULL, r != NULL ? r->err : err != NULL ? err : "no scrape reply");
	}
}

/* A scrape joins the batch gathering for its tracker (true), unless the tracker takes one hash
 * at a time or there is no batching (no tracker table): then it goes alone. */
static bool
announce_scrape_join(struct announce_tracker *t)
{
	struct announce_sched *as = t->as;
	struct tracker_scrapes *s = tracker_hosts_scrapes(as->cb.hosts);
	if (s == NULL)
		return false;
	char key[300];
	announce_host_key(t, key, sizeof key);
	if (t->host_row == -2)
		t->host_row = tracker_hosts_index(as->cb.hosts, key);
	struct tracker_scrape_target tg = {
		.announce = t->url, .udp = t->scheme == TRACKER_SCHEME_UDP, .host = t->host,
		.port = t->port, .family = t->family, .host_row = t->host_row, .host_key = key,
	};
	memcpy(t->scrape.info_hash, as->info_hash, 20);
	t->scrape.done = announce_scrape_done;
	if (!tracker_scrape_join(s, as->base, as->dns, as->ssl_ctx, &tg, &t->scrape,
	    announce_task(t)))
		return false;
	t->op_start_us = dp_now_us();
	t->last_scrape = dp_wall_time();
	return true;
}

/*
 * Starts an announce or scrape on t once the tracker has a request slot free: thousands of
 * torrents on one tracker (a restart) ask it TRACKER_GATE_HTTP at a time, and their later
 * announces keep the spacing the slots gave them. A stopped goes ahead of the others, with more
 * slots (a shutdown's thousands have a short deadline), yet never all at once; what has not
 * gone by the deadline is dropped (announce_stop_deadline_cb).
 */
static void
announce_start_op(struct announce_tracker *t, enum tracker_event ev, bool scrape)
{
	struct announce_sched *as = t->as;
	t->op_scrape = scrape;
	t->op_event = ev;
	if (scrape && announce_scrape_join(t))
		return;
	struct tracker_gate *g = tracker_hosts_gate(as->cb.hosts);
	if (g == NULL) {
		announce_send_op(t);
		return;
	}
	char key[300];
	announce_host_key(t, key, sizeof key);
	if (t->host_row == -2)
		t->host_row = tracker_hosts_index(as->cb.hosts, key);
	bool udp = t->scheme == TRACKER_SCHEME_UDP;
	size_t ahead;
	bool now;
	if (ev == TRACKER_EVENT_STOPPED)
		now = tracker_gate_enter_first(g, t->host_row, udp ? TRACKER_GATE_STOP_UDP :
		    TRACKER_GATE_STOP_HTTP, &t->gate, announce_gate_go, &ahead);
	else
		now = tracker_gate_enter(g, t->host_row, udp ? TRACKER_GATE_UDP : TRACKER_GATE_HTTP,
		    &t->gate, announce_gate_go, &ahead);
	if (now) {
		announce_send_op(t);
		return;
	}
	struct dp_task *task = announce_task(t);
	if (ev == TRACKER_EVENT_STOPPED) {
		/* Its deadline is the stop's (announce_sched_stop sets the task's). */
		task_idle(task, DP_TASK_QUEUED, "waiting for a request slot to tracker %s to send "
		    "stopped: %zu stopped ahead", key, ahead);
		return;
	}
	task_idle(task, DP_TASK_QUEUED, "waiting for a request slot to tracker %s: %zu ahead",
	    key, ahead);
	task_set_deadline(task, 0);
}

static bool
announce_can_scrape(const struct announce_tracker *t)
{
	if (t->scheme == TRACKER_SCHEME_UDP)
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

/* d plus up to d / part more, at random: torrents that failed or started together do not stay
 * in step (a dead tracker's 10,000 torrents would otherwise all retry in the same second). */
static unsigned
announce_jitter(unsigned d, unsigned part)
{
	unsigned span = d / part;
	return span > 0 ? d + announce_rand32() % (span + 1) : d;
}

/* The current tracker of the tier failed: try the next one now, or back off. */
static void
announce_tier_failed(struct announce_tier *tier, struct announce_tracker *t, const char *err)
{
	struct announce_sched *as = tier->as;
	t->status = TRACKER_ERROR;
	announce_set(&t->last_error, err, ANNOUNCE_MSG_MAX);
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
	unsigned delay = announce_jitter(tracker_retry_delay(tier->fails), 4);
	announce_tier_schedule(tier, delay);
	struct announce_tracker *first = &as->trackers[tier->order[0]];
	if (first != t) {
		task_idle(announce_task(t), DP_TASK_QUEUED, "standby in tier %d after: %s",
		    tier->index, err);
		task_set_deadline(announce_task(t), 0);
	}
	task_wait(announce_task(first), DP_TASK_TIMER_WAIT, "a retry (back-off %u s) after: %.80s",
	    delay, first->last_error != NULL ? first->last_error : err);
	task_set_deadline(announce_task(first), dp_now_us() + (uint64_t)delay * 1000000ull);
}

static void
announce_accepted(struct announce_tracker *t, struct tracker_response *r)
{
	struct announce_sched *as = t->as;
	struct announce_tier *tier = t->tier;
	announce_set(&t->last_warning, r->warning, ANNOUNCE_MSG_MAX);
	if (r->warning[0])
		log_warn("tracker %s: warning: %s", t->url, r->warning);
	if (r->tracker_id[0])
		announce_set(&t->tracker_id, r->tracker_id, 127);
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
	announce_set(&t->last_error, NULL, 0);
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
	/* The first interval is stretched by up to a tenth at random, so the torrents a restart
	 * started together come back spread over it (never sooner than the tracker asked). */
	if (t->op_event == TRACKER_EVENT_STARTED)
		delay = announce_jitter(delay, 10);
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
	if (as->cb.hosts != NULL) {
		char key[300];
		announce_host_key(t, key, sizeof key);
		tracker_hosts_note(as->cb.hosts, key, t->op_scrape, err == NULL,
		    dp_now_us() - t->op_start_us);
	}
	if (t->op_event == TRACKER_EVENT_STOPPED) {
		if (err != NULL)
			log_warn("tracker %s: stopped announce failed: %s", t->url, err);
		announce_op_finish_stop(t);
		return;
	}
	if (t->op_scrape) {
		t->last_scrape_end = dp_wall_time();
		t->last_scrape_ok = err == NULL;
		announce_set(&t->last_scrape_error, err, ANNOUNCE_MSG_MAX);
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
	tracker_gate_leave(&t->gate);
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
	tracker_gate_leave(&t->gate);
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
	if (tier->timer != NULL)
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

/* A URL of the metainfo's tiers, parsed once for both lanes. */
struct announce_url {
	const char *url;
	bool ok;                        /* parsed */
	bool literal;                   /* its host is an address: one family, one lane */
	enum tracker_scheme scheme;
	uint16_t port;
	char *host;
	char *err;                      /* why it does not parse */
};

static void
announce_url_parse(struct announce_url *pu, const char *url)
{
	struct tracker_url u;
	char err[200];
	pu->url = url;
	if (tracker_url_parse(url, &u, err, sizeof err) < 0) {
		pu->err = xstrdup(err);
		return;
	}
	pu->ok = true;
	pu->literal = announce_host_is_literal(u.host);
	pu->scheme = u.scheme;
	pu->port = u.port;
	pu->host = xstrdup(u.host);
}

/* Sets up tracker t of tier for the URL pu, announced over family's addresses. */
static void
announce_tracker_init(struct announce_sched *as, struct announce_tier *tier,
    struct announce_tracker *t, const struct announce_url *pu, int family)
{
	t->as = as;
	t->tier = tier;
	t->url = xstrdup(pu->url);
	t->family = family;
	t->seeders = t->leechers = t->downloaded = -1;
	t->interval = t->min_interval = -1;
	t->status = TRACKER_IDLE;
	t->host_row = -2;
	t->gate.row = -1;
	t->task = task_new(DP_TASK_KIND_TRACKER, as->torrent_id, "tracker %s%s", t->url,
	    family == AF_INET6 ? " (IPv6)" : "");
	if (!pu->ok) {
		t->status = TRACKER_ERROR;
		announce_set(&t->last_error, pu->err, ANNOUNCE_MSG_MAX);
		log_warn("tracker %s: %s", t->url, pu->err);
		task_fail(t->task, "%s", pu->err);
	} else if (pu->scheme == TRACKER_SCHEME_HTTPS && as->ssl_ctx == NULL) {
		t->status = TRACKER_ERROR;
		announce_set(&t->last_error, "HTTPS is not available (no TLS context)",
		    ANNOUNCE_MSG_MAX);
		log_warn("tracker %s: %s", t->url, t->last_error);
		task_fail(t->task, "%s", t->last_error);
	} else {
		t->valid = true;
		t->scheme = pu->scheme;
		t->port = pu->port;
		t->host = xstrdup(pu->host);
		task_idle(t->task, DP_TASK_QUEUED, "not started");
	}
}

/* Whether a tracker has an entry in this lane: every one in the first, only those named by a
 * host (not an address, which has one family) in the second. */
static bool
announce_lane_wants(const struct announce_url *pu, size_t lane)
{
	return lane == 0 || !pu->ok || !pu->literal;
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
	as->key = announce_rand32();
	/* BEP 7: reachable over both families, every named tracker is announced to once per
	 * family, each lane its own tiers with its own schedule (the same key lets the tracker
	 * tell it is one client). A tracker given as an address has one family anyway. */
	bool ipv6 = (families & ANNOUNCE_IPV6) != 0;
	bool only6 = families == ANNOUNCE_IPV6;
	size_t lanes = ipv6 && !only6 ? 2 : 1;
	size_t nurls = 0;
	for (size_t i = 0; i < tier_count; i++)
		nurls += tiers[i].count;
	struct announce_url *urls = xcalloc(nurls ? nurls : 1, sizeof *urls);
	for (size_t i = 0, k = 0; i < tier_count; i++)
		for (size_t j = 0; j < tiers[i].count; j++)
			announce_url_parse(&urls[k++], tiers[i].urls[j]);
	/* Exactly the entries used: an address given as a literal has no second lane. */
	size_t ntrackers = 0, ntiers = 0;
	for (size_t lane = 0; lane < lanes; lane++) {
		for (size_t i = 0, k = 0; i < tier_count; i++) {
			size_t n = 0;
			for (size_t j = 0; j < tiers[i].count; j++)
				n += announce_lane_wants(&urls[k++], lane);
			ntrackers += n;
			ntiers += n > 0;
		}
	}
	as->trackers = xcalloc(ntrackers ? ntrackers : 1, sizeof *as->trackers);
	as->tiers = xcalloc(ntiers ? ntiers : 1, sizeof *as->tiers);
	size_t k = 0;
	for (size_t lane = 0; lane < lanes; lane++) {
		for (size_t i = 0, u0 = 0; i < tier_count; u0 += tiers[i].count, i++) {
			size_t n = 0;
			for (size_t j = 0; j < tiers[i].count; j++)
				n += announce_lane_wants(&urls[u0 + j], lane);
			if (n == 0)
				continue;
			struct announce_tier *tier = &as->tiers[as->tier_count];
			as->tier_count++;
			tier->as = as;
			tier->index = (int)as->tier_count - 1;
			tier->n = 0;
			tier->order = xcalloc(n, sizeof *tier->order);
			for (size_t j = 0; j < tiers[i].count; j++) {
				const struct announce_url *pu = &urls[u0 + j];
				if (!announce_lane_wants(pu, lane))
					continue;
				int family = !ipv6 || (pu->ok && pu->literal) ? AF_UNSPEC :
				    only6 || lane == 1 ? AF_INET6 : AF_INET;
				announce_tracker_init(as, tier, &as->trackers[k], pu, family);
				tier->order[tier->n++] = k++;
			}
			/* BEP 12: the order within a tier is random, then kept by promotion. */
			tracker_tier_shuffle(tier->order, tier->n, announce_rand_cb, NULL);
		}
	}
	as->count = k;
	for (size_t i = 0; i < nurls; i++) {
		free(urls[i].host);
		free(urls[i].err);
	}
	free(urls);
	return as;
}

void
announce_sched_start(struct announce_sched *as)
{
	if (as->running)
		return;
	as->running = true;
	as->stopping = false;
	as->stop_deadline_us = 0;
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
			bool unsent = t->gate.queued || t->stop_held;
			announce_cancel_op(t);
			/* A shutdown drops thousands at once: one line per tracker with the count. */
			char key[300];
			announce_host_key(t, key, sizeof key);
			tracker_hosts_stop_dropped(as->cb.hosts, as->base, key, unsent);
			if (as->cb.hosts == NULL)
				log_warn("tracker %s: no reply to stopped before the deadline", t->url);
			t->started = false;
			task_done(announce_task(t), unsent ? "stopped (not sent: no request slot to "
			    "the tracker before the deadline)" : "stopped (no reply before the deadline)");
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
	as->stop_deadline_us = dp_now_us() + (uint64_t)deadline_ms * 1000u;
	for (size_t i = 0; i < as->tier_count; i++)
		if (as->tiers[i].timer != NULL)
			evtimer_del(as->tiers[i].timer);
	for (size_t i = 0; i < as->count; i++) {
		struct announce_tracker *t = &as->trackers[i];
		announce_cancel_op(t);
		t->next_announce = 0;
		if (t->valid && t->started) {
			as->stop_pending++;
			announce_start_op(t, TRACKER_EVENT_STOPPED, false);
			if (t->gate.queued)
				task_set_deadline(announce_task(t), dp_now_us() +
				    (uint64_t)deadline_ms * 1000u);
		} else if (t->valid) {
			t->status = TRACKER_IDLE;
			task_done(announce_task(t), "stopped");
		}
	}
	/* The deadline, or at once (from the loop) when nothing needed a stopped. */
	if (as->stop_timer == NULL)
		as->stop_timer = evtimer_new(as->base, announce_stop_deadline_cb, as);
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
		free(t->host);
		free(t->last_error);
		free(t->last_warning);
		free(t->last_scrape_error);
		free(t->tracker_id);
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
	if (!announce_busy(t) || t->gate.queued || t->task == NULL ||
	    (t->scrape.batch != NULL && !tracker_scrape_sent(&t->scrape)))
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
			r->last_error_refused = t->last_error_refused && t->last_error != NULL;
			/* What clients show as its scrape: UDP scrapes at the announce address. */
			if (t->valid && t->scheme == TRACKER_SCHEME_UDP) {
				announce_copy(r->scrape_url, sizeof r->scrape_url, t->url);
			} else if (t->valid) {
				char *su = tracker_scrape_url(t->url);
				announce_copy(r->scrape_url, sizeof r->scrape_url, su);
				free(su);
			}
			r->last_scrape_start = t->last_scrape;
			r->last_scrape_end = t->last_scrape_end;
			r->last_scrape_ok = t->last_scrape_ok;
			announce_copy(r->last_scrape_error, sizeof r->last_scrape_error,
			    t->last_scrape_error);
		}
	}
	return n;
}

/* What the torrent's status says of its trackers, read off the schedule (torrent_fill_stats runs
 * for every torrent of a torrent-get: no rows are filled for it). The rows as
 * announce_sched_info orders them, at most ANNOUNCE_STATUS_ROWS. */
void
announce_sched_status(const struct announce_sched *as, char *out, size_t size)
{
	size_t n = 0, ok = 0;
	const struct announce_tracker *first = NULL, *err = NULL;
	for (size_t i = 0; i < as->tier_count && n < ANNOUNCE_STATUS_ROWS; i++) {
		const struct announce_tier *tier = &as->tiers[i];
		for (size_t j = 0; j < tier->n && n < ANNOUNCE_STATUS_ROWS; j++, n++) {
			const struct announce_tracker *t = &as->trackers[tier->order[j]];
			enum tracker_status st = announce_live_status(t);
			if (first == NULL)
				first = t;
			if (st == TRACKER_OK)
				ok++;
			else if (st == TRACKER_ERROR && err == NULL)
				err = t;
		}
	}
	if (ok > 0)
		snprintf(out, size, "ok (%zu of %zu)", ok, n);
	else if (err != NULL)
		snprintf(out, size, "error: %.*s", ANNOUNCE_MSG_MAX,
		    err->last_error != NULL ? err->last_error : "");
	else if (first != NULL)
		snprintf(out, size, "%s", tracker_status_name(announce_live_status(first)));
}
