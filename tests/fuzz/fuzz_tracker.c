/* fuzz_tracker.c: libFuzzer target for tracker replies; the first byte picks the parser: HTTP
 * announce, HTTP scrape, UDP on an IPv4 socket, UDP on an IPv6 socket. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tracker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		if (tracker_http_parse_scrape(data, size, ih, &c, &i, &d, err, sizeof err) == 0 &&
		    (c < -1 || i < -1 || d < -1))
			abort();
	} else {
		uint32_t action;
		uint64_t cid;
		/* The transaction id is taken from the input so the parser gets past it. */
		uint32_t tid = size >= 8 ? (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 |
		    (uint32_t)data[6] << 8 | data[7] : 0;
		if (tracker_udp_parse(data, size, tid, mode == 2 ? AF_INET : AF_INET6, &action, &cid,
		    &r, err, sizeof err) == 0)
			check_response(&r);
	}
	tracker_response_clear(&r);
	return 0;
}
