/* fuzz_tracker.c: libFuzzer target for tracker replies; the first byte picks the parser: HTTP
 * announce, HTTP scrape (one hash, then the multi-hash parser for up to 75 hashes, bits 2-7 of
 * the first byte, which must agree on the first), UDP on an IPv4 socket, UDP on an IPv6 socket
 * (each also read as a multi-hash scrape reply). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tracker.h"

#define FUZZ_SCRAPE_MAX (TRACKER_SCRAPE_UDP_MAX + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every result is either counts (none below -1) or a terminated reason. */
static void
check_results(const struct tracker_scrape_result *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (memchr(r[i].err, '\0', sizeof r[i].err) == NULL)
			abort();
		if (r[i].ok && (r[i].complete < -1 || r[i].incomplete < -1 || r[i].downloaded < -1))
			abort();
		if (!r[i].ok && r[i].err[0] == '\0')
			abort();
	}
}

static void
check_response(const struct tracker_response *r)
{
	/* Every peer is a complete address with a port; text fields are terminated. */
	for (size_t i = 0; i < r->peer_count; i++) {
		const struct tracker_peer *p = &r->peers[i];
		if (p->addr.ss_family != AF_INET && p->addr.ss_family != AF_INET6)
			abort();
		if (p->addrlen == 0 || p->addrlen > sizeof p->addr)
			abort();
	}
	if (memchr(r->failure, '\0', sizeof r->failure) == NULL ||
	    memchr(r->warning, '\0', sizeof r->warning) == NULL ||
	    memchr(r->tracker_id, '\0', sizeof r->tracker_id) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ih[20] = "IIIIIIIIIIIIIIIIIIII";
	struct tracker_response r;
	char err[256];
	if (size < 1)
		return 0;
	uint8_t mode = data[0] & 3;
	/* The hashes asked in a multi-hash scrape: "II..." first, then "IJ...", "IK..." (some
	 * of them asked twice). */
	size_t nh = (size_t)(data[0] >> 2) % FUZZ_SCRAPE_MAX + 1;
	uint8_t hashes[FUZZ_SCRAPE_MAX][20];
	struct tracker_scrape_result results[FUZZ_SCRAPE_MAX];
	for (size_t k = 0; k < nh; k++) {
		memcpy(hashes[k], ih, 20);
		hashes[k][1] = (uint8_t)('I' + k % 40);
	}
	data++;
	size--;
	memset(&r, 0, sizeof r);
	err[0] = '\0';
	if (mode == 0) {
		if (tracker_http_parse_announce(data, size, &r, err, sizeof err) == 0)
			check_response(&r);
		else if (r.peers != NULL || err[0] == '\0')
			abort();
	} else if (mode == 1) {
		int c, i, d;
		int rc = tracker_http_parse_scrape(data, size, ih, &c, &i, &d, err, sizeof err);
		if (rc == 0 && (c < -1 || i < -1 || d < -1))
			abort();
		bool refused;
		int mrc = tracker_http_parse_scrape_multi(data, size, (const uint8_t (*)[20])hashes,
		    nh, results, &refused, err, sizeof err);
		check_results(results, nh);
		/* The first hash is the single parse's: both read the reply the same way. */
		if (mrc == 0 && (results[0].ok != (rc == 0) || (rc == 0 &&
		    (results[0].complete != c || results[0].incomplete != i ||
		    results[0].downloaded != d))))
			abort();
		if (mrc < 0 && rc == 0)
			abort();
	} else {
		uint32_t action;
		uint64_t cid;
		/* The transaction id is taken from the input so the parser gets past it. */
		uint32_t tid = size >= 8 ? (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 |
		    (uint32_t)data[6] << 8 | data[7] : 0;
		if (tracker_udp_parse(data, size, tid, mode == 2 ? AF_INET : AF_INET6, &action, &cid,
		    &r, err, sizeof err) == 0) {
			check_response(&r);
			if (action == 2) {
				tracker_udp_parse_scrape(data, size, nh, results);
				check_results(results, nh);
				/* Its first entry is what the one-hash parse read. */
				if (size >= 20 && (!results[0].ok || results[0].complete != r.complete ||
				    results[0].downloaded != r.downloaded ||
				    results[0].incomplete != r.incomplete))
					abort();
			}
		}
	}
	tracker_response_clear(&r);
	return 0;
}
