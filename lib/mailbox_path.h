/* mailbox_path: where a user's Maildir is: virtual_mailbox_maps gives a
 * path relative to virtual_mailbox_base ("example.com/user/", a trailing
 * '/' meaning Maildir). Shared by local delivery and the mail access
 * daemons so that what is delivered is what is read. */
#ifndef SUREL_MAILBOX_PATH_H
#define SUREL_MAILBOX_PATH_H
#include <stddef.h>
#include "maps.h"

/* Looks address up in maps (with recipient_delimiter handling as
 * maps_lookup_addr) and writes base/value-without-slash into out.
 * Returns 1 found, 0 unknown user, -1 with *dsn_r and *error_r (static):
 * "4.3.0" lookup failure, "4.3.5" configuration problems (relative base,
 * absolute path or ".." in the map, no trailing '/', too long). */
int mailbox_path_resolve(struct maps *maps, const char *base,
			 const char *delimiter, const char *address,
			 char *out, size_t outsize, const char **dsn_r,
			 const char **error_r)
	__attribute__((warn_unused_result));

#endif
