/* engine.c: the public engine API (engine.h): life cycle, commands that act on torrents and the
 * session, and snapshots copied out for the UI and the RPC. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "announce_sched.h"
#include "discovery.h"
#include "alt_speed.h"
#include "disk.h"
#include "dp_config.h"
#include "engine.h"
#include "engine_private.h"
#include "log.h"
#include "magnet.h"
#include "metadata_fetch.h"
#include "metainfo.h"
#include "net.h"
#include "peer.h"
#include "portmap.h"
#include "picker.h"
#include "session.h"
#include "storage.h"
#include "task.h"
#include "torrent.h"
#include "tracker.h"
#include "transport.h"
#include "util.h"
#include "webseed.h"

/* How often a shutdown looks whether its trackers and disk jobs are done: the last look's wait
 * is part of every exit (a finished `get` spent 50 ms idle here with a 50 ms poll). */
#define ENGINE_SHUTDOWN_POLL_MS 5

struct engine_event_note {
	struct engine *e;
	int torrent_id;
	enum engine_event ev;
};

static void
engine_deliver_event(evutil_socket_t fd, short what, void *arg)
{
	struct engine_event_note *se = arg;
	(void)fd;
	(void)what;
	task_cb_begin(se->e->timer_task);
	if (se->e->event_cb != NULL)
		se->e->event_cb(se->e, se->torrent_id, se->ev, se->e->event_arg);
	task_cb_end(se->e->timer_task);
	free(se);
}

/* The session's events (through e->emit) and the API's own: the policy hears them where they
 * happen, the front end from the loop. */
void
engine_emit(struct engine *e, int torrent_id, enum engine_event ev)
{
	if (e->policy != NULL)
		e->policy->on_event(e->policy_arg, torrent_id, ev);
	if (e->event_cb == NULL)
		return;
	/* Delivered from the loop, never from inside the command or callback that caused it. */
	struct engine_event_note *se = xcalloc(1, sizeof *se);
	se->e = e;
	se->torrent_id = torrent_id;
	se->ev = ev;
	if (event_base_once(e->base, -1, EV_TIMEOUT, engine_deliver_event, se, NULL) < 0) {
		log_error("can't queue the %s event", engine_event_name(ev));
		free(se);
	}
}

static struct torrent *
engine_torrent(struct engine *e, int id, char *err, size_t errlen)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL)
		dp_fail(err, errlen, "no torrent with id %d", id);
	else
		torrent_touch(t);    /* a command changes what clients show */
	return t;
}

/* Asks the policy whether a torrent asked to run starts now (no policy: it does). */
static bool
engine_admit(struct engine *e, int id)
{
	return e->policy == NULL || e->policy->admit(e->policy_arg, id);
}

int
engine_set_policy(struct engine *e, const struct engine_policy *p, void *arg)
{
	if (p != NULL && e->policy != NULL)
		return -1;
	e->policy = p;
	e->policy_arg = p != NULL ? arg : NULL;
	return 0;
}

/* ---- life cycle ---- */

/* What the alternative speed schedule reads and changes (alt_speed.h). */
static const struct dp_config *
engine_alt_speed_live(void *arg)
{
	return engine_settings_live(arg);
}

static int
engine_alt_speed_keep(void *arg, const char *key, const char *value, char *err, size_t errlen)
{
	return engine_settings_keep(arg, key, value, NULL, err, errlen);
}

struct engine *
engine_new(struct event_base *base, const struct dp_config *cfg, char *err, size_t errlen)
{
	/* A peer that goes away mid-write must cost a connection, not the process. */
	struct sigaction sa;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	struct engine *e = xcalloc(1, sizeof *e);
	e->emit = engine_emit;
	e->admit = engine_admit;
	e->started_s = dp_wall_time();
	struct session_settings set;
	/* cfg (or the settings table's defaults) becomes the live settings. */
	if (engine_settings_init(e, cfg, &set, err, errlen) < 0 ||
	    session_init(e, base, &set, engine_settings_live(e), err, errlen) < 0) {
		session_cleanup(e);
		engine_settings_free(e);
		free(e);
		return NULL;
	}
	struct alt_speed_host ash = { .base = base, .live = engine_alt_speed_live,
		.keep = engine_alt_speed_keep, .arg = e };
	e->alt_speed = alt_speed_start(&ash);
	engine_blocklist_reload(e);
	if (engine_settings_live(e)->port_mapping && e->listen_port > 0)
		e->portmap = portmap_new(base, (uint16_t)e->listen_port,
		    e->udp4 != NULL || e->udp6 != NULL, NULL);
	return e;
}

/* Polled every few ms while shutting down: counts kept by torrent.c, no walk over torrents. */
static bool
engine_quiet(struct engine *e)
{
	return e->torrent_busy.tracker_stopping == 0 && e->torrent_busy.disk_jobs == 0 &&
	    e->dying == NULL && disk_pool_pending_jobs(e->disk) == 0;
}

/* The policy's last saves are written: the shutdown is over. */
static void
engine_shutdown_flushed(void *arg)
{
	struct engine *e = arg;
	e->shutdown_done = true;
	if (e->shutdown_cb != NULL) {
		void (*cb)(void *) = e->shutdown_cb;
		e->shutdown_cb = NULL;
		cb(e->shutdown_arg);
	}
}

static void
engine_shutdown_poll(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	(void)fd;
	(void)what;
	task_cb_begin(e->timer_task);
	bool late = dp_now_ms() >= e->shutdown_deadline_ms;
	if (engine_quiet(e) || late) {
		if (late && !engine_quiet(e))
			log_warn("shutdown: deadline passed with trackers or disk jobs still busy");
		event_del(e->shutdown_timer);
		if (e->policy != NULL)
			e->policy->flush(e->policy_arg, engine_shutdown_flushed, e);
		else
			engine_shutdown_flushed(e);
	}
	task_cb_end(e->timer_task);
}

void
engine_shutdown(struct engine *e, unsigned deadline_ms, void (*done)(void *arg), void *arg)
{
	if (e->shutting_down) {
		if (done != NULL && e->shutdown_done)
			done(arg);
		else if (done != NULL) {
			e->shutdown_cb = done;
			e->shutdown_arg = arg;
		}
		return;
	}
	e->shutting_down = true;
	e->shutdown_cb = done;
	e->shutdown_arg = arg;
	e->shutdown_deadline_ms = dp_now_ms() + deadline_ms + 500;
	log_info("shutting down");
	if (e->policy != NULL)
		e->policy->shutdown_begin(e->policy_arg);
	size_t unsynced = 0;
	for (struct torrent *t = e->torrents; t != NULL; t = t->next) {
		torrent_stop(t, false);
		/* What this run wrote is not synced (issue 19: on a VM an fsync makes the host
		 * flush the disk image's cache, 0.3-0.5 s per GiB): the system writes it out, and a
		 * resume file claiming it says so, with the boot id (resume.h). */
		if (t->unsynced && t->have.count > 0 && t->state != ENGINE_TORRENT_ERROR)
			unsynced++;
	}
	if (unsynced > 0)
		log_info("shutting down: the data %zu torrent%s wrote is left to the system to "
		    "write out (no sync at exit)", unsynced, unsynced == 1 ? "" : "s");
	while (e->pending != NULL)
		peer_close(e->pending, "shutting down");
	if (e->listener4)
		evconnlistener_disable(e->listener4);
	if (e->listener6)
		evconnlistener_disable(e->listener6);
	/* the gateways unmap meanwhile, on the port mapping thread */
	portmap_stop(e->portmap);
	e->shutdown_timer = event_new(e->base, -1, EV_PERSIST, engine_shutdown_poll, e);
	struct timeval tv = { 0, ENGINE_SHUTDOWN_POLL_MS * 1000 };
	event_add(e->shutdown_timer, &tv);
}

static void
engine_free_done(void *arg)
{
	struct engine *e = arg;
	event_base_loopbreak(e->base);
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	if (!e->shutting_down)
		engine_shutdown(e, 3000, engine_free_done, e);
	else if (!e->shutdown_done)
		e->shutdown_cb = engine_free_done, e->shutdown_arg = e;
	if (!e->shutdown_done)
		event_base_dispatch(e->base);
	if (e->policy != NULL) {
		const struct engine_policy *p = e->policy;
		e->policy = NULL;
		p->free(e->policy_arg);
	}
	portmap_free(e->portmap);
	e->portmap = NULL;
	alt_speed_stop(&e->alt_speed);
	session_cleanup(e);
	engine_blocklist_free(e);
	engine_settings_free(e);
	free(e);
}

void
engine_set_event_cb(struct engine *e,
    void (*cb)(struct engine *e, int torrent_id, enum engine_event ev, void *arg), void *arg)
{
	e->event_cb = cb;
	e->event_arg = arg;
}

/* ---- adding ---- */

int
engine_add_metainfo(struct engine *e, struct metainfo *mi, const struct engine_add_opts *opts,
    int *id_out, char *err, size_t errlen)
{
	if (e->shutting_down) {
		metainfo_free(mi);
		return dp_fail(err, errlen, "the engine is shutting down");
	}
	struct torrent *old = session_find_by_hash(e, mi->info_hash);
	if (old != NULL) {
		if (id_out != NULL)
			*id_out = old->id;
		/* A magnet still fetching: the file's info dictionary ends the wait for peers. */
		char why[300];
		if (old->md != NULL && !old->removing && mi->info_raw != NULL &&
		    metadata_fetch_supply(old, mi->info_raw, mi->info_len, why, sizeof why) == 0)
			dp_fail(err, errlen, "%s: already added (id %d) as a magnet; the torrent "
			    "file supplied its metadata", mi->name, old->id);
		else if (old->md != NULL && !old->removing && mi->info_raw != NULL)
			dp_fail(err, errlen, "%s: already added (id %d) as a magnet; the torrent "
			    "file's metadata was not used: %s", mi->name, old->id, why);
		else
			dp_fail(err, errlen, "%s: already added (id %d)", mi->name, old->id);
		metainfo_free(mi);
		return -1;
	}
	const char *dir = opts != NULL && opts->save_dir != NULL ? opts->save_dir :
	    e->set.download_dir;
	struct torrent *t = session_new_torrent(e, mi, dir, opts, err, errlen);
	if (t == NULL) {
		metainfo_free(mi);
		return -1;
	}
	if (id_out != NULL)
		*id_out = t->id;
	/* A restart's 10,000 are one line of the session's ("N torrents loaded"). */
	log_msg(opts != NULL && opts->restored ? DP_LOG_DEBUG : DP_LOG_INFO, "added %s (%s, %u "
	    "pieces) in %s", mi->name, mi->info_hash_hex, mi->piece_count, dir);
	engine_emit(e, t->id, ENGINE_EVENT_ADDED);
	if (opts == NULL || !opts->restored)
		e->files_added += t->mi->file_count;
	/* With a session directory the queue decides whether it runs now. */
	if ((opts == NULL || !opts->paused) && engine_admit(e, t->id))
		torrent_start(t);
	return 0;
}

int
engine_add_torrent_file(struct engine *e, const char *path, const struct engine_add_opts *opts,
    int *id_out, char *err, size_t errlen)
{
	char why[256];
	struct metainfo *mi = metainfo_load(path, why, sizeof why);
	if (mi == NULL)
		return dp_fail(err, errlen, "%s", why);
	return engine_add_metainfo(e, mi, opts, id_out, err, errlen);
}

int
engine_add_torrent_data(struct engine *e, const uint8_t *buf, size_t len,
    const struct engine_add_opts *opts, int *id_out, char *err, size_t errlen)
{
	char why[256];
	struct metainfo *mi = metainfo_parse(buf, len, why, sizeof why);
	if (mi == NULL)
		return dp_fail(err, errlen, "%s", why);
	return engine_add_metainfo(e, mi, opts, id_out, err, errlen);
}

int
engine_add_magnet(struct engine *e, const char *uri, const struct engine_add_opts *opts,
    int *id_out, char *err, size_t errlen)
{
	char why[256];
	struct magnet *m = magnet_parse(uri, why, sizeof why);
	if (m == NULL)
		return dp_fail(err, errlen, "%s", why);
	if (e->shutting_down) {
		magnet_free(m);
		return dp_fail(err, errlen, "the engine is shutting down");
	}
	struct torrent *old = session_find_by_hash(e, m->info_hash);
	if (old != NULL) {
		if (id_out != NULL)
			*id_out = old->id;
		dp_fail(err, errlen, "%s: already added (id %d)", m->info_hash_hex, old->id);
		magnet_free(m);
		return -1;
	}
	/* A placeholder metainfo until ut_metadata brings the info dictionary (metadata_fetch.c). */
	struct metainfo *mi = metadata_placeholder_metainfo(m);
	const char *dir = opts != NULL && opts->save_dir != NULL ? opts->save_dir :
	    e->set.download_dir;
	struct engine_add_opts o = { 0 };
	if (opts != NULL)
		o = *opts;
	o.skip_check = false;    /* there is nothing to trust before the metadata */
	struct torrent *t = session_new_torrent(e, mi, dir, &o, err, errlen);
	if (t == NULL) {
		metainfo_free(mi);
		magnet_free(m);
		return -1;
	}
	t->md = metadata_fetch_new(t);
	metadata_fetch_set_uri(t->md, uri);
	struct dp_buf hints;
	dp_buf_init(&hints);
	for (size_t i = 0; i < m->peer_count; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (sockaddr_parse(m->peers[i], &ss, &len)) {
			torrent_add_known_peer(t, (struct sockaddr *)&ss, len);
			char a[64];
			sockaddr_format((struct sockaddr *)&ss, a, sizeof a);
			if (i < TORRENT_MAGNET_PEERS_MAX)
				dp_buf_printf(&hints, "%s\n", a);
		} else {
			log_warn("%s: magnet peer '%s' is not ADDR:PORT; ignored", mi->name, m->peers[i]);
		}
	}
	if (hints.len > 0)
		t->magnet_peers = xasprintf("%.*s", (int)hints.len, (const char *)hints.data);
	dp_buf_free(&hints);
	if (id_out != NULL)
		*id_out = t->id;
	log_info("added magnet %s (%s, %zu tracker%s, %zu peer%s) in %s", mi->name,
	    mi->info_hash_hex, m->tracker_count, m->tracker_count == 1 ? "" : "s", m->peer_count,
	    m->peer_count == 1 ? "" : "s", dir);
	magnet_free(m);
	engine_emit(e, t->id, ENGINE_EVENT_ADDED);
	if ((opts == NULL || !opts->paused) && engine_admit(e, t->id))
		torrent_start(t);
	return 0;
}

/* ---- commands ---- */

int
engine_torrent_start(struct engine *e, int id, char *err, size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	if (engine_admit(e, t->id))
		torrent_start(t);
	return 0;
}

int
engine_torrent_stop(struct engine *e, int id, char *err, size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	torrent_stop(t, true);
	return 0;
}

int
engine_torrent_remove(struct engine *e, int id, bool delete_data, char *err, size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	torrent_remove(t, delete_data);
	return 0;
}

int
engine_torrent_recheck(struct engine *e, int id, char *err, size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	if (t->md != NULL)
		return dp_fail(err, errlen, "%s: no metadata yet, nothing to check", t->mi->name);
	torrent_recheck(t);
	return 0;
}

int
engine_torrent_reannounce(struct engine *e, int id, char *err, size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	if (t->announce == NULL && !t->discovering)
		return dp_fail(err, errlen, "%s has no trackers", t->mi->name);
	if (!torrent_is_active(t))
		return dp_fail(err, errlen, "%s is not running", t->mi->name);
	if (t->announce != NULL)
		announce_sched_reannounce(t->announce);
	if (t->discovering)
		discovery_reannounce(e->disc, t->mi->info_hash);
	return 0;
}

int
engine_torrent_set_file_priority(struct engine *e, int id, size_t file, enum engine_prio prio,
    char *err, size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	if (file >= t->mi->file_count)
		return dp_fail(err, errlen, "%s has no file %zu", t->mi->name, file);
	if ((unsigned)prio > ENGINE_PRIO_HIGH)
		return dp_fail(err, errlen, "bad priority %d", (int)prio);
	torrent_file_priority(t, file, prio);
	return 0;
}

int
engine_torrent_set_file_wanted(struct engine *e, int id, size_t file, bool wanted, char *err,
    size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	if (file >= t->mi->file_count)
		return dp_fail(err, errlen, "%s has no file %zu", t->mi->name, file);
	enum engine_prio p = wanted ? (enum engine_prio)t->file_level[file] : ENGINE_PRIO_SKIP;
	if (t->file_prio[file] != (uint8_t)p)
		torrent_file_priority(t, file, p);
	return 0;
}

int
engine_torrent_set_file_level(struct engine *e, int id, size_t file, enum engine_prio level,
    char *err, size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	if (file >= t->mi->file_count)
		return dp_fail(err, errlen, "%s has no file %zu", t->mi->name, file);
	if (level < ENGINE_PRIO_LOW || level > ENGINE_PRIO_HIGH)
		return dp_fail(err, errlen, "bad priority level %d", (int)level);
	torrent_file_level(t, file, level);
	return 0;
}

int
engine_torrent_set_sequential(struct engine *e, int id, bool on, char *err, size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	torrent_set_sequential(t, on);
	return 0;
}

int
engine_torrent_set_labels(struct engine *e, int id, const char *labels, char *err, size_t errlen)
{
	size_t n = strlen(labels);
	if (n >= ENGINE_LABELS_MAX)
		return dp_fail(err, errlen, "labels are too long (at most %d bytes in all)",
		    ENGINE_LABELS_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)labels[i];
		if (c < 0x20 || c == 0x7f)
			return dp_fail(err, errlen, "a label has a control character");
		if (c == ',' && (i == 0 || labels[i - 1] == ',' || i + 1 == n))
			return dp_fail(err, errlen, "a label is empty");
	}
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	free(t->labels);
	t->labels = n > 0 ? xstrdup(labels) : NULL;
	return 0;
}

int
engine_torrent_set_seed_idle(struct engine *e, int id, int mode, int limit_min, char *err,
    size_t errlen)
{
	if (mode > ENGINE_IDLE_UNLIMITED)
		return dp_fail(err, errlen, "seedIdleMode must be 0 (global), 1 (single) or 2 "
		    "(unlimited)");
	if (limit_min > ENGINE_IDLE_LIMIT_MAX)
		return dp_fail(err, errlen, "the idle seeding limit is at most %d minutes",
		    ENGINE_IDLE_LIMIT_MAX);
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	if (mode >= 0)
		t->idle.mode = mode;
	if (limit_min >= 0)
		t->idle.limit_min = limit_min;
	torrent_idle_changed(t);
	return 0;
}

int
engine_torrent_set_rate_limits(struct engine *e, int id, uint64_t down_bps, uint64_t up_bps,
    char *err, size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	uint64_t now = dp_now_ms();
	bw_bucket_set_rate(&t->down_bucket, down_bps, now);
	bw_bucket_set_rate(&t->up_bucket, up_bps, now);
	return 0;
}

int
engine_torrent_set_limits(struct engine *e, int id, int max_peers, int upload_slots, char *err,
    size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	if (max_peers < 0 || upload_slots < 0)
		return dp_fail(err, errlen, "limits must not be negative");
	t->max_peers = max_peers;
	t->upload_slots = upload_slots;
	return 0;
}

int
engine_torrent_add_peer(struct engine *e, int id, const char *addr_port, char *err,
    size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	struct sockaddr_storage ss;
	socklen_t len;
	if (!sockaddr_parse(addr_port, &ss, &len))
		return dp_fail(err, errlen, "bad peer address '%s' (want ADDR:PORT)", addr_port);
	if (session_is_self(e, (struct sockaddr *)&ss))
		return dp_fail(err, errlen, "%s is our own listening address", addr_port);
	if (!sockaddr_is_dialable((struct sockaddr *)&ss))
		return dp_fail(err, errlen, "%s cannot be a peer (port 0, unspecified, multicast or "
		    "broadcast)", addr_port);
	torrent_add_known_peer(t, (struct sockaddr *)&ss, len);
	torrent_connect_peers(t, dp_now_ms());
	return 0;
}

int
engine_peer_disconnect(struct engine *e, int id, const char *addr_port, bool ban, char *err,
    size_t errlen)
{
	struct torrent *t = engine_torrent(e, id, err, errlen);
	if (t == NULL)
		return -1;
	struct sockaddr_storage ss;
	socklen_t len;
	bool with_port = true;
	if (!sockaddr_parse(addr_port, &ss, &len)) {
		/* No port: every connection from the address. */
		char buf[80];
		snprintf(buf, sizeof buf, strchr(addr_port, ':') ? "[%s]:1" : "%s:1", addr_port);
		if (!sockaddr_parse(buf, &ss, &len))
			return dp_fail(err, errlen, "bad peer address '%s'", addr_port);
		with_port = false;
	}
	int n = 0;
	struct peer *p = t->peers;
	while (p != NULL) {
		struct peer *next = p->next;
		if (sockaddr_equal((struct sockaddr *)&p->addr, (struct sockaddr *)&ss, with_port)) {
			peer_close(p, ban ? "banned by the user" : "disconnected by the user");
			n++;
		}
		p = next;
	}
	if (ban) {
		if (!with_port && ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = 0;
		session_ban(e, (struct sockaddr *)&ss, "banned by the user");
	} else if (n == 0) {
		return dp_fail(err, errlen, "no peer %s on %s", addr_port, t->mi->name);
	}
	return 0;
}

/* ---- snapshots ---- */

int
engine_torrent_get_times(struct engine *e, int id, struct engine_torrent_times *out)
{
	memset(out, 0, sizeof *out);
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL)
		return -1;
	if (t->md == NULL) {
		if (t->mi->has_creation_date)
			out->date_created = t->mi->creation_date;
		if (t->mi->created_by != NULL)
			snprintf(out->creator, sizeof out->creator, "%s", t->mi->created_by);
	}
	if (e->policy != NULL)
		e->policy->get_times(e->policy_arg, id, out);
	return 0;
}

uint64_t
engine_hash_count(struct engine *e)
{
	return disk_pool_hash_count(e->disk);
}

int
engine_torrent_get(struct engine *e, int id, struct engine_torrent_stats *out)
{
	struct torrent *t = session_find_torrent(e, id);
	if (t == NULL)
		return -1;
	torrent_fill_stats(t, out);
	out->queue_position = e->policy != NULL ? e->policy->queue_position(e->policy_arg, id) : -1;
	return 0;
}

size_t
engine_torrents(struct engine *e, struct engine_torrent_stats **out)
{
	size_t n = 0;
	for (struct torrent *t = e->torrents; t != NULL; t = t->next)
		n++;
	*out = NULL;
	if (n == 0)
		return 0;
	*out = xcalloc(n, sizeof **out);
	size_t i = 0;
	for (struct torrent *t = e->torrents; t != NULL; t = t->next) {
		torrent_fill_stats(t, &(*out)[i]);
		/* O(1) each: the policy keeps positions (renumbered once after a move) */
		(*out)[i++].queue_position = e->policy != NULL ?
		    e->policy->queue_position(e->policy_arg, t->id) : -1;
	}
	return n;
}

size_t
engine_peers(struct engine *e, int id, struct engine_peer_info **out)
{
	struct torrent *t = session_find_torrent(e, id);
	*out = NULL;
	size_t nws = t != NULL ? webseed_set_count(t->ws) : 0;
	if (t == NULL || t->npeers + nws == 0)
		return 0;
	struct engine_peer_info *a = xcalloc((size_t)t->npeers + nws, sizeof *a);
	size_t n = 0;
	uint64_t now_us = dp_now_us();
	for (struct peer *p = t->peers; p != NULL && n < (size_t)t->npeers; p = p->next) {
		struct engine_peer_info *pi = &a[n++];
		snprintf(pi->addr, sizeof pi->addr, "%s", p->addr_str);
		snprintf(pi->client, sizeof pi->client, "%s", p->client);
		pi->am_choking = p->am_choking;
		pi->am_interested = p->am_interested;
		pi->peer_choking = p->peer_choking;
		pi->peer_interested = p->peer_interested;
		pi->snubbed = p->snubbed;
		pi->incoming = p->incoming;
		pi->fast_ext = p->fast;
		pi->ext_protocol = p->ext;
		pi->seed = p->has_all;
		pi->optimistic = p->optimistic;
		pi->handshake_done = p->handshake_done;
		pi->utp = p->tinfo.utp;
		pi->encrypted = p->tinfo.encrypted;
		if (p->connected)
			snprintf(pi->transport, sizeof pi->transport, "%s",
			    transport_info_name(&p->tinfo));
		pi->progress = p->has_all ? 1.0 : t->mi->piece_count ?
		    (double)p->has.count / t->mi->piece_count : 0.0;
		pi->down_rate = peer_down_rate(p);
		pi->up_rate = peer_up_rate(p);
		pi->downloaded = p->downloaded;
		pi->uploaded = p->uploaded;
		pi->requests_out = p->nreqs;
		pi->requests_in = p->ninreqs;
		pi->queue_target = p->queue_target;
		pi->connected_s = (int64_t)((now_us - p->connected_us) / 1000000u);
	}
	for (size_t i = 0; i < nws; i++) {
		struct webseed_info wi;
		webseed_set_info(t->ws, i, &wi);
		struct engine_peer_info *pi = &a[n++];
		pi->webseed = true;
		snprintf(pi->addr, sizeof pi->addr, "%s", wi.url);
		if (wi.disabled)
			snprintf(pi->client, sizeof pi->client, "web seed, off: %s", wi.reason);
		else
			snprintf(pi->client, sizeof pi->client, "web seed");
		snprintf(pi->transport, sizeof pi->transport, "HTTP");
		pi->seed = true;
		pi->progress = 1.0;
		pi->am_interested = !wi.disabled;
		pi->downloaded = wi.downloaded;
		pi->down_rate = wi.down_rate;
		pi->requests_out = wi.inflight;
	}
	*out = a;
	return n;
}

size_t
engine_files(struct engine *e, int id, struct engine_file_info **out)
{
	struct torrent *t = session_find_torrent(e, id);
	*out = NULL;
	if (t == NULL || t->mi->file_count == 0)
		return 0;
	const struct metainfo *mi = t->mi;
	struct engine_file_info *a = xcalloc(mi->file_count, sizeof *a);
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		a[i].path = xstrdup(f->path);
		a[i].display_path = xstrdup(f->display_path ? f->display_path : f->path);
		a[i].size = f->length;
		a[i].priority = (enum engine_prio)t->file_prio[i];
		a[i].level = (enum engine_prio)t->file_level[i];
		a[i].pad = f->pad;
		if (f->length == 0)
			continue;
		uint32_t first = (uint32_t)(f->offset / mi->piece_length);
		uint32_t last = (uint32_t)((f->offset + f->length - 1) / mi->piece_length);
		for (uint32_t k = first; k <= last && k < mi->piece_count; k++) {
			if (!bitfield_get(&t->have, k))
				continue;
			uint64_t ps = (uint64_t)k * mi->piece_length;
			uint64_t pe = ps + metainfo_piece_size(mi, k);
			uint64_t s = DP_MAX(ps, f->offset), en = DP_MIN(pe, f->offset + f->length);
			if (en > s)
				a[i].done += en - s;
		}
	}
	*out = a;
	return mi->file_count;
}

void
engine_files_free(struct engine_file_info *files, size_t n)
{
	if (files == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(files[i].path);
		free(files[i].display_path);
	}
	free(files);
}

static enum engine_tracker_status
engine_tracker_status_of(enum tracker_status s)
{
	switch (s) {
	case TRACKER_IDLE: return ENGINE_TRACKER_IDLE;
	case TRACKER_DNS: return ENGINE_TRACKER_DNS;
	case TRACKER_CONNECTING: return ENGINE_TRACKER_CONNECTING;
	case TRACKER_ANNOUNCING: return ENGINE_TRACKER_ANNOUNCING;
	case TRACKER_OK: return ENGINE_TRACKER_OK;
	case TRACKER_ERROR: return ENGINE_TRACKER_ERROR;
	}
	return ENGINE_TRACKER_IDLE;
}

const char *
engine_tracker_status_name(enum engine_tracker_status s)
{
	switch (s) {
	case ENGINE_TRACKER_IDLE: return tracker_status_name(TRACKER_IDLE);
	case ENGINE_TRACKER_DNS: return tracker_status_name(TRACKER_DNS);
	case ENGINE_TRACKER_CONNECTING: return tracker_status_name(TRACKER_CONNECTING);
	case ENGINE_TRACKER_ANNOUNCING: return tracker_status_name(TRACKER_ANNOUNCING);
	case ENGINE_TRACKER_OK: return tracker_status_name(TRACKER_OK);
	case ENGINE_TRACKER_ERROR: return tracker_status_name(TRACKER_ERROR);
	}
	return "?";
}

int
engine_torrent_dht(struct engine *e, int id, struct engine_tracker_info *out)
{
	struct torrent *t = session_find_torrent(e, id);
	struct dht_torrent_info info;
	if (t == NULL || !discovery_dht_info(e->disc, t->mi->info_hash, &info))
		return -1;
	memset(out, 0, sizeof *out);
	snprintf(out->url, sizeof out->url, "DHT");
	out->tier = -1;
	out->seeders = out->leechers = out->downloaded = -1;
	out->last_announce = info.last_lookup;
	out->next_announce = info.next_lookup;
	out->last_peer_count = info.peers_last;
	bool looked = !info.searching && info.last_lookup != 0;
	if (info.searching)
		out->status = ENGINE_TRACKER_ANNOUNCING;
	else if (!looked)
		out->status = ENGINE_TRACKER_IDLE;
	else
		out->status = info.nodes_last == 0 ? ENGINE_TRACKER_ERROR : ENGINE_TRACKER_OK;
	if (looked && info.nodes_last == 0)
		snprintf(out->last_error, sizeof out->last_error, "no DHT node answered");
	else if (looked)
		snprintf(out->last_warning, sizeof out->last_warning,
		    "%zu peers from %zu nodes, announced to %zu", info.peers_last, info.nodes_last,
		    info.announced_last);
	return 0;
}

size_t
engine_trackers(struct engine *e, int id, struct engine_tracker_info **out)
{
	struct torrent *t = session_find_torrent(e, id);
	*out = NULL;
	if (t == NULL || t->announce == NULL)
		return 0;
	size_t cap = announce_sched_rows(t->announce);
	if (cap == 0)
		return 0;
	struct tracker_info *info = xcalloc(cap, sizeof *info);
	size_t n = announce_sched_info(t->announce, info, cap);
	if (n > 0) {
		struct engine_tracker_info *a = xcalloc(n, sizeof *a);
		for (size_t i = 0; i < n; i++) {
			snprintf(a[i].url, sizeof a[i].url, "%s", info[i].url);
			a[i].tier = info[i].tier;
			a[i].status = engine_tracker_status_of(info[i].status);
			snprintf(a[i].last_error, sizeof a[i].last_error, "%s", info[i].last_error);
			snprintf(a[i].last_warning, sizeof a[i].last_warning, "%s",
			    info[i].last_warning);
			a[i].last_announce = info[i].last_announce;
			a[i].next_announce = info[i].next_announce;
			a[i].seeders = info[i].seeders;
			a[i].leechers = info[i].leechers;
			a[i].downloaded = info[i].downloaded;
			a[i].last_peer_count = info[i].last_peer_count;
			a[i].ipv6 = info[i].ipv6;
			a[i].last_announce_start = info[i].last_announce_start;
			a[i].last_error_refused = info[i].last_error_refused;
			snprintf(a[i].scrape_url, sizeof a[i].scrape_url, "%s", info[i].scrape_url);
			a[i].last_scrape_start = info[i].last_scrape_start;
			a[i].last_scrape_end = info[i].last_scrape_end;
			a[i].last_scrape_ok = info[i].last_scrape_ok;
			snprintf(a[i].last_scrape_error, sizeof a[i].last_scrape_error, "%s",
			    info[i].last_scrape_error);
		}
		*out = a;
	}
	free(info);
	return n;
}

int
engine_pieces(struct engine *e, int id, struct engine_piece_map *out)
{
	struct torrent *t = session_find_torrent(e, id);
	memset(out, 0, sizeof *out);
	if (t == NULL)
		return -1;
	uint32_t n = t->mi->piece_count;
	out->count = n;
	out->state = xcalloc(n ? n : 1, 1);
	out->availability = xcalloc(n ? n : 1, sizeof *out->availability);
	for (uint32_t i = 0; i < n; i++) {
		out->state[i] = bitfield_get(&t->have, i) ? 2 :
		    picker_priority(t->pk, i) == PRIO_SKIP ? 3 : (uint8_t)picker_piece_state(t->pk, i);
		uint32_t av = picker_availability(t->pk, i);
		out->availability[i] = (uint16_t)DP_MIN(av, 65535u);
	}
	return 0;
}

void
engine_piece_map_free(struct engine_piece_map *m)
{
	free(m->state);
	free(m->availability);
	memset(m, 0, sizeof *m);
}

size_t
engine_log_since(struct engine *e, uint64_t after, struct dp_log_line *out, size_t max)
{
	(void)e;
	return log_copy_since(after, out, max);
}

void
engine_global(struct engine *e, struct engine_global_stats *out)
{
	uint64_t now = dp_now_ms();
	memset(out, 0, sizeof *out);
	out->down_rate = bw_meter_rate(&e->down_meter, now);
	out->up_rate = bw_meter_rate(&e->up_meter, now);
	out->downloaded = e->downloaded;
	out->uploaded = e->uploaded;
	int64_t secs = dp_wall_time() - e->started_s;
	out->current = (struct engine_totals){ .uploaded = e->uploaded,
		.downloaded = e->downloaded, .files_added = e->files_added,
		.seconds_active = secs > 0 ? secs : 0, .session_count = 1 };
	const struct engine_totals *b = &e->totals_before;
	out->cumulative = (struct engine_totals){ .uploaded = b->uploaded + e->uploaded,
		.downloaded = b->downloaded + e->downloaded,
		.files_added = b->files_added + e->files_added,
		.seconds_active = b->seconds_active + out->current.seconds_active,
		.session_count = b->session_count + 1 };
	out->down_limit = e->down_bucket.rate;
	out->up_limit = e->up_bucket.rate;
	out->alt_speed = engine_settings_live(e)->alt_speed_enabled;
	out->connections = e->connections;
	out->max_connections = e->set.max_connections;
	out->max_peers_per_torrent = e->set.max_peers_per_torrent;
	out->upload_slots = e->set.upload_slots;
	out->listen_port = e->listen_port > 0 ? e->listen_port : 0;
	/* from the counts kept per state: an attached UI asks every refresh, with 10,000 torrents */
	for (int st = 0; st < ENGINE_TORRENT_STATE_COUNT; st++)
		out->torrents += (int)e->torrent_states[st];
	out->torrents_active = (int)(e->torrent_states[ENGINE_TORRENT_DOWNLOADING] +
	    e->torrent_states[ENGINE_TORRENT_SEEDING] + e->torrent_states[ENGINE_TORRENT_METADATA] +
	    e->torrent_states[ENGINE_TORRENT_CHECKING]);
	out->torrents_stopped = (int)(e->torrent_states[ENGINE_TORRENT_STOPPED] +
	    e->torrent_states[ENGINE_TORRENT_ERROR]);
	out->free_space = e->free_space;
	snprintf(out->download_dir, sizeof out->download_dir, "%s", e->set.download_dir);
	out->disk_pending_write_bytes = disk_pool_pending_write_bytes(e->disk);
	out->disk_pending_jobs = disk_pool_pending_jobs(e->disk);
	memcpy(out->peer_id, e->peer_id, 20);
	out->peer_id[20] = '\0';
	out->dht_nodes = discovery_dht_nodes(e->disc);
	out->lsd = discovery_lsd_on(e->disc);
	out->pex = e->set.pex;
}

/* ---- blocking work for front ends ---- */

struct engine_blocking {
	struct disk_job job;
	char what[160];
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

static void
engine_blocking_work(struct disk_job *job)
{
	struct engine_blocking *b = job->arg;
	b->work(b->arg);
}

static void
engine_blocking_done(struct disk_job *job, void *arg)
{
	struct engine_blocking *b = arg;
	(void)job;
	b->done(b->arg);
	free(b);
}

void
engine_run_blocking(struct engine *e, const char *what, void (*work)(void *arg),
    void (*done)(void *arg), void *arg)
{
	struct engine_blocking *b = xcalloc(1, sizeof *b);
	snprintf(b->what, sizeof b->what, "%s", what);
	b->work = work;
	b->done = done;
	b->arg = arg;
	b->job.op = DISK_OP_CALL;
	b->job.call = engine_blocking_work;
	b->job.what = b->what;
	b->job.done = engine_blocking_done;
	b->job.arg = b;
	disk_pool_submit(e->disk, &b->job);
}
