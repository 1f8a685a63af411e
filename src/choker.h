/* choker.h: who gets upload slots: tit-for-tat every 10 s, a rotating optimistic unchoke every
 * 30 s, and when seeding unchoke by our upload rate to them with rotation. Pure decisions. */
#ifndef DP_ENGINE_INTERNAL
#error "choker.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_CHOKER_H
#define DP_CHOKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_CHOKE_INTERVAL_S 10
#define DP_OPTIMISTIC_INTERVAL_S 30
/* Seeding: a peer unchoked this long that is not among the fastest half rotates out. */
#define DP_SEED_ROTATE_S 30
/* Peers connected for less than this weigh 3x for the optimistic unchoke. */
#define DP_NEW_PEER_S 60

struct choker_peer {
	const void *peer;          /* opaque, for the caller */
	bool interested;           /* peer wants our data */
	bool choked;               /* we currently choke it (input) */
	bool snubbed;              /* sent us nothing for a long time while we wanted data */
	bool optimistic;           /* holds the optimistic slot (kept across rounds by the caller) */
	uint64_t download_rate;    /* bytes/s we receive from it */
	uint64_t upload_rate;      /* bytes/s we send to it */
	uint64_t unchoked_since_us;/* when it was last unchoked; 0 if choked */
	uint64_t connected_us;     /* when it connected (new peers get a better optimistic chance) */
	bool unchoke;              /* output: unchoke it after this round */
};

/*
 * One round. slots is the number of upload slots (one of them optimistic). seeding picks by
 * upload rate and rotates peers unchoked longest; otherwise by download rate (tit-for-tat),
 * skipping snubbed peers. When new_optimistic is true the optimistic slot moves to another
 * choked interested peer (newly connected peers weighted 3x). now_us is the current time.
 */
void choker_round(struct choker_peer *peers, size_t n, unsigned slots, bool seeding,
    bool new_optimistic, uint64_t now_us, uint32_t *rng_state);

#endif
