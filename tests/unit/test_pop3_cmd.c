/* Unit tests of lib/pop3_cmd: every verb's valid and invalid forms, the
 * message number and line count edges, the line limit, and the state
 * table. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include "pop3_cmd.h"
#include "unit.h"

#define LINE_MAX_TEST 64
#define ARG_MAX_TEST 40

struct ok_case {
	const char *line;
	enum pop3_verb verb;
	const char *arg;	/* expected cmd.arg */
	bool has_msg;
	uint32_t msg;
	uint32_t lines;
	const char *mech;	/* NULL: expect NULL */
	const char *ir;		/* NULL: expect NULL */
};

static const struct ok_case ok_cases[] = {
	{ "USER alice", POP3_VERB_USER, "alice", false, 0, 0, NULL, NULL },
	{ "user alice@example.org", POP3_VERB_USER, "alice@example.org",
	  false, 0, 0, NULL, NULL },
	{ "USER  bob ", POP3_VERB_USER, "bob", false, 0, 0, NULL, NULL },
	{ "PASS secret", POP3_VERB_PASS, "secret", false, 0, 0, NULL, NULL },
	{ "PASS two words  here ", POP3_VERB_PASS, "two words  here ",
	  false, 0, 0, NULL, NULL },
	{ "PASS  lead", POP3_VERB_PASS, " lead", false, 0, 0, NULL, NULL },
	{ "PASS ", POP3_VERB_PASS, "", false, 0, 0, NULL, NULL },
	{ "pAsS x", POP3_VERB_PASS, "x", false, 0, 0, NULL, NULL },
	{ "APOP mrose c4c9334bac560ecc979e58001b3e22fb", POP3_VERB_APOP,
	  "mrose", false, 0, 0, NULL, NULL },
	{ "QUIT", POP3_VERB_QUIT, "", false, 0, 0, NULL, NULL },
	{ "quit", POP3_VERB_QUIT, "", false, 0, 0, NULL, NULL },
	{ "STAT", POP3_VERB_STAT, "", false, 0, 0, NULL, NULL },
	{ "STAT ", POP3_VERB_STAT, "", false, 0, 0, NULL, NULL },
	{ "LIST", POP3_VERB_LIST, "", false, 0, 0, NULL, NULL },
	{ "LIST 2", POP3_VERB_LIST, "", true, 2, 0, NULL, NULL },
	{ "RETR 1", POP3_VERB_RETR, "", true, 1, 0, NULL, NULL },
	{ "retr 2147483647", POP3_VERB_RETR, "", true, 2147483647u, 0,
	  NULL, NULL },
	{ "RETR 007", POP3_VERB_RETR, "", true, 7, 0, NULL, NULL },
	{ "DELE 1", POP3_VERB_DELE, "", true, 1, 0, NULL, NULL },
	{ "NOOP", POP3_VERB_NOOP, "", false, 0, 0, NULL, NULL },
	{ "RSET", POP3_VERB_RSET, "", false, 0, 0, NULL, NULL },
	{ "TOP 1 0", POP3_VERB_TOP, "", true, 1, 0, NULL, NULL },
	{ "TOP 3 10", POP3_VERB_TOP, "", true, 3, 10, NULL, NULL },
	{ "TOP 1 2147483647", POP3_VERB_TOP, "", true, 1, 2147483647u,
	  NULL, NULL },
	{ "TOP 1 2147483648", POP3_VERB_TOP, "", true, 1, 2147483647u,
	  NULL, NULL },
	{ "TOP 1 99999999999999999999999999999", POP3_VERB_TOP, "", true, 1,
	  2147483647u, NULL, NULL },
	{ "UIDL", POP3_VERB_UIDL, "", false, 0, 0, NULL, NULL },
	{ "UIDL 5", POP3_VERB_UIDL, "", true, 5, 0, NULL, NULL },
	{ "CAPA", POP3_VERB_CAPA, "", false, 0, 0, NULL, NULL },
	{ "STLS", POP3_VERB_STLS, "", false, 0, 0, NULL, NULL },
	{ "AUTH", POP3_VERB_AUTH, "", false, 0, 0, NULL, NULL },
	{ "AUTH PLAIN", POP3_VERB_AUTH, "", false, 0, 0, "PLAIN", NULL },
	{ "auth plain", POP3_VERB_AUTH, "", false, 0, 0, "PLAIN", NULL },
	{ "AUTH PLAIN =", POP3_VERB_AUTH, "", false, 0, 0, "PLAIN", "=" },
	{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==", POP3_VERB_AUTH, "", false, 0, 0,
	  "PLAIN", "AGFsaWNlAHNlY3JldA==" },
	{ "AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9", POP3_VERB_AUTH, "", false,
	  0, 0, "SCRAM-SHA-256", "biwsbj11c2VyLHI9" },
};

struct err_case {
	const char *line;
	enum pop3_verb verb;	/* still reported on error */
	const char *error;
};

#define E_MSG "-ERR Invalid message number"

static const struct err_case err_cases[] = {
	{ "", POP3_VERB_UNKNOWN, "-ERR Unknown command" },
	{ "FOO", POP3_VERB_UNKNOWN, "-ERR Unknown command" },
	{ " USER x", POP3_VERB_UNKNOWN, "-ERR Unknown command" },
	{ "USERX a", POP3_VERB_UNKNOWN, "-ERR Unknown command" },
	{ "USE", POP3_VERB_UNKNOWN, "-ERR Unknown command" },
	{ "USER", POP3_VERB_USER, "-ERR Syntax: USER name" },
	{ "USER a b", POP3_VERB_USER, "-ERR Syntax: USER name" },
	{ "USER ../etc", POP3_VERB_USER, "-ERR [AUTH] Invalid user name" },
	{ "USER a/b", POP3_VERB_USER, "-ERR [AUTH] Invalid user name" },
	{ "USER a..b", POP3_VERB_USER, "-ERR [AUTH] Invalid user name" },
	{ "USER 01234567890123456789012345678901234567890",
	  POP3_VERB_USER, "-ERR [AUTH] User name too long" },
	{ "PASS", POP3_VERB_PASS, "-ERR Syntax: PASS password" },
	{ "PASS 01234567890123456789012345678901234567890",
	  POP3_VERB_PASS, "-ERR [AUTH] Password too long" },
	{ "APOP mrose", POP3_VERB_APOP, "-ERR Syntax: APOP name digest" },
	{ "APOP mrose c4c9334bac560ecc979e58001b3e22f", POP3_VERB_APOP,
	  "-ERR Syntax: APOP name digest" },
	{ "APOP mrose c4c9334bac560ecc979e58001b3e22fg", POP3_VERB_APOP,
	  "-ERR Syntax: APOP name digest" },
	{ "QUIT now", POP3_VERB_QUIT, "-ERR Syntax: QUIT" },
	{ "STAT 1", POP3_VERB_STAT, "-ERR Syntax: STAT" },
	{ "LIST 1 2", POP3_VERB_LIST, "-ERR Syntax: LIST [msg]" },
	{ "LIST 0", POP3_VERB_LIST, E_MSG },
	{ "RETR", POP3_VERB_RETR, "-ERR Syntax: RETR msg" },
	{ "RETR 0", POP3_VERB_RETR, E_MSG },
	{ "RETR -1", POP3_VERB_RETR, E_MSG },
	{ "RETR +1", POP3_VERB_RETR, E_MSG },
	{ "RETR 1x", POP3_VERB_RETR, E_MSG },
	{ "RETR x", POP3_VERB_RETR, E_MSG },
	{ "RETR 2147483648", POP3_VERB_RETR, E_MSG },
	{ "RETR 4294967297", POP3_VERB_RETR, E_MSG },
	{ "RETR 99999999999999999999999999999", POP3_VERB_RETR, E_MSG },
	{ "RETR 1 2", POP3_VERB_RETR, "-ERR Syntax: RETR msg" },
	{ "DELE", POP3_VERB_DELE, "-ERR Syntax: DELE msg" },
	{ "DELE 0", POP3_VERB_DELE, E_MSG },
	{ "DELE -5", POP3_VERB_DELE, E_MSG },
	{ "NOOP x", POP3_VERB_NOOP, "-ERR Syntax: NOOP" },
	{ "RSET x", POP3_VERB_RSET, "-ERR Syntax: RSET" },
	{ "TOP", POP3_VERB_TOP, "-ERR Syntax: TOP msg lines" },
	{ "TOP 1", POP3_VERB_TOP, "-ERR Syntax: TOP msg lines" },
	{ "TOP 1 2 3", POP3_VERB_TOP, "-ERR Syntax: TOP msg lines" },
	{ "TOP 0 1", POP3_VERB_TOP, E_MSG },
	{ "TOP 1 -1", POP3_VERB_TOP, "-ERR Invalid line count" },
	{ "TOP 1 +1", POP3_VERB_TOP, "-ERR Invalid line count" },
	{ "TOP 1 1x", POP3_VERB_TOP, "-ERR Invalid line count" },
	{ "UIDL 0", POP3_VERB_UIDL, E_MSG },
	{ "UIDL a", POP3_VERB_UIDL, E_MSG },
	{ "CAPA x", POP3_VERB_CAPA, "-ERR Syntax: CAPA" },
	{ "STLS x", POP3_VERB_STLS, "-ERR Syntax: STLS" },
	{ "AUTH PLAIN a b", POP3_VERB_AUTH,
	  "-ERR Syntax: AUTH mechanism [initial-response]" },
	{ "AUTH PL/AIN", POP3_VERB_AUTH,
	  "-ERR Syntax: AUTH mechanism [initial-response]" },
	{ "AUTH ABCDEFGHIJKLMNOPQRSTU", POP3_VERB_AUTH,
	  "-ERR Syntax: AUTH mechanism [initial-response]" },
	{ "AUTH PLAIN abc", POP3_VERB_AUTH,
	  "-ERR Invalid base64 initial response" },
	{ "AUTH PLAIN ab=c", POP3_VERB_AUTH,
	  "-ERR Invalid base64 initial response" },
	{ "AUTH PLAIN a===", POP3_VERB_AUTH,
	  "-ERR Invalid base64 initial response" },
	{ "AUTH PLAIN ==", POP3_VERB_AUTH,
	  "-ERR Invalid base64 initial response" },
	{ "AUTH PLAIN ab*d", POP3_VERB_AUTH,
	  "-ERR Invalid base64 initial response" },
};

static void test_ok(struct pop3_cmd_parser *p)
{
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct pop3_cmd cmd;
		const char *error = NULL;
		int ret = pop3_cmd_parse(p, c->line, strlen(c->line), &cmd,
					 &error);
		if (ret != 0)
			fprintf(stderr, "case \"%s\": %s\n", c->line, error);
		UNIT_CHECK(ret == 0);
		UNIT_CHECK(cmd.verb == c->verb);
		UNIT_STREQ(cmd.arg, c->arg);
		UNIT_CHECK(cmd.has_msg == c->has_msg);
		UNIT_CHECK(cmd.msg == c->msg);
		UNIT_CHECK(cmd.lines == c->lines);
		if (c->mech == NULL)
			UNIT_CHECK(cmd.mech == NULL);
		else
			UNIT_STREQ(cmd.mech, c->mech);
		if (c->ir == NULL)
			UNIT_CHECK(cmd.initial_response == NULL);
		else
			UNIT_STREQ(cmd.initial_response, c->ir);
	}
}

static void test_errors(struct pop3_cmd_parser *p)
{
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]);
	     i++) {
		const struct err_case *c = &err_cases[i];
		struct pop3_cmd cmd;
		const char *error = NULL;
		int ret = pop3_cmd_parse(p, c->line, strlen(c->line), &cmd,
					 &error);
		if (ret == 0)
			fprintf(stderr, "case \"%s\" accepted\n", c->line);
		UNIT_CHECK(ret == -1);
		UNIT_CHECK(cmd.verb == c->verb);
		UNIT_STREQ(error, c->error);
	}
}

static void test_apop_digest(struct pop3_cmd_parser *p)
{
	const char *line = "APOP u C4C9334BAC560ECC979E58001B3E22FB";
	struct pop3_cmd cmd;
	const char *error;

	UNIT_CHECK(pop3_cmd_parse(p, line, strlen(line), &cmd, &error) == 0);
	UNIT_STREQ(cmd.digest, "c4c9334bac560ecc979e58001b3e22fb");
}

/* NUL, CR, LF, TAB, DEL inside a line; 8-bit in a password is fine. */
static void test_octets(struct pop3_cmd_parser *p)
{
	static const struct { const char *s; size_t len; } bad[] = {
		{ "USER a\0b", 8 }, { "PASS a\rb", 8 }, { "PASS a\nb", 8 },
		{ "STAT\t", 5 }, { "NOOP\x7f", 5 }, { "\0", 1 },
	};
	struct pop3_cmd cmd;
	const char *error;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		UNIT_CHECK(pop3_cmd_parse(p, bad[i].s, bad[i].len, &cmd,
					  &error) == -1);
		UNIT_STREQ(error, "-ERR Invalid character in command");
	}
	UNIT_CHECK(pop3_cmd_parse(p, "PASS p\xc3\xa4ss", 10, &cmd,
				  &error) == 0);
	UNIT_STREQ(cmd.arg, "p\xc3\xa4ss");
}

/* Lines of line_max - 1, line_max and line_max + 1 octets. */
static void test_line_limit(struct pop3_cmd_parser *p)
{
	char line[LINE_MAX_TEST + 2];
	struct pop3_cmd cmd;
	const char *error;

	for (size_t len = LINE_MAX_TEST - 1; len <= LINE_MAX_TEST + 1;
	     len++) {
		memset(line, ' ', len);
		memcpy(line, "LIST 1", 6);
		line[len] = '\0';
		int ret = pop3_cmd_parse(p, line, len, &cmd, &error);
		if (len <= LINE_MAX_TEST) {
			UNIT_CHECK(ret == 0);
			UNIT_CHECK(cmd.msg == 1);
		} else {
			UNIT_CHECK(ret == -1);
			UNIT_STREQ(error, "-ERR Line too long");
		}
	}
	/* The reply to a too-long line does not depend on its content. */
	memset(line, 'A', LINE_MAX_TEST + 1);
	UNIT_CHECK(pop3_cmd_parse(p, line, LINE_MAX_TEST + 1, &cmd,
				  &error) == -1);
	UNIT_CHECK(cmd.verb == POP3_VERB_UNKNOWN);
}

/* Password length: arg_max - 1, arg_max, arg_max + 1. */
static void test_pass_limit(struct pop3_cmd_parser *p)
{
	char line[5 + ARG_MAX_TEST + 2];
	struct pop3_cmd cmd;
	const char *error;

	for (size_t n = ARG_MAX_TEST - 1; n <= ARG_MAX_TEST + 1; n++) {
		memcpy(line, "PASS ", 5);
		memset(line + 5, ' ', n);
		int ret = pop3_cmd_parse(p, line, 5 + n, &cmd, &error);
		UNIT_CHECK(ret == (n <= ARG_MAX_TEST ? 0 : -1));
		if (ret == 0)
			UNIT_CHECK(strlen(cmd.arg) == n);
	}
}

static void test_states(void)
{
	static const struct {
		enum pop3_verb verb;
		bool authz, trans;
	} table[] = {
		{ POP3_VERB_UNKNOWN, false, false },
		{ POP3_VERB_USER, true, false },
		{ POP3_VERB_PASS, true, false },
		{ POP3_VERB_APOP, true, false },
		{ POP3_VERB_QUIT, true, true },
		{ POP3_VERB_STAT, false, true },
		{ POP3_VERB_LIST, false, true },
		{ POP3_VERB_RETR, false, true },
		{ POP3_VERB_DELE, false, true },
		{ POP3_VERB_NOOP, false, true },
		{ POP3_VERB_RSET, false, true },
		{ POP3_VERB_TOP, false, true },
		{ POP3_VERB_UIDL, false, true },
		{ POP3_VERB_CAPA, true, true },
		{ POP3_VERB_STLS, true, false },
		{ POP3_VERB_AUTH, true, false },
	};

	UNIT_CHECK(sizeof(table) / sizeof(table[0]) == POP3_VERB_COUNT);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		enum pop3_verb v = table[i].verb;
		UNIT_CHECK(pop3_cmd_allowed(v, POP3_STATE_AUTHORIZATION) ==
			   table[i].authz);
		UNIT_CHECK(pop3_cmd_allowed(v, POP3_STATE_TRANSACTION) ==
			   table[i].trans);
		UNIT_CHECK(!pop3_cmd_allowed(v, POP3_STATE_UPDATE));
		UNIT_CHECK(!pop3_cmd_allowed(v, POP3_STATE_COUNT));
	}
	UNIT_CHECK(!pop3_cmd_allowed(POP3_VERB_COUNT,
				     POP3_STATE_AUTHORIZATION));
	UNIT_CHECK(!pop3_cmd_allowed((enum pop3_verb)-1,
				     POP3_STATE_TRANSACTION));
	UNIT_CHECK(!pop3_cmd_allowed(POP3_VERB_STAT, (enum pop3_state)-1));
}

/* The parser keeps no state between lines. */
static void test_reuse(struct pop3_cmd_parser *p)
{
	struct pop3_cmd cmd;
	const char *error;

	UNIT_CHECK(pop3_cmd_parse(p, "TOP 4 5", 7, &cmd, &error) == 0);
	UNIT_CHECK(pop3_cmd_parse(p, "LIST", 4, &cmd, &error) == 0);
	UNIT_CHECK(!cmd.has_msg && cmd.msg == 0 && cmd.lines == 0);
	UNIT_STREQ(cmd.name, "LIST");
}

int main(void)
{
	struct pop3_cmd_limits l = { .line_max = LINE_MAX_TEST,
				     .arg_max = ARG_MAX_TEST };
	struct pop3_cmd_parser *p = pop3_cmd_parser_new(&l);

	test_ok(p);
	test_errors(p);
	test_apop_digest(p);
	test_octets(p);
	test_line_limit(p);
	test_pass_limit(p);
	test_states();
	test_reuse(p);
	pop3_cmd_parser_free(&p);
	UNIT_CHECK(p == NULL);
	pop3_cmd_parser_free(&p);
	return unit_done();
}
