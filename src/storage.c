/* storage.c: pieces mapped onto files, the bounded open-file cache (one LRU across all torrents,
 * refcounted descriptors so no lock is held during I/O), sparse creation, pad files, file I/O. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "storage.h"
#include "util.h"

#define STORAGE_MAX_SPANS 64

/* An open descriptor. A cached one belongs to its file; a detached one (evicted or replaced
 * while a worker was using it) is closed by the last user. */
struct storage_fd {
	int fd;
	int dfd;                        /* the same file opened with O_DIRECT, or -1 (writes) */
	bool writable;
	int refs;
	bool detached;
};

#define STORAGE_REPLACED_MAX 8u
struct storage_ident {
	dev_t dev;
	ino_t ino;
};

struct storage_file {
	char *path;                     /* full path */
	struct storage_fd *ofd;         /* cached descriptor or NULL */
	struct storage_file *lru_prev, *lru_next;  /* among files with a cached descriptor */
	/* The file as it was last opened, not yet reported to the release hook (the lock guards
	 * these): kept when its descriptor is evicted, since a mapping of it may outlive that. */
	bool opened;
	dev_t dev;
	ino_t ino;
	/* Files opened under this path before and replaced on disk since (a new inode met by a
	 * later open), not reported yet: a mapping of one keeps a deleted file's blocks. The
	 * oldest of more than STORAGE_REPLACED_MAX goes unreported (a mapping of it goes by its
	 * holder's own checks). */
	struct storage_ident *replaced;
	unsigned nreplaced;
};

struct storage {
	const struct metainfo *mi;
	char *save_dir;
	int max_open;                   /* bound of the process-wide cache when this one opens */
	struct storage_file *files;
	bool no_direct;                 /* O_DIRECT refused here (atomic): buffered writes only */
	bool empty_files_created;
};

/* The descriptor cache is one LRU for every torrent: open_files bounds the process, not each
 * torrent (300 seeding torrents held 514 descriptors with a bound of 128 per torrent). The lock
 * guards ofd, the LRU, the count, refs and empty_files_created of every storage. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct storage_file *lru_head, *lru_tail;   /* most recently used first */
static int open_count;                              /* cached descriptors */
static storage_release_fn storage_release_hook;     /* set once, read with atomics */

void
storage_set_release_hook(storage_release_fn fn)
{
	__atomic_store_n(&storage_release_hook, fn, __ATOMIC_RELEASE);
}

/* Closes a descriptor no one uses any more (path for the log). */
static void
storage_fd_close(struct storage_fd *o, const char *path)
{
	if (close(o->fd) != 0)
		log_warn("close %s: %s", path, strerror(errno));
	if (o->dfd >= 0 && close(o->dfd) != 0)
		log_warn("close %s (O_DIRECT): %s", path, strerror(errno));
	free(o);
}

static void
storage_lock(struct storage *st)
{
	(void)st;
	pthread_mutex_lock(&cache_lock);
}

static void
storage_unlock(struct storage *st)
{
	(void)st;
	pthread_mutex_unlock(&cache_lock);
}

int
storage_open_count(void)
{
	pthread_mutex_lock(&cache_lock);
	int n = open_count;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

/* Index of the file holding byte offset (files are in stream order), skipping empty files. */
static size_t
storage_find_file(const struct metainfo *mi, uint64_t offset)
{
	size_t lo = 0, hi = mi->file_count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (mi->files[mid].offset <= offset)
			lo = mid;
		else
			hi = mid;
	}
	/* Several empty files can share an offset with the next real one. */
	while (lo + 1 < mi->file_count && mi->files[lo].offset + mi->files[lo].length <= offset)
		lo++;
	return lo;
}

size_t
storage_map(const struct metainfo *mi, uint64_t offset, uint32_t len, struct storage_span *out,
    size_t max)
{
	size_t n = 0;
	if (mi->file_count == 0 || len == 0 || offset >= mi->total_size)
		return 0;
	uint64_t end = offset + len;
	if (end > mi->total_size)
		end = mi->total_size;
	size_t i = storage_find_file(mi, offset);
	uint64_t pos = offset;
	for (; i < mi->file_count && pos < end && n < max; i++) {
		const struct mi_file *f = &mi->files[i];
		if (f->length == 0 || f->offset + f->length <= pos)
			continue;
		uint64_t fend = f->offset + f->length;
		uint64_t stop = fend < end ? fend : end;
		out[n].file = i;
		out[n].file_offset = pos - f->offset;
		out[n].length = (uint32_t)(stop - pos);
		out[n].buf_offset = (uint32_t)(pos - offset);
		n++;
		pos = stop;
	}
	return n;
}

static char *
storage_build_path(const struct metainfo *mi, const char *save_dir, size_t file)
{
	const char *sep = save_dir[0] != '\0' && save_dir[strlen(save_dir) - 1] != '/' ? "/" : "";
	if (!mi->multi_file)
		return xasprintf("%s%s%s", save_dir, sep, mi->name);
	return xasprintf("%s%s%s/%s", save_dir, sep, mi->name, mi->files[file].path);
}

struct storage *
storage_new(const struct metainfo *mi, const char *save_dir, int max_open_files)
{
	struct storage *st = xcalloc(1, sizeof *st);
	st->mi = mi;
	st->save_dir = xstrdup(save_dir);
	st->max_open = max_open_files > 0 ? max_open_files : 1;
	st->files = xcalloc(mi->file_count, sizeof *st->files);
	for (size_t i = 0; i < mi->file_count; i++)
		st->files[i].path = storage_build_path(mi, st->save_dir, i);
	return st;
}

const char *
storage_save_dir(const struct storage *st)
{
	return st->save_dir;
}

char *
storage_file_path(const struct storage *st, size_t file)
{
	return xstrdup(st->files[file].path);
}

static void
storage_lru_unlink(struct storage *st, struct storage_file *f)
{
	(void)st;
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		lru_head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void
storage_lru_push_front(struct storage *st, struct storage_file *f)
{
	(void)st;
	f->lru_prev = NULL;
	f->lru_next = lru_head;
	if (lru_head)
		lru_head->lru_prev = f;
	else
		lru_tail = f;
	lru_head = f;
}

/* Takes the file's descriptor out of the cache; closes it now if idle, else its last user
 * will. Called with the lock held. */
static void
storage_uncache_locked(struct storage *st, struct storage_file *f)
{
	struct storage_fd *o = f->ofd;
	if (o == NULL)
		return;
	storage_lru_unlink(st, f);
	f->ofd = NULL;
	open_count -= o->dfd >= 0 ? 2 : 1;
	if (o->refs == 0) {
		storage_fd_close(o, f->path);
	} else {
		o->detached = true;
	}
}

/* Evicts idle descriptors, any torrent's, from the cold end until the cache is within its
 * bound. Descriptors in use are detached instead, so the bound holds for the cache; in-use ones
 * are at most one per worker thread. */
static void
storage_evict_locked(struct storage *st, struct storage_file *keep)
{
	struct storage_file *f = lru_tail;
	while (open_count > st->max_open && f != NULL) {
		struct storage_file *prev = f->lru_prev;
		if (f != keep)
			storage_uncache_locked(st, f);
		f = prev;
	}
}

/* Creates the parent directories of path (mode 0755, less the umask). */
static int
storage_make_parents(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			rc = -errno;
			*s = '/';
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

/* Opens the directory that holds file i and points *leaf at the file's last component. Below
 * the save directory (the user's choice, which may itself be a link) the walk goes one
 * component at a time with O_NOFOLLOW: a symbolic link planted in the torrent's folder by
 * someone else must not send our writes, or a delete with data, outside it. With create,
 * missing directories are made (0755 less the umask). Returns a directory fd or -errno. */
static int
storage_open_parent(const struct storage *st, size_t i, bool create, const char **leaf,
    char *err, size_t errlen)
{
	const char *path = st->files[i].path;
	const char *rel = path + strlen(st->save_dir);
	while (*rel == '/')
		rel++;
	const char *root = st->save_dir[0] != '\0' ? st->save_dir : ".";
	int dfd, e;
	do
		dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (dfd < 0 && errno == EINTR);
	if (dfd < 0 && errno == ENOENT && create) {
		char *slashed = xasprintf("%s/", root);
		int rc = storage_make_parents(slashed);
		free(slashed);
		if (rc < 0) {
			snprintf(err, errlen, "create directories for %s: %s", path, strerror(-rc));
			return rc;
		}
		dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0) {
		e = errno;
		snprintf(err, errlen, "open %s for %s: %s", path, create ? "writing" : "deleting",
		    strerror(e));
		return -e;
	}
	char *comp = xstrdup(rel);
	char *c = comp;
	for (char *s = strchr(c, '/'); s != NULL; c = s + 1, s = strchr(c, '/')) {
		*s = '\0';
		int nfd = openat(dfd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(dfd, c, 0755) != 0 && errno != EEXIST) {
				e = errno;
				snprintf(err, errlen, "create directories for %s: %s", path,
				    strerror(e));
				goto fail;
			}
			nfd = openat(dfd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			e = errno;
			if (e == ELOOP || e == ENOTDIR)
				snprintf(err, errlen, "%s: %.*s is a symbolic link or not a folder; "
				    "not following it", path, (int)(s - comp) + (int)(rel - path),
				    path);
			else
				snprintf(err, errlen, "open %s: %s", path, strerror(e));
			goto fail;
		}
		close(dfd);
		dfd = nfd;
	}
	*leaf = rel + (c - comp);
	free(comp);
	return dfd;
fail:
	free(comp);
	close(dfd);
	return -e;
}

/* Creates leaf in the directory dfd at its full size (sparse), atomically where the filesystem
 * allows: an unnamed O_TMPFILE sized first, then linked in, so no reader ever sees it short.
 * Returns an fd or -errno; a file another thread created meanwhile is opened instead. */
static int
storage_create_sized(int dfd, const char *leaf, const char *path, uint64_t length, char *err,
    size_t errlen)
{
	int fd, e;
	do
		fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	while (fd < 0 && errno == EINTR);
	if (fd >= 0) {
		char proc[64];
		if (ftruncate(fd, (off_t)length) != 0) {
			e = errno;
			snprintf(err, errlen, "create %s with %llu bytes: %s", path,
			    (unsigned long long)length, strerror(e));
			close(fd);
			return -e;
		}
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, dfd, leaf, AT_SYMLINK_FOLLOW) == 0)
			return fd;
		e = errno;
		close(fd);
		if (e != EEXIST && e != ENOENT) {
			snprintf(err, errlen, "create %s: %s", path, strerror(e));
			return -e;
		}
		/* EEXIST: another thread won; ENOENT: no /proc. Either way, plain open below. */
	} else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
		e = errno;
		snprintf(err, errlen, "create %s: %s", path, strerror(e));
		return -e;
	}
	fd = dp_open_regular(dfd, leaf, O_RDWR | O_CREAT | O_NOFOLLOW, 0644);
	if (fd < 0) {
		e = errno;
		if (e == ELOOP)
			snprintf(err, errlen, "create %s: it is a symbolic link; not writing through "
			    "it", path);
		else
			snprintf(err, errlen, "create %s: %s", path, dp_strerror(e));
		return -e;
	}
	return fd;
}

/* Opens file i for reading or writing, with its fstat in *sb; creates it (and its directories)
 * when writing. Reads
 * follow symbolic links (seeding from linked data works, and a piece is only served once its
 * hash matched); writes never do (storage_open_parent). Whatever is not a regular file (a FIFO
 * planted in a shared download directory would hang a worker for good) is refused. */
static int
storage_open_fd(struct storage *st, size_t i, bool write, struct stat *sb, char *err,
    size_t errlen)
{
	const struct storage_file *f = &st->files[i];
	int fd;
	if (!write) {
		fd = dp_open_regular(AT_FDCWD, f->path, O_RDONLY, 0);
		if (fd < 0 || fstat(fd, sb) != 0) {
			int e = errno;
			snprintf(err, errlen, "open %s for reading: %s", f->path, dp_strerror(e));
			if (fd >= 0)
				close(fd);
			return -e;
		}
		return fd;
	}
	const char *leaf;
	int dfd = storage_open_parent(st, i, true, &leaf, err, errlen);
	if (dfd < 0)
		return dfd;
	fd = dp_open_regular(dfd, leaf, O_RDWR | O_NOFOLLOW, 0);
	if (fd < 0 && errno == ENOENT) {
		fd = storage_create_sized(dfd, leaf, f->path, st->mi->files[i].length, err, errlen);
		close(dfd);
		if (fd < 0)
			return fd;
	} else if (fd < 0) {
		int e = errno;
		close(dfd);
		if (e == ELOOP)
			snprintf(err, errlen, "open %s for writing: it is a symbolic link; not "
			    "writing through it", f->path);
		else
			snprintf(err, errlen, "open %s for writing: %s", f->path, dp_strerror(e));
		return -e;
	} else {
		close(dfd);
	}
	/* Sparse: the file gets its full size without allocating blocks, so its size on disk says
	 * it is ours and readers of other pieces see holes (zeros), not EOF. */
	uint64_t want = st->mi->files[i].length;
	if (fstat(fd, sb) != 0) {
		int e = errno;
		snprintf(err, errlen, "stat %s: %s", f->path, strerror(e));
		close(fd);
		return -e;
	}
	if (S_ISREG(sb->st_mode) && (uint64_t)sb->st_size < want &&
	    ftruncate(fd, (off_t)want) != 0) {
		int e = errno;
		snprintf(err, errlen, "extend %s to %llu bytes: %s", f->path,
		    (unsigned long long)want, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* The file f was last opened as is replaced by another under its path: its identity waits
 * for the release hook with the new one's (the lock is held). */
static void
storage_note_replaced(struct storage_file *f)
{
	if (f->replaced == NULL)
		f->replaced = xcalloc(STORAGE_REPLACED_MAX, sizeof *f->replaced);
	for (unsigned k = 0; k < f->nreplaced; k++)
		if (f->replaced[k].dev == f->dev && f->replaced[k].ino == f->ino)
			return;
	if (f->nreplaced == STORAGE_REPLACED_MAX) {
		memmove(f->replaced, f->replaced + 1, (STORAGE_REPLACED_MAX - 1) * sizeof *f->replaced);
		f->nreplaced--;
	}
	f->replaced[f->nreplaced].dev = f->dev;
	f->replaced[f->nreplaced].ino = f->ino;
	f->nreplaced++;
}

/* Returns a referenced descriptor for file i, from the cache or newly opened (outside the lock). */
static struct storage_fd *
storage_acquire(struct storage *st, size_t i, bool write, int *rc, char *err, size_t errlen)
{
	struct storage_file *f = &st->files[i];
	storage_lock(st);
	if (f->ofd != NULL && (f->ofd->writable || !write)) {
		struct storage_fd *o = f->ofd;
		o->refs++;
		storage_lru_unlink(st, f);
		storage_lru_push_front(st, f);
		storage_unlock(st);
		return o;
	}
	storage_unlock(st);

	struct stat sb;
	int fd = storage_open_fd(st, i, write, &sb, err, errlen);
	if (fd < 0) {
		*rc = fd;
		return NULL;
	}

	storage_lock(st);
	struct storage_fd *o;
	if (f->ofd != NULL && (f->ofd->writable || !write)) {
		/* Another worker opened it meanwhile: use theirs. */
		o = f->ofd;
		o->refs++;
		storage_lru_unlink(st, f);
		storage_lru_push_front(st, f);
		storage_unlock(st);
		close(fd);
		return o;
	}
	/* A read-only descriptor is replaced by a writable one. */
	storage_uncache_locked(st, f);
	o = xcalloc(1, sizeof *o);
	o->fd = fd;
	o->dfd = -1;
	o->writable = write;
	o->refs = 1;
	f->ofd = o;
	if (f->opened && (f->dev != sb.st_dev || f->ino != sb.st_ino))
		storage_note_replaced(f);
	f->opened = true;
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	storage_lru_push_front(st, f);
	open_count++;
	storage_evict_locked(st, f);
	storage_unlock(st);
	return o;
}

static void
storage_release(struct storage *st, struct storage_fd *o, size_t i)
{
	storage_lock(st);
	o->refs--;
	bool close_now = o->detached && o->refs == 0;
	storage_unlock(st);
	if (close_now)
		storage_fd_close(o, st->files[i].path);
}

/* The O_DIRECT descriptor of file i, whose cached descriptor is o: opened with its first direct
 * write and kept beside o (an open and a close of /proc/self/fd/N for every piece cost a path
 * lookup each). It counts against the cache's bound while o is cached, and may push other files'
 * descriptors out. Returns it, or -errno. */
static int
storage_direct_fd(struct storage *st, struct storage_fd *o, size_t i)
{
	storage_lock(st);
	int dfd = o->dfd;
	storage_unlock(st);
	if (dfd >= 0)
		return dfd;
	/* The same file as the cached descriptor, reopened through it (no path lookup). */
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
	do
		dfd = open(proc, O_WRONLY | O_DIRECT | O_CLOEXEC);
	while (dfd < 0 && errno == EINTR);
	if (dfd < 0)
		return -errno;
	storage_lock(st);
	if (o->dfd < 0) {
		o->dfd = dfd;
		if (!o->detached) {
			open_count++;
			storage_evict_locked(st, &st->files[i]);
		}
		dfd = -1;
	}
	int keep = o->dfd;
	storage_unlock(st);
	if (dfd >= 0)
		close(dfd);     /* another worker's came first */
	return keep;
}

/* Empty files cover no bytes, so no write reaches them: create them with the first write. */
static int
storage_create_empty_files(struct storage *st, char *err, size_t errlen)
{
	storage_lock(st);
	bool done = st->empty_files_created;
	st->empty_files_created = true;
	storage_unlock(st);
	if (done)
		return 0;
	for (size_t i = 0; i < st->mi->file_count; i++) {
		if (st->mi->files[i].length != 0 || st->mi->files[i].pad || st->mi->files[i].symlink)
			continue;
		struct stat sb;
		int fd = storage_open_fd(st, i, true, &sb, err, errlen);
		if (fd < 0)
			return fd;
		close(fd);
	}
	return 0;
}

static int
storage_pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off, const char *path,
    char *err, size_t errlen)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			snprintf(err, errlen, "write %s at offset %llu: %s", path,
			    (unsigned long long)off, strerror(e));
			return -e;
		}
		if (n == 0) {
			snprintf(err, errlen, "write %s at offset %llu: no progress", path,
			    (unsigned long long)off);
			return -EIO;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Writes one span. Where the buffer, the offset and the length allow (4 KiB aligned), the bytes
 * go with O_DIRECT from the piece buffer to the disk: copying a download into the page cache
 * was most of its CPU time (and it evicted everything else). The unaligned tail, and filesystems
 * without O_DIRECT (tmpfs), take the buffered descriptor. */
static int
storage_write_span(struct storage *st, struct storage_fd *o, const struct storage_span *s,
    const uint8_t *p, char *err, size_t errlen)
{
	const char *path = st->files[s->file].path;
	uint32_t direct = 0;
	if (!__atomic_load_n(&st->no_direct, __ATOMIC_RELAXED) &&
	    (uintptr_t)p % STORAGE_DIRECT_ALIGN == 0 && s->file_offset % STORAGE_DIRECT_ALIGN == 0)
		direct = s->length & ~(STORAGE_DIRECT_ALIGN - 1);
	if (direct > 0) {
		int dfd = storage_direct_fd(st, o, s->file);
		if (dfd < 0) {
			/* The buffered descriptor still works: use it (for good when the filesystem
			 * refuses O_DIRECT or there is no /proc). */
			if (dfd == -EINVAL || dfd == -ENOENT)
				__atomic_store_n(&st->no_direct, true, __ATOMIC_RELAXED);
			direct = 0;
		} else {
			int rc = storage_pwrite_all(dfd, p, direct, s->file_offset, path, err, errlen);
			if (rc == -EINVAL) {
				/* Alignment the device wants is stricter than ours. */
				__atomic_store_n(&st->no_direct, true, __ATOMIC_RELAXED);
				direct = 0;
			} else if (rc < 0) {
				return rc;
			}
		}
	}
	if (direct == s->length)
		return 0;
	return storage_pwrite_all(o->fd, p + direct, s->length - direct, s->file_offset + direct,
	    path, err, errlen);
}

static int
storage_pread_all(int fd, uint8_t *p, size_t len, uint64_t off, const char *path, char *err,
    size_t errlen)
{
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			snprintf(err, errlen, "read %s at offset %llu: %s", path,
			    (unsigned long long)off, strerror(e));
			return -e;
		}
		if (n == 0) {
			snprintf(err, errlen, "read %s at offset %llu: file is shorter than expected",
			    path, (unsigned long long)off);
			return -ENODATA;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Reads or writes every span of [offset, offset+len), STORAGE_MAX_SPANS spans at a time. */
static int
storage_io(struct storage *st, uint64_t offset, uint8_t *data, uint32_t len, bool write,
    char *err, size_t errlen)
{
	struct storage_span spans[STORAGE_MAX_SPANS];
	uint32_t done = 0;
	if (offset > st->mi->total_size || len > st->mi->total_size - offset) {
		snprintf(err, errlen, "%s %s: range %llu+%u beyond the torrent's %llu bytes",
		    write ? "write" : "read", st->mi->name, (unsigned long long)offset, len,
		    (unsigned long long)st->mi->total_size);
		return -EINVAL;
	}
	if (write) {
		int rc = storage_create_empty_files(st, err, errlen);
		if (rc < 0)
			return rc;
	}
	while (done < len) {
		size_t n = storage_map(st->mi, offset + done, len - done, spans, STORAGE_MAX_SPANS);
		if (n == 0) {
			snprintf(err, errlen, "%s %s: no file at offset %llu", write ? "write" : "read",
			    st->mi->name, (unsigned long long)(offset + done));
			return -EINVAL;
		}
		for (size_t k = 0; k < n; k++) {
			const struct storage_span *s = &spans[k];
			uint8_t *p = data + done + s->buf_offset;
			if (st->mi->files[s->file].pad) {
				if (!write)
					memset(p, 0, s->length);
				continue;
			}
			int rc = 0;
			struct storage_fd *o = storage_acquire(st, s->file, write, &rc, err, errlen);
			if (o == NULL)
				return rc;
			if (write)
				rc = storage_write_span(st, o, s, p, err, errlen);
			else
				rc = storage_pread_all(o->fd, p, s->length, s->file_offset,
				    st->files[s->file].path, err, errlen);
			storage_release(st, o, s->file);
			if (rc < 0)
				return rc;
		}
		const struct storage_span *last = &spans[n - 1];
		done += last->buf_offset + last->length;
	}
	return 0;
}

int
storage_write(struct storage *st, uint64_t offset, const uint8_t *data, uint32_t len, char *err,
    size_t errlen)
{
	/* storage_io only reads from data when writing. */
	return storage_io(st, offset, (uint8_t *)(uintptr_t)data, len, true, err, errlen);
}

int
storage_read(struct storage *st, uint64_t offset, uint8_t *data, uint32_t len, char *err,
    size_t errlen)
{
	return storage_io(st, offset, data, len, false, err, errlen);
}

/* One span's own descriptor, checked to hold the span. Returns 0 or -errno with err set. */
static int
storage_open_ref(struct storage *st, const struct storage_span *s, struct storage_file_ref *r,
    char *err, size_t errlen)
{
	const char *path = st->files[s->file].path;
	int rc = 0;
	struct storage_fd *o = storage_acquire(st, s->file, false, &rc, err, errlen);
	if (o == NULL)
		return rc;
	/* Our own descriptor: the cache may close its own while the bytes are still queued. */
	r->fd = fcntl(o->fd, F_DUPFD_CLOEXEC, 0);
	rc = r->fd < 0 ? -errno : 0;
	storage_release(st, o, s->file);
	struct stat sb;
	if (rc == 0 && fstat(r->fd, &sb) != 0)
		rc = -errno;
	if (rc < 0) {
		snprintf(err, errlen, "read %s: %s", path, strerror(-rc));
		return rc;
	}
	if ((uint64_t)sb.st_size < s->file_offset + s->length) {
		/* Where the pread would have met the end: the same error as reading. */
		uint64_t at = DP_MAX((uint64_t)sb.st_size, s->file_offset);
		snprintf(err, errlen, "read %s at offset %llu: file is shorter than expected", path,
		    (unsigned long long)at);
		return -ENODATA;
	}
	return 0;
}

int
storage_open_refs(struct storage *st, uint64_t offset, uint32_t len, struct storage_file_ref *out,
    size_t max, size_t *n, char *err, size_t errlen)
{
	struct storage_span spans[STORAGE_MAX_SPANS];
	*n = 0;
	if (offset > st->mi->total_size || len > st->mi->total_size - offset) {
		snprintf(err, errlen, "read %s: range %llu+%u beyond the torrent's %llu bytes",
		    st->mi->name, (unsigned long long)offset, len,
		    (unsigned long long)st->mi->total_size);
		return -EINVAL;
	}
	size_t ns = storage_map(st->mi, offset, len, spans, DP_MIN(max, (size_t)STORAGE_MAX_SPANS));
	uint32_t mapped = ns > 0 ? spans[ns - 1].buf_offset + spans[ns - 1].length : 0;
	if (mapped < len)
		return -E2BIG;
	for (size_t k = 0; k < ns; k++) {
		out[k].fd = -1;
		out[k].file_offset = spans[k].file_offset;
		out[k].length = spans[k].length;
		*n = k + 1;
		if (st->mi->files[spans[k].file].pad)
			continue;
		int rc = storage_open_ref(st, &spans[k], &out[k], err, errlen);
		if (rc < 0) {
			storage_close_refs(out, *n);
			*n = 0;
			return rc;
		}
	}
	return 0;
}

void
storage_close_refs(struct storage_file_ref *refs, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (refs[k].fd >= 0)
			close(refs[k].fd);
		refs[k].fd = -1;
	}
}

void
storage_readahead(struct storage *st, uint64_t offset, uint64_t len)
{
	struct storage_span spans[STORAGE_MAX_SPANS];
	char err[256];
	while (len > 0 && offset < st->mi->total_size) {
		uint32_t chunk = len > (1u << 30) ? (1u << 30) : (uint32_t)len;
		size_t n = storage_map(st->mi, offset, chunk, spans, STORAGE_MAX_SPANS);
		if (n == 0)
			return;
		for (size_t k = 0; k < n; k++) {
			if (st->mi->files[spans[k].file].pad)
				continue;
			int rc = 0;
			/* A missing file has nothing to read ahead; that is not an error here. */
			struct storage_fd *o = storage_acquire(st, spans[k].file, false, &rc, err,
			    sizeof err);
			if (o == NULL)
				continue;
			posix_fadvise(o->fd, (off_t)spans[k].file_offset, (off_t)spans[k].length,
			    POSIX_FADV_WILLNEED);
			storage_release(st, o, spans[k].file);
		}
		uint64_t mapped = spans[n - 1].buf_offset + (uint64_t)spans[n - 1].length;
		offset += mapped;
		len -= mapped < len ? mapped : len;
	}
}

/* Closes the cached descriptors; with report, tells the release hook of each file opened since
 * it was last told (outside the lock: it may take its time, workers may not wait). */
static void
storage_let_go(struct storage *st, bool report)
{
	storage_release_fn fn = __atomic_load_n(&storage_release_hook, __ATOMIC_ACQUIRE);
	for (size_t i = 0; i < st->mi->file_count; i++) {
		struct storage_file *f = &st->files[i];
		struct storage_ident gone[STORAGE_REPLACED_MAX];
		storage_lock(st);
		storage_uncache_locked(st, f);
		bool tell = report && f->opened && fn != NULL;
		dev_t dev = f->dev;
		ino_t ino = f->ino;
		unsigned ngone = 0;
		if (tell) {
			f->opened = false;
			ngone = f->nreplaced;
			if (ngone > 0)
				memcpy(gone, f->replaced, ngone * sizeof *gone);
			f->nreplaced = 0;
		}
		storage_unlock(st);
		if (tell) {
			fn(dev, ino);
			for (unsigned k = 0; k < ngone; k++)
				fn(gone[k].dev, gone[k].ino);
		}
	}
}

void
storage_close_all(struct storage *st)
{
	storage_let_go(st, true);
}

int
storage_file_stat(struct storage *st, size_t file, uint64_t *size, int64_t *mtime)
{
	struct stat sb;
	if (file >= st->mi->file_count)
		return -EINVAL;
	if (stat(st->files[file].path, &sb) != 0)
		return -errno;
	if (size)
		*size = (uint64_t)sb.st_size;
	if (mtime)
		*mtime = (int64_t)sb.st_mtime;
	return 0;
}

bool
storage_has_data(struct storage *st)
{
	for (size_t i = 0; i < st->mi->file_count; i++) {
		uint64_t size = 0;
		if (!st->mi->files[i].pad && storage_file_stat(st, i, &size, NULL) == 0 && size > 0)
			return true;
	}
	return false;
}

/* Removes the directories between path's parent and stop (exclusive) that are now empty. */
static void
storage_prune_dirs(const char *path, size_t stop_len)
{
	char *p = xstrdup(path);
	for (;;) {
		char *slash = strrchr(p, '/');
		if (slash == NULL || (size_t)(slash - p) <= stop_len)
			break;
		*slash = '\0';
		if (rmdir(p) != 0)
			break;
	}
	free(p);
}

int
storage_delete_files(struct storage *st, char *err, size_t errlen)
{
	const struct metainfo *mi = st->mi;
	int rc = 0;
	/* On a worker: the hook is the loop's (storage_close_all before this told it). */
	storage_let_go(st, false);
	for (size_t i = 0; i < mi->file_count; i++) {
		if (mi->files[i].pad || mi->files[i].symlink)
			continue;
		/* Through the same no-symlink walk as writes: a folder swapped for a link must not
		 * point the unlink at someone else's file of the same name. */
		const char *leaf;
		char why[512];
		int dfd = storage_open_parent(st, i, false, &leaf, why, sizeof why);
		if (dfd < 0) {
			if (dfd != -ENOENT && rc == 0) {
				rc = dfd;
				snprintf(err, errlen, "%s", why);
			}
			continue;
		}
		if (unlinkat(dfd, leaf, 0) != 0 && errno != ENOENT && rc == 0) {
			rc = -errno;
			snprintf(err, errlen, "delete %s: %s", st->files[i].path, strerror(errno));
		}
		close(dfd);
	}
	if (!mi->multi_file)
		return rc;
	/* The torrent's folder and the directories inside it: remove those left empty. */
	const char *sep = st->save_dir[0] != '\0' && st->save_dir[strlen(st->save_dir) - 1] != '/'
	    ? "/" : "";
	char *root = xasprintf("%s%s%s", st->save_dir, sep, mi->name);
	size_t root_len = strlen(root);
	for (size_t i = 0; i < mi->file_count; i++)
		storage_prune_dirs(st->files[i].path, root_len);
	if (rmdir(root) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST &&
	    rc == 0) {
		rc = -errno;
		snprintf(err, errlen, "remove directory %s: %s", root, strerror(errno));
	}
	free(root);
	return rc;
}

void
storage_free(struct storage *st)
{
	if (st == NULL)
		return;
	storage_close_all(st);
	for (size_t i = 0; i < st->mi->file_count; i++) {
		free(st->files[i].path);
		free(st->files[i].replaced);
	}
	free(st->files);
	free(st->save_dir);
	free(st);
}
