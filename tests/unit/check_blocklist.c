/* check_blocklist.c: the blocklist parser (P2P, DAT and CIDR lines, comments, lines not
 * understood) and the lookup over sorted, merged ranges. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <check.h>

#include "blocklist.h"
#include "suites.h"

static uint32_t
ip(const char *s)
{
	struct in_addr a;
	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

START_TEST(test_formats_and_merge)
{
	const char *text =
	    "# comment\n"
	    "\n"
	    "Bad Guys:1.2.3.4-1.2.3.255\n"
	    "a:b:c:10.0.0.0-10.0.0.9\r\n"
	    "10.0.0.10 - 10.0.0.20 , 000 , adjacent to the one above\n"
	    "001.002.003.250 - 001.002.004.010 , 100 , overlaps the first\n"
	    "192.168.0.0/16\n"
	    "not a range\n"
	    "x:1.2.3.9-1.2.3.1\n"
	    "y:256.0.0.1-256.0.0.2\n";
	struct blocklist b;
	char err[256];
	ck_assert_msg(blocklist_parse(text, strlen(text), &b, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(b.rules, 5);
	ck_assert_uint_eq(b.bad_lines, 3);
	ck_assert_uint_eq(b.n, 3);           /* 1.2.3.4-1.2.4.10, 10.0.0.0-20, 192.168/16 */
	ck_assert(blocklist_has(&b, ip("1.2.3.4")));
	ck_assert(blocklist_has(&b, ip("1.2.4.10")));
	ck_assert(!blocklist_has(&b, ip("1.2.3.3")));
	ck_assert(!blocklist_has(&b, ip("1.2.4.11")));
	ck_assert(blocklist_has(&b, ip("10.0.0.15")));
	ck_assert(!blocklist_has(&b, ip("10.0.0.21")));
	ck_assert(blocklist_has(&b, ip("192.168.255.255")));
	ck_assert(!blocklist_has(&b, ip("192.169.0.0")));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(ip("10.0.0.1"));
	ck_assert(blocklist_has_addr(&b, (struct sockaddr *)&sa));
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.0.0.1", &s6.sin6_addr), 1);
	ck_assert(blocklist_has_addr(&b, (struct sockaddr *)&s6));
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr), 1);
	ck_assert(!blocklist_has_addr(&b, (struct sockaddr *)&s6));
	blocklist_free(&b);
}
END_TEST

START_TEST(test_refused_inputs)
{
	struct blocklist b;
	char err[256];
	const char *none = "# only comments\nnothing here\n";
	ck_assert_int_eq(blocklist_parse(none, strlen(none), &b, err, sizeof err), -1);
	ck_assert(strstr(err, "no address range") != NULL);
	/* The whole address space and its edges. */
	const char *all = "0.0.0.0/0\n255.255.255.255/32\n";
	ck_assert_int_eq(blocklist_parse(all, strlen(all), &b, err, sizeof err), 0);
	ck_assert_uint_eq(b.n, 1);
	ck_assert(blocklist_has(&b, 0) && blocklist_has(&b, UINT32_MAX));
	blocklist_free(&b);
}
END_TEST

Suite *
blocklist_suite(void)
{
	Suite *s = suite_create("blocklist");
	TCase *tc = tcase_create("blocklist");
	tcase_add_test(tc, test_formats_and_merge);
	tcase_add_test(tc, test_refused_inputs);
	suite_add_tcase(s, tc);
	return s;
}
