/* Unit tests of lib/buf: growth, the fixed maximum, printf, consume. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "unit.h"

static void test_max(void)
{
	struct buf b;

	buf_init(&b, 8);
	UNIT_CHECK(buf_append(&b, "1234567", 7) == 0);	/* limit - 1 */
	UNIT_CHECK(buf_append(&b, "8", 1) == 0);	/* limit */
	UNIT_CHECK(buf_append(&b, "9", 1) == -1);	/* limit + 1 */
	UNIT_CHECK(b.len == 8);
	UNIT_STREQ(buf_cstr(&b), "12345678");
	UNIT_CHECK(buf_printf(&b, "%s", "x") == -1);
	UNIT_CHECK(b.len == 8);
	buf_deinit(&b);
}

static void test_growth(void)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	int failures = 0;
	for (int i = 0; i < 10000; i++)
		failures += buf_append_char(&b, (char)('a' + i % 26)) != 0;
	UNIT_CHECK(failures == 0);
	UNIT_CHECK(b.len == 10000);
	UNIT_CHECK(b.data[b.len] == '\0');
	UNIT_CHECK(buf_printf(&b, "%d-%s", 42, "z") == 0);
	UNIT_CHECK(strcmp(b.data + 10000, "42-z") == 0);
	buf_consume(&b, 10000);
	UNIT_STREQ(buf_cstr(&b), "42-z");
	buf_truncate(&b, 2);
	UNIT_STREQ(buf_cstr(&b), "42");
	buf_consume(&b, 99);
	UNIT_CHECK(b.len == 0);
	buf_deinit(&b);
}

static void test_overflow(void)
{
	struct buf b;

	buf_init(&b, 16);
	UNIT_CHECK(buf_append(&b, "x", (size_t)-1) == -1);
	UNIT_CHECK(b.len == 0);
	buf_deinit(&b);
}

int main(void)
{
	test_max();
	test_growth();
	test_overflow();
	return unit_done();
}
