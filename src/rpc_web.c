/* rpc_web.c: the web client's files under /transmission/web/: a request path checked on the loop
 * (no "..", no hidden names, no escapes out of the root through links), the file read on the
 * disk pool, its content type from its extension. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "engine.h"
#include "log.h"
#include "rpc_private.h"
#include "util.h"

#define RPC_WEB_MAX_PATH 1024
#define RPC_WEB_MAX_FILE (16u << 20)

/* Where Debian and Transmission's own installs put its web client (4.x, then 3.00). */
static const char *const rpc_web_default_roots[] = {
	"/usr/share/transmission/public_html",
	"/usr/share/transmission/web",
};

struct rpc_web_job;

struct rpc_web {
	struct engine *e;
	char *root;                     /* configured, or NULL: the defaults */
	struct rpc_web_job *jobs;       /* on the disk pool */
};

struct rpc_web_job {
	struct rpc_web *w;              /* NULL once the server is gone */
	char *root;
	char *rel;                      /* checked, decoded, relative to the root */
	/* the worker's result */
	uint8_t *data;
	size_t len;
	int code;
	char msg[256];
	rpc_web_reply_fn cb;
	void *cb_arg;
	struct rpc_web_job *next;
};

struct rpc_web *
rpc_web_new(struct engine *e, const char *root)
{
	struct rpc_web *w = xcalloc(1, sizeof *w);
	w->e = e;
	w->root = root != NULL && root[0] != '\0' ? xstrdup(root) : NULL;
	return w;
}

void
rpc_web_free(struct rpc_web *w)
{
	if (w == NULL)
		return;
	/* Jobs still on the pool answer nobody; their requests are told now. */
	while (w->jobs != NULL) {
		struct rpc_web_job *j = w->jobs;
		w->jobs = j->next;
		j->w = NULL;
		j->cb(j->cb_arg, 0, NULL, NULL, NULL, 0);
	}
	free(w->root);
	free(w);
}

/* The content type of a file name. */
static const char *
rpc_web_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".html", "text/html; charset=UTF-8" },
		{ ".htm", "text/html; charset=UTF-8" },
		{ ".js", "application/javascript; charset=UTF-8" },
		{ ".mjs", "application/javascript; charset=UTF-8" },
		{ ".css", "text/css; charset=UTF-8" },
		{ ".json", "application/json" },
		{ ".map", "application/json" },
		{ ".png", "image/png" },
		{ ".gif", "image/gif" },
		{ ".jpg", "image/jpeg" },
		{ ".jpeg", "image/jpeg" },
		{ ".svg", "image/svg+xml" },
		{ ".ico", "image/x-icon" },
		{ ".webp", "image/webp" },
		{ ".woff", "font/woff" },
		{ ".woff2", "font/woff2" },
		{ ".ttf", "font/ttf" },
		{ ".txt", "text/plain; charset=UTF-8" },
		{ ".webmanifest", "application/manifest+json" },
	};
	const char *dot = strrchr(name, '.');
	if (dot != NULL && strchr(dot, '/') == NULL)
		for (size_t i = 0; i < DP_ARRAY_LEN(types); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/*
 * The path after /transmission/web/ as it came (percent-escaped, maybe with a query): decoded
 * into a relative path, index.html for a directory. NULL for anything that could leave the
 * root or name a hidden file: "..", ".", empty segments, a leading '.', NUL, backslashes.
 */
char *
rpc_web_path(const char *raw)
{
	size_t n = strcspn(raw, "?#");
	if (n > RPC_WEB_MAX_PATH)
		return NULL;
	char *enc = xstrndup(raw, n);
	size_t dlen = 0;
	char *dec = evhttp_uridecode(enc, 0, &dlen);
	free(enc);
	if (dec == NULL)
		return NULL;
	bool ok = strlen(dec) == dlen && strchr(dec, '\\') == NULL && dec[0] != '/';
	for (const char *seg = dec; ok && *seg != '\0';) {
		size_t len = strcspn(seg, "/");
		if (len == 0 || seg[0] == '.')
			ok = false;
		for (size_t i = 0; ok && i < len; i++)
			if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f)
				ok = false;
		seg += len;
		if (*seg == '/')
			seg++;
	}
	if (!ok) {
		free(dec);
		return NULL;
	}
	char *rel = dlen == 0 || dec[dlen - 1] == '/' ? xasprintf("%sindex.html", dec) :
	    xstrdup(dec);
	free(dec);
	return rel;
}

/* On a worker: find the root, resolve the file inside it, read it. */
static void
rpc_web_work(void *arg)
{
	struct rpc_web_job *j = arg;
	char root[PATH_MAX];
	bool have_root = false;
	if (j->root != NULL) {
		have_root = realpath(j->root, root) != NULL;
	} else {
		for (size_t i = 0; i < DP_ARRAY_LEN(rpc_web_default_roots) && !have_root; i++)
			have_root = realpath(rpc_web_default_roots[i], root) != NULL;
	}
	if (!have_root) {
		j->code = 404;
		if (j->root != NULL)
			snprintf(j->msg, sizeof j->msg, "The web client directory %s (rpc.web_root) "
			    "cannot be opened: %s.", j->root, strerror(errno));
		else
			snprintf(j->msg, sizeof j->msg, "No web client is installed: install "
			    "transmission-common or set rpc.web_root.");
		return;
	}
	char *full = xasprintf("%s/%s", root, j->rel);
	char real[PATH_MAX];
	size_t rlen = strlen(root);
	if (realpath(full, real) == NULL) {
		j->code = errno == ENOENT || errno == ENOTDIR ? 404 : 403;
		snprintf(j->msg, sizeof j->msg, "%s.", errno == ENOENT || errno == ENOTDIR ?
		    "No such file" : "Cannot open that file");
	} else if (strncmp(real, root, rlen) != 0 || real[rlen] != '/') {
		/* A link out of the web root. */
		j->code = 403;
		snprintf(j->msg, sizeof j->msg, "That file is outside the web client's directory.");
	} else if (dp_read_file(real, RPC_WEB_MAX_FILE, &j->data, &j->len) < 0) {
		int e = errno;
		j->code = e == ENOENT ? 404 : e == EISDIR ? 403 : 500;
		snprintf(j->msg, sizeof j->msg, "Cannot read that file: %s.", dp_strerror(e));
		if (j->code == 500)
			log_warn("rpc: web client: %s: %s", real, dp_strerror(e));
	} else {
		j->code = 200;
	}
	free(full);
}

static void
rpc_web_job_free(struct rpc_web_job *j)
{
	free(j->root);
	free(j->rel);
	free(j->data);
	free(j);
}

/* On the loop: answer with what the worker found. */
static void
rpc_web_done(void *arg)
{
	struct rpc_web_job *j = arg;
	struct rpc_web *w = j->w;
	if (w != NULL) {
		for (struct rpc_web_job **pp = &w->jobs; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == j) {
				*pp = j->next;
				break;
			}
		}
		if (j->code == 200)
			j->cb(j->cb_arg, 200, "OK", rpc_web_type(j->rel), j->data, j->len);
		else
			j->cb(j->cb_arg, j->code, j->code == 404 ? "Not Found" : j->code == 403 ?
			    "Forbidden" : "Internal Server Error", NULL, (const uint8_t *)j->msg,
			    strlen(j->msg));
	}
	rpc_web_job_free(j);
}

void
rpc_web_get(struct rpc_web *w, const char *rel, rpc_web_reply_fn cb, void *arg)
{
	struct rpc_web_job *j = xcalloc(1, sizeof *j);
	j->w = w;
	j->root = w->root != NULL ? xstrdup(w->root) : NULL;
	j->rel = xstrdup(rel);
	j->cb = cb;
	j->cb_arg = arg;
	j->next = w->jobs;
	w->jobs = j;
	char what[160];
	snprintf(what, sizeof what, "rpc web client: reading %.120s", rel);
	engine_run_blocking(w->e, what, rpc_web_work, rpc_web_done, j);
}
