/* transport.h: how a peer connection is made, under the peer: TCP or uTP (raced, or what worked
 * before at that address), then MSE/PE or plaintext as the encryption policy says, with one
 * plaintext retry after a failed encrypted attempt when the policy allows. The peer gets a
 * bufferevent and never learns which it is; plaintext TCP is the socket's own bufferevent. */
#ifndef DP_ENGINE_INTERNAL
#error "transport.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_TRANSPORT_H
#define DP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dp_config.h"

struct bufferevent;
struct event_base;
struct udp_socket;
struct transport;
struct transport_conn;

struct transport_settings {
	enum dp_encryption encryption;   /* dp_config.h */
	bool utp;                      /* dial and accept uTP */
};

/* An incoming uTP connection (its raw stream, still to be sniffed by transport_accept). Return
 * false to refuse it (limits, bans): the peer gets a RESET. */
typedef bool (*transport_incoming_fn)(void *arg, struct bufferevent *raw,
    const struct sockaddr *sa, socklen_t len);

/* udp4/udp6 may be NULL (no uTP on that family). */
struct transport *transport_new(struct event_base *base, struct udp_socket *udp4,
    struct udp_socket *udp6, const struct transport_settings *set,
    transport_incoming_fn incoming, void *arg);
void transport_set(struct transport *tr, const struct transport_settings *set);
void transport_get(const struct transport *tr, struct transport_settings *out);
/* Resets every uTP connection. The UDP sockets must outlive it. */
void transport_free(struct transport *tr);

/* Info hashes an encrypted incoming connection may ask for (by SHA1("req2", ih)). */
void transport_add_torrent(struct transport *tr, const uint8_t info_hash[20]);
void transport_remove_torrent(struct transport *tr, const uint8_t info_hash[20]);

/* What a connection turned out to be. */
struct transport_info {
	bool utp;
	bool encrypted;              /* RC4 */
	bool mse;                    /* an MSE handshake (plaintext may have been selected) */
	bool incoming;
	bool ia_sent;                /* the initial payload went with the MSE handshake */
};
/* "TCP", "uTP", "TCP+RC4", "uTP+RC4" (the peers tab and the monitor). */
const char *transport_info_name(const struct transport_info *info);

/* The connection is ready (bev, owned by the callee from now on, whose callbacks it sets), or it
 * failed (bev NULL, why says what). Runs once, from the loop, never inside transport_connect or
 * transport_accept. */
typedef void (*transport_cb)(void *arg, struct bufferevent *bev, const struct transport_info *info,
    const char *why);

/* An outgoing connection for the torrent info_hash. ia (may be NULL) is what the caller will
 * say first (its BitTorrent handshake): an MSE handshake carries it as its initial payload, so
 * it arrives before the peer answers (transmission-daemon over uTP ignores messages that come
 * glued to our handshake otherwise); info->ia_sent says when it went. NULL (why in err) when
 * nothing could even be tried. */
struct transport_conn *transport_connect(struct transport *tr, const struct sockaddr *sa,
    socklen_t len, const uint8_t info_hash[20], const uint8_t *ia, size_t ia_len,
    transport_cb cb, void *arg, char *err, size_t errlen);
/* An incoming stream: an accepted TCP socket's bufferevent or a uTP one from the incoming
 * callback (utp says which); its first bytes tell plaintext from MSE. */
struct transport_conn *transport_accept(struct transport *tr, struct bufferevent *raw,
    const struct sockaddr *sa, socklen_t len, bool utp, transport_cb cb, void *arg);
/* Stops a connection in progress; its callback never runs. */
void transport_cancel(struct transport_conn *c);
/* What the connection is trying now, for the peer's task ("uTP and TCP", "encryption
 * handshake over TCP"). */
const char *transport_conn_doing(const struct transport_conn *c);
/* The socket is up and what is left is the peer's answer (the encryption handshake, or the first
 * bytes of an incoming stream): a READ_WAIT for the monitor, not a CONNECT_WAIT. */
bool transport_conn_awaits_peer(const struct transport_conn *c);

/* The BitTorrent handshake over a connection this module made got through (ok) or the peer
 * closed before it: the memory per address learns (a plaintext connection cut before the
 * handshake is tried encrypted next time when the policy allows). */
void transport_outcome(struct transport *tr, const struct sockaddr *sa,
    const struct transport_info *info, bool handshake_ok);

struct transport_stats {
	uint64_t tcp, utp, encrypted, plaintext_fallbacks, refused_plaintext, mse_failed;
};
void transport_stats(const struct transport *tr, struct transport_stats *out);

#endif
