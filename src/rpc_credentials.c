/* rpc_credentials.c: the RPC's user name and password when none is configured (issue 11,
 * finding 5): any local user could otherwise add a torrent writing into the daemon user's
 * files. Made once with a random password, kept 0600 in the session directory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "rpc_credentials.h"
#include "util.h"

#define RPC_CREDENTIALS_MAX 512

/* Makes the file with O_EXCL, so a file planted meanwhile is never written through. */
static int
rpc_credentials_create(const char *path, char *err, size_t errlen)
{
	uint8_t rnd[18];
	char hex[2 * sizeof rnd + 1], line[64];
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return dp_fail(err, errlen, "rpc: no random bytes for a password");
	dp_hex_encode(rnd, sizeof rnd, hex);
	int n = snprintf(line, sizeof line, "%s:%s\n", RPC_CREDENTIALS_USER, hex);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return dp_fail(err, errlen, "rpc: can't create %s: %s", path, strerror(errno));
	bool ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
	int saved = errno;
	OPENSSL_cleanse(line, sizeof line);
	OPENSSL_cleanse(hex, sizeof hex);
	if (close(fd) < 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		unlink(path);
		return dp_fail(err, errlen, "rpc: can't write %s: %s", path, strerror(saved));
	}
	return 0;
}

static int
rpc_credentials_read(const char *path, char **user, char **pass, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return dp_fail(err, errlen, "rpc: can't open %s: %s", path, strerror(errno));
	struct stat st;
	char buf[RPC_CREDENTIALS_MAX + 1];
	ssize_t n = -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		return dp_fail(err, errlen, "rpc: %s must be a regular file of ours that only we "
		    "may read (mode 0600); remove it to have a new one made", path);
	}
	n = read(fd, buf, RPC_CREDENTIALS_MAX);
	close(fd);
	if (n <= 0)
		return dp_fail(err, errlen, "rpc: can't read %s: %s", path, n < 0 ?
		    strerror(errno) : "empty");
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	char *colon = strchr(buf, ':');
	if (colon == NULL || colon == buf || colon[1] == '\0') {
		OPENSSL_cleanse(buf, sizeof buf);
		return dp_fail(err, errlen, "rpc: %s is not USER:PASSWORD on one line", path);
	}
	*colon = '\0';
	*user = xstrdup(buf);
	*pass = xstrdup(colon + 1);
	OPENSSL_cleanse(buf, sizeof buf);
	return 0;
}

int
rpc_credentials_load(const char *session_dir, char **user, char **pass, char *path,
    size_t pathlen, bool *created, char *err, size_t errlen)
{
	*created = false;
	if (session_dir == NULL || session_dir[0] == '\0')
		return dp_fail(err, errlen, "rpc: no session directory to keep a password in: set "
		    "rpc.username and rpc.password");
	if ((size_t)snprintf(path, pathlen, "%s/%s", session_dir, RPC_CREDENTIALS_FILE) >= pathlen)
		return dp_fail(err, errlen, "rpc: the session directory's path is too long");
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return dp_fail(err, errlen, "rpc: %s: %s", path, strerror(errno));
		if (rpc_credentials_create(path, err, errlen) < 0)
			return -1;
		*created = true;
	}
	return rpc_credentials_read(path, user, pass, err, errlen);
}
