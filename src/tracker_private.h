/* tracker_private.h: what the tracker files share: URL splitting, tier ordering, the HTTP fetch
 * and UDP exchange on the loop (web seeds use the fetch too), and tunables that tests shrink. */
#ifndef DP_ENGINE_INTERNAL
#error "tracker_private.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_TRACKER_PRIVATE_H
#define DP_TRACKER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tracker.h"

struct dp_task;

#define TRACKER_MAX_BODY (4u << 20)     /* largest HTTP reply we read */
#define TRACKER_MAX_REDIRECTS 5
#define TRACKER_UDP_MAX_PACKET 2048
#define TRACKER_UDP_MAX_RETRIES 8       /* BEP 15: n goes up to 8 */
#define TRACKER_UDP_CONN_ID_MS 60000    /* a connection id is ours for a minute after reception */

/* Timing knobs; tests shrink them, the engine keeps the defaults. */
struct tracker_tunables {
	unsigned http_timeout_ms;       /* whole HTTP exchange: 30 s */
	unsigned udp_base_ms;           /* BEP 15 retransmission base: 15 s */
	unsigned udp_max_retries;       /* 8 */
	unsigned retry_min_s;           /* first retry after a failure: 30 s, doubling */
	unsigned retry_max_s;           /* up to 30 min */
	unsigned interval_floor_s;      /* never announce more often than this: 30 s */
	unsigned default_interval_s;    /* when the tracker gives none: 1800 s */
	unsigned scrape_every_s;        /* scrape at most this often: 30 min */
	unsigned scrape_window_ms;      /* scrapes to one tracker gathered this long: 1 s */
	unsigned scrape_single_s;       /* after a refused batch, one hash per scrape: 1 h */
};
extern struct tracker_tunables tracker_tunables;
void tracker_tunables_reset(void);

/* URL splitting (pure). */
enum tracker_scheme { TRACKER_SCHEME_HTTP, TRACKER_SCHEME_HTTPS, TRACKER_SCHEME_UDP };
struct tracker_url {
	enum tracker_scheme scheme;
	char host[256];                 /* without IPv6 brackets */
	uint16_t port;
	char path[4096];                /* path and query, at least "/" (a batched scrape's query
	                                   is up to TRACKER_SCRAPE_URL_MAX) */
};
int tracker_url_parse(const char *url, struct tracker_url *out, char *err, size_t errlen);
/* A redirect's Location header (absolute, scheme-relative, absolute path or relative path)
 * resolved against the URL that sent it: a new string, parsed again before it is followed. */
char *tracker_http_resolve_location(const struct tracker_url *u, const char *loc);
/* Percent-encodes n bytes (everything but unreserved characters) onto a new string. */
char *tracker_url_escape(const uint8_t *p, size_t n);

/* Tier ordering per BEP 12 (pure): order[] holds tracker indices. */
void tracker_tier_shuffle(size_t *order, size_t n, uint32_t (*rnd)(void *), void *rarg);
/* Moves order[pos] to the front, keeping the others' relative order. */
void tracker_tier_promote(size_t *order, size_t n, size_t pos);
/* Delay before the next announce after a success (seconds), from the reply's intervals. */
unsigned tracker_next_delay(int interval, int min_interval);
/* Delay before retrying after the fails'th consecutive failure (fails >= 1). */
unsigned tracker_retry_delay(unsigned fails);
/* Seconds to wait before a user-requested announce may go out (0 = now). */
unsigned tracker_reannounce_wait(int64_t since_last_s, int min_interval);

/* Name resolution through evdns (never blocking). The callback always runs later from the
 * loop, exactly once unless cancelled; err is non-NULL on failure. family AF_INET or AF_INET6
 * takes only addresses of that family (BEP 7 announces once per family); AF_UNSPEC takes
 * either, IPv4 first. */
struct tracker_resolve;
typedef void (*tracker_resolve_cb)(void *arg, const struct sockaddr *sa, socklen_t salen,
    const char *err);
struct tracker_resolve *tracker_resolve_start(struct event_base *base, struct evdns_base *dns,
    const char *host, uint16_t port, int socktype, int family, tracker_resolve_cb cb, void *arg);
void tracker_resolve_cancel(struct tracker_resolve *r);

/* One HTTP(S) GET with redirects, a size limit and a timeout. The callback always runs later
 * from the loop (never inside start), at most once, after which the fetch is gone. status is
 * the HTTP status (0 when none came), err is non-NULL on failure. */
struct tracker_http_fetch;
typedef void (*tracker_http_cb)(void *arg, int status, const uint8_t *body, size_t len,
    const char *err);
struct tracker_http_fetch *tracker_http_fetch_start(struct event_base *base,
    struct evdns_base *dns, struct ssl_ctx_st *ssl_ctx, const char *url, const char *what,
    int family, struct dp_task *task, tracker_http_cb cb, void *arg);
/* The same GET for len bytes at first (a Range header; web seeds, BEP 19): the reply may hold no
 * more than len bytes; a larger one fails with TRACKER_HTTP_TOO_LONG in err (a server that
 * ignores Range and sends the whole file). status 206 is the range, 200 the whole resource. */
#define TRACKER_HTTP_TOO_LONG "more data than the range asked for"
struct tracker_http_fetch *tracker_http_fetch_range(struct event_base *base,
    struct evdns_base *dns, struct ssl_ctx_st *ssl_ctx, const char *url, const char *what,
    int family, uint64_t first, uint64_t len, struct dp_task *task, tracker_http_cb cb,
    void *arg);
void tracker_http_fetch_cancel(struct tracker_http_fetch *f);

/* One UDP tracker exchange (connect if needed, then announce or scrape). */
struct tracker_udp_conn {
	uint64_t id;
	uint64_t received_ms;           /* 0 = none */
};
struct tracker_udp_op;
typedef void (*tracker_udp_cb)(void *arg, const struct tracker_response *resp, const char *err);
struct tracker_udp_op *tracker_udp_start(struct event_base *base, struct evdns_base *dns,
    const char *host, uint16_t port, int family, struct tracker_udp_conn *conn, bool scrape,
    const struct tracker_request *req, struct dp_task *task, tracker_udp_cb cb, void *arg);
/* A scrape of n hashes (n <= TRACKER_SCRAPE_UDP_MAX) in one packet: cb gets results[i] for
 * hashes[i], or NULL and err. */
typedef void (*tracker_udp_scrape_cb)(void *arg, const struct tracker_scrape_result *results,
    size_t n, const char *err);
struct tracker_udp_op *tracker_udp_scrape(struct event_base *base, struct evdns_base *dns,
    const char *host, uint16_t port, int family, struct tracker_udp_conn *conn,
    const uint8_t (*hashes)[20], size_t n, struct dp_task *task, tracker_udp_scrape_cb cb,
    void *arg);
void tracker_udp_cancel(struct tracker_udp_op *op);

/* Random 32 bits from the system CSPRNG. */
uint32_t tracker_random32(void);

#endif
