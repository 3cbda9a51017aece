/* Unit tests of lib/smtp_cmd: every verb, every ESMTP parameter, every
 * bad MAIL/RCPT syntax with the reply it earns, and the line limit. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "smtp_cmd.h"
#include "unit.h"

#define F_UTF8 SMTP_CMD_FLAG_UTF8

/* Lines and the reply code they earn ("" = accepted). */
static const struct {
	const char *line;
	unsigned flags;
	enum smtp_verb verb;
	const char *reply;	/* prefix of the error reply, or "" */
} cases[] = {
	{ "EHLO mail.example.com", 0, SMTP_VERB_EHLO, "" },
	{ "ehlo mail.example.com", 0, SMTP_VERB_EHLO, "" },
	{ "EHLO [192.0.2.1]", 0, SMTP_VERB_EHLO, "" },
	{ "EHLO [IPv6:2001:db8::1]", 0, SMTP_VERB_EHLO, "" },
	{ "EHLO mail.example.com   ", 0, SMTP_VERB_EHLO, "" },
	{ "EHLO", 0, SMTP_VERB_EHLO, "501 5.5.4 Syntax: EHLO" },
	{ "HELO", 0, SMTP_VERB_HELO, "501 5.5.4 Syntax: HELO" },
	{ "EHLO a b", 0, SMTP_VERB_EHLO, "501 5.5.4" },
	{ "EHLO win_pc", 0, SMTP_VERB_EHLO, "" },
	{ "EHLO [300.1.1.1]", 0, SMTP_VERB_EHLO, "" },
	{ "EHLO h\xc3\xa9", 0, SMTP_VERB_EHLO, "501 5.5.2" },
	{ "EHLO a\x7f", 0, SMTP_VERB_EHLO, "500 5.5.2" },
	{ "HELO x.y", 0, SMTP_VERB_HELO, "" },
	{ "MAIL FROM:<a@b.c>", 0, SMTP_VERB_MAIL, "" },
	{ "mail from:<a@b.c>", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM: <a@b.c>", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<>", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<@r.example:a@b.c>", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:a@b.c", 0, SMTP_VERB_MAIL, "501 5.5.4 Syntax: MAIL" },
	{ "MAIL FROM <a@b.c>", 0, SMTP_VERB_MAIL, "501 5.5.4 Syntax: MAIL" },
	{ "MAIL TO:<a@b.c>", 0, SMTP_VERB_MAIL, "501 5.5.4 Syntax: MAIL" },
	{ "MAIL", 0, SMTP_VERB_MAIL, "501 5.5.4 Syntax: MAIL" },
	{ "MAIL FROM:", 0, SMTP_VERB_MAIL, "501 5.5.4 Syntax: MAIL" },
	{ "MAIL FROM:<a@b.c", 0, SMTP_VERB_MAIL, "501 5.1.7" },
	{ "MAIL FROM:<a>", 0, SMTP_VERB_MAIL, "501 5.1.7" },
	{ "MAIL FROM:<a@b..c>", 0, SMTP_VERB_MAIL, "501 5.1.7" },
	{ "MAIL FROM:<a b@c.d>", 0, SMTP_VERB_MAIL, "501 5.1.7" },
	{ "MAIL FROM:<a@b.c>x", 0, SMTP_VERB_MAIL, "501 5.1.7" },
	{ "MAIL FROM:<postmaster>", 0, SMTP_VERB_MAIL, "501 5.1.7" },
	{ "MAIL FROM:<a@b.c> SIZE=1000", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<a@b.c> SIZE=99999999999999999999", 0, SMTP_VERB_MAIL,
	  "501 5.5.4" },	/* > 2^64 */
	{ "MAIL FROM:<a@b.c> SIZE=123456789012345678901", 0, SMTP_VERB_MAIL,
	  "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> SIZE=-1", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> SIZE=", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> SIZE", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> SIZE=1 SIZE=2", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> BODY=8BITMIME", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<a@b.c> body=7bit", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<a@b.c> BODY=BINARYMIME", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> SMTPUTF8", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<a@b.c> SMTPUTF8=yes", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> RET=FULL", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<a@b.c> RET=HDRS", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<a@b.c> RET=ALL", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> ENVID=abc+2Bdef", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<a@b.c> ENVID=abc+2bdef", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> ENVID=abc+2", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> AUTH=<>", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<a@b.c> AUTH=a+40b.c", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<a@b.c> FOO=bar", 0, SMTP_VERB_MAIL,
	  "555 5.5.4 Unsupported option: FOO" },
	{ "MAIL FROM:<a@b.c> NOTIFY=NEVER", 0, SMTP_VERB_MAIL, "555 5.5.4" },
	{ "MAIL FROM:<a@b.c> =x", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c> -X=1", 0, SMTP_VERB_MAIL, "501 5.5.4" },
	{ "MAIL FROM:<a@b.c>  SIZE=1  BODY=7BIT", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<j\xc3\xb6@b.c> SMTPUTF8", 0, SMTP_VERB_MAIL, "" },
	{ "MAIL FROM:<j\xc3\xb6@b.c>", 0, SMTP_VERB_MAIL, "553 5.6.7" },
	{ "MAIL FROM:<j\xc3@b.c> SMTPUTF8", 0, SMTP_VERB_MAIL, "500 5.5.2" },
	{ "RCPT TO:<a@b.c>", 0, SMTP_VERB_RCPT, "" },
	{ "RCPT TO: <a@b.c>", 0, SMTP_VERB_RCPT, "" },
	{ "RCPT TO:<postmaster>", 0, SMTP_VERB_RCPT, "" },
	{ "RCPT TO:<>", 0, SMTP_VERB_RCPT, "501 5.1.3" },
	{ "RCPT TO:<a>", 0, SMTP_VERB_RCPT, "501 5.1.3" },
	{ "RCPT TO:<a@b.c", 0, SMTP_VERB_RCPT, "501 5.1.3" },
	{ "RCPT TO:a@b.c", 0, SMTP_VERB_RCPT, "501 5.5.4 Syntax: RCPT" },
	{ "RCPT FROM:<a@b.c>", 0, SMTP_VERB_RCPT, "501 5.5.4 Syntax: RCPT" },
	{ "RCPT", 0, SMTP_VERB_RCPT, "501 5.5.4 Syntax: RCPT" },
	{ "RCPT TO:<a@b.c> NOTIFY=SUCCESS,FAILURE", 0, SMTP_VERB_RCPT, "" },
	{ "RCPT TO:<a@b.c> NOTIFY=never", 0, SMTP_VERB_RCPT, "" },
	{ "RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS", 0, SMTP_VERB_RCPT,
	  "501 5.5.4" },
	{ "RCPT TO:<a@b.c> NOTIFY=SUCCESS,SUCCESS", 0, SMTP_VERB_RCPT,
	  "501 5.5.4" },
	{ "RCPT TO:<a@b.c> NOTIFY=SUCCESS,", 0, SMTP_VERB_RCPT, "501 5.5.4" },
	{ "RCPT TO:<a@b.c> NOTIFY=SOMETIMES", 0, SMTP_VERB_RCPT, "501 5.5.4" },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822;a+40b.c", 0, SMTP_VERB_RCPT, "" },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822", 0, SMTP_VERB_RCPT, "501 5.5.4" },
	{ "RCPT TO:<a@b.c> ORCPT=;a@b.c", 0, SMTP_VERB_RCPT, "501 5.5.4" },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822;", 0, SMTP_VERB_RCPT, "501 5.5.4" },
	{ "RCPT TO:<a@b.c> SIZE=1", 0, SMTP_VERB_RCPT, "555 5.5.4" },
	{ "RCPT TO:<j\xc3\xb6@b.c>", F_UTF8, SMTP_VERB_RCPT, "" },
	{ "RCPT TO:<j\xc3\xb6@b.c>", 0, SMTP_VERB_RCPT, "553 5.6.7" },
	{ "DATA", 0, SMTP_VERB_DATA, "" },
	{ "data", 0, SMTP_VERB_DATA, "" },
	{ "DATA x", 0, SMTP_VERB_DATA, "501 5.5.4 Syntax: DATA" },
	{ "BDAT 0 LAST", 0, SMTP_VERB_BDAT, "" },
	{ "BDAT 100", 0, SMTP_VERB_BDAT, "" },
	{ "BDAT 100 last", 0, SMTP_VERB_BDAT, "" },
	{ "BDAT", 0, SMTP_VERB_BDAT, "501 5.5.4" },
	{ "BDAT x", 0, SMTP_VERB_BDAT, "501 5.5.4" },
	{ "BDAT -1", 0, SMTP_VERB_BDAT, "501 5.5.4" },
	{ "BDAT 1 FIRST", 0, SMTP_VERB_BDAT, "501 5.5.4" },
	{ "BDAT 1 LAST x", 0, SMTP_VERB_BDAT, "501 5.5.4" },
	{ "BDAT 123456789012345678901", 0, SMTP_VERB_BDAT, "501 5.5.4" },
	{ "RSET", 0, SMTP_VERB_RSET, "" },
	{ "RSET now", 0, SMTP_VERB_RSET, "501 5.5.4" },
	{ "QUIT", 0, SMTP_VERB_QUIT, "" },
	{ "NOOP", 0, SMTP_VERB_NOOP, "" },
	{ "NOOP anything at all", 0, SMTP_VERB_NOOP, "" },
	{ "HELP", 0, SMTP_VERB_HELP, "" },
	{ "VRFY user", 0, SMTP_VERB_VRFY, "" },
	{ "VRFY", 0, SMTP_VERB_VRFY, "501 5.5.4" },
	{ "GET / HTTP/1.0", 0, SMTP_VERB_FORBIDDEN, "" },
	{ "CONNECT x:25 HTTP/1.0", 0, SMTP_VERB_FORBIDDEN, "" },
	{ "EXPN list", 0, SMTP_VERB_UNKNOWN, "500 5.5.2" },
	{ "XYZZY", 0, SMTP_VERB_UNKNOWN, "500 5.5.2" },
	{ "", 0, SMTP_VERB_UNKNOWN, "500 5.5.2" },
	{ "   ", 0, SMTP_VERB_UNKNOWN, "500 5.5.2" },
	{ " NOOP", 0, SMTP_VERB_UNKNOWN, "500 5.5.2" },
	{ "NOOP \x01", 0, SMTP_VERB_NOOP, "500 5.5.2" },
	{ "NOOP \t", 0, SMTP_VERB_NOOP, "500 5.5.2" },
	{ "NOOP \x7f", 0, SMTP_VERB_NOOP, "500 5.5.2" },
	{ "NOOP \xff", 0, SMTP_VERB_NOOP, "500 5.5.2" },
	{ "NOOP \xc3\xa9", 0, SMTP_VERB_NOOP, "" },
};

static void test_table(struct smtp_cmd_parser *p)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_cmd cmd;
		const char *error = NULL;
		int ret = smtp_cmd_parse(p, cases[i].line,
					 strlen(cases[i].line), cases[i].flags,
					 &cmd, &error);
		bool want_ok = cases[i].reply[0] == '\0';
		UNIT_CHECK(cmd.verb == cases[i].verb);
		if (want_ok) {
			UNIT_CHECK(ret == 0);
			if (ret != 0)
				fprintf(stderr, "  %s -> %s\n", cases[i].line,
					error);
		} else {
			UNIT_CHECK(ret == -1 && error != NULL &&
				   strncmp(error, cases[i].reply,
					   strlen(cases[i].reply)) == 0);
			if (ret == 0 || strncmp(error, cases[i].reply,
						strlen(cases[i].reply)) != 0)
				fprintf(stderr, "  %s -> %s\n", cases[i].line,
					ret == 0 ? "accepted" : error);
		}
	}
}

static void test_values(struct smtp_cmd_parser *p)
{
	struct smtp_cmd cmd;
	const char *error;
	static const char mail[] = "MAIL FROM:<Jo@Example.COM> SIZE=1234 "
				   "BODY=8BITMIME RET=HDRS ENVID=QQ314159 "
				   "SMTPUTF8";

	UNIT_CHECK(smtp_cmd_parse(p, mail, strlen(mail), 0, &cmd, &error) ==
		   0);
	UNIT_STREQ(cmd.addr.address, "Jo@example.com");
	UNIT_CHECK(cmd.has_size && cmd.size == 1234);
	UNIT_CHECK(cmd.body == SMTP_BODY_8BITMIME);
	UNIT_CHECK(cmd.ret == SMTP_RET_HDRS);
	UNIT_STREQ(cmd.envid, "QQ314159");
	UNIT_CHECK(cmd.smtputf8);
	UNIT_STREQ(cmd.name, "MAIL");

	static const char rcpt[] = "RCPT TO:<x@y.z> NOTIFY=DELAY,FAILURE "
				   "ORCPT=rfc822;x+40y.z";
	UNIT_CHECK(smtp_cmd_parse(p, rcpt, strlen(rcpt), 0, &cmd, &error) ==
		   0);
	UNIT_CHECK(cmd.notify == (SMTP_NOTIFY_DELAY | SMTP_NOTIFY_FAILURE));
	UNIT_STREQ(cmd.orcpt, "rfc822;x+40y.z");
	char notify[64];
	smtp_cmd_notify_str(cmd.notify, notify, sizeof(notify));
	UNIT_STREQ(notify, "FAILURE,DELAY");
	smtp_cmd_notify_str(SMTP_NOTIFY_NEVER, notify, sizeof(notify));
	UNIT_STREQ(notify, "NEVER");
	smtp_cmd_notify_str(0, notify, sizeof(notify));
	UNIT_STREQ(notify, "");

	static const char bdat[] = "BDAT 18446744073709551615 LAST";
	UNIT_CHECK(smtp_cmd_parse(p, bdat, strlen(bdat), 0, &cmd, &error) ==
		   0);
	UNIT_CHECK(cmd.chunk_size == UINT64_MAX && cmd.last);

	UNIT_CHECK(smtp_cmd_parse(p, "EHLO Mail.Example", 17, 0, &cmd,
				  &error) == 0);
	UNIT_STREQ(cmd.arg, "Mail.Example");
	UNIT_CHECK(smtp_cmd_parse(p, "NOOP \0x", 7, 0, &cmd, &error) == -1);
}

/* A HELO name: 254, 255 bytes accepted, 256 refused. */
static void test_helo_limit(struct smtp_cmd_parser *p)
{
	char line[300];
	struct smtp_cmd cmd;
	const char *error;
	const size_t lens[] = { 254, 255, 256 };
	const int ok[] = { 0, 0, -1 };

	for (size_t i = 0; i < 3; i++) {
		memcpy(line, "EHLO ", 5);
		memset(line + 5, 'h', lens[i]);
		line[5 + lens[i]] = '\0';
		UNIT_CHECK(smtp_cmd_parse(p, line, 5 + lens[i], 0, &cmd,
					  &error) == ok[i]);
	}
}

/* ENVID: 100 decoded octets; ORCPT: 500. */
static void test_param_limits(struct smtp_cmd_parser *p)
{
	char line[1200];
	struct smtp_cmd cmd;
	const char *error;
	const size_t envid[] = { 99, 100, 101 };
	const int envid_ok[] = { 0, 0, -1 };

	for (size_t i = 0; i < 3; i++) {
		int n = snprintf(line, sizeof(line), "MAIL FROM:<a@b.c> ENVID=");
		memset(line + n, 'e', envid[i]);
		line[n + envid[i]] = '\0';
		UNIT_CHECK(smtp_cmd_parse(p, line, strlen(line), 0, &cmd,
					  &error) == envid_ok[i]);
	}
	/* "+41" counts as one octet */
	int n = snprintf(line, sizeof(line), "MAIL FROM:<a@b.c> ENVID=");
	for (int i = 0; i < 100; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "+41");
	UNIT_CHECK(smtp_cmd_parse(p, line, strlen(line), 0, &cmd, &error) ==
		   0);
	const size_t orcpt[] = { 499, 500, 501 };
	for (size_t i = 0; i < 3; i++) {
		n = snprintf(line, sizeof(line), "RCPT TO:<a@b.c> ORCPT=r;");
		memset(line + n, 'o', orcpt[i]);
		line[n + orcpt[i]] = '\0';
		UNIT_CHECK(smtp_cmd_parse(p, line, strlen(line), 0, &cmd,
					  &error) == envid_ok[i]);
	}
}

/* The line limit given at creation: limit-1, limit, limit+1. */
static void test_line_limit(void)
{
	struct smtp_cmd_limits limits = { .line_max = 64, .smtputf8 = false };
	struct smtp_cmd_parser *p = smtp_cmd_parser_new(&limits);
	char line[80];
	struct smtp_cmd cmd;
	const char *error;

	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'x', sizeof(line) - 5);
	UNIT_CHECK(smtp_cmd_parse(p, line, 63, 0, &cmd, &error) == 0);
	UNIT_CHECK(smtp_cmd_parse(p, line, 64, 0, &cmd, &error) == 0);
	UNIT_CHECK(smtp_cmd_parse(p, line, 65, 0, &cmd, &error) == -1);
	UNIT_CHECK(strncmp(error, "500 5.5.2", 9) == 0);
	/* Without SMTPUTF8 no octet above 127 gets in, nor the option. */
	UNIT_CHECK(smtp_cmd_parse(p, "NOOP \xc3\xa9", 7, 0, &cmd, &error) ==
		   -1);
	static const char m[] = "MAIL FROM:<a@b.c> SMTPUTF8";
	UNIT_CHECK(smtp_cmd_parse(p, m, strlen(m), 0, &cmd, &error) == -1);
	UNIT_CHECK(strncmp(error, "555 5.5.4", 9) == 0);
	static const char u[] = "MAIL FROM:<j\xc3\xb6@b.c>";
	UNIT_CHECK(smtp_cmd_parse(p, u, strlen(u), 0, &cmd, &error) == -1);
	smtp_cmd_parser_free(&p);
	UNIT_CHECK(p == NULL);
}

int main(void)
{
	struct smtp_cmd_limits limits = { .line_max = 2048, .smtputf8 = true };
	struct smtp_cmd_parser *p = smtp_cmd_parser_new(&limits);

	test_table(p);
	test_values(p);
	test_param_limits(p);
	test_helo_limit(p);
	smtp_cmd_parser_free(&p);
	test_line_limit();
	return unit_done();
}
