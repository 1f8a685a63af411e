/* lockfile.c: the session directory's lock: fcntl F_SETLK on DIR/lock with our PID written into
 * the file; a refused instance reads the holder's PID with F_GETLK. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lockfile.h"
#include "util.h"

struct lockfile {
	int fd;
	char *path;
};

static pid_t
lockfile_query(int fd)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) < 0)
		return -1;
	return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

pid_t
lockfile_holder(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	pid_t pid = lockfile_query(fd);
	close(fd);
	return pid;
}

struct lockfile *
lockfile_acquire(const char *path, pid_t *holder, char *err, size_t errlen)
{
	*holder = 0;
	/* The session directory may not exist yet (first run): create it and its parents. */
	char *dir = xstrdup(path);
	for (char *q = dir + 1; *q != '\0'; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: can't create: %s", dir, strerror(errno));
			free(dir);
			return NULL;
		}
		*q = '/';
	}
	free(dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: can't open the lock file: %s", path, strerror(errno));
		return NULL;
	}
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int e = errno;
		if (e == EACCES || e == EAGAIN) {
			pid_t pid = lockfile_query(fd);
			*holder = pid > 0 ? pid : 0;
			snprintf(err, errlen, "the session %s is in use by another downpour (PID %ld)",
			    path, (long)(pid > 0 ? pid : 0));
		} else {
			snprintf(err, errlen, "%s: can't lock: %s", path, strerror(e));
		}
		close(fd);
		return NULL;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		snprintf(err, errlen, "%s: can't write our PID: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	struct lockfile *lf = xcalloc(1, sizeof *lf);
	lf->fd = fd;
	lf->path = xstrdup(path);
	return lf;
}

void
lockfile_release(struct lockfile *lf)
{
	if (lf == NULL)
		return;
	/* Emptied, not unlinked: an instance waiting on this inode must not lock a dead file
	 * while a third one creates a new file under the same name. */
	if (ftruncate(lf->fd, 0) < 0) {
		/* Only the stale PID text remains; the lock itself goes with the descriptor. */
	}
	close(lf->fd);
	free(lf->path);
	free(lf);
}
