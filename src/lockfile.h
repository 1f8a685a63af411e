/* lockfile.h: one instance per session directory: an fcntl write lock on DIR/lock holding the
 * owner's PID, so a second instance can say which process runs the session. */
#ifndef DP_LOCKFILE_H
#define DP_LOCKFILE_H

#include <stddef.h>
#include <sys/types.h>

struct lockfile;

/*
 * Takes the lock on path (created 0644 if missing, with its directories) and writes our PID into it. Returns NULL when
 * the lock is held (*holder = its PID, err says so) or on an I/O error (*holder = 0, err names
 * the file and the call). fcntl locks belong to the process: take it after forking.
 */
struct lockfile *lockfile_acquire(const char *path, pid_t *holder, char *err, size_t errlen);
/* The PID holding the lock on path, 0 when free or missing, -1 on error. Does not lock. */
pid_t lockfile_holder(const char *path);
/* Releases the lock and empties the file (it stays: see lockfile.c). */
void lockfile_release(struct lockfile *lf);

#endif
