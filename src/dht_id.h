/* dht_id.h: DHT node IDs: XOR distance, bucket index, and BEP 42 (IDs derived from the node's
 * external address with CRC32C, so that one host cannot pick where it lands). Pure. */
#ifndef DP_ENGINE_INTERNAL
#error "dht_id.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_DHT_ID_H
#define DP_DHT_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DHT_ID_LEN 20

/* CRC32C (Castagnoli), as BEP 42 uses it. */
uint32_t dht_crc32c(const uint8_t *data, size_t len);

/* True when addr is exempt from BEP 42 (loopback, RFC 1918, link-local, unique local): such
 * nodes may pick any ID. */
bool dht_addr_is_local(const struct sockaddr *addr);
/* A BEP 42 ID for external address addr: the first 21 bits from CRC32C of the masked address
 * and r (0..255, only its low 3 bits enter the CRC), the last byte r, the rest from rnd (19
 * random bytes; rnd[0]'s low 3 bits fill the third byte). Returns false for another family. */
bool dht_id_make(const struct sockaddr *addr, uint8_t r, const uint8_t rnd[19],
    uint8_t out[DHT_ID_LEN]);
/* True when id is what BEP 42 allows for addr, or addr is exempt (dht_addr_is_local). */
bool dht_id_check(const uint8_t id[DHT_ID_LEN], const struct sockaddr *addr);

/* <0, 0, >0 as a is closer to target than b, as far, farther (XOR metric). */
int dht_id_cmp_distance(const uint8_t target[DHT_ID_LEN], const uint8_t a[DHT_ID_LEN],
    const uint8_t b[DHT_ID_LEN]);
/* Leading bits a and b share (160 when equal). */
int dht_id_common_prefix(const uint8_t a[DHT_ID_LEN], const uint8_t b[DHT_ID_LEN]);
/* Bit i (0 = the most significant) of id. */
int dht_id_bit(const uint8_t id[DHT_ID_LEN], int i);
/* A random ID that shares exactly prefix bits with base (the next bit differs); prefix < 160. */
void dht_id_random_in(const uint8_t base[DHT_ID_LEN], int prefix, const uint8_t rnd[DHT_ID_LEN],
    uint8_t out[DHT_ID_LEN]);

#endif
