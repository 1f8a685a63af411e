/* ui.c: the UI on the loop (its engine's, or its own when attached to a daemon): terminal input as a read event on fd 0, SIGWINCH and HUP
 * as signal events, INT and TERM through stopsig, a redraw timer; the frame (title, screen,
 * status, prompt) and the keys every screen shares. Curses diffs each frame, so only changed
 * cells reach the tty. */
#include "config.h"

#include <curses.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "stopsig.h"
#include "util.h"
#include "actions.h"
#include "columns_writer.h"
#include "draw.h"
#include "screens.h"
#include "theme.h"
#include "ui.h"
#include "ui_state.h"
#include "widget_chooser.h"
#include "widget_prompt.h"
#include "widget_status.h"

static const struct ui_screen *const ui_screens[SCREEN_COUNT] = {
	[SCREEN_LIST] = &screen_list,
	[SCREEN_DETAIL] = &screen_detail,
	[SCREEN_TASKS] = &screen_tasks,
	[SCREEN_BLOCKED] = &screen_blocked,
	[SCREEN_LOG] = &screen_log,
	[SCREEN_HELP] = &screen_help,
};

/* ---- the frame ---- */

static void
ui_draw_title(struct ui *ui)
{
	static const struct {
		enum ui_screen_id id;
		enum ui_action action;
	} tabs[] = {
		{ SCREEN_LIST, UI_ACTION_SCREEN_TORRENTS }, { SCREEN_TASKS, UI_ACTION_SCREEN_TASKS },
		{ SCREEN_BLOCKED, UI_ACTION_SCREEN_BLOCKED }, { SCREEN_LOG, UI_ACTION_SCREEN_LOG },
		{ SCREEN_HELP, UI_ACTION_HELP },
	};
	draw_fill(0, 0, theme_attr(TH_TITLE));
	draw_text(0, 0, 10, " downpour ", TW_LEFT, theme_attr(TH_TITLE));
	int x = 10;
	for (size_t i = 0; i < DP_ARRAY_LEN(tabs); i++) {
		char keys[32], label[64];
		keymap_describe(tabs[i].action, keys, sizeof keys);
		char *comma = strchr(keys, ',');
		if (comma != NULL)
			*comma = '\0';
		bool active = ui->screen == tabs[i].id ||
		    (tabs[i].id == SCREEN_LIST && ui->screen == SCREEN_DETAIL);
		snprintf(label, sizeof label, " %s %s ", keys, ui_screens[tabs[i].id]->title);
		int w = tw_width(label);
		if (x + w > COLS)
			break;
		draw_text(0, x, w, label, TW_LEFT, theme_attr(active ? TH_TAB_ACTIVE : TH_TAB));
		x += w + 1;
	}
}

static void
ui_draw(struct ui *ui)
{
	erase();
	if (LINES < 6 || COLS < 30) {
		draw_text(0, 0, COLS, "terminal too small", TW_LEFT, 0);
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	ui_fetch(ui, false);
	ui_draw_title(ui);
	const struct ui_screen *s = ui_screens[ui->screen];
	s->draw(ui, 1, LINES - 3);
	chooser_draw(ui, 1, LINES - 3);
	/* the columns file is written on a thread of its own: a failure shows when it is known */
	char werr[512];
	if (ui_columns_writer_failed(werr, sizeof werr))
		ui_message(ui, true, "columns and sort keys not kept: %s", werr);
	status_draw(ui, LINES - 2);
	prompt_draw(ui, LINES - 1);
	if (ui->prompt.active)
		curs_set(1);
	else
		curs_set(0);
	wnoutrefresh(stdscr);
	doupdate();
}

static int
ui_context(struct ui *ui)
{
	const struct ui_screen *s = ui_screens[ui->screen];
	return s->context ? s->context(ui) : s->ctx;
}

static void
ui_quit_answer(struct ui *ui, const char *text, void *arg)
{
	(void)arg;
	if (text != NULL && (text[0] == 'y' || text[0] == 'Y'))
		ui->quit_requested = true;
	else
		ui_message(ui, false, "not quitting");
}

static void
ui_stop_daemon_answer(struct ui *ui, const char *text, void *arg)
{
	(void)arg;
	char err[256] = "";
	if (text == NULL || (text[0] != 'y' && text[0] != 'Y')) {
		ui_message(ui, false, "the daemon keeps running");
		return;
	}
	struct client_cmd cmd = { .kind = CLIENT_CMD_STOP_DAEMON };
	if (client_command(ui->client, &cmd, NULL, err, sizeof err) != 0) {
		ui_message(ui, true, "cannot stop the daemon: %s", err[0] ? err : "failed");
		return;
	}
	snprintf(ui->exit_message, sizeof ui->exit_message,
	    "the daemon is stopping (telling trackers, syncing files)");
	ui->quit_requested = true;
}

static void
ui_dispatch(struct ui *ui, int code)
{
	if (ui->prompt.active) {
		prompt_key(ui, code);
		return;
	}
	if (ui->chooser != NULL) {
		chooser_key(ui, code);
		return;
	}
	enum ui_action a;
	if (keymap_feed(ui_context(ui), code, &a) != KEYMAP_MATCH)
		return;
	switch (a) {
	case UI_ACTION_SCREEN_TORRENTS:
		ui_show(ui, SCREEN_LIST);
		return;
	case UI_ACTION_SCREEN_TASKS:
		ui_show(ui, SCREEN_TASKS);
		return;
	case UI_ACTION_SCREEN_BLOCKED:
		ui_show(ui, SCREEN_BLOCKED);
		return;
	case UI_ACTION_SCREEN_LOG:
		ui_show(ui, SCREEN_LOG);
		return;
	case UI_ACTION_HELP:
		ui_show(ui, SCREEN_HELP);
		return;
	case UI_ACTION_REDRAW:
		clearok(curscr, TRUE);
		return;
	case UI_ACTION_QUIT:
		/* leaving an attached UI stops nothing: no question to ask */
		if (ui->client != NULL && client_attached(ui->client)) {
			ui->quit_requested = true;
			return;
		}
		ui_fetch(ui, true);
		if (ui_transfers_active(ui))
			prompt_confirm(ui, "Transfers are active. Quit? (y/n)", ui_quit_answer, NULL);
		else
			ui->quit_requested = true;
		return;
	case UI_ACTION_LIMIT_GLOBAL:
		actions_global_limits(ui);
		return;
	case UI_ACTION_ALT_SPEED:
		actions_alt_speed(ui);
		return;
	case UI_ACTION_STOP_DAEMON:
		if (ui->client == NULL || !client_attached(ui->client)) {
			ui_message(ui, true, "not attached to a daemon (q quits)");
			return;
		}
		prompt_confirm(ui, "Stop the DAEMON? Every transfer stops; q leaves it running. (y/n)",
		    ui_stop_daemon_answer, NULL);
		return;
	default:
		break;
	}
	if (ui_screens[ui->screen]->action(ui, a))
		return;
	if (a == UI_ACTION_BACK && ui->screen != SCREEN_LIST)
		ui_show(ui, ui->screen == SCREEN_HELP || ui->screen == SCREEN_DETAIL ?
		    ui->back_screen : SCREEN_LIST);
}

/* Translates curses' key to ours: function keys tagged, Enter and Backspace unified. */
static int
ui_key_code(int rc, wint_t wch)
{
	if (rc == KEY_CODE_YES) {
		if (wch == KEY_ENTER)
			return UI_KEY_ENTER;
		return UI_KEY_FN | (int)wch;
	}
	if (wch == '\r')
		return UI_KEY_ENTER;
	if (wch == 127 || wch == 8)
		return UI_KEY_FN | KEY_BACKSPACE;
	return (int)wch;
}

/* Each table's columns: the configured and the starting ones from the options, else all. */
static void
ui_init_columns(struct ui *ui, const struct ui_options *opt)
{
	for (int s = 0; s < UCS_COUNT; s++) {
		ui_columns_default((enum ui_cols_screen)s, &ui->columns_conf[s]);
		if (opt != NULL && opt->columns_conf != NULL)
			ui->columns_conf[s] = opt->columns_conf[s];
		ui->columns[s] = opt != NULL && opt->columns != NULL ? opt->columns[s] :
		    ui->columns_conf[s];
	}
	snprintf(ui->columns_file, sizeof ui->columns_file, "%s",
	    opt != NULL && opt->columns_file != NULL ? opt->columns_file : "");
	for (int s = 0; s < UCS_COUNT; s++)
		if (opt != NULL && opt->sort != NULL && opt->sort[s].set)
			ui->sort[s] = opt->sort[s];
}

/* ---- loop integration ---- */

struct ui_loop {
	struct ui ui;
	struct event *ev_input, *ev_winch, *ev_hup, *ev_timer;
	struct event *ev_more;         /* the next part of a list being read, at once */
	uint64_t partial_drawn_ms;     /* the last draw while the list was being read */
	struct stopsig *stop_sig;      /* INT and TERM: a second one ends the process at once */
	bool done;
	bool lost;                     /* the daemon went out of reach */
	/* the UI's own callbacks as a task: in process, a slow screen (10,000 rows to fetch and
	 * sort) shows among the loop's slowest callbacks instead of only as lag */
	struct engine_task *task;
	int in_cb;                     /* inside one of the UI's callbacks */
};

static void
ui_cb_begin(struct ui_loop *l)
{
	l->in_cb++;
	engine_task_cb_begin(l->task);
}

/* Ends a callback; while the torrent list is still being read, its next slice comes in a
 * callback of its own, right after what else the loop has to do. */
static void
ui_cb_end(struct ui_loop *l)
{
	if (l->ui.list_partial && !l->ui.stopping && l->ev_more != NULL &&
	    !evtimer_pending(l->ev_more, NULL)) {
		struct timeval now = { 0, 0 };
		evtimer_add(l->ev_more, &now);
		engine_task_wait(l->task, ENGINE_TASK_SLICE_WAIT, "reading the torrent list "
		    "(%zu of %d)", l->ui.ntorrents, l->ui.global.torrents);
	} else {
		engine_task_idle(l->task, ENGINE_TASK_READ_WAIT, "keys, and the next refresh of %s",
		    ui_screens[l->ui.screen]->title);
	}
	engine_task_cb_end(l->task);
	l->in_cb--;
}

static void
ui_begin_quit(struct ui_loop *l);

/* An attached UI whose daemon is gone has nothing left to show: it leaves, saying why. */
static bool
ui_check_lost(struct ui_loop *l)
{
	const char *why = client_lost(l->ui.client);
	if (why == NULL || l->lost)
		return l->lost;
	l->lost = true;
	snprintf(l->ui.exit_message, sizeof l->ui.exit_message, "%s", why);
	event_del(l->ev_input);
	event_base_loopexit(l->ui.base, NULL);
	return true;
}

static void
ui_after_input(struct ui_loop *l)
{
	if (l->ui.quit_requested && !l->ui.stopping)
		ui_begin_quit(l);
	ui_draw(&l->ui);
	ui_check_lost(l);
}

void
ui_answered(struct ui *ui)
{
	/* only a UI of ui_loop_run has a client whose answers come later: its ui is the loop's
	 * first member */
	struct ui_loop *l = (struct ui_loop *)ui;
	if (l->in_cb > 0)
		return;
	ui_cb_begin(l);
	ui_after_input(l);
	ui_cb_end(l);
}

static void
ui_input_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ui_loop *l = arg;
	wint_t wch;
	int rc, n = 0;
	(void)fd;
	(void)what;
	ui_cb_begin(l);
	/* Bounded: a paste cannot keep the loop from the engine for long. */
	while (n < 512 && (rc = get_wch(&wch)) != ERR) {
		n++;
		if (rc == KEY_CODE_YES && wch == KEY_RESIZE)
			continue;
		ui_dispatch(&l->ui, ui_key_code(rc, wch));
	}
	if (n == 0) {
		/* readable but nothing to read: the terminal went away */
		char c;
		if (read(0, &c, 0) < 0 || !isatty(0)) {
			log_warn("ui: terminal input closed; stopping");
			l->ui.quit_requested = true;
		}
	}
	ui_after_input(l);
	ui_cb_end(l);
}

static void
ui_winch_cb(evutil_socket_t sig, short what, void *arg)
{
	struct ui_loop *l = arg;
	struct winsize ws;
	(void)sig;
	(void)what;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
	ui_cb_begin(l);
	ui_draw(&l->ui);
	ui_cb_end(l);
}

static void
ui_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct ui_loop *l = arg;
	(void)what;
	log_info("ui: signal %d, stopping", (int)sig);
	l->ui.quit_requested = true;
	ui_cb_begin(l);
	ui_after_input(l);
	ui_cb_end(l);
}

static void
ui_stop_signal_cb(int sig, void *arg)
{
	ui_signal_cb(sig, 0, arg);
}

/* The next slice of a list being read (slice) or the refresh. While the list is being read the
 * screen is drawn again at most every UI_PARTIAL_DRAW_MS: each draw of a changing screen is
 * terminal output, written on the loop, and a busy terminal (tmux on a loaded machine) blocks
 * the write for tens of ms. */
#define UI_PARTIAL_DRAW_MS 250

static void
ui_refresh(struct ui_loop *l, bool slice)
{
	if (ui_check_lost(l))
		return;
	ui_cb_begin(l);
	ui_fetch(&l->ui, true);
	uint64_t now = dp_now_ms();
	if (!slice || !l->ui.list_partial || now - l->partial_drawn_ms >= UI_PARTIAL_DRAW_MS) {
		l->partial_drawn_ms = now;
		ui_draw(&l->ui);
	}
	ui_check_lost(l);
	ui_cb_end(l);
}

static void
ui_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ui_refresh(arg, false);
}

static void
ui_more_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ui_refresh(arg, true);
}

static void
ui_engine_stopped(void *arg)
{
	struct ui_loop *l = arg;
	l->done = true;
	event_base_loopexit(l->ui.base, NULL);
}

static void
ui_begin_quit(struct ui_loop *l)
{
	l->ui.stopping = true;
	if (client_attached(l->ui.client))
		ui_message(&l->ui, false, "leaving; the daemon keeps running");
	else
		ui_message(&l->ui, false, "stopping: telling trackers and syncing files...");
	event_del(l->ev_input);
	client_leave(l->ui.client, ui_engine_stopped, l);
}

int
ui_loop_run(struct event_base *base, struct client *client, const struct ui_options *opt,
    char *exit_message, size_t exit_len)
{
	struct ui_loop *l = xcalloc(1, sizeof *l);
	struct ui *ui = &l->ui;
	ui->base = base;
	ui->client = client;
	if (getcwd(ui->cwd, sizeof ui->cwd) == NULL)
		ui->cwd[0] = '\0';
	ui->refresh_ms = opt->refresh_ms > 0 ? opt->refresh_ms : 1000;
	ui->blocked_threshold_s = opt->blocked_threshold_s > 0 ? opt->blocked_threshold_s : 5;
	ui->screen = SCREEN_LIST;
	ui->back_screen = SCREEN_LIST;
	ui_init_columns(ui, opt);
	if (opt->message[0] != '\0')
		ui_message(ui, false, "%s", opt->message);

	if (initscr() == NULL) {
		fprintf(stderr, "downpour: cannot initialise the terminal\n");
		free(l);
		return -1;
	}
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	theme_init(opt->colors);

	l->task = engine_task_new(NULL, ENGINE_TASK_KIND_UI, 0, "terminal UI%s",
	    client_attached(client) ? " (attached)" : "");
	l->ev_input = event_new(base, 0, EV_READ | EV_PERSIST, ui_input_cb, l);
	l->ev_winch = evsignal_new(base, SIGWINCH, ui_winch_cb, l);
	l->stop_sig = stopsig_new(base, ui_stop_signal_cb, l, NULL);
	l->ev_hup = evsignal_new(base, SIGHUP, ui_signal_cb, l);
	l->ev_timer = event_new(base, -1, EV_PERSIST, ui_timer_cb, l);
	l->ev_more = evtimer_new(base, ui_more_cb, l);
	struct timeval tv = { ui->refresh_ms / 1000, (ui->refresh_ms % 1000) * 1000 };
	if (l->ev_input == NULL || l->ev_winch == NULL || l->stop_sig == NULL ||
	    l->ev_hup == NULL || l->ev_timer == NULL || l->ev_more == NULL || event_add(l->ev_input, NULL) != 0 ||
	    event_add(l->ev_winch, NULL) != 0 || event_add(l->ev_hup, NULL) != 0 ||
	    event_add(l->ev_timer, &tv) != 0) {
		endwin();
		fprintf(stderr, "downpour: cannot register the UI's events with the loop\n");
		l->done = true;
	} else {
		ui_cb_begin(l);
		ui_fetch(ui, true);
		ui_draw(ui);
		ui_cb_end(l);
		if (event_base_dispatch(base) < 0)
			log_error("ui: event loop failed");
		endwin();
	}
	/* the last choice of columns or sort, written before the UI is gone (a stalled disk is
	 * waited for a while, not for ever) */
	char werr[512];
	if (!ui_columns_writer_flush(3000))
		log_warn("ui: the columns file %s is still being written; leaving without it",
		    ui->columns_file);
	else if (ui_columns_writer_failed(werr, sizeof werr))
		log_warn("ui: columns and sort keys not kept: %s", werr);
	engine_task_done(l->task, "closed");
	engine_task_release(&l->task);
	stopsig_free(l->stop_sig);
	struct event *evs[] = { l->ev_input, l->ev_winch, l->ev_hup, l->ev_timer, l->ev_more };
	for (size_t i = 0; i < DP_ARRAY_LEN(evs); i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	int rc = l->done && !l->lost ? 0 : -1;
	if (exit_message != NULL && exit_len > 0)
		snprintf(exit_message, exit_len, "%s", ui->exit_message);
	for (int s = 0; s < SCREEN_COUNT; s++)
		if (ui_screens[s]->free != NULL)
			ui_screens[s]->free(ui);
	chooser_free(ui);
	free(l);
	return rc;
}

/* Draws the list of n synthetic torrents `frames` times into a terminal on out (the benchmark);
 * returns the mean microseconds per frame. */
double
ui_bench_list(size_t n, int frames, FILE *out, int rows, int cols)
{
	struct ui ui = { 0 };
	SCREEN *scr = newterm(NULL, out, stdin);
	if (scr == NULL)
		return -1;
	resizeterm(rows, cols);
	theme_init(true);
	ui.refresh_ms = 1000;
	ui.blocked_threshold_s = 5;
	ui.screen = SCREEN_LIST;
	ui_init_columns(&ui, NULL);
	screen_list_synthetic(&ui, n);
	uint64_t t0 = dp_now_us();
	for (int i = 0; i < frames; i++) {
		/* rates change every frame, so every frame re-sorts and redraws real content */
		for (size_t k = 0; k < ui.ntorrents; k++)
			ui.synthetic[k].down_rate = (ui.synthetic[k].down_rate * 7 + (uint64_t)i * 131) % 9000000;
		ui.fetches++;
		ui_draw(&ui);
		if (i % 2 == 1)
			ui_dispatch(&ui, 'j');
	}
	uint64_t t1 = dp_now_us();
	endwin();
	delscreen(scr);
	for (int s = 0; s < SCREEN_COUNT; s++)
		if (ui_screens[s]->free != NULL)
			ui_screens[s]->free(&ui);
	free(ui.synthetic);
	return frames > 0 ? (double)(t1 - t0) / frames : 0;
}
