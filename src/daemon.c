/* daemon.c: detaching (double fork, setsid) with a status pipe so `downpour daemon` exits 1 with
 * the reason when the daemon can't start, standard streams to the log, and the PID file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "util.h"

/* The launcher: wait for the status byte and message, then exit with it. */
static void DP_NORETURN
daemon_launcher_wait(int fd, pid_t child)
{
	char buf[1024];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len >= sizeof buf - 1)
			break;
	}
	buf[len] = '\0';
	/* Reap the intermediate child (it exits right after the second fork). */
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	if (len == 0) {
		fprintf(stderr, "downpour: the daemon exited during start-up (see its log)\n");
		_exit(1);
	}
	int status = (unsigned char)buf[0];
	if (status != 0 && len > 1)
		fprintf(stderr, "downpour: %s\n", buf + 1);
	_exit(status);
}

int
daemon_detach(int *notify_fd, char *err, size_t errlen)
{
	int p[2];
	if (pipe(p) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		daemon_launcher_wait(p[0], pid);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	/* The second fork: the session leader exits so the daemon can never regain a terminal. */
	signal(SIGHUP, SIG_IGN);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	signal(SIGHUP, SIG_DFL);
	umask(022);
	if (chdir("/") < 0) {
		/* "/" always exists; nothing depends on the directory afterwards. */
	}
	if (fcntl(p[1], F_SETFD, FD_CLOEXEC) < 0) {
		/* Only matters for hooks, which close inherited descriptors anyway. */
	}
	*notify_fd = p[1];
	return 0;
}

void
daemon_ready(int fd, int status, const char *msg)
{
	if (fd < 0)
		return;
	char buf[1024];
	buf[0] = (char)status;
	size_t len = 1;
	if (msg != NULL) {
		size_t m = strlen(msg);
		if (m > sizeof buf - 1)
			m = sizeof buf - 1;
		memcpy(buf + 1, msg, m);
		len += m;
	}
	ssize_t n;
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	close(fd);
}

int
daemon_redirect_stdio(const char *log_path, char *err, size_t errlen)
{
	int in = open("/dev/null", O_RDONLY);
	if (in < 0) {
		snprintf(err, errlen, "/dev/null: %s", strerror(errno));
		return -1;
	}
	const char *out_path = log_path != NULL ? log_path : "/dev/null";
	int out = open(out_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (out < 0) {
		snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
		close(in);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(out, STDERR_FILENO) < 0) {
		snprintf(err, errlen, "dup2: %s", strerror(errno));
		close(in);
		close(out);
		return -1;
	}
	if (in > STDERR_FILENO)
		close(in);
	if (out > STDERR_FILENO)
		close(out);
	return 0;
}

int
daemon_write_pidfile(const char *path, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

void
daemon_remove_pidfile(const char *path)
{
	uint8_t *buf;
	size_t len;
	if (path == NULL || dp_read_file(path, 64, &buf, &len) < 0)
		return;
	long pid = strtol((const char *)buf, NULL, 10);
	free(buf);
	if (pid == (long)getpid())
		unlink(path);
}
