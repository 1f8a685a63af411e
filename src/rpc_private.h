/* rpc_private.h: what the RPC's files share: the handler's state, the method table's signature
 * and the torrent-get field builders. Not for use outside src/rpc*.c. */
#ifndef DP_RPC_PRIVATE_H
#define DP_RPC_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine.h"
#include "rpc.h"
#include "rpc_json.h"

/* Transmission's status codes (torrent-get "status"). */
enum rpc_status {
	RPC_STATUS_STOPPED = 0,
	RPC_STATUS_CHECK_WAIT = 1,
	RPC_STATUS_CHECK = 2,
	RPC_STATUS_DOWNLOAD_WAIT = 3,
	RPC_STATUS_DOWNLOAD = 4,
	RPC_STATUS_SEED_WAIT = 5,
	RPC_STATUS_SEED = 6,
};

/* Transmission's "error" codes. */
enum { RPC_STAT_OK = 0, RPC_STAT_TRACKER_WARNING = 1, RPC_STAT_TRACKER_ERROR = 2,
	RPC_STAT_LOCAL_ERROR = 3 };

#define RPC_RECENT_S 60                 /* "recently-active" window */
/* The protocol of Transmission 4.0 (rpc-version 17, semver 5.3.0). session-get's "version"
 * starts with that release's number, which Sonarr and Radarr parse (they refuse below 2.40),
 * and names downpour's own version in the parentheses where Transmission puts its commit. */
#define RPC_VERSION 17
#define RPC_VERSION_MIN 14
#define RPC_VERSION_SEMVER "5.3.0"
#define RPC_VERSION_STRING "4.0.0 (downpour " PACKAGE_VERSION ")"

/* Transmission's limit unit is kB/s, k = 1000. */
#define RPC_MAX_KBPS (INT64_MAX / 1000)

struct rpc_handler {
	struct engine *e;
	char *config_dir;
	bool sandbox;
	/* requests waiting for filesystem work on the disk pool (rpc_handler_run_async) */
	bool async;                     /* the running request may defer */
	struct rpc_call *deferred;      /* set by a method that deferred (returns RPC_DEFER) */
	struct rpc_call *calls;         /* submitted, answer not yet sent */
	void (*close_cb)(void *arg);    /* session-close; NULL: refused */
	void *close_arg;
	struct event_base *base;        /* NULL: no slices (rpc_handler_set_base) */
	size_t slice_min;               /* torrent-get of more torrents goes in slices */
	size_t slice_rows;              /* rows per slice at most (0: the time budget only) */
	/* the running request */
	bool snake;                     /* JSON-RPC 2.0: the answer's keys in snake_case */
	struct dp_buf raw;              /* torrent-get's "torrents" as JSON text (has_raw) */
	bool has_raw;
};

/* torrent-get of more than RPC_GET_SLICE_MIN torrents (through rpc_handler_run_async, with an
 * event base) writes its rows in slices of at most RPC_GET_SLICE_US of the loop each. */
#define RPC_GET_SLICE_MIN 500
#define RPC_GET_SLICE_US 10000
/* Tests: slices past min_torrents, of at most max_rows rows (0: the time budget only). */
void rpc_handler_set_slices(struct rpc_handler *h, size_t min_torrents, size_t max_rows);

/* A method's return value when its answer waits for a disk pool job (h->deferred). */
#define RPC_DEFER 1

/* A method: reads args (an object, never NULL), fills out (an object), or returns -1 with err. */
typedef int (*rpc_method_fn)(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen);

/* Request arguments: the exact key, else the same key ignoring case, '-' and '_' (JSON-RPC's
 * snake_case reaches the same code). Each reader returns 0 when absent, 1 when read, -1 with
 * err for a wrong type or range. */
bool rpc_key_same(const char *a, const char *b);
json_t *rpc_arg_get(json_t *args, const char *name);
int rpc_arg_bool(json_t *args, const char *name, bool *out, char *err, size_t errlen);
int rpc_arg_int(json_t *args, const char *name, int64_t min, int64_t max, int64_t *out,
    char *err, size_t errlen);
int rpc_arg_real(json_t *args, const char *name, double *out, char *err, size_t errlen);
int rpc_arg_string(json_t *args, const char *name, const char **out, char *err, size_t errlen);

/* rpc_paths.c: the directories a client may name (download_dir, completed_dir, watch_dir,
 * rpc.allowed_dirs), copied on the loop so that the check can run on the disk pool. */
struct rpc_roots {
	char **dir;
	size_t n;
};
void rpc_roots_get(struct engine *e, struct rpc_roots *r);
void rpc_roots_free(struct rpc_roots *r);
/* 0 with path resolved (links followed, dots gone) into resolved when that lies under one of
 * r's directories; -1 with err naming what (the argument) and path, never its content.
 * Touches the filesystem (realpath). */
int rpc_roots_check(const struct rpc_roots *r, const char *what, const char *path, char *resolved,
    size_t rlen, char *err, size_t errlen);

/* The rest of a method once the directory a client named is checked: resolved is where it
 * leads (links followed), under the allowed directories. Returns as a method does. */
typedef int (*rpc_path_then_fn)(struct rpc_handler *h, json_t *args, const char *resolved,
    json_t *out, char *err, size_t errlen);
/* Checks path (the argument arg of method) with rpc_roots_check on the disk pool, never on the
 * loop (a slow or hung mount), then runs then on the loop and answers: RPC_DEFER. Without
 * rpc_handler_run_async both run at once on the calling thread. A refused path answers its
 * error and then never runs. */
int rpc_path_check_then(struct rpc_handler *h, json_t *args, const char *method, const char *arg,
    const char *path, rpc_path_then_fn then, json_t *out, char *err, size_t errlen);

/* rpc_session.c's methods. */
int rpc_method_session_get(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen);
int rpc_method_session_set(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen);
int rpc_method_session_stats(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen);
int rpc_method_session_close(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen);
int rpc_method_port_test(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen);
/* Whether torrent-add starts torrents by default: the session's start_paused. */
bool rpc_session_start_added(struct rpc_handler *h);

/* The global seed ratio a client sees: the configured one, or Transmission's default 2.0 while
 * none is (the limit may be switched off). */
double rpc_session_seed_ratio(struct rpc_handler *h);
/* Transmission status code of a torrent. */
int rpc_status_of(const struct engine_torrent_stats *st);
/* True if name is a torrent-get field we know. */
bool rpc_field_known(const char *name);
/* The i-th known field name, NULL past the end (torrent-get without "fields"). */
const char *rpc_field_name_at(size_t i);

/* One torrent as torrent-get sees it: its stats (the caller's, kept until rpc_view_free) plus
 * files, peers, trackers and pieces, each copied from the engine the first time a field needs
 * them. */
struct rpc_torrent_view;
struct rpc_torrent_view *rpc_view_new(struct rpc_handler *h, const struct engine_torrent_stats *st);
/* The value of field `name`: a new reference, or NULL for a name we do not know. */
json_t *rpc_view_field(struct rpc_torrent_view *v, const char *name);
/* A field's place in the table (-1: unknown), looked up once for many torrents, and its value
 * by that place written to w (null for an unknown place). */
int rpc_field_index(const char *name);
void rpc_view_write_at(struct rpc_torrent_view *v, int index, struct rpc_jw *w);
void rpc_view_free(struct rpc_torrent_view *v);

/* ---- the HTTP server's other pages (rpc.c routes to them) ---- */

/* rpc_web.c: the web client's files. An answer: code 0 when the server went away first
 * (nothing to send), else an HTTP status, its reason, the content type (NULL: text/html for an
 * error page) and the body. */
typedef void (*rpc_web_reply_fn)(void *arg, int code, const char *reason, const char *type,
    const uint8_t *body, size_t len);
struct rpc_web;
/* root: the directory served; NULL or "": Transmission's web client as installed. */
struct rpc_web *rpc_web_new(struct engine *e, const char *root);
/* Jobs still on the disk pool answer with code 0 now. */
void rpc_web_free(struct rpc_web *w);
/* The path after /transmission/web/ as the request has it: a relative path inside the root
 * (decoded, index.html for a directory), or NULL when it could leave the root or names a
 * hidden file. */
char *rpc_web_path(const char *raw);

/* The HTTP side's checks of what a client sent, pure for the fuzz target (fuzz_rpc_http). */
/* An Authorization header (may be NULL) carrying Basic username:password; constant time for
 * equal lengths. */
bool rpc_basic_auth_matches(const char *authorization, const char *username,
    const char *password);
/* A Host header (NULL: HTTP/1.0, allowed) naming localhost, a numeric address or a name the
 * whitelist's patterns match: the DNS rebinding check. */
bool rpc_host_allowed(const char *host, char *const *whitelist, size_t whitelist_count);
enum rpc_route { RPC_ROUTE_NONE, RPC_ROUTE_RPC, RPC_ROUTE_WEB, RPC_ROUTE_WEB_HOME,
	RPC_ROUTE_METRICS };
/* What a request's path asks for; *rest is what follows /transmission/web/ (else NULL). */
enum rpc_route rpc_route_of(const char *uri, const char **rest);
/* Reads rel (from rpc_web_path) on the disk pool; cb answers on the loop. */
void rpc_web_get(struct rpc_web *w, const char *rel, rpc_web_reply_fn cb, void *arg);

/* rpc_trackers.c: torrent-set's trackerAdd, trackerRemove, trackerReplace and trackerList:
 * their types checked before any torrent is touched, then applied to one torrent (nothing to
 * do without them). 0, or -1 with err. */
int rpc_trackers_check(json_t *args, char *err, size_t errlen);
int rpc_trackers_apply(struct rpc_handler *h, int id, json_t *args, char *err, size_t errlen);

/* rpc_metrics.c: the Prometheus text; *len its length. */
char *rpc_metrics_text(struct engine *e, size_t *len);

#endif
