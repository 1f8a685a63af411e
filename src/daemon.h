/* daemon.h: detaching from the terminal (double fork, setsid) with a start-up status pipe back to
 * the launching process, standard streams to the log, and the PID file. */
#ifndef DP_DAEMON_H
#define DP_DAEMON_H

#include <stddef.h>

/*
 * Forks twice. The launching process never returns: it waits until the daemon reports its
 * start-up with daemon_ready(), prints the message given there on failure, and exits with the
 * status reported (1 when the daemon dies first). In the daemon it returns 0 with *notify_fd
 * set, in a new session, umask 022, cwd "/". Returns -1 with err if the first fork fails.
 */
int daemon_detach(int *notify_fd, char *err, size_t errlen);
/* Reports start-up to the launcher (status 0 = running) and closes fd; fd < 0 is ignored. */
void daemon_ready(int fd, int status, const char *msg);
/* stdin from /dev/null, stdout and stderr appended to log_path (or /dev/null when NULL). */
int daemon_redirect_stdio(const char *log_path, char *err, size_t errlen);
/* Writes our PID to path via a temporary name and rename. */
int daemon_write_pidfile(const char *path, char *err, size_t errlen);
/* Removes path only if it still holds our PID. */
void daemon_remove_pidfile(const char *path);

#endif
