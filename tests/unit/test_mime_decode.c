/* Unit tests of lib/mime_decode: B and Q words in each native charset and
 * one through iconv, white space between adjacent words, malformed words
 * left as they are, and the output bound (limit-1, limit, limit+1). */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "buf.h"
#include "mime_decode.h"
#include "unit.h"

static const struct {
	const char *in, *out;
} cases[] = {
	{ "", "" },
	{ "plain text", "plain text" },
	{ "=?UTF-8?B?w6l0w6k=?=", "\xc3\xa9t\xc3\xa9" },
	{ "=?utf-8?b?w6l0w6k?=", "\xc3\xa9t\xc3\xa9" },	/* no padding */
	{ "=?utf-8?Q?=C3=A9t=c3=a9_x?=", "\xc3\xa9t\xc3\xa9 x" },
	{ "=?us-ascii?q?a_b?=", "a b" },
	{ "=?ISO-8859-1?Q?caf=E9?=", "caf\xc3\xa9" },
	{ "=?iso-8859-1?B?6Q==?=", "\xc3\xa9" },
	{ "=?utf-8*en?Q?hi?=", "hi" },
	{ "=?ISO-8859-15?Q?=A4?=", "\xe2\x82\xac" },	/* via iconv */
	{ "=?koi8-r?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
	  "\xd1\x82" },
	{ "a =?utf-8?Q?b?= c", "a b c" },
	{ "=?utf-8?Q?a?= =?utf-8?Q?b?=", "ab" },
	{ "=?utf-8?Q?a?=\r\n\t=?utf-8?Q?b?=", "ab" },
	{ "=?utf-8?Q?a?=  x =?utf-8?Q?b?=", "a  x b" },
	{ "=?utf-8?Q?a?= =?bad?=", "a =?bad?=" },
	{ "=?utf-8?Q?a?= =?utf-8?Q?=ZZ?=", "a =?utf-8?Q?=ZZ?=" },
	{ "=?utf-8?B?" "?=", "" },
	/* malformed: as is */
	{ "=?", "=?" },
	{ "=?utf-8?", "=?utf-8?" },
	{ "=?utf-8?Q?abc", "=?utf-8?Q?abc" },
	{ "=?utf-8?X?abc?=", "=?utf-8?X?abc?=" },
	{ "=?" "?Q?abc?=", "=?" "?Q?abc?=" },
	{ "=?utf-8?Q?a b?=", "=?utf-8?Q?a b?=" },
	{ "=?utf-8?Q?a=4?=", "=?utf-8?Q?a=4?=" },
	{ "=?utf-8?B?w6l0w6?=", "=?utf-8?B?w6l0w6?=" },
	{ "=?utf-8?B?!!!!?=", "=?utf-8?B?!!!!?=" },
	{ "=?utf-8?Q?=FF?=", "=?utf-8?Q?=FF?=" },	/* not UTF-8 */
	{ "=?utf-8?Q?=C0=80?=", "=?utf-8?Q?=C0=80?=" },	/* overlong */
	{ "=?utf-8?Q?=ED=A0=80?=", "=?utf-8?Q?=ED=A0=80?=" },	/* surrogate */
	{ "=?us-ascii?Q?=E9?=", "=?us-ascii?Q?=E9?=" },
	{ "=?x-no-such-charset?Q?a?=", "=?x-no-such-charset?Q?a?=" },
	{ "=?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?Q?a?=",
	  "=?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?Q?a?=" },
	{ "==?utf-8?Q?x?=", "=x" },
	{ "=?utf-8?Q?=?=", "=?utf-8?Q?=?=" },
};

static void test_cases(void)
{
	struct buf out;
	const char *error = NULL;

	buf_init(&out, 4096);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&out);
		UNIT_CHECK(mime_decode_header(cases[i].in, strlen(cases[i].in),
					      &out, &error) == 0);
		UNIT_STREQ(out.data, cases[i].out);
		UNIT_CHECK(out.len == strlen(cases[i].out));
	}
	/* decoded NUL kept, counted by len */
	buf_reset(&out);
	UNIT_CHECK(mime_decode_header("=?utf-8?Q?a=00b?=", 17, &out,
				      &error) == 0);
	UNIT_CHECK(out.len == 3 && memcmp(out.data, "a\0b", 3) == 0);
	buf_deinit(&out);
}

/* "x =?utf-8?Q?=C3=A9?=" decodes to 4 octets: a bound of 3 fails. */
static void test_bound(void)
{
	static const char in[] = "x =?utf-8?Q?=C3=A9?=";
	const char *error = NULL;

	for (size_t max = 2; max <= 5; max++) {
		struct buf out;
		int r;

		buf_init(&out, max);
		r = mime_decode_header(in, strlen(in), &out, &error);
		if (max >= 4) {
			UNIT_CHECK(r == 0);
			UNIT_STREQ(out.data, "x \xc3\xa9");
		} else {
			UNIT_CHECK(r == -1 && error != NULL && out.len <= max);
		}
		buf_deinit(&out);
	}
}

int main(void)
{
	test_cases();
	test_bound();
	return unit_done();
}
