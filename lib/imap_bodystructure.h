/* imap_bodystructure: the FETCH BODYSTRUCTURE and BODY items (RFC 3501
 * 7.4.2, RFC 9051 7.5.2) of a message, from the message's octets and its
 * mime tree (lib/mime.h).
 *
 * What is written, per part:
 *   - basic: (type subtype params id description encoding size), with
 *     lines after size for a text part, and for message/rfc822 and
 *     message/global the embedded message's envelope (imap_envelope),
 *     body structure and lines;
 *   - multipart: (part part ... subtype); a multipart with no parts (no
 *     boundary, or not looked into past a limit) gets one empty part
 *     ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0), as the
 *     grammar needs one, and a message/rfc822 not looked into gets that
 *     as its body, with the envelope of the header at the start of its
 *     body;
 *   - with extension data (BODYSTRUCTURE, not BODY): md5 disposition
 *     language location for a basic part, params disposition language
 *     location for a multipart. Disposition is (type params) or NIL;
 *     language a list of the Content-Language tags, or NIL.
 * Type, subtype, encoding, disposition and parameter names are written
 * lower-case, as the mime tree holds them (they are case-insensitive;
 * Dovecot keeps the message's case, clients must not care). Parameter
 * values are as written. A text part without a charset parameter gets
 * ("charset" "us-ascii") added, the RFC 2045 default (as Dovecot does).
 * Sizes are the octets a client receives: each LF in the body that no CR
 * precedes counts 2 (the Maildir file's LF is sent as CRLF). Lines are the
 * tree's body_lines.
 *
 * Recursion follows the tree: its depth is bounded by the parse's
 * depth_max. Strings are written with imap_string (flags:
 * IMAP_STRING_UTF8). */
#ifndef SUREL_IMAP_BODYSTRUCTURE_H
#define SUREL_IMAP_BODYSTRUCTURE_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "mime.h"

/* Appends the body structure of msg (parsed from data[0..len), which must
 * be the same octets) to out: with extension data when extended
 * (BODYSTRUCTURE), without (BODY). Returns 0, or -1 with *error_r (static)
 * when out's maximum would be passed; out may then hold part of it. */
int imap_bodystructure_write(struct buf *out, const char *data, size_t len,
			     const struct mime_message *msg, bool extended,
			     unsigned flags, const char **error_r)
    __attribute__((warn_unused_result));

/* Octets of data[0..len) as sent with CRLF line ends. */
size_t imap_bodystructure_crlf_size(const char *data, size_t len);

#endif
