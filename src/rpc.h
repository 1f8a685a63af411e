/* rpc.h: the Transmission-compatible RPC: an evhttp server on /transmission/rpc with the
 * session-id handshake, Basic authentication and a Host whitelist, and the JSON handler behind it;
 * the same server has the web client on /transmission/web/ and Prometheus metrics on /metrics. */
#ifndef DP_RPC_H
#define DP_RPC_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"

struct event_base;
struct dp_config;

#define RPC_DEFAULT_PORT 9091
#define RPC_DEFAULT_BIND "127.0.0.1"
#define RPC_DEFAULT_MAX_BODY (16u * 1024 * 1024)   /* a base64 .torrent of ~12 MiB */
#define RPC_DEFAULT_REQUEST_TIMEOUT_S 60

struct rpc_options {
	const char *bind;               /* numeric address; NULL = RPC_DEFAULT_BIND */
	int port;                       /* 0 = any free port (tests) */
	const char *username;           /* NULL or "" = no authentication */
	const char *password;
	char *const *host_whitelist;    /* names allowed in Host besides localhost and IPs */
	size_t host_whitelist_count;
	size_t max_body;                /* 0 = RPC_DEFAULT_MAX_BODY */
	int max_connections;            /* 0 = a share of the descriptor limit */
	int request_timeout_s;          /* 0 = RPC_DEFAULT_REQUEST_TIMEOUT_S */
	const char *config_dir;         /* shown as config-dir by session-get; may be NULL */
	const char *web_root;           /* /transmission/web/; NULL: Transmission's, installed */
	/* session-close: stops the program around the engine (on the loop, after the answer is
	 * queued); NULL refuses session-close. */
	void (*on_close)(void *arg);
	void *close_arg;
};

/* Fills o from cfg->rpc (pointers into cfg, which must outlive the server). */
void rpc_options_from_config(struct rpc_options *o, const struct dp_config *cfg);

/* The JSON request handler, without HTTP: what the server and the fuzz target share. */
struct rpc_handler;
struct rpc_handler *rpc_handler_new(struct engine *e, const char *config_dir);
void rpc_handler_free(struct rpc_handler *h);
/* The loop rpc_handler_run_async's answers run on: with it, torrent-get of many torrents
 * builds its answer in slices across loop turns instead of in one long callback. */
void rpc_handler_set_base(struct rpc_handler *h, struct event_base *base);
/* Sandboxed handlers refuse request arguments that name local paths (download-dir, filename
 * paths, delete-local-data, free-space): for fuzzing. */
void rpc_handler_set_sandbox(struct rpc_handler *h, bool on);
/* What session-close runs (NULL: refused). */
void rpc_handler_set_close_cb(struct rpc_handler *h, void (*cb)(void *arg), void *arg);
/*
 * One request body (Transmission's {method, arguments, tag} or JSON-RPC 2.0) in; the response
 * body out, a NUL-terminated string the caller frees. Never fails: bad input gets an error
 * result. *method_out (may be NULL) gets the method name for logging ("?" when unreadable).
 */
char *rpc_handler_run(struct rpc_handler *h, const char *body, size_t len, char *method_out,
    size_t method_len);
/* An answer: the body to send ("" for a JSON-RPC notification), or NULL when the handler was
 * freed before the answer was ready (nothing to send). The callee frees answer. */
typedef void (*rpc_answer_fn)(char *answer, const char *method, void *arg);
/*
 * Like rpc_handler_run, but the filesystem work of a request (reading the .torrent named by
 * torrent-add's filename, free-space's statvfs) runs on the engine's disk pool instead of the
 * calling thread, and the answer comes from its completion. cb runs exactly once: before this
 * returns, or later on the loop thread. rpc_handler_run does that work on the calling thread.
 */
void rpc_handler_run_async(struct rpc_handler *h, const char *body, size_t len,
    rpc_answer_fn cb, void *arg);
/* What a deferred answer (arg as given to rpc_handler_run_async) waits for, as a task state
 * and a reason in why: torrent-get's rows written in slices (SLICE_WAIT), the disk pool, a
 * download. */
enum engine_task_state rpc_handler_answer_wait(const struct rpc_handler *h, const void *arg,
    char *why, size_t len);

/* The HTTP server. */
struct rpc_server;
struct rpc_server *rpc_server_new(struct event_base *base, struct engine *e,
    const struct rpc_options *opts, char *err, size_t errlen);
void rpc_server_free(struct rpc_server *s);

/* The server the configuration asks for (cfg->rpc; the caller checks rpc.enabled), with its
 * authentication rule: the configured user name and password, else SESSION/rpc-credentials
 * (made once; cred_path receives its name, "" when not used), else none when
 * rpc.authentication is false (a warning in the log). on_close may be NULL (session-close
 * refused). NULL with err when the credentials or the listening socket fail. */
struct rpc_server *rpc_server_start(struct event_base *base, struct engine *e,
    const struct dp_config *cfg, void (*on_close)(void *arg), void *close_arg,
    char *cred_path, size_t cred_pathlen, char *err, size_t errlen);
/* The bound port (useful with port 0) and the current X-Transmission-Session-Id. */
int rpc_server_port(const struct rpc_server *s);
const char *rpc_server_session_id(const struct rpc_server *s);

/* Standard base64 (RFC 4648); decoding skips whitespace and rejects anything else that is not
 * in the alphabet. Both return a new buffer (NUL-terminated) or NULL on bad input. */
char *rpc_base64_encode(const unsigned char *in, size_t len);
unsigned char *rpc_base64_decode(const char *in, size_t len, size_t *out_len);

#endif
