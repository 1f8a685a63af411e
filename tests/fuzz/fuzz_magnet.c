/* fuzz_magnet.c: libFuzzer target for magnet URI parsing. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "magnet.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *uri = xstrndup((const char *)data, size);   /* stops at an embedded NUL */
	char err[256] = "";
	struct magnet *m = magnet_parse(uri, err, sizeof err);
	if (m != NULL) {
		/* btih, btmh (a v2-only link, since 6e562f1) or both; the swarm id always in hex */
		if ((!m->has_btih && m->btmh == NULL) || strlen(m->info_hash_hex) != 40)
			abort();
		if (m->btmh != NULL && strlen(m->btmh) != 68)   /* 1220 and 64 hex digits */
			abort();
		for (size_t i = 0; i < m->tracker_count; i++)
			if (m->trackers[i][0] == '\0')
				abort();
		magnet_free(m);
	} else if (err[0] == '\0')
		abort();
	free(uri);
	return 0;
}
