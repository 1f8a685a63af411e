/* cmd_get.c: the headless `downpour get` and `downpour seed` commands: one torrent on the engine,
 * a progress line per second, a clean stop on SIGINT/SIGTERM. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "commands.h"
#include "dp_config.h"
#include "engine.h"
#include "escape.h"
#include "log.h"
#include "magnet.h"
#include "stopsig.h"
#include "util.h"

#define CMD_GET_STOP_DEADLINE_MS 3000

struct cmd_get_state {
	struct event_base *base;
	struct engine *e;
	int id;
	bool seed_after;          /* get --seed, or seed */
	bool seed_cmd;
	bool tty;
	bool stopping;
	bool completed;
	bool failed;
	char error[256];
	uint64_t started_ms;
};

static void
cmd_get_stopped(void *arg)
{
	struct cmd_get_state *g = arg;
	event_base_loopbreak(g->base);
}

static void
cmd_get_stop(struct cmd_get_state *g)
{
	if (g->stopping)
		return;
	g->stopping = true;
	engine_shutdown(g->e, CMD_GET_STOP_DEADLINE_MS, cmd_get_stopped, g);
}

static void
cmd_get_print_progress(struct cmd_get_state *g, bool final)
{
	struct engine_torrent_stats st;
	if (engine_torrent_get(g->e, g->id, &st) < 0)
		return;
	char down[32], up[32], have[32], total[32];
	dp_format_size(st.down_rate, down, sizeof down);
	dp_format_size(st.up_rate, up, sizeof up);
	dp_format_size(st.wanted_size - st.left, have, sizeof have);
	dp_format_size(st.wanted_size, total, sizeof total);
	double pct = st.state == ENGINE_TORRENT_CHECKING ? st.check_progress * 100 :
	    st.state == ENGINE_TORRENT_METADATA ? st.metadata_progress * 100 : st.progress * 100;
	char line[640];
	snprintf(line, sizeof line, "%s %5.1f%% %s/%s down %s/s up %s/s peers %d (%d seed%s)%s%s",
	    engine_torrent_state_name(st.state), pct, have, total, down, up, st.peers_connected,
	    st.seeds_connected, st.seeds_connected == 1 ? "" : "s", st.error[0] ? " error: " : "",
	    st.error);
	/* The error can quote a tracker or a peer: escaped before it reaches the terminal. */
	char safe[1024];
	dp_escape(line, safe, sizeof safe);
	if (g->tty && !final)
		fprintf(stdout, "\r%-100.100s", safe);
	else
		fprintf(stdout, "%s%s\n", g->tty ? "\r" : "", safe);
	fflush(stdout);
}

static void
cmd_get_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cmd_get_state *g = arg;
	(void)fd;
	(void)what;
	engine_task_cb_begin(NULL);
	if (!g->stopping)
		cmd_get_print_progress(g, false);
	engine_task_cb_end(NULL);
}

/* The first SIGINT/SIGTERM; a second one ends the process (stopsig). */
static void
cmd_get_signal_cb(int sig, void *arg)
{
	struct cmd_get_state *g = arg;
	engine_task_cb_begin(NULL);
	if (!g->stopping) {
		if (g->tty)
			fputc('\n', stdout);
		log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		cmd_get_stop(g);
	}
	engine_task_cb_end(NULL);
}

/* The torrent has all it wants: stop and exit 0, or seed on with --seed. */
static void
cmd_get_completed(struct cmd_get_state *g, const char *what)
{
	g->completed = true;
	cmd_get_print_progress(g, true);
	if (!g->seed_after) {
		fprintf(stdout, "%s\n", what);
		fflush(stdout);
		cmd_get_stop(g);
	} else {
		fprintf(stdout, "%s; seeding until interrupted\n", what);
		fflush(stdout);
	}
}

static void
cmd_get_event_cb(struct engine *e, int id, enum engine_event ev, void *arg)
{
	struct cmd_get_state *g = arg;
	(void)e;
	if (id != g->id)
		return;
	struct engine_torrent_stats st;
	switch (ev) {
	case ENGINE_EVENT_CHECKED:
		if (engine_torrent_get(g->e, g->id, &st) != 0)
			break;
		if (g->seed_cmd && st.pieces_have < st.pieces_total)
			cmd_error("%s: only %u of %u pieces verified; seeding what is there", st.name,
			    st.pieces_have, st.pieces_total);
		/* The data was all there: the check completed it, and no COMPLETED follows (that
		 * event is for a download finishing). get's contract is still to exit 0. */
		if (!g->seed_cmd && !g->completed && st.wanted_size > 0 && st.left == 0)
			cmd_get_completed(g, "already complete (verified)");
		break;
	case ENGINE_EVENT_COMPLETED:
		if (!g->completed)
			cmd_get_completed(g, "download complete");
		break;
	case ENGINE_EVENT_ERROR:
		if (engine_torrent_get(g->e, g->id, &st) == 0)
			snprintf(g->error, sizeof g->error, "%s", st.error);
		g->failed = true;
		cmd_get_stop(g);
		break;
	default:
		break;
	}
}

static int
cmd_get_common(int argc, char **argv, bool seed_cmd)
{
	const struct dp_command *self = seed_cmd ? &cmd_seed_entry : &cmd_get_entry;
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "seed", no_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "peer", required_argument, NULL, 'P' },
		{ "encryption", required_argument, NULL, 'E' },
		{ "no-utp", no_argument, NULL, 'U' },
		{ "dht-bootstrap", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *outdir = ".", *config_path = NULL, *port = NULL, *encryption = NULL;
	bool no_utp = false;
	char *dht_boot = NULL;
	const char **peers = xcalloc((size_t)argc + 1, sizeof *peers);
	size_t npeers = 0;
	bool seed_after = seed_cmd;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:p:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': outdir = optarg; break;
		case 's':
			if (seed_cmd) {
				cmd_print_usage(stderr, self);
				free(peers);
				return DP_EXIT_USAGE;
			}
			seed_after = true;
			break;
		case 'p': port = optarg; break;
		case 'c': config_path = optarg; break;
		case 'P': peers[npeers++] = optarg; break;
		case 'E': encryption = optarg; break;
		case 'U': no_utp = true; break;
		case 'D': cmd_list_append(&dht_boot, optarg); break;
		case 'h':
			free(peers);
			free(dht_boot);
			return cmd_print_help(self);
		default:
			cmd_print_usage(stderr, self);
			free(peers);
			free(dht_boot);
			return DP_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cmd_print_usage(stderr, self);
		free(peers);
		free(dht_boot);
		return DP_EXIT_USAGE;
	}
	const char *torrent_path = argv[optind];

	struct dp_config cfg;
	char err[512];
	/* Only an explicit --config is read: get/seed must not depend on the user's file. */
	if (config_path != NULL) {
		if (config_load(config_path, &cfg, err, sizeof err) < 0) {
			cmd_error("%s", err);
			free(peers);
			free(dht_boot);
			return DP_EXIT_USAGE;
		}
	} else {
		config_defaults(&cfg);
		free(cfg.listen_address);
		cfg.listen_address = xstrdup("0.0.0.0");
		cfg.listen_port = 6881;
	}
	if (port != NULL && config_set(&cfg, "listen_port", port, err, sizeof err) < 0) {
		cmd_error("--port: %s", err);
		config_free(&cfg);
		free(peers);
		free(dht_boot);
		return DP_EXIT_USAGE;
	}
	if ((encryption != NULL &&
	    config_set(&cfg, "encryption", encryption, err, sizeof err) < 0) ||
	    (no_utp && config_set(&cfg, "utp", "false", err, sizeof err) < 0)) {
		cmd_error("%s: %s", no_utp && encryption == NULL ? "--no-utp" : "--encryption", err);
		config_free(&cfg);
		free(peers);
		free(dht_boot);
		return DP_EXIT_USAGE;
	}
	/* --dht-bootstrap replaces the configured (or built-in) bootstrap list. */
	if (dht_boot != NULL && config_set(&cfg, "dht_bootstrap", dht_boot, err, sizeof err) < 0) {
		cmd_error("--dht-bootstrap: %s", err);
		config_free(&cfg);
		free(peers);
		free(dht_boot);
		return DP_EXIT_USAGE;
	}
	free(dht_boot);
	free(cfg.download_dir);
	cfg.download_dir = xstrdup(outdir);

	log_set_stderr(true);
	log_set_level(cfg.log_level < DP_LOG_INFO ? DP_LOG_INFO : cfg.log_level);
	if (evthread_use_pthreads() < 0) {
		cmd_error("libevent has no pthreads support");
		config_free(&cfg);
		free(peers);
		return DP_EXIT_FAILURE;
	}
	struct cmd_get_state g;
	memset(&g, 0, sizeof g);
	g.seed_after = seed_after;
	g.seed_cmd = seed_cmd;
	g.tty = isatty(STDOUT_FILENO) == 1;
	g.started_ms = dp_now_ms();
	g.base = event_base_new();
	if (g.base == NULL) {
		cmd_error("can't create the event loop");
		config_free(&cfg);
		free(peers);
		return DP_EXIT_FAILURE;
	}
	int rc = DP_EXIT_OK;
	struct stopsig *stop_sig = NULL;
	struct event *tick = NULL;
	g.e = engine_new(g.base, &cfg, err, sizeof err);
	config_free(&cfg);
	if (g.e == NULL) {
		cmd_error("%s", err);
		rc = DP_EXIT_FAILURE;
		goto out;
	}
	engine_set_event_cb(g.e, cmd_get_event_cb, &g);
	int added = !seed_cmd && magnet_is_uri(torrent_path) ?
	    engine_add_magnet(g.e, torrent_path, NULL, &g.id, err, sizeof err) :
	    engine_add_torrent_file(g.e, torrent_path, NULL, &g.id, err, sizeof err);
	if (added < 0) {
		cmd_error("%s", err);
		rc = DP_EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < npeers; i++) {
		if (engine_torrent_add_peer(g.e, g.id, peers[i], err, sizeof err) < 0) {
			cmd_error("--peer: %s", err);
			rc = DP_EXIT_USAGE;
			goto out;
		}
	}
	stop_sig = stopsig_new(g.base, cmd_get_signal_cb, &g, NULL);
	tick = event_new(g.base, -1, EV_PERSIST, cmd_get_tick_cb, &g);
	if (stop_sig == NULL || tick == NULL) {
		cmd_error("can't set up signal handling");
		rc = DP_EXIT_FAILURE;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	struct timeval one = { 1, 0 };
	event_add(tick, &one);

	event_base_dispatch(g.base);

	if (g.failed) {
		cmd_error("%s", g.error[0] ? g.error : "the torrent failed");
		rc = DP_EXIT_FAILURE;
	} else if (!g.completed && !seed_after) {
		/* Interrupted before the download finished. */
		cmd_get_print_progress(&g, true);
		rc = DP_EXIT_FAILURE;
	}
out:
	if (tick)
		event_free(tick);
	engine_free(g.e);
	stopsig_free(stop_sig);
	event_base_free(g.base);
	free(peers);
	return rc;
}

static int
cmd_get_run(int argc, char **argv)
{
	return cmd_get_common(argc, argv, false);
}

static int
cmd_get_run_seed(int argc, char **argv)
{
	return cmd_get_common(argc, argv, true);
}

/* get and seed share their options but -o and --seed. */
#define CMD_GET_HELP_OUTPUT \
	"  -o, --output DIR    save into DIR (default: the current directory)\n"
#define CMD_GET_HELP_COMMON \
	"  -p, --port N        listen for peers on port N (default 6881; 0: the system picks)\n" \
	"  -c, --config FILE   read settings from FILE (default: built-in defaults, no file)\n" \
	"  --peer ADDR:PORT    connect to this peer directly (repeatable)\n" \
	"  --encryption MODE   required, preferred (default) or tolerated (MSE/PE)\n" \
	"  --no-utp            TCP only: no uTP connections\n" \
	"  --dht-bootstrap ADDR:PORT  join the DHT through this node instead of the configured\n" \
	"                      or built-in ones (repeatable)\n" \
	"SIGINT and SIGTERM stop cleanly.\n"

const struct dp_command cmd_get_entry = {
	.name = "get",
	.usage = "get [-o DIR] [--seed] [--port N] [--config FILE] [--peer ADDR:PORT]... "
	    "[--encryption MODE] [--no-utp]\n    [--dht-bootstrap ADDR:PORT]... FILE.torrent|MAGNET",
	.summary = "download a torrent (and optionally keep seeding it)",
	.help = "Downloads the torrent, verifying every piece; exits 0 when it is complete.\n"
	    CMD_GET_HELP_OUTPUT
	    "  --seed              keep seeding after the download completes, until interrupted\n"
	    CMD_GET_HELP_COMMON,
	.run = cmd_get_run,
};

const struct dp_command cmd_seed_entry = {
	.name = "seed",
	.usage = "seed [-o DIR] [--port N] [--config FILE] [--peer ADDR:PORT]... "
	    "[--encryption MODE] [--no-utp]\n    [--dht-bootstrap ADDR:PORT]... FILE.torrent",
	.summary = "verify existing data and seed it until interrupted",
	.help = "Verifies the data in DIR and seeds what verifies until interrupted (exit 0).\n"
	    CMD_GET_HELP_OUTPUT CMD_GET_HELP_COMMON,
	.run = cmd_get_run_seed,
};
