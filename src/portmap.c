/* portmap.c: the port mapping service: a worker thread that finds the gateway (UPnP IGD, NAT-PMP),
 * maps the listening port for TCP and UDP, renews before the lease ends, retries failures with
 * backoff and removes the mappings at stop; the loop side turns its reports into one task and
 * log lines per mapping. The worker never touches the loop: it writes under a lock and wakes
 * the loop with event_active. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "portmap.h"
#include "portmap_private.h"
#include "task.h"
#include "util.h"

#define PM_MAX_MAPS 4
#define PM_FREE_WAIT_MS 8000u        /* portmap_free waits this long for the unmapping */
#define PM_UNMAP_NATPMP_MS 2000u     /* each NAT-PMP removal at stop */
#define PM_PERMANENT_RECHECK_S 1200u /* a permanent UPnP lease is added again this often */
#define PM_MAX_BACKOFF_S 3600u

enum pm_proto { PM_UPNP, PM_NATPMP, PM_PROTOS };
enum pm_state { PM_WORKING, PM_MAPPED, PM_FAILED, PM_REMOVED };

static const char *const portmap_proto_names[PM_PROTOS] = { "UPnP", "NAT-PMP" };

struct pm_map {
	enum pm_proto proto;
	bool udp;
	/* written by the worker under the lock, read by the loop's report callback */
	enum pm_state state;
	char reason[192];
	uint64_t until_ms;           /* MAPPED: next renewal; FAILED: next try (monotonic) */
	bool changed;
	bool mapped;                 /* in place on the gateway */
	/* loop only */
	struct dp_task *task;
	enum pm_state shown;
	bool ever_shown;
};

struct portmap {
	struct event_base *base;
	struct event *ev;            /* the worker's reports wake the loop through it */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;         /* loop -> worker: stop (monotonic clock) */
	pthread_cond_t done;         /* worker -> portmap_free: finished */
	bool stop, finished, orphaned;
	/* port_mapping switched off at run time: the worker removes the mappings and waits to be
	 * switched on again (portmap_set_enabled); under the lock */
	bool disabled, unmapped;
	uint16_t port;
	struct portmap_options opt;
	struct pm_map maps[PM_MAX_MAPS];
	unsigned nmaps;
	char external_ip[46];        /* under the lock */
	/* worker only */
	struct pm_upnp *upnp;
	char upnp_gw[64], upnp_ip[46];   /* the UPnP gateway's address and WAN address */
	uint64_t due[PM_PROTOS];
	unsigned backoff_s[PM_PROTOS];
	/* loop only: what portmap_get_status reports */
	struct portmap_status status;
};

/* ---- worker side ---- */

/* Records a mapping's new state and wakes the loop. Lock held by the caller. */
static void
portmap_set_locked(struct portmap *pm, struct pm_map *m, enum pm_state state, uint64_t until_ms,
    const char *fmt, va_list ap)
{
	m->state = state;
	m->until_ms = until_ms;
	vsnprintf(m->reason, sizeof m->reason, fmt, ap);
	m->changed = true;
	if (!pm->orphaned)
		event_active(pm->ev, EV_READ, 1);
}

static void
portmap_set(struct portmap *pm, struct pm_map *m, enum pm_state state, uint64_t until_ms,
    const char *fmt, ...) DP_PRINTF(5, 6);

static void
portmap_set(struct portmap *pm, struct pm_map *m, enum pm_state state, uint64_t until_ms,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&pm->lock);
	portmap_set_locked(pm, m, state, until_ms, fmt, ap);
	pthread_mutex_unlock(&pm->lock);
	va_end(ap);
}

static bool
portmap_stopping(struct portmap *pm)
{
	pthread_mutex_lock(&pm->lock);
	bool stop = pm->stop;
	pthread_mutex_unlock(&pm->lock);
	return stop;
}

static void
portmap_set_external(struct portmap *pm, const char *ip)
{
	if (ip[0] == '\0')
		return;
	pthread_mutex_lock(&pm->lock);
	snprintf(pm->external_ip, sizeof pm->external_ip, "%s", ip);
	pthread_mutex_unlock(&pm->lock);
}

static const char *
portmap_l4(const struct pm_map *m)
{
	return m->udp ? "UDP" : "TCP";
}

/* Every mapping of one protocol failed for the same reason (no gateway). */
static void
portmap_fail_all(struct portmap *pm, enum pm_proto proto, uint64_t retry_ms, const char *why)
{
	for (unsigned i = 0; i < pm->nmaps; i++)
		if (pm->maps[i].proto == proto)
			portmap_set(pm, &pm->maps[i], PM_FAILED, retry_ms, "%s", why);
}

/* One round of UPnP: discover the gateway if needed, then add (or renew) each mapping. Returns
 * seconds until the next round is due (a failure brings it in to the backoff, *failed set). */
static unsigned
portmap_run_upnp(struct portmap *pm, unsigned backoff_s, bool *failed)
{
	char why[200];
	uint64_t now = dp_now_ms();
	if (!portmap_upnp_found(pm->upnp)) {
		for (unsigned i = 0; i < pm->nmaps; i++)
			if (pm->maps[i].proto == PM_UPNP)
				portmap_set(pm, &pm->maps[i], PM_WORKING, 0, "looking for a UPnP "
				    "gateway (SSDP, %u ms)", pm->opt.discover_ms);
		if (portmap_upnp_discover(pm->upnp, pm->opt.discover_ms, pm->upnp_gw,
		    sizeof pm->upnp_gw, pm->upnp_ip, sizeof pm->upnp_ip, why, sizeof why) < 0) {
			portmap_fail_all(pm, PM_UPNP, now + backoff_s * 1000ull, why);
			*failed = true;
			return backoff_s;
		}
		portmap_set_external(pm, pm->upnp_ip);
	}
	unsigned next_s = PM_MAX_BACKOFF_S;
	for (unsigned i = 0; i < pm->nmaps; i++) {
		struct pm_map *m = &pm->maps[i];
		if (m->proto != PM_UPNP || portmap_stopping(pm))
			continue;
		portmap_set(pm, m, PM_WORKING, 0, "asking the UPnP gateway %s to map %s %u",
		    pm->upnp_gw, portmap_l4(m), pm->port);
		unsigned granted = 0;
		bool lost = false;
		if (portmap_upnp_add(pm->upnp, m->udp, pm->port, pm->opt.lease_s, &granted, &lost,
		    why, sizeof why) == 0) {
			unsigned renew = granted > 0 ? granted / 2 : PM_PERMANENT_RECHECK_S;
			pthread_mutex_lock(&pm->lock);
			m->mapped = true;
			pthread_mutex_unlock(&pm->lock);
			char lease[32] = "permanent lease";
			if (granted > 0)
				snprintf(lease, sizeof lease, "lease %u s", granted);
			portmap_set(pm, m, PM_MAPPED, dp_now_ms() + renew * 1000ull, "%s %u mapped "
			    "by the UPnP gateway %s as %s:%u (%s)", portmap_l4(m), pm->port,
			    pm->upnp_gw, pm->upnp_ip[0] != '\0' ? pm->upnp_ip : "?", pm->port, lease);
			next_s = DP_MIN(next_s, renew);
		} else {
			portmap_set(pm, m, PM_FAILED, dp_now_ms() + backoff_s * 1000ull, "%s", why);
			next_s = DP_MIN(next_s, backoff_s);
			*failed = true;
			if (lost) {
				/* the gateway went away: discover again next round */
				portmap_upnp_free(pm->upnp);
				pm->upnp = portmap_upnp_new();
			}
		}
	}
	return next_s;
}

static unsigned
portmap_run_natpmp(struct portmap *pm, unsigned backoff_s, bool *failed)
{
	unsigned next_s = PM_MAX_BACKOFF_S;
	for (unsigned i = 0; i < pm->nmaps; i++) {
		struct pm_map *m = &pm->maps[i];
		if (m->proto != PM_NATPMP || portmap_stopping(pm))
			continue;
		portmap_set(pm, m, PM_WORKING, 0, "asking the default gateway to map %s %u "
		    "(NAT-PMP)", portmap_l4(m), pm->port);
		char gw[64], ip[46], why[200];
		uint16_t ext = 0;
		unsigned granted = 0;
		if (portmap_natpmp_map(m->udp, pm->port, pm->opt.lease_s, pm->opt.natpmp_ms, &ext,
		    &granted, gw, sizeof gw, ip, sizeof ip, why, sizeof why) == 0) {
			portmap_set_external(pm, ip);
			unsigned renew = DP_MAX(granted / 2, 60u);
			pthread_mutex_lock(&pm->lock);
			m->mapped = true;
			pthread_mutex_unlock(&pm->lock);
			portmap_set(pm, m, PM_MAPPED, dp_now_ms() + renew * 1000ull, "%s %u mapped by "
			    "the NAT-PMP gateway %s as %s:%u (lifetime %u s)", portmap_l4(m),
			    pm->port, gw, ip[0] != '\0' ? ip : "?", ext, granted);
			next_s = DP_MIN(next_s, renew);
		} else {
			portmap_set(pm, m, PM_FAILED, dp_now_ms() + backoff_s * 1000ull, "%s", why);
			next_s = DP_MIN(next_s, backoff_s);
			*failed = true;
		}
	}
	return next_s;
}

/* At stop, or switched off: every mapping in place is removed from its gateway (bounded
 * waits); why says which. */
static void
portmap_unmap_all(struct portmap *pm, const char *why_stop)
{
	for (unsigned i = 0; i < pm->nmaps; i++) {
		struct pm_map *m = &pm->maps[i];
		pthread_mutex_lock(&pm->lock);
		bool mapped = m->mapped;
		pthread_mutex_unlock(&pm->lock);
		if (!mapped) {
			portmap_set(pm, m, PM_REMOVED, 0, "%s (nothing was mapped)", why_stop);
			continue;
		}
		char why[200] = "", gw[64], ip[46];
		uint16_t ext;
		unsigned granted;
		int rc = m->proto == PM_UPNP ?
		    portmap_upnp_delete(pm->upnp, m->udp, pm->port, why, sizeof why) :
		    portmap_natpmp_map(m->udp, pm->port, 0, PM_UNMAP_NATPMP_MS, &ext, &granted, gw,
		    sizeof gw, ip, sizeof ip, why, sizeof why);
		pthread_mutex_lock(&pm->lock);
		m->mapped = false;
		pthread_mutex_unlock(&pm->lock);
		if (rc == 0)
			portmap_set(pm, m, PM_REMOVED, 0, "%s %u removed from the %s gateway",
			    portmap_l4(m), pm->port, portmap_proto_names[m->proto]);
		else
			portmap_set(pm, m, PM_REMOVED, 0, "%s; the mapping stays until its lease "
			    "ends: %s", why_stop, why);
	}
}

static void
portmap_free_shared(struct portmap *pm)
{
	portmap_upnp_free(pm->upnp);
	pthread_cond_destroy(&pm->wake);
	pthread_cond_destroy(&pm->done);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

static void *
portmap_worker(void *arg)
{
	struct portmap *pm = arg;
	pthread_mutex_lock(&pm->lock);
	while (!pm->stop) {
		if (pm->disabled) {
			if (!pm->unmapped) {
				pthread_mutex_unlock(&pm->lock);
				portmap_unmap_all(pm, "switched off");
				pthread_mutex_lock(&pm->lock);
				pm->unmapped = true;
			} else {
				pthread_cond_wait(&pm->wake, &pm->lock);
			}
			continue;
		}
		uint64_t now = dp_now_ms(), next = UINT64_MAX;
		for (int p = 0; p < PM_PROTOS && !pm->stop; p++) {
			if (pm->due[p] <= now) {
				pthread_mutex_unlock(&pm->lock);
				unsigned backoff = pm->backoff_s[p];
				bool failed = false;
				unsigned in_s = p == PM_UPNP ? portmap_run_upnp(pm, backoff, &failed) :
				    portmap_run_natpmp(pm, backoff, &failed);
				pthread_mutex_lock(&pm->lock);
				/* a round with a failure backs off further next time */
				pm->backoff_s[p] = failed ? DP_MIN(backoff * 2, PM_MAX_BACKOFF_S) :
				    pm->opt.retry_s;
				pm->due[p] = dp_now_ms() + in_s * 1000ull;
			}
			next = DP_MIN(next, pm->due[p]);
		}
		if (pm->stop)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t wait_ms = next > dp_now_ms() ? next - dp_now_ms() : 0;
		ts.tv_sec += (time_t)(wait_ms / 1000);
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&pm->wake, &pm->lock, &ts);
	}
	bool unmapped = pm->unmapped;
	pthread_mutex_unlock(&pm->lock);

	if (!unmapped)
		portmap_unmap_all(pm, "stopped");

	pthread_mutex_lock(&pm->lock);
	pm->finished = true;
	pthread_cond_signal(&pm->done);
	bool orphaned = pm->orphaned;
	if (!orphaned)
		event_active(pm->ev, EV_READ, 1);
	pthread_mutex_unlock(&pm->lock);
	/* The loop gave up waiting and left the rest to us. */
	if (orphaned)
		portmap_free_shared(pm);
	return NULL;
}

/* ---- loop side ---- */

static void
portmap_task_new(struct portmap *pm, struct pm_map *m)
{
	if (m->task != NULL)
		return;
	m->task = task_new(DP_TASK_KIND_PORTMAP, 0, "portmap %s %s %u",
	    portmap_proto_names[m->proto], portmap_l4(m), pm->port);
	task_wait(m->task, DP_TASK_QUEUED, "waiting for the port mapping thread");
	m->ever_shown = false;
}

/* The worker's news: each changed mapping's task, a log line when its state changes. */
static void
portmap_report(struct portmap *pm)
{
	struct pm_map snap[PM_MAX_MAPS];
	bool changed[PM_MAX_MAPS];
	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < pm->nmaps; i++) {
		changed[i] = pm->maps[i].changed;
		pm->maps[i].changed = false;
		snap[i] = pm->maps[i];
	}
	snprintf(pm->status.external_ip, sizeof pm->status.external_ip, "%s", pm->external_ip);
	pthread_mutex_unlock(&pm->lock);

	uint64_t now = dp_now_ms();
	pm->status.mapped = 0;
	for (unsigned i = 0; i < pm->nmaps; i++) {
		struct pm_map *m = &pm->maps[i];
		const struct pm_map *s = &snap[i];
		if (s->state == PM_MAPPED)
			pm->status.mapped++;
		/* Switched off and on again before the removal was reported: the removal ended
		 * the old task, the new round gets a new one. */
		if (changed[i] && s->state != PM_REMOVED)
			portmap_task_new(pm, m);
		if (!changed[i] || m->task == NULL)
			continue;
		task_cb_begin(m->task);
		uint64_t in_s = s->until_ms > now ? (s->until_ms - now + 999) / 1000 : 0;
		switch (s->state) {
		case PM_WORKING:
			task_wait(m->task, DP_TASK_CONNECT_WAIT, "%s", s->reason);
			break;
		case PM_MAPPED:
			task_set_deadline(m->task, dp_now_us() + in_s * 1000000ull);
			task_idle(m->task, DP_TASK_TIMER_WAIT, "%s; renews in %llu s", s->reason,
			    (unsigned long long)in_s);
			break;
		case PM_FAILED:
			/* not idle: a mapping that keeps failing is worth seeing in the blocked view */
			task_set_deadline(m->task, dp_now_us() + in_s * 1000000ull);
			task_wait(m->task, DP_TASK_TIMER_WAIT, "%s; retry in %llu s", s->reason,
			    (unsigned long long)in_s);
			break;
		case PM_REMOVED:
			task_done(m->task, "%s", s->reason);
			break;
		}
		task_cb_end(m->task);
		if (!m->ever_shown || m->shown != s->state || s->state == PM_FAILED) {
			if (s->state == PM_MAPPED)
				log_info("port mapping: %s", s->reason);
			else if (s->state == PM_FAILED)
				log_warn("port mapping (%s %s %u): %s", portmap_proto_names[s->proto],
				    portmap_l4(s), pm->port, s->reason);
			else if (s->state == PM_REMOVED)
				log_info("port mapping (%s %s %u): %s", portmap_proto_names[s->proto],
				    portmap_l4(s), pm->port, s->reason);
		}
		m->shown = s->state;
		m->ever_shown = true;
		if (s->state == PM_REMOVED)
			task_release(&m->task);
	}
}

static void
portmap_report_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	portmap_report(arg);
}

/* A task for each mapping that has none (at start, and switched on again). */
static void
portmap_new_tasks(struct portmap *pm)
{
	for (unsigned i = 0; i < pm->nmaps; i++)
		portmap_task_new(pm, &pm->maps[i]);
}

struct portmap *
portmap_new(struct event_base *base, uint16_t port, bool udp, const struct portmap_options *opt)
{
	struct portmap *pm = xcalloc(1, sizeof *pm);
	pm->base = base;
	pm->port = port;
	if (opt != NULL)
		pm->opt = *opt;
	if (pm->opt.discover_ms == 0)
		pm->opt.discover_ms = 2000;
	if (pm->opt.natpmp_ms == 0)
		pm->opt.natpmp_ms = 6000;
	if (pm->opt.lease_s == 0)
		pm->opt.lease_s = 3600;
	if (pm->opt.retry_s == 0)
		pm->opt.retry_s = 300;
	pm->upnp = portmap_upnp_new();
	for (int p = 0; p < PM_PROTOS; p++) {
		pm->backoff_s[p] = pm->opt.retry_s;
		for (int u = 0; u < (udp ? 2 : 1); u++) {
			struct pm_map *m = &pm->maps[pm->nmaps++];
			m->proto = (enum pm_proto)p;
			m->udp = u == 1;
		}
	}
	portmap_new_tasks(pm);
	pm->status.total = pm->nmaps;
	pthread_mutex_init(&pm->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pm->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&pm->done, NULL);
	pm->ev = event_new(base, -1, 0, portmap_report_cb, pm);
	int e = pthread_create(&pm->thread, NULL, portmap_worker, pm);
	if (e != 0) {
		log_error("port mapping: cannot start its thread: %s", strerror(e));
		for (unsigned i = 0; i < pm->nmaps; i++) {
			task_fail(pm->maps[i].task, "no thread: %s", strerror(e));
			task_release(&pm->maps[i].task);
		}
	} else
		pm->started = true;
	log_info("port mapping: asking UPnP and NAT-PMP gateways to forward port %u (TCP%s)", port,
	    udp ? " and UDP" : "");
	return pm;
}

void
portmap_stop(struct portmap *pm)
{
	if (pm == NULL)
		return;
	pthread_mutex_lock(&pm->lock);
	pm->stop = true;
	pthread_cond_signal(&pm->wake);
	pthread_mutex_unlock(&pm->lock);
}

void
portmap_set_enabled(struct portmap *pm, bool on)
{
	if (pm == NULL || !pm->started)
		return;
	pthread_mutex_lock(&pm->lock);
	bool was_on = !pm->disabled;
	if (on && !was_on) {
		/* Mapped anew from the first round on: a gateway found before may be gone. */
		pm->disabled = false;
		pm->unmapped = false;
		for (int p = 0; p < PM_PROTOS; p++) {
			pm->due[p] = 0;
			pm->backoff_s[p] = pm->opt.retry_s;
		}
	} else if (!on && was_on) {
		pm->disabled = true;
	}
	pthread_cond_signal(&pm->wake);
	pthread_mutex_unlock(&pm->lock);
	if (on == was_on)
		return;
	if (on)
		portmap_new_tasks(pm);
	log_info("port mapping: switched %s (port %u)", on ? "on" : "off, removing the mappings",
	    pm->port);
}

void
portmap_free(struct portmap *pm)
{
	if (pm == NULL)
		return;
	portmap_stop(pm);
	bool finished = true;
	if (pm->started) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += PM_FREE_WAIT_MS / 1000;
		pthread_mutex_lock(&pm->lock);
		while (!pm->finished) {
			if (pthread_cond_timedwait(&pm->done, &pm->lock, &ts) == ETIMEDOUT)
				break;
		}
		finished = pm->finished;
		if (!finished)
			pm->orphaned = true;
		pthread_mutex_unlock(&pm->lock);
		if (finished)
			pthread_join(pm->thread, NULL);
		else
			pthread_detach(pm->thread);
	}
	if (finished)
		portmap_report(pm);     /* the last news: removed */
	for (unsigned i = 0; i < pm->nmaps; i++) {
		if (pm->maps[i].task == NULL)
			continue;
		task_fail(pm->maps[i].task, "the gateway was still busy at exit");
		task_release(&pm->maps[i].task);
	}
	event_free(pm->ev);
	if (!finished) {
		log_warn("port mapping: a gateway still had not answered after %u ms; left behind",
		    PM_FREE_WAIT_MS);
		return;                 /* the worker frees the rest */
	}
	portmap_free_shared(pm);
}

void
portmap_get_status(const struct portmap *pm, struct portmap_status *out)
{
	*out = pm->status;
}
