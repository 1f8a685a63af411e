/* attach_server.h: the daemon's side of `downpour attach`: the session's attach socket (0600,
 * our user only), one task per attached UI, requests answered from engine.h with only what
 * changed since that UI's last request (attach_server.c; the protocol is attach_proto.h). */
#ifndef DP_ATTACH_SERVER_H
#define DP_ATTACH_SERVER_H

#include <stddef.h>

struct event_base;
struct engine;
struct attach_server;

/* An attached UI's output not yet read past this drops it (never grows the daemon's memory). */
#define ATTACH_MAX_OUTPUT (16u << 20)

/* Listens on "<session_dir>/attach.sock". stop_daemon(arg) runs when a UI asks the daemon to
 * stop (Q, after the UI asked the user). */
struct attach_server *attach_server_new(struct event_base *base, struct engine *e,
    const char *session_dir, void (*stop_daemon)(void *arg), void *arg, char *err,
    size_t errlen);
/* Clients at most, as monitor_server_set_max_clients (monitor_max_clients); past it a
 * connection that has not said hello makes room, an attached UI never. */
void attach_server_set_max_clients(struct attach_server *s, int max_clients);
/* The tasks answer reads the registry in slices of at most us each (tests: 1 makes a slice of
 * each 64 tasks; 0: the default). */
void attach_server_set_tasks_slice_us(struct attach_server *s, uint64_t us);
/* A list answer reads rows for at most us (tests: 1 makes an answer of 16 new rows; 0: the
 * default). */
void attach_server_set_list_slice_us(struct attach_server *s, uint64_t us);
/* Closes every client and removes the socket file. */
void attach_server_free(struct attach_server *s);

#endif
