/* test_maps_pcre: the pcre: table type (Postfix's pcre_table(5)): matches,
 * flags, negation, if/endif, capture substitution, every open error with
 * its line, the match limit, keys not case-folded, and the reopen after
 * the file changes. */
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
		"# comment\n\n   \n"
		"/^postmaster@/  OK\n"
		"/[%!@].*[%!@]/  550 routing\n"
		"#^exact$#  hash delim\n"
		"|^a\\|b$|  escaped delimiter\n"
		"/^multi/  first\n  second\n";

	maps_test_check(t, "postmaster@example.com", "OK");
	maps_test_check(t, "POSTMASTER@example.com", "OK");	/* i: default */
	maps_test_check(t, "a@b@c", "550 routing");
	maps_test_check(t, "a|b", "escaped delimiter");
	maps_test_check(t, "multi", "first  second");	/* continuation */
	maps_test_check(t, "nobody@example.com", NULL);
	maps_test_check(t, "", NULL);
	/* '#' first is a comment, not a pattern with '#' delimiters. */
	maps_test_check(t, "exact", NULL);
	/* First match wins. */
	maps_test_check("/a/ one\n/a/ two\n", "a", "one");
	/* Trailing white space is not part of the result. */
	maps_test_check("/a/ x y  \t\n", "a", "x y");
}

static void test_flags(void)
{
	maps_test_check("/abc/i x\n", "ABC", NULL);	/* i toggles off */
	maps_test_check("/abc/i x\n", "abc", "x");
	maps_test_check("/abc/ii x\n", "ABC", "x");
	maps_test_check("/^b$/ x\n", "a\nb", NULL);
	maps_test_check("/^b$/m x\n", "a\nb", "x");
	maps_test_check("/a.b/ x\n", "a\nb", "x");	/* s: default */
	maps_test_check("/a.b/s x\n", "a\nb", NULL);
	maps_test_check("/a b c/x x\n", "abc", "x");
	maps_test_check("/a b c/ x\n", "abc", NULL);
	maps_test_check("/b/ x\n", "ab", "x");
	maps_test_check("/b/A x\n", "ab", NULL);
	maps_test_check("/a$/ x\n", "a\n", "x");
	maps_test_check("/a$/E x\n", "a\n", NULL);
	maps_test_check("/(a+)/ $1\n", "aaa", "aaa");
	maps_test_check("/(a+)/U $1\n", "aaa", "a");
	maps_test_check("/a/X x\n", "a", "x");	/* obsolete: ignored */
	/* The key is not lower-cased: the i flag decides. */
	maps_test_check("/^Abc$/i x\n", "Abc", "x");
	maps_test_check("/^abc$/i x\n", "Abc", NULL);
}

static void test_negation_and_if(void)
{
	static const char t[] =
		"if /@example\\.com$/\n"
		"/^postmaster@/ pm\n"
		"IF !/^admin/\n"
		"/^(.*)-outgoing@/ use $1\n"
		"ENDIF\n"
		"/./ example\n"
		"endif\n"
		"!/@/ no domain\n"
		"if/^x/\n"
		"endif\n"
		"/./ other\n";

	maps_test_check(t, "postmaster@example.com", "pm");
	maps_test_check(t, "list-outgoing@example.com", "use list");
	maps_test_check(t, "admin-outgoing@example.com", "example");
	maps_test_check(t, "bob@example.com", "example");
	maps_test_check(t, "bob@other.org", "other");
	maps_test_check(t, "bob", "no domain");
	maps_test_check("!/a/ not a\n", "a", NULL);
	maps_test_check("!/a/ not a\n", "b", "not a");
	maps_test_check("!/a/ $$1\n", "b", "$1");
}

static void test_substitution(void)
{
	maps_test_check("/^(a+)b(.*)$/ got $1 and ${2}x $$ $(1)\n", "aabzz",
			"got aa and zzx $ aa");
	maps_test_check("/(a)|(b)/ [$2]\n", "a", "[]");	/* unset group: empty */
	maps_test_check("/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)/ ${10}$10$1\n",
			"abcdefghij", "jja");
	/* A result that expands to nothing is not found, as Postfix. */
	maps_test_check("/(x?)a/ $1\n", "a", NULL);
}

static void test_errors(void)
{
	maps_test_check_error("/a/ ok\n/(a/ x\n", 2,
			      "missing closing parenthesis");
	maps_test_check_error("/a/q x\n", 1, "unknown regex flag \"q\"");
	maps_test_check_error("/a x\n", 1, "no closing regex delimiter");
	maps_test_check_error("a x\n", 1, "expected /regex/");
	maps_test_check_error("# c\n\n/a/\n", 3, "no result");
	maps_test_check_error("/a/x\n", 1, "no result");
	maps_test_check_error("/(a)/ $2\n", 1, "capture groups");
	maps_test_check_error("/a/ $0\n", 1, "capture groups");
	maps_test_check_error("/a/ x$\n", 1, "bad $ syntax");
	maps_test_check_error("/a/ $a\n", 1, "bad $ syntax");
	maps_test_check_error("/a/ ${1\n", 1, "bad $ syntax");
	maps_test_check_error("/a/ $(1}\n", 1, "bad $ syntax");
	maps_test_check_error("/a/ ${name}\n", 1, "bad $ syntax");
	maps_test_check_error("!/(a)/ $1\n", 1, "negated");
	maps_test_check_error("/a/ x\nif /a/\n/b/ y\n", 2, "if without endif");
	maps_test_check_error("/a/ x\nendif\n", 2, "endif without if");
	maps_test_check_error("if /a/ extra\nendif\n", 1, "text after the if");
	maps_test_check_error("if /a/\nendif x\n", 2, "text after endif");
	maps_test_check_error("  /a/ x\n", 1, "continuation");

	struct buf deep;
	buf_init(&deep, 4096);
	for (int i = 0; i < 65; i++)
		unit_put(&deep, "if /a/\n");
	maps_test_check_error(deep.data, 65, "nested deeper");
	buf_deinit(&deep);

	struct maps *m;
	const char *error;
	char missing[700];
	snprintf(missing, sizeof(missing), "pcre:%s/missing", maps_test_dir);
	UNIT_CHECK(maps_open(missing, 0, &m, &error) == -1);
	UNIT_CHECK(strstr(error, "missing") != NULL);
}

/* A catastrophic regex stops at the match limit: no match, a warning. */
static void test_match_limit(void)
{
	struct maps *m;
	const char *value, *error, *warning;
	char key[64];

	maps_test_write("/^(a+)+$/ boom\n/./ fallback\n");
	UNIT_CHECK(maps_open(maps_test_spec, 0, &m, &error) == 0);
	memset(key, 'a', 40);
	strcpy(key + 40, "!");
	UNIT_CHECK(maps_lookup(m, key, &value, &error) == 1);
	UNIT_STREQ(value, "fallback");
	warning = maps_take_warning(m);
	UNIT_CHECK(warning != NULL && strstr(warning, "line 1") != NULL &&
		   strstr(warning, "limit") != NULL);
	UNIT_CHECK(maps_take_warning(m) == NULL);
	maps_free(&m);
}

/* Keys longer than the hash tables' key limit still reach pcre:. */
static void test_long_key(void)
{
	size_t len = 100000;
	char *key = xmalloc(len + 1);
	int ret;

	memset(key, 'x', len);
	key[len] = '\0';
	key[len - 1] = 'Z';
	char *v = maps_test_lookup("/z$/ end\n", key, &ret);
	UNIT_CHECK(ret == 1);
	UNIT_STREQ(v, "end");
	free(v);
	free(key);
}

static void test_reopen(void)
{
	/* A broken edit fails lookups until it is fixed. */
	static const char *const texts[4] = {
		"/a/ one\n", "/a/ two\n",
		"/(a/ three\n", "/a/ four\n",
	};

	maps_test_reopen("a", texts);
}

int main(void)
{
	if (maps_test_setup("pcre") < 0)
		return 2;
	test_match();
	test_flags();
	test_negation_and_if();
	test_substitution();
	test_errors();
	test_match_limit();
	test_long_key();
	test_reopen();
	maps_test_cleanup();
	return unit_done();
}
