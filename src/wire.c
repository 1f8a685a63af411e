/* wire.c: the peer wire codec: handshake, strict message parser, message builders, the BEP 10
 * extension handshake and the BEP 6 allowed fast set. Pure: no sockets, no engine state. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/sha.h>

#include "bencode.h"
#include "wire.h"

static uint32_t
wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
wire_set32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

void
wire_build_handshake(uint8_t out[WIRE_HANDSHAKE_LEN], const uint8_t info_hash[20],
    const uint8_t peer_id[20], bool ext, bool fast, bool dht)
{
	out[0] = sizeof WIRE_PROTOCOL - 1;
	memcpy(out + 1, WIRE_PROTOCOL, sizeof WIRE_PROTOCOL - 1);
	memset(out + 20, 0, 8);
	if (ext)
		out[20 + WIRE_RESERVED_EXT_BYTE] |= WIRE_RESERVED_EXT_BIT;
	if (fast)
		out[20 + WIRE_RESERVED_FAST_BYTE] |= WIRE_RESERVED_FAST_BIT;
	if (dht)
		out[20 + WIRE_RESERVED_DHT_BYTE] |= WIRE_RESERVED_DHT_BIT;
	memcpy(out + 28, info_hash, 20);
	memcpy(out + 48, peer_id, 20);
}

int
wire_parse_handshake(const uint8_t in[WIRE_HANDSHAKE_LEN], struct wire_handshake *out,
    char *err, size_t errlen)
{
	if (in[0] != sizeof WIRE_PROTOCOL - 1) {
		dp_fail(err, errlen, "handshake: protocol name length %u, expected %zu", in[0],
		    sizeof WIRE_PROTOCOL - 1);
		return -1;
	}
	if (memcmp(in + 1, WIRE_PROTOCOL, sizeof WIRE_PROTOCOL - 1) != 0) {
		dp_fail(err, errlen, "handshake: protocol is not \"%s\"", WIRE_PROTOCOL);
		return -1;
	}
	memcpy(out->reserved, in + 20, 8);
	memcpy(out->info_hash, in + 28, 20);
	memcpy(out->peer_id, in + 48, 20);
	out->supports_ext = (out->reserved[WIRE_RESERVED_EXT_BYTE] & WIRE_RESERVED_EXT_BIT) != 0;
	out->supports_fast = (out->reserved[WIRE_RESERVED_FAST_BYTE] & WIRE_RESERVED_FAST_BIT) != 0;
	out->supports_dht = (out->reserved[WIRE_RESERVED_DHT_BYTE] & WIRE_RESERVED_DHT_BIT) != 0;
	return 0;
}

const char *
wire_msg_name(enum wire_msg_id id)
{
	switch (id) {
	case WIRE_CHOKE: return "choke";
	case WIRE_UNCHOKE: return "unchoke";
	case WIRE_INTERESTED: return "interested";
	case WIRE_NOT_INTERESTED: return "not interested";
	case WIRE_HAVE: return "have";
	case WIRE_BITFIELD: return "bitfield";
	case WIRE_REQUEST: return "request";
	case WIRE_PIECE: return "piece";
	case WIRE_CANCEL: return "cancel";
	case WIRE_PORT: return "port";
	case WIRE_SUGGEST: return "suggest piece";
	case WIRE_HAVE_ALL: return "have all";
	case WIRE_HAVE_NONE: return "have none";
	case WIRE_REJECT: return "reject request";
	case WIRE_ALLOWED_FAST: return "allowed fast";
	case WIRE_EXTENDED: return "extended";
	case WIRE_KEEPALIVE: return "keep-alive";
	case WIRE_UNKNOWN: return "unknown";
	}
	return "unknown";
}

uint32_t
wire_piece_size(const struct wire_limits *lim, uint32_t index)
{
	if (lim->piece_length == 0)
		return 0;
	if (lim->piece_count == 0)
		return lim->piece_length;
	if (index >= lim->piece_count)
		return 0;
	if (index + 1 < lim->piece_count || lim->total_size == 0)
		return lim->piece_length;
	uint64_t before = (uint64_t)(lim->piece_count - 1) * lim->piece_length;
	/* Limits that do not add up fall back to the nominal size rather than refusing all. */
	if (lim->total_size <= before || lim->total_size - before > lim->piece_length)
		return lim->piece_length;
	return (uint32_t)(lim->total_size - before);
}

static enum wire_msg_id
wire_known_id(uint8_t raw)
{
	switch (raw) {
	case WIRE_CHOKE: case WIRE_UNCHOKE: case WIRE_INTERESTED: case WIRE_NOT_INTERESTED:
	case WIRE_HAVE: case WIRE_BITFIELD: case WIRE_REQUEST: case WIRE_PIECE: case WIRE_CANCEL:
	case WIRE_PORT: case WIRE_SUGGEST: case WIRE_HAVE_ALL: case WIRE_HAVE_NONE:
	case WIRE_REJECT: case WIRE_ALLOWED_FAST: case WIRE_EXTENDED:
		return (enum wire_msg_id)raw;
	default:
		return WIRE_UNKNOWN;
	}
}

static bool
wire_is_fast_msg(enum wire_msg_id id)
{
	return id == WIRE_SUGGEST || id == WIRE_HAVE_ALL || id == WIRE_HAVE_NONE ||
	    id == WIRE_REJECT || id == WIRE_ALLOWED_FAST;
}

/* Checks the length prefix against what the id allows, before the body has arrived. */
static bool
wire_check_length(enum wire_msg_id id, uint32_t msglen, const struct wire_limits *lim,
    char *err, size_t errlen)
{
	uint32_t max_message = lim->max_message ? lim->max_message : WIRE_DEFAULT_MAX_MESSAGE;
	uint32_t max_request = lim->max_request ? lim->max_request : WIRE_BLOCK_SIZE;
	const char *name = wire_msg_name(id);
	uint32_t want = 0;

	if (wire_is_fast_msg(id) && !lim->fast) {
		dp_fail(err, errlen, "%s: Fast extension message but the extension was not "
		    "negotiated", name);
		return false;
	}
	if (id == WIRE_EXTENDED && !lim->ext) {
		dp_fail(err, errlen, "extended: extension protocol message but the protocol "
		    "was not negotiated");
		return false;
	}
	switch (id) {
	case WIRE_CHOKE: case WIRE_UNCHOKE: case WIRE_INTERESTED: case WIRE_NOT_INTERESTED:
	case WIRE_HAVE_ALL: case WIRE_HAVE_NONE:
		want = 1;
		break;
	case WIRE_HAVE: case WIRE_SUGGEST: case WIRE_ALLOWED_FAST:
		want = 5;
		break;
	case WIRE_REQUEST: case WIRE_CANCEL: case WIRE_REJECT:
		want = 13;
		break;
	case WIRE_PORT:
		want = 3;
		break;
	case WIRE_BITFIELD:
		if (lim->piece_count != 0) {
			want = 1 + (uint32_t)(((uint64_t)lim->piece_count + 7) / 8);
			if (msglen != want) {
				dp_fail(err, errlen, "bitfield: %" PRIu32 " bytes for %" PRIu32
				    " pieces, expected %" PRIu32, msglen - 1, lim->piece_count,
				    want - 1);
				return false;
			}
			return true;
		}
		if (msglen < 2) {
			dp_fail(err, errlen, "bitfield: empty");
			return false;
		}
		break;
	case WIRE_PIECE:
		if (msglen <= 9) {
			dp_fail(err, errlen, "piece: %s", msglen < 9 ? "message too short" :
			    "empty block");
			return false;
		}
		if (msglen - 9 > max_request) {
			dp_fail(err, errlen, "piece: block of %" PRIu32 " bytes is over the "
			    "%" PRIu32 "-byte limit", msglen - 9, max_request);
			return false;
		}
		break;
	case WIRE_EXTENDED:
		if (msglen < 2) {
			dp_fail(err, errlen, "extended: no extension id");
			return false;
		}
		break;
	case WIRE_KEEPALIVE: case WIRE_UNKNOWN:
		break;
	}
	if (want != 0 && msglen != want) {
		dp_fail(err, errlen, "%s: length %" PRIu32 ", expected %" PRIu32, name, msglen,
		    want);
		return false;
	}
	if (msglen > max_message) {
		dp_fail(err, errlen, "%s: message of %" PRIu32 " bytes is over the %" PRIu32
		    "-byte limit", name, msglen, max_message);
		return false;
	}
	return true;
}

static bool
wire_check_index(const char *name, uint32_t index, const struct wire_limits *lim, char *err,
    size_t errlen)
{
	if (lim->piece_count != 0 && index >= lim->piece_count) {
		dp_fail(err, errlen, "%s: piece index %" PRIu32 " is out of range (%" PRIu32
		    " pieces)", name, index, lim->piece_count);
		return false;
	}
	return true;
}

static bool
wire_check_block(const char *name, uint32_t index, uint32_t begin, uint32_t length,
    const struct wire_limits *lim, char *err, size_t errlen)
{
	uint32_t max_request = lim->max_request ? lim->max_request : WIRE_BLOCK_SIZE;

	if (!wire_check_index(name, index, lim, err, errlen))
		return false;
	if (length == 0) {
		dp_fail(err, errlen, "%s: zero-length block", name);
		return false;
	}
	if (length > max_request) {
		dp_fail(err, errlen, "%s: block of %" PRIu32 " bytes is over the %" PRIu32
		    "-byte limit", name, length, max_request);
		return false;
	}
	uint32_t size = wire_piece_size(lim, index);
	if (size != 0 && (uint64_t)begin + length > size) {
		dp_fail(err, errlen, "%s: block %" PRIu32 "+%" PRIu32 " runs past the end of "
		    "piece %" PRIu32 " (%" PRIu32 " bytes)", name, begin, length, index, size);
		return false;
	}
	return true;
}

enum wire_result
wire_parse(const uint8_t *buf, size_t len, const struct wire_limits *lim,
    struct wire_msg *out, size_t *consumed, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (len < 4) {
		*consumed = 4;
		return WIRE_NEED_MORE;
	}
	uint32_t msglen = wire_get32(buf);
	if (msglen == 0) {
		out->id = WIRE_KEEPALIVE;
		*consumed = 4;
		return WIRE_OK;
	}
	if (len < 5) {
		*consumed = 5;
		return WIRE_NEED_MORE;
	}
	out->raw_id = buf[4];
	out->id = wire_known_id(buf[4]);
	if (!wire_check_length(out->id, msglen, lim, err, errlen)) {
		/* Keep the id for the caller's log even though the message is refused. */
		return WIRE_ERROR;
	}
	if (len - 4 < msglen) {
		*consumed = (size_t)msglen + 4;
		return WIRE_NEED_MORE;
	}
	*consumed = (size_t)msglen + 4;

	const uint8_t *body = buf + 5;
	size_t body_len = msglen - 1;
	const char *name = wire_msg_name(out->id);
	switch (out->id) {
	case WIRE_CHOKE: case WIRE_UNCHOKE: case WIRE_INTERESTED: case WIRE_NOT_INTERESTED:
	case WIRE_HAVE_ALL: case WIRE_HAVE_NONE: case WIRE_KEEPALIVE:
		break;
	case WIRE_HAVE: case WIRE_SUGGEST: case WIRE_ALLOWED_FAST:
		out->index = wire_get32(body);
		if (!wire_check_index(name, out->index, lim, err, errlen))
			return WIRE_ERROR;
		break;
	case WIRE_BITFIELD:
		out->payload = body;
		out->payload_len = body_len;
		if (lim->piece_count != 0 && lim->piece_count % 8 != 0) {
			uint8_t spare = 0xff >> (lim->piece_count % 8);
			if (body[body_len - 1] & spare) {
				dp_fail(err, errlen, "bitfield: spare bits after piece %" PRIu32
				    " are set", lim->piece_count - 1);
				return WIRE_ERROR;
			}
		}
		break;
	case WIRE_REQUEST: case WIRE_CANCEL: case WIRE_REJECT:
		out->index = wire_get32(body);
		out->begin = wire_get32(body + 4);
		out->length = wire_get32(body + 8);
		if (!wire_check_block(name, out->index, out->begin, out->length, lim, err,
		    errlen))
			return WIRE_ERROR;
		break;
	case WIRE_PIECE:
		out->index = wire_get32(body);
		out->begin = wire_get32(body + 4);
		out->length = (uint32_t)(body_len - 8);
		out->payload = body + 8;
		out->payload_len = body_len - 8;
		if (!wire_check_block(name, out->index, out->begin, out->length, lim, err,
		    errlen))
			return WIRE_ERROR;
		break;
	case WIRE_PORT:
		out->port = (uint16_t)(body[0] << 8 | body[1]);
		break;
	case WIRE_EXTENDED:
		out->ext_id = body[0];
		out->payload = body + 1;
		out->payload_len = body_len - 1;
		break;
	case WIRE_UNKNOWN:
		out->payload = body;
		out->payload_len = body_len;
		break;
	}
	return WIRE_OK;
}

/* Appends a message: length prefix, id, then up to 12 bytes of fixed fields. */
static int
wire_put_fixed(struct evbuffer *ev, uint8_t id, const uint32_t *fields, size_t nfields,
    uint32_t extra)
{
	uint8_t msg[4 + 1 + 12];
	size_t n = 5 + nfields * 4;

	wire_set32(msg, (uint32_t)(n - 4) + extra);
	msg[4] = id;
	for (size_t i = 0; i < nfields; i++)
		wire_set32(msg + 5 + i * 4, fields[i]);
	return evbuffer_add(ev, msg, n);
}

int
wire_put_keepalive(struct evbuffer *ev)
{
	static const uint8_t zero[4];
	return evbuffer_add(ev, zero, sizeof zero);
}

int
wire_put_simple(struct evbuffer *ev, enum wire_msg_id id)
{
	switch (id) {
	case WIRE_CHOKE: case WIRE_UNCHOKE: case WIRE_INTERESTED: case WIRE_NOT_INTERESTED:
	case WIRE_HAVE_ALL: case WIRE_HAVE_NONE:
		return wire_put_fixed(ev, (uint8_t)id, NULL, 0, 0);
	default:
		return -1;
	}
}

int
wire_put_have(struct evbuffer *ev, uint32_t index)
{
	return wire_put_fixed(ev, WIRE_HAVE, &index, 1, 0);
}

int
wire_put_bitfield(struct evbuffer *ev, const uint8_t *bits, size_t nbytes)
{
	if (nbytes == 0 || nbytes > UINT32_MAX - 1)
		return -1;
	if (wire_put_fixed(ev, WIRE_BITFIELD, NULL, 0, (uint32_t)nbytes) != 0)
		return -1;
	return evbuffer_add(ev, bits, nbytes);
}

void
wire_request_encode(uint8_t out[WIRE_REQUEST_LEN], uint32_t index, uint32_t begin,
    uint32_t length)
{
	wire_set32(out, WIRE_REQUEST_LEN - 4);
	out[4] = WIRE_REQUEST;
	wire_set32(out + 5, index);
	wire_set32(out + 9, begin);
	wire_set32(out + 13, length);
}

int
wire_put_request(struct evbuffer *ev, uint32_t index, uint32_t begin, uint32_t length)
{
	uint8_t msg[WIRE_REQUEST_LEN];
	wire_request_encode(msg, index, begin, length);
	return evbuffer_add(ev, msg, sizeof msg);
}

int
wire_put_cancel(struct evbuffer *ev, uint32_t index, uint32_t begin, uint32_t length)
{
	uint32_t f[3] = { index, begin, length };
	return wire_put_fixed(ev, WIRE_CANCEL, f, 3, 0);
}

int
wire_put_reject(struct evbuffer *ev, uint32_t index, uint32_t begin, uint32_t length)
{
	uint32_t f[3] = { index, begin, length };
	return wire_put_fixed(ev, WIRE_REJECT, f, 3, 0);
}

void
wire_piece_header_encode(uint8_t out[WIRE_PIECE_HEADER_LEN], uint32_t index, uint32_t begin,
    uint32_t block_len)
{
	wire_set32(out, 9 + block_len);
	out[4] = WIRE_PIECE;
	wire_set32(out + 5, index);
	wire_set32(out + 9, begin);
}

int
wire_put_piece_header(struct evbuffer *ev, uint32_t index, uint32_t begin, uint32_t block_len)
{
	uint8_t h[WIRE_PIECE_HEADER_LEN];
	if (block_len > UINT32_MAX - 9)
		return -1;
	wire_piece_header_encode(h, index, begin, block_len);
	return evbuffer_add(ev, h, sizeof h);
}

int
wire_put_port(struct evbuffer *ev, uint16_t port)
{
	uint8_t msg[7] = { 0, 0, 0, 3, WIRE_PORT, (uint8_t)(port >> 8), (uint8_t)port };
	return evbuffer_add(ev, msg, sizeof msg);
}

int
wire_put_allowed_fast(struct evbuffer *ev, uint32_t index)
{
	return wire_put_fixed(ev, WIRE_ALLOWED_FAST, &index, 1, 0);
}

int
wire_put_suggest(struct evbuffer *ev, uint32_t index)
{
	return wire_put_fixed(ev, WIRE_SUGGEST, &index, 1, 0);
}

int
wire_put_extended(struct evbuffer *ev, uint8_t ext_id, const void *payload, size_t len)
{
	uint8_t msg[6];

	if (len > UINT32_MAX - 2)
		return -1;
	wire_set32(msg, (uint32_t)len + 2);
	msg[4] = WIRE_EXTENDED;
	msg[5] = ext_id;
	if (evbuffer_add(ev, msg, sizeof msg) != 0)
		return -1;
	return len == 0 ? 0 : evbuffer_add(ev, payload, len);
}

uint8_t
wire_ext_id(const struct wire_ext_handshake *h, const char *name)
{
	for (size_t i = 0; i < h->nm && i < WIRE_EXT_MAX; i++)
		if (strcmp(h->m[i].name, name) == 0)
			return h->m[i].id;
	return 0;
}

/* Lists name (len bytes, no NUL among them) in sorted place; bencoded keys sort as raw bytes,
 * which is strcmp's order for NUL-free names. */
static bool
wire_ext_put(struct wire_ext_handshake *h, const char *name, size_t len, uint8_t id)
{
	if (len == 0 || len >= WIRE_EXT_NAME_MAX || memchr(name, '\0', len) != NULL)
		return false;
	char key[WIRE_EXT_NAME_MAX];
	memcpy(key, name, len);
	key[len] = '\0';
	size_t at = 0;
	for (; at < h->nm; at++) {
		int c = strcmp(h->m[at].name, key);
		if (c == 0) {
			h->m[at].id = id;
			return true;
		}
		if (c > 0)
			break;
	}
	if (h->nm >= WIRE_EXT_MAX)
		return false;
	memmove(&h->m[at + 1], &h->m[at], (h->nm - at) * sizeof h->m[0]);
	memset(&h->m[at], 0, sizeof h->m[at]);
	memcpy(h->m[at].name, key, len + 1);
	h->m[at].id = id;
	h->nm++;
	return true;
}

bool
wire_ext_set(struct wire_ext_handshake *h, const char *name, uint8_t id)
{
	return wire_ext_put(h, name, strlen(name), id);
}

void
wire_build_ext_handshake(struct dp_buf *out, const struct wire_ext_handshake *h)
{
	/* Keys in byte order, as bencoding requires. */
	be_enc_dict_begin(out);
	be_enc_cstr(out, "m");
	be_enc_dict_begin(out);
	for (size_t i = 0; i < h->nm && i < WIRE_EXT_MAX; i++) {   /* kept sorted by wire_ext_set */
		be_enc_cstr(out, h->m[i].name);
		be_enc_int(out, h->m[i].id);
	}
	be_enc_end(out);
	if (h->metadata_size != 0 && h->metadata_size <= INT64_MAX) {
		be_enc_cstr(out, "metadata_size");
		be_enc_int(out, (int64_t)h->metadata_size);
	}
	if (h->port != 0) {
		be_enc_cstr(out, "p");
		be_enc_int(out, h->port);
	}
	if (h->reqq != 0) {
		be_enc_cstr(out, "reqq");
		be_enc_int(out, h->reqq);
	}
	if (h->upload_only) {
		be_enc_cstr(out, "upload_only");
		be_enc_int(out, 1);
	}
	size_t vlen = strnlen(h->client, sizeof h->client);
	if (vlen != 0) {
		be_enc_cstr(out, "v");
		be_enc_str(out, h->client, vlen);
	}
	if (h->yourip_len == 4 || h->yourip_len == 16) {
		be_enc_cstr(out, "yourip");
		be_enc_str(out, h->yourip, h->yourip_len);
	}
	be_enc_end(out);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t
wire_utf8_seq(const uint8_t *s, size_t n)
{
	size_t want;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		want = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		want = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		want = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (want > n)
		return 0;
	for (size_t i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past Unicode are not text. */
	if ((want == 2 && cp < 0x80) || (want == 3 && cp < 0x800) ||
	    (want == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return want;
}

/* Copies a peer-supplied name so it is safe to show: valid UTF-8, no control characters,
 * truncated on a character boundary. */
static void
wire_copy_printable(char *dst, size_t dstlen, const uint8_t *src, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < dstlen;) {
		size_t k = wire_utf8_seq(src + i, n - i);
		if (k == 0 || (k == 1 && (src[i] < 0x20 || src[i] == 0x7f))) {
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + k >= dstlen)
			break;
		memcpy(dst + o, src + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
}

static bool
wire_ext_int(const struct be_node *dict, const char *key, int64_t min, int64_t max,
    int64_t *out)
{
	const struct be_node *n = be_dict_get_type(dict, key, BE_INT);
	if (n == NULL || n->v.i < min || n->v.i > max)
		return false;
	*out = n->v.i;
	return true;
}

int
wire_parse_ext_handshake(const uint8_t *payload, size_t len, struct wire_ext_handshake *out,
    char *err, size_t errlen)
{
	static const struct be_limits lim = {
		.max_depth = 16,
		.max_items = 65536,
		.require_sorted = false,
	};
	struct be_error berr;
	int64_t v;

	memset(out, 0, sizeof *out);
	struct be_node *root = be_decode(payload, len, &lim, &berr);
	if (root == NULL) {
		dp_fail(err, errlen, "extension handshake: %s at byte %zu", berr.msg,
		    berr.offset);
		return -1;
	}
	if (root->type != BE_DICT) {
		dp_fail(err, errlen, "extension handshake: a %s, not a dictionary",
		    be_type_name(root->type));
		be_free(root);
		return -1;
	}
	const struct be_node *m = be_dict_get_type(root, "m", BE_DICT);
	for (size_t i = 0; m != NULL && i < m->v.dict.n && out->nm < WIRE_EXT_MAX; i++) {
		const struct be_entry *en = &m->v.dict.entries[i];
		if (en->value->type != BE_INT || en->value->v.i < 0 || en->value->v.i > 255)
			continue;
		/* A repeated name keeps its first id, as a lookup by name would. */
		char key[WIRE_EXT_NAME_MAX];
		if (en->key_len >= sizeof key || memchr(en->key, '\0', en->key_len) != NULL)
			continue;
		memcpy(key, en->key, en->key_len);
		key[en->key_len] = '\0';
		bool seen = false;
		for (size_t k = 0; k < out->nm && !seen; k++)
			seen = strcmp(out->m[k].name, key) == 0;
		if (!seen)
			wire_ext_put(out, en->key, en->key_len, (uint8_t)en->value->v.i);
	}
	if (wire_ext_int(root, "p", 1, 65535, &v))
		out->port = (uint16_t)v;
	if (wire_ext_int(root, "reqq", 1, UINT32_MAX, &v))
		out->reqq = (uint32_t)v;
	if (wire_ext_int(root, "metadata_size", 1, INT64_MAX, &v))
		out->metadata_size = (uint64_t)v;
	if (wire_ext_int(root, "upload_only", INT64_MIN, INT64_MAX, &v))
		out->upload_only = v != 0;
	const struct be_node *s = be_dict_get_type(root, "v", BE_STR);
	if (s != NULL)
		wire_copy_printable(out->client, sizeof out->client, (const uint8_t *)s->v.str.s,
		    s->v.str.len);
	s = be_dict_get_type(root, "yourip", BE_STR);
	if (s != NULL && (s->v.str.len == 4 || s->v.str.len == 16)) {
		memcpy(out->yourip, s->v.str.s, s->v.str.len);
		out->yourip_len = (uint8_t)s->v.str.len;
	}
	be_free(root);
	return 0;
}

unsigned
wire_allowed_fast_set(uint32_t ipv4_addr, const uint8_t info_hash[20], uint32_t piece_count,
    unsigned k, uint32_t *out)
{
	uint8_t x[24];
	unsigned n = 0;

	if (k > WIRE_ALLOWED_FAST_MAX)
		k = WIRE_ALLOWED_FAST_MAX;
	if (k > piece_count)
		k = piece_count;
	/* BEP 6: hash the /24 of the peer's address with the info hash, then rehash the digest,
	 * taking each of its five 32-bit words modulo the piece count. */
	wire_set32(x, ipv4_addr & 0xffffff00u);
	memcpy(x + 4, info_hash, 20);
	uint8_t digest[SHA_DIGEST_LENGTH];
	SHA1(x, sizeof x, digest);
	for (;;) {
		for (unsigned i = 0; i < 5 && n < k; i++) {
			uint32_t index = wire_get32(digest + i * 4) % piece_count;
			bool seen = false;
			for (unsigned j = 0; j < n; j++)
				if (out[j] == index)
					seen = true;
			if (!seen)
				out[n++] = index;
		}
		if (n >= k)
			break;
		uint8_t prev[SHA_DIGEST_LENGTH];
		memcpy(prev, digest, sizeof prev);
		SHA1(prev, sizeof prev, digest);
	}
	return n;
}
