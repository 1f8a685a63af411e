/* monitor_server.h: the headless monitor: a Unix socket in the session directory (mode 0600)
 * answering curio-style commands (ps, blocked, health, where ID, log) with the engine's task table. */
#ifndef DP_MONITOR_SERVER_H
#define DP_MONITOR_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct event_base;
struct engine;
struct engine_slow_callback;

#define MONITOR_SOCKET_NAME "monitor.sock"
#define MONITOR_MAX_LINE 1024
/*
 * The protocol: the client sends one command per line; the server answers with text lines and
 * then a line "." alone (lines of text that begin with "." get a second one, as in SMTP). An
 * answer whose first line starts with "ERR " is an error: the rest of that line says why.
 */
#define MONITOR_END "."
#define MONITOR_ERR "ERR "

/* A slow callback's times in words, wall first: "15ms (cpu 4ms, preempted 3, waits 1)"; or CPU
 * first (by_cpu): "4ms cpu (wall 15ms, preempted 3)". The switch counts show when not 0: the
 * wall time beyond the CPU was the scheduler's (preempted) or a sleep or system call (waits).
 * `monitor blocked`, the SIGUSR1 dump and the daemon's stop line say it alike. */
void monitor_format_slow(const struct engine_slow_callback *c, bool by_cpu, char *out,
    size_t outlen);

/* "<session_dir>/monitor.sock" (a new string). */
char *monitor_socket_path(const char *session_dir);

/* Listens on the Unix socket at path, mode 0600 from the start, replacing a stale one no process
 * answers on (the monitor's and the attach socket): the descriptor, non-blocking, or -1 with
 * err. */
int monitor_listen_socket(const char *path, char *err, size_t errlen);
/* Whether the process at the other end of a Unix socket runs as our user (SO_PEERCRED): the
 * socket's mode keeps others out already; this holds where the mode is not honoured. */
bool monitor_peer_is_us(int fd);

struct monitor_server;
/* Listens on the session's socket (replacing a stale one no process answers on). */
struct monitor_server *monitor_server_new(struct event_base *base, struct engine *e,
    const char *session_dir, char *err, size_t errlen);
/* Clients at most (monitor_max_clients); 0 = an eighth of the descriptor limit, within
 * MONITOR_CLIENTS_FLOOR..CEILING (also the default). Past it the client idle longest goes. */
#define MONITOR_CLIENTS_FLOOR 16
#define MONITOR_CLIENTS_CEILING 64
void monitor_server_set_max_clients(struct monitor_server *m, int max_clients);
/* ps and blocked read the registry in slices of at most us each (tests: 1 makes a slice of
 * each 64 tasks; 0: the default). */
void monitor_server_set_slice_us(struct monitor_server *m, uint64_t us);
/* Closes every client and removes the socket file. */
void monitor_server_free(struct monitor_server *m);

/* One command line to its answer text (appended to out, without the end marker). Returns 0, or
 * -1 when the command failed (out then holds the one-line reason). Shared with tests. */
int monitor_run_command(struct engine *e, const char *line, struct dp_buf *out);

#endif
