/* metainfo_encode.c: a parsed torrent written back as a .torrent file (the session's copy), and
 * the BEP 52 'piece layers' dictionary that this copy and torrent creation both write. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bencode.h"
#include "merkle.h"
#include "metainfo.h"
#include "util.h"

static int
metainfo_encode_layer_cmp(const void *a, const void *b)
{
	return memcmp(((const struct mi_layer *)a)->root, ((const struct mi_layer *)b)->root,
	    MERKLE_HASH);
}

void
metainfo_encode_layers(struct dp_buf *out, struct mi_layer *layers, size_t n)
{
	qsort(layers, n, sizeof *layers, metainfo_encode_layer_cmp);
	be_enc_cstr(out, "piece layers");
	be_enc_dict_begin(out);
	for (size_t k = 0; k < n; k++) {
		if (k > 0 && memcmp(layers[k].root, layers[k - 1].root, MERKLE_HASH) == 0)
			continue;    /* files with the same content share one layer */
		be_enc_str(out, layers[k].root, MERKLE_HASH);
		be_enc_str(out, layers[k].hashes, (size_t)layers[k].count * MERKLE_HASH);
	}
	be_enc_end(out);
}

/* The layers this torrent knows: without them a v2-only copy could not be loaded again. A
 * magnet's hybrid knows none and writes none (its v1 hashes verify the data). */
static void
metainfo_encode_known_layers(struct dp_buf *out, const struct metainfo *mi)
{
	if (!mi->has_v2 || mi->piece_hashes_v2 == NULL)
		return;
	struct mi_layer *layers = xcalloc(mi->file_count + 1, sizeof *layers);
	size_t n = 0;
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		if (f->pad || f->symlink || f->length <= mi->piece_length || !f->layer_known)
			continue;
		layers[n].root = f->pieces_root;
		layers[n].hashes = mi->piece_hashes_v2 + (f->offset / mi->piece_length) * MERKLE_HASH;
		layers[n].count = (f->length + mi->piece_length - 1) / mi->piece_length;
		n++;
	}
	if (n > 0)
		metainfo_encode_layers(out, layers, n);
	free(layers);
}

uint8_t *
metainfo_encode(const struct metainfo *mi, size_t *len)
{
	*len = 0;
	if (mi->info_raw == NULL)
		return NULL;
	struct dp_buf b;
	dp_buf_init(&b);
	/* Keys in byte order, as bencode's canonical form requires. */
	be_enc_dict_begin(&b);
	if (mi->tier_count > 0 && mi->tiers[0].count > 0) {
		be_enc_cstr(&b, "announce");
		be_enc_cstr(&b, mi->tiers[0].urls[0]);
		be_enc_cstr(&b, "announce-list");
		be_enc_list_begin(&b);
		for (size_t i = 0; i < mi->tier_count; i++) {
			be_enc_list_begin(&b);
			for (size_t j = 0; j < mi->tiers[i].count; j++)
				be_enc_cstr(&b, mi->tiers[i].urls[j]);
			be_enc_end(&b);
		}
		be_enc_end(&b);
	}
	if (mi->comment != NULL) {
		be_enc_cstr(&b, "comment");
		be_enc_cstr(&b, mi->comment);
	}
	if (mi->created_by != NULL) {
		be_enc_cstr(&b, "created by");
		be_enc_cstr(&b, mi->created_by);
	}
	if (mi->has_creation_date) {
		be_enc_cstr(&b, "creation date");
		be_enc_int(&b, mi->creation_date);
	}
	be_enc_cstr(&b, "info");
	dp_buf_add(&b, mi->info_raw, mi->info_len);
	metainfo_encode_known_layers(&b, mi);
	if (mi->webseed_count > 0) {
		be_enc_cstr(&b, "url-list");
		be_enc_list_begin(&b);
		for (size_t i = 0; i < mi->webseed_count; i++)
			be_enc_cstr(&b, mi->webseeds[i]);
		be_enc_end(&b);
	}
	be_enc_end(&b);
	return dp_buf_steal(&b, len);
}
