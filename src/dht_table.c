/* dht_table.c: the k-bucket routing table: splitting the bucket of our own ID, the replacement
 * cache, node states, refresh targets and the closest-nodes search. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "dht_table.h"
#include "net.h"
#include "util.h"

void
dht_table_init(struct dht_table *t, const uint8_t own[DHT_ID_LEN], int family, uint64_t now_ms)
{
	memset(t, 0, sizeof *t);
	memcpy(t->own, own, DHT_ID_LEN);
	t->family = family;
	t->buckets = xcalloc(1, sizeof *t->buckets);
	t->nbuckets = 1;
	/* A new table refreshes nothing for a while: the bootstrap lookup fills it first. */
	t->buckets[0].changed_ms = now_ms;
	t->created_ms = now_ms;
}

void
dht_table_free(struct dht_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
}

enum dht_node_state
dht_node_state(const struct dht_node *n, uint64_t now_ms)
{
	if (n->fails >= DHT_NODE_MAX_FAILS)
		return DHT_NODE_BAD;
	if (n->last_reply_ms != 0 && (now_ms - n->last_reply_ms < DHT_GOOD_MS ||
	    (n->last_query_ms != 0 && now_ms - n->last_query_ms < DHT_GOOD_MS)))
		return DHT_NODE_GOOD;
	return DHT_NODE_QUESTIONABLE;
}

static int
dht_table_index(const struct dht_table *t, const uint8_t id[DHT_ID_LEN])
{
	return DP_MIN(dht_id_common_prefix(t->own, id), t->nbuckets - 1);
}

static struct dht_node *
dht_bucket_find(struct dht_node *arr, int n, const uint8_t id[DHT_ID_LEN])
{
	for (int i = 0; i < n; i++)
		if (memcmp(arr[i].id, id, DHT_ID_LEN) == 0)
			return &arr[i];
	return NULL;
}

/* Whether a bucket already holds this address, or (for addresses that are not local) another
 * node of this IP: one host gets one place per bucket, so it cannot fill a bucket alone. */
static bool
dht_bucket_has_host(const struct dht_bucket *b, const struct sockaddr *addr)
{
	bool local = dht_addr_is_local(addr);
	for (int i = 0; i < b->n; i++) {
		const struct sockaddr *o = (const struct sockaddr *)&b->nodes[i].addr;
		if (sockaddr_equal(o, addr, local))
			return true;
	}
	return false;
}

static void
dht_node_fill(struct dht_node *n, const uint8_t id[DHT_ID_LEN], const struct sockaddr *addr,
    socklen_t addrlen)
{
	memset(n, 0, sizeof *n);
	memcpy(n->id, id, DHT_ID_LEN);
	memcpy(&n->addr, addr, DP_MIN((size_t)addrlen, sizeof n->addr));
	n->addrlen = addrlen;
	n->secure = dht_id_check(id, addr);
}

/* Moves the nodes (and replacements) of the last bucket that belong deeper into a new one. */
static void
dht_table_split(struct dht_table *t)
{
	t->buckets = xreallocarray(t->buckets, (size_t)t->nbuckets + 1, sizeof *t->buckets);
	struct dht_bucket *old = &t->buckets[t->nbuckets - 1];
	struct dht_bucket *nb = &t->buckets[t->nbuckets];
	memset(nb, 0, sizeof *nb);
	nb->changed_ms = old->changed_ms;
	int depth = t->nbuckets;       /* IDs sharing at least this many bits go to nb */
	t->nbuckets++;
	int keep = 0;
	for (int i = 0; i < old->n; i++) {
		if (dht_id_common_prefix(t->own, old->nodes[i].id) >= depth)
			nb->nodes[nb->n++] = old->nodes[i];
		else
			old->nodes[keep++] = old->nodes[i];
	}
	old->n = keep;
	keep = 0;
	for (int i = 0; i < old->nrepl; i++) {
		if (dht_id_common_prefix(t->own, old->repl[i].id) >= depth)
			nb->repl[nb->nrepl++] = old->repl[i];
		else
			old->repl[keep++] = old->repl[i];
	}
	old->nrepl = keep;
}

/* The replacement to promote: BEP 42 compliant first, then the most recently heard. */
static int
dht_bucket_best_repl(const struct dht_bucket *b)
{
	int best = -1;
	for (int i = 0; i < b->nrepl; i++) {
		const struct dht_node *r = &b->repl[i];
		if (best < 0 || (r->secure && !b->repl[best].secure) ||
		    (r->secure == b->repl[best].secure && r->last_reply_ms > b->repl[best].last_reply_ms))
			best = i;
	}
	return best;
}

static void
dht_bucket_remove_repl(struct dht_bucket *b, int i)
{
	b->repl[i] = b->repl[--b->nrepl];
}

/* Keeps a candidate in the replacement cache; when full, it takes the place of the weakest
 * (not compliant before compliant, then the longest silent) unless it is weaker still. */
static void
dht_bucket_add_repl(struct dht_bucket *b, const struct dht_node *n)
{
	struct dht_node *known = dht_bucket_find(b->repl, b->nrepl, n->id);
	if (known != NULL) {
		if (sockaddr_equal((const struct sockaddr *)&known->addr,
		    (const struct sockaddr *)&n->addr, true))
			known->last_reply_ms = DP_MAX(known->last_reply_ms, n->last_reply_ms);
		return;
	}
	if (b->nrepl < DHT_REPLACEMENTS) {
		b->repl[b->nrepl++] = *n;
		return;
	}
	int worst = 0;
	for (int i = 1; i < b->nrepl; i++) {
		const struct dht_node *r = &b->repl[i];
		if ((!r->secure && b->repl[worst].secure) ||
		    (r->secure == b->repl[worst].secure && r->last_reply_ms < b->repl[worst].last_reply_ms))
			worst = i;
	}
	const struct dht_node *w = &b->repl[worst];
	if ((n->secure && !w->secure) || (n->secure == w->secure &&
	    n->last_reply_ms >= w->last_reply_ms))
		b->repl[worst] = *n;
}

bool
dht_table_heard(struct dht_table *t, const uint8_t id[DHT_ID_LEN],
    const struct sockaddr *addr, socklen_t addrlen, bool replied, uint64_t now_ms,
    struct dht_table_action *act)
{
	if (act != NULL)
		act->ping = false;
	if (addr->sa_family != t->family || memcmp(id, t->own, DHT_ID_LEN) == 0)
		return false;
	for (;;) {
		struct dht_bucket *b = &t->buckets[dht_table_index(t, id)];
		struct dht_node *n = dht_bucket_find(b->nodes, b->n, id);
		if (n != NULL) {
			if (!sockaddr_equal((const struct sockaddr *)&n->addr, addr, true))
				return true;   /* someone else claims a known ID: keep the first */
			if (replied) {
				n->last_reply_ms = now_ms;
				n->fails = 0;
				b->changed_ms = now_ms;
			} else {
				n->last_query_ms = now_ms;
			}
			return true;
		}
		if (dht_bucket_has_host(b, addr))
			return false;
		if (b->n < DHT_K) {
			if (!replied)
				return true;   /* room for it once it answers a ping */
			dht_node_fill(&b->nodes[b->n], id, addr, addrlen);
			b->nodes[b->n].last_reply_ms = now_ms;
			b->n++;
			b->changed_ms = now_ms;
			struct dht_node *r = dht_bucket_find(b->repl, b->nrepl, id);
			if (r != NULL)
				dht_bucket_remove_repl(b, (int)(r - b->repl));
			return true;
		}
		/* Full: the bucket of our own ID splits, any other keeps its nodes. */
		if (b == &t->buckets[t->nbuckets - 1] && t->nbuckets < DHT_MAX_BUCKETS) {
			dht_table_split(t);
			continue;
		}
		break;
	}
	struct dht_bucket *b = &t->buckets[dht_table_index(t, id)];
	struct dht_node cand;
	dht_node_fill(&cand, id, addr, addrlen);
	cand.last_reply_ms = replied ? now_ms : 0;
	cand.last_query_ms = replied ? 0 : now_ms;
	int bad = -1, questionable = -1;
	for (int i = 0; i < b->n; i++) {
		enum dht_node_state s = dht_node_state(&b->nodes[i], now_ms);
		if (s == DHT_NODE_BAD && bad < 0)
			bad = i;
		/* the one silent longest; a node already pinged lately waits for that answer */
		if (s == DHT_NODE_QUESTIONABLE && now_ms - b->nodes[i].pinged_ms >= DHT_PING_AGAIN_MS &&
		    (questionable < 0 ||
		    b->nodes[i].last_reply_ms < b->nodes[questionable].last_reply_ms))
			questionable = i;
	}
	if (bad >= 0) {
		if (!replied)
			return true;
		b->nodes[bad] = cand;
		b->changed_ms = now_ms;
		return true;
	}
	if (!replied)
		return questionable >= 0;
	dht_bucket_add_repl(b, &cand);
	if (questionable >= 0 && act != NULL) {
		b->nodes[questionable].pinged_ms = now_ms;
		act->ping = true;
		act->node = b->nodes[questionable];
	}
	return false;
}

void
dht_table_failed(struct dht_table *t, const uint8_t id[DHT_ID_LEN],
    const struct sockaddr *addr, uint64_t now_ms)
{
	struct dht_bucket *b = &t->buckets[dht_table_index(t, id)];
	struct dht_node *n = dht_bucket_find(b->nodes, b->n, id);
	if (n == NULL) {
		struct dht_node *r = dht_bucket_find(b->repl, b->nrepl, id);
		if (r != NULL && sockaddr_equal((const struct sockaddr *)&r->addr, addr, true))
			dht_bucket_remove_repl(b, (int)(r - b->repl));
		return;
	}
	if (!sockaddr_equal((const struct sockaddr *)&n->addr, addr, true))
		return;
	n->fails++;
	if (dht_node_state(n, now_ms) != DHT_NODE_BAD)
		return;
	int best = dht_bucket_best_repl(b);
	if (best < 0)
		return;
	*n = b->repl[best];
	dht_bucket_remove_repl(b, best);
	b->changed_ms = now_ms;
}

struct dht_node *
dht_table_find(struct dht_table *t, const uint8_t id[DHT_ID_LEN])
{
	struct dht_bucket *b = &t->buckets[dht_table_index(t, id)];
	return dht_bucket_find(b->nodes, b->n, id);
}

/* Offers bucket bi's usable nodes to out, kept sorted by distance to target and at most max. */
static void
dht_table_collect(const struct dht_table *t, int bi, const uint8_t target[DHT_ID_LEN],
    struct krpc_node *out, size_t *n, size_t max, uint64_t now_ms)
{
	const struct dht_bucket *b = &t->buckets[bi];
	for (int i = 0; i < b->n; i++) {
		const struct dht_node *dn = &b->nodes[i];
		if (dht_node_state(dn, now_ms) == DHT_NODE_BAD)
			continue;
		size_t pos = *n;
		while (pos > 0 && dht_id_cmp_distance(target, dn->id, out[pos - 1].id) < 0)
			pos--;
		if (pos >= max)
			continue;
		size_t moved = DP_MIN(*n, max - 1) - pos;
		memmove(&out[pos + 1], &out[pos], moved * sizeof *out);
		memcpy(out[pos].id, dn->id, DHT_ID_LEN);
		out[pos].addr = dn->addr;
		out[pos].addrlen = dn->addrlen;
		if (*n < max)
			(*n)++;
	}
}

size_t
dht_table_closest(const struct dht_table *t, const uint8_t target[DHT_ID_LEN],
    struct krpc_node *out, size_t max, uint64_t now_ms)
{
	/* Nodes in the target's bucket share more bits with it than any other; then the deeper
	 * buckets (all at the same prefix length), then the shallower ones, each farther than the
	 * last: once a group leaves max nodes, nothing farther can enter. */
	size_t n = 0;
	if (max == 0)
		return 0;
	int bi = dht_table_index(t, target);
	dht_table_collect(t, bi, target, out, &n, max, now_ms);
	if (n < max)
		for (int j = bi + 1; j < t->nbuckets; j++)
			dht_table_collect(t, j, target, out, &n, max, now_ms);
	for (int j = bi - 1; j >= 0 && n < max; j--)
		dht_table_collect(t, j, target, out, &n, max, now_ms);
	return n;
}

bool
dht_table_refresh_due(struct dht_table *t, uint64_t now_ms, const uint8_t rnd[DHT_ID_LEN],
    uint8_t target[DHT_ID_LEN])
{
	for (int i = 0; i < t->nbuckets; i++) {
		struct dht_bucket *b = &t->buckets[i];
		if (now_ms - b->changed_ms < DHT_REFRESH_MS)
			continue;
		b->changed_ms = now_ms;
		dht_id_random_in(t->own, i, rnd, target);
		return true;
	}
	return false;
}

bool
dht_table_ping_due(struct dht_table *t, uint64_t now_ms, struct dht_node *out)
{
	for (int i = 0; i < t->nbuckets; i++) {
		struct dht_bucket *b = &t->buckets[i];
		for (int j = 0; j < b->n; j++) {
			struct dht_node *n = &b->nodes[j];
			if (dht_node_state(n, now_ms) != DHT_NODE_QUESTIONABLE ||
			    now_ms - n->pinged_ms < DHT_PING_AGAIN_MS)
				continue;
			n->pinged_ms = now_ms;
			*out = *n;
			return true;
		}
	}
	return false;
}

void
dht_table_count(const struct dht_table *t, uint64_t now_ms, struct dht_table_counts *out)
{
	memset(out, 0, sizeof *out);
	out->buckets = (size_t)t->nbuckets;
	for (int i = 0; i < t->nbuckets; i++) {
		const struct dht_bucket *b = &t->buckets[i];
		out->replacements += (size_t)b->nrepl;
		for (int j = 0; j < b->n; j++) {
			switch (dht_node_state(&b->nodes[j], now_ms)) {
			case DHT_NODE_GOOD: out->good++; break;
			case DHT_NODE_QUESTIONABLE: out->questionable++; break;
			case DHT_NODE_BAD: out->bad++; break;
			}
		}
	}
}

size_t
dht_table_export(const struct dht_table *t, struct krpc_node *out, size_t max, uint64_t now_ms)
{
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < t->nbuckets; i++) {
			const struct dht_bucket *b = &t->buckets[i];
			for (int j = 0; j < b->n && n < max; j++) {
				enum dht_node_state s = dht_node_state(&b->nodes[j], now_ms);
				if (s == DHT_NODE_BAD || (s == DHT_NODE_GOOD) != (pass == 0))
					continue;
				memcpy(out[n].id, b->nodes[j].id, DHT_ID_LEN);
				out[n].addr = b->nodes[j].addr;
				out[n].addrlen = b->nodes[j].addrlen;
				n++;
			}
		}
	}
	return n;
}

void
dht_table_set_own(struct dht_table *t, const uint8_t own[DHT_ID_LEN], uint64_t now_ms)
{
	struct dht_table old = *t;
	dht_table_init(t, own, old.family, now_ms);
	for (int i = 0; i < old.nbuckets; i++) {
		const struct dht_bucket *b = &old.buckets[i];
		for (int j = 0; j < b->n; j++) {
			const struct dht_node *n = &b->nodes[j];
			if (n->last_reply_ms == 0)
				continue;
			dht_table_heard(t, n->id, (const struct sockaddr *)&n->addr, n->addrlen, true,
			    n->last_reply_ms, NULL);
		}
	}
	dht_table_free(&old);
}
