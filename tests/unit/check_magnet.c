/* check_magnet.c: magnet URI parsing: hex and base32 hashes, decoding, and every refusal. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "magnet.h"
#include "suites.h"

#define HASH_HEX "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
#define HASH_B32 "YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK"
#define BTMH "1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e"

static void
assert_refused(const char *uri, const char *msg_part)
{
	char err[256] = "";
	struct magnet *m = magnet_parse(uri, err, sizeof err);
	ck_assert_msg(m == NULL, "'%s' should be refused", uri);
	ck_assert_msg(strstr(err, msg_part) != NULL, "'%s': error '%s' lacks '%s'", uri, err,
	    msg_part);
}

START_TEST(test_hex_and_fields)
{
	char err[256];
	struct magnet *m = magnet_parse("magnet:?xt=urn:btih:" HASH_HEX
	    "&dn=Some+File%20%C3%A9.iso"
	    "&tr=udp%3A%2F%2F127.0.0.1%3A6969%2Fannounce"
	    "&tr=http://127.0.0.1:6969/announce?a=b+c"
	    "&tr=udp%3A%2F%2F127.0.0.1%3A6969%2Fannounce"
	    "&tr.1=http://127.0.0.2/a"
	    "&ws=http%3A%2F%2F127.0.0.1%2Fseed%2F"
	    "&x.pe=127.0.0.1:51413&x.pe=[::1]:6881"
	    "&xl=1234&so=0-3", err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert(m->has_btih);
	ck_assert_str_eq(m->info_hash_hex, HASH_HEX);
	ck_assert_int_eq(m->info_hash[0], 0xc1);
	ck_assert_int_eq(m->info_hash[19], 0x8a);
	ck_assert_str_eq(m->display_name, "Some File \xc3\xa9.iso");
	ck_assert_uint_eq(m->tracker_count, 3);   /* the repeated tracker counted once */
	ck_assert_str_eq(m->trackers[0], "udp://127.0.0.1:6969/announce");
	ck_assert_str_eq(m->trackers[1], "http://127.0.0.1:6969/announce?a=b+c");   /* '+' kept */
	ck_assert_str_eq(m->trackers[2], "http://127.0.0.2/a");
	ck_assert_uint_eq(m->webseed_count, 1);
	ck_assert_str_eq(m->webseeds[0], "http://127.0.0.1/seed/");
	ck_assert_uint_eq(m->peer_count, 2);
	ck_assert_str_eq(m->peers[0], "127.0.0.1:51413");
	ck_assert_str_eq(m->peers[1], "[::1]:6881");
	ck_assert_ptr_null(m->btmh);
	magnet_free(m);
}
END_TEST

START_TEST(test_base32_and_case)
{
	char err[256];
	struct magnet *m = magnet_parse("MAGNET:?XT=URN:BTIH:" HASH_B32, err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_str_eq(m->info_hash_hex, HASH_HEX);
	ck_assert_ptr_null(m->display_name);
	ck_assert_uint_eq(m->tracker_count, 0);
	magnet_free(m);

	/* lower-case base32 and upper-case hex both decode to the same hash */
	char lower[] = "magnet:?xt=urn:btih:" HASH_B32;
	for (char *p = lower + 20; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	m = magnet_parse(lower, err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_str_eq(m->info_hash_hex, HASH_HEX);
	magnet_free(m);
	m = magnet_parse("magnet:?xt=urn:btih:C12FE1C06BBA254A9DC9F519B335AA7C1367A88A#frag", err,
	    sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_str_eq(m->info_hash_hex, HASH_HEX);
	magnet_free(m);
}
END_TEST

START_TEST(test_hybrid_btmh)
{
	char err[256];
	struct magnet *m = magnet_parse("magnet:?xt=urn:btih:" HASH_HEX "&xt=urn:btmh:" BTMH
	    "&dn=x", err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_str_eq(m->btmh, BTMH);
	ck_assert_str_eq(m->info_hash_hex, HASH_HEX);
	ck_assert_uint_eq(m->info_hash_v2[0], 0xca);
	magnet_free(m);
	/* v2-only: the swarm's 20-byte id is the v2 hash cut short; a second btmh must agree */
	m = magnet_parse("magnet:?xt=urn:btmh:" BTMH, err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert(!m->has_btih);
	ck_assert_mem_eq(m->info_hash, m->info_hash_v2, 20);
	ck_assert_uint_eq(strlen(m->info_hash_hex), 40);
	ck_assert_int_eq(strncmp(m->info_hash_hex, &BTMH[4], 40), 0);
	magnet_free(m);
	m = magnet_parse("magnet:?xt=urn:btmh:" BTMH "&xt=urn:btmh:1220"
	    "0000000000000000000000000000000000000000000000000000000000000000", err, sizeof err);
	ck_assert_ptr_null(m);
	/* the same btih twice is fine (hex and base32 forms agree) */
	m = magnet_parse("magnet:?xt=urn:btih:" HASH_HEX "&xt.1=urn:btih:" HASH_B32, err,
	    sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	magnet_free(m);
}
END_TEST

START_TEST(test_refusals)
{
	assert_refused("http://example.invalid/?xt=urn:btih:" HASH_HEX, "not a magnet link");
	assert_refused("magnet:", "not a magnet link");
	assert_refused("magnet:?dn=foo&tr=http://127.0.0.1/", "no BitTorrent info-hash");
	assert_refused("magnet:?xt=urn:ed2k:31d6cfe0d16ae931b73c59d7e0c089c0", "no BitTorrent");
	assert_refused("magnet:?xt=urn:btmh:1220abcd&xt=urn:btih:" HASH_HEX, "btmh");
	assert_refused("magnet:?xt=urn:btih:" HASH_HEX "0", "41 characters");
	assert_refused("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88", "39 characters");
	assert_refused("magnet:?xt=urn:btih:g12fe1c06bba254a9dc9f519b335aa7c1367a88a", "hex digits");
	assert_refused("magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE1", "base32");
	assert_refused("magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKE", "31 characters");
	assert_refused("magnet:?xt=urn:btih:", "0 characters");
	assert_refused("magnet:?xt=urn:btih:" HASH_HEX "&dn=a%2", "bad %-escape in 'dn'");
	assert_refused("magnet:?xt=urn:btih:" HASH_HEX "&tr=a%zzb", "bad %-escape in 'tr'");
	assert_refused("magnet:?xt=urn:btih:" HASH_HEX "&dn=a%00b", "NUL");
	assert_refused("magnet:?xt=urn%3Abtih%3A" HASH_HEX "%", "bad %-escape in 'xt'");
	assert_refused("magnet:?xt=urn:btih:" HASH_HEX "&xt=urn:btih:" HASH_B32 "&xt=urn:btih:"
	    "0000000000000000000000000000000000000000", "two different");
	assert_refused("magnet:?xt=urn:btih:" HASH_HEX "&x.pe=127.0.0.1", "host:port");
	assert_refused("magnet:?xt=urn:btih:" HASH_HEX "&x.pe=127.0.0.1:0", "host:port");
	assert_refused("magnet:?xt=urn:btih:" HASH_HEX "&x.pe=127.0.0.1:65536", "host:port");
	assert_refused("magnet:?xt&dn=x", "'xt' has no value");

	char *huge = malloc(40000);
	ck_assert_ptr_nonnull(huge);
	strcpy(huge, "magnet:?xt=urn:btih:" HASH_HEX);
	size_t len = strlen(huge);
	while (len + 8 < 39999) {
		memcpy(huge + len, "&tr=a:1", 7);
		len += 7;
	}
	huge[len] = '\0';
	assert_refused(huge, "longer than");
	free(huge);
}
END_TEST

START_TEST(test_is_uri)
{
	ck_assert(magnet_is_uri("magnet:?xt=urn:btih:" HASH_HEX));
	ck_assert(magnet_is_uri("Magnet:?"));
	ck_assert(!magnet_is_uri("magnet:"));
	ck_assert(!magnet_is_uri("file.torrent"));
	ck_assert(!magnet_is_uri(NULL));
	/* empty and unknown parameters are ignored */
	char err[256];
	struct magnet *m = magnet_parse("magnet:?&&xt=urn:btih:" HASH_HEX "&&kt=a+b&flag&",
	    err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	magnet_free(m);
}
END_TEST

Suite *
magnet_suite(void)
{
	Suite *s = suite_create("magnet");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_hex_and_fields);
	tcase_add_test(tc, test_base32_and_case);
	tcase_add_test(tc, test_hybrid_btmh);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_is_uri);
	suite_add_tcase(s, tc);
	return s;
}
