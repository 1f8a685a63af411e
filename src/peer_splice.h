/* peer_splice.h: PIECE blocks for a plaintext TCP socket batched through a pipe: headers and
 * page-cache pages gathered in the pipe, then moved to the socket together. */
#ifndef DP_PEER_SPLICE_H
#define DP_PEER_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "peer_piece.h"

/* A pipe and what it holds. Zeroed with rd = wr = -1 it is closed. */
struct peer_splice {
	int rd, wr;
	size_t queued;        /* bytes in the pipe, not yet on the socket */
	unsigned slots;       /* the pipe's buffers (one a page, or one a write) */
	unsigned used;        /* buffers the blocks queued since it was last empty may take */
	bool grow_tried;      /* peer_splice_grow was called */
	bool grown;           /* it grew: one of the few big pipes (PEER_SPLICE_GROWN_MAX) */
};

void peer_splice_init(struct peer_splice *ps);
/* Opens the pipe. -1 (errno; ENOSYS when DOWNPOUR_NO_SPLICE is set in the environment) when
 * there is none or it is too small for a block: the caller keeps libevent's path. */
int peer_splice_open(struct peer_splice *ps);
void peer_splice_close(struct peer_splice *ps);
/* Makes the pipe bigger (fewer, longer batches), for a peer whose socket took a full pipe at
 * once; tried once a pipe, and only while few pipes are big (the user's pipe pages are shared by
 * all peers). Whether it grew (false: done before, enough big pipes, or the kernel refused the
 * size, and the pipe is as it was). */
bool peer_splice_grow(struct peer_splice *ps);
bool peer_splice_is_open(const struct peer_splice *ps);
/* Whether the header and [offset, offset+len) of c surely fit in the pipe now. */
bool peer_splice_fits(const struct peer_splice *ps, const struct peer_piece *c, uint32_t offset,
    uint32_t len);
/* How many blocks like [offset, offset+len) of c, with their headers, surely fit in the pipe
 * now. */
unsigned peer_splice_room(const struct peer_splice *ps, const struct peer_piece *c,
    uint32_t offset, uint32_t len);
/* Bytes the header pipe holds for peer_splice_add to take, at most: */
#define PEER_SPLICE_STAGE_MAX 1024u
/* Stages count headers of hlen bytes each, those of the blocks likely to be added next, in
 * order, by one write (what an earlier stage left goes first). peer_splice_add then takes a
 * header from there when it is the next one staged, byte for byte, and writes it when not.
 * Returns how many were staged: 0 when there is no header pipe (headers are written). */
unsigned peer_splice_stage(const uint8_t *hdrs, unsigned count, size_t hlen);
/* Bytes staged that no block took yet. */
size_t peer_splice_staged(void);
/* Closes the header pipe (the engine's peers are gone); a later stage opens a new one. */
void peer_splice_release(void);
/* Queues hlen bytes of header, then [offset, offset+len) of c: its bytes by copy, its file spans
 * by reference to the page cache, pad files as zeros. The pipe keeps the pages, so c's reference
 * may go once this returns. 0, or -1 with errno: ENODATA when a file ended before the span (it
 * shrank after it was opened); the pipe then holds part of a block and only closing is left. */
int peer_splice_add(struct peer_splice *ps, const uint8_t *hdr, size_t hlen,
    const struct peer_piece *c, uint32_t offset, uint32_t len);
/* Moves up to max queued bytes to the socket: the count moved, or -1 with errno (EAGAIN: the
 * socket is full). */
ssize_t peer_splice_send(struct peer_splice *ps, int sock, size_t max);
/* Bytes every pipe of the process moved to sockets so far. */
uint64_t peer_splice_sent_total(void);

#endif
