/* config.c: the configuration file: a table of every key (type, range, where it lives in struct
 * dp_config) drives defaults, loading with file:line errors, overrides, validation and printing. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <math.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dp_config.h"
#include "util.h"

enum config_kind {
	CK_PATH,        /* char *, absolute after "~/" expansion */
	CK_OPT_PATH,    /* char *, "" means unset (NULL) */
	CK_STR,         /* char * */
	CK_OPT_STR,     /* char *, "" means unset (NULL) */
	CK_ADDR,        /* char *, numeric IPv4/IPv6 address */
	CK_INT,         /* int within [min, max] */
	CK_INT64,       /* int64_t within [min, max] */
	CK_SIZE,        /* uint64_t: integer or "16M" string, within [min, max] */
	CK_BOOL,        /* bool */
	CK_FLOAT,       /* double within [min, max] */
	CK_LEVEL,       /* enum dp_log_level, by name */
	CK_STRLIST,     /* char ** + size_t count right after it */
};

struct config_key {
	const char *group;     /* NULL: top level */
	const char *name;
	enum config_kind kind;
	size_t offset;
	int64_t min, max;
};

#define CK(g, n, k, field, lo, hi) { g, n, k, offsetof(struct dp_config, field), lo, hi }

static const struct config_key config_keys[] = {
	CK(NULL, "download_dir", CK_PATH, download_dir, 0, 0),
	CK(NULL, "session_dir", CK_PATH, session_dir, 0, 0),
	CK(NULL, "watch_dir", CK_OPT_PATH, watch_dir, 0, 0),
	CK(NULL, "completed_dir", CK_OPT_PATH, completed_dir, 0, 0),

	CK(NULL, "listen_port", CK_INT, listen_port, 0, 65535),
	CK(NULL, "listen_address", CK_ADDR, listen_address, 0, 0),
	CK(NULL, "max_connections_global", CK_INT, max_connections_global, 1, 65535),
	CK(NULL, "max_connections_per_torrent", CK_INT, max_connections_per_torrent, 1, 65535),
	CK(NULL, "upload_slots", CK_INT, upload_slots, 1, 1000),
	CK(NULL, "download_rate_limit", CK_SIZE, download_rate_limit, 0, INT64_MAX),
	CK(NULL, "upload_rate_limit", CK_SIZE, upload_rate_limit, 0, INT64_MAX),
	CK(NULL, "dht", CK_BOOL, dht, 0, 0),
	CK(NULL, "lsd", CK_BOOL, lsd, 0, 0),
	CK(NULL, "upnp", CK_BOOL, upnp, 0, 0),
	CK(NULL, "pex", CK_BOOL, pex, 0, 0),

	CK(NULL, "disk_threads", CK_INT, disk_threads, 0, 256),
	CK(NULL, "disk_write_queue_bytes", CK_SIZE, disk_write_queue_bytes, 1 << 20,
	    (int64_t)1 << 40),
	CK(NULL, "open_files", CK_INT, open_files, 4, 65536),

	CK(NULL, "max_active_downloads", CK_INT, max_active_downloads, 0, 100000),
	CK(NULL, "max_active_seeds", CK_INT, max_active_seeds, 0, 100000),
	CK(NULL, "seed_ratio_limit", CK_FLOAT, seed_ratio_limit, 0, 1000000),
	CK(NULL, "seed_time_limit", CK_INT64, seed_time_limit, 0, INT64_C(1) << 40),
	CK(NULL, "start_paused", CK_BOOL, start_paused, 0, 0),

	CK(NULL, "completion_hook", CK_OPT_STR, completion_hook, 0, 0),
	CK(NULL, "error_hook", CK_OPT_STR, error_hook, 0, 0),
	CK(NULL, "hook_shell", CK_BOOL, hook_shell, 0, 0),
	CK(NULL, "hook_timeout", CK_INT, hook_timeout, 1, 86400),

	CK(NULL, "log_file", CK_OPT_PATH, log_file, 0, 0),
	CK(NULL, "log_level", CK_LEVEL, log_level, 0, 0),

	CK("rpc", "enabled", CK_BOOL, rpc.enabled, 0, 0),
	CK("rpc", "bind", CK_ADDR, rpc.bind, 0, 0),
	CK("rpc", "port", CK_INT, rpc.port, 1, 65535),
	CK("rpc", "username", CK_STR, rpc.username, 0, 0),
	CK("rpc", "password", CK_STR, rpc.password, 0, 0),
	CK("rpc", "host_whitelist", CK_STRLIST, rpc.host_whitelist, 0, 0),

	CK("ui", "refresh_ms", CK_INT, ui.refresh_ms, 50, 60000),
	CK("ui", "blocked_threshold_s", CK_INT, ui.blocked_threshold_s, 1, 86400),
	CK("ui", "ascii", CK_BOOL, ui.ascii, 0, 0),
	CK("ui", "colors", CK_BOOL, ui.colors, 0, 0),
};

static const char *const config_groups[] = { "rpc", "ui", "keys" };

#define FIELD(cfg, k, type) ((type *)(void *)((char *)(cfg) + (k)->offset))

static const char *
config_home(void)
{
	const char *h = getenv("HOME");
	if (h != NULL && h[0] == '/')
		return h;
	struct passwd *pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/')
		return pw->pw_dir;
	return "/";
}

/* $XDG_<var> if absolute, else ~/<fallback>; then "/downpour[/leaf]". */
static char *
config_xdg_path(const char *var, const char *fallback, const char *leaf)
{
	const char *x = getenv(var);
	char *base;
	if (x != NULL && x[0] == '/')
		base = xstrdup(x);
	else
		base = xasprintf("%s/%s", config_home(), fallback);
	char *p = leaf != NULL ? xasprintf("%s/downpour/%s", base, leaf) :
	    xasprintf("%s/downpour", base);
	free(base);
	return p;
}

char *
config_default_path(void)
{
	return config_xdg_path("XDG_CONFIG_HOME", ".config", "downpour.conf");
}

void
config_defaults(struct dp_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->download_dir = xasprintf("%s/Downloads", config_home());
	cfg->session_dir = config_xdg_path("XDG_DATA_HOME", ".local/share", NULL);
	cfg->listen_port = 51413;
	cfg->listen_address = xstrdup("0.0.0.0");
	cfg->max_connections_global = 500;
	cfg->max_connections_per_torrent = 80;
	cfg->upload_slots = 8;
	cfg->peer_id_prefix = DP_PEER_ID_PREFIX;
	cfg->disk_write_queue_bytes = 64u << 20;
	cfg->open_files = 128;
	cfg->max_active_downloads = 5;
	cfg->max_active_seeds = 10;
	cfg->hook_timeout = 300;
	cfg->log_level = DP_LOG_INFO;
	cfg->rpc.bind = xstrdup("127.0.0.1");
	cfg->rpc.port = 9091;
	cfg->rpc.username = xstrdup("");
	cfg->rpc.password = xstrdup("");
	cfg->rpc.host_whitelist = xcalloc(3, sizeof(char *));
	cfg->rpc.host_whitelist[0] = xstrdup("localhost");
	cfg->rpc.host_whitelist[1] = xstrdup("127.0.0.1");
	cfg->rpc.host_whitelist[2] = xstrdup("::1");
	cfg->rpc.host_whitelist_count = 3;
	cfg->ui.refresh_ms = 1000;
	cfg->ui.blocked_threshold_s = 5;
	cfg->ui.colors = true;
}

static void
config_free_strlist(char ***list, size_t *count)
{
	for (size_t i = 0; i < *count; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*count = 0;
}

void
config_free(struct dp_config *cfg)
{
	for (size_t i = 0; i < DP_ARRAY_LEN(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		switch (k->kind) {
		case CK_PATH:
		case CK_OPT_PATH:
		case CK_STR:
		case CK_OPT_STR:
		case CK_ADDR:
			free(*FIELD(cfg, k, char *));
			*FIELD(cfg, k, char *) = NULL;
			break;
		case CK_STRLIST:
			config_free_strlist(FIELD(cfg, k, char **),
			    (size_t *)(void *)((char *)cfg + k->offset + sizeof(char **)));
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < cfg->key_count; i++) {
		free(cfg->keys[i].action);
		free(cfg->keys[i].key);
	}
	free(cfg->keys);
	free(cfg->source);
	memset(cfg, 0, sizeof *cfg);
}

static const struct config_key *
config_find_key(const char *group, const char *name)
{
	for (size_t i = 0; i < DP_ARRAY_LEN(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		if (strcmp(k->name, name) != 0)
			continue;
		if ((group == NULL) != (k->group == NULL))
			continue;
		if (group == NULL || strcmp(group, k->group) == 0)
			return k;
	}
	return NULL;
}

static void
config_full_name(const struct config_key *k, char *out, size_t outlen)
{
	if (k->group != NULL)
		snprintf(out, outlen, "%s.%s", k->group, k->name);
	else
		snprintf(out, outlen, "%s", k->name);
}

static bool
config_addr_ok(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

static bool
config_addr_is_loopback(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	if (inet_pton(AF_INET, s, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, s, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/*
 * Stores a string value into key k after the kind's checks ("~/" expansion, absolute paths,
 * numeric addresses). Returns 0 or -1 with a message that does not name the place.
 */
static int
config_store_string(struct dp_config *cfg, const struct config_key *k, const char *s, char *err,
    size_t errlen)
{
	char *v;
	if (strlen(s) > 4096) {
		dp_fail(err, errlen, "value too long");
		return -1;
	}
	switch (k->kind) {
	case CK_PATH:
	case CK_OPT_PATH:
		if (s[0] == '\0') {
			if (k->kind == CK_PATH) {
				dp_fail(err, errlen, "must not be empty");
				return -1;
			}
			v = NULL;
		} else if (s[0] == '~' && (s[1] == '/' || s[1] == '\0')) {
			v = xasprintf("%s%s", config_home(), s + 1);
			/* The expanded path is what is kept and printed back: it obeys the bound. */
			if (strlen(v) > 4096) {
				free(v);
				dp_fail(err, errlen, "value too long once ~ is expanded");
				return -1;
			}
		} else if (s[0] == '/') {
			v = xstrdup(s);
		} else {
			dp_fail(err, errlen, "'%s' is not an absolute path (start it with / or ~/)", s);
			return -1;
		}
		break;
	case CK_ADDR:
		if (!config_addr_ok(s)) {
			dp_fail(err, errlen, "'%s' is not a numeric IPv4 or IPv6 address", s);
			return -1;
		}
		v = xstrdup(s);
		break;
	case CK_OPT_STR:
		v = s[0] == '\0' ? NULL : xstrdup(s);
		break;
	case CK_STR:
		v = xstrdup(s);
		break;
	case CK_LEVEL: {
		int level = log_level_parse(s);
		if (level < 0) {
			dp_fail(err, errlen, "unknown log level '%s' (error, warn, info, debug)", s);
			return -1;
		}
		*FIELD(cfg, k, enum dp_log_level) = (enum dp_log_level)level;
		return 0;
	}
	default:
		dp_fail(err, errlen, "internal: not a string key");
		return -1;
	}
	free(*FIELD(cfg, k, char *));
	*FIELD(cfg, k, char *) = v;
	return 0;
}

static int
config_store_int(struct dp_config *cfg, const struct config_key *k, int64_t v, char *err,
    size_t errlen)
{
	if (v < k->min || v > k->max) {
		dp_fail(err, errlen, "%" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")", v,
		    k->min, k->max);
		return -1;
	}
	switch (k->kind) {
	case CK_INT:
		*FIELD(cfg, k, int) = (int)v;
		break;
	case CK_INT64:
		*FIELD(cfg, k, int64_t) = v;
		break;
	case CK_SIZE:
		*FIELD(cfg, k, uint64_t) = (uint64_t)v;
		break;
	case CK_FLOAT:
		*FIELD(cfg, k, double) = (double)v;
		break;
	default:
		dp_fail(err, errlen, "internal: not a number key");
		return -1;
	}
	return 0;
}

static int
config_store_size_string(struct dp_config *cfg, const struct config_key *k, const char *s,
    char *err, size_t errlen)
{
	uint64_t v;
	if (!dp_parse_size(s, &v) || v > INT64_MAX) {
		dp_fail(err, errlen, "'%s' is not a size (like 1048576, \"512K\" or \"4M\")", s);
		return -1;
	}
	return config_store_int(cfg, k, (int64_t)v, err, errlen);
}

static int
config_store_float(struct dp_config *cfg, const struct config_key *k, double v, char *err,
    size_t errlen)
{
	if (!isfinite(v) || v < (double)k->min || v > (double)k->max) {
		dp_fail(err, errlen, "%g is out of range (%" PRId64 "..%" PRId64 ")", v, k->min,
		    k->max);
		return -1;
	}
	*FIELD(cfg, k, double) = v;
	return 0;
}

static const char *
config_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT: return "an integer";
	case CONFIG_TYPE_INT64: return "a 64-bit integer";
	case CONFIG_TYPE_FLOAT: return "a float";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "of an unknown type";
	}
}

static const char *
config_kind_wants(enum config_kind kind)
{
	switch (kind) {
	case CK_INT:
	case CK_INT64: return "an integer";
	case CK_SIZE: return "an integer or a size string like \"4M\"";
	case CK_BOOL: return "true or false";
	case CK_FLOAT: return "a number";
	case CK_STRLIST: return "a list of strings like [\"a\", \"b\"]";
	default: return "a string";
	}
}

/* Applies one libconfig setting to key k; the message lacks the place (the caller adds it). */
static int
config_apply_setting(struct dp_config *cfg, const struct config_key *k, config_setting_t *s,
    char *err, size_t errlen)
{
	int type = config_setting_type(s);
	bool is_int = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;

	switch (k->kind) {
	case CK_INT:
	case CK_INT64:
		if (!is_int)
			break;
		return config_store_int(cfg, k, config_setting_get_int64(s), err, errlen);
	case CK_SIZE:
		if (is_int)
			return config_store_int(cfg, k, config_setting_get_int64(s), err, errlen);
		if (type == CONFIG_TYPE_STRING)
			return config_store_size_string(cfg, k, config_setting_get_string(s), err,
			    errlen);
		break;
	case CK_FLOAT:
		if (is_int)
			return config_store_int(cfg, k, config_setting_get_int64(s), err, errlen);
		if (type == CONFIG_TYPE_FLOAT)
			return config_store_float(cfg, k, config_setting_get_float(s), err, errlen);
		break;
	case CK_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			break;
		*FIELD(cfg, k, bool) = config_setting_get_bool(s) != 0;
		return 0;
	case CK_STRLIST: {
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			break;
		int n = config_setting_length(s);
		for (int i = 0; i < n; i++) {
			config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			if (config_setting_type(e) != CONFIG_TYPE_STRING) {
				dp_fail(err, errlen, "element %d is %s, expected a string", i + 1,
				    config_type_name(config_setting_type(e)));
				return -1;
			}
			if (config_setting_get_string(e)[0] == '\0') {
				dp_fail(err, errlen, "element %d is empty", i + 1);
				return -1;
			}
		}
		char ***list = FIELD(cfg, k, char **);
		size_t *count = (size_t *)(void *)((char *)cfg + k->offset + sizeof(char **));
		config_free_strlist(list, count);
		*list = xcalloc(n > 0 ? (size_t)n : 1, sizeof(char *));
		for (int i = 0; i < n; i++)
			(*list)[i] = xstrdup(config_setting_get_string(
			    config_setting_get_elem(s, (unsigned)i)));
		*count = (size_t)n;
		return 0;
	}
	default:
		if (type != CONFIG_TYPE_STRING)
			break;
		return config_store_string(cfg, k, config_setting_get_string(s), err, errlen);
	}
	dp_fail(err, errlen, "wrong type: is %s, expected %s", config_type_name(type),
	    config_kind_wants(k->kind));
	return -1;
}

static void
config_key_bind(struct dp_config *cfg, const char *action, const char *key)
{
	for (size_t i = 0; i < cfg->key_count; i++) {
		if (strcmp(cfg->keys[i].action, action) == 0) {
			free(cfg->keys[i].key);
			cfg->keys[i].key = xstrdup(key);
			return;
		}
	}
	cfg->keys = xreallocarray(cfg->keys, cfg->key_count + 1, sizeof *cfg->keys);
	cfg->keys[cfg->key_count].action = xstrdup(action);
	cfg->keys[cfg->key_count].key = xstrdup(key);
	cfg->key_count++;
}

static int
config_apply_group(struct dp_config *cfg, const char *file, config_setting_t *parent,
    const char *group, char *err, size_t errlen)
{
	int n = config_setting_length(parent);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(parent, (unsigned)i);
		const char *name = config_setting_name(s);
		unsigned line = config_setting_source_line(s);
		char why[256];

		if (name == NULL)
			name = "";
		if (group == NULL) {
			bool is_group_name = false;
			for (size_t g = 0; g < DP_ARRAY_LEN(config_groups); g++)
				if (strcmp(name, config_groups[g]) == 0)
					is_group_name = true;
			if (is_group_name) {
				if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
					dp_fail(err, errlen, "%s:%u: %s: wrong type: is %s, "
					    "expected a group { ... }", file, line, name,
					    config_type_name(config_setting_type(s)));
					return -1;
				}
				if (config_apply_group(cfg, file, s, name, err, errlen) != 0)
					return -1;
				continue;
			}
		} else if (strcmp(group, "keys") == 0) {
			if (config_setting_type(s) != CONFIG_TYPE_STRING ||
			    config_setting_get_string(s)[0] == '\0') {
				dp_fail(err, errlen, "%s:%u: keys.%s: wrong type: is %s, expected "
				    "a non-empty string naming a key", file, line, name,
				    config_type_name(config_setting_type(s)));
				return -1;
			}
			config_key_bind(cfg, name, config_setting_get_string(s));
			continue;
		}
		const struct config_key *k = config_find_key(group, name);
		if (k == NULL) {
			dp_fail(err, errlen, "%s:%u: unknown key '%s%s%s'", file, line,
			    group != NULL ? group : "", group != NULL ? "." : "", name);
			return -1;
		}
		if (config_apply_setting(cfg, k, s, why, sizeof why) != 0) {
			char full[64];
			config_full_name(k, full, sizeof full);
			dp_fail(err, errlen, "%s:%u: %s: %s", file, line, full, why);
			return -1;
		}
	}
	return 0;
}

/* Loads text (or the file) on top of the defaults already in out. */
static int
config_load_common(const char *text, const char *path, const char *name, struct dp_config *out,
    char *err, size_t errlen)
{
	config_t lc;
	int rc = -1;

	config_init(&lc);
	int ok = text != NULL ? config_read_string(&lc, text) : config_read_file(&lc, path);
	if (ok != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			dp_fail(err, errlen, "%s: cannot read: %s", name, strerror(errno));
		else
			dp_fail(err, errlen, "%s:%d: syntax error%s%s",
			    config_error_file(&lc) != NULL ? config_error_file(&lc) : name,
			    config_error_line(&lc),
			    strcmp(config_error_text(&lc), "syntax error") == 0 ? "" : ": ",
			    strcmp(config_error_text(&lc), "syntax error") == 0 ? "" :
			    config_error_text(&lc));
		goto out;
	}
	if (config_apply_group(out, name, config_root_setting(&lc), NULL, err, errlen) != 0)
		goto out;
	char why[256];
	if (config_validate(out, why, sizeof why) != 0) {
		dp_fail(err, errlen, "%s: %s", name, why);
		goto out;
	}
	out->source = xstrdup(name);
	rc = 0;
out:
	config_destroy(&lc);
	return rc;
}

int
config_load(const char *path, struct dp_config *out, char *err, size_t errlen)
{
	char *def = NULL;
	int rc;

	config_defaults(out);
	if (path == NULL) {
		struct stat st;
		def = config_default_path();
		if (stat(def, &st) != 0) {
			if (errno != ENOENT) {
				dp_fail(err, errlen, "%s: %s", def, strerror(errno));
				config_free(out);
				free(def);
				return -1;
			}
			free(def);
			/* No file: the defaults, which are valid by construction. */
			return 0;
		}
		path = def;
	} else if (access(path, R_OK) != 0) {
		dp_fail(err, errlen, "%s: %s", path, strerror(errno));
		config_free(out);
		return -1;
	}
	rc = config_load_common(NULL, path, path, out, err, errlen);
	if (rc != 0)
		config_free(out);
	free(def);
	return rc;
}

int
config_load_string(const char *text, const char *name, struct dp_config *out, char *err,
    size_t errlen)
{
	config_defaults(out);
	int rc = config_load_common(text, NULL, name, out, err, errlen);
	if (rc != 0)
		config_free(out);
	return rc;
}

static bool
config_parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 || strcmp(s, "1") == 0 ||
	    strcasecmp(s, "on") == 0)
		*out = true;
	else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 || strcmp(s, "0") == 0 ||
	    strcasecmp(s, "off") == 0)
		*out = false;
	else
		return false;
	return true;
}

static int
config_set_value(struct dp_config *cfg, const struct config_key *k, const char *value, char *err,
    size_t errlen)
{
	char *end;
	switch (k->kind) {
	case CK_INT:
	case CK_INT64: {
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0') {
			dp_fail(err, errlen, "'%s' is not an integer", value);
			return -1;
		}
		return config_store_int(cfg, k, v, err, errlen);
	}
	case CK_SIZE:
		return config_store_size_string(cfg, k, value, err, errlen);
	case CK_FLOAT: {
		errno = 0;
		double v = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0') {
			dp_fail(err, errlen, "'%s' is not a number", value);
			return -1;
		}
		return config_store_float(cfg, k, v, err, errlen);
	}
	case CK_BOOL: {
		bool b;
		if (!config_parse_bool(value, &b)) {
			dp_fail(err, errlen, "'%s' is not a boolean (true or false)", value);
			return -1;
		}
		*FIELD(cfg, k, bool) = b;
		return 0;
	}
	case CK_STRLIST: {
		/* Comma-separated on the command line. */
		char ***list = FIELD(cfg, k, char **);
		size_t *count = (size_t *)(void *)((char *)cfg + k->offset + sizeof(char **));
		char *copy = xstrdup(value), *save = NULL;
		config_free_strlist(list, count);
		*list = xcalloc(1, sizeof(char *));
		for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
			*list = xreallocarray(*list, *count + 1, sizeof(char *));
			(*list)[(*count)++] = xstrdup(t);
		}
		free(copy);
		return 0;
	}
	default:
		return config_store_string(cfg, k, value, err, errlen);
	}
}

int
config_set(struct dp_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	char why[256];
	const char *dot = strchr(key, '.');
	char group[16] = "";
	const char *name = key;

	if (dot != NULL) {
		size_t glen = (size_t)(dot - key);
		if (glen >= sizeof group) {
			dp_fail(err, errlen, "unknown key '%s'", key);
			return -1;
		}
		memcpy(group, key, glen);
		group[glen] = '\0';
		name = dot + 1;
	}
	if (strcmp(group, "keys") == 0) {
		if (name[0] == '\0' || value[0] == '\0') {
			dp_fail(err, errlen, "%s: needs an action name and a key", key);
			return -1;
		}
		config_key_bind(cfg, name, value);
		return 0;
	}
	const struct config_key *k = config_find_key(dot != NULL ? group : NULL, name);
	if (k == NULL) {
		dp_fail(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	if (config_set_value(cfg, k, value, why, sizeof why) != 0) {
		dp_fail(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return config_validate(cfg, err, errlen);
}

int
config_validate(const struct dp_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < DP_ARRAY_LEN(config_keys); i++) {
		const struct config_key *k = &config_keys[i];
		char full[64];
		int64_t v;

		config_full_name(k, full, sizeof full);
		switch (k->kind) {
		case CK_INT:
			v = *FIELD(cfg, k, int);
			break;
		case CK_INT64:
			v = *FIELD(cfg, k, int64_t);
			break;
		case CK_SIZE:
			if (*FIELD(cfg, k, uint64_t) > INT64_MAX) {
				dp_fail(err, errlen, "%s: out of range", full);
				return -1;
			}
			v = (int64_t)*FIELD(cfg, k, uint64_t);
			break;
		case CK_FLOAT: {
			double d = *FIELD(cfg, k, double);
			if (!isfinite(d) || d < (double)k->min || d > (double)k->max) {
				dp_fail(err, errlen, "%s: %g is out of range (%" PRId64 "..%" PRId64
				    ")", full, d, k->min, k->max);
				return -1;
			}
			continue;
		}
		case CK_PATH:
		case CK_ADDR: {
			const char *s = *FIELD(cfg, k, char *);
			if (s == NULL || s[0] == '\0') {
				dp_fail(err, errlen, "%s: must be set", full);
				return -1;
			}
			if (k->kind == CK_PATH && s[0] != '/') {
				dp_fail(err, errlen, "%s: '%s' is not an absolute path", full, s);
				return -1;
			}
			if (k->kind == CK_ADDR && !config_addr_ok(s)) {
				dp_fail(err, errlen, "%s: '%s' is not a numeric address", full, s);
				return -1;
			}
			continue;
		}
		case CK_OPT_PATH: {
			const char *s = *FIELD(cfg, k, char *);
			if (s != NULL && s[0] != '/') {
				dp_fail(err, errlen, "%s: '%s' is not an absolute path", full, s);
				return -1;
			}
			continue;
		}
		case CK_STR:
			if (*FIELD(cfg, k, char *) == NULL) {
				dp_fail(err, errlen, "%s: must be set", full);
				return -1;
			}
			continue;
		case CK_LEVEL: {
			int level = (int)*FIELD(cfg, k, enum dp_log_level);
			if (level < 0 || level >= DP_LOG_LEVEL_COUNT) {
				dp_fail(err, errlen, "%s: bad level", full);
				return -1;
			}
			continue;
		}
		case CK_STRLIST: {
			char **list = *FIELD(cfg, k, char **);
			size_t n = *(const size_t *)(const void *)((const char *)cfg + k->offset +
			    sizeof(char **));
			for (size_t j = 0; j < n; j++) {
				if (list[j] == NULL || list[j][0] == '\0') {
					dp_fail(err, errlen, "%s: element %zu is empty", full, j + 1);
					return -1;
				}
			}
			continue;
		}
		default:
			continue;
		}
		if (v < k->min || v > k->max) {
			dp_fail(err, errlen, "%s: %" PRId64 " is out of range (%" PRId64 "..%" PRId64
			    ")", full, v, k->min, k->max);
			return -1;
		}
	}

	if (cfg->max_connections_per_torrent > cfg->max_connections_global) {
		dp_fail(err, errlen, "max_connections_per_torrent (%d) is larger than "
		    "max_connections_global (%d)", cfg->max_connections_per_torrent,
		    cfg->max_connections_global);
		return -1;
	}
	if (cfg->watch_dir != NULL && strcmp(cfg->watch_dir, cfg->download_dir) == 0) {
		dp_fail(err, errlen, "watch_dir must differ from download_dir");
		return -1;
	}
	if (cfg->rpc.enabled) {
		if (cfg->rpc.username[0] == '\0' && !config_addr_is_loopback(cfg->rpc.bind)) {
			dp_fail(err, errlen, "rpc.bind %s is not a loopback address: set "
			    "rpc.username and rpc.password", cfg->rpc.bind);
			return -1;
		}
		if (cfg->rpc.username[0] != '\0' && cfg->rpc.password[0] == '\0') {
			dp_fail(err, errlen, "rpc.username is set but rpc.password is empty");
			return -1;
		}
		if (cfg->listen_port != 0 && cfg->listen_port == cfg->rpc.port) {
			dp_fail(err, errlen, "rpc.port and listen_port are both %d", cfg->rpc.port);
			return -1;
		}
	}
	for (size_t i = 0; i < cfg->key_count; i++) {
		if (cfg->keys[i].action[0] == '\0' || cfg->keys[i].key[0] == '\0') {
			dp_fail(err, errlen, "keys: empty binding");
			return -1;
		}
	}
	return 0;
}

static void
config_print_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p != '\0'; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\x%02x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void
config_print_int(FILE *f, int64_t v)
{
	/* libconfig needs the L suffix past 32 bits. */
	if (v > INT32_MAX || v < INT32_MIN)
		fprintf(f, "%" PRId64 "L", v);
	else
		fprintf(f, "%" PRId64, v);
}

static void
config_print_key(FILE *f, const struct dp_config *cfg, const struct config_key *k,
    const char *indent, bool show_secrets)
{
	fprintf(f, "%s%s = ", indent, k->name);
	switch (k->kind) {
	case CK_INT:
		config_print_int(f, *FIELD(cfg, k, int));
		break;
	case CK_INT64:
		config_print_int(f, *FIELD(cfg, k, int64_t));
		break;
	case CK_SIZE:
		config_print_int(f, (int64_t)*FIELD(cfg, k, uint64_t));
		break;
	case CK_FLOAT: {
		char num[64];
		snprintf(num, sizeof num, "%.17g", *FIELD(cfg, k, double));
		/* libconfig reads "2" as an integer; keep it a float. */
		if (strpbrk(num, ".eEn") == NULL)
			strcat(num, ".0");
		fputs(num, f);
		break;
	}
	case CK_BOOL:
		fputs(*FIELD(cfg, k, bool) ? "true" : "false", f);
		break;
	case CK_LEVEL:
		config_print_string(f, log_level_name(*FIELD(cfg, k, enum dp_log_level)));
		break;
	case CK_STRLIST: {
		char **list = *FIELD(cfg, k, char **);
		size_t n = *(const size_t *)(const void *)((const char *)cfg + k->offset +
		    sizeof(char **));
		fputc('[', f);
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				fputs(", ", f);
			config_print_string(f, list[i]);
		}
		fputc(']', f);
		break;
	}
	default: {
		const char *s = *FIELD(cfg, k, char *);
		if (!show_secrets && strcmp(k->name, "password") == 0 && s != NULL && s[0] != '\0')
			s = "(hidden)";
		config_print_string(f, s != NULL ? s : "");
		break;
	}
	}
	fputs(";\n", f);
}

void
config_print(FILE *f, const struct dp_config *cfg, bool show_secrets)
{
	fprintf(f, "# effective configuration%s%s\n", cfg->source != NULL ? " from " : " (defaults)",
	    cfg->source != NULL ? cfg->source : "");
	fprintf(f, "# peer_id_prefix (fixed): %s\n", cfg->peer_id_prefix);
	for (size_t i = 0; i < DP_ARRAY_LEN(config_keys); i++)
		if (config_keys[i].group == NULL)
			config_print_key(f, cfg, &config_keys[i], "", show_secrets);
	for (size_t g = 0; g < DP_ARRAY_LEN(config_groups); g++) {
		fprintf(f, "%s = {\n", config_groups[g]);
		if (strcmp(config_groups[g], "keys") == 0) {
			for (size_t i = 0; i < cfg->key_count; i++) {
				fprintf(f, "  %s = ", cfg->keys[i].action);
				config_print_string(f, cfg->keys[i].key);
				fputs(";\n", f);
			}
		}
		for (size_t i = 0; i < DP_ARRAY_LEN(config_keys); i++) {
			const struct config_key *k = &config_keys[i];
			if (k->group != NULL && strcmp(k->group, config_groups[g]) == 0)
				config_print_key(f, cfg, k, "  ", show_secrets);
		}
		fputs("};\n", f);
	}
}
