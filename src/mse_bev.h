/* mse_bev.h: MSE/PE under a bufferevent: a filter over a connected stream (a TCP socket's or a
 * uTP connection's bufferevent) that runs the handshake of mse.h, then RC4 both ways, or passes
 * bytes through when plaintext was negotiated. */
#ifndef DP_ENGINE_INTERNAL
#error "mse_bev.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_MSE_BEV_H
#define DP_MSE_BEV_H

#include <stdbool.h>
#include <stdint.h>

#include "mse.h"

struct bufferevent;
struct mse_bev;

/* Runs once, from the loop, when the handshake ends: ok with the method selected
 * (MSE_CRYPTO_RC4 or MSE_CRYPTO_PLAIN), or failed with why. */
typedef void (*mse_bev_done_fn)(void *arg, struct bufferevent *bev, bool ok, uint32_t selected,
    const char *why);

/* The filter over under (which it frees with itself). The initiator's first bytes leave at
 * once; bytes already in under's input are read. The user's writes wait for the handshake.
 * *heard (may be NULL) counts the bytes the peer sent during the handshake: a peer that closes
 * without a word refused the transport, not the encryption. *handle: for mse_bev_forget. */
struct bufferevent *mse_bev_new(struct bufferevent *under, const struct mse_params *p,
    mse_bev_done_fn done, void *arg, uint64_t *heard, struct mse_bev **handle);
/* Before the user frees the filter: done is not called after all. libevent frees a
 * bufferevent's state from the loop, after bufferevent_free returns, and the notice of a
 * handshake that just ended may be queued before that; it would reach an arg already gone. */
void mse_bev_forget(struct mse_bev *m);

#endif
