/* engine_stats.c: engine.h's aggregate queries for remote front ends (the RPC, /metrics): what
 * changed recently (recently-active), read from the change list without visiting the rest. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "engine.h"
#include "engine_private.h"
#include "session.h"
#include "torrent.h"
#include "util.h"

size_t
engine_torrents_changed(struct engine *e, unsigned window_s, int **ids, int **removed,
    size_t *nremoved)
{
	uint64_t now = dp_now_ms(), span = (uint64_t)window_s * 1000;
	uint64_t since = now > span ? now - span : 0;
	*nremoved = changes_removed_since(&e->changes, since, removed);
	return changes_since(&e->changes, since, ids);
}

int
engine_torrent_id_by_hash(struct engine *e, const char *hex)
{
	uint8_t hash[20];
	if (strlen(hex) != 40 || !dp_hex_decode(hex, 20, hash))
		return 0;
	struct torrent *t = session_find_by_hash(e, hash);
	return t != NULL ? t->id : 0;
}
