/* check_escape.c: the one escaping of outside text: controls, C1, bidi and broken UTF-8 made
 * visible, UTF-8 kept, cuts on boundaries; log lines and task names go through it. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "log.h"
#include "suites.h"
#include "task.h"
#include "util.h"

START_TEST(test_escape_controls)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "plain text 123", "plain text 123" },
		{ "a\nb\rc\td", "a\\nb\\rc\\td" },
		/* a title-setting OSC, a screen clear, BEL */
		{ "\x1b]0;pwned\x07\x1b[2J", "\\x1b]0;pwned\\x07\\x1b[2J" },
		{ "del\x7f", "del\\x7f" },
		/* C1 CSI as UTF-8 (U+009B) and as a bare byte (not UTF-8) */
		{ "\xc2\x9b" "31m", "\\u009b31m" },
		{ "\x9b" "31m", "\\x9b31m" },
		{ "\xc2\x85next", "\\u0085next" },
		/* line separators and a right-to-left override */
		{ "a\xe2\x80\xa8" "b\xe2\x80\xae" "c\xe2\x81\xa6", "a\\u2028b\\u202ec\\u2066" },
		/* names in other scripts are kept */
		{ "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80" },
		/* overlong '/', a surrogate, a truncated sequence */
		{ "\xc0\xaf", "\\xc0\\xaf" },
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },
		{ "x\xe6\x97", "x\\xe6\\x97" },
		/* a forged log line stays on its line */
		{ "ok\ndownpour: error: forged", "ok\\ndownpour: error: forged" },
	};
	char out[256];
	for (size_t i = 0; i < DP_ARRAY_LEN(cases); i++) {
		dp_escape(cases[i].in, out, sizeof out);
		ck_assert_msg(strcmp(out, cases[i].out) == 0, "case %zu: got '%s' want '%s'", i, out,
		    cases[i].out);
		char *dup = dp_escape_dup(cases[i].in);
		ck_assert_str_eq(dup, cases[i].out);
		free(dup);
	}
}
END_TEST

START_TEST(test_escape_cuts_on_boundaries)
{
	char out[8];
	/* "ab" + "\x1b" (4 bytes) = 6, then "\x1b" again does not fit in 7 + NUL */
	dp_escape("ab\x1b\x1b", out, sizeof out);
	ck_assert_str_eq(out, "ab\\x1b");
	/* a 3-byte character that does not fit is left out whole */
	dp_escape("abcde\xe6\x97\xa5", out, sizeof out);
	ck_assert_str_eq(out, "abcde");
	dp_escape("anything", out, 1);
	ck_assert_str_eq(out, "");
	/* the worst case fits dp_escape_dup's buffer */
	char *dup = dp_escape_dup("\x01\x02\x03\xff");
	ck_assert_str_eq(dup, "\\x01\\x02\\x03\\xff");
	free(dup);
}
END_TEST

START_TEST(test_log_lines_escaped)
{
	struct dp_log_line lines[4];
	size_t n = log_copy_since(0, lines, 4);
	uint64_t last = n > 0 ? lines[n - 1].seq : 0;
	log_warn("tracker %s: %s", "http://t/\x1b]0;x\x07", "bad\ndownpour: error: forged");
	n = log_copy_since(last, lines, 4);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(lines[0].text,
	    "tracker http://t/\\x1b]0;x\\x07: bad\\ndownpour: error: forged");
}
END_TEST

START_TEST(test_task_text_escaped)
{
	task_registry_clear();
	struct dp_task *t = task_new(DP_TASK_KIND_PEER, 1, "peer %s", "evil\x1b[2J\xc2\x9b");
	ck_assert_str_eq(t->name, "peer evil\\x1b[2J\\u009b");
	task_rename(t, "rpc client %s", "m\nforged");
	ck_assert_str_eq(t->name, "rpc client m\\nforged");
	task_wait(t, DP_TASK_READ_WAIT, "reading %s", "\x07" "bell");
	ck_assert_str_eq(t->reason, "reading \\x07bell");
	task_done(t, "done");
	task_release(&t);
	task_registry_clear();
}
END_TEST

Suite *
escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, test_escape_controls);
	tcase_add_test(tc, test_escape_cuts_on_boundaries);
	tcase_add_test(tc, test_log_lines_escaped);
	tcase_add_test(tc, test_task_text_escaped);
	suite_add_tcase(s, tc);
	return s;
}
