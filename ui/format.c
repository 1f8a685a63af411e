/* format.c: compact, fixed-ish width numbers for table columns: sizes, rates, ETAs, ratios,
 * durations and dates. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "widgets.h"

void
fmt_size(uint64_t bytes, char *out, size_t outlen)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%" PRIu64 " B", bytes);
	else if (v < 9.995)
		snprintf(out, outlen, "%.2f %s", v, units[u]);
	else if (v < 99.95)
		snprintf(out, outlen, "%.1f %s", v, units[u]);
	else
		snprintf(out, outlen, "%.0f %s", v, units[u]);
}

void
fmt_rate(uint64_t bytes_per_sec, char *out, size_t outlen)
{
	char size[32];
	if (bytes_per_sec == 0) {
		snprintf(out, outlen, "-");
		return;
	}
	fmt_size(bytes_per_sec, size, sizeof size);
	snprintf(out, outlen, "%s/s", size);
}

void
fmt_eta(int64_t seconds, char *out, size_t outlen)
{
	if (seconds < 0) {
		snprintf(out, outlen, "-");
		return;
	}
	uint64_t s = (uint64_t)seconds;
	if (s < 60)
		snprintf(out, outlen, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(out, outlen, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, outlen, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	else if (s < 7 * 86400)
		snprintf(out, outlen, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
	else if (s < 100 * 7 * 86400)
		snprintf(out, outlen, "%" PRIu64 "w", s / (7 * 86400));
	else
		snprintf(out, outlen, "inf");
}

void
fmt_ratio(double ratio, char *out, size_t outlen)
{
	/* At most 5 cells (the list's Ratio column): 99.99 keeps two decimals, 150 none
	 * (printed as 150.00 it was cut to "150.…"). */
	if (ratio < 0)
		snprintf(out, outlen, "-");
	else if (ratio >= 99999.5)
		snprintf(out, outlen, "inf");
	else if (ratio >= 99.995)
		snprintf(out, outlen, "%.0f", ratio);
	else
		snprintf(out, outlen, "%.2f", ratio);
}

void
fmt_duration_us(uint64_t us, char *out, size_t outlen)
{
	if (us < 1000)
		snprintf(out, outlen, "%" PRIu64 "us", us);
	else if (us < 1000000)
		snprintf(out, outlen, "%.1fms", (double)us / 1e3);
	else if (us < 60000000)
		snprintf(out, outlen, "%.2fs", (double)us / 1e6);
	else
		fmt_eta((int64_t)(us / 1000000), out, outlen);
}

void
fmt_date(int64_t when, char *out, size_t outlen)
{
	struct tm tm;
	time_t t = (time_t)when;
	if (when <= 0 || localtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, outlen, "-");
}
