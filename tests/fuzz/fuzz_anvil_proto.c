// fuzz-sources: lib/anvil_proto.c lib/siphash.c anvil/anvil_table.c
/* libFuzzer target for anvil's line protocol: every input line is parsed
 * as a request (what anvil reads from a possibly compromised smtpd) and
 * as a reply (what smtpd reads from anvil). A parsed request must encode
 * and parse back to itself, and goes into a small anvil table with a
 * clock that the input moves, whose size must stay within its limit. A
 * parsed reply must encode and parse back to the same values. */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "../../anvil/anvil.h"
#include "anvil_proto.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TABLE_MAX 8

static void check_request(struct anvil_table *t, const char *line,
			  size_t len, uint64_t now)
{
	struct anvil_request req, back;
	struct anvil_reply reply;
	struct buf b;
	const char *error;

	if (anvil_proto_request_parse(line, len, &req, &error) < 0)
		return;
	ASSERT(req.ident_len > 0 && req.ident_len <= ANVIL_IDENT_MAX);
	ASSERT(memchr(req.ident, '\0', req.ident_len) == NULL);
	buf_init(&b, ANVIL_LINE_MAX);
	ASSERT(anvil_proto_request_encode(&b, req.event, req.service,
					  req.ident, &error) == 0);
	ASSERT(b.len <= ANVIL_LINE_MAX && b.data[b.len - 1] == '\n');
	ASSERT(anvil_proto_request_parse(b.data, b.len - 1, &back,
					 &error) == 0);
	ASSERT(back.event == req.event && back.ident_len == req.ident_len &&
	       strcmp(back.service, req.service) == 0 &&
	       memcmp(back.ident, req.ident, req.ident_len) == 0);
	buf_deinit(&b);
	if (anvil_table_event(t, &req, now, &reply, &error) == 0)
		ASSERT(reply.ok);
	ASSERT(anvil_table_size(t) <= TABLE_MAX);
}

static void check_reply(const char *line, size_t len)
{
	struct anvil_reply r, back;
	struct buf b;
	const char *error;

	if (anvil_proto_reply_parse(line, len, &r, &error) < 0)
		return;
	buf_init(&b, ANVIL_LINE_MAX);
	ASSERT(anvil_proto_reply_encode(&b, &r) == 0);
	ASSERT(anvil_proto_reply_parse(b.data, b.len - 1, &back,
				       &error) == 0);
	ASSERT(back.ok == r.ok && back.count == r.count &&
	       back.rate == r.rate && strcmp(back.error, r.error) == 0);
	buf_deinit(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct anvil_table *t = anvil_table_new(1000, TABLE_MAX);
	const char *p = (const char *)data, *end = p + size;
	uint64_t now = 0;

	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);

		/* the clock moves by the line's first octet (in 10 ms) */
		now += len > 0 ? (uint64_t)(unsigned char)p[0] * 10 : 0;
		check_request(t, p, len, now);
		check_reply(p, len);
		anvil_table_expire(t, now);
		p += len + 1;
	}
	anvil_table_free(&t);
	return 0;
}
