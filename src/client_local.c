/* client_local.c: the engine client API on the engine of this process (the UI and the engine
 * share the loop), and the one place that turns a client command into engine.h calls: the
 * attach server (attach_server.c) runs a remote UI's commands through it too. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "client_follow.h"
#include "client_local.h"
#include "client_rows.h"
#include "metainfo.h"
#include "path_complete.h"
#include "util.h"

/* The torrent list is read a slice of at most this long per snapshot (10,000 rows take about
 * 150 ms): the UI draws what it has and asks again at once (client_list_partial). */
#define CLIENT_LOCAL_SLICE_US 6000
/* Rows re-read per refresh although nothing marked them changed (a slow sweep: the engine
 * marks every change but a tracker's status text). */
#define CLIENT_LOCAL_SWEEP 16
/* The Tasks and Blocked screens' copy of the registry is read a slice of at most this long a
 * loop turn (20,000 tasks at 10,000 torrents: one copy was a 150-240 ms callback). */
#define CLIENT_LOCAL_TASKS_SLICE_US 4000

/* Filesystem work of the UI's on a disk worker (a Tab completion, a .torrent to read): the
 * engine runs work() there and done() on the loop; a job whose client went (its UI left, a
 * completion replaced) has l NULL and only frees itself. */
struct client_local_job {
	struct client_local *l;
	struct client_local_job *prev, *next;
	bool complete;                 /* Tab completion; else ADD_FILE */
	char cwd[4096];
	bool has_cwd;
	char buf[4096];                /* the path typed: completed in place */
	char hint[1024];
	int n;
	char *path;                    /* ADD_FILE: the file, its bytes or why not */
	uint8_t *data;
	size_t len;
	char err[512];
	client_complete_fn complete_done;
	client_command_fn command_done;
	void *arg;
};

struct client_local {
	struct client c;               /* first: the handle the UI holds */
	struct client_local_job *jobs; /* under way, for client_free to let go */
	struct client_local_job *completing;   /* the Tab completion under way */
	struct engine *e;
	/* the torrent list, kept: a refresh reads the torrents that changed, not all of them */
	struct client_rows rows;
	struct client_follow follow;
	bool listed;                   /* the first full list was asked for */
	int *todo;                     /* ids still to read, from todo_at on */
	size_t ntodo, todo_at;
	size_t sweep;
	uint64_t slice_us;             /* CLIENT_LOCAL_SLICE_US but in tests */
	/* the tasks: the last whole copy, and the next one being read in slices */
	struct engine_task *task;
	struct engine_task_walk *walk;
	struct engine_sliced *run;
	struct engine_task_info *tasks, *reading;
	size_t ntasks, nreading, captasks, capreading;
	uint64_t tasks_slice_us;
};

static struct client_local *
client_local_of(struct client *c)
{
	return (struct client_local *)c;
}

int
client_local_run(struct engine *e, const struct client_cmd *cmd, int *id_out, char *err,
    size_t errlen)
{
	int id = cmd->torrent, rc = -1;
	struct engine_add_opts ao = { 0 };
	switch (cmd->kind) {
	case CLIENT_CMD_START: return engine_torrent_start(e, id, err, errlen);
	case CLIENT_CMD_STOP: return engine_torrent_stop(e, id, err, errlen);
	case CLIENT_CMD_REMOVE: return engine_torrent_remove(e, id, false, err, errlen);
	case CLIENT_CMD_REMOVE_DATA: return engine_torrent_remove(e, id, true, err, errlen);
	case CLIENT_CMD_RECHECK: return engine_torrent_recheck(e, id, err, errlen);
	case CLIENT_CMD_REANNOUNCE: return engine_torrent_reannounce(e, id, err, errlen);
	case CLIENT_CMD_SEQUENTIAL: return engine_torrent_set_sequential(e, id, cmd->on, err, errlen);
	case CLIENT_CMD_QUEUE_MOVE: return engine_queue_move(e, id, cmd->where, err, errlen);
	case CLIENT_CMD_TORRENT_LIMITS:
		return engine_torrent_set_rate_limits(e, id, cmd->down, cmd->up, err, errlen);
	case CLIENT_CMD_GLOBAL_LIMITS:
		engine_set_rate_limits(e, cmd->down, cmd->up);
		return 0;
	case CLIENT_CMD_ALT_SPEED:
		/* kept in settings.conf, as the RPC's alt-speed-enabled is */
		return engine_session_set_setting(e, "alt_speed_enabled", cmd->on ? "true" : "false",
		    err, errlen) < 0 ? -1 : 0;
	case CLIENT_CMD_FILE_PRIORITY:
		for (size_t i = 0; i < cmd->nfiles; i++)
			if (engine_torrent_set_file_priority(e, id, cmd->files[i], cmd->prio, err,
			    errlen) != 0)
				return -1;
		return 0;
	case CLIENT_CMD_ADD_PEER:
	case CLIENT_CMD_PEER_DISCONNECT:
		if (cmd->text == NULL || cmd->text[0] == '\0')
			return dp_fail(err, errlen, "no address given");
		return cmd->kind == CLIENT_CMD_ADD_PEER ?
		    engine_torrent_add_peer(e, id, cmd->text, err, errlen) :
		    engine_peer_disconnect(e, id, cmd->text, cmd->on, err, errlen);
	case CLIENT_CMD_ADD_MAGNET:
		if (cmd->text == NULL)
			return dp_fail(err, errlen, "no magnet link given");
		rc = engine_add_magnet(e, cmd->text, &ao, &id, err, errlen);
		break;
	case CLIENT_CMD_ADD_FILE: {
		if (cmd->text == NULL || cmd->text[0] == '\0')
			return dp_fail(err, errlen, "no file given");
		char *path = path_resolve(cmd->cwd, cmd->text);
		rc = engine_add_torrent_file(e, path, &ao, &id, err, errlen);
		free(path);
		break;
	}
	case CLIENT_CMD_STOP_DAEMON:
		return dp_fail(err, errlen, "not attached to a daemon (q quits)");
	default:
		return dp_fail(err, errlen, "unknown command");
	}
	if (id_out != NULL)
		*id_out = id > 0 ? id : 0;
	return rc;
}

static int
client_local_command(struct client *c, const struct client_cmd *cmd, int *id_out, char *err,
    size_t errlen)
{
	return client_local_run(client_local_of(c)->e, cmd, id_out, err, errlen);
}

/* Reads the row of id into the kept list (drops it when the torrent is gone). */
static void
client_local_read(struct client_local *l, int id)
{
	struct engine_torrent_stats ts;
	if (engine_torrent_get(l->e, id, &ts) != 0) {
		client_rows_remove(&l->rows, id);
		client_follow_forget(&l->follow, id);
		return;
	}
	bool fresh;
	*client_rows_get(&l->rows, id, &fresh) = ts;
	client_follow_note(&l->follow, &ts);
}

static void
client_local_todo_set(struct client_local *l, int *ids, size_t n)
{
	free(l->todo);
	l->todo = ids;
	l->ntodo = n;
	l->todo_at = 0;
}

/* The rows the kept list lacks or has too many of, when its count and the engine's disagree
 * (a change older than the engine's memory of removals): those gone dropped, the missing ones
 * to read. A walk over the ids only, no rows copied. */
static void
client_local_resync(struct client_local *l)
{
	int *ids;
	size_t n = engine_torrent_ids(l->e, &ids), nmissing = 0;
	struct dp_idmap there;
	dp_idmap_init(&there);
	for (size_t i = 0; i < n; i++) {
		dp_idmap_put(&there, (uint64_t)ids[i], &there);
		if (client_rows_find(&l->rows, ids[i]) == NULL)
			ids[nmissing++] = ids[i];
	}
	/* from the end: a removal moves the last row, already looked at, into the gap */
	for (size_t i = l->rows.n; i > 0; i--) {
		int id = l->rows.v[i - 1].id;
		if (dp_idmap_get(&there, (uint64_t)id) == NULL) {
			client_rows_remove(&l->rows, id);
			client_follow_forget(&l->follow, id);
		}
	}
	dp_idmap_free(&there);
	client_local_todo_set(l, ids, nmissing);
}

/* What to read at this refresh: the first time every torrent, then what changed and the hot
 * rows, a few rows of the sweep, and what is missing if the counts disagree. */
static void
client_local_plan(struct client_local *l, const struct engine_global_stats *g)
{
	if (!l->listed) {
		l->listed = true;
		client_follow_reset(&l->follow);
		int *ids;
		size_t n = engine_torrent_ids(l->e, &ids);
		client_rows_reserve(&l->rows, n + n / 8);
		client_local_todo_set(l, ids, n);
		return;
	}
	if ((size_t)g->torrents != l->rows.n) {
		client_local_resync(l);
		if (l->ntodo > 0)
			return;
	}
	int *ids, *removed;
	size_t nremoved;
	size_t n = client_follow_due(&l->follow, l->e, &ids, &removed, &nremoved);
	for (size_t i = 0; i < nremoved; i++)
		client_rows_remove(&l->rows, removed[i]);
	free(removed);
	size_t ns = DP_MIN((size_t)CLIENT_LOCAL_SWEEP, l->rows.n);
	if (ns > 0) {
		ids = xreallocarray(ids, n + ns, sizeof *ids);
		for (size_t i = 0; i < ns; i++)
			ids[n++] = l->rows.v[l->sweep++ % l->rows.n].id;
	}
	client_local_todo_set(l, ids, n);
}

static size_t
client_local_snapshot(struct client *c, const struct engine_torrent_stats **torrents,
    struct engine_global_stats *global)
{
	struct client_local *l = client_local_of(c);
	uint64_t t0 = dp_now_us();
	engine_global(l->e, global);
	if (l->todo_at >= l->ntodo)
		client_local_plan(l, global);
	/* a slice: the clock read every few rows (a row costs ~15 us) */
	while (l->todo_at < l->ntodo) {
		client_local_read(l, l->todo[l->todo_at++]);
		if (l->todo_at % 16 == 0 && dp_now_us() - t0 >= l->slice_us)
			break;
	}
	*torrents = l->rows.n > 0 ? l->rows.v : NULL;
	return l->rows.n;
}

static size_t
client_local_changes(struct client *c, int **ids, bool *all)
{
	return client_rows_take_changes(&client_local_of(c)->rows, ids, all);
}

static bool
client_local_list_partial(struct client *c)
{
	struct client_local *l = client_local_of(c);
	return l->todo_at < l->ntodo;
}

static const struct engine_torrent_stats *
client_local_torrent(struct client *c, int id)
{
	return client_rows_find(&client_local_of(c)->rows, id);
}

static int
client_local_queue_position(struct client *c, int id)
{
	return engine_queue_position(client_local_of(c)->e, id);
}

static size_t
client_local_peers(struct client *c, int id, struct engine_peer_info **out)
{
	return engine_peers(client_local_of(c)->e, id, out);
}

static size_t
client_local_files(struct client *c, int id, struct engine_file_info **out)
{
	return engine_files(client_local_of(c)->e, id, out);
}

static int
client_local_pieces(struct client *c, int id, struct engine_piece_map *out)
{
	return engine_pieces(client_local_of(c)->e, id, out);
}

size_t
client_local_trackers(struct engine *e, int id, struct engine_tracker_info **out)
{
	size_t n = engine_trackers(e, id, out);
	/* the DHT as one more row: peers found, last and next lookup */
	struct engine_tracker_info dht;
	if (engine_torrent_dht(e, id, &dht) == 0) {
		*out = xreallocarray(*out, n + 1, sizeof **out);
		(*out)[n++] = dht;
	}
	return n;
}

static size_t
client_local_trackers_op(struct client *c, int id, struct engine_tracker_info **out)
{
	return client_local_trackers(client_local_of(c)->e, id, out);
}

static void
client_local_tasks_visit(const struct engine_task_info *ti, void *arg)
{
	struct client_local *l = arg;
	if (l->nreading == l->capreading) {
		l->capreading = l->capreading ? l->capreading * 2 : 256;
		l->reading = xreallocarray(l->reading, l->capreading, sizeof *l->reading);
	}
	l->reading[l->nreading++] = *ti;
}

static bool
client_local_tasks_step(void *arg, uint64_t budget_us)
{
	struct client_local *l = arg;
	return engine_task_walk_step(l->walk, budget_us, client_local_tasks_visit, l);
}

/* A whole copy read: it replaces the last one. */
static void
client_local_tasks_done(void *arg)
{
	struct client_local *l = arg;
	l->run = NULL;
	engine_task_walk_free(&l->walk);
	/* The two arrays trade places and keep their room: 8 MB grown anew at every read was
	 * megabytes copied and page faults in a slice. */
	struct engine_task_info *old = l->tasks;
	size_t oldcap = l->captasks;
	l->tasks = l->reading;
	l->ntasks = l->nreading;
	l->captasks = l->capreading;
	l->reading = old;
	l->capreading = oldcap;
	l->nreading = 0;
	engine_task_idle(l->task, ENGINE_TASK_READ_WAIT, "%zu tasks read; the next at the next "
	    "refresh of the Tasks or Blocked screen", l->ntasks);
}

/*
 * The last whole copy of the registry, its times brought up to now, and the next copy started
 * (as an attached UI's are read by the attach server, a few milliseconds a loop turn: the UI
 * shares the loop with the engine). A small registry is read at once; a large one shows what
 * the last refresh read. The copy handed out is not written again before the next call: the
 * read that call starts writes into the other array.
 */
static size_t
client_local_tasks(struct client *c, const struct engine_task_info **out)
{
	struct client_local *l = client_local_of(c);
	if (l->run == NULL) {
		l->walk = engine_task_walk_new(l->e, ENGINE_TASK_WALK_ALL, 0);
		l->run = engine_run_sliced(l->e, l->task, l->tasks_slice_us,
		    client_local_tasks_step, client_local_tasks_done, l,
		    "reading the tasks for the Tasks or Blocked screen in slices");
	}
	*out = NULL;
	if (l->ntasks == 0)
		return 0;
	uint64_t now = dp_now_us();
	for (size_t i = 0; i < l->ntasks; i++) {
		struct engine_task_info *t = &l->tasks[i];
		t->age_us = now - t->created_us;
		t->waited_us = now - t->state_since_us;
	}
	*out = l->tasks;
	return l->ntasks;
}

void
client_local_set_tasks_slice_us(struct client *c, uint64_t us)
{
	client_local_of(c)->tasks_slice_us = us > 0 ? us : CLIENT_LOCAL_TASKS_SLICE_US;
}

static void
client_local_loop_health(struct client *c, struct engine_loop_health *out)
{
	engine_loop_health(client_local_of(c)->e, out);
}

static size_t
client_local_log_since(struct client *c, uint64_t after, struct dp_log_line *out, size_t max)
{
	return engine_log_since(client_local_of(c)->e, after, out, max);
}

static int
client_local_complete_path(struct client *c, const char *cwd, char *buf, size_t buflen,
    char *hint, size_t hintlen)
{
	(void)c;
	return path_complete(cwd, buf, buflen, hint, hintlen);
}

static void
client_local_job_unlink(struct client_local_job *j)
{
	struct client_local *l = j->l;
	if (l == NULL)
		return;
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		l->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (l->completing == j)
		l->completing = NULL;
	j->l = NULL;
	j->prev = j->next = NULL;
}

/* Worker thread: only what the job owns. */
static void
client_local_job_work(void *arg)
{
	struct client_local_job *j = arg;
	if (j->complete) {
		j->n = path_complete(j->has_cwd ? j->cwd : NULL, j->buf, sizeof j->buf, j->hint,
		    sizeof j->hint);
		return;
	}
	client_local_read_torrent(j->path, &j->data, &j->len, j->err, sizeof j->err);
}

int
client_local_read_torrent(const char *path, uint8_t **data, size_t *len, char *err,
    size_t errlen)
{
	*data = NULL;
	if (dp_read_file(path, DP_MAX_TORRENT_FILE_SIZE, data, len) == 0)
		return 0;
	if (errno == EFBIG)
		return dp_fail(err, errlen, "%s: larger than the %u MiB limit for torrent files", path,
		    DP_MAX_TORRENT_FILE_SIZE >> 20);
	return dp_fail(err, errlen, "%s: %s", path, dp_strerror(errno));
}

int
client_local_add_read(struct engine *e, const char *path, const uint8_t *data, size_t len,
    int *id_out, char *err, size_t errlen)
{
	struct engine_add_opts ao = { 0 };
	char why[400] = "";
	int id = 0;
	int rc = engine_add_torrent_data(e, data, len, &ao, &id, why, sizeof why);
	*id_out = id > 0 ? id : 0;
	if (rc != 0)
		dp_fail(err, errlen, "%s%s%s", id > 0 ? "" : path, id > 0 ? "" : ": ", why);
	return rc;
}

/* Loop thread: the answer, unless the client or the completion went meanwhile. */
static void
client_local_job_done(void *arg)
{
	struct client_local_job *j = arg;
	struct client_local *l = j->l;
	client_local_job_unlink(j);
	if (l != NULL && j->complete) {
		j->complete_done(j->arg, j->buf, j->hint, j->n);
	} else if (l != NULL) {
		int rc = -1, id = 0;
		if (j->data != NULL)
			rc = client_local_add_read(l->e, j->path, j->data, j->len, &id, j->err,
			    sizeof j->err);
		j->command_done(j->arg, rc, id, j->err);
	}
	free(j->path);
	free(j->data);
	free(j);
}

static struct client_local_job *
client_local_job_new(struct client_local *l, const char *cwd)
{
	struct client_local_job *j = xcalloc(1, sizeof *j);
	j->l = l;
	j->next = l->jobs;
	if (l->jobs != NULL)
		l->jobs->prev = j;
	l->jobs = j;
	j->has_cwd = cwd != NULL;
	snprintf(j->cwd, sizeof j->cwd, "%s", cwd != NULL ? cwd : "");
	return j;
}

static void
client_local_complete_start(struct client *c, const char *cwd, const char *buf,
    client_complete_fn done, void *arg)
{
	struct client_local *l = client_local_of(c);
	/* the one under way is dropped: its answer would be to a text no longer there */
	if (l->completing != NULL)
		client_local_job_unlink(l->completing);
	struct client_local_job *j = client_local_job_new(l, cwd);
	j->complete = true;
	snprintf(j->buf, sizeof j->buf, "%s", buf);
	j->complete_done = done;
	j->arg = arg;
	l->completing = j;
	engine_run_blocking(l->e, "terminal UI: Tab completion of a path", client_local_job_work,
	    client_local_job_done, j);
}

static bool
client_local_command_start(struct client *c, const struct client_cmd *cmd,
    client_command_fn done, void *arg)
{
	struct client_local *l = client_local_of(c);
	if (cmd->kind != CLIENT_CMD_ADD_FILE || cmd->text == NULL || cmd->text[0] == '\0')
		return false;
	struct client_local_job *j = client_local_job_new(l, cmd->cwd);
	j->path = path_resolve(cmd->cwd, cmd->text);
	j->command_done = done;
	j->arg = arg;
	char what[160];
	snprintf(what, sizeof what, "terminal UI: reading %.120s to add it", j->path);
	engine_run_blocking(l->e, what, client_local_job_work, client_local_job_done, j);
	return true;
}

static void
client_local_leave(struct client *c, void (*done)(void *arg), void *arg)
{
	engine_shutdown(client_local_of(c)->e, 5000, done, arg);
}

static void
client_local_free(struct client *c)
{
	struct client_local *l = client_local_of(c);
	/* jobs still on the pool finish without us (their done only frees them) */
	while (l->jobs != NULL)
		client_local_job_unlink(l->jobs);
	client_rows_free(&l->rows);
	client_follow_free(&l->follow);
	free(l->todo);
	engine_sliced_cancel(&l->run);
	engine_task_walk_free(&l->walk);
	free(l->tasks);
	free(l->reading);
	engine_task_done(l->task, "the UI left");
	engine_task_release(&l->task);
	free(l);
}

static const struct client_ops client_local_ops = {
	.command = client_local_command,
	.snapshot = client_local_snapshot,
	.list_partial = client_local_list_partial,
	.changes = client_local_changes,
	.torrent = client_local_torrent,
	.queue_position = client_local_queue_position,
	.peers = client_local_peers,
	.files = client_local_files,
	.pieces = client_local_pieces,
	.trackers = client_local_trackers_op,
	.tasks = client_local_tasks,
	.loop_health = client_local_loop_health,
	.log_since = client_local_log_since,
	.complete_path = client_local_complete_path,
	.complete_start = client_local_complete_start,
	.command_start = client_local_command_start,
	.leave = client_local_leave,
	.free = client_local_free,
};

struct client *
client_local_new(struct engine *e)
{
	struct client_local *l = xcalloc(1, sizeof *l);
	l->c.ops = &client_local_ops;
	l->e = e;
	l->slice_us = CLIENT_LOCAL_SLICE_US;
	client_rows_init(&l->rows);
	client_follow_init(&l->follow);
	l->tasks_slice_us = CLIENT_LOCAL_TASKS_SLICE_US;
	l->task = engine_task_new(e, ENGINE_TASK_KIND_UI, 0, "terminal UI: the registry for the "
	    "task screens");
	engine_task_idle(l->task, ENGINE_TASK_READ_WAIT, "waiting for the Tasks or Blocked "
	    "screen");
	return &l->c;
}

void
client_local_set_slice_us(struct client *c, uint64_t us)
{
	client_local_of(c)->slice_us = us > 0 ? us : CLIENT_LOCAL_SLICE_US;
}
