#include "config.h"
#include <string.h>
#include "json_out.h"
#include "unit.h"
#include "utf8.h"

/* s (len octets) as a JSON string, or "(overflow)". */
static const char *jstr(struct buf *b, const char *s, size_t len)
{
	buf_reset(b);
	if (json_out_string(b, s, len) < 0)
		return "(overflow)";
	return buf_cstr(b);
}

static void test_strings(void)
{
	struct buf b;

	buf_init(&b, 4096);
	UNIT_STREQ(jstr(&b, "", 0), "\"\"");
	UNIT_STREQ(jstr(&b, "a@b.test", 8), "\"a@b.test\"");
	UNIT_STREQ(jstr(&b, "\"q\\t\"@x", 7), "\"\\\"q\\\\t\\\"@x\"");
	UNIT_STREQ(jstr(&b, "a\nb\rc\td\be\ff", 11),
		   "\"a\\nb\\rc\\td\\be\\ff\"");
	UNIT_STREQ(jstr(&b, "\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
	/* a NUL inside the given length is escaped, not an end */
	UNIT_STREQ(jstr(&b, "a\0b", 3), "\"a\\u0000b\"");
	/* valid UTF-8 (2, 3 and 4 octets) is copied */
	UNIT_STREQ(jstr(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9),
		   "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* invalid octets: U+FFFD each, the output stays valid UTF-8 */
	UNIT_STREQ(jstr(&b, "a\xff" "b", 3), "\"a\xef\xbf\xbd" "b\"");
	UNIT_STREQ(jstr(&b, "\xc3", 1), "\"\xef\xbf\xbd\"");
	UNIT_STREQ(jstr(&b, "\xc0\xaf", 2),	/* overlong '/' */
		   "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	UNIT_STREQ(jstr(&b, "\xed\xa0\x80", 3),	/* a surrogate */
		   "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	UNIT_CHECK(utf8_valid(b.data, b.len));
	/* the maximum is an error, never a cut string */
	struct buf small;
	buf_init(&small, 8);
	UNIT_CHECK(json_out_string(&small, "0123456789", 10) < 0);
	buf_deinit(&small);
	buf_deinit(&b);
}

static void test_members(void)
{
	struct buf b;

	buf_init(&b, 4096);
	UNIT_CHECK(json_out_member_str(&b, "sender", "x\"y") == 0);
	UNIT_CHECK(buf_append_char(&b, ',') == 0);
	UNIT_CHECK(json_out_member_u64(&b, "size", 18446744073709551615ULL) ==
		   0);
	UNIT_CHECK(buf_append_char(&b, ',') == 0);
	UNIT_CHECK(json_out_member_bool(&b, "t", 1) == 0);
	UNIT_CHECK(buf_append_char(&b, ',') == 0);
	UNIT_CHECK(json_out_member_bool(&b, "f", 0) == 0);
	UNIT_STREQ(buf_cstr(&b), "\"sender\":\"x\\\"y\",\"size\":"
		   "18446744073709551615,\"t\":true,\"f\":false");
	buf_deinit(&b);
}

int main(void)
{
	test_strings();
	test_members();
	return unit_done();
}
