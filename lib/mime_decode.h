/* mime_decode: RFC 2047 encoded words in header text, decoded to UTF-8 for
 * SEARCH on headers (and anything else that shows a header to a human).
 * Pure apart from iconv(3), which is used only for charsets not handled
 * natively (utf-8, us-ascii, iso-8859-1 are).
 *
 *   encoded-word = "=?" charset ["*" language] "?" ("B"/"Q") "?" text "?="
 *
 * - B: base64 (missing final padding tolerated); Q: "_" is a space, "=XX"
 *   a hex octet, other printable ASCII as is.
 * - The decoded octets are converted from the charset to UTF-8; a word
 *   that does not decode, is not valid in its charset (UTF-8 checked,
 *   US-ASCII 7-bit only), names a charset iconv does not know, or is
 *   malformed in any way is copied as is.
 * - Linear white space between two adjacent encoded words is dropped;
 *   all other text is copied unchanged (it is not itself validated).
 * - The result may hold any octet the sender encoded (NUL, CR, LF
 *   included): use out->len.
 * The input should be unfolded (mime_header_unfold()), though folding
 * white space between encoded words is dropped like any other. */
#ifndef SUREL_MIME_DECODE_H
#define SUREL_MIME_DECODE_H
#include <stddef.h>
#include "buf.h"

/* Appends the decoded form of in[0..len) to out. Returns 0, or -1 with
 * *error_r (static) when out's maximum would be passed; out then holds a
 * partial result (the caller decides: a SEARCH treats it as no match). */
int mime_decode_header(const char *in, size_t len, struct buf *out,
		       const char **error_r)
	__attribute__((warn_unused_result));

#endif
