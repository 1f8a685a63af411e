/* columns_file.c: the column chooser's choice and the tables' sort keys kept across restarts on
 * the UI's side ($XDG_STATE_HOME/downpour/ui-columns, also when attached to a daemon): its strict
 * parse (the file is outside input), its text, the atomic write, and which columns apply at
 * start. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "columns.h"

#define COLUMNS_FILE_MAX (16 * 1024)    /* five screens' two lines fit in a tenth of this */
#define COLUMNS_LINE_MAX 1200

char *
ui_columns_file_path(void)
{
	const char *state = getenv("XDG_STATE_HOME");
	if (state != NULL && state[0] == '/')
		return xasprintf("%s/downpour/ui-columns", state);
	const char *home = getenv("HOME");
	if (home == NULL || home[0] == '\0')
		return NULL;
	return xasprintf("%s/.local/state/downpour/ui-columns", home);
}

/* The screen a key's prefix names ("list" of "list.columns"), or -1. */
static int
columns_file_screen(const char *name, size_t len)
{
	for (int s = 0; s < UCS_COUNT; s++) {
		const char *n = ui_columns_def((enum ui_cols_screen)s)->name;
		if (strlen(n) == len && strncmp(n, name, len) == 0)
			return s;
	}
	return -1;
}

int
ui_columns_saved_parse(const char *text, size_t len, struct ui_columns_saved *out, char *err,
    size_t errlen)
{
	struct ui_columns_saved *sv = xcalloc(1, sizeof *sv);
	bool have_base[UCS_COUNT] = { false };
	unsigned lineno = 0;
	int rc = -1;
	if (len > COLUMNS_FILE_MAX) {
		dp_fail(err, errlen, "longer than %d bytes", COLUMNS_FILE_MAX);
		goto done;
	}
	size_t pos = 0;
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += n + (nl != NULL);
		lineno++;
		char buf[COLUMNS_LINE_MAX + 1];
		if (n > COLUMNS_LINE_MAX) {
			dp_fail(err, errlen, "%u: line longer than %d bytes", lineno, COLUMNS_LINE_MAX);
			goto done;
		}
		if (memchr(line, '\0', n) != NULL) {
			dp_fail(err, errlen, "%u: a NUL byte", lineno);
			goto done;
		}
		memcpy(buf, line, n);
		buf[n] = '\0';
		if (buf[0] == '\0' || buf[0] == '#')
			continue;
		/* SCREEN.columns = LIST or SCREEN.base = LIST */
		char *dot = strchr(buf, '.'), *eq = strstr(buf, " = ");
		if (dot == NULL || eq == NULL || dot > eq) {
			dp_fail(err, errlen, "%u: not 'SCREEN.columns = LIST' or 'SCREEN.base = LIST'",
			    lineno);
			goto done;
		}
		int s = columns_file_screen(buf, (size_t)(dot - buf));
		if (s < 0) {
			dp_fail(err, errlen, "%u: unknown screen", lineno);
			goto done;
		}
		const char *field = dot + 1, *value = eq + 3;
		size_t flen = (size_t)(eq - field);
		char why[768];
		if (flen == 7 && strncmp(field, "columns", 7) == 0) {
			if (sv->set[s]) {
				dp_fail(err, errlen, "%u: %s.columns twice", lineno, buf);
				goto done;
			}
			if (ui_columns_parse((enum ui_cols_screen)s, value, &sv->cols[s], why,
			    sizeof why) != 0) {
				dp_fail(err, errlen, "%u: %s", lineno, why);
				goto done;
			}
			sv->set[s] = true;
		} else if (flen == 4 && strncmp(field, "base", 4) == 0) {
			if (have_base[s]) {
				dp_fail(err, errlen, "%u: base twice", lineno);
				goto done;
			}
			/* a configured list: the config checked it, so a bad one is a damaged file */
			if (ui_columns_parse((enum ui_cols_screen)s, value, &sv->base[s], why,
			    sizeof why) != 0) {
				dp_fail(err, errlen, "%u: base: %s", lineno, why);
				goto done;
			}
			have_base[s] = true;
		} else if (flen == 4 && strncmp(field, "sort", 4) == 0) {
			/* COLUMN asc|desc */
			const char *sp = strchr(value, ' ');
			int id = sp != NULL ? ui_columns_find((enum ui_cols_screen)s, value,
			    (size_t)(sp - value)) : -1;
			if (sv->sort[s].set) {
				dp_fail(err, errlen, "%u: sort twice", lineno);
				goto done;
			}
			if (id < 0 || (strcmp(sp + 1, "asc") != 0 && strcmp(sp + 1, "desc") != 0)) {
				dp_fail(err, errlen, "%u: not 'SCREEN.sort = COLUMN asc|desc'", lineno);
				goto done;
			}
			sv->sort[s] = (struct ui_sort_key){ true, id, sp[1] == 'd' };
		} else {
			dp_fail(err, errlen, "%u: unknown field (columns, base or sort)", lineno);
			goto done;
		}
	}
	for (int s = 0; s < UCS_COUNT; s++) {
		if (sv->set[s] != have_base[s]) {
			dp_fail(err, errlen, "%s: columns and base go together",
			    ui_columns_def((enum ui_cols_screen)s)->name);
			goto done;
		}
	}
	*out = *sv;
	rc = 0;
done:
	free(sv);
	return rc;
}

int
ui_columns_saved_load(const char *path, struct ui_columns_saved *out, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[512];
	memset(out, 0, sizeof *out);
	if (dp_read_file(path, COLUMNS_FILE_MAX, &buf, &len) != 0) {
		if (errno == ENOENT)
			return 0;
		dp_fail(err, errlen, "%s: %s", path, errno == EFBIG ? "too large" : strerror(errno));
		return -1;
	}
	int rc = ui_columns_saved_parse((const char *)buf, len, out, why, sizeof why);
	free(buf);
	if (rc != 0) {
		memset(out, 0, sizeof *out);
		dp_fail(err, errlen, "%s:%s", path, why);
	}
	return rc;
}

void
ui_columns_saved_format(const struct ui_col_set cur[UCS_COUNT],
    const struct ui_col_set conf[UCS_COUNT], const struct ui_sort_key sort[UCS_COUNT],
    char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "# downpour: the terminal UI's columns as its chooser (C) left "
	    "them; a screen's\n# columns apply while the config's ui.SCREEN_columns still says its "
	    "base.\n# The tables' sort keys as < > and I left them.\n");
	if (n < 0 || (size_t)n >= outlen)
		return;
	size_t pos = (size_t)n;
	for (int s = 0; s < UCS_COUNT; s++) {
		char list[1024], base[1024];
		const char *name = ui_columns_def((enum ui_cols_screen)s)->name;
		if (ui_columns_equal(&conf[s], &cur[s]))
			continue;
		ui_columns_format((enum ui_cols_screen)s, &cur[s], list, sizeof list);
		ui_columns_format((enum ui_cols_screen)s, &conf[s], base, sizeof base);
		n = snprintf(out + pos, outlen - pos, "%s.columns = %s\n%s.base = %s\n", name, list,
		    name, base);
		if (n < 0 || (size_t)n >= outlen - pos)
			return;
		pos += (size_t)n;
	}
	for (int s = 0; sort != NULL && s < UCS_COUNT; s++) {
		const struct ui_columns_def *d = ui_columns_def((enum ui_cols_screen)s);
		if (!sort[s].set || sort[s].col < 0 || sort[s].col >= d->ncols)
			continue;
		n = snprintf(out + pos, outlen - pos, "%s.sort = %s %s\n", d->name,
		    d->cols[sort[s].col].key, sort[s].desc ? "desc" : "asc");
		if (n < 0 || (size_t)n >= outlen - pos)
			return;
		pos += (size_t)n;
	}
}

/* mkdir -p of path's directory (0700: the user's own state). */
static int
columns_file_mkdirs(const char *path)
{
	char *dir = xstrdup(path);
	int rc = 0;
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = '/';
	}
	free(dir);
	return rc;
}

int
ui_columns_saved_store(const char *path, const char *text, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s.tmp", path);
	int rc = -1, fd = -1;
	size_t len = strlen(text), off = 0;
	if (columns_file_mkdirs(path) != 0) {
		dp_fail(err, errlen, "%s: cannot make its directory: %s", path, strerror(errno));
		goto done;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		dp_fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			dp_fail(err, errlen, "%s: write: %s", tmp, w < 0 ? strerror(errno) : "no space");
			goto done;
		}
		off += (size_t)w;
	}
	if (close(fd) != 0) {
		fd = -1;
		dp_fail(err, errlen, "%s: close: %s", tmp, strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		dp_fail(err, errlen, "%s: rename: %s", path, strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

void
ui_columns_resolve(const struct ui_col_set conf[UCS_COUNT], const struct ui_columns_saved *saved,
    struct ui_col_set out[UCS_COUNT])
{
	for (int s = 0; s < UCS_COUNT; s++) {
		out[s] = conf[s];
		/* the config still says what it said when the choice was made */
		if (saved != NULL && saved->set[s] && ui_columns_equal(&saved->base[s], &conf[s]))
			out[s] = saved->cols[s];
	}
}
