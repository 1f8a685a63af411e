/* keymap.c: the action table, default and rebound keys, two-key sequences, and the help text
 * generated from the same table so the two can never disagree. */
#include "config.h"

#include <ctype.h>
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "keymap.h"

struct keymap_action_def {
	const char *name;
	const char *keys;
	int ctx;
	const char *help;
};

static const struct keymap_action_def keymap_defs[UI_ACTION_COUNT] = {
	[UI_ACTION_NONE] = { "none", "", 0, "" },
#define X(id, name, keys, ctx, help) [UI_ACTION_##id] = { name, keys, ctx, help },
	UI_ACTIONS(X)
#undef X
};

struct keymap_binding {
	enum ui_action action;
	int codes[2];
	int len;
};

#define KEYMAP_MAX 256
static struct keymap_binding keymap_bindings[KEYMAP_MAX];
static size_t keymap_count;
static int keymap_pending = -1;     /* first key of a sequence being typed */

static const struct {
	const char *name;
	int code;
} keymap_names[] = {
	{ "enter", UI_KEY_ENTER }, { "esc", UI_KEY_ESC }, { "tab", '\t' },
	{ "btab", UI_KEY_FN | KEY_BTAB }, { "backspace", UI_KEY_FN | KEY_BACKSPACE },
	{ "space", ' ' }, { "up", UI_KEY_FN | KEY_UP }, { "down", UI_KEY_FN | KEY_DOWN },
	{ "left", UI_KEY_FN | KEY_LEFT }, { "right", UI_KEY_FN | KEY_RIGHT },
	{ "home", UI_KEY_FN | KEY_HOME }, { "end", UI_KEY_FN | KEY_END },
	{ "pgup", UI_KEY_FN | KEY_PPAGE }, { "pgdn", UI_KEY_FN | KEY_NPAGE },
	{ "del", UI_KEY_FN | KEY_DC }, { "ins", UI_KEY_FN | KEY_IC },
};

const char *
keymap_action_name(enum ui_action a)
{
	return (unsigned)a < UI_ACTION_COUNT ? keymap_defs[a].name : "?";
}

const char *
keymap_action_help(enum ui_action a)
{
	return (unsigned)a < UI_ACTION_COUNT ? keymap_defs[a].help : "?";
}

int
keymap_action_context(enum ui_action a)
{
	return (unsigned)a < UI_ACTION_COUNT ? keymap_defs[a].ctx : 0;
}

enum ui_action
keymap_action_find(const char *name)
{
	for (int a = 1; a < UI_ACTION_COUNT; a++) {
		if (strcmp(keymap_defs[a].name, name) == 0)
			return (enum ui_action)a;
		/* "half-page-down" reads as well as "half_page_down" */
		size_t n = strlen(keymap_defs[a].name);
		if (strlen(name) == n) {
			size_t i = 0;
			for (; i < n; i++) {
				char c = name[i] == '-' ? '_' : name[i];
				if (c != keymap_defs[a].name[i])
					break;
			}
			if (i == n)
				return (enum ui_action)a;
		}
	}
	return UI_ACTION_NONE;
}

/* Decodes one UTF-8 character; returns its byte length or 0 when invalid. */
static size_t
keymap_utf8(const char *s, int *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	size_t len = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0)
		return 0;
	int v = p[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	*cp = v;
	return len;
}

int
keymap_parse_key(const char *name, int codes[2])
{
	size_t n = strlen(name);
	if (n == 0)
		return 0;
	for (size_t i = 0; i < DP_ARRAY_LEN(keymap_names); i++) {
		if (strcasecmp(name, keymap_names[i].name) == 0) {
			codes[0] = keymap_names[i].code;
			return 1;
		}
	}
	if (strcasecmp(name, "return") == 0 || strcasecmp(name, "escape") == 0 ||
	    strcasecmp(name, "delete") == 0) {
		return keymap_parse_key(name[0] == 'r' || name[0] == 'R' ? "enter" :
		    name[1] == 's' || name[1] == 'S' ? "esc" : "del", codes);
	}
	/* ^d and C-d: control keys */
	if ((n == 2 && name[0] == '^') || (n == 3 && (name[0] == 'C' || name[0] == 'c') &&
	    name[1] == '-')) {
		int c = tolower((unsigned char)name[n - 1]);
		if (c >= 'a' && c <= 'z') {
			codes[0] = c - 'a' + 1;
			return 1;
		}
		return 0;
	}
	if ((name[0] == 'F' || name[0] == 'f') && n >= 2 && n <= 3 && isdigit((unsigned char)name[1]) &&
	    (n == 2 || isdigit((unsigned char)name[2]))) {
		int f = atoi(name + 1);
		if (f >= 1 && f <= 12) {
			codes[0] = UI_KEY_FN | KEY_F(f);
			return 1;
		}
		return 0;
	}
	/* one or two printable characters */
	int cp1, cp2;
	size_t l1 = keymap_utf8(name, &cp1);
	if (l1 == 0 || cp1 <= ' ' || cp1 == 0x7f)
		return 0;
	if (name[l1] == '\0') {
		codes[0] = cp1;
		return 1;
	}
	size_t l2 = keymap_utf8(name + l1, &cp2);
	if (l2 == 0 || cp2 <= ' ' || cp2 == 0x7f || name[l1 + l2] != '\0')
		return 0;
	codes[0] = cp1;
	codes[1] = cp2;
	return 2;
}

void
keymap_key_name(int code, char *out, size_t outlen)
{
	static const struct {
		int code;
		const char *name;
	} pretty[] = {
		{ UI_KEY_ENTER, "Enter" }, { UI_KEY_ESC, "Esc" }, { '\t', "Tab" }, { ' ', "Space" },
		{ UI_KEY_FN | KEY_BTAB, "S-Tab" }, { UI_KEY_FN | KEY_BACKSPACE, "Backspace" },
		{ UI_KEY_FN | KEY_UP, "Up" }, { UI_KEY_FN | KEY_DOWN, "Down" },
		{ UI_KEY_FN | KEY_LEFT, "Left" }, { UI_KEY_FN | KEY_RIGHT, "Right" },
		{ UI_KEY_FN | KEY_HOME, "Home" }, { UI_KEY_FN | KEY_END, "End" },
		{ UI_KEY_FN | KEY_PPAGE, "PgUp" }, { UI_KEY_FN | KEY_NPAGE, "PgDn" },
		{ UI_KEY_FN | KEY_DC, "Del" }, { UI_KEY_FN | KEY_IC, "Ins" },
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(pretty); i++) {
		if (pretty[i].code == code) {
			snprintf(out, outlen, "%s", pretty[i].name);
			return;
		}
	}
	if (code >= 1 && code <= 26) {
		snprintf(out, outlen, "^%c", 'a' + code - 1);
	} else if ((code & UI_KEY_FN) && (code & ~UI_KEY_FN) >= KEY_F(1) &&
	    (code & ~UI_KEY_FN) <= KEY_F(12)) {
		snprintf(out, outlen, "F%d", (code & ~UI_KEY_FN) - KEY_F(0));
	} else if (code & UI_KEY_FN) {
		snprintf(out, outlen, "key%d", code & ~UI_KEY_FN);
	} else if (code < 0x80) {
		snprintf(out, outlen, "%c", code);
	} else {
		/* encode the code point back to UTF-8 */
		char u[5] = { 0 };
		if (code < 0x800) {
			u[0] = (char)(0xc0 | (code >> 6));
			u[1] = (char)(0x80 | (code & 0x3f));
		} else if (code < 0x10000) {
			u[0] = (char)(0xe0 | (code >> 12));
			u[1] = (char)(0x80 | ((code >> 6) & 0x3f));
			u[2] = (char)(0x80 | (code & 0x3f));
		} else {
			u[0] = (char)(0xf0 | (code >> 18));
			u[1] = (char)(0x80 | ((code >> 12) & 0x3f));
			u[2] = (char)(0x80 | ((code >> 6) & 0x3f));
			u[3] = (char)(0x80 | (code & 0x3f));
		}
		snprintf(out, outlen, "%s", u);
	}
}

/* Adds the bindings of a space-separated key list; false with the bad name in err. */
static bool
keymap_add_keys(enum ui_action a, const char *keys, char *err, size_t errlen)
{
	char *copy = xstrdup(keys), *save = NULL;
	bool ok = true;
	for (char *k = strtok_r(copy, " ,", &save); k != NULL; k = strtok_r(NULL, " ,", &save)) {
		struct keymap_binding b = { .action = a };
		b.len = keymap_parse_key(k, b.codes);
		if (b.len == 0) {
			if (err != NULL)
				snprintf(err, errlen, "'%s' is not a key name", k);
			ok = false;
			break;
		}
		if (keymap_count == KEYMAP_MAX) {
			if (err != NULL)
				snprintf(err, errlen, "too many key bindings");
			ok = false;
			break;
		}
		keymap_bindings[keymap_count++] = b;
	}
	free(copy);
	return ok;
}

void
keymap_init(void)
{
	keymap_count = 0;
	keymap_pending = -1;
	for (int a = 1; a < UI_ACTION_COUNT; a++) {
		bool ok = keymap_add_keys((enum ui_action)a, keymap_defs[a].keys, NULL, 0);
		(void)ok;   /* the defaults are tested to parse */
	}
}

static bool
keymap_same_key(const struct keymap_binding *x, const struct keymap_binding *y)
{
	return x->len == y->len && x->codes[0] == y->codes[0] &&
	    (x->len == 1 || x->codes[1] == y->codes[1]);
}

/* Two contexts conflict when one key could reach both: one is global or they share a bit. */
static bool
keymap_ctx_overlap(int a, int b)
{
	return (a & KCTX_GLOBAL) || (b & KCTX_GLOBAL) || (a & b) ||
	    ((a & KCTX_TORRENT) && (b & (KCTX_LIST | KCTX_DETAIL | KCTX_PEERS | KCTX_FILES))) ||
	    ((b & KCTX_TORRENT) && (a & (KCTX_LIST | KCTX_DETAIL | KCTX_PEERS | KCTX_FILES)));
}

int
keymap_bind(const char *action, const char *keys, char *err, size_t errlen)
{
	enum ui_action a = keymap_action_find(action);
	if (a == UI_ACTION_NONE) {
		snprintf(err, errlen, "unknown action '%s'", action);
		return -1;
	}
	size_t before = keymap_count;
	if (!keymap_add_keys(a, keys, err, errlen)) {
		keymap_count = before;
		return -1;
	}
	if (keymap_count == before) {
		snprintf(err, errlen, "no key given for '%s'", action);
		return -1;
	}
	/* Drop the action's old keys, and the new keys from actions they would clash with. */
	size_t w = 0;
	for (size_t i = 0; i < before; i++) {
		struct keymap_binding *b = &keymap_bindings[i];
		bool drop = b->action == a;
		for (size_t j = before; j < keymap_count && !drop; j++)
			if (keymap_same_key(b, &keymap_bindings[j]) &&
			    keymap_ctx_overlap(keymap_defs[b->action].ctx, keymap_defs[a].ctx))
				drop = true;
		if (!drop)
			keymap_bindings[w++] = *b;
	}
	for (size_t i = before; i < keymap_count; i++)
		keymap_bindings[w++] = keymap_bindings[i];
	keymap_count = w;
	return 0;
}

void
keymap_reset_pending(void)
{
	keymap_pending = -1;
}

/* Finds a binding for the key(s) in the active contexts; specific contexts before global. */
static const struct keymap_binding *
keymap_find(int ctx, const int *codes, int len, bool prefix)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < keymap_count; i++) {
			const struct keymap_binding *b = &keymap_bindings[i];
			int bctx = keymap_defs[b->action].ctx;
			bool global = bctx & KCTX_GLOBAL;
			if ((pass == 0) == global || !(bctx & ctx))
				continue;
			if (prefix) {
				if (b->len == 2 && b->codes[0] == codes[0])
					return b;
			} else if (b->len == len && b->codes[0] == codes[0] &&
			    (len == 1 || b->codes[1] == codes[1])) {
				return b;
			}
		}
	}
	return NULL;
}

enum keymap_result
keymap_feed(int ctx, int code, enum ui_action *out)
{
	const struct keymap_binding *b;
	ctx |= KCTX_GLOBAL;
	if (keymap_pending >= 0) {
		int codes[2] = { keymap_pending, code };
		keymap_pending = -1;
		if ((b = keymap_find(ctx, codes, 2, false)) != NULL) {
			*out = b->action;
			return KEYMAP_MATCH;
		}
		/* Not a sequence after all: the second key counts on its own. */
	}
	if ((b = keymap_find(ctx, &code, 1, false)) != NULL) {
		*out = b->action;
		return KEYMAP_MATCH;
	}
	if (keymap_find(ctx, &code, 1, true) != NULL) {
		keymap_pending = code;
		return KEYMAP_PENDING;
	}
	*out = UI_ACTION_NONE;
	return KEYMAP_NONE;
}

void
keymap_describe(enum ui_action a, char *out, size_t outlen)
{
	size_t pos = 0;
	out[0] = '\0';
	for (size_t i = 0; i < keymap_count; i++) {
		const struct keymap_binding *b = &keymap_bindings[i];
		if (b->action != a)
			continue;
		char k1[16], k2[16] = "";
		keymap_key_name(b->codes[0], k1, sizeof k1);
		if (b->len == 2)
			keymap_key_name(b->codes[1], k2, sizeof k2);
		int n = snprintf(out + pos, outlen - pos, "%s%s%s", pos ? ", " : "", k1, k2);
		if (n < 0 || (size_t)n >= outlen - pos)
			break;
		pos += (size_t)n;
	}
}

void
keymap_help(void (*line)(void *arg, const char *section, const char *keys, const char *help),
    void *arg)
{
	static const struct {
		int ctx;
		const char *title;
	} sections[] = {
		{ KCTX_GLOBAL, "Everywhere" },
		{ KCTX_LIST, "Torrent list" },
		{ KCTX_TORRENT, "Selected torrent (list and detail)" },
		{ KCTX_DETAIL, "Torrent detail" },
		{ KCTX_PEERS, "Detail: peers tab" },
		{ KCTX_FILES, "Detail: files tab" },
		{ KCTX_TASKS, "Task monitor" },
		{ KCTX_BLOCKED, "Blocked view" },
		{ KCTX_LOG, "Log" },
		{ KCTX_CHOOSER, "Column chooser (Enter, Esc or C closes it and keeps the choice)" },
	};
	for (size_t s = 0; s < DP_ARRAY_LEN(sections); s++) {
		line(arg, sections[s].title, NULL, NULL);
		for (int a = 1; a < UI_ACTION_COUNT; a++) {
			if (!(keymap_defs[a].ctx & sections[s].ctx))
				continue;
			char keys[128];
			keymap_describe((enum ui_action)a, keys, sizeof keys);
			line(arg, NULL, keys[0] ? keys : "(unbound)", keymap_defs[a].help);
		}
	}
}
