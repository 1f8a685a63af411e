/* piece_mem.c: piece buffer memory: 2 MiB-aligned arenas (madvise MADV_HUGEPAGE) cut into slots
 * of one power-of-two size each, reused by size class; a buffer of 2 MiB or more gets a region
 * of its own. Empty arenas and regions are kept up to PIECE_MEM_RESERVE and unmapped beyond. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "piece_mem.h"
#include "storage.h"
#include "util.h"

/* Why arenas: glibc serves a 1 MiB aligned buffer with an mmap of its own and unmaps it when
 * freed, so every piece cost 256 page faults (30-55k a GiB downloaded); an arena that THP backs
 * with a huge page costs one, and a slot freed here is reused without the kernel. */
#define PM_MIN_SHIFT 14                         /* 16 KiB, the smallest slot */
#define PM_ARENA_SHIFT 21
#define PM_CLASSES (PM_ARENA_SHIFT - PM_MIN_SHIFT)  /* slots of 16 KiB .. 1 MiB */
#define PM_MAX_SLOTS (PIECE_MEM_ARENA >> PM_MIN_SHIFT)
#define PM_BUCKETS 256u

#if defined(__SANITIZE_ADDRESS__)
#define PM_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PM_PLAIN 1
#endif
#endif
#ifndef PM_PLAIN
#define PM_PLAIN 0
#endif

/* An arena (class < PM_CLASSES), a region of its own (class PM_CLASSES) or a spare (empty). */
struct piece_mem_region {
	struct piece_mem_region *next, *prev;   /* its class's arenas with a free slot, or the spares */
	struct piece_mem_region *hnext;         /* piece_mem_hash chain, by base */
	uint8_t *base;
	size_t size;
	int cls;
	uint32_t used;
	uint64_t free_bits[PM_MAX_SLOTS / 64];   /* 1 = slot free */
};

static pthread_mutex_t piece_mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct piece_mem_region *piece_mem_partial[PM_CLASSES];
static struct piece_mem_region *piece_mem_spares;
static struct piece_mem_region *piece_mem_hash[PM_BUCKETS];
static struct piece_mem_stats piece_mem_st;
static bool piece_mem_mmap_failed;
static bool piece_mem_maps_fail;        /* piece_mem_fail_maps */

bool
piece_mem_plain(void)
{
	return PM_PLAIN;
}

static size_t
piece_mem_hash_of(const uint8_t *base)
{
	return ((uintptr_t)base >> PM_ARENA_SHIFT) % PM_BUCKETS;
}

static void
piece_mem_list_add(struct piece_mem_region **head, struct piece_mem_region *r)
{
	r->prev = NULL;
	r->next = *head;
	if (*head != NULL)
		(*head)->prev = r;
	*head = r;
}

static void
piece_mem_list_del(struct piece_mem_region **head, struct piece_mem_region *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		*head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->next = r->prev = NULL;
}

static struct piece_mem_region *
piece_mem_find(const uint8_t *base)
{
	for (struct piece_mem_region *r = piece_mem_hash[piece_mem_hash_of(base)]; r != NULL; r = r->hnext)
		if (r->base == base)
			return r;
	return NULL;
}

/* Maps size bytes (a multiple of the arena size) on an arena boundary; NULL on failure. */
static struct piece_mem_region *
piece_mem_map(size_t size)
{
	size_t span = size + PIECE_MEM_ARENA;
	uint8_t *raw = MAP_FAILED;
	if (!piece_mem_maps_fail)
		raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		errno = ENOMEM;
	if (raw == MAP_FAILED) {
		if (!piece_mem_mmap_failed)
			log_warn("piece buffers: mmap of %zu bytes: %s; using the heap", span,
			    strerror(errno));
		piece_mem_mmap_failed = true;
		return NULL;
	}
	uint8_t *base = (uint8_t *)(((uintptr_t)raw + PIECE_MEM_ARENA - 1) &
	    ~(uintptr_t)(PIECE_MEM_ARENA - 1));
	if (base > raw)
		munmap(raw, (size_t)(base - raw));
	if (raw + span > base + size)
		munmap(base + size, (size_t)(raw + span - (base + size)));
	/* Best effort: without THP (or with it off) the arena still saves the mmap per piece. */
	(void)madvise(base, size, MADV_HUGEPAGE);
	struct piece_mem_region *r = xcalloc(1, sizeof *r);
	r->base = base;
	r->size = size;
	size_t h = piece_mem_hash_of(base);
	r->hnext = piece_mem_hash[h];
	piece_mem_hash[h] = r;
	piece_mem_st.mapped += size;
	piece_mem_st.regions++;
	return r;
}

static void
piece_mem_unmap(struct piece_mem_region *r)
{
	for (struct piece_mem_region **pp = &piece_mem_hash[piece_mem_hash_of(r->base)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == r) {
			*pp = r->hnext;
			break;
		}
	}
	munmap(r->base, r->size);
	piece_mem_st.mapped -= r->size;
	piece_mem_st.regions--;
	free(r);
}

/* A spare of exactly size bytes, or a new mapping. */
static struct piece_mem_region *
piece_mem_take(size_t size)
{
	for (struct piece_mem_region *r = piece_mem_spares; r != NULL; r = r->next) {
		if (r->size == size) {
			piece_mem_list_del(&piece_mem_spares, r);
			piece_mem_st.spare -= size;
			return r;
		}
	}
	return piece_mem_map(size);
}

/* An empty region: kept as a spare while the reserve has room, else back to the kernel. The
 * spare list stays short (at most PIECE_MEM_RESERVE / PIECE_MEM_ARENA entries). */
static void
piece_mem_put(struct piece_mem_region *r)
{
	if (piece_mem_st.spare + r->size > PIECE_MEM_RESERVE) {
		piece_mem_unmap(r);
		return;
	}
	r->cls = -1;
	r->used = 0;
	piece_mem_list_add(&piece_mem_spares, r);
	piece_mem_st.spare += r->size;
}

static int
piece_mem_class(size_t len)
{
	int cls = 0;
	while (cls < PM_CLASSES && ((size_t)1 << (PM_MIN_SHIFT + cls)) < len)
		cls++;
	return cls;
}

static uint8_t *
piece_mem_alloc_locked(size_t len)
{
	int cls = piece_mem_class(len);
	if (cls == PM_CLASSES) {
		size_t size = (len + PIECE_MEM_ARENA - 1) & ~(size_t)(PIECE_MEM_ARENA - 1);
		struct piece_mem_region *r = piece_mem_take(size);
		if (r == NULL)
			return NULL;
		r->cls = PM_CLASSES;
		r->used = 1;
		return r->base;
	}
	struct piece_mem_region *a = piece_mem_partial[cls];
	if (a == NULL) {
		if ((a = piece_mem_take(PIECE_MEM_ARENA)) == NULL)
			return NULL;
		uint32_t nslots = PIECE_MEM_ARENA >> (PM_MIN_SHIFT + cls);
		a->cls = cls;
		a->used = 0;
		memset(a->free_bits, 0, sizeof a->free_bits);
		for (uint32_t i = 0; i < nslots; i++)
			a->free_bits[i / 64] |= (uint64_t)1 << (i % 64);
		piece_mem_list_add(&piece_mem_partial[cls], a);
	}
	size_t w = 0;
	while (a->free_bits[w] == 0)
		w++;
	uint32_t slot = (uint32_t)(w * 64) + (uint32_t)__builtin_ctzll(a->free_bits[w]);
	a->free_bits[w] &= ~((uint64_t)1 << (slot % 64));
	a->used++;
	if (a->used == PIECE_MEM_ARENA >> (PM_MIN_SHIFT + cls))
		piece_mem_list_del(&piece_mem_partial[cls], a);   /* full: only piece_mem_hash knows it */
	return a->base + ((size_t)slot << (PM_MIN_SHIFT + cls));
}

/* False when p is not ours (a heap fallback). */
static bool
piece_mem_free_locked(uint8_t *p, size_t len)
{
	int cls = piece_mem_class(len);
	uint8_t *base = cls == PM_CLASSES ? p :
	    (uint8_t *)((uintptr_t)p & ~(uintptr_t)(PIECE_MEM_ARENA - 1));
	struct piece_mem_region *r = piece_mem_find(base);
	if (r == NULL)
		return false;
	if (cls == PM_CLASSES) {
		piece_mem_put(r);
		return true;
	}
	uint32_t nslots = PIECE_MEM_ARENA >> (PM_MIN_SHIFT + cls);
	uint32_t slot = (uint32_t)((size_t)(p - base) >> (PM_MIN_SHIFT + cls));
	if (r->used == nslots)
		piece_mem_list_add(&piece_mem_partial[cls], r);   /* was full */
	r->free_bits[slot / 64] |= (uint64_t)1 << (slot % 64);
	if (--r->used == 0) {
		piece_mem_list_del(&piece_mem_partial[cls], r);
		piece_mem_put(r);
	}
	return true;
}

uint8_t *
piece_mem_alloc(size_t len)
{
	uint8_t *p = NULL;
	if (!PM_PLAIN) {
		pthread_mutex_lock(&piece_mem_lock);
		p = piece_mem_alloc_locked(len);
		if (p == NULL)
			piece_mem_st.fallback++;
		pthread_mutex_unlock(&piece_mem_lock);
		if (p != NULL)
			return p;
	}
	void *q = NULL;
	if (posix_memalign(&q, STORAGE_DIRECT_ALIGN, len) != 0)
		return xmalloc(len);   /* still fine, written through the page cache */
	return q;
}

void
piece_mem_free(uint8_t *p, size_t len)
{
	if (p == NULL)
		return;
	if (!PM_PLAIN) {
		pthread_mutex_lock(&piece_mem_lock);
		bool ours = piece_mem_free_locked(p, len);
		pthread_mutex_unlock(&piece_mem_lock);
		if (ours)
			return;
	}
	free(p);
}

void
piece_mem_fail_maps(bool on)
{
	pthread_mutex_lock(&piece_mem_lock);
	piece_mem_maps_fail = on;
	pthread_mutex_unlock(&piece_mem_lock);
}

void
piece_mem_stats(struct piece_mem_stats *out)
{
	pthread_mutex_lock(&piece_mem_lock);
	*out = piece_mem_st;
	pthread_mutex_unlock(&piece_mem_lock);
}
