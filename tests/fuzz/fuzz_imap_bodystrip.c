// fuzz-sources: lib/imap_bodystrip.c lib/imap_bodystructure.c lib/imap_envelope.c lib/imap_string.c lib/addr.c lib/mime_header.c lib/mime_param.c lib/mime_struct.c lib/crlf.c
/* libFuzzer target for lib/imap_bodystrip, two ways. The input as a
 * BODYSTRUCTURE text: stripping it must not crash, and a result must be
 * no longer than the input and strip to itself again. The input as a
 * message: BODY derived from its BODYSTRUCTURE must equal the BODY the
 * writer makes (the property the message cache relies on). Run:
 * tests/run-fuzz, or ./fuzz_imap_bodystrip tests/fuzz/corpus/imap_bodystrip */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "imap_bodystructure.h"
#include "imap_bodystrip.h"
#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mime_limits limits = {
	.header_size_max = 2048, .fields_max = 32, .depth_max = 8,
	.parts_max = 64, .params_max = 8, .param_len_max = 64 };

static void as_structure(const char *s, size_t len)
{
	struct buf out, again;

	buf_init(&out, len + 16);
	if (imap_bodystrip(s, len, &out) == 0) {
		if (out.len > len)
			abort();
		buf_init(&again, len + 16);
		if (imap_bodystrip(out.data, out.len, &again) != 0 ||
		    again.len != out.len ||
		    memcmp(again.data, out.data, out.len) != 0)
			abort();
		buf_deinit(&again);
	} else if (out.len != 0) {
		abort();
	}
	buf_deinit(&out);
}

static void as_message(const char *s, size_t len)
{
	struct mime_message *m = mime_parse(s, len, &limits);
	struct buf bs, body, stripped;
	const char *error;

	buf_init(&bs, 1 << 20);
	buf_init(&body, 1 << 20);
	buf_init(&stripped, 1 << 20);
	if (imap_bodystructure_write(&bs, s, len, m, true, 0, &error) == 0 &&
	    imap_bodystructure_write(&body, s, len, m, false, 0, &error) == 0 &&
	    (imap_bodystrip(bs.data, bs.len, &stripped) != 0 ||
	     stripped.len != body.len ||
	     memcmp(stripped.data, body.data, body.len) != 0))
		abort();
	buf_deinit(&bs);
	buf_deinit(&body);
	buf_deinit(&stripped);
	mime_message_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	as_structure((const char *)data, size);
	as_message((const char *)data, size);
	return 0;
}
