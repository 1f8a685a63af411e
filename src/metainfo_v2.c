/* metainfo_v2.c: BEP 52 in .torrent files: the nested file tree walked with a bounded depth, files
 * aligned to pieces by pad files (BEP 47), piece layers checked against each file's merkle root,
 * the v2 info-hash, and a hybrid's v1 and v2 file lists held to the same files. */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bencode.h"
#include "merkle.h"
#include "metainfo.h"
#include "metainfo_private.h"
#include "util.h"

/* The info dictionary already sits two levels deep; bencode's own bound is 64. */
#define MI2_MAX_DEPTH 62
/* 32 bytes of v2 hashes per piece are kept in memory: at most 128 MiB of them. */
#define MI2_MAX_PIECES (1u << 22)

/* One file of the tree: its path components point into the torrent. */
struct mi2_file {
	struct mi_str *parts;
	size_t nparts;
	uint64_t length;
	const uint8_t *root;       /* 32 bytes in the torrent; NULL for an empty file */
};

struct mi2_walk {
	struct mi2_file *files;
	size_t count, cap;
	struct mi_str stack[MI2_MAX_DEPTH];
	char *err;
	size_t errlen;
};

static void
mi2_walk_free(struct mi2_walk *w)
{
	for (size_t i = 0; i < w->count; i++)
		free(w->files[i].parts);
	free(w->files);
	w->files = NULL;
	w->count = w->cap = 0;
}

static bool
mi2_attr_has(const struct be_node *file, char flag)
{
	const struct be_node *attr = be_dict_get_type(file, "attr", BE_STR);
	return attr != NULL && memchr(attr->v.str.s, flag, attr->v.str.len) != NULL;
}

/* A leaf: the dictionary under the empty key, describing one file at stack[0..depth). */
static bool
mi2_add_file(struct mi2_walk *w, const struct be_node *desc, unsigned depth)
{
	if (desc->type != BE_DICT) {
		dp_fail(w->err, w->errlen, "file tree: a file's entry is not a dictionary");
		return false;
	}
	const struct be_node *len = be_dict_get(desc, "length");
	if (len == NULL || len->type != BE_INT || len->v.i < 0) {
		dp_fail(w->err, w->errlen, "file tree: a file's 'length' is %s",
		    len == NULL ? "missing" : len->type != BE_INT ? "not an integer" : "negative");
		return false;
	}
	if (mi2_attr_has(desc, 'p')) {
		dp_fail(w->err, w->errlen, "file tree: a pad file is listed (BEP 52 has none)");
		return false;
	}
	const uint8_t *root = NULL;
	if (len->v.i > 0) {
		const struct be_node *r = be_dict_get(desc, "pieces root");
		static const uint8_t zero[MERKLE_HASH];
		if (r == NULL || r->type != BE_STR || r->v.str.len != MERKLE_HASH ||
		    memcmp(r->v.str.s, zero, MERKLE_HASH) == 0) {
			dp_fail(w->err, w->errlen, "file tree: a file of %" PRId64 " bytes has %s",
			    len->v.i, r == NULL ? "no 'pieces root'" :
			    "a 'pieces root' that is not 32 bytes of hash");
			return false;
		}
		root = (const uint8_t *)r->v.str.s;
	}
	if (w->count == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->files = xreallocarray(w->files, w->cap, sizeof *w->files);
	}
	struct mi2_file *f = &w->files[w->count++];
	f->nparts = depth;
	f->parts = xmemdup(w->stack, depth * sizeof *w->stack);
	f->length = (uint64_t)len->v.i;
	f->root = root;
	return true;
}

/* A node whose only key is the empty string describes a file; any other is a directory. */
static bool
mi2_is_leaf(const struct be_node *n)
{
	return n->type == BE_DICT && n->v.dict.n == 1 && n->v.dict.entries[0].key_len == 0;
}

static bool
mi2_walk_dir(struct mi2_walk *w, const struct be_node *dir, unsigned depth)
{
	if (depth >= MI2_MAX_DEPTH) {
		dp_fail(w->err, w->errlen, "file tree: nested deeper than %d", MI2_MAX_DEPTH);
		return false;
	}
	/* The order of the keys is the order of the files in the torrent: it must be the one
	 * order every client reads (libtorrent refuses such trees too). */
	if (dir->v.dict.unsorted) {
		dp_fail(w->err, w->errlen, "file tree: a folder's names are not in sorted order");
		return false;
	}
	for (size_t i = 0; i < dir->v.dict.n; i++) {
		const struct be_entry *e = &dir->v.dict.entries[i];
		if (e->key_len == 0) {
			dp_fail(w->err, w->errlen, "file tree: a directory has a file entry too");
			return false;
		}
		if (e->value->type != BE_DICT) {
			dp_fail(w->err, w->errlen, "file tree: an entry is not a dictionary");
			return false;
		}
		w->stack[depth].s = e->key;
		w->stack[depth].len = e->key_len;
		bool ok = mi2_is_leaf(e->value) ?
		    mi2_add_file(w, e->value->v.dict.entries[0].value, depth + 1) :
		    mi2_walk_dir(w, e->value, depth + 1);
		if (!ok)
			return false;
	}
	return true;
}

/* Joins raw components with '/' for display. */
static char *
mi2_join_display(const struct mi_str *parts, size_t n)
{
	struct dp_buf b;
	dp_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			dp_buf_add(&b, "/", 1);
		dp_buf_add(&b, parts[i].s, parts[i].len);
	}
	size_t len;
	return (char *)dp_buf_steal(&b, &len);
}

static uint64_t
mi2_align(uint64_t off, uint32_t piece_length)
{
	return (off + piece_length - 1) / piece_length * piece_length;
}

/* Where each file of the tree starts when every non-empty file starts on a piece boundary;
 * end: where the last non-empty file ends. False when that overflows or needs too many
 * pieces. */
static bool
mi2_offsets(const struct mi2_walk *w, uint32_t piece_length, uint64_t *offsets, uint64_t *end)
{
	uint64_t next = 0, last_end = 0;
	for (size_t i = 0; i < w->count; i++) {
		const struct mi2_file *f = &w->files[i];
		if (next > (uint64_t)INT64_MAX - piece_length ||
		    f->length > (uint64_t)INT64_MAX - piece_length - next)
			return false;
		offsets[i] = f->length > 0 ? next : last_end;
		if (f->length > 0) {
			last_end = next + f->length;
			next = mi2_align(last_end, piece_length);
		}
	}
	*end = last_end;
	return (last_end + piece_length - 1) / piece_length <= MI2_MAX_PIECES;
}

static void
mi2_set_file(struct mi_file *mf, const struct mi2_file *f, const char *path, uint64_t offset)
{
	mf->path = xstrdup(path);
	mf->display_path = mi2_join_display(f->parts, f->nparts);
	mf->length = f->length;
	mf->offset = offset;
	if (f->root != NULL)
		memcpy(mf->pieces_root, f->root, MERKLE_HASH);
}

/* A v2-only torrent's file list: the tree's files with pad files between them and after the
 * last, so that every file starts and ends on a piece boundary. */
static void
mi2_build_files(struct metainfo *mi, const struct mi2_walk *w, const uint64_t *offsets,
    uint64_t end, bool single)
{
	mi->files = xcalloc(2 * w->count + 1, sizeof *mi->files);
	uint64_t at = 0;
	for (size_t i = 0; i < w->count; i++) {
		const struct mi2_file *f = &w->files[i];
		if (offsets[i] > at) {
			struct mi_file *pad = &mi->files[mi->file_count++];
			uint64_t n = offsets[i] - at;
			pad->path = xasprintf(".pad/%" PRIu64, n);
			pad->display_path = xstrdup(pad->path);
			pad->length = n;
			pad->offset = at;
			pad->pad = true;
		}
		char *path = single ? xstrdup(mi->name) : metainfo_sanitize_path(f->parts, f->nparts);
		mi2_set_file(&mi->files[mi->file_count++], f, path, offsets[i]);
		free(path);
		at = offsets[i] + f->length;
	}
	/* The last file is padded too, as libtorrent does: its last piece is a whole piece on the
	 * wire (peers ask for blocks of it by that size). */
	uint64_t aligned = mi2_align(end, mi->piece_length);
	if (aligned > at) {
		struct mi_file *pad = &mi->files[mi->file_count++];
		pad->path = xasprintf(".pad/%" PRIu64, aligned - at);
		pad->display_path = xstrdup(pad->path);
		pad->length = aligned - at;
		pad->offset = at;
		pad->pad = true;
	}
	mi->total_size = aligned;
}

/* A hybrid: the v1 files (pad files aside) must be the tree's files, in order, with the same
 * sanitised paths and sizes, non-empty ones at the same offsets. */
static bool
mi2_match_v1(struct metainfo *mi, const struct mi2_walk *w, const uint64_t *offsets,
    uint64_t end, bool single, char *err, size_t errlen)
{
	size_t j = 0;
	for (size_t i = 0; i < mi->file_count; i++) {
		struct mi_file *mf = &mi->files[i];
		if (mf->pad)
			continue;
		if (j == w->count) {
			dp_fail(err, errlen, "hybrid torrent: v1 file '%s' is not in the v2 file tree",
			    mf->path);
			return false;
		}
		const struct mi2_file *f = &w->files[j];
		char *path = single ? metainfo_sanitize_component(f->parts[0].s, f->parts[0].len) :
		    metainfo_sanitize_path(f->parts, f->nparts);
		bool same = strcmp(path, mf->path) == 0 && f->length == mf->length &&
		    (f->length == 0 || offsets[j] == mf->offset);
		if (!same) {
			dp_fail(err, errlen, "hybrid torrent: v1 and v2 disagree on file %zu ('%s', %"
			    PRIu64 " bytes at %" PRIu64 " in v1; '%s', %" PRIu64 " bytes at %" PRIu64
			    " in v2)", j, mf->path, mf->length, mf->offset, path, f->length,
			    offsets[j]);
			free(path);
			return false;
		}
		free(path);
		if (f->root != NULL)
			memcpy(mf->pieces_root, f->root, MERKLE_HASH);
		j++;
	}
	if (j != w->count) {
		dp_fail(err, errlen, "hybrid torrent: the v2 file tree has %zu files, v1 lists %zu",
		    w->count, j);
		return false;
	}
	uint64_t v2_pieces = (end + mi->piece_length - 1) / mi->piece_length;
	uint64_t v1_pieces = (mi->total_size + mi->piece_length - 1) / mi->piece_length;
	if (v1_pieces != v2_pieces) {
		dp_fail(err, errlen, "hybrid torrent: v1 has %" PRIu64 " pieces, v2 %" PRIu64,
		    v1_pieces, v2_pieces);
		return false;
	}
	return true;
}

bool
metainfo_v2_parse_tree(struct metainfo *mi, const struct be_node *info, bool v1_multi,
    char *err, size_t errlen)
{
	const struct be_node *tree = be_dict_get(info, "file tree");
	if (tree == NULL || tree->type != BE_DICT) {
		dp_fail(err, errlen, tree == NULL ? "v2 torrent without a 'file tree'" :
		    "'file tree' is not a dictionary");
		return false;
	}
	struct mi2_walk w = { .err = err, .errlen = errlen };
	if (!mi2_walk_dir(&w, tree, 0)) {
		mi2_walk_free(&w);
		return false;
	}
	if (w.count == 0) {
		dp_fail(err, errlen, "the file tree lists no files");
		mi2_walk_free(&w);
		return false;
	}
	/* One file at the top and no v1 'files' list: a single-file torrent named by its key. */
	bool single = !v1_multi && w.count == 1 && w.files[0].nparts == 1;
	uint64_t *offsets = xcalloc(w.count, sizeof *offsets);
	uint64_t end = 0;
	bool ok = mi2_offsets(&w, mi->piece_length, offsets, &end);
	if (!ok)
		dp_fail(err, errlen, "the files need more than %u pieces of %" PRIu32 " bytes",
		    MI2_MAX_PIECES, mi->piece_length);
	else if (mi->has_v1) {
		if (single != !mi->multi_file) {
			dp_fail(err, errlen, "hybrid torrent: v1 is %s, v2 %s", mi->multi_file ?
			    "multi-file" : "single-file", single ? "single-file" : "multi-file");
			ok = false;
		} else
			ok = mi2_match_v1(mi, &w, offsets, end, single, err, errlen);
	} else {
		if (single) {
			/* The file's name is its key in the tree; 'name' only names the torrent. */
			free(mi->name);
			mi->name = metainfo_sanitize_component(w.files[0].parts[0].s,
			    w.files[0].parts[0].len);
		}
		mi->multi_file = !single;
		mi2_build_files(mi, &w, offsets, end, single);
	}
	free(offsets);
	mi2_walk_free(&w);
	return ok;
}

void
metainfo_v2_init_hashes(struct metainfo *mi)
{
	mi->piece_hashes_v2 = xcalloc(mi->piece_count, MERKLE_HASH);
	for (size_t i = 0; i < mi->file_count; i++) {
		struct mi_file *f = &mi->files[i];
		if (f->pad || f->length == 0)
			continue;
		if (f->length <= mi->piece_length) {
			uint64_t piece = f->offset / mi->piece_length;
			memcpy(mi->piece_hashes_v2 + piece * MERKLE_HASH, f->pieces_root, MERKLE_HASH);
			f->layer_known = true;
		}
	}
}

/* Files longer than one piece, ordered by pieces root, to find a layer's owners. */
struct mi2_owner {
	const uint8_t *root;
	size_t file;
};

static int
mi2_owner_cmp(const void *a, const void *b)
{
	const struct mi2_owner *x = a, *y = b;
	int c = memcmp(x->root, y->root, MERKLE_HASH);
	return c != 0 ? c : (x->file > y->file) - (x->file < y->file);
}

bool
metainfo_v2_parse_layers(struct metainfo *mi, const struct be_node *layers, char *err,
    size_t errlen)
{
	if (layers == NULL)
		return true;
	if (layers->type != BE_DICT) {
		dp_fail(err, errlen, "'piece layers' is not a dictionary");
		return false;
	}
	struct mi2_owner *own = xcalloc(mi->file_count + 1, sizeof *own);
	size_t n = 0;
	for (size_t i = 0; i < mi->file_count; i++)
		if (!mi->files[i].pad && mi->files[i].length > mi->piece_length)
			own[n++] = (struct mi2_owner){ mi->files[i].pieces_root, i };
	qsort(own, n, sizeof *own, mi2_owner_cmp);

	bool ok = true;
	struct merkle_hasher *h = merkle_hasher_new();
	uint8_t *scratch = NULL;
	for (size_t e = 0; ok && e < layers->v.dict.n; e++) {
		const struct be_entry *ent = &layers->v.dict.entries[e];
		if (ent->key_len != MERKLE_HASH) {
			dp_fail(err, errlen, "'piece layers' has a key of %zu bytes, not a 32-byte "
			    "root", ent->key_len);
			ok = false;
			break;
		}
		/* The first owner with this root (files of identical content share a layer). */
		size_t lo = 0, hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (memcmp(own[mid].root, ent->key, MERKLE_HASH) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == n || memcmp(own[lo].root, ent->key, MERKLE_HASH) != 0) {
			/* as libtorrent: a layer of no file (or of a file of one piece) is an error */
			dp_fail(err, errlen, "'piece layers' has a layer for no file longer than a "
			    "piece");
			ok = false;
			break;
		}
		const struct mi_file *f = &mi->files[own[lo].file];
		uint64_t count = (f->length + mi->piece_length - 1) / mi->piece_length;
		const struct be_node *v = ent->value;
		if (v->type != BE_STR || v->v.str.len != count * MERKLE_HASH) {
			dp_fail(err, errlen, "piece layer of '%s' is not %" PRIu64 " hashes", f->path,
			    count);
			ok = false;
			break;
		}
		uint8_t root[MERKLE_HASH];
		scratch = xreallocarray(scratch, count, MERKLE_HASH);
		merkle_root_from_layer(h, (const uint8_t *)v->v.str.s, count, mi->piece_length,
		    scratch, root);
		if (memcmp(root, f->pieces_root, MERKLE_HASH) != 0) {
			dp_fail(err, errlen, "piece layer of '%s' does not hash to its pieces root",
			    f->path);
			ok = false;
			break;
		}
		for (size_t k = lo; k < n && memcmp(own[k].root, ent->key, MERKLE_HASH) == 0; k++) {
			struct mi_file *g = &mi->files[own[k].file];
			uint64_t first = g->offset / mi->piece_length;
			memcpy(mi->piece_hashes_v2 + first * MERKLE_HASH, v->v.str.s,
			    (size_t)count * MERKLE_HASH);
			g->layer_known = true;
		}
	}
	free(scratch);
	merkle_hasher_free(h);
	free(own);
	return ok;
}

void
metainfo_v2_compute_hash(struct metainfo *mi)
{
	merkle_sha256(NULL, mi->info_raw, mi->info_len, mi->info_hash_v2);
	dp_hex_encode(mi->info_hash_v2, MERKLE_HASH, mi->info_hash_v2_hex);
	if (!mi->has_v1) {
		memcpy(mi->info_hash, mi->info_hash_v2, 20);
		dp_hex_encode(mi->info_hash, 20, mi->info_hash_hex);
	}
}
