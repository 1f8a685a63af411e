/* dht_token.c: write tokens: SHA-1 of a rotating secret and the asker's IP. */
#include "config.h"

#include <string.h>
#include <netinet/in.h>

#include "dht_token.h"
#include "disk.h"

void
dht_tokens_init(struct dht_tokens *t, const uint8_t rnd[DHT_TOKEN_SECRET_LEN], uint64_t now_ms)
{
	memcpy(t->secret, rnd, DHT_TOKEN_SECRET_LEN);
	memcpy(t->previous, rnd, DHT_TOKEN_SECRET_LEN);
	t->rotated_ms = now_ms;
}

bool
dht_tokens_rotate(struct dht_tokens *t, const uint8_t rnd[DHT_TOKEN_SECRET_LEN], uint64_t now_ms)
{
	if (now_ms - t->rotated_ms < DHT_TOKEN_ROTATE_MS)
		return false;
	memcpy(t->previous, t->secret, DHT_TOKEN_SECRET_LEN);
	memcpy(t->secret, rnd, DHT_TOKEN_SECRET_LEN);
	t->rotated_ms = now_ms;
	return true;
}

static void
dht_token_with(const uint8_t secret[DHT_TOKEN_SECRET_LEN], const struct sockaddr *addr,
    uint8_t out[DHT_TOKEN_LEN])
{
	uint8_t in[DHT_TOKEN_SECRET_LEN + 16], md[20];
	size_t n = DHT_TOKEN_SECRET_LEN;
	memcpy(in, secret, DHT_TOKEN_SECRET_LEN);
	if (addr->sa_family == AF_INET) {
		memcpy(in + n, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		n += 4;
	} else if (addr->sa_family == AF_INET6) {
		memcpy(in + n, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
		n += 16;
	}
	disk_sha1(in, n, md);
	memcpy(out, md, DHT_TOKEN_LEN);
}

void
dht_token_make(const struct dht_tokens *t, const struct sockaddr *addr, uint8_t out[DHT_TOKEN_LEN])
{
	dht_token_with(t->secret, addr, out);
}

bool
dht_token_check(const struct dht_tokens *t, const struct sockaddr *addr, const uint8_t *token,
    size_t len)
{
	if (len != DHT_TOKEN_LEN)
		return false;
	uint8_t want[DHT_TOKEN_LEN];
	dht_token_with(t->secret, addr, want);
	if (memcmp(want, token, DHT_TOKEN_LEN) == 0)
		return true;
	dht_token_with(t->previous, addr, want);
	return memcmp(want, token, DHT_TOKEN_LEN) == 0;
}
