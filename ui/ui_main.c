/* ui_main.c: `downpour [options] [TORRENT|MAGNET...]` and `downpour --demo`, the binary's
 * command without a name (ui_entry): parses its options, loads the configuration, starts the
 * engine on a new loop, adds what was given, runs the UI. */
#include "config.h"

#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "dp_config.h"
#include "lockfile.h"
#include "log.h"
#include "rpc.h"
#include "session_store.h"
#include "util.h"
#include "client.h"
#include "client_remote.h"
#include "columns.h"
#include "demo.h"
#include "engine.h"
#include "keymap.h"
#include "ui.h"
#include "widgets.h"

static int ui_main_run(int argc, char **argv);
static int ui_main_start(int argc, char **argv, bool attach_only);

const struct dp_command ui_entry = {
	.name = NULL,
	.usage = "[options] [TORRENT|MAGNET...]\n"
	    "       downpour --demo",
	.summary = "the terminal UI",
	.help = "Without a command, downpour opens the terminal UI on the session and adds the\n"
	    "torrent files and magnet links given; --demo opens it on a local demo swarm.\n"
	    "  --config FILE      read FILE instead of the default configuration file\n"
	    "  --session DIR      keep the session (resume files) in DIR instead of session_dir\n"
	    "  --peer ADDR:PORT   connect the torrents given to this peer at once (repeatable)\n"
	    "  --encryption MODE  required, preferred or tolerated (the encryption key)\n"
	    "  --no-utp           TCP only, no uTP connections (utp = false)\n"
	    "  --dht-bootstrap ADDR:PORT  join the DHT through this node instead of dht_bootstrap\n"
	    "                     (repeatable)\n"
	    "  --ascii            draw with ASCII characters only\n"
	    "  --no-color         bold, reverse and underline instead of colours (also NO_COLOR)\n"
	    "  --demo             a 24 MiB torrent from two local seeders (~25 s), on 127.0.0.1\n",
	.run = ui_main_run,
};

static void
ui_main_usage(FILE *f)
{
	fprintf(f, "usage: downpour %s\n", ui_entry.usage);
}

bool
ui_wants_args(int argc, char **argv)
{
	struct stat st;
	if (argc < 2)
		return true;
	/* every option before a command is the UI's; it reports those it does not know */
	if (argv[1][0] == '-' && argv[1][1] != '\0')
		return true;
	return strncmp(argv[1], "magnet:", 7) == 0 ||
	    (stat(argv[1], &st) == 0 && S_ISREG(st.st_mode));
}

/* Draws the list of n synthetic torrents into a terminal on /dev/null and reports the time. */
static int
ui_main_bench(const char *arg)
{
	long n = strtol(arg, NULL, 10);
	if (n <= 0 || n > 10000000) {
		fprintf(stderr, "downpour: --bench-list needs a row count\n");
		return 2;
	}
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull == NULL) {
		perror("downpour: /dev/null");
		return 1;
	}
	if (getenv("TERM") == NULL)
		setenv("TERM", "xterm-256color", 1);
	uint64_t t0 = dp_now_us();
	double per = ui_bench_list((size_t)n, 50, devnull, 60, 200);
	uint64_t t1 = dp_now_us();
	fclose(devnull);
	if (per < 0) {
		fprintf(stderr, "downpour: cannot create a terminal for the benchmark\n");
		return 1;
	}
	printf("rows=%ld frames=50 mean_frame_ms=%.3f total_ms=%.1f\n", n, per / 1000.0,
	    (double)(t1 - t0) / 1000.0);
	return 0;
}

static int
ui_main_run(int argc, char **argv)
{
	return ui_main_start(argc, argv, false);
}

int
ui_attach_main(int argc, char **argv)
{
	return ui_main_start(argc, argv, true);
}

/* The UI on a daemon's engine: torrents given on the command line are added there (relative
 * paths from here), and leaving closes the connection only. */
static int
ui_main_attached(struct event_base *base, struct client *client, struct dp_config *cfg,
    struct ui_options *opt, int argc, char **argv, int first_arg)
{
	char cwd[4096], err[512];
	if (getcwd(cwd, sizeof cwd) == NULL)
		cwd[0] = '\0';
	snprintf(opt->message, sizeof opt->message, "attached to the daemon (PID %ld) on %.120s: "
	    "q leaves it running, Q stops it", client_remote_pid(client), cfg->session_dir);
	for (int i = first_arg; i < argc; i++) {
		bool magnet = strncmp(argv[i], "magnet:", 7) == 0;
		struct client_cmd cmd = { .kind = magnet ? CLIENT_CMD_ADD_MAGNET : CLIENT_CMD_ADD_FILE,
			.text = argv[i], .cwd = cwd[0] != '\0' ? cwd : NULL };
		if (client_command(client, &cmd, NULL, err, sizeof err) != 0)
			snprintf(opt->message, sizeof opt->message, "cannot add %.100s: %.140s", argv[i],
			    err);
	}
	char exit_message[256] = "";
	int status = ui_loop_run(base, client, opt, exit_message, sizeof exit_message) != 0 ? 1 : 0;
	if (exit_message[0] != '\0')
		fprintf(stderr, "downpour: %s\n", exit_message);
	client_free(client);
	event_base_free(base);
	config_free(cfg);
	return status;
}

/* The UI on the engine of this process, or (attach_only, or when a daemon holds the session)
 * on the daemon's over its attach socket. */
static int
ui_main_start(int argc, char **argv, bool attach_only)
{
	const char *config_path = NULL, *session = NULL, *peers[16], *encryption = NULL;
	const char *boots[16];
	bool no_utp = false;
	size_t npeers = 0, nboots = 0;
	bool demo = false, force_ascii = false, no_color = false;
	int first_arg = argc;
	setlocale(LC_ALL, "");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			ui_main_usage(stdout);
			printf("\n%s", ui_entry.help);
			return 0;
		} else if (strcmp(a, "--config") == 0 && has_value) {
			config_path = argv[++i];
		} else if (strcmp(a, "--session") == 0 && has_value) {
			session = argv[++i];
		} else if (strcmp(a, "--encryption") == 0 && has_value) {
			encryption = argv[++i];
		} else if (strcmp(a, "--no-utp") == 0) {
			no_utp = true;
		} else if (strcmp(a, "--peer") == 0 && has_value) {
			if (npeers == DP_ARRAY_LEN(peers)) {
				fprintf(stderr, "downpour: at most %zu --peer options\n", DP_ARRAY_LEN(peers));
				return 2;
			}
			peers[npeers++] = argv[++i];
		} else if (strcmp(a, "--dht-bootstrap") == 0 && has_value) {
			if (nboots == DP_ARRAY_LEN(boots)) {
				fprintf(stderr, "downpour: at most %zu --dht-bootstrap options\n",
				    DP_ARRAY_LEN(boots));
				return 2;
			}
			boots[nboots++] = argv[++i];
		} else if (strcmp(a, "--bench-list") == 0 && has_value) {
			return ui_main_bench(argv[i + 1]);
		} else if (strcmp(a, "--demo") == 0) {
			demo = true;
		} else if (strcmp(a, "--ascii") == 0) {
			force_ascii = true;
		} else if (strcmp(a, "--no-color") == 0) {
			no_color = true;
		} else if (strcmp(a, "--") == 0) {
			first_arg = i + 1;
			break;
		} else if (!has_value && (strcmp(a, "--config") == 0 ||
		    strcmp(a, "--session") == 0 || strcmp(a, "--peer") == 0 ||
		    strcmp(a, "--encryption") == 0 || strcmp(a, "--dht-bootstrap") == 0 ||
		    strcmp(a, "--bench-list") == 0)) {
			fprintf(stderr, "downpour: option '%s' needs a value\n", a);
			ui_main_usage(stderr);
			return 2;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "downpour: unknown option '%s' (try 'downpour --help')\n",
			    a);
			ui_main_usage(stderr);
			return 2;
		} else {
			first_arg = i;
			break;
		}
	}
	if (!isatty(0) || !isatty(1)) {
		fprintf(stderr, "downpour: the terminal UI needs a terminal on stdin and stdout\n");
		return 2;
	}

	struct dp_config cfg;
	char err[512];
	if (config_load(config_path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "downpour: %s\n", err);
		return 2;
	}
	struct demo *dm = NULL;
	if (demo) {
		dm = demo_prepare(argv[0], &cfg, err, sizeof err);
		if (dm == NULL) {
			fprintf(stderr, "downpour: demo: %s\n", err);
			config_free(&cfg);
			return 1;
		}
	} else if (session != NULL && config_set(&cfg, "session_dir", session, err, sizeof err) != 0) {
		fprintf(stderr, "downpour: --session: %s\n", err);
		config_free(&cfg);
		return 2;
	}
	if ((encryption != NULL &&
	    config_set(&cfg, "encryption", encryption, err, sizeof err) != 0) ||
	    (no_utp && config_set(&cfg, "utp", "false", err, sizeof err) != 0)) {
		fprintf(stderr, "downpour: %s: %s\n", encryption != NULL ? "--encryption" : "--no-utp",
		    err);
		config_free(&cfg);
		return 2;
	}
	/* --dht-bootstrap replaces the configured (or built-in) bootstrap list. */
	char *dht_boot = NULL;
	for (size_t i = 0; i < nboots; i++)
		cmd_list_append(&dht_boot, boots[i]);
	if (dht_boot != NULL && config_set(&cfg, "dht_bootstrap", dht_boot, err, sizeof err) != 0) {
		fprintf(stderr, "downpour: --dht-bootstrap: %s\n", err);
		demo_cleanup(dm);
		config_free(&cfg);
		free(dht_boot);
		return 2;
	}
	free(dht_boot);

	/* ASCII when asked, or when the locale cannot show UTF-8 */
	const char *cs = nl_langinfo(CODESET);
	tw_set_ascii(force_ascii || cfg.ui.ascii || cs == NULL || strcasecmp(cs, "UTF-8") != 0);
	keymap_init();
	for (size_t i = 0; i < cfg.key_count; i++) {
		if (keymap_bind(cfg.keys[i].action, cfg.keys[i].key, err, sizeof err) != 0) {
			fprintf(stderr, "downpour: %s: keys.%s: %s\n", cfg.source ? cfg.source : "config",
			    cfg.keys[i].action, err);
			demo_cleanup(dm);
			config_free(&cfg);
			return 2;
		}
	}
	/* the columns each table shows: the config's lists (bad names stop here, as bad key
	 * bindings do), replaced by the chooser's choice when the config still says what it
	 * said then */
	struct ui_col_set columns_conf[UCS_COUNT], columns[UCS_COUNT];
	if (ui_columns_from_config(&cfg, columns_conf, err, sizeof err) != 0) {
		fprintf(stderr, "downpour: %s: %s\n", cfg.source ? cfg.source : "--set", err);
		demo_cleanup(dm);
		config_free(&cfg);
		return 2;
	}
	char columns_file[1024] = "", columns_warning[256] = "";
	struct ui_columns_saved saved;
	memset(&saved, 0, sizeof saved);
	char *cpath = ui_columns_file_path();
	if (cpath != NULL && strlen(cpath) < sizeof columns_file) {
		snprintf(columns_file, sizeof columns_file, "%s", cpath);
		char cerr[600];
		/* a damaged file costs the saved choice, not the start */
		if (ui_columns_saved_load(columns_file, &saved, cerr, sizeof cerr) != 0)
			snprintf(columns_warning, sizeof columns_warning,
			    "saved columns ignored: %.200s", cerr);
	}
	free(cpath);
	ui_columns_resolve(columns_conf, &saved, columns);

	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "downpour: libevent has no thread support\n");
		demo_cleanup(dm);
		config_free(&cfg);
		return 1;
	}
	struct event_base *base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "downpour: cannot create the event loop\n");
		demo_cleanup(dm);
		config_free(&cfg);
		return 1;
	}
	log_set_stderr(false);
	struct ui_options opt = {
		.refresh_ms = cfg.ui.refresh_ms,
		.blocked_threshold_s = cfg.ui.blocked_threshold_s,
		.colors = cfg.ui.colors && !no_color && getenv("NO_COLOR") == NULL,
		.columns_conf = columns_conf,
		.columns = columns,
		.columns_file = columns_file[0] != '\0' ? columns_file : NULL,
		.sort = saved.sort,
	};
	if (columns_warning[0] != '\0') {
		log_warn("ui: %s", columns_warning);
		snprintf(opt.message, sizeof opt.message, "%s", columns_warning);
	}
	struct client *client = NULL;
	/* The session directory (not for the demo): one instance at a time, torrents restored; a
	 * session a daemon holds is shown by attaching to it. */
	struct lockfile *lock = NULL;
	if (attach_only && dm == NULL) {
		client = client_remote_new(cfg.session_dir, err, sizeof err);
	} else if (dm == NULL) {
		char *lock_path = xasprintf("%s/lock", cfg.session_dir);
		pid_t holder;
		lock = lockfile_acquire(lock_path, &holder, err, sizeof err);
		free(lock_path);
		if (lock == NULL && holder > 0) {
			char aerr[512];
			client = client_remote_new(cfg.session_dir, aerr, sizeof aerr);
			if (client == NULL)
				fprintf(stderr, "downpour: %s\n", aerr);
		}
	}
	if ((attach_only || lock == NULL) && dm == NULL && client == NULL) {
		fprintf(stderr, "downpour: %s\n", err);
		event_base_free(base);
		config_free(&cfg);
		return 1;
	}
	if (client != NULL)
		return ui_main_attached(base, client, &cfg, &opt, argc, argv, first_arg);

	struct engine *e = engine_new(base, &cfg, err, sizeof err);
	if (e != NULL && dm == NULL &&
	    session_store_open(e, cfg.session_dir, &cfg, err, sizeof err) != 0) {
		engine_free(e);
		e = NULL;
	}
	if (e == NULL) {
		fprintf(stderr, "downpour: %s\n", err);
		lockfile_release(lock);
		event_base_free(base);
		demo_cleanup(dm);
		config_free(&cfg);
		return 1;
	}

	int status = 0;
	/* torrents from the command line, then the peers given for them */
	for (int i = first_arg; i < argc; i++) {
		int id = 0;
		struct engine_add_opts ao = { 0 };
		int rc = strncmp(argv[i], "magnet:", 7) == 0 ?
		    engine_add_magnet(e, argv[i], &ao, &id, err, sizeof err) :
		    engine_add_torrent_file(e, argv[i], &ao, &id, err, sizeof err);
		if (rc != 0 && id <= 0) {
			snprintf(opt.message, sizeof opt.message, "cannot add %.100s: %.140s", argv[i], err);
			log_warn("%s", opt.message);
			continue;
		}
		for (size_t p = 0; p < npeers; p++)
			if (engine_torrent_add_peer(e, id, peers[p], err, sizeof err) != 0)
				log_warn("peer %s for torrent %d: %s", peers[p], id, err);
	}
	if (dm != NULL && demo_start(dm, e, err, sizeof err) != 0) {
		snprintf(opt.message, sizeof opt.message, "demo: %.200s", err);
		log_error("%s", opt.message);
	} else if (dm != NULL) {
		snprintf(opt.message, sizeof opt.message, "demo: two local seeders at 512 KiB/s each (~25 s); "
		    "Enter opens it, Tab switches tabs, 2 tasks, 3 blocked, q quits");
	}

	/* rpc.enabled: the UI serves Sonarr/Radarr and Transmission's front ends too, under the
	 * daemon's authentication rule; session-close is refused (q quits). A port in use is said
	 * on the bottom line and the UI runs on without it. */
	struct rpc_server *rpc = NULL;
	if (dm == NULL && cfg.rpc.enabled) {
		char cred_path[PATH_MAX], rerr[300];
		rpc = rpc_server_start(base, e, &cfg, NULL, NULL, cred_path, sizeof cred_path, rerr,
		    sizeof rerr);
		if (rpc == NULL) {
			log_error("rpc: not started: %s", rerr);
			if (opt.message[0] == '\0')
				snprintf(opt.message, sizeof opt.message, "RPC not started: %.200s", rerr);
		} else {
			log_info("rpc: serving on %s port %d", cfg.rpc.bind ? cfg.rpc.bind : RPC_DEFAULT_BIND,
			    rpc_server_port(rpc));
			if (opt.message[0] == '\0')
				snprintf(opt.message, sizeof opt.message, "RPC on %s:%d%s%.180s",
				    cfg.rpc.bind ? cfg.rpc.bind : RPC_DEFAULT_BIND, rpc_server_port(rpc),
				    cred_path[0] ? ", credentials in " : "", cred_path);
		}
	}

	client = client_local_new(e);
	char exit_message[256] = "";
	if (ui_loop_run(base, client, &opt, exit_message, sizeof exit_message) != 0)
		status = 1;
	client_free(client);
	rpc_server_free(rpc);
	engine_free(e);
	lockfile_release(lock);
	event_base_free(base);
	demo_cleanup(dm);
	config_free(&cfg);
	return status;
}
