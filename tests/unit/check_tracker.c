/* check_tracker.c: tracker URL building, HTTP/UDP reply parsing, tier ordering, and the
 * announce schedule run on a loop against an in-process HTTP server and UDP responder on
 * 127.0.0.1. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>
#include <check.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "announce_sched.h"
#include "disk.h"
#include "metainfo.h"
#include "task.h"
#include "tls_trust.h"
#include "tracker.h"
#include "tracker_private.h"
#include "webseed.h"
#include "suites.h"
#include "test_helpers.h"

static struct tracker_request
sample_request(void)
{
	struct tracker_request r;
	memset(&r, 0, sizeof r);
	for (int i = 0; i < 20; i++) {
		r.info_hash[i] = (uint8_t)(i * 13);
		r.peer_id[i] = (uint8_t)('a' + i);
	}
	r.info_hash[0] = 0x00;
	r.info_hash[1] = 'A';
	r.info_hash[2] = 0xff;
	r.info_hash[3] = '-';
	r.info_hash[4] = ' ';
	r.port = 6881;
	r.uploaded = 10;
	r.downloaded = 20;
	r.left = 30;
	r.event = TRACKER_EVENT_STARTED;
	r.numwant = 50;
	r.key = 0xdeadbeef;
	return r;
}

/* BEP 19 URLs: a single file's URL is the file (a folder's URL gets the name), a multi-file
 * torrent's is a folder holding name/path; every component percent-encoded from the torrent's
 * own bytes. */
START_TEST(test_webseed_urls)
{
	static const char multi[] = "d4:infod5:filesld6:lengthi5e4:pathl3:a b5:x%?.zeee"
	    "4:name6:my dir12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee";
	static const char single[] = "d4:infod6:lengthi5e4:name7:f&g.bin12:piece lengthi16384e"
	    "6:pieces20:aaaaaaaaaaaaaaaaaaaaee";
	char err[256];
	struct metainfo *mi = metainfo_parse((const uint8_t *)multi, sizeof multi - 1, err,
	    sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	char *u = webseed_file_url("http://h:8080/pub", mi, 0);
	ck_assert_str_eq(u, "http://h:8080/pub/my%20dir/a%20b/x%25%3F.z");
	free(u);
	u = webseed_file_url("http://h/pub/", mi, 0);
	ck_assert_str_eq(u, "http://h/pub/my%20dir/a%20b/x%25%3F.z");
	free(u);
	metainfo_free(mi);
	mi = metainfo_parse((const uint8_t *)single, sizeof single - 1, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	u = webseed_file_url("http://h/files/other-name.bin", mi, 0);
	ck_assert_str_eq(u, "http://h/files/other-name.bin");
	free(u);
	u = webseed_file_url("http://h/files/", mi, 0);
	ck_assert_str_eq(u, "http://h/files/f%26g.bin");
	free(u);
	metainfo_free(mi);
}
END_TEST

START_TEST(test_announce_url)
{
	struct tracker_request r = sample_request();
	char *u = tracker_http_announce_url("http://t.example/announce", &r);
	ck_assert_msg(strncmp(u, "http://t.example/announce?info_hash=%00A%FF-%20", 47) == 0, "%s", u);
	ck_assert_ptr_nonnull(strstr(u, "&peer_id=abcdefghijklmnopqrst&port=6881&uploaded=10"
	    "&downloaded=20&left=30&compact=1&no_peer_id=1&event=started&numwant=50&key=DEADBEEF"));
	ck_assert_ptr_null(strstr(u, "trackerid"));
	free(u);

	/* An existing query string gets '&'; one ending in '?' or '&' gets nothing. */
	r.event = TRACKER_EVENT_NONE;
	r.tracker_id = "a b&c";
	u = tracker_http_announce_url("https://t.example/a.php?passkey=x#frag", &r);
	ck_assert_msg(strncmp(u, "https://t.example/a.php?passkey=x&info_hash=", 44) == 0, "%s", u);
	ck_assert_ptr_null(strstr(u, "event="));
	ck_assert_ptr_null(strstr(u, "frag"));
	ck_assert_ptr_nonnull(strstr(u, "&trackerid=a%20b%26c"));
	free(u);
	u = tracker_http_announce_url("http://t/announce?", &r);
	ck_assert_msg(strncmp(u, "http://t/announce?info_hash=", 28) == 0, "%s", u);
	free(u);
	u = tracker_http_announce_url("http://t/announce?k=1&", &r);
	ck_assert_msg(strncmp(u, "http://t/announce?k=1&info_hash=", 32) == 0, "%s", u);
	free(u);
	r.event = TRACKER_EVENT_STOPPED;
	u = tracker_http_announce_url("http://t/announce", &r);
	ck_assert_ptr_nonnull(strstr(u, "&event=stopped"));
	free(u);
	r.event = TRACKER_EVENT_COMPLETED;
	u = tracker_http_announce_url("http://t/announce", &r);
	ck_assert_ptr_nonnull(strstr(u, "&event=completed"));
	free(u);
}
END_TEST

START_TEST(test_scrape_url)
{
	uint8_t ih[20];
	memset(ih, 0xab, 20);
	char *u = tracker_http_scrape_url("http://t.example:80/announce", ih);
	ck_assert_str_eq(u, "http://t.example:80/scrape?info_hash="
	    "%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB%AB");
	free(u);
	u = tracker_http_scrape_url("http://t/x/announce.php?passkey=1", ih);
	ck_assert_msg(strncmp(u, "http://t/x/scrape.php?passkey=1&info_hash=%AB", 45) == 0, "%s", u);
	free(u);
	ck_assert_ptr_null(tracker_http_scrape_url("http://t/a", ih));
	ck_assert_ptr_null(tracker_http_scrape_url("http://t/announce/x", ih));
	ck_assert_ptr_null(tracker_http_scrape_url("http://t?announce", ih));
	ck_assert_ptr_null(tracker_http_scrape_url("http://t", ih));
	ck_assert_ptr_null(tracker_http_scrape_url("garbage", ih));
}
END_TEST

static int
parse(const char *body, size_t len, struct tracker_response *r, char *err)
{
	return tracker_http_parse_announce((const uint8_t *)body, len, r, err, 256);
}

static void
assert_peer(const struct tracker_peer *p, const char *ip, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];
	if (p->addr.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&p->addr;
		ck_assert_uint_eq(p->addrlen, sizeof *s);
		inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
		ck_assert_uint_eq(ntohs(s->sin_port), port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&p->addr;
		ck_assert_int_eq(p->addr.ss_family, AF_INET6);
		ck_assert_uint_eq(p->addrlen, sizeof *s);
		inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
		ck_assert_uint_eq(ntohs(s->sin6_port), port);
	}
	ck_assert_str_eq(buf, ip);
}

START_TEST(test_parse_compact)
{
	struct tracker_response r;
	char err[256] = "";
	/* Two v4 peers and one with port 0 that is dropped. */
	static const char body[] = "d8:completei5e10:incompletei7e8:intervali1800e"
	    "12:min intervali60e5:peers18:\x7f\x00\x00\x01\x1a\xe1\x0a\x00\x00\x02\x00\x50"
	    "\x0a\x00\x00\x03\x00\x00" "10:tracker id3:xyze";
	ck_assert_int_eq(parse(body, sizeof body - 1, &r, err), 0);
	ck_assert_int_eq(r.interval, 1800);
	ck_assert_int_eq(r.min_interval, 60);
	ck_assert_int_eq(r.complete, 5);
	ck_assert_int_eq(r.incomplete, 7);
	ck_assert_int_eq(r.downloaded, -1);
	ck_assert_str_eq(r.tracker_id, "xyz");
	ck_assert_str_eq(r.failure, "");
	ck_assert_uint_eq(r.peer_count, 2);
	assert_peer(&r.peers[0], "127.0.0.1", 6881);
	assert_peer(&r.peers[1], "10.0.0.2", 80);
	tracker_response_clear(&r);

	static const char v6[] = "d8:intervali900e5:peers0:6:peers636:"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x1a\xe1"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x00\x50" "e";
	ck_assert_msg(parse(v6, sizeof v6 - 1, &r, err) == 0, "%s", err);
	ck_assert_uint_eq(r.peer_count, 2);
	assert_peer(&r.peers[0], "2001:db8::1", 6881);
	assert_peer(&r.peers[1], "::1", 80);
	ck_assert_int_eq(r.min_interval, -1);
	tracker_response_clear(&r);
}
END_TEST

START_TEST(test_parse_dict_peers)
{
	struct tracker_response r;
	char err[256];
	const char *body = "d8:intervali60e5:peersl"
	    "d2:ip9:127.0.0.17:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881ee"
	    "d2:ip3:::14:porti51413ee"
	    "d2:ip19:tracker.example.org4:porti1ee"      /* hostname: skipped */
	    "d2:ip8:10.0.0.14:porti70000ee"               /* bad port: skipped */
	    "d4:porti5ee"                                 /* no ip: skipped */
	    "i5e"                                         /* not a dict: skipped */
	    "ee";
	ck_assert_int_eq(parse(body, strlen(body), &r, err), 0);
	ck_assert_uint_eq(r.peer_count, 2);
	assert_peer(&r.peers[0], "127.0.0.1", 6881);
	assert_peer(&r.peers[1], "::1", 51413);
	tracker_response_clear(&r);
}
END_TEST

START_TEST(test_parse_failure_warning)
{
	struct tracker_response r;
	char err[256];
	const char *body = "d14:failure reason17:torrent not founde";
	ck_assert_int_eq(parse(body, strlen(body), &r, err), 0);
	ck_assert_str_eq(r.failure, "torrent not found");
	ck_assert_uint_eq(r.peer_count, 0);
	tracker_response_clear(&r);
	body = "d8:intervali10e15:warning message9:slow\ndowne";
	ck_assert_int_eq(parse(body, strlen(body), &r, err), 0);
	ck_assert_str_eq(r.warning, "slow down");       /* control bytes printed safely */
	ck_assert_str_eq(r.failure, "");
	ck_assert_int_eq(r.interval, 10);
	tracker_response_clear(&r);
	/* No peers at all is a valid, if useless, reply. */
	body = "de";
	ck_assert_int_eq(parse(body, strlen(body), &r, err), 0);
	ck_assert_int_eq(r.interval, -1);
	tracker_response_clear(&r);
}
END_TEST

static void
assert_bad(const char *body, size_t len, const char *part)
{
	struct tracker_response r;
	char err[256] = "";
	ck_assert_msg(parse(body, len, &r, err) < 0, "'%s' accepted", body);
	ck_assert_msg(strstr(err, part) != NULL, "'%s': error '%s' lacks '%s'", body, err, part);
	ck_assert_ptr_null(r.peers);
	ck_assert_uint_eq(r.peer_count, 0);
}

START_TEST(test_parse_invalid)
{
	assert_bad("<html><body>502 Bad Gateway</body></html>", 41, "not bencoded");
	assert_bad("<html><body>502 Bad Gateway</body></html>", 41, "<html><body>502");
	assert_bad("", 0, "empty");
	assert_bad("li1ee", 5, "not a dictionary");
	assert_bad("d8:interval3:abce", 17, "'interval'");
	assert_bad("d8:intervali-5ee", 16, "'interval'");
	assert_bad("d5:peersi5ee", 12, "'peers'");
	assert_bad("d5:peers7:abcdefge", 18, "multiple of 6");
	assert_bad("d6:peers65:abcdee", 17, "multiple of 18");
	assert_bad("d10:tracker idi5ee", 18, "'tracker id'");
	assert_bad("d8:completed", 12, "not bencoded");
	assert_bad("d8:intervali1ee trailing", 24, "not bencoded");
}
END_TEST

START_TEST(test_parse_scrape)
{
	uint8_t ih[20];
	char err[256];
	int c, i, d;
	memset(ih, 'h', 20);
	const char *body = "d5:filesd20:hhhhhhhhhhhhhhhhhhhhd8:completei3e10:downloadedi9e"
	    "10:incompletei4eeee";
	ck_assert_int_eq(tracker_http_parse_scrape((const uint8_t *)body, strlen(body), ih, &c, &i,
	    &d, err, sizeof err), 0);
	ck_assert_int_eq(c, 3);
	ck_assert_int_eq(i, 4);
	ck_assert_int_eq(d, 9);
	body = "d5:filesd20:xxxxxxxxxxxxxxxxxxxxd8:completei3eeee";
	ck_assert_int_eq(tracker_http_parse_scrape((const uint8_t *)body, strlen(body), ih, &c, &i,
	    &d, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "does not list"));
	ck_assert_int_eq(c, -1);
	body = "d14:failure reason4:nopee";
	ck_assert_int_eq(tracker_http_parse_scrape((const uint8_t *)body, strlen(body), ih, &c, &i,
	    &d, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "nope"));
	body = "d5:filesi1ee";
	ck_assert_int_eq(tracker_http_parse_scrape((const uint8_t *)body, strlen(body), ih, &c, &i,
	    &d, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "'files'"));
	ck_assert_int_eq(tracker_http_parse_scrape((const uint8_t *)"x", 1, ih, &c, &i, &d, err,
	    sizeof err), -1);
}
END_TEST

/* A multi-hash scrape (BEP 48): the URL repeats info_hash; the reply is read once for all hashes
 * and hostile replies cost only the hashes they concern: a hash missing, keys of other lengths,
 * absurd or negative counts, an entry that is no dictionary, the same hash asked twice; a key
 * listed twice makes the reply invalid as a whole (the decoder refuses it). */
START_TEST(test_parse_scrape_multi)
{
	uint8_t h[5][20];
	for (int k = 0; k < 5; k++)
		memset(h[k], 'a' + k, 20);
	memcpy(h[4], h[0], 20);         /* asked twice */
	char *u = tracker_http_scrape_url_multi("http://t/announce?pk=1", (const uint8_t (*)[20])h,
	    3);
	ck_assert_str_eq(u, "http://t/scrape?pk=1&info_hash=aaaaaaaaaaaaaaaaaaaa"
	    "&info_hash=bbbbbbbbbbbbbbbbbbbb&info_hash=cccccccccccccccccccc");
	free(u);
	ck_assert_ptr_null(tracker_http_scrape_url_multi("http://t/a", (const uint8_t (*)[20])h, 2));

	struct tracker_scrape_result r[5];
	bool refused;
	char err[256];
	const char *body = "d5:filesd"
	    "20:aaaaaaaaaaaaaaaaaaaad8:completei1e10:downloadedi2e10:incompletei3ee"
	    "20:bbbbbbbbbbbbbbbbbbbbd8:completei99999999999999e10:downloadedi-1ee"
	    "19:ccccccccccccccccccci5e"                                       /* odd length */
	    "20:ddddddddddddddddddddi5e"                                      /* not a dict */
	    "20:zzzzzzzzzzzzzzzzzzzzd8:completei1ee"                          /* not asked */
	    "ee";
	ck_assert_int_eq(tracker_http_parse_scrape_multi((const uint8_t *)body, strlen(body),
	    (const uint8_t (*)[20])h, 5, r, &refused, err, sizeof err), 0);
	ck_assert(r[0].ok);
	ck_assert_int_eq(r[0].complete, 1);
	ck_assert_int_eq(r[0].downloaded, 2);
	ck_assert_int_eq(r[0].incomplete, 3);
	ck_assert(r[4].ok);
	ck_assert_int_eq(r[4].complete, 1);
	ck_assert(!r[1].ok);
	ck_assert_ptr_nonnull(strstr(r[1].err, "'downloaded' is not a non-negative integer"));
	ck_assert(!r[2].ok);
	ck_assert_str_eq(r[2].err, "scrape reply does not list this torrent");
	ck_assert(!r[3].ok);
	ck_assert_ptr_nonnull(strstr(r[3].err, "not a dictionary"));
	body = "d5:filesd20:aaaaaaaaaaaaaaaaaaaad8:completei1ee"
	    "20:aaaaaaaaaaaaaaaaaaaad8:completei9eeee";
	ck_assert_int_eq(tracker_http_parse_scrape_multi((const uint8_t *)body, strlen(body),
	    (const uint8_t (*)[20])h, 2, r, &refused, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "duplicate") != NULL, "%s", err);
	ck_assert(!r[0].ok);
	/* A count past INT_MAX is capped, not wrapped. */
	body = "d5:filesd20:bbbbbbbbbbbbbbbbbbbbd8:completei99999999999999eeee";
	ck_assert_int_eq(tracker_http_parse_scrape_multi((const uint8_t *)body, strlen(body),
	    (const uint8_t (*)[20])h, 2, r, &refused, err, sizeof err), 0);
	ck_assert(r[1].ok);
	ck_assert_int_eq(r[1].complete, INT_MAX);
	ck_assert_int_eq(r[1].incomplete, -1);
	/* The whole reply refused: the caller learns it was the tracker's answer. */
	body = "d14:failure reason8:one onlye";
	ck_assert_int_eq(tracker_http_parse_scrape_multi((const uint8_t *)body, strlen(body),
	    (const uint8_t (*)[20])h, 2, r, &refused, err, sizeof err), -1);
	ck_assert(refused);
	ck_assert_ptr_nonnull(strstr(err, "one only"));
	ck_assert_int_eq(tracker_http_parse_scrape_multi((const uint8_t *)"<html>", 6,
	    (const uint8_t (*)[20])h, 2, r, &refused, err, sizeof err), -1);
	ck_assert(!refused);
	ck_assert(!r[0].ok);

	/* UDP: one packet of n hashes; a short reply fails the hashes it leaves out. */
	uint8_t pkt[16 + 20 * TRACKER_SCRAPE_UDP_MAX];
	uint8_t many[TRACKER_SCRAPE_UDP_MAX + 5][20];
	memset(many, 7, sizeof many);
	ck_assert_uint_eq(tracker_udp_build_scrape_multi(pkt, 1, 2, (const uint8_t (*)[20])many,
	    TRACKER_SCRAPE_UDP_MAX + 5), 16 + 20 * TRACKER_SCRAPE_UDP_MAX);
	ck_assert_uint_eq(tracker_udp_build_scrape_multi(pkt, 1, 2, (const uint8_t (*)[20])h, 3),
	    76);
	ck_assert_int_eq(memcmp(pkt + 36, h[1], 20), 0);
	uint8_t rep[8 + 12 * 2 + 5] = { 0, 0, 0, 2, 0, 0, 0, 2 };
	rep[11] = 4;                    /* seeders 4 */
	rep[15] = 5;                    /* completed 5 */
	rep[19] = 6;                    /* leechers 6 */
	memset(rep + 20, 0xff, 12);     /* 2^32 - 1: capped */
	tracker_udp_parse_scrape(rep, sizeof rep, 3, r);
	ck_assert(r[0].ok);
	ck_assert_int_eq(r[0].complete, 4);
	ck_assert_int_eq(r[0].downloaded, 5);
	ck_assert_int_eq(r[0].incomplete, 6);
	ck_assert(r[1].ok);
	ck_assert_int_eq(r[1].complete, INT_MAX);
	ck_assert(!r[2].ok);
	ck_assert_ptr_nonnull(strstr(r[2].err, "no entry for this torrent"));
}
END_TEST

START_TEST(test_udp_build)
{
	uint8_t pkt[128];
	static const uint8_t conn[] = { 0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0,
		0x12, 0x34, 0x56, 0x78 };
	ck_assert_uint_eq(tracker_udp_build_connect(pkt, 0x12345678), 16);
	ck_assert_mem_eq(pkt, conn, 16);

	struct tracker_request r = sample_request();
	r.event = TRACKER_EVENT_STOPPED;
	ck_assert_uint_eq(tracker_udp_build_announce(pkt, 0x0102030405060708ULL, 7, &r), 98);
	ck_assert_uint_eq(th_be32(pkt), 0x01020304);
	ck_assert_uint_eq(th_be32(pkt + 4), 0x05060708);
	ck_assert_uint_eq(th_be32(pkt + 8), 1);
	ck_assert_uint_eq(th_be32(pkt + 12), 7);
	ck_assert_mem_eq(pkt + 16, r.info_hash, 20);
	ck_assert_mem_eq(pkt + 36, r.peer_id, 20);
	ck_assert_uint_eq(th_be32(pkt + 60), 20);      /* downloaded */
	ck_assert_uint_eq(th_be32(pkt + 68), 30);      /* left */
	ck_assert_uint_eq(th_be32(pkt + 76), 10);      /* uploaded */
	ck_assert_uint_eq(th_be32(pkt + 80), 3);       /* stopped */
	ck_assert_uint_eq(th_be32(pkt + 84), 0);
	ck_assert_uint_eq(th_be32(pkt + 88), 0xdeadbeef);
	ck_assert_uint_eq(th_be32(pkt + 92), 50);
	ck_assert_uint_eq(pkt[96] << 8 | pkt[97], 6881);
	r.event = TRACKER_EVENT_STARTED;
	r.numwant = -1;
	tracker_udp_build_announce(pkt, 1, 7, &r);
	ck_assert_uint_eq(th_be32(pkt + 80), 2);
	ck_assert_uint_eq(th_be32(pkt + 92), 0xffffffff);
	r.event = TRACKER_EVENT_COMPLETED;
	tracker_udp_build_announce(pkt, 1, 7, &r);
	ck_assert_uint_eq(th_be32(pkt + 80), 1);

	ck_assert_uint_eq(tracker_udp_build_scrape(pkt, 5, 9, r.info_hash), 36);
	ck_assert_uint_eq(th_be32(pkt + 8), 2);
	ck_assert_uint_eq(th_be32(pkt + 12), 9);
	ck_assert_mem_eq(pkt + 16, r.info_hash, 20);
}
END_TEST

static size_t
udp_reply(uint8_t *p, uint32_t action, uint32_t tid, const void *rest, size_t n)
{
	p[0] = (uint8_t)(action >> 24);
	p[1] = (uint8_t)(action >> 16);
	p[2] = (uint8_t)(action >> 8);
	p[3] = (uint8_t)action;
	p[4] = (uint8_t)(tid >> 24);
	p[5] = (uint8_t)(tid >> 16);
	p[6] = (uint8_t)(tid >> 8);
	p[7] = (uint8_t)tid;
	memcpy(p + 8, rest, n);
	return 8 + n;
}

START_TEST(test_udp_parse)
{
	uint8_t p[256];
	uint32_t action;
	uint64_t cid = 0;
	struct tracker_response r;
	char err[256];
	memset(&r, 0, sizeof r);
	size_t n = udp_reply(p, 0, 42, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	ck_assert_int_eq(tracker_udp_parse(p, n, 42, AF_INET, &action, &cid, &r, err, sizeof err), 0);
	ck_assert_uint_eq(action, 0);
	ck_assert(cid == 0x1122334455667788ULL);
	/* Wrong transaction id and short packets are refused. */
	ck_assert_int_eq(tracker_udp_parse(p, n, 43, AF_INET, &action, &cid, &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "transaction id"));
	ck_assert_int_eq(tracker_udp_parse(p, 12, 42, AF_INET, &action, &cid, &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "too short"));
	ck_assert_int_eq(tracker_udp_parse(p, 5, 42, AF_INET, &action, &cid, &r, err, sizeof err), -1);

	/* Announce v4: interval, leechers, seeders, two peers (and a trailing partial one). */
	static const uint8_t ann[] = { 0, 0, 7, 8, 0, 0, 0, 2, 0, 0, 0, 3,
		127, 0, 0, 1, 0x1a, 0xe1, 10, 1, 2, 3, 0, 80, 9, 9 };
	n = udp_reply(p, 1, 42, ann, sizeof ann);
	ck_assert_int_eq(tracker_udp_parse(p, n, 42, AF_INET, &action, &cid, &r, err, sizeof err), 0);
	ck_assert_uint_eq(action, 1);
	ck_assert_int_eq(r.interval, 0x708);
	ck_assert_int_eq(r.incomplete, 2);
	ck_assert_int_eq(r.complete, 3);
	ck_assert_uint_eq(r.peer_count, 2);
	assert_peer(&r.peers[0], "127.0.0.1", 6881);
	assert_peer(&r.peers[1], "10.1.2.3", 80);
	tracker_response_clear(&r);
	/* The same bytes on an IPv6 socket are one 18-byte entry (and 2 left over). */
	static const uint8_t ann6[] = { 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x1a, 0xe1 };
	n = udp_reply(p, 1, 42, ann6, sizeof ann6);
	ck_assert_int_eq(tracker_udp_parse(p, n, 42, AF_INET6, &action, &cid, &r, err, sizeof err), 0);
	ck_assert_uint_eq(r.peer_count, 1);
	assert_peer(&r.peers[0], "::1", 6881);
	tracker_response_clear(&r);
	ck_assert_int_eq(tracker_udp_parse(p, 19, 42, AF_INET, &action, &cid, &r, err, sizeof err), -1);

	static const uint8_t scr[] = { 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7 };
	n = udp_reply(p, 2, 42, scr, sizeof scr);
	ck_assert_int_eq(tracker_udp_parse(p, n, 42, AF_INET, &action, &cid, &r, err, sizeof err), 0);
	ck_assert_uint_eq(action, 2);
	ck_assert_int_eq(r.complete, 5);
	ck_assert_int_eq(r.downloaded, 6);
	ck_assert_int_eq(r.incomplete, 7);
	tracker_response_clear(&r);
	ck_assert_int_eq(tracker_udp_parse(p, n - 1, 42, AF_INET, &action, &cid, &r, err, sizeof err),
	    -1);

	n = udp_reply(p, 3, 42, "unregistered torrent\0", 21);
	ck_assert_int_eq(tracker_udp_parse(p, n, 42, AF_INET, &action, &cid, &r, err, sizeof err), 0);
	ck_assert_uint_eq(action, 3);
	ck_assert_str_eq(r.failure, "unregistered torrent");
	tracker_response_clear(&r);

	n = udp_reply(p, 9, 42, "", 0);
	ck_assert_int_eq(tracker_udp_parse(p, n, 42, AF_INET, &action, &cid, &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown action"));
}
END_TEST

START_TEST(test_url_parse)
{
	struct tracker_url u;
	char err[256];
	ck_assert_int_eq(tracker_url_parse("http://t.example/announce?x=1#f", &u, err, sizeof err), 0);
	ck_assert_int_eq(u.scheme, TRACKER_SCHEME_HTTP);
	ck_assert_str_eq(u.host, "t.example");
	ck_assert_uint_eq(u.port, 80);
	ck_assert_str_eq(u.path, "/announce?x=1");
	ck_assert_int_eq(tracker_url_parse("HTTPS://t.example", &u, err, sizeof err), 0);
	ck_assert_int_eq(u.scheme, TRACKER_SCHEME_HTTPS);
	ck_assert_uint_eq(u.port, 443);
	ck_assert_str_eq(u.path, "/");
	ck_assert_int_eq(tracker_url_parse("udp://[::1]:6969/announce", &u, err, sizeof err), 0);
	ck_assert_int_eq(u.scheme, TRACKER_SCHEME_UDP);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_uint_eq(u.port, 6969);
	ck_assert_int_eq(tracker_url_parse("udp://t.example/announce", &u, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "port"));
	ck_assert_int_eq(tracker_url_parse("wss://t.example/announce", &u, err, sizeof err), -1);
	ck_assert_str_eq(err, "unsupported tracker URL scheme 'wss'");
	ck_assert_int_eq(tracker_url_parse("http://t:99999/", &u, err, sizeof err), -1);
	ck_assert_int_eq(tracker_url_parse("http://t:12a/", &u, err, sizeof err), -1);
	ck_assert_int_eq(tracker_url_parse("http:///announce", &u, err, sizeof err), -1);
	ck_assert_int_eq(tracker_url_parse("http://[::1/", &u, err, sizeof err), -1);
	ck_assert_int_eq(tracker_url_parse("http://a b/", &u, err, sizeof err), -1);
	ck_assert_int_eq(tracker_url_parse("t.example/announce", &u, err, sizeof err), -1);
}
END_TEST

static uint32_t
seq_rand(void *arg)
{
	uint32_t *s = arg;
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static uint32_t
zero_rand(void *arg)
{
	(void)arg;
	return 0;
}

START_TEST(test_tiers)
{
	size_t order[6] = { 0, 1, 2, 3, 4, 5 };
	/* Always picking 0 rotates: [5]<->[0], then [4]<->[0], ... */
	tracker_tier_shuffle(order, 6, zero_rand, NULL);
	static const size_t expect[6] = { 1, 2, 3, 4, 5, 0 };
	ck_assert_mem_eq(order, expect, sizeof expect);
	/* A shuffle is a permutation, and over many seeds every tracker gets to go first. */
	unsigned first[6] = { 0 };
	uint32_t seed = 1;
	for (int round = 0; round < 600; round++) {
		size_t o[6] = { 0, 1, 2, 3, 4, 5 };
		unsigned seen = 0;
		tracker_tier_shuffle(o, 6, seq_rand, &seed);
		for (int i = 0; i < 6; i++)
			seen |= 1u << o[i];
		ck_assert_uint_eq(seen, 0x3f);
		first[o[0]]++;
	}
	for (int i = 0; i < 6; i++)
		ck_assert_msg(first[i] > 50, "tracker %d first only %u times", i, first[i]);
	size_t one = 7;
	tracker_tier_shuffle(&one, 1, seq_rand, &seed);
	ck_assert_uint_eq(one, 7);

	size_t p[5] = { 10, 11, 12, 13, 14 };
	tracker_tier_promote(p, 5, 3);
	static const size_t pe[5] = { 13, 10, 11, 12, 14 };
	ck_assert_mem_eq(p, pe, sizeof pe);
	tracker_tier_promote(p, 5, 0);
	ck_assert_mem_eq(p, pe, sizeof pe);
	tracker_tier_promote(p, 5, 9);
	ck_assert_mem_eq(p, pe, sizeof pe);

	tracker_tunables_reset();
	ck_assert_uint_eq(tracker_next_delay(1800, -1), 1800);
	ck_assert_uint_eq(tracker_next_delay(5, -1), 30);        /* floor */
	ck_assert_uint_eq(tracker_next_delay(100, 300), 300);    /* min interval wins */
	ck_assert_uint_eq(tracker_next_delay(-1, -1), 1800);     /* default */
	ck_assert_uint_eq(tracker_next_delay(0x7fffffff, -1), 7 * 86400);
	ck_assert_uint_eq(tracker_retry_delay(1), 30);
	ck_assert_uint_eq(tracker_retry_delay(2), 60);
	ck_assert_uint_eq(tracker_retry_delay(4), 240);
	ck_assert_uint_eq(tracker_retry_delay(7), 1800);
	ck_assert_uint_eq(tracker_retry_delay(100), 1800);
	ck_assert_uint_eq(tracker_reannounce_wait(-1, 60), 0);
	ck_assert_uint_eq(tracker_reannounce_wait(10, 60), 50);
	ck_assert_uint_eq(tracker_reannounce_wait(10, -1), 20);
	ck_assert_uint_eq(tracker_reannounce_wait(61, 60), 0);
}
END_TEST

/* --- loopback integration: an evhttp tracker and a UDP tracker in this process --- */

struct lab {
	struct event_base *base;
	struct evdns_base *dns;
	struct evhttp *http;
	uint16_t http_port;
	int http_announces, http_started, http_stopped, http_scrapes;
	uint64_t http_first_us, http_second_us;
	char http_second_event[32];
	int udp_fd;
	uint16_t udp_port;
	struct event *udp_ev;
	int udp_ignore;                 /* drop this many first datagrams */
	int udp_packets, udp_connects, udp_announces, udp_started, udp_stopped, udp_scrapes;
	bool udp_error;
	size_t peers_got;
	int peer_port;
	bool stop_done;
	struct event *tick;
	bool (*until)(struct lab *);
	struct announce_sched *as;
	SSL_CTX *ssl;
	struct disk_pool *pool;       /* the certificates load on it (lab.ssl made by a test) */
	bool ipv6;                      /* the schedule announces over IPv6 too (BEP 7) */
	int http_v4, http_v6;           /* announces by the family they came over */
	char http_keys[2][16];          /* the key of the first IPv4 and IPv6 announce */
};

static void
lab_http_cb(struct evhttp_request *req, void *arg)
{
	struct lab *lab = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	struct evkeyvalq q;
	struct evbuffer *out = evbuffer_new();
	TAILQ_INIT(&q);
	if (query != NULL)
		evhttp_parse_query_str(query, &q);
	const char *ev = evhttp_find_header(&q, "event");
	if (strcmp(path, "/announce") == 0) {
		ck_assert_ptr_nonnull(evhttp_find_header(&q, "info_hash"));
		ck_assert_str_eq(evhttp_find_header(&q, "compact"), "1");
		ck_assert_str_eq(evhttp_find_header(&q, "port"), "6881");
		lab->http_announces++;
		char *peer = NULL;
		ev_uint16_t pport;
		evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &pport);
		bool v6 = peer != NULL && strchr(peer, ':') != NULL;
		const char *key = evhttp_find_header(&q, "key");
		if ((v6 ? lab->http_v6 : lab->http_v4) == 0 && key != NULL)
			snprintf(lab->http_keys[v6], sizeof lab->http_keys[v6], "%s", key);
		if (v6)
			lab->http_v6++;
		else
			lab->http_v4++;
		if (lab->http_announces == 1)
			lab->http_first_us = dp_now_us();
		if (lab->http_announces == 2) {
			lab->http_second_us = dp_now_us();
			snprintf(lab->http_second_event, sizeof lab->http_second_event, "%s",
			    ev ? ev : "none");
		}
		if (ev && strcmp(ev, "started") == 0)
			lab->http_started++;
		if (ev && strcmp(ev, "stopped") == 0)
			lab->http_stopped++;
		evbuffer_add_printf(out, "d8:completei3e10:incompletei4e8:intervali1e5:peers6:");
		evbuffer_add(out, "\x7f\x00\x00\x01\x1a\xe2", 6);
		evbuffer_add_printf(out, "e");
	} else if (strcmp(path, "/scrape") == 0) {
		lab->http_scrapes++;
		evbuffer_add_printf(out, "d5:filesd20:");
		evbuffer_add(out, "IIIIIIIIIIIIIIIIIIII", 20);
		evbuffer_add_printf(out, "d8:completei3e10:downloadedi11e10:incompletei4eeee");
	} else if (strcmp(path, "/fail") == 0) {
		evbuffer_add_printf(out, "d14:failure reason7:go awaye");
	} else if (strcmp(path, "/html") == 0) {
		evbuffer_add_printf(out, "<html>oops</html>");
	} else if (strcmp(path, "/redirect") == 0 || strcmp(path, "/redirect_https") == 0) {
		char loc[512];
		if (strcmp(path, "/redirect") == 0)
			snprintf(loc, sizeof loc, "/announce?%s", query ? query : "");
		else
			snprintf(loc, sizeof loc, "https://127.0.0.1:%u/announce?%s",
			    (unsigned)lab->http_port, query ? query : "");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
		evhttp_send_reply(req, 302, "Found", out);
		evhttp_clear_headers(&q);
		evbuffer_free(out);
		return;
	} else {
		evhttp_send_reply(req, 404, "Not Found", out);
		evhttp_clear_headers(&q);
		evbuffer_free(out);
		return;
	}
	evhttp_send_reply(req, 200, "OK", out);
	evhttp_clear_headers(&q);
	evbuffer_free(out);
}

static void
lab_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lab *lab = arg;
	uint8_t in[2048], out[256];
	struct sockaddr_storage from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
	size_t len = 0;
	if (n < 16)
		return;
	lab->udp_packets++;
	if (lab->udp_packets <= lab->udp_ignore)
		return;
	uint32_t action = th_be32(in + 8), tid = th_be32(in + 12);
	th_put_be32(out + 4, tid);
	if (lab->udp_error) {
		th_put_be32(out, 3);
		memcpy(out + 8, "udp says no", 11);
		len = 19;
	} else if (action == 0) {
		ck_assert_uint_eq(th_be32(in), 0x417);
		ck_assert_uint_eq(th_be32(in + 4), 0x27101980);
		lab->udp_connects++;
		th_put_be32(out, 0);
		th_put_be32(out + 8, 0xcafe);
		th_put_be32(out + 12, 0xf00d);
		len = 16;
	} else if (action == 1) {
		ck_assert_int_eq(n, 98);
		ck_assert_uint_eq(th_be32(in), 0xcafe);
		ck_assert_uint_eq(th_be32(in + 4), 0xf00d);
		lab->udp_announces++;
		uint32_t event = th_be32(in + 80);
		lab->udp_started += event == 2;
		lab->udp_stopped += event == 3;
		th_put_be32(out, 1);
		th_put_be32(out + 8, 1800);
		th_put_be32(out + 12, 2);
		th_put_be32(out + 16, 3);
		memcpy(out + 20, "\x7f\x00\x00\x01\x1a\xe3", 6);
		len = 26;
	} else if (action == 2) {
		lab->udp_scrapes++;
		th_put_be32(out, 2);
		th_put_be32(out + 8, 3);
		th_put_be32(out + 12, 12);
		th_put_be32(out + 16, 2);
		len = 20;
	}
	if (len > 0)
		sendto(fd, out, len, 0, (struct sockaddr *)&from, fl);
}

static void
lab_fill(void *arg, struct tracker_request *req)
{
	(void)arg;
	req->port = 6881;
	req->left = 1000;
	memset(req->peer_id, 'P', 20);
}

static void
lab_peers(void *arg, const struct tracker_peer *peers, size_t n)
{
	struct lab *lab = arg;
	lab->peers_got += n;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&peers[0].addr;
	ck_assert_int_eq(sin->sin_family, AF_INET);
	lab->peer_port = ntohs(sin->sin_port);
}

static void
lab_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lab *lab = arg;
	if (lab->until != NULL && lab->until(lab))
		event_base_loopbreak(lab->base);
}

static void
lab_init(struct lab *lab)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	memset(lab, 0, sizeof *lab);
	tracker_tunables_reset();
	tracker_tunables.interval_floor_s = 1;
	tracker_tunables.udp_base_ms = 150;
	tracker_tunables.http_timeout_ms = 3000;
	tracker_tunables.retry_min_s = 1;
	evthread_use_pthreads();
	lab->base = event_base_new();
	ck_assert_ptr_nonnull(lab->base);
	lab->dns = evdns_base_new(lab->base, 0);
	ck_assert_ptr_nonnull(lab->dns);
	lab->http = evhttp_new(lab->base);
	struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(lab->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl), 0);
	lab->http_port = ntohs(sin.sin_port);
	evhttp_set_gencb(lab->http, lab_http_cb, lab);

	lab->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(lab->udp_fd, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lab->udp_fd, (struct sockaddr *)&sin, sizeof sin), 0);
	sl = sizeof sin;
	ck_assert_int_eq(getsockname(lab->udp_fd, (struct sockaddr *)&sin, &sl), 0);
	lab->udp_port = ntohs(sin.sin_port);
	lab->udp_ev = event_new(lab->base, lab->udp_fd, EV_READ | EV_PERSIST, lab_udp_cb, lab);
	event_add(lab->udp_ev, NULL);
	lab->tick = event_new(lab->base, -1, EV_PERSIST, lab_tick, lab);
	struct timeval tv = { 0, 20000 };
	event_add(lab->tick, &tv);
}

static void
lab_free(struct lab *lab)
{
	announce_sched_free(lab->as);
	if (lab->ssl != NULL)
		tls_trust_ctx_free(lab->ssl);
	if (lab->pool != NULL)
		disk_pool_free(lab->pool);
	event_free(lab->tick);
	event_free(lab->udp_ev);
	close(lab->udp_fd);
	evhttp_free(lab->http);
	evdns_base_free(lab->dns, 0);
	event_base_free(lab->base);
	task_registry_clear();
	tracker_tunables_reset();
}

/* Runs the loop until the condition holds or seconds pass; returns whether it held. */
static bool
lab_run(struct lab *lab, bool (*until)(struct lab *), double seconds)
{
	struct timeval tv = { (time_t)seconds, (suseconds_t)((seconds - (int)seconds) * 1e6) };
	if (until(lab))
		return true;
	lab->until = until;
	event_base_loopexit(lab->base, &tv);
	event_base_dispatch(lab->base);
	lab->until = NULL;
	return until(lab);
}

static struct announce_sched *
lab_set(struct lab *lab, struct mi_tier *tiers, size_t n)
{
	static const uint8_t ih[20] = "IIIIIIIIIIIIIIIIIIII";
	struct announce_callbacks cb = { lab_fill, lab_peers, lab, NULL };
	lab->as = announce_sched_new(lab->base, lab->dns, lab->ssl, tiers, n, ih, 7, "test",
	    lab->ipv6 ? ANNOUNCE_IPV4 | ANNOUNCE_IPV6 : 0, &cb);
	return lab->as;
}

static void
lab_stopped(void *arg)
{
	struct lab *lab = arg;
	lab->stop_done = true;
}

/* Two announces served and both replies handled: the server counts the second before the
 * client has read it, and under valgrind on a loaded machine that gap showed. */
static bool
until_two_http(struct lab *lab)
{
	return lab->http_announces >= 2 && lab->peers_got >= 2;
}

static bool
until_stop_done(struct lab *lab)
{
	return lab->stop_done;
}

static const struct dp_task *
find_task(const char *name_part)
{
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t))
		if (strstr(t->name, name_part) != NULL && t->finished_us == 0)
			return t;
	return NULL;
}

static bool
until_tracker_sleeps(struct lab *lab)
{
	(void)lab;
	const struct dp_task *t = find_task("tracker http://127.0.0.1");
	return t != NULL && t->state == DP_TASK_TIMER_WAIT;
}

START_TEST(test_loop_http)
{
	struct lab lab;
	char url[128];
	lab_init(&lab);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/announce", lab.http_port);
	char *urls[] = { url };
	struct mi_tier tier = { urls, 1 };
	struct announce_sched *as = lab_set(&lab, &tier, 1);
	announce_sched_start(as);
	const struct dp_task *t = find_task("tracker http://127.0.0.1");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->kind, DP_TASK_KIND_TRACKER);
	ck_assert_int_eq(t->torrent_id, 7);
	ck_assert_int_eq(t->state, DP_TASK_DNS_WAIT);
	ck_assert_str_eq(t->reason, "resolving 127.0.0.1");

	ck_assert(lab_run(&lab, until_two_http, 4.0));
	ck_assert_int_eq(lab.http_started, 1);
	ck_assert_str_eq(lab.http_second_event, "none");
	/* The interval (1 s) was honoured between the two announces. */
	uint64_t gap = lab.http_second_us - lab.http_first_us;
	ck_assert_msg(gap >= 900000 && gap < 2500000, "gap %llu us", (unsigned long long)gap);
	ck_assert_uint_ge(lab.peers_got, 2);
	ck_assert_int_eq(lab.peer_port, 6882);
	/* The reply had no 'downloaded', so a scrape filled it in. */
	ck_assert_int_ge(lab.http_scrapes, 1);
	/* Between announces the task sleeps with the next announce (1 s away) as its deadline,
	 * not the ended request's 3 s timeout. */
	ck_assert(lab_run(&lab, until_tracker_sleeps, 2.0));
	t = find_task("tracker http://127.0.0.1");
	ck_assert_ptr_nonnull(t);
	ck_assert_msg(strncmp(t->reason, "the next announce", 17) == 0, "%s", t->reason);
	ck_assert_uint_gt(t->deadline_us, 0);
	ck_assert_uint_le(t->deadline_us, dp_now_us() + 1500000);

	struct tracker_info info[4];
	ck_assert_uint_eq(announce_sched_info(as, info, 4), 1);
	ck_assert_str_eq(info[0].url, url);
	ck_assert_int_eq(info[0].seeders, 3);
	ck_assert_int_eq(info[0].leechers, 4);
	ck_assert_int_eq(info[0].downloaded, 11);
	ck_assert_uint_eq(info[0].last_peer_count, 1);
	ck_assert_str_eq(info[0].last_error, "");
	ck_assert(info[0].last_announce > 0);

	announce_sched_stop(as, 2000, lab_stopped, &lab);
	ck_assert(lab_run(&lab, until_stop_done, 3.0));
	ck_assert_int_eq(lab.http_stopped, 1);
	lab_free(&lab);
}
END_TEST

static bool
until_udp_scraped(struct lab *lab)
{
	struct tracker_info info;
	return lab->peers_got > 0 && announce_sched_info(lab->as, &info, 1) == 1 &&
	    info.status == TRACKER_OK && info.downloaded >= 0;
}

START_TEST(test_loop_udp_retransmit)
{
	struct lab lab;
	char url[128];
	lab_init(&lab);
	lab.udp_ignore = 1;         /* the first connect is lost */
	snprintf(url, sizeof url, "udp://127.0.0.1:%u/announce", lab.udp_port);
	char *urls[] = { url };
	struct mi_tier tier = { urls, 1 };
	struct announce_sched *as = lab_set(&lab, &tier, 1);
	uint64_t start = dp_now_us();
	announce_sched_start(as);
	ck_assert(lab_run(&lab, until_udp_scraped, 3.0));
	/* One retransmission after the 150 ms base. */
	ck_assert_uint_ge(dp_now_us() - start, 140000);
	ck_assert_int_eq(lab.udp_connects, 1);
	ck_assert_int_eq(lab.udp_started, 1);
	ck_assert_int_eq(lab.peer_port, 6883);

	struct tracker_info info[2];
	ck_assert_uint_eq(announce_sched_info(as, info, 2), 1);
	ck_assert_int_eq(info[0].seeders, 3);
	ck_assert_int_eq(info[0].leechers, 2);
	ck_assert_int_eq(info[0].downloaded, 12);       /* from the scrape */
	ck_assert_int_eq(info[0].status, TRACKER_OK);
	ck_assert_int_eq(lab.udp_scrapes, 1);

	/* stopped reuses the connection id (no second connect). */
	announce_sched_stop(as, 2000, lab_stopped, &lab);
	ck_assert(lab_run(&lab, until_stop_done, 3.0));
	ck_assert_int_eq(lab.udp_stopped, 1);
	ck_assert_int_eq(lab.udp_connects, 1);
	lab_free(&lab);
}
END_TEST

static bool
until_any_error(struct lab *lab)
{
	struct tracker_info info[4];
	size_t n = announce_sched_info(lab->as, info, 4);
	for (size_t i = 0; i < n; i++)
		if (info[i].last_error[0] != '\0')
			return true;
	return false;
}

static bool
until_errors(struct lab *lab)
{
	struct tracker_info info[8];
	size_t n = announce_sched_info(lab->as, info, 8);
	int errors = 0;
	/* The HTTPS row waits for its certificates to load: it may come last (under valgrind,
	 * after the good tracker announced again). */
	bool not_yet = false;
	for (size_t i = 0; i < n; i++) {
		errors += info[i].last_error[0] != '\0';
		if (strncmp(info[i].url, "https://", 8) == 0 && info[i].last_error[0] == '\0')
			not_yet = true;
		/* it announces again every second: looked at between two announces */
		if (strstr(info[i].url, "/redirect") != NULL && info[i].status != TRACKER_OK)
			not_yet = true;
	}
	return errors >= 6 && lab->peers_got > 0 && !not_yet;
}

static const struct tracker_info *
info_for(const struct tracker_info *info, size_t n, const char *part)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(info[i].url, part) != NULL)
			return &info[i];
	return NULL;
}

/* The status word without any row filled: the first error in tier order when none works, the
 * first tracker's state otherwise, nothing without trackers. */
START_TEST(test_status_word)
{
	struct lab lab;
	lab_init(&lab);
	char *t0[] = { (char *)"wss://t.example/announce" };
	char *t1[] = { (char *)"http://127.0.0.1:9/announce" };
	struct mi_tier bad[] = { { t0, 1 }, { t1, 1 } };
	char word[300] = "unchanged";
	struct announce_sched *as = lab_set(&lab, bad, 2);
	announce_sched_status(as, word, sizeof word);
	ck_assert_str_eq(word, "error: unsupported tracker URL scheme 'wss'");
	announce_sched_free(as);
	struct mi_tier idle[] = { { t1, 1 } };
	as = lab_set(&lab, idle, 1);
	announce_sched_status(as, word, sizeof word);
	ck_assert_str_eq(word, "idle");
	announce_sched_free(as);
	snprintf(word, sizeof word, "unchanged");
	as = lab_set(&lab, NULL, 0);
	announce_sched_status(as, word, sizeof word);
	ck_assert_str_eq(word, "unchanged");
	lab_free(&lab);
}
END_TEST

/* Issue 19: the system's certificates cost a start about 40 ms; they are loaded on the disk pool,
 * as a task the monitor shows, when the first HTTPS connection waits for them: none before,
 * each wait answered once on the loop in the order they came and a slice at a time, a
 * cancelled one never; a context freed while they load leaves the rest to the job's end. */
static int tls_ready_calls[2];

static void
tls_ready_cb(void *arg)
{
	tls_ready_calls[*(int *)arg]++;
}

static int tls_hold_pipe[2];

/* Holds the pool's one worker until the test writes to the pipe. */
static void
tls_hold_call(struct disk_job *job)
{
	char c;
	if (read(tls_hold_pipe[0], &c, 1) != 1)
		job->error = EIO;
}

/* Seconds a test waits for the certificates at most: under valgrind their parse took 8 s at
 * load 8 (0.18 s natively), and a clean-clone run with other work on the machine took over 10. */
static unsigned
tls_load_bound_s(void)
{
	return getenv("DP_UNDER_VALGRIND") != NULL ? 120 : 10;
}

static struct dp_task *
tls_load_task(void)
{
	struct dp_task *found = NULL;
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t))
		if (strcmp(t->name, "disk loading the system's certificates") == 0)
			found = t;          /* the newest */
	return found;
}

/* Each of many waits: records its turn and costs about 200 µs of the loop's time. */
static int tls_order[200], tls_norder;

static void
tls_slow_ready_cb(void *arg)
{
	tls_order[tls_norder++] = *(int *)arg;
	uint64_t until = dp_now_us() + 200;
	while (dp_now_us() < until)
		;
}

START_TEST(test_tls_trust_lazy)
{
	evthread_use_pthreads();
	task_registry_clear();      /* no load task of an earlier test (CK_FORK=no) */
	struct event_base *base = event_base_new();
	struct disk_pool *pool = disk_pool_new(base, 1);
	ck_assert_ptr_nonnull(pool);
	ck_assert_int_eq(pipe(tls_hold_pipe), 0);
	struct disk_job hold = { .op = DISK_OP_CALL, .call = tls_hold_call,
		.what = "held by the test" };
	disk_pool_submit(pool, &hold);

	SSL_CTX *ctx = tls_trust_ctx_new(base, pool);
	ck_assert_ptr_nonnull(ctx);
	ck_assert(!tls_trust_loaded(ctx));
	ck_assert_ptr_null(tls_load_task());
	ck_assert_int_eq(sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx))),
	    0);
	int which[2] = { 0, 1 };
	tls_ready_calls[0] = tls_ready_calls[1] = 0;
	struct tls_trust_wait *w0 = tls_trust_when_ready(ctx, tls_ready_cb, &which[0]);
	struct tls_trust_wait *w1 = tls_trust_when_ready(ctx, tls_ready_cb, &which[1]);
	ck_assert_ptr_nonnull(w0);
	ck_assert_ptr_nonnull(w1);
	tls_trust_cancel(ctx, w1);
	/* The load is a disk task, queued behind the held job; nothing is answered meanwhile. */
	struct dp_task *lt = task_hold(tls_load_task());
	ck_assert_ptr_nonnull(lt);
	ck_assert_int_eq(lt->kind, DP_TASK_KIND_DISK);
	ck_assert_int_eq(lt->state, DP_TASK_QUEUED);
	ck_assert_str_eq(lt->reason, "disk queue: 1 job ahead");
	th_loop_run(base, 50);
	ck_assert(!tls_trust_loaded(ctx));
	ck_assert_int_eq(tls_ready_calls[0], 0);
	ck_assert_int_eq(lt->state, DP_TASK_QUEUED);
	/* The worker is let go: the load runs, the wait goes on. */
	ck_assert_int_eq(write(tls_hold_pipe[1], "x", 1), 1);
	RUN_UNTIL(base, tls_trust_loaded(ctx), tls_load_bound_s());
	ck_assert(tls_trust_loaded(ctx));
	ck_assert_int_eq(tls_ready_calls[0], 1);
	ck_assert_int_eq(tls_ready_calls[1], 0);
	ck_assert_int_eq(hold.error, 0);
	ck_assert_int_eq(lt->state, DP_TASK_DONE);
	ck_assert_str_eq(lt->reason, "loading the system's certificates: done");
	task_release(&lt);
	/* Loaded: no wait; the store holds what the default paths have (/etc/ssl/certs here). */
	ck_assert_ptr_null(tls_trust_when_ready(ctx, tls_ready_cb, &which[0]));
	if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0)
		ck_assert_int_gt(sk_X509_OBJECT_num(X509_STORE_get0_objects(
		    SSL_CTX_get_cert_store(ctx))), 0);
	th_loop_run(base, 50);
	ck_assert_int_eq(tls_ready_calls[0], 1);
	tls_trust_ctx_free(ctx);

	/* A free worker: the task says what it does from the wait that starts it. Freed while
	 * loading: no wait is answered, the job's end frees what is left. */
	ctx = tls_trust_ctx_new(base, pool);
	ck_assert_ptr_nonnull(tls_trust_when_ready(ctx, tls_ready_cb, &which[1]));
	lt = task_hold(tls_load_task());
	ck_assert_int_eq(lt->state, DP_TASK_DISK_WAIT);
	ck_assert_str_eq(lt->reason, "loading the system's certificates");
	tls_trust_ctx_free(ctx);
	RUN_UNTIL(base, lt->state == DP_TASK_DONE, tls_load_bound_s());
	ck_assert_int_eq(lt->state, DP_TASK_DONE);
	task_release(&lt);
	th_loop_run(base, 50);
	ck_assert_int_eq(tls_ready_calls[1], 0);

	/* Stopped (the session goes): the load completes into the context, no wait is answered. */
	ctx = tls_trust_ctx_new(base, pool);
	ck_assert_ptr_nonnull(tls_trust_when_ready(ctx, tls_ready_cb, &which[1]));
	tls_trust_ctx_stop(ctx);
	RUN_UNTIL(base, tls_trust_loaded(ctx), tls_load_bound_s());
	th_loop_run(base, 50);
	ck_assert_int_eq(tls_ready_calls[1], 0);
	tls_trust_ctx_free(ctx);

	/* Many waits: answered in the order they came, over several callbacks (200 of about
	 * 200 µs each do not fit one 4 ms slice), each once. */
	ctx = tls_trust_ctx_new(base, pool);
	int ids[200];
	tls_norder = 0;
	for (int i = 0; i < 200; i++) {
		ids[i] = i;
		ck_assert_ptr_nonnull(tls_trust_when_ready(ctx, tls_slow_ready_cb, &ids[i]));
	}
	RUN_UNTIL(base, tls_norder == 200, tls_load_bound_s());
	ck_assert_int_eq(tls_norder, 200);
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(tls_order[i], i);
	ck_assert_uint_gt(tls_trust_slices(ctx), 1);
	ck_assert_uint_lt(tls_trust_slices(ctx), 200 / 8 + 1);
	tls_trust_ctx_free(ctx);

	/* No pool: loaded on the spot by the first wait, which does not wait. */
	ctx = tls_trust_ctx_new(base, NULL);
	ck_assert(!tls_trust_loaded(ctx));
	ck_assert_ptr_null(tls_trust_when_ready(ctx, tls_ready_cb, &which[0]));
	ck_assert(tls_trust_loaded(ctx));
	tls_trust_ctx_free(ctx);

	/* A context made elsewhere loads its own certificates: never a wait. */
	ctx = SSL_CTX_new(TLS_client_method());
	ck_assert(tls_trust_loaded(ctx));
	ck_assert_ptr_null(tls_trust_when_ready(ctx, tls_ready_cb, &which[0]));
	tls_trust_ctx_free(ctx);
	disk_pool_free(pool);
	close(tls_hold_pipe[0]);
	close(tls_hold_pipe[1]);
	event_base_free(base);
	task_registry_clear();
}
END_TEST

START_TEST(test_loop_errors_and_tiers)
{
	struct lab lab;
	char fail[128], html[128], good[128], udp[128], refused[128], tls[128];
	lab_init(&lab);
	/* The engine's context: the HTTPS announce waits for the certificates to load. */
	lab.pool = disk_pool_new(lab.base, 1);
	lab.ssl = tls_trust_ctx_new(lab.base, lab.pool);
	ck_assert_ptr_nonnull(lab.ssl);
	ck_assert(!tls_trust_loaded(lab.ssl));
	lab.udp_error = true;
	/* A port nobody listens on. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sin;
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	close(s);
	snprintf(refused, sizeof refused, "http://127.0.0.1:%u/announce", ntohs(sin.sin_port));
	snprintf(fail, sizeof fail, "http://127.0.0.1:%u/fail", lab.http_port);
	snprintf(html, sizeof html, "http://127.0.0.1:%u/html", lab.http_port);
	snprintf(good, sizeof good, "http://127.0.0.1:%u/redirect", lab.http_port);
	snprintf(udp, sizeof udp, "udp://127.0.0.1:%u", lab.udp_port);
	/* TLS to a plain HTTP server: the handshake fails and says so. */
	snprintf(tls, sizeof tls, "https://127.0.0.1:%u/announce", lab.http_port);
	char *t0[] = { fail, (char *)"wss://t.example/announce" };
	char *t1[] = { udp };
	char *t2[] = { html };
	char *t3[] = { fail, good };
	char *t4[] = { refused };
	char *t5[] = { tls };
	struct mi_tier tiers[] = { { t0, 2 }, { t1, 1 }, { t2, 1 }, { t3, 2 }, { t4, 1 }, { t5, 1 } };
	struct announce_sched *as = lab_set(&lab, tiers, 6);
	/* Under valgrind the CA bundle's parse alone took 8 s at load 8 (0.18 s natively); the
	 * HTTPS fetch's timer starts after it (test_https_timer_after_certificates). */
	bool slow = getenv("DP_UNDER_VALGRIND") != NULL;
	announce_sched_start(as);
	ck_assert(lab_run(&lab, until_errors, slow ? 120.0 : 5.0));

	struct tracker_info info[8];
	size_t n = announce_sched_info(as, info, 8);
	ck_assert_uint_eq(n, 8);
	const struct tracker_info *i;
	i = info_for(info, n, "/fail");
	ck_assert_str_eq(i->last_error, "tracker refused: go away");
	ck_assert_int_eq(i->status, TRACKER_ERROR);
	i = info_for(info, n, "wss://");
	ck_assert_str_eq(i->last_error, "unsupported tracker URL scheme 'wss'");
	i = info_for(info, n, "udp://");
	ck_assert_str_eq(i->last_error, "tracker error: udp says no");
	ck_assert_int_eq(i->tier, 1);
	i = info_for(info, n, "/html");
	ck_assert_ptr_nonnull(strstr(i->last_error, "not bencoded"));
	i = info_for(info, n, refused);
	ck_assert_msg(strstr(i->last_error, "cannot connect") != NULL, "refused: '%s'", i->last_error);
	i = info_for(info, n, "https://");
	ck_assert_msg(strstr(i->last_error, "TLS") != NULL, "TLS error: '%s'", i->last_error);
	ck_assert(tls_trust_loaded(lab.ssl));
	/* The redirect-following tracker answered and leads tier 3 (promoted if it came second). */
	ck_assert_str_eq(info[4].url, good);
	ck_assert_int_eq(info[4].tier, 3);
	ck_assert_int_eq(info[4].status, TRACKER_OK);
	ck_assert_int_eq(lab.peer_port, 6882);
	/* The torrent's status reads the schedule directly: the same words as the rows give. */
	char word[300] = "";
	announce_sched_status(as, word, sizeof word);
	ck_assert_str_eq(word, "ok (1 of 8)");
	/* The failed trackers' attempts show as FAILED tasks with the error. */
	bool seen_failed = false;
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t))
		if (t->state == DP_TASK_FAILED && strcmp(t->reason, "tracker refused: go away") == 0)
			seen_failed = true;
	ck_assert(seen_failed);

	/* Only the tracker that accepted started is owed a stopped. */
	announce_sched_stop(as, 1000, lab_stopped, &lab);
	ck_assert(lab_run(&lab, until_stop_done, 2.0));
	ck_assert_int_eq(lab.http_stopped, 1);
	lab_free(&lab);
}
END_TEST

/* The reply timer of an HTTPS fetch starts once the certificates are loaded: a disk pool busy
 * with other work (a start with thousands of torrents checking) does not turn the wait for them
 * into "no announce reply within N s". */
static int fetch_done_calls;
static char fetch_done_err[256];

static void
fetch_done_cb(void *arg, int status, const uint8_t *body, size_t len, const char *err)
{
	fetch_done_calls++;
	snprintf(fetch_done_err, sizeof fetch_done_err, "%s", err != NULL ? err : "");
}

/* A fetch of path (on the lab's HTTP server, url_fmt's scheme) with the pool's worker held: it
 * reaches the wait for the certificates, waits through three reply timeouts, and once let go
 * fails at the TLS handshake with a plain HTTP server, not by a timeout. */
static void
https_fetch_waits_for_certificates(const char *url_fmt)
{
	struct lab lab;
	lab_init(&lab);
	tracker_tunables.http_timeout_ms = 200;
	lab.pool = disk_pool_new(lab.base, 1);
	ck_assert_ptr_nonnull(lab.pool);
	ck_assert_int_eq(pipe(tls_hold_pipe), 0);
	struct disk_job hold = { .op = DISK_OP_CALL, .call = tls_hold_call,
		.what = "held by the test" };
	disk_pool_submit(lab.pool, &hold);
	lab.ssl = tls_trust_ctx_new(lab.base, lab.pool);
	ck_assert_ptr_nonnull(lab.ssl);
	char url[128];
	snprintf(url, sizeof url, url_fmt, lab.http_port);
	struct dp_task *task = task_new(DP_TASK_KIND_TRACKER, 0, "https fetch");
	fetch_done_calls = 0;
	ck_assert_ptr_nonnull(tracker_http_fetch_start(lab.base, lab.dns, lab.ssl, url, "announce",
	    AF_INET, task, fetch_done_cb, NULL));
	RUN_UNTIL(lab.base, task->state == DP_TASK_DISK_WAIT, 5);
	ck_assert_int_eq(task->state, DP_TASK_DISK_WAIT);
	ck_assert_str_eq(task->reason, "loading the system's certificates");
	th_loop_run(lab.base, 600);
	ck_assert_msg(fetch_done_calls == 0, "fetch ended during the wait: '%s'", fetch_done_err);
	ck_assert_int_eq(task->state, DP_TASK_DISK_WAIT);
	ck_assert_int_eq(write(tls_hold_pipe[1], "x", 1), 1);
	RUN_UNTIL(lab.base, fetch_done_calls > 0, tls_load_bound_s());
	ck_assert_int_eq(fetch_done_calls, 1);
	ck_assert_msg(strstr(fetch_done_err, "TLS") != NULL, "err: '%s'", fetch_done_err);
	ck_assert_int_eq(hold.error, 0);
	task_done(task, "test done");
	task_release(&task);
	close(tls_hold_pipe[0]);
	close(tls_hold_pipe[1]);
	lab_free(&lab);
}

START_TEST(test_https_timer_after_certificates)
{
	https_fetch_waits_for_certificates("https://127.0.0.1:%u/announce");
}
END_TEST

/* The same through a redirect: an HTTP tracker sends the fetch on to an HTTPS URL while the
 * certificates still wait for the pool. The first hop's reply timer ran through that wait and
 * ended it as "no announce reply" from the second, never asked. */
START_TEST(test_https_redirect_timer_after_certificates)
{
	https_fetch_waits_for_certificates("http://127.0.0.1:%u/redirect_https?x=1");
}
END_TEST

/* Issue 17: a tracker kept its task after the task finished (stopped, failed), the registry freed
 * it once it had lingered (or when over 2000 finished tasks lingered), and the next start or the
 * torrent's removal read it through the dangling pointer. A held task now outlives both. */
START_TEST(test_loop_stopped_task_outlives_linger)
{
	struct lab lab;
	char refused[128], refused2[128];
	lab_init(&lab);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sin;
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	close(s);
	snprintf(refused, sizeof refused, "http://127.0.0.1:%u/announce", ntohs(sin.sin_port));
	snprintf(refused2, sizeof refused2, "http://127.0.0.1:%u/other", ntohs(sin.sin_port));
	char *t0[] = { refused, refused2 };
	struct mi_tier tiers[] = { { t0, 2 } };
	size_t held_before = task_held_count();
	struct announce_sched *as = lab_set(&lab, tiers, 1);
	ck_assert_uint_eq(task_held_count(), held_before + 2);
	announce_sched_start(as);
	ck_assert(lab_run(&lab, until_any_error, 5.0));
	announce_sched_stop(as, 1000, lab_stopped, &lab);
	ck_assert(lab_run(&lab, until_stop_done, 2.0));

	/* Both ways the registry frees finished tasks: the linger passing, and the cap. */
	for (int i = 0; i < TASK_LINGER_MAX + 100; i++) {
		struct dp_task *k = task_new(DP_TASK_KIND_DISK, 0, "filler %d", i);
		task_done(k, "done");
		task_release(&k);
		ck_assert_ptr_null(k);
	}
	uint64_t later = dp_now_us() + TASK_LINGER_US + 2000000u;
	task_health_tick(later, later);
	task_health_tick(later + 1500000u, later + 1500000u);
	/* The fillers are gone; the trackers' finished tasks are still there and readable. */
	size_t stopped = 0, fillers = 0;
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t)) {
		fillers += strncmp(t->name, "filler", 6) == 0;
		stopped += t->kind == DP_TASK_KIND_TRACKER && t->finished_us != 0 && t->refs > 0;
	}
	ck_assert_uint_eq(fillers, 0);
	ck_assert_uint_ge(stopped, 1);

	/* Starting again and removing read each tracker's task: clean under ASan and valgrind. */
	announce_sched_start(as);
	ck_assert(lab_run(&lab, until_any_error, 5.0));
	announce_sched_free(as);
	lab.as = NULL;
	/* Every reference the set took was given back. */
	ck_assert_uint_eq(task_held_count(), held_before);
	lab_free(&lab);
}
END_TEST

/* BEP 7: with an IPv6 address of our own a named tracker hears from us over each family, with
 * one key; its IPv6 announces are a row of their own; a tracker given as an address gets one
 * lane only. */
static bool
until_both_families(struct lab *lab)
{
	return lab->http_v4 >= 1 && lab->http_v6 >= 1;
}

START_TEST(test_announce_ipv6_lane)
{
	struct lab lab;
	lab_init(&lab);
	struct evhttp_bound_socket *bs6 = evhttp_bind_socket_with_handle(lab.http, "::1",
	    lab.http_port);
	ck_assert_msg(bs6 != NULL, "no IPv6 loopback to bind the test tracker on");
	char hosts[] = "/tmp/dp-check-hosts.XXXXXX";
	int fd = mkstemp(hosts);
	ck_assert_int_ge(fd, 0);
	const char *names = "127.0.0.1 dual.test\n::1 dual.test\n";
	ck_assert_int_eq(write(fd, names, strlen(names)), (ssize_t)strlen(names));
	close(fd);
	ck_assert_int_eq(evdns_base_load_hosts(lab.dns, hosts), 0);
	unlink(hosts);
	char url[2][128];
	snprintf(url[0], sizeof url[0], "http://dual.test:%u/announce", (unsigned)lab.http_port);
	snprintf(url[1], sizeof url[1], "http://127.0.0.1:%u/announce", (unsigned)lab.http_port);
	char *u0[1] = { url[0] }, *u1[1] = { url[1] };
	struct mi_tier tiers[2] = { { u0, 1 }, { u1, 1 } };
	lab.ipv6 = true;
	struct announce_sched *as = lab_set(&lab, tiers, 2);
	ck_assert_uint_eq(announce_sched_rows(as), 3);
	announce_sched_start(as);
	ck_assert(lab_run(&lab, until_both_families, 10));
	ck_assert_str_eq(lab.http_keys[0], lab.http_keys[1]);
	struct tracker_info info[4];
	size_t n = announce_sched_info(as, info, 4);
	ck_assert_uint_eq(n, 3);
	size_t v6rows = 0;
	for (size_t i = 0; i < n; i++)
		if (info[i].ipv6) {
			v6rows++;
			ck_assert_str_eq(info[i].url, url[0]);
		}
	ck_assert_uint_eq(v6rows, 1);
	lab_free(&lab);
}
END_TEST

Suite *
tracker_suite(void)
{
	Suite *s = suite_create("tracker");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_announce_url);
	tcase_add_test(tc, test_webseed_urls);
	tcase_add_test(tc, test_scrape_url);
	tcase_add_test(tc, test_parse_compact);
	tcase_add_test(tc, test_parse_dict_peers);
	tcase_add_test(tc, test_parse_failure_warning);
	tcase_add_test(tc, test_parse_invalid);
	tcase_add_test(tc, test_parse_scrape);
	tcase_add_test(tc, test_parse_scrape_multi);
	tcase_add_test(tc, test_udp_build);
	tcase_add_test(tc, test_udp_parse);
	tcase_add_test(tc, test_url_parse);
	tcase_add_test(tc, test_tiers);
	suite_add_tcase(s, tc);
	tc = tcase_create("loop");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_loop_http);
	tcase_add_test(tc, test_loop_udp_retransmit);
	tcase_add_test(tc, test_loop_errors_and_tiers);
	tcase_add_test(tc, test_tls_trust_lazy);
	tcase_add_test(tc, test_https_timer_after_certificates);
	tcase_add_test(tc, test_https_redirect_timer_after_certificates);
	tcase_add_test(tc, test_status_word);
	tcase_add_test(tc, test_loop_stopped_task_outlives_linger);
	tcase_add_test(tc, test_announce_ipv6_lane);
	suite_add_tcase(s, tc);
	return s;
}
