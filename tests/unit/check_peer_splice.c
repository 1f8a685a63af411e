/* check_peer_splice.c: blocks batched through a pipe to a TCP socket (peer_splice.c): the bytes
 * that arrive (headers, file spans at any offset, pad zeros, bytes in memory), the pipe's bound,
 * a full socket, a file that shrank after it was opened, the switch back to libevent, and
 * headers staged in the header pipe (taken only when they are the block's, a stale stage
 * drained; the room the pipe has; two peers' batches in turns), a pipe that grows once (and only a few at a time), and the header pipe's own life (closed
 * by peer_splice_release, opened again after a passing EMFILE). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <check.h>
#include <event2/buffer.h>

#include "peer_splice.h"
#include "suites.h"
#include "test_helpers.h"
#include "util.h"

static char dir[128];

/* A connected TCP pair on loopback: *tx non-blocking, *rx blocking. */
static void
tcp_pair(int *tx, int *rx)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(l, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	*rx = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(*rx, (struct sockaddr *)&a, sizeof a), 0);
	*tx = accept(l, NULL, NULL);
	ck_assert_int_ge(*tx, 0);
	close(l);
	ck_assert_int_eq(fcntl(*tx, F_SETFL, O_NONBLOCK), 0);
}

/* Fills dir/name with len bytes: byte i is (i * 7 + seed) & 0xff. Returns a descriptor. */
static int
file_make(const char *name, size_t len, unsigned seed)
{
	uint8_t *b = xmalloc(len);
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 7 + seed);
	th_file_write(dir, name, b, len);
	free(b);
	char path[192];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* A span of fd from off, wrapped as the read cache does (the segment does not own fd). */
static struct peer_piece_span
span_file(int fd, uint64_t off, uint32_t len)
{
	struct peer_piece_span s = { .fd = fd, .offset = off, .length = len };
	s.seg = evbuffer_file_segment_new(fd, (ev_off_t)off, len, EVBUF_FS_DISABLE_MMAP |
	    EVBUF_FS_DISABLE_LOCKING);
	ck_assert_ptr_nonnull(s.seg);
	return s;
}

/* Sends everything queued, reading it on rx into out (bounded: 10,000 rounds). */
static void
drain(struct peer_splice *ps, int tx, int rx, uint8_t *out, size_t len)
{
	size_t got = 0;
	for (int round = 0; round < 10000 && (ps->queued > 0 || got < len); round++) {
		if (ps->queued > 0) {
			ssize_t n = peer_splice_send(ps, tx, ps->queued);
			ck_assert_msg(n > 0 || (n < 0 && errno == EAGAIN), "send: %s",
			    strerror(errno));
		}
		struct pollfd p = { .fd = rx, .events = POLLIN };
		if (got < len && poll(&p, 1, 100) == 1) {
			ssize_t n = read(rx, out + got, len - got);
			ck_assert_int_gt(n, 0);
			got += (size_t)n;
		}
	}
	ck_assert_uint_eq(ps->queued, 0);
	ck_assert_uint_eq(got, len);
}

START_TEST(test_blocks_arrive_whole)
{
	/* A 48 KiB piece over three files: A from byte 1000 (not page-aligned), a pad file, B.
	 * Three 16 KiB blocks, each with its header, then a block from memory. */
	int fa = file_make("a", 40000, 1), fb = file_make("b", 30000, 2);
	struct peer_piece_span spans[3] = { span_file(fa, 1000, 20000), { .fd = -1,
	    .length = 5000 }, span_file(fb, 0, 49152 - 25000) };
	struct peer_piece c = { .spans = spans, .nspans = 3, .length = 49152 };
	static uint8_t mem[16384];
	for (size_t i = 0; i < sizeof mem; i++)
		mem[i] = (uint8_t)(i * 13);
	struct peer_piece m = { .data = mem, .length = sizeof mem };

	uint8_t *want = xcalloc(1, 4 * (13 + 16384));
	size_t wl = 0;
	for (uint32_t off = 0; off < 49152; off += 16384) {
		uint8_t h[13];
		memset(h, (int)(off / 16384 + 1), sizeof h);
		memcpy(want + wl, h, 13);
		wl += 13;
		for (uint32_t i = off; i < off + 16384; i++, wl++)
			want[wl] = i < 20000 ? (uint8_t)((1000 + i) * 7 + 1) : i < 25000 ? 0 :
			    (uint8_t)((i - 25000) * 7 + 2);
	}
	memset(want + wl, 9, 13);
	memcpy(want + wl + 13, mem, sizeof mem);
	wl += 13 + sizeof mem;

	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	ck_assert_uint_ge(ps.slots, 64);
	int tx, rx;
	tcp_pair(&tx, &rx);
	for (uint32_t off = 0; off < 49152; off += 16384) {
		uint8_t h[13];
		memset(h, (int)(off / 16384 + 1), sizeof h);
		ck_assert(peer_splice_fits(&ps, &c, off, 16384));
		ck_assert_int_eq(peer_splice_add(&ps, h, sizeof h, &c, off, 16384), 0);
	}
	uint8_t h9[13];
	memset(h9, 9, sizeof h9);
	ck_assert_int_eq(peer_splice_add(&ps, h9, sizeof h9, &m, 0, sizeof mem), 0);
	ck_assert_uint_eq(ps.queued, wl);
	/* The pipe holds the pages: the spans' owner may let go before they are sent. */
	for (int i = 0; i < 3; i++)
		if (spans[i].seg != NULL)
			evbuffer_file_segment_free(spans[i].seg);
	close(fa);
	close(fb);
	uint8_t *got = xmalloc(wl);
	drain(&ps, tx, rx, got, wl);
	ck_assert_int_eq(memcmp(got, want, wl), 0);
	ck_assert_uint_eq(ps.used, 0);
	peer_splice_close(&ps);
	ck_assert(!peer_splice_is_open(&ps));
	close(tx);
	close(rx);
	free(got);
	free(want);
}
END_TEST

START_TEST(test_pipe_bound)
{
	/* Blocks go in until the count of buffers says no more: every add succeeds (a wrong count
	 * would meet a full pipe, EAGAIN); the largest request over 8 files fits an empty pipe. */
	int fd = file_make("big", 4u << 20, 3);
	struct peer_piece_span one = span_file(fd, 100, 4u << 20 >> 1);
	struct peer_piece c = { .spans = &one, .nspans = 1, .length = one.length };
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	uint8_t h[13] = { 0 };
	unsigned blocks = 0;
	for (uint32_t off = 0; off + 16384 <= c.length && peer_splice_fits(&ps, &c, off, 16384);
	    off += 16384, blocks++)
		ck_assert_msg(peer_splice_add(&ps, h, sizeof h, &c, off, 16384) == 0, "block %u: %s",
		    blocks, strerror(errno));
	ck_assert_uint_ge(blocks, 8);
	ck_assert_uint_le(ps.used, ps.slots);
	peer_splice_close(&ps);

	struct peer_piece_span eight[8];
	for (int i = 0; i < 8; i++)
		eight[i] = span_file(fd, 4096u * 100 * (unsigned)i + 1 + (unsigned)i, 16384);
	struct peer_piece big = { .spans = eight, .nspans = 8, .length = 8 * 16384 };
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	ck_assert(peer_splice_fits(&ps, &big, 0, 8 * 16384));
	ck_assert_int_eq(peer_splice_add(&ps, h, sizeof h, &big, 0, 8 * 16384), 0);
	ck_assert_uint_eq(ps.queued, 13 + 8 * 16384);
	peer_splice_close(&ps);
	for (int i = 0; i < 8; i++)
		evbuffer_file_segment_free(eight[i].seg);
	evbuffer_file_segment_free(one.seg);
	close(fd);
}
END_TEST

START_TEST(test_socket_full)
{
	/* The receiver reads nothing: sends stop at EAGAIN with bytes left in the pipe, and the
	 * rest follows once it reads; nothing is lost or repeated. */
	int fd = file_make("full", 8u << 20, 4);
	struct peer_piece_span s = span_file(fd, 0, 8u << 20);
	struct peer_piece c = { .spans = &s, .nspans = 1, .length = s.length };
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	int small = 16384;
	setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	uint8_t h[13] = { 0 };
	uint32_t off = 0;
	bool full = false;
	for (int round = 0; round < 1000 && !full && off < c.length; round++) {
		while (off < c.length && peer_splice_fits(&ps, &c, off, 16384)) {
			ck_assert_int_eq(peer_splice_add(&ps, h, sizeof h, &c, off, 16384), 0);
			off += 16384;
		}
		while (ps.queued > 0) {
			ssize_t n = peer_splice_send(&ps, tx, ps.queued);
			if (n < 0) {
				ck_assert_int_eq(errno, EAGAIN);
				full = true;
				break;
			}
		}
	}
	ck_assert(full);
	ck_assert_uint_gt(ps.queued, 0);
	size_t total = (size_t)(off / 16384) * (13 + 16384);
	uint8_t *got = xmalloc(total);
	drain(&ps, tx, rx, got, total);
	for (uint32_t b = 0; b < off / 16384; b++) {
		const uint8_t *blk = got + (size_t)b * (13 + 16384) + 13;
		ck_assert_msg(blk[0] == (uint8_t)(b * 16384u * 7 + 4) &&
		    blk[16383] == (uint8_t)((b * 16384u + 16383) * 7 + 4), "block %u", b);
	}
	free(got);
	peer_splice_close(&ps);
	evbuffer_file_segment_free(s.seg);
	close(fd);
	close(tx);
	close(rx);
}
END_TEST

START_TEST(test_file_shrank)
{
	/* The file lost its end after the span was opened: ENODATA, the caller's "shrank". */
	int fd = file_make("shrink", 65536, 5);
	struct peer_piece_span s = span_file(fd, 0, 65536);
	struct peer_piece c = { .spans = &s, .nspans = 1, .length = 65536 };
	char path[192];
	snprintf(path, sizeof path, "%s/shrink", dir);
	ck_assert_int_eq(truncate(path, 20000), 0);
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	uint8_t h[13] = { 0 };
	ck_assert_int_eq(peer_splice_add(&ps, h, sizeof h, &c, 0, 16384), 0);
	errno = 0;
	ck_assert_int_eq(peer_splice_add(&ps, h, sizeof h, &c, 16384, 16384), -1);
	ck_assert_int_eq(errno, ENODATA);
	ck_assert_int_eq(unlink(path), 0);
	errno = 0;
	ck_assert_int_eq(peer_splice_add(&ps, h, sizeof h, &c, 32768, 16384), -1);
	ck_assert_int_eq(errno, ENODATA);
	peer_splice_close(&ps);
	evbuffer_file_segment_free(s.seg);
	close(fd);
}
END_TEST

START_TEST(test_switched_off)
{
	/* DOWNPOUR_NO_SPLICE keeps every peer on libevent's path (what tests of that path use). */
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(setenv("DOWNPOUR_NO_SPLICE", "1", 1), 0);
	errno = 0;
	ck_assert_int_eq(peer_splice_open(&ps), -1);
	ck_assert_int_eq(errno, ENOSYS);
	ck_assert(!peer_splice_is_open(&ps));
	ck_assert_int_eq(unsetenv("DOWNPOUR_NO_SPLICE"), 0);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	ck_assert(peer_splice_is_open(&ps));
	peer_splice_close(&ps);
}
END_TEST

/* Header i of the staging tests: 13 bytes of i + 1. */
static void
hdr_of(uint8_t h[13], unsigned i)
{
	memset(h, (int)(i + 1), 13);
}

START_TEST(test_headers_staged)
{
	/* Blocks 0-5 of a file, their headers staged by one write: the stage empties as the
	 * blocks take them. Then a stale stage: headers of blocks 6, 7, 8 staged, block 6 taken,
	 * then blocks 9 and 8 added (7 was cancelled): the stale header is drained, the written ones
	 * arrive, and not one byte of the header of 7 does. */
	int fd = file_make("staged", 12 * 16384, 6);
	struct peer_piece_span sp = span_file(fd, 0, 12 * 16384);
	struct peer_piece c = { .spans = &sp, .nspans = 1, .length = sp.length };
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	const unsigned order[] = { 0, 1, 2, 3, 4, 5, 6, 9, 8 };
	const size_t n = sizeof order / sizeof order[0];
	uint8_t hs[9 * 13];
	for (unsigned i = 0; i < 6; i++)
		hdr_of(hs + i * 13, i);
	ck_assert_uint_eq(peer_splice_stage(hs, 6, 13), 6);
	ck_assert_uint_eq(peer_splice_staged(), 6 * 13);
	for (unsigned i = 0; i < 6; i++) {
		uint8_t h[13];
		hdr_of(h, i);
		ck_assert(peer_splice_fits(&ps, &c, i * 16384, 16384));
		ck_assert_int_eq(peer_splice_add(&ps, h, 13, &c, i * 16384, 16384), 0);
		ck_assert_uint_eq(peer_splice_staged(), (5 - i) * 13);
	}
	for (unsigned i = 0; i < 3; i++)
		hdr_of(hs + i * 13, 6 + i);
	ck_assert_uint_eq(peer_splice_stage(hs, 3, 13), 3);
	for (size_t k = 6; k < n; k++) {
		uint8_t h[13];
		hdr_of(h, order[k]);
		ck_assert_int_eq(peer_splice_add(&ps, h, 13, &c, order[k] * 16384, 16384), 0);
	}
	ck_assert_uint_eq(peer_splice_staged(), 0);
	size_t wl = n * (13 + 16384);
	ck_assert_uint_eq(ps.queued, wl);
	uint8_t *got = xmalloc(wl);
	drain(&ps, tx, rx, got, wl);
	for (size_t k = 0; k < n; k++) {
		const uint8_t *b = got + k * (13 + 16384);
		uint8_t h[13];
		hdr_of(h, order[k]);
		ck_assert_msg(memcmp(b, h, 13) == 0, "header of block %u", order[k]);
		uint32_t at = order[k] * 16384u;
		ck_assert_msg(b[13] == (uint8_t)(at * 7 + 6) &&
		    b[13 + 16383] == (uint8_t)((at + 16383) * 7 + 6), "block %u", order[k]);
	}
	/* A stage of nothing the next block needs leaves it empty once that block is added. */
	hdr_of(hs, 40);
	ck_assert_uint_eq(peer_splice_stage(hs, 1, 13), 1);
	uint8_t h0[13];
	hdr_of(h0, 0);
	ck_assert_int_eq(peer_splice_add(&ps, h0, 13, &c, 0, 16384), 0);
	ck_assert_uint_eq(peer_splice_staged(), 0);
	drain(&ps, tx, rx, got, 13 + 16384);
	ck_assert_int_eq(memcmp(got, h0, 13), 0);
	free(got);
	peer_splice_close(&ps);
	evbuffer_file_segment_free(sp.seg);
	close(fd);
	close(tx);
	close(rx);
}
END_TEST

START_TEST(test_room_staged)
{
	/* The room the pipe says it has for blocks like the first is true: that many blocks, each
	 * with a staged header (one buffer of the pipe each, as a written one), all fit and go in
	 * without a full pipe; then the room is spent. */
	int fd = file_make("room", 4u << 20, 7);
	struct peer_piece_span sp = span_file(fd, 100, 4u << 20 >> 1);
	struct peer_piece c = { .spans = &sp, .nspans = 1, .length = sp.length };
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	unsigned room = peer_splice_room(&ps, &c, 0, 16384);
	/* 16 KiB from an unaligned offset: 5 pages, a buffer more, and the header's. */
	ck_assert_uint_eq(room, ps.slots / 7);
	uint8_t hs[64 * 13];
	ck_assert_uint_le(room, 64);
	for (unsigned i = 0; i < room; i++)
		hdr_of(hs + i * 13, i);
	ck_assert_uint_eq(peer_splice_stage(hs, room, 13), room);
	for (unsigned i = 0; i < room; i++) {
		uint8_t h[13];
		hdr_of(h, i);
		ck_assert(peer_splice_fits(&ps, &c, i * 16384, 16384));
		ck_assert_msg(peer_splice_add(&ps, h, 13, &c, i * 16384, 16384) == 0, "block %u: %s",
		    i, strerror(errno));
	}
	ck_assert_uint_eq(peer_splice_staged(), 0);
	ck_assert_uint_eq(peer_splice_room(&ps, &c, room * 16384, 16384), 0);
	ck_assert_uint_le(ps.used, ps.slots);
	peer_splice_close(&ps);
	evbuffer_file_segment_free(sp.seg);
	close(fd);
}
END_TEST

START_TEST(test_grow_once)
{
	/* A pipe grows once, to four times its buffers (1 MiB is what an unprivileged user may
	 * ask by default), with its bytes kept; the next call does nothing. The bigger pipe takes
	 * about four times the blocks, every one of them whole. */
	int fd = file_make("grow", 4u << 20, 8);
	struct peer_piece_span sp = span_file(fd, 0, 4u << 20);
	struct peer_piece c = { .spans = &sp, .nspans = 1, .length = sp.length };
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert(!peer_splice_grow(&ps));
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	unsigned small = ps.slots, before = peer_splice_room(&ps, &c, 0, 16384);
	uint8_t h[13];
	hdr_of(h, 0);
	ck_assert_int_eq(peer_splice_add(&ps, h, 13, &c, 0, 16384), 0);
	ck_assert(peer_splice_grow(&ps));
	ck_assert_uint_eq(ps.slots, 4 * small);
	ck_assert(!peer_splice_grow(&ps));
	ck_assert_uint_eq(ps.slots, 4 * small);
	uint32_t off = 16384;
	while (off + 16384 <= c.length && peer_splice_fits(&ps, &c, off, 16384)) {
		ck_assert_msg(peer_splice_add(&ps, h, 13, &c, off, 16384) == 0, "at %u: %s", off,
		    strerror(errno));
		off += 16384;
	}
	ck_assert_uint_ge(off / 16384, 4 * before);
	int tx, rx;
	tcp_pair(&tx, &rx);
	size_t wl = (size_t)(off / 16384) * (13 + 16384);
	uint8_t *got = xmalloc(wl);
	drain(&ps, tx, rx, got, wl);
	for (uint32_t b = 0; b < off / 16384; b++) {
		const uint8_t *blk = got + (size_t)b * (13 + 16384) + 13;
		ck_assert_msg(blk[0] == (uint8_t)(b * 16384u * 7 + 8) &&
		    blk[16383] == (uint8_t)((b * 16384u + 16383) * 7 + 8), "block %u", b);
	}
	free(got);
	/* A new pipe starts small and may grow again. */
	peer_splice_close(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	ck_assert_uint_eq(ps.slots, small);
	ck_assert(peer_splice_grow(&ps));
	peer_splice_close(&ps);
	evbuffer_file_segment_free(sp.seg);
	close(fd);
	close(tx);
	close(rx);
}
END_TEST

/* A peer of test_stage_interleaved: its pipe, its socket pair, the bytes it should get. */
struct il_peer {
	struct peer_splice ps;
	int tx, rx;
	uint8_t *want, *got;
	size_t nwant, ngot;
};

/* Moves up to max of the pipe's bytes to the socket, and reads what arrived. */
static void
il_pump(struct il_peer *x, size_t max, bool all)
{
	for (int round = 0; round < 10000; round++) {
		if (x->ps.queued > 0) {
			ssize_t n = peer_splice_send(&x->ps, x->tx, DP_MIN(max, x->ps.queued));
			ck_assert_msg(n > 0 || (n < 0 && errno == EAGAIN), "send: %s",
			    strerror(errno));
		}
		struct pollfd p = { .fd = x->rx, .events = POLLIN };
		/* Waits only when all is sent and some is still on its way. */
		while (x->ngot < x->nwant &&
		    poll(&p, 1, all && x->ps.queued == 0 ? 50 : 0) == 1) {
			ssize_t n = read(x->rx, x->got + x->ngot, x->nwant - x->ngot);
			ck_assert_int_gt(n, 0);
			x->ngot += (size_t)n;
		}
		if (!all || (x->ps.queued == 0 && x->ngot == x->nwant))
			return;
	}
	ck_assert_msg(0, "the pipe did not drain");
}

/* xorshift32: the interleaving test's choices, the same every run. */
static uint32_t
il_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

START_TEST(test_stage_interleaved)
{
	/* Two peers served in turns from the one header pipe, as the loop does: a batch's headers
	 * staged (sometimes the other peer's, sometimes with a request cancelled before its turn),
	 * blocks from a file and small ones from memory (written into the page of the header
	 * spliced before them), pipes drained in part between batches. Every byte arrives as
	 * queued, for both peers. */
	int fd = file_make("il", 1u << 20, 3);
	struct peer_piece_span sp = span_file(fd, 0, 1u << 20);
	struct peer_piece fc = { .spans = &sp, .nspans = 1, .length = sp.length };
	static uint8_t mem[4096];
	for (size_t i = 0; i < sizeof mem; i++)
		mem[i] = (uint8_t)(i * 31 + 5);
	struct peer_piece mc = { .data = mem, .length = sizeof mem };
	enum { ROUNDS = 300, CAP = 16u << 20 };
	struct il_peer peers[2];
	for (int i = 0; i < 2; i++) {
		struct il_peer *x = &peers[i];
		peer_splice_init(&x->ps);
		ck_assert_int_eq(peer_splice_open(&x->ps), 0);
		tcp_pair(&x->tx, &x->rx);
		x->want = xmalloc(CAP);
		x->got = xmalloc(CAP);
		x->nwant = x->ngot = 0;
	}
	uint32_t rng = 12345;
#define IL_RAND() il_rand(&rng)
	for (uint32_t round = 0; round < ROUNDS; round++) {
		struct il_peer *x = &peers[IL_RAND() % 2];
		/* The batch: up to 12 blocks, each its own header (piece = round, offset, length). */
		unsigned nb = 1 + IL_RAND() % 12;
		uint8_t hs[12 * 13];
		uint32_t off[12], len[12];
		bool file[12];
		for (unsigned i = 0; i < nb; i++) {
			file[i] = IL_RAND() % 2;
			len[i] = file[i] ? 16384 : 1 + IL_RAND() % (uint32_t)sizeof mem;
			if (file[i]) {
				off[i] = (IL_RAND() % 60) * 16384;
				off[i] += IL_RAND() % 4096;
			} else {
				off[i] = IL_RAND() % ((uint32_t)sizeof mem - len[i] + 1);
			}
			uint8_t *h = hs + i * 13;
			h[0] = 0, h[1] = 0, h[2] = 0x40, h[3] = 9, h[4] = 7;
			memcpy(h + 5, &round, 4);
			memcpy(h + 9, &i, 4);
		}
		/* Staged: the batch, a part of it, or another batch's leftovers. */
		unsigned st = IL_RAND() % 3;
		if (st == 0)
			(void)peer_splice_stage(hs, nb, 13);
		else if (st == 1 && nb > 1)
			(void)peer_splice_stage(hs + 13, nb - 1, 13);
		unsigned skip = IL_RAND() % 4 == 0 ? IL_RAND() % nb : nb;
		for (unsigned i = 0; i < nb; i++) {
			if (i == skip)
				continue;   /* cancelled before its turn */
			const struct peer_piece *c = file[i] ? &fc : &mc;
			if (!peer_splice_fits(&x->ps, c, off[i], len[i]))
				il_pump(x, SIZE_MAX, true);
			ck_assert(peer_splice_fits(&x->ps, c, off[i], len[i]));
			ck_assert_uint_le(x->nwant + 13 + len[i], CAP);
			memcpy(x->want + x->nwant, hs + i * 13, 13);
			if (file[i])
				for (uint32_t k = 0; k < len[i]; k++)
					x->want[x->nwant + 13 + k] = (uint8_t)((off[i] + k) * 7 + 3);
			else
				memcpy(x->want + x->nwant + 13, mem + off[i], len[i]);
			x->nwant += 13 + len[i];
			ck_assert_msg(peer_splice_add(&x->ps, hs + i * 13, 13, c, off[i], len[i]) == 0,
			    "round %u block %u: %s", round, i, strerror(errno));
		}
		/* Some of it goes now, the rest waits behind the next batch. */
		il_pump(x, 1 + IL_RAND() % 40000, false);
	}
#undef IL_RAND
	for (int i = 0; i < 2; i++) {
		struct il_peer *x = &peers[i];
		il_pump(x, SIZE_MAX, true);
		size_t k = 0;
		while (k < x->nwant && x->got[k] == x->want[k])
			k++;
		ck_assert_msg(k == x->nwant, "peer %d byte %zu of %zu: %u, not %u", i, k, x->nwant,
		    k < x->nwant ? x->got[k] : 0, k < x->nwant ? x->want[k] : 0);
		peer_splice_close(&x->ps);
		close(x->tx);
		close(x->rx);
		free(x->want);
		free(x->got);
	}
	evbuffer_file_segment_free(sp.seg);
	close(fd);
}
END_TEST

START_TEST(test_grow_bounded)
{
	/* Big pipes take four times the user's pipe pages (fs/pipe-user-pages-soft is shared by
	 * all the user's pipes): sixteen grow, the seventeenth keeps its size until one of them
	 * closes, then grows. */
	enum { N = 17 };
	struct peer_splice ps[N];
	for (int i = 0; i < N; i++) {
		peer_splice_init(&ps[i]);
		ck_assert_int_eq(peer_splice_open(&ps[i]), 0);
	}
	unsigned small = ps[0].slots;
	for (int i = 0; i < N - 1; i++)
		ck_assert_msg(peer_splice_grow(&ps[i]), "pipe %d", i);
	ck_assert(!peer_splice_grow(&ps[N - 1]));
	ck_assert_uint_eq(ps[N - 1].slots, small);
	peer_splice_close(&ps[3]);
	ck_assert(peer_splice_grow(&ps[N - 1]));
	ck_assert_uint_eq(ps[N - 1].slots, 4 * small);
	/* A closed big pipe's place is taken by a new one. */
	ck_assert_int_eq(peer_splice_open(&ps[3]), 0);
	ck_assert(!peer_splice_grow(&ps[3]));
	for (int i = 0; i < N; i++)
		peer_splice_close(&ps[i]);
	ck_assert_int_eq(peer_splice_open(&ps[0]), 0);
	ck_assert(peer_splice_grow(&ps[0]));
	peer_splice_close(&ps[0]);
}
END_TEST

/* Open descriptors of the process. */
static int
fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;   /* the directory's own */
}

START_TEST(test_header_pipe_released)
{
	/* The header pipe is the process's, opened by the first stage: peer_splice_release (the
	 * engine's end) closes it with what it holds, and the next stage opens a new one. */
	peer_splice_release();
	int base = fd_count();
	uint8_t hs[2 * 13];
	hdr_of(hs, 0);
	hdr_of(hs + 13, 1);
	ck_assert_uint_eq(peer_splice_stage(hs, 2, 13), 2);
	ck_assert_int_eq(fd_count(), base + 2);
	peer_splice_release();
	ck_assert_int_eq(fd_count(), base);
	ck_assert_uint_eq(peer_splice_staged(), 0);
	ck_assert_uint_eq(peer_splice_stage(hs, 2, 13), 2);
	ck_assert_uint_eq(peer_splice_staged(), 26);
	peer_splice_release();
	ck_assert_int_eq(fd_count(), base);
}
END_TEST

START_TEST(test_header_pipe_emfile)
{
	/* No descriptor free when the header pipe is first wanted (a busy client at its limit):
	 * headers are written for now, and once descriptors are free again (after the retry
	 * delay, a second) the header pipe opens; it was given up for the process's life. */
	peer_splice_release();
	struct rlimit old, low;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = DP_MIN(old.rlim_cur, (rlim_t)(fd_count() + 64));
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	int fill[256], nfill = 0;
	while (nfill < 256) {
		int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (f < 0)
			break;
		fill[nfill++] = f;
	}
	ck_assert_int_lt(nfill, 256);
	uint8_t hs[2 * 13];
	hdr_of(hs, 0);
	hdr_of(hs + 13, 1);
	ck_assert_uint_eq(peer_splice_stage(hs, 2, 13), 0);
	while (nfill > 0)
		close(fill[--nfill]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* Not asked again at once: a failing pipe2 per batch would cost more than it saves. */
	ck_assert_uint_eq(peer_splice_stage(hs, 2, 13), 0);
	usleep(1100 * 1000);
	ck_assert_uint_eq(peer_splice_stage(hs, 2, 13), 2);
	ck_assert_uint_eq(peer_splice_staged(), 26);
	peer_splice_release();
}
END_TEST

static void
setup(void)
{
	th_tmpdir_make(dir, sizeof dir, "splice");
}

static void
teardown(void)
{
	th_rm_rf(dir);
}

Suite *
peer_splice_suite(void)
{
	Suite *s = suite_create("peer_splice");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_blocks_arrive_whole);
	tcase_add_test(tc, test_pipe_bound);
	tcase_add_test(tc, test_socket_full);
	tcase_add_test(tc, test_file_shrank);
	tcase_add_test(tc, test_switched_off);
	tcase_add_test(tc, test_headers_staged);
	tcase_add_test(tc, test_room_staged);
	tcase_add_test(tc, test_grow_once);
	tcase_add_test(tc, test_stage_interleaved);
	tcase_add_test(tc, test_grow_bounded);
	tcase_add_test(tc, test_header_pipe_released);
	tcase_add_test(tc, test_header_pipe_emfile);
	suite_add_tcase(s, tc);
	return s;
}
