/* full_name: the sender's full name of a locally submitted message, as
 * Postfix's sendmail finds it and cleanup writes it.
 *
 * Where it comes from (sendmail.surel): -F, else the NAME environment
 * variable, else the first comma-separated field of the user's GECOS
 * field in the password file, with "&" standing for the login name,
 * first letter in upper case (the BSD finger convention).
 *
 * How it is written (pickup, when the message has no From:): as the
 * display name of "From: name <address>". A name of printable ASCII is
 * an RFC 5322 phrase: atoms as they are, else one quoted-string. A name
 * with other octets becomes RFC 2047 encoded words in UTF-8 with the Q
 * encoding (Postfix's full_name_encoding_charset), each at most 75
 * octets and on its own folded line after the first, so no header line
 * grows past RFC 5322's limits; octets that are not valid UTF-8 or are
 * control characters become '?'. */
#ifndef SUREL_FULL_NAME_H
#define SUREL_FULL_NAME_H
#include <stddef.h>
#include "buf.h"

/* The longest full name a submission carries (sureldrop refuses more). */
#define FULL_NAME_MAX 256

/* The name in a GECOS field for login into out[size]: 0, or -1 when it is
 * empty or does not fit. */
int full_name_from_gecos(const char *gecos, const char *login, char *out,
			 size_t size) __attribute__((warn_unused_result));

/* Appends name as a display name (see above; LF line ends, folding with
 * "\n "). 0, or -1 when out's maximum is reached. */
int full_name_phrase(struct buf *out, const char *name)
	__attribute__((warn_unused_result));

#endif
