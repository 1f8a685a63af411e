/* v2_layers.h: the BEP 52 piece layers a v2 torrent lacks (a magnet's info dictionary never has
 * them), asked of peers with hash requests; every answer is checked against its file's pieces
 * root before a hash goes into the metainfo. One task per torrent says what it waits for.
 * Loop thread only. */
#ifndef DP_ENGINE_INTERNAL
#error "v2_layers.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_V2_LAYERS_H
#define DP_V2_LAYERS_H

#include <stdbool.h>
#include <stdint.h>

struct merkle_hasher;
struct metainfo;
struct peer;
struct wire_hash_req;
struct wire_hashes;

#define V2_LAYERS_RUN 512u   /* piece hashes asked at once (libtorrent asks and expects 512) */

struct v2_layers;

/* What the fetch reads of its torrent: the metainfo whose layers it fills in and the torrent's
 * list of peers (both outlive it: a new metainfo gets a new fetch). */
struct v2_layers_env {
	struct metainfo *mi;
	struct peer *const *peers;       /* the list's head, as the torrent keeps it */
	const int *npeers;
	int torrent_id;
};

/* The fetch for env->mi's missing layers (it has v2 data); NULL when none is missing. */
struct v2_layers *v2_layers_new(const struct v2_layers_env *env);
void v2_layers_free(struct v2_layers *vl);
/* Every layer is in t->mi (each file's layer_known set). */
bool v2_layers_done(const struct v2_layers *vl);
/* Once a second: timeouts, requests to idle peers (only while active: the torrent runs), the
 * task's reason. */
void v2_layers_tick(struct v2_layers *vl, bool active, uint64_t now_ms);
/* The torrent stopped: outstanding requests are forgotten, the task says so. */
void v2_layers_pause(struct v2_layers *vl, const char *why);
/* p is closing: what it was asked goes back to the pool. */
void v2_layers_peer_gone(struct v2_layers *vl, struct peer *p);
/* p answered (HASHES) or refused (HASH_REJECT, rejected set) one of our requests. An answer
 * that fails its proof closes p. */
void v2_layers_on_hashes(struct v2_layers *vl, struct peer *p, const struct wire_hashes *h);
void v2_layers_on_reject(struct v2_layers *vl, struct peer *p, const struct wire_hash_req *r);

/*
 * The request for the run of piece hashes starting at piece index of a file of pieces pieces
 * (> 1) and pieces root root: base layer piece_level (log2(piece length / 16 KiB)), the run
 * V2_LAYERS_RUN long or the padded layer's rest, proof layers reaching just below the root.
 */
void v2_layers_request_for(const uint8_t root[32], uint64_t pieces, unsigned piece_level,
    uint32_t index, struct wire_hash_req *out);
/*
 * Checks an answer to sent against the file's root: the same header, exactly the run and the
 * uncles it needs, hashes past the file's last piece equal to the padding, and the proof
 * ending at the root. True when every check holds.
 */
bool v2_layers_verify(struct merkle_hasher *mh, const struct wire_hash_req *sent,
    uint64_t pieces, const struct wire_hashes *got);

#endif
