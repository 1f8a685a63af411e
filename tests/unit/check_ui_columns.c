/* check_ui_columns.c: the chosen columns of the UI's tables: the config's lists (names, order,
 * errors that name the key and the allowed names, the required column), the defaults agree with
 * the settings table, the chooser's saved file (strict parse, round trip, which choice applies),
 * and the sort keys' walk over hidden columns. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "columns.h"
#include "columns_writer.h"
#include "dp_config.h"
#include "settings_table.h"
#include "suites.h"
#include "test_helpers.h"

/* The settings table's defaults name every column of each screen in table order. */
START_TEST(test_defaults_match_table)
{
	for (int s = 0; s < UCS_COUNT; s++) {
		const struct ui_columns_def *d = ui_columns_def((enum ui_cols_screen)s);
		char key[64], err[512], text[512];
		snprintf(key, sizeof key, "ui.%s_columns", d->name);
		const struct setting_def *def = settings_table_lookup(key);
		ck_assert_msg(def != NULL, "%s is not in the settings table", key);
		struct ui_col_set set, all;
		ck_assert_msg(ui_columns_parse((enum ui_cols_screen)s, def->def, &set, err,
		    sizeof err) == 0, "%s: %s", key, err);
		ui_columns_default((enum ui_cols_screen)s, &all);
		ck_assert_msg(ui_columns_equal(&set, &all), "%s's default is not every column", key);
		ui_columns_format((enum ui_cols_screen)s, &all, text, sizeof text);
		ck_assert_str_eq(text, def->def);
		/* the help names the required column */
		ck_assert_ptr_nonnull(strstr(def->help, d->cols[d->required].key));
		ck_assert_int_le(d->ncols, UI_COLS_MAX);
	}
}
END_TEST

START_TEST(test_parse_order)
{
	struct ui_col_set set;
	char err[512], text[256];
	ck_assert_msg(ui_columns_parse(UCS_LIST, " name, Size ,NUM\t,queue", &set, err,
	    sizeof err) == 0, "%s", err);
	ck_assert_int_eq(set.n, 4);
	ck_assert_int_eq(set.ids[0], LI_NAME);
	ck_assert_int_eq(set.ids[1], LI_SIZE);
	ck_assert_int_eq(set.ids[2], LI_NUM);
	ck_assert_int_eq(set.ids[3], LI_QUEUE);
	ui_columns_format(UCS_LIST, &set, text, sizeof text);
	ck_assert_str_eq(text, "name,size,num,queue");
	/* the required column alone is a list */
	ck_assert_int_eq(ui_columns_parse(UCS_PEERS, "address", &set, err, sizeof err), 0);
	ck_assert_int_eq(set.n, 1);
	ck_assert_int_eq(set.ids[0], PC_ADDR);
	ck_assert_int_eq(ui_columns_parse(UCS_TASKS, "state,name,id", &set, err, sizeof err), 0);
	ck_assert_int_eq(set.ids[1], TK_NAME);
	ck_assert_int_eq(ui_columns_parse(UCS_TRACKERS, "error,url", &set, err, sizeof err), 0);
	ck_assert_int_eq(set.ids[0], TC_ERROR);
	ck_assert_int_eq(ui_columns_parse(UCS_FILES, "priority,name", &set, err, sizeof err), 0);
	ck_assert_int_eq(set.ids[0], FC_PRIO);
}
END_TEST

/* Each refusal says why; an unknown name lists every allowed one. */
START_TEST(test_parse_errors)
{
	struct ui_col_set set = { .n = 7 };
	char err[512];
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "name,bogus", &set, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "unknown column 'bogus'") != NULL, "%s", err);
	const struct ui_columns_def *d = ui_columns_def(UCS_LIST);
	for (int i = 0; i < d->ncols; i++)
		ck_assert_msg(strstr(err, d->cols[i].key) != NULL, "%s lacks %s", err, d->cols[i].key);
	ck_assert_int_eq(set.n, 7);   /* untouched on error */
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "", &set, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "empty list") != NULL, "%s", err);
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "   ", &set, err, sizeof err), -1);
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "name,,size", &set, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "empty entry") != NULL, "%s", err);
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "name,size,", &set, err, sizeof err), -1);
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "name,size,name", &set, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "'name' is listed twice") != NULL, "%s", err);
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "size,done", &set, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "name column is required") != NULL, "%s", err);
	ck_assert_int_eq(ui_columns_parse(UCS_PEERS, "client", &set, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "address column is required") != NULL, "%s", err);
	/* another screen's name is unknown here */
	ck_assert_int_eq(ui_columns_parse(UCS_FILES, "name,ratio", &set, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "unknown column 'ratio'") != NULL, "%s", err);
	/* hostile text is escaped and cut in the message */
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "name,\x1b[31mred", &set, err, sizeof err), -1);
	ck_assert_ptr_null(strchr(err, '\x1b'));
	char *big = xmalloc(3000);
	memset(big, 'a', 2999);
	big[2999] = '\0';
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, big, &set, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "longer than") != NULL, "%s", err);
	free(big);
}
END_TEST

/* The config file's keys: a bad list is an error naming the key; a good one is its order. */
START_TEST(test_config_keys)
{
	struct dp_config c;
	struct ui_col_set sets[UCS_COUNT];
	char err[1024];
	config_defaults(&c);
	ck_assert_msg(ui_columns_from_config(&c, sets, err, sizeof err) == 0, "%s", err);
	for (int s = 0; s < UCS_COUNT; s++) {
		struct ui_col_set all;
		ui_columns_default((enum ui_cols_screen)s, &all);
		ck_assert(ui_columns_equal(&all, &sets[s]));
	}
	config_free(&c);
	ck_assert_msg(config_load_string("ui = { list_columns = \"name,queue,up\"; "
	    "tasks_columns = \"name,state\"; };", "t.conf", &c, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(ui_columns_from_config(&c, sets, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(sets[UCS_LIST].n, 3);
	ck_assert_int_eq(sets[UCS_LIST].ids[1], LI_QUEUE);
	ck_assert_int_eq(sets[UCS_TASKS].ids[1], TK_STATE);
	config_free(&c);
	ck_assert_msg(config_load_string("ui = { peers_columns = \"address,bogus\"; };", "t.conf",
	    &c, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(ui_columns_from_config(&c, sets, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "ui.peers_columns: unknown column 'bogus' (columns: address, "
	    "client,") != NULL, "%s", err);
	config_free(&c);
	ck_assert_msg(config_load_string("ui = { files_columns = \"\"; };", "t.conf", &c, err,
	    sizeof err) == 0, "%s", err);
	ck_assert_int_eq(ui_columns_from_config(&c, sets, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "ui.files_columns: no columns") != NULL, "%s", err);
	config_free(&c);
	/* --set takes the same text */
	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "ui.trackers_columns", "url,error", err, sizeof err), 0);
	ck_assert_msg(ui_columns_from_config(&c, sets, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(sets[UCS_TRACKERS].n, 2);
	config_free(&c);
}
END_TEST

/* The saved file: what format writes parses back, and a choice applies only over the
 * configured list it was made over. */
START_TEST(test_saved_round_trip)
{
	struct ui_col_set conf[UCS_COUNT], cur[UCS_COUNT], out[UCS_COUNT];
	char err[512], text[4096];
	for (int s = 0; s < UCS_COUNT; s++)
		ui_columns_default((enum ui_cols_screen)s, &conf[s]);
	memcpy(cur, conf, sizeof cur);
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "queue,name,up", &cur[UCS_LIST], err,
	    sizeof err), 0);
	ck_assert_int_eq(ui_columns_parse(UCS_PEERS, "down,address", &cur[UCS_PEERS], err,
	    sizeof err), 0);
	struct ui_sort_key sort[UCS_COUNT] = { { false, 0, false } };
	sort[UCS_TASKS] = (struct ui_sort_key){ true, TK_WAITED, true };
	sort[UCS_LIST] = (struct ui_sort_key){ true, LI_ETA, false };
	ui_columns_saved_format(cur, conf, sort, text, sizeof text);
	ck_assert_ptr_nonnull(strstr(text, "list.columns = queue,name,up\n"));
	ck_assert_ptr_nonnull(strstr(text, "tasks.sort = waited desc\n"));
	ck_assert_ptr_nonnull(strstr(text, "list.sort = eta asc\n"));
	ck_assert_ptr_null(strstr(text, "peers.sort"));
	ck_assert_ptr_null(strstr(text, "tasks.columns"));   /* unchanged columns are not kept */
	struct ui_columns_saved sv;
	ck_assert_msg(ui_columns_saved_parse(text, strlen(text), &sv, err, sizeof err) == 0, "%s",
	    err);
	ck_assert(sv.set[UCS_LIST] && sv.set[UCS_PEERS] && !sv.set[UCS_TASKS]);
	/* the sort keys come back, whatever the columns */
	ck_assert(sv.sort[UCS_TASKS].set && sv.sort[UCS_TASKS].col == TK_WAITED &&
	    sv.sort[UCS_TASKS].desc);
	ck_assert(sv.sort[UCS_LIST].set && sv.sort[UCS_LIST].col == LI_ETA &&
	    !sv.sort[UCS_LIST].desc);
	ck_assert(!sv.sort[UCS_PEERS].set);
	ui_columns_resolve(conf, &sv, out);
	for (int s = 0; s < UCS_COUNT; s++)
		ck_assert(ui_columns_equal(&out[s], &cur[s]));
	/* the config changed since: its new list wins over the older choice */
	struct ui_col_set conf2[UCS_COUNT];
	memcpy(conf2, conf, sizeof conf2);
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "name,size", &conf2[UCS_LIST], err,
	    sizeof err), 0);
	ui_columns_resolve(conf2, &sv, out);
	ck_assert(ui_columns_equal(&out[UCS_LIST], &conf2[UCS_LIST]));
	ck_assert(ui_columns_equal(&out[UCS_PEERS], &cur[UCS_PEERS]));

	/* written and read back through a directory that does not exist yet */
	char dir[256], path[512];
	th_tmpdir_make(dir, sizeof dir, "columns");
	snprintf(path, sizeof path, "%s/state/downpour/ui-columns", dir);
	ck_assert_int_eq(ui_columns_saved_load(path, &sv, err, sizeof err), 0);   /* missing */
	ck_assert(!sv.set[UCS_LIST]);
	ck_assert_msg(ui_columns_saved_store(path, text, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(ui_columns_saved_load(path, &sv, err, sizeof err) == 0, "%s", err);
	ck_assert(ui_columns_equal(&sv.cols[UCS_LIST], &cur[UCS_LIST]));
	th_file_write(dir, "bad", "list.columns = name,bogus\nlist.base = name\n", 41);
	snprintf(path, sizeof path, "%s/bad", dir);
	ck_assert_int_eq(ui_columns_saved_load(path, &sv, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "bad:1: unknown column 'bogus'") != NULL, "%s", err);
	ck_assert(!sv.set[UCS_LIST]);
	th_rm_rf(dir);
}
END_TEST

/* The writer thread: saves in a row leave the newest text in the file once flushed; a path
 * that cannot be written is reported once, by ui_columns_writer_failed. */
START_TEST(test_writer_thread)
{
	char dir[256], path[512], err[512];
	th_tmpdir_make(dir, sizeof dir, "colwriter");
	snprintf(path, sizeof path, "%s/state/downpour/ui-columns", dir);
	char text[64];
	for (int i = 0; i < 50; i++) {
		snprintf(text, sizeof text, "# save %d\n", i);
		ui_columns_writer_save(path, text);
	}
	ck_assert(ui_columns_writer_flush(10000));
	ck_assert(!ui_columns_writer_failed(err, sizeof err));
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	char line[64] = "";
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	fclose(f);
	ck_assert_str_eq(line, "# save 49\n");
	/* a file where its directory would go: the directory cannot be made */
	th_file_write(dir, "plain", "x", 1);
	snprintf(path, sizeof path, "%s/plain/ui-columns", dir);
	ui_columns_writer_save(path, text);
	ck_assert(ui_columns_writer_flush(10000));
	ck_assert(ui_columns_writer_failed(err, sizeof err));
	ck_assert_msg(strstr(err, "plain/ui-columns") != NULL, "%s", err);
	ck_assert(!ui_columns_writer_failed(err, sizeof err));
	th_rm_rf(dir);
}
END_TEST

/* The file is outside input: anything but the exact form is refused whole. */
START_TEST(test_saved_strict)
{
	static const char *const bad[] = {
		"list.columns = name\n",                               /* no base */
		"list.base = name\n",                                  /* no columns */
		"movies.columns = name\nmovies.base = name\n",         /* unknown screen */
		"list.colour = name\nlist.base = name\n",              /* unknown field */
		"list.columns=name\nlist.base = name\n",               /* not the form */
		"list.columns = name\nlist.columns = name\nlist.base = name\n",
		"list.columns = size\nlist.base = name\n",             /* required missing */
		"list.columns = name\nlist.base = \n",
		"garbage\n",
		"list.sort = eta\n",                                  /* no direction */
		"list.sort = eta up\n",
		"list.sort = bogus asc\n",                            /* unknown column */
		"list.sort = eta asc\nlist.sort = name desc\n",      /* twice */
		"list.sort =  eta asc\n",
	};
	struct ui_columns_saved sv;
	char err[512];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(ui_columns_saved_parse(bad[i], strlen(bad[i]), &sv, err,
		    sizeof err) == -1, "accepted: %s", bad[i]);
	static const char nul[] = "list.columns = name\0\nlist.base = name\n";
	ck_assert_int_eq(ui_columns_saved_parse(nul, sizeof nul - 1, &sv, err, sizeof err), -1);
	char *big = xmalloc(20000);
	memset(big, '#', 19999);
	big[19999] = '\0';
	ck_assert_int_eq(ui_columns_saved_parse(big, strlen(big), &sv, err, sizeof err), -1);
	free(big);
	const char *ok = "# comment\n\nlist.columns = name\nlist.base = name,size\n"
	    "peers.sort = DOWN desc\n";
	ck_assert_msg(ui_columns_saved_parse(ok, strlen(ok), &sv, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(sv.base[UCS_LIST].n, 2);
	ck_assert(sv.sort[UCS_PEERS].set && sv.sort[UCS_PEERS].col == PC_DOWN);
}
END_TEST

/* The sort keys walk the shown columns in their order, then the hidden ones. */
START_TEST(test_sort_step)
{
	struct ui_col_set set;
	char err[256];
	ck_assert_int_eq(ui_columns_parse(UCS_LIST, "size,name", &set, err, sizeof err), 0);
	ck_assert_int_eq(ui_columns_sort_step(&set, LI_COUNT, LI_SIZE, 1), LI_NAME);
	ck_assert_int_eq(ui_columns_sort_step(&set, LI_COUNT, LI_NAME, 1), LI_NUM);
	ck_assert_int_eq(ui_columns_sort_step(&set, LI_COUNT, LI_NUM, 1), LI_STATE);
	ck_assert_int_eq(ui_columns_sort_step(&set, LI_COUNT, LI_TRACKER, 1), LI_SIZE);
	ck_assert_int_eq(ui_columns_sort_step(&set, LI_COUNT, LI_SIZE, -1), LI_TRACKER);
	/* every column is reached, once each, in LI_COUNT steps */
	bool seen[LI_COUNT] = { false };
	int c = LI_SIZE;
	for (int i = 0; i < LI_COUNT; i++) {
		ck_assert(!seen[c]);
		seen[c] = true;
		c = ui_columns_sort_step(&set, LI_COUNT, c, 1);
	}
	ck_assert_int_eq(c, LI_SIZE);
	/* no set: the table's order */
	ck_assert_int_eq(ui_columns_sort_step(NULL, LI_COUNT, LI_TRACKER, 1), LI_NUM);
	ck_assert_int_eq(ui_columns_sort_step(NULL, 1, 0, 1), 0);
}
END_TEST

Suite *
ui_columns_suite(void)
{
	Suite *s = suite_create("ui_columns");
	TCase *tc = tcase_create("columns");
	tcase_add_test(tc, test_defaults_match_table);
	tcase_add_test(tc, test_parse_order);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_config_keys);
	tcase_add_test(tc, test_saved_round_trip);
	tcase_add_test(tc, test_saved_strict);
	tcase_add_test(tc, test_sort_step);
	tcase_add_test(tc, test_writer_thread);
	suite_add_tcase(s, tc);
	return s;
}
