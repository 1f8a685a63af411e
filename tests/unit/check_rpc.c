/* check_rpc.c: the Transmission-compatible RPC: base64, the JSON handler against a real engine
 * (methods, ids, fields, table format, JSON-RPC 2.0, bad input), and the HTTP server in process
 * (409 handshake, 401, Host whitelist, 413, 404, tasks). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>
#include <jansson.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "bencode.h"
#include "disk.h"
#include "dp_config.h"
#include "engine.h"
#include "rpc.h"
#include "rpc_private.h"
#include "session_store.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "util.h"

#define T_PIECE 16384u
#define T_FILE_A 40000u
#define T_FILE_B 30000u

static char tmpdir[64];
static struct event_base *base;
static struct engine *eng;

static void
rpc_setup(void)
{
	th_tmpdir_make(tmpdir, sizeof tmpdir, "rpc");
	evthread_use_pthreads();
	base = event_base_new();
	eng = th_engine_loopback(base, tmpdir, 1);
}

static void
rpc_teardown(void)
{
	engine_free(eng);
	event_base_free(base);
	th_rm_rf(tmpdir);
	task_registry_clear();
}

/* Runs the loop for about ms milliseconds. */
static void
spin(unsigned ms)
{
	th_loop_run(base, ms);
}

/* A two-file torrent "pair" (a.bin, b.bin) whose data nobody has; name varies the hash. */
static char *
make_torrent_b64(const char *name)
{
	size_t total = T_FILE_A + T_FILE_B;
	uint8_t *data = xcalloc(1, total);
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "comment");
	be_enc_cstr(&b, "rpc test");
	be_enc_cstr(&b, "created by");
	be_enc_cstr(&b, "check_rpc 1.0");
	be_enc_cstr(&b, "creation date");
	be_enc_int(&b, 1700000000);
	be_enc_cstr(&b, "info");
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "files");
	be_enc_list_begin(&b);
	const char *names[2] = { "a.bin", "b.bin" };
	const uint32_t sizes[2] = { T_FILE_A, T_FILE_B };
	for (int i = 0; i < 2; i++) {
		be_enc_dict_begin(&b);
		be_enc_cstr(&b, "length");
		be_enc_int(&b, sizes[i]);
		be_enc_cstr(&b, "path");
		be_enc_list_begin(&b);
		be_enc_cstr(&b, names[i]);
		be_enc_end(&b);
		be_enc_end(&b);
	}
	be_enc_end(&b);
	be_enc_cstr(&b, "name");
	be_enc_cstr(&b, name);
	be_enc_cstr(&b, "piece length");
	be_enc_int(&b, T_PIECE);
	be_enc_cstr(&b, "pieces");
	uint32_t npieces = (uint32_t)((total + T_PIECE - 1) / T_PIECE);
	uint8_t *hashes = xmalloc(20 * npieces);
	for (uint32_t i = 0; i < npieces; i++)
		disk_sha1(data + i * T_PIECE, DP_MIN(T_PIECE, total - i * T_PIECE), hashes + 20 * i);
	be_enc_str(&b, hashes, 20 * npieces);
	be_enc_end(&b);
	be_enc_end(&b);
	free(hashes);
	free(data);
	char *out = rpc_base64_encode(b.data, b.len);
	dp_buf_free(&b);
	return out;
}

/* Runs one request through the handler and parses the answer. */
static json_t *
call(struct rpc_handler *h, const char *req)
{
	char *ans = rpc_handler_run(h, req, strlen(req), NULL, 0);
	json_error_t jerr;
	json_t *j = json_loads(ans, 0, &jerr);
	ck_assert_msg(j != NULL, "answer is not JSON: %s", ans);
	free(ans);
	return j;
}

static const char *
result_of(json_t *j)
{
	json_t *r = json_object_get(j, "result");
	return json_is_string(r) ? json_string_value(r) : "(none)";
}

static json_t *
first_torrent(json_t *j)
{
	json_t *list = json_object_get(json_object_get(j, "arguments"), "torrents");
	ck_assert(json_is_array(list));
	ck_assert_uint_ge(json_array_size(list), 1);
	return json_array_get(list, 0);
}

/* ---- base64 ---- */

START_TEST(test_base64)
{
	const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		char *e = rpc_base64_encode((const unsigned char *)plain[i], strlen(plain[i]));
		ck_assert_str_eq(e, coded[i]);
		free(e);
		size_t n;
		unsigned char *d = rpc_base64_decode(coded[i], strlen(coded[i]), &n);
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(n, strlen(plain[i]));
		ck_assert(memcmp(d, plain[i], n) == 0);
		free(d);
	}
	size_t n;
	unsigned char *d = rpc_base64_decode("Zm9v\nYmFy\r\n", 11, &n);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(n, 6);
	free(d);
	ck_assert_ptr_null(rpc_base64_decode("Zm9v!", 5, &n));
	ck_assert_ptr_null(rpc_base64_decode("Zg==Zg", 6, &n));   /* data after padding */
	ck_assert_ptr_null(rpc_base64_decode("Z", 1, &n));        /* 6 bits are no byte */
	ck_assert_ptr_null(rpc_base64_decode("Zm9v\0Zm9v", 9, &n));
}
END_TEST

/* ---- the handler ---- */

START_TEST(test_session_get)
{
	struct rpc_handler *h = rpc_handler_new(eng, "/tmp/session");
	json_t *j = call(h, "{\"method\":\"session-get\",\"tag\":7}");
	ck_assert_str_eq(result_of(j), "success");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "tag")), 7);
	json_t *a = json_object_get(j, "arguments");
	ck_assert_int_ge(json_integer_value(json_object_get(a, "rpc-version")), 15);
	ck_assert_str_eq(json_string_value(json_object_get(a, "download-dir")), tmpdir);
	ck_assert_str_eq(json_string_value(json_object_get(a, "config-dir")), "/tmp/session");
	ck_assert(json_is_integer(json_object_get(a, "peer-port")));
	ck_assert(json_is_boolean(json_object_get(a, "speed-limit-down-enabled")));
	json_decref(j);

	j = call(h, "{\"method\":\"session-get\",\"arguments\":{\"fields\":[\"version\","
	    "\"peer-port\"]}}");
	a = json_object_get(j, "arguments");
	ck_assert_uint_eq(json_object_size(a), 2);
	/* Sonarr and Radarr take the first number not in parentheses and refuse below 2.40. */
	const char *ver = json_string_value(json_object_get(a, "version"));
	ck_assert_ptr_nonnull(ver);
	ck_assert_double_ge(strtod(ver, NULL), 2.40);
	ck_assert(strstr(ver, "(downpour " PACKAGE_VERSION ")") != NULL);
	json_decref(j);
	j = call(h, "{\"method\":\"session-get\"}");
	a = json_object_get(j, "arguments");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "rpc-version")), 17);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "rpc-version-minimum")), 14);
	json_decref(j);
	rpc_handler_free(h);
}
END_TEST

/* A request that is not JSON gets a result naming the error, whatever bytes jansson quotes
 * from it: a backslash before a two-byte UTF-8 character made jansson's text end in half of it,
 * and the answer came back without "result" (found by fuzz_rpc). */
START_TEST(test_bad_json_answered)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	static const char *const bad[] = { "{nope", "{\"a\":\"\\\xc3\xa9\"}",
	    "{\"method\":\"x\",\"arguments\":{\"a\":\"a\\\xd8\x9d\xdd\xd3\"}}" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *j = call(h, bad[i]);
		ck_assert_msg(strstr(result_of(j), "invalid JSON") != NULL, "%s: %s", bad[i],
		    result_of(j));
		json_decref(j);
	}
	rpc_handler_free(h);
}
END_TEST

/* Issue 18: a limit switched on alone (its value never set) reads back on, with Transmission's
 * default of 100 kB/s, and applies; the web client's checkbox flipped back off. */
START_TEST(test_limit_enabled_alone)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	json_t *j = call(h, "{\"method\":\"session-get\"}");
	json_t *a = json_object_get(j, "arguments");
	ck_assert(json_is_false(json_object_get(a, "speed-limit-down-enabled")));
	ck_assert_int_eq(json_integer_value(json_object_get(a, "speed-limit-down")), 100);
	json_decref(j);
	j = call(h, "{\"method\":\"session-set\",\"arguments\":{\"speed-limit-down-enabled\":true}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"session-get\"}");
	a = json_object_get(j, "arguments");
	ck_assert(json_is_true(json_object_get(a, "speed-limit-down-enabled")));
	ck_assert_int_eq(json_integer_value(json_object_get(a, "speed-limit-down")), 100);
	json_decref(j);
	struct engine_global_stats g;
	engine_global(eng, &g);
	ck_assert_uint_eq(g.down_limit, 100000);
	rpc_handler_free(h);
}
END_TEST

/* The web client's paths: inside the root or refused. */
START_TEST(test_web_path)
{
	static const struct {
		const char *raw, *want;   /* want NULL: refused */
	} cases[] = {
		{ "", "index.html" },
		{ "javascript/transmission.js?_=1", "javascript/transmission.js" },
		{ "style/", "style/index.html" },
		{ "a%20b.png", "a b.png" },
		{ "..", NULL }, { "../x", NULL }, { "a/../../x", NULL }, { "%2e%2e/x", NULL },
		{ "./x", NULL }, { ".hidden", NULL }, { "a//b", NULL }, { "/etc/passwd", NULL },
		{ "%2Fetc", NULL }, { "a%00b", NULL }, { "a%5c..%5cb", NULL }, { "a%0ab", NULL },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(cases); i++) {
		char *got = rpc_web_path(cases[i].raw);
		if (cases[i].want == NULL)
			ck_assert_msg(got == NULL, "%s: accepted as %s", cases[i].raw, got);
		else
			ck_assert_msg(got != NULL && strcmp(got, cases[i].want) == 0, "%s: %s",
			    cases[i].raw, got ? got : "(refused)");
		free(got);
	}
}
END_TEST

/* /metrics: Prometheus' text format, every sample line NAME{LABELS} VALUE, torrent states from
 * the kept counts. */
START_TEST(test_metrics_text)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	char *b64 = make_torrent_b64("metrics");
	char req[4096];
	snprintf(req, sizeof req, "{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":"
	    "\"%s\",\"paused\":true}}", b64);
	free(b64);
	json_decref(call(h, req));
	size_t len;
	char *text = rpc_metrics_text(eng, &len);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert(strstr(text, "\ndownpour_torrents{state=\"stopped\"} 1\n") != NULL);
	ck_assert(strstr(text, "\ndownpour_torrents{state=\"downloading\"} 0\n") != NULL);
	ck_assert(strstr(text, "# TYPE downpour_loop_lag_seconds gauge\n") != NULL);
	/* the worst callback by wall time apart from the one with the most CPU */
	ck_assert(strstr(text, "\ndownpour_loop_slowest_callback_cpu_seconds ") != NULL);
	ck_assert(strstr(text, "\ndownpour_loop_heaviest_callback_cpu_seconds ") != NULL);
	for (char *line = text; *line != '\0';) {
		char *end = strchr(line, '\n');
		ck_assert_ptr_nonnull(end);
		if (line[0] != '#') {
			char *sp = memchr(line, ' ', (size_t)(end - line));
			ck_assert_ptr_nonnull(sp);
			char *num_end;
			strtod(sp + 1, &num_end);
			ck_assert_msg(num_end == end, "%.*s", (int)(end - line), line);
		}
		line = end + 1;
	}
	free(text);
	rpc_handler_free(h);
}
END_TEST

/* Settings downpour does not have answer an error when a client changes them, and success
 * when it sends back the value it was shown; nothing changes either way. */
START_TEST(test_session_set_refuses)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	static const char *const refused[] = {
		"\"rename-partial-files\":true", "\"incomplete-dir-enabled\":true",
		"\"script-torrent-done-enabled\":true",
		"\"script-torrent-done-filename\":\"/bin/true\"",
		"\"peer-port-random-on-start\":true",
		"\"queue-stalled-enabled\":true", "\"trash-original-torrent-files\":true",
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(refused); i++) {
		char req[256];
		snprintf(req, sizeof req, "{\"method\":\"session-set\",\"arguments\":{"
		    "\"peer-limit-global\":61,%s}}", refused[i]);
		json_t *j = call(h, req);
		ck_assert_msg(strstr(result_of(j), "cannot be changed") != NULL, "%s: %s",
		    refused[i], result_of(j));
		json_decref(j);
	}
	struct engine_global_stats g;
	engine_global(eng, &g);
	ck_assert_int_ne(g.max_connections, 61);      /* nothing of a refused request applies */
	json_t *j = call(h, "{\"method\":\"session-set\",\"arguments\":{"
	    "\"rename-partial-files\":false,\"pex-enabled\":true,\"peer-limit-global\":61}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	engine_global(eng, &g);
	ck_assert_int_eq(g.max_connections, 61);

	/* Peer exchange is the pex key (issue 11, finding 4: it was always on and session-set
	 * refused to switch it off). */
	j = call(h, "{\"method\":\"session-set\",\"arguments\":{\"pex-enabled\":false}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	engine_global(eng, &g);
	ck_assert(!g.pex);
	j = call(h, "{\"method\":\"session-get\",\"arguments\":{\"fields\":[\"pex-enabled\"]}}");
	ck_assert(json_is_false(json_object_get(json_object_get(j, "arguments"), "pex-enabled")));
	json_decref(j);
	j = call(h, "{\"method\":\"session-set\",\"arguments\":{\"pex-enabled\":true}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	engine_global(eng, &g);
	ck_assert(g.pex);

	/* Port forwarding is a real setting now: shown from port_mapping and set through it
	 * (switched on only in tests/interop/portmap_miniupnpd.sh: it talks to gateways). */
	j = call(h, "{\"method\":\"session-set\",\"arguments\":{"
	    "\"port-forwarding-enabled\":\"yes\"}}");
	ck_assert(strstr(result_of(j), "port-forwarding-enabled") != NULL);
	json_decref(j);
	j = call(h, "{\"method\":\"session-set\",\"arguments\":{"
	    "\"port-forwarding-enabled\":false}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"session-get\",\"arguments\":{\"fields\":["
	    "\"port-forwarding-enabled\"]}}");
	ck_assert(json_is_false(json_object_get(json_object_get(j, "arguments"),
	    "port-forwarding-enabled")));
	json_decref(j);

	/* port-test cannot be answered from here and says so; session-close needs a daemon. */
	j = call(h, "{\"method\":\"port-test\"}");
	ck_assert(strstr(result_of(j), "cannot test") != NULL);
	json_decref(j);
	j = call(h, "{\"method\":\"session-close\"}");
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	rpc_handler_free(h);
}
END_TEST

static int session_closed;

static void
close_cb(void *arg)
{
	(void)arg;
	session_closed++;
}

START_TEST(test_session_close)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	rpc_handler_set_close_cb(h, close_cb, NULL);
	json_t *j = call(h, "{\"method\":\"session-close\"}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	ck_assert_int_eq(session_closed, 1);
	rpc_handler_free(h);
}
END_TEST

START_TEST(test_session_set)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	json_t *j = call(h, "{\"method\":\"session-set\",\"arguments\":{\"speed-limit-down\":120,"
	    "\"speed-limit-down-enabled\":true,\"speed-limit-up\":40,\"peer-limit-global\":77}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	struct engine_global_stats g;
	engine_global(eng, &g);
	ck_assert_uint_eq(g.down_limit, 120000);
	ck_assert_uint_eq(g.up_limit, 0);          /* the limit is stored, not enabled */
	ck_assert_int_eq(g.max_connections, 77);

	/* Enabling later uses the stored value; session-get reads both back. */
	json_decref(call(h, "{\"method\":\"session-set\",\"arguments\":"
	    "{\"speed-limit-up-enabled\":true,\"speed-limit-down-enabled\":false}}"));
	engine_global(eng, &g);
	ck_assert_uint_eq(g.up_limit, 40000);
	ck_assert_uint_eq(g.down_limit, 0);
	j = call(h, "{\"method\":\"session-get\"}");
	json_t *a = json_object_get(j, "arguments");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "speed-limit-down")), 120);
	ck_assert(json_is_false(json_object_get(a, "speed-limit-down-enabled")));
	ck_assert(json_is_true(json_object_get(a, "speed-limit-up-enabled")));
	json_decref(j);

	char req[512];
	snprintf(req, sizeof req, "{\"method\":\"session-set\",\"arguments\":{\"download-dir\":"
	    "\"%s/new\"}}", tmpdir);
	j = call(h, req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	engine_global(eng, &g);
	ck_assert(strstr(g.download_dir, "/new") != NULL);

	/* Wrong types and ranges change nothing. */
	j = call(h, "{\"method\":\"session-set\",\"arguments\":{\"speed-limit-down\":\"fast\"}}");
	ck_assert(strstr(result_of(j), "must be an integer") != NULL);
	json_decref(j);
	j = call(h, "{\"method\":\"session-set\",\"arguments\":{\"peer-limit-global\":-5}}");
	ck_assert(strstr(result_of(j), "out of range") != NULL);
	json_decref(j);
	j = call(h, "{\"method\":\"session-set\",\"arguments\":{\"download-dir\":\"relative\"}}");
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	engine_global(eng, &g);
	ck_assert_int_eq(g.max_connections, 77);
	rpc_handler_free(h);
}
END_TEST

START_TEST(test_bad_requests)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	const char *bad[] = {
		"", "{", "[]", "null", "42", "{\"method\":5}", "{\"arguments\":{}}",
		"{\"method\":\"torrent-get\",\"arguments\":[]}",
		"{\"method\":\"torrent-get\",\"arguments\":{\"ids\":{}}}",
		"{\"method\":\"torrent-get\",\"arguments\":{\"ids\":\"nope\"}}",
		"{\"method\":\"torrent-get\",\"arguments\":{\"fields\":\"name\"}}",
		"{\"method\":\"torrent-get\",\"arguments\":{\"format\":\"xml\"}}",
		"{\"method\":\"torrent-add\",\"arguments\":{}}",
		"{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"!!!\"}}",
		"{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"Zm9v\"}}",
		"{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":7}}",
		"{\"method\":\"torrent-remove\",\"arguments\":{\"delete-local-data\":\"yes\"}}",
		"{\"method\":\"free-space\",\"arguments\":{}}",
		"{\"method\":\"free-space\",\"arguments\":{\"path\":\"/no/such/dir\"}}",
		"{\"method\":\"a\",\"method\":\"b\"}",
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(bad); i++) {
		json_t *j = call(h, bad[i]);
		ck_assert_msg(strcmp(result_of(j), "success") != 0, "accepted: %s", bad[i]);
		ck_assert(json_is_object(json_object_get(j, "arguments")));
		json_decref(j);
	}
	json_t *j = call(h, "{\"method\":\"no-such-method\",\"tag\":3}");
	ck_assert(strstr(result_of(j), "method name not recognized") != NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "tag")), 3);
	json_decref(j);
	/* An unknown id is not an error (Transmission ignores it). */
	j = call(h, "{\"method\":\"torrent-stop\",\"arguments\":{\"ids\":[999]}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	char fsreq[256];
	snprintf(fsreq, sizeof fsreq, "{\"method\":\"free-space\",\"arguments\":{\"path\":"
	    "\"%s\"}}", tmpdir);
	j = call(h, fsreq);
	ck_assert_str_eq(result_of(j), "success");
	ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(j, "arguments"),
	    "size-bytes")), 0);
	json_decref(j);
	rpc_handler_free(h);
}
END_TEST

/* session-stats' three torrent counts. */
static void
stats_counts(struct rpc_handler *h, int total, int active, int paused)
{
	json_t *j = call(h, "{\"method\":\"session-stats\"}");
	json_t *a = json_object_get(j, "arguments");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "torrentCount")), total);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "activeTorrentCount")), active);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "pausedTorrentCount")), paused);
	json_decref(j);
}

START_TEST(test_torrent_lifecycle)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	char *b64 = make_torrent_b64("pair");
	char *req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\","
	    "\"paused\":true,\"files-unwanted\":[1]},\"tag\":1}", b64);
	json_t *j = call(h, req);
	ck_assert_str_eq(result_of(j), "success");
	json_t *added = json_object_get(json_object_get(j, "arguments"), "torrent-added");
	ck_assert(json_is_object(added));
	int id = (int)json_integer_value(json_object_get(added, "id"));
	ck_assert_int_gt(id, 0);
	ck_assert_str_eq(json_string_value(json_object_get(added, "name")), "pair");
	char hash[41];
	snprintf(hash, sizeof hash, "%s", json_string_value(json_object_get(added, "hashString")));
	json_decref(j);

	/* The same again is a duplicate, not an error. */
	j = call(h, req);
	ck_assert_str_eq(result_of(j), "success");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(j,
	    "arguments"), "torrent-duplicate"), "id")), id);
	json_decref(j);
	free(req);

	/* transmission-remote -l's fields, selected by hash. */
	req = xasprintf("{\"method\":\"torrent-get\",\"arguments\":{\"ids\":[\"%s\"],\"fields\":"
	    "[\"id\",\"name\",\"status\",\"sizeWhenDone\",\"leftUntilDone\",\"eta\",\"rateDownload\","
	    "\"uploadRatio\",\"isFinished\",\"error\",\"errorString\",\"wanted\",\"priorities\","
	    "\"files\",\"fileStats\",\"totalSize\",\"pieces\",\"pieceCount\",\"comment\","
	    "\"magnetLink\",\"creator\",\"dateCreated\",\"secondsDownloading\",\"secondsSeeding\","
	    "\"startDate\",\"nonsense\"]}}", hash);
	j = call(h, req);
	free(req);
	json_t *t = first_torrent(j);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "id")), id);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "status")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "totalSize")), T_FILE_A + T_FILE_B);
	/* Whole pieces: a.bin's three, the third shared with b.bin. */
	ck_assert_int_eq(json_integer_value(json_object_get(t, "sizeWhenDone")), 3 * T_PIECE);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "leftUntilDone")), 3 * T_PIECE);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "eta")), -1);
	ck_assert(json_is_real(json_object_get(t, "uploadRatio")));
	ck_assert(json_is_false(json_object_get(t, "isFinished")));
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(t, "wanted"), 0)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(t, "wanted"), 1)), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(t, "files")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(t,
	    "files"), 1), "name")), "pair/b.bin");
	ck_assert_str_eq(json_string_value(json_object_get(t, "comment")), "rpc test");
	ck_assert_str_eq(json_string_value(json_object_get(t, "pieces")), "AA==");  /* 5 pieces */
	ck_assert(strncmp(json_string_value(json_object_get(t, "magnetLink")),
	    "magnet:?xt=urn:btih:", 20) == 0);
	ck_assert_ptr_null(json_object_get(t, "nonsense"));
	ck_assert_str_eq(json_string_value(json_object_get(t, "creator")), "check_rpc 1.0");
	ck_assert_int_eq(json_integer_value(json_object_get(t, "dateCreated")), 1700000000);
	/* Without a session directory nothing counts these. */
	ck_assert(json_is_integer(json_object_get(t, "secondsDownloading")));
	ck_assert_int_eq(json_integer_value(json_object_get(t, "secondsSeeding")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "startDate")), 0);
	json_decref(j);

	/* Files: want b, make a high priority, then the table format. */
	char buf[512];
	snprintf(buf, sizeof buf, "{\"method\":\"torrent-set\",\"arguments\":{\"ids\":%d,"
	    "\"files-wanted\":[1],\"priority-high\":[0],\"downloadLimit\":50,"
	    "\"downloadLimited\":true}}", id);
	j = call(h, buf);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	snprintf(buf, sizeof buf, "{\"method\":\"torrent-set\",\"arguments\":{\"ids\":%d,"
	    "\"files-wanted\":[5]}}", id);
	j = call(h, buf);
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"format\":\"table\",\"fields\":"
	    "[\"id\",\"priorities\",\"wanted\",\"downloadLimit\",\"downloadLimited\"]}}");
	json_t *rows = json_object_get(json_object_get(j, "arguments"), "torrents");
	ck_assert_uint_eq(json_array_size(rows), 2);
	ck_assert_str_eq(json_string_value(json_array_get(json_array_get(rows, 0), 1)),
	    "priorities");
	json_t *row = json_array_get(rows, 1);
	ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(row, 1), 0)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(row, 2), 1)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(row, 3)), 50);
	ck_assert(json_is_true(json_array_get(row, 4)));
	json_decref(j);

	/* Start: it checks, then downloads (no peers). */
	snprintf(buf, sizeof buf, "{\"method\":\"torrent-start\",\"arguments\":{\"ids\":[%d]}}",
	    id);
	json_decref(call(h, buf));
	int status = -1;
	for (int i = 0; i < 50 && status != 4; i++) {
		spin(50);
		snprintf(buf, sizeof buf, "{\"method\":\"torrent-get\",\"arguments\":{\"ids\":%d,"
		    "\"fields\":[\"status\"]}}", id);
		j = call(h, buf);
		status = (int)json_integer_value(json_object_get(first_torrent(j), "status"));
		json_decref(j);
	}
	ck_assert_int_eq(status, 4);
	stats_counts(h, 1, 1, 0);
	/* recently-active: just added, so listed. */
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"ids\":\"recently-active\","
	    "\"fields\":[\"id\"]}}");
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "arguments"),
	    "torrents")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "arguments"),
	    "removed")), 0);
	json_decref(j);

	snprintf(buf, sizeof buf, "{\"method\":\"torrent-stop\",\"arguments\":{\"ids\":%d}}", id);
	json_decref(call(h, buf));
	snprintf(buf, sizeof buf, "{\"method\":\"torrent-get\",\"arguments\":{\"ids\":%d,"
	    "\"fields\":[\"status\"]}}", id);
	j = call(h, buf);
	ck_assert_int_eq(json_integer_value(json_object_get(first_torrent(j), "status")), 0);
	json_decref(j);
	stats_counts(h, 1, 0, 1);

	snprintf(buf, sizeof buf, "{\"method\":\"torrent-remove\",\"arguments\":{\"ids\":%d,"
	    "\"delete-local-data\":false}}", id);
	j = call(h, buf);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"ids\":\"recently-active\","
	    "\"fields\":[\"id\"]}}");
	json_t *removed = json_object_get(json_object_get(j, "arguments"), "removed");
	ck_assert_uint_eq(json_array_size(removed), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(removed, 0)), id);
	json_decref(j);
	j = call(h, "{\"method\":\"session-stats\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "arguments"),
	    "torrentCount")), 0);
	ck_assert(json_is_object(json_object_get(json_object_get(j, "arguments"),
	    "current-stats")));
	json_decref(j);
	free(b64);
	rpc_handler_free(h);
}
END_TEST

START_TEST(test_jsonrpc)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	json_t *j = call(h, "{\"jsonrpc\":\"2.0\",\"method\":\"session_get\",\"params\":"
	    "{\"fields\":[\"rpc_version\",\"peer_port\"]},\"id\":\"x1\"}");
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "x1");
	json_t *r = json_object_get(j, "result");
	ck_assert(json_is_integer(json_object_get(r, "rpc_version")));
	ck_assert(json_is_integer(json_object_get(r, "peer_port")));
	json_decref(j);
	j = call(h, "{\"jsonrpc\":\"2.0\",\"method\":\"torrent_frobnicate\",\"id\":2}");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
	    -32601);
	json_decref(j);
	j = call(h, "{\"jsonrpc\":\"2.0\",\"method\":\"torrent_get\",\"params\":"
	    "{\"fields\":[\"rate_download\"],\"ids\":{}},\"id\":3}");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
	    -32602);
	json_decref(j);
	/* A notification gets no answer. */
	const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"session_stats\"}";
	char *ans = rpc_handler_run(h, note, strlen(note), NULL, 0);
	ck_assert_str_eq(ans, "");
	free(ans);
	rpc_handler_free(h);
}
END_TEST

/* rpc_handler_run_async: free-space and torrent-add by filename answer from the disk pool's
 * completion, on the loop thread, never before the handler returns; the work shows as a task. */
struct async_answer {
	int count;
	int wrong_thread;
	pthread_t loop;
	char *answer;
	char method[64];
};

static void
async_answer_cb(char *answer, const char *method, void *arg)
{
	struct async_answer *a = arg;
	if (!pthread_equal(pthread_self(), a->loop))
		a->wrong_thread++;
	a->count++;
	free(a->answer);
	a->answer = answer;
	snprintf(a->method, sizeof a->method, "%s", method);
}

static json_t *
call_async(struct rpc_handler *h, const char *req, struct async_answer *a, const char *task_name)
{
	a->count = 0;
	a->loop = pthread_self();
	rpc_handler_run_async(h, req, strlen(req), async_answer_cb, a);
	ck_assert_int_eq(a->count, 0);
	bool seen = false;
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t))
		if (strcmp(t->name, task_name) == 0 && t->kind == DP_TASK_KIND_DISK)
			seen = true;
	ck_assert_msg(seen, "no task named %s", task_name);
	for (int i = 0; i < 500 && a->count == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(a->count, 1);
	ck_assert_int_eq(a->wrong_thread, 0);
	json_error_t jerr;
	json_t *j = json_loads(a->answer, 0, &jerr);
	ck_assert_msg(j != NULL, "answer is not JSON: %s", a->answer);
	return j;
}

START_TEST(test_async_fs)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	struct async_answer a = { 0 };
	char *req = xasprintf("{\"method\":\"free-space\",\"arguments\":{\"path\":\"%s\"},"
	    "\"tag\":5}", tmpdir);
	char *name = xasprintf("disk rpc free-space: statvfs %s", tmpdir);
	json_t *j = call_async(h, req, &a, name);
	ck_assert_str_eq(result_of(j), "success");
	ck_assert_str_eq(a.method, "free-space");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "tag")), 5);
	json_t *args = json_object_get(j, "arguments");
	ck_assert_int_gt(json_integer_value(json_object_get(args, "size-bytes")), 0);
	ck_assert_int_ge(json_integer_value(json_object_get(args, "total_size")),
	    json_integer_value(json_object_get(args, "size-bytes")));
	json_decref(j);
	free(req);
	free(name);

	/* A missing directory: the error names it. */
	j = call_async(h, "{\"method\":\"free-space\",\"arguments\":{\"path\":\"/no/such/dp\"}}",
	    &a, "disk rpc free-space: statvfs /no/such/dp");
	ck_assert_ptr_nonnull(strstr(result_of(j), "/no/such/dp"));
	json_decref(j);

	/* torrent-add reads the named file on the pool; JSON-RPC's id comes back. */
	char *b64 = make_torrent_b64("fromfile");
	size_t len;
	unsigned char *raw = rpc_base64_decode(b64, strlen(b64), &len);
	char *path = xasprintf("%s/x.torrent", tmpdir);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(raw, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	req = xasprintf("{\"jsonrpc\":\"2.0\",\"method\":\"torrent_add\",\"params\":"
	    "{\"filename\":\"%s\",\"paused\":true},\"id\":9}", path);
	name = xasprintf("disk rpc torrent-add: reading %s", path);
	j = call_async(h, req, &a, name);
	json_t *added = json_object_get(json_object_get(j, "result"), "torrent_added");
	ck_assert_msg(json_is_object(added), "%s", a.answer);
	ck_assert_str_eq(json_string_value(json_object_get(added, "name")), "fromfile");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), 9);
	json_decref(j);
	free(req);
	free(name);

	/* A file that is not a torrent: refused with its path. */
	req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"filename\":\"%s/nope\"}}",
	    tmpdir);
	name = xasprintf("disk rpc torrent-add: reading %s/nope", tmpdir);
	j = call_async(h, req, &a, name);
	ck_assert_ptr_nonnull(strstr(result_of(j), "/nope: "));
	json_decref(j);
	free(req);
	free(name);

	/* Freed with a call in flight: told once with no answer; the job still completes. */
	req = xasprintf("{\"method\":\"free-space\",\"arguments\":{\"path\":\"%s\"}}", tmpdir);
	a.count = 0;
	rpc_handler_run_async(h, req, strlen(req), async_answer_cb, &a);
	ck_assert_int_eq(a.count, 0);
	rpc_handler_free(h);
	ck_assert_int_eq(a.count, 1);
	ck_assert_ptr_null(a.answer);
	spin(200);
	ck_assert_int_eq(a.count, 1);
	free(req);
	free(path);
	free(raw);
	free(b64);
	free(a.answer);
}
END_TEST

/* The download-dir of session-set and the location of torrent-set-location are checked on the
 * disk pool (realpath waits as long as a hung mount does), the answer deferred until then: a link
 * out of the allowed directories is still refused there and changes nothing; inside, the change
 * is made when the answer comes. A bad other argument is refused at once, with no job. */
static bool wait_location(struct rpc_handler *h, const char *dir, double want);

START_TEST(test_async_paths)
{
	char *sdir = xasprintf("%s/session", tmpdir);
	char err[256];
	ck_assert_msg(session_store_open(eng, sdir, NULL, err, sizeof err) == 0, "%s", err);
	free(sdir);
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	struct async_answer a = { 0 };
	char *outside = xasprintf("%s-away", tmpdir), *link = xasprintf("%s/away", tmpdir);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	ck_assert_int_eq(symlink(outside, link), 0);
	char *b64 = make_torrent_b64("moves");
	char *req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\","
	    "\"paused\":true}}", b64);
	json_t *j = call(h, req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	free(req);

	/* Through the link: refused by the job, nothing changed. */
	req = xasprintf("{\"method\":\"session-set\",\"arguments\":{\"download-dir\":\"%s/sub\","
	    "\"speed-limit-up\":77}}", link);
	char *name = xasprintf("disk rpc session-set: checking download-dir %s/sub", link);
	j = call_async(h, req, &a, name);
	ck_assert_msg(strstr(result_of(j), "outside the directories") != NULL, "%s", a.answer);
	json_decref(j);
	free(req);
	free(name);
	struct engine_global_stats g;
	engine_global(eng, &g);
	ck_assert_str_eq(g.download_dir, tmpdir);
	ck_assert_int_ne(g.up_limit, 77000);
	req = xasprintf("{\"method\":\"torrent-set-location\",\"arguments\":{\"location\":\"%s\"}}",
	    link);
	name = xasprintf("disk rpc torrent-set-location: checking location %s", link);
	j = call_async(h, req, &a, name);
	ck_assert_msg(strstr(result_of(j), "outside the directories") != NULL, "%s", a.answer);
	json_decref(j);
	free(req);
	free(name);
	ck_assert(wait_location(h, tmpdir, 0.0));

	/* Inside: made once checked, the path as resolved. */
	req = xasprintf("{\"method\":\"session-set\",\"arguments\":{\"download-dir\":"
	    "\"%s/./new//dir\",\"speed-limit-up\":77}}", tmpdir);
	name = xasprintf("disk rpc session-set: checking download-dir %s/./new//dir", tmpdir);
	j = call_async(h, req, &a, name);
	ck_assert_msg(strcmp(result_of(j), "success") == 0, "%s", a.answer);
	json_decref(j);
	free(req);
	free(name);
	engine_global(eng, &g);
	char *want = xasprintf("%s/new/dir", tmpdir);
	ck_assert_str_eq(g.download_dir, want);
	free(want);
	req = xasprintf("{\"method\":\"torrent-set-location\",\"arguments\":{\"location\":"
	    "\"%s/new/dir/there\"}}", tmpdir);
	name = xasprintf("disk rpc torrent-set-location: checking location %s/new/dir/there",
	    tmpdir);
	j = call_async(h, req, &a, name);
	ck_assert_msg(strcmp(result_of(j), "success") == 0, "%s", a.answer);
	json_decref(j);
	free(req);
	free(name);
	want = xasprintf("%s/new/dir/there", tmpdir);
	ck_assert(wait_location(h, want, 0.0));
	free(want);

	/* A bad argument beside download-dir: the answer at once. */
	req = xasprintf("{\"method\":\"session-set\",\"arguments\":{\"download-dir\":\"%s\","
	    "\"peer-limit-global\":-5}}", tmpdir);
	a.count = 0;
	rpc_handler_run_async(h, req, strlen(req), async_answer_cb, &a);
	ck_assert_int_eq(a.count, 1);
	ck_assert_ptr_nonnull(strstr(a.answer, "peer-limit-global"));
	free(req);
	engine_global(eng, &g);
	ck_assert_str_ne(g.download_dir, tmpdir);

	rpc_handler_free(h);
	th_rm_rf(outside);
	free(outside);
	free(link);
	free(b64);
	free(a.answer);
}
END_TEST

START_TEST(test_sandbox)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	rpc_handler_set_sandbox(h, true);
	const char *reqs[] = {
		"{\"method\":\"torrent-add\",\"arguments\":{\"filename\":\"/etc/hostname\"}}",
		"{\"method\":\"session-set\",\"arguments\":{\"download-dir\":\"/tmp\"}}",
		"{\"method\":\"free-space\",\"arguments\":{\"path\":\"/tmp\"}}",
		"{\"method\":\"torrent-remove\",\"arguments\":{\"delete-local-data\":true}}",
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(reqs); i++) {
		json_t *j = call(h, reqs[i]);
		ck_assert_msg(strstr(result_of(j), "not accepted here") != NULL, "%s: %s", reqs[i],
		    result_of(j));
		json_decref(j);
	}
	rpc_handler_free(h);
}
END_TEST

/* Issue 11, findings 5 and 6: a client names only paths under the download, completed and
 * watch directories (here the download directory, tmpdir), links resolved, and a file that is
 * not a torrent is refused without quoting it. */
START_TEST(test_paths_confined)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	char *outside = xasprintf("%s-outside", tmpdir);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	char *link = xasprintf("%s/link", tmpdir);
	ck_assert_int_eq(symlink(outside, link), 0);
	th_file_write(outside, "x.torrent", "d4:infoi1ee", 11);
	th_file_write(tmpdir, "secret.txt", "rosebud: the sled", 17);
	char *b64 = make_torrent_b64("confined");
	const char *const dirs[] = { "/root/.ssh", "/tmp", "%s-outside", "%s/link",
		"%s/link/deeper", "%s/new/../../x", "%s/../x", "/", "relative" };
	for (size_t i = 0; i < DP_ARRAY_LEN(dirs); i++) {
		char dir[256], req[4096];
		snprintf(dir, sizeof dir, dirs[i], tmpdir);
		snprintf(req, sizeof req, "{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":"
		    "\"%s\",\"download-dir\":\"%s\",\"paused\":true}}", b64, dir);
		json_t *j = call(h, req);
		ck_assert_msg(strcmp(result_of(j), "success") != 0, "torrent-add to %s", dir);
		json_decref(j);
		snprintf(req, sizeof req, "{\"method\":\"session-set\",\"arguments\":{"
		    "\"download-dir\":\"%s\"}}", dir);
		j = call(h, req);
		ck_assert_msg(strcmp(result_of(j), "success") != 0, "session-set to %s", dir);
		json_decref(j);
		snprintf(req, sizeof req, "{\"method\":\"free-space\",\"arguments\":{"
		    "\"path\":\"%s\"}}", dir);
		j = call(h, req);
		ck_assert_msg(strcmp(result_of(j), "success") != 0, "free-space of %s", dir);
		json_decref(j);
		snprintf(req, sizeof req, "{\"method\":\"torrent-set-location\",\"arguments\":{"
		    "\"location\":\"%s\",\"move\":true}}", dir);
		j = call(h, req);
		ck_assert_msg(strcmp(result_of(j), "success") != 0, "torrent-set-location to %s", dir);
		json_decref(j);
	}
	struct engine_global_stats g;
	engine_global(eng, &g);
	ck_assert_str_eq(g.download_dir, tmpdir);
	json_t *j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"id\"]}}");
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "arguments"),
	    "torrents")), 0);
	json_decref(j);

	/* Files: outside (also through the link) refused; inside, no byte of a non-torrent. */
	const char *const files[] = { "/etc/hostname", "%s-outside/x.torrent",
		"%s/link/x.torrent" };
	for (size_t i = 0; i < DP_ARRAY_LEN(files); i++) {
		char path[256], req[512];
		snprintf(path, sizeof path, files[i], tmpdir);
		snprintf(req, sizeof req, "{\"method\":\"torrent-add\",\"arguments\":{"
		    "\"filename\":\"%s\"}}", path);
		j = call(h, req);
		ck_assert_msg(strstr(result_of(j), "outside the directories") != NULL, "%s: %s", path,
		    result_of(j));
		json_decref(j);
	}
	char req[512];
	snprintf(req, sizeof req, "{\"method\":\"torrent-add\",\"arguments\":{\"filename\":"
	    "\"%s/secret.txt\"}}", tmpdir);
	j = call(h, req);
	ck_assert_msg(strstr(result_of(j), "not a torrent file") != NULL, "%s", result_of(j));
	ck_assert_msg(strstr(result_of(j), "0x72") == NULL && strstr(result_of(j), "byte") == NULL,
	    "%s", result_of(j));
	json_decref(j);

	/* Inside is fine, a directory still to be made included. */
	snprintf(req, sizeof req, "{\"method\":\"free-space\",\"arguments\":{\"path\":"
	    "\"%s//.\"}}", tmpdir);
	j = call(h, req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	char *ok = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\","
	    "\"download-dir\":\"%s/./sub//dir\",\"paused\":true}}", b64, tmpdir);
	j = call(h, ok);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	free(ok);
	free(b64);
	free(link);
	th_rm_rf(outside);
	free(outside);
	rpc_handler_free(h);
}
END_TEST

/* ---- HTTP ---- */

struct http_result {
	bool done;
	int code;
	char sid[128];
	char auth[128];
	char *body;
};

static void
http_done(struct evhttp_request *req, void *arg)
{
	struct http_result *r = arg;
	r->done = true;
	if (req == NULL)
		return;
	r->code = evhttp_request_get_response_code(req);
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Transmission-Session-Id");
	snprintf(r->sid, sizeof r->sid, "%s", v ? v : "");
	v = evhttp_find_header(evhttp_request_get_input_headers(req), "WWW-Authenticate");
	snprintf(r->auth, sizeof r->auth, "%s", v ? v : "");
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	r->body = xmalloc(n + 1);
	evbuffer_remove(in, r->body, n);
	r->body[n] = '\0';
}

/* One request; headers is "Name: value" lines, each ending in \n. */
static void
http_request(enum evhttp_cmd_type cmd, int port, const char *path, const char *headers,
    const char *body, size_t len, struct http_result *r)
{
	memset(r, 0, sizeof *r);
	struct evhttp_connection *c = evhttp_connection_base_new(base, NULL, "127.0.0.1",
	    (ev_uint16_t)port);
	ck_assert_ptr_nonnull(c);
	struct evhttp_request *req = evhttp_request_new(http_done, r);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Host", "127.0.0.1");
	for (const char *p = headers; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		const char *colon = strchr(p, ':');
		char name[64], value[256];
		snprintf(name, sizeof name, "%.*s", (int)(colon - p), p);
		snprintf(value, sizeof value, "%.*s", (int)(nl - colon - 2), colon + 2);
		if (strcmp(name, "Host") == 0)
			evhttp_remove_header(out, "Host");
		evhttp_add_header(out, name, value);
		p = nl + 1;
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	ck_assert_int_eq(evhttp_make_request(c, req, cmd, path), 0);
	for (int i = 0; i < 100 && !r->done; i++)
		spin(20);
	ck_assert(r->done);
	evhttp_connection_free(c);
}

static void
http_post(int port, const char *path, const char *headers, const char *body, size_t len,
    struct http_result *r)
{
	http_request(EVHTTP_REQ_POST, port, path, headers, body, len, r);
}

START_TEST(test_http)
{
	struct rpc_options o;
	memset(&o, 0, sizeof o);
	o.bind = "127.0.0.1";
	o.port = 0;
	o.max_body = 4096;
	char *wl[] = { "*.example.org" };
	o.host_whitelist = wl;
	o.host_whitelist_count = 1;
	char err[256];
	struct rpc_server *s = rpc_server_new(base, eng, &o, err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	int port = rpc_server_port(s);
	ck_assert_int_gt(port, 0);
	const char *req = "{\"method\":\"session-get\",\"tag\":1}";
	struct http_result r;

	/* The handshake: 409 with the id, then success with it. */
	http_post(port, "/transmission/rpc", NULL, req, strlen(req), &r);
	ck_assert_int_eq(r.code, 409);
	ck_assert_str_eq(r.sid, rpc_server_session_id(s));
	ck_assert_uint_eq(strlen(r.sid), 48);
	free(r.body);
	char hdr[512];
	snprintf(hdr, sizeof hdr, "X-Transmission-Session-Id: %s\n", rpc_server_session_id(s));
	http_post(port, "/transmission/rpc/", hdr, req, strlen(req), &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert(strstr(r.body, "\"result\":\"success\"") != NULL);
	free(r.body);
	http_post(port, "/transmission/rpc", "X-Transmission-Session-Id: stale\n", req,
	    strlen(req), &r);
	ck_assert_int_eq(r.code, 409);
	free(r.body);

	/* Host names: whitelisted patterns and addresses pass, others get 421. */
	snprintf(hdr, sizeof hdr, "X-Transmission-Session-Id: %s\nHost: evil.example.com:9091\n",
	    rpc_server_session_id(s));
	http_post(port, "/transmission/rpc", hdr, req, strlen(req), &r);
	ck_assert_int_eq(r.code, 421);
	free(r.body);
	const char *good[] = { "localhost:9091", "box.example.org", "[::1]:9091", "10.1.2.3" };
	for (size_t i = 0; i < DP_ARRAY_LEN(good); i++) {
		snprintf(hdr, sizeof hdr, "X-Transmission-Session-Id: %s\nHost: %s\n",
		    rpc_server_session_id(s), good[i]);
		http_post(port, "/transmission/rpc", hdr, req, strlen(req), &r);
		ck_assert_msg(r.code == 200, "Host %s: %d", good[i], r.code);
		free(r.body);
	}

	/* Oversized body, wrong path, bad JSON. */
	size_t big = 8192;
	char *huge = xmalloc(big);
	memset(huge, ' ', big);
	snprintf(hdr, sizeof hdr, "X-Transmission-Session-Id: %s\n", rpc_server_session_id(s));
	http_post(port, "/transmission/rpc", hdr, huge, big, &r);
	ck_assert_int_eq(r.code, 413);
	free(r.body);
	free(huge);
	http_post(port, "/transmission/nope", hdr, req, strlen(req), &r);
	ck_assert_int_eq(r.code, 404);
	free(r.body);
	http_post(port, "/transmission/web/", hdr, req, strlen(req), &r);
	ck_assert_int_eq(r.code, 405);          /* the web client's files are GET only */
	free(r.body);
	http_post(port, "/transmission/rpc", hdr, "{nope", 5, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert(strstr(r.body, "invalid JSON") != NULL);
	free(r.body);

	/* The server and its clients are tasks. */
	struct engine_task_info *tasks;
	size_t n = engine_tasks(eng, &tasks);
	int servers = 0, clients = 0;
	for (size_t i = 0; i < n; i++) {
		if (tasks[i].kind != ENGINE_TASK_KIND_RPC)
			continue;
		if (strncmp(tasks[i].name, "rpc server 127.0.0.1:", 21) == 0)
			servers++;
		if (strncmp(tasks[i].name, "rpc client 127.0.0.1:", 21) == 0)
			clients++;
	}
	free(tasks);
	ck_assert_int_eq(servers, 1);
	ck_assert_int_ge(clients, 1);
	rpc_server_free(s);
}
END_TEST

/* The web client from rpc.web_root, read on the disk pool: files with their types, the redirect
 * to it, nothing outside it (a link out is refused), and the same credentials as the RPC. */
START_TEST(test_http_web)
{
	char root[128], path[256];
	snprintf(root, sizeof root, "%s/web", tmpdir);
	snprintf(path, sizeof path, "%s/sub", root);
	th_file_write(root, "index.html", "<html>hi</html>", 15);
	th_file_write(path, "app.js", "var x;", 6);
	th_file_write(tmpdir, "secret.txt", "secret", 6);
	snprintf(path, sizeof path, "%s/secret.txt", tmpdir);
	char link[256];
	snprintf(link, sizeof link, "%s/out.txt", root);
	ck_assert_int_eq(symlink(path, link), 0);
	struct rpc_options o;
	memset(&o, 0, sizeof o);
	o.bind = "127.0.0.1";
	o.username = "u";
	o.password = "p";
	o.web_root = root;
	char err[256];
	struct rpc_server *s = rpc_server_new(base, eng, &o, err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	int port = rpc_server_port(s);
	const char *auth = "Authorization: Basic dTpw\n";      /* u:p */
	struct http_result r;
	http_request(EVHTTP_REQ_GET, port, "/transmission/web/", NULL, "", 0, &r);
	ck_assert_int_eq(r.code, 401);
	free(r.body);
	http_request(EVHTTP_REQ_GET, port, "/transmission/web/", auth, "", 0, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "<html>hi</html>");
	free(r.body);
	http_request(EVHTTP_REQ_GET, port, "/transmission/web/sub/app.js?x=1", auth, "", 0, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(r.body, "var x;");
	free(r.body);
	http_request(EVHTTP_REQ_GET, port, "/", auth, "", 0, &r);
	ck_assert_int_eq(r.code, 301);
	free(r.body);
	static const char *const refused[] = { "/transmission/web/out.txt",
		"/transmission/web/%2e%2e/secret.txt", "/transmission/web/nothing.html",
		"/transmission/web/sub" };
	for (size_t i = 0; i < DP_ARRAY_LEN(refused); i++) {
		http_request(EVHTTP_REQ_GET, port, refused[i], auth, "", 0, &r);
		ck_assert_msg(r.code == 404 || r.code == 403, "%s: %d", refused[i], r.code);
		ck_assert_msg(strstr(r.body, "secret") == NULL, "%s", refused[i]);
		free(r.body);
	}
	http_request(EVHTTP_REQ_GET, port, "/metrics", auth, "", 0, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert(strstr(r.body, "downpour_torrents{state=\"stopped\"}") != NULL);
	free(r.body);
	rpc_server_free(s);
}
END_TEST

START_TEST(test_http_auth)
{
	struct rpc_options o;
	memset(&o, 0, sizeof o);
	o.port = 0;
	o.username = "alice";
	o.password = "s3cret";
	char err[256];
	struct rpc_server *s = rpc_server_new(base, eng, &o, err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	int port = rpc_server_port(s);
	const char *req = "{\"method\":\"session-stats\"}";
	struct http_result r;
	char hdr[512];
	const char *wrong[] = { "", "Authorization: Basic YWxpY2U6d3Jvbmc=\n",   /* alice:wrong */
		"Authorization: Basic Ym9iOnMzY3JldA==\n",                      /* bob:s3cret */
		"Authorization: Basic !!!\n", "Authorization: Bearer xyz\n" };
	for (size_t i = 0; i < DP_ARRAY_LEN(wrong); i++) {
		snprintf(hdr, sizeof hdr, "X-Transmission-Session-Id: %s\n%s",
		    rpc_server_session_id(s), wrong[i]);
		http_post(port, "/transmission/rpc", hdr, req, strlen(req), &r);
		ck_assert_msg(r.code == 401, "credentials %zu: %d", i, r.code);
		ck_assert(strstr(r.auth, "Basic") != NULL);
		free(r.body);
	}
	/* alice:s3cret */
	snprintf(hdr, sizeof hdr, "X-Transmission-Session-Id: %s\nAuthorization: Basic "
	    "YWxpY2U6czNjcmV0\n", rpc_server_session_id(s));
	http_post(port, "/transmission/rpc", hdr, req, strlen(req), &r);
	ck_assert_int_eq(r.code, 200);
	free(r.body);
	rpc_server_free(s);

	/* A user without a password is refused at start. */
	o.password = "";
	ck_assert_ptr_null(rpc_server_new(base, eng, &o, err, sizeof err));
	ck_assert(strstr(err, "password") != NULL);
}
END_TEST

/* Waits (bounded) until path exists and has no newer write pending. */
static bool
wait_for_file(const char *path, const char *needle)
{
	for (int i = 0; i < 100; i++) {
		uint8_t *buf;
		size_t len;
		if (dp_read_file(path, 1 << 16, &buf, &len) == 0) {
			bool ok = memmem(buf, len, needle, strlen(needle)) != NULL;
			free(buf);
			if (ok)
				return true;
		}
		spin(20);
	}
	return false;
}

/* A seed stopped by hand is "Stopped", not "Finished": isFinished means a seeding limit
 * stopped it (Transmission's meaning), so it stays false here. */
START_TEST(test_stopped_seed_not_finished)
{
	char *dir = xasprintf("%s/fin", tmpdir);
	char *sub = xasprintf("%s/seedling", dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	static const char *const names[2] = { "a.bin", "b.bin" };
	static const size_t sizes[2] = { T_FILE_A, T_FILE_B };
	uint8_t *zero = xcalloc(1, T_FILE_A);
	for (int i = 0; i < 2; i++) {
		char *path = xasprintf("%s/%s", sub, names[i]);
		FILE *f = fopen(path, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(zero, 1, sizes[i], f), sizes[i]);
		ck_assert_int_eq(fclose(f), 0);
		free(path);
	}
	free(zero);
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	char *b64 = make_torrent_b64("seedling");
	char *req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\","
	    "\"download-dir\":\"%s\",\"paused\":false}}", b64, dir);
	free(b64);
	json_t *j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	int status = -1;
	for (int i = 0; i < 60 && status != 6; i++) {
		spin(50);
		j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"status\"]}}");
		status = (int)json_integer_value(json_object_get(first_torrent(j), "status"));
		json_decref(j);
	}
	ck_assert_int_eq(status, 6);
	j = call(h, "{\"method\":\"torrent-stop\"}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	spin(100);
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"status\","
	    "\"leftUntilDone\",\"isFinished\"]}}");
	json_t *t = first_torrent(j);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "status")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "leftUntilDone")), 0);
	ck_assert(json_is_false(json_object_get(t, "isFinished")));
	json_decref(j);
	rpc_handler_free(h);
	free(sub);
	free(dir);
}
END_TEST

/* A magnet fetching its metadata is a download for the queue: with one seed slot, two magnets
 * both run (they were counted as seeds, and the second was parked). */
START_TEST(test_magnet_queue)
{
	char *sdir = xasprintf("%s/session-mq", tmpdir);
	char err[256];
	ck_assert_msg(session_store_open(eng, sdir, NULL, err, sizeof err) == 0, "%s", err);
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	json_t *j = call(h, "{\"method\":\"session-set\",\"arguments\":{\"seed-queue-size\":1,"
	    "\"seed-queue-enabled\":true,\"download-queue-size\":5,"
	    "\"download-queue-enabled\":true}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	static const char *const hashes[] = { "c8ff6806ab06e7b5e43a7dac98163524fd782cf2",
		"d9ff6806ab06e7b5e43a7dac98163524fd782cf3" };
	for (size_t i = 0; i < 2; i++) {
		char *req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"filename\":"
		    "\"magnet:?xt=urn:btih:%s\",\"paused\":false}}", hashes[i]);
		j = call(h, req);
		free(req);
		ck_assert_str_eq(result_of(j), "success");
		json_decref(j);
	}
	spin(1500);	/* past a queue pass of the session timer */
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"status\","
	    "\"eta\",\"pieceSize\"]}}");
	json_t *list = json_object_get(json_object_get(j, "arguments"), "torrents");
	ck_assert_uint_eq(json_array_size(list), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *t = json_array_get(list, i);
		ck_assert_int_eq(json_integer_value(json_object_get(t, "status")), 4);
		/* Unknown size: eta -2 ("Unknown", not "Done"), no piece size yet. */
		ck_assert_int_eq(json_integer_value(json_object_get(t, "eta")), -2);
		ck_assert_int_eq(json_integer_value(json_object_get(t, "pieceSize")), 0);
	}
	json_decref(j);
	rpc_handler_free(h);
	free(sdir);
}
END_TEST

/* Waits (bounded) until the first torrent's percentDone is want and downloadDir is dir. */
static bool
wait_location(struct rpc_handler *h, const char *dir, double want)
{
	for (int i = 0; i < 250; i++) {
		json_t *j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":["
		    "\"downloadDir\",\"percentDone\",\"status\"]}}");
		json_t *t = first_torrent(j);
		const char *d = json_string_value(json_object_get(t, "downloadDir"));
		double p = json_number_value(json_object_get(t, "percentDone"));
		int status = (int)json_integer_value(json_object_get(t, "status"));
		bool ok = d != NULL && strcmp(d, dir) == 0 && p > want - 0.001 && p < want + 0.001 &&
		    status != 1 && status != 2;
		json_decref(j);
		if (ok)
			return true;
		spin(20);
	}
	return false;
}

/* torrent-set-location: move takes the files along and the torrent runs on there; without
 * move it looks for the data in the folder and checks it (none there: 0 %; the data: 100 %).
 * A relative path is refused. */
START_TEST(test_set_location)
{
	char *sdir = xasprintf("%s/session", tmpdir), *dl = xasprintf("%s/dl", tmpdir);
	char *moved = xasprintf("%s/moved", tmpdir), *empty = xasprintf("%s/empty", tmpdir);
	char err[256];
	ck_assert_msg(session_store_open(eng, sdir, NULL, err, sizeof err) == 0, "%s", err);
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	/* the torrent's data (zeros) where it is added */
	uint8_t *zeros = xcalloc(1, T_FILE_A);
	char *placed = xasprintf("%s/placed", dl);
	ck_assert_int_eq(mkdir(dl, 0755), 0);
	th_file_write(placed, "a.bin", zeros, T_FILE_A);
	th_file_write(placed, "b.bin", zeros, T_FILE_B);
	free(placed);
	free(zeros);
	char *b64 = make_torrent_b64("placed");
	char *req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\","
	    "\"download-dir\":\"%s\",\"paused\":false}}", b64, dl);
	free(b64);
	json_t *j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	ck_assert(wait_location(h, dl, 1.0));
	j = call(h, "{\"method\":\"torrent-set-location\",\"arguments\":{\"location\":\"rel/dir\","
	    "\"move\":true}}");
	ck_assert(strstr(result_of(j), "absolute") != NULL);
	json_decref(j);
	req = xasprintf("{\"method\":\"torrent-set-location\",\"arguments\":{\"location\":\"%s\","
	    "\"move\":true}}", moved);
	j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	ck_assert(wait_location(h, moved, 1.0));
	char *path = xasprintf("%s/placed/b.bin", moved);
	struct stat sb;
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, T_FILE_B);
	free(path);
	path = xasprintf("%s/placed/a.bin", dl);
	ck_assert_int_lt(stat(path, &sb), 0);
	free(path);
	/* Not moved: nothing at the new place, so nothing verified... */
	req = xasprintf("{\"method\":\"torrent-set-location\",\"arguments\":{\"location\":\"%s\"}}",
	    empty);
	j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	ck_assert(wait_location(h, empty, 0.0));
	/* ...and the data found where it is. */
	req = xasprintf("{\"method\":\"torrent-set-location\",\"arguments\":{\"location\":\"%s\","
	    "\"move\":false}}", moved);
	j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	ck_assert(wait_location(h, moved, 1.0));
	rpc_handler_free(h);
	free(sdir);
	free(dl);
	free(moved);
	free(empty);
}
END_TEST

/* The tracker list of one torrent, as torrent-get's trackerList has it. */
static char *
tracker_list_of(struct rpc_handler *h)
{
	json_t *j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"trackerList\"]}}");
	char *s = xstrdup(json_string_value(json_object_get(first_torrent(j), "trackerList")));
	json_decref(j);
	return s;
}

/* The id torrent-get's trackers gives the URL (-1 when it is not listed). */
static json_int_t
tracker_id_of(struct rpc_handler *h, const char *url)
{
	json_t *j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"trackers\"]}}");
	json_t *a = json_object_get(first_torrent(j), "trackers"), *x;
	json_int_t id = -1;
	size_t i;
	json_array_foreach(a, i, x)
		if (strcmp(json_string_value(json_object_get(x, "announce")), url) == 0)
			id = json_integer_value(json_object_get(x, "id"));
	json_decref(j);
	return id;
}

/* trackerAdd (a tier each, a URL there already refused), trackerRemove and trackerReplace by
 * id, trackerList as text; a URL the announcer cannot use is refused and changes nothing. */
START_TEST(test_tracker_edit)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	char *b64 = make_torrent_b64("tracked");
	char *req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\"}}",
	    b64);
	free(b64);
	json_t *j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	char *s = tracker_list_of(h);
	ck_assert_str_eq(s, "");
	free(s);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"trackerAdd\":["
	    "\"http://127.0.0.1:1/announce\",\"udp://127.0.0.1:2\"]}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	s = tracker_list_of(h);
	ck_assert_str_eq(s, "http://127.0.0.1:1/announce\n\nudp://127.0.0.1:2\n");
	free(s);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"trackerAdd\":["
	    "\"udp://127.0.0.1:2\"]}}");
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"trackerAdd\":["
	    "\"gopher://127.0.0.1:3/\"]}}");
	ck_assert(strstr(result_of(j), "scheme") != NULL);
	json_decref(j);
	json_int_t id = tracker_id_of(h, "http://127.0.0.1:1/announce");
	ck_assert_int_ge(id, 0);
	req = xasprintf("{\"method\":\"torrent-set\",\"arguments\":{\"trackerReplace\":[%"
	    JSON_INTEGER_FORMAT ",\"http://127.0.0.1:4/announce\"]}}", id);
	j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	s = tracker_list_of(h);
	ck_assert_str_eq(s, "http://127.0.0.1:4/announce\n\nudp://127.0.0.1:2\n");
	free(s);
	/* The old id is gone; the replaced URL has an id of its own. */
	req = xasprintf("{\"method\":\"torrent-set\",\"arguments\":{\"trackerRemove\":[%"
	    JSON_INTEGER_FORMAT "]}}", id);
	j = call(h, req);
	free(req);
	ck_assert(strstr(result_of(j), "no tracker has id") != NULL);
	json_decref(j);
	req = xasprintf("{\"method\":\"torrent-set\",\"arguments\":{\"trackerRemove\":[%"
	    JSON_INTEGER_FORMAT "]}}", tracker_id_of(h, "udp://127.0.0.1:2"));
	j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	s = tracker_list_of(h);
	ck_assert_str_eq(s, "http://127.0.0.1:4/announce\n");
	free(s);
	/* The whole list as text: tiers apart by empty lines, CR LF and spaces taken, a repeated
	 * URL dropped. */
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"trackerList\":"
	    "\" http://127.0.0.1:5/a\\r\\nhttp://127.0.0.1:6/a\\n\\n\\nudp://127.0.0.1:7\\n"
	    "http://127.0.0.1:5/a\"}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	s = tracker_list_of(h);
	ck_assert_str_eq(s, "http://127.0.0.1:5/a\nhttp://127.0.0.1:6/a\n\nudp://127.0.0.1:7\n");
	free(s);
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"trackers\"]}}");
	json_t *tr = json_object_get(first_torrent(j), "trackers");
	ck_assert_uint_eq(json_array_size(tr), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(tr, 2), "tier")), 1);
	json_decref(j);
	/* Refused whole: nothing changes. */
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"trackerList\":"
	    "\"http://127.0.0.1:8/a\\nhttp://user@127.0.0.1:9/a\"}}");
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"trackerReplace\":[1]}}");
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	s = tracker_list_of(h);
	ck_assert_str_eq(s, "http://127.0.0.1:5/a\nhttp://127.0.0.1:6/a\n\nudp://127.0.0.1:7\n");
	free(s);
	/* An empty list: no trackers. */
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"trackerList\":\"\"}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"trackers\","
	    "\"trackerStats\"]}}");
	ck_assert_uint_eq(json_array_size(json_object_get(first_torrent(j), "trackers")), 0);
	json_decref(j);
	rpc_handler_free(h);
}
END_TEST

/* session-set changes survive a restart (settings.conf) and a SIGHUP-style reload; the time
 * fields count with a session directory. */
START_TEST(test_session_persist)
{
	char *sdir = xasprintf("%s/session", tmpdir);
	char err[256];
	ck_assert_msg(session_store_open(eng, sdir, NULL, err, sizeof err) == 0, "%s", err);
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	char *req = xasprintf("{\"method\":\"session-set\",\"arguments\":{\"speed-limit-down\":300,"
	    "\"speed-limit-down-enabled\":true,\"peer-limit-global\":40,\"download-queue-size\":2,"
	    "\"download-queue-enabled\":true,\"seedRatioLimit\":1.5,\"seedRatioLimited\":true,"
	    "\"start-added-torrents\":false,\"download-dir\":\"%s/kept\"}}", tmpdir);
	json_t *j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	/* A torrent that runs for a while counts its downloading time. */
	char *b64 = make_torrent_b64("timed");
	req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\","
	    "\"paused\":false}}", b64);
	free(b64);
	j = call(h, req);
	free(req);
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	/* Labels are kept with the torrent; a comma or an empty label is refused. */
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"labels\":[\" tv \",\"hd\","
	    "\"tv\"]}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"labels\":[\"a,b\"]}}");
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"labels\":[\"\"]}}");
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"bandwidthPriority\":1}}");
	ck_assert(strstr(result_of(j), "bandwidthPriority") != NULL);
	json_decref(j);
	/* The idle seeding limit: a torrent's own, kept with it; out of range refused. */
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"seedIdleMode\":1,"
	    "\"seedIdleLimit\":17}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"seedIdleMode\":3}}");
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"seedIdleLimit\":65536}}");
	ck_assert_str_ne(result_of(j), "success");
	json_decref(j);
	j = call(h, "{\"method\":\"session-set\",\"arguments\":{\"idle-seeding-limit\":9,"
	    "\"idle-seeding-limit-enabled\":true}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	/* The user's trackers are kept with the torrent. */
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"trackerList\":"
	    "\"http://127.0.0.1:1/a\\n\\nudp://127.0.0.1:2\"}}");
	ck_assert_str_eq(result_of(j), "success");
	json_decref(j);
	/* A high file unwanted keeps "high" across the restart (issue 18). */
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"priority-high\":[1]}}");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-set\",\"arguments\":{\"files-unwanted\":[1]}}");
	json_decref(j);
	spin(2600);
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"secondsDownloading\","
	    "\"startDate\",\"status\"]}}");
	json_t *t = first_torrent(j);
	ck_assert_int_ge(json_integer_value(json_object_get(t, "secondsDownloading")), 1);
	ck_assert_int_ge(json_integer_value(json_object_get(t, "startDate")), dp_wall_time() - 10);
	json_decref(j);
	char *path = xasprintf("%s/settings.conf", sdir);
	ck_assert(wait_for_file(path, "start_paused = \"true\""));
	rpc_handler_free(h);
	engine_free(eng);

	/* A new engine from the defaults: the session directory's settings win. */
	struct dp_config cfg;
	config_defaults(&cfg);
	free(cfg.listen_address);
	cfg.listen_address = xstrdup("127.0.0.1");
	cfg.listen_port = 0;
	cfg.disk_threads = 1;
	eng = engine_new(base, &cfg, err, sizeof err);
	ck_assert_msg(eng != NULL, "%s", err);
	ck_assert_msg(session_store_open(eng, sdir, &cfg, err, sizeof err) == 0, "%s", err);
	/* The session's torrents are read on the writer thread and added in slices. */
	RUN_UNTIL(base, th_torrent_count(eng) >= 1, 10);
	ck_assert_uint_ge(th_torrent_count(eng), 1);
	struct engine_global_stats g;
	engine_global(eng, &g);
	ck_assert_uint_eq(g.down_limit, 300000);
	ck_assert_int_eq(g.max_connections, 40);
	ck_assert(strstr(g.download_dir, "/kept") != NULL);
	struct engine_queue_limits q;
	ck_assert_int_eq(engine_get_queue_limits(eng, &q), 0);
	ck_assert_int_eq(q.max_active_downloads, 2);
	ck_assert(q.seed_ratio > 1.49 && q.seed_ratio < 1.51);
	ck_assert(q.start_paused);
	h = rpc_handler_new(eng, NULL);
	j = call(h, "{\"method\":\"session-get\"}");
	json_t *a = json_object_get(j, "arguments");
	ck_assert(json_is_false(json_object_get(a, "start-added-torrents")));
	ck_assert_int_eq(json_integer_value(json_object_get(a, "speed-limit-down")), 300);
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"fileStats\"]}}");
	json_t *fs1 = json_array_get(json_object_get(first_torrent(j), "fileStats"), 1);
	ck_assert(json_is_false(json_object_get(fs1, "wanted")));
	ck_assert_int_eq(json_integer_value(json_object_get(fs1, "priority")), 1);
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"labels\"]}}");
	json_t *lb = json_object_get(first_torrent(j), "labels");
	ck_assert_uint_eq(json_array_size(lb), 2);
	ck_assert_str_eq(json_string_value(json_array_get(lb, 0)), "tv");
	ck_assert_str_eq(json_string_value(json_array_get(lb, 1)), "hd");
	json_decref(j);
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"seedIdleMode\","
	    "\"seedIdleLimit\"]}}");
	ck_assert_int_eq(json_integer_value(json_object_get(first_torrent(j), "seedIdleMode")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(first_torrent(j), "seedIdleLimit")),
	    17);
	json_decref(j);
	j = call(h, "{\"method\":\"session-get\"}");
	a = json_object_get(j, "arguments");
	ck_assert_int_eq(json_integer_value(json_object_get(a, "idle-seeding-limit")), 9);
	ck_assert(json_is_true(json_object_get(a, "idle-seeding-limit-enabled")));
	json_decref(j);
	char *kept = tracker_list_of(h);
	ck_assert_str_eq(kept, "http://127.0.0.1:1/a\n\nudp://127.0.0.1:2\n");
	free(kept);
	/* The seconds downloaded so far came back with the resume file. */
	j = call(h, "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"secondsDownloading\"]}}");
	ck_assert_int_ge(json_integer_value(json_object_get(first_torrent(j),
	    "secondsDownloading")), 1);
	json_decref(j);

	/* A reload of a configuration saying otherwise keeps the run-time settings. */
	cfg.download_rate_limit = 1000;
	cfg.max_active_downloads = 9;
	engine_apply_config(eng, &cfg);
	engine_global(eng, &g);
	ck_assert_uint_eq(g.down_limit, 300000);
	engine_get_queue_limits(eng, &q);
	ck_assert_int_eq(q.max_active_downloads, 2);
	/* ...while a setting never changed at run time follows the file. */
	cfg.upload_rate_limit = 7000;
	engine_apply_config(eng, &cfg);
	engine_global(eng, &g);
	ck_assert_uint_eq(g.up_limit, 7000);

	/* Invalid values are refused and not kept. */
	ck_assert_int_eq(engine_session_set_setting(eng, "max_active_seeds", "-3", err,
	    sizeof err), -1);
	ck_assert_int_eq(engine_session_set_setting(eng, "listen_port", "5", err, sizeof err), -1);
	ck_assert_int_eq(engine_session_set_setting(eng, "max_active_seeds", "4", err,
	    sizeof err), 0);
	ck_assert(wait_for_file(path, "max_active_seeds = \"4\""));
	config_free(&cfg);
	rpc_handler_free(h);
	free(path);
	free(sdir);
}
END_TEST

Suite *
rpc_suite(void)
{
	Suite *s = suite_create("rpc");
	TCase *tc = tcase_create("base64");
	tcase_add_test(tc, test_base64);
	suite_add_tcase(s, tc);
	tc = tcase_create("handler");
	tcase_add_checked_fixture(tc, rpc_setup, rpc_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_session_get);
	tcase_add_test(tc, test_bad_json_answered);
	tcase_add_test(tc, test_session_set);
	tcase_add_test(tc, test_session_set_refuses);
	tcase_add_test(tc, test_limit_enabled_alone);
	tcase_add_test(tc, test_web_path);
	tcase_add_test(tc, test_http_web);
	tcase_add_test(tc, test_metrics_text);
	tcase_add_test(tc, test_session_close);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_torrent_lifecycle);
	tcase_add_test(tc, test_jsonrpc);
	tcase_add_test(tc, test_sandbox);
	tcase_add_test(tc, test_paths_confined);
	tcase_add_test(tc, test_async_fs);
	tcase_add_test(tc, test_async_paths);
	tcase_add_test(tc, test_session_persist);
	tcase_add_test(tc, test_tracker_edit);
	tcase_add_test(tc, test_set_location);
	tcase_add_test(tc, test_magnet_queue);
	tcase_add_test(tc, test_stopped_seed_not_finished);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_add_checked_fixture(tc, rpc_setup, rpc_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_http);
	tcase_add_test(tc, test_http_auth);
	suite_add_tcase(s, tc);
	return s;
}
