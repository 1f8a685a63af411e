/* path_complete.h: paths the user types where the engine runs: "~/" for the home folder, a
 * relative path from a given folder, and Tab completion of the last name (path_complete.c).
 * Shared by the UI in process and the daemon answering an attached UI. */
#ifndef DP_PATH_COMPLETE_H
#define DP_PATH_COMPLETE_H

#include <stddef.h>

/* The path text names: "~/x" under $HOME, a relative one under cwd (NULL or "": as given). A
 * new string. */
char *path_resolve(const char *cwd, const char *text);
/*
 * Completes the last name of the path in buf in place; returns how many names matched, -1 when
 * the folder has too many to read (PATH_COMPLETE_MAX_NAMES). With more than one, the common
 * prefix is filled in and up to hintlen bytes of the names (folders with a '/') go to hint. "~/"
 * is expanded in buf; a relative path is looked up under cwd (NULL: the current folder) and
 * stays relative. Hidden names only when the name typed starts with '.'. Reads the file system:
 * the daemon runs it on the disk pool (attach_server.c).
 */
int path_complete(const char *cwd, char *buf, size_t buflen, char *hint, size_t hintlen);

/* Names path_complete reads from one folder at most: past them it completes nothing, says so
 * in hint and returns -1 (readdir gives names in no order, so part of a folder cannot tell). */
#define PATH_COMPLETE_MAX_NAMES 100000
/* path_complete with another bound (tests). */
int path_complete_bounded(const char *cwd, char *buf, size_t buflen, char *hint, size_t hintlen,
    size_t max_names);

#endif
