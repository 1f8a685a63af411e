/* fuzz_picker.c: libFuzzer target driving the piece picker with what peers control (bitfields,
 * HAVEs, block piece/offset/length, chokes, disconnects) and checking every pick against a model. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bitfield.h"
#include "picker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_PIECES 96
#define FZ_MAX_BLOCKS 5
#define FZ_PEERS 4

struct fz_peer {
	struct dp_bitfield has;
	bool added;
	bool out[FZ_MAX_PIECES][FZ_MAX_BLOCKS];
};

struct fz {
	const uint8_t *d;
	size_t n, i;
};

static uint8_t
fz_byte(struct fz *f)
{
	return f->i < f->n ? f->d[f->i++] : 0;
}

static uint32_t
fz_u16(struct fz *f)
{
	uint32_t hi = fz_byte(f);
	return hi << 8 | fz_byte(f);
}

static void
fz_check(bool ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size, 0 };
	uint32_t np = fz_byte(&f) % FZ_MAX_PIECES + 1;
	uint32_t nblocks = fz_byte(&f) % FZ_MAX_BLOCKS + 1;
	uint32_t plen = nblocks * DP_BLOCK_SIZE - (fz_byte(&f) % 2 ? 1000 : 0);
	uint64_t total = (uint64_t)(np - 1) * plen + 1 + fz_u16(&f) % plen;
	struct picker *p = picker_new(np, plen, total, fz_u16(&f));
	static struct fz_peer peers[FZ_PEERS];

	memset(peers, 0, sizeof peers);
	for (int k = 0; k < FZ_PEERS; k++)
		bitfield_init(&peers[k].has, np);

	while (f.i < f.n) {
		uint8_t op = fz_byte(&f);
		struct fz_peer *sp = &peers[op % FZ_PEERS];
		uint32_t piece = fz_u16(&f);
		switch ((op >> 2) % 10) {
		case 0: {	/* pick */
			struct picker_block out[8];
			size_t max = fz_byte(&f) % 8 + 1;
			bool fast = op & 0x80;
			size_t got;
			if (op & 0x40) {
				uint32_t list[3] = { piece % (np + 2), fz_byte(&f), fz_byte(&f) };
				got = picker_pick_from(p, list, 3, &sp->has, sp, out, max);
			} else {
				got = picker_pick(p, &sp->has, sp, fast, out, max);
			}
			fz_check(got <= max);
			bool eg = picker_in_endgame(p);
			for (size_t i = 0; i < got; i++) {
				uint32_t pc = out[i].piece, b = out[i].offset / DP_BLOCK_SIZE;
				fz_check(pc < np && bitfield_get(&sp->has, pc));
				fz_check(!picker_have(p, pc) && picker_priority(p, pc) != PRIO_SKIP);
				fz_check(out[i].offset % DP_BLOCK_SIZE == 0);
				fz_check(b < picker_blocks_in_piece(p, pc));
				fz_check(out[i].length == picker_block_length(p, pc, b));
				fz_check(!sp->out[pc][b]);
				if (!eg)
					for (int o = 0; o < FZ_PEERS; o++)
						fz_check(!peers[o].out[pc][b]);
				sp->out[pc][b] = true;
			}
			break;
		}
		case 1:
		case 2: {	/* a block arrives, maybe with a bad offset or length */
			uint32_t off = fz_u16(&f) * (op & 0x80 ? 1 : DP_BLOCK_SIZE / 16) % (plen + 1);
			uint32_t len = fz_u16(&f) % (DP_BLOCK_SIZE + 2);
			if (op & 0x40) {
				off = off / DP_BLOCK_SIZE * DP_BLOCK_SIZE;
				len = picker_block_length(p, piece % np, off / DP_BLOCK_SIZE);
				piece %= np;
			}
			const void *cancel[FZ_PEERS];
			size_t nc = 0;
			bool done = false;
			bool ok = picker_block_received(p, piece, off, len, sp, cancel, FZ_PEERS, &nc,
			    &done);
			if (!ok) {
				fz_check(nc == 0 && !done);
				break;
			}
			uint32_t b = off / DP_BLOCK_SIZE;
			fz_check(piece < np && len == picker_block_length(p, piece, b));
			sp->out[piece][b] = false;
			for (size_t c = 0; c < nc; c++) {
				struct fz_peer *cp = (struct fz_peer *)cancel[c];
				fz_check(cp != sp && cp->out[piece][b]);
				cp->out[piece][b] = false;
			}
			for (int o = 0; o < FZ_PEERS; o++)
				fz_check(!peers[o].out[piece][b]);
			if (done) {
				if (op & 0x80)
					picker_piece_failed(p, piece);
				else
					picker_piece_verified(p, piece);
			}
			break;
		}
		case 3:		/* reject / timeout of one request */
			picker_block_abandoned(p, piece, fz_u16(&f), sp);
			if (piece < np) {
				/* Only a valid offset of an outstanding block changes anything: resync. */
				for (uint32_t b = 0; b < FZ_MAX_BLOCKS; b++)
					if (sp->out[piece][b])
						picker_block_abandoned(p, piece, b * DP_BLOCK_SIZE, sp);
				memset(sp->out[piece], 0, sizeof sp->out[piece]);
			}
			break;
		case 4:		/* choke or disconnect */
			picker_peer_abandon_all(p, sp);
			memset(sp->out, 0, sizeof sp->out);
			if (op & 0x80 && sp->added) {
				picker_peer_bitfield_remove(p, &sp->has);
				bitfield_clear_all(&sp->has);
				sp->added = false;
			}
			break;
		case 5: {	/* a bitfield from the wire */
			uint8_t bytes[FZ_MAX_PIECES / 8 + 1];
			size_t nb = bitfield_bytes(np);
			for (size_t i = 0; i < nb; i++)
				bytes[i] = fz_byte(&f);
			if (np & 7)
				bytes[nb - 1] &= (uint8_t)(0xff << (8 - (np & 7)));
			if (sp->added)
				picker_peer_bitfield_remove(p, &sp->has);
			fz_check(bitfield_load(&sp->has, bytes, nb));
			picker_peer_bitfield_add(p, &sp->has);
			sp->added = true;
			break;
		}
		case 6:		/* HAVE */
			if (piece < np && !bitfield_get(&sp->has, piece) && sp->added) {
				bitfield_set(&sp->has, piece);
				picker_peer_have(p, piece);
			} else {
				picker_peer_have(p, piece >= np ? piece : np);
			}
			break;
		case 7:
			picker_set_priority(p, piece % (np + 1), (enum picker_prio)(op >> 6));
			break;
		case 8:
			picker_set_sequential(p, op & 0x80);
			break;
		case 9:
			if (op & 0x80)
				picker_seed_add(p);
			else
				picker_seed_remove(p);
			break;
		}
		/* Cheap global facts. */
		fz_check(picker_have_count(p) <= np);
		if (picker_complete(p))
			fz_check(!picker_in_endgame(p));
	}
	for (int k = 0; k < FZ_PEERS; k++)
		bitfield_free(&peers[k].has);
	picker_free(p);
	return 0;
}
