/* hooks.c: running completion and error hooks: fork/exec (no shell unless configured) in their
 * own process group, output read through a libevent event into the log, a poll timer that reaps
 * the child and enforces the timeout. The loop never waits for a hook. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "engine.h"
#include "hooks.h"
#include "log.h"
#include "util.h"

#define HOOK_POLL_MS 50
#define HOOK_KILL_GRACE_MS 2000
#define HOOK_MAX_LOG_LINES 100

extern char **environ;

struct hook {
	struct hooks *h;
	pid_t pid;
	int fd;                    /* read end of its stdout+stderr */
	struct event *read_ev;
	struct event *poll_ev;
	struct engine_task *task;
	char *label;
	struct dp_buf line;        /* a partial output line */
	unsigned lines_logged;
	uint64_t deadline_ms, kill_ms, drain_ms;
	bool exited, eof, termed, killed;
	int status;
	struct hook *next;
};

struct hooks {
	struct engine *e;
	struct event_base *base;
	struct hook *list;
	size_t running;
};

struct hooks *
hooks_new(struct engine *e, struct event_base *base)
{
	struct hooks *h = xcalloc(1, sizeof *h);
	h->e = e;
	h->base = base;
	return h;
}

size_t
hooks_running(const struct hooks *h)
{
	return h->running;
}

void
hooks_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

char **
hooks_split(const char *cmd, char *err, size_t errlen)
{
	size_t n = 0, cap = 4;
	char **argv = xcalloc(cap, sizeof *argv);
	const char *p = cmd;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		struct dp_buf w;
		dp_buf_init(&w);
		char quote = 0;
		for (; *p != '\0'; p++) {
			if (quote == 0 && (*p == ' ' || *p == '\t' || *p == '\n'))
				break;
			if (quote == 0 && (*p == '\'' || *p == '"')) {
				quote = *p;
			} else if (quote != 0 && *p == quote) {
				quote = 0;
			} else if (*p == '\\' && quote != '\'' && p[1] != '\0') {
				p++;
				dp_buf_add(&w, p, 1);
			} else {
				dp_buf_add(&w, p, 1);
			}
		}
		if (quote != 0) {
			snprintf(err, errlen, "unbalanced %c quote in the hook command", quote);
			dp_buf_free(&w);
			hooks_argv_free(argv);
			return NULL;
		}
		if (n + 2 > cap) {
			cap *= 2;
			argv = xreallocarray(argv, cap, sizeof *argv);
		}
		size_t len;
		uint8_t *s = dp_buf_steal(&w, &len);
		argv[n++] = s != NULL ? (char *)s : xstrdup("");
		argv[n] = NULL;
	}
	if (n == 0) {
		snprintf(err, errlen, "the hook command is empty");
		hooks_argv_free(argv);
		return NULL;
	}
	return argv;
}

static void
hook_log_line(struct hook *k, const char *s, size_t len)
{
	if (k->lines_logged == HOOK_MAX_LOG_LINES)
		log_info("%s: more output not logged", k->label);
	if (k->lines_logged++ >= HOOK_MAX_LOG_LINES)
		return;
	log_info("%s: %.*s", k->label, (int)DP_MIN(len, 200), s);
}

static void
hook_free(struct hook *k)
{
	struct hooks *h = k->h;
	for (struct hook **pp = &h->list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	}
	h->running--;
	if (k->read_ev != NULL)
		event_free(k->read_ev);
	if (k->poll_ev != NULL)
		event_free(k->poll_ev);
	if (k->fd >= 0)
		close(k->fd);
	dp_buf_free(&k->line);
	free(k->label);
	engine_task_release(&k->task);
	free(k);
}

/* Both the exit and the end of output seen: report and forget the hook. */
static void
hook_maybe_finish(struct hook *k)
{
	if (!k->exited || !k->eof)
		return;
	if (k->line.len > 0)
		hook_log_line(k, (const char *)k->line.data, k->line.len);
	int st = k->status;
	if (k->killed || k->termed) {
		log_error("%s: killed after its timeout", k->label);
		engine_task_fail(k->task, "timed out, killed");
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		log_info("%s: exited with status 0", k->label);
		engine_task_done(k->task, "exit status 0");
	} else if (WIFEXITED(st)) {
		log_warn("%s: exited with status %d", k->label, WEXITSTATUS(st));
		engine_task_fail(k->task, "exit status %d", WEXITSTATUS(st));
	} else {
		log_warn("%s: killed by signal %d", k->label, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		engine_task_fail(k->task, "killed by signal %d",
		    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	}
	hook_free(k);
}

static void
hook_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *k = arg;
	(void)what;
	engine_task_cb_begin(k->task);
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
		engine_task_cb_end(k->task);
		return;
	}
	if (n <= 0) {
		if (n < 0)
			log_warn("%s: reading its output: %s", k->label, strerror(errno));
		k->eof = true;
		event_del(k->read_ev);
		engine_task_cb_end(k->task);
		hook_maybe_finish(k);
		return;
	}
	engine_task_progress(k->task, (uint64_t)n, 0);
	dp_buf_add(&k->line, buf, (size_t)n);
	/* Log whole lines; keep the tail, but never more than a screenful. */
	size_t start = 0;
	for (size_t i = 0; i < k->line.len; i++) {
		if (k->line.data[i] == '\n') {
			hook_log_line(k, (const char *)k->line.data + start, i - start);
			start = i + 1;
		}
	}
	if (k->line.len - start > 1024) {
		hook_log_line(k, (const char *)k->line.data + start, k->line.len - start);
		start = k->line.len;
	}
	memmove(k->line.data, k->line.data + start, k->line.len - start);
	k->line.len -= start;
	engine_task_cb_end(k->task);
}

static void
hook_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *k = arg;
	(void)fd;
	(void)what;
	engine_task_cb_begin(k->task);
	if (!k->exited) {
		pid_t r = waitpid(k->pid, &k->status, WNOHANG);
		if (r == k->pid) {
			k->exited = true;
		} else if (r < 0 && errno != EINTR) {
			log_error("%s: waitpid: %s", k->label, strerror(errno));
			k->exited = true;
			k->status = 0x7f00;
		}
	}
	uint64_t now = dp_now_ms();
	if (!k->exited && !k->termed && now >= k->deadline_ms) {
		k->termed = true;
		k->kill_ms = now + HOOK_KILL_GRACE_MS;
		log_warn("%s: still running after its timeout: SIGTERM", k->label);
		kill(-k->pid, SIGTERM);
		engine_task_wait(k->task, ENGINE_TASK_TIMER_WAIT,
		    "timed out, waiting %d ms after SIGTERM", HOOK_KILL_GRACE_MS);
	} else if (!k->exited && k->termed && !k->killed && now >= k->kill_ms) {
		k->killed = true;
		kill(-k->pid, SIGKILL);
	}
	if (k->exited) {
		/* Grandchildren may hold the pipe open: read what the hook left for a second, then
		 * stop listening. */
		if (k->drain_ms == 0)
			k->drain_ms = now + 1000;
		if (!k->eof && (k->termed || now >= k->drain_ms)) {
			k->eof = true;
			event_del(k->read_ev);
		}
		if (!k->eof) {
			engine_task_cb_end(k->task);
			return;
		}
		event_del(k->poll_ev);
	}
	engine_task_cb_end(k->task);
	hook_maybe_finish(k);
}

/* A NULL-terminated copy of environ with env's names replaced or added. */
static char **
hook_make_env(const char *const *env)
{
	size_t n = 0, m = 0;
	while (environ != NULL && environ[n] != NULL)
		n++;
	while (env != NULL && env[m] != NULL)
		m++;
	char **out = xcalloc(n + m + 1, sizeof *out);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		bool replaced = false;
		for (size_t j = 0; j < m && !replaced; j++)
			replaced = strncmp(env[j], environ[i], nl) == 0 && env[j][nl] == '=';
		if (!replaced)
			out[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		out[k++] = (char *)(uintptr_t)env[j];
	out[k] = NULL;
	return out;
}

int
hooks_run(struct hooks *h, const char *cmd, bool shell, int timeout_s,
    const char *const *env, int torrent_id, const char *label, char *err, size_t errlen)
{
	char **argv;
	if (shell) {
		argv = xcalloc(4, sizeof *argv);
		argv[0] = xstrdup("/bin/sh");
		argv[1] = xstrdup("-c");
		argv[2] = xstrdup(cmd);
	} else if ((argv = hooks_split(cmd, err, errlen)) == NULL) {
		return -1;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		hooks_argv_free(argv);
		return -1;
	}
	/* Everything the child needs is built before fork: other threads may hold malloc's lock. */
	char **envp = hook_make_env(env);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		if (devnull >= 0)
			close(devnull);
		free(envp);
		hooks_argv_free(argv);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		/* Every other descriptor is O_CLOEXEC or closed here. */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		environ = envp;
		execvp(argv[0], argv);
		static const char msg[] = "cannot execute the hook command\n";
		if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
			/* nothing left to report to */
		}
		_exit(127);
	}
	setpgid(pid, pid);   /* also from here, so kill(-pid) works at once */
	close(p[1]);
	if (devnull >= 0)
		close(devnull);
	free(envp);
	struct hook *k = xcalloc(1, sizeof *k);
	k->h = h;
	k->pid = pid;
	k->fd = p[0];
	k->label = xstrdup(label);
	dp_buf_init(&k->line);
	k->deadline_ms = dp_now_ms() + (uint64_t)(timeout_s > 0 ? timeout_s : 1) * 1000;
	evutil_make_socket_nonblocking(k->fd);
	k->task = engine_task_new(h->e, ENGINE_TASK_KIND_HOOK, torrent_id, "%s", label);
	engine_task_set_deadline(k->task,
	    dp_now_us() + (uint64_t)(timeout_s > 0 ? timeout_s : 1) * 1000000u);
	engine_task_wait(k->task, ENGINE_TASK_READ_WAIT, "running %s (PID %ld)", argv[0],
	    (long)pid);
	k->read_ev = event_new(h->base, k->fd, EV_READ | EV_PERSIST, hook_read_cb, k);
	k->poll_ev = event_new(h->base, -1, EV_PERSIST, hook_poll_cb, k);
	k->next = h->list;
	h->list = k;
	h->running++;
	log_info("%s: started %s (PID %ld)", label, shell ? "/bin/sh -c" : argv[0], (long)pid);
	hooks_argv_free(argv);
	struct timeval tv = { 0, HOOK_POLL_MS * 1000 };
	if (k->read_ev == NULL || k->poll_ev == NULL || event_add(k->read_ev, NULL) < 0 ||
	    event_add(k->poll_ev, &tv) < 0) {
		/* Without events we can't watch it: stop it now rather than leak a zombie. */
		kill(-pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		engine_task_fail(k->task, "can't watch the hook");
		hook_free(k);
		snprintf(err, errlen, "can't set up events for the hook");
		return -1;
	}
	return 0;
}

void
hooks_free(struct hooks *h, unsigned wait_ms)
{
	if (h == NULL)
		return;
	uint64_t end = dp_now_ms() + wait_ms;
	while (h->list != NULL) {
		struct hook *k = h->list;
		if (!k->exited) {
			pid_t r = waitpid(k->pid, &k->status, WNOHANG);
			if (r == k->pid || (r < 0 && errno != EINTR))
				k->exited = true;
		}
		if (!k->exited && dp_now_ms() < end) {
			usleep(20000);
			continue;
		}
		if (!k->exited) {
			log_warn("%s: still running at exit: killed", k->label);
			kill(-k->pid, SIGKILL);
			while (waitpid(k->pid, &k->status, 0) < 0 && errno == EINTR)
				;
			k->exited = k->killed = true;
		}
		/* Whatever output is left is dropped; the exit status is still logged. */
		k->eof = true;
		hook_maybe_finish(k);
	}
	free(h);
}
