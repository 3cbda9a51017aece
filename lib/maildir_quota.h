/* maildir_quota: the Maildir++ quota file "maildirsize" in a user's
 * Maildir root, as Courier, Dovecot and the Postfix VDA patch keep it:
 *   line 1:  the limit, "<bytes>S,<count>C" (either part may be missing;
 *            0 or missing = no limit of that kind)
 *   then:    "<bytes> <count>" per change, possibly negative,
 * appended with one O_APPEND write each (no lock needed). The file is
 * recalculated (every message of every folder counted, written to a
 * temporary file and renamed into place) when it is missing, damaged,
 * over 5120 bytes, or when the limit to enforce differs from line 1;
 * and, as Courier and Dovecot do, before figures that say "over the
 * limit" are believed, unless they are a fresh count (one change line,
 * file younger than 15 minutes). Sizes come from ",S=" in file names
 * when present, stat() otherwise. Trash is counted like any folder.
 * A Maildir that does not exist yet has no usage and gets no file. No
 * lock is taken (Maildir++ has none); see maildir_quota.c for how a
 * recount guards against concurrent changes. The library does not log. */
#ifndef SUREL_MAILDIR_QUOTA_H
#define SUREL_MAILDIR_QUOTA_H
#include <stdbool.h>
#include <stdint.h>

#define MAILDIR_QUOTA_FILE "maildirsize"
#define MAILDIR_QUOTA_MAX_SIZE 5120	/* recalculate beyond this */

struct maildir_quota_limit {
	uint64_t bytes;		/* 0: no limit */
	uint64_t count;		/* 0: no limit */
};

struct maildir_quota_usage {
	int64_t bytes;
	int64_t count;
};

/* Parses the content of a maildirsize file (len bytes). 0 with the limit
 * of line 1 and the sum of all lines, or -1 (*error_r static) when it is
 * damaged (the caller recalculates). */
int maildir_quota_parse(const char *data, size_t len,
			struct maildir_quota_limit *limit_r,
			struct maildir_quota_usage *usage_r,
			const char **error_r)
	__attribute__((warn_unused_result));

/* Current usage of the Maildir at root under limit (which replaces line 1
 * when it differs; NULL keeps the file's own limit, and then *limit_r,
 * when not NULL, gets that limit). Recalculates as described above; with
 * limit NULL a missing file is counted but not created (no limit to
 * keep). 0 or -1 (*error_r static). */
int maildir_quota_get(const char *root, const struct maildir_quota_limit *limit,
		      struct maildir_quota_usage *usage_r,
		      struct maildir_quota_limit *limit_r, const char **error_r)
	__attribute__((warn_unused_result));
/* True if adding bytes/count to usage goes over limit: usage + bytes >
 * limit (reaching the limit exactly is allowed, as in Courier and in
 * Dovecot with quota_grace = 0). */
bool maildir_quota_exceeded(const struct maildir_quota_limit *limit,
			    const struct maildir_quota_usage *usage,
			    uint64_t bytes, uint64_t count);
/* The check before a delivery: maildir_quota_get under limit (not NULL),
 * then whether bytes/count more fit. When they do not and the figures
 * are not a fresh count (Courier's rule), the Maildir is counted again
 * first, so that mail deleted behind the file's back frees its space.
 * 1 fits, 0 over quota, -1 error (*error_r static); *usage_r is the
 * usage the answer rests on. */
int maildir_quota_check(const char *root,
			const struct maildir_quota_limit *limit,
			uint64_t bytes, uint64_t count,
			struct maildir_quota_usage *usage_r,
			const char **error_r)
	__attribute__((warn_unused_result));
/* Appends "<bytes> <count>" (either may be negative). A missing file is
 * left missing (the next maildir_quota_get counts). 0 or -1. */
int maildir_quota_update(const char *root, int64_t bytes, int64_t count,
			 const char **error_r)
	__attribute__((warn_unused_result));

#endif
