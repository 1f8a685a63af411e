/* task_dump.h: the daemon's SIGUSR1 dump into the log: the unfinished tasks, the pieces hashed
 * since start and every torrent's state, gathered on the loop in slices and written to the log
 * on the disk pool. */
#ifndef DP_TASK_DUMP_H
#define DP_TASK_DUMP_H

#include <stdint.h>

struct engine;
struct task_dump;

/*
 * Starts a dump: the first slice now, the others in loop turns of their own, then the lines go
 * to the log on the disk pool. Returns NULL when it was gathered at once (a small registry);
 * otherwise the dump, and ended(arg) runs when it is gathered (the dump is freed after it, so
 * the owner forgets it there). slice_us: 0 for the default (tests: small ones).
 */
struct task_dump *task_dump_start(struct engine *e, uint64_t slice_us, void (*ended)(void *arg),
    void *arg);
/* Gives up a dump still being gathered (the daemon stopping): nothing is written. NULL: none. */
void task_dump_free(struct task_dump *d);

#endif
