/* smtpd: what the files of the SMTP server share. One process serves one
 * client at a time: main.c opens the tables, smtpd_session.c runs the
 * session loop, smtpd_cmd.c holds the command table and the simple
 * commands, smtpd_rcpt.c recipient validation, smtpd_data.c DATA/BDAT and
 * the queue file, smtpd_tls.c STARTTLS and implicit TLS, smtpd_sasl.c
 * AUTH (RFC 4954) through authd, smtpd_reply.c replies, the error budget
 * and logging. */
#ifndef SUREL_SMTPD_H
#define SUREL_SMTPD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "local_domains.h"
#include "maps.h"
#include "netmatch.h"
#include "queue_file.h"
#include "queue_writer.h"
#include "smtp_cmd.h"
#include "smtp_data.h"
#include "spf.h"
#include "stream.h"
#include "tls.h"

/* How long a goodbye (421, 521) may take to write. */
#define SMTPD_GOODBYE_TIMEOUT_MS 10000

/* main.cf values, read once per session. */
struct smtpd_params {
	const char *banner;
	const char *myhostname;
	const char *myorigin;
	const char *mail_name;
	const char *queue_directory;
	const char *recipient_delimiter;
	uint64_t message_size_limit;	/* 0: none */
	uint64_t recipient_limit;
	size_t line_length_limit;
	size_t header_size_limit;
	uint64_t hard_error_limit;
	uint64_t soft_error_limit;
	int error_sleep_ms;
	int timeout_ms;
	int data_timeout_ms;
	int pregreet_wait_ms;
	bool allow_bare_lf;
	bool vrfy_enabled;
	bool smtputf8;
	bool sasl_enable;		/* smtpd_sasl_auth_enable */
	bool tls_auth_only;		/* smtpd_tls_auth_only */
	char auth_socket[4096];		/* queue_directory/private/auth */
};

/* Tables opened before privileges are dropped (main.c). */
struct smtpd_tables {
	struct maps *alias;		/* virtual_alias_maps */
	struct maps *mailbox;		/* virtual_mailbox_maps */
	struct local_domains *domains;	/* virtual_mailbox_domains */
	struct netmatch *mynetworks;	/* clients that may relay */
};
extern struct smtpd_tables smtpd_tables;

/* The most PREPEND headers of access tables in one message. */
#define SMTPD_PREPEND_MAX 16

/* Final recipients already in the transaction (duplicates dropped). */
struct smtpd_rcpt_set {
	char **slots;
	size_t size, count;
};

/* One mail transaction: from MAIL to the end of DATA/BDAT LAST or RSET. */
struct smtpd_txn {
	bool active;			/* MAIL accepted */
	struct queue_envelope env;	/* sender, final recipients */
	bool utf8;			/* MAIL ... SMTPUTF8 */
	enum smtp_body body;
	enum smtp_ret ret;
	char *envid;
	char *auth;			/* MAIL AUTH= (xtext), authenticated
					 * clients only */
	size_t rcpt_accepted;		/* RCPT commands accepted */
	size_t rcpt_tried;		/* RCPT commands seen */
	char *first_rcpt;		/* for "Received: ... for <rcpt>" */
	struct smtpd_rcpt_set rcpt_set;

	/* The message being received. */
	struct queue_writer *writer;
	struct smtp_data *decoder;
	const char *bdat_error;		/* a failed BDAT transaction's reply */

	/* Access table actions for the whole message (smtpd_policy.c). */
	bool hold;			/* HOLD: envelope attribute "hold" */
	bool discard;			/* DISCARD: accept, then drop */
	char *prepend[SMTPD_PREPEND_MAX];	/* PREPEND headers */
	size_t prepend_count;
	char *redirect, *bcc, *filter;	/* the last of each, or NULL */

	/* The SPF check at MAIL (smtpd_spf.c); NULL: not checked. */
	struct spf_check *spf;
	/* DKIM verification and DMARC (smtpd_dmarc.c); NULL: none yet. */
	struct smtpd_dmarc *dmarc;

	/* header_checks, body_checks (smtpd_checks.c); NULL: none. */
	struct content_check *checks;
	const char *checks_error;	/* the queue writer's last error */
	bool checks_discard;		/* DISCARD: accept, then drop */
};

/* Command counters for the disconnect line: one per parser verb, and
 * STARTTLS and AUTH, which smtpd recognises itself (the parser never sees
 * a line that may carry a password). */
#define SMTPD_COUNT_STARTTLS SMTP_VERB_COUNT
#define SMTPD_COUNT_AUTH (SMTP_VERB_COUNT + 1)
#define SMTPD_COUNT_MAX (SMTP_VERB_COUNT + 2)

/* The longest AUTH response (RFC 4954 4 lets a server limit it; 12288
 * octets of base64 carry 9216 octets, far beyond any PLAIN or LOGIN
 * response), and so the longest line the stream must hold: "AUTH",
 * a mechanism name (20 at most, RFC 4422 3.1), the response, CRLF. */
#define SMTPD_SASL_RESPONSE_MAX 12288
#define SMTPD_SASL_LINE_MAX (SMTPD_SASL_RESPONSE_MAX + 32)

enum smtpd_result {
	SMTPD_OK,	/* command succeeded */
	SMTPD_FAIL,	/* answered with an error */
	SMTPD_CLOSE,	/* end the session (reply already given) */
	SMTPD_DONE,	/* command succeeded, end the session (QUIT) */
};

struct smtpd_session {
	const struct smtpd_params *p;
	struct stream *stream;
	struct smtp_cmd_parser *parser;
	char client_addr[64];		/* 127.0.0.1 / 2001:db8::1 */
	char client_rfc_addr[72];	/* 127.0.0.1 / IPv6:2001:db8::1 */
	const char *client_name;	/* "unknown" (no reverse DNS yet) */
	char *helo;
	bool esmtp;
	bool loopback;			/* client on 127.0.0.0/8 or ::1 */
	bool in_mynetworks;		/* client_addr in mynetworks (at connect) */
	/* After a successful AUTH: the name authd returned (canonical) and
	 * the mechanism; NULL when the client has not authenticated.
	 * permit_sasl_authenticated (smtpd_policy.c) reads sasl_username. */
	char *sasl_username;
	const char *sasl_method;	/* "PLAIN", "LOGIN" (static) */
	const char *last_cmd;		/* for "lost connection after X" */
	uint64_t error_count;
	struct { unsigned ok, total; } counts[SMTPD_COUNT_MAX];
	struct tls_conn *tls;		/* NULL: plaintext */
	struct smtpd_txn txn;
};

/* main.c */
void smtpd_params_load(struct smtpd_params *p);

/* smtpd_session.c */
/* Runs one SMTP session on fd (the caller closes fd). */
void smtpd_session_run(int fd, const struct smtpd_params *p);
/* Ends the transaction: aborts an unfinished queue file, frees state. */
void smtpd_txn_reset(struct smtpd_session *s);
/* Authenticated, or in mynetworks: mail from our own users, which SPF,
 * DKIM verification and DMARC leave alone. */
bool smtpd_client_is_ours(const struct smtpd_session *s);

/* smtpd_cmd.c */
/* Runs the handler of a parsed command. */
enum smtpd_result smtpd_cmd_dispatch(struct smtpd_session *s,
				     const struct smtp_cmd *cmd);

/* smtpd_rcpt.c */
enum smtpd_result smtpd_cmd_rcpt(struct smtpd_session *s,
				 const struct smtp_cmd *cmd);
void smtpd_rcpt_set_free(struct smtpd_rcpt_set *set);

/* smtpd_policy.c */
/* Parses the restriction lists (fatal on an error, or on an open relay
 * configuration without smtpd_allow_open_relay = yes) and opens their
 * tables and the resolver: before privileges are dropped. */
void smtpd_policy_init(void);
/* Evaluates the lists for recipient (qualified) in s's session. 0: go
 * on; -1: refused, with Postfix's reply ("554 5.7.1 <a@b>: Relay access
 * denied") in reply. Access table actions land in s->txn. */
int smtpd_policy_check(struct smtpd_session *s, const char *recipient,
		       char *reply, size_t size);

/* Forgets the session's cached DNS answers (end of session). */
void smtpd_policy_end(void);

/* smtpd_actions.c */
/* Applies REDIRECT, BCC, FILTER (s->txn) and content_filter to the
 * envelope, once, before it is written (queue_id for the logs). */
void smtpd_actions_envelope(struct smtpd_session *s, const char *queue_id);

/* smtpd_spf.c */
/* Reads smtpd_spf_policy (fatal when bad), makes the resolver. */
void smtpd_spf_init(void);
/* At MAIL, once the sender is accepted: checks it unless the policy is
 * off or the client is ours (authenticated, mynetworks), and keeps the
 * result in s->txn.spf. 0: go on; -1: refused (reject_fail and a fail),
 * the reply in reply. */
int smtpd_spf_mail(struct smtpd_session *s, char *reply, size_t size);

/* smtpd_anvil.c: connection and rate limits through anvil */
/* Parses smtpd_client_event_limit_exceptions (fatal when bad). */
void smtpd_anvil_init(void);
/* At connect: counts the client; -1 when it is over the connection count
 * or rate limit (421 sent, logged: end the session). */
int smtpd_anvil_connect(struct smtpd_session *s);
/* At MAIL, RCPT and AUTH: counts the event; -1 when the client (or, at
 * MAIL, the authenticated user) is over its rate limit (450 sent). */
int smtpd_anvil_mail(struct smtpd_session *s);
int smtpd_anvil_rcpt(struct smtpd_session *s);
int smtpd_anvil_auth(struct smtpd_session *s);
/* Before a TLS handshake (STARTTLS, or the wrapper's first one): -1 when
 * the client is over smtpd_client_new_tls_session_rate_limit (logged;
 * with reply, 421 sent): end the session. */
int smtpd_anvil_newtls(struct smtpd_session *s, bool reply);
/* At the end of the session: anvil forgets this connection. */
void smtpd_anvil_disconnect(struct smtpd_session *s);
/* smtpd_dmarc.c */
/* Reads smtpd_dmarc_policy and smtpd_dkim_verify (fatal when bad), makes
 * the resolver, the DKIM verifier and the DMARC checker (reads the public
 * suffix list). */
void smtpd_dmarc_init(void);
/* The received content as it streams (before any edit of ours): kept for
 * DKIM and the From: field when the client is checked. */
void smtpd_dmarc_feed(struct smtpd_session *s, const char *data, size_t len);
/* At the end of the content, before the commit: the DKIM results and the
 * DMARC verdict into the queue file's late attributes. 0: commit; -1:
 * refuse with reply (550 5.7.1 for a DMARC reject, 451 when the queue
 * file could not be written). Frees the message's state. */
int smtpd_dmarc_end(struct smtpd_session *s, const char *id, char *reply,
		    size_t size);
/* Frees the message's state (transaction reset); no-op without one. */
void smtpd_dmarc_reset(struct smtpd_txn *t);

/* smtpd_data.c */
enum smtpd_result smtpd_cmd_data(struct smtpd_session *s,
				 const struct smtp_cmd *cmd);
enum smtpd_result smtpd_cmd_bdat(struct smtpd_session *s,
				 const struct smtp_cmd *cmd);

/* smtpd_checks.c */
/* Opens header_checks, mime_header_checks, nested_header_checks and
 * body_checks (fatal on a bad table, with its file and line), before
 * privileges are dropped. */
void smtpd_checks_init(void);
/* A new queue file, before its envelope: starts the checker (when any
 * table is set) and keeps a place for a HOLD found in the content. */
void smtpd_checks_start(struct smtpd_session *s);
/* Content for the queue file (from our own headers on): through the
 * checker, else straight in. 0, or -1 (*error_r: the write error). */
int smtpd_checks_content(struct smtpd_session *s, const char *data,
			 size_t len, const char **error_r);
/* The end of the content: the rest goes out and the verdict is taken.
 * 0: go on (s->txn.checks_discard says DISCARD; a HOLD is in the file);
 * -1: refuse with the reply in reply (size >= 512): REJECT's 550 (logged
 * already) or 451 (a write error or a failed table, logged). */
int smtpd_checks_finish(struct smtpd_session *s, char *reply, size_t size);
/* Frees the checker (end of the transaction). */
void smtpd_checks_reset(struct smtpd_txn *t);

/* smtpd_tls.c */
/* Reads the TLS settings and builds the context (before privileges are
 * dropped: the key may be root's). A bad certificate, key or setting is
 * fatal. */
void smtpd_tls_init(void);
/* Implicit TLS (smtpd_tls_wrappermode): the handshake before the
 * greeting. Returns 0 (also when not in wrapper mode), or -1 (logged: end
 * the session). */
int smtpd_tls_wrapper(struct smtpd_session *s);
/* EHLO offers STARTTLS. */
bool smtpd_tls_offered(const struct smtpd_session *s);
/* MAIL must wait for TLS (smtpd_tls_security_level = encrypt). */
bool smtpd_tls_required(const struct smtpd_session *s);
/* line (CRLF removed) is a STARTTLS command, with or without arguments. */
bool smtpd_tls_is_starttls(const char *line, size_t len);
/* STARTTLS: on success the session is back at its state after connect.
 * SMTPD_CLOSE when the handshake failed (logged). */
enum smtpd_result smtpd_cmd_starttls(struct smtpd_session *s,
				     const char *line, size_t len);
/* Appends the Received: header's "(using TLSv1.3 with cipher ...)" line
 * when TLS is on. 0 or -1 (b full). */
int smtpd_tls_received(const struct smtpd_session *s, struct buf *b);
/* Ends TLS (close_notify) before the stream goes; no-op without TLS. */
void smtpd_tls_end(struct smtpd_session *s);

/* smtpd_sasl.c */
/* EHLO offers AUTH at this point of the session (enabled, TLS on when
 * smtpd_tls_auth_only or the encrypt level want it, not yet done). */
bool smtpd_sasl_offered(const struct smtpd_session *s);
/* line (CRLF removed) is an AUTH command, with or without arguments. */
bool smtpd_sasl_is_auth(const char *line, size_t len);
/* AUTH mechanism [initial-response]: the whole exchange, the check with
 * authd and the reply. Wipes the client's secrets where they were read:
 * line (the stream's writable buffer behind a const pointer) and the
 * responses. SMTPD_CLOSE when the client went away or broke the line
 * rules. */
enum smtpd_result smtpd_cmd_auth(struct smtpd_session *s, const char *line,
				 size_t len);
/* Forgets the authentication (STARTTLS, end of session). */
void smtpd_sasl_reset(struct smtpd_session *s);

/* smtpd_reply.c */
/* Queues one reply line ("250 2.0.0 Ok"); CRLF is added. A 4xx/5xx reply
 * counts as an error and, past smtpd_soft_error_limit, is delayed by
 * smtpd_error_sleep_time. */
void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same without counting an error (421 goodbyes, 452 too many
 * recipients). */
void smtpd_reply_nocount(struct smtpd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Flushes replies unless more pipelined input is already waiting.
 * Returns 0, or -1 when the client cannot be written to. */
int smtpd_reply_flush(struct smtpd_session *s, bool force);
/* Logs "QUEUEID|NOQUEUE: reject: CMD from name[addr]: REPLY; from=<...>
 * to=<...> proto=ESMTP helo=<...>" (to= only when rcpt is not NULL). */
void smtpd_log_reject(struct smtpd_session *s, const char *queue_id,
		      const char *reply, const char *rcpt);
/* Logs "disconnect from name[addr] ehlo=1 ... commands=N". */
void smtpd_log_disconnect(struct smtpd_session *s);
/* Sends "421 4.4.2 HOST Error: timeout exceeded" or logs a lost client,
 * for a stream result (STREAM_TIMEOUT, STREAM_EOF, STREAM_IO_ERROR). */
void smtpd_lost(struct smtpd_session *s, int stream_result);
/* Sends "521 5.5.2 HOST Error: bare <LF> received" (what says which). */
void smtpd_bare_newline(struct smtpd_session *s, const char *what);

#endif
