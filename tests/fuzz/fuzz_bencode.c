/* fuzz_bencode.c: libFuzzer target for the bencode decoder and canonical re-encoding. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bencode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct be_error err;
	struct be_node *n = be_decode(data, size, NULL, &err);
	if (n == NULL)
		return 0;
	/* A decoded sorted document re-encodes to itself. */
	struct dp_buf b;
	dp_buf_init(&b);
	be_enc_node(&b, n);
	struct be_node *again = be_decode(b.data, b.len, NULL, &err);
	if (again == NULL)
		abort();
	be_free(again);
	dp_buf_free(&b);
	be_free(n);
	return 0;
}
