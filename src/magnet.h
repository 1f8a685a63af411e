/* magnet.h: magnet URI parsing (BEP 9): btih in hex or base32, names, trackers, web seeds, peers. */
#ifndef DP_MAGNET_H
#define DP_MAGNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct magnet {
	uint8_t info_hash[20];
	char info_hash_hex[41];
	bool has_btih;
	/* uint8_t info_hash[20] above: btih, or for a v2-only link (btmh alone) the v2
	 * info-hash cut to 20 bytes, as the handshake, trackers and the DHT name it. */
	char *btmh;              /* the v2 multihash (urn:btmh:) in lower-case hex; NULL if absent */
	uint8_t info_hash_v2[32];   /* its SHA-256 digest, when btmh is set */
	char *display_name;      /* dn, NULL if absent */
	char **trackers;         /* every tr, in order */
	size_t tracker_count;
	char **webseeds;         /* every ws */
	size_t webseed_count;
	char **peers;            /* every x.pe (host:port) */
	size_t peer_count;
};

/* NULL and a one-line reason on error. A link needs btih, btmh (BitTorrent v2) or both. */
struct magnet *magnet_parse(const char *uri, char *err, size_t errlen);
void magnet_free(struct magnet *m);
/* True when s looks like a magnet link (so callers can choose magnet vs file). */
bool magnet_is_uri(const char *s);

#endif
