/* fuzz_lsd.c: libFuzzer target for the BEP 14 announce parser: whatever parses is bounded and
 * builds again into an announce that parses to the same port, info-hashes and cookie. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "lsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lsd_msg m, again;
	char err[128];
	if (lsd_parse(data, size, &m, err, sizeof err) < 0)
		return 0;
	if (m.nhashes == 0 || m.nhashes > LSD_MAX_HASHES || m.port == 0 ||
	    strlen(m.cookie) > LSD_COOKIE_MAX)
		abort();
	char buf[LSD_MAX_DGRAM];
	/* A cookie of spaces alone, or with a trailing \r, does not survive: drop it then. */
	const char *cookie = strchr(m.cookie, '\r') == NULL ? m.cookie : NULL;
	size_t len = lsd_build(buf, sizeof buf, "239.192.152.143:6771", m.port,
	    (const uint8_t (*)[20])m.hashes, m.nhashes, cookie);
	if (len == 0)
		return 0;
	if (lsd_parse((const uint8_t *)buf, len, &again, err, sizeof err) < 0 ||
	    again.port != m.port || again.nhashes != m.nhashes ||
	    memcmp(again.hashes, m.hashes, m.nhashes * 20) != 0)
		abort();
	return 0;
}
