/* dp_config.h: the configuration file (libconfig): one struct with every setting (described by
 * settings_table.c: type, range, default, help), loading with errors that name file and line,
 * validation, copying, and printing the effective values.
 * (Not called config.h: that name belongs to autoconf's generated header.) */
#ifndef DP_DP_CONFIG_H
#define DP_DP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

/* Fixed, not a configuration key: "-DW0100-" for downpour 0.1.0 (Azureus style). */
#define DP_PEER_ID_PREFIX "-DW0100-"

/* One `action = "key";` line of the keys group; the UI validates the values. */
struct dp_config_key {
	char *action;
	char *key;
	char *file;                     /* where it was set, for messages; NULL: --set */
	unsigned line;
};

/*
 * Every setting; settings_table.c says each one's type, range, default and help. Strings are owned by the struct (config_free); optional paths and hooks are
 * NULL when unset. Paths are absolute after loading ("~/" is expanded). Sizes and rates are
 * bytes (per second), 0 meaning unlimited where said.
 */
/* encryption = ...: one list gives the enum, the names the settings table takes (and the RPC's
 * "encryption" field, whose values are Transmission's) and the order the engine reads them in. */
#define DP_ENCRYPTIONS(X)                                                       \
	X(TOLERATED, "tolerated")     /* plaintext first; encrypted accepted */ \
	X(PREFERRED, "preferred")     /* encrypted first; plaintext accepted */ \
	X(REQUIRED, "required")       /* encrypted only, both ways */

enum dp_encryption {
#define X(name, str) DP_ENCRYPTION_##name,
	DP_ENCRYPTIONS(X)
#undef X
	DP_ENCRYPTION_COUNT
};
/* The names in enum order, NULL-terminated (a SETTING_CHOICE list). */
extern const char *const dp_encryption_names[];

struct dp_config {
	/* paths */
	char *download_dir;             /* where new torrents are saved */
	char *session_dir;              /* resume files, lock file */
	char *watch_dir;                /* NULL: no watch dir */
	char *completed_dir;            /* NULL: finished downloads stay in download_dir */

	/* network */
	int listen_port;                /* 0..65535; 0 lets the system choose */
	char *listen_address;           /* numeric IPv4 or IPv6 address */
	bool listen_ipv6;               /* an IPv4 listen_address: the same port on IPv6 too */
	int max_connections_global;
	int max_connections_per_torrent;
	int max_peers_per_address;      /* connections of one torrent to one IP (IPv6: one /64) */
	int upload_slots;               /* unchoked peers per torrent */
	uint64_t download_rate_limit;   /* bytes/s, 0 = unlimited */
	bool download_rate_limit_enabled;  /* false: kept, not applied (RPC's on/off switch) */
	uint64_t upload_rate_limit;     /* bytes/s, 0 = unlimited */
	bool upload_rate_limit_enabled;
	/* alternative limits ("turtle mode"): while on they replace the two above; the schedule
	 * switches them on at begin and off at end (minutes of the day) on the days of the mask
	 * (bit 0 Sunday ... bit 6 Saturday), as Transmission's alt-speed-time-* do */
	uint64_t alt_speed_down, alt_speed_up;   /* bytes/s, 0 = unlimited */
	bool alt_speed_enabled;
	bool alt_speed_time_enabled;
	int alt_speed_time_begin, alt_speed_time_end;
	int alt_speed_time_day;
	const char *peer_id_prefix;     /* always DP_PEER_ID_PREFIX */
	bool dht, lsd;                  /* BEP 5 DHT, BEP 14 local service discovery */
	char **dht_bootstrap;           /* HOST:PORT entries; none: the built-in list */
	size_t dht_bootstrap_count;
	bool upnp;                      /* not read: port_mapping switches UPnP on */
	bool pex;                       /* BEP 11 peer exchange for public torrents */
	bool port_mapping;              /* UPnP IGD and NAT-PMP for the listening port */
	int encryption;                 /* enum dp_encryption */
	bool utp;                       /* uTP (BEP 29) beside TCP */

	/* disk */
	int disk_threads;               /* 0 = one per CPU */
	uint64_t disk_write_queue_bytes;
	int open_files;

	/* queueing and seeding */
	int max_active_downloads;       /* 0 = unlimited */
	bool max_active_downloads_enabled;
	int max_active_seeds;           /* 0 = unlimited */
	bool max_active_seeds_enabled;
	double seed_ratio_limit;        /* 0 = seed forever */
	bool seed_ratio_limit_enabled;
	int64_t seed_time_limit;        /* seconds, 0 = no limit */
	int seed_idle_limit;            /* minutes without a transfer before a seed stops */
	bool blocklist_enabled;
	char *blocklist_file;           /* NULL: SESSION/blocklist */
	char *blocklist_url;            /* NULL: none */
	bool seed_idle_limit_enabled;
	bool start_paused;              /* torrents added from watch_dir start paused */

	/* hooks */
	char *completion_hook;          /* NULL: none */
	char *error_hook;               /* NULL: none */
	bool hook_shell;                /* run hooks with /bin/sh -c instead of execv */
	int hook_timeout;               /* seconds before a hook is killed */

	int monitor_max_clients;        /* monitor.sock and attach.sock each; 0: from the fd limit */

	/* logging */
	char *log_file;                 /* NULL: no log file */
	enum dp_log_level log_level;

	struct {
		bool enabled;
		char *bind;             /* numeric address */
		int port;
		char *username;         /* "" = no authentication (loopback bind only) */
		char *password;
		bool authentication;    /* false: no username means no authentication */
		char **host_whitelist;
		size_t host_whitelist_count;
		char *web_root;         /* NULL: Transmission's installed web client */
		char **allowed_dirs;    /* beside download, completed and watch dirs: for RPC paths */
		size_t allowed_dirs_count;
		int max_connections;    /* 0: a share of the descriptor limit */
		int request_timeout;    /* seconds a client has to send a whole request */
	} rpc;

	struct {
		int refresh_ms;
		int blocked_threshold_s;  /* a task waiting longer shows in the blocked view */
		bool ascii;               /* draw with ASCII only */
		bool colors;
		/* each table screen's columns, in order: "name,size,done" (ui/columns.c checks the
		 * names: they are the interface's) */
		char *list_columns, *peers_columns, *trackers_columns, *files_columns,
		    *tasks_columns;
	} ui;

	struct dp_config_key *keys;     /* rebindings, in file order */
	size_t key_count;

	char *source;                   /* the file loaded, NULL when only defaults */
};

/* Fills cfg with the table's defaults (allocates; release with config_free). */
void config_defaults(struct dp_config *cfg);
void config_free(struct dp_config *cfg);
/* A deep copy of src into dst (release with config_free). */
void config_copy(struct dp_config *dst, const struct dp_config *src);
/* A number or boolean key's value (true is 1); false for other keys. */
bool config_get_number(const struct dp_config *cfg, const char *key, double *out);

struct setting_def;
/* One key's value: equal in a and b; copied from src to dst. */
bool config_value_equal(const struct dp_config *a, const struct dp_config *b,
    const struct setting_def *d);
void config_copy_value(struct dp_config *dst, const struct dp_config *src,
    const struct setting_def *d);


/* $XDG_CONFIG_HOME/downpour/downpour.conf, or ~/.config/...; a new string. */
char *config_default_path(void);

/*
 * Loads defaults, then the file, then validates. path NULL means the default path, which may be
 * missing (defaults are used); an explicit path must exist. Returns 0, or -1 with a message like
 * "FILE:LINE: unknown key 'x'" in err and cfg left empty (safe to config_free).
 */
int config_load(const char *path, struct dp_config *out, char *err, size_t errlen);
/* The same from a string (tests, fuzzing); name is used in messages. */
int config_load_string(const char *text, const char *name, struct dp_config *out, char *err,
    size_t errlen);

/*
 * A command-line override: key is "listen_port" or "rpc.port" (or "keys.ACTION"), value is
 * parsed like the file's text. The whole config is validated again. Returns 0 or -1 with err.
 */
int config_set(struct dp_config *cfg, const char *key, const char *value, char *err,
    size_t errlen);
/* The same for a table key without the checks between keys (a run-time change: the other key
 * of a pair may still be the configured value). */
int config_set_one(struct dp_config *cfg, const char *key, const char *value, char *err,
    size_t errlen);

/*
 * Checks each keys.ACTION binding with check (the interface's keymap_bind: action names belong
 * to the interface, not to this module); a refusal becomes "FILE:LINE: keys.ACTION: why" in err
 * ("--set keys.ACTION: why" for a command-line binding). 0 or -1.
 */
int config_check_keys(const struct dp_config *cfg,
    int (*check)(const char *action, const char *key, char *why, size_t whylen), char *err,
    size_t errlen);

/* Checks ranges and consistency; 0 or -1 with err. config_load calls it. */
int config_validate(const struct dp_config *cfg, char *err, size_t errlen);

/* Writes the effective configuration in the file's own syntax (it loads back unchanged);
 * without show_secrets a set rpc.password prints as "(hidden)". */
void config_print(FILE *f, const struct dp_config *cfg, bool show_secrets);

#endif
