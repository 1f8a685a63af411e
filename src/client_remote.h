/* client_remote.h: the engine client API on a daemon over the session's attach socket
 * (client_remote.c): connecting, the daemon's PID, and the figures the benchmark prints. */
#ifndef DP_CLIENT_REMOTE_H
#define DP_CLIENT_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

#include "bencode.h"
#include "client.h"

/* Connects to the daemon of session_dir and says hello: NULL with err when no daemon answers
 * there, or it speaks another protocol version. */
struct client *client_remote_new(const char *session_dir, char *err, size_t errlen);
/* A client with no daemon behind it: the fuzz target feeds it answers
 * (client_remote_apply_list); every call of the client API finds nothing. */
struct client *client_remote_new_offline(void);
/* The daemon's PID (0 in process). */
long client_remote_pid(const struct client *c);

struct client_remote_stats {
	uint64_t requests;
	uint64_t bytes_in;             /* every answer's bytes, headers included */
	uint64_t last_reply_bytes;
	uint64_t list_bytes;           /* the last snapshot's answers */
};
void client_remote_stats(const struct client *c, struct client_remote_stats *out);
/* Applies a torrent-list answer to c's copy (shared with the fuzz target); false when it does
 * not check out (c is then lost). */
bool client_remote_apply_list(struct client *c, const struct be_node *n, bool *more);

#endif
