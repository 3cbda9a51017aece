/* utf8: strict UTF-8 (RFC 3629) one character at a time: shortest forms
 * only, no surrogates, nothing past U+10FFFF. Pure functions: no
 * allocation, no logging. One decoder for every module that reads or
 * checks UTF-8 (addresses, mailbox names, MIME text, SEARCH folding). */
#ifndef SUREL_UTF8_H
#define SUREL_UTF8_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length (1 to 4) of the valid UTF-8 sequence that starts s[0..len),
 * with its code point in *cp_r (cp_r may be NULL); 0 when s does not
 * start with one (len 0, a stray continuation octet, an overlong form, a
 * surrogate, a value past U+10FFFF or a truncated sequence). */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_r);

/* True if s[0..len) is valid UTF-8 from end to end (NUL allowed: check
 * for it separately where it matters). */
bool utf8_valid(const char *s, size_t len);

/* Writes the UTF-8 form of cp (a Unicode scalar value: not a surrogate,
 * at most U+10FFFF) to out, which has room for 4 octets; returns its
 * length (1 to 4). */
size_t utf8_encode(uint32_t cp, char *out);

#endif
