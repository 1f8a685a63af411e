/* widget_sparkline.c: rate history as a one-line graph of eight levels (or an ASCII ramp). */
#include "config.h"

#include <string.h>

#include "widgets.h"

static const char *const spark_levels[] = {
	" ", "\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84", "\xe2\x96\x85",
	"\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88",
};
static const char *const spark_ascii[] = { " ", "_", "_", ".", "-", "-", "=", "#", "#" };

void
spark_push(struct spark_history *h, uint64_t value)
{
	if (h->n == SPARK_HISTORY) {
		memmove(h->v, h->v + 1, (SPARK_HISTORY - 1) * sizeof h->v[0]);
		h->n--;
	}
	h->v[h->n++] = value;
}

uint64_t
sparkline_render(const uint64_t *values, size_t n, int cells, uint64_t max, char *out,
    size_t outlen)
{
	size_t pos = 0;
	if (outlen == 0)
		return max;
	out[0] = '\0';
	if (cells <= 0)
		return max;
	size_t shown = n < (size_t)cells ? n : (size_t)cells;
	const uint64_t *v = values + (n - shown);
	if (max == 0)
		for (size_t i = 0; i < shown; i++)
			if (v[i] > max)
				max = v[i];
	const char *const *lv = tw_ascii() ? spark_ascii : spark_levels;
	for (size_t i = 0; i < (size_t)cells; i++) {
		int level = 0;
		if (i >= (size_t)cells - shown) {
			uint64_t x = v[i - ((size_t)cells - shown)];
			if (x > 0 && max > 0) {
				if (x >= max)
					level = 8;
				else
					level = (int)((x * 8 + max - 1) / max);   /* round up: non-zero shows */
				if (level < 1)
					level = 1;
			}
		}
		size_t len = strlen(lv[level]);
		if (pos + len + 1 > outlen)
			break;
		memcpy(out + pos, lv[level], len + 1);
		pos += len;
	}
	return max;
}
