/* Unit tests of lib/transport: every entry form, each malformed one, the
 * limits (port, host name, text) at limit-1 / limit / limit+1, and the
 * order of the lookup keys. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "str.h"
#include "transport.h"
#include "unit.h"

#define NONE TRANSPORT_HOST_NONE
#define DOM TRANSPORT_HOST_DOMAIN
#define V4 TRANSPORT_HOST_IPV4
#define V6 TRANSPORT_HOST_IPV6
#define UNIX TRANSPORT_HOST_UNIX

static const struct {
	const char *in;
	enum transport_type type;
	const char *name;
	enum transport_host kind;
	const char *host;
	bool mx;
	unsigned port;
} host_cases[] = {
	{ "smtp:", TRANSPORT_SMTP, "smtp", NONE, "", true, 0 },
	{ "smtp", TRANSPORT_SMTP, "smtp", NONE, "", true, 0 },
	{ "relay:", TRANSPORT_SMTP, "relay", NONE, "", true, 0 },
	{ "smtp:Example.COM", TRANSPORT_SMTP, "smtp", DOM, "example.com",
	  true, 0 },
	{ "smtp:example.com:2525", TRANSPORT_SMTP, "smtp", DOM, "example.com",
	  true, 2525 },
	{ "smtp:[mail.example.com]", TRANSPORT_SMTP, "smtp", DOM,
	  "mail.example.com", false, 0 },
	{ "smtp:[mail.example.com]:587", TRANSPORT_SMTP, "smtp", DOM,
	  "mail.example.com", false, 587 },
	{ "smtp:[192.0.2.1]", TRANSPORT_SMTP, "smtp", V4, "192.0.2.1", false,
	  0 },
	{ "smtp:[192.0.2.1]:25", TRANSPORT_SMTP, "smtp", V4, "192.0.2.1",
	  false, 25 },
	{ "smtp:[IPv6:2001:DB8::1]", TRANSPORT_SMTP, "smtp", V6,
	  "2001:db8::1", false, 0 },
	{ "smtp:[ipv6:2001:db8:0:0:0:0:0:1]:65535", TRANSPORT_SMTP, "smtp",
	  V6, "2001:db8::1", false, 65535 },
	{ "smtp:[2001:db8::1]:1", TRANSPORT_SMTP, "smtp", V6, "2001:db8::1",
	  false, 1 },
	{ "smtp:[::ffff:192.0.2.1]", TRANSPORT_SMTP, "smtp", V6,
	  "::ffff:192.0.2.1", false, 0 },
	{ "lmtp:[127.0.0.1]:24", TRANSPORT_LMTP, "lmtp", V4, "127.0.0.1",
	  false, 24 },
	{ "lmtp:inet:localhost:2003", TRANSPORT_LMTP, "lmtp", DOM,
	  "localhost", false, 2003 },
	{ "lmtp:host.example", TRANSPORT_LMTP, "lmtp", DOM, "host.example",
	  false, 0 },
	{ "lmtp:unix:/run/lmtp", TRANSPORT_LMTP, "lmtp", UNIX, "/run/lmtp",
	  false, 0 },
	{ "local:", TRANSPORT_LOCAL, "local", NONE, "", false, 0 },
	{ "local:mail.Example.com", TRANSPORT_LOCAL, "local", DOM,
	  "mail.example.com", false, 0 },
	{ ":", TRANSPORT_KEEP, "", NONE, "", true, 0 },
	{ ":[gw.example]", TRANSPORT_KEEP, "", DOM, "gw.example", false, 0 },
	{ ":gw.example:26", TRANSPORT_KEEP, "", DOM, "gw.example", true, 26 },
	{ "smtp:xn--bcher-kva.example", TRANSPORT_SMTP, "smtp", DOM,
	  "xn--bcher-kva.example", true, 0 },
};

static const struct {
	const char *in;
	const char *error;	/* a substring of the error */
} bad_cases[] = {
	{ "", "empty transport entry" },
	{ "uucp:example", "unknown transport \"uucp\"" },
	{ "SMTP:example.com", "unknown transport \"SMTP\"" },
	{ "smtp :example.com", "unknown transport (with a space" },
	{ "virtual:", "unknown transport" },
	{ "smtp:example.com:0", "bad port \"0\"" },
	{ "smtp:example.com:70000", "bad port \"70000\"" },
	{ "smtp:example.com:65536", "bad port \"65536\"" },
	{ "smtp:example.com:abc", "bad port \"abc\": a number" },
	{ "smtp:example.com:smtp", "service names are not supported" },
	{ "smtp:example.com:", "bad port \"\"" },
	{ "smtp:example.com:+25", "bad port" },
	{ "smtp:example.com:025x", "bad port" },
	{ "smtp:example.com:000025", "bad port" },
	{ "smtp:[192.0.2.1]:0", "bad port" },
	{ "smtp:[example.com", "unbalanced brackets: no ']'" },
	{ "smtp:example.com]", "unbalanced brackets: no '['" },
	{ "smtp:[[example.com]]", "unbalanced brackets" },
	{ "smtp:[example.com]x", "junk after ']'" },
	{ "smtp:[example.com]]", "unbalanced brackets" },
	{ "smtp:[]", "empty host name" },
	{ "smtp::25", "empty host name" },
	{ "smtp:192.0.2.1", "must be in [brackets]" },
	{ "smtp:2001:db8::1", "IPv6 address must be in [brackets]" },
	{ "smtp:[IPv6:192.0.2.1]", "bad IPv6 address" },
	{ "smtp:[IPv6:zz::1]", "bad IPv6 address" },
	{ "smtp:[192.0.2.256]", "bad host name" },
	{ "smtp:10.1", "bad host name" },
	{ "smtp:host.123", "bad host name" },
	{ "smtp:exa_mple.com", "bad host name" },
	{ "smtp:-example.com", "bad host name" },
	{ "smtp:example..com", "bad host name" },
	{ "smtp:b\xc3\xbc" "cher.example", "bad host name" },
	{ "smtp:a.example, b.example", "lists of next-hop" },
	{ "smtp:a.example b.example", "lists of next-hop" },
	{ "lmtp:unix:run/lmtp", "not absolute" },
	{ "lmtp:unix:/run/l mtp", "space in unix socket path" },
	{ "local:example.com:25", "local: takes only a host name" },
	{ "local:[192.0.2.1]", "local: takes only a host name" },
	{ "error:450 4.1.1 x", "needs a 5XX code" },
	{ "error:4.1.1 x", "needs a 5.X.X code" },
	{ "error:550 4.1.1 x", "needs a 5.X.X code" },
	{ "error:560 x", "needs a 5XX code" },
	{ "retry:550 x", "needs a 4XX code" },
	{ "retry:5.0.0 x", "needs a 4.X.X code" },
	{ "error:a\x01z", "control character" },
	{ "discard:\xff", "not valid UTF-8" },
};

static void test_hosts(void)
{
	for (size_t i = 0; i < sizeof(host_cases) / sizeof(*host_cases); i++) {
		struct transport_entry e;
		const char *error = NULL;
		int ret = transport_parse(host_cases[i].in, &e, &error);

		if (ret < 0)
			fprintf(stderr, "%s: %s\n", host_cases[i].in, error);
		UNIT_CHECK(ret == 0);
		UNIT_CHECK(e.type == host_cases[i].type);
		UNIT_STREQ(e.name, host_cases[i].name);
		UNIT_CHECK(e.nexthop.kind == host_cases[i].kind);
		UNIT_STREQ(e.nexthop.host, host_cases[i].host);
		UNIT_CHECK(e.nexthop.mx == host_cases[i].mx);
		UNIT_CHECK(e.nexthop.port == host_cases[i].port);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(*bad_cases); i++) {
		struct transport_entry e;
		const char *error = NULL;

		UNIT_CHECK(transport_parse(bad_cases[i].in, &e, &error) == -1);
		if (error == NULL || strstr(error, bad_cases[i].error) == NULL)
			fprintf(stderr, "%s: %s\n", bad_cases[i].in,
				error ? error : "(null)");
		UNIT_CHECK(error != NULL &&
			   strstr(error, bad_cases[i].error) != NULL);
		/* Nothing half-filled is left behind. */
		UNIT_CHECK(e.type == TRANSPORT_KEEP && e.name[0] == '\0' &&
			   e.nexthop.host[0] == '\0');
	}
}

static void test_failures(void)
{
	static const struct {
		const char *in;
		enum transport_type type;
		unsigned code;
		const char *status, *text;
	} cases[] = {
		{ "error:", TRANSPORT_ERROR, 550, "5.0.0", "" },
		{ "error:User unknown", TRANSPORT_ERROR, 550, "5.0.0",
		  "User unknown" },
		{ "error:5.1.1 User unknown", TRANSPORT_ERROR, 550, "5.1.1",
		  "User unknown" },
		{ "error:550 5.7.1 No", TRANSPORT_ERROR, 550, "5.7.1", "No" },
		{ "error:554 No", TRANSPORT_ERROR, 554, "5.0.0", "No" },
		{ "error: 553  5.1.3   spaced", TRANSPORT_ERROR, 553, "5.1.3",
		  "spaced" },
		{ "error:5.1.1", TRANSPORT_ERROR, 550, "5.1.1", "" },
		{ "error:5.1.1x is text", TRANSPORT_ERROR, 550, "5.0.0",
		  "5.1.1x is text" },
		{ "error:5501 text", TRANSPORT_ERROR, 550, "5.0.0",
		  "5501 text" },
		{ "error:mail for *.example.com: not deliverable",
		  TRANSPORT_ERROR, 550, "5.0.0",
		  "mail for *.example.com: not deliverable" },
		{ "error:caf\xc3\xa9\tclosed", TRANSPORT_ERROR, 550, "5.0.0",
		  "caf\xc3\xa9\tclosed" },
		{ "retry:", TRANSPORT_RETRY, 450, "4.0.0", "" },
		{ "retry:451 4.3.5 try later", TRANSPORT_RETRY, 451, "4.3.5",
		  "try later" },
		{ "discard:", TRANSPORT_DISCARD, 0, "", "" },
		{ "discard:spam trap", TRANSPORT_DISCARD, 0, "", "spam trap" },
		{ "discard:550 not a code here", TRANSPORT_DISCARD, 0, "",
		  "550 not a code here" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct transport_entry e;
		const char *error = NULL;

		UNIT_CHECK(transport_parse(cases[i].in, &e, &error) == 0);
		UNIT_CHECK(e.type == cases[i].type);
		UNIT_CHECK(e.code == cases[i].code);
		UNIT_STREQ(e.status, cases[i].status);
		UNIT_STREQ(e.text, cases[i].text);
	}
}

static void test_limits(void)
{
	char in[1200], host[300];
	struct transport_entry e;
	struct transport_nexthop nh;
	const char *error;

	/* Text: 512 octets fine, 513 refused. */
	for (size_t n = 511; n <= 513; n++) {
		memcpy(in, "error:", 6);
		memset(in + 6, 'x', n);
		in[6 + n] = '\0';
		UNIT_CHECK(transport_parse(in, &e, &error) ==
			   (n <= TRANSPORT_TEXT_MAX ? 0 : -1));
	}
	/* Host name: labels of 63; the whole at most 255. */
	for (size_t n = 254; n <= 256; n++) {
		for (size_t i = 0; i < n; i++)
			host[i] = i % 64 == 63 ? '.' : 'a';
		host[n] = '\0';
		UNIT_CHECK(transport_parse_nexthop(TRANSPORT_SMTP, host, &nh,
						   &error) ==
			   (n <= ADDR_DOMAIN_MAX ? 0 : -1));
	}
	/* Label of 63 fine, 64 refused. */
	memset(host, 'a', 64);
	host[63] = '\0';
	UNIT_CHECK(transport_parse_nexthop(TRANSPORT_SMTP, host, &nh,
					   &error) == 0);
	host[63] = 'a';
	host[64] = '\0';
	UNIT_CHECK(transport_parse_nexthop(TRANSPORT_SMTP, host, &nh,
					   &error) == -1);
	/* A unix path of 107 octets fine, 108 refused. */
	for (size_t n = 106; n <= 108; n++) {
		memcpy(in, "unix:/", 6);
		memset(in + 6, 'p', n - 1);
		in[5 + n] = '\0';
		UNIT_CHECK(transport_parse_nexthop(TRANSPORT_LMTP, in, &nh,
						   &error) ==
			   (n <= TRANSPORT_PATH_MAX ? 0 : -1));
	}
	/* relayhost uses the same parser. */
	UNIT_CHECK(transport_parse_nexthop(TRANSPORT_SMTP, "[relay.example]:587",
					   &nh, &error) == 0);
	UNIT_CHECK(!nh.mx && nh.port == 587 &&
		   strcmp(nh.host, "relay.example") == 0);
	/* smtp's unix: is a host name "unix" and a bad port. */
	UNIT_CHECK(transport_parse_nexthop(TRANSPORT_SMTP, "unix:/x", &nh,
					   &error) == -1);
}

/* Checks that the keys of address are exactly the NULL-ended list. */
static void check_keys(const char *address, const char *delim,
		       unsigned flags, const char *const *expect)
{
	struct transport_keys k;
	const char *error;
	size_t n = 0;

	UNIT_CHECK(transport_keys_make(address, delim, flags, &k, &error) ==
		   0);
	while (expect[n] != NULL)
		n++;
	UNIT_CHECK(k.count == n);
	for (size_t i = 0; i < n && i < k.count; i++)
		UNIT_STREQ(k.keys[i], expect[i]);
	transport_keys_deinit(&k);
}

static void test_keys(void)
{
	static const char *const k1[] = { "user+ext@sub.example.com",
		"user@sub.example.com", "sub.example.com", ".example.com",
		".com", "*", NULL };
	static const char *const k2[] = { "user+ext@sub.example.com",
		"user@sub.example.com", "sub.example.com", "example.com",
		"com", "*", NULL };
	static const char *const k3[] = { "user+ext@sub.example.com",
		"sub.example.com", ".example.com", ".com", "*", NULL };
	static const char *const k4[] = { "user@localhost", "localhost", "*",
		NULL };
	static const char *const k5[] = { "postmaster", "*", NULL };
	static const char *const k6[] = { "a-b+c@x.y", "a@x.y", "x.y", ".y",
		"*", NULL };
	static const char *const k7[] = { "+x@x.y", "x.y", ".y", "*", NULL };
	static const char *const k8[] = { "u@[192.0.2.1]", "[192.0.2.1]",
		".0.2.1]", ".2.1]", ".1]", "*", NULL };
	struct transport_keys k;
	const char *error;
	char big[300];

	check_keys("User+Ext@Sub.Example.COM", "+", 0, k1);
	check_keys("user+ext@sub.example.com", "+", TRANSPORT_KEYS_PARENT_BARE,
		   k2);
	check_keys("user+ext@sub.example.com", NULL, 0, k3);
	check_keys("user+ext@sub.example.com", "", 0, k3);
	check_keys("user@localhost", "+", 0, k4);
	check_keys("postmaster", "+", 0, k5);
	check_keys("a-b+c@x.y", "+-", 0, k6);
	check_keys("+x@x.y", "+", 0, k7);
	/* An address literal is walked as text: harmless keys no table
	 * holds; the caller may skip the parents for literals. */
	check_keys("u@[192.0.2.1]", NULL, 0, k8);
	UNIT_CHECK(transport_keys_make("", NULL, 0, &k, &error) == -1);
	UNIT_CHECK(transport_keys_make("u@", NULL, 0, &k, &error) == -1);
	UNIT_CHECK(transport_keys_make("u@.x", NULL, 0, &k, &error) == -1);
	UNIT_CHECK(transport_keys_make("u@x..y", NULL, 0, &k, &error) == -1);
	/* The most labels an address can hold: "u@a.a...a", 255 octets. */
	big[0] = 'u';
	big[1] = '@';
	for (size_t i = 2; i < 255; i++)
		big[i] = i % 2 == 0 ? 'a' : '.';
	big[255] = '\0';
	UNIT_CHECK(transport_keys_make(big, NULL, 0, &k, &error) == 0);
	UNIT_CHECK(k.count == 1 + 1 + 126 + 1);
	UNIT_STREQ(k.keys[k.count - 1], "*");
	UNIT_STREQ(k.keys[k.count - 2], ".a");
	transport_keys_deinit(&k);
	memcpy(big + 255, ".a", 3);
	UNIT_CHECK(transport_keys_make(big, NULL, 0, &k, &error) == -1);
	UNIT_STREQ(error, "address too long");
}

int main(void)
{
	test_hosts();
	test_bad();
	test_failures();
	test_limits();
	test_keys();
	return unit_done();
}
