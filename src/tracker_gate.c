/* tracker_gate.c: per-tracker request slots and the FIFO waiting for them (tracker_gate.h). A
 * freed slot goes to the first waiting; handing slots out runs as a loop, not a recursion, since
 * a request can fail (and give its slot back) inside its own go(). */
#include "config.h"

#include <stdlib.h>

#include "tracker_gate.h"
#include "util.h"

struct tracker_gate_row {
	size_t in_flight, waiting;
	unsigned limit;
	struct tracker_gate_wait *head, *tail;
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
	while (r->head != NULL && r->in_flight < r->limit) {
		struct tracker_gate_wait *w = r->head;
		tracker_gate_unlink(r, w);
		w->holding = true;
		r->in_flight++;
		w->go(w);
	}
	r->granting = false;
}

bool
tracker_gate_enter(struct tracker_gate *g, int row, unsigned limit,
    struct tracker_gate_wait *w, void (*go)(struct tracker_gate_wait *w), size_t *ahead)
{
	tracker_gate_leave(w);
	*ahead = 0;
	w->gate = g;
	w->row = row;
	w->go = go;
	if (g == NULL || row < 0 || (size_t)row >= g->count || limit == 0) {
		w->row = -1;    /* no gate: past the table's bound, or none given */
		return true;
	}
	struct tracker_gate_row *r = &g->rows[row];
	r->limit = limit;
	if (r->head == NULL && r->in_flight < limit) {
		r->in_flight++;
		w->holding = true;
		return true;
	}
	*ahead = r->waiting;
	w->prev = r->tail;
	w->next = NULL;
	if (r->tail != NULL)
		r->tail->next = w;
	else
		r->head = w;
	r->tail = w;
	w->queued = true;
	r->waiting++;
	return false;
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
