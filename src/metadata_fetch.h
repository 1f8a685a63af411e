/* metadata_fetch.h: magnet torrents: the placeholder metainfo, fetching the info dictionary over
 * ut_metadata (which peer, timeouts, retries, hash check), turning the torrent into a normal one,
 * and serving our info dictionary to peers that ask. Loop thread only. */
#ifndef DP_ENGINE_INTERNAL
#error "metadata_fetch.h is internal to the engine: front ends include engine.h (see Makefile.am)"
#endif
#ifndef DP_METADATA_FETCH_H
#define DP_METADATA_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct magnet;
struct metainfo;
struct metadata_fetch;
struct peer_ext;
struct torrent;

/* A placeholder for a magnet's torrent until the info dictionary arrives: the info-hash, a name
 * (dn, else the hex hash), one tracker tier per tr, no pieces and no files, info_raw NULL. */
struct metainfo *metadata_placeholder_metainfo(const struct magnet *m);

/* Fetching state for t, whose t->mi is a placeholder; the torrent owns it as t->md. */
struct metadata_fetch *metadata_fetch_new(struct torrent *t);
void metadata_fetch_free(struct metadata_fetch *md);
/* Once a second (the extension's tick): request timeouts, more requests, the task's reason. */
void metadata_fetch_tick(struct metadata_fetch *md, uint64_t now_ms);
/* 0..1 of the metadata pieces received (0 while the size is unknown). */
double metadata_fetch_progress(const struct metadata_fetch *md);
/* The magnet link the torrent was added from, kept (a copy) so the session directory can save
 * it until the metadata arrives; NULL when none was set. */
void metadata_fetch_set_uri(struct metadata_fetch *md, const char *uri);
const char *metadata_fetch_uri(const struct metadata_fetch *md);
/*
 * The info dictionary of t (still fetching) from elsewhere, e.g. a .torrent file of the same
 * info-hash: checked against the info-hash and installed as if ut_metadata had brought it. A
 * torrent fetching goes on to download; a stopped or queued one stays so. 0, or -1 with a
 * one-line reason in err (the fetch goes on untouched).
 */
int metadata_fetch_supply(struct torrent *t, const uint8_t *info, size_t len, char *err,
    size_t errlen);

/* The ut_metadata entry of the extension table (session.c): serving our info dictionary,
 * fetching a magnet's; its tick and its end go with the torrent's. */
extern const struct peer_ext metadata_fetch_ext;

#endif
