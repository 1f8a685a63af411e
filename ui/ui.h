/* ui.h: the terminal UI's entry points: `downpour [options] [TORRENT|MAGNET...]` and `--demo`
 * (ui_main.c), and the loop that runs the UI on an engine (ui.c). */
#ifndef DP_UI_H
#define DP_UI_H

#include <stdbool.h>
#include <stdio.h>

#include "commands.h"

struct event_base;
struct client;
struct ui_col_set;
struct ui_sort_key;

/* The UI as the binary's command without a name: its usage and options for `downpour --help`;
 * run() takes the whole command line and returns when the user quits, with an exit status. */
extern const struct dp_command ui_entry;
/* Whether argv (argv[0] = "downpour") is for the UI: no arguments, an option, an existing file
 * or a magnet link. main.c asks before reporting an unknown command. */
bool ui_wants_args(int argc, char **argv);
/* `downpour attach [options]`: the UI on the daemon of the session (cmd_attach.c's entry); the
 * UI's options apply. Exit status 1 when no daemon answers there. */
int ui_attach_main(int argc, char **argv);

/* The loop (ui.c): runs curses on base until the user quits and the client has left (an engine
 * in process stops; a daemon keeps running). Returns 0, or -1 when the terminal could not be
 * set up or an attached daemon went away (client_lost says why); exit_message gets what to say
 * on the terminal afterwards ("" for nothing). */
struct ui_options {
	int refresh_ms;
	int blocked_threshold_s;
	bool colors;
	char message[256];      /* shown on the bottom line at the start */
	/* each table screen's columns (columns.h, UCS_COUNT of them): as configured, and shown
	 * at the start (a saved choice); NULL: every column */
	const struct ui_col_set *columns_conf, *columns;
	const char *columns_file;   /* where the chooser keeps its choice; NULL: not kept */
	const struct ui_sort_key *sort;   /* each table's saved sort key (UCS_COUNT); NULL: none */
};
int ui_loop_run(struct event_base *base, struct client *client, const struct ui_options *opt,
    char *exit_message, size_t exit_len);
/* Draws the list of n synthetic torrents `frames` times into a terminal writing to out;
 * returns the mean microseconds per frame (the benchmark). */
double ui_bench_list(size_t n, int frames, FILE *out, int rows, int cols);

#endif
