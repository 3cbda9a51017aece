// fuzz-sources: lib/smtp_data.c
/* libFuzzer target for the DATA/BDAT content decoder (lib/smtp_data). The
 * first input octet picks the mode, the limits and a chunk size; the rest
 * is fed in those chunks and again one octet at a time. Both runs must
 * agree (the decoder may not depend on how the input is split), the
 * output may never hold a CR, and in DATA mode the end may only follow
 * CRLF "." CRLF. Run: tests/run-fuzz, or by hand
 *   ./fuzz_smtp_data -max_total_time=60 tests/fuzz/corpus/smtp_data */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	int ret;
	size_t used;
	unsigned flags;
	uint64_t size;
	struct buf out;
};

static int out_fn(void *ctx, const char *data, size_t len)
{
	struct buf *b = ctx;

	if (memchr(data, '\r', len) != NULL)
		abort();
	/* Fails once the buffer is full: exercises OUTPUT_FAILED. */
	return buf_append(b, data, len);
}

static void feed(enum smtp_data_mode mode, const struct smtp_data_limits *l,
		 const char *in, size_t len, size_t step, struct run *r)
{
	struct smtp_data *d;
	size_t pos = 0;
	const char *error;

	memset(r, 0, sizeof(*r));
	buf_init(&r->out, 1 << 16);
	d = smtp_data_new(mode, l, out_fn, &r->out);
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step, used;
		r->ret = smtp_data_feed(d, in + pos, n, &used, &error);
		if (r->ret < 0)
			break;
		if (used > n || (r->ret == 0 && used != n))
			abort();
		pos += used;
		if (r->ret == 1)
			break;
	}
	r->used = pos;
	if (mode == SMTP_DATA_MODE_BDAT && r->ret == 0)
		r->ret = smtp_data_finish(d, &error) < 0 ? -1 : 0;
	r->flags = smtp_data_flags(d);
	r->size = smtp_data_size(d);
	smtp_data_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t knob = data[0];
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	enum smtp_data_mode mode = (knob & 1) ? SMTP_DATA_MODE_BDAT
					      : SMTP_DATA_MODE_DOT;
	struct smtp_data_limits l = {
		.message_size_max = (knob & 2) ? 64 : 0,
		.header_line_max = (knob & 4) ? 8 : 998,
		.header_size_max = (knob & 8) ? 32 : 65536,
		.allow_bare_lf = (knob & 16) != 0,
	};
	struct run a, b;

	feed(mode, &l, in, len, 1 + (knob >> 5) * 7, &a);
	feed(mode, &l, in, len, 1, &b);
	/* (used means nothing after an error) */
	if (a.ret != b.ret || (a.ret >= 0 && a.used != b.used) ||
	    a.flags != b.flags || a.size != b.size)
		abort();
	/* The output counts only for a message that can be accepted (a
	 * rejected one stops somewhere that depends on the chunking). */
	if (a.ret >= 0 && (a.flags & SMTP_DATA_REJECT_MASK) == 0 &&
	    (a.out.len != b.out.len ||
	     memcmp(a.out.data, b.out.data, a.out.len) != 0))
		abort();
	/* DATA ends only right after CRLF "." CRLF (the first CRLF may be
	 * the DATA command's). */
	if (mode == SMTP_DATA_MODE_DOT && a.ret == 1) {
		if (a.used < 3 || memcmp(in + a.used - 3, ".\r\n", 3) != 0 ||
		    (a.used > 3 && memcmp(in + a.used - 5, "\r\n", 2) != 0))
			abort();
	}
	if (mode == SMTP_DATA_MODE_BDAT && a.ret == 1)
		abort();
	buf_deinit(&a.out);
	buf_deinit(&b.out);
	return 0;
}
