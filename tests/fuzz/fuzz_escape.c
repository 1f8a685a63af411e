/* fuzz_escape.c: libFuzzer target for the escaping of outside text: whatever goes in, what comes
 * out is valid UTF-8 with no control character, C1 control or bidi override, and within bounds. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_escape_check(const char *out, size_t outlen)
{
	size_t n = strlen(out);
	if (n >= outlen)
		abort();
	const unsigned char *p = (const unsigned char *)out;
	while (*p != '\0') {
		long cp;
		size_t len = dp_utf8_decode(p, &cp);
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
		    cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			abort();
		p += len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);   /* stops at an embedded NUL */
	char *dup = dp_escape_dup(s);
	fuzz_escape_check(dup, strlen(s) * 4 + 1);
	/* Cut short at every small bound: never inside an escape or a character. */
	for (size_t outlen = 1; outlen < 24; outlen++) {
		char out[24];
		dp_escape(s, out, outlen);
		fuzz_escape_check(out, outlen);
		if (strncmp(out, dup, strlen(out)) != 0)
			abort();
	}
	free(dup);
	free(s);
	return 0;
}
