/* engine_private.h: what the engine's own files share above the session: the live settings
 * (engine_settings.c) and, through engine_state.h, the state. Only engine files include it. */
#ifndef DP_ENGINE_INTERNAL
#error "engine_private.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_ENGINE_PRIVATE_H
#define DP_ENGINE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine.h"
#include "engine_state.h"
#include "session.h"
#include "torrent.h"


/*
 * engine_settings.c: the settings the engine runs with, one struct dp_config described by
 * settings_table.c; every change (SIGHUP, the RPC, the UI, settings.conf) goes through one
 * commit that runs each changed key's way of applying. Declared here, with the state, because
 * only engine files call them (engine_new, the session directory).
 */
struct dp_config;
struct settings;

/* Hands an event to the policy at once and to the front end's callback from the loop; the
 * session reaches it through e->emit. */
void engine_emit(struct engine *e, int torrent_id, enum engine_event ev);
/* Adds a parsed torrent (mi taken over, freed on failure): engine_add_torrent_file's and
 * engine_policy_add_metainfo's common part. */
int engine_add_metainfo(struct engine *e, struct metainfo *mi, const struct engine_add_opts *opts,
    int *id_out, char *err, size_t errlen);

/* engine_new: copies cfg (NULL: the table's defaults) and fills what session_init takes.
 * 0, or -1 with err for a value the engine cannot hold. */
int engine_settings_init(struct engine *e, const struct dp_config *cfg,
    struct session_settings *set, char *err, size_t errlen);
void engine_settings_free(struct engine *e);

/* What the engine runs with now; valid until the next change. */
const struct dp_config *engine_settings_live(const struct engine *e);
/* The run-time changes that win over the configuration (settings.conf holds them). */
const struct settings *engine_settings_kept(const struct engine *e);
/*
 * A run-time change kept over the configuration: key must be a SETTING_REMOTE key. Applies it,
 * records it in engine_settings_kept() and, with a session directory, has it saved. *changed
 * (may be NULL) says whether the kept value differs from before. 0 or -1 with err.
 */
int engine_settings_keep(struct engine *e, const char *key, const char *value, bool *changed,
    char *err, size_t errlen);
/* Every live key of cfg except the kept ones (SIGHUP, opening the session directory); keys
 * that only a restart applies are named in the log when they differ. */
void engine_settings_reconfigure(struct engine *e, const struct dp_config *cfg);
/* The queue and seeding limits in effect (a switched-off limit is 0, "none"). */
void engine_settings_queue_limits(const struct dp_config *c, struct engine_queue_limits *out);

/* engine_trackers.c: a list kept in the resume file put back (NULL: the metainfo's stays; one
 * the announcer cannot use is logged and left), and the list to keep (NULL unless the user
 * changed it; the caller frees it). */
struct torrent;
void engine_trackers_restore(struct torrent *t, const char *text);
char *engine_trackers_kept(const struct torrent *t);

/* engine_blocklist.c: the IP filter read again (blocklist, blocklist_file or blocklist_url changed;
 * off: dropped), where a list is kept without blocklist_file, and the end. The list in force is
 * e->ip_filter, which session.c asks for every connection in and out. */
void engine_blocklist_reload(struct engine *e);
void engine_blocklist_session_dir(struct engine *e, const char *dir);
void engine_blocklist_free(struct engine *e);

/* engine_rename.c: torrent-rename-path's names from the resume file put back on a stopped
 * torrent just added (names: its name, then each file's path); names that are not safe relative
 * paths are logged and left. */
void engine_rename_restore(struct engine *e, struct torrent *t, char *const *names);

#endif
