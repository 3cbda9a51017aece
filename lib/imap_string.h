/* imap_string: writes IMAP (RFC 3501 / RFC 9051) strings into a struct buf
 * for server responses: NIL, a quoted string ("..." with \ and " escaped),
 * or a literal {n}CRLF... when a quoted string cannot hold the value (CR,
 * LF, NUL, or 8-bit octets). With IMAP_STRING_UTF8 (the client enabled
 * UTF8=ACCEPT), valid UTF-8 goes in a quoted string too (RFC 6855).
 * Every function returns 0, or -1 when out's maximum would be passed (out
 * may then hold part of the string: the caller drops the whole response). */
#ifndef SUREL_IMAP_STRING_H
#define SUREL_IMAP_STRING_H
#include <stddef.h>
#include "buf.h"

#define IMAP_STRING_UTF8 0x1 /* UTF8=ACCEPT is on for the session */

/* s[0..len) as a quoted string or a literal. */
int imap_string_append(struct buf *out, const char *s, size_t len,
		       unsigned flags) __attribute__((warn_unused_result));
/* s (a C string) as a string, or NIL when s is NULL. */
int imap_string_append_nstring(struct buf *out, const char *s, unsigned flags)
    __attribute__((warn_unused_result));

#endif
