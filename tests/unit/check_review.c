/* check_review.c: regression tests for the review pass over the engine's rules: a peer that
 * floods requests and never reads gets closed rather than growing our memory, and the other
 * bounds and path rules found missing in review. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "engine.h"
#include "metainfo.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "util.h"
#include "wire.h"

#define R_PIECE 32768u
#define R_PIECES 40u
#define R_SIZE (R_PIECE * R_PIECES)

static char rdir[64];
static uint8_t *rpayload;

static void
review_setup(void)
{
	th_tmpdir_make(rdir, sizeof rdir, "review");
	rpayload = xmalloc(R_SIZE);
	for (size_t i = 0; i < R_SIZE; i++)
		rpayload[i] = (uint8_t)(i * 7 + (i >> 9));
	evthread_use_pthreads();
}

static void
review_teardown(void)
{
	th_rm_rf(rdir);
	free(rpayload);
	task_registry_clear();
}

/* A single-file torrent "payload.bin" of rpayload, no trackers. */
static uint8_t *
review_torrent(size_t *len)
{
	return th_torrent_single("payload.bin", rpayload, R_SIZE, R_PIECE, len);
}

static void
review_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

START_TEST(test_peer_that_never_reads)
{
	/* A fast-extension peer asks again and again for a block while choked and never reads:
	 * each request earns a 17-byte reject. The seeder must close it once too much is queued
	 * instead of buffering every reject (before the fix its output grew with the input). */
	struct event_base *base = event_base_new();
	char sdir[128], err[256];
	snprintf(sdir, sizeof sdir, "%s/seed", rdir);
	th_file_write(sdir, "payload.bin", rpayload, R_SIZE);
	size_t tlen;
	uint8_t *tor = review_torrent(&tlen);
	struct metainfo *mi = metainfo_parse(tor, tlen, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	struct engine *seed = th_engine_loopback(base, sdir, 2);
	int sid;
	ck_assert_int_eq(engine_add_torrent_data(seed, tor, tlen, NULL, &sid, err, sizeof err), 0);
	struct engine_torrent_stats st;
	for (int i = 0; i < 100 && (engine_torrent_get(seed, sid, &st) != 0 ||
	    st.state != ENGINE_TORRENT_SEEDING); i++)
		th_loop_run(base, 100);
	ck_assert_int_eq(st.state, ENGINE_TORRENT_SEEDING);
	struct engine_global_stats g;
	engine_global(seed, &g);

	/* A piece outside 127.0.0.1's allowed-fast set, so requests for it are rejected. */
	uint32_t fastset[16];
	unsigned nfast = wire_allowed_fast_set(0x7f000001u, mi->info_hash, R_PIECES, 10, fastset);
	uint32_t piece = 0;
	for (bool in = true; in; ) {
		in = false;
		for (unsigned k = 0; k < nfast; k++)
			if (fastset[k] == piece) {
				in = true;
				piece++;
			}
	}
	ck_assert_uint_lt(piece, R_PIECES);

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g.listen_port) };
	sin.sin_addr.s_addr = htonl(0x7f000001u);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	uint8_t hs[WIRE_HANDSHAKE_LEN], pid[20];
	memset(pid, 'r', sizeof pid);
	wire_build_handshake(hs, mi->info_hash, pid, false, true, false);
	ck_assert_int_eq(write(fd, hs, sizeof hs), (ssize_t)sizeof hs);

	/* 64 KiB of requests per round; 24 MiB in all at most. */
	size_t chunk = 17 * 3855;
	uint8_t *reqs = xmalloc(chunk);
	for (size_t off = 0; off < chunk; off += 17) {
		review_put_be32(reqs + off, 13);
		reqs[off + 4] = WIRE_REQUEST;
		review_put_be32(reqs + off + 5, piece);
		review_put_be32(reqs + off + 9, 0);
		review_put_be32(reqs + off + 13, 16384);
	}
	size_t sent = 0, pos = 0;
	bool closed = false;
	/* Under valgrind on a busy machine the seeder answered 1-4 MiB of requests in 30 s. */
	uint64_t deadline = dp_now_ms() + (getenv("DP_UNDER_VALGRIND") != NULL ? 180000 : 30000);
	while (!closed && sent < (24u << 20) && dp_now_ms() < deadline) {
		ssize_t n = send(fd, reqs + pos, chunk - pos, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			pos = (pos + (size_t)n) % chunk;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			closed = true;   /* EPIPE / ECONNRESET: the seeder hung up */
		}
		th_loop_run(base, n > 0 ? 1 : 20);
		if (engine_torrent_get(seed, sid, &st) == 0 && sent > (1u << 20) &&
		    st.peers_connected == 0)
			closed = true;
	}
	free(reqs);
	ck_assert_msg(closed, "seeder still connected after %zu bytes of requests nobody read",
	    sent);
	ck_assert_uint_lt(sent, 24u << 20);
	/* The seeder keeps serving: it is still seeding. */
	ck_assert_int_eq(engine_torrent_get(seed, sid, &st), 0);
	ck_assert_int_eq(st.state, ENGINE_TORRENT_SEEDING);
	close(fd);
	engine_free(seed);
	metainfo_free(mi);
	free(tor);
	event_base_free(base);
}
END_TEST

/* A raw fast-extension peer of the seeder in review_fast_peer: its socket, the bytes read and
 * not yet taken. */
struct review_raw {
	int fd;
	uint8_t buf[1 << 16];
	size_t len;
};

/* Runs the loop and reads until a whole message is buffered, or deadline: its type (-1 for a
 * keep-alive, -2 when none came), its payload copied to body (up to bodylen bytes). */
static int
review_raw_next(struct review_raw *r, struct event_base *base, uint64_t deadline, uint8_t *body,
    size_t bodylen)
{
	for (;;) {
		if (r->len >= 4) {
			uint32_t mlen = th_be32(r->buf);
			ck_assert_uint_lt(mlen, sizeof r->buf - 4);
			if (r->len >= 4 + (size_t)mlen) {
				int type = mlen == 0 ? -1 : r->buf[4];
				if (mlen > 1)
					memcpy(body, r->buf + 5, DP_MIN((size_t)mlen - 1, bodylen));
				memmove(r->buf, r->buf + 4 + mlen, r->len - 4 - mlen);
				r->len -= 4 + mlen;
				return type;
			}
		}
		if (dp_now_ms() >= deadline)
			return -2;
		th_loop_run(base, 5);
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
		if (n > 0)
			r->len += (size_t)n;
		else
			ck_assert_msg(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
			    "seeder closed the connection");
	}
}

START_TEST(test_fast_cancel_answered)
{
	/* BEP 6: with the fast extension every request gets exactly one answer, a piece or a
	 * reject, even when it is cancelled. A request and its cancel arriving in one read used
	 * to be dropped in silence (since db0d5d6 the requests of a read are served once it is
	 * parsed, so the cancel always found it queued): the requester waits on it for ever. */
	struct event_base *base = event_base_new();
	char sdir[128], err[256];
	snprintf(sdir, sizeof sdir, "%s/seed", rdir);
	th_file_write(sdir, "payload.bin", rpayload, R_SIZE);
	size_t tlen;
	uint8_t *tor = review_torrent(&tlen);
	struct metainfo *mi = metainfo_parse(tor, tlen, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	struct engine *seed = th_engine_loopback(base, sdir, 2);
	int sid;
	ck_assert_int_eq(engine_add_torrent_data(seed, tor, tlen, NULL, &sid, err, sizeof err), 0);
	struct engine_torrent_stats st;
	for (int i = 0; i < 100 && (engine_torrent_get(seed, sid, &st) != 0 ||
	    st.state != ENGINE_TORRENT_SEEDING); i++)
		th_loop_run(base, 100);
	ck_assert_int_eq(st.state, ENGINE_TORRENT_SEEDING);
	struct engine_global_stats g;
	engine_global(seed, &g);

	struct review_raw *r = xcalloc(1, sizeof *r);
	r->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(r->fd, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g.listen_port) };
	sin.sin_addr.s_addr = htonl(0x7f000001u);
	ck_assert_int_eq(connect(r->fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) | O_NONBLOCK), 0);
	uint8_t hs[WIRE_HANDSHAKE_LEN], pid[20];
	memset(pid, 'c', sizeof pid);
	wire_build_handshake(hs, mi->info_hash, pid, false, true, false);
	ck_assert_int_eq(write(r->fd, hs, sizeof hs), (ssize_t)sizeof hs);
	uint64_t deadline = dp_now_ms() + (getenv("DP_UNDER_VALGRIND") != NULL ? 60000 : 10000);
	while (r->len < WIRE_HANDSHAKE_LEN && dp_now_ms() < deadline) {
		th_loop_run(base, 5);
		ssize_t n = recv(r->fd, r->buf + r->len, WIRE_HANDSHAKE_LEN - r->len, 0);
		if (n > 0)
			r->len += (size_t)n;
	}
	ck_assert_uint_eq(r->len, WIRE_HANDSHAKE_LEN);
	ck_assert_msg(r->buf[20 + 7] & 0x04, "seeder does not offer the fast extension");
	r->len = 0;

	uint8_t msg[64];
	review_put_be32(msg, 1);
	msg[4] = WIRE_INTERESTED;
	ck_assert_int_eq(write(r->fd, msg, 5), 5);
	uint8_t body[32];
	int type;
	while ((type = review_raw_next(r, base, deadline, body, sizeof body)) != WIRE_UNCHOKE)
		ck_assert_msg(type != -2, "seeder never unchoked an interested peer");

	/* A request and its cancel in one write: one read. */
	uint32_t piece = 3, begin = 16384, blen = 16384;
	for (int k = 0; k < 2; k++) {
		uint8_t *m = msg + 17 * k;
		review_put_be32(m, 13);
		m[4] = k == 0 ? WIRE_REQUEST : WIRE_CANCEL;
		review_put_be32(m + 5, piece);
		review_put_be32(m + 9, begin);
		review_put_be32(m + 13, blen);
	}
	ck_assert_int_eq(write(r->fd, msg, 34), 34);
	int answers = 0;
	uint64_t until = dp_now_ms() + (getenv("DP_UNDER_VALGRIND") != NULL ? 20000 : 3000);
	while ((type = review_raw_next(r, base, until, body, sizeof body)) != -2) {
		if ((type == WIRE_REJECT || type == WIRE_PIECE) && th_be32(body) == piece &&
		    th_be32(body + 4) == begin) {
			answers++;
			/* One answer is enough; a little longer shows there is no second. */
			until = DP_MIN(until, dp_now_ms() + 300);
		}
	}
	ck_assert_msg(answers == 1, "a cancelled request got %d answers, not exactly one", answers);

	close(r->fd);
	free(r);
	engine_free(seed);
	metainfo_free(mi);
	free(tor);
	event_base_free(base);
}
END_TEST

START_TEST(test_save_dir_too_long)
{
	/* A download directory longer than the torrent keeps (1024 bytes) was silently cut short
	 * in what resume files and moves use, while the data went to the full path. */
	struct event_base *base = event_base_new();
	char err[256];
	size_t tlen;
	uint8_t *tor = review_torrent(&tlen);
	struct engine *e = th_engine_loopback(base, rdir, 2);
	char *dir = xmalloc(1100);
	dir[0] = '/';
	memset(dir + 1, 'd', 1098);
	dir[1099] = '\0';
	struct engine_add_opts o = { .paused = true, .save_dir = dir };
	int id = 0;
	ck_assert_int_eq(engine_add_torrent_data(e, tor, tlen, &o, &id, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "too long") != NULL, "%s", err);
	ck_assert_int_eq(engine_add_magnet(e,
	    "magnet:?xt=urn:btih:c8ff6806ab06e7b5e43a7dac98163524fd782cf2", &o, &id, err,
	    sizeof err), -1);
	ck_assert_msg(strstr(err, "too long") != NULL, "%s", err);
	/* The engine still takes a torrent with a sane directory. */
	o.save_dir = NULL;
	ck_assert_int_eq(engine_add_torrent_data(e, tor, tlen, &o, &id, err, sizeof err), 0);
	free(dir);
	engine_free(e);
	free(tor);
	event_base_free(base);
}
END_TEST

Suite *
review_suite(void)
{
	Suite *s = suite_create("review");
	TCase *tc = tcase_create("bounds");
	tcase_add_checked_fixture(tc, review_setup, review_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_peer_that_never_reads);
	tcase_add_test(tc, test_save_dir_too_long);
	tcase_add_test(tc, test_fast_cancel_answered);
	suite_add_tcase(s, tc);
	return s;
}
