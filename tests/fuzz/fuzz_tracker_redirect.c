/* fuzz_tracker_redirect.c: libFuzzer target for a tracker's HTTP redirect: the input's first
 * line is the announce URL, the rest the Location header it answered; the resolved URL is parsed
 * as the fetch would before following it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tracker_private.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	char *loc = strchr(s, '\n');
	if (loc == NULL) {
		free(s);
		return 0;
	}
	*loc++ = '\0';
	struct tracker_url u;
	char err[256];
	if (tracker_url_parse(s, &u, err, sizeof err) == 0 && u.scheme != TRACKER_SCHEME_UDP) {
		if (memchr(u.host, '\0', sizeof u.host) == NULL ||
		    memchr(u.path, '\0', sizeof u.path) == NULL)
			abort();
		char *to = tracker_http_resolve_location(&u, loc);
		struct tracker_url v;
		if (tracker_url_parse(to, &v, err, sizeof err) == 0 &&
		    (memchr(v.host, '\0', sizeof v.host) == NULL ||
		    memchr(v.path, '\0', sizeof v.path) == NULL || v.path[0] == '\0'))
			abort();
		free(to);
	}
	free(s);
	return 0;
}
