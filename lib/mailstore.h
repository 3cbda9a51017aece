/* mailstore: one Maildir folder (a user's INBOX, or a Maildir++ folder
 * ".Name" below it) with its UID map, keywords and index, shared by
 * pop3d, imapd and the operator tools.
 *
 * On disk it is Dovecot's own layout, so that a store can move from
 * Dovecot to surel and back without any client noticing:
 *   dovecot-uidlist   version 3: "3 V<uidvalidity> N<nextuid> [G<guid>]",
 *                     then "<uid> [<ext>...] :<base name>" per message;
 *                     extensions (W<vsize>, P<pop3 uidl>, G<guid>, ...)
 *                     are kept as they are, unknown ones included.
 *   dovecot-keywords  "<index> <name>" lines; keyword i is letter 'a'+i
 *                     in the ":2," part of a file name.
 *   surel-index       surel's own file beside them (sizes, dates, save
 *                     dates, MODSEQs and the highest one given, the
 *                     record of expunges, the first recent UID, and a
 *                     copy of the UID map):
 *                     rebuilt from the Maildir when missing or damaged
 *                     (UIDs never depend on it; MODSEQs then start again
 *                     above the current time, and every missing UID counts
 *                     as expunged).
 * Writers take Dovecot's lock: the dotlock dovecot-uidlist.lock (created
 * O_EXCL, written, renamed over dovecot-uidlist), with Dovecot's stale
 * lock rule (a lock not touched for 2 minutes is taken over). Readers do
 * not lock: the files are only ever replaced by rename().
 *
 * MODSEQs come from one counter for all processes (the index's highest,
 * moved only under the lock): see doc/mailstore.md.
 *
 * UIDs are never reused: the next UID is the highest of the uidlist's N,
 * its last UID + 1 and the index's record of it. If the uidlist is lost,
 * the index restores the UID map; if both are lost, UIDVALIDITY changes,
 * always upwards, above every value the Maildir gave (surel-uidvalidity
 * in its root), even within one second.
 *
 * An unchanged folder opens from surel-index alone when surel-stamps
 * vouches for it (see doc/mailstore.md, Sync).
 *
 * The library does not log. Pointers into the store (messages, names)
 * stay valid until the next call that changes it (sync, flags, expunge,
 * close). */
#ifndef SUREL_MAILSTORE_H
#define SUREL_MAILSTORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* System flags: the letters of the Maildir ":2," info. */
#define MAILSTORE_FLAG_DRAFT	0x01	/* D */
#define MAILSTORE_FLAG_FLAGGED	0x02	/* F */
#define MAILSTORE_FLAG_PASSED	0x04	/* P (forwarded; no IMAP flag) */
#define MAILSTORE_FLAG_ANSWERED	0x08	/* R */
#define MAILSTORE_FLAG_SEEN	0x10	/* S */
#define MAILSTORE_FLAG_DELETED	0x20	/* T */
#define MAILSTORE_FLAGS_ALL	0x3f
/* Keywords that fit into a file name: letters a..z. */
#define MAILSTORE_KEYWORDS_MAX 26
/* Longest folder name (Maildir++ name, without the leading '.'). */
#define MAILSTORE_FOLDER_MAX 255

#define MAILSTORE_OPEN_CREATE 0x1	/* make the folder (tmp new cur)
					 * when missing */
/* IMAP \Recent is Dovecot's: the folder's index keeps a first recent
 * UID, and the messages from it on are recent for whoever claims them.
 * A handle opened with this flag (a read-write SELECT) claims them at
 * open and at every later sync: under the uidlist lock it moves the
 * first recent UID to UIDNEXT and its messages from the old value on
 * get msg.recent. Any other handle (STATUS, EXAMINE, POP3, COPY, APPEND
 * targets) claims nothing: its msg.recent marks the messages from the
 * first recent UID on, which stay recent for the next claimer. */
#define MAILSTORE_OPEN_CLAIM_RECENT 0x2

struct mailstore;

struct mailstore_msg {
	uint32_t uid;
	const char *base;	/* file name without ":2,...": the UID key */
	const char *name;	/* current file name */
	bool in_new;		/* still in new/ */
	unsigned flags;		/* MAILSTORE_FLAG_* */
	uint32_t keywords;	/* bit i: keyword i of dovecot-keywords */
	uint64_t size;		/* octets of the file */
	uint64_t vsize;		/* octets with CRLF line ends (POP3 sizes,
				 * IMAP RFC822.SIZE) */
	int64_t mtime;		/* the file's mtime: IMAP INTERNALDATE */
	const char *pop3_uidl;	/* the uidlist's P extension, or NULL (an
				 * empty P means the base, as in Dovecot) */
	uint64_t modseq;	/* CONDSTORE: a new value whenever the
				 * message arrives or its flags change; all
				 * messages found when the index is rebuilt
				 * share one (time-based) value */
	int64_t savedate;	/* SAVEDATE: when the message got its UID
				 * in this folder (index; the mtime when
				 * the index was rebuilt) */
	bool recent;		/* IMAP \Recent for this handle (see
				 * MAILSTORE_OPEN_CLAIM_RECENT): claimed by
				 * it, or (a handle that does not claim)
				 * not yet claimed by anyone; once set it
				 * stays until close */
};

/* Opens the folder at path (a directory with tmp/ new/ cur/) and syncs it
 * (see mailstore_sync). Returns 0 with *box_r, or -1 with *error_r
 * (static): missing (without MAILSTORE_OPEN_CREATE), not a directory,
 * unreadable, lock held by a live writer for too long. */
int mailstore_open(const char *path, unsigned flags, struct mailstore **box_r,
		   const char **error_r)
	__attribute__((warn_unused_result));
/* Saves the index if it changed and deletes the files this handle
 * expunged (see mailstore_expunge); never fails (a lost cache is
 * rebuilt, a file left in tmp/ is cleaned up later). */
void mailstore_close(struct mailstore **box);

/* Looks at the directories again: files that appeared (delivery, another
 * session, mutt) get UIDs, files that vanished are dropped, renamed files
 * (flag changes by others) are followed, files in new/ move to cur/, a
 * handle that claims \Recent claims the new ones, and (at most once an
 * hour per folder) files left in tmp/ for 36 hours by a crashed writer
 * are deleted, as Dovecot does.
 * Every message then has size and vsize (from ",S=" / ",W=" in its name,
 * the uidlist's W extension, the index, or by reading it once). 0 or -1
 * (*error_r static); after -1 the earlier list stays. */
int mailstore_sync(struct mailstore *box, const char **error_r)
	__attribute__((warn_unused_result));

const char *mailstore_path(const struct mailstore *box);
uint32_t mailstore_uidvalidity(const struct mailstore *box);
/* The UID the next new message will get. */
uint32_t mailstore_uidnext(const struct mailstore *box);
uint64_t mailstore_highest_modseq(const struct mailstore *box);
/* Messages in ascending UID order: 0 <= i < mailstore_count(). */
size_t mailstore_count(const struct mailstore *box);
const struct mailstore_msg *mailstore_msg(const struct mailstore *box,
					  size_t i);
/* 1 with *i_r, or 0 when no message has uid. O(log n). */
int mailstore_find_uid(const struct mailstore *box, uint32_t uid, size_t *i_r);

/* Opens message i's file for reading (O_RDONLY|O_CLOEXEC|O_NOFOLLOW),
 * following a rename behind our back. Returns 1 with *fd_r, 0 when the
 * file is gone (expunged by someone else: the caller reports that, no
 * crash), -1 with *error_r. */
int mailstore_msg_open(struct mailstore *box, size_t i, int *fd_r,
		       const char **error_r)
	__attribute__((warn_unused_result));
/* Gives message i exactly these flags and keywords (renames the file).
 * 1 done, 0 the file is gone, -1 error. */
int mailstore_msg_set_flags(struct mailstore *box, size_t i, unsigned flags,
			    uint32_t keywords, const char **error_r)
	__attribute__((warn_unused_result));
/* Deletes the messages with these UIDs (unknown UIDs and files already
 * gone are skipped) and drops them from the uidlist: on return they are
 * gone for every reader, durably. Their files wait in tmp/ and are
 * unlinked at mailstore_close (or by a sync 30 s later): freeing a
 * file's blocks can be slow, and no client waits for it then.
 * *bytes_r / *count_r (may be NULL) get what was freed, for the
 * Maildir++ quota. 0 or -1. */
int mailstore_expunge(struct mailstore *box, const uint32_t *uids, size_t n,
		      uint64_t *bytes_r, uint64_t *count_r,
		      const char **error_r)
	__attribute__((warn_unused_result));

/* How many listed messages are recent for the next claimer (UID at
 * least the first recent UID, as the last sync read it), without
 * claiming them: IMAP STATUS RECENT. 0 for a handle that claims, after
 * its claim. O(log n). */
size_t mailstore_recent_count(const struct mailstore *box);

/* The folder's GUID (the uidlist's G, 32 hex digits; made when absent):
 * IMAP OBJECTID's MAILBOXID. */
const char *mailstore_guid(const struct mailstore *box);

/* Flag changes of many messages as one step (IMAP STORE): under the
 * uidlist lock the index is read again so that the MODSEQs every process
 * gives keep growing (never two changes with one MODSEQ, whichever
 * process made them), each changed message gets a new MODSEQ (in
 * mailstore_msg(box, idx)->modseq afterwards), and the index is written
 * before the call returns. The list is not synced: store indexes stay
 * valid. Messages whose file is gone are skipped. Entries that change
 * nothing (the flags are already those) take no lock and no MODSEQ.
 * Returns how many changed, or -1 with *error_r (an invalid idx: nothing
 * done). */
struct mailstore_flag_change {
	size_t idx;		/* store index */
	unsigned flags;		/* the new flags and keywords, whole */
	uint32_t keywords;
};
long mailstore_set_flags_many(struct mailstore *box,
			      const struct mailstore_flag_change *changes,
			      size_t n, const char **error_r)
	__attribute__((warn_unused_result));

/* mailstore_set_flags_many in two steps, so that a server can answer
 * in between (imapd's STORE: the reply, then the renames). _begin does
 * everything up to a durable write of surel-index with the new flags and
 * MODSEQs (in mailstore_msg() at once) and a "renames pending" marker,
 * and keeps the uidlist lock; from then on the change survives a crash
 * of this process (the next process that holds the lock does the
 * renames). It returns how many messages change (0: nothing pending), or
 * -1 with nothing changed. _finish renames the files, fsync()s the
 * directories, writes the index without the marker and drops the lock:
 * 0, or -1 with *error_r (the change stays in the index; a file that
 * could not be renamed is renamed by the next holder of the lock).
 * Other processes wait for the lock in between, so call _finish soon.
 * Every other call on the handle (mailstore_close included) finishes a
 * pending change first, ignoring its errors. */
long mailstore_set_flags_begin(struct mailstore *box,
			       const struct mailstore_flag_change *changes,
			       size_t n, const char **error_r)
	__attribute__((warn_unused_result));
int mailstore_set_flags_finish(struct mailstore *box, const char **error_r)
	__attribute__((warn_unused_result));
bool mailstore_set_flags_pending(const struct mailstore *box);

/* QRESYNC (RFC 7162): the UIDs expunged (by anyone: IMAP, POP3, mutt
 * deleting a file) after MODSEQ since, as the last sync saw them, from
 * the index's record of expunges; each expunge gets a MODSEQ like a flag
 * change, so that HIGHESTMODSEQ moves. New ascending array in *uids_r
 * (free()), count in *count_r. The reply may name more UIDs than were
 * expunged since -- RFC 7162 allows that -- but never fewer: old ranges
 * are merged and keep the highest MODSEQ of what they merged, and when
 * the index was lost (or written by an older surel) every UID below the
 * UIDNEXT of then counts as expunged at the MODSEQ of the rebuild. UIDs
 * of listed messages are never named. 0, or -1 when the list would pass
 * 10,000,000 UIDs (use the ranges form). */
int mailstore_expunged_since(struct mailstore *box, uint64_t since,
			     uint32_t **uids_r, size_t *count_r,
			     const char **error_r)
	__attribute__((warn_unused_result));
/* The same as disjoint ascending UID ranges (VANISHED's uid-set), new
 * array in *ranges_r (free()); at most one range more than there are
 * messages plus the record's ranges. 0 or -1. */
struct mailstore_uid_range {
	uint32_t first;
	uint32_t last;
};
int mailstore_expunged_since_ranges(struct mailstore *box, uint64_t since,
				    struct mailstore_uid_range **ranges_r,
				    size_t *count_r, const char **error_r)
	__attribute__((warn_unused_result));

/* Saving new messages (IMAP APPEND, MULTIAPPEND). data is the message
 * as the client sent it; CRLF line ends are stored as LF (as delivery
 * stores them; they are sent back as CRLF). */
struct mailstore_new_msg {
	const char *data;
	size_t len;
	unsigned flags;		/* MAILSTORE_FLAG_* */
	uint32_t keywords;	/* indexes of this folder's keywords */
	int64_t internaldate;	/* the file's mtime; 0: now */
};
/* Writes each message to tmp/ (fsync), moves them all into cur/ with
 * ",S=<size>,W=<vsize>" and the ":2," flags (fsync of the directory),
 * and gives them consecutive UIDs under the uidlist lock; uids_r (n
 * entries) gets them and the folder is synced (store indexes may change
 * as after mailstore_sync). The new messages are \Recent for box (and
 * claimed by it when it claims; else recent for the next claimer). All
 * or nothing: on -1 no message stays. *bytes_r (may be NULL) gets the
 * octets stored, for the Maildir++ quota. */
int mailstore_save(struct mailstore *box, const struct mailstore_new_msg *msgs,
		   size_t n, uint32_t *uids_r, uint64_t *bytes_r,
		   const char **error_r) __attribute__((warn_unused_result));
/* Copies messages idx[0..n) of src into dst (IMAP COPY, MOVE): a hard
 * link when both are on one file system, else a copy (fsync); flags kept,
 * keywords mapped by name into dst's keywords (added there as needed),
 * mtime (INTERNALDATE) kept. UIDs as mailstore_save, in uids_r (n
 * entries, 0 for a message whose file was gone: skipped); dst is synced
 * (when dst is src, src's store indexes may change as after a sync).
 * All or nothing for errors. *bytes_r as mailstore_save. */
int mailstore_copy(struct mailstore *src, const size_t *idx, size_t n,
		   struct mailstore *dst, uint32_t *uids_r, uint64_t *bytes_r,
		   const char **error_r) __attribute__((warn_unused_result));

/* Keywords of this folder (dovecot-keywords). The name of index idx, or
 * NULL when unused. */
const char *mailstore_keyword_name(const struct mailstore *box, unsigned idx);
/* Finds name (case-insensitively, as IMAP wants); with create, adds it
 * when absent. 1 with *idx_r, 0 absent (or all 26 in use when creating),
 * -1 error. */
int mailstore_keyword_index(struct mailstore *box, const char *name,
			    bool create, unsigned *idx_r, const char **error_r)
	__attribute__((warn_unused_result));

/* Maildir++ folders below root (the user's Maildir, which is INBOX).
 * Names are as stored, without the leading '.', levels separated by '.'
 * ("Sent", "Archive.2024"); the IMAP layer maps separators and modified
 * UTF-7. A valid name is 1..MAILSTORE_FOLDER_MAX octets, has no '/', NUL
 * or control character, no empty level (leading, trailing or double '.'),
 * and is not "INBOX" in any case. */
bool mailstore_folder_name_valid(const char *name);
/* out = root for "INBOX" (any case), root/.name otherwise. 0, or -1
 * (*error_r static) for an invalid name or too long a path. */
int mailstore_folder_path(const char *root, const char *name, char *out,
			  size_t outsize, const char **error_r)
	__attribute__((warn_unused_result));
/* The folders that exist (not INBOX), sorted; free with
 * mailstore_folder_list_free. 0 or -1. */
int mailstore_folder_list(const char *root, char ***names_r, size_t *count_r,
			  const char **error_r)
	__attribute__((warn_unused_result));
void mailstore_folder_list_free(char ***names, size_t count);
/* Create (tmp new cur and maildirfolder), delete (the folder and its
 * files; not its children), rename (children move along). 0, or -1 with
 * *error_r: "exists", "no such folder", invalid name, I/O errors. */
int mailstore_folder_create(const char *root, const char *name,
			    const char **error_r)
	__attribute__((warn_unused_result));
int mailstore_folder_delete(const char *root, const char *name,
			    const char **error_r)
	__attribute__((warn_unused_result));
int mailstore_folder_rename(const char *root, const char *from, const char *to,
			    const char **error_r)
	__attribute__((warn_unused_result));

#endif
