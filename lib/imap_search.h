/* imap_search: the arguments of SEARCH and UID SEARCH (RFC 3501 6.4.4,
 * RFC 9051 6.4.4) parsed into a search program: a tree of typed keys for
 * the matching engine of the mail store. Pure: no I/O, no globals, no
 * matching. Input is the argument list of imap_parser (imap_arg.h) after
 * the command name ("SEARCH"; after "UID SEARCH" the caller skips both).
 *
 *   search  = [RETURN SP "(" [opt *(SP opt)] ")" SP]   ; ESEARCH, RFC 4731
 *             [CHARSET SP astring SP] key *(SP key)
 *   opt     = MIN / MAX / ALL / COUNT / SAVE           ; SAVE: RFC 5182
 *
 * Keys: every one of RFC 3501, plus MODSEQ with its optional entry name and
 * type (CONDSTORE, RFC 7162), OLDER/YOUNGER (WITHIN, RFC 5032),
 * SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED (SAVEDATE, RFC 8514) and
 * "$" (SEARCHRES, RFC 5182) as a sequence set or UID set. Key names are
 * case-insensitive. Dates are RFC 3501 "date" (d-Mon-yyyy, quoted or not),
 * checked against the calendar. Sequence sets are kept as parsed, "*"
 * unresolved (imap_seqset.h): the caller resolves them at match time.
 *
 * Limits: NOT, OR and parentheses nest at most depth_max deep (depth is
 * counted, so recursion is bounded by it); at most keys_max keys in all
 * (each NOT, OR and group counts); a sequence set has at most ranges_max
 * ranges. Exceeding one is a specific error, never a truncation.
 *
 * The program owns copies of every string (NUL-terminated, len excludes
 * it; a literal may hold NULs) and its sequence sets: it does not depend on
 * the command it came from. imap_search_program_free() frees everything
 * without recursion. */
#ifndef SUREL_IMAP_SEARCH_H
#define SUREL_IMAP_SEARCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap_arg.h"
#include "imap_seqset.h"

enum imap_search_key_type {
	/* No argument. */
	IMAP_SEARCH_ALL = 1,
	IMAP_SEARCH_ANSWERED,
	IMAP_SEARCH_DELETED,
	IMAP_SEARCH_DRAFT,
	IMAP_SEARCH_FLAGGED,
	IMAP_SEARCH_NEW,
	IMAP_SEARCH_OLD,
	IMAP_SEARCH_RECENT,
	IMAP_SEARCH_SEEN,
	IMAP_SEARCH_UNANSWERED,
	IMAP_SEARCH_UNDELETED,
	IMAP_SEARCH_UNDRAFT,
	IMAP_SEARCH_UNFLAGGED,
	IMAP_SEARCH_UNSEEN,
	IMAP_SEARCH_SAVEDATESUPPORTED,
	/* str: an astring (a keyword for KEYWORD and UNKEYWORD). */
	IMAP_SEARCH_BCC,
	IMAP_SEARCH_BODY,
	IMAP_SEARCH_CC,
	IMAP_SEARCH_FROM,
	IMAP_SEARCH_SUBJECT,
	IMAP_SEARCH_TEXT,
	IMAP_SEARCH_TO,
	IMAP_SEARCH_KEYWORD,
	IMAP_SEARCH_UNKEYWORD,
	/* field and str. */
	IMAP_SEARCH_HEADER,
	/* date. */
	IMAP_SEARCH_BEFORE,
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_SAVEDBEFORE,
	IMAP_SEARCH_SAVEDON,
	IMAP_SEARCH_SAVEDSINCE,
	/* num: octets (32-bit), or seconds (non-zero, 32-bit). */
	IMAP_SEARCH_LARGER,
	IMAP_SEARCH_SMALLER,
	IMAP_SEARCH_OLDER,
	IMAP_SEARCH_YOUNGER,
	/* num (0 .. 2^63-1), and field/modseq_type when given. */
	IMAP_SEARCH_MODSEQ,
	/* set: message numbers (a bare set) or UIDs; set.saved for "$". */
	IMAP_SEARCH_SEQSET,
	IMAP_SEARCH_UID,
	/* child: NOT one key; OR two (child, child->next); AND a group of
	   one or more (parentheses, and the program's top level). */
	IMAP_SEARCH_NOT,
	IMAP_SEARCH_OR,
	IMAP_SEARCH_AND,
	IMAP_SEARCH_KEY_COUNT
};

enum imap_search_modseq_type {
	IMAP_SEARCH_MODSEQ_NONE = 0,	/* no entry name given */
	IMAP_SEARCH_MODSEQ_PRIV,
	IMAP_SEARCH_MODSEQ_SHARED,
	IMAP_SEARCH_MODSEQ_ALL
};

struct imap_search_date {
	uint16_t year;		/* 0000..9999 as sent */
	uint8_t month;		/* 1..12 */
	uint8_t day;		/* 1..31, valid for month and year */
};

struct imap_search_key {
	enum imap_search_key_type type;
	const char *str;	/* owned; NULL when the type has none */
	size_t len;
	const char *field;	/* HEADER: field name; MODSEQ: entry name
				   ("/flags/\\Seen") or NULL */
	enum imap_search_modseq_type modseq_type;
	uint64_t num;
	struct imap_search_date date;
	struct imap_seqset set;	/* owned */
	struct imap_search_key *child;
	struct imap_search_key *next;	/* next key at the same level */
	struct imap_search_key *alloc_next;	/* private: every key */
};

/* ESEARCH return options (RFC 4731, RFC 5182). */
#define IMAP_SEARCH_RETURN_MIN 0x01u
#define IMAP_SEARCH_RETURN_MAX 0x02u
#define IMAP_SEARCH_RETURN_ALL 0x04u
#define IMAP_SEARCH_RETURN_COUNT 0x08u
#define IMAP_SEARCH_RETURN_SAVE 0x10u

struct imap_search_program {
	struct imap_search_key *root;	/* AND of the top-level keys */
	bool has_return;	/* RETURN given: reply with ESEARCH */
	unsigned return_opts;	/* IMAP_SEARCH_RETURN_*; "RETURN ()" is
				   ALL */
	bool has_charset;	/* CHARSET given (UTF-8 or US-ASCII) */
	size_t key_count;	/* keys in the tree, root included */
	unsigned depth;		/* deepest NOT/OR/group nesting seen */
	struct imap_search_key *alloc;	/* private: every key, by
					   alloc_next, for freeing */
};

struct imap_search_limits {
	unsigned depth_max;	/* nesting of NOT, OR and groups */
	size_t keys_max;	/* > 0 */
	size_t ranges_max;	/* per sequence set, > 0 */
};

enum imap_search_error {
	IMAP_SEARCH_ERR_NONE = 0,
	IMAP_SEARCH_ERR_SYNTAX,	/* "tag BAD <text>" */
	IMAP_SEARCH_ERR_BADCHARSET,	/* "tag NO [BADCHARSET (UTF-8
					   US-ASCII)] <text>" */
	IMAP_SEARCH_ERR_TOO_DEEP,	/* BAD */
	IMAP_SEARCH_ERR_TOO_MANY_KEYS,	/* BAD */
	IMAP_SEARCH_ERR_COUNT
};

/* Parses args (the first argument after SEARCH; NULL for none, which is
 * an error) into a new *prog_r owned by the caller. Returns 0, or -1 with
 * *code_r and *error_r (a static line of text for the reply) set and
 * *prog_r NULL. */
int imap_search_parse(const struct imap_arg *args,
		      const struct imap_search_limits *limits,
		      struct imap_search_program **prog_r,
		      enum imap_search_error *code_r, const char **error_r)
	__attribute__((warn_unused_result));

void imap_search_program_free(struct imap_search_program **prog);

/* The key's name as in the RFC ("ALL", "SEQSET" for a bare set, "AND" for
 * a group), or "?" for a value out of range. */
const char *imap_search_key_name(enum imap_search_key_type type);

#endif
