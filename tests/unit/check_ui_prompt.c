/* check_ui_prompt.c: the UI's one-line editor: UTF-8 aware cursor movement and deletion, the
 * readline keys, answers to y/n questions, file-name completion on Tab, and the tasks header's
 * per-kind summary. No terminal is needed: these are the pure parts of ui/. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>

#include <curses.h>

#include "path_complete.h"
#include "screens.h"
#include "ui_state.h"
#include "widget_prompt.h"
#include "suites.h"

static void
prompt_feed(struct ui_prompt *p, const char *keys)
{
	for (const char *k = keys; *k != '\0'; k++)
		ck_assert(prompt_edit(p, (unsigned char)*k));
}

static void
prompt_reset(struct ui_prompt *p, const char *text)
{
	memset(p, 0, sizeof *p);
	snprintf(p->buf, sizeof p->buf, "%s", text);
	p->len = p->cur = strlen(p->buf);
}

START_TEST(test_prompt_insert_and_move)
{
	struct ui_prompt p;
	prompt_reset(&p, "");
	prompt_feed(&p, "abc");
	ck_assert_str_eq(p.buf, "abc");
	ck_assert_uint_eq(p.cur, 3);
	/* é (2 bytes) and 日 (3 bytes) typed as code points */
	ck_assert(prompt_edit(&p, 0xe9));
	ck_assert(prompt_edit(&p, 0x65e5));
	ck_assert(prompt_edit(&p, 0x1f600));
	ck_assert_str_eq(p.buf, "abc\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80");
	ck_assert_uint_eq(p.len, 12);
	/* Left steps over whole characters, never into the middle of one */
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_LEFT));
	ck_assert_uint_eq(p.cur, 8);
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_LEFT));
	ck_assert_uint_eq(p.cur, 5);
	ck_assert(prompt_edit(&p, 2));    /* ^b */
	ck_assert_uint_eq(p.cur, 3);
	ck_assert(prompt_edit(&p, 6));    /* ^f */
	ck_assert_uint_eq(p.cur, 5);
	/* insert in the middle */
	ck_assert(prompt_edit(&p, 'X'));
	ck_assert_str_eq(p.buf, "abc\xc3\xa9X\xe6\x97\xa5\xf0\x9f\x98\x80");
	ck_assert_uint_eq(p.cur, 6);
	ck_assert(prompt_edit(&p, 1));    /* ^a */
	ck_assert_uint_eq(p.cur, 0);
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_LEFT));
	ck_assert_uint_eq(p.cur, 0);      /* stays at the start */
	ck_assert(prompt_edit(&p, 5));    /* ^e */
	ck_assert_uint_eq(p.cur, p.len);
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_RIGHT));
	ck_assert_uint_eq(p.cur, p.len);  /* stays at the end */
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_HOME));
	ck_assert_uint_eq(p.cur, 0);
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_END));
	ck_assert_uint_eq(p.cur, p.len);
}
END_TEST

START_TEST(test_prompt_delete)
{
	struct ui_prompt p;
	prompt_reset(&p, "a\xe6\x97\xa5z");
	/* Backspace removes the whole wide character before the cursor */
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_LEFT));
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_BACKSPACE));
	ck_assert_str_eq(p.buf, "az");
	ck_assert_uint_eq(p.len, 2);
	ck_assert_uint_eq(p.cur, 1);
	/* Delete and ^d remove the character under the cursor */
	prompt_reset(&p, "a\xe6\x97\xa5z");
	p.cur = 1;
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_DC));
	ck_assert_str_eq(p.buf, "az");
	ck_assert_uint_eq(p.cur, 1);
	ck_assert(prompt_edit(&p, 4));
	ck_assert_str_eq(p.buf, "a");
	ck_assert(prompt_edit(&p, 4));    /* at the end: nothing happens */
	ck_assert_str_eq(p.buf, "a");
	ck_assert_uint_eq(p.len, 1);
	p.cur = 0;
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_BACKSPACE));  /* at the start: nothing */
	ck_assert_str_eq(p.buf, "a");
	/* ^u: to the start, ^k: to the end */
	prompt_reset(&p, "hello world");
	p.cur = 6;
	ck_assert(prompt_edit(&p, 21));
	ck_assert_str_eq(p.buf, "world");
	ck_assert_uint_eq(p.cur, 0);
	p.cur = 2;
	ck_assert(prompt_edit(&p, 11));
	ck_assert_str_eq(p.buf, "wo");
	ck_assert_uint_eq(p.len, 2);
	/* ^w: the word before the cursor, stopping at a slash so paths shrink a component at a time */
	prompt_reset(&p, "add /tmp/some dir/file.torrent");
	ck_assert(prompt_edit(&p, 23));
	ck_assert_str_eq(p.buf, "add /tmp/some dir/");
	ck_assert(prompt_edit(&p, 23));
	ck_assert_str_eq(p.buf, "add /tmp/some dir/");  /* a slash just before: stays */
	p.cur = 13;                                      /* after "some" */
	ck_assert(prompt_edit(&p, 23));
	ck_assert_str_eq(p.buf, "add /tmp/ dir/");
	ck_assert_uint_eq(p.cur, 9);
	prompt_reset(&p, "two  ");
	ck_assert(prompt_edit(&p, 23));                  /* trailing spaces go with the word */
	ck_assert_str_eq(p.buf, "");
}
END_TEST

START_TEST(test_prompt_non_edit_keys_and_full)
{
	struct ui_prompt p;
	prompt_reset(&p, "x");
	ck_assert(!prompt_edit(&p, UI_KEY_FN | KEY_F(5)));
	ck_assert(!prompt_edit(&p, UI_KEY_FN | KEY_UP));
	ck_assert(!prompt_edit(&p, 3));       /* ^c */
	ck_assert(!prompt_edit(&p, 0x7f));
	ck_assert(!prompt_edit(&p, '\t'));
	ck_assert_str_eq(p.buf, "x");
	/* a full buffer: keys are swallowed, nothing overflows, the text stays terminated */
	memset(p.buf, 'a', sizeof p.buf - 1);
	p.buf[sizeof p.buf - 1] = '\0';
	p.len = p.cur = sizeof p.buf - 1;
	ck_assert(prompt_edit(&p, 'b'));
	ck_assert(prompt_edit(&p, 0x65e5));
	ck_assert_uint_eq(p.len, sizeof p.buf - 1);
	ck_assert_uint_eq(strlen(p.buf), sizeof p.buf - 1);
	/* one byte free: a 3-byte character does not fit, an ASCII one does */
	ck_assert(prompt_edit(&p, UI_KEY_FN | KEY_BACKSPACE));
	ck_assert(prompt_edit(&p, 0x65e5));
	ck_assert_uint_eq(p.len, sizeof p.buf - 2);
	ck_assert(prompt_edit(&p, 'c'));
	ck_assert_uint_eq(p.len, sizeof p.buf - 1);
	ck_assert_int_eq(p.buf[sizeof p.buf - 2], 'c');
}
END_TEST

/* ---- prompt_key: the answers a screen receives ---- */

static char answer[1100];
static int answers, changes;
static bool answer_null;

static void
on_done(struct ui *ui, const char *text, void *arg)
{
	(void)ui;
	ck_assert_ptr_eq(arg, &answers);
	answers++;
	answer_null = text == NULL;
	snprintf(answer, sizeof answer, "%s", text ? text : "");
}

static void
on_change(struct ui *ui, const char *text, void *arg)
{
	(void)ui;
	(void)arg;
	changes++;
	snprintf(answer, sizeof answer, "%s", text);
}

START_TEST(test_prompt_answers)
{
	struct ui *ui = calloc(1, sizeof *ui);
	ck_assert_ptr_nonnull(ui);
	answers = changes = 0;
	/* Enter hands over the text and closes the prompt */
	prompt_open(ui, "label:", "2M", false, on_done, NULL, &answers);
	ck_assert(ui->prompt.active);
	ck_assert_uint_eq(ui->prompt.cur, 2);
	prompt_key(ui, ' ');
	prompt_key(ui, '1');
	prompt_key(ui, 'M');
	prompt_key(ui, UI_KEY_ENTER);
	ck_assert(!ui->prompt.active);
	ck_assert_int_eq(answers, 1);
	ck_assert(!answer_null);
	ck_assert_str_eq(answer, "2M 1M");
	/* Esc and ^g cancel with NULL */
	prompt_open(ui, "x", "abc", false, on_done, NULL, &answers);
	prompt_key(ui, UI_KEY_ESC);
	ck_assert(!ui->prompt.active);
	ck_assert_int_eq(answers, 2);
	ck_assert(answer_null);
	prompt_open(ui, "x", "", false, on_done, NULL, &answers);
	prompt_key(ui, 7);
	ck_assert_int_eq(answers, 3);
	ck_assert(answer_null);
	/* a question: y and Y say yes, any other key no */
	prompt_confirm(ui, "Remove? (y/n)", on_done, &answers);
	ck_assert(ui->prompt.confirm);
	prompt_key(ui, 'Y');
	ck_assert_str_eq(answer, "y");
	prompt_confirm(ui, "Remove? (y/n)", on_done, &answers);
	prompt_key(ui, UI_KEY_ENTER);
	ck_assert_str_eq(answer, "n");
	ck_assert(!ui->prompt.active);
	prompt_confirm(ui, "Remove? (y/n)", on_done, &answers);
	prompt_key(ui, UI_KEY_ESC);
	ck_assert_str_eq(answer, "n");
	ck_assert_int_eq(answers, 6);
	/* the incremental search sees every edit, not movement */
	prompt_open(ui, "/", "", false, on_done, on_change, &answers);
	prompt_key(ui, 'd');
	prompt_key(ui, 'e');
	prompt_key(ui, UI_KEY_FN | KEY_LEFT);
	ck_assert_int_eq(changes, 3);   /* movement counts as an edit call but leaves the text */
	ck_assert_str_eq(answer, "de");
	prompt_key(ui, UI_KEY_FN | KEY_BACKSPACE);
	ck_assert_str_eq(answer, "e");
	prompt_key(ui, UI_KEY_FN | KEY_F(3));   /* not an edit: no change call */
	ck_assert_int_eq(changes, 4);
	/* Tab without path completion leaves the text alone */
	prompt_key(ui, '\t');
	ck_assert_str_eq(ui->prompt.buf, "e");
	prompt_key(ui, UI_KEY_ESC);
	free(ui);
}
END_TEST

/* ---- path completion ---- */

static char tmpdir[256];

static void
touch(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fclose(f);
}

static void
complete_setup(void)
{
	char path[512];
	snprintf(tmpdir, sizeof tmpdir, "%s/dp-prompt.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	touch("alpha.torrent");
	touch("beta.torrent");
	touch(".hidden.torrent");
	touch("\xe6\x97\xa5\xe6\x9c\xac.torrent");
	snprintf(path, sizeof path, "%s/alpine", tmpdir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/alpine/inner.torrent", tmpdir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
}

static void
complete_teardown(void)
{
	static const char *const names[] = { "alpha.torrent", "beta.torrent", ".hidden.torrent",
		"\xe6\x97\xa5\xe6\x9c\xac.torrent", "alpine/inner.torrent", "alpine", "gamma" };
	char path[512];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
		remove(path);
	}
	rmdir(tmpdir);
}

START_TEST(test_complete_unique_and_common_prefix)
{
	char buf[1024], hint[256];
	/* one match: the whole name */
	snprintf(buf, sizeof buf, "%s/b", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 1);
	ck_assert_str_eq(buf + strlen(tmpdir), "/beta.torrent");
	ck_assert_str_eq(hint, "");
	/* two matches: the common prefix, and both names in the hint (a folder with a slash) */
	snprintf(buf, sizeof buf, "%s/al", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 2);
	ck_assert_str_eq(buf + strlen(tmpdir), "/alp");
	ck_assert_ptr_nonnull(strstr(hint, "alpha.torrent"));
	ck_assert_ptr_nonnull(strstr(hint, "alpine/"));
	/* a single folder gets its slash, so the next Tab goes inside */
	snprintf(buf, sizeof buf, "%s/alpi", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 1);
	ck_assert_str_eq(buf + strlen(tmpdir), "/alpine/");
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 1);
	ck_assert_str_eq(buf + strlen(tmpdir), "/alpine/inner.torrent");
	/* UTF-8 names complete byte-exactly */
	snprintf(buf, sizeof buf, "%s/\xe6\x97\xa5", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 1);
	ck_assert_str_eq(buf + strlen(tmpdir), "/\xe6\x97\xa5\xe6\x9c\xac.torrent");
	/* a relative path is looked up under the folder given (an attached UI's own folder, sent
	 * to the daemon) and stays relative */
	snprintf(buf, sizeof buf, "alpine/in");
	ck_assert_int_eq(path_complete(tmpdir, buf, sizeof buf, hint, sizeof hint), 1);
	ck_assert_str_eq(buf, "alpine/inner.torrent");
	char *full = path_resolve(tmpdir, buf);
	ck_assert_int_eq(strncmp(full, tmpdir, strlen(tmpdir)), 0);
	ck_assert_str_eq(full + strlen(tmpdir), "/alpine/inner.torrent");
	free(full);
}
END_TEST

START_TEST(test_complete_hidden_missing_and_home)
{
	char buf[1024], hint[256];
	/* an empty name lists the visible entries only */
	snprintf(buf, sizeof buf, "%s/", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 4);
	ck_assert_ptr_null(strstr(hint, ".hidden"));
	/* a leading dot asks for hidden ones */
	snprintf(buf, sizeof buf, "%s/.h", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 1);
	ck_assert_str_eq(buf + strlen(tmpdir), "/.hidden.torrent");
	/* no match: the text is left as typed */
	snprintf(buf, sizeof buf, "%s/zzz", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 0);
	ck_assert_str_eq(buf + strlen(tmpdir), "/zzz");
	/* a folder that does not exist */
	snprintf(buf, sizeof buf, "%s/nope/a", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 0);
	/* ~/ is the home folder */
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	ck_assert_int_eq(setenv("HOME", tmpdir, 1), 0);
	snprintf(buf, sizeof buf, "~/be");
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 1);
	ck_assert_str_eq(buf + strlen(tmpdir), "/beta.torrent");
	ck_assert_int_eq(strncmp(buf, tmpdir, strlen(tmpdir)), 0);
	if (old_home != NULL)
		setenv("HOME", old_home, 1);
	else
		unsetenv("HOME");
	free(old_home);
	/* a completion that would not fit the buffer leaves it alone */
	char small[64];
	int n = snprintf(small, sizeof small, "%s/b", tmpdir);
	ck_assert_int_lt(n, (int)sizeof small);
	size_t need = strlen(tmpdir) + strlen("/beta.torrent") + 1;
	ck_assert_int_eq(path_complete(NULL, small, need - 1, NULL, 0), 1);
	ck_assert_str_eq(small + strlen(tmpdir), "/b");
	/* a tiny hint buffer is never overrun */
	char tiny[8];
	snprintf(buf, sizeof buf, "%s/", tmpdir);
	path_complete(NULL, buf, sizeof buf, tiny, sizeof tiny);
	ck_assert_uint_lt(strlen(tiny), sizeof tiny);
}
END_TEST

/* A folder is read up to a bound of names (the daemon reads it on a disk worker, which a folder
 * of millions must not hold): past it nothing is completed and the hint says why; a link to a
 * folder completes as a folder. */
START_TEST(test_complete_bounded)
{
	char buf[1024], hint[256];
	/* five names, "." and "..": seven read */
	snprintf(buf, sizeof buf, "%s/al", tmpdir);
	ck_assert_int_eq(path_complete_bounded(NULL, buf, sizeof buf, hint, sizeof hint, 7), 2);
	ck_assert_str_eq(buf + strlen(tmpdir), "/alp");
	snprintf(buf, sizeof buf, "%s/al", tmpdir);
	ck_assert_int_eq(path_complete_bounded(NULL, buf, sizeof buf, hint, sizeof hint, 6), -1);
	ck_assert_str_eq(buf + strlen(tmpdir), "/al");
	ck_assert_str_eq(hint, "(more than 6 names here: not completed)");
	char tiny[8];
	ck_assert_int_eq(path_complete_bounded(NULL, buf, sizeof buf, tiny, sizeof tiny, 3), -1);
	ck_assert_uint_lt(strlen(tiny), sizeof tiny);
	/* a link to a folder: readdir says "link", the slash comes from what it leads to */
	char link[512];
	snprintf(link, sizeof link, "%s/gamma", tmpdir);
	ck_assert_int_eq(symlink("alpine", link), 0);
	snprintf(buf, sizeof buf, "%s/g", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 1);
	ck_assert_str_eq(buf + strlen(tmpdir), "/gamma/");
	/* and in the hint when there are several */
	snprintf(buf, sizeof buf, "%s/", tmpdir);
	ck_assert_int_eq(path_complete(NULL, buf, sizeof buf, hint, sizeof hint), 5);
	ck_assert_ptr_nonnull(strstr(hint, "gamma/"));
	ck_assert_ptr_nonnull(strstr(hint, "beta.torrent"));
	ck_assert_ptr_null(strstr(hint, "beta.torrent/"));
}
END_TEST

START_TEST(test_tasks_kind_summary)
{
	size_t counts[ENGINE_TASK_KIND_COUNT] = { 0 };
	char out[256];
	screen_tasks_kind_summary(counts, false, out, sizeof out);
	ck_assert_str_eq(out, "no tasks");
	counts[ENGINE_TASK_KIND_TRACKER] = 1;
	counts[ENGINE_TASK_KIND_PEER] = 3;
	counts[ENGINE_TASK_KIND_DISK] = 2;
	screen_tasks_kind_summary(counts, false, out, sizeof out);
	ck_assert_str_eq(out, "peer 3 \xc2\xb7 disk 2 \xc2\xb7 tracker 1");
	screen_tasks_kind_summary(counts, true, out, sizeof out);
	ck_assert_str_eq(out, "peer 3, disk 2, tracker 1");
	/* a short buffer truncates without overrunning */
	char small[10];
	screen_tasks_kind_summary(counts, true, small, sizeof small);
	ck_assert_str_eq(small, "peer 3, d");
}
END_TEST

Suite *
ui_prompt_suite(void)
{
	Suite *s = suite_create("ui_prompt");
	TCase *tc = tcase_create("edit");
	tcase_add_test(tc, test_prompt_insert_and_move);
	tcase_add_test(tc, test_prompt_delete);
	tcase_add_test(tc, test_prompt_non_edit_keys_and_full);
	tcase_add_test(tc, test_prompt_answers);
	tcase_add_test(tc, test_tasks_kind_summary);
	suite_add_tcase(s, tc);
	TCase *tp = tcase_create("complete");
	tcase_add_checked_fixture(tp, complete_setup, complete_teardown);
	tcase_add_test(tp, test_complete_unique_and_common_prefix);
	tcase_add_test(tp, test_complete_hidden_missing_and_home);
	tcase_add_test(tp, test_complete_bounded);
	suite_add_tcase(s, tp);
	return s;
}
