/* bitfield.h: a piece bitfield in BitTorrent wire order (bit 0 = high bit of byte 0) with a count. */
#ifndef DP_BITFIELD_H
#define DP_BITFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp_bitfield {
	uint8_t *bits;
	uint32_t nbits;
	uint32_t count;    /* bits set */
};

void bitfield_init(struct dp_bitfield *bf, uint32_t nbits);
void bitfield_free(struct dp_bitfield *bf);
size_t bitfield_bytes(uint32_t nbits);
bool bitfield_get(const struct dp_bitfield *bf, uint32_t i);
void bitfield_set(struct dp_bitfield *bf, uint32_t i);
void bitfield_clear(struct dp_bitfield *bf, uint32_t i);
void bitfield_set_all(struct dp_bitfield *bf);
void bitfield_clear_all(struct dp_bitfield *bf);
bool bitfield_is_full(const struct dp_bitfield *bf);
/* Loads wire bytes; false if the length is wrong or spare trailing bits are set. */
bool bitfield_load(struct dp_bitfield *bf, const uint8_t *bytes, size_t len);
void bitfield_copy(struct dp_bitfield *dst, const struct dp_bitfield *src);

#endif
