/* imap_parser: the IMAP4rev1/rev2 command parser (RFC 3501, RFC 9051, with
 * LITERAL+/LITERAL- of RFC 7888 and literal8 of RFC 3516). Pure: no I/O, no
 * globals. An explicit, iterative state machine fed bytes in any pieces
 * (one at a time gives the same result as a whole command), with every
 * limit fixed at creation. It produces, per command, the tag, the command
 * name (upper-cased) and the arguments as a tree of typed values.
 *
 * Lexing only: which command takes which arguments, sequence sets
 * (imap_seqset.h), FETCH sections (imap_section.h), mailbox names and
 * states are the caller's. Not streamed: a literal is held in memory whole
 * (bounded by literal_max and command_max).
 *
 * Grammar accepted (strict, as the RFCs say):
 *   command = tag SP name *(SP value) CRLF
 *   value   = atom / number / NIL / quoted / literal / literal8 / list
 *   list    = "(" [value *(SP value)] ")"
 * - tag: 1*ASTRING-CHAR except "+"; name: 1*ATOM-CHAR.
 * - atom: ASTRING-CHARs plus the list wildcards "*" and "%" (sequence sets
 *   "1:*", LIST patterns), and a leading "\" (flags). A "[" inside an atom
 *   opens a section: up to its "]" the atom also holds spaces, parentheses
 *   and quotes, so BODY.PEEK[HEADER.FIELDS (A B)]<0.100> is one ATOM, raw.
 *   (An unquoted "[" without "]" is still a plain atom if no space follows
 *   it: "SELECT a[b".) Control characters and 8-bit octets are refused.
 * - quoted: "..." with \" and \\ the only escapes; 8-bit octets kept (for
 *   UTF8=ACCEPT), NUL, CR and LF refused.
 * - literal: {N} (synchronising), {N+} (non-synchronising), ~{N} and ~{N+}
 *   (literal8); {0} is a legal empty literal. The data may hold any octet,
 *   NUL included.
 * - Exactly one SP between values, none after "(" or before ")", none at
 *   the end of the line; lines end in CRLF only (bare LF, bare CR refused).
 *
 * Literals. A synchronising literal announcement makes imap_parser_feed()
 * return IMAP_PARSER_LITERAL right after the announcement's CRLF, before a
 * byte of data: imap_parser_literal_size() tells the size (already checked
 * against the limits). The caller then either
 *   - calls imap_parser_literal_accept() and sends "+ Ready", then feeds the
 *     data as it comes, or
 *   - calls imap_parser_literal_refuse() and sends "tag NO [TOOBIG] ...":
 *     the client sends no data then (it waits for "+"), so the parser drops
 *     the command and the next byte starts a new command.
 * A non-synchronising literal is not reported: the data follows at once.
 *
 * Errors. IMAP_PARSER_ERROR comes with a specific code and text. The tag
 * (if it was complete) names the command for the "tag BAD" reply. Two kinds:
 *   - recoverable (imap_parser_error_fatal() false): the parser skips the
 *     rest of the command by itself on the following feeds (up to the end
 *     of its line, past any {N+} literal data announced on skipped lines,
 *     which are skipped, not stored) and then parses the next command. A
 *     synchronising literal over the limit is such an error, reported at
 *     its "}" (the client waits for "+", which it never gets).
 *   - fatal: the stream cannot be resynchronised (a non-synchronising
 *     literal over the limits, or an announcement of one that went wrong, or
 *     a skipped {N+} over literal_max). The caller sends "* BYE" and closes;
 *     every later feed returns the same error.
 *
 * Memory is bounded by the limits: about command_max bytes of data plus
 * args_max values and depth_max + 1 list frames.
 *
 * Lifetimes. The command, every value and string in it, the tag and the
 * error text belong to the parser and stay valid until the next call of
 * imap_parser_feed(), _reset() or _free(). Every string is NUL-terminated
 * (the NUL is not counted in len); literal data may also hold NULs, so use
 * len for it. */
#ifndef SUREL_IMAP_PARSER_H
#define SUREL_IMAP_PARSER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap_arg.h"

struct imap_command {
	const char *tag;
	const char *name;	/* upper-cased: "UID", "FETCH", ... */
	struct imap_arg *args;	/* first argument, or NULL */
	size_t arg_count;	/* top-level arguments */
	uint64_t size;		/* octets of the command, CRLFs and literals */
};

/* Fixed at creation. All must be > 0 except depth_max (0: no lists). */
struct imap_parser_limits {
	size_t line_max;	/* longest line, CRLF excluded; literal data
				   does not count */
	uint64_t literal_max;	/* largest literal (APPENDLIMIT) */
	uint64_t command_max;	/* whole command: lines, CRLFs, literal data */
	unsigned depth_max;	/* deepest nesting of lists */
	size_t args_max;	/* values in one command, at every depth (a
				   list counts as one besides its elements) */
};

enum imap_parser_result {
	IMAP_PARSER_ERROR = -1,
	IMAP_PARSER_MORE = 0,	/* all input consumed, command incomplete */
	IMAP_PARSER_COMMAND = 1,	/* *cmd_r is ready */
	IMAP_PARSER_LITERAL = 2	/* synchronising literal: accept or refuse */
};

enum imap_parser_error {
	IMAP_PARSER_ERR_NONE = 0,
	IMAP_PARSER_ERR_EMPTY_LINE,	/* "\r\n" alone: no tag */
	IMAP_PARSER_ERR_BAD_TAG,
	IMAP_PARSER_ERR_BAD_COMMAND,	/* missing or bad command name */
	IMAP_PARSER_ERR_BAD_CHAR,	/* octet not allowed in an atom */
	IMAP_PARSER_ERR_SYNTAX,		/* missing/extra space, stray char */
	IMAP_PARSER_ERR_QUOTED_UNTERMINATED,
	IMAP_PARSER_ERR_QUOTED_ESCAPE,	/* "\" not before '"' or "\" */
	IMAP_PARSER_ERR_QUOTED_CHAR,	/* NUL in a quoted string */
	IMAP_PARSER_ERR_LITERAL_SYNTAX,
	IMAP_PARSER_ERR_LITERAL_TOOBIG,	/* over literal_max: [TOOBIG] */
	IMAP_PARSER_ERR_LINE_TOO_LONG,
	IMAP_PARSER_ERR_COMMAND_TOO_LONG,	/* over command_max: [TOOBIG] */
	IMAP_PARSER_ERR_TOO_DEEP,
	IMAP_PARSER_ERR_TOO_MANY_ARGS,
	IMAP_PARSER_ERR_UNBALANCED,	/* ")" without "(", or "(" unclosed */
	IMAP_PARSER_ERR_SECTION,	/* "[" unterminated or nested */
	IMAP_PARSER_ERR_BARE_LF,
	IMAP_PARSER_ERR_BARE_CR,
	IMAP_PARSER_ERR_COUNT
};

struct imap_parser;

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser **p);
/* Forgets any partial command, pending literal, skip or fatal error. */
void imap_parser_reset(struct imap_parser *p);

/* Consumes data[0..size) up to the end of one command (or an error or a
 * literal announcement) and says how far it got in *consumed_r: the rest
 * is for the next call (or, after a command, for the caller: IDLE's DONE,
 * AUTHENTICATE's lines, pipelined input to discard after STARTTLS).
 * Returns an enum imap_parser_result: COMMAND with *cmd_r set; LITERAL;
 * MORE; ERROR with *error_r set (a line of text without CRLF). Must not be
 * called while a literal waits for accept or refuse. */
int imap_parser_feed(struct imap_parser *p, const void *data, size_t size,
		     size_t *consumed_r, const struct imap_command **cmd_r,
		     const char **error_r)
	__attribute__((warn_unused_result));

/* After IMAP_PARSER_LITERAL: the announced size, and whether literal8. */
uint64_t imap_parser_literal_size(const struct imap_parser *p);
bool imap_parser_literal_is8(const struct imap_parser *p);
void imap_parser_literal_accept(struct imap_parser *p);
void imap_parser_literal_refuse(struct imap_parser *p);

/* The tag of the command being parsed (or that failed), or NULL when no
 * complete tag was read. Valid until the next feed. */
const char *imap_parser_tag(const struct imap_parser *p);
/* After IMAP_PARSER_ERROR. */
enum imap_parser_error imap_parser_error_code(const struct imap_parser *p);
bool imap_parser_error_fatal(const struct imap_parser *p);
/* A fixed name per code, "NONE", "BAD_TAG", ... (for logs and tests). */
const char *imap_parser_error_name(enum imap_parser_error code);

#endif
