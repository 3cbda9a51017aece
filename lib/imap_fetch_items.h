/* imap_fetch_items: what a FETCH command asks for, from its parsed
 * arguments after the sequence set (RFC 3501 / RFC 9051 6.4.5, BINARY of
 * RFC 3516, CONDSTORE/QRESYNC of RFC 7162, PREVIEW of RFC 8970, SAVEDATE
 * of RFC 8514, OBJECTID of RFC 8474). Pure: no I/O, no globals.
 *
 *   args      = items [SP "(" preview-mod ")"] [SP modifiers]
 *   items     = "ALL" / "FAST" / "FULL" / att / "(" att *(SP att) ")"
 *   att       = "UID" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" /
 *               "ENVELOPE" / "BODY" / "BODYSTRUCTURE" / "MODSEQ" /
 *               "SAVEDATE" / "EMAILID" / "THREADID" / "RFC822" /
 *               "RFC822.HEADER" / "RFC822.TEXT" /
 *               "PREVIEW" [SP "(" "LAZY" ")"] /
 *               ("BODY" / "BODY.PEEK") section [partial] /
 *               ("BINARY" / "BINARY.PEEK") "[" [part] "]" [partial] /
 *               "BINARY.SIZE" "[" [part] "]"
 *   modifiers = "(" mod *(SP mod) ")"
 *   mod       = "CHANGEDSINCE" SP mod-sequence-valzer / "VANISHED"
 * Names in any case; the macros only stand alone (not in a list, as the
 * grammar says); a list must not be empty; a modifier may appear once.
 * Sections are parsed by imap_section (imap_parser keeps them raw inside
 * the atom). Whether VANISHED is allowed (UID FETCH, QRESYNC enabled,
 * with CHANGEDSINCE) is the caller's to judge: this module only reports
 * that it was given. */
#ifndef SUREL_IMAP_FETCH_ITEMS_H
#define SUREL_IMAP_FETCH_ITEMS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap_arg.h"
#include "imap_section.h"

/* A sensible items_max for servers: no client asks for more. */
#define IMAP_FETCH_ITEMS_MAX 1000

enum imap_fetch_type {
	IMAP_FETCH_UID = 0,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,		/* BODY without a section */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_SAVEDATE,
	IMAP_FETCH_EMAILID,
	IMAP_FETCH_THREADID,
	IMAP_FETCH_PREVIEW,
	IMAP_FETCH_RFC822,		/* = BODY[], answered as RFC822 */
	IMAP_FETCH_RFC822_HEADER,	/* = BODY.PEEK[HEADER] */
	IMAP_FETCH_RFC822_TEXT,		/* = BODY[TEXT] */
	IMAP_FETCH_BODY_SECTION,	/* BODY[...], BODY.PEEK[...] */
	IMAP_FETCH_BINARY,		/* BINARY[...], BINARY.PEEK[...] */
	IMAP_FETCH_BINARY_SIZE,
	IMAP_FETCH_TYPE_COUNT
};
#define IMAP_FETCH_BIT(type) (1u << (type))

struct imap_fetch_item {
	enum imap_fetch_type type;
	/* Sets \Seen: RFC822, RFC822.TEXT, BODY[..] and BINARY[..] without
	 * .PEEK. */
	bool sets_seen;
	/* BODY_SECTION, BINARY, BINARY_SIZE: the section and partial (for
	 * RFC822, RFC822.HEADER and RFC822.TEXT: [], [HEADER], [TEXT]). */
	struct imap_section section;
	/* The name the response gives the item, without the partial's
	 * "<origin>": "FLAGS", "BODY[1.HEADER.FIELDS (FROM TO)]" (keywords
	 * and field names upper-cased, names quoted when they are not
	 * atoms), "BINARY.SIZE[2]". Owned. */
	char *name;
};

struct imap_fetch_items {
	struct imap_fetch_item *items;	/* owned; in the order asked */
	size_t count;
	/* IMAP_FETCH_BIT of each type asked for. The simple items
	 * (UID..PREVIEW) appear once in items even if asked twice. */
	unsigned mask;
	bool sets_seen;		/* some item sets \Seen */
	bool preview_lazy;	/* PREVIEW (LAZY) */
	bool has_changedsince;
	uint64_t changedsince;	/* 0..2^63-1 */
	bool vanished;
};

/* Parses the values from args on (the first value after the sequence
 * set; args->next and so on are the rest of the command) into *items_r,
 * with at most items_max items and fields_max HEADER.FIELDS names per
 * section. Returns 0, or -1 with *error_r a static text for a BAD reply
 * and *items_r empty. Free with imap_fetch_items_deinit(). */
int imap_fetch_items_parse(const struct imap_arg *args, size_t items_max,
			   size_t fields_max, struct imap_fetch_items *items_r,
			   const char **error_r)
	__attribute__((warn_unused_result));
void imap_fetch_items_deinit(struct imap_fetch_items *items);

#endif
