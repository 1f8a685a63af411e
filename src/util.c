/* util.c: allocation wrappers, byte buffer, hex, clocks and small helpers used everywhere. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void DP_NORETURN
util_out_of_memory(size_t n)
{
	fprintf(stderr, "downpour: out of memory (allocating %zu bytes)\n", n);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		util_out_of_memory(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		util_out_of_memory(nmemb * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		util_out_of_memory(n);
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		util_out_of_memory(SIZE_MAX);
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *
xmemdup(const void *p, size_t n)
{
	void *q = xmalloc(n);
	if (n)
		memcpy(q, p, n);
	return q;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		util_out_of_memory(strlen(fmt));
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void
dp_buf_init(struct dp_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
dp_buf_free(struct dp_buf *b)
{
	free(b->data);
	dp_buf_init(b);
}

void
dp_buf_reserve(struct dp_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
dp_buf_add(struct dp_buf *b, const void *p, size_t n)
{
	dp_buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
dp_buf_add_str(struct dp_buf *b, const char *s)
{
	dp_buf_add(b, s, strlen(s));
}

void
dp_buf_printf(struct dp_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	dp_buf_add_str(b, s);
	free(s);
}

uint8_t *
dp_buf_steal(struct dp_buf *b, size_t *len)
{
	uint8_t *p = b->data;
	if (len)
		*len = b->len;
	if (p == NULL)
		p = xcalloc(1, 1);
	dp_buf_init(b);
	return p;
}

void
dp_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
dp_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
dp_hex_decode(const char *in, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = dp_hex_value(in[2 * i]), lo = dp_hex_value(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

uint64_t
dp_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
dp_now_ms(void)
{
	return dp_now_us() / 1000u;
}

uint64_t
dp_fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

int64_t
dp_wall_time(void)
{
	return (int64_t)time(NULL);
}

uint64_t
dp_thread_cpu_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *
dp_strerror(int e)
{
	return e == DP_ENOTREG ? "not a regular file" : strerror(e);
}

/* dp_open_regular, with the fstat it made in *st; O_NONBLOCK is left set when flags has it. */
static int
util_open_regular(int dirfd, const char *path, int flags, mode_t mode, struct stat *st)
{
	int fd;
	do
		fd = openat(dirfd, path, flags | O_NONBLOCK | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	int e = 0;
	if (fstat(fd, st) != 0)
		e = errno;
	else if (!S_ISREG(st->st_mode))
		e = S_ISDIR(st->st_mode) ? EISDIR : DP_ENOTREG;
	else if ((flags & O_NONBLOCK) == 0 &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		e = errno;
	if (e != 0) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
dp_open_regular(int dirfd, const char *path, int flags, mode_t mode)
{
	struct stat st;
	return util_open_regular(dirfd, path, flags, mode, &st);
}

int
dp_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	/* Four calls for a small file (issue 10: a restart reads 20,000 of them): open, fstat for
	 * the size, one read of it and a byte more to see the end, close. O_NONBLOCK stays: it
	 * changes nothing for a regular file and kept the open from waiting on a FIFO. */
	struct stat st;
	int fd = util_open_regular(AT_FDCWD, path, O_RDONLY | O_NONBLOCK, 0, &st);
	if (fd < 0)
		return -1;
	if ((uint64_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	struct dp_buf b;
	dp_buf_init(&b);
	size_t want = (size_t)st.st_size + 1;
	for (;;) {
		dp_buf_reserve(&b, want);
		ssize_t n = read(fd, b.data + b.len, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e2 = errno;
			close(fd);
			dp_buf_free(&b);
			errno = e2;
			return -1;
		}
		b.len += (size_t)n;
		if (b.len > max) {
			close(fd);
			dp_buf_free(&b);
			errno = EFBIG;
			return -1;
		}
		/* A short read of a regular file is its end; a full one: it grew, read on. */
		if ((size_t)n < want)
			break;
		want = 65536;
	}
	close(fd);
	b.data[b.len] = '\0';       /* dp_buf_reserve kept room for it */
	*out = dp_buf_steal(&b, len);
	return 0;
}

void
dp_format_size(uint64_t bytes, char *out, size_t outlen)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < DP_ARRAY_LEN(units)) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%" PRIu64 " B", bytes);
	else
		snprintf(out, outlen, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

bool
dp_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	uint64_t mult = 1;
	if (*end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K': mult = 1ull << 10; break;
		case 'M': mult = 1ull << 20; break;
		case 'G': mult = 1ull << 30; break;
		case 'T': mult = 1ull << 40; break;
		default: return false;
		}
		end++;
		if (strcasecmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
			return false;
	}
	if (v > UINT64_MAX / mult)
		return false;
	*out = v * mult;
	return true;
}

int
dp_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (int)n;
}

int
dp_fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

size_t
dp_search_key20(void *const *items, size_t n, const uint8_t key[20], bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(items[mid], key, 20);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* ---- writing a file atomically ---- */

char *
dp_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash == NULL ? xstrdup(".") : slash == path ? xstrdup("/") :
	    xstrndup(path, (size_t)(slash - path));
}

int
dp_fsync_dir(const char *path, char *err, size_t errlen)
{
	char *dir = dp_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: can't sync the directory: %s", dir, strerror(errno));
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

static int util_write_atomic(const char *path, const uint8_t *data, size_t len, bool durable,
    void (*step)(void *arg, const char *what), void *arg, char *err, size_t errlen);

int
dp_write_file_atomic(const char *path, const uint8_t *data, size_t len,
    void (*step)(void *arg, const char *what), void *arg, char *err, size_t errlen)
{
	return util_write_atomic(path, data, len, true, step, arg, err, errlen);
}

int
dp_write_file_atomic_batch(const char *path, const uint8_t *data, size_t len,
    void (*step)(void *arg, const char *what), void *arg, char *err, size_t errlen)
{
	return util_write_atomic(path, data, len, false, step, arg, err, errlen);
}

static int
util_write_atomic(const char *path, const uint8_t *data, size_t len, bool durable,
    void (*step)(void *arg, const char *what), void *arg, char *err, size_t errlen)
{
	if (step != NULL)
		step(arg, "write");
	char *tmp = xasprintf("%s.tmp", path);
	char *bak = xasprintf("%s.bak", path);
	int rc = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: can't create: %s", tmp, strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: write: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += (size_t)n;
	}
	if (step != NULL && durable)
		step(arg, "fsync of the new copy");
	if (durable && fsync(fd) < 0) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* The current copy becomes the backup through a hard link, so path never goes missing
	 * for a reader; where links are not supported, a rename (then only .bak exists until the
	 * next rename, and a loader falls back to it). */
	if (step != NULL)
		step(arg, "rename");
	if (unlink(bak) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: can't replace the backup: %s", bak, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (link(path, bak) < 0 && errno != ENOENT &&
	    (rename(path, bak) < 0 && errno != ENOENT)) {
		snprintf(err, errlen, "%s: can't keep the backup: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: rename: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (step != NULL && durable)
		step(arg, "fsync of the folder");
	rc = durable ? dp_fsync_dir(path, err, errlen) : 0;
out:
	free(tmp);
	free(bak);
	return rc;
}
