/* fuzz_metainfo.c: libFuzzer target for .torrent and bare info-dictionary parsing, v1, v2 and
 * hybrid (BEP 52), checking the invariants every caller relies on: safe distinct paths,
 * consistent sizes, piece counts, and for v2 files aligned to pieces with known hashes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "metainfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_path(const char *p)
{
	size_t len = strlen(p);
	if (len == 0 || p[0] == '/' || p[len - 1] == '/' || strstr(p, "//") != NULL)
		abort();
	/* every component: not "." or "..", at most 255 bytes */
	const char *c = p;
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 0 || n > 255 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			abort();
		if (slash == NULL)
			break;
		c = slash + 1;
	}
}

static void
fuzz_check(const struct metainfo *mi)
{
	fuzz_check_path(mi->name);
	if (strchr(mi->name, '/') != NULL)
		abort();
	if (mi->piece_length == 0 || mi->piece_count == 0 || mi->total_size == 0)
		abort();
	if ((mi->total_size + mi->piece_length - 1) / mi->piece_length != mi->piece_count)
		abort();
	uint64_t sum = 0, last = metainfo_piece_size(mi, mi->piece_count - 1);
	if (last == 0 || last > mi->piece_length)
		abort();
	for (size_t i = 0; i < mi->file_count; i++) {
		if (mi->files[i].offset != sum)
			abort();
		sum += mi->files[i].length;
		fuzz_check_path(mi->files[i].path);
		for (size_t j = 0; j < i && mi->file_count < 64; j++)
			if (!mi->files[i].pad && !mi->files[j].pad &&
			    strcmp(mi->files[i].path, mi->files[j].path) == 0)
				abort();
	}
	if (sum != mi->total_size)
		abort();
	if (mi->has_v1 != (mi->piece_hashes != NULL) || mi->has_v2 != (mi->piece_hashes_v2 != NULL))
		abort();
	if (mi->hybrid != (mi->has_v1 && mi->has_v2) || (!mi->has_v1 && !mi->has_v2))
		abort();
	if (!mi->has_v2)
		return;
	/* v2: pieces of 16 KiB or more, every file on a piece boundary, its hashes where known */
	if (mi->piece_length < MERKLE_BLOCK || (mi->piece_length & (mi->piece_length - 1)) != 0)
		abort();
	if (!mi->has_v1 && memcmp(mi->info_hash, mi->info_hash_v2, 20) != 0)
		abort();
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		if (f->pad || f->length == 0)
			continue;
		if (f->offset % mi->piece_length != 0)
			abort();
		uint32_t first = (uint32_t)(f->offset / mi->piece_length);
		if (metainfo_file_at(mi, f->offset) != i)
			abort();
		const uint8_t *h = metainfo_piece_hash_v2(mi, first);
		if ((h != NULL) != f->layer_known)
			abort();
		if (f->length <= mi->piece_length && (h == NULL || memcmp(h, f->pieces_root, 32) != 0))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct metainfo *mi = metainfo_parse(data, size, err, sizeof err);
	if (mi != NULL) {
		fuzz_check(mi);
		/* the stored info dictionary parses alone to the same hashes */
		struct metainfo *again = metainfo_parse_info(mi->info_raw, mi->info_len, err,
		    sizeof err);
		if (again == NULL || memcmp(again->info_hash, mi->info_hash, 20) != 0 ||
		    (mi->has_v2 && memcmp(again->info_hash_v2, mi->info_hash_v2, 32) != 0))
			abort();
		metainfo_free(again);
		metainfo_free(mi);
	} else if (err[0] == '\0')
		abort();
	mi = metainfo_parse_info(data, size, err, sizeof err);
	if (mi != NULL)
		fuzz_check(mi);
	metainfo_free(mi);
	return 0;
}
