/* check_create.c: unit tests of torrent creation: piece size choice, file ordering, link loops and
 * special files, and a built torrent checked with bencode.h against independently hashed pieces. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>

#include "bencode.h"
#include "suites.h"
#include "test_helpers.h"
#include "torrent_create.h"

static char tmpdir[64];

static void
create_setup(void)
{
	th_tmpdir_make(tmpdir, sizeof tmpdir, "create");
}

static void
create_teardown(void)
{
	ck_assert_int_eq(th_rm_rf(tmpdir), 0);
}

/* Writes len deterministic bytes (seeded) to tmpdir/rel, creating parent directories. */
static void
put_file(const char *rel, size_t len, unsigned seed)
{
	th_file_random(tmpdir, rel, len, seed);
}

START_TEST(test_piece_size)
{
	ck_assert_uint_eq(torrent_create_piece_size(1), 16384);
	ck_assert_uint_eq(torrent_create_piece_size(2000ull * 16384), 16384);
	ck_assert_uint_eq(torrent_create_piece_size(2000ull * 16384 + 1), 32768);
	ck_assert_uint_eq(torrent_create_piece_size(1ull << 30), 1u << 20);       /* 1024 pieces */
	ck_assert_uint_eq(torrent_create_piece_size(4400ull << 20), 4u << 20);    /* 1100 pieces */
	ck_assert_uint_eq(torrent_create_piece_size(1ull << 50), 16u << 20);      /* clamped */
	/* Unclamped choices land in 1000..2000 pieces. */
	for (uint64_t total = 40ull << 20; total < (30ull << 30); total = total * 3 / 2 + 12345) {
		uint32_t p = torrent_create_piece_size(total);
		uint64_t n = (total + p - 1) / p;
		ck_assert_msg(n > 1000 && n <= 2000, "%llu bytes: %u -> %llu pieces",
		    (unsigned long long)total, p, (unsigned long long)n);
		ck_assert_uint_eq(p & (p - 1), 0);
	}

	uint32_t v;
	ck_assert(torrent_create_parse_piece_size("256K", &v) && v == 262144);
	ck_assert(torrent_create_parse_piece_size("1M", &v) && v == 1048576);
	ck_assert(torrent_create_parse_piece_size("16384", &v) && v == 16384);
	ck_assert(!torrent_create_parse_piece_size("8K", &v));
	ck_assert(!torrent_create_parse_piece_size("100000", &v));
	ck_assert(!torrent_create_parse_piece_size("128M", &v));
	ck_assert(!torrent_create_parse_piece_size("1X", &v));
	ck_assert(!torrent_create_parse_piece_size("", &v));
}
END_TEST

START_TEST(test_scan_order)
{
	char err[512];
	struct tc_tree t;
	put_file("d/b.txt", 10, 1);
	put_file("d/a/z", 5, 2);
	put_file("d/a.txt", 7, 3);
	put_file("d/.hidden", 3, 4);
	put_file("d/B", 0, 5);
	put_file("d/a/b/c", 1, 6);
	char *root = xasprintf("%s/d/", tmpdir);
	ck_assert_msg(torrent_create_scan(root, &t, err, sizeof err) == TC_OK, "%s", err);
	ck_assert_str_eq(t.name, "d");
	ck_assert(t.multi_file);
	const char *want[] = { ".hidden", "B", "a/b/c", "a/z", "a.txt", "b.txt" };
	const uint64_t lens[] = { 3, 0, 1, 5, 7, 10 };
	ck_assert_uint_eq(t.count, DP_ARRAY_LEN(want));
	uint64_t off = 0;
	for (size_t i = 0; i < t.count; i++) {
		ck_assert_str_eq(t.files[i].rel, want[i]);
		ck_assert_uint_eq(t.files[i].length, lens[i]);
		ck_assert_uint_eq(t.files[i].offset, off);
		off += lens[i];
	}
	ck_assert_uint_eq(t.total, 26);
	torrent_create_tree_free(&t);
	free(root);

	/* "dir/." takes the real directory's name. */
	root = xasprintf("%s/d/a/.", tmpdir);
	ck_assert_msg(torrent_create_scan(root, &t, err, sizeof err) == TC_OK, "%s", err);
	ck_assert_str_eq(t.name, "a");
	torrent_create_tree_free(&t);
	free(root);
}
END_TEST

START_TEST(test_scan_links_and_errors)
{
	char err[512];
	struct tc_tree t;
	put_file("d/f", 100, 1);
	put_file("other/g", 50, 2);
	char *p = xasprintf("%s/d/link_to_f", tmpdir);
	ck_assert_int_eq(symlink("f", p), 0);
	free(p);
	p = xasprintf("%s/d/dir_link", tmpdir);
	ck_assert_int_eq(symlink("../other", p), 0);
	free(p);
	p = xasprintf("%s/d/dangling", tmpdir);
	ck_assert_int_eq(symlink("nowhere", p), 0);
	free(p);
	p = xasprintf("%s/d/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(p, 0644), 0);
	free(p);

	char *root = xasprintf("%s/d", tmpdir);
	ck_assert_msg(torrent_create_scan(root, &t, err, sizeof err) == TC_OK, "%s", err);
	ck_assert_uint_eq(t.count, 3);
	ck_assert_str_eq(t.files[0].rel, "dir_link/g");
	ck_assert_str_eq(t.files[1].rel, "f");
	ck_assert_str_eq(t.files[2].rel, "link_to_f");
	ck_assert_uint_eq(t.files[2].length, 100);
	ck_assert_uint_eq(t.skipped_count, 2);   /* the broken link and the FIFO, reported */
	ck_assert_ptr_nonnull(strstr(t.skipped[0], "dangling"));
	ck_assert_ptr_nonnull(strstr(t.skipped[1], "fifo"));
	torrent_create_tree_free(&t);

	/* A link back up the tree is a loop. */
	p = xasprintf("%s/d/loop", tmpdir);
	ck_assert_int_eq(symlink("..", p), 0);
	free(p);
	p = xasprintf("%s/d/dir_link/up", tmpdir);
	ck_assert_int_eq(symlink("../d", p), 0);
	free(p);
	ck_assert_int_eq(torrent_create_scan(root, &t, err, sizeof err), TC_ERR_INPUT);
	ck_assert_msg(strstr(err, "symbolic link loop") != NULL, "%s", err);
	free(root);

	/* Empty directory, zero total size, missing path. */
	p = xasprintf("%s/empty", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(torrent_create_scan(p, &t, err, sizeof err), TC_ERR_INPUT);
	ck_assert_msg(strstr(err, "no files") != NULL, "%s", err);
	put_file("empty/zero", 0, 0);
	ck_assert_int_eq(torrent_create_scan(p, &t, err, sizeof err), TC_ERR_INPUT);
	ck_assert_msg(strstr(err, "total size is zero") != NULL, "%s", err);
	free(p);
	p = xasprintf("%s/missing", tmpdir);
	ck_assert_int_eq(torrent_create_scan(p, &t, err, sizeof err), TC_ERR_INPUT);
	ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
	free(p);

	/* An unreadable file stops the scan (root reads everything, so only check as a user). */
	if (geteuid() != 0) {
		put_file("locked/x", 10, 1);
		p = xasprintf("%s/locked/x", tmpdir);
		ck_assert_int_eq(chmod(p, 0), 0);
		free(p);
		p = xasprintf("%s/locked", tmpdir);
		ck_assert_int_eq(torrent_create_scan(p, &t, err, sizeof err), TC_ERR_INPUT);
		ck_assert_msg(strstr(err, "cannot open") != NULL, "%s", err);
		free(p);
	}
}
END_TEST

static uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t *data;
	ck_assert_int_eq(dp_read_file(path, 64u << 20, &data, len), 0);
	return data;
}

/* Builds a multi-file torrent with odd sizes and checks every field and every piece hash. */
static void
check_built_torrent(int threads)
{
	char err[512];
	struct tc_tree t;
	const char *names[] = { "top/a/deep/one.bin", "top/a/two.bin", "top/b.bin", "top/empty",
		"top/z.bin" };
	const size_t sizes[] = { 40000, 16384, 1, 0, 99999 };
	for (size_t i = 0; i < DP_ARRAY_LEN(names); i++)
		put_file(names[i], sizes[i], (unsigned)i + 7);

	char *root = xasprintf("%s/top", tmpdir);
	ck_assert_msg(torrent_create_scan(root, &t, err, sizeof err) == TC_OK, "%s", err);
	struct tc_hashes hashes;
	const uint32_t plen = 16384;
	ck_assert_msg(torrent_create_hash(&t, plen, TC_FORMAT_V1, threads, NULL, NULL, &hashes, err,
	    sizeof err) == TC_OK, "%s", err);

	const char *trackers[] = { "http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969" };
	const char *seeds[] = { "http://127.0.0.1:8080/files/" };
	struct tc_options opt = {
		.trackers = trackers, .tracker_count = 2,
		.webseeds = seeds, .webseed_count = 1,
		.comment = "a comment", .is_private = true,
		.created_by = "downpour test", .creation_date = 1700000000,
	};
	struct dp_buf b;
	uint8_t ih[20], ihv2[32];
	dp_buf_init(&b);
	torrent_create_encode(&t, plen, TC_FORMAT_V1, &hashes, &opt, &b, ih, ihv2);

	/* Canonical: the strict decoder (sorted keys required) accepts it. */
	struct be_limits lim = be_default_limits;
	lim.require_sorted = true;
	struct be_error berr;
	struct be_node *root_node = be_decode(b.data, b.len, &lim, &berr);
	ck_assert_msg(root_node != NULL, "%s", berr.msg);
	ck_assert(be_str_eq(be_dict_get(root_node, "announce"), trackers[0]));
	struct be_node *al = be_dict_get_type(root_node, "announce-list", BE_LIST);
	ck_assert_ptr_nonnull(al);
	ck_assert_uint_eq(al->v.list.n, 2);
	ck_assert_uint_eq(al->v.list.items[1]->v.list.n, 1);
	ck_assert(be_str_eq(al->v.list.items[1]->v.list.items[0], trackers[1]));
	ck_assert(be_str_eq(be_dict_get(root_node, "comment"), "a comment"));
	ck_assert(be_str_eq(be_dict_get(root_node, "created by"), "downpour test"));
	ck_assert_int_eq(be_dict_get_type(root_node, "creation date", BE_INT)->v.i, 1700000000);
	struct be_node *ul = be_dict_get_type(root_node, "url-list", BE_LIST);
	ck_assert(ul != NULL && ul->v.list.n == 1 && be_str_eq(ul->v.list.items[0], seeds[0]));

	struct be_node *info = be_dict_get_type(root_node, "info", BE_DICT);
	ck_assert_ptr_nonnull(info);
	uint8_t ih2[20];
	SHA1(info->raw, info->raw_len, ih2);
	ck_assert_mem_eq(ih, ih2, 20);
	ck_assert(be_str_eq(be_dict_get(info, "name"), "top"));
	ck_assert_int_eq(be_dict_get_type(info, "piece length", BE_INT)->v.i, plen);
	ck_assert_int_eq(be_dict_get_type(info, "private", BE_INT)->v.i, 1);
	ck_assert_ptr_null(be_dict_get(info, "length"));
	struct be_node *files = be_dict_get_type(info, "files", BE_LIST);
	ck_assert_ptr_nonnull(files);
	ck_assert_uint_eq(files->v.list.n, DP_ARRAY_LEN(names));

	/* Concatenate the files in the listed order and hash pieces here, independently. */
	struct dp_buf all;
	dp_buf_init(&all);
	for (size_t i = 0; i < files->v.list.n; i++) {
		struct be_node *fe = files->v.list.items[i];
		struct be_node *path = be_dict_get_type(fe, "path", BE_LIST);
		ck_assert_ptr_nonnull(path);
		struct dp_buf joined;
		dp_buf_init(&joined);
		dp_buf_add_str(&joined, "top");
		for (size_t j = 0; j < path->v.list.n; j++) {
			dp_buf_add_str(&joined, "/");
			dp_buf_add(&joined, path->v.list.items[j]->v.str.s,
			    path->v.list.items[j]->v.str.len);
		}
		ck_assert_str_eq((char *)joined.data, names[i]);
		ck_assert_int_eq(be_dict_get_type(fe, "length", BE_INT)->v.i, (int64_t)sizes[i]);
		char *fp = xasprintf("%s/%s", tmpdir, names[i]);
		size_t flen;
		uint8_t *fd = slurp(fp, &flen);
		ck_assert_uint_eq(flen, sizes[i]);
		dp_buf_add(&all, fd, flen);
		free(fd);
		free(fp);
		dp_buf_free(&joined);
	}
	struct be_node *pieces = be_dict_get_type(info, "pieces", BE_STR);
	size_t npieces = (all.len + plen - 1) / plen;
	ck_assert_uint_eq(npieces, 10);
	ck_assert_uint_eq(pieces->v.str.len, npieces * 20);
	for (size_t i = 0; i < npieces; i++) {
		uint8_t h[20];
		size_t len = DP_MIN((size_t)plen, all.len - i * plen);
		SHA1(all.data + i * plen, len, h);
		ck_assert_msg(memcmp(h, pieces->v.str.s + i * 20, 20) == 0, "piece %zu", i);
	}

	/* Write it; refuse to overwrite without force; overwrite with it. */
	char *out = xasprintf("%s/out.torrent", tmpdir);
	ck_assert_msg(torrent_create_write(out, b.data, b.len, false, err, sizeof err) == TC_OK,
	    "%s", err);
	ck_assert_int_eq(torrent_create_write(out, b.data, 3, false, err, sizeof err),
	    TC_ERR_RUNTIME);
	ck_assert_msg(strstr(err, "already exists") != NULL, "%s", err);
	size_t olen;
	uint8_t *odata = slurp(out, &olen);
	ck_assert_uint_eq(olen, b.len);
	ck_assert_mem_eq(odata, b.data, b.len);
	free(odata);
	ck_assert_int_eq(torrent_create_write(out, b.data, 3, true, err, sizeof err), TC_OK);
	odata = slurp(out, &olen);
	ck_assert_uint_eq(olen, 3);
	free(odata);
	/* No temporary files left behind. */
	char *cmd = xasprintf("test $(ls '%s' | grep -c 'out.torrent.') -eq 0", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	/* A directory that does not exist is a runtime failure with the name in it. */
	char *bad = xasprintf("%s/no/such/dir/x.torrent", tmpdir);
	ck_assert_int_eq(torrent_create_write(bad, b.data, b.len, false, err, sizeof err),
	    TC_ERR_RUNTIME);
	ck_assert_msg(strstr(err, "no/such/dir") != NULL, "%s", err);
	free(bad);

	free(out);
	dp_buf_free(&all);
	be_free(root_node);
	dp_buf_free(&b);
	torrent_create_hashes_free(&hashes);
	torrent_create_tree_free(&t);
	free(root);
}

START_TEST(test_build_multi_one_thread)
{
	check_built_torrent(1);
}
END_TEST

START_TEST(test_build_multi_many_threads)
{
	check_built_torrent(5);
}
END_TEST

START_TEST(test_build_single)
{
	char err[512];
	struct tc_tree t;
	put_file("single.iso", 70000, 3);
	char *p = xasprintf("%s/single.iso", tmpdir);
	ck_assert_msg(torrent_create_scan(p, &t, err, sizeof err) == TC_OK, "%s", err);
	ck_assert(!t.multi_file);
	ck_assert_str_eq(t.name, "single.iso");
	struct tc_hashes hashes, h2;
	ck_assert_int_eq(torrent_create_hash(&t, 32768, TC_FORMAT_V1, 0, NULL, NULL, &hashes, err,
	    sizeof err),
	    TC_OK);
	struct tc_options opt = { .creation_date = -1 };
	struct dp_buf b;
	uint8_t ih[20], ihv2[32];
	dp_buf_init(&b);
	torrent_create_encode(&t, 32768, TC_FORMAT_V1, &hashes, &opt, &b, ih, ihv2);
	struct be_error berr;
	struct be_node *n = be_decode(b.data, b.len, NULL, &berr);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->v.dict.n, 1);   /* only "info": nothing optional was asked for */
	struct be_node *info = be_dict_get_type(n, "info", BE_DICT);
	ck_assert_int_eq(be_dict_get_type(info, "length", BE_INT)->v.i, 70000);
	ck_assert_ptr_null(be_dict_get(info, "files"));
	ck_assert_ptr_null(be_dict_get(info, "private"));
	size_t len;
	uint8_t *data = slurp(p, &len), h[20];
	SHA1(data + 65536, len - 65536, h);
	ck_assert_mem_eq(h, be_dict_get_type(info, "pieces", BE_STR)->v.str.s + 40, 20);

	/* The file shrinking between scan and hash is reported, not hashed as zeros. */
	ck_assert_int_eq(truncate(p, 1000), 0);
	ck_assert_int_eq(torrent_create_hash(&t, 32768, TC_FORMAT_V1, 2, NULL, NULL, &h2, err,
	    sizeof err),
	    TC_ERR_INPUT);
	ck_assert_msg(strstr(err, "shrank") != NULL, "%s", err);
	/* A piece size that is not a power of two is refused. */
	ck_assert_int_eq(torrent_create_hash(&t, 30000, TC_FORMAT_V1, 2, NULL, NULL, &h2, err,
	    sizeof err),
	    TC_ERR_INPUT);

	free(data);
	be_free(n);
	dp_buf_free(&b);
	torrent_create_hashes_free(&hashes);
	torrent_create_tree_free(&t);
	free(p);
}
END_TEST

Suite *
create_suite(void)
{
	Suite *s = suite_create("create");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, create_setup, create_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_piece_size);
	tcase_add_test(tc, test_scan_order);
	tcase_add_test(tc, test_scan_links_and_errors);
	tcase_add_test(tc, test_build_multi_one_thread);
	tcase_add_test(tc, test_build_multi_many_threads);
	tcase_add_test(tc, test_build_single);
	suite_add_tcase(s, tc);
	return s;
}
