/* imap_subscriptions: the "subscriptions" file in a user's Maildir root,
 * in Dovecot 2.3's own format, so that a store moved between Dovecot and
 * surel keeps what the user subscribed to (checked against Dovecot:
 * SUBSCRIBE there, LSUB here, and back):
 *   version 2:  "V\t2\n\n", then one name per line whose hierarchy
 *               levels are separated by TAB, each level escaped with
 *               \001 (\001 -> "\0011", TAB -> "\001t", CR -> "\001r",
 *               LF -> "\001n");
 *   version 1:  no header, one name per line, levels joined by the
 *               Maildir++ separator '.'.
 * A name is the folder as stored on disk (mailstore.h: "INBOX", or the
 * Maildir++ name in modified UTF-7, "Entw&APw-rfe"), never the IMAP
 * form. Lines that name no valid folder (another namespace, damage) are
 * skipped when read and kept as they are when the file is rewritten.
 *
 * Pure: no I/O, no globals; bounded by the limits below. *error_r is a
 * static string. */
#ifndef SUREL_IMAP_SUBSCRIPTIONS_H
#define SUREL_IMAP_SUBSCRIPTIONS_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

#define IMAP_SUBSCRIPTIONS_FILE "subscriptions"
/* The largest file read or written, and the most lines in it. */
#define IMAP_SUBSCRIPTIONS_SIZE_MAX ((size_t)1024 * 1024)
#define IMAP_SUBSCRIPTIONS_COUNT_MAX 10000

/* The folders named by the file's data[0..len) (len 0: no file), in file
 * order, without duplicates; "INBOX" for INBOX in any case. New array
 * of new strings in *names_r (free with imap_subscriptions_free; NULL
 * when *count_r is 0). -1 when the data passes the limits. */
int imap_subscriptions_parse(const char *data, size_t len, char ***names_r,
			     size_t *count_r, const char **error_r)
	__attribute__((warn_unused_result));
void imap_subscriptions_free(char ***names, size_t count);

/* The new file content after subscribing (subscribe true) or
 * unsubscribing folder, appended to out: the old lines stay as they were
 * (the version too: a new file is version 2), lines naming folder are
 * dropped when unsubscribing, and a line for it is added at the end when
 * subscribing and none names it yet. *changed_r tells whether anything
 * changed (then out need not be written). -1 for an invalid folder name,
 * or when the result would pass the limits or out's maximum. */
int imap_subscriptions_update(const char *data, size_t len,
			      const char *folder, bool subscribe,
			      struct buf *out, bool *changed_r,
			      const char **error_r)
	__attribute__((warn_unused_result));

/* The folder a line of a version 1 or 2 file names, appended to out:
 * 0, or -1 when it names none (then out is unchanged). For tests and the
 * fuzz target. */
int imap_subscriptions_line_folder(const char *line, size_t len,
				   unsigned version, struct buf *out);

#endif
