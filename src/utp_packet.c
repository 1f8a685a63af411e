/* utp_packet.c: BEP 29 header and extension encoding and decoding (big-endian fields, the
 * linked extension list, the selective-ACK bitmask in reverse bit order within each byte). */
#include "config.h"

#include <string.h>

#include "utp_packet.h"

static uint16_t
utp_packet_get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t
utp_packet_get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void
utp_packet_put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void
utp_packet_put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

bool
utp_packet_looks_like(const uint8_t *d, size_t len)
{
	return len >= UTP_HEADER_LEN && (d[0] & 0x0f) == UTP_VERSION && (d[0] >> 4) <= UTP_ST_SYN;
}

bool
utp_packet_parse(const uint8_t *d, size_t len, struct utp_header *h, size_t *payload_off)
{
	if (!utp_packet_looks_like(d, len))
		return false;
	memset(h, 0, sizeof *h);
	h->type = d[0] >> 4;
	h->conn_id = utp_packet_get16(d + 2);
	h->ts_us = utp_packet_get32(d + 4);
	h->ts_diff_us = utp_packet_get32(d + 8);
	h->wnd = utp_packet_get32(d + 12);
	h->seq = utp_packet_get16(d + 16);
	h->ack = utp_packet_get16(d + 18);
	size_t pos = UTP_HEADER_LEN;
	/* Each extension takes at least 2 bytes: the chain ends within len. */
	for (uint8_t ext = d[1]; ext != 0;) {
		if (len - pos < 2)
			return false;
		uint8_t next = d[pos], elen = d[pos + 1];
		pos += 2;
		if (len - pos < elen)
			return false;
		if (ext == UTP_EXT_SACK) {
			/* BEP 29 says a multiple of 4, but libtorrent sends any length (23 bytes seen):
			 * refusing those dropped its ACKs and stalled the stream. */
			if (elen == 0)
				return false;
			h->sack_len = elen < UTP_SACK_MAX ? elen : UTP_SACK_MAX;
			memcpy(h->sack, d + pos, h->sack_len);
		}
		pos += elen;
		ext = next;
	}
	if (h->type == UTP_ST_DATA && pos == len)
		return false;
	*payload_off = pos;
	return true;
}

size_t
utp_packet_header_len(const struct utp_header *h)
{
	return UTP_HEADER_LEN + (h->sack_len > 0 ? 2u + h->sack_len : 0u);
}

size_t
utp_packet_write(const struct utp_header *h, uint8_t *out)
{
	out[0] = (uint8_t)(h->type << 4 | UTP_VERSION);
	out[1] = h->sack_len > 0 ? UTP_EXT_SACK : 0;
	utp_packet_put16(out + 2, h->conn_id);
	utp_packet_put32(out + 4, h->ts_us);
	utp_packet_put32(out + 8, h->ts_diff_us);
	utp_packet_put32(out + 12, h->wnd);
	utp_packet_put16(out + 16, h->seq);
	utp_packet_put16(out + 18, h->ack);
	if (h->sack_len == 0)
		return UTP_HEADER_LEN;
	out[UTP_HEADER_LEN] = 0;
	out[UTP_HEADER_LEN + 1] = h->sack_len;
	memcpy(out + UTP_HEADER_LEN + 2, h->sack, h->sack_len);
	return UTP_HEADER_LEN + 2u + h->sack_len;
}

bool
utp_packet_sack_has(const struct utp_header *h, uint16_t seq)
{
	uint16_t i = (uint16_t)(seq - h->ack - 2);
	if (i >= (unsigned)h->sack_len * 8)
		return false;
	return (h->sack[i / 8] >> (i % 8)) & 1;
}
