/* Unit tests of lib/imap_parser: every value type, every error with the
 * recovery after it, the limits at limit-1/limit/limit+1, literals
 * accepted and refused, deep nesting. Each table case is fed whole, one
 * byte at a time and in odd chunks, and must give the same transcript. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_parser.h"
#include "unit.h"

#define LINE_MAX_TEST 100
#define LITERAL_MAX_TEST 100
#define COMMAND_MAX_TEST 300
#define DEPTH_MAX_TEST 4
#define ARGS_MAX_TEST 16

static void dump_text(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			unit_put(out, "\\x%02X", c);
		else
			unit_put(out, "%c", (char)c);
	}
}

/* Recursive, for the small trees of the table only. */
static void dump_args(struct buf *out, const struct imap_arg *a)
{
	for (; a != NULL; a = a->next) {
		unit_put(out, "%c", ' ');
		switch (a->type) {
		case IMAP_ARG_LIST: {
			struct buf inner;
			size_t n = 0;

			for (const struct imap_arg *e = a->list; e; e = e->next)
				n++;
			buf_init(&inner, 4096);
			dump_args(&inner, a->list);
			unit_put(out, "(%s)%s", inner.len > 0 ?
					 buf_cstr(&inner) + 1 : "",
					 n == a->list_count ? "" : "#BADCOUNT");
			buf_deinit(&inner);
			continue;
		}
		case IMAP_ARG_ATOM: unit_put(out, "%s", "A:"); break;
		case IMAP_ARG_NUMBER:
			unit_put(out, "N%llu:",
					 (unsigned long long)a->num);
			break;
		case IMAP_ARG_NIL: unit_put(out, "%s", "NIL:"); break;
		case IMAP_ARG_STRING: unit_put(out, "%s", "S:"); break;
		case IMAP_ARG_LITERAL:
			unit_put(out, "%s", a->nonsync ? "L+:" : "L:");
			break;
		case IMAP_ARG_LITERAL8:
			unit_put(out, "%s", a->nonsync ? "L8+:" : "L8:");
			break;
		}
		dump_text(out, a->str, a->len);
		if (a->str[a->len] != '\0')
			unit_put(out, "%s", "#NONUL");
	}
}

static void dump_command(struct buf *out, const struct imap_command *cmd)
{
	size_t n = 0;

	for (const struct imap_arg *a = cmd->args; a != NULL; a = a->next)
		n++;
	unit_put(out, "CMD %s %s", cmd->tag, cmd->name);
	dump_args(out, cmd->args);
	unit_put(out, "%s", n == cmd->arg_count ? "|" : "#BADCOUNT|");
}

/* Feeds in[0..len) in pieces of chunk octets; sync literals are accepted
 * unless refuse. Stops at a fatal error. */
static void transcript(struct imap_parser *p, const char *in, size_t len,
		       size_t chunk, bool refuse, struct buf *out)
{
	size_t pos = 0;

	imap_parser_reset(p);
	while (pos < len) {
		size_t n = len - pos < chunk ? len - pos : chunk, used = 0;
		const struct imap_command *cmd = NULL;
		const char *error = NULL;
		const char *tag;
		int r = imap_parser_feed(p, in + pos, n, &used, &cmd, &error);

		pos += used;
		switch (r) {
		case IMAP_PARSER_MORE:
			if (used != n)
				unit_put(out, "%s", "#SHORT|");
			break;
		case IMAP_PARSER_COMMAND:
			dump_command(out, cmd);
			break;
		case IMAP_PARSER_LITERAL:
			unit_put(out, "LIT%s %llu|",
					 imap_parser_literal_is8(p) ? "8" : "",
					 (unsigned long long)
					 imap_parser_literal_size(p));
			if (refuse) {
				unit_put(out, "REFUSED %s|",
						 imap_parser_tag(p));
				imap_parser_literal_refuse(p);
			} else {
				imap_parser_literal_accept(p);
			}
			break;
		case IMAP_PARSER_ERROR:
			tag = imap_parser_tag(p);
			unit_put(out, "ERR %s %s%s|",
				imap_parser_error_name(imap_parser_error_code(p)),
				tag != NULL ? tag : "-",
				imap_parser_error_fatal(p) ? " fatal" : "");
			if (error == NULL || *error == '\0')
				unit_put(out, "%s", "#NOTEXT|");
			if (imap_parser_error_fatal(p))
				return;
			break;
		default:
			unit_put(out, "%s", "#BADRESULT|");
			return;
		}
	}
}

struct tcase {
	const char *in;
	size_t len;		/* 0: strlen(in) */
	bool refuse;
	const char *expect;
};

#define Z "z NOOP\r\n"
#define ZOK "CMD z NOOP|"

static const struct tcase cases[] = {
	/* Values. */
	{ "a NOOP\r\n", 0, false, "CMD a NOOP|" },
	{ "a1 noop\r\n", 0, false, "CMD a1 NOOP|" },
	{ "x] Noop\r\n", 0, false, "CMD x] NOOP|" },
	{ "A003 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]"
	  "<0.100>)\r\n", 0, false,
	  "CMD A003 FETCH A:1:* (A:FLAGS A:BODY.PEEK[HEADER.FIELDS "
	  "(From Subject)]<0.100>)|" },
	{ "a FETCH 2 (BODY[] BINARY[1.2] BODY[HEADER.FIELDS.NOT (\"X\")])\r\n",
	  0, false, "CMD a FETCH N2:2 (A:BODY[] A:BINARY[1.2] "
	  "A:BODY[HEADER.FIELDS.NOT (\"X\")])|" },
	{ "a LOGIN \"us\\\"er\" \"p\\\\w\"\r\n", 0, false,
	  "CMD a LOGIN S:us\"er S:p\\w|" },
	{ "a X NIL nil 0 18446744073709551615 18446744073709551616\r\n", 0,
	  false, "CMD a X NIL:NIL NIL:nil N0:0 N18446744073709551615:"
	  "18446744073709551615 A:18446744073709551616|" },
	{ "a X \"\" \"\t\xc3\xa9\"\r\n", 0, false,
	  "CMD a X S: S:\\x09\\xC3\\xA9|" },
	{ "a LOGIN {5}\r\nalice {3}\r\nx\0y\r\n", 29, false,
	  "LIT 5|LIT 3|CMD a LOGIN L:alice L:x\\x00y|" },
	{ "a APPEND INBOX (\\Seen $Junk) {3+}\r\nabc\r\n", 0, false,
	  "CMD a APPEND A:INBOX (A:\\Seen A:$Junk) L+:abc|" },
	{ "a APPEND INBOX ~{2}\r\n\x01\r\r\n", 0, false,
	  "LIT8 2|CMD a APPEND A:INBOX L8:\\x01\\x0D|" },
	{ "a APPEND INBOX ~{2+}\r\n\r\n\r\n", 0, false,
	  "CMD a APPEND A:INBOX L8+:\\x0D\\x0A|" },
	{ "a X {0}\r\n\r\n", 0, false, "LIT 0|CMD a X L:|" },
	{ "a X {0+}\r\n {00}\r\n\r\n", 0, false, "LIT 0|CMD a X L+: L:|" },
	{ "a X ({1+}\r\nA)\r\n", 0, false, "CMD a X (L+:A)|" },
	{ "a X ~abc ~ ~~\r\n", 0, false, "CMD a X A:~abc A:~ A:~~|" },
	{ "a X () ((A) B) (())\r\n", 0, false,
	  "CMD a X () ((A:A) A:B) (())|" },
	{ "a NOOP\r\nb CHECK\r\n", 0, false, "CMD a NOOP|CMD b CHECK|" },
	{ "a UID FETCH 1,3:5 (UID)\r\n", 0, false,
	  "CMD a UID A:FETCH A:1,3:5 (A:UID)|" },
	{ "a SELECT a[b\r\n", 0, false, "CMD a SELECT A:a[b|" },
	{ "a X (a[b) [\r\n", 0, false, "CMD a X (A:a[b) A:[|" },
	{ "a LIST \"\" *\r\na LIST \"\" %.x\r\n", 0, false,
	  "CMD a LIST S: A:*|CMD a LIST S: A:%.x|" },
	{ "a STORE $ +FLAGS.SILENT (\\Deleted)\r\n", 0, false,
	  "CMD a STORE A:$ A:+FLAGS.SILENT (A:\\Deleted)|" },
	/* Refused literal: the client sends no data; next command. */
	{ "a APPEND INBOX {50}\r\n" Z, 0, true,
	  "LIT 50|REFUSED a|" ZOK },
	/* Errors, each followed by a command to show the recovery. */
	{ "\r\n" Z, 0, false, "ERR EMPTY_LINE -|" ZOK },
	{ "\n" Z, 0, false, "ERR BARE_LF -|" ZOK },
	{ "a+ NOOP\r\n" Z, 0, false, "ERR BAD_TAG -|" ZOK },
	{ "* NOOP\r\n" Z, 0, false, "ERR BAD_TAG -|" ZOK },
	{ " NOOP\r\n" Z, 0, false, "ERR BAD_TAG -|" ZOK },
	{ "a{1} NOOP\r\n" Z, 0, false, "ERR BAD_TAG -|" ZOK },
	{ "a\r\n" Z, 0, false, "ERR BAD_COMMAND -|" ZOK },
	{ "a \r\n" Z, 0, false, "ERR BAD_COMMAND a|" ZOK },
	{ "a  NOOP\r\n" Z, 0, false, "ERR BAD_COMMAND a|" ZOK },
	{ "a NO(OP\r\n" Z, 0, false, "ERR BAD_COMMAND a|" ZOK },
	{ "a NOOP\n" Z, 0, false, "ERR BARE_LF a|" ZOK },
	{ "a NOOP\rx\r\n" Z, 0, false, "ERR BARE_CR a|" ZOK },
	{ "a X  Y\r\n" Z, 0, false, "ERR SYNTAX a|" ZOK },
	{ "a X Y \r\n" Z, 0, false, "ERR SYNTAX a|" ZOK },
	{ "a X ( Y)\r\n" Z, 0, false, "ERR SYNTAX a|" ZOK },
	{ "a X (Y )\r\n" Z, 0, false, "ERR SYNTAX a|" ZOK },
	{ "a X \"a\"b\r\n" Z, 0, false, "ERR SYNTAX a|" ZOK },
	{ "a X (A)B\r\n" Z, 0, false, "ERR SYNTAX a|" ZOK },
	{ "a X Y\n" Z, 0, false, "ERR BARE_LF a|" ZOK },
	{ "a X \"Y\"\n" Z, 0, false, "ERR BARE_LF a|" ZOK },
	{ "a X \"abc\r\n" Z, 0, false, "ERR QUOTED_UNTERMINATED a|" ZOK },
	{ "a X \"abc\\\r\n" Z, 0, false, "ERR QUOTED_UNTERMINATED a|" ZOK },
	{ "a X \"abc\n" Z, 0, false, "ERR QUOTED_UNTERMINATED a|" ZOK },
	{ "a X \"a\\b\"\r\n" Z, 0, false, "ERR QUOTED_ESCAPE a|" ZOK },
	{ "a X \"a\0b\"\r\n" Z, 19, false, "ERR QUOTED_CHAR a|" ZOK },
	{ "a X ab\"c\r\n" Z, 0, false, "ERR BAD_CHAR a|" ZOK },
	{ "a X a{b\r\n" Z, 0, false, "ERR BAD_CHAR a|" ZOK },
	{ "a X \x01\r\n" Z, 0, false, "ERR BAD_CHAR a|" ZOK },
	{ "a X \xc3\xa9\r\n" Z, 0, false, "ERR BAD_CHAR a|" ZOK },
	{ "a X a\\b\r\n" Z, 0, false, "ERR BAD_CHAR a|" ZOK },
	{ "a X a\tb\r\n" Z, 0, false, "ERR BAD_CHAR a|" ZOK },
	{ "a X B[\x7f]\r\n" Z, 0, false, "ERR BAD_CHAR a|" ZOK },
	{ "a X {}\r\n" Z, 0, false, "ERR LITERAL_SYNTAX a|" ZOK },
	{ "a X {+}\r\n" Z, 0, false, "ERR LITERAL_SYNTAX a|" ZOK },
	{ "a X {-1}\r\n" Z, 0, false, "ERR LITERAL_SYNTAX a|" ZOK },
	{ "a X {5 }\r\n" Z, 0, false, "ERR LITERAL_SYNTAX a|" ZOK },
	{ "a X {5}x\r\n" Z, 0, false, "ERR LITERAL_SYNTAX a|" ZOK },
	{ "a X {5}\n" Z, 0, false, "ERR BARE_LF a|" ZOK },
	{ "a X {5}\rx\r\n" Z, 0, false, "ERR BARE_CR a|" ZOK },
	{ "a X ~{5\r\n" Z, 0, false, "ERR LITERAL_SYNTAX a|" ZOK },
	{ "a X {101}\r\n" Z, 0, false, "ERR LITERAL_TOOBIG a|" ZOK },
	{ "a X {4294967296}\r\n" Z, 0, false, "ERR LITERAL_TOOBIG a|" ZOK },
	{ "a X {99999999999999999999999}\r\n" Z, 0, false,
	  "ERR LITERAL_TOOBIG a|" ZOK },
	{ "a X )\r\n" Z, 0, false, "ERR UNBALANCED a|" ZOK },
	{ "a X (A))\r\n" Z, 0, false, "ERR UNBALANCED a|" ZOK },
	{ "a X (A\r\n" Z, 0, false, "ERR UNBALANCED a|" ZOK },
	{ "a X (\r\n" Z, 0, false, "ERR UNBALANCED a|" ZOK },
	{ "a X BODY[A B\r\n" Z, 0, false, "ERR SECTION a|" ZOK },
	{ "a X B[[]]\r\n" Z, 0, false, "ERR SECTION a|" ZOK },
	{ "a X B[(]\r\n" Z, 0, false, "ERR SECTION a|" ZOK },
	{ "a X (B[A B)\r\n" Z, 0, false, "ERR SECTION a|" ZOK },
	/* Non-synchronising literals after an error are skipped whole:
	 * "b DELETE" is literal data, never a command. */
	{ "a X \x01 {16+}\r\nb DELETE INBOX\r\n\r\n" Z, 0, false,
	  "ERR BAD_CHAR a|" ZOK },
	{ "a X \x01 ~{16+}\r\nb DELETE INBOX\r\n\r\n" Z, 0, false,
	  "ERR BAD_CHAR a|" ZOK },
	/* A synchronising one is not sent: the client waits for "+". */
	{ "a X \x01 {5}\r\n" Z, 0, false, "ERR BAD_CHAR a|" ZOK },
	{ "a X \x01 {0+}\r\n\r\n" Z, 0, false, "ERR BAD_CHAR a|" ZOK },
	/* Fatal: a non-synchronising literal that cannot be skipped. */
	{ "a X {101+}\r\n" Z, 0, false, "ERR LITERAL_TOOBIG a fatal|" },
	{ "a X {4294967296+}\r\n" Z, 0, false,
	  "ERR LITERAL_TOOBIG a fatal|" },
	{ "a X {5++}\r\n" Z, 0, false, "ERR LITERAL_SYNTAX a fatal|" },
	{ "a X {5+}\n" Z, 0, false, "ERR BARE_LF a fatal|" },
	{ "a X {5+}\rx" Z, 0, false, "ERR BARE_CR a fatal|" },
	{ "a X \x01 {101+}\r\n" Z, 0, false,
	  "ERR BAD_CHAR a|ERR LITERAL_TOOBIG - fatal|" },
};

static void test_cases(struct imap_parser *p)
{
	static const size_t chunks[] = { SIZE_MAX, 1, 2, 7 };
	struct buf out;

	buf_init(&out, 65536);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->in);

		for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
			buf_reset(&out);
			transcript(p, c->in, len, chunks[k], c->refuse, &out);
			UNIT_STREQ(buf_cstr(&out), c->expect);
		}
	}
	buf_deinit(&out);
}

/* Feeds a whole input (sync literals accepted) and returns the last
 * result; *used_r is the total consumed. */
static int feed_all(struct imap_parser *p, const char *in, size_t len,
		    const struct imap_command **cmd_r, size_t *used_r)
{
	size_t pos = 0;
	int r = IMAP_PARSER_MORE;

	imap_parser_reset(p);
	while (pos < len) {
		size_t used;
		const char *error;

		r = imap_parser_feed(p, in + pos, len - pos, &used, cmd_r,
				     &error);
		pos += used;
		if (r == IMAP_PARSER_LITERAL)
			imap_parser_literal_accept(p);
		else if (r != IMAP_PARSER_MORE)
			break;
	}
	*used_r = pos;
	return r;
}

/* limit-1, limit, limit+1 for the line, literal, command, depth and
 * argument limits. */
static void test_limits(struct imap_parser *p)
{
	char in[1024];
	const struct imap_command *cmd;
	size_t used;

	for (size_t k = LINE_MAX_TEST - 5; k <= LINE_MAX_TEST - 3; k++) {
		/* "a X " + k chars: a line of 4 + k octets. */
		memcpy(in, "a X ", 4);
		memset(in + 4, 'x', k);
		memcpy(in + 4 + k, "\r\n", 2);
		int r = feed_all(p, in, k + 6, &cmd, &used);
		UNIT_CHECK(r == (4 + k <= LINE_MAX_TEST ? IMAP_PARSER_COMMAND :
				 IMAP_PARSER_ERROR));
		if (r == IMAP_PARSER_ERROR)
			UNIT_CHECK(imap_parser_error_code(p) ==
				   IMAP_PARSER_ERR_LINE_TOO_LONG &&
				   used == LINE_MAX_TEST);
	}
	for (size_t n = LITERAL_MAX_TEST - 1; n <= LITERAL_MAX_TEST + 1; n++) {
		int len = snprintf(in, sizeof(in), "a X {%zu}\r\n", n);
		memset(in + len, '\0', n);
		memcpy(in + len + n, "\r\n", 2);
		int r = feed_all(p, in, (size_t)len + n + 2, &cmd, &used);
		if (n <= LITERAL_MAX_TEST)
			UNIT_CHECK(r == IMAP_PARSER_COMMAND &&
				   cmd->args->len == n &&
				   cmd->size == (size_t)len + n + 2);
		else
			UNIT_CHECK(r == IMAP_PARSER_ERROR &&
				   imap_parser_error_code(p) ==
				   IMAP_PARSER_ERR_LITERAL_TOOBIG);
	}
	for (size_t n = 1; n <= ARGS_MAX_TEST + 1; n++) {
		size_t len = 3;
		memcpy(in, "a X", 3);
		for (size_t i = 0; i < n; i++)
			memcpy(in + len, " A", 2), len += 2;
		memcpy(in + len, "\r\n", 2);
		int r = feed_all(p, in, len + 2, &cmd, &used);
		UNIT_CHECK(r == (n <= ARGS_MAX_TEST ? IMAP_PARSER_COMMAND :
				 IMAP_PARSER_ERROR));
		if (r == IMAP_PARSER_COMMAND)
			UNIT_CHECK(cmd->arg_count == n);
		else
			UNIT_CHECK(imap_parser_error_code(p) ==
				   IMAP_PARSER_ERR_TOO_MANY_ARGS);
	}
	/* A list counts as a value besides its elements. */
	const char *l15 = "a X (A A A A A A A A A A A A A A A)\r\n";
	const char *l16 = "a X (A A A A A A A A A A A A A A A A)\r\n";
	UNIT_CHECK(feed_all(p, l15, strlen(l15), &cmd, &used) ==
		   IMAP_PARSER_COMMAND && cmd->args->list_count == 15);
	UNIT_CHECK(feed_all(p, l16, strlen(l16), &cmd, &used) ==
		   IMAP_PARSER_ERROR);
	for (unsigned d = DEPTH_MAX_TEST - 1; d <= DEPTH_MAX_TEST + 1; d++) {
		size_t len = 4;
		memcpy(in, "a X ", 4);
		memset(in + len, '(', d), len += d;
		in[len++] = 'A';
		memset(in + len, ')', d), len += d;
		memcpy(in + len, "\r\n", 2);
		int r = feed_all(p, in, len + 2, &cmd, &used);
		UNIT_CHECK(r == (d <= DEPTH_MAX_TEST ? IMAP_PARSER_COMMAND :
				 IMAP_PARSER_ERROR));
		if (r == IMAP_PARSER_ERROR)
			UNIT_CHECK(imap_parser_error_code(p) ==
				   IMAP_PARSER_ERR_TOO_DEEP &&
				   used == 4 + DEPTH_MAX_TEST);
	}
}

/* command_max counts every octet, literal data and CRLFs included. */
static void test_command_max(void)
{
	struct imap_parser_limits l = {
		.line_max = 64, .literal_max = 1000, .command_max = 300,
		.depth_max = 2, .args_max = 100 };
	struct imap_parser *p = imap_parser_new(&l);
	char in[400];
	const struct imap_command *cmd;
	size_t used;

	/* "a X {NNN}\r\n" (11) + N + "\r\n": 13 + N octets. */
	for (size_t n = 286; n <= 288; n++) {
		int len = snprintf(in, sizeof(in), "a X {%zu}\r\n", n);
		memset(in + len, 'd', n);
		memcpy(in + len + n, "\r\n", 2);
		int r = feed_all(p, in, (size_t)len + n + 2, &cmd, &used);
		UNIT_CHECK(r == (13 + n <= 300 ? IMAP_PARSER_COMMAND :
				 IMAP_PARSER_ERROR));
		if (r == IMAP_PARSER_ERROR)
			UNIT_CHECK(imap_parser_error_code(p) ==
				   IMAP_PARSER_ERR_COMMAND_TOO_LONG &&
				   !imap_parser_error_fatal(p));
		else
			UNIT_CHECK(cmd->size == 13 + n);
	}
	/* Many short lines joined by literals. */
	size_t len = 0;
	memcpy(in, "a X", 3), len = 3;
	while (len < 330) {
		memcpy(in + len, " {1+}\r\nx", 8);
		len += 8;
	}
	memcpy(in + len, "\r\n", 2);
	UNIT_CHECK(feed_all(p, in, len + 2, &cmd, &used) == IMAP_PARSER_ERROR &&
		   imap_parser_error_code(p) ==
		   IMAP_PARSER_ERR_COMMAND_TOO_LONG);
	imap_parser_free(&p);
}

/* 10,000 levels: refused at the limit; and accepted when allowed, built
 * and freed without recursion. */
static void test_deep(void)
{
	enum { LEVELS = 10000 };
	size_t cap = 2 * LEVELS + 16, len = 4;
	char *in = malloc(cap);
	struct imap_parser_limits l = {
		.line_max = 2 * LEVELS + 10, .literal_max = 10,
		.command_max = 4 * LEVELS, .depth_max = 100,
		.args_max = 2 * LEVELS };
	struct imap_parser *p = imap_parser_new(&l);
	const struct imap_command *cmd;
	size_t used;

	memcpy(in, "a X ", 4);
	memset(in + len, '(', LEVELS), len += LEVELS;
	in[len++] = 'A';
	memset(in + len, ')', LEVELS), len += LEVELS;
	memcpy(in + len, "\r\n", 2), len += 2;
	UNIT_CHECK(feed_all(p, in, len, &cmd, &used) == IMAP_PARSER_ERROR);
	UNIT_CHECK(imap_parser_error_code(p) == IMAP_PARSER_ERR_TOO_DEEP &&
		   used == 4 + 100 && !imap_parser_error_fatal(p));
	imap_parser_free(&p);

	l.depth_max = LEVELS;
	p = imap_parser_new(&l);
	UNIT_CHECK(feed_all(p, in, len, &cmd, &used) == IMAP_PARSER_COMMAND &&
		   used == len);
	unsigned depth = 0;
	const struct imap_arg *a = cmd->args;
	while (a != NULL && a->type == IMAP_ARG_LIST && a->list_count == 1) {
		depth++;
		a = a->list;
	}
	UNIT_CHECK(depth == LEVELS && a != NULL && a->type == IMAP_ARG_ATOM);
	imap_parser_free(&p);
	free(in);
}

/* The parser stops right after a command: the rest is the caller's. */
static void test_consumed(struct imap_parser *p)
{
	const char *in = "a IDLE\r\nDONE\r\n";
	const struct imap_command *cmd;
	const char *error;
	size_t used;

	imap_parser_reset(p);
	UNIT_CHECK(imap_parser_feed(p, in, strlen(in), &used, &cmd, &error) ==
		   IMAP_PARSER_COMMAND && used == 8);
	UNIT_STREQ(cmd->name, "IDLE");
	UNIT_CHECK(cmd->args == NULL && cmd->arg_count == 0 &&
		   cmd->size == 8);
	/* The literal is announced before any of its data is consumed. */
	in = "b LOGIN {5}\r\nalice {6}\r\nsecret\r\n";
	UNIT_CHECK(imap_parser_feed(p, in, strlen(in), &used, &cmd, &error) ==
		   IMAP_PARSER_LITERAL && used == 13);
	UNIT_STREQ(imap_parser_tag(p), "b");
	UNIT_CHECK(imap_parser_literal_size(p) == 5);
	imap_parser_literal_accept(p);
	size_t used2;
	UNIT_CHECK(imap_parser_feed(p, in + used, strlen(in) - used, &used2,
				    &cmd, &error) == IMAP_PARSER_LITERAL &&
		   used2 == 11 && imap_parser_literal_size(p) == 6);
	imap_parser_literal_accept(p);
	UNIT_CHECK(imap_parser_feed(p, in + 24, strlen(in) - 24, &used2,
				    &cmd, &error) == IMAP_PARSER_COMMAND &&
		   used2 == 8);
	/* A fatal error sticks until reset. */
	in = "c X {999+}\r\n";
	UNIT_CHECK(imap_parser_feed(p, in, strlen(in), &used, &cmd, &error) ==
		   IMAP_PARSER_ERROR && imap_parser_error_fatal(p));
	UNIT_STREQ(error, "[TOOBIG] Literal too large");
	UNIT_CHECK(imap_parser_feed(p, "d NOOP\r\n", 8, &used, &cmd,
				    &error) == IMAP_PARSER_ERROR && used == 0);
	imap_parser_reset(p);
	UNIT_CHECK(imap_parser_feed(p, "d NOOP\r\n", 8, &used, &cmd,
				    &error) == IMAP_PARSER_COMMAND);
	/* Empty input. */
	UNIT_CHECK(imap_parser_feed(p, "", 0, &used, &cmd, &error) ==
		   IMAP_PARSER_MORE && used == 0);
}

static void test_helpers(struct imap_parser *p)
{
	const char *in = "a X atom 7 NIL \"q\" {1+}\r\nl ~{1+}\r\n8 ()\r\n";
	const struct imap_command *cmd;
	const struct imap_arg *a[7];
	const char *s;
	size_t len, used;

	UNIT_CHECK(feed_all(p, in, strlen(in), &cmd, &used) ==
		   IMAP_PARSER_COMMAND && cmd->arg_count == 7);
	a[0] = cmd->args;
	for (int i = 1; i < 7; i++)
		a[i] = a[i - 1]->next;
	UNIT_CHECK(imap_arg_get_atom(a[0], &s) && strcmp(s, "atom") == 0);
	UNIT_CHECK(imap_arg_get_atom(a[1], &s) && a[1]->num == 7);
	UNIT_CHECK(imap_arg_get_atom(a[2], &s));
	UNIT_CHECK(!imap_arg_get_atom(a[3], &s) && !imap_arg_get_atom(NULL, &s));
	for (int i = 0; i < 5; i++)
		UNIT_CHECK(imap_arg_get_astring(a[i], &s, &len));
	UNIT_CHECK(!imap_arg_get_astring(a[5], &s, &len) &&
		   !imap_arg_get_astring(a[6], &s, &len));
	UNIT_CHECK(imap_arg_get_nstring(a[2], &s, &len) && s == NULL);
	UNIT_CHECK(imap_arg_get_nstring(a[3], &s, &len) && len == 1);
	UNIT_CHECK(imap_arg_get_nstring(a[4], &s, &len) && *s == 'l');
	UNIT_CHECK(!imap_arg_get_nstring(a[0], &s, &len) &&
		   !imap_arg_get_nstring(a[6], &s, &len));
	UNIT_STREQ(imap_parser_error_name(IMAP_PARSER_ERR_COUNT), "UNKNOWN");
	for (int e = 0; e < IMAP_PARSER_ERR_COUNT; e++)
		UNIT_CHECK(strcmp(imap_parser_error_name(
			(enum imap_parser_error)e), "UNKNOWN") != 0);
}

int main(void)
{
	struct imap_parser_limits l = {
		.line_max = LINE_MAX_TEST, .literal_max = LITERAL_MAX_TEST,
		.command_max = COMMAND_MAX_TEST, .depth_max = DEPTH_MAX_TEST,
		.args_max = ARGS_MAX_TEST };
	struct imap_parser *p = imap_parser_new(&l);

	test_cases(p);
	test_limits(p);
	test_command_max();
	test_deep();
	test_consumed(p);
	test_helpers(p);
	imap_parser_free(&p);
	UNIT_CHECK(p == NULL);
	imap_parser_free(&p);
	return unit_done();
}
