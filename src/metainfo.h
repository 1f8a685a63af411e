/* metainfo.h: parsed .torrent files (BEP 3, 12, 19, 27, 47): validated, with sanitised paths. */
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
};

struct mi_tier {
	char **urls;
	size_t count;
};

struct metainfo {
	uint8_t info_hash[20];         /* SHA-1 of the info dictionary's raw bytes */
	char info_hash_hex[41];
	char *name;                    /* sanitised: file name (single) or folder name (multi) */
	char *display_name;
	uint32_t piece_length;
	uint32_t piece_count;
	uint8_t *piece_hashes;         /* 20 * piece_count bytes */
	uint64_t total_size;           /* pad files included */
	bool is_private;
	bool multi_file;               /* files live in a folder called name */
	bool hybrid;                   /* also carries v2 data; loaded as v1 */
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

/* Size of piece i (the last one is usually shorter). */
uint32_t metainfo_piece_size(const struct metainfo *mi, uint32_t piece);

/* Path sanitising, exposed for tests: turns one path component into a safe file name
 * (never empty, ".", ".."; no '/' or NUL; valid UTF-8; at most 255 bytes). Returns a new string. */
char *metainfo_sanitize_component(const char *comp, size_t len);

#endif
