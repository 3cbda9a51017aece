/* test_content_check: the header_checks/body_checks engine over pcre:
 * tables: logical headers unfolded, each action's edit and verdict, the
 * header, line and body size limits (limit-1, limit, limit+1), MIME
 * classes (primary, part, nested, digest), boundaries as body lines, map
 * warnings, bad actions. Every case is fed whole and one byte at a time,
 * and both must give the same output and events. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "content_check.h"
#include "maps.h"
#include "mem.h"
#include "unit.h"

static char dir[64];

struct run {
	struct buf out;
	struct buf events;
	struct content_check_verdict verdict;
	int fail_after;		/* out() fails after this many calls; -1 */
	int calls;
	int ret;
};

static int out_fn(void *ctx, const char *data, size_t len)
{
	struct run *r = ctx;

	if (r->fail_after >= 0 && r->calls++ >= r->fail_after)
		return -1;
	return buf_append(&r->out, data, len);
}

static void event_fn(void *ctx, const struct content_check_event *ev)
{
	static const char *const kinds[] = { "action", "unsupported", "bad",
					     "mapwarn", "maperror" };
	static const char *const classes[] = { "h", "m", "n", "b" };
	struct run *r = ctx;

	if (buf_printf(&r->events, "%s %s %s %s [%.*s] %s\n", kinds[ev->kind],
		       classes[ev->class], ev->context,
		       ev->action != NULL ? ev->action : "-",
		       (int)ev->line_len, ev->line, ev->text) < 0)
		abort();
}

/* Opens "pcre:DIR/NAME" holding text, or NULL for text NULL. */
static struct maps *table(const char *name, const char *text)
{
	char path[128], spec[140];
	struct maps *m;
	const char *error;
	FILE *f;

	if (text == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(spec, sizeof(spec), "pcre:%s", path);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
	if (maps_open(spec, 0, &m, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		abort();
	}
	return m;
}

static struct content_check_config cfg;

static void config(const char *header, const char *mime, const char *nested,
		   const char *body)
{
	for (int i = 0; i < CONTENT_CHECK_CLASS_COUNT; i++)
		maps_free(&cfg.maps[i]);
	cfg.maps[CONTENT_CHECK_HEADER] = table("h", header);
	cfg.maps[CONTENT_CHECK_MIME_HEADER] = table("m", mime);
	cfg.maps[CONTENT_CHECK_NESTED_HEADER] = table("n", nested);
	cfg.maps[CONTENT_CHECK_BODY] = table("b", body);
	cfg.header_max = 1000;
	cfg.line_max = 100;
	cfg.body_size_max = 51200;
	cfg.depth_max = 5;
}

static void run_one(struct run *r, const char *in, size_t step)
{
	struct content_check *cc =
		content_check_new(&cfg, out_fn, event_fn, r);
	size_t len = strlen(in);

	buf_init(&r->out, 1 << 20);
	buf_init(&r->events, 1 << 20);
	r->ret = 0;
	for (size_t i = 0; i < len && r->ret == 0; i += step)
		r->ret = content_check_feed(cc, in + i,
					    len - i < step ? len - i : step);
	if (r->ret == 0)
		r->ret = content_check_finish(cc);
	r->verdict = *content_check_verdict(cc);
	content_check_free(&cc);
	UNIT_CHECK(cc == NULL);
}

static void run_free(struct run *r)
{
	buf_deinit(&r->out);
	buf_deinit(&r->events);
}

/* Runs in whole and byte by byte; both must agree. */
static void check(const char *in, const char *want_out,
		  const char *want_events, enum content_check_final final)
{
	struct run whole = { .fail_after = -1 }, bytes = { .fail_after = -1 };

	run_one(&whole, in, strlen(in) + 1);
	run_one(&bytes, in, 1);
	UNIT_STREQ(buf_cstr(&whole.out), want_out);
	UNIT_STREQ(buf_cstr(&whole.events), want_events);
	UNIT_STREQ(buf_cstr(&bytes.out), buf_cstr(&whole.out));
	UNIT_STREQ(buf_cstr(&bytes.events), buf_cstr(&whole.events));
	UNIT_CHECK(whole.verdict.final == final);
	UNIT_CHECK(bytes.verdict.final == final);
	UNIT_CHECK(whole.ret == 0 && bytes.ret == 0);
	run_free(&whole);
	run_free(&bytes);
}

static void test_pass_through(void)
{
	static const char msg[] = "Received: from x\n\tby y\nSubject: hi\n"
				  "\nbody 1\n\nbody 2 no LF";

	config("/^X-Nothing:/ REJECT\n", NULL, NULL, "/^nothing$/ REJECT\n");
	check(msg, msg, "", CONTENT_CHECK_ACCEPT);
	check("", "", "", CONTENT_CHECK_ACCEPT);
	/* No tables at all. */
	config(NULL, NULL, NULL, NULL);
	check(msg, msg, "", CONTENT_CHECK_ACCEPT);
}

static void test_folding(void)
{
	config("/^Subject: one two\tthree$/ WARN seen\n"
	       "/^X-Gone: a b$/ IGNORE\n",
	       NULL, NULL, NULL);
	check("Subject: one\n two\n\tthree\nX-Gone: a\n b\nTo: c\n\nx\n",
	      "Subject: one\n two\n\tthree\nTo: c\n\nx\n",
	      "action h header warning [Subject: one two\tthree] seen\n",
	      CONTENT_CHECK_ACCEPT);
}

static void test_header_edits(void)
{
	config("/^X-R: (.*)/ REPLACE X-New: $1\n"
	       "/^X-P:/ PREPEND X-Before: yes\n"
	       "/^X-S:/ STRIP gone\n"
	       "/^X-D:/ DUNNO\n/^X-O:/ OK\n",
	       NULL, NULL, NULL);
	check("X-R: a\n b\nX-P: p\nX-S: s\nX-D: d\nX-O: o\n\nbody\n",
	      "X-New: a b\nX-Before: yes\nX-P: p\nX-D: d\nX-O: o\n\nbody\n",
	      "action h header replace [X-R: a b] X-New: a b\n"
	      "action h header prepend [X-P: p] X-Before: yes\n"
	      "action h header strip [X-S: s] gone\n",
	      CONTENT_CHECK_ACCEPT);
}

static void test_verdicts(void)
{
	config("/^Subject: r$/ REJECT go away\n"
	       "/^Subject: rd$/ reject\n"
	       "/^Subject: r4$/ REJECT 4.7.0 later\n"
	       "/^Subject: d$/ DISCARD\n"
	       "/^Subject: h$/ HOLD look\n"
	       "/^Subject: p$/ PASS\n"
	       "/^X-After:/ WARN after\n",
	       NULL, NULL, NULL);
	/* The first REJECT ends inspection: no event after it. */
	check("Subject: r\nX-After: 1\n\n", "Subject: r\nX-After: 1\n\n",
	      "action h header reject [Subject: r] 5.7.1 go away\n",
	      CONTENT_CHECK_REJECT);
	struct run r = { .fail_after = -1 };
	run_one(&r, "Subject: r\n\n", 100);
	UNIT_STREQ(r.verdict.reply, "550 5.7.1 go away");
	run_free(&r);
	run_one(&r, "Subject: rd\n\n", 100);
	UNIT_STREQ(r.verdict.reply, "550 5.7.1 message content rejected");
	run_free(&r);
	run_one(&r, "Subject: r4\n\n", 100);
	UNIT_STREQ(r.verdict.reply, "450 4.7.0 later");
	run_free(&r);
	check("Subject: d\nX-After: 1\n\n", "Subject: d\nX-After: 1\n\n",
	      "action h header discard [Subject: d] \n",
	      CONTENT_CHECK_DISCARD);
	/* HOLD goes on inspecting. */
	run_one(&r, "Subject: h\nX-After: 1\n\n", 100);
	UNIT_CHECK(r.verdict.hold && r.verdict.final == CONTENT_CHECK_ACCEPT);
	UNIT_STREQ(buf_cstr(&r.events),
		   "action h header hold [Subject: h] look\n"
		   "action h header warning [X-After: 1] after\n");
	run_free(&r);
	check("Subject: p\nX-After: 1\n\n", "Subject: p\nX-After: 1\n\n",
	      "action h header pass [Subject: p] \n", CONTENT_CHECK_ACCEPT);
}

static void test_bad_actions(void)
{
	config("/^X-F:/ FILTER smtp:x\n/^X-U:/ FROB it\n"
	       "/^X-P:/ PREPEND not a header\n/^X-E:/ REPLACE\n",
	       NULL, NULL, "/^b/ PREPEND any text: is fine in a body\n");
	check("X-F: 1\nX-U: 1\nX-P: 1\nX-E: 1\n\nb\n",
	      "X-F: 1\nX-U: 1\nX-P: 1\nX-E: 1\n\n"
	      "any text: is fine in a body\nb\n",
	      "unsupported h header FILTER [X-F: 1] smtp:x\n"
	      "bad h header - [X-U: 1] FROB it\n"
	      "bad h header PREPEND [X-P: 1] text is not a header "
	      "(need \"name: value\")\n"
	      "bad h header REPLACE [X-E: 1] action without text\n"
	      "action b body prepend [b] any text: is fine in a body\n",
	      CONTENT_CHECK_ACCEPT);
}

/* A header of header_max octets is judged whole; a longer one by its
 * first header_max octets, and the action covers all of it. */
static void test_header_limit(void)
{
	char in[4096], want[4096];

	config("/^X-L: a+$/ IGNORE\n", NULL, NULL, NULL);
	cfg.header_max = 40;
	for (size_t n = 39; n <= 41; n++) {
		/* "X-L: " + a's + LF = n octets. */
		size_t as = n - 6;
		snprintf(in, sizeof(in), "X-L: %.*s\nTo: t\n\nb\n", (int)as,
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		check(in, "To: t\n\nb\n", "", CONTENT_CHECK_ACCEPT);
	}
	/* Past the limit, a continuation that would not match is dropped
	 * with the header, because the decision is taken on the prefix. */
	snprintf(in, sizeof(in), "X-L: %s\n zzz\nTo: t\n\n",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	check(in, "To: t\n\n", "", CONTENT_CHECK_ACCEPT);
	/* A kept long header is written whole. */
	config("/^X-Other:/ IGNORE\n", NULL, NULL, NULL);
	cfg.header_max = 40;
	snprintf(want, sizeof(want), "X-L: %s\n zzz\n\tmore\nTo: t\n\n",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	check(want, want, "", CONTENT_CHECK_ACCEPT);
}

/* Body lines are checked in pieces of line_max octets. */
static void test_line_limit(void)
{
	config(NULL, NULL, NULL, "/^x{8}$/ WARN full\n/^y+$/ IGNORE\n");
	cfg.line_max = 8;
	/* limit-1, limit, limit+1 with the LF: pieces "xxxxxxx\n",
	 * "xxxxxxxx" + "\n", ... */
	check("\nxxxxxxx\nxxxxxxxx\nxxxxxxxxx\n",
	      "\nxxxxxxx\nxxxxxxxx\nxxxxxxxxx\n",
	      "action b body warning [xxxxxxxx] full\n"
	      "action b body warning [xxxxxxxx] full\n",
	      CONTENT_CHECK_ACCEPT);
	/* A dropped piece takes only itself. */
	check("\nyyyyyyyyzz\n", "\nzz\n", "", CONTENT_CHECK_ACCEPT);
	/* Empty lines never match. */
	config(NULL, NULL, NULL, "/^$/ REJECT\n");
	check("\n\n\n", "\n\n\n", "", CONTENT_CHECK_ACCEPT);
}

/* Lines that start within body_size_max octets of a body part. */
static void test_body_size_limit(void)
{
	config(NULL, NULL, NULL, "/^m/ WARN hit\n");
	cfg.body_size_max = 6;
	/* "abcd\n" is 5: "m1" starts at 5 (< 6), "m2" at 8. */
	check("\nabcd\nm1\nm2\n", "\nabcd\nm1\nm2\n",
	      "action b body warning [m1] hit\n", CONTENT_CHECK_ACCEPT);
	check("\nabcde\nm1\n", "\nabcde\nm1\n", "", CONTENT_CHECK_ACCEPT);
	/* Each MIME part starts over. */
	check("Content-Type: multipart/mixed; boundary=q\n\n"
	      "--q\n\nabcdef\nm1\n--q\n\nm2\n--q--\n",
	      "Content-Type: multipart/mixed; boundary=q\n\n"
	      "--q\n\nabcdef\nm1\n--q\n\nm2\n--q--\n",
	      "action b body warning [m2] hit\n", CONTENT_CHECK_ACCEPT);
	cfg.body_size_max = 0;
	check("\nm\n", "\nm\n", "", CONTENT_CHECK_ACCEPT);
}

static void test_mime_classes(void)
{
	static const char msg[] =
		"Subject: s\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed;\n boundary=\"b 1\"\n\n"
		"preamble\n--b 1\nContent-Type: text/plain\nX-Part: p\n\n"
		"text\n--b 1\nContent-Type: message/rfc822\n\n"
		"Subject: inner\nContent-Type: text/plain\n\ninner body\n"
		"--b 1\nContent-Type: multipart/digest; boundary=d\n\n"
		"--d\n\nSubject: digest\n\ndigest body\n--d--\n"
		"--b 1--\nepilogue\n";

	config("/^/ WARN h\n", "/^/ WARN m\n", "/^/ WARN n\n",
	       "/^/ WARN b\n");
	check(msg, msg,
	      "action h header warning [Subject: s] h\n"
	      "action m header warning [MIME-Version: 1.0] m\n"
	      "action m header warning [Content-Type: multipart/mixed; "
	      "boundary=\"b 1\"] m\n"
	      "action b body warning [preamble] b\n"
	      "action b body warning [--b 1] b\n"
	      "action m header warning [Content-Type: text/plain] m\n"
	      "action m header warning [X-Part: p] m\n"
	      "action b body warning [text] b\n"
	      "action b body warning [--b 1] b\n"
	      "action m header warning [Content-Type: message/rfc822] m\n"
	      "action n header warning [Subject: inner] n\n"
	      "action m header warning [Content-Type: text/plain] m\n"
	      "action b body warning [inner body] b\n"
	      "action b body warning [--b 1] b\n"
	      "action m header warning [Content-Type: multipart/digest; "
	      "boundary=d] m\n"
	      "action b body warning [--d] b\n"
	      "action n header warning [Subject: digest] n\n"
	      "action b body warning [digest body] b\n"
	      "action b body warning [--d--] b\n"
	      "action b body warning [--b 1--] b\n"
	      "action b body warning [epilogue] b\n",
	      CONTENT_CHECK_ACCEPT);
	/* A part's header section cut short by a non-header line does
	 * not pass its Content-Type to the next part. */
	check("Content-Type: multipart/mixed; boundary=z\n\n"
	      "--z\nContent-Type: message/rfc822\nnot a header\n"
	      "--z\nSubject: part\n\n--z--\n",
	      "Content-Type: multipart/mixed; boundary=z\n\n"
	      "--z\nContent-Type: message/rfc822\nnot a header\n"
	      "--z\nSubject: part\n\n--z--\n",
	      "action m header warning [Content-Type: multipart/mixed; "
	      "boundary=z] m\n"
	      "action b body warning [--z] b\n"
	      "action m header warning [Content-Type: message/rfc822] m\n"
	      "action b body warning [not a header] b\n"
	      "action b body warning [--z] b\n"
	      "action m header warning [Subject: part] m\n"
	      "action b body warning [--z--] b\n", CONTENT_CHECK_ACCEPT);
	/* A non-header line ends the header section. */
	check("Subject: s\nnot a header\nX: y\n",
	      "Subject: s\nnot a header\nX: y\n",
	      "action h header warning [Subject: s] h\n"
	      "action b body warning [not a header] b\n"
	      "action b body warning [X: y] b\n", CONTENT_CHECK_ACCEPT);
}

/* Multipart nesting past depth_max is body. */
static void test_depth(void)
{
	config(NULL, "/^X-In:/ WARN in\n", NULL, NULL);
	cfg.depth_max = 1;
	check("Content-Type: multipart/mixed; boundary=a\n\n--a\n"
	      "Content-Type: multipart/mixed; boundary=b\n\n--b\nX-In: 1\n\n"
	      "--b--\n--a\nX-In: 2\n\n--a--\n",
	      "Content-Type: multipart/mixed; boundary=a\n\n--a\n"
	      "Content-Type: multipart/mixed; boundary=b\n\n--b\nX-In: 1\n\n"
	      "--b--\n--a\nX-In: 2\n\n--a--\n",
	      "action m header warning [X-In: 2] in\n",
	      CONTENT_CHECK_ACCEPT);
}

static void test_map_warning(void)
{
	char in[128];

	config("/^X-S: (a+)+$/ REJECT\n", NULL, NULL, NULL);
	snprintf(in, sizeof(in), "X-S: %s!\n\n",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	struct run r = { .fail_after = -1 };
	run_one(&r, in, 1000);
	UNIT_CHECK(r.verdict.final == CONTENT_CHECK_ACCEPT);
	UNIT_CHECK(strncmp(r.events.data, "mapwarn h header", 16) == 0);
	UNIT_CHECK(strstr(r.events.data, "line 1") != NULL);
	UNIT_STREQ(r.out.data, in);
	run_free(&r);
}

static void test_output_failure(void)
{
	struct run r = { .fail_after = 1 };

	config(NULL, NULL, NULL, NULL);
	run_one(&r, "Subject: a\nTo: b\n\nbody\n", 1);
	UNIT_CHECK(r.ret == -1);
	run_free(&r);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_content_check.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	test_pass_through();
	test_folding();
	test_header_edits();
	test_verdicts();
	test_bad_actions();
	test_header_limit();
	test_line_limit();
	test_body_size_limit();
	test_mime_classes();
	test_depth();
	test_map_warning();
	test_output_failure();
	config(NULL, NULL, NULL, NULL);
	unit_rmtree(dir);
	return unit_done();
}
