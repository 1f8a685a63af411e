/* utp.h: uTP (BEP 29) connections on the shared UDP sockets, each presented to its user as a
 * bufferevent that behaves like a socket's: BEV_EVENT_CONNECTED when an outgoing connection is
 * answered, EOF when the peer's FIN has been read, ERROR with errno (ETIMEDOUT, ECONNRESET,
 * ECONNREFUSED) when it fails. Freeing that bufferevent closes the connection (FIN). */
#ifndef DP_ENGINE_INTERNAL
#error "utp.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_UTP_H
#define DP_UTP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct bufferevent;
struct event_base;
struct udp_socket;
struct utp_engine;

/* An incoming connection: bev is the user's end. Return true to take it (the callee then owns
 * bev and frees it to close), false to refuse (the peer gets a RESET). */
typedef bool (*utp_accept_fn)(void *arg, struct bufferevent *bev, const struct sockaddr *sa,
    socklen_t len);

struct utp_engine *utp_engine_new(struct event_base *base, utp_accept_fn accept, void *arg);
/* Registers the engine as a handler of s (datagrams that are uTP); one socket per family. */
void utp_engine_add_socket(struct utp_engine *u, struct udp_socket *s);
/* Incoming SYNs are refused (RESET) while off: the setting utp = false. */
void utp_engine_set_accepting(struct utp_engine *u, bool on);
/* Resets every connection and frees the engine; the users' ends see ECONNRESET. Remove the
 * handler from the sockets first or free the engine before them. */
void utp_engine_free(struct utp_engine *u);
/* Stops the engine's handlers on its sockets (before the sockets are freed). */
void utp_engine_detach(struct utp_engine *u);

/* The handler the engine registers on its sockets (arg is the engine): true when the datagram
 * was uTP. Public for the fuzz target, which feeds it datagrams directly. */
bool utp_engine_datagram(void *arg, const uint8_t *data, size_t len, const struct sockaddr *from,
    socklen_t fromlen);

/* An outgoing connection to sa. NULL (errno EAFNOSUPPORT) when there is
 * no UDP socket of that family. */
struct bufferevent *utp_connect(struct utp_engine *u, const struct sockaddr *sa, socklen_t len);

struct utp_engine_stats {
	uint64_t connections;      /* open now */
	uint64_t packets_in, packets_out, resent, timeouts, losses;
	uint64_t bytes_in, bytes_out;   /* payload */
	uint64_t resets_sent, refused;
};
void utp_engine_stats(const struct utp_engine *u, struct utp_engine_stats *out);

/* Bounds (bytes): what a connection buffers for its reader before its advertised window closes,
 * and what it takes from its writer ahead of sending. */
#define UTP_RECV_BUFFER (2u << 20)
#define UTP_SEND_BUFFER (1u << 20)

#endif
