/* commands.h: the subcommands of the downpour binary and the exit-status conventions they share. */
#ifndef DP_COMMANDS_H
#define DP_COMMANDS_H

#include <stdio.h>
#include "util.h"

/* GNU conventions: 0 success, 1 runtime failure, 2 bad usage or bad input. */
enum { DP_EXIT_OK = 0, DP_EXIT_FAILURE = 1, DP_EXIT_USAGE = 2 };

struct dp_command {
	const char *name;
	int (*run)(int argc, char **argv);   /* argv[0] is the subcommand name */
	const char *usage;                   /* one line, after "downpour " */
	const char *summary;
};

/* Prints "downpour: " + message + newline on stderr. */
void cmd_error(const char *fmt, ...) DP_PRINTF(1, 2);
/* Prints the command's usage line to f. */
void cmd_print_usage(FILE *f, const struct dp_command *c);
const struct dp_command *cmd_find(const char *name);

int cmd_info(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_seed(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_monitor(int argc, char **argv);

#endif
