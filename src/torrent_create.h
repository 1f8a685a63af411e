/* torrent_create.h: making a .torrent (v1, v2 or hybrid) from a file or a directory: scanning the
 * tree, choosing the piece size, hashing pieces on every core, canonical bencoding, and writing
 * the file atomically. */
#ifndef DP_TORRENT_CREATE_H
#define DP_TORRENT_CREATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Results: bad input (unreadable file, empty tree, bad option) versus a runtime failure. */
enum { TC_OK = 0, TC_ERR_RUNTIME = -1, TC_ERR_INPUT = -2 };

#define TC_PIECE_MIN (16u << 10)
#define TC_PIECE_AUTO_MAX (16u << 20)
#define TC_PIECE_MAX (64u << 20)

/* BitTorrent v1 (SHA-1 pieces), v2 (BEP 52 merkle trees) or hybrid (both, files aligned). */
enum tc_format { TC_FORMAT_V1, TC_FORMAT_V2, TC_FORMAT_HYBRID };

struct tc_file {
	char *path;        /* for opening: the argument joined with the relative path; NULL: pad */
	char *rel;         /* '/'-separated path inside the torrent; the name for a single file */
	uint64_t length;
	uint64_t offset;   /* where the file starts in the torrent's byte stream */
	bool pad;          /* BEP 47 pad file (zeros) inserted by torrent_create_align */
	bool exec;         /* BEP 47 attr 'x': executable by its owner (lstat, as libtorrent) */
};

struct tc_tree {
	char *name;        /* the torrent's name: the file or directory's base name */
	bool multi_file;
	struct tc_file *files;   /* sorted by path, component by component (byte order) */
	size_t count;
	uint64_t total;
	char **skipped;          /* messages about special files and broken links left out */
	size_t skipped_count;
	size_t pads;             /* pad files among files (count includes them) */
};

/*
 * Scans a file or a directory. Symbolic links are followed to regular files and directories;
 * a link back to a directory being scanned is an error, special files (FIFOs, sockets, devices)
 * and broken links are left out and listed in skipped. Returns TC_OK or TC_ERR_INPUT with err.
 */
int torrent_create_scan(const char *path, struct tc_tree *out, char *err, size_t errlen);
void torrent_create_tree_free(struct tc_tree *t);

/*
 * For v2 and hybrid torrents: a pad file after every non-empty file of a multi-file tree that
 * does not end on a piece boundary (the last one too, as libtorrent does), so that each file
 * starts on a piece boundary. A single file is never padded.
 */
void torrent_create_align(struct tc_tree *t, uint32_t piece_length);

/* "v1", "v2" or "hybrid". */
bool torrent_create_parse_format(const char *s, enum tc_format *out);

/* Power of two in [16 KiB, 16 MiB] giving at most 2000 pieces (1000-2000 when not clamped). */
uint32_t torrent_create_piece_size(uint64_t total);
/* Parses "262144", "256K", "1M": a power of two in [TC_PIECE_MIN, TC_PIECE_MAX]. */
bool torrent_create_parse_piece_size(const char *s, uint32_t *out);

typedef void (*tc_progress_fn)(uint64_t done, uint64_t total, void *arg);

struct tc_hashes {
	uint8_t *v1;       /* v1, hybrid: SHA-1 of each piece, 20 bytes per piece */
	uint8_t *v2;       /* v2, hybrid: merkle root of each piece (BEP 52), 32 bytes per piece */
	uint8_t *roots;    /* v2, hybrid: each file's pieces root, 32 bytes per file of the tree
	                      (zeros for empty and pad files) */
};

/*
 * Hashes every piece on threads workers (0 = one per CPU), each reading whole pieces with pread
 * across file boundaries (pad files read as zeros): SHA-1 for v1 and hybrid, the merkle root of
 * the piece's 16 KiB leaves for v2 and hybrid (v2 and hybrid trees must be aligned first), then
 * each file's root. progress, if set, is called on the calling thread about five times a second.
 * On TC_OK out holds the hashes (torrent_create_hashes_free).
 */
int torrent_create_hash(const struct tc_tree *t, uint32_t piece_length, enum tc_format fmt,
    int threads, tc_progress_fn progress, void *arg, struct tc_hashes *out, char *err,
    size_t errlen);
void torrent_create_hashes_free(struct tc_hashes *h);

struct tc_options {
	const char *const *trackers;   /* each its own tier */
	size_t tracker_count;
	const char *const *webseeds;   /* url-list */
	size_t webseed_count;
	const char *comment;           /* NULL: none */
	bool is_private;
	const char *created_by;        /* NULL: none */
	int64_t creation_date;         /* < 0: none */
};

/* Encodes the metainfo (keys sorted) into out and computes the info-hashes: info_hash (SHA-1) for
 * v1 and hybrid, info_hash_v2 (SHA-256) for v2 and hybrid; the other is zeroed. */
void torrent_create_encode(const struct tc_tree *t, uint32_t piece_length, enum tc_format fmt,
    const struct tc_hashes *hashes, const struct tc_options *opt, struct dp_buf *out,
    uint8_t info_hash[20], uint8_t info_hash_v2[32]);

/*
 * Writes data to path through a temporary file in the same directory, fsynced and renamed.
 * Without force an existing path is left alone (error). Returns TC_OK or TC_ERR_RUNTIME.
 */
int torrent_create_write(const char *path, const uint8_t *data, size_t len, bool force,
    char *err, size_t errlen);

#endif
