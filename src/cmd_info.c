/* cmd_info.c: `downpour info [--json] FILE.torrent|MAGNET`: what a torrent file or magnet link
 * describes, for people (like transmission-show) or as one JSON object for scripts. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "commands.h"
#include "escape.h"
#include "magnet.h"
#include "metainfo.h"
#include "util.h"

/* Length of the well-formed UTF-8 sequence at s, 0 when there is none (n bytes available). */
static size_t
cmd_info_utf8_len(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t need;
	uint8_t lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else
		return 0;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

/* Text from a torrent may be anything: JSON gets valid UTF-8, with U+FFFD for bad bytes. */
static json_t *
cmd_info_json_text(const char *s)
{
	if (s == NULL)
		return json_null();
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s);
	struct dp_buf b;
	dp_buf_init(&b);
	for (size_t i = 0; i < n;) {
		size_t k = cmd_info_utf8_len(p + i, n - i);
		if (k == 0) {
			dp_buf_add(&b, "\xef\xbf\xbd", 3);
			i++;
		} else {
			dp_buf_add(&b, p + i, k);
			i += k;
		}
	}
	json_t *j = json_stringn((const char *)b.data, b.len);
	dp_buf_free(&b);
	return j != NULL ? j : json_string("");
}

/* The terminal gets no control characters and no broken UTF-8 from a torrent (escape.h). */
static void
cmd_info_print_text(const char *s)
{
	char *safe = dp_escape_dup(s);
	fputs(safe, stdout);
	free(safe);
}

static void
cmd_info_print_field(const char *label, const char *value)
{
	printf("  %-12s ", label);
	cmd_info_print_text(value);
	fputc('\n', stdout);
}

/* One indented line of torrent-supplied text. */
static void
cmd_info_print_line(const char *indent, const char *text)
{
	fputs(indent, stdout);
	cmd_info_print_text(text);
	fputc('\n', stdout);
}

static json_t *
cmd_info_json_strings(char **arr, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, cmd_info_json_text(arr[i]));
	return a;
}

static json_t *
cmd_info_json_metainfo(const struct metainfo *mi)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("torrent"));
	json_object_set_new(o, "name", cmd_info_json_text(mi->name));
	json_object_set_new(o, "display_name", cmd_info_json_text(mi->display_name));
	/* info_hash is the v1 (SHA-1) hash: a v2-only torrent has none. */
	if (mi->has_v1)
		json_object_set_new(o, "info_hash", json_string(mi->info_hash_hex));
	if (mi->has_v2)
		json_object_set_new(o, "info_hash_v2", json_string(mi->info_hash_v2_hex));
	json_object_set_new(o, "piece_length", json_integer(mi->piece_length));
	json_object_set_new(o, "piece_count", json_integer(mi->piece_count));
	json_object_set_new(o, "total_size", json_integer((json_int_t)mi->total_size));
	json_object_set_new(o, "private", json_boolean(mi->is_private));
	json_object_set_new(o, "multi_file", json_boolean(mi->multi_file));
	json_object_set_new(o, "hybrid", json_boolean(mi->hybrid));
	json_object_set_new(o, "format", json_string(mi->hybrid ? "hybrid" : mi->has_v2 ? "v2" :
	    "v1"));
	json_t *files = json_array();
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		json_t *jf = json_object();
		json_object_set_new(jf, "path", cmd_info_json_text(f->path));
		json_object_set_new(jf, "length", json_integer((json_int_t)f->length));
		json_object_set_new(jf, "pad", json_boolean(f->pad));
		if (f->symlink)
			json_object_set_new(jf, "symlink", cmd_info_json_text(f->symlink_target));
		json_array_append_new(files, jf);
	}
	json_object_set_new(o, "files", files);
	json_t *tiers = json_array();
	for (size_t i = 0; i < mi->tier_count; i++)
		json_array_append_new(tiers, cmd_info_json_strings(mi->tiers[i].urls,
		    mi->tiers[i].count));
	json_object_set_new(o, "trackers", tiers);
	json_object_set_new(o, "webseeds", cmd_info_json_strings(mi->webseeds, mi->webseed_count));
	json_object_set_new(o, "httpseeds",
	    cmd_info_json_strings(mi->httpseeds, mi->httpseed_count));
	json_object_set_new(o, "comment", cmd_info_json_text(mi->comment));
	json_object_set_new(o, "created_by", cmd_info_json_text(mi->created_by));
	json_object_set_new(o, "creation_date", mi->has_creation_date ?
	    json_integer(mi->creation_date) : json_null());
	return o;
}

static json_t *
cmd_info_json_magnet(const struct magnet *m)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("magnet"));
	json_object_set_new(o, "name", cmd_info_json_text(m->display_name));
	/* info_hash is the v1 (SHA-1) hash: a v2-only link has none (its swarm id is the v2 hash
	 * cut to 20 bytes, which btmh holds whole). */
	json_object_set_new(o, "info_hash", m->has_btih ? json_string(m->info_hash_hex) :
	    json_null());
	json_object_set_new(o, "btmh", m->btmh ? json_string(m->btmh) : json_null());
	static const char *const absent[] = { "piece_length", "piece_count", "total_size", "private",
		"files", "comment", "created_by", "creation_date" };
	for (size_t i = 0; i < DP_ARRAY_LEN(absent); i++)
		json_object_set_new(o, absent[i], json_null());
	json_t *tiers = json_array();
	for (size_t i = 0; i < m->tracker_count; i++)
		json_array_append_new(tiers, cmd_info_json_strings(&m->trackers[i], 1));
	json_object_set_new(o, "trackers", tiers);
	json_object_set_new(o, "webseeds", cmd_info_json_strings(m->webseeds, m->webseed_count));
	json_object_set_new(o, "peers", cmd_info_json_strings(m->peers, m->peer_count));
	return o;
}

static void
cmd_info_print_size(const char *label, uint64_t bytes)
{
	char human[32], line[80];
	dp_format_size(bytes, human, sizeof human);
	snprintf(line, sizeof line, "%s (%" PRIu64 " bytes)", human, bytes);
	cmd_info_print_field(label, line);
}

static void
cmd_info_print_metainfo(const struct metainfo *mi)
{
	char line[128];
	printf("GENERAL\n\n");
	cmd_info_print_field("Name:", mi->display_name);
	if (strcmp(mi->name, mi->display_name) != 0)
		cmd_info_print_field("Saved as:", mi->name);
	if (mi->has_v1)
		cmd_info_print_field("Hash:", mi->info_hash_hex);
	if (mi->has_v2)
		cmd_info_print_field("v2 hash:", mi->info_hash_v2_hex);
	cmd_info_print_field("Privacy:", mi->is_private ? "Private torrent" : "Public torrent");
	if (mi->has_v2)
		cmd_info_print_field("Format:", mi->hybrid ? "hybrid (BitTorrent v1 and v2)" :
		    "BitTorrent v2 only");
	if (mi->created_by != NULL)
		cmd_info_print_field("Created by:", mi->created_by);
	if (mi->has_creation_date) {
		time_t t = (time_t)mi->creation_date;
		struct tm tm;
		if (gmtime_r(&t, &tm) != NULL && strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S UTC",
		    &tm) > 0)
			cmd_info_print_field("Created on:", line);
		else {
			snprintf(line, sizeof line, "%" PRId64 " (not a valid date)",
			    mi->creation_date);
			cmd_info_print_field("Created on:", line);
		}
	}
	if (mi->comment != NULL)
		cmd_info_print_field("Comment:", mi->comment);
	char size[32];
	dp_format_size(mi->piece_length, size, sizeof size);
	snprintf(line, sizeof line, "%" PRIu32 " x %s", mi->piece_count, size);
	cmd_info_print_field("Pieces:", line);
	cmd_info_print_size("Total size:", mi->total_size);

	printf("\nTRACKERS\n\n");
	for (size_t i = 0; i < mi->tier_count; i++) {
		printf("  Tier #%zu\n", i + 1);
		for (size_t j = 0; j < mi->tiers[i].count; j++) {
			cmd_info_print_line("    ", mi->tiers[i].urls[j]);
		}
	}
	if (mi->tier_count == 0)
		printf("  (none: peers come from DHT and PEX only)\n");
	if (mi->webseed_count + mi->httpseed_count > 0) {
		printf("\nWEBSEEDS\n\n");
		for (size_t i = 0; i < mi->webseed_count; i++)
			cmd_info_print_line("  ", mi->webseeds[i]);
		for (size_t i = 0; i < mi->httpseed_count; i++)
			cmd_info_print_line("  (BEP 17) ", mi->httpseeds[i]);
	}

	/* Pad files (BEP 47) only align files to pieces: nobody sees them or gets them on disk. */
	printf("\nFILES\n\n");
	for (size_t i = 0; i < mi->file_count; i++) {
		const struct mi_file *f = &mi->files[i];
		if (f->pad)
			continue;
		fputs("  ", stdout);
		cmd_info_print_text(f->path);
		dp_format_size(f->length, size, sizeof size);
		printf(" (%s)", size);
		if (f->symlink) {
			fputs(" [symbolic link to ", stdout);
			cmd_info_print_text(f->symlink_target);
			fputs(", not created]", stdout);
		}
		if (strcmp(f->path, f->display_path) != 0) {
			fputs(" [named in the torrent: ", stdout);
			cmd_info_print_text(f->display_path);
			fputc(']', stdout);
		}
		fputc('\n', stdout);
	}
}

static void
cmd_info_print_magnet(const struct magnet *m)
{
	printf("MAGNET LINK\n\n");
	cmd_info_print_field("Name:", m->display_name ? m->display_name : "(not given)");
	if (m->has_btih)
		cmd_info_print_field("Hash:", m->info_hash_hex);
	if (m->btmh != NULL)
		cmd_info_print_field("v2 hash:", m->btmh);
	printf("\nTRACKERS\n\n");
	for (size_t i = 0; i < m->tracker_count; i++) {
		printf("  Tier #%zu\n", i + 1);
		cmd_info_print_line("    ", m->trackers[i]);
	}
	if (m->tracker_count == 0)
		printf("  (none: peers come from DHT and PEX only)\n");
	if (m->webseed_count > 0) {
		printf("\nWEBSEEDS\n\n");
		for (size_t i = 0; i < m->webseed_count; i++)
			cmd_info_print_line("  ", m->webseeds[i]);
	}
	if (m->peer_count > 0) {
		printf("\nPEERS\n\n");
		for (size_t i = 0; i < m->peer_count; i++)
			cmd_info_print_line("  ", m->peers[i]);
	}
	printf("\nThe file list arrives from peers once the download starts.\n");
}

static int
cmd_info_emit_json(json_t *o)
{
	int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (rc != 0)
		return -1;
	fputc('\n', stdout);
	return 0;
}

static int
cmd_info_run(int argc, char **argv)
{
	bool json = false;
	const char *target = NULL;
	bool options_done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!options_done && strcmp(a, "--") == 0)
			options_done = true;
		else if (!options_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0))
			return cmd_print_help(&cmd_info_entry);
		else if (!options_done && strcmp(a, "--json") == 0)
			json = true;
		else if (!options_done && a[0] == '-' && a[1] != '\0') {
			cmd_error("info: unknown option '%s'", a);
			cmd_print_usage(stderr, &cmd_info_entry);
			return DP_EXIT_USAGE;
		} else if (target == NULL)
			target = a;
		else {
			cmd_error("info: one torrent file or magnet link at a time");
			return DP_EXIT_USAGE;
		}
	}
	if (target == NULL) {
		cmd_error("info: a torrent file or magnet link is needed");
		cmd_print_usage(stderr, &cmd_info_entry);
		return DP_EXIT_USAGE;
	}

	char err[512];
	int rc = 0;
	if (magnet_is_uri(target)) {
		struct magnet *m = magnet_parse(target, err, sizeof err);
		if (m == NULL) {
			cmd_error("%s", err);
			return DP_EXIT_USAGE;
		}
		if (json)
			rc = cmd_info_emit_json(cmd_info_json_magnet(m));
		else
			cmd_info_print_magnet(m);
		magnet_free(m);
	} else {
		struct metainfo *mi = metainfo_load(target, err, sizeof err);
		if (mi == NULL) {
			cmd_error("%s", err);
			return DP_EXIT_USAGE;
		}
		if (json)
			rc = cmd_info_emit_json(cmd_info_json_metainfo(mi));
		else
			cmd_info_print_metainfo(mi);
		metainfo_free(mi);
	}
	if (rc != 0 || fflush(stdout) != 0 || ferror(stdout)) {
		cmd_error("info: writing to standard output failed");
		return DP_EXIT_FAILURE;
	}
	return DP_EXIT_OK;
}

const struct dp_command cmd_info_entry = {
	.name = "info",
	.usage = "info [--json] FILE.torrent|MAGNET",
	.summary = "show what a torrent file or magnet link describes",
	.help = "Shows what a .torrent file or a magnet link describes.\n"
	    "  --json   print one JSON object instead of text\n",
	.run = cmd_info_run,
};
