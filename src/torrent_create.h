/* torrent_create.h: making a .torrent from a file or a directory: scanning the tree, choosing the
 * piece size, hashing pieces on every core, canonical bencoding, and writing the file atomically. */
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

struct tc_file {
	char *path;        /* for opening: the argument joined with the relative path */
	char *rel;         /* '/'-separated path inside the torrent; the name for a single file */
	uint64_t length;
	uint64_t offset;   /* where the file starts in the torrent's byte stream */
};

struct tc_tree {
	char *name;        /* the torrent's name: the file or directory's base name */
	bool multi_file;
	struct tc_file *files;   /* sorted by path, component by component (byte order) */
	size_t count;
	uint64_t total;
	char **skipped;          /* messages about special files and broken links left out */
	size_t skipped_count;
};

/*
 * Scans a file or a directory. Symbolic links are followed to regular files and directories;
 * a link back to a directory being scanned is an error, special files (FIFOs, sockets, devices)
 * and broken links are left out and listed in skipped. Returns TC_OK or TC_ERR_INPUT with err.
 */
int torrent_create_scan(const char *path, struct tc_tree *out, char *err, size_t errlen);
void torrent_create_tree_free(struct tc_tree *t);

/* Power of two in [16 KiB, 16 MiB] giving at most 2000 pieces (1000-2000 when not clamped). */
uint32_t torrent_create_piece_size(uint64_t total);
/* Parses "262144", "256K", "1M": a power of two in [TC_PIECE_MIN, TC_PIECE_MAX]. */
bool torrent_create_parse_piece_size(const char *s, uint32_t *out);

typedef void (*tc_progress_fn)(uint64_t done, uint64_t total, void *arg);

/*
 * SHA-1 of every piece, on threads workers (0 = one per CPU), each reading whole pieces with
 * pread across file boundaries. progress, if set, is called on the calling thread about five
 * times a second. On TC_OK *hashes holds 20 bytes per piece (caller frees).
 */
int torrent_create_hash(const struct tc_tree *t, uint32_t piece_length, int threads,
    tc_progress_fn progress, void *arg, uint8_t **hashes, char *err, size_t errlen);

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

/* Encodes the metainfo (keys sorted) into out and computes the info-hash. */
void torrent_create_encode(const struct tc_tree *t, uint32_t piece_length, const uint8_t *hashes,
    const struct tc_options *opt, struct dp_buf *out, uint8_t info_hash[20]);

/*
 * Writes data to path through a temporary file in the same directory, fsynced and renamed.
 * Without force an existing path is left alone (error). Returns TC_OK or TC_ERR_RUNTIME.
 */
int torrent_create_write(const char *path, const uint8_t *data, size_t len, bool force,
    char *err, size_t errlen);

#endif
