/* Unit tests of lib/smtp_data: dot-unstuffing, CRLF to LF, the end of
 * DATA found only as CRLF.CRLF, every SMTP smuggling variant, BDAT chunks
 * split anywhere, and the header and size limits at limit-1 / limit /
 * limit+1. Every case also runs fed one octet at a time and split in two
 * at every position: the result must not depend on the chunking. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "smtp_data.h"
#include "unit.h"

struct result {
	int ret;		/* last feed: 1, 0, -1 (finish for BDAT) */
	size_t used;		/* octets consumed in total */
	unsigned flags;
	uint64_t size;
	struct buf out;
};

static int out_fn(void *ctx, const char *data, size_t len)
{
	struct buf *b = ctx;

	return buf_append(b, data, len);
}

static int fail_fn(void *ctx, const char *data, size_t len) { return -1; }

static const struct smtp_data_limits default_limits = {
	.message_size_max = 1 << 20,
	.header_line_max = 998,
	.header_size_max = 4096,
	.allow_bare_lf = false,
};

/* Feeds in[0..len) in chunks of at most step octets (0: the split point
 * split, then the rest); BDAT mode calls finish at the end. */
static void run(enum smtp_data_mode mode, const struct smtp_data_limits *l,
		const char *in, size_t len, size_t step, size_t split,
		struct result *r)
{
	struct smtp_data *d;
	size_t pos = 0;

	memset(r, 0, sizeof(*r));
	buf_init(&r->out, 8 << 20);
	d = smtp_data_new(mode, l, out_fn, &r->out);
	while (pos < len) {
		size_t n = step > 0 ? step : (pos == 0 ? split : len - pos);
		size_t used;
		const char *error;
		if (n > len - pos)
			n = len - pos;
		r->ret = smtp_data_feed(d, in + pos, n, &used, &error);
		if (r->ret < 0)
			break;
		UNIT_CHECK(used <= n);
		pos += used;
		r->used = pos;
		if (r->ret == 1)
			break;
		UNIT_CHECK(used == n);
	}
	if (mode == SMTP_DATA_MODE_BDAT && r->ret == 0) {
		const char *error;
		r->ret = smtp_data_finish(d, &error) < 0 ? -1 : 0;
	}
	r->flags = smtp_data_flags(d);
	r->size = smtp_data_size(d);
	smtp_data_free(&d);
	UNIT_CHECK(d == NULL);
}

static const struct {
	const char *name;
	enum smtp_data_mode mode;
	bool lenient;
	const char *in;
	int ret;		/* 1 end, 0 need more, -1 error */
	const char *out;	/* expected output (when ret >= 0) */
	size_t rest;		/* octets left after the end */
} cases[] = {
	{ "simple", SMTP_DATA_MODE_DOT, false,
	  "Subject: hi\r\n\r\nbody\r\n.\r\n", 1, "Subject: hi\n\nbody\n", 0 },
	{ "empty", SMTP_DATA_MODE_DOT, false, ".\r\n", 1, "", 0 },
	{ "pipelined", SMTP_DATA_MODE_DOT, false, "a\r\n.\r\nQUIT\r\n", 1,
	  "a\n", 6 },
	{ "two messages", SMTP_DATA_MODE_DOT, false, "a\r\n.\r\nb\r\n.\r\n",
	  1, "a\n", 6 },
	{ "dot-stuffing", SMTP_DATA_MODE_DOT, false,
	  "..x\r\n..\r\n...\r\nx.y\r\n.\r\n", 1, ".x\n.\n..\nx.y\n", 0 },
	{ "lone stuffed dot", SMTP_DATA_MODE_DOT, false, ".x\r\n.\r\n", 1,
	  "x\n", 0 },
	{ "unfinished", SMTP_DATA_MODE_DOT, false, "a\r\n.", 0, "a\n", 0 },
	{ "unfinished cr", SMTP_DATA_MODE_DOT, false, "a\r\n.\r", 0, "a\n",
	  0 },
	{ "empty lines", SMTP_DATA_MODE_DOT, false, "\r\n\r\n.\r\n", 1,
	  "\n\n", 0 },
	/* SMTP smuggling: none of these ends the message. */
	{ "LF.LF", SMTP_DATA_MODE_DOT, false, "a\n.\nMAIL FROM:<x@y>\r\n", -1,
	  NULL, 0 },
	{ "LF.CRLF", SMTP_DATA_MODE_DOT, false, "a\n.\r\nMAIL FROM:<x>\r\n",
	  -1, NULL, 0 },
	{ "CRLF.LF", SMTP_DATA_MODE_DOT, false, "a\r\n.\nMAIL FROM:<x>\r\n",
	  -1, NULL, 0 },
	{ "CR.CR", SMTP_DATA_MODE_DOT, false, "a\r.\rMAIL FROM:<x>\r\n", -1,
	  NULL, 0 },
	{ "CRLF.CR", SMTP_DATA_MODE_DOT, false, "a\r\n.\rMAIL\r\n", -1, NULL,
	  0 },
	{ "CRLF.CRCRLF", SMTP_DATA_MODE_DOT, false, "a\r\n.\r\r\n", -1, NULL,
	  0 },
	{ "CR.CRLF", SMTP_DATA_MODE_DOT, false, "a\r.\r\nMAIL\r\n", -1, NULL,
	  0 },
	{ "CRCRLF.CRLF", SMTP_DATA_MODE_DOT, false, "a\r\r\n.\r\n", -1, NULL,
	  0 },
	{ "leading LF.", SMTP_DATA_MODE_DOT, false, "\n.\r\n", -1, NULL, 0 },
	{ "leading .LF", SMTP_DATA_MODE_DOT, false, ".\n", -1, NULL, 0 },
	{ "bare LF in body", SMTP_DATA_MODE_DOT, false, "a\r\nb\nc\r\n.\r\n",
	  -1, NULL, 0 },
	{ "bare CR in body", SMTP_DATA_MODE_DOT, false, "a\r\nb\rc\r\n.\r\n",
	  -1, NULL, 0 },
	{ "CR at line start", SMTP_DATA_MODE_DOT, false, "a\r\n\r.\r\n", -1,
	  NULL, 0 },
	/* smtpd_forbid_bare_newline = no: a bare LF ends a line, but a dot
	 * after it is content, so the end is still CRLF.CRLF only. */
	{ "lenient LF.LF", SMTP_DATA_MODE_DOT, true,
	  "a\n.\nMAIL FROM:<x>\r\n.\r\n", 1, "a\n.\nMAIL FROM:<x>\n", 0 },
	{ "lenient LF.CRLF", SMTP_DATA_MODE_DOT, true,
	  "a\n.\r\nb\r\n.\r\n", 1, "a\n.\nb\n", 0 },
	{ "lenient CRLF.LF", SMTP_DATA_MODE_DOT, true, "a\r\n.\nb\r\n.\r\n",
	  1, "a\n\nb\n", 0 },
	{ "lenient bare CR", SMTP_DATA_MODE_DOT, true, "a\r.\r\n.\r\n", -1,
	  NULL, 0 },
	/* BDAT: raw content, no dots, final LF added. */
	{ "bdat", SMTP_DATA_MODE_BDAT, false, "a\r\n.\r\nb", 0,
	  "a\n.\nb\n", 0 },
	{ "bdat crlf end", SMTP_DATA_MODE_BDAT, false, "a\r\n", 0, "a\n", 0 },
	{ "bdat empty", SMTP_DATA_MODE_BDAT, false, "", 0, "", 0 },
	{ "bdat dots", SMTP_DATA_MODE_BDAT, false, "..\r\n.\r\n", 0,
	  "..\n.\n", 0 },
	{ "bdat bare LF", SMTP_DATA_MODE_BDAT, false, "a\nb\r\n", -1, NULL,
	  0 },
	{ "bdat bare CR", SMTP_DATA_MODE_BDAT, false, "a\rb\r\n", -1, NULL,
	  0 },
	{ "bdat CR at end", SMTP_DATA_MODE_BDAT, false, "a\r", -1, NULL, 0 },
};

static void check_case(size_t i, size_t step, size_t split)
{
	struct smtp_data_limits l = default_limits;
	struct result r;
	size_t len = strlen(cases[i].in);

	l.allow_bare_lf = cases[i].lenient;
	run(cases[i].mode, &l, cases[i].in, len, step, split, &r);
	bool ok = r.ret == cases[i].ret;
	if (ok && cases[i].ret >= 0)
		ok = strcmp(buf_cstr(&r.out), cases[i].out) == 0 &&
		     r.used == len - cases[i].rest;
	if (ok && cases[i].ret < 0)
		ok = (r.flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR)) != 0;
	UNIT_CHECK(ok);
	if (!ok)
		fprintf(stderr, "  case %s (step %zu split %zu): ret %d out "
			"\"%s\" used %zu\n", cases[i].name, step, split, r.ret,
			buf_cstr(&r.out), r.used);
	buf_deinit(&r.out);
}

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		check_case(i, len > 0 ? len : 1, 0);	/* all at once */
		check_case(i, 1, 0);			/* octet by octet */
		for (size_t split = 1; split < len; split++)
			check_case(i, 0, split);
	}
}

/* A message with a header line of n octets (CRLF excluded). */
static void header_line(size_t n, size_t max, bool want_flag)
{
	struct smtp_data_limits l = default_limits;
	struct buf in;
	struct result r;

	l.header_line_max = max;
	buf_init(&in, 1 << 20);
	UNIT_CHECK(buf_append_str(&in, "X-Long: ") == 0);
	bool built = true;
	for (size_t i = 8; i < n; i++)
		built = built && buf_append_char(&in, 'h') == 0;
	UNIT_CHECK(built);
	UNIT_CHECK(buf_append_str(&in, "\r\n\r\nbody\r\n.\r\n") == 0);
	run(SMTP_DATA_MODE_DOT, &l, in.data, in.len, 7, 0, &r);
	UNIT_CHECK(r.ret == 1);
	UNIT_CHECK(((r.flags & SMTP_DATA_HEADER_LINE) != 0) == want_flag);
	/* A rejected message produces nothing more. */
	if (want_flag)
		UNIT_CHECK(strstr(buf_cstr(&r.out), "body") == NULL);
	buf_deinit(&r.out);
	buf_deinit(&in);
}

static void test_header_limits(void)
{
	header_line(99, 100, false);
	header_line(100, 100, false);
	header_line(101, 100, true);

	/* Body lines may be longer than the header line limit. */
	struct smtp_data_limits l = default_limits;
	struct buf in;
	struct result r;
	l.header_line_max = 100;
	buf_init(&in, 1 << 20);
	UNIT_CHECK(buf_append_str(&in, "Subject: x\r\n\r\n") == 0);
	char body[5000];
	memset(body, 'b', sizeof(body));
	UNIT_CHECK(buf_append(&in, body, sizeof(body)) == 0);
	UNIT_CHECK(buf_append_str(&in, "\r\n.\r\n") == 0);
	run(SMTP_DATA_MODE_DOT, &l, in.data, in.len, 333, 0, &r);
	UNIT_CHECK(r.ret == 1 && r.flags == 0);
	UNIT_CHECK(r.out.len == 12 + 5000 + 1);
	buf_deinit(&r.out);
	buf_deinit(&in);

	/* Header section: "A: x\n" is 5 octets; 4 lines = 20. */
	static const char four[] = "A: x\r\nB: x\r\nC: x\r\nD: x\r\n\r\nb\r\n.\r\n";
	const size_t sizes[] = { 19, 20, 21 };
	const bool flagged[] = { true, false, false };
	for (size_t i = 0; i < 3; i++) {
		l = default_limits;
		l.header_size_max = sizes[i];
		run(SMTP_DATA_MODE_DOT, &l, four, strlen(four), 1, 0, &r);
		UNIT_CHECK(r.ret == 1);
		UNIT_CHECK(((r.flags & SMTP_DATA_HEADER_SIZE) != 0) ==
			   flagged[i]);
		buf_deinit(&r.out);
	}

	/* A folded header counts toward the section, not as a new line. */
	static const char folded[] = "Subject: a\r\n b\r\n\tc\r\n\r\n.\r\n";
	l = default_limits;
	l.header_line_max = 10;
	run(SMTP_DATA_MODE_DOT, &l, folded, strlen(folded), 1, 0, &r);
	UNIT_CHECK(r.ret == 1 && r.flags == 0);
	UNIT_STREQ(buf_cstr(&r.out), "Subject: a\n b\n\tc\n\n");
	buf_deinit(&r.out);

	/* A long line with no ":" is the first body line, not an over-long
	 * header; a field name over the limit still is one. */
	static const char longbody[] = "A: x\r\nBBBBBBBBBBBBBBBBBBBB\r\n.\r\n";
	static const char longname[] = "BBBBBBBBBBBBBBBBBBBB: x\r\n\r\n.\r\n";
	l = default_limits;
	l.header_line_max = 10;
	run(SMTP_DATA_MODE_DOT, &l, longbody, strlen(longbody), 1, 0, &r);
	UNIT_CHECK(r.ret == 1 && r.flags == 0);
	UNIT_STREQ(buf_cstr(&r.out), "A: x\nBBBBBBBBBBBBBBBBBBBB\n");
	buf_deinit(&r.out);
	run(SMTP_DATA_MODE_DOT, &l, longname, strlen(longname), 1, 0, &r);
	UNIT_CHECK(r.ret == 1 && r.flags == SMTP_DATA_HEADER_LINE);
	buf_deinit(&r.out);
	l = default_limits;
	l.header_size_max = 12;
	run(SMTP_DATA_MODE_DOT, &l, longbody, strlen(longbody), 1, 0, &r);
	UNIT_CHECK(r.ret == 1 && r.flags == 0);
	buf_deinit(&r.out);

	/* A line that is not a header ends the header section. */
	static const char nohdr[] = "not a header line\r\nX: y\r\n.\r\n";
	l = default_limits;
	l.header_size_max = 5;
	run(SMTP_DATA_MODE_DOT, &l, nohdr, strlen(nohdr), 1, 0, &r);
	UNIT_CHECK(r.ret == 1 && r.flags == 0);
	buf_deinit(&r.out);
}

/* "abc\r\n" is 5 octets as RFC 1870 counts. */
static void test_size_limit(void)
{
	static const char msg[] = "abc\r\nde\r\n.\r\n";
	const uint64_t limits[] = { 8, 9, 10 };
	const bool too_big[] = { true, false, false };

	for (size_t i = 0; i < 3; i++) {
		struct smtp_data_limits l = default_limits;
		struct result r;
		l.message_size_max = limits[i];
		run(SMTP_DATA_MODE_DOT, &l, msg, strlen(msg), 1, 0, &r);
		UNIT_CHECK(r.ret == 1 && r.used == strlen(msg));
		UNIT_CHECK(r.size == 9);
		UNIT_CHECK(((r.flags & SMTP_DATA_TOO_BIG) != 0) == too_big[i]);
		if (!too_big[i])
			UNIT_STREQ(buf_cstr(&r.out), "abc\nde\n");
		buf_deinit(&r.out);
	}
	/* BDAT counts the same way. */
	struct smtp_data_limits l = default_limits;
	struct result r;
	l.message_size_max = 8;
	run(SMTP_DATA_MODE_BDAT, &l, "abc\r\nde\r\n", 9, 4, 0, &r);
	UNIT_CHECK(r.ret == 0 && (r.flags & SMTP_DATA_TOO_BIG) != 0);
	buf_deinit(&r.out);
}

static void test_nul_and_output_failure(void)
{
	static const char nul[] = "a\r\nb\0c\r\n.\r\n";
	struct result r;

	run(SMTP_DATA_MODE_DOT, &default_limits, nul, sizeof(nul) - 1, 1, 0,
	    &r);
	UNIT_CHECK(r.ret == 1 && (r.flags & SMTP_DATA_NUL) != 0);
	buf_deinit(&r.out);

	/* A failing writer: the decoder still finds the end. */
	struct smtp_data *d = smtp_data_new(SMTP_DATA_MODE_DOT,
					    &default_limits, fail_fn, NULL);
	size_t used;
	const char *error;
	static const char msg[] = "a\r\nb\r\n.\r\nQUIT\r\n";
	UNIT_CHECK(smtp_data_feed(d, msg, strlen(msg), &used, &error) == 1);
	UNIT_CHECK(used == strlen(msg) - 6);
	UNIT_CHECK(smtp_data_flags(d) & SMTP_DATA_OUTPUT_FAILED);
	/* After the end nothing more is taken. */
	UNIT_CHECK(smtp_data_feed(d, "x", 1, &used, &error) == 1 && used == 0);
	smtp_data_free(&d);
}

/* A large body streams through with bounded memory in the decoder. */
static void test_large(void)
{
	struct buf in;
	struct result r;
	struct smtp_data_limits l = default_limits;

	l.message_size_max = 0;
	buf_init(&in, 4 << 20);
	bool built = buf_append_str(&in, "Subject: big\r\n\r\n") == 0;
	while (built && in.len < (2 << 20))
		built = buf_append_str(&in, "0123456789 abcdefghij ..dots\r\n")
			== 0;
	UNIT_CHECK(built && buf_append_str(&in, ".\r\n") == 0);
	run(SMTP_DATA_MODE_DOT, &l, in.data, in.len, 65536, 0, &r);
	UNIT_CHECK(r.ret == 1 && r.flags == 0 && r.used == in.len);
	UNIT_CHECK(r.size == in.len - 3);
	buf_deinit(&r.out);
	buf_deinit(&in);
}

int main(void)
{
	test_cases();
	test_header_limits();
	test_size_limit();
	test_nul_and_output_failure();
	test_large();
	return unit_done();
}
