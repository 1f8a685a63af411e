/* escape.c: the one escaping of outside text (tracker URLs, peer names, RPC headers and values,
 * torrent names, file contents) before it reaches a log line, a terminal or the monitor. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

#define ESCAPE_FORMAT_MAX 4096

size_t
dp_utf8_decode(const unsigned char *s, long *cp)
{
	unsigned char c = s[0];
	size_t len;
	long v;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2;
		v = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		v = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		v = c & 0x07;
	} else {
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past Unicode are refused */
	static const long min_for_len[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (v < min_for_len[len] || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return len;
}

/* Code points shown as \uNNNN: C1 controls, line and paragraph separators, and the
 * bidirectional embeddings, overrides and isolates (they reorder what follows on the line). */
static bool
escape_code_point(long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *
dp_escape(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t pos = 0;
	while (*p != '\0') {
		char esc[16];
		const char *piece = esc;
		size_t n;
		long cp;
		size_t len = dp_utf8_decode(p, &cp);
		if (cp == '\n' || cp == '\r' || cp == '\t') {
			esc[0] = '\\';
			esc[1] = cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't';
			n = 2;
		} else if (cp < 0x20 || cp == 0x7f) {   /* C0, DEL, and not UTF-8 (-1) */
			n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", p[0]);
		} else if (escape_code_point(cp)) {
			n = (size_t)snprintf(esc, sizeof esc, "\\u%04lx", cp);
		} else {
			piece = (const char *)p;
			n = len;
		}
		if (pos + n + 1 > outlen)
			break;
		memcpy(out + pos, piece, n);
		pos += n;
		p += len;
	}
	out[pos] = '\0';
	return out;
}

char *
dp_escape_dup(const char *s)
{
	/* \xNN is the longest expansion: 4 bytes per input byte. */
	size_t cap = strlen(s) * 4 + 1;
	char *out = xmalloc(cap);
	dp_escape(s, out, cap);
	return xrealloc(out, strlen(out) + 1);
}

void
dp_vformat_escaped(char *out, size_t outlen, const char *fmt, va_list ap)
{
	char raw[ESCAPE_FORMAT_MAX];
	vsnprintf(raw, sizeof raw, fmt, ap);
	dp_escape(raw, out, outlen);
}
