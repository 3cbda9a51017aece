/* smtpd_sasl: AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN
 * mechanisms, checked by authd: when AUTH may be offered (never without
 * TLS unless the operator allows it), the initial response (SASL-IR) and
 * the 334 exchange with its "*" cancel and bounded responses, and what a
 * success leaves behind (s->sasl_username, s->sasl_method). Secrets are
 * wiped from the input buffer as soon as they are decoded, and from the
 * decoded copies once authd has seen them. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "auth_client.h"
#include "base64.h"
#include "log.h"
#include "mailbox_path.h"
#include "mem.h"
#include "str.h"
#include "smtpd.h"

/* A decoded response: 12288 base64 octets make at most 9216. */
#define SASL_RAW_MAX (SMTPD_SASL_RESPONSE_MAX / 4 * 3)

/* The LOGIN mechanism's challenges: "Username:" and "Password:". */
static const char login_user_challenge[] = "VXNlcm5hbWU6";
static const char login_password_challenge[] = "UGFzc3dvcmQ6";

/* What one step of the exchange came to. */
enum sasl_step {
	SASL_GOT,	/* a decoded response is in the buffer */
	SASL_REPLIED,	/* the exchange is over: the reply is given */
	SASL_CLOSE,	/* the session is over */
};

struct sasl_response {
	unsigned char raw[SASL_RAW_MAX];
	size_t len;
};

/* Overwrites a secret in memory the caller knows to be writable behind a
 * const pointer (the stream's input buffer). */
static void wipe(const char *p, size_t len)
{
	explicit_bzero((char *)p, len);
}

static bool tls_wanted(const struct smtpd_session *s)
{
	return smtpd_tls_required(s) || (s->p->tls_auth_only && s->tls == NULL);
}

bool smtpd_sasl_offered(const struct smtpd_session *s)
{
	return s->p->sasl_enable && !tls_wanted(s) && s->sasl_username == NULL;
}

bool smtpd_sasl_is_auth(const char *line, size_t len)
{
	return len >= 4 && strncasecmp(line, "AUTH", 4) == 0 &&
	       (len == 4 || line[4] == ' ');
}

void smtpd_sasl_reset(struct smtpd_session *s)
{
	xfree(&s->sasl_username);
	s->sasl_method = NULL;
}

/* Base64 text (b64[0..len), "=" meaning empty) into r. Bad base64 ends
 * the exchange with 501 as Postfix answers it. */
static enum sasl_step decode(struct smtpd_session *s, const char *b64,
			     size_t len, const char *which,
			     struct sasl_response *r)
{
	const char *error;

	if (len > SMTPD_SASL_RESPONSE_MAX) {
		wipe(b64, len);
		smtpd_reply(s, "500 5.5.6 Authentication exchange line is too "
			       "long");
		return SASL_REPLIED;
	}
	if (len == 1 && b64[0] == '=')
		len = 0;
	ssize_t n = len == 0 ? 0 :
		base64_decode(b64, len, r->raw, sizeof(r->raw), &error);
	wipe(b64, len);
	if (n < 0) {
		explicit_bzero(r->raw, sizeof(r->raw));
		smtpd_reply(s, "501 5.5.2 Invalid base64 data in %s response",
			    which);
		return SASL_REPLIED;
	}
	r->len = (size_t)n;
	return SASL_GOT;
}

/* Sends "334 challenge" and reads the client's response into r. */
static enum sasl_step challenge(struct smtpd_session *s, const char *text,
				struct sasl_response *r)
{
	const char *line;
	size_t len;

	smtpd_reply_nocount(s, "334 %s", text);
	if (smtpd_reply_flush(s, true) < 0) {
		smtpd_lost(s, stream_error(s->stream));
		return SASL_CLOSE;
	}
	int ret = stream_read_line(s->stream, &line, &len);
	if (ret == STREAM_TOO_LONG) {
		smtpd_reply(s, "500 5.5.6 Authentication exchange line is too "
			       "long");
		return SASL_REPLIED;
	}
	if (ret != 1) {
		smtpd_lost(s, ret);
		return SASL_CLOSE;
	}
	if (len == 0 || line[len - 1] != '\r') {
		if (!s->p->allow_bare_lf) {
			wipe(line, len);
			smtpd_bare_newline(s, "bare <LF> received");
			return SASL_CLOSE;
		}
	} else {
		len--;
	}
	if (len == 1 && line[0] == '*') {
		smtpd_reply(s, "501 5.7.0 Authentication aborted");
		return SASL_REPLIED;
	}
	return decode(s, line, len, "continued", r);
}

/* The first response: the initial one from the AUTH line, or one asked
 * for with an empty challenge. */
static enum sasl_step first_response(struct smtpd_session *s,
				     const char *ir, size_t ir_len,
				     const char *text,
				     struct sasl_response *r)
{
	if (ir == NULL)
		return challenge(s, text, r);
	return decode(s, ir, ir_len, "initial", r);
}

static void log_failure(struct smtpd_session *s, const char *method,
			const char *reason)
{
	log_warn("%s[%s]: SASL %s authentication failed: %s", s->client_name,
		 s->client_addr, method, reason);
}

static void auth_failed(struct smtpd_session *s, const char *method,
			const char *reason)
{
	log_failure(s, method, reason);
	smtpd_reply(s, "535 5.7.8 Error: authentication failed: "
		       "authentication failure");
}

static void auth_ok(struct smtpd_session *s, const char *method,
		    const struct auth_reply *reply)
{
	/* authd is trusted, but its name goes into the queue file and
	 * the log: the same rule as a login name. */
	if (!mailbox_path_user_valid(reply->user, AUTH_USER_MAX)) {
		log_warn("authd returned an invalid user name");
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	s->sasl_username = xstrdup(reply->user);
	s->sasl_method = method;
	log_info("%s[%s]: sasl_method=%s, sasl_username=%s", s->client_name,
		 s->client_addr, method, s->sasl_username);
	smtpd_reply(s, "235 2.7.0 Authentication successful");
}

/* user/password to authd, then the reply. */
static void verify(struct smtpd_session *s, const char *method,
		   const char *user, const char *password)
{
	struct auth_reply reply;
	const char *error;

	if (!mailbox_path_user_valid(user, AUTH_USER_MAX)) {
		auth_failed(s, method, "invalid user name");
		return;
	}
	memset(&reply, 0, sizeof(reply));
	if (auth_client_login(s->p->auth_socket, "smtp", user, password,
			      s->client_addr, s->tls != NULL, s->loopback,
			      &reply, &error) < 0) {
		log_warn("authd: %s", error);
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	if (reply.status == AUTH_OK)
		auth_ok(s, method, &reply);
	else if (reply.status == AUTH_TEMPFAIL) {
		log_failure(s, method, reply.reason);
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
	} else {
		/* authd has delayed this answer already. */
		auth_failed(s, method, reply.reason);
	}
	explicit_bzero(&reply, sizeof(reply));
}

static enum sasl_step mech_plain(struct smtpd_session *s, const char *ir,
				 size_t ir_len)
{
	struct sasl_response r;
	char user[AUTH_USER_MAX + 1], password[AUTH_PASSWORD_MAX + 1];
	const char *error;
	enum sasl_step step = first_response(s, ir, ir_len, "", &r);

	if (step != SASL_GOT)
		return step;
	int ret = auth_sasl_plain_parse(r.raw, r.len, user, sizeof(user),
					password, sizeof(password), &error);
	explicit_bzero(&r, sizeof(r));
	if (ret < 0)
		auth_failed(s, "PLAIN", error);
	else
		verify(s, "PLAIN", user, password);
	explicit_bzero(password, sizeof(password));
	return SASL_REPLIED;
}

/* LOGIN: "Username:" (or the initial response), then "Password:". */
static enum sasl_step mech_login(struct smtpd_session *s, const char *ir,
				 size_t ir_len)
{
	struct sasl_response r;
	char user[AUTH_USER_MAX + 1], password[AUTH_PASSWORD_MAX + 1];
	const char *user_error = NULL, *password_error = NULL;
	enum sasl_step step = first_response(s, ir, ir_len,
					     login_user_challenge, &r);

	if (step != SASL_GOT)
		return step;
	int ret = auth_sasl_login_parse(r.raw, r.len, user, sizeof(user),
					&user_error);
	explicit_bzero(&r, sizeof(r));
	/* A bad user name is told only after the password: the exchange
	 * must not say which half was wrong. */
	step = challenge(s, login_password_challenge, &r);
	if (step != SASL_GOT)
		return step;
	if (auth_sasl_login_parse(r.raw, r.len, password, sizeof(password),
				  &password_error) < 0 && ret == 0)
		ret = -2;
	explicit_bzero(&r, sizeof(r));
	if (ret < 0)
		auth_failed(s, "LOGIN", ret == -1 ? user_error
						  : password_error);
	else
		verify(s, "LOGIN", user, password);
	explicit_bzero(password, sizeof(password));
	return SASL_REPLIED;
}

/* The refusals before any exchange, in Postfix's order. */
static bool auth_refused(struct smtpd_session *s)
{
	const char *reply = NULL;

	if (!s->p->sasl_enable)
		reply = "503 5.5.1 Error: authentication not enabled";
	else if (s->helo == NULL || !s->esmtp)
		reply = "503 5.5.1 Error: send EHLO first";
	else if (tls_wanted(s))
		reply = "530 5.7.0 Must issue a STARTTLS command first";
	else if (s->sasl_username != NULL)
		reply = "503 5.5.1 Error: already authenticated";
	else if (s->txn.active)
		reply = "503 5.5.1 Error: MAIL transaction in progress";
	if (reply == NULL)
		return false;
	smtpd_reply(s, "%s", reply);
	return true;
}

typedef enum sasl_step sasl_mech_fn(struct smtpd_session *s, const char *ir,
				    size_t ir_len);

static const struct {
	const char *name;
	sasl_mech_fn *fn;
} mechs[] = {
	{ "PLAIN", mech_plain },
	{ "LOGIN", mech_login },
};

enum smtpd_result smtpd_cmd_auth(struct smtpd_session *s, const char *line,
				 size_t len)
{
	/* "AUTH" SP mechanism [SP initial-response] */
	const char *mech = len > 5 ? line + 5 : line + len;
	const char *sp = len > 5 ? memchr(mech, ' ', len - 5) : NULL;
	size_t mech_len = sp != NULL ? (size_t)(sp - mech) :
		len > 5 ? len - 5 : 0;
	const char *ir = sp != NULL ? sp + 1 : NULL;
	size_t ir_len = sp != NULL ? (size_t)(line + len - ir) : 0;

	if (auth_refused(s)) {
		wipe(line, len);
		return SMTPD_FAIL;
	}
	if (mech_len == 0 || (ir != NULL && (ir_len == 0 ||
					     memchr(ir, ' ', ir_len) != NULL))) {
		wipe(line, len);
		smtpd_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		return SMTPD_FAIL;
	}
	if (smtpd_anvil_auth(s) < 0) {
		wipe(line, len);
		return SMTPD_FAIL;
	}
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		if (strlen(mechs[i].name) == mech_len &&
		    strncasecmp(mechs[i].name, mech, mech_len) == 0) {
			/* The initial response is wiped once decoded: line
			 * must not be touched after a challenge has read
			 * into the stream's buffer again. */
			enum sasl_step step = mechs[i].fn(s, ir, ir_len);
			if (step == SASL_CLOSE)
				return SMTPD_CLOSE;
			return s->sasl_username != NULL ? SMTPD_OK : SMTPD_FAIL;
		}
	}
	wipe(line, len);
	smtpd_reply(s, "504 5.5.4 Unsupported authentication mechanism");
	return SMTPD_FAIL;
}
