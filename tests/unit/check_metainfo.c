/* check_metainfo.c: .torrent parsing: info-hashes against values computed by Python's hashlib,
 * every validation rule, trackers and web seeds, and the path sanitising. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <check.h>

#include "metainfo.h"
#include "suites.h"
#include "util.h"

#define P1 "6:pieces20:AAAAAAAAAAAAAAAAAAAA"
#define P2 "6:pieces40:AAAAAAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBBBBB"
#define PL64 "12:piece lengthi64e"

/* sha1 = acea93e5029a5ff6e499cba599357472bd448f59 (hashlib over the info value) */
#define INFO_SINGLE "d6:lengthi100e4:name5:a.txt" PL64 P2 "e"
/* the same keys out of order: sha1 = b44e0e925a93c63974f940f423506296450074e2 */
#define INFO_UNSORTED "d4:name5:a.txt6:lengthi100e" PL64 P2 "e"
/* sha1 = 2f5579d35d474bee4af41912ba2ff052a508ce47 */
#define INFO_MULTI "d5:filesld6:lengthi50e4:pathl3:dir5:a.txteed4:attr1:p6:lengthi14e4:pathl4:" \
	".pad2:14eed6:lengthi36e4:pathl4:b\xff""ine10:path.utf-8l5:b\xc3\xa9""ineee4:name3:top10:" \
	"name.utf-84:Top!" PL64 "6:pieces40:CCCCCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDDDDD7:privatei1ee"

static struct metainfo *
parse(const char *s, char *err, size_t errlen)
{
	return metainfo_parse((const uint8_t *)s, strlen(s), err, errlen);
}

static void
assert_refused(const char *torrent, const char *msg_part)
{
	char err[256] = "";
	struct metainfo *mi = parse(torrent, err, sizeof err);
	ck_assert_msg(mi == NULL, "'%s' should be refused", torrent);
	ck_assert_msg(strstr(err, msg_part) != NULL, "'%s': error '%s' lacks '%s'", torrent, err,
	    msg_part);
}

/* A torrent whose info dictionary has these entries (written inside "d...e"). */
static void
assert_info_refused(const char *info_entries, const char *msg_part)
{
	char *t = xasprintf("d4:infod%see", info_entries);
	assert_refused(t, msg_part);
	free(t);
}

static struct metainfo *
parse_files(const char *files_entries, char *err, size_t errlen)
{
	char *t = xasprintf("d4:infod5:filesl%se4:name1:x" PL64 P1 "ee", files_entries);
	struct metainfo *mi = parse(t, err, errlen);
	free(t);
	return mi;
}

START_TEST(test_single_file)
{
	char err[256];
	struct metainfo *mi = parse("d8:announce32: http://127.0.0.1:6969/announce\t"
	    "7:comment5:hello10:created by9:mktorrent13:creation datei1700000000e"
	    "4:info" INFO_SINGLE "8:url-list18:http://127.0.0.1/se", err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_str_eq(mi->info_hash_hex, "acea93e5029a5ff6e499cba599357472bd448f59");
	ck_assert_int_eq(mi->info_hash[0], 0xac);
	ck_assert_str_eq(mi->name, "a.txt");
	ck_assert_str_eq(mi->display_name, "a.txt");
	ck_assert(!mi->multi_file);
	ck_assert(!mi->is_private);
	ck_assert(!mi->hybrid);
	ck_assert_uint_eq(mi->piece_length, 64);
	ck_assert_uint_eq(mi->piece_count, 2);
	ck_assert_uint_eq(metainfo_piece_size(mi, 0), 64);
	ck_assert_uint_eq(metainfo_piece_size(mi, 1), 36);
	ck_assert_uint_eq(metainfo_piece_size(mi, 2), 0);
	ck_assert(memcmp(mi->piece_hashes + 20, "BBBBBBBBBBBBBBBBBBBB", 20) == 0);
	ck_assert_uint_eq(mi->total_size, 100);
	ck_assert_uint_eq(mi->file_count, 1);
	ck_assert_str_eq(mi->files[0].path, "a.txt");
	ck_assert_uint_eq(mi->files[0].length, 100);
	ck_assert_uint_eq(mi->tier_count, 1);
	ck_assert_uint_eq(mi->tiers[0].count, 1);
	ck_assert_str_eq(mi->tiers[0].urls[0], "http://127.0.0.1:6969/announce");
	ck_assert_uint_eq(mi->webseed_count, 1);
	ck_assert_str_eq(mi->webseeds[0], "http://127.0.0.1/s");
	ck_assert_str_eq(mi->comment, "hello");
	ck_assert_str_eq(mi->created_by, "mktorrent");
	ck_assert(mi->has_creation_date);
	ck_assert(mi->creation_date == 1700000000);
	ck_assert_uint_eq(mi->info_len, strlen(INFO_SINGLE));
	ck_assert(memcmp(mi->info_raw, INFO_SINGLE, mi->info_len) == 0);
	metainfo_free(mi);
}
END_TEST

START_TEST(test_unsorted_and_bare_info)
{
	char err[256];
	/* Out-of-order keys at both levels: accepted, hashed exactly as written. */
	struct metainfo *mi = parse("d4:info" INFO_UNSORTED "8:announce3:a:be", err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_str_eq(mi->info_hash_hex, "b44e0e925a93c63974f940f423506296450074e2");
	ck_assert(!mi->has_creation_date);
	ck_assert_ptr_null(mi->comment);
	metainfo_free(mi);
	mi = metainfo_parse_info((const uint8_t *)INFO_SINGLE, strlen(INFO_SINGLE), err,
	    sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_str_eq(mi->info_hash_hex, "acea93e5029a5ff6e499cba599357472bd448f59");
	ck_assert_uint_eq(mi->tier_count, 0);
	metainfo_free(mi);
	ck_assert_ptr_null(metainfo_parse_info((const uint8_t *)"i1e", 3, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "not a dictionary"));
	ck_assert_ptr_null(metainfo_parse_info((const uint8_t *)"d4:name", 7, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "bad info dictionary"));
}
END_TEST

START_TEST(test_multi_file)
{
	char err[256];
	struct metainfo *mi = parse("d13:announce-listll13: http://t1/a e"
	    "l11:http://t2/a0:11:http://t1/a10:udp://t3:1el0:ee"
	    "9:httpseedsl11:http://h/s e4:info" INFO_MULTI "8:url-listl8:http://a8:http://be"
	    "8:announce11:http://t9/ae", err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_str_eq(mi->info_hash_hex, "2f5579d35d474bee4af41912ba2ff052a508ce47");
	ck_assert(mi->multi_file);
	ck_assert(mi->is_private);
	ck_assert_str_eq(mi->name, "Top!");            /* name.utf-8 preferred */
	ck_assert_uint_eq(mi->file_count, 3);
	ck_assert_str_eq(mi->files[0].path, "dir/a.txt");
	ck_assert_uint_eq(mi->files[0].offset, 0);
	ck_assert(!mi->files[0].pad);
	ck_assert_str_eq(mi->files[1].path, ".pad/14");
	ck_assert(mi->files[1].pad);
	ck_assert_uint_eq(mi->files[1].offset, 50);
	ck_assert_str_eq(mi->files[2].path, "b\xc3\xa9in");  /* path.utf-8 preferred */
	ck_assert_uint_eq(mi->files[2].offset, 64);
	ck_assert_uint_eq(mi->files[2].length, 36);
	ck_assert_uint_eq(mi->total_size, 100);
	/* announce-list wins over announce; URLs trimmed; blanks, repeats and empty tiers dropped */
	ck_assert_uint_eq(mi->tier_count, 2);
	ck_assert_uint_eq(mi->tiers[0].count, 1);
	ck_assert_str_eq(mi->tiers[0].urls[0], "http://t1/a");
	ck_assert_uint_eq(mi->tiers[1].count, 2);
	ck_assert_str_eq(mi->tiers[1].urls[0], "http://t2/a");
	ck_assert_str_eq(mi->tiers[1].urls[1], "udp://t3:1");
	ck_assert_uint_eq(mi->webseed_count, 2);
	ck_assert_str_eq(mi->webseeds[1], "http://b");
	ck_assert_uint_eq(mi->httpseed_count, 1);
	ck_assert_str_eq(mi->httpseeds[0], "http://h/s");
	metainfo_free(mi);
}
END_TEST

START_TEST(test_validation)
{
	assert_refused("", "not a torrent file");
	assert_refused("le", "top level is a list");
	assert_refused("d8:announce1:ae", "'info' is missing");
	assert_refused("d4:infoli1eee", "'info' is a list, not a dictionary");
	/* piece length */
	assert_info_refused("6:lengthi100e4:name1:x" P2, "'piece length' is missing");
	assert_info_refused("6:lengthi100e4:name1:x12:piece length2:64" P2, "not an integer");
	assert_info_refused("6:lengthi100e4:name1:x12:piece lengthi0e" P2, "not positive");
	assert_info_refused("6:lengthi100e4:name1:x12:piece lengthi-64e" P2, "not positive");
	assert_info_refused("6:lengthi100e4:name1:x12:piece lengthi268435457e" P1, "256 MiB");
	assert_info_refused("6:lengthi100e4:name1:x12:piece lengthi4294967296e" P1, "256 MiB");
	/* name */
	assert_info_refused("6:lengthi100e" PL64 P2, "'name' is missing");
	assert_info_refused("6:lengthi100e4:namei1e" PL64 P2, "'name' is not a string");
	assert_info_refused("6:lengthi100e4:name0:" PL64 P2, "'name' is empty");
	/* lengths */
	assert_info_refused("6:lengthi-1e4:name1:x" PL64 P1, "negative length");
	assert_info_refused("6:length3:1004:name1:x" PL64 P2, "'length' is a string");
	assert_info_refused("6:lengthi0e4:name1:x" PL64 "6:pieces0:", "total size is zero");
	assert_info_refused("4:name1:x" PL64 P2, "neither 'length' nor 'files'");
	assert_info_refused("5:filesle6:lengthi1e4:name1:x" PL64 P1, "both 'length' and 'files'");
	/* pieces */
	assert_info_refused("6:lengthi100e4:name1:x" PL64, "'pieces' is missing");
	assert_info_refused("6:lengthi100e4:name1:x" PL64 "6:piecesi1e", "not a string");
	assert_info_refused("6:lengthi100e4:name1:x" PL64 "6:pieces3:abc", "not a multiple of 20");
	assert_info_refused("6:lengthi100e4:name1:x" PL64 P1, "holds 1 hashes");
	assert_info_refused("6:lengthi10e4:name1:x" PL64 P2, "holds 2 hashes");
	/* file lists */
	assert_info_refused("5:filesi1e4:name1:x" PL64 P1, "'files' is an integer, not a list");
	assert_info_refused("5:filesle4:name1:x" PL64 P1, "lists no files");
	assert_info_refused("5:filesli1ee4:name1:x" PL64 P1, "file 0 is an integer");
	assert_info_refused("5:filesld4:pathl1:aeee4:name1:x" PL64 P1, "'length' is missing");
	assert_info_refused("5:filesld6:length1:14:pathl1:aeee4:name1:x" PL64 P1,
	    "'length' is not an integer");
	assert_info_refused("5:filesld6:lengthi-5e4:pathl1:aeee4:name1:x" PL64 P1,
	    "negative length");
	assert_info_refused("5:filesld6:lengthi5eee4:name1:x" PL64 P1, "'path' is missing");
	assert_info_refused("5:filesld6:lengthi5e4:path1:aee4:name1:x" PL64 P1,
	    "not a non-empty list");
	assert_info_refused("5:filesld6:lengthi5e4:pathleee4:name1:x" PL64 P1,
	    "not a non-empty list");
	assert_info_refused("5:filesld6:lengthi5e4:pathli1eeee4:name1:x" PL64 P1,
	    "not a non-empty list");
	assert_info_refused("5:filesld6:lengthi5e4:pathl1:aeed6:lengthi0e4:pathl1:beee4:name1:x"
	    PL64 P2, "holds 2 hashes");
	assert_info_refused("5:filesld6:lengthi9223372036854775807e4:pathl1:aeed6:lengthi1e4:"
	    "pathl1:beee4:name1:x" PL64 P1, "overflows");
	assert_info_refused("6:lengthi9223372036854775807e4:name1:x12:piece lengthi1e" P1,
	    "too many");
	assert_info_refused("6:lengthi1e4:name1:x12:meta versioni3e" PL64 P1,
	    "unknown meta version 3");
}
END_TEST

/* Torrents libtorrent loads that downpour refused (issue 11, finding 12), loaded the same way. */
START_TEST(test_libtorrent_accepts)
{
	char err[256] = "";
	/* A line end after the final 'e'. */
	struct metainfo *mi = parse("d4:infod6:lengthi50e4:name1:x" PL64 P1 "ee\n", err,
	    sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	metainfo_free(mi);
	/* BEP 47 symbolic links: no 'length', or one that is ignored; without a target, an empty
	 * regular file. */
	static const char *const links[] = {
		"d4:attr1:l4:pathl4:linke12:symlink pathl1:aee",
		"d4:attr1:l6:lengthi500e4:pathl4:linke12:symlink pathl1:aee",
		"d4:attr2:lx6:length1:x4:pathl4:linke12:symlink pathl3:dir1:aee",
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(links); i++) {
		char *files = xasprintf("d6:lengthi50e4:pathl1:aee%s", links[i]);
		mi = parse_files(files, err, sizeof err);
		free(files);
		ck_assert_msg(mi != NULL, "link %zu: %s", i, err);
		ck_assert_uint_eq(mi->file_count, 2);
		ck_assert_uint_eq(mi->total_size, 50);
		ck_assert_str_eq(mi->files[1].path, "link");
		ck_assert_uint_eq(mi->files[1].length, 0);
		ck_assert(mi->files[1].symlink && !mi->files[1].pad);
		ck_assert_str_eq(mi->files[1].symlink_target, i == 2 ? "dir/a" : "a");
		metainfo_free(mi);
	}
	mi = parse_files("d6:lengthi50e4:pathl1:aeed4:attr1:l4:pathl4:linkee", err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert(!mi->files[1].symlink && mi->files[1].length == 0);
	metainfo_free(mi);
	/* Pad files without a path, or with an empty one: named .pad/LENGTH as libtorrent does. */
	static const char *const pads[] = { "d4:attr1:p6:lengthi14ee",
		"d4:attr1:p6:lengthi14e4:pathlee" };
	for (size_t i = 0; i < DP_ARRAY_LEN(pads); i++) {
		char *files = xasprintf("d6:lengthi50e4:pathl1:aee%s", pads[i]);
		mi = parse_files(files, err, sizeof err);
		free(files);
		ck_assert_msg(mi != NULL, "pad %zu: %s", i, err);
		ck_assert_uint_eq(mi->total_size, 64);
		ck_assert(mi->files[1].pad);
		ck_assert_str_eq(mi->files[1].path, ".pad/14");
		metainfo_free(mi);
	}
	/* What libtorrent refuses stays refused: a file that is no pad needs its path, and a pad
	 * its length. */
	ck_assert_ptr_null(parse_files("d6:lengthi50e4:pathl1:aeed4:attr1:x6:lengthi14ee", err,
	    sizeof err));
	ck_assert_msg(strstr(err, "'path' is missing") != NULL, "%s", err);
	ck_assert_ptr_null(parse_files("d6:lengthi50e4:pathl1:aeed4:attr1:p4:pathl1:pee", err,
	    sizeof err));
	ck_assert_msg(strstr(err, "'length' is missing") != NULL, "%s", err);
}
END_TEST

START_TEST(test_v2_and_hybrid)
{
	/* The v2 parts have their own suite (check_metainfo_v2.c); here: what v1 callers see. */
	char err[256];
	/* v2-only: loads (the engine refuses it only without piece layers) */
	const char *v2 = "d4:infod9:file treed1:ad0:d6:lengthi5e11:pieces root32:"
	    "0123456789abcdef0123456789abcdefeee12:meta versioni2e4:name1:a"
	    "12:piece lengthi16384eee";
	struct metainfo *mi = parse(v2, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert(mi->has_v2 && !mi->has_v1 && !mi->hybrid);
	ck_assert_uint_eq(mi->total_size, 16384);     /* the file and its tail pad */
	ck_assert_uint_eq(mi->file_count, 2);
	ck_assert(mi->files[1].pad);
	metainfo_free(mi);
	/* meta version 2 with v1 keys but no pieces: a broken hybrid, not a v2-only torrent */
	assert_refused("d4:infod12:meta versioni2e6:lengthi5e4:name1:a"
	    "12:piece lengthi16384eee", "'pieces' is missing");
	/* a stray file tree without meta version 2 is ignored: plain v1 as before */
	mi = parse("d4:infod9:file treed1:xd0:d6:lengthi100e11:pieces root32:"
	    "0123456789abcdef0123456789abcdefeee6:lengthi100e4:name1:x" PL64 P2 "ee", err,
	    sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert(!mi->hybrid && mi->has_v1 && !mi->has_v2);
	ck_assert_ptr_null(mi->piece_hashes_v2);
	metainfo_free(mi);
	/* meta version 1 is plain v1 */
	mi = parse("d4:infod12:meta versioni1e6:lengthi100e4:name1:x" PL64 P2 "ee", err,
	    sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert(!mi->hybrid && mi->has_v1 && !mi->has_v2);
	metainfo_free(mi);
}
END_TEST

static void
assert_component(const char *in, size_t len, const char *expected)
{
	char *s = metainfo_sanitize_component(in, len);
	ck_assert_msg(strcmp(s, expected) == 0, "sanitised to '%s', expected '%s'", s, expected);
	free(s);
}

static bool
utf8_ok(const char *s)
{
	/* Round trip through the sanitiser: valid UTF-8 of at most 255 bytes comes back unchanged. */
	char *t = metainfo_sanitize_component(s, strlen(s));
	bool same = strcmp(s, t) == 0;
	free(t);
	return same;
}

START_TEST(test_sanitize_component)
{
	assert_component("", 0, "_");
	assert_component(".", 1, "_");
	assert_component("..", 2, "_");
	assert_component("...", 3, "...");
	assert_component("a/b", 3, "a_b");
	assert_component("/etc", 4, "_etc");
	assert_component("a\0b", 3, "a_b");
	assert_component("tab\there", 8, "tab_here");
	assert_component("caf\xc3\xa9", 5, "caf\xc3\xa9");
	assert_component("bad\xff\xfe", 5, "bad__");
	assert_component("\xc3", 1, "_");                 /* truncated sequence */
	assert_component("\xc0\xaf", 2, "__");            /* overlong '/' */
	assert_component("\xed\xa0\x80", 3, "___");       /* surrogate */

	/* 300 bytes + ".txt": shortened to 255 bytes, extension kept */
	char longname[400];
	memset(longname, 'x', 300);
	memcpy(longname + 300, ".txt", 5);
	char *s = metainfo_sanitize_component(longname, strlen(longname));
	ck_assert_uint_eq(strlen(s), 255);
	ck_assert_str_eq(s + 251, ".txt");
	free(s);

	/* multi-byte characters are never cut in half */
	struct dp_buf b;
	dp_buf_init(&b);
	for (int i = 0; i < 150; i++)
		dp_buf_add_str(&b, "\xe2\x82\xac");    /* euro sign, 3 bytes */
	dp_buf_add_str(&b, ".iso");
	s = metainfo_sanitize_component((const char *)b.data, b.len);
	ck_assert_uint_le(strlen(s), 255);
	ck_assert_str_eq(s + strlen(s) - 4, ".iso");
	ck_assert(utf8_ok(s));
	ck_assert_uint_eq((strlen(s) - 4) % 3, 0);
	free(s);
	dp_buf_free(&b);

	/* a 200-byte "extension" is not kept as one: plain truncation */
	memset(longname, 'y', 100);
	longname[100] = '.';
	memset(longname + 101, 'z', 200);
	longname[301] = '\0';
	s = metainfo_sanitize_component(longname, 301);
	ck_assert_uint_eq(strlen(s), 255);
	ck_assert_int_eq(s[254], 'z');
	free(s);
}
END_TEST

START_TEST(test_paths_in_torrent)
{
	char err[256];
	struct metainfo *mi = parse_files(
	    "d6:lengthi1e4:pathl2:..2:..3:etc6:passwdee"      /* escapes dropped */
	    "d6:lengthi1e4:pathl4:/abs0:1:.1:fee"             /* absolute, empty, "." */
	    "d6:lengthi1e4:pathl7:bar.txtee"
	    "d6:lengthi1e4:pathl7:bar.txtee"                  /* duplicate */
	    "d6:lengthi1e4:pathl7:bar.txtee"                  /* and again */
	    "d6:lengthi1e4:pathl1:aee"                        /* a file named like a folder */
	    "d6:lengthi1e4:pathl1:a1:bee"
	    "d6:lengthi1e4:pathl2:..ee"                       /* nothing left */
	    "d6:lengthi1e4:pathl3:a/bee"                      /* '/' inside a component */
	    "d6:lengthi1e4:pathl3:x\xff" "yee"                  /* not UTF-8 */
	    "d4:attr1:p6:lengthi1e4:pathl4:.pad1:1ee"
	    "d4:attr2:xp6:lengthi1e4:pathl4:.pad1:1ee",       /* pad files may repeat */
	    err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_uint_eq(mi->file_count, 12);
	const char *expected[] = { "etc/passwd", "_abs/f", "bar.txt", "bar.1.txt", "bar.2.txt",
		"a.1", "a/b", "_", "a_b", "x_y", ".pad/1", ".pad/1" };
	for (size_t i = 0; i < 12; i++)
		ck_assert_msg(strcmp(mi->files[i].path, expected[i]) == 0, "file %zu: '%s' not '%s'",
		    i, mi->files[i].path, expected[i]);
	ck_assert_str_eq(mi->files[0].display_path, "../../etc/passwd");
	ck_assert_str_eq(mi->files[3].display_path, "bar.txt");
	ck_assert_str_eq(mi->files[8].display_path, "a/b");
	ck_assert(mi->files[10].pad && mi->files[11].pad);
	ck_assert_uint_eq(mi->total_size, 12);
	for (size_t i = 0; i < mi->file_count; i++) {
		const char *p = mi->files[i].path;
		ck_assert(p[0] != '/');
		ck_assert_ptr_null(strstr(p, "//"));
		ck_assert(strcmp(p, "..") != 0 && strncmp(p, "../", 3) != 0);
		ck_assert_ptr_null(strstr(p, "/../"));
	}
	metainfo_free(mi);

	/* the torrent's own name is sanitised the same way */
	mi = parse("d4:infod6:lengthi100e4:name2:.." PL64 P2 "ee", err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_str_eq(mi->name, "_");
	ck_assert_str_eq(mi->display_name, "..");
	ck_assert_str_eq(mi->files[0].path, "_");
	metainfo_free(mi);
	mi = parse("d4:infod6:lengthi100e4:name8:../a/b\xff\xfe" PL64 P2 "ee", err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_str_eq(mi->name, ".._a_b__");
	metainfo_free(mi);
	/* an invalid name.utf-8 falls back to name */
	mi = parse("d4:infod6:lengthi100e4:name1:n10:name.utf-81:\xff" PL64 P2 "ee", err,
	    sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_str_eq(mi->name, "n");
	metainfo_free(mi);

	/* renaming a long name keeps it within 255 bytes */
	char *longfile = xmalloc(301);
	memset(longfile, 'q', 296);
	memcpy(longfile + 296, ".mkv", 5);
	char *files = xasprintf("d6:lengthi1e4:pathl300:%see"
	    "d6:lengthi1e4:pathl300:%see", longfile, longfile);
	mi = parse_files(files, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_uint_eq(strlen(mi->files[0].path), 255);
	ck_assert_uint_eq(strlen(mi->files[1].path), 255);
	ck_assert_str_eq(mi->files[1].path + 249, ".1.mkv");
	ck_assert_str_ne(mi->files[0].path, mi->files[1].path);
	metainfo_free(mi);
	free(files);
	free(longfile);
}
END_TEST

/* Thousands of copies of one name: all distinct, numbered in order, without quadratic probing. */
START_TEST(test_many_duplicates)
{
	char err[256];
	struct dp_buf files;
	dp_buf_init(&files);
	dp_buf_add_str(&files, "d6:lengthi1e4:pathl4:realee");
	for (int i = 0; i < 3000; i++)
		dp_buf_add_str(&files, i % 2 ? "d6:lengthi0e4:pathl1:d7:bar.txtee" :
		    "d6:lengthi0e4:pathl1:d9:bar.1.txtee");
	uint64_t start = dp_now_ms();
	struct metainfo *mi = parse_files((const char *)files.data, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_uint_lt(dp_now_ms() - start, 5000);
	ck_assert_uint_eq(mi->file_count, 3001);
	ck_assert_str_eq(mi->files[1].path, "d/bar.1.txt");
	ck_assert_str_eq(mi->files[2].path, "d/bar.txt");
	ck_assert_str_eq(mi->files[3].path, "d/bar.1.1.txt");
	ck_assert_str_eq(mi->files[4].path, "d/bar.2.txt");
	ck_assert_str_eq(mi->files[3000].path, "d/bar.1500.txt");
	size_t same = 0;
	for (size_t i = 0; i < mi->file_count; i++)
		for (size_t j = i + 1; j < mi->file_count; j++)
			same += strcmp(mi->files[i].path, mi->files[j].path) == 0;
	ck_assert_uint_eq(same, 0);
	metainfo_free(mi);
	dp_buf_free(&files);
}
END_TEST

START_TEST(test_load)
{
	char err[512];
	char path[] = "/tmp/check_metainfo_XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *t = "d4:info" INFO_SINGLE "e";
	ck_assert_int_eq(write(fd, t, strlen(t)), (int)strlen(t));
	close(fd);
	struct metainfo *mi = metainfo_load(path, err, sizeof err);
	ck_assert_msg(mi != NULL, "%s", err);
	ck_assert_str_eq(mi->info_hash_hex, "acea93e5029a5ff6e499cba599357472bd448f59");
	metainfo_free(mi);
	/* a parse error names the file */
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "d4:infoi1ee", 11), 11);
	close(fd);
	ck_assert_ptr_null(metainfo_load(path, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "not a dictionary"));
	unlink(path);
	ck_assert_ptr_null(metainfo_load(path, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	ck_assert_ptr_null(metainfo_load("/tmp", err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "directory"));
}
END_TEST

Suite *
metainfo_suite(void)
{
	Suite *s = suite_create("metainfo");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_single_file);
	tcase_add_test(tc, test_unsorted_and_bare_info);
	tcase_add_test(tc, test_multi_file);
	tcase_add_test(tc, test_validation);
	tcase_add_test(tc, test_libtorrent_accepts);
	tcase_add_test(tc, test_v2_and_hybrid);
	tcase_add_test(tc, test_sanitize_component);
	tcase_add_test(tc, test_paths_in_torrent);
	tcase_add_test(tc, test_many_duplicates);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	return s;
}
