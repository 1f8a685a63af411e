/* escape.h: outside text made safe to print or log: no terminal escapes, no forged lines. */
#ifndef DP_ESCAPE_H
#define DP_ESCAPE_H

#include <stdarg.h>
#include <stddef.h>
#include "util.h"

/*
 * Copies s into out (outlen > 0 bytes, always NUL-terminated) with everything a terminal could
 * act on, or a reader take for a new line, made visible: \n \r \t, the other C0 controls and DEL
 * as \xNN, C1 controls (U+0080..U+009F, which terminals read as CSI, OSC...) and the Unicode line
 * separators and bidirectional overrides as \uNNNN, and bytes that are not UTF-8 as \xNN. Other
 * UTF-8 (names in any script) is kept. Output that does not fit is cut at a character or escape
 * boundary, never inside one. Returns out.
 */
char *dp_escape(const char *s, char *out, size_t outlen);
/* The same into a new string. */
char *dp_escape_dup(const char *s);
/* vsnprintf, then dp_escape of the result: for log lines and task reasons built from outside
 * text. The formatted text is bounded (4 KiB) before escaping. */
void dp_vformat_escaped(char *out, size_t outlen, const char *fmt, va_list ap) DP_PRINTF(3, 0);

/* Decodes one UTF-8 character at s (NUL-terminated); returns its length in bytes (>= 1) and the
 * code point, or -1 as the code point for an invalid, overlong or truncated sequence (then the
 * length is 1). */
size_t dp_utf8_decode(const unsigned char *s, long *cp);

#endif
