/* fuzz_krpc.c: libFuzzer target for the KRPC decoder: whatever decodes stays within the limits,
 * and a decoded query or answer encoded again decodes to the same fields. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "krpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct krpc_msg fuzz_m, fuzz_again;

static void
fuzz_krpc_reencode(const struct krpc_msg *m, struct dp_buf *b)
{
	struct krpc_head h = { m->tid, m->tid_len, NULL, m->read_only };
	if (m->type == KRPC_QUERY) {
		switch (m->method) {
		case KRPC_PING: krpc_enc_ping(b, &h, m->id); break;
		case KRPC_FIND_NODE:
			krpc_enc_find_node(b, &h, m->id, m->target, m->want4, m->want6);
			break;
		case KRPC_GET_PEERS:
			krpc_enc_get_peers(b, &h, m->id, m->target, m->want4, m->want6);
			break;
		case KRPC_ANNOUNCE_PEER:
			krpc_enc_announce_peer(b, &h, m->id, m->target, m->port, m->implied_port,
			    m->token, m->token_len);
			break;
		case KRPC_UNKNOWN: break;
		}
	} else if (m->type == KRPC_RESPONSE) {
		struct krpc_node all[2 * KRPC_MAX_NODES];
		memcpy(all, m->nodes, m->nnodes * sizeof all[0]);
		memcpy(all + m->nnodes, m->nodes6, m->nnodes6 * sizeof all[0]);
		struct krpc_reply r = { m->id, m->has_ip ? (const struct sockaddr *)&m->ip : NULL, all,
			m->nnodes + m->nnodes6, m->token_len > 0 ? m->token : NULL, m->token_len,
			m->has_values ? m->values : NULL, m->nvalues };
		krpc_enc_reply(b, &h, &r);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	if (krpc_decode(data, size, &fuzz_m, err, sizeof err) < 0)
		return 0;
	const struct krpc_msg *m = &fuzz_m;
	if (m->tid_len > KRPC_TID_MAX || m->token_len > KRPC_TOKEN_MAX ||
	    m->nnodes > KRPC_MAX_NODES || m->nnodes6 > KRPC_MAX_NODES ||
	    m->nvalues > KRPC_MAX_VALUES || strlen(m->error_msg) >= sizeof m->error_msg)
		abort();
	struct dp_buf b;
	dp_buf_init(&b);
	fuzz_krpc_reencode(m, &b);
	if (b.len > 0) {
		if (krpc_decode(b.data, b.len, &fuzz_again, err, sizeof err) < 0)
			abort();
		const struct krpc_msg *a = &fuzz_again;
		if (a->type != m->type || a->tid_len != m->tid_len ||
		    memcmp(a->tid, m->tid, m->tid_len) != 0 || memcmp(a->id, m->id, DHT_ID_LEN) != 0 ||
		    a->nnodes != m->nnodes || a->nnodes6 != m->nnodes6 || a->nvalues != m->nvalues ||
		    a->token_len != m->token_len)
			abort();
		if (m->type == KRPC_QUERY && (a->method != m->method ||
		    memcmp(a->target, m->target, DHT_ID_LEN) != 0 || a->port != m->port))
			abort();
	}
	dp_buf_free(&b);
	return 0;
}
