/* fuzz_ui_columns.c: libFuzzer target for the UI's column lists (the config's ui.*_columns
 * values) and the chooser's saved file ($XDG_STATE_HOME/downpour/ui-columns, a file on disk:
 * hostile): what parses formats back to a text that parses to the same columns. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "columns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A list for one screen: parse, format, parse again to the same ids. */
static void
fuzz_ui_columns_list(enum ui_cols_screen s, const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), out[1024], err[768];
	struct ui_col_set a, b;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ui_columns_parse(s, text, &a, err, sizeof err) == 0) {
		ui_columns_format(s, &a, out, sizeof out);
		if (ui_columns_parse(s, out, &b, err, sizeof err) != 0 || !ui_columns_equal(&a, &b))
			abort();
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* the first byte picks a screen's list, or the saved file */
	unsigned pick = data[0] % (UCS_COUNT + 1);
	data++;
	size--;
	if (pick < UCS_COUNT) {
		fuzz_ui_columns_list((enum ui_cols_screen)pick, data, size);
		return 0;
	}
	struct ui_columns_saved sv, back;
	char err[768];
	if (ui_columns_saved_parse((const char *)data, size, &sv, err, sizeof err) != 0)
		return 0;
	/* the file's text for these choices over these bases parses back to them */
	struct ui_col_set cur[UCS_COUNT], base[UCS_COUNT];
	for (int s = 0; s < UCS_COUNT; s++) {
		ui_columns_default((enum ui_cols_screen)s, &base[s]);
		cur[s] = base[s];
		if (sv.set[s]) {
			cur[s] = sv.cols[s];
			base[s] = sv.base[s];
		}
	}
	char *text = malloc(16384);
	ui_columns_saved_format(cur, base, sv.sort, text, 16384);
	if (ui_columns_saved_parse(text, strlen(text), &back, err, sizeof err) != 0)
		abort();
	for (int s = 0; s < UCS_COUNT; s++) {
		bool differs = !ui_columns_equal(&cur[s], &base[s]);
		if (back.set[s] != differs ||
		    (differs && (!ui_columns_equal(&back.cols[s], &cur[s]) ||
		    !ui_columns_equal(&back.base[s], &base[s]))))
			abort();
		if (back.sort[s].set != sv.sort[s].set || (sv.sort[s].set &&
		    (back.sort[s].col != sv.sort[s].col || back.sort[s].desc != sv.sort[s].desc)))
			abort();
	}
	free(text);
	return 0;
}
