/* keymap.h: named UI actions, their default keys, rebinding from the config's `keys` section, the
 * two-key sequences (gg) and the help text generated from the table. */
#ifndef DP_UI_KEYMAP_H
#define DP_UI_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

/* Where an action applies; a screen passes the union of the contexts it is in. */
enum {
	KCTX_GLOBAL = 1 << 0,
	KCTX_LIST = 1 << 1,       /* the torrent list */
	KCTX_DETAIL = 1 << 2,     /* any detail tab */
	KCTX_PEERS = 1 << 3,      /* the detail's peers tab */
	KCTX_FILES = 1 << 4,      /* the detail's files tab */
	KCTX_TASKS = 1 << 5,
	KCTX_BLOCKED = 1 << 6,
	KCTX_LOG = 1 << 7,
	KCTX_TORRENT = 1 << 8,    /* list or detail: commands on the selected torrent(s) */
	KCTX_CHOOSER = 1 << 9,    /* the column chooser, while it is open */
};

/* name (for the config), default keys (space separated), context, help text */
#define UI_ACTIONS(X)                                                                       \
	X(SCREEN_TORRENTS, "screen_torrents", "1", KCTX_GLOBAL, "torrent list")            \
	X(SCREEN_TASKS, "screen_tasks", "2", KCTX_GLOBAL, "task monitor")                   \
	X(SCREEN_BLOCKED, "screen_blocked", "3", KCTX_GLOBAL, "blocked tasks and loop health") \
	X(SCREEN_LOG, "screen_log", "4", KCTX_GLOBAL, "log")                                \
	X(HELP, "help", "? F1", KCTX_GLOBAL, "this help")                                   \
	X(QUIT, "quit", "q", KCTX_GLOBAL, "quit (asks when transfers are active); attached: leave, the daemon runs on") \
	X(STOP_DAEMON, "stop_daemon", "Q", KCTX_GLOBAL, "stop the daemon (attached to one; asks first)") \
	X(UP, "up", "k up", KCTX_GLOBAL, "move up")                                         \
	X(DOWN, "down", "j down", KCTX_GLOBAL, "move down")                                 \
	X(LEFT, "left", "h left", KCTX_GLOBAL, "previous tab / collapse folder")            \
	X(RIGHT, "right", "l right", KCTX_GLOBAL, "next tab / expand folder")               \
	X(TOP, "top", "gg home", KCTX_GLOBAL, "first row")                                  \
	X(BOTTOM, "bottom", "G end", KCTX_GLOBAL, "last row")                               \
	X(HALF_DOWN, "half_page_down", "^d", KCTX_GLOBAL, "half a page down")               \
	X(HALF_UP, "half_page_up", "^u", KCTX_GLOBAL, "half a page up")                     \
	X(PAGE_DOWN, "page_down", "pgdn ^f", KCTX_GLOBAL, "page down")                      \
	X(PAGE_UP, "page_up", "pgup ^b", KCTX_GLOBAL, "page up")                            \
	X(OPEN, "open", "enter", KCTX_GLOBAL, "open the selected row")                      \
	X(BACK, "back", "esc backspace", KCTX_GLOBAL, "back")                               \
	X(NEXT_TAB, "next_tab", "tab", KCTX_DETAIL, "next detail tab")                      \
	X(PREV_TAB, "prev_tab", "btab", KCTX_DETAIL, "previous detail tab")                 \
	X(SORT_NEXT, "sort_next", ">", KCTX_GLOBAL, "sort by the next column")              \
	X(SORT_PREV, "sort_prev", "<", KCTX_GLOBAL, "sort by the previous column")          \
	X(SORT_REVERSE, "sort_reverse", "I", KCTX_GLOBAL, "reverse the sort order")         \
	X(FILTER, "filter", "f", KCTX_LIST | KCTX_TASKS | KCTX_LOG, "cycle the filter (state, kind, level)") \
	X(FILTER_TORRENT, "filter_torrent", "t", KCTX_TASKS, "cycle the torrent filter")    \
	X(SEARCH, "search", "/", KCTX_LIST | KCTX_TASKS | KCTX_LOG, "incremental search")   \
	X(MARK, "mark", "space", KCTX_LIST, "mark / unmark the row (multi-select)")         \
	X(MARK_CLEAR, "mark_clear", "U", KCTX_LIST, "clear all marks")                      \
	X(ADD, "add", "a", KCTX_LIST, "add a torrent file (Tab completes)")                 \
	X(ADD_MAGNET, "add_magnet", "m", KCTX_LIST, "add a magnet link")                    \
	X(START, "start", "s", KCTX_TORRENT, "start the torrent(s)")                        \
	X(STOP, "stop", "p", KCTX_TORRENT, "stop the torrent(s)")                           \
	X(PAUSE_ALL, "pause_all", "P", KCTX_LIST, "stop every torrent")                     \
	X(RESUME_ALL, "resume_all", "S", KCTX_LIST, "start every torrent")                  \
	X(REMOVE, "remove", "d del", KCTX_TORRENT, "remove the torrent(s), keep the data")   \
	X(REMOVE_DATA, "remove_data", "D", KCTX_TORRENT, "remove the torrent(s) and delete the data") \
	X(RECHECK, "recheck", "c", KCTX_TORRENT, "verify the data again")                  \
	X(REANNOUNCE, "reannounce", "r", KCTX_TORRENT, "announce to the trackers now")      \
	X(LIMIT_TORRENT, "limit_torrent", "b", KCTX_TORRENT, "set the torrent's rate limits") \
	X(LIMIT_GLOBAL, "limit_global", "B", KCTX_GLOBAL, "set the global rate limits")     \
	X(ALT_SPEED, "alt_speed", "T", KCTX_GLOBAL, "alternative limits (turtle mode) on / off") \
	X(SEQUENTIAL, "sequential", "z", KCTX_TORRENT, "toggle sequential download")        \
	X(PEER_ADD, "peer_add", "A", KCTX_TORRENT, "connect the torrent to a peer (ADDR:PORT)") \
	X(QUEUE_UP, "queue_up", "K", KCTX_TORRENT, "move the torrent(s) up the queue")       \
	X(QUEUE_DOWN, "queue_down", "J", KCTX_TORRENT, "move the torrent(s) down the queue") \
	X(QUEUE_TOP, "queue_top", "{", KCTX_TORRENT, "move the torrent(s) to the queue's top") \
	X(QUEUE_BOTTOM, "queue_bottom", "}", KCTX_TORRENT, "move the torrent(s) to the queue's bottom") \
	X(PRIO_UP, "priority_up", "+ =", KCTX_FILES, "raise the file's / folder's priority") \
	X(PRIO_DOWN, "priority_down", "-", KCTX_FILES, "lower the file's / folder's priority") \
	X(PRIO_SKIP, "priority_skip", "x", KCTX_FILES, "skip the file / folder")            \
	X(PEER_DISCONNECT, "peer_disconnect", "x", KCTX_PEERS, "disconnect the peer")       \
	X(PEER_BAN, "peer_ban", "X", KCTX_PEERS, "disconnect and ban the peer's address")   \
	X(THRESHOLD_UP, "threshold_up", "+ =", KCTX_BLOCKED, "raise the blocked threshold") \
	X(THRESHOLD_DOWN, "threshold_down", "-", KCTX_BLOCKED, "lower the blocked threshold") \
	X(FOLLOW, "follow", "F", KCTX_LOG, "follow the newest lines")                       \
	X(SHOW_FINISHED, "show_finished", "F", KCTX_TASKS, "show / hide finished tasks (DONE, FAILED)") \
	X(COLUMNS, "columns", "C", KCTX_LIST | KCTX_DETAIL | KCTX_TASKS | KCTX_CHOOSER, "choose the columns shown and their order (kept)") \
	X(COLUMN_TOGGLE, "column_toggle", "space", KCTX_CHOOSER, "show / hide the column") \
	X(COLUMN_UP, "column_up", "K", KCTX_CHOOSER, "move the column up (left on screen)") \
	X(COLUMN_DOWN, "column_down", "J", KCTX_CHOOSER, "move the column down (right on screen)") \
	X(COLUMN_RESET, "column_reset", "r", KCTX_CHOOSER, "back to the configured columns") \
	X(REDRAW, "redraw", "^l", KCTX_GLOBAL, "redraw the screen")

enum ui_action {
	UI_ACTION_NONE = 0,
#define X(id, name, keys, ctx, help) UI_ACTION_##id,
	UI_ACTIONS(X)
#undef X
	UI_ACTION_COUNT
};

const char *keymap_action_name(enum ui_action a);
const char *keymap_action_help(enum ui_action a);
int keymap_action_context(enum ui_action a);
/* The action with this config name, or UI_ACTION_NONE. */
enum ui_action keymap_action_find(const char *name);

/* A key code is a Unicode character, or UI_KEY_FN | a curses KEY_* code for a function key (so
 * the two never collide). */
#define UI_KEY_FN 0x1000000
#define UI_KEY_ESC 27
#define UI_KEY_ENTER '\n'

/* Key names: "a", "?", "^d" (also "C-d"), "enter", "esc", "tab", "btab", "backspace", "space",
 * "up", "down", "left", "right", "home", "end", "pgup", "pgdn", "del", "ins", "F1".."F12", and
 * two printable keys in a row ("gg") for a sequence. Returns how many key codes (1 or 2) were
 * written to codes, 0 when the name is not a key. */
int keymap_parse_key(const char *name, int codes[2]);
/* The printable name of one key code ("^D", "Enter", "Up", "x"). */
void keymap_key_name(int code, char *out, size_t outlen);

/* Resets to the defaults. */
void keymap_init(void);
/* Binds `keys` (space separated names) to the action named `action`, replacing its defaults;
 * the same keys are taken away from other actions of an overlapping context. Returns 0, or -1
 * with a message in err. */
int keymap_bind(const char *action, const char *keys, char *err, size_t errlen);

enum keymap_result { KEYMAP_NONE, KEYMAP_PENDING, KEYMAP_MATCH };
/* Feeds one key; `ctx` is the union of the active contexts. Actions of a specific context win
 * over global ones. A key that starts a sequence returns PENDING and the next key completes it. */
enum keymap_result keymap_feed(int ctx, int code, enum ui_action *out);
/* Forgets a half-typed sequence. */
void keymap_reset_pending(void);

/* The keys bound to an action, as text ("k, Up"); empty when none. */
void keymap_describe(enum ui_action a, char *out, size_t outlen);

/* Help lines, generated from the table: calls line(arg, section-or-NULL, keys, help) per line;
 * a section heading has keys and help NULL. */
void keymap_help(void (*line)(void *arg, const char *section, const char *keys, const char *help),
    void *arg);

#endif
