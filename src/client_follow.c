/* client_follow.c: the change-log window and the hot set of client_follow.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client_follow.h"
#include "util.h"

/* A change stamped in the same second as the last refresh, or while it ran, is not missed. */
#define CLIENT_FOLLOW_SLACK_S 2

static void *const client_follow_mark = (void *)1;

void
client_follow_init(struct client_follow *f)
{
	memset(f, 0, sizeof *f);
	dp_idmap_init(&f->hot);
}

void
client_follow_free(struct client_follow *f)
{
	dp_idmap_free(&f->hot);
	memset(f, 0, sizeof *f);
}

void
client_follow_reset(struct client_follow *f)
{
	dp_idmap_free(&f->hot);
	dp_idmap_init(&f->hot);
	f->last_ms = dp_now_ms();
}

bool
client_follow_is_hot(const struct engine_torrent_stats *t)
{
	return t->down_rate != 0 || t->up_rate != 0 || t->peers_connected != 0 ||
	    t->state == ENGINE_TORRENT_CHECKING || t->eta_s > 0;
}

size_t
client_follow_due(struct client_follow *f, struct engine *e, int **ids, int **removed,
    size_t *nremoved)
{
	uint64_t now = dp_now_ms();
	unsigned window = (unsigned)((now - f->last_ms) / 1000 + CLIENT_FOLLOW_SLACK_S);
	f->last_ms = now;
	size_t n = engine_torrents_changed(e, window, ids, removed, nremoved);
	/* the changed ones are read anyway: out of the hot set, so none is read twice */
	for (size_t i = 0; i < n; i++)
		dp_idmap_del(&f->hot, (uint64_t)(*ids)[i], client_follow_mark);
	for (size_t i = 0; i < *nremoved; i++)
		dp_idmap_del(&f->hot, (uint64_t)(*removed)[i], client_follow_mark);
	if (f->hot.count > 0) {
		*ids = xreallocarray(*ids, n + f->hot.count, sizeof **ids);
		for (size_t i = 0; i < dp_idmap_slots(&f->hot); i++) {
			uint64_t key;
			if (dp_idmap_slot(&f->hot, i, &key) != NULL)
				(*ids)[n++] = (int)key;
		}
	}
	dp_idmap_free(&f->hot);
	dp_idmap_init(&f->hot);
	return n;
}

void
client_follow_defer(struct client_follow *f, int id)
{
	if (dp_idmap_get(&f->hot, (uint64_t)id) == NULL)
		dp_idmap_put(&f->hot, (uint64_t)id, client_follow_mark);
}

void
client_follow_note(struct client_follow *f, const struct engine_torrent_stats *t)
{
	if (client_follow_is_hot(t))
		client_follow_defer(f, t->id);
}

void
client_follow_forget(struct client_follow *f, int id)
{
	dp_idmap_del(&f->hot, (uint64_t)id, client_follow_mark);
}
