/* bencode.c: the strict bencode decoder (limits, offsets in every error) and canonical encoder. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bencode.h"

const struct be_limits be_default_limits = {
	.max_depth = 64,
	.max_items = 4u << 20,
	.require_sorted = false,
};

struct be_parser {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	size_t items;
	const struct be_limits *lim;
	struct be_error *err;
};

static void
be_fail(struct be_parser *p, size_t offset, const char *fmt, ...) DP_PRINTF(3, 4);

static void
be_fail(struct be_parser *p, size_t offset, const char *fmt, ...)
{
	va_list ap;
	if (p->err == NULL)
		return;
	p->err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
	va_end(ap);
}

/* Parses digits of an integer between pos and the terminator; strict about form. */
static bool
be_parse_int(struct be_parser *p, char term, int64_t *out, bool allow_negative)
{
	size_t start = p->pos;
	bool neg = false;
	uint64_t v = 0;

	if (p->pos < p->len && p->buf[p->pos] == '-') {
		if (!allow_negative) {
			be_fail(p, p->pos, "negative string length");
			return false;
		}
		neg = true;
		p->pos++;
	}
	size_t digits = p->pos;
	while (p->pos < p->len && p->buf[p->pos] >= '0' && p->buf[p->pos] <= '9') {
		unsigned d = p->buf[p->pos] - '0';
		if (v > (UINT64_MAX - d) / 10 || (v * 10 + d) > (uint64_t)INT64_MAX + (neg ? 1 : 0)) {
			be_fail(p, start, "integer out of range");
			return false;
		}
		v = v * 10 + d;
		p->pos++;
	}
	if (p->pos == digits) {
		be_fail(p, p->pos, p->pos >= p->len ? "unexpected end of input in integer" :
		    "expected a digit");
		return false;
	}
	if (p->buf[digits] == '0' && p->pos - digits > 1) {
		be_fail(p, digits, "integer with a leading zero");
		return false;
	}
	if (neg && v == 0) {
		be_fail(p, start, "negative zero");
		return false;
	}
	if (p->pos >= p->len) {
		be_fail(p, p->pos, "unexpected end of input, expected '%c'", term);
		return false;
	}
	if (p->buf[p->pos] != term) {
		be_fail(p, p->pos, "expected '%c' after integer", term);
		return false;
	}
	p->pos++;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool
be_parse_str(struct be_parser *p, const char **s, size_t *len)
{
	int64_t n;
	size_t start = p->pos;
	if (!be_parse_int(p, ':', &n, false))
		return false;
	if ((uint64_t)n > p->len - p->pos) {
		be_fail(p, start, "string length %" PRId64 " runs past the end of input", n);
		return false;
	}
	*s = (const char *)p->buf + p->pos;
	*len = (size_t)n;
	p->pos += (size_t)n;
	return true;
}

static int
be_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, DP_MIN(alen, blen));
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static struct be_node *be_parse_value(struct be_parser *p, unsigned depth);

static int
be_entry_cmp(const void *a, const void *b)
{
	const struct be_entry *x = a, *y = b;
	return be_key_cmp(x->key, x->key_len, y->key, y->key_len);
}

/* Only unsorted dictionaries need this: a sorted copy finds duplicates in O(n log n). */
static bool
be_dict_has_duplicate(const struct be_node *n)
{
	struct be_entry *sorted = xmemdup(n->v.dict.entries, n->v.dict.n * sizeof *sorted);
	bool dup = false;
	qsort(sorted, n->v.dict.n, sizeof *sorted, be_entry_cmp);
	for (size_t i = 1; i < n->v.dict.n && !dup; i++)
		dup = be_entry_cmp(&sorted[i - 1], &sorted[i]) == 0;
	free(sorted);
	return dup;
}

static struct be_node *
be_parse_container(struct be_parser *p, struct be_node *n, unsigned depth)
{
	size_t cap = 0;
	p->pos++;
	for (;;) {
		if (p->pos >= p->len) {
			be_fail(p, p->pos, "unexpected end of input in %s", be_type_name(n->type));
			return NULL;
		}
		if (p->buf[p->pos] == 'e') {
			p->pos++;
			if (n->type == BE_DICT && n->v.dict.unsorted && be_dict_has_duplicate(n)) {
				be_fail(p, n->offset, "duplicate key in unsorted dictionary");
				return NULL;
			}
			return n;
		}
		if (n->type == BE_LIST) {
			struct be_node *child = be_parse_value(p, depth + 1);
			if (child == NULL)
				return NULL;
			if (n->v.list.n == cap) {
				cap = cap ? cap * 2 : 4;
				n->v.list.items = xreallocarray(n->v.list.items, cap, sizeof *n->v.list.items);
			}
			n->v.list.items[n->v.list.n++] = child;
			continue;
		}
		size_t key_off = p->pos;
		const char *key;
		size_t key_len;
		if (p->buf[p->pos] < '0' || p->buf[p->pos] > '9') {
			be_fail(p, p->pos, "dictionary key is not a string");
			return NULL;
		}
		if (!be_parse_str(p, &key, &key_len))
			return NULL;
		if (n->v.dict.n > 0) {
			struct be_entry *last = &n->v.dict.entries[n->v.dict.n - 1];
			int c = be_key_cmp(last->key, last->key_len, key, key_len);
			if (c >= 0) {
				if (p->lim->require_sorted) {
					be_fail(p, key_off, c == 0 ? "duplicate dictionary key" :
					    "dictionary keys not in sorted order");
					return NULL;
				}
				n->v.dict.unsorted = true;
				if (c == 0) {
					be_fail(p, key_off, "duplicate dictionary key '%.*s'",
					    (int)DP_MIN(key_len, 64), key);
					return NULL;
				}
			}
		}
		if (p->pos >= p->len || p->buf[p->pos] == 'e') {
			be_fail(p, p->pos, "dictionary key without a value");
			return NULL;
		}
		struct be_node *child = be_parse_value(p, depth + 1);
		if (child == NULL)
			return NULL;
		if (n->v.dict.n == cap) {
			cap = cap ? cap * 2 : 4;
			n->v.dict.entries = xreallocarray(n->v.dict.entries, cap, sizeof *n->v.dict.entries);
		}
		n->v.dict.entries[n->v.dict.n++] = (struct be_entry){ key, key_len, child };
	}
}

static struct be_node *
be_parse_value(struct be_parser *p, unsigned depth)
{
	if (p->pos >= p->len) {
		be_fail(p, p->pos, "unexpected end of input");
		return NULL;
	}
	uint8_t first = p->buf[p->pos];
	if ((first == 'l' || first == 'd') && depth >= p->lim->max_depth) {
		be_fail(p, p->pos, "nesting deeper than %u levels", p->lim->max_depth);
		return NULL;
	}
	if (++p->items > p->lim->max_items) {
		be_fail(p, p->pos, "more than %zu values", p->lim->max_items);
		return NULL;
	}
	struct be_node *n = xcalloc(1, sizeof *n);
	size_t start = p->pos;
	n->offset = start;
	uint8_t c = p->buf[p->pos];
	bool ok;
	if (c == 'i') {
		n->type = BE_INT;
		p->pos++;
		ok = be_parse_int(p, 'e', &n->v.i, true);
	} else if (c >= '0' && c <= '9') {
		n->type = BE_STR;
		ok = be_parse_str(p, &n->v.str.s, &n->v.str.len);
	} else if (c == 'l' || c == 'd') {
		n->type = c == 'l' ? BE_LIST : BE_DICT;
		ok = be_parse_container(p, n, depth) != NULL;
	} else {
		be_fail(p, p->pos, "unexpected byte 0x%02x", c);
		ok = false;
	}
	if (!ok) {
		be_free(n);
		return NULL;
	}
	n->raw = p->buf + start;
	n->raw_len = p->pos - start;
	return n;
}

struct be_node *
be_decode_prefix(const uint8_t *buf, size_t len, const struct be_limits *lim, size_t *used,
    struct be_error *err)
{
	struct be_parser p = { buf, len, 0, 0, lim ? lim : &be_default_limits, err };
	if (len == 0) {
		be_fail(&p, 0, "empty input");
		return NULL;
	}
	struct be_node *n = be_parse_value(&p, 0);
	if (n != NULL && used != NULL)
		*used = p.pos;
	return n;
}

struct be_node *
be_decode(const uint8_t *buf, size_t len, const struct be_limits *lim, struct be_error *err)
{
	size_t used;
	struct be_node *n = be_decode_prefix(buf, len, lim, &used, err);
	if (n != NULL && used != len) {
		if (err != NULL) {
			err->offset = used;
			snprintf(err->msg, sizeof err->msg, "trailing data after the value (%zu bytes)",
			    len - used);
		}
		be_free(n);
		return NULL;
	}
	return n;
}

void
be_free(struct be_node *n)
{
	if (n == NULL)
		return;
	if (n->type == BE_LIST) {
		for (size_t i = 0; i < n->v.list.n; i++)
			be_free(n->v.list.items[i]);
		free(n->v.list.items);
	} else if (n->type == BE_DICT) {
		for (size_t i = 0; i < n->v.dict.n; i++)
			be_free(n->v.dict.entries[i].value);
		free(n->v.dict.entries);
	}
	free(n);
}

struct be_node *
be_dict_get(const struct be_node *dict, const char *key)
{
	if (dict == NULL || dict->type != BE_DICT)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < dict->v.dict.n; i++) {
		const struct be_entry *e = &dict->v.dict.entries[i];
		if (e->key_len == klen && memcmp(e->key, key, klen) == 0)
			return e->value;
	}
	return NULL;
}

struct be_node *
be_dict_get_type(const struct be_node *dict, const char *key, enum be_type t)
{
	struct be_node *n = be_dict_get(dict, key);
	return n != NULL && n->type == t ? n : NULL;
}

bool
be_str_eq(const struct be_node *n, const char *s)
{
	return n != NULL && n->type == BE_STR && n->v.str.len == strlen(s) &&
	    memcmp(n->v.str.s, s, n->v.str.len) == 0;
}

char *
be_strdup(const struct be_node *n)
{
	if (n == NULL || n->type != BE_STR)
		return xstrdup("");
	char *s = xmalloc(n->v.str.len + 1);
	memcpy(s, n->v.str.s, n->v.str.len);
	s[n->v.str.len] = '\0';
	return s;
}

const char *
be_type_name(enum be_type t)
{
	switch (t) {
	case BE_INT: return "integer";
	case BE_STR: return "string";
	case BE_LIST: return "list";
	case BE_DICT: return "dictionary";
	}
	return "?";
}

void
be_enc_int(struct dp_buf *b, int64_t v)
{
	dp_buf_printf(b, "i%" PRId64 "e", v);
}

void
be_enc_str(struct dp_buf *b, const void *s, size_t len)
{
	dp_buf_printf(b, "%zu:", len);
	dp_buf_add(b, s, len);
}

void
be_enc_cstr(struct dp_buf *b, const char *s)
{
	be_enc_str(b, s, strlen(s));
}

void
be_enc_list_begin(struct dp_buf *b)
{
	dp_buf_add(b, "l", 1);
}

void
be_enc_dict_begin(struct dp_buf *b)
{
	dp_buf_add(b, "d", 1);
}

void
be_enc_end(struct dp_buf *b)
{
	dp_buf_add(b, "e", 1);
}

void
be_enc_node(struct dp_buf *b, const struct be_node *n)
{
	switch (n->type) {
	case BE_INT:
		be_enc_int(b, n->v.i);
		break;
	case BE_STR:
		be_enc_str(b, n->v.str.s, n->v.str.len);
		break;
	case BE_LIST:
		be_enc_list_begin(b);
		for (size_t i = 0; i < n->v.list.n; i++)
			be_enc_node(b, n->v.list.items[i]);
		be_enc_end(b);
		break;
	case BE_DICT: {
		struct be_entry *sorted = xmemdup(n->v.dict.entries,
		    n->v.dict.n * sizeof *n->v.dict.entries);
		qsort(sorted, n->v.dict.n, sizeof *sorted, be_entry_cmp);
		be_enc_dict_begin(b);
		for (size_t i = 0; i < n->v.dict.n; i++) {
			be_enc_str(b, sorted[i].key, sorted[i].key_len);
			be_enc_node(b, sorted[i].value);
		}
		be_enc_end(b);
		free(sorted);
		break;
	}
	}
}
