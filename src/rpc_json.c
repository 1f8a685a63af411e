/* rpc_json.c: the RPC's JSON writer (text or jansson tree, see rpc_json.h) and the snake_case
 * keys of JSON-RPC 2.0 answers. The text is what json_dumps(JSON_COMPACT) would give for the
 * same tree, so torrent-get's answer did not change when it stopped building one. */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_json.h"

/* ---- text pieces ---- */

static void
rpc_json_add(struct dp_buf *b, const char *s, size_t n)
{
	dp_buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Length of the well-formed UTF-8 sequence at p (left bytes; p[0] >= 0x80): no overlongs,
 * surrogates or code points past U+10FFFF, as jansson checks; 0 if not one. */
static size_t
rpc_json_utf8_len(const unsigned char *p, size_t left)
{
	unsigned c = p[0];
	size_t n;
	unsigned min;
	unsigned cp;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		min = 0x80;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		min = 0x800;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		min = 0x10000;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

void
rpc_json_string(struct dp_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	/* Most names need no escape: the common case is one reservation and one copy. */
	dp_buf_reserve(b, n + 2);
	b->data[b->len++] = '"';
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			rpc_json_add(b, (const char *)run, (size_t)(p - run));
		if (p == end)
			break;
		if (*p >= 0x80) {
			size_t len = rpc_json_utf8_len(p, (size_t)(end - p));
			if (len > 0) {
				rpc_json_add(b, (const char *)p, len);
				p += len;
			} else {
				rpc_json_add(b, "\xEF\xBF\xBD", 3);
				p++;
			}
			continue;
		}
		char esc[6] = { '\\', 0, 0, 0, 0, 0 };
		size_t elen = 2;
		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			elen = 6;
			break;
		}
		rpc_json_add(b, esc, elen);
		p++;
	}
	rpc_json_add(b, "\"", 1);
}

size_t
rpc_json_real_text(double d, char *out, size_t outlen)
{
	int r = snprintf(out, outlen, "%.17g", d);
	if (r < 0 || (size_t)r + 3 > outlen) {
		snprintf(out, outlen, "null");
		return 4;
	}
	size_t len = (size_t)r;
	/* Whole numbers keep a ".0" so that they read back as reals. */
	if (strchr(out, '.') == NULL && strchr(out, 'e') == NULL) {
		memcpy(out + len, ".0", 3);
		len += 2;
	}
	/* No '+' and no leading zeros in the exponent. */
	char *start = strchr(out, 'e');
	if (start != NULL) {
		start++;
		char *end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - out) + 1);
			len -= (size_t)(end - start);
		}
	}
	return len;
}

json_t *
rpc_json_textn(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);
	if (v == NULL) {
		/* Not UTF-8: the text the writer gives, with its replacements. */
		struct dp_buf b;
		dp_buf_init(&b);
		rpc_json_string(&b, s, n);
		v = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY, NULL);
		dp_buf_free(&b);
	}
	return v;
}

json_t *
rpc_json_text(const char *s)
{
	return rpc_json_textn(s, strlen(s));
}

/* ---- snake_case keys ---- */

char *
rpc_json_snake_key(const char *key)
{
	struct dp_buf b;
	dp_buf_init(&b);
	for (const char *p = key; *p != '\0'; p++) {
		if (*p == '-') {
			dp_buf_add(&b, "_", 1);
		} else if (isupper((unsigned char)*p)) {
			char c = (char)tolower((unsigned char)*p);
			if (p != key)
				dp_buf_add(&b, "_", 1);
			dp_buf_add(&b, &c, 1);
		} else {
			dp_buf_add(&b, p, 1);
		}
	}
	return (char *)dp_buf_steal(&b, NULL);
}

json_t *
rpc_json_snake_keys(json_t *v, int depth)
{
	if (depth > 8)
		return json_incref(v);
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *key;
		json_t *x;
		json_object_foreach(v, key, x) {
			char *k = rpc_json_snake_key(key);
			json_object_set_new(o, k, rpc_json_snake_keys(x, depth + 1));
			free(k);
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			json_array_append_new(a, rpc_json_snake_keys(x, depth + 1));
		return a;
	}
	return json_incref(v);
}

/* ---- the writer ---- */

void
rpc_jw_text(struct rpc_jw *w, struct dp_buf *b, bool snake, int base_depth)
{
	memset(w, 0, sizeof *w);
	w->text = b;
	w->snake = snake;
	w->base_depth = base_depth;
}

void
rpc_jw_tree(struct rpc_jw *w)
{
	memset(w, 0, sizeof *w);
}

json_t *
rpc_jw_root(struct rpc_jw *w)
{
	json_t *r = w->root;
	w->root = NULL;
	return r;
}

/* Text mode: the comma before a value that follows another in its container. */
static void
rpc_jw_sep(struct rpc_jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth > 0) {
		uint32_t bit = 1u << w->depth;
		if (w->has_items & bit)
			rpc_json_add(w->text, ",", 1);
		w->has_items |= bit;
	}
}

/* Tree mode: v (taken) put where the next value goes. */
static void
rpc_jw_put(struct rpc_jw *w, json_t *v)
{
	if (v == NULL)
		v = json_null();
	if (w->depth == 0) {
		json_decref(w->root);
		w->root = v;
		return;
	}
	json_t *top = w->stack[w->depth - 1];
	if (json_is_object(top))
		json_object_set_new(top, w->key, v);
	else
		json_array_append_new(top, v);
	w->after_key = false;
}

static void
rpc_jw_open(struct rpc_jw *w, bool object)
{
	if (w->depth >= RPC_JW_MAX_DEPTH - 1)
		abort();        /* the RPC's own shapes are a few levels deep: a bug, not input */
	if (w->text == NULL) {
		json_t *c = object ? json_object() : json_array();
		rpc_jw_put(w, json_incref(c));
		w->stack[w->depth++] = c;
		json_decref(c);   /* its container (or root) holds it */
		return;
	}
	rpc_jw_sep(w);
	rpc_json_add(w->text, object ? "{" : "[", 1);
	w->depth++;
	w->has_items &= ~(1u << w->depth);
	if (object)
		w->objects |= 1u << w->depth;
	else
		w->objects &= ~(1u << w->depth);
}

void
rpc_jw_object(struct rpc_jw *w)
{
	rpc_jw_open(w, true);
}

void
rpc_jw_array(struct rpc_jw *w)
{
	rpc_jw_open(w, false);
}

void
rpc_jw_end(struct rpc_jw *w)
{
	if (w->depth == 0)
		abort();
	if (w->text != NULL)
		rpc_json_add(w->text, w->objects & (1u << w->depth) ? "}" : "]", 1);
	w->depth--;
	w->after_key = false;
}

void
rpc_jw_key(struct rpc_jw *w, const char *key)
{
	if (w->text == NULL) {
		snprintf(w->key, sizeof w->key, "%s", key);
		w->after_key = true;
		return;
	}
	rpc_jw_sep(w);
	/* The object's own depth in the answer decides whether JSON-RPC converts its keys. */
	if (w->snake && w->base_depth + w->depth - 1 <= 8) {
		char *k = rpc_json_snake_key(key);
		rpc_json_string(w->text, k, strlen(k));
		free(k);
	} else {
		rpc_json_string(w->text, key, strlen(key));
	}
	rpc_json_add(w->text, ":", 1);
	w->after_key = true;
}

void
rpc_jw_int(struct rpc_jw *w, int64_t n)
{
	if (w->text == NULL) {
		rpc_jw_put(w, json_integer(n));
		return;
	}
	rpc_jw_sep(w);
	char tmp[24], *p = tmp + sizeof tmp;
	uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (n < 0)
		*--p = '-';
	rpc_json_add(w->text, p, (size_t)(tmp + sizeof tmp - p));
}

void
rpc_jw_u64(struct rpc_jw *w, uint64_t n)
{
	rpc_jw_int(w, n > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)n);
}

void
rpc_jw_real(struct rpc_jw *w, double d)
{
	if (!isfinite(d)) {
		rpc_jw_null(w);
		return;
	}
	if (w->text == NULL) {
		rpc_jw_put(w, json_real(d));
		return;
	}
	rpc_jw_sep(w);
	char tmp[64];
	size_t n = rpc_json_real_text(d, tmp, sizeof tmp);
	rpc_json_add(w->text, tmp, n);
}

void
rpc_jw_bool(struct rpc_jw *w, bool b)
{
	if (w->text == NULL) {
		rpc_jw_put(w, json_boolean(b));
		return;
	}
	rpc_jw_sep(w);
	rpc_json_add(w->text, b ? "true" : "false", b ? 4 : 5);
}

void
rpc_jw_null(struct rpc_jw *w)
{
	if (w->text == NULL) {
		rpc_jw_put(w, json_null());
		return;
	}
	rpc_jw_sep(w);
	rpc_json_add(w->text, "null", 4);
}

void
rpc_jw_strn(struct rpc_jw *w, const char *s, size_t n)
{
	if (s == NULL) {
		rpc_jw_null(w);
		return;
	}
	if (w->text == NULL) {
		rpc_jw_put(w, rpc_json_textn(s, n));
		return;
	}
	rpc_jw_sep(w);
	rpc_json_string(w->text, s, n);
}

void
rpc_jw_str(struct rpc_jw *w, const char *s)
{
	rpc_jw_strn(w, s, s != NULL ? strlen(s) : 0);
}

/* json_dump_callback's sink: the writer's text. */
static int
rpc_jw_dump_cb(const char *buffer, size_t size, void *data)
{
	rpc_json_add(data, buffer, size);
	return 0;
}

void
rpc_jw_json(struct rpc_jw *w, json_t *v)
{
	if (v == NULL) {
		rpc_jw_null(w);
		return;
	}
	if (w->text == NULL) {
		rpc_jw_put(w, v);
		return;
	}
	rpc_jw_sep(w);
	json_t *out = w->snake ? rpc_json_snake_keys(v, w->base_depth + w->depth) : json_incref(v);
	size_t before = w->text->len;
	if (json_dump_callback(out, rpc_jw_dump_cb, w->text, JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
		w->text->len = before;
		rpc_json_add(w->text, "null", 4);
	}
	json_decref(out);
	json_decref(v);
}
