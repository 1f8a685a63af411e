/* peer.h: one peer connection: bufferevent, handshake, message dispatch through wire.h, the
 * request pipeline, serving requests, keep-alive, idle and snub detection. A peer reports to its
 * owner through the operations table it was given and reads what it needs of its torrent from a
 * peer_swarm the owner keeps current: it knows neither torrents nor the session. Loop thread. */
#ifndef DP_ENGINE_INTERNAL
#error "peer.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_PEER_H
#define DP_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "bandwidth.h"
#include "bitfield.h"
#include "peer_disk_gate.h"
#include "peer_piece.h"
#include "picker.h"
#include "transport.h"
#include "wire.h"

struct bufferevent;
struct disk_pool;
struct dp_task;
struct event_base;
struct peer;
struct peer_ext;
struct peer_splice;
struct event;
struct wire_hash_req;
struct wire_hashes;

#define PEER_KEEPALIVE_MS (120u * 1000u)
#define PEER_IDLE_MS (180u * 1000u)
#define PEER_SNUB_MS (60u * 1000u)
#define PEER_HANDSHAKE_MS (20u * 1000u)
#define PEER_CONNECT_MS (10u * 1000u)
#define PEER_MAX_QUEUE 500u
#define PEER_MAX_INCOMING_REQUESTS 2048u
#define PEER_OUTPUT_HIGH (1u << 20)     /* stop serving blocks above this much queued output */
/* Blocks we never asked for (beyond the late answers to requests we gave up) a peer may send
 * before it is closed and reported as hostile (ops->hostile). */
#define PEER_MAX_UNREQUESTED 8u

/* What the torrent does, as far as its peers care. */
enum peer_mode {
	PEER_MODE_IDLE,              /* stopped, checking, fetching the metadata: no blocks */
	PEER_MODE_DOWNLOAD,
	PEER_MODE_SEED,
	PEER_MODE_ERROR              /* nothing more is read from disk */
};

/* What the session lends every peer; it outlives them all. */
struct peer_env {
	struct event_base *base;
	uint8_t peer_id[20];                /* ours */
	int listen_port;                    /* ours, advertised; <= 0: not listening */
	struct bw_bucket *down_bucket, *up_bucket;   /* the global limits */
	int *connections;                   /* open peer sockets: peer.c counts its own */
	struct disk_pool *disk;             /* for the words of a disk wait */
	const uint64_t *disk_write_bound;
	struct peer_disk_gate *disk_gate;   /* disk backpressure (peer_disk_gate.h); NULL: none */
	const struct peer_ext *const *exts; /* the BEP 10 extension table (peer_ext.h) */
	size_t nexts;
	struct transport *transport;        /* makes and accepts connections (TCP/uTP, MSE) */
	int dht_port;                       /* our DHT's UDP port (BEP 5: the handshake's bit and
	                                       the PORT message); 0: no DHT */
};

/* The torrent a peer serves, as data its owner keeps current (the metadata of a magnet arrives
 * later, a recheck replaces the picker). */
struct peer_swarm {
	uint8_t info_hash[20];
	bool v2;                            /* a v2-only torrent: the handshake says so (BEP 52) */
	const uint8_t *hash_v2;             /* a hybrid: its v2 info-hash (first 20 bytes), by
	                                       which peers of the v2 swarm name it; else NULL */
	int torrent_id;                     /* for the task table */
	const char *name;
	uint32_t piece_count;               /* 0 until the metadata is known */
	uint32_t piece_length;
	uint64_t total_size;
	const struct dp_bitfield *have;     /* our verified pieces */
	struct picker *pk;
	struct bw_bucket *down_bucket, *up_bucket;   /* the torrent's limits */
	bool is_private;                    /* BEP 27: no DHT port is offered to its peers */
	bool hold;                          /* no block is requested: a v2-only torrent whose piece
	                                       layers are still being fetched could verify none */
};

/*
 * How a peer reports to its owner; owner is the argument it was given. A peer waiting for the
 * handshake of an incoming connection belongs to the session (bury, attach, detach, adopt);
 * once it belongs to a torrent every entry but adopt is used. Entries marked optional may be
 * NULL.
 */
struct peer_ops {
	/* Joins / leaves the owner's set (outgoing: at peer_connect; incoming: at peer_accept and
	 * peer_adopt). detach runs while closing. */
	void (*attach)(void *owner, struct peer *p);
	void (*detach)(void *owner, struct peer *p);
	/* Closed: free it (peer_free) outside the current callback. */
	void (*bury)(void *owner, struct peer *p);
	/* Incoming: its handshake names info_hash. Hand it to that torrent (peer_adopt) and return
	 * 0, or -1 with why (the peer closes with it). */
	int (*adopt)(void *owner, struct peer *p, const uint8_t info_hash[20], char *why,
	    size_t whylen);

	enum peer_mode (*mode)(void *owner);
	/* A requested block's header arrived: where its len bytes at offset of piece go, or NULL
	 * when not wanted (the peer drains them). The payload is read into place as it arrives, so
	 * the range is the peer's until block_done records it (it may close peers, p too) or
	 * block_abort (optional) gives it back unfinished (p closed mid-block). */
	uint8_t *(*block_dest)(void *owner, uint32_t piece, uint32_t offset, uint32_t len);
	void (*block_done)(void *owner, struct peer *p, uint32_t piece, uint32_t offset,
	    uint32_t len);
	void (*block_abort)(void *owner, uint32_t piece, uint32_t offset);
	/* Piece data for serving with a reference taken (given back through out->ref), or false
	 * while it is being read from disk. from_file: p writes to a plain socket, so spans of
	 * the files (sendfile) do; the owner may still lend data. */
	bool (*cache_get)(void *owner, uint32_t piece, bool from_file, struct peer_piece *out);
	/* Sending a block from a file met its end: the file shrank after it was opened
	 * (optional; p closes after this). */
	void (*file_short)(void *owner, struct peer *p);
	/* The peer became interested: it may get a free upload slot at once. */
	void (*interested)(void *owner, struct peer *p);
	/* len bytes of blocks were queued to p: the owner's totals and meters. */
	void (*uploaded)(void *owner, struct peer *p, uint32_t len, uint64_t now_ms);
	/* Another peer of the owner with this id whose handshake is done, or NULL. */
	struct peer *(*find_peer_id)(void *owner, const struct peer *p, const uint8_t id[20]);
	/* We dialled ourselves: never dial that address again. */
	void (*self_connected)(void *owner, struct peer *p);
	/* BEP 5 PORT: the peer's DHT port (optional). */
	void (*on_port)(void *owner, struct peer *p, uint16_t port);
	/* It broke the protocol on purpose (sent blocks nobody asked for): the owner scores it
	 * before it closes (optional). */
	void (*hostile)(void *owner, struct peer *p, const char *why);
	/* BEP 52 hash request: the hashes that answer it written to out (room for V2_HASHES_MAX
	 * of 32 bytes), how many, 0 to reject (optional: NULL rejects every request). */
	uint32_t (*hash_answer)(void *owner, const struct wire_hash_req *req, uint8_t *out);
	/* BEP 52 hashes (h) or hash reject (rejected) for one of our hash requests, parsed but
	 * not checked (optional; NULL drops them). May close p. */
	void (*hash_reply)(void *owner, struct peer *p, const struct wire_hashes *h,
	    const struct wire_hash_req *rejected);
};

struct peer_request {           /* a block we asked for */
	uint32_t piece, offset, length;
	uint64_t sent_ms;
};

struct peer_in_request {        /* a block the peer asked for */
	uint32_t piece, offset, length;
};

struct peer {
	const struct peer_env *env;
	const struct peer_ops *ops;
	void *owner;                  /* ops' argument */
	const struct peer_swarm *sw;  /* NULL until an incoming handshake names the torrent */
	struct peer *next, *prev;     /* in the owner's set */
	struct bufferevent *bev;      /* NULL until the transport delivers the stream */
	struct transport_conn *tconn; /* the connection being made, until then */
	struct transport_info tinfo;  /* what it turned out to be: TCP or uTP, encrypted or not */
	struct dp_task *task;

	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_str[64];
	bool incoming;
	bool connected;               /* the transport delivered the stream (bev is set) */
	bool handshake_sent, handshake_done;
	bool dead;                    /* closed; waiting to be freed */
	bool counted;                 /* counted in env->connections */

	uint8_t peer_id[20];
	/* The info-hash our handshake names: the swarm's, or for a hybrid whichever of its two the
	 * peer named (an incoming v2 peer gets the v2 one back, with the v2 bit). */
	uint8_t hs_hash[20];
	bool hs_hash_set, hs_v2;
	char client[64];
	bool fast, ext;
	bool dht;                     /* its handshake set the DHT bit (BEP 5) */
	struct wire_ext_handshake exth;
	struct wire_limits lim;

	bool am_choking, am_interested, peer_choking, peer_interested;
	bool snubbed, optimistic, seed, upload_only;
	uint64_t unchoked_since_us;
	uint64_t choked_since_ms;      /* when it last choked us (the handshake counts as a choke) */

	struct dp_bitfield has;       /* empty until a bitfield / have-all / have */
	uint8_t *early_bits;          /* BITFIELD and HAVEs before the piece count is known */
	size_t early_bits_len;
	uint32_t *early_haves;
	size_t nearly_haves, early_haves_cap;
	bool has_all;                 /* have-all or a complete bitfield: counted as a seed */
	bool bitfield_received;

	struct peer_request *reqs;    /* our outstanding requests, oldest first */
	uint32_t nreqs, reqs_cap, reqs_head;
	uint32_t queue_target;
	uint64_t requests_direct;     /* requests that went straight to the socket (tests) */
	/* Blocks that matched no outstanding request: dropped unread. Requests we cancelled or gave
	 * up may still be answered (late_allowed of them); beyond that each one is hostile. */
	uint32_t late_allowed;
	uint32_t unrequested, hostile_blocks;
	uint64_t unrequested_bytes;

	/* The PIECE whose payload is arriving (rx_len 0: none): read into rx_dest as it comes,
	 * straight from a plain socket, else out of the input buffer; drained when rx_dest is
	 * NULL. rx_wanted: it matched a request (counted as downloaded). rx_blocks: the last
	 * message was a PIECE, so socket reads stop at the next header (peer_read_tail). */
	uint8_t *rx_dest;
	uint32_t rx_piece, rx_offset, rx_len, rx_got;
	bool rx_wanted, rx_blocks;

	struct peer_in_request *inreqs;  /* its requests, in arrival order */
	uint32_t ninreqs, inreqs_cap, inreqs_head;

	uint32_t *allowed_fast;       /* pieces it lets us request while choked */
	uint32_t nallowed_fast;

	struct bw_meter down_meter, up_meter;
	uint64_t downloaded, uploaded;
	uint64_t connected_us;
	uint64_t last_recv_ms, last_send_ms, last_block_ms, started_ms;
	uint64_t task_updated_ms;

	/* A plain socket's blocks gathered in a pipe (peer_splice.h), opened when it is first
	 * served; NULL: none, or none to be had (splice_failed), and libevent sends them. While
	 * the pipe holds bytes the bufferevent does not write (its EV_WRITE is off) and splice_ev
	 * waits for the socket; blocks go into the pipe only when the bufferevent's output is
	 * empty, so the stream keeps the order things were queued in. */
	struct peer_splice *splice;
	struct event *splice_ev;
	bool splice_failed;

	/* A plain socket's reads: an event of our own on its fd, while the bufferevent's EV_READ
	 * stays off (it still writes). NULL: the bufferevent reads (MSE, uTP, no event). */
	struct event *read_ev;

	bool read_throttled;          /* RATE_WAIT for download */
	bool write_throttled;         /* RATE_WAIT for upload */
	bool disk_paused;             /* DISK_WAIT: held by the disk gate */
	struct peer_disk_waiter disk_wait;    /* its place among the held */
	int hashfails;
};

/* Outgoing connection for the torrent sw describes; ops->attach runs before connecting. by_v2:
 * a hybrid's connection names its v2 info-hash (the v2 swarm, where hash requests are allowed).
 * NULL (logged) when the socket can't be made. */
struct peer *peer_connect(const struct peer_env *env, const struct peer_ops *ops, void *owner,
    const struct peer_swarm *sw, const struct sockaddr *sa, socklen_t len, bool by_v2);
/* An accepted socket; owner (the session) keeps it until its handshake: ops->adopt. */
struct peer *peer_accept(const struct peer_env *env, const struct peer_ops *ops, void *owner,
    int fd, const struct sockaddr *sa, socklen_t len);
/* The same for a stream already made (an incoming uTP connection: utp true); it takes raw. */
struct peer *peer_accept_stream(const struct peer_env *env, const struct peer_ops *ops,
    void *owner, struct bufferevent *raw, const struct sockaddr *sa, socklen_t len, bool utp);
/* From adopt: the peer now belongs to the torrent sw describes (ops->attach runs). */
void peer_adopt(struct peer *p, const struct peer_ops *ops, void *owner,
    const struct peer_swarm *sw);
void *peer_owner(const struct peer *p);
/* Closes the connection (logged with reason), gives back its requests, buries it. */
void peer_close(struct peer *p, const char *fmt, ...) DP_PRINTF(2, 3);
void peer_free(struct peer *p);
/* The swarm's metadata arrived (piece_count set): the BITFIELD and HAVEs it sent before are
 * applied. false when that closed it (they did not fit). */
bool peer_pieces_known(struct peer *p);

/* For extensions: the peer's id for extension name (0: it does not take it), sending one
 * message under that id, and how much output waits (a slow reader gets rejects). */
uint8_t peer_ext_id(const struct peer *p, const char *name);
void peer_send_extended(struct peer *p, uint8_t remote_id, const void *payload, size_t len);
/* A BEP 52 hash request (the answer comes through ops->hash_reply). */
void peer_send_hash_request(struct peer *p, const struct wire_hash_req *r);
size_t peer_output_queued(const struct peer *p);

/* Torrent-driven actions. */
void peer_send_have(struct peer *p, uint32_t piece);
void peer_set_choke(struct peer *p, bool choke);
void peer_update_interest(struct peer *p);
/* Fill the request pipeline up to its target. */
void peer_fill_requests(struct peer *p);
/* Answer queued requests from the read cache (a piece just loaded, rate tokens arrived). */
void peer_serve(struct peer *p);
/* Periodic checks (keep-alive, idle, snub, request timeouts); now in ms. */
void peer_tick(struct peer *p, uint64_t now_ms);
/* Reading is paused/resumed by rate limits or disk backpressure. */
void peer_update_reading(struct peer *p);
/* The disk gate let p's waiter go (peer_disk_gate_wake): it reads again. */
void peer_disk_woken(struct peer_disk_waiter *w);
void peer_cancel_block(struct peer *p, uint32_t piece, uint32_t offset, uint32_t length);
void peer_update_task(struct peer *p);
uint64_t peer_down_rate(struct peer *p);
uint64_t peer_up_rate(struct peer *p);

#endif
