/* session_stats.h: the session directory's cumulative statistics file (SESSION/stats):
 * earlier runs' transfer totals, read at open and written beside the resume files. */
#ifndef DP_SESSION_STATS_H
#define DP_SESSION_STATS_H

#include <stddef.h>

#include "engine_types.h"

#define SESSION_STATS_FILE_NAME "stats"

/* Reads path (or its .bak when path is damaged). A missing file is a first run: zeros.
 * Returns 0, or -1 with err when neither copy is readable. */
int session_stats_load(const char *path, struct engine_totals *out, char *err, size_t errlen);
/* The file's text: one "key value" line per total. Parsing is strict and bounded. */
char *session_stats_format(const struct engine_totals *t, size_t *len);
int session_stats_parse(const char *text, size_t len, struct engine_totals *out, char *err,
    size_t errlen);

#endif
