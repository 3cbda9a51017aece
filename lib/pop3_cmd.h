/* pop3_cmd: parser of one POP3 command line (RFC 1939, with CAPA of
 * RFC 2449, STLS of RFC 2595 and AUTH of RFC 5034). Pure: no I/O, no
 * globals, no policy. It gets the line without its CRLF and either fills a
 * struct pop3_cmd or returns the complete "-ERR ..." reply the syntax error
 * deserves.
 *
 * Sequence (PASS after USER, STLS once, APOP disabled, plaintext login
 * policy) is the caller's; pop3_cmd_allowed() only says which verbs a
 * POP3 state accepts at all. */
#ifndef SUREL_POP3_CMD_H
#define SUREL_POP3_CMD_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pop3_verb {
	POP3_VERB_UNKNOWN = 0,
	POP3_VERB_USER,
	POP3_VERB_PASS,
	POP3_VERB_APOP,
	POP3_VERB_QUIT,
	POP3_VERB_STAT,
	POP3_VERB_LIST,
	POP3_VERB_RETR,
	POP3_VERB_DELE,
	POP3_VERB_NOOP,
	POP3_VERB_RSET,
	POP3_VERB_TOP,
	POP3_VERB_UIDL,
	POP3_VERB_CAPA,
	POP3_VERB_STLS,
	POP3_VERB_AUTH,
	POP3_VERB_COUNT
};

enum pop3_state {
	POP3_STATE_AUTHORIZATION = 0,
	POP3_STATE_TRANSACTION,
	/* After QUIT in TRANSACTION: nothing more is read. */
	POP3_STATE_UPDATE,
	POP3_STATE_COUNT
};

/* Highest message number (RFC 1939 leaves it open; 2^31-1 keeps it an int
 * for every client). */
#define POP3_MSG_MAX 2147483647u
/* TOP's line count: larger values are clamped to this (any count beyond a
 * message's lines means "the whole body", so clamping changes nothing). */
#define POP3_TOP_LINES_MAX 2147483647u
/* SASL mechanism names: 1..20 of [A-Z0-9-_] (RFC 4422 3.1). */
#define POP3_MECH_MAX 20
/* RFC 2449 4: a command line is at most 255 octets with its CRLF. */
#define POP3_LINE_MAX_DEFAULT 253

/* Fixed at creation. */
struct pop3_cmd_limits {
	size_t line_max;	/* longest line accepted, CRLF excluded */
	size_t arg_max;		/* longest USER / PASS / APOP name */
};

struct pop3_cmd {
	enum pop3_verb verb;
	const char *name;	/* "USER", ..., "unknown" (static) */
	/* USER, APOP: the name; PASS: the rest of the line after "PASS ",
	 * spaces included (may be ""); otherwise "". USER and APOP names
	 * never hold "/" or "..". */
	const char *arg;
	/* APOP: the 32 hex digit digest, lower-cased; otherwise "". */
	const char *digest;
	/* RETR, DELE, TOP; LIST, UIDL when has_msg: 1..POP3_MSG_MAX. */
	bool has_msg;
	uint32_t msg;
	/* TOP: 0..POP3_TOP_LINES_MAX (clamped). */
	uint32_t lines;
	/* AUTH: the mechanism, upper-cased, or NULL for a bare "AUTH" (a
	 * common client probe for the mechanism list); the initial response
	 * as sent (base64 text, or "=" for an empty one), or NULL. */
	const char *mech;
	const char *initial_response;
};

struct pop3_cmd_parser;

struct pop3_cmd_parser *pop3_cmd_parser_new(const struct pop3_cmd_limits *l);
void pop3_cmd_parser_free(struct pop3_cmd_parser **p);

/* Parses line[0..len) (no CRLF; may hold any octet). Returns 0 with
 * *cmd_r filled, or -1 with *error_r the whole reply line to send (no
 * CRLF, starting "-ERR "). cmd_r->verb and ->name are set in both cases
 * (UNKNOWN when the verb itself is not known). The strings in *cmd_r and
 * *error_r live in p until the next call. */
int pop3_cmd_parse(struct pop3_cmd_parser *p, const char *line, size_t len,
		   struct pop3_cmd *cmd_r, const char **error_r)
	__attribute__((warn_unused_result));

/* True if verb is valid in state (RFC 1939 / 2449 / 2595 / 5034);
 * false for UNKNOWN and out-of-range values. */
bool pop3_cmd_allowed(enum pop3_verb verb, enum pop3_state state);

#endif
