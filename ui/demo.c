/* demo.c: `downpour --demo`: builds a multi-file payload and its torrent in a temporary
 * directory, starts two rate-limited `downpour seed` processes on loopback ports (so the download
 * takes ~25 s and the rates, piece map and tasks visibly move), opens a silent listener (accepts
 * at the TCP level, never answers) to show a stalled peer in the blocked view, and cleans
 * everything up (seeders by PID, temp dir) on exit. Loopback only. */
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

/* 24 MiB from two seeders at 512 KiB/s each: about 24 s on loopback. */
#define DEMO_SEEDERS 2
#define DEMO_SEEDER_RATE "512K"

static const struct {
	const char *path;
	size_t size;
} demo_files[] = {
	{ "payload.bin", 16u << 20 },
	{ "extras/sample-1.bin", 3u << 20 },
	{ "extras/sample-2.bin", 5u << 20 },
	{ "docs/README.txt", 4000 },
	/* a wide-character name, to show that columns align in display cells */
	{ "docs/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe8\xaa\xac\xe6\x98\x8e.txt", 70000 },
};

struct demo {
	char dir[512];
	char torrent[600];
	char self[1024];
	pid_t seeder[DEMO_SEEDERS];
	int seeder_port[DEMO_SEEDERS];
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

/* Writes the seeder's configuration: loopback only, its own session directory (so it never
 * touches the user's session or lock), and the upload limit that paces the demo. */
static int
demo_write_seeder_config(const struct demo *d, int n, char *path, size_t pathlen, char *err,
    size_t errlen)
{
	char session[600];
	snprintf(session, sizeof session, "%s/seeder-session-%d", d->dir, n);
	if (strpbrk(session, "\"\\") != NULL) {
		snprintf(err, errlen, "the temporary directory %s has a quote or backslash in its name",
		    d->dir);
		return -1;
	}
	if (mkdir(session, 0755) != 0) {
		snprintf(err, errlen, "mkdir %s: %s", session, strerror(errno));
		return -1;
	}
	snprintf(path, pathlen, "%s/seeder-%d.conf", d->dir, n);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "# the demo's seeder %d: loopback only, paced by the upload limit\n"
	    "listen_address = \"127.0.0.1\";\nsession_dir = \"%s\";\n"
	    "upload_rate_limit = \"%s\";\n", n, session, DEMO_SEEDER_RATE);
	if (ferror(f) || fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Starts seeder n and waits (bounded: 100 x 50 ms) until it listens. */
static int
demo_start_seeder(struct demo *d, int n, const char *log_path, char *err, size_t errlen)
{
	char conf[700], port[16], seed_dir[600];
	if (demo_write_seeder_config(d, n, conf, sizeof conf, err, errlen) != 0)
		return -1;
	int fd = demo_listen(&d->seeder_port[n], err, errlen);
	if (fd < 0)
		return -1;
	close(fd);   /* the seeder binds it next; a tiny race with other programs is acceptable */
	snprintf(port, sizeof port, "%d", d->seeder_port[n]);
	snprintf(seed_dir, sizeof seed_dir, "%s/seed", d->dir);
	char *seed_args[] = { "downpour", "seed", "--config", conf, "-o", seed_dir, "--port", port,
		d->torrent, NULL };
	d->seeder[n] = demo_spawn(d, seed_args, log_path, false, err, errlen);
	if (d->seeder[n] < 0)
		return -1;
	for (int i = 0; i < 100; i++) {
		int st;
		if (waitpid(d->seeder[n], &st, WNOHANG) == d->seeder[n]) {
			d->seeder[n] = -1;
			snprintf(err, errlen, "seeder %d exited early (see %s)", n + 1, log_path);
			return -1;
		}
		if (demo_port_open(d->seeder_port[n]))
			return 0;
		usleep(50000);
	}
	snprintf(err, errlen, "seeder %d did not listen on 127.0.0.1:%d (see %s)", n + 1,
	    d->seeder_port[n], log_path);
	return -1;
}

struct demo *
demo_prepare(const char *self, struct dp_config *cfg, char *err, size_t errlen)
{
	struct demo *d = xcalloc(1, sizeof *d);
	char path[1024];
	for (int i = 0; i < DEMO_SEEDERS; i++)
		d->seeder[i] = -1;
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
		"seed/downpour-demo/extras", "download", "session" };
	for (size_t i = 0; i < DP_ARRAY_LEN(dirs); i++) {
		snprintf(path, sizeof path, "%s/%s", d->dir, dirs[i]);
		if (mkdir(path, 0755) != 0) {
			snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
	for (size_t i = 0; i < DP_ARRAY_LEN(demo_files); i++) {
		snprintf(path, sizeof path, "%s/seed/downpour-demo/%s", d->dir, demo_files[i].path);
		if (demo_write_file(path, demo_files[i].size, seed + i * 7919, err, errlen) != 0)
			goto fail;
	}

	char log_path[600], content[600];
	snprintf(log_path, sizeof log_path, "%s/demo.log", d->dir);
	snprintf(d->torrent, sizeof d->torrent, "%s/downpour-demo.torrent", d->dir);
	snprintf(content, sizeof content, "%s/seed/downpour-demo", d->dir);
	char *create_args[] = { "downpour", "create", "-o", d->torrent, "-c",
		"downpour demo: a local swarm on loopback", content, NULL };
	if (demo_spawn(d, create_args, log_path, true, err, errlen) != 0)
		goto fail;
	for (int i = 0; i < DEMO_SEEDERS; i++)
		if (demo_start_seeder(d, i, log_path, err, errlen) != 0)
			goto fail;
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
	if (config_set(cfg, "listen_address", "127.0.0.1", err, errlen) != 0)
		goto fail;
	/* Every demo peer is on 127.0.0.1. */
	if (config_set(cfg, "max_peers_per_address", "16", err, errlen) != 0)
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
	for (int i = 0; i < DEMO_SEEDERS; i++) {
		snprintf(addr, sizeof addr, "127.0.0.1:%d", d->seeder_port[i]);
		if (engine_torrent_add_peer(e, id, addr, err, errlen) != 0)
			return -1;
	}
	snprintf(addr, sizeof addr, "127.0.0.1:%d", d->silent_port);
	if (engine_torrent_add_peer(e, id, addr, err, errlen) != 0)
		return -1;
	log_info("demo: seeders at 127.0.0.1:%d (pid %d) and 127.0.0.1:%d (pid %d), %s/s each; "
	    "silent peer at 127.0.0.1:%d; files in %s", d->seeder_port[0], (int)d->seeder[0],
	    d->seeder_port[1], (int)d->seeder[1], DEMO_SEEDER_RATE, d->silent_port, d->dir);
	return 0;
}

void
demo_cleanup(struct demo *d)
{
	if (d == NULL)
		return;
	for (int s = 0; s < DEMO_SEEDERS; s++)
		if (d->seeder[s] > 0)
			kill(d->seeder[s], SIGTERM);
	for (int s = 0; s < DEMO_SEEDERS; s++) {
		if (d->seeder[s] <= 0)
			continue;
		int st;
		/* bounded: 60 x 50 ms, then SIGKILL */
		bool gone = false;
		for (int i = 0; i < 60 && !gone; i++) {
			gone = waitpid(d->seeder[s], &st, WNOHANG) == d->seeder[s];
			if (!gone)
				usleep(50000);
		}
		if (!gone) {
			kill(d->seeder[s], SIGKILL);
			waitpid(d->seeder[s], &st, 0);
		}
	}
	if (d->silent_fd >= 0)
		close(d->silent_fd);
	if (d->dir[0] != '\0' && nftw(d->dir, demo_rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0)
		log_warn("demo: cannot remove %s: %s", d->dir, strerror(errno));
	free(d);
}
