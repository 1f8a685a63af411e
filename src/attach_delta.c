/* attach_delta.c: the keys an attached UI knows, with hashes of what it was sent: one record a
 * key, found through an idmap (idmap.c: the project's one hash table of 64-bit keys). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attach_delta.h"
#include "bencode.h"

void
attach_delta_init(struct attach_delta *d)
{
	memset(d, 0, sizeof *d);
	dp_idmap_init(&d->by_key);
}

size_t
attach_delta_count(const struct attach_delta *d)
{
	return d->by_key.count;
}

void
attach_delta_clear(struct attach_delta *d)
{
	for (size_t i = 0; i < dp_idmap_slots(&d->by_key); i++)
		free(dp_idmap_slot(&d->by_key, i, NULL));
	dp_idmap_free(&d->by_key);
	dp_idmap_init(&d->by_key);
}

void
attach_delta_free(struct attach_delta *d)
{
	attach_delta_clear(d);
	memset(d, 0, sizeof *d);
}

struct attach_delta_slot *
attach_delta_find(const struct attach_delta *d, uint64_t key)
{
	return dp_idmap_get(&d->by_key, key);
}

static struct attach_delta_slot *
attach_delta_insert(struct attach_delta *d, uint64_t key)
{
	struct attach_delta_slot *s = xcalloc(1, sizeof *s);
	s->key = key;
	dp_idmap_put(&d->by_key, key, s);
	return s;
}

void
attach_delta_remove(struct attach_delta *d, uint64_t key)
{
	struct attach_delta_slot *s = attach_delta_find(d, key);
	if (s == NULL)
		return;
	dp_idmap_del(&d->by_key, key, s);
	free(s);
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
	struct attach_delta_slot **gone = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < dp_idmap_slots(&d->by_key); i++) {
		struct attach_delta_slot *s = dp_idmap_slot(&d->by_key, i, NULL);
		if (s == NULL || s->mark == d->pass)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			gone = xreallocarray(gone, cap, sizeof *gone);
		}
		gone[n++] = s;
	}
	/* Removed after the walk: a removal moves other records between slots. */
	for (size_t i = 0; i < n; i++) {
		be_enc_int(out, (int64_t)gone[i]->key);
		dp_idmap_del(&d->by_key, gone[i]->key, gone[i]);
		free(gone[i]);
	}
	free(gone);
	return n;
}

size_t
attach_delta_keys(const struct attach_delta *d, size_t *cursor, uint64_t *out, size_t max)
{
	size_t n = 0, slots = dp_idmap_slots(&d->by_key);
	for (size_t seen = 0; seen < slots && n < max; seen++) {
		uint64_t key;
		if (dp_idmap_slot(&d->by_key, (*cursor)++, &key) != NULL)
			out[n++] = key;
	}
	return n;
}
