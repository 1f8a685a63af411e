/* wire_hash.c: BEP 52 hash request / hashes / hash reject: a 48-byte header (pieces root, base
 * layer, index, length, proof layers) checked against fixed bounds, and the hashes after it. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include <event2/buffer.h>

#include "util.h"
#include "wire_hash.h"

static uint32_t
wire_hash_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
wire_hash_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int
wire_hash_header(const uint8_t *payload, size_t len, struct wire_hash_req *out, char *err,
    size_t errlen)
{
	if (len < WIRE_HASH_HEADER)
		return dp_fail(err, errlen, "hash message of %zu bytes, shorter than its header", len);
	memcpy(out->root, payload, 32);
	out->base_layer = wire_hash_u32(payload + 32);
	out->index = wire_hash_u32(payload + 36);
	out->length = wire_hash_u32(payload + 40);
	out->proof_layers = wire_hash_u32(payload + 44);
	if (out->length == 0 || out->length > WIRE_HASH_MAX_LENGTH ||
	    (out->length & (out->length - 1)) != 0)
		return dp_fail(err, errlen, "hash message asks for %u hashes (a power of two up to %u)",
		    out->length, WIRE_HASH_MAX_LENGTH);
	if (out->index % out->length != 0)
		return dp_fail(err, errlen, "hash message index %u is not a multiple of its length %u",
		    out->index, out->length);
	if (out->base_layer > WIRE_HASH_MAX_LAYER || out->proof_layers > WIRE_HASH_MAX_LAYER)
		return dp_fail(err, errlen, "hash message layers %u/%u are past any tree",
		    out->base_layer, out->proof_layers);
	return 0;
}

uint32_t
wire_hash_uncles(const struct wire_hash_req *r)
{
	uint32_t run = 0;
	while (run < 32 && (1u << run) < r->length)
		run++;
	return r->proof_layers + 1 > run ? r->proof_layers + 1 - run : 0;
}

int
wire_hash_parse_req(const uint8_t *payload, size_t len, struct wire_hash_req *out, char *err,
    size_t errlen)
{
	if (len != WIRE_HASH_HEADER)
		return dp_fail(err, errlen, "hash request of %zu bytes, not %u", len,
		    WIRE_HASH_HEADER);
	return wire_hash_header(payload, len, out, err, errlen);
}

int
wire_hash_parse_hashes(const uint8_t *payload, size_t len, struct wire_hashes *out, char *err,
    size_t errlen)
{
	if (wire_hash_header(payload, len, &out->req, err, errlen) < 0)
		return -1;
	size_t rest = len - WIRE_HASH_HEADER;
	if (rest % 32 != 0)
		return dp_fail(err, errlen, "hashes message carries %zu bytes, not whole hashes", rest);
	uint64_t n = rest / 32;
	if (n < out->req.length || n - out->req.length > wire_hash_uncles(&out->req))
		return dp_fail(err, errlen, "hashes message carries %llu hashes for a run of %u with "
		    "%u proof layers", (unsigned long long)n, out->req.length,
		    out->req.proof_layers);
	out->hashes = payload + WIRE_HASH_HEADER;
	out->count = (uint32_t)n;
	return 0;
}

static void
wire_hash_header_bytes(uint8_t out[WIRE_HASH_HEADER], const struct wire_hash_req *r)
{
	memcpy(out, r->root, 32);
	wire_hash_put32(out + 32, r->base_layer);
	wire_hash_put32(out + 36, r->index);
	wire_hash_put32(out + 40, r->length);
	wire_hash_put32(out + 44, r->proof_layers);
}

int
wire_hash_put_req(struct evbuffer *ev, int id, const struct wire_hash_req *r)
{
	uint8_t msg[5 + WIRE_HASH_HEADER];
	wire_hash_put32(msg, 1 + WIRE_HASH_HEADER);
	msg[4] = (uint8_t)id;
	wire_hash_header_bytes(msg + 5, r);
	return evbuffer_add(ev, msg, sizeof msg);
}

int
wire_hash_put_hashes(struct evbuffer *ev, const struct wire_hash_req *r, const uint8_t *hashes,
    uint32_t count)
{
	uint8_t head[5 + WIRE_HASH_HEADER];
	wire_hash_put32(head, (uint32_t)(1 + WIRE_HASH_HEADER + (size_t)count * 32));
	head[4] = WIRE_HASHES;
	wire_hash_header_bytes(head + 5, r);
	if (evbuffer_add(ev, head, sizeof head) < 0)
		return -1;
	return evbuffer_add(ev, hashes, (size_t)count * 32);
}
