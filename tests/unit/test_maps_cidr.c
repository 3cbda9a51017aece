/* test_maps_cidr: the cidr: table type (Postfix's cidr_table(5)): IPv4
 * and IPv6 networks and hosts, [] forms, negation, if/endif, keys that
 * are not addresses or of the other family, every open error with its
 * line, the reopen after the file changes, and cidr: in a list. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "maps.h"
#include "maps_test_util.h"
#include "unit.h"

static void test_match(void)
{
	static const char t[] =
		"# comment\n\n"
		"10.0.0.0/8  ten\n"
		"[192.168.1.0]/24  bracketed\n"
		"[192.168.2.0/24]  bracketed too\n"
		"192.168.3.7  host\n"
		"172.16.0.0/12\tmulti\n  line\n"
		"2001:DB8::/32  doc v6\n"
		"[::1]  loopback v6\n"
		"::ffff:0.0.0.0/96  mapped\n"
		"0.0.0.0/0  any v4\n";

	maps_test_check(t, "10.1.2.3", "ten");
	maps_test_check(t, "192.168.1.200", "bracketed");
	maps_test_check(t, "192.168.2.1", "bracketed too");
	maps_test_check(t, "192.168.3.7", "host");
	maps_test_check(t, "192.168.3.8", "any v4");
	maps_test_check(t, "172.31.255.255", "multi  line");
	maps_test_check(t, "2001:db8:0:0::1", "doc v6");
	/* Compared as binary, not as text. */
	maps_test_check(t, "2001:0db8::0001", "doc v6");
	maps_test_check(t, "::1", "loopback v6");
	maps_test_check(t, "::2", NULL);
	/* An IPv4-mapped IPv6 address is IPv6, as Postfix. */
	maps_test_check(t, "::ffff:10.1.2.3", "mapped");
	/* Not addresses: no rule applies. */
	maps_test_check(t, "[10.1.2.3]", NULL);
	maps_test_check(t, "010.1.2.3", NULL);
	maps_test_check(t, "foo", NULL);
	maps_test_check(t, "", NULL);
	maps_test_check(t, "10.1.2.3 ", NULL);
	maps_test_check("10.0.0.0/8 one\n10.1.0.0/16 two\n", "10.1.1.1", "one");
	maps_test_check("10.0.0.0/08 x\n", "10.1.1.1", "x");
	maps_test_check("0.0.0.0/0 x\n::/0 y\n", "1.2.3.4", "x");
	maps_test_check("0.0.0.0/0 x\n::/0 y\n", "fe80::1", "y");
	maps_test_check("10.0.0.0/9 x\n", "10.128.0.0", NULL);
	maps_test_check("10.0.0.0/9 x\n", "10.127.255.255", "x");
}

static void test_negation_and_if(void)
{
	static const char t[] =
		"if 10.0.0.0/8\n"
		"10.1.0.0/16 ten-one\n"
		"IF !10.2.0.0/16\n"
		"10.0.0.0/8 ten-not-two\n"
		"ENDIF\n"
		"endif\n"
		"! 192.168.0.0/16 not private\n"
		"::/0 v6\n";

	maps_test_check(t, "10.1.2.3", "ten-one");
	maps_test_check(t, "10.3.2.1", "ten-not-two");
	/* 10.2/16: no rule inside applies; 10/8 is not 192.168/16. */
	maps_test_check(t, "10.2.0.1", "not private");
	maps_test_check(t, "192.168.0.1", NULL);
	maps_test_check(t, "8.8.8.8", "not private");
	/* The other family: not even a negated rule applies. */
	maps_test_check(t, "2001:db8::1", "v6");
	maps_test_check("!10.0.0.0/8 x\n", "2001:db8::1", NULL);
	maps_test_check("if !10.0.0.0/8\n::/0 v6\nendif\n", "::1", NULL);
}

static void test_errors(void)
{
	maps_test_check_error("10.0.0.0/8 ok\n10.0.0.1/8 x\n", 2,
			      "beyond the prefix");
	maps_test_check_error("2001:db8::1/32 x\n", 1, "beyond the prefix");
	maps_test_check_error("10.0.0.0/33 x\n", 1, "bad prefix length");
	maps_test_check_error("::/129 x\n", 1, "bad prefix length");
	maps_test_check_error("10.0.0.0/ x\n", 1, "bad prefix length");
	maps_test_check_error("10.0.0.0/+8 x\n", 1, "bad prefix length");
	maps_test_check_error("010.0.0.0/8 x\n", 1, "bad network address");
	maps_test_check_error("1.2.3 x\n", 1, "bad network address");
	maps_test_check_error("foo x\n", 1, "bad network address");
	maps_test_check_error("[1.2.3.4 x\n", 1, "bad address pattern");
	maps_test_check_error("[1.2.3.4]x y\n", 1, "bad address pattern");
	maps_test_check_error("# c\n10.0.0.0/8\n", 2, "no result");
	maps_test_check_error("10.0.0.0/8 x\nendif\n", 2, "endif without if");
	maps_test_check_error("if 10.0.0.0/8\n10.0.0.0/8 x\n", 1,
			      "if without endif");
	maps_test_check_error("if ::/0 x\nendif\n", 1, "text after the if");
	maps_test_check_error("if ::/0\nendif x\n", 2, "text after endif");
	maps_test_check_error("  10.0.0.0/8 x\n", 1, "continuation");

	struct buf deep;
	buf_init(&deep, 4096);
	for (int i = 0; i < 65; i++)
		unit_put(&deep, "if ::/0\n");
	maps_test_check_error(deep.data, 65, "nested deeper");
	buf_deinit(&deep);
}

static void test_reopen(void)
{
	/* A broken edit fails lookups until it is fixed. */
	static const char *const texts[4] = {
		"10.0.0.0/8 one\n", "10.0.0.0/8 two\n",
		"10.0.0.1/8 three\n", "10.0.0.0/8 four\n",
	};

	maps_test_reopen("10.0.0.1", texts);
}

/* In a list, cidr: gets the key as given while hash-like tables get it
 * folded; an address's derived forms never reach it. */
static void test_list(void)
{
	struct maps *m;
	const char *value, *error;
	char list[1400];

	maps_test_write("::/0 v6\n");
	snprintf(list, sizeof(list), "inline:{ fe80::a=folded }, %s",
		 maps_test_spec);
	UNIT_CHECK(maps_open(list, 0, &m, &error) == 0);
	UNIT_CHECK(maps_lookup(m, "FE80::A", &value, &error) == 1);
	UNIT_STREQ(value, "folded");
	UNIT_CHECK(maps_lookup(m, "FE80::B", &value, &error) == 1);
	UNIT_STREQ(value, "v6");
	maps_free(&m);
}

int main(void)
{
	if (maps_test_setup("cidr") < 0)
		return 2;
	test_match();
	test_negation_and_if();
	test_errors();
	test_reopen();
	test_list();
	maps_test_cleanup();
	return unit_done();
}
