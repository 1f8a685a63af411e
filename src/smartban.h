/* smartban.h: finding the peer that sent a bad block: the per-block senders and digests of a
 * piece that failed the hash check with several contributors, judged once the piece passes. */
#ifndef DP_ENGINE_INTERNAL
#error "smartban.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_SMARTBAN_H
#define DP_SMARTBAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SMARTBAN_NONE 0xffu            /* block sender unknown */
#define SMARTBAN_MAX_SENDERS 8
#define SMARTBAN_MAX_RECORDS 64        /* failed attempts remembered per torrent */

struct smartban_record;

struct smartban {
	struct smartban_record *recs;   /* oldest first */
	size_t n;
};

void smartban_init(struct smartban *sb);
void smartban_free(struct smartban *sb);

/*
 * A piece of len bytes failed its hash: from[i] is the index into senders[0..nsenders) of the
 * peer that sent block i (block_size bytes each, the last one shorter), or SMARTBAN_NONE.
 * Returns false, recording nothing, when SMARTBAN_MAX_RECORDS attempts are already pending or
 * the input is unusable (the caller then falls back to plain strikes).
 */
bool smartban_record_failure(struct smartban *sb, uint32_t piece, const uint8_t *data,
    uint32_t len, uint32_t block_size, const uint8_t *from,
    const struct sockaddr_storage *senders, uint8_t nsenders);

/* Failed attempts of this piece waiting for a verdict. */
size_t smartban_pending(const struct smartban *sb, uint32_t piece);

/*
 * The piece passed with data good: every pending attempt of it is judged and dropped. For each
 * sender of an attempt verdict() runs once with guilty = it sent at least one block that differs
 * from the good data. Returns the number of attempts judged.
 */
size_t smartban_judge(struct smartban *sb, uint32_t piece, const uint8_t *good, uint32_t len,
    void (*verdict)(const struct sockaddr_storage *addr, bool guilty, void *arg), void *arg);

/* Forget the attempts of a piece (e.g. it is no longer wanted). */
void smartban_forget(struct smartban *sb, uint32_t piece);

#endif
