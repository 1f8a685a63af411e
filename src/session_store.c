/* session_store.c: the session directory and the seedbox rules around the engine, as the
 * engine's policy (struct engine_policy): opening and closing it, its items (queue order, the
 * list the tick looks at), the engine's events and what only the policy keeps (queue order,
 * seeding limits, times). Its parts: store_save.c (metainfo copies and resume files, saved on
 * change, debounced, periodically and at shutdown, on the writer thread), store_load.c (loading
 * with a recheck of only the pieces of changed files), store_queue.c (queueing, seeding limits,
 * the periodic look), store_move.c (moving finished data, torrent-set-location's moves,
 * completion and error hooks), store_watch.c and store_settings.c. It sees the engine through
 * engine.h and engine_policy.h only. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "dp_config.h"
#include "engine.h"
#include "engine_policy.h"
#include "hooks.h"
#include "idmap.h"
#include "resume.h"
#include "session_stats.h"
#include "session_store.h"
#include "settings_file.h"
#include "store_private.h"
#include "util.h"
#include "watch.h"

/* ---- helpers ---- */

struct store_item *
store_find(struct store *s, int id)
{
	return id > 0 ? dp_idmap_get(&s->by_id, (uint64_t)id) : NULL;
}

/* A torrent's name for labels and logs (a magnet without metadata: its info-hash). */
const char *
store_name(struct store *s, int id, struct engine_policy_names *n)
{
	if (engine_policy_names(s->e, id, n) < 0)
		snprintf(n->name, sizeof n->name, "torrent %d", id);
	return n->name;
}

/* Out of the queue order (it stays findable by id until store_forget_item). */
void
store_unlink_item(struct store *s, struct store_item *it)
{
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		s->items = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	else
		s->tail = it->prev;
	if (it->next != NULL)
		s->pos_dirty = true;   /* those after it moved up */
	it->next = it->prev = NULL;
	s->nitems--;
}

/* Into the queue order before `before` (NULL: at the end). */
void
store_insert_item(struct store *s, struct store_item *it, struct store_item *before)
{
	it->next = before;
	it->prev = before != NULL ? before->prev : s->tail;
	if (it->prev != NULL)
		it->prev->next = it;
	else
		s->items = it;
	if (before != NULL)
		before->prev = it;
	else
		s->tail = it;
	if (before != NULL)
		s->pos_dirty = true;
	else
		it->pos = s->nitems;
	s->nitems++;
}

static void
store_append_item(struct store *s, struct store_item *it)
{
	store_insert_item(s, it, NULL);
}

static void
store_item_free(struct store_item *it)
{
	if (it == NULL)
		return;
	if (it->limit_ev != NULL)
		event_free(it->limit_ev);
	free(it->restore_error);
	free(it->move_to);
	free(it);
}

/* The next tick looks at it (O(1); once however often it is marked). */
void
store_mark(struct store *s, struct store_item *it)
{
	if (it->on_dirty || it->removed)
		return;
	it->on_dirty = true;
	it->dnext = NULL;
	it->dprev = s->dirty_tail;
	if (s->dirty_tail != NULL)
		s->dirty_tail->dnext = it;
	else
		s->dirty = it;
	s->dirty_tail = it;
	s->ndirty++;
}

void
store_unmark(struct store *s, struct store_item *it)
{
	if (!it->on_dirty)
		return;
	if (it->dprev != NULL)
		it->dprev->dnext = it->dnext;
	else
		s->dirty = it->dnext;
	if (it->dnext != NULL)
		it->dnext->dprev = it->dprev;
	else
		s->dirty_tail = it->dprev;
	it->dnext = it->dprev = NULL;
	it->on_dirty = false;
	s->ndirty--;
}

/* A removed torrent's item leaves for good. */
void
store_forget_item(struct store *s, struct store_item *it)
{
	store_resync_written(s, it);   /* gone: nothing of it waits to be made durable */
	store_unmark(s, it);
	store_unlink_item(s, it);
	dp_idmap_del(&s->by_id, (uint64_t)it->id, it);
	store_item_free(it);
}

char *
store_resume_path(struct store *s, const char *hex)
{
	return xasprintf("%s/%s.resume", s->rdir, hex);
}

char *
store_torrent_path(struct store *s, const char *hex)
{
	return xasprintf("%s/%s.torrent", s->tdir, hex);
}

/* A magnet still fetching its metadata is kept as its link until the .torrent replaces it. */
char *
store_magnet_path(struct store *s, const char *hex)
{
	return xasprintf("%s/%s.magnet", s->tdir, hex);
}

static int
store_mkdir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: can't create: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* What a resume file would say, minus counters: a change means "save soon". engine_fp is the
 * engine's part (engine_policy_torrent's persist_fp). */
uint64_t
store_fingerprint(const struct store_item *it, uint64_t engine_fp, int pos)
{
	uint64_t h = engine_fp;
	h = dp_fnv1a(h, &it->want_running, sizeof it->want_running);
	h = dp_fnv1a(h, &it->seed_ratio_milli, sizeof it->seed_ratio_milli);
	h = dp_fnv1a(h, &it->seed_time_s, sizeof it->seed_time_s);
	h = dp_fnv1a(h, &pos, sizeof pos);
	return h;
}

/* Seconds counted so far plus those of the current stretch (since_ms 0: none running). */
int64_t
store_seconds(int64_t counted, uint64_t since_ms, uint64_t now)
{
	return counted + (since_ms != 0 && now > since_ms ? (int64_t)((now - since_ms) / 1000) : 0);
}

/* Positions are kept; after a removal or a move one walk renumbers them, on first use. */
int
store_position(struct store *s, const struct store_item *want)
{
	if (s->pos_dirty) {
		int pos = 0;
		for (struct store_item *it = s->items; it != NULL; it = it->next)
			it->pos = pos++;
		s->pos_dirty = false;
	}
	return want->pos;
}

/* ---- events ---- */

static void
store_on_event(void *arg, int torrent_id, enum engine_event ev)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, torrent_id);
	struct engine_policy_torrent t;
	struct engine_policy_names nm;
	switch (ev) {
	case ENGINE_EVENT_ADDED:
		if (it != NULL || engine_policy_torrent(s->e, torrent_id, 0, &t) < 0 ||
		    engine_policy_names(s->e, torrent_id, &nm) < 0)
			break;
		it = xcalloc(1, sizeof *it);
		it->id = torrent_id;
		memcpy(it->hex, nm.info_hash_hex, sizeof it->hex);
		it->seed_ratio_milli = -1;
		it->seed_time_s = -1;
		store_append_item(s, it);
		dp_idmap_put(&s->by_id, (uint64_t)it->id, it);
		if (s->loading)
			break;
		/* A magnet has no info dictionary to save until ut_metadata brings it: its
		 * link is kept meanwhile. */
		if (t.has_info) {
			store_save_metainfo(s, it, false);
		} else {
			char *uri = engine_policy_magnet_uri(s->e, torrent_id);
			if (uri != NULL)
				store_save_magnet(s, it, uri);
			free(uri);
		}
		break;
	case ENGINE_EVENT_METADATA:
		if (it != NULL && engine_policy_torrent(s->e, torrent_id, 0, &t) == 0 &&
		    t.has_info) {
			store_save_metainfo(s, it, true);
			/* The resume file too, so the two agree on pieces and files. */
			store_save(s, it);
		}
		break;
	case ENGINE_EVENT_STOPPED:
		/* Only a user's stop is reported: the torrent stays stopped across restarts. */
		if (it != NULL && !s->shutting_down)
			it->want_running = false;
		break;
	case ENGINE_EVENT_COMPLETED:
		if (it != NULL)
			it->completed_pending = true;
		break;
	case ENGINE_EVENT_ERROR:
		if (it != NULL)
			it->error_pending = true;
		break;
	case ENGINE_EVENT_REMOVED:
		if (it == NULL)
			break;
		it->removed = true;
		/* Queued now, so behind a save in flight (the writer runs its jobs in order) and
		 * ahead of the files of the same torrent added again: removed when that save ended,
		 * they took the new copy's files with them. */
		store_forget_files(s, it->hex);
		if (!it->saving)
			store_forget_item(s, it);
		break;
	default:
		break;
	}
	if (it != NULL && ev != ENGINE_EVENT_REMOVED) {
		store_mark(s, it);
		store_queue_item_soon(s, it);
	} else {
		store_queue_soon(s);      /* a removal moves the positions of those behind */
	}
	if (s->timer != NULL && !s->shutting_down && ev != ENGINE_EVENT_ADDED)
		event_active(s->timer, EV_TIMEOUT, 0);
}

/* ---- life cycle ---- */

static void
store_shutdown_begin(void *arg)
{
	struct store *s = arg;
	if (s->shutting_down)
		return;
	s->shutting_down = true;
	/* Torrents not added yet stay on disk for the next start (a read still running ends in
	 * its done callback). */
	if (s->load != NULL && !s->load->reading)
		store_load_end(s, false);
	/* From now on the writer's queue goes without fsyncs: new pieces are claimed with the
	 * boot id instead (resume_job_run). */
	resume_writer_batch(s->writer);
	/* A last count of seeding time before the torrents stop. */
	uint64_t now = dp_now_ms();
	for (struct store_item *it = s->items; it != NULL; it = it->next) {
		if (it->seeding_since_ms != 0)
			it->seeding_s += (int64_t)((now - it->seeding_since_ms) / 1000);
		if (it->downloading_since_ms != 0)
			it->downloading_s += (int64_t)((now - it->downloading_since_ms) / 1000);
		it->seeding_since_ms = it->downloading_since_ms = 0;
	}
	if (s->timer != NULL)
		event_del(s->timer);
	if (s->queue_ev != NULL)
		event_del(s->queue_ev);
	if (s->more_ev != NULL)
		event_del(s->more_ev);
	watch_free(s->watch);
	s->watch = NULL;
}

static void
store_free(void *arg)
{
	struct store *s = arg;
	if (s == NULL)
		return;
	store_shutdown_begin(s);
	store_flush_finish_now(s);
	resume_writer_free(s->writer);
	resume_writer_free(s->mover);
	hooks_free(s->hooks, STORE_HOOK_WAIT_MS);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->queue_ev != NULL)
		event_free(s->queue_ev);
	if (s->more_ev != NULL)
		event_free(s->more_ev);
	if (s->settings_ev != NULL)
		event_free(s->settings_ev);
	engine_task_done(s->task, "closed");
	engine_task_release(&s->task);
	store_qpass_free(s);
	free(s->qstale);
	free(s->sweep_ids);
	free(s->resync);
	while (s->items != NULL) {
		struct store_item *it = s->items;
		s->items = it->next;
		store_item_free(it);
	}
	dp_idmap_free(&s->by_id);
	free(s->settings_path);
	free(s->stats_path);
	free(s->watch_dir);
	free(s->completed_dir);
	free(s->completion_hook);
	free(s->error_hook);
	free(s->dir);
	free(s->tdir);
	free(s->rdir);
	free(s);
}

/* ---- what only the policy keeps: queue order, seeding limits, times ---- */

static int
store_queue_move(void *arg, int id, enum engine_queue_where where, char *err, size_t errlen)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	if (it == NULL || it->removed) {
		snprintf(err, errlen, "no torrent with id %d", id);
		return -1;
	}
	/* Neighbours by link: O(1) whatever the queue's length. */
	struct store_item *before = NULL;
	switch (where) {
	case ENGINE_QUEUE_TOP: before = s->items; break;
	case ENGINE_QUEUE_UP: before = it->prev != NULL ? it->prev : it; break;
	case ENGINE_QUEUE_DOWN: before = it->next != NULL ? it->next->next : NULL; break;
	case ENGINE_QUEUE_BOTTOM: before = NULL; break;
	}
	if (before == it || (where == ENGINE_QUEUE_DOWN && it->next == NULL))
		return 0;
	store_unlink_item(s, it);
	store_insert_item(s, it, before);
	s->pos_dirty = true;
	store_queue_soon(s);
	return 0;
}

static int
store_queue_position(void *arg, int id)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	return it != NULL ? store_position(s, it) : -1;
}

static int
store_set_seed_limits(void *arg, int id, double ratio, int64_t seconds, char *err,
    size_t errlen)
{
	struct store_item *it = store_find(arg, id);
	if (it == NULL) {
		snprintf(err, errlen, "no torrent with id %d", id);
		return -1;
	}
	it->seed_ratio_milli = ratio < 0 ? -1 : (int64_t)(ratio * 1000 + 0.5);
	it->seed_time_s = seconds < 0 ? -1 : seconds;
	store_mark(arg, it);      /* the new limit may be reached already */
	return 0;
}

static int
store_get_seed_limits(void *arg, int id, double *ratio, int64_t *seconds)
{
	struct store_item *it = store_find(arg, id);
	if (it == NULL)
		return -1;
	*ratio = it->seed_ratio_milli < 0 ? -1.0 : (double)it->seed_ratio_milli / 1000.0;
	*seconds = it->seed_time_s;
	return 0;
}

static void
store_get_times(void *arg, int id, struct engine_torrent_times *out)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	struct engine_policy_torrent t;
	if (it == NULL || engine_policy_torrent(s->e, id, 0, &t) < 0)
		return;
	store_note_active(it, t.active);
	uint64_t now = dp_now_ms();
	out->seconds_downloading = it->downloading_s + (it->downloading_since_ms != 0 ?
	    (int64_t)((now - it->downloading_since_ms) / 1000) : 0);
	out->seconds_seeding = it->seeding_s + (it->seeding_since_ms != 0 ?
	    (int64_t)((now - it->seeding_since_ms) / 1000) : 0);
	out->start_date = it->start_date;
}

static const struct engine_policy store_policy = {
	.admit = store_policy_admit,
	.on_event = store_on_event,
	.settings_changed = store_settings_changed,
	.shutdown_begin = store_shutdown_begin,
	.flush = store_flush,
	.free = store_free,
	.queue_move = store_queue_move,
	.queue_position = store_queue_position,
	.set_seed_limits = store_set_seed_limits,
	.get_seed_limits = store_get_seed_limits,
	.get_times = store_get_times,
	.set_location = store_set_location,
};

/* ---- session_store.h ---- */

int
session_store_open(struct engine *e, const char *dir, const struct dp_config *cfg, char *err,
    size_t errlen)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->e = e;
	s->base = engine_policy_base(e);
	s->dir = xstrdup(dir);
	s->tdir = xasprintf("%s/torrents", dir);
	s->rdir = xasprintf("%s/resume", dir);
	s->settings_path = xasprintf("%s/%s", dir, SETTINGS_FILE_NAME);
	s->stats_path = xasprintf("%s/%s", dir, SESSION_STATS_FILE_NAME);
	s->hooks = hooks_new(e, s->base);
	s->task = engine_task_new(e, ENGINE_TASK_KIND_SESSION, 0, "session %s", dir);
	/* Registered first: the torrents it adds go through its admit and events. It stays out
	 * of the way until it has loaded (settings changes while it reads settings.conf). */
	s->loading = true;
	if (engine_set_policy(e, &store_policy, s) < 0) {
		snprintf(err, errlen, "a session directory is already open");
		s->loading = false;
		goto fail;
	}
	if (cfg != NULL)
		engine_apply_config(e, cfg);
	if (store_mkdir(dir, err, errlen) < 0 || store_mkdir(s->tdir, err, errlen) < 0 ||
	    store_mkdir(s->rdir, err, errlen) < 0)
		goto unregister;
	if ((s->writer = resume_writer_new(e, s->base, err, errlen)) == NULL ||
	    (s->mover = resume_writer_new(e, s->base, err, errlen)) == NULL)
		goto unregister;
	s->timer = event_new(s->base, -1, EV_PERSIST, store_timer_cb, s);
	s->settings_ev = event_new(s->base, -1, 0, store_settings_cb, s);
	s->queue_ev = event_new(s->base, -1, 0, store_queue_cb, s);
	s->more_ev = event_new(s->base, -1, 0, store_timer_cb, s);   /* a look's next slice */
	if (s->timer == NULL || s->settings_ev == NULL || s->queue_ev == NULL ||
	    s->more_ev == NULL) {
		snprintf(err, errlen, "can't create the session timer");
		goto unregister;
	}
	if (store_load_settings(s, err, errlen) < 0)
		goto unregister;
	store_apply_settings(s);
	store_load_stats(s);
	store_save_stats(s, false);
	if (store_load_begin(s, err, errlen) < 0)
		goto unregister;
	s->loading = false;       /* from now on only inside a slice of adds */
	s->last_periodic_ms = dp_now_ms();
	struct timeval tv = { STORE_TICK_MS / 1000, (STORE_TICK_MS % 1000) * 1000 };
	event_add(s->timer, &tv);
	/* The queue's first pass and the watch directory follow the load (store_load_end). */
	/* The engine keeps its own state there too (the DHT's node table), for the next start. */
	engine_policy_session_dir(e, dir);
	return 0;
unregister:
	engine_set_policy(e, NULL, NULL);
fail:
	store_free(s);
	return -1;
}
