/* auth_client: how pop3d, imapd and smtpd ask authd to verify a
 * password or look a user up, over the UNIX socket AUTH_SOCKET (relative
 * to queue_directory). One blocking request/reply exchange on a fresh
 * connection per call: these daemons serve one client per process.
 *
 * The wire format is lib/ipc (name=value lines, blank line); doc/auth.md
 * lists every attribute. Request:
 *   request=verify service=pop3 user=U password=P rip=ADDR secured=yes|no
 *   request=lookup service=pop3 user=U
 * Reply:
 *   status=ok user=CANONICAL [home=DIR] [mail=DIR] [quota=BYTES]
 *   status=fail reason=TEXT        (wrong password, unknown user)
 *   status=tempfail reason=TEXT    (table unreadable, ...)
 * authd delays a "fail" reply itself (auth_failure_delay, growing per
 * client address and per user), so the call may take up to
 * auth_failure_delay_max; timeout_ms must allow for that
 * (AUTH_CLIENT_TIMEOUT_MS does).
 *
 * Also here: the SASL PLAIN (RFC 4616) response decoder shared by every
 * protocol that offers AUTH PLAIN, and the LOGIN mechanism's response
 * check (smtpd). */
#ifndef SUREL_AUTH_CLIENT_H
#define SUREL_AUTH_CLIENT_H
#include <stdbool.h>
#include <stddef.h>

#define AUTH_SOCKET "private/auth"
#define AUTH_CLIENT_TIMEOUT_MS 120000
#define AUTH_USER_MAX 255
#define AUTH_PASSWORD_MAX 1024

enum auth_status {
	AUTH_OK,
	AUTH_FAIL,	/* wrong password or unknown user (never says which) */
	AUTH_TEMPFAIL,	/* authd could not decide: try again later */
};

struct auth_request {
	const char *service;	/* "pop3", "imap", "smtp" */
	const char *user;
	const char *password;	/* verify only */
	const char *client_addr;/* "127.0.0.1", "2001:db8::1" (throttling) */
	bool secured;		/* TLS or loopback */
};

struct auth_reply {
	enum auth_status status;
	char user[AUTH_USER_MAX + 1];	/* canonical name (AUTH_OK) */
	char home[1024];		/* "" when the table has none */
	char mail[1024];		/* Maildir from the table, or "" */
	unsigned long long quota;	/* bytes, 0: none given */
	char reason[256];		/* for logs (AUTH_FAIL/TEMPFAIL) */
};

/* Verifies req->user / req->password through authd at socket_path.
 * Returns 0 with *reply filled (any status), or -1 with *error_r (static)
 * when authd cannot be reached or answers nonsense: the caller treats that
 * like AUTH_TEMPFAIL. A user or password holding CR, LF or NUL is never
 * sent: the reply is AUTH_FAIL. */
int auth_client_verify(const char *socket_path, const struct auth_request *req,
		       struct auth_reply *reply, int timeout_ms,
		       const char **error_r)
	__attribute__((warn_unused_result));
/* The login check of pop3d, imapd and smtpd: auth_client_verify of
 * user/password for service, with the client's address, "secured" when
 * the connection has TLS or is on loopback, and AUTH_CLIENT_TIMEOUT_MS.
 * Same results. */
int auth_client_login(const char *socket_path, const char *service,
		      const char *user, const char *password,
		      const char *client_addr, bool tls, bool loopback,
		      struct auth_reply *reply, const char **error_r)
	__attribute__((warn_unused_result));
/* Looks req->user up (no password). AUTH_OK / AUTH_FAIL (no such user) /
 * AUTH_TEMPFAIL as above. */
int auth_client_lookup(const char *socket_path, const struct auth_request *req,
		       struct auth_reply *reply, int timeout_ms,
		       const char **error_r)
	__attribute__((warn_unused_result));

/* Decodes a SASL PLAIN response (base64 of authzid NUL authcid NUL
 * password) into user (the authcid) and password. An authzid that is not
 * empty and differs from the authcid is refused (no proxy logins). Returns
 * 0, or -1 with *error_r (static): bad base64, wrong number of NULs,
 * empty authcid, fields too long. The caller wipes password after use. */
int auth_sasl_plain_decode(const char *b64, char *user, size_t user_size,
			   char *password, size_t password_size,
			   const char **error_r)
	__attribute__((warn_unused_result));
/* The same for a response already base64-decoded: raw[0..len) holds
 * authzid NUL authcid NUL password (smtpd decodes first, because bad
 * base64 gets another reply than bad credentials). The same checks and
 * results; raw is not modified (the caller wipes it). */
int auth_sasl_plain_parse(const void *raw, size_t len, char *user,
			  size_t user_size, char *password,
			  size_t password_size, const char **error_r)
	__attribute__((warn_unused_result));
/* One decoded response of the LOGIN mechanism (a user name or a
 * password; draft-murchison-sasl-login) into out as a C string. Refused
 * with -1 and *error_r (static), out set to "": empty, holding NUL, CR
 * or LF, or not fitting out (size includes the NUL). */
int auth_sasl_login_parse(const void *raw, size_t len, char *out,
			  size_t size, const char **error_r)
	__attribute__((warn_unused_result));

#endif
