/* fuzz_wire.c: libFuzzer target for the peer wire parser (under several limit sets), the
 * handshake, the BEP 10 extension handshake and client naming from peer ids. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "peer_id.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct wire_limits fuzz_limits[] = {
	/* 10 pieces of 32 KiB with a short last piece, everything negotiated. */
	{ 10, 32768, 9 * 32768 + 5000, 16384, 16384 + 13, true, true },
	/* A magnet link before the metadata: nothing known, nothing negotiated. */
	{ 0, 0, 0, 0, 0, false, false },
	/* Large pieces, large requests, a tight message cap. */
	{ 1313, 4u << 20, (uint64_t)1313 << 22, 131072, 64, true, false },
	/* One piece of 7 bytes. */
	{ 1, 7, 7, 0, 0, false, true },
};

static void
fuzz_stream(const uint8_t *data, size_t size, const struct wire_limits *lim)
{
	size_t pos = 0;
	char err[160];

	/* Each successful message consumes at least 4 bytes, so this ends. */
	while (pos < size) {
		struct wire_msg m;
		size_t used = 0;
		enum wire_result r = wire_parse(data + pos, size - pos, lim, &m, &used, err,
		    sizeof err);
		if (r == WIRE_ERROR) {
			if (err[0] == '\0')
				abort();
			return;
		}
		if (r == WIRE_NEED_MORE) {
			if (used <= size - pos)
				abort();
			return;
		}
		if (used < 4 || used > size - pos)
			abort();
		if (m.payload != NULL && (m.payload < data + pos ||
		    m.payload + m.payload_len > data + pos + used))
			abort();
		if (m.id == WIRE_PIECE && lim->piece_length != 0 &&
		    (uint64_t)m.begin + m.length > lim->piece_length)
			abort();
		if (m.id == WIRE_HAVE && lim->piece_count != 0 && m.index >= lim->piece_count)
			abort();
		pos += used;
	}
}

static void
fuzz_ext_handshake(const uint8_t *data, size_t size)
{
	struct wire_ext_handshake h, again;
	char err[160];

	if (wire_parse_ext_handshake(data, size, &h, err, sizeof err) != 0)
		return;
	/* What we parsed, we can send, and it reads back the same. */
	struct dp_buf b;
	dp_buf_init(&b);
	wire_build_ext_handshake(&b, &h);
	if (wire_parse_ext_handshake(b.data, b.len, &again, err, sizeof err) != 0)
		abort();
	if (memcmp(&h, &again, sizeof h) != 0)
		abort();
	dp_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if (mode & 0x80) {
		fuzz_ext_handshake(data, size);
		return 0;
	}
	fuzz_stream(data, size, &fuzz_limits[mode % DP_ARRAY_LEN(fuzz_limits)]);
	if (size >= WIRE_HANDSHAKE_LEN) {
		struct wire_handshake hs;
		char err[160];
		(void)wire_parse_handshake(data, &hs, err, sizeof err);
	}
	if (size >= PEER_ID_LEN) {
		char name[64];
		peer_id_client_name(data, name, sizeof name);
		if (strlen(name) >= sizeof name)
			abort();
	}
	return 0;
}
