/* net.c: socket address helpers: formatting, parsing ADDR:PORT, comparing, loopback tests. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/util.h>

#include "net.h"

void
sockaddr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
		snprintf(out, outlen, "%s:%u", host, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
		snprintf(out, outlen, "[%s]:%u", host, ntohs(s->sin6_port));
	} else {
		snprintf(out, outlen, "(family %d)", sa->sa_family);
	}
}

bool
sockaddr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len)
{
	int n = (int)sizeof *out;
	memset(out, 0, sizeof *out);
	if (evutil_parse_sockaddr_port(s, (struct sockaddr *)out, &n) < 0)
		return false;
	if (out->ss_family == AF_INET && ((struct sockaddr_in *)out)->sin_port == 0)
		return false;
	if (out->ss_family == AF_INET6 && ((struct sockaddr_in6 *)out)->sin6_port == 0)
		return false;
	*len = (socklen_t)n;
	return out->ss_family == AF_INET || out->ss_family == AF_INET6;
}

uint16_t
sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

bool
sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b, bool with_port)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (with_port && sockaddr_port(a) != sockaddr_port(b))
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
	return false;
}

/* The IPv4 address of sa (mapped ones too) into out; false for IPv6 proper. */
static bool
sockaddr_ipv4_of(const struct sockaddr *sa, uint32_t *out)
{
	if (sa->sa_family == AF_INET) {
		*out = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
		return true;
	}
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(a)) {
		memcpy(out, a->s6_addr + 12, 4);
		return true;
	}
	return false;
}

bool
sockaddr_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
	uint32_t va = 0, vb = 0;
	bool a4 = sockaddr_ipv4_of(a, &va), b4 = sockaddr_ipv4_of(b, &vb);
	if (a4 || b4)
		return a4 && b4 && va == vb;
	if (a->sa_family != AF_INET6 || b->sa_family != AF_INET6)
		return false;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, 8) == 0;
}

bool
sockaddr_is_dialable(const struct sockaddr *sa)
{
	if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || sockaddr_port(sa) == 0)
		return false;
	uint32_t v4 = 0;
	if (sockaddr_ipv4_of(sa, &v4)) {
		uint32_t top = ntohl(v4) >> 24;
		return top != 0 && top < 224;
	}
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_MULTICAST(a);
}

bool
sockaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return a->s6_addr[12] == 127;
	}
	return false;
}

bool
net_host_has_ipv6(void)
{
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) < 0)
		return false;
	bool found = false;
	for (struct ifaddrs *i = ifs; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET6)
			continue;
		const struct in6_addr *a = &((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		found = !IN6_IS_ADDR_LOOPBACK(a) && !IN6_IS_ADDR_LINKLOCAL(a) &&
		    !IN6_IS_ADDR_V4MAPPED(a) && !IN6_IS_ADDR_UNSPECIFIED(a);
	}
	freeifaddrs(ifs);
	return found;
}
