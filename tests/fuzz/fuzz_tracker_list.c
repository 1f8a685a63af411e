/* fuzz_tracker_list.c: libFuzzer target for trackerList text (tracker_list_parse): an accepted
 * list holds at most TRACKER_LIST_MAX URLs, each one line without control bytes, none twice, no
 * empty tier; its text form parses back to the same text; removing a URL by its id removes it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tracker_list.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tracker_list l, again;
	char err[128];
	if (tracker_list_parse((const char *)data, size, &l, err, sizeof err) < 0)
		return 0;
	if (tracker_list_count(&l) > TRACKER_LIST_MAX)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		if (l.tiers[i].count == 0)
			abort();
		for (size_t j = 0; j < l.tiers[i].count; j++) {
			const char *u = l.tiers[i].urls[j];
			size_t n = strlen(u);
			if (n == 0 || n > TRACKER_LIST_URL_MAX)
				abort();
			for (size_t k = 0; k < n; k++)
				if ((unsigned char)u[k] < 0x20 || u[k] == 0x7f)
					abort();
		}
	}
	char *text = tracker_list_format(l.tiers, l.n);
	if (tracker_list_parse(text, strlen(text), &again, err, sizeof err) < 0)
		abort();
	char *text2 = tracker_list_format(again.tiers, again.n);
	if (strcmp(text, text2) != 0)
		abort();
	if (l.n > 0) {
		char *first = xstrdup(l.tiers[0].urls[0]);
		size_t before = tracker_list_count(&l);
		if (!tracker_list_remove_id(&l, tracker_list_id(first)) ||
		    tracker_list_count(&l) != before - 1 || tracker_list_has(&l, first))
			abort();
		free(first);
	}
	free(text);
	free(text2);
	tracker_list_free(&again);
	tracker_list_free(&l);
	return 0;
}
