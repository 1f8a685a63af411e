/* tls_trust.h: the client TLS context of HTTPS trackers and web seeds, whose trust store (the
 * system's certificates: parsing the CA bundle costs about 40 ms) is loaded on a thread of its
 * own when the first connection needs it: never on the loop, never by a run without HTTPS. */
#ifndef DP_TLS_TRUST_H
#define DP_TLS_TRUST_H

#include <stdbool.h>

struct event_base;
struct ssl_ctx_st;
struct tls_trust_wait;

/* A client context (TLS 1.2 at least) with an empty trust store until a wait asks for it;
 * NULL (logged) when TLS is not available. */
struct ssl_ctx_st *tls_trust_ctx_new(struct event_base *base);
/* Waits for a load still running (it takes no lock of ours), then frees ctx. */
void tls_trust_ctx_free(struct ssl_ctx_st *ctx);
/* NULL when ctx trusts the system's certificates already (or is a context made elsewhere,
 * which loads its own); else the wait: ready(arg) runs on the loop once they are loaded (the
 * first wait starts the load). */
struct tls_trust_wait *tls_trust_when_ready(struct ssl_ctx_st *ctx, void (*ready)(void *arg),
    void *arg);
/* A wait given up before its ready() (its owner goes): ready is never called. */
void tls_trust_cancel(struct ssl_ctx_st *ctx, struct tls_trust_wait *w);
/* Whether ctx's trust store is loaded (tests). */
bool tls_trust_loaded(struct ssl_ctx_st *ctx);

#endif
