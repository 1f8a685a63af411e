/* krpc.c: KRPC (BEP 5, 32, 42) decoding of one datagram with strict limits, and the encoders
 * for the queries, answers and errors the DHT node sends. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "bencode.h"
#include "krpc.h"

/* The deepest valid message is d a/r -> values/want list -> string: three levels; the widest
 * carries KRPC_MAX_VALUES peers plus a dozen keys. */
static const struct be_limits krpc_limits = {
	.max_depth = 4,
	.max_items = 2 * KRPC_MAX_VALUES + 64,
	.require_sorted = false,
};

static const char *const krpc_method_names[] = {
#define X(name, str) str,
	KRPC_METHODS(X)
#undef X
};

const char *
krpc_method_name(enum krpc_method m)
{
	if ((size_t)m < DP_ARRAY_LEN(krpc_method_names))
		return krpc_method_names[m];
	return "unknown";
}

/* A fixed-length string value, or NULL. */
static const uint8_t *
krpc_get_fixed(const struct be_node *d, const char *key, size_t len)
{
	const struct be_node *n = be_dict_get_type(d, key, BE_STR);
	if (n == NULL || n->v.str.len != len)
		return NULL;
	return (const uint8_t *)n->v.str.s;
}

/* Copies at most outlen - 1 bytes of a string, each non-printable byte as '?'. */
static void
krpc_copy_printable(char *out, size_t outlen, const struct be_node *n)
{
	size_t len = DP_MIN(n->v.str.len, outlen - 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)n->v.str.s[i];
		out[i] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
	}
	out[len] = '\0';
}

bool
krpc_parse_compact_addr(const uint8_t *p, size_t len, struct sockaddr_storage *out,
    socklen_t *outlen)
{
	memset(out, 0, sizeof *out);
	if (len == 6) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, p, 4);
		memcpy(&s4->sin_port, p + 4, 2);
		*outlen = sizeof *s4;
		return true;
	}
	if (len == 18) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p, 16);
		memcpy(&s6->sin6_port, p + 16, 2);
		*outlen = sizeof *s6;
		return true;
	}
	return false;
}

size_t
krpc_compact_addr(const struct sockaddr *sa, uint8_t out[18])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		memcpy(out, &s4->sin_addr, 4);
		memcpy(out + 4, &s4->sin_port, 2);
		return 6;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		memcpy(out, &s6->sin6_addr, 16);
		memcpy(out + 16, &s6->sin6_port, 2);
		return 18;
	}
	return 0;
}

size_t
krpc_compact_node(const struct krpc_node *n, uint8_t out[KRPC_NODE6_LEN])
{
	size_t alen = krpc_compact_addr((const struct sockaddr *)&n->addr, out + DHT_ID_LEN);
	if (alen == 0)
		return 0;
	memcpy(out, n->id, DHT_ID_LEN);
	return DHT_ID_LEN + alen;
}

static uint16_t
krpc_port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* "nodes" or "nodes6": whole entries, at most KRPC_MAX_NODES; port 0 entries are skipped. */
static const char *
krpc_parse_nodes(const struct be_node *r, const char *key, size_t entry, struct krpc_node *out,
    size_t *n)
{
	const struct be_node *s = be_dict_get(r, key);
	if (s == NULL)
		return NULL;
	if (s->type != BE_STR || s->v.str.len % entry != 0)
		return "compact nodes of partial entries";
	if (s->v.str.len / entry > KRPC_MAX_NODES)
		return "too many nodes";
	const uint8_t *p = (const uint8_t *)s->v.str.s;
	for (size_t i = 0; i < s->v.str.len; i += entry) {
		struct krpc_node *kn = &out[*n];
		memcpy(kn->id, p + i, DHT_ID_LEN);
		krpc_parse_compact_addr(p + i + DHT_ID_LEN, entry - DHT_ID_LEN, &kn->addr,
		    &kn->addrlen);
		if (krpc_port_of(&kn->addr) != 0)
			(*n)++;
	}
	return NULL;
}

/* "values": a list of compact peers; other lengths and port 0 are skipped, extras ignored. */
static const char *
krpc_parse_values(const struct be_node *r, struct krpc_msg *m)
{
	const struct be_node *l = be_dict_get(r, "values");
	if (l == NULL)
		return NULL;
	if (l->type != BE_LIST)
		return "values is not a list";
	m->has_values = true;
	for (size_t i = 0; i < l->v.list.n && m->nvalues < KRPC_MAX_VALUES; i++) {
		const struct be_node *v = l->v.list.items[i];
		struct krpc_peer *pp = &m->values[m->nvalues];
		if (v->type != BE_STR ||
		    !krpc_parse_compact_addr((const uint8_t *)v->v.str.s, v->v.str.len, &pp->addr,
		    &pp->addrlen) || krpc_port_of(&pp->addr) == 0)
			continue;
		m->nvalues++;
	}
	return NULL;
}

static const char *
krpc_parse_token(const struct be_node *d, struct krpc_msg *m, bool required)
{
	const struct be_node *t = be_dict_get(d, "token");
	if (t == NULL)
		return required ? "no token" : NULL;
	if (t->type != BE_STR || t->v.str.len > KRPC_TOKEN_MAX)
		return "bad token";
	memcpy(m->token, t->v.str.s, t->v.str.len);
	m->token_len = t->v.str.len;
	return NULL;
}

static const char *
krpc_parse_query(const struct be_node *root, struct krpc_msg *m)
{
	const struct be_node *q = be_dict_get_type(root, "q", BE_STR);
	const struct be_node *a = be_dict_get_type(root, "a", BE_DICT);
	if (q == NULL)
		return "query without a method";
	if (a == NULL)
		return "query without arguments";
	m->method = KRPC_UNKNOWN;
	for (size_t i = 0; i < DP_ARRAY_LEN(krpc_method_names); i++)
		if (be_str_eq(q, krpc_method_names[i]))
			m->method = (enum krpc_method)i;
	const uint8_t *id = krpc_get_fixed(a, "id", DHT_ID_LEN);
	if (id == NULL)
		return "query without a node id";
	memcpy(m->id, id, DHT_ID_LEN);
	const struct be_node *want = be_dict_get_type(a, "want", BE_LIST);
	for (size_t i = 0; want != NULL && i < want->v.list.n; i++) {
		m->want4 |= be_str_eq(want->v.list.items[i], "n4");
		m->want6 |= be_str_eq(want->v.list.items[i], "n6");
	}
	const uint8_t *target = NULL;
	switch (m->method) {
	case KRPC_FIND_NODE:
		if ((target = krpc_get_fixed(a, "target", DHT_ID_LEN)) == NULL)
			return "find_node without a target";
		break;
	case KRPC_GET_PEERS:
	case KRPC_ANNOUNCE_PEER:
		if ((target = krpc_get_fixed(a, "info_hash", DHT_ID_LEN)) == NULL)
			return "no info_hash";
		break;
	case KRPC_PING:
	case KRPC_UNKNOWN:
		break;
	}
	if (target != NULL)
		memcpy(m->target, target, DHT_ID_LEN);
	if (m->method == KRPC_ANNOUNCE_PEER) {
		const struct be_node *ip = be_dict_get_type(a, "implied_port", BE_INT);
		const struct be_node *port = be_dict_get_type(a, "port", BE_INT);
		m->implied_port = ip != NULL && ip->v.i != 0;
		if (port != NULL && port->v.i > 0 && port->v.i <= 65535)
			m->port = (uint16_t)port->v.i;
		else if (!m->implied_port)
			return "announce_peer without a valid port";
		const char *why = krpc_parse_token(a, m, true);
		if (why != NULL)
			return why;
	}
	return NULL;
}

static const char *
krpc_parse_response(const struct be_node *root, struct krpc_msg *m)
{
	const struct be_node *r = be_dict_get_type(root, "r", BE_DICT);
	if (r == NULL)
		return "response without a body";
	const uint8_t *id = krpc_get_fixed(r, "id", DHT_ID_LEN);
	if (id == NULL)
		return "response without a node id";
	memcpy(m->id, id, DHT_ID_LEN);
	const char *why;
	if ((why = krpc_parse_nodes(r, "nodes", KRPC_NODE4_LEN, m->nodes, &m->nnodes)) != NULL ||
	    (why = krpc_parse_nodes(r, "nodes6", KRPC_NODE6_LEN, m->nodes6, &m->nnodes6)) != NULL ||
	    (why = krpc_parse_token(r, m, false)) != NULL ||
	    (why = krpc_parse_values(r, m)) != NULL)
		return why;
	return NULL;
}

static const char *
krpc_parse_error(const struct be_node *root, struct krpc_msg *m)
{
	const struct be_node *e = be_dict_get_type(root, "e", BE_LIST);
	if (e == NULL || e->v.list.n < 1 || e->v.list.items[0]->type != BE_INT)
		return "error without a code";
	int64_t code = e->v.list.items[0]->v.i;
	m->error_code = code < 0 || code > 999 ? 0 : (int)code;
	if (e->v.list.n >= 2 && e->v.list.items[1]->type == BE_STR)
		krpc_copy_printable(m->error_msg, sizeof m->error_msg, e->v.list.items[1]);
	return NULL;
}

static const char *
krpc_parse(const struct be_node *root, struct krpc_msg *m)
{
	if (root->type != BE_DICT)
		return "not a dictionary";
	const struct be_node *t = be_dict_get_type(root, "t", BE_STR);
	const struct be_node *y = be_dict_get_type(root, "y", BE_STR);
	if (t == NULL || t->v.str.len > KRPC_TID_MAX)
		return "no transaction id";
	memcpy(m->tid, t->v.str.s, t->v.str.len);
	m->tid_len = t->v.str.len;
	if (y == NULL || y->v.str.len != 1)
		return "no message type";
	switch (y->v.str.s[0]) {
	case 'q': m->type = KRPC_QUERY; break;
	case 'r': m->type = KRPC_RESPONSE; break;
	case 'e': m->type = KRPC_ERROR; break;
	default: return "unknown message type";
	}
	const struct be_node *v = be_dict_get_type(root, "v", BE_STR);
	if (v != NULL)
		krpc_copy_printable(m->version, sizeof m->version, v);
	const struct be_node *ip = be_dict_get_type(root, "ip", BE_STR);
	if (ip != NULL)
		m->has_ip = krpc_parse_compact_addr((const uint8_t *)ip->v.str.s, ip->v.str.len,
		    &m->ip, &m->iplen);
	const struct be_node *ro = be_dict_get_type(root, "ro", BE_INT);
	m->read_only = ro != NULL && ro->v.i == 1;
	switch (m->type) {
	case KRPC_QUERY: return krpc_parse_query(root, m);
	case KRPC_RESPONSE: return krpc_parse_response(root, m);
	case KRPC_ERROR: return krpc_parse_error(root, m);
	}
	return "unknown message type";
}

int
krpc_decode(const uint8_t *buf, size_t len, struct krpc_msg *msg, char *err, size_t errlen)
{
	/* Only the header fields are cleared: the node arrays are filled up to their counts. */
	memset(msg, 0, offsetof(struct krpc_msg, nodes));
	msg->nnodes = msg->nnodes6 = msg->nvalues = 0;
	msg->has_values = false;
	msg->error_code = 0;
	msg->error_msg[0] = '\0';
	msg->type = (enum krpc_type)-1;
	if (len > KRPC_MAX_DATAGRAM)
		return dp_fail(err, errlen, "datagram of %zu bytes", len);
	struct be_error berr;
	struct be_node *root = be_decode(buf, len, &krpc_limits, &berr);
	if (root == NULL)
		return dp_fail(err, errlen, "not bencoded: %s", berr.msg);
	const char *why = krpc_parse(root, msg);
	be_free(root);
	if (why != NULL)
		return dp_fail(err, errlen, "%s", why);
	return 0;
}

/* ---- encoders ---- */

static void
krpc_enc_key(struct dp_buf *b, const char *key)
{
	be_enc_cstr(b, key);
}

static void
krpc_enc_bytes(struct dp_buf *b, const char *key, const uint8_t *p, size_t n)
{
	be_enc_cstr(b, key);
	be_enc_str(b, p, n);
}

/* The keys after the body: "t", "v", "y" (sorted after "a"/"e"/"ip"/"q"/"r"/"ro"). */
static void
krpc_enc_tail(struct dp_buf *b, const struct krpc_head *h, const char *y)
{
	krpc_enc_bytes(b, "t", h->tid, h->tid_len);
	if (h->version != NULL)
		krpc_enc_bytes(b, "v", h->version, 4);
	krpc_enc_key(b, "y");
	be_enc_cstr(b, y);
	be_enc_end(b);
}

/* Opens a query: "d" "a" "d" "id" ID; the caller adds its arguments, then krpc_enc_query_end. */
static void
krpc_enc_query_begin(struct dp_buf *b, const uint8_t id[DHT_ID_LEN])
{
	be_enc_dict_begin(b);
	krpc_enc_key(b, "a");
	be_enc_dict_begin(b);
	krpc_enc_bytes(b, "id", id, DHT_ID_LEN);
}

static void
krpc_enc_want(struct dp_buf *b, bool want4, bool want6)
{
	if (!want4 && !want6)
		return;
	krpc_enc_key(b, "want");
	be_enc_list_begin(b);
	if (want4)
		be_enc_cstr(b, "n4");
	if (want6)
		be_enc_cstr(b, "n6");
	be_enc_end(b);
}

static void
krpc_enc_query_end(struct dp_buf *b, const struct krpc_head *h, enum krpc_method m)
{
	be_enc_end(b);                 /* the arguments */
	krpc_enc_key(b, "q");
	be_enc_cstr(b, krpc_method_name(m));
	if (h->read_only) {
		krpc_enc_key(b, "ro");
		be_enc_int(b, 1);
	}
	krpc_enc_tail(b, h, "q");
}

void
krpc_enc_ping(struct dp_buf *b, const struct krpc_head *h, const uint8_t id[DHT_ID_LEN])
{
	krpc_enc_query_begin(b, id);
	krpc_enc_query_end(b, h, KRPC_PING);
}

void
krpc_enc_find_node(struct dp_buf *b, const struct krpc_head *h,
    const uint8_t id[DHT_ID_LEN], const uint8_t target[DHT_ID_LEN], bool want4, bool want6)
{
	krpc_enc_query_begin(b, id);
	krpc_enc_bytes(b, "target", target, DHT_ID_LEN);
	krpc_enc_want(b, want4, want6);
	krpc_enc_query_end(b, h, KRPC_FIND_NODE);
}

void
krpc_enc_get_peers(struct dp_buf *b, const struct krpc_head *h,
    const uint8_t id[DHT_ID_LEN], const uint8_t info_hash[DHT_ID_LEN], bool want4, bool want6)
{
	krpc_enc_query_begin(b, id);
	krpc_enc_bytes(b, "info_hash", info_hash, DHT_ID_LEN);
	krpc_enc_want(b, want4, want6);
	krpc_enc_query_end(b, h, KRPC_GET_PEERS);
}

void
krpc_enc_announce_peer(struct dp_buf *b, const struct krpc_head *h,
    const uint8_t id[DHT_ID_LEN], const uint8_t info_hash[DHT_ID_LEN], uint16_t port,
    bool implied_port, const uint8_t *token, size_t token_len)
{
	krpc_enc_query_begin(b, id);
	krpc_enc_key(b, "implied_port");
	be_enc_int(b, implied_port ? 1 : 0);
	krpc_enc_bytes(b, "info_hash", info_hash, DHT_ID_LEN);
	krpc_enc_key(b, "port");
	be_enc_int(b, port);
	krpc_enc_bytes(b, "token", token, token_len);
	krpc_enc_query_end(b, h, KRPC_ANNOUNCE_PEER);
}

/* The nodes of one family as one compact string under key; nothing when there are none. */
static void
krpc_enc_nodes(struct dp_buf *b, const char *key, int family, const struct krpc_node *nodes,
    size_t n)
{
	uint8_t one[KRPC_NODE6_LEN];
	size_t count = 0, entry = family == AF_INET ? KRPC_NODE4_LEN : KRPC_NODE6_LEN;
	for (size_t i = 0; i < n; i++)
		count += nodes[i].addr.ss_family == family;
	if (count == 0)
		return;
	krpc_enc_key(b, key);
	dp_buf_printf(b, "%zu:", count * entry);
	for (size_t i = 0; i < n; i++)
		if (nodes[i].addr.ss_family == family)
			dp_buf_add(b, one, krpc_compact_node(&nodes[i], one));
}

void
krpc_enc_reply(struct dp_buf *b, const struct krpc_head *h, const struct krpc_reply *r)
{
	uint8_t a[18];
	be_enc_dict_begin(b);
	if (r->requester != NULL) {
		size_t alen = krpc_compact_addr(r->requester, a);
		if (alen > 0)
			krpc_enc_bytes(b, "ip", a, alen);
	}
	krpc_enc_key(b, "r");
	be_enc_dict_begin(b);
	krpc_enc_bytes(b, "id", r->id, DHT_ID_LEN);
	krpc_enc_nodes(b, "nodes", AF_INET, r->nodes, r->nnodes);
	krpc_enc_nodes(b, "nodes6", AF_INET6, r->nodes, r->nnodes);
	if (r->token != NULL)
		krpc_enc_bytes(b, "token", r->token, r->token_len);
	if (r->values != NULL) {
		krpc_enc_key(b, "values");
		be_enc_list_begin(b);
		for (size_t i = 0; i < r->nvalues; i++) {
			size_t alen = krpc_compact_addr((const struct sockaddr *)&r->values[i].addr, a);
			if (alen > 0)
				be_enc_str(b, a, alen);
		}
		be_enc_end(b);
	}
	be_enc_end(b);
	krpc_enc_tail(b, h, "r");
}

void
krpc_enc_error(struct dp_buf *b, const struct krpc_head *h, int code, const char *msg)
{
	be_enc_dict_begin(b);
	krpc_enc_key(b, "e");
	be_enc_list_begin(b);
	be_enc_int(b, code);
	be_enc_cstr(b, msg);
	be_enc_end(b);
	krpc_enc_tail(b, h, "e");
}
