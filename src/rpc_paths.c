/* rpc_paths.c: where an RPC client may point the daemon (issue 11, findings 5 and 6): a path it
 * sends must lie, symbolic links resolved, under download_dir, completed_dir, watch_dir or one
 * of rpc.allowed_dirs; anything else would let any local user read or write as the daemon. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_config.h"
#include "rpc_private.h"
#include "util.h"

static void
rpc_paths_add(struct rpc_roots *r, const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		return;
	r->dir = xreallocarray(r->dir, r->n + 1, sizeof *r->dir);
	r->dir[r->n++] = xstrdup(dir);
}

void
rpc_roots_get(struct engine *e, struct rpc_roots *r)
{
	struct dp_config c;
	engine_config_get(e, &c);
	memset(r, 0, sizeof *r);
	rpc_paths_add(r, c.download_dir);
	rpc_paths_add(r, c.completed_dir);
	rpc_paths_add(r, c.watch_dir);
	for (size_t i = 0; i < c.rpc.allowed_dirs_count; i++)
		rpc_paths_add(r, c.rpc.allowed_dirs[i]);
	config_free(&c);
}

void
rpc_roots_free(struct rpc_roots *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->dir[i]);
	free(r->dir);
	memset(r, 0, sizeof *r);
}

/* path without links or dots: its longest existing prefix through realpath, the rest appended
 * as written (it does not exist yet, so it holds no link). ".." in that rest is refused: it
 * would climb out of a directory that is not there. -1 with errno. */
static int
rpc_paths_resolve(const char *path, char *out, size_t outlen)
{
	char head[PATH_MAX], real[PATH_MAX];
	size_t len = strlen(path);
	if (path[0] != '/' || len >= sizeof head) {
		errno = path[0] != '/' ? EINVAL : ENAMETOOLONG;
		return -1;
	}
	memcpy(head, path, len + 1);
	while (realpath(head, real) == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			return -1;
		char *slash = strrchr(head, '/');
		if (slash == head) {
			if (head[1] == '\0')
				return -1;
			head[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
	size_t n = strlen(real);
	if (n + 1 > outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, real, n + 1);
	/* The part that does not exist, component by component. */
	const char *tail = path + (strcmp(head, "/") == 0 ? 0 : strlen(head));
	while (*tail != '\0') {
		while (*tail == '/')
			tail++;
		size_t cl = strcspn(tail, "/");
		if (cl == 2 && tail[0] == '.' && tail[1] == '.') {
			errno = EINVAL;
			return -1;
		}
		if (cl > 0 && !(cl == 1 && tail[0] == '.')) {
			bool root = n == 1;
			if (n + !root + cl + 1 > outlen) {
				errno = ENAMETOOLONG;
				return -1;
			}
			if (!root)
				out[n++] = '/';
			memcpy(out + n, tail, cl);
			n += cl;
			out[n] = '\0';
		}
		tail += cl;
	}
	return 0;
}

static bool
rpc_paths_under(const char *path, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return true;
	return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int
rpc_roots_check(const struct rpc_roots *r, const char *what, const char *path, char *resolved,
    size_t rlen, char *err, size_t errlen)
{
	if (path[0] != '/')
		return dp_fail(err, errlen, "%s must be an absolute path", what);
	if (rpc_paths_resolve(path, resolved, rlen) < 0)
		return dp_fail(err, errlen, "%s %s: %s", what, path, errno == EINVAL ?
		    "'..' past a directory that does not exist" : strerror(errno));
	for (size_t i = 0; i < r->n; i++) {
		char root[PATH_MAX];
		if (rpc_paths_resolve(r->dir[i], root, sizeof root) == 0 &&
		    rpc_paths_under(resolved, root))
			return 0;
	}
	return dp_fail(err, errlen, "%s %s is outside the directories the RPC may use "
	    "(download_dir, completed_dir, watch_dir and rpc.allowed_dirs)", what, path);
}
