/* mailbox_path: where a user's Maildir is: virtual_mailbox_maps gives a
 * path relative to virtual_mailbox_base ("example.com/user/", a trailing
 * '/' meaning Maildir). Shared by local delivery and the mail access
 * daemons so that what is delivered is what is read, and the quota limit
 * both enforce is the same. */
#ifndef SUREL_MAILBOX_PATH_H
#define SUREL_MAILBOX_PATH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* A login name reaches maps, a path and logs: true when it is not empty,
 * at most max octets, without control characters, '/' or "..". */
bool mailbox_path_user_valid(const char *name, size_t max);

/* The Maildir of a logged-in user of a mail access daemon: mail_dir
 * (authd's mail=) when not empty and absolute, else user's entry in maps
 * as mailbox_path_resolve finds it; then base must be an existing
 * directory, so that an unmounted disk does not turn into a fresh, empty
 * mailbox. 0, or -1 with *error_r (static; for the log). */
int mailbox_path_user(struct maps *maps, const char *base,
		      const char *delimiter, const char *user,
		      const char *mail_dir, char *out, size_t outsize,
		      const char **error_r)
	__attribute__((warn_unused_result));

/* The quota limit of address in bytes (0: none): its entry in quota_maps
 * (a size like "500m", "2g" or "0", 1024-based k/m/g suffixes), else
 * default_bytes (virtual_mailbox_quota). Shared by local delivery and
 * imapd so that both enforce the same limit. 0, or -1 with *dsn_r and
 * *error_r (static): "4.3.0" lookup failure, "4.3.5" a value that is not
 * a size. */
int mailbox_path_quota(struct maps *quota_maps, const char *delimiter,
		       const char *address, uint64_t default_bytes,
		       uint64_t *bytes_r, const char **dsn_r,
		       const char **error_r)
	__attribute__((warn_unused_result));

#endif
