/* queue.h: the queueing rule, pure so it can be tested: which torrents may be active given the
 * limits on active downloads and seeds, in queue order; and the seeding-limit test. */
#ifndef DP_QUEUE_H
#define DP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum queue_action { QUEUE_KEEP, QUEUE_START, QUEUE_PARK };

struct queue_entry {
	int id;
	bool download;          /* still has wanted data to fetch (else a seed) */
	bool active;            /* running now (downloading, seeding, checking) */
	bool pinned;            /* must stay as it is (checking, moving): counts if active */
	enum queue_action action;   /* output */
	bool unchecked;         /* data not looked at yet: starts at once to be checked, in no
	                         * class (once checked it comes back as a download or a seed) */
};

/*
 * Entries are in queue order (first = most wanted) and are only those the user wants running.
 * Queued entries start, in order, while fewer than max_down downloads (max_seed seeds) are
 * active; when more are active than allowed (a lowered limit), the last ones in queue order
 * are parked. Active entries are never swapped for earlier queued ones. 0 = unlimited.
 * Unchecked entries take no slot: they start (a check) whatever the limits.
 * Returns how many entries got an action other than QUEUE_KEEP.
 */
size_t queue_plan(struct queue_entry *v, size_t n, int max_down, int max_seed);

/*
 * Between full plans, a pass needs only the torrents that changed (refreshed by the caller) and
 * kept counts: a full plan (reading every torrent) is due only when it could act. Counts of
 * active torrents come from the engine's per-state counts; starved_* say the last full plan
 * left no queued candidate of the class, and stay so until a changed torrent is one.
 */
struct queue_counts {
	size_t active_down, active_seed;    /* torrents holding a download's / a seed's slot */
	size_t queued;                      /* torrents waiting in the queue */
	bool starved_down, starved_seed;
	bool unchecked;                     /* a changed torrent waits with its data unchecked */
};

/* true: a full plan could start or park something (queue_plan's rule, from the counts). */
bool queue_needs_plan(const struct queue_counts *c, int max_down, int max_seed);

/* After queue_plan: whether no queued candidate of each class is left waiting. */
void queue_plan_starved(const struct queue_entry *v, size_t n, bool *starved_down,
    bool *starved_seed);

/*
 * Seeding limits: ratio_milli and time_s are the torrent's own (-1 = use the global one, 0 =
 * none), global_ratio (0 = none) and global_time (0 = none) the session's. ratio is
 * uploaded / max(downloaded, size). Returns true when seeding should stop; why gets the reason.
 */
bool queue_seed_limit_reached(int64_t ratio_milli, int64_t time_s, double global_ratio,
    int64_t global_time, uint64_t uploaded, uint64_t downloaded, uint64_t size,
    int64_t seeding_s, char *why, size_t whylen);

#endif
