/* tls_trust.c: the client TLS context and its trust store, loaded on a thread when the first
 * HTTPS connection asks (issue 19: the CA bundle cost every start about 40 ms on the loop). */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "tls_trust.h"
#include "util.h"

struct tls_trust_wait {
	void (*ready)(void *arg);
	void *arg;
	struct tls_trust_wait *next, *prev;
};

/* Kept in the context (ex_data), so whoever holds the context can wait on it. */
struct tls_trust {
	SSL_CTX *ctx;
	struct event *done_ev;          /* the thread's end, on the loop */
	pthread_t thread;
	bool started, loaded;
	X509_STORE *store;              /* the thread's result, taken on the loop */
	bool store_ok;
	struct tls_trust_wait *waits, *waits_tail;   /* in the order they came */
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

/* Where no thread can do it: the system's certificates loaded here, at once (the bundle's parse
 * blocks the caller). */
static void
tls_trust_load_here(SSL_CTX *ctx)
{
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		log_warn("TLS: the system's certificates could not be loaded; HTTPS servers will "
		    "not be trusted");
}

/* The thread: a store of its own (the context's is not touched off the loop). */
static void *
tls_trust_thread(void *arg)
{
	struct tls_trust *tt = arg;
	X509_STORE *st = X509_STORE_new();
	tt->store_ok = st != NULL && X509_STORE_set_default_paths(st) == 1;
	tt->store = st;
	event_active(tt->done_ev, EV_READ, 0);
	return NULL;
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

/* On the loop: the context trusts the loaded store; the waits go on. */
static void
tls_trust_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_trust *tt = arg;
	(void)fd;
	(void)what;
	pthread_join(tt->thread, NULL);
	tt->started = false;
	tt->loaded = true;
	if (!tt->store_ok)
		log_warn("TLS: the system's certificates could not be loaded; HTTPS servers will "
		    "not be trusted");
	if (tt->store != NULL)
		SSL_CTX_set_cert_store(tt->ctx, tt->store);   /* the context owns it now */
	tt->store = NULL;
	/* Each ready() may start or cancel other waits: taken one at a time. */
	while (tt->waits != NULL) {
		struct tls_trust_wait *w = tt->waits;
		tls_trust_unlink(tt, w);
		void (*ready)(void *) = w->ready;
		void *warg = w->arg;
		free(w);
		ready(warg);
	}
}

SSL_CTX *
tls_trust_ctx_new(struct event_base *base)
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
	tt->done_ev = event_new(base, -1, 0, tls_trust_done_cb, tt);
	pthread_once(&tls_trust_once, tls_trust_index_new);
	if (tt->done_ev == NULL || tls_trust_index < 0 ||
	    SSL_CTX_set_ex_data(ctx, tls_trust_index, tt) != 1) {
		/* No way to load it later: now, as before. */
		if (tt->done_ev != NULL)
			event_free(tt->done_ev);
		free(tt);
		tls_trust_load_here(ctx);
	}
	return ctx;
}

void
tls_trust_ctx_free(SSL_CTX *ctx)
{
	struct tls_trust *tt = tls_trust_of(ctx);
	if (tt != NULL) {
		if (tt->started)
			pthread_join(tt->thread, NULL);
		if (tt->store != NULL)
			X509_STORE_free(tt->store);
		while (tt->waits != NULL) {
			struct tls_trust_wait *w = tt->waits;
			tls_trust_unlink(tt, w);
			free(w);
		}
		event_free(tt->done_ev);
		SSL_CTX_set_ex_data(ctx, tls_trust_index, NULL);
		free(tt);
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
		int rc = pthread_create(&tt->thread, NULL, tls_trust_thread, tt);
		if (rc != 0) {
			/* No thread: loaded here, once (it blocks the loop for the bundle's parse). */
			log_warn("TLS: can't start a thread to load the certificates (%s): loading "
			    "them on the loop", strerror(rc));
			tt->loaded = true;
			tls_trust_load_here(ctx);
			return NULL;
		}
		tt->started = true;
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
