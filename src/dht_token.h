/* dht_token.h: announce_peer write tokens (BEP 5): a hash of the asker's IP and a secret that
 * changes every 5 minutes; a token is accepted while its secret is current or the previous one
 * (5 to 10 minutes). Pure: time and randomness come in as arguments. */
#ifndef DP_ENGINE_INTERNAL
#error "dht_token.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DHT_TOKEN_H
#define DP_DHT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DHT_TOKEN_LEN 8
#define DHT_TOKEN_SECRET_LEN 16
#define DHT_TOKEN_ROTATE_MS (5u * 60u * 1000u)

struct dht_tokens {
	uint8_t secret[DHT_TOKEN_SECRET_LEN];
	uint8_t previous[DHT_TOKEN_SECRET_LEN];
	uint64_t rotated_ms;
};

void dht_tokens_init(struct dht_tokens *t, const uint8_t rnd[DHT_TOKEN_SECRET_LEN],
    uint64_t now_ms);
/* Replaces the secret (the current one becomes the previous) when it is DHT_TOKEN_ROTATE_MS
 * old; true when it did. */
bool dht_tokens_rotate(struct dht_tokens *t, const uint8_t rnd[DHT_TOKEN_SECRET_LEN],
    uint64_t now_ms);
/* The token for the address's IP (the port does not enter: BEP 5 binds it to the IP). */
void dht_token_make(const struct dht_tokens *t, const struct sockaddr *addr,
    uint8_t out[DHT_TOKEN_LEN]);
bool dht_token_check(const struct dht_tokens *t, const struct sockaddr *addr,
    const uint8_t *token, size_t len);

#endif
