/* main.c: the downpour binary's entry point: the list of subcommands (each file exports its
 * entry), global options, dispatch, and the helpers the commands share. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "escape.h"
#include "ui.h"

/* In the order `downpour --help` lists them. */
static const struct dp_command *const main_commands[] = {
	&cmd_info_entry,
	&cmd_create_entry,
	&cmd_config_entry,
	&cmd_get_entry,
	&cmd_seed_entry,
	&cmd_daemon_entry,
	&cmd_monitor_entry,
	&cmd_attach_entry,
};

void
cmd_error(const char *fmt, ...)
{
	/* Messages quote paths, torrent and tracker text: escaped, so none can forge a line. */
	va_list ap;
	va_start(ap, fmt);
	char *raw = xvasprintf(fmt, ap);
	va_end(ap);
	char *safe = dp_escape_dup(raw);
	fprintf(stderr, "downpour: %s\n", safe);
	free(safe);
	free(raw);
}

void
cmd_print_usage(FILE *f, const struct dp_command *c)
{
	fprintf(f, "usage: downpour %s\n", c->usage);
}

int
cmd_print_help(const struct dp_command *c)
{
	cmd_print_usage(stdout, c);
	if (c->help != NULL)
		printf("\n%s", c->help);
	return DP_EXIT_OK;
}

void
cmd_list_append(char **list, const char *item)
{
	char *joined = *list == NULL ? xstrdup(item) : xasprintf("%s,%s", *list, item);
	free(*list);
	*list = joined;
}

static const struct dp_command *
main_find(const char *name)
{
	for (size_t i = 0; i < DP_ARRAY_LEN(main_commands); i++)
		if (strcmp(main_commands[i]->name, name) == 0)
			return main_commands[i];
	return NULL;
}

/* The terminal UI's usage and options (its entry), then every command's summary. */
static void
main_usage(FILE *f)
{
	cmd_print_usage(f, &ui_entry);
	fprintf(f, "       downpour COMMAND [ARGS]\n"
	    "       downpour --help | --version\n\n%s\ncommands:\n", ui_entry.help);
	for (size_t i = 0; i < DP_ARRAY_LEN(main_commands); i++)
		fprintf(f, "  %-8s %s\n", main_commands[i]->name, main_commands[i]->summary);
	fprintf(f, "\n'downpour COMMAND --help' describes a command's options.\n");
}

/* Every peer, RPC client and open file is a descriptor: at the usual soft limit of 1024, 1,100
 * idle connections to the RPC port made every accept fail and resume saves fail with EMFILE
 * (issue 11, finding 7). The soft limit goes up to the hard one, which needs no privilege. */
static void
main_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	main_raise_fd_limit();
	if (argc < 2 && isatty(0) && isatty(1))
		return ui_entry.run(argc, argv);
	if (argc < 2) {
		main_usage(stderr);
		return DP_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		main_usage(stdout);
		return DP_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("downpour %s\n", PACKAGE_VERSION);
		return DP_EXIT_OK;
	}
	const struct dp_command *c = main_find(argv[1]);
	if (c != NULL)
		return c->run(argc - 1, argv + 1);
	/* options (the UI reports one it does not know), a torrent file or a magnet link */
	if (ui_wants_args(argc, argv))
		return ui_entry.run(argc, argv);
	cmd_error("unknown command '%s' (try 'downpour --help')", argv[1]);
	return DP_EXIT_USAGE;
}
