/* tls_trust.c: the client TLS context and its trust store, loaded on the disk pool when the first
 * HTTPS connection asks (issue 19: the CA bundle cost every start about 40 ms on the loop), as a
 * task the monitor shows ("disk loading the system's certificates"). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "disk.h"
#include "log.h"
#include "tls_trust.h"
#include "util.h"

/* Waits answered per callback once the store is loaded: at most this long, at least this many
 * (each starts a connection's name lookup; thousands of torrents may wait on one load). */
#define TLS_TRUST_SLICE_US 4000u
#define TLS_TRUST_SLICE_MIN 8u

struct tls_trust_wait {
	void (*ready)(void *arg);
	void *arg;
	struct tls_trust_wait *next, *prev;
};

/* Kept in the context (ex_data), so whoever holds the context can wait on it. */
struct tls_trust {
	SSL_CTX *ctx;                   /* NULL once the context is freed while the job is out */
	struct disk_pool *pool;
	struct event *more_ev;          /* the next slice of waits to answer */
	struct disk_job job;            /* the load, while started */
	bool started, loaded;
	bool stopped;                   /* the session is going: no wait is answered */
	X509_STORE *store;              /* the job's result, taken on the loop */
	bool store_ok;
	struct tls_trust_wait *waits, *waits_tail;   /* in the order they came */
	uint64_t slices;
};

static int tls_trust_index = -1;
static pthread_once_t tls_trust_once = PTHREAD_ONCE_INIT;

static void
tls_trust_index_new(void)
{
	tls_trust_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static struct tls_trust *
tls_trust_of(SSL_CTX *ctx)
{
	pthread_once(&tls_trust_once, tls_trust_index_new);
	return ctx == NULL || tls_trust_index < 0 ? NULL : SSL_CTX_get_ex_data(ctx, tls_trust_index);
}

/* Where the pool cannot do it: the system's certificates loaded here, at once (the bundle's
 * parse blocks the caller). */
static void
tls_trust_load_here(SSL_CTX *ctx)
{
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		log_warn("TLS: the system's certificates could not be loaded; HTTPS servers will "
		    "not be trusted");
}

/* A worker: a store of its own (the context's is not touched off the loop). */
static void
tls_trust_load_call(struct disk_job *job)
{
	struct tls_trust *tt = job->arg;
	X509_STORE *st = X509_STORE_new();
	tt->store_ok = st != NULL && X509_STORE_set_default_paths(st) == 1;
	tt->store = st;
	if (!tt->store_ok) {
		job->error = EIO;
		snprintf(job->errmsg, sizeof job->errmsg, "the system's certificates could not "
		    "be loaded");
	}
}

static void
tls_trust_unlink(struct tls_trust *tt, struct tls_trust_wait *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		tt->waits = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		tt->waits_tail = w->prev;
	w->next = w->prev = NULL;
}

static void
tls_trust_free_waits(struct tls_trust *tt)
{
	while (tt->waits != NULL) {
		struct tls_trust_wait *w = tt->waits;
		tls_trust_unlink(tt, w);
		free(w);
	}
}

/* On the loop: a slice of the waits, in the order they came; the rest in the next callback, so
 * signals, timers and the RPC are served between them. The store is the context's already:
 * a connection started meanwhile does not wait and trusts it too. */
static void
tls_trust_more_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_trust *tt = arg;
	(void)fd;
	(void)what;
	uint64_t start = dp_now_us();
	unsigned n = 0;
	tt->slices++;
	/* Each ready() may start or cancel other waits: taken one at a time. */
	while (tt->waits != NULL && !tt->stopped &&
	    (n < TLS_TRUST_SLICE_MIN || dp_now_us() - start < TLS_TRUST_SLICE_US)) {
		struct tls_trust_wait *w = tt->waits;
		tls_trust_unlink(tt, w);
		void (*ready)(void *) = w->ready;
		void *warg = w->arg;
		free(w);
		ready(warg);
		n++;
	}
	if (tt->waits != NULL && !tt->stopped)
		event_active(tt->more_ev, EV_READ, 0);
}

/* On the loop, the job's completion: the context trusts the loaded store; the waits go on. */
static void
tls_trust_load_done(struct disk_job *job, void *arg)
{
	struct tls_trust *tt = arg;
	(void)job;
	tt->started = false;
	if (tt->ctx == NULL) {
		/* The context went while the job was out: the rest goes now. */
		if (tt->store != NULL)
			X509_STORE_free(tt->store);
		event_free(tt->more_ev);
		free(tt);
		return;
	}
	tt->loaded = true;
	if (!tt->store_ok)
		log_warn("TLS: the system's certificates could not be loaded; HTTPS servers will "
		    "not be trusted");
	if (tt->store != NULL)
		SSL_CTX_set_cert_store(tt->ctx, tt->store);   /* the context owns it now */
	tt->store = NULL;
	if (tt->waits != NULL && !tt->stopped)
		tls_trust_more_cb(-1, 0, tt);
}

SSL_CTX *
tls_trust_ctx_new(struct event_base *base, struct disk_pool *pool)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		log_warn("TLS is not available (SSL_CTX_new failed): HTTPS trackers and web seeds "
		    "will fail");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	struct tls_trust *tt = xcalloc(1, sizeof *tt);
	tt->ctx = ctx;
	tt->pool = pool;
	tt->more_ev = event_new(base, -1, 0, tls_trust_more_cb, tt);
	pthread_once(&tls_trust_once, tls_trust_index_new);
	if (tt->more_ev == NULL || tls_trust_index < 0 ||
	    SSL_CTX_set_ex_data(ctx, tls_trust_index, tt) != 1) {
		/* No way to load it later: now, as before. */
		if (tt->more_ev != NULL)
			event_free(tt->more_ev);
		free(tt);
		tls_trust_load_here(ctx);
	}
	return ctx;
}

void
tls_trust_ctx_stop(SSL_CTX *ctx)
{
	struct tls_trust *tt = tls_trust_of(ctx);
	if (tt != NULL)
		tt->stopped = true;
}

void
tls_trust_ctx_free(SSL_CTX *ctx)
{
	struct tls_trust *tt = tls_trust_of(ctx);
	if (tt != NULL) {
		tls_trust_free_waits(tt);
		SSL_CTX_set_ex_data(ctx, tls_trust_index, NULL);
		if (tt->started) {
			/* The job is the pool's until its completion, which frees the rest. */
			tt->ctx = NULL;
			tt->stopped = true;
			event_del(tt->more_ev);
		} else {
			event_free(tt->more_ev);
			free(tt);
		}
	}
	SSL_CTX_free(ctx);
}

struct tls_trust_wait *
tls_trust_when_ready(SSL_CTX *ctx, void (*ready)(void *arg), void *arg)
{
	struct tls_trust *tt = tls_trust_of(ctx);
	if (tt == NULL || tt->loaded)
		return NULL;
	if (!tt->started) {
		if (tt->pool == NULL) {
			/* No pool: loaded here, once (it blocks the loop for the bundle's parse). */
			log_warn("TLS: no disk pool to load the certificates on: loading them on "
			    "the loop");
			tt->loaded = true;
			tls_trust_load_here(ctx);
			return NULL;
		}
		memset(&tt->job, 0, sizeof tt->job);
		tt->job.op = DISK_OP_CALL;
		tt->job.call = tls_trust_load_call;
		tt->job.what = "loading the system's certificates";
		tt->job.done = tls_trust_load_done;
		tt->job.arg = tt;
		tt->started = true;
		disk_pool_submit(tt->pool, &tt->job);
	}
	struct tls_trust_wait *w = xcalloc(1, sizeof *w);
	w->ready = ready;
	w->arg = arg;
	w->prev = tt->waits_tail;
	if (tt->waits_tail != NULL)
		tt->waits_tail->next = w;
	else
		tt->waits = w;
	tt->waits_tail = w;
	return w;
}

void
tls_trust_cancel(SSL_CTX *ctx, struct tls_trust_wait *w)
{
	struct tls_trust *tt = tls_trust_of(ctx);
	if (tt == NULL || w == NULL)
		return;
	tls_trust_unlink(tt, w);
	free(w);
}

bool
tls_trust_loaded(SSL_CTX *ctx)
{
	struct tls_trust *tt = tls_trust_of(ctx);
	return tt == NULL || tt->loaded;
}

uint64_t
tls_trust_slices(SSL_CTX *ctx)
{
	struct tls_trust *tt = tls_trust_of(ctx);
	return tt == NULL ? 0 : tt->slices;
}
