/* krpc.h: the DHT's wire format: KRPC messages over UDP (BEP 5: ping, find_node, get_peers,
 * announce_peer; BEP 32: nodes6 and want; BEP 42: the requester's address in "ip"), a strict
 * decoder of one datagram into a flat struct, the encoders for what we send, compact formats.
 * Pure: nothing here knows sockets or the loop. */
#ifndef DP_ENGINE_INTERNAL
#error "krpc.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_KRPC_H
#define DP_KRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dht_id.h"
#include "util.h"

/* A datagram longer than this is not KRPC we speak (BEP 44 items are not supported). */
#define KRPC_MAX_DATAGRAM 2048
#define KRPC_TID_MAX 16                /* transaction ids we accept (ours are 4 bytes) */
#define KRPC_TOKEN_MAX 40              /* write tokens we accept (ours are 8 bytes) */
#define KRPC_MAX_NODES 16              /* per family in one answer; more is malformed */
#define KRPC_MAX_VALUES 128            /* peers in one get_peers answer; the rest are ignored */
#define KRPC_NODE4_LEN 26              /* compact node: id, IPv4, port */
#define KRPC_NODE6_LEN 38              /* compact node: id, IPv6, port */

enum krpc_type { KRPC_QUERY, KRPC_RESPONSE, KRPC_ERROR };

#define KRPC_METHODS(X)                        \
	X(PING, "ping")                        \
	X(FIND_NODE, "find_node")              \
	X(GET_PEERS, "get_peers")              \
	X(ANNOUNCE_PEER, "announce_peer")

enum krpc_method {
#define X(name, str) KRPC_##name,
	KRPC_METHODS(X)
#undef X
	KRPC_UNKNOWN                   /* a query of a method we do not know (answered 204) */
};
const char *krpc_method_name(enum krpc_method m);

/* KRPC error codes (BEP 5). */
#define KRPC_ERR_GENERIC 201
#define KRPC_ERR_SERVER 202
#define KRPC_ERR_PROTOCOL 203
#define KRPC_ERR_METHOD 204

struct krpc_node {
	uint8_t id[DHT_ID_LEN];
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct krpc_peer {
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct krpc_msg {
	enum krpc_type type;
	uint8_t tid[KRPC_TID_MAX];
	size_t tid_len;
	char version[5];               /* "v", printable bytes only, "" when absent */
	bool read_only;                /* "ro": 1 (BEP 43): do not add the sender to tables */
	bool has_ip;                   /* "ip" (BEP 42): our address as the answerer saw it */
	struct sockaddr_storage ip;
	socklen_t iplen;

	/* queries */
	enum krpc_method method;
	uint8_t target[DHT_ID_LEN];    /* find_node target, get_peers/announce_peer info_hash */
	uint16_t port;                 /* announce_peer */
	bool implied_port;
	bool want4, want6;             /* BEP 32 "want"; both false when absent */

	/* queries and responses */
	uint8_t id[DHT_ID_LEN];        /* the sender's node id (always present, else malformed) */
	uint8_t token[KRPC_TOKEN_MAX];
	size_t token_len;

	/* responses */
	struct krpc_node nodes[KRPC_MAX_NODES];      /* "nodes" */
	size_t nnodes;
	struct krpc_node nodes6[KRPC_MAX_NODES];     /* "nodes6" */
	size_t nnodes6;
	struct krpc_peer values[KRPC_MAX_VALUES];
	size_t nvalues;
	bool has_values;

	/* errors */
	int error_code;
	char error_msg[64];            /* printable bytes only */
};

/*
 * Decodes one datagram. Strict: a bencoded dictionary with a string "t" and "y" of "q", "r" or
 * "e"; queries need "q" and an "a" dictionary with a 20-byte "id" (and the method's arguments:
 * 20-byte target/info_hash, announce_peer's port and token); responses need an "r" dictionary
 * with a 20-byte "id"; compact node strings must be whole entries, at most KRPC_MAX_NODES.
 * Returns 0, or -1 with a short reason in err (the datagram is to be dropped and counted).
 * Even then msg->type and msg->tid are filled when they could be read, so that a query with a
 * bad argument can be answered with error 203.
 */
int krpc_decode(const uint8_t *buf, size_t len, struct krpc_msg *msg, char *err, size_t errlen);

/* ---- encoders: each appends one whole message to b ---- */

/* What every message we send carries besides its body. */
struct krpc_head {
	const uint8_t *tid;
	size_t tid_len;
	const uint8_t *version;        /* 4 bytes for "v", or NULL */
	bool read_only;                /* queries only */
};

void krpc_enc_ping(struct dp_buf *b, const struct krpc_head *h, const uint8_t id[DHT_ID_LEN]);
void krpc_enc_find_node(struct dp_buf *b, const struct krpc_head *h,
    const uint8_t id[DHT_ID_LEN], const uint8_t target[DHT_ID_LEN], bool want4, bool want6);
void krpc_enc_get_peers(struct dp_buf *b, const struct krpc_head *h,
    const uint8_t id[DHT_ID_LEN], const uint8_t info_hash[DHT_ID_LEN], bool want4, bool want6);
void krpc_enc_announce_peer(struct dp_buf *b, const struct krpc_head *h,
    const uint8_t id[DHT_ID_LEN], const uint8_t info_hash[DHT_ID_LEN], uint16_t port,
    bool implied_port, const uint8_t *token, size_t token_len);

/* A response: every pointer may be NULL / count 0 for keys it leaves out. */
struct krpc_reply {
	const uint8_t *id;
	const struct sockaddr *requester;      /* "ip" (BEP 42) */
	const struct krpc_node *nodes;         /* IPv4 ones are written to "nodes", IPv6 to "nodes6" */
	size_t nnodes;
	const uint8_t *token;
	size_t token_len;
	const struct krpc_peer *values;        /* written to "values" when non-NULL (even if 0) */
	size_t nvalues;
};
void krpc_enc_reply(struct dp_buf *b, const struct krpc_head *h, const struct krpc_reply *r);
void krpc_enc_error(struct dp_buf *b, const struct krpc_head *h, int code, const char *msg);

/* ---- compact formats ---- */

/* 6 (IPv4) or 18 (IPv6) bytes: address then port, network order. 0 for another family. */
size_t krpc_compact_addr(const struct sockaddr *sa, uint8_t out[18]);
/* The inverse; false for a length other than 6 or 18. */
bool krpc_parse_compact_addr(const uint8_t *p, size_t len, struct sockaddr_storage *out,
    socklen_t *outlen);
/* A compact node (26 or 38 bytes by the address's family); 0 for another family. */
size_t krpc_compact_node(const struct krpc_node *n, uint8_t out[KRPC_NODE6_LEN]);

#endif
