/* seed_idle.c: Transmission's idle seeding limit: a seeding torrent that moved no data (in or
 * out) for its limit's minutes, counted from the later of its start and its last transfer, is
 * told to stop (its owner stops it as a user's stop, so it stays stopped). One timer per torrent,
 * set to the deadline when it starts seeding or a limit changes; a transfer only moves the time
 * idleness counts from, and the timer, when it fires before the moved deadline, is set again:
 * nothing walks the torrents per tick or per transfer. */
#include "config.h"

#include <event2/event.h>

#include "engine_types.h"
#include "seed_idle.h"
#include "session_settings.h"
#include "util.h"

void
seed_idle_init(struct seed_idle *si, struct event_base *base,
    const struct session_settings *set, void (*expired)(void *arg, int limit_min), void *arg)
{
	si->mode = ENGINE_IDLE_GLOBAL;
	si->limit_min = set->seed_idle_minutes;
	si->base = base;
	si->set = set;
	si->expired = expired;
	si->arg = arg;
}

int
seed_idle_limit(const struct seed_idle *si)
{
	switch (si->mode) {
	case ENGINE_IDLE_SINGLE:
		return si->limit_min;
	case ENGINE_IDLE_GLOBAL:
		return si->set->seed_idle_enabled ? si->set->seed_idle_minutes : -1;
	default:
		return -1;
	}
}

/* Monotonic ms at which the limit is reached, or 0 when none applies now. */
static uint64_t
seed_idle_deadline(const struct seed_idle *si)
{
	int lim = seed_idle_limit(si);
	if (!si->seeding || lim < 0)
		return 0;
	return si->since_ms + (uint64_t)lim * 60000u + 1;
}

void
seed_idle_activity(struct seed_idle *si, uint64_t now_ms)
{
	si->since_ms = now_ms;
	si->activity_date = dp_wall_time();
}

void
seed_idle_started(struct seed_idle *si, uint64_t now_ms)
{
	si->since_ms = now_ms;
	si->stopped = false;
}

static void
seed_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct seed_idle *si = arg;
	(void)fd;
	(void)what;
	uint64_t deadline = seed_idle_deadline(si);
	if (deadline == 0)
		return;
	if (dp_now_ms() < deadline) {
		seed_idle_arm(si, true);      /* data moved since it was set */
		return;
	}
	si->stopped = true;
	si->expired(si->arg, seed_idle_limit(si));
}

void
seed_idle_arm(struct seed_idle *si, bool seeding)
{
	si->seeding = seeding;
	uint64_t deadline = seed_idle_deadline(si);
	if (deadline == 0) {
		if (si->ev != NULL)
			evtimer_del(si->ev);
		return;
	}
	if (si->ev == NULL)
		si->ev = evtimer_new(si->base, seed_idle_cb, si);
	uint64_t now = dp_now_ms();
	uint64_t ms = deadline > now ? deadline - now : 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(si->ev, &tv);
}

int64_t
seed_idle_stop_date(const struct seed_idle *si)
{
	uint64_t deadline = seed_idle_deadline(si);
	if (deadline == 0)
		return 0;
	uint64_t now = dp_now_ms();
	return dp_wall_time() + (deadline > now ? (int64_t)((deadline - now + 999) / 1000) : 0);
}

void
seed_idle_free(struct seed_idle *si)
{
	if (si->ev != NULL)
		event_free(si->ev);
	si->ev = NULL;
}
