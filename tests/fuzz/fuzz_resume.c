/* fuzz_resume.c: libFuzzer target for the resume file decoder (it reads files from disk):
 * anything accepted must be consistent and re-encode to bytes that decode to the same values. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bitfield.h"
#include "resume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resume r;
	char err[256];
	if (resume_decode(data, size, &r, err, sizeof err) < 0) {
		if (err[0] == '\0')
			abort();   /* a refusal always says why */
		return 0;
	}
	/* No pieces and no files together: a magnet's file, before its metadata. */
	if ((r.piece_count == 0) != (r.file_count == 0) || r.save_path == NULL ||
	    strlen(r.save_path) == 0)
		abort();
	for (size_t i = 0; i < r.file_count; i++)
		if (r.files[i].priority > 15)   /* the level, and a skipped file's kept level times 4 */
			abort();
	struct dp_buf b;
	dp_buf_init(&b);
	resume_encode(&r, &b);
	struct resume again;
	if (resume_decode(b.data, b.len, &again, err, sizeof err) < 0)
		abort();
	if (again.piece_count != r.piece_count || again.file_count != r.file_count ||
	    again.uploaded != r.uploaded || strcmp(again.save_path, r.save_path) != 0 ||
	    (r.pieces != NULL && memcmp(again.pieces, r.pieces, bitfield_bytes(r.piece_count)) != 0))
		abort();
	resume_clear(&again);
	dp_buf_free(&b);
	resume_clear(&r);
	return 0;
}
