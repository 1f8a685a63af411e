/* check_rpc_json.c: the RPC's JSON writer against jansson: the text it writes is the bytes
 * json_dumps gives for the same values (strings with quotes, controls and any script, reals,
 * integers at their limits, snake_case keys), bytes that are not UTF-8 become U+FFFD, and
 * torrent-get's answer for torrents with awkward names equals the answer built the old way (a
 * jansson tree of every field, then json_dumps), in both formats and over JSON-RPC 2.0, also
 * when it is written in slices across loop turns. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <jansson.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "bencode.h"
#include "disk.h"
#include "engine.h"
#include "rpc.h"
#include "rpc_json.h"
#include "rpc_private.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "util.h"

/* Awkward text: every control character, quotes, backslashes, slashes, DEL, C1 in UTF-8,
 * the line separators, a 4-byte character, a long run. */
static const char *const awkward[] = {
	"",
	"plain name.iso",
	"quote \" backslash \\ slash / end",
	("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
	    "\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"),
	"del \x7f c1 \xc2\x85 \xc2\x9b[31m",
	"line\xe2\x80\xa8sep\xe2\x80\xa9 bidi \xe2\x80\xae",
	"emoji \xf0\x9f\x98\x80 cjk \xe6\xbc\xa2\xe5\xad\x97 max \xf4\x8f\xbf\xbf",
	"\x1b]0;title\x07\x1b[2J",
	"</script><script>alert(1)</script>",
};

/* The same values to both writers; the text writer's bytes must be json_dumps's of the tree. */
static void
write_values(struct rpc_jw *w)
{
	rpc_jw_object(w);
	rpc_jw_key(w, "strings");
	rpc_jw_array(w);
	for (size_t i = 0; i < DP_ARRAY_LEN(awkward); i++)
		rpc_jw_str(w, awkward[i]);
	rpc_jw_strn(w, "nul\0inside", 10);
	rpc_jw_end(w);
	rpc_jw_key(w, "ints");
	rpc_jw_array(w);
	const int64_t ints[] = { 0, 1, -1, 9, 10, -10, 1234567890123, INT64_MAX, INT64_MIN };
	for (size_t i = 0; i < DP_ARRAY_LEN(ints); i++)
		rpc_jw_int(w, ints[i]);
	rpc_jw_u64(w, UINT64_MAX);
	rpc_jw_u64(w, (uint64_t)INT64_MAX + 1);
	rpc_jw_end(w);
	rpc_jw_key(w, "reals");
	rpc_jw_array(w);
	const double reals[] = { 0.0, -0.0, 1.0, -1.0, 0.1, 2.0 / 3.0, 1e17, 1e16, 1.5e300, 1e-5,
		-2.5e-7, 123456789.125, 4.9e-324, 1.7976931348623157e308, 100.0 };
	for (size_t i = 0; i < DP_ARRAY_LEN(reals); i++)
		rpc_jw_real(w, reals[i]);
	rpc_jw_end(w);
	rpc_jw_key(w, "other");
	rpc_jw_array(w);
	rpc_jw_bool(w, true);
	rpc_jw_bool(w, false);
	rpc_jw_null(w);
	rpc_jw_str(w, NULL);
	rpc_jw_object(w);
	rpc_jw_end(w);
	rpc_jw_array(w);
	rpc_jw_end(w);
	rpc_jw_json(w, json_pack("{s:[i, s, {s:f}], s:o}", "nestedKey", 1, "x\"y", "deepKey",
	    0.5, "empty-list", json_array()));
	rpc_jw_json(w, NULL);
	rpc_jw_end(w);
	rpc_jw_key(w, "quote\"key");
	rpc_jw_str(w, "last");
	rpc_jw_key(w, "camelCaseKey");
	rpc_jw_object(w);
	rpc_jw_key(w, "innerKey-name");
	rpc_jw_int(w, 7);
	rpc_jw_end(w);
	rpc_jw_end(w);
}

START_TEST(test_writer_matches_jansson)
{
	struct rpc_jw w;
	rpc_jw_tree(&w);
	write_values(&w);
	json_t *tree = rpc_jw_root(&w);
	ck_assert_ptr_nonnull(tree);
	char *want = json_dumps(tree, JSON_COMPACT);
	ck_assert_ptr_nonnull(want);

	struct dp_buf b;
	dp_buf_init(&b);
	rpc_jw_text(&w, &b, false, 0);
	write_values(&w);
	ck_assert_int_eq(w.depth, 0);
	ck_assert_str_eq((const char *)b.data, want);

	/* JSON-RPC 2.0: keys in snake_case down to depth 8, as rpc_json_snake_keys does; the
	 * text writer's base depth is where its first value sits in the answer. */
	for (int base = 0; base <= 9; base++) {
		json_t *snaked = rpc_json_snake_keys(tree, base);
		char *want_snake = json_dumps(snaked, JSON_COMPACT);
		dp_buf_free(&b);
		rpc_jw_text(&w, &b, true, base);
		write_values(&w);
		ck_assert_msg(strcmp((const char *)b.data, want_snake) == 0,
		    "base %d: %s\nwant %s", base, (const char *)b.data, want_snake);
		free(want_snake);
		json_decref(snaked);
	}
	dp_buf_free(&b);
	free(want);
	json_decref(tree);
}
END_TEST

START_TEST(test_not_finite_is_null)
{
	struct dp_buf b;
	dp_buf_init(&b);
	struct rpc_jw w;
	rpc_jw_text(&w, &b, false, 0);
	rpc_jw_array(&w);
	rpc_jw_real(&w, NAN);
	rpc_jw_real(&w, INFINITY);
	rpc_jw_real(&w, -INFINITY);
	rpc_jw_end(&w);
	ck_assert_str_eq((const char *)b.data, "[null,null,null]");
	dp_buf_free(&b);
}
END_TEST

/* Bytes that are not UTF-8 (jansson refuses the string, which made the field null) each become
 * U+FFFD; what is valid around them is kept, and the result is JSON jansson reads back. */
START_TEST(test_invalid_utf8_replaced)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{ "a\xff" "b", 3, "a\xef\xbf\xbd" "b" },
		{ "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },                    /* overlong '/' */
		{ "\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },    /* overlong */
		{ "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },    /* surrogate */
		{ "\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf5", 1, "\xef\xbf\xbd" },
		{ "cut \xe6\xbc", 6, "cut \xef\xbf\xbd\xef\xbf\xbd" },             /* truncated */
		{ "\xe6\xbc\xa2\x80\"", 5, "\xe6\xbc\xa2\xef\xbf\xbd\"" },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(cases); i++) {
		struct dp_buf b;
		dp_buf_init(&b);
		rpc_json_string(&b, cases[i].in, cases[i].n);
		json_error_t jerr;
		json_t *v = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY, &jerr);
		ck_assert_msg(v != NULL, "case %zu: not JSON: %s (%s)", i, (const char *)b.data,
		    jerr.text);
		ck_assert_msg(strcmp(json_string_value(v), cases[i].out) == 0, "case %zu: %s", i,
		    (const char *)b.data);
		json_decref(v);
		/* The tree writer gives the same string. */
		struct rpc_jw w;
		rpc_jw_tree(&w);
		rpc_jw_strn(&w, cases[i].in, cases[i].n);
		v = rpc_jw_root(&w);
		ck_assert_str_eq(json_string_value(v), cases[i].out);
		json_decref(v);
		dp_buf_free(&b);
	}
}
END_TEST

/* ---- torrent-get against the old way ---- */

static char tmpdir[64];
static struct event_base *base;
static struct engine *eng;

static void
rpc_json_setup(void)
{
	th_tmpdir_make(tmpdir, sizeof tmpdir, "rpcjson");
	evthread_use_pthreads();
	base = event_base_new();
	eng = th_engine_loopback(base, tmpdir, 1);
}

static void
rpc_json_teardown(void)
{
	engine_free(eng);
	event_base_free(base);
	th_rm_rf(tmpdir);
	task_registry_clear();
}

/* Torrents with awkward names (and one that is not UTF-8), paused, with labels. */
static void
add_awkward_torrents(struct rpc_handler *h)
{
	uint8_t data[1000];
	memset(data, 'x', sizeof data);
	const char *names[DP_ARRAY_LEN(awkward) + 1];
	for (size_t i = 0; i < DP_ARRAY_LEN(awkward); i++)
		names[i] = awkward[i];
	names[DP_ARRAY_LEN(awkward)] = "latin1 caf\xe9 \xff";
	for (size_t i = 0; i < DP_ARRAY_LEN(names); i++) {
		if (names[i][0] == '\0')
			continue;
		data[0] = (uint8_t)i;      /* a hash of its own */
		size_t len;
		uint8_t *tor = th_torrent_single(names[i], data, sizeof data, 16384, &len);
		char *b64 = rpc_base64_encode(tor, len);
		char *req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\","
		    "\"paused\":true,\"labels\":[\"a\\\"b\",\"t\\u00e9 \\\\ z\"]}}", b64);
		char *ans = rpc_handler_run(h, req, strlen(req), NULL, 0);
		ck_assert_msg(strstr(ans, "\"torrent-added\"") != NULL, "%s: %s", names[i], ans);
		free(ans);
		free(req);
		free(b64);
		free(tor);
	}
}

/* What torrent-get answered before it wrote text: a tree of every field of every torrent
 * (rpc_view_field), dumped whole. */
static char *
old_answer(struct rpc_handler *h, bool table, bool jsonrpc)
{
	json_t *names = json_array();
	for (size_t k = 0; rpc_field_name_at(k) != NULL; k++)
		json_array_append_new(names, json_string(rpc_field_name_at(k)));
	json_t *list = json_array();
	if (table)
		json_array_append(list, names);
	int *ids = NULL;
	size_t n = engine_torrent_ids(eng, &ids);
	struct engine_torrent_stats *st = xmalloc(sizeof *st);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(engine_torrent_get(eng, ids[i], st), 0);
		struct rpc_torrent_view *v = rpc_view_new(h, st);
		json_t *row = table ? json_array() : json_object();
		for (size_t k = 0; k < json_array_size(names); k++) {
			const char *name = json_string_value(json_array_get(names, k));
			json_t *val = rpc_view_field(v, name);
			ck_assert_ptr_nonnull(val);
			if (table)
				json_array_append_new(row, val);
			else
				json_object_set_new(row, name, val);
		}
		json_array_append_new(list, row);
		rpc_view_free(v);
	}
	free(st);
	free(ids);
	json_decref(names);
	json_t *args = json_pack("{s:o}", "torrents", list);
	json_t *top;
	if (jsonrpc) {
		top = json_pack("{s:s, s:o, s:i}", "jsonrpc", "2.0", "result",
		    rpc_json_snake_keys(args, 0), "id", 5);
		json_decref(args);
	} else {
		top = json_pack("{s:s, s:o, s:s}", "result", "success", "arguments", args, "tag",
		    "t\"ag");
	}
	char *s = json_dumps(top, JSON_COMPACT);
	json_decref(top);
	return s;
}

START_TEST(test_torrent_get_same_as_tree)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	add_awkward_torrents(h);
	static const struct {
		const char *req;
		bool table, jsonrpc;
	} cases[] = {
		{ "{\"method\":\"torrent-get\",\"arguments\":{},\"tag\":\"t\\\"ag\"}", false, false },
		{ "{\"method\":\"torrent-get\",\"arguments\":{\"format\":\"table\"},"
		    "\"tag\":\"t\\\"ag\"}", true, false },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"torrent_get\",\"params\":{},\"id\":5}", false,
		    true },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"torrent_get\",\"params\":{\"format\":\"table\"},"
		    "\"id\":5}", true, true },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(cases); i++) {
		char *want = old_answer(h, cases[i].table, cases[i].jsonrpc);
		char *got = rpc_handler_run(h, cases[i].req, strlen(cases[i].req), NULL, 0);
		ck_assert_msg(strcmp(got, want) == 0, "case %zu:\n got %s\nwant %s", i, got, want);
		free(got);
		free(want);
	}
	rpc_handler_free(h);
}
END_TEST

/* The names as a client reads them: each awkward one back intact, the Latin-1 one with U+FFFD
 * where jansson gave null; "removed" after the rows for recently-active. */
START_TEST(test_torrent_get_names)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	add_awkward_torrents(h);
	const char *req = "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"name\","
	    "\"labels\",\"id\"],\"ids\":\"recently-active\"}}";
	char *ans = rpc_handler_run(h, req, strlen(req), NULL, 0);
	json_error_t jerr;
	json_t *j = json_loads(ans, 0, &jerr);
	ck_assert_msg(j != NULL, "not JSON: %s", ans);
	json_t *args = json_object_get(j, "arguments");
	json_t *list = json_object_get(args, "torrents");
	ck_assert(json_is_array(json_object_get(args, "removed")));
	/* The rows first, "removed" after them, as json_dumps wrote it. */
	ck_assert(strstr(ans, "{\"result\":\"success\",\"arguments\":{\"torrents\":[{") == ans);
	ck_assert(strstr(ans, "}],\"removed\":[]}}") != NULL);
	ck_assert_uint_eq(json_array_size(list), DP_ARRAY_LEN(awkward));   /* "" was skipped */
	size_t found = 0;
	bool latin1 = false;
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		ck_assert_ptr_nonnull(name);
		for (size_t k = 0; k < DP_ARRAY_LEN(awkward); k++)
			found += strcmp(name, awkward[k]) == 0;
		latin1 |= strcmp(name, "latin1 caf\xef\xbf\xbd \xef\xbf\xbd") == 0;
		json_t *labels = json_object_get(t, "labels");
		ck_assert_uint_eq(json_array_size(labels), 2);
		ck_assert_str_eq(json_string_value(json_array_get(labels, 0)), "a\"b");
		ck_assert_str_eq(json_string_value(json_array_get(labels, 1)), "t\xc3\xa9 \\ z");
	}
	ck_assert_uint_eq(found, DP_ARRAY_LEN(awkward) - 1);
	ck_assert(latin1);
	json_decref(j);
	free(ans);
	rpc_handler_free(h);
}
END_TEST

/* A multi-file torrent whose name and announce URL are not UTF-8: its files and trackers are
 * all listed, with U+FFFD for the bad bytes (json_pack refused them and dropped the entry). */
START_TEST(test_not_utf8_nested)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	uint8_t data[3000];
	memset(data, 'y', sizeof data);
	uint8_t sha[20];
	disk_sha1(data, sizeof data, sha);
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "announce");
	be_enc_cstr(&b, "http://127.0.0.1:1/\xff/announce");
	be_enc_cstr(&b, "info");
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "files");
	be_enc_list_begin(&b);
	for (int i = 0; i < 2; i++) {
		be_enc_dict_begin(&b);
		be_enc_cstr(&b, "length");
		be_enc_int(&b, 1500);
		be_enc_cstr(&b, "path");
		be_enc_list_begin(&b);
		be_enc_cstr(&b, i == 0 ? "a.bin" : "b.bin");
		be_enc_end(&b);
		be_enc_end(&b);
	}
	be_enc_end(&b);
	be_enc_cstr(&b, "name");
	be_enc_cstr(&b, "dir \xe9t\xe9");
	be_enc_cstr(&b, "piece length");
	be_enc_int(&b, 16384);
	be_enc_cstr(&b, "pieces");
	be_enc_str(&b, sha, 20);
	be_enc_end(&b);
	be_enc_end(&b);
	char *b64 = rpc_base64_encode(b.data, b.len);
	dp_buf_free(&b);
	char *req = xasprintf("{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\","
	    "\"paused\":true}}", b64);
	char *ans = rpc_handler_run(h, req, strlen(req), NULL, 0);
	ck_assert_msg(strstr(ans, "\"name\":\"dir \xef\xbf\xbdt\xef\xbf\xbd\"") != NULL, "%s", ans);
	free(ans);
	free(req);
	free(b64);
	const char *get = "{\"method\":\"torrent-get\",\"arguments\":{\"fields\":[\"files\","
	    "\"trackers\",\"trackerStats\"]}}";
	ans = rpc_handler_run(h, get, strlen(get), NULL, 0);
	json_t *j = json_loads(ans, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", ans);
	json_t *t = json_array_get(json_object_get(json_object_get(j, "arguments"), "torrents"), 0);
	json_t *files = json_object_get(t, "files");
	ck_assert_uint_eq(json_array_size(files), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(files, 1), "name")),
	    "dir \xef\xbf\xbdt\xef\xbf\xbd/b.bin");
	const char *url = "http://127.0.0.1:1/\xef\xbf\xbd/announce";
	ck_assert_uint_eq(json_array_size(json_object_get(t, "trackers")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(t,
	    "trackers"), 0), "announce")), url);
	ck_assert_uint_eq(json_array_size(json_object_get(t, "trackerStats")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(t,
	    "trackerStats"), 0), "announce")), url);
	json_decref(j);
	free(ans);
	rpc_handler_free(h);
}
END_TEST

/* ---- torrent-get in slices ---- */

struct slice_answer {
	char *answer;
	bool called;
};

static void
slice_answer_cb(char *answer, const char *method, void *arg)
{
	struct slice_answer *a = arg;
	(void)method;
	a->answer = answer;
	a->called = true;
}

/* Runs the loop until both (b may be NULL) have their answer, at most 10 s. */
static void
slice_wait(struct slice_answer *a, struct slice_answer *b)
{
	uint64_t end = dp_now_ms() + 10000;
	while ((!a->called || (b != NULL && !b->called)) && dp_now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert(a->called);
	ck_assert(b == NULL || b->called);
}

static size_t
rows_in(const char *answer)
{
	json_t *j = json_loads(answer, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", answer);
	json_t *r = json_object_get(j, "arguments");
	if (r == NULL)
		r = json_object_get(j, "result");
	size_t n = json_array_size(json_object_get(r, "torrents"));
	json_decref(j);
	return n;
}

/* Two requests at once, each in slices of two rows: the same bytes as in one go; a torrent
 * removed during the build is left out; a handler freed during the build answers nothing and
 * leaks nothing. */
START_TEST(test_torrent_get_slices)
{
	struct rpc_handler *h = rpc_handler_new(eng, NULL);
	add_awkward_torrents(h);
	rpc_handler_set_base(h, base);
	rpc_handler_set_slices(h, 2, 2);
	const char *req_a = "{\"method\":\"torrent-get\",\"arguments\":{\"ids\":"
	    "\"recently-active\"},\"tag\":[1,{\"x\":\"y\"}]}";
	const char *req_b = "{\"jsonrpc\":\"2.0\",\"method\":\"torrent_get\",\"params\":"
	    "{\"format\":\"table\",\"fields\":[\"id\",\"name\",\"tracker_stats\"]},\"id\":9}";
	/* In one go: rpc_handler_run does not slice. */
	char *want_a = rpc_handler_run(h, req_a, strlen(req_a), NULL, 0);
	char *want_b = rpc_handler_run(h, req_b, strlen(req_b), NULL, 0);
	ck_assert_uint_eq(rows_in(want_a), DP_ARRAY_LEN(awkward));
	ck_assert_uint_eq(rows_in(want_b), DP_ARRAY_LEN(awkward) + 1);   /* + the names */

	struct slice_answer a = { NULL, false }, b = { NULL, false };
	rpc_handler_run_async(h, req_a, strlen(req_a), slice_answer_cb, &a);
	rpc_handler_run_async(h, req_b, strlen(req_b), slice_answer_cb, &b);
	ck_assert(!a.called && !b.called);          /* deferred to the slices */
	/* what the connection's task says it waits for (rpc.c): the rows in slices */
	char why[192];
	ck_assert_int_eq(rpc_handler_answer_wait(h, &a, why, sizeof why), ENGINE_TASK_SLICE_WAIT);
	ck_assert_msg(strstr(why, "torrent-get's ") != NULL && strstr(why, "in slices") != NULL,
	    "%s", why);
	/* One loop turn writes one slice of each: neither is done yet. */
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert(!a.called && !b.called);
	slice_wait(&a, &b);
	ck_assert_int_eq(rpc_handler_answer_wait(h, &a, why, sizeof why), ENGINE_TASK_READY);
	ck_assert_str_eq(a.answer, want_a);
	ck_assert_str_eq(b.answer, want_b);
	free(a.answer);
	free(b.answer);
	free(want_a);
	free(want_b);

	/* The last torrent removed after the first slice. */
	int *ids = NULL;
	size_t n = engine_torrent_ids(eng, &ids);
	ck_assert_uint_ge(n, 4);
	struct slice_answer c = { NULL, false };
	rpc_handler_run_async(h, req_a, strlen(req_a), slice_answer_cb, &c);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert(!c.called);
	char err[256];
	ck_assert_int_eq(engine_torrent_remove(eng, ids[n - 1], false, err, sizeof err), 0);
	slice_wait(&c, NULL);
	ck_assert_uint_eq(rows_in(c.answer), n - 1);
	free(c.answer);
	free(ids);

	/* The handler goes while a build is under way: no answer, nothing left behind. */
	struct slice_answer d = { NULL, false };
	rpc_handler_run_async(h, req_b, strlen(req_b), slice_answer_cb, &d);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert(!d.called);
	rpc_handler_free(h);
	ck_assert(d.called);
	ck_assert_ptr_null(d.answer);
	th_loop_run(base, 50);
}
END_TEST

Suite *
rpc_json_suite(void)
{
	Suite *s = suite_create("rpc_json");
	TCase *tc = tcase_create("writer");
	tcase_add_test(tc, test_writer_matches_jansson);
	tcase_add_test(tc, test_not_finite_is_null);
	tcase_add_test(tc, test_invalid_utf8_replaced);
	suite_add_tcase(s, tc);
	tc = tcase_create("torrent_get");
	tcase_add_checked_fixture(tc, rpc_json_setup, rpc_json_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_torrent_get_same_as_tree);
	tcase_add_test(tc, test_torrent_get_names);
	tcase_add_test(tc, test_torrent_get_slices);
	tcase_add_test(tc, test_not_utf8_nested);
	suite_add_tcase(s, tc);
	return s;
}
