/* metainfo.h: parsed .torrent files (BEP 3, 12, 19, 27, 47, 52): validated, with sanitised paths. */
#ifndef DP_METAINFO_H
#define DP_METAINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_MAX_TORRENT_FILE_SIZE (64u << 20)

struct mi_file {
	char *path;          /* sanitised, relative to the torrent's folder, '/' separated */
	char *display_path;  /* the original components joined with '/', for display only */
	uint64_t length;
	uint64_t offset;     /* where the file starts in the torrent's byte stream */
	bool pad;            /* BEP 47 pad file (attr contains 'p'): never written to disk */
	/* BEP 47 symbolic link (attr 'l' with a 'symlink path'): length 0, never created on disk
	 * (a link a torrent chose could point anywhere); the target as the torrent names it. */
	bool symlink;
	char *symlink_target;
	/* BEP 52, when the torrent has v2 data (zero for empty and pad files): the merkle root of
	 * the file's 16 KiB leaves, and whether the hashes of its pieces are known (a file of one
	 * piece: always; longer ones: when the torrent carried the file's piece layer). */
	uint8_t pieces_root[32];
	bool layer_known;
};

struct mi_tier {
	char **urls;
	size_t count;
};

struct metainfo {
	/* The swarm's 20-byte id for the handshake, trackers and the DHT: the SHA-1 of the info
	 * dictionary (v1, hybrid), or the v2 info-hash cut to 20 bytes (v2-only). */
	uint8_t info_hash[20];
	char info_hash_hex[41];
	bool has_v1;                   /* 'pieces' and a v1 file list: info_hash is the SHA-1 */
	bool has_v2;                   /* meta version 2: file tree, info_hash_v2, v2 piece hashes */
	uint8_t info_hash_v2[32];      /* SHA-256 of the info dictionary */
	char info_hash_v2_hex[65];
	char *name;                    /* sanitised: file name (single) or folder name (multi) */
	char *display_name;
	uint32_t piece_length;
	uint32_t piece_count;
	uint8_t *piece_hashes;         /* 20 * piece_count bytes (v1); NULL for v2-only */
	/* v2: 32 bytes per piece, each the merkle root of the piece's leaves (a file of one piece:
	 * its pieces root); zero where the file's layer is not known. Files start on piece
	 * boundaries (pad files between them), so every piece lies in one file. NULL for v1. */
	uint8_t *piece_hashes_v2;
	uint64_t total_size;           /* pad files included */
	bool is_private;
	bool multi_file;               /* files live in a folder called name */
	bool hybrid;                   /* has_v1 && has_v2 */
	struct mi_file *files;
	size_t file_count;
	struct mi_tier *tiers;         /* announce-list, or announce as one tier */
	size_t tier_count;
	char **webseeds;               /* url-list (BEP 19) */
	size_t webseed_count;
	char **httpseeds;              /* httpseeds (BEP 17) */
	size_t httpseed_count;
	char *comment;                 /* NULL when absent */
	char *created_by;
	int64_t creation_date;
	bool has_creation_date;
	uint8_t *info_raw;             /* the info dictionary exactly as in the file (ut_metadata) */
	size_t info_len;
};

/* Parses a whole .torrent file. On error returns NULL and writes a one-line reason to err. */
struct metainfo *metainfo_parse(const uint8_t *buf, size_t len, char *err, size_t errlen);
/* Parses a bare info dictionary (from ut_metadata); trackers may be added by the caller. */
struct metainfo *metainfo_parse_info(const uint8_t *info, size_t len, char *err, size_t errlen);
/* Reads and parses a file; the reason names the file on error. */
struct metainfo *metainfo_load(const char *path, char *err, size_t errlen);
void metainfo_free(struct metainfo *mi);

/* The file holding stream offset off (pad files included; empty files never), or file_count. */
size_t metainfo_file_at(const struct metainfo *mi, uint64_t off);
/* v2: the expected merkle root of piece (32 bytes), NULL when not known (or no v2 data). */
const uint8_t *metainfo_piece_hash_v2(const struct metainfo *mi, uint32_t piece);
/* v2: how many bytes of piece are file data (the rest is padding) and the width of its merkle
 * subtree (merkle_piece_width of its file); false when piece holds no file data. */
bool metainfo_piece_v2_span(const struct metainfo *mi, uint32_t piece, uint32_t *data_len,
    uint64_t *width);
/* v2: every file's piece hashes are known (a torrent file with all its piece layers). */
bool metainfo_v2_layers_known(const struct metainfo *mi);

/* One file's entry in BEP 52 'piece layers': its pieces root and count piece hashes. */
struct mi_layer {
	const uint8_t *root;
	const uint8_t *hashes;
	uint64_t count;
};
struct dp_buf;
/* Writes the 'piece layers' key and dictionary: sorted by root (layers is reordered), a layer
 * shared by files with the same content once. */
void metainfo_encode_layers(struct dp_buf *out, struct mi_layer *layers, size_t n);
/* The torrent as a .torrent file (trackers, comment, creator, date, the info dictionary as it
 * came, the piece layers it knows, web seeds); NULL without an info dictionary. */
uint8_t *metainfo_encode(const struct metainfo *mi, size_t *len);

/* Size of piece i (the last one is usually shorter). */
uint32_t metainfo_piece_size(const struct metainfo *mi, uint32_t piece);

/* Path sanitising, exposed for tests: turns one path component into a safe file name
 * (never empty, ".", ".."; no '/' or NUL; valid UTF-8; at most 255 bytes). Returns a new string. */
char *metainfo_sanitize_component(const char *comp, size_t len);

/* One path component as it appears in the torrent (not NUL-terminated). */
struct mi_str {
	const char *s;
	size_t len;
};
/* A safe relative path from components: empty, "." and ".." dropped, the rest sanitised, joined
 * with '/'; "_" when nothing is left. */
char *metainfo_sanitize_path(const struct mi_str *parts, size_t n);

#endif
