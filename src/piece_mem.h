/* piece_mem.h: memory for piece buffers: page-aligned (O_DIRECT writes), carved from 2 MiB
 * arenas the kernel may back with huge pages, so a download's buffers fault rarely. */
#ifndef DP_PIECE_MEM_H
#define DP_PIECE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Empty arenas kept for the next pieces, at most this many bytes; the rest go back to the
 * kernel. */
#define PIECE_MEM_RESERVE (8u << 20)
/* Arena size and alignment; a buffer of at least this many bytes gets a region of its own. */
#define PIECE_MEM_ARENA (2u << 20)

struct piece_mem_stats {
	size_t mapped;     /* bytes of arenas and regions mapped, spare ones included */
	size_t spare;      /* bytes of empty ones kept (at most PIECE_MEM_RESERVE) */
	size_t regions;    /* arenas and regions mapped */
	size_t fallback;   /* buffers from the heap after an mmap failure */
};

/* A buffer of len bytes (len > 0), aligned to at least STORAGE_DIRECT_ALIGN when memory allows;
 * its contents are undefined. Never NULL (out of memory aborts, like xmalloc). Thread-safe. */
uint8_t *piece_mem_alloc(size_t len);
/* Gives back a buffer of piece_mem_alloc with the same len; NULL is a no-op. */
void piece_mem_free(uint8_t *p, size_t len);
void piece_mem_stats(struct piece_mem_stats *out);
/* True when buffers come straight from the heap (AddressSanitizer builds, so it checks them). */
bool piece_mem_plain(void);
/* For tests: with on, every mmap of a new arena or region fails as if the kernel refused it
 * (the heap fallback); thread-safe. */
void piece_mem_fail_maps(bool on);

#endif
