/* pop3d: what the files of the POP3 server share. One process serves one
 * client at a time: main.c loads the parameters and opens the table and
 * the TLS context before privileges are dropped; pop3d_session.c runs the
 * session (greeting, command loop, replies, error budget, timeouts, the
 * log line at the end); pop3d_cmd.c holds the command table and the
 * commands of no particular area (CAPA, STLS, NOOP, QUIT, APOP);
 * pop3d_auth.c USER, PASS and AUTH; pop3d_maildrop.c finds, locks and
 * snapshots the user's Maildir and applies the deletions at QUIT;
 * pop3d_uidl.c makes the unique ids; pop3d_mail.c STAT, LIST, UIDL,
 * DELE, RSET; pop3d_retr.c RETR and TOP. */
#ifndef SUREL_POP3D_H
#define SUREL_POP3D_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "auth_client.h"
#include "maps.h"
#include "mailstore.h"
#include "pop3_cmd.h"
#include "pop3d_uidl.h"
#include "stream.h"
#include "tls.h"

/* A SASL response line after "+ " may be far longer than a command. */
#define POP3D_AUTH_LINE_MAX 8192
/* Bad commands (syntax, state, numbers) before the session is ended. */
#define POP3D_ERROR_LIMIT 20
/* Failed logins in one session before it is ended. */
#define POP3D_AUTH_FAILURE_LIMIT 3
/* How long a goodbye may take to write. */
#define POP3D_GOODBYE_TIMEOUT_MS 10000
/* The per-user lock that makes a maildrop one session's (flock). */
#define POP3D_LOCK_FILE "surel-pop3.lock"

/* main.cf values, read once per session. */
struct pop3d_params {
	const char *banner;
	const char *mailbox_base;	/* virtual_mailbox_base */
	const char *recipient_delimiter;
	const char *uidl_format;	/* checked by main.c at start */
	char auth_socket[4096];		/* queue_directory/private/auth */
	int timeout_ms;
	int tls_timeout_ms;		/* smtpd_starttls_timeout: handshakes */
	bool wrappermode;		/* implicit TLS (POP3S) */
	bool disable_plaintext_auth;
};

/* Opened before privileges are dropped (main.c). */
struct pop3d_tables {
	struct maps *mailbox;		/* virtual_mailbox_maps */
	struct tls_server *tls;		/* NULL: no certificate configured */
};
extern struct pop3d_tables pop3d_tables;

/* One message of the snapshot taken at login: message number i + 1. */
struct pop3d_msg {
	uint32_t uid;
	uint64_t size;			/* octets with CRLF line ends */
	char *uidl;			/* owned */
	bool deleted;			/* DELE'd, applied at QUIT */
};

/* The user's Maildir while a session holds it. */
struct pop3d_maildrop {
	char *path;			/* owned; NULL: none open */
	int lock_fd;			/* holds POP3D_LOCK_FILE's flock */
	struct mailstore *box;
	struct pop3d_msg *msgs;		/* owned, count of them */
	size_t count;
	uint64_t total;			/* sum of sizes at login */
};

/* Dovecot's logout counters. */
struct pop3d_stats {
	unsigned top, retr, del;
	uint64_t top_bytes, retr_bytes;
	size_t msgs;			/* messages at login */
	uint64_t size;			/* their octets */
};

enum pop3d_result {
	POP3D_OK,	/* command succeeded */
	POP3D_FAIL,	/* answered with an error */
	POP3D_CLOSE,	/* end the session (reply given, reason set) */
	POP3D_DONE,	/* QUIT: end the session normally */
};

struct pop3d_session {
	const struct pop3d_params *p;
	struct stream *stream;
	struct pop3_cmd_parser *parser;
	struct tls_conn *tls;		/* TLS is on when not NULL */
	enum pop3_state state;
	char rip[64], lip[64];		/* remote and local address */
	bool loopback;			/* client on 127.0.0.0/8 or ::1 */
	char *pending_user;		/* USER given, PASS awaited */
	char user[AUTH_USER_MAX + 1];	/* logged in as (canonical) */
	const char *end_reason;		/* for the last log line */
	unsigned error_count;
	unsigned auth_failures;
	struct pop3d_maildrop drop;
	struct pop3d_stats stats;
};

/* main.c */
void pop3d_params_load(struct pop3d_params *p);

/* pop3d_session.c */
/* Runs one POP3 session on fd (the caller closes fd). */
void pop3d_session_run(int fd, const struct pop3d_params *p);
/* Queues "+OK ..." or a data line; CRLF is added. */
void pop3d_reply(struct pop3d_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Queues "-ERR ..." (fmt without the "-ERR "), counting it against the
 * session's error budget. */
void pop3d_err(struct pop3d_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same without counting (failed logins have their own budget). */
void pop3d_err_nocount(struct pop3d_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes everything queued. 0, or -1 when the client cannot be written
 * to (end_reason set). */
int pop3d_flush(struct pop3d_session *s);
/* Ends the session for a stream result (STREAM_TIMEOUT: the inactivity
 * goodbye is sent; others: the client is gone). Returns POP3D_CLOSE. */
enum pop3d_result pop3d_lost(struct pop3d_session *s, int stream_result);
/* True when a password may be sent now: TLS is on, or the client is on
 * loopback and disable_plaintext_auth is no. */
bool pop3d_plaintext_allowed(const struct pop3d_session *s);
/* Overwrites len octets at p, which the caller knows to be writable
 * memory behind a const pointer (the stream's line, the parser's copy). */
void pop3d_wipe(const char *p, size_t len);

/* pop3d_cmd.c */
/* Checks the state and runs the handler of a parsed command. */
enum pop3d_result pop3d_cmd_dispatch(struct pop3d_session *s,
				     const struct pop3_cmd *cmd);

/* pop3d_auth.c */
enum pop3d_result pop3d_cmd_user(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);
enum pop3d_result pop3d_cmd_pass(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);
enum pop3d_result pop3d_cmd_auth(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);
/* The SASL mechanisms offered now ("PLAIN" or ""). */
const char *pop3d_auth_mechanisms(const struct pop3d_session *s);

/* pop3d_maildrop.c */
/* Finds user's Maildir (mail_dir from authd when not empty, else
 * virtual_mailbox_maps), locks it for this session and takes the
 * snapshot. 0, or -1 after the -ERR reply was sent ([IN-USE] or
 * [SYS/TEMP]) and logged. */
int pop3d_maildrop_open(struct pop3d_session *s, const char *mail_dir);
/* The UPDATE state: deletes the messages marked deleted and accounts for
 * them in the Maildir++ quota. 0, or -1 (*error_r static) when not all
 * could be deleted. */
int pop3d_maildrop_update(struct pop3d_session *s, const char **error_r);
/* Releases the Maildir and the lock; nothing is changed. Accepts a
 * maildrop that is not open. */
void pop3d_maildrop_close(struct pop3d_maildrop *d);
/* The message numbered msg (1-based) when it exists and is not deleted;
 * otherwise NULL after the -ERR reply was queued. */
struct pop3d_msg *pop3d_maildrop_msg(struct pop3d_session *s, uint32_t msg);

/* pop3d_mail.c */
enum pop3d_result pop3d_cmd_stat(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);
enum pop3d_result pop3d_cmd_list(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);
enum pop3d_result pop3d_cmd_uidl(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);
enum pop3d_result pop3d_cmd_dele(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);
enum pop3d_result pop3d_cmd_rset(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);

/* pop3d_retr.c */
enum pop3d_result pop3d_cmd_retr(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);
enum pop3d_result pop3d_cmd_top(struct pop3d_session *s,
				 const struct pop3_cmd *cmd);

#endif
