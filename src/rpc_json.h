/* rpc_json.h: the RPC's JSON writer: values written in order, either as compact JSON text (the
 * same bytes jansson's json_dumps(JSON_COMPACT) gives) or as a jansson tree; torrent-get's rows
 * go straight to text instead of a json_t per value. Not for use outside src/rpc*.c. */
#ifndef DP_RPC_JSON_H
#define DP_RPC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util.h"

#define RPC_JW_MAX_DEPTH 16

struct rpc_jw {
	struct dp_buf *text;            /* text mode: where the JSON goes; NULL: tree mode */
	bool snake;                     /* text mode: keys in snake_case (JSON-RPC 2.0 answers) */
	int depth;                      /* open containers */
	int base_depth;                 /* the depth the first value sits at (for snake_keys) */
	bool after_key;                 /* a key was written: its value comes next */
	uint32_t has_items;             /* bit d: the container at depth d has a value */
	uint32_t objects;               /* bit d: the container at depth d is an object */
	/* tree mode */
	json_t *stack[RPC_JW_MAX_DEPTH];
	char key[64];                   /* the pending key of an object (tree mode) */
	json_t *root;                   /* the finished value */
};

/* Text into b (appended; b is the caller's), keys snake_cased when snake; base_depth is how
 * deep in the whole answer the first value sits (JSON-RPC converts keys down to a depth). */
void rpc_jw_text(struct rpc_jw *w, struct dp_buf *b, bool snake, int base_depth);
/* A jansson tree: rpc_jw_root takes the finished value (NULL if none). */
void rpc_jw_tree(struct rpc_jw *w);
json_t *rpc_jw_root(struct rpc_jw *w);

void rpc_jw_object(struct rpc_jw *w);
void rpc_jw_array(struct rpc_jw *w);
void rpc_jw_end(struct rpc_jw *w);      /* closes the innermost object or array */
/* An object's key (short: a field name; at most 63 bytes in tree mode). */
void rpc_jw_key(struct rpc_jw *w, const char *key);
void rpc_jw_int(struct rpc_jw *w, int64_t n);
/* Clamped to INT64_MAX, as the RPC always did. */
void rpc_jw_u64(struct rpc_jw *w, uint64_t n);
/* null when not finite (jansson has no such real). */
void rpc_jw_real(struct rpc_jw *w, double d);
void rpc_jw_bool(struct rpc_jw *w, bool b);
void rpc_jw_null(struct rpc_jw *w);
/* Outside text: NULL writes null; bytes that are not UTF-8 each become U+FFFD (jansson refuses
 * such a string, which gave null). */
void rpc_jw_str(struct rpc_jw *w, const char *s);
void rpc_jw_strn(struct rpc_jw *w, const char *s, size_t n);
/* A jansson value (taken: its reference is released); NULL writes null. */
void rpc_jw_json(struct rpc_jw *w, json_t *v);

/* JSON string literal of s (n bytes) appended to b, with the escaping described above. */
void rpc_json_string(struct dp_buf *b, const char *s, size_t n);
/* A real as jansson writes it ("%.17g", ".0" added to whole numbers, exponent without '+' or
 * leading zeros) into out (>= 32 bytes); its length. */
size_t rpc_json_real_text(double d, char *out, size_t outlen);

/* A jansson string of outside text, with the same replacements: never NULL. */
json_t *rpc_json_text(const char *s);
json_t *rpc_json_textn(const char *s, size_t n);

/* camelCase and kebab-case keys to snake_case, for JSON-RPC 2.0 answers: one key (a new
 * string), and every key of a tree down to depth 8 from depth (a new reference). */
char *rpc_json_snake_key(const char *key);
json_t *rpc_json_snake_keys(json_t *v, int depth);

#endif
