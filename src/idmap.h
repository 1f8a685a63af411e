/* idmap.h: an open-addressing hash multimap from 64-bit keys to pointers, for the O(1)
 * lookups of things there can be many of (torrents by id and info-hash, known peers, the rows
 * an attached UI has). */
#ifndef DP_IDMAP_H
#define DP_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp_idmap_slot {
	uint64_t key;
	void *val;                /* NULL = free slot */
};

struct dp_idmap {
	struct dp_idmap_slot *slots;
	size_t cap;               /* a power of two, or 0 before the first put */
	size_t count;             /* pairs in both tables */
	/* A large table grows a few slots per put or delete, not in one go (a 64k-pair rehash is
	 * tens of ms of one callback): the previous table, read-only but for deletions, whose
	 * slots from old_start on are moved into slots one by one; old_done of them are. */
	struct dp_idmap_slot *old;
	size_t old_cap, old_start, old_done;
};

void dp_idmap_init(struct dp_idmap *m);
void dp_idmap_free(struct dp_idmap *m);
/* Adds the pair (key, val); val must not be NULL. A key may map to several values. */
void dp_idmap_put(struct dp_idmap *m, uint64_t key, void *val);
/* Removes the pair (key, val); false if it was not there. */
bool dp_idmap_del(struct dp_idmap *m, uint64_t key, const void *val);
/* The first value of key, or NULL. */
void *dp_idmap_get(const struct dp_idmap *m, uint64_t key);
/* The values of key one by one (*cursor = 0 to begin); NULL after the last. The map must not
 * change between calls. */
void *dp_idmap_next(const struct dp_idmap *m, uint64_t key, size_t *cursor);

/* Every pair, slot by slot: the number of slots (those of the table and of the one it is
 * growing out of; 0 when empty), and the value in slot i (taken modulo the slots, so a cursor
 * may go round) with its key, or NULL for a free slot. A walk sees each pair once if the map
 * does not change during it. */
size_t dp_idmap_slots(const struct dp_idmap *m);
void *dp_idmap_slot(const struct dp_idmap *m, size_t i, uint64_t *key);

/* A key from the first 8 bytes of a 20-byte hash (already uniform). */
uint64_t dp_idmap_key20(const uint8_t hash[20]);

#endif
