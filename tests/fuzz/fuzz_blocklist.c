/* fuzz_blocklist.c: libFuzzer target for the blocklist parser (a file or a download: hostile):
 * whatever goes in, the ranges come out sorted, disjoint and not adjacent, every range's
 * addresses are found by the lookup and the gaps between them are not. */
#include "config.h"

#include <stdlib.h>

#include "blocklist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blocklist b;
	char err[256];
	if (blocklist_parse((const char *)data, size, &b, err, sizeof err) < 0)
		return 0;
	if (b.n == 0 || b.n > b.rules)
		abort();
	for (size_t i = 0; i < b.n; i++) {
		const struct blocklist_range *r = &b.r[i];
		if (r->first > r->last)
			abort();
		if (i > 0 && (uint64_t)b.r[i - 1].last + 1 >= r->first)
			abort();
		if (!blocklist_has(&b, r->first) || !blocklist_has(&b, r->last) ||
		    !blocklist_has(&b, r->first + (r->last - r->first) / 2))
			abort();
		if (r->first > 0 && blocklist_has(&b, r->first - 1))
			abort();
		if (r->last < UINT32_MAX && blocklist_has(&b, r->last + 1))
			abort();
	}
	blocklist_free(&b);
	return 0;
}
