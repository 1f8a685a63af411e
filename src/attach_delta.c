/* attach_delta.c: the keys an attached UI knows, with hashes of what it was sent: an
 * open-addressing table (linear probing, deletion by shifting back, so no tombstones pile up as
 * peers and tasks come and go). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attach_delta.h"
#include "bencode.h"

void
attach_delta_init(struct attach_delta *d)
{
	memset(d, 0, sizeof *d);
}

void
attach_delta_free(struct attach_delta *d)
{
	free(d->slots);
	memset(d, 0, sizeof *d);
}

void
attach_delta_clear(struct attach_delta *d)
{
	if (d->slots != NULL)
		memset(d->slots, 0, d->cap * sizeof *d->slots);
	d->n = 0;
}

static size_t
attach_delta_home(const struct attach_delta *d, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (d->cap - 1);
}

struct attach_delta_slot *
attach_delta_find(const struct attach_delta *d, uint64_t key)
{
	if (d->cap == 0)
		return NULL;
	for (size_t i = attach_delta_home(d, key); ; i = (i + 1) & (d->cap - 1)) {
		struct attach_delta_slot *s = &d->slots[i];
		if (!s->used)
			return NULL;
		if (s->key == key)
			return s;
	}
}

static void
attach_delta_grow(struct attach_delta *d)
{
	struct attach_delta_slot *old = d->slots;
	size_t oldcap = d->cap;
	d->cap = oldcap ? oldcap * 2 : 64;
	d->slots = xcalloc(d->cap, sizeof *d->slots);
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].used)
			continue;
		size_t j = attach_delta_home(d, old[i].key);
		while (d->slots[j].used)
			j = (j + 1) & (d->cap - 1);
		d->slots[j] = old[i];
	}
	free(old);
}

static struct attach_delta_slot *
attach_delta_insert(struct attach_delta *d, uint64_t key)
{
	if ((d->n + 1) * 2 > d->cap)
		attach_delta_grow(d);
	size_t i = attach_delta_home(d, key);
	while (d->slots[i].used)
		i = (i + 1) & (d->cap - 1);
	struct attach_delta_slot *s = &d->slots[i];
	memset(s, 0, sizeof *s);
	s->used = true;
	s->key = key;
	d->n++;
	return s;
}

void
attach_delta_remove(struct attach_delta *d, uint64_t key)
{
	struct attach_delta_slot *s = attach_delta_find(d, key);
	if (s == NULL)
		return;
	size_t i = (size_t)(s - d->slots);
	d->slots[i].used = false;
	d->n--;
	/* shift back the entries of the run after it that may live nearer their home */
	for (size_t j = (i + 1) & (d->cap - 1); d->slots[j].used; j = (j + 1) & (d->cap - 1)) {
		size_t h = attach_delta_home(d, d->slots[j].key);
		/* j's entry may move to i when its home is not in (i, j] (cyclically) */
		bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
		if (stays)
			continue;
		d->slots[i] = d->slots[j];
		d->slots[j].used = false;
		i = j;
	}
}

struct attach_delta_slot *
attach_delta_seen(struct attach_delta *d, uint64_t key)
{
	struct attach_delta_slot *s = attach_delta_find(d, key);
	if (s != NULL)
		s->mark = d->pass;
	return s;
}

void
attach_delta_begin(struct attach_delta *d)
{
	d->pass++;
}

static uint64_t
attach_delta_hash(const struct dp_buf *b)
{
	return b != NULL ? dp_fnv1a(DP_FNV1A_INIT, b->data, b->len) : 0;
}

enum attach_row
attach_delta_row(struct attach_delta *d, uint64_t key, const struct dp_buf *st,
    const struct dp_buf *dy, bool room, struct dp_buf *out)
{
	uint64_t hs = attach_delta_hash(st), hd = attach_delta_hash(dy);
	struct attach_delta_slot *s = attach_delta_find(d, key);
	if (s != NULL) {
		s->mark = d->pass;
		if (s->hs == hs && s->hd == hd)
			return ATTACH_ROW_SAME;
	}
	if (!room)
		return ATTACH_ROW_HELD;
	bool fresh = s == NULL;
	if (fresh) {
		s = attach_delta_insert(d, key);
		s->mark = d->pass;
	}
	be_enc_dict_begin(out);
	if (dy != NULL && (fresh || s->hd != hd)) {
		be_enc_cstr(out, "d");
		dp_buf_add(out, dy->data, dy->len);
	}
	be_enc_cstr(out, "k");
	be_enc_int(out, (int64_t)key);
	if (st != NULL && (fresh || s->hs != hs)) {
		be_enc_cstr(out, "s");
		dp_buf_add(out, st->data, st->len);
	}
	be_enc_end(out);
	s->hs = hs;
	s->hd = hd;
	return ATTACH_ROW_SENT;
}

size_t
attach_delta_gone(struct attach_delta *d, struct dp_buf *out)
{
	uint64_t *gone = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < d->cap; i++) {
		if (!d->slots[i].used || d->slots[i].mark == d->pass)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			gone = xreallocarray(gone, cap, sizeof *gone);
		}
		gone[n++] = d->slots[i].key;
	}
	for (size_t i = 0; i < n; i++) {
		be_enc_int(out, (int64_t)gone[i]);
		attach_delta_remove(d, gone[i]);
	}
	free(gone);
	return n;
}

size_t
attach_delta_keys(const struct attach_delta *d, size_t *cursor, uint64_t *out, size_t max)
{
	size_t n = 0;
	if (d->cap == 0)
		return 0;
	for (size_t seen = 0; seen < d->cap && n < max; seen++) {
		size_t i = (*cursor)++ & (d->cap - 1);
		if (d->slots[i].used)
			out[n++] = d->slots[i].key;
	}
	return n;
}
