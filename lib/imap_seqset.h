/* imap_seqset: IMAP sequence sets (RFC 9051 sequence-set, with "$" of
 * SEARCHRES, RFC 5182). Pure. Parsing keeps the ranges as written with "*"
 * unresolved; resolving substitutes the caller's current maximum (highest
 * message number or UID) and normalises: sorted, lo <= hi, overlapping and
 * adjacent ranges merged.
 *
 *   set   = "$" / range *("," range)
 *   range = value [":" value]
 *   value = "*" / 1..4294967295 without leading zeros ("0" is invalid)
 *
 * A set owns its range array: imap_seqset_deinit() frees it. */
#ifndef SUREL_IMAP_SEQSET_H
#define SUREL_IMAP_SEQSET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "*" in a parsed, unresolved range (0 is never a valid number). */
#define IMAP_SEQ_STAR 0u

struct imap_seq_range {
	uint32_t lo, hi;
};

struct imap_seqset {
	struct imap_seq_range *ranges;	/* owned; NULL when count is 0 */
	size_t count;
	bool saved;		/* "$": the caller substitutes its saved
				   search result; no ranges */
};

/* Parses s[0..len) with at most ranges_max ranges into *set_r (whose
 * previous contents are not freed). Returns 0, or -1 with *error_r a
 * static text and *set_r empty. */
int imap_seqset_parse(const char *s, size_t len, size_t ranges_max,
		      struct imap_seqset *set_r, const char **error_r)
	__attribute__((warn_unused_result));

/* Writes set with "*" replaced by star, normalised, into *out_r (a new
 * array; set is unchanged). star 0 means an empty mailbox: every range
 * that uses "*" is dropped (it matches nothing). Returns 0, or -1 for a
 * "$" set (the caller must substitute it first). */
int imap_seqset_resolve(const struct imap_seqset *set, uint32_t star,
			struct imap_seqset *out_r)
	__attribute__((warn_unused_result));

/* For a resolved set: whether n is in it (binary search), and how many
 * numbers it holds. */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
uint64_t imap_seqset_total(const struct imap_seqset *set);

void imap_seqset_deinit(struct imap_seqset *set);

#endif
