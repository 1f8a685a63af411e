/* rpc_private.h: what the RPC's files share: the handler's state, the method table's signature
 * and the torrent-get field builders. Not for use outside src/rpc*.c. */
#ifndef DP_RPC_PRIVATE_H
#define DP_RPC_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine.h"
#include "rpc.h"

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
#define RPC_VERSION 17                  /* the spec revision we follow (Transmission 4.0) */
#define RPC_VERSION_MIN 14

struct rpc_removed {
	int id;
	int64_t when;
};

struct rpc_handler {
	struct engine *e;
	char *config_dir;
	bool sandbox;
	int64_t started;                /* wall seconds, for session-stats */
	/* ids seen by the last torrent list and those that vanished since (recently-active) */
	int *known;
	size_t known_count;
	struct rpc_removed *removed;
	size_t removed_count, removed_cap;
	/* requests waiting for filesystem work on the disk pool (rpc_handler_run_async) */
	bool async;                     /* the running request may defer */
	struct rpc_call *deferred;      /* set by a method that deferred (returns RPC_DEFER) */
	struct rpc_call *calls;         /* submitted, answer not yet sent */
};

/* A method's return value when its answer waits for a disk pool job (h->deferred). */
#define RPC_DEFER 1

/* A method: reads args (an object, never NULL), fills out (an object), or returns -1 with err. */
typedef int (*rpc_method_fn)(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen);

/* The global seed ratio a client sees: the configured one, or Transmission's default 2.0 while
 * none is (the limit may be switched off). */
double rpc_session_seed_ratio(struct rpc_handler *h);
/* Transmission status code of a torrent. */
int rpc_status_of(const struct engine_torrent_stats *st);
/* True if name is a torrent-get field we know. */
bool rpc_field_known(const char *name);
/* The i-th known field name, NULL past the end (torrent-get without "fields"). */
const char *rpc_field_name_at(size_t i);

/* One torrent as torrent-get sees it: its stats plus files, peers, trackers and pieces, each
 * copied from the engine the first time a field needs them. */
struct rpc_torrent_view;
struct rpc_torrent_view *rpc_view_new(struct rpc_handler *h, const struct engine_torrent_stats *st,
    size_t queue_pos);
/* The value of field `name`: a new reference, or NULL for a name we do not know. */
json_t *rpc_view_field(struct rpc_torrent_view *v, const char *name);
void rpc_view_free(struct rpc_torrent_view *v);

#endif
