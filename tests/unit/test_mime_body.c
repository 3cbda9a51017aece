/* Unit tests of lib/mime_body: each transfer encoding (well-formed and
 * not), the output bound (limit-1, limit, limit+1), charset conversion
 * natively and through iconv (invalid input, unknown names), and the text
 * of each leaf of a parsed multipart message. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "mime.h"
#include "mime_body.h"
#include "unit.h"

static const struct mime_limits limits = {
	.header_size_max = 65536, .fields_max = 1000, .depth_max = 10,
	.parts_max = 100, .params_max = 20, .param_len_max = 1000,
};

/* Decodes in with encoding; returns the result ("-1"/"-2" for errors). */
static const char *decode(const char *enc, const char *in, size_t max)
{
	static struct buf out;
	int r;

	buf_deinit(&out);
	buf_init(&out, max);
	r = mime_body_decode(enc, in, strlen(in), &out);
	if (r == -1)
		return "-1";
	if (r == -2)
		return "-2";
	return out.data;
}

static const struct {
	const char *enc, *in, *out;
} decode_cases[] = {
	{ "7bit", "a\nb\r\nc", "a\r\nb\r\nc" },
	{ NULL, "\n\n", "\r\n\r\n" },
	{ "8BIT", "caf\xc3\xa9\n", "caf\xc3\xa9\r\n" },
	{ "binary", "a\nb", "a\nb" },
	{ "base64", "aGVsbG8gd29ybGQ=", "hello world" },
	{ "base64", "aGVs\nbG8g\r\nd29y bGQ=\n", "hello world" },
	{ "base64", "aGVsbG8", "hello" },		/* no padding */
	{ "base64", "aGk=aGk=", "hihi" },		/* two blocks */
	{ "base64", "a!G@V#s$b%G^8&", "hello" },	/* junk skipped */
	{ "base64", "Y", "" },				/* 6 bits: nothing */
	{ "Base64", "", "" },
	{ "quoted-printable", "caf=C3=A9", "caf\xc3\xa9" },
	{ "quoted-printable", "caf=c3=a9", "caf\xc3\xa9" },
	{ "quoted-printable", "soft=\nbreak", "softbreak" },
	{ "quoted-printable", "soft=\r\nbreak", "softbreak" },
	{ "quoted-printable", "soft=  \nbreak", "softbreak" },
	{ "quoted-printable", "trail   \nx", "trail\r\nx" },
	{ "quoted-printable", "a=3D=20\n", "a= \r\n" },
	{ "quoted-printable", "bad=ZZ=4", "bad=ZZ=4" },
	{ "quoted-printable", "end=", "end" },
	{ "quoted-printable", "=\n=\n", "" },
	{ "x-uuencode", "begin", "-2" },
	{ "", "x", "-2" },
};

static void test_decode(void)
{
	for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]);
	     i++)
		UNIT_STREQ(decode(decode_cases[i].enc, decode_cases[i].in,
				  1024),
			   decode_cases[i].out);
	/* the bound: "a\nb" is 4 octets decoded */
	UNIT_STREQ(decode("7bit", "a\nb", 3), "-1");
	UNIT_STREQ(decode("7bit", "a\nb", 4), "a\r\nb");
	UNIT_STREQ(decode("7bit", "a\nb", 5), "a\r\nb");
	UNIT_STREQ(decode("base64", "aGVsbG8=", 4), "-1");
	UNIT_STREQ(decode("base64", "aGVsbG8=", 5), "hello");
	UNIT_STREQ(decode("quoted-printable", "ab=41", 2), "-1");
	UNIT_STREQ(decode("quoted-printable", "ab=41", 3), "abA");
	decode(NULL, "", 1);	/* frees the static buffer's old contents */
}

/* Converts in (len octets) from charset; the result or "-1". */
static const char *to_utf8(const char *cs, const char *in, size_t len,
			   size_t max)
{
	static struct buf out;

	buf_deinit(&out);
	buf_init(&out, max);
	if (mime_body_to_utf8(cs, in, len, &out) < 0)
		return "-1";
	return out.data;
}

static void test_charsets(void)
{
	UNIT_STREQ(to_utf8("iso-8859-1", "caf\xe9", 4, 100), "caf\xc3\xa9");
	UNIT_STREQ(to_utf8("ISO_8859-1", "\xff", 1, 100), "\xc3\xbf");
	UNIT_STREQ(to_utf8("latin1", "\xe9", 1, 1), "-1");
	UNIT_STREQ(to_utf8("latin1", "\xe9", 1, 2), "\xc3\xa9");
	UNIT_STREQ(to_utf8("utf-8", "caf\xc3\xa9", 5, 100), "caf\xc3\xa9");
	/* invalid UTF-8 octets are read as ISO-8859-1 */
	UNIT_STREQ(to_utf8("utf-8", "caf\xe9!", 5, 100), "caf\xc3\xa9!");
	UNIT_STREQ(to_utf8(NULL, "\xc3\xa9\xe9", 3, 100), "\xc3\xa9\xc3\xa9");
	UNIT_STREQ(to_utf8("us-ascii", "\xed\xa0\x80", 3, 100),
		   "\xc3\xad\xc2\xa0\xc2\x80");	/* a surrogate: invalid */
	UNIT_STREQ(to_utf8("no-such-charset", "x\xe9", 2, 100), "x\xc3\xa9");
	UNIT_STREQ(to_utf8("utf-8//TRANSLIT", "x\xe9", 2, 100), "x\xc3\xa9");
	/* through iconv */
	UNIT_STREQ(to_utf8("windows-1252", "\x80 \x93q\x94", 5, 100),
		   "\xe2\x82\xac \xe2\x80\x9cq\xe2\x80\x9d");
	UNIT_STREQ(to_utf8("koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", 6, 100),
		   "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	UNIT_STREQ(to_utf8("iso-8859-7", "\xe1\xe2", 2, 100),
		   "\xce\xb1\xce\xb2");
	/* invalid and truncated input in a multi-octet charset */
	UNIT_STREQ(to_utf8("shift_jis", "a\xff" "b\x82\xa0", 5, 100),
		   "a\xef\xbf\xbd" "b\xe3\x81\x82");
	UNIT_STREQ(to_utf8("utf-16le", "a\0b", 3, 100), "a\xef\xbf\xbd");
	UNIT_STREQ(to_utf8("utf-16le", "a\0b", 3, 2), "-1");
	UNIT_STREQ(to_utf8("euc-jp", "", 0, 10), "");
	to_utf8(NULL, "", 0, 1);
}

static void test_utf8_valid(void)
{
	static const struct {
		const char *s;
		bool valid;
	} cases[] = {
		{ "", true },
		{ "plain ASCII text, longer than eight octets", true },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", true },
		{ "0123456\xc3\xa9", true },	/* across the 8-octet step */
		{ "01234567\xe9", false },		/* ISO-8859-1 */
		{ "\xc0\xaf", false },		/* overlong */
		{ "\xed\xa0\x80", false },		/* surrogate */
		{ "\xf4\x90\x80\x80", false },	/* past U+10FFFF */
		{ "abc\xe2\x82", false },		/* cut off */
		{ "\x80", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		UNIT_CHECK(mime_body_utf8_valid(cases[i].s, strlen(cases[i].s)) ==
			   cases[i].valid);
}

static const char multipart[] =
	"From: a@example.com\n"
	"Subject: test\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=XX\n"
	"\n"
	"preamble\n"
	"--XX\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"w6lsw6h2ZSDQn9Cg0JjQktCV0KIK\n"
	"--XX\n"
	"Content-Type: text/html; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"<p>Gr=FC=DFe</p>\n"
	"--XX\n"
	"Content-Type: image/png\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"aGVsbG8=\n"
	"--XX\n"
	"Content-Type: message/delivery-status\n"
	"\n"
	"Status: 5.1.1\n"
	"--XX\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"Content-Transfer-Encoding: x-weird\n"
	"\n"
	"raw=41\n"
	"--XX--\n";

static void test_text(void)
{
	struct mime_message *msg =
		mime_parse(multipart, sizeof(multipart) - 1, &limits);
	static const char *const want[] = {
		"\xc3\xa9l\xc3\xa8ve \xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2\n",
		"<p>Gr\xc3\xbc\xc3\x9f" "e</p>",	/* the LF is the boundary's */
		"",
		"Status: 5.1.1",
		"raw=41",
	};
	const struct mime_part *p;
	struct buf out;
	size_t i = 0;

	buf_init(&out, 1000);
	UNIT_CHECK(msg->root->child_count == 5);
	UNIT_CHECK(!mime_body_is_text(msg->root));
	for (p = msg->root->children; p != NULL && i < 5; p = p->next, i++) {
		buf_reset(&out);
		UNIT_CHECK(mime_body_text(multipart, sizeof(multipart) - 1, p,
					  &out) == 0);
		UNIT_STREQ(out.data, want[i]);
	}
	UNIT_CHECK(i == 5);
	/* the container itself has no text of its own */
	buf_reset(&out);
	UNIT_CHECK(mime_body_text(multipart, sizeof(multipart) - 1, msg->root,
				  &out) == 0 && out.len == 0);
	/* out's bound */
	buf_deinit(&out);
	buf_init(&out, 3);
	UNIT_CHECK(mime_body_text(multipart, sizeof(multipart) - 1,
				  msg->root->children, &out) == -1);
	buf_deinit(&out);
	mime_message_free(&msg);
}

static void test_textmap(void)
{
	struct mime_message *msg =
		mime_parse(multipart, sizeof(multipart) - 1, &limits);
	struct mime_body_piece piece;
	struct buf map, text, direct;
	size_t pos = 0, bodies = 0, headers = 0;
	const struct mime_part *p = msg->root->children;
	int r;

	buf_init(&map, 4096);
	buf_init(&text, 4096);
	buf_init(&direct, 4096);
	UNIT_CHECK(mime_body_textmap_write(msg, sizeof(multipart) - 1, &map) ==
		   0);
	/* each part's header, and the text of the four text parts, with the
	 * same text as mime_body_text gives */
	for (; p != NULL; p = p->next) {
		r = mime_body_textmap_next(map.data, map.len, &pos, &piece);
		UNIT_CHECK(r == 1 && piece.header &&
			   piece.offset == p->header_offset &&
			   piece.len == p->header_len);
		headers += r == 1;
		if (!mime_body_is_text(p))
			continue;
		r = mime_body_textmap_next(map.data, map.len, &pos, &piece);
		UNIT_CHECK(r == 1 && !piece.header &&
			   piece.offset == p->body_offset &&
			   piece.len == p->body_len);
		if (r != 1)
			break;
		bodies++;
		buf_reset(&text);
		buf_reset(&direct);
		UNIT_CHECK(mime_body_piece_text(&piece, multipart + piece.offset,
						piece.len, &text) == 0);
		UNIT_CHECK(mime_body_text(multipart, sizeof(multipart) - 1, p,
					  &direct) == 0);
		UNIT_CHECK(text.len == direct.len &&
			   memcmp(text.data, direct.data, text.len) == 0);
	}
	r = mime_body_textmap_next(map.data, map.len, &pos, &piece);
	UNIT_CHECK(r == 0 && headers == 5 && bodies == 4);
	UNIT_CHECK(strstr(map.data, "B ") != NULL &&
		   strstr(map.data, " base64 utf-8\n") != NULL &&
		   strstr(map.data, " quoted-printable iso-8859-1\n") != NULL &&
		   strstr(map.data, " 7bit -\n") != NULL);
	/* the bound */
	buf_deinit(&map);
	buf_init(&map, 10);
	UNIT_CHECK(mime_body_textmap_write(msg, sizeof(multipart) - 1, &map) ==
		   -1);
	buf_deinit(&map);
	/* malformed maps */
	static const char *const bad[] = {
		"X 1 2\n", "H 1 2", "H 1\n", "H 01 2\n", "H -1 2\n",
		"B 1 2 base64\n", "B 1 2 base64 utf-8", "B 1 2  utf-8\n",
		"B 1 2 base64 ut/f8\n", "H 99999999999999999999999 1\n",
		"B 1 2 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa -\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pos = 0;
		UNIT_CHECK(mime_body_textmap_next(bad[i], strlen(bad[i]), &pos,
						  &piece) == -1);
	}
	pos = 0;
	UNIT_CHECK(mime_body_textmap_next("H 0 5\nB 5 7 8bit -\n", 19, &pos,
					  &piece) == 1 &&
		   piece.header && piece.offset == 0 && piece.len == 5);
	UNIT_CHECK(mime_body_textmap_next("H 0 5\nB 5 7 8bit -\n", 19, &pos,
					  &piece) == 1 &&
		   !piece.header && piece.offset == 5 && piece.len == 7 &&
		   strcmp(piece.encoding, "8bit") == 0 &&
		   strcmp(piece.charset, "-") == 0);
	UNIT_CHECK(mime_body_textmap_next("H 0 5\nB 5 7 8bit -\n", 19, &pos,
					  &piece) == 0);
	buf_deinit(&text);
	buf_deinit(&direct);
	mime_message_free(&msg);
}

int main(void)
{
	test_decode();
	test_charsets();
	test_utf8_valid();
	test_text();
	test_textmap();
	return unit_done();
}
