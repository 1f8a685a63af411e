/* tracker.h: peer discovery through trackers: HTTP/HTTPS (BEP 3, 7, 23) and UDP (BEP 15)
 * announces and scrapes, tiers per BEP 12. Parsing is pure; the network side runs on the loop. */
#ifndef DP_ENGINE_INTERNAL
#error "tracker.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_TRACKER_H
#define DP_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "metainfo.h"

struct event_base;
struct evdns_base;
struct ssl_ctx_st;

enum tracker_event { TRACKER_EVENT_NONE, TRACKER_EVENT_STARTED, TRACKER_EVENT_COMPLETED,
	TRACKER_EVENT_STOPPED };

struct tracker_peer {
	struct sockaddr_storage addr;   /* AF_INET or AF_INET6 with port */
	socklen_t addrlen;
};

struct tracker_response {
	char failure[256];              /* non-empty: the tracker refused */
	char warning[256];
	int interval;                   /* seconds; -1 when absent */
	int min_interval;
	char tracker_id[128];
	int complete, incomplete, downloaded;   /* -1 when unknown */
	struct tracker_peer *peers;
	size_t peer_count;
};

struct tracker_request {
	uint8_t info_hash[20];
	uint8_t peer_id[20];
	uint16_t port;
	uint64_t uploaded, downloaded, left;
	enum tracker_event event;
	int numwant;
	uint32_t key;
	const char *tracker_id;         /* from a previous response, or NULL */
};

/* Pure helpers (unit-tested, fuzzed). Return 0, or -1 with a reason in err. */
char *tracker_http_announce_url(const char *announce, const struct tracker_request *req);
/* The scrape URL per convention (announce -> scrape), or NULL when it has none. */
char *tracker_http_scrape_url(const char *announce, const uint8_t info_hash[20]);
/* The scrape URL of an HTTP announce URL without the info-hash (BEP 48: "announce" at the start
 * of the last path segment becomes "scrape"), as clients show it; NULL when it has none. */
char *tracker_scrape_url(const char *announce);
int tracker_http_parse_announce(const uint8_t *body, size_t len, struct tracker_response *out,
    char *err, size_t errlen);
int tracker_http_parse_scrape(const uint8_t *body, size_t len, const uint8_t info_hash[20],
    int *complete, int *incomplete, int *downloaded, char *err, size_t errlen);

/* Multi-hash scrapes (BEP 48 repeated info_hash, BEP 15 up to 74 hashes per packet). */
#define TRACKER_SCRAPE_HTTP_MAX 50      /* hashes in one HTTP scrape */
#define TRACKER_SCRAPE_UDP_MAX 74       /* in one UDP scrape (BEP 15) */
#define TRACKER_SCRAPE_URL_MAX 3800     /* the longest batched scrape URL we send */
/* One torrent's part of a scrape reply. */
struct tracker_scrape_result {
	bool ok;                        /* listed, with counts that parse */
	int complete, incomplete, downloaded;   /* -1 when not given */
	char err[112];                  /* why not, when !ok */
};
/* The scrape URL asking for n hashes (NULL when the announce URL has none). */
char *tracker_http_scrape_url_multi(const char *announce, const uint8_t (*hashes)[20], size_t n);
/* An HTTP scrape reply read once for n hashes: 0 with results[i] for hashes[i] (a hash it does
 * not list, or lists with a bad entry, is that one's failure), or -1 with err when the reply as
 * a whole is not a scrape answer (not bencode, a failure reason, no 'files'); refused then says
 * whether it was the tracker's failure reason. A reply with a key twice is refused as a whole by
 * the decoder; a hash asked twice gets the same answer twice. */
int tracker_http_parse_scrape_multi(const uint8_t *body, size_t len, const uint8_t (*hashes)[20],
    size_t n, struct tracker_scrape_result *results, bool *refused, char *err, size_t errlen);
/* A BEP 15 scrape packet for n hashes (n <= TRACKER_SCRAPE_UDP_MAX; out holds 16 + 20 n). */
size_t tracker_udp_build_scrape_multi(uint8_t *out, uint64_t connection_id,
    uint32_t transaction_id, const uint8_t (*hashes)[20], size_t n);
/* The entries of a UDP scrape reply (action 2, already matched) for n hashes, in order: those
 * past the end of a short reply are failures. */
void tracker_udp_parse_scrape(const uint8_t *pkt, size_t len, size_t n,
    struct tracker_scrape_result *results);
/* UDP (BEP 15) packets. */
size_t tracker_udp_build_connect(uint8_t *out, uint32_t transaction_id);
size_t tracker_udp_build_announce(uint8_t *out, uint64_t connection_id, uint32_t transaction_id,
    const struct tracker_request *req);
size_t tracker_udp_build_scrape(uint8_t *out, uint64_t connection_id, uint32_t transaction_id,
    const uint8_t info_hash[20]);
/* Parses any UDP tracker reply; checks the action and transaction id. family is AF_INET or
 * AF_INET6 (the socket's, which decides the peer address size). */
int tracker_udp_parse(const uint8_t *pkt, size_t len, uint32_t transaction_id, int family,
    uint32_t *action, uint64_t *connection_id, struct tracker_response *out, char *err,
    size_t errlen);
void tracker_response_clear(struct tracker_response *r);

#endif
