/* fuzz_attach.c: libFuzzer target for the attach protocol's decoders: a byte stream cut into
 * frames, each body decoded, its request fields (op, id, the command) and every record type
 * read from each dictionary in it, as the daemon and an attached UI read what the other sent;
 * each frame is also applied as a torrent-list answer to a UI's copy of the list, which must
 * keep each id once. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attach_proto.h"
#include "client_remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct attach_record *const fuzz_attach_records[] = {
	&attach_torrent_static, &attach_torrent_dynamic, &attach_global_rec, &attach_peer_rec,
	&attach_file_static, &attach_file_dynamic, &attach_tracker_rec, &attach_task_static,
	&attach_task_dynamic, &attach_health_rec, &attach_slow_rec,
};

static int
fuzz_attach_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? -1 : x > y;
}

/* Every record type from one dictionary, into a buffer big enough for any of them. */
static void
fuzz_attach_records_of(const struct be_node *dict)
{
	static union {
		struct engine_torrent_stats t;
		struct engine_global_stats g;
		struct engine_peer_info p;
		struct engine_file_info f;
		struct engine_tracker_info tr;
		struct engine_task_info ti;
		struct engine_loop_health h;
	} u;
	char err[128];
	for (size_t i = 0; i < DP_ARRAY_LEN(fuzz_attach_records); i++) {
		memset(&u, 0, sizeof u);
		attach_decode_record(dict, fuzz_attach_records[i], &u, err, sizeof err);
		attach_record_free(fuzz_attach_records[i], &u);
	}
}

static void
fuzz_attach_walk(const struct be_node *n, int depth)
{
	if (depth > 4)
		return;
	if (n->type == BE_DICT) {
		fuzz_attach_records_of(n);
		for (size_t i = 0; i < n->v.dict.n; i++)
			fuzz_attach_walk(n->v.dict.entries[i].value, depth + 1);
	} else if (n->type == BE_LIST) {
		for (size_t i = 0; i < n->v.list.n; i++)
			fuzz_attach_walk(n->v.list.items[i], depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;
	char err[256];
	static struct attach_cmd cmd;
	struct client *ui = client_remote_new_offline();
	while (at < size) {
		size_t len;
		if (attach_frame_peek(data + at, size - at, ATTACH_MAX_REQUEST, &len) != 1 ||
		    len > size - at - ATTACH_FRAME_HEADER)
			break;
		const uint8_t *body = data + at + ATTACH_FRAME_HEADER;
		at += ATTACH_FRAME_HEADER + len;
		struct be_node *n = attach_decode_body(body, len, err, sizeof err);
		if (n == NULL)
			continue;
		(void)attach_op_find(be_dict_get(n, "op"));
		int64_t id;
		(void)attach_get_int(n, "id", &id);
		char s[64];
		(void)attach_get_str(n, "err", s, sizeof s);
		if (attach_decode_cmd(be_dict_get(n, "cmd"), &cmd, err, sizeof err)) {
			/* what the daemon would run is within its bounds */
			if (cmd.cmd.text != NULL && strlen(cmd.cmd.text) >= ATTACH_CMD_TEXT_MAX)
				abort();
			if ((unsigned)cmd.cmd.kind >= CLIENT_CMD_COUNT)
				abort();
		}
		attach_cmd_free(&cmd);
		fuzz_attach_walk(n, 0);
		bool more;
		if (!client_remote_apply_list(ui, n, &more)) {
			client_free(ui);
			ui = client_remote_new_offline();
		}
		const struct engine_torrent_stats *ts;
		struct engine_global_stats g;
		size_t k = client_snapshot(ui, &ts, &g);     /* no daemon: the copy as it is */
		/* the kept rows: each id once, none but positive */
		int *ids = k > 0 ? xcalloc(k, sizeof *ids) : NULL;
		for (size_t i = 0; i < k; i++) {
			if (ts[i].id <= 0)
				abort();
			ids[i] = ts[i].id;
		}
		if (k > 1)
			qsort(ids, k, sizeof *ids, fuzz_attach_cmp_int);
		for (size_t i = 1; i < k; i++)
			if (ids[i - 1] == ids[i])
				abort();
		free(ids);
		be_free(n);
	}
	client_free(ui);
	return 0;
}
