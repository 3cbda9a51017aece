/* smtp_cmd: parser of one SMTP command line (RFC 5321 with the ESMTP
 * parameters of SIZE, 8BITMIME, SMTPUTF8, DSN, AUTH and CHUNKING). Pure:
 * no I/O, no globals, no policy. It gets the line without its CRLF and
 * either fills a struct smtp_cmd or returns the complete SMTP reply that
 * the syntax error deserves ("501 5.1.7 Bad sender address syntax").
 *
 * Policy (size against message_size_limit, sequence, recipients) is the
 * caller's: the parser only says what the client asked for. */
#ifndef SUREL_SMTP_CMD_H
#define SUREL_SMTP_CMD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_VRFY,
	SMTP_VERB_HELP,
	SMTP_VERB_QUIT,
	/* CONNECT, GET, POST: another protocol talking to us (a web proxy
	 * abused for spam); the caller hangs up as Postfix does. */
	SMTP_VERB_FORBIDDEN,
	SMTP_VERB_COUNT
};

enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

#define SMTP_NOTIFY_NEVER 0x1
#define SMTP_NOTIFY_SUCCESS 0x2
#define SMTP_NOTIFY_FAILURE 0x4
#define SMTP_NOTIFY_DELAY 0x8

/* Longest ENVID and ORCPT values (RFC 3461: 100 and 500 octets). */
#define SMTP_ENVID_MAX 100
#define SMTP_ORCPT_MAX 500

/* Fixed at creation. */
struct smtp_cmd_limits {
	size_t line_max;	/* longest line accepted, CRLF excluded */
	bool smtputf8;		/* the SMTPUTF8 extension is offered */
};

/* Parse flags: the transaction's MAIL carried SMTPUTF8, so RCPT paths
 * may hold UTF-8. */
#define SMTP_CMD_FLAG_UTF8 0x1

struct smtp_cmd {
	enum smtp_verb verb;
	const char *name;	/* "MAIL", ..., "unknown" (static) */
	/* HELO/EHLO: the domain or address literal; VRFY/HELP/NOOP: the
	 * argument text or ""; otherwise "". */
	const char *arg;
	/* MAIL, RCPT: the path ("" address for <>). */
	struct addr addr;
	/* MAIL parameters. */
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	enum smtp_ret ret;
	const char *envid;	/* xtext as received, or NULL */
	const char *auth;	/* AUTH= value as received, or NULL */
	/* RCPT parameters. */
	unsigned notify;	/* SMTP_NOTIFY_* bits, 0 when absent */
	const char *orcpt;	/* "addr-type;xtext" as received, or NULL */
	/* BDAT. */
	uint64_t chunk_size;
	bool last;
};

struct smtp_cmd_parser;

struct smtp_cmd_parser *smtp_cmd_parser_new(const struct smtp_cmd_limits *l);
void smtp_cmd_parser_free(struct smtp_cmd_parser **p);

/* Parses line[0..len) (no CRLF; may hold any octet). Returns 0 with
 * *cmd_r filled, or -1 with *error_r the whole reply line to send (no
 * CRLF). cmd_r->verb and ->name are set in both cases (UNKNOWN when the
 * verb itself is not known) so that the caller can count commands. The
 * strings in *cmd_r and *error_r live in p until the next call. */
int smtp_cmd_parse(struct smtp_cmd_parser *p, const char *line, size_t len,
		   unsigned flags, struct smtp_cmd *cmd_r,
		   const char **error_r) __attribute__((warn_unused_result));

/* The NOTIFY bits as "SUCCESS,FAILURE" / "NEVER" into out; "" for 0. */
void smtp_cmd_notify_str(unsigned notify, char *out, size_t outsize);

#endif
