/* fuzz_engine.c: the engine set-up the whole-engine fuzz targets share: a thread-aware base, a
 * loopback listener on a free port, one disk thread, and a temporary download directory. */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "dp_config.h"
#include "engine.h"
#include "fuzz_engine.h"
#include "log.h"
#include "util.h"

static const char *fuzz_dir;

static int
fuzz_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* libFuzzer ends with exit(): the download directory does not outlive the run. */
static void
fuzz_cleanup(void)
{
	nftw(fuzz_dir, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct engine *
fuzz_engine_start(char *dir_template, struct event_base **base_out)
{
	if (mkdtemp(dir_template) == NULL)
		abort();
	fuzz_dir = dir_template;
	atexit(fuzz_cleanup);
	log_set_level(DP_LOG_ERROR);
	/* engine.h: the disk workers wake the loop from their threads (event_active), which
	 * without a locked base races with the loop and corrupts its active-event count: the
	 * loop then spins in epoll_wait with nothing to run, and a unit never ends. */
	if (evthread_use_pthreads() != 0)
		abort();
	struct event_base *base = event_base_new();
	if (base == NULL)
		abort();
	struct dp_config cfg;
	char err[256];
	config_defaults(&cfg);
	free(cfg.listen_address);
	cfg.listen_address = xstrdup("127.0.0.1");
	cfg.listen_port = 0;
	free(cfg.download_dir);
	cfg.download_dir = xstrdup(dir_template);
	cfg.disk_threads = 1;
	struct engine *eng = engine_new(base, &cfg, err, sizeof err);
	config_free(&cfg);
	if (eng == NULL) {
		fprintf(stderr, "engine_new: %s\n", err);
		abort();
	}
	*base_out = base;
	return eng;
}
