/* check_ut_metadata.c: the BEP 9 codec (request, data, reject, every malformed shape, size and
 * index bounds), metadata assembly and its hash check, the magnet placeholder, and magnets end to
 * end on one loop: a downpour seed serves its info dictionary to a downpour magnet, and a
 * .torrent added for a magnet still fetching supplies its metadata instead. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <check.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "bencode.h"
#include "disk.h"
#include "engine.h"
#include "magnet.h"
#include "metadata_fetch.h"
#include "metainfo.h"
#include "session.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "torrent.h"
#include "ut_metadata.h"
#include "util.h"

static int
parse_str(const char *s, size_t len, struct ut_metadata_msg *m, char *err)
{
	return ut_metadata_parse((const uint8_t *)s, len, m, err, 128);
}

#define PARSE_FAILS(lit, why)                                                          \
	do {                                                                           \
		struct ut_metadata_msg m_;                                             \
		char e_[128] = "";                                                     \
		ck_assert_int_eq(parse_str(lit, sizeof(lit) - 1, &m_, e_), -1);        \
		ck_assert_msg(strstr(e_, why) != NULL, "'%s': got '%s'", lit, e_);     \
	} while (0)

START_TEST(test_request_reject_roundtrip)
{
	struct dp_buf b;
	struct ut_metadata_msg m;
	char err[128];
	dp_buf_init(&b);
	ut_metadata_build_request(&b, 7);
	ck_assert_str_eq((char *)b.data, "d8:msg_typei0e5:piecei7ee");
	ck_assert_int_eq(ut_metadata_parse(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.type, UT_METADATA_REQUEST);
	ck_assert_uint_eq(m.piece, 7);
	ck_assert_ptr_null(m.data);
	dp_buf_free(&b);

	dp_buf_init(&b);
	ut_metadata_build_reject(&b, 0);
	ck_assert_str_eq((char *)b.data, "d8:msg_typei2e5:piecei0ee");
	ck_assert_int_eq(ut_metadata_parse(b.data, b.len, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.type, UT_METADATA_REJECT);
	ck_assert_uint_eq(m.piece, 0);
	dp_buf_free(&b);
}
END_TEST

START_TEST(test_data_roundtrip)
{
	/* 40000 bytes: pieces of 16384, 16384, 7232; the dictionary is followed by raw bytes. */
	uint64_t total = 40000;
	uint8_t *blob = xmalloc(total);
	for (size_t i = 0; i < total; i++)
		blob[i] = (uint8_t)(i * 7);
	for (uint32_t piece = 0; piece < 3; piece++) {
		uint32_t len = ut_metadata_piece_size(total, piece);
		struct dp_buf b;
		dp_buf_init(&b);
		ut_metadata_build_data(&b, piece, total, blob + piece * UT_METADATA_PIECE, len);
		struct ut_metadata_msg m;
		char err[128];
		ck_assert_int_eq(ut_metadata_parse(b.data, b.len, &m, err, sizeof err), 0);
		ck_assert_int_eq(m.type, UT_METADATA_DATA);
		ck_assert_uint_eq(m.piece, piece);
		ck_assert_uint_eq(m.total_size, total);
		ck_assert_uint_eq(m.data_len, len);
		ck_assert(memcmp(m.data, blob + piece * UT_METADATA_PIECE, len) == 0);
		/* One byte short or long is refused. */
		ck_assert_int_eq(ut_metadata_parse(b.data, b.len - 1, &m, err, sizeof err), -1);
		ck_assert_str_eq(err, "piece data of the wrong length");
		dp_buf_add(&b, "x", 1);
		ck_assert_int_eq(ut_metadata_parse(b.data, b.len, &m, err, sizeof err), -1);
		dp_buf_free(&b);
	}
	free(blob);
	/* Data that itself looks like bencoding stays data. */
	struct ut_metadata_msg m;
	char err[128];
	const char s[] = "d8:msg_typei1e5:piecei0e10:total_sizei5eed1:ae";
	ck_assert_int_eq(parse_str(s, sizeof s - 1, &m, err), 0);
	ck_assert_uint_eq(m.data_len, 5);
	ck_assert(memcmp(m.data, "d1:ae", 5) == 0);
}
END_TEST

START_TEST(test_parse_errors)
{
	PARSE_FAILS("", "not a bencoded dictionary");
	PARSE_FAILS("i5e", "not a dictionary");
	PARSE_FAILS("d5:piecei0ee", "no msg_type");
	PARSE_FAILS("d8:msg_type1:05:piecei0ee", "no msg_type");
	PARSE_FAILS("d8:msg_typei0ee", "no piece");
	PARSE_FAILS("d8:msg_typei0e5:piece1:0e", "no piece");
	PARSE_FAILS("d8:msg_typei0e5:piecei-1ee", "piece index out of range");
	PARSE_FAILS("d8:msg_typei0e5:piecei1024ee", "piece index out of range");
	PARSE_FAILS("d8:msg_typei0e5:piecei99999999999999ee", "piece index out of range");
	PARSE_FAILS("d8:msg_typei3e5:piecei0ee", "unknown msg_type");
	PARSE_FAILS("d8:msg_typei-1e5:piecei0ee", "unknown msg_type");
	PARSE_FAILS("d8:msg_typei0e5:piecei0eexyz", "bytes after the dictionary");
	PARSE_FAILS("d8:msg_typei2e5:piecei0eex", "bytes after the dictionary");
	PARSE_FAILS("d8:msg_typei1e5:piecei0eexyz", "data without total_size");
	PARSE_FAILS("d8:msg_typei1e5:piecei0e10:total_sizei0eex", "total_size out of range");
	PARSE_FAILS("d8:msg_typei1e5:piecei0e10:total_sizei-5eex", "total_size out of range");
	PARSE_FAILS("d8:msg_typei1e5:piecei0e10:total_sizei16777217eex", "total_size out of range");
	PARSE_FAILS("d8:msg_typei1e5:piecei1e10:total_sizei16384eex", "piece index past total_size");
	PARSE_FAILS("d8:msg_typei1e5:piecei0e10:total_sizei3eexy", "wrong length");
	PARSE_FAILS("d8:msg_typei1e5:piecei0e10:total_sizei3ee", "wrong length");
	/* Truncated or hostile dictionaries. */
	PARSE_FAILS("d8:msg_typei0e5:piecei0e", "not a bencoded dictionary");
	PARSE_FAILS("d8:msg_typei0e5:piece", "not a bencoded dictionary");
	PARSE_FAILS("dddddddddddddddddddde", "not a bencoded dictionary");
	/* Unknown keys are fine; the largest size and last piece are accepted. */
	struct ut_metadata_msg m;
	char err[128];
	const char ok[] = "d1:ai1e8:msg_typei0e5:piecei1023e1:zlee";
	ck_assert_msg(parse_str(ok, sizeof ok - 1, &m, err) == 0, "%s", err);
	ck_assert_uint_eq(m.piece, 1023);
	ck_assert_uint_eq(UT_METADATA_MAX_PIECES, 1024);
}
END_TEST

START_TEST(test_piece_sizes)
{
	ck_assert_uint_eq(ut_metadata_piece_count(0), 0);
	ck_assert_uint_eq(ut_metadata_piece_count(1), 1);
	ck_assert_uint_eq(ut_metadata_piece_count(16384), 1);
	ck_assert_uint_eq(ut_metadata_piece_count(16385), 2);
	ck_assert_uint_eq(ut_metadata_piece_count(UT_METADATA_MAX_SIZE), 1024);
	ck_assert_uint_eq(ut_metadata_piece_count(UT_METADATA_MAX_SIZE + 1ull), 0);
	ck_assert_uint_eq(ut_metadata_piece_size(16385, 0), 16384);
	ck_assert_uint_eq(ut_metadata_piece_size(16385, 1), 1);
	ck_assert_uint_eq(ut_metadata_piece_size(16385, 2), 0);
	ck_assert_uint_eq(ut_metadata_piece_size(16384, 0), 16384);
	ck_assert_uint_eq(ut_metadata_piece_size(0, 0), 0);
}
END_TEST

START_TEST(test_assembly_and_hash)
{
	struct ut_metadata_buf b;
	char err[128];
	ck_assert(!ut_metadata_buf_init(&b, 0));
	ck_assert(!ut_metadata_buf_init(&b, UT_METADATA_MAX_SIZE + 1ull));
	/* A real info dictionary of a bit over two pieces. */
	struct dp_buf info;
	dp_buf_init(&info);
	be_enc_dict_begin(&info);
	be_enc_cstr(&info, "length");
	be_enc_int(&info, 1000);
	be_enc_cstr(&info, "name");
	be_enc_cstr(&info, "x.bin");
	be_enc_cstr(&info, "piece length");
	be_enc_int(&info, 16384);
	be_enc_cstr(&info, "pieces");
	uint8_t *hashes = xcalloc(20, 1700);
	be_enc_str(&info, hashes, 20);
	free(hashes);
	be_enc_cstr(&info, "zpadding");
	char *pad = xcalloc(34000, 1);
	memset(pad, 'p', 33999);
	be_enc_cstr(&info, pad);
	free(pad);
	be_enc_end(&info);
	uint8_t hash[20];
	disk_sha1(info.data, info.len, hash);

	ck_assert(ut_metadata_buf_init(&b, info.len));
	ck_assert_uint_eq(b.pieces, 3);
	ck_assert(!ut_metadata_buf_complete(&b));
	ck_assert(!ut_metadata_buf_verify(&b, hash));
	/* Wrong index and wrong length. */
	ck_assert_int_eq(ut_metadata_buf_put(&b, 3, info.data, 10, err, sizeof err), -1);
	ck_assert_int_eq(ut_metadata_buf_put(&b, 0, info.data, 16383, err, sizeof err), -1);
	ck_assert_int_eq(ut_metadata_buf_put(&b, 2, info.data + 32768, 10, err, sizeof err), -1);
	/* Out of order, one twice. */
	size_t last = info.len - 32768;
	ck_assert_int_eq(ut_metadata_buf_put(&b, 2, info.data + 32768, last, err, sizeof err), 0);
	ck_assert_int_eq(ut_metadata_buf_put(&b, 0, info.data, 16384, err, sizeof err), 0);
	ck_assert_int_eq(ut_metadata_buf_put(&b, 0, info.data, 16384, err, sizeof err), 0);
	ck_assert_uint_eq(b.received, 2);
	ck_assert(!ut_metadata_buf_complete(&b));
	/* A corrupted piece 1 fails the hash check; the right one passes. */
	uint8_t *bad = xmemdup(info.data + 16384, 16384);
	bad[100] ^= 1;
	ck_assert_int_eq(ut_metadata_buf_put(&b, 1, bad, 16384, err, sizeof err), 0);
	free(bad);
	ck_assert(ut_metadata_buf_complete(&b));
	ck_assert(!ut_metadata_buf_verify(&b, hash));
	ck_assert_int_eq(ut_metadata_buf_put(&b, 1, info.data + 16384, 16384, err, sizeof err), 0);
	ck_assert(ut_metadata_buf_verify(&b, hash));
	/* The assembled blob is a valid info dictionary with that info-hash. */
	struct metainfo *mi = metainfo_parse_info(b.data, (size_t)b.size, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert(memcmp(mi->info_hash, hash, 20) == 0);
	ck_assert_str_eq(mi->name, "x.bin");
	metainfo_free(mi);
	ut_metadata_buf_free(&b);
	dp_buf_free(&info);
}
END_TEST

START_TEST(test_stub_metainfo)
{
	char err[256];
	struct magnet *m = magnet_parse("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"
	    "&dn=My%20Files/..&tr=http%3A%2F%2F127.0.0.1%3A1%2Fannounce&tr=udp%3A%2F%2F127.0.0.1%3A2"
	    "&x.pe=127.0.0.1:7000", err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	struct metainfo *mi = metadata_placeholder_metainfo(m);
	ck_assert_str_eq(mi->info_hash_hex, "0123456789abcdef0123456789abcdef01234567");
	ck_assert(memcmp(mi->info_hash, m->info_hash, 20) == 0);
	ck_assert_str_eq(mi->display_name, "My Files/..");
	ck_assert_ptr_null(strchr(mi->name, '/'));
	ck_assert_uint_eq(mi->tier_count, 2);
	ck_assert_str_eq(mi->tiers[0].urls[0], "http://127.0.0.1:1/announce");
	ck_assert_str_eq(mi->tiers[1].urls[0], "udp://127.0.0.1:2");
	ck_assert_uint_eq(mi->piece_count, 0);
	ck_assert_uint_eq(mi->file_count, 0);
	ck_assert_ptr_null(mi->info_raw);
	metainfo_free(mi);
	magnet_free(m);
	/* No dn: the hex hash names it. */
	m = magnet_parse("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567", err,
	    sizeof err);
	mi = metadata_placeholder_metainfo(m);
	ck_assert_str_eq(mi->name, "0123456789abcdef0123456789abcdef01234567");
	ck_assert_ptr_null(mi->display_name);
	metainfo_free(mi);
	magnet_free(m);
}
END_TEST

/* ---- magnets end to end, two engines on one loop ---- */

#define E_FILES 200u
#define E_FILE_SIZE 3000u

static char tmpdir[64];

static void
e2e_setup(void)
{
	th_tmpdir_make(tmpdir, sizeof tmpdir, "utm");
	evthread_use_pthreads();
}

static void
e2e_teardown(void)
{
	th_rm_rf(tmpdir);
	task_registry_clear();
}

static uint8_t
file_byte(uint32_t file, uint32_t i)
{
	return (uint8_t)(file * 31u + i * 7u + (i >> 8));
}

/* A multi-file torrent whose long file names make an info dictionary of several 16 KiB
 * metadata pieces; the files are written under dir. Returns the .torrent bytes. */
static uint8_t *
e2e_make(const char *dir, size_t *len, uint8_t hash[20])
{
	uint32_t total = E_FILES * E_FILE_SIZE, plen = 16384;
	uint32_t npieces = (total + plen - 1) / plen;
	uint8_t *all = xmalloc(total);
	char path[512], name[200];
	snprintf(path, sizeof path, "%s/magnetic", dir);
	mkdir(dir, 0755);
	mkdir(path, 0755);
	for (uint32_t f = 0; f < E_FILES; f++) {
		for (uint32_t i = 0; i < E_FILE_SIZE; i++)
			all[f * E_FILE_SIZE + i] = file_byte(f, i);
		snprintf(name, sizeof name, "file-%03u-%0150u.dat", f, f);
		snprintf(path, sizeof path, "%s/magnetic/%s", dir, name);
		FILE *fp = fopen(path, "wb");
		ck_assert_ptr_nonnull(fp);
		ck_assert_uint_eq(fwrite(all + f * E_FILE_SIZE, 1, E_FILE_SIZE, fp), E_FILE_SIZE);
		fclose(fp);
	}
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "info");
	size_t info_start = b.len;
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "files");
	be_enc_list_begin(&b);
	for (uint32_t f = 0; f < E_FILES; f++) {
		be_enc_dict_begin(&b);
		be_enc_cstr(&b, "length");
		be_enc_int(&b, E_FILE_SIZE);
		be_enc_cstr(&b, "path");
		be_enc_list_begin(&b);
		snprintf(name, sizeof name, "file-%03u-%0150u.dat", f, f);
		be_enc_cstr(&b, name);
		be_enc_end(&b);
		be_enc_end(&b);
	}
	be_enc_end(&b);
	be_enc_cstr(&b, "name");
	be_enc_cstr(&b, "magnetic");
	be_enc_cstr(&b, "piece length");
	be_enc_int(&b, plen);
	be_enc_cstr(&b, "pieces");
	uint8_t *hashes = xmalloc(20 * (size_t)npieces);
	for (uint32_t i = 0; i < npieces; i++)
		disk_sha1(all + i * plen, DP_MIN(plen, total - i * plen), hashes + 20 * i);
	be_enc_str(&b, hashes, 20 * (size_t)npieces);
	free(hashes);
	be_enc_end(&b);
	disk_sha1(b.data + info_start, b.len - info_start, hash);
	ck_assert_uint_gt(b.len - info_start, 2 * UT_METADATA_PIECE);
	be_enc_end(&b);
	free(all);
	return dp_buf_steal(&b, len);
}

/* The leech's copy is gone: the torrent's folder goes last when a removal deletes the data. */
static bool
e2e_files_gone(const char *ldir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/magnetic", ldir);
	struct stat sb;
	return stat(path, &sb) != 0;
}

/* Every 37th file e2e_make wrote, read back from the leech's copy, is the same byte for byte. */
static void
e2e_check_files(const char *ldir)
{
	for (uint32_t f = 0; f < E_FILES; f += 37) {
		char path[512], name[200];
		snprintf(name, sizeof name, "file-%03u-%0150u.dat", f, f);
		snprintf(path, sizeof path, "%s/magnetic/%s", ldir, name);
		uint8_t *got;
		size_t glen;
		ck_assert_int_eq(dp_read_file(path, 1u << 20, &got, &glen), 0);
		ck_assert_uint_eq(glen, E_FILE_SIZE);
		for (uint32_t i = 0; i < E_FILE_SIZE; i++)
			ck_assert_uint_eq(got[i], file_byte(f, i));
		free(got);
	}
}

static bool
e2e_task_reason(struct engine *e, const char *needle)
{
	struct engine_task_info *tasks;
	size_t n = engine_tasks(e, &tasks);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (tasks[i].kind == ENGINE_TASK_KIND_METADATA &&
		    strstr(tasks[i].reason, needle) != NULL)
			found = true;
	free(tasks);
	return found;
}

START_TEST(test_magnet_from_seed)
{
	struct event_base *base = event_base_new();
	char sdir[128], ldir[128], err[256], peer[64], uri[256], hex[41];
	snprintf(sdir, sizeof sdir, "%s/seed", tmpdir);
	snprintf(ldir, sizeof ldir, "%s/leech", tmpdir);
	mkdir(ldir, 0755);
	size_t tlen;
	uint8_t hash[20];
	uint8_t *tor = e2e_make(sdir, &tlen, hash);
	dp_hex_encode(hash, 20, hex);
	struct th_events ws = { 0 }, wl = { 0 };
	struct engine *seed = th_engine_loopback(base, sdir, 2);
	struct engine *leech = th_engine_loopback(base, ldir, 2);
	engine_set_event_cb(seed, th_events_cb, &ws);
	engine_set_event_cb(leech, th_events_cb, &wl);
	int sid, lid;
	ck_assert_int_eq(engine_add_torrent_data(seed, tor, tlen, NULL, &sid, err, sizeof err), 0);
	RUN_UNTIL(base, ws.checked > 0, 10);
	th_engine_addr(seed, peer, sizeof peer);

	/* Without peers the magnet waits, says why, and refuses a recheck. */
	snprintf(uri, sizeof uri, "magnet:?xt=urn:btih:%s&dn=magnetic", hex);
	ck_assert_int_eq(engine_add_magnet(leech, uri, NULL, &lid, err, sizeof err), 0);
	int again;
	ck_assert_int_eq(engine_add_magnet(leech, uri, NULL, &again, err, sizeof err), -1);
	ck_assert_int_eq(again, lid);
	struct engine_torrent_stats st;
	RUN_UNTIL(base, e2e_task_reason(leech, "no peer offers metadata yet"), 15);
	ck_assert(e2e_task_reason(leech, "no peer offers metadata yet"));
	ck_assert_int_eq(engine_torrent_get(leech, lid, &st), 0);
	ck_assert_int_eq(st.state, ENGINE_TORRENT_METADATA);
	ck_assert_str_eq(st.name, "magnetic");
	ck_assert_str_eq(st.info_hash_hex, hex);
	ck_assert(st.progress == 0.0);
	ck_assert(st.metadata_progress == 0.0);
	ck_assert_int_eq(engine_torrent_recheck(leech, lid, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no metadata yet"));

	/* With the seed as a peer: metadata, then the data. */
	ck_assert_int_eq(engine_torrent_add_peer(leech, lid, peer, err, sizeof err), 0);
	RUN_UNTIL(base, wl.completed > 0 || wl.errors > 0, 30);
	ck_assert_int_eq(wl.errors, 0);
	ck_assert_int_eq(wl.metadata, 1);
	ck_assert_int_eq(wl.completed, 1);
	ck_assert_int_eq(engine_torrent_get(leech, lid, &st), 0);
	ck_assert_int_eq(st.state, ENGINE_TORRENT_SEEDING);
	ck_assert_uint_eq(st.file_count, E_FILES);
	ck_assert_uint_eq(st.total_size, E_FILES * E_FILE_SIZE);
	ck_assert(st.metadata_progress == 1.0);
	ck_assert(st.progress == 1.0);
	engine_free(leech);
	engine_free(seed);

	e2e_check_files(ldir);
	free(tor);
	event_base_free(base);
}
END_TEST

/* Adding the .torrent of a magnet still fetching: its info dictionary is used (the add reports
 * a duplicate), a running magnet goes on to download and a paused one stays paused. */
START_TEST(test_torrent_supplies_magnet)
{
	struct event_base *base = event_base_new();
	char sdir[128], ldir[128], err[256], peer[64], uri[256], hex[41];
	snprintf(sdir, sizeof sdir, "%s/seed", tmpdir);
	snprintf(ldir, sizeof ldir, "%s/leech", tmpdir);
	mkdir(ldir, 0755);
	size_t tlen;
	uint8_t hash[20];
	uint8_t *tor = e2e_make(sdir, &tlen, hash);
	dp_hex_encode(hash, 20, hex);
	struct th_events ws = { 0 }, wl = { 0 };
	struct engine *seed = th_engine_loopback(base, sdir, 2);
	struct engine *leech = th_engine_loopback(base, ldir, 2);
	engine_set_event_cb(seed, th_events_cb, &ws);
	engine_set_event_cb(leech, th_events_cb, &wl);
	int sid, lid, dup;
	ck_assert_int_eq(engine_add_torrent_data(seed, tor, tlen, NULL, &sid, err, sizeof err), 0);
	RUN_UNTIL(base, ws.checked > 0, 10);
	th_engine_addr(seed, peer, sizeof peer);

	/* Paused magnet, no peers. */
	snprintf(uri, sizeof uri, "magnet:?xt=urn:btih:%s&dn=magnetic&x.pe=%s", hex, peer);
	struct engine_add_opts opts = { 0 };
	opts.paused = true;
	ck_assert_int_eq(engine_add_magnet(leech, uri, &opts, &lid, err, sizeof err), 0);
	struct torrent *t = session_find_torrent(leech, lid);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(t->md);
	ck_assert_str_eq(metadata_fetch_uri(t->md), uri);

	/* Bytes that are not the info dictionary of this hash are refused; the fetch goes on. */
	static const char bogus[] = "d6:lengthi5e4:name3:abc12:piece lengthi16384e6:pieces20:"
	    "aaaaaaaaaaaaaaaaaaaae";
	ck_assert_int_eq(metadata_fetch_supply(t, (const uint8_t *)bogus, sizeof bogus - 1, err,
	    sizeof err), -1);
	ck_assert_msg(strstr(err, "does not match the info-hash") != NULL, "%s", err);
	ck_assert_ptr_nonnull(t->md);
	ck_assert_int_eq(metadata_fetch_supply(t, (const uint8_t *)bogus, 0, err, sizeof err), -1);
	ck_assert_ptr_nonnull(t->md);

	/* The real .torrent: a duplicate for the caller, the metadata for the magnet. */
	dup = 0;
	ck_assert_int_eq(engine_add_torrent_data(leech, tor, tlen, NULL, &dup, err, sizeof err), -1);
	ck_assert_int_eq(dup, lid);
	ck_assert_msg(strstr(err, "already added") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "supplied its metadata") != NULL, "%s", err);
	RUN_UNTIL(base, wl.metadata > 0, 15);    /* events come from the loop */
	ck_assert_int_eq(wl.metadata, 1);
	struct engine_torrent_stats st;
	ck_assert_int_eq(engine_torrent_get(leech, lid, &st), 0);
	ck_assert_int_eq(st.state, ENGINE_TORRENT_STOPPED);      /* still paused */
	ck_assert_uint_eq(st.file_count, E_FILES);
	ck_assert_uint_eq(st.total_size, E_FILES * E_FILE_SIZE);
	ck_assert(st.metadata_progress == 1.0);
	ck_assert_ptr_null(session_find_torrent(leech, lid)->md);
	/* Once known, the same file is a plain duplicate. */
	ck_assert_int_eq(engine_add_torrent_data(leech, tor, tlen, NULL, &dup, err, sizeof err), -1);
	ck_assert_int_eq(dup, lid);
	ck_assert_msg(strstr(err, "supplied") == NULL, "%s", err);
	RUN_UNTIL(base, wl.metadata > 1, 1);
	ck_assert_int_eq(wl.metadata, 1);

	/* Started, it downloads from the magnet's x.pe peer. */
	ck_assert_int_eq(engine_torrent_start(leech, lid, err, sizeof err), 0);
	RUN_UNTIL(base, wl.completed > 0 || wl.errors > 0, 30);
	ck_assert_int_eq(wl.errors, 0);
	ck_assert_int_eq(wl.completed, 1);
	ck_assert_int_eq(engine_torrent_remove(leech, lid, true, err, sizeof err), 0);
	/* The data goes on the disk pool after pending jobs (a sync of 200 files): the next
	 * magnet must not find it, nor lose its own download to that delete. */
	RUN_UNTIL(base, engine_torrent_get(leech, lid, &st) < 0 && e2e_files_gone(ldir), 15);

	/* A running magnet (no peers yet) goes on to download right after the supply. */
	snprintf(uri, sizeof uri, "magnet:?xt=urn:btih:%s", hex);
	ck_assert_int_eq(engine_add_magnet(leech, uri, NULL, &lid, err, sizeof err), 0);
	RUN_UNTIL(base, e2e_task_reason(leech, "no peer offers metadata yet"), 15);
	ck_assert_int_eq(engine_torrent_get(leech, lid, &st), 0);
	ck_assert_int_eq(st.state, ENGINE_TORRENT_METADATA);
	ck_assert_int_eq(engine_add_torrent_data(leech, tor, tlen, NULL, &dup, err, sizeof err), -1);
	ck_assert_int_eq(dup, lid);
	RUN_UNTIL(base, wl.metadata > 1, 15);
	ck_assert_int_eq(wl.metadata, 2);
	/* It probes for existing data (a disk job) before it downloads: slow under valgrind. */
	RUN_UNTIL(base, engine_torrent_get(leech, lid, &st) == 0 &&
	    st.state == ENGINE_TORRENT_DOWNLOADING, 10);
	ck_assert_int_eq(engine_torrent_get(leech, lid, &st), 0);
	ck_assert_int_eq(st.state, ENGINE_TORRENT_DOWNLOADING);
	ck_assert_int_eq(engine_torrent_add_peer(leech, lid, peer, err, sizeof err), 0);
	RUN_UNTIL(base, wl.completed > 1 || wl.errors > 0, 30);
	ck_assert_int_eq(wl.errors, 0);
	ck_assert_int_eq(wl.completed, 2);
	engine_free(leech);
	engine_free(seed);
	e2e_check_files(ldir);
	free(tor);
	event_base_free(base);
}
END_TEST

Suite *
ut_metadata_suite(void)
{
	Suite *s = suite_create("ut_metadata");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_request_reject_roundtrip);
	tcase_add_test(tc, test_data_roundtrip);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_piece_sizes);
	tcase_add_test(tc, test_assembly_and_hash);
	tcase_add_test(tc, test_stub_metainfo);
	suite_add_tcase(s, tc);
	tc = tcase_create("engine");
	tcase_add_checked_fixture(tc, e2e_setup, e2e_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_magnet_from_seed);
	tcase_add_test(tc, test_torrent_supplies_magnet);
	suite_add_tcase(s, tc);
	return s;
}
