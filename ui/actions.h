/* actions.h: the commands the user gives on torrents and on the session, shared by the list and
 * the detail screen and the frame: start, stop, remove (after a question), recheck, reannounce,
 * sequential, queue moves, rate limits, connect to a peer (actions.c). */
#ifndef DP_UI_ACTIONS_H
#define DP_UI_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keymap.h"

struct ui;

/* Runs (or asks for, then runs) a torrent command on the torrents ids; false when a is not one. */
bool actions_torrent(struct ui *ui, enum ui_action a, const int *ids, size_t n);
/* Stops or starts every torrent (UI_ACTION_PAUSE_ALL, UI_ACTION_RESUME_ALL); stopping more
 * than one asks first. False when a is neither. */
bool actions_all(struct ui *ui, enum ui_action a);
/* Asks for the global rate limits and sets them. */
void actions_global_limits(struct ui *ui);
/* Switches the alternative limits ("turtle mode") over, as the RPC's alt-speed-enabled. */
void actions_alt_speed(struct ui *ui);
/* Reads "DOWN [UP]" rate limits ("1.5M 500K"; decimals; one value sets the download limit and
 * leaves *up as the caller set it; 0 = unlimited). */
bool actions_parse_limits(const char *text, uint64_t *down, uint64_t *up);

#endif
