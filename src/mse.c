/* mse.c: the MSE/PE handshake as a state machine over bytes: DH (768-bit prime, OpenSSL BN),
 * the req1/VC synchronisation scans with their bounds, crypto negotiation, and RC4. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mse.h"
#include "util.h"

/* The 768-bit safe prime of the spec; the generator is 2. */
static const char mse_prime_hex[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E"
    "3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000"
    "000000090563";

#define MSE_SECRET_LEN 20u     /* 160-bit private exponents, as the spec advises */
#define MSE_VC_LEN 8u

enum mse_state {
	/* initiator */
	MSE_S_YB,            /* Yb */
	MSE_S_VC_SYNC,       /* PadB, then ENCRYPT(VC) */
	MSE_S_SELECT,        /* crypto_select, len(PadD) */
	MSE_S_PADD,
	/* receiver */
	MSE_S_YA,            /* Ya */
	MSE_S_REQ1_SYNC,     /* PadA, then HASH('req1', S) */
	MSE_S_REQ2,          /* HASH('req2', SKEY) xor HASH('req3', S) */
	MSE_S_PROVIDE,       /* ENCRYPT(VC, crypto_provide, len(PadC)) */
	MSE_S_PADC,
	MSE_S_IA_LEN,
	MSE_S_IA,
	MSE_S_DONE,
	MSE_S_FAILED,
};

struct mse_hs {
	bool initiator;
	uint32_t crypto;
	bool prefer_plain;
	bool (*find_skey)(void *arg, const uint8_t req2[20], uint8_t skey[20]);
	void *find_arg;
	enum mse_state st;
	BIGNUM *x;                       /* our private exponent */
	uint8_t s[MSE_KEY_LEN];          /* the shared secret */
	uint8_t skey[20];
	/* what the current state collects: a field, or the window a sync pattern is sought in */
	uint8_t buf[MSE_PAD_MAX + 20];
	size_t buflen;
	size_t scanned;                  /* bytes looked at while seeking the sync pattern */
	uint8_t sync[20];
	size_t synclen;
	struct mse_rc4 enc, dec;
	uint32_t selected;
	size_t pad_left;
	uint8_t *ia;                     /* initiator: to send; receiver: received (decrypted) */
	size_t ia_len, ia_have;
	char err[128];
};

/* ---- RC4 ---- */

void
mse_rc4_init(struct mse_rc4 *r, const uint8_t *key, size_t keylen)
{
	for (unsigned i = 0; i < 256; i++)
		r->s[i] = (uint8_t)i;
	uint8_t j = 0;
	for (unsigned i = 0; i < 256; i++) {
		j = (uint8_t)(j + r->s[i] + key[i % keylen]);
		uint8_t t = r->s[i];
		r->s[i] = r->s[j];
		r->s[j] = t;
	}
	r->i = r->j = 0;
}

/* Byte state, indices kept in registers: as fast as OpenSSL's legacy RC4 here (about 550 MB/s
 * against its 520-680 MB/s in the same minute, 16 KiB buffers). */
void
mse_rc4_crypt(struct mse_rc4 *r, const uint8_t *in, uint8_t *out, size_t n)
{
	uint8_t *s = r->s;
	unsigned i = r->i, j = r->j;
	for (size_t k = 0; k < n; k++) {
		i = (i + 1) & 255u;
		uint8_t si = s[i];
		j = (j + si) & 255u;
		uint8_t sj = s[j];
		s[i] = sj;
		s[j] = si;
		out[k] = in[k] ^ s[(uint8_t)(si + sj)];
	}
	r->i = (uint8_t)i;
	r->j = (uint8_t)j;
}

static void
mse_rc4_discard(struct mse_rc4 *r, size_t n)
{
	uint8_t zero[256] = { 0 }, sink[256];
	while (n > 0) {
		size_t k = DP_MIN(n, sizeof zero);
		mse_rc4_crypt(r, zero, sink, k);
		n -= k;
	}
}

/* ---- hashes and keys ---- */

static void
mse_sha1(const char *tag, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    uint8_t out[20])
{
	uint8_t tmp[4 + MSE_KEY_LEN + 20];
	size_t tl = strlen(tag), n = 0;
	memcpy(tmp, tag, tl);
	n += tl;
	memcpy(tmp + n, a, alen);
	n += alen;
	if (b != NULL) {
		memcpy(tmp + n, b, blen);
		n += blen;
	}
	unsigned outlen = 20;
	if (EVP_Digest(tmp, n, out, &outlen, EVP_sha1(), NULL) != 1)
		memset(out, 0, 20);   /* cannot match the peer's: the handshake fails cleanly */
}

void
mse_req2_hash(const uint8_t info_hash[20], uint8_t out[20])
{
	mse_sha1("req2", info_hash, 20, NULL, 0, out);
}

/* Keys the two RC4 streams once S and SKEY are known: A sends with keyA, B with keyB. */
static void
mse_set_keys(struct mse_hs *h)
{
	uint8_t ka[20], kb[20];
	mse_sha1("keyA", h->s, MSE_KEY_LEN, h->skey, 20, ka);
	mse_sha1("keyB", h->s, MSE_KEY_LEN, h->skey, 20, kb);
	mse_rc4_init(&h->enc, h->initiator ? ka : kb, 20);
	mse_rc4_init(&h->dec, h->initiator ? kb : ka, 20);
	mse_rc4_discard(&h->enc, 1024);
	mse_rc4_discard(&h->dec, 1024);
}

static enum mse_status
mse_fail(struct mse_hs *h, const char *fmt, ...) DP_PRINTF(2, 3);

static enum mse_status
mse_fail(struct mse_hs *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->err, sizeof h->err, fmt, ap);
	va_end(ap);
	h->st = MSE_S_FAILED;
	return MSE_FAIL;
}

/* The peer's public key into S = Y^x mod P; a key of 0, 1 or P-1 (or beyond) is refused: it
 * would make S guessable. */
static bool
mse_shared_secret(struct mse_hs *h, const uint8_t y_bytes[MSE_KEY_LEN])
{
	bool ok = false;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *p = NULL, *y = BN_bin2bn(y_bytes, (int)MSE_KEY_LEN, NULL), *s = BN_new(),
	    *pm1 = BN_new();
	if (ctx == NULL || y == NULL || s == NULL || pm1 == NULL ||
	    BN_hex2bn(&p, mse_prime_hex) == 0 || BN_copy(pm1, p) == NULL || !BN_sub_word(pm1, 1))
		goto out;
	if (BN_is_zero(y) || BN_is_one(y) || BN_cmp(y, pm1) >= 0)
		goto out;
	if (BN_mod_exp(s, y, h->x, p, ctx) != 1 || BN_bn2binpad(s, h->s, (int)MSE_KEY_LEN) < 0)
		goto out;
	ok = true;
out:
	BN_free(p);
	BN_free(y);
	BN_clear_free(s);
	BN_free(pm1);
	BN_CTX_free(ctx);
	return ok;
}

/* Our key pair: x random (or fixed, for tests), out gets Y = 2^x mod P and the padding. */
static bool
mse_make_key(struct mse_hs *h, const struct mse_params *p, struct dp_buf *out)
{
	uint8_t secret[MSE_SECRET_LEN], pub[MSE_KEY_LEN];
	if (p->fixed_secret != NULL)
		memcpy(secret, p->fixed_secret, sizeof secret);
	else if (RAND_bytes(secret, sizeof secret) != 1)
		return false;
	bool ok = false;
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *prime = NULL, *g = BN_new(), *y = BN_new();
	h->x = BN_secure_new();
	if (ctx == NULL || g == NULL || y == NULL || h->x == NULL ||
	    BN_hex2bn(&prime, mse_prime_hex) == 0 || !BN_set_word(g, 2) ||
	    BN_bin2bn(secret, sizeof secret, h->x) == NULL)
		goto out;
	BN_set_flags(h->x, BN_FLG_CONSTTIME);
	if (BN_mod_exp(y, g, h->x, prime, ctx) != 1 || BN_bn2binpad(y, pub, sizeof pub) < 0)
		goto out;
	dp_buf_add(out, pub, sizeof pub);
	/* PadA/PadB: random bytes, a random 0..512 of them, so lengths say little. */
	uint16_t padlen = 0;
	if (p->fixed_secret == NULL && RAND_bytes((uint8_t *)&padlen, sizeof padlen) == 1) {
		uint8_t pad[MSE_PAD_MAX];
		padlen %= MSE_PAD_MAX + 1;
		if (RAND_bytes(pad, padlen) != 1)
			memset(pad, 0, padlen);
		dp_buf_add(out, pad, padlen);
	}
	ok = true;
out:
	OPENSSL_cleanse(secret, sizeof secret);
	BN_free(prime);
	BN_free(g);
	BN_free(y);
	BN_CTX_free(ctx);
	return ok;
}

struct mse_hs *
mse_hs_new(const struct mse_params *p, struct dp_buf *out)
{
	struct mse_hs *h = xcalloc(1, sizeof *h);
	h->initiator = p->initiator;
	h->crypto = p->crypto & (MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4);
	h->prefer_plain = p->prefer_plain;
	h->find_skey = p->find_skey;
	h->find_arg = p->find_arg;
	h->st = p->initiator ? MSE_S_YB : MSE_S_YA;
	if (p->initiator) {
		memcpy(h->skey, p->skey, 20);
		h->ia_len = DP_MIN(p->ia_len, (size_t)MSE_IA_MAX);
		if (h->ia_len > 0)
			h->ia = xmemdup(p->ia, h->ia_len);
	}
	if (!mse_make_key(h, p, out)) {
		mse_hs_free(h);
		return NULL;
	}
	return h;
}

static uint32_t
mse_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void
mse_put_be(uint8_t *b, uint32_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Initiator, Yb in hand: step 3 (req1, req2^req3, the encrypted offer and the initial
 * payload), and the pattern B's encrypted VC will show. */
static enum mse_status
mse_initiator_got_key(struct mse_hs *h, struct dp_buf *out)
{
	if (!mse_shared_secret(h, h->buf))
		return mse_fail(h, "bad Diffie-Hellman key from the peer");
	uint8_t r1[20], r2[20], r3[20];
	mse_sha1("req1", h->s, MSE_KEY_LEN, NULL, 0, r1);
	mse_req2_hash(h->skey, r2);
	mse_sha1("req3", h->s, MSE_KEY_LEN, NULL, 0, r3);
	for (int i = 0; i < 20; i++)
		r2[i] ^= r3[i];
	dp_buf_add(out, r1, 20);
	dp_buf_add(out, r2, 20);
	mse_set_keys(h);
	uint8_t msg[MSE_VC_LEN + 4 + 2 + 2] = { 0 };
	mse_put_be(msg + MSE_VC_LEN, h->crypto, 4);
	mse_put_be(msg + MSE_VC_LEN + 4, 0, 2);                   /* len(PadC): none */
	mse_put_be(msg + MSE_VC_LEN + 6, (uint32_t)h->ia_len, 2);
	mse_rc4_crypt(&h->enc, msg, msg, sizeof msg);
	dp_buf_add(out, msg, sizeof msg);
	if (h->ia_len > 0) {
		/* The payload always goes RC4: A sends it before it knows what B selects. */
		uint8_t *ia = xmalloc(h->ia_len);
		mse_rc4_crypt(&h->enc, h->ia, ia, h->ia_len);
		dp_buf_add(out, ia, h->ia_len);
		free(ia);
	}
	/* ENCRYPT(VC) as B will send it: B's keystream over 8 zero bytes. */
	struct mse_rc4 peek = h->dec;
	uint8_t zero[MSE_VC_LEN] = { 0 };
	mse_rc4_crypt(&peek, zero, h->sync, MSE_VC_LEN);
	h->synclen = MSE_VC_LEN;
	h->st = MSE_S_VC_SYNC;
	return MSE_AGAIN;
}

/* Receiver, Ya in hand: step 2 (Yb was sent at creation), and the req1 pattern to find. */
static enum mse_status
mse_receiver_got_key(struct mse_hs *h)
{
	if (!mse_shared_secret(h, h->buf))
		return mse_fail(h, "bad Diffie-Hellman key from the peer");
	mse_sha1("req1", h->s, MSE_KEY_LEN, NULL, 0, h->sync);
	h->synclen = 20;
	h->st = MSE_S_REQ1_SYNC;
	return MSE_AGAIN;
}

static enum mse_status
mse_receiver_got_req2(struct mse_hs *h)
{
	uint8_t r3[20], r2[20];
	mse_sha1("req3", h->s, MSE_KEY_LEN, NULL, 0, r3);
	for (int i = 0; i < 20; i++)
		r2[i] = h->buf[i] ^ r3[i];
	if (h->find_skey == NULL || !h->find_skey(h->find_arg, r2, h->skey))
		return mse_fail(h, "the peer asked for a torrent we do not have");
	mse_set_keys(h);
	h->st = MSE_S_PROVIDE;
	return MSE_AGAIN;
}

/* Receiver: VC, crypto_provide and len(PadC) decrypted; choose, and answer with step 4. */
static enum mse_status
mse_receiver_got_provide(struct mse_hs *h, struct dp_buf *out)
{
	uint8_t *m = h->buf;
	mse_rc4_crypt(&h->dec, m, m, MSE_VC_LEN + 6);
	static const uint8_t vc[MSE_VC_LEN];
	if (memcmp(m, vc, MSE_VC_LEN) != 0)
		return mse_fail(h, "bad verification constant");
	uint32_t provide = mse_be32(m + MSE_VC_LEN);
	h->pad_left = (size_t)m[MSE_VC_LEN + 4] << 8 | m[MSE_VC_LEN + 5];
	if (h->pad_left > MSE_PAD_MAX)
		return mse_fail(h, "PadC of %zu bytes (at most %u)", h->pad_left, MSE_PAD_MAX);
	uint32_t common = provide & h->crypto;
	if (common == 0)
		return mse_fail(h, "no common crypto method (peer offers 0x%x, we accept 0x%x)",
		    (unsigned)provide, (unsigned)h->crypto);
	if (common == (MSE_CRYPTO_PLAIN | MSE_CRYPTO_RC4))
		h->selected = h->prefer_plain ? MSE_CRYPTO_PLAIN : MSE_CRYPTO_RC4;
	else
		h->selected = common;
	uint8_t msg[MSE_VC_LEN + 4 + 2] = { 0 };
	mse_put_be(msg + MSE_VC_LEN, h->selected, 4);
	mse_rc4_crypt(&h->enc, msg, msg, sizeof msg);      /* len(PadD) 0 */
	dp_buf_add(out, msg, sizeof msg);
	h->st = MSE_S_PADC;
	return MSE_AGAIN;
}

static enum mse_status
mse_initiator_got_select(struct mse_hs *h)
{
	uint8_t *m = h->buf;
	mse_rc4_crypt(&h->dec, m, m, 6);
	uint32_t sel = mse_be32(m);
	h->pad_left = (size_t)m[4] << 8 | m[5];
	if ((sel != MSE_CRYPTO_PLAIN && sel != MSE_CRYPTO_RC4) || (sel & h->crypto) == 0)
		return mse_fail(h, "the peer selected crypto 0x%x, we offered 0x%x", (unsigned)sel,
		    (unsigned)h->crypto);
	if (h->pad_left > MSE_PAD_MAX)
		return mse_fail(h, "PadD of %zu bytes (at most %u)", h->pad_left, MSE_PAD_MAX);
	h->selected = sel;
	h->st = MSE_S_PADD;
	return MSE_AGAIN;
}

/* Gathers a field of n bytes into buf; true when it is complete. */
static bool
mse_gather(struct mse_hs *h, size_t n, const uint8_t *in, size_t len, size_t *pos)
{
	size_t k = DP_MIN(n - h->buflen, len - *pos);
	memcpy(h->buf + h->buflen, in + *pos, k);
	h->buflen += k;
	*pos += k;
	return h->buflen == n;
}

/* Seeks the sync pattern past at most max bytes of padding; true when found (the pattern is
 * consumed). Byte by byte so that exactly what precedes the payload is consumed. */
static bool
mse_seek(struct mse_hs *h, size_t max, const uint8_t *in, size_t len, size_t *pos,
    bool *gave_up)
{
	while (*pos < len) {
		if (h->buflen == sizeof h->buf) {
			memmove(h->buf, h->buf + 1, h->buflen - 1);
			h->buflen--;
		}
		h->buf[h->buflen++] = in[(*pos)++];
		h->scanned++;
		if (h->buflen >= h->synclen &&
		    memcmp(h->buf + h->buflen - h->synclen, h->sync, h->synclen) == 0)
			return true;
		if (h->scanned >= max + h->synclen) {
			*gave_up = true;
			return false;
		}
	}
	return false;
}

/* Skips padding (decrypting it: the RC4 stream runs over it). */
static void
mse_skip_pad(struct mse_hs *h, const uint8_t *in, size_t len, size_t *pos)
{
	size_t k = DP_MIN(h->pad_left, len - *pos);
	uint8_t sink[MSE_PAD_MAX];
	mse_rc4_crypt(&h->dec, in + *pos, sink, k);
	h->pad_left -= k;
	*pos += k;
}

enum mse_status
mse_hs_feed(struct mse_hs *h, const uint8_t *in, size_t len, size_t *used, struct dp_buf *out)
{
	size_t pos = 0;
	enum mse_status r = MSE_AGAIN;
	bool gave_up = false;
	while (r == MSE_AGAIN && h->st != MSE_S_DONE && h->st != MSE_S_FAILED) {
		size_t before = pos;
		switch (h->st) {
		case MSE_S_YB:
		case MSE_S_YA:
			if (mse_gather(h, MSE_KEY_LEN, in, len, &pos)) {
				r = h->initiator ? mse_initiator_got_key(h, out) : mse_receiver_got_key(h);
				h->buflen = 0;
			}
			break;
		case MSE_S_VC_SYNC:
		case MSE_S_REQ1_SYNC:
			if (mse_seek(h, MSE_PAD_MAX, in, len, &pos, &gave_up)) {
				h->buflen = 0;
				if (h->st == MSE_S_VC_SYNC) {
					uint8_t vc[MSE_VC_LEN];
					mse_rc4_crypt(&h->dec, h->sync, vc, MSE_VC_LEN);
					h->st = MSE_S_SELECT;
				} else {
					h->st = MSE_S_REQ2;
				}
			} else if (gave_up) {
				r = mse_fail(h, h->st == MSE_S_VC_SYNC ?
				    "no encrypted reply: not MSE, or the peer refused" :
				    "not an MSE handshake (no req1 within 512 bytes of padding)");
			}
			break;
		case MSE_S_REQ2:
			if (mse_gather(h, 20, in, len, &pos)) {
				r = mse_receiver_got_req2(h);
				h->buflen = 0;
			}
			break;
		case MSE_S_PROVIDE:
			if (mse_gather(h, MSE_VC_LEN + 6, in, len, &pos)) {
				r = mse_receiver_got_provide(h, out);
				h->buflen = 0;
			}
			break;
		case MSE_S_SELECT:
			if (mse_gather(h, 6, in, len, &pos)) {
				r = mse_initiator_got_select(h);
				h->buflen = 0;
			}
			break;
		case MSE_S_PADC:
		case MSE_S_PADD:
			mse_skip_pad(h, in, len, &pos);
			if (h->pad_left == 0)
				h->st = h->st == MSE_S_PADC ? MSE_S_IA_LEN : MSE_S_DONE;
			break;
		case MSE_S_IA_LEN:
			if (mse_gather(h, 2, in, len, &pos)) {
				uint8_t l[2];
				mse_rc4_crypt(&h->dec, h->buf, l, 2);
				h->buflen = 0;
				h->ia_len = (size_t)l[0] << 8 | l[1];
				h->ia_have = 0;
				free(h->ia);
				h->ia = h->ia_len > 0 ? xmalloc(h->ia_len) : NULL;
				h->st = h->ia_len > 0 ? MSE_S_IA : MSE_S_DONE;
			}
			break;
		case MSE_S_IA: {
			size_t k = DP_MIN(h->ia_len - h->ia_have, len - pos);
			mse_rc4_crypt(&h->dec, in + pos, h->ia + h->ia_have, k);
			h->ia_have += k;
			pos += k;
			if (h->ia_have == h->ia_len)
				h->st = MSE_S_DONE;
			break;
		}
		case MSE_S_DONE:
		case MSE_S_FAILED:
			break;
		}
		/* Out of input and no state change to make without more. */
		if (pos == before && pos == len && h->st != MSE_S_DONE && r == MSE_AGAIN)
			break;
	}
	*used = pos;
	if (h->st == MSE_S_FAILED)
		return MSE_FAIL;
	if (h->st == MSE_S_DONE) {
		/* The receiver keeps the payload it got; the initiator's copy is no longer needed. */
		if (h->initiator) {
			free(h->ia);
			h->ia = NULL;
			h->ia_len = 0;
		}
		return MSE_DONE;
	}
	return MSE_AGAIN;
}

const char *
mse_hs_error(const struct mse_hs *h)
{
	return h->err[0] != '\0' ? h->err : "no error";
}

uint32_t
mse_hs_selected(const struct mse_hs *h)
{
	return h->selected;
}

void
mse_hs_skey(const struct mse_hs *h, uint8_t skey[20])
{
	memcpy(skey, h->skey, 20);
}

const uint8_t *
mse_hs_ia(const struct mse_hs *h, size_t *len)
{
	*len = h->initiator ? 0 : h->ia_have;
	return h->initiator ? NULL : h->ia;
}

void
mse_hs_ciphers(const struct mse_hs *h, struct mse_rc4 *enc, struct mse_rc4 *dec)
{
	*enc = h->enc;
	*dec = h->dec;
}

void
mse_hs_free(struct mse_hs *h)
{
	if (h == NULL)
		return;
	BN_clear_free(h->x);
	OPENSSL_cleanse(h->s, sizeof h->s);
	free(h->ia);
	free(h);
}

int
mse_sniff_plaintext(const uint8_t *data, size_t len)
{
	size_t n = DP_MIN(len, (size_t)MSE_BT_PREFIX_LEN);
	if (memcmp(data, MSE_BT_PREFIX, n) != 0)
		return 0;
	return n == MSE_BT_PREFIX_LEN ? 1 : -1;
}
