/* portmap_natpmp.c: NAT-PMP (RFC 6886) port mapping through libnatpmp: the default gateway's
 * public address and a mapping, each answer awaited with a deadline of our own (libnatpmp's
 * retries alone would wait two minutes). Blocking, on portmap.c's worker. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>

/* Debian's libnatpmp has strnatpmperr; the header declares it only when asked. */
#define ENABLE_STRNATPMPERR 1
#include <natpmp.h>

#include "portmap_private.h"
#include "util.h"

/* Waits for the answer to the request just sent: 0 with *resp, or a NATPMP_ERR_* code (a
 * timeout is NATPMP_ERR_NOGATEWAYSUPPORT, as libnatpmp says after its last retry). */
static int
portmap_natpmp_wait(natpmp_t *n, natpmpresp_t *resp, unsigned wait_ms)
{
	uint64_t deadline = dp_now_ms() + wait_ms;
	for (;;) {
		struct timeval tv;
		fd_set fds;
		FD_ZERO(&fds);
		FD_SET(n->s, &fds);
		if (getnatpmprequesttimeout(n, &tv) < 0)
			return NATPMP_ERR_GETTIMEOFDAYERR;
		uint64_t now = dp_now_ms();
		if (now >= deadline)
			return NATPMP_ERR_NOGATEWAYSUPPORT;
		uint64_t left = deadline - now;
		if ((uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000 > left) {
			tv.tv_sec = (time_t)(left / 1000);
			tv.tv_usec = (suseconds_t)(left % 1000 * 1000);
		}
		if (select(n->s + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
			return NATPMP_ERR_SOCKETERROR;
		int rc = readnatpmpresponseorretry(n, resp);
		if (rc != NATPMP_TRYAGAIN)
			return rc;
	}
}

static void
portmap_natpmp_fail(char *why, size_t whylen, const char *what, const char *gw, int rc)
{
	if (rc == NATPMP_ERR_NOGATEWAYSUPPORT)
		dp_fail(why, whylen, "no NAT-PMP answer from the gateway %s (%s)", gw, what);
	else
		dp_fail(why, whylen, "NAT-PMP %s at %s failed: %s (%d)", what, gw,
		    strnatpmperr(rc) != NULL ? strnatpmperr(rc) : "unknown error", rc);
}

int
portmap_natpmp_map(bool udp, uint16_t port, unsigned lifetime_s, unsigned wait_ms,
    uint16_t *external_port, unsigned *granted_s, char *gateway, size_t gwlen, char *external_ip,
    size_t iplen, char *why, size_t whylen)
{
	natpmp_t n;
	natpmpresp_t resp;
	snprintf(gateway, gwlen, "?");
	if (iplen > 0)
		external_ip[0] = '\0';
	int rc = initnatpmp(&n, 0, 0);
	if (rc == NATPMP_ERR_CANNOTGETGATEWAY) {
		dp_fail(why, whylen, "NAT-PMP: no default gateway");
		return -1;
	}
	if (rc < 0) {
		dp_fail(why, whylen, "NAT-PMP: cannot open a socket (%d)", rc);
		return -1;
	}
	struct in_addr gw = { .s_addr = n.gateway };
	if (inet_ntop(AF_INET, &gw, gateway, (socklen_t)gwlen) == NULL)
		snprintf(gateway, gwlen, "?");

	int ret = -1;
	if (sendpublicaddressrequest(&n) < 0) {
		dp_fail(why, whylen, "NAT-PMP: cannot send to the gateway %s", gateway);
		goto out;
	}
	rc = portmap_natpmp_wait(&n, &resp, wait_ms);
	if (rc != 0) {
		portmap_natpmp_fail(why, whylen, "public address", gateway, rc);
		goto out;
	}
	if (resp.type == NATPMP_RESPTYPE_PUBLICADDRESS)
		inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, external_ip, (socklen_t)iplen);

	if (sendnewportmappingrequest(&n, udp ? NATPMP_PROTOCOL_UDP : NATPMP_PROTOCOL_TCP, port,
	    port, lifetime_s) < 0) {
		dp_fail(why, whylen, "NAT-PMP: cannot send to the gateway %s", gateway);
		goto out;
	}
	rc = portmap_natpmp_wait(&n, &resp, wait_ms);
	if (rc != 0) {
		portmap_natpmp_fail(why, whylen, lifetime_s == 0 ? "unmapping" : "mapping", gateway,
		    rc);
		goto out;
	}
	if (resp.type != (udp ? NATPMP_RESPTYPE_UDPPORTMAPPING : NATPMP_RESPTYPE_TCPPORTMAPPING)) {
		dp_fail(why, whylen, "NAT-PMP: the gateway %s answered another request", gateway);
		goto out;
	}
	*external_port = resp.pnu.newportmapping.mappedpublicport;
	*granted_s = resp.pnu.newportmapping.lifetime;
	ret = 0;
out:
	closenatpmp(&n);
	return ret;
}
