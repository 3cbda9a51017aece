/* pop3_cmd: one POP3 command line into a struct pop3_cmd, or the -ERR
 * reply its syntax error deserves; see pop3_cmd.h. A verb table holds each
 * verb's argument counts, its allowed states and its argument parser. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "str.h"
#include "pop3_cmd.h"

/* Most arguments a verb takes (TOP, APOP, AUTH: 2). */
#define ARGS_MAX 2

struct pop3_cmd_parser {
	struct pop3_cmd_limits limits;
	char *copy;		/* the line, cut in place: line_max + 1 */
	char error[128];	/* replies that name the verb */
};

struct verb_def;
typedef int verb_fn(struct pop3_cmd_parser *p, const struct verb_def *def,
		    char **args, unsigned nargs, struct pop3_cmd *cmd,
		    const char **error_r);

struct verb_def {
	const char *name;
	enum pop3_verb verb;
	unsigned min_args, max_args;
	unsigned states;	/* 1 << enum pop3_state */
	const char *usage;	/* "-ERR Syntax: ..." */
	verb_fn *parse;
};

#define AUTHZ (1u << POP3_STATE_AUTHORIZATION)
#define TRANS (1u << POP3_STATE_TRANSACTION)

/* A message number: digits only (no sign, no "+", no junk), 1..2^31-1. */
static int parse_msg(const char *s, uint32_t *msg_r)
{
	uint64_t v;

	if (s[0] < '0' || s[0] > '9' || str_to_u64(s, &v) < 0 || v == 0 ||
	    v > POP3_MSG_MAX)
		return -1;
	*msg_r = (uint32_t)v;
	return 0;
}

/* Any digit string is a valid count; past the maximum it is clamped (it
 * asks for the whole body either way). */
static int parse_lines(const char *s, uint32_t *lines_r)
{
	uint64_t v;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return -1;
	if (str_to_u64(s, &v) < 0 || v > POP3_TOP_LINES_MAX)
		v = POP3_TOP_LINES_MAX;
	*lines_r = (uint32_t)v;
	return 0;
}

static int syntax_error(struct pop3_cmd_parser *p, const struct verb_def *def,
			const char **error_r)
{
	snprintf(p->error, sizeof(p->error), "-ERR Syntax: %s", def->usage);
	*error_r = p->error;
	return -1;
}

static int parse_none(struct pop3_cmd_parser *p, const struct verb_def *def,
		      char **args, unsigned nargs, struct pop3_cmd *cmd,
		      const char **error_r)
{
	return 0;
}

/* RETR, DELE, and the optional argument of LIST and UIDL. */
static int parse_msg_arg(struct pop3_cmd_parser *p, const struct verb_def *def,
			 char **args, unsigned nargs, struct pop3_cmd *cmd,
			 const char **error_r)
{
	if (nargs == 0)
		return 0;
	if (parse_msg(args[0], &cmd->msg) < 0) {
		*error_r = "-ERR Invalid message number";
		return -1;
	}
	cmd->has_msg = true;
	return 0;
}

static int parse_top(struct pop3_cmd_parser *p, const struct verb_def *def,
		     char **args, unsigned nargs, struct pop3_cmd *cmd,
		     const char **error_r)
{
	if (parse_msg_arg(p, def, args, nargs, cmd, error_r) < 0)
		return -1;
	if (parse_lines(args[1], &cmd->lines) < 0) {
		*error_r = "-ERR Invalid line count";
		return -1;
	}
	return 0;
}

/* A login name goes into maps and paths later: refuse "/" and ".." here
 * already (NUL and control characters never get this far). */
static int check_name(struct pop3_cmd_parser *p, const char *name,
		      const char **error_r)
{
	if (strlen(name) > p->limits.arg_max) {
		*error_r = "-ERR [AUTH] User name too long";
		return -1;
	}
	if (strchr(name, '/') != NULL || strstr(name, "..") != NULL) {
		*error_r = "-ERR [AUTH] Invalid user name";
		return -1;
	}
	return 0;
}

static int parse_user(struct pop3_cmd_parser *p, const struct verb_def *def,
		      char **args, unsigned nargs, struct pop3_cmd *cmd,
		      const char **error_r)
{
	if (check_name(p, args[0], error_r) < 0)
		return -1;
	cmd->arg = args[0];
	return 0;
}

/* The digest is 32 hex digits (MD5, RFC 1939 7). */
static int parse_apop(struct pop3_cmd_parser *p, const struct verb_def *def,
		      char **args, unsigned nargs, struct pop3_cmd *cmd,
		      const char **error_r)
{
	char *d = args[1];

	if (check_name(p, args[0], error_r) < 0)
		return -1;
	if (strlen(d) != 32 || strspn(d, "0123456789abcdefABCDEF") != 32)
		return syntax_error(p, def, error_r);
	str_lower(d);
	cmd->arg = args[0];
	cmd->digest = d;
	return 0;
}

/* base64 (RFC 4648, padded) or "=" for an empty response (RFC 5034 4). */
static bool initial_response_valid(const char *s)
{
	size_t len = strlen(s), n;

	if (strcmp(s, "=") == 0)
		return true;
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789+/");
	if (len == 0 || len % 4 != 0 || len - n > 2)
		return false;
	return strspn(s + n, "=") == len - n;
}

static int parse_auth(struct pop3_cmd_parser *p, const struct verb_def *def,
		      char **args, unsigned nargs, struct pop3_cmd *cmd,
		      const char **error_r)
{
	char *mech = args[0];
	size_t len;

	if (nargs == 0)
		return 0;
	len = strlen(mech);
	if (len > POP3_MECH_MAX || strspn(mech, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789-_") != len)
		return syntax_error(p, def, error_r);
	if (nargs == 2 && !initial_response_valid(args[1])) {
		*error_r = "-ERR Invalid base64 initial response";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (mech[i] >= 'a' && mech[i] <= 'z')
			mech[i] = (char)(mech[i] - 'a' + 'A');
	cmd->mech = mech;
	cmd->initial_response = nargs == 2 ? args[1] : NULL;
	return 0;
}

static const struct verb_def verbs[] = {
	{ "USER", POP3_VERB_USER, 1, 1, AUTHZ, "USER name", parse_user },
	/* PASS is special-cased: its argument is the rest of the line. */
	{ "PASS", POP3_VERB_PASS, 0, 0, AUTHZ, "PASS password", parse_none },
	{ "APOP", POP3_VERB_APOP, 2, 2, AUTHZ, "APOP name digest",
	  parse_apop },
	{ "QUIT", POP3_VERB_QUIT, 0, 0, AUTHZ | TRANS, "QUIT", parse_none },
	{ "STAT", POP3_VERB_STAT, 0, 0, TRANS, "STAT", parse_none },
	{ "LIST", POP3_VERB_LIST, 0, 1, TRANS, "LIST [msg]", parse_msg_arg },
	{ "RETR", POP3_VERB_RETR, 1, 1, TRANS, "RETR msg", parse_msg_arg },
	{ "DELE", POP3_VERB_DELE, 1, 1, TRANS, "DELE msg", parse_msg_arg },
	{ "NOOP", POP3_VERB_NOOP, 0, 0, TRANS, "NOOP", parse_none },
	{ "RSET", POP3_VERB_RSET, 0, 0, TRANS, "RSET", parse_none },
	{ "TOP", POP3_VERB_TOP, 2, 2, TRANS, "TOP msg lines", parse_top },
	{ "UIDL", POP3_VERB_UIDL, 0, 1, TRANS, "UIDL [msg]", parse_msg_arg },
	{ "CAPA", POP3_VERB_CAPA, 0, 0, AUTHZ | TRANS, "CAPA", parse_none },
	{ "STLS", POP3_VERB_STLS, 0, 0, AUTHZ, "STLS", parse_none },
	{ "AUTH", POP3_VERB_AUTH, 0, 2, AUTHZ,
	  "AUTH mechanism [initial-response]", parse_auth },
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

struct pop3_cmd_parser *pop3_cmd_parser_new(const struct pop3_cmd_limits *l)
{
	struct pop3_cmd_parser *p = xcalloc(1, sizeof(*p));

	p->limits = *l;
	p->copy = xmalloc(l->line_max + 1);
	return p;
}

void pop3_cmd_parser_free(struct pop3_cmd_parser **p)
{
	if (*p == NULL)
		return;
	free((*p)->copy);
	xfree(p);
}

bool pop3_cmd_allowed(enum pop3_verb verb, enum pop3_state state)
{
	if ((unsigned)state >= POP3_STATE_COUNT)
		return false;
	for (size_t i = 0; i < N_VERBS; i++)
		if (verbs[i].verb == verb)
			return (verbs[i].states & (1u << state)) != 0;
	return false;
}

static const struct verb_def *find_verb(const char *s, size_t len)
{
	for (size_t i = 0; i < N_VERBS; i++)
		if (strlen(verbs[i].name) == len &&
		    strncasecmp(verbs[i].name, s, len) == 0)
			return &verbs[i];
	return NULL;
}

/* PASS: everything after the one space that ends the verb, spaces and
 * all (RFC 1939 7 allows them in a password). */
static int parse_pass(struct pop3_cmd_parser *p, const struct verb_def *def,
		      char *rest, struct pop3_cmd *cmd, const char **error_r)
{
	if (*rest != ' ')
		return syntax_error(p, def, error_r);
	rest++;
	if (strlen(rest) > p->limits.arg_max) {
		*error_r = "-ERR [AUTH] Password too long";
		return -1;
	}
	cmd->arg = rest;
	return 0;
}

/* Splits args on runs of spaces into at most ARGS_MAX; more is an error
 * unless the verb takes them. */
static int split_args(struct pop3_cmd_parser *p, const struct verb_def *def,
		      char *s, struct pop3_cmd *cmd, const char **error_r)
{
	char *args[ARGS_MAX + 1] = { NULL };
	unsigned n = 0;
	char *tok;

	while (n <= ARGS_MAX && (tok = str_next_token(&s, " ")) != NULL)
		args[n++] = tok;
	if (n < def->min_args || n > def->max_args)
		return syntax_error(p, def, error_r);
	return def->parse(p, def, args, n, cmd, error_r);
}

int pop3_cmd_parse(struct pop3_cmd_parser *p, const char *line, size_t len,
		   struct pop3_cmd *cmd_r, const char **error_r)
{
	const struct verb_def *def;

	memset(cmd_r, 0, sizeof(*cmd_r));
	cmd_r->name = "unknown";
	cmd_r->arg = "";
	cmd_r->digest = "";
	if (len > p->limits.line_max) {
		*error_r = "-ERR Line too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 32 || c == 127) {
			*error_r = "-ERR Invalid character in command";
			return -1;
		}
	}
	memcpy(p->copy, line, len);
	p->copy[len] = '\0';
	size_t vlen = strcspn(p->copy, " ");
	if ((def = find_verb(p->copy, vlen)) == NULL) {
		*error_r = "-ERR Unknown command";
		return -1;
	}
	cmd_r->verb = def->verb;
	cmd_r->name = def->name;
	if (def->verb == POP3_VERB_PASS)
		return parse_pass(p, def, p->copy + vlen, cmd_r, error_r);
	return split_args(p, def, p->copy + vlen, cmd_r, error_r);
}
