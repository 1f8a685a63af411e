/* v2_hashes.c: serving BEP 52 hash requests: files found by pieces root in a sorted index, each
 * file's merkle tree above its piece layer built once (about twice the layer's size), runs and
 * uncle hashes copied from it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "metainfo.h"
#include "util.h"
#include "v2_hashes.h"
#include "wire_hash.h"

/* A file of more pieces than this is not served (its tree would take over 64 MiB). */
#define V2_HASHES_MAX_PIECES (1u << 20)

struct v2_hashes {
	const struct metainfo *mi;
	size_t *by_root;              /* files longer than a piece with a known layer, by root */
	size_t nroots;
	uint8_t **trees;              /* per file: every level from the piece layer up, or NULL */
	unsigned piece_level;         /* log2(piece length / 16 KiB) */
};

static int
v2_hashes_root_cmp(const void *a, const void *b, void *arg)
{
	const struct metainfo *mi = arg;
	const struct mi_file *fa = &mi->files[*(const size_t *)a];
	const struct mi_file *fb = &mi->files[*(const size_t *)b];
	return memcmp(fa->pieces_root, fb->pieces_root, MERKLE_HASH);
}

struct v2_hashes *
v2_hashes_new(const struct metainfo *mi)
{
	struct v2_hashes *vh = xcalloc(1, sizeof *vh);
	vh->mi = mi;
	vh->piece_level = merkle_log2(mi->piece_length / MERKLE_BLOCK);
	vh->trees = xcalloc(mi->file_count + 1, sizeof *vh->trees);
	vh->by_root = xcalloc(mi->file_count + 1, sizeof *vh->by_root);
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		if (!f->pad && f->length > mi->piece_length && f->layer_known)
			vh->by_root[vh->nroots++] = i;
	}
	qsort_r(vh->by_root, vh->nroots, sizeof *vh->by_root, v2_hashes_root_cmp, (void *)mi);
	return vh;
}

void
v2_hashes_free(struct v2_hashes *vh)
{
	if (vh == NULL)
		return;
	for (size_t i = 0; i < vh->mi->file_count; i++)
		free(vh->trees[i]);
	free(vh->trees);
	free(vh->by_root);
	free(vh);
}

/* The file whose pieces root is root, or SIZE_MAX. */
static size_t
v2_hashes_find(const struct v2_hashes *vh, const uint8_t *root)
{
	size_t lo = 0, hi = vh->nroots;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(vh->mi->files[vh->by_root[mid]].pieces_root, root, MERKLE_HASH);
		if (c == 0)
			return vh->by_root[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

/* Levels from the piece layer (width w = pow2(pieces), padded) up to the root, one after the
 * other: w + w/2 + ... + 1 nodes. */
static uint8_t *
v2_hashes_tree(struct v2_hashes *vh, size_t file, uint64_t count, uint64_t w)
{
	if (vh->trees[file] != NULL)
		return vh->trees[file];
	const struct metainfo *mi = vh->mi;
	uint8_t *t = xcalloc((size_t)(2 * w - 1), MERKLE_HASH);
	uint64_t first = mi->files[file].offset / mi->piece_length;
	memcpy(t, mi->piece_hashes_v2 + first * MERKLE_HASH, (size_t)count * MERKLE_HASH);
	for (uint64_t i = count; i < w; i++)
		merkle_pad(NULL, vh->piece_level, t + i * MERKLE_HASH);
	struct merkle_hasher *h = merkle_hasher_new();
	uint8_t *below = t;
	for (uint64_t lw = w; lw > 1; lw /= 2) {
		uint8_t *above = below + lw * MERKLE_HASH;
		for (uint64_t i = 0; i < lw / 2; i++)
			merkle_pair(h, below + 2 * i * MERKLE_HASH, below + (2 * i + 1) * MERKLE_HASH,
			    above + i * MERKLE_HASH);
		below = above;
	}
	merkle_hasher_free(h);
	vh->trees[file] = t;
	return t;
}

uint32_t
v2_hashes_answer(struct v2_hashes *vh, const struct wire_hash_req *req, uint8_t *out)
{
	const struct metainfo *mi = vh->mi;
	if (req->base_layer != vh->piece_level || req->length > WIRE_HASH_MAX_LENGTH)
		return 0;
	size_t file = v2_hashes_find(vh, req->root);
	if (file == SIZE_MAX)
		return 0;
	uint64_t count = (mi->files[file].length + mi->piece_length - 1) / mi->piece_length;
	if (count > V2_HASHES_MAX_PIECES)
		return 0;
	uint64_t w = merkle_pow2(count);
	if ((uint64_t)req->index + req->length > w)
		return 0;
	uint8_t *t = v2_hashes_tree(vh, file, count, w);
	memcpy(out, t + (uint64_t)req->index * MERKLE_HASH, (size_t)req->length * MERKLE_HASH);
	uint32_t n = req->length;
	/* Uncles from the run's subtree up to just below the root. */
	unsigned height = merkle_log2(w), run = merkle_log2(req->length);
	uint64_t pos = req->index / req->length, level_w = w >> run;
	const uint8_t *level = t;
	for (uint64_t lw = w; lw > level_w; lw /= 2)
		level += lw * MERKLE_HASH;
	uint32_t uncles = wire_hash_uncles(req);
	for (unsigned k = 0; k < uncles && run + k < height; k++) {
		memcpy(out + (size_t)n * MERKLE_HASH, level + (pos ^ 1) * MERKLE_HASH, MERKLE_HASH);
		n++;
		level += level_w * MERKLE_HASH;
		level_w /= 2;
		pos /= 2;
	}
	return n;
}
