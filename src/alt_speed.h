/* alt_speed.h: the alternative limits' schedule ("turtle mode", Transmission's alt-speed-time-*):
 * whether a minute of the week is inside it, and the timer that switches alt_speed_enabled at
 * its edges, leaving the user free to switch it by hand in between. */
#ifndef DP_ENGINE_INTERNAL
#error "alt_speed.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_ALT_SPEED_H
#define DP_ALT_SPEED_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct dp_config;
struct alt_speed_sched;

/* What the schedule needs of the engine, lent by engine.c (the schedule sits below it). */
struct alt_speed_host {
	struct event_base *base;
	/* the settings in effect now */
	const struct dp_config *(*live)(void *arg);
	/* a run-time change kept over the configuration; 0, or -1 with err */
	int (*keep)(void *arg, const char *key, const char *value, char *err, size_t errlen);
	void *arg;
};

/*
 * Inside the schedule at day wday (0 Sunday .. 6 Saturday), minute (0..1439)? begin < end is
 * [begin, end) on each day of the mask (bit 0 Sunday); end <= begin runs from begin on a day of
 * the mask to end on the next day (begin == end: 24 hours). As Transmission's turtle table.
 */
bool alt_speed_in_window(int begin, int end, int days, int wday, int minute);

/* The timer (every 10 s): at the first look and at each edge of the window, alt_speed_enabled
 * follows the schedule while alt_speed_time_enabled is on. */
struct alt_speed_sched *alt_speed_start(const struct alt_speed_host *host);
void alt_speed_stop(struct alt_speed_sched **sp);

/* The schedule changed (switched on, times, days): at the next turn of the loop it applies as
 * if just started, as Transmission does when the user pokes the clock. Not from inside the
 * commit that changed it, which would nest a second commit. */
void alt_speed_poke(struct alt_speed_sched *s);

#endif
