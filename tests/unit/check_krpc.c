/* check_krpc.c: the KRPC codec (every query and answer round-trips, strict refusals, limits,
 * BEP 32 nodes6 and want, BEP 42 ip), compact formats, and BEP 42 node IDs against the BEP's
 * test vectors. */
#include "config.h"

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <check.h>

#include "bencode.h"
#include "dht_id.h"
#include "krpc.h"
#include "suites.h"
#include "util.h"

static const uint8_t tid2[2] = { 'a', 'a' };

static struct sockaddr_storage
addr4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage
addr6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
	return ss;
}

static int
decode_str(const char *s, struct krpc_msg *m)
{
	char err[128];
	return krpc_decode((const uint8_t *)s, strlen(s), m, err, sizeof err);
}

/* The examples of BEP 5 decode as they should. */
START_TEST(test_bep5_examples)
{
	static struct krpc_msg m;
	ck_assert_int_eq(decode_str("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
	    &m), 0);
	ck_assert_int_eq(m.type, KRPC_QUERY);
	ck_assert_int_eq(m.method, KRPC_PING);
	ck_assert_mem_eq(m.id, "abcdefghij0123456789", 20);
	ck_assert_uint_eq(m.tid_len, 2);
	ck_assert_mem_eq(m.tid, "aa", 2);

	ck_assert_int_eq(decode_str("d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e"
	    "1:q9:find_node1:t2:aa1:y1:qe", &m), 0);
	ck_assert_int_eq(m.method, KRPC_FIND_NODE);
	ck_assert_mem_eq(m.target, "mnopqrstuvwxyz123456", 20);

	ck_assert_int_eq(decode_str("d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e"
	    "1:q9:get_peers1:t2:aa1:y1:qe", &m), 0);
	ck_assert_int_eq(m.method, KRPC_GET_PEERS);
	ck_assert_mem_eq(m.target, "mnopqrstuvwxyz123456", 20);

	ck_assert_int_eq(decode_str("d1:ad2:id20:abcdefghij012345678912:implied_porti1e"
	    "9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe"
	    "1:q13:announce_peer1:t2:aa1:y1:qe", &m), 0);
	ck_assert_int_eq(m.method, KRPC_ANNOUNCE_PEER);
	ck_assert(m.implied_port);
	ck_assert_uint_eq(m.port, 6881);
	ck_assert_uint_eq(m.token_len, 8);
	ck_assert_mem_eq(m.token, "aoeusnth", 8);

	ck_assert_int_eq(decode_str("d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth"
	    "6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re", &m), 0);
	ck_assert_int_eq(m.type, KRPC_RESPONSE);
	ck_assert(m.has_values);
	ck_assert_uint_eq(m.nvalues, 2);
	ck_assert_int_eq(m.values[0].addr.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&m.values[0].addr)->sin_port),
	    ('.' << 8) | 'u');

	ck_assert_int_eq(decode_str("d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee", &m), 0);
	ck_assert_int_eq(m.type, KRPC_ERROR);
	ck_assert_int_eq(m.error_code, KRPC_ERR_GENERIC);
	ck_assert_str_eq(m.error_msg, "A Generic Error Ocurred");
}
END_TEST

/* What we encode decodes to the same fields, keys sorted (the decoder's strict mode agrees). */
START_TEST(test_roundtrip)
{
	static struct krpc_msg m;
	uint8_t id[20], target[20];
	memset(id, 0x11, 20);
	memset(target, 0xee, 20);
	static const uint8_t ver[4] = { 'D', 'P', 0, 1 };
	struct krpc_head h = { tid2, 2, ver, false };
	struct dp_buf b;
	char err[128];

	dp_buf_init(&b);
	krpc_enc_find_node(&b, &h, id, target, true, true);
	ck_assert_int_eq(krpc_decode(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.method, KRPC_FIND_NODE);
	ck_assert(m.want4 && m.want6);
	ck_assert_mem_eq(m.target, target, 20);
	ck_assert_str_eq(m.version, "DP??");
	struct be_error berr;
	static const struct be_limits sorted = { 8, 1000, true };
	struct be_node *n = be_decode(b.data, b.len, &sorted, &berr);
	ck_assert_ptr_nonnull(n);
	be_free(n);

	b.len = 0;
	h.read_only = true;
	krpc_enc_get_peers(&b, &h, id, target, true, false);
	ck_assert_int_eq(krpc_decode(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.method, KRPC_GET_PEERS);
	ck_assert(m.read_only && m.want4 && !m.want6);
	n = be_decode(b.data, b.len, &sorted, &berr);
	ck_assert_ptr_nonnull(n);
	be_free(n);
	h.read_only = false;

	b.len = 0;
	krpc_enc_announce_peer(&b, &h, id, target, 51413, false, (const uint8_t *)"tok", 3);
	ck_assert_int_eq(krpc_decode(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.method, KRPC_ANNOUNCE_PEER);
	ck_assert(!m.implied_port);
	ck_assert_uint_eq(m.port, 51413);
	ck_assert_uint_eq(m.token_len, 3);

	b.len = 0;
	krpc_enc_ping(&b, &h, id);
	ck_assert_int_eq(krpc_decode(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.method, KRPC_PING);

	/* An answer with both families of nodes, values, a token and the requester's address. */
	struct krpc_node nodes[3];
	memset(nodes, 0, sizeof nodes);
	for (int i = 0; i < 3; i++)
		memset(nodes[i].id, 0x30 + i, 20);
	nodes[0].addr = addr4("1.2.3.4", 1000);
	nodes[1].addr = addr6("2001:db8::1", 2000);
	nodes[2].addr = addr4("5.6.7.8", 3000);
	struct krpc_peer values[2];
	values[0].addr = addr4("9.9.9.9", 6881);
	values[1].addr = addr6("2001:db8::9", 6882);
	struct sockaddr_storage req = addr4("203.0.113.7", 4444);
	struct krpc_reply r = { id, (struct sockaddr *)&req, nodes, 3, (const uint8_t *)"12345678",
		8, values, 2 };
	b.len = 0;
	krpc_enc_reply(&b, &h, &r);
	ck_assert_int_eq(krpc_decode(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.type, KRPC_RESPONSE);
	ck_assert_uint_eq(m.nnodes, 2);
	ck_assert_uint_eq(m.nnodes6, 1);
	ck_assert_mem_eq(m.nodes[1].id, nodes[2].id, 20);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&m.nodes[1].addr)->sin_port), 3000);
	ck_assert_mem_eq(&((struct sockaddr_in6 *)&m.nodes6[0].addr)->sin6_addr,
	    &((struct sockaddr_in6 *)&nodes[1].addr)->sin6_addr, 16);
	ck_assert_uint_eq(m.nvalues, 2);
	ck_assert_int_eq(m.values[1].addr.ss_family, AF_INET6);
	ck_assert(m.has_ip);
	ck_assert_int_eq(memcmp(&((struct sockaddr_in *)&m.ip)->sin_addr,
	    &((struct sockaddr_in *)&req)->sin_addr, 4), 0);
	ck_assert_uint_eq(m.token_len, 8);
	n = be_decode(b.data, b.len, &sorted, &berr);
	ck_assert_ptr_nonnull(n);
	be_free(n);

	b.len = 0;
	krpc_enc_error(&b, &h, KRPC_ERR_PROTOCOL, "bad token");
	ck_assert_int_eq(krpc_decode(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.type, KRPC_ERROR);
	ck_assert_int_eq(m.error_code, 203);
	ck_assert_str_eq(m.error_msg, "bad token");
	dp_buf_free(&b);
}
END_TEST

/* Malformed datagrams are refused with a reason; what could be read is kept for an error. */
START_TEST(test_refusals)
{
	static struct krpc_msg m;
	static const char *const bad[] = {
		"",
		"i1e",
		"le",
		"d1:t2:aae",                                            /* no y */
		"d1:t2:aa1:y1:xe",                                      /* unknown type */
		"d1:t17:aaaaaaaaaaaaaaaaa1:y1:qe",                      /* tid too long */
		"d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe",  /* short id */
		"d1:q4:ping1:t2:aa1:y1:qe",                             /* no arguments */
		"d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe",  /* no target */
		"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti0e"
		    "5:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe",         /* port 0 */
		"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti1e"
		    "e1:q13:announce_peer1:t2:aa1:y1:qe",                   /* no token */
		"d1:rd2:id20:abcdefghij01234567895:nodes25:aaaaaaaaaaaaaaaaaaaaaaaaae1:t2:aa1:y1:re",
		"d1:rd2:id20:abcdefghij01234567896:valuesi3ee1:t2:aa1:y1:re",
		"d1:rd2:id20:abcdefghij0123456789e1:t2:aa1:y1:re1:x",  /* trailing bytes */
		"d1:eli201e1:xe1:t2:aa1:y1:re",                        /* r without a body */
		"d1:el3:abce1:t2:aa1:y1:ee",                           /* error without a code */
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(bad); i++)
		ck_assert_msg(decode_str(bad[i], &m) < 0, "accepted %s", bad[i]);
	/* The query's tid and type survive a bad argument, for the 203 answer. */
	ck_assert_int_lt(decode_str("d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:zz1:y1:qe",
	    &m), 0);
	ck_assert_int_eq(m.type, KRPC_QUERY);
	ck_assert_mem_eq(m.tid, "zz", 2);
	/* Over-long datagrams are refused before parsing. */
	static uint8_t big[KRPC_MAX_DATAGRAM + 1];
	memset(big, 'd', sizeof big);
	char err[64];
	ck_assert_int_lt(krpc_decode(big, sizeof big, &m, err, sizeof err), 0);
	/* An unknown method decodes (answered 204 by the node). */
	ck_assert_int_eq(decode_str("d1:ad2:id20:abcdefghij0123456789e1:q3:foo1:t2:aa1:y1:qe", &m), 0);
	ck_assert_int_eq(m.method, KRPC_UNKNOWN);
	/* More than KRPC_MAX_NODES nodes is malformed. */
	struct dp_buf b;
	dp_buf_init(&b);
	dp_buf_add_str(&b, "d1:rd2:id20:abcdefghij01234567895:nodes");
	dp_buf_printf(&b, "%d:", (KRPC_MAX_NODES + 1) * KRPC_NODE4_LEN);
	for (int i = 0; i < (KRPC_MAX_NODES + 1) * KRPC_NODE4_LEN; i++)
		dp_buf_add(&b, "x", 1);
	dp_buf_add_str(&b, "e1:t2:aa1:y1:re");
	ck_assert_int_lt(krpc_decode(b.data, b.len, &m, err, sizeof err), 0);
	dp_buf_free(&b);
}
END_TEST

/* Values beyond KRPC_MAX_VALUES are ignored; odd lengths and port 0 are skipped. */
START_TEST(test_values_bounds)
{
	static struct krpc_msg m;
	struct dp_buf b;
	char err[64];
	dp_buf_init(&b);
	dp_buf_add_str(&b, "d1:rd2:id20:abcdefghij01234567896:valuesl5:abcde6:");
	dp_buf_add(&b, "abcd\0\0", 6);
	for (int i = 0; i < KRPC_MAX_VALUES + 10; i++)
		dp_buf_add_str(&b, "6:abcdef");
	dp_buf_add_str(&b, "ee1:t2:aa1:y1:re");
	ck_assert_int_eq(krpc_decode(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_uint_eq(m.nvalues, KRPC_MAX_VALUES);
	dp_buf_free(&b);
}
END_TEST

START_TEST(test_compact)
{
	uint8_t out[18];
	struct sockaddr_storage a = addr4("10.1.2.3", 0x1a2b), back;
	socklen_t blen;
	ck_assert_uint_eq(krpc_compact_addr((struct sockaddr *)&a, out), 6);
	ck_assert_mem_eq(out, "\x0a\x01\x02\x03\x1a\x2b", 6);
	ck_assert(krpc_parse_compact_addr(out, 6, &back, &blen));
	ck_assert_uint_eq(blen, sizeof(struct sockaddr_in));
	ck_assert_int_eq(memcmp(&back, &a, sizeof(struct sockaddr_in)), 0);
	a = addr6("2001:db8::42", 80);
	ck_assert_uint_eq(krpc_compact_addr((struct sockaddr *)&a, out), 18);
	ck_assert(krpc_parse_compact_addr(out, 18, &back, &blen));
	ck_assert_int_eq(memcmp(&back, &a, sizeof(struct sockaddr_in6)), 0);
	ck_assert(!krpc_parse_compact_addr(out, 7, &back, &blen));
}
END_TEST

/* BEP 42's table: the IDs it lists are valid for their addresses, IDs we make match their
 * first 21 bits, and an ID with one of those bits flipped is not valid. */
START_TEST(test_bep42_vectors)
{
	static const struct { const char *ip; uint8_t r; const char *id; } v[] = {
		{ "124.31.75.21", 1, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401" },
		{ "21.75.31.124", 86, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256" },
		{ "65.23.51.170", 22, "a5d43220bc8f112a3d426c84764f8c2a1150e616" },
		{ "84.124.73.14", 65, "1b0321dd1bb1fe518101ceef99462b947a01ff41" },
		{ "43.213.53.83", 90, "e56f6cbf5b7c4be0237986d5243b87aa6d51305a" },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(v); i++) {
		struct sockaddr_storage a = addr4(v[i].ip, 6881);
		uint8_t want[20], made[20], rnd[19];
		ck_assert(dp_hex_decode(v[i].id, 20, want));
		ck_assert(dht_id_check(want, (struct sockaddr *)&a));
		memset(rnd, 0x5a, sizeof rnd);
		ck_assert(dht_id_make((struct sockaddr *)&a, v[i].r, rnd, made));
		ck_assert_uint_eq(made[0], want[0]);
		ck_assert_uint_eq(made[1], want[1]);
		ck_assert_uint_eq(made[2] & 0xf8, want[2] & 0xf8);
		ck_assert_uint_eq(made[19], v[i].r);
		ck_assert(dht_id_check(made, (struct sockaddr *)&a));
		want[0] ^= 0x04;
		ck_assert(!dht_id_check(want, (struct sockaddr *)&a));
	}
	/* Local addresses may use any ID. */
	uint8_t any[20];
	memset(any, 0x77, sizeof any);
	struct sockaddr_storage lo = addr4("127.0.0.1", 1), lan = addr4("192.168.1.5", 1),
	    pub = addr4("8.8.8.8", 1), lo6 = addr6("::1", 1), ula = addr6("fd00::1", 1);
	ck_assert(dht_id_check(any, (struct sockaddr *)&lo));
	ck_assert(dht_id_check(any, (struct sockaddr *)&lan));
	ck_assert(dht_id_check(any, (struct sockaddr *)&lo6));
	ck_assert(dht_id_check(any, (struct sockaddr *)&ula));
	ck_assert(!dht_id_check(any, (struct sockaddr *)&pub));
	/* An IPv6 ID round-trips through make and check. */
	struct sockaddr_storage p6 = addr6("2001:db8:1234::5", 1);
	uint8_t rnd[19], id6[20];
	memset(rnd, 3, sizeof rnd);
	ck_assert(dht_id_make((struct sockaddr *)&p6, 7, rnd, id6));
	ck_assert(dht_id_check(id6, (struct sockaddr *)&p6));
	/* CRC32C's check value. */
	ck_assert_uint_eq(dht_crc32c((const uint8_t *)"123456789", 9), 0xe3069283u);
}
END_TEST

START_TEST(test_id_metric)
{
	uint8_t a[20], b[20], t[20], r[20], rnd[20];
	memset(a, 0, 20);
	memset(b, 0, 20);
	memset(t, 0, 20);
	a[19] = 1;
	b[0] = 0x80;
	ck_assert_int_lt(dht_id_cmp_distance(t, a, b), 0);
	ck_assert_int_gt(dht_id_cmp_distance(t, b, a), 0);
	ck_assert_int_eq(dht_id_cmp_distance(t, a, a), 0);
	ck_assert_int_eq(dht_id_common_prefix(a, b), 0);
	ck_assert_int_eq(dht_id_common_prefix(a, t), 159);
	ck_assert_int_eq(dht_id_common_prefix(a, a), 160);
	memset(rnd, 0xa5, 20);
	for (int p = 0; p < 160; p += 7) {
		dht_id_random_in(a, p, rnd, r);
		ck_assert_int_eq(dht_id_common_prefix(a, r), p);
	}
}
END_TEST

Suite *
krpc_suite(void)
{
	Suite *s = suite_create("krpc");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_bep5_examples);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_values_bounds);
	tcase_add_test(tc, test_compact);
	tcase_add_test(tc, test_bep42_vectors);
	tcase_add_test(tc, test_id_metric);
	suite_add_tcase(s, tc);
	return s;
}
