/* ut_metadata.c: the BEP 9 ut_metadata message codec and the assembly buffer for the info
 * dictionary (piece bounds, sizes, SHA-1 against the info-hash). Pure: no engine state. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bencode.h"
#include "ut_metadata.h"

/* The dictionary in front of the data is a handful of keys: keep the decoder on a short leash. */
static const struct be_limits ut_metadata_limits = {
	.max_depth = 4,
	.max_items = 64,
	.require_sorted = false,
};

static int
ut_metadata_fail(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

uint32_t
ut_metadata_piece_count(uint64_t total_size)
{
	if (total_size == 0 || total_size > UT_METADATA_MAX_SIZE)
		return 0;
	return (uint32_t)((total_size + UT_METADATA_PIECE - 1) / UT_METADATA_PIECE);
}

uint32_t
ut_metadata_piece_size(uint64_t total_size, uint32_t piece)
{
	uint32_t n = ut_metadata_piece_count(total_size);
	if (piece >= n)
		return 0;
	if (piece + 1 < n)
		return UT_METADATA_PIECE;
	return (uint32_t)(total_size - (uint64_t)piece * UT_METADATA_PIECE);
}

int
ut_metadata_parse(const uint8_t *payload, size_t len, struct ut_metadata_msg *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct be_error berr = { 0 };
	size_t used = 0;
	struct be_node *d = be_decode_prefix(payload, len, &ut_metadata_limits, &used, &berr);
	if (d == NULL)
		return ut_metadata_fail(err, errlen, "not a bencoded dictionary");
	int rc = -1;
	const char *why = NULL;
	struct be_node *type = be_dict_get_type(d, "msg_type", BE_INT);
	struct be_node *piece = be_dict_get_type(d, "piece", BE_INT);
	if (d->type != BE_DICT)
		why = "not a dictionary";
	else if (type == NULL)
		why = "no msg_type";
	else if (piece == NULL)
		why = "no piece";
	else if (piece->v.i < 0 || piece->v.i >= (int64_t)UT_METADATA_MAX_PIECES)
		why = "piece index out of range";
	if (why != NULL)
		goto out;
	out->piece = (uint32_t)piece->v.i;
	switch (type->v.i) {
	case UT_METADATA_REQUEST:
	case UT_METADATA_REJECT:
		out->type = (enum ut_metadata_type)type->v.i;
		if (used != len)
			why = "bytes after the dictionary";
		break;
	case UT_METADATA_DATA: {
		out->type = UT_METADATA_DATA;
		struct be_node *ts = be_dict_get_type(d, "total_size", BE_INT);
		if (ts == NULL) {
			why = "data without total_size";
			break;
		}
		if (ts->v.i <= 0 || ts->v.i > (int64_t)UT_METADATA_MAX_SIZE) {
			why = "total_size out of range";
			break;
		}
		out->total_size = (uint64_t)ts->v.i;
		uint32_t want = ut_metadata_piece_size(out->total_size, out->piece);
		if (want == 0) {
			why = "piece index past total_size";
			break;
		}
		if (len - used != want) {
			why = "piece data of the wrong length";
			break;
		}
		out->data = payload + used;
		out->data_len = want;
		break;
	}
	default:
		why = "unknown msg_type";
		break;
	}
	if (why == NULL)
		rc = 0;
out:
	be_free(d);
	if (rc < 0)
		ut_metadata_fail(err, errlen, why);
	return rc;
}

static void
ut_metadata_build(struct dp_buf *out, enum ut_metadata_type type, uint32_t piece,
    uint64_t total_size)
{
	be_enc_dict_begin(out);
	be_enc_cstr(out, "msg_type");
	be_enc_int(out, type);
	be_enc_cstr(out, "piece");
	be_enc_int(out, piece);
	if (type == UT_METADATA_DATA) {
		be_enc_cstr(out, "total_size");
		be_enc_int(out, (int64_t)total_size);
	}
	be_enc_end(out);
}

void
ut_metadata_build_request(struct dp_buf *out, uint32_t piece)
{
	ut_metadata_build(out, UT_METADATA_REQUEST, piece, 0);
}

void
ut_metadata_build_reject(struct dp_buf *out, uint32_t piece)
{
	ut_metadata_build(out, UT_METADATA_REJECT, piece, 0);
}

void
ut_metadata_build_data(struct dp_buf *out, uint32_t piece, uint64_t total_size,
    const uint8_t *data, size_t len)
{
	ut_metadata_build(out, UT_METADATA_DATA, piece, total_size);
	dp_buf_add(out, data, len);
}

/* ---- assembly ---- */

bool
ut_metadata_buf_init(struct ut_metadata_buf *b, uint64_t size)
{
	memset(b, 0, sizeof *b);
	if (size == 0 || size > UT_METADATA_MAX_SIZE)
		return false;
	b->size = size;
	b->pieces = ut_metadata_piece_count(size);
	b->have = xcalloc(b->pieces, 1);
	b->data = xmalloc((size_t)size);
	return true;
}

void
ut_metadata_buf_free(struct ut_metadata_buf *b)
{
	free(b->have);
	free(b->data);
	memset(b, 0, sizeof *b);
}

int
ut_metadata_buf_put(struct ut_metadata_buf *b, uint32_t piece, const uint8_t *data, size_t len,
    char *err, size_t errlen)
{
	if (b->size == 0)
		return ut_metadata_fail(err, errlen, "metadata size not known");
	if (piece >= b->pieces)
		return ut_metadata_fail(err, errlen, "piece index past the metadata size");
	if (len != ut_metadata_piece_size(b->size, piece))
		return ut_metadata_fail(err, errlen, "piece of the wrong length");
	memcpy(b->data + (size_t)piece * UT_METADATA_PIECE, data, len);
	if (!b->have[piece]) {
		b->have[piece] = 1;
		b->received++;
	}
	return 0;
}

bool
ut_metadata_buf_complete(const struct ut_metadata_buf *b)
{
	return b->size > 0 && b->received == b->pieces;
}

bool
ut_metadata_buf_verify(const struct ut_metadata_buf *b, const uint8_t info_hash[20])
{
	if (!ut_metadata_buf_complete(b))
		return false;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (EVP_Digest(b->data, (size_t)b->size, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return false;
	return memcmp(md, info_hash, 20) == 0;
}
