/* widget_prompt.c: the bottom line: the one-line editor (text entry with UTF-8 cursor movement,
 * file-name completion on Tab (client_complete_path_start, answered later), y/n questions, live updates for the incremental search) and,
 * while no prompt is open, the latest status message or the key hint. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "draw.h"
#include "keymap.h"
#include "theme.h"
#include "ui_state.h"
#include "widget_prompt.h"

#define PROMPT_MESSAGE_MS 15000

/* Each open and each edit of a prompt: a Tab completion's answer applies only to its text. */
static unsigned prompt_seq;

void
prompt_open(struct ui *ui, const char *label, const char *initial, bool paths,
    prompt_done_fn done, prompt_change_fn change, void *arg)
{
	struct ui_prompt *p = &ui->prompt;
	memset(p, 0, sizeof *p);
	p->active = true;
	p->paths = paths;
	snprintf(p->label, sizeof p->label, "%s", label);
	snprintf(p->buf, sizeof p->buf, "%s", initial ? initial : "");
	p->len = p->cur = strlen(p->buf);
	p->done = done;
	p->change = change;
	p->arg = arg;
	p->seq = ++prompt_seq;
}

void
prompt_confirm(struct ui *ui, const char *question, prompt_done_fn done, void *arg)
{
	prompt_open(ui, question, "", false, done, NULL, arg);
	ui->prompt.confirm = true;
}

static size_t
prompt_prev_char(const char *buf, size_t cur)
{
	if (cur == 0)
		return 0;
	cur--;
	while (cur > 0 && (buf[cur] & 0xc0) == 0x80)
		cur--;
	return cur;
}

static size_t
prompt_next_char(const char *buf, size_t len, size_t cur)
{
	if (cur >= len)
		return len;
	cur++;
	while (cur < len && (buf[cur] & 0xc0) == 0x80)
		cur++;
	return cur;
}

bool
prompt_edit(struct ui_prompt *p, int code)
{
	switch (code) {
	case UI_KEY_FN | KEY_LEFT:
	case 2:  /* ^b */
		p->cur = prompt_prev_char(p->buf, p->cur);
		return true;
	case UI_KEY_FN | KEY_RIGHT:
	case 6:  /* ^f */
		p->cur = prompt_next_char(p->buf, p->len, p->cur);
		return true;
	case UI_KEY_FN | KEY_HOME:
	case 1:  /* ^a */
		p->cur = 0;
		return true;
	case UI_KEY_FN | KEY_END:
	case 5:  /* ^e */
		p->cur = p->len;
		return true;
	case UI_KEY_FN | KEY_BACKSPACE: {
		size_t prev = prompt_prev_char(p->buf, p->cur);
		memmove(p->buf + prev, p->buf + p->cur, p->len - p->cur + 1);
		p->len -= p->cur - prev;
		p->cur = prev;
		return true;
	}
	case UI_KEY_FN | KEY_DC:
	case 4: { /* ^d */
		size_t next = prompt_next_char(p->buf, p->len, p->cur);
		memmove(p->buf + p->cur, p->buf + next, p->len - next + 1);
		p->len -= next - p->cur;
		return true;
	}
	case 21: /* ^u: delete to the start */
		memmove(p->buf, p->buf + p->cur, p->len - p->cur + 1);
		p->len -= p->cur;
		p->cur = 0;
		return true;
	case 11: /* ^k: delete to the end */
		p->buf[p->cur] = '\0';
		p->len = p->cur;
		return true;
	case 23: { /* ^w: delete the word before the cursor */
		size_t s = p->cur;
		while (s > 0 && p->buf[s - 1] == ' ')
			s--;
		while (s > 0 && p->buf[s - 1] != ' ' && p->buf[s - 1] != '/')
			s--;
		memmove(p->buf + s, p->buf + p->cur, p->len - p->cur + 1);
		p->len -= p->cur - s;
		p->cur = s;
		return true;
	}
	default:
		break;
	}
	if ((code & UI_KEY_FN) || code < ' ' || code == 0x7f)
		return false;
	/* insert the character as UTF-8 */
	char u[4];
	size_t n;
	if (code < 0x80) {
		u[0] = (char)code;
		n = 1;
	} else if (code < 0x800) {
		u[0] = (char)(0xc0 | (code >> 6));
		u[1] = (char)(0x80 | (code & 0x3f));
		n = 2;
	} else if (code < 0x10000) {
		u[0] = (char)(0xe0 | (code >> 12));
		u[1] = (char)(0x80 | ((code >> 6) & 0x3f));
		u[2] = (char)(0x80 | (code & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (code >> 18));
		u[1] = (char)(0x80 | ((code >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((code >> 6) & 0x3f));
		u[3] = (char)(0x80 | (code & 0x3f));
		n = 4;
	}
	if (p->len + n + 1 > sizeof p->buf)
		return true;   /* full: the key is still an edit key, just ignored */
	memmove(p->buf + p->cur + n, p->buf + p->cur, p->len - p->cur + 1);
	memcpy(p->buf + p->cur, u, n);
	p->len += n;
	p->cur += n;
	return true;
}

/* A Tab completion's answer: applied while the prompt still holds the text it was asked for. */
static void
prompt_completed(void *arg, const char *buf, const char *hint, int n)
{
	struct ui *ui = arg;
	struct ui_prompt *p = &ui->prompt;
	if (!p->active || !p->completing || p->seq != p->complete_seq)
		return;
	p->completing = false;
	if (strlen(buf) >= sizeof p->buf) {
		snprintf(p->hint, sizeof p->hint, "(the completed path is too long)");
	} else {
		snprintf(p->buf, sizeof p->buf, "%s", buf);
		snprintf(p->hint, sizeof p->hint, "%s", n == 0 ? "(no match)" : hint);
		p->len = p->cur = strlen(p->buf);
	}
	ui_answered(ui);
}

void
prompt_key(struct ui *ui, int code)
{
	struct ui_prompt *p = &ui->prompt;
	prompt_done_fn done = p->done;
	void *arg = p->arg;
	if (p->confirm) {
		bool yes = code == 'y' || code == 'Y';
		p->active = false;
		if (done != NULL)
			done(ui, yes ? "y" : "n", arg);
		return;
	}
	if (code == UI_KEY_ESC || code == 7 /* ^g */) {
		p->active = false;
		if (done != NULL)
			done(ui, NULL, arg);
		return;
	}
	if (code == UI_KEY_ENTER) {
		char text[sizeof p->buf];
		snprintf(text, sizeof text, "%s", p->buf);
		p->active = false;
		if (done != NULL)
			done(ui, text, arg);
		return;
	}
	if (code == '\t') {
		if (p->paths && ui->client != NULL) {
			/* names where the engine runs (the daemon's file system when attached), read
			 * on a disk worker: the answer comes later (prompt_completed) */
			p->completing = true;
			p->complete_seq = p->seq;
			snprintf(p->hint, sizeof p->hint, "(reading the folder...)");
			client_complete_path_start(ui->client, ui->cwd, p->buf, prompt_completed, ui);
		} else if (p->paths) {
			snprintf(p->hint, sizeof p->hint, "(no match)");
		}
		return;
	}
	if (prompt_edit(p, code)) {
		p->seq = ++prompt_seq;
		p->hint[0] = '\0';
		if (p->change != NULL)
			p->change(ui, p->buf, arg);
	}
}

void
prompt_draw(struct ui *ui, int y)
{
	struct ui_prompt *p = &ui->prompt;
	draw_fill(y, 0, 0);
	if (!p->active) {
		if (ui->message[0] != '\0' && dp_now_ms() - ui->message_ms < PROMPT_MESSAGE_MS) {
			draw_text(y, 0, COLS, ui->message, TW_LEFT,
			    theme_attr(ui->message_error ? TH_ERROR : TH_NORMAL));
		} else {
			char q[32], h[32], text[128];
			keymap_describe(UI_ACTION_QUIT, q, sizeof q);
			keymap_describe(UI_ACTION_HELP, h, sizeof h);
			snprintf(text, sizeof text, "%s: help   %s: quit", h, q);
			draw_text(y, 0, COLS, text, TW_LEFT, theme_attr(TH_DIM));
		}
		return;
	}
	/* The label may take all but 24 cells (half the line when narrower): the short answers
	 * ("2M 500K") fit, and labels that explain them ("(0 = none)") are not cut at half. */
	int lw = tw_width(p->label) + 1;
	int room = DP_MIN(24, COLS / 2);
	if (lw > COLS - room)
		lw = COLS - room;
	draw_text(y, 0, lw, p->label, TW_LEFT, theme_attr(TH_PROMPT));
	int avail = COLS - lw - 1;
	if (avail < 1)
		return;
	/* keep the cursor visible: show the tail of the text when it is wider than the field */
	char before[sizeof p->buf];
	memcpy(before, p->buf, p->cur);
	before[p->cur] = '\0';
	int cur_w = tw_width(before);
	const char *shown = p->buf;
	while (cur_w >= avail && *shown != '\0') {
		char one[8];
		size_t n = 1;
		while ((shown[n] & 0xc0) == 0x80)
			n++;
		memcpy(one, shown, n);
		one[n] = '\0';
		cur_w -= tw_width(one);
		shown += n;
	}
	draw_text(y, lw, avail, shown, TW_LEFT, 0);
	if (p->hint[0] != '\0' && tw_width(p->buf) + lw + 4 < COLS) {
		int hx = lw + tw_width(p->buf) + 2;
		draw_text(y, hx, COLS - hx, p->hint, TW_LEFT, theme_attr(TH_DIM));
	}
	move(y, lw + cur_w);
}
