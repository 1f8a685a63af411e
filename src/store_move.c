/* store_move.c: the session store's finished data: moving it to completed_dir (then the
 * completion hook) or where torrent-set-location says, and running the completion and error
 * hooks. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "engine_policy.h"
#include "hooks.h"
#include "log.h"
#include "resume.h"
#include "store_private.h"
#include "util.h"

struct store_move {
	char **src, **dst;
	size_t n;
	char *from_dir, *to_dir;
	char *top;                    /* the torrent's folder (multi-file) or NULL */
	bool completed;               /* to completed_dir: the completion hook runs after */
	bool find;                    /* nothing moves: the torrent checks the data at to_dir */
};

/* ---- hooks ---- */

void
store_run_hook(struct store *s, int id, const char *cmd, const char *event)
{
	if (cmd == NULL || cmd[0] == '\0')
		return;
	struct engine_policy_names nm;
	struct engine_torrent_stats st;
	if (engine_policy_names(s->e, id, &nm) < 0 || engine_torrent_get(s->e, id, &st) < 0)
		return;
	char *env[12];
	size_t n = 0;
	env[n++] = xasprintf("DOWNPOUR_EVENT=%s", event);
	env[n++] = xasprintf("DOWNPOUR_NAME=%s", nm.display_name);
	env[n++] = xasprintf("DOWNPOUR_HASH=%s", nm.info_hash_hex);
	env[n++] = xasprintf("DOWNPOUR_DIR=%s", nm.save_dir);
	env[n++] = xasprintf("DOWNPOUR_PATH=%s/%s", nm.save_dir, nm.name);
	env[n++] = xasprintf("DOWNPOUR_ID=%d", id);
	env[n++] = xasprintf("DOWNPOUR_SIZE=%llu", (unsigned long long)st.total_size);
	env[n++] = xasprintf("DOWNPOUR_FILES=%zu", st.file_count);
	env[n++] = xasprintf("DOWNPOUR_ERROR=%s", st.state == ENGINE_TORRENT_ERROR ? st.error : "");
	env[n++] = xasprintf("DOWNPOUR_UPLOADED=%llu", (unsigned long long)st.uploaded);
	env[n++] = xasprintf("DOWNPOUR_DOWNLOADED=%llu", (unsigned long long)st.downloaded);
	env[n] = NULL;
	char label[300], err[256];
	snprintf(label, sizeof label, "%s hook for %s", event, nm.name);
	if (hooks_run(s->hooks, cmd, s->hook_shell, s->hook_timeout, (const char *const *)env,
	    id, label, err, sizeof err) < 0)
		log_error("%s: %s", label, err);
	for (size_t i = 0; i < n; i++)
		free(env[i]);
}

/* ---- moving finished data ---- */

/* The directory that is to hold rel's last component under root, made where missing and
 * walked with O_NOFOLLOW at each step, as the storage does: a link planted in completed_dir
 * would aim the move at another user's directory (issue 11, finding 9). The fd, with *name
 * pointing into rel; -1 with err. */
static int
store_move_open_parent(const char *root, const char *rel, const char **name, char *err,
    size_t errlen)
{
	int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT) {
		/* The destination itself (completed_dir, a new location) is made as named. */
		char *p = xstrdup(root);
		for (char *q = p + 1;; q++) {
			if (*q != '/' && *q != '\0')
				continue;
			char c = *q;
			*q = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				break;
			*q = c;
			if (c == '\0')
				break;
		}
		free(p);
		dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0) {
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	const char *comp = rel;
	for (const char *sl; (sl = strchr(comp, '/')) != NULL; comp = sl + 1) {
		char part[NAME_MAX + 1];
		snprintf(part, sizeof part, "%.*s", (int)DP_MIN((size_t)(sl - comp), (size_t)NAME_MAX),
		    comp);
		if (mkdirat(dfd, part, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s/%.*s: can't create: %s", root, (int)(sl - rel), rel,
			    strerror(errno));
			close(dfd);
			return -1;
		}
		int nfd = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			int e = errno;
			snprintf(err, errlen, "%s/%.*s: %s", root, (int)(sl - rel), rel,
			    e == ELOOP || e == ENOTDIR ? "a symbolic link or not a directory; not "
			    "moving through it" : strerror(e));
			close(dfd);
			return -1;
		}
		close(dfd);
		dfd = nfd;
	}
	*name = comp;
	return dfd;
}

/* Copies across filesystems into a new file (O_EXCL: never over an existing file or through a
 * link at its name): data, fsync; then the caller unlinks the source. */
static int
store_copy_file(const char *src, int dfd, const char *name, const char *dst, char *err,
    size_t errlen)
{
	FILE *in = fopen(src, "rbe");
	if (in == NULL) {
		snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return -1;
	}
	int ofd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *out = ofd >= 0 ? fdopen(ofd, "wb") : NULL;
	if (out == NULL) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", dst, e == EEXIST ? "exists; not replacing it" :
		    strerror(e));
		if (ofd >= 0)
			close(ofd);
		fclose(in);
		return -1;
	}
	char *buf = xmalloc(1 << 20);
	int rc = 0;
	size_t n;
	while ((n = fread(buf, 1, 1 << 20, in)) > 0) {
		if (fwrite(buf, 1, n, out) != n) {
			snprintf(err, errlen, "%s: write: %s", dst, strerror(errno));
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(in)) {
		snprintf(err, errlen, "%s: read: %s", src, strerror(errno));
		rc = -1;
	}
	free(buf);
	fclose(in);
	if (rc == 0 && (fflush(out) != 0 || fsync(fileno(out)) < 0)) {
		snprintf(err, errlen, "%s: sync: %s", dst, strerror(errno));
		rc = -1;
	}
	if (fclose(out) != 0 && rc == 0) {
		snprintf(err, errlen, "%s: close: %s", dst, strerror(errno));
		rc = -1;
	}
	if (rc < 0)
		unlinkat(dfd, name, 0);
	return rc;
}

/* Moves src to name in dfd, never replacing what is there (a file of the same name, or a
 * link): rename with RENAME_NOREPLACE, or a hard link and unlink where the filesystem lacks
 * it. 0, or -1 with errno (EXDEV: another filesystem). */
static int
store_move_noreplace(const char *src, int dfd, const char *name)
{
	if (renameat2(AT_FDCWD, src, dfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(AT_FDCWD, src, dfd, name, 0) < 0)
		return -1;
	if (unlink(src) < 0) {
		int e = errno;
		unlinkat(dfd, name, 0);
		errno = e;
		return -1;
	}
	return 0;
}

/* Worker thread: every file moved (rename, or copy when across filesystems) or none. */
static void
store_move_work(struct resume_job *job)
{
	struct store_move *m = job->ctx;
	bool *copied = xcalloc(m->n ? m->n : 1, sizeof *copied);
	bool *moved = xcalloc(m->n ? m->n : 1, sizeof *moved);
	size_t i;
	for (i = 0; i < m->n; i++) {
		struct stat st;
		if (stat(m->src[i], &st) < 0 && errno == ENOENT)
			continue;   /* a skipped file never written */
		size_t tl = strlen(m->to_dir);
		if (strncmp(m->dst[i], m->to_dir, tl) != 0 || m->dst[i][tl] != '/') {
			snprintf(job->errmsg, sizeof job->errmsg, "%s: not under %s", m->dst[i],
			    m->to_dir);
			break;
		}
		const char *name;
		int dfd = store_move_open_parent(m->to_dir, m->dst[i] + tl + 1, &name, job->errmsg,
		    sizeof job->errmsg);
		if (dfd < 0)
			break;
		resume_job_set_phase(job, "rename");
		if (store_move_noreplace(m->src[i], dfd, name) == 0) {
			moved[i] = true;
			close(dfd);
			continue;
		}
		if (errno != EXDEV) {
			snprintf(job->errmsg, sizeof job->errmsg, "%s: %s", errno == EEXIST ?
			    m->dst[i] : m->src[i], errno == EEXIST ? "exists; not replacing it" :
			    strerror(errno));
			close(dfd);
			break;
		}
		resume_job_set_phase(job, "copy and fsync (another filesystem)");
		int rc = store_copy_file(m->src[i], dfd, name, m->dst[i], job->errmsg,
		    sizeof job->errmsg);
		close(dfd);
		if (rc < 0)
			break;
		copied[i] = true;
	}
	if (i < m->n) {
		/* Put back what moved so the torrent's data stays in one place. */
		job->error = EIO;
		for (size_t k = 0; k < i; k++) {
			if (moved[k] && rename(m->dst[k], m->src[k]) < 0)
				log_error("moving back %s: %s", m->dst[k], strerror(errno));
			if (copied[k])
				unlink(m->dst[k]);
		}
	} else {
		for (size_t k = 0; k < m->n; k++)
			if (copied[k] && unlink(m->src[k]) < 0)
				log_warn("%s: copied but can't remove: %s", m->src[k], strerror(errno));
		/* Remove the directories left empty (deepest first; rmdir fails on non-empty). */
		for (size_t k = m->n; k-- > 0;) {
			char *d = xstrdup(m->src[k]);
			size_t root = strlen(m->from_dir);
			for (char *sl = strrchr(d, '/'); sl != NULL && (size_t)(sl - d) > root;
			    sl = strrchr(d, '/')) {
				*sl = '\0';
				if (rmdir(d) < 0)
					break;
			}
			free(d);
		}
	}
	free(copied);
	free(moved);
}

static void
store_move_free(struct store_move *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->src[i]);
		free(m->dst[i]);
	}
	free(m->src);
	free(m->dst);
	free(m->from_dir);
	free(m->to_dir);
	free(m);
}

static void
store_move_done(struct resume_job *job, void *arg)
{
	struct store *s = arg;
	struct store_move *m = job->ctx;
	struct store_item *it = store_find(s, job->tag);
	struct engine_policy_torrent v;
	if (it != NULL) {
		it->moving = false;
		store_mark(s, it);
	}
	if (it != NULL && engine_policy_torrent(s->e, it->id, 0, &v) == 0) {
		char msg[700];
		if (job->error != 0) {
			snprintf(msg, sizeof msg, "moving to %s: %s", m->to_dir, job->errmsg);
			engine_policy_set_error(s->e, it->id, msg);
		} else {
			if (engine_policy_relocate(s->e, it->id, m->to_dir, msg, sizeof msg) < 0) {
				engine_policy_set_error(s->e, it->id, msg);
			} else {
				/* found there, not moved: what is there is checked (at the start) */
				if (m->find)
					engine_torrent_recheck(s->e, it->id, NULL, 0);
				if (it->want_running && store_admit(s, it))
					engine_policy_start(s->e, it->id);
			}
			store_save(s, it);
			if (m->completed)
				store_run_hook(s, it->id, s->completion_hook, "completed");
		}
	}
	store_move_free(m);
	resume_job_free(job);
}

void
store_move_begin(struct store *s, struct store_item *it)
{
	it->move_waiting = false;
	struct engine_policy_names nm;
	if (engine_policy_names(s->e, it->id, &nm) < 0)
		return;
	engine_policy_close_files(s->e, it->id);
	struct store_move *m = xcalloc(1, sizeof *m);
	m->from_dir = xstrdup(nm.save_dir);
	m->to_dir = xstrdup(it->move_to != NULL ? it->move_to : s->completed_dir);
	m->completed = it->move_to == NULL;
	m->find = it->move_find;
	size_t nsrc = 0, ndst = 0;
	char **src = m->find ? NULL : engine_policy_file_paths(s->e, it->id, NULL, &nsrc);
	char **dst = m->find ? NULL : engine_policy_file_paths(s->e, it->id, m->to_dir, &ndst);
	m->src = xcalloc(nsrc ? nsrc : 1, sizeof *m->src);
	m->dst = xcalloc(nsrc ? nsrc : 1, sizeof *m->dst);
	for (size_t i = 0; i < nsrc && i < ndst; i++) {
		if (src[i] == NULL || dst[i] == NULL)
			continue;   /* pad files */
		m->src[m->n] = src[i];
		m->dst[m->n] = dst[i];
		src[i] = dst[i] = NULL;
		m->n++;
	}
	engine_policy_paths_free(src, nsrc);
	engine_policy_paths_free(dst, ndst);
	if (m->find)
		log_info("%s: looking for the data in %s", nm.name, m->to_dir);
	else
		log_info("%s: moving the data from %s to %s", nm.name, m->from_dir, m->to_dir);
	struct resume_job *job = xcalloc(1, sizeof *job);
	resume_init(&job->resume);
	job->work = store_move_work;
	job->ctx = m;
	job->tag = it->id;
	job->done = store_move_done;
	job->arg = s;
	snprintf(job->label, sizeof job->label, "moving %.60s to %.55s", nm.name, m->to_dir);
	resume_writer_submit(s->mover, job);
}

/* A download finished: move it if configured (then the hook runs), else run the hook now. */
void
store_completed(struct store *s, struct store_item *it)
{
	it->completed_pending = false;
	struct engine_policy_names nm;
	if (engine_policy_names(s->e, it->id, &nm) < 0)
		return;
	if (s->completed_dir != NULL && strcmp(s->completed_dir, nm.save_dir) != 0 &&
	    !it->moving) {
		it->moving = it->move_waiting = true;
		free(it->move_to);
		it->move_to = NULL;
		it->move_find = false;
		engine_policy_stop(s->e, it->id);
		char why[1100];
		snprintf(why, sizeof why, "moving to %s", s->completed_dir);
		engine_policy_set_queued(s->e, it->id, ENGINE_TASK_DISK_WAIT, false, why);
		struct engine_policy_torrent v;
		if (engine_policy_torrent(s->e, it->id, 0, &v) == 0 && v.disk_jobs == 0)
			store_move_begin(s, it);
		return;
	}
	store_save(s, it);
	store_run_hook(s, it->id, s->completion_hook, "completed");
}

/* torrent-set-location: as a finished download's move, to dir, without the completion hook;
 * without move, nothing moves and the data found in dir is checked. */
int
store_set_location(void *arg, int id, const char *dir, bool move, char *err, size_t errlen)
{
	struct store *s = arg;
	struct store_item *it = store_find(s, id);
	struct engine_policy_names nm;
	if (it == NULL || engine_policy_names(s->e, id, &nm) < 0)
		return dp_fail(err, errlen, "no torrent with id %d", id);
	if (it->moving || it->checking)
		return dp_fail(err, errlen, "%s: its data is being moved or checked; try again after",
		    nm.name);
	if (move && strcmp(dir, nm.save_dir) == 0)
		return 0;
	it->moving = it->move_waiting = true;
	free(it->move_to);
	it->move_to = xstrdup(dir);
	it->move_find = !move;
	engine_policy_stop(s->e, id);
	char why[1100];
	snprintf(why, sizeof why, "%s %s", move ? "moving to" : "looking for its data in", dir);
	engine_policy_set_queued(s->e, id, ENGINE_TASK_DISK_WAIT, false, why);
	struct engine_policy_torrent v;
	if (engine_policy_torrent(s->e, id, 0, &v) == 0 && v.disk_jobs == 0)
		store_move_begin(s, it);
	return 0;
}
