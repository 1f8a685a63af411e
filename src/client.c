/* client.c: the engine client API's calls, dispatched to the implementation behind the handle
 * (in process or attached); once a daemon is out of reach every call fails quietly, and the
 * UI asks client_lost why. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "util.h"

static const char *const client_cmd_names[CLIENT_CMD_COUNT] = {
#define X(name, str) [CLIENT_CMD_##name] = str,
	CLIENT_COMMANDS(X)
#undef X
};

const char *
client_cmd_name(enum client_cmd_kind k)
{
	return (unsigned)k < CLIENT_CMD_COUNT ? client_cmd_names[k] : "?";
}

enum client_cmd_kind
client_cmd_find(const char *s)
{
	for (int k = 0; k < CLIENT_CMD_COUNT; k++)
		if (strcmp(client_cmd_names[k], s) == 0)
			return (enum client_cmd_kind)k;
	return CLIENT_CMD_COUNT;
}

int
client_command(struct client *c, const struct client_cmd *cmd, int *id_out, char *err,
    size_t errlen)
{
	if (id_out != NULL)
		*id_out = 0;
	if (c->lost[0] != '\0')
		return dp_fail(err, errlen, "%s", c->lost);
	return c->ops->command(c, cmd, id_out, err, errlen);
}

size_t
client_snapshot(struct client *c, const struct engine_torrent_stats **torrents,
    struct engine_global_stats *global)
{
	if (c->lost[0] != '\0') {
		*torrents = NULL;
		memset(global, 0, sizeof *global);
		return 0;
	}
	return c->ops->snapshot(c, torrents, global);
}

size_t
client_changes(struct client *c, int **ids, bool *all)
{
	if (c->lost[0] != '\0') {
		*ids = NULL;
		*all = true;
		return 0;
	}
	return c->ops->changes(c, ids, all);
}

bool
client_list_partial(struct client *c)
{
	return c->lost[0] == '\0' && c->ops->list_partial(c);
}

const struct engine_torrent_stats *
client_torrent(struct client *c, int id)
{
	return c->lost[0] != '\0' ? NULL : c->ops->torrent(c, id);
}

int
client_queue_position(struct client *c, int id)
{
	return c->lost[0] != '\0' ? -1 : c->ops->queue_position(c, id);
}

size_t
client_peers(struct client *c, int id, struct engine_peer_info **out)
{
	*out = NULL;
	return c->lost[0] != '\0' ? 0 : c->ops->peers(c, id, out);
}

size_t
client_files(struct client *c, int id, struct engine_file_info **out)
{
	*out = NULL;
	return c->lost[0] != '\0' ? 0 : c->ops->files(c, id, out);
}

int
client_pieces(struct client *c, int id, struct engine_piece_map *out)
{
	memset(out, 0, sizeof *out);
	return c->lost[0] != '\0' ? -1 : c->ops->pieces(c, id, out);
}

size_t
client_trackers(struct client *c, int id, struct engine_tracker_info **out)
{
	*out = NULL;
	return c->lost[0] != '\0' ? 0 : c->ops->trackers(c, id, out);
}

size_t
client_tasks(struct client *c, const struct engine_task_info **out)
{
	*out = NULL;
	return c->lost[0] != '\0' ? 0 : c->ops->tasks(c, out);
}

void
client_loop_health(struct client *c, struct engine_loop_health *out)
{
	memset(out, 0, sizeof *out);
	if (c->lost[0] == '\0')
		c->ops->loop_health(c, out);
}

size_t
client_log_since(struct client *c, uint64_t after, struct dp_log_line *out, size_t max)
{
	return c->lost[0] != '\0' || max == 0 ? 0 : c->ops->log_since(c, after, out, max);
}

int
client_complete_path(struct client *c, const char *cwd, char *buf, size_t buflen, char *hint,
    size_t hintlen)
{
	if (hint != NULL && hintlen > 0)
		hint[0] = '\0';
	return c->lost[0] != '\0' ? 0 : c->ops->complete_path(c, cwd, buf, buflen, hint, hintlen);
}

/* The longest path a prompt completes, and its hint (the prompt's own are shorter). */
#define CLIENT_COMPLETE_BUF 4096
#define CLIENT_COMPLETE_HINT 1024

void
client_complete_path_start(struct client *c, const char *cwd, const char *buf,
    client_complete_fn done, void *arg)
{
	if (c->lost[0] == '\0' && c->ops->complete_start != NULL) {
		c->ops->complete_start(c, cwd, buf, done, arg);
		return;
	}
	char b[CLIENT_COMPLETE_BUF], h[CLIENT_COMPLETE_HINT] = "";
	snprintf(b, sizeof b, "%s", buf);
	int n = client_complete_path(c, cwd, b, sizeof b, h, sizeof h);
	done(arg, b, h, n);
}

void
client_command_start(struct client *c, const struct client_cmd *cmd, client_command_fn done,
    void *arg)
{
	if (c->lost[0] == '\0' && c->ops->command_start != NULL &&
	    c->ops->command_start(c, cmd, done, arg))
		return;
	char err[512] = "";
	int id = 0;
	int rc = client_command(c, cmd, &id, err, sizeof err);
	done(arg, rc, id, err);
}

bool
client_attached(const struct client *c)
{
	return c->attached;
}

const char *
client_lost(const struct client *c)
{
	return c->lost[0] != '\0' ? c->lost : NULL;
}

void
client_leave(struct client *c, void (*done)(void *arg), void *arg)
{
	c->ops->leave(c, done, arg);
}

void
client_free(struct client *c)
{
	if (c != NULL)
		c->ops->free(c);
}
