/* Unit tests of lib/imap_section: every section kind, parts, field lists
 * (atoms and quoted), partials, the field count limit (limit-1, limit,
 * limit+1), the part depth limit, and invalid forms. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "imap_section.h"
#include "unit.h"

#define FIELDS_MAX_TEST 4

static const char *const kinds[] = {
	"ALL", "PART", "HEADER", "FIELDS", "FIELDS.NOT", "TEXT", "MIME" };

/* "KIND parts=1.2 fields=A,B partial=0.100" */
static void dump(const struct imap_section *sec, struct buf *out)
{
	buf_reset(out);
	unit_put(out, "%s", kinds[sec->kind]);
	for (size_t i = 0; i < sec->part_count; i++)
		unit_put(out, "%s%u", i == 0 ? " parts=" : ".", sec->parts[i]);
	for (size_t i = 0; i < sec->field_count; i++)
		unit_put(out, "%s%s", i == 0 ? " fields=" : ",", sec->fields[i]);
	if (sec->has_partial)
		unit_put(out, " partial=%u.%u", sec->partial_offset,
		    sec->partial_length);
}

static const struct {
	const char *in;
	const char *expect;	/* NULL: invalid */
} cases[] = {
	{ "[]", "ALL" },
	{ "[]<0.100>", "ALL partial=0.100" },
	{ "[]<4294967295.4294967295>", "ALL partial=4294967295.4294967295" },
	{ "[HEADER]", "HEADER" },
	{ "[header]", "HEADER" },
	{ "[TEXT]<10.1>", "TEXT partial=10.1" },
	{ "[1]", "PART parts=1" },
	{ "[1.2.3]", "PART parts=1.2.3" },
	{ "[4294967295]", "PART parts=4294967295" },
	{ "[1.MIME]", "MIME parts=1" },
	{ "[2.1.HEADER]", "HEADER parts=2.1" },
	{ "[2.TEXT]", "TEXT parts=2" },
	{ "[HEADER.FIELDS (From)]", "FIELDS fields=From" },
	{ "[HEADER.FIELDS (From Subject)]<0.100>",
	  "FIELDS fields=From,Subject partial=0.100" },
	{ "[1.HEADER.FIELDS.NOT (X-Spam \"Received\")]",
	  "FIELDS.NOT parts=1 fields=X-Spam,Received" },
	{ "[header.fields.not (a b c d)]", "FIELDS.NOT fields=a,b,c,d" },
	{ "[HEADER.FIELDS (\"a\\\"b\")]", "FIELDS fields=a\"b" },
	{ "", NULL },
	{ "[", NULL },
	{ "]", NULL },
	{ "[]]", NULL },
	{ "[[]]", NULL },
	{ "HEADER", NULL },
	{ "[MIME]", NULL },
	{ "[0]", NULL },
	{ "[01]", NULL },
	{ "[1.0]", NULL },
	{ "[1.]", NULL },
	{ "[.1]", NULL },
	{ "[1..2]", NULL },
	{ "[4294967296]", NULL },
	{ "[HEADERS]", NULL },
	{ "[TEXT.MIME]", NULL },
	{ "[1.MIME.TEXT]", NULL },
	{ "[HEADER.FIELDS]", NULL },
	{ "[HEADER.FIELDS ()]", NULL },
	{ "[HEADER.FIELDS (From]", NULL },
	{ "[HEADER.FIELDS  (From)]", NULL },
	{ "[HEADER.FIELDS (From  To)]", NULL },
	{ "[HEADER.FIELDS (From )]", NULL },
	{ "[HEADER.FIELDS (Fr:om)]", NULL },
	{ "[HEADER.FIELDS (\"\")]", NULL },
	{ "[HEADER.FIELDS (\"a b\")]", NULL },
	{ "[HEADER.FIELDS (\"a)]", NULL },
	{ "[HEADER.FIELDS ((a))]", NULL },
	{ "[HEADER.FIELDS.NOTX (a)]", NULL },
	{ "[HEADER.FIELDS (a b c d e)]", NULL },
	{ "[]<>", NULL },
	{ "[]<0>", NULL },
	{ "[]<0.0>", NULL },
	{ "[]<1.>", NULL },
	{ "[]<.1>", NULL },
	{ "[]<01.1>", NULL },
	{ "[]<0.1", NULL },
	{ "[]<0.1>x", NULL },
	{ "[]<4294967296.1>", NULL },
	{ "[]x", NULL },
	{ "[TEXT] ", NULL },
};

static void test_cases(void)
{
	struct buf out;

	buf_init(&out, 4096);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imap_section sec;
		const char *error = NULL;
		int r = imap_section_parse(cases[i].in, strlen(cases[i].in),
					   FIELDS_MAX_TEST, &sec, &error);

		if (cases[i].expect == NULL) {
			UNIT_CHECK(r == -1 && error != NULL &&
				   sec.fields == NULL && sec.field_count == 0);
			if (r == 0)
				fprintf(stderr, "accepted: \"%s\"\n",
					cases[i].in);
			continue;
		}
		UNIT_CHECK(r == 0);
		if (r < 0) {
			fprintf(stderr, "refused: \"%s\": %s\n", cases[i].in,
				error);
			continue;
		}
		dump(&sec, &out);
		UNIT_STREQ(buf_cstr(&out), cases[i].expect);
		imap_section_deinit(&sec);
		UNIT_CHECK(sec.fields == NULL && sec.field_count == 0);
	}
	buf_deinit(&out);
}

static void test_part_depth(void)
{
	char in[256];

	for (size_t n = IMAP_SECTION_PARTS_MAX - 1;
	     n <= IMAP_SECTION_PARTS_MAX + 1; n++) {
		struct imap_section sec;
		const char *error;
		size_t len = 1;

		in[0] = '[';
		for (size_t i = 0; i < n; i++)
			len += (size_t)snprintf(in + len, sizeof(in) - len,
						"%s1", i > 0 ? "." : "");
		in[len++] = ']';
		int r = imap_section_parse(in, len, 4, &sec, &error);
		UNIT_CHECK(r == (n <= IMAP_SECTION_PARTS_MAX ? 0 : -1));
		if (r == 0)
			UNIT_CHECK(sec.part_count == n);
		else
			UNIT_STREQ(error, "Section part too deep");
		imap_section_deinit(&sec);
	}
	/* The length bounds the input: no NUL needed. */
	struct imap_section sec;
	const char *error;
	UNIT_CHECK(imap_section_parse("[TEXT]xyz", 6, 4, &sec, &error) == 0 &&
		   sec.kind == IMAP_SECTION_TEXT);
	imap_section_deinit(&sec);
	UNIT_CHECK(imap_section_parse("[HEADER.FIELDS (A B)]", 21, 1, &sec,
				      &error) == -1);
	UNIT_STREQ(error, "Too many header fields");
}

int main(void)
{
	test_cases();
	test_part_depth();
	return unit_done();
}
