/* fuzz_utp.c: libFuzzer target for uTP: the packet decoder (what parses writes back to the same
 * header), then the input as a run of datagrams (2-byte length prefixes) from one address into an
 * engine that accepts every SYN, with the loop run between them so ACKs, resends, the reorder
 * buffer and closes all happen. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "udp_socket.h"
#include "util.h"
#include "utp.h"
#include "utp_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *fuzz_utp_base;
static struct udp_socket *fuzz_utp_sock;
#define FUZZ_UTP_USERS 8
static struct bufferevent *fuzz_utp_users[FUZZ_UTP_USERS];
static size_t fuzz_utp_nusers;

static bool
fuzz_utp_accept(void *arg, struct bufferevent *bev, const struct sockaddr *sa, socklen_t len)
{
	(void)arg;
	(void)sa;
	(void)len;
	if (fuzz_utp_nusers == FUZZ_UTP_USERS)
		return false;
	/* Reads nothing: the receive window must close and stay bounded. Writes a little. */
	bufferevent_write(bev, "hello from the fuzzer's acceptor", 32);
	fuzz_utp_users[fuzz_utp_nusers++] = bev;
	return true;
}

static void
fuzz_utp_codec(const uint8_t *data, size_t size)
{
	struct utp_header h;
	size_t off;
	if (!utp_packet_parse(data, size, &h, &off))
		return;
	if (off > size || h.sack_len > UTP_SACK_MAX)
		abort();
	uint8_t buf[UTP_HEADER_LEN + 2 + UTP_SACK_MAX + 1];
	size_t n = utp_packet_write(&h, buf);
	buf[n] = 0x55;   /* a payload byte, so a DATA header parses too */
	struct utp_header g;
	size_t goff;
	if (n != utp_packet_header_len(&h) || !utp_packet_parse(buf, n + 1, &g, &goff) ||
	    goff != n || g.type != h.type || g.conn_id != h.conn_id || g.seq != h.seq ||
	    g.ack != h.ack || g.wnd != h.wnd || g.ts_us != h.ts_us ||
	    g.ts_diff_us != h.ts_diff_us || g.sack_len != h.sack_len ||
	    memcmp(g.sack, h.sack, h.sack_len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_utp_base == NULL) {
		fuzz_utp_base = event_base_new();
		struct sockaddr_in sin;
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		char err[256];
		fuzz_utp_sock = udp_socket_new(fuzz_utp_base, (struct sockaddr *)&sin, sizeof sin,
		    err, sizeof err);
		if (fuzz_utp_base == NULL || fuzz_utp_sock == NULL)
			abort();
	}
	fuzz_utp_codec(data, size);
	struct utp_engine *eng = utp_engine_new(fuzz_utp_base, fuzz_utp_accept, NULL);
	if (eng == NULL)
		abort();
	utp_engine_add_socket(eng, fuzz_utp_sock);
	/* The sender: a loopback port nobody listens on (what we answer goes nowhere). */
	struct sockaddr_in from;
	memset(&from, 0, sizeof from);
	from.sin_family = AF_INET;
	from.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	from.sin_port = htons(9);
	size_t pos = 0;
	for (int n = 0; n < 256 && size - pos >= 2; n++) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		pos += 2;
		len = DP_MIN(len, size - pos);
		utp_engine_datagram(eng, data + pos, len, (struct sockaddr *)&from, sizeof from);
		pos += len;
		event_base_loop(fuzz_utp_base, EVLOOP_NONBLOCK);
	}
	/* Half the users close (FIN path), then everything is reset. */
	for (size_t i = 0; i < fuzz_utp_nusers; i += 2) {
		bufferevent_free(fuzz_utp_users[i]);
		fuzz_utp_users[i] = NULL;
	}
	utp_engine_datagram(eng, data, size, (struct sockaddr *)&from, sizeof from);
	event_base_loop(fuzz_utp_base, EVLOOP_NONBLOCK);
	utp_engine_free(eng);
	for (size_t i = 0; i < fuzz_utp_nusers; i++)
		if (fuzz_utp_users[i] != NULL)
			bufferevent_free(fuzz_utp_users[i]);
	fuzz_utp_nusers = 0;
	event_base_loop(fuzz_utp_base, EVLOOP_NONBLOCK);
	return 0;
}
