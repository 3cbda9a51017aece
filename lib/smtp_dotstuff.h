/* smtp_dotstuff: the SMTP client's side of DATA (RFC 5321 4.5.2): the
 * queue file's content (LF line ends) as it goes on the wire: each LF
 * that no CR precedes becomes CRLF, a "." that starts a line is doubled,
 * and the end is "CRLF . CRLF" (a CRLF is added first when the content
 * does not end with a line end). The opposite of lib/smtp_data. Pure: the
 * caller feeds pieces of any size (one octet at a time gives the same
 * output) and writes what comes out. */
#ifndef SUREL_SMTP_DOTSTUFF_H
#define SUREL_SMTP_DOTSTUFF_H
#include <stdbool.h>
#include <stddef.h>

struct smtp_dotstuff {
	bool bol;	/* the next octet starts a line */
	bool after_cr;	/* the last octet was CR */
};

void smtp_dotstuff_init(struct smtp_dotstuff *ds);
/* Encodes src[0..len) into dst, which must have room for 2 * len octets
 * (".\n" becomes "..\r\n": each octet gives at most two). Returns the
 * octets written. */
size_t smtp_dotstuff_feed(struct smtp_dotstuff *ds, char *dst,
			  const char *src, size_t len);
/* The end of the data into dst (room for 5 octets): the missing line end
 * if any, then ".\r\n". Returns the octets written. */
size_t smtp_dotstuff_finish(struct smtp_dotstuff *ds, char *dst);

#endif
