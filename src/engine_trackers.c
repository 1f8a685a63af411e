/* engine_trackers.c: a torrent's tracker list read and replaced through the engine's API
 * (engine.h): the list in Transmission's trackerList text, each URL checked as the announcer
 * reads it, the new list announced to at once and kept in the session directory. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_private.h"
#include "log.h"
#include "session.h"
#include "torrent.h"
#include "tracker.h"
#include "tracker_list.h"
#include "tracker_private.h"
#include "util.h"

int
engine_torrent_tracker_list(struct engine *e, int id, char **out, char *err, size_t errlen)
{
	*out = NULL;
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL)
		return dp_fail(err, errlen, "no torrent with id %d", id);
	*out = tracker_list_format(t->mi->tiers, t->mi->tier_count);
	return 0;
}

/* Applies text to t: 0, or -1 with err and nothing changed. */
static int
engine_trackers_apply(struct torrent *t, const char *text, char *err, size_t errlen)
{
	struct tracker_list l;
	if (tracker_list_parse(text, strlen(text), &l, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		for (size_t j = 0; j < l.tiers[i].count; j++) {
			struct tracker_url u;
			char why[200];
			if (tracker_url_parse(l.tiers[i].urls[j], &u, why, sizeof why) < 0) {
				dp_fail(err, errlen, "tracker %zu of tier %zu: %s", j + 1, i + 1, why);
				tracker_list_free(&l);
				return -1;
			}
		}
	}
	/* A private torrent's trackers are its only source of peers: still the user's choice,
	 * as in Transmission, but worth a line in the log. */
	if (t->mi->is_private && l.n == 0)
		log_warn("%s: a private torrent without trackers finds no peers", t->mi->name);
	torrent_set_trackers(t, l.tiers, l.n);
	return 0;
}

int
engine_torrent_set_tracker_list(struct engine *e, int id, const char *text, char *err,
    size_t errlen)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL)
		return dp_fail(err, errlen, "no torrent with id %d", id);
	if (engine_trackers_apply(t, text, err, errlen) < 0)
		return -1;
	torrent_touch(t);
	log_info("%s: trackers replaced (%zu tiers)", t->mi->name, t->mi->tier_count);
	return 0;
}

void
engine_trackers_restore(struct torrent *t, const char *text)
{
	char err[256];
	if (text == NULL)
		return;
	if (engine_trackers_apply(t, text, err, sizeof err) < 0)
		log_warn("%s: the trackers kept in its resume file are not used: %s", t->mi->name,
		    err);
}

char *
engine_trackers_kept(const struct torrent *t)
{
	return t->trackers_edited ? tracker_list_format(t->mi->tiers, t->mi->tier_count) : NULL;
}
