/* peer.h: one peer connection: bufferevent, handshake, message dispatch through wire.h, the
 * request pipeline, serving requests, keep-alive, idle and snub detection. Loop thread only. */
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
#include "picker.h"
#include "wire.h"

struct engine;
struct torrent;
struct bufferevent;
struct dp_task;

#define PEER_KEEPALIVE_MS (120u * 1000u)
#define PEER_IDLE_MS (180u * 1000u)
#define PEER_SNUB_MS (60u * 1000u)
#define PEER_HANDSHAKE_MS (20u * 1000u)
#define PEER_CONNECT_MS (10u * 1000u)
#define PEER_MAX_QUEUE 500u
#define PEER_MAX_INCOMING_REQUESTS 2048u
#define PEER_OUTPUT_HIGH (1u << 20)     /* stop serving blocks above this much queued output */

struct peer_request {           /* a block we asked for */
	uint32_t piece, offset, length;
	uint64_t sent_ms;
};

struct peer_in_request {        /* a block the peer asked for */
	uint32_t piece, offset, length;
};

struct peer {
	struct engine *e;
	struct torrent *t;            /* NULL until an incoming handshake names the torrent */
	struct peer *next, *prev;     /* in t->peers, e->pending or e->graveyard */
	struct bufferevent *bev;
	struct dp_task *task;

	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addr_str[64];
	bool incoming;
	bool connected;               /* TCP is up */
	bool handshake_sent, handshake_done;
	bool dead;                    /* closed; waiting to be freed */
	bool counted;                 /* counted in e->connections */

	uint8_t peer_id[20];
	char client[64];
	bool fast, ext;
	struct wire_ext_handshake exth;
	struct wire_limits lim;

	bool am_choking, am_interested, peer_choking, peer_interested;
	bool snubbed, optimistic, seed, upload_only;
	uint64_t unchoked_since_us;
	uint64_t choked_since_ms;      /* when it last choked us (the handshake counts as a choke) */

	struct dp_bitfield has;       /* empty until a bitfield / have-all / have */
	bool has_all;                 /* have-all or a complete bitfield: counted as a seed */
	bool bitfield_received;

	struct peer_request *reqs;    /* our outstanding requests, oldest first */
	uint32_t nreqs, reqs_cap, reqs_head;
	uint32_t queue_target;

	struct peer_in_request *inreqs;  /* its requests, in arrival order */
	uint32_t ninreqs, inreqs_cap, inreqs_head;

	uint32_t *allowed_fast;       /* pieces it lets us request while choked */
	uint32_t nallowed_fast;

	struct bw_meter down_meter, up_meter;
	uint64_t downloaded, uploaded;
	uint64_t connected_us;
	uint64_t last_recv_ms, last_send_ms, last_block_ms, started_ms;
	uint64_t task_updated_ms;

	bool read_throttled;          /* RATE_WAIT for download */
	bool write_throttled;         /* RATE_WAIT for upload */
	bool disk_paused;             /* DISK_WAIT */
	int hashfails;
};

/* Outgoing connection for torrent t. Returns NULL (and logs) when the socket can't be made. */
struct peer *peer_connect(struct torrent *t, const struct sockaddr *sa, socklen_t len);
/* An accepted socket; it waits in e->pending for the handshake. */
struct peer *peer_accept(struct engine *e, int fd, const struct sockaddr *sa, socklen_t len);
/* Closes the connection (logged with reason), gives back its requests, buries it. */
void peer_close(struct peer *p, const char *fmt, ...) DP_PRINTF(2, 3);
void peer_free(struct peer *p);

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
void peer_cancel_block(struct peer *p, uint32_t piece, uint32_t offset, uint32_t length);
void peer_update_task(struct peer *p);
uint64_t peer_down_rate(struct peer *p);
uint64_t peer_up_rate(struct peer *p);

#endif
