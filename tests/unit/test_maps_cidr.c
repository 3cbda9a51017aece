/* test_maps_cidr: the cidr: table type (Postfix's cidr_table(5)): IPv4
 * and IPv6 networks and hosts, [] forms, negation, if/endif, keys that
 * are not addresses or of the other family, every open error with its
 * line, the reopen after the file changes, and cidr: in a list. */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "maps.h"
#include "mem.h"
#include "unit.h"

static char dir[] = "/tmp/test_maps_cidr.XXXXXX";
static char path[600], spec[620];

static void write_table(const char *text)
{
	char tmp[620];
	size_t len = strlen(text);

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	if (rename(tmp, path) < 0)
		abort();
}

/* Opens text as a cidr: table and looks key up: the value or NULL. */
static char *lookup(const char *text, const char *key, int *ret_r)
{
	struct maps *m;
	const char *value, *error;
	char *out = NULL;

	write_table(text);
	*ret_r = -9;
	if (maps_open(spec, 0, &m, &error) < 0)
		return NULL;
	*ret_r = maps_lookup(m, key, &value, &error);
	if (*ret_r == 1)
		out = xstrdup(value);
	maps_free(&m);
	return out;
}

static void check(const char *text, const char *key, const char *want)
{
	int ret;
	char *v = lookup(text, key, &ret);

	if (want == NULL) {
		UNIT_CHECK(ret == 0);
		if (ret != 0)
			fprintf(stderr, "  table %s key %s: %d\n", text, key, ret);
	} else {
		UNIT_CHECK(ret == 1);
		UNIT_STREQ(v, want);
	}
	free(v);
}

/* The open fails and the error names the file and the line. */
static void check_error(const char *text, unsigned line, const char *what)
{
	struct maps *m = NULL;
	const char *error = NULL;
	char want[700];

	write_table(text);
	UNIT_CHECK(maps_open(spec, 0, &m, &error) == -1);
	snprintf(want, sizeof(want), "%s, line %u: ", path, line);
	UNIT_CHECK(error != NULL && strstr(error, want) != NULL &&
		   strstr(error, what) != NULL);
	if (error == NULL || strstr(error, what) == NULL)
		fprintf(stderr, "  table \"%s\": %s\n", text,
			error ? error : "(opened)");
	maps_free(&m);
}

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

	check(t, "10.1.2.3", "ten");
	check(t, "192.168.1.200", "bracketed");
	check(t, "192.168.2.1", "bracketed too");
	check(t, "192.168.3.7", "host");
	check(t, "192.168.3.8", "any v4");
	check(t, "172.31.255.255", "multi  line");
	check(t, "2001:db8:0:0::1", "doc v6");
	check(t, "2001:0db8::0001", "doc v6");	/* binary compare */
	check(t, "::1", "loopback v6");
	check(t, "::2", NULL);
	/* An IPv4-mapped IPv6 address is IPv6, as Postfix. */
	check(t, "::ffff:10.1.2.3", "mapped");
	/* Not addresses: no rule applies. */
	check(t, "[10.1.2.3]", NULL);
	check(t, "010.1.2.3", NULL);
	check(t, "foo", NULL);
	check(t, "", NULL);
	check(t, "10.1.2.3 ", NULL);
	check("10.0.0.0/8 one\n10.1.0.0/16 two\n", "10.1.1.1", "one");
	check("10.0.0.0/08 x\n", "10.1.1.1", "x");
	check("0.0.0.0/0 x\n::/0 y\n", "1.2.3.4", "x");
	check("0.0.0.0/0 x\n::/0 y\n", "fe80::1", "y");
	check("10.0.0.0/9 x\n", "10.128.0.0", NULL);
	check("10.0.0.0/9 x\n", "10.127.255.255", "x");
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

	check(t, "10.1.2.3", "ten-one");
	check(t, "10.3.2.1", "ten-not-two");
	/* 10.2/16: no rule inside applies; 10/8 is not 192.168/16. */
	check(t, "10.2.0.1", "not private");
	check(t, "192.168.0.1", NULL);
	check(t, "8.8.8.8", "not private");
	/* The other family: not even a negated rule applies. */
	check(t, "2001:db8::1", "v6");
	check("!10.0.0.0/8 x\n", "2001:db8::1", NULL);
	check("if !10.0.0.0/8\n::/0 v6\nendif\n", "::1", NULL);
}

static void test_errors(void)
{
	check_error("10.0.0.0/8 ok\n10.0.0.1/8 x\n", 2, "beyond the prefix");
	check_error("2001:db8::1/32 x\n", 1, "beyond the prefix");
	check_error("10.0.0.0/33 x\n", 1, "bad prefix length");
	check_error("::/129 x\n", 1, "bad prefix length");
	check_error("10.0.0.0/ x\n", 1, "bad prefix length");
	check_error("10.0.0.0/+8 x\n", 1, "bad prefix length");
	check_error("010.0.0.0/8 x\n", 1, "bad network address");
	check_error("1.2.3 x\n", 1, "bad network address");
	check_error("foo x\n", 1, "bad network address");
	check_error("[1.2.3.4 x\n", 1, "bad address pattern");
	check_error("[1.2.3.4]x y\n", 1, "bad address pattern");
	check_error("# c\n10.0.0.0/8\n", 2, "no result");
	check_error("10.0.0.0/8 x\nendif\n", 2, "endif without if");
	check_error("if 10.0.0.0/8\n10.0.0.0/8 x\n", 1, "if without endif");
	check_error("if ::/0 x\nendif\n", 1, "text after the if");
	check_error("if ::/0\nendif x\n", 2, "text after endif");
	check_error("  10.0.0.0/8 x\n", 1, "continuation");

	struct buf deep;
	buf_init(&deep, 4096);
	for (int i = 0; i < 65; i++)
		unit_put(&deep, "if ::/0\n");
	check_error(deep.data, 65, "nested deeper");
	buf_deinit(&deep);
}

static void test_reopen(void)
{
	struct maps *m;
	const char *value, *error;

	write_table("10.0.0.0/8 one\n");
	UNIT_CHECK(maps_open(spec, 0, &m, &error) == 0);
	UNIT_CHECK(maps_lookup(m, "10.0.0.1", &value, &error) == 1);
	UNIT_STREQ(value, "one");
	write_table("10.0.0.0/8 two\n");
	usleep(1100 * 1000);
	UNIT_CHECK(maps_lookup(m, "10.0.0.1", &value, &error) == 1);
	UNIT_STREQ(value, "two");
	write_table("10.0.0.1/8 three\n");
	usleep(1100 * 1000);
	UNIT_CHECK(maps_lookup(m, "10.0.0.1", &value, &error) == -1);
	UNIT_CHECK(strstr(error, "line 1") != NULL);
	write_table("10.0.0.0/8 four\n");
	usleep(1100 * 1000);
	UNIT_CHECK(maps_lookup(m, "10.0.0.1", &value, &error) == 1);
	UNIT_STREQ(value, "four");
	maps_free(&m);
}

/* In a list, cidr: gets the key as given while hash-like tables get it
 * folded; an address's derived forms never reach it. */
static void test_list(void)
{
	struct maps *m;
	const char *value, *error;
	char list[1400];

	write_table("::/0 v6\n");
	snprintf(list, sizeof(list), "inline:{ fe80::a=folded }, %s", spec);
	UNIT_CHECK(maps_open(list, 0, &m, &error) == 0);
	UNIT_CHECK(maps_lookup(m, "FE80::A", &value, &error) == 1);
	UNIT_STREQ(value, "folded");
	UNIT_CHECK(maps_lookup(m, "FE80::B", &value, &error) == 1);
	UNIT_STREQ(value, "v6");
	maps_free(&m);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/t.cidr", dir);
	snprintf(spec, sizeof(spec), "cidr:%s", path);
	test_match();
	test_negation_and_if();
	test_errors();
	test_reopen();
	test_list();
	unit_rmtree(dir);
	return unit_done();
}
