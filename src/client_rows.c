/* client_rows.c: the rows of client_rows.h: an array and an idmap from id to index + 1 (the
 * map's values must not be NULL), kept in step on every add and removal, and the ids of the rows
 * that changed since the UI last asked. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client_rows.h"
#include "util.h"

void
client_rows_init(struct client_rows *r)
{
	memset(r, 0, sizeof *r);
	dp_idmap_init(&r->by_id);
	r->all = true;                 /* the first take: every row */
}

void
client_rows_free(struct client_rows *r)
{
	free(r->v);
	free(r->changed);
	dp_idmap_free(&r->by_id);
	memset(r, 0, sizeof *r);
}

/* Notes id as changed; past as many notes as rows (a UI that shows another screen does not
 * take them), every row is, and the notes stop. */
static void
client_rows_note(struct client_rows *r, int id)
{
	if (r->all)
		return;
	if (r->nchanged >= r->n + 64) {
		r->all = true;
		r->nchanged = 0;
		return;
	}
	if (r->nchanged == r->capchanged) {
		r->capchanged = r->capchanged ? r->capchanged * 2 : 64;
		r->changed = xreallocarray(r->changed, r->capchanged, sizeof *r->changed);
	}
	r->changed[r->nchanged++] = id;
}

size_t
client_rows_take_changes(struct client_rows *r, int **ids, bool *all)
{
	size_t n = r->nchanged;
	*all = r->all;
	*ids = n > 0 ? r->changed : NULL;
	if (n > 0) {
		r->changed = NULL;
		r->capchanged = 0;
	}
	r->nchanged = 0;
	r->all = false;
	return n;
}

void
client_rows_clear(struct client_rows *r)
{
	dp_idmap_free(&r->by_id);
	dp_idmap_init(&r->by_id);
	r->n = 0;
	r->nchanged = 0;
	r->all = true;
}

static void *
client_rows_slot(size_t i)
{
	return (void *)(uintptr_t)(i + 1);
}

void
client_rows_reserve(struct client_rows *r, size_t n)
{
	if (n <= r->cap)
		return;
	r->cap = n;
	r->v = xreallocarray(r->v, r->cap, sizeof *r->v);
}

struct engine_torrent_stats *
client_rows_find(const struct client_rows *r, int id)
{
	uintptr_t at = (uintptr_t)dp_idmap_get(&r->by_id, (uint64_t)id);
	return at != 0 ? &r->v[at - 1] : NULL;
}

struct engine_torrent_stats *
client_rows_get(struct client_rows *r, int id, bool *fresh)
{
	struct engine_torrent_stats *t = client_rows_find(r, id);
	*fresh = t == NULL;
	client_rows_note(r, id);
	if (t != NULL)
		return t;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xreallocarray(r->v, r->cap, sizeof *r->v);
	}
	t = &r->v[r->n];
	memset(t, 0, sizeof *t);
	t->id = id;
	dp_idmap_put(&r->by_id, (uint64_t)id, client_rows_slot(r->n));
	r->n++;
	return t;
}

bool
client_rows_remove(struct client_rows *r, int id)
{
	uintptr_t at = (uintptr_t)dp_idmap_get(&r->by_id, (uint64_t)id);
	if (at == 0)
		return false;
	size_t i = at - 1, last = r->n - 1;
	dp_idmap_del(&r->by_id, (uint64_t)id, client_rows_slot(i));
	client_rows_note(r, id);
	if (i != last) {
		/* the last row fills the gap: its index changes */
		int moved = r->v[last].id;
		r->v[i] = r->v[last];
		dp_idmap_del(&r->by_id, (uint64_t)moved, client_rows_slot(last));
		dp_idmap_put(&r->by_id, (uint64_t)moved, client_rows_slot(i));
		client_rows_note(r, moved);
	}
	r->n--;
	return true;
}
