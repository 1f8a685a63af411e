/* blocklist.c: the IP filter's parser and lookup: lines in the P2P, DAT or CIDR formats become
 * IPv4 ranges, sorted and merged once, then found by binary search. The input is hostile (a file
 * or a download): every line is bounded and checked, nothing of it is printed. */
#include "config.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "blocklist.h"
#include "util.h"

#define BLOCKLIST_LINE_MAX 1024

/* 1 to 3 decimal digits at *s (a fourth makes it no number); advances *s. */
static bool
blocklist_number(const char **s, const char *end, unsigned *out)
{
	unsigned n = 0, digits = 0;
	const char *p = *s;
	while (p < end && *p >= '0' && *p <= '9' && digits < 4) {
		n = n * 10 + (unsigned)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > 3)
		return false;
	*s = p;
	*out = n;
	return true;
}

/* A dotted quad at *p (each part 0..255, 1-3 digits), spaces before it skipped; advances *p. */
static bool
blocklist_ipv4(const char **p, const char *end, uint32_t *out)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	uint32_t v = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (s >= end || *s != '.')
				return false;
			s++;
		}
		unsigned n;
		if (!blocklist_number(&s, end, &n) || n > 255)
			return false;
		v = v << 8 | n;
	}
	*out = v;
	*p = s;
	return true;
}

static const char *
blocklist_skip_space(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* "A - B" (spaces optional) at s; the rest of the line must be empty or start with ','. */
static bool
blocklist_range_at(const char *s, const char *end, bool dat, struct blocklist_range *out)
{
	uint32_t a, b;
	if (!blocklist_ipv4(&s, end, &a))
		return false;
	s = blocklist_skip_space(s, end);
	if (s < end && *s == '/') {           /* CIDR */
		s++;
		unsigned bits;
		if (!blocklist_number(&s, end, &bits))
			return false;
		s = blocklist_skip_space(s, end);
		if (bits > 32 || s != end)
			return false;
		uint32_t mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
		out->first = a & mask;
		out->last = out->first | ~mask;
		return true;
	}
	if (s >= end || *s != '-')
		return false;
	s++;
	if (!blocklist_ipv4(&s, end, &b) || b < a)
		return false;
	s = blocklist_skip_space(s, end);
	if (s != end && !(dat && *s == ','))
		return false;
	out->first = a;
	out->last = b;
	return true;
}

/* One line (no newline): 1 a range, 0 a comment or blank, -1 not understood. */
static int
blocklist_line(const char *s, const char *end, struct blocklist_range *out)
{
	while (end > s && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	s = blocklist_skip_space(s, end);
	if (s == end || *s == '#' || (end - s >= 2 && s[0] == '/' && s[1] == '/'))
		return 0;
	/* DAT or CIDR: the line starts with the address. */
	if (blocklist_range_at(s, end, true, out))
		return 1;
	/* P2P: "name:A-B", the name may hold ':' itself: the range follows the last one. */
	for (const char *c = end; c > s; c--) {
		if (c[-1] == ':')
			return blocklist_range_at(c, end, false, out) ? 1 : -1;
	}
	return -1;
}

static int
blocklist_cmp(const void *a, const void *b)
{
	const struct blocklist_range *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

int
blocklist_parse(const char *data, size_t len, struct blocklist *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (len > BLOCKLIST_MAX_BYTES)
		return dp_fail(err, errlen, "the blocklist has %zu bytes (at most %u)", len,
		    BLOCKLIST_MAX_BYTES);
	size_t cap = 0;
	const char *end = data + len;
	for (const char *s = data; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl != NULL ? nl : end;
		struct blocklist_range r;
		int rc = (size_t)(le - s) > BLOCKLIST_LINE_MAX || memchr(s, '\0', (size_t)(le - s)) ?
		    -1 : blocklist_line(s, le, &r);
		if (rc < 0) {
			out->bad_lines++;
		} else if (rc > 0) {
			if (out->n >= BLOCKLIST_MAX_RULES) {
				blocklist_free(out);
				return dp_fail(err, errlen, "the blocklist has more than %u ranges",
				    BLOCKLIST_MAX_RULES);
			}
			if (out->n == cap) {
				cap = cap ? cap * 2 : 256;
				out->r = xreallocarray(out->r, cap, sizeof *out->r);
			}
			out->r[out->n++] = r;
		}
		s = le + 1;
	}
	out->rules = out->n;
	if (out->n == 0) {
		size_t bad = out->bad_lines;
		blocklist_free(out);
		return dp_fail(err, errlen, "no address range in the blocklist (%zu line%s not "
		    "understood)", bad, bad == 1 ? "" : "s");
	}
	qsort(out->r, out->n, sizeof *out->r, blocklist_cmp);
	size_t k = 0;
	for (size_t i = 1; i < out->n; i++) {
		struct blocklist_range *cur = &out->r[k];
		if (out->r[i].first <= cur->last || (cur->last != UINT32_MAX &&
		    out->r[i].first == cur->last + 1)) {
			if (out->r[i].last > cur->last)
				cur->last = out->r[i].last;
		} else {
			out->r[++k] = out->r[i];
		}
	}
	out->n = k + 1;
	return 0;
}

bool
blocklist_has(const struct blocklist *b, uint32_t ip)
{
	size_t lo = 0, hi = b != NULL ? b->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ip < b->r[mid].first)
			hi = mid;
		else if (ip > b->r[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool
blocklist_has_addr(const struct blocklist *b, const struct sockaddr *sa)
{
	if (b == NULL || b->n == 0)
		return false;
	if (sa->sa_family == AF_INET)
		return blocklist_has(b, ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			uint32_t v;
			memcpy(&v, a->s6_addr + 12, 4);
			return blocklist_has(b, ntohl(v));
		}
	}
	return false;
}

void
blocklist_free(struct blocklist *b)
{
	free(b->r);
	memset(b, 0, sizeof *b);
}
