/* tracker_list.h: a torrent's trackers as tiers (struct mi_tier) and as Transmission's
 * trackerList text (one announce URL a line, tiers apart by an empty line): parsing with limits,
 * formatting, the stable id of a URL, and the edits the RPC's trackerAdd, trackerRemove and
 * trackerReplace make. Pure: no I/O, fuzzed (tests/fuzz/fuzz_tracker_list.c). */
#ifndef DP_TRACKER_LIST_H
#define DP_TRACKER_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metainfo.h"

#define TRACKER_LIST_MAX 256          /* URLs in one torrent's list */
#define TRACKER_LIST_URL_MAX 511      /* bytes in one URL */

/* A list being built or edited: tiers in order, each with its URLs. */
struct tracker_list {
	struct mi_tier *tiers;
	size_t n;
};

/*
 * Parses text (len bytes; LF or CR LF lines, spaces around a URL trimmed): one URL a line, one
 * or more empty lines between tiers. A URL seen before is dropped. Refused (-1, err): a NUL or
 * control byte, a URL too long, more than TRACKER_LIST_MAX URLs. An empty text is no tiers.
 */
int tracker_list_parse(const char *text, size_t len, struct tracker_list *out, char *err,
    size_t errlen);
/* The text form (the caller frees it): "" for no tiers. */
char *tracker_list_format(const struct mi_tier *tiers, size_t n);
/* A copy of tiers into out (deep). */
void tracker_list_copy(struct tracker_list *out, const struct mi_tier *tiers, size_t n);
void tracker_list_free(struct tracker_list *l);

/* A URL's id in the RPC (trackers[].id): 31 bits of its hash, the same for the same URL in any
 * torrent, across edits and restarts. */
int64_t tracker_list_id(const char *url);
/* URLs in the list. */
size_t tracker_list_count(const struct tracker_list *l);
bool tracker_list_has(const struct tracker_list *l, const char *url);
/* Appends url as a tier of its own (Transmission's trackerAdd); false if it is there already,
 * the list is full, or url is no single line of text. */
bool tracker_list_append(struct tracker_list *l, const char *url);
/* Removes the URL with this id (its tier goes when it was the last); false if none has it. */
bool tracker_list_remove_id(struct tracker_list *l, int64_t id);
/* The URL with this id becomes url in its tier; false if none has the id or url is there. */
bool tracker_list_replace_id(struct tracker_list *l, int64_t id, const char *url);

#endif
