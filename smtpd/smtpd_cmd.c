/* smtpd_cmd: the command table and the commands that need no more than a
 * reply: HELO, EHLO, MAIL, RSET, NOOP, VRFY, HELP, QUIT. RCPT and
 * DATA/BDAT live in their own files. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "mem.h"
#include "smtpd.h"

static void hello(struct smtpd_session *s, const struct smtp_cmd *cmd,
		  bool esmtp)
{
	/* RFC 5321 4.1.4: a new EHLO/HELO resets the transaction. */
	smtpd_txn_reset(s);
	free(s->helo);
	s->helo = xstrdup(cmd->arg);
	s->esmtp = esmtp;
}

static enum smtpd_result cmd_helo(struct smtpd_session *s,
				  const struct smtp_cmd *cmd)
{
	hello(s, cmd, false);
	smtpd_reply(s, "250 %s", s->p->myhostname);
	return SMTPD_OK;
}

static enum smtpd_result cmd_ehlo(struct smtpd_session *s,
				  const struct smtp_cmd *cmd)
{
	const struct smtpd_params *p = s->p;

	hello(s, cmd, true);
	smtpd_reply(s, "250-%s", p->myhostname);
	smtpd_reply(s, "250-PIPELINING");
	if (p->message_size_limit > 0)
		smtpd_reply(s, "250-SIZE %llu",
			    (unsigned long long)p->message_size_limit);
	else
		smtpd_reply(s, "250-SIZE");
	if (p->vrfy_enabled)
		smtpd_reply(s, "250-VRFY");
	if (smtpd_tls_offered(s))
		smtpd_reply(s, "250-STARTTLS");
	if (smtpd_sasl_offered(s))
		smtpd_reply(s, "250-AUTH PLAIN LOGIN");
	smtpd_reply(s, "250-ENHANCEDSTATUSCODES");
	smtpd_reply(s, "250-8BITMIME");
	smtpd_reply(s, "250-DSN");
	if (p->smtputf8)
		smtpd_reply(s, "250-SMTPUTF8");
	smtpd_reply(s, "250 CHUNKING");
	return SMTPD_OK;
}

static enum smtpd_result cmd_mail(struct smtpd_session *s,
				  const struct smtp_cmd *cmd)
{
	struct smtpd_txn *t = &s->txn;

	if (s->helo == NULL) {
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return SMTPD_FAIL;
	}
	if (smtpd_tls_required(s)) {
		smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return SMTPD_FAIL;
	}
	if (t->active) {
		smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
		return SMTPD_FAIL;
	}
	if (cmd->has_size && s->p->message_size_limit > 0 &&
	    cmd->size > s->p->message_size_limit) {
		static const char reply[] =
			"552 5.3.4 Message size exceeds fixed limit";
		smtpd_log_reject(s, NULL, reply, NULL);
		smtpd_reply(s, "%s", reply);
		return SMTPD_FAIL;
	}
	if (smtpd_anvil_mail(s) < 0)
		return SMTPD_FAIL;
	t->active = true;
	t->env.sender = xstrdup(cmd->addr.address);
	t->utf8 = cmd->smtputf8;
	t->body = cmd->body;
	t->ret = cmd->ret;
	t->envid = cmd->envid != NULL ? xstrdup(cmd->envid) : NULL;
	/* RFC 4954 5: AUTH= is trusted only from an authenticated client;
	 * from anyone else it is ignored, as is <> (submitter unknown). */
	if (s->sasl_username != NULL && cmd->auth != NULL &&
	    strcmp(cmd->auth, "<>") != 0)
		t->auth = xstrdup(cmd->auth);
	char reply[512];
	if (smtpd_spf_mail(s, reply, sizeof(reply)) < 0) {
		smtpd_log_reject(s, NULL, reply, NULL);
		smtpd_txn_reset(s);
		smtpd_reply(s, "%s", reply);
		return SMTPD_FAIL;
	}
	smtpd_reply(s, "250 2.1.0 Ok");
	return SMTPD_OK;
}

static enum smtpd_result cmd_rset(struct smtpd_session *s,
				  const struct smtp_cmd *cmd)
{
	smtpd_txn_reset(s);
	smtpd_reply(s, "250 2.0.0 Ok");
	return SMTPD_OK;
}

static enum smtpd_result cmd_noop(struct smtpd_session *s,
				  const struct smtp_cmd *cmd)
{
	smtpd_reply(s, "250 2.0.0 Ok");
	return SMTPD_OK;
}

/* VRFY answers without looking anything up: it must not help address
 * harvesting (RFC 5321 3.5.3 allows 252). */
static enum smtpd_result cmd_vrfy(struct smtpd_session *s,
				  const struct smtp_cmd *cmd)
{
	if (!s->p->vrfy_enabled) {
		smtpd_reply(s, "502 5.5.1 VRFY command is disabled");
		return SMTPD_FAIL;
	}
	smtpd_reply(s, "252 2.0.0 Cannot VRFY user, but will accept message "
		       "and attempt delivery");
	return SMTPD_OK;
}

static enum smtpd_result cmd_help(struct smtpd_session *s,
				  const struct smtp_cmd *cmd)
{
	smtpd_reply(s, "214 2.0.0 Commands: HELO EHLO STARTTLS AUTH MAIL RCPT "
		       "DATA BDAT RSET NOOP VRFY HELP QUIT");
	return SMTPD_OK;
}

static enum smtpd_result cmd_quit(struct smtpd_session *s,
				  const struct smtp_cmd *cmd)
{
	smtpd_reply(s, "221 2.0.0 Bye");
	(void)smtpd_reply_flush(s, true);
	return SMTPD_DONE;
}

/* An HTTP proxy request or similar: another protocol is being tunnelled
 * at us, usually to send spam; hang up as Postfix does. */
static enum smtpd_result cmd_forbidden(struct smtpd_session *s,
				       const struct smtp_cmd *cmd)
{
	char text[256];

	log_escape(text, sizeof(text), cmd->arg, 60);
	log_warn("non-SMTP command from %s[%s]: %s %s", s->client_name,
		 s->client_addr, cmd->name, text);
	smtpd_reply_nocount(s, "221 2.7.0 Error: I can break rules, too. "
			    "Goodbye.");
	(void)smtpd_reply_flush(s, true);
	return SMTPD_CLOSE;
}

typedef enum smtpd_result smtpd_cmd_fn(struct smtpd_session *s,
				       const struct smtp_cmd *cmd);

static smtpd_cmd_fn *const handlers[SMTP_VERB_COUNT] = {
	[SMTP_VERB_HELO] = cmd_helo,
	[SMTP_VERB_EHLO] = cmd_ehlo,
	[SMTP_VERB_MAIL] = cmd_mail,
	[SMTP_VERB_RCPT] = smtpd_cmd_rcpt,
	[SMTP_VERB_DATA] = smtpd_cmd_data,
	[SMTP_VERB_BDAT] = smtpd_cmd_bdat,
	[SMTP_VERB_RSET] = cmd_rset,
	[SMTP_VERB_NOOP] = cmd_noop,
	[SMTP_VERB_VRFY] = cmd_vrfy,
	[SMTP_VERB_HELP] = cmd_help,
	[SMTP_VERB_QUIT] = cmd_quit,
	[SMTP_VERB_FORBIDDEN] = cmd_forbidden,
};

enum smtpd_result smtpd_cmd_dispatch(struct smtpd_session *s,
				     const struct smtp_cmd *cmd)
{
	smtpd_cmd_fn *fn = handlers[cmd->verb];

	/* The parser returns UNKNOWN only with an error. */
	ASSERT(fn != NULL);
	return fn(s, cmd);
}
