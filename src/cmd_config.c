/* cmd_config.c: `downpour config`: loads and validates the configuration file (key bindings too),
 * applies overrides, and prints the effective settings in the file's own syntax, or the table
 * of every key. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "dp_config.h"
#include "columns.h"
#include "keymap.h"
#include "settings_table.h"

static int
cmd_config_run(int argc, char **argv)
{
	enum { OPT_CONFIG = 1, OPT_SET, OPT_SECRETS, OPT_PATH, OPT_KEYS };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "set", required_argument, NULL, OPT_SET },
		{ "show-secrets", no_argument, NULL, OPT_SECRETS },
		{ "path", no_argument, NULL, OPT_PATH },
		{ "keys", no_argument, NULL, OPT_KEYS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	const char **sets = NULL;
	size_t nsets = 0;
	bool secrets = false;
	int c, status = DP_EXIT_USAGE;
	char err[1024];
	struct dp_config cfg;

	memset(&cfg, 0, sizeof cfg);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			path = optarg;
			break;
		case OPT_SET:
			if (strchr(optarg, '=') == NULL) {
				cmd_error("config: --set wants KEY=VALUE, not '%s'", optarg);
				goto done;
			}
			sets = xreallocarray(sets, nsets + 1, sizeof *sets);
			sets[nsets++] = optarg;
			break;
		case OPT_SECRETS:
			secrets = true;
			break;
		case OPT_PATH: {
			char *p = config_default_path();
			printf("%s\n", p);
			free(p);
			status = DP_EXIT_OK;
			goto done;
		}
		case OPT_KEYS:
			settings_table_print(stdout);
			status = fflush(stdout) == 0 ? DP_EXIT_OK : DP_EXIT_FAILURE;
			goto done;
		case 'h':
			status = cmd_print_help(&cmd_config_entry);
			goto done;
		default:
			cmd_error("config: bad option '%s'", argv[optind - 1]);
			cmd_print_usage(stderr, &cmd_config_entry);
			goto done;
		}
	}
	if (optind != argc) {
		cmd_error("config: unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if (config_load(path, &cfg, err, sizeof err) != 0) {
		cmd_error("%s", err);
		goto done;
	}
	for (size_t i = 0; i < nsets; i++) {
		char *key = xstrdup(sets[i]);
		char *eq = strchr(key, '=');
		*eq = '\0';
		int rc = config_set(&cfg, key, eq + 1, err, sizeof err);
		free(key);
		if (rc != 0) {
			cmd_error("config: --set %s", err);
			goto done;
		}
	}
	/* The interface checks its bindings when it starts; say so now, with the line. */
	keymap_init();
	if (config_check_keys(&cfg, keymap_bind, err, sizeof err) != 0) {
		cmd_error("%s", err);
		goto done;
	}
	struct ui_col_set columns[UCS_COUNT];
	if (ui_columns_from_config(&cfg, columns, err, sizeof err) != 0) {
		cmd_error("%s: %s", cfg.source ? cfg.source : "--set", err);
		goto done;
	}
	config_print(stdout, &cfg, secrets);
	if (fflush(stdout) != 0) {
		cmd_error("config: standard output: write failed");
		status = DP_EXIT_FAILURE;
		goto done;
	}
	status = DP_EXIT_OK;
done:
	config_free(&cfg);
	free(sets);
	return status;
}

const struct dp_command cmd_config_entry = {
	.name = "config",
	.usage = "config [--config FILE] [--set KEY=VALUE]... [--show-secrets] [--path] [--keys]",
	.summary = "check the configuration file and print the effective settings",
	.help = "Checks the configuration file and prints every setting in the file's syntax.\n"
	    "  --config FILE      read FILE instead of the default configuration file\n"
	    "  --set KEY=VALUE    override a key, like --set listen_port=6881 or\n"
	    "                     --set rpc.port=9092 (repeatable)\n"
	    "  --show-secrets     print rpc.password instead of \"(hidden)\"\n"
	    "  --path             print the default configuration file's path and exit\n"
	    "  --keys             list every key: type, range, default, when a change\n"
	    "                     applies, what it does\n",
	.run = cmd_config_run,
};
