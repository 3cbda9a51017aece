/* imap_envelope: the FETCH ENVELOPE item (RFC 3501 7.4.2, RFC 9051 7.5.2)
 * of a message, from its header block. Fields: date, subject, from,
 * sender, reply-to, to, cc, bcc, in-reply-to, message-id, in that order.
 * Each is the first field of its name, unfolded (line ends removed,
 * trailing white space removed), NIL when absent; RFC 2047 encoded words
 * are kept as they are, for the client to decode. Sender and reply-to are
 * from's address list when absent or empty (RFC 3501).
 *
 * Address lists (RFC 5322 3.4, with the obsolete forms read leniently):
 * ((name adl mailbox host) ...), or NIL when the list holds no address.
 * A display name is its words joined by one space, quoted strings
 * unquoted; a quoted local part is unquoted; a source route goes into adl
 * ("@a,@b"). Comments are ignored (never used as a name). A group is
 * (NIL NIL "name" NIL) ... (NIL NIL NIL NIL). Malformed input gives a
 * defined result, never an error: an address without "@" has host
 * "MISSING_DOMAIN", one with a name but no local part has mailbox
 * "MISSING_MAILBOX", text after an address up to the next "," is dropped,
 * an unclosed group or angle address is closed at the end. At most
 * IMAP_ENVELOPE_ADDRESSES_MAX entries (group markers included) are written
 * per field; the rest of that field is dropped.
 *
 * Strings are written with imap_string (flags: IMAP_STRING_UTF8). */
#ifndef SUREL_IMAP_ENVELOPE_H
#define SUREL_IMAP_ENVELOPE_H
#include <stddef.h>
#include "buf.h"

#define IMAP_ENVELOPE_ADDRESSES_MAX 1000

/* Appends the parenthesised envelope of the header block header[0..len)
 * (as mime_header_block_len() delimits it) to out. Returns 0, or -1 with
 * *error_r (static) when out's maximum would be passed; out may then hold
 * part of it. */
int imap_envelope_write(struct buf *out, const char *header, size_t len,
			unsigned flags, const char **error_r)
    __attribute__((warn_unused_result));

/* Appends the address list of value[0..len) (an unfolded field value) as
 * above. Returns the number of entries written (0: NIL was written), or
 * -1 when out's maximum would be passed. */
long imap_envelope_write_addresses(struct buf *out, const char *value,
				   size_t len, unsigned flags)
    __attribute__((warn_unused_result));

#endif
