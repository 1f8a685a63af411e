/* dht_lookup.c: the iterative lookup's state: which candidate to ask next and when it is done.
 * Candidates keep their slot (the node maps transactions to slots); order is computed. */
#include "config.h"

#include <string.h>
#include <netinet/in.h>

#include "dht_lookup.h"
#include "net.h"
#include "util.h"

void
dht_lookup_init(struct dht_lookup *l, const uint8_t target[DHT_ID_LEN])
{
	memset(l, 0, sizeof *l);
	memcpy(l->target, target, DHT_ID_LEN);
}

/* <0 when candidate a comes before b: known IDs by distance, then addresses without an ID. */
static int
dht_lookup_cmp(const struct dht_lookup *l, size_t a, size_t b)
{
	const struct dht_lookup_cand *x = &l->cands[a], *y = &l->cands[b];
	if (x->id_known != y->id_known)
		return x->id_known ? -1 : 1;
	if (!x->id_known)
		return a < b ? -1 : (a > b);
	return dht_id_cmp_distance(l->target, x->node.id, y->node.id);
}

/* Slot indexes in lookup order (insertion sort: at most DHT_LOOKUP_MAX_CANDS). */
static void
dht_lookup_order(const struct dht_lookup *l, size_t *idx)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t j = i;
		while (j > 0 && dht_lookup_cmp(l, i, idx[j - 1]) < 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
}

bool
dht_lookup_add(struct dht_lookup *l, const uint8_t *id, const struct sockaddr *addr,
    socklen_t addrlen)
{
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		struct dht_lookup_cand *c = &l->cands[i];
		if (sockaddr_equal((const struct sockaddr *)&c->node.addr, addr, true))
			return false;
		if (id != NULL && c->id_known && memcmp(c->node.id, id, DHT_ID_LEN) == 0)
			return false;
	}
	size_t slot = l->n;
	if (l->n == DHT_LOOKUP_MAX_CANDS) {
		/* Full: a node with an ID takes the slot of the farthest candidate not in flight,
		 * if it is closer. */
		if (id == NULL)
			return false;
		size_t idx[DHT_LOOKUP_MAX_CANDS];
		dht_lookup_order(l, idx);
		slot = SIZE_MAX;
		for (size_t k = l->n; k-- > 0;) {
			const struct dht_lookup_cand *c = &l->cands[idx[k]];
			if (c->state == DHT_CAND_SENT)
				continue;
			if (c->id_known && dht_id_cmp_distance(l->target, id, c->node.id) >= 0)
				return false;
			slot = idx[k];
			break;
		}
		if (slot == SIZE_MAX)
			return false;
	} else {
		l->n++;
	}
	struct dht_lookup_cand *c = &l->cands[slot];
	memset(c, 0, sizeof *c);
	c->id_known = id != NULL;
	if (id != NULL)
		memcpy(c->node.id, id, DHT_ID_LEN);
	memcpy(&c->node.addr, addr, DP_MIN((size_t)addrlen, sizeof c->node.addr));
	c->node.addrlen = addrlen;
	c->state = DHT_CAND_NEW;
	return true;
}

/* Walks the candidates in order and says what the lookup may do: the slot of the first new
 * candidate among those that matter (-1 when none), whether the k closest known have all
 * answered, and how many queries hold an alpha slot. */
static void
dht_lookup_scan(const struct dht_lookup *l, uint64_t now_ms, int *next, bool *closest_done,
    size_t *busy)
{
	size_t idx[DHT_LOOKUP_MAX_CANDS];
	dht_lookup_order(l, idx);
	size_t live_known = 0;
	*next = -1;
	*closest_done = true;
	*busy = 0;
	for (size_t k = 0; k < l->n; k++) {
		const struct dht_lookup_cand *c = &l->cands[idx[k]];
		if (c->state == DHT_CAND_SENT && now_ms - c->sent_ms < DHT_LOOKUP_SLOW_MS)
			(*busy)++;
		if (c->state == DHT_CAND_FAILED)
			continue;
		if (c->id_known) {
			if (live_known >= DHT_LOOKUP_K)
				continue;
			live_known++;
			if (c->state != DHT_CAND_REPLIED)
				*closest_done = false;
		} else if (live_known >= DHT_LOOKUP_K) {
			continue;          /* enough known nodes: no need for bare addresses */
		}
		if (c->state == DHT_CAND_NEW && *next < 0)
			*next = (int)idx[k];
	}
	/* Fewer than k known: it ends only when nothing is left to ask (dht_lookup_done). */
	if (live_known < DHT_LOOKUP_K)
		*closest_done = false;
}

int
dht_lookup_next(struct dht_lookup *l, uint64_t now_ms)
{
	int next;
	bool closest_done;
	size_t busy;
	dht_lookup_scan(l, now_ms, &next, &closest_done, &busy);
	if (closest_done || next < 0 || busy >= DHT_ALPHA)
		return -1;
	struct dht_lookup_cand *c = &l->cands[next];
	c->state = DHT_CAND_SENT;
	c->sent_ms = now_ms;
	l->sent++;
	return next;
}

bool
dht_lookup_replied(struct dht_lookup *l, int i, const uint8_t id[DHT_ID_LEN],
    const uint8_t *token, size_t token_len)
{
	if (i < 0 || (size_t)i >= l->n)
		return false;
	struct dht_lookup_cand *c = &l->cands[i];
	if (c->state != DHT_CAND_SENT)
		return false;
	if (c->id_known && memcmp(c->node.id, id, DHT_ID_LEN) != 0) {
		dht_lookup_failed(l, i);
		return false;
	}
	if (!c->id_known) {
		/* A bootstrap address told us its ID; drop it when another candidate has it. */
		for (size_t k = 0; k < l->n; k++)
			if ((int)k != i && l->cands[k].id_known &&
			    memcmp(l->cands[k].node.id, id, DHT_ID_LEN) == 0) {
				c->state = DHT_CAND_FAILED;
				l->replied++;
				return true;
			}
		memcpy(c->node.id, id, DHT_ID_LEN);
		c->id_known = true;
	}
	c->state = DHT_CAND_REPLIED;
	if (token != NULL && token_len > 0 && token_len <= sizeof c->token) {
		memcpy(c->token, token, token_len);
		c->token_len = token_len;
	}
	l->replied++;
	return true;
}

void
dht_lookup_failed(struct dht_lookup *l, int i)
{
	if (i < 0 || (size_t)i >= l->n || l->cands[i].state != DHT_CAND_SENT)
		return;
	l->cands[i].state = DHT_CAND_FAILED;
	l->failed++;
}

bool
dht_lookup_done(const struct dht_lookup *l)
{
	int next;
	bool closest_done;
	size_t busy;
	/* "now" only decides which queries are slow; any value gives the same answer here. */
	dht_lookup_scan(l, 0, &next, &closest_done, &busy);
	return closest_done || (next < 0 && dht_lookup_inflight(l) == 0);
}

size_t
dht_lookup_inflight(const struct dht_lookup *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->cands[i].state == DHT_CAND_SENT;
	return n;
}

size_t
dht_lookup_announce_set(const struct dht_lookup *l, int *out, size_t max)
{
	size_t idx[DHT_LOOKUP_MAX_CANDS], n = 0;
	dht_lookup_order(l, idx);
	for (size_t k = 0; k < l->n && n < max; k++) {
		const struct dht_lookup_cand *c = &l->cands[idx[k]];
		if (c->state == DHT_CAND_REPLIED && c->token_len > 0)
			out[n++] = (int)idx[k];
	}
	return n;
}

int
dht_lookup_find_sent(const struct dht_lookup *l, const struct sockaddr *addr)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->cands[i].state == DHT_CAND_SENT &&
		    sockaddr_equal((const struct sockaddr *)&l->cands[i].node.addr, addr, true))
			return (int)i;
	return -1;
}
