/* Unit tests of lib/addr: RFC 5321 paths, the canonical form, every
 * length limit at limit-1 / limit / limit+1, UTF-8 only when allowed. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "unit.h"

#define U ADDR_FLAG_UTF8
#define N ADDR_FLAG_NULL_OK
#define P ADDR_FLAG_POSTMASTER

static const struct {
	const char *in;
	unsigned flags;
	const char *out;	/* NULL: must fail */
} path_cases[] = {
	{ "<user@example.com>", 0, "user@example.com" },
	{ "<User.Name+tag@Example.COM>", 0, "User.Name+tag@example.com" },
	{ "<a!#$%&'*+-/=?^_`{|}~z@x.y>", 0, "a!#$%&'*+-/=?^_`{|}~z@x.y" },
	{ "<>", N, "" },
	{ "<>", 0, NULL },
	{ "<@a.example,@b.example:u@c.example>", 0, "u@c.example" },
	{ "<@a.example:u@c.example>", 0, "u@c.example" },
	{ "<@a.example,u@c.example>", 0, NULL },
	{ "<@:u@c.example>", 0, NULL },
	{ "<\"quoted\"@x.y>", 0, "quoted@x.y" },
	{ "<\"a b\"@x.y>", 0, "\"a b\"@x.y" },
	{ "<\"a\\\"b\"@x.y>", 0, "\"a\\\"b\"@x.y" },
	{ "<\"\"@x.y>", 0, "\"\"@x.y" },
	{ "<\"a\tb\"@x.y>", 0, NULL },
	{ "<\"unterminated@x.y>", 0, NULL },
	{ "<u@[192.0.2.1]>", 0, "u@[192.0.2.1]" },
	{ "<u@[IPv6:2001:DB8::1]>", 0, "u@[IPv6:2001:db8::1]" },
	{ "<u@[ipv6:::1]>", 0, "u@[IPv6:::1]" },
	{ "<u@[192.0.2.256]>", 0, NULL },
	{ "<u@[2001:db8::1]>", 0, NULL },
	{ "<u@[tag:stuff]>", 0, NULL },
	{ "<u@[192.0.2.1>", 0, NULL },
	{ "<postmaster>", P, "postmaster" },
	{ "<PostMaster>", P, "PostMaster" },
	{ "<postmaster>", 0, NULL },
	{ "<root>", P, NULL },
	{ "user@example.com", 0, NULL },
	{ "<user@example.com", 0, NULL },
	{ "<user>", 0, NULL },
	{ "<@example.com>", 0, NULL },
	{ "<.user@x.y>", 0, NULL },
	{ "<user.@x.y>", 0, NULL },
	{ "<us..er@x.y>", 0, NULL },
	{ "<user@.x.y>", 0, NULL },
	{ "<user@x.y.>", 0, NULL },
	{ "<user@x..y>", 0, NULL },
	{ "<user@-x.y>", 0, NULL },
	{ "<user@x-.y>", 0, NULL },
	{ "<user@x_y.z>", 0, NULL },
	{ "<user@>", 0, NULL },
	{ "<us er@x.y>", 0, NULL },
	{ "<user@x y>", 0, NULL },
	{ "<user@x.y >", 0, NULL },
	{ "<a@b@c.d>", 0, NULL },
	{ "<user\x01@x.y>", 0, NULL },
	{ "<user@x\x7f.y>", 0, NULL },
	/* UTF-8: only with the flag, only valid sequences. */
	{ "<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", U,
	  "j\xc3\xb6rg@b\xc3\xbc" "cher.example" },
	{ "<j\xc3\xb6rg@example.com>", 0, NULL },
	{ "<\xc0\xafx@example.com>", U, NULL },	/* overlong "/" */
	{ "<\xed\xa0\x80x@example.com>", U, NULL },	/* surrogate */
	{ "<\xf4\x90\x80\x80@example.com>", U, NULL },	/* > U+10FFFF */
	{ "<\xc3@example.com>", U, NULL },		/* truncated */
	{ "<x@\xc3\xa9xample.com>", U, "x@\xc3\xa9xample.com" },
};

static void test_paths(void)
{
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
	     i++) {
		struct addr a;
		const char *error = NULL;
		size_t used = 0, len = strlen(path_cases[i].in);
		int ret = addr_parse_path(path_cases[i].in, len,
					  path_cases[i].flags, &a, &used,
					  &error);
		if (path_cases[i].out == NULL) {
			UNIT_CHECK(ret == -1 && error != NULL);
			if (ret == 0)
				fprintf(stderr, "  accepted: %s\n",
					path_cases[i].in);
		} else {
			UNIT_CHECK(ret == 0);
			UNIT_STREQ(a.address, path_cases[i].out);
			UNIT_CHECK(used == len);
			if (ret != 0)
				fprintf(stderr, "  rejected: %s (%s)\n",
					path_cases[i].in, error);
		}
	}
}

static void test_embedded_nul(void)
{
	static const char in[] = "<us\0er@x.y>";
	struct addr a;
	const char *error;
	size_t used;

	UNIT_CHECK(addr_parse_path(in, sizeof(in) - 1, 0, &a, &used,
				   &error) == -1);
	static const char lit[] = "<u@[1.2.3.4\0x]>";
	UNIT_CHECK(addr_parse_path(lit, sizeof(lit) - 1, 0, &a, &used,
				   &error) == -1);
}

/* "<" + local + "@" + domain + ">" built to exact sizes. */
static int parse_sized(size_t local_len, size_t domain_len, bool quoted)
{
	char buf[1024];
	size_t n = 0;
	struct addr a;
	const char *error;
	size_t used;

	buf[n++] = '<';
	if (quoted) {
		buf[n++] = '"';
		memset(buf + n, ' ', local_len - 2);
		n += local_len - 2;
		buf[n++] = '"';
	} else {
		memset(buf + n, 'l', local_len);
		n += local_len;
	}
	buf[n++] = '@';
	/* labels of 9 letters and a dot; the last label fills up */
	for (size_t d = 0; d < domain_len; d++)
		buf[n++] = (d % 10 == 9 && d + 1 < domain_len) ? '.' : 'd';
	buf[n++] = '>';
	return addr_parse_path(buf, n, 0, &a, &used, &error);
}

static void test_limits(void)
{
	/* local part: 64 */
	UNIT_CHECK(parse_sized(63, 10, false) == 0);
	UNIT_CHECK(parse_sized(64, 10, false) == 0);
	UNIT_CHECK(parse_sized(65, 10, false) == -1);
	UNIT_CHECK(parse_sized(63, 10, true) == 0);
	UNIT_CHECK(parse_sized(64, 10, true) == 0);
	UNIT_CHECK(parse_sized(65, 10, true) == -1);
	/* path: 256 with brackets, so local 64 + "@" + domain 189 + 2 */
	UNIT_CHECK(parse_sized(64, 188, false) == 0);
	UNIT_CHECK(parse_sized(64, 189, false) == 0);
	UNIT_CHECK(parse_sized(64, 190, false) == -1);
	UNIT_CHECK(parse_sized(1, 252, false) == 0);	/* path 256 */
	UNIT_CHECK(parse_sized(1, 253, false) == -1);	/* path 257 */

	/* A label of 63, 64 octets. */
	char dom[80];
	memset(dom, 'a', 64);
	memcpy(dom + 64, ".b", 3);
	const char *error;
	UNIT_CHECK(addr_check_domain(dom + 1, 65, 0, &error) == 0);
	UNIT_CHECK(addr_check_domain(dom, 66, 0, &error) == -1);
	/* Domain alone: 254, 255, 256. */
	char big[300];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = i % 10 == 9 ? '.' : 'x';
	UNIT_CHECK(addr_check_domain(big, 254, 0, &error) == 0);
	UNIT_CHECK(addr_check_domain(big, 255, 0, &error) == 0);
	UNIT_CHECK(addr_check_domain(big, 256, 0, &error) == -1);
}

static void test_mailbox(void)
{
	struct addr a;
	const char *error;

	UNIT_CHECK(addr_parse_mailbox("a@B.c", 5, 0, &a, &error) == 0);
	UNIT_STREQ(a.address, "a@b.c");
	UNIT_CHECK(a.local_len == 1);
	UNIT_CHECK(addr_parse_mailbox("a@b.c ", 6, 0, &a, &error) == -1);
	UNIT_CHECK(addr_parse_mailbox("<a@b.c>", 7, 0, &a, &error) == -1);
	UNIT_CHECK(addr_parse_mailbox("postmaster", 10, P, &a, &error) ==
		   -1);
	UNIT_CHECK(addr_parse_mailbox("", 0, 0, &a, &error) == -1);
	UNIT_STREQ(addr_domain("a@b.c"), "b.c");
	UNIT_STREQ(addr_domain("\"x@y\"@b.c"), "b.c");
	UNIT_STREQ(addr_domain("postmaster"), "");
}

static void test_domains(void)
{
	const char *error;

	UNIT_CHECK(addr_check_domain("mail.example.com", 16, 0, &error) == 0);
	UNIT_CHECK(addr_check_domain("[127.0.0.1]", 11, 0, &error) == 0);
	UNIT_CHECK(addr_check_domain("[IPv6:::1]", 10, 0, &error) == 0);
	UNIT_CHECK(addr_check_domain("localhost", 9, 0, &error) == 0);
	UNIT_CHECK(addr_check_domain("my_host", 7, 0, &error) == -1);
	UNIT_CHECK(addr_check_domain("a..b", 4, 0, &error) == -1);
	UNIT_CHECK(addr_check_domain("[127.0.0.1]x", 12, 0, &error) == -1);
	UNIT_CHECK(addr_check_domain("", 0, 0, &error) == -1);
	UNIT_CHECK(addr_utf8_valid("\xe2\x82\xac", 3));
	UNIT_CHECK(!addr_utf8_valid("\xe2\x82", 2));
	UNIT_CHECK(!addr_utf8_valid("\xff", 1));
}

int main(void)
{
	test_paths();
	test_embedded_nul();
	test_limits();
	test_mailbox();
	test_domains();
	return unit_done();
}
