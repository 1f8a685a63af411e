/* check_peer_splice.c: blocks batched through a pipe to a TCP socket (peer_splice.c): the bytes
 * that arrive (headers, file spans at any offset, pad zeros, bytes in memory; two peers' batches
 * in turns over more files than are kept mapped), the pipe's bound, a full socket, a file that
 * shrank after it was opened or under its mapping before the commit, the switch back to
 * libevent, a pipe that grows once (and only a few at a time), and the file mappings' life
 * (least recently used dropped, released when the engine lets go of files or a file is
 * deleted, a file that cannot be mapped spliced), and the bound on a socket's unsent bytes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <check.h>
#include <event2/buffer.h>

#include "metainfo.h"
#include "peer_splice.h"
#include "storage.h"
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
	ck_assert_int_eq(peer_splice_commit(ps), 0);
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

/* Queues 16 KiB blocks of c from *off and sends them to tx until the socket says EAGAIN with
 * bytes left in the pipe (bounded: 1,000 batches). Returns the bytes the socket took. */
static size_t
fill_until_full(struct peer_splice *ps, const struct peer_piece *c, int tx, uint32_t *off)
{
	uint8_t h[13] = { 0 };
	size_t taken = 0;
	bool full = false;
	for (int round = 0; round < 1000 && !full && *off < c->length; round++) {
		while (*off < c->length && peer_splice_fits(ps, c, *off, 16384)) {
			ck_assert_int_eq(peer_splice_add(ps, h, sizeof h, c, *off, 16384), 0);
			*off += 16384;
		}
		ck_assert_int_eq(peer_splice_commit(ps), 0);
		while (ps->queued > 0) {
			ssize_t n = peer_splice_send(ps, tx, ps->queued);
			if (n < 0) {
				ck_assert_int_eq(errno, EAGAIN);
				full = true;
				break;
			}
			taken += (size_t)n;
		}
	}
	ck_assert(full);
	ck_assert_uint_gt(ps->queued, 0);
	return taken;
}

/* got holds n blocks of 16 KiB from offset 0 of a file_make file, each after a 13-byte
 * header: their first and last bytes are the file's. */
static void
check_blocks(const uint8_t *got, uint32_t n, unsigned seed)
{
	for (uint32_t b = 0; b < n; b++) {
		const uint8_t *blk = got + (size_t)b * (13 + 16384) + 13;
		ck_assert_msg(blk[0] == (uint8_t)(b * 16384u * 7 + seed) &&
		    blk[16383] == (uint8_t)((b * 16384u + 16383) * 7 + seed), "block %u", b);
	}
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
	ck_assert_int_eq(peer_splice_commit(&ps), 0);
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
	/* The whole batch goes in by one vmsplice: a wrong count would fail here (EAGAIN). */
	ck_assert_int_eq(peer_splice_commit(&ps), 0);
	ck_assert_uint_eq(ps.queued, blocks * (13u + 16384u));
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
	ck_assert_int_eq(peer_splice_commit(&ps), 0);
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
	uint32_t off = 0;
	fill_until_full(&ps, &c, tx, &off);
	size_t total = (size_t)(off / 16384) * (13 + 16384);
	uint8_t *got = xmalloc(total);
	drain(&ps, tx, rx, got, total);
	check_blocks(got, off / 16384, 4);
	free(got);
	peer_splice_close(&ps);
	evbuffer_file_segment_free(s.seg);
	close(fd);
	close(tx);
	close(rx);
}
END_TEST

START_TEST(test_unsent_bounded)
{
	/* A bounded socket whose receiver reads nothing takes at most the bound unsent (and a
	 * segment being filled: 64 KiB on loopback) and says EAGAIN; the pipe keeps the rest, and
	 * all of it arrives once the receiver reads (bounded: 320 KiB taken, 280 KiB unsent). An
	 * unbounded one takes what its send buffer holds: all 4 MiB here, 400 KiB under the
	 * default net.core.wmem_max. A UDP socket is refused. */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(u, 0);
	uint64_t before = peer_splice_bounded_total();
	ck_assert_int_eq(peer_splice_bound_unsent(u), -1);
	ck_assert_uint_eq(peer_splice_bounded_total(), before);
	close(u);

	int fd = file_make("unsent", 4u << 20, 6);
	struct peer_piece_span s = span_file(fd, 0, 4u << 20);
	struct peer_piece c = { .spans = &s, .nspans = 1, .length = s.length };
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	int big = 4 << 20, small = 16384, v = 0;
	setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	ck_assert_int_eq(peer_splice_bound_unsent(tx), 0);
	ck_assert_uint_eq(peer_splice_bounded_total(), before + 1);
	socklen_t vl = sizeof v;
	ck_assert_int_eq(getsockopt(tx, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &vl), 0);
	ck_assert_int_eq(v, (int)PEER_SPLICE_UNSENT);
	uint32_t off = 0;
	size_t taken = fill_until_full(&ps, &c, tx, &off);
	/* Bytes not yet acknowledged: those unsent (what rx holds is acknowledged). */
	int unsent = -1;
	ck_assert_int_eq(ioctl(tx, TIOCOUTQ, &unsent), 0);
	ck_assert_msg(unsent > 0 && unsent <= (int)PEER_SPLICE_UNSENT + 65536, "unsent %d",
	    unsent);
	ck_assert_msg(taken < 400u * 1024u, "the socket took %zu bytes", taken);
	size_t total = (size_t)(off / 16384) * (13 + 16384);
	uint8_t *got = xmalloc(total);
	drain(&ps, tx, rx, got, total);
	check_blocks(got, off / 16384, 6);
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

/* Header i of the tests: 13 bytes of i + 1. */
static void
hdr_of(uint8_t h[13], unsigned i)
{
	memset(h, (int)(i + 1), 13);
}

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
	check_blocks(got, off / 16384, 8);
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

/* A peer of test_interleaved: its pipe, its socket pair, the bytes it should get. */
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
	ck_assert_int_eq(peer_splice_commit(&x->ps), 0);
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

START_TEST(test_interleaved)
{
	/* Two peers served in turns, as the loop does, over six files (more than are kept
	 * mapped: mappings dropped in the middle of a batch), blocks at any offset, some over two
	 * files, small ones from memory and pad zeros between them, pipes drained in part between
	 * batches (the header pages and file pages of earlier batches still in the pipe and the
	 * socket while later headers are written). A batch is sometimes left uncommitted for the
	 * next peer's to find. Every byte arrives as queued, for both peers, over more batches than
	 * a header region has pages. */
	enum { NF = 6, FLEN = 1u << 20 };
	int fds[NF];
	struct peer_piece_span sp[NF];
	for (int f = 0; f < NF; f++) {
		char name[8];
		snprintf(name, sizeof name, "il%d", f);
		fds[f] = file_make(name, FLEN, (unsigned)f * 40);
		sp[f] = span_file(fds[f], 0, FLEN);
	}
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
	uint64_t maps_before = peer_splice_maps_made();
	uint32_t rng = 12345;
#define IL_RAND() il_rand(&rng)
	for (uint32_t round = 0; round < ROUNDS; round++) {
		struct il_peer *x = &peers[IL_RAND() % 2];
		unsigned nb = 1 + IL_RAND() % 12;
		for (unsigned i = 0; i < nb; i++) {
			/* A piece of file a (from offset off), then a pad of 100 zeros, then file b
			 * from its start: blocks inside a, or over a's end, the pad and b. */
			unsigned kind = IL_RAND() % 4, a = IL_RAND() % NF, b = IL_RAND() % NF;
			uint32_t off = (IL_RAND() % 60) * 16384 + IL_RAND() % 4096, at, len;
			struct peer_piece_span parts[3] = { sp[a], { .fd = -1, .length = 100 },
			    sp[b] };
			parts[0].offset = off;
			parts[0].length = 20000;
			parts[2].offset = 0;
			parts[2].length = 20000;
			struct peer_piece fc = { .spans = parts, .nspans = 3, .length = 40100 };
			const struct peer_piece *c = &fc;
			if (kind == 0) {
				c = &mc;
				len = 1 + IL_RAND() % (uint32_t)sizeof mem;
				at = IL_RAND() % ((uint32_t)sizeof mem - len + 1);
			} else if (kind == 1) {
				at = 20000 - 1000 - IL_RAND() % 3000;
				len = 16384;
			} else {
				at = IL_RAND() % 3000;
				len = 16384;
			}
			uint8_t h[13];
			h[0] = 0, h[1] = 0, h[2] = 0x40, h[3] = 9, h[4] = 7;
			memcpy(h + 5, &round, 4);
			memcpy(h + 9, &i, 4);
			if (!peer_splice_fits(&x->ps, c, at, len)) {
				ck_assert_int_eq(peer_splice_commit(&x->ps), 0);
				il_pump(x, SIZE_MAX, true);
			}
			ck_assert(peer_splice_fits(&x->ps, c, at, len));
			ck_assert_uint_le(x->nwant + 13 + len, CAP);
			uint8_t *w = x->want + x->nwant;
			memcpy(w, h, 13);
			for (uint32_t k = 0; k < len; k++) {
				uint32_t p = at + k;
				w[13 + k] = kind == 0 ? mem[p] : p < 20000 ?
				    (uint8_t)((off + p) * 7 + (unsigned)a * 40) : p < 20100 ? 0 :
				    (uint8_t)((p - 20100) * 7 + (unsigned)b * 40);
			}
			x->nwant += 13 + len;
			ck_assert_msg(peer_splice_add(&x->ps, h, 13, c, at, len) == 0,
			    "round %u block %u: %s", round, i, strerror(errno));
			ck_assert_uint_le(peer_splice_mapped_files(), 4);
		}
		/* Committed, or found by the other peer's batch (or the send) and put into this
		 * pipe first. */
		if (IL_RAND() % 4 != 0)
			ck_assert_int_eq(peer_splice_commit(&x->ps), 0);
		/* Some of it goes now, the rest waits behind the next batch. */
		if (IL_RAND() % 2 == 0)
			il_pump(x, 1 + IL_RAND() % 40000, false);
	}
#undef IL_RAND
	/* Six files through four slots: mapped again, but not once a block. */
	ck_assert_uint_gt(peer_splice_maps_made() - maps_before, NF);
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
	for (int f = 0; f < NF; f++) {
		evbuffer_file_segment_free(sp[f].seg);
		close(fds[f]);
	}
	peer_splice_release();
	ck_assert_uint_eq(peer_splice_mapped_files(), 0);
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

START_TEST(test_truncated_under_mapping)
{
	/* The file loses its end after the batch checked it and before the batch goes into the
	 * pipe: the kernel finds no page under the mapping and says EFAULT (no SIGBUS: the
	 * mapping is never read from user space). The commit fails with ENODATA, the caller's
	 * "shrank", and the pipe stays failed; no byte of the lost part is sent. */
	int fd = file_make("trunc", 1u << 20, 6);
	struct peer_piece_span s = span_file(fd, 0, 1u << 20);
	struct peer_piece c = { .spans = &s, .nspans = 1, .length = 1u << 20 };
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	uint8_t h[13];
	hdr_of(h, 0);
	ck_assert_int_eq(peer_splice_add(&ps, h, 13, &c, 0, 16384), 0);
	ck_assert_int_eq(peer_splice_add(&ps, h, 13, &c, 524288, 16384), 0);
	ck_assert_uint_eq(ps.queued, 0);
	char path[192];
	snprintf(path, sizeof path, "%s/trunc", dir);
	ck_assert_int_eq(truncate(path, 8192), 0);
	errno = 0;
	ck_assert_int_eq(peer_splice_commit(&ps), -1);
	ck_assert_int_eq(errno, ENODATA);
	/* What went in is counted (the first header and the pages still in the file), never
	 * the second block. */
	ck_assert_uint_lt(ps.queued, 13 + 16384 + 13);
	errno = 0;
	ck_assert_int_eq(peer_splice_add(&ps, h, 13, &c, 0, 4096), -1);
	ck_assert_int_eq(errno, ENODATA);
	int tx, rx;
	tcp_pair(&tx, &rx);
	errno = 0;
	ck_assert_int_eq(peer_splice_send(&ps, tx, SIZE_MAX), -1);
	ck_assert_int_eq(errno, ENODATA);
	peer_splice_close(&ps);
	/* A new pipe serves the file as it is now: the mapping is made again at its size. */
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	ck_assert_int_eq(peer_splice_add(&ps, h, 13, &c, 0, 8192), 0);
	errno = 0;
	ck_assert_int_eq(peer_splice_add(&ps, h, 13, &c, 8192, 1), -1);
	ck_assert_int_eq(errno, ENODATA);
	peer_splice_close(&ps);
	evbuffer_file_segment_free(s.seg);
	close(fd);
	close(tx);
	close(rx);
	peer_splice_release();
}
END_TEST

/* One block of each file fds[i] (i in order) through ps, committed and checked on rx. */
static void
lru_batch(struct peer_splice *ps, int tx, int rx, const int *fds, const unsigned *seeds,
    size_t n)
{
	uint8_t *want = xmalloc(n * (13 + 4096)), *got = xmalloc(n * (13 + 4096));
	struct peer_piece_span *sp = xcalloc(n, sizeof *sp);
	for (size_t i = 0; i < n; i++) {
		sp[i] = span_file(fds[i], 4096, 4096);
		struct peer_piece c = { .spans = &sp[i], .nspans = 1, .length = 4096 };
		uint8_t *w = want + i * (13 + 4096);
		hdr_of(w, (unsigned)i);
		for (uint32_t k = 0; k < 4096; k++)
			w[13 + k] = (uint8_t)((4096 + k) * 7 + seeds[i]);
		ck_assert_int_eq(peer_splice_add(ps, w, 13, &c, 0, 4096), 0);
	}
	ck_assert_int_eq(peer_splice_commit(ps), 0);
	drain(ps, tx, rx, got, n * (13 + 4096));
	ck_assert_int_eq(memcmp(got, want, n * (13 + 4096)), 0);
	for (size_t i = 0; i < n; i++)
		evbuffer_file_segment_free(sp[i].seg);
	free(sp);
	free(want);
	free(got);
}

START_TEST(test_mappings_lru)
{
	/* Two files in turns are mapped once each, for any count of batches; a fifth file takes
	 * the slot of the least recently used, the others stay. */
	peer_splice_release();
	int fds[5];
	unsigned seeds[5];
	for (int i = 0; i < 5; i++) {
		char name[8];
		snprintf(name, sizeof name, "lru%d", i);
		seeds[i] = 10u + (unsigned)i;
		fds[i] = file_make(name, 65536, seeds[i]);
	}
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	uint64_t made = peer_splice_maps_made();
	for (int round = 0; round < 20; round++)
		lru_batch(&ps, tx, rx, &fds[round % 2], &seeds[round % 2], 1);
	ck_assert_uint_eq(peer_splice_maps_made() - made, 2);
	/* 0 1 2 3 in the slots, 0 used last: 4 takes 1's. */
	lru_batch(&ps, tx, rx, &fds[1], &seeds[1], 3);
	lru_batch(&ps, tx, rx, &fds[0], &seeds[0], 1);
	ck_assert_uint_eq(peer_splice_mapped_files(), 4);
	ck_assert_uint_eq(peer_splice_maps_made() - made, 4);
	ck_assert(th_mapped("/lru1"));
	lru_batch(&ps, tx, rx, &fds[4], &seeds[4], 1);
	ck_assert_uint_eq(peer_splice_mapped_files(), 4);
	ck_assert_uint_eq(peer_splice_maps_made() - made, 5);
	ck_assert(!th_mapped("/lru1"));
	ck_assert(th_mapped("/lru0") && th_mapped("/lru2") && th_mapped("/lru3") &&
	    th_mapped("/lru4"));
	/* All five in one batch: slots taken in its middle, after what pointed into them went
	 * into the pipe; every byte right. */
	lru_batch(&ps, tx, rx, fds, seeds, 5);
	ck_assert_uint_le(peer_splice_mapped_files(), 4);
	peer_splice_close(&ps);
	close(tx);
	close(rx);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	peer_splice_release();
	ck_assert_uint_eq(peer_splice_mapped_files(), 0);
	ck_assert(!th_mapped("/lru0"));
}
END_TEST

/* Tells peer_splice that the file behind fd is let go of, as storage does. */
static void
forget_fd(int fd)
{
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	peer_splice_forget_file(st.st_dev, st.st_ino);
}

START_TEST(test_mappings_released)
{
	/* A mapping would keep a deleted file's blocks on the disk: it goes when storage lets go
	 * of its file (peer_splice_forget_file; other files' mappings stay), at
	 * peer_splice_release, and when a batch finds its file deleted (the open descriptor's
	 * pages are then spliced, still right). */
	peer_splice_release();
	unsigned seeds[2] = { 21, 22 };
	int fds[2] = { file_make("rel", 65536, seeds[0]), file_make("other", 65536, seeds[1]) };
	int fd = fds[0];
	unsigned seed = seeds[0];
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	lru_batch(&ps, tx, rx, fds, seeds, 2);
	ck_assert(th_mapped("/rel"));
	ck_assert(th_mapped("/other"));
	forget_fd(fd);
	ck_assert_uint_eq(peer_splice_mapped_files(), 1);
	ck_assert(!th_mapped("/rel"));
	ck_assert(th_mapped("/other"));
	lru_batch(&ps, tx, rx, &fd, &seed, 1);
	ck_assert_uint_eq(peer_splice_mapped_files(), 2);
	peer_splice_release();
	ck_assert(!th_mapped("/rel"));
	ck_assert(!th_mapped("/other"));
	lru_batch(&ps, tx, rx, &fd, &seed, 1);
	ck_assert(th_mapped("/rel"));
	char path[192];
	snprintf(path, sizeof path, "%s/rel", dir);
	ck_assert_int_eq(unlink(path), 0);
	uint64_t made = peer_splice_maps_made();
	lru_batch(&ps, tx, rx, &fd, &seed, 1);
	ck_assert(!th_mapped("/rel"));
	ck_assert_uint_eq(peer_splice_mapped_files(), 0);
	ck_assert_uint_eq(peer_splice_maps_made(), made);
	peer_splice_close(&ps);
	close(tx);
	close(rx);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* A one-file torrent's metainfo over dir/name, as storage needs it (name, file, sizes). */
static struct metainfo *
mi_single(const char *name, uint64_t len)
{
	struct metainfo *mi = xcalloc(1, sizeof *mi);
	mi->name = xstrdup(name);
	mi->piece_length = 16384;
	mi->files = xcalloc(1, sizeof *mi->files);
	mi->file_count = 1;
	mi->files[0].path = xstrdup(name);
	mi->files[0].length = len;
	mi->total_size = len;
	mi->piece_count = (uint32_t)((len + 16383) / 16384);
	return mi;
}

static void
mi_single_free(struct metainfo *mi)
{
	free(mi->files[0].path);
	free(mi->files);
	free(mi->name);
	free(mi);
}

/* Serves one block of st's file through ps from a descriptor storage opened for it. */
static void
storage_batch(struct peer_splice *ps, int tx, int rx, struct storage *st, unsigned seed)
{
	struct storage_file_ref ref;
	size_t n;
	char err[256];
	ck_assert_msg(storage_open_refs(st, 4096, 4096, &ref, 1, &n, err, sizeof err) == 0, "%s",
	    err);
	ck_assert_uint_eq(n, 1);
	lru_batch(ps, tx, rx, &ref.fd, &seed, 1);
	storage_close_refs(&ref, n);
}

START_TEST(test_storage_releases_mapping)
{
	/* Two torrents' files served from mappings: when storage lets go of one torrent's files
	 * (storage_free, storage_close_all) that file's mapping goes, the other's stays. Storage
	 * keeps only one descriptor (max_open_files 1): the first file's was evicted when the
	 * second was opened, and its mapping still goes when its storage is freed. */
	peer_splice_release();
	storage_set_release_hook(peer_splice_forget_file);
	int fa = file_make("sa.bin", 65536, 50), fb = file_make("sb.bin", 65536, 51);
	close(fa);
	close(fb);
	struct metainfo *ma = mi_single("sa.bin", 65536), *mb = mi_single("sb.bin", 65536);
	struct storage *sa = storage_new(ma, dir, 1), *sb = storage_new(mb, dir, 1);
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	storage_batch(&ps, tx, rx, sa, 50);
	storage_batch(&ps, tx, rx, sb, 51);
	ck_assert_int_eq(storage_open_count(), 1);
	ck_assert_uint_eq(peer_splice_mapped_files(), 2);
	storage_free(sa);
	ck_assert(!th_mapped("/sa.bin"));
	ck_assert(th_mapped("/sb.bin"));
	ck_assert_uint_eq(peer_splice_mapped_files(), 1);
	/* Closing the files of a storage that stays (before a move) lets go of them too; once
	 * told, a second close has nothing more to say, and a new open is reported again. */
	storage_close_all(sb);
	ck_assert(!th_mapped("/sb.bin"));
	ck_assert_uint_eq(peer_splice_mapped_files(), 0);
	storage_batch(&ps, tx, rx, sb, 51);
	ck_assert(th_mapped("/sb.bin"));
	storage_close_all(sb);
	ck_assert(!th_mapped("/sb.bin"));
	storage_free(sb);
	peer_splice_close(&ps);
	close(tx);
	close(rx);
	mi_single_free(ma);
	mi_single_free(mb);
	storage_set_release_hook(NULL);
	peer_splice_release();
}
END_TEST

START_TEST(test_storage_releases_replaced_file)
{
	/* A file replaced on disk (a new inode under its path) while storage's descriptor of it
	 * was evicted: storage opens the new file and the old one's mapping, of a file deleted
	 * now, still holds its blocks. When storage lets go of the torrent's files, both mappings
	 * go, the old inode's too. */
	peer_splice_release();
	storage_set_release_hook(peer_splice_forget_file);
	int fa = file_make("ra.bin", 65536, 70), fb = file_make("rb.bin", 65536, 71);
	close(fa);
	close(fb);
	struct metainfo *ma = mi_single("ra.bin", 65536), *mb = mi_single("rb.bin", 65536);
	struct storage *sa = storage_new(ma, dir, 1), *sb = storage_new(mb, dir, 1);
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	storage_batch(&ps, tx, rx, sa, 70);
	storage_batch(&ps, tx, rx, sb, 71);     /* evicts ra.bin's descriptor */
	char path[192];
	snprintf(path, sizeof path, "%s/ra.bin", dir);
	ck_assert_int_eq(unlink(path), 0);
	fa = file_make("ra.bin", 65536, 72);     /* a new inode: the old one is still mapped */
	close(fa);
	storage_batch(&ps, tx, rx, sa, 72);
	ck_assert(th_mapped("/ra.bin (deleted)"));
	ck_assert_uint_eq(peer_splice_mapped_files(), 3);
	storage_close_all(sa);
	ck_assert(!th_mapped("/ra.bin"));
	ck_assert(th_mapped("/rb.bin"));
	ck_assert_uint_eq(peer_splice_mapped_files(), 1);
	storage_free(sa);
	storage_free(sb);
	ck_assert_uint_eq(peer_splice_mapped_files(), 0);
	peer_splice_close(&ps);
	close(tx);
	close(rx);
	mi_single_free(ma);
	mi_single_free(mb);
	storage_set_release_hook(NULL);
	peer_splice_release();
}
END_TEST

/* The process's address space now (VmSize, bytes), or 0 when /proc does not say. */
static uint64_t
vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return 0;
	char line[256];
	unsigned long long kb = 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

START_TEST(test_unmappable_keeps_others)
{
	/* Under an address-space limit (ulimit -v) a file mmap refuses is spliced without taking
	 * a kept mapping's slot, and is not tried again in later batches while it is the same
	 * file (size, mtime); a changed file is tried again. Four files hold the four slots. */
	peer_splice_release();
	int fds[5];
	unsigned seeds[5] = { 60, 61, 62, 63, 64 };
	for (int i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof name, "uk%d", i);
		fds[i] = file_make(name, 65536, seeds[i]);
	}
	/* 1 GiB, sparse: a block of it is served from its first 64 KiB. */
	fds[4] = file_make("ukbig", 65536, seeds[4]);
	char path[192];
	snprintf(path, sizeof path, "%s/ukbig", dir);
	ck_assert_int_eq(truncate(path, (off_t)1 << 30), 0);
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	lru_batch(&ps, tx, rx, fds, seeds, 4);
	ck_assert_uint_eq(peer_splice_mapped_files(), 4);
	uint64_t made = peer_splice_maps_made(), refused = peer_splice_maps_refused();
	uint64_t vm = vm_size();
	ck_assert_uint_gt(vm, 0);
	struct rlimit old, lim;
	ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
	/* Room for the test's own allocations, not for the 1 GiB mapping. */
	lim.rlim_cur = vm + ((rlim_t)256 << 20);
	lim.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
	for (int round = 0; round < 5; round++)
		lru_batch(&ps, tx, rx, &fds[4], &seeds[4], 1);
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
	ck_assert_uint_eq(peer_splice_maps_refused() - refused, 1);
	ck_assert_uint_eq(peer_splice_maps_made(), made);
	ck_assert_uint_eq(peer_splice_mapped_files(), 4);
	ck_assert(th_mapped("/uk0") && th_mapped("/uk1") && th_mapped("/uk2") &&
	    th_mapped("/uk3"));
	ck_assert(!th_mapped("/ukbig"));
	/* The limit is gone but the file is the same: still spliced, not tried. */
	lru_batch(&ps, tx, rx, &fds[4], &seeds[4], 1);
	ck_assert_uint_eq(peer_splice_maps_refused() - refused, 1);
	ck_assert_uint_eq(peer_splice_maps_made(), made);
	/* Changed (its mtime): tried again, and mapped now, in the least recently used slot. */
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000000, 0 } };
	ck_assert_int_eq(futimens(fds[4], ts), 0);
	lru_batch(&ps, tx, rx, &fds[4], &seeds[4], 1);
	ck_assert_uint_eq(peer_splice_maps_made() - made, 1);
	ck_assert(th_mapped("/ukbig"));
	ck_assert_uint_eq(peer_splice_mapped_files(), 4);
	peer_splice_close(&ps);
	close(tx);
	close(rx);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	peer_splice_release();
}
END_TEST

START_TEST(test_unmappable_spliced)
{
	/* A file that is not mapped (deleted here; the same path as one mmap refuses) has its
	 * pages spliced, each part in its place between the gathered parts of a mapped file. */
	peer_splice_release();
	int fds[4];
	unsigned seeds[4] = { 30, 31, 30, 31 };
	fds[0] = fds[2] = file_make("um0", 65536, 30);
	fds[1] = fds[3] = file_make("um1", 65536, 31);
	char path[192];
	snprintf(path, sizeof path, "%s/um1", dir);
	ck_assert_int_eq(unlink(path), 0);
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	lru_batch(&ps, tx, rx, fds, seeds, 4);
	ck_assert_uint_eq(peer_splice_mapped_files(), 1);
	ck_assert(th_mapped("/um0"));
	ck_assert(!th_mapped("/um1"));
	peer_splice_close(&ps);
	close(tx);
	close(rx);
	close(fds[0]);
	close(fds[1]);
	peer_splice_release();
}
END_TEST

START_TEST(test_huge_file_spliced)
{
	/* Four kept mappings must stay a small part of the address space (x86-64 gives a process
	 * 128 TiB): a file of 8 TiB (sparse; ext4 allows 16) is spliced, not mapped. Four files of
	 * up to 64 TiB could each be mapped before, more than the whole address space, so the
	 * files of a torrent sized to fill it would leave malloc nothing. */
	if (sizeof(void *) < 8)
		return;
	peer_splice_release();
	unsigned seed = 40;
	int fd = file_make("huge", 65536, seed);
	char path[192];
	snprintf(path, sizeof path, "%s/huge", dir);
	int wfd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(wfd, 0);
	if (ftruncate(wfd, (off_t)((uint64_t)8 << 40)) != 0) {
		/* A file system that cannot hold it: nothing to check here. */
		close(wfd);
		close(fd);
		return;
	}
	close(wfd);
	struct peer_splice ps;
	peer_splice_init(&ps);
	ck_assert_int_eq(peer_splice_open(&ps), 0);
	int tx, rx;
	tcp_pair(&tx, &rx);
	lru_batch(&ps, tx, rx, &fd, &seed, 1);
	ck_assert_uint_eq(peer_splice_mapped_files(), 0);
	ck_assert(!th_mapped("/huge"));
	peer_splice_close(&ps);
	close(tx);
	close(rx);
	close(fd);
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
	tcase_add_test(tc, test_unsent_bounded);
	tcase_add_test(tc, test_file_shrank);
	tcase_add_test(tc, test_switched_off);
	tcase_add_test(tc, test_grow_once);
	tcase_add_test(tc, test_interleaved);
	tcase_add_test(tc, test_grow_bounded);
	tcase_add_test(tc, test_truncated_under_mapping);
	tcase_add_test(tc, test_mappings_lru);
	tcase_add_test(tc, test_mappings_released);
	tcase_add_test(tc, test_storage_releases_mapping);
	tcase_add_test(tc, test_storage_releases_replaced_file);
	tcase_add_test(tc, test_unmappable_keeps_others);
	tcase_add_test(tc, test_unmappable_spliced);
	tcase_add_test(tc, test_huge_file_spliced);
	suite_add_tcase(s, tc);
	return s;
}
