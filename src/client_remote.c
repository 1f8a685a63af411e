/* client_remote.c: the engine client API on a daemon reached over the session's attach socket:
 * each call is one request and its answer (a local socket answers in microseconds; a daemon
 * silent for ATTACH_REPLY_TIMEOUT_MS is out of reach, so the UI never hangs). The torrent list
 * and the tasks are kept here and updated from the deltas the daemon sends; everything the
 * daemon sends is checked before it is used (attach_proto.c's decoders). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "attach_proto.h"
#include "client.h"
#include "client_remote.h"
#include "client_rows.h"
#include "log.h"
#include "util.h"

#define ATTACH_REPLY_TIMEOUT_MS 15000

struct client_remote {
	struct client c;               /* first: the handle the UI holds */
	int fd;
	int64_t next_id;
	long pid;
	struct client_rows rows;       /* the torrent list */
	bool more;                     /* the daemon has more of it to send (client_list_partial) */
	struct engine_global_stats global;
	struct engine_task_info *tasks;          /* by id; age_us, waited_us hold instants */
	size_t ntasks, captasks;
	struct engine_task_info *shown;          /* what client_tasks handed out (durations) */
	size_t capshown;
	bool tasks_reset;
	struct attach_intern intern;
	struct client_remote_stats stats;
};

static struct client_remote *
client_remote_of(struct client *c)
{
	return (struct client_remote *)c;
}

static void
client_remote_lose(struct client_remote *r, const char *fmt, ...) DP_PRINTF(2, 3);

static void
client_remote_lose(struct client_remote *r, const char *fmt, ...)
{
	if (r->c.lost[0] != '\0')
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->c.lost, sizeof r->c.lost, fmt, ap);
	va_end(ap);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* ---- one request, one answer ---- */

/* Starts a request: the frame, {"id": N, "op": op, then the caller's fields. */
static size_t
client_remote_begin(struct client_remote *r, struct dp_buf *b, enum attach_op op)
{
	size_t at = attach_frame_begin(b);
	be_enc_dict_begin(b);
	be_enc_cstr(b, "id");
	be_enc_int(b, ++r->next_id);
	be_enc_cstr(b, "op");
	be_enc_cstr(b, attach_op_name(op));
	return at;
}

static bool
client_remote_io(struct client_remote *r, bool out, void *p, size_t len, uint64_t deadline)
{
	uint8_t *q = p;
	while (len > 0) {
		uint64_t now = dp_now_ms();
		if (now >= deadline) {
			client_remote_lose(r, "the daemon did not answer in %d s",
			    ATTACH_REPLY_TIMEOUT_MS / 1000);
			return false;
		}
		struct pollfd pfd = { .fd = r->fd, .events = out ? POLLOUT : POLLIN };
		int pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		ssize_t n = out ? send(r->fd, q, len, MSG_NOSIGNAL) : recv(r->fd, q, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0 || (n < 0 && (errno == EPIPE || errno == ECONNRESET))) {
			client_remote_lose(r, "the daemon closed the connection (it stopped)");
			return false;
		}
		if (n < 0) {
			client_remote_lose(r, "the connection to the daemon broke: %s",
			    strerror(errno));
			return false;
		}
		q += n;
		len -= (size_t)n;
		if (!out)
			r->stats.bytes_in += (uint64_t)n;
	}
	return true;
}

/*
 * Ends the request begun at `at` in b, sends it and waits for its answer: the decoded
 * dictionary (be_free it, then free *body), or NULL once the daemon is out of reach.
 */
static struct be_node *
client_remote_call(struct client_remote *r, struct dp_buf *b, size_t at, uint8_t **body)
{
	*body = NULL;
	be_enc_end(b);
	attach_frame_end(b, at);
	if (r->fd < 0)
		return NULL;
	uint64_t deadline = dp_now_ms() + ATTACH_REPLY_TIMEOUT_MS;
	if (!client_remote_io(r, true, b->data, b->len, deadline))
		return NULL;
	r->stats.requests++;
	uint8_t hdr[ATTACH_FRAME_HEADER];
	size_t len;
	if (!client_remote_io(r, false, hdr, sizeof hdr, deadline))
		return NULL;
	if (attach_frame_peek(hdr, sizeof hdr, ATTACH_MAX_REPLY, &len) != 1) {
		client_remote_lose(r, "the daemon sent an answer of a bad length");
		return NULL;
	}
	*body = xmalloc(len);
	if (!client_remote_io(r, false, *body, len, deadline)) {
		free(*body);
		*body = NULL;
		return NULL;
	}
	r->stats.last_reply_bytes = len + sizeof hdr;
	char err[256];
	struct be_node *n = attach_decode_body(*body, len, err, sizeof err);
	int64_t id = 0;
	if (n == NULL || !attach_get_int(n, "id", &id) || id != r->next_id) {
		client_remote_lose(r, "the daemon sent a bad answer: %s", n == NULL ? err :
		    "not the one asked for");
		be_free(n);
		free(*body);
		*body = NULL;
		return NULL;
	}
	return n;
}

/* A request with no fields but its op (the list, the tasks, the loop's health). */
static struct be_node *
client_remote_call_op(struct client_remote *r, enum attach_op op, uint8_t **body)
{
	struct dp_buf b;
	dp_buf_init(&b);
	size_t at = client_remote_begin(r, &b, op);
	struct be_node *n = client_remote_call(r, &b, at, body);
	dp_buf_free(&b);
	return n;
}

/* A request about one torrent with no other fields. */
static struct be_node *
client_remote_call_torrent(struct client_remote *r, enum attach_op op, int id, uint8_t **body)
{
	struct dp_buf b;
	dp_buf_init(&b);
	size_t at = client_remote_begin(r, &b, op);
	be_enc_cstr(&b, "t");
	be_enc_int(&b, id);
	struct be_node *n = client_remote_call(r, &b, at, body);
	dp_buf_free(&b);
	return n;
}

static void
client_remote_done(struct be_node *n, uint8_t *body)
{
	be_free(n);
	free(body);
}

/* The answer's "rows" list, or NULL (an error answer, or none). */
static const struct be_node *
client_remote_rows(const struct be_node *n)
{
	if (n == NULL || be_dict_get(n, "err") != NULL)
		return NULL;
	return be_dict_get_type(n, "rows", BE_LIST);
}

/* ---- the torrent list ---- */

static bool
client_remote_apply_row(struct client_remote *r, const struct be_node *row, char *err,
    size_t errlen)
{
	int64_t k;
	if (row->type != BE_DICT || !attach_get_int(row, "k", &k) || k <= 0 || k > INT32_MAX) {
		dp_fail(err, errlen, "a torrent row without a key");
		return false;
	}
	const struct be_node *s = be_dict_get(row, "s"), *d = be_dict_get(row, "d");
	if (client_rows_find(&r->rows, (int)k) == NULL && (s == NULL || d == NULL)) {
		dp_fail(err, errlen, "a new torrent row without all its parts");
		return false;
	}
	/* through client_rows_get: the row is noted as changed for the list screen */
	bool fresh;
	struct engine_torrent_stats *t = client_rows_get(&r->rows, (int)k, &fresh);
	if ((s != NULL && !attach_decode_record(s, &attach_torrent_static, t, err, errlen)) ||
	    (d != NULL && !attach_decode_record(d, &attach_torrent_dynamic, t, err, errlen)))
		return false;
	t->id = (int)k;
	return true;
}

static void
client_remote_forget(struct client_remote *r, const struct be_node *gone)
{
	for (size_t g = 0; gone != NULL && g < gone->v.list.n; g++) {
		const struct be_node *k = gone->v.list.items[g];
		if (k->type == BE_INT && k->v.i > 0 && k->v.i <= INT32_MAX)
			client_rows_remove(&r->rows, (int)k->v.i);
	}
}

/* Applies a list answer; false (and the client lost) when it does not check out. */
bool
client_remote_apply_list(struct client *c, const struct be_node *n, bool *more)
{
	struct client_remote *r = client_remote_of(c);
	char err[256];
	int64_t v = 0;
	*more = attach_get_int(n, "more", &v) && v != 0;
	if (attach_get_int(n, "reset", &v) && v != 0)
		client_rows_clear(&r->rows);
	const struct be_node *g = be_dict_get(n, "g");
	if (g != NULL && !attach_decode_record(g, &attach_global_rec, &r->global, err, sizeof err))
		goto bad;
	client_remote_forget(r, be_dict_get_type(n, "gone", BE_LIST));
	const struct be_node *rows = be_dict_get_type(n, "rows", BE_LIST);
	for (size_t i = 0; rows != NULL && i < rows->v.list.n; i++)
		if (!client_remote_apply_row(r, rows->v.list.items[i], err, sizeof err))
			goto bad;
	return true;
bad:
	client_rows_clear(&r->rows);
	client_remote_lose(r, "the daemon sent a bad torrent list: %s", err);
	return false;
}

/* One list request: the daemon answers with what changed, or with the next part of a first
 * list (then "more": the UI draws what it has and asks again at once, client_list_partial). */
static size_t
client_remote_snapshot(struct client *c, const struct engine_torrent_stats **torrents,
    struct engine_global_stats *global)
{
	struct client_remote *r = client_remote_of(c);
	uint8_t *body;
	struct be_node *n = client_remote_call_op(r, ATTACH_OP_LIST, &body);
	r->more = false;
	if (n != NULL) {
		r->stats.list_bytes = r->stats.last_reply_bytes;
		client_remote_apply_list(c, n, &r->more);
		client_remote_done(n, body);
	}
	*torrents = r->rows.n > 0 ? r->rows.v : NULL;
	*global = r->global;
	return r->rows.n;
}

static size_t
client_remote_changes(struct client *c, int **ids, bool *all)
{
	return client_rows_take_changes(&client_remote_of(c)->rows, ids, all);
}

static bool
client_remote_list_partial(struct client *c)
{
	return client_remote_of(c)->more;
}

static const struct engine_torrent_stats *
client_remote_torrent(struct client *c, int id)
{
	return client_rows_find(&client_remote_of(c)->rows, id);
}

/* ---- the other calls ---- */

static int
client_remote_command(struct client *c, const struct client_cmd *cmd, int *id_out, char *err,
    size_t errlen)
{
	struct client_remote *r = client_remote_of(c);
	struct dp_buf b;
	dp_buf_init(&b);
	size_t at = client_remote_begin(r, &b, ATTACH_OP_COMMAND);
	be_enc_cstr(&b, "cmd");
	attach_encode_cmd(&b, cmd);
	uint8_t *body;
	struct be_node *n = client_remote_call(r, &b, at, &body);
	dp_buf_free(&b);
	if (n == NULL)
		return dp_fail(err, errlen, "%s", r->c.lost);
	int64_t tid = 0;
	if (id_out != NULL && attach_get_int(n, "tid", &tid) && tid > 0 && tid <= INT32_MAX)
		*id_out = (int)tid;
	int rc = 0;
	if (be_dict_get(n, "err") != NULL) {
		char msg[256] = "failed";
		attach_get_str(n, "err", msg, sizeof msg);
		rc = dp_fail(err, errlen, "%s", msg);
	}
	client_remote_done(n, body);
	return rc;
}

static int
client_remote_queue_position(struct client *c, int id)
{
	uint8_t *body;
	struct be_node *n = client_remote_call_torrent(client_remote_of(c), ATTACH_OP_QUEUE_POS, id,
	    &body);
	int64_t pos = -1;
	if (n != NULL && (!attach_get_int(n, "pos", &pos) || pos < -1 || pos > INT32_MAX))
		pos = -1;
	client_remote_done(n, body);
	return (int)pos;
}

/* Decodes each row of a list answer into an array of records of size sz. */
static size_t
client_remote_records(struct client_remote *r, const struct be_node *rows,
    const struct attach_record *rec, const struct attach_record *rec2, size_t sz, void **out)
{
	*out = NULL;
	if (rows == NULL || rows->v.list.n == 0)
		return 0;
	size_t n = rows->v.list.n;
	uint8_t *arr = xcalloc(n, sz);
	char err[256];
	for (size_t i = 0; i < n; i++) {
		const struct be_node *row = rows->v.list.items[i];
		void *obj = arr + i * sz;
		bool ok = rec2 == NULL ? attach_decode_record(row, rec, obj, err, sizeof err) :
		    attach_decode_record(be_dict_get(row, "s"), rec, obj, err, sizeof err) &&
		    attach_decode_record(be_dict_get(row, "d"), rec2, obj, err, sizeof err);
		if (!ok) {
			for (size_t j = 0; j <= i; j++)
				attach_record_free(rec, arr + j * sz);
			free(arr);
			client_remote_lose(r, "the daemon sent a bad %s: %s", rec->name, err);
			return 0;
		}
	}
	*out = arr;
	return n;
}

static size_t
client_remote_list_of(struct client *c, enum attach_op op, int id,
    const struct attach_record *rec, const struct attach_record *rec2, size_t sz, void **out)
{
	struct client_remote *r = client_remote_of(c);
	uint8_t *body;
	struct be_node *n = client_remote_call_torrent(r, op, id, &body);
	size_t k = client_remote_records(r, client_remote_rows(n), rec, rec2, sz, out);
	client_remote_done(n, body);
	return k;
}

static size_t
client_remote_peers(struct client *c, int id, struct engine_peer_info **out)
{
	return client_remote_list_of(c, ATTACH_OP_PEERS, id, &attach_peer_rec, NULL, sizeof **out,
	    (void **)out);
}

static size_t
client_remote_files(struct client *c, int id, struct engine_file_info **out)
{
	return client_remote_list_of(c, ATTACH_OP_FILES, id, &attach_file_static,
	    &attach_file_dynamic, sizeof **out, (void **)out);
}

static size_t
client_remote_trackers(struct client *c, int id, struct engine_tracker_info **out)
{
	return client_remote_list_of(c, ATTACH_OP_TRACKERS, id, &attach_tracker_rec, NULL,
	    sizeof **out, (void **)out);
}

static int
client_remote_pieces(struct client *c, int id, struct engine_piece_map *out)
{
	uint8_t *body;
	struct be_node *n = client_remote_call_torrent(client_remote_of(c), ATTACH_OP_PIECES, id,
	    &body);
	const struct be_node *st = be_dict_get_type(n, "st", BE_STR);
	const struct be_node *av = be_dict_get_type(n, "av", BE_STR);
	if (st == NULL || av == NULL || av->v.str.len != st->v.str.len * 2 ||
	    st->v.str.len > UINT32_MAX) {
		client_remote_done(n, body);
		return -1;
	}
	out->count = (uint32_t)st->v.str.len;
	out->state = xmalloc(out->count + 1);
	out->availability = xcalloc(out->count + 1, sizeof *out->availability);
	for (uint32_t i = 0; i < out->count; i++) {
		uint8_t s = (uint8_t)st->v.str.s[i];
		out->state[i] = s <= 3 ? s : 0;
		out->availability[i] = (uint16_t)((uint8_t)av->v.str.s[2 * i] << 8 |
		    (uint8_t)av->v.str.s[2 * i + 1]);
	}
	client_remote_done(n, body);
	return 0;
}

static size_t
client_remote_task_find(const struct client_remote *r, uint64_t id, bool *found)
{
	size_t lo = 0, hi = r->ntasks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->tasks[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < r->ntasks && r->tasks[lo].id == id;
	return lo;
}

static bool
client_remote_apply_task(struct client_remote *r, const struct be_node *row, char *err,
    size_t errlen)
{
	int64_t k;
	if (row->type != BE_DICT || !attach_get_int(row, "k", &k) || k <= 0) {
		dp_fail(err, errlen, "a task row without a key");
		return false;
	}
	const struct be_node *s = be_dict_get(row, "s"), *d = be_dict_get(row, "d");
	bool found;
	size_t i = client_remote_task_find(r, (uint64_t)k, &found);
	if (!found) {
		if (s == NULL || d == NULL) {
			dp_fail(err, errlen, "a new task row without all its parts");
			return false;
		}
		if (r->ntasks == r->captasks) {
			r->captasks = r->captasks ? r->captasks * 2 : 64;
			r->tasks = xreallocarray(r->tasks, r->captasks, sizeof *r->tasks);
		}
		memmove(r->tasks + i + 1, r->tasks + i, (r->ntasks - i) * sizeof *r->tasks);
		memset(&r->tasks[i], 0, sizeof r->tasks[i]);
		r->ntasks++;
	}
	struct engine_task_info *t = &r->tasks[i];
	if ((s != NULL && !attach_decode_record(s, &attach_task_static, t, err, errlen)) ||
	    (d != NULL && !attach_decode_record(d, &attach_task_dynamic, t, err, errlen)))
		return false;
	t->id = (uint64_t)k;
	if (d != NULL) {
		const struct be_node *wf = be_dict_get_type(d, "wf", BE_STR);
		const struct be_node *wn = be_dict_get_type(d, "wn", BE_STR);
		t->where_func = wf != NULL ? attach_intern(&r->intern, wf->v.str.s, wf->v.str.len) :
		    NULL;
		t->where_file = wn != NULL ? attach_intern(&r->intern, wn->v.str.s, wn->v.str.len) :
		    NULL;
	}
	return true;
}

static size_t
client_remote_tasks(struct client *c, const struct engine_task_info **out)
{
	struct client_remote *r = client_remote_of(c);
	uint8_t *body;
	struct be_node *n = client_remote_call_op(r, ATTACH_OP_TASKS, &body);
	if (n == NULL)
		return 0;
	char err[256] = "";
	int64_t v = 0;
	bool ok = true;
	if (attach_get_int(n, "reset", &v) && v != 0)
		r->ntasks = 0;
	const struct be_node *gone = be_dict_get_type(n, "gone", BE_LIST);
	for (size_t g = 0; gone != NULL && g < gone->v.list.n; g++) {
		const struct be_node *k = gone->v.list.items[g];
		bool found;
		if (k->type != BE_INT)
			continue;
		size_t i = client_remote_task_find(r, (uint64_t)k->v.i, &found);
		if (found) {
			memmove(r->tasks + i, r->tasks + i + 1, (r->ntasks - i - 1) * sizeof *r->tasks);
			r->ntasks--;
		}
	}
	const struct be_node *rows = be_dict_get_type(n, "rows", BE_LIST);
	for (size_t i = 0; ok && rows != NULL && i < rows->v.list.n; i++)
		ok = client_remote_apply_task(r, rows->v.list.items[i], err, sizeof err);
	client_remote_done(n, body);
	if (!ok) {
		r->ntasks = 0;
		client_remote_lose(r, "the daemon sent a bad task: %s", err);
		return 0;
	}
	if (r->ntasks == 0)
		return 0;
	/* the instants back to durations, the names from the enums */
	uint64_t now = dp_now_us();
	if (r->capshown < r->ntasks) {
		r->capshown = r->ntasks;
		r->shown = xreallocarray(r->shown, r->capshown, sizeof *r->shown);
	}
	for (size_t i = 0; i < r->ntasks; i++) {
		struct engine_task_info *t = &r->shown[i];
		*t = r->tasks[i];
		t->age_us = now > t->age_us ? now - t->age_us : 0;
		t->waited_us = now > t->waited_us ? now - t->waited_us : 0;
		t->state_name = engine_task_state_name(t->state);
		t->kind_name = engine_task_kind_name(t->kind);
	}
	*out = r->shown;
	return r->ntasks;
}

/* A list of slow callbacks from the health answer (NULL: none); the entries that decode. */
static size_t
client_remote_slow_list(const struct be_node *sl, struct engine_slow_callback *out)
{
	char err[256];
	size_t n = 0;
	for (size_t i = 0; sl != NULL && i < sl->v.list.n && n < ENGINE_SLOW_CALLBACKS; i++)
		if (attach_decode_record(sl->v.list.items[i], &attach_slow_rec, &out[n], err,
		    sizeof err))
			n++;
	return n;
}

static void
client_remote_loop_health(struct client *c, struct engine_loop_health *out)
{
	struct client_remote *r = client_remote_of(c);
	uint8_t *body;
	struct be_node *n = client_remote_call_op(r, ATTACH_OP_HEALTH, &body);
	char err[256];
	if (n != NULL && attach_decode_record(be_dict_get(n, "h"), &attach_health_rec, out, err,
	    sizeof err)) {
		out->slowest_count = client_remote_slow_list(be_dict_get_type(n, "sl", BE_LIST),
		    out->slowest);
		/* absent from a daemon of before: no list by CPU */
		out->heaviest_count = client_remote_slow_list(be_dict_get_type(n, "hv", BE_LIST),
		    out->heaviest);
	}
	client_remote_done(n, body);
}

static size_t
client_remote_log_since(struct client *c, uint64_t after, struct dp_log_line *out, size_t max)
{
	struct client_remote *r = client_remote_of(c);
	struct dp_buf b;
	dp_buf_init(&b);
	size_t at = client_remote_begin(r, &b, ATTACH_OP_LOG);
	be_enc_cstr(&b, "after");
	be_enc_int(&b, (int64_t)after);
	be_enc_cstr(&b, "max");
	be_enc_int(&b, (int64_t)max);
	uint8_t *body;
	struct be_node *n = client_remote_call(r, &b, at, &body);
	dp_buf_free(&b);
	const struct be_node *rows = client_remote_rows(n);
	size_t k = 0;
	for (size_t i = 0; rows != NULL && i < rows->v.list.n && k < max; i++) {
		const struct be_node *row = rows->v.list.items[i];
		int64_t seq, when, level;
		if (!attach_get_int(row, "s", &seq) || seq <= 0 || (uint64_t)seq <= after ||
		    !attach_get_int(row, "w", &when) || !attach_get_int(row, "l", &level) ||
		    level < DP_LOG_ERROR || level > DP_LOG_DEBUG)
			continue;
		out[k].seq = (uint64_t)seq;
		out[k].when = when;
		out[k].level = (enum dp_log_level)level;
		attach_get_str(row, "x", out[k].text, sizeof out[k].text);
		after = (uint64_t)seq;
		k++;
	}
	client_remote_done(n, body);
	return k;
}

static int
client_remote_complete_path(struct client *c, const char *cwd, char *buf, size_t buflen,
    char *hint, size_t hintlen)
{
	struct client_remote *r = client_remote_of(c);
	struct dp_buf b;
	dp_buf_init(&b);
	size_t at = client_remote_begin(r, &b, ATTACH_OP_COMPLETE);
	be_enc_cstr(&b, "b");
	be_enc_cstr(&b, buf);
	if (cwd != NULL) {
		be_enc_cstr(&b, "cw");
		be_enc_cstr(&b, cwd);
	}
	uint8_t *body;
	struct be_node *n = client_remote_call(r, &b, at, &body);
	dp_buf_free(&b);
	int64_t k = 0;
	/* -1: the folder has too many names to complete from (the hint says so) */
	if (n != NULL && attach_get_int(n, "n", &k) && k >= -1 && k <= INT32_MAX) {
		attach_get_str(n, "b", buf, buflen);
		if (hint != NULL && hintlen > 0)
			attach_get_str(n, "h", hint, hintlen);
	} else {
		k = 0;
	}
	client_remote_done(n, body);
	return (int)k;
}

static void
client_remote_leave(struct client *c, void (*done)(void *arg), void *arg)
{
	struct client_remote *r = client_remote_of(c);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	done(arg);
}

static void
client_remote_free(struct client *c)
{
	struct client_remote *r = client_remote_of(c);
	if (r->fd >= 0)
		close(r->fd);
	client_rows_free(&r->rows);
	free(r->tasks);
	free(r->shown);
	attach_intern_free(&r->intern);
	free(r);
}

static const struct client_ops client_remote_ops = {
	.command = client_remote_command,
	.snapshot = client_remote_snapshot,
	.list_partial = client_remote_list_partial,
	.changes = client_remote_changes,
	.torrent = client_remote_torrent,
	.queue_position = client_remote_queue_position,
	.peers = client_remote_peers,
	.files = client_remote_files,
	.pieces = client_remote_pieces,
	.trackers = client_remote_trackers,
	.tasks = client_remote_tasks,
	.loop_health = client_remote_loop_health,
	.log_since = client_remote_log_since,
	.complete_path = client_remote_complete_path,
	.leave = client_remote_leave,
	.free = client_remote_free,
};

struct client *
client_remote_new_offline(void)
{
	struct client_remote *r = xcalloc(1, sizeof *r);
	client_rows_init(&r->rows);
	r->c.ops = &client_remote_ops;
	r->c.attached = true;
	r->fd = -1;
	return &r->c;
}

struct client *
client_remote_new(const char *session_dir, char *err, size_t errlen)
{
	char *path = attach_socket_path(session_dir);
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		dp_fail(err, errlen, "%s: path too long for a Unix socket", path);
		free(path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		dp_fail(err, errlen, "no daemon runs on the session %s (%s: %s)", session_dir, path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return NULL;
	}
	free(path);
	struct client_remote *r = xcalloc(1, sizeof *r);
	client_rows_init(&r->rows);
	r->c.ops = &client_remote_ops;
	r->c.attached = true;
	r->fd = fd;
	struct dp_buf b;
	dp_buf_init(&b);
	size_t at = client_remote_begin(r, &b, ATTACH_OP_HELLO);
	be_enc_cstr(&b, "v");
	be_enc_int(&b, ATTACH_PROTO_VERSION);
	uint8_t *body;
	struct be_node *n = client_remote_call(r, &b, at, &body);
	dp_buf_free(&b);
	int64_t pid = 0;
	char msg[256] = "";
	if (n == NULL || attach_get_str(n, "err", msg, sizeof msg) ||
	    !attach_get_int(n, "pid", &pid)) {
		dp_fail(err, errlen, "the daemon on %s refused to attach: %s", session_dir,
		    msg[0] != '\0' ? msg : r->c.lost[0] != '\0' ? r->c.lost : "no answer");
		client_remote_done(n, body);
		client_remote_free(&r->c);
		return NULL;
	}
	client_remote_done(n, body);
	r->pid = (long)pid;
	return &r->c;
}

long
client_remote_pid(const struct client *c)
{
	return c->attached ? ((const struct client_remote *)c)->pid : 0;
}

void
client_remote_stats(const struct client *c, struct client_remote_stats *out)
{
	*out = ((const struct client_remote *)c)->stats;
}
