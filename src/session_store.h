/* session_store.h: the seedbox policy's entry: a session directory (torrents/ with a metainfo
 * copy per torrent, resume/ with one resume file each, settings.conf) opened on an engine, which
 * it then joins as the engine's policy (engine_policy.h): loading every torrent at start, saving
 * resume data through the writer thread, queueing, seeding limits, moving on completion, hooks
 * and the watch directory. The programs that host an engine (the TUI, the daemon) call it. */
#ifndef DP_SESSION_STORE_H
#define DP_SESSION_STORE_H

#include <stddef.h>

struct dp_config;
struct engine;

/*
 * Loads every torrent saved in dir (torrents/ and resume/, created if missing) and from then on
 * keeps their resume files up to date, queues torrents over the configured limits, stops seeds
 * at their limits, moves finished data to completed_dir and runs the hooks; watch_dir is
 * watched. The UI and the daemon call it once after engine_new; `downpour get` does not.
 * Taking the session's lock is the caller's job (lockfile.h). cfg (NULL: the engine's settings
 * as they are) is applied as engine_apply_config does, then settings.conf's run-time changes.
 * 0, or -1 with err (a session directory is open already, a directory can't be created).
 */
int session_store_open(struct engine *e, const char *dir, const struct dp_config *cfg,
    char *err, size_t errlen);

/* Torrents read by the store's queue passes so far (store: the engine's policy argument); a
 * test's measure that a pass costs what changed, not every torrent. */
unsigned long long session_store_queue_reads(const void *store);
/* Torrents whose resume file the last exit left unsynced and still waiting for the save that
 * syncs them, the passes begun over them, and the most saves one pass made (tests). */
void session_store_resync_counts(const void *store, size_t *pending, unsigned *passes,
    unsigned *most);
/* Tests: saves per pass of those, and ms between two passes (0: the defaults). */
void session_store_resync_pace_for_tests(unsigned batch, unsigned every_ms);
/* Tests: runs work(arg) on the store's writer thread, as a job in its order (a test holds the
 * writer with it to have the saves that follow queued behind). */
void session_store_writer_call_for_tests(void *store, void (*work)(void *arg), void *arg);

#endif
