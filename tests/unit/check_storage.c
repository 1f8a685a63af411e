/* check_storage.c: piece-to-file mapping, file I/O round trips across file boundaries, sparse
 * and pad files, error messages, the open-file cache bound, deleting a torrent's files, and
 * FIFOs refused without blocking. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <check.h>

#include "metainfo.h"
#include "storage.h"
#include "suites.h"
#include "test_helpers.h"
#include "util.h"

struct tfile {
	const char *path;
	uint64_t length;
	bool pad;
};

/* A metainfo built by hand: storage needs only the name, the file list and the sizes. */
static struct metainfo *
mi_build(const char *name, bool multi, const struct tfile *files, size_t n, uint32_t piece_len)
{
	struct metainfo *mi = xcalloc(1, sizeof *mi);
	mi->name = xstrdup(name);
	mi->multi_file = multi;
	mi->piece_length = piece_len;
	mi->files = xcalloc(n, sizeof *mi->files);
	mi->file_count = n;
	uint64_t off = 0;
	for (size_t i = 0; i < n; i++) {
		mi->files[i].path = xstrdup(files[i].path);
		mi->files[i].length = files[i].length;
		mi->files[i].pad = files[i].pad;
		mi->files[i].offset = off;
		off += files[i].length;
	}
	mi->total_size = off;
	mi->piece_count = (uint32_t)((off + piece_len - 1) / piece_len);
	return mi;
}

static void
mi_destroy(struct metainfo *mi)
{
	for (size_t i = 0; i < mi->file_count; i++)
		free(mi->files[i].path);
	free(mi->files);
	free(mi->name);
	free(mi);
}

static char tmpdir[64];

static void
tmp_setup(void)
{
	th_tmpdir_make(tmpdir, sizeof tmpdir, "storage");
}

static void
tmp_teardown(void)
{
	th_rm_rf(tmpdir);
}

static bool
path_exists(const char *fmt, const char *a, const char *b)
{
	char p[512];
	struct stat sb;
	snprintf(p, sizeof p, fmt, a, b);
	return stat(p, &sb) == 0;
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	ck_assert_ptr_nonnull(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
fill_pattern(uint8_t *buf, size_t len, uint64_t start)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((start + i) * 2654435761u >> 13);
}

START_TEST(test_map_single)
{
	const struct tfile f[] = { { "x", 1000, false } };
	struct metainfo *mi = mi_build("one.bin", false, f, 1, 256);
	struct storage_span s[4];
	ck_assert_uint_eq(storage_map(mi, 900, 200, s, 4), 1);
	ck_assert_uint_eq(s[0].file, 0);
	ck_assert_uint_eq(s[0].file_offset, 900);
	ck_assert_uint_eq(s[0].length, 100);   /* clipped at the end of the torrent */
	ck_assert_uint_eq(s[0].buf_offset, 0);
	/* The last piece is short: 1000 - 3 * 256 = 232 bytes. */
	ck_assert_uint_eq(storage_map(mi, 768, 256, s, 4), 1);
	ck_assert_uint_eq(s[0].length, 232);
	ck_assert_uint_eq(storage_map(mi, 1000, 10, s, 4), 0);
	ck_assert_uint_eq(storage_map(mi, 5, 0, s, 4), 0);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_map_many_small)
{
	struct tfile f[10];
	char names[10][8];
	for (int i = 0; i < 10; i++) {
		snprintf(names[i], sizeof names[i], "f%d", i);
		f[i].path = names[i];
		f[i].length = 7;
		f[i].pad = false;
	}
	struct metainfo *mi = mi_build("many", true, f, 10, 16);
	struct storage_span s[8];
	size_t n = storage_map(mi, 5, 20, s, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(s[0].file, 0);
	ck_assert_uint_eq(s[0].file_offset, 5);
	ck_assert_uint_eq(s[0].length, 2);
	ck_assert_uint_eq(s[1].file, 1);
	ck_assert_uint_eq(s[1].file_offset, 0);
	ck_assert_uint_eq(s[1].length, 7);
	ck_assert_uint_eq(s[1].buf_offset, 2);
	ck_assert_uint_eq(s[2].file, 2);
	ck_assert_uint_eq(s[2].buf_offset, 9);
	ck_assert_uint_eq(s[3].file, 3);
	ck_assert_uint_eq(s[3].length, 4);
	ck_assert_uint_eq(s[3].buf_offset, 16);
	/* The bound on spans is respected. */
	ck_assert_uint_eq(storage_map(mi, 0, 70, s, 3), 3);
	/* Exactly on a boundary: starts in the next file. */
	ck_assert_uint_eq(storage_map(mi, 14, 7, s, 8), 1);
	ck_assert_uint_eq(s[0].file, 2);
	ck_assert_uint_eq(s[0].file_offset, 0);
	/* Last piece: 70 - 4 * 16 = 6 bytes in the last file. */
	ck_assert_uint_eq(storage_map(mi, 64, 16, s, 8), 1);
	ck_assert_uint_eq(s[0].file, 9);
	ck_assert_uint_eq(s[0].file_offset, 1);
	ck_assert_uint_eq(s[0].length, 6);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_map_pad_and_empty)
{
	const struct tfile f[] = {
		{ "a", 10, false }, { "empty", 0, false }, { ".pad/6", 6, true },
		{ "b", 20, false }, { "empty2", 0, false },
	};
	struct metainfo *mi = mi_build("t", true, f, 5, 16);
	struct storage_span s[8];
	size_t n = storage_map(mi, 8, 10, s, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(s[0].file, 0);
	ck_assert_uint_eq(s[0].length, 2);
	ck_assert_uint_eq(s[1].file, 2);     /* the pad file is reported; callers skip it */
	ck_assert_uint_eq(s[1].length, 6);
	ck_assert_uint_eq(s[1].buf_offset, 2);
	ck_assert_uint_eq(s[2].file, 3);
	ck_assert_uint_eq(s[2].length, 2);
	ck_assert_uint_eq(s[2].buf_offset, 8);
	/* Offset 10 is where the empty file, the pad file start: the empty one covers nothing. */
	n = storage_map(mi, 10, 1, s, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(s[0].file, 2);
	n = storage_map(mi, 16, 20, s, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(s[0].file, 3);
	ck_assert_uint_eq(s[0].length, 20);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_round_trip_multi)
{
	const struct tfile f[] = {
		{ "dir/a.bin", 1000, false }, { ".pad/24", 24, true }, { "dir/sub/b.bin", 3000, false },
		{ "c.txt", 5, false }, { "empty", 0, false }, { "d.bin", 4000, false },
	};
	struct metainfo *mi = mi_build("Top", true, f, 6, 1024);
	struct storage *st = storage_new(mi, tmpdir, 8);
	char err[256] = "";
	uint8_t *data = xmalloc(mi->total_size), *back = xmalloc(mi->total_size);
	fill_pattern(data, mi->total_size, 0);

	/* Write piece by piece, out of order. */
	for (int k = (int)mi->piece_count - 1; k >= 0; k--) {
		uint64_t off = (uint64_t)k * mi->piece_length;
		uint32_t len = (uint32_t)DP_MIN(mi->piece_length, mi->total_size - off);
		ck_assert_int_eq(storage_write(st, off, data + off, len, err, sizeof err), 0);
	}
	ck_assert(path_exists("%s/%s", tmpdir, "Top/dir/a.bin"));
	ck_assert(path_exists("%s/%s", tmpdir, "Top/dir/sub/b.bin"));
	ck_assert(path_exists("%s/%s", tmpdir, "Top/empty"));
	ck_assert(!path_exists("%s/%s", tmpdir, "Top/.pad"));

	/* Read in odd-sized chunks crossing every boundary. */
	memset(back, 0xee, mi->total_size);
	for (uint64_t off = 0; off < mi->total_size; off += 777) {
		uint32_t len = (uint32_t)DP_MIN(777, mi->total_size - off);
		ck_assert_int_eq(storage_read(st, off, back + off, len, err, sizeof err), 0);
	}
	/* Pad bytes read as zeros whatever was written there. */
	for (uint64_t i = 0; i < mi->total_size; i++) {
		bool in_pad = i >= 1000 && i < 1024;
		ck_assert_uint_eq(back[i], in_pad ? 0 : data[i]);
	}

	/* File sizes on disk match the torrent. */
	uint64_t size;
	int64_t mtime;
	ck_assert_int_eq(storage_file_stat(st, 2, &size, &mtime), 0);
	ck_assert_uint_eq(size, 3000);
	ck_assert(mtime > 0);
	ck_assert_int_eq(storage_file_stat(st, 1, &size, &mtime), -ENOENT);

	char *p = storage_file_path(st, 5);
	char want[512];
	snprintf(want, sizeof want, "%s/Top/d.bin", tmpdir);
	ck_assert_str_eq(p, want);
	free(p);
	ck_assert_str_eq(storage_save_dir(st), tmpdir);

	/* Out of range. */
	ck_assert_int_eq(storage_read(st, mi->total_size - 2, back, 4, err, sizeof err), -EINVAL);

	free(data);
	free(back);
	storage_free(st);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_single_file_path_and_sparse)
{
	const uint64_t size = 64u << 20;
	const struct tfile f[] = { { "ignored", size, false } };
	struct metainfo *mi = mi_build("big.iso", false, f, 1, 1u << 20);
	struct storage *st = storage_new(mi, tmpdir, 4);
	char err[256];
	uint8_t block[16384];
	fill_pattern(block, sizeof block, 7);
	ck_assert_int_eq(storage_write(st, size - sizeof block, block, sizeof block, err, sizeof err),
	    0);

	char path[512];
	struct stat sb;
	snprintf(path, sizeof path, "%s/big.iso", tmpdir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq((uint64_t)sb.st_size, size);
	/* Sparse: far fewer blocks allocated than the size. */
	ck_assert_msg((uint64_t)sb.st_blocks * 512 < (1u << 20), "%lld bytes allocated",
	    (long long)sb.st_blocks * 512);
	mode_t mask = umask(0);
	umask(mask);
	ck_assert_uint_eq(sb.st_mode & 0777, 0644 & ~mask);

	/* The hole reads as zeros; the data reads back. */
	uint8_t back[16384];
	ck_assert_int_eq(storage_read(st, 0, back, sizeof back, err, sizeof err), 0);
	for (size_t i = 0; i < sizeof back; i++)
		ck_assert_uint_eq(back[i], 0);
	ck_assert_int_eq(storage_read(st, size - sizeof back, back, sizeof back, err, sizeof err),
	    0);
	ck_assert_mem_eq(back, block, sizeof block);
	storage_free(st);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_directory_modes)
{
	const struct tfile f[] = { { "a/b/c.bin", 10, false } };
	struct metainfo *mi = mi_build("T", true, f, 1, 16);
	struct storage *st = storage_new(mi, tmpdir, 4);
	char err[256], p[512];
	struct stat sb;
	mode_t old = umask(027);
	ck_assert_int_eq(storage_write(st, 0, (const uint8_t *)"0123456789", 10, err, sizeof err),
	    0);
	umask(old);
	snprintf(p, sizeof p, "%s/T/a/b", tmpdir);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	ck_assert_uint_eq(sb.st_mode & 0777, 0750);
	snprintf(p, sizeof p, "%s/T/a/b/c.bin", tmpdir);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0640);
	storage_free(st);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_missing_and_short_files)
{
	const struct tfile f[] = { { "a", 100, false }, { "b", 100, false } };
	struct metainfo *mi = mi_build("T", true, f, 2, 64);
	struct storage *st = storage_new(mi, tmpdir, 4);
	char err[256] = "", p[512];
	uint8_t buf[200];
	int rc = storage_read(st, 0, buf, 64, err, sizeof err);
	ck_assert_int_eq(rc, -ENOENT);
	snprintf(p, sizeof p, "%s/T/a", tmpdir);
	ck_assert_msg(strstr(err, p) != NULL && strstr(err, "open") != NULL, "message: %s", err);

	/* A file shorter than the torrent says. */
	ck_assert_int_eq(mkdir(strcat(strcpy(p, tmpdir), "/T"), 0755), 0);
	FILE *fp = fopen(strcat(p, "/a"), "w");
	ck_assert_ptr_nonnull(fp);
	fputs("short", fp);
	fclose(fp);
	rc = storage_read(st, 0, buf, 64, err, sizeof err);
	ck_assert_int_eq(rc, -ENODATA);
	ck_assert_msg(strstr(err, p) != NULL && strstr(err, "shorter") != NULL, "message: %s", err);
	storage_free(st);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_write_errors)
{
	const struct tfile f[] = { { "sub/a", 100, false } };
	struct metainfo *mi = mi_build("T", true, f, 1, 64);
	char err[256] = "", p[512];
	uint8_t buf[64] = { 0 };

	/* The save directory is a regular file: ENOTDIR, naming the file. */
	snprintf(p, sizeof p, "%s/plain", tmpdir);
	FILE *fp = fopen(p, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	struct storage *st = storage_new(mi, p, 4);
	int rc = storage_write(st, 0, buf, sizeof buf, err, sizeof err);
	ck_assert_int_eq(rc, -ENOTDIR);
	ck_assert_msg(strstr(err, "plain/T/sub/a") != NULL, "message: %s", err);
	storage_free(st);

	/* A write that fails midway: the file exists at full size and a child's file size limit
	 * (RLIMIT_FSIZE) stops the write at byte 50 with EFBIG. (This used a link to /dev/full,
	 * but writes no longer follow symbolic links.) */
	snprintf(p, sizeof p, "%s/full", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(mkdir(strcat(p, "/T"), 0755), 0);
	ck_assert_int_eq(mkdir(strcat(p, "/sub"), 0755), 0);
	fp = fopen(strcat(p, "/a"), "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(ftruncate(fileno(fp), 100), 0);
	fclose(fp);
	snprintf(p, sizeof p, "%s/full", tmpdir);
	pid_t fpid = fork();
	ck_assert_int_ge(fpid, 0);
	if (fpid == 0) {
		int code = 0;
		struct rlimit rl = { 50, 50 };
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
			code = 20;
		} else {
			st = storage_new(mi, p, 4);
			rc = storage_write(st, 0, buf, sizeof buf, err, sizeof err);
			storage_free(st);
			if (rc != -EFBIG)
				code = 21;
			else if (strstr(err, "write") == NULL || strstr(err, "full/T/sub/a") == NULL ||
			    strstr(err, "offset 50") == NULL)
				code = 22;
		}
		mi_destroy(mi);
		_exit(code);
	}
	int fstatus = 0;
	ck_assert_int_eq(waitpid(fpid, &fstatus, 0), fpid);
	ck_assert_msg(WIFEXITED(fstatus) && WEXITSTATUS(fstatus) == 0, "child status %d", fstatus);

	/* A read-only directory: EACCES. Root ignores modes, so a child drops to nobody. */
	snprintf(p, sizeof p, "%s/ro", tmpdir);
	ck_assert_int_eq(mkdir(p, 0555), 0);
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Exit codes say what went wrong; memory is freed first for valgrind's sake. */
		int code = 0;
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
			code = 10;
		} else {
			st = storage_new(mi, p, 4);
			rc = storage_write(st, 0, buf, sizeof buf, err, sizeof err);
			storage_free(st);
			if (rc != -EACCES)
				code = 11;
			else if (strstr(err, "ro/T") == NULL || strstr(err, "Permission denied") == NULL)
				code = 12;
		}
		mi_destroy(mi);
		_exit(code);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_cache_bound)
{
	enum { NFILES = 40, MAXOPEN = 5 };
	struct tfile f[NFILES];
	char names[NFILES][16];
	for (int i = 0; i < NFILES; i++) {
		snprintf(names[i], sizeof names[i], "d%d/f%d", i % 3, i);
		f[i].path = names[i];
		f[i].length = 1000 + (uint64_t)i;
		f[i].pad = false;
	}
	struct metainfo *mi = mi_build("C", true, f, NFILES, 4096);
	struct storage *st = storage_new(mi, tmpdir, MAXOPEN);
	char err[256];
	int base = count_fds();
	uint8_t *data = xmalloc(mi->total_size), *back = xmalloc(mi->total_size);
	fill_pattern(data, mi->total_size, 3);
	int peak = 0;
	for (uint64_t off = 0; off < mi->total_size; off += 4096) {
		uint32_t len = (uint32_t)DP_MIN(4096, mi->total_size - off);
		ck_assert_int_eq(storage_write(st, off, data + off, len, err, sizeof err), 0);
		peak = DP_MAX(peak, count_fds() - base);
	}
	ck_assert_int_le(peak, MAXOPEN);
	ck_assert_int_eq(storage_read(st, 0, back, (uint32_t)mi->total_size, err, sizeof err), 0);
	ck_assert_mem_eq(back, data, mi->total_size);
	ck_assert_int_le(count_fds() - base, MAXOPEN);
	ck_assert_int_gt(count_fds() - base, 0);
	storage_close_all(st);
	ck_assert_int_eq(count_fds() - base, 0);
	/* Reopens after close_all. */
	ck_assert_int_eq(storage_read(st, 0, back, 100, err, sizeof err), 0);
	ck_assert_mem_eq(back, data, 100);
	storage_free(st);
	ck_assert_int_eq(count_fds() - base, 0);
	free(data);
	free(back);
	mi_destroy(mi);
}
END_TEST

/* The bound is for all torrents together: 30 single-file torrents with a bound of 4 keep at
 * most 4 descriptors (the soak benchmark's 300 seeds held 514 with 128 each), each torrent's
 * data reads back. */
START_TEST(test_cache_bound_global)
{
	enum { NTOR = 30, MAXOPEN = 4 };
	struct metainfo *mi[NTOR];
	struct storage *st[NTOR];
	char err[256], name[16];
	uint8_t data[3000], back[3000];
	int base = count_fds(), peak = 0;
	for (int i = 0; i < NTOR; i++) {
		struct tfile f = { .path = "x", .length = sizeof data, .pad = false };
		snprintf(name, sizeof name, "t%d", i);
		mi[i] = mi_build(name, false, &f, 1, 4096);
		st[i] = storage_new(mi[i], tmpdir, MAXOPEN);
		fill_pattern(data, sizeof data, (uint64_t)i);
		ck_assert_int_eq(storage_write(st[i], 0, data, sizeof data, err, sizeof err), 0);
		peak = DP_MAX(peak, count_fds() - base);
		ck_assert_int_le(storage_open_count(), MAXOPEN);
	}
	ck_assert_int_le(peak, MAXOPEN);
	for (int i = 0; i < NTOR; i++) {
		fill_pattern(data, sizeof data, (uint64_t)i);
		ck_assert_int_eq(storage_read(st[i], 0, back, sizeof back, err, sizeof err), 0);
		ck_assert_mem_eq(back, data, sizeof data);
	}
	ck_assert_int_le(count_fds() - base, MAXOPEN);
	for (int i = 0; i < NTOR; i++) {
		storage_free(st[i]);
		mi_destroy(mi[i]);
	}
	ck_assert_int_eq(storage_open_count(), 0);
	ck_assert_int_eq(count_fds() - base, 0);
}
END_TEST

/* Aligned pieces go to the disk through an O_DIRECT descriptor kept beside the file's cached one
 * (it was opened and closed for every piece): after the first write the file holds two
 * descriptors and later pieces open none; the data reads back; close_all closes both. Where the
 * filesystem refuses O_DIRECT the buffered descriptor writes alone. */
START_TEST(test_direct_fd_kept)
{
	enum { PIECE = 16384, NPIECES = 8 };
	struct tfile f = { .path = "d.bin", .length = PIECE * NPIECES, .pad = false };
	struct metainfo *mi = mi_build("d.bin", false, &f, 1, PIECE);
	struct storage *st = storage_new(mi, tmpdir, 8);
	char err[256], probe[128];
	uint8_t *data = NULL, back[PIECE];
	ck_assert_int_eq(posix_memalign((void **)&data, STORAGE_DIRECT_ALIGN, PIECE), 0);
	snprintf(probe, sizeof probe, "%s/probe", tmpdir);
	int pfd = open(probe, O_CREAT | O_WRONLY | O_DIRECT, 0600);
	bool direct = pfd >= 0;
	if (pfd >= 0)
		close(pfd);
	int base = count_fds();
	for (int i = 0; i < NPIECES; i++) {
		fill_pattern(data, PIECE, (uint64_t)i * PIECE);
		ck_assert_int_eq(storage_write(st, (uint64_t)i * PIECE, data, PIECE, err, sizeof err),
		    0);
		ck_assert_int_eq(count_fds() - base, (direct ? 2 : 1));
		ck_assert_int_eq(storage_open_count(), (direct ? 2 : 1));
	}
	for (int i = 0; i < NPIECES; i++) {
		fill_pattern(data, PIECE, (uint64_t)i * PIECE);
		ck_assert_int_eq(storage_read(st, (uint64_t)i * PIECE, back, PIECE, err, sizeof err),
		    0);
		ck_assert_mem_eq(back, data, PIECE);
	}
	storage_close_all(st);
	ck_assert_int_eq(count_fds() - base, 0);
	ck_assert_int_eq(storage_open_count(), 0);
	storage_free(st);
	free(data);
	mi_destroy(mi);
}
END_TEST

struct hammer_arg {
	struct storage *st;
	const struct metainfo *mi;
	const uint8_t *data;
	int seed;
	int failures;
};

static void *
hammer_thread(void *p)
{
	struct hammer_arg *a = p;
	char err[256];
	uint8_t buf[3000];
	unsigned r = (unsigned)a->seed;
	for (int k = 0; k < 400; k++) {
		r = r * 1103515245u + 12345u;
		uint64_t off = (r >> 4) % (a->mi->total_size - sizeof buf);
		uint32_t len = 1 + (r >> 8) % (uint32_t)sizeof buf;
		if (k % 2 == 0) {
			if (storage_write(a->st, off, a->data + off, len, err, sizeof err) != 0)
				a->failures++;
		} else {
			int rc = storage_read(a->st, off, buf, len, err, sizeof err);
			/* Unwritten bytes read as zeros (holes); written ones match. A file no
			 * write reached yet is missing. */
			for (uint32_t i = 0; rc == 0 && i < len; i++)
				if (buf[i] != 0 && buf[i] != a->data[off + i])
					a->failures++;
			if (rc != 0 && rc != -ENOENT) {
				fprintf(stderr, "hammer read: %d %s\n", rc, err);
				a->failures++;
			}
		}
		if (k % 97 == 0)
			storage_close_all(a->st);
	}
	return NULL;
}

START_TEST(test_cache_threads)
{
	enum { NFILES = 30, NTHREADS = 4 };
	struct tfile f[NFILES];
	char names[NFILES][16];
	for (int i = 0; i < NFILES; i++) {
		snprintf(names[i], sizeof names[i], "f%d", i);
		f[i].path = names[i];
		f[i].length = 2000 + 37 * (uint64_t)i;
		f[i].pad = false;
	}
	struct metainfo *mi = mi_build("H", true, f, NFILES, 4096);
	struct storage *st = storage_new(mi, tmpdir, 3);
	uint8_t *data = xmalloc(mi->total_size);
	fill_pattern(data, mi->total_size, 11);
	int base = count_fds();
	pthread_t th[NTHREADS];
	struct hammer_arg args[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (struct hammer_arg){ st, mi, data, i + 1, 0 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_thread, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].failures, 0);
	}
	/* With every thread done, only the bounded cache holds descriptors. */
	ck_assert_int_le(count_fds() - base, 3);
	storage_free(st);
	ck_assert_int_eq(count_fds() - base, 0);
	free(data);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_delete_files)
{
	const struct tfile f[] = {
		{ "x/y/one", 10, false }, { ".pad/6", 6, true }, { "x/two", 10, false },
		{ "three", 10, false },
	};
	struct metainfo *mi = mi_build("Del", true, f, 4, 16);
	struct storage *st = storage_new(mi, tmpdir, 4);
	char err[256];
	uint8_t buf[36] = { 1 };
	ck_assert_int_eq(storage_write(st, 0, buf, sizeof buf, err, sizeof err), 0);
	ck_assert(path_exists("%s/%s", tmpdir, "Del/x/y/one"));
	ck_assert_int_eq(storage_delete_files(st, err, sizeof err), 0);
	ck_assert(!path_exists("%s/%s", tmpdir, "Del"));
	ck_assert(path_exists("%s%s", tmpdir, ""));

	/* A file that is not the torrent's keeps its directory. */
	ck_assert_int_eq(storage_write(st, 0, buf, sizeof buf, err, sizeof err), 0);
	char p[512];
	snprintf(p, sizeof p, "%s/Del/x/mine.txt", tmpdir);
	FILE *fp = fopen(p, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_eq(storage_delete_files(st, err, sizeof err), 0);
	ck_assert(path_exists("%s/%s", tmpdir, "Del/x/mine.txt"));
	ck_assert(!path_exists("%s/%s", tmpdir, "Del/x/y"));
	ck_assert(!path_exists("%s/%s", tmpdir, "Del/three"));
	/* Deleting again (nothing there) is fine. */
	ck_assert_int_eq(storage_delete_files(st, err, sizeof err), 0);
	storage_free(st);
	mi_destroy(mi);

	/* Single file. */
	const struct tfile g[] = { { "z", 10, false } };
	mi = mi_build("solo.bin", false, g, 1, 16);
	st = storage_new(mi, tmpdir, 4);
	ck_assert_int_eq(storage_write(st, 0, buf, 10, err, sizeof err), 0);
	ck_assert(path_exists("%s/%s", tmpdir, "solo.bin"));
	ck_assert_int_eq(storage_delete_files(st, err, sizeof err), 0);
	ck_assert(!path_exists("%s/%s", tmpdir, "solo.bin"));
	storage_free(st);
	mi_destroy(mi);
}
END_TEST

/* Writes "keep" to path. */
static void
put_keep(const char *path)
{
	FILE *fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("keep", fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static bool
still_keep(const char *path)
{
	char got[16] = "";
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return false;
	size_t n = fread(got, 1, sizeof got - 1, fp);
	fclose(fp);
	return n == 4 && memcmp(got, "keep", 4) == 0;
}

START_TEST(test_symlinks_not_followed)
{
	/* Someone who can write to the download directory plants links inside the torrent's folder
	 * to make our writes, or a delete with data, land on their victim's files. */
	const struct tfile f[] = { { "sub/secret", 10, false } };
	struct metainfo *mi = mi_build("T", true, f, 1, 16);
	char err[256] = "", p[512], victim[200], save[200];
	uint8_t buf[10];
	memset(buf, 'X', sizeof buf);
	snprintf(victim, sizeof victim, "%s/victim", tmpdir);
	ck_assert_int_eq(mkdir(victim, 0755), 0);
	snprintf(p, sizeof p, "%s/secret", victim);
	put_keep(p);

	/* A folder of the torrent is a link to the victim's folder. */
	snprintf(save, sizeof save, "%s/s1", tmpdir);
	ck_assert_int_eq(mkdir(save, 0755), 0);
	snprintf(p, sizeof p, "%s/T", save);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(symlink(victim, strcat(p, "/sub")), 0);
	struct storage *st = storage_new(mi, save, 4);
	int rc = storage_write(st, 0, buf, sizeof buf, err, sizeof err);
	ck_assert_msg(rc == -ENOTDIR || rc == -ELOOP, "rc %d: %s", rc, err);
	ck_assert_msg(strstr(err, "symbolic link") != NULL && strstr(err, "s1/T/sub") != NULL,
	    "message: %s", err);
	/* Nor does a delete with data reach through it. */
	rc = storage_delete_files(st, err, sizeof err);
	ck_assert_int_ne(rc, 0);
	storage_free(st);
	snprintf(p, sizeof p, "%s/secret", victim);
	ck_assert(still_keep(p));

	/* The file itself is a link to the victim's file. */
	snprintf(save, sizeof save, "%s/s2", tmpdir);
	ck_assert_int_eq(mkdir(save, 0755), 0);
	snprintf(p, sizeof p, "%s/T", save);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(mkdir(strcat(p, "/sub"), 0755), 0);
	snprintf(victim, sizeof victim, "%s/victim/secret", tmpdir);
	ck_assert_int_eq(symlink(victim, strcat(p, "/secret")), 0);
	st = storage_new(mi, save, 4);
	rc = storage_write(st, 0, buf, sizeof buf, err, sizeof err);
	ck_assert_int_eq(rc, -ELOOP);
	ck_assert_msg(strstr(err, "symbolic link") != NULL, "message: %s", err);
	ck_assert(still_keep(victim));
	/* Reading through it still works (seeding from linked data); the hash check guards it. */
	uint8_t back[4];
	const struct tfile g[] = { { "sub/secret", 4, false } };
	struct metainfo *mi4 = mi_build("T", true, g, 1, 16);
	struct storage *st4 = storage_new(mi4, save, 4);
	ck_assert_int_eq(storage_read(st4, 0, back, 4, err, sizeof err), 0);
	ck_assert_mem_eq(back, "keep", 4);
	storage_free(st4);
	mi_destroy(mi4);
	storage_free(st);

	/* The save directory itself may be a link: the user chose it. */
	snprintf(p, sizeof p, "%s/real", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(save, sizeof save, "%s/link", tmpdir);
	ck_assert_int_eq(symlink(p, save), 0);
	st = storage_new(mi, save, 4);
	ck_assert_int_eq(storage_write(st, 0, buf, sizeof buf, err, sizeof err), 0);
	ck_assert(path_exists("%s/%s", tmpdir, "real/T/sub/secret"));
	ck_assert_int_eq(storage_delete_files(st, err, sizeof err), 0);
	ck_assert(!path_exists("%s/%s", tmpdir, "real/T"));
	storage_free(st);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_symlink_entry_not_created)
{
	/* A BEP 47 link entry is never made on disk (its target is the torrent's choice), while
	 * an empty regular file is; a delete with data leaves whatever is at the link's name. */
	const struct tfile f[] = { { "a", 10, false }, { "link", 0, false }, { "empty", 0, false } };
	struct metainfo *mi = mi_build("L", true, f, 3, 16);
	mi->files[1].symlink = true;
	struct storage *st = storage_new(mi, tmpdir, 4);
	char err[256] = "";
	uint8_t buf[10] = { 1 };
	ck_assert_int_eq(storage_write(st, 0, buf, sizeof buf, err, sizeof err), 0);
	ck_assert(path_exists("%s/%s", tmpdir, "L/a"));
	ck_assert(path_exists("%s/%s", tmpdir, "L/empty"));
	ck_assert(!path_exists("%s/%s", tmpdir, "L/link"));
	char p[512];
	snprintf(p, sizeof p, "%s/L/link", tmpdir);
	put_keep(p);
	ck_assert_int_eq(storage_delete_files(st, err, sizeof err), 0);
	ck_assert(still_keep(p));
	ck_assert(!path_exists("%s/%s", tmpdir, "L/a"));
	storage_free(st);
	mi_destroy(mi);
}
END_TEST

START_TEST(test_fifo_refused)
{
	/* A FIFO planted where a file of the torrent belongs (a shared download directory): every
	 * open of it used to wait for a writer forever, and the worker with it. */
	alarm(10);
	const struct tfile f[] = { { "a", 100, false }, { "b", 100, false } };
	struct metainfo *mi = mi_build("F", true, f, 2, 64);
	struct storage *st = storage_new(mi, tmpdir, 4);
	char err[256] = "", p[512];
	uint8_t buf[200];
	memset(buf, 'x', sizeof buf);
	snprintf(p, sizeof p, "%s/F", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/F/a", tmpdir);
	ck_assert_int_eq(mkfifo(p, 0644), 0);
	int rc = storage_read(st, 0, buf, 64, err, sizeof err);
	ck_assert_int_eq(rc, -DP_ENOTREG);
	ck_assert_msg(strstr(err, p) != NULL && strstr(err, "not a regular file") != NULL,
	    "message: %s", err);
	storage_readahead(st, 0, mi->total_size);
	rc = storage_write(st, 0, buf, 200, err, sizeof err);
	ck_assert_int_eq(rc, -DP_ENOTREG);
	ck_assert_msg(strstr(err, p) != NULL && strstr(err, "writing") != NULL, "message: %s", err);
	struct stat sb;
	ck_assert_int_eq(lstat(p, &sb), 0);
	ck_assert(S_ISFIFO(sb.st_mode));
	/* The other file is still served. */
	ck_assert_int_eq(storage_write(st, 100, buf, 100, err, sizeof err), 0);
	ck_assert_int_eq(storage_read(st, 100, buf, 100, err, sizeof err), 0);
	storage_free(st);
	mi_destroy(mi);

	/* Whole-file reads (torrent files, resume files, watch directory entries). */
	uint8_t *data = NULL;
	size_t len = 0;
	errno = 0;
	ck_assert_int_eq(dp_read_file(p, 1000, &data, &len), -1);
	ck_assert_int_eq(errno, DP_ENOTREG);
	ck_assert_str_eq(dp_strerror(errno), "not a regular file");
	ck_assert_int_eq(dp_read_file("/dev/null", 1000, &data, &len), -1);
	ck_assert_int_eq(errno, DP_ENOTREG);
	ck_assert_int_eq(dp_read_file(tmpdir, 1000, &data, &len), -1);
	ck_assert_int_eq(errno, EISDIR);
	/* A regular file opened that way is blocking again. */
	snprintf(p, sizeof p, "%s/F/b", tmpdir);
	int fd = dp_open_regular(AT_FDCWD, p, O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	alarm(0);
}
END_TEST

START_TEST(test_readahead_harmless)
{
	const struct tfile f[] = { { "a", 5000, false }, { "p", 100, true }, { "b", 5000, false } };
	struct metainfo *mi = mi_build("R", true, f, 3, 4096);
	struct storage *st = storage_new(mi, tmpdir, 4);
	char err[256];
	uint8_t buf[100] = { 9 };
	/* Missing files: nothing to do, no crash, no file created. */
	storage_readahead(st, 0, mi->total_size);
	ck_assert(!path_exists("%s/%s", tmpdir, "R/a"));
	ck_assert_int_eq(storage_write(st, 5100, buf, sizeof buf, err, sizeof err), 0);
	storage_readahead(st, 0, UINT64_MAX);
	storage_readahead(st, mi->total_size + 10, 100);
	storage_free(st);
	mi_destroy(mi);
}
END_TEST

Suite *
storage_suite(void)
{
	Suite *s = suite_create("storage");
	TCase *tc = tcase_create("map");
	tcase_add_test(tc, test_map_single);
	tcase_add_test(tc, test_map_many_small);
	tcase_add_test(tc, test_map_pad_and_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("io");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_round_trip_multi);
	tcase_add_test(tc, test_single_file_path_and_sparse);
	tcase_add_test(tc, test_directory_modes);
	tcase_add_test(tc, test_missing_and_short_files);
	tcase_add_test(tc, test_write_errors);
	tcase_add_test(tc, test_cache_bound);
	tcase_add_test(tc, test_cache_bound_global);
	tcase_add_test(tc, test_direct_fd_kept);
	tcase_add_test(tc, test_cache_threads);
	tcase_add_test(tc, test_delete_files);
	tcase_add_test(tc, test_symlinks_not_followed);
	tcase_add_test(tc, test_readahead_harmless);
	tcase_add_test(tc, test_fifo_refused);
	tcase_add_test(tc, test_symlink_entry_not_created);
	suite_add_tcase(s, tc);
	return s;
}
