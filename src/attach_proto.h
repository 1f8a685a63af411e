/* attach_proto.h: the attach protocol between a daemon (attach_server.c) and the UIs attached
 * to it (client_remote.c): frames, the version, the requests, and every record as a table of
 * fields that one encoder and one decoder walk. The decoder checks all it is given (types,
 * ranges, lengths): the other end of a socket is input like any other.
 *
 * A frame is a 4-byte big-endian length, then that many bytes: one bencoded dictionary. A
 * request is {"id": N, "op": NAME, ...}; its reply carries the same id and either the answer or
 * "err" with the reason in words. The first request is "hello" with the version ("v"): a daemon
 * of another version answers with an error and closes. Lists that can be long (torrents, peers,
 * files, trackers, tasks) come as rows keyed by a number; a row carries the parts that changed
 * since that client's last request ("s": what rarely changes, "d": the rest), "gone" names the
 * keys that left, "reset" tells the client to forget the list first, and "more" that the answer
 * continues at the next request (the daemon answers in slices). */
#ifndef DP_ATTACH_PROTO_H
#define DP_ATTACH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bencode.h"
#include "client.h"
#include "engine.h"
#include "util.h"

#define ATTACH_PROTO_VERSION 1
#define ATTACH_SOCKET_NAME "attach.sock"
#define ATTACH_MAX_REQUEST (64u << 10)     /* a request frame, at most */
#define ATTACH_MAX_REPLY (8u << 20)        /* a reply frame, at most */
#define ATTACH_FRAME_HEADER 4

/* The requests, one list for the enum and the names on the wire. */
#define ATTACH_OPS(X)                  \
	X(HELLO, "hello")              \
	X(LIST, "list")                \
	X(QUEUE_POS, "queue-pos")      \
	X(PEERS, "peers")              \
	X(FILES, "files")              \
	X(TRACKERS, "trackers")        \
	X(PIECES, "pieces")            \
	X(TASKS, "tasks")              \
	X(HEALTH, "health")            \
	X(LOG, "log")                  \
	X(COMMAND, "cmd")              \
	X(COMPLETE, "complete")

enum attach_op {
#define X(name, str) ATTACH_OP_##name,
	ATTACH_OPS(X)
#undef X
	ATTACH_OP_COUNT
};
const char *attach_op_name(enum attach_op op);
enum attach_op attach_op_find(const struct be_node *n);    /* ATTACH_OP_COUNT: unknown */

/* "<session_dir>/attach.sock" (a new string). */
char *attach_socket_path(const char *session_dir);

/* ---- frames ---- */
/* Starts a frame in b (its length is filled in by attach_frame_end); returns where it starts. */
size_t attach_frame_begin(struct dp_buf *b);
void attach_frame_end(struct dp_buf *b, size_t start);
/* The body length of the frame at p when its header is there (avail >= 4): 0 when it is not
 * yet, -1 when the length is 0 or above max (the stream is broken), else 1. */
int attach_frame_peek(const uint8_t *p, size_t avail, size_t max, size_t *body_len);
/* Decodes a frame body: one dictionary within the limits for attach messages; NULL with err. */
struct be_node *attach_decode_body(const uint8_t *body, size_t len, char *err, size_t errlen);

/* ---- records ---- */
enum attach_ftype {
	ATTACH_INT,      /* int, int64_t: signed, checked against its size */
	ATTACH_UINT,     /* uint16_t .. uint64_t, size_t */
	ATTACH_BOOL,
	ATTACH_ENUM,     /* an enum (int) in [0, max) */
	ATTACH_DOUBLE,   /* sent in millionths */
	ATTACH_CHARS,    /* char[size], NUL-terminated, cut to fit */
	ATTACH_STRDUP,   /* char *, owned (freed when replaced) */
};
struct attach_field {
	const char *key;           /* the tables are sorted by key: the dictionaries come sorted */
	enum attach_ftype type;
	size_t off, size;
	int max;                   /* ATTACH_ENUM */
};
struct attach_record {
	const char *name;
	const struct attach_field *fields;
	size_t n;
};
/* The records and their parts: "s" (static) and "d" (dynamic) of a row. */
extern const struct attach_record attach_torrent_static, attach_torrent_dynamic,
    attach_global_rec, attach_peer_rec, attach_file_static, attach_file_dynamic,
    attach_tracker_rec, attach_task_static, attach_task_dynamic, attach_health_rec,
    attach_slow_rec;

/* Appends obj's fields as a dictionary; zero values are left out. */
void attach_encode_record(struct dp_buf *b, const struct attach_record *r, const void *obj);
/* Sets every field of r in obj from dict (the fields absent are zero; ATTACH_STRDUP ones are
 * freed first). Keys it does not know are skipped (a newer peer may send more). False with err
 * on a wrong type or a value out of range; obj then holds a mix, still valid to free. */
bool attach_decode_record(const struct be_node *dict, const struct attach_record *r, void *obj,
    char *err, size_t errlen);
/* Frees the ATTACH_STRDUP fields of obj. */
void attach_record_free(const struct attach_record *r, void *obj);

/* Integer lookups in a message: false when absent or of another type. */
bool attach_get_int(const struct be_node *dict, const char *key, int64_t *out);
/* A string copied into out (cut to outlen - 1); false when absent or not a string. */
bool attach_get_str(const struct be_node *dict, const char *key, char *out, size_t outlen);

/* ---- commands ---- */
/* A client command as the "cmd" dictionary of a request (appended to b). */
void attach_encode_cmd(struct dp_buf *b, const struct client_cmd *cmd);
/* What a decoded command points into: its text, cwd and file list (freed by attach_cmd_free). */
#define ATTACH_CMD_TEXT_MAX 4096
#define ATTACH_CMD_FILES_MAX 100000
struct attach_cmd {
	struct client_cmd cmd;
	char text[ATTACH_CMD_TEXT_MAX], cwd[ATTACH_CMD_TEXT_MAX];
	size_t *files;
};
/* Decodes a request's "cmd" dictionary: every field checked (a known kind, enums in range, a
 * text without NUL and within bounds, file indexes non-negative). False with err. */
bool attach_decode_cmd(const struct be_node *dict, struct attach_cmd *out, char *err,
    size_t errlen);
void attach_cmd_free(struct attach_cmd *c);

/* Strings a decoder hands out for the life of its owner (the tasks' where_func and where_file):
 * each distinct one kept once, at most ATTACH_INTERN_MAX of them (then "?"). */
#define ATTACH_INTERN_MAX 4096
struct attach_intern {
	char **s;
	size_t n, cap;
};
const char *attach_intern(struct attach_intern *in, const char *s, size_t len);
void attach_intern_free(struct attach_intern *in);

#endif
