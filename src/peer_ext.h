/* peer_ext.h: one entry of the BEP 10 extension table: the name and id we advertise and the hooks
 * peer.c calls by id. peer.c knows no extension by name; session.c lists the engine's. */
#ifndef DP_ENGINE_INTERNAL
#error "peer_ext.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_PEER_EXT_H
#define DP_PEER_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct peer;
struct wire_ext_handshake;

/*
 * Every hook gets the peer's owner argument (peer_owner(p): its torrent in the engine) and may be
 * NULL. Hooks run on the loop; a hook that closes the peer (peer_close) must not touch it after.
 */
struct peer_ext {
	const char *name;          /* the key in the handshake's "m" dictionary */
	uint8_t local_id;          /* the id we advertise: peers send us its messages with it */
	/* Our extension handshake to p: false lists it with id 0 (e.g. ut_pex on a private
	 * torrent); may add keys of its own to h (metadata_size). NULL: always offered. */
	bool (*offer)(void *owner, struct peer *p, struct wire_ext_handshake *h);
	/* The peer's extension handshake arrived (p->exth; its id for us: peer_ext_id). */
	void (*on_handshake)(void *owner, struct peer *p);
	/* A message with our local_id (payload after the id byte). Hostile input: bounded. */
	void (*on_message)(void *owner, struct peer *p, const uint8_t *payload, size_t len);
	/* The peer is closing: forget it. */
	void (*on_gone)(void *owner, struct peer *p);
	/* Owner-wide: once a second (torrent_tick), and when the owner is freed. */
	void (*on_tick)(void *owner, uint64_t now_ms);
	void (*on_free)(void *owner);
};

#endif
