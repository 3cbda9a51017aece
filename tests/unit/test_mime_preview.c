/* Unit tests of lib/mime_preview: which part the preview comes from, the
 * decoding, quoted lines, HTML markup and references, white space, the
 * 200-character cut (never inside a UTF-8 sequence), bounded input, and
 * messages without text. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mime.h"
#include "mime_preview.h"
#include "unit.h"

static const struct mime_limits limits = {
	.header_size_max = 65536, .fields_max = 1000, .depth_max = 20,
	.parts_max = 1000, .params_max = 50, .param_len_max = 1000 };

/* The preview of msg as a new string (the test's own buffer). */
static char *preview(const char *msg)
{
	static char out[4096];
	struct mime_message *m = mime_parse(msg, strlen(msg), &limits);
	struct buf b;

	buf_init(&b, 4000);
	int r = mime_preview(msg, strlen(msg), m, &b);
	snprintf(out, sizeof(out), "%s%s", r < 0 ? "(error)" : "", b.data);
	buf_deinit(&b);
	mime_message_free(&m);
	return out;
}

/* Characters (UTF-8 sequences) in s. */
static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void test_plain(void)
{
	UNIT_STREQ(preview("Subject: x\n\nHello world.\n"), "Hello world.");
	UNIT_STREQ(preview("Subject: x\n\n  Hello\n\n\tworld  \n\n"),
		   "Hello world");
	/* Quoted lines are left out. */
	UNIT_STREQ(preview("Subject: x\n\nOn Monday Bob wrote:\n> old text\n"
			   ">> older\nMy answer.\n"),
		   "On Monday Bob wrote: My answer.");
	UNIT_STREQ(preview("Subject: x\n\n> only a quote\n"), "");
	UNIT_STREQ(preview("Subject: x\n\n"), "");
	UNIT_STREQ(preview("Subject: x\n"), "");
	/* A ">" inside a line is text. */
	UNIT_STREQ(preview("Subject: x\n\na > b\n"), "a > b");
	/* Control characters are white space. */
	UNIT_STREQ(preview("Subject: x\n\na\x01\x02" "b\x7f" "c\n"), "a b c");
}

static void test_decoding(void)
{
	UNIT_STREQ(preview("Content-Type: text/plain; charset=utf-8\n"
			   "Content-Transfer-Encoding: base64\n\n"
			   "SGVsbG8gd8O2cmxkIQ==\n"),
		   "Hello w\xc3\xb6rld!");
	UNIT_STREQ(preview("Content-Type: text/plain; charset=iso-8859-1\n"
			   "Content-Transfer-Encoding: quoted-printable\n\n"
			   "Gr=FC=DFe, soft=\n break\n"),
		   "Gr\xc3\xbc\xc3\x9f" "e, soft break");
	/* NBSP (U+00A0) collapses too. */
	UNIT_STREQ(preview("Content-Type: text/plain; charset=utf-8\n\n"
			   "a\xc2\xa0\xc2\xa0" "b\n"), "a b");
}

static void test_parts(void)
{
	const char *alt =
		"Content-Type: multipart/alternative; boundary=B\n\n"
		"--B\nContent-Type: text/html\n\n<p>From <b>html</b></p>\n"
		"--B\nContent-Type: text/plain\n\nFrom plain\n"
		"--B--\n";
	UNIT_STREQ(preview(alt), "From plain");
	const char *html_only =
		"Content-Type: multipart/mixed; boundary=B\n\n"
		"--B\nContent-Type: image/png\n\nxxxx\n"
		"--B\nContent-Type: text/html\n\n<p>Para one</p><p>two</p>\n"
		"--B--\n";
	UNIT_STREQ(preview(html_only), "Para one two");
	/* An attached text file is not the message's text. */
	const char *attached =
		"Content-Type: multipart/mixed; boundary=B\n\n"
		"--B\nContent-Type: text/plain\n"
		"Content-Disposition: attachment; filename=a.txt\n\nfile\n"
		"--B\nContent-Type: text/plain\n\nthe body\n"
		"--B--\n";
	UNIT_STREQ(preview(attached), "the body");
	/* Nested: the first in document order. */
	const char *nested =
		"Content-Type: multipart/mixed; boundary=A\n\n"
		"--A\nContent-Type: multipart/alternative; boundary=B\n\n"
		"--B\nContent-Type: text/plain\n\ninner first\n"
		"--B--\n"
		"--A\nContent-Type: text/plain\n\nouter second\n"
		"--A--\n";
	UNIT_STREQ(preview(nested), "inner first");
	UNIT_STREQ(preview("Content-Type: image/gif\n\nGIF89a\n"), "");
	/* An attached message's text is left out with it. */
	const char *fwd =
		"Content-Type: multipart/mixed; boundary=B\n\n"
		"--B\nContent-Type: message/rfc822\n"
		"Content-Disposition: attachment\n\n"
		"Subject: inner\n\ninner text\n"
		"--B--\n";
	UNIT_STREQ(preview(fwd), "");
	const char *inline_fwd =
		"Content-Type: multipart/mixed; boundary=B\n\n"
		"--B\nContent-Type: message/rfc822\n\n"
		"Subject: inner\n\ninner text\n"
		"--B--\n";
	UNIT_STREQ(preview(inline_fwd), "inner text");
}

static void test_html(void)
{
	UNIT_STREQ(preview("Content-Type: text/html\n\n"
			   "<html><head><title>T</title><style>p {x}</style>"
			   "</head><body><script>var a = '<p>';</script>"
			   "<!-- a comment <p> -->"
			   "Caf&eacute; &amp; cr&#232;me &#x263A; &lt;3 "
			   "&nbsp;x<br>y <b>bo</b>ld</body></html>\n"),
		   "Caf&eacute; & cr\xc3\xa8me \xe2\x98\xba <3 x y bold");
	UNIT_STREQ(preview("Content-Type: text/html\n\n"
			   "a < b and <3 and &bogus; &#0; &#xD800; &#;\n"),
		   "a < b and <3 and &bogus; &#;");
	/* Unterminated markup ends the text. */
	UNIT_STREQ(preview("Content-Type: text/html\n\ntext <p class=\"x"),
		   "text");
	UNIT_STREQ(preview("Content-Type: text/html\n\n<script>never"), "");
	UNIT_STREQ(preview("Content-Type: text/html\n\nok <!-- open"), "ok");
}

static void test_length(void)
{
	char msg[4096];
	int n = snprintf(msg, sizeof(msg),
			 "Content-Type: text/plain; charset=utf-8\n\n");

	for (int i = 0; i < 300; i++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "\xc3\xa9");
	snprintf(msg + n, sizeof(msg) - (size_t)n, "\n");
	const char *p = preview(msg);
	UNIT_CHECK(chars(p) == 200 && strlen(p) == 400);
	/* Words: the cut counts the spaces; no trailing space. */
	n = snprintf(msg, sizeof(msg), "Subject: x\n\n");
	for (int i = 0; i < 100; i++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "ab   ");
	p = preview(msg);
	UNIT_CHECK(strlen(p) == 200 && p[199] != ' ' && p[0] == 'a');
	/* A space at the cut is not kept: 199 characters. */
	n = snprintf(msg, sizeof(msg), "Subject: x\n\n");
	for (int i = 0; i < 199; i++)
		msg[n++] = 'x';
	snprintf(msg + n, sizeof(msg) - (size_t)n, " yz\n");
	p = preview(msg);
	UNIT_CHECK(strlen(p) == 199 && p[198] == 'x');
}

/* Only the start of a huge part is decoded. */
static void test_bounded(void)
{
	size_t big = 3 * MIME_PREVIEW_INPUT_MAX;
	const char *hdr = "Content-Type: text/html\n\n";
	char *msg = malloc(strlen(hdr) + big + 20);

	size_t n = strlen(hdr);
	memcpy(msg, hdr, n);
	memset(msg + n, ' ', big);
	memcpy(msg + n + big, "late text\n", 11);
	UNIT_STREQ(preview(msg), "");
	memcpy(msg + n + 10, "early", 5);
	UNIT_STREQ(preview(msg), "early");
	free(msg);
}

/* A full output buffer is an error, not a silent cut. */
static void test_out_full(void)
{
	const char *msg = "Subject: x\n\nsome longer text\n";
	struct mime_message *m = mime_parse(msg, strlen(msg), &limits);
	struct buf b;

	buf_init(&b, 5);
	UNIT_CHECK(mime_preview(msg, strlen(msg), m, &b) == -1);
	buf_deinit(&b);
	buf_init(&b, 16);
	UNIT_CHECK(mime_preview(msg, strlen(msg), m, &b) == 0);
	UNIT_STREQ(b.data, "some longer text");
	buf_deinit(&b);
	mime_message_free(&m);
}

int main(void)
{
	test_plain();
	test_decoding();
	test_parts();
	test_html();
	test_length();
	test_bounded();
	test_out_full();
	return unit_done();
}
