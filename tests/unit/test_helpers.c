/* test_helpers.c: helpers the unit suites share (test_helpers.h): temporary directories,
 * torrents, loopback engines and bounded loop runs. */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <check.h>

#include "bencode.h"
#include "disk.h"
#include "dp_config.h"
#include "task.h"
#include "test_helpers.h"

void
th_tmpdir_make(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "/tmp/dp-check-%s.XXXXXX", name);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
}

static int
th_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
th_rm_rf(const char *dir)
{
	return nftw(dir, th_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
th_file_write(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	ck_assert_msg(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir,
	    strerror(errno));
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

bool
th_mapped(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	char line[1024];
	bool found = false;
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, name) != NULL)
			found = true;
	fclose(f);
	return found;
}

void
th_file_random(const char *dir, const char *rel, size_t len, unsigned seed)
{
	char *path = xasprintf("%s/%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path,
			    strerror(errno));
			*p = '/';
		}
	}
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		fputc((int)(x & 0xff), f);
	}
	ck_assert_int_eq(fclose(f), 0);
	free(path);
}

uint8_t *
th_torrent_single(const char *name, const uint8_t *data, uint32_t size, uint32_t piece_len,
    size_t *len)
{
	uint32_t npieces = (size + piece_len - 1) / piece_len;
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "info");
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "length");
	be_enc_int(&b, size);
	be_enc_cstr(&b, "name");
	be_enc_cstr(&b, name);
	be_enc_cstr(&b, "piece length");
	be_enc_int(&b, piece_len);
	be_enc_cstr(&b, "pieces");
	uint8_t *hashes = xmalloc(20 * (size_t)npieces);
	for (uint32_t i = 0; i < npieces; i++) {
		uint32_t off = i * piece_len, n = DP_MIN(piece_len, size - off);
		disk_sha1(data + off, n, hashes + 20 * i);
	}
	be_enc_str(&b, hashes, 20 * (size_t)npieces);
	free(hashes);
	be_enc_end(&b);
	be_enc_end(&b);
	return dp_buf_steal(&b, len);
}

void
th_config_loopback(struct dp_config *cfg, const char *dir, int disk_threads)
{
	config_defaults(cfg);
	free(cfg->listen_address);
	cfg->listen_address = xstrdup("127.0.0.1");
	cfg->listen_port = 0;
	free(cfg->download_dir);
	cfg->download_dir = xstrdup(dir);
	cfg->disk_threads = disk_threads;
	cfg->max_peers_per_address = 16;   /* every peer of these tests is on 127.0.0.1 */
}

struct engine *
th_engine_loopback(struct event_base *base, const char *dir, int disk_threads)
{
	struct dp_config cfg;
	char err[256];
	th_config_loopback(&cfg, dir, disk_threads);
	struct engine *e = engine_new(base, &cfg, err, sizeof err);
	config_free(&cfg);
	ck_assert_msg(e != NULL, "engine_new: %s", err);
	return e;
}

size_t
th_torrent_count(struct engine *e)
{
	int *ids = NULL;
	size_t n = engine_torrent_ids(e, &ids);
	free(ids);
	return n;
}

void
th_engine_addr(struct engine *e, char *out, size_t len)
{
	struct engine_global_stats g;
	engine_global(e, &g);
	ck_assert_int_gt(g.listen_port, 0);
	snprintf(out, len, "127.0.0.1:%d", g.listen_port);
}

void
th_events_cb(struct engine *e, int id, enum engine_event ev, void *arg)
{
	struct th_events *w = arg;
	(void)e;
	(void)id;
	if (ev == ENGINE_EVENT_COMPLETED)
		w->completed++;
	if (ev == ENGINE_EVENT_ERROR)
		w->errors++;
	if (ev == ENGINE_EVENT_CHECKED)
		w->checked++;
	if (ev == ENGINE_EVENT_METADATA)
		w->metadata++;
	if (w->base != NULL)
		event_base_loopbreak(w->base);
}

void
th_loop_run(struct event_base *base, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
th_turns_cb(evutil_socket_t fd, short what, void *arg)
{
	struct th_turns *t = arg;
	(void)fd;
	(void)what;
	t->n++;
	event_add(t->ev, &(struct timeval){ 0, 0 });
}

void
th_turns_start(struct th_turns *t, struct event_base *base)
{
	t->n = 0;
	t->ev = event_new(base, -1, 0, th_turns_cb, t);
	ck_assert_ptr_nonnull(t->ev);
	event_add(t->ev, &(struct timeval){ 0, 0 });
}

void
th_turns_stop(struct th_turns *t)
{
	event_free(t->ev);
	t->ev = NULL;
}

uint32_t
th_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
th_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

const struct dp_task *
th_tracker_task(int torrent_id)
{
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t))
		if (t->torrent_id == torrent_id && t->finished_us == 0 &&
		    t->kind == DP_TASK_KIND_TRACKER)
			return t;
	return NULL;
}
