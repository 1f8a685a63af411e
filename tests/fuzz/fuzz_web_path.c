/* fuzz_web_path.c: libFuzzer target for the web client's request paths (rpc_web_path): whatever
 * comes after /transmission/web/, an accepted path is relative, has no "." or ".." segment, no
 * hidden name, no control byte and no backslash, so it cannot leave the web root by name. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rpc_private.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw = xstrndup((const char *)data, size);
	char *rel = rpc_web_path(raw);
	if (rel != NULL) {
		if (rel[0] == '/' || rel[0] == '\0' || strchr(rel, '\\') != NULL)
			abort();
		for (const char *seg = rel; *seg != '\0';) {
			size_t len = strcspn(seg, "/");
			if (len == 0 || seg[0] == '.')
				abort();
			for (size_t i = 0; i < len; i++)
				if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f)
					abort();
			seg += len;
			if (*seg == '/')
				seg++;
		}
		free(rel);
	}
	free(raw);
	return 0;
}
