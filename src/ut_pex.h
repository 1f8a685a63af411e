/* ut_pex.h: BEP 11 peer exchange: the ut_pex message codec (compact IPv4/IPv6 added, added.f,
 * dropped) and the engine side: learning peers from it and telling peers about ours every minute.
 * Never for private torrents (BEP 27). Loop thread only. */
#ifndef DP_ENGINE_INTERNAL
#error "ut_pex.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_UT_PEX_H
#define DP_UT_PEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

/* The extension id we advertise in our handshake's "m" dict. */
#define UT_PEX_LOCAL_ID 1
#define UT_PEX_MAX_PEERS 200u          /* per list in a message we accept; more is refused */
#define UT_PEX_SEND_MAX 50u            /* BEP 11: at most 50 added and 50 dropped per message */
#define UT_PEX_INTERVAL_MS (60u * 1000u)

#define UT_PEX_F_ENCRYPTION 0x01u
#define UT_PEX_F_SEED 0x02u
#define UT_PEX_F_UTP 0x04u
#define UT_PEX_F_HOLEPUNCH 0x08u
#define UT_PEX_F_REACHABLE 0x10u

struct ut_pex_peer {
	struct sockaddr_storage addr;
	socklen_t len;
	uint8_t flags;                 /* added.f / added6.f; 0 when absent */
};

struct ut_pex_msg {
	struct ut_pex_peer *added;     /* IPv4 first, then IPv6 */
	size_t nadded;
	struct ut_pex_peer *dropped;
	size_t ndropped;
};

/* Parses a ut_pex payload. Lists must be whole compact entries (6 or 18 bytes); a flags string
 * of the wrong length is ignored; more than UT_PEX_MAX_PEERS entries in a list is an error.
 * Port 0 entries are skipped. 0, or -1 with err filled; free with ut_pex_msg_free. */
int ut_pex_parse(const uint8_t *payload, size_t len, struct ut_pex_msg *out, char *err,
    size_t errlen);
void ut_pex_msg_free(struct ut_pex_msg *m);
/* Appends the bencoded message (added, added.f, added6, added6.f, dropped, dropped6). */
void ut_pex_build(struct dp_buf *out, const struct ut_pex_peer *added, size_t nadded,
    const struct ut_pex_peer *dropped, size_t ndropped);

/* ---- the engine side ---- */
struct peer_ext;
struct ut_pex_state;

/* The ut_pex entry of the extension table (session.c): learning peers from PEX messages and,
 * once a minute, telling each peer that speaks it who was added and dropped; its state lives in
 * the torrent (t->pex). */
extern const struct peer_ext ut_pex_ext;

#endif
