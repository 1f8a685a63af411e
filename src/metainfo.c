/* metainfo.c: .torrent parsing and validation (BEP 3, 12, 17, 19, 27, 47), the info-hash, and the
 * path sanitising that keeps every file inside the download directory; the v2 parts of BEP 52
 * live in metainfo_v2.c. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bencode.h"
#include "log.h"
#include "merkle.h"
#include "metainfo.h"
#include "metainfo_private.h"
#include "util.h"

#define MI_MAX_PIECE_LENGTH (256u << 20)
#define MI_MAX_COMPONENT 255
/* A dot-suffix longer than this is not treated as an extension worth keeping. */
#define MI_MAX_EXTENSION 32

/* "an integer", "a list", ...: for messages. */
static const char *
mi_a_type(enum be_type t)
{
	return t == BE_INT ? "an integer" : t == BE_STR ? "a string" : t == BE_LIST ? "a list" :
	    "a dictionary";
}

/* Length of the well-formed UTF-8 sequence at s (no overlongs, surrogates or > U+10FFFF),
 * or 0 when the bytes there are not one. */
static size_t
mi_utf8_seq_len(const uint8_t *s, size_t n)
{
	if (n == 0)
		return 0;
	uint8_t c = s[0];
	if (c < 0x80)
		return 1;
	size_t need;
	uint8_t lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

static bool
mi_utf8_valid(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	while (i < n) {
		size_t k = mi_utf8_seq_len(p + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

static bool
mi_utf8_str_valid(const struct be_node *n)
{
	return n != NULL && n->type == BE_STR && mi_utf8_valid(n->v.str.s, n->v.str.len);
}

/* Backs a cut position up to the start of a UTF-8 sequence in valid UTF-8 text. */
static size_t
mi_utf8_floor(const char *s, size_t pos)
{
	while (pos > 0 && ((uint8_t)s[pos] & 0xc0) == 0x80)
		pos--;
	return pos;
}

/* Where the kept extension of a file name starts (its last dot), or len when there is none. */
static size_t
mi_extension_start(const char *s, size_t len)
{
	for (size_t i = len; i > 1; i--) {
		if (s[i - 1] == '.')
			return len - (i - 1) <= MI_MAX_EXTENSION ? i - 1 : len;
	}
	return len;
}

/* stem (valid UTF-8, stem_len bytes) + suffix, with the stem cut so the whole fits in 255 bytes. */
static char *
mi_component_join(const char *stem, size_t stem_len, const char *suffix)
{
	size_t slen = strlen(suffix);
	if (stem_len + slen > MI_MAX_COMPONENT) {
		size_t room = slen < MI_MAX_COMPONENT ? MI_MAX_COMPONENT - slen : 0;
		stem_len = mi_utf8_floor(stem, DP_MIN(stem_len, room));
	}
	if (stem_len == 0 && slen == 0)
		return xstrdup("_");
	char *out = xmalloc(stem_len + slen + 1);
	memcpy(out, stem, stem_len);
	memcpy(out + stem_len, suffix, slen + 1);
	return out;
}

char *
metainfo_sanitize_component(const char *comp, size_t len)
{
	const uint8_t *p = (const uint8_t *)comp;
	struct dp_buf b;
	dp_buf_init(&b);
	size_t i = 0;
	while (i < len) {
		size_t k = mi_utf8_seq_len(p + i, len - i);
		if (k == 0) {
			/* Not UTF-8: each offending byte becomes one replacement character. */
			dp_buf_add(&b, "_", 1);
			i++;
			continue;
		}
		if (k == 1 && (p[i] == '/' || p[i] < 0x20 || p[i] == 0x7f))
			dp_buf_add(&b, "_", 1);
		else
			dp_buf_add(&b, p + i, k);
		i += k;
	}
	char *s = (char *)dp_buf_steal(&b, &len);
	if (len == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		free(s);
		return xstrdup("_");
	}
	if (len > MI_MAX_COMPONENT) {
		size_t ext = mi_extension_start(s, len);
		char *out = mi_component_join(s, ext, s + ext);
		free(s);
		return out;
	}
	return s;
}

/* A set of strings (open addressing), each with a number: used to make file paths distinct
 * (the number is the last suffix tried for a path) and to de-duplicate URLs. */
struct mi_entry {
	const char *s;
	unsigned long n;
};

struct mi_set {
	struct mi_entry *slots;
	size_t cap;
	size_t n;
};

static uint64_t
mi_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static struct mi_entry *
mi_set_find(const struct mi_set *set, const char *s)
{
	if (set->cap == 0)
		return NULL;
	for (size_t i = mi_hash_str(s) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		if (set->slots[i].s == NULL)
			return NULL;
		if (strcmp(set->slots[i].s, s) == 0)
			return &set->slots[i];
	}
}

static bool
mi_set_has(const struct mi_set *set, const char *s)
{
	return mi_set_find(set, s) != NULL;
}

/* Adds s (not copied: it must outlive the set) unless present; returns its entry. */
static struct mi_entry *
mi_set_add(struct mi_set *set, const char *s)
{
	if ((set->n + 1) * 2 > set->cap) {
		struct mi_set bigger = { NULL, set->cap ? set->cap * 2 : 64, 0 };
		bigger.slots = xcalloc(bigger.cap, sizeof *bigger.slots);
		for (size_t i = 0; i < set->cap; i++)
			if (set->slots[i].s != NULL)
				mi_set_add(&bigger, set->slots[i].s)->n = set->slots[i].n;
		free(set->slots);
		*set = bigger;
	}
	size_t i = mi_hash_str(s) & (set->cap - 1);
	for (; set->slots[i].s != NULL; i = (i + 1) & (set->cap - 1))
		if (strcmp(set->slots[i].s, s) == 0)
			return &set->slots[i];
	set->slots[i].s = s;
	set->slots[i].n = 0;
	set->n++;
	return &set->slots[i];
}

static void
mi_set_free(struct mi_set *set)
{
	free(set->slots);
	set->slots = NULL;
	set->cap = set->n = 0;
}

void
metainfo_free(struct metainfo *mi)
{
	if (mi == NULL)
		return;
	free(mi->name);
	free(mi->display_name);
	free(mi->piece_hashes);
	free(mi->piece_hashes_v2);
	for (size_t i = 0; i < mi->file_count; i++) {
		free(mi->files[i].path);
		free(mi->files[i].display_path);
		free(mi->files[i].symlink_target);
	}
	free(mi->files);
	for (size_t i = 0; i < mi->tier_count; i++) {
		for (size_t j = 0; j < mi->tiers[i].count; j++)
			free(mi->tiers[i].urls[j]);
		free(mi->tiers[i].urls);
	}
	free(mi->tiers);
	for (size_t i = 0; i < mi->webseed_count; i++)
		free(mi->webseeds[i]);
	free(mi->webseeds);
	for (size_t i = 0; i < mi->httpseed_count; i++)
		free(mi->httpseeds[i]);
	free(mi->httpseeds);
	free(mi->comment);
	free(mi->created_by);
	free(mi->info_raw);
	free(mi);
}

/* The utf-8 variant of a key when it is a valid UTF-8 string, else the plain key's string. */
static const struct be_node *
mi_get_text(const struct be_node *dict, const char *key, const char *key_utf8)
{
	const struct be_node *u = be_dict_get(dict, key_utf8);
	if (mi_utf8_str_valid(u))
		return u;
	return be_dict_get_type(dict, key, BE_STR);
}

/* Joins a path list's raw components with '/' for display. */
static char *
mi_join_display(const struct be_node *list)
{
	struct dp_buf b;
	dp_buf_init(&b);
	for (size_t i = 0; i < list->v.list.n; i++) {
		const struct be_node *c = list->v.list.items[i];
		if (i > 0)
			dp_buf_add(&b, "/", 1);
		dp_buf_add(&b, c->v.str.s, c->v.str.len);
	}
	size_t len;
	char *s = (char *)dp_buf_steal(&b, &len);
	return s;
}

static bool
mi_path_list_ok(const struct be_node *list)
{
	if (list == NULL || list->type != BE_LIST || list->v.list.n == 0)
		return false;
	for (size_t i = 0; i < list->v.list.n; i++)
		if (list->v.list.items[i]->type != BE_STR)
			return false;
	return true;
}

char *
metainfo_sanitize_path(const struct mi_str *parts, size_t n)
{
	struct dp_buf b;
	dp_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		size_t len = parts[i].len;
		const char *s = parts[i].s;
		if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			continue;
		char *safe = metainfo_sanitize_component(s, len);
		if (b.len > 0)
			dp_buf_add(&b, "/", 1);
		dp_buf_add_str(&b, safe);
		free(safe);
	}
	if (b.len == 0)
		dp_buf_add(&b, "_", 1);
	size_t len;
	return (char *)dp_buf_steal(&b, &len);
}

/* A v1 path list (checked by mi_path_list_ok) made safe. */
static char *
mi_sanitize_path(const struct be_node *list)
{
	struct mi_str *parts = xcalloc(list->v.list.n, sizeof *parts);
	for (size_t i = 0; i < list->v.list.n; i++) {
		parts[i].s = list->v.list.items[i]->v.str.s;
		parts[i].len = list->v.list.items[i]->v.str.len;
	}
	char *out = metainfo_sanitize_path(parts, list->v.list.n);
	free(parts);
	return out;
}

/* path with ".N" inserted before the extension of its last component. */
static char *
mi_path_with_number(const char *path, unsigned long n)
{
	const char *slash = strrchr(path, '/');
	const char *last = slash ? slash + 1 : path;
	size_t last_len = strlen(last);
	size_t ext = mi_extension_start(last, last_len);
	char *suffix = xasprintf(".%lu%s", n, last + ext);
	char *comp = mi_component_join(last, ext, suffix);
	char *out = xasprintf("%.*s%s", (int)(last - path), path, comp);
	free(suffix);
	free(comp);
	return out;
}

/*
 * Makes the sanitised paths distinct: a path already taken by an earlier file, or equal to a
 * folder that some file lives in, gets a number before its extension. Pad files are never
 * written to disk, so they take no part.
 */
static void
mi_make_paths_distinct(struct metainfo *mi)
{
	struct mi_set dirs = { 0 }, used = { 0 };
	struct dp_buf prefixes;
	dp_buf_init(&prefixes);
	/* Every folder prefix, stored NUL-separated in one buffer; offsets first, pointers later
	 * because the buffer moves while it grows. */
	size_t *offs = NULL, noffs = 0, capoffs = 0;
	for (size_t i = 0; i < mi->file_count; i++) {
		if (mi->files[i].pad)
			continue;
		const char *p = mi->files[i].path;
		for (const char *q = strchr(p, '/'); q != NULL; q = strchr(q + 1, '/')) {
			if (noffs == capoffs) {
				capoffs = capoffs ? capoffs * 2 : 64;
				offs = xreallocarray(offs, capoffs, sizeof *offs);
			}
			offs[noffs++] = prefixes.len;
			dp_buf_add(&prefixes, p, (size_t)(q - p));
			dp_buf_add(&prefixes, "", 1);
		}
	}
	for (size_t i = 0; i < noffs; i++)
		mi_set_add(&dirs, (const char *)prefixes.data + offs[i]);
	free(offs);

	/* tried: for each path that collided, the last number tried, so a thousand copies of one
	 * name cost a thousand probes, not half a million. */
	struct mi_set tried = { 0 };
	char **replaced = NULL;
	size_t nreplaced = 0, capreplaced = 0;
	for (size_t i = 0; i < mi->file_count; i++) {
		struct mi_file *f = &mi->files[i];
		if (f->pad)
			continue;
		if (mi_set_has(&used, f->path) || mi_set_has(&dirs, f->path)) {
			struct mi_entry *t = mi_set_add(&tried, f->path);
			for (unsigned long n = t->n + 1;; n++) {
				char *cand = mi_path_with_number(f->path, n);
				if (!mi_set_has(&used, cand) && !mi_set_has(&dirs, cand)) {
					log_debug("metainfo: '%s' renamed to '%s' to keep paths distinct",
					    f->path, cand);
					t->n = n;
					/* the old string is a key in tried: freed at the end */
					if (nreplaced == capreplaced) {
						capreplaced = capreplaced ? capreplaced * 2 : 16;
						replaced = xreallocarray(replaced, capreplaced,
						    sizeof *replaced);
					}
					replaced[nreplaced++] = f->path;
					f->path = cand;
					break;
				}
				free(cand);
			}
		}
		mi_set_add(&used, f->path);
	}
	mi_set_free(&tried);
	for (size_t i = 0; i < nreplaced; i++)
		free(replaced[i]);
	free(replaced);
	mi_set_free(&dirs);
	mi_set_free(&used);
	dp_buf_free(&prefixes);
}

/* A URL string with surrounding white space trimmed; NULL when empty or holding a NUL byte. */
static char *
mi_url_dup(const struct be_node *n)
{
	if (n == NULL || n->type != BE_STR)
		return NULL;
	const char *s = n->v.str.s;
	size_t len = n->v.str.len;
	if (memchr(s, '\0', len) != NULL)
		return NULL;
	while (len > 0 && (*s == ' ' || (*s >= '\t' && *s <= '\r'))) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || (s[len - 1] >= '\t' && s[len - 1] <= '\r')))
		len--;
	if (len == 0)
		return NULL;
	return xstrndup(s, len);
}

static void
mi_push_str(char ***arr, size_t *count, size_t *cap, char *s)
{
	if (*count == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*arr = xreallocarray(*arr, *cap, sizeof **arr);
	}
	(*arr)[(*count)++] = s;
}

/* Adds url to a list unless the set has it already; takes ownership of url. */
static void
mi_push_url(struct mi_set *seen, char ***arr, size_t *count, size_t *cap, char *url)
{
	if (url == NULL)
		return;
	if (mi_set_has(seen, url)) {
		free(url);
		return;
	}
	mi_push_str(arr, count, cap, url);
	mi_set_add(seen, url);
}

/* announce-list (BEP 12) as tiers, or announce as one tier; duplicates and blanks dropped. */
static void
mi_parse_trackers(struct metainfo *mi, const struct be_node *root)
{
	struct mi_set seen = { 0 };
	size_t cap_tiers = 0;
	const struct be_node *al = be_dict_get_type(root, "announce-list", BE_LIST);
	for (size_t i = 0; al != NULL && i < al->v.list.n; i++) {
		const struct be_node *tier = al->v.list.items[i];
		char **urls = NULL;
		size_t count = 0, cap = 0;
		if (tier->type == BE_LIST) {
			for (size_t j = 0; j < tier->v.list.n; j++)
				mi_push_url(&seen, &urls, &count, &cap, mi_url_dup(tier->v.list.items[j]));
		} else
			mi_push_url(&seen, &urls, &count, &cap, mi_url_dup(tier));
		if (count == 0) {
			free(urls);
			continue;
		}
		if (mi->tier_count == cap_tiers) {
			cap_tiers = cap_tiers ? cap_tiers * 2 : 4;
			mi->tiers = xreallocarray(mi->tiers, cap_tiers, sizeof *mi->tiers);
		}
		mi->tiers[mi->tier_count].urls = urls;
		mi->tiers[mi->tier_count].count = count;
		mi->tier_count++;
	}
	if (mi->tier_count == 0) {
		char *url = mi_url_dup(be_dict_get(root, "announce"));
		if (url != NULL) {
			mi->tiers = xcalloc(1, sizeof *mi->tiers);
			mi->tiers[0].urls = xcalloc(1, sizeof(char *));
			mi->tiers[0].urls[0] = url;
			mi->tiers[0].count = 1;
			mi->tier_count = 1;
		}
	}
	mi_set_free(&seen);
}

/* A string or a list of strings (url-list, httpseeds) as de-duplicated URLs. */
static void
mi_parse_url_list(const struct be_node *n, char ***arr, size_t *count)
{
	struct mi_set seen = { 0 };
	size_t cap = 0;
	if (n == NULL)
		return;
	if (n->type == BE_STR)
		mi_push_url(&seen, arr, count, &cap, mi_url_dup(n));
	else if (n->type == BE_LIST)
		for (size_t i = 0; i < n->v.list.n; i++)
			mi_push_url(&seen, arr, count, &cap, mi_url_dup(n->v.list.items[i]));
	mi_set_free(&seen);
}

static bool
mi_attr_has(const struct be_node *file, char flag)
{
	const struct be_node *attr = be_dict_get_type(file, "attr", BE_STR);
	return attr != NULL && memchr(attr->v.str.s, flag, attr->v.str.len) != NULL;
}

/* BitComet's padding files predate BEP 47's attr: a component named "_____padding_file_..."
 * (libtorrent and BEP 47's own notes treat them as pad files too). */
static bool
mi_bitcomet_pad(const struct be_node *path)
{
	static const char mark[] = "_____padding_file_";
	for (size_t i = 0; i < path->v.list.n; i++) {
		const struct be_node *c = path->v.list.items[i];
		if (c->v.str.len >= sizeof mark - 1 && memmem(c->v.str.s, c->v.str.len, mark,
		    sizeof mark - 1) != NULL)
			return true;
	}
	return false;
}

/* The file list of a multi-file info dictionary. */
static bool
mi_parse_files(struct metainfo *mi, const struct be_node *files, char *err, size_t errlen)
{
	if (files->type != BE_LIST) {
		dp_fail(err, errlen, "'files' is %s, not a list", mi_a_type(files->type));
		return false;
	}
	if (files->v.list.n == 0) {
		dp_fail(err, errlen, "the torrent lists no files");
		return false;
	}
	mi->files = xcalloc(files->v.list.n, sizeof *mi->files);
	uint64_t offset = 0;
	for (size_t i = 0; i < files->v.list.n; i++) {
		const struct be_node *f = files->v.list.items[i];
		if (f->type != BE_DICT) {
			dp_fail(err, errlen, "file %zu is %s, not a dictionary", i,
			    mi_a_type(f->type));
			return false;
		}
		/* A BEP 47 symbolic link (attr 'l') holds no data: its length is 0 whatever it
		 * says, and it may say nothing, as libtorrent reads it. */
		bool is_link = mi_attr_has(f, 'l');
		const struct be_node *len = be_dict_get(f, "length");
		int64_t length = 0;
		if (!is_link && (len == NULL || len->type != BE_INT)) {
			dp_fail(err, errlen, "file %zu: 'length' is %s", i,
			    len == NULL ? "missing" : "not an integer");
			return false;
		}
		if (!is_link && len->v.i < 0) {
			dp_fail(err, errlen, "file %zu: negative length %" PRId64, i, len->v.i);
			return false;
		}
		if (!is_link)
			length = len->v.i;
		const struct be_node *path = be_dict_get(f, "path.utf-8");
		if (!mi_path_list_ok(path))
			path = NULL;
		for (size_t j = 0; path != NULL && j < path->v.list.n; j++)
			if (!mi_utf8_str_valid(path->v.list.items[j]))
				path = NULL;
		if (path == NULL)
			path = be_dict_get(f, "path");
		if ((path == NULL || (path->type == BE_LIST && path->v.list.n == 0)) &&
		    mi_attr_has(f, 'p')) {
			/* A pad file is never written: it needs no name (BEP 47 allows leaving it
			 * out, or empty; libtorrent does too). */
			if ((uint64_t)length > (uint64_t)INT64_MAX - offset) {
				dp_fail(err, errlen, "total size overflows");
				return false;
			}
			struct mi_file *mf = &mi->files[mi->file_count++];
			mf->path = xasprintf(".pad/%" PRId64, length);
			mf->display_path = xstrdup(mf->path);
			mf->length = (uint64_t)length;
			mf->offset = offset;
			mf->pad = true;
			offset += mf->length;
			continue;
		}
		if (path == NULL) {
			dp_fail(err, errlen, "file %zu: 'path' is missing", i);
			return false;
		}
		if (!mi_path_list_ok(path)) {
			dp_fail(err, errlen, "file %zu: 'path' is not a non-empty list of strings", i);
			return false;
		}
		if ((uint64_t)length > (uint64_t)INT64_MAX - offset) {
			dp_fail(err, errlen, "total size overflows");
			return false;
		}
		struct mi_file *mf = &mi->files[mi->file_count++];
		mf->path = mi_sanitize_path(path);
		mf->display_path = mi_join_display(path);
		mf->length = (uint64_t)length;
		mf->offset = offset;
		mf->pad = mi_attr_has(f, 'p') || mi_bitcomet_pad(path);
		/* Without a target it is an empty file, as in libtorrent. */
		const struct be_node *target = be_dict_get(f, "symlink path");
		if (is_link && mi_path_list_ok(target)) {
			mf->symlink = true;
			mf->symlink_target = mi_join_display(target);
		}
		offset += mf->length;
	}
	mi->total_size = offset;
	mi->multi_file = true;
	return true;
}

static void
mi_compute_hash(struct metainfo *mi)
{
	unsigned int mdlen = 0;
	if (EVP_Digest(mi->info_raw, mi->info_len, mi->info_hash, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20) {
		/* SHA-1 from the default provider cannot fail short of a broken OpenSSL. */
		log_error("metainfo: OpenSSL SHA-1 failed");
		abort();
	}
	dp_hex_encode(mi->info_hash, 20, mi->info_hash_hex);
}

/* The v1 file list: 'files' or 'length' (single file), and the 'pieces' that must cover it. */
static bool
mi_parse_v1(struct metainfo *mi, const struct be_node *info, char *err, size_t errlen)
{
	const struct be_node *pieces = be_dict_get(info, "pieces");
	const struct be_node *length = be_dict_get(info, "length");
	const struct be_node *files = be_dict_get(info, "files");
	if (pieces == NULL) {
		dp_fail(err, errlen, "'pieces' is missing");
		return false;
	}
	if (pieces->type != BE_STR) {
		dp_fail(err, errlen, "'pieces' is %s, not a string", mi_a_type(pieces->type));
		return false;
	}
	if (pieces->v.str.len % 20 != 0) {
		dp_fail(err, errlen, "'pieces' is %zu bytes, not a multiple of 20", pieces->v.str.len);
		return false;
	}
	if (files != NULL && length != NULL) {
		dp_fail(err, errlen, "the info dictionary has both 'length' and 'files'");
		return false;
	}
	if (files != NULL) {
		if (!mi_parse_files(mi, files, err, errlen))
			return false;
	} else if (length != NULL) {
		if (length->type != BE_INT) {
			dp_fail(err, errlen, "'length' is %s, not an integer",
			    mi_a_type(length->type));
			return false;
		}
		if (length->v.i < 0) {
			dp_fail(err, errlen, "negative length %" PRId64, length->v.i);
			return false;
		}
		mi->files = xcalloc(1, sizeof *mi->files);
		mi->file_count = 1;
		mi->files[0].path = xstrdup(mi->name);
		mi->files[0].display_path = xstrdup(mi->display_name);
		mi->files[0].length = (uint64_t)length->v.i;
		mi->total_size = (uint64_t)length->v.i;
	} else {
		dp_fail(err, errlen, "the info dictionary has neither 'length' nor 'files'");
		return false;
	}
	if (mi->total_size == 0) {
		dp_fail(err, errlen, "the torrent's total size is zero");
		return false;
	}
	uint64_t count = (mi->total_size + mi->piece_length - 1) / mi->piece_length;
	if (count > UINT32_MAX) {
		dp_fail(err, errlen, "%" PRIu64 " pieces is too many", count);
		return false;
	}
	if (count != pieces->v.str.len / 20) {
		dp_fail(err, errlen, "'pieces' holds %zu hashes but %" PRIu64 " bytes in pieces of %"
		    PRIu32 " need %" PRIu64, pieces->v.str.len / 20, mi->total_size,
		    mi->piece_length, count);
		return false;
	}
	mi->piece_count = (uint32_t)count;
	mi->piece_hashes = xmemdup(pieces->v.str.s, pieces->v.str.len);
	return true;
}

/* Everything that lives inside the info dictionary. */
static struct metainfo *
mi_parse_info_node(const struct be_node *info, char *err, size_t errlen)
{
	if (info->type != BE_DICT) {
		dp_fail(err, errlen, "'info' is %s, not a dictionary", mi_a_type(info->type));
		return NULL;
	}
	const struct be_node *version = be_dict_get_type(info, "meta version", BE_INT);
	if (version != NULL && version->v.i != 1 && version->v.i != 2) {
		dp_fail(err, errlen, "unknown meta version %" PRId64, version->v.i);
		return NULL;
	}
	/* v1 data is whatever of 'pieces', 'length' and 'files' is there; a v1 torrent (no meta
	 * version 2) keeps its old meaning even when it carries a stray 'file tree'. */
	bool v2 = version != NULL && version->v.i == 2;
	bool v1 = !v2 || be_dict_get(info, "pieces") != NULL || be_dict_get(info, "length") !=
	    NULL || be_dict_get(info, "files") != NULL;

	const struct be_node *pl = be_dict_get(info, "piece length");
	if (pl == NULL) {
		dp_fail(err, errlen, "'piece length' is missing");
		return NULL;
	}
	if (pl->type != BE_INT) {
		dp_fail(err, errlen, "'piece length' is %s, not an integer", mi_a_type(pl->type));
		return NULL;
	}
	if (pl->v.i <= 0) {
		dp_fail(err, errlen, "'piece length' %" PRId64 " is not positive", pl->v.i);
		return NULL;
	}
	if (pl->v.i > (int64_t)MI_MAX_PIECE_LENGTH) {
		dp_fail(err, errlen, "'piece length' %" PRId64 " is over the 256 MiB limit", pl->v.i);
		return NULL;
	}
	if (v2 && (pl->v.i < 16384 || (pl->v.i & (pl->v.i - 1)) != 0)) {
		dp_fail(err, errlen, "'piece length' %" PRId64 " of a v2 torrent is not a power of "
		    "two of at least 16 KiB", pl->v.i);
		return NULL;
	}

	const struct be_node *name = mi_get_text(info, "name", "name.utf-8");
	if (name == NULL) {
		dp_fail(err, errlen, be_dict_get(info, "name") == NULL ? "'name' is missing" :
		    "'name' is not a string");
		return NULL;
	}
	if (name->v.str.len == 0) {
		dp_fail(err, errlen, "'name' is empty");
		return NULL;
	}

	struct metainfo *mi = xcalloc(1, sizeof *mi);
	mi->has_v1 = v1;
	mi->has_v2 = v2;
	mi->hybrid = v1 && v2;
	mi->piece_length = (uint32_t)pl->v.i;
	mi->name = metainfo_sanitize_component(name->v.str.s, name->v.str.len);
	mi->display_name = be_strdup(name);
	mi->is_private = be_dict_get_type(info, "private", BE_INT) != NULL &&
	    be_dict_get_type(info, "private", BE_INT)->v.i == 1;

	if (v1 && !mi_parse_v1(mi, info, err, errlen))
		goto fail;
	if (v2 && !metainfo_v2_parse_tree(mi, info, be_dict_get(info, "files") != NULL, err,
	    errlen))
		goto fail;
	if (mi->multi_file)
		mi_make_paths_distinct(mi);
	if (!v1) {
		if (mi->total_size == 0) {
			dp_fail(err, errlen, "the torrent's total size is zero");
			goto fail;
		}
		uint64_t count = (mi->total_size + mi->piece_length - 1) / mi->piece_length;
		if (count > UINT32_MAX) {
			dp_fail(err, errlen, "%" PRIu64 " pieces is too many", count);
			goto fail;
		}
		mi->piece_count = (uint32_t)count;
	}
	if (v2)
		metainfo_v2_init_hashes(mi);

	mi->info_len = info->raw_len;
	mi->info_raw = xmemdup(info->raw, info->raw_len);
	if (v1)
		mi_compute_hash(mi);
	if (v2)
		metainfo_v2_compute_hash(mi);
	return mi;
fail:
	metainfo_free(mi);
	return NULL;
}

struct metainfo *
metainfo_parse(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct be_error berr = { 0 };
	/* A line feed or blanks after the dictionary (an editor's, a script's) are no reason to
	 * refuse a torrent; other trailing bytes still are. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
	    buf[len - 1] == '\t'))
		len--;
	struct be_node *root = be_decode(buf, len, &be_default_limits, &berr);
	if (root == NULL) {
		dp_fail(err, errlen, "not a torrent file: %s at byte %zu", berr.msg, berr.offset);
		return NULL;
	}
	struct metainfo *mi = NULL;
	if (root->type != BE_DICT) {
		dp_fail(err, errlen, "not a torrent file: the top level is %s, not a dictionary",
		    mi_a_type(root->type));
		goto out;
	}
	const struct be_node *info = be_dict_get(root, "info");
	if (info == NULL) {
		dp_fail(err, errlen, "not a torrent file: 'info' is missing");
		goto out;
	}
	mi = mi_parse_info_node(info, err, errlen);
	if (mi == NULL)
		goto out;
	if (mi->has_v2 && !metainfo_v2_parse_layers(mi, be_dict_get(root, "piece layers"), err,
	    errlen)) {
		metainfo_free(mi);
		mi = NULL;
		goto out;
	}
	mi_parse_trackers(mi, root);
	mi_parse_url_list(be_dict_get(root, "url-list"), &mi->webseeds, &mi->webseed_count);
	mi_parse_url_list(be_dict_get(root, "httpseeds"), &mi->httpseeds, &mi->httpseed_count);
	const struct be_node *n = mi_get_text(root, "comment", "comment.utf-8");
	if (n != NULL)
		mi->comment = be_strdup(n);
	n = mi_get_text(root, "created by", "created by.utf-8");
	if (n != NULL)
		mi->created_by = be_strdup(n);
	n = be_dict_get_type(root, "creation date", BE_INT);
	if (n != NULL) {
		mi->creation_date = n->v.i;
		mi->has_creation_date = true;
	}
out:
	be_free(root);
	return mi;
}

struct metainfo *
metainfo_parse_info(const uint8_t *info, size_t len, char *err, size_t errlen)
{
	struct be_error berr = { 0 };
	struct be_node *root = be_decode(info, len, &be_default_limits, &berr);
	if (root == NULL) {
		dp_fail(err, errlen, "bad info dictionary: %s at byte %zu", berr.msg, berr.offset);
		return NULL;
	}
	struct metainfo *mi = mi_parse_info_node(root, err, errlen);
	be_free(root);
	return mi;
}

struct metainfo *
metainfo_load(const char *path, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	if (dp_read_file(path, DP_MAX_TORRENT_FILE_SIZE, &buf, &len) != 0) {
		if (errno == EFBIG)
			dp_fail(err, errlen, "%s: larger than the %u MiB limit for torrent files", path,
			    DP_MAX_TORRENT_FILE_SIZE >> 20);
		else
			dp_fail(err, errlen, "%s: %s", path, dp_strerror(errno));
		return NULL;
	}
	char reason[256] = "";
	struct metainfo *mi = metainfo_parse(buf, len, reason, sizeof reason);
	free(buf);
	if (mi == NULL)
		dp_fail(err, errlen, "%s: %s", path, reason);
	return mi;
}

size_t
metainfo_file_at(const struct metainfo *mi, uint64_t off)
{
	size_t lo = 0, hi = mi->file_count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (mi->files[mid].offset <= off)
			lo = mid;
		else
			hi = mid;
	}
	while (lo < mi->file_count && mi->files[lo].offset + mi->files[lo].length <= off)
		lo++;
	return lo;
}

const uint8_t *
metainfo_piece_hash_v2(const struct metainfo *mi, uint32_t piece)
{
	if (mi->piece_hashes_v2 == NULL || piece >= mi->piece_count)
		return NULL;
	size_t f = metainfo_file_at(mi, (uint64_t)piece * mi->piece_length);
	if (f >= mi->file_count || !mi->files[f].layer_known)
		return NULL;
	return mi->piece_hashes_v2 + (size_t)piece * 32;
}

uint32_t
metainfo_piece_size(const struct metainfo *mi, uint32_t piece)
{
	if (piece >= mi->piece_count)
		return 0;
	if (piece + 1 < mi->piece_count)
		return mi->piece_length;
	uint64_t rest = mi->total_size - (uint64_t)piece * mi->piece_length;
	return (uint32_t)rest;
}

bool
metainfo_piece_v2_span(const struct metainfo *mi, uint32_t piece, uint32_t *data_len,
    uint64_t *width)
{
	if (mi->piece_hashes_v2 == NULL || piece >= mi->piece_count)
		return false;
	uint64_t start = (uint64_t)piece * mi->piece_length;
	size_t i = metainfo_file_at(mi, start);
	if (i >= mi->file_count || mi->files[i].pad)
		return false;
	const struct mi_file *f = &mi->files[i];
	*data_len = (uint32_t)DP_MIN((uint64_t)mi->piece_length, f->offset + f->length - start);
	*width = merkle_piece_width(f->length, mi->piece_length);
	return true;
}

bool
metainfo_v2_layers_known(const struct metainfo *mi)
{
	for (size_t i = 0; i < mi->file_count; i++)
		if (!mi->files[i].pad && mi->files[i].length > 0 && !mi->files[i].layer_known)
			return false;
	return true;
}
