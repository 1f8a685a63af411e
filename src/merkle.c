/* merkle.c: BEP 52 merkle trees over SHA-256 (OpenSSL EVP, one reusable context per hasher) and
 * the table of zero-subtree hashes that pad every tree to a power of two. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "merkle.h"
#include "util.h"

#define MERKLE_PAD_LEVELS 64

struct merkle_hasher {
	EVP_MD_CTX *ctx;
	EVP_MD *md;
};

/* merkle_pads[i]: the root of 2^i zero leaves; constants, computed once. */
static uint8_t merkle_pads[MERKLE_PAD_LEVELS][MERKLE_HASH];
static pthread_once_t merkle_pads_once = PTHREAD_ONCE_INIT;

/* OpenSSL failing SHA-256 on memory we own means a broken library or no memory: nothing a
 * caller could do about it. */
static void
merkle_die(const char *what)
{
	log_error("merkle: OpenSSL SHA-256 failed (%s)", what);
	abort();
}

struct merkle_hasher *
merkle_hasher_new(void)
{
	struct merkle_hasher *h = xcalloc(1, sizeof *h);
	h->ctx = EVP_MD_CTX_new();
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (h->ctx == NULL || h->md == NULL)
		merkle_die("no context");
	return h;
}

void
merkle_hasher_free(struct merkle_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

void
merkle_sha256(struct merkle_hasher *h, const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;
	if (h == NULL) {
		if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != MERKLE_HASH)
			merkle_die("digest");
		return;
	}
	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != MERKLE_HASH)
		merkle_die("digest");
}

void
merkle_pair(struct merkle_hasher *h, const uint8_t left[32], const uint8_t right[32],
    uint8_t out[32])
{
	uint8_t both[2 * MERKLE_HASH];
	memcpy(both, left, MERKLE_HASH);
	memcpy(both + MERKLE_HASH, right, MERKLE_HASH);
	merkle_sha256(h, both, sizeof both, out);
}

static void
merkle_pads_init(void)
{
	memset(merkle_pads[0], 0, MERKLE_HASH);
	for (unsigned i = 1; i < MERKLE_PAD_LEVELS; i++)
		merkle_pair(NULL, merkle_pads[i - 1], merkle_pads[i - 1], merkle_pads[i]);
}

static const uint8_t *
merkle_pad_at(unsigned level)
{
	pthread_once(&merkle_pads_once, merkle_pads_init);
	return merkle_pads[level < MERKLE_PAD_LEVELS ? level : MERKLE_PAD_LEVELS - 1];
}

void
merkle_pad(struct merkle_hasher *h, unsigned level, uint8_t out[32])
{
	(void)h;
	memcpy(out, merkle_pad_at(level), MERKLE_HASH);
}

uint64_t
merkle_pow2(uint64_t n)
{
	uint64_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

unsigned
merkle_log2(uint64_t pow2)
{
	unsigned l = 0;
	while (pow2 > 1) {
		pow2 >>= 1;
		l++;
	}
	return l;
}

void
merkle_root(struct merkle_hasher *h, const uint8_t *nodes, uint64_t n, uint64_t width,
    unsigned pad_level, uint8_t *scratch, uint8_t out[32])
{
	if (n == 0) {
		memcpy(out, merkle_pad_at(pad_level + merkle_log2(width)), MERKLE_HASH);
		return;
	}
	if (scratch != nodes)
		memcpy(scratch, nodes, (size_t)n * MERKLE_HASH);
	uint64_t m = n;
	unsigned level = pad_level;
	for (uint64_t w = width; w > 1; w >>= 1, level++) {
		const uint8_t *pad = merkle_pad_at(level);
		for (uint64_t i = 0; 2 * i < m; i++) {
			const uint8_t *right = 2 * i + 1 < m ? scratch + (2 * i + 1) * MERKLE_HASH : pad;
			merkle_pair(h, scratch + 2 * i * MERKLE_HASH, right, scratch + i * MERKLE_HASH);
		}
		m = (m + 1) / 2;
	}
	memcpy(out, scratch, MERKLE_HASH);
}

uint64_t
merkle_piece_width(uint64_t file_length, uint32_t piece_length)
{
	if (file_length > piece_length)
		return piece_length / MERKLE_BLOCK;
	return merkle_pow2((file_length + MERKLE_BLOCK - 1) / MERKLE_BLOCK);
}

void
merkle_piece_root(struct merkle_hasher *h, const uint8_t *data, size_t len, uint64_t width,
    uint8_t *scratch, uint8_t out[32])
{
	uint64_t n = (len + MERKLE_BLOCK - 1) / MERKLE_BLOCK;
	for (uint64_t i = 0; i < n; i++) {
		size_t off = (size_t)i * MERKLE_BLOCK;
		merkle_sha256(h, data + off, DP_MIN((size_t)MERKLE_BLOCK, len - off),
		    scratch + i * MERKLE_HASH);
	}
	merkle_root(h, scratch, n, width, 0, scratch, out);
}

void
merkle_root_from_layer(struct merkle_hasher *h, const uint8_t *layer, uint64_t count,
    uint32_t piece_length, uint8_t *scratch, uint8_t out[32])
{
	merkle_root(h, layer, count, merkle_pow2(count), merkle_log2(piece_length / MERKLE_BLOCK),
	    scratch, out);
}

bool
merkle_verify_run(struct merkle_hasher *h, const uint8_t *run, uint64_t count, uint64_t index,
    const uint8_t *proof, unsigned proof_count, const uint8_t root[32])
{
	if (count == 0 || (count & (count - 1)) != 0 || index % count != 0 || proof_count >= 64)
		return false;
	uint64_t pos = index / count;
	if (pos >> proof_count != 0)
		return false;
	uint8_t node[MERKLE_HASH];
	uint8_t *scratch = xmalloc((size_t)count * MERKLE_HASH);
	merkle_root(h, run, count, count, 0, scratch, node);
	free(scratch);
	for (unsigned i = 0; i < proof_count; i++, pos >>= 1) {
		const uint8_t *uncle = proof + (size_t)i * MERKLE_HASH;
		if (pos & 1)
			merkle_pair(h, uncle, node, node);
		else
			merkle_pair(h, node, uncle, node);
	}
	return memcmp(node, root, MERKLE_HASH) == 0;
}
