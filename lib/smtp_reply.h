/* smtp_reply: the SMTP client's parser of a server's replies (RFC 5321
 * section 4.2, enhanced status codes of RFC 2034/3463), the EHLO keyword
 * list (RFC 5321 4.1.1.1 and the extensions' RFCs) and the classification
 * of a reply into OK / temporary / permanent. Pure: no I/O, no globals.
 * An explicit state machine fed bytes in any pieces: one byte at a time
 * gives the same result as a whole reply.
 *
 * Grammar accepted:
 *   reply = *(code "-" text EOL) code [SP text] EOL
 *   code  = %x32-35 %x30-35 DIGIT      (200 to 559; 1yz and 6yz refused)
 *   EOL   = CRLF, or a bare LF: tolerated like Postfix's smtp client does,
 *           because servers behind broken gateways send it and refusing it
 *           would defer mail for no gain (a reply is never relayed on).
 * - Every line of a reply carries the same code ("mixed reply codes").
 * - The text may hold TAB, printable ASCII and 8-bit octets. NUL and a CR
 *   not directly before LF are refused (they would truncate or split the
 *   text in a log or a bounce). In the stored text, every other control
 *   octet and every octet that is not valid UTF-8 is replaced by '?', so
 *   that the text is safe for a log line and a bounce (like Postfix's
 *   printable()).
 * - Limits, fixed at creation: line_max octets per line (the RFC says 512
 *   with CRLF; be tolerant, e.g. 4096), lines_max lines per reply, and
 *   total_max octets per reply (line ends included). Passing one is an
 *   error at the octet that passes it, never a truncation.
 *
 * Errors are fatal: after a malformed reply the client cannot know where
 * the next one starts, so it must hang up (and treat the attempt as a
 * temporary failure, e.g. 4.4.2 or 4.5.0 as it sees fit). Every later feed
 * returns the same error until smtp_reply_parser_reset(). The error text
 * starts with "malformed reply: " and may quote the start of the bad line
 * (sanitised as above), ready for a log line or a bounce.
 *
 * Enhanced status code: "X.Y.Z" (X 2, 4 or 5; Y and Z 1 to 3 digits)
 * followed by SP or the end of the line, at the start of a line's text,
 * with X equal to the first digit of the reply code. It is taken from the
 * first line that carries one (RFC 2034 wants it on every line; servers
 * differ, so later lines are not checked against it). One whose class
 * differs from the code's ("250 5.1.1") is not an enhanced code (RFC 3463
 * section 2): it stays part of the text and the reply has none. */
#ifndef SUREL_SMTP_REPLY_H
#define SUREL_SMTP_REPLY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "X.YYY.ZZZ" and its NUL. */
#define SMTP_REPLY_STATUS_SIZE 10

/* Fixed at creation; all must be > 0. */
struct smtp_reply_limits {
	size_t line_max;	/* octets of a line, its CRLF or LF excluded */
	size_t lines_max;	/* lines of one reply */
	size_t total_max;	/* octets of one reply, line ends included */
};

struct smtp_reply {
	unsigned code;		/* 200 to 559 */
	/* The enhanced status code as sent ("5.1.1"), or "" when none. */
	char status[SMTP_REPLY_STATUS_SIZE];
	size_t line_count;	/* >= 1 */
	/* The text of each line after "CCC-" / "CCC " ("" for a bare
	 * "CCC"), the enhanced code left in place, sanitised. */
	const char *const *lines;
	/* The whole reply as one line for a log or a bounce (as Postfix
	 * quotes it): the lines, code and separator included, sanitised,
	 * joined by single spaces: "550-5.1.1 No such user 550 5.1.1 Bye". */
	const char *text;
};

struct smtp_reply_parser;

struct smtp_reply_parser *
smtp_reply_parser_new(const struct smtp_reply_limits *limits);
void smtp_reply_parser_free(struct smtp_reply_parser **p);
/* Forgets any partial reply and a pending error. */
void smtp_reply_parser_reset(struct smtp_reply_parser *p);

/* Feeds data[0..len). Returns
 *   1: a reply is complete: *reply_r is set and *used_r is the number of
 *      octets taken, up to and including the reply's last line end. The
 *      rest of data belongs to the next reply (PIPELINING): feed it again.
 *   0: all of data was taken (*used_r == len); the reply is not complete.
 *  -1: malformed reply; *error_r says why (*used_r octets were taken).
 * *reply_r and *error_r (and every string in them) belong to the parser
 * and stay valid until the next call of _feed, _reset or _free. */
int smtp_reply_parser_feed(struct smtp_reply_parser *p, const void *data,
			   size_t len, size_t *used_r,
			   const struct smtp_reply **reply_r,
			   const char **error_r)
	__attribute__((warn_unused_result));

/* True if s[0..len) starts with an enhanced status code "X.Y.Z" (X 2, 4
 * or 5) followed by SP or the end of s; *code_len_r gets its length. */
bool smtp_reply_status_valid(const char *s, size_t len, size_t *code_len_r);

/* What a reply means to the client. */
enum smtp_reply_class {
	SMTP_REPLY_OK = 0,		/* 2yz */
	SMTP_REPLY_INTERMEDIATE,	/* 3yz: 354 to DATA, 334 to AUTH */
	SMTP_REPLY_TEMPORARY,		/* 4yz */
	SMTP_REPLY_PERMANENT		/* 5yz */
};

/* Classify flags: the reply answers a RCPT TO. RFC 5321 4.5.3.1.10: a 552
 * to RCPT (too many recipients, from RFC 821 days) is treated as 452, a
 * temporary failure, with the enhanced code's class made 4 (as Postfix
 * does). */
#define SMTP_REPLY_FLAG_RCPT 0x1

struct smtp_reply_result {
	enum smtp_reply_class class;
	unsigned code;		/* the code, 552 -> 452 adjusted per flags */
	/* The server's enhanced code, or the default when it gave none:
	 * "2.0.0", "4.0.0" or "5.0.0" by the code's first digit, as Postfix
	 * does (a basic code does not determine the subject: RFC 5248 lists
	 * 552 under 5.2.2 and 5.3.4 alike, so a guess would mislead the
	 * bounce reader). "" for 3yz replies, which have none. */
	char status[SMTP_REPLY_STATUS_SIZE];
};

void smtp_reply_classify(const struct smtp_reply *reply, unsigned flags,
			 struct smtp_reply_result *result_r);

/* EHLO capabilities (RFC 5321 4.1.1.1; keywords case-insensitive). */
#define SMTP_EXT_PIPELINING 0x001	/* RFC 2920 */
#define SMTP_EXT_SIZE 0x002		/* RFC 1870 */
#define SMTP_EXT_8BITMIME 0x004		/* RFC 6152 */
#define SMTP_EXT_SMTPUTF8 0x008		/* RFC 6531 */
#define SMTP_EXT_STARTTLS 0x010		/* RFC 3207 */
#define SMTP_EXT_CHUNKING 0x020		/* RFC 3030 */
#define SMTP_EXT_DSN 0x040		/* RFC 3461 */
#define SMTP_EXT_ENHANCEDSTATUSCODES 0x080	/* RFC 2034 */
#define SMTP_EXT_AUTH 0x100		/* RFC 4954 */

/* The AUTH mechanism list's longest form, NUL excluded. */
#define SMTP_EHLO_AUTH_MAX 255
/* RFC 4422 section 3.1: a mechanism name is 1 to 20 of [A-Z0-9-_]. */
#define SMTP_EHLO_MECH_MAX 20

struct smtp_ehlo {
	unsigned ext;		/* SMTP_EXT_* bits */
	/* SIZE's parameter; 0 when absent, 0, or not a number (no limit
	 * known). RFC 1870: 0 means no fixed maximum. */
	uint64_t size_max;
	/* The AUTH (and old-style "AUTH=") mechanisms, upper-cased,
	 * deduplicated, separated by single spaces, in the order offered
	 * ("PLAIN LOGIN"); the form SASL libraries take. Names that are not
	 * valid mechanism names are skipped; so are those that would make
	 * the list pass SMTP_EHLO_AUTH_MAX. */
	char auth[SMTP_EHLO_AUTH_MAX + 1];
};

/* Reads the keywords of an EHLO reply: lines 2 and on (the first line is
 * the server's domain and greeting, not a keyword). Unknown keywords and
 * ill-formed lines are ignored (an extension we do not use cannot hurt).
 * Returns 0, or -1 with *error_r (static) when reply->code is not 250. */
int smtp_reply_ehlo_parse(const struct smtp_reply *reply,
			  struct smtp_ehlo *ehlo_r, const char **error_r)
	__attribute__((warn_unused_result));
/* True if mech (any case) is in ehlo->auth. */
bool smtp_reply_ehlo_has_auth(const struct smtp_ehlo *ehlo, const char *mech);

#endif
