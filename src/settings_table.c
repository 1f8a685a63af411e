/* settings_table.c: the table of every setting (after tmux's options-table.c): type, range,
 * default, help line, field and how a change applies; lookups and the printed reference. */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "dp_config.h"
#include "settings_table.h"
#include "util.h"

#define S(g, n, t, field, lo, hi, d, how, fl, h) \
	{ g, n, t, offsetof(struct dp_config, field), lo, hi, d, SETTING_APPLY_##how, fl, h, NULL }
/* One of the names in list (stored as its index). */
#define SC(g, n, field, list, d, how, fl, h) \
	{ g, n, SETTING_CHOICE, offsetof(struct dp_config, field), 0, 0, d, SETTING_APPLY_##how, \
	  fl, h, list }

const char *const dp_encryption_names[] = {
#define X(name, str) str,
	DP_ENCRYPTIONS(X)
#undef X
	NULL
};

/*
 * A value that a client switches on and off separately (Transmission's speed-limit-down and
 * speed-limit-down-enabled) is two keys: the value, where 0 still means "none" as it always
 * did, and NAME_enabled (default true), which keeps the value while it is switched off.
 */
const struct setting_def settings_table[] = {
	/* paths */
	S(NULL, "download_dir", SETTING_PATH, download_dir, 0, 0, "~/Downloads", DOWNLOAD_DIR,
	    SETTING_REMOTE, "Where new torrents are downloaded."),
	S(NULL, "session_dir", SETTING_PATH, session_dir, 0, 0, NULL, RESTART, 0,
	    "Resume files, settings.conf and the lock file. "
	    "Default: $XDG_DATA_HOME/downpour (~/.local/share/downpour)."),
	S(NULL, "watch_dir", SETTING_OPT_PATH, watch_dir, 0, 0, "", STORE, 0,
	    ".torrent files dropped here are added automatically; \"\" = no watch directory."),
	S(NULL, "completed_dir", SETTING_OPT_PATH, completed_dir, 0, 0, "", STORE, 0,
	    "Finished downloads are moved here; \"\" = they stay in download_dir."),

	/* network */
	S(NULL, "listen_port", SETTING_INT, listen_port, 0, 65535, "51413", RESTART, 0,
	    "TCP port for incoming peer connections (0 lets the system pick one)."),
	S(NULL, "listen_address", SETTING_ADDR, listen_address, 0, 0, "0.0.0.0", RESTART, 0,
	    "Numeric IPv4 or IPv6 address to listen on (\"0.0.0.0\" = every IPv4 address, "
	    "\"::\" = every IPv6 address and no IPv4); see listen_ipv6."),
	S(NULL, "listen_ipv6", SETTING_BOOL, listen_ipv6, 0, 0, "true", RESTART, 0,
	    "With an IPv4 listen_address, listen on the same port over IPv6 too: on every IPv6 "
	    "address for \"0.0.0.0\", on ::1 for a 127.x address, nowhere for another address. "
	    "false: IPv4 only."),
	S(NULL, "max_connections_global", SETTING_INT, max_connections_global, 1, 65535, "500",
	    PEERS, SETTING_REMOTE, "Peer connections in total, all torrents together."),
	S(NULL, "max_connections_per_torrent", SETTING_INT, max_connections_per_torrent, 1, 65535,
	    "80", PEERS, SETTING_REMOTE,
	    "Peer connections per torrent (at most max_connections_global)."),
	S(NULL, "max_peers_per_address", SETTING_INT, max_peers_per_address, 1, 65535, "2", PEERS,
	    SETTING_REMOTE, "Connections of one torrent to one IP address (IPv6: one /64), so one "
	    "host cannot take every slot; tests with several peers on 127.0.0.1 raise it."),
	S(NULL, "upload_slots", SETTING_INT, upload_slots, 1, 1000, "8", PEERS, SETTING_REMOTE,
	    "Peers unchoked (uploaded to) at once per torrent."),
	S(NULL, "download_rate_limit", SETTING_SIZE, download_rate_limit, 0, INT64_MAX, "0", RATES,
	    SETTING_REMOTE, "Download limit in bytes per second, 0 = unlimited."),
	S(NULL, "download_rate_limit_enabled", SETTING_BOOL, download_rate_limit_enabled, 0, 0,
	    "true", RATES, SETTING_REMOTE,
	    "false keeps download_rate_limit but does not apply it."),
	S(NULL, "upload_rate_limit", SETTING_SIZE, upload_rate_limit, 0, INT64_MAX, "0", RATES,
	    SETTING_REMOTE, "Upload limit in bytes per second, 0 = unlimited."),
	S(NULL, "upload_rate_limit_enabled", SETTING_BOOL, upload_rate_limit_enabled, 0, 0, "true",
	    RATES, SETTING_REMOTE, "false keeps upload_rate_limit but does not apply it."),
	S(NULL, "alt_speed_down", SETTING_SIZE, alt_speed_down, 0, INT64_MAX, "50K", RATES,
	    SETTING_REMOTE, "Alternative download limit (\"turtle mode\") in bytes per second, "
	    "0 = unlimited."),
	S(NULL, "alt_speed_up", SETTING_SIZE, alt_speed_up, 0, INT64_MAX, "50K", RATES,
	    SETTING_REMOTE, "Alternative upload limit in bytes per second, 0 = unlimited."),
	S(NULL, "alt_speed_enabled", SETTING_BOOL, alt_speed_enabled, 0, 0, "false", RATES,
	    SETTING_REMOTE, "true: the alternative limits replace the normal ones."),
	S(NULL, "alt_speed_time_begin", SETTING_INT, alt_speed_time_begin, 0, 1439, "540",
	    ALT_SCHEDULE, SETTING_REMOTE,
	    "When the schedule switches them on: minutes after midnight (local)."),
	S(NULL, "alt_speed_time_end", SETTING_INT, alt_speed_time_end, 0, 1439, "1020",
	    ALT_SCHEDULE, SETTING_REMOTE, "When the schedule switches them off: minutes after "
	    "midnight (local); not after begin: the next day (equal: a whole day)."),
	S(NULL, "alt_speed_time_day", SETTING_INT, alt_speed_time_day, 0, 127, "127",
	    ALT_SCHEDULE, SETTING_REMOTE, "The schedule's days: 1 Sunday, 2 Monday, 4 Tuesday, "
	    "... 64 Saturday; 127 every day."),
	S(NULL, "alt_speed_time_enabled", SETTING_BOOL, alt_speed_time_enabled, 0, 0, "false",
	    ALT_SCHEDULE, SETTING_REMOTE, "Switch the alternative limits on and off on a schedule."),
	S(NULL, "port_mapping", SETTING_BOOL, port_mapping, 0, 0, "false", PORTMAP, SETTING_REMOTE,
	    "Ask the home router to forward listen_port (TCP and UDP) with UPnP IGD and NAT-PMP, "
	    "renewing the mappings and removing them at exit or when switched off (IPv4 only)."),
	SC(NULL, "encryption", encryption, dp_encryption_names, "preferred", TRANSPORT,
	    SETTING_REMOTE, "Peer encryption (MSE/PE, RC4): \"required\" refuses plaintext both "
	    "ways, \"preferred\" tries encrypted first and accepts both, \"tolerated\" tries "
	    "plaintext first and accepts both."),
	S(NULL, "utp", SETTING_BOOL, utp, 0, 0, "true", TRANSPORT, SETTING_REMOTE,
	    "uTP (BEP 29) connections on the listening port's UDP number, beside TCP."),
	S(NULL, "dht", SETTING_BOOL, dht, 0, 0, "true", RESTART, 0,
	    "The Mainline DHT (BEP 5): find and announce peers of public torrents without a "
	    "tracker, on the UDP port of listen_port. Never for private torrents."),
	S(NULL, "dht_bootstrap", SETTING_STRLIST, dht_bootstrap, 0, 0, "", RESTART, 0,
	    "DHT nodes to join through, HOST:PORT or [IPv6]:PORT; [] = the built-in list "
	    "(router.bittorrent.com:6881 and others). --dht-bootstrap replaces it."),
	S(NULL, "lsd", SETTING_BOOL, lsd, 0, 0, "true", RESTART, 0,
	    "Local service discovery (BEP 14): announce public torrents by multicast on the local "
	    "network and find peers there (off while listen_address is a loopback address)."),
	S(NULL, "upnp", SETTING_BOOL, upnp, 0, 0, "false", RESTART, 0,
	    "Not read: the key is kept for old files; port_mapping switches UPnP and NAT-PMP on."),
	S(NULL, "pex", SETTING_BOOL, pex, 0, 0, "true", PEERS, SETTING_REMOTE,
	    "Peer exchange (BEP 11, ut_pex) with the peers of public torrents: learn peers from them "
	    "(50 a message at most, 200 from one peer) and tell them ours. Never for private ones."),
	S(NULL, "blocklist", SETTING_BOOL, blocklist_enabled, 0, 0, "false", BLOCKLIST,
	    SETTING_REMOTE, "Refuse connections to and from the IPv4 ranges of blocklist_file "
	    "(P2P 'name:1.2.3.4-1.2.3.255', DAT '1.2.3.4 - 1.2.3.255 , 000 , name' or CIDR lines)."),
	S(NULL, "blocklist_file", SETTING_OPT_PATH, blocklist_file, 0, 0, "", BLOCKLIST, 0,
	    "The blocklist read at start and kept by blocklist-update; \"\" = SESSION/blocklist. "
	    "Not compressed (no gzip)."),
	S(NULL, "blocklist_url", SETTING_OPT_STR, blocklist_url, 0, 0, "", BLOCKLIST, SETTING_REMOTE,
	    "An http:// URL the RPC's blocklist-update downloads into blocklist_file; \"\" = none."),

	/* disk */
	S(NULL, "disk_threads", SETTING_INT, disk_threads, 0, 256, "0", RESTART, 0,
	    "Threads that write, read and hash pieces (0 = one per CPU)."),
	S(NULL, "disk_write_queue_bytes", SETTING_SIZE, disk_write_queue_bytes, 1 << 20,
	    (int64_t)1 << 40, "64M", RESTART, 0,
	    "Bytes of pieces waiting to be written before peers are slowed down."),
	S(NULL, "open_files", SETTING_INT, open_files, 4, 65536, "128", RESTART, 0,
	    "Files kept open at once across all torrents."),

	/* queueing and seeding */
	S(NULL, "max_active_downloads", SETTING_INT, max_active_downloads, 0, 100000, "5", STORE,
	    SETTING_REMOTE, "Torrents downloading at the same time; the rest wait queued "
	    "(0 = unlimited)."),
	S(NULL, "max_active_downloads_enabled", SETTING_BOOL, max_active_downloads_enabled, 0, 0,
	    "true", STORE, SETTING_REMOTE,
	    "false keeps max_active_downloads but does not apply it."),
	S(NULL, "max_active_seeds", SETTING_INT, max_active_seeds, 0, 100000, "10", STORE,
	    SETTING_REMOTE, "Torrents seeding at the same time; the rest wait queued "
	    "(0 = unlimited)."),
	S(NULL, "max_active_seeds_enabled", SETTING_BOOL, max_active_seeds_enabled, 0, 0, "false",
	    STORE, SETTING_REMOTE, "false keeps max_active_seeds but does not apply it (the "
	    "default: a seed nobody asks for costs nothing, so a seedbox seeds everything)."),
	S(NULL, "seed_ratio_limit", SETTING_FLOAT, seed_ratio_limit, 0, 1000000, "0", STORE,
	    SETTING_REMOTE, "Stop seeding at this upload/download ratio (0 = seed forever)."),
	S(NULL, "seed_ratio_limit_enabled", SETTING_BOOL, seed_ratio_limit_enabled, 0, 0, "true",
	    STORE, SETTING_REMOTE, "false keeps seed_ratio_limit but does not apply it."),
	S(NULL, "seed_time_limit", SETTING_INT64, seed_time_limit, 0, INT64_C(1) << 40, "0", STORE,
	    SETTING_REMOTE, "Stop seeding after this many seconds (0 = no limit)."),
	S(NULL, "seed_idle_limit", SETTING_INT, seed_idle_limit, 1, 65535, "30", SEED_IDLE,
	    SETTING_REMOTE, "Stop seeding a torrent that uploaded nothing for this many minutes "
	    "(Transmission's idle seeding limit; a torrent may have its own)."),
	S(NULL, "seed_idle_limit_enabled", SETTING_BOOL, seed_idle_limit_enabled, 0, 0, "false",
	    SEED_IDLE, SETTING_REMOTE, "false keeps seed_idle_limit but does not apply it."),
	S(NULL, "start_paused", SETTING_BOOL, start_paused, 0, 0, "false", STORE, SETTING_REMOTE,
	    "Torrents added from watch_dir or the RPC start paused."),

	/* hooks: never REMOTE, a client must not choose what we run */
	S(NULL, "completion_hook", SETTING_OPT_STR, completion_hook, 0, 0, "", STORE, 0,
	    "A command run when a torrent finishes downloading; \"\" = none."),
	S(NULL, "error_hook", SETTING_OPT_STR, error_hook, 0, 0, "", STORE, 0,
	    "A command run when a torrent fails with an error; \"\" = none."),
	S(NULL, "hook_shell", SETTING_BOOL, hook_shell, 0, 0, "false", STORE, 0,
	    "Run the hooks through /bin/sh -c (lets you write a pipeline; beware of quoting)."),
	S(NULL, "hook_timeout", SETTING_INT, hook_timeout, 1, 86400, "300", STORE, 0,
	    "Seconds before a hook that is still running is killed."),

	/* logging */
	S(NULL, "log_file", SETTING_OPT_PATH, log_file, 0, 0, "", RESTART, 0,
	    "Log file (written in daemon mode; reopened on SIGHUP); \"\" = none."),
	S(NULL, "log_level", SETTING_LEVEL, log_level, 0, 0, "info", PROGRAM, 0,
	    "error, warn, info or debug."),

	/* remote control */
	S(NULL, "monitor_max_clients", SETTING_INT, monitor_max_clients, 0, 65536, "0", RESTART, 0,
	    "Clients of the monitor socket, and of the attach socket, at most each; past it the one "
	    "idle longest (attach: not yet greeted) is closed. 0 = an eighth of the descriptor "
	    "limit, 16 to 64."),
	S("rpc", "enabled", SETTING_BOOL, rpc.enabled, 0, 0, "false", RESTART, 0,
	    "Serve the Transmission-compatible RPC: the daemon, and the terminal UI with its own "
	    "engine (so Sonarr/Radarr reach a downpour run in tmux; session-close is refused "
	    "there: q quits)."),
	S("rpc", "bind", SETTING_ADDR, rpc.bind, 0, 0, "127.0.0.1", RESTART, 0,
	    "Numeric address to listen on. A non-loopback address needs a username and password."),
	S("rpc", "port", SETTING_INT, rpc.port, 1, 65535, "9091", RESTART, 0,
	    "TCP port of the RPC server."),
	S("rpc", "username", SETTING_STR, rpc.username, 0, 0, "", RESTART, 0,
	    "Basic authentication; \"\" = none (allowed on a loopback address only)."),
	S("rpc", "password", SETTING_STR, rpc.password, 0, 0, "", RESTART, SETTING_SECRET,
	    "The password that goes with username."),
	S("rpc", "authentication", SETTING_BOOL, rpc.authentication, 0, 0, "true", RESTART, 0,
	    "With no username: true uses SESSION/rpc-credentials (user 'downpour', a random "
	    "password made once, mode 0600); false serves every local user (warned at each start)."),
	S("rpc", "host_whitelist", SETTING_STRLIST, rpc.host_whitelist, 0, 0,
	    "localhost,127.0.0.1,::1", RESTART, 0,
	    "Accepted Host: headers (protects against DNS rebinding)."),
	S("rpc", "allowed_dirs", SETTING_STRLIST, rpc.allowed_dirs, 0, 0, "", RESTART, 0,
	    "Directories beside download_dir, completed_dir and watch_dir under which RPC clients "
	    "may name paths (download-dir, a .torrent's filename, free-space); others are refused."),
	S("rpc", "max_connections", SETTING_INT, rpc.max_connections, 0, 65536, "0", RESTART, 0,
	    "Open RPC connections at most; past it the one waiting longest for a request is closed. "
	    "0 = an eighth of the descriptor limit, 16 to 512."),
	S("rpc", "request_timeout", SETTING_INT, rpc.request_timeout, 1, 3600, "60", RESTART, 0,
	    "Seconds an RPC connection has to send a whole request (headers and body) once it is "
	    "open or answered; slower ones are closed."),
	S("rpc", "web_root", SETTING_OPT_PATH, rpc.web_root, 0, 0, "", RESTART, 0,
	    "The web client served at /transmission/web/; \"\" = Transmission's own as installed "
	    "(/usr/share/transmission/public_html or /usr/share/transmission/web)."),

	/* terminal interface */
	S("ui", "refresh_ms", SETTING_INT, ui.refresh_ms, 50, 60000, "1000", PROGRAM, 0,
	    "Redraw interval in milliseconds; input redraws at once."),
	S("ui", "blocked_threshold_s", SETTING_INT, ui.blocked_threshold_s, 1, 86400, "5", PROGRAM,
	    0, "Tasks waiting longer than this many seconds are listed in the blocked view."),
	S("ui", "ascii", SETTING_BOOL, ui.ascii, 0, 0, "false", PROGRAM, 0,
	    "Draw with ASCII characters only (for terminals without Unicode line drawing)."),
	S("ui", "colors", SETTING_BOOL, ui.colors, 0, 0, "true", PROGRAM, 0,
	    "Use colours when the terminal has them."),
	S("ui", "list_columns", SETTING_STR, ui.list_columns, 0, 0,
	    "num,name,state,progress,size,done,down,up,ratio,eta,peers,seeds,queue,tracker",
	    PROGRAM, 0,
	    "The torrent list's columns, in order, separated by commas (the default "
	    "lists every one; name is required). The C key's chooser changes them and keeps its "
	    "choice in $XDG_STATE_HOME/downpour/ui-columns until this value changes."),
	S("ui", "peers_columns", SETTING_STR, ui.peers_columns, 0, 0,
	    "address,client,via,flags,have,down,up,requests,connected", PROGRAM, 0,
	    "The detail's peers tab columns, in order, separated by commas (the default "
	    "lists every one; address is required). The C key's chooser changes them and keeps its "
	    "choice in $XDG_STATE_HOME/downpour/ui-columns until this value changes."),
	S("ui", "trackers_columns", SETTING_STR, ui.trackers_columns, 0, 0,
	    "url,tier,status,last,next,peers,seeds,leechers,error", PROGRAM, 0,
	    "The detail's trackers tab columns, in order, separated by commas (the default "
	    "lists every one; url is required). The C key's chooser changes them and keeps its "
	    "choice in $XDG_STATE_HOME/downpour/ui-columns until this value changes."),
	S("ui", "files_columns", SETTING_STR, ui.files_columns, 0, 0,
	    "name,size,progress,priority", PROGRAM, 0,
	    "The detail's files tab columns, in order, separated by commas (the default "
	    "lists every one; name is required). The C key's chooser changes them and keeps its "
	    "choice in $XDG_STATE_HOME/downpour/ui-columns until this value changes."),
	S("ui", "tasks_columns", SETTING_STR, ui.tasks_columns, 0, 0,
	    "id,kind,state,waited,cycles,cpu,deadline,name,torrent", PROGRAM, 0,
	    "The task monitor's columns, in order, separated by commas (the default "
	    "lists every one; name is required). The C key's chooser changes them and keeps its "
	    "choice in $XDG_STATE_HOME/downpour/ui-columns until this value changes."),
};

const size_t settings_table_count = DP_ARRAY_LEN(settings_table);

const char *const settings_table_groups[] = { "rpc", "ui", "keys" };
const size_t settings_table_group_count = DP_ARRAY_LEN(settings_table_groups);

const struct setting_def *
settings_table_find(const char *group, const char *name)
{
	for (size_t i = 0; i < settings_table_count; i++) {
		const struct setting_def *d = &settings_table[i];
		if (strcmp(d->name, name) != 0 || (group == NULL) != (d->group == NULL))
			continue;
		if (group == NULL || strcmp(group, d->group) == 0)
			return d;
	}
	return NULL;
}

const struct setting_def *
settings_table_lookup(const char *full_name)
{
	const char *dot = strchr(full_name, '.');
	if (dot == NULL)
		return settings_table_find(NULL, full_name);
	char group[16];
	size_t glen = (size_t)(dot - full_name);
	if (glen >= sizeof group)
		return NULL;
	memcpy(group, full_name, glen);
	group[glen] = '\0';
	return settings_table_find(group, dot + 1);
}

void
settings_table_full_name(const struct setting_def *d, char *out, size_t outlen)
{
	if (d->group != NULL)
		snprintf(out, outlen, "%s.%s", d->group, d->name);
	else
		snprintf(out, outlen, "%s", d->name);
}

bool
settings_table_is_live(const struct setting_def *d)
{
	return d->apply != SETTING_APPLY_RESTART;
}

static const char *
settings_table_type_name(enum setting_type t)
{
	switch (t) {
	case SETTING_PATH: return "path";
	case SETTING_OPT_PATH: return "path or \"\"";
	case SETTING_STR: return "string";
	case SETTING_OPT_STR: return "string or \"\"";
	case SETTING_ADDR: return "numeric address";
	case SETTING_INT:
	case SETTING_INT64: return "integer";
	case SETTING_SIZE: return "size";
	case SETTING_BOOL: return "true or false";
	case SETTING_FLOAT: return "number";
	case SETTING_LEVEL: return "log level";
	case SETTING_STRLIST: return "list of strings";
	case SETTING_CHOICE: return "one of";
	}
	return "?";
}

static const char *
settings_table_when(const struct setting_def *d)
{
	switch (d->apply) {
	case SETTING_APPLY_RESTART: return "at the next start";
	case SETTING_APPLY_PROGRAM: return "read by the daemon or the interface";
	default: return d->flags & SETTING_REMOTE ? "at once, on SIGHUP and by the RPC" :
	    "at once, on SIGHUP";
	}
}

void
settings_table_print(FILE *f)
{
	for (size_t i = 0; i < settings_table_count; i++) {
		const struct setting_def *d = &settings_table[i];
		char full[64];
		settings_table_full_name(d, full, sizeof full);
		fprintf(f, "%s (%s", full, settings_table_type_name(d->type));
		if (d->type == SETTING_INT || d->type == SETTING_INT64 || d->type == SETTING_SIZE ||
		    d->type == SETTING_FLOAT)
			fprintf(f, d->max == INT64_MAX ? " %" PRId64 ".." : " %" PRId64 "..%" PRId64,
			    d->min, d->max);
		for (size_t c = 0; d->type == SETTING_CHOICE && d->choices[c] != NULL; c++)
			fprintf(f, "%s%s", c > 0 ? ", " : " ", d->choices[c]);
		fprintf(f, "), default %s%s%s; applies %s\n", d->def != NULL ? "\"" : "",
		    d->def != NULL ? d->def : "computed", d->def != NULL ? "\"" : "",
		    settings_table_when(d));
		fprintf(f, "    %s\n", d->help);
	}
	fputs("keys.ACTION (string): rebinds a TUI action; its help screen lists the actions\n", f);
}
