/* check_settings.c: settings.conf of the session directory: parsing with line-numbered errors,
 * the round trip through settings_format, the backup fallback, and per-key validation. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>

#include "dp_config.h"
#include "resume.h"
#include "settings_file.h"
#include "suites.h"
#include "util.h"

START_TEST(test_parse)
{
	const char *text = "# a comment\n\n  download_rate_limit = \"1000000\";\r\n"
	    "download_dir=\"/srv/a \\\"b\\\" \\\\c\"\nstart_paused = \"true\"\n"
	    "download_rate_limit = \"5\";   \n";
	struct settings s;
	char err[256];
	ck_assert_int_eq(settings_parse(text, strlen(text), &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.keys[0], "download_rate_limit");
	ck_assert_str_eq(settings_get(&s, "download_rate_limit"), "5");   /* the last wins */
	ck_assert_str_eq(settings_get(&s, "download_dir"), "/srv/a \"b\" \\c");
	ck_assert_str_eq(settings_get(&s, "start_paused"), "true");
	ck_assert_ptr_null(settings_get(&s, "upload_rate_limit"));

	/* Back through the formatter: the same pairs, and a value with a newline survives. */
	settings_put(&s, "seed_ratio_limit", "1.5");
	settings_put(&s, "download_dir", "/x\ny");
	size_t len;
	char *out = settings_format(&s, &len);
	ck_assert_uint_eq(strlen(out), len);
	struct settings again;
	ck_assert_msg(settings_parse(out, len, &again, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(again.n, s.n);
	for (size_t i = 0; i < s.n; i++) {
		ck_assert_str_eq(again.keys[i], s.keys[i]);
		ck_assert_str_eq(again.values[i], s.values[i]);
	}
	free(out);
	settings_clear(&again);
	settings_clear(&s);
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(test_parse_errors)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "download_dir = /srv\n", "line 1: download_dir: expected a quoted value" },
		{ "\n\nlisten_port = \"1\"\n", "line 3: 'listen_port' is not a run-time setting" },
		{ "start_paused \"true\"\n", "line 1: expected '=' after start_paused" },
		{ "start_paused = \"true\n", "line 1: start_paused: unterminated value" },
		{ "start_paused = \"tr\\ue\"\n", "line 1: start_paused: unknown escape \\u" },
		{ "start_paused = \"true\" x\n", "line 1: start_paused: unexpected text" },
		{ "= \"1\"\n", "line 1: expected a setting name" },
		{ "Start_paused = \"1\"\n", "line 1: expected a setting name" },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(bad); i++) {
		struct settings s;
		char err[256] = "";
		ck_assert_int_eq(settings_parse(bad[i].text, strlen(bad[i].text), &s, err,
		    sizeof err), -1);
		ck_assert_msg(strncmp(err, bad[i].want, strlen(bad[i].want)) == 0,
		    "case %zu: got '%s'", i, err);
		ck_assert_uint_eq(s.n, 0);
	}
	/* A NUL inside a value, and an over-long value. */
	struct settings s;
	char err[256];
	const char nul[] = "download_dir = \"/a\0b\"\n";
	ck_assert_int_eq(settings_parse(nul, sizeof nul - 1, &s, err, sizeof err), -1);
	ck_assert(strstr(err, "NUL") != NULL);
	char *big = xmalloc(SETTINGS_MAX_VALUE + 64);
	int n = snprintf(big, 32, "download_dir = \"");
	memset(big + n, 'a', SETTINGS_MAX_VALUE + 1);
	memcpy(big + n + SETTINGS_MAX_VALUE + 1, "\"\n", 3);
	ck_assert_int_eq(settings_parse(big, strlen(big), &s, err, sizeof err), -1);
	ck_assert(strstr(err, "longer than") != NULL);
	free(big);
}
END_TEST

START_TEST(test_value)
{
	struct dp_config c;
	char err[256];
	ck_assert_int_eq(settings_value("download_rate_limit", "2M", &c, err, sizeof err), 0);
	ck_assert_uint_eq(c.download_rate_limit, 2u << 20);
	config_free(&c);
	/* Lower than the default per-torrent limit: still fine on its own. */
	ck_assert_int_eq(settings_value("max_connections_global", "5", &c, err, sizeof err), 0);
	ck_assert_int_eq(c.max_connections_global, 5);
	config_free(&c);
	ck_assert_int_eq(settings_value("seed_ratio_limit", "-1", &c, err, sizeof err), -1);
	config_free(&c);
	ck_assert_int_eq(settings_value("listen_port", "1", &c, err, sizeof err), -1);
	ck_assert(strstr(err, "not a run-time setting") != NULL);
	config_free(&c);
	ck_assert_int_eq(settings_value("start_paused", "maybe", &c, err, sizeof err), -1);
	config_free(&c);
}
END_TEST

START_TEST(test_load_backup)
{
	char dir[] = "/tmp/dp-check-settings.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *path = xasprintf("%s/%s", dir, SETTINGS_FILE_NAME);
	char *bak = xasprintf("%s.bak", path);
	struct settings s;
	char why[512], err[512];

	/* Missing: an empty set. */
	ck_assert_int_eq(settings_load(path, &s, why, sizeof why, err, sizeof err), 0);
	ck_assert_uint_eq(s.n, 0);

	/* Two atomic writes: the first becomes the backup. */
	settings_put(&s, "max_active_downloads", "2");
	size_t len;
	char *text = settings_format(&s, &len);
	ck_assert_int_eq(resume_write_file(path, (uint8_t *)text, len, err, sizeof err), 0);
	free(text);
	settings_put(&s, "max_active_downloads", "3");
	text = settings_format(&s, &len);
	ck_assert_int_eq(resume_write_file(path, (uint8_t *)text, len, err, sizeof err), 0);
	free(text);
	settings_clear(&s);
	ck_assert_int_eq(settings_load(path, &s, why, sizeof why, err, sizeof err), 0);
	ck_assert_str_eq(settings_get(&s, "max_active_downloads"), "3");
	ck_assert_str_eq(why, "");
	settings_clear(&s);

	/* A damaged main file: the backup, with the reason. */
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("max_active_downloads = \"4", f);
	fclose(f);
	ck_assert_int_eq(settings_load(path, &s, why, sizeof why, err, sizeof err), 0);
	ck_assert_str_eq(settings_get(&s, "max_active_downloads"), "2");
	ck_assert(strstr(why, "unterminated") != NULL);
	settings_clear(&s);

	/* Both damaged: refused, naming both. */
	f = fopen(bak, "w");
	ck_assert_ptr_nonnull(f);
	fputs("bogus = \"1\"\n", f);
	fclose(f);
	ck_assert_int_eq(settings_load(path, &s, why, sizeof why, err, sizeof err), -1);
	ck_assert(strstr(err, "unterminated") != NULL && strstr(err, "bogus") != NULL);
	ck_assert_uint_eq(s.n, 0);

	unlink(path);
	unlink(bak);
	rmdir(dir);
	free(path);
	free(bak);
}
END_TEST

Suite *
settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("settings");
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_value);
	tcase_add_test(tc, test_load_backup);
	suite_add_tcase(s, tc);
	return s;
}
