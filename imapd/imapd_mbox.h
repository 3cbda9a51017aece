/* imapd_mbox: what the files of imapd's mailbox commands (names,
 * CREATE/DELETE/RENAME, LIST/LSUB, SUBSCRIBE, STATUS, QUOTA, METADATA)
 * share among themselves beyond imapd.h. Names are UTF-8 inside; folders
 * are mailstore.h's ("INBOX" or the Maildir++ name). */
#ifndef SUREL_IMAPD_MBOX_H
#define SUREL_IMAPD_MBOX_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"
#include "imapd.h"

/* ---- imapd_names.c ---- */

/* imapd_name_resolve() for a name already taken from its argument
 * (str[0..len), the client's form). */
int imapd_name_resolve_str(struct imapd_session *s, const char *str,
			   size_t len, char **name_r, char **folder_r,
			   char **path_r, const char **error_r)
	__attribute__((warn_unused_result));
/* The client's form str[0..len) of a name or LIST pattern in UTF-8,
 * appended to out (mUTF-7 decoded unless UTF-8 is on). 0, or -1 with
 * *error_r (static) when it is not valid in the client's form. */
int imapd_name_decode(const struct imapd_session *s, const char *str,
		      size_t len, struct buf *out, const char **error_r)
	__attribute__((warn_unused_result));
/* The UTF-8 IMAP name of folder appended to out: 0, or -1 when the
 * folder has no IMAP form with the configured separator. */
int imapd_name_from_folder(const struct imapd_session *s, const char *folder,
			   struct buf *out) __attribute__((warn_unused_result));
/* The next "Name=\Attr" pair of imapd_special_use from *cursor (start
 * with the parameter's value): true with the name and attribute in the
 * bufs (reset first), false at the end. Malformed words are skipped. */
bool imapd_special_use_next(const char **cursor, struct buf *name,
			    struct buf *attr);
/* True when path is a directory (the folder exists). */
bool imapd_folder_exists(const char *path);

/* ---- imapd_subscribe.c ---- */

/* Small files rewritten whole (subscriptions, metadata): readers read
 * without a lock (the file is only ever replaced by rename()); writers
 * hold the dotlock path + ".lock" (created O_EXCL; taken over when
 * untouched for 30 s, Dovecot's rule for its subscriptions lock) while
 * they read, change and replace it. */
struct imapd_locked_file {
	char *path;
	char *lock_path;
	int fd;			/* the lock file; -1 when not held */
};
/* Reads the whole file (at most max octets) into a new NUL-terminated
 * buffer: 1 with *data_r and *len_r, 0 when it does not exist (*data_r
 * NULL), -1 with *error_r (static; too large counts as an error). */
int imapd_file_read(const char *path, size_t max, char **data_r,
		    size_t *len_r, const char **error_r)
	__attribute__((warn_unused_result));
/* Takes the dotlock (waiting a few seconds at most). 0 or -1. */
int imapd_file_lock(struct imapd_locked_file *f, const char *path,
		    const char **error_r) __attribute__((warn_unused_result));
/* Writes data as the new content: into the lock file, fsync, rename over
 * the file, fsync of the directory. The lock is gone afterwards. */
int imapd_file_commit(struct imapd_locked_file *f, const void *data,
		      size_t len, const char **error_r)
	__attribute__((warn_unused_result));
/* Drops the lock without changing the file (accepts a lock not held). */
void imapd_file_unlock(struct imapd_locked_file *f);

/* The subscribed folders (imap_subscriptions_parse of the user's file;
 * none when it does not exist). 0 or -1 (*error_r static, logged by the
 * caller). Free with imap_subscriptions_free. */
int imapd_subscriptions_read(struct imapd_session *s, char ***folders_r,
			     size_t *count_r, const char **error_r)
	__attribute__((warn_unused_result));
/* Subscribes or unsubscribes folder: the file is rewritten under its
 * dotlock (temporary file, fsync, rename, fsync of the directory). 0, or
 * -1 with *error_r the text of the NO reply ("[CODE] ..."; I/O errors
 * are logged here). */
int imapd_subscriptions_change(struct imapd_session *s, const char *folder,
			       bool subscribe, const char **error_r)
	__attribute__((warn_unused_result));

/* ---- imapd_status.c ---- */

#define IMAPD_STATUS_MESSAGES		0x001
#define IMAPD_STATUS_RECENT		0x002
#define IMAPD_STATUS_UIDNEXT		0x004
#define IMAPD_STATUS_UIDVALIDITY	0x008
#define IMAPD_STATUS_UNSEEN		0x010
#define IMAPD_STATUS_DELETED		0x020
#define IMAPD_STATUS_SIZE		0x040
#define IMAPD_STATUS_HIGHESTMODSEQ	0x080
#define IMAPD_STATUS_APPENDLIMIT	0x100
#define IMAPD_STATUS_MAILBOXID		0x200

/* The items of a STATUS list "(MESSAGES UNSEEN ...)". 0, or -1 with
 * *error_r (static; the caller replies BAD). */
int imapd_status_items(const struct imap_arg *list, unsigned *items_r,
		       const char **error_r) __attribute__((warn_unused_result));
/* Sends "* STATUS name (...)" for the folder at path. 0, or -1 with
 * *error_r (static) when the folder cannot be opened (nothing sent). */
int imapd_status_send(struct imapd_session *s, const char *name,
		      const char *folder, const char *path, unsigned items,
		      const char **error_r) __attribute__((warn_unused_result));

/* ---- imapd_metadata.c ---- */

/* The name of the metadata file in a folder's directory (and, for the
 * server entries, of the one in the Maildir root). */
#define IMAPD_METADATA_FILE "surel-metadata"
#define IMAPD_METADATA_SERVER_FILE "surel-metadata-server"

#endif
