/* engine_queue.c: engine.h's queue, seeding-limit and data-location calls. The queue order,
 * each torrent's seeding limits and moving its data are the policy's (engine_policy.h): these
 * ask it, and say what is missing when no policy (no session directory) is registered. */
#include "config.h"

#include <string.h>

#include "engine.h"
#include "engine_private.h"
#include "session.h"
#include "torrent.h"
#include "util.h"

/* A change clients show (queue position, limits): recently-active lists it. */
static int
engine_queue_touched(struct engine *e, int id, int rc)
{
	struct torrent *t = rc == 0 ? session_find_torrent(e, id) : NULL;
	if (t != NULL)
		torrent_touch(t);
	return rc;
}

int
engine_queue_move(struct engine *e, int id, enum engine_queue_where where, char *err,
    size_t errlen)
{
	if (e->policy == NULL)
		return dp_fail(err, errlen, "queueing needs a session directory");
	return engine_queue_touched(e, id, e->policy->queue_move(e->policy_arg, id, where, err,
	    errlen));
}

int
engine_torrent_set_location(struct engine *e, int id, const char *dir, bool move, char *err,
    size_t errlen)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL)
		return dp_fail(err, errlen, "no torrent with id %d", id);
	if (dir == NULL || dir[0] != '/')
		return dp_fail(err, errlen, "the location must be an absolute path");
	if (strlen(dir) >= TORRENT_SAVE_DIR_MAX)
		return dp_fail(err, errlen, "the location's path is too long");
	if (e->policy == NULL || e->policy->set_location == NULL)
		return dp_fail(err, errlen, "moving data needs a session directory");
	return engine_queue_touched(e, id, e->policy->set_location(e->policy_arg, id, dir, move,
	    err, errlen));
}

int
engine_queue_position(struct engine *e, int id)
{
	return e->policy != NULL ? e->policy->queue_position(e->policy_arg, id) : -1;
}

int
engine_torrent_set_seed_limits(struct engine *e, int id, double ratio, int64_t seconds,
    char *err, size_t errlen)
{
	if (e->policy == NULL)
		return dp_fail(err, errlen, "seeding limits need a session directory");
	return engine_queue_touched(e, id, e->policy->set_seed_limits(e->policy_arg, id, ratio,
	    seconds, err, errlen));
}

int
engine_torrent_get_seed_limits(struct engine *e, int id, double *ratio, int64_t *seconds)
{
	if (e->policy == NULL)
		return -1;
	return e->policy->get_seed_limits(e->policy_arg, id, ratio, seconds);
}
