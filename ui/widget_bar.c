/* widget_bar.c: the progress bar: whole blocks plus an eighth-block remainder, or '#' in ASCII. */
#include "config.h"

#include <string.h>

#include "widgets.h"

static const char *const bar_eighths[] = {
	"", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d", "\xe2\x96\x8c", "\xe2\x96\x8b",
	"\xe2\x96\x8a", "\xe2\x96\x89",
};
#define BAR_FULL "\xe2\x96\x88"

static void
bar_put(char *out, size_t outlen, size_t *pos, const char *s)
{
	size_t n = strlen(s);
	if (*pos + n + 1 > outlen)
		return;
	memcpy(out + *pos, s, n + 1);
	*pos += n;
}

void
bar_render(double fraction, int cells, char *out, size_t outlen)
{
	size_t pos = 0;
	if (outlen == 0)
		return;
	out[0] = '\0';
	if (cells <= 0)
		return;
	if (!(fraction >= 0))     /* also catches NaN */
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	bool ascii = tw_ascii();
	long eighths = (long)(fraction * cells * 8 + 0.5);
	/* Never show a full bar for an unfinished torrent, nor an empty one for a started one. */
	if (fraction < 1 && eighths == (long)cells * 8)
		eighths--;
	if (fraction > 0 && eighths == 0)
		eighths = 1;
	int full = (int)(eighths / 8), rem = (int)(eighths % 8);
	int drawn = 0;
	for (; drawn < full; drawn++)
		bar_put(out, outlen, &pos, ascii ? "#" : BAR_FULL);
	if (drawn < cells && rem > 0) {
		bar_put(out, outlen, &pos, ascii ? (rem >= 4 ? "#" : ":") : bar_eighths[rem]);
		drawn++;
	}
	for (; drawn < cells; drawn++)
		bar_put(out, outlen, &pos, ascii ? "." : " ");
}
