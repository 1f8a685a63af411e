/* unit_tests.c: runs every Check suite of suites.h's list; `unit_tests SUITE` runs only the
 * named one. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/thread.h>

#include "suites.h"

#define DP_SUITE_MAKER(name) name##_suite,
static Suite *(*const suite_makers[])(void) = { DP_SUITES(DP_SUITE_MAKER) };
#undef DP_SUITE_MAKER

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
