/* engine_blocklist.c: the IP filter in force (blocklist.c's ranges): loaded from blocklist_file
 * (or SESSION/blocklist) on the disk pool when switched on, replaced by blocklist-update's
 * download (libevent's HTTP client, on the loop; parsed and saved on the pool), and asked for
 * every connection in and out (session.c asks e->ip_filter and counts what it refuses). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "blocklist.h"
#include "dp_config.h"
#include "engine.h"
#include "engine_private.h"
#include "engine_state.h"
#include "log.h"
#include "util.h"

#define BLOCKLIST_FETCH_TIMEOUT_S 60

struct engine_blocklist {
	struct blocklist list;            /* empty while off or nothing loaded */
	char source[1024];                /* where the list in force came from */
	unsigned gen;                     /* bumped by each load: an older job's list is dropped */
	char *session_dir;
	struct evhttp_connection *conn;   /* a download in flight */
	struct engine_blocklist_fetch *fetch;
};

/* A load or a download being parsed (and saved) on the pool. */
struct engine_blocklist_job {
	struct engine *e;
	unsigned gen;
	char *path;                       /* read from it (data NULL) or written to it */
	char *source;
	uint8_t *data;
	size_t len;
	struct blocklist list;
	int error;
	char errmsg[512];
	void (*done)(void *arg, const char *err, size_t rules);
	void *arg;
};

struct engine_blocklist_fetch {
	struct engine *e;
	void (*done)(void *arg, const char *err, size_t rules);
	void *arg;
};

static struct engine_blocklist *
engine_blocklist_of(struct engine *e)
{
	if (e->blocklist == NULL)
		e->blocklist = xcalloc(1, sizeof *e->blocklist);
	return e->blocklist;
}

/* The file the list lives in: blocklist_file, else SESSION/blocklist; NULL: none. */
static char *
engine_blocklist_path(struct engine *e)
{
	const struct dp_config *c = engine_settings_live(e);
	if (c->blocklist_file != NULL)
		return xstrdup(c->blocklist_file);
	struct engine_blocklist *b = engine_blocklist_of(e);
	return b->session_dir != NULL ? xasprintf("%s/blocklist", b->session_dir) : NULL;
}

static void
engine_blocklist_work(void *arg)
{
	struct engine_blocklist_job *j = arg;
	if (j->data == NULL) {
		if (dp_read_file(j->path, BLOCKLIST_MAX_BYTES, &j->data, &j->len) < 0) {
			j->error = errno;
			snprintf(j->errmsg, sizeof j->errmsg, "%s: %s", j->path, errno == EFBIG ?
			    "larger than 64 MiB" : strerror(errno));
			return;
		}
		j->error = blocklist_parse((const char *)j->data, j->len, &j->list, j->errmsg,
		    sizeof j->errmsg) < 0 ? EINVAL : 0;
		return;
	}
	if (blocklist_parse((const char *)j->data, j->len, &j->list, j->errmsg,
	    sizeof j->errmsg) < 0) {
		j->error = EINVAL;
		return;
	}
	char err[512];
	if (j->path != NULL && dp_write_file_atomic(j->path, j->data, j->len, NULL, NULL, err,
	    sizeof err) < 0)
		log_error("blocklist: the list downloaded is in force but not kept: %s", err);
}

static void
engine_blocklist_job_done(void *arg)
{
	struct engine_blocklist_job *j = arg;
	struct engine_blocklist *b = j->e->blocklist;
	const char *err = NULL;
	size_t rules = 0;
	if (j->error != 0) {
		err = j->errmsg;
		log_error("blocklist: %s", j->errmsg);
	} else if (b != NULL && j->gen == b->gen) {
		blocklist_free(&b->list);
		b->list = j->list;
		memset(&j->list, 0, sizeof j->list);
		j->e->ip_filter = &b->list;
		snprintf(b->source, sizeof b->source, "%s", j->source);
		rules = b->list.rules;
		log_info("blocklist: %zu range%s from %s (%zu line%s not understood)", b->list.n,
		    b->list.n == 1 ? "" : "s", j->source, b->list.bad_lines,
		    b->list.bad_lines == 1 ? "" : "s");
	} else {
		err = "the blocklist was switched off or replaced meanwhile";
	}
	if (j->done != NULL)
		j->done(j->arg, err, rules);
	blocklist_free(&j->list);
	free(j->path);
	free(j->source);
	free(j->data);
	free(j);
}

static void
engine_blocklist_submit(struct engine *e, struct engine_blocklist_job *j)
{
	j->e = e;
	j->gen = ++engine_blocklist_of(e)->gen;
	engine_run_blocking(e, "blocklist: reading and sorting", engine_blocklist_work,
	    engine_blocklist_job_done, j);
}

void
engine_blocklist_reload(struct engine *e)
{
	struct engine_blocklist *b = engine_blocklist_of(e);
	b->gen++;
	if (!engine_settings_live(e)->blocklist_enabled) {
		if (b->list.n > 0)
			log_info("blocklist: off");
		blocklist_free(&b->list);
		b->source[0] = '\0';
		e->ip_filter = NULL;
		return;
	}
	char *path = engine_blocklist_path(e);
	if (path == NULL)
		return;
	struct engine_blocklist_job *j = xcalloc(1, sizeof *j);
	j->path = path;
	j->source = xstrdup(path);
	engine_blocklist_submit(e, j);
}

void
engine_blocklist_session_dir(struct engine *e, const char *dir)
{
	struct engine_blocklist *b = engine_blocklist_of(e);
	free(b->session_dir);
	b->session_dir = dir != NULL ? xstrdup(dir) : NULL;
	if (engine_settings_live(e)->blocklist_file == NULL)
		engine_blocklist_reload(e);
}


void
engine_blocklist_get(struct engine *e, struct engine_blocklist_info *out)
{
	memset(out, 0, sizeof *out);
	struct engine_blocklist *b = e->blocklist;
	out->enabled = engine_settings_live(e)->blocklist_enabled;
	if (b == NULL)
		return;
	out->ranges = b->list.n;
	out->rules = b->list.rules;
	out->refused_in = e->filtered_in;
	out->refused_out = e->filtered_out;
	snprintf(out->source, sizeof out->source, "%s", b->source);
}

/* ---- blocklist-update: the download ---- */

static void
engine_blocklist_fetch_cb(struct evhttp_request *req, void *arg)
{
	struct engine_blocklist_fetch *f = arg;
	struct engine *e = f->e;
	struct engine_blocklist *b = engine_blocklist_of(e);
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	char why[256];
	if (code != 200) {
		if (code == 0)
			snprintf(why, sizeof why, "blocklist-update: %s did not answer (refused, timed "
			    "out or larger than 64 MiB)", engine_settings_live(e)->blocklist_url);
		else
			snprintf(why, sizeof why, "blocklist-update: the server answered HTTP %d",
			    code);
		log_error("%s", why);
		f->done(f->arg, why, 0);
	} else {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		struct engine_blocklist_job *j = xcalloc(1, sizeof *j);
		j->len = evbuffer_get_length(in);
		j->data = xmalloc(j->len + 1);
		evbuffer_remove(in, j->data, j->len);
		j->path = engine_blocklist_path(e);
		j->source = xstrdup(engine_settings_live(e)->blocklist_url);
		j->done = f->done;
		j->arg = f->arg;
		engine_blocklist_submit(e, j);
	}
	b->fetch = NULL;
	free(f);
	/* The connection is freed outside its own callback. */
}

int
engine_blocklist_update(struct engine *e, void (*done)(void *arg, const char *err,
    size_t rules), void *arg, char *err, size_t errlen)
{
	const struct dp_config *c = engine_settings_live(e);
	struct engine_blocklist *b = engine_blocklist_of(e);
	if (!c->blocklist_enabled)
		return dp_fail(err, errlen, "the blocklist is off (blocklist-enabled, the blocklist setting)");
	if (c->blocklist_url == NULL)
		return dp_fail(err, errlen, "no blocklist-url to fetch");
	if (b->fetch != NULL)
		return dp_fail(err, errlen, "a blocklist-update is already running");
	struct evhttp_uri *u = evhttp_uri_parse(c->blocklist_url);
	const char *scheme = u != NULL ? evhttp_uri_get_scheme(u) : NULL;
	const char *host = u != NULL ? evhttp_uri_get_host(u) : NULL;
	if (scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL || host[0] == '\0') {
		if (u != NULL)
			evhttp_uri_free(u);
		return dp_fail(err, errlen, "blocklist-url must be an http:// URL (no https, no "
		    "gzip: downpour has neither TLS for it nor zlib)");
	}
	int port = evhttp_uri_get_port(u);
	const char *path = evhttp_uri_get_path(u);
	const char *query = evhttp_uri_get_query(u);
	char *target = xasprintf("%s%s%s", path != NULL && path[0] != '\0' ? path : "/",
	    query != NULL ? "?" : "", query != NULL ? query : "");
	if (b->conn != NULL)
		evhttp_connection_free(b->conn);
	b->conn = evhttp_connection_base_new(e->base, e->dns, host, port > 0 ? (uint16_t)port : 80);
	int rc = -1;
	if (b->conn != NULL) {
		evhttp_connection_set_timeout(b->conn, BLOCKLIST_FETCH_TIMEOUT_S);
		evhttp_connection_set_max_body_size(b->conn, BLOCKLIST_MAX_BYTES);
		struct engine_blocklist_fetch *f = xcalloc(1, sizeof *f);
		f->e = e;
		f->done = done;
		f->arg = arg;
		struct evhttp_request *req = evhttp_request_new(engine_blocklist_fetch_cb, f);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
		evhttp_add_header(evhttp_request_get_output_headers(req), "User-Agent",
		    "downpour/" PACKAGE_VERSION);
		if (evhttp_make_request(b->conn, req, EVHTTP_REQ_GET, target) == 0) {
			b->fetch = f;
			rc = 0;
			log_info("blocklist-update: fetching %s", c->blocklist_url);
		} else {
			free(f);
		}
	}
	free(target);
	evhttp_uri_free(u);
	if (rc < 0)
		return dp_fail(err, errlen, "blocklist-update: cannot request %s",
		    c->blocklist_url);
	return 0;
}

void
engine_blocklist_free(struct engine *e)
{
	struct engine_blocklist *b = e->blocklist;
	if (b == NULL)
		return;
	if (b->conn != NULL)
		evhttp_connection_free(b->conn);   /* a fetch in flight is dropped unanswered */
	free(b->fetch);
	e->ip_filter = NULL;
	blocklist_free(&b->list);
	free(b->session_dir);
	free(b);
	e->blocklist = NULL;
}
