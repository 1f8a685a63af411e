/* fuzz_peer.c: libFuzzer target for a peer connection: after a valid handshake the input is the
 * byte stream a remote peer sends (first byte: its reserved bits), fed through a socketpair into
 * the engine's dispatch (piece fast path, bitfields, requests, Fast and extension messages).
 * Each input runs a bounded number of loop turns and leaves no connection or disk job behind. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/event.h>

#include "bencode.h"
#include "disk.h"
#include "dp_config.h"
#include "engine.h"
#include "engine_private.h"
#include "fuzz_engine.h"
#include "log.h"
#include "peer.h"
#include "session.h"
#include "torrent.h"
#include "util.h"
#include "wire.h"

#define FZ_PIECE 16384u
#define FZ_PIECES 8u
#define FZ_MAX_INPUT 65536u
#define FZ_FEED_ROUNDS 200      /* loop turns while the stream is fed */
#define FZ_DRAIN_ROUNDS 200     /* turns of at most FZ_DRAIN_US each to close and drain */
#define FZ_DRAIN_US 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;
static struct engine *eng;
static uint8_t info_hash[20];

static char fuzz_dir[] = "/tmp/dp-fuzz-peer.XXXXXX";

static void
fuzz_init(void)
{
	eng = fuzz_engine_start(fuzz_dir, &base);
	/* A torrent we are downloading: blocks, haves and bitfields all matter. */
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "info");
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "length");
	be_enc_int(&b, FZ_PIECE * FZ_PIECES - 100);
	be_enc_cstr(&b, "name");
	be_enc_cstr(&b, "fuzz.bin");
	be_enc_cstr(&b, "piece length");
	be_enc_int(&b, FZ_PIECE);
	be_enc_cstr(&b, "pieces");
	uint8_t hashes[20 * FZ_PIECES];
	memset(hashes, 0x5a, sizeof hashes);
	be_enc_str(&b, hashes, sizeof hashes);
	be_enc_end(&b);
	be_enc_end(&b);
	int id;
	char err[256];
	if (engine_add_torrent_data(eng, b.data, b.len, NULL, &id, err, sizeof err) < 0)
		abort();
	dp_buf_free(&b);
	struct torrent *t = session_find_torrent(eng, id);
	memcpy(info_hash, t->mi->info_hash, 20);
}

/* Lets the loop close what is still open (EOF on its next read) and finish every disk job, so
 * no state from one input leaks into the next. Bounded: at most FZ_DRAIN_ROUNDS short turns. */
static void
fuzz_drain(void)
{
	struct disk_pool *pool = eng->disk;
	for (int i = 0; i < FZ_DRAIN_ROUNDS &&
	    (eng->connections > 0 || disk_pool_pending_jobs(pool) > 0); i++) {
		struct timeval tv = { 0, FZ_DRAIN_US };
		event_base_loopexit(base, &tv);
		event_base_loop(base, 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (base == NULL)
		fuzz_init();
	if (size < 1 || size > FZ_MAX_INPUT)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	evutil_make_socket_nonblocking(sv[0]);
	/* Our end never blocks either: a peer that stops reading (disk backpressure, a closed
	 * connection) must not hang the unit in write(). */
	evutil_make_socket_nonblocking(sv[1]);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(0x7f000002);
	if (peer_accept(eng, sv[0], (struct sockaddr *)&sin, sizeof sin) == NULL) {
		close(sv[1]);
		return 0;
	}
	uint8_t hs[WIRE_HANDSHAKE_LEN], id[20];
	memset(id, 'F', sizeof id);
	wire_build_handshake(hs, info_hash, id, data[0] & 1, data[0] & 2, data[0] & 4);
	if (write(sv[1], hs, sizeof hs) != (ssize_t)sizeof hs) {
		close(sv[1]);
		fuzz_drain();
		return 0;
	}
	size_t off = 1;
	bool shut = size <= 1;
	if (shut)
		shutdown(sv[1], SHUT_WR);
	for (int round = 0; round < FZ_FEED_ROUNDS && (!shut || eng->connections > 0); round++) {
		if (!shut) {
			ssize_t n = write(sv[1], data + off, size - off);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				break;    /* the engine closed its end */
			if (off >= size) {
				shutdown(sv[1], SHUT_WR);
				shut = true;
			}
		}
		/* Drain what the engine sent so its writes never block. */
		uint8_t sink[65536];
		while (recv(sv[1], sink, sizeof sink, MSG_DONTWAIT) > 0)
			;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	close(sv[1]);
	fuzz_drain();
	return 0;
}
