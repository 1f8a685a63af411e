/* check_ui_widgets.c: the UI's pure widgets: display-cell widths with wide characters, truncation
 * with an ellipsis, progress bars, sparkline scaling, number formatting and table layout. */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include <curses.h>

#include "keymap.h"
#include "suites.h"
#include "widgets.h"

static void
ui_setup(void)
{
	/* wcwidth answers for non-ASCII only in a UTF-8 locale */
	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
	tw_set_ascii(false);
}

static void
ui_teardown(void)
{
	tw_set_ascii(false);
	setlocale(LC_CTYPE, "C");
}

START_TEST(test_width)
{
	ck_assert_int_eq(tw_width(""), 0);
	ck_assert_int_eq(tw_width("ubuntu.iso"), 10);
	ck_assert_int_eq(tw_width("\xe6\x97\xa5\xe6\x9c\xac"), 4);            /* 日本 */
	ck_assert_int_eq(tw_width("a\xf0\x9f\x98\x80z"), 4);                  /* a😀z */
	ck_assert_int_eq(tw_width("e\xcc\x81"), 1);                            /* e + combining acute */
	ck_assert_int_eq(tw_width("a\x1b[31mb"), 7);                           /* ESC counts as '?' */
	ck_assert_int_eq(tw_width("\xff\xfe"), 2);                             /* invalid bytes */
	ck_assert_int_eq(tw_width("\xc0\xaf"), 2);                             /* overlong '/' */
	/* Wrapping pieces: whole characters, a wide one never split, always at least one. */
	ck_assert_uint_eq(tw_prefix_bytes("abcdef", 4), 4);
	ck_assert_uint_eq(tw_prefix_bytes("ab", 4), 2);
	ck_assert_uint_eq(tw_prefix_bytes("a\xe6\x97\xa5\xe6\x9c\xac", 4), 4);   /* a日 + 本 */
	ck_assert_uint_eq(tw_prefix_bytes("\xe6\x97\xa5x", 1), 3);                /* 日, though 2 */
	ck_assert_uint_eq(tw_prefix_bytes("", 4), 0);
	tw_set_ascii(true);
	ck_assert_int_eq(tw_width("\xe6\x97\xa5\xe6\x9c\xac"), 2);
}
END_TEST

START_TEST(test_fit_pads_and_cuts)
{
	char out[256];
	ck_assert_int_eq(tw_fit("abc", 6, TW_LEFT, out, sizeof out), 6);
	ck_assert_str_eq(out, "abc   ");
	ck_assert_int_eq(tw_fit("abc", 6, TW_RIGHT, out, sizeof out), 6);
	ck_assert_str_eq(out, "   abc");
	ck_assert_int_eq(tw_fit("abcdefgh", 5, TW_LEFT, out, sizeof out), 5);
	ck_assert_str_eq(out, "abcd\xe2\x80\xa6");
	ck_assert_int_eq(tw_fit("abcde", 5, TW_LEFT, out, sizeof out), 5);
	ck_assert_str_eq(out, "abcde");
	/* 日本語 is 6 cells; in 5 cells: 日本 (4) + … */
	ck_assert_int_eq(tw_fit("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 5, TW_LEFT, out, sizeof out), 5);
	ck_assert_str_eq(out, "\xe6\x97\xa5\xe6\x9c\xac\xe2\x80\xa6");
	ck_assert_int_eq(tw_width(out), 5);
	/* in 4 cells: 日 (2) + … + a pad space, since 本 would straddle the edge */
	ck_assert_int_eq(tw_fit("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 4, TW_LEFT, out, sizeof out), 4);
	ck_assert_str_eq(out, "\xe6\x97\xa5\xe2\x80\xa6 ");
	/* control characters never reach the terminal */
	tw_fit("a\x1b]0;x\x07", 10, TW_LEFT, out, sizeof out);
	ck_assert_ptr_null(strchr(out, '\x1b'));
	ck_assert_ptr_null(strchr(out, '\x07'));
	ck_assert_str_eq(out, "a?]0;x?   ");
	ck_assert_int_eq(tw_fit("abc", 0, TW_LEFT, out, sizeof out), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(tw_fit("abc", 1, TW_LEFT, out, sizeof out), 1);
	ck_assert_str_eq(out, "\xe2\x80\xa6");
}
END_TEST

START_TEST(test_fit_ascii)
{
	char out[64];
	tw_set_ascii(true);
	tw_fit("\xe6\x97\xa5\xe6\x9c\xac-name", 6, TW_LEFT, out, sizeof out);
	ck_assert_str_eq(out, "?" "?-na~");
	tw_fit("short", 7, TW_RIGHT, out, sizeof out);
	ck_assert_str_eq(out, "  short");
}
END_TEST

START_TEST(test_fit_small_buffer)
{
	char out[4];
	tw_fit("abcdef", 6, TW_LEFT, out, sizeof out);
	ck_assert_uint_le(strlen(out), 3);
	tw_fit("\xe6\x97\xa5\xe6\x9c\xac", 4, TW_LEFT, out, sizeof out);
	ck_assert_uint_le(strlen(out), 3);
	/* never a partial UTF-8 sequence */
	ck_assert_str_eq(out, "\xe6\x97\xa5");
}
END_TEST

START_TEST(test_bar)
{
	char out[128];
	bar_render(0, 4, out, sizeof out);
	ck_assert_str_eq(out, "    ");
	bar_render(1, 4, out, sizeof out);
	ck_assert_str_eq(out, "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88");
	bar_render(0.5, 4, out, sizeof out);
	ck_assert_str_eq(out, "\xe2\x96\x88\xe2\x96\x88  ");
	/* 0.5625 of 4 cells = 18 eighths: two full and a quarter block */
	bar_render(0.5625, 4, out, sizeof out);
	ck_assert_str_eq(out, "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x8e ");
	ck_assert_int_eq(tw_width(out), 4);
	/* unfinished never looks full, started never looks empty */
	bar_render(0.9999, 4, out, sizeof out);
	ck_assert_int_eq(tw_width(out), 4);
	ck_assert_str_ne(out, "\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88\xe2\x96\x88");
	bar_render(0.0001, 4, out, sizeof out);
	ck_assert_str_ne(out, "    ");
	bar_render(-3, 3, out, sizeof out);
	ck_assert_str_eq(out, "   ");
	bar_render(7, 2, out, sizeof out);
	ck_assert_str_eq(out, "\xe2\x96\x88\xe2\x96\x88");
	tw_set_ascii(true);
	bar_render(0.5, 6, out, sizeof out);
	ck_assert_str_eq(out, "###...");
	bar_render(0.0 / 0.0, 2, out, sizeof out);
	ck_assert_str_eq(out, "..");
}
END_TEST

START_TEST(test_sparkline)
{
	char out[256];
	uint64_t v[] = { 0, 1, 4, 8 };
	uint64_t scale = sparkline_render(v, 4, 4, 0, out, sizeof out);
	ck_assert_uint_eq(scale, 8);
	ck_assert_str_eq(out, " \xe2\x96\x81\xe2\x96\x84\xe2\x96\x88");
	/* fewer values than cells: blanks on the left */
	sparkline_render(v + 3, 1, 3, 0, out, sizeof out);
	ck_assert_str_eq(out, "  \xe2\x96\x88");
	/* more values than cells: only the newest are shown and set the scale */
	uint64_t w[] = { 1000, 2, 4 };
	scale = sparkline_render(w, 3, 2, 0, out, sizeof out);
	ck_assert_uint_eq(scale, 4);
	ck_assert_str_eq(out, "\xe2\x96\x84\xe2\x96\x88");
	/* a fixed scale (the rate limit) clips above it; tiny non-zero values still show */
	uint64_t x[] = { 1, 50, 200 };
	sparkline_render(x, 3, 3, 100, out, sizeof out);
	ck_assert_str_eq(out, "\xe2\x96\x81\xe2\x96\x84\xe2\x96\x88");
	tw_set_ascii(true);
	sparkline_render(v, 4, 4, 0, out, sizeof out);
	ck_assert_str_eq(out, " _-#");

	struct spark_history h = { .n = 0 };
	for (uint64_t i = 0; i < SPARK_HISTORY + 5; i++)
		spark_push(&h, i);
	ck_assert_uint_eq(h.n, SPARK_HISTORY);
	ck_assert_uint_eq(h.v[0], 5);
	ck_assert_uint_eq(h.v[SPARK_HISTORY - 1], SPARK_HISTORY + 4);
}
END_TEST

START_TEST(test_format)
{
	char out[64];
	fmt_size(0, out, sizeof out);
	ck_assert_str_eq(out, "0 B");
	fmt_size(1023, out, sizeof out);
	ck_assert_str_eq(out, "1023 B");
	fmt_size(1536, out, sizeof out);
	ck_assert_str_eq(out, "1.50 KiB");
	fmt_size(10239, out, sizeof out);                 /* 9.999 KiB rounds to 10.0, not "10.00" */
	ck_assert_str_eq(out, "10.0 KiB");
	fmt_size(3ull << 30, out, sizeof out);
	ck_assert_str_eq(out, "3.00 GiB");
	fmt_size(700ull << 20, out, sizeof out);
	ck_assert_str_eq(out, "700 MiB");
	fmt_rate(0, out, sizeof out);
	ck_assert_str_eq(out, "-");
	fmt_rate(2048, out, sizeof out);
	ck_assert_str_eq(out, "2.00 KiB/s");
	fmt_eta(-1, out, sizeof out);
	ck_assert_str_eq(out, "-");
	fmt_eta(0, out, sizeof out);
	ck_assert_str_eq(out, "0s");
	fmt_eta(59, out, sizeof out);
	ck_assert_str_eq(out, "59s");
	fmt_eta(725, out, sizeof out);
	ck_assert_str_eq(out, "12m05s");
	fmt_eta(3 * 3600 + 7 * 60 + 9, out, sizeof out);
	ck_assert_str_eq(out, "3h07m");
	fmt_eta(2 * 86400 + 4 * 3600, out, sizeof out);
	ck_assert_str_eq(out, "2d04h");
	fmt_eta(9 * 7 * 86400, out, sizeof out);
	ck_assert_str_eq(out, "9w");
	fmt_eta(INT64_MAX, out, sizeof out);
	ck_assert_str_eq(out, "inf");
	fmt_ratio(-1, out, sizeof out);
	ck_assert_str_eq(out, "-");
	fmt_ratio(1.234, out, sizeof out);
	ck_assert_str_eq(out, "1.23");
	fmt_ratio(1e9, out, sizeof out);
	ck_assert_str_eq(out, "inf");
	fmt_ratio(99.99, out, sizeof out);
	ck_assert_str_eq(out, "99.99");
	fmt_ratio(99.996, out, sizeof out);           /* not "100.00": 5 cells at most */
	ck_assert_str_eq(out, "100");
	fmt_ratio(1500.2, out, sizeof out);           /* a seedbox's ratio is not infinite */
	ck_assert_str_eq(out, "1500");
	fmt_ratio(99999.4, out, sizeof out);
	ck_assert_str_eq(out, "99999");
	fmt_duration_us(830, out, sizeof out);
	ck_assert_str_eq(out, "830us");
	fmt_duration_us(12400, out, sizeof out);
	ck_assert_str_eq(out, "12.4ms");
	fmt_duration_us(3210000, out, sizeof out);
	ck_assert_str_eq(out, "3.21s");
	fmt_date(0, out, sizeof out);
	ck_assert_str_eq(out, "-");
	fmt_date(1700000000, out, sizeof out);
	ck_assert_uint_eq(strlen(out), 16);
}
END_TEST

START_TEST(test_layout)
{
	struct table_col cols[] = {
		{ "#", 3, 3, TW_RIGHT, 0, 0, NULL },
		{ "Name", 10, 0, TW_LEFT, 0, 0, NULL },
		{ "Size", 8, 8, TW_RIGHT, 2, 0, NULL },
		{ "Ratio", 5, 5, TW_RIGHT, 3, 0, NULL },
	};
	int w[4];
	/* wide: everything shown, the name takes the rest: 100 - 3 - 8 - 5 - 3 spaces */
	ck_assert_int_eq(table_layout(cols, 4, 100, w), 4);
	ck_assert_int_eq(w[0], 3);
	ck_assert_int_eq(w[1], 81);
	ck_assert_int_eq(w[2], 8);
	ck_assert_int_eq(w[3], 5);
	ck_assert_int_eq(w[0] + w[1] + w[2] + w[3] + 3, 100);
	/* 3+10+8+5+3 = 29 needed; at 25 the ratio (priority 3) goes first */
	ck_assert_int_eq(table_layout(cols, 4, 25, w), 3);
	ck_assert_int_eq(w[3], 0);
	ck_assert_int_eq(w[0] + w[1] + w[2] + 2, 25);
	/* at 15 the size goes too */
	ck_assert_int_eq(table_layout(cols, 4, 15, w), 2);
	ck_assert_int_eq(w[2], 0);
	ck_assert_int_eq(w[1], 11);
	/* narrower than the must-have columns: squeezed, never wider than the screen */
	ck_assert_int_eq(table_layout(cols, 4, 8, w), 2);
	ck_assert_int_le(w[0] + w[1] + 1, 8);
}
END_TEST

/* Names get the slack first: with want 20 the ratio goes where, at min 10, it stayed; and a
 * flexible column dropped leaves the slack to the first column always shown. */
START_TEST(test_layout_want)
{
	struct table_col cols[] = {
		{ "#", 3, 3, TW_RIGHT, 0, 0, NULL },
		{ "Name", 10, 0, TW_LEFT, 0, 20, NULL },
		{ "Size", 8, 8, TW_RIGHT, 2, 0, NULL },
		{ "Ratio", 5, 5, TW_RIGHT, 3, 0, NULL },
	};
	int w[4];
	/* 3+20+8+5+3 = 39 wanted: at 35 the ratio goes and the name has 35-3-8-2 = 22 */
	ck_assert_int_eq(table_layout(cols, 4, 35, w), 3);
	ck_assert_int_eq(w[3], 0);
	ck_assert_int_eq(w[1], 22);
	/* at 39 everything shows, the name at 20 */
	ck_assert_int_eq(table_layout(cols, 4, 39, w), 4);
	ck_assert_int_eq(w[1], 20);
	struct table_col tr[] = {
		{ "URL", 10, 20, TW_LEFT, 0, 0, NULL },
		{ "Status", 6, 6, TW_LEFT, 0, 0, NULL },
		{ "Error", 8, 0, TW_LEFT, 5, 12, NULL },
	};
	/* wide: the URL at its max, the error takes the rest */
	ck_assert_int_eq(table_layout(tr, 3, 100, w), 3);
	ck_assert_int_eq(w[0], 20);
	ck_assert_int_eq(w[2], 100 - 20 - 6 - 2);
	/* narrow: the error dropped, the URL takes the slack */
	ck_assert_int_eq(table_layout(tr, 3, 36, w), 2);
	ck_assert_int_eq(w[2], 0);
	ck_assert_int_eq(w[0], 36 - 6 - 1);
}
END_TEST

START_TEST(test_scroll_and_marks)
{
	struct table_state t = { .sel = -1 };
	table_set_count(&t, 0, 10);
	ck_assert_int_eq(t.sel, -1);
	table_set_count(&t, 100, 10);
	ck_assert_int_eq(t.sel, 0);
	table_move(&t, 15, 10);
	ck_assert_int_eq(t.sel, 15);
	ck_assert_int_eq(t.top, 6);
	table_move(&t, -1000, 10);
	ck_assert_int_eq(t.sel, 0);
	ck_assert_int_eq(t.top, 0);
	table_move_to(&t, 99, 10);
	ck_assert_int_eq(t.top, 90);
	/* rows vanish: selection and scroll stay inside */
	table_set_count(&t, 5, 10);
	ck_assert_int_eq(t.sel, 4);
	ck_assert_int_eq(t.top, 0);
	for (uint64_t id = 1; id <= 40; id++)
		table_toggle_mark(&t, id);
	ck_assert_uint_eq(t.nmarks, 40);
	table_toggle_mark(&t, 7);
	ck_assert(!table_is_marked(&t, 7));
	ck_assert(table_is_marked(&t, 8));
	table_clear_marks(&t);
	ck_assert(!table_is_marked(&t, 8));
	table_state_free(&t);
	ck_assert(text_matches("Ubuntu-24.04.iso", "UBUNTU"));
	ck_assert(text_matches("debian", ""));
	ck_assert(!text_matches("debian", "ubuntu"));
	ck_assert(!text_matches("deb", "debian"));
	/* Non-ASCII letters fold too (issue 13: "/ünï" missed "Ünïcödé"), and names sort
	 * ignoring case ("alpha" before "Beta" before "gamma"). */
	char *was = strdup(setlocale(LC_CTYPE, NULL));
	ck_assert_ptr_nonnull(setlocale(LC_CTYPE, "C.UTF-8"));
	ck_assert(text_matches("Ünïcödé album", "ünï"));
	ck_assert(text_matches("ünïcödé", "ÜNÏCÖDÉ"));
	ck_assert(!text_matches("Ünïcödé", "uni"));
	ck_assert(text_matches("a\xff\xfe" "b", "\xff\xfe"));    /* invalid bytes match themselves */
	ck_assert_int_lt(text_casecmp("alpha", "Beta"), 0);
	ck_assert_int_lt(text_casecmp("Beta", "gamma"), 0);
	ck_assert_int_ne(text_casecmp("Abc", "abc"), 0);          /* total: case breaks the tie */
	/* folded once (the torrent list's names): the same matches and order */
	struct text_key *k = text_key_new("Ünïcödé album"), *n = text_key_new("ÜNÏ");
	struct text_key *e = text_key_new(""), *u = text_key_new("uni");
	struct text_key *a = text_key_new("Abc"), *b = text_key_new("abc"), *g = text_key_new("ab");
	ck_assert(text_key_has(k, n));
	ck_assert(text_key_has(k, e));
	ck_assert(!text_key_has(k, u));
	ck_assert(!text_key_has(n, k));
	ck_assert_int_eq(text_key_cmp(a, b), 0);                  /* the caller breaks the tie */
	ck_assert_int_gt(text_key_cmp(a, g), 0);                  /* a prefix first */
	ck_assert_int_lt(text_key_cmp(g, k), 0);
	struct text_key *all[] = { k, n, e, u, a, b, g };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		free(all[i]);
	setlocale(LC_CTYPE, was);
	free(was);
}
END_TEST


START_TEST(test_keymap_defaults)
{
	keymap_init();
	for (int a = 1; a < UI_ACTION_COUNT; a++) {
		char keys[128];
		keymap_describe((enum ui_action)a, keys, sizeof keys);
		ck_assert_msg(keys[0] != '\0', "action %s has no key", keymap_action_name((enum ui_action)a));
		ck_assert_int_eq(keymap_action_find(keymap_action_name((enum ui_action)a)), a);
	}
	enum ui_action act;
	/* the contract keys */
	ck_assert_int_eq(keymap_feed(KCTX_LIST, '1', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_SCREEN_TORRENTS);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, '2', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_SCREEN_TASKS);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, '3', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_SCREEN_BLOCKED);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, '4', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_SCREEN_LOG);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, '?', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_HELP);
	ck_assert_int_eq(keymap_feed(KCTX_TASKS, 'q', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_QUIT);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 'j', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_DOWN);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, UI_KEY_FN | KEY_DOWN, &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_DOWN);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 4, &act), KEYMAP_MATCH);   /* ^d */
	ck_assert_int_eq(act, UI_ACTION_HALF_DOWN);
	ck_assert_int_eq(keymap_feed(KCTX_DETAIL, '\t', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_NEXT_TAB);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, UI_KEY_ESC, &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_BACK);
	/* gg is a sequence; g then something else falls through to that key */
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 'g', &act), KEYMAP_PENDING);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 'g', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_TOP);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 'g', &act), KEYMAP_PENDING);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 'G', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_BOTTOM);
	/* the same key means different things in different tabs */
	ck_assert_int_eq(keymap_feed(KCTX_DETAIL | KCTX_PEERS | KCTX_TORRENT, 'x', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_PEER_DISCONNECT);
	ck_assert_int_eq(keymap_feed(KCTX_DETAIL | KCTX_FILES | KCTX_TORRENT, 'x', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_PRIO_SKIP);
	ck_assert_int_eq(keymap_feed(KCTX_TASKS, 'x', &act), KEYMAP_NONE);
	ck_assert_int_eq(keymap_feed(KCTX_TASKS, 's', &act), KEYMAP_NONE);
}
END_TEST

START_TEST(test_keymap_parse)
{
	int c[2];
	ck_assert_int_eq(keymap_parse_key("^d", c), 1);
	ck_assert_int_eq(c[0], 4);
	ck_assert_int_eq(keymap_parse_key("C-U", c), 1);
	ck_assert_int_eq(c[0], 21);
	ck_assert_int_eq(keymap_parse_key("F5", c), 1);
	ck_assert_int_eq(c[0], UI_KEY_FN | KEY_F(5));
	ck_assert_int_eq(keymap_parse_key("Enter", c), 1);
	ck_assert_int_eq(c[0], UI_KEY_ENTER);
	ck_assert_int_eq(keymap_parse_key("gg", c), 2);
	ck_assert_int_eq(keymap_parse_key("\xc3\xa9", c), 1);
	ck_assert_int_eq(c[0], 0xe9);
	ck_assert_int_eq(keymap_parse_key("", c), 0);
	ck_assert_int_eq(keymap_parse_key("abc", c), 0);
	ck_assert_int_eq(keymap_parse_key("F13", c), 0);
	ck_assert_int_eq(keymap_parse_key("^1", c), 0);
	ck_assert_int_eq(keymap_parse_key("\xff", c), 0);
	char name[16];
	keymap_key_name(4, name, sizeof name);
	ck_assert_str_eq(name, "^d");
	keymap_key_name(UI_KEY_FN | KEY_UP, name, sizeof name);
	ck_assert_str_eq(name, "Up");
	keymap_key_name(0xe9, name, sizeof name);
	ck_assert_str_eq(name, "\xc3\xa9");
}
END_TEST

static void
help_collect(void *arg, const char *section, const char *keys, const char *help)
{
	char *buf = arg;
	size_t len = strlen(buf);
	snprintf(buf + len, 8192 - len, "%s|%s|%s\n", section ? section : "", keys ? keys : "",
	    help ? help : "");
}

START_TEST(test_keymap_rebind_and_help)
{
	char err[128];
	enum ui_action act;
	keymap_init();
	ck_assert_int_eq(keymap_bind("quit", "Q ^c", err, sizeof err), 0);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 'q', &act), KEYMAP_NONE);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 'Q', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_QUIT);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 3, &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_QUIT);
	/* taking j from "down" leaves the arrow key */
	ck_assert_int_eq(keymap_bind("half-page-down", "j", err, sizeof err), 0);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 'j', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_HALF_DOWN);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, UI_KEY_FN | KEY_DOWN, &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_DOWN);
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 4, &act), KEYMAP_NONE);
	ck_assert_int_eq(keymap_bind("no_such_action", "x", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no_such_action"));
	ck_assert_int_eq(keymap_bind("quit", "notakey", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "notakey"));
	/* a failed bind changes nothing */
	ck_assert_int_eq(keymap_feed(KCTX_LIST, 'Q', &act), KEYMAP_MATCH);
	ck_assert_int_eq(act, UI_ACTION_QUIT);

	char *help = calloc(1, 8192);
	keymap_help(help_collect, help);
	ck_assert_ptr_nonnull(strstr(help, "Everywhere||\n"));
	ck_assert_ptr_nonnull(strstr(help, "|Q, ^c|quit"));
	ck_assert_ptr_nonnull(strstr(help, "|gg, Home|first row"));
	ck_assert_ptr_nonnull(strstr(help, "|x|disconnect the peer"));
	free(help);
	keymap_init();
}
END_TEST

static int
check_ui_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? -1 : x > y;
}

/* The window a partial sort orders holds what a full sort puts there, for windows at the
 * start, the middle and the end, over random values with many repeats, sorted and reversed
 * input (the worst cases of a naive pivot); what lies outside holds the rest. */
START_TEST(test_partial_sort)
{
	enum { N = 5000 };
	static int v[N], full[N];
	uint64_t seed = 99;
	const size_t windows[][2] = { { 0, 40 }, { 2480, 2530 }, { N - 30, N }, { 0, N }, { 7, 8 },
		{ N - 1, N + 10 } };
	for (int shape = 0; shape < 4; shape++) {
		for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
			for (int i = 0; i < N; i++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				v[i] = shape == 0 ? (int)(seed >> 33) : shape == 1 ? (int)(seed >> 60) :
				    shape == 2 ? i : N - i;
			}
			memcpy(full, v, sizeof v);
			qsort(full, N, sizeof *full, check_ui_cmp_int);
			size_t lo = windows[w][0], hi = windows[w][1] > N ? N : windows[w][1];
			table_partial_sort(v, N, sizeof *v, lo, windows[w][1], check_ui_cmp_int);
			for (size_t i = lo; i < hi; i++)
				ck_assert_int_eq(v[i], full[i]);
			for (size_t i = 0; i < lo; i++)
				ck_assert_int_le(v[i], full[lo]);
			for (size_t i = hi; i < N; i++)
				ck_assert_int_ge(v[i], full[hi - 1]);
			/* nothing lost or made up */
			qsort(v, N, sizeof *v, check_ui_cmp_int);
			ck_assert_mem_eq(v, full, sizeof v);
		}
	}
}
END_TEST

Suite *
ui_widgets_suite(void)
{
	Suite *s = suite_create("ui_widgets");
	TCase *tc = tcase_create("widgets");
	tcase_add_checked_fixture(tc, ui_setup, ui_teardown);
	tcase_add_test(tc, test_width);
	tcase_add_test(tc, test_partial_sort);
	tcase_add_test(tc, test_fit_pads_and_cuts);
	tcase_add_test(tc, test_fit_ascii);
	tcase_add_test(tc, test_fit_small_buffer);
	tcase_add_test(tc, test_bar);
	tcase_add_test(tc, test_sparkline);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_layout_want);
	tcase_add_test(tc, test_scroll_and_marks);
	suite_add_tcase(s, tc);
	TCase *tk = tcase_create("keymap");
	tcase_add_test(tk, test_keymap_defaults);
	tcase_add_test(tk, test_keymap_parse);
	tcase_add_test(tk, test_keymap_rebind_and_help);
	suite_add_tcase(s, tk);
	return s;
}
