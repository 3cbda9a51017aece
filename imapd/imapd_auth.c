/* imapd_auth: LOGIN and AUTHENTICATE PLAIN (RFC 4616, with the SASL-IR
 * initial response of RFC 4959): the plaintext policy, the user name
 * check that keeps paths and maps safe, the call to authd, the failed
 * login budget, and what a login sets up: the user's Maildir (the same
 * look-up as local delivery and pop3d), its quota limit, and the
 * special-use folders of a new user. Passwords are wiped as soon as
 * authd has seen them. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include "base64.h"
#include "log.h"
#include "mailbox_path.h"
#include "mem.h"
#include "str.h"
#include "imapd.h"

static const char plaintext_refused[] =
	"[PRIVACYREQUIRED] Plaintext authentication disallowed on "
	"non-secure (SSL/TLS) connections.";

/* Overwrites a secret the caller knows to be writable memory behind a
 * const pointer (the parser's copy of the command, the stream's line). */
static void wipe(const char *p, size_t len)
{
	explicit_bzero((char *)p, len);
}

static void log_user(char *out, size_t outsize, const char *user)
{
	log_escape(out, outsize, user, AUTH_USER_MAX);
}

/* A failed login: NO [AUTHENTICATIONFAILED], and the end of the session
 * after IMAPD_AUTH_FAILURE_LIMIT of them. */
static void auth_failed(struct imapd_session *s, const char *text)
{
	imapd_no(s, "[AUTHENTICATIONFAILED] %s", text);
	if (++s->auth_failures >= IMAPD_AUTH_FAILURE_LIMIT)
		imapd_bye(s, "too many authentication failures",
			  "Too many authentication failures.");
}

/* The user's Maildir into s->maildir and its quota limit into
 * s->quota_bytes. 0, or -1 with *error_r (for the log). */
static int find_mailbox(struct imapd_session *s, const struct auth_reply *r,
			const char **error_r)
{
	const struct imapd_params *p = s->p;
	char path[PATH_MAX];
	const char *dsn;

	if (mailbox_path_user(imapd_tables.mailbox, p->mailbox_base,
			      p->recipient_delimiter, s->user, r->mail, path,
			      sizeof(path), error_r) < 0)
		return -1;
	if (r->quota > 0)
		s->quota_bytes = r->quota;
	else if (mailbox_path_quota(imapd_tables.quota,
				    p->recipient_delimiter, s->user,
				    p->quota_default, &s->quota_bytes, &dsn,
				    error_r) < 0)
		return -1;
	s->maildir = xstrdup(path);
	imapd_msg_kept_cache_for(s->maildir);
	return 0;
}

/* A user who never got mail has no Maildir yet. Opening an existing one
 * here would move new/ into cur/ and take \Recent away from the SELECT
 * that follows, so only a missing one is opened (and so made). */
static int create_maildir(struct imapd_session *s, const char **error_r)
{
	char cur[PATH_MAX];
	struct mailstore *box;
	struct stat st;
	int n = snprintf(cur, sizeof(cur), "%s/cur", s->maildir);

	if (n > 0 && (size_t)n < sizeof(cur) && stat(cur, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return 0;
	if (mailstore_open(s->maildir, MAILSTORE_OPEN_CREATE, &box,
			   error_r) < 0)
		return -1;
	mailstore_close(&box);
	return 0;
}

static void login_ok(struct imapd_session *s, const struct auth_reply *r,
		     const char *method)
{
	char user[AUTH_USER_MAX * 4 + 1];
	const char *error;
	struct buf caps;

	/* authd is trusted, but its name goes into paths as well. */
	if (!mailbox_path_user_valid(r->user, AUTH_USER_MAX) ||
	    str_copy(s->user, sizeof(s->user), r->user) < 0) {
		log_warn("authd returned an invalid user name");
		s->user[0] = '\0';
		imapd_no(s, "[UNAVAILABLE] Internal error.");
		return;
	}
	log_user(user, sizeof(user), s->user);
	if (find_mailbox(s, r, &error) < 0 ||
	    create_maildir(s, &error) < 0) {
		log_warn("user=<%s>: cannot open the mailbox%s%s: %s", user,
			 s->maildir != NULL ? " " : "",
			 s->maildir != NULL ? s->maildir : "", error);
		xfree(&s->maildir);
		s->user[0] = '\0';
		imapd_no(s, "[UNAVAILABLE] Unable to open the mailbox, try "
			    "again later.");
		return;
	}
	s->state = IMAPD_STATE_AUTH;
	log_info("login: user=<%s>, method=%s, rip=%s, lip=%s, tls=%s", user,
		 method, s->rip, s->lip,
		 s->tls != NULL ? tls_conn_protocol(s->tls) : "none");
	imapd_special_use_create(s);
	buf_init(&caps, 4096);
	imapd_capabilities(s, &caps);
	imapd_ok(s, "[CAPABILITY %s] Logged in", buf_cstr(&caps));
	buf_deinit(&caps);
}

/* Verifies user/password with authd and logs in. */
static void login(struct imapd_session *s, const char *user,
		  const char *password, const char *method)
{
	struct auth_reply reply;
	const char *error;
	char name[AUTH_USER_MAX * 4 + 1];

	memset(&reply, 0, sizeof(reply));
	if (auth_client_login(s->p->auth_socket, "imap", user, password,
			      s->rip, s->tls != NULL, s->loopback, &reply,
			      &error) < 0) {
		log_warn("authd: %s", error);
		imapd_no(s, "[UNAVAILABLE] Authentication service not "
			    "available, try again later.");
		return;
	}
	log_user(name, sizeof(name), user);
	switch (reply.status) {
	case AUTH_OK:
		login_ok(s, &reply, method);
		break;
	case AUTH_TEMPFAIL:
		log_warn("login: user=<%s>, method=%s, rip=%s: temporary "
			 "failure: %s", name, method, s->rip, reply.reason);
		imapd_no(s, "[UNAVAILABLE] Temporary authentication failure, "
			    "try again later.");
		break;
	case AUTH_FAIL:
	default:
		log_info("login failed: user=<%s>, method=%s, rip=%s, lip=%s",
			 name, method, s->rip, s->lip);
		/* authd has delayed this answer already. */
		auth_failed(s, "Authentication failed.");
		break;
	}
	explicit_bzero(&reply, sizeof(reply));
}

void imapd_cmd_login(struct imapd_session *s, const struct imap_arg *args)
{
	const char *user, *password;
	size_t user_len, password_len;

	if (!imap_arg_get_astring(args, &user, &user_len) ||
	    !imap_arg_get_astring(args->next, &password, &password_len) ||
	    args->next->next != NULL) {
		imapd_bad(s, "Invalid arguments: LOGIN user password.");
		return;
	}
	if (!imapd_plaintext_allowed(s)) {
		wipe(password, password_len);
		imapd_no(s, "%s", plaintext_refused);
		return;
	}
	if (strlen(user) != user_len || strlen(password) != password_len ||
	    !mailbox_path_user_valid(user, AUTH_USER_MAX) ||
	    password_len > AUTH_PASSWORD_MAX)
		auth_failed(s, "Authentication failed.");
	else
		login(s, user, password, "LOGIN");
	wipe(password, password_len);
}

/* Reads the client's response to "+ ": 1 with *line_r, 0 after the
 * reply (too long, "*"), -1 when the session is over. */
static int read_response(struct imapd_session *s, const char **line_r,
			 size_t *len_r)
{
	imapd_write_str(s, "+ \r\n");
	int ret = imapd_read_line(s, IMAPD_AUTH_LINE_MAX, s->p->timeout_ms,
				  line_r, len_r);
	if (ret == 0)
		imapd_bad(s, "Authentication response too long.");
	return ret;
}

/* One PLAIN response (base64; "=" or nothing is the empty response).
 * RFC 3501 6.2.2: a cancel ("*") and invalid base64 get BAD; bad
 * credentials get NO. */
static void auth_plain(struct imapd_session *s, const char *response,
		       size_t len)
{
	char user[AUTH_USER_MAX + 1], password[AUTH_PASSWORD_MAX + 1];
	char check[(IMAPD_AUTH_LINE_MAX / 4) * 3 + 3];
	const char *error;

	if (len == 1 && response[0] == '*') {
		imapd_bad(s, "Authentication aborted by client.");
		/* A cancel is the client's right, not a bad command. */
		s->error_count--;
		return;
	}
	if (len == 1 && response[0] == '=')
		len = 0;
	if (len > 0 && (memchr(response, '\0', len) != NULL ||
			base64_decode(response, len, check, sizeof(check),
				      &error) < 0)) {
		explicit_bzero(check, sizeof(check));
		imapd_bad(s, "Invalid base64 data in the SASL response.");
		return;
	}
	explicit_bzero(check, sizeof(check));
	char *copy = xstrndup(response, len);
	int ret = auth_sasl_plain_decode(copy, user, sizeof(user), password,
					 sizeof(password), &error);
	wipe(copy, len);
	free(copy);
	if (ret < 0 || !mailbox_path_user_valid(user, AUTH_USER_MAX))
		auth_failed(s, "Authentication failed.");
	else
		login(s, user, password, "PLAIN");
	explicit_bzero(password, sizeof(password));
}

void imapd_cmd_authenticate(struct imapd_session *s,
			    const struct imap_arg *args)
{
	const char *mech, *line;
	size_t len;

	if (args == NULL || args->type != IMAP_ARG_ATOM ||
	    !imap_arg_get_atom(args, &mech) ||
	    (args->next != NULL && (args->next->type != IMAP_ARG_ATOM ||
				    args->next->next != NULL))) {
		imapd_bad(s, "Invalid arguments: AUTHENTICATE mechanism "
			     "[initial-response].");
		return;
	}
	const struct imap_arg *ir = args->next;
	if (!str_eq_ci(mech, "PLAIN")) {
		imapd_no(s, "Unsupported authentication mechanism.");
		return;
	}
	if (!imapd_plaintext_allowed(s)) {
		if (ir != NULL)
			wipe(ir->str, ir->len);
		imapd_no(s, "%s", plaintext_refused);
		return;
	}
	if (ir != NULL) {
		auth_plain(s, ir->str, ir->len);
		wipe(ir->str, ir->len);
		return;
	}
	if (read_response(s, &line, &len) <= 0)
		return;
	auth_plain(s, line, len);
	wipe(line, len);
}
