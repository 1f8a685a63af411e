/* settings_file.c: settings.conf in the session directory: parsing and writing the `key =
 * "value"` lines that keep run-time setting changes, checked against settings_table.c. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_config.h"
#include "settings_file.h"
#include "settings_table.h"
#include "util.h"

#define SETTINGS_MAX_KEYS 64
#define SETTINGS_MAX_KEY 64

void
settings_init(struct settings *s)
{
	memset(s, 0, sizeof *s);
}

void
settings_clear(struct settings *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->keys[i]);
		free(s->values[i]);
	}
	free(s->keys);
	free(s->values);
	settings_init(s);
}

const char *
settings_get(const struct settings *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->keys[i], key) == 0)
			return s->values[i];
	return NULL;
}

void
settings_put(struct settings *s, const char *key, const char *value)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->keys[i], key) == 0) {
			free(s->values[i]);
			s->values[i] = xstrdup(value);
			return;
		}
	}
	s->keys = xreallocarray(s->keys, s->n + 1, sizeof *s->keys);
	s->values = xreallocarray(s->values, s->n + 1, sizeof *s->values);
	s->keys[s->n] = xstrdup(key);
	s->values[s->n] = xstrdup(value);
	s->n++;
}

void
settings_remove(struct settings *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->keys[i], key) != 0)
			continue;
		free(s->keys[i]);
		free(s->values[i]);
		memmove(&s->keys[i], &s->keys[i + 1], (s->n - i - 1) * sizeof *s->keys);
		memmove(&s->values[i], &s->values[i + 1], (s->n - i - 1) * sizeof *s->values);
		s->n--;
		return;
	}
}

bool
settings_key_allowed(const char *key)
{
	const struct setting_def *d = settings_table_lookup(key);
	return d != NULL && (d->flags & SETTING_REMOTE);
}

static int settings_fail(char *err, size_t errlen, size_t line, const char *fmt, ...)
    DP_PRINTF(4, 5);

static int
settings_fail(char *err, size_t errlen, size_t line, const char *fmt, ...)
{
	int n = snprintf(err, errlen, "line %zu: ", line);
	if (n >= 0 && (size_t)n < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool
settings_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One non-blank, non-comment line [p, end). */
static int
settings_parse_line(const char *p, const char *end, size_t line, struct settings *out,
    char *err, size_t errlen)
{
	const char *k = p;
	while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
		p++;
	size_t klen = (size_t)(p - k);
	if (klen == 0 || klen > SETTINGS_MAX_KEY)
		return settings_fail(err, errlen, line, "expected a setting name");
	char key[SETTINGS_MAX_KEY + 1];
	memcpy(key, k, klen);
	key[klen] = '\0';
	if (!settings_key_allowed(key))
		return settings_fail(err, errlen, line, "'%s' is not a run-time setting", key);
	while (p < end && settings_space(*p))
		p++;
	if (p == end || *p != '=')
		return settings_fail(err, errlen, line, "expected '=' after %s", key);
	p++;
	while (p < end && settings_space(*p))
		p++;
	if (p == end || *p != '"')
		return settings_fail(err, errlen, line, "%s: expected a quoted value", key);
	p++;
	char *val = xmalloc(SETTINGS_MAX_VALUE + 1);
	size_t vlen = 0;
	for (;;) {
		if (p == end) {
			free(val);
			return settings_fail(err, errlen, line, "%s: unterminated value", key);
		}
		char c = *p++;
		if (c == '"')
			break;
		if (c == '\0') {
			free(val);
			return settings_fail(err, errlen, line, "%s: NUL in the value", key);
		}
		if (c == '\\') {
			if (p == end) {
				free(val);
				return settings_fail(err, errlen, line, "%s: unterminated value", key);
			}
			c = *p++;
			if (c == 'n') {
				c = '\n';
			} else if (c != '\\' && c != '"') {
				free(val);
				return settings_fail(err, errlen, line, "%s: unknown escape \\%c", key,
				    c >= 0x20 && c < 0x7f ? c : '?');
			}
		}
		if (vlen == SETTINGS_MAX_VALUE) {
			free(val);
			return settings_fail(err, errlen, line, "%s: value longer than %d bytes", key,
			    SETTINGS_MAX_VALUE);
		}
		val[vlen++] = c;
	}
	val[vlen] = '\0';
	while (p < end && settings_space(*p))
		p++;
	if (p != end && *p != ';') {
		free(val);
		return settings_fail(err, errlen, line, "%s: unexpected text after the value", key);
	}
	if (p != end)
		p++;
	while (p < end && settings_space(*p))
		p++;
	if (p != end) {
		free(val);
		return settings_fail(err, errlen, line, "%s: unexpected text after the value", key);
	}
	if (settings_get(out, key) == NULL && out->n >= SETTINGS_MAX_KEYS) {
		free(val);
		return settings_fail(err, errlen, line, "more than %d settings", SETTINGS_MAX_KEYS);
	}
	settings_put(out, key, val);
	free(val);
	return 0;
}

int
settings_parse(const char *text, size_t len, struct settings *out, char *err, size_t errlen)
{
	settings_init(out);
	if (len > SETTINGS_MAX_FILE_SIZE) {
		snprintf(err, errlen, "larger than %u bytes", SETTINGS_MAX_FILE_SIZE);
		return -1;
	}
	const char *p = text, *end = text + len;
	size_t line = 0;
	while (p < end) {
		line++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		const char *q = p;
		while (q < le && settings_space(*q))
			q++;
		if (q < le && *q != '#' &&
		    settings_parse_line(q, le, line, out, err, errlen) < 0) {
			settings_clear(out);
			return -1;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

char *
settings_format(const struct settings *s, size_t *len)
{
	struct dp_buf b;
	dp_buf_init(&b);
	static const char head[] = "# downpour: settings changed at run time (RPC session-set).\n"
	    "# They override the configuration file and the command line; delete a line (with the\n"
	    "# daemon stopped) to go back to the configured value.\n";
	dp_buf_add(&b, head, sizeof head - 1);
	for (size_t i = 0; i < s->n; i++) {
		dp_buf_add(&b, s->keys[i], strlen(s->keys[i]));
		dp_buf_add(&b, " = \"", 4);
		for (const char *v = s->values[i]; *v != '\0'; v++) {
			if (*v == '\\' || *v == '"')
				dp_buf_add(&b, "\\", 1);
			if (*v == '\n')
				dp_buf_add(&b, "\\n", 2);
			else
				dp_buf_add(&b, v, 1);
		}
		dp_buf_add(&b, "\";\n", 3);
	}
	dp_buf_add(&b, "", 1);
	size_t n;
	char *out = (char *)dp_buf_steal(&b, &n);
	*len = n - 1;
	return out;
}

/* 0 parsed, 1 missing, -1 unusable (reason in why). */
static int
settings_load_one(const char *path, struct settings *out, char *why, size_t whylen)
{
	uint8_t *buf;
	size_t len;
	if (dp_read_file(path, SETTINGS_MAX_FILE_SIZE, &buf, &len) < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(why, whylen, "%s: %s", path, dp_strerror(errno));
		return -1;
	}
	char perr[256];
	int rc = settings_parse((const char *)buf, len, out, perr, sizeof perr);
	free(buf);
	if (rc < 0) {
		snprintf(why, whylen, "%s: %s", path, perr);
		return -1;
	}
	return 0;
}

int
settings_load(const char *path, struct settings *out, char *why, size_t whylen, char *err,
    size_t errlen)
{
	settings_init(out);
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	char w1[512] = "", w2[512] = "";
	int rc = settings_load_one(path, out, w1, sizeof w1);
	if (rc == 0)
		return 0;
	char *bak = xasprintf("%s.bak", path);
	int rc2 = settings_load_one(bak, out, w2, sizeof w2);
	free(bak);
	if (rc2 == 0) {
		if (rc < 0 && why != NULL)
			snprintf(why, whylen, "%s", w1);
		return 0;
	}
	if (rc == 1 && rc2 == 1)
		return 0;
	snprintf(err, errlen, "%s%s%s", rc < 0 ? w1 : "", rc < 0 && rc2 < 0 ? "; " : "",
	    rc2 < 0 ? w2 : "");
	return -1;
}

int
settings_value(const char *key, const char *value, struct dp_config *out, char *err,
    size_t errlen)
{
	config_defaults(out);
	if (!settings_key_allowed(key)) {
		snprintf(err, errlen, "'%s' is not a run-time setting", key);
		return -1;
	}
	if (strlen(value) > SETTINGS_MAX_VALUE) {
		snprintf(err, errlen, "%s: value longer than %d bytes", key, SETTINGS_MAX_VALUE);
		return -1;
	}
	return config_set_one(out, key, value, err, errlen);
}
