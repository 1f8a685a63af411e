/* fuzz_wire_hash.c: libFuzzer target for the BEP 52 hash messages: the first byte picks the
 * message id (21, 22, 23), the rest is its payload. What parses must build back to the same
 * bytes, and a hashes message goes through the answer check a download makes (v2_layers_verify,
 * merkle_verify_run): never a crash, and an answer whose root is computed here from its own run
 * and uncles passes exactly when its padding is right. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "merkle.h"
#include "util.h"
#include "v2_layers.h"
#include "wire_hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The payload of the one message in ev equals want. */
static void
fuzz_same(struct evbuffer *ev, const uint8_t *want, size_t len)
{
	size_t n = evbuffer_get_length(ev);
	if (n != len + 5)
		abort();
	uint8_t *got = malloc(n);
	if (got == NULL)
		abort();
	evbuffer_remove(ev, got, n);
	if (memcmp(got + 5, want, len) != 0)
		abort();
	free(got);
}

/* The answer h as the reply to a download's request for a file the header fits: a layer of
 * 2^(proof_layers + 1) nodes (so the uncles reach the root) holding pieces pieces. Checked once
 * against the root in the message (almost never right) and once against the root its own run
 * and uncles fold to, which must pass unless a hash past the last piece is not padding. */
static void
fuzz_layers_verify(const struct wire_hashes *h)
{
	const struct wire_hash_req *r = &h->req;
	if (r->proof_layers > 40)
		return;
	uint64_t w = 1ull << (r->proof_layers + 1);
	if ((uint64_t)r->index + r->length > w || r->length > w)
		return;
	uint64_t pieces = DP_MAX(w / 2 + 1, (uint64_t)r->index + 1);
	if (pieces < 2)
		pieces = 2;
	(void)v2_layers_verify(NULL, r, pieces, h);
	uint32_t uncles = wire_hash_uncles(r);
	if (h->count != r->length + uncles || merkle_log2(w) - merkle_log2(r->length) != uncles)
		return;
	/* The root the run proves, folded here without merkle_verify_run. */
	uint8_t node[32];
	uint8_t *scratch = malloc((size_t)r->length * 32);
	if (scratch == NULL)
		abort();
	merkle_root(NULL, h->hashes, r->length, r->length, 0, scratch, node);
	free(scratch);
	uint64_t pos = r->index / r->length;
	for (uint32_t i = 0; i < uncles; i++, pos >>= 1) {
		const uint8_t *u = h->hashes + ((size_t)r->length + i) * 32;
		if (pos & 1)
			merkle_pair(NULL, u, node, node);
		else
			merkle_pair(NULL, node, u, node);
	}
	struct wire_hash_req sent = *r;
	memcpy(sent.root, node, 32);
	struct wire_hashes got = *h;
	got.req = sent;
	uint8_t pad[32];
	merkle_pad(NULL, r->base_layer, pad);
	bool pads_ok = true;
	for (uint64_t i = DP_MAX((uint64_t)r->index, pieces); i < (uint64_t)r->index + r->length; i++)
		if (memcmp(h->hashes + (i - r->index) * 32, pad, 32) != 0)
			pads_ok = false;
	if (v2_layers_verify(NULL, &sent, pieces, &got) != pads_ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t id = data[0];
	const uint8_t *payload = data + 1;
	size_t len = size - 1;
	char err[160];
	struct evbuffer *ev = evbuffer_new();
	if (id % 3 == 1) {
		struct wire_hashes h;
		if (wire_hash_parse_hashes(payload, len, &h, err, sizeof err) == 0) {
			if (h.count < h.req.length || h.count - h.req.length > wire_hash_uncles(&h.req))
				abort();
			wire_hash_put_hashes(ev, &h.req, h.hashes, h.count);
			fuzz_same(ev, payload, len);
			uint8_t root[32] = { 0 };
			memcpy(root, h.req.root, 32);
			(void)merkle_verify_run(NULL, h.hashes, h.req.length, h.req.index,
			    h.hashes + (size_t)h.req.length * 32, h.count - h.req.length, root);
			fuzz_layers_verify(&h);
		} else if (err[0] == '\0')
			abort();
	} else {
		struct wire_hash_req r;
		if (wire_hash_parse_req(payload, len, &r, err, sizeof err) == 0) {
			if (r.length == 0 || (r.length & (r.length - 1)) != 0 || r.index % r.length != 0)
				abort();
			wire_hash_put_req(ev, id % 3 == 0 ? WIRE_HASH_REQUEST : WIRE_HASH_REJECT, &r);
			fuzz_same(ev, payload, len);
		} else if (err[0] == '\0')
			abort();
	}
	evbuffer_free(ev);
	return 0;
}
