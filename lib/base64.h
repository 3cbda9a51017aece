/* base64: the RFC 4648 section 4 alphabet, strictly. The encoder always
 * pads; the decoder takes only canonical input: no white space, no line
 * breaks, padding required (length a multiple of 4), '=' only at the end,
 * and the unused bits of the last group zero, so that every byte string
 * has exactly one accepted encoding. Pure functions: no allocation, no
 * logging. Used for SASL (AUTH PLAIN) and anything else on the wire. */
#ifndef SUREL_BASE64_H
#define SUREL_BASE64_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Characters base64_encode writes for len input bytes, without the NUL;
 * SIZE_MAX if that would overflow. */
size_t base64_encoded_len(size_t len);
/* The most bytes base64_decode can produce from b64_len characters. */
size_t base64_decoded_max(size_t b64_len);

/* The value (0 to 63) of c in the RFC 4648 section 4 alphabet, or -1
 * for any other octet ('=' included). For decoders with other rules
 * (lenient MIME bodies, IMAP's modified UTF-7). */
int base64_value(unsigned char c);

/* Encodes len bytes of data into out (size outsize) with a terminating
 * NUL. Returns the encoded length, or -1 (out set to "" when outsize > 0)
 * if out is too small: never truncates. */
ssize_t base64_encode(const void *data, size_t len, char *out, size_t outsize)
	__attribute__((warn_unused_result));

/* Decodes b64_len characters of b64 into out (size outsize; no NUL is
 * added, the result may hold NULs). Returns the decoded length, or -1
 * with *error_r (static) for: a length that is not a multiple of 4, a
 * character outside the alphabet, misplaced padding, non-zero padding
 * bits, or an out too small. On -1 the contents of out are undefined
 * (wiped as far as written). */
ssize_t base64_decode(const char *b64, size_t b64_len, void *out,
		      size_t outsize, const char **error_r)
	__attribute__((warn_unused_result));

#endif
