/* net.h: socket address helpers shared by every module that handles peers' addresses:
 * formatting, parsing ADDR:PORT, comparing, loopback tests. No sockets are opened here. */
#ifndef DP_NET_H
#define DP_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "127.0.0.1:6881" or "[::1]:6881". */
void sockaddr_format(const struct sockaddr *sa, char *out, size_t outlen);
/* Parses ADDR:PORT (IPv4 or [IPv6]); false on a bad address or port. */
bool sockaddr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len);
/* The port in host order; 0 for other families. */
uint16_t sockaddr_port(const struct sockaddr *sa);
bool sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b, bool with_port);
bool sockaddr_is_loopback(const struct sockaddr *sa);
/* The host has an IPv6 address others could reach: neither loopback, link-local nor an IPv4
 * mapping (getifaddrs; false when it fails). */
bool net_host_has_ipv6(void);
/* The same host for connection limits: the same IPv4 address, or the same IPv6 /64 (one
 * subscriber's prefix); an IPv4-mapped IPv6 address is its IPv4 one. */
bool sockaddr_same_host(const struct sockaddr *a, const struct sockaddr *b);
/* Could be a peer: IPv4 or IPv6 with a port, not unspecified (0.0.0.0/8, ::), multicast, the
 * reserved 240.0.0.0/4 or broadcast. Loopback is fine (tests, local clients). */
bool sockaddr_is_dialable(const struct sockaddr *sa);

#endif
