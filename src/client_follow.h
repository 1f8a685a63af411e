/* client_follow.h: what a follower of the engine's torrent list re-reads at a refresh (the
 * in-process client for the UI on the loop, the attach server for each attached UI): the
 * torrents the engine marked changed since the follower's last refresh (its change log, with
 * slack), and those whose rows change without a mark (rates decay, peers come: "hot"); never
 * every torrent (client_follow.c). */
#ifndef DP_CLIENT_FOLLOW_H
#define DP_CLIENT_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "idmap.h"

struct client_follow {
	uint64_t last_ms;              /* the last refresh; 0 before the first */
	struct dp_idmap hot;           /* the hot ids (each once; the value is not used) */
};

void client_follow_init(struct client_follow *f);
void client_follow_free(struct client_follow *f);
/* Starts over (a full list is being read): changes count from now. */
void client_follow_reset(struct client_follow *f);
/* Whether t's row changes without the engine marking it. */
bool client_follow_is_hot(const struct engine_torrent_stats *t);
/*
 * The ids to re-read now, each once: those changed since the last call and the hot ones (the
 * hot set empties: client_follow_note puts back the rows that still are); and the ids removed
 * since. Returns the count; the caller frees *ids and *removed (NULL when empty).
 */
size_t client_follow_due(struct client_follow *f, struct engine *e, int **ids, int **removed,
    size_t *nremoved);
/* After reading t's row: kept hot while it is. */
void client_follow_note(struct client_follow *f, const struct engine_torrent_stats *t);
/* Re-read id at the next call (a refresh that ran out of time leaves the rest for then). */
void client_follow_defer(struct client_follow *f, int id);
/* The torrent is gone: no longer hot. */
void client_follow_forget(struct client_follow *f, int id);

#endif
