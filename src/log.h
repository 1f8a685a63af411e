/* log.h: the engine's log: levels, a ring of recent lines for the UI, and an optional file. */
#ifndef DP_LOG_H
#define DP_LOG_H

#include <stdint.h>
#include <stdio.h>
#include "util.h"

#define DP_LOG_LEVELS(X) \
	X(ERROR, "error")      \
	X(WARN, "warn")        \
	X(INFO, "info")        \
	X(DEBUG, "debug")

enum dp_log_level {
#define X(name, str) DP_LOG_##name,
	DP_LOG_LEVELS(X)
#undef X
	DP_LOG_LEVEL_COUNT
};

struct dp_log_line {
	uint64_t seq;          /* increasing, so readers can ask for lines after one they saw */
	int64_t when;          /* wall-clock seconds */
	enum dp_log_level level;
	char text[240];
};

const char *log_level_name(enum dp_log_level level);
/* Parses a level name; -1 when unknown. */
int log_level_parse(const char *name);

/* Lines above this level are dropped; stderr echo is for command-line tools. */
void log_set_level(enum dp_log_level level);
void log_set_stderr(bool on);
/* Appends to (and reopens, on SIGHUP) this file; NULL closes it. Returns 0 or -1 with errno. */
int log_open_file(const char *path);
int log_reopen_file(void);

void log_msg(enum dp_log_level level, const char *fmt, ...) DP_PRINTF(2, 3);
#define log_error(...) log_msg(DP_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(DP_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(DP_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(DP_LOG_DEBUG, __VA_ARGS__)

/* Copies up to max lines with seq > after into out, oldest first; returns how many. */
size_t log_copy_since(uint64_t after, struct dp_log_line *out, size_t max);

#endif
