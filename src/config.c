/* config.c: the configuration file: settings_table.c's keys (type, range, default, where each lives
 * in struct dp_config) drive defaults, loading with file:line errors, overrides, validation,
 * copying and printing. */
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
#include "settings_table.h"
#include "util.h"

#define FIELD(cfg, k, type) ((type *)(void *)((char *)(cfg) + (k)->offset))
/* A list's count follows its pointer. */
#define STRLIST_COUNT(cfg, k) ((size_t *)(void *)((char *)(cfg) + (k)->offset + sizeof(char **)))

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

static int config_set_value(struct dp_config *cfg, const struct setting_def *k,
    const char *value, char *err, size_t errlen);

void
config_defaults(struct dp_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->peer_id_prefix = DP_PEER_ID_PREFIX;
	for (size_t i = 0; i < settings_table_count; i++) {
		const struct setting_def *k = &settings_table[i];
		char why[256];
		if (k->def == NULL)
			continue;
		/* The table's defaults are tested to parse (check_config test_defaults_parse). */
		if (config_set_value(cfg, k, k->def, why, sizeof why) != 0)
			abort();
	}
	cfg->session_dir = config_xdg_path("XDG_DATA_HOME", ".local/share", NULL);
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
	for (size_t i = 0; i < settings_table_count; i++) {
		const struct setting_def *k = &settings_table[i];
		switch (k->type) {
		case SETTING_PATH:
		case SETTING_OPT_PATH:
		case SETTING_STR:
		case SETTING_OPT_STR:
		case SETTING_ADDR:
			free(*FIELD(cfg, k, char *));
			*FIELD(cfg, k, char *) = NULL;
			break;
		case SETTING_STRLIST:
			config_free_strlist(FIELD(cfg, k, char **),
			    STRLIST_COUNT(cfg, k));
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < cfg->key_count; i++) {
		free(cfg->keys[i].action);
		free(cfg->keys[i].key);
		free(cfg->keys[i].file);
	}
	free(cfg->keys);
	free(cfg->source);
	memset(cfg, 0, sizeof *cfg);
}

static bool
config_is_string(enum setting_type t)
{
	return t == SETTING_PATH || t == SETTING_OPT_PATH || t == SETTING_STR ||
	    t == SETTING_OPT_STR || t == SETTING_ADDR;
}

/* Bytes of a scalar value in struct dp_config. */
static size_t
config_scalar_size(enum setting_type t)
{
	switch (t) {
	case SETTING_INT: return sizeof(int);
	case SETTING_INT64: return sizeof(int64_t);
	case SETTING_SIZE: return sizeof(uint64_t);
	case SETTING_BOOL: return sizeof(bool);
	case SETTING_FLOAT: return sizeof(double);
	case SETTING_LEVEL: return sizeof(enum dp_log_level);
	case SETTING_CHOICE: return sizeof(int);
	default: return 0;
	}
}

bool
config_value_equal(const struct dp_config *a, const struct dp_config *b,
    const struct setting_def *k)
{
	if (config_is_string(k->type)) {
		const char *x = *FIELD(a, k, char *), *y = *FIELD(b, k, char *);
		return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
	}
	if (k->type == SETTING_STRLIST) {
		size_t n = *STRLIST_COUNT(a, k);
		if (n != *STRLIST_COUNT(b, k))
			return false;
		for (size_t i = 0; i < n; i++)
			if (strcmp((*FIELD(a, k, char **))[i], (*FIELD(b, k, char **))[i]) != 0)
				return false;
		return true;
	}
	if (k->type == SETTING_FLOAT)
		return *FIELD(a, k, double) == *FIELD(b, k, double);
	return memcmp(FIELD(a, k, char), FIELD(b, k, char), config_scalar_size(k->type)) == 0;
}

void
config_copy_value(struct dp_config *dst, const struct dp_config *src, const struct setting_def *k)
{
	if (config_is_string(k->type)) {
		const char *v = *FIELD(src, k, char *);
		free(*FIELD(dst, k, char *));
		*FIELD(dst, k, char *) = v != NULL ? xstrdup(v) : NULL;
	} else if (k->type == SETTING_STRLIST) {
		size_t n = *STRLIST_COUNT(src, k);
		char ***list = FIELD(dst, k, char **);
		config_free_strlist(list, STRLIST_COUNT(dst, k));
		*list = xcalloc(n > 0 ? n : 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			(*list)[i] = xstrdup((*FIELD(src, k, char **))[i]);
		*STRLIST_COUNT(dst, k) = n;
	} else {
		memcpy(FIELD(dst, k, char), FIELD(src, k, char), config_scalar_size(k->type));
	}
}

bool
config_get_number(const struct dp_config *cfg, const char *key, double *out)
{
	const struct setting_def *k = settings_table_lookup(key);
	if (k == NULL)
		return false;
	switch (k->type) {
	case SETTING_INT: *out = *FIELD(cfg, k, int); return true;
	case SETTING_INT64: *out = (double)*FIELD(cfg, k, int64_t); return true;
	case SETTING_SIZE: *out = (double)*FIELD(cfg, k, uint64_t); return true;
	case SETTING_FLOAT: *out = *FIELD(cfg, k, double); return true;
	case SETTING_BOOL: *out = *FIELD(cfg, k, bool) ? 1 : 0; return true;
	default: return false;
	}
}

void
config_copy(struct dp_config *dst, const struct dp_config *src)
{
	*dst = *src;
	/* Every owned pointer is replaced: dst shares nothing with src. */
	for (size_t i = 0; i < settings_table_count; i++) {
		const struct setting_def *k = &settings_table[i];
		if (config_is_string(k->type))
			*FIELD(dst, k, char *) = NULL;
		else if (k->type == SETTING_STRLIST) {
			*FIELD(dst, k, char **) = NULL;
			*STRLIST_COUNT(dst, k) = 0;
		} else {
			continue;
		}
		config_copy_value(dst, src, k);
	}
	dst->keys = src->key_count > 0 ? xcalloc(src->key_count, sizeof *dst->keys) : NULL;
	for (size_t i = 0; i < src->key_count; i++) {
		dst->keys[i].action = xstrdup(src->keys[i].action);
		dst->keys[i].key = xstrdup(src->keys[i].key);
		dst->keys[i].file = src->keys[i].file != NULL ? xstrdup(src->keys[i].file) : NULL;
		dst->keys[i].line = src->keys[i].line;
	}
	dst->source = src->source != NULL ? xstrdup(src->source) : NULL;
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
config_store_string(struct dp_config *cfg, const struct setting_def *k, const char *s, char *err,
    size_t errlen)
{
	char *v;
	if (strlen(s) > 4096) {
		dp_fail(err, errlen, "value too long");
		return -1;
	}
	switch (k->type) {
	case SETTING_PATH:
	case SETTING_OPT_PATH:
		if (s[0] == '\0') {
			if (k->type == SETTING_PATH) {
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
	case SETTING_ADDR:
		if (!config_addr_ok(s)) {
			dp_fail(err, errlen, "'%s' is not a numeric IPv4 or IPv6 address", s);
			return -1;
		}
		v = xstrdup(s);
		break;
	case SETTING_OPT_STR:
		v = s[0] == '\0' ? NULL : xstrdup(s);
		break;
	case SETTING_STR:
		v = xstrdup(s);
		break;
	case SETTING_CHOICE: {
		for (int i = 0; k->choices[i] != NULL; i++) {
			if (strcmp(s, k->choices[i]) == 0) {
				*FIELD(cfg, k, int) = i;
				return 0;
			}
		}
		char names[256] = "";
		for (int i = 0; k->choices[i] != NULL; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
			    i > 0 ? ", " : "", k->choices[i]);
		dp_fail(err, errlen, "'%s' is none of %s", s, names);
		return -1;
	}
	case SETTING_LEVEL: {
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
config_store_int(struct dp_config *cfg, const struct setting_def *k, int64_t v, char *err,
    size_t errlen)
{
	if (v < k->min || v > k->max) {
		dp_fail(err, errlen, "%" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")", v,
		    k->min, k->max);
		return -1;
	}
	switch (k->type) {
	case SETTING_INT:
		*FIELD(cfg, k, int) = (int)v;
		break;
	case SETTING_INT64:
		*FIELD(cfg, k, int64_t) = v;
		break;
	case SETTING_SIZE:
		*FIELD(cfg, k, uint64_t) = (uint64_t)v;
		break;
	case SETTING_FLOAT:
		*FIELD(cfg, k, double) = (double)v;
		break;
	default:
		dp_fail(err, errlen, "internal: not a number key");
		return -1;
	}
	return 0;
}

static int
config_store_size_string(struct dp_config *cfg, const struct setting_def *k, const char *s,
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
config_store_float(struct dp_config *cfg, const struct setting_def *k, double v, char *err,
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
config_kind_wants(enum setting_type kind)
{
	switch (kind) {
	case SETTING_INT:
	case SETTING_INT64: return "an integer";
	case SETTING_SIZE: return "an integer or a size string like \"4M\"";
	case SETTING_BOOL: return "true or false";
	case SETTING_FLOAT: return "a number";
	case SETTING_STRLIST: return "a list of strings like [\"a\", \"b\"]";
	default: return "a string";
	}
}

/* Applies one libconfig setting to key k; the message lacks the place (the caller adds it). */
static int
config_apply_setting(struct dp_config *cfg, const struct setting_def *k, config_setting_t *s,
    char *err, size_t errlen)
{
	int type = config_setting_type(s);
	bool is_int = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;

	switch (k->type) {
	case SETTING_INT:
	case SETTING_INT64:
		if (!is_int)
			break;
		return config_store_int(cfg, k, config_setting_get_int64(s), err, errlen);
	case SETTING_SIZE:
		if (is_int)
			return config_store_int(cfg, k, config_setting_get_int64(s), err, errlen);
		if (type == CONFIG_TYPE_STRING)
			return config_store_size_string(cfg, k, config_setting_get_string(s), err,
			    errlen);
		break;
	case SETTING_FLOAT:
		if (is_int)
			return config_store_int(cfg, k, config_setting_get_int64(s), err, errlen);
		if (type == CONFIG_TYPE_FLOAT)
			return config_store_float(cfg, k, config_setting_get_float(s), err, errlen);
		break;
	case SETTING_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			break;
		*FIELD(cfg, k, bool) = config_setting_get_bool(s) != 0;
		return 0;
	case SETTING_STRLIST: {
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
		size_t *count = STRLIST_COUNT(cfg, k);
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
	    config_kind_wants(k->type));
	return -1;
}

/* file and line say where, for the interface's messages about the binding (NULL, 0: --set). */
static void
config_key_bind(struct dp_config *cfg, const char *action, const char *key, const char *file,
    unsigned line)
{
	struct dp_config_key *b = NULL;
	for (size_t i = 0; i < cfg->key_count && b == NULL; i++)
		if (strcmp(cfg->keys[i].action, action) == 0)
			b = &cfg->keys[i];
	if (b == NULL) {
		cfg->keys = xreallocarray(cfg->keys, cfg->key_count + 1, sizeof *cfg->keys);
		b = &cfg->keys[cfg->key_count++];
		b->action = xstrdup(action);
	} else {
		free(b->key);
		free(b->file);
	}
	b->key = xstrdup(key);
	b->file = file != NULL ? xstrdup(file) : NULL;
	b->line = line;
}

static int
config_apply_group(struct dp_config *cfg, const char *main_file, config_setting_t *parent,
    const char *group, char *err, size_t errlen)
{
	int n = config_setting_length(parent);
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(parent, (unsigned)i);
		const char *name = config_setting_name(s);
		unsigned line = config_setting_source_line(s);
		char why[256];
		/* A setting from an @include'd file names that file, not the one that included it. */
		const char *file = config_setting_source_file(s) != NULL ?
		    config_setting_source_file(s) : main_file;

		if (name == NULL)
			name = "";
		if (group == NULL) {
			bool is_group_name = false;
			for (size_t g = 0; g < settings_table_group_count; g++)
				if (strcmp(name, settings_table_groups[g]) == 0)
					is_group_name = true;
			if (is_group_name) {
				if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
					dp_fail(err, errlen, "%s:%u: %s: wrong type: is %s, "
					    "expected a group { ... }", file, line, name,
					    config_type_name(config_setting_type(s)));
					return -1;
				}
				if (config_apply_group(cfg, main_file, s, name, err, errlen) != 0)
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
			config_key_bind(cfg, name, config_setting_get_string(s), file, line);
			continue;
		}
		const struct setting_def *k = settings_table_find(group, name);
		if (k == NULL) {
			dp_fail(err, errlen, "%s:%u: unknown key '%s%s%s'", file, line,
			    group != NULL ? group : "", group != NULL ? "." : "", name);
			return -1;
		}
		if (config_apply_setting(cfg, k, s, why, sizeof why) != 0) {
			char full[64];
			settings_table_full_name(k, full, sizeof full);
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
config_set_value(struct dp_config *cfg, const struct setting_def *k, const char *value, char *err,
    size_t errlen)
{
	char *end;
	switch (k->type) {
	case SETTING_INT:
	case SETTING_INT64: {
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0') {
			dp_fail(err, errlen, "'%s' is not an integer", value);
			return -1;
		}
		return config_store_int(cfg, k, v, err, errlen);
	}
	case SETTING_SIZE:
		return config_store_size_string(cfg, k, value, err, errlen);
	case SETTING_FLOAT: {
		errno = 0;
		double v = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0') {
			dp_fail(err, errlen, "'%s' is not a number", value);
			return -1;
		}
		return config_store_float(cfg, k, v, err, errlen);
	}
	case SETTING_BOOL: {
		bool b;
		if (!config_parse_bool(value, &b)) {
			dp_fail(err, errlen, "'%s' is not a boolean (true or false)", value);
			return -1;
		}
		*FIELD(cfg, k, bool) = b;
		return 0;
	}
	case SETTING_STRLIST: {
		/* Comma-separated on the command line. */
		char ***list = FIELD(cfg, k, char **);
		size_t *count = STRLIST_COUNT(cfg, k);
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
config_set_one(struct dp_config *cfg, const char *key, const char *value, char *err,
    size_t errlen)
{
	char why[256];
	const struct setting_def *k = settings_table_lookup(key);
	if (k == NULL) {
		dp_fail(err, errlen, "unknown key '%s'", key);
		return -1;
	}
	if (config_set_value(cfg, k, value, why, sizeof why) != 0) {
		dp_fail(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

int
config_set(struct dp_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	if (strncmp(key, "keys.", 5) == 0) {
		if (key[5] == '\0' || value[0] == '\0') {
			dp_fail(err, errlen, "%s: needs an action name and a key", key);
			return -1;
		}
		config_key_bind(cfg, key + 5, value, NULL, 0);
		return 0;
	}
	if (config_set_one(cfg, key, value, err, errlen) != 0)
		return -1;
	return config_validate(cfg, err, errlen);
}

int
config_check_keys(const struct dp_config *cfg,
    int (*check)(const char *action, const char *key, char *why, size_t whylen), char *err,
    size_t errlen)
{
	for (size_t i = 0; i < cfg->key_count; i++) {
		const struct dp_config_key *b = &cfg->keys[i];
		char why[256] = "";
		if (check(b->action, b->key, why, sizeof why) == 0)
			continue;
		if (b->file != NULL)
			dp_fail(err, errlen, "%s:%u: keys.%s: %s", b->file, b->line, b->action, why);
		else
			dp_fail(err, errlen, "--set keys.%s: %s", b->action, why);
		return -1;
	}
	return 0;
}

int
config_validate(const struct dp_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < settings_table_count; i++) {
		const struct setting_def *k = &settings_table[i];
		char full[64];
		int64_t v;

		settings_table_full_name(k, full, sizeof full);
		switch (k->type) {
		case SETTING_INT:
			v = *FIELD(cfg, k, int);
			break;
		case SETTING_INT64:
			v = *FIELD(cfg, k, int64_t);
			break;
		case SETTING_SIZE:
			if (*FIELD(cfg, k, uint64_t) > INT64_MAX) {
				dp_fail(err, errlen, "%s: out of range", full);
				return -1;
			}
			v = (int64_t)*FIELD(cfg, k, uint64_t);
			break;
		case SETTING_FLOAT: {
			double d = *FIELD(cfg, k, double);
			if (!isfinite(d) || d < (double)k->min || d > (double)k->max) {
				dp_fail(err, errlen, "%s: %g is out of range (%" PRId64 "..%" PRId64
				    ")", full, d, k->min, k->max);
				return -1;
			}
			continue;
		}
		case SETTING_PATH:
		case SETTING_ADDR: {
			const char *s = *FIELD(cfg, k, char *);
			if (s == NULL || s[0] == '\0') {
				dp_fail(err, errlen, "%s: must be set", full);
				return -1;
			}
			if (k->type == SETTING_PATH && s[0] != '/') {
				dp_fail(err, errlen, "%s: '%s' is not an absolute path", full, s);
				return -1;
			}
			if (k->type == SETTING_ADDR && !config_addr_ok(s)) {
				dp_fail(err, errlen, "%s: '%s' is not a numeric address", full, s);
				return -1;
			}
			continue;
		}
		case SETTING_OPT_PATH: {
			const char *s = *FIELD(cfg, k, char *);
			if (s != NULL && s[0] != '/') {
				dp_fail(err, errlen, "%s: '%s' is not an absolute path", full, s);
				return -1;
			}
			continue;
		}
		case SETTING_STR:
			if (*FIELD(cfg, k, char *) == NULL) {
				dp_fail(err, errlen, "%s: must be set", full);
				return -1;
			}
			continue;
		case SETTING_CHOICE: {
			int choice = *FIELD(cfg, k, int), n = 0;
			while (k->choices[n] != NULL)
				n++;
			if (choice < 0 || choice >= n) {
				dp_fail(err, errlen, "%s: bad choice %d", full, choice);
				return -1;
			}
			continue;
		}
		case SETTING_LEVEL: {
			int level = (int)*FIELD(cfg, k, enum dp_log_level);
			if (level < 0 || level >= DP_LOG_LEVEL_COUNT) {
				dp_fail(err, errlen, "%s: bad level", full);
				return -1;
			}
			continue;
		}
		case SETTING_STRLIST: {
			char **list = *FIELD(cfg, k, char **);
			size_t n = *STRLIST_COUNT(cfg, k);
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
config_print_key(FILE *f, const struct dp_config *cfg, const struct setting_def *k,
    const char *indent, bool show_secrets)
{
	fprintf(f, "%s%s = ", indent, k->name);
	switch (k->type) {
	case SETTING_INT:
		config_print_int(f, *FIELD(cfg, k, int));
		break;
	case SETTING_INT64:
		config_print_int(f, *FIELD(cfg, k, int64_t));
		break;
	case SETTING_SIZE:
		config_print_int(f, (int64_t)*FIELD(cfg, k, uint64_t));
		break;
	case SETTING_FLOAT: {
		char num[64];
		snprintf(num, sizeof num, "%.17g", *FIELD(cfg, k, double));
		/* libconfig reads "2" as an integer; keep it a float. */
		if (strpbrk(num, ".eEn") == NULL)
			strcat(num, ".0");
		fputs(num, f);
		break;
	}
	case SETTING_BOOL:
		fputs(*FIELD(cfg, k, bool) ? "true" : "false", f);
		break;
	case SETTING_LEVEL:
		config_print_string(f, log_level_name(*FIELD(cfg, k, enum dp_log_level)));
		break;
	case SETTING_CHOICE:
		config_print_string(f, k->choices[*FIELD(cfg, k, int)]);
		break;
	case SETTING_STRLIST: {
		char **list = *FIELD(cfg, k, char **);
		size_t n = *STRLIST_COUNT(cfg, k);
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
		if (!show_secrets && (k->flags & SETTING_SECRET) && s != NULL && s[0] != '\0')
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
	for (size_t i = 0; i < settings_table_count; i++)
		if (settings_table[i].group == NULL)
			config_print_key(f, cfg, &settings_table[i], "", show_secrets);
	for (size_t g = 0; g < settings_table_group_count; g++) {
		fprintf(f, "%s = {\n", settings_table_groups[g]);
		if (strcmp(settings_table_groups[g], "keys") == 0) {
			for (size_t i = 0; i < cfg->key_count; i++) {
				fprintf(f, "  %s = ", cfg->keys[i].action);
				config_print_string(f, cfg->keys[i].key);
				fputs(";\n", f);
			}
		}
		for (size_t i = 0; i < settings_table_count; i++) {
			const struct setting_def *k = &settings_table[i];
			if (k->group != NULL && strcmp(k->group, settings_table_groups[g]) == 0)
				config_print_key(f, cfg, k, "  ", show_secrets);
		}
		fputs("};\n", f);
	}
}
