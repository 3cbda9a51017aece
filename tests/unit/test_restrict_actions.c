/* Unit tests of lib/restrict's access(5) actions DEFER_IF_PERMIT,
 * DEFER_IF_REJECT (decided over a whole request by restrict_eval_all),
 * REDIRECT, BCC, FILTER, INFO, and of the DNS restrictions of
 * restrict_dns.c: DNSBL replies with the TXT reason, reject_rhsbl_*,
 * reject_unknown_{client,reverse_client,helo}_hostname. Tables are
 * inline:-like fakes ("fake:KEY=VALUE"), DNS answers come from lists. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "restrict.h"
#include "unit.h"

/* ---- fakes ---- */

struct fake {
	char notes[8][600];
	int kinds[8];
	size_t count;
	enum restrict_dns ptr, fwd;	/* client_hostname's answers */
	unsigned txt_calls;
};

static struct fake fk;
static struct restrict_ctx ctx;

/* A table spec "fake:KEY=VALUE" holds one entry; '+' in VALUE is a
 * space (a list word has none). */
static void *fake_open(void *c, const char *spec, const char **error_r)
{
	(void)c;
	if (strncmp(spec, "fake:", 5) != 0 || strchr(spec, '=') == NULL) {
		*error_r = "not a fake table";
		return NULL;
	}
	char *t = strdup(spec + 5);
	for (char *p = strchr(t, '='); *p != '\0'; p++)
		if (*p == '+')
			*p = ' ';
	return t;
}

static void fake_close(void *c, void *table)
{
	(void)c;
	free(table);
}

static const struct restrict_tables tabs = { fake_open, fake_close, NULL };

static int fake_lookup(void *cb, void *table, const char *key,
		       const char **value_r)
{
	const char *t = table, *eq = strchr(t, '=');

	(void)cb;
	if (strlen(key) != (size_t)(eq - t) || strncmp(t, key, eq - t) != 0)
		return 0;
	*value_r = eq + 1;
	return 1;
}

static enum restrict_dns fake_domain(void *cb, const char *domain)
{
	(void)cb;
	if (strcmp(domain, "nx.test") == 0)
		return RESTRICT_DNS_NOTFOUND;
	if (strcmp(domain, "slow.test") == 0)
		return RESTRICT_DNS_TEMPFAIL;
	return RESTRICT_DNS_FOUND;
}

/* Listed: 127.0.0.2 (IPv4 DNSBL), bad.test and host.bad.test (RHSBL). */
static enum restrict_dns fake_a(void *cb, const char *name,
				char (*addrs)[16], size_t max, size_t *count_r)
{
	(void)cb;
	(void)max;
	*count_r = 0;
	if (strcmp(name, "2.0.0.127.zen.test") == 0 ||
	    strcmp(name, "bad.test.dbl.test") == 0 ||
	    strcmp(name, "host.bad.test.dbl.test") == 0 ||
	    strcmp(name, "2.0.0.127.quiet.test") == 0) {
		snprintf(addrs[0], 16, "127.0.1.2");
		*count_r = 1;
		return RESTRICT_DNS_FOUND;
	}
	return RESTRICT_DNS_NOTFOUND;
}

static enum restrict_dns fake_txt(void *cb, const char *name, char *text,
				  size_t size)
{
	((struct fake *)cb)->txt_calls++;
	if (strcmp(name, "2.0.0.127.zen.test") == 0)
		snprintf(text, size, "listed, see https://zen.test/q?127.0.0.2");
	else if (strcmp(name, "bad.test.dbl.test") == 0)
		snprintf(text, size, "spam\r\ndomain %0300d", 7);
	else
		return RESTRICT_DNS_NOTFOUND;
	return RESTRICT_DNS_FOUND;
}

static enum restrict_dns fake_hostname(void *cb, bool verified,
				       const char **name_r)
{
	struct fake *f = cb;
	enum restrict_dns st = f->ptr;

	*name_r = NULL;
	if (st == RESTRICT_DNS_FOUND && verified)
		st = f->fwd;
	if (st == RESTRICT_DNS_FOUND)
		*name_r = "host.bad.test";
	return st;
}

static void fake_note(void *cb, enum restrict_note n, const char *text)
{
	struct fake *f = cb;

	if (f->count < 8) {
		f->kinds[f->count] = (int)n;
		snprintf(f->notes[f->count++], sizeof(f->notes[0]), "%s", text);
	}
}

static void reset(void)
{
	memset(&fk, 0, sizeof(fk));
	ctx = (struct restrict_ctx){
		.client_addr = "127.0.0.2",
		.client_name = "unknown",
		.helo = "mx.client.test",
		.sender = "alice@sender.test",
		.recipient = "bob@ours.test",
		.cb_ctx = &fk,
		.table_lookup = fake_lookup,
		.dns_domain = fake_domain,
		.dns_a = fake_a,
		.dns_txt = fake_txt,
		.client_hostname = fake_hostname,
		.note = fake_note,
	};
}

/* Evaluates the lists (client, sender, recipient; NULL: empty) as one
 * request. Returns the reply, the verdict in *v, the decider in *by. */
static const char *run_all(const char *client, const char *sender,
			   const char *recipient, enum restrict_verdict *v,
			   const char **by)
{
	static struct restrict_result r;
	struct restrict_list *lists[RESTRICT_STAGE_COUNT] = { NULL };
	const char *values[RESTRICT_STAGE_COUNT] = {
		[RESTRICT_CLIENT] = client,
		[RESTRICT_SENDER] = sender,
		[RESTRICT_RECIPIENT] = recipient,
	};
	const char *error;

	for (int i = 0; i < RESTRICT_STAGE_COUNT; i++)
		if (values[i] != NULL &&
		    restrict_parse("t", i, values[i], &tabs, &lists[i],
				   &error) < 0) {
			fprintf(stderr, "parse %s: %s\n", values[i], error);
			UNIT_CHECK(false);
		}
	restrict_eval_all((const struct restrict_list *const *)lists, &ctx,
			  &r);
	for (int i = 0; i < RESTRICT_STAGE_COUNT; i++)
		restrict_list_free(&lists[i]);
	*v = r.verdict;
	*by = r.by != NULL ? r.by : "";
	return r.reply;
}

#define ALL(c, s, rc, verdict, by, reply) \
	do { \
		enum restrict_verdict v_; \
		const char *by_; \
		UNIT_STREQ(run_all(c, s, rc, &v_, &by_), reply); \
		UNIT_CHECK(v_ == (verdict)); \
		UNIT_STREQ(by_, by); \
	} while (0)

/* ---- DEFER_IF_PERMIT, DEFER_IF_REJECT ---- */

static void test_defer_if_permit(void)
{
	const char *dip = "450 4.7.1 <alice@sender.test>: Sender address "
			  "rejected: not today";

	reset();
	/* Ends in an implicit permit (no list decides): deferred. */
	ALL(NULL, "check_sender_access fake:sender.test=DEFER_IF_PERMIT+"
		  "not+today", NULL, RESTRICT_DEFER, "defer_if_permit", dip);
	/* An explicit permit in a later list: deferred all the same. */
	ALL(NULL, "check_sender_access fake:sender.test=DEFER_IF_PERMIT+"
		  "not+today", "permit", RESTRICT_DEFER, "defer_if_permit",
	    dip);
	/* A later reject wins: it is a reject, not a permit. */
	ALL(NULL, "check_sender_access fake:sender.test=DEFER_IF_PERMIT+"
		  "not+today, reject", NULL, RESTRICT_REJECT, "reject",
	    "554 5.7.1 <alice@sender.test>: Sender address rejected: "
	    "Access denied");
	/* Generic text; the first DEFER_IF_PERMIT wins. */
	ALL("check_client_access fake:127.0.0.2=DEFER_IF_PERMIT",
	    "check_sender_access fake:sender.test=DEFER_IF_PERMIT+second",
	    NULL, RESTRICT_DEFER, "defer_if_permit",
	    "450 4.7.1 <unknown[127.0.0.2]>: Client host rejected: Service "
	    "unavailable");
	/* A DNS failure in reject_unknown_sender_domain is one too. */
	ctx.sender = "a@slow.test";
	ALL(NULL, "reject_unknown_sender_domain", "permit", RESTRICT_DEFER,
	    "defer_if_permit", "450 4.4.3 <a@slow.test>: Sender address "
			       "rejected: Domain not found");
	ALL(NULL, "reject_unknown_sender_domain", "reject", RESTRICT_REJECT,
	    "reject", "554 5.7.1 <bob@ours.test>: Recipient address "
		      "rejected: Access denied");
	/* restrict_eval alone keeps it pending, and answers DUNNO. */
	struct restrict_list *l = NULL;
	struct restrict_result r;
	const char *error;
	UNIT_CHECK(restrict_parse("t", RESTRICT_SENDER,
				  "reject_unknown_sender_domain", &tabs, &l,
				  &error) == 0);
	restrict_eval(l, &ctx, &r);
	UNIT_CHECK(r.verdict == RESTRICT_DUNNO);
	UNIT_STREQ(r.defer_if_permit, "450 4.4.3 <a@slow.test>: Sender "
				      "address rejected: Domain not found");
	restrict_list_free(&l);
}

static void test_defer_if_reject(void)
{
	reset();
	/* A later reject becomes the deferral. */
	ALL("check_client_access fake:127.0.0.2=DEFER_IF_REJECT+maybe",
	    NULL, "reject", RESTRICT_DEFER, "defer_if_reject",
	    "450 4.7.1 <unknown[127.0.0.2]>: Client host rejected: maybe");
	/* A permit stays a permit. */
	ALL("check_client_access fake:127.0.0.2=DEFER_IF_REJECT+maybe",
	    NULL, "permit", RESTRICT_DUNNO, "", "");
	/* A hard DEFER is not touched. */
	ALL("check_client_access fake:127.0.0.2=DEFER_IF_REJECT+maybe",
	    "defer", NULL, RESTRICT_DEFER, "defer",
	    "450 4.3.2 <alice@sender.test>: Sender address rejected: Try "
	    "again later");
	/* A reject in the same list before it: not affected. */
	ALL("reject, check_client_access fake:127.0.0.2=DEFER_IF_REJECT",
	    NULL, NULL, RESTRICT_REJECT, "reject",
	    "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: Access "
	    "denied");
	/* Both pending: a reject is deferred, by DEFER_IF_REJECT's text. */
	ALL("check_client_access fake:127.0.0.2=DEFER_IF_REJECT+r",
	    "check_sender_access fake:sender.test=DEFER_IF_PERMIT+p",
	    "reject", RESTRICT_DEFER, "defer_if_reject",
	    "450 4.7.1 <unknown[127.0.0.2]>: Client host rejected: r");
	/* Control characters in the table's text never reach the reply. */
	ALL("check_client_access fake:127.0.0.2=DEFER_IF_REJECT+a\x01z",
	    NULL, "reject", RESTRICT_DEFER, "defer_if_reject",
	    "450 4.7.1 <unknown[127.0.0.2]>: Client host rejected: a?z");
}

/* ---- REDIRECT, BCC, FILTER, INFO ---- */

static void expect_note(const char *value, enum restrict_note kind,
			const char *text)
{
	struct restrict_result r;

	reset();
	UNIT_CHECK(restrict_access_value(value, RESTRICT_RECIPIENT, &ctx, &r)
		   == RESTRICT_DUNNO);
	UNIT_CHECK(fk.count == 1);
	UNIT_CHECK(fk.kinds[0] == (int)kind);
	UNIT_STREQ(fk.notes[0], text);
}

static void expect_config_error(const char *value)
{
	struct restrict_result r;

	reset();
	UNIT_CHECK(restrict_access_value(value, RESTRICT_RECIPIENT, &ctx, &r)
		   == RESTRICT_DEFER);
	UNIT_STREQ(r.reply, "451 4.3.5 Server configuration error");
	/* A warning only: no side effect. */
	UNIT_CHECK(fk.count == 1 && fk.kinds[0] == RESTRICT_NOTE_WARN);
}

static void test_envelope_actions(void)
{
	char longaddr[300];

	expect_note("REDIRECT abuse@ours.test", RESTRICT_NOTE_REDIRECT,
		    "abuse@ours.test");
	expect_note("redirect  x@y.test", RESTRICT_NOTE_REDIRECT, "x@y.test");
	expect_note("BCC archive@ours.test", RESTRICT_NOTE_BCC,
		    "archive@ours.test");
	expect_note("FILTER smtp:[127.0.0.1]:10025", RESTRICT_NOTE_FILTER,
		    "smtp:[127.0.0.1]:10025");
	expect_note("FILTER relay:", RESTRICT_NOTE_FILTER, "relay:");
	expect_note("INFO hello", RESTRICT_NOTE_INFO, "hello");
	expect_config_error("REDIRECT");
	expect_config_error("REDIRECT nobody");
	expect_config_error("REDIRECT @x.test");
	expect_config_error("REDIRECT a@");
	expect_config_error("REDIRECT a b@c.test");
	expect_config_error("REDIRECT <a@c.test>");
	expect_config_error("BCC a@b.test,c@d.test");
	expect_config_error("BCC a\x01@b.test");
	expect_config_error("FILTER");
	expect_config_error("FILTER smtp");
	expect_config_error(":dest");
	expect_config_error("FILTER :dest");
	expect_config_error("FILTER sm tp:x");
	expect_config_error("FILTER smtp:\x7f");
	/* 254 octets: the limit; 255: over it. */
	memset(longaddr, 'a', sizeof(longaddr));
	snprintf(longaddr + 245, sizeof(longaddr) - 245, "@ours.test");
	UNIT_CHECK(strlen(longaddr) == 255);
	char value[320];
	snprintf(value, sizeof(value), "BCC %s", longaddr + 1);
	expect_note(value, RESTRICT_NOTE_BCC, longaddr + 1);
	snprintf(value, sizeof(value), "BCC %s", longaddr);
	expect_config_error(value);
	/* The action does not decide: a later restriction does. */
	reset();
	enum restrict_verdict v;
	const char *by;
	UNIT_STREQ(run_all(NULL, NULL, "check_recipient_access "
			   "fake:bob@ours.test=REDIRECT+x@y.test, reject",
			   &v, &by),
		   "554 5.7.1 <bob@ours.test>: Recipient address rejected: "
		   "Access denied");
	UNIT_CHECK(fk.count == 1 && fk.kinds[0] == RESTRICT_NOTE_REDIRECT);
}

/* ---- DNS restrictions ---- */

static void test_dnsbl_reason(void)
{
	reset();
	ALL("reject_rbl_client zen.test", NULL, NULL, RESTRICT_REJECT,
	    "reject_rbl_client",
	    "554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked "
	    "using zen.test; listed, see https://zen.test/q?127.0.0.2");
	/* No TXT record: no reason. */
	ALL("reject_rbl_client quiet.test", NULL, NULL, RESTRICT_REJECT,
	    "reject_rbl_client",
	    "554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked "
	    "using quiet.test");
	/* Not listed: no TXT look-up at all. */
	reset();
	ctx.client_addr = "127.0.0.9";
	ALL("reject_rbl_client zen.test", NULL, NULL, RESTRICT_DUNNO, "", "");
	UNIT_CHECK(fk.txt_calls == 0);
	/* RHSBL: a hostile TXT record is cut and cleaned. */
	reset();
	ctx.sender = "eve@bad.test";
	enum restrict_verdict v;
	const char *by;
	const char *reply = run_all(NULL, "reject_rhsbl_sender dbl.test",
				    NULL, &v, &by);
	UNIT_CHECK(v == RESTRICT_REJECT);
	UNIT_CHECK(strncmp(reply, "554 5.7.1 Service unavailable; Sender "
			   "address [eve@bad.test] blocked using dbl.test; "
			   "spam??domain 000", 96) == 0);
	UNIT_CHECK(strlen(reply) < RESTRICT_REPLY_MAX);
	UNIT_CHECK(strpbrk(reply, "\r\n") == NULL);
	ALL(NULL, "reject_rhsbl_sender dbl.test=127.0.1.3", NULL,
	    RESTRICT_DUNNO, "", "");
}

/* rbl_reply_maps: the template of the zone is the test's. */
static const char *rbl_template;

static const char *fake_rbl_reply(void *cb, const char *zone)
{
	(void)cb;
	return strcmp(zone, "zen.test") == 0 ? rbl_template : NULL;
}

static void template_case(const char *tmpl, enum restrict_verdict verdict,
			  const char *reply)
{
	enum restrict_verdict v;
	const char *by;

	reset();
	ctx.rbl_reply = fake_rbl_reply;
	ctx.sender = "alice@sender.test";
	rbl_template = tmpl;
	UNIT_STREQ(run_all("reject_rbl_client zen.test", NULL, NULL, &v, &by),
		   reply);
	UNIT_CHECK(v == verdict);
	/* A bad template is a warning and a 451, never a silent pass. */
	UNIT_CHECK((fk.count == 1 && fk.kinds[0] == RESTRICT_NOTE_WARN) ==
		   (strncmp(reply, "451 4.3.5", 9) == 0));
}

static void test_rbl_reply_template(void)
{
	const char *cfg = "451 4.3.5 Server configuration error";
	char longt[400] = "554 ";

	template_case("$rbl_code 5.7.2 ${rbl_reason?Listed: $rbl_reason}"
		      "${rbl_reason:none} [$client_address] via $rbl_domain, "
		      "$sender_name at $sender_domain, $$5",
		      RESTRICT_REJECT,
		      "554 5.7.2 Listed: listed, see https://zen.test/q?"
		      "127.0.0.2 [127.0.0.2] via zen.test, alice at "
		      "sender.test, $5");
	template_case("450 come back, ${rbl_what}", RESTRICT_DEFER,
		      "450 4.7.1 come back, 127.0.0.2");
	template_case("$rbl_code $rbl_class said ${rbl_code?${rbl_code?x}}",
		      RESTRICT_REJECT, "554 5.7.1 Client host said x");
	template_case("521 ${helo_name:no helo}${helo_name?$helo_name} $client",
		      RESTRICT_REJECT,
		      "521 5.7.1 mx.client.test unknown[127.0.0.2]");
	template_case("${rbl_code?${rbl_code?${rbl_code?x}}}", RESTRICT_DEFER,
		      cfg);
	template_case("$nosuch", RESTRICT_DEFER, cfg);
	template_case("$", RESTRICT_DEFER, cfg);
	template_case("${rbl_code", RESTRICT_DEFER, cfg);
	template_case("${rbl_code!x}", RESTRICT_DEFER, cfg);
	template_case("${}", RESTRICT_DEFER, cfg);
	template_case("hello $rbl_code", RESTRICT_DEFER, cfg);
	template_case("250 fine", RESTRICT_DEFER, cfg);
	template_case("554", RESTRICT_DEFER, cfg);
	for (int i = 0; i < 30; i++)
		strcat(longt, "$rbl_reason");
	template_case(longt, RESTRICT_DEFER, cfg);
	/* Not in the map: Postfix's default. */
	reset();
	ctx.rbl_reply = fake_rbl_reply;
	enum restrict_verdict v;
	const char *by;
	UNIT_STREQ(run_all("reject_rbl_client quiet.test", NULL, NULL, &v,
			   &by),
		   "554 5.7.1 Service unavailable; Client host [127.0.0.2] "
		   "blocked using quiet.test");
}

static void test_rhsbl(void)
{
	const char *helo = "554 5.7.1 Service unavailable; Helo command "
			   "[bad.test] blocked using dbl.test";

	reset();
	fk.ptr = fk.fwd = RESTRICT_DNS_NOTFOUND;
	ctx.helo = "bad.test";
	ctx.dns_txt = NULL;
	ALL("reject_rhsbl_helo dbl.test", NULL, NULL, RESTRICT_REJECT,
	    "reject_rhsbl_helo", helo);
	ctx.helo = "[127.0.0.1]";
	ALL("reject_rhsbl_helo dbl.test", NULL, NULL, RESTRICT_DUNNO, "", "");
	ctx.recipient = "x@bad.test";
	ALL(NULL, NULL, "reject_rhsbl_recipient dbl.test=127.0.1.2",
	    RESTRICT_REJECT, "reject_rhsbl_recipient",
	    "554 5.7.1 Service unavailable; Recipient address [x@bad.test] "
	    "blocked using dbl.test");
	ctx.sender = "";
	ALL(NULL, "reject_rhsbl_sender dbl.test", NULL, RESTRICT_DUNNO, "",
	    "");
	/* The client's name, host.bad.test: reverse_client needs the PTR
	 * only, client the verified name. */
	const char *client = "554 5.7.1 Service unavailable; Client host "
			     "[host.bad.test] blocked using dbl.test";
	ALL("reject_rhsbl_client dbl.test", NULL, NULL, RESTRICT_DUNNO, "",
	    "");
	ALL("reject_rhsbl_reverse_client dbl.test", NULL, NULL,
	    RESTRICT_DUNNO, "", "");
	fk.ptr = RESTRICT_DNS_FOUND;
	ALL("reject_rhsbl_client dbl.test", NULL, NULL, RESTRICT_DUNNO, "",
	    "");
	ALL("reject_rhsbl_reverse_client dbl.test", NULL, NULL,
	    RESTRICT_REJECT, "reject_rhsbl_reverse_client", client);
	fk.fwd = RESTRICT_DNS_FOUND;
	ALL("reject_rhsbl_client dbl.test", NULL, NULL, RESTRICT_REJECT,
	    "reject_rhsbl_client", client);
	ALL("reject_rhsbl_client other.test", NULL, NULL, RESTRICT_DUNNO, "",
	    "");
}

static void test_unknown_hostnames(void)
{
	const char *rev = "450 4.7.25 Client host rejected: cannot find your "
			  "reverse hostname, [127.0.0.2]";
	const char *fwd = "450 4.7.25 Client host rejected: cannot find your "
			  "hostname, [127.0.0.2]";

	reset();
	fk.ptr = RESTRICT_DNS_NOTFOUND;
	ALL("reject_unknown_reverse_client_hostname", NULL, NULL,
	    RESTRICT_DEFER, "reject_unknown_reverse_client_hostname", rev);
	ALL("reject_unknown_client_hostname", NULL, NULL, RESTRICT_DEFER,
	    "reject_unknown_client_hostname", fwd);
	/* PTR but the name does not lead back. */
	fk.ptr = RESTRICT_DNS_FOUND;
	fk.fwd = RESTRICT_DNS_NOTFOUND;
	ALL("reject_unknown_reverse_client_hostname", NULL, NULL,
	    RESTRICT_DUNNO, "", "");
	ALL("reject_unknown_client_hostname", NULL, NULL, RESTRICT_DEFER,
	    "reject_unknown_client_hostname", fwd);
	fk.fwd = RESTRICT_DNS_FOUND;
	ALL("reject_unknown_client_hostname", NULL, NULL, RESTRICT_DUNNO, "",
	    "");
	/* A DNS failure: defer_if_permit (a later reject rejects). */
	fk.fwd = RESTRICT_DNS_TEMPFAIL;
	ALL("reject_unknown_client_hostname", NULL, NULL, RESTRICT_DEFER,
	    "defer_if_permit", fwd);
	ALL("reject_unknown_client_hostname, reject", NULL, NULL,
	    RESTRICT_REJECT, "reject",
	    "554 5.7.1 <unknown[127.0.0.2]>: Client host rejected: Access "
	    "denied");
	/* The rhsbl of the client name, once it has one. */
	fk.fwd = RESTRICT_DNS_FOUND;
	ALL("reject_rhsbl_client bad.test.dbl.test", NULL, NULL,
	    RESTRICT_DUNNO, "", "");
	/* HELO names. */
	ctx.helo = "nx.test";
	ALL("reject_unknown_helo_hostname", NULL, NULL, RESTRICT_DEFER,
	    "reject_unknown_helo_hostname",
	    "450 4.7.1 <nx.test>: Helo command rejected: Host not found");
	ctx.helo = "slow.test";
	ALL("reject_unknown_helo_hostname", NULL, NULL, RESTRICT_DEFER,
	    "defer_if_permit",
	    "450 4.7.1 <slow.test>: Helo command rejected: Host not found");
	ctx.helo = "[192.0.2.1]";
	ALL("reject_unknown_helo_hostname", NULL, NULL, RESTRICT_DUNNO, "",
	    "");
	ctx.helo = NULL;
	ALL("reject_unknown_helo_hostname", NULL, NULL, RESTRICT_DUNNO, "",
	    "");
	ctx.helo = "fine.test";
	ALL("reject_unknown_helo_hostname", NULL, NULL, RESTRICT_DUNNO, "",
	    "");
	/* No callback: nothing is known, nothing is refused. */
	ctx.client_hostname = NULL;
	ALL("reject_unknown_client_hostname", NULL, NULL, RESTRICT_DUNNO, "",
	    "");
}

int main(void)
{
	test_defer_if_permit();
	test_defer_if_reject();
	test_envelope_actions();
	test_dnsbl_reason();
	test_rbl_reply_template();
	test_rhsbl();
	test_unknown_hostnames();
	return unit_done();
}
