/* torrent_create_encode.c: the canonical bencoding of a new torrent: the v1 file list (pad files
 * included for hybrids), the v2 file tree and piece layers (BEP 52), and both info-hashes. */
#include "config.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "bencode.h"
#include "merkle.h"
#include "metainfo.h"
#include "torrent_create.h"

static void
tce_encode_path(struct dp_buf *b, const char *rel)
{
	be_enc_list_begin(b);
	const char *p = rel;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		be_enc_str(b, p, n);
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	be_enc_end(b);
}

/* BEP 47 attributes as libtorrent writes them: "p" for pad files, "x" for executables; no key
 * for other files. */
static void
tce_encode_attr(struct dp_buf *out, const struct tc_file *f)
{
	if (!f->pad && !f->exec)
		return;
	be_enc_cstr(out, "attr");
	be_enc_cstr(out, f->pad ? "p" : "x");
}

/* The v1 'files' list; a hybrid's pad files carry attr "p" (BEP 47). */
static void
tce_encode_files(struct dp_buf *out, const struct tc_tree *t, bool with_pads)
{
	be_enc_cstr(out, "files");
	be_enc_list_begin(out);
	for (size_t i = 0; i < t->count; i++) {
		const struct tc_file *f = &t->files[i];
		if (f->pad && !with_pads)
			continue;
		be_enc_dict_begin(out);
		tce_encode_attr(out, f);
		be_enc_cstr(out, "length");
		be_enc_int(out, (int64_t)f->length);
		be_enc_cstr(out, "path");
		tce_encode_path(out, f->rel);
		be_enc_end(out);
	}
	be_enc_end(out);
}

/* One file's leaf in the file tree: {"": {attr, length, pieces root}}. */
static void
tce_encode_leaf(struct dp_buf *out, const struct tc_file *f, const uint8_t *root)
{
	be_enc_dict_begin(out);
	be_enc_str(out, "", 0);
	be_enc_dict_begin(out);
	tce_encode_attr(out, f);
	be_enc_cstr(out, "length");
	be_enc_int(out, (int64_t)f->length);
	if (f->length > 0) {
		be_enc_cstr(out, "pieces root");
		be_enc_str(out, root, MERKLE_HASH);
	}
	be_enc_end(out);
	be_enc_end(out);
}

/* Length of the first n components of rel that are folders shared with prev's folders. */
static size_t
tce_common_dirs(const char *prev, const char *rel)
{
	size_t depth = 0;
	for (size_t i = 0; prev[i] != '\0' && prev[i] == rel[i]; i++)
		if (prev[i] == '/')
			depth++;
	return depth;
}

static size_t
tce_count_dirs(const char *rel)
{
	size_t n = 0;
	for (; *rel != '\0'; rel++)
		n += *rel == '/';
	return n;
}

/*
 * The v2 'file tree'. The scan lists each folder's entries in byte order and walks folders
 * depth first, which is exactly the order of a canonical (sorted) nested dictionary, so the
 * tree is written in one pass: close the folders the next file leaves, open the ones it enters.
 */
static void
tce_encode_tree(struct dp_buf *out, const struct tc_tree *t, const uint8_t *roots)
{
	be_enc_cstr(out, "file tree");
	be_enc_dict_begin(out);
	if (!t->multi_file) {
		be_enc_cstr(out, t->name);
		tce_encode_leaf(out, &t->files[0], roots);
		be_enc_end(out);
		return;
	}
	const char *prev = NULL;
	size_t open = 0;
	for (size_t i = 0; i < t->count; i++) {
		const struct tc_file *f = &t->files[i];
		if (f->pad)
			continue;
		size_t keep = prev != NULL ? tce_common_dirs(prev, f->rel) : 0;
		if (keep > open)
			keep = open;
		for (; open > keep; open--)
			be_enc_end(out);
		/* Open the folders below the shared ones: components keep .. dirs-1. */
		size_t dirs = tce_count_dirs(f->rel);
		const char *p = f->rel;
		for (size_t c = 0; c < keep; c++)
			p = strchr(p, '/') + 1;
		for (; open < dirs; open++) {
			const char *slash = strchr(p, '/');
			be_enc_str(out, p, (size_t)(slash - p));
			be_enc_dict_begin(out);
			p = slash + 1;
		}
		be_enc_cstr(out, p);
		tce_encode_leaf(out, f, roots + i * MERKLE_HASH);
		prev = f->rel;
	}
	for (; open > 0; open--)
		be_enc_end(out);
	be_enc_end(out);
}

/* 'piece layers': for each file longer than one piece, root -> its piece hashes. */
static void
tce_encode_layers(struct dp_buf *out, const struct tc_tree *t, uint32_t piece_length,
    const struct tc_hashes *h)
{
	struct mi_layer *layers = xcalloc(t->count + 1, sizeof *layers);
	size_t n = 0;
	for (size_t i = 0; i < t->count; i++) {
		const struct tc_file *f = &t->files[i];
		if (f->pad || f->length <= piece_length)
			continue;
		layers[n].root = h->roots + i * MERKLE_HASH;
		layers[n].hashes = h->v2 + (f->offset / piece_length) * MERKLE_HASH;
		layers[n].count = (f->length + piece_length - 1) / piece_length;
		n++;
	}
	metainfo_encode_layers(out, layers, n);
	free(layers);
}

void
torrent_create_encode(const struct tc_tree *t, uint32_t piece_length, enum tc_format fmt,
    const struct tc_hashes *hashes, const struct tc_options *opt, struct dp_buf *out,
    uint8_t info_hash[20], uint8_t info_hash_v2[32])
{
	uint64_t count = (t->total + piece_length - 1) / piece_length;
	bool v1 = fmt != TC_FORMAT_V2, v2 = fmt != TC_FORMAT_V1;

	/* Keys in byte order, as bencode's canonical form requires. */
	be_enc_dict_begin(out);
	if (opt->tracker_count > 0) {
		be_enc_cstr(out, "announce");
		be_enc_cstr(out, opt->trackers[0]);
	}
	if (opt->tracker_count > 1) {
		be_enc_cstr(out, "announce-list");
		be_enc_list_begin(out);
		for (size_t i = 0; i < opt->tracker_count; i++) {
			be_enc_list_begin(out);
			be_enc_cstr(out, opt->trackers[i]);
			be_enc_end(out);
		}
		be_enc_end(out);
	}
	if (opt->comment != NULL) {
		be_enc_cstr(out, "comment");
		be_enc_cstr(out, opt->comment);
	}
	if (opt->created_by != NULL) {
		be_enc_cstr(out, "created by");
		be_enc_cstr(out, opt->created_by);
	}
	if (opt->creation_date >= 0) {
		be_enc_cstr(out, "creation date");
		be_enc_int(out, opt->creation_date);
	}

	be_enc_cstr(out, "info");
	size_t info_start = out->len;
	be_enc_dict_begin(out);
	if (v1 && !t->multi_file)   /* the v1 view's file; "attr" sorts before every other key */
		tce_encode_attr(out, &t->files[0]);
	if (v2)
		tce_encode_tree(out, t, hashes->roots);
	if (v1 && t->multi_file)
		tce_encode_files(out, t, v2);
	if (v1 && !t->multi_file) {
		be_enc_cstr(out, "length");
		be_enc_int(out, (int64_t)t->total);
	}
	if (v2) {
		be_enc_cstr(out, "meta version");
		be_enc_int(out, 2);
	}
	be_enc_cstr(out, "name");
	be_enc_cstr(out, t->name);
	be_enc_cstr(out, "piece length");
	be_enc_int(out, piece_length);
	if (v1) {
		be_enc_cstr(out, "pieces");
		be_enc_str(out, hashes->v1, (size_t)count * 20);
	}
	if (opt->is_private) {
		be_enc_cstr(out, "private");
		be_enc_int(out, 1);
	}
	be_enc_end(out);
	size_t info_end = out->len;

	if (v2)
		tce_encode_layers(out, t, piece_length, hashes);
	if (opt->webseed_count > 0) {
		be_enc_cstr(out, "url-list");
		be_enc_list_begin(out);
		for (size_t i = 0; i < opt->webseed_count; i++)
			be_enc_cstr(out, opt->webseeds[i]);
		be_enc_end(out);
	}
	be_enc_end(out);

	unsigned int mdlen = 20;
	memset(info_hash, 0, 20);
	memset(info_hash_v2, 0, MERKLE_HASH);
	if (v1 && EVP_Digest(out->data + info_start, info_end - info_start, info_hash, &mdlen,
	    EVP_sha1(), NULL) != 1)
		memset(info_hash, 0, 20);
	if (v2)
		merkle_sha256(NULL, out->data + info_start, info_end - info_start, info_hash_v2);
}
