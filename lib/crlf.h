/* crlf: a Maildir file's octets (LF line ends) as IMAP and POP3 clients
 * get them (CRLF), at memory speed: SSE2 where the CPU has it (every
 * x86-64), a plain loop elsewhere, the same results. Pure.
 *
 * The rule, everywhere in surel: each LF that no CR precedes is sent as
 * CRLF; every other octet as it is, except that a NUL may be sent as 0x80
 * (an IMAP literal cannot carry NUL; Dovecot does the same). Data may be
 * converted in pieces: each piece says whether the octet before it was
 * CR. */
#ifndef SUREL_CRLF_H
#define SUREL_CRLF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The octets data[0..len) becomes (*size_r), and whether it holds a NUL
 * (*nul_r). */
void crlf_measure(const char *data, size_t len, uint64_t *size_r,
		  bool *nul_r);

/* The LFs in data[0..len) (*lf_r) and those of them that no CR precedes
 * (*bare_r; the octet before data counts as not CR), in one pass: a
 * body's line count and its size with CRLF line ends (len + *bare_r)
 * together. */
void crlf_count(const char *data, size_t len, uint64_t *lf_r,
		uint64_t *bare_r);

/* Converts src[0..len) into dst, which must have room for 2 * len octets
 * (they must not overlap). after_cr: the octet before src was CR (a
 * piece's first LF then stays alone). nul_to_8bit: NUL becomes 0x80.
 * Returns the octets written. */
size_t crlf_convert(char *dst, const char *src, size_t len, bool after_cr,
		    bool nul_to_8bit);

#endif
