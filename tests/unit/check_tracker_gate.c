/* check_tracker_gate.c: the per-tracker request slots (tracker_gate.c): FIFO order, leaving the
 * queue, slots handed on when a request ends inside its own start; and on a loop, many torrents
 * announcing to one in-process HTTP tracker never have more than TRACKER_GATE_HTTP requests in
 * flight, all are answered, and a tracker that never answers holds up only its own torrents. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <check.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "announce_sched.h"
#include "metainfo.h"
#include "task.h"
#include "tracker.h"
#include "tracker_gate.h"
#include "tracker_hosts.h"
#include "tracker_private.h"
#include "suites.h"
#include "test_helpers.h"

/* ---- the gate alone ---- */

struct gate_probe {
	struct tracker_gate_wait w;
	int order;                      /* when it got its slot, 0 = not yet */
	bool end_at_once;               /* its request fails inside go() */
};

static int gate_granted;

static void
gate_probe_go(struct tracker_gate_wait *w)
{
	struct gate_probe *p = (struct gate_probe *)(void *)w;
	p->order = ++gate_granted;
	if (p->end_at_once)
		tracker_gate_leave(w);
}

START_TEST(test_gate_fifo_and_cancel)
{
	struct tracker_gate *g = tracker_gate_new(4);
	struct gate_probe p[6];
	memset(p, 0, sizeof p);
	gate_granted = 0;
	size_t ahead;
	ck_assert(tracker_gate_enter(g, 1, 2, &p[0].w, gate_probe_go, &ahead));
	ck_assert(tracker_gate_enter(g, 1, 2, &p[1].w, gate_probe_go, &ahead));
	for (int i = 2; i < 6; i++) {
		ck_assert(!tracker_gate_enter(g, 1, 2, &p[i].w, gate_probe_go, &ahead));
		ck_assert_uint_eq(ahead, (size_t)i - 2);
	}
	ck_assert_uint_eq(tracker_gate_in_flight(g, 1), 2);
	ck_assert_uint_eq(tracker_gate_waiting(g, 1), 4);
	/* Another row is not held up by row 1. */
	struct gate_probe other;
	memset(&other, 0, sizeof other);
	ck_assert(tracker_gate_enter(g, 2, 2, &other.w, gate_probe_go, &ahead));
	/* Cancelled while queued (the middle, then the tail): out of the queue, never granted. */
	tracker_gate_leave(&p[3].w);
	tracker_gate_leave(&p[5].w);
	ck_assert_uint_eq(tracker_gate_waiting(g, 1), 2);
	ck_assert(!p[3].w.queued && !p[3].w.holding);
	/* p[2] fails inside its own start: its slot goes straight on to p[4]. */
	p[2].end_at_once = true;
	tracker_gate_leave(&p[0].w);
	ck_assert_int_eq(p[2].order, 1);
	ck_assert_int_eq(p[4].order, 2);
	ck_assert_int_eq(p[3].order, 0);
	ck_assert_int_eq(p[5].order, 0);
	ck_assert_uint_eq(tracker_gate_in_flight(g, 1), 2);
	ck_assert_uint_eq(tracker_gate_waiting(g, 1), 0);
	tracker_gate_leave(&p[1].w);
	tracker_gate_leave(&p[4].w);
	tracker_gate_leave(&p[4].w);    /* twice: nothing */
	ck_assert_uint_eq(tracker_gate_in_flight(g, 1), 0);
	/* Past the table: no gate, always at once. */
	struct gate_probe past;
	memset(&past, 0, sizeof past);
	ck_assert(tracker_gate_enter(g, 4, 1, &past.w, gate_probe_go, &ahead));
	ck_assert(tracker_gate_enter(g, -1, 1, &past.w, gate_probe_go, &ahead));
	tracker_gate_leave(&past.w);
	tracker_gate_leave(&other.w);
	tracker_gate_free(g);
}
END_TEST

/* Urgent requests (stopped announces) wait only behind each other, ahead of the others, and go
 * while fewer than their own (larger) limit are in flight; a regular one still waits for its. */
START_TEST(test_gate_urgent_first)
{
	struct tracker_gate *g = tracker_gate_new(2);
	struct gate_probe p[8];
	memset(p, 0, sizeof p);
	gate_granted = 0;
	size_t ahead;
	ck_assert(tracker_gate_enter(g, 0, 2, &p[0].w, gate_probe_go, &ahead));
	ck_assert(tracker_gate_enter(g, 0, 2, &p[1].w, gate_probe_go, &ahead));
	ck_assert(!tracker_gate_enter(g, 0, 2, &p[2].w, gate_probe_go, &ahead));
	ck_assert(!tracker_gate_enter(g, 0, 2, &p[3].w, gate_probe_go, &ahead));
	ck_assert_uint_eq(ahead, 1);
	/* Room under the urgent limit (4): at once, past the two regular ones waiting. */
	ck_assert(tracker_gate_enter_first(g, 0, 4, &p[4].w, gate_probe_go, &ahead));
	ck_assert(tracker_gate_enter_first(g, 0, 4, &p[5].w, gate_probe_go, &ahead));
	ck_assert_uint_eq(tracker_gate_in_flight(g, 0), 4);
	ck_assert(!tracker_gate_enter_first(g, 0, 4, &p[6].w, gate_probe_go, &ahead));
	ck_assert_uint_eq(ahead, 0);
	ck_assert(!tracker_gate_enter_first(g, 0, 4, &p[7].w, gate_probe_go, &ahead));
	ck_assert_uint_eq(ahead, 1);
	ck_assert_uint_eq(tracker_gate_waiting(g, 0), 4);
	/* The queue is p6 p7 p2 p3: a freed slot goes to the urgent ones in their order. */
	tracker_gate_leave(&p[0].w);
	ck_assert_int_eq(p[6].order, 1);
	ck_assert_int_eq(p[7].order, 0);
	/* The last urgent leaves the queue: the next urgent one lines up after the others. */
	tracker_gate_leave(&p[7].w);
	ck_assert(!tracker_gate_enter_first(g, 0, 4, &p[7].w, gate_probe_go, &ahead));
	ck_assert_uint_eq(ahead, 0);
	tracker_gate_leave(&p[1].w);
	ck_assert_int_eq(p[7].order, 2);
	/* Four in flight, all urgent: the regular ones wait until fewer than 2 are. */
	tracker_gate_leave(&p[4].w);
	tracker_gate_leave(&p[5].w);
	ck_assert_int_eq(p[2].order, 0);
	tracker_gate_leave(&p[6].w);
	ck_assert_int_eq(p[2].order, 3);
	ck_assert_int_eq(p[3].order, 0);
	tracker_gate_leave(&p[7].w);
	ck_assert_int_eq(p[3].order, 4);
	ck_assert_uint_eq(tracker_gate_waiting(g, 0), 0);
	tracker_gate_leave(&p[2].w);
	tracker_gate_leave(&p[3].w);
	ck_assert_uint_eq(tracker_gate_in_flight(g, 0), 0);
	tracker_gate_free(g);
}
END_TEST

/* ---- on a loop ---- */

#define GATE_TORRENTS 40

struct glab {
	struct event_base *base;
	struct evdns_base *dns;
	struct evhttp *http;
	uint16_t live_port, dead_port;
	int dead_fd;                    /* listens, never accepts: a tracker that never answers */
	struct tracker_hosts *hosts;
	struct evhttp_request *held[64];
	size_t nheld, max_held, served;
	size_t max_in_flight;
	int live_row, dead_row;
	struct event *tick;
	struct announce_sched *live[GATE_TORRENTS], *dead[GATE_TORRENTS];
	size_t peers_live;
	bool hang;                      /* the live tracker stops answering */
	size_t stops_done;
};

/* A request dropped by its client (a stopped past its deadline) is no longer open at the
 * tracker: it leaves the held ones (libevent frees it with its connection). */
static void
glab_closed(struct evhttp_connection *c, void *arg)
{
	struct glab *lab = arg;
	for (size_t i = 0; i < lab->nheld; i++) {
		if (evhttp_request_get_connection(lab->held[i]) == c) {
			lab->held[i] = lab->held[--lab->nheld];
			return;
		}
	}
}

/* The live tracker holds each request until the next tick, so they pile up if nothing stops
 * them; max_held is the most open at once. */
static void
glab_http_cb(struct evhttp_request *req, void *arg)
{
	struct glab *lab = arg;
	ck_assert_uint_lt(lab->nheld, 64);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), glab_closed, lab);
	lab->held[lab->nheld++] = req;
	if (lab->nheld > lab->max_held)
		lab->max_held = lab->nheld;
}

static void
glab_tick(evutil_socket_t fd, short what, void *arg)
{
	struct glab *lab = arg;
	(void)fd;
	(void)what;
	size_t n = tracker_gate_in_flight(tracker_hosts_gate(lab->hosts), lab->live_row);
	if (n > lab->max_in_flight)
		lab->max_in_flight = n;
	if (lab->hang)
		return;
	for (size_t i = 0; i < lab->nheld; i++) {
		struct evbuffer *out = evbuffer_new();
		/* counts given: no scrape follows; one peer so the answer is seen */
		evbuffer_add_printf(out, "d8:completei1e10:downloadedi1e10:incompletei1e"
		    "8:intervali1800e5:peers6:");
		evbuffer_add(out, "\x7f\x00\x00\x01\x1a\xe1", 6);
		evbuffer_add_printf(out, "e");
		evhttp_send_reply(lab->held[i], 200, "OK", out);
		evbuffer_free(out);
		lab->served++;
	}
	lab->nheld = 0;
}

static void
glab_fill(void *arg, struct tracker_request *req)
{
	(void)arg;
	req->port = 6881;
	req->left = 1000;
	memset(req->peer_id, 'G', 20);
}

static void
glab_peers(void *arg, const struct tracker_peer *peers, size_t n)
{
	struct glab *lab = arg;
	(void)peers;
	lab->peers_live += n;
}

static uint16_t
glab_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	return ntohs(sin.sin_port);
}

static void
glab_init(struct glab *lab)
{
	memset(lab, 0, sizeof *lab);
	tracker_tunables_reset();
	tracker_tunables.http_timeout_ms = 8000;
	evthread_use_pthreads();
	lab->base = event_base_new();
	ck_assert_ptr_nonnull(lab->base);
	lab->dns = evdns_base_new(lab->base, 0);
	ck_assert_ptr_nonnull(lab->dns);
	lab->http = evhttp_new(lab->base);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(lab->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	lab->live_port = glab_port(evhttp_bound_socket_get_fd(bs));
	evhttp_set_gencb(lab->http, glab_http_cb, lab);
	lab->dead_fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lab->dead_fd, 0);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lab->dead_fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(lab->dead_fd, 128), 0);
	lab->dead_port = glab_port(lab->dead_fd);
	lab->hosts = tracker_hosts_new();
	char key[64];
	snprintf(key, sizeof key, "http://127.0.0.1:%u", lab->live_port);
	lab->live_row = tracker_hosts_index(lab->hosts, key);
	snprintf(key, sizeof key, "http://127.0.0.1:%u", lab->dead_port);
	lab->dead_row = tracker_hosts_index(lab->hosts, key);
	lab->tick = event_new(lab->base, -1, EV_PERSIST, glab_tick, lab);
	struct timeval tv = { 0, 50000 };
	event_add(lab->tick, &tv);
}

static struct announce_sched *
glab_sched(struct glab *lab, uint16_t port, int id)
{
	char url[128];
	uint8_t ih[20];
	memset(ih, id, sizeof ih);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", port);
	char *urls[] = { url };
	struct mi_tier tier = { urls, 1 };
	struct announce_callbacks cb = { glab_fill, glab_peers, lab, lab->hosts };
	return announce_sched_new(lab->base, lab->dns, NULL, &tier, 1, ih, id, "gate", 0, &cb);
}

static void
glab_free(struct glab *lab)
{
	for (size_t i = 0; i < GATE_TORRENTS; i++) {
		announce_sched_free(lab->live[i]);
		announce_sched_free(lab->dead[i]);
	}
	ck_assert_uint_eq(tracker_gate_waiting(tracker_hosts_gate(lab->hosts), lab->dead_row), 0);
	ck_assert_uint_eq(tracker_gate_in_flight(tracker_hosts_gate(lab->hosts), lab->dead_row), 0);
	tracker_hosts_free(lab->hosts);
	event_free(lab->tick);
	evhttp_free(lab->http);
	close(lab->dead_fd);
	evdns_base_free(lab->dns, 0);
	event_base_free(lab->base);
	task_registry_clear();
	tracker_tunables_reset();
}

/* Runs the loop until every live torrent's announce was answered, or seconds pass. */
static bool
glab_run_until_served(struct glab *lab, size_t want, double seconds)
{
	for (int i = 0; i < (int)(seconds * 20) && lab->peers_live < want; i++) {
		struct timeval tv = { 0, 50000 };
		event_base_loopexit(lab->base, &tv);
		event_base_dispatch(lab->base);
	}
	return lab->peers_live >= want;
}

START_TEST(test_gate_many_torrents_one_tracker)
{
	struct glab lab;
	glab_init(&lab);
	struct tracker_gate *g = tracker_hosts_gate(lab.hosts);
	/* The dead tracker's torrents start first and take all its slots. */
	for (int i = 0; i < GATE_TORRENTS; i++) {
		lab.dead[i] = glab_sched(&lab, lab.dead_port, 1000 + i);
		announce_sched_start(lab.dead[i]);
	}
	ck_assert_uint_eq(tracker_gate_in_flight(g, lab.dead_row), TRACKER_GATE_HTTP);
	ck_assert_uint_eq(tracker_gate_waiting(g, lab.dead_row), GATE_TORRENTS - TRACKER_GATE_HTTP);
	const struct dp_task *t = th_tracker_task(1000 + TRACKER_GATE_HTTP + 3);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->state, DP_TASK_QUEUED);
	char want[160];
	snprintf(want, sizeof want, "waiting for a request slot to tracker http://127.0.0.1:%u: 3 ahead",
	    lab.dead_port);
	ck_assert_str_eq(t->reason, want);

	for (int i = 0; i < GATE_TORRENTS; i++) {
		lab.live[i] = glab_sched(&lab, lab.live_port, 1 + i);
		announce_sched_start(lab.live[i]);
	}
	ck_assert_uint_eq(tracker_gate_in_flight(g, lab.live_row), TRACKER_GATE_HTTP);
	/* Every live torrent is answered while the dead tracker still holds all of its own. */
	ck_assert(glab_run_until_served(&lab, GATE_TORRENTS, 6.0));
	ck_assert_uint_eq(lab.served, GATE_TORRENTS);
	ck_assert_uint_le(lab.max_held, TRACKER_GATE_HTTP);
	ck_assert_uint_le(lab.max_in_flight, TRACKER_GATE_HTTP);
	ck_assert_uint_ge(lab.max_held, 2);
	ck_assert_uint_eq(tracker_gate_in_flight(g, lab.live_row), 0);
	ck_assert_uint_eq(tracker_gate_in_flight(g, lab.dead_row), TRACKER_GATE_HTTP);
	ck_assert_uint_eq(tracker_gate_waiting(g, lab.dead_row), GATE_TORRENTS - TRACKER_GATE_HTTP);
	struct tracker_info info;
	ck_assert_uint_eq(announce_sched_info(lab.live[GATE_TORRENTS - 1], &info, 1), 1);
	ck_assert_int_eq(info.status, TRACKER_OK);

	/* Cancelled while queued: a removed torrent leaves the queue, a stopped one too (it owes
	 * no stopped, it never announced). */
	announce_sched_free(lab.dead[GATE_TORRENTS - 1]);
	lab.dead[GATE_TORRENTS - 1] = NULL;
	ck_assert_uint_eq(tracker_gate_waiting(g, lab.dead_row), GATE_TORRENTS - TRACKER_GATE_HTTP - 1);
	announce_sched_stop(lab.dead[TRACKER_GATE_HTTP + 1], 1000, NULL, NULL);
	ck_assert_uint_eq(tracker_gate_waiting(g, lab.dead_row), GATE_TORRENTS - TRACKER_GATE_HTTP - 2);
	/* One in flight cancelled: its slot goes to the first waiting. */
	announce_sched_free(lab.dead[0]);
	lab.dead[0] = NULL;
	ck_assert_uint_eq(tracker_gate_in_flight(g, lab.dead_row), TRACKER_GATE_HTTP);
	ck_assert_uint_eq(tracker_gate_waiting(g, lab.dead_row), GATE_TORRENTS - TRACKER_GATE_HTTP - 3);
	t = th_tracker_task(1000 + TRACKER_GATE_HTTP);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_ne(t->state, DP_TASK_QUEUED);
	glab_free(&lab);
}
END_TEST

static void
glab_stopped(void *arg)
{
	struct glab *lab = arg;
	lab->stops_done++;
}

/* A shutdown against a tracker that stopped answering: the stopped announces go through the
 * gate (never more than TRACKER_GATE_STOP_HTTP at once, the rest waiting with a reason that says
 * so), and at the deadline what was not sent or answered is dropped and counted per tracker. */
START_TEST(test_gate_stopped_paced_and_dropped)
{
	struct glab lab;
	glab_init(&lab);
	struct tracker_gate *g = tracker_hosts_gate(lab.hosts);
	for (int i = 0; i < GATE_TORRENTS; i++) {
		lab.live[i] = glab_sched(&lab, lab.live_port, 1 + i);
		announce_sched_start(lab.live[i]);
	}
	ck_assert(glab_run_until_served(&lab, GATE_TORRENTS, 6.0));
	lab.hang = true;
	lab.max_held = lab.max_in_flight = 0;
	for (int i = 0; i < GATE_TORRENTS; i++)
		announce_sched_stop(lab.live[i], 1000, glab_stopped, &lab);
	ck_assert_uint_eq(tracker_gate_in_flight(g, lab.live_row), TRACKER_GATE_STOP_HTTP);
	ck_assert_uint_eq(tracker_gate_waiting(g, lab.live_row),
	    GATE_TORRENTS - TRACKER_GATE_STOP_HTTP);
	const struct dp_task *t = th_tracker_task(GATE_TORRENTS);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->state, DP_TASK_QUEUED);
	char want[200];
	snprintf(want, sizeof want, "waiting for a request slot to tracker http://127.0.0.1:%u to "
	    "send stopped: %d stopped ahead", lab.live_port, GATE_TORRENTS - TRACKER_GATE_STOP_HTTP - 1);
	ck_assert_str_eq(t->reason, want);
	ck_assert_uint_gt(t->deadline_us, 0);
	for (int i = 0; i < 40 && lab.stops_done < GATE_TORRENTS; i++) {
		struct timeval tv = { 0, 50000 };
		event_base_loopexit(lab.base, &tv);
		event_base_dispatch(lab.base);
	}
	ck_assert_uint_eq(lab.stops_done, GATE_TORRENTS);
	ck_assert_uint_le(lab.max_held, TRACKER_GATE_STOP_HTTP);
	ck_assert_uint_le(lab.max_in_flight, TRACKER_GATE_STOP_HTTP);
	ck_assert_uint_eq(tracker_gate_in_flight(g, lab.live_row), 0);
	ck_assert_uint_eq(tracker_gate_waiting(g, lab.live_row), 0);
	const struct tracker_host_row *rows, *other;
	size_t n = tracker_hosts_rows(lab.hosts, &rows, &other);
	ck_assert_int_lt(lab.live_row, (int)n);
	ck_assert_uint_eq(rows[lab.live_row].stops_dropped, GATE_TORRENTS);
	for (size_t i = 0; i < lab.nheld; i++)
		evhttp_send_reply(lab.held[i], 503, "gone", NULL);
	lab.nheld = 0;
	glab_free(&lab);
}
END_TEST

/* The tracker's stopped tasks of torrents [first, last] that ended with reason prefix. */
static size_t
glab_stops_ended(int first, int last, const char *prefix)
{
	size_t n = 0;
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t))
		n += t->kind == DP_TASK_KIND_TRACKER && t->torrent_id >= first &&
		    t->torrent_id <= last && t->finished_us != 0 &&
		    strncmp(t->reason, prefix, strlen(prefix)) == 0;
	return n;
}

/* A loop that comes late to the stop's deadline (a busy shutdown): every deadline is due in one
 * turn, and the first ones' drops free slots for the stops still waiting. Those are past their
 * own deadline: they hold the slot unsent until it drops them, not open a connection to close it
 * at once. */
START_TEST(test_gate_stopped_late_slot_not_sent)
{
	struct glab lab;
	glab_init(&lab);
	for (int i = 0; i < GATE_TORRENTS; i++) {
		lab.live[i] = glab_sched(&lab, lab.live_port, 1 + i);
		announce_sched_start(lab.live[i]);
	}
	ck_assert(glab_run_until_served(&lab, GATE_TORRENTS, 6.0));
	lab.hang = true;
	for (int i = 0; i < GATE_TORRENTS; i++)
		announce_sched_stop(lab.live[i], 300, glab_stopped, &lab);
	struct timeval tv = { 0, 50000 };
	event_base_loopexit(lab.base, &tv);
	event_base_dispatch(lab.base);
	ck_assert_uint_eq(lab.stops_done, 0);
	usleep(400000);                 /* the loop is busy past every deadline */
	for (int i = 0; i < 40 && lab.stops_done < GATE_TORRENTS; i++) {
		event_base_loopexit(lab.base, &tv);
		event_base_dispatch(lab.base);
	}
	ck_assert_uint_eq(lab.stops_done, GATE_TORRENTS);
	ck_assert_uint_eq(glab_stops_ended(1, GATE_TORRENTS, "stopped (no reply"),
	    TRACKER_GATE_STOP_HTTP);
	ck_assert_uint_eq(glab_stops_ended(1, GATE_TORRENTS, "stopped (not sent"),
	    GATE_TORRENTS - TRACKER_GATE_STOP_HTTP);
	ck_assert_uint_le(lab.max_held, TRACKER_GATE_STOP_HTTP);
	struct tracker_gate *g = tracker_hosts_gate(lab.hosts);
	ck_assert_uint_eq(tracker_gate_in_flight(g, lab.live_row), 0);
	ck_assert_uint_eq(tracker_gate_waiting(g, lab.live_row), 0);
	for (size_t i = 0; i < lab.nheld; i++)
		evhttp_send_reply(lab.held[i], 503, "gone", NULL);
	lab.nheld = 0;
	glab_free(&lab);
}
END_TEST

Suite *
tracker_gate_suite(void)
{
	Suite *s = suite_create("tracker_gate");
	TCase *tc = tcase_create("gate");
	tcase_add_test(tc, test_gate_fifo_and_cancel);
	tcase_add_test(tc, test_gate_urgent_first);
	suite_add_tcase(s, tc);
	tc = tcase_create("loop");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_gate_many_torrents_one_tracker);
	tcase_add_test(tc, test_gate_stopped_paced_and_dropped);
	tcase_add_test(tc, test_gate_stopped_late_slot_not_sent);
	suite_add_tcase(s, tc);
	return s;
}
