/* Unit tests of lib/master_cf: a valid file with every column form, and
 * every error with its file, line and reason. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "master_cf.h"
#include "unit.h"

static const char valid[] =
	"# service type private unpriv chroot wakeup maxproc command\n"
	"127.0.0.1:2525 inet n - n - - smtpd\n"
	"  -o smtpd_timeout=10s\n"
	"  # a comment inside\n"
	"  -o { smtpd_banner = $myhostname ESMTP hi there }\n"
	"\n"
	"qmgr      unix  n  -  n  300  1  qmgr\n"
	"local     unix  -  n  n  -    -  local -v { a b } -omax_use=5\n"
	"pickup    unix  n  -  y  60?  1  pickup\n"
	"smtp      unix  -  -  -  0    7  smtp -o x= -o {y=}\n"
	"[::1]:25  inet  -  y  -  -    -  smtpd\n"
	"qmgr      inet  -  -  -  -    -  qmgr";

static void test_valid(void)
{
	struct master_cf *cf = NULL;
	const struct master_cf_entry *e;
	const char *error = NULL;

	UNIT_CHECK(master_cf_parse("m.cf", valid, strlen(valid), &cf,
				   &error) == 0);
	if (cf == NULL) {
		fprintf(stderr, "%s\n", error);
		return;
	}
	UNIT_CHECK(cf->count == 7);

	e = &cf->entries[0];
	UNIT_STREQ(e->service, "127.0.0.1:2525");
	UNIT_CHECK(e->type == MASTER_CF_INET);
	UNIT_CHECK(!e->private && e->unpriv && !e->chroot);
	UNIT_CHECK(e->wakeup == 0 && !e->wakeup_if_used);
	UNIT_CHECK(e->maxproc == MASTER_CF_MAXPROC_DEFAULT);
	UNIT_STREQ(e->command, "smtpd");
	UNIT_CHECK(e->arg_count == 0 && e->args[0] == NULL);
	UNIT_CHECK(e->override_count == 2);
	UNIT_STREQ(e->overrides[0].name, "smtpd_timeout");
	UNIT_STREQ(e->overrides[0].value, "10s");
	UNIT_STREQ(e->overrides[1].name, "smtpd_banner");
	UNIT_STREQ(e->overrides[1].value, "$myhostname ESMTP hi there");
	UNIT_CHECK(e->line == 2);

	e = master_cf_find(cf, "qmgr", MASTER_CF_UNIX);
	UNIT_CHECK(e == &cf->entries[1]);
	UNIT_CHECK(!e->private && e->unpriv && !e->chroot);
	UNIT_CHECK(e->wakeup == 300 && e->maxproc == 1);
	UNIT_CHECK(e->line == 7);

	e = &cf->entries[2];
	UNIT_CHECK(e->private && !e->unpriv);
	UNIT_CHECK(e->arg_count == 2);
	UNIT_STREQ(e->args[0], "-v");
	UNIT_STREQ(e->args[1], "a b");
	UNIT_CHECK(e->args[2] == NULL);
	UNIT_CHECK(e->override_count == 1);
	UNIT_STREQ(e->overrides[0].name, "max_use");
	UNIT_STREQ(e->overrides[0].value, "5");

	e = &cf->entries[3];
	UNIT_CHECK(!e->private && e->chroot);
	UNIT_CHECK(e->wakeup == 60 && e->wakeup_if_used);

	e = &cf->entries[4];
	UNIT_CHECK(e->wakeup == 0 && e->maxproc == 7);
	UNIT_CHECK(e->override_count == 2);
	UNIT_STREQ(e->overrides[0].value, "");
	UNIT_STREQ(e->overrides[1].name, "y");

	UNIT_STREQ(cf->entries[5].service, "[::1]:25");
	UNIT_CHECK(master_cf_find(cf, "qmgr", MASTER_CF_INET) ==
		   &cf->entries[6]);
	UNIT_CHECK(master_cf_find(cf, "nope", MASTER_CF_UNIX) == NULL);
	UNIT_STREQ(master_cf_type_name(MASTER_CF_INET), "inet");
	UNIT_STREQ(master_cf_type_name(MASTER_CF_UNIX), "unix");
	master_cf_free(&cf);
	UNIT_CHECK(cf == NULL);
	master_cf_free(&cf);

	UNIT_CHECK(master_cf_parse("m.cf", "", 0, &cf, &error) == 0);
	UNIT_CHECK(cf != NULL && cf->count == 0);
	master_cf_free(&cf);
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "smtp tcp n - n - - smtpd\n",
		  "m.cf, line 1: unknown service type 'tcp'" },
		{ "# x\n\nsmtp inet n - n - - \n",
		  "m.cf, line 3: missing command" },
		{ "smtp\n", "m.cf, line 1: missing service type" },
		{ "a unix - - - - - x\nb unix - - - - 0 x\n",
		  "m.cf, line 2: bad maxproc '0' (expected - or 1 to 100000)" },
		{ "a unix - - - - 100001 x\n",
		  "m.cf, line 1: bad maxproc '100001' (expected - or 1 to "
		  "100000)" },
		{ "a unix - - - - x1 x\n",
		  "m.cf, line 1: bad maxproc 'x1' (expected - or 1 to 100000)" },
		{ "a unix - - - 5x - x\n", "m.cf, line 1: bad wakeup time '5x'" },
		{ "a unix - - - ? - x\n", "m.cf, line 1: bad wakeup time '?'" },
		{ "a unix - - - 2147483648 - x\n",
		  "m.cf, line 1: bad wakeup time '2147483648'" },
		{ "a unix - - - -1 - x\n", "m.cf, line 1: bad wakeup time '-1'" },
		{ "a unix yes - - - - x\n", "m.cf, line 1: bad private field "
		  "'yes' (expected y, n or -)" },
		{ "a unix - Y - - - x\n", "m.cf, line 1: bad unpriv field 'Y' "
		  "(expected y, n or -)" },
		{ "a unix - - 1 - - x\n", "m.cf, line 1: bad chroot field '1' "
		  "(expected y, n or -)" },
		{ "a unix - - - - - x\n\n  \na unix - - - - - y\n",
		  "m.cf, line 4: duplicate service 'a' type unix (first at line "
		  "1)" },
		{ "a inet y - - - - x\n",
		  "m.cf, line 1: an inet service cannot be private" },
		{ "a inet n n - - - x\n",
		  "m.cf, line 1: an inet service must run unprivileged "
		  "(unpriv y)" },
		{ "../a unix - - - - - x\n",
		  "m.cf, line 1: bad service name '../a'" },
		{ "a/b unix - - - - - x\n",
		  "m.cf, line 1: bad service name 'a/b'" },
		{ "a:1 unix - - - - - x\n",
		  "m.cf, line 1: bad service name 'a:1'" },
		{ "a unix - - - - - ../x\n",
		  "m.cf, line 1: bad command name '../x'" },
		{ "a unix - - - - - /bin/sh\n",
		  "m.cf, line 1: bad command name '/bin/sh'" },
		{ "a unix - - - - - { x y }\n",
		  "m.cf, line 1: bad command name 'x y'" },
		{ "a unix - - - - - x -o\n",
		  "m.cf, line 1: -o without name=value" },
		{ "a unix - - - - - x -o y\n",
		  "m.cf, line 1: bad -o 'y' (expected name=value)" },
		{ "a unix - - - - - x -o =y\n",
		  "m.cf, line 1: bad parameter name in -o '=y'" },
		{ "a unix - - - - - x -o { a b = c }\n",
		  "m.cf, line 1: bad parameter name in -o 'a b = c'" },
		{ "a unix - - - - - x { y\n", "m.cf, line 1: missing '}'" },
		{ "a unix - - - - - x {y}z\n", "m.cf, line 1: text after '}'" },
		{ "a unix {-} - - - - x\n", "m.cf, line 1: braces in column 3" },
		{ "  a unix - - - - - x\n", "m.cf, line 1: continuation line "
		  "without a service before it" },
		{ "a unix - - - - - x\0\n", "m.cf: NUL byte in file" },
		{ "a unix - - - - - x \001\n",
		  "m.cf, line 1: bad service name 'a'" },
	};
	struct master_cf *cf;
	const char *error;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);
		if (strstr(cases[i].error, "NUL") != NULL)
			len += 2;
		cf = (struct master_cf *)&error;	/* must be reset */
		error = NULL;
		int ret = master_cf_parse("m.cf", cases[i].text, len, &cf,
					  &error);
		if (i == sizeof(cases) / sizeof(cases[0]) - 1) {
			/* control characters are plain arguments */
			UNIT_CHECK(ret == 0);
			master_cf_free(&cf);
			continue;
		}
		UNIT_CHECK(ret == -1);
		UNIT_CHECK(cf == NULL);
		UNIT_STREQ(error, cases[i].error);
		if (error == NULL || strcmp(error, cases[i].error) != 0)
			fprintf(stderr, "case %zu: got '%s'\n", i,
				error != NULL ? error : "(null)");
	}
}

/* Bounds: arguments, -o options, services, line length, file size. */
static void test_limits(void)
{
	struct master_cf *cf = NULL;
	const char *error;
	struct buf b;

	buf_init(&b, 2u << 20);
	UNIT_CHECK(buf_append_str(&b, "a unix - - - - - x") == 0);
	for (int i = 0; i < 256; i++)
		UNIT_CHECK(buf_append_str(&b, " y") == 0);
	UNIT_CHECK(master_cf_parse("m.cf", b.data, b.len, &cf, &error) == 0);
	UNIT_CHECK(cf != NULL && cf->entries[0].arg_count == 256);
	master_cf_free(&cf);
	UNIT_CHECK(buf_append_str(&b, " y") == 0);
	UNIT_CHECK(master_cf_parse("m.cf", b.data, b.len, &cf, &error) == -1);
	UNIT_STREQ(error, "m.cf, line 1: too many arguments (more than 256)");

	buf_reset(&b);
	UNIT_CHECK(buf_append_str(&b, "a unix - - - - - x") == 0);
	for (int i = 0; i < 257; i++)
		UNIT_CHECK(buf_append_str(&b, "\n -o a=1") == 0);
	UNIT_CHECK(master_cf_parse("m.cf", b.data, b.len, &cf, &error) == -1);
	UNIT_STREQ(error, "m.cf, line 1: too many -o options (more than "
		   "256)");

	buf_reset(&b);
	for (int i = 0; i < 1000; i++)
		UNIT_CHECK(buf_printf(&b, "s%d unix - - - - - x\n", i) == 0);
	UNIT_CHECK(master_cf_parse("m.cf", b.data, b.len, &cf, &error) == 0);
	UNIT_CHECK(cf != NULL && cf->count == 1000);
	master_cf_free(&cf);
	UNIT_CHECK(buf_append_str(&b, "last unix - - - - - x\n") == 0);
	UNIT_CHECK(master_cf_parse("m.cf", b.data, b.len, &cf, &error) == -1);
	UNIT_STREQ(error, "m.cf, line 1001: too many services (more than "
		   "1000)");

	buf_reset(&b);
	UNIT_CHECK(buf_append_str(&b, "a unix - - - - - x ") == 0);
	while (b.len < 16384 && buf_append_char(&b, 'z') == 0)
		;
	UNIT_CHECK(master_cf_parse("m.cf", b.data, b.len, &cf, &error) == 0);
	master_cf_free(&cf);
	UNIT_CHECK(buf_append_char(&b, 'z') == 0);
	UNIT_CHECK(master_cf_parse("m.cf", b.data, b.len, &cf, &error) == -1);
	UNIT_STREQ(error, "m.cf, line 1: line too long (more than 16384 "
		   "bytes)");

	buf_reset(&b);
	while (b.len <= (1u << 20) && buf_append_str(&b, "# pad\n") == 0)
		;
	UNIT_CHECK(master_cf_parse("m.cf", b.data, b.len, &cf, &error) == -1);
	UNIT_STREQ(error, "m.cf: file too large (more than 1048576 bytes)");
	buf_deinit(&b);
}

static void test_load(void)
{
	char dir[] = "/tmp/test_master_cf.XXXXXX", path[256], want[512];
	struct master_cf *cf = NULL;
	const char *error;
	FILE *f;

	UNIT_CHECK(master_cf_load("", &cf, &error) == -1);
	UNIT_STREQ(error, "master.cf: empty configuration directory name");
	UNIT_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/master.cf", dir);
	UNIT_CHECK(master_cf_load(dir, &cf, &error) == -1);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or "
		 "directory", path);
	UNIT_STREQ(error, want);
	f = fopen(path, "w");
	UNIT_CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs("qmgr unix n - n 300 1 qmgr\nbad\n", f);
	fclose(f);
	UNIT_CHECK(master_cf_load(dir, &cf, &error) == -1);
	snprintf(want, sizeof(want), "%s, line 2: missing service type",
		 path);
	UNIT_STREQ(error, want);
	f = fopen(path, "w");
	fputs("qmgr unix n - n 300 1 qmgr\n", f);
	fclose(f);
	UNIT_CHECK(master_cf_load(dir, &cf, &error) == 0);
	UNIT_CHECK(cf != NULL && cf->count == 1);
	master_cf_free(&cf);
	unlink(path);
	rmdir(dir);
}

static const char *lookup(const char *name)
{
	if (strcmp(name, "metrics_listen") == 0)
		return "127.0.0.1:9169";
	if (strcmp(name, "empty") == 0)
		return "";
	return NULL;
}

/* "$parameter" inet service names: main.cf gives the address. */
static void test_param_address(void)
{
	static const char text[] =
		"$metrics_listen inet n - n - 1 metrics\n"
		"$empty inet n - n - 1 metrics\n"
		"$nosuch inet n - n - 1 metrics\n"
		"smtp inet n - n - - smtpd\n";
	struct master_cf *cf = NULL;
	const char *error = NULL, *address;

	UNIT_CHECK(master_cf_parse("m.cf", text, strlen(text), &cf,
				   &error) == 0);
	if (cf == NULL)
		return;
	UNIT_CHECK(master_cf_service_address(&cf->entries[0], lookup,
					     &address, &error) == 1);
	UNIT_STREQ(address, "127.0.0.1:9169");
	UNIT_CHECK(master_cf_service_address(&cf->entries[1], lookup,
					     &address, &error) == 0);
	UNIT_CHECK(master_cf_service_address(&cf->entries[2], lookup,
					     &address, &error) == -1);
	UNIT_STREQ(error, "master.cf, line 3: unknown parameter $nosuch");
	UNIT_CHECK(master_cf_service_address(&cf->entries[3], lookup,
					     &address, &error) == 1);
	UNIT_STREQ(address, "smtp");
	master_cf_free(&cf);
	/* only inet services, and only a parameter name after the $ */
	static const char *const bad[] = {
		"$x unix n - n - - y\n", "$ inet n - n - - y\n",
		"$a:b inet n - n - - y\n", "a$b inet n - n - - y\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		UNIT_CHECK(master_cf_parse("m.cf", bad[i], strlen(bad[i]),
					   &cf, &error) < 0);
		master_cf_free(&cf);
	}
}

/* The shipped master.cf parses and has the three services. */
static void test_shipped(void)
{
	struct master_cf *cf = NULL;
	const char *error, *srcdir = getenv("srcdir");
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/conf", srcdir != NULL ? srcdir : ".");
	if (access(dir, F_OK) != 0)
		return;
	UNIT_CHECK(master_cf_load(dir, &cf, &error) == 0);
	if (cf == NULL)
		return;
	UNIT_CHECK(master_cf_find(cf, "smtp", MASTER_CF_INET) != NULL);
	UNIT_CHECK(master_cf_find(cf, "qmgr", MASTER_CF_UNIX) != NULL);
	UNIT_CHECK(master_cf_find(cf, "local", MASTER_CF_UNIX) != NULL);
	master_cf_free(&cf);
}

int main(void)
{
	test_valid();
	test_errors();
	test_limits();
	test_load();
	test_shipped();
	test_param_address();
	return unit_done();
}
