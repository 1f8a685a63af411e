/* tracker_parse.c: the pure side of trackers: announce/scrape URLs, HTTP reply parsing, BEP 15
 * packets, URL splitting and tier ordering. No I/O here, so all of it is unit-tested and fuzzed. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bencode.h"
#include "tracker.h"
#include "tracker_private.h"
#include "util.h"

#define TRACKER_MAX_PEERS 200000    /* more than any real tracker sends; bounds memory */

#define TRACKER_TUNABLES_DEFAULT {                   \
	.http_timeout_ms = 30000,                     \
	.udp_base_ms = 15000,                         \
	.udp_max_retries = TRACKER_UDP_MAX_RETRIES,   \
	.retry_min_s = 30,                            \
	.retry_max_s = 1800,                          \
	.interval_floor_s = 30,                       \
	.default_interval_s = 1800,                   \
	.scrape_every_s = 1800,                       \
	.scrape_window_ms = 1000,                     \
	.scrape_single_s = 3600,                      \
}

struct tracker_tunables tracker_tunables = TRACKER_TUNABLES_DEFAULT;

void
tracker_tunables_reset(void)
{
	static const struct tracker_tunables def = TRACKER_TUNABLES_DEFAULT;
	tracker_tunables = def;
}

static bool
tracker_unreserved(uint8_t c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

char *
tracker_url_escape(const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(3 * n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (tracker_unreserved(p[i])) {
			*o++ = (char)p[i];
		} else {
			*o++ = '%';
			*o++ = hex[p[i] >> 4];
			*o++ = hex[p[i] & 15];
		}
	}
	*o = '\0';
	return out;
}

/* Copies the URL up to any fragment and adds the separator a new parameter needs. */
static void
tracker_url_base(struct dp_buf *b, const char *url)
{
	size_t len = strcspn(url, "#");
	dp_buf_add(b, url, len);
	const char *q = memchr(url, '?', len);
	if (q == NULL)
		dp_buf_add_str(b, "?");
	else if (len > 0 && url[len - 1] != '?' && url[len - 1] != '&')
		dp_buf_add_str(b, "&");
}

static const char *
tracker_event_param(enum tracker_event e)
{
	switch (e) {
	case TRACKER_EVENT_STARTED:
		return "started";
	case TRACKER_EVENT_COMPLETED:
		return "completed";
	case TRACKER_EVENT_STOPPED:
		return "stopped";
	default:
		return NULL;
	}
}

char *
tracker_http_announce_url(const char *announce, const struct tracker_request *req)
{
	struct dp_buf b;
	dp_buf_init(&b);
	tracker_url_base(&b, announce);
	char *ih = tracker_url_escape(req->info_hash, 20);
	char *pid = tracker_url_escape(req->peer_id, 20);
	dp_buf_printf(&b, "info_hash=%s&peer_id=%s&port=%u&uploaded=%llu&downloaded=%llu&left=%llu"
	    "&compact=1&no_peer_id=1", ih, pid, (unsigned)req->port,
	    (unsigned long long)req->uploaded, (unsigned long long)req->downloaded,
	    (unsigned long long)req->left);
	free(ih);
	free(pid);
	const char *ev = tracker_event_param(req->event);
	if (ev != NULL)
		dp_buf_printf(&b, "&event=%s", ev);
	if (req->numwant >= 0)
		dp_buf_printf(&b, "&numwant=%d", req->numwant);
	dp_buf_printf(&b, "&key=%08X", (unsigned)req->key);
	if (req->tracker_id != NULL && req->tracker_id[0] != '\0') {
		char *tid = tracker_url_escape((const uint8_t *)req->tracker_id,
		    strlen(req->tracker_id));
		dp_buf_printf(&b, "&trackerid=%s", tid);
		free(tid);
	}
	size_t len;
	return (char *)dp_buf_steal(&b, &len);
}

char *
tracker_scrape_url(const char *announce)
{
	size_t len = strcspn(announce, "?#");
	const char *slash = NULL;
	for (size_t i = 0; i < len; i++)
		if (announce[i] == '/')
			slash = announce + i;
	const char *hier = strstr(announce, "://");
	if (slash == NULL || hier == NULL || slash < hier + 3 ||
	    strncmp(slash + 1, "announce", 8) != 0)
		return NULL;
	size_t rest = strcspn(slash + 9, "#");
	return xasprintf("%.*sscrape%.*s", (int)(slash + 1 - announce), announce, (int)rest,
	    slash + 9);
}

char *
tracker_http_scrape_url_multi(const char *announce, const uint8_t (*hashes)[20], size_t n)
{
	char *base = tracker_scrape_url(announce);
	if (base == NULL)
		return NULL;
	struct dp_buf b;
	dp_buf_init(&b);
	dp_buf_add_str(&b, base);
	size_t blen = strlen(base);
	/* Keep any query ("announce.php?x=1" -> "scrape.php?x=1&info_hash=..."). */
	const char *sep = strchr(base, '?') == NULL ? "?" : base[blen - 1] != '?' &&
	    base[blen - 1] != '&' ? "&" : "";
	free(base);
	for (size_t i = 0; i < n; i++) {
		char *ih = tracker_url_escape(hashes[i], 20);
		dp_buf_printf(&b, "%sinfo_hash=%s", i == 0 ? sep : "&", ih);
		free(ih);
	}
	size_t len;
	return (char *)dp_buf_steal(&b, &len);
}

char *
tracker_http_scrape_url(const char *announce, const uint8_t info_hash[20])
{
	return tracker_http_scrape_url_multi(announce, (const uint8_t (*)[20])info_hash, 1);
}


void
tracker_response_clear(struct tracker_response *r)
{
	free(r->peers);
	memset(r, 0, sizeof *r);
	r->interval = r->min_interval = -1;
	r->complete = r->incomplete = r->downloaded = -1;
}

static void
tracker_add_peer(struct tracker_response *out, size_t *cap, const struct sockaddr *sa,
    socklen_t len)
{
	if (out->peer_count == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		out->peers = xreallocarray(out->peers, *cap, sizeof *out->peers);
	}
	struct tracker_peer *p = &out->peers[out->peer_count++];
	memset(p, 0, sizeof *p);
	memcpy(&p->addr, sa, len);
	p->addrlen = len;
}

static void
tracker_add_v4(struct tracker_response *out, size_t *cap, const uint8_t *ip, uint16_t port)
{
	struct sockaddr_in sin;
	if (port == 0)
		return;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, ip, 4);
	sin.sin_port = htons(port);
	tracker_add_peer(out, cap, (struct sockaddr *)&sin, sizeof sin);
}

static void
tracker_add_v6(struct tracker_response *out, size_t *cap, const uint8_t *ip, uint16_t port)
{
	struct sockaddr_in6 sin6;
	if (port == 0)
		return;
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, ip, 16);
	sin6.sin6_port = htons(port);
	tracker_add_peer(out, cap, (struct sockaddr *)&sin6, sizeof sin6);
}

static int
tracker_parse_compact(const struct be_node *n, size_t entry, struct tracker_response *out,
    size_t *cap, char *err, size_t errlen)
{
	const uint8_t *p = (const uint8_t *)n->v.str.s;
	size_t len = n->v.str.len;
	if (len % entry != 0)
		return dp_fail(err, errlen, "compact %s length %zu is not a multiple of %zu",
		    entry == 6 ? "peers" : "peers6", len, entry);
	for (size_t i = 0; i + entry <= len && out->peer_count < TRACKER_MAX_PEERS; i += entry) {
		uint16_t port = (uint16_t)(p[i + entry - 2] << 8 | p[i + entry - 1]);
		if (entry == 6)
			tracker_add_v4(out, cap, p + i, port);
		else
			tracker_add_v6(out, cap, p + i, port);
	}
	return 0;
}

/* Dictionary peers: entries with a numeric IP and a valid port count; hostnames and malformed
 * entries are skipped, as other clients do. */
static void
tracker_parse_peer_list(const struct be_node *list, struct tracker_response *out, size_t *cap)
{
	for (size_t i = 0; i < list->v.list.n && out->peer_count < TRACKER_MAX_PEERS; i++) {
		const struct be_node *d = list->v.list.items[i];
		if (d->type != BE_DICT)
			continue;
		const struct be_node *ip = be_dict_get_type(d, "ip", BE_STR);
		const struct be_node *port = be_dict_get_type(d, "port", BE_INT);
		if (ip == NULL || port == NULL || port->v.i <= 0 || port->v.i > 65535 ||
		    ip->v.str.len == 0 || ip->v.str.len >= INET6_ADDRSTRLEN)
			continue;
		char buf[INET6_ADDRSTRLEN];
		memcpy(buf, ip->v.str.s, ip->v.str.len);
		buf[ip->v.str.len] = '\0';
		uint8_t a[16];
		if (inet_pton(AF_INET, buf, a) == 1)
			tracker_add_v4(out, cap, a, (uint16_t)port->v.i);
		else if (inet_pton(AF_INET6, buf, a) == 1)
			tracker_add_v6(out, cap, a, (uint16_t)port->v.i);
	}
}

/* Copies a bencoded string into a fixed field, replacing control bytes so it prints safely. */
static void
tracker_copy_text(char *dst, size_t dstlen, const struct be_node *n)
{
	size_t len = DP_MIN(n->v.str.len, dstlen - 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)n->v.str.s[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	dst[len] = '\0';
}

static int
tracker_get_count(const struct be_node *d, const char *key, int *out, char *err, size_t errlen)
{
	const struct be_node *n = be_dict_get(d, key);
	if (n == NULL)
		return 0;
	if (n->type != BE_INT || n->v.i < 0)
		return dp_fail(err, errlen, "'%s' is not a non-negative integer", key);
	*out = n->v.i > INT_MAX ? INT_MAX : (int)n->v.i;
	return 0;
}

/* A reply that is not bencode is often an HTML error page: show its start. */
static int
tracker_not_bencode(const uint8_t *body, size_t len, const struct be_error *be, char *err,
    size_t errlen)
{
	char snip[61];
	size_t n = 0;
	for (size_t i = 0; i < len && n < sizeof snip - 1; i++) {
		unsigned char c = body[i];
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		snip[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	snip[n] = '\0';
	if (len == 0)
		return dp_fail(err, errlen, "empty tracker reply");
	return dp_fail(err, errlen, "tracker reply is not bencoded (%s at byte %zu): \"%s%s\"",
	    be->msg, be->offset, snip, len > n ? "..." : "");
}

static const struct be_limits tracker_be_limits = {
	.max_depth = 8,
	.max_items = 1000000,
	.require_sorted = false,
};

int
tracker_http_parse_announce(const uint8_t *body, size_t len, struct tracker_response *out,
    char *err, size_t errlen)
{
	struct be_error be;
	size_t cap = 0;
	memset(out, 0, sizeof *out);
	tracker_response_clear(out);
	struct be_node *root = be_decode(body, len, &tracker_be_limits, &be);
	if (root == NULL)
		return tracker_not_bencode(body, len, &be, err, errlen);
	if (root->type != BE_DICT) {
		dp_fail(err, errlen, "tracker reply is a %s, not a dictionary",
		    be_type_name(root->type));
		be_free(root);
		return -1;
	}
	const struct be_node *n = be_dict_get(root, "failure reason");
	if (n != NULL) {
		if (n->type == BE_STR && n->v.str.len > 0)
			tracker_copy_text(out->failure, sizeof out->failure, n);
		else
			snprintf(out->failure, sizeof out->failure, "(tracker sent an empty failure reason)");
		be_free(root);
		return 0;
	}
	if ((n = be_dict_get_type(root, "warning message", BE_STR)) != NULL)
		tracker_copy_text(out->warning, sizeof out->warning, n);
	if (tracker_get_count(root, "interval", &out->interval, err, errlen) < 0 ||
	    tracker_get_count(root, "min interval", &out->min_interval, err, errlen) < 0 ||
	    tracker_get_count(root, "complete", &out->complete, err, errlen) < 0 ||
	    tracker_get_count(root, "incomplete", &out->incomplete, err, errlen) < 0 ||
	    tracker_get_count(root, "downloaded", &out->downloaded, err, errlen) < 0)
		goto fail;
	if ((n = be_dict_get(root, "tracker id")) != NULL) {
		if (n->type != BE_STR) {
			dp_fail(err, errlen, "'tracker id' is not a string");
			goto fail;
		}
		/* One we could not send back intact is better not kept. */
		if (n->v.str.len < sizeof out->tracker_id &&
		    memchr(n->v.str.s, '\0', n->v.str.len) == NULL) {
			memcpy(out->tracker_id, n->v.str.s, n->v.str.len);
			out->tracker_id[n->v.str.len] = '\0';
		}
	}
	if ((n = be_dict_get(root, "peers")) != NULL) {
		if (n->type == BE_STR) {
			if (tracker_parse_compact(n, 6, out, &cap, err, errlen) < 0)
				goto fail;
		} else if (n->type == BE_LIST) {
			tracker_parse_peer_list(n, out, &cap);
		} else {
			dp_fail(err, errlen, "'peers' is a %s, not a string or list",
			    be_type_name(n->type));
			goto fail;
		}
	}
	if ((n = be_dict_get(root, "peers6")) != NULL) {
		if (n->type == BE_STR) {
			if (tracker_parse_compact(n, 18, out, &cap, err, errlen) < 0)
				goto fail;
		} else if (n->type == BE_LIST) {
			tracker_parse_peer_list(n, out, &cap);
		} else {
			dp_fail(err, errlen, "'peers6' is a %s, not a string",
			    be_type_name(n->type));
			goto fail;
		}
	}
	be_free(root);
	return 0;
fail:
	be_free(root);
	tracker_response_clear(out);
	return -1;
}

int
tracker_http_parse_scrape(const uint8_t *body, size_t len, const uint8_t info_hash[20],
    int *complete, int *incomplete, int *downloaded, char *err, size_t errlen)
{
	struct tracker_scrape_result r;
	bool refused;
	*complete = *incomplete = *downloaded = -1;
	if (tracker_http_parse_scrape_multi(body, len, (const uint8_t (*)[20])info_hash, 1, &r,
	    &refused, err, errlen) < 0)
		return -1;
	if (!r.ok)
		return dp_fail(err, errlen, "%s", r.err);
	*complete = r.complete;
	*incomplete = r.incomplete;
	*downloaded = r.downloaded;
	return 0;
}

/* The hashes asked for, sorted, to find a reply's keys in O(log n) each. */
struct tracker_scrape_key {
	const uint8_t *hash;
	size_t index;
};

static int
tracker_scrape_key_cmp(const void *a, const void *b)
{
	const struct tracker_scrape_key *x = a, *y = b;
	int c = memcmp(x->hash, y->hash, 20);
	return c != 0 ? c : x->index < y->index ? -1 : x->index > y->index;
}

static int
tracker_scrape_key_find(const void *key, const void *elt)
{
	return memcmp(key, ((const struct tracker_scrape_key *)elt)->hash, 20);
}

/* Fills the result of every asked hash equal to the entry's key, unless filled before. */
static void
tracker_scrape_entry(const struct be_entry *e, const struct tracker_scrape_key *keys, size_t n,
    struct tracker_scrape_result *results, bool *seen)
{
	const struct tracker_scrape_key *k = bsearch(e->key, keys, n, sizeof *keys,
	    tracker_scrape_key_find);
	if (k == NULL)
		return;
	while (k > keys && memcmp(k[-1].hash, e->key, 20) == 0)
		k--;        /* the same hash asked twice: both get the answer */
	for (; k < keys + n && memcmp(k->hash, e->key, 20) == 0; k++) {
		struct tracker_scrape_result *r = &results[k->index];
		if (seen[k->index])
			continue;   /* listed twice (the decoder refuses that now): the first counts */
		seen[k->index] = true;
		int c = -1, ic = -1, d = -1;
		if (e->value->type != BE_DICT) {
			snprintf(r->err, sizeof r->err, "scrape reply lists this torrent as a %s, not "
			    "a dictionary", be_type_name(e->value->type));
		} else if (tracker_get_count(e->value, "complete", &c, r->err, sizeof r->err) == 0 &&
		    tracker_get_count(e->value, "incomplete", &ic, r->err, sizeof r->err) == 0 &&
		    tracker_get_count(e->value, "downloaded", &d, r->err, sizeof r->err) == 0) {
			r->ok = true;
			r->complete = c;
			r->incomplete = ic;
			r->downloaded = d;
			r->err[0] = '\0';
		}
	}
}

int
tracker_http_parse_scrape_multi(const uint8_t *body, size_t len, const uint8_t (*hashes)[20],
    size_t n, struct tracker_scrape_result *results, bool *refused, char *err, size_t errlen)
{
	struct be_error be;
	*refused = false;
	for (size_t i = 0; i < n; i++) {
		results[i] = (struct tracker_scrape_result){ .complete = -1, .incomplete = -1,
			.downloaded = -1 };
		snprintf(results[i].err, sizeof results[i].err, "scrape reply does not list this "
		    "torrent");
	}
	struct be_node *root = be_decode(body, len, &tracker_be_limits, &be);
	if (root == NULL)
		return tracker_not_bencode(body, len, &be, err, errlen);
	int rc = -1;
	const struct be_node *f, *files;
	struct tracker_scrape_key *keys = NULL;
	bool *seen = NULL;
	if (root->type != BE_DICT) {
		dp_fail(err, errlen, "scrape reply is a %s, not a dictionary",
		    be_type_name(root->type));
		goto out;
	}
	if ((f = be_dict_get(root, "failure reason")) != NULL) {
		char msg[200] = "";
		if (f->type == BE_STR)
			tracker_copy_text(msg, sizeof msg, f);
		*refused = true;
		dp_fail(err, errlen, "tracker refused the scrape: %s", msg);
		goto out;
	}
	if ((files = be_dict_get_type(root, "files", BE_DICT)) == NULL) {
		dp_fail(err, errlen, "scrape reply has no 'files' dictionary");
		goto out;
	}
	keys = xcalloc(n ? n : 1, sizeof *keys);
	seen = xcalloc(n ? n : 1, sizeof *seen);
	for (size_t i = 0; i < n; i++)
		keys[i] = (struct tracker_scrape_key){ hashes[i], i };
	qsort(keys, n, sizeof *keys, tracker_scrape_key_cmp);
	/* Keys of another length are not hashes we asked for (hostile or broken: ignored). */
	for (size_t i = 0; i < files->v.dict.n; i++) {
		const struct be_entry *e = &files->v.dict.entries[i];
		if (e->key_len == 20)
			tracker_scrape_entry(e, keys, n, results, seen);
	}
	rc = 0;
out:
	free(keys);
	free(seen);
	be_free(root);
	return rc;
}

/* BEP 15 packets: big-endian fields. */
static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint8_t *
put64(uint8_t *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

#define TRACKER_UDP_MAGIC 0x41727101980ULL

size_t
tracker_udp_build_connect(uint8_t *out, uint32_t transaction_id)
{
	uint8_t *p = put64(out, TRACKER_UDP_MAGIC);
	p = put32(p, 0);
	p = put32(p, transaction_id);
	return (size_t)(p - out);
}

size_t
tracker_udp_build_announce(uint8_t *out, uint64_t connection_id, uint32_t transaction_id,
    const struct tracker_request *req)
{
	static const uint32_t events[] = {
		[TRACKER_EVENT_NONE] = 0, [TRACKER_EVENT_COMPLETED] = 1,
		[TRACKER_EVENT_STARTED] = 2, [TRACKER_EVENT_STOPPED] = 3,
	};
	uint8_t *p = put64(out, connection_id);
	p = put32(p, 1);
	p = put32(p, transaction_id);
	memcpy(p, req->info_hash, 20);
	p += 20;
	memcpy(p, req->peer_id, 20);
	p += 20;
	p = put64(p, req->downloaded);
	p = put64(p, req->left);
	p = put64(p, req->uploaded);
	p = put32(p, (unsigned)req->event < DP_ARRAY_LEN(events) ? events[req->event] : 0);
	p = put32(p, 0);                        /* IP: the sender's */
	p = put32(p, req->key);
	p = put32(p, (uint32_t)(req->numwant < 0 ? -1 : req->numwant));
	p[0] = (uint8_t)(req->port >> 8);
	p[1] = (uint8_t)req->port;
	return (size_t)(p + 2 - out);
}

size_t
tracker_udp_build_scrape(uint8_t *out, uint64_t connection_id, uint32_t transaction_id,
    const uint8_t info_hash[20])
{
	return tracker_udp_build_scrape_multi(out, connection_id, transaction_id,
	    (const uint8_t (*)[20])info_hash, 1);
}

size_t
tracker_udp_build_scrape_multi(uint8_t *out, uint64_t connection_id, uint32_t transaction_id,
    const uint8_t (*hashes)[20], size_t n)
{
	uint8_t *p = put64(out, connection_id);
	p = put32(p, 2);
	p = put32(p, transaction_id);
	n = DP_MIN(n, (size_t)TRACKER_SCRAPE_UDP_MAX);
	for (size_t i = 0; i < n; i++, p += 20)
		memcpy(p, hashes[i], 20);
	return (size_t)(p - out);
}

void
tracker_udp_parse_scrape(const uint8_t *pkt, size_t len, size_t n,
    struct tracker_scrape_result *results)
{
	size_t have = len >= 8 ? (len - 8) / 12 : 0;
	for (size_t i = 0; i < n; i++) {
		struct tracker_scrape_result *r = &results[i];
		*r = (struct tracker_scrape_result){ .complete = -1, .incomplete = -1,
			.downloaded = -1 };
		if (i >= have) {
			snprintf(r->err, sizeof r->err, "UDP scrape reply has no entry for this torrent "
			    "(%zu of %zu)", have, n);
			continue;
		}
		const uint8_t *e = pkt + 8 + 12 * i;
		uint32_t s = get32(e), d = get32(e + 4), l = get32(e + 8);
		r->ok = true;
		r->complete = s > INT_MAX ? INT_MAX : (int)s;
		r->downloaded = d > INT_MAX ? INT_MAX : (int)d;
		r->incomplete = l > INT_MAX ? INT_MAX : (int)l;
	}
}

int
tracker_udp_parse(const uint8_t *pkt, size_t len, uint32_t transaction_id, int family,
    uint32_t *action, uint64_t *connection_id, struct tracker_response *out, char *err,
    size_t errlen)
{
	size_t cap = 0;
	if (len < 8)
		return dp_fail(err, errlen, "UDP reply too short (%zu bytes)", len);
	*action = get32(pkt);
	if (get32(pkt + 4) != transaction_id)
		return dp_fail(err, errlen, "UDP reply has transaction id %08x, expected %08x",
		    get32(pkt + 4), transaction_id);
	switch (*action) {
	case 0:
		if (len < 16)
			return dp_fail(err, errlen, "UDP connect reply too short (%zu bytes)", len);
		*connection_id = get64(pkt + 8);
		return 0;
	case 1: {
		size_t entry = family == AF_INET6 ? 18 : 6;
		if (len < 20)
			return dp_fail(err, errlen, "UDP announce reply too short (%zu bytes)", len);
		tracker_response_clear(out);
		uint32_t interval = get32(pkt + 8);
		out->interval = interval > INT_MAX ? INT_MAX : (int)interval;
		uint32_t leechers = get32(pkt + 12), seeders = get32(pkt + 16);
		out->incomplete = leechers > INT_MAX ? INT_MAX : (int)leechers;
		out->complete = seeders > INT_MAX ? INT_MAX : (int)seeders;
		/* A trailing partial entry is ignored, as the datagram may be padded. */
		for (size_t i = 20; i + entry <= len && out->peer_count < TRACKER_MAX_PEERS; i += entry) {
			uint16_t port = (uint16_t)(pkt[i + entry - 2] << 8 | pkt[i + entry - 1]);
			if (entry == 6)
				tracker_add_v4(out, &cap, pkt + i, port);
			else
				tracker_add_v6(out, &cap, pkt + i, port);
		}
		return 0;
	}
	case 2: {
		if (len < 20)
			return dp_fail(err, errlen, "UDP scrape reply too short (%zu bytes)", len);
		tracker_response_clear(out);
		uint32_t s = get32(pkt + 8), d = get32(pkt + 12), l = get32(pkt + 16);
		out->complete = s > INT_MAX ? INT_MAX : (int)s;
		out->downloaded = d > INT_MAX ? INT_MAX : (int)d;
		out->incomplete = l > INT_MAX ? INT_MAX : (int)l;
		return 0;
	}
	case 3: {
		char msg[200];
		size_t n = DP_MIN(len - 8, sizeof msg - 1);
		for (size_t i = 0; i < n; i++) {
			unsigned char c = pkt[8 + i];
			msg[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
		}
		/* Some trackers NUL-terminate or pad the message. */
		while (n > 0 && msg[n - 1] == ' ')
			n--;
		msg[n] = '\0';
		tracker_response_clear(out);
		snprintf(out->failure, sizeof out->failure, "%s", n ? msg : "(no message)");
		return 0;
	}
	default:
		return dp_fail(err, errlen, "UDP reply has unknown action %u", *action);
	}
}

int
tracker_url_parse(const char *url, struct tracker_url *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	const char *p;
	if (strncasecmp(url, "http://", 7) == 0) {
		out->scheme = TRACKER_SCHEME_HTTP;
		out->port = 80;
		p = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		out->scheme = TRACKER_SCHEME_HTTPS;
		out->port = 443;
		p = url + 8;
	} else if (strncasecmp(url, "udp://", 6) == 0) {
		out->scheme = TRACKER_SCHEME_UDP;
		p = url + 6;
	} else {
		size_t n = strcspn(url, ":/");
		if (url[n] == ':')
			return dp_fail(err, errlen, "unsupported tracker URL scheme '%.*s'",
			    (int)DP_MIN(n, 20), url);
		return dp_fail(err, errlen, "tracker URL has no scheme");
	}
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return dp_fail(err, errlen, "tracker URL contains a space or control byte");
	size_t auth = strcspn(p, "/?#");
	if (memchr(p, '@', auth) != NULL)
		return dp_fail(err, errlen, "tracker URL with user info is not supported");
	const char *host = p, *hend, *port = NULL;
	if (*p == '[') {
		hend = memchr(p, ']', auth);
		if (hend == NULL)
			return dp_fail(err, errlen, "tracker URL has an unclosed '['");
		host = p + 1;
		if (hend + 1 < p + auth) {
			if (hend[1] != ':')
				return dp_fail(err, errlen, "junk after ']' in tracker URL");
			port = hend + 2;
		}
	} else {
		const char *colon = memchr(p, ':', auth);
		hend = colon ? colon : p + auth;
		if (colon)
			port = colon + 1;
	}
	size_t hlen = (size_t)(hend - host);
	if (hlen == 0)
		return dp_fail(err, errlen, "tracker URL has no host");
	if (hlen >= sizeof out->host)
		return dp_fail(err, errlen, "tracker host name too long");
	memcpy(out->host, host, hlen);
	if (port != NULL) {
		unsigned long v = 0;
		const char *e = p + auth;
		if (port == e)
			return dp_fail(err, errlen, "tracker URL has an empty port");
		for (const char *c = port; c < e; c++) {
			if (*c < '0' || *c > '9' || v > 65535)
				return dp_fail(err, errlen, "tracker URL has a bad port");
			v = v * 10 + (unsigned long)(*c - '0');
		}
		if (v == 0 || v > 65535)
			return dp_fail(err, errlen, "tracker URL port %lu out of range", v);
		out->port = (uint16_t)v;
	}
	if (out->port == 0)
		return dp_fail(err, errlen, "UDP tracker URL needs a port");
	const char *path = p + auth;
	size_t plen = strcspn(path, "#");
	if (plen + 2 >= sizeof out->path)
		return dp_fail(err, errlen, "tracker URL path too long");
	if (*path != '/')
		out->path[0] = '/';
	memcpy(out->path + strlen(out->path), path, plen);
	return 0;
}

void
tracker_tier_shuffle(size_t *order, size_t n, uint32_t (*rnd)(void *), void *rarg)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd(rarg) % i;
		size_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
}

void
tracker_tier_promote(size_t *order, size_t n, size_t pos)
{
	if (pos == 0 || pos >= n)
		return;
	size_t t = order[pos];
	memmove(order + 1, order, pos * sizeof *order);
	order[0] = t;
}

unsigned
tracker_next_delay(int interval, int min_interval)
{
	unsigned d = interval > 0 ? (unsigned)interval : tracker_tunables.default_interval_s;
	if (min_interval > 0 && d < (unsigned)min_interval)
		d = (unsigned)min_interval;
	if (d < tracker_tunables.interval_floor_s)
		d = tracker_tunables.interval_floor_s;
	/* A week is long enough to notice a tracker came back. */
	return DP_MIN(d, 7u * 86400u);
}

unsigned
tracker_retry_delay(unsigned fails)
{
	unsigned d = tracker_tunables.retry_min_s;
	for (unsigned i = 1; i < fails && d < tracker_tunables.retry_max_s; i++)
		d *= 2;
	return DP_MIN(d, tracker_tunables.retry_max_s);
}

unsigned
tracker_reannounce_wait(int64_t since_last_s, int min_interval)
{
	int64_t need = min_interval > 0 ? (int64_t)min_interval :
	    (int64_t)tracker_tunables.interval_floor_s;
	if (since_last_s < 0 || since_last_s >= need)
		return 0;
	return (unsigned)(need - since_last_s);
}
