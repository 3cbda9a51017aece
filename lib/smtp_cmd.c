/* smtp_cmd: one SMTP command line into a struct smtp_cmd, or the reply
 * its syntax error deserves; see smtp_cmd.h. Verbs and ESMTP parameters
 * are both looked up in tables, each entry with its own small parser. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "str.h"
#include "smtp_cmd.h"

struct smtp_cmd_parser {
	struct smtp_cmd_limits limits;
	char *copy;		/* the line, cut into strings: line_max + 1 */
	char error[160];	/* replies that name something */
};

#define E_BAD_SYNTAX "500 5.5.2 Error: bad syntax"
#define E_PARAM(name) "501 5.5.4 Bad " name " parameter syntax"

typedef int param_fn(struct smtp_cmd_parser *p, const char *value,
		     unsigned flags, struct smtp_cmd *cmd,
		     const char **error_r);

struct param_def {
	const char *name;
	enum smtp_verb verb;
	bool has_value;
	param_fn *parse;
};

/* xtext (RFC 3461): octets 33..126 except "+" and "=", and "+" HEXHEX
 * (upper case). UTF-8 is let through when utf8 is set (utf-8-addr-xtext,
 * RFC 6533). Returns the decoded length, or -1. */
static bool is_hex_upper(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static long xtext_len(const char *s, bool utf8)
{
	long n = 0;

	for (size_t i = 0; s[i] != '\0'; n++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			if (!is_hex_upper(s[i + 1]) || !is_hex_upper(s[i + 2]))
				return -1;
			i += 3;
		} else if (c >= 33 && c <= 126 && c != '=') {
			i++;
		} else if (c >= 0x80 && utf8) {
			i++;	/* the whole line was checked as UTF-8 */
		} else {
			return -1;
		}
	}
	return n;
}

static int param_size(struct smtp_cmd_parser *p, const char *value,
		      unsigned flags, struct smtp_cmd *cmd,
		      const char **error_r)
{
	if (strlen(value) > 20 || str_to_u64(value, &cmd->size) < 0) {
		*error_r = "501 5.5.4 Bad message size syntax";
		return -1;
	}
	cmd->has_size = true;
	return 0;
}

static int param_body(struct smtp_cmd_parser *p, const char *value,
		      unsigned flags, struct smtp_cmd *cmd,
		      const char **error_r)
{
	if (str_eq_ci(value, "7BIT")) {
		cmd->body = SMTP_BODY_7BIT;
	} else if (str_eq_ci(value, "8BITMIME")) {
		cmd->body = SMTP_BODY_8BITMIME;
	} else {
		*error_r = "501 5.5.4 Unsupported BODY parameter value";
		return -1;
	}
	return 0;
}

static int param_smtputf8(struct smtp_cmd_parser *p, const char *value,
			  unsigned flags, struct smtp_cmd *cmd,
			  const char **error_r)
{
	if (!p->limits.smtputf8) {
		*error_r = "555 5.5.4 Unsupported option: SMTPUTF8";
		return -1;
	}
	cmd->smtputf8 = true;
	return 0;
}

static int param_ret(struct smtp_cmd_parser *p, const char *value,
		     unsigned flags, struct smtp_cmd *cmd, const char **error_r)
{
	if (str_eq_ci(value, "FULL")) {
		cmd->ret = SMTP_RET_FULL;
	} else if (str_eq_ci(value, "HDRS")) {
		cmd->ret = SMTP_RET_HDRS;
	} else {
		*error_r = E_PARAM("RET");
		return -1;
	}
	return 0;
}

static int param_envid(struct smtp_cmd_parser *p, const char *value,
		       unsigned flags, struct smtp_cmd *cmd,
		       const char **error_r)
{
	long n = xtext_len(value, false);

	if (n <= 0 || n > SMTP_ENVID_MAX) {
		*error_r = E_PARAM("ENVID");
		return -1;
	}
	cmd->envid = value;
	return 0;
}

/* AUTH=<mailbox as xtext> or AUTH=<> (RFC 4954 5): checked here; smtpd
 * keeps it only from an authenticated client. */
static int param_auth(struct smtp_cmd_parser *p, const char *value,
		      unsigned flags, struct smtp_cmd *cmd,
		      const char **error_r)
{
	if (strcmp(value, "<>") != 0 && xtext_len(value, false) <= 0) {
		*error_r = E_PARAM("AUTH");
		return -1;
	}
	cmd->auth = value;
	return 0;
}

static int param_notify(struct smtp_cmd_parser *p, const char *value,
			unsigned flags, struct smtp_cmd *cmd,
			const char **error_r)
{
	static const struct { const char *name; unsigned bit; } words[] = {
		{ "NEVER", SMTP_NOTIFY_NEVER },
		{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
		{ "FAILURE", SMTP_NOTIFY_FAILURE },
		{ "DELAY", SMTP_NOTIFY_DELAY },
	};
	const char *s = value;

	cmd->notify = 0;
	for (;;) {
		size_t n = strcspn(s, ","), i;
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i].name) == n &&
			    strncasecmp(s, words[i].name, n) == 0)
				break;
		if (i == sizeof(words) / sizeof(words[0]) ||
		    (cmd->notify & words[i].bit) != 0)
			goto bad;
		cmd->notify |= words[i].bit;
		if (s[n] == '\0')
			break;
		s += n + 1;
	}
	/* NEVER excludes every other keyword (RFC 3461 4.1). */
	if ((cmd->notify & SMTP_NOTIFY_NEVER) != 0 &&
	    cmd->notify != SMTP_NOTIFY_NEVER)
		goto bad;
	return 0;
bad:
	*error_r = E_PARAM("NOTIFY");
	return -1;
}

/* ORCPT=addr-type;xtext: addr-type an atom ("rfc822", "utf-8"). */
static int param_orcpt(struct smtp_cmd_parser *p, const char *value,
		       unsigned flags, struct smtp_cmd *cmd,
		       const char **error_r)
{
	const char *semi = strchr(value, ';');
	size_t type_len = semi == NULL ? 0 : (size_t)(semi - value);

	if (type_len == 0 || type_len > 32)
		goto bad;
	for (size_t i = 0; i < type_len; i++) {
		char c = value[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			goto bad;
	}
	long n = xtext_len(semi + 1, (flags & SMTP_CMD_FLAG_UTF8) != 0);
	if (n <= 0 || n > SMTP_ORCPT_MAX)
		goto bad;
	cmd->orcpt = value;
	return 0;
bad:
	*error_r = E_PARAM("ORCPT");
	return -1;
}

static const struct param_def params[] = {
	{ "SIZE", SMTP_VERB_MAIL, true, param_size },
	{ "BODY", SMTP_VERB_MAIL, true, param_body },
	{ "SMTPUTF8", SMTP_VERB_MAIL, false, param_smtputf8 },
	{ "RET", SMTP_VERB_MAIL, true, param_ret },
	{ "ENVID", SMTP_VERB_MAIL, true, param_envid },
	{ "AUTH", SMTP_VERB_MAIL, true, param_auth },
	{ "NOTIFY", SMTP_VERB_RCPT, true, param_notify },
	{ "ORCPT", SMTP_VERB_RCPT, true, param_orcpt },
};

static bool keyword_valid(const char *s, size_t len)
{
	if (len == 0 || len > 32 || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* One "KEYWORD[=value]" token, cut in place. */
static int parse_param(struct smtp_cmd_parser *p, char *tok, unsigned flags,
		       struct smtp_cmd *cmd, unsigned *seen,
		       const char **error_r)
{
	char *value = strchr(tok, '=');
	size_t i, klen = value == NULL ? strlen(tok) : (size_t)(value - tok);

	if (!keyword_valid(tok, klen)) {
		*error_r = "501 5.5.4 Bad parameter syntax";
		return -1;
	}
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (params[i].verb == cmd->verb &&
		    strlen(params[i].name) == klen &&
		    strncasecmp(params[i].name, tok, klen) == 0)
			break;
	if (i == sizeof(params) / sizeof(params[0])) {
		snprintf(p->error, sizeof(p->error),
			 "555 5.5.4 Unsupported option: %.*s", (int)klen, tok);
		*error_r = p->error;
		return -1;
	}
	if ((*seen & (1u << i)) != 0) {
		snprintf(p->error, sizeof(p->error),
			 "501 5.5.4 Duplicate %s parameter", params[i].name);
		*error_r = p->error;
		return -1;
	}
	*seen |= 1u << i;
	if (value != NULL)
		*value++ = '\0';
	if (params[i].has_value != (value != NULL) ||
	    (value != NULL && *value == '\0')) {
		snprintf(p->error, sizeof(p->error), "501 5.5.4 Bad %s "
			 "parameter syntax", params[i].name);
		*error_r = p->error;
		return -1;
	}
	return params[i].parse(p, value == NULL ? "" : value, flags, cmd,
			       error_r);
}

/* " KEY=value KEY2" after a path: at least one space before each. */
static int parse_params(struct smtp_cmd_parser *p, char *s, unsigned flags,
			struct smtp_cmd *cmd, const char **error_r)
{
	unsigned seen = 0;
	char *tok;

	while ((tok = str_next_token(&s, " ")) != NULL)
		if (parse_param(p, tok, flags, cmd, &seen, error_r) < 0)
			return -1;
	return 0;
}

/* "FROM:" / "TO:", optional spaces (a common client habit that harms
 * nothing), the path, then parameters. */
static int parse_path_cmd(struct smtp_cmd_parser *p, char *args,
			  const char *prefix, unsigned addr_flags,
			  unsigned flags, struct smtp_cmd *cmd,
			  const char *syntax_error, const char *addr_error,
			  const char **error_r)
{
	size_t used;
	const char *err;

	if (!str_prefix_ci(args, prefix)) {
		*error_r = syntax_error;
		return -1;
	}
	char *s = args + strlen(prefix);
	s += strspn(s, " ");
	if (*s != '<') {
		*error_r = syntax_error;
		return -1;
	}
	if (p->limits.smtputf8)
		addr_flags |= ADDR_FLAG_UTF8;
	if (addr_parse_path(s, strlen(s), addr_flags, &cmd->addr, &used,
			    &err) < 0 ||
	    (s[used] != '\0' && s[used] != ' ')) {
		*error_r = addr_error;
		return -1;
	}
	return parse_params(p, s + used, flags, cmd, error_r);
}

#define E_UTF8_UNDECLARED \
	"553 5.6.7 Must declare SMTPUTF8 to send non-ASCII addresses"

static int parse_mail(struct smtp_cmd_parser *p, char *args, unsigned flags,
		      struct smtp_cmd *cmd, const char **error_r)
{
	if (parse_path_cmd(p, args, "FROM:", ADDR_FLAG_NULL_OK, flags, cmd,
			   "501 5.5.4 Syntax: MAIL FROM:<address>",
			   "501 5.1.7 Bad sender address syntax",
			   error_r) < 0)
		return -1;
	if (cmd->addr.utf8 && !cmd->smtputf8) {
		*error_r = E_UTF8_UNDECLARED;
		return -1;
	}
	return 0;
}

static int parse_rcpt(struct smtp_cmd_parser *p, char *args, unsigned flags,
		      struct smtp_cmd *cmd, const char **error_r)
{
	if (parse_path_cmd(p, args, "TO:", ADDR_FLAG_POSTMASTER, flags, cmd,
			   "501 5.5.4 Syntax: RCPT TO:<address>",
			   "501 5.1.3 Bad recipient address syntax",
			   error_r) < 0)
		return -1;
	if (cmd->addr.utf8 && (flags & SMTP_CMD_FLAG_UTF8) == 0) {
		*error_r = E_UTF8_UNDECLARED;
		return -1;
	}
	return 0;
}

static int parse_hello(struct smtp_cmd_parser *p, char *args, unsigned flags,
		       struct smtp_cmd *cmd, const char **error_r)
{
	if (*args == '\0' || strchr(args, ' ') != NULL) {
		*error_r = cmd->verb == SMTP_VERB_EHLO
			? "501 5.5.4 Syntax: EHLO hostname"
			: "501 5.5.4 Syntax: HELO hostname";
		return -1;
	}
	/* As Postfix: any name is accepted here (real hosts say EHLO
	 * WIN_PC or an unbracketed address); checking it is policy
	 * (reject_invalid_helo_hostname). Only what could not go safely into
	 * a Received: header or a log is refused: control characters,
	 * non-ASCII, more than a domain's 255 bytes. */
	size_t len = 0;
	bool printable = true;
	for (; args[len] != '\0'; len++)
		printable &= (unsigned char)args[len] >= 0x21 &&
			     (unsigned char)args[len] <= 0x7e;
	if (!printable || len > 255) {
		*error_r = "501 5.5.2 Helo command rejected: Invalid name";
		return -1;
	}
	cmd->arg = args;
	return 0;
}

static int parse_bdat(struct smtp_cmd_parser *p, char *args, unsigned flags,
		      struct smtp_cmd *cmd, const char **error_r)
{
	char *size = str_next_token(&args, " ");
	char *last = str_next_token(&args, " ");

	if (size == NULL || strlen(size) > 20 ||
	    str_to_u64(size, &cmd->chunk_size) < 0 ||
	    (last != NULL && !str_eq_ci(last, "LAST")) ||
	    str_next_token(&args, " ") != NULL) {
		*error_r = "501 5.5.4 Syntax: BDAT count [LAST]";
		return -1;
	}
	cmd->last = last != NULL;
	return 0;
}

static int parse_no_args(struct smtp_cmd_parser *p, char *args,
			 unsigned flags, struct smtp_cmd *cmd,
			 const char **error_r)
{
	if (*args != '\0') {
		snprintf(p->error, sizeof(p->error), "501 5.5.4 Syntax: %s",
			 cmd->name);
		*error_r = p->error;
		return -1;
	}
	return 0;
}

static int parse_text(struct smtp_cmd_parser *p, char *args, unsigned flags,
		      struct smtp_cmd *cmd, const char **error_r)
{
	if (cmd->verb == SMTP_VERB_VRFY && *args == '\0') {
		*error_r = "501 5.5.4 Syntax: VRFY address";
		return -1;
	}
	cmd->arg = args;
	return 0;
}

typedef int verb_fn(struct smtp_cmd_parser *p, char *args, unsigned flags,
		    struct smtp_cmd *cmd, const char **error_r);

static const struct verb_def {
	const char *name;
	enum smtp_verb verb;
	verb_fn *parse;
} verbs[] = {
	{ "HELO", SMTP_VERB_HELO, parse_hello },
	{ "EHLO", SMTP_VERB_EHLO, parse_hello },
	{ "MAIL", SMTP_VERB_MAIL, parse_mail },
	{ "RCPT", SMTP_VERB_RCPT, parse_rcpt },
	{ "DATA", SMTP_VERB_DATA, parse_no_args },
	{ "BDAT", SMTP_VERB_BDAT, parse_bdat },
	{ "RSET", SMTP_VERB_RSET, parse_no_args },
	{ "NOOP", SMTP_VERB_NOOP, parse_text },
	{ "VRFY", SMTP_VERB_VRFY, parse_text },
	{ "HELP", SMTP_VERB_HELP, parse_text },
	{ "QUIT", SMTP_VERB_QUIT, parse_no_args },
	{ "CONNECT", SMTP_VERB_FORBIDDEN, parse_text },
	{ "GET", SMTP_VERB_FORBIDDEN, parse_text },
	{ "POST", SMTP_VERB_FORBIDDEN, parse_text },
};

struct smtp_cmd_parser *smtp_cmd_parser_new(const struct smtp_cmd_limits *l)
{
	struct smtp_cmd_parser *p = xcalloc(1, sizeof(*p));

	p->limits = *l;
	p->copy = xmalloc(l->line_max + 1);
	return p;
}

void smtp_cmd_parser_free(struct smtp_cmd_parser **p)
{
	if (*p == NULL)
		return;
	free((*p)->copy);
	xfree(p);
}

/* Only printable ASCII, and valid UTF-8 when SMTPUTF8 is offered: a
 * command never carries a control character (NUL, CR, TAB...). */
static const char *check_octets(const struct smtp_cmd_parser *p,
				const char *line, size_t len)
{
	bool high = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 32 || c == 127)
			return E_BAD_SYNTAX;
		if (c >= 128)
			high = true;
	}
	if (high && (!p->limits.smtputf8 || !addr_utf8_valid(line, len)))
		return "500 5.5.2 Error: bad UTF-8 syntax";
	return NULL;
}

int smtp_cmd_parse(struct smtp_cmd_parser *p, const char *line, size_t len,
		   unsigned flags, struct smtp_cmd *cmd_r,
		   const char **error_r)
{
	const struct verb_def *def = NULL;

	memset(cmd_r, 0, sizeof(*cmd_r));
	cmd_r->name = "unknown";
	cmd_r->arg = "";
	if (len > p->limits.line_max) {
		*error_r = "500 5.5.2 Error: line too long";
		return -1;
	}
	/* Trailing spaces are a common, harmless client habit. */
	while (len > 0 && line[len - 1] == ' ')
		len--;
	if (len == 0) {
		*error_r = E_BAD_SYNTAX;
		return -1;
	}
	memcpy(p->copy, line, len);
	p->copy[len] = '\0';
	size_t vlen = strcspn(p->copy, " ");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == vlen &&
		    strncasecmp(verbs[i].name, p->copy, vlen) == 0)
			def = &verbs[i];
	if (def == NULL) {
		*error_r = "500 5.5.2 Error: command not recognized";
		return -1;
	}
	cmd_r->verb = def->verb;
	cmd_r->name = def->name;
	if ((*error_r = check_octets(p, line, len)) != NULL)
		return -1;
	char *args = p->copy + vlen;
	args += strspn(args, " ");
	return def->parse(p, args, flags, cmd_r, error_r);
}

void smtp_cmd_notify_str(unsigned notify, char *out, size_t outsize)
{
	snprintf(out, outsize, "%s%s%s%s",
		 (notify & SMTP_NOTIFY_NEVER) ? "NEVER" : "",
		 (notify & SMTP_NOTIFY_SUCCESS) ? "SUCCESS," : "",
		 (notify & SMTP_NOTIFY_FAILURE) ? "FAILURE," : "",
		 (notify & SMTP_NOTIFY_DELAY) ? "DELAY," : "");
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] == ',')
		out[n - 1] = '\0';
}
