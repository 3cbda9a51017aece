/* dsn_impl.h: what lib/dsn.c and lib/dsn_check.c share (not part of the
 * interface; lib/dsn.h is). */
#ifndef SUREL_DSN_IMPL_H
#define SUREL_DSN_IMPL_H
#include <stdbool.h>
#include "dsn.h"

/* Per action: its name in the delivery-status part, the kind of notice
 * it belongs to, the status classes it allows, and the words the text
 * part uses when the recipient has no diagnostic. */
struct dsn_action_info {
	const char *name;
	enum dsn_kind kind;
	const char *classes;
	const char *reason;
};
extern const struct dsn_action_info dsn_actions[DSN_ACTION_COUNT];

/* NULL when notice n can be composed, else why not; *wide set when an
 * address in it is non-ASCII (SMTPUTF8 mode). */
const char *dsn_check_notice(const struct dsn_notice *n, bool *wide);
/* The same for recipient r of n (its action fits n's kind, its status
 * that action); *wide set as above. */
const char *dsn_check_rcpt(const struct dsn_notice *n,
			   const struct dsn_rcpt *r, bool *wide);

/* s is 1..max octets of letters, digits and the octets in extra. */
bool dsn_all_of(const char *s, size_t max, const char *extra);
/* 1 when address s holds non-ASCII, 0 when not, -1 when unfit for a
 * header (empty, too long, a control, invalid UTF-8). */
int dsn_addr_check(const char *s);
#endif
