/* portmap.h: port mapping on the home gateway (UPnP IGD and NAT-PMP) for the listening port:
 * discovery, mapping and renewal on a worker thread of its own (the calls block), reported to
 * the loop, where each mapping is a task. Off unless port_mapping = true. Loop thread only. */
#ifndef DP_ENGINE_INTERNAL
#error "portmap.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_PORTMAP_H
#define DP_PORTMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct portmap;

/* Knobs for tests; zeros mean the defaults. */
struct portmap_options {
	unsigned discover_ms;      /* UPnP SSDP wait (default 2000) */
	unsigned natpmp_ms;        /* NAT-PMP answer wait, retries included (default 6000) */
	unsigned lease_s;          /* lease asked for (default 3600); renewed at half of it */
	unsigned retry_s;          /* first retry after a failure (default 300, doubling to 1 h) */
};

/*
 * Starts mapping port for TCP, and for UDP too when udp (uTP and the DHT share the number),
 * on UPnP and NAT-PMP gateways, each of the (up to) four a task. Never fails: a gateway that
 * is not there is a failed mapping, retried later, with the reason on its task and in the log.
 */
struct portmap *portmap_new(struct event_base *base, uint16_t port, bool udp,
    const struct portmap_options *opt);
/* Switched off at run time (port_mapping = false): the worker removes the mappings and waits;
 * switched on again, it maps anew with fresh tasks. Non-blocking. */
void portmap_set_enabled(struct portmap *pm, bool on);
/* Asks the worker to remove the mappings (non-blocking); portmap_free waits for it. */
void portmap_stop(struct portmap *pm);
/* Stops, waits a bounded time (5 s) for the mappings to be removed, frees. NULL is fine. */
void portmap_free(struct portmap *pm);

/* What the gateways said, for status lines. */
struct portmap_status {
	unsigned mapped;           /* mappings in place now */
	unsigned total;
	char external_ip[46];      /* "" until a gateway told it */
};
void portmap_get_status(const struct portmap *pm, struct portmap_status *out);

#endif
