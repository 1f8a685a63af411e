/* engine_settings.c: the engine's live settings: one struct dp_config changed only through
 * engine_settings_commit, which applies each changed key the way settings_table.c says; the
 * public setters (engine.h) and SIGHUP's engine_apply_config are thin layers over it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alt_speed.h"
#include "dp_config.h"
#include "engine.h"
#include "engine_private.h"
#include "log.h"
#include "portmap.h"
#include "settings_file.h"
#include "settings_table.h"
#include "torrent.h"
#include "transport.h"
#include "util.h"

/* Not settings: fixed by the engine (they were session_default_settings' extras). */
#define ENGINE_PIECE_CACHE 32         /* pieces kept in each torrent's read cache */
#define ENGINE_NUMWANT 80             /* peers asked of a tracker per announce */

struct engine_settings {
	struct dp_config live;
	struct settings kept;             /* run-time changes, as settings.conf holds them */
};

const struct dp_config *
engine_settings_live(const struct engine *e)
{
	return &e->settings->live;
}

const struct settings *
engine_settings_kept(const struct engine *e)
{
	return &e->settings->kept;
}

void
engine_settings_queue_limits(const struct dp_config *c, struct engine_queue_limits *out)
{
	memset(out, 0, sizeof *out);
	out->max_active_downloads = c->max_active_downloads_enabled ? c->max_active_downloads : 0;
	out->max_active_seeds = c->max_active_seeds_enabled ? c->max_active_seeds : 0;
	out->seed_ratio = c->seed_ratio_limit_enabled ? c->seed_ratio_limit : 0;
	out->seed_time_s = c->seed_time_limit;
	out->start_paused = c->start_paused;
}

/* The limits in force: the alternative ones while they are on. */
static uint64_t
engine_settings_down_limit(const struct dp_config *c)
{
	if (c->alt_speed_enabled)
		return c->alt_speed_down;
	return c->download_rate_limit_enabled ? c->download_rate_limit : 0;
}

static uint64_t
engine_settings_up_limit(const struct dp_config *c)
{
	if (c->alt_speed_enabled)
		return c->alt_speed_up;
	return c->upload_rate_limit_enabled ? c->upload_rate_limit : 0;
}

/* ---- one function per way of applying (enum setting_apply) ---- */

static void
engine_settings_apply_rates(struct engine *e)
{
	const struct dp_config *c = &e->settings->live;
	uint64_t now = dp_now_ms();
	e->set.down_limit = engine_settings_down_limit(c);
	e->set.up_limit = engine_settings_up_limit(c);
	bw_bucket_set_rate(&e->down_bucket, e->set.down_limit, now);
	bw_bucket_set_rate(&e->up_bucket, e->set.up_limit, now);
}

static void
engine_settings_apply_peers(struct engine *e)
{
	const struct dp_config *c = &e->settings->live;
	e->set.max_connections = c->max_connections_global;
	e->set.max_peers_per_torrent = c->max_connections_per_torrent;
	e->set.max_peers_per_address = c->max_peers_per_address;
	e->set.upload_slots = c->upload_slots;
	e->set.pex = c->pex;
}

static void
engine_settings_apply_download_dir(struct engine *e)
{
	snprintf(e->set.download_dir, sizeof e->set.download_dir, "%s",
	    e->settings->live.download_dir);
	/* free_space describes the old directory: refresh it at the next tick. */
	e->free_space_at_ms = 0;
}

static void
engine_settings_apply_transport(struct engine *e)
{
	const struct dp_config *c = &e->settings->live;
	e->set.encryption = c->encryption;
	e->set.utp = c->utp;
	struct transport_settings ts = { .encryption = (enum dp_encryption)c->encryption,
		.utp = c->utp };
	if (e->transport != NULL)
		transport_set(e->transport, &ts);
}

/* Port mapping switched on or off while running: the mapper starts (or maps again) or removes
 * its mappings; a listening port is needed, and nothing starts once shutting down. */
static void
engine_settings_apply_portmap(struct engine *e)
{
	bool on = e->settings->live.port_mapping;
	if (e->portmap != NULL)
		portmap_set_enabled(e->portmap, on);
	else if (on && e->listen_port > 0 && !e->shutting_down)
		e->portmap = portmap_new(e->base, (uint16_t)e->listen_port,
		    e->udp4 != NULL || e->udp6 != NULL, NULL);
}

static void
engine_settings_apply_alt_schedule(struct engine *e)
{
	alt_speed_poke(e->alt_speed);
}

/* The session's idle seeding limit changed: the torrents that follow it set their timers again
 * (a walk over the torrents, once per change of the setting). */
static void
engine_settings_apply_seed_idle(struct engine *e)
{
	const struct dp_config *c = &e->settings->live;
	e->set.seed_idle_minutes = c->seed_idle_limit;
	e->set.seed_idle_enabled = c->seed_idle_limit_enabled;
	for (struct torrent *t = e->torrents; t != NULL; t = t->next)
		if (t->idle.mode == ENGINE_IDLE_GLOBAL)
			torrent_idle_changed(t);
}

/* SETTING_APPLY_STORE is the session directory's: engine_settings_commit tells it. */
static void (*const engine_settings_appliers[SETTING_APPLY_COUNT])(struct engine *e) = {
	[SETTING_APPLY_RATES] = engine_settings_apply_rates,
	[SETTING_APPLY_PEERS] = engine_settings_apply_peers,
	[SETTING_APPLY_DOWNLOAD_DIR] = engine_settings_apply_download_dir,
	[SETTING_APPLY_TRANSPORT] = engine_settings_apply_transport,
	[SETTING_APPLY_PORTMAP] = engine_settings_apply_portmap,
	[SETTING_APPLY_ALT_SCHEDULE] = engine_settings_apply_alt_schedule,
	[SETTING_APPLY_SEED_IDLE] = engine_settings_apply_seed_idle,
	[SETTING_APPLY_BLOCKLIST] = engine_blocklist_reload,
};

/* What the engine cannot hold although the table allows it. */
static int
engine_settings_check(const struct dp_config *c, char *err, size_t errlen)
{
	if (strlen(c->download_dir) >= sizeof ((struct session_settings *)0)->download_dir)
		return dp_fail(err, errlen, "the download directory's path is too long");
	return 0;
}

/*
 * Makes next the live settings (taking its strings; next is left empty) and applies each key
 * that changed, once per way. save: a kept change the session directory must write.
 */
static int
engine_settings_commit(struct engine *e, struct dp_config *next, bool save, char *err,
    size_t errlen)
{
	struct engine_settings *es = e->settings;
	if (engine_settings_check(next, err, errlen) < 0) {
		config_free(next);
		return -1;
	}
	bool run[SETTING_APPLY_COUNT] = { false };
	for (size_t i = 0; i < settings_table_count; i++)
		if (!config_value_equal(&es->live, next, &settings_table[i]))
			run[settings_table[i].apply] = true;
	config_free(&es->live);
	es->live = *next;
	memset(next, 0, sizeof *next);
	for (int a = 0; a < SETTING_APPLY_COUNT; a++)
		if (run[a] && engine_settings_appliers[a] != NULL)
			engine_settings_appliers[a](e);
	if (e->policy != NULL && (run[SETTING_APPLY_STORE] || save))
		e->policy->settings_changed(e->policy_arg, save);
	return 0;
}

/* One key set from its text on a copy of the live settings, then committed. */
static int
engine_settings_set(struct engine *e, const struct setting_def *d, const char *value, bool save,
    char *err, size_t errlen)
{
	char full[64];
	settings_table_full_name(d, full, sizeof full);
	struct dp_config next;
	config_copy(&next, &e->settings->live);
	/* Only the key's own checks: the other key of a pair may be the configured value. */
	if (config_set_one(&next, full, value, err, errlen) < 0) {
		config_free(&next);
		return -1;
	}
	return engine_settings_commit(e, &next, save, err, errlen);
}

int
engine_settings_init(struct engine *e, const struct dp_config *cfg, struct session_settings *set,
    char *err, size_t errlen)
{
	struct engine_settings *es = xcalloc(1, sizeof *es);
	e->settings = es;
	settings_init(&es->kept);
	if (cfg != NULL)
		config_copy(&es->live, cfg);
	else
		config_defaults(&es->live);
	const struct dp_config *c = &es->live;
	if (engine_settings_check(c, err, errlen) < 0)
		return -1;
	memset(set, 0, sizeof *set);
	snprintf(set->download_dir, sizeof set->download_dir, "%s", c->download_dir);
	set->listen_port = c->listen_port;
	set->listen_ipv6 = c->listen_ipv6;
	set->max_connections = c->max_connections_global;
	set->max_peers_per_torrent = c->max_connections_per_torrent;
	set->max_peers_per_address = c->max_peers_per_address;
	set->upload_slots = c->upload_slots;
	set->pex = c->pex;
	set->down_limit = engine_settings_down_limit(c);
	set->up_limit = engine_settings_up_limit(c);
	set->disk_threads = c->disk_threads;
	set->disk_write_bound = c->disk_write_queue_bytes;
	set->max_open_files = c->open_files;
	set->piece_cache = ENGINE_PIECE_CACHE;
	set->numwant = ENGINE_NUMWANT;
	set->encryption = c->encryption;
	set->utp = c->utp;
	set->seed_idle_minutes = c->seed_idle_limit;
	set->seed_idle_enabled = c->seed_idle_limit_enabled;
	e->listen_address = xstrdup(c->listen_address);
	return 0;
}

void
engine_settings_free(struct engine *e)
{
	if (e->settings == NULL)
		return;
	config_free(&e->settings->live);
	settings_clear(&e->settings->kept);
	free(e->settings);
	e->settings = NULL;
}

int
engine_settings_keep(struct engine *e, const char *key, const char *value, bool *changed,
    char *err, size_t errlen)
{
	const struct setting_def *d = settings_table_lookup(key);
	if (d == NULL || !(d->flags & SETTING_REMOTE))
		return dp_fail(err, errlen, "'%s' is not a run-time setting", key);
	if (strlen(value) > SETTINGS_MAX_VALUE)
		return dp_fail(err, errlen, "%s: value longer than %d bytes", key,
		    SETTINGS_MAX_VALUE);
	const char *old = settings_get(&e->settings->kept, key);
	bool differs = old == NULL || strcmp(old, value) != 0;
	if (changed != NULL)
		*changed = differs;
	/* Kept first, so that the session directory writes the new value when told to. */
	char *was = old != NULL ? xstrdup(old) : NULL;
	settings_put(&e->settings->kept, key, value);
	int rc = engine_settings_set(e, d, value, differs, err, errlen);
	if (rc < 0) {
		if (was != NULL)
			settings_put(&e->settings->kept, key, was);
		else
			settings_remove(&e->settings->kept, key);
	}
	free(was);
	return rc;
}

void
engine_settings_reconfigure(struct engine *e, const struct dp_config *cfg)
{
	struct engine_settings *es = e->settings;
	struct dp_config next;
	char restart[512] = "", err[256];
	size_t used = 0;
	config_copy(&next, &es->live);
	for (size_t i = 0; i < settings_table_count; i++) {
		const struct setting_def *d = &settings_table[i];
		char full[64];
		settings_table_full_name(d, full, sizeof full);
		if (config_value_equal(&next, cfg, d) || settings_get(&es->kept, full) != NULL)
			continue;
		if (settings_table_is_live(d)) {
			config_copy_value(&next, cfg, d);
		} else if (used < sizeof restart) {
			int n = snprintf(restart + used, sizeof restart - used, "%s%s",
			    used > 0 ? ", " : "", full);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	if (restart[0] != '\0')
		log_warn("settings: %s changed; the new value%s applies at the next start", restart,
		    strchr(restart, ',') != NULL ? "s" : "");
	if (engine_settings_commit(e, &next, false, err, sizeof err) < 0)
		log_error("settings: not applied: %s", err);
}

/* ---- engine.h ---- */

void
engine_config_get(struct engine *e, struct dp_config *out)
{
	config_copy(out, &e->settings->live);
}

int
engine_set_setting(struct engine *e, const char *key, const char *value, char *err,
    size_t errlen)
{
	const struct setting_def *d = settings_table_lookup(key);
	if (d == NULL)
		return dp_fail(err, errlen, "unknown key '%s'", key);
	if (!settings_table_is_live(d))
		return dp_fail(err, errlen, "%s applies only at the next start", key);
	return engine_settings_set(e, d, value, false, err, errlen);
}

int
engine_session_set_setting(struct engine *e, const char *key, const char *value, char *err,
    size_t errlen)
{
	bool changed;
	if (engine_settings_keep(e, key, value, &changed, err, errlen) < 0)
		return -1;
	if (changed)
		log_info("settings: %s set to \"%s\"%s", key, value, e->policy != NULL ?
		    " (kept in the session directory's " SETTINGS_FILE_NAME ")" : "");
	return e->policy != NULL ? 0 : 1;
}

void
engine_apply_config(struct engine *e, const struct dp_config *cfg)
{
	engine_settings_reconfigure(e, cfg);
}

void
engine_set_rate_limits(struct engine *e, uint64_t down_bps, uint64_t up_bps)
{
	struct dp_config next;
	config_copy(&next, &e->settings->live);
	next.download_rate_limit = DP_MIN(down_bps, (uint64_t)INT64_MAX);
	next.upload_rate_limit = DP_MIN(up_bps, (uint64_t)INT64_MAX);
	/* A limit given here is meant to apply (0 still means none). */
	next.download_rate_limit_enabled = next.upload_rate_limit_enabled = true;
	char err[128];
	if (engine_settings_commit(e, &next, false, err, sizeof err) < 0)
		log_error("settings: rate limits: %s", err);
}

int
engine_set_download_dir(struct engine *e, const char *dir, char *err, size_t errlen)
{
	if (dir == NULL || dir[0] != '/')
		return dp_fail(err, errlen, "the download directory must be an absolute path");
	return engine_settings_set(e, settings_table_find(NULL, "download_dir"), dir, false, err,
	    errlen);
}

void
engine_set_limits(struct engine *e, int max_connections, int max_peers_per_torrent,
    int upload_slots)
{
	struct dp_config next;
	config_copy(&next, &e->settings->live);
	if (max_connections > 0)
		next.max_connections_global = DP_MIN(max_connections, 65535);
	if (max_peers_per_torrent > 0)
		next.max_connections_per_torrent = DP_MIN(max_peers_per_torrent, 65535);
	if (upload_slots > 0)
		next.upload_slots = DP_MIN(upload_slots, 1000);
	char err[128];
	if (engine_settings_commit(e, &next, false, err, sizeof err) < 0)
		log_error("settings: limits: %s", err);
}

int
engine_get_queue_limits(struct engine *e, struct engine_queue_limits *out)
{
	engine_settings_queue_limits(&e->settings->live, out);
	if (e->policy != NULL)
		return 0;
	memset(out, 0, sizeof *out);
	return -1;
}
