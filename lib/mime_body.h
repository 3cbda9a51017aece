/* mime_body: the decoded content of a MIME part (RFC 2045): the
 * Content-Transfer-Encoding undone (for IMAP BINARY, RFC 3516, and for
 * SEARCH BODY/TEXT), and text turned into UTF-8 from its charset (for
 * SEARCH and PREVIEW). Pure apart from iconv(3). */
#ifndef SUREL_MIME_BODY_H
#define SUREL_MIME_BODY_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "mime.h"

/* Appends body[0..len) with its transfer encoding undone: "base64"
 * (characters outside the alphabet skipped, as RFC 2045 says; a "="
 * ends the current 4-character group and decoding goes on after it, for
 * concatenated blocks; a last incomplete group gives what its bits
 * hold), "quoted-printable" (soft line breaks removed, trailing white
 * space of a line dropped; a malformed "=" kept as it is),
 * "7bit", "8bit", "binary" and no encoding (NULL) as they are. Line ends
 * in the result of 7bit/8bit/quoted-printable text are CRLF (as a client
 * receives them); base64 output is the decoded octets. Returns 0, -1 when
 * out's maximum would be passed, or -2 for an encoding not known (IMAP
 * "NO [UNKNOWN-CTE]"). */
int mime_body_decode(const char *encoding, const char *body, size_t len,
		     struct buf *out) __attribute__((warn_unused_result));

/* Appends text in[0..len) converted from charset to UTF-8. NULL,
 * UTF-8, US-ASCII and charsets iconv does not know: valid UTF-8 kept,
 * every other octet taken as ISO-8859-1 (8-bit text is common in mail
 * labelled US-ASCII). Octets invalid in a charset iconv knows become
 * U+FFFD. The result is always valid UTF-8 (NULs kept). 0, or -1 when
 * out's maximum would be passed. */
int mime_body_to_utf8(const char *charset, const char *in, size_t len,
		      struct buf *out) __attribute__((warn_unused_result));

/* Whether s[0..len) is valid UTF-8 (no overlong forms, surrogates or
 * values past U+10FFFF). Fast on ASCII: eight octets at a time. */
bool mime_body_utf8_valid(const char *s, size_t len);

/* Whether part is a leaf holding text: text/" *", or a message/" *"
 * part without an embedded message (message/delivery-status and the
 * like, whose body is header-like text, or an rfc822 part past the
 * parser's limits). */
bool mime_body_is_text(const struct mime_part *part);

/* The text of a part as UTF-8 for searching: its body decoded
 * (transfer encoding, then charset; line ends CRLF as the decoding above
 * leaves them) when mime_body_is_text(), nothing for other parts
 * (images, containers, ...). An unknown transfer encoding gives the body
 * as it is. part belongs to a tree parsed from data[0..len). 0 or -1
 * (out full). */
int mime_body_text(const char *data, size_t len, const struct mime_part *part,
		   struct buf *out) __attribute__((warn_unused_result));

/* ---- text maps ----
 * Where the text of a message lies, cached (lib/mailstore_cache) so that
 * a later SEARCH reads only those octets of the file, not the
 * attachments, and needs no MIME parse. One line per piece, in message
 * order:
 *   "H <offset> <length>\n"                        a part's header block
 *                                                  (not the message's own)
 *   "B <offset> <length> <encoding> <charset>\n"   a text body
 *                                                  (mime_body_is_text)
 * Offsets and lengths are octets of the file; <encoding> is the part's
 * Content-Transfer-Encoding and <charset> its charset parameter or "-",
 * each a token of at most 40 characters from [A-Za-z0-9._:+-] (others
 * are written "x-unknown" and "-", which decode the same way). */

/* Appends the text map of msg, parsed from len octets. 0, or -1 when
 * out's maximum would be passed. */
int mime_body_textmap_write(const struct mime_message *msg, size_t len,
			    struct buf *out)
	__attribute__((warn_unused_result));

struct mime_body_piece {
	bool header;
	size_t offset, len;
	char encoding[41];	/* "" for a header */
	char charset[41];	/* "-": none */
};

/* Reads the piece at map[*pos..len) (*pos 0 first): 1 with *piece and
 * *pos advanced, 0 at the end, -1 when the map is malformed (a damaged
 * cache: the caller parses the message instead). */
int mime_body_textmap_next(const char *map, size_t len, size_t *pos,
			   struct mime_body_piece *piece)
	__attribute__((warn_unused_result));

/* Appends the text of a body piece from its octets raw[0..len) as
 * mime_body_text() would (a header piece: its octets as they are). 0 or
 * -1 (out full). */
int mime_body_piece_text(const struct mime_body_piece *piece,
			 const char *raw, size_t len, struct buf *out)
	__attribute__((warn_unused_result));

#endif
