/* path_complete.c: paths the user types, resolved and Tab-completed where the engine runs (the
 * UI's own process, or the daemon it is attached to). */
#include "config.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "path_complete.h"
#include "util.h"

char *
path_resolve(const char *cwd, const char *text)
{
	const char *home = getenv("HOME");
	if (text[0] == '~' && text[1] == '/' && home != NULL)
		return xasprintf("%s%s", home, text + 1);
	if (text[0] != '/' && cwd != NULL && cwd[0] != '\0')
		return xasprintf("%s%s%s", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/", text);
	return xstrdup(text);
}

/* Whether a name in where is a folder: from readdir's type where it says, else stat (a link
 * counts as what it leads to). */
static bool
path_complete_is_dir(const char *where, const struct dirent *de)
{
#ifdef _DIRENT_HAVE_D_TYPE
	if (de->d_type == DT_DIR)
		return true;
	if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
		return false;
#endif
	char full[2048];
	struct stat st;
	snprintf(full, sizeof full, "%s/%s", where, de->d_name);
	return stat(full, &st) == 0 && S_ISDIR(st.st_mode);
}

int
path_complete_bounded(const char *cwd, char *buf, size_t buflen, char *hint, size_t hintlen,
    size_t max_names)
{
	char dir[1024], base[1024];
	const char *home = getenv("HOME");
	if (hint != NULL && hintlen > 0)
		hint[0] = '\0';
	/* "~/" expands to the home directory */
	if (buf[0] == '~' && buf[1] == '/' && home != NULL) {
		char tmp[1024];
		snprintf(tmp, sizeof tmp, "%s%s", home, buf + 1);
		snprintf(buf, buflen, "%s", tmp);
	}
	const char *slash = strrchr(buf, '/');
	if (slash == NULL) {
		snprintf(dir, sizeof dir, ".");
		snprintf(base, sizeof base, "%s", buf);
	} else {
		size_t dl = (size_t)(slash - buf);
		snprintf(dir, sizeof dir, "%.*s", (int)(dl == 0 ? 1 : dl), dl == 0 ? "/" : buf);
		snprintf(base, sizeof base, "%s", slash + 1);
	}
	/* the folder where it is looked up: a relative one under cwd */
	char *where = path_resolve(cwd, dir);
	DIR *d = opendir(where);
	if (d == NULL) {
		free(where);
		return 0;
	}
	size_t blen = strlen(base), read = 0;
	char common[1024] = "";
	bool common_set = false, first_is_dir = false;
	int matches = 0;
	size_t hpos = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		/* Names come in no order, so a folder read in part completes nothing. */
		if (++read > max_names) {
			closedir(d);
			free(where);
			if (hint != NULL && hintlen > 0)
				snprintf(hint, hintlen, "(more than %zu names here: not completed)",
				    max_names);
			return -1;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, base, blen) != 0)
			continue;
		/* hidden files only when asked for */
		if (de->d_name[0] == '.' && blen == 0)
			continue;
		matches++;
		if (!common_set) {
			snprintf(common, sizeof common, "%s", de->d_name);
			common_set = true;
		} else {
			size_t i = 0;
			while (common[i] != '\0' && common[i] == de->d_name[i])
				i++;
			common[i] = '\0';
		}
		/* Whether it is a folder is asked only for the first name (the only one, maybe)
		 * and for the names the hint has room for: not once for every name. */
		bool room = hint != NULL && hpos + strlen(de->d_name) + 3 < hintlen;
		if (matches > 1 && !room)
			continue;
		bool is_dir = path_complete_is_dir(where, de);
		if (matches == 1)
			first_is_dir = is_dir;
		if (room) {
			int n = snprintf(hint + hpos, hintlen - hpos, "%s%s%s", hpos ? " " : "", de->d_name,
			    is_dir ? "/" : "");
			if (n > 0)
				hpos += (size_t)n;
		}
	}
	closedir(d);
	free(where);
	if (matches == 0)
		return 0;
	/* replace the base name with the completion */
	size_t keep = slash == NULL ? 0 : (size_t)(slash - buf) + 1;
	char out[2048];
	snprintf(out, sizeof out, "%.*s%s%s", (int)keep, buf, common,
	    matches == 1 && first_is_dir ? "/" : "");
	if (strlen(out) < buflen)
		snprintf(buf, buflen, "%s", out);
	if (matches == 1 && hint != NULL && hintlen > 0)
		hint[0] = '\0';
	return matches;
}

int
path_complete(const char *cwd, char *buf, size_t buflen, char *hint, size_t hintlen)
{
	return path_complete_bounded(cwd, buf, buflen, hint, hintlen, PATH_COMPLETE_MAX_NAMES);
}
