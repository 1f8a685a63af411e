/* peer_splice.c: PIECE blocks for a plaintext TCP socket batched through a pipe. libevent sends
 * a file segment by one sendfile and the header before it by one writev, so each 16 KiB block
 * cost two pushes through TCP (and, on loopback, the receiver's processing of each). Here a
 * batch of blocks goes into the pipe by one vmsplice: the headers from fresh anonymous pages,
 * the files' pages from read-only mappings of the files (a few kept, the least recently used
 * dropped), then one splice moves the batch to the socket: one TCP push for ten to forty
 * blocks. A splice per header and per block's pages cost two system calls a block (0.11 CPU s
 * a GiB with page table isolation on). Where a file cannot be mapped its pages are spliced, as
 * before; bytes in memory and pad zeros are written. The socket of a peer served this way keeps
 * few bytes unsent (peer_splice_bound_unsent): the pipe is the queue. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

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
static uint64_t peer_splice_sent;
static unsigned peer_splice_grown;   /* pipes now at PEER_SPLICE_PIPE_MAX */
static uint64_t peer_splice_bounded; /* sockets bounded so far (tests) */

/* The batch being gathered for one vmsplice into its owner's pipe: the loop fills one peer's
 * pipe at a time, and peer_splice_commit ends the batch before the loop turns. */
#define PEER_SPLICE_IOV_MAX 512u
static struct iovec peer_splice_iov[PEER_SPLICE_IOV_MAX];
static unsigned peer_splice_niov;
static struct peer_splice *peer_splice_owner;

/* Header pages: a region of fresh anonymous pages filled in order. A page given by vmsplice is
 * read by reference by the pipe, then by TCP's retransmit queue and (on loopback) by the
 * receiver, until the bytes are acknowledged and read; a page written again would change bytes
 * already sent. So no byte is written twice, and each batch starts on a page of its own. A
 * used region is unmapped (its pages live while the pipe or a socket holds them) and a new one
 * mapped. */
#define PEER_SPLICE_HREGION_PAGES 64u
static uint8_t *peer_splice_hregion;
static unsigned peer_splice_hpage;      /* the page being filled */
static size_t peer_splice_hused;        /* its bytes used */

/* Read-only mappings of whole files being served, kept across batches (one per batch cost an
 * mmap, a munmap and the page table filled again each time). A vmsplice of a mapping takes the
 * page cache's pages by reference, as splice does; nothing here reads them, so a mapping costs
 * address space (bounded: PEER_SPLICE_MAPS slots, files up to PEER_SPLICE_MAP_MAX) and the page
 * table's entries of the pages served (8 bytes a page), no memory of its own. But a mapping
 * keeps a deleted file's blocks on the disk, so a mapping goes when storage lets go of its file
 * (peer_splice_forget_file, which the engine hands storage at start-up: every path that closes
 * a torrent's files goes through storage), when a batch finds its file deleted, and at
 * peer_splice_release. Keyed by device and inode; each descriptor a batch uses is checked once
 * in it (fstat: same file, same size); the least recently used mapping makes room once a new
 * one is made. */
#define PEER_SPLICE_MAPS 4u
struct peer_splice_map {
	uint8_t *base;          /* NULL: a free slot */
	size_t len;
	dev_t dev;
	ino_t ino;
	uint64_t used;          /* peer_splice_tick when a batch last used it */
};
static struct peer_splice_map peer_splice_maps[PEER_SPLICE_MAPS];
static uint64_t peer_splice_tick;
/* Files larger are spliced, so the mappings stay a small part of the address space: 4 x 1 TiB
 * of x86-64's 128 TiB (4 x 64 TiB, allowed before, was more than all of it: a torrent's sparse
 * files sized to fill it would leave malloc nothing), 4 x 256 MiB on a 32-bit system. */
#define PEER_SPLICE_MAP_MAX (sizeof(void *) >= 8 ? (uint64_t)1 << 40 : (uint64_t)256 << 20)
/* Files mmap refused (an address-space limit, ulimit -v; a file system that cannot map), with
 * the size and mtime they had: spliced without another try, so each batch does not pay a
 * failing mmap, until the file changes or storage lets go of it. A few, the oldest replaced:
 * a file pushed out costs one more failing mmap, never a good mapping (a new mapping is made
 * before the least recently used goes). */
#define PEER_SPLICE_NOMAPS 16u
struct peer_splice_nomap {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool set;
};
static struct peer_splice_nomap peer_splice_nomaps[PEER_SPLICE_NOMAPS];
static unsigned peer_splice_nomap_next;         /* the entry the next failure takes */
/* The span the batch checked last (by segment and descriptor) and its mapping (NULL: its
 * pages are spliced). */
static const void *peer_splice_checked_seg;
static int peer_splice_checked_fd = -1;
static struct peer_splice_map *peer_splice_checked;
static uint64_t peer_splice_mapped;     /* mmap calls that made a mapping so far (tests) */
static uint64_t peer_splice_map_failed; /* mmap calls refused so far (tests) */

static void peer_splice_batch_end(void);

uint64_t
peer_splice_sent_total(void)
{
	return peer_splice_sent;
}

int
peer_splice_bound_unsent(int sock)
{
	/* Unbounded, a socket takes what its send buffer holds (4 MiB autotuned here) beyond what
	 * the receiver's window lets go: megabytes per peer queued behind a closed window, then
	 * sent by whichever context opens it. On loopback that is the receiver's: its ACK sends
	 * our queue and processes the arrival in its own process (0.06-0.12 CPU s a GiB of the
	 * leecher's, measured), and with us sending too, from another CPU, segments overtook
	 * each other (15 to 134 spurious retransmissions a GiB; 2 to 5 bounded). Bounded, the
	 * socket is writable while it can send soon, and the pipe holds the next batch: a
	 * refill is one splice. */
	int v = (int)PEER_SPLICE_UNSENT;
	if (setsockopt(sock, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof v) < 0)
		return -1;
	peer_splice_bounded++;
	return 0;
}

uint64_t
peer_splice_bounded_total(void)
{
	return peer_splice_bounded;
}

void
peer_splice_init(struct peer_splice *ps)
{
	ps->rd = ps->wr = -1;
	ps->queued = 0;
	ps->slots = ps->used = 0;
	ps->grow_tried = ps->grown = false;
	ps->error = 0;
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
	/* What was gathered for this pipe goes with it. */
	if (peer_splice_owner == ps)
		peer_splice_batch_end();
	if (ps->grown)
		peer_splice_grown--;
	if (ps->rd >= 0)
		close(ps->rd);
	if (ps->wr >= 0)
		close(ps->wr);
	peer_splice_init(ps);
}

/* The batch is over: the next checks its files again, and its headers take a new page. */
static void
peer_splice_batch_end(void)
{
	peer_splice_niov = 0;
	peer_splice_owner = NULL;
	peer_splice_checked_seg = NULL;
	peer_splice_checked_fd = -1;
	peer_splice_checked = NULL;
	if (peer_splice_hused > 0) {
		peer_splice_hpage++;
		peer_splice_hused = 0;
	}
}

int
peer_splice_commit(struct peer_splice *ps)
{
	if (ps->error != 0) {
		if (peer_splice_owner == ps)
			peer_splice_batch_end();
		errno = ps->error;
		return -1;
	}
	if (peer_splice_owner != ps || peer_splice_niov == 0) {
		if (peer_splice_owner == ps)
			peer_splice_batch_end();
		return 0;
	}
	struct iovec *v = peer_splice_iov;
	unsigned long n = peer_splice_niov;
	int rc = 0;
	while (n > 0) {
		ssize_t m = vmsplice(ps->wr, v, n, SPLICE_F_NONBLOCK);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0) {
			/* EFAULT: a mapped file shrank after the batch checked it, and the kernel
			 * found no page past its new end (no SIGBUS: nothing here touches the
			 * mapping). EAGAIN would mean the count of buffers was wrong. */
			if (m == 0)
				errno = EAGAIN;
			else if (errno == EFAULT)
				errno = ENODATA;
			rc = -1;
			break;
		}
		/* What went in is counted; the rest goes by the next call. */
		ps->queued += (size_t)m;
		while (n > 0 && (size_t)m >= v->iov_len) {
			m -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (uint8_t *)v->iov_base + m;
			v->iov_len -= (size_t)m;
		}
	}
	peer_splice_batch_end();
	if (rc < 0)
		ps->error = errno;
	return rc;
}

/* The gathered batch goes into the pipe before what is not gathered (bytes written, pages
 * spliced) or before a mapping its iovecs point into goes. */
static int
peer_splice_commit_pending(void)
{
	if (peer_splice_owner == NULL || peer_splice_niov == 0)
		return 0;
	return peer_splice_commit(peer_splice_owner);
}

static void
peer_splice_unmap(struct peer_splice_map *m)
{
	if (peer_splice_checked == m) {
		peer_splice_checked_seg = NULL;
		peer_splice_checked_fd = -1;
		peer_splice_checked = NULL;
	}
	(void)munmap(m->base, m->len);
	m->base = NULL;
	m->len = 0;
}

static void
peer_splice_unmap_all(void)
{
	/* Between batches nothing is gathered; were something, it goes first (an error stays
	 * with its pipe: ps->error). */
	(void)peer_splice_commit_pending();
	for (unsigned i = 0; i < PEER_SPLICE_MAPS; i++)
		if (peer_splice_maps[i].base != NULL)
			peer_splice_unmap(&peer_splice_maps[i]);
}

void
peer_splice_forget_file(dev_t dev, ino_t ino)
{
	/* A new file may get the inode: it is tried afresh. */
	for (unsigned i = 0; i < PEER_SPLICE_NOMAPS; i++)
		if (peer_splice_nomaps[i].set && peer_splice_nomaps[i].dev == dev &&
		    peer_splice_nomaps[i].ino == ino)
			peer_splice_nomaps[i].set = false;
	for (unsigned i = 0; i < PEER_SPLICE_MAPS; i++) {
		struct peer_splice_map *m = &peer_splice_maps[i];
		if (m->base == NULL || m->dev != dev || m->ino != ino)
			continue;
		/* Gathered iovecs may point into it (an error stays with its pipe). */
		(void)peer_splice_commit_pending();
		peer_splice_unmap(m);
	}
}

unsigned
peer_splice_mapped_files(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < PEER_SPLICE_MAPS; i++)
		n += peer_splice_maps[i].base != NULL;
	return n;
}

uint64_t
peer_splice_maps_made(void)
{
	return peer_splice_mapped;
}

uint64_t
peer_splice_maps_refused(void)
{
	return peer_splice_map_failed;
}

void
peer_splice_release(void)
{
	peer_splice_unmap_all();
	peer_splice_batch_end();
	memset(peer_splice_nomaps, 0, sizeof peer_splice_nomaps);
	peer_splice_nomap_next = 0;
	if (peer_splice_hregion != NULL)
		(void)munmap(peer_splice_hregion, PEER_SPLICE_HREGION_PAGES * PEER_SPLICE_PAGE);
	peer_splice_hregion = NULL;
	peer_splice_hpage = peer_splice_hused = 0;
	peer_splice_tick = 0;
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

/* Adds n bytes at b to the batch. */
static int
peer_splice_gather(struct peer_splice *ps, const void *b, size_t n)
{
	/* Another pipe's batch left uncommitted goes to its pipe (an error stays there). */
	if (peer_splice_owner != ps)
		(void)peer_splice_commit_pending();
	if (peer_splice_niov == PEER_SPLICE_IOV_MAX && peer_splice_commit(ps) < 0)
		return -1;
	peer_splice_owner = ps;
	peer_splice_iov[peer_splice_niov].iov_base = (void *)(uintptr_t)b;
	peer_splice_iov[peer_splice_niov].iov_len = n;
	peer_splice_niov++;
	return 0;
}

/* A header into the batch, from a header page; written when no page could be mapped. */
static int
peer_splice_header(struct peer_splice *ps, const uint8_t *hdr, size_t hlen)
{
	if (peer_splice_hused + hlen > PEER_SPLICE_PAGE) {
		peer_splice_hpage++;
		peer_splice_hused = 0;
	}
	if (peer_splice_hregion == NULL || peer_splice_hpage >= PEER_SPLICE_HREGION_PAGES) {
		/* Gathered headers point into the old region: they go first. */
		if (peer_splice_commit_pending() < 0)
			return -1;
		if (peer_splice_hregion != NULL)
			(void)munmap(peer_splice_hregion,
			    PEER_SPLICE_HREGION_PAGES * PEER_SPLICE_PAGE);
		peer_splice_hregion = mmap(NULL, PEER_SPLICE_HREGION_PAGES * PEER_SPLICE_PAGE,
		    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		peer_splice_hpage = 0;
		peer_splice_hused = 0;
		if (peer_splice_hregion == MAP_FAILED) {
			peer_splice_hregion = NULL;
			return peer_splice_write(ps, hdr, hlen);
		}
	}
	uint8_t *at = peer_splice_hregion + (size_t)peer_splice_hpage * PEER_SPLICE_PAGE +
	    peer_splice_hused;
	memcpy(at, hdr, hlen);
	peer_splice_hused += hlen;
	return peer_splice_gather(ps, at, hlen);
}

/* The slot for a mapping made: a free one, else the least recently used, unmapped (after the
 * batch's iovecs into it went to the pipe). NULL when that failed. */
static struct peer_splice_map *
peer_splice_map_slot(void)
{
	struct peer_splice_map *lru = &peer_splice_maps[0];
	for (unsigned i = 0; i < PEER_SPLICE_MAPS; i++) {
		if (peer_splice_maps[i].base == NULL)
			return &peer_splice_maps[i];
		if (peer_splice_maps[i].used < lru->used)
			lru = &peer_splice_maps[i];
	}
	if (peer_splice_commit_pending() < 0)
		return NULL;
	peer_splice_unmap(lru);
	return lru;
}

/* The entry of the file st describes among those mmap refused, or NULL. One whose file changed
 * since (another size or mtime) is dropped: it is tried again. */
static struct peer_splice_nomap *
peer_splice_nomap_find(const struct stat *st)
{
	for (unsigned i = 0; i < PEER_SPLICE_NOMAPS; i++) {
		struct peer_splice_nomap *n = &peer_splice_nomaps[i];
		if (!n->set || n->dev != st->st_dev || n->ino != st->st_ino)
			continue;
		if (n->size == st->st_size && n->mtime.tv_sec == st->st_mtim.tv_sec &&
		    n->mtime.tv_nsec == st->st_mtim.tv_nsec)
			return n;
		n->set = false;
	}
	return NULL;
}

static void
peer_splice_nomap_add(const struct stat *st)
{
	struct peer_splice_nomap *n = &peer_splice_nomaps[peer_splice_nomap_next];
	peer_splice_nomap_next = (peer_splice_nomap_next + 1) % PEER_SPLICE_NOMAPS;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->size = st->st_size;
	n->mtime = st->st_mtim;
	n->set = true;
}

/* A new mapping of the file st describes (fd), in a slot; NULL when it is spliced instead
 * (mmap refused: remembered, and no kept mapping went for it). -1 when a batch gathered before
 * could not go into the pipe. */
static int
peer_splice_map_new(int fd, const struct stat *st, struct peer_splice_map **out)
{
	*out = NULL;
	if (peer_splice_nomap_find(st) != NULL)
		return 0;
	void *b = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (b == MAP_FAILED) {
		log_debug("a file's pages are spliced: it could not be mapped (%s)",
		    strerror(errno));
		peer_splice_map_failed++;
		peer_splice_nomap_add(st);
		return 0;
	}
	struct peer_splice_map *m = peer_splice_map_slot();
	if (m == NULL) {
		(void)munmap(b, (size_t)st->st_size);
		return -1;
	}
	peer_splice_mapped++;
	m->base = b;
	m->len = (size_t)st->st_size;
	m->dev = st->st_dev;
	m->ino = st->st_ino;
	*out = m;
	return 0;
}

/* Sets *out to the mapping s's pages are taken from in this batch, or NULL when they are
 * spliced (not a regular file, empty, too big, deleted, or mmap refused). -1 when a batch
 * gathered before could not go into the pipe. */
static int
peer_splice_map_for(const struct peer_piece_span *s, struct peer_splice_map **out)
{
	if (s->seg == peer_splice_checked_seg && s->fd == peer_splice_checked_fd) {
		*out = peer_splice_checked;
		return 0;
	}
	struct stat st;
	struct peer_splice_map *m = NULL;
	if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		for (unsigned i = 0; i < PEER_SPLICE_MAPS && m == NULL; i++)
			if (peer_splice_maps[i].base != NULL && peer_splice_maps[i].dev == st.st_dev &&
			    peer_splice_maps[i].ino == st.st_ino)
				m = &peer_splice_maps[i];
		/* Another size (the file shrank or grew) or deleted: that mapping goes. */
		if (m != NULL && (st.st_nlink == 0 || (uint64_t)st.st_size != m->len)) {
			if (peer_splice_commit_pending() < 0)
				return -1;
			peer_splice_unmap(m);
			m = NULL;
		}
		if (m == NULL && st.st_nlink > 0 && st.st_size > 0 &&
		    (uint64_t)st.st_size <= PEER_SPLICE_MAP_MAX &&
		    peer_splice_map_new(s->fd, &st, &m) < 0)
			return -1;
	}
	if (m != NULL)
		m->used = ++peer_splice_tick;
	peer_splice_checked_seg = s->seg;
	peer_splice_checked_fd = s->fd;
	peer_splice_checked = m;
	*out = m;
	return 0;
}

/* One part of a block into the pipe: its file's pages, or zeros (a pad file). */
static int
peer_splice_add_part(void *arg, const struct peer_piece_span *s, uint32_t at, uint32_t n)
{
	static const uint8_t zeros[16384];
	struct peer_splice *ps = arg;
	if (s->seg != NULL) {
		struct peer_splice_map *m;
		uint64_t off = s->offset + at;
		if (peer_splice_map_for(s, &m) < 0)
			return -1;
		if (m != NULL) {
			/* Past the end the file had when this batch checked it: it shrank. */
			if (off + n > m->len) {
				errno = ENODATA;
				return -1;
			}
			return peer_splice_gather(ps, m->base + off, n);
		}
		if (peer_splice_commit_pending() < 0)
			return -1;
		return peer_splice_file(ps, s->fd, off, n);
	}
	if (peer_splice_commit_pending() < 0)
		return -1;
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
	if (ps->error != 0) {
		errno = ps->error;
		return -1;
	}
	ps->used += 1 + peer_splice_need(c, offset, len);
	if (peer_splice_header(ps, hdr, hlen) < 0)
		return -1;
	if (c->data != NULL) {
		/* The piece's memory goes back to the cache once it is sent: copied. */
		if (peer_splice_commit_pending() < 0)
			return -1;
		return peer_splice_write(ps, c->data + offset, len);
	}
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
	/* What a caller gathered and did not commit goes first, in order. */
	if (peer_splice_commit(ps) < 0)
		return -1;
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
