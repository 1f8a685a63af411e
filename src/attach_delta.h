/* attach_delta.h: what one attached UI was last sent of a keyed list (torrents, peers, files,
 * trackers, tasks): per key, a hash of each part of its row, so a request is answered with the
 * rows that changed and the keys that left, never the whole list again (attach_delta.c). */
#ifndef DP_ATTACH_DELTA_H
#define DP_ATTACH_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idmap.h"
#include "util.h"

/* What the client has of one key. */
struct attach_delta_slot {
	uint64_t key;
	uint64_t hs, hd;          /* hashes of the parts sent: "s" (static) and "d" (dynamic) */
	uint32_t mark;            /* the pass that last saw the key */
};

struct attach_delta {
	struct dp_idmap by_key;   /* key -> its struct attach_delta_slot (one each) */
	uint32_t pass;
};

void attach_delta_init(struct attach_delta *d);
/* How many keys the client has. */
size_t attach_delta_count(const struct attach_delta *d);
void attach_delta_free(struct attach_delta *d);
/* Forgets every key (the client is told to reset its copy). */
void attach_delta_clear(struct attach_delta *d);
struct attach_delta_slot *attach_delta_find(const struct attach_delta *d, uint64_t key);
void attach_delta_remove(struct attach_delta *d, uint64_t key);
/* Marks key seen in this pass without looking at its row: NULL when the client lacks it. */
struct attach_delta_slot *attach_delta_seen(struct attach_delta *d, uint64_t key);
/* Starts a pass over a whole list (attach_delta_gone then names the keys it did not see). */
void attach_delta_begin(struct attach_delta *d);

enum attach_row { ATTACH_ROW_SAME, ATTACH_ROW_SENT, ATTACH_ROW_HELD };
/*
 * One row of the list as it is now: its parts (bencoded; st may be NULL for rows of one part,
 * sent as "d"). When a part differs from what the client has, the row goes to out as
 * {"d": ..., "k": key, "s": ...} with the parts that changed, and is remembered: SENT. With
 * room false nothing is written and the row stays due (HELD: the answer continues at the next
 * request). SAME when the client has it already. Marks the key seen in this pass.
 */
enum attach_row attach_delta_row(struct attach_delta *d, uint64_t key, const struct dp_buf *st,
    const struct dp_buf *dy, bool room, struct dp_buf *out);
/* The keys not seen since attach_delta_begin: written to out as bencoded integers, and
 * forgotten. Returns how many. */
size_t attach_delta_gone(struct attach_delta *d, struct dp_buf *out);
/* Up to max keys from *cursor on, going round (a slow sweep over every key: the table's slots
 * are dp_idmap_slots(&d->by_key), so a sweep of that many slots meets each key). */
size_t attach_delta_keys(const struct attach_delta *d, size_t *cursor, uint64_t *out, size_t max);

#endif
