/* Unit tests of lib/imap_bodystructure, lib/imap_envelope and
 * lib/imap_string: BODYSTRUCTURE, BODY and ENVELOPE of a plain text
 * message, multipart/alternative, multipart/mixed with an attachment, an
 * attached message/rfc822, a message with no header, LF against CRLF
 * sizes; address lists (groups, quoted names and local parts, comments,
 * routes, malformed and over-long lists); UTF-8 as literal or quoted by
 * the UTF8=ACCEPT flag; the output maximum. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_bodystructure.h"
#include "imap_envelope.h"
#include "imap_string.h"
#include "mime.h"
#include "unit.h"

static const struct mime_limits limits = {.header_size_max = 65536,
					  .fields_max = 1000,
					  .depth_max = 100,
					  .parts_max = 10000,
					  .params_max = 32,
					  .param_len_max = 1024};

enum item { BODYSTRUCTURE, BODY, ENVELOPE };

/* The item of msg (LF line ends; CRLF when crlf) as a static string. */
static const char *fetch(const char *msg, bool crlf, enum item item,
			 unsigned flags)
{
	static struct buf out;
	struct buf data;
	struct mime_message *m;
	const char *error = NULL;
	int ret;

	buf_init(&data, 1 << 20);
	for (const char *s = msg; *s != '\0'; s++)
		if ((crlf && *s == '\n' && buf_append_char(&data, '\r') < 0) ||
		    buf_append_char(&data, *s) < 0)
			abort();
	if (out.data == NULL)
		buf_init(&out, 1 << 20);
	buf_reset(&out);
	m = mime_parse(data.data, data.len, &limits);
	if (item == ENVELOPE)
		ret = imap_envelope_write(&out, data.data, m->root->header_len,
					  flags, &error);
	else
		ret = imap_bodystructure_write(&out, data.data, data.len, m,
					       item == BODYSTRUCTURE, flags,
					       &error);
	mime_message_free(&m);
	buf_deinit(&data);
	return ret == 0 ? buf_cstr(&out) : error;
}

static const char *addresses(const char *value, unsigned flags)
{
	static struct buf out;

	if (out.data == NULL)
		buf_init(&out, 1 << 20);
	buf_reset(&out);
	if (imap_envelope_write_addresses(&out, value, strlen(value), flags) <
	    0)
		return "(error)";
	return buf_cstr(&out);
}

static const char plain[] = "Date: Sun, 22 Nov 2026 10:00:00 +0000\n"
			    "From: Alice Example <alice@example.org>\n"
			    "To: bob@example.net\n"
			    "Subject: Hello\n"
			    "  world\n"
			    "Message-ID: <1@example.org>\n"
			    "\n"
			    "Hi Bob,\n"
			    "bye.\n";

static void test_plain(void)
{
	UNIT_STREQ(
	    fetch(plain, false, BODYSTRUCTURE, 0),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "15 2 NIL NIL NIL NIL)");
	UNIT_STREQ(
	    fetch(plain, true, BODYSTRUCTURE, 0),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "15 2 NIL NIL NIL NIL)");
	UNIT_STREQ(
	    fetch(plain, false, BODY, 0),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "15 2)");
	UNIT_STREQ(
	    fetch(plain, false, ENVELOPE, 0),
	    "(\"Sun, 22 Nov 2026 10:00:00 +0000\" \"Hello  world\" ((\"Alice "
	    "Example\" NIL \"alice\" \"example.org\")) ((\"Alice Example\" "
	    "NIL \"alice\" \"example.org\")) ((\"Alice Example\" NIL \"alice\" "
	    "\"example.org\")) ((NIL NIL \"bob\" \"example.net\")) NIL NIL "
	    "NIL \"<1@example.org>\")");
	UNIT_STREQ(
	    fetch(plain, true, ENVELOPE, 0),
	    "(\"Sun, 22 Nov 2026 10:00:00 +0000\" \"Hello  world\" ((\"Alice "
	    "Example\" NIL \"alice\" \"example.org\")) ((\"Alice Example\" "
	    "NIL \"alice\" \"example.org\")) ((\"Alice Example\" NIL \"alice\" "
	    "\"example.org\")) ((NIL NIL \"bob\" \"example.net\")) NIL NIL "
	    "NIL \"<1@example.org>\")");
}

static const char alternative[] =
    "From: a@b.c\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"=b1\"\n"
    "\n"
    "preamble\n"
    "--=b1\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=C3=A9\n"
    "--=b1\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<p>caf&eacute;</p>\n"
    "line 2\n"
    "--=b1--\n";

static void test_alternative(void)
{
	UNIT_STREQ(
	    fetch(alternative, false, BODYSTRUCTURE, 0),
	    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	    "\"quoted-printable\" "
	    "9 1 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"utf-8\")"
	    " NIL NIL \"7bit\" 26 2 NIL NIL NIL NIL) \"alternative\" "
	    "(\"boundary\" "
	    "\"=b1\") NIL NIL NIL)");
	UNIT_STREQ(
	    fetch(alternative, true, BODYSTRUCTURE, 0),
	    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	    "\"quoted-printable\" "
	    "9 1 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"utf-8\")"
	    " NIL NIL \"7bit\" 26 2 NIL NIL NIL NIL) \"alternative\" "
	    "(\"boundary\" "
	    "\"=b1\") NIL NIL NIL)");
	UNIT_STREQ(
	    fetch(alternative, false, BODY, 0),
	    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL "
	    "\"quoted-printable\" "
	    "9 1)(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" "
	    "26 2) \"alternative\")");
}

static const char mixed[] =
    "From: a@b.c\n"
    "Content-Type: multipart/mixed; boundary=XX\n"
    "Content-Language: en\n"
    "\n"
    "--XX\n"
    "\n"
    "Text.\n"
    "--XX\n"
    "Content-Type: application/pdf; name=\"r e\\\"port.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment; filename=\"report.pdf\"\n"
    "Content-ID: <part2@b.c>\n"
    "Content-Description: The report\n"
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
    "Content-Language: en, de-CH (Swiss)\n"
    "Content-Location: http://b.c/report.pdf\n"
    "\n"
    "JVBERi0xLjQK\n"
    "--XX--\n";

static void test_mixed(void)
{
	UNIT_STREQ(
	    fetch(mixed, false, BODYSTRUCTURE, 0),
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "5 1 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"r "
	    "e\\\"port.pdf\")"
	    " \"<part2@b.c>\" \"The report\" \"base64\" 12 "
	    "\"Q2hlY2sgSW50ZWdyaXR5IQ==\" "
	    "(\"attachment\" (\"filename\" \"report.pdf\")) (\"en\" \"de-CH\")"
	    " \"http://b.c/report.pdf\") \"mixed\" (\"boundary\" \"XX\") "
	    "NIL (\"en\") NIL)");
	UNIT_STREQ(
	    fetch(mixed, false, BODY, 0),
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "5 1)(\"application\" \"pdf\" (\"name\" \"r e\\\"port.pdf\") "
	    "\"<part2@b.c>\" \"The report\" \"base64\" 12) \"mixed\")");
}

static const char rfc822[] =
    "From: a@b.c\n"
    "Subject: Fwd\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain\n"
    "\n"
    "See below.\n"
    "--b\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: \"Carol, C.\" <carol@d.e>\n"
    "Subject: inner\n"
    "Content-Type: multipart/alternative; boundary=in\n"
    "\n"
    "--in\n"
    "\n"
    "one\n"
    "--in\n"
    "Content-Type: text/enriched\n"
    "\n"
    "two\n"
    "--in--\n"
    "--b--\n";

static void test_rfc822(void)
{
	UNIT_STREQ(
	    fetch(rfc822, false, BODYSTRUCTURE, 0),
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "10 1 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" "
	    "160 (NIL \"inner\" ((\"Carol, C.\" NIL \"carol\" \"d.e\")) "
	    "((\"Carol, "
	    "C.\" NIL \"carol\" \"d.e\")) ((\"Carol, C.\" NIL \"carol\" "
	    "\"d.e\")"
	    ") NIL NIL NIL NIL NIL) ((\"text\" \"plain\" (\"charset\" "
	    "\"us-ascii\")"
	    " NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)(\"text\" \"enriched\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL "
	    "NIL) \"alternative\" (\"boundary\" \"in\") NIL NIL NIL) 12 NIL "
	    "NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	UNIT_STREQ(
	    fetch(rfc822, false, BODY, 0),
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "10 1)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 160 (NIL "
	    "\"inner\" "
	    "((\"Carol, C.\" NIL \"carol\" \"d.e\")) ((\"Carol, C.\" NIL "
	    "\"carol\" \"d.e\")) ((\"Carol, C.\" NIL \"carol\" \"d.e\")) "
	    "NIL NIL NIL NIL NIL) ((\"text\" \"plain\" (\"charset\" "
	    "\"us-ascii\")"
	    " NIL NIL \"7bit\" 3 1)(\"text\" \"enriched\" (\"charset\" "
	    "\"us-ascii\")"
	    " NIL NIL \"7bit\" 3 1) \"alternative\") 12) \"mixed\")");
}

static void test_missing(void)
{
	UNIT_STREQ(fetch("\nbody\n", false, ENVELOPE, 0),
		   "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	UNIT_STREQ(
	    fetch("\nbody\n", false, BODYSTRUCTURE, 0),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "6 1 NIL NIL NIL NIL)");
	UNIT_STREQ(
	    fetch("", false, BODYSTRUCTURE, 0),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "0 0 NIL NIL NIL NIL)");
	UNIT_STREQ(fetch("Subject:\nTo:\nSender: <>\n\nx", false, ENVELOPE, 0),
		   "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	UNIT_STREQ(fetch("Content-Type: multipart/mixed\n\nx\n", false,
			 BODYSTRUCTURE, 0),
		   "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
		   "\"7bit\" 0 0) \"mixed\" NIL NIL NIL NIL)");
}

static void test_addresses(void)
{
	UNIT_STREQ(addresses("a@b.c", 0), "((NIL NIL \"a\" \"b.c\"))");
	UNIT_STREQ(
	    addresses("\"Doe, John\" <john@x.y>, (c) j@x (Joe)", 0),
	    "((\"Doe, John\" NIL \"john\" \"x.y\")(NIL NIL \"j\" \"x\"))");
	UNIT_STREQ(
	    addresses("Team: a@b.c, B <b@c.d>;, after@x.y", 0),
	    "((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"b.c\")(\"B\" NIL \"b\" "
	    "\"c.d\")(NIL NIL NIL NIL)(NIL NIL \"after\" \"x.y\"))");
	UNIT_STREQ(
	    addresses("undisclosed-recipients:;", 0),
	    "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL))");
	UNIT_STREQ(addresses("\"john doe\"@x.y", 0),
		   "((NIL NIL \"john doe\" \"x.y\"))");
	UNIT_STREQ(addresses("<@r1,@r2:u@h>", 0),
		   "((NIL \"@r1,@r2\" \"u\" \"h\"))");
	UNIT_STREQ(addresses("=?utf-8?q?J=C3=B6rg?= <j@x>", 0),
		   "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x\"))");
	UNIT_STREQ(addresses("a\\\"b <x@y>", 0),
		   "((NIL NIL \"a\\\\b <x@y>\" \"MISSING_DOMAIN\"))");
	UNIT_STREQ(
	    addresses("bare, @nolocal, Name <>, <>, ,,", 0),
	    "((NIL NIL \"bare\" \"MISSING_DOMAIN\")(NIL NIL "
	    "\"MISSING_MAILBOX\" "
	    "\"nolocal\")(\"Name\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")"
	    ")");
	UNIT_STREQ(
	    addresses("G: a@b, H: c@d", 0),
	    "((NIL NIL \"G\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")"
	    "(NIL NIL NIL NIL))");
	UNIT_STREQ(addresses("<a@b junk> more, \"unterminated <x@y>", 0),
		   "((NIL NIL \"a\" \"bjunk\")(NIL NIL \"unterminated <x@y>\" "
		   "\"MISSING_DOMAIN\")"
		   ")");
	UNIT_STREQ(addresses("((nested) comment) x@y (unclosed", 0),
		   "((NIL NIL \"x\" \"y\"))");
	UNIT_STREQ(addresses("]x@[1.2.3.4]", 0),
		   "((NIL NIL \"]x\" \"[1.2.3.4]\"))");
	UNIT_STREQ(addresses("", 0), "NIL");
	UNIT_STREQ(addresses("(only a comment)", 0), "NIL");
}

static void test_utf8(void)
{
	const char *m = "From: Jörg <jörg@bücher.example>\n"
			"Subject: Grüße\n\n";

	UNIT_STREQ(
	    fetch(m, false, ENVELOPE, 0),
	    "(NIL {7}\r\nGrüße (({5}\r\nJörg NIL {5}\r\njörg "
	    "{15}\r\nbücher.example)"
	    ") (({5}\r\nJörg NIL {5}\r\njörg {15}\r\nbücher.example)) "
	    "(({5}\r\nJörg "
	    "NIL {5}\r\njörg {15}\r\nbücher.example)) NIL NIL NIL NIL NIL)");
	UNIT_STREQ(
	    fetch(m, false, ENVELOPE, IMAP_STRING_UTF8),
	    "(NIL \"Grüße\" ((\"Jörg\" NIL \"jörg\" \"bücher.example\")) "
	    "((\"Jörg\" NIL \"jörg\" \"bücher.example\")) ((\"Jörg\" NIL "
	    "\"jörg\" \"bücher.example\")) NIL NIL NIL NIL NIL)");
	UNIT_STREQ(addresses("\xff <a@b>", IMAP_STRING_UTF8),
		   "(({1}\r\n\xff NIL \"a\" \"b\"))");
}

static const char *string(const char *s, size_t len, unsigned flags)
{
	static struct buf out;

	if (out.data == NULL)
		buf_init(&out, 1 << 20);
	buf_reset(&out);
	if (imap_string_append(&out, s, len, flags) < 0)
		return "(error)";
	return buf_cstr(&out);
}

static void test_string(void)
{
	struct buf small;

	UNIT_STREQ(string("a\"b\\c", 5, 0), "\"a\\\"b\\\\c\"");
	UNIT_STREQ(string("", 0, 0), "\"\"");
	UNIT_STREQ(string("a\r\nb", 4, 0), "{4}\r\na\r\nb");
	UNIT_STREQ(string("a\0b", 3, IMAP_STRING_UTF8), "{3}\r\na");
	UNIT_STREQ(string("\xc3\xa9", 2, 0), "{2}\r\n\xc3\xa9");
	UNIT_STREQ(string("\xc3\xa9", 2, IMAP_STRING_UTF8), "\"\xc3\xa9\"");
	UNIT_STREQ(string("\xc3", 1, IMAP_STRING_UTF8), "{1}\r\n\xc3");
	buf_init(&small, 4); /* limit - 1, limit, limit + 1 */
	UNIT_CHECK(imap_string_append(&small, "ab", 2, 0) == 0);
	buf_reset(&small);
	UNIT_CHECK(imap_string_append(&small, "abc", 3, 0) == -1);
	buf_reset(&small);
	UNIT_CHECK(imap_string_append(&small, "a", 1, 0) == 0);
	buf_deinit(&small);
}

/* LF and CRLF files give the same sizes; bare LFs count 2. */
static void test_sizes(void)
{
	UNIT_CHECK(imap_bodystructure_crlf_size("a\nb\r\nc\n", 7) == 9);
	UNIT_CHECK(imap_bodystructure_crlf_size("\n\n", 2) == 4);
	UNIT_CHECK(imap_bodystructure_crlf_size("\r\n", 2) == 2);
	UNIT_CHECK(imap_bodystructure_crlf_size("x\r", 2) == 2);
	UNIT_STREQ(fetch(alternative, false, BODY, 0),
		   fetch(alternative, true, BODY, 0));
	UNIT_STREQ(fetch(rfc822, false, BODYSTRUCTURE, 0),
		   fetch(rfc822, true, BODYSTRUCTURE, 0));
}

/* The output maximum: every length below the full one fails. */
static void test_out_max(void)
{
	struct mime_message *m = mime_parse(rfc822, strlen(rfc822), &limits);
	size_t full = strlen(fetch(rfc822, false, BODYSTRUCTURE, 0));
	size_t env = strlen(fetch(rfc822, false, ENVELOPE, 0));
	const char *error = NULL;
	struct buf out;
	int bad = 0;

	for (size_t max = 0; max <= full; max++) {
		int ret;

		buf_init(&out, max);
		ret = imap_bodystructure_write(&out, rfc822, strlen(rfc822), m,
					       true, 0, &error);
		bad += (ret == 0) != (max == full);
		buf_deinit(&out);
		buf_init(&out, max);
		ret = imap_envelope_write(&out, rfc822, m->root->header_len, 0,
					  &error);
		bad += (ret == 0) != (max >= env);
		buf_deinit(&out);
	}
	UNIT_CHECK(bad == 0);
	UNIT_STREQ(error, "response too large");
	mime_message_free(&m);
}

/* At most IMAP_ENVELOPE_ADDRESSES_MAX entries, a group always closed. */
static void test_address_count(void)
{
	struct buf list, out;
	size_t n = 0;

	buf_init(&list, 1 << 20);
	buf_init(&out, 1 << 22);
	for (size_t i = 0; i < 2 * IMAP_ENVELOPE_ADDRESSES_MAX; i++)
		if (buf_append_str(&list, "a@b, ") < 0)
			n++;
	UNIT_CHECK(
	    imap_envelope_write_addresses(&out, list.data, list.len, 0) ==
	    IMAP_ENVELOPE_ADDRESSES_MAX);
	buf_reset(&out);
	buf_reset(&list);
	UNIT_CHECK(buf_append_str(&list, "g:") == 0);
	for (size_t i = 0; i < 2 * IMAP_ENVELOPE_ADDRESSES_MAX; i++)
		if (buf_append_str(&list, "a@b,") < 0)
			n++;
	UNIT_CHECK(n == 0);
	UNIT_CHECK(
	    imap_envelope_write_addresses(&out, list.data, list.len, 0) ==
	    IMAP_ENVELOPE_ADDRESSES_MAX);
	UNIT_CHECK(out.len > 20 &&
		   strcmp(out.data + out.len - 18, "(NIL NIL NIL NIL))") == 0);
	buf_deinit(&list);
	buf_deinit(&out);
}

int main(void)
{
	test_plain();
	test_alternative();
	test_mixed();
	test_rfc822();
	test_missing();
	test_addresses();
	test_utf8();
	test_string();
	test_sizes();
	test_out_max();
	test_address_count();
	return unit_done();
}
