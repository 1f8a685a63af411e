/* webseed.c: BEP 19 web seeds: picks whole pieces for each seed, splits them into one ranged GET
 * per file (pad files are zeros and never fetched), checks what came back, hands the blocks to
 * the torrent, and keeps each seed's backoff, disabling and task. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bandwidth.h"
#include "log.h"
#include "metainfo.h"
#include "peer.h"
#include "picker.h"
#include "task.h"
#include "tracker_private.h"
#include "util.h"
#include "webseed.h"

#define WEBSEED_INFLIGHT 3            /* pieces in flight per seed */
#define WEBSEED_RETRY_MIN_MS 2000u    /* first retry after a failure, doubling */
#define WEBSEED_RETRY_MAX_MS 300000u

struct webseed_req;

/* One GET: a file's share of a request's bytes. */
struct webseed_part {
	struct webseed_req *req;
	struct tracker_http_fetch *fetch;   /* NULL once answered */
	uint64_t at;                        /* where its bytes go in req->data */
	uint64_t first, len;                /* the range in its file */
};

/* A run of whole blocks of one piece, in flight. */
struct webseed_req {
	struct webseed_seed *seed;
	struct webseed_req *next;
	uint32_t piece, offset, len;
	uint8_t *data;
	struct webseed_part *parts;
	size_t nparts, pending;
	bool ignores_range;
	char err[200];
};

struct webseed_seed {
	struct webseed_set *set;
	unsigned idx;
	char *url;
	struct dp_task *task;
	bool disabled;
	char reason[200];
	unsigned fails;
	uint64_t next_try_ms;
	unsigned inflight;
	uint64_t downloaded;
	struct bw_meter meter;          /* its download rate, as a peer's */
	struct webseed_req *reqs;
};

struct webseed_set {
	struct webseed_env env;
	struct webseed_seed *seeds;
	size_t n;
	bool filling;                   /* webseed_fill runs: a request finished inside it waits */
};

static void webseed_req_finish(struct webseed_req *r);
static void webseed_fill(struct webseed_seed *w);

/* RFC 3986 unreserved characters stay, the rest is %XX. */
static void
webseed_encode(struct dp_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~' || *p == '/') {
			dp_buf_add(b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			dp_buf_add(b, e, 3);
		}
	}
}

char *
webseed_file_url(const char *base, const struct metainfo *mi, size_t file)
{
	const char *name = mi->display_name != NULL ? mi->display_name : mi->name;
	size_t blen = strlen(base);
	bool slash = blen > 0 && base[blen - 1] == '/';
	struct dp_buf b;
	dp_buf_init(&b);
	dp_buf_add(&b, base, blen);
	if (!mi->multi_file && !slash) {
		dp_buf_add(&b, "", 1);
		size_t len;
		return (char *)dp_buf_steal(&b, &len);
	}
	if (!slash)
		dp_buf_add(&b, "/", 1);
	/* The name is one component: a '/' in it is data, not a separator. */
	struct dp_buf n;
	dp_buf_init(&n);
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '/')
			dp_buf_add(&n, "%2F", 3);
		else
			webseed_encode(&n, (char[]){ *p, '\0' });
	}
	dp_buf_add(&b, n.data, n.len);
	dp_buf_free(&n);
	if (mi->multi_file) {
		const struct mi_file *f = &mi->files[file];
		dp_buf_add(&b, "/", 1);
		webseed_encode(&b, f->display_path != NULL ? f->display_path : f->path);
	}
	dp_buf_add(&b, "", 1);
	size_t len;
	return (char *)dp_buf_steal(&b, &len);
}

static bool
webseed_usable_url(const char *url)
{
	return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

struct webseed_set *
webseed_set_new(const struct webseed_env *env)
{
	const struct metainfo *mi = env->mi;
	size_t n = 0;
	for (size_t i = 0; i < mi->webseed_count; i++)
		n += webseed_usable_url(mi->webseeds[i]);
	if (n == 0 || mi->piece_count == 0)
		return NULL;
	if (n > WEBSEED_MAX)
		n = WEBSEED_MAX;
	struct webseed_set *s = xcalloc(1, sizeof *s);
	s->env = *env;
	s->seeds = xcalloc(n, sizeof *s->seeds);
	for (size_t i = 0; i < mi->webseed_count && s->n < n; i++) {
		if (!webseed_usable_url(mi->webseeds[i]))
			continue;
		struct webseed_seed *w = &s->seeds[s->n];
		w->set = s;
		w->idx = (unsigned)s->n++;
		w->url = xstrdup(mi->webseeds[i]);
		bw_meter_init(&w->meter);
		w->task = task_new(DP_TASK_KIND_WEBSEED, env->torrent_id, "webseed %.60s %.24s",
		    w->url, mi->name);
		task_idle(w->task, DP_TASK_PEER_WAIT, "waiting for the torrent to download");
	}
	return s;
}

static void
webseed_req_free(struct webseed_req *r)
{
	for (size_t i = 0; i < r->nparts; i++)
		tracker_http_fetch_cancel(r->parts[i].fetch);
	free(r->parts);
	free(r->data);
	free(r);
}

/* Gives the request's blocks back to the picker and forgets it. */
static void
webseed_req_drop(struct webseed_req *r)
{
	struct webseed_seed *w = r->seed;
	struct picker *pk = w->set->env.sw->pk;
	for (uint32_t off = r->offset; off < r->offset + r->len; off += DP_BLOCK_SIZE)
		picker_block_abandoned(pk, r->piece, off, w);
	webseed_req_free(r);
}

static void
webseed_unlink(struct webseed_req *r)
{
	struct webseed_seed *w = r->seed;
	for (struct webseed_req **pp = &w->reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			w->inflight--;
			return;
		}
	}
}

static void
webseed_stop_seed(struct webseed_seed *w)
{
	while (w->reqs != NULL) {
		struct webseed_req *r = w->reqs;
		webseed_unlink(r);
		webseed_req_drop(r);
	}
	/* The pieces it started are nobody's now (the picker keeps an owner per piece). */
	picker_peer_abandon_all(w->set->env.sw->pk, w);
}

void
webseed_set_stop(struct webseed_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		webseed_stop_seed(&s->seeds[i]);
		if (!s->seeds[i].disabled)
			task_idle(s->seeds[i].task, DP_TASK_PEER_WAIT,
			    "waiting for the torrent to download");
	}
}

void
webseed_set_free(struct webseed_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct webseed_seed *w = &s->seeds[i];
		webseed_stop_seed(w);
		if (!w->disabled)
			task_done(w->task, "torrent stopped using it");
		task_release(&w->task);
		free(w->url);
	}
	free(s->seeds);
	free(s);
}

static void
webseed_disable(struct webseed_seed *w, const char *fmt, ...) DP_PRINTF(2, 3);
static void
webseed_disable(struct webseed_seed *w, const char *fmt, ...)
{
	if (w->disabled)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->reason, sizeof w->reason, fmt, ap);
	va_end(ap);
	w->disabled = true;
	log_warn("%s: web seed %s disabled: %s", w->set->env.mi->name, w->url, w->reason);
	webseed_stop_seed(w);
	task_fail(w->task, "disabled: %s", w->reason);
}

void
webseed_set_piece_failed(struct webseed_set *s, uint32_t mask, uint32_t piece)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		if (mask & (1u << i))
			webseed_disable(&s->seeds[i], "piece %u failed the hash check", piece);
}

static void
webseed_part_done(void *arg, int status, const uint8_t *body, size_t len, const char *err)
{
	struct webseed_part *part = arg;
	struct webseed_req *r = part->req;
	part->fetch = NULL;
	if (err != NULL) {
		if (strstr(err, TRACKER_HTTP_TOO_LONG) != NULL)
			r->ignores_range = true;
		else if (r->err[0] == '\0')
			snprintf(r->err, sizeof r->err, "%s", err);
	} else if (len == part->len && (status == 206 || (status == 200 && part->first == 0))) {
		/* 206 is the range; 200 is the whole file, usable when the range was all of it. */
		memcpy(r->data + part->at, body, len);
	} else if (status == 200) {
		r->ignores_range = true;
	} else if (r->err[0] == '\0') {
		if (status == 206)
			snprintf(r->err, sizeof r->err, "%zu bytes for a range of %llu", len,
			    (unsigned long long)part->len);
		else
			snprintf(r->err, sizeof r->err, "HTTP status %d", status);
	}
	if (--r->pending == 0)
		webseed_req_finish(r);
}

static void
webseed_seed_state(struct webseed_seed *w)
{
	if (w->disabled)
		return;
	if (w->inflight > 0)
		task_wait(w->task, DP_TASK_READ_WAIT, "fetching piece %u (%u in flight)",
		    w->reqs->piece, w->inflight);
	else if (w->fails > 0)
		task_wait(w->task, DP_TASK_TIMER_WAIT, "retrying after: %s", w->reason);
	else if (w->set->env.disk_paused != NULL && *w->set->env.disk_paused)
		task_wait(w->task, DP_TASK_DISK_WAIT,
		    "disk write queue full: no fetch until it drains");
	else
		task_idle(w->task, DP_TASK_PEER_WAIT, "no piece to fetch");
	/* The last GET's deadline is over; a retry's is when it comes. */
	if (w->inflight == 0)
		task_set_deadline(w->task, w->fails > 0 ? w->next_try_ms * 1000 : 0);
}

/* Every GET of r answered (inside the fetch's callback, which brackets the seed's task). */
static void
webseed_req_finish(struct webseed_req *r)
{
	struct webseed_seed *w = r->seed;
	const struct webseed_env *env = &w->set->env;
	webseed_unlink(r);
	if (r->ignores_range) {
		webseed_req_drop(r);
		webseed_disable(w, "the server ignores Range requests (it sends whole files)");
		return;
	}
	if (r->err[0] != '\0') {
		/* The requests in flight together fail together: one backoff step for them all. */
		uint64_t now = dp_now_ms();
		if (now >= w->next_try_ms) {
			uint64_t delay = WEBSEED_RETRY_MIN_MS << (w->fails < 8 ? w->fails : 8);
			if (delay > WEBSEED_RETRY_MAX_MS)
				delay = WEBSEED_RETRY_MAX_MS;
			w->fails++;
			w->next_try_ms = now + delay;
			log_warn("%s: web seed %s: piece %u: %s (retrying in %llu s)", env->mi->name,
			    w->url, r->piece, r->err, (unsigned long long)(delay / 1000));
		}
		snprintf(w->reason, sizeof w->reason, "%s", r->err);
		webseed_req_drop(r);
		webseed_seed_state(w);
		return;
	}
	w->fails = 0;
	w->reason[0] = '\0';
	struct picker *pk = env->sw->pk;
	bw_bucket_consume(env->sw->down_bucket, r->len);
	bw_bucket_consume(env->global_down, r->len);
	for (uint32_t off = r->offset; off < r->offset + r->len; off += DP_BLOCK_SIZE) {
		uint32_t blen = r->offset + r->len - off < DP_BLOCK_SIZE ? r->offset + r->len - off :
		    DP_BLOCK_SIZE;
		uint8_t *dest = env->ops->block_dest(env->owner, r->piece, off, blen);
		if (dest == NULL) {
			picker_block_abandoned(pk, r->piece, off, w);
			continue;
		}
		memcpy(dest, r->data + (off - r->offset), blen);
		env->ops->block_done(env->owner, w, w->idx, r->piece, off, blen);
	}
	w->downloaded += r->len;
	bw_meter_add(&w->meter, r->len, dp_now_ms());
	task_progress(w->task, r->len, 0);
	webseed_req_free(r);
	/* The next piece at once, not at the next tick: a tick per three pieces is slow. */
	if (!w->set->filling)
		webseed_fill(w);
	webseed_seed_state(w);
}

/* Picks a run of blocks of one piece for w and starts its GETs; false when nothing is wanted. */
static bool
webseed_request(struct webseed_seed *w)
{
	const struct webseed_env *env = &w->set->env;
	const struct metainfo *mi = env->mi;
	struct picker *pk = env->sw->pk;
	size_t max = (mi->piece_length + DP_BLOCK_SIZE - 1) / DP_BLOCK_SIZE;
	struct picker_block *b = xcalloc(max, sizeof *b);
	size_t n = picker_pick(pk, NULL, w, true, b, max);
	if (n == 0) {
		free(b);
		return false;
	}
	/* The first block and those right after it in the same piece: one range. The rest goes
	 * back (a piece shared with peers, or several started at once). */
	size_t run = 1;
	while (run < n && b[run].piece == b[0].piece &&
	    b[run].offset == b[run - 1].offset + b[run - 1].length)
		run++;
	for (size_t i = run; i < n; i++)
		picker_block_abandoned(pk, b[i].piece, b[i].offset, w);
	struct webseed_req *r = xcalloc(1, sizeof *r);
	r->seed = w;
	r->piece = b[0].piece;
	r->offset = b[0].offset;
	r->len = b[run - 1].offset + b[run - 1].length - b[0].offset;
	free(b);
	r->data = xcalloc(1, r->len);    /* pad files' bytes stay zero */
	r->parts = xcalloc(mi->file_count, sizeof *r->parts);
	uint64_t pos = (uint64_t)r->piece * mi->piece_length + r->offset;
	uint64_t end = pos + r->len;
	for (size_t fi = metainfo_file_at(mi, pos); fi < mi->file_count && pos < end; fi++) {
		const struct mi_file *f = &mi->files[fi];
		if (f->length == 0 || f->offset + f->length <= pos)
			continue;
		uint64_t seg_end = f->offset + f->length < end ? f->offset + f->length : end;
		if (!f->pad && !f->symlink) {
			struct webseed_part *p = &r->parts[r->nparts++];
			p->req = r;
			p->at = pos - ((uint64_t)r->piece * mi->piece_length + r->offset);
			p->first = pos - f->offset;
			p->len = seg_end - pos;
		}
		pos = seg_end;
	}
	r->next = w->reqs;
	w->reqs = r;
	w->inflight++;
	r->pending = r->nparts + 1;     /* held until every GET has started */
	for (size_t i = 0; i < r->nparts; i++) {
		struct webseed_part *p = &r->parts[i];
		size_t fi = metainfo_file_at(mi, (uint64_t)r->piece * mi->piece_length + r->offset +
		    p->at);
		char *url = webseed_file_url(w->url, mi, fi);
		p->fetch = tracker_http_fetch_range(env->base, env->dns, env->ssl_ctx, url, "web seed",
		    AF_UNSPEC, p->first, p->len, w->task, webseed_part_done, p);
		free(url);
		if (p->fetch == NULL) {
			snprintf(r->err, sizeof r->err, "cannot start an HTTP request");
			r->pending--;
		}
	}
	/* Only pad bytes (or every start failed): finished here. */
	if (--r->pending == 0)
		webseed_req_finish(r);
	return true;
}

/* Requests while w has room, pieces are wanted and the rate limits are open. Not while the
 * disk pause holds (peers stop reading then): each fetch that ended started the next, and
 * every piece fetched waited for the disk past the bound. The tick resumes after the pause. */
static void
webseed_fill(struct webseed_seed *w)
{
	const struct webseed_env *env = &w->set->env;
	if (w->disabled || dp_now_ms() < w->next_try_ms ||
	    (env->disk_paused != NULL && *env->disk_paused))
		return;
	w->set->filling = true;
	while (!w->disabled && w->inflight < WEBSEED_INFLIGHT &&
	    bw_bucket_open(env->sw->down_bucket) && bw_bucket_open(env->global_down) &&
	    webseed_request(w))
		;
	w->set->filling = false;
}

void
webseed_set_tick(struct webseed_set *s, uint64_t now_ms)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct webseed_seed *w = &s->seeds[i];
		if (w->disabled || now_ms < w->next_try_ms)
			continue;
		task_cb_begin(w->task);
		webseed_fill(w);
		webseed_seed_state(w);
		task_cb_end(w->task);
	}
}

bool
webseed_set_owns(const struct webseed_set *s, const void *who)
{
	return s != NULL && (const char *)who >= (const char *)s->seeds &&
	    (const char *)who < (const char *)(s->seeds + s->n);
}

size_t
webseed_set_count(const struct webseed_set *s)
{
	return s != NULL ? s->n : 0;
}

void
webseed_set_info(struct webseed_set *s, size_t i, struct webseed_info *out)
{
	struct webseed_seed *w = &s->seeds[i];
	out->down_rate = bw_meter_rate(&w->meter, dp_now_ms());
	out->url = w->url;
	out->disabled = w->disabled;
	out->reason = w->reason;
	out->inflight = w->inflight;
	out->downloaded = w->downloaded;
}
