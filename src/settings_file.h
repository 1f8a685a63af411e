/* settings_file.h: settings.conf in the session directory: the settings changed at run time (the
 * RPC's session-set), one `key = "value"` line each, which override the configuration file. */
#ifndef DP_SETTINGS_FILE_H
#define DP_SETTINGS_FILE_H

#include <stdbool.h>
#include <stddef.h>

struct dp_config;

#define SETTINGS_FILE_NAME "settings.conf"
#define SETTINGS_MAX_FILE_SIZE (64u * 1024)
#define SETTINGS_MAX_VALUE 4096

/* Key/value pairs in the order first set; values are config_set's text. */
struct settings {
	size_t n;
	char **keys;
	char **values;
};

void settings_init(struct settings *s);
void settings_clear(struct settings *s);
/* Sets key (replacing its value, keeping its place). */
void settings_put(struct settings *s, const char *key, const char *value);
const char *settings_get(const struct settings *s, const char *key);
void settings_remove(struct settings *s, const char *key);

/* True for the keys the settings table marks SETTING_REMOTE: they may change at run time and be
 * kept (rates and their switches, limits, queue sizes, seeding limits, download_dir,
 * start_paused). */
bool settings_key_allowed(const char *key);

/*
 * Parses the file's text: blank lines and lines starting with # are ignored, every other line
 * is `key = "value"` with \\, \" and \n escapes; keys must be allowed; the last of duplicates
 * wins. Returns 0, or -1 with err "line N: reason" and out left empty.
 */
int settings_parse(const char *text, size_t len, struct settings *out, char *err,
    size_t errlen);
/* The text settings_parse reads back; a new NUL-terminated string, its length in *len. */
char *settings_format(const struct settings *s, size_t *len);
/* Loads path, or path.bak when path is unusable (*why gets the reason); a missing file is an
 * empty set. Returns 0, or -1 with err when neither is usable. */
int settings_load(const char *path, struct settings *out, char *why, size_t whylen, char *err,
    size_t errlen);
/*
 * Validates one setting the way the configuration does: out gets the defaults with key set to
 * value (checks between keys, like max_connections_per_torrent <= _global, are left out: the
 * other one may be the configured value). Returns 0, or -1 with err; config_free(out) always.
 */
int settings_value(const char *key, const char *value, struct dp_config *out, char *err,
    size_t errlen);

#endif
