/* peer_disk_gate.h: the disk backpressure all peers share (DISK_WAIT): one flag the session
 * raises when the disk pool's pending bytes pass the bound, and the list of the peers it holds,
 * so that pausing costs nothing per peer and resuming wakes only the peers that were held. */
#ifndef DP_ENGINE_INTERNAL
#error "peer_disk_gate.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_PEER_DISK_GATE_H
#define DP_PEER_DISK_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One peer's place in the gate's list (in struct peer). */
struct peer_disk_waiter {
	struct peer_disk_waiter *next, *prev;
	bool held;
};

/* While closed, a peer that would read stops and waits in held, oldest first. */
struct peer_disk_gate {
	bool closed;
	struct peer_disk_waiter *held, *held_tail;
	size_t nheld;
};

/* Whether the gate holds w: it waits from now on when the gate is closed. */
bool peer_disk_gate_hold(struct peer_disk_gate *g, struct peer_disk_waiter *w);
/* w goes (its peer closes): out of the list, if it was in it. */
void peer_disk_gate_leave(struct peer_disk_gate *g, struct peer_disk_waiter *w);
/* The gate is open: the held go, oldest first, each handed to woken (its peer reads again),
 * until deadline_us (dp_now_us; a few at least) or the gate closes again. true when some still
 * wait. */
typedef void peer_disk_gate_woken_fn(struct peer_disk_waiter *w);
bool peer_disk_gate_wake(struct peer_disk_gate *g, uint64_t deadline_us,
    peer_disk_gate_woken_fn *woken);

#endif
