/* queue.c: the queueing rule (active download and seed limits in queue order) and the seeding
 * limits (ratio, time; per torrent over global), kept free of engine state for testing. */
#include "config.h"

#include <stdio.h>

#include "queue.h"

static size_t
queue_plan_class(struct queue_entry *v, size_t n, bool download, int max)
{
	size_t changed = 0;
	int active = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].download == download && v[i].active && !v[i].unchecked)
			active++;
	if (max <= 0) {
		for (size_t i = 0; i < n; i++) {
			if (v[i].download == download && !v[i].active && !v[i].pinned &&
			    !v[i].unchecked) {
				v[i].action = QUEUE_START;
				changed++;
			}
		}
		return changed;
	}
	/* Over the limit: park from the back of the queue, never a pinned one. */
	for (size_t i = n; i-- > 0 && active > max;) {
		if (v[i].download != download || !v[i].active || v[i].pinned || v[i].unchecked)
			continue;
		v[i].action = QUEUE_PARK;
		active--;
		changed++;
	}
	for (size_t i = 0; i < n && active < max; i++) {
		if (v[i].download != download || v[i].active || v[i].pinned || v[i].unchecked)
			continue;
		v[i].action = QUEUE_START;
		active++;
		changed++;
	}
	return changed;
}

size_t
queue_plan(struct queue_entry *v, size_t n, int max_down, int max_seed)
{
	size_t changed = 0;
	for (size_t i = 0; i < n; i++) {
		v[i].action = QUEUE_KEEP;
		if (v[i].unchecked && !v[i].active && !v[i].pinned) {
			v[i].action = QUEUE_START;
			changed++;
		}
	}
	return changed + queue_plan_class(v, n, true, max_down) +
	    queue_plan_class(v, n, false, max_seed);
}

static bool
queue_class_needs_plan(size_t active, bool starved, size_t queued, int max)
{
	if (max > 0 && active > (size_t)max)
		return true;          /* over the limit: park */
	return queued > 0 && !starved && (max <= 0 || active < (size_t)max);
}

bool
queue_needs_plan(const struct queue_counts *c, int max_down, int max_seed)
{
	return c->unchecked ||
	    queue_class_needs_plan(c->active_down, c->starved_down, c->queued, max_down) ||
	    queue_class_needs_plan(c->active_seed, c->starved_seed, c->queued, max_seed);
}

void
queue_plan_starved(const struct queue_entry *v, size_t n, bool *starved_down,
    bool *starved_seed)
{
	*starved_down = *starved_seed = true;
	for (size_t i = 0; i < n; i++) {
		if (v[i].active || v[i].pinned || v[i].unchecked || v[i].action == QUEUE_START)
			continue;
		if (v[i].download)
			*starved_down = false;
		else
			*starved_seed = false;
	}
}

bool
queue_seed_limit_reached(int64_t ratio_milli, int64_t time_s, double global_ratio,
    int64_t global_time, uint64_t uploaded, uint64_t downloaded, uint64_t size,
    int64_t seeding_s, char *why, size_t whylen)
{
	double ratio_limit = ratio_milli < 0 ? global_ratio : (double)ratio_milli / 1000.0;
	int64_t time_limit = time_s < 0 ? global_time : time_s;
	uint64_t base = downloaded > size ? downloaded : size;
	if (ratio_limit > 0 && base > 0) {
		double ratio = (double)uploaded / (double)base;
		if (ratio >= ratio_limit) {
			snprintf(why, whylen, "seed ratio %.2f reached the limit %.2f", ratio,
			    ratio_limit);
			return true;
		}
	}
	if (time_limit > 0 && seeding_s >= time_limit) {
		snprintf(why, whylen, "seeded %lld s, the limit is %lld s", (long long)seeding_s,
		    (long long)time_limit);
		return true;
	}
	return false;
}
