/* fuzz_peer.c: libFuzzer target for a peer connection without an engine: the peer belongs to a
 * fake owner (this file's peer_ops: a one-torrent swarm with a real picker and piece buffers) and
 * the input is the byte stream a remote peer sends after a valid handshake, fed through a
 * socketpair into peer.c's dispatch (piece fast path, bitfields, requests, Fast messages, the
 * BEP 10 table with the real ut_metadata and ut_pex codecs behind it). The first byte picks the
 * handshake's reserved bits and the swarm's mode (downloading, seeding, a magnet whose metadata
 * arrives halfway, rate limits, a DHT port). The stream comes through a real transport (the
 * plaintext handshake sniffed, as for an accepted socket). Each input runs a bounded number of loop turns, then checks that
 * every connection was closed and buried and every lent piece reference came back. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/event.h>

#include "bitfield.h"
#include "log.h"
#include "peer.h"
#include "peer_ext.h"
#include "picker.h"
#include "transport.h"
#include "ut_metadata.h"
#include "ut_pex.h"
#include "util.h"
#include "wire.h"

#define FZ_PIECE 16384u
#define FZ_PIECES 8u
#define FZ_SIZE (FZ_PIECE * FZ_PIECES - 100u)
#define FZ_MAX_INPUT 65536u
#define FZ_FEED_ROUNDS 200      /* loop turns while the stream is fed */
#define FZ_DRAIN_ROUNDS 200     /* turns of at most FZ_DRAIN_US each to close and drain */
#define FZ_DRAIN_US 1000
#define FZ_TICK_ROUNDS 20       /* peer_tick every this many turns */
#define FZ_RATE 65536u          /* bytes/s when the input asks for rate limits */

/* First byte of the input: bits 0-2 the handshake's reserved bits (ext, fast, DHT) as before. */
#define FZ_F_SEED 0x08u         /* we have every piece and seed */
#define FZ_F_MAGNET 0x10u       /* the piece count is unknown until half the input is in */
#define FZ_F_LIMITS 0x20u       /* global and torrent rate limits */
#define FZ_F_DHT 0x40u          /* we run a DHT: the handshake's bit and our PORT message */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fake owner: one torrent, its peers, the graveyard, the pieces it lends. */
struct fuzz_swarm {
	struct peer_env env;
	struct peer_swarm sw;
	struct bw_bucket gdown, gup, tdown, tup;
	struct dp_bitfield have;
	struct picker *pk;
	bool seeding, known;
	int connections;
	struct peer *peers;              /* attached (pending ones too: one list is enough) */
	struct peer *graveyard;
	uint8_t pieces[FZ_PIECES][FZ_PIECE];
	struct peer_piece_ref ref;
	long refs;                       /* piece references lent and not given back */
	uint64_t uploaded, downloaded;
	unsigned ports, messages;
};

static struct event_base *base;
static struct transport *transport;   /* sniffs the stream: a plaintext handshake here */
static struct fuzz_swarm fz;
static const uint8_t fuzz_hash[20] = "fuzz-info-hash-00001";

/* ---- the owner's side of peer_ops ---- */

static void
fuzz_attach(void *owner, struct peer *p)
{
	struct fuzz_swarm *s = owner;
	p->prev = NULL;
	p->next = s->peers;
	if (s->peers != NULL)
		s->peers->prev = p;
	s->peers = p;
}

static void
fuzz_detach(void *owner, struct peer *p)
{
	struct fuzz_swarm *s = owner;
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		s->peers = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	p->next = p->prev = NULL;
}

static void
fuzz_bury(void *owner, struct peer *p)
{
	struct fuzz_swarm *s = owner;
	p->next = s->graveyard;
	s->graveyard = p;
}

static enum peer_mode
fuzz_mode(void *owner)
{
	struct fuzz_swarm *s = owner;
	if (!s->known)
		return PEER_MODE_IDLE;
	return s->seeding ? PEER_MODE_SEED : PEER_MODE_DOWNLOAD;
}

static uint8_t *
fuzz_block_dest(void *owner, uint32_t piece, uint32_t offset, uint32_t len)
{
	struct fuzz_swarm *s = owner;
	if (fuzz_mode(s) != PEER_MODE_DOWNLOAD || piece >= FZ_PIECES || bitfield_get(&s->have, piece))
		return NULL;
	if (offset > FZ_PIECE || len > FZ_PIECE - offset)
		abort();     /* peer.c checks blocks against the piece before asking */
	return s->pieces[piece] + offset;
}

/* A piece whose blocks all came counts as verified: HAVE goes out, interest is weighed again. */
static void
fuzz_block_done(void *owner, struct peer *p, uint32_t piece, uint32_t offset, uint32_t len)
{
	struct fuzz_swarm *s = owner;
	const void *cancel[16];
	size_t ncancel = 0;
	bool complete = false;
	if (!picker_block_received(s->pk, piece, offset, len, p, cancel, DP_ARRAY_LEN(cancel),
	    &ncancel, &complete))
		return;
	s->downloaded += len;
	if (!complete)
		return;
	bitfield_set(&s->have, piece);
	picker_piece_verified(s->pk, piece);
	struct peer *q = s->peers;
	while (q != NULL) {
		struct peer *next = q->next;
		peer_send_have(q, piece);
		peer_update_interest(q);
		q = next;
	}
}

static void
fuzz_ref_unref(struct peer_piece_ref *ref)
{
	(void)ref;
	if (--fz.refs < 0)
		abort();
}

static bool
fuzz_cache_get(void *owner, uint32_t piece, bool from_file, struct peer_piece *out)
{
	struct fuzz_swarm *s = owner;
	(void)from_file;     /* data always: the fuzzer's peers have no socket */
	if (piece >= FZ_PIECES)
		abort();     /* peer.c queues only requests for pieces we have */
	out->data = s->pieces[piece];
	out->spans = NULL;
	out->nspans = 0;
	out->length = piece + 1 < FZ_PIECES ? FZ_PIECE : FZ_SIZE - (FZ_PIECES - 1) * FZ_PIECE;
	out->ref = &s->ref;
	s->refs++;
	return true;
}

static void
fuzz_interested(void *owner, struct peer *p)
{
	(void)owner;
	peer_set_choke(p, false);
}

static void
fuzz_uploaded(void *owner, struct peer *p, uint32_t len, uint64_t now_ms)
{
	struct fuzz_swarm *s = owner;
	(void)p;
	(void)now_ms;
	s->uploaded += len;
}

static struct peer *
fuzz_find_peer_id(void *owner, const struct peer *p, const uint8_t id[20])
{
	struct fuzz_swarm *s = owner;
	for (struct peer *q = s->peers; q != NULL; q = q->next)
		if (q != p && q->handshake_done && memcmp(q->peer_id, id, 20) == 0)
			return q;
	return NULL;
}

static void
fuzz_self_connected(void *owner, struct peer *p)
{
	(void)owner;
	(void)p;
	abort();     /* the remote id is never ours */
}

static void
fuzz_on_port(void *owner, struct peer *p, uint16_t port)
{
	struct fuzz_swarm *s = owner;
	(void)p;
	(void)port;
	s->ports++;
}

static const struct peer_ops fuzz_swarm_ops = {
	.attach = fuzz_attach,
	.detach = fuzz_detach,
	.bury = fuzz_bury,
	.mode = fuzz_mode,
	.block_dest = fuzz_block_dest,
	.block_done = fuzz_block_done,
	.cache_get = fuzz_cache_get,
	.interested = fuzz_interested,
	.uploaded = fuzz_uploaded,
	.find_peer_id = fuzz_find_peer_id,
	.self_connected = fuzz_self_connected,
	.on_port = fuzz_on_port,
};

/* Until its handshake the peer waits as the session keeps it; then it joins the swarm. */
static int
fuzz_adopt(void *owner, struct peer *p, const uint8_t info_hash[20], char *why, size_t whylen)
{
	struct fuzz_swarm *s = owner;
	if (memcmp(info_hash, fuzz_hash, 20) != 0) {
		snprintf(why, whylen, "no active torrent with that info hash");
		return -1;
	}
	fuzz_detach(s, p);
	peer_adopt(p, &fuzz_swarm_ops, s, &s->sw);
	return 0;
}

static const struct peer_ops fuzz_pending_ops = {
	.attach = fuzz_attach,
	.detach = fuzz_detach,
	.bury = fuzz_bury,
	.adopt = fuzz_adopt,
};

/* ---- two extensions over the real codecs ---- */

static void
fuzz_ut_metadata_message(void *owner, struct peer *p, const uint8_t *payload, size_t len)
{
	struct fuzz_swarm *s = owner;
	struct ut_metadata_msg m;
	char err[128];
	s->messages++;
	if (ut_metadata_parse(payload, len, &m, err, sizeof err) < 0) {
		peer_close(p, "protocol violation: ut_metadata: %s", err);
		return;
	}
	uint8_t id = peer_ext_id(p, "ut_metadata");
	if (m.type == UT_METADATA_REQUEST && id != 0) {
		struct dp_buf b;
		dp_buf_init(&b);
		ut_metadata_build_reject(&b, m.piece);
		peer_send_extended(p, id, b.data, b.len);
		dp_buf_free(&b);
	}
}

static bool
fuzz_ut_metadata_offer(void *owner, struct peer *p, struct wire_ext_handshake *h)
{
	(void)owner;
	(void)p;
	h->metadata_size = 12345;
	return true;
}

static void
fuzz_ut_pex_message(void *owner, struct peer *p, const uint8_t *payload, size_t len)
{
	struct fuzz_swarm *s = owner;
	struct ut_pex_msg m;
	char err[128];
	s->messages++;
	if (ut_pex_parse(payload, len, &m, err, sizeof err) < 0) {
		peer_close(p, "protocol violation: ut_pex: %s", err);
		return;
	}
	ut_pex_msg_free(&m);
}

static void
fuzz_ext_handshake(void *owner, struct peer *p)
{
	(void)owner;
	/* Its ids must be readable by name whatever it sent. */
	(void)peer_ext_id(p, "ut_metadata");
	(void)peer_ext_id(p, "ut_pex");
}

static const struct peer_ext fuzz_ut_metadata = {
	.name = "ut_metadata",
	.local_id = 2,
	.offer = fuzz_ut_metadata_offer,
	.on_handshake = fuzz_ext_handshake,
	.on_message = fuzz_ut_metadata_message,
};

static const struct peer_ext fuzz_ut_pex = {
	.name = "ut_pex",
	.local_id = 1,
	.on_message = fuzz_ut_pex_message,
};

static const struct peer_ext *const fuzz_exts[] = { &fuzz_ut_metadata, &fuzz_ut_pex };

/* ---- one input ---- */

static void
fuzz_set_pieces(struct fuzz_swarm *s, uint32_t count)
{
	if (s->pk != NULL)
		picker_free(s->pk);
	bitfield_free(&s->have);
	bitfield_init(&s->have, count);
	s->pk = picker_new(count, FZ_PIECE, count ? FZ_SIZE : 0, 0x5eed);
	if (s->seeding && count > 0) {
		bitfield_set_all(&s->have);
		for (uint32_t i = 0; i < count; i++)
			picker_set_have(s->pk, i);
	}
	s->sw.piece_count = count;
	s->sw.piece_length = FZ_PIECE;
	s->sw.total_size = count ? FZ_SIZE : 0;
	s->sw.pk = s->pk;
	s->known = count > 0;
}

static void
fuzz_setup(uint8_t flags)
{
	uint64_t now = dp_now_ms();
	uint64_t rate = flags & FZ_F_LIMITS ? FZ_RATE : 0;
	bw_bucket_init(&fz.gdown, rate, now);
	bw_bucket_init(&fz.gup, rate, now);
	bw_bucket_init(&fz.tdown, rate, now);
	bw_bucket_init(&fz.tup, rate, now);
	fz.seeding = (flags & FZ_F_SEED) != 0;
	memset(&fz.env, 0, sizeof fz.env);
	fz.env.base = base;
	memset(fz.env.peer_id, 'D', sizeof fz.env.peer_id);
	fz.env.listen_port = 6881;
	fz.env.down_bucket = &fz.gdown;
	fz.env.up_bucket = &fz.gup;
	fz.env.connections = &fz.connections;
	fz.env.exts = fuzz_exts;
	fz.env.nexts = DP_ARRAY_LEN(fuzz_exts);
	fz.env.transport = transport;
	fz.env.dht_port = flags & FZ_F_DHT ? 6881 : 0;
	memset(&fz.sw, 0, sizeof fz.sw);
	memcpy(fz.sw.info_hash, fuzz_hash, 20);
	fz.sw.torrent_id = 1;
	fz.sw.name = "fuzz.bin";
	fz.sw.have = &fz.have;
	fz.sw.down_bucket = &fz.tdown;
	fz.sw.up_bucket = &fz.tup;
	fz.ref.unref = fuzz_ref_unref;
	fuzz_set_pieces(&fz, flags & FZ_F_MAGNET ? 0 : FZ_PIECES);
}

/* Frees what was buried, outside any of the peer's callbacks. */
static void
fuzz_reap(void)
{
	while (fz.graveyard != NULL) {
		struct peer *p = fz.graveyard;
		fz.graveyard = p->next;
		peer_free(p);
	}
}

/* What torrent_refill and torrent_tick do for their peers. */
static void
fuzz_refill(int round)
{
	uint64_t now = dp_now_ms();
	bw_bucket_refill(&fz.gdown, now);
	bw_bucket_refill(&fz.gup, now);
	bw_bucket_refill(&fz.tdown, now);
	bw_bucket_refill(&fz.tup, now);
	struct peer *p = fz.peers;
	while (p != NULL) {
		struct peer *next = p->next;
		if (p->read_throttled && bw_bucket_open(&fz.gdown) && bw_bucket_open(&fz.tdown)) {
			p->read_throttled = false;
			peer_update_reading(p);
		}
		if (!p->dead && p->write_throttled)
			peer_serve(p);
		if (!p->dead && round % FZ_TICK_ROUNDS == 0)
			peer_tick(p, now);
		p = next;
	}
}

/* The metadata "arrived": the piece count is known and what the peer said applies. */
static void
fuzz_install_metadata(void)
{
	fuzz_set_pieces(&fz, FZ_PIECES);
	struct peer *p = fz.peers;
	while (p != NULL) {
		struct peer *next = p->next;
		if (p->handshake_done && !p->dead && peer_pieces_known(p))
			peer_update_interest(p);
		p = next;
	}
}

/* Lets the loop close what is still open (EOF on its next read), bounded. The limits are lifted
 * first: a peer waiting for rate tokens would read its EOF only after them. */
static void
fuzz_drain(void)
{
	uint64_t now = dp_now_ms();
	bw_bucket_set_rate(&fz.gdown, 0, now);
	bw_bucket_set_rate(&fz.gup, 0, now);
	bw_bucket_set_rate(&fz.tdown, 0, now);
	bw_bucket_set_rate(&fz.tup, 0, now);
	fuzz_refill(1);
	for (int i = 0; i < FZ_DRAIN_ROUNDS && fz.connections > 0; i++) {
		struct timeval tv = { 0, FZ_DRAIN_US };
		event_base_loopexit(base, &tv);
		event_base_loop(base, 0);
		fuzz_reap();
	}
	/* A peer the stream did not close (it may wait for rate tokens) is closed here. */
	while (fz.peers != NULL)
		peer_close(fz.peers, "input done");
	fuzz_reap();
	/* libevent finalizes a freed bufferevent from the loop: its output's blocks (and their
	 * piece references) go then. */
	for (int i = 0; i < FZ_DRAIN_ROUNDS && fz.refs != 0; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	if (fz.connections != 0 || fz.refs != 0)
		abort();     /* a socket or a piece reference outlived its peer */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (base == NULL) {
		log_set_level(DP_LOG_ERROR);
		base = event_base_new();
		if (base == NULL)
			abort();
		/* Plaintext TCP only: no UDP sockets, so no uTP. */
		struct transport_settings ts = { .encryption = DP_ENCRYPTION_TOLERATED, .utp = false };
		transport = transport_new(base, NULL, NULL, &ts, NULL, NULL);
		if (transport == NULL)
			abort();
		transport_add_torrent(transport, fuzz_hash);
	}
	if (size < 1 || size > FZ_MAX_INPUT)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	evutil_make_socket_nonblocking(sv[0]);
	/* Our end never blocks either: a peer that stops reading (rate limits, a closed
	 * connection) must not hang the unit in write(). */
	evutil_make_socket_nonblocking(sv[1]);
	fuzz_setup(data[0]);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(0x7f000002);
	if (peer_accept(&fz.env, &fuzz_pending_ops, &fz, sv[0], (struct sockaddr *)&sin,
	    sizeof sin) == NULL) {
		close(sv[1]);
		fuzz_drain();
		return 0;
	}
	uint8_t hs[WIRE_HANDSHAKE_LEN], id[20];
	memset(id, 'F', sizeof id);
	wire_build_handshake(hs, fuzz_hash, id, data[0] & 1, data[0] & 2, data[0] & 4);
	if (write(sv[1], hs, sizeof hs) != (ssize_t)sizeof hs) {
		close(sv[1]);
		fuzz_drain();
		return 0;
	}
	size_t off = 1;
	/* A magnet learns its piece count once the first half of the stream is in. */
	size_t install_at = fz.known ? 0 : 1 + (size - 1) / 2;
	bool shut = size <= 1;
	if (shut)
		shutdown(sv[1], SHUT_WR);
	for (int round = 0; round < FZ_FEED_ROUNDS && (!shut || fz.connections > 0); round++) {
		if (!shut) {
			size_t end = install_at > off ? install_at : size;
			ssize_t n = write(sv[1], data + off, end - off);
			if (n > 0)
				off += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				break;    /* the peer closed its end */
			if (off >= size) {
				shutdown(sv[1], SHUT_WR);
				shut = true;
			}
		}
		/* Drain what the peer sent so its writes never block. */
		uint8_t sink[65536];
		while (recv(sv[1], sink, sizeof sink, MSG_DONTWAIT) > 0)
			;
		event_base_loop(base, EVLOOP_NONBLOCK);
		fuzz_refill(round);
		fuzz_reap();
		if (!fz.known && off >= install_at)
			fuzz_install_metadata();
	}
	close(sv[1]);
	fuzz_drain();
	picker_free(fz.pk);
	fz.pk = NULL;
	bitfield_free(&fz.have);
	return 0;
}
