/* engine_policy.c: the calls a policy makes beyond engine.h (engine_policy.h): views of a
 * torrent, the state a resume file records, running and queueing on the policy's word, errors
 * restored, finished data moved, kept settings. Restoring from a resume file is in
 * engine_restore.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bencode.h"
#include "bitfield.h"
#include "discovery.h"
#include "engine.h"
#include "engine_policy.h"
#include "engine_private.h"
#include "log.h"
#include "metadata_fetch.h"
#include "metainfo.h"
#include "picker.h"
#include "session.h"
#include "storage.h"
#include "task.h"
#include "torrent.h"
#include "util.h"

struct event_base *
engine_policy_base(struct engine *e)
{
	return e->base;
}

void
engine_policy_session_dir(struct engine *e, const char *dir)
{
	discovery_set_session_dir(e->disc, dir);
	engine_blocklist_session_dir(e, dir);
}

/* ---- views ---- */

/* What a resume file would say of t, minus counters: a change means "save soon". */
static uint64_t
engine_policy_fingerprint(const struct torrent *t)
{
	uint64_t h = DP_FNV1A_INIT;
	int state = t->state == ENGINE_TORRENT_ERROR;
	h = dp_fnv1a(h, &state, sizeof state);
	h = dp_fnv1a(h, &t->have.count, sizeof t->have.count);
	/* the same count after a loss is another set of pieces: the file has to say so */
	h = dp_fnv1a(h, &t->have_lost, sizeof t->have_lost);
	h = dp_fnv1a(h, t->save_dir, strlen(t->save_dir));
	h = dp_fnv1a(h, t->file_prio, t->mi->file_count);
	h = dp_fnv1a(h, t->file_level, t->mi->file_count);
	if (t->labels != NULL)
		h = dp_fnv1a(h, t->labels, strlen(t->labels));
	if (t->trackers_edited) {
		for (size_t i = 0; i < t->mi->tier_count; i++)
			for (size_t j = 0; j < t->mi->tiers[i].count; j++)
				h = dp_fnv1a(h, t->mi->tiers[i].urls[j],
				    strlen(t->mi->tiers[i].urls[j]) + 1);
		h = dp_fnv1a(h, &t->mi->tier_count, sizeof t->mi->tier_count);
	}
	h = dp_fnv1a(h, &t->sequential, sizeof t->sequential);
	h = dp_fnv1a(h, &t->idle.mode, sizeof t->idle.mode);
	h = dp_fnv1a(h, &t->renamed, sizeof t->renamed);
	h = dp_fnv1a(h, t->mi->name, strlen(t->mi->name));
	h = dp_fnv1a(h, &t->idle.limit_min, sizeof t->idle.limit_min);
	h = dp_fnv1a(h, &t->down_bucket.rate, sizeof t->down_bucket.rate);
	h = dp_fnv1a(h, &t->up_bucket.rate, sizeof t->up_bucket.rate);
	h = dp_fnv1a(h, &t->max_peers, sizeof t->max_peers);
	h = dp_fnv1a(h, &t->upload_slots, sizeof t->upload_slots);
	h = dp_fnv1a(h, &t->completed_date, sizeof t->completed_date);
	return h;
}

int
engine_policy_torrent(struct engine *e, int id, unsigned what,
    struct engine_policy_torrent *out)
{
	struct torrent *t = session_find_torrent(e, id);
	memset(out, 0, sizeof *out);
	if (t == NULL)
		return -1;
	out->state = t->state;
	out->active = torrent_is_active(t);
	/* A magnet still fetching its metadata has no pieces, so none missing: it is still a
	 * download (counted as a seed it was parked "over the limit of active seeds"). */
	out->complete = t->md == NULL && t->checked && picker_complete(t->pk);
	out->checked = t->checked;
	out->removing = t->removing;
	out->has_info = t->mi->info_raw != NULL;
	out->have_pieces = t->have.count;
	out->have_lost = t->have_lost;
	out->disk_jobs = t->disk_jobs > 0 ? (unsigned)t->disk_jobs : 0;
	out->uploaded = t->uploaded;
	out->downloaded = t->downloaded;
	if (what & ENGINE_POLICY_WANTED)
		out->wanted = torrent_wanted(t);
	if (what & ENGINE_POLICY_FP)
		out->persist_fp = engine_policy_fingerprint(t);
	return 0;
}

int
engine_policy_names(struct engine *e, int id, struct engine_policy_names *out)
{
	struct torrent *t = session_find_torrent(e, id);
	memset(out, 0, sizeof *out);
	if (t == NULL)
		return -1;
	const struct metainfo *mi = t->mi;
	snprintf(out->name, sizeof out->name, "%s", mi->name != NULL && mi->name[0] != '\0' ?
	    mi->name : mi->info_hash_hex);
	snprintf(out->display_name, sizeof out->display_name, "%s", mi->display_name != NULL ?
	    mi->display_name : out->name);
	snprintf(out->info_hash_hex, sizeof out->info_hash_hex, "%s", mi->info_hash_hex);
	snprintf(out->save_dir, sizeof out->save_dir, "%s", t->save_dir);
	return 0;
}

/* A .torrent rebuilt from what the engine keeps (piece layers included: a v2-only copy without
 * them would be refused at the next start). */
uint8_t *
engine_policy_torrent_file(struct engine *e, int id, size_t *len)
{
	struct torrent *t = session_find_torrent(e, id);
	*len = 0;
	return t != NULL ? metainfo_encode(t->mi, len) : NULL;
}

char *
engine_policy_magnet_uri(struct engine *e, int id)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL || t->md == NULL || metadata_fetch_uri(t->md) == NULL)
		return NULL;
	return xstrdup(metadata_fetch_uri(t->md));
}

/* ---- what a resume file records ---- */

int
engine_policy_resume_get(struct engine *e, int id, struct engine_resume_state *out)
{
	struct torrent *t = session_find_torrent(e, id);
	memset(out, 0, sizeof *out);
	if (t == NULL)
		return -1;
	const struct metainfo *mi = t->mi;
	memcpy(out->info_hash, mi->info_hash, 20);
	out->piece_count = mi->piece_count;
	size_t nbytes = bitfield_bytes(mi->piece_count);
	out->pieces = xcalloc(nbytes ? nbytes : 1, 1);
	/* Only what was verified counts; during a check the bitfield is still being built. */
	out->checked = t->checked && t->state != ENGINE_TORRENT_CHECKING;
	if (out->checked)
		memcpy(out->pieces, t->have.bits, nbytes);
	out->have_pieces = t->have.count;
	out->have_lost = t->have_lost;
	out->file_count = mi->file_count;
	out->priorities = xcalloc(mi->file_count ? mi->file_count : 1, 1);
	out->paths = xcalloc(mi->file_count ? mi->file_count : 1, sizeof *out->paths);
	for (size_t i = 0; i < mi->file_count; i++) {
		out->priorities[i] = (uint8_t)(t->file_prio[i] | t->file_level[i] << 2);
		if (!mi->files[i].pad)
			out->paths[i] = storage_file_path(t->st, i);
	}
	out->uploaded = t->uploaded;
	out->downloaded = t->downloaded;
	out->added_date = t->added_date;
	out->completed_date = t->completed_date;
	snprintf(out->save_dir, sizeof out->save_dir, "%s", t->save_dir);
	out->sequential = t->sequential;
	out->down_limit = t->down_bucket.rate;
	out->up_limit = t->up_bucket.rate;
	out->max_peers = t->max_peers;
	out->upload_slots = t->upload_slots;
	if (t->state == ENGINE_TORRENT_ERROR)
		snprintf(out->error, sizeof out->error, "%s", t->error);
	snprintf(out->labels, sizeof out->labels, "%s", t->labels != NULL ? t->labels : "");
	out->trackers = engine_trackers_kept(t);
	out->peers = t->magnet_peers != NULL ? xstrdup(t->magnet_peers) : NULL;
	out->idle_mode = t->idle.mode;
	out->idle_limit = t->idle.limit_min;
	if (t->renamed) {
		out->names = xcalloc(mi->file_count + 1, sizeof *out->names);
		out->names[0] = xstrdup(mi->name);
		for (size_t i = 0; i < mi->file_count; i++)
			out->names[i + 1] = xstrdup(mi->files[i].path);
	}
	return 0;
}

void
engine_policy_resume_free(struct engine_resume_state *r)
{
	engine_policy_paths_free(r->paths, r->file_count);
	if (r->names != NULL)
		engine_policy_paths_free(r->names, r->file_count + 1);
	free(r->pieces);
	free(r->priorities);
	free(r->trackers);
	free(r->peers);
	memset(r, 0, sizeof *r);
}

/* ---- running ---- */

void
engine_policy_set_totals(struct engine *e, const struct engine_totals *before)
{
	e->totals_before = *before;
}

void
engine_policy_start(struct engine *e, int id)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t != NULL)
		torrent_start(t);
}

void
engine_policy_stop(struct engine *e, int id)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t != NULL)
		torrent_stop(t, false);
}

void
engine_policy_set_queued(struct engine *e, int id, enum engine_task_state state, bool idle,
    const char *reason)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL)
		return;
	torrent_set_state(t, ENGINE_TORRENT_QUEUED);
	if (reason == NULL)
		return;
	if (idle)
		task_idle(t->task, (enum dp_task_state)state, "%s", reason);
	else
		task_wait(t->task, (enum dp_task_state)state, "%s", reason);
}

int
engine_policy_add_metainfo(struct engine *e, struct metainfo *mi,
    const struct engine_add_opts *opts, int *id_out, char *err, size_t errlen)
{
	return engine_add_metainfo(e, mi, opts, id_out, err, errlen);
}

void
engine_policy_set_error(struct engine *e, int id, const char *msg)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t != NULL)
		torrent_set_error(t, "%s", msg);
}

/* ---- moving a finished download ---- */

void
engine_policy_close_files(struct engine *e, int id)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t != NULL)
		storage_close_all(t->st);
}

char **
engine_policy_file_paths(struct engine *e, int id, const char *dir, size_t *n)
{
	struct torrent *t = session_find_torrent(e, id);
	*n = 0;
	if (t == NULL)
		return NULL;
	const struct metainfo *mi = t->mi;
	struct storage *other = dir != NULL ? storage_new(mi, dir, 1) : NULL;
	const struct storage *st = other != NULL ? other : t->st;
	char **paths = xcalloc(mi->file_count ? mi->file_count : 1, sizeof *paths);
	for (size_t i = 0; i < mi->file_count; i++)
		if (!mi->files[i].pad && st != NULL)
			paths[i] = storage_file_path(st, i);
	storage_free(other);
	*n = mi->file_count;
	return paths;
}

void
engine_policy_paths_free(char **paths, size_t n)
{
	if (paths == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int
engine_policy_relocate(struct engine *e, int id, const char *dir, char *err, size_t errlen)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL)
		return dp_fail(err, errlen, "no torrent with id %d", id);
	if (strlen(dir) >= TORRENT_SAVE_DIR_MAX)
		return dp_fail(err, errlen, "%s: the path is too long", dir);
	struct storage *st = storage_new(t->mi, dir, e->set.max_open_files);
	if (st == NULL)
		return dp_fail(err, errlen, "can't set up storage in %s", dir);
	storage_free(t->st);
	t->st = st;
	free(t->save_dir);
	t->save_dir = xstrdup(dir);
	log_info("%s: moved to %s", t->mi->name, dir);
	torrent_set_state(t, ENGINE_TORRENT_STOPPED);
	return 0;
}

/* ---- settings ---- */

void
engine_policy_queue_limits(struct engine *e, struct engine_queue_limits *out)
{
	engine_settings_queue_limits(engine_settings_live(e), out);
}

const struct settings *
engine_policy_kept_settings(struct engine *e)
{
	return engine_settings_kept(e);
}

int
engine_policy_keep_setting(struct engine *e, const char *key, const char *value, char *err,
    size_t errlen)
{
	return engine_settings_keep(e, key, value, NULL, err, errlen);
}
