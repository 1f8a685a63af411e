/* fuzz_rpc.c: libFuzzer target for the RPC's JSON side (rpc_handler_run) against a real engine,
 * sandboxed so no request names local paths; plus the base64 codec round trip and the JSON
 * writer's strings (any bytes give a string jansson reads back). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "dp_config.h"
#include "engine.h"
#include "fuzz_engine.h"
#include "rpc.h"
#include "rpc_json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;
static struct engine *eng;
static struct rpc_handler *handler;

static char fuzz_dir[] = "/tmp/dp-fuzz-rpc.XXXXXX";

static void
fuzz_rpc_init(void)
{
	eng = fuzz_engine_start(fuzz_dir, &base);
	handler = rpc_handler_new(eng, NULL);
	rpc_handler_set_sandbox(handler, true);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (handler == NULL)
		fuzz_rpc_init();

	/* Any answer is one JSON object with a result (or JSON-RPC's result/error), or nothing
	 * for a JSON-RPC notification. */
	char *ans = rpc_handler_run(handler, (const char *)data, size, NULL, 0);
	if (ans[0] != '\0') {
		json_t *j = json_loads(ans, 0, NULL);
		if (!json_is_object(j) || (json_object_get(j, "result") == NULL &&
		    json_object_get(j, "error") == NULL))
			abort();
		json_decref(j);
	}
	free(ans);

	/* base64: what we encode decodes to the same bytes. */
	char *b64 = rpc_base64_encode(data, size);
	size_t n;
	unsigned char *back = rpc_base64_decode(b64, strlen(b64), &n);
	if (back == NULL || n != size || memcmp(back, data, size) != 0)
		abort();
	free(back);
	free(b64);
	back = rpc_base64_decode((const char *)data, size, &n);
	free(back);

	/* The writer's string of any bytes is one JSON string; bytes that are UTF-8 (no NUL)
	 * come back as they were. */
	struct dp_buf jb;
	dp_buf_init(&jb);
	rpc_json_string(&jb, (const char *)data, size);
	json_t *js = json_loadb((const char *)jb.data, jb.len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    NULL);
	if (!json_is_string(js))
		abort();
	json_t *same = json_stringn((const char *)data, size);
	if (same != NULL && !json_equal(same, js))
		abort();
	json_decref(same);
	json_decref(js);
	dp_buf_free(&jb);

	/* Let started torrents and timers run a little, and keep the set small. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	struct engine_torrent_stats *all;
	size_t count = engine_torrents(eng, &all);
	if (count > 8)
		for (size_t i = 0; i < count; i++)
			engine_torrent_remove(eng, all[i].id, false, NULL, 0);
	free(all);
	return 0;
}
