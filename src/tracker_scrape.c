/* tracker_scrape.c: multi-hash scrape batches (tracker_scrape.h). A lane per tracker (its scrape
 * URL and family, or UDP host:port and family) gathers members for scrape_window_ms, waits for one
 * request slot, sends one request and hands each member its own part of the reply; members leave
 * in O(1) at any time, so a removed torrent is never written to. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "log.h"
#include "task.h"
#include "tracker.h"
#include "tracker_gate.h"
#include "tracker_private.h"
#include "tracker_scrape.h"
#include "util.h"

#define SCRAPE_LANES_MAX 4096           /* lanes kept; past it, scrapes go one by one */
#define SCRAPE_LANE_SLOTS 8192          /* a power of two, half full at most */
#define SCRAPE_HASH_URL_LEN 71          /* "&info_hash=" and 20 bytes escaped, at most */

struct scrape_lane {
	char *key;                      /* "h<family> <scrape URL>" or "u<family> host port" */
	bool udp;
	char *announce;                 /* HTTP: the first announce URL seen for the lane */
	char *host;
	uint16_t port;
	int family;
	int host_row;
	char *host_key;
	size_t max;                     /* hashes per request */
	uint64_t single_until_ms;       /* refused a batch: one hash per scrape until then (a
	                                 * refusal may be a passing error: batches are tried
	                                 * again after it); 0 = batches */
	struct tracker_udp_conn conn;
	struct tracker_scrape_batch *open;   /* still taking members (gathering or queued) */
};

struct tracker_scrape_batch {
	struct tracker_scrapes *s;
	struct scrape_lane *lane;
	struct tracker_scrape_batch *prev, *next;   /* every batch of s */
	struct tracker_scrape_member *head, *tail;
	size_t n;
	struct event_base *base;
	struct evdns_base *dns;
	struct ssl_ctx_st *ssl_ctx;
	struct event *timer;            /* the gathering window */
	struct tracker_gate_wait gate;
	bool sent;
	size_t sent_n;                  /* hashes asked */
	struct tracker_http_fetch *http;
	struct tracker_udp_op *udp;
	struct dp_task *task;           /* the request's own */
};

struct tracker_scrapes {
	struct tracker_gate *gate;
	struct scrape_lane *slot[SCRAPE_LANE_SLOTS];
	size_t lanes;
	struct tracker_scrape_batch *batches;
	uint64_t requests, hashes;
};

struct tracker_scrapes *
tracker_scrapes_new(struct tracker_gate *gate)
{
	struct tracker_scrapes *s = xcalloc(1, sizeof *s);
	s->gate = gate;
	return s;
}

static void
tracker_scrape_unlink_member(struct tracker_scrape_batch *b, struct tracker_scrape_member *m)
{
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		b->head = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	else
		b->tail = m->prev;
	m->prev = m->next = NULL;
	m->batch = NULL;
	b->n--;
}

/* Frees a batch that is over (answered, failed or dropped): nothing of it is left anywhere. */
static void
tracker_scrape_batch_free(struct tracker_scrape_batch *b)
{
	struct tracker_scrapes *s = b->s;
	if (b->lane->open == b)
		b->lane->open = NULL;
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		s->batches = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	if (b->timer != NULL)
		event_free(b->timer);
	tracker_http_fetch_cancel(b->http);
	tracker_udp_cancel(b->udp);
	if (b->task != NULL && b->task->finished_us == 0)
		task_done(b->task, "cancelled");
	task_release(&b->task);
	/* Last: the slot handed on may start another batch (never this one). */
	tracker_gate_leave(&b->gate);
	free(b);
}

void
tracker_scrapes_free(struct tracker_scrapes *s)
{
	if (s == NULL)
		return;
	while (s->batches != NULL) {
		struct tracker_scrape_batch *b = s->batches;
		while (b->head != NULL) {
			struct tracker_scrape_member *m = b->head;
			tracker_scrape_unlink_member(b, m);
			task_release(&m->task);
		}
		tracker_scrape_batch_free(b);
	}
	for (size_t i = 0; i < SCRAPE_LANE_SLOTS; i++) {
		struct scrape_lane *l = s->slot[i];
		if (l == NULL)
			continue;
		free(l->key);
		free(l->announce);
		free(l->host);
		free(l->host_key);
		free(l);
	}
	free(s);
}

/* The lane of a target, made when new; NULL when it has no scrape URL or the table is full. */
static struct scrape_lane *
tracker_scrape_lane(struct tracker_scrapes *s, const struct tracker_scrape_target *tg)
{
	char *key, *url = NULL;
	if (tg->udp) {
		key = xasprintf("u%d %s %u", tg->family, tg->host, (unsigned)tg->port);
	} else {
		url = tracker_scrape_url(tg->announce);
		if (url == NULL)
			return NULL;
		key = xasprintf("h%d %s", tg->family, url);
	}
	size_t i = (size_t)dp_fnv1a(DP_FNV1A_INIT, key, strlen(key)) & (SCRAPE_LANE_SLOTS - 1);
	for (; s->slot[i] != NULL; i = (i + 1) & (SCRAPE_LANE_SLOTS - 1)) {
		if (strcmp(s->slot[i]->key, key) == 0) {
			free(key);
			free(url);
			return s->slot[i];
		}
	}
	if (s->lanes >= SCRAPE_LANES_MAX) {
		free(key);
		free(url);
		return NULL;
	}
	struct scrape_lane *l = xcalloc(1, sizeof *l);
	l->key = key;
	l->udp = tg->udp;
	l->announce = tg->udp ? NULL : xstrdup(tg->announce);
	l->host = tg->host != NULL ? xstrdup(tg->host) : NULL;
	l->port = tg->port;
	l->family = tg->family;
	l->host_row = tg->host_row;
	l->host_key = xstrdup(tg->host_key != NULL ? tg->host_key : "");
	if (tg->udp) {
		l->max = TRACKER_SCRAPE_UDP_MAX;
	} else {
		/* The URL stays under TRACKER_SCRAPE_URL_MAX whatever the hashes escape to. */
		size_t base = strlen(url) + 1;
		size_t room = base < TRACKER_SCRAPE_URL_MAX ? (TRACKER_SCRAPE_URL_MAX - base) /
		    SCRAPE_HASH_URL_LEN : 0;
		l->max = DP_MAX(DP_MIN(room, (size_t)TRACKER_SCRAPE_HTTP_MAX), (size_t)1);
	}
	free(url);
	s->slot[i] = l;
	s->lanes++;
	return l;
}

/* Every member is told where the batch is: at most the lane's max of them, once per step. */
static void
tracker_scrape_tell(struct tracker_scrape_batch *b, size_t ahead)
{
	for (struct tracker_scrape_member *m = b->head; m != NULL; m = m->next) {
		if (b->sent && b->n > 1)
			task_wait(m->task, DP_TASK_READ_WAIT, "scraping with %zu others at tracker %s",
			    b->n - 1, b->lane->host_key);
		else if (b->sent)
			task_wait(m->task, DP_TASK_READ_WAIT, "scraping at tracker %s",
			    b->lane->host_key);
		else    /* no count of the others: more may join while it waits */
			task_idle(m->task, DP_TASK_QUEUED, "waiting for a request slot to tracker %s for "
			    "a batched scrape: %zu ahead", b->lane->host_key, ahead);
	}
}

/* Whether scrapes there go one hash at a time (a batch was refused not long ago). */
static bool
tracker_scrape_lane_single(struct scrape_lane *lane)
{
	if (lane->single_until_ms == 0)
		return false;
	if (dp_now_ms() < lane->single_until_ms)
		return true;
	lane->single_until_ms = 0;
	log_info("tracker %s: trying batched scrapes there again", lane->host_key);
	return false;
}

/* The request is over: each member still in it gets its part (results[its slot]), or err.
 * single: the tracker takes fewer hashes than asked; the members whose slot is not below have
 * (the entries the reply has: all of them without results) scrape again alone. */
static void
tracker_scrape_end(struct tracker_scrape_batch *b, const struct tracker_scrape_result *results,
    size_t have, const char *err, bool single)
{
	struct scrape_lane *lane = b->lane;
	if (single && !tracker_scrape_lane_single(lane)) {
		unsigned s = tracker_tunables.scrape_single_s;
		lane->single_until_ms = dp_now_ms() + (uint64_t)s * 1000u;
		log_info("tracker %s: a scrape of %zu torrents failed (%s): scraping one torrent at a "
		    "time there for the next %u min", lane->host_key, b->sent_n, err, (s + 59) / 60);
	}
	if (err != NULL)
		task_fail(b->task, "%s", err);
	else
		task_done(b->task, "scraped %zu torrents", b->sent_n);
	/* Members leave before their done runs: it may scrape again (a new batch) or leave. */
	while (b->head != NULL) {
		struct tracker_scrape_member *m = b->head;
		size_t slot = m->slot;
		tracker_scrape_unlink_member(b, m);
		struct dp_task *mt = m->task;
		m->task = NULL;
		if (results != NULL && slot < have)
			m->done(m, &results[slot], NULL, false);
		else
			m->done(m, NULL, err, single);
		task_release(&mt);
	}
	tracker_scrape_batch_free(b);
}

static void
tracker_scrape_http_done(void *arg, int status, const uint8_t *body, size_t len,
    const char *err)
{
	struct tracker_scrape_batch *b = arg;
	char perr[256];
	bool refused = false;
	b->http = NULL;
	task_cb_begin(b->task);
	struct dp_task *task = task_hold(b->task);
	if (err != NULL) {
		tracker_scrape_end(b, NULL, 0, err, false);
	} else if (status != 200) {
		/* A tracker that takes one hash answers a batch with an error: fall back. */
		snprintf(perr, sizeof perr, "scrape: HTTP status %d", status);
		tracker_scrape_end(b, NULL, 0, perr, b->sent_n > 1);
	} else {
		struct tracker_scrape_result *results = xcalloc(b->sent_n, sizeof *results);
		uint8_t (*hashes)[20] = xcalloc(b->sent_n, sizeof *hashes);
		for (struct tracker_scrape_member *m = b->head; m != NULL; m = m->next)
			memcpy(hashes[m->slot], m->info_hash, 20);
		/* Hashes of members that left are asked too (zeros): they match nothing we use. */
		if (tracker_http_parse_scrape_multi(body, len, (const uint8_t (*)[20])hashes,
		    b->sent_n, results, &refused, perr, sizeof perr) < 0)
			tracker_scrape_end(b, NULL, 0, perr, b->sent_n > 1);
		else
			tracker_scrape_end(b, results, b->sent_n, NULL, false);
		free(hashes);
		free(results);
	}
	task_cb_end(task);
	task_release(&task);
}

static void
tracker_scrape_udp_done(void *arg, const struct tracker_scrape_result *results, size_t n,
    const char *err)
{
	struct tracker_scrape_batch *b = arg;
	b->udp = NULL;
	/* The tracker's own error (action 3) to a batch: it may take one hash only. */
	bool single = results == NULL && b->sent_n > 1 && err != NULL &&
	    strncmp(err, "tracker error:", 14) == 0;
	/* A reply with fewer entries than hashes asked (BEP 15 lets a tracker answer fewer; some
	 * answer the first only): the rest are not unknown to it, they were not read. They scrape
	 * again alone, as every later scrape there: otherwise they would fail every time. */
	size_t have = 0;
	while (results != NULL && have < DP_MIN(n, b->sent_n) && results[have].ok)
		have++;
	char short_err[96];
	if (results != NULL && have < b->sent_n) {
		snprintf(short_err, sizeof short_err, "UDP scrape reply has entries for %zu of %zu "
		    "torrents", have, b->sent_n);
		err = short_err;
		single = true;
	}
	tracker_scrape_end(b, results, have, err, single);
}

/* The batch has its slot: one request for its members' hashes, in their order. */
static void
tracker_scrape_send(struct tracker_scrape_batch *b)
{
	struct scrape_lane *lane = b->lane;
	if (lane->open == b)
		lane->open = NULL;
	if (b->timer != NULL)
		evtimer_del(b->timer);
	b->sent = true;
	b->sent_n = b->n;
	uint8_t (*hashes)[20] = xcalloc(b->n ? b->n : 1, sizeof *hashes);
	size_t i = 0;
	for (struct tracker_scrape_member *m = b->head; m != NULL; m = m->next, i++) {
		m->slot = i;
		memcpy(hashes[i], m->info_hash, 20);
	}
	b->s->requests++;
	b->s->hashes += b->n;
	b->task = task_new(DP_TASK_KIND_TRACKER, 0, "scrape of %zu torrent%s at %s", b->n,
	    b->n == 1 ? "" : "s", lane->host_key);
	tracker_scrape_tell(b, 0);
	if (lane->udp) {
		b->udp = tracker_udp_scrape(b->base, b->dns, lane->host, lane->port, lane->family,
		    &lane->conn, (const uint8_t (*)[20])hashes, b->n, b->task,
		    tracker_scrape_udp_done, b);
		free(hashes);
		if (b->udp == NULL)
			tracker_scrape_end(b, NULL, 0, "cannot start a UDP exchange", false);
		return;
	}
	char *url = tracker_http_scrape_url_multi(lane->announce, (const uint8_t (*)[20])hashes,
	    b->n);
	free(hashes);
	b->http = url != NULL ? tracker_http_fetch_start(b->base, b->dns, b->ssl_ctx, url, "scrape",
	    lane->family, b->task, tracker_scrape_http_done, b) : NULL;
	free(url);
	if (b->http == NULL)
		tracker_scrape_end(b, NULL, 0, "cannot start an HTTP request", false);
}

static void
tracker_scrape_gate_go(struct tracker_gate_wait *w)
{
	struct tracker_scrape_batch *b = (struct tracker_scrape_batch *)(void *)((char *)w -
	    offsetof(struct tracker_scrape_batch, gate));
	tracker_scrape_send(b);
}

/* Gathered (the window passed, or full): ask for a slot. */
static void
tracker_scrape_ready(struct tracker_scrape_batch *b)
{
	if (b->timer != NULL)
		evtimer_del(b->timer);
	size_t ahead;
	if (tracker_gate_enter(b->s->gate, b->lane->host_row, b->lane->udp ? TRACKER_GATE_UDP :
	    TRACKER_GATE_HTTP, &b->gate, tracker_scrape_gate_go, &ahead))
		tracker_scrape_send(b);
	else
		tracker_scrape_tell(b, ahead);
}

static void
tracker_scrape_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tracker_scrape_batch *b = arg;
	(void)fd;
	(void)what;
	tracker_scrape_ready(b);
}

bool
tracker_scrape_join(struct tracker_scrapes *s, struct event_base *base, struct evdns_base *dns,
    struct ssl_ctx_st *ssl_ctx, const struct tracker_scrape_target *tg,
    struct tracker_scrape_member *m, struct dp_task *task)
{
	tracker_scrape_leave(m);
	if (s == NULL)
		return false;
	struct scrape_lane *lane = tracker_scrape_lane(s, tg);
	if (lane == NULL || tracker_scrape_lane_single(lane))
		return false;
	struct tracker_scrape_batch *b = lane->open;
	if (b == NULL) {
		b = xcalloc(1, sizeof *b);
		b->s = s;
		b->lane = lane;
		b->base = base;
		b->dns = dns;
		b->ssl_ctx = ssl_ctx;
		b->gate.row = -1;
		b->timer = evtimer_new(base, tracker_scrape_timer_cb, b);
		if (b->timer == NULL) {
			log_error("tracker %s: cannot create a scrape timer", lane->host_key);
			free(b);
			return false;
		}
		b->next = s->batches;
		if (s->batches != NULL)
			s->batches->prev = b;
		s->batches = b;
		lane->open = b;
		unsigned ms = tracker_tunables.scrape_window_ms;
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
		evtimer_add(b->timer, &tv);
	}
	m->batch = b;
	m->task = task_hold(task);
	m->prev = b->tail;
	m->next = NULL;
	if (b->tail != NULL)
		b->tail->next = m;
	else
		b->head = m;
	b->tail = m;
	b->n++;
	if (b->gate.queued)
		task_idle(m->task, DP_TASK_QUEUED, "waiting for a request slot to tracker %s for a "
		    "batched scrape", lane->host_key);
	else
		task_idle(m->task, DP_TASK_QUEUED, "waiting up to %u ms to scrape together with "
		    "other torrents at tracker %s", tracker_tunables.scrape_window_ms,
		    lane->host_key);
	if (b->n >= lane->max) {
		lane->open = NULL;      /* full: the next one starts another */
		if (!b->gate.queued)
			tracker_scrape_ready(b);
	}
	return true;
}

void
tracker_scrape_leave(struct tracker_scrape_member *m)
{
	struct tracker_scrape_batch *b = m->batch;
	if (b == NULL)
		return;
	tracker_scrape_unlink_member(b, m);
	task_release(&m->task);
	/* Nobody left and nothing sent: the batch goes (its slot or place in the queue too). One
	 * in flight runs to its end and is answered to nobody. */
	if (b->n == 0 && !b->sent)
		tracker_scrape_batch_free(b);
}

bool
tracker_scrape_sent(const struct tracker_scrape_member *m)
{
	return m->batch != NULL && m->batch->sent;
}

void
tracker_scrapes_counts(const struct tracker_scrapes *s, uint64_t *requests, uint64_t *hashes)
{
	*requests = s != NULL ? s->requests : 0;
	*hashes = s != NULL ? s->hashes : 0;
}
