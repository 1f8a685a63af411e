/* check_client.c: the torrent list the clients keep (client_rows: lookups through removals that
 * move rows), and the in-process client following an engine: the first list read in slices,
 * then only what changed (a stop, a removal, an addition) at each refresh. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <sys/stat.h>
#include <event2/event.h>

#include "client.h"
#include "client_local.h"
#include "client_rows.h"
#include "engine.h"
#include "suites.h"
#include "test_helpers.h"
#include "util.h"

START_TEST(test_rows_find_after_moves)
{
	struct client_rows r;
	client_rows_init(&r);
	bool fresh;
	for (int id = 1; id <= 100; id++) {
		struct engine_torrent_stats *t = client_rows_get(&r, id, &fresh);
		ck_assert(fresh);
		t->progress = id / 100.0;
	}
	ck_assert_ptr_eq(client_rows_get(&r, 7, &fresh), client_rows_find(&r, 7));
	ck_assert(!fresh);
	/* removals from the front, the middle and the end: each moves the last row */
	ck_assert(client_rows_remove(&r, 1));
	ck_assert(client_rows_remove(&r, 50));
	ck_assert(client_rows_remove(&r, 100));
	ck_assert(!client_rows_remove(&r, 50));
	ck_assert_uint_eq(r.n, 97);
	for (int id = 1; id <= 100; id++) {
		const struct engine_torrent_stats *t = client_rows_find(&r, id);
		if (id == 1 || id == 50 || id == 100) {
			ck_assert_ptr_null(t);
			continue;
		}
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(t->id, id);
		ck_assert(t->progress > id / 100.0 - 1e-9 && t->progress < id / 100.0 + 1e-9);
	}
	client_rows_clear(&r);
	ck_assert_uint_eq(r.n, 0);
	ck_assert_ptr_null(client_rows_find(&r, 2));
	client_rows_free(&r);
}
END_TEST

/* Whether ids[0..n) holds id. */
static bool
check_client_has(const int *ids, size_t n, int id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* The changes the list screen follows: every row written, the row a removal moved and the one
 * removed, nothing else; all rows at first, after a clear, and when the notes outgrow the rows. */
START_TEST(test_rows_changes)
{
	struct client_rows r;
	client_rows_init(&r);
	int *ids;
	bool all, fresh;
	ck_assert_uint_eq(client_rows_take_changes(&r, &ids, &all), 0);
	ck_assert(all);
	for (int id = 1; id <= 10; id++)
		client_rows_get(&r, id, &fresh);
	size_t n = client_rows_take_changes(&r, &ids, &all);
	ck_assert(!all);
	ck_assert_uint_eq(n, 10);
	free(ids);
	ck_assert_uint_eq(client_rows_take_changes(&r, &ids, &all), 0);
	ck_assert(!all);
	ck_assert_ptr_null(ids);
	/* a write to 4; removing 2 moves 10 into its place; removing the last row moves none */
	client_rows_get(&r, 4, &fresh);
	ck_assert(client_rows_remove(&r, 2));
	ck_assert(client_rows_remove(&r, 9));
	n = client_rows_take_changes(&r, &ids, &all);
	ck_assert(!all);
	ck_assert_uint_eq(n, 4);
	ck_assert(check_client_has(ids, n, 4) && check_client_has(ids, n, 2) &&
	    check_client_has(ids, n, 10) && check_client_has(ids, n, 9));
	ck_assert(!check_client_has(ids, n, 3));
	free(ids);
	/* many more writes than rows: all, and no list kept */
	for (int k = 0; k < 200; k++)
		client_rows_get(&r, 1 + k % 5, &fresh);
	n = client_rows_take_changes(&r, &ids, &all);
	ck_assert(all);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(ids);
	client_rows_get(&r, 3, &fresh);
	client_rows_clear(&r);
	n = client_rows_take_changes(&r, &ids, &all);
	ck_assert(all);
	free(ids);
	client_rows_free(&r);
}
END_TEST

static struct {
	char dir[256];
	struct event_base *base;
	struct engine *e;
} cl;

static void
check_client_setup(void)
{
	th_tmpdir_make(cl.dir, sizeof cl.dir, "client");
	cl.base = event_base_new();
	cl.e = th_engine_loopback(cl.base, cl.dir, 1);
}

static void
check_client_teardown(void)
{
	engine_free(cl.e);
	event_base_free(cl.base);
	th_rm_rf(cl.dir);
}

static int
check_client_add(int i)
{
	char name[32], err[256];
	uint8_t data[64];
	memset(data, i, sizeof data);
	snprintf(name, sizeof name, "c%03d.bin", i);
	size_t len;
	uint8_t *tor = th_torrent_single(name, data, sizeof data, 16384, &len);
	int id = 0;
	ck_assert_msg(engine_add_torrent_data(cl.e, tor, len, NULL, &id, err, sizeof err) == 0, "%s",
	    err);
	free(tor);
	return id;
}

static const struct engine_torrent_stats *
check_client_row(const struct engine_torrent_stats *ts, size_t n, int id)
{
	for (size_t i = 0; i < n; i++)
		if (ts[i].id == id)
			return &ts[i];
	return NULL;
}

/* Snapshots until the list is whole (bounded); returns the count. */
static size_t
check_client_whole(struct client *c, const struct engine_torrent_stats **ts, int *rounds)
{
	struct engine_global_stats g;
	size_t n = 0;
	*rounds = 0;
	do {
		n = client_snapshot(c, ts, &g);
		(*rounds)++;
	} while (client_list_partial(c) && *rounds < 1000);
	return n;
}

#define CHECK_CLIENT_N 40

START_TEST(test_local_first_list_in_slices)
{
	int ids[CHECK_CLIENT_N];
	for (int i = 0; i < CHECK_CLIENT_N; i++)
		ids[i] = check_client_add(i);
	struct client *c = client_local_new(cl.e);
	/* a budget no slice can meet: a slice is then the 16 rows read between clock reads */
	client_local_set_slice_us(c, 1);
	const struct engine_torrent_stats *ts;
	struct engine_global_stats g;
	size_t n = client_snapshot(c, &ts, &g);
	ck_assert_uint_eq(n, 16);
	ck_assert(client_list_partial(c));
	ck_assert_int_eq(g.torrents, CHECK_CLIENT_N);
	int rounds;
	n = check_client_whole(c, &ts, &rounds);
	ck_assert_uint_eq(n, CHECK_CLIENT_N);
	ck_assert_int_ge(rounds, 2);
	for (int i = 0; i < CHECK_CLIENT_N; i++) {
		const struct engine_torrent_stats *t = check_client_row(ts, n, ids[i]);
		ck_assert_ptr_nonnull(t);
		char name[32];
		snprintf(name, sizeof name, "c%03d.bin", i);
		ck_assert_str_eq(t->name, name);
	}
	client_free(c);
}
END_TEST

START_TEST(test_local_follows_changes)
{
	int a = check_client_add(1), b = check_client_add(2), d = check_client_add(3);
	struct client *c = client_local_new(cl.e);
	const struct engine_torrent_stats *ts;
	int rounds;
	size_t n = check_client_whole(c, &ts, &rounds);
	ck_assert_uint_eq(n, 3);
	char err[256];
	/* a stop is marked on the torrent: the next refresh re-reads that row */
	ck_assert_msg(engine_torrent_stop(cl.e, b, err, sizeof err) == 0, "%s", err);
	n = check_client_whole(c, &ts, &rounds);
	ck_assert_int_eq(check_client_row(ts, n, b)->state, ENGINE_TORRENT_STOPPED);
	/* a removal drops the row, an addition brings one */
	ck_assert_msg(engine_torrent_remove(cl.e, a, false, err, sizeof err) == 0, "%s", err);
	int e2 = check_client_add(4);
	n = check_client_whole(c, &ts, &rounds);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_null(check_client_row(ts, n, a));
	ck_assert_ptr_nonnull(check_client_row(ts, n, d));
	ck_assert_str_eq(check_client_row(ts, n, e2)->name, "c004.bin");
	ck_assert_int_eq(check_client_row(ts, n, b)->state, ENGINE_TORRENT_STOPPED);
	/* the lookup by id the UI uses finds the same rows */
	ck_assert_ptr_null(client_torrent(c, a));
	ck_assert_ptr_eq(client_torrent(c, e2), check_client_row(ts, n, e2));
	/* started again: re-read though the refresh comes much later than the last */
	ck_assert_msg(engine_torrent_start(cl.e, b, err, sizeof err) == 0, "%s", err);
	th_loop_run(cl.base, 100);
	n = check_client_whole(c, &ts, &rounds);
	ck_assert_int_ne(check_client_row(ts, n, b)->state, ENGINE_TORRENT_STOPPED);
	client_free(c);
}
END_TEST

static struct {
	int calls, n, rc, id;
	char buf[4096], hint[1024], err[512];
} check_answer;

static void
check_client_completed(void *arg, const char *buf, const char *hint, int n)
{
	(void)arg;
	check_answer.calls++;
	check_answer.n = n;
	snprintf(check_answer.buf, sizeof check_answer.buf, "%s", buf);
	snprintf(check_answer.hint, sizeof check_answer.hint, "%s", hint);
}

static void
check_client_added(void *arg, int rc, int id, const char *err)
{
	(void)arg;
	check_answer.calls++;
	check_answer.rc = rc;
	check_answer.id = id;
	snprintf(check_answer.err, sizeof check_answer.err, "%s", err);
}

/* In process, Tab completion and adding a file read the file system on a disk worker: the
 * answer comes on the loop later, never inside the call (the UI's loop is the engine's); a
 * newer completion drops the older one's answer, and so does client_free. */
START_TEST(test_local_fs_work_off_loop)
{
	char dir[512], path[600];
	snprintf(dir, sizeof dir, "%s/names", cl.dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	const char *names[] = { "alpha.torrent", "alpine.txt" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fclose(f);
	}
	struct client *c = client_local_new(cl.e);
	memset(&check_answer, 0, sizeof check_answer);
	client_complete_path_start(c, dir, "al", check_client_completed, NULL);
	ck_assert_int_eq(check_answer.calls, 0);
	RUN_UNTIL(cl.base, check_answer.calls > 0, 10);
	ck_assert_int_eq(check_answer.calls, 1);
	ck_assert_int_eq(check_answer.n, 2);
	ck_assert_str_eq(check_answer.buf, "alp");
	ck_assert_ptr_nonnull(strstr(check_answer.hint, "alpha.torrent"));
	/* two at once: only the second answers */
	memset(&check_answer, 0, sizeof check_answer);
	client_complete_path_start(c, dir, "alph", check_client_completed, NULL);
	client_complete_path_start(c, dir, "alpi", check_client_completed, NULL);
	RUN_UNTIL(cl.base, check_answer.calls > 0, 10);
	th_loop_run(cl.base, 100);
	ck_assert_int_eq(check_answer.calls, 1);
	ck_assert_str_eq(check_answer.buf, "alpine.txt");

	/* a .torrent read on a worker, then added on the loop */
	uint8_t data[64];
	memset(data, 7, sizeof data);
	size_t len;
	uint8_t *tor = th_torrent_single("off.bin", data, sizeof data, 16384, &len);
	snprintf(path, sizeof path, "%s/off.torrent", dir);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(tor, 1, len, f), len);
	fclose(f);
	free(tor);
	memset(&check_answer, 0, sizeof check_answer);
	struct client_cmd cmd = { .kind = CLIENT_CMD_ADD_FILE, .text = "off.torrent", .cwd = dir };
	client_command_start(c, &cmd, check_client_added, NULL);
	ck_assert_int_eq(check_answer.calls, 0);
	RUN_UNTIL(cl.base, check_answer.calls > 0, 10);
	ck_assert_int_eq(check_answer.calls, 1);
	ck_assert_msg(check_answer.rc == 0, "%s", check_answer.err);
	ck_assert_int_gt(check_answer.id, 0);
	struct engine_torrent_stats ts;
	ck_assert_int_eq(engine_torrent_get(cl.e, check_answer.id, &ts), 0);
	ck_assert_str_eq(ts.name, "off.bin");
	/* a file that is not there: the reason names it */
	memset(&check_answer, 0, sizeof check_answer);
	cmd.text = "nothere.torrent";
	client_command_start(c, &cmd, check_client_added, NULL);
	RUN_UNTIL(cl.base, check_answer.calls > 0, 10);
	ck_assert_int_eq(check_answer.rc, -1);
	ck_assert_ptr_nonnull(strstr(check_answer.err, "nothere.torrent"));
	/* the client gone before the answer: it never comes, and nothing is added */
	memset(&check_answer, 0, sizeof check_answer);
	client_complete_path_start(c, dir, "al", check_client_completed, NULL);
	cmd.text = "off.torrent";
	client_command_start(c, &cmd, check_client_added, NULL);
	client_free(c);
	th_loop_run(cl.base, 300);
	ck_assert_int_eq(check_answer.calls, 0);
}
END_TEST

Suite *
client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("rows");
	tcase_add_test(tc, test_rows_find_after_moves);
	tcase_add_test(tc, test_rows_changes);
	suite_add_tcase(s, tc);
	TCase *lo = tcase_create("local");
	tcase_add_checked_fixture(lo, check_client_setup, check_client_teardown);
	tcase_add_test(lo, test_local_first_list_in_slices);
	tcase_add_test(lo, test_local_follows_changes);
	tcase_add_test(lo, test_local_fs_work_off_loop);
	suite_add_tcase(s, lo);
	return s;
}
