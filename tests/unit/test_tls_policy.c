/* Unit tests of lib/tls_policy: every level and attribute form of an
 * smtp_tls_policy_maps value, the errors (unknown words, attributes at a
 * level that does not take them, repeats, bad names), and the bounds
 * (value length, name count, label and name length: limit-1, limit,
 * limit+1). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "tls_policy.h"
#include "unit.h"

static void test_levels(void)
{
	static const struct {
		const char *word;
		enum tls_policy_level level;
		bool supported;
	} t[] = {
		{ "none", TLS_POLICY_NONE, true },
		{ "may", TLS_POLICY_MAY, true },
		{ "encrypt", TLS_POLICY_ENCRYPT, true },
		{ "dane", TLS_POLICY_DANE, false },
		{ "dane-only", TLS_POLICY_DANE_ONLY, false },
		{ "fingerprint", TLS_POLICY_FINGERPRINT, false },
		{ "verify", TLS_POLICY_VERIFY, true },
		{ "secure", TLS_POLICY_SECURE, true },
		{ "  SECURE ", TLS_POLICY_SECURE, true },
		{ "Verify,", TLS_POLICY_VERIFY, true },
	};
	struct tls_policy p;
	const char *error;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		UNIT_CHECK(tls_policy_parse(t[i].word, &p, &error) == 0);
		UNIT_CHECK(p.level == t[i].level);
		UNIT_CHECK(p.supported == t[i].supported);
		UNIT_CHECK(p.match == NULL && p.protocols == NULL &&
			   p.ciphers == NULL && p.exclude == NULL &&
			   p.tafile == NULL && p.connection_reuse == -1 &&
			   p.servername == NULL);
		tls_policy_deinit(&p);
	}
	enum tls_policy_level l;
	for (int i = TLS_POLICY_NONE; i <= TLS_POLICY_SECURE; i++) {
		const char *name = tls_policy_level_name(i);
		UNIT_CHECK(tls_policy_level_parse(name, &l) == 0 &&
			   (int)l == i);
	}
	UNIT_CHECK(tls_policy_level_parse("dane_only", &l) == -1);
	UNIT_CHECK(tls_policy_level_parse("", &l) == -1);
	UNIT_STREQ(tls_policy_level_name(99), "unknown");
	UNIT_CHECK(TLS_POLICY_SECURE > TLS_POLICY_VERIFY &&
		   TLS_POLICY_VERIFY > TLS_POLICY_ENCRYPT &&
		   TLS_POLICY_ENCRYPT > TLS_POLICY_MAY);
}

static void test_attributes(void)
{
	struct tls_policy p;
	const char *error = NULL;

	UNIT_CHECK(tls_policy_parse("secure match=nexthop:Dot-Nexthop:"
				    "MX.Example.COM:.example.net "
				    "protocols=>=TLSv1.2:!TLSv1.1,"
				    "ciphers=HIGH exclude=aNULL:DES-CBC3-SHA\t"
				    "tafile=/etc/ta.pem tafile=/etc/ta2.pem "
				    "connection_reuse=Yes servername=hostname"
				    " match=hostname", &p, &error) == 0);
	UNIT_CHECK(p.level == TLS_POLICY_SECURE && p.supported);
	UNIT_CHECK(p.match_count == 5);
	if (p.match_count == 5) {
		UNIT_STREQ(p.match[0], "nexthop");
		UNIT_STREQ(p.match[1], "dot-nexthop");
		UNIT_STREQ(p.match[2], "mx.example.com");
		UNIT_STREQ(p.match[3], ".example.net");
		UNIT_STREQ(p.match[4], "hostname");
	}
	UNIT_STREQ(p.protocols, ">=TLSv1.2:!TLSv1.1");
	UNIT_STREQ(p.ciphers, "high");
	UNIT_STREQ(p.exclude, "aNULL:DES-CBC3-SHA");
	UNIT_CHECK(p.tafile_count == 2);
	if (p.tafile_count == 2) {
		UNIT_STREQ(p.tafile[0], "/etc/ta.pem");
		UNIT_STREQ(p.tafile[1], "/etc/ta2.pem");
	}
	UNIT_CHECK(p.connection_reuse == 1);
	UNIT_STREQ(p.servername, "hostname");
	tls_policy_deinit(&p);
	UNIT_CHECK(p.match == NULL && p.match_count == 0 &&
		   p.connection_reuse == -1);
	tls_policy_deinit(&p);	/* twice is harmless */

	/* Empty items of a list are skipped, as Postfix does. */
	UNIT_CHECK(tls_policy_parse("verify match=:a.example::b.example:",
				    &p, &error) == 0);
	UNIT_CHECK(p.match_count == 2);
	tls_policy_deinit(&p);

	/* Fingerprints: "|" separated, with or without colons. */
	UNIT_CHECK(tls_policy_parse("fingerprint match=AB:cd:01|abcdef01 "
				    "match=00:11", &p, &error) == 0);
	UNIT_CHECK(p.level == TLS_POLICY_FINGERPRINT && !p.supported);
	UNIT_CHECK(p.match_count == 3);
	if (p.match_count == 3) {
		UNIT_STREQ(p.match[0], "ab:cd:01");
		UNIT_STREQ(p.match[1], "abcdef01");
		UNIT_STREQ(p.match[2], "00:11");
	}
	tls_policy_deinit(&p);

	static const char *const good[] = {
		"may protocols=TLSv1.3 ciphers=medium exclude=RC4",
		"encrypt protocols=<=TLSv1.3:>=tlsv1.2 ciphers=low",
		"dane ciphers=export connection_reuse=no",
		"dane-only protocols=!SSLv2:!SSLv3",
		"may servername=mail.example.com",
		"verify match=example.com ciphers=null",
		"encrypt,protocols=TLSv1.2,,",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		UNIT_CHECK(tls_policy_parse(good[i], &p, &error) == 0);
		tls_policy_deinit(&p);
	}
	UNIT_CHECK(tls_policy_parse("may connection_reuse=NO", &p,
				    &error) == 0 && p.connection_reuse == 0);
	tls_policy_deinit(&p);
}

static void expect_error(const char *value, const char *what)
{
	struct tls_policy p;
	const char *error = "";

	UNIT_CHECK(tls_policy_parse(value, &p, &error) == -1);
	UNIT_CHECK(p.match == NULL && p.protocols == NULL &&
		   p.ciphers == NULL && p.tafile == NULL);
	if (strstr(error, what) == NULL) {
		fprintf(stderr, "\"%.80s\": error \"%s\" lacks \"%s\"\n",
			value, error, what);
		UNIT_CHECK(false);
	}
	tls_policy_deinit(&p);
}

static void test_errors(void)
{
	static const struct {
		const char *value, *error;
	} t[] = {
		{ "", "empty TLS policy" },
		{ " , \t", "empty TLS policy" },
		{ "maybe", "unknown TLS security level 'maybe'" },
		{ "match=x", "unknown TLS security level" },
		{ "may foo=bar", "unknown attribute 'foo'" },
		{ "may protocols", "not a name=value" },
		{ "may =x", "not a name=value" },
		{ "none protocols=TLSv1.2", "not valid at level none" },
		{ "may match=example.com", "not valid at level may" },
		{ "encrypt match=example.com", "not valid at level encrypt" },
		{ "dane match=example.com", "not valid at level dane" },
		{ "encrypt tafile=/x", "not valid at level encrypt" },
		{ "verify match=", "match: empty value" },
		{ "verify match=:", "invalid name '(empty list)'" },
		{ "verify match=a..b", "invalid name 'a..b'" },
		{ "verify match=a.b.", "invalid name" },
		{ "verify match=..a", "invalid name" },
		{ "verify match=*.example.com", "invalid name '*.example.com'" },
		{ "verify match=a|b", "invalid name" },
		{ "verify match=a/b", "invalid name" },
		{ "fingerprint match=zz", "invalid fingerprint 'zz'" },
		{ "fingerprint match=abc", "invalid fingerprint" },
		{ "fingerprint match=ab:c", "invalid fingerprint" },
		{ "fingerprint match=ab:cd:", "invalid fingerprint" },
		{ "fingerprint match=abc:d", "invalid fingerprint" },
		{ "fingerprint match=a", "invalid fingerprint" },
		{ "may protocols=TLSv1.4", "unknown protocol 'TLSv1.4'" },
		{ "may protocols=>TLSv1.2", "unknown protocol" },
		{ "may protocols=TLSv1.2 protocols=TLSv1.3",
		  "protocols given more than once" },
		{ "may ciphers=strong", "not a cipher grade" },
		{ "may ciphers=high ciphers=low", "ciphers given more than once" },
		{ "may exclude=RC4;", "invalid cipher 'RC4;'" },
		{ "may exclude=!RC4", "invalid cipher" },
		{ "may exclude=a exclude=b", "exclude given more than once" },
		{ "verify tafile=relative.pem", "not an absolute path" },
		{ "may connection_reuse=maybe", "not yes or no" },
		{ "may connection_reuse=yes connection_reuse=no",
		  "more than once" },
		{ "may servername=.example.com", "not a DNS name" },
		{ "may servername=a servername=b", "more than once" },
		{ "may\x01", "control" },
		{ "may\nprotocols=TLSv1.2", "control" },
		{ "may servername=caf\xc3\xa9.example", "non-ASCII" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		expect_error(t[i].value, t[i].error);
}

/* "verify match=" followed by n names of the given length joined by
 * ":", each a label run such as "aaa.aaa". */
static struct buf names_buf;

static const char *names_value(size_t n, size_t len)
{
	struct buf *b = &names_buf;

	buf_deinit(b);
	buf_init(b, 100000);
	unit_put(b, "verify match=");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			unit_put(b, ":");
		for (size_t j = 0; j < len; j++)
			unit_put(b, "%c", j % 61 == 60 ? '.' : 'a');
	}
	return buf_cstr(b);
}

static void test_limits(void)
{
	struct tls_policy p;
	const char *error;
	struct buf b;

	/* Count of names: 32 taken, 33 refused; also across attributes. */
	UNIT_CHECK(tls_policy_parse(names_value(31, 3), &p, &error) == 0);
	tls_policy_deinit(&p);
	UNIT_CHECK(tls_policy_parse(names_value(32, 3), &p, &error) == 0 &&
		   p.match_count == 32);
	tls_policy_deinit(&p);
	expect_error(names_value(33, 3), "more than 32 match values");

	/* One name: 253 characters at most. */
	UNIT_CHECK(tls_policy_parse(names_value(1, 252), &p, &error) == 0);
	tls_policy_deinit(&p);
	UNIT_CHECK(tls_policy_parse(names_value(1, 253), &p, &error) == 0);
	tls_policy_deinit(&p);
	expect_error(names_value(1, 254), "invalid name");

	/* One label: 63 at most. */
	buf_init(&b, 1000);
	for (size_t len = 62; len <= 64; len++) {
		buf_reset(&b);
		unit_put(&b, "verify match=");
		for (size_t j = 0; j < len; j++)
			unit_put(&b, "x");
		unit_put(&b, ".example");
		int ret = tls_policy_parse(buf_cstr(&b), &p, &error);
		UNIT_CHECK(ret == (len <= 63 ? 0 : -1));
		tls_policy_deinit(&p);
	}
	buf_deinit(&b);

	/* The whole value: TLS_POLICY_VALUE_MAX octets at most. */
	buf_init(&b, TLS_POLICY_VALUE_MAX + 10);
	for (size_t len = TLS_POLICY_VALUE_MAX - 1;
	     len <= TLS_POLICY_VALUE_MAX + 1; len++) {
		buf_reset(&b);
		unit_put(&b, "may");
		while (b.len < len)
			unit_put(&b, " ");
		int ret = tls_policy_parse(buf_cstr(&b), &p, &error);
		UNIT_CHECK(ret == (len <= TLS_POLICY_VALUE_MAX ? 0 : -1));
		if (ret < 0)
			UNIT_CHECK(strstr(error, "longer than") != NULL);
		tls_policy_deinit(&p);
	}
	buf_deinit(&b);

	/* tafile count. */
	buf_init(&b, 10000);
	unit_put(&b, "secure");
	for (int i = 0; i < 33; i++)
		unit_put(&b, " tafile=/t%d", i);
	expect_error(buf_cstr(&b), "more than 32 tafile values");
	buf_deinit(&b);
	buf_deinit(&names_buf);
}

int main(void)
{
	test_levels();
	test_attributes();
	test_errors();
	test_limits();
	return unit_done();
}
