/* rpc_credentials.h: the RPC's generated user name and password (issue 11, finding 5). */
#ifndef DP_RPC_CREDENTIALS_H
#define DP_RPC_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#define RPC_CREDENTIALS_FILE "rpc-credentials"
#define RPC_CREDENTIALS_USER "downpour"

/* The RPC never runs open by accident: with rpc.authentication on and no user name configured,
 * the credentials kept in SESSION_DIR/rpc-credentials ("USER:PASSWORD\n", 0600, ours) are used,
 * made once with a random password when missing. A file another user owns or may read, a link
 * or a malformed one is refused. *user and *pass are the caller's (free); path receives the
 * file's name; *created says it was made now. 0, or -1 with err. */
int rpc_credentials_load(const char *session_dir, char **user, char **pass, char *path,
    size_t pathlen, bool *created, char *err, size_t errlen);

#endif
