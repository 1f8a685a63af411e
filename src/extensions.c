/* extensions.c: the engine's BEP 10 extension table. Adding an extension (lt_donthave,
 * ut_holepunch) is one line here and its entry in its own file; local ids must differ. */
#include "config.h"

#include "extensions.h"
#include "metadata_fetch.h"
#include "peer_ext.h"
#include "ut_pex.h"
#include "util.h"

const struct peer_ext *const extensions_table[] = {
	&metadata_fetch_ext,         /* BEP 9 ut_metadata, local id 2 */
	&ut_pex_ext,                 /* BEP 11 ut_pex, local id 1 */
};

const size_t extensions_count = DP_ARRAY_LEN(extensions_table);
