/* Unit tests of lib/dmarc: the version tag, organizational domains,
 * policy discovery (a table of TXT records stands for DNS), alignment,
 * the policy and pct= sampling, the bad records of RFC 7489 6.6.3, and
 * the From: domain (6.6.1). */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "dmarc.h"
#include "unit.h"

#define PSL "/usr/share/publicsuffix/public_suffix_list.dat"

/* name, record; several rows of one name are several records; a NULL
 * record is a temporary failure. */
static const char *const *zone;
static char huge[4000];

static enum dmarc_lookup_status lookup(void *context, const char *name,
				       struct dmarc_txt *txt)
{
	bool found = false;

	(void)context;
	for (size_t i = 0; zone[i] != NULL; i += 2) {
		if (strcmp(zone[i], name) != 0)
			continue;
		if (zone[i + 1] == NULL)
			return DMARC_LOOKUP_TEMPFAIL;
		dmarc_txt_add(txt, zone[i + 1], strlen(zone[i + 1]));
		found = true;
	}
	return found ? DMARC_LOOKUP_FOUND : DMARC_LOOKUP_NOTFOUND;
}

static struct dmarc_checker *checker;

/* Evaluates From: from with SPF (spf_domain passed) and one DKIM pass
 * for d (NULL: none). */
static struct dmarc_verdict eval(const char *from, const char *spf_domain,
				 const char *d, unsigned sample)
{
	struct dmarc_input in = { .from_domain = from,
				  .client_addr = "192.0.2.1",
				  .sample = sample };
	struct dmarc_verdict v;
	const char *error;

	if (spf_domain != NULL) {
		in.spf = DMARC_AUTH_PASS;
		in.spf_domain = spf_domain;
	}
	if (d != NULL) {
		in.dkim_count = 2;
		in.dkim[0].result = DMARC_AUTH_FAIL;
		in.dkim[0].domain = from;
		in.dkim[1].result = DMARC_AUTH_PASS;
		in.dkim[1].domain = d;
	}
	UNIT_CHECK(dmarc_evaluate(checker, &in, &v, &error) == 0);
	return v;
}

static void test_version(void)
{
	UNIT_CHECK(dmarc_record_is_dmarc("v=DMARC1; p=none", 16));
	UNIT_CHECK(dmarc_record_is_dmarc("V = DMARC1 ;p=none", 18));
	UNIT_CHECK(dmarc_record_is_dmarc("v=DMARC1", 8));
	UNIT_CHECK(!dmarc_record_is_dmarc("v=dmarc1; p=none", 16));
	UNIT_CHECK(!dmarc_record_is_dmarc("v=DMARC10; p=none", 17));
	UNIT_CHECK(!dmarc_record_is_dmarc("p=reject; v=DMARC1", 18));
	UNIT_CHECK(!dmarc_record_is_dmarc(" v=DMARC1; p=none", 17));
	UNIT_CHECK(!dmarc_record_is_dmarc("v=spf1 -all", 11));
	UNIT_CHECK(!dmarc_record_is_dmarc("", 0));
}

static void test_org_domain(void)
{
	char org[DMARC_DOMAIN_MAX + 1];

	UNIT_CHECK(dmarc_org_domain("a.b.Example.COM", org) == 0);
	UNIT_STREQ(org, "example.com");
	UNIT_CHECK(dmarc_org_domain("x.example.co.uk", org) == 0);
	UNIT_STREQ(org, "example.co.uk");
	/* .test is not in the list: the default rule "*" */
	UNIT_CHECK(dmarc_org_domain("sub.example.test", org) == 0);
	UNIT_STREQ(org, "example.test");
	UNIT_CHECK(dmarc_org_domain("example.test.", org) == 0);
	UNIT_STREQ(org, "example.test");
	UNIT_CHECK(dmarc_org_domain("test", org) == 0);
	UNIT_STREQ(org, "test");
	UNIT_CHECK(dmarc_org_domain("a..b", org) == -1);
	UNIT_CHECK(dmarc_org_domain("", org) == -1);
	UNIT_CHECK(dmarc_org_domain("a b.test", org) == -1);
}

static void test_evaluate(void)
{
	static const char *const z[] = {
		"_dmarc.example.test", "v=DMARC1; p=reject; sp=none",
		"_dmarc.example.test", "v=spf1 -all",	/* not DMARC: skipped */
		"_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s; aspf=s",
		"_dmarc.example.com", "v=DMARC1; p=reject; adkim=s",
		"_dmarc.none.test", "v=DMARC1; p=none",
		"_dmarc.half.test", "v=DMARC1; p=reject; pct=50",
		"_dmarc.quar.test", "v=DMARC1; p=quarantine; pct=50",
		"_dmarc.own.example.test", "v=DMARC1; p=quarantine",
		NULL,
	};
	struct dmarc_verdict v;

	zone = z;
	/* aligned DKIM, relaxed: a subdomain of the From: domain */
	v = eval("example.test", NULL, "mail.example.test", 0);
	UNIT_CHECK(v.result == DMARC_RESULT_PASS && v.dkim_aligned);
	UNIT_CHECK(v.policy == DMARC_POLICY_UNSET);
	/* relaxed: siblings share the organizational domain */
	v = eval("a.example.test", NULL, "b.example.test", 0);
	UNIT_CHECK(v.result == DMARC_RESULT_PASS);
	/* aligned SPF */
	v = eval("Example.TEST", "bounce.example.test", NULL, 0);
	UNIT_CHECK(v.result == DMARC_RESULT_PASS && v.spf_aligned &&
		   !v.dkim_aligned);
	UNIT_STREQ(v.domain, "example.test");
	/* nothing aligned: p=reject, disposition reject */
	v = eval("example.test", "other.test", "other.test", 99);
	UNIT_CHECK(v.result == DMARC_RESULT_FAIL);
	UNIT_CHECK(v.policy == DMARC_P_REJECT &&
		   v.disposition == DMARC_P_REJECT && v.pct == 100);
	/* strict: only the same name aligns; also under a known suffix,
	 * where libopendmarc's own check would let it pass */
	v = eval("strict.test", "strict.test", NULL, 0);
	UNIT_CHECK(v.result == DMARC_RESULT_PASS);
	v = eval("strict.test", "mail.strict.test", "mail.strict.test", 0);
	UNIT_CHECK(v.result == DMARC_RESULT_FAIL &&
		   v.policy == DMARC_P_REJECT);
	v = eval("example.com", NULL, "mail.example.com", 0);
	UNIT_CHECK(v.result == DMARC_RESULT_FAIL);
	/* sp= for a subdomain without a record of its own */
	v = eval("sub.example.test", NULL, NULL, 0);
	UNIT_CHECK(v.result == DMARC_RESULT_FAIL && v.policy == DMARC_P_NONE);
	/* a subdomain's own record: its p= */
	v = eval("own.example.test", NULL, NULL, 0);
	UNIT_CHECK(v.result == DMARC_RESULT_FAIL &&
		   v.policy == DMARC_P_QUARANTINE);
	v = eval("none.test", NULL, NULL, 0);
	UNIT_CHECK(v.result == DMARC_RESULT_FAIL && v.policy == DMARC_P_NONE &&
		   v.disposition == DMARC_P_NONE);
	/* pct=50: sampled in below 50, else the next less strict policy */
	v = eval("half.test", NULL, NULL, 49);
	UNIT_CHECK(v.disposition == DMARC_P_REJECT && v.pct == 50);
	v = eval("half.test", NULL, NULL, 50);
	UNIT_CHECK(v.policy == DMARC_P_REJECT &&
		   v.disposition == DMARC_P_QUARANTINE);
	v = eval("quar.test", NULL, NULL, 50);
	UNIT_CHECK(v.disposition == DMARC_P_NONE);
	/* no record at the name nor at its organizational domain */
	v = eval("nothing.test", NULL, "nothing.test", 0);
	UNIT_CHECK(v.result == DMARC_RESULT_NONE);
	UNIT_STREQ(v.reason, "no DMARC record");
}

static void test_bad_records(void)
{
	static const char *z[] = {
		"_dmarc.two.test", "v=DMARC1; p=none",
		"_dmarc.two.test", "v=DMARC1; p=reject",
		"_dmarc.late.test", "p=reject; v=DMARC1",
		"_dmarc.garbage.test", "\x01\xff garbage;;==;",
		"_dmarc.badp.test", "v=DMARC1; p=bogus",
		"_dmarc.nop.test", "v=DMARC1; rua=mailto:a@nop.test",
		"_dmarc.badsp.test", "v=DMARC1; p=none; sp=whatever",
		"_dmarc.huge.test", huge,
		"_dmarc.temp.test", NULL,
		"_dmarc.unknown.test", "v=DMARC1; p=reject; foo=bar; pct=200",
		NULL,
	};
	struct dmarc_verdict v;
	struct dmarc_input in = { .from_domain = "x.test", .client_addr = "::1",
				  .from_error = "several From: fields" };
	const char *error;

	memcpy(huge, "v=DMARC1; p=reject; rua=", 24);
	memset(huge + 24, 'a', sizeof(huge) - 25);
	huge[sizeof(huge) - 1] = '\0';
	zone = z;
	v = eval("two.test", NULL, NULL, 0);
	UNIT_CHECK(v.result == DMARC_RESULT_PERMERROR &&
		   v.policy == DMARC_POLICY_UNSET);
	UNIT_STREQ(v.reason, "several DMARC records");
	/* not starting with v=DMARC1: discarded, so no record */
	UNIT_CHECK(eval("late.test", NULL, NULL, 0).result ==
		   DMARC_RESULT_NONE);
	UNIT_CHECK(eval("garbage.test", NULL, NULL, 0).result ==
		   DMARC_RESULT_NONE);
	v = eval("badp.test", NULL, NULL, 0);
	UNIT_CHECK(v.result == DMARC_RESULT_PERMERROR &&
		   v.disposition == DMARC_POLICY_UNSET);
	UNIT_CHECK(strncmp(v.reason, "bad DMARC record", 16) == 0);
	UNIT_CHECK(eval("nop.test", NULL, NULL, 0).result ==
		   DMARC_RESULT_PERMERROR);
	UNIT_CHECK(eval("badsp.test", NULL, NULL, 0).result ==
		   DMARC_RESULT_PERMERROR);
	v = eval("huge.test", NULL, NULL, 0);
	UNIT_CHECK(v.result == DMARC_RESULT_PERMERROR);
	UNIT_STREQ(v.reason, "DMARC record too long");
	UNIT_CHECK(eval("temp.test", NULL, NULL, 0).result ==
		   DMARC_RESULT_TEMPERROR);
	/* unknown tags are ignored (RFC 7489 6.3); pct out of range is not */
	UNIT_CHECK(eval("unknown.test", NULL, NULL, 0).result ==
		   DMARC_RESULT_PERMERROR);
	UNIT_CHECK(dmarc_evaluate(checker, &in, &v, &error) == 0);
	UNIT_CHECK(v.result == DMARC_RESULT_PERMERROR);
	in.from_error = NULL;
	in.from_domain = "";
	UNIT_CHECK(dmarc_evaluate(checker, &in, &v, &error) == 0);
	UNIT_CHECK(v.result == DMARC_RESULT_NONE);
}

/* An aligned identifier's temporary error is temperror, not fail. */
static void test_temperror(void)
{
	static const char *const z[] = {
		"_dmarc.example.test", "v=DMARC1; p=reject", NULL,
	};
	struct dmarc_input in = { .from_domain = "example.test",
				  .client_addr = "192.0.2.1" };
	struct dmarc_verdict v;
	const char *error;

	zone = z;
	in.dkim_count = 1;
	in.dkim[0].result = DMARC_AUTH_TEMPERROR;
	in.dkim[0].domain = "example.test";
	UNIT_CHECK(dmarc_evaluate(checker, &in, &v, &error) == 0);
	UNIT_CHECK(v.result == DMARC_RESULT_TEMPERROR &&
		   v.disposition == DMARC_POLICY_UNSET);
	in.dkim[0].domain = "other.test";
	UNIT_CHECK(dmarc_evaluate(checker, &in, &v, &error) == 0);
	UNIT_CHECK(v.result == DMARC_RESULT_FAIL);
}

static void from(const char *headers, int want, const char *domain)
{
	char d[DMARC_DOMAIN_MAX + 1];
	const char *error = NULL;
	int ret = dmarc_from_domain(headers, strlen(headers), d, &error);

	UNIT_CHECK(ret == want);
	if (want == 0)
		UNIT_STREQ(d, domain);
	else
		UNIT_STREQ(error != NULL ? error : "(none)", domain);
}

static void test_from(void)
{
	from("From: u@Example.TEST\n\nFrom: x@evil.test\n", 0, "example.test");
	from("Subject: x\nFROM : \"Name, a@evil.test\" <u@example.test>\n",
	     0, "example.test");
	from("From: (x@evil.test) u@example.test (y@evil.test)\n", 0,
	     "example.test");
	from("From: u@example.test,\n\tv@EXAMPLE.test\n", 0, "example.test");
	from("From: team: a@example.test, b@example.test;\n", 0,
	     "example.test");
	from("From: a@example.test, b@other.test\n", -1,
	     "From: mailboxes of several domains");
	from("From: a@example.test\nFrom: b@example.test\n", -1,
	     "several From: fields");
	from("Subject: x\n\n", -1, "no From: field");
	from("From: nobody\n", -1, "invalid From: address");
	from("From: <a@[192.0.2.1]>\n", -1, "invalid From: address");
	from("From: \n", -1, "no address in From:");
	from("From: <a@example.test\n", -1, "invalid From: address");
	/* the header section ends at the empty line */
	from("Subject: x\n\nFrom: a@example.test\n", -1, "no From: field");
	/* From-like names are not From: */
	from("From-X: a@evil.test\nFrom: a@example.test\n", 0,
	     "example.test");
}

int main(void)
{
	const char *error;

	if (dmarc_checker_new(PSL, lookup, NULL, &checker, &error) < 0) {
		fprintf(stderr, "SKIP: %s\n", error);
		return 77;
	}
	test_version();
	test_org_domain();
	test_evaluate();
	test_bad_records();
	test_temperror();
	test_from();
	dmarc_checker_free(&checker);
	UNIT_CHECK(checker == NULL);
	return unit_done();
}
