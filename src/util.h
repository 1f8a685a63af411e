/* util.h: allocation wrappers that never return NULL, a growable byte buffer, hex, time. */
#ifndef DP_UTIL_H
#define DP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <sys/types.h>

#define DP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DP_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define DP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DP_NORETURN __attribute__((noreturn))
#else
#define DP_PRINTF(f, a)
#define DP_NORETURN
#endif

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) DP_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) DP_PRINTF(1, 0);

/* A growable byte buffer; data is always NUL-terminated for convenience. */
struct dp_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};
void dp_buf_init(struct dp_buf *b);
void dp_buf_free(struct dp_buf *b);
void dp_buf_reserve(struct dp_buf *b, size_t extra);
void dp_buf_add(struct dp_buf *b, const void *p, size_t n);
void dp_buf_add_str(struct dp_buf *b, const char *s);
void dp_buf_printf(struct dp_buf *b, const char *fmt, ...) DP_PRINTF(2, 3);
/* Hands the buffer's memory to the caller and empties b. */
uint8_t *dp_buf_steal(struct dp_buf *b, size_t *len);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void dp_hex_encode(const uint8_t *in, size_t n, char *out);
/* 64-bit FNV-1a of n bytes continued from h (start with DP_FNV1A_INIT): change detection. */
#define DP_FNV1A_INIT 1469598103934665603ull
uint64_t dp_fnv1a(uint64_t h, const void *p, size_t n);
/* Decodes exactly 2n hex digits (either case); false on any bad digit. */
bool dp_hex_decode(const char *in, size_t n, uint8_t *out);
/* The value of one hex digit (either case), or -1. */
int dp_hex_value(char c);

/* Monotonic clock in microseconds / milliseconds; wall clock in seconds. */
uint64_t dp_now_us(void);
uint64_t dp_now_ms(void);
int64_t dp_wall_time(void);
/* CPU time of the calling thread in microseconds. */
uint64_t dp_thread_cpu_us(void);

/* Not a regular file: the errno dp_open_regular and dp_read_file set for a FIFO, socket or
 * device. Borrowed from the block-device mount calls, which no file open or read ever
 * returns; dp_strerror names it. */
#define DP_ENOTREG ENOTBLK
/* strerror, but DP_ENOTREG reads "not a regular file". */
const char *dp_strerror(int e);

/* Opens a path someone else may have planted something at (the user's, a torrent's, a client's)
 * without ever blocking: O_NONBLOCK for the open (a FIFO with no writer would wait forever), then
 * fstat refuses anything but a regular file (EISDIR for a directory, else DP_ENOTREG), and
 * O_NONBLOCK is cleared again.
 * path is relative to dirfd (AT_FDCWD for none); O_CLOEXEC is added. Returns an fd or -1 with
 * errno set. */
int dp_open_regular(int dirfd, const char *path, int flags, mode_t mode);

/* Reads a whole regular file (up to max bytes; opened as dp_open_regular does, so a FIFO never
 * blocks it) into a buffer with a NUL after its *len bytes. Returns 0, or -1 with errno set
 * (EFBIG when too big, EISDIR or DP_ENOTREG when not a regular file). */
int dp_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* Writes data to path atomically: path.tmp, fsync, path -> path.bak, path.tmp -> path, fsync of
 * the directory. step (may be NULL) is told each step as it begins ("fsync of the new copy", a
 * string literal), so a stuck one can be shown. Returns 0, or -1 with err naming the file and
 * the call. Any thread. */
int dp_write_file_atomic(const char *path, const uint8_t *data, size_t len,
    void (*step)(void *arg, const char *what), void *arg, char *err, size_t errlen);
/* The same without the two fsyncs, at exit (issue 19: any fsync there makes the device flush
 * everything written): until the system writes it out a crash may leave path empty, never its
 * .bak. */
int dp_write_file_atomic_batch(const char *path, const uint8_t *data, size_t len,
    void (*step)(void *arg, const char *what), void *arg, char *err, size_t errlen);
/* The folder path is in (a new string: "." without a slash, "/" at the root). */
char *dp_dirname(const char *path);
/* fsync of the folder path is in (a rename in it made durable). 0, or -1 with err. */
int dp_fsync_dir(const char *path, char *err, size_t errlen);

/* Formats a byte count as "1.5 MiB" into out. */
void dp_format_size(uint64_t bytes, char *out, size_t outlen);
/* Parses "16K", "4MiB", "1048576" into bytes; false if malformed. */
bool dp_parse_size(const char *s, uint64_t *out);

/* Binary search in an array of n pointers to structs that begin with a 20-byte key (an
 * info-hash), sorted by it: the index of key, or where it would go (*found false). */
size_t dp_search_key20(void *const *items, size_t n, const uint8_t key[20], bool *found);

/* Number of online CPUs, at least 1. */
int dp_cpu_count(void);

/* Formats a message into err when err is not NULL and errlen > 0. Returns -1, so that a
 * failing function can end with `return dp_fail(err, errlen, ...)`. */
int dp_fail(char *err, size_t errlen, const char *fmt, ...) DP_PRINTF(3, 4);

#endif
