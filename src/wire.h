/* wire.h: the BitTorrent peer wire codec (BEP 3, Fast extension BEP 6, extension protocol
 * BEP 10): handshake, message parser with strict limits, message builders. No sockets here. */
#ifndef DP_ENGINE_INTERNAL
#error "wire.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_WIRE_H
#define DP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

struct evbuffer;

#define WIRE_HANDSHAKE_LEN 68
#define WIRE_PROTOCOL "BitTorrent protocol"
#define WIRE_BLOCK_SIZE (16u * 1024u)
/* Message length prefix cap used when wire_limits.max_message is 0. */
#define WIRE_DEFAULT_MAX_MESSAGE (1u << 20)
/* Largest allowed-fast set wire_allowed_fast_set computes. */
#define WIRE_ALLOWED_FAST_MAX 64

/* Reserved-byte flags (byte index, bit mask) of the handshake. */
#define WIRE_RESERVED_EXT_BYTE 5
#define WIRE_RESERVED_EXT_BIT 0x10   /* BEP 10 extension protocol */
#define WIRE_RESERVED_FAST_BYTE 7
#define WIRE_RESERVED_FAST_BIT 0x04  /* BEP 6 Fast extension */
#define WIRE_RESERVED_DHT_BYTE 7
#define WIRE_RESERVED_DHT_BIT 0x01   /* BEP 5 DHT (PORT message) */
#define WIRE_RESERVED_V2_BYTE 7
#define WIRE_RESERVED_V2_BIT 0x10    /* BEP 52: the peer speaks BitTorrent v2 */

struct wire_handshake {
	uint8_t reserved[8];
	uint8_t info_hash[20];
	uint8_t peer_id[20];
	bool supports_ext;
	bool supports_fast;
	bool supports_dht;
};

/* Writes the 68-byte handshake with the given reserved bits. */
void wire_build_handshake(uint8_t out[WIRE_HANDSHAKE_LEN], const uint8_t info_hash[20],
    const uint8_t peer_id[20], bool ext, bool fast, bool dht);
/* Parses 68 bytes; 0, or -1 with err filled (wrong protocol length or string). The caller
 * compares info_hash with the torrent(s) it serves. */
int wire_parse_handshake(const uint8_t in[WIRE_HANDSHAKE_LEN], struct wire_handshake *out,
    char *err, size_t errlen);

enum wire_msg_id {
	WIRE_CHOKE = 0,
	WIRE_UNCHOKE = 1,
	WIRE_INTERESTED = 2,
	WIRE_NOT_INTERESTED = 3,
	WIRE_HAVE = 4,
	WIRE_BITFIELD = 5,
	WIRE_REQUEST = 6,
	WIRE_PIECE = 7,
	WIRE_CANCEL = 8,
	WIRE_PORT = 9,
	WIRE_SUGGEST = 13,
	WIRE_HAVE_ALL = 14,
	WIRE_HAVE_NONE = 15,
	WIRE_REJECT = 16,
	WIRE_ALLOWED_FAST = 17,
	WIRE_EXTENDED = 20,
	/* Pseudo-ids, never on the wire as such. */
	WIRE_KEEPALIVE = 256,   /* zero-length message */
	WIRE_UNKNOWN = 257      /* an id we do not know: skip it (raw_id says which) */
};

/* One parsed message. Pointers point into the parsed buffer. */
struct wire_msg {
	enum wire_msg_id id;
	uint8_t raw_id;           /* the id byte as received (meaningful unless KEEPALIVE) */
	uint32_t index;           /* HAVE, REQUEST, PIECE, CANCEL, SUGGEST, REJECT, ALLOWED_FAST */
	uint32_t begin;           /* REQUEST, PIECE, CANCEL, REJECT */
	uint32_t length;          /* REQUEST, CANCEL, REJECT; PIECE: block length */
	const uint8_t *payload;   /* BITFIELD bytes, PIECE block data, EXTENDED payload (after
	                           * the ext id byte), UNKNOWN body (after the id byte) */
	size_t payload_len;
	uint8_t ext_id;           /* EXTENDED: 0 = extension handshake, else a negotiated id */
	uint16_t port;            /* PORT (DHT listen port) */
};

/* What the connection knows; zero fields mean "not known yet" (e.g. a magnet link before the
 * metadata arrived): checks that need them are skipped. */
struct wire_limits {
	uint32_t piece_count;     /* 0: unknown; indexes and bitfield size are not checked */
	uint32_t piece_length;    /* 0: unknown; block bounds are not checked */
	uint64_t total_size;      /* size of the torrent, for the shorter last piece */
	uint32_t max_request;     /* largest REQUEST/PIECE/CANCEL/REJECT block; 0 = 16 KiB */
	uint32_t max_message;     /* largest length prefix accepted; 0 = WIRE_DEFAULT_MAX_MESSAGE.
	                           * A BITFIELD of the exact expected size is always accepted. */
	bool fast;                /* BEP 6 negotiated (both sides set the bit); else its messages
	                           * are violations */
	bool ext;                 /* BEP 10 negotiated; else EXTENDED is a violation */
};

enum wire_result {
	WIRE_ERROR = -1,
	WIRE_OK = 0,
	WIRE_NEED_MORE = 1
};

/*
 * Parses one whole message (4-byte length prefix included) from the start of buf.
 * WIRE_OK: *out is filled, *consumed = bytes the message took (4 + length).
 * WIRE_NEED_MORE: *consumed = total bytes needed from the start of buf before calling again
 *   (4 until the prefix is complete, 5 until the id byte is there, then 4 + length). Lengths
 *   the id does not allow or over the limit are refused as soon as the id is seen, so a caller
 *   can safely wait for that many bytes.
 * WIRE_ERROR: err names the violation (wrong length for the id, index out of range, block past
 *   the piece end, zero-length or oversized request, bad bitfield, message over the limit,
 *   Fast/extension message without negotiation). An unknown id is not an error: WIRE_UNKNOWN.
 */
enum wire_result wire_parse(const uint8_t *buf, size_t len, const struct wire_limits *lim,
    struct wire_msg *out, size_t *consumed, char *err, size_t errlen);

/* "choke", "have", "keep-alive", "unknown", ... for logs and the task table. */
const char *wire_msg_name(enum wire_msg_id id);
/* Size in bytes of piece index under lim (0 if unknown or out of range). */
uint32_t wire_piece_size(const struct wire_limits *lim, uint32_t index);

/* Builders: append one message to ev. Each returns 0, or -1 if the buffer could not grow. */
int wire_put_keepalive(struct evbuffer *ev);
/* CHOKE, UNCHOKE, INTERESTED, NOT_INTERESTED, HAVE_ALL, HAVE_NONE (no payload). */
int wire_put_simple(struct evbuffer *ev, enum wire_msg_id id);
int wire_put_have(struct evbuffer *ev, uint32_t index);
int wire_put_bitfield(struct evbuffer *ev, const uint8_t *bits, size_t nbytes);
int wire_put_request(struct evbuffer *ev, uint32_t index, uint32_t begin, uint32_t length);
/* The same 17 bytes into out (requests sent straight to a socket). */
#define WIRE_REQUEST_LEN 17u
void wire_request_encode(uint8_t out[WIRE_REQUEST_LEN], uint32_t index, uint32_t begin,
    uint32_t length);
int wire_put_cancel(struct evbuffer *ev, uint32_t index, uint32_t begin, uint32_t length);
int wire_put_reject(struct evbuffer *ev, uint32_t index, uint32_t begin, uint32_t length);
/* The 13-byte header of a PIECE message; the caller appends block_len bytes of data next. */
int wire_put_piece_header(struct evbuffer *ev, uint32_t index, uint32_t begin,
    uint32_t block_len);
/* The same 13 bytes into out (for a block whose payload is queued by reference). */
#define WIRE_PIECE_HEADER_LEN 13u
void wire_piece_header_encode(uint8_t out[WIRE_PIECE_HEADER_LEN], uint32_t index, uint32_t begin,
    uint32_t block_len);
int wire_put_port(struct evbuffer *ev, uint16_t port);
int wire_put_allowed_fast(struct evbuffer *ev, uint32_t index);
int wire_put_suggest(struct evbuffer *ev, uint32_t index);
int wire_put_extended(struct evbuffer *ev, uint8_t ext_id, const void *payload, size_t len);

/* BEP 10 extension handshake (the bencoded payload of EXTENDED with ext_id 0). */
#define WIRE_EXT_MAX 16           /* "m" entries kept from one handshake; later ones are dropped */
#define WIRE_EXT_NAME_MAX 32      /* longest extension name kept, with its NUL */

struct wire_ext_entry {
	char name[WIRE_EXT_NAME_MAX]; /* "ut_metadata", "ut_pex", ... */
	uint8_t id;                   /* the id messages of it carry; 0 = disabled */
};

struct wire_ext_handshake {
	struct wire_ext_entry m[WIRE_EXT_MAX];   /* "m", sorted by name, names unique */
	uint8_t nm;
	uint16_t port;            /* "p": the peer's listen port; 0 = absent */
	char client[64];          /* "v": client name and version; "" = absent (truncated, made
	                           * printable on parse) */
	uint8_t yourip[16];       /* "yourip": our address as the peer sees it */
	uint8_t yourip_len;       /* 0 = absent, 4 or 16 */
	uint32_t reqq;            /* "reqq": requests the peer queues; 0 = absent */
	uint64_t metadata_size;   /* "metadata_size" (BEP 9); 0 = absent */
	bool upload_only;         /* "upload_only" (BEP 21) */
};

/* The id h gives extension name; 0 when it lists it as disabled or not at all. */
uint8_t wire_ext_id(const struct wire_ext_handshake *h, const char *name);
/* Lists name with id in h (replacing its id when listed). false when name is empty or too long
 * or h holds WIRE_EXT_MAX names already. */
bool wire_ext_set(struct wire_ext_handshake *h, const char *name, uint8_t id);

/* Appends the bencoded dictionary for h to out; fields at 0/"" are left out, "m" always (with
 * every listed name, disabled ones at 0). */
void wire_build_ext_handshake(struct dp_buf *out, const struct wire_ext_handshake *h);
/* Parses a handshake payload; unknown keys are ignored, "m" names are kept (up to
 * WIRE_EXT_MAX, the first of a repeated name) whatever they are; values of the wrong type or
 * range, and names too long or holding a NUL, are ignored. 0, or -1 with err filled when the
 * payload is not a bencoded dictionary. */
int wire_parse_ext_handshake(const uint8_t *payload, size_t len, struct wire_ext_handshake *out,
    char *err, size_t errlen);

/*
 * BEP 6 allowed fast set for a peer at ipv4_addr (host byte order, e.g. 0x500404C8 for
 * 80.4.4.200): writes up to k (at most WIRE_ALLOWED_FAST_MAX, at most piece_count) distinct
 * piece indexes to out in generation order and returns how many.
 */
unsigned wire_allowed_fast_set(uint32_t ipv4_addr, const uint8_t info_hash[20],
    uint32_t piece_count, unsigned k, uint32_t *out);

#endif
