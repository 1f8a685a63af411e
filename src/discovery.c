/* discovery.c: the DHT node and LSD as one peer source: set up from the settings (loopback
 * rules included), registrations passed to both, their peers handed up through one callback,
 * the DHT's row for the trackers tab. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "dht.h"
#include "dht_state.h"
#include "discovery.h"
#include "log.h"
#include "lsd.h"
#include "util.h"

struct discovery {
	struct dht *dht;                 /* NULL: off */
	struct lsd *lsd;                 /* NULL: off */
	int dht_port;
	discovery_peers_fn fn;
	void *arg;
};

static void
discovery_dht_peers(void *arg, void *owner, const uint8_t info_hash[20],
    const struct krpc_peer *peers, size_t n)
{
	struct discovery *d = arg;
	(void)info_hash;
	d->fn(d->arg, owner, peers, n);
}

static void
discovery_lsd_peer(void *arg, void *owner, const uint8_t info_hash[20],
    const struct sockaddr *addr, socklen_t addrlen)
{
	struct discovery *d = arg;
	struct krpc_peer p;
	(void)info_hash;
	memset(&p, 0, sizeof p);
	memcpy(&p.addr, addr, DP_MIN((size_t)addrlen, sizeof p.addr));
	p.addrlen = addrlen;
	d->fn(d->arg, owner, &p, 1);
}

static bool
discovery_loopback_only(const char *a)
{
	struct in6_addr a6;
	if (a == NULL || *a == '\0')
		return false;
	if (strncmp(a, "127.", 4) == 0)
		return true;
	return inet_pton(AF_INET6, a, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

struct discovery *
discovery_new(struct event_base *base, struct evdns_base *dns, struct disk_pool *pool,
    struct udp_socket *u4, struct udp_socket *u6, const struct discovery_config *cfg,
    discovery_peers_fn fn, void *arg)
{
	struct discovery *d = xcalloc(1, sizeof *d);
	d->fn = fn;
	d->arg = arg;
	bool loopback = discovery_loopback_only(cfg->listen_address);
	char err[256];
	if (cfg->dht && u4 == NULL && u6 == NULL) {
		log_info("dht: off: no UDP socket on the peer port");
	} else if (cfg->dht) {
		struct dht_config dc = {
			.bootstrap = cfg->dht_bootstrap,
			.nbootstrap = cfg->dht_bootstrap_count,
			.peer_port = (uint16_t)cfg->listen_port,
			.loopback_only = loopback,
		};
		struct dht_callbacks cb = { discovery_dht_peers, d };
		d->dht = dht_new(base, dns, pool, u4, u6, &dc, &cb, err, sizeof err);
		if (d->dht == NULL)
			log_warn("dht: off: %s", err);
		else
			d->dht_port = cfg->listen_port;
	}
	if (cfg->lsd && loopback) {
		log_info("lsd: off: listening on a loopback address");
	} else if (cfg->lsd) {
		struct lsd_callbacks lcb = { discovery_lsd_peer, d };
		d->lsd = lsd_new(base, (uint16_t)cfg->listen_port, &lcb, err, sizeof err);
		if (d->lsd == NULL)
			log_info("lsd: off: %s", err);
		else
			log_info("lsd: announcing public torrents on the local network (port %d)",
			    cfg->listen_port);
	}
	if (d->dht == NULL && d->lsd == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void
discovery_free(struct discovery *d)
{
	if (d == NULL)
		return;
	dht_free(d->dht);
	lsd_free(d->lsd);
	free(d);
}

void
discovery_set_session_dir(struct discovery *d, const char *dir)
{
	if (d == NULL || d->dht == NULL)
		return;
	char *path = xasprintf("%s/%s", dir, DHT_STATE_FILE);
	dht_set_state_file(d->dht, path);
	free(path);
}

void
discovery_add(struct discovery *d, const uint8_t info_hash[20], int torrent_id,
    const char *name, void *owner)
{
	if (d == NULL)
		return;
	if (d->dht != NULL)
		dht_announce_add(d->dht, info_hash, torrent_id, name, owner);
	if (d->lsd != NULL)
		lsd_add(d->lsd, info_hash, owner);
}

void
discovery_remove(struct discovery *d, const uint8_t info_hash[20])
{
	if (d == NULL)
		return;
	if (d->dht != NULL)
		dht_announce_remove(d->dht, info_hash);
	if (d->lsd != NULL)
		lsd_remove(d->lsd, info_hash);
}

void
discovery_reannounce(struct discovery *d, const uint8_t info_hash[20])
{
	if (d != NULL && d->dht != NULL)
		dht_announce_now(d->dht, info_hash);
}

void
discovery_dht_port(struct discovery *d, const struct sockaddr *peer, uint16_t port)
{
	if (d == NULL || d->dht == NULL || port == 0 ||
	    (peer->sa_family != AF_INET && peer->sa_family != AF_INET6))
		return;
	struct sockaddr_storage ss;
	socklen_t len = peer->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	memcpy(&ss, peer, len);
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	dht_add_node(d->dht, (struct sockaddr *)&ss, len);
}

int
discovery_dht_port_number(const struct discovery *d)
{
	return d != NULL ? d->dht_port : 0;
}

int
discovery_dht_nodes(const struct discovery *d)
{
	if (d == NULL || d->dht == NULL)
		return -1;
	struct dht_stats st;
	dht_get_stats(d->dht, &st);
	return (int)st.nodes;
}

bool
discovery_lsd_on(const struct discovery *d)
{
	return d != NULL && d->lsd != NULL;
}

bool
discovery_dht_info(const struct discovery *d, const uint8_t info_hash[20],
    struct dht_torrent_info *out)
{
	return d != NULL && d->dht != NULL && dht_torrent_info(d->dht, info_hash, out);
}
