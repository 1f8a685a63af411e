/* store_resync.c: the saves that make durable what the last exit left unsynced (resume files
 * marked with the boot id, trusted in this boot only), spread over the ticks after a start. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resume.h"
#include "session_store.h"
#include "store_private.h"
#include "util.h"

/* tests: saves per pass and ms between passes (0: STORE_RESYNC_BATCH, STORE_RESYNC_EVERY_MS) */
static unsigned store_resync_batch_set, store_resync_every_set;

void
session_store_resync_pace_for_tests(unsigned batch, unsigned every_ms)
{
	store_resync_batch_set = batch;
	store_resync_every_set = every_ms;
}

void
session_store_resync_counts(const void *store, size_t *pending, unsigned *passes,
    unsigned *most)
{
	const struct store *s = store;
	*pending = s->nresync - s->resync_next;
	*passes = s->resync_passes;
	*most = s->resync_most;
}

void
store_resync_add(struct store *s, struct store_item *it)
{
	if (!it->resync_waiting) {
		it->resync_waiting = true;
		s->resync_waiting++;
	}
	if (s->nresync == s->resync_cap && s->resync_next > 0) {
		/* the ones saved make room (one waiting for its check comes back each pass) */
		memmove(s->resync, s->resync + s->resync_next,
		    (s->nresync - s->resync_next) * sizeof *s->resync);
		s->nresync -= s->resync_next;
		s->resync_next = 0;
	}
	if (s->nresync == s->resync_cap) {
		s->resync_cap = s->resync_cap ? 2 * s->resync_cap : 64;
		s->resync = xreallocarray(s->resync, s->resync_cap, sizeof *s->resync);
	}
	s->resync[s->nresync++] = it->id;
}

/* A save of the torrent was written with its sync (every save since the load syncs its data
 * until one is written: its pieces are new to synced_have), or the torrent is gone: its file
 * no longer waits. */
void
store_resync_written(struct store *s, struct store_item *it)
{
	if (it->resync_waiting) {
		it->resync_waiting = false;
		s->resync_waiting--;
	}
}

/* Whether the torrent's pieces still wait for a synced save: its last save claimed them
 * without one (store_apply_resume leaves synced_have at UINT32_MAX until a save syncs). */
static bool
store_resync_wanted(const struct store_item *it)
{
	return it != NULL && !it->removed && it->synced_have == UINT32_MAX;
}

/* A pass starts at most every STORE_RESYNC_EVERY_MS, once the load is over: up to
 * STORE_RESYNC_BATCH saves, which the writer syncs together (one syncfs per filesystem for a
 * batch), handed on in slices of STORE_SLICE_US, one a tick, while the writer has nothing
 * queued (saves the user's changes cause go first). 10,000 torrents added (watch dir) just
 * before a stop came back all wanting this save: handed on as fast as the writer took them (64
 * queued at a time), they kept it busy through the first half minute after the start (the
 * daemon's CPU 2.7 % there, 0.2 % once done). Spread out, the same saves take about 2.5
 * minutes at a quarter of the rate. Until its save, a reboot costs a recheck of a torrent's
 * pieces, no more: the mark says so. A torrent being checked or moved waits for a later pass
 * (its own end saves it too).
 */
void
store_resync_pass(struct store *s, uint64_t now_ms)
{
	if (s->resync_next == s->nresync) {
		if (s->resync != NULL) {
			if (s->resync_saved > 0)
				log_info("session: %u torrent%s left unsynced by the last exit queued "
				    "for a save syncing their data, over %.1f s", s->resync_saved,
				    s->resync_saved == 1 ? "" : "s",
				    (double)(now_ms - s->resync_first_ms) / 1000.0);
			s->resync_saved = 0;
			free(s->resync);
			s->resync = NULL;
			s->nresync = s->resync_next = s->resync_cap = 0;
		}
		return;
	}
	unsigned batch = store_resync_batch_set > 0 ? store_resync_batch_set : STORE_RESYNC_BATCH;
	unsigned every = store_resync_every_set > 0 ? store_resync_every_set :
	    STORE_RESYNC_EVERY_MS;
	if (s->load_pending || s->shutting_down || resume_writer_pending(s->writer) > 0)
		return;
	if (s->resync_left == 0) {
		/* (ticks come a second apart, give or take a little) */
		if (now_ms - s->resync_ms + STORE_TICK_MS / 2 < every)
			return;
		if (s->resync_passes == 0)
			s->resync_first_ms = now_ms;
		s->resync_ms = now_ms;
		s->resync_left = batch;
		s->resync_passes++;
	}
	uint64_t until = dp_now_us() + STORE_SLICE_US;
	size_t look = s->nresync - s->resync_next;   /* each once per pass, requeued ones too */
	while (look-- > 0 && s->resync_next < s->nresync && s->resync_left > 0 &&
	    dp_now_us() < until) {
		int id = s->resync[s->resync_next++];
		struct store_item *it = store_find(s, id);
		struct engine_policy_torrent t;
		if (!store_resync_wanted(it) || engine_policy_torrent(s->e, id, 0, &t) < 0)
			continue;
		if (it->checking || it->moving || it->move_waiting ||
		    t.state == ENGINE_TORRENT_CHECKING) {
			store_resync_add(s, it);
			continue;
		}
		store_save(s, it);
		s->resync_left--;
		s->resync_in_pass++;
		s->resync_saved++;
		if (s->resync_in_pass > s->resync_most)
			s->resync_most = s->resync_in_pass;
	}
	if (s->resync_left == 0 || s->resync_next == s->nresync) {
		s->resync_left = 0;
		s->resync_in_pass = 0;
	}
	/* what the monitor shows changes with each slice, whoever runs the pass */
	store_task_reason(s);
}
