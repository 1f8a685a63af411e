/* client_rows.h: the torrent list a client keeps (in process and attached) and hands the UI: one
 * array of rows found by id through an idmap, a removal moving the last row into the gap, so
 * following the engine's changes costs the rows that changed, never a walk or a copy of all
 * of them (client_rows.c). The rows are in no order: the UI sorts what it shows. */
#ifndef DP_CLIENT_ROWS_H
#define DP_CLIENT_ROWS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "idmap.h"

struct client_rows {
	struct engine_torrent_stats *v;
	size_t n, cap;
	struct dp_idmap by_id;         /* id -> its index + 1 in v */
};

void client_rows_init(struct client_rows *r);
void client_rows_free(struct client_rows *r);
/* Forgets every row (keeps the memory). */
void client_rows_clear(struct client_rows *r);
/* The row of id, or NULL. */
struct engine_torrent_stats *client_rows_find(const struct client_rows *r, int id);
/* The row of id; a new one (zeroed but for the id, *fresh true) when there was none. */
struct engine_torrent_stats *client_rows_get(struct client_rows *r, int id, bool *fresh);
/* Drops the row of id (the last row takes its place); false if there was none. */
bool client_rows_remove(struct client_rows *r, int id);

#endif
