/* text_width.c: measures and cuts UTF-8 text in terminal display cells (wcwidth), so wide CJK and
 * emoji names align, and makes outside text safe to draw (no control characters reach curses). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "escape.h"
#include "util.h"
#include "widgets.h"

static bool tw_ascii_mode;

void
tw_set_ascii(bool ascii)
{
	tw_ascii_mode = ascii;
}

bool
tw_ascii(void)
{
	return tw_ascii_mode;
}

/* --ascii draws Latin letters U+00C0..U+017F as their base letter ("Ünïcödé" reads "Unicode",
 * not "?n?c?d?"); everything else beyond ASCII is '?'. */
static const char tw_latin_fold[] =
    "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty"
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlL"
    "lLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

static char
tw_ascii_fallback(long cp)
{
	if (cp >= 0xc0 && cp < 0xc0 + (long)(sizeof tw_latin_fold - 1))
		return tw_latin_fold[cp - 0xc0];
	return '?';
}

/* Cells of one decoded character and whether it is drawn as-is (else as '?'). */
static int
tw_char_cells(long cp, bool *as_is)
{
	*as_is = false;
	if (cp < 0 || cp < 0x20 || cp == 0x7f)
		return 1;
	if (cp < 0x80) {
		*as_is = true;
		return 1;
	}
	if (tw_ascii_mode)
		return 1;
	int w = wcwidth((wchar_t)cp);
	if (w < 0)
		return 1;
	*as_is = true;
	return w;
}

int
tw_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int cells = 0;
	while (*p != '\0') {
		long cp;
		bool as_is;
		p += dp_utf8_decode(p, &cp);
		cells += tw_char_cells(cp, &as_is);
	}
	return cells;
}

/* Appends n bytes if they fit (keeping room for the NUL); false when out is full. */
static bool
tw_put(char *out, size_t outlen, size_t *pos, const char *bytes, size_t n)
{
	if (*pos + n + 1 > outlen)
		return false;
	memcpy(out + *pos, bytes, n);
	*pos += n;
	out[*pos] = '\0';
	return true;
}

/* Copies at most `cells` cells of s into out; sets *cut when s did not fit whole. The caller
 * reserves room for the ellipsis by passing a smaller budget. */
static int
tw_copy(const char *s, int cells, char *out, size_t outlen, size_t *pos, bool *cut)
{
	const unsigned char *p = (const unsigned char *)s;
	int used = 0;
	*cut = false;
	while (*p != '\0') {
		long cp;
		bool as_is;
		size_t len = dp_utf8_decode(p, &cp);
		int w = tw_char_cells(cp, &as_is);
		if (used + w > cells) {
			*cut = true;
			break;
		}
		char fb = tw_ascii_fallback(cp);
		bool ok = as_is ? tw_put(out, outlen, pos, (const char *)p, len)
		                : tw_put(out, outlen, pos, &fb, 1);
		if (!ok) {
			*cut = true;
			break;
		}
		used += w;
		p += len;
	}
	return used;
}

size_t
tw_prefix_bytes(const char *s, int cells)
{
	const unsigned char *p = (const unsigned char *)s;
	int used = 0;
	while (*p != '\0') {
		long cp;
		bool as_is;
		size_t len = dp_utf8_decode(p, &cp);
		int w = tw_char_cells(cp, &as_is);
		if (used + w > cells && p != (const unsigned char *)s)
			break;
		used += w;
		p += len;
	}
	return (size_t)(p - (const unsigned char *)s);
}

int
tw_truncate(const char *s, int cells, char *out, size_t outlen)
{
	size_t pos = 0;
	bool cut;
	if (outlen == 0)
		return 0;
	out[0] = '\0';
	if (cells <= 0)
		return 0;
	if (tw_width(s) <= cells) {
		int used = tw_copy(s, cells, out, outlen, &pos, &cut);
		if (!cut)
			return used;
		pos = 0;
		out[0] = '\0';
	}
	/* Too wide: keep cells - 1 and end with the one-cell ellipsis. */
	int used = tw_copy(s, cells - 1, out, outlen, &pos, &cut);
	const char *ell = tw_ascii_mode ? "~" : "\xe2\x80\xa6";
	if (tw_put(out, outlen, &pos, ell, strlen(ell)))
		used++;
	return used;
}

int
tw_fit(const char *s, int cells, enum tw_align align, char *out, size_t outlen)
{
	if (outlen == 0)
		return 0;
	if (cells <= 0) {
		out[0] = '\0';
		return 0;
	}
	char tmp[1024];
	char *buf = outlen <= sizeof tmp ? tmp : xmalloc(outlen);
	int used = tw_truncate(s, cells, buf, outlen);
	size_t pos = 0;
	out[0] = '\0';
	int pad = cells - used;
	if (align == TW_RIGHT)
		for (; pad > 0 && tw_put(out, outlen, &pos, " ", 1); pad--)
			used++;
	tw_put(out, outlen, &pos, buf, strlen(buf));
	for (; pad > 0 && tw_put(out, outlen, &pos, " ", 1); pad--)
		used++;
	if (buf != tmp)
		free(buf);
	return used;
}
