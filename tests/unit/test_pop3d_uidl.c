/* Unit tests of pop3d/pop3d_uidl: Dovecot's default format, widths,
 * hex cases, "%%", the 70-character limit (limit-1, limit, limit+1),
 * and the formats that must be refused. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "pop3d_uidl.h"
#include "unit.h"

struct ok_case {
	const char *fmt;
	uint32_t uid, uidvalidity;
	const char *want;
};

static const struct ok_case ok_cases[] = {
	{ "%08Xu%08Xv", 1, 1700000000, "000000016553f100" },
	{ "%08Xu%08Xv", 4294967295u, 4294967295u, "ffffffffffffffff" },
	{ "%08Xu%08Xv", 0xabc, 0x1f, "00000abc0000001f" },
	{ "%u", 42, 7, "42" },
	{ "%v.%u", 42, 7, "7.42" },
	{ "%xu-%xv", 0xabc, 0xdef, "abc-def" },
	{ "%Xu", 0, 0, "0" },
	{ "%010u", 123, 0, "0000000123" },
	{ "%02u", 12345, 0, "12345" },	/* a width is a minimum */
	{ "%%%u%%", 5, 0, "%5%" },
	{ "UID%uV%v", 3, 9, "UID3V9" },
	{ "%070u", 1, 0, "0000000000000000000000000000000000000000000000000000000000000000000001" },
};

static const char *const bad_formats[] = {
	"",		/* empty id */
	"%",		/* nothing after % */
	"%q",		/* unknown variable */
	"%08X",		/* modifier without variable */
	"%8u",		/* space padding: no UIDL may hold a space */
	"a b%u",	/* a space */
	"%071u",	/* 71 characters */
	"%0999u",	/* absurd width */
	"%u\x7f",	/* DEL */
	"%u\xc3\xa9",	/* non-ASCII */
};

static void test_ok(void)
{
	char out[POP3D_UIDL_MAX + 1];

	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];
		int ret = pop3d_uidl_format(c->fmt, c->uid, c->uidvalidity,
					    out);
		UNIT_CHECK(ret == 0);
		if (ret == 0)
			UNIT_STREQ(out, c->want);
		else
			fprintf(stderr, "refused: %s\n", c->fmt);
	}
}

static void test_bad(void)
{
	char out[POP3D_UIDL_MAX + 1];

	for (size_t i = 0; i < sizeof(bad_formats) / sizeof(bad_formats[0]);
	     i++) {
		int ret = pop3d_uidl_format(bad_formats[i], 1, 1, out);
		UNIT_CHECK(ret == -1);
		if (ret != -1)
			fprintf(stderr, "accepted: \"%s\"\n", bad_formats[i]);
	}
}

/* Literal text and a variable meeting the 70-character limit. */
static void test_limit(void)
{
	char fmt[128], out[POP3D_UIDL_MAX + 1];

	for (size_t n = 68; n <= 71; n++) {
		/* n - 1 literal characters and "%u" of 1: n in all */
		memset(fmt, 'a', n - 1);
		memcpy(fmt + n - 1, "%u", 3);
		int ret = pop3d_uidl_format(fmt, 7, 1, out);
		UNIT_CHECK(ret == (n <= POP3D_UIDL_MAX ? 0 : -1));
		if (ret == 0)
			UNIT_CHECK(strlen(out) == n && out[n - 1] == '7');
	}
	/* A uid of 10 digits with 60 literal characters: 70. */
	memset(fmt, 'b', 60);
	memcpy(fmt + 60, "%u", 3);
	UNIT_CHECK(pop3d_uidl_format(fmt, 4294967295u, 1, out) == 0);
	UNIT_CHECK(strlen(out) == 70);
	memset(fmt, 'b', 61);
	memcpy(fmt + 61, "%u", 3);
	UNIT_CHECK(pop3d_uidl_format(fmt, 4294967295u, 1, out) == -1);
}

static void test_valid(void)
{
	char long_id[80];

	UNIT_CHECK(pop3d_uidl_valid("000000016553f100"));
	UNIT_CHECK(pop3d_uidl_valid("!~"));
	UNIT_CHECK(!pop3d_uidl_valid(""));
	UNIT_CHECK(!pop3d_uidl_valid("a b"));
	UNIT_CHECK(!pop3d_uidl_valid("a\tb"));
	memset(long_id, 'x', 70);
	long_id[70] = '\0';
	UNIT_CHECK(pop3d_uidl_valid(long_id));
	long_id[70] = 'x';
	long_id[71] = '\0';
	UNIT_CHECK(!pop3d_uidl_valid(long_id));
}

int main(void)
{
	test_ok();
	test_bad();
	test_limit();
	test_valid();
	return unit_done();
}
