/* maildir: durable delivery of one message into a Maildir, as qmail and
 * Dovecot define it: write tmp/NAME, fsync, rename to
 * new/NAME,S=<size>,W=<vsize>, fsync new/. Names are
 * SECONDS.M<usec>P<pid>Q<counter>.<host>, unique per host; S= is the file
 * size and W= the virtual size (every LF not preceded by CR counted as
 * CRLF: the size an IMAP or POP3 client sees), so that Dovecot and the
 * mail store need neither stat() nor a read to know them. The library
 * does not log: failures come back as an RFC 3463 status and a reason. */
#ifndef SUREL_MAILDIR_H
#define SUREL_MAILDIR_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAILDIR_HOSTNAME_MAX 255

/* Octets of the content left out of the delivered file. */
struct maildir_skip {
	uint64_t offset;	/* from the start of the content */
	uint64_t len;
};

struct maildir_delivery {
	/* When not NULL: a directory that must exist already (the
	 * virtual_mailbox_base). Its absence is a temporary failure (an
	 * unmounted disk must not turn into a fresh, empty mail store);
	 * directories below it are created as needed. */
	const char *base;
	const char *hostname;		/* for the unique name */
	const char *prefix;		/* header lines written first */
	size_t prefix_len;
	int content_fd;			/* then size bytes from here */
	off_t content_offset;
	uint64_t content_size;
	/* When skip_count > 0: ranges of the content not written (in
	 * order, not overlapping, inside the content; else 4.3.0): the
	 * header fields the delivery agent removes. */
	const struct maildir_skip *skip;
	size_t skip_count;
};

/* Delivers into maildir_path, creating it and its tmp/ new/ cur/ (mode
 * 0700) when missing. Returns 0 with *path_r (when path_r is not NULL:
 * the new file's path, caller frees), or -1 with *dsn_r and *error_r
 * (static, valid until the next call):
 *   4.2.2 mailbox full (EDQUOT), 4.3.1 mail system full (ENOSPC),
 *   4.3.5 a path that cannot be a Maildir (ENOTDIR, ELOOP, ...: a
 *         configuration problem the operator fixes; nothing is lost),
 *   5.2.3 message too large for the mailbox (EFBIG),
 *   4.3.0 anything else (I/O errors, permissions, missing base, short
 *         content).
 * Nothing is left in tmp/ after a failure. */
int maildir_deliver(const char *maildir_path, const struct maildir_delivery *d,
		    char **path_r, const char **dsn_r, const char **error_r)
	__attribute__((warn_unused_result));

/* Room for a name of maildir_unique_name (with the longest host). */
#define MAILDIR_NAME_MAX (MAILDIR_HOSTNAME_MAX * 4 + 80)

/* A new file name, unique on this host: SECONDS.M<usec>P<pid>Q<n>.<host>
 * (host as maildir_escape_host writes it; n counts the names this
 * process made), the form delivery and the mail store's saves share.
 * 0, or -1 when it does not fit in outsize. */
int maildir_unique_name(char *out, size_t outsize, const char *hostname)
	__attribute__((warn_unused_result));

/* Writes the Maildir-safe form of hostname ('/' as \057, ':' as \072)
 * into out; -1 if it does not fit. */
int maildir_escape_host(char *out, size_t outsize, const char *hostname)
	__attribute__((warn_unused_result));

#endif
