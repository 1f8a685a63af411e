/* check_tracker_scrape.c: multi-hash scrapes (tracker_scrape.c) on a loop against in-process
 * trackers: many torrents on one HTTP tracker are scraped in a few requests of many hashes, each
 * torrent gets its own counts and a hash the reply leaves out is that torrent's failure; a tracker
 * that refuses a batch is scraped one hash at a time from then on; torrents removed while their
 * batch is in flight are left out of the answer (run under ASan); a UDP tracker gets one packet
 * for many hashes; a batch holds one request slot. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>
#include <check.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "announce_sched.h"
#include "metainfo.h"
#include "task.h"
#include "tracker.h"
#include "tracker_gate.h"
#include "tracker_hosts.h"
#include "tracker_private.h"
#include "tracker_scrape.h"
#include "suites.h"
#include "test_helpers.h"

#define SLAB_TORRENTS 60
#define SLAB_MISSING 7                  /* the torrent the HTTP tracker leaves out */

/* SLAB_UDP_FIRST: the UDP tracker answers a scrape of many hashes with the first one's entry. */
enum slab_mode { SLAB_ANSWER, SLAB_REFUSE_MULTI, SLAB_HOLD, SLAB_UDP_FIRST };

struct slab {
	struct event_base *base;
	struct evdns_base *dns;
	struct evhttp *http;
	uint16_t http_port;
	int udp_fd;
	uint16_t udp_port;
	struct event *udp_ev;
	struct tracker_hosts *hosts;
	enum slab_mode mode;
	size_t scrapes, scrape_hashes, max_hashes, announces;
	size_t udp_scrapes, udp_scrape_hashes;
	struct evhttp_request *held;
	uint8_t held_hashes[TRACKER_SCRAPE_HTTP_MAX][20];
	size_t held_n;
	struct announce_sched *as[SLAB_TORRENTS];
};

static void
slab_scrape_reply(struct evbuffer *out, uint8_t (*hashes)[20], size_t n)
{
	evbuffer_add_printf(out, "d5:filesd");
	for (size_t i = 0; i < n; i++) {
		if (hashes[i][0] == SLAB_MISSING)
			continue;
		evbuffer_add_printf(out, "20:");
		evbuffer_add(out, hashes[i], 20);
		evbuffer_add_printf(out, "d8:completei%de10:downloadedi%de10:incompletei%dee",
		    hashes[i][0], 100 + hashes[i][0], 2);
	}
	/* Hostile extras: a key of another length, a hash nobody asked for. */
	evbuffer_add_printf(out, "3:abcd8:completei1ee20:ZZZZZZZZZZZZZZZZZZZZd8:completei1eeee");
}

static void
slab_http_cb(struct evhttp_request *req, void *arg)
{
	struct slab *lab = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	struct evkeyvalq q;
	struct evbuffer *out = evbuffer_new();
	TAILQ_INIT(&q);
	if (query != NULL)
		evhttp_parse_query_str(query, &q);
	if (strcmp(path, "/announce") == 0) {
		lab->announces++;
		/* No 'downloaded': a scrape follows. */
		evbuffer_add_printf(out, "d8:completei1e10:incompletei1e8:intervali1800e5:peers0:e");
	} else if (strcmp(path, "/scrape") == 0) {
		uint8_t hashes[TRACKER_SCRAPE_UDP_MAX][20];
		size_t n = 0;
		struct evkeyval *kv;
		TAILQ_FOREACH(kv, &q, next) {
			if (strcmp(kv->key, "info_hash") == 0) {
				ck_assert_uint_eq(strlen(kv->value), 20);
				ck_assert_uint_lt(n, TRACKER_SCRAPE_UDP_MAX);
				memcpy(hashes[n++], kv->value, 20);
			}
		}
		lab->scrapes++;
		lab->scrape_hashes += n;
		if (n > lab->max_hashes)
			lab->max_hashes = n;
		if (lab->mode == SLAB_REFUSE_MULTI && n > 1) {
			evbuffer_add_printf(out, "d14:failure reason20:one hash per scrapee");
		} else if (lab->mode == SLAB_HOLD && lab->held == NULL) {
			lab->held = req;
			memcpy(lab->held_hashes, hashes, n * 20);
			lab->held_n = n;
			evhttp_clear_headers(&q);
			evbuffer_free(out);
			return;
		} else {
			slab_scrape_reply(out, hashes, n);
		}
	} else {
		evhttp_send_reply(req, 404, "Not Found", out);
		evhttp_clear_headers(&q);
		evbuffer_free(out);
		return;
	}
	evhttp_send_reply(req, 200, "OK", out);
	evhttp_clear_headers(&q);
	evbuffer_free(out);
}

/* A BEP 15 tracker: connect, announce (no peers), and scrapes of many hashes answered in order. */
static void
slab_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slab *lab = arg;
	uint8_t in[2048], out[2048];
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	(void)what;
	ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
	if (n < 16)
		return;
	uint32_t action = th_be32(in + 8);
	size_t len = 0;
	th_put_be32(out + 4, th_be32(in + 12));
	if (action == 0) {
		th_put_be32(out, 0);
		th_put_be32(out + 8, 0xcafe);
		th_put_be32(out + 12, 0xf00d);
		len = 16;
	} else if (action == 1) {
		th_put_be32(out, 1);
		th_put_be32(out + 8, 1800);
		th_put_be32(out + 12, 1);
		th_put_be32(out + 16, 1);
		len = 20;
	} else if (action == 2) {
		size_t k = ((size_t)n - 16) / 20;
		ck_assert_uint_le(k, TRACKER_SCRAPE_UDP_MAX);
		lab->udp_scrapes++;
		lab->udp_scrape_hashes += k;
		th_put_be32(out, 2);
		if (lab->mode == SLAB_UDP_FIRST)
			k = DP_MIN(k, (size_t)1);
		for (size_t i = 0; i < k; i++) {
			const uint8_t *h = in + 16 + 20 * i;
			th_put_be32(out + 8 + 12 * i, h[0]);
			th_put_be32(out + 12 + 12 * i, 200u + h[0]);
			th_put_be32(out + 16 + 12 * i, 3);
		}
		len = 8 + 12 * k;
	}
	if (len > 0)
		sendto(fd, out, len, 0, (struct sockaddr *)&from, fl);
}

static void
slab_fill(void *arg, struct tracker_request *req)
{
	(void)arg;
	req->port = 6881;
	req->left = 0;
	memset(req->peer_id, 'S', 20);
}

static uint16_t
slab_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	return ntohs(sin.sin_port);
}

static void
slab_init(struct slab *lab, enum slab_mode mode)
{
	memset(lab, 0, sizeof *lab);
	lab->mode = mode;
	tracker_tunables_reset();
	tracker_tunables.http_timeout_ms = 8000;
	tracker_tunables.udp_base_ms = 500;
	tracker_tunables.scrape_window_ms = 200;
	evthread_use_pthreads();
	lab->base = event_base_new();
	ck_assert_ptr_nonnull(lab->base);
	lab->dns = evdns_base_new(lab->base, 0);
	ck_assert_ptr_nonnull(lab->dns);
	lab->http = evhttp_new(lab->base);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(lab->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	lab->http_port = slab_port(evhttp_bound_socket_get_fd(bs));
	evhttp_set_gencb(lab->http, slab_http_cb, lab);
	lab->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(lab->udp_fd, 0);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lab->udp_fd, (struct sockaddr *)&sin, sizeof sin), 0);
	lab->udp_port = slab_port(lab->udp_fd);
	lab->udp_ev = event_new(lab->base, lab->udp_fd, EV_READ | EV_PERSIST, slab_udp_cb, lab);
	event_add(lab->udp_ev, NULL);
	lab->hosts = tracker_hosts_new();
}

/* Torrent id i (1-based) has the info-hash of 20 bytes i. */
static struct announce_sched *
slab_sched(struct slab *lab, bool udp, int id)
{
	char url[128];
	uint8_t ih[20];
	memset(ih, id, sizeof ih);
	if (udp)
		snprintf(url, sizeof url, "udp://127.0.0.1:%u", lab->udp_port);
	else
		snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", lab->http_port);
	char *urls[] = { url };
	struct mi_tier tier = { urls, 1 };
	struct announce_callbacks cb = { slab_fill, NULL, lab, lab->hosts };
	return announce_sched_new(lab->base, lab->dns, NULL, &tier, 1, ih, id, "scrape", 0, &cb);
}

static void
slab_free(struct slab *lab)
{
	for (size_t i = 0; i < SLAB_TORRENTS; i++)
		announce_sched_free(lab->as[i]);
	tracker_hosts_free(lab->hosts);
	event_free(lab->udp_ev);
	close(lab->udp_fd);
	evhttp_free(lab->http);
	evdns_base_free(lab->dns, 0);
	event_base_free(lab->base);
	task_registry_clear();
	tracker_tunables_reset();
}

/* Whether torrent i's last scrape has ended (worked or not). */
static bool
slab_scraped(struct slab *lab, size_t i)
{
	struct tracker_info info;
	return lab->as[i] == NULL || (announce_sched_info(lab->as[i], &info, 1) == 1 &&
	    info.last_scrape_end > 0);
}

static bool
slab_run_until_scraped(struct slab *lab, size_t n, double seconds)
{
	for (int k = 0; k < (int)(seconds * 20); k++) {
		size_t done = 0;
		for (size_t i = 0; i < n; i++)
			done += slab_scraped(lab, i);
		if (done == n)
			return true;
		struct timeval tv = { 0, 50000 };
		event_base_loopexit(lab->base, &tv);
		event_base_dispatch(lab->base);
	}
	return false;
}

static void
slab_run(struct slab *lab, double seconds)
{
	struct timeval tv = { (time_t)seconds, (suseconds_t)((seconds - (int)seconds) * 1e6) };
	event_base_loopexit(lab->base, &tv);
	event_base_dispatch(lab->base);
}

START_TEST(test_scrape_batched_http)
{
	struct slab lab;
	slab_init(&lab, SLAB_ANSWER);
	/* The window outlasts a loaded valgrind run's first turns (200 ms did not: the last
	 * torrent's batch had gone before the test first looked). */
	tracker_tunables.scrape_window_ms = getenv("DP_UNDER_VALGRIND") != NULL ? 2000 : 200;
	for (int i = 0; i < SLAB_TORRENTS; i++) {
		lab.as[i] = slab_sched(&lab, false, i + 1);
		announce_sched_start(lab.as[i]);
	}
	/* While a batch gathers (the first 50 go as soon as they are 50, the last 10 wait out
	 * the window), each torrent's tracker task says so. */
	char gathering[128];
	int glen = snprintf(gathering, sizeof gathering, "waiting up to %u ms to scrape together "
	    "with other torrents at tracker http://127.0.0.1:", tracker_tunables.scrape_window_ms);
	bool seen_gathering = false;
	for (int k = 0; k < 200 && !seen_gathering; k++) {
		slab_run(&lab, 0.02);
		const struct dp_task *t = th_tracker_task(SLAB_TORRENTS);
		seen_gathering = t != NULL && strncmp(t->reason, gathering, (size_t)glen) == 0;
	}
	ck_assert_msg(seen_gathering, "%s", th_tracker_task(SLAB_TORRENTS) ?
	    th_tracker_task(SLAB_TORRENTS)->reason : "no task");
	ck_assert(slab_run_until_scraped(&lab, SLAB_TORRENTS, 8.0));
	ck_assert_uint_eq(lab.announces, SLAB_TORRENTS);
	/* 60 scrapes in at most 3 requests (50 hashes at most each), every hash asked once. */
	ck_assert_uint_le(lab.scrapes, 3);
	ck_assert_uint_eq(lab.scrape_hashes, SLAB_TORRENTS);
	ck_assert_uint_le(lab.max_hashes, TRACKER_SCRAPE_HTTP_MAX);
	uint64_t req, hashes;
	tracker_scrapes_counts(tracker_hosts_scrapes(lab.hosts), &req, &hashes);
	ck_assert_uint_eq(req, lab.scrapes);
	ck_assert_uint_eq(hashes, SLAB_TORRENTS);
	for (int i = 0; i < SLAB_TORRENTS; i++) {
		struct tracker_info info;
		ck_assert_uint_eq(announce_sched_info(lab.as[i], &info, 1), 1);
		if (i + 1 == SLAB_MISSING) {
			/* Left out of the reply: its own failure, the others unharmed. */
			ck_assert(!info.last_scrape_ok);
			ck_assert_str_eq(info.last_scrape_error, "scrape reply does not list this "
			    "torrent");
			ck_assert_int_eq(info.downloaded, -1);
			continue;
		}
		ck_assert_msg(info.last_scrape_ok, "torrent %d: %s", i + 1, info.last_scrape_error);
		ck_assert_int_eq(info.seeders, i + 1);
		ck_assert_int_eq(info.downloaded, 101 + i);
		ck_assert_int_eq(info.leechers, 2);
	}
	ck_assert_uint_eq(tracker_gate_in_flight(tracker_hosts_gate(lab.hosts), 0), 0);
	slab_free(&lab);
}
END_TEST

START_TEST(test_scrape_refused_batch_falls_back)
{
	struct slab lab;
	slab_init(&lab, SLAB_REFUSE_MULTI);
	enum { N = 10 };
	for (int i = 0; i < N; i++) {
		lab.as[i] = slab_sched(&lab, false, 20 + i);
		announce_sched_start(lab.as[i]);
	}
	ck_assert(slab_run_until_scraped(&lab, N, 8.0));
	for (int i = 0; i < N; i++) {
		struct tracker_info info;
		ck_assert_uint_eq(announce_sched_info(lab.as[i], &info, 1), 1);
		ck_assert_msg(info.last_scrape_ok, "torrent %d: %s", i, info.last_scrape_error);
		ck_assert_int_eq(info.downloaded, 120 + i);
	}
	/* One refused batch of all ten, then one request per hash. */
	ck_assert_uint_eq(lab.scrapes, 1 + N);
	ck_assert_uint_eq(lab.max_hashes, N);
	/* Remembered: a later scrape of this tracker goes alone at once. */
	size_t before = lab.scrapes;
	struct announce_sched *late = slab_sched(&lab, false, 40);
	announce_sched_start(late);
	for (int k = 0; k < 100 && lab.scrapes == before; k++)
		slab_run(&lab, 0.02);
	ck_assert_uint_eq(lab.scrapes, before + 1);
	announce_sched_free(late);
	slab_free(&lab);
}
END_TEST

/* The fallback does not last: a refusal may have been a passing error (a 502 from a proxy),
 * and one hash per request at thousands of torrents is what batches are for. Once its time is
 * up, the next scrapes there gather into a batch again. */
START_TEST(test_scrape_fallback_expires)
{
	struct slab lab;
	slab_init(&lab, SLAB_REFUSE_MULTI);
	tracker_tunables.scrape_single_s = 1;
	enum { N = 4 };
	for (int i = 0; i < N; i++) {
		lab.as[i] = slab_sched(&lab, false, 20 + i);
		announce_sched_start(lab.as[i]);
	}
	ck_assert(slab_run_until_scraped(&lab, N, 8.0));
	ck_assert_uint_eq(lab.scrapes, 1 + N);
	/* Within the period: alone at once. */
	struct announce_sched *late[3];
	late[0] = slab_sched(&lab, false, 40);
	announce_sched_start(late[0]);
	for (int k = 0; k < 100 && lab.scrapes == 1 + N; k++)
		slab_run(&lab, 0.02);
	ck_assert_uint_eq(lab.scrapes, 2 + N);
	/* Past it: two torrents scraped within the window go together (refused again here). */
	slab_run(&lab, 1.1);
	lab.max_hashes = 0;
	size_t before = lab.scrapes;
	for (int i = 1; i < 3; i++) {
		late[i] = slab_sched(&lab, false, 40 + i);
		announce_sched_start(late[i]);
	}
	for (int k = 0; k < 200 && lab.scrapes < before + 3; k++)
		slab_run(&lab, 0.02);
	ck_assert_uint_eq(lab.max_hashes, 2);
	ck_assert_uint_eq(lab.scrapes, before + 3);
	for (int i = 0; i < 3; i++)
		announce_sched_free(late[i]);
	slab_free(&lab);
}
END_TEST

START_TEST(test_scrape_removed_while_in_flight)
{
	struct slab lab;
	slab_init(&lab, SLAB_HOLD);
	/* All 20 join before the window ends, even under valgrind (200 ms: 16 did). */
	tracker_tunables.scrape_window_ms = 1000;
	enum { N = 20 };
	for (int i = 0; i < N; i++) {
		lab.as[i] = slab_sched(&lab, false, 60 + i);
		announce_sched_start(lab.as[i]);
	}
	for (int k = 0; k < 200 && lab.held == NULL; k++)
		slab_run(&lab, 0.02);
	ck_assert_ptr_nonnull(lab.held);
	ck_assert_uint_eq(lab.held_n, N);
	/* In flight: each member says with how many it is scraped. */
	const struct dp_task *t = th_tracker_task(61);
	ck_assert_ptr_nonnull(t);
	char want[160];
	snprintf(want, sizeof want, "scraping with %d others at tracker http://127.0.0.1:%u", N - 1,
	    lab.http_port);
	ck_assert_str_eq(t->reason, want);
	/* Half the torrents are removed (and one stopped) with their hashes in the request. */
	for (int i = 0; i < N; i += 2) {
		announce_sched_free(lab.as[i]);
		lab.as[i] = NULL;
	}
	announce_sched_stop(lab.as[1], 1000, NULL, NULL);
	slab_run(&lab, 0.1);
	announce_sched_free(lab.as[1]);
	lab.as[1] = NULL;
	struct evbuffer *out = evbuffer_new();
	slab_scrape_reply(out, lab.held_hashes, lab.held_n);
	evhttp_send_reply(lab.held, 200, "OK", out);
	evbuffer_free(out);
	lab.held = NULL;
	ck_assert(slab_run_until_scraped(&lab, N, 5.0));
	for (int i = 3; i < N; i += 2) {
		struct tracker_info info;
		ck_assert_uint_eq(announce_sched_info(lab.as[i], &info, 1), 1);
		ck_assert_msg(info.last_scrape_ok, "torrent %d: %s", i, info.last_scrape_error);
		ck_assert_int_eq(info.downloaded, 160 + i);
	}
	ck_assert_uint_eq(lab.scrapes, 1);
	/* Every one of a gathering batch removed: the batch goes, and its place at the gate. */
	lab.mode = SLAB_ANSWER;
	struct announce_sched *a = slab_sched(&lab, false, 90);
	struct announce_sched *b = slab_sched(&lab, false, 91);
	size_t announced = lab.announces;
	announce_sched_start(a);
	announce_sched_start(b);
	for (int k = 0; k < 100 && lab.announces < announced + 2; k++)
		slab_run(&lab, 0.02);
	slab_run(&lab, 0.05);
	announce_sched_free(a);
	announce_sched_free(b);
	slab_run(&lab, 0.4);
	ck_assert_uint_eq(lab.scrapes, 1);
	ck_assert_uint_eq(tracker_gate_in_flight(tracker_hosts_gate(lab.hosts), 0), 0);
	slab_free(&lab);
}
END_TEST

START_TEST(test_scrape_batched_udp)
{
	struct slab lab;
	slab_init(&lab, SLAB_ANSWER);
	enum { N = 30 };
	for (int i = 0; i < N; i++) {
		lab.as[i] = slab_sched(&lab, true, 1 + i);
		announce_sched_start(lab.as[i]);
	}
	ck_assert(slab_run_until_scraped(&lab, N, 8.0));
	ck_assert_uint_le(lab.udp_scrapes, 2);
	ck_assert_uint_eq(lab.udp_scrape_hashes, N);
	for (int i = 0; i < N; i++) {
		struct tracker_info info;
		ck_assert_uint_eq(announce_sched_info(lab.as[i], &info, 1), 1);
		ck_assert_msg(info.last_scrape_ok, "torrent %d: %s", i, info.last_scrape_error);
		ck_assert_int_eq(info.seeders, i + 1);
		ck_assert_int_eq(info.downloaded, 201 + i);
		ck_assert_int_eq(info.leechers, 3);
	}
	slab_free(&lab);
}
END_TEST

/* A UDP tracker that answers a batch with the first hash's entry only: the others are scraped
 * again one by one and get their own counts, and so is every later scrape there. */
START_TEST(test_scrape_udp_short_reply_falls_back)
{
	struct slab lab;
	slab_init(&lab, SLAB_UDP_FIRST);
	enum { N = 10 };
	for (int i = 0; i < N; i++) {
		lab.as[i] = slab_sched(&lab, true, 1 + i);
		announce_sched_start(lab.as[i]);
	}
	ck_assert(slab_run_until_scraped(&lab, N, 8.0));
	for (int i = 0; i < N; i++) {
		struct tracker_info info;
		ck_assert_uint_eq(announce_sched_info(lab.as[i], &info, 1), 1);
		ck_assert_msg(info.last_scrape_ok, "torrent %d: %s", i, info.last_scrape_error);
		ck_assert_int_eq(info.seeders, i + 1);
		ck_assert_int_eq(info.downloaded, 201 + i);
	}
	/* Batches of N hashes at most (the window may split them), then the rest alone. */
	ck_assert_uint_gt(lab.udp_scrape_hashes, N);
	/* The tracker is remembered: a later scrape there goes alone. */
	size_t scrapes = lab.udp_scrapes, hashes = lab.udp_scrape_hashes;
	struct announce_sched *late = slab_sched(&lab, true, 77);
	announce_sched_start(late);
	for (int k = 0; k < 100 && lab.udp_scrapes == scrapes; k++)
		slab_run(&lab, 0.05);
	ck_assert_uint_eq(lab.udp_scrapes, scrapes + 1);
	ck_assert_uint_eq(lab.udp_scrape_hashes, hashes + 1);
	announce_sched_free(late);
	slab_free(&lab);
}
END_TEST

static void
slab_dummy_go(struct tracker_gate_wait *w)
{
	(void)w;
}

/* A batch takes one request slot however many torrents are in it, and while the tracker's slots
 * are all taken it waits as one entry of the queue, its torrents saying so. */
START_TEST(test_scrape_batch_one_slot)
{
	struct slab lab;
	slab_init(&lab, SLAB_ANSWER);
	/* The window outlasts the announces even under valgrind (200 ms did not: the batch had
	 * taken its slot before the others below could fill the tracker's). */
	tracker_tunables.scrape_window_ms = 1000;
	enum { N = 5 };
	for (int i = 0; i < N; i++) {
		lab.as[i] = slab_sched(&lab, false, 100 + i);
		announce_sched_start(lab.as[i]);
	}
	char key[64];
	snprintf(key, sizeof key, "http://127.0.0.1:%u", lab.http_port);
	int row = tracker_hosts_index(lab.hosts, key);
	struct tracker_gate *g = tracker_hosts_gate(lab.hosts);
	/* Until the answers are read too (the tracker counts the announces sooner). */
	for (int k = 0; k < 100 && (lab.announces < N || tracker_gate_in_flight(g, row) > 0); k++)
		slab_run(&lab, 0.01);
	ck_assert_uint_eq(lab.announces, N);
	/* The scrapes gather; meanwhile others take every slot of the tracker. */
	ck_assert_uint_eq(tracker_gate_in_flight(g, row), 0);   /* the batch still gathers */
	struct tracker_gate_wait others[TRACKER_GATE_HTTP];
	memset(others, 0, sizeof others);
	size_t ahead;
	for (int i = 0; i < TRACKER_GATE_HTTP; i++)
		ck_assert(tracker_gate_enter(g, row, TRACKER_GATE_HTTP, &others[i], slab_dummy_go,
		    &ahead));
	for (int k = 0; k < 100 && tracker_gate_waiting(g, row) == 0; k++)
		slab_run(&lab, 0.02);
	ck_assert_uint_eq(tracker_gate_waiting(g, row), 1);      /* five torrents, one entry */
	ck_assert_uint_eq(lab.scrapes, 0);
	const struct dp_task *t = th_tracker_task(100);
	ck_assert_ptr_nonnull(t);
	char want[160];
	snprintf(want, sizeof want, "waiting for a request slot to tracker %s for a batched scrape: "
	    "0 ahead", key);
	ck_assert_str_eq(t->reason, want);
	ck_assert_int_eq(t->state, DP_TASK_QUEUED);
	tracker_gate_leave(&others[0]);
	ck_assert_uint_eq(tracker_gate_in_flight(g, row), TRACKER_GATE_HTTP);
	ck_assert(slab_run_until_scraped(&lab, N, 5.0));
	ck_assert_uint_eq(lab.scrapes, 1);
	ck_assert_uint_eq(lab.scrape_hashes, N);
	for (int i = 1; i < TRACKER_GATE_HTTP; i++)
		tracker_gate_leave(&others[i]);
	ck_assert_uint_eq(tracker_gate_in_flight(g, row), 0);
	slab_free(&lab);
}
END_TEST

Suite *
tracker_scrape_suite(void)
{
	Suite *s = suite_create("tracker_scrape");
	TCase *tc = tcase_create("loop");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_scrape_batched_http);
	tcase_add_test(tc, test_scrape_refused_batch_falls_back);
	tcase_add_test(tc, test_scrape_fallback_expires);
	tcase_add_test(tc, test_scrape_removed_while_in_flight);
	tcase_add_test(tc, test_scrape_batched_udp);
	tcase_add_test(tc, test_scrape_udp_short_reply_falls_back);
	tcase_add_test(tc, test_scrape_batch_one_slot);
	suite_add_tcase(s, tc);
	return s;
}
