/* client.h: the engine client API the terminal UI talks to: the engine.h snapshots and commands
 * it uses, behind one handle that is either the engine of this process (client_local.c) or a
 * daemon reached over the session's Unix socket (client_remote.c), so every screen works the
 * same in both. Types are engine.h's, and so are the ownership rules: what a call hands out is
 * the caller's, except the torrent list, which stays the client's (see client_snapshot). */
#ifndef DP_CLIENT_H
#define DP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct client;

/* The commands, one list for the enum, the protocol's names and the messages. */
#define CLIENT_COMMANDS(X)                        \
	X(START, "start")                         \
	X(STOP, "stop")                           \
	X(REMOVE, "remove")                       \
	X(REMOVE_DATA, "remove-data")             \
	X(RECHECK, "recheck")                     \
	X(REANNOUNCE, "reannounce")               \
	X(SEQUENTIAL, "sequential")               \
	X(ADD_PEER, "add-peer")                   \
	X(QUEUE_MOVE, "queue-move")               \
	X(TORRENT_LIMITS, "torrent-limits")       \
	X(GLOBAL_LIMITS, "global-limits")         \
	X(ALT_SPEED, "alt-speed")                 \
	X(FILE_PRIORITY, "file-priority")         \
	X(PEER_DISCONNECT, "peer-disconnect")     \
	X(ADD_FILE, "add-file")                   \
	X(ADD_MAGNET, "add-magnet")               \
	X(STOP_DAEMON, "stop-daemon")

enum client_cmd_kind {
#define X(name, str) CLIENT_CMD_##name,
	CLIENT_COMMANDS(X)
#undef X
	CLIENT_CMD_COUNT
};
const char *client_cmd_name(enum client_cmd_kind k);
/* The kind named s, or CLIENT_CMD_COUNT. */
enum client_cmd_kind client_cmd_find(const char *s);

/* One command; the fields a kind does not use are ignored. */
struct client_cmd {
	enum client_cmd_kind kind;
	int torrent;                   /* per-torrent commands */
	const char *text;              /* ADD_PEER, PEER_DISCONNECT: ADDR[:PORT]; ADD_FILE: a path
	                                  (relative to cwd, "~/" for the home directory);
	                                  ADD_MAGNET: the link */
	const char *cwd;               /* ADD_FILE: where a relative path starts (NULL: ".") */
	bool on;                       /* SEQUENTIAL: on; PEER_DISCONNECT: ban the address;
	                                  ALT_SPEED: the alternative limits in force (kept) */
	uint64_t down, up;             /* TORRENT_LIMITS, GLOBAL_LIMITS: bytes/s, 0 = none */
	enum engine_queue_where where; /* QUEUE_MOVE */
	enum engine_prio prio;         /* FILE_PRIORITY: to each of files[0..nfiles) */
	const size_t *files;
	size_t nfiles;
};
/* Runs a command: 0, or -1 with the reason in err. ADD_FILE and ADD_MAGNET set *id_out (may be
 * NULL) to the torrent, also when it was there already (then -1, "already added"). */
int client_command(struct client *c, const struct client_cmd *cmd, int *id_out, char *err,
    size_t errlen);

/*
 * The torrent list and the global figures. *torrents stays the client's: it is valid until the
 * next client_snapshot or client_free (a daemon's list is kept up to date from what changed,
 * not copied whole each time). Returns the count.
 */
size_t client_snapshot(struct client *c, const struct engine_torrent_stats **torrents,
    struct engine_global_stats *global);
/* The ids of the rows of that list written, moved or removed since the last call (they may
 * repeat), in *ids (the caller's to free); or *all when every row is to be read again (the
 * first call, a reset, too many changes to list). The list screen re-reads those rows only:
 * a walk over 10,000 rows of 3 KiB each cost a miss per row at every refresh. */
size_t client_changes(struct client *c, int **ids, bool *all);
/* Whether the list handed out is still being read (a first list of 10,000 torrents comes in
 * slices, each a short callback): the UI draws what it has and asks again at once. */
bool client_list_partial(struct client *c);
/* The row of torrent id in the list client_snapshot handed out (valid as long as it is), or
 * NULL: a lookup, not a walk over 10,000 rows. */
const struct engine_torrent_stats *client_torrent(struct client *c, int id);
/* 0-based position in the queue, -1 without a session directory or for an unknown id. */
int client_queue_position(struct client *c, int id);
/* As engine_peers, engine_files (free with engine_files_free), engine_pieces (free with
 * engine_piece_map_free): the caller's copies. */
size_t client_peers(struct client *c, int id, struct engine_peer_info **out);
size_t client_files(struct client *c, int id, struct engine_file_info **out);
int client_pieces(struct client *c, int id, struct engine_piece_map *out);
/* engine_trackers, then the DHT's row (engine_torrent_dht) when the torrent is in the DHT. */
size_t client_trackers(struct client *c, int id, struct engine_tracker_info **out);
/* The registry as engine_tasks copies it, but *out stays the client's (as the torrent list):
 * valid until the next client_tasks or client_free (in process, 20,000 tasks handed out as a new
 * copy at every refresh were 8 MB copied in the UI's callback). where_func, where_file and the
 * names are valid until client_free. */
size_t client_tasks(struct client *c, const struct engine_task_info **out);
void client_loop_health(struct client *c, struct engine_loop_health *out);
size_t client_log_since(struct client *c, uint64_t after, struct dp_log_line *out, size_t max);
/*
 * Tab completion of a path where the engine runs (the daemon's file system): completes buf in
 * place and returns how many names matched (-1: the folder has too many names to read, the hint
 * says so); with more than one, the common prefix is filled in and up to hintlen bytes of names
 * go to hint. A relative path starts at cwd (NULL: ".").
 */
int client_complete_path(struct client *c, const char *cwd, char *buf, size_t buflen, char *hint,
    size_t hintlen);

/*
 * The same, answered on the loop later: in process the folder is read on a disk worker, so a
 * folder of 100,000 names or a stalled NFS mount cannot freeze the UI (and the engine with it);
 * attached, the daemon reads it on its own pool and done runs when its answer is in (before
 * this returns). done(arg, buf, hint, n) gets what client_complete_path would have left in buf
 * and hint, and its count. One at a time: a new one or client_free drops the one under way,
 * whose done then never runs.
 */
typedef void (*client_complete_fn)(void *arg, const char *buf, const char *hint, int n);
void client_complete_path_start(struct client *c, const char *cwd, const char *buf,
    client_complete_fn done, void *arg);
/*
 * client_command answered later: in process, ADD_FILE reads the file on a disk worker and adds
 * it on the loop; any other command, and every command attached, runs at once and done runs
 * before this returns. done(arg, rc, id, err) as client_command's return, *id_out and err. The
 * command's texts are copied. client_free drops what is under way (the file read is not added
 * and done never runs).
 */
typedef void (*client_command_fn)(void *arg, int rc, int id, const char *err);
void client_command_start(struct client *c, const struct client_cmd *cmd, client_command_fn done,
    void *arg);

/* Whether the engine is a daemon's (leaving does not stop it; STOP_DAEMON does). */
bool client_attached(const struct client *c);
/* Why the daemon is out of reach (it stopped, the socket broke, it stopped answering); NULL
 * while all is well, and always in process. Every call fails quietly once this is set. */
const char *client_lost(const struct client *c);
/* Leaving: in process, the engine stops (trackers told, files synced; done(arg) runs on the
 * loop when it has); attached, the connection closes and done(arg) runs at once. */
void client_leave(struct client *c, void (*done)(void *arg), void *arg);
void client_free(struct client *c);

/* The engine of this process, on its loop (client_local.c). */
struct client *client_local_new(struct engine *e);

/* ---- what the two implementations fill in (client.c dispatches) ---- */
struct client_ops {
	int (*command)(struct client *c, const struct client_cmd *cmd, int *id_out, char *err,
	    size_t errlen);
	size_t (*snapshot)(struct client *c, const struct engine_torrent_stats **torrents,
	    struct engine_global_stats *global);
	bool (*list_partial)(struct client *c);
	size_t (*changes)(struct client *c, int **ids, bool *all);
	const struct engine_torrent_stats *(*torrent)(struct client *c, int id);
	int (*queue_position)(struct client *c, int id);
	size_t (*peers)(struct client *c, int id, struct engine_peer_info **out);
	size_t (*files)(struct client *c, int id, struct engine_file_info **out);
	int (*pieces)(struct client *c, int id, struct engine_piece_map *out);
	size_t (*trackers)(struct client *c, int id, struct engine_tracker_info **out);
	size_t (*tasks)(struct client *c, const struct engine_task_info **out);
	void (*loop_health)(struct client *c, struct engine_loop_health *out);
	size_t (*log_since)(struct client *c, uint64_t after, struct dp_log_line *out, size_t max);
	int (*complete_path)(struct client *c, const char *cwd, char *buf, size_t buflen,
	    char *hint, size_t hintlen);
	/* NULL: client.c runs complete_path and command at once and answers at once */
	void (*complete_start)(struct client *c, const char *cwd, const char *buf,
	    client_complete_fn done, void *arg);
	/* NULL, or false: not one it answers later (client.c runs command at once) */
	bool (*command_start)(struct client *c, const struct client_cmd *cmd,
	    client_command_fn done, void *arg);
	void (*leave)(struct client *c, void (*done)(void *arg), void *arg);
	void (*free)(struct client *c);
};
struct client {
	const struct client_ops *ops;
	bool attached;
	char lost[256];                /* "" while reachable */
};

#endif
