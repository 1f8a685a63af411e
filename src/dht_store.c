/* dht_store.c: announced peers by info-hash: a sorted array searched by bisection, compact
 * addresses, expiry in slices. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "dht_store.h"
#include "util.h"

struct dht_stored_peer {
	uint8_t addr[18];              /* compact address and port */
	uint8_t len;                   /* 6 or 18 */
	uint64_t seen_ms;
};

struct dht_store_entry {
	uint8_t info_hash[DHT_ID_LEN];
	struct dht_stored_peer peers[DHT_STORE_MAX_PEERS];
	size_t n;
};

struct dht_store {
	struct dht_store_entry **entries;      /* sorted by info-hash */
	size_t n;
	size_t cursor;                         /* where dht_store_expire goes on */
	size_t peers;
};

struct dht_store *
dht_store_new(void)
{
	struct dht_store *s = xcalloc(1, sizeof *s);
	s->entries = xcalloc(DHT_STORE_MAX_HASHES, sizeof *s->entries);
	return s;
}

void
dht_store_free(struct dht_store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->entries[i]);
	free(s->entries);
	free(s);
}

/* The position of info_hash, or where it would go (*found false). */
static size_t
dht_store_search(const struct dht_store *s, const uint8_t ih[DHT_ID_LEN], bool *found)
{
	/* an entry begins with its info-hash */
	return dp_search_key20((void *const *)s->entries, s->n, ih, found);
}

static void
dht_store_remove_at(struct dht_store *s, size_t i)
{
	s->peers -= s->entries[i]->n;
	free(s->entries[i]);
	memmove(&s->entries[i], &s->entries[i + 1], (s->n - i - 1) * sizeof *s->entries);
	s->n--;
}

void
dht_store_add(struct dht_store *s, const uint8_t info_hash[DHT_ID_LEN],
    const struct sockaddr *addr, uint64_t now_ms, uint32_t rnd)
{
	uint8_t a[18];
	size_t alen = krpc_compact_addr(addr, a);
	if (alen == 0)
		return;
	bool found;
	size_t pos = dht_store_search(s, info_hash, &found);
	if (!found) {
		if (s->n == DHT_STORE_MAX_HASHES) {
			size_t victim = rnd % s->n;
			dht_store_remove_at(s, victim);
			pos = dht_store_search(s, info_hash, &found);
		}
		struct dht_store_entry *e = xcalloc(1, sizeof *e);
		memcpy(e->info_hash, info_hash, DHT_ID_LEN);
		memmove(&s->entries[pos + 1], &s->entries[pos], (s->n - pos) * sizeof *s->entries);
		s->entries[pos] = e;
		s->n++;
	}
	struct dht_store_entry *e = s->entries[pos];
	size_t oldest = 0;
	for (size_t i = 0; i < e->n; i++) {
		if (e->peers[i].len == alen && memcmp(e->peers[i].addr, a, alen) == 0) {
			e->peers[i].seen_ms = now_ms;
			return;
		}
		if (e->peers[i].seen_ms < e->peers[oldest].seen_ms)
			oldest = i;
	}
	struct dht_stored_peer *p;
	if (e->n < DHT_STORE_MAX_PEERS) {
		p = &e->peers[e->n++];
		s->peers++;
	} else {
		p = &e->peers[oldest];
	}
	memcpy(p->addr, a, alen);
	p->len = (uint8_t)alen;
	p->seen_ms = now_ms;
}

size_t
dht_store_get(const struct dht_store *s, const uint8_t info_hash[DHT_ID_LEN], int family,
    struct krpc_peer *out, size_t max, uint64_t now_ms, uint32_t rnd)
{
	bool found;
	size_t pos = dht_store_search(s, info_hash, &found);
	if (!found || max == 0)
		return 0;
	const struct dht_store_entry *e = s->entries[pos];
	size_t want_len = family == AF_INET ? 6 : 18, n = 0;
	size_t start = e->n > 0 ? rnd % e->n : 0;
	for (size_t k = 0; k < e->n && n < max; k++) {
		const struct dht_stored_peer *p = &e->peers[(start + k) % e->n];
		if (p->len != want_len || p->seen_ms + DHT_STORE_TTL_MS <= now_ms)
			continue;
		krpc_parse_compact_addr(p->addr, p->len, &out[n].addr, &out[n].addrlen);
		n++;
	}
	return n;
}

void
dht_store_expire(struct dht_store *s, uint64_t now_ms, size_t budget)
{
	for (size_t done = 0; done < budget && s->n > 0; done++) {
		if (s->cursor >= s->n)
			s->cursor = 0;
		struct dht_store_entry *e = s->entries[s->cursor];
		size_t keep = 0;
		for (size_t i = 0; i < e->n; i++)
			if (e->peers[i].seen_ms + DHT_STORE_TTL_MS > now_ms)
				e->peers[keep++] = e->peers[i];
		s->peers -= e->n - keep;
		e->n = keep;
		if (keep == 0)
			dht_store_remove_at(s, s->cursor);
		else
			s->cursor++;
	}
}

size_t
dht_store_hashes(const struct dht_store *s)
{
	return s->n;
}

size_t
dht_store_peers(const struct dht_store *s)
{
	return s->peers;
}
