/* check_dht_table.c: the DHT's pure parts: the routing table (bucket splits, one place per host,
 * replacement cache, questionable and bad nodes, refresh targets, closest nodes), tokens bound
 * to the asker's address and rotated, the bounded peer store, lookup order and termination, and
 * the saved state. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <check.h>

#include "dht_lookup.h"
#include "dht_state.h"
#include "dht_store.h"
#include "dht_table.h"
#include "dht_token.h"
#include "suites.h"
#include "util.h"

#define MIN_MS (60u * 1000u)

static struct sockaddr_storage
pub4(uint32_t host, uint16_t port)
{
	/* 100.64.0.0/10 is not one of BEP 42's exempt ranges: these count as public. */
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	s->sin_addr.s_addr = htonl(0x64400000u + host);
	return ss;
}

/* An ID sharing exactly prefix bits with own, the rest from seed. */
static void
id_at(const uint8_t own[20], int prefix, uint8_t seed, uint8_t out[20])
{
	uint8_t rnd[20];
	for (int i = 0; i < 20; i++)
		rnd[i] = (uint8_t)(seed * 31 + i * 7);
	dht_id_random_in(own, prefix, rnd, out);
}

static void
add_replied(struct dht_table *t, const uint8_t id[20], uint32_t host, uint64_t now,
    struct dht_table_action *act)
{
	struct sockaddr_storage a = pub4(host, 6881);
	dht_table_heard(t, id, (struct sockaddr *)&a, sizeof(struct sockaddr_in), true, now, act);
}

/* Nodes near our ID split the bucket of our ID; far ones fill bucket 0, which never splits:
 * the ninth goes to the replacement cache and a questionable node is pinged for it. */
START_TEST(test_table_split_and_replace)
{
	uint8_t own[20], id[20];
	memset(own, 0x42, 20);
	struct dht_table t;
	uint64_t now = 1000000;
	dht_table_init(&t, own, AF_INET, now);
	struct dht_table_action act;
	uint32_t host = 1;
	for (int i = 0; i < DHT_K; i++) {
		id_at(own, 0, (uint8_t)i, id);
		add_replied(&t, id, host++, now, &act);
		ck_assert(!act.ping);
	}
	ck_assert_int_eq(t.nbuckets, 1);
	/* A node sharing 3 bits: the only bucket is full and holds our ID: it splits. */
	id_at(own, 3, 99, id);
	add_replied(&t, id, host++, now, &act);
	ck_assert_int_ge(t.nbuckets, 2);
	ck_assert_ptr_nonnull(dht_table_find(&t, id));
	ck_assert_int_eq(t.buckets[0].n, DHT_K);
	/* Bucket 0 is full of good nodes: a ninth far node waits as a replacement, no ping. */
	uint8_t extra[20];
	id_at(own, 0, 200, extra);
	add_replied(&t, extra, host++, now, &act);
	ck_assert_ptr_null(dht_table_find(&t, extra));
	ck_assert_int_eq(t.buckets[0].nrepl, 1);
	ck_assert(!act.ping);
	/* 16 minutes later every node is questionable: another candidate asks for a ping of the
	 * one silent longest, and is itself kept as a replacement. */
	now += 16 * MIN_MS;
	uint8_t extra2[20];
	id_at(own, 0, 201, extra2);
	add_replied(&t, extra2, host++, now, &act);
	ck_assert(act.ping);
	ck_assert_int_eq(t.buckets[0].nrepl, 2);
	/* The pinged node fails DHT_NODE_MAX_FAILS times: a replacement takes its place. */
	for (int i = 0; i < DHT_NODE_MAX_FAILS; i++)
		dht_table_failed(&t, act.node.id, (struct sockaddr *)&act.node.addr, now);
	ck_assert_ptr_null(dht_table_find(&t, act.node.id));
	ck_assert_int_eq(t.buckets[0].n, DHT_K);
	ck_assert_int_eq(t.buckets[0].nrepl, 1);
	ck_assert(dht_table_find(&t, extra2) != NULL || dht_table_find(&t, extra) != NULL);
	/* The most recently heard replacement was promoted. */
	ck_assert_ptr_nonnull(dht_table_find(&t, extra2));
	dht_table_free(&t);
}
END_TEST

/* A node that only queried us is not added, but the answer says whether it would be (so the
 * node pings it); a known ID at another address keeps the first address; one IP gets one place
 * per bucket unless it is local. */
START_TEST(test_table_rules)
{
	uint8_t own[20], id[20], id2[20];
	memset(own, 0x10, 20);
	struct dht_table t;
	uint64_t now = 5000000;
	dht_table_init(&t, own, AF_INET, now);
	id_at(own, 0, 1, id);
	struct sockaddr_storage a = pub4(7, 1000), b = pub4(7, 2000), c = pub4(8, 1000);
	ck_assert(dht_table_heard(&t, id, (struct sockaddr *)&a, sizeof(struct sockaddr_in), false,
	    now, NULL));
	ck_assert_ptr_null(dht_table_find(&t, id));
	dht_table_heard(&t, id, (struct sockaddr *)&a, sizeof(struct sockaddr_in), true, now, NULL);
	ck_assert_ptr_nonnull(dht_table_find(&t, id));
	/* same ID, other address: ignored */
	dht_table_heard(&t, id, (struct sockaddr *)&c, sizeof(struct sockaddr_in), true, now, NULL);
	ck_assert_int_eq(memcmp(&dht_table_find(&t, id)->addr, &a, sizeof(struct sockaddr_in)), 0);
	/* same public IP, other port and ID, same bucket: refused */
	id_at(own, 0, 2, id2);
	ck_assert(!dht_table_heard(&t, id2, (struct sockaddr *)&b, sizeof(struct sockaddr_in), true,
	    now, NULL));
	ck_assert_ptr_null(dht_table_find(&t, id2));
	/* loopback nodes are told apart by port */
	struct sockaddr_storage l1, l2;
	memset(&l1, 0, sizeof l1);
	((struct sockaddr_in *)&l1)->sin_family = AF_INET;
	((struct sockaddr_in *)&l1)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l2 = l1;
	((struct sockaddr_in *)&l1)->sin_port = htons(1);
	((struct sockaddr_in *)&l2)->sin_port = htons(2);
	uint8_t id3[20], id4[20];
	id_at(own, 0, 3, id3);
	id_at(own, 0, 4, id4);
	dht_table_heard(&t, id3, (struct sockaddr *)&l1, sizeof(struct sockaddr_in), true, now, NULL);
	dht_table_heard(&t, id4, (struct sockaddr *)&l2, sizeof(struct sockaddr_in), true, now, NULL);
	ck_assert_ptr_nonnull(dht_table_find(&t, id3));
	ck_assert_ptr_nonnull(dht_table_find(&t, id4));
	/* our own ID and another family are never added */
	ck_assert(!dht_table_heard(&t, own, (struct sockaddr *)&c, sizeof(struct sockaddr_in), true,
	    now, NULL));
	struct sockaddr_in6 s6;
	memset(&s6, 0, sizeof s6);
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(5);
	ck_assert(!dht_table_heard(&t, id2, (struct sockaddr *)&s6, sizeof s6, true, now, NULL));
	/* states: good now, questionable after 15 min, good again after a query from it, bad after
	 * failures */
	struct dht_node *n = dht_table_find(&t, id);
	ck_assert_int_eq(dht_node_state(n, now), DHT_NODE_GOOD);
	ck_assert_int_eq(dht_node_state(n, now + 16 * MIN_MS), DHT_NODE_QUESTIONABLE);
	dht_table_heard(&t, id, (struct sockaddr *)&a, sizeof(struct sockaddr_in), false,
	    now + 16 * MIN_MS, NULL);
	ck_assert_int_eq(dht_node_state(n, now + 17 * MIN_MS), DHT_NODE_GOOD);
	for (int i = 0; i < DHT_NODE_MAX_FAILS; i++)
		dht_table_failed(&t, id, (struct sockaddr *)&a, now);
	ck_assert_int_eq(dht_node_state(n, now), DHT_NODE_BAD);
	/* a bad node's place goes to the next node that answers */
	struct dht_table_counts cnt;
	dht_table_count(&t, now, &cnt);
	ck_assert_uint_eq(cnt.bad, 1);
	dht_table_free(&t);
}
END_TEST

/* BEP 42 as a preference: with a full replacement cache a compliant candidate displaces a
 * non-compliant one, never the other way round. */
START_TEST(test_table_prefers_secure)
{
	uint8_t own[20];
	memset(own, 0x00, 20);
	struct dht_table t;
	uint64_t now = 1000000;
	dht_table_init(&t, own, AF_INET, now);
	own[0] = 0;
	/* fill bucket 0 (IDs with the top bit set) and split until bucket 0 is stable */
	uint32_t host = 100;
	for (int i = 0; i < DHT_K; i++) {
		uint8_t id[20];
		id_at(own, 0, (uint8_t)(i + 1), id);
		add_replied(&t, id, host++, now, NULL);
	}
	uint8_t deep[20];
	id_at(own, 5, 77, deep);
	add_replied(&t, deep, host++, now, NULL);
	ck_assert_int_gt(t.nbuckets, 1);
	/* DHT_REPLACEMENTS non-compliant candidates for bucket 0 */
	for (int i = 0; i < DHT_REPLACEMENTS; i++) {
		uint8_t id[20];
		id_at(own, 0, (uint8_t)(50 + i), id);
		add_replied(&t, id, host++, now + 1, NULL);
	}
	ck_assert_int_eq(t.buckets[0].nrepl, DHT_REPLACEMENTS);
	/* a compliant one (BEP 42 ID for its address, top bit set so it lands in bucket 0) */
	struct sockaddr_storage a;
	uint8_t sid[20], rnd[19];
	bool made = false;
	for (uint32_t h = 1000; h < 2000 && !made; h++) {
		a = pub4(h, 6881);
		memset(rnd, (int)h, sizeof rnd);
		dht_id_make((struct sockaddr *)&a, (uint8_t)h, rnd, sid);
		made = (sid[0] & 0x80) != 0;
	}
	ck_assert(made);
	ck_assert(dht_id_check(sid, (struct sockaddr *)&a));
	dht_table_heard(&t, sid, (struct sockaddr *)&a, sizeof(struct sockaddr_in), true, now, NULL);
	bool found = false;
	for (int i = 0; i < t.buckets[0].nrepl; i++)
		found |= memcmp(t.buckets[0].repl[i].id, sid, 20) == 0;
	ck_assert(found);
	/* its failure-driven promotion comes first even though others were heard later */
	uint8_t victim[20];
	memcpy(victim, t.buckets[0].nodes[0].id, 20);
	struct sockaddr_storage vaddr = t.buckets[0].nodes[0].addr;
	for (int i = 0; i < DHT_NODE_MAX_FAILS; i++)
		dht_table_failed(&t, victim, (struct sockaddr *)&vaddr, now + 2);
	ck_assert_ptr_nonnull(dht_table_find(&t, sid));
	dht_table_free(&t);
}
END_TEST

/* A bucket silent for 15 minutes yields one refresh target inside its range, then waits. */
START_TEST(test_table_refresh)
{
	uint8_t own[20], rnd[20], target[20];
	memset(own, 0x3c, 20);
	memset(rnd, 0xc3, 20);
	struct dht_table t;
	uint64_t now = 1000000;
	dht_table_init(&t, own, AF_INET, now);
	uint32_t host = 1;
	for (int p = 0; p < 12; p++)
		for (int i = 0; i < 3; i++) {
			uint8_t id[20];
			id_at(own, p, (uint8_t)(p * 8 + i), id);
			add_replied(&t, id, host++, now, NULL);
		}
	ck_assert_int_gt(t.nbuckets, 3);
	ck_assert(!dht_table_refresh_due(&t, now + MIN_MS, rnd, target));
	int due = 0;
	while (dht_table_refresh_due(&t, now + 16 * MIN_MS, rnd, target)) {
		int cp = dht_id_common_prefix(own, target);
		ck_assert_int_eq(DP_MIN(cp, t.nbuckets - 1), due < t.nbuckets ? due : -1);
		due++;
	}
	ck_assert_int_eq(due, t.nbuckets);
	/* and the pinger finds questionable nodes once each per DHT_PING_AGAIN_MS */
	struct dht_node n;
	size_t pinged = 0;
	while (dht_table_ping_due(&t, now + 16 * MIN_MS, &n))
		pinged++;
	struct dht_table_counts c;
	dht_table_count(&t, now + 16 * MIN_MS, &c);
	ck_assert_uint_eq(pinged, c.questionable);
	ck_assert(!dht_table_ping_due(&t, now + 16 * MIN_MS + 1000, &n));
	ck_assert(dht_table_ping_due(&t, now + 18 * MIN_MS, &n));
	dht_table_free(&t);
}
END_TEST

/* closest() agrees with a brute-force sort of every node; set_own re-places every node. */
START_TEST(test_table_closest)
{
	uint8_t own[20];
	memset(own, 0x99, 20);
	struct dht_table t;
	uint64_t now = 1000000;
	dht_table_init(&t, own, AF_INET, now);
	uint32_t host = 1;
	srand(7);
	for (int i = 0; i < 400; i++) {
		uint8_t id[20];
		for (int k = 0; k < 20; k++)
			id[k] = (uint8_t)rand();
		if (i % 3 == 0)
			memcpy(id, own, 1 + i % 5);
		add_replied(&t, id, host++, now, NULL);
	}
	struct krpc_node all[DHT_K * DHT_MAX_BUCKETS];
	size_t nall = dht_table_export(&t, all, DP_ARRAY_LEN(all), now);
	ck_assert_uint_gt(nall, 40);
	for (int trial = 0; trial < 20; trial++) {
		uint8_t target[20];
		for (int k = 0; k < 20; k++)
			target[k] = (uint8_t)rand();
		if (trial % 2)
			memcpy(target, own, (size_t)(trial % 7));
		struct krpc_node got[8];
		size_t n = dht_table_closest(&t, target, got, 8, now);
		ck_assert_uint_eq(n, 8);
		/* every node not returned is at least as far as the farthest returned */
		for (size_t i = 0; i < nall; i++) {
			bool in = false;
			for (size_t j = 0; j < n; j++)
				in |= memcmp(all[i].id, got[j].id, 20) == 0;
			if (!in)
				ck_assert_int_ge(dht_id_cmp_distance(target, all[i].id, got[n - 1].id), 0);
		}
		for (size_t j = 1; j < n; j++)
			ck_assert_int_le(dht_id_cmp_distance(target, got[j - 1].id, got[j].id), 0);
	}
	uint8_t own2[20];
	memset(own2, 0x17, 20);
	struct dht_table_counts before, after;
	dht_table_count(&t, now, &before);
	dht_table_set_own(&t, own2, now);
	dht_table_count(&t, now, &after);
	ck_assert_mem_eq(t.own, own2, 20);
	ck_assert_uint_gt(after.good, 0);
	for (int i = 0; i < t.nbuckets; i++)
		for (int j = 0; j < t.buckets[i].n; j++)
			ck_assert_int_eq(DP_MIN(dht_id_common_prefix(own2, t.buckets[i].nodes[j].id),
			    t.nbuckets - 1), i);
	dht_table_free(&t);
}
END_TEST

/* Tokens: valid for the address they were made for (any port), not another; still valid
 * after one rotation, not after two. */
START_TEST(test_tokens)
{
	struct dht_tokens tk;
	uint8_t r1[16], r2[16], r3[16], tok[DHT_TOKEN_LEN];
	memset(r1, 1, 16);
	memset(r2, 2, 16);
	memset(r3, 3, 16);
	uint64_t now = 10 * MIN_MS;
	dht_tokens_init(&tk, r1, now);
	struct sockaddr_storage a = pub4(1, 1000), a2 = pub4(1, 2000), b = pub4(2, 1000);
	dht_token_make(&tk, (struct sockaddr *)&a, tok);
	ck_assert(dht_token_check(&tk, (struct sockaddr *)&a, tok, sizeof tok));
	ck_assert(dht_token_check(&tk, (struct sockaddr *)&a2, tok, sizeof tok));
	ck_assert(!dht_token_check(&tk, (struct sockaddr *)&b, tok, sizeof tok));
	ck_assert(!dht_token_check(&tk, (struct sockaddr *)&a, tok, sizeof tok - 1));
	ck_assert(!dht_tokens_rotate(&tk, r2, now + 4 * MIN_MS));
	ck_assert(dht_tokens_rotate(&tk, r2, now + 5 * MIN_MS));
	ck_assert(dht_token_check(&tk, (struct sockaddr *)&a, tok, sizeof tok));
	ck_assert(dht_tokens_rotate(&tk, r3, now + 10 * MIN_MS));
	ck_assert(!dht_token_check(&tk, (struct sockaddr *)&a, tok, sizeof tok));
}
END_TEST

/* The store keeps at most DHT_STORE_MAX_PEERS per hash and DHT_STORE_MAX_HASHES hashes,
 * answers by family, and forgets peers after DHT_STORE_TTL_MS in slices. */
START_TEST(test_store)
{
	struct dht_store *s = dht_store_new();
	uint8_t ih[20];
	memset(ih, 0xab, 20);
	uint64_t now = MIN_MS;
	for (uint32_t i = 0; i < DHT_STORE_MAX_PEERS + 50; i++) {
		struct sockaddr_storage a = pub4(i, 6881);
		dht_store_add(s, ih, (struct sockaddr *)&a, now + i, i);
	}
	struct sockaddr_in6 s6;
	memset(&s6, 0, sizeof s6);
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(9);
	dht_store_add(s, ih, (struct sockaddr *)&s6, now, 0);
	ck_assert_uint_eq(dht_store_peers(s), DHT_STORE_MAX_PEERS);
	struct krpc_peer out[KRPC_MAX_VALUES];
	size_t n = dht_store_get(s, ih, AF_INET, out, DP_ARRAY_LEN(out), now + 200, 5);
	ck_assert_uint_le(n, DHT_STORE_MAX_PEERS);
	ck_assert_uint_gt(n, DHT_STORE_MAX_PEERS - 2);
	/* the same peer twice is one entry */
	struct sockaddr_storage again = pub4(DHT_STORE_MAX_PEERS + 49, 6881);
	dht_store_add(s, ih, (struct sockaddr *)&again, now + 300, 0);
	ck_assert_uint_eq(dht_store_peers(s), DHT_STORE_MAX_PEERS);
	ck_assert_uint_eq(dht_store_get(s, ih, AF_INET, out, 3, now, 0), 3);
	/* many hashes: bounded */
	for (uint32_t i = 0; i < DHT_STORE_MAX_HASHES + 20; i++) {
		uint8_t h[20];
		memset(h, 0, 20);
		memcpy(h, &i, sizeof i);
		struct sockaddr_storage a = pub4(i, 1);
		dht_store_add(s, h, (struct sockaddr *)&a, now, i * 2654435761u);
	}
	ck_assert_uint_eq(dht_store_hashes(s), DHT_STORE_MAX_HASHES);
	/* expiry in slices */
	uint64_t later = now + DHT_STORE_TTL_MS + 1000;
	ck_assert_uint_eq(dht_store_get(s, ih, AF_INET, out, 10, later, 0), 0);
	dht_store_expire(s, later, 10);
	ck_assert_uint_le(dht_store_hashes(s), DHT_STORE_MAX_HASHES);
	ck_assert_uint_ge(dht_store_hashes(s), DHT_STORE_MAX_HASHES - 10);
	for (int i = 0; i < 200 && dht_store_hashes(s) > 0; i++)
		dht_store_expire(s, later, 10);
	ck_assert_uint_eq(dht_store_hashes(s), 0);
	ck_assert_uint_eq(dht_store_peers(s), 0);
	dht_store_free(s);
}
END_TEST

/* Replies from a synthetic network: each node at distance d returns nodes closer to the
 * target; the lookup keeps alpha in flight, ends once the 8 closest answered, and the
 * announce set is the closest with tokens. */
static void
synth_id(const uint8_t target[20], int prefix, int k, uint8_t out[20])
{
	uint8_t rnd[20];
	for (int i = 0; i < 20; i++)
		rnd[i] = (uint8_t)(k * 13 + i);
	dht_id_random_in(target, prefix, rnd, out);
}

START_TEST(test_lookup_converges)
{
	uint8_t target[20];
	memset(target, 0x5e, 20);
	static struct dht_lookup l;
	dht_lookup_init(&l, target);
	/* two bootstrap addresses without IDs */
	struct sockaddr_storage b1 = pub4(1, 1), b2 = pub4(2, 2);
	ck_assert(dht_lookup_add(&l, NULL, (struct sockaddr *)&b1, sizeof(struct sockaddr_in)));
	ck_assert(dht_lookup_add(&l, NULL, (struct sockaddr *)&b2, sizeof(struct sockaddr_in)));
	ck_assert(!dht_lookup_add(&l, NULL, (struct sockaddr *)&b2, sizeof(struct sockaddr_in)));
	uint64_t now = 1000;
	uint32_t host = 100;
	int rounds = 0;
	size_t max_busy = 0;
	while (!dht_lookup_done(&l) && rounds < 500) {
		rounds++;
		int sent[DHT_ALPHA + 1], ns = 0, i;
		while ((i = dht_lookup_next(&l, now)) >= 0) {
			ck_assert_int_lt(ns, DHT_ALPHA);
			sent[ns++] = i;
		}
		max_busy = DP_MAX(max_busy, dht_lookup_inflight(&l));
		for (int k = 0; k < ns; k++) {
			struct dht_lookup_cand *c = &l.cands[sent[k]];
			int depth = c->id_known ? dht_id_common_prefix(target, c->node.id) : 0;
			uint8_t rid[20];
			if (c->id_known)
				memcpy(rid, c->node.id, 20);
			else
				synth_id(target, 1, (int)host, rid);
			/* nodes deeper than 40 bits know nothing closer: the lookup must end */
			ck_assert(dht_lookup_replied(&l, sent[k], rid, (const uint8_t *)"tk", 2));
			if (depth < 40)
				for (int j = 0; j < 8; j++) {
					uint8_t nid[20];
					synth_id(target, depth + 1 + j % 3, (int)host, nid);
					struct sockaddr_storage a = pub4(host++, 6881);
					dht_lookup_add(&l, nid, (struct sockaddr *)&a, sizeof(struct sockaddr_in));
				}
		}
		now += 100;
	}
	ck_assert(dht_lookup_done(&l));
	ck_assert_int_lt(rounds, 100);
	ck_assert_uint_le(max_busy, DHT_ALPHA);
	int ann[8];
	size_t na = dht_lookup_announce_set(&l, ann, 8);
	ck_assert_uint_eq(na, 8);
	for (size_t k = 0; k < na; k++)
		ck_assert_int_ge(dht_id_common_prefix(target, l.cands[ann[k]].node.id), 40);
}
END_TEST

/* Everyone times out: the lookup ends after each candidate failed once. A slow node frees its
 * alpha slot after DHT_LOOKUP_SLOW_MS, and its late answer still counts. */
START_TEST(test_lookup_failures)
{
	uint8_t target[20];
	memset(target, 0x01, 20);
	static struct dht_lookup l;
	dht_lookup_init(&l, target);
	for (int i = 0; i < 5; i++) {
		uint8_t id[20];
		synth_id(target, 3 + i, i, id);
		struct sockaddr_storage a = pub4((uint32_t)i + 1, 6881);
		dht_lookup_add(&l, id, (struct sockaddr *)&a, sizeof(struct sockaddr_in));
	}
	uint64_t now = 1000;
	int a = dht_lookup_next(&l, now), b = dht_lookup_next(&l, now), c = dht_lookup_next(&l, now);
	ck_assert(a >= 0 && b >= 0 && c >= 0);
	ck_assert_int_eq(dht_lookup_next(&l, now), -1);
	/* a is slow: after DHT_LOOKUP_SLOW_MS another query goes out */
	ck_assert_int_eq(dht_lookup_next(&l, now + 100), -1);
	int d = dht_lookup_next(&l, now + DHT_LOOKUP_SLOW_MS);
	ck_assert_int_ge(d, 0);
	ck_assert(dht_lookup_replied(&l, a, l.cands[a].node.id, NULL, 0));
	/* a reply from the wrong ID counts as a failure */
	uint8_t wrong[20];
	memset(wrong, 0xff, 20);
	ck_assert(!dht_lookup_replied(&l, b, wrong, NULL, 0));
	ck_assert_int_eq(l.cands[b].state, DHT_CAND_FAILED);
	dht_lookup_failed(&l, c);
	dht_lookup_failed(&l, d);
	ck_assert(!dht_lookup_done(&l));
	int e = dht_lookup_next(&l, now + 5000);
	ck_assert_int_ge(e, 0);
	dht_lookup_failed(&l, e);
	ck_assert_int_eq(dht_lookup_next(&l, now + 6000), -1);
	ck_assert(dht_lookup_done(&l));
	ck_assert_uint_eq(l.replied, 1);
	ck_assert_uint_eq(l.failed, 4);
	ck_assert_int_eq(dht_lookup_find_sent(&l, (struct sockaddr *)&l.cands[a].node.addr), -1);
}
END_TEST

/* A full list takes a closer node in place of its farthest one that is not in flight. */
START_TEST(test_lookup_bounded)
{
	uint8_t target[20];
	memset(target, 0x77, 20);
	static struct dht_lookup l;
	dht_lookup_init(&l, target);
	for (int i = 0; i < DHT_LOOKUP_MAX_CANDS; i++) {
		uint8_t id[20];
		synth_id(target, 2 + i % 10, i, id);
		struct sockaddr_storage a = pub4((uint32_t)i + 1, 6881);
		ck_assert(dht_lookup_add(&l, id, (struct sockaddr *)&a, sizeof(struct sockaddr_in)));
	}
	uint8_t far[20], near[20];
	synth_id(target, 0, 999, far);
	synth_id(target, 100, 998, near);
	struct sockaddr_storage a = pub4(5000, 1), b = pub4(5001, 1);
	ck_assert(!dht_lookup_add(&l, far, (struct sockaddr *)&a, sizeof(struct sockaddr_in)));
	ck_assert(dht_lookup_add(&l, near, (struct sockaddr *)&b, sizeof(struct sockaddr_in)));
	ck_assert_uint_eq(l.n, DHT_LOOKUP_MAX_CANDS);
	int first = dht_lookup_next(&l, 0);
	ck_assert_mem_eq(l.cands[first].node.id, near, 20);
}
END_TEST

START_TEST(test_state_roundtrip)
{
	struct krpc_node nodes[3];
	memset(nodes, 0, sizeof nodes);
	for (int i = 0; i < 3; i++)
		memset(nodes[i].id, 0x61 + i, 20);
	nodes[0].addr = pub4(1, 10);
	nodes[0].addrlen = sizeof(struct sockaddr_in);
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&nodes[1].addr;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(20);
	s6->sin6_addr.s6_addr[0] = 0x20;
	nodes[1].addrlen = sizeof *s6;
	nodes[2].addr = pub4(3, 30);
	nodes[2].addrlen = sizeof(struct sockaddr_in);
	uint8_t id[20], back[20];
	memset(id, 0x0f, 20);
	struct dp_buf b;
	dp_buf_init(&b);
	dht_state_encode(&b, id, nodes, 3);
	struct krpc_node *got;
	size_t n;
	char err[128];
	ck_assert_int_eq(dht_state_decode(b.data, b.len, back, &got, &n, err, sizeof err), 0);
	ck_assert_mem_eq(back, id, 20);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(got[0].id, nodes[0].id, 20);
	ck_assert_mem_eq(got[1].id, nodes[2].id, 20);      /* IPv4 first */
	ck_assert_int_eq(got[2].addr.ss_family, AF_INET6);
	free(got);
	ck_assert_int_lt(dht_state_decode((const uint8_t *)"d2:id3:abce", 11, back, &got, &n, err,
	    sizeof err), 0);
	ck_assert_int_lt(dht_state_decode((const uint8_t *)"d5:nodes3:abce", 14, back, &got, &n, err,
	    sizeof err), 0);
	ck_assert_int_lt(dht_state_decode((const uint8_t *)"x", 1, back, &got, &n, err, sizeof err), 0);
	dp_buf_free(&b);
}
END_TEST

Suite *
dht_table_suite(void)
{
	Suite *s = suite_create("dht_table");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, test_table_split_and_replace);
	tcase_add_test(tc, test_table_rules);
	tcase_add_test(tc, test_table_prefers_secure);
	tcase_add_test(tc, test_table_refresh);
	tcase_add_test(tc, test_table_closest);
	suite_add_tcase(s, tc);
	tc = tcase_create("parts");
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_store);
	tcase_add_test(tc, test_lookup_converges);
	tcase_add_test(tc, test_lookup_failures);
	tcase_add_test(tc, test_lookup_bounded);
	tcase_add_test(tc, test_state_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}
