/* store_settings.c: the settings the session store follows (limits, hooks, dirs), the run-time
 * changes it keeps in settings.conf and the cumulative statistics file. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dp_config.h"
#include "engine.h"
#include "engine_policy.h"
#include "log.h"
#include "resume.h"
#include "session_stats.h"
#include "settings_file.h"
#include "store_private.h"
#include "util.h"

/* ---- settings ---- */

static void
store_set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL && src[0] != '\0' ? xstrdup(src) : NULL;
}

/* The live settings the session directory follows (queue and seeding limits, hooks, dirs). */
void
store_apply_settings(struct store *s)
{
	struct dp_config live;
	const struct dp_config *cfg = &live;
	engine_config_get(s->e, &live);
	struct engine_queue_limits q;
	engine_policy_queue_limits(s->e, &q);
	s->max_down = q.max_active_downloads;
	s->max_seed = q.max_active_seeds;
	s->seed_ratio = q.seed_ratio;
	s->seed_time = q.seed_time_s;
	s->start_paused = q.start_paused;
	store_set_str(&s->completed_dir, cfg->completed_dir);
	store_set_str(&s->completion_hook, cfg->completion_hook);
	store_set_str(&s->error_hook, cfg->error_hook);
	s->hook_shell = cfg->hook_shell;
	s->hook_timeout = cfg->hook_timeout;
	store_set_str(&s->watch_dir, cfg->watch_dir);
	config_free(&live);
}

/* ---- run-time settings (settings.conf) ---- */

static void
store_settings_done(struct resume_job *job, void *arg)
{
	(void)arg;
	if (job->error != 0)
		log_error("session: saving the run-time settings: %s", job->errmsg);
	resume_job_free(job);
}

static void
store_stats_done(struct resume_job *job, void *arg)
{
	(void)arg;
	if (job->error != 0)
		log_error("session: saving the cumulative statistics: %s", job->errmsg);
	resume_job_free(job);
}

/* The totals of every run so far, this one included (engine_global's cumulative figures):
 * at open (the run counts even if it crashes), with the periodic pass and at shutdown. */
void
store_save_stats(struct store *s, bool now)
{
	struct engine_global_stats g;
	engine_global(s->e, &g);
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = xstrdup(s->stats_path);
	job->raw = (uint8_t *)session_stats_format(&g.cumulative, &job->raw_len);
	job->done = store_stats_done;
	snprintf(job->label, sizeof job->label, "writing %s", s->stats_path);
	if (!now) {
		resume_writer_submit(s->writer, job);
		return;
	}
	/* At exit: without a sync, as the last resume files (a crash costs the last minutes'
	 * figures at most; the .bak scheme keeps a whole copy). */
	char err[600];
	job->batch = true;
	if (resume_write_file_job(job, job->path, job->raw, job->raw_len, err, sizeof err) < 0)
		log_error("session: saving the cumulative statistics: %s", err);
	resume_job_free(job);
}

/* Earlier runs' totals: a damaged file (and backup) costs the history, not the start. */
void
store_load_stats(struct store *s)
{
	struct engine_totals before;
	char err[700];
	if (session_stats_load(s->stats_path, &before, err, sizeof err) < 0) {
		log_error("session: cumulative statistics start again from zero: %s", err);
		memset(&before, 0, sizeof before);
	}
	engine_policy_set_totals(s->e, &before);
}

/* Written atomically on the writer thread; jobs run in order, so the last one wins. */
void
store_save_settings(struct store *s)
{
	s->settings_dirty = false;
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->path = xstrdup(s->settings_path);
	job->raw = (uint8_t *)settings_format(engine_policy_kept_settings(s->e), &job->raw_len);
	job->done = store_settings_done;
	snprintf(job->label, sizeof job->label, "writing %s", s->settings_path);
	resume_writer_submit(s->writer, job);
}

void
store_settings_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct store *s = arg;
	if (s->settings_dirty)
		store_save_settings(s);
}

/* The run-time changes kept in settings.conf (or its backup) go back over the configuration;
 * a line the table refuses now is logged and left out. */
int
store_load_settings(struct store *s, char *err, size_t errlen)
{
	struct settings kept;
	char why[600], bad[600];
	if (settings_load(s->settings_path, &kept, why, sizeof why, err, errlen) < 0)
		return -1;
	if (why[0] != '\0')
		log_warn("session: %s: using the backup", why);
	for (size_t i = 0; i < kept.n; i++)
		if (engine_policy_keep_setting(s->e, kept.keys[i], kept.values[i], bad,
		    sizeof bad) < 0)
			log_error("%s: %s (ignored)", s->settings_path, bad);
	if (kept.n > 0)
		log_info("session: %zu setting%s changed at run time applied from %s", kept.n,
		    kept.n == 1 ? "" : "s", s->settings_path);
	settings_clear(&kept);
	return 0;
}

void
store_settings_changed(void *arg, bool save)
{
	struct store *s = arg;
	/* While it opens, it reads the settings once they are all in (and settings.conf is what
	 * it is reading). */
	if (s->loading)
		return;
	double ratio = s->seed_ratio;
	int64_t seed_time = s->seed_time;
	store_apply_settings(s);
	if (!s->shutting_down && !s->load_pending)
		store_set_watch(s, s->watch_dir);
	if (save) {
		/* One write for the changes of one loop iteration. */
		s->settings_dirty = true;
		event_active(s->settings_ev, EV_TIMEOUT, 0);
	}
	/* New global seeding limits: every torrent is looked at once (a user's change, rare). */
	if (ratio != s->seed_ratio || seed_time != s->seed_time)
		for (struct store_item *it = s->items; it != NULL; it = it->next)
			store_mark(s, it);
	store_queue_soon(s);
}
