/* Unit tests of lib/str: copying without truncation, numbers, tokens. */
#include "config.h"
#include <stdint.h>
#include <string.h>
#include "str.h"
#include "unit.h"

static void test_copy(void)
{
	char out[4];

	UNIT_CHECK(str_copy(out, sizeof(out), "abc") == 0);
	UNIT_STREQ(out, "abc");
	UNIT_CHECK(str_copy(out, sizeof(out), "abcd") == -1);
	UNIT_STREQ(out, "");
}

static void test_numbers(void)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t value;
	} cases[] = {
		{ "0", 0, 0 },
		{ "42", 0, 42 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "", -1, 0 },
		{ "-1", -1, 0 },
		{ "+1", -1, 0 },
		{ "1x", -1, 0 },
		{ " 1", -1, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int ret = str_to_u64(cases[i].in, &v);
		UNIT_CHECK(ret == cases[i].ret);
		if (ret == 0)
			UNIT_CHECK(v == cases[i].value);
	}
}

static void test_tokens(void)
{
	char text[] = " a, b,,c  ";
	char *p = text;

	UNIT_STREQ(str_next_token(&p, ", "), "a");
	UNIT_STREQ(str_next_token(&p, ", "), "b");
	UNIT_STREQ(str_next_token(&p, ", "), "c");
	UNIT_CHECK(str_next_token(&p, ", ") == NULL);
}

static void test_case(void)
{
	char s[] = "MiXeD";

	str_lower(s);
	UNIT_STREQ(s, "mixed");
	UNIT_CHECK(str_eq_ci("ABC", "abc"));
	UNIT_CHECK(str_prefix_ci("MAIL FROM:", "mail from"));
	UNIT_CHECK(!str_prefix_ci("MAIL", "mail from"));
	char t[] = "  x y \t";
	UNIT_STREQ(str_trim(t), "x y");
}

int main(void)
{
	test_copy();
	test_numbers();
	test_tokens();
	test_case();
	return unit_done();
}
