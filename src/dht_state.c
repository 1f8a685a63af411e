/* dht_state.c: encoding and decoding of the DHT's saved node table (dht.dat). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "bencode.h"
#include "dht_state.h"

static const struct be_limits dht_state_limits = {
	.max_depth = 2,
	.max_items = 16,
	.require_sorted = false,
};

static void
dht_state_put_nodes(struct dp_buf *b, const char *key, int family, const struct krpc_node *nodes,
    size_t n)
{
	struct dp_buf s;
	uint8_t one[KRPC_NODE6_LEN];
	dp_buf_init(&s);
	for (size_t i = 0; i < n; i++)
		if (nodes[i].addr.ss_family == family)
			dp_buf_add(&s, one, krpc_compact_node(&nodes[i], one));
	be_enc_cstr(b, key);
	be_enc_str(b, s.data, s.len);
	dp_buf_free(&s);
}

void
dht_state_encode(struct dp_buf *b, const uint8_t id[DHT_ID_LEN], const struct krpc_node *nodes,
    size_t n)
{
	be_enc_dict_begin(b);
	be_enc_cstr(b, "id");
	be_enc_str(b, id, DHT_ID_LEN);
	dht_state_put_nodes(b, "nodes", AF_INET, nodes, n);
	dht_state_put_nodes(b, "nodes6", AF_INET6, nodes, n);
	be_enc_end(b);
}

static int
dht_state_get_nodes(const struct be_node *d, const char *key, size_t entry,
    struct krpc_node **nodes, size_t *n, char *err, size_t errlen)
{
	const struct be_node *s = be_dict_get(d, key);
	if (s == NULL)
		return 0;
	if (s->type != BE_STR || s->v.str.len % entry != 0)
		return dp_fail(err, errlen, "'%s' is not a list of compact nodes", key);
	size_t cnt = DP_MIN(s->v.str.len / entry, DHT_STATE_MAX_NODES);
	*nodes = xreallocarray(*nodes, *n + cnt + 1, sizeof **nodes);
	const uint8_t *p = (const uint8_t *)s->v.str.s;
	for (size_t i = 0; i < cnt; i++, p += entry) {
		struct krpc_node *kn = &(*nodes)[*n];
		memcpy(kn->id, p, DHT_ID_LEN);
		krpc_parse_compact_addr(p + DHT_ID_LEN, entry - DHT_ID_LEN, &kn->addr, &kn->addrlen);
		(*n)++;
	}
	return 0;
}

int
dht_state_decode(const uint8_t *buf, size_t len, uint8_t id[DHT_ID_LEN],
    struct krpc_node **nodes, size_t *n, char *err, size_t errlen)
{
	memset(id, 0, DHT_ID_LEN);
	*nodes = NULL;
	*n = 0;
	struct be_error berr;
	struct be_node *d = be_decode(buf, len, &dht_state_limits, &berr);
	if (d == NULL)
		return dp_fail(err, errlen, "not bencoded: %s", berr.msg);
	int rc = 0;
	const struct be_node *idn = be_dict_get_type(d, "id", BE_STR);
	if (d->type != BE_DICT)
		rc = dp_fail(err, errlen, "not a dictionary");
	else if (idn != NULL && idn->v.str.len != DHT_ID_LEN)
		rc = dp_fail(err, errlen, "a node id of %zu bytes", idn->v.str.len);
	else if (dht_state_get_nodes(d, "nodes", KRPC_NODE4_LEN, nodes, n, err, errlen) < 0 ||
	    dht_state_get_nodes(d, "nodes6", KRPC_NODE6_LEN, nodes, n, err, errlen) < 0)
		rc = -1;
	if (rc == 0 && idn != NULL)
		memcpy(id, idn->v.str.s, DHT_ID_LEN);
	be_free(d);
	if (rc < 0) {
		free(*nodes);
		*nodes = NULL;
		*n = 0;
	}
	return rc;
}
