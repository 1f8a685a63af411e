/* alt_speed.c: the alternative limits' schedule (alt_speed.h): the window test in minutes of the
 * week, and a 10 s timer that switches alt_speed_enabled when the window's edge passes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "alt_speed.h"
#include "dp_config.h"
#include "log.h"
#include "task.h"
#include "util.h"

#define ALT_SPEED_TICK_S 10
#define ALT_SPEED_DAY_MIN 1440

struct alt_speed_sched {
	struct alt_speed_host host;
	struct event *timer;
	struct dp_task *task;
	int last;                  /* inside at the last look: 1, 0, or -1 (not looked yet) */
};

bool
alt_speed_in_window(int begin, int end, int days, int wday, int minute)
{
	if (wday < 0 || wday > 6)
		return false;
	bool today = (days >> wday) & 1;
	if (begin < end)
		return today && minute >= begin && minute < end;
	/* Past midnight (or 24 hours from begin): the evening of a scheduled day, or the morning
	 * after one. */
	bool yesterday = (days >> ((wday + 6) % 7)) & 1;
	return (today && minute >= begin) || (yesterday && minute < end);
}

static void
alt_speed_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct alt_speed_sched *s = arg;
	(void)fd;
	(void)what;
	task_cb_begin(s->task);
	const struct dp_config *c = s->host.live(s->host.arg);
	if (!c->alt_speed_time_enabled) {
		s->last = -1;
		task_idle(s->task, DP_TASK_TIMER_WAIT, "the schedule is off");
	} else {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		int in = alt_speed_in_window(c->alt_speed_time_begin, c->alt_speed_time_end,
		    c->alt_speed_time_day, tm.tm_wday, tm.tm_hour * 60 + tm.tm_min) ? 1 : 0;
		if (in != s->last) {
			s->last = in;
			if (c->alt_speed_enabled != (in == 1)) {
				char err[200];
				log_info("alternative speed limits %s by the schedule",
				    in ? "on" : "off");
				if (s->host.keep(s->host.arg, "alt_speed_enabled",
				    in ? "true" : "false", err, sizeof err) < 0)
					log_warn("alternative speed schedule: %s", err);
			}
		}
		task_idle(s->task, DP_TASK_TIMER_WAIT, "the schedule: %s the window",
		    in ? "inside" : "outside");
	}
	task_cb_end(s->task);
}

struct alt_speed_sched *
alt_speed_start(const struct alt_speed_host *host)
{
	struct alt_speed_sched *s = xcalloc(1, sizeof *s);
	s->host = *host;
	s->last = -1;
	s->task = task_new(DP_TASK_KIND_TIMER, 0, "alternative speed schedule");
	s->timer = event_new(host->base, -1, EV_PERSIST, alt_speed_tick_cb, s);
	struct timeval tv = { ALT_SPEED_TICK_S, 0 };
	if (s->timer == NULL || event_add(s->timer, &tv) < 0)
		log_error("alternative speed schedule: cannot start its timer");
	/* The first look now, as Transmission does at start. */
	alt_speed_tick_cb(-1, 0, s);
	return s;
}

void
alt_speed_poke(struct alt_speed_sched *s)
{
	if (s == NULL || s->timer == NULL)
		return;
	s->last = -1;
	event_active(s->timer, EV_TIMEOUT, 0);
}

void
alt_speed_stop(struct alt_speed_sched **sp)
{
	struct alt_speed_sched *s = *sp;
	if (s == NULL)
		return;
	if (s->timer != NULL)
		event_free(s->timer);
	task_done(s->task, "stopped");
	task_release(&s->task);
	free(s);
	*sp = NULL;
}
