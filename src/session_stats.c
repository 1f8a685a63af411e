/* session_stats.c: the session directory's cumulative statistics file (SESSION/stats): the
 * totals of every earlier run (bytes up and down, seconds active, files added, runs), so
 * session-stats' cumulative-stats survive a restart as transmission-daemon's do. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session_stats.h"
#include "util.h"

#define STATS_MAX_BYTES 4096

char *
session_stats_format(const struct engine_totals *t, size_t *len)
{
	char *s = xasprintf("uploaded %" PRIu64 "\ndownloaded %" PRIu64 "\nfiles_added %" PRIu64
	    "\nseconds_active %" PRId64 "\nsession_count %" PRIu64 "\n", t->uploaded,
	    t->downloaded, t->files_added, t->seconds_active, t->session_count);
	*len = strlen(s);
	return s;
}

/* A decimal number of at most 19 digits (no sign, no overflow). */
static bool
stats_number(const char *p, size_t n, uint64_t *out)
{
	if (n == 0 || n > 19)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return true;
}

int
session_stats_parse(const char *text, size_t len, struct engine_totals *out, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "uploaded", "downloaded", "files_added",
		"seconds_active", "session_count" };
	uint64_t v[5] = { 0 };
	bool seen[5] = { false };
	size_t line = 0;
	for (size_t at = 0; at < len; line++) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		const char *l = text + at, *sp = memchr(l, ' ', end - at);
		at = end + 1;
		if (sp == NULL)
			return dp_fail(err, errlen, "line %zu: no value", line + 1);
		size_t klen = (size_t)(sp - l);
		size_t k = 0;
		while (k < 5 && (strlen(keys[k]) != klen || memcmp(keys[k], l, klen) != 0))
			k++;
		if (k == 5)
			return dp_fail(err, errlen, "line %zu: unknown key", line + 1);
		if (seen[k] || !stats_number(sp + 1, (size_t)(text + end - sp - 1), &v[k]))
			return dp_fail(err, errlen, "line %zu: bad %s", line + 1, keys[k]);
		seen[k] = true;
	}
	for (size_t k = 0; k < 5; k++)
		if (!seen[k])
			return dp_fail(err, errlen, "no %s", keys[k]);
	if (v[3] > INT64_MAX)
		return dp_fail(err, errlen, "bad seconds_active");
	*out = (struct engine_totals){ .uploaded = v[0], .downloaded = v[1], .files_added = v[2],
		.seconds_active = (int64_t)v[3], .session_count = v[4] };
	return 0;
}

static int
stats_read(const char *path, struct engine_totals *out, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	if (dp_read_file(path, STATS_MAX_BYTES, &buf, &len) < 0)
		return dp_fail(err, errlen, "%s: %s", path, strerror(errno));
	char why[200];
	int rc = session_stats_parse((const char *)buf, len, out, why, sizeof why);
	free(buf);
	if (rc < 0) {
		errno = EINVAL;
		return dp_fail(err, errlen, "%s: %s", path, why);
	}
	return 0;
}

int
session_stats_load(const char *path, struct engine_totals *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	char *bak = xasprintf("%s.bak", path);
	char why[600];
	int rc = 0;
	if (stats_read(path, out, why, sizeof why) == 0)
		goto done;
	bool missing = errno == ENOENT;
	if (stats_read(bak, out, err, errlen) == 0)
		goto done;
	if (missing && errno == ENOENT) {
		memset(out, 0, sizeof *out);    /* the first run */
		goto done;
	}
	rc = dp_fail(err, errlen, "%s", why);
done:
	free(bak);
	return rc;
}
