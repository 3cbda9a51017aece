/* imap_casemap: case-insensitive comparison of UTF-8 text for SEARCH
 * (substrings) and SORT/THREAD (ordering and equality), after the
 * i;unicode-casemap collation of RFC 5051, which Dovecot uses too: every
 * character is mapped to its simple titlecase, decomposed (NFKD), and
 * the result titlecased again. The mapping covers ASCII, Latin-1,
 * Latin Extended-A and -B, IPA, spacing modifiers, combining marks,
 * Greek and Coptic, Cyrillic (and its supplement), Latin Extended
 * Additional and Greek Extended (U+0000..U+052F, U+1E00..U+1FFF); other
 * characters are their own fold. So "strasse" does not match "straße"
 * (simple mappings only), but "cafe" matches "café", "Ǆ" is "DŽ", and
 * Greek and Cyrillic letters match in any case ("ΣΊΣΥΦΟΣ" is
 * "σίσυφος").
 * A no-break space folds to a space.
 *
 * Text should be UTF-8; an octet that is not part of a valid sequence is
 * its own fold (it never equals a valid character). Pure; no allocation
 * beyond the needle's copy and the caller's buffers. */
#ifndef SUREL_IMAP_CASEMAP_H
#define SUREL_IMAP_CASEMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

/* The fold of n octets of text is at most this many times longer. */
#define IMAP_CASEMAP_GROWTH 4

/* Appends the fold of s[0..len) to out. 0, or -1 when out's maximum
 * would be passed (out then holds part of it). */
int imap_casemap_fold(const char *s, size_t len, struct buf *out)
	__attribute__((warn_unused_result));

/* Compares two folded strings: <0, 0, >0 in code point order (RFC 5051
 * orders by the octets of the folded UTF-8). */
int imap_casemap_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* A search string prepared once for many texts. */
struct imap_casemap_needle {
	char *folded;		/* owned */
	size_t len;
	bool ascii;		/* the fold is all ASCII */
	uint64_t ascii_set[2];	/* the fold's ASCII octets, as bits */
	unsigned char first_mask, first_want;	/* the vector search's */
	unsigned char last_mask, last_want;	/* comparisons */
	uint64_t relevant[27];	/* ASCII needles: the characters of the
				 * table whose fold adds a needle octet */
};

/* Prepares the fold of s[0..len) (an empty string matches every text). */
void imap_casemap_needle_init(struct imap_casemap_needle *n, const char *s,
			      size_t len);
void imap_casemap_needle_deinit(struct imap_casemap_needle *n);

/* Whether the fold of text[0..len) contains the needle. An ASCII needle
 * is looked for in the text itself (sixteen positions at a time, ASCII
 * case folded on the fly); when that fails, only the stretches around
 * characters whose fold adds one of the needle's octets are folded
 * (into scratch) and searched. Other needles need the whole fold.
 * scratch is reset first; its maximum is the caller's (len *
 * IMAP_CASEMAP_GROWTH always does). 1 found, 0 not, -1 scratch too
 * small. */
int imap_casemap_find(const struct imap_casemap_needle *n, const char *text,
		      size_t len, struct buf *scratch)
	__attribute__((warn_unused_result));

/* The same for octets that should be UTF-8 but were not checked: -2 when
 * the answer would depend on an octet that is not (the caller converts
 * the text, lib/mime_body, and searches that). A match of an ASCII
 * needle in the octets themselves is a match whatever they are. */
int imap_casemap_find_utf8(const struct imap_casemap_needle *n,
			   const char *text, size_t len, struct buf *scratch)
	__attribute__((warn_unused_result));

/* The same in already folded text. */
bool imap_casemap_find_folded(const struct imap_casemap_needle *n,
			      const char *folded, size_t len);

#endif
