/* test_helpers.h: what the unit suites share: temporary directories, a single-file torrent,
 * engines listening on loopback, their events counted, and bounded runs of an event loop. */
#ifndef DP_TEST_HELPERS_H
#define DP_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <event2/event.h>

#include "engine.h"
#include "util.h"

/* Makes a new directory /tmp/dp-check-NAME.XXXXXX into dir; fails the test when it can't. */
void th_tmpdir_make(char *dir, size_t len, const char *name);

/* Removes dir and everything below it; 0 or -1 as nftw(3) says. */
int th_rm_rf(const char *dir);

/* Creates dir if it is missing and writes data to dir/name; fails the test on an error. */
void th_file_write(const char *dir, const char *name, const void *data, size_t len);

/* Whether the process maps a file whose path contains name (/proc/self/maps; a deleted one
 * still mapped shows as "name (deleted)"). */
bool th_mapped(const char *name);

/* Writes len pseudo-random bytes (the same for the same seed) to dir/rel, creating the folders
 * rel names; fails the test on an error. */
void th_file_random(const char *dir, const char *rel, size_t len, unsigned seed);

/* A single-file torrent NAME of data (size bytes, the last piece may be short), no trackers.
 * Returns the bencoded bytes (caller frees) and their length in *len. */
uint8_t *th_torrent_single(const char *name, const uint8_t *data, uint32_t size,
    uint32_t piece_len, size_t *len);

/* The defaults with th_engine_loopback's changes, for a test that changes more (config_free). */
struct dp_config;
void th_config_loopback(struct dp_config *cfg, const char *dir, int disk_threads);
/* An engine on base listening on 127.0.0.1 (a port the kernel picks), saving into dir, with
 * disk_threads disk workers. Fails the test when engine_new does. */
struct engine *th_engine_loopback(struct event_base *base, const char *dir, int disk_threads);
/* How many torrents e lists. */
size_t th_torrent_count(struct engine *e);

/* Writes "127.0.0.1:PORT" of e's listener into out. */
void th_engine_addr(struct engine *e, char *out, size_t len);

/* Engine events counted by th_events_cb; with base set, each event also breaks the loop so
 * that RUN_UNTIL looks at its condition at once. */
struct th_events {
	struct event_base *base;
	int completed, errors, checked, metadata;
};
void th_events_cb(struct engine *e, int id, enum engine_event ev, void *arg);

/* Runs base's loop for about ms milliseconds. */
void th_loop_run(struct event_base *base, unsigned ms);

/* Counts the turns of a loop (a zero timeout that re-arms itself: EV_PERSIST does not repeat a
 * zero timeout), so a test can tell that work in slices let the loop turn between them. */
struct th_turns {
	struct event *ev;
	uint64_t n;
};
void th_turns_start(struct th_turns *t, struct event_base *base);
void th_turns_stop(struct th_turns *t);

/* Big-endian 32-bit fields of the wire formats the tests speak (BEP 15 and the like). */
uint32_t th_be32(const uint8_t *p);
void th_put_be32(uint8_t *p, uint32_t v);
/* The live (unfinished) tracker task of a torrent, or NULL. */
struct dp_task;
const struct dp_task *th_tracker_task(int torrent_id);

/* Runs the loop in steps of 50 ms until cond holds or seconds pass. */
#define RUN_UNTIL(base, cond, seconds)                                                  \
	do {                                                                            \
		uint64_t deadline_ = dp_now_ms() + (seconds) * 1000u;                    \
		while (!(cond) && dp_now_ms() < deadline_)                              \
			th_loop_run((base), 50);                                        \
	} while (0)

#endif
