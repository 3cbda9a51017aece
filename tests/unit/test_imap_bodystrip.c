/* Unit tests of lib/imap_bodystrip: for every message here and in the MIME
 * fuzz corpus, BODY derived from BODYSTRUCTURE is exactly what the writer
 * makes for BODY; malformed structures (every proper prefix, flipped
 * octets, bad literals, deep nesting) are refused without a crash; a
 * full output buffer is an error that leaves it as it was. Run from
 * tests/unit (tests/run-unit does) or with $srcdir set. */
#include "config.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imap_bodystructure.h"
#include "imap_bodystrip.h"
#include "mem.h"
#include "mime.h"
#include "unit.h"

static const struct mime_limits limits = {
	.header_size_max = 65536, .fields_max = 1000, .depth_max = 10,
	.parts_max = 300, .params_max = 20, .param_len_max = 500 };

static const char *const messages[] = {
	"Subject: plain\n\nbody\n",
	"Content-Type: text/html; charset=\"utf-8\"; format=flowed\n"
	"Content-ID: <id@x>\nContent-Description: desc\n"
	"Content-Language: en, de\nContent-Location: http://x/\n"
	"Content-MD5: abc\n\n<p>x</p>\n",
	"Content-Type: multipart/mixed; boundary=B\n\n--B\n\nt\n"
	"--B\nContent-Type: image/png; name=\"a b.png\"\n"
	"Content-Disposition: attachment; filename=\"a b.png\"\n"
	"Content-Transfer-Encoding: base64\n\nAAAA\n--B--\n",
	"Content-Type: multipart/mixed; boundary=o\n\n--o\n"
	"Content-Type: message/rfc822\n\nFrom: a@b\nSubject: in\n"
	"Content-Type: multipart/alternative; boundary=i\n\n--i\n\nx\n"
	"--i\nContent-Type: text/html\n\ny\n--i--\n--o--\n",
	"Content-Type: message/global\n\nSubject: =?utf-8?q?x?=\n\nz\n",
	"Content-Type: multipart/mixed\n\nno boundary at all\n",
	"Content-Type: multipart/digest; boundary=d\n\n--d\n\n"
	"Subject: digest part\n\nd1\n--d--\n",
	"Content-Type: application/x-thing; p=\"\xc3\xa9t\xc3\xa9\"\n"
	"Content-Description: \"quoted\" \\ back\n\nbin\n",
	"Content-Type: TEXT/Plain; CHARSET=ISO-8859-1\n\n\xe9\n",
	"Content-Type: message/rfc822\n\n",
	"",
};

static size_t compared, equal;

/* BODY from the writer and from the strip must be equal. */
static void check_message(const char *data, size_t len)
{
	struct mime_message *m = mime_parse(data, len, &limits);
	struct buf bs, body, stripped;
	const char *error;

	buf_init(&bs, 1 << 20);
	buf_init(&body, 1 << 20);
	buf_init(&stripped, 1 << 20);
	if (imap_bodystructure_write(&bs, data, len, m, true, 0, &error) == 0 &&
	    imap_bodystructure_write(&body, data, len, m, false, 0,
				     &error) == 0) {
		compared++;
		if (imap_bodystrip(bs.data, bs.len, &stripped) == 0 &&
		    stripped.len == body.len &&
		    memcmp(stripped.data, body.data, body.len) == 0)
			equal++;
		else
			fprintf(stderr, "differs:\n  %s\n  %s\n  %s\n", bs.data,
				body.data, stripped.data);
	}
	buf_deinit(&bs);
	buf_deinit(&body);
	buf_deinit(&stripped);
	mime_message_free(&m);
}

static void test_messages(void)
{
	size_t n = sizeof(messages) / sizeof(messages[0]);

	compared = equal = 0;
	for (size_t i = 0; i < n; i++)
		check_message(messages[i], strlen(messages[i]));
	UNIT_CHECK(compared == n);
	UNIT_CHECK(equal == n);
}

static void test_corpus(void)
{
	char dir[4096], path[8192];
	const char *srcdir = getenv("srcdir");
	size_t files = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/mime",
		 srcdir != NULL ? srcdir : "");
	d = srcdir != NULL ? opendir(dir) : NULL;
	if (d == NULL) {
		snprintf(dir, sizeof(dir), "../fuzz/corpus/mime");
		d = opendir(dir);
	}
	UNIT_CHECK(d != NULL);
	if (d == NULL)
		return;
	compared = equal = 0;
	char *data = xmalloc(1 << 20);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (f == NULL)
			continue;
		size_t len = fread(data, 1, 1 << 20, f);
		fclose(f);
		files++;
		check_message(data, len);
	}
	closedir(d);
	free(data);
	UNIT_CHECK(files >= 10);
	UNIT_CHECK(compared == files);
	UNIT_CHECK(equal == compared);
}

static int strip(const char *s, struct buf *out)
{
	buf_reset(out);
	return imap_bodystrip(s, strlen(s), out);
}

static void test_malformed(void)
{
	static const char *const bad[] = {
		"", "(", "()", "(\"text\")", "(\"text\" \"plain\" NIL NIL NIL)",
		"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1",
		"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) x",
		"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1 (((())",
		"(\"text\" \"plain {5}\r\nab",
		"(\"a\" \"b\" {3}\r\nxy",
		"(\"a\" \"b\" {99999999999}\r\nxy)",
		"(\"a\" \"b\" {}\r\n)",
		"(\"a\" \"b\" \"unterminated)",
		"(\"a\" \"b\" \"esc\\",
		"((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1))",
		"(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 1 NIL 1)",
		"( \"a\" \"b\" NIL NIL NIL x 1)",
	};
	struct buf out;
	size_t refused = 0;

	buf_init(&out, 4096);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (strip(bad[i], &out) == -1 && out.len == 0)
			refused++;
		else
			fprintf(stderr, "accepted: %s\n", bad[i]);
	}
	UNIT_CHECK(refused == sizeof(bad) / sizeof(bad[0]));

	/* Literals and extension lists are copied or skipped whole. */
	UNIT_CHECK(strip("(\"a\" \"b\" ({1}\r\n)) {2}\r\n(( NIL \"7bit\" 3 "
			 "NIL (\"attachment\" (\"x\" {1}\r\n()) NIL NIL)",
			 &out) == 0);
	UNIT_STREQ(out.data,
		   "(\"a\" \"b\" ({1}\r\n)) {2}\r\n(( NIL \"7bit\" 3)");
	UNIT_CHECK(strip("(\"TEXT\" \"x\" NIL NIL NIL \"7bit\" 3 1 NIL NIL "
			 "NIL NIL)", &out) == 0);
	UNIT_STREQ(out.data, "(\"TEXT\" \"x\" NIL NIL NIL \"7bit\" 3 1)");

	/* Every proper prefix of a valid structure is refused. */
	const char *good = "((\"text\" \"plain\" (\"charset\" \"a\") NIL NIL "
		"\"7bit\" 1 1 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL "
		"NIL \"7bit\" 9 (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
		"2 "
		"NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)";
	size_t len = strlen(good), prefixes = 0;
	for (size_t l = 0; l < len; l++) {
		buf_reset(&out);
		prefixes += imap_bodystrip(good, l, &out) == -1 && out.len == 0;
	}
	UNIT_CHECK(prefixes == len);
	UNIT_CHECK(strip(good, &out) == 0);
	UNIT_STREQ(out.data, "((\"text\" \"plain\" (\"charset\" \"a\") NIL NIL "
		   "\"7bit\" 1 1)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" "
		   "9 "
		   "(NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" "
		   "\"plain\" NIL NIL NIL \"7bit\" 0 0) 2) \"mixed\")");

	/* Any one flipped octet: no crash, and a result only if whole. */
	char copy[512];
	memcpy(copy, good, len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			copy[i] ^= (char)(1 << bit);
			buf_reset(&out);
			if (imap_bodystrip(copy, len, &out) == 0)
				UNIT_CHECK(out.len > 0 && out.len <= len);
			copy[i] ^= (char)(1 << bit);
		}
	}
	buf_deinit(&out);
}

static void test_limits(void)
{
	struct buf out, deep;
	const char *leaf = "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)";

	/* Nesting at the limit is fine, one more level is not. */
	for (int extra = 0; extra < 2; extra++) {
		buf_init(&deep, 1 << 16);
		int levels = IMAP_BODYSTRIP_DEPTH_MAX + extra;
		for (int i = 0; i < levels; i++)
			unit_put(&deep, "(");
		unit_put(&deep, "%s", leaf);
		for (int i = 0; i < levels; i++)
			unit_put(&deep, " \"mixed\")");
		buf_init(&out, 1 << 16);
		int r = imap_bodystrip(deep.data, deep.len, &out);
		UNIT_CHECK(extra == 0 ? r == 0 && out.len == deep.len :
				       r == -1);
		buf_deinit(&out);
		buf_deinit(&deep);
	}
	/* Deep plain lists in extension data are skipped iteratively. */
	buf_init(&deep, 1 << 16);
	unit_put(&deep, "(\"a\" \"b\" NIL NIL NIL \"7bit\" 0 ");
	for (int i = 0; i < 900; i++)
		unit_put(&deep, "(");
	for (int i = 0; i < 900; i++)
		unit_put(&deep, ")");
	unit_put(&deep, ")");
	buf_init(&out, 1 << 16);
	UNIT_CHECK(imap_bodystrip(deep.data, deep.len, &out) == 0);
	UNIT_STREQ(out.data, "(\"a\" \"b\" NIL NIL NIL \"7bit\" 0)");
	buf_deinit(&out);
	buf_deinit(&deep);

	/* A full buffer: -1, and what was in it stays. */
	buf_init(&out, 20);
	unit_put(&out, "keep");
	UNIT_CHECK(imap_bodystrip(leaf, strlen(leaf), &out) == -1);
	UNIT_STREQ(out.data, "keep");
	buf_deinit(&out);
}

int main(void)
{
	test_messages();
	test_corpus();
	test_malformed();
	test_limits();
	return unit_done();
}
