/* attach_server.c: the daemon's side of `downpour attach`: accepts UIs of our user on the
 * session's attach socket, answers their requests from engine.h (the torrent list and the tasks
 * as deltas against what each UI was last sent, the detail tabs whole), runs their commands
 * through client_local_run (what touches the file system, Tab completion and reading a
 * .torrent, on the disk pool), and drops a UI that breaks the protocol or stops reading. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "attach_delta.h"
#include "attach_proto.h"
#include "accept_backoff.h"
#include "attach_server.h"
#include "client_follow.h"
#include "client_local.h"
#include "log.h"
#include "metainfo.h"
#include "monitor_server.h"
#include "path_complete.h"
#include "util.h"

/* A UI says hello at once; a connection that has not within this long is not a UI. */
#define ATTACH_HELLO_S 10
#define ATTACH_FLOOD_LOG_MS 10000
/* New torrent rows are read for at most this long per answer (a row costs ~15-40 us): a first
 * screen of 10,000 comes in several answers, each a short callback, so the loop serves peers
 * in between and the UI draws what it has. */
#define ATTACH_LIST_SLICE_US 6000
/* Known rows re-read per answer although nothing marked them changed (a slow sweep: the
 * engine marks every change but a tracker's status text; each row costs ~5 us). */
#define ATTACH_SWEEP 16
#define ATTACH_LOG_MAX 256
/* The tasks answer reads the registry (20,000 tasks at 10,000 torrents: 40-700 ms in one go) a
 * slice of at most this long per callback; the client's later requests wait behind it. */
#define ATTACH_TASKS_SLICE_US 4000
/* What a client may send while an answer of its waits for the disk pool (a UI sends nothing:
 * it waits for the answer); past it the client is dropped. */
#define ATTACH_WAITING_INPUT_MAX (4 * (ATTACH_MAX_REQUEST + ATTACH_FRAME_HEADER))

struct attach_job;
struct attach_tasks_job;

struct attach_client {
	struct attach_server *s;
	struct bufferevent *bev;
	struct engine_task *task;
	bool hello;
	struct event *hello_deadline;
	uint64_t hello_armed_ms;
	bool hello_extended;           /* the deadline came late once and was given another */
	bool listed;                   /* has had a torrent list (else the next one resets) */
	bool full;                     /* the next list answer walks every torrent */
	struct client_follow follow;   /* what changed since the last list answer */
	bool tasks_listed;
	size_t sweep;
	struct attach_delta torrents, tasks;
	uint64_t requests;
	uint64_t answer_cpu_us;        /* thread CPU spent answering (the figures of ui_attach.sh) */
	/* a request whose answer waits for the disk pool: the requests after it wait too, so
	 * answers keep their order */
	struct attach_job *busy;
	/* the tasks answer in slices: the requests after it wait the same way */
	struct attach_tasks_job *tasks_job;
	struct attach_client *next;
};

/* A tasks answer under way: the rows that changed so far, and where the walk stands. */
struct attach_tasks_job {
	int64_t id;
	bool resetting;
	struct engine_task_walk *walk;
	struct dp_buf rows, st, dy;
	struct event *ev;              /* the next slice, on a zero timeout */
};

/* A request that touches the file system (Tab completion, reading the .torrent a UI names): its
 * work runs on the disk pool, so a slow or hung mount never stops the loop, and its answer is
 * written on the loop when the work is done. */
struct attach_job {
	struct attach_client *c;       /* NULL once the client is gone: nobody to answer */
	int64_t id;
	void (*work)(struct attach_job *j);                      /* a worker: touches only j */
	void (*answer)(struct attach_job *j, struct dp_buf *out);   /* the loop: c is there */
	/* Tab completion */
	bool has_cwd;
	char cwd[ATTACH_CMD_TEXT_MAX], buf[ATTACH_CMD_TEXT_MAX], hint[1024];
	int n;
	/* adding a .torrent file: its path, then its bytes or why they could not be read */
	char *path;
	uint8_t *data;
	size_t len;
	char err[512];
};

struct attach_server {
	struct event_base *base;
	struct engine *e;
	struct evconnlistener *listener;
	char *path;
	struct engine_task *task;
	struct attach_client *clients;
	int nclients, max_clients;
	uint64_t flood_logged_ms;
	unsigned refused, evicted, silent;   /* since the last log line */
	void (*stop_daemon)(void *arg);
	void *stop_arg;
	uint64_t tasks_slice_us;       /* ATTACH_TASKS_SLICE_US but in tests */
	uint64_t list_slice_us;        /* ATTACH_LIST_SLICE_US but in tests */
};

static void
attach_tasks_job_free(struct attach_tasks_job *j)
{
	if (j == NULL)
		return;
	if (j->ev != NULL)
		event_free(j->ev);
	engine_task_walk_free(&j->walk);
	dp_buf_free(&j->rows);
	dp_buf_free(&j->st);
	dp_buf_free(&j->dy);
	free(j);
}

static void
attach_client_free(struct attach_client *c, const char *why)
{
	struct attach_server *s = c->s;
	for (struct attach_client **pp = &s->clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->nclients--;
	if (c->busy != NULL)
		c->busy->c = NULL;
	attach_tasks_job_free(c->tasks_job);
	event_free(c->hello_deadline);
	engine_task_done(c->task, "%s after %llu request%s", why, (unsigned long long)c->requests,
	    c->requests == 1 ? "" : "s");
	engine_task_release(&c->task);
	bufferevent_free(c->bev);
	attach_delta_free(&c->torrents);
	attach_delta_free(&c->tasks);
	client_follow_free(&c->follow);
	free(c);
}

/* ---- answers ---- */

static void
attach_reply_begin(struct dp_buf *out, int64_t id)
{
	be_enc_dict_begin(out);
	be_enc_cstr(out, "id");
	be_enc_int(out, id);
}

static void
attach_reply_error(struct dp_buf *out, int64_t id, const char *msg)
{
	attach_reply_begin(out, id);
	be_enc_cstr(out, "err");
	be_enc_cstr(out, msg);
	be_enc_end(out);
}

static bool
attach_req_torrent(const struct be_node *req, int *id)
{
	int64_t t;
	if (!attach_get_int(req, "t", &t) || t <= 0 || t > INT32_MAX)
		return false;
	*id = (int)t;
	return true;
}

/* The rows of one answer being built: the buffers reused across rows. */
struct attach_list_pass {
	struct dp_buf rows, gone, st, dy;
	struct engine_torrent_stats ts;
	uint64_t t0_us, budget_us;     /* the answer's start, and how long it may read rows */
	size_t fresh;                  /* rows the UI lacked, sent in this answer */
	bool more;                     /* rows the UI lacks were left for the next answer */
	bool deferred;                 /* known rows were left for the next answer */
};

static bool
attach_list_over(const struct attach_list_pass *p)
{
	return dp_now_us() - p->t0_us >= p->budget_us;
}

/* One torrent's row: sent when its bytes differ from the UI's copy; one that is gone is named
 * in "gone". Still-active rows stay hot (client_follow). */
static void
attach_list_row(struct attach_client *c, struct attach_list_pass *p, int id)
{
	uint64_t key = (uint64_t)id;
	struct attach_delta_slot *sl = attach_delta_find(&c->torrents, key);
	/* before the row is read: past the slice, reading the rest only to drop it cost more
	 * than the slice (a first screen's answer took 17-60 ms); 16 at least, so that an answer
	 * always brings some however slow the loop */
	if (sl == NULL && (p->more || (p->fresh >= 16 && attach_list_over(p)))) {
		p->more = true;
		return;
	}
	if (engine_torrent_get(c->s->e, id, &p->ts) != 0) {
		if (sl != NULL) {
			attach_delta_remove(&c->torrents, key);
			be_enc_int(&p->gone, id);
		}
		client_follow_forget(&c->follow, id);
		return;
	}
	p->st.len = p->dy.len = 0;
	attach_encode_record(&p->st, &attach_torrent_static, &p->ts);
	attach_encode_record(&p->dy, &attach_torrent_dynamic, &p->ts);
	attach_delta_row(&c->torrents, key, &p->st, &p->dy, true, &p->rows);
	if (sl == NULL)
		p->fresh++;
	client_follow_note(&c->follow, &p->ts);
}

/* Every torrent: those the UI lacks (for ATTACH_LIST_SLICE_US at most, then "more"), and the keys it
 * has that are gone. One lookup per torrent: only for the first screen and when the counts
 * disagree. */
static void
attach_list_full(struct attach_client *c, struct attach_list_pass *p)
{
	int *ids;
	size_t n = engine_torrent_ids(c->s->e, &ids);
	attach_delta_begin(&c->torrents);
	for (size_t i = 0; i < n; i++)
		if (attach_delta_seen(&c->torrents, (uint64_t)ids[i]) == NULL)
			attach_list_row(c, p, ids[i]);
	free(ids);
	attach_delta_gone(&c->torrents, &p->gone);
}

/*
 * The torrent list as a delta: after the first screen, the rows of the torrents the engine
 * marked changed (or removed) since this UI's last request, those still active, and a slow
 * sweep, each sent only when its bytes differ from the UI's copy; so a refresh costs the
 * changed torrents, not all of them. When the UI's count and the engine's disagree (a change
 * older than the engine's memory of removals), a full pass puts it right.
 */
static void
attach_answer_list(struct attach_client *c, const struct be_node *req, int64_t id,
    struct dp_buf *out)
{
	struct engine *e = c->s->e;
	int64_t reset = 0;
	attach_get_int(req, "reset", &reset);
	bool resetting = reset != 0 || !c->listed;
	if (resetting) {
		attach_delta_clear(&c->torrents);
		client_follow_reset(&c->follow);
		c->listed = true;
		c->full = true;
	}
	struct attach_list_pass *p = xcalloc(1, sizeof *p);
	p->t0_us = dp_now_us();
	p->budget_us = c->s->list_slice_us;
	if (!c->full) {
		int *due, *removed;
		size_t nremoved;
		size_t n = client_follow_due(&c->follow, e, &due, &removed, &nremoved);
		for (size_t i = 0; i < nremoved; i++)
			if (attach_delta_find(&c->torrents, (uint64_t)removed[i]) != NULL) {
				attach_delta_remove(&c->torrents, (uint64_t)removed[i]);
				be_enc_int(&p->gone, removed[i]);
			}
		/* past the slice, the rest waits for the next answer (asked for at once) */
		for (size_t i = 0; i < n; i++) {
			if (p->deferred || (i % 16 == 15 && attach_list_over(p))) {
				client_follow_defer(&c->follow, due[i]);
				p->deferred = true;
				continue;
			}
			attach_list_row(c, p, due[i]);
		}
		uint64_t sweep[ATTACH_SWEEP];
		size_t ns = attach_delta_keys(&c->torrents, &c->sweep, sweep, ATTACH_SWEEP);
		for (size_t i = 0; i < ns; i++)
			attach_list_row(c, p, (int)sweep[i]);
		free(due);
		free(removed);
	}
	struct engine_global_stats g;
	engine_global(e, &g);
	if (c->full || (size_t)g.torrents != attach_delta_count(&c->torrents))
		attach_list_full(c, p);
	c->full = p->more;

	attach_reply_begin(out, id);
	be_enc_cstr(out, "g");
	attach_encode_record(out, &attach_global_rec, &g);
	be_enc_cstr(out, "gone");
	be_enc_list_begin(out);
	dp_buf_add(out, p->gone.data, p->gone.len);
	be_enc_end(out);
	if (p->more || p->deferred) {
		be_enc_cstr(out, "more");
		be_enc_int(out, 1);
	}
	if (resetting) {
		be_enc_cstr(out, "reset");
		be_enc_int(out, 1);
	}
	be_enc_cstr(out, "rows");
	be_enc_list_begin(out);
	dp_buf_add(out, p->rows.data, p->rows.len);
	be_enc_end(out);
	be_enc_end(out);
	dp_buf_free(&p->rows);
	dp_buf_free(&p->gone);
	dp_buf_free(&p->st);
	dp_buf_free(&p->dy);
	free(p);
}

/* Tasks: a delta like the torrent list. Times go as instants (rounded to 10 ms), so a task that
 * only waits is sent once. The registry is read in slices (attach_tasks_slice_cb): a small one
 * is answered at once, a large one when its last slice is done. */
static void
attach_tasks_visit(const struct engine_task_info *ti, void *arg)
{
	struct attach_tasks_job *j = ((void **)arg)[0];
	struct attach_client *c = ((void **)arg)[1];
	struct engine_task_info t = *ti;
	/* the copy's own instants: now - waited would move with the time the copy took */
	t.age_us = ti->created_us / 10000 * 10000;
	t.waited_us = ti->state_since_us / 10000 * 10000;
	j->st.len = j->dy.len = 0;
	attach_encode_record(&j->st, &attach_task_static, &t);
	attach_encode_record(&j->dy, &attach_task_dynamic, &t);
	/* where it parked, beside the record's fields (the decoder interns them) */
	if (t.where_func != NULL && j->dy.len > 0) {
		j->dy.len--;
		be_enc_cstr(&j->dy, "wf");
		be_enc_cstr(&j->dy, t.where_func);
		be_enc_cstr(&j->dy, "wn");
		be_enc_cstr(&j->dy, t.where_file != NULL ? t.where_file : "?");
		be_enc_end(&j->dy);
	}
	attach_delta_row(&c->tasks, t.id, &j->st, &j->dy, true, &j->rows);
}

/* One slice of the job; true when the walk is done. */
static bool
attach_tasks_step(struct attach_client *c, struct attach_tasks_job *j, uint64_t budget_us)
{
	void *arg[2] = { j, c };
	return engine_task_walk_step(j->walk, budget_us, attach_tasks_visit, arg);
}

/* The answer's frame, once every task was read. */
static void
attach_tasks_reply(struct attach_client *c, struct attach_tasks_job *j, struct dp_buf *out)
{
	attach_reply_begin(out, j->id);
	be_enc_cstr(out, "gone");
	be_enc_list_begin(out);
	attach_delta_gone(&c->tasks, out);
	be_enc_end(out);
	be_enc_cstr(out, "now");
	be_enc_int(out, (int64_t)dp_now_us());
	if (j->resetting) {
		be_enc_cstr(out, "reset");
		be_enc_int(out, 1);
	}
	be_enc_cstr(out, "rows");
	be_enc_list_begin(out);
	dp_buf_add(out, j->rows.data, j->rows.len);
	be_enc_end(out);
	be_enc_end(out);
}

static void attach_client_serve(struct attach_client *c);
static void attach_client_drop(struct attach_client *c, const char *why, const char *what);

/* The next slice of a tasks answer; after the last, the answer and the requests that came
 * meanwhile. */
static void
attach_tasks_slice_cb(evutil_socket_t fd, short what, void *arg)
{
	struct attach_client *c = arg;
	struct attach_tasks_job *j = c->tasks_job;
	(void)fd;
	(void)what;
	engine_task_cb_begin(c->task);
	uint64_t cpu0 = dp_thread_cpu_us();
	bool ended = attach_tasks_step(c, j, c->s->tasks_slice_us);
	if (!ended) {
		c->answer_cpu_us += dp_thread_cpu_us() - cpu0;
		event_add(j->ev, &(struct timeval){ 0, 0 });
		engine_task_cb_end(c->task);
		return;
	}
	c->tasks_job = NULL;
	struct dp_buf out;
	dp_buf_init(&out);
	size_t at = attach_frame_begin(&out);
	attach_tasks_reply(c, j, &out);
	if (out.len - at - ATTACH_FRAME_HEADER > ATTACH_MAX_REPLY) {
		out.len = at + ATTACH_FRAME_HEADER;
		attach_reply_error(&out, j->id, "the answer is too large");
	}
	attach_frame_end(&out, at);
	attach_tasks_job_free(j);
	c->answer_cpu_us += dp_thread_cpu_us() - cpu0;
	evbuffer_add(bufferevent_get_output(c->bev), out.data, out.len);
	engine_task_progress(c->task, 0, out.len);
	dp_buf_free(&out);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > ATTACH_MAX_OUTPUT) {
		char line[96];
		snprintf(line, sizeof line, "does not read its answers (over %u MiB queued)",
		    ATTACH_MAX_OUTPUT >> 20);
		attach_client_drop(c, "does not read its answers", line);
		return;
	}
	engine_task_cb_end(c->task);
	attach_client_serve(c);
}

static void
attach_answer_tasks(struct attach_client *c, const struct be_node *req, int64_t id,
    struct dp_buf *out)
{
	int64_t reset = 0;
	attach_get_int(req, "reset", &reset);
	struct attach_tasks_job *j = xcalloc(1, sizeof *j);
	j->id = id;
	j->resetting = reset != 0 || !c->tasks_listed;
	if (j->resetting) {
		attach_delta_clear(&c->tasks);
		c->tasks_listed = true;
	}
	dp_buf_init(&j->rows);
	dp_buf_init(&j->st);
	dp_buf_init(&j->dy);
	j->walk = engine_task_walk_new(c->s->e, ENGINE_TASK_WALK_ALL, 0);
	attach_delta_begin(&c->tasks);
	if (attach_tasks_step(c, j, c->s->tasks_slice_us)) {
		attach_tasks_reply(c, j, out);
		attach_tasks_job_free(j);
		return;
	}
	j->ev = event_new(c->s->base, -1, 0, attach_tasks_slice_cb, c);
	event_add(j->ev, &(struct timeval){ 0, 0 });
	c->tasks_job = j;
}

/* Peers, files, trackers of one torrent: the whole list (the tab in view, one torrent). */
static void
attach_answer_rows(struct attach_client *c, enum attach_op op, const struct be_node *req,
    int64_t id, struct dp_buf *out)
{
	struct engine *e = c->s->e;
	int t;
	if (!attach_req_torrent(req, &t)) {
		attach_reply_error(out, id, "no torrent given");
		return;
	}
	attach_reply_begin(out, id);
	be_enc_cstr(out, "rows");
	be_enc_list_begin(out);
	if (op == ATTACH_OP_PEERS) {
		struct engine_peer_info *p;
		size_t n = engine_peers(e, t, &p);
		for (size_t i = 0; i < n; i++)
			attach_encode_record(out, &attach_peer_rec, &p[i]);
		free(p);
	} else if (op == ATTACH_OP_FILES) {
		struct engine_file_info *f;
		size_t n = engine_files(e, t, &f);
		for (size_t i = 0; i < n && out->len < ATTACH_MAX_REPLY / 2; i++) {
			be_enc_dict_begin(out);
			be_enc_cstr(out, "d");
			attach_encode_record(out, &attach_file_dynamic, &f[i]);
			be_enc_cstr(out, "s");
			attach_encode_record(out, &attach_file_static, &f[i]);
			be_enc_end(out);
		}
		engine_files_free(f, n);
	} else {
		struct engine_tracker_info *tr;
		size_t n = client_local_trackers(e, t, &tr);
		for (size_t i = 0; i < n; i++)
			attach_encode_record(out, &attach_tracker_rec, &tr[i]);
		free(tr);
	}
	be_enc_end(out);
	be_enc_end(out);
}

static void
attach_answer_pieces(struct attach_client *c, const struct be_node *req, int64_t id,
    struct dp_buf *out)
{
	int t;
	struct engine_piece_map m;
	if (!attach_req_torrent(req, &t) || engine_pieces(c->s->e, t, &m) != 0) {
		attach_reply_error(out, id, "no such torrent");
		return;
	}
	/* a map past the reply's bound is cut (the tab draws what it has) */
	uint32_t count = DP_MIN(m.count, (uint32_t)(ATTACH_MAX_REPLY / 4));
	attach_reply_begin(out, id);
	be_enc_cstr(out, "av");
	uint8_t *av = xmalloc((size_t)count * 2 + 1);
	for (uint32_t i = 0; i < count; i++) {
		av[2 * i] = (uint8_t)(m.availability[i] >> 8);
		av[2 * i + 1] = (uint8_t)m.availability[i];
	}
	be_enc_str(out, av, (size_t)count * 2);
	free(av);
	be_enc_cstr(out, "st");
	be_enc_str(out, m.state, count);
	be_enc_end(out);
	engine_piece_map_free(&m);
}

static void
attach_answer_health(struct attach_client *c, int64_t id, struct dp_buf *out)
{
	struct engine_loop_health h;
	engine_loop_health(c->s->e, &h);
	attach_reply_begin(out, id);
	be_enc_cstr(out, "h");
	attach_encode_record(out, &attach_health_rec, &h);
	be_enc_cstr(out, "sl");
	be_enc_list_begin(out);
	for (size_t i = 0; i < h.slowest_count && i < ENGINE_SLOW_CALLBACKS; i++)
		attach_encode_record(out, &attach_slow_rec, &h.slowest[i]);
	be_enc_end(out);
	/* most CPU first (a UI of before ignores the key) */
	be_enc_cstr(out, "hv");
	be_enc_list_begin(out);
	for (size_t i = 0; i < h.heaviest_count && i < ENGINE_SLOW_CALLBACKS; i++)
		attach_encode_record(out, &attach_slow_rec, &h.heaviest[i]);
	be_enc_end(out);
	be_enc_end(out);
}

static void
attach_answer_log(struct attach_client *c, const struct be_node *req, int64_t id,
    struct dp_buf *out)
{
	int64_t after = 0, max = 0;
	attach_get_int(req, "after", &after);
	attach_get_int(req, "max", &max);
	max = max < 1 ? 1 : max > ATTACH_LOG_MAX ? ATTACH_LOG_MAX : max;
	struct dp_log_line *lines = xcalloc((size_t)max, sizeof *lines);
	size_t n = engine_log_since(c->s->e, after < 0 ? 0 : (uint64_t)after, lines, (size_t)max);
	attach_reply_begin(out, id);
	be_enc_cstr(out, "rows");
	be_enc_list_begin(out);
	for (size_t i = 0; i < n; i++) {
		be_enc_dict_begin(out);
		be_enc_cstr(out, "l");
		be_enc_int(out, lines[i].level);
		be_enc_cstr(out, "s");
		be_enc_int(out, (int64_t)lines[i].seq);
		be_enc_cstr(out, "w");
		be_enc_int(out, lines[i].when);
		be_enc_cstr(out, "x");
		be_enc_str(out, lines[i].text, strnlen(lines[i].text, sizeof lines[i].text));
		be_enc_end(out);
	}
	be_enc_end(out);
	be_enc_end(out);
	free(lines);
}

/* A command's answer: the error alone, or the torrent (an ADD's, also one already there) with
 * the error when there is one. */
static void
attach_reply_command(struct dp_buf *out, int64_t id, int rc, int tid, const char *err)
{
	if (rc != 0 && tid <= 0) {
		attach_reply_error(out, id, err);
		return;
	}
	attach_reply_begin(out, id);
	if (rc != 0) {      /* already added: the id, and why it is an error */
		be_enc_cstr(out, "err");
		be_enc_cstr(out, err);
	}
	be_enc_cstr(out, "tid");
	be_enc_int(out, tid);
	be_enc_end(out);
}

/* ---- answers that wait for the disk pool ---- */

static void
attach_job_work(void *arg)
{
	struct attach_job *j = arg;
	j->work(j);
}

/* Loop thread: the job's answer, then the requests that came while it ran. */
static void
attach_job_done(void *arg)
{
	struct attach_job *j = arg;
	struct attach_client *c = j->c;
	if (c != NULL) {
		c->busy = NULL;
		struct dp_buf out;
		dp_buf_init(&out);
		size_t at = attach_frame_begin(&out);
		j->answer(j, &out);
		attach_frame_end(&out, at);
		evbuffer_add(bufferevent_get_output(c->bev), out.data, out.len);
		engine_task_progress(c->task, 0, out.len);
		dp_buf_free(&out);
		attach_client_serve(c);
	}
	free(j->path);
	free(j->data);
	free(j);
}

/* Sends j's work to the disk pool: c answers nothing more until it is done. */
static void
attach_job_start(struct attach_client *c, struct attach_job *j, int64_t id, const char *what)
{
	j->c = c;
	j->id = id;
	c->busy = j;
	engine_run_blocking(c->s->e, what, attach_job_work, attach_job_done, j);
}

static void
attach_complete_work(struct attach_job *j)
{
	j->n = path_complete(j->has_cwd ? j->cwd : NULL, j->buf, sizeof j->buf, j->hint,
	    sizeof j->hint);
}

static void
attach_complete_answer(struct attach_job *j, struct dp_buf *out)
{
	attach_reply_begin(out, j->id);
	be_enc_cstr(out, "b");
	be_enc_cstr(out, j->buf);
	be_enc_cstr(out, "h");
	be_enc_cstr(out, j->hint);
	be_enc_cstr(out, "n");
	be_enc_int(out, j->n);
	be_enc_end(out);
}

static void
attach_answer_complete(struct attach_client *c, const struct be_node *req, int64_t id,
    struct dp_buf *out)
{
	struct attach_job *j = xcalloc(1, sizeof *j);
	if (!attach_get_str(req, "b", j->buf, sizeof j->buf)) {
		free(j);
		attach_reply_error(out, id, "nothing to complete");
		return;
	}
	j->has_cwd = attach_get_str(req, "cw", j->cwd, sizeof j->cwd);
	j->work = attach_complete_work;
	j->answer = attach_complete_answer;
	attach_job_start(c, j, id, "attach: Tab completion of a path");
}

/* The .torrent a UI named, read as engine_add_torrent_file reads it, but on a worker. */
static void
attach_add_file_work(struct attach_job *j)
{
	client_local_read_torrent(j->path, &j->data, &j->len, j->err, sizeof j->err);
}

static void
attach_add_file_answer(struct attach_job *j, struct dp_buf *out)
{
	char err[512] = "";
	int tid = 0, rc = -1;
	if (j->data == NULL) {
		snprintf(err, sizeof err, "%s", j->err);
	} else {
		rc = client_local_add_read(j->c->s->e, j->path, j->data, j->len, &tid, err,
		    sizeof err);
	}
	attach_reply_command(out, j->id, rc, tid > 0 ? tid : 0, err);
}

static void
attach_answer_command(struct attach_client *c, const struct be_node *req, int64_t id,
    struct dp_buf *out)
{
	struct attach_cmd *ac = xmalloc(sizeof *ac);
	char err[512];
	int tid = 0;
	int rc;
	if (!attach_decode_cmd(be_dict_get(req, "cmd"), ac, err, sizeof err)) {
		rc = -1;
	} else if (ac->cmd.kind == CLIENT_CMD_ADD_FILE && ac->cmd.text != NULL &&
	    ac->cmd.text[0] != '\0') {
		/* the file is read on the disk pool; the torrent is added when it is there */
		struct attach_job *j = xcalloc(1, sizeof *j);
		j->path = path_resolve(ac->cmd.cwd, ac->cmd.text);
		j->work = attach_add_file_work;
		j->answer = attach_add_file_answer;
		attach_cmd_free(ac);
		free(ac);
		attach_job_start(c, j, id, "attach: reading a .torrent file");
		return;
	} else if (ac->cmd.kind == CLIENT_CMD_STOP_DAEMON) {
		log_info("attach: a UI asked the daemon to stop");
		rc = 0;
		c->s->stop_daemon(c->s->stop_arg);
	} else {
		rc = client_local_run(c->s->e, &ac->cmd, &tid, err, sizeof err);
	}
	attach_cmd_free(ac);
	free(ac);
	attach_reply_command(out, id, rc, tid, err);
}

/* One request to its answer (a frame in out). False: close once the answer is out. */
static bool
attach_answer(struct attach_client *c, const struct be_node *req, struct dp_buf *out)
{
	int64_t id = 0;
	attach_get_int(req, "id", &id);
	enum attach_op op = attach_op_find(be_dict_get(req, "op"));
	size_t at = attach_frame_begin(out);
	bool keep = true;
	if (!c->hello && op != ATTACH_OP_HELLO) {
		attach_reply_error(out, id, "say hello first");
		keep = false;
	} else {
		switch (op) {
		case ATTACH_OP_HELLO: {
			int64_t v = 0;
			if (!attach_get_int(req, "v", &v) || v != ATTACH_PROTO_VERSION) {
				char msg[128];
				snprintf(msg, sizeof msg, "this daemon speaks attach protocol version %d, "
				    "the UI version %lld", ATTACH_PROTO_VERSION, (long long)v);
				attach_reply_error(out, id, msg);
				keep = false;
				break;
			}
			c->hello = true;
			evtimer_del(c->hello_deadline);
			attach_reply_begin(out, id);
			be_enc_cstr(out, "pid");
			be_enc_int(out, (int64_t)getpid());
			be_enc_cstr(out, "v");
			be_enc_int(out, ATTACH_PROTO_VERSION);
			be_enc_end(out);
			break;
		}
		case ATTACH_OP_LIST: attach_answer_list(c, req, id, out); break;
		case ATTACH_OP_QUEUE_POS: {
			int t = 0;
			attach_reply_begin(out, id);
			be_enc_cstr(out, "pos");
			be_enc_int(out, attach_req_torrent(req, &t) ?
			    engine_queue_position(c->s->e, t) : -1);
			be_enc_end(out);
			break;
		}
		case ATTACH_OP_PEERS:
		case ATTACH_OP_FILES:
		case ATTACH_OP_TRACKERS: attach_answer_rows(c, op, req, id, out); break;
		case ATTACH_OP_PIECES: attach_answer_pieces(c, req, id, out); break;
		case ATTACH_OP_TASKS: attach_answer_tasks(c, req, id, out); break;
		case ATTACH_OP_HEALTH: attach_answer_health(c, id, out); break;
		case ATTACH_OP_LOG: attach_answer_log(c, req, id, out); break;
		case ATTACH_OP_COMMAND: attach_answer_command(c, req, id, out); break;
		case ATTACH_OP_COMPLETE: attach_answer_complete(c, req, id, out); break;
		default: attach_reply_error(out, id, "unknown request"); break;
		}
	}
	if (c->busy != NULL || c->tasks_job != NULL) {
		/* answered when the disk pool is done (attach_job_done) or the last slice
		 * (attach_tasks_slice_cb) */
		out->len = at;       /* answered when the disk pool is done (attach_complete_done) */
		return keep;
	}
	if (out->len - at - ATTACH_FRAME_HEADER > ATTACH_MAX_REPLY) {
		out->len = at + ATTACH_FRAME_HEADER;
		attach_reply_error(out, id, "the answer is too large");
	}
	attach_frame_end(out, at);
	return keep;
}

/* ---- connections ---- */

/* Ends the callback begun in attach_client_serve and the client, with a log line (what it did)
 * and its task's reason (why). */
static void
attach_client_drop(struct attach_client *c, const char *why, const char *what)
{
	engine_task_cb_end(c->task);
	log_warn("attach: a client %s; dropping it", what);
	attach_client_free(c, why);
}

/* Answers the whole requests that are in, in order, until one waits for the disk pool (its
 * answer then comes first). May free c. */
static void
attach_client_serve(struct attach_client *c)
{
	struct bufferevent *bev = c->bev;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *o = bufferevent_get_output(bev);
	char line[320];
	engine_task_cb_begin(c->task);
	for (;;) {
		if (c->busy != NULL || c->tasks_job != NULL) {
			if (evbuffer_get_length(in) > ATTACH_WAITING_INPUT_MAX) {
				snprintf(line, sizeof line, "sent over %u KiB while an answer was "
				    "under way", ATTACH_WAITING_INPUT_MAX >> 10);
				attach_client_drop(c, "sent too much while waiting", line);
				return;
			}
			if (c->busy != NULL)
				engine_task_wait(c->task, ENGINE_TASK_DISK_WAIT, "request %lld: %s on "
				    "the disk pool", (long long)c->busy->id,
				    c->busy->work == attach_complete_work ?
				    "Tab completion reads a folder" : "reading a .torrent file");
			else
				engine_task_wait(c->task, ENGINE_TASK_SLICE_WAIT, "request %lld: the "
				    "tasks, read in slices", (long long)c->tasks_job->id);
			engine_task_cb_end(c->task);
			return;
		}
		uint8_t hdr[ATTACH_FRAME_HEADER];
		size_t len, avail = evbuffer_get_length(in);
		if (evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr)
			break;
		int r = attach_frame_peek(hdr, sizeof hdr, ATTACH_MAX_REQUEST, &len);
		if (r < 0) {
			attach_client_drop(c, "bad frame", "sent a frame of a bad length");
			return;
		}
		if (avail < sizeof hdr + len)
			break;
		evbuffer_drain(in, sizeof hdr);
		uint8_t *body = xmalloc(len);
		evbuffer_remove(in, body, len);
		char err[256];
		struct be_node *req = attach_decode_body(body, len, err, sizeof err);
		if (req == NULL) {
			free(body);
			snprintf(line, sizeof line, "sent a bad request (%s)", err);
			attach_client_drop(c, "bad request", line);
			return;
		}
		c->requests++;
		struct dp_buf out;
		dp_buf_init(&out);
		uint64_t cpu0 = dp_thread_cpu_us();
		bool keep = attach_answer(c, req, &out);
		c->answer_cpu_us += dp_thread_cpu_us() - cpu0;
		be_free(req);
		free(body);
		evbuffer_add(o, out.data, out.len);
		engine_task_progress(c->task, len + sizeof hdr, out.len);
		dp_buf_free(&out);
		if (evbuffer_get_length(o) > ATTACH_MAX_OUTPUT) {
			snprintf(line, sizeof line, "does not read its answers (over %u MiB queued)",
			    ATTACH_MAX_OUTPUT >> 20);
			attach_client_drop(c, "does not read its answers", line);
			return;
		}
		if (!keep) {
			bufferevent_disable(bev, EV_READ);
			engine_task_wait(c->task, ENGINE_TASK_WRITE_WAIT,
			    "sending the last answer before closing");
			engine_task_cb_end(c->task);
			return;
		}
	}
	engine_task_idle(c->task, ENGINE_TASK_READ_WAIT,
	    "waiting for request %llu (answers so far: %llu us CPU)",
	    (unsigned long long)c->requests + 1, (unsigned long long)c->answer_cpu_us);
	engine_task_cb_end(c->task);
}

static void
attach_client_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	attach_client_serve(arg);
}

static void
attach_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct attach_client *c = arg;
	if (!(bufferevent_get_enabled(bev) & EV_READ))
		attach_client_free(c, "refused");
}

static void
attach_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct attach_client *c = arg;
	(void)bev;
	if (what & BEV_EVENT_EOF)
		attach_client_free(c, "detached");
	else if (what & BEV_EVENT_ERROR)
		attach_client_free(c, strerror(EVUTIL_SOCKET_ERROR()));
}

/* One line per interval for the clients refused or closed: a flood of connections must not
 * become a flood of log lines (issue 11, finding 7). */
static void
attach_flood_log(struct attach_server *s)
{
	uint64_t now = dp_now_ms();
	if ((s->flood_logged_ms != 0 && now - s->flood_logged_ms < ATTACH_FLOOD_LOG_MS) ||
	    (s->refused == 0 && s->evicted == 0 && s->silent == 0))
		return;
	log_warn("attach: refused %u client%s (another user, or %d attached: monitor_max_clients), "
	    "closed %u not yet greeted to make room and %u that sent no hello in %d s, in the "
	    "last %d s", s->refused, s->refused == 1 ? "" : "s", s->max_clients, s->evicted,
	    s->silent, ATTACH_HELLO_S, ATTACH_FLOOD_LOG_MS / 1000);
	s->flood_logged_ms = now;
	s->refused = s->evicted = s->silent = 0;
}

static void
attach_hello_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct attach_client *c = arg;
	struct attach_server *s = c->s;
	(void)fd;
	(void)what;
	if (!c->hello_extended && accept_deadline_late(c->hello_armed_ms, ATTACH_HELLO_S * 1000)) {
		c->hello_extended = true;
		struct timeval tv = { ATTACH_HELLO_S, 0 };
		evtimer_add(c->hello_deadline, &tv);
		return;
	}
	s->silent++;
	attach_client_free(c, "no hello");
	attach_flood_log(s);
}

static void
attach_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct attach_server *s = arg;
	(void)l;
	(void)sa;
	(void)salen;
	engine_task_cb_begin(s->task);
	bool us = monitor_peer_is_us(fd);
	if (us && s->nclients >= s->max_clients) {
		/* A connection that never said hello makes room; attached UIs are never dropped. */
		struct attach_client *old = NULL;
		for (struct attach_client *x = s->clients; x != NULL; x = x->next)
			if (!x->hello)
				old = x;   /* the list is newest first: the last one is the oldest */
		if (old != NULL) {
			s->evicted++;
			attach_client_free(old, "closed to make room for a new client");
		}
	}
	if (!us || s->nclients >= s->max_clients) {
		s->refused++;
		attach_flood_log(s);
		evutil_closesocket(fd);
		engine_task_cb_end(s->task);
		return;
	}
	struct bufferevent *bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_error("attach: can't set up a client connection");
		evutil_closesocket(fd);
		engine_task_cb_end(s->task);
		return;
	}
	struct attach_client *c = xcalloc(1, sizeof *c);
	c->s = s;
	c->bev = bev;
	attach_delta_init(&c->torrents);
	attach_delta_init(&c->tasks);
	client_follow_init(&c->follow);
	c->task = engine_task_new(s->e, ENGINE_TASK_KIND_UI, 0, "attached UI");
	engine_task_idle(c->task, ENGINE_TASK_READ_WAIT, "waiting for hello");
	c->hello_deadline = evtimer_new(s->base, attach_hello_deadline_cb, c);
	c->hello_armed_ms = dp_now_ms();
	struct timeval tv = { ATTACH_HELLO_S, 0 };
	evtimer_add(c->hello_deadline, &tv);
	c->next = s->clients;
	s->clients = c;
	s->nclients++;
	bufferevent_setcb(bev, attach_client_read_cb, attach_client_write_cb,
	    attach_client_event_cb, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	engine_task_cb_end(s->task);
	engine_task_idle(s->task, ENGINE_TASK_READ_WAIT, "waiting for UIs (%d attached)",
	    s->nclients);
}

struct attach_server *
attach_server_new(struct event_base *base, struct engine *e, const char *session_dir,
    void (*stop_daemon)(void *arg), void *arg, char *err, size_t errlen)
{
	char *path = attach_socket_path(session_dir);
	int fd = monitor_listen_socket(path, err, errlen);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	struct attach_server *s = xcalloc(1, sizeof *s);
	s->base = base;
	s->e = e;
	s->path = path;
	s->stop_daemon = stop_daemon;
	s->stop_arg = arg;
	s->max_clients = accept_cap_from_fd_limit(0, MONITOR_CLIENTS_FLOOR, MONITOR_CLIENTS_CEILING);
	s->tasks_slice_us = ATTACH_TASKS_SLICE_US;
	s->list_slice_us = ATTACH_LIST_SLICE_US;
	s->listener = evconnlistener_new(base, attach_accept_cb, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (s->listener == NULL) {
		snprintf(err, errlen, "%s: can't watch the socket", path);
		close(fd);
		unlink(path);
		free(path);
		free(s);
		return NULL;
	}
	s->task = engine_task_new(e, ENGINE_TASK_KIND_UI, 0, "attach server %s", path);
	engine_task_idle(s->task, ENGINE_TASK_READ_WAIT, "waiting for UIs");
	accept_backoff_watch(base, s->listener, "attach");
	log_info("attach: listening on %s", path);
	return s;
}

void
attach_server_set_tasks_slice_us(struct attach_server *s, uint64_t us)
{
	s->tasks_slice_us = us > 0 ? us : ATTACH_TASKS_SLICE_US;
}

void
attach_server_set_list_slice_us(struct attach_server *s, uint64_t us)
{
	s->list_slice_us = us > 0 ? us : ATTACH_LIST_SLICE_US;
}

void
attach_server_set_max_clients(struct attach_server *s, int max_clients)
{
	s->max_clients = accept_cap_from_fd_limit(max_clients, MONITOR_CLIENTS_FLOOR,
	    MONITOR_CLIENTS_CEILING);
}

void
attach_server_free(struct attach_server *s)
{
	if (s == NULL)
		return;
	while (s->clients != NULL)
		attach_client_free(s->clients, "daemon stopped");
	accept_backoff_forget(s->listener);
	evconnlistener_free(s->listener);
	if (unlink(s->path) < 0 && errno != ENOENT)
		log_warn("attach: can't remove %s: %s", s->path, strerror(errno));
	engine_task_done(s->task, "stopped");
	engine_task_release(&s->task);
	free(s->path);
	free(s);
}
