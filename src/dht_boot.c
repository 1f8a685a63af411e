/* dht_boot.c: how the DHT node gets and keeps its place: bootstrap addresses (names resolved
 * through evdns), bootstrap lookups while a table is short, bucket refreshes and pings, the
 * table saved to and loaded from the session directory on the disk pool, and the external
 * address learnt from answers (BEP 42), which may give us a new ID. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "dht_private.h"
#include "dht_state.h"
#include "disk.h"
#include "log.h"
#include "net.h"
#include "tracker_private.h"
#include "util.h"

#define DHT_BOOT_BACKOFF_MIN_MS 1000u
#define DHT_BOOT_BACKOFF_MAX_MS (5u * 60u * 1000u)
#define DHT_PINGS_PER_TICK 2

static const char *const dht_builtin_bootstrap[] = { DHT_BUILTIN_BOOTSTRAP };

/* A bootstrap name being resolved (tracker_resolve: evdns, never blocking). */
struct dht_resolve {
	struct dht *d;
	struct tracker_resolve *req;
	char name[128];
	struct dht_resolve *next;
};

static void
dht_boot_add_addr(struct dht *d, const struct sockaddr *sa, socklen_t len)
{
	if (d->nboot == DHT_MAX_BOOT || (size_t)len > sizeof d->boot[0])
		return;
	for (size_t i = 0; i < d->nboot; i++)
		if (sockaddr_equal((struct sockaddr *)&d->boot[i], sa, true))
			return;
	memcpy(&d->boot[d->nboot], sa, len);
	d->bootlen[d->nboot] = len;
	d->nboot++;
	/* A new way in: a family still short of nodes tries at once. */
	for (int i = 0; i < 2; i++) {
		d->fam[i].boot_next_ms = 0;
		d->fam[i].boot_backoff_ms = DHT_BOOT_BACKOFF_MIN_MS;
	}
}

static void
dht_boot_resolved(void *arg, const struct sockaddr *sa, socklen_t salen, const char *err)
{
	struct dht_resolve *r = arg;
	struct dht *d = r->d;
	for (struct dht_resolve **pp = &d->resolving; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (sa == NULL)
		log_info("dht: bootstrap %s: %s", r->name, err != NULL ? err : "no address");
	else
		dht_boot_add_addr(d, sa, salen);
	free(r);
}

void
dht_boot_start(struct dht *d, const struct dht_config *cfg)
{
	const char *const *list = dht_builtin_bootstrap;
	size_t n = DP_ARRAY_LEN(dht_builtin_bootstrap);
	if (cfg != NULL && cfg->nbootstrap > 0) {
		list = cfg->bootstrap;
		n = cfg->nbootstrap;
	}
	size_t skipped = 0;
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		bool numeric = sockaddr_parse(list[i], &ss, &len);
		if (d->loopback_only && (!numeric || !sockaddr_is_loopback((struct sockaddr *)&ss))) {
			skipped++;
			continue;
		}
		if (numeric) {
			dht_boot_add_addr(d, (struct sockaddr *)&ss, len);
			continue;
		}
		const char *colon = strrchr(list[i], ':');
		char *end = NULL;
		unsigned long port = colon != NULL ? strtoul(colon + 1, &end, 10) : 0;
		size_t hlen = colon != NULL ? (size_t)(colon - list[i]) : 0;
		if (colon == NULL || end == colon + 1 || *end != '\0' || port == 0 || port > 65535 ||
		    hlen == 0 || hlen >= sizeof ((struct dht_resolve *)0)->name) {
			log_warn("dht: bootstrap entry '%.64s' is not HOST:PORT; ignored", list[i]);
			continue;
		}
		struct dht_resolve *r = xcalloc(1, sizeof *r);
		r->d = d;
		memcpy(r->name, list[i], hlen);
		r->next = d->resolving;
		d->resolving = r;
		r->req = tracker_resolve_start(d->base, d->dns, r->name, (uint16_t)port, SOCK_DGRAM,
		    AF_UNSPEC, dht_boot_resolved, r);
		if (r->req == NULL) {
			d->resolving = r->next;
			free(r);
		}
	}
	if (skipped > 0)
		log_info("dht: listening on loopback only: %zu bootstrap entr%s not on loopback "
		    "skipped", skipped, skipped == 1 ? "y" : "ies");
}

void
dht_boot_seed(struct dht_family *f, struct dht_lookup *l)
{
	struct dht *d = f->d;
	for (size_t i = 0; i < d->nsaved; i++)
		if (d->saved[i].addr.ss_family == f->af)
			dht_lookup_add(l, d->saved[i].id, (struct sockaddr *)&d->saved[i].addr,
			    d->saved[i].addrlen);
	for (size_t i = 0; i < d->nboot; i++)
		if (d->boot[i].ss_family == f->af)
			dht_lookup_add(l, NULL, (struct sockaddr *)&d->boot[i], d->bootlen[i]);
}

static bool
dht_boot_has_seeds(const struct dht *d, int af)
{
	for (size_t i = 0; i < d->nsaved; i++)
		if (d->saved[i].addr.ss_family == af)
			return true;
	for (size_t i = 0; i < d->nboot; i++)
		if (d->boot[i].ss_family == af)
			return true;
	return false;
}

bool
dht_boot_reachable(const struct dht_family *f)
{
	struct dht_table_counts c;
	dht_table_count(&f->table, dp_now_ms(), &c);
	return c.good + c.questionable > 0 || dht_boot_has_seeds(f->d, f->af);
}

void
dht_boot_tick(struct dht *d, uint64_t now_ms)
{
	for (int i = 0; i < 2; i++) {
		struct dht_family *f = &d->fam[i];
		if (f->u == NULL)
			continue;
		struct dht_table_counts c;
		dht_table_count(&f->table, now_ms, &c);
		if (c.good < DHT_K) {
			/* Short of nodes: a bootstrap lookup for our own ID, again soon while the
			 * table grows, backing off while it does not (a network smaller than k). */
			if (f->nodes_search == NULL && now_ms >= f->boot_next_ms &&
			    (c.good + c.questionable > 0 || dht_boot_has_seeds(d, f->af))) {
				if (c.good > f->boot_good || f->boot_backoff_ms < DHT_BOOT_BACKOFF_MIN_MS)
					f->boot_backoff_ms = DHT_BOOT_BACKOFF_MIN_MS;
				f->boot_good = c.good;
				f->boot_next_ms = now_ms + f->boot_backoff_ms;
				f->boot_backoff_ms = DP_MIN(2 * f->boot_backoff_ms, DHT_BOOT_BACKOFF_MAX_MS);
				dht_search_nodes(f, d->id, true, now_ms);
			}
		} else {
			f->boot_backoff_ms = DHT_BOOT_BACKOFF_MIN_MS;
			uint8_t rnd[DHT_ID_LEN], target[DHT_ID_LEN];
			dht_random_bytes(d, rnd, sizeof rnd);
			if (f->nodes_search == NULL && dht_table_refresh_due(&f->table, now_ms, rnd, target))
				dht_search_nodes(f, target, false, now_ms);
		}
		struct dht_node n;
		for (int k = 0; k < DHT_PINGS_PER_TICK && dht_out_allowed(d, now_ms) &&
		    dht_table_ping_due(&f->table, now_ms, &n); k++)
			dht_ping(f, (struct sockaddr *)&n.addr, n.addrlen, n.id, now_ms);
	}
}

/* ---- external address (BEP 42) ---- */

void
dht_boot_vote(struct dht *d, const struct sockaddr *ours, uint64_t now_ms)
{
	if (d->external_known || ours->sa_family != AF_INET || dht_addr_is_local(ours))
		return;
	struct sockaddr_storage a;
	memset(&a, 0, sizeof a);
	memcpy(&a, ours, sizeof(struct sockaddr_in));
	((struct sockaddr_in *)&a)->sin_port = 0;
	struct dht_vote *v = NULL, *weakest = &d->votes[0];
	for (int i = 0; i < DHT_VOTES; i++) {
		if (d->votes[i].count > 0 &&
		    sockaddr_equal((struct sockaddr *)&d->votes[i].addr, (struct sockaddr *)&a, false))
			v = &d->votes[i];
		if (d->votes[i].count < weakest->count)
			weakest = &d->votes[i];
	}
	if (v == NULL) {
		v = weakest;
		v->addr = a;
		v->count = 0;
	}
	if (++v->count < DHT_VOTES_NEEDED)
		return;
	d->external_known = true;
	char where[64];
	sockaddr_format((struct sockaddr *)&a, where, sizeof where);
	if (dht_id_check(d->id, (struct sockaddr *)&a)) {
		log_info("dht: our address is %s; our node ID suits it (BEP 42)", where);
		return;
	}
	uint8_t rnd[20];
	dht_random_bytes(d, rnd, sizeof rnd);
	dht_id_make((struct sockaddr *)&a, rnd[19], rnd, d->id);
	for (int i = 0; i < 2; i++)
		dht_table_set_own(&d->fam[i].table, d->id, now_ms);
	char hex[41];
	dp_hex_encode(d->id, DHT_ID_LEN, hex);
	log_info("dht: our address is %s; new node ID %s (BEP 42)", where, hex);
	dht_boot_save(d, now_ms, true);
}

/* ---- the saved table ---- */

struct dht_save_job {                /* owns everything: the node may be gone when it ends */
	struct disk_job job;
	char *path;
	uint8_t *data;
	size_t len;
	bool durable;
};

static void
dht_save_call(struct disk_job *job)
{
	struct dht_save_job *sj = (struct dht_save_job *)job;
	char err[256];
	if ((sj->durable ? dp_write_file_atomic : dp_write_file_atomic_batch)(sj->path, sj->data,
	    sj->len, NULL, NULL, err, sizeof err) < 0) {
		job->error = errno != 0 ? errno : EIO;
		snprintf(job->errmsg, sizeof job->errmsg, "%s", err);
	}
}

static void
dht_save_done(struct disk_job *job, void *arg)
{
	struct dht_save_job *sj = arg;
	if (job->error != 0)
		log_warn("dht: saving the node table: %s", job->errmsg);
	free(sj->path);
	free(sj->data);
	free(sj);
}

void
dht_boot_save(struct dht *d, uint64_t now_ms, bool durable)
{
	d->saved_at_ms = now_ms;
	if (d->state_path == NULL || d->pool == NULL)
		return;
	size_t max = DHT_STATE_MAX_NODES;
	struct krpc_node *nodes = xcalloc(2 * max, sizeof *nodes);
	size_t n = 0;
	for (int i = 0; i < 2; i++)
		if (d->fam[i].u != NULL)
			n += dht_table_export(&d->fam[i].table, nodes + n, max, now_ms);
	/* Nothing learnt yet (a start without network): keep what the file has. */
	if (n == 0 && d->nsaved > 0) {
		free(nodes);
		return;
	}
	struct dp_buf b;
	dp_buf_init(&b);
	dht_state_encode(&b, d->id, nodes, n);
	free(nodes);
	struct dht_save_job *sj = xcalloc(1, sizeof *sj);
	sj->path = xstrdup(d->state_path);
	sj->data = dp_buf_steal(&b, &sj->len);
	sj->durable = durable;
	sj->job.op = DISK_OP_CALL;
	sj->job.call = dht_save_call;
	sj->job.what = "saving the DHT node table";
	sj->job.done = dht_save_done;
	sj->job.arg = sj;
	disk_pool_submit(d->pool, &sj->job);
}

struct dht_load_job {
	struct disk_job job;
	struct dht *d;                   /* NULL once the node is gone */
	char *path;
	uint8_t *data;
	size_t len;
};

static void
dht_load_call(struct disk_job *job)
{
	struct dht_load_job *lj = (struct dht_load_job *)job;
	if (dp_read_file(lj->path, DHT_STATE_MAX_BYTES, &lj->data, &lj->len) == 0)
		return;
	int e = errno;
	char *bak = xasprintf("%s.bak", lj->path);
	if (dp_read_file(bak, DHT_STATE_MAX_BYTES, &lj->data, &lj->len) < 0) {
		job->error = e;
		snprintf(job->errmsg, sizeof job->errmsg, "%s: %s", lj->path, strerror(e));
	}
	free(bak);
}

static void
dht_load_done(struct disk_job *job, void *arg)
{
	struct dht_load_job *lj = arg;
	struct dht *d = lj->d;
	if (d != NULL) {
		d->load_job = NULL;
		if (job->error == ENOENT) {
			log_info("dht: no saved node table yet (%s)", lj->path);
		} else if (job->error != 0) {
			log_warn("dht: reading the node table: %s", job->errmsg);
		} else {
			uint8_t id[DHT_ID_LEN], zero[DHT_ID_LEN] = { 0 };
			struct krpc_node *nodes;
			size_t n;
			char err[160];
			if (dht_state_decode(lj->data, lj->len, id, &nodes, &n, err, sizeof err) < 0) {
				log_warn("dht: %s: %s; starting without it", lj->path, err);
			} else {
				if (memcmp(id, zero, DHT_ID_LEN) != 0) {
					memcpy(d->id, id, DHT_ID_LEN);
					uint64_t now = dp_now_ms();
					for (int i = 0; i < 2; i++)
						dht_table_set_own(&d->fam[i].table, d->id, now);
				}
				free(d->saved);
				d->saved = nodes;
				d->nsaved = n;
				log_info("dht: %zu nodes from %s", n, lj->path);
				for (int i = 0; i < 2; i++)
					d->fam[i].boot_next_ms = 0;
			}
		}
	}
	free(lj->path);
	free(lj->data);
	free(lj);
}

void
dht_set_state_file(struct dht *d, const char *path)
{
	free(d->state_path);
	d->state_path = xstrdup(path);
	if (d->pool == NULL || d->load_job != NULL)
		return;
	struct dht_load_job *lj = xcalloc(1, sizeof *lj);
	lj->d = d;
	lj->path = xstrdup(path);
	lj->job.op = DISK_OP_CALL;
	lj->job.call = dht_load_call;
	lj->job.what = "reading the DHT node table";
	lj->job.done = dht_load_done;
	lj->job.arg = lj;
	d->load_job = lj;
	disk_pool_submit(d->pool, &lj->job);
}

void
dht_boot_free(struct dht *d)
{
	while (d->resolving != NULL) {
		struct dht_resolve *r = d->resolving;
		d->resolving = r->next;
		tracker_resolve_cancel(r->req);
		free(r);
	}
	if (d->load_job != NULL)
		d->load_job->d = NULL;
	free(d->saved);
	free(d->state_path);
}
