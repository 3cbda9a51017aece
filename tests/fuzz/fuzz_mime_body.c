// fuzz-sources: lib/mime_body.c lib/mime_header.c lib/mime_param.c lib/mime_struct.c lib/crlf.c lib/base64.c
/* libFuzzer target for lib/mime_body. The first octet picks a transfer
 * encoding and a charset, the rest is a body: it is decoded with a
 * generous bound and again with one of half that (which must fail or give
 * the same octets), then converted to UTF-8, which must be valid UTF-8.
 * The whole input is also parsed as a message and the text of every part
 * taken: valid UTF-8 every time; its text map must read back, piece by
 * piece, within the input, one body per text part, each giving valid
 * UTF-8. The input is also
 * read as a text map (nothing may go wrong but an error). Run:
 * tests/run-fuzz, or by hand
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

/* The text map of msg reads back: inside the input, one body per text
 * part, each valid UTF-8 once decoded. */
static void check_map(const char *in, size_t len,
		      const struct mime_message *msg)
{
	struct mime_body_piece piece;
	struct buf map, a;
	size_t pos = 0, texts = 0, k = 0;
	int r;

	buf_init(&map, 1 << 20);
	buf_init(&a, len * 8 + 64);
	if (mime_body_textmap_write(msg, len, &map) < 0)
		abort();
	for (size_t i = 0; i < msg->part_count; i++)
		texts += mime_body_is_text(msg->parts[i]);
	while ((r = mime_body_textmap_next(map.data, map.len, &pos, &piece)) >
	       0) {
		if (piece.offset > len || piece.len > len - piece.offset)
			abort();
		if (piece.header)
			continue;
		k++;
		buf_reset(&a);
		if (mime_body_piece_text(&piece, in + piece.offset, piece.len,
					 &a) < 0 ||
		    !mime_body_utf8_valid(a.data, a.len))
			abort();
	}
	if (r != 0 || k != texts)
		abort();
	buf_deinit(&a);
	buf_deinit(&map);
	/* arbitrary octets as a map */
	pos = 0;
	while ((r = mime_body_textmap_next(in, len, &pos, &piece)) > 0)
		if (strlen(piece.encoding) > 40 || strlen(piece.charset) > 40)
			abort();
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
	check_map(in, len, msg);
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
