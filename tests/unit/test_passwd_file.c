#include "config.h"
/* Unit tests for lib/passwd_file: the passwd-file parser and lookup, and
 * password verification/hashing for every scheme. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "passwd_file.h"
#include "unit.h"

#define SHA512_SECRET "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk" \
	"8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG."
#define SHA256_SECRET "$5$abcdefgh$gruCpC7VkOTspMQTTSAR8mtlO9Upms.fwqE5y16JVM."

static int parse_str(const char *text, struct passwd_file **pf_r,
		     const char **error_r)
{
	return passwd_file_parse(text, strlen(text), pf_r, error_r);
}

/* Files that parse, with the number of users they hold. */
static void test_valid(void)
{
	static const struct {
		const char *text;
		size_t users;
	} cases[] = {
		{ "", 0 },
		{ "\n\n", 0 },
		{ "# comment only\n", 0 },
		{ "  \t \n#x:y\n", 0 },
		{ "a@b.org:{PLAIN}x\n", 1 },
		{ "a@b.org:{PLAIN}x", 1 },	/* no final newline */
		{ "a@b.org:{PLAIN}x\r\n", 1 },
		{ "a@b.org\n", 1 },		/* only the user */
		{ "a@b.org:\n", 1 },
		{ "a@b.org:x:::::::\n", 1 },
		{ "a@b.org:x:1000:1000::/home/a::userdb_mail=maildir:~/M\n",
		  1 },
		{ "a:x\nb:y\n# c:z\n\nd:w\n", 3 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct passwd_file *pf = NULL;
		const char *error = NULL;

		UNIT_CHECK(parse_str(cases[i].text, &pf, &error) == 0);
		if (pf == NULL) {
			fprintf(stderr, "case %zu: %s\n", i, error);
			continue;
		}
		UNIT_CHECK(passwd_file_count(pf) == cases[i].users);
		passwd_file_free(&pf);
		UNIT_CHECK(pf == NULL);
	}
}

static void test_fields(void)
{
	const char *text = "# users\n"
		"bob@example.org:{SHA512-CRYPT}" SHA512_SECRET
		":1000:1001:Bob B:/home/bob:/bin/sh:"
		"userdb_quota_rule=*:storage=1G nopassword=y\n"
		"amy@example.org:{PLAIN}pw\n";
	const struct passwd_file_entry *e;
	struct passwd_file *pf;
	const char *error;

	UNIT_CHECK(parse_str(text, &pf, &error) == 0);
	UNIT_CHECK(passwd_file_lookup(pf, "bob@example.org", &e) == 1);
	UNIT_STREQ(e->user, "bob@example.org");
	UNIT_STREQ(e->password, "{SHA512-CRYPT}" SHA512_SECRET);
	UNIT_CHECK(e->has_uid && e->uid == 1000);
	UNIT_CHECK(e->has_gid && e->gid == 1001);
	UNIT_STREQ(e->gecos, "Bob B");
	UNIT_STREQ(e->home, "/home/bob");
	UNIT_STREQ(e->shell, "/bin/sh");
	UNIT_STREQ(e->extra, "userdb_quota_rule=*:storage=1G nopassword=y");
	/* case-insensitive over the whole name */
	UNIT_CHECK(passwd_file_lookup(pf, "BOB@Example.ORG", &e) == 1);
	UNIT_STREQ(e->user, "bob@example.org");
	UNIT_CHECK(passwd_file_lookup(pf, "amy@example.org", &e) == 1);
	UNIT_STREQ(e->password, "{PLAIN}pw");
	UNIT_CHECK(!e->has_uid && !e->has_gid);
	UNIT_STREQ(e->home, "");
	UNIT_STREQ(e->extra, "");
	UNIT_CHECK(passwd_file_lookup(pf, "bob", &e) == 0 && e == NULL);
	UNIT_CHECK(passwd_file_lookup(pf, "", &e) == 0);
	UNIT_CHECK(passwd_file_lookup(pf, "..", &e) == 0);
	UNIT_CHECK(passwd_file_lookup(pf, "nobody@example.org", &e) == 0);
	passwd_file_free(&pf);
}

/* Files that fail, with a substring of the error. */
static void test_invalid(void)
{
	static const struct {
		const char *text;
		size_t len;	/* 0: strlen */
		const char *error;
	} cases[] = {
		{ ":x\n", 0, "line 1: invalid user name" },
		{ "ok:x\n/etc/passwd:x\n", 0, "line 2: invalid user name" },
		{ "a/b:x\n", 0, "invalid user name" },
		{ "..:x\n", 0, "invalid user name" },
		{ ".:x\n", 0, "invalid user name" },
		{ "a b:x\n", 0, "invalid user name" },
		{ " a:x\n", 0, "invalid user name" },
		{ "a\tb:x\n", 0, "invalid user name" },
		{ "a\x01:x\n", 0, "invalid user name" },
		{ "a\x7f:x\n", 0, "invalid user name" },
		{ "\xc3\xa9t\xc3:x\n", 0, "invalid user name" },
		{ "a\0b:x\n", 6, "line 1: NUL byte" },
		{ "a:x:12a\n", 0, "invalid uid" },
		{ "a:x:-1\n", 0, "invalid uid" },
		{ "a:x:4294967295\n", 0, "invalid uid" },
		{ "a:x:1:99999999999\n", 0, "invalid gid" },
		{ "a:x\nb:y\nA:z\n", 0, "duplicate user" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct passwd_file *pf = NULL;
		const char *error = "";
		size_t len = cases[i].len ? cases[i].len :
			strlen(cases[i].text);

		UNIT_CHECK(passwd_file_parse(cases[i].text, len, &pf,
					     &error) == -1);
		UNIT_CHECK(pf == NULL);
		UNIT_CHECK(strstr(error, cases[i].error) != NULL);
		if (strstr(error, cases[i].error) == NULL)
			fprintf(stderr, "case %zu: got \"%s\"\n", i, error);
	}
}

static void test_user_names(void)
{
	char name[PASSWD_USER_MAX + 2];

	memset(name, 'a', sizeof(name));
	name[PASSWD_USER_MAX] = '\0';
	UNIT_CHECK(passwd_user_valid(name));
	name[PASSWD_USER_MAX] = 'a';
	name[PASSWD_USER_MAX + 1] = '\0';
	UNIT_CHECK(!passwd_user_valid(name));
	UNIT_CHECK(passwd_user_valid("a"));
	UNIT_CHECK(passwd_user_valid("..."));
	UNIT_CHECK(passwd_user_valid("a..b@x.org"));
	UNIT_CHECK(!passwd_user_valid(""));
	UNIT_CHECK(!passwd_user_valid(".."));
	UNIT_CHECK(!passwd_user_valid("a/"));
	UNIT_CHECK(!passwd_user_valid("a\n"));
	UNIT_CHECK(passwd_user_valid("\xc3\xa9t\xc3\xa9@example.test"));
	UNIT_CHECK(!passwd_user_valid("\xc3\xa9t\xc3"));	/* cut */
	UNIT_CHECK(!passwd_user_valid("\xc0\xaf"));	/* overlong '/' */
	UNIT_CHECK(!passwd_user_valid("a\x7f"));
}

/* A line of exactly n bytes ("u:" + padding), then '\n'. */
static int parse_line_of(size_t n, const char **error_r)
{
	struct passwd_file *pf = NULL;
	char *text = malloc(n + 2);
	int ret;

	if (text == NULL)
		return -2;
	memset(text, 'p', n);
	text[0] = 'u';
	text[1] = ':';
	text[n] = '\n';
	text[n + 1] = '\0';
	ret = passwd_file_parse(text, n + 1, &pf, error_r);
	passwd_file_free(&pf);
	free(text);
	return ret;
}

static void test_line_limit(void)
{
	struct passwd_file *pf = NULL;
	const char *error = "";

	UNIT_CHECK(parse_line_of(PASSWD_FILE_MAX_LINE - 1, &error) == 0);
	UNIT_CHECK(parse_line_of(PASSWD_FILE_MAX_LINE, &error) == 0);
	UNIT_CHECK(parse_line_of(PASSWD_FILE_MAX_LINE + 1, &error) == -1);
	UNIT_CHECK(strstr(error, "line 1: line too long") != NULL);
	/* the size is checked before any byte is read */
	UNIT_CHECK(passwd_file_parse("", PASSWD_FILE_MAX_SIZE + 1ul, &pf,
				     &error) == -1 && pf == NULL);
	UNIT_CHECK(strstr(error, "file too big") != NULL);
}

static void test_verify_vectors(void)
{
	static const struct {
		const char *stored, *password;
		bool allow_plain;
		int ret;
	} cases[] = {
		{ "{SHA512-CRYPT}" SHA512_SECRET, "secret", false, 1 },
		{ "{sha512-crypt}" SHA512_SECRET, "secret", false, 1 },
		{ "{SHA512-CRYPT}" SHA512_SECRET, "Secret", false, 0 },
		{ "{SHA512-CRYPT}" SHA512_SECRET, "", false, 0 },
		{ "{SHA512-CRYPT}" SHA512_SECRET, "secret ", false, 0 },
		{ "{CRYPT}" SHA512_SECRET, "secret", false, 1 },
		{ SHA512_SECRET, "secret", false, 1 },	/* default CRYPT */
		{ "{SHA256-CRYPT}" SHA256_SECRET, "secret", false, 1 },
		{ "{SHA256-CRYPT}" SHA256_SECRET, "wrong", false, 0 },
		{ "{SHA256-CRYPT}" SHA512_SECRET, "secret", false, -1 },
		{ "{SHA512-CRYPT}" SHA256_SECRET, "secret", false, -1 },
		{ "{BLF-CRYPT}" SHA512_SECRET, "secret", false, -1 },
		{ "{SHA512-CRYPT}$6$", "secret", false, -1 },
		{ "{SHA512-CRYPT}", "secret", false, -1 },
		{ "{SHA512-CRYPT}$6$abc$truncated", "secret", false, -1 },
		{ "{SHA512-CRYPT}" SHA512_SECRET "x", "secret", false, -1 },
		{ "{CRYPT}abJnggxhB/yWI", "secret", false, -1 }, /* DES */
		{ "{CRYPT}$1$abc$xyz", "secret", false, -1 },	/* MD5 */
		{ "", "secret", false, -1 },
		{ "{PLAIN}secret", "secret", false, -1 },
		{ "{PLAIN}secret", "secret", true, 1 },
		{ "{plain}secret", "secret", true, 1 },
		{ "{CLEAR}secret", "secret", true, 1 },
		{ "{PLAIN}secret", "secre", true, 0 },
		{ "{PLAIN}secret", "secret2", true, 0 },
		{ "{PLAIN}", "", true, 1 },
		{ "{MD5-CRYPT}$1$abc$xyz", "secret", true, -1 },
		{ "{SSHA}abc", "secret", true, -1 },
		{ "{NOSUCH}x", "secret", true, -1 },
		{ "{SHA512-CRYPT", "secret", true, -1 },
		/* scheme name longer than any known one: no '}' looked for */
		{ "{AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}x", "x", true, -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *error = NULL;
		int ret = passwd_verify(cases[i].stored, cases[i].password,
					cases[i].allow_plain, &error);

		UNIT_CHECK(ret == cases[i].ret);
		if (ret != cases[i].ret)
			fprintf(stderr, "verify case %zu: %d (%s)\n", i, ret,
				error ? error : "");
		if (ret < 0)
			UNIT_CHECK(error != NULL && *error != '\0');
	}
}

static void test_round_trip(void)
{
	static const struct {
		const char *scheme, *prefix;
	} cases[] = {
		{ NULL, "{SHA512-CRYPT}$6$" },
		{ "", "{SHA512-CRYPT}$6$" },
		{ "SHA512-CRYPT", "{SHA512-CRYPT}$6$" },
		{ "SHA256-CRYPT", "{SHA256-CRYPT}$5$" },
		{ "BLF-CRYPT", "{BLF-CRYPT}$2y$" },
		{ "CRYPT", "{CRYPT}$y$" },
		{ "crypt", "{CRYPT}$y$" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[PASSWD_HASH_MAX], out2[PASSWD_HASH_MAX];
		const char *error = NULL;

		UNIT_CHECK(passwd_hash(cases[i].scheme, "s3cr:t p\xc3\xa4ss",
				       out, sizeof(out), &error) == 0);
		UNIT_CHECK(strncmp(out, cases[i].prefix,
				   strlen(cases[i].prefix)) == 0);
		UNIT_CHECK(passwd_verify(out, "s3cr:t p\xc3\xa4ss", false,
					 &error) == 1);
		UNIT_CHECK(passwd_verify(out, "s3cr:t p\xc3\xa4sS", false,
					 &error) == 0);
		UNIT_CHECK(passwd_verify(out, "", false, &error) == 0);
		/* a fresh salt every time */
		UNIT_CHECK(passwd_hash(cases[i].scheme, "s3cr:t p\xc3\xa4ss",
				       out2, sizeof(out2), &error) == 0);
		UNIT_CHECK(strcmp(out, out2) != 0);
	}
}

static void test_hash_errors(void)
{
	char out[PASSWD_HASH_MAX], big[PASSWD_PASSWORD_MAX + 2];
	const char *error = NULL;

	UNIT_CHECK(passwd_hash("PLAIN", "x", out, sizeof(out), &error) == -1);
	UNIT_CHECK(passwd_hash("NOSUCH", "x", out, sizeof(out), &error) == -1);
	UNIT_CHECK(passwd_hash(NULL, "x", out, 20, &error) == -1);
	UNIT_STREQ(error, "output buffer too small");
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	UNIT_CHECK(passwd_hash(NULL, big, out, sizeof(out), &error) == -1);
	/* over-long candidate passwords never match */
	UNIT_CHECK(passwd_verify("{PLAIN}x", big, true, &error) == 0);
}

/* A file as authd would use it: lookup, then verify the stored hash. */
static void test_file_login(void)
{
	char hash[PASSWD_HASH_MAX];
	struct buf text;
	const struct passwd_file_entry *e;
	struct passwd_file *pf;
	const char *error = NULL;

	UNIT_CHECK(passwd_hash(NULL, "hunter2", hash, sizeof(hash),
			       &error) == 0);
	buf_init(&text, 4096);
	UNIT_CHECK(buf_printf(&text, "demo@example.org:%s:::::\n", hash) == 0);
	UNIT_CHECK(passwd_file_parse(text.data, text.len, &pf, &error) == 0);
	UNIT_CHECK(passwd_file_lookup(pf, "demo@example.org", &e) == 1);
	UNIT_CHECK(passwd_verify(e->password, "hunter2", false, &error) == 1);
	UNIT_CHECK(passwd_verify(e->password, "hunter3", false, &error) == 0);
	passwd_file_free(&pf);
	buf_deinit(&text);
}

int main(void)
{
	test_valid();
	test_fields();
	test_invalid();
	test_user_names();
	test_line_limit();
	test_verify_vectors();
	test_round_trip();
	test_hash_errors();
	test_file_login();
	return unit_done();
}
