/* check_mse.c: MSE/PE against itself: RC4 known answers, both roles negotiating every method
 * in one piece and byte by byte, the initial payload, the stream after the handshake, and the
 * refusals (no common method, unknown torrent, garbage, bad keys, padding over its bound). */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "mse.h"
#include "mse_bev.h"
#include "suites.h"
#include "util.h"

static const uint8_t th_hash[20] = "0123456789abcdefghij";

static bool
find_known(void *arg, const uint8_t req2[20], uint8_t skey[20])
{
	(void)arg;
	uint8_t want[20];
	mse_req2_hash(th_hash, want);
	if (memcmp(want, req2, 20) != 0)
		return false;
	memcpy(skey, th_hash, 20);
	return true;
}

static void
rc4_vector(const char *key, const char *plain, const char *hex)
{
	struct mse_rc4 r;
	mse_rc4_init(&r, (const uint8_t *)key, strlen(key));
	size_t n = strlen(plain);
	uint8_t out[64];
	char got[129];
	mse_rc4_crypt(&r, (const uint8_t *)plain, out, n);
	dp_hex_encode(out, n, got);
	ck_assert_str_eq(got, hex);
}

START_TEST(test_rc4_known_answers)
{
	rc4_vector("Key", "Plaintext", "bbf316e8d940af0ad3");
	rc4_vector("Wiki", "pedia", "1021bf0420");
	rc4_vector("Secret", "Attack at dawn", "45a01f645fc35b383552544b9bf5");
}
END_TEST

/* One side of a run: its handshake and what it has sent but the other has not read yet. */
struct side {
	struct mse_hs *h;
	struct dp_buf wire;      /* bytes in flight to the other side */
	size_t wire_off;
	enum mse_status st;
	uint8_t rest[4096];      /* payload that arrived with or after the end of the handshake */
	size_t rest_len;
};

/* Delivers up to chunk bytes of from's wire to to; flips = {offset, xor} applied in flight. */
static void
deliver(struct side *from, struct side *to, size_t chunk, size_t flip_at, uint8_t flip)
{
	size_t avail = from->wire.len - from->wire_off;
	size_t n = DP_MIN(avail, chunk);
	if (n == 0)
		return;
	uint8_t *p = xmemdup(from->wire.data + from->wire_off, n);
	if (flip_at >= from->wire_off && flip_at < from->wire_off + n)
		p[flip_at - from->wire_off] ^= flip;
	from->wire_off += n;
	size_t used = 0;
	if (to->st == MSE_AGAIN) {
		to->st = mse_hs_feed(to->h, p, n, &used, &to->wire);
	}
	if (to->st == MSE_DONE) {
		ck_assert_uint_le(to->rest_len + n - used, sizeof to->rest);
		memcpy(to->rest + to->rest_len, p + used, n - used);
		to->rest_len += n - used;
	}
	free(p);
}

struct run {
	uint32_t provide, accept;
	bool prefer_plain;
	const char *ia;
	size_t chunk;
	size_t flip_a_at;       /* offset in A's stream flipped in flight (SIZE_MAX: none) */
	uint8_t flip_a;
	bool fixed;             /* fixed secrets: no padding, offsets known */
	struct side a, b;
};

static void
run_handshake(struct run *r)
{
	static const uint8_t sa[20] = "secret-of-the-A-side", sb[20] = "secret-of-the-B-side";
	struct mse_params pa = { .initiator = true, .crypto = r->provide };
	memcpy(pa.skey, th_hash, 20);
	pa.ia = (const uint8_t *)r->ia;
	pa.ia_len = r->ia ? strlen(r->ia) : 0;
	struct mse_params pb = { .initiator = false, .crypto = r->accept,
		.prefer_plain = r->prefer_plain, .find_skey = find_known };
	if (r->fixed) {
		pa.fixed_secret = sa;
		pb.fixed_secret = sb;
	}
	memset(&r->a, 0, sizeof r->a);
	memset(&r->b, 0, sizeof r->b);
	dp_buf_init(&r->a.wire);
	dp_buf_init(&r->b.wire);
	r->a.h = mse_hs_new(&pa, &r->a.wire);
	r->b.h = mse_hs_new(&pb, &r->b.wire);
	ck_assert_ptr_nonnull(r->a.h);
	ck_assert_ptr_nonnull(r->b.h);
	/* Bounded: every round moves at least one byte or ends. */
	for (int round = 0; round < 100000; round++) {
		size_t before = r->a.wire_off + r->b.wire_off;
		deliver(&r->a, &r->b, r->chunk, r->flip_a_at, r->flip_a);
		deliver(&r->b, &r->a, r->chunk, SIZE_MAX, 0);
		if (r->a.wire_off + r->b.wire_off == before)
			break;
	}
}

static void
run_free(struct run *r)
{
	mse_hs_free(r->a.h);
	mse_hs_free(r->b.h);
	dp_buf_free(&r->a.wire);
	dp_buf_free(&r->b.wire);
}

/* After the handshake: A's payload reaches B intact under the selected method. */
static void
check_stream(struct run *r, uint32_t method)
{
	struct mse_rc4 aenc, adec, benc, bdec;
	mse_hs_ciphers(r->a.h, &aenc, &adec);
	mse_hs_ciphers(r->b.h, &benc, &bdec);
	const char *msg = "\x13" "BitTorrent protocol and then some piece data";
	size_t n = strlen(msg);
	uint8_t wire[128], back[128];
	if (method == MSE_CRYPTO_RC4)
		mse_rc4_crypt(&aenc, (const uint8_t *)msg, wire, n);
	else
		memcpy(wire, msg, n);
	ck_assert(method == MSE_CRYPTO_PLAIN || memcmp(wire, msg, n) != 0);
	if (method == MSE_CRYPTO_RC4)
		mse_rc4_crypt(&bdec, wire, back, n);
	else
		memcpy(back, wire, n);
	ck_assert(memcmp(back, msg, n) == 0);
	/* And B to A. */
	if (method == MSE_CRYPTO_RC4) {
		mse_rc4_crypt(&benc, (const uint8_t *)msg, wire, n);
		mse_rc4_crypt(&adec, wire, back, n);
		ck_assert(memcmp(back, msg, n) == 0);
	}
}

START_TEST(test_mse_negotiates)
{
	static const struct {
		uint32_t provide, accept;
		bool prefer_plain;
		uint32_t want;
	} cases[] = {
		{ MSE_CRYPTO_RC4, MSE_CRYPTO_RC4 | MSE_CRYPTO_PLAIN, false, MSE_CRYPTO_RC4 },
		{ MSE_CRYPTO_RC4 | MSE_CRYPTO_PLAIN, MSE_CRYPTO_RC4 | MSE_CRYPTO_PLAIN, false,
		  MSE_CRYPTO_RC4 },
		{ MSE_CRYPTO_RC4 | MSE_CRYPTO_PLAIN, MSE_CRYPTO_RC4 | MSE_CRYPTO_PLAIN, true,
		  MSE_CRYPTO_PLAIN },
		{ MSE_CRYPTO_PLAIN, MSE_CRYPTO_RC4 | MSE_CRYPTO_PLAIN, false, MSE_CRYPTO_PLAIN },
		{ MSE_CRYPTO_RC4 | MSE_CRYPTO_PLAIN, MSE_CRYPTO_RC4, true, MSE_CRYPTO_RC4 },
	};
	static const size_t chunks[] = { 1, 7, 100, 100000 };
	for (size_t c = 0; c < DP_ARRAY_LEN(cases); c++) {
		for (size_t k = 0; k < DP_ARRAY_LEN(chunks); k++) {
			struct run r = { .provide = cases[c].provide, .accept = cases[c].accept,
				.prefer_plain = cases[c].prefer_plain, .chunk = chunks[k],
				.flip_a_at = SIZE_MAX, .ia = k % 2 ? "initial payload" : NULL };
			run_handshake(&r);
			ck_assert_msg(r.a.st == MSE_DONE, "case %zu chunk %zu: A %s", c, chunks[k],
			    mse_hs_error(r.a.h));
			ck_assert_msg(r.b.st == MSE_DONE, "case %zu chunk %zu: B %s", c, chunks[k],
			    mse_hs_error(r.b.h));
			ck_assert_uint_eq(mse_hs_selected(r.a.h), cases[c].want);
			ck_assert_uint_eq(mse_hs_selected(r.b.h), cases[c].want);
			uint8_t skey[20];
			mse_hs_skey(r.b.h, skey);
			ck_assert(memcmp(skey, th_hash, 20) == 0);
			size_t ialen;
			const uint8_t *ia = mse_hs_ia(r.b.h, &ialen);
			if (r.ia != NULL) {
				ck_assert_uint_eq(ialen, strlen(r.ia));
				ck_assert(memcmp(ia, r.ia, ialen) == 0);
			} else {
				ck_assert_uint_eq(ialen, 0);
			}
			/* Nothing past the handshake was sent, so nothing is left over. */
			ck_assert_uint_eq(r.a.rest_len, 0);
			ck_assert_uint_eq(r.b.rest_len, 0);
			check_stream(&r, cases[c].want);
			run_free(&r);
		}
	}
}
END_TEST

/* Payload that follows the handshake in the same read is left for the caller, exactly. */
START_TEST(test_mse_payload_in_same_read)
{
	/* B's reply and its first payload bytes arrive in one read at A. */
	struct mse_params pa = { .initiator = true, .crypto = MSE_CRYPTO_RC4 };
	memcpy(pa.skey, th_hash, 20);
	struct mse_params pb = { .crypto = MSE_CRYPTO_RC4, .find_skey = find_known };
	struct dp_buf aw, bw;
	dp_buf_init(&aw);
	dp_buf_init(&bw);
	struct mse_hs *a = mse_hs_new(&pa, &aw), *b = mse_hs_new(&pb, &bw);
	size_t used;
	/* B needs A's key and step 3, which needs B's key first. */
	ck_assert_int_eq(mse_hs_feed(a, bw.data, bw.len, &used, &aw), MSE_AGAIN);
	ck_assert_uint_eq(used, bw.len);
	size_t b_reply_from = bw.len;
	ck_assert_int_eq(mse_hs_feed(b, aw.data, aw.len, &used, &bw), MSE_DONE);
	ck_assert_uint_eq(used, aw.len);
	struct mse_rc4 benc, bdec;
	mse_hs_ciphers(b, &benc, &bdec);
	uint8_t payload[5];
	mse_rc4_crypt(&benc, (const uint8_t *)"hello", payload, 5);
	dp_buf_add(&bw, payload, 5);
	ck_assert_int_eq(mse_hs_feed(a, bw.data + b_reply_from, bw.len - b_reply_from, &used, &aw),
	    MSE_DONE);
	ck_assert_uint_eq(bw.len - b_reply_from - used, 5);
	struct mse_rc4 aenc, adec;
	mse_hs_ciphers(a, &aenc, &adec);
	uint8_t plain[5];
	mse_rc4_crypt(&adec, bw.data + b_reply_from + used, plain, 5);
	ck_assert(memcmp(plain, "hello", 5) == 0);
	mse_hs_free(a);
	mse_hs_free(b);
	dp_buf_free(&aw);
	dp_buf_free(&bw);
}
END_TEST

START_TEST(test_mse_refusals)
{
	/* No common method: both sides fail, B says why. */
	struct run r = { .provide = MSE_CRYPTO_PLAIN, .accept = MSE_CRYPTO_RC4, .chunk = 64,
		.flip_a_at = SIZE_MAX };
	run_handshake(&r);
	ck_assert_int_eq(r.b.st, MSE_FAIL);
	ck_assert_ptr_nonnull(strstr(mse_hs_error(r.b.h), "no common crypto method"));
	ck_assert_int_ne(r.a.st, MSE_DONE);
	run_free(&r);

	/* A torrent B does not have. */
	struct mse_params pa = { .initiator = true, .crypto = MSE_CRYPTO_RC4 };
	memset(pa.skey, 'x', 20);
	struct mse_params pb = { .crypto = MSE_CRYPTO_RC4, .find_skey = find_known };
	struct dp_buf aw, bw;
	dp_buf_init(&aw);
	dp_buf_init(&bw);
	struct mse_hs *a = mse_hs_new(&pa, &aw), *b = mse_hs_new(&pb, &bw);
	size_t used, a_from = 0;
	mse_hs_feed(a, bw.data, bw.len, &used, &aw);
	ck_assert_int_eq(mse_hs_feed(b, aw.data + a_from, aw.len - a_from, &used, &bw), MSE_FAIL);
	ck_assert_ptr_nonnull(strstr(mse_hs_error(b), "torrent we do not have"));
	mse_hs_free(a);
	mse_hs_free(b);
	dp_buf_free(&aw);
	dp_buf_free(&bw);

	/* Garbage that is not a handshake: B gives up after the key and 532 bytes. */
	dp_buf_init(&bw);
	b = mse_hs_new(&pb, &bw);
	uint8_t junk[2000];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	ck_assert_int_eq(mse_hs_feed(b, junk, sizeof junk, &used, &bw), MSE_FAIL);
	ck_assert_uint_eq(used, MSE_KEY_LEN + MSE_PAD_MAX + 20);
	ck_assert_ptr_nonnull(strstr(mse_hs_error(b), "not an MSE handshake"));
	mse_hs_free(b);
	dp_buf_free(&bw);

	/* A public key of 1 (or 0, or P-1) would make the secret guessable. */
	dp_buf_init(&bw);
	b = mse_hs_new(&pb, &bw);
	uint8_t one[MSE_KEY_LEN] = { 0 };
	one[MSE_KEY_LEN - 1] = 1;
	ck_assert_int_eq(mse_hs_feed(b, one, sizeof one, &used, &bw), MSE_FAIL);
	ck_assert_ptr_nonnull(strstr(mse_hs_error(b), "bad Diffie-Hellman key"));
	mse_hs_free(b);
	dp_buf_free(&bw);
}
END_TEST

/* Flipping ciphertext bits flips the plaintext: len(PadC) becomes 0x0200 (the bound, allowed)
 * or 0x0300 (refused). With fixed secrets there is no PadA: len(PadC) sits at 96 + 20 + 20 + 8 + 4. */
START_TEST(test_mse_padc_bound)
{
	size_t at = MSE_KEY_LEN + 20 + 20 + 8 + 4;
	struct run r = { .provide = MSE_CRYPTO_RC4, .accept = MSE_CRYPTO_RC4, .chunk = 1,
		.fixed = true, .flip_a_at = at, .flip_a = 0x02 };
	run_handshake(&r);
	ck_assert_int_eq(r.b.st, MSE_AGAIN);   /* PadC of 512 is allowed: waits for it */
	run_free(&r);
	/* 0x0300 = 768 > 512 */
	struct run r3 = { .provide = MSE_CRYPTO_RC4, .accept = MSE_CRYPTO_RC4, .chunk = 100000,
		.fixed = true, .flip_a_at = at, .flip_a = 0x03 };
	run_handshake(&r3);
	ck_assert_int_eq(r3.b.st, MSE_FAIL);
	ck_assert_ptr_nonnull(strstr(mse_hs_error(r3.b.h), "PadC of 768"));
	run_free(&r3);
}
END_TEST

START_TEST(test_mse_sniff)
{
	ck_assert_int_eq(mse_sniff_plaintext((const uint8_t *)"\x13" "BitTorrent protocol", 20), 1);
	ck_assert_int_eq(mse_sniff_plaintext((const uint8_t *)"\x13" "BitTorr", 8), -1);
	ck_assert_int_eq(mse_sniff_plaintext((const uint8_t *)"\x13" "BitTorrenX", 11), 0);
	ck_assert_int_eq(mse_sniff_plaintext((const uint8_t *)"\x7f", 1), 0);
	ck_assert_int_eq(mse_sniff_plaintext((const uint8_t *)"", 0), -1);
}
END_TEST

static void
bev_done(void *arg, struct bufferevent *bev, bool ok, uint32_t selected, const char *why)
{
	int *called = arg;
	(void)bev;
	(void)selected;
	ck_assert_msg(ok, "%s", why);
	(*called)++;
}

/* Whether the loop holds the notice of the handshake's end of the filter whose state is arg,
 * not yet run: an event with that arg, never added, so listed only while it is active (called
 * under the loop's lock: event_pending here would wait for it forever). */
static int
notice_seek(const struct event_base *base, const struct event *ev, void *arg)
{
	(void)base;
	return event_get_callback_arg(ev) == arg;
}

/* A loop step ends here: the events queued before it have run, the rest wait. */
static void
step_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* A filter its user frees once its handshake has ended, before the loop ran the notice of that
 * end: the notice never comes. libevent frees a bufferevent's state later, from the loop, and
 * the queued notice ran first: its arg, the transport's connection, was freed already (a
 * pending peer closed at shutdown in ut_pex, where engines share a loop that one's shutdown
 * broke with other events still queued; seen by the clang ASan build). Here the loop runs in
 * steps that end the same way, the sockets read at a higher priority than the notices. */
START_TEST(test_mse_bev_forget)
{
	struct event_base *base = event_base_new();
	ck_assert_int_eq(event_base_priority_init(base, 2), 0);
	int fds[2];
	ck_assert_int_eq(evutil_socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	struct bufferevent *pair[2];
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(evutil_make_socket_nonblocking(fds[k]), 0);
		pair[k] = bufferevent_socket_new(base, fds[k], BEV_OPT_CLOSE_ON_FREE);
		ck_assert_ptr_nonnull(pair[k]);
		ck_assert_int_eq(bufferevent_priority_set(pair[k], 0), 0);
	}
	struct mse_params rp = { .initiator = false, .crypto = MSE_CRYPTO_RC4,
		.find_skey = find_known };
	struct mse_params ip = { .initiator = true, .crypto = MSE_CRYPTO_RC4 };
	memcpy(ip.skey, th_hash, 20);
	int r_called = 0, i_called = 0;
	struct mse_bev *rh, *ih;
	struct bufferevent *r = mse_bev_new(pair[1], &rp, bev_done, &r_called, NULL, &rh);
	ck_assert_ptr_nonnull(r);
	struct bufferevent *i = mse_bev_new(pair[0], &ip, bev_done, &i_called, NULL, &ih);
	ck_assert_ptr_nonnull(i);
	struct event *step = event_new(base, -1, 0, step_cb, base);
	ck_assert_int_eq(event_priority_set(step, 0), 0);
	bool queued = false;
	for (int k = 0; k < 200 && !queued && r_called == 0; k++) {
		event_active(step, EV_TIMEOUT, 0);
		event_base_loop(base, EVLOOP_NONBLOCK);
		queued = event_base_foreach_event(base, notice_seek, rh) != 0;
	}
	event_free(step);
	ck_assert_msg(queued, "the responder's end was never left queued (told: %d)", r_called);
	mse_bev_forget(rh);
	bufferevent_free(r);
	for (int k = 0; k < 10; k++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(r_called, 0);
	bufferevent_free(i);
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
}
END_TEST

Suite *
mse_suite(void)
{
	Suite *s = suite_create("mse");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rc4_known_answers);
	tcase_add_test(tc, test_mse_negotiates);
	tcase_add_test(tc, test_mse_payload_in_same_read);
	tcase_add_test(tc, test_mse_refusals);
	tcase_add_test(tc, test_mse_padc_bound);
	tcase_add_test(tc, test_mse_sniff);
	tcase_add_test(tc, test_mse_bev_forget);
	suite_add_tcase(s, tc);
	return s;
}
