/* session_settings.h: the settings a session runs with (the session keeps them; torrents and
 * peers read the ones they need through what the session lends them). Data only. */
#ifndef DP_ENGINE_INTERNAL
#error "session_settings.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_SESSION_SETTINGS_H
#define DP_SESSION_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

struct session_settings {
	char download_dir[1024];
	int listen_port;              /* 0: an ephemeral port; -1: do not listen */
	bool listen_ipv6;
	int max_connections;          /* all torrents */
	int max_peers_per_torrent;
	int max_peers_per_address;    /* per torrent; IPv6 addresses count by /64 */
	int upload_slots;             /* per torrent */
	bool pex;                     /* BEP 11 for public torrents: new handshakes and messages */
	uint64_t down_limit, up_limit;/* bytes/s, 0 unlimited */
	int disk_threads;
	uint64_t disk_write_bound;    /* pending write bytes before peers stop reading */
	int max_open_files;
	int piece_cache;              /* pieces kept in each torrent's read cache */
	int numwant;
	int encryption;               /* enum dp_encryption (dp_config.h) */
	bool utp;
	int seed_idle_minutes;        /* the idle seeding limit of torrents in mode GLOBAL ... */
	bool seed_idle_enabled;       /* ... when on; also a new torrent's own limit */
};

#endif
