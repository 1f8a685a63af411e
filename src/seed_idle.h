/* seed_idle.h: Transmission's idle seeding limit, one per torrent: the time idleness counts
 * from, the deadline timer, and the call that stops the torrent when it is reached. Knows no
 * torrent. */
#ifndef DP_ENGINE_INTERNAL
#error "seed_idle.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_SEED_IDLE_H
#define DP_SEED_IDLE_H

#include <stdbool.h>
#include <stdint.h>

struct event;
struct event_base;
struct session_settings;

struct seed_idle {
	int mode;                     /* enum engine_idle_mode */
	int limit_min;                /* its own limit (mode SINGLE) */
	uint64_t since_ms;            /* the later of its start and its last transfer */
	int64_t activity_date;        /* wall seconds of the last transfer, 0 = none this run */
	bool stopped;                 /* the limit stopped it (until it starts again) */
	bool seeding;                 /* as last told by seed_idle_arm */
	struct event *ev;             /* at the deadline while it seeds under a limit */
	struct event_base *base;
	const struct session_settings *set;   /* the session's limit (read when used) */
	/* the deadline passed with nothing moved: the owner stops (limit_min: the limit) */
	void (*expired)(void *arg, int limit_min);
	void *arg;
};

/* Mode GLOBAL, its own limit the session's current one. */
void seed_idle_init(struct seed_idle *si, struct event_base *base,
    const struct session_settings *set, void (*expired)(void *arg, int limit_min), void *arg);
/* The limit in force in minutes: its own, the session's, or -1 for none. */
int seed_idle_limit(const struct seed_idle *si);
/* Data moved (a block in or out): O(1); the timer is looked at only when it fires. */
void seed_idle_activity(struct seed_idle *si, uint64_t now_ms);
/* The torrent started: idleness counts from now (Transmission: the later of start and activity). */
void seed_idle_started(struct seed_idle *si, uint64_t now_ms);
/* Its state or a limit changed: the timer is set to the deadline while it seeds under a limit,
 * else taken off. */
void seed_idle_arm(struct seed_idle *si, bool seeding);
/* Wall seconds at which it stops if nothing moves; 0 when no limit runs now. */
int64_t seed_idle_stop_date(const struct seed_idle *si);
void seed_idle_free(struct seed_idle *si);

#endif
