/* widgets.h: the UI's drawing pieces: display-cell text measuring, number formatting, progress
 * bar, sparkline, the table (columns, sorting, scrolling, marks) and the prompt's line buffer. */
#ifndef DP_UI_WIDGETS_H
#define DP_UI_WIDGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- text_width.c: UTF-8 text measured in terminal cells ---- */

/* ASCII mode: every non-ASCII character is drawn as '?', the ellipsis is '~', bars use '#'.
 * Chosen once at start-up from the locale (or forced by the config). */
void tw_set_ascii(bool ascii);
bool tw_ascii(void);

/* Display cells of a UTF-8 string: wide (CJK, emoji) characters count 2, combining marks 0,
 * control characters and invalid bytes 1 (they are drawn as '?'). */
int tw_width(const char *s);

enum tw_align { TW_LEFT, TW_RIGHT };

/* Writes s into out (outlen bytes) so that it takes exactly `cells` cells: control characters
 * and invalid bytes become '?', a string too wide is cut and ends with the ellipsis, a short one
 * is padded with spaces on the side `align` says. A wide character that would straddle the
 * edge is replaced by a space. Returns the cells written (== cells unless outlen is too small). */
int tw_fit(const char *s, int cells, enum tw_align align, char *out, size_t outlen);

/* Like tw_fit without padding: cuts to at most `cells` cells, returns the cells used. */
int tw_truncate(const char *s, int cells, char *out, size_t outlen);

/* Bytes of s (whole characters) that fit in `cells` cells, for wrapping: at least one
 * character while s is not empty, so a loop over the pieces always advances. */
size_t tw_prefix_bytes(const char *s, int cells);

/* ---- format.c: compact numbers for narrow columns ---- */

/* "0 B", "512 B", "1.50 KiB", "12.3 MiB", "512 GiB" */
void fmt_size(uint64_t bytes, char *out, size_t outlen);
/* fmt_size + "/s"; a zero rate is "-" so idle columns read quietly. */
void fmt_rate(uint64_t bytes_per_sec, char *out, size_t outlen);
/* Seconds as "45s", "12m05s", "3h07m", "2d04h", "9w"; negative = unknown ("-" or "inf"). */
void fmt_eta(int64_t seconds, char *out, size_t outlen);
/* Ratio with two decimals, "-" when negative (not applicable), "inf" for huge values. */
void fmt_ratio(double ratio, char *out, size_t outlen);
/* Microseconds as "830us", "12.4ms", "3.21s", "5m02s". */
void fmt_duration_us(uint64_t us, char *out, size_t outlen);
/* Wall-clock seconds as "2024-05-01 12:34" (local time), "-" for 0. */
void fmt_date(int64_t when, char *out, size_t outlen);

/* ---- widget_bar.c: progress bar ---- */

/* Renders fraction (clamped to 0..1) as a bar exactly `cells` cells wide: full blocks and an
 * eighth-block for the remainder, spaces for the rest; ASCII mode uses '#' and '.'. */
void bar_render(double fraction, int cells, char *out, size_t outlen);

/* ---- widget_sparkline.c: a rate history drawn with eight levels ---- */

/* Draws the last `cells` of n values (older ones scroll off the left; fewer values leave
 * blanks on the left). Scaled to `max`, or to the largest shown value when max is 0; any
 * non-zero value shows at least the lowest level, zero is a space. Returns the scale used. */
uint64_t sparkline_render(const uint64_t *values, size_t n, int cells, uint64_t max, char *out,
    size_t outlen);

/* A fixed ring of samples for a sparkline. */
#define SPARK_HISTORY 120
struct spark_history {
	uint64_t v[SPARK_HISTORY];
	size_t n;
};
void spark_push(struct spark_history *h, uint64_t value);

/* ---- widget_table.c: column layout, sorting, selection and scrolling ---- */

struct table_col {
	const char *title;
	int min;            /* never narrower than this */
	int max;            /* wants this many cells; 0 = flexible (takes what is left) */
	enum tw_align align;
	int priority;       /* lower numbers survive when the screen is too narrow; 0 = always */
	int want;           /* flexible column: the width it gets before optional columns show
	                     * (names get the slack first); 0 = its min */
	const char *key;    /* its name in the config's column lists (columns.h) */
};

/* Gives each column its width in cells for a screen `total` cells wide, one space between
 * columns. Columns that do not fit are dropped (width 0), highest priority number first, until
 * the flexible column has its `want`; the flexible column takes the remainder (when it was
 * dropped, the first column that is always shown takes it). Returns the number of columns
 * shown. */
int table_layout(const struct table_col *cols, int ncols, int total, int *widths);

struct table_state {
	int count;          /* rows */
	int sel;            /* selected row, -1 when empty */
	int top;            /* first visible row */
	int sort_col;       /* a column id: shown or not, it stays the sort key */
	bool sort_desc;
	bool sort_shown;    /* the sort column was on screen in the last frame */
	/* marked rows (multi-select), by the caller's stable row id */
	uint64_t *marks;
	size_t nmarks, capmarks;
};

void table_state_free(struct table_state *t);
/* Sets the row count and keeps sel/top valid. */
void table_set_count(struct table_state *t, int count, int page);
/* Moves the selection by delta rows (clamped) and scrolls so it stays within `page` rows. */
void table_move(struct table_state *t, int delta, int page);
void table_move_to(struct table_state *t, int row, int page);
bool table_is_marked(const struct table_state *t, uint64_t id);
void table_toggle_mark(struct table_state *t, uint64_t id);
void table_clear_marks(struct table_state *t);
/* Orders base[0..n) (qsort's arguments) so that positions [lo, hi) hold, in order, the elements
 * a full sort would put there; the rest are on the right side of them, in no order. A quickselect
 * around lo and around hi, then a sort of the window: a screen shows a page of 20,000 tasks. */
void table_partial_sort(void *base, size_t n, size_t size, size_t lo, size_t hi,
    int (*cmp)(const void *, const void *));

/* Case-insensitive substring match for the incremental search: code points folded to lower
 * case in the locale (towlower), so "/ünï" finds "Ünïcödé"; invalid bytes match themselves. */
bool text_matches(const char *haystack, const char *needle);
/* Compares two names ignoring case the same way (then byte order, so the order is total). */
int text_casecmp(const char *a, const char *b);
/* A name folded once (its code points in lower case, as the two above fold them), for a table
 * that matches or sorts many rows on every draw: free() it. */
struct text_key {
	size_t n;
	long cp[];
};
struct text_key *text_key_new(const char *s);
/* Whether needle is in h; how a and b compare (before the byte order text_casecmp adds). */
bool text_key_has(const struct text_key *h, const struct text_key *needle);
int text_key_cmp(const struct text_key *a, const struct text_key *b);

/* ---- the one-line editor's state (widget_prompt.h edits and draws it) ---- */

struct ui;
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
	unsigned seq;            /* a new one at each open and each edit */
	bool completing;         /* a Tab completion of the text of seq complete_seq is under way */
	unsigned complete_seq;
};

#endif
