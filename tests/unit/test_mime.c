/* Unit tests of lib/mime: header fields (unfolding, look-up, malformed
 * lines), Content-Type parameters, the part tree of simple, multipart and
 * nested messages with LF and CRLF, IMAP part numbers, line counts and
 * CRLF sizes (random nested messages against a plain count of each
 * part), and the limits (depth with 10,000 levels, parts, parameters). */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "mem.h"
#include "mime.h"
#include "unit.h"

static const struct mime_limits limits = {
	.header_size_max = 65536, .fields_max = 1000, .depth_max = 100,
	.parts_max = 10000, .params_max = 32, .param_len_max = 1024 };

/* "type/subtype(child,child)" in tree order; iterative over the links. */
static const char *dump(const struct mime_part *root)
{
	static struct buf out;
	const struct mime_part *p = root;

	if (out.data == NULL)
		buf_init(&out, 1 << 20);
	buf_reset(&out);
	while (p != NULL) {
		unit_put(&out, "%s/%s", p->type, p->subtype);
		if (p->children != NULL) {
			unit_put(&out, "(");
			p = p->children;
			continue;
		}
		while (p != NULL && p != root && p->next == NULL) {
			p = p->parent;
			if (p != NULL)
				unit_put(&out, ")");
		}
		if (p == NULL || p == root)
			break;
		unit_put(&out, ",");
		p = p->next;
	}
	return buf_cstr(&out);
}

/* The body of a part as a string (static, for comparisons). */
static const char *body(const char *msg, const struct mime_part *p)
{
	static char s[4096];

	if (p == NULL || p->body_len >= sizeof(s))
		return "(none)";
	memcpy(s, msg + p->body_offset, p->body_len);
	s[p->body_len] = '\0';
	return s;
}

static const struct mime_part *find(const struct mime_message *m,
				    const char *spec)
{
	uint32_t nums[16];
	size_t n = 0;

	for (const char *s = spec; *s != '\0' && n < 16; n++) {
		char *end;

		nums[n] = (uint32_t)strtoul(s, &end, 10);
		s = *end == '.' ? end + 1 : end;
	}
	return mime_part_find(m, nums, n);
}

/* Turns LF into CRLF (the result is static). */
static const char *crlf(const char *s)
{
	static char out[8192];
	size_t o = 0;

	for (; *s != '\0' && o + 2 < sizeof(out); s++) {
		if (*s == '\n')
			out[o++] = '\r';
		out[o++] = *s;
	}
	out[o] = '\0';
	return out;
}

static void test_header(void)
{
	const char h[] = "Subject: hello\n  world\nbad line\n:empty\n"
		"X-Nul: a\0b\nFrom : x@y\nto:\n\nBody: no\n";
	size_t len = sizeof(h) - 1;
	struct mime_header_iter it;
	struct mime_field f;
	char v[64];

	UNIT_CHECK(mime_header_block_len(h, len) == 66);
	mime_header_iter_init(&it, h, mime_header_block_len(h, len));
	UNIT_CHECK(mime_header_next(&it, &f) == 1);
	UNIT_CHECK(f.name_len == 7 && memcmp(f.name, "Subject", 7) == 0);
	UNIT_CHECK(f.offset == 0 && f.len == 23);
	UNIT_CHECK(mime_header_unfold(f.value, f.value_len, v,
				      sizeof(v)) == 12);
	UNIT_STREQ(v, "hello  world");
	UNIT_CHECK(mime_header_next(&it, &f) == 1);	/* 2 lines skipped */
	UNIT_CHECK(f.name_len == 5 && memcmp(f.name, "X-Nul", 5) == 0);
	UNIT_CHECK(mime_header_unfold(f.value, f.value_len, v,
				      sizeof(v)) == 3);
	UNIT_STREQ(v, "a b");
	UNIT_CHECK(mime_header_next(&it, &f) == 1);
	UNIT_CHECK(f.name_len == 4 && memcmp(f.value, "x@y", 3) == 0);
	UNIT_CHECK(mime_header_next(&it, &f) == 1);
	UNIT_CHECK(f.name_len == 2 && f.value_len == 0);
	UNIT_CHECK(mime_header_next(&it, &f) == 0);
	UNIT_CHECK(mime_header_find(h, len, "from", &f) == 1 &&
		   f.value_len == 3);
	UNIT_CHECK(mime_header_find(h, len, "body", &f) == 0);
	UNIT_CHECK(mime_header_unfold("abc", 3, v, 3) == -1 && v[0] == 0);
	/* CRLF, and no empty line at all. */
	UNIT_CHECK(mime_header_block_len("A: b\r\n\r\nx", 9) == 8);
	UNIT_CHECK(mime_header_block_len("A: b\r\nB: c", 10) == 10);
	UNIT_CHECK(mime_header_block_len("\nbody", 5) == 1);
	UNIT_CHECK(mime_header_find("A: b\r\n c\r\n", 10, "a", &f) == 1);
	UNIT_CHECK(mime_header_unfold(f.value, f.value_len, v,
				      sizeof(v)) == 3);
	UNIT_STREQ(v, "b c");
}

static void test_simple(void)
{
	const char *lf = "From: a@b\nSubject: s\n\nline 1\nline 2\n";

	for (int pass = 0; pass < 2; pass++) {
		const char *s = pass == 0 ? lf : crlf(lf);
		size_t len = strlen(s);
		struct mime_message *m = mime_parse(s, len, &limits);
		const struct mime_part *r = m->root;

		UNIT_STREQ(dump(r), "text/plain");
		UNIT_STREQ(mime_param_get(r->params, r->param_count,
					  "CHARSET"), "us-ascii");
		UNIT_STREQ(r->encoding, "7bit");
		UNIT_CHECK(r->header_offset == 0);
		UNIT_CHECK(r->header_len == (pass == 0 ? 22u : 25u));
		UNIT_CHECK(r->body_offset + r->body_len == len);
		UNIT_CHECK(r->body_lines == 2);
		UNIT_CHECK(find(m, "1") == r && find(m, "2") == NULL &&
			   find(m, "1.1") == NULL);
		UNIT_CHECK(m->flags == 0 && m->part_count == 1);
		mime_message_free(&m);
		UNIT_CHECK(m == NULL);
	}
	{
		struct mime_message *none = NULL;

		mime_message_free(&none);
		UNIT_CHECK(none == NULL);
	}
}

static const char alternative[] =
	"Content-Type: multipart/alternative; boundary=\"b1\"\n\n"
	"preamble\n--b1\nContent-Type: text/plain; charset=utf-8\n\n"
	"plain\n--b1 \nContent-Type: text/html\n"
	"Content-Transfer-Encoding: Quoted-Printable\n\n<p>\nx\n"
	"--b1--\nepilogue\n";

static void test_alternative(void)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *s = pass == 0 ? alternative : crlf(alternative);
		struct mime_message *m = mime_parse(s, strlen(s), &limits);
		const struct mime_part *p1 = find(m, "1"), *p2 = find(m, "2");

		UNIT_STREQ(dump(m->root),
			   "multipart/alternative(text/plain,text/html)");
		UNIT_STREQ(body(s, p1), "plain");
		UNIT_CHECK(p1->body_lines == 1);
		UNIT_STREQ(mime_param_get(p1->params, p1->param_count,
					  "charset"), "utf-8");
		UNIT_STREQ(body(s, p2), pass == 0 ? "<p>\nx" : "<p>\r\nx");
		UNIT_CHECK(p2->body_lines == 2);
		UNIT_STREQ(p2->encoding, "quoted-printable");
		UNIT_CHECK(p2->param_count == 0);
		UNIT_CHECK(strncmp(s + p2->header_offset, "Content-Type", 12)
			   == 0);
		UNIT_CHECK(find(m, "3") == NULL && find(m, "0") == NULL);
		UNIT_CHECK(m->root->flags == 0);
		mime_message_free(&m);
	}
}

static void test_mixed_nested(void)
{
	const char s[] =
		"Content-Type: multipart/mixed; boundary=out\n\n"
		"--out\n\ntext part\n"
		"--out\nContent-Type: image/png; name=\"a b.png\"\n"
		"Content-Disposition: attachment; filename=\"a b.png\"\n"
		"Content-ID: <x@y>\nContent-Description: a picture\n"
		"Content-Transfer-Encoding: base64\n\niVBORw0K\n"
		"--out\nContent-Type: message/rfc822\n\n"
		"Subject: inner\nContent-Type: multipart/mixed; boundary=in\n\n"
		"--in\nContent-Type: text/plain\n\ninner 1\n"
		"--in\nContent-Type: multipart/alternative; boundary=in2\n\n"
		"--in2\n\nalt 1\n--in2\n\nalt 2\n--in2--\n"
		"--in--\n"
		"--out--\n";
	struct mime_message *m = mime_parse(s, sizeof(s) - 1, &limits);
	const struct mime_part *p;

	UNIT_STREQ(dump(m->root), "multipart/mixed(text/plain,image/png,"
		   "message/rfc822(multipart/mixed(text/plain,"
		   "multipart/alternative(text/plain,text/plain))))");
	UNIT_STREQ(body(s, find(m, "1")), "text part");
	UNIT_CHECK(find(m, "1")->header_len == 1);
	p = find(m, "2");
	UNIT_STREQ(p->disposition, "attachment");
	UNIT_STREQ(mime_param_get(p->disp_params, p->disp_param_count,
				  "filename"), "a b.png");
	UNIT_STREQ(mime_param_get(p->params, p->param_count, "name"),
		   "a b.png");
	UNIT_STREQ(p->id, "<x@y>");
	UNIT_STREQ(p->description, "a picture");
	UNIT_STREQ(p->encoding, "base64");
	UNIT_STREQ(body(s, p), "iVBORw0K");
	p = find(m, "3");
	UNIT_CHECK(mime_part_is_message(p));
	UNIT_CHECK(p->body_lines == 18);
	UNIT_CHECK(strncmp(s + p->children->header_offset, "Subject: inner",
			   14) == 0);
	UNIT_STREQ(body(s, find(m, "3.1")), "inner 1");
	UNIT_STREQ(dump(find(m, "3.2")),
		   "multipart/alternative(text/plain,text/plain)");
	UNIT_STREQ(body(s, find(m, "3.2.1")), "alt 1");
	UNIT_STREQ(body(s, find(m, "3.2.2")), "alt 2");
	UNIT_CHECK(find(m, "3.2.3") == NULL && find(m, "3.3") == NULL &&
		   find(m, "1.1") == NULL && find(m, "3.2.1.1") == NULL);
	UNIT_CHECK(m->part_count == 9);
	mime_message_free(&m);

	/* A non-multipart message inside message/rfc822: 2.1 is its body. */
	const char s2[] = "Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\n\none\n--b\nContent-Type: message/rfc822\n\n"
		"Subject: x\n\nembedded body\n--b--\n";
	m = mime_parse(s2, sizeof(s2) - 1, &limits);
	UNIT_STREQ(body(s2, find(m, "2.1")), "embedded body");
	UNIT_CHECK(find(m, "2.1") == find(m, "2")->children);
	UNIT_CHECK(find(m, "2.2") == NULL);
	mime_message_free(&m);
}

static void test_broken(void)
{
	/* No closing boundary: the last part runs to the end. */
	const char s1[] = "Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\n\none\n--bb\n--b\n\ntwo\nmore";
	/* Bad Content-Type: the default. */
	const char s2[] = "Content-Type: /plain; charset=x\n\nbody";
	const char s3[] = "Content-Type: multipart/mixed\n\n--\nx\n";
	const char s4[] = "Content-Type: multipart/mixed; boundary=zz\n\nx\n";
	const char s5[] = "Content-Type: multipart/digest; boundary=d\n\n"
		"--d\n\nSubject: a\n\nA\n--d--\n";
	struct mime_message *m = mime_parse(s1, sizeof(s1) - 1, &limits);

	UNIT_STREQ(dump(m->root), "multipart/mixed(text/plain,text/plain)");
	UNIT_STREQ(body(s1, find(m, "1")), "one\n--bb");
	UNIT_STREQ(body(s1, find(m, "2")), "two\nmore");
	UNIT_CHECK(find(m, "2")->body_lines == 2);
	mime_message_free(&m);
	m = mime_parse(s2, sizeof(s2) - 1, &limits);
	UNIT_STREQ(dump(m->root), "text/plain");
	UNIT_STREQ(mime_param_get(m->root->params, m->root->param_count,
				  "charset"), "us-ascii");
	mime_message_free(&m);
	m = mime_parse(s3, sizeof(s3) - 1, &limits);
	UNIT_CHECK(m->root->child_count == 0 &&
		   (m->root->flags & MIME_PART_BROKEN) != 0);
	UNIT_CHECK(find(m, "1") == NULL);
	mime_message_free(&m);
	m = mime_parse(s4, sizeof(s4) - 1, &limits);
	UNIT_CHECK(m->root->child_count == 0 &&
		   (m->root->flags & MIME_PART_BROKEN) != 0);
	mime_message_free(&m);
	m = mime_parse(s5, sizeof(s5) - 1, &limits);
	UNIT_STREQ(dump(m->root), "multipart/digest(message/rfc822("
		   "text/plain))");
	mime_message_free(&m);
	/* Empty input, only a header, only a NUL. */
	m = mime_parse("", 0, &limits);
	UNIT_CHECK(m->root->header_len == 0 && m->root->body_len == 0 &&
		   m->root->body_lines == 0);
	mime_message_free(&m);
	m = mime_parse("A: b", 4, &limits);
	UNIT_CHECK(m->root->header_len == 4 && m->root->body_offset == 4);
	mime_message_free(&m);
	m = mime_parse("\0", 1, &limits);
	UNIT_STREQ(dump(m->root), "text/plain");
	mime_message_free(&m);
}

static void test_params(void)
{
	const char s[] = "Content-Type: (c (nested) \\) x) Text / HTML"
		" (comment) ; Charset = \"ISO-8859-1\" (cmt);"
		" name=\"a \\\"q\\\" b;c\"; junk; =x; boundary=----=_P_1;"
		" long=\"unterminated\n\nbody";
	struct mime_message *m = mime_parse(s, sizeof(s) - 1, &limits);
	const struct mime_part *r = m->root;

	UNIT_STREQ(dump(r), "text/html");
	UNIT_CHECK(r->param_count == 4);
	UNIT_STREQ(mime_param_get(r->params, r->param_count, "charset"),
		   "ISO-8859-1");
	UNIT_STREQ(r->params[0].name, "charset");
	UNIT_STREQ(mime_param_get(r->params, r->param_count, "name"),
		   "a \"q\" b;c");
	UNIT_STREQ(mime_param_get(r->params, r->param_count, "boundary"),
		   "----=_P_1");
	UNIT_STREQ(mime_param_get(r->params, r->param_count, "long"),
		   "unterminated");
	UNIT_CHECK(m->flags == 0);
	mime_message_free(&m);

	/* params_max: limit-1, limit, limit+1 parameters. */
	struct mime_limits lim = limits;

	lim.params_max = 3;
	lim.param_len_max = 5;
	for (int n = 2; n <= 4; n++) {
		char h[256];
		int len = snprintf(h, sizeof(h), "Content-Type: a/b%s%s%s%s"
				   "\n\n", "; p1=1", n > 1 ? "; p2=2" : "",
				   n > 2 ? "; p3=3" : "", n > 3 ? "; p4=4" :
				   "");

		m = mime_parse(h, (size_t)len, &lim);
		UNIT_CHECK(m->root->param_count == (size_t)(n < 3 ? n : 3));
		UNIT_CHECK((m->flags == MIME_TRUNC_PARAMS) == (n > 3));
		mime_message_free(&m);
	}
	m = mime_parse("Content-Type: a/b; n=12345; m=123456\n\n", 38, &lim);
	UNIT_CHECK(m->root->param_count == 1 &&
		   m->flags == MIME_TRUNC_PARAMS);
	mime_message_free(&m);
}

/* levels of multipart nesting (boundaries b0, b1...) or of
 * message/rfc822. */
static char *deep(int levels, bool multipart, size_t *len_r)
{
	struct buf b;
	char *r;

	buf_init(&b, 1 << 26);
	for (int i = 0; i < levels; i++)
		if (multipart)
			unit_put(&b, "Content-Type: multipart/mixed; boundary=b%d"
			    "\n\n--b%d\n", i, i);
		else
			unit_put(&b, "Content-Type: message/rfc822\n\n");
	unit_put(&b, "\nleaf\n");
	for (int i = levels - 1; multipart && i >= 0; i--)
		unit_put(&b, "--b%d--\n", i);
	*len_r = b.len;
	r = xmemdup(b.data, b.len);
	buf_deinit(&b);
	return r;
}

static void test_depth(void)
{
	for (int kind = 0; kind < 2; kind++) {
		size_t len;
		char *s = deep(10000, kind == 0, &len);
		clock_t t0 = clock();
		struct mime_message *m = mime_parse(s, len, &limits);
		double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
		const struct mime_part *p = m->root;
		unsigned d = 0;

		UNIT_CHECK(secs < 2.0);
		UNIT_CHECK(m->flags == MIME_TRUNC_DEPTH);
		UNIT_CHECK(m->part_count == 101);
		while (p->children != NULL) {
			p = p->children;
			d++;
		}
		UNIT_CHECK(d == 100 && p->depth == 100 &&
			   (p->flags & MIME_PART_OPAQUE) != 0);
		mime_message_free(&m);
		free(s);
	}
	/* depth_max at limit-1, limit, limit+1 of 3 levels. */
	for (unsigned dm = 2; dm <= 4; dm++) {
		struct mime_limits lim = limits;
		size_t len;
		char *s = deep(3, true, &len);
		struct mime_message *m;

		lim.depth_max = dm;
		m = mime_parse(s, len, &lim);
		UNIT_CHECK((m->flags == MIME_TRUNC_DEPTH) == (dm < 3));
		UNIT_CHECK(m->part_count == (dm < 3 ? 3u : 4u));
		UNIT_CHECK((find(m, "1.1.1") != NULL) == (dm >= 3));
		mime_message_free(&m);
		free(s);
	}
}

static void test_limits(void)
{
	struct mime_limits lim = limits;
	struct mime_message *m;

	/* parts_max 3: the root and two of three children. */
	lim.parts_max = 3;
	m = mime_parse(alternative, strlen(alternative), &lim);
	UNIT_CHECK(m->part_count == 3 && m->flags == 0);
	mime_message_free(&m);
	lim.parts_max = 2;
	m = mime_parse(alternative, strlen(alternative), &lim);
	UNIT_CHECK(m->part_count == 2 && m->flags == MIME_TRUNC_PARTS &&
		   (m->root->flags & MIME_PART_OPAQUE) != 0);
	mime_message_free(&m);

	/* A field past header_size_max is not parsed. */
	lim = limits;
	lim.header_size_max = 30;
	m = mime_parse("Subject: 1234567890123\nContent-Type: a/b\n\nx", 44,
		       &lim);
	UNIT_STREQ(dump(m->root), "text/plain");
	UNIT_CHECK(m->flags == MIME_TRUNC_HEADER);
	mime_message_free(&m);
	lim.header_size_max = 41;
	m = mime_parse("Subject: 1234567890123\nContent-Type: a/b\n\nx", 44,
		       &lim);
	UNIT_STREQ(dump(m->root), "a/b");
	UNIT_CHECK(m->flags == 0);
	mime_message_free(&m);

	/* fields_max 1: the second field is not parsed. */
	lim = limits;
	lim.fields_max = 1;
	m = mime_parse("A: b\nContent-Type: a/b\n\n", 24, &lim);
	UNIT_STREQ(dump(m->root), "text/plain");
	UNIT_CHECK(m->flags == MIME_TRUNC_FIELDS);
	mime_message_free(&m);
	lim.fields_max = 2;
	m = mime_parse("A: b\nContent-Type: a/b\n\n", 24, &lim);
	UNIT_STREQ(dump(m->root), "a/b");
	mime_message_free(&m);
}

/* A line end: LF, CR LF, or a stray CR before either. */
static void random_eol(struct buf *b)
{
	static const char *const eol[] = { "\n", "\r\n", "\r\n", "\r\r\n",
					   "\n" };

	unit_put(b, "%s", eol[rand() % 5]);
}

/* A random body of kind depth levels deep into b: text, multipart (some
 * lines near its boundary) or message/rfc822, with mixed line ends. */
static void random_part(struct buf *b, int depth, unsigned *serial)
{
	int kind = depth >= 3 ? 0 : rand() % 3;
	unsigned id = (*serial)++;

	if (kind == 1) {
		unit_put(b, "Content-Type: multipart/mixed; boundary=b%u", id);
		random_eol(b);
		random_eol(b);
		for (int n = rand() % 4; n >= 0; n--) {
			unit_put(b, n % 2 ? "preamble\r" : "--b%u--x", id);
			random_eol(b);
			unit_put(b, "--b%u", id);
			random_eol(b);
			random_part(b, depth + 1, serial);
			random_eol(b);
		}
		unit_put(b, rand() % 4 ? "--b%u--" : "--b%u", id);
		random_eol(b);
		if (rand() % 2)
			unit_put(b, "epilogue\n\n");
		return;
	}
	if (kind == 2) {
		unit_put(b, "Content-Type: message/rfc822");
		random_eol(b);
		random_eol(b);
		unit_put(b, "Subject: inner %u", id);
		random_eol(b);
		random_part(b, depth + 1, serial);
		return;
	}
	unit_put(b, "Content-Type: text/plain");
	random_eol(b);
	random_eol(b);
	for (int n = rand() % 6; n > 0; n--) {
		unit_put(b, "%s", rand() % 3 ? "text line" : "\r");
		if (n > 1 || rand() % 2)
			random_eol(b);
	}
}

/* body_lines and body_bare_lfs of every part, counted plainly. */
static bool counts_ok(const char *s, const struct mime_message *m)
{
	for (size_t i = 0; i < m->part_count; i++) {
		const struct mime_part *p = m->parts[i];
		const char *d = s + p->body_offset;
		size_t lf = 0, bare = 0;

		for (size_t k = 0; k < p->body_len; k++) {
			if (d[k] != '\n')
				continue;
			lf++;
			bare += k == 0 || d[k - 1] != '\r';
		}
		if (p->body_len > 0 && d[p->body_len - 1] != '\n')
			lf++;
		if (p->body_lines != lf || p->body_bare_lfs != bare)
			return false;
	}
	return true;
}

static void test_counts(void)
{
	struct buf b;
	size_t bad = 0, nested = 0;

	buf_init(&b, 1 << 20);
	srand(11);
	for (int round = 0; round < 2000; round++) {
		unsigned serial = 0;

		buf_reset(&b);
		random_part(&b, 0, &serial);
		struct mime_message *m = mime_parse(b.data, b.len, &limits);
		bad += !counts_ok(b.data, m);
		nested += m->part_count > 3;
		mime_message_free(&m);
	}
	UNIT_CHECK(bad == 0);
	UNIT_CHECK(nested > 100);
	buf_deinit(&b);
}

int main(void)
{
	test_header();
	test_simple();
	test_alternative();
	test_mixed_nested();
	test_broken();
	test_counts();
	test_params();
	test_depth();
	test_limits();
	return unit_done();
}
