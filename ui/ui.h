/* ui.h: the terminal UI's entry point: `downpour [OPTIONS] [TORRENT|MAGNET...]` and `--demo`. */
#ifndef DP_UI_H
#define DP_UI_H

#include <stdbool.h>

/* Whether argv (argv[0] = "downpour") is for the UI: no arguments, a UI option, an existing
 * file or a magnet link. main.c asks before reporting an unknown command. */
bool ui_wants_args(int argc, char **argv);
/* Runs the UI until the user quits; returns an exit status (commands.h conventions). */
int ui_main(int argc, char **argv);

#endif
