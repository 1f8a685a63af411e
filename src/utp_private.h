/* utp_private.h: what utp.c (the engine: demultiplexing, connection table, accept, connect,
 * deferred flushes) and utp_conn.c (one connection's state machine) share. uTP files only. */
#ifndef DP_ENGINE_INTERNAL
#error "utp_private.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_UTP_PRIVATE_H
#define DP_UTP_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "utp.h"
#include "utp_ledbat.h"
#include "utp_packet.h"
#include "udp_socket.h"

struct event;
struct dp_task;

/* Packets in flight at most (a ring indexed by sequence number): 4096 full packets are 5.8 MB,
 * more than UTP_SEND_BUFFER, so the byte bounds bind first. */
#define UTP_SEND_RING 4096u
/* Out-of-order packets held at most: the receive window in packets, with room. */
#define UTP_RECV_RING 2048u

enum utp_state {
	UTP_SYN_SENT,
	UTP_CONNECTED,
	UTP_CLOSING,          /* the user closed: remaining data, then FIN, then its ACK */
	UTP_DEAD,             /* waiting to be freed by the engine's flush */
};

struct utp_out_pkt {
	uint16_t seq;
	uint8_t type;              /* DATA, FIN or SYN */
	uint8_t transmissions;
	bool need_resend;          /* counted out of flight, to go again */
	bool probe;                /* an MTU probe: its loss lowers the ceiling, not the window */
	uint32_t len;              /* payload bytes */
	uint64_t sent_us;
	uint8_t buf[];             /* UTP_HEADER_LEN of header room, then the payload */
};

struct utp_in_pkt {
	bool fin;
	uint32_t len;
	uint8_t data[];
};

struct utp_conn {
	struct utp_engine *eng;
	struct utp_conn *hnext;            /* hash chain (by address and receive id) */
	struct utp_conn *next, *prev;      /* every connection */
	struct utp_conn *fnext;            /* in the engine's flush list when queued */
	bool queued;
	enum utp_state state;
	bool incoming;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct udp_socket *sock;
	char name[80];
	struct dp_task *task;
	uint64_t reason_ms;
	uint16_t recv_id, send_id;
	struct bufferevent *u;             /* ours; the user's end is its pair partner */
	struct event *timer;
	struct event *pace_timer;          /* sends the rest of a window spread out */
	uint64_t pace_tokens;              /* bytes that may leave at once now */
	uint64_t pace_last_us;

	/* sending */
	uint16_t seq_nr;                   /* the next sequence number */
	uint16_t acked;                    /* every packet up to this one is acknowledged */
	struct utp_out_pkt *out[UTP_SEND_RING];
	uint32_t in_flight;                /* payload bytes sent and not acknowledged or lost */
	uint32_t peer_wnd;
	uint32_t dup_acks;
	bool cwnd_limited;                 /* the last flush stopped at the window */
	bool probe_zero_window;            /* the timer allows one packet into a shut window */
	uint32_t mss, mss_floor, mss_ceiling;
	bool probing;
	uint16_t probe_seq;
	uint32_t rtt_us, rtt_var_us, rto_ms;
	bool have_rtt;
	uint32_t timeouts_in_row;
	uint64_t rack_sent_us;             /* the latest send time among acknowledged packets */
	uint32_t nresend;                  /* packets marked need_resend */
	uint32_t resend_bytes;             /* their payload: room the receiver keeps for them */
	uint64_t rto_at_us;                /* when the retransmission timer is due (0: off); the
	                                    * event fires no earlier and checks (no re-arm per ACK) */
	uint64_t rto_ev_at_us;             /* when the pending timer event fires */
	uint64_t tlp_at_us;                /* when the tail-loss probe is due (0: none armed) */
	bool tlp_sent;                     /* probed since the last ACK that moved */
	/* data packets a flush sends together (sendmmsg) */
	struct udp_dgram batch[UDP_SOCKET_BATCH_MAX];
	size_t nbatch;
	bool fin_sent;
	uint16_t fin_seq;
	struct ledbat cc;

	/* receiving */
	uint16_t ack_nr;                   /* the last packet received in order */
	struct utp_in_pkt *in[UTP_RECV_RING];
	uint32_t reorder_count, reorder_bytes;
	bool got_fin, eof_told;
	uint16_t eof_seq;
	uint32_t reply_micro;              /* timestamp_difference to send */
	bool ack_due;
	bool sack_due;                     /* out of order: a STATE with the mask is owed */
	bool window_was_small;             /* we advertised a small window: say when it opens */

	uint64_t created_us, last_recv_us, closing_since_us;
	uint64_t bytes_in, bytes_out, packets_in, packets_out, resent;
	uint64_t false_losses;             /* declared lost, acknowledged from the one sending */
	uint64_t tail_probes;
	int error;                         /* errno for the user's end when it failed */
	bool user_told;                    /* CONNECTED (or the failure) was reported */
};

struct utp_engine {
	struct event_base *base;
	struct udp_socket *socks[2];       /* IPv4, IPv6 */
	utp_accept_fn accept_fn;
	void *accept_arg;
	bool accepting;
	struct utp_conn **buckets;
	size_t nbuckets, nconns;
	struct utp_conn *all;
	struct utp_conn *flush_head;
	struct event *flush_ev;
	struct event *tick_ev;
	struct utp_engine_stats st;
};

/* utp.c */
void utp_engine_queue(struct utp_engine *eng, struct utp_conn *c);
void utp_engine_unhash(struct utp_engine *eng, struct utp_conn *c);
uint32_t utp_now_micro(void);
/* Sends a datagram from a connection's socket; EMSGSIZE and drops are the caller's to judge. */
int utp_engine_send(struct utp_engine *eng, struct utp_conn *c, const uint8_t *d, size_t len);

/* utp_conn.c */
struct utp_conn *utp_conn_new(struct utp_engine *eng, struct udp_socket *sock,
    const struct sockaddr *sa, socklen_t len, bool incoming, uint16_t recv_id,
    struct bufferevent **user);
void utp_conn_send_syn(struct utp_conn *c);
void utp_conn_accept_syn(struct utp_conn *c, const struct utp_header *h);
void utp_conn_packet(struct utp_conn *c, const struct utp_header *h, const uint8_t *payload,
    size_t len);
void utp_conn_reset(struct utp_conn *c, int err);
/* Sends what is due (resends, new data, ACKs); frees the connection when it is dead. Returns
 * false when it freed c. */
bool utp_conn_flush(struct utp_conn *c);
/* Periodic: the user's end freed, lingering closes, the task's reason. */
void utp_conn_tick(struct utp_conn *c, uint64_t now_us);
void utp_conn_free(struct utp_conn *c);

#endif
