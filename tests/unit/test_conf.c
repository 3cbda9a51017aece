/* Unit tests of lib/conf: main.cf syntax, $name expansion, the types and
 * their limits, warnings and error messages, conf_set and reloads; and of
 * lib/conf_file (the directory, reading a file, logical lines). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "conf.h"
#include "conf_file.h"
#include "unit.h"

static char warnings[4096];

static void collect(const char *msg)
{
	size_t len = strlen(warnings);

	if (len + strlen(msg) + 2 < sizeof(warnings)) {
		memcpy(warnings + len, msg, strlen(msg));
		memcpy(warnings + len + strlen(msg), "\n", 2);
	}
}

static int load(const char *text, const char **error_r)
{
	warnings[0] = '\0';
	return conf_load_buffer("test.cf", text, strlen(text), collect,
				error_r);
}

static void test_table(void)
{
	size_t n = 0;

	for (; conf_params[n].name != NULL; n++) {
		const struct conf_param *p = &conf_params[n];
		UNIT_CHECK(p->doc != NULL && p->doc[0] != '\0');
		if (n > 0)
			UNIT_CHECK(strcmp(conf_params[n - 1].name,
					  p->name) < 0);
		UNIT_CHECK(conf_param_find(p->name) == p);
	}
	UNIT_CHECK(n > 40);
	UNIT_CHECK(conf_param_find("no_such_thing") == NULL);
	UNIT_CHECK(conf_param_find("") == NULL);
	UNIT_CHECK(conf_param_find("smtpd") == NULL);
}

/* Defaults before any load, and computed defaults. */
static void test_defaults(void)
{
	const char *error;
	char host[256] = "";

	UNIT_CHECK(conf_int("smtpd_recipient_limit") == 1000);
	UNIT_CHECK(conf_size("message_size_limit") == 10240000);
	UNIT_CHECK(conf_time("maximal_queue_lifetime") == 5 * 86400);
	UNIT_CHECK(conf_bool("disable_vrfy_command"));
	UNIT_CHECK(load("", &error) == 0);
	UNIT_STREQ(conf_str("mail_version"), PACKAGE_VERSION);
	UNIT_STREQ(conf_str("config_directory"), SUREL_SYSCONFDIR);
	UNIT_STREQ(conf_dir(), SUREL_SYSCONFDIR);
	UNIT_STREQ(conf_str("daemon_directory"), SUREL_DAEMON_DIR);
	UNIT_CHECK(conf_int("local_destination_concurrency_limit") == 20);
	UNIT_STREQ(conf_raw("local_destination_concurrency_limit"),
		   "$default_destination_concurrency_limit");
	UNIT_CHECK(!conf_is_set("myhostname"));
	UNIT_CHECK(gethostname(host, sizeof(host) - 1) == 0);
	UNIT_STREQ(conf_str("myhostname"), host);
	UNIT_CHECK(load("myhostname = mx.example.org\n", &error) == 0);
	UNIT_STREQ(conf_str("mydomain"), "example.org");
	UNIT_STREQ(conf_str("myorigin"), "mx.example.org");
	UNIT_STREQ(conf_str("smtpd_banner"), "mx.example.org ESMTP surel");
	UNIT_CHECK(load("myhostname = box\n", &error) == 0);
	UNIT_STREQ(conf_str("mydomain"), "localdomain");
	UNIT_CHECK(load("myhostname = box.\n", &error) == 0);
	UNIT_STREQ(conf_str("mydomain"), "localdomain");
	UNIT_CHECK(load("myhostname = a.b\nmydomain = c.d\n", &error) == 0);
	UNIT_STREQ(conf_str("mydomain"), "c.d");
}

/* Syntax and expansion: each text sets mail_name and myhostname=h.x. */
static void test_syntax(void)
{
	static const struct {
		const char *text;
		const char *mail_name;
	} cases[] = {
		{ "mail_name = abc\n", "abc" },
		{ "mail_name=abc", "abc" },
		{ "mail_name   =   a b c   \n", "a b c" },
		{ "mail_name =\n", "" },
		{ "# comment\n\n   \nmail_name = x\n#x\n", "x" },
		{ "mail_name = a\n  b\n\tc\n", "a b c" },
		{ "mail_name = a\n  # not a continuation\n  b\n", "a b" },
		{ "mail_name = a\n\n  b\n", "a b" },
		{ "mail_name = a\r\n", "a" },
		{ "mail_name = a # b\n", "a # b" },
		{ "mail_name = a\nmail_name = b\n", "b" },
		{ "mail_name = $myhostname\n", "h.x" },
		{ "mail_name = ${myhostname}\n", "h.x" },
		{ "mail_name = $(myhostname)\n", "h.x" },
		{ "mail_name = <$myhostname>\n", "<h.x>" },
		{ "mail_name = $myhostname.y\n", "h.x.y" },
		{ "mail_name = $$myhostname\n", "$myhostname" },
		{ "mail_name = a$\n", "a$" },
		{ "mail_name = a$ b\n", "a$ b" },
		{ "mail_name = $undefined_thing!\n", "!" },
		{ "mail_name = $mydomain\n", "x" },
		{ "mail_name = ${myhostname?yes}\n", "yes" },
		{ "mail_name = ${myhostname:no}\n", "" },
		{ "mail_name = ${nothing?yes}\n", "" },
		{ "mail_name = ${nothing:no}\n", "no" },
		{ "mail_name = ${nothing:${myhostname}}\n", "h.x" },
		{ "mail_name = ${myhostname?{a}}\n", "{a}" },
		{ "my_var = v\nmail_name = $my_var\n", "v" },
		{ "mail_name = $my_var\nmy_var = $myhostname\n", "h.x" },
		{ "a = 1\nb = $a$a\nc = $b$b\nmail_name = $c$c\n", "11111111" },
		{ "mail_name = $maillog_file\n", "" },
	};
	const char *error;
	char text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(text, sizeof(text), "myhostname = h.x\n%s",
				 cases[i].text);
		UNIT_CHECK(n > 0 && (size_t)n < sizeof(text));
		int ret = load(text, &error);
		UNIT_CHECK(ret == 0);
		if (ret != 0) {
			fprintf(stderr, "case %zu: %s\n", i, error);
			continue;
		}
		UNIT_STREQ(conf_str("mail_name"), cases[i].mail_name);
		if (strcmp(conf_str("mail_name"), cases[i].mail_name) != 0)
			fprintf(stderr, "case %zu: got '%s'\n", i,
				conf_str("mail_name"));
	}
	UNIT_CHECK(load("mail_name = $myhostname\n", &error) == 0);
	UNIT_STREQ(conf_raw("mail_name"), "$myhostname");
	UNIT_CHECK(conf_is_set("mail_name"));
	UNIT_CHECK(!conf_is_set("mail_owner"));
}

/* Errors: every message names the source and the line. */
static void test_errors(void)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "mail_name = a\nsmtpd_timeout = x\n",
		  "test.cf, line 2: smtpd_timeout: bad time value 'x'" },
		{ "max_use = -1\n", "test.cf, line 1: max_use: bad integer "
		  "value '-1'" },
		{ "max_use = 2147483648\n", "test.cf, line 1: max_use: bad "
		  "integer value '2147483648'" },
		{ "max_use = 99999999999999999999999\n", "test.cf, line 1: "
		  "max_use: bad integer value '99999999999999999999999'" },
		{ "max_use = 1k\n", "test.cf, line 1: max_use: bad integer "
		  "value '1k'" },
		{ "max_use =\n", "test.cf, line 1: max_use: bad integer "
		  "value ''" },
		{ "max_idle = 10x\n", "test.cf, line 1: max_idle: bad time "
		  "value '10x'" },
		{ "max_idle = 10ss\n", "test.cf, line 1: max_idle: bad time "
		  "value '10ss'" },
		{ "max_idle = s\n", "test.cf, line 1: max_idle: bad time "
		  "value 's'" },
		{ "max_idle = 3551w\n", "test.cf, line 1: max_idle: bad time "
		  "value '3551w'" },
		{ "message_size_limit = 1t\n", "test.cf, line 1: "
		  "message_size_limit: bad size value '1t'" },
		{ "message_size_limit = 9000000000G\n", "test.cf, line 1: "
		  "message_size_limit: bad size value '9000000000G'" },
		{ "smtputf8_enable = maybe\n", "test.cf, line 1: "
		  "smtputf8_enable: bad boolean value 'maybe'" },
		{ "x = 1\n  y\nmax_use\n", "test.cf, line 3: missing '=' "
		  "after parameter name" },
		{ "= 1\n", "test.cf, line 1: bad parameter name ''" },
		{ "a b = 1\n", "test.cf, line 1: bad parameter name 'a b'" },
		{ "  a = 1\n", "test.cf, line 1: continuation line without a "
		  "parameter before it" },
		{ "max_use = \x01\n", "test.cf, line 1: max_use: bad integer "
		  "value '\\001'" },
		{ "a = 1\0", "test.cf: NUL byte in file" },
		{ "mail_name = ${myhostname\n", "test.cf, line 1: mail_name: "
		  "unbalanced '{' or '(' after '$'" },
		{ "mail_name = ${}\n", "test.cf, line 1: mail_name: bad "
		  "parameter name after '$'" },
		{ "mail_name = ${a b}\n", "test.cf, line 1: mail_name: bad "
		  "parameter name after '$'" },
		{ "mail_name = $mail_name\n", "test.cf, line 1: mail_name: "
		  "$name expansion nested too deeply (a loop?)" },
		{ "a = $b\nb = $a\n\nmail_name = x$a\n", "test.cf, line 4: "
		  "mail_name: $name expansion nested too deeply (a loop?)" },
		{ "max_use = $mail_name\nmail_name = 1x\n", "test.cf, line 1: "
		  "max_use: bad integer value '1x'" },
		{ "default_destination_concurrency_limit = 3\n"
		  "  x\n", "test.cf, line 1: "
		  "default_destination_concurrency_limit: bad integer value "
		  "'3 x'" },
	};
	const char *error;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *text = cases[i].text;
		size_t len = strlen(text);
		if (strcmp(text, "a = 1") == 0)
			len++;	/* the NUL case */
		warnings[0] = '\0';
		error = NULL;
		UNIT_CHECK(conf_load_buffer("test.cf", text, len, collect,
					    &error) == -1);
		UNIT_STREQ(error, cases[i].error);
		if (error == NULL || strcmp(error, cases[i].error) != 0)
			fprintf(stderr, "case %zu: got '%s'\n", i,
				error != NULL ? error : "(null)");
	}
}

static void test_types(void)
{
	static const struct {
		const char *name;
		const char *value;
		uint64_t number;
	} cases[] = {
		{ "max_use", "0", 0 },
		{ "max_use", "2147483647", 2147483647 },
		{ "max_idle", "10", 10 },
		{ "max_idle", "10s", 10 },
		{ "max_idle", "2m", 120 },
		{ "max_idle", "3h", 10800 },
		{ "max_idle", "2d", 172800 },
		{ "max_idle", "1w", 604800 },
		{ "max_idle", "3550w", 3550ull * 604800 },
		{ "message_size_limit", "0", 0 },
		{ "message_size_limit", "1k", 1024 },
		{ "message_size_limit", "1K", 1024 },
		{ "message_size_limit", "5m", 5ull << 20 },
		{ "message_size_limit", "2G", 2ull << 30 },
		{ "message_size_limit", "9223372036854775807",
		  9223372036854775807ull },
		{ "smtputf8_enable", "yes", 1 },
		{ "smtputf8_enable", "NO", 0 },
		{ "smtputf8_enable", "Yes", 1 },
	};
	const char *error;
	char text[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct conf_param *p = conf_param_find(cases[i].name);
		uint64_t got;
		snprintf(text, sizeof(text), "%s = %s\n", cases[i].name,
			 cases[i].value);
		UNIT_CHECK(load(text, &error) == 0);
		UNIT_CHECK(conf_check_value(p->type, cases[i].value,
					    &error) == 0);
		switch (p->type) {
		case CONF_INT: got = conf_int(cases[i].name); break;
		case CONF_TIME: got = conf_time(cases[i].name); break;
		case CONF_SIZE: got = conf_size(cases[i].name); break;
		default: got = conf_bool(cases[i].name); break;
		}
		UNIT_CHECK(got == cases[i].number);
	}
	UNIT_CHECK(conf_check_value(CONF_TIME, "1y", &error) == -1);
	UNIT_STREQ(error, "bad time value '1y'");
	UNIT_CHECK(conf_check_value(CONF_STR, "", &error) == 0);
	UNIT_CHECK(conf_check_value(CONF_LIST, "a, b", &error) == 0);
}

static void test_list(void)
{
	const char *error;
	char **list;

	UNIT_CHECK(load("virtual_mailbox_domains = a.test, b.test\n"
			"  c.test,,d.test\t\n", &error) == 0);
	list = conf_list("virtual_mailbox_domains");
	UNIT_STREQ(list[0], "a.test");
	UNIT_STREQ(list[1], "b.test");
	UNIT_STREQ(list[2], "c.test");
	UNIT_STREQ(list[3], "d.test");
	UNIT_CHECK(list[4] == NULL);
	free(list);
	list = conf_list("virtual_alias_maps");
	UNIT_CHECK(list[0] == NULL);
	free(list);
	UNIT_CHECK(load("mydomain = x.test\n"
			"virtual_mailbox_domains = $mydomain, , \n",
			&error) == 0);
	list = conf_list("virtual_mailbox_domains");
	UNIT_STREQ(list[0], "x.test");
	UNIT_CHECK(list[1] == NULL);
	free(list);
}

static void test_warnings(void)
{
	const char *error;

	UNIT_CHECK(load("mail_name = a\nbogus_param = 1\n", &error) == 0);
	UNIT_STREQ(warnings, "test.cf, line 2: unknown parameter: "
		   "bogus_param\n");
	UNIT_CHECK(conf_is_set("bogus_param"));
	UNIT_STREQ(conf_raw("bogus_param"), "1");
	UNIT_CHECK(conf_raw("other_param") == NULL);
	/* A name used as $name by a known parameter is not warned about. */
	UNIT_CHECK(load("my_name = x\nmail_name = $my_name\n", &error) == 0);
	UNIT_STREQ(warnings, "");
	UNIT_CHECK(load("mail_name = a\nmail_name = b\n", &error) == 0);
	UNIT_STREQ(warnings, "test.cf, line 2: overriding earlier entry: "
		   "mail_name=a\n");
	UNIT_CHECK(conf_load_buffer("x", "q = 1\n", 6, NULL, &error) == 0);
}

static void test_set(void)
{
	const char *error, *before;

	UNIT_CHECK(load("myhostname = h.test\nmax_use = 5\n", &error) == 0);
	before = conf_str("smtpd_banner");
	UNIT_CHECK(conf_set("max_use", "7", &error) == 0);
	UNIT_CHECK(conf_int("max_use") == 7);
	UNIT_CHECK(conf_set("max_use", "x", &error) == -1);
	UNIT_STREQ(error, "max_use: bad integer value 'x'");
	UNIT_CHECK(conf_int("max_use") == 7);
	UNIT_CHECK(conf_set("mail_name", "M", &error) == 0);
	UNIT_STREQ(conf_str("smtpd_banner"), "h.test ESMTP M");
	UNIT_STREQ(before, "h.test ESMTP surel");	/* still valid */
	UNIT_CHECK(conf_set("default_destination_concurrency_limit", "z",
			    &error) == -1);
	UNIT_STREQ(error, "default_destination_concurrency_limit: bad "
		   "integer value 'z'");
	UNIT_CHECK(conf_set("mail_name", "$mail_name", &error) == -1);
	UNIT_CHECK(conf_set("my_var", "9", &error) == 0);
	UNIT_CHECK(conf_set("max_use", "$my_var", &error) == 0);
	UNIT_CHECK(conf_int("max_use") == 9);
	UNIT_CHECK(conf_set("bad name", "9", &error) == -1);
	UNIT_CHECK(conf_set("myhostname", "a.b.c", &error) == 0);
	UNIT_STREQ(conf_str("mydomain"), "b.c");
}

static void test_reload(void)
{
	const char *error, *old;

	UNIT_CHECK(load("max_use = 5\nmail_name = first\n", &error) == 0);
	old = conf_str("mail_name");
	UNIT_CHECK(load("max_idle = 7\n", &error) == 0);
	UNIT_CHECK(conf_int("max_use") == 100);
	UNIT_CHECK(conf_time("max_idle") == 7);
	UNIT_STREQ(conf_str("mail_name"), "surel");
	UNIT_STREQ(old, "first");	/* survives one reload */
	/* A failed load keeps the configuration in force. */
	UNIT_CHECK(load("max_idle = bad\n", &error) == -1);
	UNIT_CHECK(conf_time("max_idle") == 7);
}

static void test_files(void)
{
	char dir[] = "/tmp/test_conf.XXXXXX";
	char path[256];
	const char *error;
	FILE *f;

	UNIT_CHECK(conf_load("", collect, &error) == -1);
	UNIT_STREQ(error, "main.cf: empty configuration directory name");
	UNIT_CHECK(mkdtemp(dir) != NULL);
	UNIT_CHECK(conf_load(dir, collect, &error) == -1);
	snprintf(path, sizeof(path), "%s/main.cf: cannot open: No such file "
		 "or directory", dir);
	UNIT_STREQ(error, path);
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	f = fopen(path, "w");
	UNIT_CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs("# test\nqueue_directory = /q\nmax_use = 1\nmax_idle = z\n", f);
	fclose(f);
	UNIT_CHECK(conf_load(dir, collect, &error) == -1);
	snprintf(path, sizeof(path), "%s/main.cf, line 4: max_idle: bad time "
		 "value 'z'", dir);
	UNIT_STREQ(error, path);
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	f = fopen(path, "w");
	fputs("queue_directory = /q\n", f);
	fclose(f);
	UNIT_CHECK(conf_load(dir, collect, &error) == 0);
	UNIT_STREQ(conf_dir(), dir);
	UNIT_STREQ(conf_str("config_directory"), dir);
	UNIT_STREQ(conf_str("queue_directory"), "/q");
	unlink(path);
	rmdir(dir);
}

/* -c, then $SUREL_CONFIG_DIR, then the compiled-in directory; a main.cf
 * that is not a regular file. */
static void test_conf_file(void)
{
	char dir[] = "/tmp/test_conf.XXXXXX";
	char path[256], want[512];
	const char *error;

	UNIT_CHECK(unsetenv("SUREL_CONFIG_DIR") == 0);
	UNIT_STREQ(conf_file_dir(NULL), SUREL_SYSCONFDIR);
	UNIT_STREQ(conf_file_dir(""), SUREL_SYSCONFDIR);
	UNIT_STREQ(conf_file_dir("/c"), "/c");
	UNIT_CHECK(setenv("SUREL_CONFIG_DIR", "", 1) == 0);
	UNIT_STREQ(conf_file_dir(NULL), SUREL_SYSCONFDIR);
	UNIT_CHECK(setenv("SUREL_CONFIG_DIR", "/env", 1) == 0);
	UNIT_STREQ(conf_file_dir(NULL), "/env");
	UNIT_STREQ(conf_file_dir(""), "/env");
	UNIT_STREQ(conf_file_dir("/c"), "/c");
	UNIT_CHECK(unsetenv("SUREL_CONFIG_DIR") == 0);

	UNIT_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/main.cf", dir);
	UNIT_CHECK(mkdir(path, 0700) == 0);
	UNIT_CHECK(conf_load(dir, collect, &error) == -1);
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	UNIT_STREQ(error, want);
	rmdir(path);
	rmdir(dir);
}

/* The bounds: a logical line at and over 64 KiB, a file over 4 MiB, an
 * expansion that would explode. */
static void test_limits(void)
{
	struct buf b;
	const char *error;
	size_t len;

	buf_init(&b, 8u << 20);
	/* "mail_name = " is 12 bytes: a logical line of exactly 65536 */
	UNIT_CHECK(buf_append_str(&b, "mail_name = ") == 0);
	while (b.len < 65536 && buf_append_char(&b, 'x') == 0)
		;
	UNIT_CHECK(load(b.data, &error) == 0);
	UNIT_CHECK(strlen(conf_str("mail_name")) == 65536 - 12);
	UNIT_CHECK(buf_append_char(&b, 'x') == 0);
	UNIT_CHECK(load(b.data, &error) == -1);
	UNIT_STREQ(error, "test.cf, line 1: line too long (more than 65536 "
		   "bytes)");
	/* continuation joins count too */
	buf_truncate(&b, 65530);
	UNIT_CHECK(buf_append_str(&b, "\n abcdef\n") == 0);
	UNIT_CHECK(load(b.data, &error) == -1);
	buf_reset(&b);
	while (b.len <= (4u << 20) &&
	       buf_append_str(&b, "# padding padding\n") == 0)
		;
	UNIT_CHECK(load(b.data, &error) == -1);
	UNIT_STREQ(error, "test.cf: file too large (more than 4194304 "
		   "bytes)");
	/* 2^20 copies of a 64-byte value: stopped by the bounds. */
	buf_reset(&b);
	UNIT_CHECK(buf_append_str(&b, "v0 = 0123456789012345678901234567890"
				  "1234567890123456789012345678901\n") == 0);
	for (int i = 1; i <= 20; i++)
		UNIT_CHECK(buf_printf(&b, "v%d = $v%d$v%d\n", i, i - 1,
				      i - 1) == 0);
	UNIT_CHECK(buf_append_str(&b, "mail_name = $v20\n") == 0);
	UNIT_CHECK(load(b.data, &error) == -1);
	len = strlen("test.cf, line 22: mail_name: ");
	UNIT_CHECK(strncmp(error, "test.cf, line 22: mail_name: ", len) == 0);
	/* the same with empty values: the reference budget stops it */
	buf_reset(&b);
	UNIT_CHECK(buf_append_str(&b, "v0 =\n") == 0);
	for (int i = 1; i <= 18; i++)
		UNIT_CHECK(buf_printf(&b, "v%d = $v%d$v%d$v%d\n", i, i - 1,
				      i - 1, i - 1) == 0);
	UNIT_CHECK(buf_append_str(&b, "mail_name = $v18\n") == 0);
	UNIT_CHECK(load(b.data, &error) == -1);
	UNIT_STREQ(error, "test.cf, line 20: mail_name: too many $name "
		   "references");
	/* at most 512 unknown names */
	buf_reset(&b);
	for (int i = 0; i < 513; i++)
		UNIT_CHECK(buf_printf(&b, "p%d = 1\n", i) == 0);
	UNIT_CHECK(load(b.data, &error) == -1);
	UNIT_STREQ(error, "test.cf, line 513: too many unknown parameters");
	buf_deinit(&b);
}

int main(void)
{
	test_table();
	test_defaults();
	test_syntax();
	test_errors();
	test_types();
	test_list();
	test_warnings();
	test_set();
	test_reload();
	test_files();
	test_conf_file();
	test_limits();
	return unit_done();
}
