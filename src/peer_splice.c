/* peer_splice.c: PIECE blocks for a plaintext TCP socket batched through a pipe. libevent sends
 * a file segment by one sendfile and the header before it by one writev, so each 16 KiB block
 * cost two pushes through TCP (and, on loopback, the receiver's processing of each); here each
 * block costs a splice of its header and a splice of its pages into the pipe, and one splice
 * moves the batch to the socket: one TCP push for ten to forty blocks. The headers of a batch
 * are staged by one write in a header pipe, from where each moves as a part of that one page. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer_splice.h"
#include "util.h"

/* 64 pages: about ten blocks a batch. Pipes this size count against the user's pipe pages
 * (fs/pipe-user-pages-soft, 16384 by default); past that the kernel refuses the size and the
 * peer keeps libevent's path. */
#define PEER_SPLICE_PIPE_SIZE (256u * 1024u)
/* A peer whose socket takes a full pipe at once gets 256 pages (fs/pipe-max-size, 1 MiB by
 * default, is what an unprivileged user may ask): about forty blocks a batch. Slow peers keep
 * the small one, so the user's pipe pages go to the peers they save CPU for. */
#define PEER_SPLICE_PIPE_MAX (1024u * 1024u)
/* Pipes grown at once, at most: 16 x 256 pages is a quarter of fs/pipe-user-pages-soft. Past
 * that limit the kernel refuses every size, and every new pipe of the user (ours and other
 * programs') gets 2 pages: unbounded, 64 fast peers would leave no pipe for any other peer. */
#define PEER_SPLICE_GROWN_MAX 16u
#define PEER_SPLICE_PAGE 4096u
/* An empty pipe takes any block a peer may ask for (128 KiB: 32 pages, one more at each of up
 * to 8 files' starts and at the header: 49 buffers at most); a smaller one is not used. */
#define PEER_SPLICE_MIN_SLOTS 64u
/* A header pipe that could not be opened is asked for again after this long. */
#define PEER_SPLICE_HOPEN_RETRY_MS 1000u

static uint64_t peer_splice_sent;
static unsigned peer_splice_grown;   /* pipes now at PEER_SPLICE_PIPE_MAX */

/* The header pipe, one for the process (the loop fills one peer's pipe at a time). A header
 * written into a peer's pipe after a file's pages takes a fresh page (it cannot join a page of
 * the page cache): that allocation and the write cost more than the splice of the block's 16 KiB
 * (perf: 20 % of the seeder, 8 %); a splice from here takes a part of the staged page. stage
 * mirrors what the header pipe holds: a header is taken from it only when it is the very bytes
 * the block needs, so a stale stage (a cancelled request, another peer's) costs a drain, never
 * a wrong byte. */
static int peer_splice_hrd = -1, peer_splice_hwr = -1;
static bool peer_splice_hfailed;
/* No pipe could be opened (EMFILE at a busy client's fd limit, a passing state): none is asked
 * for again before then, so each batch does not cost a failed pipe2 and a log line. */
static uint64_t peer_splice_hopen_after_ms;
static uint8_t peer_splice_stage_buf[PEER_SPLICE_STAGE_MAX];
static size_t peer_splice_stage_at, peer_splice_stage_len;

uint64_t
peer_splice_sent_total(void)
{
	return peer_splice_sent;
}

void
peer_splice_init(struct peer_splice *ps)
{
	ps->rd = ps->wr = -1;
	ps->queued = 0;
	ps->slots = ps->used = 0;
	ps->grow_tried = ps->grown = false;
}

bool
peer_splice_is_open(const struct peer_splice *ps)
{
	return ps->rd >= 0;
}

int
peer_splice_open(struct peer_splice *ps)
{
	if (getenv("DOWNPOUR_NO_SPLICE") != NULL) {
		errno = ENOSYS;
		return -1;
	}
	int fds[2];
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	/* A refused size (the user's pipe pages spent) leaves the default, which may still do. */
	(void)fcntl(fds[1], F_SETPIPE_SZ, (int)PEER_SPLICE_PIPE_SIZE);
	int size = fcntl(fds[1], F_GETPIPE_SZ);
	if (size < 0 || (unsigned)size / PEER_SPLICE_PAGE < PEER_SPLICE_MIN_SLOTS) {
		int e = size < 0 ? errno : ENOBUFS;
		close(fds[0]);
		close(fds[1]);
		errno = e;
		return -1;
	}
	ps->rd = fds[0];
	ps->wr = fds[1];
	ps->queued = 0;
	ps->slots = (unsigned)size / PEER_SPLICE_PAGE;
	ps->used = 0;
	ps->grow_tried = false;
	return 0;
}

bool
peer_splice_grow(struct peer_splice *ps)
{
	/* Enough are big now: this one may grow once one of them closes. */
	if (ps->grow_tried || ps->rd < 0 || peer_splice_grown >= PEER_SPLICE_GROWN_MAX)
		return false;
	ps->grow_tried = true;
	/* Refused (the user's pipe pages): the pipe keeps its size and its bytes. */
	int size = fcntl(ps->wr, F_SETPIPE_SZ, (int)PEER_SPLICE_PIPE_MAX);
	if (size < 0 || (unsigned)size / PEER_SPLICE_PAGE <= ps->slots)
		return false;
	ps->slots = (unsigned)size / PEER_SPLICE_PAGE;
	ps->grown = true;
	peer_splice_grown++;
	return true;
}

void
peer_splice_close(struct peer_splice *ps)
{
	if (ps->grown)
		peer_splice_grown--;
	if (ps->rd >= 0)
		close(ps->rd);
	if (ps->wr >= 0)
		close(ps->wr);
	peer_splice_init(ps);
}

/* The header pipe is no more (an error): headers are written again. */
static void
peer_splice_hclose(const char *why)
{
	log_debug("PIECE headers written one by one from now: the header pipe failed (%s: %s)",
	    why, strerror(errno));
	if (peer_splice_hrd >= 0)
		close(peer_splice_hrd);
	if (peer_splice_hwr >= 0)
		close(peer_splice_hwr);
	peer_splice_hrd = peer_splice_hwr = -1;
	peer_splice_hfailed = true;
	peer_splice_stage_at = peer_splice_stage_len = 0;
}

void
peer_splice_release(void)
{
	if (peer_splice_hrd >= 0)
		close(peer_splice_hrd);
	if (peer_splice_hwr >= 0)
		close(peer_splice_hwr);
	peer_splice_hrd = peer_splice_hwr = -1;
	peer_splice_hfailed = false;
	peer_splice_hopen_after_ms = 0;
	peer_splice_stage_at = peer_splice_stage_len = 0;
}

size_t
peer_splice_staged(void)
{
	return peer_splice_stage_len - peer_splice_stage_at;
}

/* Empties the header pipe of what no block took. */
static void
peer_splice_unstage(void)
{
	uint8_t sink[PEER_SPLICE_STAGE_MAX];
	while (peer_splice_staged() > 0) {
		ssize_t n = read(peer_splice_hrd, sink, peer_splice_staged());
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			peer_splice_hclose("draining it");
			return;
		}
		peer_splice_stage_at += (size_t)n;
	}
	peer_splice_stage_at = peer_splice_stage_len = 0;
}

unsigned
peer_splice_stage(const uint8_t *hdrs, unsigned count, size_t hlen)
{
	if (peer_splice_hfailed || hlen == 0)
		return 0;
	if (peer_splice_hrd < 0) {
		int fds[2];
		uint64_t now = dp_now_ms();
		if (now < peer_splice_hopen_after_ms)
			return 0;
		if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
			/* Not for good (peer_splice_hclose): with an fd free again it opens. */
			log_debug("PIECE headers written one by one for now: no header pipe (%s)",
			    strerror(errno));
			peer_splice_hopen_after_ms = now + PEER_SPLICE_HOPEN_RETRY_MS;
			return 0;
		}
		peer_splice_hrd = fds[0];
		peer_splice_hwr = fds[1];
	}
	peer_splice_unstage();
	count = DP_MIN(count, (unsigned)(PEER_SPLICE_STAGE_MAX / hlen));
	if (peer_splice_hfailed || count == 0)
		return 0;
	/* At most a page, into an empty pipe: written whole, in one buffer. */
	ssize_t w;
	do
		w = write(peer_splice_hwr, hdrs, count * hlen);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		peer_splice_hclose("staging headers");
		return 0;
	}
	memcpy(peer_splice_stage_buf, hdrs, (size_t)w);
	peer_splice_stage_len = (size_t)w;
	return (unsigned)((size_t)w / hlen);
}

/* Buffers n bytes may take: a page each, one more where they start inside a page (file pages),
 * or where a write cannot fill the buffer a splice left last. */
static unsigned
peer_splice_slots_for(uint64_t start, uint64_t n)
{
	if (n == 0)
		return 0;
	return (unsigned)((start % PEER_SPLICE_PAGE + n + PEER_SPLICE_PAGE - 1) / PEER_SPLICE_PAGE)
	    + 1;
}

/* Adds the buffers a part of a file span may take to *(unsigned *)arg. */
static int
peer_splice_count_part(void *arg, const struct peer_piece_span *s, uint32_t at, uint32_t n)
{
	*(unsigned *)arg += peer_splice_slots_for(s->seg != NULL ? s->offset + at : 0, n);
	return 0;
}

/* The buffers [offset, offset+len) of c may take. */
static unsigned
peer_splice_need(const struct peer_piece *c, uint32_t offset, uint32_t len)
{
	if (c->data != NULL)
		return peer_splice_slots_for(0, len);
	unsigned need = 0;
	(void)peer_piece_walk(c, offset, len, peer_splice_count_part, &need);
	return need;
}

unsigned
peer_splice_room(const struct peer_splice *ps, const struct peer_piece *c, uint32_t offset,
    uint32_t len)
{
	unsigned each = 1 + peer_splice_need(c, offset, len);
	return ps->used < ps->slots ? (ps->slots - ps->used) / each : 0;
}

bool
peer_splice_fits(const struct peer_splice *ps, const struct peer_piece *c, uint32_t offset,
    uint32_t len)
{
	/* The header takes a buffer of its own after a file's pages. */
	return ps->used + 1 + peer_splice_need(c, offset, len) <= ps->slots;
}

/* Writes n bytes into the pipe. 0 or -1 (errno; EAGAIN would mean the count of buffers was
 * wrong). */
static int
peer_splice_write(struct peer_splice *ps, const uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(ps->wr, b, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
		ps->queued += (size_t)w;
	}
	return 0;
}

/* Queues a header: from the header pipe when it is what the stage holds next, else written. */
static int
peer_splice_header(struct peer_splice *ps, const uint8_t *hdr, size_t hlen)
{
	if (peer_splice_staged() < hlen ||
	    memcmp(peer_splice_stage_buf + peer_splice_stage_at, hdr, hlen) != 0) {
		if (peer_splice_staged() > 0)
			peer_splice_unstage();
		return peer_splice_write(ps, hdr, hlen);
	}
	size_t done = 0;
	while (done < hlen) {
		ssize_t m = splice(peer_splice_hrd, NULL, ps->wr, NULL, hlen - done,
		    SPLICE_F_NONBLOCK);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0) {
			if (m == 0)
				errno = EPIPE;
			peer_splice_hclose("moving a header");
			break;
		}
		done += (size_t)m;
		peer_splice_stage_at += (size_t)m;
		ps->queued += (size_t)m;
	}
	if (peer_splice_staged() == 0)
		peer_splice_stage_at = peer_splice_stage_len = 0;
	return peer_splice_write(ps, hdr + done, hlen - done);
}

/* Splices n bytes of fd at off into the pipe: the page cache's pages, no copy. */
static int
peer_splice_file(struct peer_splice *ps, int fd, uint64_t off, size_t n)
{
	while (n > 0) {
		loff_t o = (loff_t)off;
		ssize_t m = splice(fd, &o, ps->wr, NULL, n, SPLICE_F_NONBLOCK);
		if (m < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (m == 0) {
			errno = ENODATA;
			return -1;
		}
		off += (uint64_t)m;
		n -= (size_t)m;
		ps->queued += (size_t)m;
	}
	return 0;
}

/* One part of a block into the pipe: its file's pages, or zeros (a pad file). */
static int
peer_splice_add_part(void *arg, const struct peer_piece_span *s, uint32_t at, uint32_t n)
{
	static const uint8_t zeros[16384];
	struct peer_splice *ps = arg;
	if (s->seg != NULL)
		return peer_splice_file(ps, s->fd, s->offset + at, n);
	for (uint32_t k; n > 0; n -= k) {
		k = DP_MIN(n, (uint32_t)sizeof zeros);
		if (peer_splice_write(ps, zeros, k) < 0)
			return -1;
	}
	return 0;
}

int
peer_splice_add(struct peer_splice *ps, const uint8_t *hdr, size_t hlen,
    const struct peer_piece *c, uint32_t offset, uint32_t len)
{
	ps->used += 1 + peer_splice_need(c, offset, len);
	if (peer_splice_header(ps, hdr, hlen) < 0)
		return -1;
	if (c->data != NULL)
		return peer_splice_write(ps, c->data + offset, len);
	errno = 0;
	if (peer_piece_walk(c, offset, len, peer_splice_add_part, ps) == 0)
		return 0;
	/* Nothing failed with an errno: the spans end before the block (lent short). */
	if (errno == 0)
		errno = ENODATA;
	return -1;
}

ssize_t
peer_splice_send(struct peer_splice *ps, int sock, size_t max)
{
	size_t n = DP_MIN(max, ps->queued);
	ssize_t m;
	do
		m = splice(ps->rd, NULL, sock, NULL, n, SPLICE_F_NONBLOCK);
	while (m < 0 && errno == EINTR);
	if (m <= 0)
		return m;
	ps->queued -= (size_t)m;
	peer_splice_sent += (uint64_t)m;
	if (ps->queued == 0)
		ps->used = 0;
	return m;
}
