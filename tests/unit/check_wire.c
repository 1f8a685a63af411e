/* check_wire.c: the peer wire codec (every message both ways, every violation, partial input),
 * the BEP 10 handshake, the BEP 6 allowed fast set, and client names from peer ids. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <event2/buffer.h>

#include "bencode.h"
#include "peer_id.h"
#include "suites.h"
#include "wire.h"

/* 10 pieces of 32 KiB, the last one 5000 bytes. */
static const struct wire_limits test_lim = {
	.piece_count = 10,
	.piece_length = 32768,
	.total_size = 9 * 32768 + 5000,
	.max_request = 16384,
	.max_message = 16384 + 13,
	.fast = true,
	.ext = true,
};

/* Copies what ev holds into a fresh buffer and empties ev. */
static uint8_t *
take(struct evbuffer *ev, size_t *len)
{
	*len = evbuffer_get_length(ev);
	uint8_t *p = xmalloc(*len + 1);
	ck_assert_int_eq(evbuffer_remove(ev, p, *len), (int)*len);
	return p;
}

/* Parses buf, which must hold exactly one valid message. */
static void
parse_exact(const uint8_t *buf, size_t len, const struct wire_limits *lim, struct wire_msg *m)
{
	char err[160] = "";
	size_t used = 0;
	enum wire_result r = wire_parse(buf, len, lim, m, &used, err, sizeof err);
	ck_assert_msg(r == WIRE_OK, "parse failed (%d): %s", r, err);
	ck_assert_uint_eq(used, len);
}

static void
assert_refused(const uint8_t *buf, size_t len, const struct wire_limits *lim,
    const char *reason)
{
	char err[160] = "";
	size_t used = 0;
	struct wire_msg m;
	enum wire_result r = wire_parse(buf, len, lim, &m, &used, err, sizeof err);
	ck_assert_msg(r == WIRE_ERROR, "expected refusal with '%s', got %d", reason, r);
	ck_assert_msg(strstr(err, reason) != NULL, "error '%s' lacks '%s'", err, reason);
}

static size_t
msg_bytes(uint8_t *out, uint32_t len_prefix, uint8_t id, const uint8_t *body, size_t body_len)
{
	out[0] = len_prefix >> 24;
	out[1] = len_prefix >> 16;
	out[2] = len_prefix >> 8;
	out[3] = len_prefix;
	out[4] = id;
	if (body_len)
		memcpy(out + 5, body, body_len);
	return 5 + body_len;
}

static size_t
msg_u32s(uint8_t *out, uint8_t id, const uint32_t *v, size_t n)
{
	uint8_t body[12];
	for (size_t i = 0; i < n; i++) {
		body[i * 4] = v[i] >> 24;
		body[i * 4 + 1] = v[i] >> 16;
		body[i * 4 + 2] = v[i] >> 8;
		body[i * 4 + 3] = v[i];
	}
	return msg_bytes(out, (uint32_t)(1 + 4 * n), id, body, 4 * n);
}

START_TEST(test_handshake_round_trip)
{
	uint8_t hs[WIRE_HANDSHAKE_LEN], ih[20], pid[20];
	struct wire_handshake h;
	char err[160];

	memset(ih, 0xaa, sizeof ih);
	memcpy(pid, "-DW0100-abcdefghijkl", 20);
	wire_build_handshake(hs, ih, pid, true, true, true);
	ck_assert_int_eq(hs[0], 19);
	ck_assert(memcmp(hs + 1, "BitTorrent protocol", 19) == 0);
	ck_assert_int_eq(hs[25], 0x10);
	ck_assert_int_eq(hs[27], 0x05);
	ck_assert_int_eq(wire_parse_handshake(hs, &h, err, sizeof err), 0);
	ck_assert(h.supports_ext && h.supports_fast && h.supports_dht);
	ck_assert(memcmp(h.info_hash, ih, 20) == 0);
	ck_assert(memcmp(h.peer_id, pid, 20) == 0);

	wire_build_handshake(hs, ih, pid, false, false, false);
	static const uint8_t zero[8];
	ck_assert(memcmp(hs + 20, zero, 8) == 0);
	ck_assert_int_eq(wire_parse_handshake(hs, &h, err, sizeof err), 0);
	ck_assert(!h.supports_ext && !h.supports_fast && !h.supports_dht);

	/* Bits we do not know are kept for the caller and do not disturb the known ones. */
	hs[20] = 0x80;
	hs[27] = 0x04;
	ck_assert_int_eq(wire_parse_handshake(hs, &h, err, sizeof err), 0);
	ck_assert_int_eq(h.reserved[0], 0x80);
	ck_assert(!h.supports_ext && h.supports_fast && !h.supports_dht);
}
END_TEST

START_TEST(test_handshake_refused)
{
	uint8_t hs[WIRE_HANDSHAKE_LEN], ih[20] = { 0 }, pid[20] = { 0 };
	struct wire_handshake h;
	char err[160];

	wire_build_handshake(hs, ih, pid, true, false, false);
	hs[0] = 18;
	ck_assert_int_eq(wire_parse_handshake(hs, &h, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "protocol name length 18"));
	wire_build_handshake(hs, ih, pid, true, false, false);
	hs[19] = 'X';
	ck_assert_int_eq(wire_parse_handshake(hs, &h, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "protocol is not"));
	/* An HTTP request on the peer port is not a handshake. */
	memset(hs, 0, sizeof hs);
	memcpy(hs, "GET / HTTP/1.1\r\n", 16);
	ck_assert_int_eq(wire_parse_handshake(hs, &h, err, sizeof err), -1);
}
END_TEST

START_TEST(test_simple_messages)
{
	static const enum wire_msg_id ids[] = { WIRE_CHOKE, WIRE_UNCHOKE, WIRE_INTERESTED,
		WIRE_NOT_INTERESTED, WIRE_HAVE_ALL, WIRE_HAVE_NONE };
	struct evbuffer *ev = evbuffer_new();
	struct wire_msg m;
	size_t len;

	for (size_t i = 0; i < DP_ARRAY_LEN(ids); i++) {
		ck_assert_int_eq(wire_put_simple(ev, ids[i]), 0);
		uint8_t *b = take(ev, &len);
		ck_assert_uint_eq(len, 5);
		ck_assert_int_eq(b[3], 1);
		ck_assert_int_eq(b[4], ids[i]);
		parse_exact(b, len, &test_lim, &m);
		ck_assert_int_eq(m.id, ids[i]);
		ck_assert_int_eq(m.raw_id, ids[i]);
		free(b);
	}
	/* Messages with a body cannot be built as simple ones. */
	ck_assert_int_eq(wire_put_simple(ev, WIRE_HAVE), -1);
	ck_assert_int_eq(wire_put_simple(ev, WIRE_KEEPALIVE), -1);
	ck_assert_uint_eq(evbuffer_get_length(ev), 0);

	ck_assert_int_eq(wire_put_keepalive(ev), 0);
	uint8_t *b = take(ev, &len);
	ck_assert_uint_eq(len, 4);
	parse_exact(b, len, &test_lim, &m);
	ck_assert_int_eq(m.id, WIRE_KEEPALIVE);
	ck_assert_str_eq(wire_msg_name(m.id), "keep-alive");
	free(b);
	evbuffer_free(ev);
}
END_TEST

START_TEST(test_index_messages)
{
	struct evbuffer *ev = evbuffer_new();
	struct wire_msg m;
	size_t len;
	uint8_t *b;

	ck_assert_int_eq(wire_put_have(ev, 9), 0);
	b = take(ev, &len);
	ck_assert_uint_eq(len, 9);
	parse_exact(b, len, &test_lim, &m);
	ck_assert_int_eq(m.id, WIRE_HAVE);
	ck_assert_uint_eq(m.index, 9);
	free(b);

	ck_assert_int_eq(wire_put_suggest(ev, 3), 0);
	b = take(ev, &len);
	parse_exact(b, len, &test_lim, &m);
	ck_assert_int_eq(m.id, WIRE_SUGGEST);
	ck_assert_uint_eq(m.index, 3);
	free(b);

	ck_assert_int_eq(wire_put_allowed_fast(ev, 0), 0);
	b = take(ev, &len);
	parse_exact(b, len, &test_lim, &m);
	ck_assert_int_eq(m.id, WIRE_ALLOWED_FAST);
	ck_assert_uint_eq(m.index, 0);
	free(b);

	ck_assert_int_eq(wire_put_port(ev, 51413), 0);
	b = take(ev, &len);
	ck_assert_uint_eq(len, 7);
	parse_exact(b, len, &test_lim, &m);
	ck_assert_int_eq(m.id, WIRE_PORT);
	ck_assert_uint_eq(m.port, 51413);
	free(b);
	evbuffer_free(ev);
}
END_TEST

START_TEST(test_block_messages)
{
	struct evbuffer *ev = evbuffer_new();
	struct wire_msg m;
	size_t len;
	uint8_t *b;
	int (*put[3])(struct evbuffer *, uint32_t, uint32_t, uint32_t) = {
		wire_put_request, wire_put_cancel, wire_put_reject };
	enum wire_msg_id ids[3] = { WIRE_REQUEST, WIRE_CANCEL, WIRE_REJECT };

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(put[i](ev, 2, 16384, 16384), 0);
		b = take(ev, &len);
		ck_assert_uint_eq(len, 17);
		parse_exact(b, len, &test_lim, &m);
		ck_assert_int_eq(m.id, ids[i]);
		ck_assert_uint_eq(m.index, 2);
		ck_assert_uint_eq(m.begin, 16384);
		ck_assert_uint_eq(m.length, 16384);
		free(b);
		/* The whole short last piece. */
		ck_assert_int_eq(put[i](ev, 9, 0, 5000), 0);
		b = take(ev, &len);
		parse_exact(b, len, &test_lim, &m);
		ck_assert_uint_eq(m.length, 5000);
		free(b);
	}

	/* The bytes a request sent straight to a socket carries are the bufferevent's. */
	uint8_t req[WIRE_REQUEST_LEN];
	wire_request_encode(req, 7, 0x4000u, 0x3fffu);
	ck_assert_int_eq(wire_put_request(ev, 7, 0x4000u, 0x3fffu), 0);
	b = take(ev, &len);
	ck_assert_uint_eq(len, WIRE_REQUEST_LEN);
	ck_assert_mem_eq(b, req, WIRE_REQUEST_LEN);
	parse_exact(req, sizeof req, &test_lim, &m);
	ck_assert_int_eq(m.id, WIRE_REQUEST);
	ck_assert_uint_eq(m.index, 7);
	ck_assert_uint_eq(m.length, 0x3fffu);
	free(b);

	uint8_t block[1000];
	for (size_t i = 0; i < sizeof block; i++)
		block[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(wire_put_piece_header(ev, 9, 4000, sizeof block), 0);
	ck_assert_uint_eq(evbuffer_get_length(ev), 13);
	ck_assert_int_eq(evbuffer_add(ev, block, sizeof block), 0);
	b = take(ev, &len);
	parse_exact(b, len, &test_lim, &m);
	ck_assert_int_eq(m.id, WIRE_PIECE);
	ck_assert_uint_eq(m.index, 9);
	ck_assert_uint_eq(m.begin, 4000);
	ck_assert_uint_eq(m.length, sizeof block);
	ck_assert_uint_eq(m.payload_len, sizeof block);
	ck_assert(memcmp(m.payload, block, sizeof block) == 0);
	free(b);
	evbuffer_free(ev);
}
END_TEST

START_TEST(test_bitfield_and_extended)
{
	struct evbuffer *ev = evbuffer_new();
	struct wire_msg m;
	size_t len;
	uint8_t *b;
	uint8_t bits[2] = { 0xff, 0xc0 };   /* all 10 pieces */

	ck_assert_int_eq(wire_put_bitfield(ev, bits, 2), 0);
	b = take(ev, &len);
	ck_assert_uint_eq(len, 7);
	parse_exact(b, len, &test_lim, &m);
	ck_assert_int_eq(m.id, WIRE_BITFIELD);
	ck_assert_uint_eq(m.payload_len, 2);
	ck_assert(memcmp(m.payload, bits, 2) == 0);
	free(b);
	ck_assert_int_eq(wire_put_bitfield(ev, bits, 0), -1);

	/* A bitfield of the exact size passes even when it is over max_message. */
	struct wire_limits big = test_lim;
	big.piece_count = 1000000;
	uint8_t *many = xcalloc(125000, 1);
	many[0] = 0x80;
	ck_assert_int_eq(wire_put_bitfield(ev, many, 125000), 0);
	b = take(ev, &len);
	parse_exact(b, len, &big, &m);
	ck_assert_uint_eq(m.payload_len, 125000);
	free(b);
	free(many);

	ck_assert_int_eq(wire_put_extended(ev, 3, "d1:ai1ee", 8), 0);
	b = take(ev, &len);
	ck_assert_uint_eq(len, 14);
	parse_exact(b, len, &test_lim, &m);
	ck_assert_int_eq(m.id, WIRE_EXTENDED);
	ck_assert_uint_eq(m.ext_id, 3);
	ck_assert_uint_eq(m.payload_len, 8);
	ck_assert(memcmp(m.payload, "d1:ai1ee", 8) == 0);
	free(b);
	/* An empty extended payload is legal framing. */
	ck_assert_int_eq(wire_put_extended(ev, 1, NULL, 0), 0);
	b = take(ev, &len);
	parse_exact(b, len, &test_lim, &m);
	ck_assert_uint_eq(m.ext_id, 1);
	ck_assert_uint_eq(m.payload_len, 0);
	free(b);
	evbuffer_free(ev);
}
END_TEST

START_TEST(test_unknown_id_skipped)
{
	uint8_t buf[64];
	size_t n = msg_bytes(buf, 4, 99, (const uint8_t *)"xyz", 3);
	n += msg_bytes(buf + n, 1, WIRE_UNCHOKE, NULL, 0);
	struct wire_msg m;
	size_t used;
	char err[160];

	ck_assert_int_eq(wire_parse(buf, n, &test_lim, &m, &used, err, sizeof err), WIRE_OK);
	ck_assert_int_eq(m.id, WIRE_UNKNOWN);
	ck_assert_int_eq(m.raw_id, 99);
	ck_assert_uint_eq(used, 8);
	ck_assert_uint_eq(m.payload_len, 3);
	ck_assert_int_eq(wire_parse(buf + used, n - used, &test_lim, &m, &used, err, sizeof err),
	    WIRE_OK);
	ck_assert_int_eq(m.id, WIRE_UNCHOKE);
	ck_assert_uint_eq(used, 5);
	/* Unknown or not, the size limit holds. */
	msg_bytes(buf, 20000, 99, NULL, 0);
	assert_refused(buf, 5, &test_lim, "over the 16397-byte limit");
}
END_TEST

START_TEST(test_violations)
{
	uint8_t b[64];
	size_t n;
	struct wire_limits nofast = test_lim;
	nofast.fast = false;
	nofast.ext = false;

	n = msg_bytes(b, 2, WIRE_CHOKE, (const uint8_t *)"x", 1);
	assert_refused(b, n, &test_lim, "choke: length 2, expected 1");
	n = msg_bytes(b, 4, WIRE_HAVE, (const uint8_t *)"abc", 3);
	assert_refused(b, n, &test_lim, "have: length 4, expected 5");
	n = msg_u32s(b, WIRE_HAVE, (uint32_t[]){ 10 }, 1);
	assert_refused(b, n, &test_lim, "have: piece index 10 is out of range (10 pieces)");
	n = msg_u32s(b, WIRE_SUGGEST, (uint32_t[]){ 0xffffffff }, 1);
	assert_refused(b, n, &test_lim, "out of range");
	n = msg_u32s(b, WIRE_ALLOWED_FAST, (uint32_t[]){ 11 }, 1);
	assert_refused(b, n, &test_lim, "allowed fast: piece index 11");

	n = msg_u32s(b, WIRE_REQUEST, (uint32_t[]){ 0, 0, 0 }, 3);
	assert_refused(b, n, &test_lim, "request: zero-length block");
	n = msg_u32s(b, WIRE_REQUEST, (uint32_t[]){ 0, 0, 16385 }, 3);
	assert_refused(b, n, &test_lim, "request: block of 16385 bytes is over");
	n = msg_u32s(b, WIRE_REQUEST, (uint32_t[]){ 10, 0, 16384 }, 3);
	assert_refused(b, n, &test_lim, "request: piece index 10");
	n = msg_u32s(b, WIRE_REQUEST, (uint32_t[]){ 0, 16385, 16384 }, 3);
	assert_refused(b, n, &test_lim, "runs past the end of piece 0 (32768 bytes)");
	n = msg_u32s(b, WIRE_REQUEST, (uint32_t[]){ 9, 0, 5001 }, 3);
	assert_refused(b, n, &test_lim, "runs past the end of piece 9 (5000 bytes)");
	n = msg_u32s(b, WIRE_REQUEST, (uint32_t[]){ 1, 0xfffffff0u, 16384 }, 3);
	assert_refused(b, n, &test_lim, "runs past the end");
	n = msg_u32s(b, WIRE_CANCEL, (uint32_t[]){ 9, 4096, 1000 }, 3);
	assert_refused(b, n, &test_lim, "cancel: block 4096+1000 runs past");
	n = msg_u32s(b, WIRE_REJECT, (uint32_t[]){ 1, 0, 0 }, 3);
	assert_refused(b, n, &test_lim, "reject request: zero-length");
	n = msg_u32s(b, WIRE_REQUEST, (uint32_t[]){ 1, 0 }, 2);
	assert_refused(b, n, &test_lim, "request: length 9, expected 13");

	n = msg_u32s(b, WIRE_PIECE, (uint32_t[]){ 1, 0 }, 2);
	assert_refused(b, n, &test_lim, "piece: empty block");
	n = msg_bytes(b, 5, WIRE_PIECE, (const uint8_t *)"\0\0\0\1", 4);
	assert_refused(b, n, &test_lim, "piece: message too short");
	n = msg_bytes(b, 9 + 16385, WIRE_PIECE, NULL, 0);
	assert_refused(b, n, &test_lim, "piece: block of 16385 bytes is over");
	uint8_t *piece = xcalloc(13 + 100, 1);
	msg_u32s(piece, WIRE_PIECE, (uint32_t[]){ 9, 4950 }, 2);
	piece[3] = 9 + 100;
	assert_refused(piece, 13 + 100, &test_lim, "piece: block 4950+100 runs past the end of "
	    "piece 9");
	free(piece);

	n = msg_bytes(b, 4, WIRE_BITFIELD, (const uint8_t *)"\xff\xc0\x00", 3);
	assert_refused(b, n, &test_lim, "bitfield: 3 bytes for 10 pieces, expected 2");
	n = msg_bytes(b, 3, WIRE_BITFIELD, (const uint8_t *)"\xff\xe0", 2);
	assert_refused(b, n, &test_lim, "bitfield: spare bits after piece 9 are set");
	n = msg_bytes(b, 3, WIRE_BITFIELD, (const uint8_t *)"\x00\x01", 2);
	assert_refused(b, n, &test_lim, "spare bits");

	n = msg_bytes(b, 4, WIRE_PORT, (const uint8_t *)"abc", 3);
	assert_refused(b, n, &test_lim, "port: length 4, expected 3");
	n = msg_bytes(b, 2, WIRE_PORT, (const uint8_t *)"a", 1);
	assert_refused(b, n, &test_lim, "port: length 2");
	n = msg_bytes(b, 1, WIRE_EXTENDED, NULL, 0);
	assert_refused(b, n, &test_lim, "extended: no extension id");
	n = msg_bytes(b, 2, WIRE_HAVE_ALL, (const uint8_t *)"a", 1);
	assert_refused(b, n, &test_lim, "have all: length 2, expected 1");
	n = msg_bytes(b, 1000000, WIRE_EXTENDED, NULL, 0);
	assert_refused(b, n, &test_lim, "extended: message of 1000000 bytes is over");
	n = msg_bytes(b, 0xffffffffu, WIRE_BITFIELD, NULL, 0);
	assert_refused(b, n, &test_lim, "bitfield: 4294967294 bytes for 10 pieces");

	/* Fast and extension messages only after both sides set the reserved bit. */
	n = msg_bytes(b, 1, WIRE_HAVE_NONE, NULL, 0);
	assert_refused(b, n, &nofast, "have none: Fast extension message but");
	n = msg_u32s(b, WIRE_REJECT, (uint32_t[]){ 1, 0, 16384 }, 3);
	assert_refused(b, n, &nofast, "not negotiated");
	n = msg_u32s(b, WIRE_SUGGEST, (uint32_t[]){ 1 }, 1);
	assert_refused(b, n, &nofast, "not negotiated");
	n = msg_bytes(b, 2, WIRE_EXTENDED, (const uint8_t *)"\0", 1);
	assert_refused(b, n, &nofast, "extended: extension protocol message but");
}
END_TEST

/* Every cut point of a stream of messages asks for more, and asks for no more than needed. */
START_TEST(test_partial_buffers)
{
	struct evbuffer *ev = evbuffer_new();
	uint8_t bits[2] = { 0xa5, 0x40 };
	uint8_t block[300];
	memset(block, 0x5a, sizeof block);

	wire_put_keepalive(ev);
	wire_put_simple(ev, WIRE_INTERESTED);
	wire_put_have(ev, 4);
	wire_put_bitfield(ev, bits, sizeof bits);
	wire_put_request(ev, 1, 0, 16384);
	wire_put_piece_header(ev, 9, 0, sizeof block);
	evbuffer_add(ev, block, sizeof block);
	wire_put_port(ev, 6881);
	wire_put_extended(ev, 0, "d1:pi6881ee", 11);
	wire_put_reject(ev, 2, 0, 16384);
	size_t len;
	uint8_t *all = take(ev, &len);
	evbuffer_free(ev);

	static const enum wire_msg_id order[] = { WIRE_KEEPALIVE, WIRE_INTERESTED, WIRE_HAVE,
		WIRE_BITFIELD, WIRE_REQUEST, WIRE_PIECE, WIRE_PORT, WIRE_EXTENDED, WIRE_REJECT };
	size_t pos = 0, k = 0;
	char err[160];
	while (pos < len) {
		struct wire_msg m;
		size_t used = 0;
		ck_assert_int_eq(wire_parse(all + pos, len - pos, &test_lim, &m, &used, err,
		    sizeof err), WIRE_OK);
		ck_assert_uint_lt(k, DP_ARRAY_LEN(order));
		ck_assert_int_eq(m.id, order[k]);
		/* Each shorter prefix of this message wants more, within the message. */
		for (size_t cut = 0; cut < used; cut++) {
			size_t need = 0;
			uint8_t *copy = xmemdup(all + pos, cut ? cut : 1);
			enum wire_result r = wire_parse(copy, cut, &test_lim, &m, &need, err,
			    sizeof err);
			ck_assert_msg(r == WIRE_NEED_MORE, "message %zu cut at %zu: %d", k, cut, r);
			ck_assert_uint_gt(need, cut);
			ck_assert_uint_le(need, used);
			free(copy);
		}
		pos += used;
		k++;
	}
	ck_assert_uint_eq(k, DP_ARRAY_LEN(order));
	free(all);
}
END_TEST

START_TEST(test_unknown_metadata)
{
	/* Before the metadata of a magnet link, indexes and sizes cannot be checked. */
	struct wire_limits lim = { .fast = true, .ext = true };
	uint8_t b[64];
	struct wire_msg m;
	size_t n;

	n = msg_u32s(b, WIRE_HAVE, (uint32_t[]){ 123456 }, 1);
	parse_exact(b, n, &lim, &m);
	ck_assert_uint_eq(m.index, 123456);
	n = msg_bytes(b, 4, WIRE_BITFIELD, (const uint8_t *)"\xff\xff\xff", 3);
	parse_exact(b, n, &lim, &m);
	ck_assert_uint_eq(m.payload_len, 3);
	n = msg_bytes(b, 1, WIRE_BITFIELD, NULL, 0);
	assert_refused(b, n, &lim, "bitfield: empty");
	n = msg_u32s(b, WIRE_REQUEST, (uint32_t[]){ 7, 1u << 30, 16384 }, 3);
	parse_exact(b, n, &lim, &m);
	n = msg_u32s(b, WIRE_REQUEST, (uint32_t[]){ 7, 0, 16385 }, 3);
	assert_refused(b, n, &lim, "over the 16384-byte limit");
	/* The default message cap applies. */
	n = msg_bytes(b, WIRE_DEFAULT_MAX_MESSAGE + 1, WIRE_BITFIELD, NULL, 0);
	assert_refused(b, n, &lim, "over the");
}
END_TEST

START_TEST(test_piece_size)
{
	ck_assert_uint_eq(wire_piece_size(&test_lim, 0), 32768);
	ck_assert_uint_eq(wire_piece_size(&test_lim, 8), 32768);
	ck_assert_uint_eq(wire_piece_size(&test_lim, 9), 5000);
	ck_assert_uint_eq(wire_piece_size(&test_lim, 10), 0);
	struct wire_limits exact = test_lim;
	exact.total_size = 10 * 32768;
	ck_assert_uint_eq(wire_piece_size(&exact, 9), 32768);
	struct wire_limits none = { 0 };
	ck_assert_uint_eq(wire_piece_size(&none, 0), 0);
}
END_TEST

START_TEST(test_ext_handshake_round_trip)
{
	struct wire_ext_handshake h = { 0 }, p;
	struct dp_buf b;
	char err[160];

	dp_buf_init(&b);
	ck_assert(wire_ext_set(&h, "ut_pex", 1));
	ck_assert(wire_ext_set(&h, "ut_metadata", 3));
	wire_build_ext_handshake(&b, &h);
	ck_assert_str_eq((const char *)b.data, "d1:md11:ut_metadatai3e6:ut_pexi1eee");
	dp_buf_free(&b);

	h.port = 51413;
	snprintf(h.client, sizeof h.client, "downpour 0.1.0");
	memcpy(h.yourip, "\x7f\x00\x00\x01", 4);
	h.yourip_len = 4;
	h.reqq = 250;
	h.metadata_size = 31235;
	h.upload_only = true;
	dp_buf_init(&b);
	wire_build_ext_handshake(&b, &h);
	ck_assert_int_eq(wire_parse_ext_handshake(b.data, b.len, &p, err, sizeof err), 0);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_metadata"), 3);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_pex"), 1);
	ck_assert_uint_eq(p.port, 51413);
	ck_assert_str_eq(p.client, "downpour 0.1.0");
	ck_assert_uint_eq(p.yourip_len, 4);
	ck_assert(memcmp(p.yourip, "\x7f\x00\x00\x01", 4) == 0);
	ck_assert_uint_eq(p.reqq, 250);
	ck_assert_uint_eq(p.metadata_size, 31235);
	ck_assert(p.upload_only);
	/* What we send is canonical bencoding. */
	struct be_limits strict = be_default_limits;
	strict.require_sorted = true;
	struct be_error berr;
	struct be_node *n = be_decode(b.data, b.len, &strict, &berr);
	ck_assert_ptr_nonnull(n);
	be_free(n);
	dp_buf_free(&b);

	/* Shaped like what libtorrent 2.0 sends, with keys we do not use. */
	static const char lt[] = "d12:complete_agoi-1e1:md11:lt_donthavei7e10:share_modei8e"
	    "11:upload_onlyi3e12:ut_holepunchi4e11:ut_metadatai2e6:ut_pexi1ee13:metadata_size"
	    "i1247e4:reqqi500e11:upload_onlyi0e1:v18:libtorrent 2.0.8.06:yourip4:\x7f\0\0\1e";
	ck_assert_int_eq(wire_parse_ext_handshake((const uint8_t *)lt, sizeof lt - 1, &p, err,
	    sizeof err), 0);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_metadata"), 2);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_pex"), 1);
	ck_assert_uint_eq(p.port, 0);
	ck_assert_uint_eq(p.reqq, 500);
	ck_assert_uint_eq(p.metadata_size, 1247);
	ck_assert(!p.upload_only);
	ck_assert_str_eq(p.client, "libtorrent 2.0.8.0");
	ck_assert_uint_eq(p.yourip_len, 4);

	/* Captured from real seeders on loopback (peerlab): libtorrent 2.0.8 and aria2 1.36.0. */
	static const char lt_real[] = "d12:complete_agoi-1e1:md11:lt_donthavei7e10:share_modei8e"
	    "11:upload_onlyi3e12:ut_holepunchi4ee4:reqqi20000e11:upload_onlyi1e1:v26:"
	    "peerlab-libtorrent/2.0.8.06:yourip4:\x7f\x00\x00\x01" "e";
	ck_assert_int_eq(wire_parse_ext_handshake((const uint8_t *)lt_real, sizeof lt_real - 1, &p,
	    err, sizeof err), 0);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_metadata"), 0);
	ck_assert_uint_eq(p.reqq, 20000);
	ck_assert(p.upload_only);
	ck_assert_str_eq(p.client, "peerlab-libtorrent/2.0.8.0");
	ck_assert(p.yourip_len == 4 && p.yourip[0] == 127 && p.yourip[3] == 1);
	static const char aria2_real[] = "d1:md11:ut_metadatai9ee13:metadata_sizei401e1:pi46661e"
	    "1:v12:aria2/1.36.0e";
	ck_assert_int_eq(wire_parse_ext_handshake((const uint8_t *)aria2_real,
	    sizeof aria2_real - 1, &p, err, sizeof err), 0);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_metadata"), 9);
	ck_assert_uint_eq(p.metadata_size, 401);
	ck_assert_uint_eq(p.port, 46661);
	ck_assert_str_eq(p.client, "aria2/1.36.0");
}
END_TEST

static void
parse_ext(const char *s, size_t len, struct wire_ext_handshake *p)
{
	char err[160];
	ck_assert_msg(wire_parse_ext_handshake((const uint8_t *)s, len, p, err, sizeof err) == 0,
	    "'%s' refused: %s", s, err);
}

START_TEST(test_ext_handshake_garbage)
{
	struct wire_ext_handshake p;
	char err[160];
	static const char *bad[] = { "", "d", "garbage", "li1ee", "i5e", "4:spam",
		"d1:md11:ut_metadatai1eee trailing", "d1:m" };

	for (size_t i = 0; i < DP_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		ck_assert_msg(wire_parse_ext_handshake((const uint8_t *)bad[i], strlen(bad[i]), &p,
		    err, sizeof err) == -1, "'%s' accepted", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "extension handshake: "));
	}
	/* Wrong types and ranges are ignored field by field. */
	static const char wrong[] = "d1:mli1ee1:p5:hello4:reqqi-3e1:vi7e6:yourip5:abcdee";
	parse_ext(wrong, sizeof wrong - 1, &p);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_metadata"), 0);
	ck_assert_uint_eq(p.port, 0);
	ck_assert_uint_eq(p.reqq, 0);
	ck_assert_str_eq(p.client, "");
	ck_assert_uint_eq(p.yourip_len, 0);
	static const char range[] = "d1:md11:ut_metadatai256e6:ut_pexi-1e3:xyzi9ee1:pi65536ee";
	parse_ext(range, sizeof range - 1, &p);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_metadata"), 0);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_pex"), 0);
	ck_assert_uint_eq(p.port, 0);
	/* 0 in "m" disables an extension. */
	static const char off[] = "d1:md11:ut_metadatai0e6:ut_pexi0eee";
	parse_ext(off, sizeof off - 1, &p);
	ck_assert_uint_eq(wire_ext_id(&p, "ut_metadata"), 0);
	/* A client name is made safe to show: control bytes and bad UTF-8 become '?'. */
	static const char ctl[] = "d1:v12:a\x1b[2Jb\xff\xc2\xb5T\x00ze";
	parse_ext(ctl, sizeof ctl - 1, &p);
	ck_assert_str_eq(p.client, "a?[2Jb?\xc2\xb5T?z");
	/* A long name is cut on a character boundary. */
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "v");
	char longname[200];
	for (size_t i = 0; i + 2 < sizeof longname; i += 2)
		memcpy(longname + i, "\xc2\xb5", 2);
	longname[198] = '\0';
	be_enc_cstr(&b, longname);
	be_enc_end(&b);
	parse_ext((const char *)b.data, b.len, &p);
	ck_assert_uint_eq(strlen(p.client), 62);
	ck_assert_int_eq((uint8_t)p.client[61], 0xb5);
	dp_buf_free(&b);
}
END_TEST

START_TEST(test_allowed_fast_vectors)
{
	uint8_t ih[20];
	uint32_t out[WIRE_ALLOWED_FAST_MAX];
	static const uint32_t want[9] = { 1059, 431, 808, 1217, 287, 376, 1188, 353, 508 };

	memset(ih, 0xaa, sizeof ih);
	/* BEP 6: 80.4.4.200, 1313 pieces, info hash 0xaa x 20. */
	ck_assert_uint_eq(wire_allowed_fast_set(0x500404c8, ih, 1313, 7, out), 7);
	for (int i = 0; i < 7; i++)
		ck_assert_uint_eq(out[i], want[i]);
	ck_assert_uint_eq(wire_allowed_fast_set(0x500404c8, ih, 1313, 9, out), 9);
	for (int i = 0; i < 9; i++)
		ck_assert_uint_eq(out[i], want[i]);
	/* Only the /24 counts. */
	ck_assert_uint_eq(wire_allowed_fast_set(0x50040401, ih, 1313, 9, out), 9);
	ck_assert_uint_eq(out[8], 508);
	/* Small torrents: never more than there are pieces, all distinct. */
	ck_assert_uint_eq(wire_allowed_fast_set(0x7f000001, ih, 3, 10, out), 3);
	ck_assert(out[0] != out[1] && out[1] != out[2] && out[0] != out[2]);
	ck_assert_uint_eq(wire_allowed_fast_set(0x7f000001, ih, 0, 10, out), 0);
	/* The set aria2 1.36.0 sent to a peer at 127.0.0.1 for a 16-piece torrent (peerlab). */
	static const uint32_t aria2[10] = { 4, 3, 9, 2, 15, 10, 12, 5, 14, 0 };
	ck_assert(dp_hex_decode("31067b634ab49c452ae9ee8a8ecdfa90cdaed237", 20, ih));
	ck_assert_uint_eq(wire_allowed_fast_set(0x7f000001, ih, 16, 10, out), 10);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(out[i], aria2[i]);
	ck_assert_uint_eq(wire_allowed_fast_set(0x7f000001, ih, 100000, 1000, out),
	    WIRE_ALLOWED_FAST_MAX);
}
END_TEST

START_TEST(test_peer_id_names)
{
	static const struct {
		const char *id;
		const char *name;
	} cases[] = {
		{ "-TR3000-abcdefghijkl", "Transmission 3.00" },
		{ "-TR2940-abcdefghijkl", "Transmission 2.94" },
		{ "-TR111Z-abcdefghijkl", "Transmission 1.11+" },
		{ "-TR0072-abcdefghijkl", "Transmission 0.72" },
		{ "-TR0006-abcdefghijkl", "Transmission 0.6" },
		{ "-TR4050-abcdefghijkl", "Transmission 4.0.5" },
		{ "-TR400B-abcdefghijkl", "Transmission 4.0.0 (beta)" },
		{ "-lt0D80-abcdefghijkl", "libTorrent (Rakshasa) 0.13.8" },
		{ "-LT2080-abcdefghijkl", "libtorrent (Rasterbar) 2.0.8" },
		{ "-LT1215-abcdefghijkl", "libtorrent (Rasterbar) 1.2.1.5" },
		{ "-DW0100-abcdefghijkl", "downpour 0.1.0" },
		{ "-DP0100-abcdefghijkl", "Propagate Data Client 0.1.0.0" },
		{ "-qB4630-abcdefghijkl", "qBittorrent 4.6.3" },
		{ "-DE13F0-abcdefghijkl", "Deluge 1.3.15" },
		{ "-AZ5770-abcdefghijkl", "Azureus/Vuze 5.7.7.0" },
		{ "-BC0180-abcdefghijkl", "BitComet 1.80" },
		{ "-UT355W-abcdefghijkl", "\xc2\xb5Torrent 3.5.5" },
		{ "-ZZ1234-abcdefghijkl", "ZZ 1234" },
		{ "A2-1-36-0-abcdefghij", "aria2 1.36.0" },
		{ "A2-1-9-12-abcdefghij", "aria2 1.9.12" },
		{ "M4-4-0--abcdefghijkl", "BitTorrent 4.4.0" },
		{ "M7-10-3-abcdefghijkl", "BitTorrent 7.10.3" },
		{ "S58B-----abcdefghijk", "Shadow 5.8.11" },
		{ "T03I-----abcdefghijk", "BitTornado 0.3.18" },
		{ "A310-----abcdefghijk", "ABC 3.1.0" },
		{ "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14",
		  "0102030405060708090a0b0c0d0e0f1011121314" },
		{ "-TR30\x01" "0-abcdefghijkl", "2d5452333001302d6162636465666768696a6b6c" },
		{ "M4-4-0xxabcdefghijkl", "4d342d342d30787861626364656667686" "96a6b6c" },
	};
	char name[64];

	for (size_t i = 0; i < DP_ARRAY_LEN(cases); i++) {
		peer_id_client_name((const uint8_t *)cases[i].id, name, sizeof name);
		ck_assert_msg(strcmp(name, cases[i].name) == 0, "%zu: got '%s', expected '%s'", i,
		    name, cases[i].name);
	}
	/* A tiny buffer is still terminated. */
	peer_id_client_name((const uint8_t *)cases[0].id, name, 5);
	ck_assert_str_eq(name, "Tran");
}
END_TEST

static bool
peer_id_digit_ok(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

START_TEST(test_peer_id_generate)
{
	uint8_t a[PEER_ID_LEN], b[PEER_ID_LEN];
	char name[64];

	peer_id_generate(a);
	peer_id_generate(b);
	ck_assert(memcmp(a, PEER_ID_PREFIX, 8) == 0);
	ck_assert(memcmp(a, b, PEER_ID_LEN) != 0);
	for (int i = 8; i < PEER_ID_LEN; i++)
		ck_assert_msg(peer_id_digit_ok(a[i]), "byte %d is 0x%02x", i, a[i]);
	/* Our prefix names the version we are. */
	peer_id_client_name(a, name, sizeof name);
	ck_assert_str_eq(name, "downpour " PACKAGE_VERSION);
}
END_TEST

Suite *
wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_handshake_round_trip);
	tcase_add_test(tc, test_handshake_refused);
	tcase_add_test(tc, test_simple_messages);
	tcase_add_test(tc, test_index_messages);
	tcase_add_test(tc, test_block_messages);
	tcase_add_test(tc, test_bitfield_and_extended);
	tcase_add_test(tc, test_unknown_id_skipped);
	tcase_add_test(tc, test_violations);
	tcase_add_test(tc, test_partial_buffers);
	tcase_add_test(tc, test_unknown_metadata);
	tcase_add_test(tc, test_piece_size);
	suite_add_tcase(s, tc);
	tc = tcase_create("extensions");
	tcase_add_test(tc, test_ext_handshake_round_trip);
	tcase_add_test(tc, test_ext_handshake_garbage);
	tcase_add_test(tc, test_allowed_fast_vectors);
	suite_add_tcase(s, tc);
	tc = tcase_create("peer_id");
	tcase_add_test(tc, test_peer_id_names);
	tcase_add_test(tc, test_peer_id_generate);
	suite_add_tcase(s, tc);
	return s;
}
