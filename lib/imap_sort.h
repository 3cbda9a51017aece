/* imap_sort: the pure algorithms of SORT (RFC 5256, with SORT=DISPLAY of
 * RFC 5957): base subjects (also for THREAD), the sort keys of address
 * fields, the sort criteria and their ordering. No I/O, no
 * globals. THREAD itself is lib/imap_thread. Strings are compared with
 * the i;unicode-casemap fold of lib/imap_casemap (ASCII as
 * i;ascii-casemap would, like Dovecot beyond ASCII). */
#ifndef SUREL_IMAP_SORT_H
#define SUREL_IMAP_SORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "imap_arg.h"

/* ---- base subject (RFC 5256 2.1) ---- */

/* Appends the base subject of a Subject: field value (value[0..len),
 * folded or not; NULL/0 for a message without one): RFC 2047 words
 * decoded to UTF-8, tabs and line ends made spaces, runs of spaces made
 * one, then the subj-trailer, subj-leader, subj-blob and subj-fwd rules
 * applied until none does. Not case-folded (the caller folds it for
 * comparisons). A blob may hold 8-bit text (as Dovecot allows; the ABNF
 * says CHAR). *reply_r (may be NULL) is set when a "Re:"/"Fw:"/"Fwd:"
 * leader, a "(fwd)" trailer or a "[fwd: ...]" wrapper was removed: the
 * message is a reply or forward for THREAD. 0, or -1 when out's maximum
 * would be passed. */
int imap_sort_base_subject(const char *value, size_t len, struct buf *out,
			   bool *reply_r) __attribute__((warn_unused_result));

/* ---- address keys ---- */

enum imap_sort_addr_kind {
	IMAP_SORT_ADDR_MAILBOX,	/* FROM, TO, CC: the first address's
				   addr-mailbox (local part) */
	IMAP_SORT_ADDR_DISPLAY	/* DISPLAYFROM, DISPLAYTO: its display
				   name, RFC 2047 decoded, or when it has
				   none "mailbox@host" */
};

/* Appends the key of an address field's value (folded or not; NULL/0:
 * no field, the empty key), not case-folded. Addresses are read as
 * ENVELOPE reads them (lib/imap_envelope); group names are not
 * addresses. 0 or -1 (out full). */
int imap_sort_address_key(const char *value, size_t len,
			  enum imap_sort_addr_kind kind, struct buf *out)
	__attribute__((warn_unused_result));

/* ---- sort criteria ---- */

enum imap_sort_key {
	IMAP_SORT_ARRIVAL = 0,	/* INTERNALDATE */
	IMAP_SORT_CC,
	IMAP_SORT_DATE,		/* sent date (UTC), else INTERNALDATE */
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,		/* RFC822.SIZE */
	IMAP_SORT_SUBJECT,	/* base subject */
	IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM,
	IMAP_SORT_DISPLAYTO,
	IMAP_SORT_KEY_COUNT
};

/* Criteria in one SORT command (RFC 5256 allows repeats; more say
 * nothing new). */
#define IMAP_SORT_CRITERIA_MAX 16

struct imap_sort_criterion {
	enum imap_sort_key key;
	bool reverse;
};

/* Parses the parenthesised list of sort criteria (arg must be a LIST:
 * "(REVERSE DATE SUBJECT)"). display: accept DISPLAYFROM/DISPLAYTO.
 * Returns the number of criteria (>= 1), or -1 with *error_r (static,
 * for a BAD reply). */
int imap_sort_criteria_parse(const struct imap_arg *arg, bool display,
			     struct imap_sort_criterion *crit,
			     const char **error_r)
	__attribute__((warn_unused_result));

/* Whether the key's value is a string (else a number). */
bool imap_sort_key_is_string(enum imap_sort_key key);

/* One message to sort: its values, one per criterion (in criterion
 * order): str/len for string keys (folded with imap_casemap_fold),
 * num for the others. */
struct imap_sort_value {
	const char *str;
	size_t len;
	int64_t num;
};

struct imap_sort_item {
	uint32_t seq;		/* message sequence number: the last tie
				   breaker (RFC 5256) */
	uint32_t id;		/* written in the reply (seq or UID) */
	const struct imap_sort_value *values;
};

/* Sorts items[0..count) by the criteria, then by seq. */
void imap_sort_items(struct imap_sort_item *items, size_t count,
		     const struct imap_sort_criterion *crit, size_t ncrit);

#endif
