/* session_store.h: the session directory (torrents/ with a metainfo copy per torrent, resume/
 * with one resume file each), loading every torrent at start, saving resume data through the
 * writer thread, queueing, seeding limits, moving on completion and hooks. The engine reaches it
 * through these calls; the public side is in engine.h (engine_session_open and friends). */
#ifndef DP_ENGINE_INTERNAL
#error "session_store.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_SESSION_STORE_H
#define DP_SESSION_STORE_H

#include <stdbool.h>

#include "engine.h"

struct store;
struct torrent;

/* From session_emit, synchronously (the torrent may be half-way through a state change). */
void store_on_event(struct store *s, int torrent_id, enum engine_event ev);
/* The user (or an add) asks t to run: true = start it now, false = it was queued. */
bool store_admit(struct store *s, struct torrent *t);
/* engine_shutdown begins: remember what was running, stop timers and the watch directory. */
void store_shutdown_begin(struct store *s);
/* The live settings changed (engine_settings.c): queue and seeding limits, hooks, directories;
 * save: the run-time changes to keep changed too, write settings.conf. */
void store_settings_changed(struct store *s, bool save);
/* The engine is quiet: write every resume file now (waits for the writes). */
void store_flush(struct store *s);
void store_free(struct store *s);

#endif
