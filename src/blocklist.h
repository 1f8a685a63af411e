/* blocklist.h: an IP filter: IPv4 ranges read from the common blocklist formats (P2P
 * "name:1.2.3.4-1.2.3.255", DAT "1.2.3.4 - 1.2.3.255 , 000 , name", CIDR "1.2.3.0/24"), kept
 * sorted and merged, looked up by binary search. Pure: no I/O. */
#ifndef DP_BLOCKLIST_H
#define DP_BLOCKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define BLOCKLIST_MAX_BYTES (64u << 20)   /* a list file or download larger is refused */
#define BLOCKLIST_MAX_RULES 4000000u      /* ranges read (before merging) */

struct blocklist_range {
	uint32_t first, last;                 /* host order, inclusive */
};

struct blocklist {
	struct blocklist_range *r;            /* sorted by first, disjoint, not adjacent */
	size_t n;
	size_t rules;                         /* lines read as ranges (before merging) */
	size_t bad_lines;                     /* neither a range, a comment nor empty */
};

/*
 * Reads every line of data[0..len) into out (emptied first): a line that is no range in any of
 * the formats counts in bad_lines and is skipped. Returns 0, or -1 with err when the input is
 * too large, has more than BLOCKLIST_MAX_RULES ranges or none at all.
 */
int blocklist_parse(const char *data, size_t len, struct blocklist *out, char *err,
    size_t errlen);
/* Whether the address (host order) lies in a range: O(log n). */
bool blocklist_has(const struct blocklist *b, uint32_t ip);
/* Whether sa is an IPv4 address (or IPv4-mapped IPv6) in a range; other IPv6 never is. */
bool blocklist_has_addr(const struct blocklist *b, const struct sockaddr *sa);
void blocklist_free(struct blocklist *b);

#endif
