/* peer_disk_gate.c: the list of peers the disk backpressure holds, and waking them in slices
 * once the gate opens. */
#include "config.h"

#include "peer_disk_gate.h"
#include "util.h"

/* Peers woken between two looks at the clock: waking one enables its read event and formats
 * its task's reason (a few microseconds). */
#define PEER_DISK_GATE_CLOCK_EVERY 32u

bool
peer_disk_gate_hold(struct peer_disk_gate *g, struct peer_disk_waiter *w)
{
	if (w->held)
		return true;
	if (!g->closed)
		return false;
	w->held = true;
	w->next = NULL;
	w->prev = g->held_tail;
	if (g->held_tail != NULL)
		g->held_tail->next = w;
	else
		g->held = w;
	g->held_tail = w;
	g->nheld++;
	return true;
}

void
peer_disk_gate_leave(struct peer_disk_gate *g, struct peer_disk_waiter *w)
{
	if (!w->held)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		g->held = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		g->held_tail = w->prev;
	w->next = w->prev = NULL;
	w->held = false;
	g->nheld--;
}

bool
peer_disk_gate_wake(struct peer_disk_gate *g, uint64_t deadline_us,
    peer_disk_gate_woken_fn *woken)
{
	unsigned n = 0;
	while (!g->closed && g->held != NULL) {
		if (n > 0 && n % PEER_DISK_GATE_CLOCK_EVERY == 0 && dp_now_us() >= deadline_us)
			break;
		struct peer_disk_waiter *w = g->held;
		peer_disk_gate_leave(g, w);
		woken(w);
		n++;
	}
	return !g->closed && g->held != NULL;
}
