/* accept_backoff.c: what a listener does when accept fails: 1,100 idle connections to the RPC
 * port sent the daemon into an accept-error loop (80-94 % CPU, 5 million log lines in 45 s;
 * issue 11, finding 7), since a level-triggered listener with a full descriptor table is ready
 * forever. The listener pauses instead, and one line per interval says how often it failed. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "accept_backoff.h"
#include "log.h"
#include "util.h"

struct accept_backoff {
	struct evconnlistener *listener;
	struct event *resume;
	char what[48];
	uint64_t logged_ms;
	unsigned failures;             /* since the last log line */
	struct accept_backoff *next;
};

/* The watched listeners of this process. libevent hands the error callback the listener's own
 * argument (evhttp's, for the RPC), so the record is found by listener. A record is used on its
 * listener's loop; the list is shared by every loop of the process (tests run several). */
static struct accept_backoff *accept_backoffs;
static pthread_mutex_t accept_backoff_lock = PTHREAD_MUTEX_INITIALIZER;

static struct accept_backoff *
accept_backoff_find(const struct evconnlistener *l)
{
	pthread_mutex_lock(&accept_backoff_lock);
	struct accept_backoff *b = accept_backoffs;
	while (b != NULL && b->listener != l)
		b = b->next;
	pthread_mutex_unlock(&accept_backoff_lock);
	return b;
}

static void
accept_backoff_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct accept_backoff *b = arg;
	(void)fd;
	(void)what;
	evconnlistener_enable(b->listener);
}

static void
accept_backoff_error_cb(struct evconnlistener *l, void *arg)
{
	(void)arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct accept_backoff *b = accept_backoff_find(l);
	if (b == NULL)
		return;
	uint64_t now = dp_now_ms();
	b->failures++;
	if (b->logged_ms == 0 || now - b->logged_ms >= ACCEPT_BACKOFF_LOG_MS) {
		log_warn("%s: accept failed: %s (%u time%s since the last report); pausing new "
		    "connections for %d ms", b->what, evutil_socket_error_to_string(err),
		    b->failures, b->failures == 1 ? "" : "s", ACCEPT_BACKOFF_PAUSE_MS);
		b->logged_ms = now;
		b->failures = 0;
	}
	if (b->resume == NULL)
		return;
	evconnlistener_disable(l);
	struct timeval tv = { ACCEPT_BACKOFF_PAUSE_MS / 1000, (ACCEPT_BACKOFF_PAUSE_MS % 1000) * 1000 };
	evtimer_add(b->resume, &tv);
}

void
accept_backoff_watch(struct event_base *base, struct evconnlistener *l, const char *what)
{
	struct accept_backoff *b = xcalloc(1, sizeof *b);
	b->listener = l;
	b->resume = evtimer_new(base, accept_backoff_resume_cb, b);
	snprintf(b->what, sizeof b->what, "%s", what);
	pthread_mutex_lock(&accept_backoff_lock);
	b->next = accept_backoffs;
	accept_backoffs = b;
	pthread_mutex_unlock(&accept_backoff_lock);
	evconnlistener_set_error_cb(l, accept_backoff_error_cb);
}

void
accept_backoff_forget(struct evconnlistener *l)
{
	struct accept_backoff *b = NULL;
	pthread_mutex_lock(&accept_backoff_lock);
	for (struct accept_backoff **pp = &accept_backoffs; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->listener == l) {
			b = *pp;
			*pp = b->next;
			break;
		}
	}
	pthread_mutex_unlock(&accept_backoff_lock);
	if (b == NULL)
		return;
	if (b->resume != NULL)
		event_free(b->resume);
	free(b);
}

bool
accept_deadline_late(uint64_t armed_ms, uint64_t period_ms)
{
	return dp_now_ms() > armed_ms + period_ms + 1000;
}

int
accept_cap_from_fd_limit(int configured, int floor, int ceiling)
{
	if (configured > 0)
		return configured;
	struct rlimit rl;
	long share = ceiling;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		share = (long)(rl.rlim_cur / 8);
	if (share < floor)
		share = floor;
	if (share > ceiling)
		share = ceiling;
	return (int)share;
}
