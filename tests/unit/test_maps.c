/* test_maps: texthash:, inline:, hash: and btree: tables (built through
 * the same code as surelmap), table lists, Postfix's address lookup order,
 * and reopening a table whose file changed. */
#include "config.h"
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "maps.h"
#include "mem.h"
#include "unit.h"

static char dir[] = "/tmp/test_maps.XXXXXX";

static const char *path_of(const char *name)
{
	static char paths[4][512];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const char *data, size_t len)
{
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.new", path_of(name));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	/* Atomic replacement, as an operator's editor or script would. */
	if (rename(tmp, path_of(name)) < 0)
		abort();
}

static void write_str(const char *name, const char *data)
{
	write_file(name, data, strlen(data));
}

static char spec_buf[600];
static const char *spec(const char *type, const char *name)
{
	snprintf(spec_buf, sizeof(spec_buf), "%s:%s", type, path_of(name));
	return spec_buf;
}

/* Looks key up in a freshly opened table; returns the value or NULL. */
static char *lookup1(const char *table_spec, unsigned flags, const char *key,
		     int *ret_r)
{
	struct maps *m;
	const char *value = NULL, *error;
	char *out = NULL;

	*ret_r = -9;
	if (maps_open(table_spec, flags, &m, &error) < 0)
		return NULL;
	*ret_r = maps_lookup(m, key, &value, &error);
	if (*ret_r == 1)
		out = xstrdup(value);
	maps_free(&m);
	return out;
}

static bool opens(const char *table_spec)
{
	struct maps *m;
	const char *error;

	if (maps_open(table_spec, 0, &m, &error) < 0)
		return false;
	maps_free(&m);
	return true;
}

static void check_value(const char *table_spec, const char *key,
			const char *want)
{
	int ret;
	char *v = lookup1(table_spec, 0, key, &ret);

	if (want == NULL) {
		UNIT_CHECK(ret == 0);
	} else {
		UNIT_CHECK(ret == 1);
		UNIT_STREQ(v, want);
	}
	free(v);
}

static const char text_table[] =
	"# virtual mailboxes\n"
	"Demo@Example.TEST   example.test/demo/  \n"
	"list@example.test a@example.test,\n"
	"  b@example.test\n"
	"   # a comment inside a continued entry\n"
	"\tc@example.test\n"
	"\n"
	"   \n"
	"dup first\n"
	"dup second\n"
	"last value-without-newline";

static void test_texthash(void)
{
	write_str("t1", text_table);
	const char *s = spec("texthash", "t1");
	check_value(s, "demo@example.test", "example.test/demo/");
	check_value(s, "DEMO@example.test", "example.test/demo/");
	check_value(s, "list@example.test",
		    "a@example.test,  b@example.test\tc@example.test");
	check_value(s, "dup", "first");
	check_value(s, "last", "value-without-newline");
	check_value(s, "nobody", NULL);
	check_value(s, "#", NULL);

	/* Keys keep their case with MAPS_FLAG_KEEP_CASE. */
	int ret;
	char *v = lookup1(s, MAPS_FLAG_KEEP_CASE, "Demo@Example.TEST", &ret);
	UNIT_CHECK(ret == 1);
	free(v);
	v = lookup1(s, MAPS_FLAG_KEEP_CASE, "demo@example.test", &ret);
	UNIT_CHECK(ret == 0 && v == NULL);

	/* Errors name the line. */
	static const char *const bad[] = {
		"  starts with a continuation\n",
		"key-without-value\n",
		"ok 1\nkey-only   \n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_str("bad", bad[i]);
		UNIT_CHECK(!opens(spec("texthash", "bad")));
	}
	write_file("bad", "a b\nc\0d e\n", 10);
	UNIT_CHECK(!opens(spec("texthash", "bad")));
	UNIT_CHECK(!opens(spec("texthash", "missing")));
	UNIT_CHECK(!opens(spec("texthash", ".")));	/* a directory */
	write_str("empty", "# nothing\n\n");
	UNIT_CHECK(opens(spec("texthash", "empty")));
}

/* Key and value lengths at limit - 1, limit and limit + 1. */
static void test_text_limits(void)
{
	size_t sizes[] = { MAPS_KEY_MAX - 1, MAPS_KEY_MAX, MAPS_KEY_MAX + 1 };
	char *buf = xmalloc(MAPS_VALUE_MAX + 64);

	for (size_t i = 0; i < 3; i++) {
		memset(buf, 'k', sizes[i]);
		memcpy(buf + sizes[i], " v\n", 4);
		write_str("lim", buf);
		UNIT_CHECK(opens(spec("texthash", "lim")) == (i < 2));
	}
	size_t vsizes[] = { MAPS_VALUE_MAX - 1, MAPS_VALUE_MAX,
			    MAPS_VALUE_MAX + 1 };
	for (size_t i = 0; i < 3; i++) {
		memcpy(buf, "k ", 2);
		memset(buf + 2, 'v', vsizes[i]);
		memcpy(buf + 2 + vsizes[i], "\n", 2);
		write_str("lim", buf);
		UNIT_CHECK(opens(spec("texthash", "lim")) == (i < 2));
	}
	/* A value of exactly the maximum comes back whole. */
	memcpy(buf, "k ", 2);
	memset(buf + 2, 'v', MAPS_VALUE_MAX);
	buf[2 + MAPS_VALUE_MAX] = '\0';
	write_str("lim", buf);
	int ret;
	char *v = lookup1(spec("texthash", "lim"), 0, "k", &ret);
	UNIT_CHECK(ret == 1 && v != NULL && strlen(v) == MAPS_VALUE_MAX);
	free(v);
	/* A lookup key over the maximum is simply not found. */
	memset(buf, 'k', MAPS_KEY_MAX + 1);
	buf[MAPS_KEY_MAX + 1] = '\0';
	v = lookup1(spec("texthash", "t1"), 0, buf, &ret);
	UNIT_CHECK(ret == 0);
	free(buf);
}

static int count_entry(void *ctx, char *key, char *value, unsigned line,
		       const char **error_r)
{
	(*(int *)ctx)++;
	return 0;
}

/* The parser over the table cut at every length: never a crash, and
 * entries only grow as more of the text is seen. */
static void test_text_prefixes(void)
{
	size_t len = strlen(text_table);
	int prev = 0;
	bool monotonic = true;

	for (size_t i = 0; i <= len; i++) {
		int count = 0;
		const char *error;
		if (maps_texthash_parse(text_table, i, count_entry, &count,
					&error) < 0)
			count = prev;	/* "key-without-value" mid-cut */
		if (count < prev)
			monotonic = false;
		prev = count;
	}
	UNIT_CHECK(monotonic);
	UNIT_CHECK(prev == 5);
}

static void test_inline(void)
{
	check_value("inline:{a=1, B=2 ,{ c = three words }, d=x=y}", "a",
		    "1");
	check_value("inline:{a=1, B=2 ,{ c = three words }, d=x=y}", "b",
		    "2");
	check_value("inline:{a=1, B=2 ,{ c = three words }, d=x=y}", "c",
		    "three words");
	check_value("inline:{a=1, B=2 ,{ c = three words }, d=x=y}", "d",
		    "x=y");
	check_value("inline:{a=1, a=2}", "a", "2");	/* later wins */
	check_value("inline:{ {k = v, with comma } }", "k", "v, with comma");
	check_value("inline:{a=}", "a", "");
	UNIT_CHECK(!opens("inline:{ a = b }"));	/* spaces need braces */
	UNIT_CHECK(!opens("inline:a=b"));
	UNIT_CHECK(!opens("inline:{}"));
	UNIT_CHECK(!opens("inline:{ }"));
	UNIT_CHECK(!opens("inline:{a}"));
	UNIT_CHECK(!opens("inline:{=b}"));
	UNIT_CHECK(!opens("inline:{a=b"));
	UNIT_CHECK(!opens("inline:{a=b}}"));
	UNIT_CHECK(!opens("inline:{{a=b}x}"));
	UNIT_CHECK(!opens("inline:{a=b} {c=d}"));
}

static void test_lists(void)
{
	char list[1200];
	struct maps *m;
	const char *value, *error;

	UNIT_CHECK(maps_open("", 0, &m, &error) == 0);
	UNIT_CHECK(maps_lookup(m, "x", &value, &error) == 0);
	maps_free(&m);
	UNIT_CHECK(!opens("nosuch:table"));
	UNIT_CHECK(!opens("texthash:"));
	UNIT_CHECK(!opens("noColon"));
	snprintf(list, sizeof(list), "inline:{dup=inline, { only = here }}, %s",
		 spec("texthash", "t1"));
	check_value(list, "dup", "inline");
	check_value(list, "only", "here");
	check_value(list, "last", "value-without-newline");
	UNIT_CHECK(maps_open(list, 0, &m, &error) == 0);
	UNIT_STREQ(maps_spec(m), list);
	maps_free(&m);
}

static void warn_count(void *ctx, const char *msg) { (*(int *)ctx)++; }

static void test_db(const char *type)
{
	const char *error;
	int warnings = 0;
	char s[600];

	write_str("db", text_table);
	snprintf(s, sizeof(s), "%s", spec(type, "db"));
	UNIT_CHECK(maps_hash_build(s, 0, warn_count, &warnings, &error) == 0);
	UNIT_CHECK(warnings == 1);	/* "dup" */
	check_value(s, "demo@example.test", "example.test/demo/");
	check_value(s, "DEMO@EXAMPLE.TEST", "example.test/demo/");
	check_value(s, "list@example.test",
		    "a@example.test,  b@example.test\tc@example.test");
	check_value(s, "dup", "first");
	check_value(s, "nobody", NULL);
	/* Stored without the NUL (postmap -n): read the same way. */
	UNIT_CHECK(maps_hash_build(s, MAPS_BUILD_NO_NUL, NULL, NULL,
				   &error) == 0);
	check_value(s, "demo@example.test", "example.test/demo/");
	check_value(s, "nobody", NULL);
	/* The other Berkeley DB type is refused, not misread. */
	char other[600];
	snprintf(other, sizeof(other), "%s",
		 spec(strcmp(type, "hash") == 0 ? "btree" : "hash", "db"));
	UNIT_CHECK(!opens(other));
	/* A bad source leaves the table as it was. */
	write_str("db", "no-value\n");
	UNIT_CHECK(maps_hash_build(s, 0, NULL, NULL, &error) < 0);
	check_value(s, "demo@example.test", "example.test/demo/");
	UNIT_CHECK(access(path_of("db.db.tmp"), F_OK) < 0);
	UNIT_CHECK(!opens(spec(type, "nonexistent")));
}

static int dump_count(void *ctx, const char *key, const char *value)
{
	(*(int *)ctx)++;
	return strcmp(key, "k1") == 0 && strcmp(value, "v1") != 0 ? -1 : 0;
}

static void test_writer(void)
{
	struct maps_hash_writer *w, *w2;
	const char *error;
	char s[600];

	snprintf(s, sizeof(s), "%s", spec("hash", "w"));
	UNIT_CHECK(maps_hash_writer_open(s, 0, &w, &error) == 0);
	UNIT_CHECK(maps_hash_writer_put(w, "K1", "v1", &error) == 1);
	UNIT_CHECK(maps_hash_writer_put(w, "k1", "other", &error) == 0);
	UNIT_CHECK(maps_hash_writer_put(w, "k2", "v2", &error) == 1);
	UNIT_CHECK(maps_hash_writer_put(w, "", "v", &error) < 0);
	/* A second writer of the same table is refused while one works. */
	UNIT_CHECK(maps_hash_writer_open(s, 0, &w2, &error) < 0);
	UNIT_CHECK(maps_hash_writer_commit(&w, &error) == 0 && w == NULL);
	check_value(s, "k1", "v1");
	int n = 0;
	UNIT_CHECK(maps_hash_dump(s, dump_count, &n, &error) == 0 && n == 2);

	/* Incremental: keeps the old entries. */
	UNIT_CHECK(maps_hash_writer_open(s, MAPS_BUILD_INCREMENTAL |
					 MAPS_BUILD_REPLACE, &w, &error) == 0);
	UNIT_CHECK(maps_hash_writer_put(w, "k1", "new", &error) == 0);
	UNIT_CHECK(maps_hash_writer_put(w, "k3", "v3", &error) == 1);
	UNIT_CHECK(maps_hash_writer_delete(w, "K2", &error) == 1);
	UNIT_CHECK(maps_hash_writer_delete(w, "k2", &error) == 0);
	UNIT_CHECK(maps_hash_writer_commit(&w, &error) == 0);
	check_value(s, "k1", "new");
	check_value(s, "k2", NULL);
	check_value(s, "k3", "v3");

	/* An aborted edit changes nothing. */
	UNIT_CHECK(maps_hash_writer_open(s, MAPS_BUILD_INCREMENTAL, &w,
					 &error) == 0);
	UNIT_CHECK(maps_hash_writer_delete(w, "k3", &error) == 1);
	maps_hash_writer_abort(&w);
	UNIT_CHECK(w == NULL);
	check_value(s, "k3", "v3");
	maps_hash_writer_abort(&w);	/* NULL is fine */
	UNIT_CHECK(maps_hash_writer_open("texthash:/x", 0, &w, &error) < 0);
}

struct addr_case {
	const char *address, *delimiter, *want, *ext;
};

static void test_lookup_addr(void)
{
	static const char table[] =
		"inline:{ user@example.test=plain, user+ext@example.test=ext,"
		" @example.test=catchall, owner-list@example.org=owner,"
		" postmaster@example.org=pm, bob@example.org=bob,"
		" other+x@example.org=ox }";
	static const struct addr_case cases[] = {
		{ "user@example.test", NULL, "plain", NULL },
		{ "user+ext@example.test", "+", "ext", NULL },
		{ "user+other@example.test", "+", "plain", "+other" },
		{ "user+other@example.test", NULL, "catchall", NULL },
		{ "user+other@example.test", "", "catchall", NULL },
		{ "USER-x@EXAMPLE.test", "+-", "plain", "-x" },
		{ "nobody@example.test", "+", "catchall", NULL },
		{ "bob+a+b@example.org", "+", "bob", "+a+b" },
		{ "bob@example.org", "+", "bob", NULL },
		{ "+bob@example.org", "+", NULL, NULL },
		{ "owner-list@example.org", "-", "owner", NULL },
		{ "owner-x@example.org", "-", NULL, NULL },
		{ "bob-request@example.org", "-", NULL, NULL },
		{ "other+x@example.org", "+", "ox", NULL },
		{ "nobody@example.org", "+", NULL, NULL },
		{ "user", "+", NULL, NULL },
		{ "user+ext", "+", NULL, NULL },
	};
	struct maps *m;
	const char *value, *ext, *error;

	UNIT_CHECK(maps_open(table, 0, &m, &error) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct addr_case *c = &cases[i];
		int ret = maps_lookup_addr_ext(m, c->address, c->delimiter,
					       &value, &ext, &error);
		UNIT_CHECK(ret == (c->want != NULL));
		if (c->want != NULL && ret == 1) {
			UNIT_STREQ(value, c->want);
			UNIT_CHECK(c->ext == NULL ? ext == NULL :
				   ext != NULL && strcmp(ext, c->ext) == 0);
		}
		if (ret == 1 && c->want != NULL &&
		    strcmp(value, c->want) != 0)
			fprintf(stderr, "  case %zu: got %s\n", i, value);
	}
	UNIT_CHECK(maps_lookup_addr(m, "user+ext@example.test", "+", &value,
				    &error) == 1);
	UNIT_STREQ(value, "ext");
	maps_free(&m);
}

static void test_reopen(void)
{
	struct maps *h, *t, *gone;
	const char *value, *error;
	char s[600];

	write_str("r1", "key one\n");
	snprintf(s, sizeof(s), "%s", spec("hash", "r1"));
	UNIT_CHECK(maps_hash_build(s, 0, NULL, NULL, &error) == 0);
	UNIT_CHECK(maps_open(s, 0, &h, &error) == 0);
	write_str("r2", "key one\n");
	UNIT_CHECK(maps_open(spec("texthash", "r2"), 0, &t, &error) == 0);
	write_str("r3", "key one\n");
	UNIT_CHECK(maps_open(spec("texthash", "r3"), 0, &gone, &error) == 0);
	UNIT_CHECK(maps_lookup(h, "key", &value, &error) == 1);
	UNIT_STREQ(value, "one");

	/* Rebuild / replace / remove, then wait out the check interval. */
	write_str("r1", "key two\n");
	UNIT_CHECK(maps_hash_build(s, 0, NULL, NULL, &error) == 0);
	write_str("r2", "key two\nnew entry\n");
	unlink(path_of("r3"));
	/* Within the second: still the table as opened. */
	UNIT_CHECK(maps_lookup(t, "key", &value, &error) == 1);
	UNIT_STREQ(value, "one");
	usleep(1100 * 1000);
	UNIT_CHECK(maps_lookup(h, "key", &value, &error) == 1);
	UNIT_STREQ(value, "two");
	UNIT_CHECK(maps_lookup(t, "key", &value, &error) == 1);
	UNIT_STREQ(value, "two");
	UNIT_CHECK(maps_lookup(t, "new", &value, &error) == 1);
	/* A table that cannot be reread fails temporarily... */
	UNIT_CHECK(maps_lookup(gone, "key", &value, &error) == -1);
	UNIT_CHECK(error != NULL && strstr(error, "r3") != NULL);
	UNIT_CHECK(maps_lookup(gone, "key", &value, &error) == -1);
	/* ...until it is back. */
	write_str("r3", "key back\n");
	usleep(1100 * 1000);
	UNIT_CHECK(maps_lookup(gone, "key", &value, &error) == 1);
	UNIT_STREQ(value, "back");
	maps_free(&h);
	maps_free(&t);
	maps_free(&gone);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		return 2;
	test_texthash();
	test_text_limits();
	test_text_prefixes();
	test_inline();
	test_lists();
	test_db("hash");
	test_db("btree");
	test_writer();
	test_lookup_addr();
	test_reopen();
	unit_rmtree(dir);
	return unit_done();
}
