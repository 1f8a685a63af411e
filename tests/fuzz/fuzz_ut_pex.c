/* fuzz_ut_pex.c: libFuzzer target for the BEP 11 ut_pex parser: whatever parses stays within the
 * limits and rebuilds to a message that parses to the same peers. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ut_pex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ut_pex_msg m;
	char err[128];
	if (ut_pex_parse(data, size, &m, err, sizeof err) < 0)
		return 0;
	if (m.nadded > 2 * UT_PEX_MAX_PEERS || m.ndropped > 2 * UT_PEX_MAX_PEERS)
		abort();
	struct dp_buf b;
	dp_buf_init(&b);
	ut_pex_build(&b, m.added, m.nadded, m.dropped, m.ndropped);
	struct ut_pex_msg again;
	if (ut_pex_parse(b.data, b.len, &again, err, sizeof err) < 0 ||
	    again.nadded != m.nadded || again.ndropped != m.ndropped)
		abort();
	for (size_t i = 0; i < m.nadded; i++)
		if (again.added[i].len != m.added[i].len || again.added[i].flags != m.added[i].flags ||
		    memcmp(&again.added[i].addr, &m.added[i].addr, m.added[i].len) != 0)
			abort();
	ut_pex_msg_free(&again);
	ut_pex_msg_free(&m);
	dp_buf_free(&b);
	return 0;
}
