/* fuzz_ut_metadata.c: libFuzzer target for the BEP 9 ut_metadata message parser: whatever parses
 * must rebuild to the same message, and data must fit the assembly buffer of its size. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ut_metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ut_metadata_msg m;
	char err[128];
	if (ut_metadata_parse(data, size, &m, err, sizeof err) < 0)
		return 0;
	if (m.piece >= UT_METADATA_MAX_PIECES)
		abort();
	struct dp_buf b;
	dp_buf_init(&b);
	switch (m.type) {
	case UT_METADATA_REQUEST:
		ut_metadata_build_request(&b, m.piece);
		break;
	case UT_METADATA_REJECT:
		ut_metadata_build_reject(&b, m.piece);
		break;
	case UT_METADATA_DATA: {
		if (m.total_size == 0 || m.total_size > UT_METADATA_MAX_SIZE ||
		    m.data + m.data_len != data + size)
			abort();
		struct ut_metadata_buf asmb;
		if (!ut_metadata_buf_init(&asmb, m.total_size))
			abort();
		if (ut_metadata_buf_put(&asmb, m.piece, m.data, m.data_len, err, sizeof err) < 0)
			abort();
		ut_metadata_buf_free(&asmb);
		ut_metadata_build_data(&b, m.piece, m.total_size, m.data, m.data_len);
		break;
	}
	}
	/* What we build parses back to the same message. */
	struct ut_metadata_msg again;
	if (ut_metadata_parse(b.data, b.len, &again, err, sizeof err) < 0 || again.type != m.type ||
	    again.piece != m.piece || again.total_size != m.total_size ||
	    again.data_len != m.data_len ||
	    (m.data_len > 0 && memcmp(again.data, m.data, m.data_len) != 0))
		abort();
	dp_buf_free(&b);
	return 0;
}
