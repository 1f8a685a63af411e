/* cmd_daemon.c: `downpour daemon`: the headless seedbox: session lock, detaching, PID file, log
 * file, signals (TERM/INT stop, HUP reload, USR1 task table), and the servers around the engine. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "commands.h"
#include "daemon.h"
#include "dp_config.h"
#include "engine.h"
#include "lockfile.h"
#include "log.h"
#include "attach_server.h"
#include "monitor_server.h"
#include "rpc.h"
#include "session_store.h"
#include "stopsig.h"
#include "task_dump.h"
#include "util.h"

#define CMD_DAEMON_STOP_DEADLINE_MS 3000

/* USER:PASS from the environment when no option gives it (not seen in ps). */
#define CMD_DAEMON_AUTH_ENV "DOWNPOUR_RPC_AUTH"
#define CMD_DAEMON_AUTH_MAX 1024

struct cmd_daemon_state {
	struct event_base *base;
	struct engine *e;
	struct dp_config cfg;
	char *config_path;             /* NULL: the default path */
	/* command-line overrides, applied again on every reload */
	const char *opt_session, *opt_download, *opt_watch, *opt_port;
	const char *opt_encryption, *opt_utp;
	const char *opt_rpc, *opt_rpc_bind, *opt_rpc_port;
	/* --rpc-auth USER:PASS (split in place), --rpc-auth-file or DOWNPOUR_RPC_AUTH */
	const char *opt_rpc_user, *opt_rpc_pass;
	const char *opt_rpc_noauth;                /* --rpc-no-auth: "false" */
	char *opt_dht_boot;            /* every --dht-bootstrap, comma-separated (free()) */
	struct rpc_server *rpc;
	struct monitor_server *monitor;
	struct attach_server *attach;  /* `downpour attach` UIs */
	bool stopping;
	uint64_t stop_us;               /* when the stop began (dp_now_us) */
	int exit_status;
	struct stopsig *stop_sig;      /* INT and TERM: the second one ends the process at once */
	struct event *sig_hup, *sig_usr1;
	struct task_dump *dump;        /* SIGUSR1's, while it is gathered in slices */
};

/* mkdir -p with mode 0700 for the parts we create. */
static int
cmd_daemon_mkdirs(const char *path, char *err, size_t errlen)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: can't create: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	return 0;
}

/*
 * The session directory holds the RPC's credentials, resume files, the log and copies of every
 * torrent: others have no business in it. A directory made before (0755 by hand, by an older
 * version) or a log file made 0644 is tightened when it is ours, warned about when it is not.
 * What was done goes to note (logged once the log is open).
 */
static void
cmd_daemon_tighten(const char *dir, const char *log_path, char *note, size_t notelen)
{
	const char *paths[] = { dir, log_path };
	note[0] = '\0';
	for (size_t i = 0; i < DP_ARRAY_LEN(paths); i++) {
		struct stat st;
		size_t used = strlen(note);
		if (paths[i] == NULL || stat(paths[i], &st) < 0 || (st.st_mode & 077) == 0)
			continue;
		mode_t want = st.st_mode & 0700;
		if (st.st_uid != geteuid())
			snprintf(note + used, notelen - used, "%s%s is mode %04o and not ours (uid %ld): "
			    "others may read it", used ? "; " : "", paths[i],
			    (unsigned)(st.st_mode & 07777), (long)st.st_uid);
		else if (chmod(paths[i], want) < 0)
			snprintf(note + used, notelen - used, "%s%s is mode %04o: can't make it %04o: %s",
			    used ? "; " : "", paths[i], (unsigned)(st.st_mode & 07777), (unsigned)want,
			    strerror(errno));
		else
			snprintf(note + used, notelen - used, "%s%s was mode %04o, now %04o", used ?
			    "; " : "", paths[i], (unsigned)(st.st_mode & 07777), (unsigned)want);
	}
}

/* Loads the config file and applies the command line on top; the same on start and SIGHUP. */
static int
cmd_daemon_load_config(struct cmd_daemon_state *d, struct dp_config *out, char *err, size_t errlen)
{
	char why[512];
	if (config_load(d->config_path, out, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	const struct { const char *key, *value, *opt; } over[] = {
		{ "session_dir", d->opt_session, "--session" },
		{ "download_dir", d->opt_download, "--download-dir" },
		{ "watch_dir", d->opt_watch, "--watch-dir" },
		{ "listen_port", d->opt_port, "--port" },
		{ "encryption", d->opt_encryption, "--encryption" },
		{ "utp", d->opt_utp, "--no-utp" },
		/* password before user name and enabled last: each step is validated */
		{ "rpc.password", d->opt_rpc_pass, "--rpc-auth" },
		{ "rpc.username", d->opt_rpc_user, "--rpc-auth" },
		{ "rpc.bind", d->opt_rpc_bind, "--rpc-bind" },
		{ "rpc.port", d->opt_rpc_port, "--rpc-port" },
		{ "rpc.enabled", d->opt_rpc, "--rpc" },
		{ "rpc.authentication", d->opt_rpc_noauth, "--rpc-no-auth" },
		{ "dht_bootstrap", d->opt_dht_boot, "--dht-bootstrap" },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(over); i++) {
		if (over[i].value == NULL)
			continue;
		if (config_set(out, over[i].key, over[i].value, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", over[i].opt, why);
			config_free(out);
			return -1;
		}
	}
	return 0;
}

static void
cmd_daemon_stopped(void *arg)
{
	struct cmd_daemon_state *d = arg;
	event_base_loopbreak(d->base);
}

static void
cmd_daemon_stop(struct cmd_daemon_state *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	d->stop_us = dp_now_us();
	log_info("%s: stopping", why);
	engine_shutdown(d->e, CMD_DAEMON_STOP_DEADLINE_MS, cmd_daemon_stopped, d);
}

/* The slowest callback of the stop by wall time and the one with the most CPU (a loop that must
 * keep answering while 10,000 torrents stop and save; on a busy machine the wall time may be the
 * scheduler's): the figures tests/bench/scale.sh reports. */
static void
cmd_daemon_log_stop_health(struct cmd_daemon_state *d)
{
	struct engine_loop_health h;
	engine_loop_health(d->e, &h);
	char s[160];
	size_t i;
	for (i = 0; i < h.slowest_count && h.slowest[i].when_us < d->stop_us; i++)
		;
	if (i == h.slowest_count) {
		log_info("stop: no callback among the loop's slowest of the last minute");
	} else {
		monitor_format_slow(&h.slowest[i], false, s, sizeof s);
		log_info("stop: slowest callback %s in %s", s, h.slowest[i].task_name);
	}
	for (i = 0; i < h.heaviest_count && h.heaviest[i].when_us < d->stop_us; i++)
		;
	if (i < h.heaviest_count) {
		monitor_format_slow(&h.heaviest[i], true, s, sizeof s);
		log_info("stop: most CPU callback %s in %s", s, h.heaviest[i].task_name);
	} else if (h.heaviest_count > 0) {
		/* the list holds the last minute's 8 with the most CPU: the stop's were below */
		log_info("stop: most CPU callback under %.1f ms (none among the loop's %zu with the "
		    "most CPU of the last minute)", (double)h.heaviest[h.heaviest_count - 1].cpu_us /
		    1000.0, h.heaviest_count);
	}
}

/* The RPC's session-close. */
static void
cmd_daemon_rpc_close(void *arg)
{
	cmd_daemon_stop(arg, "session-close");
}

/* Q in an attached UI (after it asked). */
static void
cmd_daemon_attach_stop(void *arg)
{
	cmd_daemon_stop(arg, "an attached UI");
}

/* SIGHUP: new limits, directories and hooks from the file; the log file is reopened. */
static void
cmd_daemon_reload(struct cmd_daemon_state *d)
{
	if (log_reopen_file() < 0)
		log_error("SIGHUP: can't reopen the log file: %s", strerror(errno));
	struct dp_config cfg;
	char err[600];
	if (cmd_daemon_load_config(d, &cfg, err, sizeof err) < 0) {
		log_error("SIGHUP: configuration not reloaded: %s", err);
		return;
	}
	if (strcmp(cfg.session_dir, d->cfg.session_dir) != 0)
		log_warn("SIGHUP: session_dir changed to %s; it takes effect at the next start",
		    cfg.session_dir);
	log_set_level(cfg.log_level);
	engine_apply_config(d->e, &cfg);
	config_free(&d->cfg);
	d->cfg = cfg;
	log_info("SIGHUP: configuration reloaded from %s", d->cfg.source ? d->cfg.source :
	    "the built-in defaults");
}

/* A SIGUSR1 dump is gathered: another may start. */
static void
cmd_daemon_dump_ended(void *arg)
{
	struct cmd_daemon_state *d = arg;
	d->dump = NULL;
}

/* SIGUSR1: the task table, one line per task, and every torrent's state into the log, read in
 * slices and written on the disk pool (task_dump.c). */
static void
cmd_daemon_dump_tasks(struct cmd_daemon_state *d)
{
	if (d->dump != NULL) {
		log_info("SIGUSR1: a task table is being gathered already; it comes first");
		return;
	}
	d->dump = task_dump_start(d->e, 0, cmd_daemon_dump_ended, d);
}

static void
cmd_daemon_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct cmd_daemon_state *d = arg;
	(void)what;
	switch (sig) {
	case SIGHUP:
		cmd_daemon_reload(d);
		break;
	case SIGUSR1:
		cmd_daemon_dump_tasks(d);
		break;
	}
}

static void
cmd_daemon_stop_signal_cb(int sig, void *arg)
{
	cmd_daemon_stop(arg, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static int
cmd_daemon_add_signals(struct cmd_daemon_state *d, const char *pid_path)
{
	struct { int sig; struct event **ev; } s[] = {
		{ SIGHUP, &d->sig_hup }, { SIGUSR1, &d->sig_usr1 },
	};
	if ((d->stop_sig = stopsig_new(d->base, cmd_daemon_stop_signal_cb, d, pid_path)) == NULL)
		return -1;
	for (size_t i = 0; i < DP_ARRAY_LEN(s); i++) {
		*s[i].ev = evsignal_new(d->base, s[i].sig, cmd_daemon_signal_cb, d);
		if (*s[i].ev == NULL || evsignal_add(*s[i].ev, NULL) < 0)
			return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void
cmd_daemon_free_signals(struct cmd_daemon_state *d)
{
	stopsig_free(d->stop_sig);
	struct event *evs[] = { d->sig_hup, d->sig_usr1 };
	for (size_t i = 0; i < DP_ARRAY_LEN(evs); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
}

/* A copy of n bytes of credentials that lives as long as the process (the options point into
 * it, as they point into argv). */
static char *
cmd_daemon_auth_keep(const char *s, size_t n)
{
	static char kept[CMD_DAEMON_AUTH_MAX + 1];
	n = DP_MIN(n, sizeof kept - 1);
	memcpy(kept, s, n);
	kept[n] = '\0';
	return kept;
}

/* USER:PASS (s, split in place) as the RPC's credentials; what: where it came from. */
static int
cmd_daemon_auth_split(struct cmd_daemon_state *d, char *s, const char *what)
{
	char *colon = strchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == '\0') {
		cmd_error("%s wants USER:PASSWORD", what);
		return -1;
	}
	*colon = '\0';
	d->opt_rpc_user = s;
	d->opt_rpc_pass = colon + 1;
	d->opt_rpc = "true";
	return 0;
}

/* The first line of path (USER:PASS), kept; NULL with the reason said. A file others may read
 * is used, with a warning: the point of the file is that they cannot. */
static char *
cmd_daemon_auth_read(const char *path)
{
	uint8_t *buf;
	size_t len;
	struct stat st;
	if (dp_read_file(path, CMD_DAEMON_AUTH_MAX, &buf, &len) < 0) {
		cmd_error("--rpc-auth-file %s: %s", path, errno == EFBIG ? "longer than 1 KiB" :
		    strerror(errno));
		return NULL;
	}
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		fprintf(stderr, "downpour: warning: --rpc-auth-file %s can be read by other users "
		    "(chmod 600 it)\n", path);
	size_t n = 0;
	while (n < len && buf[n] != '\n' && buf[n] != '\r' && buf[n] != '\0')
		n++;
	char *line = cmd_daemon_auth_keep((const char *)buf, n);
	explicit_bzero(buf, len);
	free(buf);
	return line;
}

static int
cmd_daemon_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "session", required_argument, NULL, 's' },
		{ "download-dir", required_argument, NULL, 'd' },
		{ "watch-dir", required_argument, NULL, 'w' },
		{ "port", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "rpc", no_argument, NULL, 'R' },
		{ "rpc-bind", required_argument, NULL, 'B' },
		{ "rpc-port", required_argument, NULL, 'P' },
		{ "rpc-auth", required_argument, NULL, 'A' },
		{ "rpc-auth-file", required_argument, NULL, 'F' },
		{ "rpc-no-auth", no_argument, NULL, 'N' },
		{ "encryption", required_argument, NULL, 'E' },
		{ "no-utp", no_argument, NULL, 'U' },
		{ "dht-bootstrap", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_daemon_state d;
	memset(&d, 0, sizeof d);
	bool foreground = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fs:d:w:p:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = true; break;
		case 's': d.opt_session = optarg; break;
		case 'd': d.opt_download = optarg; break;
		case 'w': d.opt_watch = optarg; break;
		case 'p': d.opt_port = optarg; break;
		case 'c': d.config_path = optarg; break;
		case 'E': d.opt_encryption = optarg; break;
		case 'U': d.opt_utp = "false"; break;
		/* The --rpc-* options imply --rpc. */
		case 'R': d.opt_rpc = "true"; break;
		case 'B': d.opt_rpc_bind = optarg, d.opt_rpc = "true"; break;
		case 'P': d.opt_rpc_port = optarg, d.opt_rpc = "true"; break;
		case 'N': d.opt_rpc_noauth = "false", d.opt_rpc = "true"; break;
		case 'A':
			if (cmd_daemon_auth_split(&d, optarg, "--rpc-auth") < 0)
				return DP_EXIT_USAGE;
			break;
		case 'F': {
			char *line = cmd_daemon_auth_read(optarg);
			if (line == NULL || cmd_daemon_auth_split(&d, line, "--rpc-auth-file") < 0)
				return DP_EXIT_USAGE;
			break;
		}
		case 'D': cmd_list_append(&d.opt_dht_boot, optarg); break;
		case 'h':
			free(d.opt_dht_boot);
			return cmd_print_help(&cmd_daemon_entry);
		default:
			cmd_print_usage(stderr, &cmd_daemon_entry);
			free(d.opt_dht_boot);
			return DP_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cmd_print_usage(stderr, &cmd_daemon_entry);
		free(d.opt_dht_boot);
		return DP_EXIT_USAGE;
	}
	/* The environment's credentials when no option gave any; taken out of the environment
	 * so that hooks (child processes) do not inherit them. */
	const char *env_auth = getenv(CMD_DAEMON_AUTH_ENV);
	if (env_auth != NULL && d.opt_rpc_user == NULL) {
		char *copy = cmd_daemon_auth_keep(env_auth, strlen(env_auth));
		if (cmd_daemon_auth_split(&d, copy, CMD_DAEMON_AUTH_ENV) < 0)
			return DP_EXIT_USAGE;
	}
	unsetenv(CMD_DAEMON_AUTH_ENV);
	char err[1200];
	/* The daemon runs in "/": a relative --config must still name the same file on SIGHUP. */
	char *config_abs = NULL;
	if (d.config_path != NULL && d.config_path[0] != '/') {
		config_abs = realpath(d.config_path, NULL);
		if (config_abs != NULL)
			d.config_path = config_abs;
	}
	if (cmd_daemon_load_config(&d, &d.cfg, err, sizeof err) < 0) {
		free(config_abs);
		free(d.opt_dht_boot);
		cmd_error("%s", err);
		return DP_EXIT_USAGE;
	}
	if (cmd_daemon_mkdirs(d.cfg.session_dir, err, sizeof err) < 0) {
		cmd_error("%s", err);
		config_free(&d.cfg);
		free(config_abs);
		free(d.opt_dht_boot);
		return DP_EXIT_FAILURE;
	}
	char *lock_path = xasprintf("%s/lock", d.cfg.session_dir);
	char *pid_path = xasprintf("%s/downpour.pid", d.cfg.session_dir);
	char *log_path = d.cfg.log_file != NULL ? xstrdup(d.cfg.log_file) :
	    xasprintf("%s/downpour.log", d.cfg.session_dir);
	char perm_note[1200];
	cmd_daemon_tighten(d.cfg.session_dir, d.cfg.log_file == NULL ? log_path : NULL, perm_note,
	    sizeof perm_note);
	struct lockfile *lock = NULL;
	int notify = -1, rc = DP_EXIT_FAILURE;
	bool pid_written = false;

	/* Refuse before detaching so the user sees the running one's PID on the terminal. */
	pid_t holder = lockfile_holder(lock_path);
	if (holder > 0) {
		cmd_error("the session %s is in use by another downpour (PID %ld)",
		    d.cfg.session_dir, (long)holder);
		goto out;
	}
	if (!foreground) {
		if (daemon_detach(&notify, err, sizeof err) < 0) {
			cmd_error("%s", err);
			goto out;
		}
		if (daemon_redirect_stdio(log_path, err, sizeof err) < 0)
			goto fail;
	}
	if ((lock = lockfile_acquire(lock_path, &holder, err, sizeof err)) == NULL)
		goto fail;
	if (log_open_file(log_path) < 0) {
		snprintf(err, sizeof err, "%s: can't open the log file: %s", log_path,
		    strerror(errno));
		goto fail;
	}
	log_set_stderr(foreground);
	log_set_level(d.cfg.log_level);
	if (perm_note[0] != '\0')
		log_warn("session: others could read it: %s", perm_note);
	/* From the PID file on, a script may signal us (logrotate's postrotate sends SIGHUP):
	 * SIGHUP and SIGUSR1 wait blocked until their handlers exist instead of killing a daemon
	 * still loading its session. Threads started meanwhile inherit the mask, so the loop
	 * thread is the one that takes them. */
	sigset_t early;
	sigemptyset(&early);
	sigaddset(&early, SIGHUP);
	sigaddset(&early, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &early, NULL);
	if (daemon_write_pidfile(pid_path, err, sizeof err) < 0)
		goto fail;
	pid_written = true;
	if (evthread_use_pthreads() < 0) {
		snprintf(err, sizeof err, "libevent has no pthreads support");
		goto fail;
	}
	d.base = event_base_new();
	if (d.base == NULL) {
		snprintf(err, sizeof err, "can't create the event loop");
		goto fail;
	}
	d.e = engine_new(d.base, &d.cfg, err, sizeof err);
	if (d.e == NULL)
		goto fail;
	if (session_store_open(d.e, d.cfg.session_dir, &d.cfg, err, sizeof err) < 0)
		goto fail;

	/*
	 * Servers around the engine start here, after the engine and the session exist and before
	 * the loop runs (the RPC and the headless monitor): each one failing to start goes to fail
	 * with err set, so the launcher exits 1 with the reason.
	 */
	if ((d.monitor = monitor_server_new(d.base, d.e, d.cfg.session_dir, err,
	    sizeof err)) == NULL)
		goto fail;
	if ((d.attach = attach_server_new(d.base, d.e, d.cfg.session_dir, cmd_daemon_attach_stop,
	    &d, err, sizeof err)) == NULL)
		goto fail;
	monitor_server_set_max_clients(d.monitor, d.cfg.monitor_max_clients);
	attach_server_set_max_clients(d.attach, d.cfg.monitor_max_clients);
	if (d.cfg.rpc.enabled) {
		char cred_path[PATH_MAX];
		d.rpc = rpc_server_start(d.base, d.e, &d.cfg, cmd_daemon_rpc_close, &d, cred_path,
		    sizeof cred_path, err, sizeof err);
		if (d.rpc == NULL)
			goto fail;
	}

	if (cmd_daemon_add_signals(&d, pid_path) < 0) {
		snprintf(err, sizeof err, "can't set up signal handling");
		goto fail;
	}
	pthread_sigmask(SIG_UNBLOCK, &early, NULL);
	log_info("downpour %s daemon running (PID %ld), session %s", PACKAGE_VERSION,
	    (long)getpid(), d.cfg.session_dir);
	daemon_ready(notify, 0, NULL);
	notify = -1;

	event_base_dispatch(d.base);

	rpc_server_free(d.rpc);
	d.rpc = NULL;
	attach_server_free(d.attach);
	d.attach = NULL;
	monitor_server_free(d.monitor);
	d.monitor = NULL;
	task_dump_free(d.dump);
	d.dump = NULL;
	cmd_daemon_log_stop_health(&d);
	engine_free(d.e);
	d.e = NULL;
	log_info("stopped");
	rc = DP_EXIT_OK;
	goto out;
fail:
	log_error("%s", err);
	if (notify >= 0) {
		daemon_ready(notify, DP_EXIT_FAILURE, err);
		notify = -1;
	} else {
		cmd_error("%s", err);
	}
out:
	rpc_server_free(d.rpc);
	attach_server_free(d.attach);
	monitor_server_free(d.monitor);
	task_dump_free(d.dump);
	if (d.e != NULL)
		engine_free(d.e);
	cmd_daemon_free_signals(&d);
	if (d.base != NULL)
		event_base_free(d.base);
	if (pid_written)
		daemon_remove_pidfile(pid_path);
	lockfile_release(lock);
	log_open_file(NULL);
	config_free(&d.cfg);
	free(lock_path);
	free(pid_path);
	free(log_path);
	free(config_abs);
	free(d.opt_dht_boot);
	return rc;
}

const struct dp_command cmd_daemon_entry = {
	.name = "daemon",
	.usage = "daemon [--foreground] [--session DIR] [--download-dir DIR] [--watch-dir DIR]\n"
	    "                       [--port N] [--config FILE] [--encryption MODE] [--no-utp]\n"
	    "                       [--rpc [--rpc-bind ADDR] [--rpc-port N] [--rpc-auth USER:PASS]\n"
	    "                       [--rpc-auth-file FILE]]\n"
	    "                       [--dht-bootstrap ADDR:PORT]...",
	.summary = "run headless on the session directory (detached unless --foreground)",
	.help = "Runs the engine without a terminal on the session directory. The options\n"
	    "override the configuration file's keys named in parentheses.\n"
	    "  -f, --foreground         stay attached to the terminal (for systemd)\n"
	    "  -s, --session DIR        the session directory (session_dir)\n"
	    "  -d, --download-dir DIR   where new torrents are saved (download_dir)\n"
	    "  -w, --watch-dir DIR      add .torrent and .magnet files written here (watch_dir)\n"
	    "  -p, --port N             listen for peers on port N (listen_port)\n"
	    "  -c, --config FILE        read FILE instead of the default configuration file\n"
	    "  --encryption MODE        required, preferred or tolerated (encryption)\n"
	    "  --no-utp                 TCP only, no uTP connections (utp = false)\n"
	    "  --rpc                    serve the Transmission RPC (rpc.enabled)\n"
	    "  --rpc-bind ADDR          on this address (rpc.bind); implies --rpc\n"
	    "  --rpc-port N             on this port (rpc.port); implies --rpc\n"
	    "  --rpc-auth USER:PASS     require this user name and password; implies --rpc (any\n"
	    "                           user of this machine sees it in ps: prefer the next two)\n"
	    "  --rpc-auth-file FILE     the same, from the first line of FILE (mode 0600)\n"
	    "  (DOWNPOUR_RPC_AUTH=USER:PASS in the environment does the same)\n"
	    "  --rpc-no-auth            no authentication (rpc.authentication = false; without\n"
	    "                           a user name the RPC uses SESSION/rpc-credentials); implies\n"
	    "                           --rpc\n"
	    "  --dht-bootstrap ADDR:PORT  join the DHT through this node (dht_bootstrap; repeat\n"
	    "                           it for more)\n"
	    "SIGHUP reloads the configuration, SIGTERM and SIGINT stop, SIGUSR1 logs the tasks.\n",
	.run = cmd_daemon_run,
};
