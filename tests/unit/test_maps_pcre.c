/* test_maps_pcre: the pcre: table type (Postfix's pcre_table(5)): matches,
 * flags, negation, if/endif, capture substitution, every open error with
 * its line, the match limit, keys not case-folded, and the reopen after
 * the file changes. */
#include "config.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "maps.h"
#include "mem.h"
#include "unit.h"

static char dir[] = "/tmp/test_maps_pcre.XXXXXX";
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

/* Opens text as a pcre: table and looks key up: the value or NULL. */
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
		"# comment\n\n   \n"
		"/^postmaster@/  OK\n"
		"/[%!@].*[%!@]/  550 routing\n"
		"#^exact$#  hash delim\n"
		"|^a\\|b$|  escaped delimiter\n"
		"/^multi/  first\n  second\n";

	check(t, "postmaster@example.com", "OK");
	check(t, "POSTMASTER@example.com", "OK");	/* i: default */
	check(t, "a@b@c", "550 routing");
	check(t, "a|b", "escaped delimiter");
	check(t, "multi", "first  second");	/* continuation */
	check(t, "nobody@example.com", NULL);
	check(t, "", NULL);
	/* '#' first is a comment, not a pattern with '#' delimiters. */
	check(t, "exact", NULL);
	/* First match wins. */
	check("/a/ one\n/a/ two\n", "a", "one");
	/* Trailing white space is not part of the result. */
	check("/a/ x y  \t\n", "a", "x y");
}

static void test_flags(void)
{
	check("/abc/i x\n", "ABC", NULL);	/* i toggles off */
	check("/abc/i x\n", "abc", "x");
	check("/abc/ii x\n", "ABC", "x");
	check("/^b$/ x\n", "a\nb", NULL);
	check("/^b$/m x\n", "a\nb", "x");
	check("/a.b/ x\n", "a\nb", "x");	/* s: default */
	check("/a.b/s x\n", "a\nb", NULL);
	check("/a b c/x x\n", "abc", "x");
	check("/a b c/ x\n", "abc", NULL);
	check("/b/ x\n", "ab", "x");
	check("/b/A x\n", "ab", NULL);
	check("/a$/ x\n", "a\n", "x");
	check("/a$/E x\n", "a\n", NULL);
	check("/(a+)/ $1\n", "aaa", "aaa");
	check("/(a+)/U $1\n", "aaa", "a");
	check("/a/X x\n", "a", "x");	/* obsolete: ignored */
	/* The key is not lower-cased: the i flag decides. */
	check("/^Abc$/i x\n", "Abc", "x");
	check("/^abc$/i x\n", "Abc", NULL);
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

	check(t, "postmaster@example.com", "pm");
	check(t, "list-outgoing@example.com", "use list");
	check(t, "admin-outgoing@example.com", "example");
	check(t, "bob@example.com", "example");
	check(t, "bob@other.org", "other");
	check(t, "bob", "no domain");
	check("!/a/ not a\n", "a", NULL);
	check("!/a/ not a\n", "b", "not a");
	check("!/a/ $$1\n", "b", "$1");
}

static void test_substitution(void)
{
	check("/^(a+)b(.*)$/ got $1 and ${2}x $$ $(1)\n", "aabzz",
	      "got aa and zzx $ aa");
	check("/(a)|(b)/ [$2]\n", "a", "[]");	/* unset group: empty */
	check("/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)/ ${10}$10$1\n", "abcdefghij",
	      "jja");
	/* A result that expands to nothing is not found, as Postfix. */
	check("/(x?)a/ $1\n", "a", NULL);
}

static void test_errors(void)
{
	check_error("/a/ ok\n/(a/ x\n", 2, "missing closing parenthesis");
	check_error("/a/q x\n", 1, "unknown regex flag \"q\"");
	check_error("/a x\n", 1, "no closing regex delimiter");
	check_error("a x\n", 1, "expected /regex/");
	check_error("# c\n\n/a/\n", 3, "no result");
	check_error("/a/x\n", 1, "no result");
	check_error("/(a)/ $2\n", 1, "capture groups");
	check_error("/a/ $0\n", 1, "capture groups");
	check_error("/a/ x$\n", 1, "bad $ syntax");
	check_error("/a/ $a\n", 1, "bad $ syntax");
	check_error("/a/ ${1\n", 1, "bad $ syntax");
	check_error("/a/ $(1}\n", 1, "bad $ syntax");
	check_error("/a/ ${name}\n", 1, "bad $ syntax");
	check_error("!/(a)/ $1\n", 1, "negated");
	check_error("/a/ x\nif /a/\n/b/ y\n", 2, "if without endif");
	check_error("/a/ x\nendif\n", 2, "endif without if");
	check_error("if /a/ extra\nendif\n", 1, "text after the if");
	check_error("if /a/\nendif x\n", 2, "text after endif");
	check_error("  /a/ x\n", 1, "continuation");

	struct buf deep;
	buf_init(&deep, 4096);
	for (int i = 0; i < 65; i++)
		unit_put(&deep, "if /a/\n");
	check_error(deep.data, 65, "nested deeper");
	buf_deinit(&deep);

	struct maps *m;
	const char *error;
	snprintf(spec, sizeof(spec), "pcre:%s/missing", dir);
	UNIT_CHECK(maps_open(spec, 0, &m, &error) == -1);
	UNIT_CHECK(strstr(error, "missing") != NULL);
	snprintf(spec, sizeof(spec), "pcre:%s", path);
}

/* A catastrophic regex stops at the match limit: no match, a warning. */
static void test_match_limit(void)
{
	struct maps *m;
	const char *value, *error, *warning;
	char key[64];

	write_table("/^(a+)+$/ boom\n/./ fallback\n");
	UNIT_CHECK(maps_open(spec, 0, &m, &error) == 0);
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
	char *v = lookup("/z$/ end\n", key, &ret);
	UNIT_CHECK(ret == 1);
	UNIT_STREQ(v, "end");
	free(v);
	free(key);
}

static void test_reopen(void)
{
	struct maps *m;
	const char *value, *error;

	write_table("/a/ one\n");
	UNIT_CHECK(maps_open(spec, 0, &m, &error) == 0);
	UNIT_CHECK(maps_lookup(m, "a", &value, &error) == 1);
	UNIT_STREQ(value, "one");
	write_table("/a/ two\n");
	usleep(1100 * 1000);
	UNIT_CHECK(maps_lookup(m, "a", &value, &error) == 1);
	UNIT_STREQ(value, "two");
	/* A broken edit fails lookups until it is fixed. */
	write_table("/(a/ three\n");
	usleep(1100 * 1000);
	UNIT_CHECK(maps_lookup(m, "a", &value, &error) == -1);
	UNIT_CHECK(strstr(error, "line 1") != NULL);
	write_table("/a/ four\n");
	usleep(1100 * 1000);
	UNIT_CHECK(maps_lookup(m, "a", &value, &error) == 1);
	UNIT_STREQ(value, "four");
	maps_free(&m);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/t.pcre", dir);
	snprintf(spec, sizeof(spec), "pcre:%s", path);
	test_match();
	test_flags();
	test_negation_and_if();
	test_substitution();
	test_errors();
	test_match_limit();
	test_long_key();
	test_reopen();
	unit_rmtree(dir);
	return unit_done();
}
