/* fuzz_session_stats.c: libFuzzer target for SESSION/stats (a file on disk: hostile): what
 * parses formats back to a text that parses to the same totals. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "session_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_totals t, back;
	char err[256];
	if (session_stats_parse((const char *)data, size, &t, err, sizeof err) < 0)
		return 0;
	size_t len;
	char *text = session_stats_format(&t, &len);
	if (session_stats_parse(text, len, &back, err, sizeof err) < 0 ||
	    memcmp(&t, &back, sizeof t) != 0)
		abort();
	free(text);
	return 0;
}
