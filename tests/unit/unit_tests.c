/* unit_tests.c: runs every Check suite; `unit_tests SUITE` runs only the named one. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/thread.h>

#include "suites.h"

static Suite *(*const suite_makers[])(void) = {
	bencode_suite,
	picker_suite,
	choker_suite,
	storage_suite,
	disk_suite,
	wire_suite,
	metainfo_suite,
	magnet_suite,
	ui_widgets_suite,
	ui_prompt_suite,
	config_suite,
	create_suite,
	tracker_suite,
	resume_suite,
	engine_suite,
	rpc_suite,
	ut_metadata_suite,
	ut_pex_suite,
	settings_suite,
	task_suite,
	review_suite,
	smartban_suite,
	udp_socket_suite,
	krpc_suite,
	dht_table_suite,
	mse_suite,
};

int
main(int argc, char **argv)
{
	/* engine.h: disk workers wake the loop from their threads, so every base the suites create
	 * needs libevent's locks; without them a suite that forgets (task, review, ut_metadata run
	 * alone) races and its loop may spin with nothing to run. */
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "unit_tests: libevent has no thread support\n");
		return EXIT_FAILURE;
	}
	SRunner *sr = NULL;
	for (size_t i = 0; i < sizeof suite_makers / sizeof suite_makers[0]; i++) {
		Suite *s = suite_makers[i]();
		if (sr == NULL)
			sr = srunner_create(s);
		else
			srunner_add_suite(sr, s);
	}
	if (argc > 1)
		setenv("CK_RUN_SUITE", argv[1], 1);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
