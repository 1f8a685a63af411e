/* extensions.h: the engine's BEP 10 extension table: every extension peers may speak, one entry
 * each (peer_ext.h). The session lends it to its peers; peer.c dispatches by id. */
#ifndef DP_EXTENSIONS_H
#define DP_EXTENSIONS_H

#include <stddef.h>

struct peer_ext;

extern const struct peer_ext *const extensions_table[];
extern const size_t extensions_count;

#endif
