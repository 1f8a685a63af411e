/* client_local.h: what the in-process client shares with the attach server, which answers an
 * attached UI with the same engine.h calls (client_local.c). */
#ifndef DP_CLIENT_LOCAL_H
#define DP_CLIENT_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "engine.h"

/* Runs a client command on e (ADD_FILE reads the file here: the caller is on the loop). */
int client_local_run(struct engine *e, const struct client_cmd *cmd, int *id_out, char *err,
    size_t errlen);
/* An ADD_FILE in two halves, for the in-process UI and the attach server alike: the .torrent
 * read on a disk worker (0, or -1 with why in err, the file named as engine_add_torrent_file
 * names it; *data is the caller's), then added on the loop (engine_add_torrent_data; a failure
 * names the file unless the torrent was there already, *id_out then set). */
int client_local_read_torrent(const char *path, uint8_t **data, size_t *len, char *err,
    size_t errlen);
int client_local_add_read(struct engine *e, const char *path, const uint8_t *data, size_t len,
    int *id_out, char *err, size_t errlen);
/* engine_trackers and the DHT's row after them. */
size_t client_local_trackers(struct engine *e, int id, struct engine_tracker_info **out);
/* Tests: the in-process client reads the registry for client_tasks in slices of at most us
 * (0: the default). */
void client_local_set_tasks_slice_us(struct client *c, uint64_t us);

/* The time one snapshot reads rows for (CLIENT_LOCAL_SLICE_US; 0: that), for the tests. */
void client_local_set_slice_us(struct client *c, uint64_t us);

#endif
