/* fuzz_dht_state.c: libFuzzer target for the DHT's saved node table (dht.dat, read from the
 * session directory): whatever decodes is bounded and survives encoding and decoding again. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dht_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[DHT_ID_LEN], id2[DHT_ID_LEN];
	struct krpc_node *nodes, *again;
	size_t n, n2;
	char err[128];
	if (dht_state_decode(data, size, id, &nodes, &n, err, sizeof err) < 0)
		return 0;
	if (n > 2 * DHT_STATE_MAX_NODES)
		abort();
	struct dp_buf b;
	dp_buf_init(&b);
	dht_state_encode(&b, id, nodes, n);
	if (dht_state_decode(b.data, b.len, id2, &again, &n2, err, sizeof err) < 0 || n2 != n ||
	    memcmp(id, id2, DHT_ID_LEN) != 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (memcmp(nodes[i].id, again[i].id, DHT_ID_LEN) != 0 ||
		    nodes[i].addrlen != again[i].addrlen ||
		    memcmp(&nodes[i].addr, &again[i].addr, nodes[i].addrlen) != 0)
			abort();
	free(nodes);
	free(again);
	dp_buf_free(&b);
	return 0;
}
