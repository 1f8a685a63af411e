/* client_rows.h: the torrent list a client keeps (in process and attached) and hands the UI: one
 * array of rows found by id through an idmap, a removal moving the last row into the gap, so
 * following the engine's changes costs the rows that changed, never a walk or a copy of all
 * of them (client_rows.c). The rows are in no order: the UI sorts what it shows. Every row
 * written, moved or dropped is noted, so the UI re-reads those rows only (client_changes). */
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
	/* ids of the rows written, moved or removed since the last take (they may repeat); all:
	 * every row, when they were cleared or the ids outgrew the rows */
	int *changed;
	size_t nchanged, capchanged;
	bool all;
};

void client_rows_init(struct client_rows *r);
void client_rows_free(struct client_rows *r);
/* Forgets every row (keeps the memory). */
void client_rows_clear(struct client_rows *r);
/* Room for n rows at least: a list whose size is known grows once, not by doubling (each
 * realloc of tens of MB moved every row, and their first touches after a move cost a fault
 * each on this machine's VM). */
void client_rows_reserve(struct client_rows *r, size_t n);
/* The row of id, or NULL. */
struct engine_torrent_stats *client_rows_find(const struct client_rows *r, int id);
/* The row of id; a new one (zeroed but for the id, *fresh true) when there was none. */
struct engine_torrent_stats *client_rows_get(struct client_rows *r, int id, bool *fresh);
/* Drops the row of id (the last row takes its place); false if there was none. */
bool client_rows_remove(struct client_rows *r, int id);
/* The ids of the rows written (client_rows_get), moved or removed since the last take, in
 * *ids (the caller's to free; NULL when none), or *all when every row is to be read again;
 * starts noting anew. */
size_t client_rows_take_changes(struct client_rows *r, int **ids, bool *all);

#endif
