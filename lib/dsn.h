/* dsn: composes delivery status notifications (RFC 3464 inside an
 * RFC 6522 multipart/report, RFC 3463 status codes, RFC 3461 NOTIFY/RET/
 * ENVID/ORCPT, RFC 6533 for SMTPUTF8 mail): bounces, delay warnings and
 * success notices. Pure: no I/O, no clock, no globals. qmgr gathers the
 * per-recipient results, asks dsn_notify_allows() whether a notice may go
 * at all, and queues what dsn_compose() writes as a new message from the
 * null sender to the original sender. The same format carries the
 * report that sendmail -bv asks for (DSN_KIND_VERIFY).
 *
 * The notice is a complete RFC 5322 message with LF line endings (the
 * queue stores content with LF; the SMTP client turns it into CRLF):
 *
 *   From: MAILER-DAEMON@<myhostname> (Mail Delivery System)
 *   To: <sender>, Subject (Postfix's three subjects), Date, Message-ID
 *   <token@myhostname>, Auto-Submitted: auto-replied (RFC 3834),
 *   MIME-Version, Content-Type: multipart/report;
 *   report-type=delivery-status; boundary="..."
 *   1. text/plain: what happened, one line per recipient with the reason
 *      and the remote server's reply quoted;
 *   2. message/delivery-status: Reporting-MTA, X-Surel-Queue-ID,
 *      X-Surel-Sender, Original-Envelope-Id, Received-From-MTA,
 *      Arrival-Date; then per recipient Final-Recipient,
 *      Original-Recipient, Action, Status, Remote-MTA, Diagnostic-Code,
 *      Last-Attempt-Date, Will-Retry-Until (delayed only);
 *   3. the original: message/rfc822 (whole message) or
 *      text/rfc822-headers (headers only).
 *
 * Choices where the RFCs leave room (as Postfix does):
 * - What is returned: the whole message only in a failure notice, when
 *   RET is not HDRS, the message is at most return_limit octets
 *   (bounce_size_limit) and every line of it is returnable (no NUL, no
 *   bare CR, at most 998 octets); otherwise its headers only, which are cut
 *   before the first header field that would pass return_limit or is not
 *   returnable (info.headers_truncated, and the text part says so). Delay
 *   and success notices always return headers only (RET governs failed
 *   DSNs, RFC 3461 4.3).
 * - ENVID and ORCPT are given as stored (xtext) and written xtext-decoded;
 *   a decoded octet that is not printable ASCII (a control, CR, LF, 8-bit)
 *   stays in its "+HH" form, so nothing can break the field; raw 8-bit is
 *   kept only as valid UTF-8 in SMTPUTF8 mode, else shown as '?'. A
 *   malformed ORCPT (no "type;", a bad type, over 500 octets) or ENVID
 *   (over 500 octets) is left out, not an error.
 * - The diagnostic (the remote reply, any octets) has its lines joined
 *   with one space, white space runs collapsed, controls and NUL shown as
 *   '?', 8-bit shown as '?' unless it is valid UTF-8 in SMTPUTF8 mode, and
 *   is cut at DSN_DIAG_MAX octets (marked "...").
 * - SMTPUTF8 mode (the original was sent with SMTPUTF8, or an address is
 *   not ASCII): message/global-delivery-status (report-type
 *   global-delivery-status), message/global or message/global-headers,
 *   text in UTF-8, non-ASCII addresses with address type "utf-8". The
 *   notice must then be sent with SMTPUTF8 (info.smtputf8).
 * - 8-bit content makes the notice 8bit (Content-Transfer-Encoding: 8bit;
 *   send with BODY=8BITMIME: info.eightbit).
 * - The boundary is "=_surel_<token>_<n>" with the smallest n such that
 *   it occurs nowhere in the parts (a bounded search: it always ends).
 * - A failed action may carry a 4.x.x status (mail that expired after
 *   temporary errors), as Postfix writes it; delayed needs 4, and
 *   delivered/relayed/expanded need 2.
 * - The address verification report (sendmail -bv, DSN_KIND_VERIFY)
 *   uses Postfix's actions "deliverable" (2.x.x) and "undeliverable"
 *   (4.x.x: it would have been deferred, or 5.x.x), which RFC 3464's list
 *   lacks (its actions describe deliveries that happened; nothing was
 *   delivered here). Its text part names the transport of a deliverable
 *   recipient ("<a@b>: delivery via local: delivers to maildir") and
 *   says "undeliverable: " before the reason of the others; the message
 *   (a probe without content) is returned as its headers. It is sent
 *   whatever NOTIFY says (the sender asked for it), never to <>. */
#ifndef SUREL_DSN_H
#define SUREL_DSN_H
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "buf.h"
#include "smtp_cmd.h"

#define DSN_RCPT_MAX 1000	/* recipients in one notice: split beyond */
#define DSN_DIAG_MAX 800	/* octets of diagnostic text kept */
#define DSN_ADDR_MAX 512	/* longest address accepted */
#define DSN_TOKEN_MAX 40	/* longest Message-ID token */
#define DSN_RETURN_LIMIT_DEFAULT 50000	/* Postfix's bounce_size_limit */

enum dsn_kind {
	DSN_KIND_FAILURE = 0,	/* bounce: actions "failed" */
	DSN_KIND_DELAY,		/* delay warning: actions "delayed" */
	DSN_KIND_SUCCESS,	/* delivered / relayed / expanded */
	DSN_KIND_VERIFY,	/* sendmail -bv: deliverable / undeliverable */
	DSN_KIND_COUNT
};

enum dsn_action {
	DSN_ACTION_FAILED = 0,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,
	DSN_ACTION_RELAYED,	/* passed to an MTA that does not do DSN */
	DSN_ACTION_EXPANDED,	/* alias or list expansion */
	DSN_ACTION_DELIVERABLE,	/* verify: a delivery would succeed */
	DSN_ACTION_UNDELIVERABLE, /* verify: it would fail or be deferred */
	DSN_ACTION_COUNT
};

enum dsn_diag_type {
	DSN_DIAG_NONE = 0,
	DSN_DIAG_SMTP,		/* "smtp;": a remote SMTP reply */
	DSN_DIAG_LOCAL,		/* "X-Surel;": our own explanation */
};

struct dsn_rcpt {
	const char *address;	/* final recipient (required) */
	const char *orig_rcpt;	/* before alias expansion (text part), or NULL */
	const char *orcpt;	/* ORCPT as stored: "type;xtext", or NULL */
	enum dsn_action action;
	const char *status;	/* RFC 3463 "5.1.1" (required) */
	const char *remote_mta;	/* host name that answered, or NULL */
	const char *in_reply_to; /* "RCPT TO", "end of DATA", ... or NULL */
	enum dsn_diag_type diag_type;
	const char *diag;	/* diag_len octets, any values; NULL: none */
	size_t diag_len;
	time_t last_attempt;	/* 0: not reported */
	time_t retry_until;	/* delayed only; 0: not reported */
	const char *via;	/* deliverable only: the transport ("local",
				 * "smtp": 1..32 of [a-z0-9_-]), or NULL */
};

struct dsn_notice {
	enum dsn_kind kind;
	const char *myhostname;	/* reporting MTA (A-label host name) */
	const char *token;	/* unique (the new queue id): 1..DSN_TOKEN_MAX
				 * of [A-Za-z0-9._-] */
	time_t now;		/* Date: */
	/* The original message. */
	const char *sender;	/* its envelope sender: the notice's To: */
	const char *queue_id;	/* its queue id, or NULL */
	const char *envid;	/* ENVID as stored (xtext), or NULL */
	enum smtp_ret ret;
	bool smtputf8;
	time_t arrival;		/* 0: not reported */
	const char *client_name;	/* Received-From-MTA; NULL: local */
	const char *client_address;	/* with client_name, or NULL */
	const char *content;	/* the message, LF line endings */
	size_t content_len;
	size_t return_limit;	/* bounce_size_limit */
	const struct dsn_rcpt *rcpts;
	size_t rcpt_count;	/* 1..DSN_RCPT_MAX */
};

struct dsn_info {
	bool smtputf8;		/* send with SMTPUTF8 */
	bool eightbit;		/* holds 8-bit octets: BODY=8BITMIME */
	bool content_full;	/* the whole original was returned */
	bool headers_truncated;	/* its headers were cut */
};

/* Parses a NOTIFY list as a queue file stores it: NULL, "" or "-" mean
 * absent (0); otherwise a comma list of SUCCESS, FAILURE, DELAY (any
 * case), or NEVER alone, into SMTP_NOTIFY_* bits. Returns 0, or -1 with
 * *error_r (static) on an unknown word, an empty element, or NEVER with
 * others. */
int dsn_notify_parse(const char *s, unsigned *notify_r, const char **error_r)
	__attribute__((warn_unused_result));

/* Whether a notice of this kind may be sent for a recipient with these
 * NOTIFY bits: never to the null sender ("" or "<>"); a verify report
 * always otherwise; never for NEVER; with NOTIFY absent (0) failure and
 * delay notices yes, success no (RFC 3461 4.1); otherwise only when the
 * kind's bit is set. */
bool dsn_notify_allows(enum dsn_kind kind, const char *sender,
		       unsigned notify);

/* Parses the queue file's "ret" attribute (NULL: none; "FULL", "HDRS").
 * Returns 0, or -1 on anything else. */
int dsn_ret_parse(const char *s, enum smtp_ret *ret_r)
	__attribute__((warn_unused_result));

/* Appends the whole notice to out. Refuses (-1, *error_r static or valid
 * until the next call, out unchanged) the null sender, a sender or
 * address with controls or invalid UTF-8 or longer than DSN_ADDR_MAX, a
 * bad host name or token, a malformed status or one whose class does not
 * fit the action, an action that does not fit the kind, no recipients or
 * more than DSN_RCPT_MAX, and a notice that would pass out->max. info_r
 * (may be NULL) says how the notice must be sent. */
int dsn_compose(const struct dsn_notice *n, struct buf *out,
		struct dsn_info *info_r, const char **error_r)
	__attribute__((warn_unused_result));

/* The Action: word ("failed", ...) of an action. */
const char *dsn_action_name(enum dsn_action action);

#endif
