// fuzz-sources: lib/mime_decode.c lib/base64.c
/* libFuzzer target for RFC 2047 decoding (lib/mime_decode). The input is
 * header text; it is decoded with a generous bound and again with one of
 * half its size: the second must fail within its bound or give the same
 * result. Text without "=?" must come out unchanged. Run: tests/run-fuzz,
 * or by hand ./fuzz_mime_decode -max_total_time=60 CORPUS_COPY */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "mime_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *error = NULL;
	struct buf big, small;
	bool has_word = false;

	if (size > 4096)
		return 0;
	for (size_t i = 0; i + 1 < size; i++)
		if (in[i] == '=' && in[i + 1] == '?')
			has_word = true;
	/* a word never grows more than 4x (iconv), plus slack */
	buf_init(&big, size * 4 + 64);
	buf_init(&small, size / 2);
	if (mime_decode_header(in, size, &big, &error) < 0)
		abort();
	if (!has_word && (big.len != size || memcmp(big.data, in, size) != 0))
		abort();
	error = NULL;
	if (mime_decode_header(in, size, &small, &error) < 0) {
		if (error == NULL || small.len > size / 2 || big.len <= size / 2)
			abort();
	} else if (small.len != big.len ||
		   memcmp(small.data, big.data, big.len) != 0) {
		abort();
	}
	buf_deinit(&big);
	buf_deinit(&small);
	return 0;
}
