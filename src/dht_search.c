/* dht_search.c: the DHT's running lookups (find_node for bootstrap and refresh, get_peers then
 * announce_peer for registered info-hashes), each a task, and the schedule of registered
 * info-hashes: a sorted array to find them, a min-heap by next lookup time to run them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "dht_private.h"
#include "log.h"
#include "net.h"
#include "task.h"
#include "util.h"

#define DHT_RETRY_MIN_MS (5u * 1000u)            /* no node answered: try again soon */
#define DHT_EMPTY_MIN_MS (30u * 1000u)           /* nodes answered, no peers yet */
#define DHT_NOW_MIN_GAP_MS (60u * 1000u)         /* dht_announce_now at most this often */
#define DHT_SEEN_MAX 256                         /* peers remembered per lookup, to count */

struct dht_entry {
	uint8_t ih[DHT_ID_LEN];
	int torrent_id;
	char name[64];
	void *owner;                     /* the registrant's, handed back with peers */
	uint64_t due_ms;
	size_t hpos;                     /* index in d->heap */
	struct dht_search *search[2];    /* per family, while one runs */
	struct dht_torrent_info info;
	uint64_t started_ms;
	uint64_t backoff_ms;             /* the next wait after a lookup that found nothing */
	size_t round_nodes, round_peers; /* over the families' lookups of the current round */
	bool starting;                   /* the round's lookups are being started */
	bool peers_logged;               /* the round's first peers were logged */
};

struct dht_search {
	struct dht *d;
	struct dht_family *f;
	bool peers;                      /* get_peers + announce_peer; else find_node */
	bool bootstrap;
	struct dht_lookup l;
	struct dht_entry *e;             /* the registered info-hash, NULL once it is removed */
	struct dp_task *task;
	int rpcs;                        /* transactions pointing here */
	bool announcing, finished;
	int ann[DHT_LOOKUP_K];
	size_t nann, ann_sent, ann_done, ann_ok;
	size_t peers_found;
	uint8_t seen[DHT_SEEN_MAX][18];  /* compact addresses of the peers found, to count them */
	size_t nseen;
	uint64_t started_ms;
	struct dht_search *next;
};

static void dht_search_pump(struct dht_search *s, uint64_t now_ms);

static const char *
dht_af_name(int af)
{
	return af == AF_INET ? "IPv4" : "IPv6";
}

/* ---- the registry and its heap ---- */

static bool
dht_heap_before(const struct dht_entry *a, const struct dht_entry *b)
{
	return a->due_ms < b->due_ms;
}

static void
dht_heap_swap(struct dht *d, size_t i, size_t j)
{
	struct dht_entry *t = d->heap[i];
	d->heap[i] = d->heap[j];
	d->heap[j] = t;
	d->heap[i]->hpos = i;
	d->heap[j]->hpos = j;
}

static void
dht_heap_fix(struct dht *d, size_t i)
{
	while (i > 0 && dht_heap_before(d->heap[i], d->heap[(i - 1) / 2])) {
		dht_heap_swap(d, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < d->nentries && dht_heap_before(d->heap[l], d->heap[m]))
			m = l;
		if (r < d->nentries && dht_heap_before(d->heap[r], d->heap[m]))
			m = r;
		if (m == i)
			return;
		dht_heap_swap(d, i, m);
		i = m;
	}
}

static size_t
dht_entry_search(const struct dht *d, const uint8_t ih[DHT_ID_LEN], bool *found)
{
	/* an entry begins with its info-hash */
	return dp_search_key20((void *const *)d->entries, d->nentries, ih, found);
}

static struct dht_entry *
dht_entry_find(const struct dht *d, const uint8_t ih[DHT_ID_LEN])
{
	bool found;
	size_t i = dht_entry_search(d, ih, &found);
	return found ? d->entries[i] : NULL;
}

size_t
dht_search_registered(const struct dht *d)
{
	return d->nentries;
}

void
dht_announce_add(struct dht *d, const uint8_t info_hash[DHT_ID_LEN], int torrent_id,
    const char *name, void *owner)
{
	bool found;
	size_t pos = dht_entry_search(d, info_hash, &found);
	if (found)
		return;
	if (d->nentries == d->entries_cap) {
		d->entries_cap = d->entries_cap ? 2 * d->entries_cap : 16;
		d->entries = xreallocarray(d->entries, d->entries_cap, sizeof *d->entries);
		d->heap = xreallocarray(d->heap, d->entries_cap, sizeof *d->heap);
	}
	struct dht_entry *e = xcalloc(1, sizeof *e);
	memcpy(e->ih, info_hash, DHT_ID_LEN);
	e->torrent_id = torrent_id;
	e->owner = owner;
	snprintf(e->name, sizeof e->name, "%s", name != NULL ? name : "");
	e->due_ms = dp_now_ms();
	e->backoff_ms = DHT_RETRY_MIN_MS;
	e->info.registered = true;
	memmove(&d->entries[pos + 1], &d->entries[pos], (d->nentries - pos) * sizeof *d->entries);
	d->entries[pos] = e;
	e->hpos = d->nentries;
	d->heap[d->nentries] = e;
	d->nentries++;
	dht_heap_fix(d, e->hpos);
}

/* ---- lookups ---- */

static void
dht_search_reason(struct dht_search *s)
{
	if (s->task == NULL || s->finished)
		return;
	if (s->announcing)
		task_wait(s->task, DP_TASK_READ_WAIT, "announcing to %zu nodes, %zu accepted",
		    s->nann, s->ann_ok);
	else if (s->peers)
		task_wait(s->task, DP_TASK_READ_WAIT,
		    "%zu nodes answered, %zu asked, %zu in flight, %zu peers found", s->l.replied,
		    s->l.sent, dht_lookup_inflight(&s->l), s->peers_found);
	else
		task_wait(s->task, DP_TASK_READ_WAIT, "%zu nodes answered, %zu asked, %zu in flight",
		    s->l.replied, s->l.sent, dht_lookup_inflight(&s->l));
}

static void
dht_search_unlink(struct dht_search *s)
{
	struct dht *d = s->d;
	for (struct dht_search **pp = &d->searches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			d->nsearches--;
			break;
		}
	if (s->f->nodes_search == s)
		s->f->nodes_search = NULL;
	if (s->e != NULL && s->e->search[s->f == &d->fam[0] ? 0 : 1] == s)
		s->e->search[s->f == &d->fam[0] ? 0 : 1] = NULL;
}

static void
dht_search_free(struct dht_search *s)
{
	task_release(&s->task);
	free(s);
}

/* Every family's lookup of a round ended: when to look again. Found nothing: soon, then less
 * and less often up to the interval (a swarm that is just starting, a table still filling). */
static void
dht_entry_round_done(struct dht *d, struct dht_entry *e, uint64_t now_ms)
{
	uint64_t wait = DHT_ANNOUNCE_INTERVAL_MS;
	if (e->round_nodes == 0 || e->round_peers == 0) {
		uint64_t floor = e->round_nodes == 0 ? DHT_RETRY_MIN_MS : DHT_EMPTY_MIN_MS;
		wait = DP_MIN(DP_MAX(e->backoff_ms, floor), (uint64_t)DHT_ANNOUNCE_INTERVAL_MS);
		e->backoff_ms = DP_MIN(wait * 2, (uint64_t)DHT_ANNOUNCE_INTERVAL_MS);
	} else {
		e->backoff_ms = DHT_RETRY_MIN_MS;
	}
	/* dht_announce_now may have asked for an earlier round meanwhile */
	if (e->due_ms > now_ms + wait || e->round_nodes == 0 || e->round_peers == 0 ||
	    e->due_ms > now_ms) {
		e->due_ms = now_ms + wait;
		dht_heap_fix(d, e->hpos);
	}
}

/* Done looking (and announcing): the entry learns how it went and when to look again. */
static void
dht_search_finish(struct dht_search *s, uint64_t now_ms)
{
	if (s->finished)
		return;
	s->finished = true;
	dht_search_unlink(s);
	struct dht_entry *e = s->e;
	if (e != NULL) {
		e->round_nodes += s->l.replied;
		e->round_peers += s->peers_found;
		e->info.searching = e->search[0] != NULL || e->search[1] != NULL;
		e->info.nodes_last = e->round_nodes;
		e->info.peers_last = e->round_peers;
		e->info.announced_last += s->ann_ok;
		if (!e->info.searching && !e->starting)
			dht_entry_round_done(s->d, e, now_ms);
	}
	if (s->peers)
		task_done(s->task, "%zu peers from %zu nodes (%zu asked), announced to %zu",
		    s->peers_found, s->l.replied, s->l.sent, s->ann_ok);
	else
		task_done(s->task, "%zu nodes answered of %zu asked", s->l.replied, s->l.sent);
	if (s->rpcs == 0)
		dht_search_free(s);
}

static struct dht_search *
dht_search_start(struct dht_family *f, const uint8_t target[DHT_ID_LEN], bool peers,
    struct dht_entry *e, bool bootstrap, uint64_t now_ms)
{
	struct dht *d = f->d;
	struct dht_search *s = xcalloc(1, sizeof *s);
	s->d = d;
	s->f = f;
	s->peers = peers;
	s->bootstrap = bootstrap;
	s->e = e;
	s->started_ms = now_ms;
	dht_lookup_init(&s->l, target);
	struct krpc_node near[2 * DHT_K];
	size_t n = dht_table_closest(&f->table, target, near, DP_ARRAY_LEN(near), now_ms);
	for (size_t i = 0; i < n; i++)
		dht_lookup_add(&s->l, near[i].id, (struct sockaddr *)&near[i].addr, near[i].addrlen);
	if (n < DHT_K)
		dht_boot_seed(f, &s->l);
	char hex[41];
	dp_hex_encode(target, DHT_ID_LEN, hex);
	if (peers)
		s->task = task_new(DP_TASK_KIND_DHT, e->torrent_id, "dht get_peers %s %.8s %s",
		    dht_af_name(f->af), hex, e->name);
	else
		s->task = task_new(DP_TASK_KIND_DHT, 0, "dht %s %s %.8s",
		    bootstrap ? "bootstrap" : "refresh", dht_af_name(f->af), hex);
	s->next = d->searches;
	d->searches = s;
	d->nsearches++;
	dht_search_reason(s);
	return s;
}

void
dht_search_nodes(struct dht_family *f, const uint8_t target[DHT_ID_LEN], bool bootstrap,
    uint64_t now_ms)
{
	if (f->nodes_search != NULL || f->u == NULL)
		return;
	struct dht_search *s = dht_search_start(f, target, false, NULL, bootstrap, now_ms);
	f->nodes_search = s;
	dht_search_pump(s, now_ms);        /* may end (and free) it at once */
}

static void
dht_search_send_lookups(struct dht_search *s, uint64_t now_ms)
{
	while (dht_out_allowed(s->d, now_ms)) {
		int i = dht_lookup_next(&s->l, now_ms);
		if (i < 0)
			break;
		struct dht_lookup_cand *c = &s->l.cands[i];
		struct dht_rpc *r = dht_send_query(s->f, s->peers ? KRPC_GET_PEERS : KRPC_FIND_NODE,
		    (struct sockaddr *)&c->node.addr, c->node.addrlen, c->id_known ? c->node.id : NULL,
		    s->l.target, NULL, 0, now_ms);
		if (r == NULL) {
			dht_lookup_failed(&s->l, i);
			continue;
		}
		r->search = s;
		r->cand = i;
		s->rpcs++;
	}
}

static void
dht_search_send_announces(struct dht_search *s, uint64_t now_ms)
{
	while (s->ann_sent < s->nann && dht_out_allowed(s->d, now_ms)) {
		struct dht_lookup_cand *c = &s->l.cands[s->ann[s->ann_sent++]];
		struct dht_rpc *r = dht_send_query(s->f, KRPC_ANNOUNCE_PEER,
		    (struct sockaddr *)&c->node.addr, c->node.addrlen, c->node.id, s->l.target,
		    c->token, c->token_len, now_ms);
		if (r == NULL) {
			s->ann_done++;
			continue;
		}
		r->search = s;
		s->rpcs++;
	}
}

static void
dht_search_pump(struct dht_search *s, uint64_t now_ms)
{
	if (s->finished)
		return;
	if (!s->announcing) {
		dht_search_send_lookups(s, now_ms);
		if (!dht_lookup_done(&s->l)) {
			dht_search_reason(s);
			return;
		}
		if (!s->peers || s->e == NULL) {
			dht_search_finish(s, now_ms);
			return;
		}
		s->announcing = true;
		s->nann = dht_lookup_announce_set(&s->l, s->ann, DHT_LOOKUP_K);
	}
	dht_search_send_announces(s, now_ms);
	if (s->ann_done >= s->nann)
		dht_search_finish(s, now_ms);
	else
		dht_search_reason(s);
}

/* Counts the peers of an answer that this lookup had not seen, and reports them upward. */
static void
dht_search_peers(struct dht_search *s, const struct krpc_msg *m)
{
	if (m->nvalues == 0 || s->e == NULL)
		return;
	size_t before = s->peers_found;
	for (size_t i = 0; i < m->nvalues; i++) {
		uint8_t a[18];
		size_t alen = krpc_compact_addr((const struct sockaddr *)&m->values[i].addr, a);
		bool seen = false;
		for (size_t k = 0; k < s->nseen && !seen; k++)
			seen = memcmp(s->seen[k], a, alen) == 0;
		if (seen)
			continue;
		if (s->nseen < DHT_SEEN_MAX)
			memcpy(s->seen[s->nseen++], a, alen);
		s->peers_found++;
	}
	s->e->info.peers_last = DP_MAX(s->e->info.peers_last, s->peers_found);
	/* The first peers of a round are worth a line: how long a lookup takes to be useful. */
	if (before == 0 && s->peers_found > 0 && !s->e->peers_logged) {
		s->e->peers_logged = true;
		log_info("dht: %s: first peers %llu ms into the lookup (%zu from %zu nodes)",
		    s->e->name, (unsigned long long)(dp_now_ms() - s->e->started_ms), s->peers_found,
		    s->l.replied);
	}
	struct dht *d = s->d;
	if (d->cb.got_peers != NULL)
		d->cb.got_peers(d->cb.arg, s->e->owner, s->e->ih, m->values, m->nvalues);
}

void
dht_search_answer(struct dht_rpc *r, const struct krpc_msg *msg, uint64_t now_ms)
{
	struct dht_search *s = r->search;
	r->search = NULL;
	/* The transaction's reference is given back at the end: the callback below may end
	 * the lookup (its torrent removed) and must not free it under us. */
	if (!s->finished) {
		if (r->method == KRPC_ANNOUNCE_PEER) {
			s->ann_done++;
			s->ann_ok += msg != NULL;
		} else if (msg == NULL) {
			dht_lookup_failed(&s->l, r->cand);
		} else if (dht_lookup_replied(&s->l, r->cand, msg->id, msg->token, msg->token_len)) {
			const struct krpc_node *nodes = s->f->af == AF_INET ? msg->nodes : msg->nodes6;
			size_t n = s->f->af == AF_INET ? msg->nnodes : msg->nnodes6;
			for (size_t i = 0; i < n; i++)
				if (memcmp(nodes[i].id, s->d->id, DHT_ID_LEN) != 0)
					dht_lookup_add(&s->l, nodes[i].id,
					    (const struct sockaddr *)&nodes[i].addr, nodes[i].addrlen);
			if (s->peers)
				dht_search_peers(s, msg);
		}
		dht_search_pump(s, now_ms);
	}
	s->rpcs--;
	if (s->finished && s->rpcs == 0)
		dht_search_free(s);
}

/* Ends a lookup whose info-hash went away (or the node is being freed). */
static void
dht_search_abandon(struct dht_search *s, const char *why)
{
	if (s->finished)
		return;
	s->e = NULL;
	s->finished = true;
	dht_search_unlink(s);
	task_done(s->task, "%s", why);
	if (s->rpcs == 0)
		dht_search_free(s);
}

void
dht_announce_remove(struct dht *d, const uint8_t info_hash[DHT_ID_LEN])
{
	bool found;
	size_t pos = dht_entry_search(d, info_hash, &found);
	if (!found)
		return;
	struct dht_entry *e = d->entries[pos];
	for (int i = 0; i < 2; i++)
		if (e->search[i] != NULL)
			dht_search_abandon(e->search[i], "the torrent left the DHT");
	memmove(&d->entries[pos], &d->entries[pos + 1], (d->nentries - pos - 1) * sizeof *d->entries);
	size_t h = e->hpos;
	d->nentries--;
	if (h != d->nentries) {
		d->heap[h] = d->heap[d->nentries];
		d->heap[h]->hpos = h;
		dht_heap_fix(d, h);
	}
	free(e);
}

void
dht_announce_now(struct dht *d, const uint8_t info_hash[DHT_ID_LEN])
{
	struct dht_entry *e = dht_entry_find(d, info_hash);
	uint64_t now = dp_now_ms();
	if (e == NULL || (e->started_ms != 0 && now - e->started_ms < DHT_NOW_MIN_GAP_MS))
		return;
	e->due_ms = now;
	dht_heap_fix(d, e->hpos);
}

bool
dht_torrent_info(const struct dht *d, const uint8_t info_hash[DHT_ID_LEN],
    struct dht_torrent_info *out)
{
	memset(out, 0, sizeof *out);
	const struct dht_entry *e = dht_entry_find(d, info_hash);
	if (e == NULL)
		return false;
	*out = e->info;
	out->searching = e->search[0] != NULL || e->search[1] != NULL;
	uint64_t now = dp_now_ms();
	int64_t wall = dp_wall_time();
	out->next_lookup = wall + (e->due_ms > now ? (int64_t)((e->due_ms - now) / 1000) : 0);
	return true;
}

void
dht_search_tick(struct dht *d, uint64_t now_ms)
{
	/* Lookups waiting for rate or alpha (at most DHT_MAX_SEARCHES). */
	for (struct dht_search *s = d->searches, *next; s != NULL; s = next) {
		next = s->next;
		dht_search_pump(s, now_ms);
	}
	int families = (d->fam[0].u != NULL) + (d->fam[1].u != NULL);
	while (d->nentries > 0 && d->heap[0]->due_ms <= now_ms &&
	    d->nsearches + (size_t)families <= DHT_MAX_SEARCHES) {
		struct dht_entry *e = d->heap[0];
		e->due_ms = now_ms + DHT_ANNOUNCE_INTERVAL_MS;
		dht_heap_fix(d, 0);
		e->started_ms = now_ms;
		e->info.last_lookup = dp_wall_time();
		e->info.peers_last = e->info.nodes_last = e->info.announced_last = 0;
		e->round_nodes = e->round_peers = 0;
		e->peers_logged = false;
		e->starting = true;
		for (int i = 0; i < 2; i++) {
			/* A family with no node and no bootstrap address has nobody to ask. */
			if (d->fam[i].u == NULL || e->search[i] != NULL || !dht_boot_reachable(&d->fam[i]))
				continue;
			struct dht_search *s = dht_search_start(&d->fam[i], e->ih, true, e, false, now_ms);
			e->search[i] = s;
			dht_search_pump(s, now_ms);        /* may end (and free) it at once */
		}
		e->starting = false;
		e->info.searching = e->search[0] != NULL || e->search[1] != NULL;
		if (!e->info.searching)
			dht_entry_round_done(d, e, now_ms);
	}
}

void
dht_search_drop_rpc(struct dht_rpc *r)
{
	struct dht_search *s = r->search;
	if (s == NULL)
		return;
	r->search = NULL;
	s->rpcs--;
	if (s->finished && s->rpcs == 0)
		dht_search_free(s);
}

void
dht_search_free_all(struct dht *d)
{
	while (d->searches != NULL)
		dht_search_abandon(d->searches, "the DHT stopped");
	for (size_t i = 0; i < d->nentries; i++)
		free(d->entries[i]);
	free(d->entries);
	free(d->heap);
	d->entries = d->heap = NULL;
	d->nentries = d->entries_cap = 0;
}
