/* imap_bodystrip: FETCH BODY from FETCH BODYSTRUCTURE (RFC 3501 7.4.2):
 * the same structure without its extension data, derived from the
 * BODYSTRUCTURE text alone, so that a cached BODYSTRUCTURE answers BODY
 * without the message being read or parsed again.
 *
 * Per part, what is kept: for a multipart its parts and subtype; for a
 * basic part type, subtype, parameters, id, description, encoding and
 * size, then the line count of a "text" part, or the envelope, body
 * structure and line count of a "message"/"rfc822" or "message"/"global"
 * part (type and subtype compared case-insensitively); everything after
 * that up to the part's ")" is extension data and is dropped. For the
 * output of imap_bodystructure_write(extended) this gives exactly that of
 * imap_bodystructure_write(!extended).
 *
 * The input is checked as it is read (strings, literals, lists, nesting
 * at most IMAP_BODYSTRIP_DEPTH_MAX body levels and 1000 list levels):
 * anything else is an error, never a crash or a read past the end. Pure. */
#ifndef SUREL_IMAP_BODYSTRIP_H
#define SUREL_IMAP_BODYSTRIP_H
#include <stddef.h>
#include "buf.h"

#define IMAP_BODYSTRIP_DEPTH_MAX 100

/* Appends the BODY form of the BODYSTRUCTURE bs[0..len) to out. 0, or -1
 * when bs is not a body structure or out's maximum would be passed (out
 * is then as it was). */
int imap_bodystrip(const char *bs, size_t len, struct buf *out)
	__attribute__((warn_unused_result));

#endif
