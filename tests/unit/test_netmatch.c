/* Unit tests of lib/netmatch (mynetworks) and lib/local_domains (the
 * plain-name part of virtual_mailbox_domains, shared by smtpd and qmgr). */
#include "config.h"
#include <stddef.h>
#include "local_domains.h"
#include "netmatch.h"
#include "unit.h"

static void test_default(void)
{
	char *words[] = { "127.0.0.0/8", "[::1]/128", NULL };
	struct netmatch *nm = NULL;
	const char *error;

	UNIT_CHECK(netmatch_parse(words, &nm, &error) == 0);
	UNIT_CHECK(netmatch_has(nm, "127.0.0.1"));
	UNIT_CHECK(netmatch_has(nm, "127.255.3.4"));
	UNIT_CHECK(netmatch_has(nm, "::1"));
	UNIT_CHECK(!netmatch_has(nm, "128.0.0.1"));
	UNIT_CHECK(!netmatch_has(nm, "::2"));
	UNIT_CHECK(!netmatch_has(nm, "unknown"));
	UNIT_CHECK(!netmatch_has(nm, ""));
	netmatch_free(&nm);
	UNIT_CHECK(nm == NULL);
	netmatch_free(&nm);
}

static void test_prefixes(void)
{
	char *words[] = { "192.0.2.0/25", "2001:db8::/33", "198.51.100.7",
			  "10.1.2.3/0x", NULL };
	char *good[] = { "192.0.2.0/25", "2001:db8::/33", "198.51.100.7",
			 "203.0.113.9/22", NULL };
	struct netmatch *nm = NULL;
	const char *error;

	UNIT_CHECK(netmatch_parse(words, &nm, &error) < 0);
	UNIT_STREQ(error, "bad network \"10.1.2.3/0x\"");
	UNIT_CHECK(nm == NULL);
	UNIT_CHECK(netmatch_parse(good, &nm, &error) == 0);
	UNIT_CHECK(netmatch_has(nm, "192.0.2.127"));
	UNIT_CHECK(!netmatch_has(nm, "192.0.2.128"));
	UNIT_CHECK(netmatch_has(nm, "2001:db8:7fff::1"));
	UNIT_CHECK(!netmatch_has(nm, "2001:db8:8000::1"));
	UNIT_CHECK(netmatch_has(nm, "198.51.100.7"));
	UNIT_CHECK(!netmatch_has(nm, "198.51.100.8"));
	/* Host bits are masked: 203.0.112.0/22. */
	UNIT_CHECK(netmatch_has(nm, "203.0.112.1"));
	UNIT_CHECK(!netmatch_has(nm, "203.0.116.1"));
	netmatch_free(&nm);
	char *bad[][2] = { { "1.2.3.4/33", NULL }, { "::1/129", NULL },
			   { "[1.2.3]", NULL }, { "/8", NULL },
			   { "1.2.3.4/-1", NULL }, { "1.2.3.4/", NULL } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		UNIT_CHECK(netmatch_parse(bad[i], &nm, &error) < 0);
}

static void test_local_domains(void)
{
	char *words[] = { "Example.TEST", "other.test", NULL };
	char *none[] = { NULL };
	struct local_domains *ld = NULL;
	const char *error;

	UNIT_CHECK(local_domains_open(words, &ld, &error) == 0);
	UNIT_CHECK(local_domains_match(ld, "example.test", &error) == 1);
	UNIT_CHECK(local_domains_match(ld, "OTHER.test", &error) == 1);
	UNIT_CHECK(local_domains_match(ld, "remote.test", &error) == 0);
	UNIT_CHECK(local_domains_match(ld, "sub.example.test", &error) == 0);
	UNIT_STREQ(local_domains_first(ld), "Example.TEST");
	local_domains_free(&ld);
	UNIT_CHECK(ld == NULL);
	UNIT_CHECK(local_domains_open(none, &ld, &error) == 0);
	UNIT_CHECK(local_domains_first(ld) == NULL);
	UNIT_CHECK(local_domains_match(ld, "example.test", &error) == 0);
	local_domains_free(&ld);
	char *badmap[] = { "nosuchtype:/x", NULL };
	UNIT_CHECK(local_domains_open(badmap, &ld, &error) < 0);
	UNIT_CHECK(ld == NULL);
}

int main(void)
{
	test_default();
	test_prefixes();
	test_local_domains();
	return unit_done();
}
