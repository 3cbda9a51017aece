/* pop3d_cmd: the command table, the state check in front of it, and the
 * commands of no particular area: CAPA, STLS, NOOP, QUIT and APOP (which
 * is not offered). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "mem.h"
#include "pop3d.h"

/* RFC 2449 5: one capability per line. USER and SASL only when a
 * password may be sent now; STLS only while it can still be used.
 * LOGIN-DELAY and EXPIRE are not enforced, so not announced. */
static enum pop3d_result cmd_capa(struct pop3d_session *s,
				  const struct pop3_cmd *cmd)
{
	bool authz = s->state == POP3_STATE_AUTHORIZATION;

	pop3d_reply(s, "+OK Capability list follows");
	pop3d_reply(s, "TOP");
	pop3d_reply(s, "UIDL");
	pop3d_reply(s, "RESP-CODES");
	pop3d_reply(s, "AUTH-RESP-CODE");
	pop3d_reply(s, "PIPELINING");
	if (authz && pop3d_plaintext_allowed(s)) {
		pop3d_reply(s, "USER");
		pop3d_reply(s, "SASL %s", pop3d_auth_mechanisms(s));
	}
	if (authz && s->tls == NULL && pop3d_tables.tls != NULL)
		pop3d_reply(s, "STLS");
	pop3d_reply(s, "IMPLEMENTATION surel");
	pop3d_reply(s, ".");
	return POP3D_OK;
}

/* RFC 2595 4. Whatever the client pipelined behind STLS is dropped by
 * tls_server_start: it was sent in plaintext and must not run. */
static enum pop3d_result cmd_stls(struct pop3d_session *s,
				  const struct pop3_cmd *cmd)
{
	const char *error;
	size_t dropped = 0;

	if (s->tls != NULL) {
		pop3d_err(s, "TLS is already active.");
		return POP3D_FAIL;
	}
	if (pop3d_tables.tls == NULL) {
		pop3d_err(s, "STLS is not available.");
		return POP3D_FAIL;
	}
	/* A USER from before TLS does not carry over into it. */
	if (s->pending_user != NULL)
		xfree(&s->pending_user);
	pop3d_reply(s, "+OK Begin TLS negotiation now.");
	if (pop3d_flush(s) < 0)
		return POP3D_CLOSE;
	if (tls_server_start(pop3d_tables.tls, s->stream, s->p->tls_timeout_ms,
			     &s->tls, &dropped, &error) < 0) {
		log_info("STLS failed: rip=%s, lip=%s: %s", s->rip, s->lip,
			 error);
		s->tls = NULL;
		s->end_reason = "TLS handshake failed";
		return POP3D_CLOSE;
	}
	if (dropped > 0)
		log_info("STLS: dropped %zu octets pipelined before the "
			 "handshake, rip=%s", dropped, s->rip);
	return POP3D_OK;
}

static enum pop3d_result cmd_noop(struct pop3d_session *s,
				  const struct pop3_cmd *cmd)
{
	pop3d_reply(s, "+OK");
	return POP3D_OK;
}

/* RFC 1939 6: QUIT in TRANSACTION enters UPDATE, where the deletions
 * happen; a failure is reported but the session ends either way. */
static enum pop3d_result cmd_quit(struct pop3d_session *s,
				  const struct pop3_cmd *cmd)
{
	const char *error;

	s->end_reason = "client quit";
	if (s->state == POP3_STATE_TRANSACTION) {
		s->state = POP3_STATE_UPDATE;
		int ret = pop3d_maildrop_update(s, &error);
		/* Released before the reply: a client that logs in again at
		 * once must not find its own session still holding it. */
		pop3d_maildrop_close(&s->drop);
		if (ret < 0) {
			char user[AUTH_USER_MAX * 4 + 1];
			log_escape(user, sizeof(user), s->user, AUTH_USER_MAX);
			log_warn("user=<%s>: deleting messages at QUIT: %s",
				 user, error);
			pop3d_err_nocount(s, "[SYS/TEMP] Some deleted messages "
					  "could not be removed.");
			(void)pop3d_flush(s);
			return POP3D_DONE;
		}
	}
	pop3d_reply(s, "+OK Logging out.");
	(void)pop3d_flush(s);
	return POP3D_DONE;
}

/* APOP needs the password in clear on the server and MD5: not offered
 * (no timestamp in the greeting), refused when tried. */
static enum pop3d_result cmd_apop(struct pop3d_session *s,
				  const struct pop3_cmd *cmd)
{
	pop3d_err(s, "APOP is not supported.");
	return POP3D_FAIL;
}

typedef enum pop3d_result pop3d_cmd_fn(struct pop3d_session *s,
				       const struct pop3_cmd *cmd);

static pop3d_cmd_fn *const handlers[POP3_VERB_COUNT] = {
	[POP3_VERB_USER] = pop3d_cmd_user,
	[POP3_VERB_PASS] = pop3d_cmd_pass,
	[POP3_VERB_APOP] = cmd_apop,
	[POP3_VERB_QUIT] = cmd_quit,
	[POP3_VERB_STAT] = pop3d_cmd_stat,
	[POP3_VERB_LIST] = pop3d_cmd_list,
	[POP3_VERB_RETR] = pop3d_cmd_retr,
	[POP3_VERB_DELE] = pop3d_cmd_dele,
	[POP3_VERB_NOOP] = cmd_noop,
	[POP3_VERB_RSET] = pop3d_cmd_rset,
	[POP3_VERB_TOP] = pop3d_cmd_top,
	[POP3_VERB_UIDL] = pop3d_cmd_uidl,
	[POP3_VERB_CAPA] = cmd_capa,
	[POP3_VERB_STLS] = cmd_stls,
	[POP3_VERB_AUTH] = pop3d_cmd_auth,
};

enum pop3d_result pop3d_cmd_dispatch(struct pop3d_session *s,
				     const struct pop3_cmd *cmd)
{
	pop3d_cmd_fn *fn = handlers[cmd->verb];

	/* The parser returns UNKNOWN only with an error. */
	ASSERT(fn != NULL);
	if (!pop3_cmd_allowed(cmd->verb, s->state)) {
		if (s->state == POP3_STATE_AUTHORIZATION)
			pop3d_err(s, "Log in first.");
		else
			pop3d_err(s, "Already logged in.");
		return POP3D_FAIL;
	}
	return fn(s, cmd);
}
