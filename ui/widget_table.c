/* widget_table.c: the table's pure logic: column widths in display cells, selection and
 * scrolling, multi-select marks, and the search match. Drawing is in screen code via ui.h. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "escape.h"
#include "util.h"
#include "widgets.h"

int
table_layout(const struct table_col *cols, int ncols, int total, int *widths)
{
	bool *shown = xcalloc((size_t)(ncols > 0 ? ncols : 1), sizeof *shown);
	int flex = -1;
	for (int i = 0; i < ncols; i++) {
		shown[i] = true;
		if (cols[i].max == 0 && flex < 0)
			flex = i;
	}
	for (;;) {
		int need = 0, count = 0;
		for (int i = 0; i < ncols; i++) {
			if (!shown[i])
				continue;
			need += i == flex ? DP_MAX(cols[i].min, cols[i].want) :
			    cols[i].max == 0 ? cols[i].min : cols[i].max;
			count++;
		}
		need += count > 0 ? count - 1 : 0;
		if (need <= total || count == 0)
			break;
		/* Drop the shown column with the highest priority number (the last one on ties). */
		int drop = -1;
		for (int i = 0; i < ncols; i++)
			if (shown[i] && cols[i].priority > 0 &&
			    (drop < 0 || cols[i].priority >= cols[drop].priority))
				drop = i;
		if (drop < 0)
			break;
		shown[drop] = false;
	}
	int used = 0, count = 0;
	for (int i = 0; i < ncols; i++) {
		widths[i] = 0;
		if (!shown[i])
			continue;
		widths[i] = (cols[i].max == 0 || i == flex) ? cols[i].min : cols[i].max;
		used += widths[i];
		count++;
	}
	used += count > 0 ? count - 1 : 0;
	if (used < total) {
		int taker = flex >= 0 && shown[flex] ? flex : -1;
		for (int i = 0; i < ncols && taker < 0; i++)
			if (shown[i] && cols[i].priority == 0)
				taker = i;
		if (taker >= 0)
			widths[taker] += total - used;
	} else if (used > total) {
		/* Only columns with priority 0 remain: squeeze from the right. */
		int over = used - total;
		for (int i = ncols - 1; i >= 0 && over > 0; i--) {
			int cut = DP_MIN(over, widths[i]);
			widths[i] -= cut;
			over -= cut;
		}
	}
	free(shown);
	return count;
}

void
table_state_free(struct table_state *t)
{
	free(t->marks);
	t->marks = NULL;
	t->nmarks = t->capmarks = 0;
}

static void
table_clamp(struct table_state *t, int page)
{
	if (page < 1)
		page = 1;
	if (t->count <= 0) {
		t->sel = -1;
		t->top = 0;
		return;
	}
	if (t->sel < 0)
		t->sel = 0;
	if (t->sel >= t->count)
		t->sel = t->count - 1;
	if (t->sel < t->top)
		t->top = t->sel;
	if (t->sel >= t->top + page)
		t->top = t->sel - page + 1;
	/* No blank rows at the bottom while there are rows above to show. */
	if (t->top > t->count - page)
		t->top = DP_MAX(0, t->count - page);
}

void
table_set_count(struct table_state *t, int count, int page)
{
	t->count = count;
	table_clamp(t, page);
}

void
table_move(struct table_state *t, int delta, int page)
{
	if (t->count <= 0) {
		table_clamp(t, page);
		return;
	}
	long s = (long)t->sel + delta;
	if (s < 0)
		s = 0;
	if (s >= t->count)
		s = t->count - 1;
	t->sel = (int)s;
	table_clamp(t, page);
}

void
table_move_to(struct table_state *t, int row, int page)
{
	t->sel = row;
	table_clamp(t, page);
}

bool
table_is_marked(const struct table_state *t, uint64_t id)
{
	for (size_t i = 0; i < t->nmarks; i++)
		if (t->marks[i] == id)
			return true;
	return false;
}

void
table_toggle_mark(struct table_state *t, uint64_t id)
{
	for (size_t i = 0; i < t->nmarks; i++) {
		if (t->marks[i] == id) {
			t->marks[i] = t->marks[--t->nmarks];
			return;
		}
	}
	if (t->nmarks == t->capmarks) {
		t->capmarks = t->capmarks ? t->capmarks * 2 : 16;
		t->marks = xreallocarray(t->marks, t->capmarks, sizeof *t->marks);
	}
	t->marks[t->nmarks++] = id;
}

void
table_clear_marks(struct table_state *t)
{
	t->nmarks = 0;
}

static void
table_swap(char *a, char *b, size_t size)
{
	while (size-- > 0) {
		char c = *a;
		*a++ = *b;
		*b++ = c;
	}
}

#define TABLE_SELECT_SMALL 16      /* a range this short is sorted whole */
#define TABLE_SELECT_ROUNDS 64     /* partitions before a range is sorted whole (bad pivots) */

/* Quickselect: narrows [left, right) around k with Hoare's partition about a median of three,
 * until base[k] holds what a sort would put there, none after it smaller, none before larger. */
static void
table_select(char *b, size_t size, size_t left, size_t right, size_t k,
    int (*cmp)(const void *, const void *), char *pivot)
{
	for (int round = 0; right - left > TABLE_SELECT_SMALL; round++) {
		if (round == TABLE_SELECT_ROUNDS)
			break;
		char *x = b + left * size, *y = b + (left + (right - left) / 2) * size;
		char *z = b + (right - 1) * size;
		if (cmp(y, x) < 0)
			table_swap(x, y, size);
		if (cmp(z, y) < 0) {
			table_swap(y, z, size);
			if (cmp(y, x) < 0)
				table_swap(x, y, size);
		}
		memcpy(pivot, y, size);
		size_t i = left, j = right - 1;
		for (;;) {
			while (cmp(b + i * size, pivot) < 0)
				i++;
			while (cmp(pivot, b + j * size) < 0)
				j--;
			if (i >= j)
				break;
			table_swap(b + i * size, b + j * size, size);
			i++;
			j--;
		}
		/* [left, j] holds nothing larger than the pivot, (j, right) nothing smaller */
		if (j + 1 >= right)
			break;
		if (k <= j)
			right = j + 1;
		else
			left = j + 1;
	}
	qsort(b + left * size, right - left, size, cmp);
}

void
table_partial_sort(void *base, size_t n, size_t size, size_t lo, size_t hi,
    int (*cmp)(const void *, const void *))
{
	if (hi > n)
		hi = n;
	if (lo >= hi || n < 2)
		return;
	char *pivot = xmalloc(size);
	if (lo > 0)
		table_select(base, size, 0, n, lo, cmp, pivot);
	if (hi < n)
		table_select(base, size, lo, n, hi - 1, cmp, pivot);
	qsort((char *)base + lo * size, hi - lo, size, cmp);
	free(pivot);
}

#define TEXT_FOLD_MAX 512       /* code points of a name looked at (names are shorter) */

/* s as lower-case code points (an invalid byte stands for itself, above any code point). */
static size_t
text_fold(const char *s, long *out, size_t max)
{
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p != '\0' && n < max) {
		long cp;
		size_t len = dp_utf8_decode(p, &cp);
		out[n++] = cp < 0 ? 0x110000 + *p : (long)towlower((wint_t)cp);
		p += len;
	}
	return n;
}

struct text_key *
text_key_new(const char *s)
{
	long tmp[TEXT_FOLD_MAX];
	size_t n = text_fold(s, tmp, TEXT_FOLD_MAX);
	struct text_key *k = xmalloc(sizeof *k + n * sizeof *k->cp);
	k->n = n;
	memcpy(k->cp, tmp, n * sizeof *k->cp);
	return k;
}

bool
text_key_has(const struct text_key *h, const struct text_key *needle)
{
	for (size_t i = 0; i + needle->n <= h->n; i++)
		if (memcmp(h->cp + i, needle->cp, needle->n * sizeof *needle->cp) == 0)
			return true;
	return false;
}

int
text_key_cmp(const struct text_key *a, const struct text_key *b)
{
	for (size_t i = 0; i < a->n && i < b->n; i++)
		if (a->cp[i] != b->cp[i])
			return a->cp[i] < b->cp[i] ? -1 : 1;
	return a->n == b->n ? 0 : a->n < b->n ? -1 : 1;
}

bool
text_matches(const char *haystack, const char *needle)
{
	if (needle[0] == '\0')
		return true;
	struct text_key *h = text_key_new(haystack), *nd = text_key_new(needle);
	bool found = text_key_has(h, nd);
	free(h);
	free(nd);
	return found;
}

int
text_casecmp(const char *a, const char *b)
{
	struct text_key *x = text_key_new(a), *y = text_key_new(b);
	int c = text_key_cmp(x, y);
	free(x);
	free(y);
	return c != 0 ? c : strcmp(a, b);
}
