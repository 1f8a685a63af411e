/* store_queue.c: the session store's queue (passes in slices, a start admitted against the
 * active limits), seeding limits and times, and the periodic look at the torrents that changed
 * (saves, moves and hooks that are due). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine.h"
#include "engine_policy.h"
#include "log.h"
#include "queue.h"
#include "resume.h"
#include "session_store.h"
#include "store_private.h"
#include "util.h"

static void store_queue_schedule(struct store *s);

/* ---- queueing and the periodic pass ---- */

static bool
store_item_active(const struct engine_policy_torrent *v)
{
	return v->active || v->state == ENGINE_TORRENT_CHECKING ||
	    v->state == ENGINE_TORRENT_METADATA;
}

/* Which slot an active torrent holds: a download's (downloading, fetching metadata) or a
 * seed's; a check holds none. */
static bool
store_item_class_download(const struct engine_policy_torrent *v)
{
	return v->state == ENGINE_TORRENT_DOWNLOADING || v->state == ENGINE_TORRENT_METADATA;
}

/* What the plan needs to know of one torrent; false: it takes no part (stopped by its user,
 * removed, in error). A stopped one the user wants running becomes queued on the way. */
static bool
store_queue_read(struct store *s, struct store_item *it, struct queue_entry *q,
    enum engine_torrent_state *state)
{
	struct engine_policy_torrent t;
	if (!it->want_running || it->removed ||
	    engine_policy_torrent(s->e, it->id, 0, &t) < 0 || t.removing ||
	    t.state == ENGINE_TORRENT_ERROR)
		return false;
	if (t.state == ENGINE_TORRENT_STOPPED && !store_item_active(&t)) {
		engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, NULL);
		t.state = ENGINE_TORRENT_QUEUED;
	}
	memset(q, 0, sizeof *q);
	q->id = it->id;
	/* An active torrent holds the slot of what it does; a queued one waits for the slot of
	 * what its data says (unknown: it is checked first, in no class). */
	q->active = t.active;
	q->download = t.active ? store_item_class_download(&t) : !t.complete;
	q->unchecked = !t.checked && !t.active;
	q->pinned = it->checking || it->moving || t.state == ENGINE_TORRENT_CHECKING;
	*state = t.state;
	return true;
}

/*
 * A queue pass runs in three steps, each in slices of STORE_SLICE_US with the loop polling in
 * between (10,000 torrents at a restart: reading them all, or starting them all, is far more
 * than one callback may take): read every wanted torrent in queue order (the ids are taken at
 * the start), plan (queue_plan, pure), act. An action is taken only if the torrent is still
 * as it was read (a user's stop or a removal meanwhile wins); a change meanwhile makes the next
 * pass follow this one.
 */
struct store_qpass {
	int *ids;                     /* queue order at the start of the pass */
	size_t n, next;               /* read up to next */
	struct queue_entry *v;        /* what was read, k of them */
	size_t k;
	bool planned;
	size_t act;                   /* acted up to here */
	/* A pass that starts or parks many (a restart's 10,000) says so in one line at its end,
	 * not one line a torrent (8 % of a restart's loop time went to those lines). */
	bool quiet;
	size_t started, parked;
};

/* Starts and parks a pass logs one by one; past this, one line for the pass. */
#define STORE_QUEUE_LOG_EACH 16

void
store_qpass_free(struct store *s)
{
	struct store_qpass *q = s->qpass;
	if (q == NULL)
		return;
	free(q->ids);
	free(q->v);
	free(q);
	s->qpass = NULL;
}

/* The next slice of a pass: at once, but after the loop polled (a zero timeout, not
 * event_active, which runs it in the same iteration: a chain of slices was a 2-4 s stall). */
static void
store_queue_next_slice(struct store *s)
{
	struct timeval tv = { 0, 0 };
	s->queue_again = true;
	event_add(s->queue_ev, &tv);
}

/* 1: started, 2: parked, 0: neither. quiet: no line of its own. */
static int
store_queue_act(struct store *s, const struct queue_entry *q, bool quiet)
{
	struct store_item *it = store_find(s, q->id);
	struct queue_entry now;
	enum engine_torrent_state state;
	struct engine_policy_names nm;
	int did = 0;
	if (it == NULL || !store_queue_read(s, it, &now, &state))
		return did;
	if (q->action == QUEUE_START) {
		if (now.active || now.pinned)
			return did;
		if (!quiet)
			log_info("%s: leaving the queue", store_name(s, it->id, &nm));
		engine_policy_start(s->e, it->id);
		did = 1;
		/* Refused (its slot was taken meanwhile): still waiting, so its class is not
		 * starved and a freed slot brings a full pass. */
		if (store_queue_read(s, it, &now, &state) && !now.active &&
		    state == ENGINE_TORRENT_QUEUED) {
			if (now.download)
				s->starved_down = false;
			else
				s->starved_seed = false;
		}
	} else if (q->action == QUEUE_PARK) {
		if (!now.active || now.pinned)
			return did;
		if (!quiet)
			log_info("%s: queued (over the limit of active %s)",
			    store_name(s, it->id, &nm), q->download ? "downloads" : "seeds");
		engine_policy_stop(s->e, it->id);
		did = 2;
		engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, "queued");
	} else if (state == ENGINE_TORRENT_QUEUED) {
		char why[64];
		snprintf(why, sizeof why, "queued: position %d", store_position(s, it) + 1);
		engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, why);
	}
	return did;
}

/* A torrent changed (its state, a command, a look): the next pass reads it. */
static void
store_qstale_add(struct store *s, struct store_item *it)
{
	if (it->on_qstale)
		return;
	if (s->nqstale == s->qstale_cap) {
		s->qstale_cap = s->qstale_cap ? s->qstale_cap * 2 : 64;
		s->qstale = xreallocarray(s->qstale, s->qstale_cap, sizeof *s->qstale);
	}
	s->qstale[s->nqstale++] = it->id;
	it->on_qstale = true;
}

static void
store_qstale_clear(struct store *s)
{
	for (size_t i = 0; i < s->nqstale; i++) {
		struct store_item *it = store_find(s, s->qstale[i]);
		if (it != NULL)
			it->on_qstale = false;
	}
	s->nqstale = 0;
}

/*
 * A pass between full ones: the torrents that changed are read (a stopped one its user wants
 * running becomes queued; a queued one gets its position), then the engine's counts per state
 * say whether a full pass could start or park anything. true: nothing to do. 10,000 idle seeds
 * and a change of one cost one read, not 10,000.
 */
static bool
store_queue_changed(struct store *s)
{
	struct queue_counts c = { .starved_down = s->starved_down,
	    .starved_seed = s->starved_seed };
	for (size_t i = 0; i < s->nqstale; i++) {
		struct store_item *it = store_find(s, s->qstale[i]);
		struct queue_entry q;
		enum engine_torrent_state state;
		if (it == NULL)
			continue;
		it->on_qstale = false;
		s->queue_reads++;
		if (!store_queue_read(s, it, &q, &state) || q.active || q.pinned)
			continue;
		if (q.unchecked)
			c.unchecked = true;
		else if (q.download)
			c.starved_down = false;
		else
			c.starved_seed = false;
		if (state == ENGINE_TORRENT_QUEUED) {
			char why[64];
			snprintf(why, sizeof why, "queued: position %d", store_position(s, it) + 1);
			engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, why);
		}
	}
	s->nqstale = 0;
	s->starved_down = c.starved_down;
	s->starved_seed = c.starved_seed;
	size_t counts[ENGINE_TORRENT_STATE_COUNT];
	engine_torrent_state_counts(s->e, counts);
	c.active_down = counts[ENGINE_TORRENT_DOWNLOADING] + counts[ENGINE_TORRENT_METADATA];
	c.active_seed = counts[ENGINE_TORRENT_SEEDING];
	c.queued = counts[ENGINE_TORRENT_QUEUED];
	return !queue_needs_plan(&c, s->max_down, s->max_seed);
}

void
store_queue_pass(struct store *s)
{
	if (s->loading || s->load_pending || s->shutting_down)
		return;
	s->queue_again = false;
	struct store_qpass *q = s->qpass;
	if (q == NULL) {
		s->queue_dirty = false;
		s->queue_ms = dp_now_ms();
		if (!s->queue_full && store_queue_changed(s))
			return;       /* nothing a full pass could do */
		s->queue_full = false;
		store_qstale_clear(s);
		if (s->nitems == 0)
			return;
		q = s->qpass = xcalloc(1, sizeof *q);
		q->ids = xcalloc((size_t)s->nitems, sizeof *q->ids);
		for (struct store_item *it = s->items; it != NULL && q->n < (size_t)s->nitems;
		    it = it->next)
			q->ids[q->n++] = it->id;
		q->v = xcalloc(q->n, sizeof *q->v);
	}
	uint64_t start_us = dp_now_us();
	size_t done = 0;
	while (q->next < q->n) {
		if (done >= STORE_SLICE_MIN * 16 && dp_now_us() - start_us >= STORE_SLICE_US) {
			store_queue_next_slice(s);
			return;
		}
		struct store_item *it = store_find(s, q->ids[q->next++]);
		enum engine_torrent_state state;
		s->queue_reads++;
		if (it != NULL && store_queue_read(s, it, &q->v[q->k], &state))
			q->k++;
		done++;
	}
	if (!q->planned) {
		q->quiet = queue_plan(q->v, q->k, s->max_down, s->max_seed) > STORE_QUEUE_LOG_EACH;
		queue_plan_starved(q->v, q->k, &s->starved_down, &s->starved_seed);
		q->planned = true;
	}
	/* Starting thousands (a restart, a limit lifted) is done a slice at a time. */
	size_t acted = 0;
	while (q->act < q->k) {
		const struct queue_entry *e = &q->v[q->act];
		if (e->action != QUEUE_KEEP && acted >= STORE_SLICE_MIN &&
		    dp_now_us() - start_us >= STORE_SLICE_US) {
			store_queue_next_slice(s);
			return;
		}
		if (e->action != QUEUE_KEEP)
			acted++;
		int did = store_queue_act(s, e, q->quiet);
		q->started += did == 1;
		q->parked += did == 2;
		q->act++;
	}
	if (q->quiet)
		log_info("queue: %zu torrent%s left the queue, %zu queued over the limits of "
		    "active downloads (%d) and seeds (%d)", q->started, q->started == 1 ? "" : "s",
		    q->parked, s->max_down, s->max_seed);
	store_qpass_free(s);
	if (s->queue_dirty)
		store_queue_schedule(s);
}

/* Something the plan depends on changed (an event, a command, a setting): a pass soon, at most
 * one per STORE_QUEUE_MIN_MS however many changes come (a pass reads every torrent). */
void
store_queue_soon(struct store *s)
{
	s->queue_full = true;
	store_queue_schedule(s);
}

unsigned long long
session_store_queue_reads(const void *store)
{
	return ((const struct store *)store)->queue_reads;
}

/* it changed: the next pass reads it (and goes through every torrent only if it could act). */
void
store_queue_item_soon(struct store *s, struct store_item *it)
{
	store_qstale_add(s, it);
	store_queue_schedule(s);
}

static void
store_queue_schedule(struct store *s)
{
	if (s->queue_ev == NULL || s->shutting_down)
		return;
	s->queue_dirty = true;
	if (s->qpass != NULL)
		return;       /* the pass under way is followed by another (store_queue_pass) */
	uint64_t since = dp_now_ms() - s->queue_ms;
	if (since >= STORE_QUEUE_MIN_MS) {
		struct timeval tv = { 0, 0 };
		event_add(s->queue_ev, &tv);
	} else if (!event_pending(s->queue_ev, EV_TIMEOUT, NULL)) {
		uint64_t wait = STORE_QUEUE_MIN_MS - since;
		struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
		event_add(s->queue_ev, &tv);
	}
}

void
store_queue_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	(void)fd;
	(void)what;
	if (s->shutting_down || (!s->queue_again && !s->queue_dirty))
		return;
	engine_task_cb_begin(s->task);
	store_queue_pass(s);
	engine_task_cb_end(s->task);
}

bool
store_admit(struct store *s, struct store_item *it)
{
	struct engine_policy_torrent t;
	if (engine_policy_torrent(s->e, it->id, 0, &t) < 0)
		return true;
	it->want_running = true;
	if (it->moving || it->checking)
		return false;
	if (s->loading || s->shutting_down) {
		if (!s->shutting_down)
			engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, NULL);
		return false;
	}
	/* Data not looked at yet: the check takes no slot, and the torrent asks again once it
	 * knows whether it downloads or seeds (a complete one never takes a download's slot). */
	if (!t.checked)
		return true;
	bool download = !t.complete;
	int max = download ? s->max_down : s->max_seed;
	if (max <= 0)
		return true;
	/* The engine keeps torrents per state: no walk over the others. */
	size_t counts[ENGINE_TORRENT_STATE_COUNT];
	engine_torrent_state_counts(s->e, counts);
	size_t active = download ? counts[ENGINE_TORRENT_DOWNLOADING] +
	    counts[ENGINE_TORRENT_METADATA] : counts[ENGINE_TORRENT_SEEDING];
	if (t.active && active > 0 && store_item_class_download(&t) == download)
		active--;      /* itself */
	if (active < (size_t)max)
		return true;
	if (t.state != ENGINE_TORRENT_QUEUED) {
		struct engine_policy_names nm;
		log_info("%s: queued (%zu active %s)", store_name(s, it->id, &nm), active,
		    download ? "downloads" : "seeds");
	}
	engine_policy_set_queued(s->e, it->id, ENGINE_TASK_QUEUED, true, "queued");
	return false;
}

/* A torrent is asked to run (engine_policy's admit): true = start it now. */
bool
store_policy_admit(void *arg, int torrent_id)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, torrent_id);
	return it == NULL || store_admit(s, it);
}

/* Notices a start (from the tick, or sooner when someone asks for the start date). */
void
store_note_active(struct store_item *it, bool active)
{
	if (active && !it->was_active)
		it->start_date = dp_wall_time();
	it->was_active = active;
}

static void
store_limit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_item *it = arg;
	(void)fd;
	(void)what;
	store_mark(it->s, it);
}

/* A seed with a seeding-time limit is looked at again when the limit falls due (a ratio limit
 * is reached only by uploading, which marks it changed). */
static void
store_limit_arm(struct store *s, struct store_item *it, bool seeding)
{
	int64_t limit = it->seed_time_s < 0 ? s->seed_time : it->seed_time_s;
	if (!seeding || limit <= 0) {
		if (it->limit_ev != NULL)
			event_del(it->limit_ev);
		return;
	}
	if (it->limit_ev == NULL) {
		it->s = s;
		it->limit_ev = evtimer_new(s->base, store_limit_cb, it);
		if (it->limit_ev == NULL)
			return;
	}
	int64_t left = limit - it->seeding_s;
	struct timeval tv = { (time_t)(left > 1 ? left : 1), 0 };
	event_add(it->limit_ev, &tv);
}

/* One look at a torrent that changed; true: look again on the next tick (a save held back by
 * the debounce or the tick's budget, a move or a check under way). */
static bool
store_tick_item(struct store *s, struct store_item *it, const struct engine_policy_torrent *t,
    uint64_t now)
{
	bool same = true;      /* *t (with its fingerprint) still describes the torrent */
	/* Whatever changed (its state, a class with new priorities, the end of a move or a
	 * check), the next queue pass reads it. */
	store_queue_item_soon(s, it);
	/* Seeding time and limits. */
	if (t->state == ENGINE_TORRENT_SEEDING) {
		if (it->seeding_since_ms != 0)
			it->seeding_s += (int64_t)((now - it->seeding_since_ms) / 1000);
		it->seeding_since_ms = now - (it->seeding_since_ms != 0 ?
		    (now - it->seeding_since_ms) % 1000 : 0);
		char why[160];
		struct engine_policy_torrent w;
		/* Most seeds have no limit at all: no look at their files then. */
		bool limited = (it->seed_ratio_milli < 0 ? s->seed_ratio > 0 :
		    it->seed_ratio_milli > 0) || (it->seed_time_s < 0 ? s->seed_time > 0 :
		    it->seed_time_s > 0);
		if (limited && engine_policy_torrent(s->e, it->id, ENGINE_POLICY_WANTED, &w) == 0 &&
		    queue_seed_limit_reached(it->seed_ratio_milli, it->seed_time_s, s->seed_ratio,
		    s->seed_time, t->uploaded, t->downloaded, w.wanted, it->seeding_s, why,
		    sizeof why)) {
			struct engine_policy_names nm;
			log_info("%s: stopped seeding: %s", store_name(s, it->id, &nm), why);
			it->want_running = false;
			engine_torrent_stop(s->e, it->id, NULL, 0);
			same = false;
		}
		store_limit_arm(s, it, same);
	} else {
		/* Looked at within a tick of the change: the stretch up to now counts. */
		it->seeding_s = store_seconds(it->seeding_s, it->seeding_since_ms, now);
		it->seeding_since_ms = 0;
		store_limit_arm(s, it, false);
	}
	if (t->state == ENGINE_TORRENT_DOWNLOADING) {
		if (it->downloading_since_ms != 0)
			it->downloading_s += (int64_t)((now - it->downloading_since_ms) / 1000);
		it->downloading_since_ms = now - (it->downloading_since_ms != 0 ?
		    (now - it->downloading_since_ms) % 1000 : 0);
	} else {
		it->downloading_s = store_seconds(it->downloading_s, it->downloading_since_ms, now);
		it->downloading_since_ms = 0;
	}
	store_note_active(it, t->active);
	if (it->completed_pending && !it->moving) {
		store_completed(s, it);
		same = false;
	}
	struct engine_policy_torrent cur;
	if (it->move_waiting && engine_policy_torrent(s->e, it->id, 0, &cur) == 0 &&
	    cur.disk_jobs == 0) {
		store_move_begin(s, it);
		same = false;
	}
	if (it->error_pending) {
		it->error_pending = false;
		if (engine_policy_torrent(s->e, it->id, 0, &cur) == 0 &&
		    cur.state == ENGINE_TORRENT_ERROR)
			store_run_hook(s, it->id, s->error_hook, "error");
	}
	if (same)
		cur = *t;
	if (it->checking || it->moving || (!same && engine_policy_torrent(s->e, it->id,
	    ENGINE_POLICY_FP, &cur) < 0))
		return true;
	if (cur.state == ENGINE_TORRENT_CHECKING || it->move_waiting ||
	    (it->completed_pending && it->moving))
		return true;
	uint64_t fp = store_fingerprint(it, cur.persist_fp, store_position(s, it));
	if (fp == it->saved_fp)
		return false;
	if (now - it->last_save_ms < STORE_DEBOUNCE_MS)
		return true;
	/* 10,000 torrents just added all want their first save: a slice at a time, the rest on
	 * the next ones (they stay marked); and no faster than the writer writes them (a queue of
	 * thousands would be written twice at a shutdown: by the writer and by the flush). */
	if (dp_now_us() >= s->save_deadline_us) {
		s->saves_cut = true;
		return true;
	}
	if (resume_writer_pending(s->writer) >= STORE_WRITER_BACKLOG) {
		s->saves_cut = s->backlog_cut = true;
		return true;
	}
	store_save(s, it);
	return false;
}

/* The periodic pass: counters and seeding time of every torrent that moved data since its
 * last save, once per STORE_PERIODIC_MS, a slice per tick (the ids are taken at its start). */
static void
store_sweep(struct store *s, uint64_t now)
{
	if (s->sweep_ids == NULL && now - s->last_periodic_ms >= STORE_PERIODIC_MS) {
		s->last_periodic_ms = now;
		store_save_stats(s, false);
		s->sweep_ids = xcalloc(s->nitems > 0 ? (size_t)s->nitems : 1, sizeof *s->sweep_ids);
		s->sweep_n = s->sweep_next = 0;
		for (struct store_item *it = s->items; it != NULL; it = it->next)
			s->sweep_ids[s->sweep_n++] = it->id;
	}
	while (s->sweep_ids != NULL && s->sweep_next < s->sweep_n) {
		if (dp_now_us() >= s->save_deadline_us)
			return;
		if (resume_writer_pending(s->writer) >= STORE_WRITER_BACKLOG) {
			s->backlog_cut = true;
			return;
		}
		struct store_item *it = store_find(s, s->sweep_ids[s->sweep_next++]);
		struct engine_policy_torrent t;
		if (it == NULL || it->removed || it->checking || it->moving ||
		    engine_policy_torrent(s->e, it->id, 0, &t) < 0 ||
		    t.state == ENGINE_TORRENT_CHECKING)
			continue;
		if (t.uploaded != it->saved_up || t.downloaded != it->saved_down)
			store_save(s, it);
	}
	free(s->sweep_ids);
	s->sweep_ids = NULL;
}

/* Looks at the torrents that changed: a slice of STORE_SLICE_US at most; what is left (10,000
 * torrents just added all want their first save) follows in the next slice, 10 ms later. */
static void
store_look(struct store *s)
{
	uint64_t now = dp_now_ms();
	/* What changed since the last tick, as the engine stamps it (state, transfer, peers, any
	 * command): only those are read; 10,000 idle seeds cost nothing here. */
	int *ids = NULL, *gone = NULL;
	size_t ngone = 0;
	unsigned window = (unsigned)((now - s->changes_ms) / 1000) + 2;
	size_t n = engine_torrents_changed(s->e, window, &ids, &gone, &ngone);
	s->changes_ms = now;
	for (size_t i = 0; i < n; i++) {
		struct store_item *it = store_find(s, ids[i]);
		if (it != NULL)
			store_mark(s, it);
	}
	free(ids);
	free(gone);
	s->save_deadline_us = dp_now_us() + STORE_SLICE_US;
	s->saves_cut = s->backlog_cut = false;
	/* Each one marked now once, oldest first; one to look at again goes to the end. */
	size_t todo = s->ndirty;
	while (todo-- > 0 && s->dirty != NULL && !s->saves_cut) {
		struct store_item *it = s->dirty;
		struct engine_policy_torrent t;
		bool again = !it->removed &&
		    engine_policy_torrent(s->e, it->id, ENGINE_POLICY_FP, &t) == 0 &&
		    store_tick_item(s, it, &t, now);
		store_unmark(s, it);
		if (again)
			store_mark(s, it);
		if (dp_now_us() >= s->save_deadline_us)
			s->saves_cut = true;
	}
	store_sweep(s, now);
	store_resync_pass(s, now);
	if (s->saves_cut || (s->sweep_ids != NULL && s->sweep_next < s->sweep_n)) {
		/* the clock: the next slice soon; the writer: when it may have caught up */
		struct timeval tv = { 0, s->backlog_cut ? 100000 : 10000 };
		event_add(s->more_ev, &tv);
	}
}

/* The store's idle reason between ticks. After a restart the writer can stay busy for minutes
 * with the saves that make the last exit's unsynced resume files durable (store_resync.c): the
 * reason counts those still waiting, so the monitor says why. */
void
store_task_reason(struct store *s)
{
	char durable[64] = "";
	if (s->resync_waiting > 0)
		snprintf(durable, sizeof durable, ", %zu waiting to be made durable",
		    s->resync_waiting);
	engine_task_idle(s->task, ENGINE_TASK_TIMER_WAIT, "session %s: %zu resume writes pending%s, "
	    "%zu torrents to look at", s->dir, resume_writer_pending(s->writer), durable, s->ndirty);
}

void
store_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	(void)fd;
	(void)what;
	if (s->shutting_down)
		return;
	engine_task_cb_begin(s->task);
	store_look(s);
	store_task_reason(s);
	engine_task_cb_end(s->task);
}
