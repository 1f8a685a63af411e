/* stopsig.h: SIGINT/SIGTERM for the programs' front ends: the first asks the loop to stop, the
 * second ends the process at once, whatever the loop is doing. */
#ifndef DP_STOPSIG_H
#define DP_STOPSIG_H

struct event_base;
struct stopsig;

/*
 * Catches SIGINT and SIGTERM for the whole process (one at a time: a second stopsig_new fails).
 * The first signal runs cb(sig, arg) on base's loop. The second ends the process from the
 * signal handler with status 128+sig, after removing remove_path (the PID file; may be NULL):
 * the loop may be the thing that is stuck (blocked on a full stderr), or the shutdown after it
 * (joining a disk worker that waits on a file), and a user who asks twice means now.
 * NULL when the handler or its pipe cannot be set up.
 */
struct stopsig *stopsig_new(struct event_base *base, void (*cb)(int sig, void *arg), void *arg,
    const char *remove_path);
/* Gives SIGINT and SIGTERM back their default action (which ends the process) and frees s. */
void stopsig_free(struct stopsig *s);

#endif
