/* check_lsd.c: the BEP 14 codec: what lsd_build writes parses back (several info-hashes, the
 * cookie, the 1400-byte bound), headers in any case and unknown ones ignored, malformed
 * announces refused. The multicast side runs in a network namespace (tests/interop/lsd.sh). */
#include "config.h"

#include <check.h>
#include <string.h>

#include "lsd.h"
#include "suites.h"
#include "util.h"

static int
parse_str(const char *s, struct lsd_msg *m)
{
	char err[128];
	return lsd_parse((const uint8_t *)s, strlen(s), m, err, sizeof err);
}

START_TEST(test_lsd_roundtrip)
{
	uint8_t h[LSD_MAX_HASHES][20];
	for (int i = 0; i < LSD_MAX_HASHES; i++)
		memset(h[i], 0x10 + i, 20);
	char buf[LSD_MAX_DGRAM];
	size_t len = lsd_build(buf, sizeof buf, "239.192.152.143:6771", 51413,
	    (const uint8_t (*)[20])h, LSD_MAX_HASHES, "c00k1e");
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_le(len, LSD_MAX_DGRAM);
	ck_assert(memcmp(buf, "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\n", 50) == 0);
	struct lsd_msg m;
	char err[128];
	ck_assert_int_eq(lsd_parse((uint8_t *)buf, len, &m, err, sizeof err), 0);
	ck_assert_uint_eq(m.port, 51413);
	ck_assert_uint_eq(m.nhashes, LSD_MAX_HASHES);
	ck_assert_mem_eq(m.hashes[7], h[7], 20);
	ck_assert_str_eq(m.cookie, "c00k1e");
	/* too big for the buffer: nothing written */
	ck_assert_uint_eq(lsd_build(buf, 100, "239.192.152.143:6771", 1, (const uint8_t (*)[20])h, 3,
	    NULL), 0);
}
END_TEST

START_TEST(test_lsd_parse_edges)
{
	struct lsd_msg m;
	/* BEP 14's own example form, other clients' header case, an unknown header */
	ck_assert_int_eq(parse_str("BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\n"
	    "PORT: 6881\r\nx-whatever: 1\r\ninfohash: 0123456789ABCDEF0123456789abcdef01234567\r\n"
	    "\r\n\r\n", &m), 0);
	ck_assert_uint_eq(m.port, 6881);
	ck_assert_uint_eq(m.nhashes, 1);
	ck_assert_uint_eq(m.hashes[0][0], 0x01);
	ck_assert_str_eq(m.cookie, "");
	/* bare \n line ends */
	ck_assert_int_eq(parse_str("BT-SEARCH * HTTP/1.1\nPort: 1\nInfohash: "
	    "0123456789abcdef0123456789abcdef01234567\n\n", &m), 0);
	static const char *const bad[] = {
		"",
		"M-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n",
		"BT-SEARCH * HTTP/1.1\r\nInfohash: 0123456789abcdef0123456789abcdef01234567\r\n\r\n",
		"BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: 0123456789abcdef0123456789abcdef01234567\r\n",
		"BT-SEARCH * HTTP/1.1\r\nPort: 65536\r\nInfohash: 0123456789abcdef0123456789abcdef01234567\r\n",
		"BT-SEARCH * HTTP/1.1\r\nPort: 12x\r\nInfohash: 0123456789abcdef0123456789abcdef01234567\r\n",
		"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\n\r\n",
		"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: 0123\r\n\r\n",
		"BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: 0123456789abcdef0123456789abcdef0123456z\r\n",
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(bad); i++)
		ck_assert_msg(parse_str(bad[i], &m) < 0, "accepted %s", bad[i]);
	/* a line over 256 bytes, a NUL, an oversized datagram */
	char longline[400];
	memset(longline, 'a', sizeof longline);
	memcpy(longline, "BT-SEARCH * HTTP/1.1\r\nX: ", 25);
	longline[sizeof longline - 1] = '\0';
	ck_assert_int_lt(parse_str(longline, &m), 0);
	char err[64];
	ck_assert_int_lt(lsd_parse((const uint8_t *)"BT-SEARCH * HTTP/1.1\r\n\0", 23, &m, err,
	    sizeof err), 0);
	static uint8_t big[LSD_MAX_DGRAM + 1];
	ck_assert_int_lt(lsd_parse(big, sizeof big, &m, err, sizeof err), 0);
	/* more Infohash headers than we keep: the first LSD_MAX_HASHES count */
	struct dp_buf b;
	dp_buf_init(&b);
	dp_buf_add_str(&b, "BT-SEARCH * HTTP/1.1\r\nPort: 9\r\n");
	for (int i = 0; i < LSD_MAX_HASHES + 3; i++)
		dp_buf_add_str(&b, "Infohash: 0123456789abcdef0123456789abcdef01234567\r\n");
	dp_buf_add_str(&b, "\r\n");
	ck_assert_int_eq(lsd_parse(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_uint_eq(m.nhashes, LSD_MAX_HASHES);
	dp_buf_free(&b);
}
END_TEST

Suite *
lsd_suite(void)
{
	Suite *s = suite_create("lsd");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_lsd_roundtrip);
	tcase_add_test(tc, test_lsd_parse_edges);
	suite_add_tcase(s, tc);
	return s;
}
