/* idmap.c: the hash multimap of idmap.h: linear probing at most half full, deletion by
 * backward shift (no tombstones, so lookups never slow down with churn). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "util.h"

#define IDMAP_MIN_CAP 16u

/* splitmix64's finalizer: ids are sequential, so their low bits must be mixed. */
static size_t
idmap_home(const struct dp_idmap *m, uint64_t key)
{
	key ^= key >> 30;
	key *= 0xbf58476d1ce4e5b9ULL;
	key ^= key >> 27;
	key *= 0x94d049bb133111ebULL;
	key ^= key >> 31;
	return (size_t)key & (m->cap - 1);
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
	memset(m, 0, sizeof *m);
}

static void
idmap_insert(struct dp_idmap *m, uint64_t key, void *val)
{
	size_t i = idmap_home(m, key);
	while (m->slots[i].val != NULL)
		i = (i + 1) & (m->cap - 1);
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->count++;
}

static void
idmap_grow(struct dp_idmap *m)
{
	struct dp_idmap_slot *old = m->slots;
	size_t oldcap = m->cap;
	m->cap = oldcap ? oldcap * 2 : IDMAP_MIN_CAP;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	m->count = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].val != NULL)
			idmap_insert(m, old[i].key, old[i].val);
	free(old);
}

void
dp_idmap_put(struct dp_idmap *m, uint64_t key, void *val)
{
	if ((m->count + 1) * 2 > m->cap)
		idmap_grow(m);
	idmap_insert(m, key, val);
}

bool
dp_idmap_del(struct dp_idmap *m, uint64_t key, const void *val)
{
	if (m->cap == 0)
		return false;
	size_t mask = m->cap - 1, i = idmap_home(m, key);
	while (m->slots[i].val != NULL && (m->slots[i].key != key || m->slots[i].val != val))
		i = (i + 1) & mask;
	if (m->slots[i].val == NULL)
		return false;
	/* Backward shift: pull later members of the probe run into the hole when their home
	 * is not between the hole and them (cyclically). */
	for (size_t j = i;;) {
		j = (j + 1) & mask;
		if (m->slots[j].val == NULL)
			break;
		size_t k = idmap_home(m, m->slots[j].key);
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		m->slots[i] = m->slots[j];
		i = j;
	}
	m->slots[i].val = NULL;
	m->slots[i].key = 0;
	m->count--;
	return true;
}

void *
dp_idmap_next(const struct dp_idmap *m, uint64_t key, size_t *cursor)
{
	if (m->cap == 0)
		return NULL;
	size_t mask = m->cap - 1;
	/* *cursor: 0 = begin, else one past the slot last returned. */
	size_t i = *cursor == 0 ? idmap_home(m, key) : *cursor & mask;
	for (; m->slots[i].val != NULL; i = (i + 1) & mask) {
		if (m->slots[i].key == key) {
			*cursor = i + 1 == m->cap ? m->cap : i + 1;
			return m->slots[i].val;
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
	return m->cap;
}

void *
dp_idmap_slot(const struct dp_idmap *m, size_t i, uint64_t *key)
{
	if (m->cap == 0)
		return NULL;
	const struct dp_idmap_slot *s = &m->slots[i & (m->cap - 1)];
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
