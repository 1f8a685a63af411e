/* accept_backoff.h: listeners whose accept fails (out of descriptors) pause instead of spinning,
 * and say so once per interval; and the connection caps sized from the descriptor limit. */
#ifndef DP_ACCEPT_BACKOFF_H
#define DP_ACCEPT_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct evconnlistener;

#define ACCEPT_BACKOFF_PAUSE_MS 1000
#define ACCEPT_BACKOFF_LOG_MS 10000

/* Sets l's error callback: a failing accept (EMFILE, ENFILE, ENOBUFS) disables l for
 * ACCEPT_BACKOFF_PAUSE_MS and logs one warning per ACCEPT_BACKOFF_LOG_MS naming `what` and
 * how often it failed. Loop thread only; accept_backoff_forget before l is freed. */
void accept_backoff_watch(struct event_base *base, struct evconnlistener *l, const char *what);
void accept_backoff_forget(struct evconnlistener *l);

/* A client's deadline that fires more than a second after it was due: the loop was busy (a
 * load of thousands of torrents), so the client's bytes may be waiting unread behind the timer.
 * Such a deadline is given one more period instead of closing the client. */
bool accept_deadline_late(uint64_t armed_ms, uint64_t period_ms);

/* A default cap for one kind of local connection: a share of the soft descriptor limit (1/8),
 * at least `floor`, at most `ceiling`; `configured` > 0 wins. */
int accept_cap_from_fd_limit(int configured, int floor, int ceiling);

#endif
