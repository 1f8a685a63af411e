/* stopsig.c: SIGINT/SIGTERM for the front ends (daemon, get/seed, the UI): the first goes to the
 * loop through a pipe it reads; the second ends the process in the handler itself, so it works
 * when the loop, or the shutdown after it, is stuck. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "stopsig.h"
#include "util.h"

struct stopsig {
	struct event *ev;
	int rfd;
	void (*cb)(int sig, void *arg);
	void *arg;
	bool fired;
};

/* What the handler reads: process-wide, as signal dispositions are. */
static volatile sig_atomic_t stopsig_count;
static volatile int stopsig_wfd = -1;
static char stopsig_remove[PATH_MAX];

static void
stopsig_handler(int sig)
{
	int saved = errno;
	int wfd = stopsig_wfd;
	if (stopsig_count++ > 0 || wfd < 0) {
		static const char msg[] = "downpour: second signal: exiting now\n";
		/* stderr may be the very pipe that is full: say it only if that cannot block. */
		struct pollfd pfd = { .fd = STDERR_FILENO, .events = POLLOUT };
		if (stopsig_remove[0] != '\0')
			(void)unlink(stopsig_remove);
		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT) != 0)
			(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
		_exit(128 + sig);
	}
	unsigned char b = (unsigned char)sig;
	(void)!write(wfd, &b, 1);
	errno = saved;
}

static void
stopsig_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stopsig *s = arg;
	unsigned char b[16];
	(void)what;
	ssize_t n = read(fd, b, sizeof b);
	if (n > 0 && !s->fired) {
		s->fired = true;
		s->cb(b[0], s->arg);
	}
}

static void
stopsig_set_action(void (*handler)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

struct stopsig *
stopsig_new(struct event_base *base, void (*cb)(int sig, void *arg), void *arg,
    const char *remove_path)
{
	int fds[2];
	if (stopsig_wfd >= 0 || pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
		return NULL;
	struct stopsig *s = xcalloc(1, sizeof *s);
	s->rfd = fds[0];
	s->cb = cb;
	s->arg = arg;
	s->ev = event_new(base, s->rfd, EV_READ | EV_PERSIST, stopsig_read_cb, s);
	if (s->ev == NULL || event_add(s->ev, NULL) != 0) {
		if (s->ev != NULL)
			event_free(s->ev);
		close(fds[0]);
		close(fds[1]);
		free(s);
		return NULL;
	}
	snprintf(stopsig_remove, sizeof stopsig_remove, "%s", remove_path ? remove_path : "");
	stopsig_count = 0;
	stopsig_wfd = fds[1];
	stopsig_set_action(stopsig_handler);
	return s;
}

void
stopsig_free(struct stopsig *s)
{
	if (s == NULL)
		return;
	stopsig_set_action(SIG_DFL);
	int wfd = stopsig_wfd;
	stopsig_wfd = -1;
	close(wfd);
	event_free(s->ev);
	close(s->rfd);
	free(s);
}
