/* tracker_gate.c: per-tracker request slots and the FIFO waiting for them (tracker_gate.h). A
 * freed slot goes to the first waiting, urgent ones (stopped announces) at the head of the queue
 * before the others; handing slots out runs as a loop, not a recursion, since a request can fail
 * (and give its slot back) inside its own go(). Each request carries its own limit: it goes
 * while fewer than that are in flight. */
#include "config.h"

#include <stdlib.h>

#include "tracker_gate.h"
#include "util.h"

struct tracker_gate_row {
	size_t in_flight, waiting, urgent_waiting;
	struct tracker_gate_wait *head, *tail;
	struct tracker_gate_wait *urgent_tail;  /* the last urgent one (they come first), or NULL */
	bool granting;                  /* tracker_gate_grant is running for this row */
};

struct tracker_gate {
	struct tracker_gate_row *rows;
	size_t count;
};

struct tracker_gate *
tracker_gate_new(size_t rows)
{
	struct tracker_gate *g = xcalloc(1, sizeof *g);
	g->rows = xcalloc(rows ? rows : 1, sizeof *g->rows);
	g->count = rows;
	return g;
}

void
tracker_gate_free(struct tracker_gate *g)
{
	if (g == NULL)
		return;
	free(g->rows);
	free(g);
}

static void
tracker_gate_unlink(struct tracker_gate_row *r, struct tracker_gate_wait *w)
{
	if (w == r->urgent_tail)
		r->urgent_tail = w->prev;       /* urgent too, or NULL: they are the queue's head */
	if (w->urgent)
		r->urgent_waiting--;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		r->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		r->tail = w->prev;
	w->prev = w->next = NULL;
	w->queued = false;
	r->waiting--;
}

/* Gives free slots to the waiting, first come first served. */
static void
tracker_gate_grant(struct tracker_gate_row *r)
{
	if (r->granting)
		return;         /* the loop below, further up the stack, carries on */
	r->granting = true;
	while (r->head != NULL && r->in_flight < r->head->limit) {
		struct tracker_gate_wait *w = r->head;
		tracker_gate_unlink(r, w);
		w->holding = true;
		r->in_flight++;
		w->go(w);
	}
	r->granting = false;
}

static bool
tracker_gate_join(struct tracker_gate *g, int row, unsigned limit, bool urgent,
    struct tracker_gate_wait *w, void (*go)(struct tracker_gate_wait *w), size_t *ahead)
{
	tracker_gate_leave(w);
	*ahead = 0;
	w->gate = g;
	w->row = row;
	w->go = go;
	w->limit = limit;
	w->urgent = urgent;
	if (g == NULL || row < 0 || (size_t)row >= g->count || limit == 0) {
		w->row = -1;    /* no gate: past the table's bound, or none given */
		return true;
	}
	struct tracker_gate_row *r = &g->rows[row];
	/* Nobody it would overtake is waiting, and a slot is free for it. */
	bool first = urgent ? r->urgent_tail == NULL : r->head == NULL;
	if (first && r->in_flight < limit) {
		r->in_flight++;
		w->holding = true;
		return true;
	}
	/* After the last of its kind: urgent ones after the urgent (the queue's head), the others
	 * at the tail. */
	struct tracker_gate_wait *after = urgent ? r->urgent_tail : r->tail;
	*ahead = urgent ? r->urgent_waiting : r->waiting;
	w->prev = after;
	w->next = after != NULL ? after->next : r->head;
	if (w->prev != NULL)
		w->prev->next = w;
	else
		r->head = w;
	if (w->next != NULL)
		w->next->prev = w;
	else
		r->tail = w;
	if (urgent) {
		r->urgent_tail = w;
		r->urgent_waiting++;
	}
	w->queued = true;
	r->waiting++;
	return false;
}

bool
tracker_gate_enter(struct tracker_gate *g, int row, unsigned limit,
    struct tracker_gate_wait *w, void (*go)(struct tracker_gate_wait *w), size_t *ahead)
{
	return tracker_gate_join(g, row, limit, false, w, go, ahead);
}

bool
tracker_gate_enter_first(struct tracker_gate *g, int row, unsigned limit,
    struct tracker_gate_wait *w, void (*go)(struct tracker_gate_wait *w), size_t *ahead)
{
	return tracker_gate_join(g, row, limit, true, w, go, ahead);
}

void
tracker_gate_leave(struct tracker_gate_wait *w)
{
	if (w->gate == NULL || w->row < 0 || (!w->queued && !w->holding))
		return;
	struct tracker_gate_row *r = &w->gate->rows[w->row];
	if (w->queued) {
		tracker_gate_unlink(r, w);
		return;
	}
	w->holding = false;
	r->in_flight--;
	tracker_gate_grant(r);
}

size_t
tracker_gate_in_flight(const struct tracker_gate *g, int row)
{
	return g != NULL && row >= 0 && (size_t)row < g->count ? g->rows[row].in_flight : 0;
}

size_t
tracker_gate_waiting(const struct tracker_gate *g, int row)
{
	return g != NULL && row >= 0 && (size_t)row < g->count ? g->rows[row].waiting : 0;
}
