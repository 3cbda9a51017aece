/* pop3d_auth: USER/PASS (RFC 1939) and AUTH PLAIN (RFC 5034, 4616):
 * the plaintext policy, the user name check that keeps paths and maps
 * safe, the call to authd, and the failed-login budget. Passwords are
 * wiped as soon as authd has seen them. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "mailbox_path.h"
#include "mem.h"
#include "str.h"
#include "pop3d.h"

static const char plaintext_refused[] =
	"[AUTH] Plaintext authentication disallowed on non-secure "
	"connections.";

const char *pop3d_auth_mechanisms(const struct pop3d_session *s)
{
	return pop3d_plaintext_allowed(s) ? "PLAIN" : "";
}

/* A login name reaches maps, a path and logs (AUTH PLAIN's name comes
 * out of base64; USER's is checked by the parser already). */
static bool user_name_valid(const char *name)
{
	return mailbox_path_user_valid(name, AUTH_USER_MAX);
}

static void log_user(char *out, size_t outsize, const char *user)
{
	log_escape(out, outsize, user, AUTH_USER_MAX);
}

/* A failed login. The session ends after POP3D_AUTH_FAILURE_LIMIT. */
static enum pop3d_result auth_failed(struct pop3d_session *s,
				     const char *reply)
{
	pop3d_err_nocount(s, "%s", reply);
	if (++s->auth_failures < POP3D_AUTH_FAILURE_LIMIT)
		return POP3D_FAIL;
	s->end_reason = "too many authentication failures";
	(void)pop3d_flush(s);
	return POP3D_CLOSE;
}

static enum pop3d_result login_ok(struct pop3d_session *s,
				  const struct auth_reply *r,
				  const char *method)
{
	char user[AUTH_USER_MAX * 4 + 1];

	/* authd is trusted, but its name goes into paths as well. */
	if (!user_name_valid(r->user) ||
	    str_copy(s->user, sizeof(s->user), r->user) < 0) {
		log_warn("authd returned an invalid user name");
		pop3d_err_nocount(s, "[SYS/TEMP] Internal error.");
		return POP3D_FAIL;
	}
	if (pop3d_maildrop_open(s, r->mail) < 0) {
		s->user[0] = '\0';
		return POP3D_FAIL;
	}
	s->state = POP3_STATE_TRANSACTION;
	log_user(user, sizeof(user), s->user);
	log_info("login: user=<%s>, method=%s, rip=%s, lip=%s, tls=%s", user,
		 method, s->rip, s->lip,
		 s->tls != NULL ? tls_conn_protocol(s->tls) : "none");
	pop3d_reply(s, "+OK Logged in.");
	return POP3D_OK;
}

/* Verifies user/password with authd, then opens the maildrop. */
static enum pop3d_result login(struct pop3d_session *s, const char *user,
			       const char *password, const char *method)
{
	struct auth_reply reply;
	const char *error;
	char name[AUTH_USER_MAX * 4 + 1];

	memset(&reply, 0, sizeof(reply));
	if (auth_client_login(s->p->auth_socket, "pop3", user, password,
			      s->rip, s->tls != NULL, s->loopback, &reply,
			      &error) < 0) {
		log_warn("authd: %s", error);
		pop3d_err_nocount(s, "[SYS/TEMP] Authentication service not "
				  "available, try again later.");
		return POP3D_FAIL;
	}
	log_user(name, sizeof(name), user);
	switch (reply.status) {
	case AUTH_OK:
		return login_ok(s, &reply, method);
	case AUTH_TEMPFAIL:
		log_warn("login: user=<%s>, method=%s, rip=%s: temporary "
			 "failure: %s", name, method, s->rip, reply.reason);
		pop3d_err_nocount(s, "[SYS/TEMP] Temporary authentication "
				  "failure, try again later.");
		return POP3D_FAIL;
	case AUTH_FAIL:
	default:
		log_info("login failed: user=<%s>, method=%s, rip=%s, lip=%s",
			 name, method, s->rip, s->lip);
		/* authd has delayed this answer already. */
		return auth_failed(s, "[AUTH] Authentication failed.");
	}
}

enum pop3d_result pop3d_cmd_user(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	if (s->pending_user != NULL)
		xfree(&s->pending_user);
	if (!pop3d_plaintext_allowed(s)) {
		pop3d_err(s, "%s", plaintext_refused);
		return POP3D_FAIL;
	}
	/* Any name is taken: the answer must not tell who exists. */
	s->pending_user = xstrdup(cmd->arg);
	pop3d_reply(s, "+OK");
	return POP3D_OK;
}

enum pop3d_result pop3d_cmd_pass(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	if (s->pending_user == NULL) {
		pop3d_err(s, "No username given.");
		return POP3D_FAIL;
	}
	char *user = s->pending_user;
	s->pending_user = NULL;
	enum pop3d_result result = login(s, user, cmd->arg, "USER");
	pop3d_wipe(cmd->arg, strlen(cmd->arg));
	free(user);
	return result;
}

/* Bare AUTH: the mechanism list, which clients probe for (RFC 1734's
 * form, kept by RFC 5034's implementations). */
static enum pop3d_result auth_list(struct pop3d_session *s)
{
	pop3d_reply(s, "+OK");
	if (pop3d_plaintext_allowed(s))
		pop3d_reply(s, "PLAIN");
	pop3d_reply(s, ".");
	return POP3D_OK;
}

/* Sends the empty challenge "+ " and reads the response line into
 * *response_r (the caller wipes and frees it). */
static enum pop3d_result read_response(struct pop3d_session *s,
				       char **response_r)
{
	const char *line;
	size_t len;

	*response_r = NULL;
	pop3d_reply(s, "+ ");
	if (pop3d_flush(s) < 0)
		return POP3D_CLOSE;
	int ret = stream_read_line(s->stream, &line, &len);
	if (ret == STREAM_TOO_LONG)
		return auth_failed(s, "[AUTH] Response too long.");
	if (ret != 1)
		return pop3d_lost(s, ret);
	size_t n = len > 0 && line[len - 1] == '\r' ? len - 1 : len;
	if (memchr(line, '\0', n) == NULL)
		*response_r = xstrndup(line, n);
	pop3d_wipe(line, len);
	if (*response_r == NULL)
		return auth_failed(s, "[AUTH] Invalid PLAIN response.");
	return POP3D_OK;
}

/* One PLAIN response: "*" cancels (RFC 5034 4), "=" or nothing is the
 * empty response. */
static enum pop3d_result auth_plain(struct pop3d_session *s,
				    const char *response)
{
	char user[AUTH_USER_MAX + 1], password[AUTH_PASSWORD_MAX + 1];
	const char *error;
	enum pop3d_result result;

	if (strcmp(response, "*") == 0) {
		pop3d_err_nocount(s, "Authentication cancelled.");
		return POP3D_FAIL;
	}
	if (strcmp(response, "=") == 0)
		response = "";
	if (auth_sasl_plain_decode(response, user, sizeof(user), password,
				   sizeof(password), &error) < 0) {
		explicit_bzero(password, sizeof(password));
		return auth_failed(s, "[AUTH] Invalid PLAIN response.");
	}
	if (!user_name_valid(user))
		result = auth_failed(s, "[AUTH] Invalid user name.");
	else
		result = login(s, user, password, "PLAIN");
	explicit_bzero(password, sizeof(password));
	return result;
}

enum pop3d_result pop3d_cmd_auth(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	char *response = NULL;
	enum pop3d_result result;

	if (cmd->mech == NULL)
		return auth_list(s);
	if (s->pending_user != NULL)
		xfree(&s->pending_user);
	if (strcmp(cmd->mech, "PLAIN") != 0) {
		pop3d_err(s, "[AUTH] Unsupported authentication mechanism.");
		return POP3D_FAIL;
	}
	if (!pop3d_plaintext_allowed(s)) {
		pop3d_err(s, "%s", plaintext_refused);
		return POP3D_FAIL;
	}
	if (cmd->initial_response != NULL)
		return auth_plain(s, cmd->initial_response);
	result = read_response(s, &response);
	if (response == NULL)
		return result;
	result = auth_plain(s, response);
	pop3d_wipe(response, strlen(response));
	free(response);
	return result;
}
