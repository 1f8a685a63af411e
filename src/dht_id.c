/* dht_id.c: DHT node IDs: the XOR metric and BEP 42's address-derived IDs (CRC32C). */
#include "config.h"

#include <string.h>
#include <netinet/in.h>

#include "dht_id.h"

/* Reflected Castagnoli polynomial. */
#define DHT_CRC32C_POLY 0x82f63b78u

static uint32_t dht_crc_table[256];
static bool dht_crc_ready;

static void
dht_crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ DHT_CRC32C_POLY : c >> 1;
		dht_crc_table[i] = c;
	}
	dht_crc_ready = true;
}

uint32_t
dht_crc32c(const uint8_t *data, size_t len)
{
	/* Filled on first use; every caller runs on one thread at a time or computes the same
	 * table, so a race only writes identical values. */
	if (!dht_crc_ready)
		dht_crc_init();
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < len; i++)
		c = dht_crc_table[(c ^ data[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

bool
dht_addr_is_local(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET) {
		const uint8_t *a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
		return a[0] == 10 || a[0] == 127 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		    (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254);
	}
	if (addr->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		const uint8_t *a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			struct sockaddr_in s4;
			memset(&s4, 0, sizeof s4);
			s4.sin_family = AF_INET;
			memcpy(&s4.sin_addr, a + 12, 4);
			return dht_addr_is_local((const struct sockaddr *)&s4);
		}
		return IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_LINKLOCAL(a6) || (a[0] & 0xfe) == 0xfc;
	}
	return false;
}

/* The CRC of the masked address with r's low 3 bits in the top of the first byte. */
static bool
dht_id_crc(const struct sockaddr *addr, uint8_t r, uint32_t *crc)
{
	static const uint8_t v4_mask[4] = { 0x03, 0x0f, 0x3f, 0xff };
	static const uint8_t v6_mask[8] = { 0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff };
	uint8_t ip[8];
	size_t n;
	const uint8_t *mask;
	if (addr->sa_family == AF_INET) {
		memcpy(ip, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		n = 4;
		mask = v4_mask;
	} else if (addr->sa_family == AF_INET6) {
		memcpy(ip, &((const struct sockaddr_in6 *)addr)->sin6_addr, 8);
		n = 8;
		mask = v6_mask;
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++)
		ip[i] &= mask[i];
	ip[0] |= (uint8_t)((r & 7) << 5);
	*crc = dht_crc32c(ip, n);
	return true;
}

bool
dht_id_make(const struct sockaddr *addr, uint8_t r, const uint8_t rnd[19],
    uint8_t out[DHT_ID_LEN])
{
	uint32_t crc;
	if (!dht_id_crc(addr, r, &crc))
		return false;
	memcpy(out, rnd, 19);
	out[0] = (uint8_t)(crc >> 24);
	out[1] = (uint8_t)(crc >> 16);
	out[2] = (uint8_t)(((crc >> 8) & 0xf8) | (rnd[0] & 7));
	out[19] = r;
	return true;
}

bool
dht_id_check(const uint8_t id[DHT_ID_LEN], const struct sockaddr *addr)
{
	if (dht_addr_is_local(addr))
		return true;
	uint32_t crc;
	if (!dht_id_crc(addr, id[19], &crc))
		return false;
	return id[0] == (uint8_t)(crc >> 24) && id[1] == (uint8_t)(crc >> 16) &&
	    (id[2] & 0xf8) == (uint8_t)((crc >> 8) & 0xf8);
}

int
dht_id_cmp_distance(const uint8_t target[DHT_ID_LEN], const uint8_t a[DHT_ID_LEN],
    const uint8_t b[DHT_ID_LEN])
{
	for (size_t i = 0; i < DHT_ID_LEN; i++) {
		uint8_t da = target[i] ^ a[i], db = target[i] ^ b[i];
		if (da != db)
			return da < db ? -1 : 1;
	}
	return 0;
}

int
dht_id_common_prefix(const uint8_t a[DHT_ID_LEN], const uint8_t b[DHT_ID_LEN])
{
	for (int i = 0; i < DHT_ID_LEN; i++) {
		uint8_t x = a[i] ^ b[i];
		if (x != 0) {
			int bits = 0;
			while ((x & 0x80) == 0) {
				x = (uint8_t)(x << 1);
				bits++;
			}
			return i * 8 + bits;
		}
	}
	return DHT_ID_LEN * 8;
}

int
dht_id_bit(const uint8_t id[DHT_ID_LEN], int i)
{
	return (id[i / 8] >> (7 - i % 8)) & 1;
}

void
dht_id_random_in(const uint8_t base[DHT_ID_LEN], int prefix, const uint8_t rnd[DHT_ID_LEN],
    uint8_t out[DHT_ID_LEN])
{
	memcpy(out, rnd, DHT_ID_LEN);
	int whole = prefix / 8, rest = prefix % 8;
	memcpy(out, base, (size_t)whole);
	uint8_t keep = (uint8_t)(0xff00 >> rest);     /* the rest bits of byte whole from base */
	uint8_t flip = (uint8_t)(0x80 >> rest);       /* bit prefix: the opposite of base's */
	out[whole] = (uint8_t)((base[whole] & keep) | (~base[whole] & flip) |
	    (rnd[whole] & (uint8_t)~(keep | flip)));
}
