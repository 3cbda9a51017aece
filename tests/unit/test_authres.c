#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "authres.h"
#include "unit.h"

static void test_compose(void)
{
	struct authres r;
	struct buf out;
	const char *error;

	buf_init(&out, 8192);
	memset(&r, 0, sizeof(r));
	UNIT_CHECK(authres_compose("mx.example.org", &r, &out, &error) == 0);
	UNIT_STREQ(out.data, "Authentication-Results: mx.example.org; none\n");

	buf_reset(&out);
	r.spf.checked = true;
	r.spf.result = AUTHRES_PASS;
	snprintf(r.spf.domain, sizeof(r.spf.domain), "example.com");
	r.dkim_checked = true;
	UNIT_CHECK(authres_compose("mx.example.org", &r, &out, &error) == 0);
	UNIT_STREQ(out.data, "Authentication-Results: mx.example.org;\n"
		   "\tspf=pass smtp.mailfrom=example.com;\n\tdkim=none\n");

	buf_reset(&out);
	r.spf.helo = true;
	r.spf.result = AUTHRES_SOFTFAIL;
	r.dkim_count = 2;
	r.dkim[0].result = AUTHRES_PASS;
	snprintf(r.dkim[0].domain, sizeof(r.dkim[0].domain), "example.com");
	snprintf(r.dkim[0].selector, sizeof(r.dkim[0].selector), "sel");
	snprintf(r.dkim[0].b, sizeof(r.dkim[0].b), "abcdefgh");
	r.dkim[1].result = AUTHRES_FAIL;
	snprintf(r.dkim[1].reason, sizeof(r.dkim[1].reason),
		 "body hash (did) not verify\\");
	snprintf(r.dkim[1].domain, sizeof(r.dkim[1].domain), "example.net");
	/* '/' and '=' are tspecials: a quoted-string. */
	snprintf(r.dkim[1].b, sizeof(r.dkim[1].b), "ab/d+f=h");
	r.dmarc.checked = true;
	r.dmarc.result = AUTHRES_FAIL;
	snprintf(r.dmarc.domain, sizeof(r.dmarc.domain), "example.com");
	UNIT_CHECK(authres_compose("mx.example.org", &r, &out, &error) == 0);
	UNIT_STREQ(out.data, "Authentication-Results: mx.example.org;\n"
		   "\tspf=softfail smtp.helo=example.com;\n"
		   "\tdkim=pass header.d=example.com header.s=sel "
		   "header.b=abcdefgh;\n"
		   "\tdkim=fail (body hash \\(did\\) not verify\\\\) "
		   "header.d=example.net header.b=\"ab/d+f=h\";\n"
		   "\tdmarc=fail header.from=example.com\n");
	/* What we compose we recognise as ours. */
	UNIT_CHECK(authres_field_is_ours(out.data, out.len, "MX.example.org"));
	UNIT_CHECK(!authres_field_is_ours(out.data, out.len, "example.org"));

	/* DMARC's policy and disposition, or the reason, as a comment */
	memset(&r.spf, 0, sizeof(r.spf));
	r.dkim_checked = false;
	snprintf(r.dmarc.policy, sizeof(r.dmarc.policy), "reject");
	buf_reset(&out);
	UNIT_CHECK(authres_compose("mx", &r, &out, &error) == 0);
	UNIT_STREQ(out.data, "Authentication-Results: mx;\n"
		   "\tdmarc=fail (p=reject dis=none) header.from=example.com\n");
	r.dmarc.policy[0] = '\0';
	r.dmarc.result = AUTHRES_PERMERROR;
	snprintf(r.dmarc.reason, sizeof(r.dmarc.reason),
		 "several DMARC records");
	buf_reset(&out);
	UNIT_CHECK(authres_compose("mx", &r, &out, &error) == 0);
	UNIT_STREQ(out.data, "Authentication-Results: mx;\n"
		   "\tdmarc=permerror (several DMARC records) "
		   "header.from=example.com\n");
	r.dmarc.reason[0] = '\0';
	r.dmarc.result = AUTHRES_FAIL;
	r.spf.checked = true;
	r.spf.result = AUTHRES_SOFTFAIL;
	r.spf.helo = true;
	snprintf(r.spf.domain, sizeof(r.spf.domain), "example.com");
	r.dkim_checked = true;

	buf_reset(&out);
	UNIT_CHECK(authres_compose("", &r, &out, &error) == -1);
	UNIT_CHECK(authres_compose("a\nb", &r, &out, &error) == -1);
	snprintf(r.dkim[0].domain, sizeof(r.dkim[0].domain), "a\rb");
	buf_reset(&out);
	UNIT_CHECK(authres_compose("mx", &r, &out, &error) == -1);
	buf_deinit(&out);

	enum authres_result res;
	UNIT_CHECK(authres_result_parse("TempError", &res) == 0 &&
		   res == AUTHRES_TEMPERROR);
	UNIT_CHECK(authres_result_parse("passed", &res) == -1);
	UNIT_STREQ(authres_result_name(AUTHRES_POLICY), "policy");
}

static void test_authserv_id(void)
{
	static const struct {
		const char *value;
		const char *id;		/* NULL: malformed */
	} cases[] = {
		{ " mx.example.org; spf=pass", "mx.example.org" },
		{ "mx.example.org;", "mx.example.org" },
		{ " (a comment (nested \\) here)) mx.example.org 1 ; none",
		  "mx.example.org" },
		{ "\n\tmx.example.org (c)\n\t; dkim=pass", "mx.example.org" },
		{ " \"mx.example.org\"; none", "mx.example.org" },
		{ " \"q\\\"x\"; none", "q\"x" },
		{ " mx.example.org 12345678901; none", NULL },
		{ " mx.example.org", NULL },
		{ " mx.example.org spf=pass", NULL },
		{ " ; spf=pass", NULL },
		{ "", NULL },
		{ " (unclosed mx.example.org;", NULL },
		{ " \"unclosed; none", NULL },
	};
	char id[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = authres_authserv_id(cases[i].value,
					      strlen(cases[i].value), id,
					      sizeof(id));
		if (cases[i].id == NULL) {
			UNIT_CHECK(ret == -1);
		} else {
			UNIT_CHECK(ret == 0);
			UNIT_STREQ(id, cases[i].id);
		}
	}
	/* Too long for the room given. */
	UNIT_CHECK(authres_authserv_id(" abcdef;", 8, id, 4) == -1);
}

static void test_field(void)
{
	const char *ours = "mx.example.org";

#define OURS(f) authres_field_is_ours(f, strlen(f), ours)
	UNIT_CHECK(OURS("Authentication-Results: mx.example.org; dkim=pass\n"));
	UNIT_CHECK(OURS("authentication-results :MX.Example.Org;none\n"));
	UNIT_CHECK(!OURS("Authentication-Results: mx.example.test; "
			 "dkim=pass\n"));
	UNIT_CHECK(!OURS("Authentication-Results-X: mx.example.org; none\n"));
	UNIT_CHECK(!OURS("X-Authentication-Results: mx.example.org; none\n"));
	UNIT_CHECK(!OURS("Subject: mx.example.org;\n"));
	/* Unreadable: removed. */
	UNIT_CHECK(OURS("Authentication-Results: (mx.example.org;\n"));
	UNIT_CHECK(OURS("Authentication-Results:\n"));
#undef OURS
}

/* The scan over pieces of every size finds the same ranges. */
static void test_scan(void)
{
	const char *msg =
		"Received: from x\n"
		"Authentication-Results: mx.example.org;\n"
		"\tdkim=pass\n"
		"Subject: hi\n"
		"Authentication-Results: other.example; dkim=fail\n"
		"AUTHENTICATION-RESULTS: mx.example.org; none\n"
		"\n"
		"Authentication-Results: mx.example.org; in the body\n";
	size_t len = strlen(msg);
	const char *first = strstr(msg, "Authentication-Results: mx");
	const char *second = strstr(msg, "AUTHENTICATION");

	for (size_t step = 1; step <= len; step++) {
		struct authres_scan s;
		authres_scan_init(&s, "mx.example.org");
		for (size_t i = 0; i < len; i += step)
			authres_scan_feed(&s, msg + i,
					  len - i < step ? len - i : step);
		authres_scan_end(&s);
		UNIT_CHECK(authres_scan_headers_done(&s));
		UNIT_CHECK(s.count == 2 && !s.overflow);
		if (s.count == 2) {
			UNIT_CHECK(s.ranges[0].offset ==
				   (uint64_t)(first - msg));
			UNIT_CHECK(s.ranges[0].len == strlen(
				   "Authentication-Results: mx.example.org;"
				   "\n\tdkim=pass\n"));
			UNIT_CHECK(s.ranges[1].offset ==
				   (uint64_t)(second - msg));
			UNIT_CHECK(s.ranges[1].len == strlen(
				   "AUTHENTICATION-RESULTS: mx.example.org; "
				   "none\n"));
		}
		authres_scan_deinit(&s);
		UNIT_CHECK(s.ranges == NULL);
	}

	/* A header section without a body: the last field ends there. */
	struct authres_scan s;
	const char *h = "Authentication-Results: mx.example.org; none";
	authres_scan_init(&s, "mx.example.org");
	authres_scan_feed(&s, h, strlen(h));
	UNIT_CHECK(!authres_scan_headers_done(&s));
	authres_scan_end(&s);
	UNIT_CHECK(s.count == 1 && s.ranges[0].len == strlen(h));
	authres_scan_deinit(&s);

	/* Many: the list grows; past the bound, overflow. */
	struct buf many;
	const char *f = "Authentication-Results: mx.example.org; none\n";
	buf_init(&many, 64 << 20);
	for (int i = 0; i < AUTHRES_REMOVE_MAX + 1; i++)
		UNIT_CHECK(buf_append_str(&many, f) == 0);
	authres_scan_init(&s, "mx.example.org");
	authres_scan_feed(&s, many.data, many.len - strlen(f));
	authres_scan_feed(&s, "\n", 1);
	UNIT_CHECK(s.count == AUTHRES_REMOVE_MAX && !s.overflow);
	UNIT_CHECK(s.ranges[AUTHRES_REMOVE_MAX - 1].offset ==
		   (uint64_t)(AUTHRES_REMOVE_MAX - 1) * strlen(f));
	authres_scan_deinit(&s);
	authres_scan_init(&s, "mx.example.org");
	authres_scan_feed(&s, many.data, many.len);
	authres_scan_end(&s);
	UNIT_CHECK(s.count == AUTHRES_REMOVE_MAX && s.overflow);
	authres_scan_deinit(&s);
	buf_deinit(&many);
}

int main(void)
{
	test_compose();
	test_authserv_id();
	test_field();
	test_scan();
	return unit_done();
}
