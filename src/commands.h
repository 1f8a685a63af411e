/* commands.h: what each subcommand of the downpour binary exports (its entry, like tmux's
 * cmd_entry: name, usage, summary, help, run), the helpers they share (main.c) and the exit
 * statuses. main.c lists the entries; usage and help text live only in the entries. */
#ifndef DP_COMMANDS_H
#define DP_COMMANDS_H

#include <stdio.h>
#include "util.h"

/* GNU conventions: 0 success, 1 runtime failure, 2 bad usage or bad input. */
enum { DP_EXIT_OK = 0, DP_EXIT_FAILURE = 1, DP_EXIT_USAGE = 2 };

struct dp_command {
	const char *name;      /* the word after "downpour"; NULL for the terminal UI */
	const char *usage;     /* after "usage: downpour "; lines after the first are indented */
	const char *summary;   /* one line for `downpour --help` */
	const char *help;      /* what it does and its options, for `downpour NAME --help` */
	int (*run)(int argc, char **argv);   /* argv[0] is the name */
};

/* One per src/cmd_*.c file (cmd_get.c has get and seed). */
extern const struct dp_command cmd_info_entry, cmd_create_entry, cmd_config_entry,
    cmd_get_entry, cmd_seed_entry, cmd_daemon_entry, cmd_monitor_entry, cmd_attach_entry;

/* Prints "downpour: " + message + newline on stderr. */
void cmd_error(const char *fmt, ...) DP_PRINTF(1, 2);
/* Prints the command's usage line(s) to f (stderr after bad usage). */
void cmd_print_usage(FILE *f, const struct dp_command *c);
/* --help: the usage and the help on stdout; returns DP_EXIT_OK. */
int cmd_print_help(const struct dp_command *c);
/* A repeatable option's values as config_set takes a list: item appended to *list with a
 * comma (*list NULL at first; free() it). */
void cmd_list_append(char **list, const char *item);

#endif
