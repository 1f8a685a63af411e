/* tracker_hosts.c: per-tracker announce figures (tracker_hosts.h): open addressing on an FNV-1a
 * hash of the name, rows in insertion order for a stable /metrics. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "tracker_gate.h"
#include "tracker_hosts.h"
#include "tracker_scrape.h"
#include "util.h"

#define TRACKER_HOSTS_SLOTS (TRACKER_HOSTS_MAX * 2)   /* a power of two, half full at most */

struct tracker_hosts {
	struct tracker_host_row rows[TRACKER_HOSTS_MAX + 1];   /* + "other" */
	size_t count;
	int slot[TRACKER_HOSTS_SLOTS];      /* row + 1, 0 = empty */
	bool have_other;
	struct tracker_gate *gate;          /* request slots, one row per tracker row */
	struct tracker_scrapes *scrapes;    /* scrape batches, holding slots of gate */
	/* stopped announces dropped at their deadline since the last log line, per row */
	uint32_t drop_unsent[TRACKER_HOSTS_MAX + 1], drop_unanswered[TRACKER_HOSTS_MAX + 1];
	bool drops;
	struct event *drop_timer;           /* made when first needed */
};

static void tracker_hosts_drop_log(struct tracker_hosts *h);

struct tracker_hosts *
tracker_hosts_new(void)
{
	struct tracker_hosts *h = xcalloc(1, sizeof(struct tracker_hosts));
	h->gate = tracker_gate_new(TRACKER_HOSTS_MAX);
	h->scrapes = tracker_scrapes_new(h->gate);
	return h;
}

void
tracker_hosts_free(struct tracker_hosts *h)
{
	if (h == NULL)
		return;
	tracker_hosts_drop_log(h);
	if (h->drop_timer != NULL)
		event_free(h->drop_timer);
	tracker_scrapes_free(h->scrapes);
	tracker_gate_free(h->gate);
	free(h);
}

static uint32_t
tracker_hosts_hash(const char *s)
{
	uint32_t x = 2166136261u;
	for (; *s != '\0'; s++)
		x = (x ^ (uint8_t)*s) * 16777619u;
	return x;
}

int
tracker_hosts_index(struct tracker_hosts *h, const char *host)
{
	uint32_t i = tracker_hosts_hash(host) & (TRACKER_HOSTS_SLOTS - 1);
	for (;; i = (i + 1) & (TRACKER_HOSTS_SLOTS - 1)) {
		int r = h->slot[i];
		if (r == 0)
			break;
		if (strcmp(h->rows[r - 1].host, host) == 0)
			return r - 1;
	}
	if (h->count == TRACKER_HOSTS_MAX)
		return -1;
	struct tracker_host_row *row = &h->rows[h->count];
	snprintf(row->host, sizeof row->host, "%s", host);
	h->slot[i] = (int)++h->count;
	return (int)h->count - 1;
}

static struct tracker_host_row *
tracker_hosts_row(struct tracker_hosts *h, const char *host)
{
	int r = tracker_hosts_index(h, host);
	if (r >= 0)
		return &h->rows[r];
	/* Past the bound every new name shares one row. */
	struct tracker_host_row *o = &h->rows[TRACKER_HOSTS_MAX];
	if (!h->have_other) {
		snprintf(o->host, sizeof o->host, "other");
		h->have_other = true;
	}
	return o;
}

struct tracker_gate *
tracker_hosts_gate(struct tracker_hosts *h)
{
	return h != NULL ? h->gate : NULL;
}

struct tracker_scrapes *
tracker_hosts_scrapes(struct tracker_hosts *h)
{
	return h != NULL ? h->scrapes : NULL;
}

void
tracker_hosts_note(struct tracker_hosts *h, const char *host, bool scrape, bool ok,
    uint64_t latency_us)
{
	if (h == NULL)
		return;
	struct tracker_host_row *r = tracker_hosts_row(h, host);
	if (scrape) {
		if (ok)
			r->scrapes_ok++;
		else
			r->scrapes_failed++;
		return;
	}
	if (ok)
		r->announces_ok++;
	else
		r->announces_failed++;
	r->latency_sum_us += latency_us;
	r->latency_count++;
	r->last_latency_us = latency_us;
}

/* One line per tracker that had stopped announces dropped since the last time. */
static void
tracker_hosts_drop_log(struct tracker_hosts *h)
{
	if (!h->drops)
		return;
	h->drops = false;
	for (size_t i = 0; i <= TRACKER_HOSTS_MAX; i++) {
		if (h->drop_unsent[i] == 0 && h->drop_unanswered[i] == 0)
			continue;
		log_warn("tracker %s: %u stopped announce%s dropped at the deadline (%u never sent: "
		    "waiting for a request slot, %u unanswered)", h->rows[i].host,
		    h->drop_unsent[i] + h->drop_unanswered[i],
		    h->drop_unsent[i] + h->drop_unanswered[i] == 1 ? "" : "s", h->drop_unsent[i],
		    h->drop_unanswered[i]);
		h->drop_unsent[i] = h->drop_unanswered[i] = 0;
	}
}

static void
tracker_hosts_drop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tracker_hosts_drop_log(arg);
}

void
tracker_hosts_stop_dropped(struct tracker_hosts *h, struct event_base *base, const char *host,
    bool unsent)
{
	if (h == NULL)
		return;
	struct tracker_host_row *r = tracker_hosts_row(h, host);
	size_t i = (size_t)(r - h->rows);
	r->stops_dropped++;
	if (unsent)
		h->drop_unsent[i]++;
	else
		h->drop_unanswered[i]++;
	if (h->drops)
		return;
	h->drops = true;
	if (h->drop_timer == NULL && base != NULL)
		h->drop_timer = evtimer_new(base, tracker_hosts_drop_timer_cb, h);
	struct timeval tv = { 1, 0 };
	if (h->drop_timer == NULL || evtimer_add(h->drop_timer, &tv) < 0)
		tracker_hosts_drop_log(h);      /* no timer: at once, one line per drop */
}

size_t
tracker_hosts_rows(const struct tracker_hosts *h, const struct tracker_host_row **rows,
    const struct tracker_host_row **other)
{
	*rows = h->rows;
	*other = h->have_other ? &h->rows[TRACKER_HOSTS_MAX] : NULL;
	return h->count;
}
