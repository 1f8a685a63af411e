/* check_attach.c: the attach protocol (frames, records, commands: round trips and hostile input),
 * the per-client delta table (rows sent once, only the part that changed, keys that left) and
 * the server (dropping bad clients, Tab completion on the disk pool). */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <check.h>

#include "attach_delta.h"
#include "attach_proto.h"
#include "attach_server.h"
#include "client.h"
#include "log.h"
#include "path_complete.h"
#include "suites.h"
#include "test_helpers.h"

/* ---- frames ---- */

START_TEST(test_frame_header)
{
	struct dp_buf b;
	dp_buf_init(&b);
	size_t at = attach_frame_begin(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "id");
	be_enc_int(&b, 7);
	be_enc_end(&b);
	attach_frame_end(&b, at);
	size_t len = 0;
	ck_assert_int_eq(attach_frame_peek(b.data, 3, 100, &len), 0);      /* header not in yet */
	ck_assert_int_eq(attach_frame_peek(b.data, b.len, 100, &len), 1);
	ck_assert_uint_eq(len, b.len - ATTACH_FRAME_HEADER);
	ck_assert_int_eq(attach_frame_peek(b.data, b.len, len - 1, &len), -1);   /* over the bound */
	static const uint8_t zero[4] = { 0 }, huge[4] = { 0xff, 0xff, 0xff, 0xff };
	ck_assert_int_eq(attach_frame_peek(zero, 4, 100, &len), -1);
	ck_assert_int_eq(attach_frame_peek(huge, 4, ATTACH_MAX_REPLY, &len), -1);
	char err[128];
	struct be_node *n = attach_decode_body(b.data + 4, b.len - 4, err, sizeof err);
	ck_assert_ptr_nonnull(n);
	int64_t id = 0;
	ck_assert(attach_get_int(n, "id", &id));
	ck_assert_int_eq(id, 7);
	be_free(n);
	/* not a dictionary, truncated, nested past the depth bound: refused with a reason */
	ck_assert_ptr_null(attach_decode_body((const uint8_t *)"i5e", 3, err, sizeof err));
	ck_assert_ptr_null(attach_decode_body((const uint8_t *)"d2:id", 5, err, sizeof err));
	ck_assert_ptr_null(attach_decode_body((const uint8_t *)"dlllllllllllllleeeeeeeeeeeeeeee",
	    31, err, sizeof err));
	dp_buf_free(&b);
}
END_TEST

/* ---- records ---- */

/* Every field of the struct is in the tables, but for the gaps listed: a struct field added
 * without a line in its table leaves a gap of its size (padding is under 8 bytes). */
static void
check_attach_covered(const struct attach_record *a, const struct attach_record *b,
    size_t size, const size_t *skip_off, const size_t *skip_size, size_t nskip)
{
	size_t n = a->n + (b != NULL ? b->n : 0) + nskip;
	size_t (*spans)[2] = calloc(n, sizeof *spans);
	size_t k = 0;
	for (size_t i = 0; i < a->n; i++, k++) {
		spans[k][0] = a->fields[i].off;
		spans[k][1] = a->fields[i].size;
	}
	for (size_t i = 0; b != NULL && i < b->n; i++, k++) {
		spans[k][0] = b->fields[i].off;
		spans[k][1] = b->fields[i].size;
	}
	for (size_t i = 0; i < nskip; i++, k++) {
		spans[k][0] = skip_off[i];
		spans[k][1] = skip_size[i];
	}
	for (size_t i = 1; i < n; i++)      /* insertion sort by offset */
		for (size_t j = i; j > 0 && spans[j - 1][0] > spans[j][0]; j--) {
			size_t t0 = spans[j][0], t1 = spans[j][1];
			spans[j][0] = spans[j - 1][0];
			spans[j][1] = spans[j - 1][1];
			spans[j - 1][0] = t0;
			spans[j - 1][1] = t1;
		}
	size_t end = 0;
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(spans[i][0] >= end, "%s: fields overlap at %zu", a->name, spans[i][0]);
		ck_assert_msg(spans[i][0] - end < 8, "%s: bytes %zu..%zu are in no field", a->name,
		    end, spans[i][0]);
		end = spans[i][0] + spans[i][1];
	}
	ck_assert_msg(size - end < 8, "%s: bytes from %zu are in no field", a->name, end);
	free(spans);
}

#define OFFSZ(st, m) offsetof(st, m)
#define SZ(st, m) sizeof(((st *)0)->m)

START_TEST(test_tables_cover_structs)
{
	typedef struct engine_torrent_stats TS;
	size_t to[] = { OFFSZ(TS, id) }, ts[] = { SZ(TS, id) };
	check_attach_covered(&attach_torrent_static, &attach_torrent_dynamic, sizeof(TS), to, ts, 1);
	check_attach_covered(&attach_global_rec, NULL, sizeof(struct engine_global_stats), NULL,
	    NULL, 0);
	check_attach_covered(&attach_peer_rec, NULL, sizeof(struct engine_peer_info), NULL, NULL,
	    0);
	check_attach_covered(&attach_file_static, &attach_file_dynamic,
	    sizeof(struct engine_file_info), NULL, NULL, 0);
	check_attach_covered(&attach_tracker_rec, NULL, sizeof(struct engine_tracker_info), NULL,
	    NULL, 0);
	typedef struct engine_task_info TI;
	/* the id is the row's key, where it parked goes as strings, the names come from enums,
	 * the instants go in age_us and waited_us */
	size_t ko[] = { OFFSZ(TI, id), OFFSZ(TI, where_func), OFFSZ(TI, where_file),
		OFFSZ(TI, state_name), OFFSZ(TI, kind_name), OFFSZ(TI, created_us),
		OFFSZ(TI, state_since_us) };
	size_t ks[] = { SZ(TI, id), SZ(TI, where_func), SZ(TI, where_file), SZ(TI, state_name),
		SZ(TI, kind_name), SZ(TI, created_us), SZ(TI, state_since_us) };
	check_attach_covered(&attach_task_static, &attach_task_dynamic, sizeof(TI), ko, ks, 7);
	typedef struct engine_loop_health LH;
	size_t ho[] = { OFFSZ(LH, slowest), OFFSZ(LH, slowest_count), OFFSZ(LH, heaviest),
		OFFSZ(LH, heaviest_count) };
	size_t hs[] = { SZ(LH, slowest), SZ(LH, slowest_count), SZ(LH, heaviest),
		SZ(LH, heaviest_count) };
	check_attach_covered(&attach_health_rec, NULL, sizeof(LH), ho, hs, 4);
	check_attach_covered(&attach_slow_rec, NULL, sizeof(struct engine_slow_callback), NULL,
	    NULL, 0);
}
END_TEST

static struct be_node *
check_attach_encode(const struct attach_record *r, const void *obj, struct dp_buf *b)
{
	b->len = 0;
	attach_encode_record(b, r, obj);
	struct be_error be;
	struct be_node *n = be_decode(b->data, b->len, NULL, &be);
	ck_assert_msg(n != NULL, "%s", be.msg);
	return n;
}

START_TEST(test_torrent_round_trip)
{
	struct engine_torrent_stats a, z;
	memset(&a, 0, sizeof a);
	snprintf(a.name, sizeof a.name, "ubuntu \xc3\xa9.iso");
	snprintf(a.info_hash_hex, sizeof a.info_hash_hex, "%040d", 7);
	snprintf(a.labels, sizeof a.labels, "tv,hd");
	a.state = ENGINE_TORRENT_SEEDING;
	a.progress = 0.25;
	a.ratio = -1;
	a.eta_s = -1;
	a.total_size = UINT64_MAX;          /* wraps negative on the wire, back on decoding */
	a.piece_length = 1u << 20;
	a.file_count = 3;
	a.down_rate = 12345;
	a.sequential = true;
	a.peers_connected = -5;
	a.added_date = 1700000000;
	struct dp_buf b;
	dp_buf_init(&b);
	memset(&z, 0, sizeof z);
	char err[128];
	struct be_node *s = check_attach_encode(&attach_torrent_static, &a, &b);
	ck_assert(attach_decode_record(s, &attach_torrent_static, &z, err, sizeof err));
	be_free(s);
	struct be_node *d = check_attach_encode(&attach_torrent_dynamic, &a, &b);
	ck_assert(attach_decode_record(d, &attach_torrent_dynamic, &z, err, sizeof err));
	be_free(d);
	ck_assert_int_eq(memcmp(&a, &z, sizeof a), 0);
	/* zero values stay off the wire: an idle row is small */
	memset(&a, 0, sizeof a);
	b.len = 0;
	attach_encode_record(&b, &attach_torrent_dynamic, &a);
	ck_assert_uint_eq(b.len, 2);
	dp_buf_free(&b);
}
END_TEST

START_TEST(test_file_strdup_round_trip)
{
	struct engine_file_info a = { .path = (char *)"a/b.mkv", .display_path = (char *)"a/b.mkv",
		.size = 5, .done = 2, .priority = ENGINE_PRIO_HIGH, .level = ENGINE_PRIO_HIGH };
	struct engine_file_info z = { 0 };
	struct dp_buf b;
	dp_buf_init(&b);
	char err[128];
	for (int pass = 0; pass < 2; pass++) {     /* the second decode frees the first strings */
		struct be_node *s = check_attach_encode(&attach_file_static, &a, &b);
		ck_assert(attach_decode_record(s, &attach_file_static, &z, err, sizeof err));
		be_free(s);
		struct be_node *d = check_attach_encode(&attach_file_dynamic, &a, &b);
		ck_assert(attach_decode_record(d, &attach_file_dynamic, &z, err, sizeof err));
		be_free(d);
	}
	ck_assert_str_eq(z.path, "a/b.mkv");
	ck_assert_uint_eq(z.done, 2);
	ck_assert_int_eq(z.priority, ENGINE_PRIO_HIGH);
	ck_assert_int_eq(z.level, ENGINE_PRIO_HIGH);
	attach_record_free(&attach_file_static, &z);
	ck_assert_ptr_null(z.path);
	dp_buf_free(&b);
}
END_TEST

static bool
check_attach_decode_text(const char *text, const struct attach_record *r, void *obj, char *err,
    size_t errlen)
{
	struct be_error be;
	struct be_node *n = be_decode((const uint8_t *)text, strlen(text), NULL, &be);
	ck_assert_msg(n != NULL, "%s: %s", text, be.msg);
	bool ok = attach_decode_record(n, r, obj, err, errlen);
	be_free(n);
	return ok;
}

START_TEST(test_hostile_records)
{
	struct engine_torrent_stats t;
	struct engine_peer_info p;
	struct engine_file_info f = { 0 };
	char err[128];
	/* an enum past its list, a bool of 2, an int32 past its range, a string for an int */
	ck_assert(!check_attach_decode_text("d2:sti99ee", &attach_torrent_dynamic, &t, err,
	    sizeof err));
	ck_assert(strstr(err, "'st'") != NULL);
	ck_assert(!check_attach_decode_text("d2:sti-1ee", &attach_torrent_dynamic, &t, err,
	    sizeof err));
	ck_assert(!check_attach_decode_text("d2:sqi2ee", &attach_torrent_dynamic, &t, err,
	    sizeof err));
	ck_assert(!check_attach_decode_text("d2:pci4294967296ee", &attach_torrent_dynamic, &t, err,
	    sizeof err));
	ck_assert(!check_attach_decode_text("d2:dr1:xe", &attach_torrent_dynamic, &t, err,
	    sizeof err));
	ck_assert(!check_attach_decode_text("d2:nai1ee", &attach_torrent_static, &t, err,
	    sizeof err));
	ck_assert(!check_attach_decode_text("le", &attach_peer_rec, &p, err, sizeof err));
	/* a path with a NUL in it is refused, never cut (it would name another file) */
	struct be_error be;
	struct be_node *nul = be_decode((const uint8_t *)"d2:pt3:a\0be", 11, NULL, &be);
	ck_assert_ptr_nonnull(nul);
	ck_assert(!attach_decode_record(nul, &attach_file_static, &f, err, sizeof err));
	be_free(nul);
	attach_record_free(&attach_file_static, &f);
	/* a name longer than its field is cut to fit, NUL-terminated; unknown keys are skipped */
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "na");
	char big[600];
	memset(big, 'x', sizeof big);
	be_enc_str(&b, big, sizeof big);
	be_enc_cstr(&b, "zz");
	be_enc_int(&b, 1);
	be_enc_end(&b);
	dp_buf_add(&b, "", 1);
	ck_assert(check_attach_decode_text((const char *)b.data, &attach_torrent_static, &t, err,
	    sizeof err));
	ck_assert_uint_eq(strlen(t.name), sizeof t.name - 1);
	dp_buf_free(&b);
}
END_TEST

START_TEST(test_cmd_round_trip_and_hostile)
{
	size_t files[] = { 0, 4, 9 };
	struct client_cmd c = { .kind = CLIENT_CMD_FILE_PRIORITY, .torrent = 12,
		.prio = ENGINE_PRIO_LOW, .files = files, .nfiles = 3, .text = "x", .cwd = "/home/u" };
	struct dp_buf b;
	dp_buf_init(&b);
	attach_encode_cmd(&b, &c);
	struct be_error be;
	struct be_node *n = be_decode(b.data, b.len, NULL, &be);
	ck_assert_ptr_nonnull(n);
	struct attach_cmd *ac = calloc(1, sizeof *ac);
	char err[128];
	ck_assert(attach_decode_cmd(n, ac, err, sizeof err));
	ck_assert_int_eq(ac->cmd.kind, CLIENT_CMD_FILE_PRIORITY);
	ck_assert_int_eq(ac->cmd.torrent, 12);
	ck_assert_int_eq(ac->cmd.prio, ENGINE_PRIO_LOW);
	ck_assert_uint_eq(ac->cmd.nfiles, 3);
	ck_assert_uint_eq(ac->cmd.files[2], 9);
	ck_assert_str_eq(ac->cmd.cwd, "/home/u");
	ck_assert_str_eq(ac->cmd.text, "x");
	attach_cmd_free(ac);
	be_free(n);
	static const char *const bad[] = {
		"d1:k7:unknowne",                       /* not a command */
		"de",                                   /* no kind */
		"d1:k5:start1:ti-1ee",                  /* a negative torrent */
		"d1:k13:file-priority2:pri4ee",         /* a priority past HIGH */
		"d1:k10:queue-move2:whi9ee",            /* a place past BOTTOM */
		"d1:k5:start2:oni2ee",                  /* on is 0 or 1 */
		"d2:fli-1e1:k13:file-prioritye",        /* files is a list */
		"d2:flli-1ee1:k13:file-prioritye",      /* of indexes >= 0 */
		"d1:k8:add-file2:tx3:a\0be",            /* a NUL in a path */
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(bad); i++) {
		size_t len = strlen(bad[i]);
		if (i == DP_ARRAY_LEN(bad) - 1)
			len = 24;
		n = be_decode((const uint8_t *)bad[i], len, NULL, &be);
		ck_assert_msg(n != NULL, "%s: %s", bad[i], be.msg);
		ck_assert_msg(!attach_decode_cmd(n, ac, err, sizeof err), "accepted %s", bad[i]);
		attach_cmd_free(ac);
		be_free(n);
	}
	free(ac);
	dp_buf_free(&b);
}
END_TEST

/* ---- the delta table ---- */

static void
check_attach_part(struct dp_buf *p, int64_t v)
{
	p->len = 0;
	be_enc_int(p, v);
}

START_TEST(test_delta_rows)
{
	struct attach_delta d;
	attach_delta_init(&d);
	struct dp_buf st, dy, out;
	dp_buf_init(&st);
	dp_buf_init(&dy);
	dp_buf_init(&out);
	check_attach_part(&st, 1);
	check_attach_part(&dy, 2);
	attach_delta_begin(&d);
	ck_assert_int_eq(attach_delta_row(&d, 5, &st, &dy, true, &out), ATTACH_ROW_SENT);
	/* a new row carries both parts and its key */
	out.len = 0;
	attach_delta_begin(&d);
	ck_assert_int_eq(attach_delta_row(&d, 5, &st, &dy, true, &out), ATTACH_ROW_SAME);
	ck_assert_uint_eq(out.len, 0);
	check_attach_part(&dy, 3);
	ck_assert_int_eq(attach_delta_row(&d, 5, &st, &dy, true, &out), ATTACH_ROW_SENT);
	out.len > 0 ? dp_buf_add(&out, "", 1) : (void)0;
	ck_assert_str_eq((const char *)out.data, "d1:di3e1:ki5ee");    /* only "d" changed */
	/* no room: held, and still due next time */
	out.len = 0;
	check_attach_part(&dy, 4);
	ck_assert_int_eq(attach_delta_row(&d, 5, &st, &dy, false, &out), ATTACH_ROW_HELD);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_int_eq(attach_delta_row(&d, 5, &st, &dy, true, &out), ATTACH_ROW_SENT);
	/* a key not seen in a pass is gone, once */
	attach_delta_begin(&d);
	ck_assert_int_eq(attach_delta_row(&d, 6, &st, &dy, true, &out), ATTACH_ROW_SENT);
	out.len = 0;
	ck_assert_uint_eq(attach_delta_gone(&d, &out), 1);
	dp_buf_add(&out, "", 1);
	ck_assert_str_eq((const char *)out.data, "i5e");
	ck_assert_ptr_null(attach_delta_find(&d, 5));
	attach_delta_begin(&d);
	ck_assert_ptr_nonnull(attach_delta_seen(&d, 6));
	ck_assert_ptr_null(attach_delta_seen(&d, 5));
	out.len = 0;
	ck_assert_uint_eq(attach_delta_gone(&d, &out), 0);
	attach_delta_free(&d);
	dp_buf_free(&st);
	dp_buf_free(&dy);
	dp_buf_free(&out);
}
END_TEST

/* Many inserts and removals (the table grows and shifts back) agree with a plain array. */
START_TEST(test_delta_table_churn)
{
	enum { KEYS = 5000 };
	struct attach_delta d;
	attach_delta_init(&d);
	bool *in = calloc(KEYS, sizeof *in);
	struct dp_buf p, out;
	dp_buf_init(&p);
	dp_buf_init(&out);
	check_attach_part(&p, 1);
	unsigned seed = 12345;
	for (int round = 0; round < 40000; round++) {
		seed = seed * 1103515245u + 12345u;
		uint64_t k = (seed >> 8) % KEYS;
		if ((seed >> 4) & 1) {
			out.len = 0;
			attach_delta_row(&d, k, NULL, &p, true, &out);
			in[k] = true;
		} else {
			attach_delta_remove(&d, k);
			in[k] = false;
		}
	}
	size_t count = 0;
	for (uint64_t k = 0; k < KEYS; k++) {
		ck_assert_int_eq(attach_delta_find(&d, k) != NULL, in[k]);
		count += in[k];
	}
	ck_assert_uint_eq(attach_delta_count(&d), count);
	/* a sweep in slices meets every key */
	size_t cursor = 0, seen = 0;
	uint64_t buf[64];
	bool *met = calloc(KEYS, sizeof *met);
	for (size_t i = 0; i < dp_idmap_slots(&d.by_key) / 64 + 1; i++) {
		size_t got = attach_delta_keys(&d, &cursor, buf, DP_ARRAY_LEN(buf));
		for (size_t j = 0; j < got; j++) {
			ck_assert(buf[j] < KEYS && in[buf[j]]);
			met[buf[j]] = true;
		}
		seen += got;
	}
	ck_assert_uint_ge(seen, count);
	for (uint64_t k = 0; k < KEYS; k++)
		ck_assert_int_eq(met[k], in[k]);
	/* cleared: no key left, and the table is used again */
	attach_delta_clear(&d);
	ck_assert_uint_eq(attach_delta_count(&d), 0);
	ck_assert_ptr_null(attach_delta_find(&d, 7));
	out.len = 0;
	ck_assert_int_eq(attach_delta_row(&d, 7, NULL, &p, true, &out), ATTACH_ROW_SENT);
	ck_assert_ptr_nonnull(attach_delta_find(&d, 7));
	free(met);
	free(in);
	attach_delta_free(&d);
	dp_buf_free(&p);
	dp_buf_free(&out);
}
END_TEST

/* ---- the server ---- */

static int
check_attach_connect(const char *dir)
{
	char *path = attach_socket_path(dir);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	free(path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	return fd;
}

static void
check_attach_send(int fd, const char *body)
{
	struct dp_buf b;
	dp_buf_init(&b);
	size_t at = attach_frame_begin(&b);
	dp_buf_add_str(&b, body);
	attach_frame_end(&b, at);
	ssize_t n = send(fd, b.data, b.len, MSG_NOSIGNAL);
	ck_assert_msg(n == (ssize_t)b.len || (n < 0 && (errno == EPIPE || errno == ECONNRESET)), "send: %s",
	    strerror(errno));
	dp_buf_free(&b);
}

/* Whether a task whose name starts with prefix finished with a reason that has needle in it. */
static bool
check_attach_finished(struct engine *e, const char *prefix, const char *needle)
{
	struct engine_task_info *t;
	size_t n = engine_tasks(e, &t);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++) {
		if (strncmp(t[i].name, prefix, strlen(prefix)) == 0 && t[i].finished_us != 0 &&
		    strstr(t[i].reason, needle) != NULL)
			found = true;
	}
	free(t);
	return found;
}

/* Reads what is there without waiting; 0 at EOF, -1 when nothing is there yet. */
static ssize_t
check_attach_drain(int fd, struct dp_buf *got)
{
	uint8_t buf[65536];
	ssize_t total = -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0)
			return total;
		if (n == 0)
			return 0;
		dp_buf_add(got, buf, (size_t)n);
		total = total < 0 ? n : total + n;
	}
}

static void
check_attach_stop(void *arg)
{
	*(bool *)arg = true;
}

/* The server tests' daemon side: an engine with one disk worker and its attach server. */
static struct {
	char dir[256];
	struct event_base *base;
	struct engine *e;
	struct attach_server *s;
	bool stopped;
} server;

static void
check_attach_srv_setup(void)
{
	th_tmpdir_make(server.dir, sizeof server.dir, "attach");
	server.base = event_base_new();
	server.e = th_engine_loopback(server.base, server.dir, 1);
	server.stopped = false;
	char err[256];
	server.s = attach_server_new(server.base, server.e, server.dir, check_attach_stop, &server.stopped, err,
	    sizeof err);
	ck_assert_msg(server.s != NULL, "%s", err);
}

static void
check_attach_srv_teardown(void)
{
	attach_server_free(server.s);
	engine_free(server.e);
	event_base_free(server.base);
	th_rm_rf(server.dir);
}

/* A UI that asks and never reads is dropped at the output bound; the daemon's memory stays put.
 * A hello of another version is answered with the reason and closed; so is a request before
 * hello. */
START_TEST(test_server_drops_silent_client)
{
	const char *dir = server.dir;
	struct event_base *base = server.base;
	struct engine *e = server.e;
	/* log lines make each "log" answer ~60 KiB */
	for (int i = 0; i < 300; i++)
		log_info("check_attach filler line %d %0200d", i, 0);

	/* another version: the reason, then EOF */
	int fd = check_attach_connect(dir);
	check_attach_send(fd, "d2:idi1e2:op5:hello1:vi99ee");
	struct dp_buf got;
	dp_buf_init(&got);
	ssize_t r = -1;
	RUN_UNTIL(base, (r = check_attach_drain(fd, &got)) == 0, 5);
	ck_assert_int_eq(r, 0);
	dp_buf_add(&got, "", 1);
	ck_assert_msg(strstr((const char *)got.data + 4, "protocol version 1") != NULL, "%s",
	    (const char *)got.data + 4);
	close(fd);
	/* a request before hello: refused and closed */
	got.len = 0;
	fd = check_attach_connect(dir);
	check_attach_send(fd, "d2:idi1e2:op4:liste");
	RUN_UNTIL(base, (r = check_attach_drain(fd, &got)) == 0, 5);
	ck_assert_int_eq(r, 0);
	dp_buf_add(&got, "", 1);
	ck_assert(strstr((const char *)got.data + 4, "hello first") != NULL);
	close(fd);

	/* the silent UI: hello, then requests it never reads the answers of */
	fd = check_attach_connect(dir);
	check_attach_send(fd, "d2:idi1e2:op5:hello1:vi1ee");
	/* in batches, the loop run between (a blocking send would wait for the loop forever) */
	const char *dropped = "does not read its answers";
	for (int i = 0; i < 600 && !check_attach_finished(e, "attached UI", dropped); i++) {
		check_attach_send(fd, "d5:afteri0e2:idi2e3:maxi256e2:op3:loge");
		if (i % 20 == 19)
			th_loop_run(base, 20);
	}
	RUN_UNTIL(base, check_attach_finished(e, "attached UI", dropped), 20);
	ck_assert(check_attach_finished(e, "attached UI", dropped));
	ck_assert(!server.stopped);
	close(fd);
	dp_buf_free(&got);
}
END_TEST

/* How many whole frames got holds (what arrived so far, read without waiting from fd). */
static size_t
check_attach_frames(int fd, struct dp_buf *got)
{
	check_attach_drain(fd, got);
	size_t k = 0, pos = 0, len;
	while (got->len - pos >= ATTACH_FRAME_HEADER &&
	    attach_frame_peek(got->data + pos, ATTACH_FRAME_HEADER, ATTACH_MAX_REPLY, &len) == 1 &&
	    got->len - pos - ATTACH_FRAME_HEADER >= len) {
		k++;
		pos += ATTACH_FRAME_HEADER + len;
	}
	return k;
}

/* The i-th frame of got, decoded (it points into got: be_free it before got changes). */
static struct be_node *
check_attach_frame(const struct dp_buf *got, size_t i)
{
	size_t pos = 0, len = 0;
	for (size_t k = 0; k <= i; k++) {
		pos += k == 0 ? 0 : ATTACH_FRAME_HEADER + len;
		ck_assert_int_eq(attach_frame_peek(got->data + pos, ATTACH_FRAME_HEADER,
		    ATTACH_MAX_REPLY, &len), 1);
	}
	char err[256];
	struct be_node *n = attach_decode_body(got->data + pos + ATTACH_FRAME_HEADER, len, err,
	    sizeof err);
	ck_assert_msg(n != NULL, "%s", err);
	return n;
}

/* The one disk worker held until released (bounded: 20 s). */
static atomic_bool check_attach_release;
static atomic_int check_attach_blockers;

static void
check_attach_block_work(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4000 && !atomic_load(&check_attach_release); i++)
		usleep(5000);
}

static void
check_attach_block_done(void *arg)
{
	(void)arg;
	atomic_fetch_sub(&check_attach_blockers, 1);
}

static void
check_attach_block(struct engine *e)
{
	atomic_store(&check_attach_release, false);
	atomic_fetch_add(&check_attach_blockers, 1);
	engine_run_blocking(e, "check_attach: holding the worker", check_attach_block_work,
	    check_attach_block_done, NULL);
}

/* The state and reason of the first unfinished task named name. */
static bool
check_attach_task_state(struct engine *e, const char *name, const char *state, const char *why)
{
	struct engine_task_info *t;
	size_t n = engine_tasks(e, &t);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		if (strcmp(t[i].name, name) == 0 && t[i].finished_us == 0)
			found = strcmp(t[i].state_name, state) == 0 && strstr(t[i].reason, why) != NULL;
	free(t);
	return found;
}

/* Tab completion reads the folder on the disk pool: while the pool is busy the loop answers
 * other clients, the completing client's later requests wait so that answers keep their order,
 * and the answer comes once the folder is read. A client that leaves meanwhile is not answered
 * (nor touched: ASan). */
START_TEST(test_server_completes_on_pool)
{
	const char *dir = server.dir;
	struct event_base *base = server.base;
	struct engine *e = server.e;
	th_file_write(dir, "one.torrent", "x", 1);

	check_attach_block(e);
	int fd = check_attach_connect(dir), other = check_attach_connect(dir);
	char req[512];
	snprintf(req, sizeof req, "d1:b%zu:%s/on2:idi2e2:op8:completee", strlen(dir) + 3, dir);
	check_attach_send(fd, "d2:idi1e2:op5:hello1:vi1ee");
	check_attach_send(fd, req);
	check_attach_send(fd, "d2:idi3e2:op6:healthe");
	struct dp_buf got, got2;
	dp_buf_init(&got);
	dp_buf_init(&got2);
	RUN_UNTIL(base, check_attach_frames(fd, &got) >= 1, 10);
	ck_assert_uint_eq(check_attach_frames(fd, &got), 1);
	/* the worker is held: the completion waits, and the health request behind it */
	ck_assert(check_attach_task_state(e, "attached UI", "DISK_WAIT", "Tab completion"));
	/* meanwhile the loop serves another UI */
	check_attach_send(other, "d2:idi1e2:op5:hello1:vi1ee");
	RUN_UNTIL(base, check_attach_frames(other, &got2) >= 1, 10);
	ck_assert_uint_eq(check_attach_frames(other, &got2), 1);
	ck_assert_uint_eq(check_attach_frames(fd, &got), 1);
	atomic_store(&check_attach_release, true);
	RUN_UNTIL(base, check_attach_frames(fd, &got) >= 3, 10);
	ck_assert_uint_eq(check_attach_frames(fd, &got), 3);
	int64_t id;
	char b[512];
	for (size_t i = 0; i < 3; i++) {
		struct be_node *n = check_attach_frame(&got, i);
		ck_assert(attach_get_int(n, "id", &id));
		ck_assert_int_eq(id, (int64_t)i + 1);
		if (i == 1) {
			ck_assert(attach_get_str(n, "b", b, sizeof b));
			ck_assert_str_eq(b + strlen(dir), "/one.torrent");
			ck_assert(attach_get_int(n, "n", &id));
			ck_assert_int_eq(id, 1);
		}
		be_free(n);
	}
	RUN_UNTIL(base, atomic_load(&check_attach_blockers) == 0, 10);

	/* leaving while the completion waits for the worker */
	check_attach_block(e);
	check_attach_send(other, req);
	RUN_UNTIL(base, check_attach_task_state(e, "attached UI", "DISK_WAIT", "Tab completion"),
	    10);
	close(other);
	RUN_UNTIL(base, check_attach_finished(e, "attached UI", "detached"), 10);
	ck_assert(check_attach_finished(e, "attached UI", "detached"));
	atomic_store(&check_attach_release, true);
	RUN_UNTIL(base, atomic_load(&check_attach_blockers) == 0, 10);
	th_loop_run(base, 50);
	ck_assert(!server.stopped);
	close(fd);
	dp_buf_free(&got);
	dp_buf_free(&got2);
}
END_TEST

/* A command request (its "cmd" dictionary from attach_encode_cmd) as text for
 * check_attach_send. */
static char *
check_attach_cmd_request(const struct client_cmd *cmd, int64_t id)
{
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_dict_begin(&b);
	be_enc_cstr(&b, "cmd");
	attach_encode_cmd(&b, cmd);
	be_enc_cstr(&b, "id");
	be_enc_int(&b, id);
	be_enc_cstr(&b, "op");
	be_enc_cstr(&b, attach_op_name(ATTACH_OP_COMMAND));
	be_enc_end(&b);
	dp_buf_add(&b, "", 1);
	return (char *)b.data;
}

/* Adding a .torrent a UI names reads it on the disk pool, like Tab completion: the answer (the
 * new torrent's id) comes when the worker has read it, the torrent is there then; a file that
 * is not there is answered with its path and why. */
START_TEST(test_server_adds_file_on_pool)
{
	const char *dir = server.dir;
	struct event_base *base = server.base;
	struct engine *e = server.e;
	uint8_t data[1000] = { 1, 2, 3 };
	size_t len;
	uint8_t *t = th_torrent_single("named", data, sizeof data, 16384, &len);
	th_file_write(dir, "named.torrent", t, len);
	free(t);
	check_attach_block(e);
	int fd = check_attach_connect(dir);
	struct client_cmd cmd = { .kind = CLIENT_CMD_ADD_FILE, .text = "named.torrent",
		.cwd = dir };
	char *req = check_attach_cmd_request(&cmd, 2);
	check_attach_send(fd, "d2:idi1e2:op5:hello1:vi1ee");
	check_attach_send(fd, req);
	free(req);
	cmd.text = "missing.torrent";
	req = check_attach_cmd_request(&cmd, 3);
	check_attach_send(fd, req);
	free(req);
	struct dp_buf got;
	dp_buf_init(&got);
	RUN_UNTIL(base, check_attach_frames(fd, &got) >= 1 &&
	    check_attach_task_state(e, "attached UI", "DISK_WAIT", "reading a .torrent file"), 10);
	ck_assert(check_attach_task_state(e, "attached UI", "DISK_WAIT",
	    "request 2: reading a .torrent file"));
	ck_assert_uint_eq(check_attach_frames(fd, &got), 1);
	ck_assert_uint_eq(th_torrent_count(e), 0);
	atomic_store(&check_attach_release, true);
	RUN_UNTIL(base, check_attach_frames(fd, &got) >= 3, 10);
	ck_assert_uint_eq(check_attach_frames(fd, &got), 3);
	ck_assert_uint_eq(th_torrent_count(e), 1);
	struct be_node *n = check_attach_frame(&got, 1);
	int64_t v;
	ck_assert(attach_get_int(n, "id", &v));
	ck_assert_int_eq(v, 2);
	ck_assert(attach_get_int(n, "tid", &v));
	ck_assert_int_gt(v, 0);
	ck_assert(!attach_get_int(n, "err", &v));
	be_free(n);
	n = check_attach_frame(&got, 2);
	ck_assert(attach_get_int(n, "id", &v));
	ck_assert_int_eq(v, 3);
	char err[512], want[512];
	ck_assert(attach_get_str(n, "err", err, sizeof err));
	snprintf(want, sizeof want, "%s/missing.torrent: ", dir);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	be_free(n);
	RUN_UNTIL(base, atomic_load(&check_attach_blockers) == 0, 10);
	close(fd);
	dp_buf_free(&got);
}
END_TEST

/* The tasks answer in slices of 64 tasks: the requests behind it wait and the answers keep
 * their order, the client's task says it answers in slices meanwhile, every task comes in the
 * first answer, and a second answer sends none of the tasks that only waited (their times go
 * as instants, which the copy's duration does not move). */
START_TEST(test_server_tasks_in_slices)
{
	const char *dir = server.dir;
	struct event_base *base = server.base;
	struct engine *e = server.e;
	attach_server_set_tasks_slice_us(server.s, 1);
	enum { N = 3000 };
	struct engine_task *t[N];
	for (int i = 0; i < N; i++) {
		t[i] = engine_task_new(e, ENGINE_TASK_KIND_TRACKER, 0, "check_attach tracker %d", i);
		engine_task_idle(t[i], ENGINE_TASK_TIMER_WAIT, "the next announce");
	}
	int fd = check_attach_connect(dir);
	check_attach_send(fd, "d2:idi1e2:op5:hello1:vi1ee");
	check_attach_send(fd, "d2:idi2e2:op5:taskse");
	check_attach_send(fd, "d2:idi3e2:op6:healthe");
	struct dp_buf got;
	dp_buf_init(&got);
	RUN_UNTIL(base, check_attach_task_state(e, "attached UI", "SLICE_WAIT", "in slices"), 10);
	RUN_UNTIL(base, check_attach_frames(fd, &got) >= 3, 20);
	ck_assert_uint_eq(check_attach_frames(fd, &got), 3);
	for (size_t i = 0; i < 3; i++) {
		struct be_node *n = check_attach_frame(&got, i);
		int64_t id = 0;
		ck_assert(attach_get_int(n, "id", &id));
		ck_assert_int_eq(id, (int64_t)i + 1);
		if (i == 1) {
			const struct be_node *rows = be_dict_get_type(n, "rows", BE_LIST);
			ck_assert_ptr_nonnull(rows);
			ck_assert_uint_gt(rows->v.list.n, N);
		}
		be_free(n);
	}
	/* again, a moment later: the waiting trackers are not sent again */
	usleep(20000);
	dp_buf_free(&got);
	dp_buf_init(&got);
	check_attach_send(fd, "d2:idi4e2:op5:taskse");
	RUN_UNTIL(base, check_attach_frames(fd, &got) >= 1, 20);
	struct be_node *n = check_attach_frame(&got, 0);
	const struct be_node *rows = be_dict_get_type(n, "rows", BE_LIST);
	ck_assert_ptr_nonnull(rows);
	ck_assert_msg(rows->v.list.n < 20, "%zu rows sent again", rows->v.list.n);
	be_free(n);
	dp_buf_free(&got);
	close(fd);
	for (int i = 0; i < N; i++) {
		engine_task_done(t[i], "test over");
		engine_task_release(&t[i]);
	}
	th_loop_run(base, 50);
}
END_TEST

/* The first torrent list comes in answers of 16 new rows when each may read rows for 1 us:
 * each but the last says "more", each row comes once, and all 40 are there at the end; a
 * request after that sends none again. */
START_TEST(test_server_list_in_slices)
{
	const char *dir = server.dir;
	struct event_base *base = server.base;
	struct engine *e = server.e;
	attach_server_set_list_slice_us(server.s, 1);
	enum { N = 40 };
	char err[256];
	for (int i = 0; i < N; i++) {
		uint8_t data[64];
		memset(data, i, sizeof data);
		char name[32];
		snprintf(name, sizeof name, "s%02d.bin", i);
		size_t len;
		uint8_t *t = th_torrent_single(name, data, sizeof data, 16384, &len);
		int id;
		ck_assert_msg(engine_add_torrent_data(e, t, len, NULL, &id, err, sizeof err) == 0,
		    "%s", err);
		free(t);
	}
	int fd = check_attach_connect(dir);
	check_attach_send(fd, "d2:idi1e2:op5:hello1:vi1ee");
	struct dp_buf got;
	dp_buf_init(&got);
	RUN_UNTIL(base, check_attach_frames(fd, &got) >= 1, 10);
	bool seen[N + 1] = { false };
	size_t total = 0, answers = 0;
	bool more = true;
	for (int req = 2; more && req < 2 + 3 * N; req++) {
		char line[64];
		snprintf(line, sizeof line, "d2:idi%de2:op4:liste", req);
		dp_buf_free(&got);
		dp_buf_init(&got);
		check_attach_send(fd, line);
		RUN_UNTIL(base, check_attach_frames(fd, &got) >= 1, 10);
		struct be_node *n = check_attach_frame(&got, 0);
		int64_t v = 0;
		more = attach_get_int(n, "more", &v) && v != 0;
		const struct be_node *rows = be_dict_get_type(n, "rows", BE_LIST);
		ck_assert_ptr_nonnull(rows);
		if (more)
			ck_assert_uint_eq(rows->v.list.n, 16);
		for (size_t i = 0; i < rows->v.list.n; i++) {
			int64_t k = 0;
			ck_assert(attach_get_int(rows->v.list.items[i], "k", &k));
			ck_assert(k >= 1 && k <= N);
			ck_assert_msg(!seen[k], "row %lld sent twice", (long long)k);
			seen[k] = true;
			total++;
		}
		answers++;
		be_free(n);
	}
	ck_assert(!more);
	ck_assert_uint_eq(total, N);
	ck_assert_uint_ge(answers, 3);
	/* whole: the next answer has only what changed since (nothing but the sweep's same rows) */
	dp_buf_free(&got);
	dp_buf_init(&got);
	check_attach_send(fd, "d2:idi999e2:op4:liste");
	RUN_UNTIL(base, check_attach_frames(fd, &got) >= 1, 10);
	struct be_node *n = check_attach_frame(&got, 0);
	const struct be_node *rows = be_dict_get_type(n, "rows", BE_LIST);
	ck_assert_ptr_nonnull(rows);
	ck_assert_msg(rows->v.list.n < N, "%zu rows sent again", rows->v.list.n);
	be_free(n);
	dp_buf_free(&got);
	close(fd);
}
END_TEST

Suite *
attach_suite(void)
{
	Suite *s = suite_create("attach");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_frame_header);
	tcase_add_test(tc, test_tables_cover_structs);
	tcase_add_test(tc, test_torrent_round_trip);
	tcase_add_test(tc, test_file_strdup_round_trip);
	tcase_add_test(tc, test_hostile_records);
	tcase_add_test(tc, test_cmd_round_trip_and_hostile);
	tcase_add_test(tc, test_delta_rows);
	tcase_add_test(tc, test_delta_table_churn);
	suite_add_tcase(s, tc);
	TCase *srv = tcase_create("server");
	tcase_set_timeout(srv, 60);
	tcase_add_checked_fixture(srv, check_attach_srv_setup, check_attach_srv_teardown);
	tcase_add_test(srv, test_server_drops_silent_client);
	tcase_add_test(srv, test_server_completes_on_pool);
	tcase_add_test(srv, test_server_tasks_in_slices);
	tcase_add_test(srv, test_server_list_in_slices);
	tcase_add_test(srv, test_server_adds_file_on_pool);
	suite_add_tcase(s, srv);
	return s;
}
