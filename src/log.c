/* log.c: the log ring buffer, level filter, stderr echo and log file (reopened on SIGHUP); every
 * line escaped (escape.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "log.h"

#define LOG_RING_SIZE 2048

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dp_log_line log_ring[LOG_RING_SIZE];
static uint64_t log_next_seq = 1;
static enum dp_log_level log_level = DP_LOG_INFO;
static bool log_to_stderr;
static FILE *log_file;
static char *log_file_path;

static const char *log_level_names[] = {
#define X(name, str) str,
	DP_LOG_LEVELS(X)
#undef X
};

const char *
log_level_name(enum dp_log_level level)
{
	if ((unsigned)level >= DP_LOG_LEVEL_COUNT)
		return "?";
	return log_level_names[level];
}

int
log_level_parse(const char *name)
{
	for (int i = 0; i < DP_LOG_LEVEL_COUNT; i++)
		if (strcmp(name, log_level_names[i]) == 0)
			return i;
	return -1;
}

void
log_set_level(enum dp_log_level level)
{
	log_level = level;
}

void
log_set_stderr(bool on)
{
	log_to_stderr = on;
}

int
log_open_file(const char *path)
{
	FILE *f = NULL;
	if (path != NULL) {
		/* 0600: the log names torrents, paths and peers (a user-made file keeps its mode). */
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		f = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (f == NULL) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		setvbuf(f, NULL, _IOLBF, 0);
	}
	pthread_mutex_lock(&log_lock);
	if (log_file != NULL)
		fclose(log_file);
	log_file = f;
	free(log_file_path);
	log_file_path = path ? xstrdup(path) : NULL;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int
log_reopen_file(void)
{
	char *path = NULL;
	pthread_mutex_lock(&log_lock);
	if (log_file_path != NULL)
		path = xstrdup(log_file_path);
	pthread_mutex_unlock(&log_lock);
	if (path == NULL)
		return 0;
	int rc = log_open_file(path);
	int e = errno;
	free(path);
	errno = e;
	return rc;
}

void
log_msg(enum dp_log_level level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	struct dp_log_line line;
	va_list ap;
	/* Log lines carry outside text (URLs, names, headers): escaped here, once for every line,
	 * so none can move a terminal's cursor, set its title or forge a line of its own. */
	va_start(ap, fmt);
	dp_vformat_escaped(line.text, sizeof line.text, fmt, ap);
	va_end(ap);
	line.level = level;
	line.when = (int64_t)time(NULL);

	pthread_mutex_lock(&log_lock);
	line.seq = log_next_seq++;
	log_ring[line.seq % LOG_RING_SIZE] = line;
	if (log_file != NULL) {
		struct tm tm;
		char stamp[32];
		time_t t = (time_t)line.when;
		localtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(log_file, "%s [%s] %s\n", stamp, log_level_name(level), line.text);
	}
	if (log_to_stderr)
		fprintf(stderr, "downpour: %s: %s\n", log_level_name(level), line.text);
	pthread_mutex_unlock(&log_lock);
}

size_t
log_copy_since(uint64_t after, struct dp_log_line *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&log_lock);
	uint64_t first = log_next_seq > LOG_RING_SIZE ? log_next_seq - LOG_RING_SIZE : 1;
	if (after + 1 > first)
		first = after + 1;
	if (log_next_seq - first > max)
		first = log_next_seq - max;
	for (uint64_t s = first; s < log_next_seq && n < max; s++)
		out[n++] = log_ring[s % LOG_RING_SIZE];
	pthread_mutex_unlock(&log_lock);
	return n;
}
