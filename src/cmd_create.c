/* cmd_create.c: `downpour create`: options, progress on a terminal, and the exit statuses around
 * torrent_create.c, which does the work. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "torrent_create.h"

struct cmd_create_progress {
	uint64_t start_us;
	bool shown;
};

static void
cmd_create_progress_cb(uint64_t done, uint64_t total, void *arg)
{
	struct cmd_create_progress *p = arg;
	double secs = (double)(dp_now_us() - p->start_us) / 1e6;
	double mib_s = secs > 0 ? (double)done / (1024.0 * 1024.0) / secs : 0;
	fprintf(stderr, "\rhashing %5.1f%%  %8.1f MiB/s ", total > 0 ? 100.0 * (double)done /
	    (double)total : 100.0, mib_s);
	fflush(stderr);
	p->shown = true;
}

/* Trackers and web seeds must at least look like URLs: scheme "://" and no spaces. */
static bool
cmd_create_url_ok(const char *u, bool web)
{
	const char *sep = strstr(u, "://");
	if (sep == NULL || sep == u || sep[3] == '\0')
		return false;
	for (const char *p = u; p < sep; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))
			return false;
	for (const char *p = u; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	if (web)
		return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0 ||
		    strncmp(u, "ftp://", 6) == 0;
	return true;
}

static int
cmd_create_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char **trackers = NULL, **webseeds = NULL;
	size_t ntrackers = 0, nwebseeds = 0;
	const char *out = NULL, *comment = NULL;
	bool is_private = false, force = false;
	uint32_t piece_length = 0;
	enum tc_format format = TC_FORMAT_V1;
	char err[1024];
	int c, status = DP_EXIT_USAGE;
	struct tc_tree tree;
	struct tc_hashes hashes = { 0 };
	char *out_default = NULL;
	struct dp_buf buf;

	memset(&tree, 0, sizeof tree);
	dp_buf_init(&buf);
	log_set_stderr(true);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:t:pc:s:w:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 't':
			if (!cmd_create_url_ok(optarg, false)) {
				cmd_error("create: tracker '%s' is not a URL like "
				    "http://host:port/announce", optarg);
				goto done;
			}
			trackers = xreallocarray(trackers, ntrackers + 1, sizeof *trackers);
			trackers[ntrackers++] = optarg;
			break;
		case 'p':
			is_private = true;
			break;
		case 'c':
			comment = optarg;
			break;
		case 's':
			if (!torrent_create_parse_piece_size(optarg, &piece_length)) {
				cmd_error("create: piece size '%s' must be a power of two from 16K "
				    "to %uM (like 262144, 256K or 1M)", optarg, TC_PIECE_MAX >> 20);
				goto done;
			}
			break;
		case 'w':
			if (!cmd_create_url_ok(optarg, true)) {
				cmd_error("create: web seed '%s' is not an http(s) or ftp URL", optarg);
				goto done;
			}
			webseeds = xreallocarray(webseeds, nwebseeds + 1, sizeof *webseeds);
			webseeds[nwebseeds++] = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'F':
			if (!torrent_create_parse_format(optarg, &format)) {
				cmd_error("create: format '%s' is not v1, v2 or hybrid", optarg);
				goto done;
			}
			break;
		case 'h':
			status = cmd_print_help(&cmd_create_entry);
			goto done;
		default:
			if (optopt == 'F')
				cmd_error("create: option --format needs an argument");
			else if (optopt != 0 && strchr("otcsw", optopt) != NULL)
				cmd_error("create: option -%c needs an argument", optopt);
			else
				cmd_error("create: unknown option '%s'", argv[optind - 1]);
			cmd_print_usage(stderr, &cmd_create_entry);
			goto done;
		}
	}
	if (argc - optind != 1) {
		cmd_error("create: %s", argc - optind == 0 ? "which file or directory?" :
		    "give exactly one file or directory");
		cmd_print_usage(stderr, &cmd_create_entry);
		goto done;
	}
	if (out != NULL && out[0] == '\0') {
		cmd_error("create: -o needs a file name");
		goto done;
	}

	if (torrent_create_scan(argv[optind], &tree, err, sizeof err) != TC_OK) {
		cmd_error("create: %s", err);
		goto done;
	}
	for (size_t i = 0; i < tree.skipped_count; i++)
		cmd_error("create: %s", tree.skipped[i]);
	if (out == NULL)
		out = out_default = xasprintf("%s.torrent", tree.name);
	struct stat st;
	if (!force && lstat(out, &st) == 0) {
		cmd_error("create: %s already exists (use -f to overwrite)", out);
		goto done;
	}
	if (piece_length == 0)
		piece_length = torrent_create_piece_size(tree.total);
	uint64_t data_size = tree.total;
	if (format != TC_FORMAT_V1)
		torrent_create_align(&tree, piece_length);

	struct cmd_create_progress prog = { dp_now_us(), false };
	bool tty = isatty(STDERR_FILENO) == 1;
	int rc = torrent_create_hash(&tree, piece_length, format, 0,
	    tty ? cmd_create_progress_cb : NULL, &prog, &hashes, err, sizeof err);
	if (prog.shown)
		fputc('\n', stderr);
	if (rc != TC_OK) {
		cmd_error("create: %s", err);
		status = rc == TC_ERR_INPUT ? DP_EXIT_USAGE : DP_EXIT_FAILURE;
		goto done;
	}
	double secs = (double)(dp_now_us() - prog.start_us) / 1e6;

	struct tc_options opt = {
		.trackers = trackers,
		.tracker_count = ntrackers,
		.webseeds = webseeds,
		.webseed_count = nwebseeds,
		.comment = comment,
		.is_private = is_private,
		.created_by = "downpour " PACKAGE_VERSION,
		.creation_date = dp_wall_time(),
	};
	uint8_t info_hash[20], info_hash_v2[32];
	char hex[41], hex_v2[65], size[32], hash_text[160];
	torrent_create_encode(&tree, piece_length, format, &hashes, &opt, &buf, info_hash,
	    info_hash_v2);
	if (torrent_create_write(out, buf.data, buf.len, force, err, sizeof err) != TC_OK) {
		cmd_error("create: %s", err);
		status = DP_EXIT_FAILURE;
		goto done;
	}
	dp_hex_encode(info_hash, 20, hex);
	dp_hex_encode(info_hash_v2, 32, hex_v2);
	if (format == TC_FORMAT_V1)
		snprintf(hash_text, sizeof hash_text, "info hash %s", hex);
	else if (format == TC_FORMAT_V2)
		snprintf(hash_text, sizeof hash_text, "v2 info hash %s", hex_v2);
	else
		snprintf(hash_text, sizeof hash_text, "info hash %s, v2 info hash %s", hex, hex_v2);
	size_t nfiles = tree.count - tree.pads;
	dp_format_size(data_size, size, sizeof size);
	printf("%s: %zu file%s, %s, %llu pieces of %u KiB, %s (hashed in %.2f s)\n",
	    out, nfiles, nfiles == 1 ? "" : "s", size,
	    (unsigned long long)((tree.total + piece_length - 1) / piece_length),
	    piece_length >> 10, hash_text, secs);
	if (fflush(stdout) != 0) {
		cmd_error("create: standard output: write failed");
		status = DP_EXIT_FAILURE;
		goto done;
	}
	status = DP_EXIT_OK;
done:
	dp_buf_free(&buf);
	torrent_create_hashes_free(&hashes);
	free(out_default);
	torrent_create_tree_free(&tree);
	free(trackers);
	free(webseeds);
	return status;
}

const struct dp_command cmd_create_entry = {
	.name = "create",
	.usage = "create [-o OUT] [-t URL]... [-p] [-c COMMENT] [-s PIECE_SIZE] [-w URL]... "
	    "[-f] [--format v1|v2|hybrid] PATH",
	.summary = "make a .torrent file from a file or directory",
	.help = "Makes a .torrent file from a file or a directory.\n"
	    "  -o OUT         write the torrent to OUT (default: NAME.torrent here)\n"
	    "  -t URL         add a tracker; each -t is its own tier\n"
	    "  -p             private torrent (no DHT, PEX or LSD)\n"
	    "  -c COMMENT     comment\n"
	    "  -s PIECE_SIZE  piece size: a power of two >= 16K, like 262144, 256K or 1M\n"
	    "                 (default: chosen for 1000-2000 pieces, 16K..16M)\n"
	    "  -w URL         add a web seed (url-list)\n"
	    "  --format F     v1 (default), v2 (BEP 52 only) or hybrid (both: any client can\n"
	    "                 join); v2 and hybrid pieces are 16K or larger\n"
	    "  -f             overwrite OUT if it exists\n"
	    "  -h, --help     this help\n",
	.run = cmd_create_run,
};
