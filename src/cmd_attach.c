/* cmd_attach.c: `downpour attach`: the terminal UI on the daemon that holds the session, over
 * its attach socket (ui_main.c runs it; leaving never stops the daemon). */
#include "config.h"

#include <string.h>

#include "commands.h"
#include "ui.h"

static int cmd_attach_run(int argc, char **argv);

const struct dp_command cmd_attach_entry = {
	.name = "attach",
	.usage = "attach [--session DIR] [--config FILE] [--ascii] [--no-color] "
	    "[TORRENT|MAGNET...]",
	.summary = "the terminal UI on the daemon running on the session",
	.help = "Opens the terminal UI on the daemon that runs on the session (the default session\n"
	    "directory, or DIR), over the session's attach socket (attach.sock, this user only).\n"
	    "Every screen and command works as in the UI of its own; torrents given are added to\n"
	    "the daemon. q leaves the UI and the daemon keeps running; Q stops the daemon (it\n"
	    "asks first). A plain `downpour` on a session a daemon holds attaches the same way.\n"
	    "Exit status 1 when no daemon runs on the session, it speaks another protocol\n"
	    "version, or it stops while attached.\n"
	    "  --session DIR      the session directory the daemon runs on\n"
	    "  --config FILE      read FILE instead of the default configuration file\n"
	    "  --ascii            draw with ASCII characters only\n"
	    "  --no-color         bold, reverse and underline instead of colours (also NO_COLOR)\n",
	.run = cmd_attach_run,
};

static int
cmd_attach_run(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return cmd_print_help(&cmd_attach_entry);
	return ui_attach_main(argc, argv);
}
