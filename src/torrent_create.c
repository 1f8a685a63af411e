/* torrent_create.c: building a .torrent: the tree walk, piece size, pad files for v2, the parallel
 * hashing (SHA-1 pieces, BEP 52 merkle roots) of pieces read straight from the files with
 * read-ahead, and the atomic write; the encoding is in torrent_create_encode.c. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "bencode.h"
#include "log.h"
#include "merkle.h"
#include "torrent_create.h"

#define TC_MAX_DEPTH 256
#define TC_MAX_FILES (10u * 1000 * 1000)

/* ---- scanning ---- */

struct tc_scan {
	struct tc_tree *tree;
	size_t cap;
	dev_t dev[TC_MAX_DEPTH];      /* the directories being walked, to refuse link loops */
	ino_t ino[TC_MAX_DEPTH];
	int depth;
	char *err;
	size_t errlen;
};

static void
tc_scan_skip(struct tc_scan *sc, const char *fmt, const char *path)
{
	struct tc_tree *t = sc->tree;
	t->skipped = xreallocarray(t->skipped, t->skipped_count + 1, sizeof(char *));
	t->skipped[t->skipped_count++] = xasprintf(fmt, path);
}

static int
tc_scan_add_file(struct tc_scan *sc, const char *path, const char *rel, const struct stat *st)
{
	struct tc_tree *t = sc->tree;
	/* Open it now: an unreadable file is the user's to fix before any hashing starts. */
	int fd = dp_open_regular(AT_FDCWD, path, O_RDONLY, 0);
	if (fd < 0) {
		dp_fail(sc->err, sc->errlen, "%s: cannot open: %s", path, dp_strerror(errno));
		return TC_ERR_INPUT;
	}
	close(fd);
	if (t->count >= TC_MAX_FILES) {
		dp_fail(sc->err, sc->errlen, "%s: more than %u files", path, TC_MAX_FILES);
		return TC_ERR_INPUT;
	}
	if (t->count == sc->cap) {
		sc->cap = sc->cap == 0 ? 64 : sc->cap * 2;
		t->files = xreallocarray(t->files, sc->cap, sizeof *t->files);
	}
	struct tc_file *f = &t->files[t->count++];
	f->path = xstrdup(path);
	f->rel = xstrdup(rel);
	f->length = (uint64_t)st->st_size;
	f->offset = t->total;
	f->pad = false;
	/* libtorrent marks a file 'x' from lstat: a symbolic link (whose own mode is 0777) counts
	 * as executable too, and the info-hashes must match what it computes for the folder. */
	struct stat lst;
	f->exec = lstat(path, &lst) == 0 && (lst.st_mode & S_IXUSR) != 0;
	if (t->total + f->length < t->total) {
		dp_fail(sc->err, sc->errlen, "%s: total size overflows", path);
		return TC_ERR_INPUT;
	}
	t->total += f->length;
	return TC_OK;
}

static int
tc_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int tc_scan_dir(struct tc_scan *sc, const char *path, const char *rel,
    const struct stat *st);

/* One directory entry (or the root): follows links, recurses into directories. */
static int
tc_scan_entry(struct tc_scan *sc, const char *path, const char *rel)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		struct stat lst;
		if (errno == ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
			tc_scan_skip(sc, "%s: broken symbolic link, left out", path);
			return TC_OK;
		}
		dp_fail(sc->err, sc->errlen, "%s: %s", path, strerror(errno));
		return TC_ERR_INPUT;
	}
	if (S_ISREG(st.st_mode))
		return tc_scan_add_file(sc, path, rel, &st);
	if (S_ISDIR(st.st_mode))
		return tc_scan_dir(sc, path, rel, &st);
	tc_scan_skip(sc, "%s: not a regular file or directory, left out", path);
	return TC_OK;
}

static int
tc_scan_dir(struct tc_scan *sc, const char *path, const char *rel, const struct stat *st)
{
	for (int i = 0; i < sc->depth; i++) {
		if (sc->dev[i] == st->st_dev && sc->ino[i] == st->st_ino) {
			dp_fail(sc->err, sc->errlen, "%s: symbolic link loop (leads back to a "
			    "directory being scanned)", path);
			return TC_ERR_INPUT;
		}
	}
	if (sc->depth >= TC_MAX_DEPTH) {
		dp_fail(sc->err, sc->errlen, "%s: directories nested deeper than %d", path,
		    TC_MAX_DEPTH);
		return TC_ERR_INPUT;
	}
	DIR *d = opendir(path);
	if (d == NULL) {
		dp_fail(sc->err, sc->errlen, "%s: cannot open directory: %s", path, strerror(errno));
		return TC_ERR_INPUT;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			names = xreallocarray(names, cap, sizeof(char *));
		}
		names[n++] = xstrdup(de->d_name);
		errno = 0;
	}
	int rc = TC_OK;
	if (errno != 0) {
		dp_fail(sc->err, sc->errlen, "%s: cannot read directory: %s", path, strerror(errno));
		rc = TC_ERR_INPUT;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(char *), tc_name_cmp);

	sc->dev[sc->depth] = st->st_dev;
	sc->ino[sc->depth] = st->st_ino;
	sc->depth++;
	for (size_t i = 0; i < n && rc == TC_OK; i++) {
		char *child = xasprintf("%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/",
		    names[i]);
		char *crel = rel[0] != '\0' ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		rc = tc_scan_entry(sc, child, crel);
		free(child);
		free(crel);
	}
	sc->depth--;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The base name of path; "." and ".." (and "dir/.") are resolved to the real directory name. */
static char *
tc_scan_name(const char *path, char *err, size_t errlen)
{
	char *copy = xstrdup(path);
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	char *base = strrchr(copy, '/');
	base = base != NULL ? base + 1 : copy;
	char *name = NULL;
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		char *real = realpath(path, NULL);
		if (real == NULL) {
			dp_fail(err, errlen, "%s: %s", path, strerror(errno));
		} else {
			char *rb = strrchr(real, '/');
			if (rb != NULL && rb[1] != '\0')
				name = xstrdup(rb + 1);
			else
				dp_fail(err, errlen, "%s: cannot make a torrent of the root directory",
				    path);
			free(real);
		}
	} else {
		name = xstrdup(base);
	}
	free(copy);
	return name;
}

int
torrent_create_scan(const char *path, struct tc_tree *out, char *err, size_t errlen)
{
	struct tc_scan sc;
	struct stat st;
	int rc;

	memset(out, 0, sizeof *out);
	memset(&sc, 0, sizeof sc);
	sc.tree = out;
	sc.err = err;
	sc.errlen = errlen;

	if (path[0] == '\0') {
		dp_fail(err, errlen, "empty path");
		return TC_ERR_INPUT;
	}
	if (stat(path, &st) != 0) {
		dp_fail(err, errlen, "%s: %s", path, strerror(errno));
		return TC_ERR_INPUT;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		dp_fail(err, errlen, "%s: not a regular file or directory", path);
		return TC_ERR_INPUT;
	}
	out->name = tc_scan_name(path, err, errlen);
	if (out->name == NULL) {
		rc = TC_ERR_INPUT;
		goto fail;
	}
	out->multi_file = S_ISDIR(st.st_mode);
	if (out->multi_file)
		rc = tc_scan_dir(&sc, path, "", &st);
	else
		rc = tc_scan_add_file(&sc, path, out->name, &st);
	if (rc != TC_OK)
		goto fail;
	if (out->count == 0) {
		dp_fail(err, errlen, "%s: no files to put in the torrent", path);
		rc = TC_ERR_INPUT;
		goto fail;
	}
	if (out->total == 0) {
		dp_fail(err, errlen, "%s: total size is zero (%zu empty file%s)", path, out->count,
		    out->count == 1 ? "" : "s");
		rc = TC_ERR_INPUT;
		goto fail;
	}
	return TC_OK;
fail:
	torrent_create_tree_free(out);
	return rc;
}

void
torrent_create_tree_free(struct tc_tree *t)
{
	for (size_t i = 0; i < t->count; i++) {
		free(t->files[i].path);
		free(t->files[i].rel);
	}
	free(t->files);
	for (size_t i = 0; i < t->skipped_count; i++)
		free(t->skipped[i]);
	free(t->skipped);
	free(t->name);
	memset(t, 0, sizeof *t);
}

/* ---- piece size ---- */

uint32_t
torrent_create_piece_size(uint64_t total)
{
	uint64_t piece = TC_PIECE_MIN;
	while (piece < TC_PIECE_AUTO_MAX && (total + piece - 1) / piece > 2000)
		piece *= 2;
	return (uint32_t)piece;
}

bool
torrent_create_parse_piece_size(const char *s, uint32_t *out)
{
	uint64_t v;
	if (!dp_parse_size(s, &v))
		return false;
	if (v < TC_PIECE_MIN || v > TC_PIECE_MAX || (v & (v - 1)) != 0)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool
torrent_create_parse_format(const char *s, enum tc_format *out)
{
	if (strcmp(s, "v1") == 0)
		*out = TC_FORMAT_V1;
	else if (strcmp(s, "v2") == 0)
		*out = TC_FORMAT_V2;
	else if (strcmp(s, "hybrid") == 0)
		*out = TC_FORMAT_HYBRID;
	else
		return false;
	return true;
}

void
torrent_create_align(struct tc_tree *t, uint32_t piece_length)
{
	if (!t->multi_file || t->pads > 0)
		return;
	struct tc_file *files = xcalloc(2 * t->count, sizeof *files);
	size_t n = 0;
	uint64_t off = 0;
	for (size_t i = 0; i < t->count; i++) {
		files[n] = t->files[i];
		files[n++].offset = off;
		off += t->files[i].length;
		if (t->files[i].length > 0 && off % piece_length != 0) {
			uint64_t len = piece_length - off % piece_length;
			struct tc_file *pad = &files[n++];
			pad->rel = xasprintf(".pad/%llu", (unsigned long long)len);
			pad->length = len;
			pad->offset = off;
			pad->pad = true;
			off += len;
			t->pads++;
		}
	}
	free(t->files);
	t->files = files;
	t->count = n;
	t->total = off;
}

/* ---- hashing ---- */

struct tc_hasher {
	const struct tc_tree *tree;
	uint32_t piece_length;
	uint32_t piece_count;
	uint64_t readahead;           /* bytes to ask the kernel for beyond each read */
	uint8_t *hashes;              /* v1: 20 bytes per piece, or NULL */
	uint8_t *hashes_v2;           /* v2: 32 bytes per piece, or NULL */
	uint32_t next_piece;          /* atomic: the next piece a worker claims */
	uint64_t bytes_done;          /* atomic */
	int stop;                     /* atomic: set on the first error */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int finished;                 /* workers that returned (under lock) */
	int rc;                       /* first error (under lock) */
	char err[512];
};

struct tc_worker {
	struct tc_hasher *h;
	pthread_t thread;
	uint8_t *buf;
	uint8_t *leaves;              /* v2: the piece's leaf hashes */
	struct merkle_hasher *sha256;
	size_t file;                  /* index of the open file, or SIZE_MAX */
	int fd;
};

static void
tc_hasher_fail(struct tc_hasher *h, int rc, const char *fmt, ...) DP_PRINTF(3, 4);

static void
tc_hasher_fail(struct tc_hasher *h, int rc, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&h->lock);
	if (h->rc == TC_OK) {
		h->rc = rc;
		va_start(ap, fmt);
		vsnprintf(h->err, sizeof h->err, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&h->lock);
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELAXED);
}

static int
tc_worker_open(struct tc_worker *w, size_t idx)
{
	const struct tc_file *f = &w->h->tree->files[idx];
	if (w->file == idx)
		return 0;
	if (w->fd >= 0)
		close(w->fd);
	w->file = SIZE_MAX;
	w->fd = dp_open_regular(AT_FDCWD, f->path, O_RDONLY, 0);
	if (w->fd < 0) {
		tc_hasher_fail(w->h, TC_ERR_INPUT, "%s: cannot open: %s", f->path,
		    dp_strerror(errno));
		return -1;
	}
	w->file = idx;
	/* Several workers read one file at interleaved offsets: tell the kernel it is a stream. */
	(void)posix_fadvise(w->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

/* The file holding stream offset off (the last non-empty one starting at or before it). */
static size_t
tc_file_at(const struct tc_tree *t, uint64_t off)
{
	size_t lo = 0, hi = t->count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->files[mid].offset <= off)
			lo = mid;
		else
			hi = mid;
	}
	while (lo < t->count && t->files[lo].offset + t->files[lo].length <= off)
		lo++;
	return lo;
}

static int
tc_worker_read_piece(struct tc_worker *w, uint32_t piece, uint32_t len)
{
	const struct tc_tree *t = w->h->tree;
	uint64_t off = (uint64_t)piece * w->h->piece_length;
	uint32_t got = 0;
	size_t idx = tc_file_at(t, off);

	while (got < len) {
		if (idx >= t->count) {
			tc_hasher_fail(w->h, TC_ERR_INPUT, "internal: piece %u runs past the last file",
			    piece);
			return -1;
		}
		const struct tc_file *f = &t->files[idx];
		if (f->length == 0 || off >= f->offset + f->length) {
			idx++;
			continue;
		}
		if (f->pad) {
			uint64_t n = DP_MIN((uint64_t)(len - got), f->offset + f->length - off);
			memset(w->buf + got, 0, (size_t)n);
			got += (uint32_t)n;
			off += n;
			idx++;
			continue;
		}
		if (tc_worker_open(w, idx) != 0)
			return -1;
		uint64_t pos = off - f->offset;
		uint64_t want = DP_MIN((uint64_t)(len - got), f->length - pos);
		(void)posix_fadvise(w->fd, (off_t)(pos + want), (off_t)w->h->readahead,
		    POSIX_FADV_WILLNEED);
		while (want > 0) {
			ssize_t n = pread(w->fd, w->buf + got, (size_t)want, (off_t)pos);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				tc_hasher_fail(w->h, TC_ERR_INPUT, "%s: read at offset %llu: %s",
				    f->path, (unsigned long long)pos, strerror(errno));
				return -1;
			}
			if (n == 0) {
				tc_hasher_fail(w->h, TC_ERR_INPUT, "%s: file shrank while hashing "
				    "(expected %llu bytes)", f->path, (unsigned long long)f->length);
				return -1;
			}
			got += (uint32_t)n;
			off += (uint64_t)n;
			pos += (uint64_t)n;
			want -= (uint64_t)n;
		}
		idx++;
	}
	return 0;
}

static void *
tc_worker_main(void *arg)
{
	struct tc_worker *w = arg;
	struct tc_hasher *h = w->h;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL)
		tc_hasher_fail(h, TC_ERR_RUNTIME, "out of memory for an OpenSSL digest context");
	while (ctx != NULL && !__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		uint32_t piece = __atomic_fetch_add(&h->next_piece, 1, __ATOMIC_RELAXED);
		if (piece >= h->piece_count)
			break;
		uint64_t off = (uint64_t)piece * h->piece_length;
		uint32_t len = (uint32_t)DP_MIN((uint64_t)h->piece_length, h->tree->total - off);
		if (tc_worker_read_piece(w, piece, len) != 0)
			break;
		unsigned int mdlen = 0;
		if (h->hashes != NULL && (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, w->buf, len) != 1 ||
		    EVP_DigestFinal_ex(ctx, h->hashes + (size_t)piece * 20, &mdlen) != 1 ||
		    mdlen != 20)) {
			tc_hasher_fail(h, TC_ERR_RUNTIME, "SHA-1 failed in OpenSSL");
			break;
		}
		if (h->hashes_v2 != NULL) {
			/* Aligned: the piece starts in one file, and only that file's bytes count. */
			const struct tc_file *f = &h->tree->files[tc_file_at(h->tree, off)];
			size_t data = (size_t)DP_MIN((uint64_t)len, f->offset + f->length - off);
			merkle_piece_root(w->sha256, w->buf, data,
			    merkle_piece_width(f->length, h->piece_length), w->leaves,
			    h->hashes_v2 + (size_t)piece * MERKLE_HASH);
		}
		__atomic_add_fetch(&h->bytes_done, len, __ATOMIC_RELAXED);
	}
	EVP_MD_CTX_free(ctx);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	pthread_mutex_lock(&h->lock);
	h->finished++;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* Each file's pieces root from the piece hashes: a file of one piece has that piece's. */
static void
tc_file_roots(const struct tc_tree *t, uint32_t piece_length, const uint8_t *v2, uint8_t *roots)
{
	struct merkle_hasher *mh = merkle_hasher_new();
	uint8_t *scratch = NULL;
	for (size_t i = 0; i < t->count; i++) {
		const struct tc_file *f = &t->files[i];
		if (f->pad || f->length == 0)
			continue;
		uint64_t first = f->offset / piece_length;
		uint64_t n = (f->length + piece_length - 1) / piece_length;
		uint8_t *out = roots + i * MERKLE_HASH;
		if (n == 1) {
			memcpy(out, v2 + first * MERKLE_HASH, MERKLE_HASH);
			continue;
		}
		scratch = xreallocarray(scratch, n, MERKLE_HASH);
		merkle_root_from_layer(mh, v2 + first * MERKLE_HASH, n, piece_length, scratch, out);
	}
	free(scratch);
	merkle_hasher_free(mh);
}

void
torrent_create_hashes_free(struct tc_hashes *h)
{
	free(h->v1);
	free(h->v2);
	free(h->roots);
	memset(h, 0, sizeof *h);
}

int
torrent_create_hash(const struct tc_tree *t, uint32_t piece_length, enum tc_format fmt,
    int threads, tc_progress_fn progress, void *arg, struct tc_hashes *out, char *err,
    size_t errlen)
{
	struct tc_hasher h;
	uint64_t count = (t->total + piece_length - 1) / piece_length;

	memset(out, 0, sizeof *out);
	if (piece_length < TC_PIECE_MIN || piece_length > TC_PIECE_MAX ||
	    (piece_length & (piece_length - 1)) != 0) {
		dp_fail(err, errlen, "piece size %u is not a power of two in %u..%u", piece_length,
		    TC_PIECE_MIN, TC_PIECE_MAX);
		return TC_ERR_INPUT;
	}
	if (count == 0 || count > UINT32_MAX / 20) {
		dp_fail(err, errlen, "%llu pieces: choose another piece size",
		    (unsigned long long)count);
		return TC_ERR_INPUT;
	}
	for (size_t i = 0; fmt != TC_FORMAT_V1 && i < t->count; i++) {
		if (!t->files[i].pad && t->files[i].length > 0 &&
		    t->files[i].offset % piece_length != 0) {
			dp_fail(err, errlen, "internal: %s does not start on a piece boundary "
			    "(torrent_create_align first)", t->files[i].rel);
			return TC_ERR_RUNTIME;
		}
	}
	if (threads <= 0)
		threads = dp_cpu_count();
	if ((uint64_t)threads > count)
		threads = (int)count;

	memset(&h, 0, sizeof h);
	h.tree = t;
	h.piece_length = piece_length;
	h.piece_count = (uint32_t)count;
	h.readahead = (uint64_t)piece_length * (uint64_t)threads * 2;
	if (fmt != TC_FORMAT_V2)
		h.hashes = xcalloc(count, 20);
	if (fmt != TC_FORMAT_V1)
		h.hashes_v2 = xcalloc(count, MERKLE_HASH);
	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cond, NULL);

	struct tc_worker *w = xcalloc((size_t)threads, sizeof *w);
	int started = 0;
	for (int i = 0; i < threads; i++) {
		w[i].h = &h;
		w[i].buf = xmalloc(piece_length);
		if (h.hashes_v2 != NULL) {
			w[i].leaves = xmalloc(piece_length / MERKLE_BLOCK * MERKLE_HASH);
			w[i].sha256 = merkle_hasher_new();
		}
		w[i].fd = -1;
		w[i].file = SIZE_MAX;
		int e = pthread_create(&w[i].thread, NULL, tc_worker_main, &w[i]);
		if (e != 0) {
			if (started == 0) {
				tc_hasher_fail(&h, TC_ERR_RUNTIME, "cannot start a hashing thread: %s",
				    strerror(e));
			}
			/* Fewer threads still finish the job. */
			free(w[i].buf);
			w[i].buf = NULL;
			free(w[i].leaves);
			w[i].leaves = NULL;
			merkle_hasher_free(w[i].sha256);
			w[i].sha256 = NULL;
			break;
		}
		started++;
	}

	pthread_mutex_lock(&h.lock);
	while (h.finished < started) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h.cond, &h.lock, &ts);
		if (progress != NULL && h.finished < started) {
			pthread_mutex_unlock(&h.lock);
			progress(__atomic_load_n(&h.bytes_done, __ATOMIC_RELAXED), t->total, arg);
			pthread_mutex_lock(&h.lock);
		}
	}
	pthread_mutex_unlock(&h.lock);
	for (int i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	for (int i = 0; i < threads; i++) {
		free(w[i].buf);
		free(w[i].leaves);
		merkle_hasher_free(w[i].sha256);
	}
	free(w);
	pthread_cond_destroy(&h.cond);
	pthread_mutex_destroy(&h.lock);

	if (h.rc == TC_OK && h.bytes_done != t->total) {
		h.rc = TC_ERR_RUNTIME;
		snprintf(h.err, sizeof h.err, "internal: hashed %llu of %llu bytes",
		    (unsigned long long)h.bytes_done, (unsigned long long)t->total);
	}
	if (h.rc != TC_OK) {
		dp_fail(err, errlen, "%s", h.err);
		free(h.hashes);
		free(h.hashes_v2);
		return h.rc;
	}
	out->v1 = h.hashes;
	out->v2 = h.hashes_v2;
	if (out->v2 != NULL) {
		out->roots = xcalloc(t->count, MERKLE_HASH);
		tc_file_roots(t, piece_length, out->v2, out->roots);
	}
	if (progress != NULL)
		progress(t->total, t->total, arg);
	return TC_OK;
}

/* ---- writing ---- */

int
torrent_create_write(const char *path, const uint8_t *data, size_t len, bool force, char *err,
    size_t errlen)
{
	struct stat st;
	if (!force && lstat(path, &st) == 0) {
		dp_fail(err, errlen, "%s: already exists (use -f to overwrite)", path);
		return TC_ERR_RUNTIME;
	}
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		dp_fail(err, errlen, "%s: cannot create a temporary file: %s", tmp, strerror(errno));
		free(tmp);
		return TC_ERR_RUNTIME;
	}
	/* mkstemp makes 0600; a torrent file is not secret. */
	mode_t mask = umask(0);
	umask(mask);
	const char *what = "write";
	if (fchmod(fd, 0666 & ~mask) != 0) {
		what = "chmod";
		goto fail;
	}
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd) != 0) {
		what = "fsync";
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		what = "close";
		goto fail;
	}
	fd = -1;
	if (force) {
		if (rename(tmp, path) != 0) {
			dp_fail(err, errlen, "%s: cannot rename %s into place: %s", path, tmp,
			    strerror(errno));
			goto fail_unlinked;
		}
	} else {
		/* link() refuses to replace a file that appeared meanwhile; rename would not. */
		int lrc = link(tmp, path);
		if (lrc != 0 && (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS)) {
			/* No hard links on this file system: check, then rename. */
			if (lstat(path, &st) == 0)
				errno = EEXIST;
			else
				lrc = rename(tmp, path);
		}
		if (lrc != 0) {
			if (errno == EEXIST)
				dp_fail(err, errlen, "%s: already exists (use -f to overwrite)", path);
			else
				dp_fail(err, errlen, "%s: cannot link %s into place: %s", path, tmp,
				    strerror(errno));
			goto fail_unlinked;
		}
		if (unlink(tmp) != 0 && errno != ENOENT)
			log_warn("%s: cannot remove the temporary file: %s", tmp, strerror(errno));
	}
	free(tmp);
	return TC_OK;

fail:
	dp_fail(err, errlen, "%s: %s failed: %s", tmp, what, strerror(errno));
fail_unlinked:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return TC_ERR_RUNTIME;
}
