// fuzz-sources: lib/mime_body.c lib/mime_header.c lib/mime_param.c lib/mime_struct.c
/* libFuzzer target for lib/mime_body. The first octet picks a transfer
 * encoding and a charset, the rest is a body: it is decoded with a
 * generous bound and again with one of half that (which must fail or give
 * the same octets), then converted to UTF-8, which must be valid UTF-8.
 * The whole input is also parsed as a message and the text of every part
 * taken: valid UTF-8 every time. Run: tests/run-fuzz, or by hand
 * ./fuzz_mime_body -max_total_time=60 CORPUS_COPY */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "mime.h"
#include "mime_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const encodings[] = {
	"base64", "quoted-printable", "7bit", "8bit", "binary", NULL, "x-uue",
	"BASE64",
};
static const char *const charsets[] = {
	NULL, "utf-8", "us-ascii", "iso-8859-1", "windows-1252", "koi8-r",
	"shift_jis", "utf-16", "iso-2022-jp", "no-such", "utf-8//IGNORE",
	"gb18030", "utf-7",
};

static const struct mime_limits limits = {
	.header_size_max = 4096, .fields_max = 50, .depth_max = 8,
	.parts_max = 64, .params_max = 8, .param_len_max = 256,
};

static void check_decode(const char *enc, const char *in, size_t len)
{
	struct buf big, small;
	int r, r2;

	/* decoding at most doubles (LF -> CRLF) */
	buf_init(&big, len * 2 + 16);
	buf_init(&small, len);
	r = mime_body_decode(enc, in, len, &big);
	r2 = mime_body_decode(enc, in, len, &small);
	if (r == -1 || (r == -2) != (r2 == -2))
		abort();
	if (r == 0 && r2 == 0 &&
	    (small.len != big.len || memcmp(small.data, big.data, big.len) != 0))
		abort();
	if (r == 0 && r2 == -1 && big.len <= len)
		abort();
	buf_deinit(&small);
	buf_deinit(&big);
}

static void check_utf8(const char *cs, const char *in, size_t len)
{
	struct buf out;

	/* three octets per input octet at most (U+FFFD, or a character of
	 * a single-octet charset), plus iconv's shift sequences */
	buf_init(&out, len * 4 + 16);
	if (mime_body_to_utf8(cs, in, len, &out) < 0 ||
	    !mime_body_utf8_valid(out.data, out.len))
		abort();
	buf_deinit(&out);
}

static void check_parts(const char *in, size_t len)
{
	struct mime_message *msg = mime_parse(in, len, &limits);
	struct buf out;

	buf_init(&out, len * 8 + 64);
	for (size_t i = 0; i < msg->part_count; i++) {
		const struct mime_part *p = msg->parts[i];

		buf_reset(&out);
		if (mime_body_text(in, len, p, &out) < 0 ||
		    !mime_body_utf8_valid(out.data, out.len) ||
		    (!mime_body_is_text(p) && out.len != 0))
			abort();
	}
	buf_deinit(&out);
	mime_message_free(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t len;

	if (size < 1 || size > 8192)
		return 0;
	len = size - 1;
	check_decode(encodings[data[0] % (sizeof(encodings) /
					  sizeof(encodings[0]))], in, len);
	check_utf8(charsets[(data[0] >> 3) % (sizeof(charsets) /
					      sizeof(charsets[0]))], in, len);
	check_parts(in, len);
	return 0;
}
