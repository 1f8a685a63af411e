/* rpc_start.c: the RPC server as the configuration asks for it, its authentication rule
 * included (configured credentials, SESSION/rpc-credentials, or off with a warning): what
 * `downpour daemon` and the terminal UI both start, so neither can run it open by accident. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dp_config.h"
#include "log.h"
#include "rpc.h"
#include "rpc_credentials.h"

/* rpc.authentication (issue 11, finding 5): without a configured user name the RPC uses the
 * session directory's generated credentials, never runs open unless the configuration says
 * so, and then says so at every start. ro gets the strings (*user, *pass: free them). */
static int
rpc_start_auth(const struct dp_config *c, struct rpc_options *ro, char **user, char **pass,
    char *cred_path, size_t cred_pathlen, char *err, size_t errlen)
{
	*user = *pass = NULL;
	cred_path[0] = '\0';
	if (c->rpc.username != NULL && c->rpc.username[0] != '\0')
		return 0;
	if (!c->rpc.authentication) {
		log_warn("rpc: authentication is off (rpc.authentication = false): every local user "
		    "can control this client and have it write files as this user");
		return 0;
	}
	bool created;
	if (rpc_credentials_load(c->session_dir, user, pass, cred_path, cred_pathlen, &created,
	    err, errlen) < 0)
		return -1;
	log_info("rpc: %s user name and password in %s (user '%s'; only this user may read it)",
	    created ? "no credentials configured: a new" : "no credentials configured: the",
	    cred_path, *user);
	ro->username = *user;
	ro->password = *pass;
	return 0;
}

struct rpc_server *
rpc_server_start(struct event_base *base, struct engine *e, const struct dp_config *cfg,
    void (*on_close)(void *arg), void *close_arg, char *cred_path, size_t cred_pathlen,
    char *err, size_t errlen)
{
	struct rpc_options ro;
	char *user, *pass;
	rpc_options_from_config(&ro, cfg);
	ro.on_close = on_close;
	ro.close_arg = close_arg;
	if (rpc_start_auth(cfg, &ro, &user, &pass, cred_path, cred_pathlen, err, errlen) < 0)
		return NULL;
	struct rpc_server *s = rpc_server_new(base, e, &ro, err, errlen);
	free(user);
	if (pass != NULL)
		OPENSSL_cleanse(pass, strlen(pass));
	free(pass);
	return s;
}
