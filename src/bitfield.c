/* bitfield.c: piece bitfields with wire-order bits and a maintained population count. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bitfield.h"
#include "util.h"

size_t
bitfield_bytes(uint32_t nbits)
{
	return ((size_t)nbits + 7) / 8;
}

void
bitfield_init(struct dp_bitfield *bf, uint32_t nbits)
{
	bf->bits = xcalloc(bitfield_bytes(nbits) ? bitfield_bytes(nbits) : 1, 1);
	bf->nbits = nbits;
	bf->count = 0;
}

void
bitfield_free(struct dp_bitfield *bf)
{
	free(bf->bits);
	bf->bits = NULL;
	bf->nbits = bf->count = 0;
}

bool
bitfield_get(const struct dp_bitfield *bf, uint32_t i)
{
	return i < bf->nbits && (bf->bits[i >> 3] & (0x80 >> (i & 7))) != 0;
}

void
bitfield_set(struct dp_bitfield *bf, uint32_t i)
{
	if (i >= bf->nbits || bitfield_get(bf, i))
		return;
	bf->bits[i >> 3] |= (uint8_t)(0x80 >> (i & 7));
	bf->count++;
}

void
bitfield_clear(struct dp_bitfield *bf, uint32_t i)
{
	if (i >= bf->nbits || !bitfield_get(bf, i))
		return;
	bf->bits[i >> 3] &= (uint8_t)~(0x80 >> (i & 7));
	bf->count--;
}

void
bitfield_set_all(struct dp_bitfield *bf)
{
	size_t n = bitfield_bytes(bf->nbits);
	if (n == 0)
		return;
	memset(bf->bits, 0xff, n);
	if (bf->nbits & 7)
		bf->bits[n - 1] = (uint8_t)(0xff << (8 - (bf->nbits & 7)));
	bf->count = bf->nbits;
}

void
bitfield_clear_all(struct dp_bitfield *bf)
{
	memset(bf->bits, 0, bitfield_bytes(bf->nbits));
	bf->count = 0;
}

bool
bitfield_is_full(const struct dp_bitfield *bf)
{
	return bf->count == bf->nbits;
}

bool
bitfield_load(struct dp_bitfield *bf, const uint8_t *bytes, size_t len)
{
	size_t n = bitfield_bytes(bf->nbits);
	if (len != n)
		return false;
	if ((bf->nbits & 7) && (bytes[n - 1] & (uint8_t)(0xff >> (bf->nbits & 7))))
		return false;
	memcpy(bf->bits, bytes, n);
	uint32_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += (uint32_t)__builtin_popcount(bf->bits[i]);
	bf->count = c;
	return true;
}

void
bitfield_copy(struct dp_bitfield *dst, const struct dp_bitfield *src)
{
	size_t n = bitfield_bytes(src->nbits);
	if (dst->nbits != src->nbits) {
		free(dst->bits);
		dst->bits = xcalloc(n ? n : 1, 1);
		dst->nbits = src->nbits;
	}
	memcpy(dst->bits, src->bits, n);
	dst->count = src->count;
}
