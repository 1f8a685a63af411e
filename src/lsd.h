/* lsd.h: Local Service Discovery (BEP 14): BT-SEARCH announces of the info-hashes its owner
 * registers, multicast to the local network (239.192.152.143:6771 and [ff15::efc0:988f]:6771),
 * and the peers other hosts announce for them, reported upward. A codec (pure) and the loop side
 * (its own sockets on port 6771, one task). Never for private torrents: the owner registers only
 * public ones (BEP 27). Loop thread only. */
#ifndef DP_ENGINE_INTERNAL
#error "lsd.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_LSD_H
#define DP_LSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct lsd;

#define LSD_PORT 6771
#define LSD_GROUP4 "239.192.152.143"
#define LSD_GROUP6 "ff15::efc0:988f"
#define LSD_MAX_DGRAM 1400               /* BEP 14: announces stay under 1400 bytes */
#define LSD_MAX_HASHES 20                /* info-hashes per announce we send and accept */
#define LSD_COOKIE_MAX 32
/* BEP 14: each registered info-hash every 5 minutes, at most one announce a minute per
 * family (several info-hashes in one announce when there are many). */
#define LSD_INTERVAL_MS (5u * 60u * 1000u)
#define LSD_MIN_GAP_MS (60u * 1000u)

struct lsd_msg {
	uint16_t port;
	uint8_t hashes[LSD_MAX_HASHES][20];
	size_t nhashes;
	char cookie[LSD_COOKIE_MAX + 1];     /* "" when absent */
};

/* Appends one announce: host is the group's "ADDR:PORT" ("[v6]:PORT"). Returns the length, or
 * 0 when it would not fit cap (then nothing is written). */
size_t lsd_build(char *out, size_t cap, const char *host, uint16_t port,
    const uint8_t (*hashes)[20], size_t n, const char *cookie);
/* Parses a BT-SEARCH announce: the request line, a Port of 1..65535, 1..LSD_MAX_HASHES
 * Infohash headers of 40 hex digits (more are ignored), an optional cookie; header names in any
 * case, other headers ignored, lines at most 256 bytes. 0, or -1 with err. */
int lsd_parse(const uint8_t *buf, size_t len, struct lsd_msg *out, char *err, size_t errlen);

struct lsd_callbacks {
	/* A host on the local network announced itself for a registered info-hash; owner is
	 * what lsd_add was given. */
	void (*got_peer)(void *arg, void *owner, const uint8_t info_hash[20],
	    const struct sockaddr *addr, socklen_t addrlen);
	void *arg;
};

/* Opens the multicast sockets (a family that cannot join its group is left out, in the log)
 * for a client whose peers connect to peer_port. NULL with err when neither family works. */
struct lsd *lsd_new(struct event_base *base, uint16_t peer_port, const struct lsd_callbacks *cb,
    char *err, size_t errlen);
void lsd_free(struct lsd *l);
void lsd_set_peer_port(struct lsd *l, uint16_t port);
/* Registers an info-hash (announced soon, then every LSD_INTERVAL_MS), or forgets it. owner
 * comes back with the peers heard (valid until lsd_remove). */
void lsd_add(struct lsd *l, const uint8_t info_hash[20], void *owner);
void lsd_remove(struct lsd *l, const uint8_t info_hash[20]);

struct lsd_stats {
	size_t registered;
	uint64_t sent, received, peers, malformed, own;
};
void lsd_get_stats(const struct lsd *l, struct lsd_stats *out);

#endif
