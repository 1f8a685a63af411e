/* check_wire_hash.c: BEP 52 hash request / hashes / hash reject round trips and refusals, and
 * v2_hashes' answers checked against the file's root with merkle_verify_run. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <check.h>

#include <event2/buffer.h>

#include "merkle.h"
#include "metainfo.h"
#include "suites.h"
#include "test_helpers.h"
#include "torrent_create.h"
#include "v2_hashes.h"
#include "wire_hash.h"

/* The payload (after length and id) of the one message in ev. */
static size_t
payload_of(struct evbuffer *ev, uint8_t *out, size_t cap, uint8_t *id)
{
	size_t len = evbuffer_get_length(ev);
	ck_assert_uint_ge(len, 5);
	ck_assert_uint_le(len - 5, cap);
	uint8_t head[5];
	evbuffer_remove(ev, head, 5);
	ck_assert_uint_eq((uint32_t)head[0] << 24 | head[1] << 16 | head[2] << 8 | head[3],
	    len - 4);
	*id = head[4];
	evbuffer_remove(ev, out, len - 5);
	return len - 5;
}

START_TEST(test_round_trip_and_limits)
{
	char err[160];
	/* a run of 2^5 with proof layers up to 9 above the base: at most 5 uncles */
	struct wire_hash_req r = { .base_layer = 2, .index = 64, .length = 32, .proof_layers = 9 };
	memset(r.root, 0xab, 32);
	struct evbuffer *ev = evbuffer_new();
	uint8_t buf[64 + 40 * 32], id;
	ck_assert_int_eq(wire_hash_put_req(ev, WIRE_HASH_REQUEST, &r), 0);
	size_t n = payload_of(ev, buf, sizeof buf, &id);
	ck_assert_uint_eq(id, WIRE_HASH_REQUEST);
	ck_assert_uint_eq(n, WIRE_HASH_HEADER);
	struct wire_hash_req back;
	ck_assert_int_eq(wire_hash_parse_req(buf, n, &back, err, sizeof err), 0);
	ck_assert_mem_eq(&back, &r, sizeof r);

	uint8_t hashes[40 * 32];
	for (size_t i = 0; i < sizeof hashes; i++)
		hashes[i] = (uint8_t)i;
	ck_assert_int_eq(wire_hash_put_hashes(ev, &r, hashes, 37), 0);
	n = payload_of(ev, buf, sizeof buf, &id);
	ck_assert_uint_eq(id, WIRE_HASHES);
	struct wire_hashes h;
	ck_assert_int_eq(wire_hash_parse_hashes(buf, n, &h, err, sizeof err), 0);
	ck_assert_uint_eq(h.count, 37);
	ck_assert_mem_eq(h.hashes, hashes, 37 * 32);
	/* fewer hashes than the run, more uncles than asked, a torn hash */
	ck_assert_int_eq(wire_hash_parse_hashes(buf, WIRE_HASH_HEADER + 31 * 32, &h, err,
	    sizeof err), -1);
	ck_assert_int_eq(wire_hash_put_hashes(ev, &r, hashes, 38), 0);
	n = payload_of(ev, buf, sizeof buf, &id);
	ck_assert_int_eq(wire_hash_parse_hashes(buf, n, &h, err, sizeof err), -1);
	ck_assert_int_eq(wire_hash_parse_hashes(buf, n - 1, &h, err, sizeof err), -1);
	ck_assert_int_eq(wire_hash_parse_req(buf, WIRE_HASH_HEADER + 1, &back, err, sizeof err),
	    -1);

	/* header rules: length a power of two up to 8192, index a multiple of it, layers <= 62 */
	const struct { uint32_t base, index, length, proof; bool ok; } cases[] = {
		{ 0, 0, 1, 0, true }, { 0, 8192, 8192, 62, true }, { 62, 0, 2, 0, true },
		{ 0, 0, 0, 0, false }, { 0, 0, 3, 0, false }, { 0, 0, 16384, 0, false },
		{ 0, 2, 4, 0, false }, { 63, 0, 1, 0, false }, { 0, 0, 1, 63, false },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(cases); i++) {
		struct wire_hash_req c = { .base_layer = cases[i].base, .index = cases[i].index,
			.length = cases[i].length, .proof_layers = cases[i].proof };
		wire_hash_put_req(ev, WIRE_HASH_REJECT, &c);
		n = payload_of(ev, buf, sizeof buf, &id);
		ck_assert_msg((wire_hash_parse_req(buf, n, &back, err, sizeof err) == 0) ==
		    cases[i].ok, "case %zu: %s", i, err);
	}
	evbuffer_free(ev);
}
END_TEST

/* Answers built from a real torrent's piece layer verify against the file's root. */
START_TEST(test_answers_verify)
{
	char dir[64], err[256];
	th_tmpdir_make(dir, sizeof dir, "wire_hash");
	th_file_random(dir, "t/big.bin", 10 * 32768 - 7, 1);
	th_file_random(dir, "t/small.bin", 1000, 2);
	char *root = xasprintf("%s/t", dir);
	struct tc_tree tree;
	ck_assert_msg(torrent_create_scan(root, &tree, err, sizeof err) == TC_OK, "%s", err);
	torrent_create_align(&tree, 32768);
	struct tc_hashes th;
	ck_assert_int_eq(torrent_create_hash(&tree, 32768, TC_FORMAT_V2, 1, NULL, NULL, &th, err,
	    sizeof err), TC_OK);
	struct tc_options opt = { .creation_date = -1 };
	struct dp_buf b;
	uint8_t ih[20], ih2[32];
	dp_buf_init(&b);
	torrent_create_encode(&tree, 32768, TC_FORMAT_V2, &th, &opt, &b, ih, ih2);
	struct metainfo *mi = metainfo_parse(b.data, b.len, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	const struct mi_file *big = &mi->files[0];
	ck_assert_str_eq(big->path, "big.bin");

	struct v2_hashes *vh = v2_hashes_new(mi);
	uint8_t *out = xmalloc((size_t)V2_HASHES_MAX * 32);
	struct merkle_hasher *h = merkle_hasher_new();
	/* the whole padded layer (10 pieces, 16 nodes): it hashes to the root by itself */
	struct wire_hash_req r = { .base_layer = 1, .index = 0, .length = 16, .proof_layers = 9 };
	memcpy(r.root, big->pieces_root, 32);
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 16);
	ck_assert(merkle_verify_run(h, out, 16, 0, NULL, 0, big->pieces_root));
	ck_assert_mem_eq(out, mi->piece_hashes_v2, 10 * 32);
	/* a run of 4 at index 4 and its two uncles; proof layers count from the base (as
	 * libtorrent's): 2 of them lie inside the run's subtree, so 2 reach one uncle */
	r.index = 4;
	r.length = 4;
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 6);
	ck_assert(merkle_verify_run(h, out, 4, 4, out + 4 * 32, 2, big->pieces_root));
	r.proof_layers = 2;
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 5);
	r.proof_layers = 1;
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 4);
	/* one node: as many uncles as the proof layers reach, the root's child's sibling last */
	r.index = 3;
	r.length = 1;
	r.proof_layers = 3;
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 5);
	ck_assert(merkle_verify_run(h, out, 1, 3, out + 32, 4, big->pieces_root));
	/* the pad nodes past the last piece are served too */
	r.index = 8;
	r.length = 8;
	r.proof_layers = 3;
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 9);
	ck_assert(merkle_verify_run(h, out, 8, 8, out + 8 * 32, 1, big->pieces_root));
	/* what is not answered: leaves, a run past the tree, an unknown root, a one-piece file */
	r.base_layer = 0;
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 0);
	r.base_layer = 1;
	r.index = 16;
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 0);
	r.index = 0;
	r.root[0] ^= 1;
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 0);
	memcpy(r.root, mi->files[2].pieces_root, 32);
	ck_assert_str_eq(mi->files[2].path, "small.bin");
	ck_assert_uint_eq(v2_hashes_answer(vh, &r, out), 0);

	merkle_hasher_free(h);
	free(out);
	v2_hashes_free(vh);
	metainfo_free(mi);
	dp_buf_free(&b);
	torrent_create_hashes_free(&th);
	torrent_create_tree_free(&tree);
	free(root);
	ck_assert_int_eq(th_rm_rf(dir), 0);
}
END_TEST

Suite *
wire_hash_suite(void)
{
	Suite *s = suite_create("wire_hash");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_round_trip_and_limits);
	tcase_add_test(tc, test_answers_verify);
	suite_add_tcase(s, tc);
	return s;
}
