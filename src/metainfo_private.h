/* metainfo_private.h: what metainfo.c asks of metainfo_v2.c, the BitTorrent v2 (BEP 52) parts of
 * parsing: the file tree, the piece layers, the v2 info-hash, and the check that a hybrid's two
 * views describe the same files. Nobody else includes it. */
#ifndef DP_METAINFO_PRIVATE_H
#define DP_METAINFO_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

struct be_node;
struct metainfo;

/*
 * Reads info's 'file tree' into mi (piece_length, checked for v2, name and display_name set). With v1 data
 * already in mi (a hybrid: has_v1), checks that both views list the same files (paths, sizes,
 * and offsets, pad files aside) and gives each v1 file its pieces root; else builds mi's file
 * list with a pad file after each file that does not end on a piece boundary (the last too, as
 * libtorrent: the last piece is whole on the wire), total_size and multi_file. v1_multi: the info dictionary has a v1 'files' list. Paths are
 * sanitised but not yet made distinct. Returns false with a reason in err.
 */
bool metainfo_v2_parse_tree(struct metainfo *mi, const struct be_node *info, bool v1_multi,
    char *err, size_t errlen);

/* After piece_count is set: the per-piece v2 hashes, with the files of one piece filled in. */
void metainfo_v2_init_hashes(struct metainfo *mi);

/* The torrent's 'piece layers' (may be NULL: layers then stay unknown): every layer that belongs
 * to a file must have one hash per piece of it and hash up to the file's root. */
bool metainfo_v2_parse_layers(struct metainfo *mi, const struct be_node *layers, char *err,
    size_t errlen);

/* info_hash_v2 and its hex from info_raw; for a v2-only torrent info_hash too (truncated). */
void metainfo_v2_compute_hash(struct metainfo *mi);

#endif
