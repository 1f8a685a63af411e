/* peer_splice.h: PIECE blocks for a plaintext TCP socket batched through a pipe: headers and
 * page-cache pages gathered, put into the pipe by one vmsplice, then moved to the socket
 * together. */
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
	int error;            /* a commit failed (errno): the pipe holds part of a batch */
};

/* The unsent bytes a socket served through a pipe may hold (TCP_NOTSENT_LOWAT); the kernel
 * says it is writable once fewer than half of them wait. Beyond what is in flight, a 1 Gbit/s
 * link drains that half in 1 ms: time enough for the loop to splice the next batch, which the
 * pipe already holds. */
#define PEER_SPLICE_UNSENT (256u * 1024u)

/* Bounds the bytes sock's kernel queue holds unsent to PEER_SPLICE_UNSENT, for a plaintext TCP
 * socket whose blocks go through a pipe (encrypted and uTP peers are written by libevent). 0,
 * or -1 with errno (the socket keeps the kernel's default, unbounded: nothing else changes). */
int peer_splice_bound_unsent(int sock);
/* Sockets bounded so far: for tests. */
uint64_t peer_splice_bounded_total(void);

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
/* Unmaps the file of this device and inode if it is kept mapped for serving, and forgets
 * that mmap refused it: storage let go of it (closed, moved, renamed, deleted: a mapping would
 * keep a deleted file's blocks on the disk). Other files' mappings stay; a later batch maps it
 * again. The engine hands it to storage_set_release_hook; on the loop only. */
void peer_splice_forget_file(dev_t dev, ino_t ino);
/* Files mapped now (at most a few), mmap calls that made a mapping and that were refused so
 * far: for tests. */
unsigned peer_splice_mapped_files(void);
uint64_t peer_splice_maps_made(void);
uint64_t peer_splice_maps_refused(void);
/* Lets go of the process's header pages and mappings (the engine's peers are gone). */
void peer_splice_release(void);
/* Gathers hlen bytes of header, then [offset, offset+len) of c: its bytes by copy, its file
 * spans by reference to the page cache (mapped, or spliced when a file cannot be), pad files as
 * zeros. What is gathered goes into the pipe by peer_splice_commit (part of it before, when
 * bytes must be written or spliced after it); the mappings, not c, hold the pages until then,
 * so c's reference may go once this returns. 0, or -1 with errno: ENODATA when a file ended
 * before the span (it shrank after it was opened); the pipe then holds part of a block and
 * only closing is left. */
int peer_splice_add(struct peer_splice *ps, const uint8_t *hdr, size_t hlen,
    const struct peer_piece *c, uint32_t offset, uint32_t len);
/* Puts what peer_splice_add gathered into the pipe (ps->queued counts what went in), and ends
 * the batch: called before the loop turns. 0, or -1 with errno (ENODATA: a mapped file shrank
 * since the batch checked it; the pipe holds part of the batch and only closing is left). */
int peer_splice_commit(struct peer_splice *ps);
/* Moves up to max queued bytes to the socket: the count moved, or -1 with errno (EAGAIN: the
 * socket is full). What was gathered and not committed is committed first. */
ssize_t peer_splice_send(struct peer_splice *ps, int sock, size_t max);
/* Bytes every pipe of the process moved to sockets so far. */
uint64_t peer_splice_sent_total(void);

#endif
