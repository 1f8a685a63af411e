/* ui_state.h: the UI's shared state (the engine's snapshots, the status message, the prompt,
 * the screen shown, each screen's private state) and the calls on it that the frame, screens,
 * widgets and actions share (ui_state.c). Private to ui/. */
#ifndef DP_UI_STATE_H
#define DP_UI_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "columns.h"
#include "engine.h"
#include "util.h"
#include "widgets.h"

enum ui_screen_id { SCREEN_LIST, SCREEN_DETAIL, SCREEN_TASKS, SCREEN_BLOCKED, SCREEN_LOG,
	SCREEN_HELP, SCREEN_COUNT };

/* Per-screen state lives behind these pointers, allocated by each screen on first use. */
struct list_state;
struct detail_state;
struct tasks_state;
struct blocked_state;
struct log_state;
struct help_state;
struct ui_chooser;

struct ui {
	struct event_base *base;
	struct client *client;           /* the engine, here or a daemon's; NULL in the benchmark */
	char cwd[1024];                  /* where relative paths typed in prompts start */
	int rows, cols;
	int page;                        /* rows of the current table, for ^d/^u */
	enum ui_screen_id screen, back_screen;
	bool quit_requested, stopping;
	int refresh_ms;
	int blocked_threshold_s;

	/* snapshots, refreshed at most every refresh interval or after a command; the torrents
	 * are the client's (client_snapshot) */
	const struct engine_torrent_stats *torrents;
	struct engine_torrent_stats *synthetic;   /* the benchmark's rows (ui->torrents), owned */
	size_t ntorrents;
	bool list_partial;               /* the client is still reading the list (client_list_partial) */
	struct engine_global_stats global;
	uint64_t fetched_ms;
	uint64_t fetches;                /* snapshots taken: what a screen's rows were built from */
	struct spark_history down_hist, up_hist;
	uint64_t sampled_ms;

	char message[256];
	bool message_error;
	char exit_message[256];          /* said on the terminal after leaving */
	uint64_t message_ms;
	struct ui_prompt prompt;

	/* What screens tell each other, so none calls another: the torrent the detail shows (set by
	 * ui_open_detail), and a count of remove commands that succeeded (the list drops its marks
	 * when it changes). */
	int detail_torrent;
	unsigned removals;

	/* Each table screen's columns: the configured ones (the chooser's reset) and the ones
	 * shown; the chooser keeps its choice in columns_file ("": not kept, the benchmark). */
	struct ui_col_set columns_conf[UCS_COUNT], columns[UCS_COUNT];
	char columns_file[1024];
	/* each table's sort key as last chosen, kept in columns_file with the columns */
	struct ui_sort_key sort[UCS_COUNT];
	struct ui_chooser *chooser;      /* the open column chooser, NULL when closed */

	struct list_state *list;
	struct detail_state *detail;
	struct tasks_state *tasks;
	struct blocked_state *blocked;
	struct log_state *log;
	struct help_state *help;
};

/* Status message on the bottom line (also logged at warning level when error is true). */
void ui_message(struct ui *ui, bool error, const char *fmt, ...) DP_PRINTF(3, 4);
/* Refetches the torrent and global snapshots (now, or only when older than the interval). */
void ui_fetch(struct ui *ui, bool force);
/* An answer came on the loop outside the UI's own callbacks (a Tab completion, a file added,
 * read on a disk worker): the screen is drawn again now, in a callback of the UI's task. Inside
 * one of its callbacks (the answer came at once), nothing: that callback draws. */
void ui_answered(struct ui *ui);
void ui_show(struct ui *ui, enum ui_screen_id s);
/* Shows the detail of a torrent. */
void ui_open_detail(struct ui *ui, int torrent_id);
/* Whether quitting should ask first. */
bool ui_transfers_active(const struct ui *ui);
/* Finds a torrent in the last snapshot. */
const struct engine_torrent_stats *ui_torrent(const struct ui *ui, int id);

#endif
