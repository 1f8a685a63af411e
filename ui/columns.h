/* columns.h: the columns each table screen can show (title, config name, widths, which one is
 * required), the user's choice of which show and in what order (the ui.*_columns keys, the
 * chooser's saved file), and their parsing (columns.c, columns_file.c). Private to ui/. */
#ifndef DP_UI_COLUMNS_H
#define DP_UI_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>

#include "widgets.h"

/* The screens whose columns are chosen; the name is the config key's prefix (ui.NAME_columns)
 * and the saved file's key. */
#define UI_COLUMN_SCREENS(X)                                 \
	X(LIST, "list", "Torrent list")                      \
	X(PEERS, "peers", "Detail: peers")                   \
	X(TRACKERS, "trackers", "Detail: trackers")          \
	X(FILES, "files", "Detail: files")                   \
	X(TASKS, "tasks", "Tasks")

enum ui_cols_screen {
#define X(id, name, title) UCS_##id,
	UI_COLUMN_SCREENS(X)
#undef X
	UCS_COUNT
};

/* Each screen's columns, in their default order (the ids the screens' cell code switches on). */
enum list_col { LI_NUM, LI_NAME, LI_STATE, LI_PROGRESS, LI_SIZE, LI_DONE, LI_DOWN, LI_UP,
	LI_RATIO, LI_ETA, LI_PEERS, LI_SEEDS, LI_QUEUE, LI_TRACKER, LI_COUNT };
enum peer_col { PC_ADDR, PC_CLIENT, PC_VIA, PC_FLAGS, PC_PROGRESS, PC_DOWN, PC_UP, PC_REQ,
	PC_TIME, PC_COUNT };
enum tracker_col { TC_URL, TC_TIER, TC_STATUS, TC_LAST, TC_NEXT, TC_PEERS, TC_SEEDS, TC_LEECH,
	TC_ERROR, TC_COUNT };
enum file_col { FC_NAME, FC_SIZE, FC_PROGRESS, FC_PRIO, FC_COUNT };
enum task_col { TK_ID, TK_KIND, TK_STATE, TK_WAITED, TK_CYCLES, TK_CPU, TK_DEADLINE, TK_NAME,
	TK_TORRENT, TK_COUNT };

#define UI_COLS_MAX 16          /* columns of the widest screen, at most */

struct ui_columns_def {
	const char *name;               /* "list": the key ui.list_columns */
	const char *title;              /* "Torrent list", in the chooser */
	const struct table_col *cols;   /* by column id; .key is the name in a column list */
	int ncols;
	int required;                   /* the screen's key column: never hidden */
};
const struct ui_columns_def *ui_columns_def(enum ui_cols_screen s);

/* The columns a screen shows, in order, by id. */
struct ui_col_set {
	int n;
	int ids[UI_COLS_MAX];
};

/* Every column in its default order. */
void ui_columns_default(enum ui_cols_screen s, struct ui_col_set *out);
/* Parses "name, size, done" (names case-insensitive, spaces around them ignored). Refused with
 * a message in err: an unknown name (the message lists the allowed ones), a name twice, an empty
 * list or entry, the required column missing, text longer than 1 KiB. 0 or -1. */
int ui_columns_parse(enum ui_cols_screen s, const char *text, struct ui_col_set *out, char *err,
    size_t errlen);
/* The list as the config writes it: "name,size,done". */
void ui_columns_format(enum ui_cols_screen s, const struct ui_col_set *set, char *out,
    size_t outlen);
bool ui_columns_equal(const struct ui_col_set *a, const struct ui_col_set *b);
bool ui_columns_has(const struct ui_col_set *set, int id);

/* The column after (delta 1) or before (-1) cur for the sort keys: the shown ones in their
 * order, then the hidden ones (a hidden column stays a sort key), round. */
int ui_columns_sort_step(const struct ui_col_set *set, int ncols, int cur, int delta);

/* A column's id by its name (case-insensitive), or -1. */
int ui_columns_find(enum ui_cols_screen s, const char *name, size_t len);

/* The config's lists (ui.list_columns, ...) checked and parsed into out[UCS_COUNT]: 0, or -1
 * with "ui.NAME_columns: why" in err. The column names are the interface's, so `downpour config`
 * and the interface call this, as they check the key bindings. */
struct dp_config;
int ui_columns_from_config(const struct dp_config *cfg, struct ui_col_set out[UCS_COUNT],
    char *err, size_t errlen);
/* The configured text of a screen's list (the key's value). */
const char *ui_columns_config_text(const struct dp_config *cfg, enum ui_cols_screen s);

/* ---- columns_file.c: the chooser's choice, kept on the UI's side across restarts ---- */

/* $XDG_STATE_HOME/downpour/ui-columns (~/.local/state/...); a new string, NULL without HOME. */
char *ui_columns_file_path(void);

/* A table's sort key as the sort keys (< > I) left it; set: chosen (else the screen's own). */
struct ui_sort_key {
	bool set;
	int col;                        /* a column id of the screen */
	bool desc;
};

/* What the file keeps per screen: the choice, and the configured list it was made over. A
 * choice applies while the config still says that list: editing the key in the config file
 * (the later decision) wins over an older choice. The sort key applies whatever the list. */
struct ui_columns_saved {
	bool set[UCS_COUNT];
	struct ui_col_set cols[UCS_COUNT];
	struct ui_col_set base[UCS_COUNT];
	struct ui_sort_key sort[UCS_COUNT];
};

/* Parses the file's text (hostile: bounded, strict; `SCREEN.columns = LIST`,
 * `SCREEN.base = LIST` and `SCREEN.sort = COLUMN asc|desc` lines, # comments). 0, or -1 with
 * "LINE: why" in err (nothing taken). */
int ui_columns_saved_parse(const char *text, size_t len, struct ui_columns_saved *out, char *err,
    size_t errlen);
/* Reads path; a missing file is no choice (0). -1 with "PATH: why". */
int ui_columns_saved_load(const char *path, struct ui_columns_saved *out, char *err,
    size_t errlen);
/* The file's text for cur against the configured lists: a line pair for each screen whose
 * columns differ from the configured ones, and a line for each sort key set (sort may be
 * NULL: none). */
void ui_columns_saved_format(const struct ui_col_set cur[UCS_COUNT],
    const struct ui_col_set conf[UCS_COUNT], const struct ui_sort_key sort[UCS_COUNT],
    char *out, size_t outlen);
/* Writes the text to path atomically (a temporary file renamed over it; its directory made,
 * 0700). No fsync: a keypress on the loop must not wait for the disk, and the rename leaves the
 * old file or the new one. 0, or -1 with "PATH: why". */
int ui_columns_saved_store(const char *path, const char *text, char *err, size_t errlen);

/* The columns to show at start: the configured ones, replaced by a saved choice made over the
 * same configured list. */
void ui_columns_resolve(const struct ui_col_set conf[UCS_COUNT],
    const struct ui_columns_saved *saved, struct ui_col_set out[UCS_COUNT]);

#endif
