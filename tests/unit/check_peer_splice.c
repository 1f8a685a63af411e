/* check_peer_splice.c: blocks batched through a pipe to a TCP socket (peer_splice.c): the bytes
 * that arrive (headers, file spans at any offset, pad zeros, bytes in memory), the pipe's bound,
 * a full socket, a file that shrank after it was opened, and the switch back to libevent. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <check.h>
#include <event2/buffer.h>

#include "peer_splice.h"
#include "suites.h"
#include "test_helpers.h"

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
	suite_add_tcase(s, tc);
	return s;
}
