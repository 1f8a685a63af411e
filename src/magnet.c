/* magnet.c: magnet URI parsing (BEP 9): xt=urn:btih in hex or base32, urn:btmh noted, dn, tr, ws,
 * x.pe, with strict percent-decoding and one-line reasons for every refusal. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "magnet.h"
#include "util.h"

/* Real links stay far below this; the bound keeps the de-duplication of tr/ws/x.pe cheap. */
#define MG_MAX_URI_LEN (32u << 10)

bool
magnet_is_uri(const char *s)
{
	return s != NULL && strncasecmp(s, "magnet:?", 8) == 0;
}

void
magnet_free(struct magnet *m)
{
	if (m == NULL)
		return;
	free(m->btmh);
	free(m->display_name);
	for (size_t i = 0; i < m->tracker_count; i++)
		free(m->trackers[i]);
	free(m->trackers);
	for (size_t i = 0; i < m->webseed_count; i++)
		free(m->webseeds[i]);
	free(m->webseeds);
	for (size_t i = 0; i < m->peer_count; i++)
		free(m->peers[i]);
	free(m->peers);
	free(m);
}

/* Percent-decodes s[0..len) ('+' becomes a space when plus_is_space). NULL on a bad escape or
 * a decoded NUL byte, with the reason in err. */
static char *
mg_decode(const char *key, const char *s, size_t len, bool plus_is_space, char *err,
    size_t errlen)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 1 < len ? dp_hex_value(s[i + 1]) : -1;
			int lo = i + 2 < len ? dp_hex_value(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				dp_fail(err, errlen, "bad %%-escape in '%s' at \"%.*s\"", key,
				    (int)DP_MIN(len - i, 3), s + i);
				free(out);
				return NULL;
			}
			c = (char)(hi * 16 + lo);
			if (c == '\0') {
				dp_fail(err, errlen, "'%s' contains an encoded NUL byte", key);
				free(out);
				return NULL;
			}
			i += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

/* RFC 4648 base32 (either case, no padding) of exactly 32 characters into 20 bytes. */
static bool
mg_base32_decode(const char *s, uint8_t out[20])
{
	uint64_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < 32; i++) {
		char c = s[i];
		unsigned v;
		if (c >= 'A' && c <= 'Z')
			v = (unsigned)(c - 'A');
		else if (c >= 'a' && c <= 'z')
			v = (unsigned)(c - 'a');
		else if (c >= '2' && c <= '7')
			v = (unsigned)(c - '2') + 26;
		else
			return false;
		acc = (acc << 5) | v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return o == 20;
}

static bool
mg_parse_btih(struct magnet *m, const char *h, char *err, size_t errlen)
{
	size_t len = strlen(h);
	uint8_t hash[20];
	if (len == 40) {
		if (!dp_hex_decode(h, 20, hash)) {
			dp_fail(err, errlen, "btih '%s' is not 40 hex digits", h);
			return false;
		}
	} else if (len == 32) {
		if (!mg_base32_decode(h, hash)) {
			dp_fail(err, errlen, "btih '%s' is not 32 base32 characters", h);
			return false;
		}
	} else {
		dp_fail(err, errlen, "btih '%.64s' has %zu characters; expected 40 (hex) or 32 (base32)",
		    h, len);
		return false;
	}
	if (m->has_btih && memcmp(m->info_hash, hash, 20) != 0) {
		dp_fail(err, errlen, "the magnet link names two different info-hashes");
		return false;
	}
	memcpy(m->info_hash, hash, 20);
	dp_hex_encode(hash, 20, m->info_hash_hex);
	m->has_btih = true;
	return true;
}

/* A v2 multihash: SHA-256 code 0x12, length 0x20, then 32 bytes, all in hex. */
static bool
mg_parse_btmh(struct magnet *m, const char *h, char *err, size_t errlen)
{
	uint8_t digest[34];
	if (strlen(h) != 68 || strncmp(h, "1220", 4) != 0 || !dp_hex_decode(h, 34, digest)) {
		dp_fail(err, errlen, "btmh '%.80s' is not a SHA-256 multihash (1220 + 64 hex digits)",
		    h);
		return false;
	}
	if (m->btmh != NULL && memcmp(m->info_hash_v2, digest + 2, 32) != 0) {
		dp_fail(err, errlen, "the magnet link names two different v2 info-hashes");
		return false;
	}
	if (m->btmh == NULL) {
		memcpy(m->info_hash_v2, digest + 2, 32);
		m->btmh = xstrdup(h);
		for (char *p = m->btmh; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
	}
	return true;
}

static void
mg_push(char ***arr, size_t *count, char *s)
{
	for (size_t i = 0; i < *count; i++) {
		if (strcmp((*arr)[i], s) == 0) {
			free(s);
			return;
		}
	}
	*arr = xreallocarray(*arr, *count + 1, sizeof **arr);
	(*arr)[(*count)++] = s;
}

/* host:port, [v6]:port; the port 1..65535. */
static bool
mg_peer_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	if (colon == NULL || colon == s)
		return false;
	if (s[0] == '[' && colon[-1] != ']')
		return false;
	const char *p = colon + 1;
	if (*p == '\0' || strlen(p) > 5)
		return false;
	unsigned long port = 0;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port >= 1 && port <= 65535;
}

/* key equals name, or name followed by ".N" (the numbered form some links use: tr.1, xt.2). */
static bool
mg_key_is(const char *key, size_t klen, const char *name)
{
	size_t n = strlen(name);
	if (klen < n || strncasecmp(key, name, n) != 0)
		return false;
	if (klen == n)
		return true;
	if (key[n] != '.' || klen == n + 1)
		return false;
	for (size_t i = n + 1; i < klen; i++)
		if (key[i] < '0' || key[i] > '9')
			return false;
	return true;
}

static bool
mg_parse_param(struct magnet *m, const char *key, size_t klen, const char *val, size_t vlen,
    char *err, size_t errlen)
{
	enum { K_XT, K_DN, K_TR, K_WS, K_PE, K_OTHER } k;
	if (klen == 4 && strncasecmp(key, "x.pe", 4) == 0)
		k = K_PE;
	else if (mg_key_is(key, klen, "xt"))
		k = K_XT;
	else if (mg_key_is(key, klen, "dn"))
		k = K_DN;
	else if (mg_key_is(key, klen, "tr"))
		k = K_TR;
	else if (mg_key_is(key, klen, "ws"))
		k = K_WS;
	else
		k = K_OTHER;
	if (k == K_OTHER)
		return true;    /* xl, as, xs, kt, so, ...: not used */

	char keyname[16];
	snprintf(keyname, sizeof keyname, "%.*s", (int)DP_MIN(klen, sizeof keyname - 1), key);
	char *v = mg_decode(keyname, val, vlen, k == K_DN, err, errlen);
	if (v == NULL)
		return false;
	bool ok = true;
	switch (k) {
	case K_XT:
		if (strncasecmp(v, "urn:btih:", 9) == 0)
			ok = mg_parse_btih(m, v + 9, err, errlen);
		else if (strncasecmp(v, "urn:btmh:", 9) == 0)
			ok = mg_parse_btmh(m, v + 9, err, errlen);
		/* other URNs (ed2k, sha1, ...) describe other networks: ignored */
		free(v);
		break;
	case K_DN:
		if (m->display_name == NULL && v[0] != '\0')
			m->display_name = v;
		else
			free(v);
		break;
	case K_TR:
	case K_WS:
		if (v[0] == '\0') {
			free(v);
			break;
		}
		if (k == K_TR)
			mg_push(&m->trackers, &m->tracker_count, v);
		else
			mg_push(&m->webseeds, &m->webseed_count, v);
		break;
	case K_PE:
		if (!mg_peer_ok(v)) {
			dp_fail(err, errlen, "x.pe '%.80s' is not host:port", v);
			free(v);
			return false;
		}
		mg_push(&m->peers, &m->peer_count, v);
		break;
	case K_OTHER:
		free(v);
		break;
	}
	return ok;
}

struct magnet *
magnet_parse(const char *uri, char *err, size_t errlen)
{
	if (!magnet_is_uri(uri)) {
		dp_fail(err, errlen, "not a magnet link (expected 'magnet:?...')");
		return NULL;
	}
	if (strlen(uri) > MG_MAX_URI_LEN) {
		dp_fail(err, errlen, "the magnet link is longer than %u bytes", MG_MAX_URI_LEN);
		return NULL;
	}
	struct magnet *m = xcalloc(1, sizeof *m);
	const char *p = uri + 8;
	const char *end = p + strcspn(p, "#");   /* a fragment is not part of the query */
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pend = amp ? amp : end;
		if (pend > p) {
			const char *eq = memchr(p, '=', (size_t)(pend - p));
			if (eq == NULL) {
				size_t klen = (size_t)(pend - p);
				if (mg_key_is(p, klen, "xt") || mg_key_is(p, klen, "tr") ||
				    mg_key_is(p, klen, "dn") || mg_key_is(p, klen, "ws") ||
				    (klen == 4 && strncasecmp(p, "x.pe", 4) == 0)) {
					dp_fail(err, errlen, "parameter '%.*s' has no value", (int)klen, p);
					goto fail;
				}
			} else if (!mg_parse_param(m, p, (size_t)(eq - p), eq + 1,
			    (size_t)(pend - eq - 1), err, errlen))
				goto fail;
		}
		p = amp ? amp + 1 : end;
	}
	if (!m->has_btih && m->btmh == NULL) {
		dp_fail(err, errlen, "the magnet link has no BitTorrent info-hash "
		    "(xt=urn:btih:... or xt=urn:btmh:1220...)");
		goto fail;
	}
	if (!m->has_btih) {
		/* v2-only: the swarm goes by the v2 info-hash's first 20 bytes (BEP 52). */
		memcpy(m->info_hash, m->info_hash_v2, 20);
		dp_hex_encode(m->info_hash, 20, m->info_hash_hex);
	}
	return m;
fail:
	magnet_free(m);
	return NULL;
}
