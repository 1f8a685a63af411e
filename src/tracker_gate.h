/* tracker_gate.h: a limit on requests in flight per tracker (tracker_gate.c), so that thousands
 * of torrents on one tracker ask it a few at a time and a slow or dead tracker holds up only its
 * own torrents: a slot count per tracker and a FIFO of those waiting, O(1) to enter, leave or
 * drop out of the queue. Trackers are tracker_hosts' rows (scheme://host:port). */
#ifndef DP_ENGINE_INTERNAL
#error "tracker_gate.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_TRACKER_GATE_H
#define DP_TRACKER_GATE_H

#include <stdbool.h>
#include <stddef.h>

#define TRACKER_GATE_HTTP 8             /* requests in flight to one HTTP(S) tracker */
#define TRACKER_GATE_UDP 32             /* to one UDP tracker (a request is two datagrams) */
/* Stopped announces (a shutdown's thousands, each with a short deadline) go ahead of the others
 * and may fill more slots, so that 10,000 of them end within seconds yet a tracker never sees
 * them all at once. */
#define TRACKER_GATE_STOP_HTTP 32
#define TRACKER_GATE_STOP_UDP 64

struct tracker_gate;

/* One request's place at a gate, kept inside its owner (no allocation): queued, holding a slot,
 * or neither. */
struct tracker_gate_wait {
	struct tracker_gate_wait *prev, *next;
	struct tracker_gate *gate;
	int row;                        /* the tracker's row, -1: none */
	unsigned limit;                 /* it goes while fewer than this are in flight */
	bool urgent;                    /* queued ahead of the others (tracker_gate_enter_first) */
	bool queued, holding;
	void (*go)(struct tracker_gate_wait *w);   /* a queued request got its slot */
};

struct tracker_gate *tracker_gate_new(size_t rows);
void tracker_gate_free(struct tracker_gate *g);
/* Asks for a slot to tracker row (limit in flight): true when it is held now (send at once),
 * false when w waits in the queue with *ahead before it (w->go runs when it is its turn). */
bool tracker_gate_enter(struct tracker_gate *g, int row, unsigned limit,
    struct tracker_gate_wait *w, void (*go)(struct tracker_gate_wait *w), size_t *ahead);
/* The same for a request with a deadline (a stopped): it waits behind the other urgent ones
 * only (*ahead counts those), first come first served among them. */
bool tracker_gate_enter_first(struct tracker_gate *g, int row, unsigned limit,
    struct tracker_gate_wait *w, void (*go)(struct tracker_gate_wait *w), size_t *ahead);
/* The request ended or was cancelled: gives its slot to the first waiting, or leaves the queue
 * (O(1)). Nothing when w is neither queued nor holding. */
void tracker_gate_leave(struct tracker_gate_wait *w);
/* Requests in flight and waiting at a row (tests, figures). */
size_t tracker_gate_in_flight(const struct tracker_gate *g, int row);
size_t tracker_gate_waiting(const struct tracker_gate *g, int row);

#endif
