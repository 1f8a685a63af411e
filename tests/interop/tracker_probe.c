/* tracker_probe.c: announces one info-hash to one tracker URL with announce_sched (the engine's
 * code path), prints what came back as KEY=value lines, then sends stopped unless --stay.
 * Used by tracker_opentracker.sh against a real tracker on 127.0.0.1. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "announce_sched.h"
#include "log.h"
#include "task.h"
#include "tracker.h"
#include "tracker_private.h"
#include "util.h"

struct probe {
	struct event_base *base;
	struct announce_sched *as;
	uint16_t port;
	uint8_t peer_id[20];
	int want_port;                  /* 0 = any */
	bool saw_port;
	size_t peers;
	bool stopped;
};

static void
probe_fill(void *arg, struct tracker_request *req)
{
	struct probe *p = arg;
	req->port = p->port;
	req->left = 1000;
	memcpy(req->peer_id, p->peer_id, 20);
}

static void
probe_peers(void *arg, const struct tracker_peer *peers, size_t n)
{
	struct probe *p = arg;
	for (size_t i = 0; i < n; i++) {
		char ip[INET6_ADDRSTRLEN] = "?";
		unsigned port;
		if (peers[i].addr.ss_family == AF_INET) {
			const struct sockaddr_in *s = (const struct sockaddr_in *)&peers[i].addr;
			inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
			port = ntohs(s->sin_port);
		} else {
			const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&peers[i].addr;
			inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
			port = ntohs(s->sin6_port);
		}
		printf("PEER=%s:%u\n", ip, port);
		if ((int)port == p->want_port)
			p->saw_port = true;
	}
	p->peers += n;
}

static void
probe_stopped(void *arg)
{
	struct probe *p = arg;
	p->stopped = true;
	event_base_loopbreak(p->base);
}

static void
probe_tick(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct tracker_info info;
	if (announce_sched_info(p->as, &info, 1) == 1 &&
	    (info.status == TRACKER_OK || info.status == TRACKER_ERROR) && info.last_announce > 0)
		event_base_loopbreak(p->base);
}

int
main(int argc, char **argv)
{
	struct probe p;
	uint8_t ih[20];
	bool stay = false;
	memset(&p, 0, sizeof p);
	if (argc < 4 || strlen(argv[2]) != 40 || !dp_hex_decode(argv[2], 20, ih)) {
		fprintf(stderr, "usage: tracker_probe URL INFOHASH_HEX PORT [WANT_PEER_PORT] [--stay]\n");
		return 2;
	}
	p.port = (uint16_t)atoi(argv[3]);
	if (argc > 4 && strcmp(argv[4], "--stay") != 0)
		p.want_port = atoi(argv[4]);
	for (int i = 4; i < argc; i++)
		if (strcmp(argv[i], "--stay") == 0)
			stay = true;
	for (int i = 0; i < 20; i += 4) {
		uint32_t r = tracker_random32();
		memcpy(p.peer_id + i, &r, 4);
	}
	memcpy(p.peer_id, "-DP0010-", 8);
	log_set_stderr(true);
	log_set_level(DP_LOG_DEBUG);
	evthread_use_pthreads();
	p.base = event_base_new();
	/* No nameservers: the tracker is on 127.0.0.1, and nothing may leave the machine. */
	struct evdns_base *dns = p.base ? evdns_base_new(p.base, 0) : NULL;
	if (p.base == NULL || dns == NULL) {
		fprintf(stderr, "tracker_probe: cannot create the event loop\n");
		return 1;
	}
	tracker_tunables.udp_base_ms = 1000;
	tracker_tunables.udp_max_retries = 2;
	tracker_tunables.http_timeout_ms = 5000;
	char *urls[] = { argv[1] };
	struct mi_tier tier = { urls, 1 };
	struct announce_callbacks cb = { probe_fill, probe_peers, &p, NULL };
	p.as = announce_sched_new(p.base, dns, NULL, &tier, 1, ih, 1, "probe", 0, &cb);
	struct event *tick = event_new(p.base, -1, EV_PERSIST, probe_tick, &p);
	struct timeval tv = { 0, 50000 }, limit = { 15, 0 };
	event_add(tick, &tv);
	announce_sched_start(p.as);
	event_base_loopexit(p.base, &limit);
	event_base_dispatch(p.base);
	event_free(tick);

	struct tracker_info info;
	int rc = 0;
	announce_sched_info(p.as, &info, 1);
	printf("STATUS=%s\nPEERS=%zu\nSEEDERS=%d\nLEECHERS=%d\nDOWNLOADED=%d\n",
	    tracker_status_name(info.status), p.peers, info.seeders, info.leechers, info.downloaded);
	if (info.status != TRACKER_OK) {
		printf("ERROR=%s\n", info.last_error[0] ? info.last_error : "no reply in 15 s");
		rc = 1;
	}
	if (p.want_port != 0 && !p.saw_port) {
		printf("ERROR=peer port %d not in the reply\n", p.want_port);
		rc = 1;
	}
	if (!stay && rc == 0) {
		announce_sched_stop(p.as, 5000, probe_stopped, &p);
		limit.tv_sec = 8;
		event_base_loopexit(p.base, &limit);
		event_base_dispatch(p.base);
		printf("STOPPED=%s\n", p.stopped ? "yes" : "no");
		if (!p.stopped)
			rc = 1;
	}
	announce_sched_free(p.as);
	evdns_base_free(dns, 0);
	event_base_free(p.base);
	task_registry_clear();
	return rc;
}
