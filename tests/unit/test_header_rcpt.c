#include "config.h"
#include <string.h>
#include "header_rcpt.h"
#include "unit.h"

/* The recipients found, as "a|b|c|". */
static char got[4096];

static int collect(void *ctx, const char *address, const char **error_r)
{
	(void)ctx;
	if (strlen(got) + strlen(address) + 2 > sizeof(got)) {
		*error_r = "test buffer full";
		return -1;
	}
	strcat(got, address);
	strcat(got, "|");
	return 0;
}

static int list(const char *value)
{
	const char *error;

	got[0] = '\0';
	return header_rcpt_list(value, strlen(value), collect, NULL, &error);
}

static void test_list(void)
{
	UNIT_CHECK(list("alice@example.test") == 0);
	UNIT_STREQ(got, "alice@example.test|");
	UNIT_CHECK(list(" Alice <alice@example.test>, bob@example.test ") == 0);
	UNIT_STREQ(got, "alice@example.test|bob@example.test|");
	/* comments, quoted display names with specials, groups */
	UNIT_CHECK(list("\"Doe, John\" <john@x.test> (boss, really)") == 0);
	UNIT_STREQ(got, "john@x.test|");
	UNIT_CHECK(list("team: a@x.test, b@x.test;, c@x.test") == 0);
	UNIT_STREQ(got, "a@x.test|b@x.test|c@x.test|");
	UNIT_CHECK(list("undisclosed-recipients:;") == 0);
	UNIT_STREQ(got, "");
	/* folded, source route, empty elements, <> */
	UNIT_CHECK(list("a@x.test,\n\t<@relay.test:b@x.test>,, <>") == 0);
	UNIT_STREQ(got, "a@x.test|b@x.test|");
	/* a quoted local part keeps its quotes, commas in it do not split */
	UNIT_CHECK(list("\"a,b\"@x.test") == 0);
	UNIT_STREQ(got, "\"a,b\"@x.test|");
	/* an unqualified name is the caller's to qualify */
	UNIT_CHECK(list("bob") == 0);
	UNIT_STREQ(got, "bob|");
	/* errors */
	UNIT_CHECK(list("<a@x.test") < 0);
	UNIT_CHECK(list("\"unterminated@x.test") < 0);
	UNIT_CHECK(list("<@relay.test b@x.test>") < 0);
	char longaddr[400];
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	UNIT_CHECK(list(longaddr) < 0);
	UNIT_CHECK(list("a\001b@x.test") < 0);
}

static int extract(const char *hdr, struct buf *out)
{
	const char *error;

	got[0] = '\0';
	buf_reset(out);
	return header_rcpt_extract(hdr, strlen(hdr), out, collect, NULL,
				   &error);
}

static void test_extract(void)
{
	struct buf out;

	buf_init(&out, 4096);
	UNIT_CHECK(extract("From: me@x.test\nTo: a@x.test\nCC: b@x.test,\n"
			   " c@x.test\nBcc: d@x.test\nSubject: s\n",
			   &out) == 0);
	UNIT_STREQ(got, "a@x.test|b@x.test|c@x.test|d@x.test|");
	UNIT_STREQ(out.data, "From: me@x.test\nTo: a@x.test\nCC: b@x.test,\n"
			     " c@x.test\nSubject: s\n");
	/* a folded Bcc: goes whole; names match in any case */
	UNIT_CHECK(extract("bcc: d@x.test,\n\te@x.test\nSubject: s\n",
			   &out) == 0);
	UNIT_STREQ(got, "d@x.test|e@x.test|");
	UNIT_STREQ(out.data, "Subject: s\n");
	/* Resent-* present: only they count; both Bcc kinds go */
	UNIT_CHECK(extract("To: a@x.test\nBcc: z@x.test\nResent-To: r@x.test\n"
			   "Resent-Bcc: s@x.test\n", &out) == 0);
	UNIT_STREQ(got, "r@x.test|s@x.test|");
	UNIT_STREQ(out.data, "To: a@x.test\nResent-To: r@x.test\n");
	/* "To :" (obsolete space) and a last line without LF */
	UNIT_CHECK(extract("To : a@x.test", &out) == 0);
	UNIT_STREQ(got, "a@x.test|");
	UNIT_STREQ(out.data, "To : a@x.test");
	/* Tox: is not To: */
	UNIT_CHECK(extract("Tox: a@x.test\n", &out) == 0);
	UNIT_STREQ(got, "");
	/* the output bound */
	struct buf small;
	buf_init(&small, 8);
	UNIT_CHECK(extract("Subject: too long for it\n", &small) < 0);
	buf_deinit(&small);
	buf_deinit(&out);
}

static void test_is_field(void)
{
	UNIT_CHECK(header_rcpt_is_field("Subject: x", 10));
	UNIT_CHECK(header_rcpt_is_field("X-A :", 5));
	UNIT_CHECK(!header_rcpt_is_field(": x", 3));
	UNIT_CHECK(!header_rcpt_is_field(" To: x", 6));
	UNIT_CHECK(!header_rcpt_is_field("no colon here", 13));
	UNIT_CHECK(!header_rcpt_is_field("From someone", 12));
	UNIT_CHECK(!header_rcpt_is_field("", 0));
}

int main(void)
{
	test_list();
	test_extract();
	test_is_field();
	return unit_done();
}
