/* check_merkle.c: BEP 52 merkle trees against a plain recursive reference built from OpenSSL's
 * SHA256 here: piece roots, file roots from piece layers, zero padding, and hash-run proofs. */
#include "config.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "merkle.h"
#include "suites.h"
#include "util.h"
#include "v2_layers.h"
#include "wire_hash.h"

static uint8_t *
mk_data(size_t len, unsigned seed)
{
	uint8_t *d = xmalloc(len + 1);
	uint32_t x = seed * 2654435761u + 7;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d[i] = (uint8_t)x;
	}
	return d;
}

/* The reference: node (level, index) of the tree whose leaves are the SHA-256 of each 16 KiB
 * block of data, padded with all-zero leaves to width; written without any shortcut. */
static void
ref_node(const uint8_t *data, size_t len, unsigned level, uint64_t index, uint8_t out[32])
{
	if (level == 0) {
		uint64_t off = index * MERKLE_BLOCK;
		if (off >= len) {
			memset(out, 0, 32);
			return;
		}
		size_t n = len - off < MERKLE_BLOCK ? len - off : MERKLE_BLOCK;
		SHA256(data + off, n, out);
		return;
	}
	uint8_t both[64];
	ref_node(data, len, level - 1, 2 * index, both);
	ref_node(data, len, level - 1, 2 * index + 1, both + 32);
	SHA256(both, 64, out);
}

static void
ref_root(const uint8_t *data, size_t len, uint8_t out[32])
{
	uint64_t blocks = (len + MERKLE_BLOCK - 1) / MERKLE_BLOCK;
	unsigned levels = 0;
	while ((1ull << levels) < blocks)
		levels++;
	ref_node(data, len, levels, 0, out);
}

START_TEST(test_pads_and_pow2)
{
	uint8_t z[64] = { 0 }, h[32], p[32];
	merkle_pad(NULL, 0, p);
	ck_assert_mem_eq(p, z, 32);
	SHA256(z, 64, h);
	merkle_pad(NULL, 1, p);
	ck_assert_mem_eq(p, h, 32);
	uint8_t both[64];
	memcpy(both, h, 32);
	memcpy(both + 32, h, 32);
	SHA256(both, 64, h);
	merkle_pad(NULL, 2, p);
	ck_assert_mem_eq(p, h, 32);
	ck_assert_uint_eq(merkle_pow2(0), 1);
	ck_assert_uint_eq(merkle_pow2(1), 1);
	ck_assert_uint_eq(merkle_pow2(5), 8);
	ck_assert_uint_eq(merkle_pow2(1ull << 40), 1ull << 40);
	ck_assert_uint_eq(merkle_log2(1), 0);
	ck_assert_uint_eq(merkle_log2(1u << 20), 20);
	/* width of a piece's subtree: a whole piece for long files, else the file's blocks */
	ck_assert_uint_eq(merkle_piece_width(100000, 65536), 4);
	ck_assert_uint_eq(merkle_piece_width(65536, 65536), 4);
	ck_assert_uint_eq(merkle_piece_width(40000, 65536), 4);
	ck_assert_uint_eq(merkle_piece_width(20000, 65536), 2);
	ck_assert_uint_eq(merkle_piece_width(1, 65536), 1);
}
END_TEST

/* For files of many sizes and piece sizes: the pieces' roots and the layer's root give the same
 * file root as the reference, and a file of one piece has its piece's hash as its root. */
START_TEST(test_file_roots_match_reference)
{
	const size_t sizes[] = { 1, 100, 16383, 16384, 16385, 32768, 49153, 65536, 65537, 200000,
		300000, 1048576 + 5 };
	const uint32_t pieces[] = { 16384, 32768, 65536, 262144 };
	struct merkle_hasher *h = merkle_hasher_new();
	for (size_t si = 0; si < DP_ARRAY_LEN(sizes); si++) {
		size_t len = sizes[si];
		uint8_t *data = mk_data(len, (unsigned)si);
		uint8_t want[32];
		ref_root(data, len, want);
		for (size_t pi = 0; pi < DP_ARRAY_LEN(pieces); pi++) {
			uint32_t pl = pieces[pi];
			uint64_t n = (len + pl - 1) / pl, width = merkle_piece_width(len, pl);
			uint8_t *layer = xmalloc(n * 32), *scratch = xmalloc(n * 32 + pl / 512);
			for (uint64_t p = 0; p < n; p++) {
				size_t off = (size_t)p * pl, plen = len - off < pl ? len - off : pl;
				merkle_piece_root(h, data + off, plen, width, scratch, layer + p * 32);
			}
			uint8_t got[32];
			if (n == 1)
				memcpy(got, layer, 32);
			else
				merkle_root_from_layer(h, layer, n, pl, scratch, got);
			ck_assert_msg(memcmp(got, want, 32) == 0, "size %zu, piece %u", len, pl);
			/* each piece of a long file is the reference's node at the piece's level */
			if (n > 1) {
				uint8_t node[32];
				ref_node(data, len, merkle_log2(pl / MERKLE_BLOCK), n - 1, node);
				ck_assert_mem_eq(node, layer + (n - 1) * 32, 32);
			}
			free(layer);
			free(scratch);
		}
		/* NULL hasher: the same result */
		uint8_t again[32], *scratch = xmalloc(((len + MERKLE_BLOCK - 1) / MERKLE_BLOCK) * 32);
		merkle_piece_root(NULL, data, len, merkle_pow2((len + MERKLE_BLOCK - 1) /
		    MERKLE_BLOCK), scratch, again);
		ck_assert_mem_eq(again, want, 32);
		free(scratch);
		free(data);
	}
	merkle_hasher_free(h);
}
END_TEST

/* A hashes message's run with its proof checks out; any changed byte or index does not. */
START_TEST(test_verify_run)
{
	/* a file of 13 blocks: 16 leaves, 4 levels above them */
	size_t len = 13 * MERKLE_BLOCK - 100;
	uint8_t *data = mk_data(len, 99);
	uint8_t root[32], leaves[16 * 32];
	ref_root(data, len, root);
	for (unsigned i = 0; i < 16; i++)
		ref_node(data, len, 0, i, leaves + i * 32);
	struct merkle_hasher *h = merkle_hasher_new();
	/* run of 4 leaves at index 8: its subtree is node (2, 2); uncles (2, 3) then (3, 0) */
	uint8_t proof[2 * 32];
	ref_node(data, len, 2, 3, proof);
	ref_node(data, len, 3, 0, proof + 32);
	ck_assert(merkle_verify_run(h, leaves + 8 * 32, 4, 8, proof, 2, root));
	ck_assert(!merkle_verify_run(h, leaves + 8 * 32, 4, 4, proof, 2, root));   /* index */
	ck_assert(!merkle_verify_run(h, leaves + 8 * 32, 4, 9, proof, 2, root));   /* unaligned */
	ck_assert(!merkle_verify_run(h, leaves + 8 * 32, 3, 8, proof, 2, root));   /* not 2^k */
	ck_assert(!merkle_verify_run(h, leaves + 8 * 32, 4, 8, proof, 1, root));   /* short */
	ck_assert(!merkle_verify_run(h, leaves + 8 * 32, 4, 64, proof, 2, root));  /* outside */
	proof[40] ^= 1;
	ck_assert(!merkle_verify_run(h, leaves + 8 * 32, 4, 8, proof, 2, root));
	proof[40] ^= 1;
	leaves[8 * 32] ^= 1;
	ck_assert(!merkle_verify_run(h, leaves + 8 * 32, 4, 8, proof, 2, root));
	leaves[8 * 32] ^= 1;
	/* the whole layer, no proof: the run's root is the root */
	ck_assert(merkle_verify_run(h, leaves, 16, 0, NULL, 0, root));
	/* the zero leaves past the end are part of the run like any other */
	ref_node(data, len, 3, 0, proof);
	ck_assert(merkle_verify_run(h, leaves + 8 * 32, 8, 8, proof, 1, root));
	merkle_hasher_free(h);
	free(data);
}
END_TEST

/* ---- hand-built trees: every node written out with OpenSSL's SHA256, no merkle.c ---- */

#define HB_MAX 16                       /* widest tree built here */

struct hb_tree {
	uint8_t node[6][HB_MAX][32];        /* node[level][index]; level 0: the base layer */
	unsigned height;                    /* root at node[height][0] */
};

/* n base hashes (arbitrary bytes, never zero), padded to a power of two with pad (BEP 52: zero
 * leaves, or at the piece layer the root of a piece of zero leaves), hashed up by pairs. */
static void
hb_build(struct hb_tree *t, unsigned n, const uint8_t pad[32], unsigned seed)
{
	unsigned w = 1;
	while (w < n)
		w *= 2;
	memset(t, 0, sizeof *t);
	for (unsigned i = 0; i < w; i++) {
		if (i < n) {
			for (unsigned b = 0; b < 32; b++)
				t->node[0][i][b] = (uint8_t)(seed * 31 + i * 7 + b + 1);
		} else {
			memcpy(t->node[0][i], pad, 32);
		}
	}
	t->height = 0;
	for (unsigned lw = w; lw > 1; lw /= 2) {
		unsigned k = ++t->height;
		for (unsigned i = 0; i < lw / 2; i++) {
			uint8_t both[64];
			memcpy(both, t->node[k - 1][2 * i], 32);
			memcpy(both + 32, t->node[k - 1][2 * i + 1], 32);
			SHA256(both, 64, t->node[k][i]);
		}
	}
}

/* The uncles of the run of 2^r base nodes at index idx, lowest first: height - r of them. */
static unsigned
hb_proof(const struct hb_tree *t, unsigned r, unsigned idx, uint8_t *out)
{
	unsigned n = 0;
	for (unsigned k = r; k < t->height; k++, n++)
		memcpy(out + n * 32, t->node[k][(idx >> k) ^ 1], 32);
	return n;
}

/* Trees of odd leaf counts padded with zero leaves: the root matches merkle_root, and every
 * aligned run of every length proves with its uncles; a changed uncle, a missing one, another
 * index or a run of padding with a changed pad hash does not. */
START_TEST(test_hand_built_leaf_trees)
{
	const unsigned counts[] = { 1, 2, 3, 5, 6, 7, 9, 13, 16 };
	uint8_t zero[32] = { 0 }, got[32], scratch[HB_MAX * 32], proof[6 * 32];
	struct merkle_hasher *h = merkle_hasher_new();
	struct hb_tree t;
	for (size_t c = 0; c < DP_ARRAY_LEN(counts); c++) {
		unsigned n = counts[c];
		hb_build(&t, n, zero, n);
		unsigned w = 1u << t.height;
		const uint8_t *root = t.node[t.height][0];
		merkle_root(h, &t.node[0][0][0], n, w, 0, scratch, got);
		ck_assert_msg(memcmp(got, root, 32) == 0, "root of %u leaves", n);
		for (unsigned r = 0; r <= t.height; r++) {
			unsigned len = 1u << r;
			for (unsigned idx = 0; idx < w; idx += len) {
				unsigned np = hb_proof(&t, r, idx, proof);
				const uint8_t *run = t.node[0][idx];
				ck_assert_msg(merkle_verify_run(h, run, len, idx, proof, np, root),
				    "%u leaves: run of %u at %u", n, len, idx);
				if (np > 0) {
					ck_assert(!merkle_verify_run(h, run, len, idx, proof, np - 1, root));
					proof[(np - 1) * 32 + 5] ^= 0x40;
					ck_assert(!merkle_verify_run(h, run, len, idx, proof, np, root));
					proof[(np - 1) * 32 + 5] ^= 0x40;
				}
				/* elsewhere (unless the run there is the same bytes: zero padding) */
				unsigned other = (idx + len) % w;
				if (len < w && memcmp(run, t.node[0][other], (size_t)len * 32) != 0)
					ck_assert(!merkle_verify_run(h, run, len, other, proof, np, root));
			}
		}
		/* a run that covers padding: the zero leaves must be zero */
		if (n < w) {
			uint8_t run[HB_MAX * 32];
			memcpy(run, t.node[0][0], (size_t)w * 32);
			run[(w - 1) * 32] = 1;
			ck_assert(!merkle_verify_run(h, run, w, 0, NULL, 0, root));
		}
	}
	merkle_hasher_free(h);
}
END_TEST

/* At the piece layer the padding is the root of a piece of zero leaves (here 4 leaves: level
 * 2); merkle_root_from_layer and an answer built by hand for each of v2_layers' requests agree
 * with the hand-built root, and v2_layers_verify refuses every altered answer. */
START_TEST(test_hand_built_piece_layers)
{
	uint8_t z[3][32], both[64];
	memset(z[0], 0, 32);
	for (unsigned k = 1; k < 3; k++) {
		memcpy(both, z[k - 1], 32);
		memcpy(both + 32, z[k - 1], 32);
		SHA256(both, 64, z[k]);
	}
	uint8_t pad[32];
	merkle_pad(NULL, 2, pad);
	ck_assert_mem_eq(pad, z[2], 32);
	const unsigned counts[] = { 2, 3, 5, 7, 11, 16 };
	struct merkle_hasher *h = merkle_hasher_new();
	struct hb_tree t;
	uint8_t scratch[HB_MAX * 32], got[32], msg[(HB_MAX + 6) * 32];
	for (size_t c = 0; c < DP_ARRAY_LEN(counts); c++) {
		unsigned n = counts[c];
		hb_build(&t, n, z[2], 100 + n);
		const uint8_t *root = t.node[t.height][0];
		/* 4 leaves a piece: 64 KiB pieces */
		merkle_root_from_layer(h, &t.node[0][0][0], n, 4 * MERKLE_BLOCK, scratch, got);
		ck_assert_msg(memcmp(got, root, 32) == 0, "layer of %u pieces", n);
		struct wire_hash_req req;
		v2_layers_request_for(root, n, 2, 0, &req);
		ck_assert_uint_eq(req.base_layer, 2);
		ck_assert_uint_eq(req.length, 1u << t.height);   /* the padded layer, whole */
		ck_assert_uint_eq(wire_hash_uncles(&req), 0);
		struct wire_hashes ans = { .req = req, .hashes = msg, .count = req.length };
		memcpy(msg, t.node[0][0], (size_t)req.length * 32);
		ck_assert_msg(v2_layers_verify(h, &req, n, &ans), "layer of %u pieces", n);
		/* a run of 2 at each aligned index, with its uncles up to the root */
		for (unsigned idx = 0; idx < n; idx += 2) {
			struct wire_hash_req r2 = req;
			r2.index = idx;
			r2.length = 2;
			ck_assert_uint_eq(wire_hash_uncles(&r2), t.height - 1);
			memcpy(msg, t.node[0][idx], 64);
			unsigned np = hb_proof(&t, 1, idx, msg + 64);
			struct wire_hashes a2 = { .req = r2, .hashes = msg, .count = 2 + np };
			ck_assert_msg(v2_layers_verify(h, &r2, n, &a2), "%u pieces, run at %u", n, idx);
			a2.count--;                                  /* an uncle short */
			ck_assert(!v2_layers_verify(h, &r2, n, &a2));
			a2.count++;
			a2.req.index ^= 2;                           /* answers another request */
			ck_assert(!v2_layers_verify(h, &r2, n, &a2));
			a2.req.index ^= 2;
			if (np > 0) {
				msg[64 + 3] ^= 1;                    /* a false uncle */
				ck_assert(!v2_layers_verify(h, &r2, n, &a2));
				msg[64 + 3] ^= 1;
			}
			msg[5] ^= 1;                                 /* a false piece hash */
			ck_assert(!v2_layers_verify(h, &r2, n, &a2));
			msg[5] ^= 1;
		}
		/* a false pad hash past the last piece is refused even before the proof */
		if (n < req.length) {
			memcpy(msg, t.node[0][0], (size_t)req.length * 32);
			msg[(req.length - 1) * 32 + 7] ^= 1;
			ck_assert(!v2_layers_verify(h, &req, n, &ans));
		}
	}
	merkle_hasher_free(h);
}
END_TEST

Suite *
merkle_suite(void)
{
	Suite *s = suite_create("merkle");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pads_and_pow2);
	tcase_add_test(tc, test_file_roots_match_reference);
	tcase_add_test(tc, test_verify_run);
	tcase_add_test(tc, test_hand_built_leaf_trees);
	tcase_add_test(tc, test_hand_built_piece_layers);
	suite_add_tcase(s, tc);
	return s;
}
