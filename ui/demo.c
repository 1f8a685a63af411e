/* demo.c: `downpour --demo`: builds a small multi-file payload and its torrent in a temporary
 * directory, starts `downpour seed` on a loopback port as a separate process, opens a silent
 * listener (accepts at the TCP level, never answers) to show a stalled peer in the blocked view,
 * and cleans everything up (seeder by PID, temp dir) on exit. Loopback only. */
#include "config.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dp_config.h"
#include "engine.h"
#include "log.h"
#include "util.h"
#include "demo.h"

#define DEMO_PAYLOAD_BYTES (24u << 20)

struct demo {
	char dir[512];
	char torrent[600];
	char self[1024];
	pid_t seeder;
	int seeder_port;
	int silent_fd;
	int silent_port;
};

static int
demo_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		log_warn("demo: cannot remove %s: %s", path, strerror(errno));
	return 0;
}

static int
demo_write_file(const char *path, size_t size, uint64_t seed, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	uint8_t buf[65536];
	for (size_t done = 0; done < size;) {
		size_t n = DP_MIN(sizeof buf, size - done);
		for (size_t i = 0; i < n; i++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			buf[i] = (uint8_t)seed;
		}
		if (fwrite(buf, 1, n, f) != n) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			fclose(f);
			return -1;
		}
		done += n;
	}
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Runs self with args, output to log_path; returns the child's pid (wait == false) or its exit
 * status (wait == true), -1 on failure. */
static pid_t
demo_spawn(struct demo *d, char *const args[], const char *log_path, bool wait, char *err,
    size_t errlen)
{
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in >= 0)
			dup2(in, 0);
		if (out >= 0) {
			dup2(out, 1);
			dup2(out, 2);
		}
		execv(d->self, args);
		_exit(127);
	}
	if (!wait)
		return pid;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "'%s %s' failed (see %s)", d->self, args[1], log_path);
		return -1;
	}
	return 0;
}

/* A loopback listening socket on a free port; the caller closes it or keeps it. */
static int
demo_listen(int *port, char *err, size_t errlen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		snprintf(err, errlen, "loopback socket: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static bool
demo_port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

struct demo *
demo_prepare(const char *self, struct dp_config *cfg, char *err, size_t errlen)
{
	struct demo *d = xcalloc(1, sizeof *d);
	char path[1024], port[16];
	d->seeder = -1;
	d->silent_fd = -1;
	ssize_t n = readlink("/proc/self/exe", d->self, sizeof d->self - 1);
	if (n <= 0)
		snprintf(d->self, sizeof d->self, "%s", self);
	else
		d->self[n] = '\0';
	const char *tmp = getenv("TMPDIR");
	snprintf(d->dir, sizeof d->dir, "%s/downpour-demo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(d->dir) == NULL) {
		snprintf(err, errlen, "mkdtemp %s: %s", d->dir, strerror(errno));
		free(d);
		return NULL;
	}
	static const char *const dirs[] = { "seed", "seed/downpour-demo", "seed/downpour-demo/docs",
		"download", "session" };
	for (size_t i = 0; i < DP_ARRAY_LEN(dirs); i++) {
		snprintf(path, sizeof path, "%s/%s", d->dir, dirs[i]);
		if (mkdir(path, 0755) != 0) {
			snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	snprintf(path, sizeof path, "%s/seed/downpour-demo/payload.bin", d->dir);
	if (demo_write_file(path, DEMO_PAYLOAD_BYTES, 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL),
	    err, errlen) != 0)
		goto fail;
	snprintf(path, sizeof path, "%s/seed/downpour-demo/docs/README.txt", d->dir);
	if (demo_write_file(path, 4000, 42, err, errlen) != 0)
		goto fail;
	/* a wide-character name, to show that columns align in display cells */
	snprintf(path, sizeof path, "%s/seed/downpour-demo/docs/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"
	    "\xe3\x81\xae\xe8\xaa\xac\xe6\x98\x8e.txt", d->dir);
	if (demo_write_file(path, 70000, 7, err, errlen) != 0)
		goto fail;

	char log_path[600], content[600];
	snprintf(log_path, sizeof log_path, "%s/demo.log", d->dir);
	snprintf(d->torrent, sizeof d->torrent, "%s/downpour-demo.torrent", d->dir);
	snprintf(content, sizeof content, "%s/seed/downpour-demo", d->dir);
	char *create_args[] = { "downpour", "create", "-o", d->torrent, "-c",
		"downpour demo: a local swarm on loopback", content, NULL };
	if (demo_spawn(d, create_args, log_path, true, err, errlen) != 0)
		goto fail;

	int fd = demo_listen(&d->seeder_port, err, errlen);
	if (fd < 0)
		goto fail;
	close(fd);   /* the seeder binds it next; a tiny race with other programs is acceptable */
	snprintf(port, sizeof port, "%d", d->seeder_port);
	snprintf(path, sizeof path, "%s/seed", d->dir);
	char *seed_args[] = { "downpour", "seed", "-o", path, "--port", port, d->torrent, NULL };
	d->seeder = demo_spawn(d, seed_args, log_path, false, err, errlen);
	if (d->seeder < 0)
		goto fail;
	/* bounded wait for the seeder to listen: 100 x 50 ms */
	bool up = false;
	for (int i = 0; i < 100 && !up; i++) {
		int st;
		if (waitpid(d->seeder, &st, WNOHANG) == d->seeder) {
			d->seeder = -1;
			snprintf(err, errlen, "the seeder exited early (see %s)", log_path);
			goto fail;
		}
		up = demo_port_open(d->seeder_port);
		if (!up)
			usleep(50000);
	}
	if (!up) {
		snprintf(err, errlen, "the seeder did not listen on 127.0.0.1:%d (see %s)",
		    d->seeder_port, log_path);
		goto fail;
	}
	d->silent_fd = demo_listen(&d->silent_port, err, errlen);
	if (d->silent_fd < 0)
		goto fail;

	snprintf(path, sizeof path, "%s/download", d->dir);
	if (config_set(cfg, "download_dir", path, err, errlen) != 0)
		goto fail;
	snprintf(path, sizeof path, "%s/session", d->dir);
	if (config_set(cfg, "session_dir", path, err, errlen) != 0)
		goto fail;
	if (config_set(cfg, "listen_port", "0", err, errlen) != 0)
		goto fail;
	return d;
fail:
	demo_cleanup(d);
	return NULL;
}

int
demo_start(struct demo *d, struct engine *e, char *err, size_t errlen)
{
	int id = 0;
	char addr[64];
	struct engine_add_opts opts = { 0 };
	if (engine_add_torrent_file(e, d->torrent, &opts, &id, err, errlen) != 0)
		return -1;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", d->seeder_port);
	if (engine_torrent_add_peer(e, id, addr, err, errlen) != 0)
		return -1;
	snprintf(addr, sizeof addr, "127.0.0.1:%d", d->silent_port);
	if (engine_torrent_add_peer(e, id, addr, err, errlen) != 0)
		return -1;
	log_info("demo: seeder at 127.0.0.1:%d (pid %d), silent peer at 127.0.0.1:%d, files in %s",
	    d->seeder_port, (int)d->seeder, d->silent_port, d->dir);
	return 0;
}

void
demo_cleanup(struct demo *d)
{
	if (d == NULL)
		return;
	if (d->seeder > 0) {
		int st;
		kill(d->seeder, SIGTERM);
		/* bounded: 60 x 50 ms, then SIGKILL */
		bool gone = false;
		for (int i = 0; i < 60 && !gone; i++) {
			gone = waitpid(d->seeder, &st, WNOHANG) == d->seeder;
			if (!gone)
				usleep(50000);
		}
		if (!gone) {
			kill(d->seeder, SIGKILL);
			waitpid(d->seeder, &st, 0);
		}
	}
	if (d->silent_fd >= 0)
		close(d->silent_fd);
	if (d->dir[0] != '\0' && nftw(d->dir, demo_rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0)
		log_warn("demo: cannot remove %s: %s", d->dir, strerror(errno));
	free(d);
}
