/* session.h: the engine's internal session: settings, the listening sockets, the torrent set,
 * global limits and rate buckets, timers, bans, and the connections not yet tied to a torrent.
 * The state itself (struct engine) is in engine_private.h. */
#ifndef DP_ENGINE_INTERNAL
#error "session.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_SESSION_H
#define DP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "engine_types.h"
#include "session_settings.h"

struct engine;               /* engine_private.h */
struct event_base;
struct torrent;
struct peer;
struct metainfo;
struct dp_config;

/* cfg: the settings the engine starts with (the DHT's and LSD's). */
int session_init(struct engine *e, struct event_base *base, const struct session_settings *set,
    const struct dp_config *cfg, char *err, size_t errlen);
void session_cleanup(struct engine *e);

/* A new torrent in the session's set (stopped), numbered next; NULL with err when the torrent
 * can't be set up (then mi is still the caller's). */
struct torrent *session_new_torrent(struct engine *e, struct metainfo *mi, const char *save_dir,
    const struct engine_add_opts *opts, char *err, size_t errlen);
struct torrent *session_find_torrent(struct engine *e, int id);
/* Every torrent's id, ascending (*ids freed by the caller; NULL when 0). */
size_t session_torrent_ids(struct engine *e, int **ids);
struct torrent *session_find_by_hash(struct engine *e, const uint8_t info_hash[20]);

bool session_is_banned(struct engine *e, const struct sockaddr *sa);
void session_ban(struct engine *e, const struct sockaddr *sa, const char *why);
/* True when sa is our own listening address (do not connect to ourselves). */
bool session_is_self(struct engine *e, const struct sockaddr *sa);
/* Schedules a closed peer for freeing outside the current callback. */
void session_bury_peer(struct engine *e, struct peer *p);
/* The disk pool drained below the bound: let throttled peers read again. */
void session_check_disk_pressure(struct engine *e);
uint32_t session_random(struct engine *e);

#endif
