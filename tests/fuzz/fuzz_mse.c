/* fuzz_mse.c: libFuzzer target for the MSE/PE handshake parser. The first byte picks a mode:
 * raw input fed to a receiver and to an initiator (the parser facing a stranger), or a real
 * initiator and receiver talking with the input's chunk sizes and ciphertext flips in flight
 * (a flip in an RC4 stream flips the plaintext, so every decrypted field is reachable). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mse.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_mse_hash[20] = "fuzzing-info-hash-20";

static bool
fuzz_mse_find(void *arg, const uint8_t req2[20], uint8_t skey[20])
{
	(void)arg;
	uint8_t want[20];
	mse_req2_hash(fuzz_mse_hash, want);
	if (memcmp(want, req2, 20) != 0)
		return false;
	memcpy(skey, fuzz_mse_hash, 20);
	return true;
}

/* Feeds data to h in pieces; checks the accounting the callers rely on. */
static enum mse_status
fuzz_mse_feed(struct mse_hs *h, const uint8_t *data, size_t size, struct dp_buf *out)
{
	enum mse_status st = MSE_AGAIN;
	size_t off = 0;
	while (off < size && st == MSE_AGAIN) {
		size_t n = DP_MIN(size - off, (size_t)1 + data[off] % 97);
		size_t used = 0;
		st = mse_hs_feed(h, data + off, n, &used, out);
		if (used > n || (st == MSE_AGAIN && used != n))
			abort();
		off += used;
		if (used == 0 && st == MSE_AGAIN)
			break;
	}
	if (out->len > MSE_KEY_LEN + MSE_PAD_MAX + 40 + 16 + MSE_IA_MAX)
		abort();
	return st;
}

static void
fuzz_mse_raw(const uint8_t *data, size_t size, uint32_t crypto)
{
	struct mse_params pb = { .crypto = crypto, .find_skey = fuzz_mse_find };
	struct dp_buf out;
	dp_buf_init(&out);
	struct mse_hs *b = mse_hs_new(&pb, &out);
	if (b != NULL) {
		if (fuzz_mse_feed(b, data, size, &out) == MSE_DONE) {
			size_t ialen;
			(void)mse_hs_ia(b, &ialen);
			if (ialen > MSE_IA_MAX)
				abort();
		}
		mse_hs_free(b);
	}
	dp_buf_free(&out);
	struct mse_params pa = { .initiator = true, .crypto = crypto };
	memcpy(pa.skey, fuzz_mse_hash, 20);
	dp_buf_init(&out);
	struct mse_hs *a = mse_hs_new(&pa, &out);
	if (a != NULL) {
		if (fuzz_mse_feed(a, data, size, &out) == MSE_DONE &&
		    (mse_hs_selected(a) & crypto) == 0)
			abort();
		mse_hs_free(a);
	}
	dp_buf_free(&out);
}

/* Moves what one side wrote to the other, up to chunk bytes, flipping the bytes the input
 * names; returns bytes moved. */
static size_t
fuzz_mse_move(struct dp_buf *wire, size_t *off, struct mse_hs *to, enum mse_status *st,
    struct dp_buf *to_out, size_t chunk, const uint8_t *flips, size_t nflips)
{
	size_t n = DP_MIN(chunk, wire->len - *off);
	if (n == 0 || *st != MSE_AGAIN)
		return 0;
	uint8_t *p = xmemdup(wire->data + *off, n);
	for (size_t i = 0; i + 3 <= nflips; i += 3) {
		size_t at = (size_t)flips[i] << 8 | flips[i + 1];
		if (at >= *off && at < *off + n)
			p[at - *off] ^= flips[i + 2];
	}
	size_t used = 0;
	*st = mse_hs_feed(to, p, n, &used, to_out);
	if (used > n)
		abort();
	*off += n;
	free(p);
	return n;
}

static void
fuzz_mse_pair(const uint8_t *data, size_t size)
{
	if (size < 4)
		return;
	static const uint8_t sa[20] = "fuzz-secret-A-sideXX", sb[20] = "fuzz-secret-B-sideXX";
	struct mse_params pa = { .initiator = true, .crypto = 1 + data[0] % 3,
		.fixed_secret = sa };
	memcpy(pa.skey, fuzz_mse_hash, 20);
	size_t ialen = data[3] % 80;
	pa.ia = (const uint8_t *)"\x13" "BitTorrent protocol, the initial payload of the fuzzer....."
	    "....................";
	pa.ia_len = ialen;
	struct mse_params pb = { .crypto = 1 + data[1] % 3, .prefer_plain = data[2] & 1,
		.find_skey = fuzz_mse_find, .fixed_secret = sb };
	size_t chunk = 1 + data[2] / 2;
	data += 4;
	size -= 4;
	/* The rest: flips of A's stream, then of B's, split at the middle. */
	const uint8_t *fa = data, *fb = data + size / 2;
	size_t na = size / 2, nb = size - size / 2;
	struct dp_buf aw, bw;
	dp_buf_init(&aw);
	dp_buf_init(&bw);
	struct mse_hs *a = mse_hs_new(&pa, &aw), *b = mse_hs_new(&pb, &bw);
	enum mse_status as = MSE_AGAIN, bs = MSE_AGAIN;
	size_t aoff = 0, boff = 0;
	for (int round = 0; round < 4000 && a != NULL && b != NULL; round++) {
		size_t moved = fuzz_mse_move(&aw, &aoff, b, &bs, &bw, chunk, fa, na);
		moved += fuzz_mse_move(&bw, &boff, a, &as, &aw, chunk, fb, nb);
		if (moved == 0)
			break;
	}
	/* Untouched streams must agree; any outcome is fine when flipped, short of a crash. */
	if (na < 3 && nb < 3 && a != NULL && b != NULL && (pa.crypto & pb.crypto) != 0) {
		if (as != MSE_DONE || bs != MSE_DONE ||
		    mse_hs_selected(a) != mse_hs_selected(b))
			abort();
		size_t got;
		const uint8_t *ia = mse_hs_ia(b, &got);
		if (got != ialen || (got > 0 && memcmp(ia, pa.ia, got) != 0))
			abort();
	}
	mse_hs_free(a);
	mse_hs_free(b);
	dp_buf_free(&aw);
	dp_buf_free(&bw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_mse_pair(data + 1, size - 1);
	else
		fuzz_mse_raw(data + 1, size - 1, 1 + (data[0] >> 1) % 3);
	return 0;
}
