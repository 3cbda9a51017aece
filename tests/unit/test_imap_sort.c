/* Unit tests of the RFC 5256 pieces: lib/imap_casemap (the fold, the
 * substring search on both of its paths, the order), lib/imap_sort (base
 * subjects with the RFC's rules one by one, address keys, criteria with
 * their limit (limit, limit+1), ordering) and lib/imap_thread
 * (REFERENCES: chains, dummies, pruning, subject merging, duplicate IDs,
 * loops, In-Reply-To, a 100,000-deep chain; ORDEREDSUBJECT). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_casemap.h"
#include "imap_parser.h"
#include "imap_sort.h"
#include "imap_thread.h"
#include "unit.h"

/* ---- casemap ---- */

/* The fold of s; the last two results stay valid (for comparisons). */
static const char *fold(const char *s)
{
	static struct buf out[2];
	static int next;
	struct buf *b = &out[next];

	next = !next;
	buf_deinit(b);
	buf_init(b, strlen(s) * IMAP_CASEMAP_GROWTH + 1);
	if (imap_casemap_fold(s, strlen(s), b) < 0)
		return "-1";
	return b->data;
}

static int find(const char *needle, const char *text)
{
	struct imap_casemap_needle n;
	struct buf scratch;
	int r;

	imap_casemap_needle_init(&n, needle, strlen(needle));
	buf_init(&scratch, strlen(text) * IMAP_CASEMAP_GROWTH + 1);
	r = imap_casemap_find(&n, text, strlen(text), &scratch);
	buf_deinit(&scratch);
	imap_casemap_needle_deinit(&n);
	return r;
}

static void test_casemap(void)
{
	UNIT_STREQ(fold("Hello, World_1"), "HELLO, WORLD_1");
	UNIT_STREQ(fold("stra\xc3\x9f" "e"), "STRA\xc3\x9f" "E");
	UNIT_STREQ(fold("caf\xc3\xa9"), "CAFE\xcc\x81");
	UNIT_STREQ(fold("CAFE\xcc\x81"), "CAFE\xcc\x81");
	UNIT_STREQ(fold("\xc2\xaa\xc2\xa0"), "A ");	/* ª, no-break space */
	UNIT_STREQ(fold("\xc7\x86"), "DZ\xcc\x8c");	/* dž */
	UNIT_STREQ(fold("\xff" "a\xc3"), "\xff" "A\xc3");	/* invalid */
	/* Greek with the final sigma, and Cyrillic */
	UNIT_STREQ(fold("\xcf\x83\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x82"),
		   fold("\xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3"));
	UNIT_STREQ(fold("\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"),
		   "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2");
	/* Vietnamese (Latin Extended Additional) */
	UNIT_STREQ(fold("\xe1\xba\xa1"), "A\xcc\xa3");
	/* outside the table: unchanged */
	UNIT_STREQ(fold("\xef\xac\x81\xe4\xb8\xad"), "\xef\xac\x81\xe4\xb8\xad");

	UNIT_CHECK(find("WORLD", "hello world") == 1);
	UNIT_CHECK(find("world", "hello worl") == 0);
	UNIT_CHECK(find("", "") == 1);
	UNIT_CHECK(find("x", "") == 0);
	UNIT_CHECK(find("a", "BAB") == 1);
	UNIT_CHECK(find("_", "a-b") == 0);
	UNIT_CHECK(find("aab", "aaab") == 1);
	UNIT_CHECK(find("abcabd", "abcabcabd") == 1);
	UNIT_CHECK(find("end", "the END") == 1);
	/* ASCII needle, found only in the fold */
	UNIT_CHECK(find("cafe", "un caf\xc3\xa9 noir") == 1);
	UNIT_CHECK(find("a b", "a\xc2\xa0" "b") == 1);
	UNIT_CHECK(find("cafe", "un caf\xe2\x80\x9c noir") == 0);
	/* ... far into a long text, near one producer of many */
	{
		struct buf long_text;

		buf_init(&long_text, 10000);
		for (int i = 0; i < 300; i++)
			unit_put(&long_text, "%s", i % 50 == 0 ? "\xc3\xbc " :
								"xyz ");
		unit_put(&long_text, "%s", "caf\xc3\xa9");
		for (int i = 0; i < 300; i++)
			unit_put(&long_text, "%s", "yy ");
		UNIT_CHECK(find("cafe", long_text.data) == 1);
		UNIT_CHECK(find("z cafe", long_text.data) == 1);
		UNIT_CHECK(find("cafey", long_text.data) == 0);
		UNIT_CHECK(find("xyz u", long_text.data) == 1);
		UNIT_CHECK(find("u xyz", long_text.data) == 0);
		UNIT_CHECK(find("xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz "
				"xyz xyz xyz xyz xyz xyz xyz xyz xyz cafe",
				long_text.data) == 1);
		UNIT_CHECK(find("xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz "
				"xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz "
				"xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz xyz "
				"xyz xyz xyz xyz xyz xyz xyz xyz xyz caf",
				long_text.data) == 1);
		buf_deinit(&long_text);
	}
	UNIT_CHECK(find("e a", "\xc3\xa9 a") == 0);	/* the mark between */
	UNIT_CHECK(find("cafex", "caf\xc3\xa9x") == 0);
	UNIT_CHECK(find("1", "\xc2\xbc") == 1);	/* "1", U+2044, "4" */
	UNIT_CHECK(find("4x", "\xc2\xbcx") == 1);
	UNIT_CHECK(find("x1", "x\xc2\xbc") == 1);
	UNIT_CHECK(find("14", "\xc2\xbc") == 0);
	UNIT_CHECK(find("xdz", "x\xc7\x86") == 1);	/* "DZ" then a mark */
	UNIT_CHECK(find("dzx", "\xc7\x86x") == 0);
	UNIT_CHECK(find("a z", "\xc2\xaa\xc2\xa0z") == 1);
	UNIT_CHECK(find("dz", "\xc7\x86") == 1);
	/* non-ASCII needles */
	UNIT_CHECK(find("caf\xc3\xa9", "CAFE\xcc\x81") == 1);
	UNIT_CHECK(find("CAF\xc3\x89", "un caf\xc3\xa9") == 1);
	UNIT_CHECK(find("\xc3\xa9", "e") == 0);
	UNIT_CHECK(find("\xcf\x82", "\xce\xa3") == 1);
	UNIT_CHECK(find("\xd0\x9f\xd0\xa0\xd0\x98", "\xd0\xbf\xd1\x80\xd0\xb8"
			"\xd0\xb2\xd0\xb5\xd1\x82") == 1);
	/* the scratch bound */
	{
		struct imap_casemap_needle n;
		struct buf small;

		imap_casemap_needle_init(&n, "\xc3\xa9", 2);
		buf_init(&small, 2);
		UNIT_CHECK(imap_casemap_find(&n, "xx\xc3\xa9", 4, &small) == -1);
		buf_deinit(&small);
		imap_casemap_needle_deinit(&n);
	}
	/* order: i;ascii-casemap puts letters before "_" */
	UNIT_CHECK(imap_casemap_cmp("A", 1, "_", 1) < 0);
	UNIT_CHECK(imap_casemap_cmp("AB", 2, "A", 1) > 0);
	UNIT_CHECK(imap_casemap_cmp("", 0, "", 0) == 0);
	fold("");
	fold("");
}

/* ---- base subject ---- */

static const struct {
	const char *in, *out;
	bool reply;
} subjects[] = {
	{ "hello", "hello", false },
	{ "Re: hello", "hello", true },
	{ "RE:hello", "hello", true },
	{ "re: re: RE: x", "x", true },
	{ "Fw: x", "x", true },
	{ "FWD:x", "x", true },
	{ "Fwd : x", "x", true },
	{ "Re[2]: foo", "foo", true },
	{ "Re [2] : foo", "foo", true },
	{ "Ref: x", "Ref: x", false },
	{ "Reply", "Reply", false },
	{ "[PATCH] foo", "foo", false },
	{ "[PATCH]", "[PATCH]", false },
	{ "[a][b] c", "c", false },
	{ "[a] [b]", "[b]", false },
	{ "[list] Re: hello", "hello", true },
	{ "RE:  Fwd: [list] Re: hello (fwd)", "hello", true },
	{ "hello (fwd) (FWD)  ", "hello", true },
	{ "(fwd)", "", true },
	{ "[fwd: hello]", "hello", true },
	{ "[Fwd: Re: [x] test]", "test", true },
	{ "[fwd: hello] x", "x", false },	/* a blob */
	{ "Re:", "", true },
	{ "  multiple   spaces\tand\r\n folding  ", "multiple spaces and folding",
	  false },
	{ "=?utf-8?q?Re=3A_caf=C3=A9?=", "caf\xc3\xa9", true },
	{ "=?iso-8859-1?q?Gr=FC=DFe?= =?iso-8859-1?q?_aus?=",
	  "Gr\xc3\xbc\xc3\x9f" "e aus", false },
	{ "[\xc3\xa9t\xc3\xa9] x", "x", false },
	{ "", "", false },
};

static void test_base_subject(void)
{
	struct buf out;

	buf_init(&out, 1000);
	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		bool reply = !subjects[i].reply;

		buf_reset(&out);
		UNIT_CHECK(imap_sort_base_subject(subjects[i].in,
						  strlen(subjects[i].in), &out,
						  &reply) == 0);
		UNIT_STREQ(out.data, subjects[i].out);
		if (reply != subjects[i].reply)
			fprintf(stderr, "reply flag of \"%s\"\n",
				subjects[i].in);
		UNIT_CHECK(reply == subjects[i].reply);
	}
	buf_reset(&out);
	UNIT_CHECK(imap_sort_base_subject(NULL, 0, &out, NULL) == 0 &&
		   out.len == 0);
	buf_deinit(&out);
	buf_init(&out, 3);
	UNIT_CHECK(imap_sort_base_subject("Re: four", 8, &out, NULL) == -1);
	buf_deinit(&out);
	buf_init(&out, 4);
	UNIT_CHECK(imap_sort_base_subject("Re: four", 8, &out, NULL) == 0);
	UNIT_STREQ(out.data, "four");
	buf_deinit(&out);
}

/* ---- address keys ---- */

static const struct {
	const char *in, *mailbox, *display;
} addresses[] = {
	{ "Joe Doe <Joe@Example.com>", "Joe", "Joe Doe" },
	{ "\"Doe, Joe\" <jd@x.org>, b@y.org", "jd", "Doe, Joe" },
	{ "jd@x.org (Joe)", "jd", "jd@x.org" },
	{ "\"\" <jd@x.org>", "jd", "jd@x.org" },
	{ "undisclosed-recipients:;", "", "" },
	{ "team: a@b.org, c@d.org;", "a", "a@b.org" },
	{ "=?utf-8?q?J=C3=B6rg?= <j@x.org>", "j", "J\xc3\xb6rg" },
	{ "foo", "foo", "foo" },
	{ "\r\n x@y.org", "x", "x@y.org" },
	{ "", "", "" },
};

static void test_address(void)
{
	struct buf out;

	buf_init(&out, 1000);
	for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		const char *in = addresses[i].in;

		buf_reset(&out);
		UNIT_CHECK(imap_sort_address_key(in, strlen(in),
						 IMAP_SORT_ADDR_MAILBOX,
						 &out) == 0);
		UNIT_STREQ(out.data, addresses[i].mailbox);
		buf_reset(&out);
		UNIT_CHECK(imap_sort_address_key(in, strlen(in),
						 IMAP_SORT_ADDR_DISPLAY,
						 &out) == 0);
		UNIT_STREQ(out.data, addresses[i].display);
	}
	buf_reset(&out);
	UNIT_CHECK(imap_sort_address_key(NULL, 0, IMAP_SORT_ADDR_DISPLAY,
					 &out) == 0 && out.len == 0);
	buf_deinit(&out);
	buf_init(&out, 2);
	UNIT_CHECK(imap_sort_address_key("abc@d", 5, IMAP_SORT_ADDR_MAILBOX,
					 &out) == -1);
	buf_deinit(&out);
}

/* ---- criteria ---- */

static const struct imap_parser_limits plimits = {
	.line_max = 10000, .literal_max = 1000, .command_max = 10000,
	.depth_max = 10, .args_max = 1000 };

/* Parses "t SORT <list>" and the criteria; "ERR" or "R1 3 5" (key
 * numbers, R for reverse). */
static void criteria(const char *list, bool display, struct buf *out)
{
	struct imap_parser *p = imap_parser_new(&plimits);
	struct imap_sort_criterion crit[IMAP_SORT_CRITERIA_MAX];
	const struct imap_command *cmd = NULL;
	const char *error = NULL;
	struct buf line;
	size_t used;
	int n;

	buf_init(&line, 10000);
	unit_put(&line, "t SORT %s\r\n", list);
	buf_reset(out);
	if (imap_parser_feed(p, line.data, line.len, &used, &cmd, &error) !=
	    IMAP_PARSER_COMMAND)
		abort();
	n = imap_sort_criteria_parse(cmd->args, display, crit, &error);
	if (n < 0)
		unit_put(out, "ERR");
	for (int i = 0; i < n; i++)
		unit_put(out, "%s%s%d", i > 0 ? " " : "",
			 crit[i].reverse ? "R" : "", (int)crit[i].key);
	buf_deinit(&line);
	imap_parser_free(&p);
}

static void test_criteria(void)
{
	struct buf out, list;

	buf_init(&out, 1000);
	buf_init(&list, 1000);
	criteria("(ARRIVAL cc Date FROM SIZE SUBJECT TO)", false, &out);
	UNIT_STREQ(out.data, "0 1 2 3 4 5 6");
	criteria("(REVERSE DATE SUBJECT REVERSE SIZE)", false, &out);
	UNIT_STREQ(out.data, "R2 5 R4");
	criteria("(DISPLAYFROM REVERSE DISPLAYTO)", true, &out);
	UNIT_STREQ(out.data, "7 R8");
	criteria("(DISPLAYFROM)", false, &out);
	UNIT_STREQ(out.data, "ERR");
	criteria("()", false, &out);
	UNIT_STREQ(out.data, "ERR");
	criteria("(REVERSE)", false, &out);
	UNIT_STREQ(out.data, "ERR");
	criteria("(REVERSE REVERSE DATE)", false, &out);
	UNIT_STREQ(out.data, "ERR");
	criteria("(DATE FOO)", false, &out);
	UNIT_STREQ(out.data, "ERR");
	criteria("(DATE (SIZE))", false, &out);
	UNIT_STREQ(out.data, "ERR");
	criteria("DATE", false, &out);
	UNIT_STREQ(out.data, "ERR");
	/* the limit, and one more */
	unit_put(&list, "(");
	for (int i = 0; i < IMAP_SORT_CRITERIA_MAX; i++)
		unit_put(&list, "%sREVERSE SIZE", i > 0 ? " " : "");
	unit_put(&list, ")");
	criteria(list.data, false, &out);
	UNIT_CHECK(out.len > 3 && strncmp(out.data, "R4 R4", 5) == 0);
	buf_truncate(&list, list.len - 1);
	unit_put(&list, " SIZE)");
	criteria(list.data, false, &out);
	UNIT_STREQ(out.data, "ERR");
	buf_deinit(&list);
	buf_deinit(&out);
}

static void test_sort_items(void)
{
	/* criteria: SUBJECT, REVERSE DATE */
	const struct imap_sort_criterion crit[2] = {
		{ IMAP_SORT_SUBJECT, false }, { IMAP_SORT_DATE, true } };
	struct imap_sort_value v[5][2] = {
		{ { "B", 1, 0 }, { NULL, 0, 10 } },
		{ { "A", 1, 0 }, { NULL, 0, 10 } },
		{ { "A", 1, 0 }, { NULL, 0, 20 } },
		{ { "", 0, 0 }, { NULL, 0, 5 } },
		{ { "A", 1, 0 }, { NULL, 0, 10 } },
	};
	struct imap_sort_item items[5];
	struct buf out;

	for (uint32_t i = 0; i < 5; i++) {
		items[i].seq = i + 1;
		items[i].id = 100 + i;
		items[i].values = v[i];
	}
	imap_sort_items(items, 5, crit, 2);
	buf_init(&out, 100);
	for (size_t i = 0; i < 5; i++)
		unit_put(&out, "%u ", items[i].id);
	UNIT_STREQ(out.data, "103 102 101 104 100 ");
	buf_deinit(&out);
	UNIT_CHECK(imap_sort_key_is_string(IMAP_SORT_CC));
	UNIT_CHECK(!imap_sort_key_is_string(IMAP_SORT_SIZE));
}

/* ---- threads ---- */

struct tmsg {
	const char *id, *refs, *irt, *subject;
	int64_t date;
};

static void thread(enum imap_thread_alg alg, const struct tmsg *t, size_t n,
		   struct buf *out)
{
	struct imap_thread_msg *m = calloc(n, sizeof(*m));
	struct buf *subj = calloc(n, sizeof(*subj));

	for (size_t i = 0; i < n; i++) {
		struct buf base;
		const char *s = t[i].subject ? t[i].subject : "";

		buf_init(&base, 1000);
		buf_init(&subj[i], 4000);
		if (imap_sort_base_subject(s, strlen(s), &base, &m[i].reply) < 0 ||
		    imap_casemap_fold(base.data, base.len, &subj[i]) < 0)
			abort();
		buf_deinit(&base);
		m[i].id = (uint32_t)i + 1;
		m[i].message_id = t[i].id;
		m[i].message_id_len = t[i].id ? strlen(t[i].id) : 0;
		m[i].references = t[i].refs;
		m[i].references_len = t[i].refs ? strlen(t[i].refs) : 0;
		m[i].in_reply_to = t[i].irt;
		m[i].in_reply_to_len = t[i].irt ? strlen(t[i].irt) : 0;
		m[i].subject = subj[i].data;
		m[i].subject_len = subj[i].len;
		m[i].date = t[i].date;
	}
	buf_reset(out);
	if (imap_thread_write(alg, m, n, out) < 0)
		unit_put(out, "FULL");
	for (size_t i = 0; i < n; i++)
		buf_deinit(&subj[i]);
	free(subj);
	free(m);
}

#define REFS(out, ...) do { \
		static const struct tmsg t_[] = { __VA_ARGS__ }; \
		thread(IMAP_THREAD_REFERENCES, t_, sizeof(t_) / sizeof(t_[0]), \
		       out); \
	} while (0)

static void test_references(void)
{
	struct buf out;

	buf_init(&out, 10000);
	/* a tree, children by date */
	REFS(&out, { "<1@x>", NULL, NULL, "a", 100 },
	     { "<2@x>", "<1@x>", NULL, "Re: a", 200 },
	     { "<3@x>", "<1@x> <2@x>", NULL, "Re: a", 300 },
	     { "<4@x>", "<1@x>", NULL, "Re: a", 250 });
	UNIT_STREQ(out.data, "(1 (2 3)(4))");
	/* a missing parent: a dummy with two children stays */
	REFS(&out, { "<b@x>", "<a@x>", NULL, "x", 100 },
	     { "<c@x>", "<a@x>", NULL, "y", 50 });
	UNIT_STREQ(out.data, "((2)(1))");
	/* ... with one child it is pruned */
	REFS(&out, { "<b@x>", "<a@x>", NULL, "x", 100 });
	UNIT_STREQ(out.data, "(1)");
	/* dummies below the root are always pruned */
	REFS(&out, { "<1@x>", NULL, NULL, "p", 10 },
	     { "<3@x>", "<1@x> <2@x>", NULL, "q", 30 },
	     { "<4@x>", "<1@x> <2@x>", NULL, "r", 20 });
	UNIT_STREQ(out.data, "(1 (3)(2))");
	/* same subject, no references: both under a dummy */
	REFS(&out, { "<1@x>", NULL, NULL, "hello", 10 },
	     { "<2@x>", NULL, NULL, "hello", 20 });
	UNIT_STREQ(out.data, "((1)(2))");
	/* a reply by subject goes below the original */
	REFS(&out, { "<1@x>", NULL, NULL, "hello", 10 },
	     { "<2@x>", NULL, NULL, "Re: hello", 20 });
	UNIT_STREQ(out.data, "(1 2)");
	REFS(&out, { "<1@x>", NULL, NULL, "Re: hello", 10 },
	     { "<2@x>", NULL, NULL, "hello", 20 });
	UNIT_STREQ(out.data, "(2 1)");
	/* a dummy root takes a real one with its subject */
	REFS(&out, { "<b@x>", "<a@x>", NULL, "s", 30 },
	     { "<c@x>", "<a@x>", NULL, "s", 10 },
	     { "<d@x>", NULL, NULL, "s", 20 });
	UNIT_STREQ(out.data, "((2)(3)(1))");
	/* empty subjects are never merged */
	REFS(&out, { "<1@x>", NULL, NULL, "", 10 },
	     { "<2@x>", NULL, NULL, "Re:", 20 });
	UNIT_STREQ(out.data, "(1)(2)");
	/* a duplicate Message-ID counts as none */
	REFS(&out, { "<a@x>", NULL, NULL, "1", 10 },
	     { "<a@x>", NULL, NULL, "2", 20 },
	     { "<c@x>", "<a@x>", NULL, "3", 30 });
	UNIT_STREQ(out.data, "(1 3)(2)");
	/* a loop is not closed */
	REFS(&out, { "<a@x>", "<b@x>", NULL, "1", 10 },
	     { "<b@x>", "<a@x>", NULL, "2", 20 });
	UNIT_STREQ(out.data, "(2 1)");
	/* one's own ID in its references is ignored */
	REFS(&out, { "<a@x>", "<a@x>", NULL, "1", 10 });
	UNIT_STREQ(out.data, "(1)");
	/* In-Reply-To when there are no (valid) References */
	REFS(&out, { "<a@x>", NULL, NULL, "1", 10 },
	     { "<b@x>", "<junk> bad", "(c) <a@x> <z@x>", "2", 20 });
	UNIT_STREQ(out.data, "(1 2)");
	/* a later message fixes a truncated References */
	REFS(&out, { "<1@x>", NULL, NULL, "a", 10 },
	     { "<3@x>", "<2@x>", NULL, "b", 30 },
	     { "<2@x>", "<1@x>", NULL, "c", 20 },
	     { "<4@x>", "<1@x>", NULL, "d", 40 });
	UNIT_STREQ(out.data, "(1 (3 2)(4))");
	/* a message that had a parent through references and has none
	 * itself becomes a root */
	REFS(&out, { "<2@x>", "<1@x> <3@x>", NULL, "a", 10 },
	     { "<3@x>", NULL, NULL, "b", 20 });
	UNIT_STREQ(out.data, "(2 1)");
	/* equal dates: sequence order */
	REFS(&out, { "<1@x>", NULL, NULL, "a", 10 },
	     { "<2@x>", "<1@x>", NULL, "b", 5 },
	     { "<3@x>", "<1@x>", NULL, "c", 5 },
	     { "<4@x>", NULL, NULL, "d", 10 });
	UNIT_STREQ(out.data, "(1 (2)(3))(4)");
	/* comments and invalid IDs in References */
	REFS(&out, { "<a@x>", NULL, NULL, "a", 10 },
	     { "<b@x>", "(<z@x>) <no-at> < sp@x> <a@x>", NULL, "b", 20 });
	UNIT_STREQ(out.data, "(1 2)");
	buf_deinit(&out);
}

static void test_deep(void)
{
	size_t n = 100000;
	struct imap_thread_msg *m = calloc(n, sizeof(*m));
	char (*ids)[32] = calloc(n, sizeof(*ids));
	struct buf out, want;

	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "<%zu@x>", i);
		m[i].id = (uint32_t)i + 1;
		m[i].message_id = ids[i];
		m[i].message_id_len = strlen(ids[i]);
		/* each answers its predecessor: one chain */
		if (i > 0) {
			m[i].in_reply_to = ids[i - 1];
			m[i].in_reply_to_len = strlen(ids[i - 1]);
		}
		m[i].date = (int64_t)i;
		m[i].subject = "";
	}
	buf_init(&out, 10 << 20);
	buf_init(&want, 10 << 20);
	UNIT_CHECK(imap_thread_write(IMAP_THREAD_REFERENCES, m, n, &out) == 0);
	unit_put(&want, "(");
	for (size_t i = 0; i < n; i++)
		unit_put(&want, "%s%zu", i > 0 ? " " : "", i + 1);
	unit_put(&want, ")");
	UNIT_CHECK(out.len == want.len && strcmp(out.data, want.data) == 0);
	/* a bushy tree: every message answers message 1 */
	for (size_t i = 1; i < n; i++) {
		m[i].in_reply_to = ids[0];
		m[i].in_reply_to_len = strlen(ids[0]);
	}
	buf_reset(&out);
	UNIT_CHECK(imap_thread_write(IMAP_THREAD_REFERENCES, m, n, &out) == 0);
	UNIT_CHECK(strncmp(out.data, "(1 (2)(3)(4)", 12) == 0);
	UNIT_CHECK(strcmp(out.data + out.len - 9, "(100000))") == 0);
	/* the bound on out */
	buf_deinit(&out);
	buf_init(&out, 100);
	UNIT_CHECK(imap_thread_write(IMAP_THREAD_REFERENCES, m, n, &out) == -1);
	buf_deinit(&out);
	buf_deinit(&want);
	free(ids);
	free(m);
}

static void test_orderedsubject(void)
{
	static const struct tmsg t[] = {
		{ NULL, NULL, NULL, "b", 30 },
		{ NULL, NULL, NULL, "a", 20 },
		{ NULL, NULL, NULL, "Re: a", 10 },
		{ NULL, NULL, NULL, "B", 5 },
		{ NULL, NULL, NULL, "c", 40 },
		{ NULL, NULL, NULL, "[x] a", 25 },
		{ NULL, NULL, NULL, NULL, 50 },
		{ NULL, NULL, NULL, "", 1 },
	};
	struct buf out;
	enum imap_thread_alg alg;

	buf_init(&out, 1000);
	thread(IMAP_THREAD_ORDEREDSUBJECT, t, sizeof(t) / sizeof(t[0]), &out);
	UNIT_STREQ(out.data, "(8 7)(4 1)(3 (2)(6))(5)");
	thread(IMAP_THREAD_ORDEREDSUBJECT, t, 0, &out);
	UNIT_STREQ(out.data, "");
	buf_deinit(&out);
	UNIT_CHECK(imap_thread_alg_parse("references", &alg) == 1 &&
		   alg == IMAP_THREAD_REFERENCES);
	UNIT_CHECK(imap_thread_alg_parse("OrderedSubject", &alg) == 1 &&
		   alg == IMAP_THREAD_ORDEREDSUBJECT);
	UNIT_CHECK(imap_thread_alg_parse("REFS", &alg) == 0);
}

int main(void)
{
	test_casemap();
	test_base_subject();
	test_address();
	test_criteria();
	test_sort_items();
	test_references();
	test_deep();
	test_orderedsubject();
	return unit_done();
}
