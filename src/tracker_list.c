/* tracker_list.c: a torrent's trackers as tiers and as trackerList text (tracker_list.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tracker_list.h"
#include "util.h"

void
tracker_list_free(struct tracker_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		for (size_t j = 0; j < l->tiers[i].count; j++)
			free(l->tiers[i].urls[j]);
		free(l->tiers[i].urls);
	}
	free(l->tiers);
	l->tiers = NULL;
	l->n = 0;
}

size_t
tracker_list_count(const struct tracker_list *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += l->tiers[i].count;
	return n;
}

bool
tracker_list_has(const struct tracker_list *l, const char *url)
{
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = 0; j < l->tiers[i].count; j++)
			if (strcmp(l->tiers[i].urls[j], url) == 0)
				return true;
	return false;
}

/* Adds url to tier i (i == l->n: a new tier). */
static void
tracker_list_put(struct tracker_list *l, size_t i, const char *url, size_t len)
{
	if (i == l->n) {
		l->tiers = xreallocarray(l->tiers, l->n + 1, sizeof *l->tiers);
		memset(&l->tiers[l->n], 0, sizeof l->tiers[l->n]);
		l->n++;
	}
	struct mi_tier *t = &l->tiers[i];
	t->urls = xreallocarray(t->urls, t->count + 1, sizeof *t->urls);
	char *u = xmalloc(len + 1);
	memcpy(u, url, len);
	u[len] = '\0';
	t->urls[t->count++] = u;
}

int
tracker_list_parse(const char *text, size_t len, struct tracker_list *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof *out);
	bool new_tier = true;
	size_t count = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += n + (nl != NULL);
		while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		while (n > 0 && (*line == ' ' || *line == '\t'))
			line++, n--;
		if (n == 0) {
			new_tier = true;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)line[i];
			if (c < 0x20 || c == 0x7f) {
				tracker_list_free(out);
				return dp_fail(err, errlen, "a tracker URL has a control byte");
			}
		}
		if (n > TRACKER_LIST_URL_MAX) {
			tracker_list_free(out);
			return dp_fail(err, errlen, "a tracker URL is longer than %d bytes",
			    TRACKER_LIST_URL_MAX);
		}
		char url[TRACKER_LIST_URL_MAX + 1];
		memcpy(url, line, n);
		url[n] = '\0';
		if (tracker_list_has(out, url))
			continue;
		if (++count > TRACKER_LIST_MAX) {
			tracker_list_free(out);
			return dp_fail(err, errlen, "more than %d trackers", TRACKER_LIST_MAX);
		}
		tracker_list_put(out, new_tier ? out->n : out->n - 1, url, n);
		new_tier = false;
	}
	return 0;
}

char *
tracker_list_format(const struct mi_tier *tiers, size_t n)
{
	struct dp_buf b;
	dp_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		if (tiers[i].count == 0)
			continue;
		if (b.len > 0)
			dp_buf_add(&b, "\n", 1);
		for (size_t j = 0; j < tiers[i].count; j++) {
			dp_buf_add(&b, tiers[i].urls[j], strlen(tiers[i].urls[j]));
			dp_buf_add(&b, "\n", 1);
		}
	}
	dp_buf_add(&b, "", 1);
	size_t len;
	return (char *)dp_buf_steal(&b, &len);
}

void
tracker_list_copy(struct tracker_list *out, const struct mi_tier *tiers, size_t n)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		if (tiers[i].count == 0)
			continue;
		size_t at = out->n;
		for (size_t j = 0; j < tiers[i].count; j++)
			tracker_list_put(out, at, tiers[i].urls[j], strlen(tiers[i].urls[j]));
	}
}

int64_t
tracker_list_id(const char *url)
{
	uint64_t h = dp_fnv1a(DP_FNV1A_INIT, url, strlen(url));
	return (int64_t)((h ^ (h >> 31) ^ (h >> 62)) & 0x7fffffff);
}

/* A URL the text form can hold: one line, not empty, not too long. */
static bool
tracker_list_url_ok(const char *url, size_t n)
{
	if (n == 0 || n > TRACKER_LIST_URL_MAX || url[0] == ' ' || url[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] < 0x20 || url[i] == 0x7f)
			return false;
	return true;
}

bool
tracker_list_append(struct tracker_list *l, const char *url)
{
	size_t n = strlen(url);
	if (!tracker_list_url_ok(url, n) || tracker_list_has(l, url) ||
	    tracker_list_count(l) >= TRACKER_LIST_MAX)
		return false;
	tracker_list_put(l, l->n, url, n);
	return true;
}

/* Where the URL with this id is: true with its tier and place. */
static bool
tracker_list_find_id(const struct tracker_list *l, int64_t id, size_t *ti, size_t *ui)
{
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = 0; j < l->tiers[i].count; j++)
			if (tracker_list_id(l->tiers[i].urls[j]) == id) {
				*ti = i;
				*ui = j;
				return true;
			}
	return false;
}

bool
tracker_list_remove_id(struct tracker_list *l, int64_t id)
{
	size_t i, j;
	if (!tracker_list_find_id(l, id, &i, &j))
		return false;
	struct mi_tier *t = &l->tiers[i];
	free(t->urls[j]);
	memmove(&t->urls[j], &t->urls[j + 1], (t->count - j - 1) * sizeof *t->urls);
	if (--t->count == 0) {
		free(t->urls);
		memmove(&l->tiers[i], &l->tiers[i + 1], (l->n - i - 1) * sizeof *l->tiers);
		l->n--;
	}
	return true;
}

bool
tracker_list_replace_id(struct tracker_list *l, int64_t id, const char *url)
{
	size_t i, j, n = strlen(url);
	if (!tracker_list_url_ok(url, n) || tracker_list_has(l, url) ||
	    !tracker_list_find_id(l, id, &i, &j))
		return false;
	free(l->tiers[i].urls[j]);
	l->tiers[i].urls[j] = xstrdup(url);
	return true;
}
