/* changes.c: the change list behind "recently-active" (changes.h): move-to-front on every
 * touch, a walk from the front that stops at the first stamp older than asked, and a ring of
 * removals. */
#include "config.h"

#include <stdlib.h>

#include "changes.h"
#include "util.h"

void
changes_init(struct change_list *l)
{
	l->head = NULL;
	l->removed = xcalloc(CHANGES_REMOVED_MAX, sizeof *l->removed);
	l->removed_start = l->removed_count = 0;
}

void
changes_free(struct change_list *l)
{
	free(l->removed);
	l->removed = NULL;
	l->head = NULL;
	l->removed_start = l->removed_count = 0;
}

void
changes_unlink(struct change_list *l, struct change_node *n)
{
	if (!n->linked)
		return;
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	n->prev = n->next = NULL;
	n->linked = false;
}

void
changes_touch(struct change_list *l, struct change_node *n, uint64_t now_ms)
{
	/* Stamps never go backwards along the list, even if the clock is read out of order. */
	if (l->head != NULL && l->head != n && l->head->stamp_ms > now_ms)
		now_ms = l->head->stamp_ms;
	n->stamp_ms = now_ms;
	if (l->head == n)
		return;
	changes_unlink(l, n);
	n->next = l->head;
	n->prev = NULL;
	if (l->head != NULL)
		l->head->prev = n;
	l->head = n;
	n->linked = true;
}

void
changes_note_removed(struct change_list *l, int id, uint64_t now_ms)
{
	if (l->removed == NULL)
		return;
	size_t at = (l->removed_start + l->removed_count) % CHANGES_REMOVED_MAX;
	if (l->removed_count == CHANGES_REMOVED_MAX)
		l->removed_start = (l->removed_start + 1) % CHANGES_REMOVED_MAX;
	else
		l->removed_count++;
	l->removed[at].id = id;
	l->removed[at].stamp_ms = now_ms;
}

size_t
changes_since(const struct change_list *l, uint64_t since_ms, int **ids)
{
	size_t n = 0, cap = 0;
	*ids = NULL;
	for (const struct change_node *c = l->head; c != NULL && c->stamp_ms >= since_ms;
	    c = c->next) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			*ids = xreallocarray(*ids, cap, sizeof **ids);
		}
		(*ids)[n++] = c->id;
	}
	return n;
}

size_t
changes_removed_since(const struct change_list *l, uint64_t since_ms, int **ids)
{
	size_t n = 0, cap = 0;
	*ids = NULL;
	/* Newest last in the ring: walk back until one is older than asked. */
	for (size_t k = l->removed_count; k > 0; k--) {
		const struct change_removed *r =
		    &l->removed[(l->removed_start + k - 1) % CHANGES_REMOVED_MAX];
		if (r->stamp_ms < since_ms)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			*ids = xreallocarray(*ids, cap, sizeof **ids);
		}
		(*ids)[n++] = r->id;
	}
	return n;
}
