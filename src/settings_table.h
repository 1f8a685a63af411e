/* settings_table.h: every setting once (name, type, range, default, help line, where it lives in
 * struct dp_config and how a change reaches a running engine); the configuration file,
 * settings.conf, SIGHUP, the RPC's session-get/set and the engine's defaults all read it. */
#ifndef DP_SETTINGS_TABLE_H
#define DP_SETTINGS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum setting_type {
	SETTING_PATH,       /* char *, absolute after "~/" expansion */
	SETTING_OPT_PATH,   /* char *, "" means unset (NULL) */
	SETTING_STR,        /* char * */
	SETTING_OPT_STR,    /* char *, "" means unset (NULL) */
	SETTING_ADDR,       /* char *, numeric IPv4/IPv6 address */
	SETTING_INT,        /* int within [min, max] */
	SETTING_INT64,      /* int64_t within [min, max] */
	SETTING_SIZE,       /* uint64_t: integer or "16M" string, within [min, max] */
	SETTING_BOOL,       /* bool */
	SETTING_FLOAT,      /* double within [min, max] */
	SETTING_LEVEL,      /* enum dp_log_level, by name */
	SETTING_STRLIST,    /* char ** with a size_t count right after it */
	SETTING_CHOICE,     /* int: the index of one of the names in choices */
};

/* How a changed value reaches a running engine (engine_settings.c has one function per way). */
enum setting_apply {
	SETTING_APPLY_RESTART,       /* read once at start: a change waits for the next start */
	SETTING_APPLY_PROGRAM,       /* read by the program around the engine (daemon, TUI) */
	SETTING_APPLY_RATES,         /* the global rate buckets */
	SETTING_APPLY_PEERS,         /* connection limits and upload slots */
	SETTING_APPLY_DOWNLOAD_DIR,  /* where new torrents go */
	SETTING_APPLY_STORE,         /* the session directory: queue, seeding limits, hooks, dirs */
	SETTING_APPLY_TRANSPORT,     /* encryption policy and uTP of new connections */
	SETTING_APPLY_PORTMAP,       /* the UPnP / NAT-PMP mapper starts or stops */
	SETTING_APPLY_ALT_SCHEDULE,  /* the alternative limits' schedule looks again at once */
	SETTING_APPLY_SEED_IDLE,     /* seeds under the session's idle limit set their timers */
	SETTING_APPLY_BLOCKLIST,     /* the IP filter is read again (or dropped) */
	SETTING_APPLY_COUNT
};

enum {
	/* The RPC may change it at run time and settings.conf keeps it. Never a hook or a path a
	 * remote client could use to run or write something it chooses, except download_dir. */
	SETTING_REMOTE = 1 << 0,
	SETTING_SECRET = 1 << 1,     /* printed as "(hidden)" unless asked */
};

struct setting_def {
	const char *group;           /* NULL: top level; else "rpc" or "ui" */
	const char *name;
	enum setting_type type;
	size_t offset;               /* of the value in struct dp_config */
	int64_t min, max;            /* numbers and sizes */
	const char *def;             /* the default as `--set KEY=VALUE` takes it; NULL: computed
	                              * (session_dir follows $XDG_DATA_HOME) */
	enum setting_apply apply;
	unsigned flags;
	const char *help;            /* one line: what it does, its unit, what 0 or "" means */
	const char *const *choices;  /* SETTING_CHOICE: the names, NULL-terminated */
};

extern const struct setting_def settings_table[];
extern const size_t settings_table_count;
/* Groups of the file, in printing order; "keys" holds UI key bindings, not table entries. */
extern const char *const settings_table_groups[];
extern const size_t settings_table_group_count;

/* By group (NULL: top level) and name, or by full name "rpc.port"; NULL when unknown. */
const struct setting_def *settings_table_find(const char *group, const char *name);
const struct setting_def *settings_table_lookup(const char *full_name);
/* "listen_port" or "rpc.port". */
void settings_table_full_name(const struct setting_def *d, char *out, size_t outlen);
/* True when a change applies to a running engine without a restart. */
bool settings_table_is_live(const struct setting_def *d);
/* The table for people: one paragraph per key (name, type and range, default, when a change
 * applies, help). `downpour config --keys` prints it. */
void settings_table_print(FILE *f);

#endif
