/* test_alias: virtual_alias_maps expansion: one to many, recursion,
 * self-reference, loops, depth and count limits, duplicates, extensions
 * and @domain rewriting. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alias.h"
#include "buf.h"
#include "maps.h"
#include "unit.h"

/* Expands address through an inline: table and returns the result as one
 * space-separated string (static), or "ERR<n>" for a return n < 0. */
static const char *expand(const char *table, const char *address,
			  const char *delimiter)
{
	static char out[4096];
	struct alias_list list;
	struct maps *m = NULL;
	const char *error;

	if (table != NULL && maps_open(table, 0, &m, &error) < 0) {
		fprintf(stderr, "maps_open: %s\n", error);
		return "OPEN";
	}
	int ret = alias_expand(m, address, delimiter, &list, &error);
	maps_free(&m);
	if (ret < 0) {
		snprintf(out, sizeof(out), "ERR%d", ret);
		return out;
	}
	out[0] = '\0';
	size_t o = 0;
	for (size_t i = 0; i < list.count && o < sizeof(out); i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
				      i > 0 ? " " : "", list.addrs[i]);
	alias_list_free(&list);
	return out;
}

static void check(const char *table, const char *address,
		  const char *delimiter, const char *want)
{
	const char *got = expand(table, address, delimiter);

	UNIT_STREQ(got, want);
}

static void test_basic(void)
{
	check(NULL, "a@x", NULL, "a@x");
	check("inline:{other=thing}", "a@x", NULL, "a@x");
	/* One to many, separators comma and space. */
	check("inline:{ { list@x = a@x, b@x  c@x,d@x } }", "list@x", NULL,
	      "a@x b@x c@x d@x");
	/* Recursion. */
	check("inline:{a@x=b@x, b@x=c@x}", "a@x", NULL, "c@x");
	check("inline:{ {l@x = g1@x, g2@x}, {g1@x = a@x, b@x},"
	      " {g2@x = b@x, c@x} }", "l@x", NULL, "a@x b@x c@x");
	/* Self-reference: kept, not expanded again. */
	check("inline:{ {a@x = a@x, b@x} }", "a@x", NULL, "a@x b@x");
	check("inline:{ {a@x = b@x, a@x} }", "a@x", NULL, "b@x a@x");
	check("inline:{ {a@x = A@X, b@x}, b@x=c@x }", "a@x", NULL,
	      "A@X c@x");
	/* Duplicates dropped, case-insensitively, first kept. */
	check("inline:{ {l@x = a@x, A@X, b@x, a@x} }", "l@x", NULL,
	      "a@x b@x");
	/* Quoted local parts and angle brackets. */
	check("inline:{ {l@x = \"john doe\"@x, <b@x>} }", "l@x", NULL,
	      "\"john doe\"@x b@x");
	/* An empty value is no alias. */
	check("inline:{l@x=}", "l@x", NULL, "l@x");
}

static void test_loops_and_limits(void)
{
	check("inline:{a@x=b@x, b@x=a@x}", "a@x", NULL, "ERR-2");
	check("inline:{ {a@x = b@x, c@x}, b@x=a@x }", "a@x", NULL, "ERR-2");

	/* A chain of n links: ALIAS_MAX_DEPTH - 1 expand, more do not. */
	for (int n = ALIAS_MAX_DEPTH - 2; n <= ALIAS_MAX_DEPTH + 1; n++) {
		struct buf t;
		buf_init(&t, 65536);
		UNIT_CHECK(buf_append_str(&t, "inline:{") == 0);
		for (int i = 0; i < n; i++)
			if (buf_printf(&t, "a%d@x=a%d@x ", i, i + 1) < 0)
				abort();
		UNIT_CHECK(buf_append_str(&t, "}") == 0);
		char want[32];
		snprintf(want, sizeof(want), "a%d@x", n);
		check(t.data, "a0@x", NULL,
		      n < ALIAS_MAX_DEPTH ? want : "ERR-2");
		buf_deinit(&t);
	}

	/* Results: ALIAS_MAX_RESULTS fit, one more does not. */
	for (int n = ALIAS_MAX_RESULTS - 1; n <= ALIAS_MAX_RESULTS + 1; n++) {
		struct buf t;
		buf_init(&t, 1 << 20);
		UNIT_CHECK(buf_append_str(&t, "inline:{ {l@x = ") == 0);
		for (int i = 0; i < n; i++)
			if (buf_printf(&t, "m%d@x ", i) < 0)
				abort();
		UNIT_CHECK(buf_append_str(&t, "} }") == 0);
		const char *got = expand(t.data, "l@x", NULL);
		if (n <= ALIAS_MAX_RESULTS)
			UNIT_CHECK(strncmp(got, "m0@x m1@x", 9) == 0);
		else
			UNIT_STREQ(got, "ERR-2");
		buf_deinit(&t);
	}
}

static void test_extensions(void)
{
	static const char *const t = "inline:{info@x=bob@y, @old.test=@new.test,"
				     " exact+tag@x=tagged@y, @x=catch@y}";

	/* The unmatched extension follows the alias, as Postfix's
	 * propagate_unmatched_extensions. */
	check(t, "info+foo@x", "+", "bob+foo@y");
	check(t, "info@x", "+", "bob@y");
	check(t, "exact+tag@x", "+", "tagged@y");
	/* Catch-all: the extension is not carried. */
	check(t, "someone+foo@x", "+", "catch@y");
	check(t, "info+foo@x", NULL, "catch@y");
	/* @domain to @domain keeps the local part. */
	check(t, "user@old.test", "+", "user@new.test");
	check(t, "user+ext@old.test", "+", "user+ext@new.test");
}

int main(void)
{
	test_basic();
	test_loops_and_limits();
	test_extensions();
	return unit_done();
}
