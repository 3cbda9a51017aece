// fuzz-sources: lib/mime_downgrade.c lib/mime_header.c lib/mime_param.c lib/mime_struct.c lib/crlf.c
/* libFuzzer target for the 8-bit to 7-bit MIME conversion
 * (lib/mime_downgrade). The first input octet picks a piece size; the rest
 * is the message, converted (scan pass, then convert pass) in pieces of
 * that size and again in one piece. Both runs must agree (the converter
 * may not depend on how the input is split), and when it succeeds the
 * output must be 7-bit with lines of at most 998 octets (a CR before the
 * LF not counted), and a second convert pass must give the same output.
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_mime_downgrade -max_total_time=60 tests/fuzz/corpus/mime_downgrade */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "mime_downgrade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int pass(struct mime_downgrade *dg, const char *in, size_t len,
		size_t step, struct buf *out)
{
	const char *error = NULL;

	for (size_t i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;
		if (mime_downgrade_feed(dg, in + i, n, out, &error) < 0) {
			if (error == NULL)
				abort();
			return -1;
		}
	}
	if (mime_downgrade_finish(dg, out, &error) < 0) {
		if (error == NULL)
			abort();
		return -1;
	}
	return 0;
}

static int run(const char *in, size_t len, size_t step, struct buf *out)
{
	struct mime_downgrade *dg = mime_downgrade_new();
	int ret = pass(dg, in, len, step, NULL);

	if (ret == 0) {
		struct buf again;
		mime_downgrade_rewind(dg);
		if (pass(dg, in, len, step, out) < 0)
			abort();	/* the same content cannot fail now */
		buf_init(&again, out->max);
		mime_downgrade_rewind(dg);
		if (pass(dg, in, len, step, &again) < 0 ||
		    again.len != out->len ||
		    memcmp(again.data, out->data, out->len) != 0)
			abort();
		buf_deinit(&again);
	}
	mime_downgrade_free(&dg);
	return ret;
}

static void check_7bit(const struct buf *out)
{
	size_t col = 0;

	for (size_t i = 0; i < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];
		if (c >= 0x80)
			abort();
		if (c == '\n') {
			if (col - (i > 0 && out->data[i - 1] == '\r' && col > 0)
			    > 998)
				abort();
			col = 0;
		} else {
			col++;
		}
	}
	if (col > 998)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;
	size_t max = 4 * size + MIME_DOWNGRADE_OUT_EXTRA + 64;

	if (size < 1)
		return 0;
	size_t step = (size_t)data[0] % 64 + 1;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	buf_init(&a, max);
	buf_init(&b, max);
	int ra = run(in, len, step, &a), rb = run(in, len, len + 1, &b);
	if (ra != rb || (ra == 0 && (a.len != b.len ||
				     memcmp(a.data, b.data, a.len) != 0)))
		abort();
	if (ra == 0)
		check_7bit(&a);
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}
