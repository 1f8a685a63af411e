/* engine_types.c: the names of the engine's shared values (events, torrent states, priorities)
 * for logs, the UI and the RPC. */
#include "config.h"

#include "engine_types.h"

static const char *const event_names[] = {
#define X(name, str) str,
	ENGINE_EVENTS(X)
#undef X
};
static const char *const state_names[] = {
#define X(name, str) str,
	ENGINE_TORRENT_STATES(X)
#undef X
};

const char *
engine_event_name(enum engine_event ev)
{
	return (unsigned)ev < ENGINE_EVENT_COUNT ? event_names[ev] : "?";
}

const char *
engine_torrent_state_name(enum engine_torrent_state s)
{
	return (unsigned)s < ENGINE_TORRENT_STATE_COUNT ? state_names[s] : "?";
}

const char *
engine_prio_name(enum engine_prio p)
{
	switch (p) {
	case ENGINE_PRIO_SKIP: return "skip";
	case ENGINE_PRIO_LOW: return "low";
	case ENGINE_PRIO_NORMAL: return "normal";
	case ENGINE_PRIO_HIGH: return "high";
	}
	return "?";
}
