/* Unit tests of lib/smtp_reply: every reply form, each malformed case,
 * the limits at limit-1 / limit / limit+1, whole versus one byte at a
 * time, pipelined replies, EHLO keywords and the classification. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "smtp_reply.h"
#include "str.h"
#include "unit.h"

static const struct smtp_reply_limits lim = {
	.line_max = 100, .lines_max = 5, .total_max = 400 };

static const struct {
	const char *in;
	unsigned code;		/* 0: must fail */
	const char *status;	/* or the error's substring */
	size_t lines;
	const char *text;
} cases[] = {
	{ "250 OK\r\n", 250, "", 1, "250 OK" },
	{ "250\r\n", 250, "", 1, "250" },
	{ "250 \r\n", 250, "", 1, "250 " },
	{ "250 OK\n", 250, "", 1, "250 OK" },
	{ "250-a\r\n250-b\n250 c\r\n", 250, "", 3, "250-a 250-b 250 c" },
	{ "250-a\r\n250\r\n", 250, "", 2, "250-a 250" },
	{ "250-\r\n250 x\r\n", 250, "", 2, "250- 250 x" },
	{ "550 5.1.1 No such user\r\n", 550, "5.1.1", 1,
	  "550 5.1.1 No such user" },
	{ "550-5.1.1 a\r\n550 5.1.2 b\r\n", 550, "5.1.1", 2,
	  "550-5.1.1 a 550 5.1.2 b" },
	{ "550-a\r\n550 5.7.1 b\r\n", 550, "5.7.1", 2, "550-a 550 5.7.1 b" },
	{ "451 4.123.456 x\r\n", 451, "4.123.456", 1, "451 4.123.456 x" },
	{ "250 2.0.0\r\n", 250, "2.0.0", 1, "250 2.0.0" },
	{ "250 5.1.1 wrong class\r\n", 250, "", 1, "250 5.1.1 wrong class" },
	{ "550 5.1.1x\r\n", 550, "", 1, "550 5.1.1x" },
	{ "550 5.1234.1 x\r\n", 550, "", 1, "550 5.1234.1 x" },
	{ "550 5..1 x\r\n", 550, "", 1, "550 5..1 x" },
	{ "550 5.1 x\r\n", 550, "", 1, "550 5.1 x" },
	{ "354 go ahead\r\n", 354, "", 1, "354 go ahead" },
	{ "559 x\r\n", 559, "", 1, "559 x" },
	{ "200 x\r\n", 200, "", 1, "200 x" },
	{ "250 a\tb\r\n", 250, "", 1, "250 a\tb" },
	{ "250 caf\xc3\xa9\r\n", 250, "", 1, "250 caf\xc3\xa9" },
	{ "250 bad\xff\x01\x7f" "end\r\n", 250, "", 1, "250 bad???end" },
	{ "250 trunc\xc3\r\n", 250, "", 1, "250 trunc?" },
	/* Malformed. */
	{ "250-a\r\n550 b\r\n", 0, "mixed reply codes 250 and 550", 0, NULL },
	{ "600 x\r\n", 0, "out of range", 0, NULL },
	{ "199 x\r\n", 0, "out of range", 0, NULL },
	{ "260 x\r\n", 0, "out of range", 0, NULL },
	{ "100 x\r\n", 0, "out of range", 0, NULL },
	{ "250OK\r\n", 0, "no space or hyphen", 0, NULL },
	{ "250_x\r\n", 0, "no space or hyphen", 0, NULL },
	{ "2x0 OK\r\n", 0, "no 3-digit reply code", 0, NULL },
	{ "OK\r\n", 0, "no 3-digit reply code: \"OK\"", 0, NULL },
	{ "25\r\n", 0, "no 3-digit reply code", 0, NULL },
	{ "\r\n", 0, "no 3-digit reply code", 0, NULL },
	{ " 250 x\r\n", 0, "no 3-digit reply code", 0, NULL },
	{ "250 a\0b\r\n", 0, "NUL octet", 0, NULL },
	{ "250 a\rb\r\n", 0, "CR without LF", 0, NULL },
	{ "250-a\r\n\r\n", 0, "no 3-digit reply code", 0, NULL },
};

struct outcome {
	int ret;
	size_t used;
	unsigned code;
	char status[SMTP_REPLY_STATUS_SIZE];
	size_t lines;
	char text[16384];
	char error[256];
};

/* Feeds in[0..len) in pieces of chunk octets until a reply or an error. */
static void run(struct smtp_reply_parser *p, const char *in, size_t len,
		size_t chunk, struct outcome *o)
{
	size_t pos = 0;

	memset(o, 0, sizeof(*o));
	smtp_reply_parser_reset(p);
	o->ret = 0;
	while (pos < len && o->ret == 0) {
		const struct smtp_reply *r;
		const char *error;
		size_t n = len - pos < chunk ? len - pos : chunk, used;

		o->ret = smtp_reply_parser_feed(p, in + pos, n, &used, &r,
						&error);
		pos += used;
		if (o->ret == 1) {
			o->code = r->code;
			memcpy(o->status, r->status, sizeof(o->status));
			o->lines = r->line_count;
			if (str_copy(o->text, sizeof(o->text), r->text) < 0)
				abort();
		} else if (o->ret < 0 && str_copy(o->error, sizeof(o->error),
						  error) < 0) {
			abort();
		}
	}
	o->used = pos;
}

static void test_cases(void)
{
	struct smtp_reply_parser *p = smtp_reply_parser_new(&lim);

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		size_t len = strlen(cases[i].in);
		struct outcome whole, bytes;

		if (strstr(cases[i].status, "NUL") != NULL)
			len = 9;	/* the case holds a NUL */
		run(p, cases[i].in, len, SIZE_MAX, &whole);
		run(p, cases[i].in, len, 1, &bytes);
		UNIT_CHECK(memcmp(&whole, &bytes, sizeof(whole)) == 0);
		if (cases[i].code == 0) {
			UNIT_CHECK(whole.ret == -1);
			UNIT_CHECK(strncmp(whole.error, "malformed reply: ",
					   17) == 0);
			if (strstr(whole.error, cases[i].status) == NULL)
				fprintf(stderr, "case %zu: %s\n", i,
					whole.error);
			UNIT_CHECK(strstr(whole.error, cases[i].status));
			continue;
		}
		if (whole.ret != 1)
			fprintf(stderr, "case %zu: %s\n", i, whole.error);
		UNIT_CHECK(whole.ret == 1);
		UNIT_CHECK(whole.used == len);
		UNIT_CHECK(whole.code == cases[i].code);
		UNIT_STREQ(whole.status, cases[i].status);
		UNIT_CHECK(whole.lines == cases[i].lines);
		UNIT_STREQ(whole.text, cases[i].text);
	}
	smtp_reply_parser_free(&p);
	UNIT_CHECK(p == NULL);
	smtp_reply_parser_free(&p);
}

/* A reply of n lines of the given code ("250-x" ... "250 x"). */
static void make_lines(struct buf *b, size_t n, size_t width)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		unit_put(b, "250%c", i + 1 < n ? '-' : ' ');
		for (size_t j = 4; j < width; j++)
			unit_put(b, "x");
		unit_put(b, "\r\n");
	}
}

static void test_limits(void)
{
	struct smtp_reply_limits l = {
		.line_max = 4096, .lines_max = 100, .total_max = 1 << 20 };
	struct smtp_reply_parser *p = smtp_reply_parser_new(&l);
	struct outcome o;
	struct buf b;

	buf_init(&b, 1 << 20);
	/* Line length: 4095, 4096 fine; 4097 and 5000 refused. */
	for (size_t w = 4095; w <= 5000; w += w < 4097 ? 1 : 5000 - 4097) {
		make_lines(&b, 1, w);
		run(p, b.data, b.len, SIZE_MAX, &o);
		UNIT_CHECK(o.ret == (w <= 4096 ? 1 : -1));
		if (w > 4096) {
			UNIT_CHECK(strstr(o.error, "line longer than 4096"));
			/* Refused at the octet that passes the limit. */
			UNIT_CHECK(o.used == 4097);
		}
	}
	/* Bare LF: the CR does not count against the line. */
	make_lines(&b, 1, 4096);
	b.data[b.len - 2] = '\n';
	b.len--;
	run(p, b.data, b.len, 7, &o);
	UNIT_CHECK(o.ret == 1 && strlen(o.text) == 4096);
	/* Lines: 99, 100 fine; 101 and 200 refused. */
	for (size_t n = 99; n <= 200; n += n < 101 ? 1 : 200 - 101) {
		make_lines(&b, n, 10);
		run(p, b.data, b.len, SIZE_MAX, &o);
		UNIT_CHECK(o.ret == (n <= 100 ? 1 : -1));
		UNIT_CHECK(o.ret == 1 ? o.lines == n :
			   strstr(o.error, "more than 100 lines") != NULL);
	}
	smtp_reply_parser_free(&p);
	/* Total: 3 lines of 10 octets + CRLF = 36. */
	for (size_t t = 35; t <= 37; t++) {
		l.total_max = t;
		p = smtp_reply_parser_new(&l);
		make_lines(&b, 3, 10);
		run(p, b.data, b.len, 1, &o);
		UNIT_CHECK(o.ret == (t >= 36 ? 1 : -1));
		if (t < 36)
			UNIT_CHECK(strstr(o.error, "longer than 35 octets"));
		smtp_reply_parser_free(&p);
	}
	buf_deinit(&b);
}

static void test_stream(void)
{
	static const char in[] = "220 hi\r\n250-a\r\n250 b\r\n354 go\r\n";
	struct smtp_reply_parser *p = smtp_reply_parser_new(&lim);
	const struct smtp_reply *r;
	const char *error;
	size_t used, pos = 0;
	unsigned codes[3];
	int n = 0;

	while (pos < sizeof(in) - 1 && n < 3) {
		int ret = smtp_reply_parser_feed(p, in + pos,
						 sizeof(in) - 1 - pos, &used,
						 &r, &error);
		UNIT_CHECK(ret == 1);
		if (ret != 1)
			break;
		codes[n++] = r->code;
		pos += used;
	}
	UNIT_CHECK(n == 3 && codes[0] == 220 && codes[1] == 250 &&
		   codes[2] == 354);
	/* Partial input: 0 and all taken; then the rest completes it. */
	UNIT_CHECK(smtp_reply_parser_feed(p, "250-x\r\n25", 9, &used, &r,
					  &error) == 0 && used == 9);
	UNIT_CHECK(smtp_reply_parser_feed(p, "0 y\r\n", 5, &used, &r,
					  &error) == 1 && used == 5);
	UNIT_CHECK(r->line_count == 2);
	UNIT_STREQ(r->lines[0], "x");
	UNIT_STREQ(r->lines[1], "y");
	UNIT_STREQ(r->text, "250-x 250 y");
	/* An error is sticky until reset. */
	UNIT_CHECK(smtp_reply_parser_feed(p, "999\r\n", 5, &used, &r,
					  &error) == -1);
	UNIT_CHECK(smtp_reply_parser_feed(p, "250 ok\r\n", 8, &used, &r,
					  &error) == -1 && used == 0 &&
		   strstr(error, "out of range"));
	smtp_reply_parser_reset(p);
	UNIT_CHECK(smtp_reply_parser_feed(p, "250 ok\r\n", 8, &used, &r,
					  &error) == 1);
	UNIT_CHECK(r->line_count == 1 && r->lines[0][0] == 'o');
	smtp_reply_parser_free(&p);
}

/* Parses a whole reply; aborts when it does not parse (a broken test). */
static const struct smtp_reply *parse(struct smtp_reply_parser *p,
				      const char *in)
{
	const struct smtp_reply *r;
	const char *error;
	size_t used;

	smtp_reply_parser_reset(p);
	if (smtp_reply_parser_feed(p, in, strlen(in), &used, &r, &error) != 1)
		abort();
	return r;
}

static void test_ehlo(void)
{
	struct smtp_reply_limits l = {
		.line_max = 512, .lines_max = 100, .total_max = 8192 };
	struct smtp_reply_parser *p = smtp_reply_parser_new(&l);
	struct smtp_ehlo e;
	const char *error;

	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p,
		"250-mx.example.com PIPELINING hello\r\n"
		"250-pipelining\r\n250-SIZE 10240000\r\n250-8bitmime\r\n"
		"250-SMTPUTF8\r\n250-STARTTLS\r\n250-CHUNKING\r\n"
		"250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n"
		"250-AUTH PLAIN login CRAM-MD5 plain BAD/MECH "
		"ABCDEFGHIJKLMNOPQRSTU\r\n"
		"250-AUTH=LOGIN XOAUTH2\r\n250-X-UNKNOWN foo\r\n"
		"250-VRFY\r\n250 ETRN\r\n"), &e, &error) == 0);
	UNIT_CHECK(e.ext == (SMTP_EXT_PIPELINING | SMTP_EXT_SIZE |
			     SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 |
			     SMTP_EXT_STARTTLS | SMTP_EXT_CHUNKING |
			     SMTP_EXT_DSN | SMTP_EXT_ENHANCEDSTATUSCODES |
			     SMTP_EXT_AUTH));
	UNIT_CHECK(e.size_max == 10240000);
	UNIT_STREQ(e.auth, "PLAIN LOGIN CRAM-MD5 XOAUTH2");
	UNIT_CHECK(smtp_reply_ehlo_has_auth(&e, "cram-md5"));
	UNIT_CHECK(smtp_reply_ehlo_has_auth(&e, "XOAUTH2"));
	UNIT_CHECK(!smtp_reply_ehlo_has_auth(&e, "CRAM"));
	UNIT_CHECK(!smtp_reply_ehlo_has_auth(&e, "MD5"));
	/* The greeting line is not a keyword; SIZE forms. */
	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p,
		"250-PIPELINING\r\n250 SIZE\r\n"), &e, &error) == 0);
	UNIT_CHECK(e.ext == SMTP_EXT_SIZE && e.size_max == 0);
	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p,
		"250-x\r\n250 size 0\r\n"), &e, &error) == 0);
	UNIT_CHECK(e.ext == SMTP_EXT_SIZE && e.size_max == 0);
	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p,
		"250-x\r\n250 SIZE 99999999999999999999999\r\n"), &e,
		&error) == 0);
	UNIT_CHECK(e.ext == SMTP_EXT_SIZE && e.size_max == 0);
	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p,
		"250-x\r\n250 SIZE 12x\r\n"), &e, &error) == 0);
	UNIT_CHECK(e.ext == SMTP_EXT_SIZE && e.size_max == 0);
	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p,
		"250-x\r\n250 SIZE 18446744073709551615\r\n"), &e,
		&error) == 0);
	UNIT_CHECK(e.size_max == UINT64_MAX);
	/* Only a greeting; keyword-like junk ignored. */
	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p, "250 mx STARTTLS\r\n"), &e,
					 &error) == 0 && e.ext == 0);
	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p,
		"250-x\r\n250-STARTTLSX\r\n250-=AUTH\r\n250 DSN=1\r\n"), &e,
		&error) == 0 && e.ext == 0 && e.auth[0] == '\0');
	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p, "502 no\r\n"), &e,
					 &error) == -1);
	UNIT_STREQ(error, "EHLO reply is not 250");
	smtp_reply_parser_free(&p);
}

static void test_ehlo_auth_bound(void)
{
	struct smtp_reply_limits l = {
		.line_max = 4096, .lines_max = 100, .total_max = 8192 };
	struct smtp_reply_parser *p = smtp_reply_parser_new(&l);
	struct smtp_ehlo e;
	const char *error;
	struct buf b;

	buf_init(&b, 8192);
	unit_put(&b, "250-x\r\n250 AUTH");
	for (int i = 0; i < 40; i++)
		unit_put(&b, " MECHANISM-%02d", i);
	unit_put(&b, "\r\n");
	UNIT_CHECK(smtp_reply_ehlo_parse(parse(p, b.data), &e, &error) == 0);
	/* Names of 12 octets: 19 and 18 spaces = 246 fit in 255, 20 not. */
	UNIT_CHECK(strlen(e.auth) <= SMTP_EHLO_AUTH_MAX);
	UNIT_CHECK(strlen(e.auth) == 19 * 12 + 18);
	UNIT_CHECK(smtp_reply_ehlo_has_auth(&e, "MECHANISM-18"));
	UNIT_CHECK(!smtp_reply_ehlo_has_auth(&e, "MECHANISM-19"));
	buf_deinit(&b);
	smtp_reply_parser_free(&p);
}

static void test_classify(void)
{
	static const struct {
		const char *in;
		unsigned flags;
		enum smtp_reply_class cls;
		unsigned code;
		const char *status;
	} ccases[] = {
		{ "250 ok\r\n", 0, SMTP_REPLY_OK, 250, "2.0.0" },
		{ "250 2.1.5 ok\r\n", 0, SMTP_REPLY_OK, 250, "2.1.5" },
		{ "354 go\r\n", 0, SMTP_REPLY_INTERMEDIATE, 354, "" },
		{ "334 VXNlcg==\r\n", 0, SMTP_REPLY_INTERMEDIATE, 334, "" },
		{ "421 bye\r\n", 0, SMTP_REPLY_TEMPORARY, 421, "4.0.0" },
		{ "450 4.2.1 busy\r\n", 0, SMTP_REPLY_TEMPORARY, 450, "4.2.1" },
		{ "550 no\r\n", 0, SMTP_REPLY_PERMANENT, 550, "5.0.0" },
		{ "550 4.1.1 no\r\n", 0, SMTP_REPLY_PERMANENT, 550, "5.0.0" },
		{ "550 5.1.1 no\r\n", SMTP_REPLY_FLAG_RCPT,
		  SMTP_REPLY_PERMANENT, 550, "5.1.1" },
		{ "552 5.3.4 too many\r\n", 0, SMTP_REPLY_PERMANENT, 552,
		  "5.3.4" },
		{ "552 5.5.3 too many\r\n", SMTP_REPLY_FLAG_RCPT,
		  SMTP_REPLY_TEMPORARY, 452, "4.5.3" },
		{ "552 full\r\n", SMTP_REPLY_FLAG_RCPT, SMTP_REPLY_TEMPORARY,
		  452, "4.0.0" },
	};
	struct smtp_reply_parser *p = smtp_reply_parser_new(&lim);

	for (size_t i = 0; i < sizeof(ccases) / sizeof(*ccases); i++) {
		struct smtp_reply_result res;

		smtp_reply_classify(parse(p, ccases[i].in), ccases[i].flags,
				    &res);
		UNIT_CHECK(res.class == ccases[i].cls);
		UNIT_CHECK(res.code == ccases[i].code);
		UNIT_STREQ(res.status, ccases[i].status);
	}
	smtp_reply_parser_free(&p);
}

static void test_status_valid(void)
{
	size_t n = 0;

	UNIT_CHECK(smtp_reply_status_valid("2.0.0", 5, &n) && n == 5);
	UNIT_CHECK(smtp_reply_status_valid("5.7.1 x", 7, &n) && n == 5);
	UNIT_CHECK(smtp_reply_status_valid("4.999.999", 9, &n) && n == 9);
	UNIT_CHECK(!smtp_reply_status_valid("3.0.0", 5, &n));
	UNIT_CHECK(!smtp_reply_status_valid("5.0.0", 4, &n));
	UNIT_CHECK(!smtp_reply_status_valid("5.0.", 4, &n));
	UNIT_CHECK(!smtp_reply_status_valid("5.0.0.1", 7, &n));
	UNIT_CHECK(!smtp_reply_status_valid("5.0000.1", 8, &n));
	UNIT_CHECK(!smtp_reply_status_valid("5,0.0", 5, &n));
}

int main(void)
{
	test_cases();
	test_limits();
	test_stream();
	test_ehlo();
	test_ehlo_auth_bound();
	test_classify();
	test_status_valid();
	return unit_done();
}
