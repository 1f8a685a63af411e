/* demo.h: `downpour --demo`: a payload and torrent in a temporary directory, a local seeder
 * (a second downpour process) and a silent peer, so the UI shows a swarm without any network. */
#ifndef DP_UI_DEMO_H
#define DP_UI_DEMO_H

#include <stddef.h>

struct demo;
struct engine;
struct dp_config;

/* Makes the temp dir, payload and torrent, starts the seeder; points cfg at temp download and
 * session directories. NULL with err on failure (everything made so far is cleaned up). */
struct demo *demo_prepare(const char *self, struct dp_config *cfg, char *err, size_t errlen);
/* Adds the torrent to the engine and connects it to the seeder and the silent peer. */
int demo_start(struct demo *d, struct engine *e, char *err, size_t errlen);
/* Stops the seeder by its PID and removes the temp dir. NULL is fine. */
void demo_cleanup(struct demo *d);

#endif
