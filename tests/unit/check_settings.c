/* check_settings.c: settings.conf of the session directory (parsing with line-numbered errors,
 * the round trip through settings_format, the backup fallback, per-key validation), and the
 * engine's live settings as SIGHUP, session-get/set and a restart see them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>
#include <jansson.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "dp_config.h"
#include "engine.h"
#include "resume.h"
#include "rpc.h"
#include "session_store.h"
#include "settings_file.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
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
	/* The table says which keys a client may change: limits and their switches, never what
	 * runs a command or where the engine listens. */
	ck_assert(settings_key_allowed("download_rate_limit_enabled"));
	ck_assert(settings_key_allowed("seed_ratio_limit_enabled"));
	ck_assert(!settings_key_allowed("completion_hook"));
	ck_assert(!settings_key_allowed("watch_dir"));
	ck_assert(!settings_key_allowed("rpc.port"));
	ck_assert_int_eq(settings_value("upload_rate_limit_enabled", "false", &c, err, sizeof err),
	    0);
	ck_assert(!c.upload_rate_limit_enabled);
	config_free(&c);
}
END_TEST

/* ---- the live settings: SIGHUP and the RPC read and write the same ---- */

static json_t *
settings_rpc(struct rpc_handler *h, const char *req)
{
	char *ans = rpc_handler_run(h, req, strlen(req), NULL, 0);
	json_t *j = json_loads(ans, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", ans);
	ck_assert_msg(strcmp(json_string_value(json_object_get(j, "result")), "success") == 0,
	    "%s: %s", req, ans);
	free(ans);
	return j;
}

/* session-get's NAME as an integer (booleans as 0/1). */
static int64_t
settings_rpc_get(struct rpc_handler *h, const char *name)
{
	json_t *j = settings_rpc(h, "{\"method\":\"session-get\"}");
	json_t *v = json_object_get(json_object_get(j, "arguments"), name);
	ck_assert_msg(v != NULL, "session-get has no %s", name);
	int64_t n = json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);
	json_decref(j);
	return n;
}

static bool
settings_file_has(const char *path, const char *want)
{
	uint8_t *buf;
	size_t len;
	if (dp_read_file(path, 1u << 16, &buf, &len) < 0)
		return false;
	bool has = memmem(buf, len, want, strlen(want)) != NULL;
	free(buf);
	return has;
}

/*
 * Issue 9: a rate limit loaded by SIGHUP showed as 0 in session-get (while enabled), and the
 * next session-set of the other direction dropped it. One live copy of the settings now: what
 * SIGHUP loads the RPC reads, what the RPC sets a SIGHUP keeps, and each survives the other.
 */
START_TEST(test_sighup_and_rpc_agree)
{
	char dir[128], err[256];
	th_tmpdir_make(dir, sizeof dir, "settings");
	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 1);
	char *sdir = xasprintf("%s/session", dir);
	char *path = xasprintf("%s/%s", sdir, SETTINGS_FILE_NAME);
	ck_assert_msg(session_store_open(e, sdir, NULL, err, sizeof err) == 0, "%s", err);
	struct rpc_handler *h = rpc_handler_new(e, NULL);
	struct engine_global_stats g;

	/* SIGHUP loads a download limit: session-get shows it, on. */
	struct dp_config cfg;
	config_defaults(&cfg);
	cfg.download_rate_limit = 300000;
	engine_apply_config(e, &cfg);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-down"), 300);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-down-enabled"), 1);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-up-enabled"), 0);

	/* The RPC limits the other direction: the SIGHUP limit stays. */
	json_decref(settings_rpc(h, "{\"method\":\"session-set\",\"arguments\":"
	    "{\"speed-limit-up\":50,\"speed-limit-up-enabled\":true}}"));
	engine_global(e, &g);
	ck_assert_uint_eq(g.down_limit, 300000);
	ck_assert_uint_eq(g.up_limit, 50000);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-down"), 300);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-down-enabled"), 1);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-up"), 50);

	/* The next SIGHUP: the file's download limit follows the file, the RPC's upload limit
	 * (a run-time change, kept in settings.conf) wins over it. */
	cfg.download_rate_limit = 400000;
	cfg.upload_rate_limit = 7000;
	engine_apply_config(e, &cfg);
	engine_global(e, &g);
	ck_assert_uint_eq(g.down_limit, 400000);
	ck_assert_uint_eq(g.up_limit, 50000);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-down"), 400);

	/* Switched off by the RPC, the value stays and comes back when switched on. */
	json_decref(settings_rpc(h, "{\"method\":\"session-set\",\"arguments\":"
	    "{\"speed-limit-down-enabled\":false}}"));
	engine_global(e, &g);
	ck_assert_uint_eq(g.down_limit, 0);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-down"), 400);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-down-enabled"), 0);
	engine_apply_config(e, &cfg);              /* a SIGHUP does not switch it back on */
	engine_global(e, &g);
	ck_assert_uint_eq(g.down_limit, 0);
	json_decref(settings_rpc(h, "{\"method\":\"session-set\",\"arguments\":"
	    "{\"speed-limit-down-enabled\":true}}"));
	engine_global(e, &g);
	ck_assert_uint_eq(g.down_limit, 400000);

	/* settings.conf keeps the value and its switch apart, as Transmission does. */
	RUN_UNTIL(base, settings_file_has(path, "upload_rate_limit = \"50000\"") &&
	    settings_file_has(path, "download_rate_limit_enabled = \"true\""), 10);
	ck_assert(settings_file_has(path, "upload_rate_limit_enabled = \"true\""));
	ck_assert(!settings_file_has(path, "download_rate_limit ="));
	rpc_handler_free(h);
	engine_free(e);

	/* A restart with the same file: the same limits. */
	e = th_engine_loopback(base, dir, 1);
	ck_assert_msg(session_store_open(e, sdir, &cfg, err, sizeof err) == 0, "%s", err);
	engine_global(e, &g);
	ck_assert_uint_eq(g.down_limit, 400000);
	ck_assert_uint_eq(g.up_limit, 50000);
	h = rpc_handler_new(e, NULL);
	ck_assert_int_eq(settings_rpc_get(h, "speed-limit-up"), 50);
	rpc_handler_free(h);
	engine_free(e);

	config_free(&cfg);
	free(path);
	free(sdir);
	event_base_free(base);
	th_rm_rf(dir);
	task_registry_clear();
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
	tc = tcase_create("live");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sighup_and_rpc_agree);
	suite_add_tcase(s, tc);
	return s;
}
