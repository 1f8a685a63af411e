/* bencode.h: strict bencode decoder that keeps each value's raw byte span, and a canonical encoder. */
#ifndef DP_BENCODE_H
#define DP_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

enum be_type { BE_INT, BE_STR, BE_LIST, BE_DICT };

struct be_node;

struct be_entry {
	const char *key;        /* points into the input; not NUL-terminated */
	size_t key_len;
	struct be_node *value;
};

struct be_node {
	enum be_type type;
	const uint8_t *raw;     /* this value exactly as it appears in the input */
	size_t raw_len;
	size_t offset;          /* byte offset of raw in the input */
	union {
		int64_t i;
		struct {
			const char *s;  /* points into the input; not NUL-terminated */
			size_t len;
		} str;
		struct {
			struct be_node **items;
			size_t n;
		} list;
		struct {
			struct be_entry *entries;
			size_t n;
			bool unsorted;  /* keys were not in strictly ascending order */
		} dict;
	} v;
};

struct be_limits {
	unsigned max_depth;     /* nesting of lists/dicts */
	size_t max_items;       /* total values in the document */
	bool require_sorted;    /* refuse dictionaries whose keys are out of order */
};
/* depth 64, 4 million items, unsorted dictionaries tolerated. */
extern const struct be_limits be_default_limits;

struct be_error {
	size_t offset;
	char msg[160];
};

/*
 * Decodes exactly one value spanning the whole buffer. Strings and raw spans point into buf,
 * which must outlive the tree. Returns NULL with err filled on any error.
 */
struct be_node *be_decode(const uint8_t *buf, size_t len, const struct be_limits *lim,
    struct be_error *err);
/* Like be_decode but stops after the first value and reports its length in *used. */
struct be_node *be_decode_prefix(const uint8_t *buf, size_t len, const struct be_limits *lim,
    size_t *used, struct be_error *err);
void be_free(struct be_node *n);

/* Lookups: NULL when absent or of another type. */
struct be_node *be_dict_get(const struct be_node *dict, const char *key);
struct be_node *be_dict_get_type(const struct be_node *dict, const char *key, enum be_type t);
/* True when n is a string equal to s. */
bool be_str_eq(const struct be_node *n, const char *s);
/* A NUL-terminated copy of a string node (embedded NULs are kept; check strlen if needed). */
char *be_strdup(const struct be_node *n);
const char *be_type_name(enum be_type t);

/* Encoder: appends to a dp_buf. Dictionary keys must be written in sorted order by the caller. */
void be_enc_int(struct dp_buf *b, int64_t v);
void be_enc_str(struct dp_buf *b, const void *s, size_t len);
void be_enc_cstr(struct dp_buf *b, const char *s);
void be_enc_list_begin(struct dp_buf *b);
void be_enc_dict_begin(struct dp_buf *b);
void be_enc_end(struct dp_buf *b);
/* Re-encodes a decoded tree canonically (dictionary keys sorted). */
void be_enc_node(struct dp_buf *b, const struct be_node *n);

#endif
