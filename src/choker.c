/* choker.c: upload slot decisions: tit-for-tat by download rate, seeding by upload rate with
 * rotation, and the optimistic unchoke. Pure: no I/O, no clock, randomness from the caller. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "choker.h"
#include "util.h"

#define US_PER_S 1000000ULL

struct choker_rank {
	size_t idx;
	uint64_t rate;
	int group;		/* lower ranks first; seeding puts peers due to rotate out last */
	uint64_t since;		/* unchoked since (rotating peers: longest unchoked ranks last) */
	bool unchoked;
	uint32_t tie;		/* random tie-break */
};

static uint32_t
choker_random(uint32_t *state)
{
	/* xorshift32; a zero state would stick at zero. */
	uint32_t x = *state ? *state : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static int
choker_rank_cmp(const void *a, const void *b)
{
	const struct choker_rank *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->group == 1 && x->since != y->since)
		return x->since > y->since ? -1 : 1;	/* unchoked more recently first */
	if (x->rate != y->rate)
		return x->rate > y->rate ? -1 : 1;
	/* Equal rates: keep who is unchoked (no flapping), then chance. */
	if (x->unchoked != y->unchoked)
		return x->unchoked ? -1 : 1;
	if (x->tie != y->tie)
		return x->tie < y->tie ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool
choker_is_new(const struct choker_peer *cp, uint64_t now_us)
{
	return cp->connected_us + DP_NEW_PEER_S * US_PER_S > now_us;
}

static bool
choker_optimistic_candidate(const struct choker_peer *cp, size_t i, size_t exclude,
    bool only_choked)
{
	return i != exclude && cp->interested && !cp->unchoke && (!only_choked || cp->choked);
}

/* Picks the optimistic unchoke among interested peers without a regular slot; newly connected
 * peers weigh 3x. exclude (may be SIZE_MAX) is the current holder when it must move on.
 * only_choked leaves out peers that just lost a regular slot (they had their turn). */
static size_t
choker_pick_optimistic(struct choker_peer *peers, size_t n, size_t exclude, bool only_choked,
    uint64_t now_us, uint32_t *rng_state)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (!choker_optimistic_candidate(&peers[i], i, exclude, only_choked))
			continue;
		total += choker_is_new(&peers[i], now_us) ? 3 : 1;
	}
	if (total == 0)
		return SIZE_MAX;
	uint64_t r = ((uint64_t)choker_random(rng_state) * total) >> 32;
	for (size_t i = 0; i < n; i++) {
		if (!choker_optimistic_candidate(&peers[i], i, exclude, only_choked))
			continue;
		uint64_t w = choker_is_new(&peers[i], now_us) ? 3 : 1;
		if (r < w)
			return i;
		r -= w;
	}
	return SIZE_MAX;
}

void
choker_round(struct choker_peer *peers, size_t n, unsigned slots, bool seeding,
    bool new_optimistic, uint64_t now_us, uint32_t *rng_state)
{
	uint32_t local_rng = 0x2545f491u;
	if (rng_state == NULL)
		rng_state = &local_rng;

	size_t old_opt = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		peers[i].unchoke = false;
		if (peers[i].optimistic && old_opt == SIZE_MAX)
			old_opt = i;
		peers[i].optimistic = false;
	}
	if (slots == 0 || n == 0)
		return;
	unsigned regular = slots - 1;

	/* Regular slots. */
	struct choker_rank *rank = xcalloc(n, sizeof *rank);
	size_t nr = 0;
	unsigned keep = (regular + 1) / 2;	/* seeding: fastest half never rotates out */
	for (size_t i = 0; i < n; i++) {
		const struct choker_peer *cp = &peers[i];
		if (!cp->interested || (!seeding && cp->snubbed))
			continue;
		struct choker_rank *r = &rank[nr++];
		r->idx = i;
		r->rate = seeding ? cp->upload_rate : cp->download_rate;
		r->unchoked = !cp->choked;
		r->since = cp->unchoked_since_us;
		r->tie = choker_random(rng_state);
		r->group = 0;
	}
	if (seeding) {
		/* Rank by upload rate; then peers that held a slot for a full rotation period and are
		 * not among the fastest few drop behind everyone waiting, so others get a turn. */
		qsort(rank, nr, sizeof *rank, choker_rank_cmp);
		for (size_t k = keep; k < nr; k++) {
			struct choker_rank *r = &rank[k];
			if (r->unchoked && r->since != 0 &&
			    r->since + DP_SEED_ROTATE_S * US_PER_S <= now_us)
				r->group = 1;
		}
	}
	qsort(rank, nr, sizeof *rank, choker_rank_cmp);
	for (size_t k = 0; k < nr && k < regular; k++)
		peers[rank[k].idx].unchoke = true;
	free(rank);

	/* The optimistic slot: keep the holder for its period unless it must move. */
	size_t opt = SIZE_MAX;
	bool holder_ok = old_opt != SIZE_MAX && peers[old_opt].interested &&
	    !peers[old_opt].unchoke;
	if (holder_ok && !new_optimistic)
		opt = old_opt;
	else {
		opt = choker_pick_optimistic(peers, n, old_opt, true, now_us, rng_state);
		if (opt == SIZE_MAX)
			opt = choker_pick_optimistic(peers, n, old_opt, false, now_us, rng_state);
	}
	if (opt == SIZE_MAX && holder_ok)
		opt = old_opt;	/* nobody else to rotate to */
	if (opt != SIZE_MAX) {
		peers[opt].unchoke = true;
		peers[opt].optimistic = true;
	}
}
