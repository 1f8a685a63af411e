/* storage.h: a torrent's pieces mapped onto its files, with an open-file cache; the file I/O
 * itself. The I/O calls run on disk worker threads only and are thread-safe. */
#ifndef DP_ENGINE_INTERNAL
#error "storage.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_STORAGE_H
#define DP_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "metainfo.h"

struct storage;

/* Write buffers aligned to this (and spans at aligned offsets) bypass the page cache (O_DIRECT):
 * allocate piece buffers with it. Other buffers are written through the page cache. */
#define STORAGE_DIRECT_ALIGN 4096u

struct storage_span {
	size_t file;            /* index into mi->files */
	uint64_t file_offset;
	uint32_t length;
	uint32_t buf_offset;    /* where this span starts in the caller's buffer */
};

/* Pure: the file spans covering [offset, offset + len) of the torrent's byte stream, pad files
 * included (callers skip them). Returns the number of spans (<= max). */
size_t storage_map(const struct metainfo *mi, uint64_t offset, uint32_t len,
    struct storage_span *out, size_t max);

/* save_dir is the download directory: files go to save_dir/name (single) or
 * save_dir/name/path (multi). mi must outlive the storage. */
struct storage *storage_new(const struct metainfo *mi, const char *save_dir, int max_open_files);
void storage_free(struct storage *st);
const char *storage_save_dir(const struct storage *st);
/* Full path of file i (caller frees). */
char *storage_file_path(const struct storage *st, size_t file);

/* Write/read a range of the byte stream. Pad-file spans are skipped on write and read as zeros.
 * Files and directories are created on first write (sparse). Returns 0, or -errno with a
 * message naming the file in err. A read of a missing or short file returns -ENOENT/-ENODATA. */
int storage_write(struct storage *st, uint64_t offset, const uint8_t *data, uint32_t len,
    char *err, size_t errlen);
int storage_read(struct storage *st, uint64_t offset, uint8_t *data, uint32_t len,
    char *err, size_t errlen);
/* A piece's bytes in one file, for sending straight from the file (sendfile): fd is the
 * caller's own descriptor (close it), -1 for a pad file's zeros. */
struct storage_file_ref {
	int fd;
	uint64_t file_offset;
	uint32_t length;
};
/* Opens [offset, offset+len) as at most max file refs (*n of them), checking that each file is
 * still long enough: the errors of storage_read (a missing file, "file is shorter than
 * expected"). -E2BIG when it needs more than max: read it instead. */
int storage_open_refs(struct storage *st, uint64_t offset, uint32_t len,
    struct storage_file_ref *out, size_t max, size_t *n, char *err, size_t errlen);
void storage_close_refs(struct storage_file_ref *refs, size_t n);
/* Asks the kernel to read ahead (posix_fadvise WILLNEED) for [offset, offset+len). */
void storage_readahead(struct storage *st, uint64_t offset, uint64_t len);
/* Closes cached descriptors (before moving or deleting), and reports each file opened since
 * storage last let go of it to the release hook. */
void storage_close_all(struct storage *st);
/* Told the device and inode (as they were when it was opened) of each file storage lets go of
 * by storage_close_all or storage_free (a torrent removed, moved, renamed, its files closed).
 * Whoever keeps something of a file open beyond storage's descriptors (the seeder's mappings)
 * drops it here, so no path that releases files can forget to. Process-wide, set once at
 * start-up before any storage is used; it runs on the thread that called storage_close_all or
 * storage_free, which the engine does on its loop only. storage_delete_files (on a worker)
 * reports nothing: call storage_close_all before it, so nothing keeps the files it unlinks. */
typedef void (*storage_release_fn)(dev_t dev, ino_t ino);
void storage_set_release_hook(storage_release_fn fn);
/* Descriptors in the open-file cache, all torrents together: at most the largest max_open_files
 * given to storage_new, plus those in use by a worker at the moment. */
int storage_open_count(void);
/* Size and mtime of file i on disk; -errno when it does not exist. */
int storage_file_stat(struct storage *st, size_t file, uint64_t *size, int64_t *mtime);
/* True when any (non-pad) file exists with data: a stat() per file, so on a worker thread. */
bool storage_has_data(struct storage *st);
/* Removes the torrent's files and the now-empty directories it created. */
int storage_delete_files(struct storage *st, char *err, size_t errlen);

#endif
