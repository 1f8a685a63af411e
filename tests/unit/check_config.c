/* check_config.c: unit tests of the configuration module and its settings table: defaults, the
 * sample file against the table, overrides, every error class with its line (unknown keys, also
 * in included files and key bindings), copying, and printing that loads back. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>

#include "dp_config.h"
#include "keymap.h"
#include "settings_table.h"
#include "suites.h"
#include "util.h"

static char cfg_err[512];

/* Loads text; asserts failure and that the message contains want. */
static void
expect_error(const char *text, const char *want)
{
	struct dp_config c;
	cfg_err[0] = '\0';
	ck_assert_msg(config_load_string(text, "test.conf", &c, cfg_err, sizeof cfg_err) == -1,
	    "accepted: %s", text);
	ck_assert_msg(strstr(cfg_err, want) != NULL, "error '%s' lacks '%s'", cfg_err, want);
	config_free(&c);
}

START_TEST(test_defaults)
{
	struct dp_config c;
	char err[256];
	setenv("HOME", "/home/tester", 1);
	unsetenv("XDG_DATA_HOME");
	config_defaults(&c);
	ck_assert_str_eq(c.download_dir, "/home/tester/Downloads");
	ck_assert_str_eq(c.session_dir, "/home/tester/.local/share/downpour");
	ck_assert_ptr_null(c.watch_dir);
	ck_assert_int_eq(c.listen_port, 51413);
	ck_assert_int_eq(c.disk_threads, 0);
	ck_assert_uint_eq(c.disk_write_queue_bytes, 64u << 20);
	ck_assert_str_eq(c.peer_id_prefix, "-DW0100-");
	ck_assert(c.dht && c.lsd && !c.upnp && c.pex);
	ck_assert_uint_eq(c.dht_bootstrap_count, 0);
	ck_assert(!c.rpc.enabled);
	ck_assert_int_eq(c.rpc.port, 9091);
	ck_assert_uint_eq(c.rpc.host_whitelist_count, 3);
	ck_assert_int_eq(c.log_level, DP_LOG_INFO);
	ck_assert_int_eq(c.ui.refresh_ms, 1000);
	ck_assert_int_eq(config_validate(&c, err, sizeof err), 0);
	config_free(&c);

	setenv("XDG_DATA_HOME", "/xdg/data", 1);
	config_defaults(&c);
	ck_assert_str_eq(c.session_dir, "/xdg/data/downpour");
	config_free(&c);
	unsetenv("XDG_DATA_HOME");

	setenv("XDG_CONFIG_HOME", "/xdg/conf", 1);
	char *p = config_default_path();
	ck_assert_str_eq(p, "/xdg/conf/downpour/downpour.conf");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	p = config_default_path();
	ck_assert_str_eq(p, "/home/tester/.config/downpour/downpour.conf");
	free(p);
}
END_TEST

START_TEST(test_missing_default_file_is_defaults)
{
	struct dp_config c;
	char err[256];
	setenv("XDG_CONFIG_HOME", "/nonexistent-downpour-test", 1);
	ck_assert_int_eq(config_load(NULL, &c, err, sizeof err), 0);
	ck_assert_ptr_null(c.source);
	ck_assert_int_eq(c.listen_port, 51413);
	config_free(&c);
	unsetenv("XDG_CONFIG_HOME");

	/* An explicit file must exist. */
	ck_assert_int_eq(config_load("/nonexistent-downpour-test/x.conf", &c, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-downpour-test/x.conf"));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	config_free(&c);
}
END_TEST

START_TEST(test_overrides_from_file)
{
	char path[] = "/tmp/dp_check_config_XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *text =
	    "download_dir = \"/srv/dl\";\n"
	    "watch_dir = \"~/watch\";\n"
	    "listen_port = 6881;\n"
	    "listen_address = \"::1\";\n"
	    "upload_rate_limit = \"1M\";\n"
	    "download_rate_limit = 250000;\n"
	    "seed_ratio_limit = 2;\n"
	    "seed_time_limit = 3600;\n"
	    "log_level = \"debug\";\n"
	    "hook_shell = true;\n"
	    "completion_hook = \"/usr/local/bin/done.sh\";\n"
	    "rpc = { enabled = true; port = 9999; host_whitelist = [\"a.example\"]; };\n"
	    "ui = { ascii = true; refresh_ms = 250; };\n"
	    "keys = { quit = \"Q\"; pause = \"space\"; quit = \"x\"; };\n";
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	struct dp_config c;
	char err[256];
	setenv("HOME", "/home/tester", 1);
	int rc = config_load(path, &c, err, sizeof err);
	/* libconfig refuses duplicate names in one group. */
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(strstr(err, ":14:"));
	config_free(&c);

	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	size_t n = strlen(text) - strlen(" quit = \"x\"; };\n");
	ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
	ck_assert_int_eq(write(fd, " };\n", 4), 4);
	close(fd);

	ck_assert_msg(config_load(path, &c, err, sizeof err) == 0, "%s", err);
	ck_assert_str_eq(c.source, path);
	ck_assert_str_eq(c.download_dir, "/srv/dl");
	ck_assert_str_eq(c.watch_dir, "/home/tester/watch");
	ck_assert_int_eq(c.listen_port, 6881);
	ck_assert_str_eq(c.listen_address, "::1");
	ck_assert_uint_eq(c.upload_rate_limit, 1u << 20);
	ck_assert_uint_eq(c.download_rate_limit, 250000);
	ck_assert(c.seed_ratio_limit == 2.0);
	ck_assert_int_eq(c.seed_time_limit, 3600);
	ck_assert_int_eq(c.log_level, DP_LOG_DEBUG);
	ck_assert(c.hook_shell);
	ck_assert_str_eq(c.completion_hook, "/usr/local/bin/done.sh");
	ck_assert_ptr_null(c.error_hook);
	ck_assert(c.rpc.enabled);
	ck_assert_int_eq(c.rpc.port, 9999);
	ck_assert_uint_eq(c.rpc.host_whitelist_count, 1);
	ck_assert_str_eq(c.rpc.host_whitelist[0], "a.example");
	ck_assert(c.ui.ascii);
	ck_assert(c.ui.colors);               /* untouched keys keep their defaults */
	ck_assert_int_eq(c.ui.refresh_ms, 250);
	ck_assert_uint_eq(c.key_count, 2);
	ck_assert_str_eq(c.keys[0].action, "quit");
	ck_assert_str_eq(c.keys[0].key, "Q");
	ck_assert_str_eq(c.keys[1].action, "pause");
	ck_assert_int_eq(c.max_connections_global, 500);

	/* Command-line overrides go through the same checks. */
	ck_assert_int_eq(config_set(&c, "listen_port", "7000", err, sizeof err), 0);
	ck_assert_int_eq(c.listen_port, 7000);
	ck_assert_int_eq(config_set(&c, "rpc.port", "9092", err, sizeof err), 0);
	ck_assert_int_eq(c.rpc.port, 9092);
	ck_assert_int_eq(config_set(&c, "upload_rate_limit", "512K", err, sizeof err), 0);
	ck_assert_uint_eq(c.upload_rate_limit, 512u << 10);
	ck_assert_int_eq(config_set(&c, "ui.colors", "false", err, sizeof err), 0);
	ck_assert(!c.ui.colors);
	ck_assert_int_eq(config_set(&c, "keys.quit", "q", err, sizeof err), 0);
	ck_assert_str_eq(c.keys[0].key, "q");
	ck_assert_int_eq(config_set(&c, "rpc.host_whitelist", "x,y", err, sizeof err), 0);
	ck_assert_uint_eq(c.rpc.host_whitelist_count, 2);
	ck_assert_str_eq(c.rpc.host_whitelist[1], "y");
	ck_assert_int_eq(config_set(&c, "listen_port", "70000", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "out of range"));
	ck_assert_int_eq(config_set(&c, "nope", "1", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown key 'nope'"));
	ck_assert_int_eq(config_set(&c, "hook_shell", "maybe", err, sizeof err), -1);
	ck_assert_int_eq(config_set(&c, "download_dir", "relative/dir", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "absolute"));
	/* A choice takes one of its names, and says which they are. */
	ck_assert_int_eq(c.encryption, DP_ENCRYPTION_PREFERRED);
	ck_assert_int_eq(config_set(&c, "encryption", "required", err, sizeof err), 0);
	ck_assert_int_eq(c.encryption, DP_ENCRYPTION_REQUIRED);
	ck_assert_int_eq(config_set(&c, "encryption", "always", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "none of tolerated, preferred, required"));
	ck_assert_int_eq(c.encryption, DP_ENCRYPTION_REQUIRED);
	ck_assert(c.utp);
	ck_assert_int_eq(config_set(&c, "utp", "false", err, sizeof err), 0);
	ck_assert(!c.utp);
	config_free(&c);
	unlink(path);
}
END_TEST

START_TEST(test_unknown_key)
{
	expect_error("listen_port = 1;\nlisten_prot = 2;\n", "test.conf:2: unknown key 'listen_prot'");
	expect_error("rpc = {\n  enabled = false;\n  portt = 1;\n};\n",
	    "test.conf:3: unknown key 'rpc.portt'");
	expect_error("ui = { };\nfoo = { bar = 1; };\n", "test.conf:2: unknown key 'foo'");
	/* A group's key at top level is not the same key. */
	expect_error("refresh_ms = 100;\n", "test.conf:1: unknown key 'refresh_ms'");
}
END_TEST

/* What libconfig hands us beyond plain keys: groups where keys belong, keys inside groups, files
 * pulled in by @include (named in the message, not the file that includes them), and bindings
 * of the keys group, whose action names the interface's keymap knows. */
START_TEST(test_unknown_key_places)
{
	expect_error("rpc = {\n  ui = { refresh_ms = 100; };\n};\n", "test.conf:2: unknown key 'rpc.ui'");
	expect_error("ui = {\n  refresh_ms = 100;\n  keys = { quit = \"q\"; };\n};\n",
	    "test.conf:3: unknown key 'ui.keys'");
	expect_error("Listen_Port = 1;\n", "test.conf:1: unknown key 'Listen_Port'");
	expect_error("download_rate_limit_enable = true;\n",
	    "test.conf:1: unknown key 'download_rate_limit_enable'");

	char dir[128], *inc, *text;
	snprintf(dir, sizeof dir, "/tmp/dp-check-config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	inc = xasprintf("%s/extra.conf", dir);
	FILE *f = fopen(inc, "w");
	ck_assert_ptr_nonnull(f);
	fputs("listen_port = 6881;\n\nbogus = \"x\";\n", f);
	ck_assert_int_eq(fclose(f), 0);
	text = xasprintf("dht = false;\n@include \"%s\"\n", inc);
	char *want = xasprintf("%s:3: unknown key 'bogus'", inc);
	expect_error(text, want);
	free(want);
	free(text);
	unlink(inc);
	rmdir(dir);
	free(inc);

	/* Bindings load (the file is read before the interface exists) and are checked with the
	 * keymap, naming file and line; `downpour config` and the interface do that. */
	struct dp_config c;
	char err[256];
	const char *keys = "keys = {\n  quit = \"Q\";\n  pause = \"p\";\n};\n";
	ck_assert_msg(config_load_string(keys, "test.conf", &c, err, sizeof err) == 0, "%s", err);
	keymap_init();
	ck_assert_int_eq(config_check_keys(&c, keymap_bind, err, sizeof err), -1);
	ck_assert_str_eq(err, "test.conf:3: keys.pause: unknown action 'pause'");
	config_free(&c);
	keys = "keys = {\n  stop = \"p\";\n  quit = \"no such key\";\n};\n";
	ck_assert_msg(config_load_string(keys, "test.conf", &c, err, sizeof err) == 0, "%s", err);
	keymap_init();
	ck_assert_int_eq(config_check_keys(&c, keymap_bind, err, sizeof err), -1);
	ck_assert_msg(strncmp(err, "test.conf:3: keys.quit: ", 24) == 0, "%s", err);
	config_free(&c);
	config_defaults(&c);
	ck_assert_int_eq(config_set(&c, "keys.pause", "p", err, sizeof err), 0);
	keymap_init();
	ck_assert_int_eq(config_check_keys(&c, keymap_bind, err, sizeof err), -1);
	ck_assert_str_eq(err, "--set keys.pause: unknown action 'pause'");
	config_free(&c);
	keymap_init();
}
END_TEST

START_TEST(test_wrong_type)
{
	expect_error("\nlisten_port = \"6881\";\n", "test.conf:2: listen_port: wrong type");
	expect_error("dht = 1;\n", "test.conf:1: dht: wrong type: is an integer, expected true or false");
	expect_error("download_dir = 5;\n", "download_dir: wrong type");
	expect_error("rpc = 1;\n", "test.conf:1: rpc: wrong type");
	expect_error("ui = {\n ascii = \"yes\";\n};\n", "test.conf:2: ui.ascii: wrong type");
	expect_error("rpc = { host_whitelist = [1, 2]; };\n", "element 1 is an integer");
	expect_error("keys = {\n quit = 1;\n};\n", "test.conf:2: keys.quit: wrong type");
	expect_error("seed_ratio_limit = \"2\";\n", "seed_ratio_limit: wrong type");
	expect_error("upload_rate_limit = true;\n", "upload_rate_limit: wrong type");
}
END_TEST

START_TEST(test_out_of_range)
{
	expect_error("listen_port = 65536;\n", "test.conf:1: listen_port: 65536 is out of range (0..65535)");
	expect_error("\n\nlisten_port = -1;\n", "test.conf:3: listen_port: -1 is out of range");
	expect_error("rpc = { port = 0; };\n", "rpc.port: 0 is out of range");
	expect_error("ui = { refresh_ms = 1; };\n", "ui.refresh_ms: 1 is out of range");
	expect_error("seed_ratio_limit = -0.5;\n", "seed_ratio_limit: -0.5 is out of range");
	expect_error("disk_write_queue_bytes = \"1K\";\n", "disk_write_queue_bytes: 1024 is out of range");
	expect_error("upload_rate_limit = \"fast\";\n", "'fast' is not a size");
	expect_error("log_level = \"loud\";\n", "unknown log level 'loud'");
	expect_error("listen_address = \"localhost\";\n", "not a numeric IPv4 or IPv6 address");
	expect_error("session_dir = \"state\";\n", "test.conf:1: session_dir: 'state' is not an absolute path");
	expect_error("download_dir = \"\";\n", "download_dir: must not be empty");
	/* Consistency between keys is checked after the whole file. */
	expect_error("max_connections_global = 10;\nmax_connections_per_torrent = 20;\n",
	    "max_connections_per_torrent (20) is larger than max_connections_global (10)");
	expect_error("rpc = { enabled = true; bind = \"0.0.0.0\"; };\n",
	    "is not a loopback address");
	expect_error("rpc = { enabled = true; username = \"u\"; };\n", "rpc.password is empty");
}
END_TEST

START_TEST(test_syntax_error)
{
	expect_error("listen_port = 1;\nlisten_address = \"0.0.0.0\";\ndht = = false;\n",
	    "test.conf:3: syntax error");
	expect_error("rpc = {\n enabled = true;\n", "syntax error");
	expect_error("a = \"unterminated;\n", "test.conf:2: syntax error");
}
END_TEST

/* "~/" expands to $HOME: the bound on a value holds for the expanded path, which is what is
 * kept and printed back (fuzz_config: a 4096-byte "~/..." loaded, its print did not). */
START_TEST(test_tilde_expansion_bound)
{
	const char *old = getenv("HOME");
	char *saved = old != NULL ? strdup(old) : NULL;
	ck_assert_int_eq(setenv("HOME", "/home/fuzz", 1), 0);
	size_t n = 4094;
	char *text = malloc(n + 64);
	ck_assert_ptr_nonnull(text);
	int len = snprintf(text, n + 64, "download_dir = \"~/");
	memset(text + len, 'a', n);
	strcpy(text + len + n, "\";\n");
	expect_error(text, "download_dir: value too long once ~ is expanded");
	/* A path that expands to exactly 4096 bytes loads and prints back to text that loads. */
	strcpy(text + len + n - (strlen("/home/fuzz") - 1), "\";\n");
	struct dp_config c, again;
	ck_assert_msg(config_load_string(text, "test.conf", &c, cfg_err, sizeof cfg_err) == 0, "%s",
	    cfg_err);
	ck_assert_uint_eq(strlen(c.download_dir), 4096);
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	ck_assert_ptr_nonnull(f);
	config_print(f, &c, true);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(config_load_string(out, "printed", &again, cfg_err, sizeof cfg_err) == 0,
	    "%s", cfg_err);
	ck_assert_str_eq(again.download_dir, c.download_dir);
	free(out);
	free(text);
	config_free(&again);
	config_free(&c);
	if (saved != NULL) {
		setenv("HOME", saved, 1);
		free(saved);
	} else {
		unsetenv("HOME");
	}
}
END_TEST

/* Every key of the sample file is a real key, with the default value. */
START_TEST(test_sample_file_is_defaults)
{
	struct dp_config c, d;
	char err[512];
	setenv("HOME", "/home/tester", 1);
	unsetenv("XDG_DATA_HOME");
	ck_assert_msg(config_load(DP_TOP_SRCDIR "/config/downpour.conf", &c, err, sizeof err) == 0,
	    "%s", err);
	config_defaults(&d);

	char *a = NULL, *b = NULL;
	size_t alen, blen;
	FILE *fa = open_memstream(&a, &alen), *fb = open_memstream(&b, &blen);
	free(c.source);
	c.source = NULL;
	config_print(fa, &c, true);
	config_print(fb, &d, true);
	fclose(fa);
	fclose(fb);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	config_free(&c);
	config_free(&d);
}
END_TEST

/* Reads the sample file into a string. */
static char *
sample_text(void)
{
	uint8_t *buf;
	size_t len;
	ck_assert_int_eq(dp_read_file(DP_TOP_SRCDIR "/config/downpour.conf", 1u << 20, &buf, &len),
	    0);
	char *s = xmalloc(len + 1);
	memcpy(s, buf, len);
	s[len] = '\0';
	free(buf);
	return s;
}

/* Collapses runs of spaces and strips "# " so that a help line wrapped over comments compares. */
static void
sample_join_comment(char *acc, size_t acclen, const char *line, size_t n)
{
	while (n > 0 && (*line == '#' || *line == ' '))
		line++, n--;
	size_t used = strlen(acc);
	if (used > 0 && used + 1 < acclen)
		acc[used++] = ' ';
	for (size_t i = 0; i < n && used + 1 < acclen; i++)
		acc[used++] = line[i];
	acc[used] = '\0';
}

/*
 * The sample documents the table: every key appears in its group with the comment lines right
 * above it containing the key's help line (the value is the default: test_sample_file_is_defaults),
 * and the commented bindings name real actions and keys.
 */
START_TEST(test_sample_matches_table)
{
	char *text = sample_text();
	bool *seen = xcalloc(settings_table_count, sizeof *seen);
	char group[64] = "", comment[1024] = "";
	int examples = 0;
	for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
		char *nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		size_t n = strlen(line);
		next = nl != NULL ? nl + 1 : NULL;
		while (n > 0 && *line == ' ')
			line++, n--;
		if (n == 0) {
			comment[0] = '\0';
			continue;
		}
		if (line[0] == '#') {
			char action[64], key[64];
			if (strcmp(group, "keys") == 0 &&
			    sscanf(line, "# %63[a-z_] = \"%63[^\"]\";", action, key) == 2) {
				char why[256];
				keymap_init();
				ck_assert_msg(keymap_bind(action, key, why, sizeof why) == 0,
				    "sample: keys.%s = \"%s\": %s", action, key, why);
				examples++;
				continue;
			}
			sample_join_comment(comment, sizeof comment, line, n);
			continue;
		}
		if (strncmp(line, "};", 2) == 0) {
			group[0] = '\0';
			continue;
		}
		char name[64];
		ck_assert_msg(sscanf(line, "%63[a-z0-9_]", name) == 1, "sample: '%.*s'", (int)n, line);
		if (strstr(line, "= {") != NULL) {
			snprintf(group, sizeof group, "%s", name);
			comment[0] = '\0';
			continue;
		}
		const struct setting_def *d = settings_table_find(group[0] ? group : NULL, name);
		ck_assert_msg(d != NULL, "sample: %s%s%s is not in the table", group,
		    group[0] ? "." : "", name);
		ck_assert_msg(!seen[d - settings_table], "sample: %s twice", name);
		seen[d - settings_table] = true;
		ck_assert_msg(strstr(comment, d->help) != NULL,
		    "sample: the comment above %s lacks its help line \"%s\" (has \"%s\")", name,
		    d->help, comment);
		comment[0] = '\0';
	}
	for (size_t i = 0; i < settings_table_count; i++) {
		char full[64];
		settings_table_full_name(&settings_table[i], full, sizeof full);
		ck_assert_msg(seen[i], "sample: %s is missing", full);
	}
	ck_assert_int_ge(examples, 2);
	keymap_init();
	free(seen);
	free(text);
}
END_TEST

/* Each entry of the table is whole: a default that parses within its range (config_defaults
 * aborts otherwise), a help line, one name; run-time changes only for keys that apply live. */
START_TEST(test_table_entries)
{
	struct dp_config c;
	char err[256];
	config_defaults(&c);
	for (size_t i = 0; i < settings_table_count; i++) {
		const struct setting_def *d = &settings_table[i];
		char full[64];
		settings_table_full_name(d, full, sizeof full);
		ck_assert_msg(d->help != NULL && strlen(d->help) > 10, "%s: no help", full);
		ck_assert_msg(d->def != NULL || strcmp(full, "session_dir") == 0, "%s: no default",
		    full);
		if (d->def != NULL)
			ck_assert_msg(config_set_one(&c, full, d->def, err, sizeof err) == 0, "%s",
			    err);
		ck_assert_ptr_eq(settings_table_lookup(full), d);
		if (d->flags & SETTING_REMOTE)
			ck_assert_msg(d->apply != SETTING_APPLY_RESTART &&
			    d->apply != SETTING_APPLY_PROGRAM, "%s: remote but not live", full);
		/* A switch of a pair sits right after its value. */
		size_t fl = strlen(full);
		if (fl > 8 && strcmp(full + fl - 8, "_enabled") == 0 && d->group == NULL) {
			ck_assert_uint_gt(i, 0);
			ck_assert(strncmp(settings_table[i - 1].name, full, fl - 8) == 0);
			ck_assert_int_eq(d->apply, settings_table[i - 1].apply);
			ck_assert_int_eq(d->flags, settings_table[i - 1].flags);
		}
	}
	ck_assert_int_eq(config_validate(&c, err, sizeof err), 0);
	/* The defaults the engine used to have of its own are the table's now. */
	ck_assert_int_eq(c.listen_port, 51413);
	ck_assert_int_eq(c.max_connections_global, 500);
	ck_assert_int_eq(c.open_files, 128);
	ck_assert(c.download_rate_limit_enabled && c.upload_rate_limit_enabled);

	/* A copy is equal key by key and owns its strings. */
	struct dp_config d;
	ck_assert_int_eq(config_set(&c, "rpc.host_whitelist", "a,b", err, sizeof err), 0);
	ck_assert_int_eq(config_set(&c, "keys.quit", "Q", err, sizeof err), 0);
	config_copy(&d, &c);
	for (size_t i = 0; i < settings_table_count; i++)
		ck_assert(config_value_equal(&c, &d, &settings_table[i]));
	ck_assert_ptr_ne(c.download_dir, d.download_dir);
	ck_assert_str_eq(d.keys[0].key, "Q");
	ck_assert_int_eq(config_set(&d, "download_rate_limit", "1M", err, sizeof err), 0);
	const struct setting_def *rate = settings_table_lookup("download_rate_limit");
	ck_assert(!config_value_equal(&c, &d, rate));
	config_copy_value(&c, &d, rate);
	ck_assert(config_value_equal(&c, &d, rate));
	double v;
	ck_assert(config_get_number(&c, "download_rate_limit", &v) && v == 1048576.0);
	ck_assert(!config_get_number(&c, "download_dir", &v));
	config_free(&d);
	config_free(&c);
}
END_TEST

/* What config_print writes loads back to the same values. */
START_TEST(test_print_round_trip)
{
	struct dp_config c, again;
	char err[512];
	const char *text =
	    "upload_rate_limit = \"3G\";\n"
	    "seed_ratio_limit = 1.5;\n"
	    "seed_time_limit = 5000000000L;\n"
	    "completion_hook = \"echo \\\"done\\\" \\\\ ok\";\n"
	    "rpc = { enabled = true; username = \"me\"; password = \"pw\"; bind = \"::1\"; };\n"
	    "keys = { quit = \"Q\"; };\n"
	    "encryption = \"tolerated\";\n";
	ck_assert_msg(config_load_string(text, "rt.conf", &c, err, sizeof err) == 0, "%s", err);
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	config_print(f, &c, true);
	fclose(f);
	ck_assert_msg(config_load_string(out, "printed", &again, err, sizeof err) == 0, "%s\n%s", err,
	    out);
	ck_assert_uint_eq(again.upload_rate_limit, 3ull << 30);
	ck_assert(again.seed_ratio_limit == 1.5);
	ck_assert_int_eq(again.seed_time_limit, 5000000000LL);
	ck_assert_str_eq(again.completion_hook, "echo \"done\" \\ ok");
	ck_assert_str_eq(again.rpc.password, "pw");
	ck_assert_str_eq(again.rpc.bind, "::1");
	ck_assert_uint_eq(again.key_count, 1);
	ck_assert_str_eq(again.keys[0].key, "Q");
	ck_assert_int_eq(again.encryption, DP_ENCRYPTION_TOLERATED);
	free(out);

	/* Without secrets the password is not shown. */
	f = open_memstream(&out, &len);
	config_print(f, &c, false);
	fclose(f);
	ck_assert_ptr_null(strstr(out, "\"pw\""));
	ck_assert_ptr_nonnull(strstr(out, "(hidden)"));
	free(out);
	config_free(&c);
	config_free(&again);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_missing_default_file_is_defaults);
	tcase_add_test(tc, test_overrides_from_file);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_unknown_key_places);
	tcase_add_test(tc, test_sample_matches_table);
	tcase_add_test(tc, test_table_entries);
	tcase_add_test(tc, test_wrong_type);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_sample_file_is_defaults);
	tcase_add_test(tc, test_print_round_trip);
	tcase_add_test(tc, test_tilde_expansion_bound);
	suite_add_tcase(s, tc);
	return s;
}
