#include "config.h"
#include <stdbool.h>
#include <string.h>
#include "mime_downgrade.h"
#include "unit.h"

static const size_t splits[] = { 0, 1, 3, 64 };	/* 0: in one piece */

/* Both passes over in[0..len) fed in pieces of split octets: 0 with the
 * result in out, or -1 with *error_r (from the scan pass). */
static int run(const char *in, size_t len, size_t split, struct buf *out,
	       const char **error_r)
{
	struct mime_downgrade *dg = mime_downgrade_new();
	int ret = 0;

	buf_reset(out);
	for (int pass = 0; pass < 2 && ret == 0; pass++) {
		struct buf *o = pass == 0 ? NULL : out;
		size_t step = split == 0 ? len : split;
		for (size_t i = 0; i < len && ret == 0; i += step) {
			size_t n = len - i < step ? len - i : step;
			ret = mime_downgrade_feed(dg, in + i, n, o, error_r);
		}
		if (ret == 0)
			ret = mime_downgrade_finish(dg, o, error_r);
		if (pass == 0 && ret == 0)
			mime_downgrade_rewind(dg);
	}
	mime_downgrade_free(&dg);
	return ret;
}

/* Every split gives the same result; 7-bit output with lines <= 998. */
static int convert(const char *in, size_t len, struct buf *out,
		   const char **error_r)
{
	struct buf other;
	int ret = run(in, len, 0, out, error_r);

	buf_init(&other, 1 << 24);
	for (size_t i = 1; i < sizeof(splits) / sizeof(splits[0]); i++) {
		const char *e2 = NULL;
		int r = run(in, len, splits[i], &other, &e2);
		UNIT_CHECK(r == ret);
		if (r == 0 && ret == 0)
			UNIT_CHECK(other.len == out->len &&
				   memcmp(other.data, out->data, out->len) == 0);
	}
	buf_deinit(&other);
	if (ret == 0) {
		size_t col = 0;
		bool ok = true;
		for (size_t i = 0; i < out->len; i++) {
			unsigned char c = (unsigned char)out->data[i];
			ok = ok && c < 0x80;
			col = c == '\n' ? 0 : col + 1;
			ok = ok && col <= 998;
		}
		UNIT_CHECK(ok);
	}
	return ret;
}

static int convert_str(const char *in, struct buf *out, const char **error_r)
{
	return convert(in, strlen(in), out, error_r);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes quoted-printable s[0..n) as the encoder writes it (uppercase
 * hex, LF line ends); false on anything else or a line over 76. */
static bool qp_decode(const char *s, size_t n, struct buf *out)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		col = s[i] == '\n' ? 0 : col + 1;
		if (col > 76)
			return false;
		if (s[i] != '=') {
			if ((unsigned char)s[i] >= 0x80 || s[i] == '\r' ||
			    (s[i] == '\n' && i > 0 && (s[i - 1] == ' ' ||
						      s[i - 1] == '\t')))
				return false;
			if (buf_append_char(out, s[i]) < 0)
				return false;
			continue;
		}
		if (i + 1 < n && s[i + 1] == '\n') {
			i++;
			col = 0;
			continue;
		}
		if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
			return false;
		if (buf_append_char(out, (char)(hexval(s[i + 1]) * 16 +
						hexval(s[i + 2]))) < 0)
			return false;
		i += 2;
		col += 2;
	}
	return true;
}

/* The QP text between after and before (the first ones found in out)
 * decodes to want[0..wlen). */
static bool part_decodes(const struct buf *out, const char *after,
			 const char *before, const char *want, size_t wlen)
{
	const char *s = strstr(out->data, after);
	struct buf dec;
	bool ok;

	if (s == NULL)
		return false;
	s += strlen(after);
	const char *e = before == NULL ? out->data + out->len :
		strstr(s, before);
	if (e == NULL)
		return false;
	buf_init(&dec, 1 << 20);
	ok = qp_decode(s, (size_t)(e - s), &dec) && dec.len == wlen &&
		memcmp(dec.data, want, wlen) == 0;
	if (!ok)
		fprintf(stderr, "decoded: [%s]\n", dec.data);
	buf_deinit(&dec);
	return ok;
}

static void test_untouched(struct buf *out)
{
	static const char msg[] =
		"From: a@example.org\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"xx\"\n\n"
		"preamble\n--xx\nContent-Type: text/plain\n\nhello = there \n"
		"--xx\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n"
		"--xx--\nepilogue";
	const char *err = NULL;

	UNIT_CHECK(convert_str(msg, out, &err) == 0);
	UNIT_STREQ(out->data, msg);
	UNIT_CHECK(convert_str("", out, &err) == 0 && out->len == 0);
	UNIT_CHECK(convert_str("Subject: x", out, &err) == 0);
	UNIT_STREQ(out->data, "Subject: x");
}

static void test_simple(struct buf *out)
{
	const char *err = NULL;

	UNIT_CHECK(convert_str("MIME-Version: 1.0\nContent-Transfer-Encoding: "
			       "8bit\nSubject: s\n\ncaf\xc3\xa9\n", out,
			       &err) == 0);
	UNIT_STREQ(out->data, "MIME-Version: 1.0\nContent-Transfer-Encoding: "
		   "quoted-printable\nSubject: s\n\ncaf=C3=A9\n");
	/* No field: one is added at the end of the header. */
	UNIT_CHECK(convert_str("MIME-Version: 1.0\nSubject: s\n\n\xff", out,
			       &err) == 0);
	UNIT_STREQ(out->data, "MIME-Version: 1.0\nSubject: s\n"
		   "Content-Transfer-Encoding: quoted-printable\n\n=FF");
	/* No MIME-Version: text/plain, whatever Content-Type says. */
	UNIT_CHECK(convert_str("Subject: s\nContent-Type: multipart/mixed; "
			       "boundary=b\r\n\r\n--b\n\xe9t\xe9\n", out,
			       &err) == 0);
	UNIT_STREQ(out->data, "Subject: s\nContent-Type: multipart/mixed; "
		   "boundary=b\r\nMIME-Version: 1.0\nContent-Transfer-"
		   "Encoding: quoted-printable\n\r\n--b\n=E9t=E9\n");
	/* 8bit declared: converted even when 7-bit. */
	UNIT_CHECK(convert_str("MIME-Version: 1.0\nContent-Transfer-Encoding: "
			       "8BIT\n\na=b\n", out, &err) == 0);
	UNIT_STREQ(out->data, "MIME-Version: 1.0\nContent-Transfer-Encoding: "
		   "quoted-printable\n\na=3Db\n");
}

static void test_qp_edges(struct buf *out)
{
	static const char head[] = "MIME-Version: 1.0\n"
		"Content-Transfer-Encoding: 8bit\n\n";
	char in[8192], body[6000];
	const char *err = NULL;
	size_t n = 0;

	/* 76 octets: one line; 77: a soft break; trailing white space,
	 * "=", 8-bit at the end of a line, CRLF, a bare CR, a long 8-bit
	 * line, "-" after a soft break, no final newline. */
	memset(body, 'a', 76);
	n = 76;
	body[n++] = '\n';
	memset(body + n, 'b', 77);
	n += 77;
	body[n++] = '\n';
	n += (size_t)sprintf(body + n, "x = y \nt\t\n\xe9\n \n\t\nr\r\nc\rd\n");
	for (int i = 0; i < 1500; i++)
		body[n++] = i % 3 == 0 ? (char)0xc3 : (char)('a' + i % 20);
	body[n++] = '\n';
	memset(body + n, 'q', 74);
	n += 74;
	n += (size_t)sprintf(body + n, "--boundary\nlast =");
	memcpy(in, head, strlen(head));
	memcpy(in + strlen(head), body, n);
	UNIT_CHECK(convert(in, strlen(head) + n, out, &err) == 0);
	/* Lines of the output as expected. */
	const char *b = strstr(out->data, "\n\n") + 2;
	UNIT_CHECK(strncmp(b + 76, "\n", 1) == 0);
	UNIT_CHECK(strncmp(b + 77 + 75, "=\nbb\n", 5) == 0);
	UNIT_CHECK(strstr(b, "\nx =3D y=20\nt=09\n=E9\n=20\n=09\nr\nc=0Dd\n")
		   != NULL);
	UNIT_CHECK(strstr(b, "=\n=2Dboundary\nlast =3D") != NULL);
	/* What decodes is the body, CR LF being a line end. */
	char want[6000];
	size_t wn = 0;
	for (size_t i = 0; i < n; i++)
		if (!(body[i] == '\r' && body[i + 1] == '\n'))
			want[wn++] = body[i];
	UNIT_CHECK(part_decodes(out, "\n\n", NULL, want, wn));
}

static void test_multipart(struct buf *out)
{
	static const char msg[] =
		"MIME-Version: 1.0\nContent-Type: multipart/mixed; "
		"boundary=\"outer\"\nContent-Transfer-Encoding: 8bit\n\n"
		"pre\n--outer\n"
		"Content-Type: multipart/alternative; boundary=inner\n\n"
		"--inner\nContent-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 8bit\n\nplain \xc3\xa9\n"
		"--inner\nContent-Type: text/html\n\n<p>\xc3\xa9</p>\n"
		"--inner--\n"
		"--outer\nContent-Type: message/rfc822\n\n"
		"Subject: inner\nMIME-Version: 1.0\n\nembedded \xe2\x82\xac\n"
		"--outer\nContent-Type: application/octet-stream\n"
		"Content-Transfer-Encoding: base64\n\nAAEC\n"
		"--outer\nContent-Type: text/plain\n\nseven bit\n"
		"--outer--\n";
	const char *err = NULL;

	UNIT_CHECK(convert_str(msg, out, &err) == 0);
	/* The top header (multipart): as it was. */
	UNIT_CHECK(strncmp(out->data, msg, strstr(msg, "pre\n") - msg) == 0);
	UNIT_CHECK(part_decodes(out, "charset=utf-8\nContent-Transfer-"
				"Encoding: quoted-printable\n\n", "\n--inner",
				"plain \xc3\xa9", 8));
	UNIT_CHECK(part_decodes(out, "Content-Type: text/html\nContent-"
				"Transfer-Encoding: quoted-printable\n\n",
				"\n--inner--", "<p>\xc3\xa9</p>", 9));
	UNIT_CHECK(part_decodes(out, "Content-Type: message/rfc822\n\n"
				"Subject: inner\nMIME-Version: 1.0\nContent-"
				"Transfer-Encoding: quoted-printable\n\n",
				"\n--outer", "embedded \xe2\x82\xac", 12));
	UNIT_CHECK(strstr(out->data, "base64\n\nAAEC\n--outer\nContent-Type: "
			  "text/plain\n\nseven bit\n--outer--\n") != NULL);
	/* A digest's parts are message/rfc822 by default. */
	UNIT_CHECK(convert_str("MIME-Version: 1.0\nContent-Type: multipart/"
			       "digest; boundary=d\n\n--d\n\nFrom: x\n\n\xe9\n"
			       "--d--\n", out, &err) == 0);
	UNIT_STREQ(out->data, "MIME-Version: 1.0\nContent-Type: multipart/"
		   "digest; boundary=d\n\n--d\n\nFrom: x\nContent-Transfer-"
		   "Encoding: quoted-printable\n\n=E9\n--d--\n");
	/* A 7bit part with a line over 998 octets is encoded. */
	char big[1200];
	int n = sprintf(big, "MIME-Version: 1.0\n\n");
	memset(big + n, 'z', 1000);
	big[n + 1000] = '\0';
	UNIT_CHECK(convert_str(big, out, &err) == 0);
	UNIT_CHECK(strstr(out->data, "quoted-printable\n\nzzz") != NULL);
}

static void test_refused(struct buf *out)
{
	static const struct {
		const char *msg, *error;
	} cases[] = {
		{ "Subject: caf\xc3\xa9\n\nbody \xe9\n",
		  "8-bit octets in a header field" },
		{ "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b"
		  "\n\n--b\nContent-Description: \xe9\n\nx\n--b--\n",
		  "8-bit octets in a header field" },
		{ "MIME-Version: 1.0\nContent-Transfer-Encoding: binary\n\nx\n",
		  "a part has Content-Transfer-Encoding: binary" },
		{ "MIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n\xe9\n",
		  NULL },
		{ "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b"
		  "\n\npre \xe9\n--b\n\nx\n--b--\n", NULL },
		{ "MIME-Version: 1.0\nContent-Type: message/partial; id=1\n\n"
		  "\xe9\n", NULL },
		{ "MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n\xe9\n",
		  NULL },
	};
	const char *err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		UNIT_CHECK(convert_str(cases[i].msg, out, &err) == -1);
		UNIT_CHECK(err != NULL);
		if (cases[i].error != NULL)
			UNIT_STREQ(err, cases[i].error);
	}
	/* Too deep: message/rfc822 inside message/rfc822... with 8-bit. */
	struct buf deep;
	buf_init(&deep, 1 << 20);
	bool built = true;
	for (int i = 0; i <= MIME_DOWNGRADE_DEPTH_MAX; i++)
		built = built && buf_append_str(&deep, "MIME-Version: 1.0\n"
						"Content-Type: message/rfc822"
						"\n\n") == 0;
	UNIT_CHECK(built && buf_append_str(&deep, "\n\xe9\n") == 0);
	UNIT_CHECK(convert(deep.data, deep.len, out, &err) == -1);
	buf_deinit(&deep);
}

/* A convert pass over other content than the scan's fails. */
static void test_changed(void)
{
	struct mime_downgrade *dg = mime_downgrade_new();
	struct buf out;
	const char *err = NULL;

	buf_init(&out, 1 << 20);
	UNIT_CHECK(mime_downgrade_feed(dg, "MIME-Version: 1.0\n\nabc\n", 23,
				       NULL, &err) == 0);
	UNIT_CHECK(mime_downgrade_finish(dg, NULL, &err) == 0);
	mime_downgrade_rewind(dg);
	UNIT_CHECK(mime_downgrade_feed(dg, "MIME-Version: 1.0\n\n\xe9\n", 21,
				       &out, &err) == -1);
	UNIT_STREQ(err, "the content changed between the passes");
	/* The failure sticks. */
	UNIT_CHECK(mime_downgrade_finish(dg, &out, &err) == -1);
	buf_deinit(&out);
	mime_downgrade_free(&dg);
}

int main(void)
{
	struct buf out;

	buf_init(&out, 1 << 24);
	test_untouched(&out);
	test_simple(&out);
	test_qp_edges(&out);
	test_multipart(&out);
	test_refused(&out);
	test_changed();
	buf_deinit(&out);
	return unit_done();
}
