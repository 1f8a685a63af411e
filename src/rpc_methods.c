/* rpc_methods.c: the RPC's JSON side: request envelopes (Transmission's and JSON-RPC 2.0), the
 * method table, and each method as calls into engine.h; no HTTP here (the fuzz target's entry). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <event2/event.h>

#include "dp_config.h"
#include "escape.h"
#include "log.h"
#include "metainfo.h"
#include "rpc_private.h"
#include "settings_file.h"
#include "util.h"

#define RPC_MAX_IDS 100000      /* entries in an "ids" list */

/* ---- argument access (rpc_private.h) ---- */

bool
rpc_key_same(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-' || *a == '_')
			a++;
		while (*b == '-' || *b == '_')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++, b++;
	}
}

json_t *
rpc_arg_get(json_t *args, const char *name)
{
	json_t *v = json_object_get(args, name);
	if (v != NULL)
		return v;
	const char *key;
	json_object_foreach(args, key, v)
		if (rpc_key_same(key, name))
			return v;
	return NULL;
}

/* Reads an optional boolean (JSON true/false, or 0/1 as older clients send). 1 if present. */
int
rpc_arg_bool(json_t *args, const char *name, bool *out, char *err, size_t errlen)
{
	json_t *v = rpc_arg_get(args, name);
	if (v == NULL)
		return 0;
	if (json_is_boolean(v))
		*out = json_is_true(v);
	else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
		*out = json_integer_value(v) == 1;
	else
		return dp_fail(err, errlen, "argument '%s' must be a boolean", name);
	return 1;
}

int
rpc_arg_int(json_t *args, const char *name, int64_t min, int64_t max, int64_t *out, char *err,
    size_t errlen)
{
	json_t *v = rpc_arg_get(args, name);
	if (v == NULL)
		return 0;
	int64_t n;
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v))
		n = (int64_t)json_real_value(v);
	else
		return dp_fail(err, errlen, "argument '%s' must be an integer", name);
	if (n < min || n > max)
		return dp_fail(err, errlen, "argument '%s' out of range (%lld..%lld)", name,
		    (long long)min, (long long)max);
	*out = n;
	return 1;
}

int
rpc_arg_real(json_t *args, const char *name, double *out, char *err, size_t errlen)
{
	json_t *v = rpc_arg_get(args, name);
	if (v == NULL)
		return 0;
	if (!json_is_number(v))
		return dp_fail(err, errlen, "argument '%s' must be a number", name);
	*out = json_number_value(v);
	return 1;
}

int
rpc_arg_string(json_t *args, const char *name, const char **out, char *err, size_t errlen)
{
	json_t *v = rpc_arg_get(args, name);
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return dp_fail(err, errlen, "argument '%s' must be a string", name);
	*out = json_string_value(v);
	return 1;
}

/* ---- torrent ids ---- */

/* The torrents a request names, as snapshots in id order (the engine's order): every torrent,
 * the ids and hashes listed, or those changed recently (then also the ids removed). Only the
 * named torrents are copied. */
struct rpc_sel {
	struct engine_torrent_stats *st;
	int *ids;                  /* instead of st (rpc_select_ids): each read when used */
	size_t n;
	bool recent;               /* "recently-active": also report "removed" */
	int *removed;
	size_t nremoved;
};

static int
rpc_id_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* A number, a numeric string (some clients send those) or a 40-digit hash; 0 = no torrent. */
static int
rpc_sel_one(struct rpc_handler *h, json_t *v, int *id, char *err, size_t errlen)
{
	*id = 0;
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		*id = n > 0 && n <= INT32_MAX ? (int)n : 0;
		return 0;
	}
	if (json_is_string(v)) {
		const char *str = json_string_value(v);
		if (strlen(str) == 40) {
			*id = engine_torrent_id_by_hash(h->e, str);
			return 0;
		}
		char *end;
		errno = 0;
		long n = strtol(str, &end, 10);
		if (*str != '\0' && *end == '\0' && errno == 0) {
			*id = n > 0 && n <= INT32_MAX ? (int)n : 0;
			return 0;
		}
	}
	return dp_fail(err, errlen, "invalid torrent id (want a number, a 40-digit hash, a list "
	    "of them, or \"recently-active\")");
}

static void
rpc_sel_free(struct rpc_sel *s)
{
	free(s->st);
	free(s->ids);
	free(s->removed);
	memset(s, 0, sizeof *s);
}

/* The torrents "ids" names, with their stats (st) or, ids_only, their ids (torrent-get reads
 * each torrent's stats as it writes its row: 10,000 copies of the stats at once cost 27 MB). */
static int
rpc_select_how(struct rpc_handler *h, json_t *args, struct rpc_sel *s, bool ids_only, char *err,
    size_t errlen)
{
	memset(s, 0, sizeof *s);
	json_t *v = rpc_arg_get(args, "ids");
	if (v == NULL) {
		if (ids_only)
			s->n = engine_torrent_ids(h->e, &s->ids);
		else
			s->n = engine_torrents(h->e, &s->st);
		return 0;
	}
	int *ids = NULL;
	size_t n = 0;
	if (json_is_string(v) && strcmp(json_string_value(v), "recently-active") == 0) {
		s->recent = true;
		n = engine_torrents_changed(h->e, RPC_RECENT_S, &ids, &s->removed, &s->nremoved);
	} else if (json_is_array(v)) {
		if (json_array_size(v) > RPC_MAX_IDS)
			return dp_fail(err, errlen, "too many ids (at most %d)", RPC_MAX_IDS);
		ids = xcalloc(json_array_size(v) + 1, sizeof *ids);
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			if (rpc_sel_one(h, x, &ids[n], err, errlen) < 0) {
				free(ids);
				return -1;
			}
			if (ids[n] > 0)
				n++;
		}
	} else {
		ids = xcalloc(1, sizeof *ids);
		if (rpc_sel_one(h, v, &ids[0], err, errlen) < 0) {
			free(ids);
			return -1;
		}
		n = ids[0] > 0;
	}
	if (n > 0)
		qsort(ids, n, sizeof *ids, rpc_id_cmp);
	if (ids_only) {
		for (size_t i = 0; i < n; i++)
			if (i == 0 || ids[i] != ids[i - 1])
				ids[s->n++] = ids[i];
		s->ids = ids;
		return 0;
	}
	s->st = n ? xcalloc(n, sizeof *s->st) : NULL;
	for (size_t i = 0; i < n; i++)
		if ((i == 0 || ids[i] != ids[i - 1]) &&
		    engine_torrent_get(h->e, ids[i], &s->st[s->n]) == 0)
			s->n++;
	free(ids);
	return 0;
}

static int
rpc_select(struct rpc_handler *h, json_t *args, struct rpc_sel *s, char *err, size_t errlen)
{
	return rpc_select_how(h, args, s, false, err, errlen);
}

/* ---- filesystem work off the loop thread: a method that needs it builds a call, whose work
 * runs on the disk pool (engine_run_blocking) and whose finish() completes the method on the
 * loop; rpc_handler_run runs both on the calling thread ---- */

struct rpc_call;
struct rpc_get;
static void rpc_get_free(struct rpc_get *g);
static void rpc_call_done(void *arg);
typedef int (*rpc_call_finish_fn)(struct rpc_call *c, json_t *out, char *err, size_t errlen);

struct rpc_call {
	/* on a worker: touches only the call; NULL: the engine answers through a callback of its
	 * own (torrent-rename-path), which ends in rpc_call_done */
	void (*work)(struct rpc_call *c);
	int error;                      /* the work's: 0 or an errno value */
	char errmsg[256];               /* names the file and the operation */
	struct rpc_handler *h;          /* NULL once the handler is gone: nobody to answer */
	rpc_call_finish_fn finish;
	char what[160];                 /* names the job's task */
	json_t *args;                   /* a reference: the method's arguments */
	/* the request, for the answer (deferred calls only) */
	json_t *req;
	json_t *result;
	char method[64];
	rpc_answer_fn cb;
	void *cb_arg;
	/* the method's own */
	char *path;
	char *dir;                      /* torrent-add's download-dir, resolved by the work */
	struct rpc_roots roots;         /* where paths may lie (rpc_paths.c) */
	char arg[32];                   /* the argument path came in (rpc_path_check_then) */
	rpc_path_then_fn then;          /* the method's rest, given path resolved (in dir) */
	struct rpc_get *get;            /* torrent-get in slices: its rows so far */
	uint8_t *data;
	size_t len;
	uint64_t free_bytes, total_bytes;  /* free-space */
	bool paused;
	int64_t peer_limit;
	struct rpc_call *next;
};

static struct rpc_call *
rpc_call_new(void (*work)(struct rpc_call *), rpc_call_finish_fn finish, const char *path)
{
	struct rpc_call *c = xcalloc(1, sizeof *c);
	c->work = work;
	c->finish = finish;
	c->path = xstrdup(path);
	return c;
}

static void
rpc_call_free(struct rpc_call *c)
{
	json_decref(c->args);
	json_decref(c->req);
	json_decref(c->result);
	free(c->path);
	free(c->dir);
	rpc_roots_free(&c->roots);
	rpc_get_free(c->get);
	free(c->data);
	free(c);
}

/* Runs the call's work here and finishes the method (rpc_handler_run), or hands it to
 * rpc_handler_run_async, which submits it once the request is attached. */
static int
rpc_call_start(struct rpc_handler *h, struct rpc_call *c, json_t *args, json_t *out, char *err,
    size_t errlen)
{
	c->args = json_incref(args);
	c->h = h;
	if (!h->async) {
		c->work(c);
		int rc = c->finish(c, out, err, errlen);
		rpc_call_free(c);
		return rc;
	}
	h->deferred = c;
	return RPC_DEFER;
}

static void
rpc_statvfs_work(struct rpc_call *c)
{
	struct statvfs vfs;
	char real[PATH_MAX];
	if (rpc_roots_check(&c->roots, "path", c->path, real, sizeof real, c->errmsg,
	    sizeof c->errmsg) < 0) {
		c->error = EACCES;
		return;
	}
	if (statvfs(real, &vfs) < 0) {
		c->error = errno;
		snprintf(c->errmsg, sizeof c->errmsg, "%s: %s", c->path, strerror(errno));
		return;
	}
	c->free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	c->total_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
}

static int
rpc_free_space_finish(struct rpc_call *c, json_t *out, char *err, size_t errlen)
{
	if (c->error != 0)
		return dp_fail(err, errlen, "%s", c->errmsg);
	json_object_set_new(out, "path", json_string(c->path));
	json_object_set_new(out, "size-bytes", json_integer((json_int_t)DP_MIN(c->free_bytes,
	    (uint64_t)INT64_MAX)));
	json_object_set_new(out, "total_size", json_integer((json_int_t)DP_MIN(c->total_bytes,
	    (uint64_t)INT64_MAX)));
	return 0;
}

static int
method_free_space(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	const char *path = NULL;
	if (rpc_arg_string(args, "path", &path, err, errlen) <= 0)
		return path == NULL && err[0] == '\0' ?
		    dp_fail(err, errlen, "argument 'path' is required") : -1;
	if (h->sandbox)
		return dp_fail(err, errlen, "free-space is not accepted here");
	struct rpc_call *c = rpc_call_new(rpc_statvfs_work, rpc_free_space_finish, path);
	rpc_roots_get(h->e, &c->roots);
	snprintf(c->what, sizeof c->what, "rpc free-space: statvfs %s", path);
	return rpc_call_start(h, c, args, out, err, errlen);
}

/* ---- a directory a client named: checked on the disk pool, the method done on the loop ---- */

/* realpath can wait for as long as a slow or hung mount does: here, never on the loop. */
static void
rpc_path_check_work(struct rpc_call *c)
{
	char real[PATH_MAX];
	if (rpc_roots_check(&c->roots, c->arg, c->path, real, sizeof real, c->errmsg,
	    sizeof c->errmsg) < 0) {
		c->error = EACCES;
		return;
	}
	c->dir = xstrdup(real);
}

static int
rpc_path_check_finish(struct rpc_call *c, json_t *out, char *err, size_t errlen)
{
	if (c->error != 0)
		return dp_fail(err, errlen, "%s", c->errmsg);
	return c->then(c->h, c->args, c->dir, out, err, errlen);
}

int
rpc_path_check_then(struct rpc_handler *h, json_t *args, const char *method, const char *arg,
    const char *path, rpc_path_then_fn then, json_t *out, char *err, size_t errlen)
{
	if (path[0] != '/')
		return dp_fail(err, errlen, "%s must be an absolute path", arg);
	struct rpc_call *c = rpc_call_new(rpc_path_check_work, rpc_path_check_finish, path);
	rpc_roots_get(h->e, &c->roots);
	snprintf(c->arg, sizeof c->arg, "%s", arg);
	c->then = then;
	snprintf(c->what, sizeof c->what, "rpc %s: checking %s %s", method, arg, path);
	return rpc_call_start(h, c, args, out, err, errlen);
}

/* ---- torrents ---- */

/* A sliced torrent-get's rows are all written: "removed" is in out already. */
static int
rpc_get_finish(struct rpc_call *c, json_t *out, char *err, size_t errlen)
{
	(void)c;
	(void)out;
	(void)err;
	(void)errlen;
	return 0;
}

/* The answer's start, before the rows in h->raw (answer_with_raw completes it): the rows are
 * written once, in the buffer that is sent. */
static void
rpc_raw_begin(struct dp_buf *raw, bool jsonrpc, size_t expect)
{
	dp_buf_reserve(raw, expect + 128);
	dp_buf_add_str(raw, jsonrpc ? "{\"jsonrpc\":\"2.0\",\"result\":{\"torrents\":" :
	    "{\"result\":\"success\",\"arguments\":{\"torrents\":");
}

/* A torrent-get's rows being written: all at once, or in slices (rpc_get_slice_cb). */
struct rpc_get {
	int *ids;                       /* the torrents named, in id order */
	size_t n, pos;                  /* how many; the next to write */
	json_t *names;                  /* the fields */
	int *fi;                        /* their places in the field table */
	size_t nf;
	bool table;
	struct engine_torrent_stats *st;
	struct dp_buf raw;              /* the answer so far */
	struct rpc_jw w;                /* writes into raw */
	/* in slices */
	struct event *ev;
	struct engine_task *task;
};

static void
rpc_get_free(struct rpc_get *g)
{
	if (g == NULL)
		return;
	if (g->ev != NULL)
		event_free(g->ev);
	if (g->task != NULL) {
		engine_task_done(g->task, "%zu of %zu rows", g->pos, g->n);
		engine_task_release(&g->task);
	}
	free(g->ids);
	free(g->fi);
	free(g->st);
	json_decref(g->names);
	dp_buf_free(&g->raw);
	free(g);
}

/* Rows from g->pos on, until all are written or until_us (monotonic; 0: no limit) passes;
 * the clock is read every few rows. A torrent removed meanwhile is left out. */
static void
rpc_get_rows(struct rpc_handler *h, struct rpc_get *g, uint64_t until_us)
{
	for (size_t done = 0; g->pos < g->n; done++) {
		if (until_us != 0 && done > 0 && ((h->slice_rows != 0 && done >= h->slice_rows) ||
		    (done % 16 == 0 && dp_now_us() >= until_us)))
			return;
		if (engine_torrent_get(h->e, g->ids[g->pos++], g->st) < 0)
			continue;      /* gone meanwhile */
		struct rpc_torrent_view *v = rpc_view_new(h, g->st);
		if (g->table)
			rpc_jw_array(&g->w);
		else
			rpc_jw_object(&g->w);
		for (size_t k = 0; k < g->nf; k++) {
			if (!g->table)
				rpc_jw_key(&g->w, json_string_value(json_array_get(g->names, k)));
			rpc_view_write_at(v, g->fi[k], &g->w);
		}
		rpc_jw_end(&g->w);
		rpc_view_free(v);
	}
}

/* One slice of a torrent-get's rows; the next follows on a zero timeout, so the loop polls
 * between slices (event_active would run it in the same turn). The answer goes once all rows
 * are written; a client that left meanwhile gets none (rpc.c), and the handler's end frees
 * the call (rpc_handler_free). */
static void
rpc_get_slice_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rpc_call *c = arg;
	struct rpc_get *g = c->get;
	(void)fd;
	(void)what;
	engine_task_cb_begin(g->task);
	size_t before = g->raw.len;
	rpc_get_rows(c->h, g, dp_now_us() + RPC_GET_SLICE_US);
	engine_task_progress(g->task, 0, g->raw.len - before);
	if (g->pos < g->n) {
		engine_task_wait(g->task, ENGINE_TASK_READY, "rows %zu of %zu", g->pos, g->n);
		event_add(g->ev, &(struct timeval){ 0, 0 });
		engine_task_cb_end(g->task);
		return;
	}
	rpc_jw_end(&g->w);
	engine_task_cb_end(g->task);
	rpc_call_done(c);
}

static int
method_torrent_get(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	json_t *fields = rpc_arg_get(args, "fields");
	const char *format = "objects";
	if (fields != NULL && !json_is_array(fields))
		return dp_fail(err, errlen, "argument 'fields' must be a list of names");
	if (rpc_arg_string(args, "format", &format, err, errlen) < 0)
		return -1;
	bool table = strcmp(format, "table") == 0;
	if (!table && strcmp(format, "objects") != 0)
		return dp_fail(err, errlen, "format must be \"objects\" or \"table\"");
	/* The field list: the names as asked (known ones only), or every field. */
	json_t *names = json_array();
	if (fields != NULL && json_array_size(fields) > 0) {
		size_t i;
		json_t *f;
		json_array_foreach(fields, i, f) {
			if (json_is_string(f) && rpc_field_known(json_string_value(f)))
				json_array_append(names, f);
			else if (json_is_string(f)) {
				/* JSON-RPC clients spell fields in snake_case. */
				for (size_t k = 0; rpc_field_name_at(k) != NULL; k++)
					if (rpc_key_same(rpc_field_name_at(k), json_string_value(f))) {
						json_array_append_new(names,
						    json_string(rpc_field_name_at(k)));
						break;
					}
			}
		}
	} else {
		for (size_t k = 0; rpc_field_name_at(k) != NULL; k++)
			json_array_append_new(names, json_string(rpc_field_name_at(k)));
	}

	struct rpc_sel sel;
	if (rpc_select_how(h, args, &sel, true, err, errlen) < 0) {
		json_decref(names);
		return -1;
	}
	if (sel.recent) {
		json_t *removed = json_array();
		for (size_t i = 0; i < sel.nremoved; i++)
			json_array_append_new(removed, json_integer(sel.removed[i]));
		json_object_set_new(out, "removed", removed);
	}
	/* The rows go straight to JSON text (a json_t per value, then json_dumps, was most of the
	 * time at 10,000 torrents), after the answer's start: the text is the answer sent. */
	struct rpc_get *g = xcalloc(1, sizeof *g);
	g->ids = sel.ids;
	g->n = sel.n;
	sel.ids = NULL;
	rpc_sel_free(&sel);
	g->table = table;
	g->names = names;
	/* Each name looked up once, not once per torrent. */
	g->nf = json_array_size(names);
	g->fi = xcalloc(g->nf ? g->nf : 1, sizeof *g->fi);
	for (size_t k = 0; k < g->nf; k++)
		g->fi[k] = rpc_field_index(json_string_value(json_array_get(names, k)));
	rpc_raw_begin(&g->raw, h->snake, g->n * 256);
	rpc_jw_text(&g->w, &g->raw, h->snake, 1);
	rpc_jw_array(&g->w);
	if (table)
		rpc_jw_json(&g->w, json_incref(names));
	g->st = xmalloc(sizeof *g->st);
	if (h->async && h->base != NULL && g->n > h->slice_min) {
		/* Many torrents: rows in slices across loop turns, the answer when all are written. */
		struct rpc_call *c = xcalloc(1, sizeof *c);
		c->get = g;
		c->finish = rpc_get_finish;
		c->h = h;
		c->args = json_incref(args);
		g->task = engine_task_new(h->e, ENGINE_TASK_KIND_RPC, 0, "rpc torrent-get of %zu "
		    "torrents", g->n);
		g->ev = event_new(h->base, -1, 0, rpc_get_slice_cb, c);
		engine_task_wait(g->task, ENGINE_TASK_READY, "rows 0 of %zu", g->n);
		event_add(g->ev, &(struct timeval){ 0, 0 });
		h->deferred = c;
		return RPC_DEFER;
	}
	rpc_get_rows(h, g, 0);
	rpc_jw_end(&g->w);
	dp_buf_free(&h->raw);
	h->raw = g->raw;
	dp_buf_init(&g->raw);
	h->has_raw = true;
	rpc_get_free(g);
	return 0;
}

/* files-wanted etc.: a list of file indexes; an empty list means every file. */
static int
file_list(json_t *args, const char *name, size_t nfiles, bool **sel, bool *present, char *err,
    size_t errlen)
{
	json_t *v = rpc_arg_get(args, name);
	*present = false;
	*sel = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return dp_fail(err, errlen, "argument '%s' must be a list of file numbers", name);
	*present = true;
	*sel = xcalloc(nfiles ? nfiles : 1, sizeof **sel);
	if (json_array_size(v) == 0) {
		for (size_t i = 0; i < nfiles; i++)
			(*sel)[i] = true;
		return 0;
	}
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    (uint64_t)json_integer_value(x) >= nfiles) {
			free(*sel);
			*sel = NULL;
			return dp_fail(err, errlen, "argument '%s': no file %s in the torrent", name,
			    json_is_integer(x) ? "with that number" : "named by a non-number");
		}
		(*sel)[json_integer_value(x)] = true;
	}
	return 0;
}

/* Applies files-wanted/-unwanted and priority-* to torrent id. As in Transmission, priority and
 * wanted are apart: a priority given to a skipped file is kept for when it is wanted again, and
 * unwanting a file keeps its priority. */
static int
apply_file_args(struct rpc_handler *h, int id, json_t *args, char *err, size_t errlen)
{
	static const char *const names[] = { "files-wanted", "files-unwanted", "priority-high",
		"priority-normal", "priority-low" };
	static const enum engine_prio levels[] = { ENGINE_PRIO_HIGH, ENGINE_PRIO_NORMAL,
		ENGINE_PRIO_LOW };
	struct engine_file_info *files;
	size_t nfiles = engine_files(h->e, id, &files);
	bool *sel[5] = { NULL };
	bool present[5];
	int rc = 0;
	for (size_t k = 0; k < 5 && rc == 0; k++)
		rc = file_list(args, names[k], nfiles, &sel[k], &present[k], err, errlen);
	for (size_t i = 0; i < nfiles && rc == 0; i++) {
		for (size_t k = 0; k < 3 && rc == 0; k++)
			if (present[2 + k] && sel[2 + k][i] && files[i].level != levels[k])
				rc = engine_torrent_set_file_level(h->e, id, i, levels[k], err, errlen);
		bool wanted = files[i].priority != ENGINE_PRIO_SKIP;
		if (rc == 0 && present[1] && sel[1][i] && wanted)
			rc = engine_torrent_set_file_wanted(h->e, id, i, false, err, errlen);
		else if (rc == 0 && present[0] && sel[0][i] && !wanted)
			rc = engine_torrent_set_file_wanted(h->e, id, i, true, err, errlen);
	}
	for (size_t k = 0; k < 5; k++)
		free(sel[k]);
	engine_files_free(files, nfiles);
	return rc;
}

/* bandwidthPriority: downpour does not weigh bandwidth between torrents, so only normal (0) is
 * accepted; a client is not told "success" for a priority that changes nothing. */
static int
rpc_bandwidth_priority_arg(json_t *args, char *err, size_t errlen)
{
	int64_t p = 0;
	if (rpc_arg_int(args, "bandwidthPriority", -1, 1, &p, err, errlen) < 0)
		return -1;
	if (p != 0)
		return dp_fail(err, errlen, "bandwidthPriority cannot be set: downpour does not "
		    "share bandwidth between torrents by priority (only 0, normal)");
	return 0;
}

/* seedIdleMode (0 the session's idle limit, 1 the torrent's, 2 none) and seedIdleLimit
 * (minutes): as Transmission, two settings; a limit sent alone changes the limit, not the mode.
 * -1 in *mode / *limit: not sent. */
static int
rpc_seed_idle_arg(json_t *args, int64_t *mode, int64_t *limit, char *err, size_t errlen)
{
	*mode = *limit = -1;
	if (rpc_arg_int(args, "seedIdleMode", 0, 2, mode, err, errlen) < 0 ||
	    rpc_arg_int(args, "seedIdleLimit", 0, ENGINE_IDLE_LIMIT_MAX, limit, err, errlen) < 0)
		return -1;
	return 0;
}

/* "labels": a list of strings, joined as the engine keeps them (*out NULL when absent): each
 * trimmed of spaces, non-empty, without ',' (as Transmission refuses), duplicates dropped. */
static int
rpc_labels_arg(json_t *args, char **out, char *err, size_t errlen)
{
	*out = NULL;
	json_t *v = rpc_arg_get(args, "labels");
	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return dp_fail(err, errlen, "argument 'labels' must be a list of strings");
	struct dp_buf b;
	dp_buf_init(&b);
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x)) {
			dp_buf_free(&b);
			return dp_fail(err, errlen, "argument 'labels' must be a list of strings");
		}
		const char *s = json_string_value(x);
		size_t n = json_string_length(x);
		while (n > 0 && (*s == ' ' || *s == '\t'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == 0 || memchr(s, ',', n) != NULL || memchr(s, '\0', n) != NULL) {
			dp_buf_free(&b);
			return dp_fail(err, errlen, "labels cannot be empty or contain ','");
		}
		/* Already there? (whole names between commas) */
		bool dup = false;
		const char *have = (const char *)b.data;
		for (size_t k = 0; k < b.len && !dup;) {
			size_t m = strcspn(have + k, ",");
			dup = m == n && memcmp(have + k, s, n) == 0;
			k += m + 1;
		}
		if (dup)
			continue;
		if (b.len > 0)
			dp_buf_add(&b, ",", 1);
		dp_buf_add(&b, s, n);
	}
	dp_buf_add(&b, "", 1);
	size_t len;
	*out = (char *)dp_buf_steal(&b, &len);
	return 1;
}

static int
method_torrent_set(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)out;
	int64_t down = -1, up = -1, peers = -1, ratio_mode = -1;
	bool down_on = false, up_on = false, seq = false;
	double ratio = 0;
	int has_down_on, has_up_on, has_seq, has_ratio;
	if (rpc_arg_int(args, "downloadLimit", 0, RPC_MAX_KBPS, &down, err, errlen) < 0 ||
	    rpc_arg_int(args, "uploadLimit", 0, RPC_MAX_KBPS, &up, err, errlen) < 0 ||
	    (has_down_on = rpc_arg_bool(args, "downloadLimited", &down_on, err, errlen)) < 0 ||
	    (has_up_on = rpc_arg_bool(args, "uploadLimited", &up_on, err, errlen)) < 0 ||
	    rpc_arg_int(args, "peer-limit", 0, 65535, &peers, err, errlen) < 0 ||
	    (has_seq = rpc_arg_bool(args, "sequentialDownload", &seq, err, errlen)) < 0 ||
	    (has_ratio = rpc_arg_real(args, "seedRatioLimit", &ratio, err, errlen)) < 0 ||
	    rpc_arg_int(args, "seedRatioMode", 0, 2, &ratio_mode, err, errlen) < 0)
		return -1;
	if (has_ratio && (ratio < 0 || ratio > 1e6))
		return dp_fail(err, errlen, "seedRatioLimit must be between 0 and 1000000");
	/* File lists are checked per torrent (indexes); their type is checked even for none. */
	static const char *const lists[] = { "files-wanted", "files-unwanted", "priority-high",
		"priority-normal", "priority-low" };
	for (size_t i = 0; i < DP_ARRAY_LEN(lists); i++) {
		json_t *v = rpc_arg_get(args, lists[i]);
		if (v != NULL && !json_is_array(v))
			return dp_fail(err, errlen, "argument '%s' must be a list of file numbers",
			    lists[i]);
	}
	char *labels;
	int64_t idle_mode, idle_limit;
	if (rpc_bandwidth_priority_arg(args, err, errlen) < 0 ||
	    rpc_seed_idle_arg(args, &idle_mode, &idle_limit, err, errlen) < 0 ||
	    rpc_trackers_check(args, err, errlen) < 0 ||
	    rpc_labels_arg(args, &labels, err, errlen) < 0)
		return -1;
	struct rpc_sel sel;
	if (rpc_select(h, args, &sel, err, errlen) < 0) {
		free(labels);
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < sel.n && rc == 0; i++) {
		const struct engine_torrent_stats *st = &sel.st[i];
		rc = apply_file_args(h, st->id, args, err, errlen);
		if (rc == 0 && labels != NULL)
			rc = engine_torrent_set_labels(h->e, st->id, labels, err, errlen);
		if (rc == 0)
			rc = rpc_trackers_apply(h, st->id, args, err, errlen);
		if (rc == 0 && (down >= 0 || up >= 0 || has_down_on || has_up_on)) {
			uint64_t d = st->down_limit, u = st->up_limit;
			if (down >= 0 && (!has_down_on || down_on))
				d = (uint64_t)down * 1000;
			if (has_down_on && !down_on)
				d = 0;
			if (up >= 0 && (!has_up_on || up_on))
				u = (uint64_t)up * 1000;
			if (has_up_on && !up_on)
				u = 0;
			rc = engine_torrent_set_rate_limits(h->e, st->id, d, u, err, errlen);
		}
		if (rc == 0 && peers >= 0)
			rc = engine_torrent_set_limits(h->e, st->id, (int)peers, st->upload_slots, err,
			    errlen);
		if (rc == 0 && has_seq)
			rc = engine_torrent_set_sequential(h->e, st->id, seq, err, errlen);
		if (rc == 0 && (idle_mode >= 0 || idle_limit >= 0))
			rc = engine_torrent_set_seed_idle(h->e, st->id, (int)idle_mode,
			    (int)idle_limit, err, errlen);
		if (rc == 0 && (has_ratio || ratio_mode >= 0)) {
			/* Transmission's modes: 0 the global limit, 1 this torrent's, 2 none. A
			 * limit without a mode is the torrent's own (mode 1). */
			double own;
			int64_t secs;
			if (engine_torrent_get_seed_limits(h->e, st->id, &own, &secs) < 0)
				own = -1, secs = -1;
			double r = ratio_mode == 0 ? -1 : ratio_mode == 2 ? 0 :
			    has_ratio ? ratio : own > 0 ? own : rpc_session_seed_ratio(h);
			if (ratio_mode < 0 && !has_ratio)
				r = own;
			rc = engine_torrent_set_seed_limits(h->e, st->id, r, secs, err, errlen);
		}
	}
	rpc_sel_free(&sel);
	free(labels);
	return rc;
}

enum rpc_torrent_action { ACT_START, ACT_STOP, ACT_VERIFY, ACT_REANNOUNCE, ACT_REMOVE };

static int
rpc_torrent_action(struct rpc_handler *h, json_t *args, enum rpc_torrent_action act, char *err,
    size_t errlen)
{
	bool del = false;
	if (act == ACT_REMOVE && rpc_arg_bool(args, "delete-local-data", &del, err, errlen) < 0)
		return -1;
	if (del && h->sandbox)
		return dp_fail(err, errlen, "delete-local-data is not accepted here");
	struct rpc_sel sel;
	if (rpc_select(h, args, &sel, err, errlen) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < sel.n && rc == 0; i++) {
		int id = sel.st[i].id;
		switch (act) {
		case ACT_START:
			rc = engine_torrent_start(h->e, id, err, errlen);
			break;
		case ACT_STOP:
			rc = engine_torrent_stop(h->e, id, err, errlen);
			break;
		case ACT_VERIFY:
			rc = engine_torrent_recheck(h->e, id, err, errlen);
			break;
		case ACT_REANNOUNCE: {
			/* Like Transmission: stopped torrents and torrents without trackers are
			 * skipped, not an error. */
			char why[256];
			(void)engine_torrent_reannounce(h->e, id, why, sizeof why);
			break;
		}
		case ACT_REMOVE:
			rc = engine_torrent_remove(h->e, id, del, err, errlen);
			break;
		}
	}
	rpc_sel_free(&sel);
	return rc;
}

static int
method_torrent_start(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)out;
	return rpc_torrent_action(h, args, ACT_START, err, errlen);
}

static int
method_torrent_stop(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)out;
	return rpc_torrent_action(h, args, ACT_STOP, err, errlen);
}

static int
method_torrent_verify(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)out;
	return rpc_torrent_action(h, args, ACT_VERIFY, err, errlen);
}

static int
method_torrent_reannounce(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen)
{
	(void)out;
	return rpc_torrent_action(h, args, ACT_REANNOUNCE, err, errlen);
}

static int
method_torrent_remove(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)out;
	return rpc_torrent_action(h, args, ACT_REMOVE, err, errlen);
}

/* torrent-set-location once location is checked: the torrents selected now (some may have
 * gone while the check ran) go there. */
static int
rpc_set_location_then(struct rpc_handler *h, json_t *args, const char *real, json_t *out,
    char *err, size_t errlen)
{
	(void)out;
	bool move = false;
	if (rpc_arg_bool(args, "move", &move, err, errlen) < 0)
		return -1;
	struct rpc_sel sel;
	if (rpc_select(h, args, &sel, err, errlen) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < sel.n && rc == 0; i++)
		rc = engine_torrent_set_location(h->e, sel.st[i].id, real, move, err, errlen);
	rpc_sel_free(&sel);
	return rc;
}

/* torrent-set-location: location (absolute), move (default false: find the data there). */
static int
method_torrent_set_location(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen)
{
	(void)out;
	const char *dir = NULL;
	bool move = false;
	if (rpc_arg_string(args, "location", &dir, err, errlen) <= 0)
		return dir == NULL && err[0] == '\0' ?
		    dp_fail(err, errlen, "argument 'location' is required") : -1;
	if (rpc_arg_bool(args, "move", &move, err, errlen) < 0)
		return -1;
	if (h->sandbox)
		return dp_fail(err, errlen, "torrent-set-location is not accepted here");
	/* A bad selection is refused before the filesystem is asked anything. */
	struct rpc_sel sel;
	if (rpc_select(h, args, &sel, err, errlen) < 0)
		return -1;
	rpc_sel_free(&sel);
	/* Under the directories a client may name (issue 11, finding 5), links resolved: on the
	 * disk pool, and so is the engine's move itself. */
	return rpc_path_check_then(h, args, "torrent-set-location", "location", dir,
	    rpc_set_location_then, out, err, errlen);
}

/* The engine's rename is done (on the loop, after the method deferred): the answer goes. */
static void rpc_call_done(void *arg);

/* A call whose answer comes from an engine callback (which ends in rpc_call_done). */
static int
rpc_call_defer(struct rpc_handler *h, struct rpc_call *c, json_t *args)
{
	c->args = json_incref(args);
	c->h = h;
	h->deferred = c;
	return RPC_DEFER;
}

static void
rpc_rename_done(void *arg, const char *why)
{
	struct rpc_call *c = arg;
	if (why != NULL) {
		c->error = EIO;
		snprintf(c->errmsg, sizeof c->errmsg, "%s", why);
	}
	rpc_call_done(c);
}

static int
rpc_rename_finish(struct rpc_call *c, json_t *out, char *err, size_t errlen)
{
	(void)out;
	return c->error != 0 ? dp_fail(err, errlen, "%s", c->errmsg) : 0;
}

/* torrent-rename-path: one torrent, path (a file or folder as torrent-get names it) and name
 * (its new last component). Answered with id, path and name as Transmission does, once the
 * rename is done on disk. */
static int
method_torrent_rename_path(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen)
{
	const char *path = NULL, *name = NULL;
	if (rpc_arg_string(args, "path", &path, err, errlen) < 0 ||
	    rpc_arg_string(args, "name", &name, err, errlen) < 0)
		return -1;
	if (path == NULL || name == NULL)
		return dp_fail(err, errlen, "torrent-rename-path needs 'path' and 'name'");
	if (json_string_length(rpc_arg_get(args, "path")) != strlen(path) ||
	    json_string_length(rpc_arg_get(args, "name")) != strlen(name))
		return dp_fail(err, errlen, "invalid name: it has a NUL character");
	struct rpc_sel sel;
	if (rpc_select(h, args, &sel, err, errlen) < 0)
		return -1;
	int id = sel.n == 1 ? sel.st[0].id : 0;
	rpc_sel_free(&sel);
	if (id == 0)
		return dp_fail(err, errlen, "torrent-rename-path requires 1 torrent");
	json_object_set_new(out, "id", json_integer(id));
	json_object_set_new(out, "path", json_string(path));
	json_object_set_new(out, "name", json_string(name));
	/* The answer waits for the rename on disk: only the daemon's server can wait. */
	if (h->sandbox || !h->async)
		return dp_fail(err, errlen, "torrent-rename-path is not accepted here");
	struct rpc_call *c = rpc_call_new(NULL, rpc_rename_finish, path);
	if (engine_torrent_rename_path(h->e, id, path, name, rpc_rename_done, c, err,
	    errlen) < 0) {
		rpc_call_free(c);
		return -1;
	}
	return rpc_call_defer(h, c, args);
}

/* blocklist-update: the download is parsed and in force (or failed). */
static void
rpc_blocklist_done(void *arg, const char *why, size_t rules)
{
	struct rpc_call *c = arg;
	if (why != NULL) {
		c->error = EIO;
		snprintf(c->errmsg, sizeof c->errmsg, "%s", why);
	}
	c->free_bytes = rules;
	rpc_call_done(c);
}

static int
rpc_blocklist_finish(struct rpc_call *c, json_t *out, char *err, size_t errlen)
{
	if (c->error != 0)
		return dp_fail(err, errlen, "%s", c->errmsg);
	json_object_set_new(out, "blocklist-size", json_integer((json_int_t)c->free_bytes));
	return 0;
}

/* blocklist-update: fetches blocklist-url (on the loop, libevent's client) and answers with
 * the new list's size once it is parsed and in force. */
static int
method_blocklist_update(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen)
{
	(void)out;
	if (h->sandbox || !h->async)
		return dp_fail(err, errlen, "blocklist-update is not accepted here");
	struct rpc_call *c = rpc_call_new(NULL, rpc_blocklist_finish, "blocklist");
	if (engine_blocklist_update(h->e, rpc_blocklist_done, c, err, errlen) < 0) {
		rpc_call_free(c);
		return -1;
	}
	return rpc_call_defer(h, c, args);
}

/* torrent-add once the engine has (or refused) the torrent: file wants, peer limit, start. */
static int
rpc_torrent_add_finish(struct rpc_handler *h, json_t *args, int rc, int id, const char *why,
    bool paused, int64_t peer_limit, json_t *out, char *err, size_t errlen)
{
	struct engine_torrent_stats st;
	if (rc < 0) {
		if (id > 0 && engine_torrent_get(h->e, id, &st) == 0) {
			json_object_set_new(out, "torrent-duplicate", json_pack("{s:i, s:o, s:s}",
			    "id", st.id, "name", rpc_json_text(st.name), "hashString",
			    st.info_hash_hex));
			return 0;
		}
		return dp_fail(err, errlen, "%s", why[0] ? why : "the torrent could not be added");
	}
	rc = apply_file_args(h, id, args, err, errlen);
	if (rc == 0 && peer_limit >= 0)
		rc = engine_torrent_set_limits(h->e, id, (int)peer_limit, 0, err, errlen);
	char *labels = NULL;
	if (rc == 0)
		rc = rpc_labels_arg(args, &labels, err, errlen) < 0 ? -1 : 0;
	if (rc == 0 && labels != NULL)
		rc = engine_torrent_set_labels(h->e, id, labels, err, errlen);
	free(labels);
	if (rc < 0) {
		char ignore[128];
		(void)engine_torrent_remove(h->e, id, false, ignore, sizeof ignore);
		return -1;
	}
	if (!paused && engine_torrent_start(h->e, id, err, errlen) < 0)
		return -1;
	if (engine_torrent_get(h->e, id, &st) < 0)
		return dp_fail(err, errlen, "the torrent vanished while being added");
	/* A name that is not UTF-8 made json_pack fail: the answer said nothing was added. */
	json_object_set_new(out, "torrent-added", json_pack("{s:i, s:o, s:s}", "id", st.id, "name",
	    rpc_json_text(st.name), "hashString", st.info_hash_hex));
	return 0;
}

/* Paused first, so file wants apply before any piece is picked; save_dir is download-dir as
 * checked and resolved (rpc_roots_check), NULL for the default. */
static void
rpc_torrent_add_opts(const char *save_dir, struct engine_add_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->save_dir = save_dir;
	opts->paused = true;
}

/* On a worker: download-dir and the .torrent named by filename must lie under the allowed
 * directories (a local user must not make the daemon write into ~/.ssh or read /etc/shadow);
 * then the file is read, and what is not a torrent is refused without quoting a byte of it. */
static void
rpc_torrent_add_work(struct rpc_call *c)
{
	char real[PATH_MAX];
	if (c->dir != NULL) {
		if (rpc_roots_check(&c->roots, "download-dir", c->dir, real, sizeof real, c->errmsg,
		    sizeof c->errmsg) < 0) {
			c->error = EACCES;
			return;
		}
		free(c->dir);
		c->dir = xstrdup(real);
	}
	if (c->path[0] == '\0')
		return;
	if (rpc_roots_check(&c->roots, "filename", c->path, real, sizeof real, c->errmsg,
	    sizeof c->errmsg) < 0) {
		c->error = EACCES;
		return;
	}
	if (dp_read_file(real, DP_MAX_TORRENT_FILE_SIZE, &c->data, &c->len) < 0) {
		c->error = errno;
		if (errno == EFBIG)
			snprintf(c->errmsg, sizeof c->errmsg, "%s: larger than the %u MiB limit for "
			    "torrent files", c->path, DP_MAX_TORRENT_FILE_SIZE >> 20);
		else
			snprintf(c->errmsg, sizeof c->errmsg, "%s: %s", c->path, dp_strerror(errno));
		return;
	}
	char ignore[256];
	struct metainfo *mi = metainfo_parse(c->data, c->len, ignore, sizeof ignore);
	if (mi == NULL) {
		c->error = EINVAL;
		snprintf(c->errmsg, sizeof c->errmsg, "%s: not a torrent file", c->path);
		return;
	}
	metainfo_free(mi);
}

/* Adds what args name (metainfo or a magnet link), or data read from filename. */
static int
rpc_torrent_add_source(struct rpc_handler *h, json_t *args, const char *save_dir,
    const struct rpc_call *c, int *id, char *why, size_t whylen)
{
	const char *metainfo = NULL, *filename = NULL;
	char ignore[64];
	(void)rpc_arg_string(args, "metainfo", &metainfo, ignore, sizeof ignore);
	(void)rpc_arg_string(args, "filename", &filename, ignore, sizeof ignore);
	struct engine_add_opts opts;
	rpc_torrent_add_opts(save_dir, &opts);
	if (c != NULL && c->data != NULL) {
		char reason[400] = "";
		int rc = engine_add_torrent_data(h->e, c->data, c->len, &opts, id, reason,
		    sizeof reason);
		if (rc < 0)
			snprintf(why, whylen, "%s%s%s", *id > 0 ? "" : c->path, *id > 0 ? "" : ": ",
			    reason);
		return rc;
	}
	if (metainfo != NULL) {
		size_t len;
		unsigned char *bytes = rpc_base64_decode(metainfo, strlen(metainfo), &len);
		if (bytes == NULL)
			return dp_fail(why, whylen, "metainfo is not valid base64");
		int rc = engine_add_torrent_data(h->e, bytes, len, &opts, id, why, whylen);
		free(bytes);
		return rc;
	}
	return engine_add_magnet(h->e, filename, &opts, id, why, whylen);
}

static int
rpc_torrent_add_work_finish(struct rpc_call *c, json_t *out, char *err, size_t errlen)
{
	int id = 0, rc = -1;
	char why[512] = "";
	if (c->error != 0)
		snprintf(why, sizeof why, "%s", c->errmsg);
	else
		rc = rpc_torrent_add_source(c->h, c->args, c->dir, c, &id, why, sizeof why);
	return rpc_torrent_add_finish(c->h, c->args, rc, id, why, c->paused, c->peer_limit, out,
	    err, errlen);
}

static int
method_torrent_add(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	const char *metainfo = NULL, *filename = NULL, *dir = NULL;
	bool paused = !rpc_session_start_added(h);
	int64_t peer_limit = -1;
	if (rpc_arg_string(args, "metainfo", &metainfo, err, errlen) < 0 ||
	    rpc_arg_string(args, "filename", &filename, err, errlen) < 0 ||
	    rpc_arg_string(args, "download-dir", &dir, err, errlen) < 0 ||
	    rpc_arg_bool(args, "paused", &paused, err, errlen) < 0 ||
	    rpc_arg_int(args, "peer-limit", 0, 65535, &peer_limit, err, errlen) < 0)
		return -1;
	if (metainfo == NULL && filename == NULL)
		return dp_fail(err, errlen, "torrent-add needs 'metainfo' or 'filename'");
	/* Refused before anything is added. */
	char *labels;
	if (rpc_labels_arg(args, &labels, err, errlen) < 0 ||
	    rpc_bandwidth_priority_arg(args, err, errlen) < 0)
		return -1;
	free(labels);
	if (dir != NULL && h->sandbox)
		return dp_fail(err, errlen, "download-dir is not accepted here");
	if (dir != NULL && dir[0] != '/')
		return dp_fail(err, errlen, "download-dir must be an absolute path");
	bool from_file = metainfo == NULL && strncasecmp(filename, "magnet:", 7) != 0;
	if (from_file && (strncasecmp(filename, "http://", 7) == 0 ||
	    strncasecmp(filename, "https://", 8) == 0))
		return dp_fail(err, errlen, "adding by URL is not supported: download the .torrent "
		    "and send it as metainfo");
	if (from_file && h->sandbox)
		return dp_fail(err, errlen, "filename paths are not accepted here");
	if (dir != NULL || from_file) {
		/* Paths are checked and the file read on the disk pool: a slow or hung
		 * filesystem must not stall the loop. */
		struct rpc_call *c = rpc_call_new(rpc_torrent_add_work, rpc_torrent_add_work_finish,
		    from_file ? filename : "");
		c->dir = dir != NULL ? xstrdup(dir) : NULL;
		rpc_roots_get(h->e, &c->roots);
		c->paused = paused;
		c->peer_limit = peer_limit;
		snprintf(c->what, sizeof c->what, "rpc torrent-add: %s %s", from_file ? "reading" :
		    "checking", from_file ? filename : dir);
		return rpc_call_start(h, c, args, out, err, errlen);
	}
	int id = 0;
	char why[512] = "";
	int rc = rpc_torrent_add_source(h, args, NULL, NULL, &id, why, sizeof why);
	return rpc_torrent_add_finish(h, args, rc, id, why, paused, peer_limit, out, err, errlen);
}

static int
rpc_queue_move(struct rpc_handler *h, json_t *args, enum engine_queue_where how, char *err,
    size_t errlen)
{
	struct rpc_sel sel;
	if (rpc_select(h, args, &sel, err, errlen) < 0)
		return -1;
	int rc = 0;
	/* Keep the relative order of the moved torrents: walk so each lands after the last. */
	bool reverse = how == ENGINE_QUEUE_TOP || how == ENGINE_QUEUE_DOWN;
	for (size_t k = 0; k < sel.n && rc == 0; k++) {
		size_t i = reverse ? sel.n - 1 - k : k;
		rc = engine_queue_move(h->e, sel.st[i].id, how, err, errlen);
	}
	rpc_sel_free(&sel);
	return rc;
}

static int
method_queue_top(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)out;
	return rpc_queue_move(h, args, ENGINE_QUEUE_TOP, err, errlen);
}

static int
method_queue_up(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)out;
	return rpc_queue_move(h, args, ENGINE_QUEUE_UP, err, errlen);
}

static int
method_queue_down(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)out;
	return rpc_queue_move(h, args, ENGINE_QUEUE_DOWN, err, errlen);
}

static int
method_queue_bottom(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)out;
	return rpc_queue_move(h, args, ENGINE_QUEUE_BOTTOM, err, errlen);
}

static const struct {
	const char *name;
	rpc_method_fn fn;
} methods[] = {
	{ "session-get", rpc_method_session_get },
	{ "session-set", rpc_method_session_set },
	{ "session-stats", rpc_method_session_stats },
	{ "session-close", rpc_method_session_close },
	{ "port-test", rpc_method_port_test },
	{ "free-space", method_free_space },
	{ "torrent-get", method_torrent_get },
	{ "torrent-set", method_torrent_set },
	{ "torrent-add", method_torrent_add },
	{ "torrent-start", method_torrent_start },
	{ "torrent-start-now", method_torrent_start },
	{ "torrent-stop", method_torrent_stop },
	{ "torrent-verify", method_torrent_verify },
	{ "torrent-reannounce", method_torrent_reannounce },
	{ "torrent-remove", method_torrent_remove },
	{ "torrent-set-location", method_torrent_set_location },
	{ "torrent-rename-path", method_torrent_rename_path },
	{ "blocklist-update", method_blocklist_update },
	{ "queue-move-top", method_queue_top },
	{ "queue-move-up", method_queue_up },
	{ "queue-move-down", method_queue_down },
	{ "queue-move-bottom", method_queue_bottom },
};

static rpc_method_fn
method_find(const char *name)
{
	for (size_t i = 0; i < DP_ARRAY_LEN(methods); i++)
		if (rpc_key_same(methods[i].name, name))
			return methods[i].fn;
	return NULL;
}

/* ---- the handler ---- */

struct rpc_handler *
rpc_handler_new(struct engine *e, const char *config_dir)
{
	struct rpc_handler *h = xcalloc(1, sizeof *h);
	h->e = e;
	h->slice_min = RPC_GET_SLICE_MIN;
	h->config_dir = config_dir != NULL ? xstrdup(config_dir) : NULL;
	return h;
}

void
rpc_handler_free(struct rpc_handler *h)
{
	if (h == NULL)
		return;
	/* Calls still on the disk pool free themselves when they complete; their requests get
	 * no answer. */
	while (h->calls != NULL) {
		struct rpc_call *c = h->calls;
		h->calls = c->next;
		c->h = NULL;
		c->cb(NULL, c->method, c->cb_arg);
		/* A torrent-get in slices has no completion to come: its event goes with it. */
		if (c->get != NULL)
			rpc_call_free(c);
	}
	dp_buf_free(&h->raw);
	free(h->config_dir);
	free(h);
}

void
rpc_handler_set_base(struct rpc_handler *h, struct event_base *base)
{
	h->base = base;
}

void
rpc_handler_set_slices(struct rpc_handler *h, size_t min_torrents, size_t max_rows)
{
	h->slice_min = min_torrents;
	h->slice_rows = max_rows;
}

void
rpc_handler_set_sandbox(struct rpc_handler *h, bool on)
{
	h->sandbox = on;
}

void
rpc_handler_set_close_cb(struct rpc_handler *h, void (*cb)(void *arg), void *arg)
{
	h->close_cb = cb;
	h->close_arg = arg;
}

static char *
dump(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s != NULL ? s : xstrdup("{\"result\":\"internal error: can't encode the answer\"}");
}

/* A Transmission-style answer. */
static char *
answer_legacy(const char *result, json_t *args, json_t *tag)
{
	json_t *top = json_object();
	json_object_set_new(top, "result", json_string(result));
	json_object_set_new(top, "arguments", args != NULL ? args : json_object());
	if (tag != NULL)
		json_object_set(top, "tag", tag);
	return dump(top);
}

static char *
answer_jsonrpc_error(json_t *id, int code, const char *message)
{
	json_t *top = json_pack("{s:s, s:{s:i, s:s}}", "jsonrpc", "2.0", "error", "code", code,
	    "message", message);
	json_object_set(top, "id", id != NULL ? id : json_null());
	return dump(top);
}

/* The request's envelope: JSON-RPC 2.0 (with its id) or Transmission's (with its tag). */
static void
request_envelope(json_t *req, bool *jsonrpc, json_t **id, json_t **tag)
{
	*jsonrpc = json_is_object(req) &&
	    json_is_string(json_object_get(req, "jsonrpc")) &&
	    strcmp(json_string_value(json_object_get(req, "jsonrpc")), "2.0") == 0;
	*id = *jsonrpc ? json_object_get(req, "id") : NULL;
	*tag = !*jsonrpc && json_is_object(req) ? json_object_get(req, "tag") : NULL;
}

/* json_dumps of v (any value) appended to b. */
static void
dump_into(struct dp_buf *b, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	dp_buf_add_str(b, s != NULL ? s : "null");
	free(s);
}

/*
 * A successful answer whose start and rows are already written (rpc_raw_begin, then
 * torrent-get's rows in raw): the same bytes json_dumps gives for the whole tree, the rows
 * first under "torrents", then result's other keys (snake_case for JSON-RPC), then the tag or
 * id. Takes result and raw's text.
 */
static char *
answer_with_raw(bool jsonrpc, json_t *id, json_t *tag, json_t *result, struct dp_buf *raw)
{
	json_t *rest = jsonrpc ? rpc_json_snake_keys(result, 0) : json_incref(result);
	json_decref(result);
	char *more = json_dumps(rest, JSON_COMPACT);
	json_decref(rest);
	/* more is "{}" or "{...}": its keys follow the rows. */
	if (more != NULL && strcmp(more, "{}") != 0) {
		dp_buf_add(raw, ",", 1);
		dp_buf_add_str(raw, more + 1);
	} else {
		dp_buf_add(raw, "}", 1);
	}
	free(more);
	if (jsonrpc) {
		dp_buf_add_str(raw, ",\"id\":");
		dump_into(raw, id);
	} else if (tag != NULL) {
		dp_buf_add_str(raw, ",\"tag\":");
		dump_into(raw, tag);
	}
	dp_buf_add(raw, "}", 1);
	return (char *)dp_buf_steal(raw, NULL);
}

/* The answer to a method's outcome; takes result and raw's text (NULL: none; else the answer's
 * start and torrent-get's rows, rpc_raw_begin). */
static char *
answer_result(struct dp_buf *raw, json_t *req, const char *method, int rc, json_t *result,
    char *err, size_t errlen)
{
	bool jsonrpc;
	json_t *id, *tag;
	request_envelope(req, &jsonrpc, &id, &tag);
	if (rc >= 0 && raw != NULL && (!jsonrpc || id != NULL))
		return answer_with_raw(jsonrpc, id, tag, result, raw);
	if (raw != NULL)
		dp_buf_free(raw);
	if (rc < 0) {
		json_decref(result);
		if (err[0] == '\0')
			snprintf(err, errlen, "%s failed", method);
		return jsonrpc ? answer_jsonrpc_error(id, -32602, err) :
		    answer_legacy(err, NULL, tag);
	}
	if (!jsonrpc)
		return answer_legacy("success", result, tag);
	if (id == NULL) {
		/* A notification: no answer. */
		json_decref(result);
		return xstrdup("");
	}
	json_t *top = json_pack("{s:s, s:o}", "jsonrpc", "2.0", "result", rpc_json_snake_keys(result, 0));
	json_object_set(top, "id", id);
	json_decref(result);
	return dump(top);
}

/* Worker thread: a deferred call's work. */
static void
rpc_call_work(void *arg)
{
	struct rpc_call *c = arg;
	c->work(c);
}

/* Loop thread: a deferred call's work is done; finish the method and answer. */
static void
rpc_call_done(void *arg)
{
	struct rpc_call *c = arg;
	struct rpc_handler *h = c->h;
	if (h != NULL) {
		for (struct rpc_call **pp = &h->calls; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
		char err[512] = "";
		int rc = c->finish(c, c->result, err, sizeof err);
		char *answer = answer_result(c->get != NULL ? &c->get->raw : NULL, c->req, c->method,
		    rc, c->result, err, sizeof err);
		c->result = NULL;
		c->cb(answer, c->method, c->cb_arg);
	}
	rpc_call_free(c);
}

static void
rpc_run(struct rpc_handler *h, const char *body, size_t len, bool async, rpc_answer_fn cb,
    void *arg)
{
	json_error_t jerr;
	char err[512] = "";
	char name[64] = "?";
	json_t *req = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		/* jansson's text quotes the request near the error, cut at a byte: half a UTF-8
		 * character there made a message no JSON string holds, and the answer lost its
		 * "result" (fuzz_rpc). Escaped, it is always a string. */
		char near[400];
		dp_escape(jerr.text, near, sizeof near);
		snprintf(err, sizeof err, "invalid JSON (line %d, column %d): %s", jerr.line,
		    jerr.column, near);
		cb(answer_legacy(err, NULL, NULL), name, arg);
		return;
	}
	bool jsonrpc;
	json_t *id, *tag;
	request_envelope(req, &jsonrpc, &id, &tag);
	json_t *method = json_is_object(req) ? json_object_get(req, "method") : NULL;
	json_t *args = json_is_object(req) ?
	    json_object_get(req, jsonrpc ? "params" : "arguments") : NULL;
	char *answer;
	if (!json_is_string(method)) {
		answer = jsonrpc ? answer_jsonrpc_error(id, -32600, "Invalid Request: no method") :
		    answer_legacy("no method name", NULL, tag);
		goto out;
	}
	snprintf(name, sizeof name, "%s", json_string_value(method));
	if (args != NULL && !json_is_object(args)) {
		answer = jsonrpc ? answer_jsonrpc_error(id, -32602, "Invalid params: not an object") :
		    answer_legacy("arguments must be an object", NULL, tag);
		goto out;
	}
	rpc_method_fn fn = method_find(json_string_value(method));
	if (fn == NULL) {
		snprintf(err, sizeof err, "method name not recognized: %.200s",
		    json_string_value(method));
		answer = jsonrpc ? answer_jsonrpc_error(id, -32601, "Method not found") :
		    answer_legacy(err, NULL, tag);
		goto out;
	}
	json_t *empty = NULL;
	if (args == NULL)
		args = empty = json_object();
	json_t *result = json_object();
	h->async = async;
	h->deferred = NULL;
	h->snake = jsonrpc;
	dp_buf_free(&h->raw);
	h->has_raw = false;
	int rc = fn(h, args, result, err, sizeof err);
	h->async = false;
	json_decref(empty);
	if (rc == RPC_DEFER) {
		struct rpc_call *c = h->deferred;
		h->deferred = NULL;
		c->req = req;
		c->result = result;
		snprintf(c->method, sizeof c->method, "%s", name);
		c->cb = cb;
		c->cb_arg = arg;
		c->next = h->calls;
		h->calls = c;
		if (c->work != NULL)
			engine_run_blocking(h->e, c->what, rpc_call_work, rpc_call_done, c);
		return;
	}
	answer = answer_result(h->has_raw ? &h->raw : NULL, req, json_string_value(method), rc,
	    result, err, sizeof err);
	h->has_raw = false;
	dp_buf_free(&h->raw);
out:
	json_decref(req);
	cb(answer, name, arg);
}

void
rpc_handler_run_async(struct rpc_handler *h, const char *body, size_t len, rpc_answer_fn cb,
    void *arg)
{
	rpc_run(h, body, len, true, cb, arg);
}

enum engine_task_state
rpc_handler_answer_wait(const struct rpc_handler *h, const void *arg, char *why, size_t len)
{
	const struct rpc_call *c = h->calls;
	while (c != NULL && c->cb_arg != arg)
		c = c->next;
	if (c == NULL) {
		snprintf(why, len, "its answer");
		return ENGINE_TASK_READY;
	}
	if (c->get != NULL) {
		snprintf(why, len, "torrent-get's %zu rows, written in slices across loop turns "
		    "(task 'rpc torrent-get of %zu torrents')", c->get->n, c->get->n);
		return ENGINE_TASK_SLICE_WAIT;
	}
	if (c->work != NULL) {
		snprintf(why, len, "the disk pool: %s", c->what);
		return ENGINE_TASK_DISK_WAIT;
	}
	if (strcmp(c->method, "blocklist-update") == 0) {
		snprintf(why, len, "blocklist-update: the list's download and parse");
		return ENGINE_TASK_READ_WAIT;
	}
	snprintf(why, len, "%s: the engine's work on disk", c->method);
	return ENGINE_TASK_DISK_WAIT;
}

struct rpc_sync_answer {
	char *answer;
	char *method_out;
	size_t method_len;
};

static void
rpc_sync_cb(char *answer, const char *method, void *arg)
{
	struct rpc_sync_answer *r = arg;
	r->answer = answer;
	if (r->method_out != NULL && r->method_len > 0)
		snprintf(r->method_out, r->method_len, "%s", method);
}

char *
rpc_handler_run(struct rpc_handler *h, const char *body, size_t len, char *method_out,
    size_t method_len)
{
	struct rpc_sync_answer r = { NULL, method_out, method_len };
	rpc_run(h, body, len, false, rpc_sync_cb, &r);
	return r.answer;
}
