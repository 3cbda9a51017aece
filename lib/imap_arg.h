/* imap_arg: the typed values of a parsed IMAP command (see imap_parser.h,
 * which owns them: a value lives as long as its command), and small typed
 * getters for command handlers. */
#ifndef SUREL_IMAP_ARG_H
#define SUREL_IMAP_ARG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	IMAP_ARG_ATOM = 1,	/* raw, sections included */
	IMAP_ARG_NUMBER,	/* all digits, fits in uint64_t: num */
	IMAP_ARG_NIL,		/* the atom NIL, any case; str as sent */
	IMAP_ARG_STRING,	/* quoted, unescaped */
	IMAP_ARG_LITERAL,	/* {N} or {N+} */
	IMAP_ARG_LITERAL8,	/* ~{N} or ~{N+} */
	IMAP_ARG_LIST
};

struct imap_arg {
	enum imap_arg_type type;
	/* All but LIST: the text (NUL-terminated) and its length. */
	const char *str;
	size_t len;
	uint64_t num;		/* NUMBER */
	bool nonsync;		/* LITERAL, LITERAL8: announced with "+" */
	struct imap_arg *list;	/* LIST: its first element, or NULL */
	size_t list_count;	/* LIST: number of elements */
	struct imap_arg *next;	/* next value at the same level, or NULL */
};

/* Getters for command handlers; each returns false for any other type
 * (and for NULL, the end of a list). An atom: ATOM, NUMBER or NIL. An
 * astring: those or STRING or LITERAL (not LITERAL8). An nstring: STRING,
 * LITERAL, or NIL (then *str_r is NULL and *len_r 0). The strings are the
 * value's own (same lifetime). */
bool imap_arg_get_atom(const struct imap_arg *a, const char **str_r);
bool imap_arg_get_astring(const struct imap_arg *a, const char **str_r,
			  size_t *len_r);
bool imap_arg_get_nstring(const struct imap_arg *a, const char **str_r,
			  size_t *len_r);

#endif
