/* check_metainfo_v2.c: BEP 52 torrents made by torrent_create read back by metainfo: hashes,
 * pad files, piece layers; and every v2 rule broken on purpose in an otherwise good torrent. */
#include "config.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <check.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "bencode.h"
#include "disk.h"
#include "merkle.h"
#include "metainfo.h"
#include "storage.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "torrent_create.h"

static char tmpdir[64];

static void
v2_setup(void)
{
	th_tmpdir_make(tmpdir, sizeof tmpdir, "metainfo-v2");
}

static void
v2_teardown(void)
{
	ck_assert_int_eq(th_rm_rf(tmpdir), 0);
}

static void
put_file(const char *rel, size_t len, unsigned seed)
{
	th_file_random(tmpdir, rel, len, seed);
}

/* The folder used by most tests: nested folders, an empty file, odd sizes, two files with the
 * same content (one shared piece layer), a file of exactly one piece. */
static void
put_tree(void)
{
	put_file("top/a/deep/one.bin", 100003, 1);
	put_file("top/a/two.bin", 32768, 2);
	put_file("top/b.bin", 1, 3);
	put_file("top/empty", 0, 4);
	put_file("top/z.bin", 70000, 5);
	put_file("top/z_copy.bin", 70000, 5);
}

struct built {
	struct dp_buf buf;
	uint8_t ih[20], ih2[32];
	struct tc_tree tree;
	struct tc_hashes h;
};

static void
build(const char *rel, enum tc_format fmt, uint32_t plen, struct built *b)
{
	char err[512];
	char *root = xasprintf("%s/%s", tmpdir, rel);
	ck_assert_msg(torrent_create_scan(root, &b->tree, err, sizeof err) == TC_OK, "%s", err);
	if (fmt != TC_FORMAT_V1)
		torrent_create_align(&b->tree, plen);
	ck_assert_msg(torrent_create_hash(&b->tree, plen, fmt, 2, NULL, NULL, &b->h, err,
	    sizeof err) == TC_OK, "%s", err);
	struct tc_options opt = { .creation_date = -1 };
	dp_buf_init(&b->buf);
	torrent_create_encode(&b->tree, plen, fmt, &b->h, &opt, &b->buf, b->ih, b->ih2);
	free(root);
}

static void
built_free(struct built *b)
{
	dp_buf_free(&b->buf);
	torrent_create_hashes_free(&b->h);
	torrent_create_tree_free(&b->tree);
}

static struct metainfo *
parse_any(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	return metainfo_parse(data, len, err, errlen);
}

/* The v2 view every caller relies on: files aligned, hashes of each piece known and right. */
static void
check_v2_view(const struct metainfo *mi, const struct built *b)
{
	ck_assert(mi->has_v2);
	ck_assert_mem_eq(mi->info_hash_v2, b->ih2, 32);
	ck_assert_ptr_nonnull(mi->piece_hashes_v2);
	uint64_t sum = 0;
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		ck_assert_uint_eq(f->offset, sum);
		sum += f->length;
		if (f->pad || f->length == 0)
			continue;
		ck_assert_uint_eq(f->offset % mi->piece_length, 0);
		ck_assert(f->layer_known);
	}
	ck_assert_uint_eq(mi->piece_count, (mi->total_size + mi->piece_length - 1) /
	    mi->piece_length);
	for (uint32_t p = 0; p < mi->piece_count; p++) {
		const uint8_t *want = metainfo_piece_hash_v2(mi, p);
		ck_assert_ptr_nonnull(want);
		ck_assert_mem_eq(want, b->h.v2 + (size_t)p * 32, 32);
	}
}

START_TEST(test_v2_only_multi)
{
	char err[256];
	put_tree();
	struct built b;
	build("top", TC_FORMAT_V2, 32768, &b);
	struct metainfo *mi = parse_any(b.buf.data, b.buf.len, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert(!mi->has_v1 && !mi->hybrid && mi->multi_file);
	ck_assert_ptr_null(mi->piece_hashes);
	/* the swarm id is the v2 hash cut to 20 bytes */
	ck_assert_mem_eq(mi->info_hash, b.ih2, 20);
	uint8_t sha[32];
	SHA256(mi->info_raw, mi->info_len, sha);
	ck_assert_mem_eq(sha, b.ih2, 32);
	check_v2_view(mi, &b);
	/* files in tree order, a pad file after each unaligned one, the last too (as libtorrent) */
	const char *want[] = { "a/deep/one.bin", NULL, "a/two.bin", "b.bin", "empty", NULL,
		"z.bin", NULL, "z_copy.bin", NULL };
	const uint64_t lens[] = { 100003, 131072 - 100003, 32768, 1, 0, 32767, 70000,
		98304 - 70000, 70000, 98304 - 70000 };
	ck_assert_uint_eq(mi->file_count, DP_ARRAY_LEN(want));
	for (size_t i = 0; i < mi->file_count; i++) {
		ck_assert_uint_eq(mi->files[i].length, lens[i]);
		ck_assert(mi->files[i].pad == (want[i] == NULL));
		if (want[i] != NULL)
			ck_assert_str_eq(mi->files[i].path, want[i]);
	}
	ck_assert_uint_eq(mi->total_size, 131072 + 32768 + 32768 + 98304 + 98304);
	/* the roots are the files' own */
	ck_assert_mem_eq(mi->files[0].pieces_root, b.h.roots + 0 * 32, 32);
	ck_assert_mem_eq(mi->files[8].pieces_root, mi->files[6].pieces_root, 32);
	/* metainfo_file_at: pads count, empty files never */
	ck_assert_uint_eq(metainfo_file_at(mi, 0), 0);
	ck_assert_uint_eq(metainfo_file_at(mi, 100003), 1);
	ck_assert_uint_eq(metainfo_file_at(mi, 131072 + 32768), 3);
	ck_assert_uint_eq(metainfo_file_at(mi, 131072 + 32768 + 1), 5);
	ck_assert_uint_eq(metainfo_file_at(mi, mi->total_size), mi->file_count);
	metainfo_free(mi);

	/* A bare info dictionary (ut_metadata) has no piece layers: long files are unknown. */
	mi = parse_any(b.buf.data, b.buf.len, err, sizeof err);
	struct metainfo *bare = metainfo_parse_info(mi->info_raw, mi->info_len, err, sizeof err);
	ck_assert_msg(bare != NULL, "%s", err);
	ck_assert(!bare->files[0].layer_known);          /* 100003 bytes: 4 pieces */
	ck_assert(bare->files[2].layer_known);           /* exactly one piece */
	ck_assert_ptr_null(metainfo_piece_hash_v2(bare, 0));
	ck_assert_ptr_nonnull(metainfo_piece_hash_v2(bare, 4));
	ck_assert_mem_eq(metainfo_piece_hash_v2(bare, 4), b.h.v2 + 4 * 32, 32);
	metainfo_free(bare);
	metainfo_free(mi);
	built_free(&b);
}
END_TEST

/* The session's copy of a torrent (metainfo_encode) keeps the piece layers: a v2-only copy
 * without them is refused by the engine at the next start. Byte-identical to the original
 * here, since torrent_create writes the same canonical keys. */
START_TEST(test_encode_keeps_layers)
{
	char err[256];
	put_tree();
	enum tc_format fmts[] = { TC_FORMAT_V2, TC_FORMAT_HYBRID };
	for (size_t k = 0; k < DP_ARRAY_LEN(fmts); k++) {
		struct built b;
		build("top", fmts[k], 32768, &b);
		struct metainfo *mi = parse_any(b.buf.data, b.buf.len, err, sizeof err);
		ck_assert_msg(mi != NULL, "%s", err);
		size_t len;
		uint8_t *copy = metainfo_encode(mi, &len);
		ck_assert_ptr_nonnull(copy);
		ck_assert(memmem(copy, len, "12:piece layers", 15) != NULL);
		ck_assert_uint_eq(len, b.buf.len);
		ck_assert_mem_eq(copy, b.buf.data, len);
		struct metainfo *again = parse_any(copy, len, err, sizeof err);
		ck_assert_msg(again != NULL, "%s", err);
		ck_assert(metainfo_v2_layers_known(again));
		ck_assert_mem_eq(again->info_hash, mi->info_hash, 20);
		check_v2_view(again, &b);
		metainfo_free(again);
		free(copy);

		/* From ut_metadata (no layers known): no 'piece layers' is written. */
		struct metainfo *bare = metainfo_parse_info(mi->info_raw, mi->info_len, err,
		    sizeof err);
		ck_assert_msg(bare != NULL, "%s", err);
		copy = metainfo_encode(bare, &len);
		ck_assert(memmem(copy, len, "piece layers", 12) == NULL);
		again = parse_any(copy, len, err, sizeof err);
		ck_assert_msg(again != NULL, "%s", err);
		ck_assert(!metainfo_v2_layers_known(again));
		metainfo_free(again);
		free(copy);
		metainfo_free(bare);
		metainfo_free(mi);
		built_free(&b);
	}
}
END_TEST

START_TEST(test_hybrid_multi)
{
	char err[256];
	put_tree();
	struct built b;
	build("top", TC_FORMAT_HYBRID, 16384, &b);
	struct metainfo *mi = metainfo_parse(b.buf.data, b.buf.len, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert(mi->has_v1 && mi->has_v2 && mi->hybrid);
	ck_assert_mem_eq(mi->info_hash, b.ih, 20);
	uint8_t sha1[20];
	SHA1(mi->info_raw, mi->info_len, sha1);
	ck_assert_mem_eq(sha1, b.ih, 20);
	check_v2_view(mi, &b);
	ck_assert_mem_eq(mi->piece_hashes, b.h.v1, (size_t)mi->piece_count * 20);
	/* the v1 list is the one loaded: pad files as in the torrent, tail pad included */
	ck_assert_uint_eq(mi->file_count, b.tree.count);
	ck_assert(mi->files[mi->file_count - 1].pad);
	ck_assert_uint_eq(mi->total_size % 16384, 0);
	metainfo_free(mi);
	built_free(&b);
}
END_TEST

START_TEST(test_single_file)
{
	char err[256];
	put_file("one.iso", 50000, 9);
	for (int fmt = TC_FORMAT_V2; fmt <= TC_FORMAT_HYBRID; fmt++) {
		struct built b;
		build("one.iso", (enum tc_format)fmt, 16384, &b);
		struct metainfo *mi = parse_any(b.buf.data, b.buf.len, err, sizeof err);
		ck_assert_msg(mi != NULL, "%s", err);
		ck_assert(!mi->multi_file);
		/* a hybrid's single file is not padded (v1 has no room for it); v2-only is */
		ck_assert_uint_eq(mi->file_count, fmt == TC_FORMAT_V2 ? 2 : 1);
		ck_assert_str_eq(mi->name, "one.iso");
		ck_assert_str_eq(mi->files[0].path, "one.iso");
		ck_assert_uint_eq(mi->total_size, fmt == TC_FORMAT_V2 ? 65536 : 50000);
		ck_assert_uint_eq(mi->piece_count, 4);
		check_v2_view(mi, &b);
		metainfo_free(mi);
		built_free(&b);
	}
}
END_TEST

/* Decodes a good torrent, lets edit change one thing, re-encodes it and expects refusal. */
typedef void (*edit_fn)(struct be_node *root);

static void
assert_edit_refused(const struct built *b, edit_fn edit, const char *msg_part)
{
	struct be_error berr;
	struct be_node *root = be_decode(b->buf.data, b->buf.len, NULL, &berr);
	ck_assert_ptr_nonnull(root);
	edit(root);
	struct dp_buf out;
	dp_buf_init(&out);
	be_enc_node(&out, root);
	char err[256] = "";
	struct metainfo *mi = parse_any(out.data, out.len, err, sizeof err);
	ck_assert_msg(mi == NULL, "accepted; expected '%s'", msg_part);
	ck_assert_msg(strstr(err, msg_part) != NULL, "error '%s' lacks '%s'", err, msg_part);
	dp_buf_free(&out);
	be_free(root);
}

static struct be_node *
info_of(struct be_node *root)
{
	return be_dict_get(root, "info");
}

static struct be_node *
tree_file(struct be_node *root, const char *name)
{
	struct be_node *leaf = be_dict_get(be_dict_get(info_of(root), "file tree"), name);
	return be_dict_get(leaf, "");
}

static void
edit_v1_length(struct be_node *root)
{
	/* b.bin: 1 byte, then a pad of 16383; shift one byte from pad to file: same pieces */
	struct be_node *files = be_dict_get(info_of(root), "files");
	for (size_t i = 0; i < files->v.list.n; i++) {
		struct be_node *len = be_dict_get(files->v.list.items[i], "length");
		struct be_node *path = be_dict_get(files->v.list.items[i], "path");
		if (be_str_eq(path->v.list.items[0], "b.bin")) {
			len->v.i++;
			be_dict_get(files->v.list.items[i + 1], "length")->v.i--;
			return;
		}
	}
	ck_abort_msg("b.bin not found");
}

static void
edit_v1_path(struct be_node *root)
{
	struct be_node *files = be_dict_get(info_of(root), "files");
	struct be_node *path = be_dict_get(files->v.list.items[0], "path");
	path->v.list.items[0]->v.str.s = "A";
}

static void
edit_v1_shift_pad(struct be_node *root)
{
	/* one byte moves from the first pad file to the second: a/two.bin starts a byte early */
	struct be_node *files = be_dict_get(info_of(root), "files");
	int seen = 0;
	for (size_t i = 0; i < files->v.list.n && seen < 2; i++) {
		if (be_dict_get(files->v.list.items[i], "attr") != NULL)
			be_dict_get(files->v.list.items[i], "length")->v.i += seen++ == 0 ? -1 : 1;
	}
	ck_assert_int_eq(seen, 2);
}

static void
edit_layer_byte(struct be_node *root)
{
	static char copy[4096];
	struct be_node *layers = be_dict_get(root, "piece layers");
	ck_assert_uint_gt(layers->v.dict.n, 0);
	struct be_node *v = layers->v.dict.entries[0].value;
	ck_assert_uint_le(v->v.str.len, sizeof copy);
	memcpy(copy, v->v.str.s, v->v.str.len);
	copy[5] ^= 1;
	v->v.str.s = copy;
}

static void
edit_layer_short(struct be_node *root)
{
	struct be_node *layers = be_dict_get(root, "piece layers");
	layers->v.dict.entries[0].value->v.str.len -= 32;
}

/* Replaces the value of key in dict by an empty list. */
static void
replace_with_list(struct be_node *dict, const char *key)
{
	for (size_t i = 0; i < dict->v.dict.n; i++) {
		struct be_entry *e = &dict->v.dict.entries[i];
		if (e->key_len == strlen(key) && memcmp(e->key, key, e->key_len) == 0) {
			be_free(e->value);
			e->value = xcalloc(1, sizeof *e->value);
			e->value->type = BE_LIST;
			return;
		}
	}
	ck_abort_msg("no key %s", key);
}

static void
edit_layers_type(struct be_node *root)
{
	replace_with_list(root, "piece layers");
}

static void
edit_root_short(struct be_node *root)
{
	be_dict_get(tree_file(root, "b.bin"), "pieces root")->v.str.len = 31;
}

static void
edit_root_missing(struct be_node *root)
{
	struct be_node *d = tree_file(root, "b.bin");
	/* rename the key: the dictionary then has no 'pieces root' */
	for (size_t i = 0; i < d->v.dict.n; i++)
		if (d->v.dict.entries[i].key_len == 11)
			d->v.dict.entries[i].key = "pieces rooz";
}

static void
edit_pad_in_tree(struct be_node *root)
{
	/* b.bin's entry gains attr "p" */
	struct be_node *d = tree_file(root, "b.bin");
	struct be_node *attr = xcalloc(1, sizeof *attr);
	attr->type = BE_STR;
	attr->v.str.s = "p";
	attr->v.str.len = 1;
	d->v.dict.entries = xreallocarray(d->v.dict.entries, d->v.dict.n + 1,
	    sizeof *d->v.dict.entries);
	d->v.dict.entries[d->v.dict.n].key = "attr";
	d->v.dict.entries[d->v.dict.n].key_len = 4;
	d->v.dict.entries[d->v.dict.n].value = attr;
	d->v.dict.n++;
}

static void
edit_small_pieces(struct be_node *root)
{
	be_dict_get(info_of(root), "piece length")->v.i = 8192;
}

static void
edit_tree_type(struct be_node *root)
{
	replace_with_list(info_of(root), "file tree");
}

static void
edit_negative_length(struct be_node *root)
{
	be_dict_get(tree_file(root, "b.bin"), "length")->v.i = -1;
}

START_TEST(test_refused)
{
	put_tree();
	struct built b;
	build("top", TC_FORMAT_HYBRID, 16384, &b);
	assert_edit_refused(&b, edit_v1_length, "v1 and v2 disagree on file");
	assert_edit_refused(&b, edit_v1_path, "v1 and v2 disagree on file 0");
	assert_edit_refused(&b, edit_v1_shift_pad, "v1 and v2 disagree on file 1");
	assert_edit_refused(&b, edit_layer_byte, "does not hash to its pieces root");
	assert_edit_refused(&b, edit_layer_short, " hashes");
	assert_edit_refused(&b, edit_layers_type, "'piece layers' is not a dictionary");
	assert_edit_refused(&b, edit_root_short, "not 32 bytes");
	assert_edit_refused(&b, edit_root_missing, "no 'pieces root'");
	assert_edit_refused(&b, edit_pad_in_tree, "pad file");
	assert_edit_refused(&b, edit_small_pieces, "power of two of at least 16 KiB");
	assert_edit_refused(&b, edit_tree_type, "'file tree' is not a dictionary");
	assert_edit_refused(&b, edit_negative_length, "negative");
	built_free(&b);
}
END_TEST

/* Hand-written trees: the shapes the walk must refuse or accept. */
START_TEST(test_tree_shapes)
{
	static const char root32[] = "11:pieces root32:0123456789abcdef0123456789abcdef";
	char err[256];
	struct {
		const char *tree;
		const char *msg;      /* NULL: accepted */
	} cases[] = {
		{ "de", "the file tree lists no files" },
		{ "d1:ad0:d6:lengthi0eeee", "total size is zero" },
		{ "d1:ad0:d6:lengthi5e%seee", NULL },
		{ "d1:ad0:d6:lengthi5e%se1:bd0:d6:lengthi5e%seeee", "a directory has a file entry" },
		{ "d1:ai1ee", "an entry is not a dictionary" },
		{ "d1:ad0:i5eee", "a file's entry is not a dictionary" },
		{ "d1:ad0:d6:lengthi5e%see1:bdee", NULL },           /* empty folder: nothing */
		{ "d0:d0:d6:lengthi5e%seee", "a directory has a file entry" },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(cases); i++) {
		char *tree = xasprintf(cases[i].tree, root32, root32);
		char *t = xasprintf("d4:infod9:file tree%s12:meta versioni2e4:name1:x"
		    "12:piece lengthi16384eee", tree);
		struct metainfo *mi = parse_any((const uint8_t *)t, strlen(t), err, sizeof err);
		if (cases[i].msg == NULL)
			ck_assert_msg(mi != NULL, "case %zu: %s", i, err);
		else {
			ck_assert_msg(mi == NULL, "case %zu accepted", i);
			ck_assert_msg(strstr(err, cases[i].msg) != NULL, "case %zu: '%s'", i, err);
		}
		metainfo_free(mi);
		free(t);
		free(tree);
	}
	/* nested deeper than the walk allows */
	struct dp_buf deep;
	dp_buf_init(&deep);
	dp_buf_add_str(&deep, "d4:infod9:file tree");
	for (int i = 0; i < 70; i++)
		dp_buf_add_str(&deep, "d1:a");
	dp_buf_add_str(&deep, "d0:d6:lengthi5e");
	dp_buf_add_str(&deep, root32);
	dp_buf_add_str(&deep, "ee");
	for (int i = 0; i < 70; i++)
		dp_buf_add_str(&deep, "e");
	dp_buf_add_str(&deep, "e12:meta versioni2e4:name1:x12:piece lengthi16384eee");
	ck_assert_ptr_null(parse_any(deep.data, deep.len, err, sizeof err));
	dp_buf_free(&deep);
}
END_TEST

struct v2_jobs {
	struct event_base *base;
	int done, ok;
};

static void
v2_job_done(struct disk_job *job, void *arg)
{
	struct v2_jobs *r = arg;
	r->done++;
	r->ok += job->hash_ok && job->error == 0;
	event_base_loopbreak(r->base);
}

/* Runs one job of op on piece through a pool (with ph and hash_to: a piece hashed as it
 * arrives) and returns whether its hashes matched. */
static bool
v2_run_job_ph(struct event_base *base, struct disk_pool *pool, struct storage *st,
    const struct metainfo *mi, enum disk_op op, uint32_t piece, uint8_t *buf,
    struct disk_piece_hash *ph, uint32_t hash_to)
{
	struct disk_job job = { .ph = ph, .hash_to = hash_to };
	struct v2_jobs r = { .base = base };
	job.op = op;
	job.storage = st;
	job.torrent_id = 1;
	job.piece = piece;
	job.offset = (uint64_t)piece * mi->piece_length;
	job.length = metainfo_piece_size(mi, piece);
	job.buf = buf;
	disk_job_expect(&job, mi, piece);
	job.done = v2_job_done;
	job.arg = &r;
	disk_pool_submit(pool, &job);
	/* Waits in the loop rather than spinning: under valgrind a spinning loop thread kept the
	 * worker from running for over 100 s. */
	RUN_UNTIL(base, r.done != 0, 60);
	ck_assert_int_eq(r.done, 1);
	return r.ok == 1;
}

static bool
v2_run_job(struct event_base *base, struct disk_pool *pool, struct storage *st,
    const struct metainfo *mi, enum disk_op op, uint32_t piece, uint8_t *buf)
{
	return v2_run_job_ph(base, pool, st, mi, op, piece, buf, NULL, 0);
}

/* A fresh hash for piece of mi (what torrent.c makes for a piece being downloaded). */
static struct disk_piece_hash *
v2_piece_hash(const struct metainfo *mi, uint32_t piece)
{
	struct disk_job job = { .length = metainfo_piece_size(mi, piece) };
	disk_job_expect(&job, mi, piece);
	struct disk_piece_hash *ph = disk_piece_hash_new(&job);
	ck_assert_ptr_nonnull(ph);
	return ph;
}

/* v2 and hybrid pieces hashed as they arrive (the first leaf early, the rest by the write): every
 * piece passes and is written, the short last ones of files too; a wrong byte in the leaf hashed
 * early or in the rest fails the piece before it is written. */
START_TEST(test_disk_hash_as_it_arrives_v2)
{
	char err[256];
	put_tree();
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	struct event_base *base = event_base_new();
	struct disk_pool *pool = disk_pool_new(base, 2);
	for (int fmt = TC_FORMAT_V2; fmt <= TC_FORMAT_HYBRID; fmt++) {
		struct built b;
		build("top", (enum tc_format)fmt, 65536, &b);
		struct metainfo *mi = parse_any(b.buf.data, b.buf.len, err, sizeof err);
		ck_assert_msg(mi != NULL, "%s", err);
		struct storage *st = storage_new(mi, tmpdir, 8);
		ck_assert_ptr_nonnull(st);
		int early = 0;
		for (uint32_t p = 0; p < mi->piece_count; p++) {
			uint32_t len = metainfo_piece_size(mi, p);
			uint8_t *buf = xmalloc(len);
			ck_assert_int_eq(storage_read(st, (uint64_t)p * mi->piece_length, buf, len, err,
			    sizeof err), 0);
			struct disk_piece_hash *ph = v2_piece_hash(mi, p);
			if (len > 16384) {
				early++;
				v2_run_job_ph(base, pool, st, mi, DISK_OP_HASH_PART, p, buf, ph, 16384);
				ck_assert_uint_eq(disk_piece_hash_done(ph), 16384);
			}
			ck_assert_msg(v2_run_job_ph(base, pool, st, mi, DISK_OP_WRITE_PIECE, p, buf, ph,
			    0), "format %d piece %u", fmt, p);
			ck_assert_uint_eq(disk_piece_hash_done(ph), len);
			disk_piece_hash_free(ph);
			/* the last byte the v2 root covers (past it: the padding of a file's last
			 * piece, which only a hybrid's SHA-1 covers) */
			struct disk_job ex = { .length = len };
			disk_job_expect(&ex, mi, p);
			ck_assert(ex.check_v2);
			uint32_t last = ex.v2_len - 1;
			for (uint32_t at = 0; last >= 16384 && at <= last; at += last) {
				buf[at] ^= 1;
				ph = v2_piece_hash(mi, p);
				v2_run_job_ph(base, pool, st, mi, DISK_OP_HASH_PART, p, buf, ph, 16384);
				ck_assert_msg(!v2_run_job_ph(base, pool, st, mi, DISK_OP_WRITE_PIECE, p,
				    buf, ph, 0), "format %d piece %u: byte %u changed", fmt, p, at);
				disk_piece_hash_free(ph);
				buf[at] ^= 1;
				/* not written: the piece on disk still checks */
				ck_assert(v2_run_job(base, pool, st, mi, DISK_OP_HASH_PIECE, p, NULL));
			}
			free(buf);
		}
		ck_assert_int_gt(early, 2);
		storage_free(st);
		metainfo_free(mi);
		built_free(&b);
	}
	disk_pool_free(pool);
	event_base_free(base);
	task_registry_clear();
}
END_TEST

/* The disk pool checks v2 pieces by their merkle roots (hybrids by both hashes): every piece of
 * the data verifies, a changed byte fails its piece, a wrong buffer is not written. */
START_TEST(test_disk_checks_v2)
{
	char err[256];
	put_tree();
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	struct event_base *base = event_base_new();
	struct disk_pool *pool = disk_pool_new(base, 2);
	for (int fmt = TC_FORMAT_V2; fmt <= TC_FORMAT_HYBRID; fmt++) {
		struct built b;
		build("top", (enum tc_format)fmt, 16384, &b);
		struct metainfo *mi = parse_any(b.buf.data, b.buf.len, err, sizeof err);
		ck_assert_msg(mi != NULL, "%s", err);
		struct storage *st = storage_new(mi, tmpdir, 8);
		ck_assert_ptr_nonnull(st);
		for (uint32_t p = 0; p < mi->piece_count; p++)
			ck_assert_msg(v2_run_job(base, pool, st, mi, DISK_OP_HASH_PIECE, p, NULL),
			    "format %d piece %u", fmt, p);
		/* z.bin starts a piece (files are aligned): change its first byte */
		size_t zi = 0;
		while (strcmp(mi->files[zi].path, "z.bin") != 0)
			zi++;
		uint32_t zp = (uint32_t)(mi->files[zi].offset / mi->piece_length);
		char *zpath = xasprintf("%s/top/z.bin", tmpdir);
		FILE *f = fopen(zpath, "r+b");
		ck_assert_ptr_nonnull(f);
		int c = fgetc(f);
		ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
		fputc(c ^ 1, f);
		ck_assert_int_eq(fclose(f), 0);
		ck_assert(!v2_run_job(base, pool, st, mi, DISK_OP_HASH_PIECE, zp, NULL));
		ck_assert(v2_run_job(base, pool, st, mi, DISK_OP_HASH_PIECE, zp + 1, NULL));
		/* and back */
		f = fopen(zpath, "r+b");
		fputc(c, f);
		ck_assert_int_eq(fclose(f), 0);
		ck_assert(v2_run_job(base, pool, st, mi, DISK_OP_HASH_PIECE, zp, NULL));
		free(zpath);
		/* a received piece of the wrong data is refused before it is written */
		uint8_t *junk = xcalloc(1, mi->piece_length);
		ck_assert(!v2_run_job(base, pool, st, mi, DISK_OP_WRITE_PIECE, zp, junk));
		free(junk);
		ck_assert(v2_run_job(base, pool, st, mi, DISK_OP_HASH_PIECE, zp, NULL));
		storage_free(st);
		metainfo_free(mi);
		built_free(&b);
	}
	disk_pool_free(pool);
	event_base_free(base);
	task_registry_clear();
}
END_TEST

Suite *
metainfo_v2_suite(void)
{
	Suite *s = suite_create("metainfo_v2");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, v2_setup, v2_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_v2_only_multi);
	tcase_add_test(tc, test_hybrid_multi);
	tcase_add_test(tc, test_encode_keeps_layers);
	tcase_add_test(tc, test_single_file);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_tree_shapes);
	tcase_add_test(tc, test_disk_checks_v2);
	tcase_add_test(tc, test_disk_hash_as_it_arrives_v2);
	suite_add_tcase(s, tc);
	return s;
}
