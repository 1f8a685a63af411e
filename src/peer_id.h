/* peer_id.h: our own peer id, and a readable client name from a remote peer id
 * (Azureus-style "-XX1234-", Shadow-style "S58B----", Mainline "M7-2-1--", aria2, hex). */
#ifndef DP_ENGINE_INTERNAL
#error "peer_id.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_PEER_ID_H
#define DP_PEER_ID_H

#include <stddef.h>
#include <stdint.h>

#define PEER_ID_LEN 20
/* Our Azureus-style prefix: "-DW" (in neither libtorrent's nor Transmission's client table;
 * "-DP" is Propagate Data Client's there), then major, minor, patch and a build tag ("0"), each one
 * character (0-9, A-Z for 10-35), then "-"; keep it in step with the package version. */
#define PEER_ID_PREFIX "-DW0100-"

/* PEER_ID_PREFIX followed by 12 random printable characters. */
void peer_id_generate(uint8_t out[PEER_ID_LEN]);
/* Writes e.g. "Transmission 3.00", "downpour 0.1.0", or the printable hex of an unknown id
 * into out (always NUL-terminated; 64 bytes are always enough). */
void peer_id_client_name(const uint8_t id[PEER_ID_LEN], char *out, size_t outlen);

#endif
