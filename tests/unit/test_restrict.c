/* Unit tests of lib/restrict: parsing of restriction lists, every
 * restriction and access(5) action with Postfix's replies, the access
 * key order, and the open relay check. The look-ups are fakes: tables
 * are "fake:N" (N indexes fake_tables), DNS answers come from a list. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "restrict.h"
#include "unit.h"

/* ---- fakes ---- */

struct fake {
	bool mynetworks;
	int local;			/* domain_is_local for "ours.test" */
	char notes[8][256];
	int note_kinds[8];
	size_t note_count;
	char looked_up[64][128];	/* table keys, in order */
	size_t lookups;
};

static const char *const fake_tables[][8] = {
	/* 0 */ { "spam.test", "REJECT go away", "ok.test", "OK",
		  "bad@", "550 5.7.9 no such luck", NULL },
	/* 1: empty, records the keys */ { NULL },
	/* 2 */ { "192.0.2", "REJECT", "fail", "TEMPFAIL", NULL },
};

static void *fake_open(void *ctx, const char *spec, const char **error_r)
{
	unsigned n;

	(void)ctx;
	if (sscanf(spec, "fake:%u", &n) != 1 || n >= 3) {
		*error_r = "no such fake table";
		return NULL;
	}
	return (void *)&fake_tables[n];
}

static void fake_close(void *ctx, void *table)
{
	(void)ctx;
	(void)table;
}

static const struct restrict_tables fake_tabs = { fake_open, fake_close,
						  NULL };

/* A value "VALUE:xxx" in the shared table below (set by a test). */
static const char *dyn_value;

static int fake_lookup(void *cb, void *table, const char *key,
		       const char **value_r)
{
	struct fake *f = cb;
	const char *const *t = table;

	if (f->lookups < 64)
		snprintf(f->looked_up[f->lookups++], 128, "%s", key);
	if (t == fake_tables[1] && dyn_value != NULL &&
	    strcmp(key, "dyn.test") == 0) {
		*value_r = dyn_value;
		return 1;
	}
	for (size_t i = 0; t[i] != NULL; i += 2)
		if (strcmp(t[i], key) == 0) {
			if (strcmp(t[i + 1], "TEMPFAIL") == 0)
				return -1;
			*value_r = t[i + 1];
			return 1;
		}
	return 0;
}

static bool fake_mynetworks(void *cb, const char *addr)
{
	(void)addr;
	return ((struct fake *)cb)->mynetworks;
}

static int fake_local(void *cb, const char *domain)
{
	if (strcmp(domain, "ours.test") == 0)
		return ((struct fake *)cb)->local;
	return 0;
}

static enum restrict_dns fake_domain(void *cb, const char *domain)
{
	(void)cb;
	if (strcmp(domain, "nx.test") == 0)
		return RESTRICT_DNS_NOTFOUND;
	if (strcmp(domain, "null.test") == 0)
		return RESTRICT_DNS_NULLMX;
	if (strcmp(domain, "slow.test") == 0)
		return RESTRICT_DNS_TEMPFAIL;
	return RESTRICT_DNS_FOUND;
}

static enum restrict_dns fake_a(void *cb, const char *name,
				char (*addrs)[16], size_t max, size_t *count_r)
{
	(void)cb;
	*count_r = 0;
	if (strcmp(name, "2.0.0.127.zen.test") == 0 ||
	    strcmp(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
			 "8.b.d.0.1.0.0.2.zen.test") == 0) {
		snprintf(addrs[0], 16, "127.0.0.2");
		if (max > 1)
			snprintf(addrs[1], 16, "127.0.0.4");
		*count_r = 2;
		return RESTRICT_DNS_FOUND;
	}
	if (strcmp(name, "3.0.0.127.zen.test") == 0)
		return RESTRICT_DNS_TEMPFAIL;
	return RESTRICT_DNS_NOTFOUND;
}

static void fake_note(void *cb, enum restrict_note n, const char *text)
{
	struct fake *f = cb;

	if (f->note_count < 8) {
		f->note_kinds[f->note_count] = (int)n;
		snprintf(f->notes[f->note_count++], 256, "%s", text);
	}
}

static struct fake fk;
static struct restrict_ctx ctx;

static void reset(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.local = 1;
	dyn_value = NULL;
	ctx = (struct restrict_ctx){
		.client_addr = "198.51.100.7",
		.client_name = "mx.client.test",
		.helo = "mx.client.test",
		.sender = "alice@sender.test",
		.recipient = "bob@ours.test",
		.recipient_delimiter = "+",
		.cb_ctx = &fk,
		.in_mynetworks = fake_mynetworks,
		.domain_is_local = fake_local,
		.table_lookup = fake_lookup,
		.dns_domain = fake_domain,
		.dns_a = fake_a,
		.note = fake_note,
	};
}

/* Parses value for stage, evaluates it, returns the reply ("" for none)
 * and the verdict in *v. */
static const char *run(enum restrict_stage stage, const char *value,
		       enum restrict_verdict *v)
{
	static struct restrict_result r;
	struct restrict_list *list = NULL;
	const char *error;

	if (restrict_parse("test", stage, value, &fake_tabs, &list,
			   &error) < 0) {
		fprintf(stderr, "parse %s: %s\n", value, error);
		*v = RESTRICT_DUNNO;
		return "PARSE ERROR";
	}
	restrict_eval(list, &ctx, &r);
	restrict_list_free(&list);
	*v = r.verdict;
	return r.reply;
}

#define EXPECT(stage, value, verdict, reply) \
	do { \
		enum restrict_verdict v_; \
		UNIT_STREQ(run(stage, value, &v_), reply); \
		UNIT_CHECK(v_ == (verdict)); \
	} while (0)

/* ---- tests ---- */

static void test_parse_errors(void)
{
	struct restrict_list *list = NULL;
	const char *error = NULL;
	char big[8192];

	UNIT_CHECK(restrict_parse("smtpd_relay_restrictions", RESTRICT_RELAY,
				  "permit_mynetworks, reject_bogus",
				  &fake_tabs, &list, &error) < 0);
	UNIT_CHECK(list == NULL);
	UNIT_STREQ(error, "smtpd_relay_restrictions: unknown restriction "
			  "\"reject_bogus\"");
	UNIT_CHECK(restrict_parse("p", RESTRICT_SENDER, "check_sender_access",
				  &fake_tabs, &list, &error) < 0);
	UNIT_CHECK(strstr(error, "needs an argument") != NULL);
	UNIT_CHECK(restrict_parse("p", RESTRICT_SENDER,
				  "check_sender_access nocolon", &fake_tabs,
				  &list, &error) < 0);
	UNIT_CHECK(restrict_parse("p", RESTRICT_SENDER,
				  "check_sender_access fake:9", &fake_tabs,
				  &list, &error) < 0);
	UNIT_CHECK(strstr(error, "no such fake table") != NULL);
	UNIT_CHECK(restrict_parse("p", RESTRICT_SENDER,
				  "check_sender_access fake:0", NULL, &list,
				  &error) < 0);
	UNIT_CHECK(restrict_parse("p", RESTRICT_CLIENT, "reject_rbl_client",
				  &fake_tabs, &list, &error) < 0);
	UNIT_CHECK(restrict_parse("p", RESTRICT_CLIENT,
				  "reject_rbl_client zen.test=", &fake_tabs,
				  &list, &error) < 0);
	UNIT_CHECK(restrict_parse("p", RESTRICT_SENDER,
				  "check_sender_access inline:{a=b", &fake_tabs,
				  &list, &error) < 0);
	UNIT_CHECK(restrict_parse("p", RESTRICT_SENDER, "permit }", &fake_tabs,
				  &list, &error) < 0);
	/* RESTRICT_LIST_MAX entries parse, one more does not. */
	big[0] = '\0';
	for (int i = 0; i < RESTRICT_LIST_MAX; i++)
		strcat(big, "permit,");
	UNIT_CHECK(restrict_parse("p", RESTRICT_SENDER, big, &fake_tabs, &list,
				  &error) == 0);
	restrict_list_free(&list);
	UNIT_CHECK(list == NULL);
	strcat(big, "permit");
	UNIT_CHECK(restrict_parse("p", RESTRICT_SENDER, big, &fake_tabs, &list,
				  &error) < 0);
	UNIT_CHECK(strstr(error, "more than 64") != NULL);
	/* Empty lists, separators only. */
	UNIT_CHECK(restrict_parse("p", RESTRICT_SENDER, " , \t,", &fake_tabs,
				  &list, &error) == 0);
	restrict_list_free(&list);
	restrict_list_free(&list);
}

static void test_simple(void)
{
	reset();
	EXPECT(RESTRICT_RECIPIENT, "", RESTRICT_DUNNO, "");
	EXPECT(RESTRICT_RECIPIENT, "permit reject", RESTRICT_PERMIT, "");
	EXPECT(RESTRICT_RECIPIENT, "reject", RESTRICT_REJECT,
	       "554 5.7.1 <bob@ours.test>: Recipient address rejected: "
	       "Access denied");
	EXPECT(RESTRICT_CLIENT, "defer", RESTRICT_DEFER,
	       "450 4.3.2 <mx.client.test[198.51.100.7]>: Client host "
	       "rejected: Try again later");
	EXPECT(RESTRICT_HELO, "reject", RESTRICT_REJECT,
	       "554 5.7.1 <mx.client.test>: Helo command rejected: Access "
	       "denied");
	EXPECT(RESTRICT_SENDER, "reject", RESTRICT_REJECT,
	       "554 5.7.1 <alice@sender.test>: Sender address rejected: "
	       "Access denied");
	EXPECT(RESTRICT_RELAY, "permit_mynetworks, reject", RESTRICT_REJECT,
	       "554 5.7.1 <bob@ours.test>: Recipient address rejected: "
	       "Access denied");
	fk.mynetworks = true;
	EXPECT(RESTRICT_RELAY, "permit_mynetworks, reject", RESTRICT_PERMIT,
	       "");
	fk.mynetworks = false;
	EXPECT(RESTRICT_RELAY, "permit_sasl_authenticated reject",
	       RESTRICT_REJECT, "554 5.7.1 <bob@ours.test>: Recipient "
				"address rejected: Access denied");
	ctx.sasl_username = "alice";
	EXPECT(RESTRICT_RELAY, "permit_sasl_authenticated reject",
	       RESTRICT_PERMIT, "");
}

static void test_unauth_destination(void)
{
	const char *deny = "554 5.7.1 <bob@else.test>: Relay access denied";

	reset();
	EXPECT(RESTRICT_RELAY, "reject_unauth_destination", RESTRICT_DUNNO,
	       "");
	ctx.recipient = "bob@else.test";
	EXPECT(RESTRICT_RELAY, "reject_unauth_destination", RESTRICT_REJECT,
	       deny);
	EXPECT(RESTRICT_RELAY, "defer_unauth_destination", RESTRICT_DEFER,
	       "450 4.7.1 <bob@else.test>: Relay access denied");
	fk.mynetworks = true;
	EXPECT(RESTRICT_RELAY, "permit_mynetworks reject_unauth_destination",
	       RESTRICT_PERMIT, "");
	fk.mynetworks = false;
	/* Sender-specified routing to our domain is refused. */
	ctx.recipient = "bob%else.test@ours.test";
	EXPECT(RESTRICT_RELAY, "reject_unauth_destination", RESTRICT_REJECT,
	       "554 5.7.1 <bob%else.test@ours.test>: Relay access denied");
	ctx.recipient = "\"bob@else.test\"@ours.test";
	EXPECT(RESTRICT_RELAY, "reject_unauth_destination", RESTRICT_REJECT,
	       "554 5.7.1 <\"bob@else.test\"@ours.test>: Relay access "
	       "denied");
	ctx.recipient = "else.test!bob@ours.test";
	EXPECT(RESTRICT_RELAY, "reject_unauth_destination", RESTRICT_REJECT,
	       "554 5.7.1 <else.test!bob@ours.test>: Relay access denied");
	ctx.recipient = "\"bob smith\"@ours.test";
	EXPECT(RESTRICT_RELAY, "reject_unauth_destination", RESTRICT_DUNNO,
	       "");
	fk.local = -1;
	ctx.recipient = "bob@ours.test";
	EXPECT(RESTRICT_RELAY, "reject_unauth_destination", RESTRICT_DEFER,
	       "451 4.3.0 <bob@ours.test>: Temporary lookup failure");
	ctx.recipient = NULL;
	EXPECT(RESTRICT_RELAY, "reject_unauth_destination", RESTRICT_DUNNO,
	       "");
}

static void test_fqdn_and_helo(void)
{
	reset();
	ctx.sender = "alice";
	EXPECT(RESTRICT_SENDER, "reject_non_fqdn_sender", RESTRICT_REJECT,
	       "504 5.5.2 <alice>: Sender address rejected: need "
	       "fully-qualified address");
	ctx.sender = "alice@localhost";
	EXPECT(RESTRICT_SENDER, "reject_non_fqdn_sender", RESTRICT_REJECT,
	       "504 5.5.2 <alice@localhost>: Sender address rejected: need "
	       "fully-qualified address");
	ctx.sender = "";
	EXPECT(RESTRICT_SENDER, "reject_non_fqdn_sender", RESTRICT_DUNNO, "");
	ctx.sender = "a@[192.0.2.1]";
	EXPECT(RESTRICT_SENDER, "reject_non_fqdn_sender", RESTRICT_DUNNO, "");
	ctx.recipient = "bob@ours";
	EXPECT(RESTRICT_RECIPIENT, "reject_non_fqdn_recipient",
	       RESTRICT_REJECT, "504 5.5.2 <bob@ours>: Recipient address "
				"rejected: need fully-qualified address");
	ctx.recipient = "bob@ours.test";
	EXPECT(RESTRICT_RECIPIENT, "reject_non_fqdn_recipient", RESTRICT_DUNNO,
	       "");
	ctx.helo = "localhost";
	EXPECT(RESTRICT_HELO, "reject_non_fqdn_helo_hostname", RESTRICT_REJECT,
	       "504 5.5.2 <localhost>: Helo command rejected: need "
	       "fully-qualified hostname");
	ctx.helo = "[192.0.2.1]";
	EXPECT(RESTRICT_HELO, "reject_non_fqdn_helo_hostname", RESTRICT_DUNNO,
	       "");
	static const struct {
		const char *helo;
		bool valid;
	} helos[] = {
		{ "mx.example.com", true }, { "a_b.example", true },
		{ "localhost", true }, { "[192.0.2.1]", true },
		{ "[IPv6:2001:db8::1]", true }, { "-bad.example", false },
		{ "bad-.example", false }, { "a..b", false },
		{ "1.2.3.4", false }, { "[1.2.3]", false },
		{ "[IPv6:zz]", false }, { "ex@mple.com", false },
		{ "", false }, { ".example", false },
	};
	for (size_t i = 0; i < sizeof(helos) / sizeof(helos[0]); i++) {
		enum restrict_verdict v;
		ctx.helo = helos[i].helo;
		const char *reply = run(RESTRICT_HELO,
					"reject_invalid_helo_hostname", &v);
		UNIT_CHECK(v == (helos[i].valid ? RESTRICT_DUNNO
						: RESTRICT_REJECT));
		if (!helos[i].valid)
			UNIT_CHECK(strncmp(reply, "501 5.5.2 <", 11) == 0 &&
				   strstr(reply, "Helo command rejected: "
						 "Invalid name") != NULL);
	}
	char label[80];
	memset(label, 'a', 64);
	strcpy(label + 64, ".test");
	enum restrict_verdict v;
	ctx.helo = label;	/* a 64-octet label */
	run(RESTRICT_HELO, "reject_invalid_helo_hostname", &v);
	UNIT_CHECK(v == RESTRICT_REJECT);
	memmove(label + 63, label + 64, strlen(label + 64) + 1);	/* 63 */
	run(RESTRICT_HELO, "reject_invalid_helo_hostname", &v);
	UNIT_CHECK(v == RESTRICT_DUNNO);
}

static void test_unknown_domain(void)
{
	reset();
	ctx.sender = "a@nx.test";
	EXPECT(RESTRICT_SENDER, "reject_unknown_sender_domain",
	       RESTRICT_DEFER, "450 4.1.8 <a@nx.test>: Sender address "
			       "rejected: Domain not found");
	ctx.sender = "a@null.test";
	EXPECT(RESTRICT_SENDER, "reject_unknown_sender_domain",
	       RESTRICT_REJECT, "556 5.7.27 <a@null.test>: Sender address "
				"rejected: Domain null.test does not accept "
				"mail (nullMX)");
	/* A DNS failure is a DEFER_IF_PERMIT (test_restrict_actions.c
	 * checks how restrict_eval_all decides it). */
	ctx.sender = "a@slow.test";
	EXPECT(RESTRICT_SENDER, "reject_unknown_sender_domain",
	       RESTRICT_DUNNO, "");
	ctx.sender = "a@fine.test";
	EXPECT(RESTRICT_SENDER, "reject_unknown_sender_domain",
	       RESTRICT_DUNNO, "");
	ctx.sender = "";
	EXPECT(RESTRICT_SENDER, "reject_unknown_sender_domain",
	       RESTRICT_DUNNO, "");
	ctx.recipient = "b@nx.test";
	EXPECT(RESTRICT_RECIPIENT, "reject_unknown_recipient_domain",
	       RESTRICT_DEFER, "450 4.1.2 <b@nx.test>: Recipient address "
			       "rejected: Domain not found");
	ctx.recipient = "b@null.test";
	EXPECT(RESTRICT_RECIPIENT, "reject_unknown_recipient_domain",
	       RESTRICT_REJECT, "556 5.1.10 <b@null.test>: Recipient address "
				"rejected: Domain null.test does not accept "
				"mail (nullMX)");
	/* Our own domains are never looked up in DNS. */
	ctx.recipient = "b@ours.test";
	EXPECT(RESTRICT_RECIPIENT, "reject_unknown_recipient_domain",
	       RESTRICT_DUNNO, "");
}

static void test_rbl(void)
{
	const char *listed = "554 5.7.1 Service unavailable; Client host "
			     "[127.0.0.2] blocked using zen.test";

	reset();
	ctx.client_addr = "127.0.0.2";
	EXPECT(RESTRICT_CLIENT, "reject_rbl_client zen.test", RESTRICT_REJECT,
	       listed);
	EXPECT(RESTRICT_CLIENT, "reject_rbl_client zen.test=127.0.0.4",
	       RESTRICT_REJECT, listed);
	EXPECT(RESTRICT_CLIENT, "reject_rbl_client zen.test=127.0.0.3",
	       RESTRICT_DUNNO, "");
	EXPECT(RESTRICT_CLIENT, "reject_rbl_client other.test", RESTRICT_DUNNO,
	       "");
	ctx.client_addr = "127.0.0.3";
	EXPECT(RESTRICT_CLIENT, "reject_rbl_client zen.test", RESTRICT_DUNNO,
	       "");
	UNIT_CHECK(fk.note_count == 1 &&
		   fk.note_kinds[0] == RESTRICT_NOTE_WARN);
	ctx.client_addr = "2001:db8::1";
	EXPECT(RESTRICT_CLIENT, "reject_rbl_client zen.test", RESTRICT_REJECT,
	       "554 5.7.1 Service unavailable; Client host [2001:db8::1] "
	       "blocked using zen.test");
	ctx.client_addr = "unknown";
	EXPECT(RESTRICT_CLIENT, "reject_rbl_client zen.test", RESTRICT_DUNNO,
	       "");
}

static void test_access_keys(void)
{
	enum restrict_verdict v;

	reset();
	ctx.sender = "alice+tag@mail.sender.test";
	run(RESTRICT_SENDER, "check_sender_access fake:1", &v);
	UNIT_CHECK(v == RESTRICT_DUNNO);
	const char *want[] = { "alice+tag@mail.sender.test",
			       "alice@mail.sender.test", "mail.sender.test",
			       "sender.test", "test", "alice+tag@", "alice@" };
	UNIT_CHECK(fk.lookups == 7);
	for (size_t i = 0; i < 7 && i < fk.lookups; i++)
		UNIT_STREQ(fk.looked_up[i], want[i]);
	fk.lookups = 0;
	ctx.sender = "";
	run(RESTRICT_SENDER, "check_sender_access fake:1", &v);
	UNIT_CHECK(fk.lookups == 1);
	UNIT_STREQ(fk.looked_up[0], "<>");
	fk.lookups = 0;
	run(RESTRICT_CLIENT, "check_client_access fake:1", &v);
	const char *cwant[] = { "mx.client.test", "client.test", "test",
				"198.51.100.7", "198.51.100", "198.51",
				"198" };
	UNIT_CHECK(fk.lookups == 7);
	for (size_t i = 0; i < 7 && i < fk.lookups; i++)
		UNIT_STREQ(fk.looked_up[i], cwant[i]);
	fk.lookups = 0;
	ctx.client_name = "unknown";
	ctx.client_addr = "2001:db8::1";
	run(RESTRICT_CLIENT, "check_client_access fake:1", &v);
	const char *v6[] = { "2001:db8::1", "2001:db8:", "2001:db8",
			     "2001" };
	UNIT_CHECK(fk.lookups == 4);
	for (size_t i = 0; i < 4 && i < fk.lookups; i++)
		UNIT_STREQ(fk.looked_up[i], v6[i]);
	fk.lookups = 0;
	ctx.helo = "a.b.test";
	run(RESTRICT_HELO, "check_helo_access fake:1", &v);
	UNIT_CHECK(fk.lookups == 3);
	UNIT_STREQ(fk.looked_up[2], "test");
}

static void test_access_tables(void)
{
	reset();
	ctx.sender = "x@spam.test";
	EXPECT(RESTRICT_SENDER, "check_sender_access fake:0", RESTRICT_REJECT,
	       "554 5.7.1 <x@spam.test>: Sender address rejected: go away");
	/* A parent domain matches; a bare table is the stage's check. */
	ctx.sender = "x@a.spam.test";
	EXPECT(RESTRICT_SENDER, "fake:0", RESTRICT_REJECT,
	       "554 5.7.1 <x@a.spam.test>: Sender address rejected: go away");
	ctx.sender = "bad@else.test";
	EXPECT(RESTRICT_SENDER, "check_sender_access fake:0 reject",
	       RESTRICT_REJECT, "550 5.7.9 <bad@else.test>: Sender address "
				"rejected: no such luck");
	ctx.sender = "x@ok.test";
	EXPECT(RESTRICT_SENDER, "check_sender_access fake:0 reject",
	       RESTRICT_PERMIT, "OK");
	ctx.recipient = "x@spam.test";
	EXPECT(RESTRICT_RECIPIENT, "check_recipient_access fake:0",
	       RESTRICT_REJECT, "554 5.7.1 <x@spam.test>: Recipient address "
				"rejected: go away");
	/* The check names its own subject in any list. */
	ctx.sender = "x@spam.test";
	EXPECT(RESTRICT_RECIPIENT, "check_sender_access fake:0",
	       RESTRICT_REJECT, "554 5.7.1 <x@spam.test>: Sender address "
				"rejected: go away");
	ctx.client_addr = "192.0.2.9";
	EXPECT(RESTRICT_CLIENT, "check_client_access fake:2", RESTRICT_REJECT,
	       "554 5.7.1 <mx.client.test[192.0.2.9]>: Client host rejected: "
	       "Access denied");
	ctx.helo = "fail";
	EXPECT(RESTRICT_HELO, "check_helo_access fake:2", RESTRICT_DEFER,
	       "451 4.3.0 <fail>: Temporary lookup failure");
}

/* One access value for the sender x@dyn.test: verdict and reply. */
static const char *value(const char *v, enum restrict_verdict *verdict)
{
	dyn_value = v;
	ctx.sender = "x@dyn.test";
	fk.note_count = 0;
	return run(RESTRICT_SENDER, "check_sender_access fake:1, reject",
		   verdict);
}

#define VALUE(v, verdict, reply) \
	do { \
		enum restrict_verdict v_; \
		UNIT_STREQ(value(v, &v_), reply); \
		UNIT_CHECK(v_ == (verdict)); \
	} while (0)

static void test_access_values(void)
{
	const char *denied = "554 5.7.1 <x@dyn.test>: Sender address "
			     "rejected: Access denied";
	const char *cfg = "451 4.3.5 Server configuration error";

	reset();
	VALUE("OK", RESTRICT_PERMIT, "OK");
	VALUE("ok", RESTRICT_PERMIT, "OK");
	VALUE("12345", RESTRICT_PERMIT, "OK");
	VALUE("REJECT", RESTRICT_REJECT, denied);
	VALUE("REJECT   spam is bad", RESTRICT_REJECT,
	      "554 5.7.1 <x@dyn.test>: Sender address rejected: spam is bad");
	VALUE("REJECT 5.7.2 listed", RESTRICT_REJECT,
	      "554 5.7.2 <x@dyn.test>: Sender address rejected: listed");
	VALUE("DEFER", RESTRICT_DEFER, "450 4.7.1 <x@dyn.test>: Sender "
				       "address rejected: Access denied");
	VALUE("DEFER come back later", RESTRICT_DEFER,
	      "450 4.7.1 <x@dyn.test>: Sender address rejected: come back "
	      "later");
	VALUE("421 4.4.5 busy", RESTRICT_DEFER,
	      "421 4.4.5 <x@dyn.test>: Sender address rejected: busy");
	VALUE("450 5.1.1 wrong class", RESTRICT_DEFER,
	      "450 4.7.1 <x@dyn.test>: Sender address rejected: 5.1.1 wrong "
	      "class");
	VALUE("553 nope", RESTRICT_REJECT,
	      "553 5.7.1 <x@dyn.test>: Sender address rejected: nope");
	VALUE("599", RESTRICT_PERMIT, "OK");	/* all digits */
	VALUE("599 ", RESTRICT_REJECT,
	      "599 5.7.1 <x@dyn.test>: Sender address rejected: Access "
	      "denied");
	/* DUNNO stops the table's search: the list goes on (reject). */
	VALUE("DUNNO", RESTRICT_REJECT, denied);
	VALUE("HOLD suspicious", RESTRICT_REJECT, denied);
	UNIT_CHECK(fk.note_count == 1 &&
		   fk.note_kinds[0] == RESTRICT_NOTE_HOLD);
	UNIT_STREQ(fk.notes[0], "suspicious");
	VALUE("WARN look at this", RESTRICT_REJECT, denied);
	UNIT_CHECK(fk.note_kinds[0] == RESTRICT_NOTE_WARN);
	VALUE("DISCARD junk", RESTRICT_PERMIT, "DISCARD");
	UNIT_CHECK(fk.note_count == 1 &&
		   fk.note_kinds[0] == RESTRICT_NOTE_DISCARD);
	VALUE("PREPEND X-Policy: seen", RESTRICT_REJECT, denied);
	UNIT_CHECK(fk.note_kinds[0] == RESTRICT_NOTE_PREPEND);
	UNIT_STREQ(fk.notes[0], "X-Policy: seen");
	VALUE("PREPEND no colon", RESTRICT_DEFER, cfg);
	VALUE("PREPEND : empty name", RESTRICT_DEFER, cfg);
	VALUE("PREPEND X-A: a\rb", RESTRICT_DEFER, cfg);
	char longh[1100] = "PREPEND X-Long: ";
	memset(longh + 16, 'x', 998 - 8);	/* "X-Long: " + 990 = 998 */
	longh[16 + 990] = '\0';
	VALUE(longh, RESTRICT_REJECT, denied);	/* added, then reject */
	strcat(longh, "x");
	VALUE(longh, RESTRICT_DEFER, cfg);
	VALUE("FILTER smtpx", RESTRICT_DEFER, cfg);
	VALUE("REDIRECT nobody", RESTRICT_DEFER, cfg);
	VALUE("BOGUS", RESTRICT_DEFER, cfg);
	VALUE("", RESTRICT_DEFER, cfg);
	VALUE("600 x", RESTRICT_DEFER, cfg);
	VALUE("REJECT a\x01" "b", RESTRICT_REJECT,
	      "554 5.7.1 <x@dyn.test>: Sender address rejected: a?b");

	struct restrict_result r;
	UNIT_CHECK(restrict_access_value("REJECT no", RESTRICT_RELAY, &ctx,
					 &r) == RESTRICT_REJECT);
	UNIT_CHECK(strstr(r.reply, "Recipient address rejected: no") != NULL);
}

static struct restrict_list *parse(enum restrict_stage stage, const char *v)
{
	struct restrict_list *list = NULL;
	const char *error;

	if (restrict_parse("p", stage, v, &fake_tabs, &list, &error) < 0)
		fprintf(stderr, "parse %s: %s\n", v, error);
	return list;
}

static bool open_relay(const char *relay, const char *recipient,
		       const char *client)
{
	struct restrict_list *lists[RESTRICT_STAGE_COUNT] = { NULL };

	lists[RESTRICT_CLIENT] = parse(RESTRICT_CLIENT, client);
	lists[RESTRICT_RELAY] = parse(RESTRICT_RELAY, relay);
	lists[RESTRICT_RECIPIENT] = parse(RESTRICT_RECIPIENT, recipient);
	bool open = restrict_open_relay((const struct restrict_list *const *)
						lists);
	for (int i = 0; i < RESTRICT_STAGE_COUNT; i++)
		restrict_list_free(&lists[i]);
	return open;
}

static void test_open_relay(void)
{
	UNIT_CHECK(open_relay("", "", ""));
	UNIT_CHECK(!open_relay("permit_mynetworks, permit_sasl_authenticated, "
			       "defer_unauth_destination", "", ""));
	UNIT_CHECK(!open_relay("permit_mynetworks reject_unauth_destination",
			       "", ""));
	UNIT_CHECK(open_relay("permit_mynetworks permit", "", ""));
	UNIT_CHECK(open_relay("permit reject_unauth_destination", "", ""));
	UNIT_CHECK(!open_relay("permit", "reject_unauth_destination", ""));
	UNIT_CHECK(!open_relay("", "permit_mynetworks, reject", ""));
	UNIT_CHECK(!open_relay("", "", "permit_mynetworks, reject"));
	UNIT_CHECK(open_relay("check_client_access fake:0, "
			      "reject_rbl_client zen.test", "permit", ""));
	UNIT_CHECK(!open_relay("check_client_access fake:0, "
			       "reject_unauth_destination", "", ""));
	UNIT_STREQ(restrict_stage_parameter(RESTRICT_RELAY),
		   "smtpd_relay_restrictions");
}

int main(void)
{
	test_parse_errors();
	test_simple();
	test_unauth_destination();
	test_fqdn_and_helo();
	test_unknown_domain();
	test_rbl();
	test_access_keys();
	test_access_tables();
	test_access_values();
	test_open_relay();
	return unit_done();
}
