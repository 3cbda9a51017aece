/* Unit tests of lib/imap_search: every key, RETURN and CHARSET, each
 * error, the depth and key-count limits (limit-1, limit, limit+1), a
 * 10,000-deep NOT and OR chain, and literals. Input goes through
 * imap_parser as a client would send it. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_parser.h"
#include "imap_search.h"
#include "unit.h"

static const struct imap_parser_limits plimits = {
	.line_max = 200000, .literal_max = 1000, .command_max = 300000,
	.depth_max = 100, .args_max = 30000 };
static const struct imap_search_limits slimits = {
	.depth_max = 8, .keys_max = 40, .ranges_max = 4 };

static void dump_set(const struct imap_seqset *set, struct buf *out)
{
	if (set->saved)
		unit_put(out, "$");
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;

		unit_put(out, "%s", i > 0 ? "," : "");
		if (lo == IMAP_SEQ_STAR)
			unit_put(out, "*");
		else
			unit_put(out, "%u", lo);
		if (hi == IMAP_SEQ_STAR)
			unit_put(out, "-*");
		else
			unit_put(out, "-%u", hi);
	}
}

/* "(NAME args...)" or "NAME" for keys without arguments. */
static void dump(const struct imap_search_key *k, struct buf *out)
{
	const char *name = imap_search_key_name(k->type);

	if (k->child == NULL && k->str == NULL && k->field == NULL &&
	    k->date.year == 0 && k->num == 0 && k->set.count == 0 &&
	    !k->set.saved && k->type != IMAP_SEARCH_MODSEQ) {
		unit_put(out, "%s", name);
		return;
	}
	unit_put(out, "(%s", name);
	if (k->field != NULL)
		unit_put(out, " '%s'", k->field);
	if (k->modseq_type != IMAP_SEARCH_MODSEQ_NONE)
		unit_put(out, " t%d", (int)k->modseq_type);
	if (k->str != NULL)
		unit_put(out, " '%s'", k->str);
	if (k->date.year != 0)
		unit_put(out, " %04u-%02u-%02u", k->date.year, k->date.month,
		    k->date.day);
	if (k->num != 0 || k->type == IMAP_SEARCH_MODSEQ)
		unit_put(out, " %llu", (unsigned long long)k->num);
	if (k->set.count > 0 || k->set.saved) {
		unit_put(out, " ");
		dump_set(&k->set, out);
	}
	for (const struct imap_search_key *c = k->child; c; c = c->next) {
		unit_put(out, " ");
		dump(c, out);
	}
	unit_put(out, ")");
}

/* Parses "t SEARCH <args>\r\n"; returns the dump, "BAD: text", "NO: text",
 * "DEEP: ..." or "MANY: ..." in out. */
static void run_limits(const char *args, const struct imap_search_limits *l,
		       struct buf *out)
{
	struct imap_parser *p = imap_parser_new(&plimits);
	struct buf line;
	const struct imap_command *cmd = NULL;
	const char *error = NULL;
	size_t used;
	struct imap_search_program *prog;
	enum imap_search_error code;
	static const char *const codes[] = { "OK", "BAD", "NO", "DEEP",
					     "MANY" };

	buf_init(&line, 1 << 20);
	unit_put(&line, "t SEARCH %s\r\n", args);
	buf_reset(out);
	if (imap_parser_feed(p, line.data, line.len, &used, &cmd, &error) !=
	    IMAP_PARSER_COMMAND) {
		unit_put(out, "PARSER: %s", error ? error : "?");
	} else if (imap_search_parse(cmd->args, l, &prog, &code, &error) < 0) {
		if (prog != NULL || error == NULL || code <= 0 ||
		    code >= IMAP_SEARCH_ERR_COUNT)
			abort();
		unit_put(out, "%s: %s", codes[code], error);
	} else {
		if (prog->has_return)
			unit_put(out, "R%x ", prog->return_opts);
		if (prog->has_charset)
			unit_put(out, "C ");
		dump(prog->root, out);
		imap_search_program_free(&prog);
		UNIT_CHECK(prog == NULL);
	}
	buf_deinit(&line);
	imap_parser_free(&p);
}

static void run(const char *args, struct buf *out)
{
	run_limits(args, &slimits, out);
}

static const struct {
	const char *in, *out;
} cases[] = {
	{ "ALL", "(AND ALL)" },
	{ "all answered DELETED Draft FLAGGED NEW OLD RECENT SEEN",
	  "(AND ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN)" },
	{ "UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN SAVEDATESUPPORTED",
	  "(AND UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN "
	  "SAVEDATESUPPORTED)" },
	{ "BCC a CC \"b c\" FROM x SUBJECT \"\" TEXT t TO NIL BODY 12",
	  "(AND (BCC 'a') (CC 'b c') (FROM 'x') (SUBJECT '') (TEXT 't') "
	  "(TO 'NIL') (BODY '12'))" },
	{ "HEADER Message-ID \"<a@b>\"",
	  "(AND (HEADER 'Message-ID' '<a@b>'))" },
	{ "HEADER \"X-Y\" \"\"", "(AND (HEADER 'X-Y' ''))" },
	{ "KEYWORD $Forwarded UNKEYWORD Junk",
	  "(AND (KEYWORD '$Forwarded') (UNKEYWORD 'Junk'))" },
	{ "BEFORE 1-Feb-2024 ON \"29-feb-2024\" SINCE 31-DEC-1999",
	  "(AND (BEFORE 2024-02-01) (ON 2024-02-29) (SINCE 1999-12-31))" },
	{ "SENTBEFORE 01-Jan-2000 SENTON 29-Feb-2000 SENTSINCE 30-Apr-2021",
	  "(AND (SENTBEFORE 2000-01-01) (SENTON 2000-02-29) "
	  "(SENTSINCE 2021-04-30))" },
	{ "SAVEDBEFORE 1-Jan-2020 SAVEDON 2-Jan-2020 SAVEDSINCE 3-Jan-2020",
	  "(AND (SAVEDBEFORE 2020-01-01) (SAVEDON 2020-01-02) "
	  "(SAVEDSINCE 2020-01-03))" },
	{ "LARGER 1000 SMALLER 4294967295 LARGER 0",
	  "(AND (LARGER 1000) (SMALLER 4294967295) LARGER)" },
	{ "OLDER 3600 YOUNGER 1", "(AND (OLDER 3600) (YOUNGER 1))" },
	{ "MODSEQ 0", "(AND (MODSEQ 0))" },
	{ "MODSEQ 9223372036854775807",
	  "(AND (MODSEQ 9223372036854775807))" },
	{ "MODSEQ \"/flags/\\\\draft\" all 620162338",
	  "(AND (MODSEQ '/flags/\\draft' t3 620162338))" },
	{ "MODSEQ \"/flags/$x\" PRIV 1 MODSEQ \"/flags/y\" shared 2",
	  "(AND (MODSEQ '/flags/$x' t1 1) (MODSEQ '/flags/y' t2 2))" },
	{ "UID 1:* 5 $ UID $ 2,4:*,7",
	  "(AND (UID 1-*) (SEQSET 5-5) (SEQSET $) (UID $) "
	  "(SEQSET 2-2,4-*,7-7))" },
	{ "NOT SEEN", "(AND (NOT SEEN))" },
	{ "OR SEEN FLAGGED", "(AND (OR SEEN FLAGGED))" },
	{ "OR (SEEN FROM a) NOT 1:3",
	  "(AND (OR (AND SEEN (FROM 'a')) (NOT (SEQSET 1-3))))" },
	{ "(ALL)", "(AND (AND ALL))" },
	{ "RETURN (MIN MAX) ALL", "R3 (AND ALL)" },
	{ "RETURN (all count save) ALL", "R1c (AND ALL)" },
	{ "RETURN () UNSEEN", "R4 (AND UNSEEN)" },
	{ "CHARSET UTF-8 SUBJECT \"\xc3\xa9t\xc3\xa9\"",
	  "C (AND (SUBJECT '\xc3\xa9t\xc3\xa9'))" },
	{ "CHARSET \"us-ascii\" ALL", "C (AND ALL)" },
	{ "RETURN (COUNT) CHARSET utf-8 ALL", "R8 C (AND ALL)" },
	{ "SUBJECT {3+}\r\na\"b", "(AND (SUBJECT 'a\"b'))" },
	/* errors */
	{ "", "PARSER: Syntax error" },
	{ "CHARSET ISO-8859-1 ALL", "NO: Unsupported charset" },
	{ "CHARSET {5+}\r\nUTF-8 ALL", "C (AND ALL)" },
	{ "CHARSET", "BAD: Missing charset" },
	{ "CHARSET UTF-8", "BAD: Missing search key" },
	{ "RETURN", "BAD: Missing RETURN options" },
	{ "RETURN MIN ALL", "BAD: Missing RETURN options" },
	{ "RETURN (MIN PARTIAL) ALL", "BAD: Unknown RETURN option" },
	{ "RETURN ((MIN)) ALL", "BAD: Unknown RETURN option" },
	{ "RETURN (MIN)", "BAD: Missing search key" },
	{ "CHARSET UTF-8 RETURN (MIN) ALL", "BAD: Unknown search key" },
	{ "FOO", "BAD: Unknown search key" },
	{ "\"ALL\"", "BAD: Unknown search key" },
	{ "FUZZY SUBJECT a", "BAD: Unknown search key" },
	{ "()", "BAD: Missing search key" },
	{ "NOT", "BAD: Missing search key" },
	{ "OR SEEN", "BAD: Missing search key" },
	{ "OR", "BAD: Missing search key" },
	{ "(NOT)", "BAD: Missing search key" },
	{ "FROM", "BAD: Missing search string" },
	{ "FROM (a)", "BAD: Missing search string" },
	{ "FROM ~{1+}\r\na", "BAD: Missing search string" },
	{ "HEADER", "BAD: Invalid header field name" },
	{ "HEADER Subject", "BAD: Missing search string" },
	{ "HEADER \"\" x", "BAD: Invalid header field name" },
	{ "HEADER \"a:b\" x", "BAD: Invalid header field name" },
	{ "HEADER \"a b\" x", "BAD: Invalid header field name" },
	{ "KEYWORD", "BAD: Invalid keyword" },
	{ "KEYWORD \\Seen", "BAD: Invalid keyword" },
	{ "KEYWORD \"a\"", "BAD: Invalid keyword" },
	{ "KEYWORD a*", "BAD: Invalid keyword" },
	{ "BEFORE", "BAD: Invalid date" },
	{ "BEFORE 0-Jan-2020", "BAD: Invalid date" },
	{ "BEFORE 32-Jan-2020", "BAD: Invalid date" },
	{ "BEFORE 29-Feb-2023", "BAD: Invalid date" },
	{ "BEFORE 29-Feb-1900", "BAD: Invalid date" },
	{ "BEFORE 31-Apr-2020", "BAD: Invalid date" },
	{ "BEFORE 1-Foo-2020", "BAD: Invalid date" },
	{ "BEFORE 1-Jan-20", "BAD: Invalid date" },
	{ "BEFORE 1-Jan-20200", "BAD: Invalid date" },
	{ "BEFORE 001-Jan-2020", "BAD: Invalid date" },
	{ "BEFORE 1-Jan-2020x", "BAD: Invalid date" },
	{ "BEFORE \" 1-Jan-2020\"", "BAD: Invalid date" },
	{ "BEFORE {10+}\r\n1-Jan-2020", "BAD: Invalid date" },
	{ "SINCE 1/1/2020", "BAD: Invalid date" },
	{ "LARGER", "BAD: Invalid number" },
	{ "LARGER 4294967296", "BAD: Invalid number" },
	{ "LARGER -1", "BAD: Invalid number" },
	{ "LARGER \"5\"", "BAD: Invalid number" },
	{ "SMALLER x", "BAD: Invalid number" },
	{ "OLDER 0", "BAD: Invalid number" },
	{ "YOUNGER", "BAD: Invalid number" },
	{ "MODSEQ", "BAD: Invalid MODSEQ value" },
	{ "MODSEQ 9223372036854775808", "BAD: Invalid MODSEQ value" },
	{ "MODSEQ x", "BAD: Invalid MODSEQ value" },
	{ "MODSEQ \"/flags/\\\\seen\"", "BAD: Missing MODSEQ entry type" },
	{ "MODSEQ \"/flags/\\\\seen\" all", "BAD: Invalid MODSEQ value" },
	{ "MODSEQ \"/flags/\\\\seen\" both 1",
	  "BAD: Invalid MODSEQ entry type" },
	{ "MODSEQ \"/other/x\" all 1", "BAD: Invalid MODSEQ entry name" },
	{ "MODSEQ \"/flags/\" all 1", "BAD: Invalid MODSEQ entry name" },
	{ "UID", "BAD: Missing sequence set" },
	{ "UID 0", "BAD: Invalid sequence set" },
	{ "UID (1)", "BAD: Missing sequence set" },
	{ "0", "BAD: Invalid sequence set" },
	{ "1:2:3", "BAD: Invalid sequence set" },
	{ "1,2,3,4", "(AND (SEQSET 1-1,2-2,3-3,4-4))" },
	{ "1,2,3,4,5", "BAD: Too many ranges" },
};

/* The seqset's texts are its own: accept any text for those. */
static bool same(const char *got, const char *want)
{
	if (strncmp(want, "BAD: Invalid sequence set", 25) == 0 ||
	    strncmp(want, "BAD: Too many ranges", 20) == 0)
		return strncmp(got, "BAD: ", 5) == 0;
	if (strncmp(want, "PARSER:", 7) == 0)
		return strncmp(got, "PARSER:", 7) == 0;
	return strcmp(got, want) == 0;
}

static void test_cases(void)
{
	struct buf out;

	buf_init(&out, 1 << 16);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(cases[i].in, &out);
		UNIT_CHECK(same(out.data, cases[i].out));
		if (!same(out.data, cases[i].out))
			fprintf(stderr, "  in: %s\n  got: %s\n  want: %s\n",
				cases[i].in, out.data, cases[i].out);
	}
	buf_deinit(&out);
}

/* n nested keys of the form prefix...ALL...suffix. */
static void nested(struct buf *in, const char *prefix, const char *suffix,
		   unsigned n)
{
	buf_reset(in);
	for (unsigned i = 0; i < n; i++)
		unit_put(in, "%s", prefix);
	unit_put(in, "ALL");
	for (unsigned i = 0; i < n; i++)
		unit_put(in, "%s", suffix);
}

static void test_depth(void)
{
	static const char *const shapes[][2] = {
		{ "NOT ", "" }, { "OR ", " SEEN" }, { "(", ")" },
		{ "OR SEEN ", "" } };
	struct imap_search_limits l = { .depth_max = 8, .keys_max = 100000,
					.ranges_max = 4 };
	struct buf in, out;

	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 20);
	for (size_t s = 0; s < 4; s++) {
		for (unsigned n = 7; n <= 9; n++) {
			nested(&in, shapes[s][0], shapes[s][1], n);
			run_limits(in.data, &l, &out);
			if (n <= 8)
				UNIT_CHECK(strncmp(out.data, "(AND", 4) == 0);
			else
				UNIT_STREQ(out.data,
					   "DEEP: Search keys nested too deep");
		}
	}
	/* 10,000 deep: refused at the limit, no stack growth */
	l.depth_max = 64;
	nested(&in, "NOT ", "", 10000);
	run_limits(in.data, &l, &out);
	UNIT_STREQ(out.data, "DEEP: Search keys nested too deep");
	nested(&in, "OR ", " SEEN", 10000);
	run_limits(in.data, &l, &out);
	UNIT_STREQ(out.data, "DEEP: Search keys nested too deep");
	buf_deinit(&in);
	buf_deinit(&out);
}

static void test_keys_max(void)
{
	struct imap_search_limits l = { .depth_max = 20, .keys_max = 10,
					.ranges_max = 4 };
	struct buf in, out;

	buf_init(&in, 1 << 16);
	buf_init(&out, 1 << 16);
	/* the root AND counts as a key: 9 + 1 = limit */
	for (unsigned n = 8; n <= 10; n++) {
		buf_reset(&in);
		for (unsigned i = 0; i < n; i++)
			unit_put(&in, "%sSEEN", i > 0 ? " " : "");
		run_limits(in.data, &l, &out);
		if (n + 1 <= 10)
			UNIT_CHECK(strncmp(out.data, "(AND SEEN", 9) == 0);
		else
			UNIT_STREQ(out.data, "MANY: Too many search keys");
	}
	/* NOT counts too */
	run_limits("NOT NOT NOT NOT NOT NOT NOT NOT NOT ALL", &l, &out);
	UNIT_STREQ(out.data, "MANY: Too many search keys");
	run_limits("NOT NOT NOT NOT NOT NOT NOT NOT ALL", &l, &out);
	UNIT_CHECK(strncmp(out.data, "(AND (NOT", 9) == 0);
	buf_deinit(&in);
	buf_deinit(&out);
}

static void test_names(void)
{
	UNIT_STREQ(imap_search_key_name(IMAP_SEARCH_ALL), "ALL");
	UNIT_STREQ(imap_search_key_name(IMAP_SEARCH_OR), "OR");
	UNIT_STREQ(imap_search_key_name(IMAP_SEARCH_KEY_COUNT), "?");
	UNIT_STREQ(imap_search_key_name((enum imap_search_key_type)0), "?");
	for (int t = IMAP_SEARCH_ALL; t < IMAP_SEARCH_KEY_COUNT; t++)
		UNIT_CHECK(strcmp(imap_search_key_name(
				(enum imap_search_key_type)t), "?") != 0);
}

int main(void)
{
	struct imap_search_program *prog = NULL;

	test_cases();
	test_depth();
	test_keys_max();
	test_names();
	imap_search_program_free(&prog);
	UNIT_CHECK(prog == NULL);
	return unit_done();
}
