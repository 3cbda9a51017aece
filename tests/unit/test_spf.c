#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "spf.h"
#include "unit.h"

/* A zone in memory: libspf2 evaluates real records through our layer. */
struct zrec {
	const char *name;
	enum dns_type type;
	const char *value;	/* TXT text, A/AAAA address, MX target */
};

static struct buf chain_names;	/* "i0.chain.test" ... for the chain */
static char chain_txt[20][64];
static unsigned lookups;

static const struct zrec zone[] = {
	{ "pass.test", DNS_TYPE_TXT, "v=spf1 ip4:192.0.2.1 -all" },
	{ "fail.test", DNS_TYPE_TXT, "v=spf1 -all" },
	{ "soft.test", DNS_TYPE_TXT, "v=spf1 ~all" },
	{ "neutral.test", DNS_TYPE_TXT, "v=spf1 ?all" },
	{ "mx.test", DNS_TYPE_TXT, "v=spf1 mx -all" },
	{ "mx.test", DNS_TYPE_MX, "mail.mx.test" },
	{ "mail.mx.test", DNS_TYPE_A, "192.0.2.7" },
	{ "v6.test", DNS_TYPE_TXT, "v=spf1 ip6:2001:db8::/32 -all" },
	{ "helo.test", DNS_TYPE_TXT, "v=spf1 a -all" },
	{ "helo.test", DNS_TYPE_A, "192.0.2.9" },
	{ "exp.test", DNS_TYPE_TXT, "v=spf1 -all exp=why.exp.test" },
	{ "why.exp.test", DNS_TYPE_TXT, "%{i} may not send for %{d}" },
	{ "bad.test", DNS_TYPE_TXT, "v=spf1 frobnicate -all" },
	{ "two.test", DNS_TYPE_TXT, "v=spf1 -all" },
	{ "two.test", DNS_TYPE_TXT, "v=spf1 +all" },
	{ "void.test", DNS_TYPE_TXT,
	  "v=spf1 a:n1.void.test a:n2.void.test a:n3.void.test ?all" },
	{ "void2.test", DNS_TYPE_TXT,
	  "v=spf1 a:n1.void.test a:n2.void.test ?all" },
	{ "temp.test", DNS_TYPE_TXT, "v=spf1 a:down.test -all" },
	{ "redir.test", DNS_TYPE_TXT, "v=spf1 redirect=pass.test" },
	{ "h.test", DNS_TYPE_A, "192.0.2.99" },
	{ "ten.test", DNS_TYPE_TXT, "v=spf1 a:h.test a:h.test a:h.test "
	  "a:h.test a:h.test a:h.test a:h.test a:h.test mx:mx.test "
	  "a:h.test ip4:192.0.2.1 -all" },
	{ "eleven.test", DNS_TYPE_TXT, "v=spf1 a:h.test a:h.test a:h.test "
	  "a:h.test a:h.test a:h.test a:h.test a:h.test mx:mx.test "
	  "a:h.test a:h.test ip4:192.0.2.1 -all" },
};

static enum dns_status zone_lookup(void *ctx, const char *name,
				   enum dns_type type,
				   struct dns_answer **answer_r,
				   const char **error_r)
{
	struct dns_answer *a = xcalloc(1, sizeof(*a));
	bool exists = false;

	(void)ctx;
	lookups++;
	a->type = type;
	a->qname = xstrdup(name);
	a->cname = xstrdup(name);
	*answer_r = a;
	*error_r = "zone";
	if (strcmp(name, "down.test") == 0 ||
	    strcmp(name, "timeout.test") == 0) {
		*error_r = "Name service error for name=down.test: timeout";
		return a->status = DNS_TEMPFAIL;
	}
	a->rrs = xcalloc(20, sizeof(*a->rrs));
	for (size_t i = 0; i < 20; i++) {
		char n[32];
		snprintf(n, sizeof(n), "i%zu.chain.test", i);
		if (strcmp(name, n) == 0 && type == DNS_TYPE_TXT) {
			struct dns_rr *rr = &a->rrs[a->count++];
			rr->type = type;
			rr->data = (unsigned char *)xstrdup(chain_txt[i]);
			rr->data_len = strlen(chain_txt[i]);
		}
		if (strcmp(name, n) == 0)
			exists = true;
	}
	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (strcasecmp(zone[i].name, name) != 0)
			continue;
		exists = true;
		if (zone[i].type != type)
			continue;
		struct dns_rr *rr = &a->rrs[a->count++];
		rr->type = type;
		rr->owner = xstrdup(name);
		if (type == DNS_TYPE_TXT) {
			rr->data = (unsigned char *)xstrdup(zone[i].value);
			rr->data_len = strlen(zone[i].value);
		} else if (type == DNS_TYPE_A) {
			inet_pton(AF_INET, zone[i].value, &rr->in4);
		} else if (type == DNS_TYPE_AAAA) {
			inet_pton(AF_INET6, zone[i].value, &rr->in6);
		} else {
			rr->target = xstrdup(zone[i].value);
		}
	}
	a->status = a->count > 0 ? DNS_OK : exists ? DNS_NODATA
						   : DNS_NXDOMAIN;
	return a->status;
}

static struct spf_checker *checker;

/* The result of checking sender from ip with HELO helo. */
static enum spf_res check(const char *ip, const char *helo,
			  const char *sender, struct spf_check *c)
{
	const char *error;

	if (spf_check(checker, ip, helo, sender, c, &error) < 0) {
		fprintf(stderr, "spf_check: %s\n", error);
		return (enum spf_res)-1;
	}
	return c->result;
}

static void expect(const char *ip, const char *sender, enum spf_res want)
{
	struct spf_check c;
	enum spf_res got = check(ip, "client.test", sender, &c);

	if (got != want)
		fprintf(stderr, "%s from %s: %s, want %s (%s)\n", sender, ip,
			spf_res_name(got), spf_res_name(want), c.reason);
	UNIT_CHECK(got == want);
	spf_check_free(&c);
}

static void test_results(void)
{
	expect("192.0.2.1", "a@pass.test", SPF_RES_PASS);
	expect("192.0.2.2", "a@pass.test", SPF_RES_FAIL);
	expect("192.0.2.2", "a@fail.test", SPF_RES_FAIL);
	expect("192.0.2.2", "a@soft.test", SPF_RES_SOFTFAIL);
	expect("192.0.2.2", "a@neutral.test", SPF_RES_NEUTRAL);
	expect("192.0.2.2", "a@nothing.test", SPF_RES_NONE);
	expect("192.0.2.7", "a@mx.test", SPF_RES_PASS);
	expect("192.0.2.8", "a@mx.test", SPF_RES_FAIL);
	expect("2001:db8::5", "a@v6.test", SPF_RES_PASS);
	expect("2001:db9::5", "a@v6.test", SPF_RES_FAIL);
	expect("192.0.2.1", "a@redir.test", SPF_RES_PASS);
	expect("192.0.2.2", "a@bad.test", SPF_RES_PERMERROR);
	/* RFC 7208 4.5: two records are a permerror. */
	expect("192.0.2.2", "a@two.test", SPF_RES_PERMERROR);
	/* Loopback is evaluated like any client (no free pass). */
	expect("127.0.0.1", "a@fail.test", SPF_RES_FAIL);
	expect("::1", "a@fail.test", SPF_RES_FAIL);
	/* A domain that cannot be checked: none. */
	expect("192.0.2.2", "a@[192.0.2.1]", SPF_RES_NONE);
	expect("192.0.2.2", "postmaster", SPF_RES_NONE);
}

static void test_limits(void)
{
	struct spf_check c;

	/* 20 includes in a chain: past the 10 DNS terms. */
	for (size_t i = 0; i < 20; i++)
		snprintf(chain_txt[i], sizeof(chain_txt[i]),
			 i < 19 ? "v=spf1 include:i%zu.chain.test -all"
				: "v=spf1 ip4:192.0.2.1 -all", i + 1);
	expect("192.0.2.1", "a@i0.chain.test", SPF_RES_PERMERROR);
	/* The same chain cut to 5 includes: within the limit. */
	snprintf(chain_txt[5], sizeof(chain_txt[5]),
		 "v=spf1 ip4:192.0.2.1 -all");
	expect("192.0.2.1", "a@i0.chain.test", SPF_RES_PASS);
	/* 10 DNS terms (an mx's host addresses not counted): fine; 11:
	 * permerror. */
	expect("192.0.2.1", "a@ten.test", SPF_RES_PASS);
	expect("192.0.2.1", "a@eleven.test", SPF_RES_PERMERROR);
	/* Three void look-ups: permerror; two: fine. */
	lookups = 0;
	UNIT_CHECK(check("192.0.2.2", "c.test", "a@void.test", &c) ==
		   SPF_RES_PERMERROR);
	UNIT_CHECK(strstr(c.reason, "4.6.4") != NULL);
	spf_check_free(&c);
	expect("192.0.2.2", "a@void2.test", SPF_RES_NEUTRAL);
	/* A look-up that fails temporarily: temperror, with the why. */
	UNIT_CHECK(check("192.0.2.2", "c.test", "a@temp.test", &c) ==
		   SPF_RES_TEMPERROR);
	UNIT_CHECK(strstr(c.reason, "down.test") != NULL);
	spf_check_free(&c);
	expect("192.0.2.2", "a@timeout.test", SPF_RES_TEMPERROR);
}

static void test_identity(void)
{
	struct spf_check c;

	/* The null sender: postmaster@HELO, identity helo. */
	UNIT_CHECK(check("192.0.2.9", "helo.test", "", &c) == SPF_RES_PASS);
	UNIT_CHECK(c.helo_identity);
	UNIT_STREQ(c.domain, "helo.test");
	UNIT_CHECK(strstr(c.header, "identity=helo") != NULL);
	UNIT_CHECK(strstr(c.header, "envelope-from=\"\"") != NULL);
	spf_check_free(&c);
	UNIT_CHECK(check("192.0.2.8", "helo.test", "", &c) == SPF_RES_FAIL);
	spf_check_free(&c);
	UNIT_CHECK(check("192.0.2.8", "[192.0.2.8]", "", &c) ==
		   SPF_RES_NONE);
	UNIT_STREQ(c.domain, "");
	spf_check_free(&c);
	/* The sender's domain, lower case; a fail has the explanation. */
	UNIT_CHECK(check("192.0.2.8", "c.test", "Joe@EXP.test", &c) ==
		   SPF_RES_FAIL);
	UNIT_CHECK(!c.helo_identity);
	UNIT_STREQ(c.domain, "exp.test");
	UNIT_STREQ(c.reason, "192.0.2.8 may not send for EXP.test");
	spf_check_free(&c);
	UNIT_CHECK(check("192.0.2.8", "c.test", "a@fail.test", &c) ==
		   SPF_RES_FAIL);
	UNIT_STREQ(c.reason, "192.0.2.8 is not allowed to send mail for "
			     "fail.test");
	spf_check_free(&c);
	const char *error;
	UNIT_CHECK(spf_check(checker, "nonsense", "c.test", "a@b.test", &c,
			     &error) == -1);
}

static void test_header(void)
{
	char *h = spf_header_format(SPF_RES_PASS, "mx.example.org",
				    "192.0.2.1", "client.example.com",
				    "joe@example.com", false, "example.com",
				    "");
	UNIT_STREQ(h, "Received-SPF: pass (mx.example.org: domain of "
		      "joe@example.com designates 192.0.2.1 as permitted "
		      "sender)\n\tclient-ip=192.0.2.1;\n\t"
		      "envelope-from=\"joe@example.com\";\n\t"
		      "helo=client.example.com;\n\treceiver=mx.example.org;"
		      "\n\tidentity=mailfrom");
	free(h);
	/* Not dot-atoms: quoted, with escapes; the comment's parentheses
	 * escaped; control characters replaced. */
	h = spf_header_format(SPF_RES_PERMERROR, "mx", "2001:db8::1",
			      "[192.0.2.1]", "\"a b\\\"\"@x.test", false,
			      "x.test", "bad (record)\x01");
	UNIT_CHECK(strstr(h, "client-ip=\"2001:db8::1\";") != NULL);
	UNIT_CHECK(strstr(h, "helo=\"[192.0.2.1]\";") != NULL);
	UNIT_CHECK(strstr(h, "envelope-from=\"\\\"a b\\\\\\\"\\\"@x.test\""
			  ";") != NULL);
	UNIT_CHECK(strstr(h, "bad \\(record\\)?)") != NULL);
	UNIT_CHECK(strncmp(h, "Received-SPF: permerror (mx: ", 29) == 0);
	free(h);
	static const char *const names[] = { "none", "neutral", "pass",
		"fail", "softfail", "temperror", "permerror" };
	for (int i = SPF_RES_NONE; i <= SPF_RES_PERMERROR; i++) {
		UNIT_STREQ(spf_res_name((enum spf_res)i), names[i]);
		h = spf_header_format((enum spf_res)i, "r.test", "192.0.2.1",
				      "h.test", "", true, "h.test", "x");
		char want[64];
		snprintf(want, sizeof(want), "Received-SPF: %s (r.test: ",
			 names[i]);
		UNIT_CHECK(strncmp(h, want, strlen(want)) == 0);
		UNIT_CHECK(strstr(h, "identity=helo") != NULL);
		free(h);
	}
}

int main(void)
{
	const char *error;

	buf_init(&chain_names, 4096);
	checker = spf_checker_new("mx.example.org", NULL, zone_lookup, NULL,
				  &error);
	UNIT_CHECK(checker != NULL);
	if (checker == NULL)
		return unit_done();
	test_results();
	test_limits();
	test_identity();
	test_header();
	spf_checker_free(&checker);
	buf_deinit(&chain_names);
	return unit_done();
}
