/* header_qualify: the address fields of a locally submitted message with
 * their unqualified addresses completed, as Postfix's cleanup rewrites
 * the headers of local mail (append_at_myorigin): "To: carol" becomes
 * "To: carol@example.com", so that readers and their replies see whole
 * addresses.
 *
 * Fields: From, Sender, Reply-To, To, Cc, Bcc, their Resent- forms,
 * Errors-To, Return-Receipt-To, Disposition-Notification-To,
 * Mail-Followup-To and Mail-Reply-To (matched case-insensitively). In
 * them, an address without "@" that is a valid local part (checked as
 * local@domain, UTF-8 allowed) gets "@domain" written right after it;
 * everything else (display names, comments, folding, groups) stays
 * octet for octet. A field whose address list does not parse is left as
 * it is: the message still goes. */
#ifndef SUREL_HEADER_QUALIFY_H
#define SUREL_HEADER_QUALIFY_H
#include <stddef.h>
#include "buf.h"

#define HEADER_QUALIFY_MAX 1000	/* completions per field, at most */

/* Appends hdr[0..len) (a header section, LF line ends, every line a
 * field start or a continuation) to out with the completions. 0, or -1
 * when out's maximum is reached. */
int header_qualify(struct buf *out, const char *hdr, size_t len,
		   const char *domain) __attribute__((warn_unused_result));

#endif
