// fuzz-sources: lib/mime_header.c lib/mime_param.c lib/mime_struct.c lib/addr.c lib/imap_string.c lib/imap_envelope.c lib/imap_bodystructure.c lib/crlf.c
/* libFuzzer target for the FETCH BODYSTRUCTURE, BODY and ENVELOPE writers
 * (lib/imap_bodystructure, lib/imap_envelope): the input is a message
 * file, parsed by lib/mime with small limits. Each output must have
 * balanced parentheses outside quoted strings and literals, every literal
 * must lie inside the output, quoted strings must be closed, and a
 * too-small output maximum must give -1. The first input octet, when it
 * is 'U', turns UTF8=ACCEPT on. Run: tests/run-fuzz, or by hand
 *   ./fuzz_imap_fetch_struct -max_total_time=60 CORPUS_COPY/ */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_bodystructure.h"
#include "imap_envelope.h"
#include "imap_string.h"
#include "mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mime_limits limits = {.header_size_max = 512,
					  .fields_max = 16,
					  .depth_max = 6,
					  .parts_max = 40,
					  .params_max = 4,
					  .param_len_max = 40};

/* A literal's length "{n}" CRLF at s[i]; returns the index after its data,
 * or aborts when it is malformed. */
static size_t skip_literal(const char *s, size_t len, size_t i)
{
	size_t n = 0;

	for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		n = n * 10 + (size_t)(s[i] - '0');
	if (i + 2 >= len + 1 || s[i] != '}' || s[i + 1] != '\r' ||
	    s[i + 2] != '\n' || n > len - (i + 3))
		abort();
	return i + 3 + n;
}

static void check_balanced(const char *s, size_t len)
{
	size_t depth = 0;

	for (size_t i = 0; i < len;) {
		switch (s[i]) {
		case '(':
			depth++;
			i++;
			break;
		case ')':
			if (depth == 0)
				abort();
			depth--;
			i++;
			break;
		case '"':
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\r' || s[i] == '\n' || s[i] == 0)
					abort();
				if (s[i] == '\\')
					i++;
			}
			if (i >= len)
				abort();
			i++;
			break;
		case '{':
			i = skip_literal(s, len, i);
			break;
		default:
			if (s[i] == '\r' || s[i] == '\n')
				abort();
			i++;
		}
	}
	if (depth != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	unsigned flags = size > 0 && d[0] == 'U' ? IMAP_STRING_UTF8 : 0;
	struct mime_message *msg = mime_parse(d, size, &limits);
	const char *error;
	struct buf out;

	buf_init(&out, 1 << 22);
	for (int extended = 0; extended < 2; extended++) {
		buf_reset(&out);
		if (imap_bodystructure_write(&out, d, size, msg, extended,
					     flags, &error) < 0)
			abort();
		check_balanced(out.data, out.len);
		if (out.len > 0) { /* one octet short must fail */
			struct buf small;

			buf_init(&small, out.len - 1);
			if (imap_bodystructure_write(&small, d, size, msg,
						     extended, flags,
						     &error) == 0)
				abort();
			buf_deinit(&small);
		}
	}
	buf_reset(&out);
	if (imap_envelope_write(&out, d, msg->root->header_len, flags, &error) <
	    0)
		abort();
	check_balanced(out.data, out.len);
	buf_deinit(&out);
	mime_message_free(&msg);
	return 0;
}
