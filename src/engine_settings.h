/* engine_settings.h (engine-internal): the settings a running engine uses, one struct dp_config
 * described by settings_table.c; every change (SIGHUP, the RPC, the UI, settings.conf) goes
 * through one commit that runs each changed key's way of applying. */
#ifndef DP_ENGINE_SETTINGS_H
#define DP_ENGINE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

struct dp_config;
struct engine;
struct engine_queue_limits;
struct session_settings;
struct settings;

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

#endif
