/* portmap_upnp.c: UPnP IGD port mapping through miniupnpc: SSDP discovery of the gateway, its
 * WAN address, adding and removing a mapping. Blocking calls, made on portmap.c's worker. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>

#include "portmap_private.h"
#include "util.h"

/* UPnP error code 725: OnlyPermanentLeasesSupported (IGD v1 routers that want lease 0). */
#define PM_UPNP_ONLY_PERMANENT 725

struct pm_upnp {
	bool found;
	struct UPNPUrls urls;
	struct IGDdatas data;
	char lan[64];            /* our address towards the gateway */
};

struct pm_upnp *
portmap_upnp_new(void)
{
	return xcalloc(1, sizeof(struct pm_upnp));
}

static void
portmap_upnp_forget(struct pm_upnp *u)
{
	if (u->found)
		FreeUPNPUrls(&u->urls);
	u->found = false;
	memset(&u->urls, 0, sizeof u->urls);
}

void
portmap_upnp_free(struct pm_upnp *u)
{
	if (u == NULL)
		return;
	portmap_upnp_forget(u);
	free(u);
}

bool
portmap_upnp_found(const struct pm_upnp *u)
{
	return u->found;
}

/* The host part of the control URL, or "?" when it does not look like http://HOST[:PORT]/. */
static void
portmap_upnp_host(const char *url, char *out, size_t outlen)
{
	snprintf(out, outlen, "?");
	if (url == NULL || strncmp(url, "http://", 7) != 0)
		return;
	const char *h = url + 7;
	size_t n = strcspn(h, ":/");
	if (n == 0 || n >= outlen)
		return;
	memcpy(out, h, n);
	out[n] = '\0';
}

/* Copies a WAN address the gateway reported when it is a real IPv4 address. */
static void
portmap_upnp_copy_ip(const char *ip, char *out, size_t outlen)
{
	struct in_addr a;
	if (ip[0] != '\0' && inet_pton(AF_INET, ip, &a) == 1)
		snprintf(out, outlen, "%s", ip);
	else if (outlen > 0)
		out[0] = '\0';
}

int
portmap_upnp_discover(struct pm_upnp *u, unsigned wait_ms, char *gateway, size_t gwlen,
    char *external_ip, size_t iplen, char *why, size_t whylen)
{
	portmap_upnp_forget(u);
	int error = 0;
	struct UPNPDev *devs = upnpDiscover((int)wait_ms, NULL, NULL, UPNP_LOCAL_PORT_ANY, 0, 2,
	    &error);
	if (devs == NULL) {
		dp_fail(why, whylen, "no UPnP gateway answered the SSDP search (%u ms)", wait_ms);
		return -1;
	}
	u->lan[0] = '\0';
	int igd = UPNP_GetValidIGD(devs, &u->urls, &u->data, u->lan, sizeof u->lan);
	freeUPNPDevlist(devs);
	if (igd == 0) {
		dp_fail(why, whylen, "UPnP devices answered, but none is an Internet gateway");
		return -1;
	}
	u->found = true;
	portmap_upnp_host(u->urls.controlURL, gateway, gwlen);
	if (igd != 1) {
		dp_fail(why, whylen, "UPnP gateway %s %s", gateway, igd == 2 ?
		    "says it is not connected to the Internet" : "is not a valid Internet gateway");
		portmap_upnp_forget(u);
		return -1;
	}
	char ip[40] = "";
	if (UPNP_GetExternalIPAddress(u->urls.controlURL, u->data.first.servicetype, ip) != 0)
		ip[0] = '\0';
	ip[sizeof ip - 1] = '\0';
	portmap_upnp_copy_ip(ip, external_ip, iplen);
	return 0;
}

int
portmap_upnp_add(struct pm_upnp *u, bool udp, uint16_t port, unsigned lease_s,
    unsigned *granted_s, bool *lost, char *why, size_t whylen)
{
	char p[8], lease[16];
	snprintf(p, sizeof p, "%u", port);
	*lost = false;
	if (!u->found) {
		*lost = true;
		dp_fail(why, whylen, "no UPnP gateway known");
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		snprintf(lease, sizeof lease, "%u", lease_s);
		int rc = UPNP_AddPortMapping(u->urls.controlURL, u->data.first.servicetype, p, p,
		    u->lan, "downpour", udp ? "UDP" : "TCP", NULL, lease);
		if (rc == UPNPCOMMAND_SUCCESS) {
			*granted_s = lease_s;
			return 0;
		}
		if (rc == PM_UPNP_ONLY_PERMANENT && lease_s != 0) {
			lease_s = 0;
			continue;
		}
		/* Negative codes are miniupnpc's own: the gateway did not answer over HTTP. */
		if (rc < 0)
			*lost = true;
		dp_fail(why, whylen, "the UPnP gateway refused %s %u: %s (%d)", udp ? "UDP" : "TCP",
		    port, strupnperror(rc) != NULL ? strupnperror(rc) : "unknown error", rc);
		return -1;
	}
	return -1;
}

int
portmap_upnp_delete(struct pm_upnp *u, bool udp, uint16_t port, char *why, size_t whylen)
{
	char p[8];
	snprintf(p, sizeof p, "%u", port);
	if (!u->found) {
		dp_fail(why, whylen, "no UPnP gateway known");
		return -1;
	}
	int rc = UPNP_DeletePortMapping(u->urls.controlURL, u->data.first.servicetype, p,
	    udp ? "UDP" : "TCP", NULL);
	if (rc != UPNPCOMMAND_SUCCESS) {
		dp_fail(why, whylen, "the UPnP gateway did not remove %s %u: %s (%d)",
		    udp ? "UDP" : "TCP", port,
		    strupnperror(rc) != NULL ? strupnperror(rc) : "unknown error", rc);
		return -1;
	}
	return 0;
}
