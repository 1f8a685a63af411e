/* udp_socket.h: the one UDP socket on the peer port's number that uTP and the DHT share: bound
 * like the TCP listener, non-blocking on the loop, large kernel buffers, batched reads with a
 * budget per callback, and a demultiplexer that offers each datagram to its handlers in turn. */
#ifndef DP_ENGINE_INTERNAL
#error "udp_socket.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_UDP_SOCKET_H
#define DP_UDP_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct udp_socket;

/* Offered one datagram; returns true when it consumed it (later handlers then don't see it).
 * data and from are valid only during the call. A handler may send from inside the call, but
 * must not free the socket there. */
typedef bool (*udp_handler_fn)(void *arg, const uint8_t *data, size_t len,
    const struct sockaddr *from, socklen_t fromlen);

/* Binds a non-blocking UDP socket to bind (IPv4 or IPv6; IPv6 sockets are IPv6-only so both
 * families can share a port number) and starts reading on base. NULL with a message in err and
 * errno set (EADDRINUSE: the port is taken). */
struct udp_socket *udp_socket_new(struct event_base *base, const struct sockaddr *bind,
    socklen_t bindlen, char *err, size_t errlen);
/* Handlers are offered datagrams in the order they were added. */
void udp_socket_add_handler(struct udp_socket *u, udp_handler_fn fn, void *arg);
/* Removes the handler registered with exactly this fn and arg (a module going away first). */
void udp_socket_remove_handler(struct udp_socket *u, udp_handler_fn fn, void *arg);
/* Sends one datagram. 0, or -1 with errno; when the kernel's buffer is full (EAGAIN) the
 * datagram is dropped and counted, as a router would: senders treat it as loss. */
int udp_socket_send(struct udp_socket *u, const void *data, size_t len,
    const struct sockaddr *to, socklen_t tolen);
/* Several datagrams to one address in one system call (sendmmsg); returns how many left (the
 * rest were dropped and counted, as udp_socket_send's EAGAIN). n at most UDP_SOCKET_BATCH_MAX. */
struct udp_dgram {
	const void *data;
	size_t len;
};
#define UDP_SOCKET_BATCH_MAX 64u
size_t udp_socket_send_batch(struct udp_socket *u, const struct udp_dgram *d, size_t n,
    const struct sockaddr *to, socklen_t tolen);
/* The same, but the kernel may fragment it: datagrams normally leave with Don't Fragment set
 * (uTP probes the path MTU with them); a lost probe must still get through when resent. */
int udp_socket_send_fragmentable(struct udp_socket *u, const void *data, size_t len,
    const struct sockaddr *to, socklen_t tolen);
/* The bound port (the kernel's pick when bound to port 0). */
int udp_socket_port(const struct udp_socket *u);
/* AF_INET or AF_INET6. */
int udp_socket_family(const struct udp_socket *u);
/* Called (once) the next time the socket can take datagrams again after a send was dropped
 * with EAGAIN: a sender that paused can resume. NULL fn: none. */
void udp_socket_set_writable_cb(struct udp_socket *u, void (*fn)(void *arg), void *arg);
void udp_socket_free(struct udp_socket *u);

struct udp_socket_stats {
	uint64_t in_dgrams, in_bytes;
	uint64_t out_dgrams, out_bytes;
	uint64_t unclaimed;      /* no handler took it */
	uint64_t oversized;      /* larger than UDP_SOCKET_MAX_DGRAM: cut by the kernel, dropped */
	uint64_t send_drops;     /* EAGAIN on send: the kernel's buffer was full */
	uint64_t send_errors;    /* any other send failure */
	uint64_t recv_errors;
	uint64_t callbacks;      /* read callbacks run */
	int rcvbuf, sndbuf;      /* what the kernel granted (getsockopt) */
};
void udp_socket_stats(const struct udp_socket *u, struct udp_socket_stats *out);

/* Datagrams read per read callback at most: the rest waits for the next loop iteration, so a
 * flood on the UDP port cannot starve TCP peers, timers and the UI. */
#define UDP_SOCKET_BUDGET 256u
/* Largest datagram taken whole. uTP (BEP 29) and KRPC stay under the path MTU; clients keep
 * uTP packets to an Ethernet MTU even on loopback. Larger ones are counted and dropped. */
#define UDP_SOCKET_MAX_DGRAM 4096u
/* Kernel buffer sizes asked for: uTP at full speed keeps a window of packets in flight, and a
 * buffer the kernel fills drops packets that LEDBAT then reads as congestion. */
#define UDP_SOCKET_BUFFER (4u << 20)

#endif
