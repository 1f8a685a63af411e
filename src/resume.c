/* resume.c: resume files: the bencoded format with a SHA-1 over its body, strict decoding with
 * reasons, atomic writes that keep the previous copy as .bak, loading with the backup as
 * fallback, the writer thread that fsyncs the torrent's files before saying pieces are on disk,
 * and at exit (no sync) the boot id that says in which boot unsynced pieces can be trusted. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "bencode.h"
#include "bitfield.h"
#include "engine.h"
#include "log.h"
#include "resume.h"
#include "util.h"

#define RESUME_MAX_FILES (1u << 20)
#define RESUME_MAX_PIECES (1u << 24)
/* tracker_list.h: 256 URLs of at most 511 bytes, their newlines and the tiers' */
#define RESUME_TRACKERS_MAX (256 * 513)
#define RESUME_PEERS_MAX (64 * 1024)
/* Jobs the writer thread takes at once (written together, one sync for all), and filesystems
 * one batch syncs (the data of the rest is fsynced file by file). */
#define RESUME_WRITER_BATCH 256
#define RESUME_SYNC_MAX 8

/* The checksum over a resume file's body. */
static void
resume_sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
	unsigned int n = 0;
	if (EVP_Digest(data, len, out, &n, EVP_sha1(), NULL) != 1 || n != 20)
		memset(out, 0, 20);     /* matches no stored checksum: the file reads as damaged */
}

void
resume_init(struct resume *r)
{
	memset(r, 0, sizeof *r);
	r->seed_ratio_milli = -1;
	r->seed_time_s = -1;
	r->seed_idle_limit = -1;
}

void
resume_clear(struct resume *r)
{
	free(r->pieces);
	free(r->files);
	free(r->save_path);
	free(r->error);
	free(r->labels);
	free(r->trackers);
	if (r->names != NULL)
		for (size_t i = 0; i <= r->file_count; i++)
			free(r->names[i]);
	free(r->names);
	free(r->peers);
	resume_init(r);
}

/* ---- encoding ---- */

static void
resume_enc_kv_int(struct dp_buf *b, const char *key, int64_t v)
{
	be_enc_cstr(b, key);
	be_enc_int(b, v);
}

static void
resume_encode_body(const struct resume *r, struct dp_buf *b)
{
	/* Keys in byte order (the decoder insists). */
	be_enc_dict_begin(b);
	resume_enc_kv_int(b, "added", r->added_date);
	if (r->unsynced && r->boot_id[0] != '\0') {
		be_enc_cstr(b, "boot-id");
		be_enc_cstr(b, r->boot_id);
	}
	resume_enc_kv_int(b, "completed", r->completed_date);
	resume_enc_kv_int(b, "down-limit", (int64_t)r->down_limit);
	resume_enc_kv_int(b, "downloaded", (int64_t)r->downloaded);
	resume_enc_kv_int(b, "downloading", r->downloading_s);
	if (r->error != NULL) {
		be_enc_cstr(b, "error");
		be_enc_cstr(b, r->error);
	}
	be_enc_cstr(b, "files");
	be_enc_list_begin(b);
	for (size_t i = 0; i < r->file_count; i++) {
		be_enc_list_begin(b);
		be_enc_int(b, (int64_t)r->files[i].size);
		be_enc_int(b, r->files[i].mtime_ns);
		be_enc_int(b, r->files[i].priority);
		be_enc_end(b);
	}
	be_enc_end(b);
	be_enc_cstr(b, "info-hash");
	be_enc_str(b, r->info_hash, 20);
	if (r->labels != NULL) {
		be_enc_cstr(b, "labels");
		be_enc_cstr(b, r->labels);
	}
	resume_enc_kv_int(b, "max-peers", r->max_peers);
	if (r->names != NULL) {
		be_enc_cstr(b, "names");
		be_enc_list_begin(b);
		for (size_t i = 0; i <= r->file_count; i++)
			be_enc_cstr(b, r->names[i]);
		be_enc_end(b);
	}
	if (r->peers != NULL) {
		be_enc_cstr(b, "peers");
		be_enc_cstr(b, r->peers);
	}
	resume_enc_kv_int(b, "piece-count", r->piece_count);
	be_enc_cstr(b, "pieces");
	be_enc_str(b, r->pieces, r->pieces != NULL ? bitfield_bytes(r->piece_count) : 0);
	resume_enc_kv_int(b, "queue-pos", r->queue_pos);
	resume_enc_kv_int(b, "running", r->running);
	be_enc_cstr(b, "save-path");
	be_enc_cstr(b, r->save_path != NULL ? r->save_path : "");
	resume_enc_kv_int(b, "seed-idle-limit", r->seed_idle_limit);
	resume_enc_kv_int(b, "seed-idle-mode", r->seed_idle_mode);
	resume_enc_kv_int(b, "seed-ratio", r->seed_ratio_milli);
	resume_enc_kv_int(b, "seed-time", r->seed_time_s);
	resume_enc_kv_int(b, "seeding", r->seeding_s);
	resume_enc_kv_int(b, "sequential", r->sequential);
	if (r->trackers != NULL) {
		be_enc_cstr(b, "trackers");
		be_enc_cstr(b, r->trackers);
	}
	if (r->unchecked)
		resume_enc_kv_int(b, "unchecked", 1);
	if (r->unsynced)
		resume_enc_kv_int(b, "unsynced", 1);
	resume_enc_kv_int(b, "up-limit", (int64_t)r->up_limit);
	resume_enc_kv_int(b, "upload-slots", r->upload_slots);
	resume_enc_kv_int(b, "uploaded", (int64_t)r->uploaded);
	be_enc_end(b);
}

void
resume_encode(const struct resume *r, struct dp_buf *out)
{
	struct dp_buf body;
	dp_buf_init(&body);
	resume_encode_body(r, &body);
	uint8_t sum[20];
	resume_sha1(body.data, body.len, sum);
	be_enc_dict_begin(out);
	be_enc_cstr(out, "body");
	dp_buf_add(out, body.data, body.len);
	be_enc_cstr(out, "sha1");
	be_enc_str(out, sum, sizeof sum);
	resume_enc_kv_int(out, "version", RESUME_VERSION);
	be_enc_end(out);
	dp_buf_free(&body);
}

/* ---- the boot id ---- */

/* A boot id as the kernel writes it: a UUID, lower-case hex digits and dashes. */
static bool
resume_boot_id_ok(const char *s, size_t len)
{
	if (len == 0 || len >= RESUME_BOOT_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-'))
			return false;
	return true;
}

static pthread_mutex_t resume_boot_lock = PTHREAD_MUTEX_INITIALIZER;
static bool resume_boot_known;                 /* resume_boot was read (or set by a test) */
static char resume_boot[RESUME_BOOT_ID_MAX];   /* "" = unreadable */

bool
resume_boot_id(char out[RESUME_BOOT_ID_MAX])
{
	pthread_mutex_lock(&resume_boot_lock);
	if (!resume_boot_known) {
		uint8_t *buf;
		size_t len;
		resume_boot[0] = '\0';
		if (dp_read_file("/proc/sys/kernel/random/boot_id", 256, &buf, &len) == 0) {
			while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
				len--;
			if (resume_boot_id_ok((const char *)buf, len)) {
				memcpy(resume_boot, buf, len);
				resume_boot[len] = '\0';
			}
			free(buf);
		}
		if (resume_boot[0] == '\0')
			log_warn("can't read this boot's id (/proc/sys/kernel/random/boot_id): pieces "
			    "left unsynced at exit are checked again at the next start");
		resume_boot_known = true;
	}
	memcpy(out, resume_boot, RESUME_BOOT_ID_MAX);
	pthread_mutex_unlock(&resume_boot_lock);
	return out[0] != '\0';
}

void
resume_boot_id_set_for_tests(const char *id)
{
	pthread_mutex_lock(&resume_boot_lock);
	resume_boot_known = id != NULL;
	snprintf(resume_boot, sizeof resume_boot, "%s", id != NULL ? id : "");
	pthread_mutex_unlock(&resume_boot_lock);
}

void
resume_mark_unsynced(struct resume *r)
{
	r->unsynced = true;
	resume_boot_id(r->boot_id);
}

enum resume_trust
resume_trust(const struct resume *r)
{
	if (!r->unsynced)
		return RESUME_TRUST_SYNCED;
	char now[RESUME_BOOT_ID_MAX];
	if (r->boot_id[0] == '\0' || !resume_boot_id(now) || strcmp(now, r->boot_id) != 0)
		return RESUME_TRUST_OTHER_BOOT;
	return RESUME_TRUST_THIS_BOOT;
}

/* ---- decoding ---- */

/* An integer key in [lo, hi]. */
static int
resume_get_int(const struct be_node *d, const char *key, int64_t lo, int64_t hi, int64_t *out,
    char *err, size_t errlen)
{
	const struct be_node *n = be_dict_get(d, key);
	if (n == NULL)
		return dp_fail(err, errlen, "missing key '%s'", key);
	if (n->type != BE_INT)
		return dp_fail(err, errlen, "'%s' is a %s, not an integer", key,
		    be_type_name(n->type));
	if (n->v.i < lo || n->v.i > hi)
		return dp_fail(err, errlen, "'%s' = %lld is out of range", key,
		    (long long)n->v.i);
	*out = n->v.i;
	return 0;
}

int
resume_decode(const uint8_t *buf, size_t len, struct resume *out, char *err, size_t errlen)
{
	static const struct be_limits lim = { 8, 4 * RESUME_MAX_FILES + 64, true };
	struct be_error be;
	resume_init(out);
	if (len == 0)
		return dp_fail(err, errlen, "empty file");
	struct be_node *root = be_decode(buf, len, &lim, &be);
	if (root == NULL)
		return dp_fail(err, errlen, "not valid bencode at byte %zu: %s", be.offset,
		    be.msg);
	int rc = -1;
	int64_t v;
	const struct be_node *body, *sum, *n;
	if (root->type != BE_DICT) {
		dp_fail(err, errlen, "not a dictionary");
		goto out;
	}
	if (resume_get_int(root, "version", 1, INT64_MAX, &v, err, errlen) < 0)
		goto out;
	if (v != RESUME_VERSION) {
		dp_fail(err, errlen, "version %lld is not supported (want %d)", (long long)v,
		    RESUME_VERSION);
		goto out;
	}
	body = be_dict_get_type(root, "body", BE_DICT);
	sum = be_dict_get_type(root, "sha1", BE_STR);
	if (body == NULL || sum == NULL || sum->v.str.len != 20) {
		dp_fail(err, errlen, "missing body or checksum");
		goto out;
	}
	uint8_t want[20];
	resume_sha1(body->raw, body->raw_len, want);
	if (memcmp(want, sum->v.str.s, 20) != 0) {
		dp_fail(err, errlen, "checksum mismatch (the file is damaged)");
		goto out;
	}
	n = be_dict_get_type(body, "info-hash", BE_STR);
	if (n == NULL || n->v.str.len != 20) {
		dp_fail(err, errlen, "missing or malformed 'info-hash'");
		goto out;
	}
	memcpy(out->info_hash, n->v.str.s, 20);
	/* 0 pieces and no files: a magnet's resume file, written before its metadata arrived. */
	if (resume_get_int(body, "piece-count", 0, RESUME_MAX_PIECES, &v, err, errlen) < 0)
		goto out;
	out->piece_count = (uint32_t)v;
	n = be_dict_get_type(body, "pieces", BE_STR);
	if (n == NULL) {
		dp_fail(err, errlen, "missing 'pieces'");
		goto out;
	}
	if (n->v.str.len != 0) {
		struct dp_bitfield bf;
		bitfield_init(&bf, out->piece_count);
		bool ok = bitfield_load(&bf, (const uint8_t *)n->v.str.s, n->v.str.len);
		bitfield_free(&bf);
		if (!ok) {
			dp_fail(err, errlen, "'pieces' has %zu bytes or spare bits set for %u pieces",
			    n->v.str.len, out->piece_count);
			goto out;
		}
		out->pieces = xmemdup(n->v.str.s, n->v.str.len);
	}
	n = be_dict_get_type(body, "files", BE_LIST);
	if (n == NULL || n->v.list.n > RESUME_MAX_FILES) {
		dp_fail(err, errlen, "missing or oversized 'files'");
		goto out;
	}
	if ((n->v.list.n == 0) != (out->piece_count == 0)) {
		dp_fail(err, errlen, "'files' must be empty exactly when 'piece-count' is 0");
		goto out;
	}
	out->file_count = n->v.list.n;
	out->files = xcalloc(out->file_count, sizeof *out->files);
	for (size_t i = 0; i < out->file_count; i++) {
		const struct be_node *f = n->v.list.items[i];
		if (f->type != BE_LIST || f->v.list.n != 3 ||
		    f->v.list.items[0]->type != BE_INT || f->v.list.items[1]->type != BE_INT ||
		    f->v.list.items[2]->type != BE_INT) {
			dp_fail(err, errlen, "file %zu: want [size, mtime, priority]", i);
			goto out;
		}
		int64_t size = f->v.list.items[0]->v.i, mtime = f->v.list.items[1]->v.i;
		int64_t prio = f->v.list.items[2]->v.i;
		if (size < 0 || mtime < 0 || prio < 0 || prio > 15) {
			dp_fail(err, errlen, "file %zu: size, mtime or priority out of range", i);
			goto out;
		}
		out->files[i].size = (uint64_t)size;
		out->files[i].mtime_ns = mtime;
		out->files[i].priority = (uint8_t)prio;
	}
	const struct { const char *key; int64_t lo, hi; int64_t *dst; } ints[] = {
		{ "added", 0, INT64_MAX, &out->added_date },
		{ "completed", 0, INT64_MAX, &out->completed_date },
		{ "seeding", 0, INT64_MAX, &out->seeding_s },
		{ "max-peers", 0, 1000000, &out->max_peers },
		{ "upload-slots", 0, 1000000, &out->upload_slots },
		{ "seed-ratio", -1, INT64_C(1) << 40, &out->seed_ratio_milli },
		{ "seed-time", -1, INT64_C(1) << 40, &out->seed_time_s },
		{ "queue-pos", 0, INT32_MAX, &out->queue_pos },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(ints); i++)
		if (resume_get_int(body, ints[i].key, ints[i].lo, ints[i].hi, ints[i].dst, err,
		    errlen) < 0)
			goto out;
	const struct { const char *key; uint64_t *dst; } u64[] = {
		{ "uploaded", &out->uploaded }, { "downloaded", &out->downloaded },
		{ "down-limit", &out->down_limit }, { "up-limit", &out->up_limit },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(u64); i++) {
		if (resume_get_int(body, u64[i].key, 0, INT64_MAX, &v, err, errlen) < 0)
			goto out;
		*u64[i].dst = (uint64_t)v;
	}
	if (resume_get_int(body, "running", 0, 1, &v, err, errlen) < 0)
		goto out;
	out->running = v != 0;
	if (resume_get_int(body, "sequential", 0, 1, &v, err, errlen) < 0)
		goto out;
	out->sequential = v != 0;
	n = be_dict_get_type(body, "save-path", BE_STR);
	if (n == NULL || n->v.str.len == 0 || n->v.str.len >= 1024 ||
	    memchr(n->v.str.s, '\0', n->v.str.len) != NULL) {
		dp_fail(err, errlen, "missing or malformed 'save-path'");
		goto out;
	}
	out->save_path = be_strdup(n);
	/* Added after version 1 files were written: absent means 0 (the idle limit: -1). */
	if (be_dict_get(body, "downloading") != NULL &&
	    resume_get_int(body, "downloading", 0, INT64_MAX, &out->downloading_s, err,
	    errlen) < 0)
		goto out;
	if (be_dict_get(body, "unchecked") != NULL) {
		if (resume_get_int(body, "unchecked", 0, 1, &v, err, errlen) < 0)
			goto out;
		out->unchecked = v != 0;
	}
	/* Added with issue 19: absent means the pieces were synced before the file was written. */
	if (be_dict_get(body, "unsynced") != NULL) {
		if (resume_get_int(body, "unsynced", 0, 1, &v, err, errlen) < 0)
			goto out;
		out->unsynced = v != 0;
	}
	n = be_dict_get(body, "boot-id");
	if (n != NULL) {
		if (n->type != BE_STR || !resume_boot_id_ok(n->v.str.s, n->v.str.len)) {
			dp_fail(err, errlen, "malformed 'boot-id'");
			goto out;
		}
		memcpy(out->boot_id, n->v.str.s, n->v.str.len);
		out->boot_id[n->v.str.len] = '\0';
	}
	if (be_dict_get(body, "seed-idle-mode") != NULL &&
	    resume_get_int(body, "seed-idle-mode", 0, 2, &out->seed_idle_mode, err, errlen) < 0)
		goto out;
	if (be_dict_get(body, "seed-idle-limit") != NULL &&
	    resume_get_int(body, "seed-idle-limit", -1, 65535, &out->seed_idle_limit, err,
	    errlen) < 0)
		goto out;
	n = be_dict_get(body, "error");
	if (n != NULL) {
		if (n->type != BE_STR || n->v.str.len >= 256) {
			dp_fail(err, errlen, "malformed 'error'");
			goto out;
		}
		out->error = be_strdup(n);
	}
	/* torrent-rename-path's names: checked again (safe relative paths) where applied */
	n = be_dict_get(body, "names");
	if (n != NULL) {
		if (n->type != BE_LIST || n->v.list.n != out->file_count + 1) {
			dp_fail(err, errlen, "malformed 'names' (want the name and one path a file)");
			goto out;
		}
		out->names = xcalloc(out->file_count + 1, sizeof *out->names);
		for (size_t i = 0; i <= out->file_count; i++) {
			const struct be_node *x = n->v.list.items[i];
			if (x->type != BE_STR || x->v.str.len == 0 || x->v.str.len >= 4096 ||
			    memchr(x->v.str.s, '\0', x->v.str.len) != NULL) {
				dp_fail(err, errlen, "malformed 'names' entry %zu", i);
				goto out;
			}
			out->names[i] = be_strdup(x);
		}
	}
	n = be_dict_get(body, "labels");
	if (n != NULL) {
		if (n->type != BE_STR || n->v.str.len >= 256 ||
		    memchr(n->v.str.s, '\0', n->v.str.len) != NULL) {
			dp_fail(err, errlen, "malformed 'labels'");
			goto out;
		}
		out->labels = be_strdup(n);
	}
	/* the user's tracker list: TRACKER_LIST_MAX URLs of TRACKER_LIST_URL_MAX bytes, checked
	 * again when it is applied */
	n = be_dict_get(body, "trackers");
	if (n != NULL) {
		if (n->type != BE_STR || n->v.str.len > RESUME_TRACKERS_MAX ||
		    memchr(n->v.str.s, '\0', n->v.str.len) != NULL) {
			dp_fail(err, errlen, "malformed 'trackers'");
			goto out;
		}
		out->trackers = be_strdup(n);
	}
	/* a magnet's x.pe peers: lines of ADDR:PORT, each parsed again when applied */
	n = be_dict_get(body, "peers");
	if (n != NULL) {
		if (n->type != BE_STR || n->v.str.len > RESUME_PEERS_MAX ||
		    memchr(n->v.str.s, '\0', n->v.str.len) != NULL) {
			dp_fail(err, errlen, "malformed 'peers'");
			goto out;
		}
		out->peers = be_strdup(n);
	}
	rc = 0;
out:
	be_free(root);
	if (rc < 0)
		resume_clear(out);
	return rc;
}

/* ---- files ---- */

/* A step of an atomic write, shown in its job's task (a string literal). */
static void
resume_write_step(struct resume_job *job, const char *what)
{
	if (job != NULL)
		resume_job_set_phase(job, what);
}

/*
 * A session file is replaced without freeing a block or an inode (issue 10: on a filesystem
 * mounted with discard, each unlink of the old backup waited for a discard; 10,000 files cost
 * seconds at shutdown). The new copy is written over the backup's inode (path.bak), then the
 * two names are exchanged (renameat2 RENAME_EXCHANGE): path holds the new copy, path.bak the
 * previous one. At every moment one of the two names holds a complete copy that was durable
 * before (the previous write ended with an fsync; one written at an exit, without, reached the
 * disk by the system's writeback unless a crash came first), and the loader tells a torn one by
 * its checksum. Where the filesystem cannot exchange names, the old way:
 * the current copy becomes .bak by a hard link, the new one is renamed over path.
 */

/* Writes data over path.bak's inode (a new file when there is none, or when it is not ours
 * alone: a hard link left by the old way's crash); durable: and fdatasyncs it. *dev gets the
 * filesystem it is on. */
static int
resume_copy_write(const char *path, const uint8_t *data, size_t len, bool durable,
    struct resume_job *job, dev_t *dev, char *err, size_t errlen)
{
	resume_write_step(job, "write");
	char *bak = xasprintf("%s.bak", path);
	int rc = -1;
	int fd = open(bak, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_nlink != 1)) {
		close(fd);
		fd = -1;
		if (unlink(bak) == 0 || errno == ENOENT)
			fd = open(bak, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		st.st_size = 0;
	}
	if (fd < 0) {
		dp_fail(err, errlen, "%s: can't create: %s", bak, strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = pwrite(fd, data + off, len - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dp_fail(err, errlen, "%s: write: %s", bak, strerror(errno));
			goto close;
		}
		off += (size_t)n;
	}
	if (st.st_size > (off_t)len && ftruncate(fd, (off_t)len) < 0) {
		dp_fail(err, errlen, "%s: truncate: %s", bak, strerror(errno));
		goto close;
	}
	if (durable) {
		resume_write_step(job, "fsync of the new copy");
		if (fdatasync(fd) < 0) {
			dp_fail(err, errlen, "%s: fsync: %s", bak, strerror(errno));
			goto close;
		}
	}
	if (fstat(fd, &st) < 0) {
		dp_fail(err, errlen, "%s: stat: %s", bak, strerror(errno));
		goto close;
	}
	*dev = st.st_dev;
	rc = 0;
close:
	if (close(fd) < 0 && rc == 0)
		rc = dp_fail(err, errlen, "%s: close: %s", bak, strerror(errno));
out:
	free(bak);
	return rc;
}

/* The new copy (in path.bak) takes path's name and path's copy becomes the backup. */
static int
resume_copy_commit(const char *path, bool durable, struct resume_job *job, char *err,
    size_t errlen)
{
	resume_write_step(job, "rename");
	char *bak = xasprintf("%s.bak", path);
	int rc = 0;
	if (renameat2(AT_FDCWD, bak, AT_FDCWD, path, RENAME_EXCHANGE) < 0) {
		if (errno == ENOENT) {
			/* No copy yet: the first one, without a backup. */
			if (rename(bak, path) < 0)
				rc = dp_fail(err, errlen, "%s: rename: %s", path, strerror(errno));
		} else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
			/* No exchange here: the current copy is linked as the backup, the new one
			 * renamed over it (a reader never finds path missing). */
			char *tmp = xasprintf("%s.tmp", path);
			if (rename(bak, tmp) < 0 ||
			    (link(path, bak) < 0 && errno != ENOENT &&
			    rename(path, bak) < 0 && errno != ENOENT) ||
			    rename(tmp, path) < 0)
				rc = dp_fail(err, errlen, "%s: rename: %s", path, strerror(errno));
			free(tmp);
		} else {
			rc = dp_fail(err, errlen, "%s: exchange with the new copy: %s", path,
			    strerror(errno));
		}
	}
	free(bak);
	if (rc == 0 && durable) {
		resume_write_step(job, "fsync of the folder");
		rc = dp_fsync_dir(path, err, errlen);
	}
	return rc;
}

/* job (may be NULL) shows each step in its task. */
int
resume_write_file_job(struct resume_job *job, const char *path, const uint8_t *data, size_t len,
    char *err, size_t errlen)
{
	bool durable = job == NULL || !job->batch;
	dev_t dev;
	if (resume_copy_write(path, data, len, durable, job, &dev, err, errlen) < 0)
		return -1;
	return resume_copy_commit(path, durable, job, err, errlen);
}

int
resume_write_file(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	return resume_write_file_job(NULL, path, data, len, err, errlen);
}

static int
resume_load_one(const char *path, const uint8_t info_hash[20], uint32_t piece_count,
    size_t file_count, struct resume *out, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	if (dp_read_file(path, RESUME_MAX_FILE_SIZE, &buf, &len) < 0)
		return dp_fail(err, errlen, "%s: %s", path, errno == ENOENT ? "missing" :
		    dp_strerror(errno));
	char why[256];
	int rc = resume_decode(buf, len, out, why, sizeof why);
	free(buf);
	if (rc < 0)
		return dp_fail(err, errlen, "%s: %s", path, why);
	const char *bad = NULL;
	if (memcmp(out->info_hash, info_hash, 20) != 0)
		bad = "belongs to another torrent";
	else if (out->piece_count != piece_count)
		bad = "has another piece count";
	else if (out->file_count != file_count)
		bad = "has another file count";
	if (bad != NULL) {
		resume_clear(out);
		return dp_fail(err, errlen, "%s: %s", path, bad);
	}
	return 0;
}

int
resume_load(const char *path, const uint8_t info_hash[20], uint32_t piece_count,
    size_t file_count, struct resume *out, bool *used_backup, char *why, size_t whylen)
{
	char e1[512], e2[512];
	*used_backup = false;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (resume_load_one(path, info_hash, piece_count, file_count, out, e1, sizeof e1) == 0)
		return 0;
	char *bak = xasprintf("%s.bak", path);
	int rc = resume_load_one(bak, info_hash, piece_count, file_count, out, e2, sizeof e2);
	free(bak);
	if (rc == 0) {
		*used_backup = true;
		if (why != NULL)
			snprintf(why, whylen, "%s", e1);
		return 0;
	}
	if (why != NULL)
		snprintf(why, whylen, "%s; %s", e1, e2);
	return -1;
}

/* ---- the writer thread ---- */

struct resume_writer {
	struct engine *e;                        /* whose task registry shows the jobs */
	struct event_base *base;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct resume_job *queue, *queue_tail;   /* waiting for the thread */
	size_t nqueue;                           /* jobs in queue: a submit says how many are
	                                            ahead without walking them */
	struct resume_job *done, *done_tail;     /* finished, for the loop */
	size_t pending;                          /* submitted, done() not yet run (loop side) */
	bool busy;                               /* the thread holds jobs */
	struct resume_job *current[RESUME_WRITER_BATCH];   /* the jobs the thread holds */
	size_t ncurrent;
	uint64_t started, shown_started;         /* jobs taken; as last shown by the loop */
	bool quit;
	bool batch;                              /* jobs taken from now on are batch jobs */
	struct event *wake;
};

void
resume_job_free(struct resume_job *job)
{
	if (job == NULL)
		return;
	free(job->path);
	if (job->file_paths != NULL)
		for (size_t i = 0; i < job->resume.file_count; i++)
			free(job->file_paths[i]);
	free(job->file_paths);
	free(job->raw);
	resume_clear(&job->resume);
	free(job);
}

/* Filesystems to sync once for a batch: each kept by a descriptor on it. */
struct resume_fsset {
	size_t n;
	dev_t dev[RESUME_SYNC_MAX];
	int fd[RESUME_SYNC_MAX];
};

/* fd's filesystem joins the set; false when the set is full (the caller syncs fd itself). */
static bool
resume_fsset_add(struct resume_fsset *set, int fd, dev_t dev)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->dev[i] == dev)
			return true;
	if (set->n == RESUME_SYNC_MAX)
		return false;
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (d < 0)
		return false;
	set->dev[set->n] = dev;
	set->fd[set->n++] = d;
	return true;
}

static void
resume_fsset_close(struct resume_fsset *set)
{
	for (size_t i = 0; i < set->n; i++)
		close(set->fd[i]);
	set->n = 0;
}

/* The torrent's files: size and mtime of each into the resume, after an fsync when the job
 * claims new pieces (job->sync). With a set, a file's filesystem joins it instead, to be
 * synced once for the batch before any of its resume files is in place. */
static int
resume_job_files(struct resume_job *job, struct resume_fsset *set)
{
	/* At exit (a batch job) nothing is synced: the resume file says so instead. */
	bool sync = job->sync && !job->batch;
	resume_job_set_phase(job, sync && set == NULL ? "fsync" : "stat");
	for (size_t i = 0; job->file_paths != NULL && i < job->resume.file_count; i++) {
		const char *p = job->file_paths[i];
		struct resume_file *rf = &job->resume.files[i];
		rf->size = 0;
		rf->mtime_ns = 0;
		if (p == NULL)
			continue;
		/* fsync through our own descriptor: Linux flushes the inode's dirty pages, whoever
		 * wrote them, and the torrent's storage object is never touched off its workers. */
		/* Anything but a regular file (a FIFO planted there) is no data of ours: as missing. */
		int fd = dp_open_regular(AT_FDCWD, p, O_RDONLY | O_NOFOLLOW, 0);
		if (fd < 0) {
			if (errno == ENOENT || errno == ENOTDIR || errno == DP_ENOTREG ||
			    errno == EISDIR)
				continue;
			job->error = errno;
			snprintf(job->errmsg, sizeof job->errmsg, "%s: open: %s", p, strerror(errno));
			return -1;
		}
		struct stat st;
		bool each = sync && (set == NULL || (fstat(fd, &st) == 0 &&
		    !resume_fsset_add(set, fd, st.st_dev)));
		if ((each && fsync(fd) < 0) || fstat(fd, &st) < 0) {
			job->error = errno;
			snprintf(job->errmsg, sizeof job->errmsg, "%s: %s: %s", p,
			    each ? "fsync" : "stat", strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		rf->size = (uint64_t)st.st_size;
		rf->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	}
	return 0;
}

static void
resume_job_failed(struct resume_job *job, const char *err)
{
	if (job->error != 0)
		return;
	job->error = errno ? errno : EIO;
	snprintf(job->errmsg, sizeof job->errmsg, "%s", err);
}

void
resume_job_run(struct resume_job *job)
{
	if (job->work != NULL) {
		job->work(job);
		return;
	}
	char err[512];
	if (job->raw != NULL) {
		if (resume_write_file_job(job, job->path, job->raw, job->raw_len, err,
		    sizeof err) < 0)
			resume_job_failed(job, err);
		return;
	}
	if (resume_job_files(job, NULL) < 0)
		return;
	/* New pieces claimed at exit without a sync: trusted only in this boot. */
	if (job->sync && job->batch)
		resume_mark_unsynced(&job->resume);
	struct dp_buf b;
	dp_buf_init(&b);
	resume_encode(&job->resume, &b);
	if (resume_write_file_job(job, job->path, b.data, b.len, err, sizeof err) < 0)
		resume_job_failed(job, err);
	dp_buf_free(&b);
}

/* A folder of a batch's files (its index in dirs/fds; fds[i] < 0 when it does not open),
 * fsynced once after their renames. */
static size_t
resume_dir_index(const char *path, char ***dirs, int **fds, size_t *n)
{
	char *dir = dp_dirname(path);
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*dirs)[i], dir) == 0) {
			free(dir);
			return i;
		}
	}
	*dirs = xreallocarray(*dirs, *n + 1, sizeof **dirs);
	*fds = xreallocarray(*fds, *n + 1, sizeof **fds);
	(*dirs)[*n] = dir;
	(*fds)[*n] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return (*n)++;
}

/*
 * Jobs that queued up while the thread was busy, written together (issue 10: 10,000 torrents
 * added at once each cost an fsync of their data, one of the new copy and one of the folder).
 * The guarantee stays: pieces a resume file claims are durable before the file is in place.
 * 1. each job's data files are stat'ed and the new copies written, nothing synced yet;
 * 2. one syncfs of each filesystem involved: the claimed data (jobs with sync) and the copies;
 * 3. the new copies take their names; 4. one fsync of each folder; then done() for all.
 * A job that fails in 1 fails alone; a failed sync fails every job that needed it, before
 * any of their copies is in place.
 */
static void
resume_writer_run_batch(struct resume_job **jobs, size_t n)
{
	struct resume_fsset fs = { 0 };
	char **dirs = NULL;
	int *dfds = NULL;
	size_t ndirs = 0;
	int *dir_of = xcalloc(n, sizeof *dir_of);
	char err[512];
	for (size_t i = 0; i < n; i++) {
		struct resume_job *job = jobs[i];
		dir_of[i] = -1;
		struct dp_buf b;
		dp_buf_init(&b);
		const uint8_t *bytes = job->raw;
		size_t len = job->raw_len;
		if (job->raw == NULL) {
			if (resume_job_files(job, &fs) < 0)
				continue;
			resume_encode(&job->resume, &b);
			bytes = b.data;
			len = b.len;
		}
		dev_t dev;
		int rc = resume_copy_write(job->path, bytes, len, false, job, &dev, err, sizeof err);
		dp_buf_free(&b);
		if (rc < 0) {
			resume_job_failed(job, err);
			continue;
		}
		size_t d = resume_dir_index(job->path, &dirs, &dfds, &ndirs);
		if (dfds[d] < 0) {
			snprintf(err, sizeof err, "%s: can't open the folder", dirs[d]);
			resume_job_failed(job, err);
			continue;
		}
		dir_of[i] = (int)d;
		if (!resume_fsset_add(&fs, dfds[d], dev) && syncfs(dfds[d]) < 0) {
			snprintf(err, sizeof err, "%s: can't sync its filesystem: %s", dirs[d],
			    strerror(errno));
			resume_job_failed(job, err);
		}
	}
	/* The claimed data and the new copies, durable before any copy takes its name. */
	char sync_err[512] = "";
	int sync_errno = 0;
	for (size_t i = 0; i < n; i++)
		if (jobs[i]->error == 0)
			resume_job_set_phase(jobs[i], "sync of the filesystem");
	for (size_t k = 0; k < fs.n; k++) {
		if (syncfs(fs.fd[k]) < 0 && sync_errno == 0) {
			sync_errno = errno;
			snprintf(sync_err, sizeof sync_err, "syncing the filesystem of the session "
			    "files and the data they claim: %s", strerror(errno));
		}
	}
	resume_fsset_close(&fs);
	for (size_t i = 0; i < n; i++) {
		struct resume_job *job = jobs[i];
		if (job->error != 0)
			continue;
		if (sync_errno != 0) {
			/* Not in place; and the new copy is no backup of anything. */
			char *bak = xasprintf("%s.bak", job->path);
			if (truncate(bak, 0) < 0)
				log_warn("%s: can't empty the unsynced copy: %s", bak, strerror(errno));
			free(bak);
			errno = sync_errno;
			resume_job_failed(job, sync_err);
			continue;
		}
		if (resume_copy_commit(job->path, false, job, err, sizeof err) < 0)
			resume_job_failed(job, err);
		else
			resume_job_set_phase(job, "fsync of the folder");
	}
	for (size_t d = 0; d < ndirs; d++) {
		if (dfds[d] < 0)
			continue;
		if (fsync(dfds[d]) < 0) {
			int e = errno;
			snprintf(err, sizeof err, "%s: can't sync the directory: %s", dirs[d],
			    strerror(e));
			for (size_t i = 0; i < n; i++) {
				if (dir_of[i] == (int)d && jobs[i]->error == 0) {
					errno = e;
					resume_job_failed(jobs[i], err);
				}
			}
		}
		close(dfds[d]);
	}
	for (size_t d = 0; d < ndirs; d++)
		free(dirs[d]);
	free(dirs);
	free(dfds);
	free(dir_of);
}

/* A batch writes each file once: a second save of one waits for the next batch. */
static bool
resume_writer_has_path(struct resume_job *const *run, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (run[i]->path != NULL && path != NULL && strcmp(run[i]->path, path) == 0)
			return true;
	return false;
}

static void *
resume_writer_main(void *arg)
{
	struct resume_writer *w = arg;
	struct resume_job *run[RESUME_WRITER_BATCH];
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->queue == NULL && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->queue == NULL && w->quit)
			break;
		/* The jobs queued meanwhile, as far as the next work(): written together. */
		size_t n = 0;
		do {
			struct resume_job *job = w->queue;
			w->queue = job->next;
			w->nqueue--;
			job->next = NULL;
			if (w->batch)
				job->batch = true;
			run[n++] = job;
		} while (n < RESUME_WRITER_BATCH && w->queue != NULL && run[0]->work == NULL &&
		    w->queue->work == NULL && !resume_writer_has_path(run, n, w->queue->path));
		if (w->queue == NULL)
			w->queue_tail = NULL;
		w->busy = true;
		memcpy(w->current, run, n * sizeof *run);
		w->ncurrent = n;
		w->started += n;
		pthread_mutex_unlock(&w->lock);
		/* Lets the loop show the jobs' tasks as running. */
		event_active(w->wake, EV_READ, 0);
		/* Shutdown's jobs write without syncs of their own (the flush syncs once). */
		if (n == 1 || run[0]->batch)
			for (size_t i = 0; i < n; i++)
				resume_job_run(run[i]);
		else
			resume_writer_run_batch(run, n);
		pthread_mutex_lock(&w->lock);
		w->busy = false;
		w->ncurrent = 0;
		for (size_t i = 0; i < n; i++) {
			run[i]->batched = n;
			if (w->done_tail)
				w->done_tail->next = run[i];
			else
				w->done = run[i];
			w->done_tail = run[i];
		}
		pthread_cond_broadcast(&w->cond);
		event_active(w->wake, EV_READ, 0);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

void
resume_job_set_phase(struct resume_job *job, const char *phase)
{
	__atomic_store_n(&job->phase, phase, __ATOMIC_RELEASE);
	if (job->writer != NULL)
		event_active(job->writer->wake, EV_READ, 0);
}

static const char *
resume_job_label(const struct resume_job *job)
{
	return job->label[0] != '\0' ? job->label : "writing a session file";
}

/* Loop thread, lock held: the running jobs' tasks show their step; queued ones their place. */
static void
resume_writer_show_locked(struct resume_writer *w)
{
	for (size_t i = 0; i < w->ncurrent; i++) {
		struct resume_job *cur = w->current[i];
		if (cur->task == NULL)
			continue;
		const char *phase = __atomic_load_n(&cur->phase, __ATOMIC_ACQUIRE);
		if (cur->shown_running && phase == cur->shown_phase)
			continue;
		if (phase != NULL)
			engine_task_wait(cur->task, ENGINE_TASK_DISK_WAIT, "%s: %s",
			    resume_job_label(cur), phase);
		else
			engine_task_wait(cur->task, ENGINE_TASK_DISK_WAIT, "%s",
			    resume_job_label(cur));
		cur->shown_phase = phase;
		cur->shown_running = true;
	}
	if (w->shown_started != w->started) {
		size_t ahead = w->ncurrent;
		for (struct resume_job *j = w->queue; j != NULL && ahead < 128; j = j->next, ahead++)
			if (j->task != NULL)
				engine_task_wait(j->task, ENGINE_TASK_QUEUED,
				    "writer queue: %zu job%s ahead", ahead, ahead == 1 ? "" : "s");
		w->shown_started = w->started;
	}
}

/* Loop thread: run done() of finished jobs and close their tasks. */
static void
resume_writer_complete(struct resume_writer *w)
{
	pthread_mutex_lock(&w->lock);
	resume_writer_show_locked(w);
	struct resume_job *list = w->done;
	w->done = w->done_tail = NULL;
	pthread_mutex_unlock(&w->lock);
	while (list != NULL) {
		struct resume_job *job = list;
		list = job->next;
		w->pending--;
		struct engine_task *t = job->task;
		bool failed = job->error != 0;
		char msg[sizeof job->errmsg + sizeof job->label + 8];
		if (failed)
			snprintf(msg, sizeof msg, "%s", job->errmsg[0] ? job->errmsg :
			    strerror(job->error));
		else
			snprintf(msg, sizeof msg, "%s: done", resume_job_label(job));
		job->task = NULL;
		engine_task_cb_begin(t);
		/* done() may free the job: nothing below reads it. */
		if (job->done != NULL)
			job->done(job, job->arg);
		else
			resume_job_free(job);
		if (t != NULL) {
			if (failed)
				engine_task_fail(t, "%s", msg);
			else
				engine_task_done(t, "%s", msg);
		}
		engine_task_cb_end(t);
		engine_task_release(&t);
	}
}

static void
resume_writer_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	resume_writer_complete(arg);
}

struct resume_writer *
resume_writer_new(struct engine *e, struct event_base *base, char *err, size_t errlen)
{
	struct resume_writer *w = xcalloc(1, sizeof *w);
	w->e = e;
	w->base = base;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->wake = event_new(base, -1, 0, resume_writer_wake_cb, w);
	if (w->wake == NULL) {
		snprintf(err, errlen, "can't create the resume writer's event");
		goto fail;
	}
	int rc = pthread_create(&w->thread, NULL, resume_writer_main, w);
	if (rc != 0) {
		snprintf(err, errlen, "can't start the resume writer thread: %s", strerror(rc));
		event_free(w->wake);
		goto fail;
	}
	return w;
fail:
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	return NULL;
}

void
resume_writer_submit(struct resume_writer *w, struct resume_job *job)
{
	job->next = NULL;
	job->error = 0;
	job->errmsg[0] = '\0';
	job->phase = job->shown_phase = NULL;
	job->shown_running = false;
	job->writer = w;
	job->task = engine_task_new(w->e, ENGINE_TASK_KIND_DISK, job->tag, "writer: %s",
	    resume_job_label(job));
	w->pending++;
	pthread_mutex_lock(&w->lock);
	size_t ahead = w->ncurrent + w->nqueue;
	engine_task_wait(job->task, ENGINE_TASK_QUEUED, "writer queue: %zu job%s ahead", ahead,
	    ahead == 1 ? "" : "s");
	if (w->queue_tail)
		w->queue_tail->next = job;
	else
		w->queue = job;
	w->queue_tail = job;
	w->nqueue++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

size_t
resume_writer_pending(const struct resume_writer *w)
{
	return w->pending;
}

void
resume_writer_drain(struct resume_writer *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->queue != NULL || w->busy)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	resume_writer_complete(w);
}

void
resume_writer_batch(struct resume_writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->batch = true;
	pthread_mutex_unlock(&w->lock);
}

void
resume_writer_free(struct resume_writer *w)
{
	if (w == NULL)
		return;
	resume_writer_drain(w);
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	resume_writer_complete(w);
	event_free(w->wake);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
