/* check_ut_pex.c: the BEP 11 ut_pex codec (IPv4 and IPv6 lists, flags, dropped, malformed
 * lists, limits) and peer exchange between engines on one loop: a public torrent's peers learn
 * of each other through a third, a private torrent's never do. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "bencode.h"
#include "engine.h"
#include "net.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "ut_pex.h"
#include "util.h"

static struct ut_pex_peer
v4(const char *ip, uint16_t port, uint8_t flags)
{
	struct ut_pex_peer p;
	memset(&p, 0, sizeof p);
	struct sockaddr_in *s = (struct sockaddr_in *)&p.addr;
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	p.len = sizeof *s;
	p.flags = flags;
	return p;
}

static struct ut_pex_peer
v6(const char *ip, uint16_t port, uint8_t flags)
{
	struct ut_pex_peer p;
	memset(&p, 0, sizeof p);
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&p.addr;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	p.len = sizeof *s;
	p.flags = flags;
	return p;
}

static uint16_t
port_of(const struct ut_pex_peer *p)
{
	return p->addr.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&p->addr)->sin_port) :
	    ntohs(((struct sockaddr_in6 *)&p->addr)->sin6_port);
}

START_TEST(test_roundtrip)
{
	struct ut_pex_peer added[3] = {
		v4("127.0.0.2", 6881, UT_PEX_F_SEED | UT_PEX_F_REACHABLE),
		v6("::1", 51413, UT_PEX_F_ENCRYPTION),
		v4("10.1.2.3", 1, 0),
	};
	struct ut_pex_peer dropped[2] = { v4("127.0.0.9", 9, 0), v6("fe80::1", 7, 0) };
	struct dp_buf b;
	dp_buf_init(&b);
	ut_pex_build(&b, added, 3, dropped, 2);
	/* Keys sorted, lists compact, flags one byte per entry. */
	ck_assert(memcmp(b.data, "d5:added12:", 11) == 0);
	struct be_error berr;
	struct be_node *d = be_decode(b.data, b.len, NULL, &berr);
	ck_assert_ptr_nonnull(d);
	ck_assert(!d->v.dict.unsorted);
	ck_assert_uint_eq(be_dict_get(d, "added.f")->v.str.len, 2);
	ck_assert_uint_eq(be_dict_get(d, "added6")->v.str.len, 18);
	ck_assert_uint_eq(be_dict_get(d, "dropped")->v.str.len, 6);
	be_free(d);

	struct ut_pex_msg m;
	char err[128];
	ck_assert_int_eq(ut_pex_parse(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_uint_eq(m.nadded, 3);
	ck_assert_uint_eq(m.ndropped, 2);
	/* IPv4 first, then IPv6. */
	ck_assert_int_eq(m.added[0].addr.ss_family, AF_INET);
	ck_assert_uint_eq(port_of(&m.added[0]), 6881);
	ck_assert_uint_eq(m.added[0].flags, UT_PEX_F_SEED | UT_PEX_F_REACHABLE);
	ck_assert_uint_eq(port_of(&m.added[1]), 1);
	ck_assert_int_eq(m.added[2].addr.ss_family, AF_INET6);
	ck_assert_uint_eq(port_of(&m.added[2]), 51413);
	ck_assert_uint_eq(m.added[2].flags, UT_PEX_F_ENCRYPTION);
	ck_assert_uint_eq(m.added[2].len, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(port_of(&m.dropped[1]), 7);
	ut_pex_msg_free(&m);
	dp_buf_free(&b);

	/* Empty lists. */
	dp_buf_init(&b);
	ut_pex_build(&b, NULL, 0, NULL, 0);
	ck_assert_int_eq(ut_pex_parse(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_uint_eq(m.nadded + m.ndropped, 0);
	ut_pex_msg_free(&m);
	dp_buf_free(&b);
}
END_TEST

START_TEST(test_parse_edges)
{
	struct ut_pex_msg m;
	char err[128];
#define P(s) ut_pex_parse((const uint8_t *)(s), sizeof(s) - 1, &m, err, sizeof err)
	ck_assert_int_eq(P("le"), -1);
	ck_assert_str_eq(err, "not a dictionary");
	ck_assert_int_eq(P("d5:added"), -1);
	ck_assert_int_eq(P("d5:added5:abcdee"), -1);
	ck_assert_str_eq(err, "a peer list of partial entries");
	ck_assert_int_eq(P("d6:added617:abcdefghijklmnopqe"), -1);
	/* Wrong-length flags are ignored, port 0 is skipped, unknown keys and types ignored. */
	ck_assert_int_eq(P("d5:added12:\x7f\x00\x00\x01\x1a\xe1\x7f\x00\x00\x02\x00\x00"
	    "7:added.f3:abc1:xi5e7:dropped0:e"), 0);
	ck_assert_uint_eq(m.nadded, 1);
	ck_assert_uint_eq(port_of(&m.added[0]), 6881);
	ck_assert_uint_eq(m.added[0].flags, 0);
	ut_pex_msg_free(&m);
	ck_assert_int_eq(P("d5:addedi5ee"), 0);
	ck_assert_uint_eq(m.nadded, 0);
	ut_pex_msg_free(&m);
#undef P
	/* More than UT_PEX_MAX_PEERS entries in one list is refused. */
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "added");
	uint8_t *many = xcalloc(UT_PEX_MAX_PEERS + 1, 6);
	be_enc_str(&b, many, (UT_PEX_MAX_PEERS + 1) * 6);
	free(many);
	be_enc_end(&b);
	ck_assert_int_eq(ut_pex_parse(b.data, b.len, &m, err, sizeof err), -1);
	ck_assert_str_eq(err, "too many peers in one message");
	dp_buf_free(&b);
}
END_TEST

/* ---- three engines on one loop ---- */

static char tmpdir[64];

static void
pex_setup(void)
{
	th_tmpdir_make(tmpdir, sizeof tmpdir, "pex");
	evthread_use_pthreads();
}

static void
pex_teardown(void)
{
	th_rm_rf(tmpdir);
	task_registry_clear();
}

static uint8_t *
pex_torrent(bool private_, size_t *len)
{
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "info");
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "length");
	be_enc_int(&b, 100000);
	be_enc_cstr(&b, "name");
	be_enc_cstr(&b, "pex.bin");
	be_enc_cstr(&b, "piece length");
	be_enc_int(&b, 65536);
	be_enc_cstr(&b, "pieces");
	uint8_t h[40];
	memset(h, 0x5a, sizeof h);
	be_enc_str(&b, h, sizeof h);
	if (private_) {
		be_enc_cstr(&b, "private");
		be_enc_int(&b, 1);
	}
	be_enc_end(&b);
	be_enc_end(&b);
	return dp_buf_steal(&b, len);
}

static int
known(struct engine *e, int id)
{
	struct engine_torrent_stats st;
	ck_assert_int_eq(engine_torrent_get(e, id, &st), 0);
	return st.peers_known;
}

static int
connected(struct engine *e, int id)
{
	struct engine_torrent_stats st;
	ck_assert_int_eq(engine_torrent_get(e, id, &st), 0);
	return st.peers_connected;
}

/* Empty leechers b and c connect to a; a tells each about the other (by the listen port of its
 * extension handshake), unless the torrent is private. */
static void
pex_run(bool private_, int expect_known)
{
	struct event_base *base = event_base_new();
	char err[256], addr[64];
	size_t tlen;
	uint8_t *tor = pex_torrent(private_, &tlen);
	struct engine *e[3];
	int id[3];
	for (int i = 0; i < 3; i++) {
		char name[8];
		snprintf(name, sizeof name, "e%d", i);
		char dir[128];
		snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
		mkdir(dir, 0755);
		e[i] = th_engine_loopback(base, dir, 1);
		ck_assert_int_eq(engine_add_torrent_data(e[i], tor, tlen, NULL, &id[i], err,
		    sizeof err), 0);
	}
	th_engine_addr(e[0], addr, sizeof addr);
	ck_assert_int_eq(engine_torrent_add_peer(e[1], id[1], addr, err, sizeof err), 0);
	ck_assert_int_eq(engine_torrent_add_peer(e[2], id[2], addr, err, sizeof err), 0);
	/* The first PEX message leaves 5 s after the handshake; a loaded machine needs slack
	 * (RUN_UNTIL returns as soon as the condition holds). */
	RUN_UNTIL(base, known(e[1], id[1]) >= 2 && known(e[2], id[2]) >= 2, 30);
	ck_assert_int_eq(known(e[1], id[1]), expect_known);
	ck_assert_int_eq(known(e[2], id[2]), expect_known);
	if (expect_known == 2) {
		/* b and c connect to each other (one direction wins; the other is a duplicate). */
		RUN_UNTIL(base, connected(e[1], id[1]) >= 2 && connected(e[2], id[2]) >= 2, 20);
		ck_assert_int_eq(connected(e[1], id[1]), 2);
		ck_assert_int_eq(connected(e[2], id[2]), 2);
	}
	for (int i = 2; i >= 0; i--)
		engine_free(e[i]);
	free(tor);
	event_base_free(base);
}

/* What PEX, trackers and the DHT hand us is dialled only when it can be a peer. */
START_TEST(test_addresses_dialable)
{
	static const struct { const char *a; bool ok; } cases[] = {
		{ "10.1.2.3:6881", true }, { "127.0.0.1:51413", true }, { "[2001:db8::1]:6881", true },
		{ "[::1]:6881", true }, { "0.0.0.0:6881", false },
		{ "0.1.2.3:6881", false }, { "224.0.0.1:6881", false },
		{ "239.255.255.250:1900", false }, { "240.0.0.1:6881", false },
		{ "255.255.255.255:6881", false }, { "[::]:6881", false }, { "[ff02::1]:6881", false },
		{ "[::ffff:224.0.0.1]:6881", false }, { "[::ffff:10.0.0.1]:6881", true },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(cases); i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		ck_assert_msg(sockaddr_parse(cases[i].a, &ss, &len), "%s", cases[i].a);
		ck_assert_msg(sockaddr_is_dialable((struct sockaddr *)&ss) == cases[i].ok, "%s",
		    cases[i].a);
	}
	struct sockaddr_in port0 = { .sin_family = AF_INET, .sin_port = 0 };
	port0.sin_addr.s_addr = htonl(0x0a010203);
	ck_assert(!sockaddr_is_dialable((struct sockaddr *)&port0));
	/* One host for connection limits: an IPv4 address (mapped too), an IPv6 /64. */
	static const struct { const char *a, *b; bool same; } hosts[] = {
		{ "10.0.0.1:1", "10.0.0.1:2", true }, { "10.0.0.1:1", "10.0.0.2:1", false },
		{ "10.0.0.1:1", "[::ffff:10.0.0.1]:2", true },
		{ "[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff::9]:2", true },
		{ "[2001:db8:1:2::1]:1", "[2001:db8:1:3::1]:1", false },
		{ "[2001:db8::1]:1", "10.0.0.1:1", false },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(hosts); i++) {
		struct sockaddr_storage x, y;
		socklen_t lx, ly;
		ck_assert(sockaddr_parse(hosts[i].a, &x, &lx) && sockaddr_parse(hosts[i].b, &y, &ly));
		ck_assert_msg(sockaddr_same_host((struct sockaddr *)&x, (struct sockaddr *)&y) ==
		    hosts[i].same, "%s %s", hosts[i].a, hosts[i].b);
	}
}
END_TEST

START_TEST(test_pex_public)
{
	pex_run(false, 2);
}
END_TEST

START_TEST(test_pex_private)
{
	pex_run(true, 1);
}
END_TEST

Suite *
ut_pex_suite(void)
{
	Suite *s = suite_create("ut_pex");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_parse_edges);
	tcase_add_test(tc, test_addresses_dialable);
	suite_add_tcase(s, tc);
	tc = tcase_create("engines");
	tcase_add_checked_fixture(tc, pex_setup, pex_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pex_public);
	tcase_add_test(tc, test_pex_private);
	suite_add_tcase(s, tc);
	return s;
}
