/* portmap_private.h: the blocking gateway calls portmap.c's worker makes (portmap_upnp.c,
 * portmap_natpmp.c). Worker thread only; nothing here touches the loop. */
#ifndef DP_ENGINE_INTERNAL
#error "portmap_private.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_PORTMAP_PRIVATE_H
#define DP_PORTMAP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A UPnP Internet Gateway Device found by discovery (opaque: miniupnpc's structures). */
struct pm_upnp;

struct pm_upnp *portmap_upnp_new(void);
void portmap_upnp_free(struct pm_upnp *u);
/* SSDP discovery (waits up to wait_ms) and the IGD's description. 0, or -1 with why. On 0,
 * gateway holds the IGD's address, lan our address towards it, external_ip the WAN address it
 * reports ("" if none). */
int portmap_upnp_discover(struct pm_upnp *u, unsigned wait_ms, char *gateway, size_t gwlen,
    char *external_ip, size_t iplen, char *why, size_t whylen);
bool portmap_upnp_found(const struct pm_upnp *u);
/* Maps external port = internal port to us for lease_s seconds (a gateway that only takes
 * permanent leases gets 0: *granted_s says which). 0, or -1 with why; *lost: the gateway no
 * longer answers (discover again). */
int portmap_upnp_add(struct pm_upnp *u, bool udp, uint16_t port, unsigned lease_s,
    unsigned *granted_s, bool *lost, char *why, size_t whylen);
int portmap_upnp_delete(struct pm_upnp *u, bool udp, uint16_t port, char *why, size_t whylen);

/*
 * NAT-PMP (RFC 6886) to the default gateway: asks for the public address, then maps port (the
 * same number outside) for lifetime_s (0 removes it), each answer awaited at most wait_ms with
 * the protocol's retries. 0, or -1 with why. gateway, external_ip and *external_port are set
 * from the answers (external_ip "" when not told).
 */
int portmap_natpmp_map(bool udp, uint16_t port, unsigned lifetime_s, unsigned wait_ms,
    uint16_t *external_port, unsigned *granted_s, char *gateway, size_t gwlen, char *external_ip,
    size_t iplen, char *why, size_t whylen);

#endif
