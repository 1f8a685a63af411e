/* tls_trust.h: the client TLS context of HTTPS trackers and web seeds, whose trust store (the
 * system's certificates: parsing the CA bundle costs about 40 ms) is loaded on the disk pool
 * (a task like any other job) when the first connection needs it: never on the loop, never by a
 * run without HTTPS. */
#ifndef DP_TLS_TRUST_H
#define DP_TLS_TRUST_H

#include <stdbool.h>
#include <stdint.h>

struct disk_pool;
struct event_base;
struct ssl_ctx_st;
struct tls_trust_wait;

/* A client context (TLS 1.2 at least) with an empty trust store until a wait asks for it, when
 * a CALL job on pool loads it (pool NULL: loaded on the spot then, blocking the loop); NULL
 * (logged) when TLS is not available. */
struct ssl_ctx_st *tls_trust_ctx_new(struct event_base *base, struct disk_pool *pool);
/* The owner is going (before it drains the pool): a load that completes from now on is taken
 * into the context but answers no wait (their owners go too, and cancel them). */
void tls_trust_ctx_stop(struct ssl_ctx_st *ctx);
/* Frees ctx at once; a load still in the pool is left to its completion, which frees the rest
 * (so the pool must be drained, or run, after). Waits still there are dropped unanswered. */
void tls_trust_ctx_free(struct ssl_ctx_st *ctx);
/* NULL when ctx trusts the system's certificates already (or is a context made elsewhere,
 * which loads its own); else the wait: ready(arg) runs on the loop once they are loaded (the
 * first wait starts the load; the waits are answered in the order they came, a slice of them
 * per callback). */
struct tls_trust_wait *tls_trust_when_ready(struct ssl_ctx_st *ctx, void (*ready)(void *arg),
    void *arg);
/* A wait given up before its ready() (its owner goes): ready is never called. */
void tls_trust_cancel(struct ssl_ctx_st *ctx, struct tls_trust_wait *w);
/* Whether ctx's trust store is loaded (tests). */
bool tls_trust_loaded(struct ssl_ctx_st *ctx);
/* Callbacks that answered waits so far (tests see the slicing). */
uint64_t tls_trust_slices(struct ssl_ctx_st *ctx);

#endif
