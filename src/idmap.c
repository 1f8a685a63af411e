/* idmap.c: the hash multimap of idmap.h: linear probing at most half full, deletion by
 * backward shift (no tombstones, so lookups never slow down with churn), and growth of large
 * tables spread over the puts and deletes that follow it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "util.h"

#define IDMAP_MIN_CAP 16u
/* Tables below this many slots are rehashed at once (well under a millisecond); larger ones
 * move this many old slots per put or delete, so one put costs microseconds at any size and
 * the old table is empty long before the next growth (which comes cap / 2 puts later). */
#define IDMAP_STEP_MIN_CAP 1024u
#define IDMAP_MOVE_PER_OP 64u

/* splitmix64's finalizer: ids are sequential, so their low bits must be mixed. */
static size_t
idmap_home(size_t cap, uint64_t key)
{
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ULL;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebULL;
	key ^= key >> 31;
	return (size_t)key & (cap - 1);
}

void
dp_idmap_init(struct dp_idmap *m)
{
	memset(m, 0, sizeof *m);
}

void
dp_idmap_free(struct dp_idmap *m)
{
	free(m->slots);
	free(m->old);
	memset(m, 0, sizeof *m);
}

static void
idmap_insert(struct dp_idmap_slot *slots, size_t cap, uint64_t key, void *val)
{
	size_t i = idmap_home(cap, key);
	while (slots[i].val != NULL)
		i = (i + 1) & (cap - 1);
	slots[i].key = key;
	slots[i].val = val;
}

/*
 * The old table's slots are moved in order from old_start, a slot that was free when the growth
 * began. The old table takes no inserts, so no probe run crosses old_start, and a pair still
 * there sits at or after its home. Moved slots are free, which would cut the probe of a pair
 * whose home was moved but which was not: its lookup starts at the first slot not yet moved,
 * where what is left of its run begins.
 */
static size_t
idmap_old_first(const struct dp_idmap *m, uint64_t key)
{
	size_t mask = m->old_cap - 1, home = idmap_home(m->old_cap, key);
	if (((home - m->old_start) & mask) < m->old_done)
		return (m->old_start + m->old_done) & mask;
	return home;
}

/* Moves up to n of the old table's slots into the new one; frees it after its last. */
static void
idmap_move(struct dp_idmap *m, size_t n)
{
	while (m->old != NULL && n-- > 0) {
		struct dp_idmap_slot *s = &m->old[(m->old_start + m->old_done) & (m->old_cap - 1)];
		if (s->val != NULL) {
			idmap_insert(m->slots, m->cap, s->key, s->val);
			s->val = NULL;
			s->key = 0;
		}
		if (++m->old_done == m->old_cap) {
			free(m->old);
			m->old = NULL;
			m->old_cap = m->old_start = m->old_done = 0;
		}
	}
}

static void
idmap_grow(struct dp_idmap *m)
{
	idmap_move(m, m->old_cap);      /* the growth before, if unfinished (no walk of it is due) */
	struct dp_idmap_slot *prev = m->slots;
	size_t prevcap = m->cap;
	m->cap = prevcap ? prevcap * 2 : IDMAP_MIN_CAP;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	if (prevcap < IDMAP_STEP_MIN_CAP) {
		for (size_t i = 0; i < prevcap; i++)
			if (prev[i].val != NULL)
				idmap_insert(m->slots, m->cap, prev[i].key, prev[i].val);
		free(prev);
		return;
	}
	size_t start = 0;
	while (prev[start].val != NULL)         /* at most half full: a free slot comes soon */
		start++;
	m->old = prev;
	m->old_cap = prevcap;
	m->old_start = start;
	m->old_done = 0;
}

void
dp_idmap_put(struct dp_idmap *m, uint64_t key, void *val)
{
	if ((m->count + 1) * 2 > m->cap)
		idmap_grow(m);
	else
		idmap_move(m, IDMAP_MOVE_PER_OP);
	idmap_insert(m->slots, m->cap, key, val);
	m->count++;
}

/* Removes (key, val) from one table, probing from slot i; false if it is not there. */
static bool
idmap_del_in(struct dp_idmap_slot *slots, size_t cap, size_t i, uint64_t key, const void *val)
{
	size_t mask = cap - 1;
	while (slots[i].val != NULL && (slots[i].key != key || slots[i].val != val))
		i = (i + 1) & mask;
	if (slots[i].val == NULL)
		return false;
	/* Backward shift: pull later members of the probe run into the hole when their home
	 * is not between the hole and them (cyclically). In the old table a home already moved
	 * lies before the hole, so its pair is pulled, as it should be. */
	for (size_t j = i;;) {
		j = (j + 1) & mask;
		if (slots[j].val == NULL)
			break;
		size_t k = idmap_home(cap, slots[j].key);
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		slots[i] = slots[j];
		i = j;
	}
	slots[i].val = NULL;
	slots[i].key = 0;
	return true;
}

bool
dp_idmap_del(struct dp_idmap *m, uint64_t key, const void *val)
{
	if (m->cap == 0)
		return false;
	if (!idmap_del_in(m->slots, m->cap, idmap_home(m->cap, key), key, val) &&
	    (m->old == NULL ||
	     !idmap_del_in(m->old, m->old_cap, idmap_old_first(m, key), key, val)))
		return false;
	m->count--;
	idmap_move(m, IDMAP_MOVE_PER_OP);
	return true;
}

/* *cursor: 0 = begin; 1..cap: one past the new table's slot last returned; above cap: cap + 1
 * + the old table's slot to look at next. The new table is probed first, then the old one. */
void *
dp_idmap_next(const struct dp_idmap *m, uint64_t key, size_t *cursor)
{
	if (m->cap == 0)
		return NULL;
	if (*cursor <= m->cap) {
		size_t mask = m->cap - 1;
		size_t i = *cursor == 0 ? idmap_home(m->cap, key) : *cursor & mask;
		for (; m->slots[i].val != NULL; i = (i + 1) & mask) {
			if (m->slots[i].key == key) {
				*cursor = i + 1;
				return m->slots[i].val;
			}
		}
		if (m->old == NULL)
			return NULL;
		*cursor = m->cap + 1 + idmap_old_first(m, key);
	}
	if (m->old == NULL)
		return NULL;
	size_t mask = m->old_cap - 1;
	for (size_t i = (*cursor - m->cap - 1) & mask; m->old[i].val != NULL; i = (i + 1) & mask) {
		if (m->old[i].key == key) {
			*cursor = m->cap + 1 + ((i + 1) & mask);
			return m->old[i].val;
		}
	}
	return NULL;
}

void *
dp_idmap_get(const struct dp_idmap *m, uint64_t key)
{
	size_t cursor = 0;
	return dp_idmap_next(m, key, &cursor);
}

size_t
dp_idmap_slots(const struct dp_idmap *m)
{
	return m->cap + m->old_cap;
}

void *
dp_idmap_slot(const struct dp_idmap *m, size_t i, uint64_t *key)
{
	size_t n = dp_idmap_slots(m);
	if (n == 0)
		return NULL;
	i %= n;
	const struct dp_idmap_slot *s = i < m->cap ? &m->slots[i] : &m->old[i - m->cap];
	if (s->val != NULL && key != NULL)
		*key = s->key;
	return s->val;
}

uint64_t
dp_idmap_key20(const uint8_t hash[20])
{
	uint64_t k;
	memcpy(&k, hash, sizeof k);
	return k;
}
