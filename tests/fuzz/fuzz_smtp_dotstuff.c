// fuzz-sources: lib/smtp_dotstuff.c
/* libFuzzer target for DATA's LF to CRLF and dot-stuffing
 * (lib/smtp_dotstuff). The input's first octet seeds the piece sizes; the
 * rest is the content, fed in those pieces. The output must equal a
 * one-shot reference written here line by line (each line that starts
 * with "." gets another, each LF without a CR before it becomes CRLF, a
 * last line without LF gets a line end, then "." CRLF), every LF must
 * follow a CR, and "CRLF . CRLF" may appear only at the end.
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_smtp_dotstuff -max_total_time=60 tests/fuzz/corpus/smtp_dotstuff */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "smtp_dotstuff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: whole lines, an independent formulation. */
static size_t reference(const char *in, size_t len, char *out)
{
	size_t o = 0, pos = 0;

	while (pos < len) {
		const char *lf = memchr(in + pos, '\n', len - pos);
		size_t end = lf == NULL ? len : (size_t)(lf - in);
		if (in[pos] == '.')
			out[o++] = '.';
		memcpy(out + o, in + pos, end - pos);
		o += end - pos;
		if (end == pos || in[end - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
		pos = lf == NULL ? len : end + 1;
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned seed = data[0];
	const char *in = (const char *)data + 1;
	size_t len = size - 1, o = 0, pos = 0;
	char *out = malloc(2 * len + 8), *want = malloc(2 * len + 8);
	struct smtp_dotstuff ds;

	smtp_dotstuff_init(&ds);
	while (pos < len) {
		/* Piece sizes 0..16 from a small generator. */
		seed = seed * 1103515245u + 12345u;
		size_t n = (seed >> 16) % 17;
		if (n > len - pos)
			n = len - pos;
		o += smtp_dotstuff_feed(&ds, out + o, in + pos, n);
		pos += n;
	}
	o += smtp_dotstuff_finish(&ds, out + o);
	size_t w = reference(in, len, want);
	if (o != w || memcmp(out, want, o) != 0)
		abort();
	for (size_t i = 0; i < o; i++) {
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
			abort();
		if (i + 5 <= o && memcmp(out + i, "\r\n.\r\n", 5) == 0 &&
		    i + 5 != o)
			abort();
	}
	free(out);
	free(want);
	return 0;
}
