// fuzz-sources: lib/smtp_reply.c
/* libFuzzer target for the SMTP reply parser (lib/smtp_reply). The input
 * is a server's byte stream; its first octet picks a chunk size. The
 * stream is parsed whole, in chunks of that size and one byte at a time:
 * the three transcripts (each reply's code, status, lines and text, each
 * error) must be identical. Every reply is checked against the limits and
 * the grammar, and read as an EHLO reply and classified. Run:
 * tests/run-fuzz, or by hand
 *   ./fuzz_smtp_reply -max_total_time=60 tests/fuzz/corpus/smtp_reply */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct smtp_reply_limits limits = {
	.line_max = 120, .lines_max = 12, .total_max = 800 };

static void put(struct buf *b, const void *data, size_t len)
{
	/* The transcript is bounded by the input: a failure is a bug. */
	if (buf_append(b, data, len) < 0)
		abort();
}

static bool text_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

static void check_ehlo(const struct smtp_reply *r)
{
	struct smtp_ehlo e;
	const char *error;
	size_t len;

	if (smtp_reply_ehlo_parse(r, &e, &error) < 0) {
		if (r->code == 250 || error == NULL)
			abort();
		return;
	}
	len = strlen(e.auth);
	if (len > SMTP_EHLO_AUTH_MAX || (e.auth[0] == ' ') ||
	    (len > 0 && e.auth[len - 1] == ' ') || strstr(e.auth, "  ") ||
	    (e.size_max != 0 && (e.ext & SMTP_EXT_SIZE) == 0) ||
	    (len > 0 && (e.ext & SMTP_EXT_AUTH) == 0))
		abort();
	for (const char *s = e.auth; *s != '\0';) {
		size_t n = strcspn(s, " ");
		char mech[SMTP_EHLO_MECH_MAX + 1];

		if (n == 0 || n > SMTP_EHLO_MECH_MAX)
			abort();
		memcpy(mech, s, n);
		mech[n] = '\0';
		if (!smtp_reply_ehlo_has_auth(&e, mech))
			abort();
		s += n + (s[n] == ' ');
	}
}

static void check_reply(const struct smtp_reply *r, struct buf *out)
{
	struct smtp_reply_result res;
	size_t total = 0, slen;

	if (r->code < 200 || r->code > 559 || r->code % 100 > 59 ||
	    r->line_count == 0 || r->line_count > limits.lines_max ||
	    !text_safe(r->text))
		abort();
	if (r->status[0] != '\0' &&
	    (r->status[0] != (char)('0' + r->code / 100) ||
	     !smtp_reply_status_valid(r->status, strlen(r->status), &slen) ||
	     slen != strlen(r->status)))
		abort();
	for (size_t i = 0; i < r->line_count; i++) {
		size_t n = strlen(r->lines[i]);

		if ((n > 0 && n + 4 > limits.line_max) ||
		    !text_safe(r->lines[i]))
			abort();
		total += n + 4 + 1;
	}
	/* The joined text starts with the code and is no longer than the
	 * lines with their codes, separators and one space each. */
	if (strlen(r->text) > total ||
	    (unsigned)(r->text[0] - '0') * 100 +
	    (unsigned)(r->text[1] - '0') * 10 +
	    (unsigned)(r->text[2] - '0') != r->code)
		abort();
	smtp_reply_classify(r, SMTP_REPLY_FLAG_RCPT, &res);
	if ((res.class == SMTP_REPLY_INTERMEDIATE) != (res.status[0] == '\0') ||
	    (res.status[0] != '\0' && res.status[0] != (char)('0' +
							      res.code / 100)))
		abort();
	check_ehlo(r);
	put(out, "R", 1);
	put(out, &r->code, sizeof(r->code));
	put(out, r->status, strlen(r->status) + 1);
	put(out, &r->line_count, sizeof(r->line_count));
	for (size_t i = 0; i < r->line_count; i++)
		put(out, r->lines[i], strlen(r->lines[i]) + 1);
	put(out, r->text, strlen(r->text) + 1);
}

/* Feeds data in pieces of chunk octets; records a transcript. */
static void run(struct smtp_reply_parser *p, const uint8_t *data,
		size_t size, size_t chunk, struct buf *out)
{
	size_t pos = 0, fed = 0;

	smtp_reply_parser_reset(p);
	while (fed < size) {
		size_t n = size - fed < chunk ? size - fed : chunk;

		/* Within one piece, feed again after each reply. */
		while (pos < fed + n) {
			const struct smtp_reply *r = NULL;
			const char *error = NULL;
			size_t used = 0;
			int ret = smtp_reply_parser_feed(p, data + pos,
							 fed + n - pos, &used,
							 &r, &error);

			if (used > fed + n - pos)
				abort();
			pos += used;
			if (ret == 0) {
				if (pos != fed + n)
					abort();
			} else if (ret == 1) {
				if (used == 0)
					abort();
				check_reply(r, out);
			} else {
				if (error == NULL || strncmp(error,
				    "malformed reply", 15) != 0 || r != NULL)
					abort();
				put(out, "E", 1);
				put(out, error, strlen(error) + 1);
				put(out, &pos, sizeof(pos));
				return;
			}
		}
		fed += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_reply_parser *p;
	struct buf whole, chunked, bytes;
	size_t chunk;

	if (size < 1 || size > 4096)
		return 0;
	chunk = data[0] % 16 + 1;
	data++;
	size--;
	if (p == NULL)
		p = smtp_reply_parser_new(&limits);
	buf_init(&whole, 1 << 20);
	buf_init(&chunked, 1 << 20);
	buf_init(&bytes, 1 << 20);
	run(p, data, size, SIZE_MAX, &whole);
	run(p, data, size, chunk, &chunked);
	run(p, data, size, 1, &bytes);
	if (whole.len != bytes.len || chunked.len != bytes.len ||
	    memcmp(whole.data, bytes.data, whole.len) != 0 ||
	    memcmp(chunked.data, bytes.data, whole.len) != 0)
		abort();
	buf_deinit(&whole);
	buf_deinit(&chunked);
	buf_deinit(&bytes);
	return 0;
}
