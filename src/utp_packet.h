/* utp_packet.h: the BEP 29 (uTP) packet codec: the 20-byte header, the extension chain, the
 * selective-ACK bitmask. Pure: no state, no I/O; fuzzed (fuzz_utp). */
#ifndef DP_ENGINE_INTERNAL
#error "utp_packet.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_UTP_PACKET_H
#define DP_UTP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum utp_type {
	UTP_ST_DATA = 0,
	UTP_ST_FIN = 1,
	UTP_ST_STATE = 2,
	UTP_ST_RESET = 3,
	UTP_ST_SYN = 4,
};

#define UTP_VERSION 1u
#define UTP_HEADER_LEN 20u
#define UTP_EXT_SACK 1u
/* Selective-ACK bytes read and written at most (8 per byte: 1024 packets past ack_nr + 1); a
 * longer mask is cut there, which only forgets acks (the sender resends, nothing breaks).
 * Windows reach 500-1000 packets on a 100 ms path: a 32-byte mask (256 packets, what libutp
 * sends) left the rest of the window unacknowledged behind a hole, where neither selective
 * ACKs nor RACK could tell what arrived. libtorrent sends and reads masks as long as its
 * reorder buffer; libutp reads any length. */
#define UTP_SACK_MAX 128u

struct utp_header {
	uint8_t type;
	uint16_t conn_id;
	uint32_t ts_us;          /* sender's clock, microseconds, low 32 bits */
	uint32_t ts_diff_us;     /* sender's clock minus the last timestamp it received */
	uint32_t wnd;            /* receive window left, bytes */
	uint16_t seq, ack;
	uint8_t sack_len;        /* 0: no selective ACK */
	uint8_t sack[UTP_SACK_MAX];
};

/* A datagram that is uTP at all: version 1 and a known type in the first byte (the demux asks;
 * KRPC messages open with 'd' and never match). */
bool utp_packet_looks_like(const uint8_t *d, size_t len);
/* Parses a datagram into h; the payload starts at *payload_off. False when it is not a valid
 * version-1 packet (short, bad extension chain, DATA without payload). */
bool utp_packet_parse(const uint8_t *d, size_t len, struct utp_header *h, size_t *payload_off);
/* Writes h (with its selective ACK when sack_len > 0, a multiple of 4) into out, which must
 * hold utp_packet_header_len(h) bytes; returns that length. */
size_t utp_packet_header_len(const struct utp_header *h);
size_t utp_packet_write(const struct utp_header *h, uint8_t *out);
/* Whether the selective ACK in h says seq was received (bit i: ack_nr + 2 + i). */
bool utp_packet_sack_has(const struct utp_header *h, uint16_t seq);

#endif
