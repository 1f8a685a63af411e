/* ui_priv.h: the UI's shared state and the interface between the loop (ui.c), the screens
 * (screen_*.c), the theme and the drawing widgets (status bar, prompt). Private to ui/. */
#ifndef DP_UI_PRIV_H
#define DP_UI_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"
#include "keymap.h"
#include "widgets.h"

struct ui;

/* ---- theme.c ---- */
enum theme_role {
	TH_NORMAL, TH_TITLE, TH_TAB, TH_TAB_ACTIVE, TH_HEADER, TH_HEADER_SORT, TH_SELECTED,
	TH_MARKED, TH_STATUS, TH_DOWN, TH_UP, TH_BAR_DONE, TH_BAR_TODO, TH_SEEDING, TH_ERROR,
	TH_WARN, TH_DIM, TH_PIECE_HAVE, TH_PIECE_DL, TH_PIECE_MISSING, TH_PROMPT, TH_ROLE_COUNT
};
/* Colours when the terminal has them and the config allows; else attributes only. */
void theme_init(bool want_colors);
int theme_attr(enum theme_role role);
bool theme_has_colors(void);

/* ---- drawing helpers (ui.c) ---- */
/* Draws text fitted to exactly `cells` cells at (y, x), clipped to the screen. */
void ui_put(int y, int x, int cells, const char *text, enum tw_align align, int attr);
/* Fills the rest of row y from x with spaces in attr. */
void ui_fill(int y, int x, int attr);
/* A table header and rows: the caller provides a cell callback. */
struct ui_table_view {
	const struct table_col *cols;
	int ncols;
	struct table_state *st;
	/* writes column `col` of row `row` into out; *attr may be changed for that cell */
	void (*cell)(struct ui *ui, void *arg, int row, int col, char *out, size_t outlen, int *attr);
	/* the attribute of a whole row (e.g. error rows in red), may be NULL */
	int (*row_attr)(struct ui *ui, void *arg, int row);
	/* stable id of a row for marks; may be NULL (no marks) */
	uint64_t (*row_id)(struct ui *ui, void *arg, int row);
	void *arg;
};
/* Draws header + visible rows in lines [y, y + h); returns the page size (rows shown). */
int ui_table_draw(struct ui *ui, const struct ui_table_view *v, int y, int h);
/* Handles movement/sort actions on a table; true when the action was one. page = visible rows. */
bool ui_table_action(struct table_state *st, int ncols, enum ui_action a, int page);

/* Status message on the bottom line (also logged at info level when error is false). */
void ui_message(struct ui *ui, bool error, const char *fmt, ...) DP_PRINTF(3, 4);

/* ---- widget_prompt.c: a one-line editor at the bottom ---- */
typedef void (*prompt_done_fn)(struct ui *ui, const char *text, void *arg);
typedef void (*prompt_change_fn)(struct ui *ui, const char *text, void *arg);
struct ui_prompt {
	bool active;
	bool confirm;            /* a y/n question: any key answers */
	bool paths;              /* Tab completes file names */
	char label[128];
	char buf[1024];
	size_t len, cur;         /* bytes */
	prompt_done_fn done;     /* text NULL when cancelled; "y" or "n" for confirm */
	prompt_change_fn change; /* after every edit (incremental search) */
	void *arg;
	char hint[256];          /* completion candidates */
};
void prompt_open(struct ui *ui, const char *label, const char *initial, bool paths,
    prompt_done_fn done, prompt_change_fn change, void *arg);
void prompt_confirm(struct ui *ui, const char *question, prompt_done_fn done, void *arg);
/* Feeds a key (UI_KEY_FN | KEY_x for function keys). */
void prompt_key(struct ui *ui, int code);
void prompt_draw(struct ui *ui, int y);
/* Completes a path in place (pure, for tests): returns how many candidates matched; with more
 * than one, the common prefix is filled in and up to hintlen bytes of names go to hint. */
int prompt_complete_path(char *buf, size_t buflen, char *hint, size_t hintlen);
/* Edits a line buffer (pure, for tests): returns false when the key is not an edit. */
bool prompt_edit(struct ui_prompt *p, int code);

/* ---- widget_status.c ---- */
void status_draw(struct ui *ui, int y);

/* ---- screens ---- */
enum ui_screen_id { SCREEN_LIST, SCREEN_DETAIL, SCREEN_TASKS, SCREEN_BLOCKED, SCREEN_LOG,
	SCREEN_HELP, SCREEN_COUNT };

struct ui_screen {
	const char *title;
	int ctx;                                   /* keymap contexts while shown */
	int (*context)(struct ui *ui);             /* NULL: ctx */
	void (*draw)(struct ui *ui, int y, int h); /* lines [y, y + h) */
	bool (*action)(struct ui *ui, enum ui_action a);
	void (*free)(struct ui *ui);
};
extern const struct ui_screen screen_list, screen_detail, screen_tasks, screen_blocked,
    screen_log, screen_help;

/* Per-screen state lives behind these pointers, allocated by each screen on first use. */
struct list_state;
struct detail_state;
struct tasks_state;
struct blocked_state;
struct log_state;
struct help_state;

struct ui {
	struct event_base *base;
	struct engine *engine;           /* NULL in the synthetic benchmark */
	int rows, cols;
	int page;                        /* rows of the current table, for ^d/^u */
	enum ui_screen_id screen, back_screen;
	bool quit_requested, stopping;
	int refresh_ms;
	int blocked_threshold_s;

	/* snapshots, refreshed at most every refresh interval or after a command */
	struct engine_torrent_stats *torrents;
	size_t ntorrents;
	struct engine_global_stats global;
	uint64_t fetched_ms;
	struct spark_history down_hist, up_hist;
	uint64_t sampled_ms;

	char message[256];
	bool message_error;
	uint64_t message_ms;
	struct ui_prompt prompt;

	struct list_state *list;
	struct detail_state *detail;
	struct tasks_state *tasks;
	struct blocked_state *blocked;
	struct log_state *log;
	struct help_state *help;
};

/* Refetches the torrent and global snapshots (now, or only when older than the interval). */
void ui_fetch(struct ui *ui, bool force);
void ui_show(struct ui *ui, enum ui_screen_id s);
/* Opens the detail of a torrent. */
void ui_open_detail(struct ui *ui, int torrent_id);
/* Whether quitting should ask first. */
bool ui_transfers_active(const struct ui *ui);
/* Finds a torrent in the last snapshot. */
const struct engine_torrent_stats *ui_torrent(const struct ui *ui, int id);

/* The list's selected torrent ids (marked ones, else the selected row); returns the count. */
size_t screen_list_targets(struct ui *ui, int **ids);
/* The detail screen's torrent. */
int screen_detail_torrent(struct ui *ui);
/* Torrent commands shared by the list and the detail (start, stop, remove, limits, ...). */
bool ui_torrent_action(struct ui *ui, enum ui_action a, const int *ids, size_t n);

/* Reads "DOWN UP" rate limits ("2M 500K"; one value sets both; 0 = unlimited). */
bool ui_parse_limits(const char *text, uint64_t *down, uint64_t *up);

/* The loop (ui.c): runs curses on base until the user quits and the engine has stopped. */
struct ui_options {
	int refresh_ms;
	int blocked_threshold_s;
	bool colors;
	enum ui_screen_id start_screen;
	char message[256];
};
int ui_loop_run(struct event_base *base, struct engine *engine, const struct ui_options *opt);
/* Draws the list of n synthetic torrents `frames` times into a terminal writing to out;
 * returns the mean microseconds per frame (the benchmark). */
double ui_bench_list(size_t n, int frames, FILE *out, int rows, int cols);

/* Synthetic rows for the benchmark: fills ui->torrents with n made-up torrents. */
void screen_list_synthetic(struct ui *ui, size_t n);

/* The tasks header's count per kind, most numerous first: "peer 3 · disk 2 · tracker 1" (", "
 * between them in ASCII mode); "no tasks" when every count is 0. */
void screen_tasks_kind_summary(const size_t counts[DP_TASK_KIND_COUNT], bool ascii, char *out,
    size_t outlen);

#endif
