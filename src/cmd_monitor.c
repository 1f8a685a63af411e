/* cmd_monitor.c: `downpour monitor`: the headless monitor's client: one command for scripts
 * (ps, blocked, health, where ID, log) or a prompt reading commands from stdin, over the session socket. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "dp_config.h"
#include "escape.h"
#include "monitor_server.h"
#include "util.h"

#define CMD_MONITOR_TIMEOUT_S 10

static bool
cmd_monitor_all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Checks a command's shape before bothering the daemon; false = bad usage. */
static bool
cmd_monitor_command_ok(int argc, char **argv)
{
	const char *c = argv[0];
	if (strcmp(c, "ps") == 0)
		return argc == 1 || (argc == 2 && strcmp(argv[1], "all") == 0);
	if (strcmp(c, "help") == 0 || strcmp(c, "health") == 0)
		return argc == 1;
	if (strcmp(c, "blocked") == 0 || strcmp(c, "log") == 0)
		return argc == 1 || (argc == 2 && cmd_monitor_all_digits(argv[1]));
	if (strcmp(c, "where") == 0)
		return argc == 2 && cmd_monitor_all_digits(argv[1]);
	return false;
}

struct cmd_monitor_conn {
	int fd;
	FILE *in;
};

static int
cmd_monitor_connect(const char *session_dir, struct cmd_monitor_conn *mc)
{
	char *path = monitor_socket_path(session_dir);
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		cmd_error("%s: path too long for a Unix socket", path);
		free(path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cmd_error("socket: %s", strerror(errno));
		free(path);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			cmd_error("no downpour daemon is running on the session %s (nothing answers "
			    "on %s)", session_dir, path);
		else
			cmd_error("%s: can't connect: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	/* A daemon that hangs must not hang scripts. */
	struct timeval tv = { CMD_MONITOR_TIMEOUT_S, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int rfd = dup(fd);
	mc->in = rfd >= 0 ? fdopen(rfd, "r") : NULL;
	if (mc->in == NULL) {
		cmd_error("can't read from the monitor socket: %s", strerror(errno));
		if (rfd >= 0)
			close(rfd);
		close(fd);
		return -1;
	}
	mc->fd = fd;
	return 0;
}

static void
cmd_monitor_close(struct cmd_monitor_conn *mc)
{
	fclose(mc->in);
	close(mc->fd);
}

/* Sends one command line and prints the answer. 0 ok, 1 error answer or lost connection. */
static int
cmd_monitor_exchange(struct cmd_monitor_conn *mc, const char *line)
{
	size_t len = strlen(line);
	char *msg = xasprintf("%s\n", line);
	size_t off = 0;
	while (off < len + 1) {
		ssize_t n = write(mc->fd, msg + off, len + 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			cmd_error("can't send to the daemon: %s", n < 0 ? strerror(errno) :
			    "connection closed");
			free(msg);
			return DP_EXIT_FAILURE;
		}
		off += (size_t)n;
	}
	free(msg);
	char *buf = NULL;
	size_t cap = 0;
	bool first = true, failed = false, ended = false;
	ssize_t n;
	while ((n = getline(&buf, &cap, mc->in)) > 0) {
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (strcmp(buf, MONITOR_END) == 0) {
			ended = true;
			break;
		}
		if (first && strncmp(buf, MONITOR_ERR, strlen(MONITOR_ERR)) == 0) {
			cmd_error("%s", buf + strlen(MONITOR_ERR));
			failed = true;
		} else {
			/* Task names and log lines quote peers and trackers: the daemon escapes them,
			 * and so does this end, whatever daemon answers. */
			char *safe = dp_escape_dup(buf[0] == '.' ? buf + 1 : buf);
			fputs(safe, stdout);
			fputc('\n', stdout);
			free(safe);
		}
		first = false;
	}
	free(buf);
	fflush(stdout);
	if (!ended) {
		cmd_error("the daemon closed the connection or did not answer in %d s",
		    CMD_MONITOR_TIMEOUT_S);
		return DP_EXIT_FAILURE;
	}
	return failed ? DP_EXIT_FAILURE : DP_EXIT_OK;
}

static int
cmd_monitor_interactive(struct cmd_monitor_conn *mc)
{
	bool tty = isatty(STDIN_FILENO) == 1;
	char *line = NULL;
	size_t cap = 0;
	int rc = DP_EXIT_OK;
	for (;;) {
		if (tty) {
			fputs("monitor> ", stdout);
			fflush(stdout);
		}
		ssize_t n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			continue;
		if (strcmp(p, "quit") == 0 || strcmp(p, "exit") == 0)
			break;
		if (strlen(p) >= MONITOR_MAX_LINE) {
			cmd_error("command too long");
			continue;
		}
		rc = cmd_monitor_exchange(mc, p);
		/* A lost connection ends the session; an error answer does not. */
		if (rc != DP_EXIT_OK && feof(mc->in))
			break;
	}
	if (tty)
		fputc('\n', stdout);
	free(line);
	return rc;
}

static int
cmd_monitor_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *session = NULL, *config_path = NULL;
	int c;
	optind = 1;
	/* "+": stop at the first command word, so `where 12` is not parsed as options. */
	while ((c = getopt_long(argc, argv, "+s:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': session = optarg; break;
		case 'c': config_path = optarg; break;
		case 'h':
			return cmd_print_help(&cmd_monitor_entry);
		default:
			cmd_print_usage(stderr, &cmd_monitor_entry);
			return DP_EXIT_USAGE;
		}
	}
	int nwords = argc - optind;
	char **words = argv + optind;
	if (nwords > 0 && !cmd_monitor_command_ok(nwords, words)) {
		cmd_print_usage(stderr, &cmd_monitor_entry);
		return DP_EXIT_USAGE;
	}
	struct dp_config cfg;
	bool have_cfg = false;
	if (session == NULL) {
		char err[512];
		if (config_load(config_path, &cfg, err, sizeof err) < 0) {
			cmd_error("%s", err);
			return DP_EXIT_USAGE;
		}
		have_cfg = true;
		session = cfg.session_dir;
	}
	struct cmd_monitor_conn mc;
	int rc;
	if (cmd_monitor_connect(session, &mc) < 0) {
		rc = DP_EXIT_FAILURE;
	} else {
		if (nwords > 0) {
			struct dp_buf line;
			dp_buf_init(&line);
			for (int i = 0; i < nwords; i++)
				dp_buf_printf(&line, "%s%s", i ? " " : "", words[i]);
			rc = cmd_monitor_exchange(&mc, (const char *)line.data);
			dp_buf_free(&line);
		} else {
			rc = cmd_monitor_interactive(&mc);
		}
		cmd_monitor_close(&mc);
	}
	if (have_cfg)
		config_free(&cfg);
	return rc;
}

const struct dp_command cmd_monitor_entry = {
	.name = "monitor",
	.usage = "monitor [--session DIR] [--config FILE] "
	    "[ps [all] | blocked [SECS] | health | where ID | log [N] | help]",
	.summary = "show a running daemon's tasks: what each one waits for, and where",
	.help = "Asks the daemon running on the session about its tasks; `help` lists what each\n"
	    "command prints. Without a command it reads commands from standard input (a prompt\n"
	    "on a terminal).\n"
	    "  -s, --session DIR   the daemon's session directory (default: session_dir)\n"
	    "  -c, --config FILE   read session_dir from FILE instead of the default file\n",
	.run = cmd_monitor_run,
};
