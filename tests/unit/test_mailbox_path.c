/* test_mailbox_path: every outcome of mailbox_path_resolve: found (with
 * the extension and @domain fall-backs of the lookup), unknown, a failing
 * table, and each configuration error (relative base, empty, absolute or
 * ".." map values, no trailing '/', a path too long for the buffer); the
 * login name check, the Maildir of a logged-in user (authd's mail= or
 * the map, and a base that must exist), and the quota limit look-up
 * (map value with k/m/g suffixes, the default, values that are not
 * sizes). */
#include "config.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mailbox_path.h"
#include "maps.h"
#include "unit.h"

static struct maps *maps;

static const char spec[] =
	"inline:{ alice@example.test=example.test/alice/, "
	"bob@example.test=example.test/bob/, "
	"@catchall.test=catchall.test/all/, "
	"abs@example.test=/etc/passwd/, "
	"dotdot@example.test=example.test/../../etc/, "
	"dotdot2@example.test=../x/, "
	"dotdot3@example.test=a/.., "
	"dots@example.test=example.test/..x/...y/, "
	"mbox@example.test=example.test/mbox, "
	"slash@example.test=/ }";

struct resolve_case {
	const char *address;
	const char *base;
	const char *delimiter;
	int ret;
	const char *want;	/* path or dsn */
};

static const struct resolve_case cases[] = {
	{ "alice@example.test", "/var/mail", "+", 1,
	  "/var/mail/example.test/alice" },
	/* Case-folded lookup, the extension removed, @domain. */
	{ "Alice@Example.Test", "/var/mail", "+", 1,
	  "/var/mail/example.test/alice" },
	{ "bob+lists@example.test", "/m", "+", 1, "/m/example.test/bob" },
	{ "bob-lists@example.test", "/m", "-+", 1, "/m/example.test/bob" },
	{ "bob+lists@example.test", "/m", "", 0, NULL },
	{ "bob+lists@example.test", "/m", NULL, 0, NULL },
	{ "anyone@catchall.test", "/m", "+", 1, "/m/catchall.test/all" },
	{ "nobody@example.test", "/m", "+", 0, NULL },
	{ "alice", "/m", "+", 0, NULL },
	/* Names with dots that are not "..": fine. */
	{ "dots@example.test", "/m", "+", 1, "/m/example.test/..x/...y" },
	/* Configuration errors: temporary. */
	{ "alice@example.test", "var/mail", "+", -1, "4.3.5" },
	{ "alice@example.test", "", "+", -1, "4.3.5" },
	{ "abs@example.test", "/m", "+", -1, "4.3.5" },
	{ "slash@example.test", "/m", "+", -1, "4.3.5" },
	{ "dotdot@example.test", "/m", "+", -1, "4.3.5" },
	{ "dotdot2@example.test", "/m", "+", -1, "4.3.5" },
	{ "dotdot3@example.test", "/m", "+", -1, "4.3.5" },
	{ "mbox@example.test", "/m", "+", -1, "4.3.5" },
	/* An unknown user is unknown even with a bad base. */
	{ "nobody@example.test", "relative", "+", 0, NULL },
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct resolve_case *c = &cases[i];
		char out[PATH_MAX];
		const char *dsn = NULL, *error = NULL;
		int ret = mailbox_path_resolve(maps, c->base, c->delimiter,
					       c->address, out, sizeof(out),
					       &dsn, &error);
		if (ret != c->ret)
			fprintf(stderr, "case %zu: %s -> %d\n", i, c->address,
				ret);
		UNIT_CHECK(ret == c->ret);
		if (ret > 0)
			UNIT_STREQ(out, c->want);
		if (ret < 0) {
			UNIT_STREQ(dsn, c->want);
			UNIT_CHECK(error != NULL &&
				   strstr(error, "configuration error") !=
				   NULL);
		}
	}
}

/* The buffer: exactly large enough, one byte short. */
static void test_too_long(void)
{
	static const char want[] = "/var/mail/example.test/alice";
	char out[sizeof(want) + 8];
	const char *dsn, *error;

	UNIT_CHECK(mailbox_path_resolve(maps, "/var/mail", "+",
					"alice@example.test", out,
					sizeof(want), &dsn, &error) == 1);
	UNIT_STREQ(out, want);
	UNIT_CHECK(mailbox_path_resolve(maps, "/var/mail", "+",
					"alice@example.test", out,
					sizeof(want) - 1, &dsn,
					&error) == -1);
	UNIT_STREQ(dsn, "4.3.5");
	UNIT_CHECK(strstr(error, "too long") != NULL);
	UNIT_STREQ(out, "");
}

/* A table that cannot be read: 4.3.0, the table's error passed on. */
static void test_lookup_failure(void)
{
	char dir[] = "/tmp/test_mailbox_path.XXXXXX", path[64], mspec[80];
	struct maps *m;
	const char *dsn, *error;
	char out[256];
	FILE *f;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/vmailbox", dir);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fprintf(f, "carol@example.test example.test/carol/\n");
	fclose(f);
	snprintf(mspec, sizeof(mspec), "texthash:%s", path);
	UNIT_CHECK(maps_open(mspec, 0, &m, &error) == 0);
	UNIT_CHECK(mailbox_path_resolve(m, "/m", "+", "carol@example.test",
					out, sizeof(out), &dsn,
					&error) == 1);
	/* Rewritten with a bad line (another size): the reopen fails.
	 * Tables are checked at most once a second. */
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fprintf(f, "carol@example.test\n");
	fclose(f);
	sleep(1);
	int ret = mailbox_path_resolve(m, "/m", "+", "carol@example.test",
				       out, sizeof(out), &dsn, &error);
	UNIT_CHECK(ret == -1);
	if (ret == -1) {
		UNIT_STREQ(dsn, "4.3.0");
		UNIT_CHECK(strstr(error, "lookup failure") != NULL);
	}
	maps_free(&m);
	unit_rmtree(dir);
}

static void test_user_valid(void)
{
	UNIT_CHECK(mailbox_path_user_valid("alice@example.test", 255));
	UNIT_CHECK(mailbox_path_user_valid("a.b..c", 255) == false);
	UNIT_CHECK(mailbox_path_user_valid("..", 255) == false);
	UNIT_CHECK(mailbox_path_user_valid("a/b", 255) == false);
	UNIT_CHECK(mailbox_path_user_valid("", 255) == false);
	UNIT_CHECK(mailbox_path_user_valid("a\tb", 255) == false);
	UNIT_CHECK(mailbox_path_user_valid("a\177b", 255) == false);
	UNIT_CHECK(mailbox_path_user_valid("\316\264@x", 255));
	UNIT_CHECK(mailbox_path_user_valid("abcd", 4));
	UNIT_CHECK(mailbox_path_user_valid("abcde", 4) == false);
}

static void test_user_path(void)
{
	char out[PATH_MAX], dir[] = "/tmp/test_mailbox_path.XXXXXX";
	const char *error = NULL;

	if (mkdtemp(dir) == NULL)
		abort();

	/* authd's mail= wins, and must be absolute. */
	UNIT_CHECK(mailbox_path_user(maps, "/nonexistent", "+",
				     "alice@example.test", "/srv/mail/a", out,
				     sizeof(out), &error) == 0);
	UNIT_STREQ(out, "/srv/mail/a");
	UNIT_CHECK(mailbox_path_user(maps, dir, "+", "alice@example.test",
				     "rel/a", out, sizeof(out), &error) < 0);
	UNIT_CHECK(strstr(error, "absolute") != NULL);
	/* The map, below a base that exists. */
	UNIT_CHECK(mailbox_path_user(maps, dir, "+", "alice@example.test", "",
				     out, sizeof(out), &error) == 0);
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/example.test/alice", dir);
	UNIT_STREQ(out, want);
	UNIT_CHECK(mailbox_path_user(maps, dir, "+", "nobody@example.test",
				     NULL, out, sizeof(out), &error) < 0);
	UNIT_STREQ(error, "not in virtual_mailbox_maps");
	/* An unmounted disk is not a fresh, empty mailbox. */
	UNIT_CHECK(mailbox_path_user(maps, "/nonexistent/base", "+",
				     "alice@example.test", NULL, out,
				     sizeof(out), &error) < 0);
	UNIT_STREQ(error, "virtual_mailbox_base is not a directory");
	unit_rmtree(dir);
}

static void test_quota(void)
{
	static const struct {
		const char *address;
		int ret;
		uint64_t bytes;		/* or the dsn's last digit */
	} qcases[] = {
		{ "a@q.test", 0, 500 },
		{ "b@q.test", 0, 2ULL << 10 },
		{ "c@q.test", 0, 3ULL << 20 },
		{ "d@q.test", 0, 4ULL << 30 },
		{ "e@q.test", 0, 0 },		/* "0": none */
		{ "f@q.test", 0, 777 },		/* not in the map: default */
		{ "g@q.test", -1, 5 },		/* "lots" */
		{ "h@q.test", -1, 5 },		/* "10x" */
		{ "i@q.test", -1, 5 },		/* "-1" */
		{ "j@q.test", -1, 5 },		/* overflows with its suffix */
	};
	struct maps *q;
	const char *error, *dsn;

	if (maps_open("inline:{ a@q.test=500, b@q.test=2k, c@q.test=3M, "
		      "d@q.test=4g, e@q.test=0, g@q.test=lots, h@q.test=10x, "
		      "i@q.test=-1, j@q.test=99999999999999g }", 0, &q,
		      &error) < 0)
		abort();
	for (size_t i = 0; i < sizeof(qcases) / sizeof(qcases[0]); i++) {
		uint64_t bytes = 12345;
		int ret = mailbox_path_quota(q, "+", qcases[i].address, 777,
					     &bytes, &dsn, &error);
		UNIT_CHECK(ret == qcases[i].ret);
		if (ret == 0)
			UNIT_CHECK(bytes == qcases[i].bytes);
		else if (ret < 0) {
			UNIT_STREQ(dsn, "4.3.5");
			UNIT_CHECK(strstr(error, "is not a size") != NULL);
		}
	}
	maps_free(&q);
}

int main(void)
{
	const char *error;

	if (maps_open(spec, 0, &maps, &error) < 0) {
		fprintf(stderr, "maps_open: %s\n", error);
		return 2;
	}
	test_cases();
	test_too_long();
	test_lookup_failure();
	test_user_valid();
	test_user_path();
	test_quota();
	maps_free(&maps);
	return unit_done();
}
