/* check_watch.c: the watch directory (watch.c) on an engine's disk pool: files moved in are
 * handed over once each, in slices across loop turns, a .torrent parsed on the pool, a hostile
 * one with a clear error. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "engine.h"
#include "metainfo.h"
#include "suites.h"
#include "test_helpers.h"
#include "util.h"
#include "watch.h"

#define CHECK_WATCH_FILES 400

struct check_watch {
	struct th_turns turns;
	uint64_t last_turn;            /* the turn of the last file handed over */
	size_t files, same_turn, parsed, taken, errors;
	char bad_msg[300];
	bool seen[CHECK_WATCH_FILES];
	bool twice;
	struct watch *free_at_5;       /* freed from the callback of the 5th file */
};

static void
check_watch_cb(struct watch *w, struct watch_file *f, void *arg)
{
	struct check_watch *cw = arg;
	if (cw->files > 0 && cw->last_turn == cw->turns.n)
		cw->same_turn++;
	cw->last_turn = cw->turns.n;
	cw->files++;
	if (cw->free_at_5 != NULL && cw->files == 5) {
		watch_free(cw->free_at_5);
		cw->free_at_5 = NULL;
		return;
	}
	if (strcmp(f->name, "bad.torrent") == 0) {
		cw->errors++;
		ck_assert_int_eq(f->error, EINVAL);
		ck_assert_ptr_null(f->mi);
		snprintf(cw->bad_msg, sizeof cw->bad_msg, "%s", f->errmsg);
		watch_file_rename(w, f, ".invalid");
		return;
	}
	unsigned i;
	ck_assert_int_eq(sscanf(f->name, "t%u.torrent", &i), 1);
	ck_assert_uint_lt(i, CHECK_WATCH_FILES);
	if (cw->seen[i])
		cw->twice = true;
	cw->seen[i] = true;
	ck_assert_int_eq(f->error, 0);
	/* Parsed on the pool: the loop only takes it. */
	ck_assert_ptr_nonnull(f->mi);
	char want[32];
	snprintf(want, sizeof want, "w%u", i);
	ck_assert_str_eq(f->mi->name, want);
	cw->parsed++;
	if (i % 2 == 0) {
		/* taken: ours to free; the rest the watch frees */
		metainfo_free(f->mi);
		f->mi = NULL;
		cw->taken++;
	}
	watch_file_rename(w, f, ".added");
}

static bool
check_watch_exists(const char *dir, const char *name)
{
	char path[600];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/* t0.torrent .. t{n-1}.torrent in dir, of torrents w0 .. w{n-1}. */
static void
check_watch_write(const char *dir, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t data[100];
		memset(data, (int)i, sizeof data);
		char name[64], tname[64];
		snprintf(tname, sizeof tname, "w%u", i);
		size_t len;
		uint8_t *t = th_torrent_single(tname, data, sizeof data, 16384, &len);
		snprintf(name, sizeof name, "t%u.torrent", i);
		th_file_write(dir, name, t, len);
		free(t);
	}
}

static size_t
check_watch_count(const char *dir, const char *suffix)
{
	size_t n = 0;
	for (unsigned i = 0; i < CHECK_WATCH_FILES; i++) {
		char name[64];
		snprintf(name, sizeof name, "t%u.torrent%s", i, suffix);
		n += check_watch_exists(dir, name);
	}
	return n;
}

/* 400 torrents moved in at once (over 8 KiB of inotify events) and a file that is no torrent,
 * with a budget of 1 us: every file handed over once, each in a loop turn of its own, the good
 * ones parsed, all renamed. */
START_TEST(test_watch_in_slices)
{
	char dir[256], wdir[300], staging[300];
	th_tmpdir_make(dir, sizeof dir, "watch");
	snprintf(wdir, sizeof wdir, "%s/watch", dir);
	snprintf(staging, sizeof staging, "%s/staging", dir);
	ck_assert_int_eq(mkdir(wdir, 0755), 0);
	ck_assert_int_eq(mkdir(staging, 0755), 0);
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 1);
	struct check_watch cw = { 0 };
	th_turns_start(&cw.turns, base);
	struct watch *w = watch_new(e, base, wdir, check_watch_cb, &cw);
	watch_set_slice_us(w, 1);
	th_loop_run(base, 200);        /* set up and scanned (an empty folder) */
	check_watch_write(staging, CHECK_WATCH_FILES);
	th_file_write(staging, "bad.torrent", "d4:infoi1ee", 11);
	for (unsigned i = 0; i <= CHECK_WATCH_FILES; i++) {
		char name[64], from[400], to[400];
		if (i == CHECK_WATCH_FILES)
			snprintf(name, sizeof name, "bad.torrent");
		else
			snprintf(name, sizeof name, "t%u.torrent", i);
		snprintf(from, sizeof from, "%s/%s", staging, name);
		snprintf(to, sizeof to, "%s/%s", wdir, name);
		ck_assert_int_eq(rename(from, to), 0);
	}
	RUN_UNTIL(base, check_watch_count(wdir, ".added") == CHECK_WATCH_FILES &&
	    check_watch_exists(wdir, "bad.torrent.invalid"), 30);
	ck_assert_uint_eq(check_watch_count(wdir, ".added"), CHECK_WATCH_FILES);
	ck_assert_uint_eq(check_watch_count(wdir, ""), 0);
	ck_assert(check_watch_exists(wdir, "bad.torrent.invalid"));
	ck_assert_uint_eq(cw.files, CHECK_WATCH_FILES + 1);
	ck_assert(!cw.twice);
	ck_assert_uint_eq(cw.parsed, CHECK_WATCH_FILES);
	ck_assert_uint_eq(cw.taken, CHECK_WATCH_FILES / 2);
	ck_assert_uint_eq(cw.errors, 1);
	/* the error names the file and what is wrong with it */
	ck_assert_ptr_nonnull(strstr(cw.bad_msg, "bad.torrent: "));
	ck_assert_uint_gt(strlen(cw.bad_msg), strlen(wdir) + strlen("/bad.torrent: "));
	/* one file a turn: the loop ran between any two */
	ck_assert_uint_eq(cw.same_turn, 0);
	watch_free(w);
	th_loop_run(base, 100);
	th_turns_stop(&cw.turns);
	engine_free(e);
	event_base_free(base);
	th_rm_rf(dir);
}
END_TEST

/* Freed from the callback while files wait to be handed over: no more are, the rest are left
 * on disk for the next start, and what was read (the parsed torrents too) is freed (ASan: no
 * leak). */
START_TEST(test_watch_freed_midway)
{
	char dir[256], wdir[300];
	th_tmpdir_make(dir, sizeof dir, "watch");
	snprintf(wdir, sizeof wdir, "%s/watch", dir);
	ck_assert_int_eq(mkdir(wdir, 0755), 0);
	check_watch_write(wdir, 50);
	struct event_base *base = event_base_new();
	struct engine *e = th_engine_loopback(base, dir, 1);
	struct check_watch cw = { 0 };
	th_turns_start(&cw.turns, base);
	struct watch *w = watch_new(e, base, wdir, check_watch_cb, &cw);
	watch_set_slice_us(w, 1);
	cw.free_at_5 = w;
	/* found by the scan at start; the 5th one's callback frees the watch */
	RUN_UNTIL(base, cw.files >= 5, 10);
	th_loop_run(base, 200);
	ck_assert_uint_eq(cw.files, 5);
	ck_assert_ptr_null(cw.free_at_5);
	/* the 4 handed over before are renamed (or being renamed), the rest left as they were */
	ck_assert_uint_ge(check_watch_count(wdir, ""), 50 - 4);
	th_turns_stop(&cw.turns);
	engine_free(e);
	event_base_free(base);
	th_rm_rf(dir);
}
END_TEST

Suite *
watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("watch");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_watch_in_slices);
	tcase_add_test(tc, test_watch_freed_midway);
	suite_add_tcase(s, tc);
	return s;
}
