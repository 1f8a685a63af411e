/* changes.h: per-torrent change stamps for the RPC's "recently-active": a torrent touched on
 * every change (state, transfer, peers, a command) moves to the front of one list, so asking
 * what changed in the last N seconds reads only those, never every torrent; removals are kept
 * in a bounded ring for the answer's "removed". */
#ifndef DP_ENGINE_INTERNAL
#error "changes.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_CHANGES_H
#define DP_CHANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHANGES_REMOVED_MAX 4096      /* removals remembered (the oldest go first) */

/* Embedded in what changes (struct torrent). */
struct change_node {
	struct change_node *prev, *next;
	uint64_t stamp_ms;             /* monotonic (dp_now_ms), 0 = never touched */
	int id;
	bool linked;
};

struct change_removed {
	int id;
	uint64_t stamp_ms;
};

struct change_list {
	struct change_node *head;      /* most recently touched first */
	struct change_removed *removed;   /* ring of CHANGES_REMOVED_MAX */
	size_t removed_start, removed_count;
};

void changes_init(struct change_list *l);
void changes_free(struct change_list *l);
/* n changed at now_ms: O(1). */
void changes_touch(struct change_list *l, struct change_node *n, uint64_t now_ms);
/* n leaves the list (freed, or removed: then note_removed too). O(1). */
void changes_unlink(struct change_list *l, struct change_node *n);
void changes_note_removed(struct change_list *l, int id, uint64_t now_ms);
/* Ids touched at or after since_ms, most recent first; reads only those. Returns the count
 * (*ids NULL when 0; the caller frees). */
size_t changes_since(const struct change_list *l, uint64_t since_ms, int **ids);
/* Ids removed at or after since_ms. */
size_t changes_removed_since(const struct change_list *l, uint64_t since_ms, int **ids);

#endif
