/* json_out: JSON (RFC 8259) text output into a buf, for the operator
 * tools' machine-readable listings (surelqueue -j).
 *
 * Strings: the value is written between double quotes; '"' and '\\' are
 * escaped, control characters (U+0000..U+001F, U+007F) become \uXXXX (with
 * the short forms \n \r \t \b \f), and valid UTF-8 is copied as is, so
 * an SMTPUTF8 address stays readable. Octets that are not valid UTF-8
 * (the queue holds what clients sent) become U+FFFD, one per octet: the
 * output is always valid UTF-8 and so valid JSON.
 *
 * Every function returns 0, or -1 when the buffer's maximum would be
 * passed (the buffer then holds a partial value; the caller discards
 * it). */
#ifndef SUREL_JSON_OUT_H
#define SUREL_JSON_OUT_H
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

/* "value" (the first len octets of s; NUL octets are escaped too). */
int json_out_string(struct buf *b, const char *s, size_t len)
	__attribute__((warn_unused_result));
/* "name": followed by the string value (C strings). */
int json_out_member_str(struct buf *b, const char *name, const char *value)
	__attribute__((warn_unused_result));
/* "name": followed by an unsigned number. */
int json_out_member_u64(struct buf *b, const char *name, uint64_t value)
	__attribute__((warn_unused_result));
/* "name": true / false. */
int json_out_member_bool(struct buf *b, const char *name, int value)
	__attribute__((warn_unused_result));

#endif
