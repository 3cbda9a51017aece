/* mime_downgrade: an 8-bit MIME message made 7-bit (RFC 6152 3: a client
 * whose server does not offer 8BITMIME converts the message, or fails
 * it), the way Postfix's smtp converts: every leaf part whose
 * Content-Transfer-Encoding is 8bit, or 7bit (or absent) while its body
 * holds 8-bit octets or lines over 998 octets, is re-encoded as
 * quoted-printable (RFC 2045 6.7) and its Content-Transfer-Encoding field
 * replaced, or added at the end of its header. Multipart bodies are
 * walked by their boundaries, message/rfc822 and message/global bodies as
 * the embedded message (its header then belongs to it). Everything else
 * goes out octet for octet: header sections (the message's included;
 * a top-level "Content-Transfer-Encoding: 8bit" of a non-multipart
 * message is the only field ever changed there), base64 and
 * quoted-printable parts, preambles, epilogues, boundary lines. A 7-bit
 * message whose lines fit comes out as it went in.
 *
 * A message without MIME-Version is one text/plain part (RFC 6152 3 / RFC
 * 2045 4): converted when its body needs it, with "MIME-Version: 1.0"
 * added besides the Content-Transfer-Encoding field (without it the field
 * means nothing to the reader).
 *
 * What cannot be converted fails (error_r says why): an 8-bit octet or a
 * line over 998 octets in any header section (RFC 6152 allows no header
 * conversion), in a preamble or epilogue, in a part encoded base64,
 * quoted-printable or otherwise, in message/ parts other than rfc822 and
 * global, in a container nested deeper than MIME_DOWNGRADE_DEPTH_MAX or
 * without a usable boundary; any Content-Transfer-Encoding: binary; a
 * header section over MIME_DOWNGRADE_HEADER_MAX octets; more than
 * MIME_DOWNGRADE_PARTS_MAX parts.
 *
 * Two passes over the same content, since whether a "7bit" part must be
 * converted is only known after its header has gone out: a scan pass
 * (out NULL) that decides and may fail, then, after
 * mime_downgrade_rewind(), convert passes (out set) that write the
 * result; a convert pass may be run again after another rewind (a size
 * count, then the sending). A convert pass fails only when the content is
 * not what the scan saw (error_r says so).
 *
 * Input: the content as a queue file stores it (LF line ends; a CR before
 * an LF is taken as part of the line end), in pieces of any size (one
 * octet at a time gives the same result). Output: LF line ends, every
 * octet < 0x80, every line at most 998 octets (at most 76 in converted
 * parts). Memory: the start of the current line (1 KiB), the current
 * header section, the boundaries of the open multiparts and one bit per
 * part. Pure: no I/O, no logging. */
#ifndef SUREL_MIME_DOWNGRADE_H
#define SUREL_MIME_DOWNGRADE_H
#include <stddef.h>
#include "buf.h"

#define MIME_DOWNGRADE_DEPTH_MAX 100	/* Postfix's mime_nesting_limit */
#define MIME_DOWNGRADE_HEADER_MAX (1024 * 1024)
#define MIME_DOWNGRADE_PARTS_MAX 100000
#define MIME_DOWNGRADE_BOUNDARY_MAX 256	/* RFC 2046 says 70 */
/* What one feed may add to out besides 4 octets per octet fed: a whole
 * header section with the added fields, and the held line start. */
#define MIME_DOWNGRADE_OUT_EXTRA (MIME_DOWNGRADE_HEADER_MAX + 8192)

struct mime_downgrade;

/* A converter in its scan pass. */
struct mime_downgrade *mime_downgrade_new(void);
void mime_downgrade_free(struct mime_downgrade **dg);

/* Feeds data[0..len): out NULL in the scan pass, else the converted
 * octets are appended to it (out's max must leave room for 4 * len +
 * MIME_DOWNGRADE_OUT_EXTRA). 0, or -1 with *error_r (static text); a
 * failure sticks until the next rewind. */
int mime_downgrade_feed(struct mime_downgrade *dg, const char *data,
			size_t len, struct buf *out, const char **error_r)
	__attribute__((warn_unused_result));
/* The end of the content: 0 when the pass succeeded, or -1 with *error_r
 * (after a scan pass: the message cannot be converted). */
int mime_downgrade_finish(struct mime_downgrade *dg, struct buf *out,
			  const char **error_r)
	__attribute__((warn_unused_result));
/* Starts a convert pass over the same content, with what the scan pass
 * (which must have succeeded) decided. */
void mime_downgrade_rewind(struct mime_downgrade *dg);

#endif
