/* fuzz_wire_hash.c: libFuzzer target for the BEP 52 hash messages: the first byte picks the
 * message id (21, 22, 23), the rest is its payload. What parses must build back to the same
 * bytes, and a hashes message's run and uncles go through merkle_verify_run (never a crash,
 * whatever the root). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "merkle.h"
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
			if (h.count < h.req.length || h.count - h.req.length > h.req.proof_layers)
				abort();
			wire_hash_put_hashes(ev, &h.req, h.hashes, h.count);
			fuzz_same(ev, payload, len);
			uint8_t root[32] = { 0 };
			memcpy(root, h.req.root, 32);
			(void)merkle_verify_run(NULL, h.hashes, h.req.length, h.req.index,
			    h.hashes + (size_t)h.req.length * 32, h.count - h.req.length, root);
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
