/* hooks.h: completion and error hooks: a command run with the torrent's details in DOWNPOUR_*
 * environment variables, without a shell unless asked, never blocking the loop, with a timeout;
 * its exit status and output go to the log, and it is a HOOK task while it runs. */
#ifndef DP_HOOKS_H
#define DP_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

struct engine;
struct event_base;
struct hooks;

struct hooks *hooks_new(struct engine *e, struct event_base *base);
/*
 * Starts cmd: split into words (quotes and backslashes as in the shell, no expansions) and run
 * with execvp, or given to /bin/sh -c when shell is set. env holds "NAME=value" strings added
 * to our environment (NULL-terminated). After timeout_s seconds the hook's process group gets
 * SIGTERM, 2 s later SIGKILL. label names it in the log ("completion hook for NAME").
 * Returns 0, or -1 with err (bad command line, fork failed).
 */
int hooks_run(struct hooks *h, const char *cmd, bool shell, int timeout_s,
    const char *const *env, int torrent_id, const char *label, char *err, size_t errlen);
size_t hooks_running(const struct hooks *h);
/* Waits up to wait_ms for running hooks, then kills the rest; reaps them all and frees. */
void hooks_free(struct hooks *h, unsigned wait_ms);

/* Pure: splits a command line into words; NULL with err on an empty line or open quote. */
char **hooks_split(const char *cmd, char *err, size_t errlen);
void hooks_argv_free(char **argv);

#endif
