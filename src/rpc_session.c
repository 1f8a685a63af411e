/* rpc_session.c: the RPC's session methods: session-get (settings as Transmission names them),
 * session-set through the settings table, session-stats, session-close and port-test. */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_config.h"
#include "log.h"
#include "rpc_private.h"
#include "settings_file.h"
#include "util.h"

/* Whether torrent-add starts torrents by default: the session's start_paused. */
bool
rpc_session_start_added(struct rpc_handler *h)
{
	struct dp_config c;
	engine_config_get(h->e, &c);
	bool start = !c.start_paused;
	config_free(&c);
	return start;
}

double
rpc_session_seed_ratio(struct rpc_handler *h)
{
	struct dp_config c;
	engine_config_get(h->e, &c);
	/* Transmission's default stands in while none is configured. */
	double r = c.seed_ratio_limit > 0 ? c.seed_ratio_limit : 2.0;
	config_free(&c);
	return r;
}

/*
 * Transmission keeps a limit and its on/off switch apart (speed-limit-down and
 * speed-limit-down-enabled), and so does the settings table: the value's key (0 = none) and
 * KEY_enabled. A client sees the limit on when both say so.
 */
enum rpc_unit { RPC_UNIT_KBPS, RPC_UNIT_COUNT, RPC_UNIT_RATIO };

struct rpc_switched {
	const char *value_arg, *flag_arg;   /* session-get/set names */
	const char *key, *flag_key;         /* settings table keys */
	enum rpc_unit unit;
	double shown;                       /* Transmission's default, shown while the value is 0 */
	bool needs_session;                 /* queueing needs a session directory */
};

static const struct rpc_switched rpc_switched[] = {
	{ "speed-limit-down", "speed-limit-down-enabled", "download_rate_limit",
	    "download_rate_limit_enabled", RPC_UNIT_KBPS, 100, false },
	{ "speed-limit-up", "speed-limit-up-enabled", "upload_rate_limit",
	    "upload_rate_limit_enabled", RPC_UNIT_KBPS, 100, false },
	{ "download-queue-size", "download-queue-enabled", "max_active_downloads",
	    "max_active_downloads_enabled", RPC_UNIT_COUNT, 5, true },
	{ "seed-queue-size", "seed-queue-enabled", "max_active_seeds", "max_active_seeds_enabled",
	    RPC_UNIT_COUNT, 10, true },
	{ "seedRatioLimit", "seedRatioLimited", "seed_ratio_limit", "seed_ratio_limit_enabled",
	    RPC_UNIT_RATIO, 2.0, true },
	{ "idle-seeding-limit", "idle-seeding-limit-enabled", "seed_idle_limit",
	    "seed_idle_limit_enabled", RPC_UNIT_COUNT, 30, false },
};


/* The value in the client's unit as it sees it, and whether it sees it on. */
static double
rpc_switched_shown(const struct rpc_switched *p, const struct dp_config *c, bool have_session,
    bool *on)
{
	double v = 0, flag = 0;
	config_get_number(c, p->key, &v);
	config_get_number(c, p->flag_key, &flag);
	*on = flag != 0 && v > 0 && (have_session || !p->needs_session);
	if (p->unit == RPC_UNIT_KBPS)
		return v > 0 ? (double)(((uint64_t)v + 999) / 1000) : p->shown;
	return v > 0 ? v : p->shown;
}

/* Settings that map one to one onto a key of the table (Transmission name, key, unit). */
enum rpc_plain_type { RPC_PLAIN_BOOL, RPC_PLAIN_INT, RPC_PLAIN_KBPS };

struct rpc_plain {
	const char *arg, *key;
	enum rpc_plain_type type;
	int64_t min, max;                   /* RPC_PLAIN_INT */
};

static const struct rpc_plain rpc_plain[] = {
	{ "alt-speed-down", "alt_speed_down", RPC_PLAIN_KBPS, 0, RPC_MAX_KBPS },
	{ "alt-speed-up", "alt_speed_up", RPC_PLAIN_KBPS, 0, RPC_MAX_KBPS },
	{ "alt-speed-enabled", "alt_speed_enabled", RPC_PLAIN_BOOL, 0, 0 },
	{ "alt-speed-time-enabled", "alt_speed_time_enabled", RPC_PLAIN_BOOL, 0, 0 },
	{ "alt-speed-time-begin", "alt_speed_time_begin", RPC_PLAIN_INT, 0, 1439 },
	{ "alt-speed-time-end", "alt_speed_time_end", RPC_PLAIN_INT, 0, 1439 },
	{ "alt-speed-time-day", "alt_speed_time_day", RPC_PLAIN_INT, 0, 127 },
	{ "blocklist-enabled", "blocklist", RPC_PLAIN_BOOL, 0, 0 },
};

/* What session-get reports for a setting downpour does not have (or not built yet), and why
 * session-set refuses to change it: a client is never told "success" for a change that does
 * nothing. Sending the value shown is accepted (clients send back what they read). */
struct rpc_fixed {
	const char *arg;
	const char *why;
};

static const struct rpc_fixed rpc_fixed[] = {
	{ "dht-enabled", "the DHT is not switched on by the RPC (the configuration's dht key)" },
	{ "incomplete-dir", "downpour has no incomplete directory: data is written in place and "
	    "completed_dir (configuration file) moves finished downloads" },
	{ "incomplete-dir-enabled", "downpour has no incomplete directory: data is written in "
	    "place and completed_dir (configuration file) moves finished downloads" },
	{ "lpd-enabled", "local peer discovery is not switched on by the RPC (the "
	    "configuration's lsd key)" },
	{ "peer-port-random-on-start", "downpour does not pick a random port on start" },
	{ "queue-stalled-enabled", "downpour does not take stalled torrents out of the queue" },
	{ "queue-stalled-minutes", "downpour does not take stalled torrents out of the queue" },
	{ "rename-partial-files", "downpour writes files under their final names" },
	{ "script-torrent-done-enabled", "hooks are set in the configuration file only "
	    "(completion_hook): a remote client must not choose what downpour runs" },
	{ "script-torrent-done-filename", "hooks are set in the configuration file only "
	    "(completion_hook): a remote client must not choose what downpour runs" },
	{ "trash-original-torrent-files", "downpour does not delete the .torrent files it adds" },
};

static json_t *
session_object(struct rpc_handler *h)
{
	struct engine_global_stats g;
	engine_global(h->e, &g);
	json_t *o = json_object();
	struct engine_blocklist_info bl;
	engine_blocklist_get(h->e, &bl);
	json_object_set_new(o, "blocklist-enabled", json_boolean(bl.enabled));
	json_object_set_new(o, "blocklist-size", json_integer((json_int_t)bl.rules));
	json_object_set_new(o, "config-dir", json_string(h->config_dir ? h->config_dir : ""));
	json_object_set_new(o, "dht-enabled", json_boolean(g.dht_nodes >= 0));
	json_object_set_new(o, "download-dir", json_string(g.download_dir));
	json_object_set_new(o, "download-dir-free-space", json_integer((json_int_t)DP_MIN(
	    g.free_space, (uint64_t)INT64_MAX)));
	json_object_set_new(o, "incomplete-dir", json_string(g.download_dir));
	json_object_set_new(o, "incomplete-dir-enabled", json_false());
	json_object_set_new(o, "lpd-enabled", json_boolean(g.lsd));
	json_object_set_new(o, "peer-limit-global", json_integer(g.max_connections));
	json_object_set_new(o, "peer-limit-per-torrent", json_integer(g.max_peers_per_torrent));
	json_object_set_new(o, "peer-port", json_integer(g.listen_port));
	json_object_set_new(o, "peer-port-random-on-start", json_false());
	json_object_set_new(o, "pex-enabled", json_boolean(g.pex));
	json_object_set_new(o, "queue-stalled-enabled", json_false());
	json_object_set_new(o, "queue-stalled-minutes", json_integer(30));
	json_object_set_new(o, "rename-partial-files", json_false());
	json_object_set_new(o, "rpc-version", json_integer(RPC_VERSION));
	json_object_set_new(o, "rpc-version-minimum", json_integer(RPC_VERSION_MIN));
	json_object_set_new(o, "rpc-version-semver", json_string(RPC_VERSION_SEMVER));
	json_object_set_new(o, "script-torrent-done-enabled", json_false());
	json_object_set_new(o, "script-torrent-done-filename", json_string(""));
	/* Limits and their switches from the live settings: what SIGHUP loaded is what shows. */
	struct dp_config c;
	struct engine_queue_limits q;
	engine_config_get(h->e, &c);
	bool have_session = engine_get_queue_limits(h->e, &q) == 0;
	for (size_t i = 0; i < DP_ARRAY_LEN(rpc_switched); i++) {
		const struct rpc_switched *p = &rpc_switched[i];
		bool on;
		double v = rpc_switched_shown(p, &c, have_session, &on);
		json_object_set_new(o, p->value_arg, p->unit == RPC_UNIT_RATIO ? json_real(v) :
		    json_integer((json_int_t)v));
		json_object_set_new(o, p->flag_arg, json_boolean(on));
	}
	json_object_set_new(o, "start-added-torrents", json_boolean(!c.start_paused));
	for (size_t i = 0; i < DP_ARRAY_LEN(rpc_plain); i++) {
		const struct rpc_plain *p = &rpc_plain[i];
		double v = 0;
		config_get_number(&c, p->key, &v);
		json_object_set_new(o, p->arg, p->type == RPC_PLAIN_BOOL ? json_boolean(v != 0) :
		    p->type == RPC_PLAIN_KBPS ? json_integer((json_int_t)(((uint64_t)v + 999) /
		    1000)) : json_integer((json_int_t)v));
	}
	/* Transmission's encryption values are the settings table's names. */
	json_object_set_new(o, "encryption", json_string(dp_encryption_names[c.encryption]));
	json_object_set_new(o, "utp-enabled", json_boolean(c.utp));
	json_object_set_new(o, "blocklist-url", json_string(c.blocklist_url != NULL ?
	    c.blocklist_url : ""));
	json_object_set_new(o, "port-forwarding-enabled", json_boolean(c.port_mapping));
	config_free(&c);
	json_object_set_new(o, "trash-original-torrent-files", json_false());
	json_object_set_new(o, "units", json_pack("{s:[s,s,s,s], s:i, s:[s,s,s,s], s:i, "
	    "s:[s,s,s,s], s:i}",
	    "speed-units", "kB/s", "MB/s", "GB/s", "TB/s", "speed-bytes", 1000,
	    "size-units", "kB", "MB", "GB", "TB", "size-bytes", 1000,
	    "memory-units", "KiB", "MiB", "GiB", "TiB", "memory-bytes", 1024));
	json_object_set_new(o, "version", json_string(RPC_VERSION_STRING));
	return o;
}

/* Every fixed setting the request names must carry the value shown; else nothing changes. */
static int
rpc_session_check_fixed(struct rpc_handler *h, json_t *args, char *err, size_t errlen)
{
	json_t *shown = NULL;
	int rc = 0;
	for (size_t i = 0; i < DP_ARRAY_LEN(rpc_fixed) && rc == 0; i++) {
		json_t *v = rpc_arg_get(args, rpc_fixed[i].arg);
		if (v == NULL)
			continue;
		if (shown == NULL)
			shown = session_object(h);
		json_t *cur = json_object_get(shown, rpc_fixed[i].arg);
		/* 0/1 for false/true, as older clients send booleans. */
		bool same = json_equal(v, cur) || (json_is_boolean(cur) && json_is_integer(v) &&
		    json_integer_value(v) == (json_is_true(cur) ? 1 : 0));
		if (!same)
			rc = dp_fail(err, errlen, "%s cannot be changed: %s", rpc_fixed[i].arg,
			    rpc_fixed[i].why);
	}
	json_decref(shown);
	return rc;
}

int
rpc_method_session_get(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	json_t *fields = rpc_arg_get(args, "fields");
	if (fields != NULL && !json_is_array(fields))
		return dp_fail(err, errlen, "argument 'fields' must be a list of names");
	json_t *all = session_object(h);
	if (fields == NULL || json_array_size(fields) == 0) {
		json_object_update(out, all);
	} else {
		size_t i;
		json_t *f;
		json_array_foreach(fields, i, f) {
			if (!json_is_string(f))
				continue;
			const char *key;
			json_t *v;
			json_object_foreach(all, key, v)
				if (rpc_key_same(key, json_string_value(f)))
					json_object_set(out, key, v);
		}
	}
	json_decref(all);
	return 0;
}

/* A change session-set makes: a settings table key and its text. */
struct rpc_change {
	const char *key;
	char value[1100];
};

#define RPC_MAX_CHANGES 32

static void rpc_change_add(struct rpc_change *ch, size_t *n, const char *key, const char *fmt,
    ...) DP_PRINTF(4, 5);

static void
rpc_change_add(struct rpc_change *ch, size_t *n, const char *key, const char *fmt, ...)
{
	if (*n >= RPC_MAX_CHANGES)
		return;    /* cannot happen: session-set names fewer keys */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ch[*n].value, sizeof ch[*n].value, fmt, ap);
	va_end(ap);
	ch[*n].key = key;
	(*n)++;
}

/* A value/switch pair: what the client sent, over what it saw. 1 if either was sent. */
static int
rpc_switched_parse(const struct rpc_switched *p, json_t *args, const struct dp_config *c,
    bool have_session, struct rpc_change *ch, size_t *n, char *err, size_t errlen)
{
	int64_t iv = 0;
	double dv = 0;
	bool flag = false;
	int got_v = p->unit == RPC_UNIT_RATIO ? rpc_arg_real(args, p->value_arg, &dv, err, errlen) :
	    rpc_arg_int(args, p->value_arg, p->unit == RPC_UNIT_KBPS ? 0 : 1,
	    p->unit == RPC_UNIT_KBPS ? RPC_MAX_KBPS : 100000, &iv, err, errlen);
	int got_f = got_v < 0 ? -1 : rpc_arg_bool(args, p->flag_arg, &flag, err, errlen);
	if (got_v < 0 || got_f < 0)
		return -1;
	if (got_v == 0 && got_f == 0)
		return 0;
	if (p->needs_session && !have_session)
		return dp_fail(err, errlen, "queueing and seeding limits need a session directory");
	if (p->unit == RPC_UNIT_RATIO && got_v && (dv < 0 || dv > 1e6))
		return dp_fail(err, errlen, "%s must be between 0 and 1000000", p->value_arg);
	double cur = 0, cur_flag = 0;
	config_get_number(c, p->key, &cur);
	config_get_number(c, p->flag_key, &cur_flag);
	bool seen_on;
	rpc_switched_shown(p, c, have_session, &seen_on);
	bool on = got_f ? flag : seen_on;
	/* A value sent alone does not switch on a limit the client saw off. A limit switched on
	 * without a value takes the value the client saw (Transmission's default while unset). */
	double shown = p->unit == RPC_UNIT_KBPS ? p->shown * 1000 : p->shown;
	double v = got_v ? (p->unit == RPC_UNIT_KBPS ? (double)iv * 1000 :
	    p->unit == RPC_UNIT_COUNT ? (double)iv : dv) : cur > 0 || !on ? cur : shown;
	if (got_v || v != cur) {
		if (p->unit == RPC_UNIT_RATIO)
			rpc_change_add(ch, n, p->key, "%.17g", v);
		else if (p->unit == RPC_UNIT_KBPS && got_v)
			rpc_change_add(ch, n, p->key, "%" PRId64, iv * 1000);
		else
			rpc_change_add(ch, n, p->key, "%.0f", v);
	}
	if (got_f || on != (cur_flag != 0))
		rpc_change_add(ch, n, p->flag_key, "%s", on ? "true" : "false");
	return 1;
}

/* What session-set changes: the settings table's keys and their new values, each checked by
 * the table. real_dir: download-dir as rpc_roots_check resolved it (NULL: not changed). */
static int
rpc_session_set_changes(struct rpc_handler *h, json_t *args, const char *real_dir,
    struct rpc_change *ch, size_t *np, char *err, size_t errlen)
{
	struct engine_queue_limits q;
	bool have_session = engine_get_queue_limits(h->e, &q) == 0;
	int64_t peers_global = 0, peers_torrent = 0;
	bool start_added = false, utp = false, portmap = false, pex = false;
	const char *encryption = NULL, *bl_url = NULL;
	if (rpc_arg_int(args, "peer-limit-global", 1, 65535, &peers_global, err, errlen) < 0 ||
	    rpc_arg_int(args, "peer-limit-per-torrent", 1, 65535, &peers_torrent, err, errlen) < 0 ||
	    rpc_arg_bool(args, "start-added-torrents", &start_added, err, errlen) < 0 ||
	    rpc_arg_string(args, "encryption", &encryption, err, errlen) < 0 ||
	    rpc_arg_bool(args, "utp-enabled", &utp, err, errlen) < 0 ||
	    rpc_arg_bool(args, "port-forwarding-enabled", &portmap, err, errlen) < 0 ||
	    rpc_arg_bool(args, "pex-enabled", &pex, err, errlen) < 0 ||
	    rpc_arg_string(args, "blocklist-url", &bl_url, err, errlen) < 0)
		return -1;
	size_t n = 0;
	/* First, so that the one change the engine may still refuse (a path too long for it)
	 * comes before any other is made. */
	if (real_dir != NULL)
		rpc_change_add(ch, &n, "download_dir", "%s", real_dir);
	struct dp_config c;
	engine_config_get(h->e, &c);
	int rc = 0;
	for (size_t i = 0; i < DP_ARRAY_LEN(rpc_switched) && rc >= 0; i++)
		rc = rpc_switched_parse(&rpc_switched[i], args, &c, have_session, ch, &n, err,
		    errlen);
	config_free(&c);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < DP_ARRAY_LEN(rpc_plain); i++) {
		const struct rpc_plain *p = &rpc_plain[i];
		bool b;
		int64_t v;
		int got = p->type == RPC_PLAIN_BOOL ? rpc_arg_bool(args, p->arg, &b, err, errlen) :
		    rpc_arg_int(args, p->arg, p->min, p->max, &v, err, errlen);
		if (got < 0)
			return -1;
		if (got == 0)
			continue;
		if (p->type == RPC_PLAIN_BOOL)
			rpc_change_add(ch, &n, p->key, "%s", b ? "true" : "false");
		else
			rpc_change_add(ch, &n, p->key, "%" PRId64, p->type == RPC_PLAIN_KBPS ?
			    v * 1000 : v);
	}
	if (peers_global > 0)
		rpc_change_add(ch, &n, "max_connections_global", "%" PRId64, peers_global);
	if (peers_torrent > 0)
		rpc_change_add(ch, &n, "max_connections_per_torrent", "%" PRId64, peers_torrent);
	if (rpc_arg_get(args, "start-added-torrents") != NULL)
		rpc_change_add(ch, &n, "start_paused", "%s", start_added ? "false" : "true");
	if (encryption != NULL)
		rpc_change_add(ch, &n, "encryption", "%s", encryption);
	if (rpc_arg_get(args, "utp-enabled") != NULL)
		rpc_change_add(ch, &n, "utp", "%s", utp ? "true" : "false");
	if (rpc_arg_get(args, "port-forwarding-enabled") != NULL)
		rpc_change_add(ch, &n, "port_mapping", "%s", portmap ? "true" : "false");
	if (rpc_arg_get(args, "pex-enabled") != NULL)
		rpc_change_add(ch, &n, "pex", "%s", pex ? "true" : "false");
	if (bl_url != NULL)
		rpc_change_add(ch, &n, "blocklist_url", "%s", bl_url);
	for (size_t i = 0; i < n; i++) {
		struct dp_config v;
		int bad = settings_value(ch[i].key, ch[i].value, &v, err, errlen);
		config_free(&v);
		if (bad < 0)
			return -1;
	}
	*np = n;
	return 0;
}

/* Makes session-set's changes: checked first, so that a bad argument changes nothing. */
static int
rpc_session_set_apply(struct rpc_handler *h, json_t *args, const char *real_dir, json_t *out,
    char *err, size_t errlen)
{
	(void)out;
	struct rpc_change ch[RPC_MAX_CHANGES];
	size_t n = 0;
	if (rpc_session_set_changes(h, args, real_dir, ch, &n, err, errlen) < 0)
		return -1;
	/* Kept in the session directory's settings.conf (not when sandboxed: fuzzing). */
	for (size_t i = 0; i < n; i++)
		if ((h->sandbox ? engine_set_setting(h->e, ch[i].key, ch[i].value, err, errlen) :
		    engine_session_set_setting(h->e, ch[i].key, ch[i].value, err, errlen)) < 0)
			return -1;
	return 0;
}

int
rpc_method_session_set(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	struct engine_global_stats g;
	engine_global(h->e, &g);
	int64_t port = -1;
	const char *dir = NULL, *bl_url = NULL;
	/* Read and check everything first, so that a bad argument changes nothing. */
	if (rpc_arg_int(args, "peer-port", 0, 65535, &port, err, errlen) < 0 ||
	    rpc_arg_string(args, "download-dir", &dir, err, errlen) < 0 ||
	    rpc_arg_string(args, "blocklist-url", &bl_url, err, errlen) < 0)
		return -1;
	if (bl_url != NULL && bl_url[0] != '\0' && strncmp(bl_url, "http://", 7) != 0)
		return dp_fail(err, errlen, "blocklist-url must be an http:// URL (downpour fetches "
		    "no https and reads no gzip)");
	if (port >= 0 && port != g.listen_port)
		return dp_fail(err, errlen, "peer-port: the listening port changes only with a "
		    "restart (it is %d)", g.listen_port);
	if (dir != NULL && h->sandbox)
		return dp_fail(err, errlen, "download-dir is not accepted here");
	if (rpc_session_check_fixed(h, args, err, errlen) < 0)
		return -1;
	struct rpc_change ch[RPC_MAX_CHANGES];
	size_t n = 0;
	if (dir == NULL)
		return rpc_session_set_apply(h, args, NULL, out, err, errlen);
	/* The other arguments are checked before the filesystem is asked anything; they are
	 * read again once download-dir is, against the settings as they are then. */
	if (rpc_session_set_changes(h, args, NULL, ch, &n, err, errlen) < 0)
		return -1;
	/* Under the directories a client may name (issue 11, finding 5), links resolved: on the
	 * disk pool, like torrent-add's and free-space's, and the answer waits for it. */
	return rpc_path_check_then(h, args, "session-set", "download-dir", dir,
	    rpc_session_set_apply, out, err, errlen);
}

static json_t *
stats_object(const struct engine_totals *t)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "uploadedBytes", (json_int_t)t->uploaded,
	    "downloadedBytes", (json_int_t)t->downloaded, "filesAdded",
	    (json_int_t)t->files_added, "sessionCount", (json_int_t)t->session_count,
	    "secondsActive", (json_int_t)t->seconds_active);
}

int
rpc_method_session_stats(struct rpc_handler *h, json_t *args, json_t *out, char *err, size_t errlen)
{
	(void)args;
	(void)err;
	(void)errlen;
	struct engine_global_stats g;
	engine_global(h->e, &g);
	/* From the engine's counts per state, not a walk over every torrent's statistics (which
	 * took up to 475 ms of loop time with 10,000 torrents). */
	json_object_set_new(out, "activeTorrentCount",
	    json_integer(g.torrents - g.torrents_stopped));
	json_object_set_new(out, "pausedTorrentCount", json_integer(g.torrents_stopped));
	json_object_set_new(out, "torrentCount", json_integer(g.torrents));
	json_object_set_new(out, "downloadSpeed", json_integer((json_int_t)g.down_rate));
	json_object_set_new(out, "uploadSpeed", json_integer((json_int_t)g.up_rate));
	/* This run, and every run of the session directory (SESSION/stats). */
	json_object_set_new(out, "current-stats", stats_object(&g.current));
	json_object_set_new(out, "cumulative-stats", stats_object(&g.cumulative));
	return 0;
}


/* session-close: the answer goes out, then the program around the engine stops (the daemon
 * exits as on SIGTERM). Without such a program (tests, the fuzz target) it is refused. */
int
rpc_method_session_close(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen)
{
	(void)args;
	(void)out;
	if (h->close_cb == NULL)
		return dp_fail(err, errlen, "session-close: nothing to close here (no daemon)");
	log_info("rpc: session-close: the daemon stops");
	h->close_cb(h->close_arg);
	return 0;
}

/* port-test: Transmission asks portcheck.transmissionbt.com; downpour contacts no outside
 * service, so it cannot know whether the port is reachable from the Internet and says so. */
int
rpc_method_port_test(struct rpc_handler *h, json_t *args, json_t *out, char *err,
    size_t errlen)
{
	(void)args;
	(void)out;
	struct engine_global_stats g;
	engine_global(h->e, &g);
	return dp_fail(err, errlen, "port-test: downpour cannot test whether peer port %d is "
	    "reachable from the Internet (that takes an outside server, and downpour contacts "
	    "none); it is %s here", g.listen_port, g.listen_port > 0 ? "listening" :
	    "not listening");
}
