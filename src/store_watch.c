/* store_watch.c: the session store's watch directory: a .torrent or .magnet dropped there is
 * added, then renamed .added (or .invalid). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_policy.h"
#include "log.h"
#include "store_private.h"
#include "util.h"
#include "watch.h"

/* ---- the watch directory ---- */

static bool
store_name_is_magnet(const char *name)
{
	size_t n = strlen(name);
	return n > 7 && strcmp(name + n - 7, ".magnet") == 0;
}

static void
store_watch_cb(struct watch *w, struct watch_file *f, void *arg)
{
	struct store *s = arg;
	char err[512];
	struct engine_add_opts opts = { 0 };
	opts.paused = s->start_paused;
	int id = 0, rc = -1;
	if (s->shutting_down) {
		/* Read while we were stopping: left as it is for the next start's scan. */
		log_info("watch: %s left for the next start (shutting down)", f->path);
		return;
	}
	if (f->error != 0) {
		snprintf(err, sizeof err, "%s", f->errmsg);
	} else if (store_name_is_magnet(f->name)) {
		char *uri = xstrdup((const char *)f->data);
		size_t len = strlen(uri);
		while (len > 0 && (uri[len - 1] == '\n' || uri[len - 1] == '\r' ||
		    uri[len - 1] == ' '))
			uri[--len] = '\0';
		rc = engine_add_magnet(s->e, uri, &opts, &id, err, sizeof err);
		free(uri);
	} else {
		/* Parsed on the pool (watch.c); the engine takes it, added or not. */
		char why[400];
		struct metainfo *mi = f->mi;
		f->mi = NULL;
		if (mi != NULL)
			rc = engine_policy_add_metainfo(s->e, mi, &opts, &id, why, sizeof why);
		else
			snprintf(why, sizeof why, "not a torrent file");
		if (rc < 0)
			snprintf(err, sizeof err, "%s%s%s", id > 0 ? "" : f->path, id > 0 ? "" : ": ",
			    why);
	}
	if (rc == 0) {
		log_info("watch: added %s (id %d)%s", f->path, id, opts.paused ? ", paused" : "");
		watch_file_rename(w, f, ".added");
	} else if (id > 0) {
		log_info("watch: %s", err);
		watch_file_rename(w, f, ".added");
	} else if (f->scanned && f->fresh) {
		/* Found by the scan and fresh: maybe still being written; its close will bring it
		 * back to us. */
		log_info("watch: %s is not readable yet (%s); waiting for it to be closed", f->path,
		    err);
	} else {
		log_error("watch: %s is invalid: %s", f->path, err);
		watch_file_rename(w, f, ".invalid");
	}
}

void
store_set_watch(struct store *s, const char *dir)
{
	if (s->watch != NULL && dir != NULL && strcmp(watch_dir(s->watch), dir) == 0)
		return;
	watch_free(s->watch);
	s->watch = NULL;
	if (dir == NULL)
		return;
	/* Created, checked and scanned on the disk pool; failures are logged from there. */
	s->watch = watch_new(s->e, s->base, dir, store_watch_cb, s);
}
