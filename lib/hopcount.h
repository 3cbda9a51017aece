/* hopcount: counts the hops a message has made, for the mail loop check
 * (Postfix's hopcount_limit): the Received: and Delivered-To: fields of
 * its header section. Pure: no I/O. */
#ifndef SUREL_HOPCOUNT_H
#define SUREL_HOPCOUNT_H
#include <stddef.h>

/* Counts in data[0..len): the header section up to its first empty line
 * (LF or CRLF) or the end of data, whichever comes first. A field counts
 * when its name (any case; white space before the colon allowed, as
 * RFC 5322 4.5.3 obs-optional) is "Received" or "Delivered-To";
 * continuation lines (starting with SP or HT) never count. */
size_t hopcount_count(const char *data, size_t len);

#endif
