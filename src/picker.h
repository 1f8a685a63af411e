/* picker.h: which blocks to request from which peer: rarest-first with random tie-breaks, whole
 * pieces from fast peers, random first pieces, endgame, sequential, priorities. Loop thread only. */
#ifndef DP_ENGINE_INTERNAL
#error "picker.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_PICKER_H
#define DP_PICKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bitfield.h"

#define DP_BLOCK_SIZE 16384u
#define DP_RANDOM_FIRST_PIECES 4   /* pick at random until we have this many */

/* Per-piece priority; PRIO_SKIP pieces are never picked. */
enum picker_prio { PRIO_SKIP = 0, PRIO_LOW = 1, PRIO_NORMAL = 2, PRIO_HIGH = 3 };

struct picker;

struct picker_block {
	uint32_t piece;
	uint32_t offset;
	uint32_t length;
};

/* A peer is an opaque pointer; the picker remembers which peer requested which block. */
struct picker *picker_new(uint32_t piece_count, uint32_t piece_length, uint64_t total_size,
    uint32_t random_seed);
void picker_free(struct picker *p);

/* Our own verified pieces. */
void picker_set_have(struct picker *p, uint32_t piece);
bool picker_have(const struct picker *p, uint32_t piece);
uint32_t picker_have_count(const struct picker *p);
/* True when every piece that is not PRIO_SKIP is had. */
bool picker_complete(const struct picker *p);

void picker_set_priority(struct picker *p, uint32_t piece, enum picker_prio prio);
enum picker_prio picker_priority(const struct picker *p, uint32_t piece);
void picker_set_sequential(struct picker *p, bool on);

/* Availability: what connected peers have. A seed (have-all) is counted without touching
 * every piece. */
void picker_peer_bitfield_add(struct picker *p, const struct dp_bitfield *bf);
void picker_peer_bitfield_remove(struct picker *p, const struct dp_bitfield *bf);
void picker_peer_have(struct picker *p, uint32_t piece);
void picker_seed_add(struct picker *p);
void picker_seed_remove(struct picker *p);
uint32_t picker_availability(const struct picker *p, uint32_t piece);

/*
 * Picks up to max blocks that peer has (peer_has == NULL means it has everything) and we still
 * need, marks them requested by peer and writes them to out. fast_peer prefers starting whole
 * pieces of its own; slow peers join pieces already in progress. In endgame (every needed block
 * requested) a block already requested from other peers may be returned again, never twice to
 * the same peer. Pieces in allowed_fast may be picked while choked: pass only_these to restrict.
 */
size_t picker_pick(struct picker *p, const struct dp_bitfield *peer_has, const void *peer,
    bool fast_peer, struct picker_block *out, size_t max);
/* Restricted pick for a choked peer's allowed-fast set (BEP 6). */
size_t picker_pick_from(struct picker *p, const uint32_t *pieces, size_t npieces,
    const struct dp_bitfield *peer_has, const void *peer, struct picker_block *out, size_t max);

/*
 * A block arrived from peer. Returns false if it was not wanted (already had, unknown piece,
 * bad offset/length). Other peers that had requested the same block (endgame) are written to
 * cancel_peers (up to max_cancel) so the caller can send them CANCEL. *piece_complete becomes
 * true when every block of the piece has arrived (then hash it).
 */
bool picker_block_received(struct picker *p, uint32_t piece, uint32_t offset, uint32_t length,
    const void *peer, const void **cancel_peers, size_t max_cancel, size_t *ncancel,
    bool *piece_complete);
/* The block already arrived (a late endgame duplicate, or a peer past the cancel list): its
 * bytes must not overwrite the ones in the piece buffer. */
bool picker_block_have(const struct picker *p, uint32_t piece, uint32_t offset);
/* A request will not be answered (choke, reject, timeout, disconnect). */
void picker_block_abandoned(struct picker *p, uint32_t piece, uint32_t offset, const void *peer);
/* Abandons every outstanding request of a peer (it disconnected or choked us). */
void picker_peer_abandon_all(struct picker *p, const void *peer);
/* The completed piece hashed badly: every block is needed again. */
void picker_piece_failed(struct picker *p, uint32_t piece);
/* The completed piece verified and is being written: it counts as had. */
void picker_piece_verified(struct picker *p, uint32_t piece);

bool picker_in_endgame(const struct picker *p);
/* For the piece map: 0 missing, 1 downloading (some blocks requested or received), 2 have. */
int picker_piece_state(const struct picker *p, uint32_t piece);
/* Number of blocks in a piece, and size of a given block. */
uint32_t picker_blocks_in_piece(const struct picker *p, uint32_t piece);
uint32_t picker_block_length(const struct picker *p, uint32_t piece, uint32_t block);
/* Bytes in a piece (the last one may be shorter); 0 for an unknown piece. */
uint32_t picker_piece_length(const struct picker *p, uint32_t piece);

#endif
