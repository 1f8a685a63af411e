/* mse.h: Message Stream Encryption / Protocol Encryption (MSE/PE): the Diffie-Hellman key
 * exchange, the SKEY/VC/crypto_provide negotiation and RC4, as a pure state machine (bytes in,
 * bytes out) with no I/O, so it is fuzzed and tested against itself. */
#ifndef DP_ENGINE_INTERNAL
#error "mse.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_MSE_H
#define DP_MSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* crypto_provide / crypto_select bits. */
#define MSE_CRYPTO_PLAIN 0x01u
#define MSE_CRYPTO_RC4 0x02u

/* Spec bounds: Ya/Yb are 96 bytes; PadA..PadD at most 512 bytes. */
#define MSE_KEY_LEN 96u
#define MSE_PAD_MAX 512u
#define MSE_IA_MAX 65535u

/* RC4 keyed for MSE: the first 1024 bytes of keystream are discarded. Our own RC4 (not
 * OpenSSL's): OpenSSL 3 offers RC4 only in its legacy provider, loading it enables every
 * legacy algorithm process-wide (the TLS of trackers included) and fails where the module is
 * not installed; this loop runs as fast as OpenSSL's on this machine (see mse_rc4_crypt). */
struct mse_rc4 {
	uint8_t s[256];
	uint8_t i, j;
};
void mse_rc4_init(struct mse_rc4 *r, const uint8_t *key, size_t keylen);
/* out may equal in. */
void mse_rc4_crypt(struct mse_rc4 *r, const uint8_t *in, uint8_t *out, size_t n);

enum mse_status {
	MSE_AGAIN,     /* needs more input */
	MSE_DONE,      /* negotiated: read the result, the rest of the input is payload */
	MSE_FAIL,      /* not MSE or a broken handshake: mse_hs_error() says why */
};

struct mse_params {
	bool initiator;
	/* initiator: the methods offered; receiver: the methods accepted */
	uint32_t crypto;
	/* receiver: with both offered and accepted, choose plaintext (else RC4) */
	bool prefer_plain;
	/* initiator: SKEY, the info hash of the torrent it wants */
	uint8_t skey[20];
	/* initiator: the initial payload sent encrypted with the handshake (may be empty) */
	const uint8_t *ia;
	size_t ia_len;
	/* receiver: finds the info hash ih with SHA1("req2", ih) == req2; false when unknown */
	bool (*find_skey)(void *arg, const uint8_t req2[20], uint8_t skey[20]);
	void *find_arg;
	/* tests and fuzzing only: a fixed private key (20 bytes) and no padding */
	const uint8_t *fixed_secret;
};

struct mse_hs;

/* A new handshake; the initiator's first bytes (Ya, PadA) are in out already. */
struct mse_hs *mse_hs_new(const struct mse_params *p, struct dp_buf *out);
/* Consumes input (*used bytes of it) and appends what to send to out. After MSE_DONE, the
 * input past *used is payload: RC4 (decrypt with mse_hs_take_ciphers' dec) or plaintext. */
enum mse_status mse_hs_feed(struct mse_hs *h, const uint8_t *in, size_t len, size_t *used,
    struct dp_buf *out);
const char *mse_hs_error(const struct mse_hs *h);
/* After MSE_DONE: the method chosen (MSE_CRYPTO_PLAIN or MSE_CRYPTO_RC4), the torrent's info
 * hash (the receiver learns it from req2), and the initiator's payload (receiver, decrypted). */
uint32_t mse_hs_selected(const struct mse_hs *h);
void mse_hs_skey(const struct mse_hs *h, uint8_t skey[20]);
const uint8_t *mse_hs_ia(const struct mse_hs *h, size_t *len);
/* The RC4 states for the stream after the handshake: enc for what we send, dec for what we
 * read (meaningful only when RC4 was selected). */
void mse_hs_ciphers(const struct mse_hs *h, struct mse_rc4 *enc, struct mse_rc4 *dec);
void mse_hs_free(struct mse_hs *h);

/* SHA1("req2", info_hash): what a receiver looks torrents up by. */
void mse_req2_hash(const uint8_t info_hash[20], uint8_t out[20]);

/* 20 bytes that open a plaintext BitTorrent handshake. */
#define MSE_BT_PREFIX "\x13" "BitTorrent protocol"
#define MSE_BT_PREFIX_LEN 20u
/* For an incoming stream's first bytes: 1 when they open a plaintext BitTorrent handshake, 0
 * when they cannot (MSE or garbage), -1 when it is too early to tell. */
int mse_sniff_plaintext(const uint8_t *data, size_t len);

#endif
