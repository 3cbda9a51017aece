/* imapd: what the files of the IMAP server share. One process serves one
 * client at a time (master.cf "imap" and "imaps"); the process runs as
 * mail_owner and serves only the logged-in user's Maildir.
 *
 * Files, each one concern:
 *   main.c              parameters, tables and TLS context opened before
 *                       privileges are dropped; hands clients to the session
 *   imapd_session.c     one session: greeting, input loop feeding
 *                       lib/imap_parser, literals ("+ Ready" / [TOOBIG]),
 *                       error budget, timeouts, BYE, the last log line
 *   imapd_reply.c       untagged and tagged replies; the tagged ones first
 *                       report pending mailbox changes (imapd_view_sync)
 *   imapd_cmd.c         the command table (name, states, flags, handler)
 *                       and dispatch, UID prefix
 *   imapd_misc.c        CAPABILITY, NOOP, LOGOUT, ENABLE, ID, NAMESPACE
 *   imapd_auth.c        LOGIN, AUTHENTICATE PLAIN (SASL-IR), the user's
 *                       Maildir, special-use folders made for a new user
 *   imapd_tls.c         STARTTLS and implicit TLS
 *   imapd_idle.c        IDLE (inotify, "DONE")
 *   imapd_compress.c    COMPRESS=DEFLATE under the stream
 *   imapd_notify.c      NOTIFY (RFC 5465): the command and its state;
 *   imapd_notify_watch.c  the inotify watches of other mailboxes;
 *   imapd_notify_report.c untagged STATUS/LIST/FETCH it sends
 *   imapd_names.c       IMAP mailbox names <-> folders (mUTF-7, separator)
 *   imapd_mbox.h        what the mailbox-command files share
 *   imapd_mailbox.c     CREATE, DELETE, RENAME; special-use folders
 *   imapd_list.c        LIST (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE,
 *                       CHILDREN), LSUB
 *   imapd_subscribe.c   SUBSCRIBE, UNSUBSCRIBE and the subscriptions file
 *                       (lib/imap_subscriptions: Dovecot's format)
 *   imapd_status.c      STATUS (and the STATUS data LIST-STATUS returns)
 *   imapd_quota.c       GETQUOTA, GETQUOTAROOT, SETQUOTA (refused)
 *   imapd_metadata.c    GETMETADATA, SETMETADATA (lib/imap_metadata)
 *   imapd_select.c      SELECT, EXAMINE (CONDSTORE, QRESYNC), CLOSE,
 *                       UNSELECT, CHECK, EXPUNGE, UID EXPUNGE
 *   imapd_view.c        the selected mailbox as the client knows it:
 *                       sequence numbers, pending EXISTS/EXPUNGE/FETCH,
 *                       sequence-set resolution, the inotify watch
 *   imapd_flags.c       flag lists in and out, PERMANENTFLAGS
 *   imapd_store.c       STORE (UNCHANGEDSINCE)
 *   imapd_copy.c        COPY, MOVE (UIDPLUS COPYUID)
 *   imapd_append.c      APPEND, MULTIAPPEND, REPLACE
 *   imapd_fetch.c       FETCH: the command (lib/imap_fetch_items parses
 *                       the items), CHANGEDSINCE, VANISHED, \Seen;
 *   imapd_fetch_msg.c     one message's response;
 *   imapd_fetch_body.c    BODY[section]<partial>, BINARY, BINARY.SIZE
 *                         (imapd_fetch.h is theirs)
 *   imapd_msgdata.c     a message's octets, header, MIME tree and cached
 *                       ENVELOPE/BODYSTRUCTURE/BODY/preview/text map
 *                       (lib/mailstore_cache)
 *   imapd_search.c      SEARCH, ESEARCH, SEARCHRES: the command;
 *   imapd_search_match.c  the matching engine (cheap keys first);
 *   imapd_search_text.c   BODY/TEXT over decoded MIME text parts
 *                         (imapd_search.h is theirs)
 *   imapd_sort.c        SORT (RFC 5256; lib/imap_sort)
 *   imapd_thread.c      THREAD REFERENCES and ORDEREDSUBJECT
 *                       (lib/imap_thread)
 *
 * A command handler gets the session and the arguments after the command
 * name (after "UID NAME" for UID commands) and always ends by writing
 * exactly one tagged reply (imapd_ok, imapd_no or imapd_bad), unless it
 * ends the session (s->closing). */
#ifndef SUREL_IMAPD_H
#define SUREL_IMAPD_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "auth_client.h"
#include "buf.h"
#include "imap_arg.h"
#include "imap_parser.h"
#include "imap_seqset.h"
#include "maps.h"
#include "mailstore.h"
#include "mime.h"
#include "stream.h"
#include "tls.h"

/* Bad commands (BAD replies) before the session is ended with BYE. */
#define IMAPD_ERROR_LIMIT 20
/* Failed logins in one session before it is ended. */
#define IMAPD_AUTH_FAILURE_LIMIT 3
/* How long a goodbye may take to write. */
#define IMAPD_GOODBYE_TIMEOUT_MS 10000
/* Parser limits besides the configured line and literal sizes. */
#define IMAPD_DEPTH_MAX 32		/* nested lists */
#define IMAPD_ARGS_MAX 100000		/* values in one command */
#define IMAPD_RANGES_MAX 100000		/* ranges in one sequence set */
#define IMAPD_SEARCH_DEPTH_MAX 32
#define IMAPD_SEARCH_KEYS_MAX 10000
#define IMAPD_FIELDS_MAX 200		/* HEADER.FIELDS names */
/* Messages in one APPEND (MULTIAPPEND). */
#define IMAPD_APPEND_MESSAGES_MAX 1000
/* A SASL response line after "+ ". */
#define IMAPD_AUTH_LINE_MAX 8192
/* Longest IMAP mailbox name (UTF-8 octets). */
#define IMAPD_MAILBOX_NAME_MAX 1024

/* States, as bits so that the command table can list several. */
#define IMAPD_STATE_NOT_AUTH 0x1
#define IMAPD_STATE_AUTH 0x2
#define IMAPD_STATE_SELECTED 0x4
#define IMAPD_STATE_ANY 0x7

/* What the client turned on (ENABLE, or implied: SELECT (CONDSTORE),
 * a CONDSTORE-using command, QRESYNC implies CONDSTORE). */
#define IMAPD_ENABLED_CONDSTORE 0x01
#define IMAPD_ENABLED_QRESYNC 0x02
#define IMAPD_ENABLED_UTF8 0x04		/* UTF8=ACCEPT */
#define IMAPD_ENABLED_REV2 0x08		/* IMAP4rev2 */

/* main.cf values, read once per session (main.c). */
struct imapd_params {
	const char *banner;		/* imapd_banner */
	const char *mailbox_base;	/* virtual_mailbox_base */
	const char *recipient_delimiter;
	char auth_socket[4096];		/* queue_directory/private/auth */
	int timeout_ms;			/* imapd_timeout: autologout */
	int tls_timeout_ms;		/* smtpd_starttls_timeout */
	int idle_notify_ms;		/* imapd_idle_notify_interval */
	bool wrappermode;		/* imapd_tls_wrappermode (993) */
	bool disable_plaintext_auth;
	char separator;			/* imapd_hierarchy_separator: . or / */
	size_t line_max;		/* imapd_max_line_length */
	uint64_t append_limit;		/* imapd_append_limit: APPENDLIMIT */
	const char *special_use;	/* imapd_special_use */
	bool autocreate_special_use;	/* imapd_autocreate_special_use */
	const char *quota_maps;		/* virtual_mailbox_quota_maps */
	uint64_t quota_default;		/* virtual_mailbox_quota */
	uint64_t metadata_limit;	/* imapd_metadata_size_limit */
};

/* Opened before privileges are dropped (main.c). */
struct imapd_tables {
	struct maps *mailbox;		/* virtual_mailbox_maps */
	struct maps *quota;		/* virtual_mailbox_quota_maps or NULL */
	struct tls_server *tls;		/* NULL: no certificate configured */
};
extern struct imapd_tables imapd_tables;

/* One message of the selected mailbox as the client knows it: message
 * sequence number i + 1 is msgs[i]. */
struct imapd_view_msg {
	uint32_t uid;
	uint64_t modseq;	/* the MODSEQ whose flags the client was
				 * told (or had at SELECT) */
	bool expunged;		/* gone from the store; the client has not
				 * been told yet (EXPUNGE not allowed now) */
	bool recent;		/* \\Recent in this session (counted in
				 * imapd_selected.recent) */
};

/* The selected mailbox (imapd_select.c, imapd_view.c). */
struct imapd_selected {
	char *name;		/* IMAP name, UTF-8 */
	char *folder;		/* "INBOX" or the Maildir++ folder name */
	char *path;		/* the folder's directory */
	bool readonly;		/* EXAMINE */
	struct mailstore *box;
	struct imapd_view_msg *msgs;
	size_t count, alloc;
	uint32_t uidvalidity;
	uint32_t uidnext;	/* as last told */
	uint32_t recent;	/* as last told (RECENT count) */
	uint64_t highest_modseq;	/* as last told */
	int watch_fd;		/* inotify on new/, cur/, uidlist; or -1 */
	void *msgcache;		/* imapd_msgdata.c's state */
	uint32_t keywords_told;	/* bit i: keyword i was in the last FLAGS
				 * response (a new one means FLAGS again) */
};

/* The saved search result ("$", SEARCHRES): UIDs, kept across commands
 * while the mailbox stays selected. */
struct imapd_saved_search {
	uint32_t *uids;		/* owned, ascending */
	size_t count;
	bool valid;		/* false: "$" is the empty set */
};

struct imapd_stats {		/* Dovecot-like logout counters */
	uint64_t in_bytes, out_bytes;
	unsigned fetch_count, search_count, store_count, append_count;
	unsigned expunged;
	uint64_t fetch_bytes;
};

struct imapd_session {
	const struct imapd_params *p;
	struct stream *stream;
	struct imap_parser *parser;
	struct tls_conn *tls;		/* TLS is on when not NULL */
	void *compress;			/* imapd_compress.c's state, or NULL */
	unsigned state;			/* IMAPD_STATE_* (one bit) */
	unsigned enabled;		/* IMAPD_ENABLED_* */
	char rip[64], lip[64];		/* remote and local address */
	bool loopback;			/* client on 127.0.0.0/8 or ::1 */
	char user[AUTH_USER_MAX + 1];	/* logged in as (canonical) */
	char *maildir;			/* the user's Maildir (INBOX) */
	uint64_t quota_bytes;		/* the user's limit; 0: none */
	const char *end_reason;		/* for the last log line */
	unsigned error_count;
	unsigned auth_failures;
	bool closing;			/* end after this command */

	/* The command being run. */
	const char *tag;
	const char *cmd_name;		/* "FETCH" (also after UID) */
	bool cmd_uid;			/* given with the UID prefix */
	unsigned cmd_flags;		/* IMAPD_CMD_* of its table entry */
	bool tagged_sent;

	struct imapd_selected *sel;	/* SELECTED state only */
	struct imapd_saved_search saved;
	struct imapd_stats stats;
	void *notify;			/* imapd_notify.c's state (NOTIFY,
					 * RFC 5465), or NULL */
};

/* ---- imapd_cmd.c ---- */

/* Command table flags. */
#define IMAPD_CMD_UID 0x01	/* may follow "UID" */
#define IMAPD_CMD_SEQ 0x02	/* uses sequence numbers: without UID, no
				 * EXPUNGE may be sent while it runs
				 * (RFC 3501 7.4.1, RFC 9051 7.5.1) */
#define IMAPD_CMD_NOSYNC 0x04	/* its tagged reply does not report
				 * pending changes (LOGOUT, IDLE itself) */

typedef void imapd_cmd_fn(struct imapd_session *s,
			  const struct imap_arg *args);

struct imapd_cmd_def {
	const char *name;
	unsigned states;	/* IMAPD_STATE_* bits */
	unsigned flags;		/* IMAPD_CMD_* */
	imapd_cmd_fn *fn;
};

/* Runs cmd: state check, UID prefix, handler. */
void imapd_cmd_dispatch(struct imapd_session *s,
			const struct imap_command *cmd);

/* ---- imapd_reply.c ---- */

/* "* " fmt CRLF. */
void imapd_untagged(struct imapd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Tagged replies: "tag OK " fmt CRLF (fmt may start with "[CODE] ").
 * OK and NO first report pending changes of the selected mailbox
 * (imapd_view_sync; EXPUNGE only when the command allows it). BAD counts
 * against the error budget. */
void imapd_ok(struct imapd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imapd_no(struct imapd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imapd_bad(struct imapd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Raw output (a FETCH response built piece by piece, literals). */
void imapd_write(struct imapd_session *s, const void *data, size_t len);
void imapd_write_str(struct imapd_session *s, const char *str);
void imapd_printf(struct imapd_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The imap_string flags of the session (IMAP_STRING_UTF8 when UTF8=ACCEPT
 * or IMAP4rev2 is on). */
unsigned imapd_string_flags(const struct imapd_session *s);
/* Ends the session after this command with "* BYE text" (reason for the
 * log). */
void imapd_bye(struct imapd_session *s, const char *reason,
	       const char *text);

/* ---- imapd_misc.c ---- */

/* The capability list for the current state and TLS, without "CAPABILITY"
 * (also in the greeting and in the OK of LOGIN/AUTHENTICATE). */
void imapd_capabilities(const struct imapd_session *s, struct buf *out);

/* ---- imapd_names.c ---- */

/* A mailbox name as given by the client (astring; modified UTF-7 unless
 * UTF8=ACCEPT/IMAP4rev2) resolved to the UTF-8 name, the folder name of
 * mailstore.h ("INBOX" or the Maildir++ name) and the folder's directory.
 * 0, or -1 with *error_r: the caller replies "NO [CANNOT] *error_r" (bad
 * names) -- nothing is written by this function. The strings are new
 * (free()). */
int imapd_name_resolve(struct imapd_session *s, const struct imap_arg *arg,
		       char **name_r, char **folder_r, char **path_r,
		       const char **error_r)
	__attribute__((warn_unused_result));
/* Appends the client's form of the UTF-8 name (mUTF-7 or UTF-8) as an
 * IMAP string. 0 or -1 (out full). */
int imapd_name_write(const struct imapd_session *s, struct buf *out,
		     const char *name) __attribute__((warn_unused_result));
/* The special-use attribute ("\\Sent", ...) of a UTF-8 name, or NULL. */
const char *imapd_special_use_of(const struct imapd_session *s,
				 const char *name);

/* ---- imapd_view.c ---- */

/* Syncs the selected mailbox's store and tells the client what changed
 * since it last heard: EXPUNGE (VANISHED with QRESYNC) only when
 * allow_expunge (else expunged messages stay in the view, marked), then
 * EXISTS, RECENT, FETCH (FLAGS [MODSEQ]) for messages changed by others,
 * and HIGHESTMODSEQ when CONDSTORE is on. No-op outside SELECTED. */
void imapd_view_sync(struct imapd_session *s, bool allow_expunge);
/* The same without syncing the store first: for a command that has just
 * synced it (EXPUNGE, whose store sync ran under the uidlist lock). */
void imapd_view_report(struct imapd_session *s, bool allow_expunge);
/* The messages a sequence set (uid: a UID set) names, as ascending
 * message sequence numbers in *msns_r (new array, free(); count in
 * *count_r). "$" is the saved search result. Numbers beyond the view are
 * an error for a sequence set and ignored for a UID set. 0, or -1 with
 * *error_r (static; the caller replies BAD). */
int imapd_view_resolve(struct imapd_session *s, const struct imap_arg *arg,
		       bool uid, uint32_t **msns_r, size_t *count_r,
		       const char **error_r) __attribute__((warn_unused_result));
/* The store index of message msn, or -1 when the message is expunged
 * (by another session; not yet told). */
long imapd_view_index(struct imapd_session *s, uint32_t msn);
/* The inotify fd IDLE waits on (-1: none, IDLE polls), and the call that
 * empties it after it became readable. */
int imapd_view_watch_fd(struct imapd_session *s);
void imapd_view_watch_drain(struct imapd_session *s);
/* The client has now been told message msn's current flags (a FETCH
 * response with FLAGS): the next sync does not report them again. */
void imapd_view_told(struct imapd_session *s, uint32_t msn);
/* Frees the view and closes the mailbox (CLOSE, UNSELECT, SELECT of
 * another, logout). */
void imapd_view_close(struct imapd_session *s);
/* Fills the view from s->sel->box, just opened (SELECT, EXAMINE): every
 * message, its MODSEQ and \\Recent; uidnext, recent, highest_modseq. */
void imapd_view_init(struct imapd_session *s);
/* "* VANISHED [(EARLIER) ]uid-set" for ascending uids[0..n), in lines of
 * bounded length (QRESYNC). */
void imapd_view_vanished(struct imapd_session *s, bool earlier,
			 const uint32_t *uids, size_t n);
/* Appends ascending numbers nums[0..n) as a sequence set ("1:3,7"; ""
 * for none). 0 or -1 (out full). */
int imapd_view_set_write(struct buf *out, const uint32_t *nums, size_t n)
	__attribute__((warn_unused_result));

/* ---- imapd_flags.c ---- */

/* The flags and keywords of store message idx as "(\\Seen $Label1 ...)"
 * appended to out; with recent, "\\Recent" is added. 0 or -1 (full). */
int imapd_flags_write(struct imapd_session *s, size_t idx, bool recent,
		      struct buf *out) __attribute__((warn_unused_result));
/* A flag list as a client gives it (STORE, APPEND): a parenthesised
 * list, or flag atoms from arg on (arg->next...). System flags in any
 * case, keywords as atoms; \\Recent and unknown \\-flags are refused.
 * Keywords are looked up in box, and added to it when create (else an
 * unknown keyword is dropped: nothing to remove). 0 with the flags and
 * keyword bits, or -1 with *error_r (static) and *bad_r: true for a
 * syntax error (BAD), false for NO (all 26 keywords in use, a keyword
 * the folder cannot hold, I/O). */
int imapd_flags_parse(struct mailstore *box, const struct imap_arg *arg,
		      bool create, unsigned *flags_r, uint32_t *keywords_r,
		      bool *bad_r, const char **error_r)
	__attribute__((warn_unused_result));
/* The keywords box defines, as a mask (bit i: keyword i); a mask other
 * than s->sel->keywords_told means FLAGS must be sent again. */
uint32_t imapd_flags_defined(const struct mailstore *box);
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" for the selected
 * mailbox (its keywords; "\\*" while keywords can be added; none when
 * read-only), and records them as told. */
void imapd_flags_announce(struct imapd_session *s);
/* "* n FETCH (...)" for message msn (store index idx) after a flag
 * change: UID when uid or QRESYNC/IMAP4rev2 is on, MODSEQ when
 * CONDSTORE is on, FLAGS when flags; then the view counts its flags as
 * told. */
void imapd_flags_fetch_reply(struct imapd_session *s, uint32_t msn,
			     size_t idx, bool uid, bool flags);

/* ---- imapd_select.c ---- */

/* Deletes the selected mailbox's messages with these UIDs (EXPUNGE,
 * CLOSE, MOVE) and takes them off the user's Maildir++ quota; the
 * client hears of them at the next imapd_view_sync. 0, or -1 with
 * *error_r (static). */
int imapd_select_expunge(struct imapd_session *s, const uint32_t *uids,
			 size_t n, const char **error_r)
	__attribute__((warn_unused_result));

/* ---- imapd_store.c ---- */

/* Adds \Seen to those of messages msns[0..n) that lack it (FETCH of a
 * body section without .PEEK), in one step (one MODSEQ update of the
 * index). The caller's FETCH responses then carry FLAGS. 0, or -1 with
 * *error_r (static). */
/* The renames of the last STORE, after its reply: flushes the output
 * and finishes the store's pending flag change (the client was told OK
 * once the change was durable in the index). Called before the next
 * command is read; nothing when no change is pending. */
void imapd_store_finish(struct imapd_session *s);
int imapd_store_add_seen(struct imapd_session *s, const uint32_t *msns,
			 size_t n, const char **error_r)
	__attribute__((warn_unused_result));

/* ---- imapd_append.c ---- */

/* The Maildir++ quota around storing bytes more in count new messages
 * (APPEND, REPLACE; COPY may share it): the limit is s->quota_bytes
 * (without one, an existing maildirsize is only kept current, as
 * delivery does). 1 fits, 0 over quota (reply NO [OVERQUOTA]), -1 error
 * (logged). *active_r: imapd_append_quota_update must record what is
 * then stored or freed. */
int imapd_append_quota_check(struct imapd_session *s, uint64_t bytes,
			     uint64_t count, bool *active_r)
	__attribute__((warn_unused_result));
/* Records stored (positive) or freed (negative) octets and messages in
 * maildirsize when active; failures are logged (the next count fixes
 * the figures). */
void imapd_append_quota_update(struct imapd_session *s, bool active,
			       int64_t bytes, int64_t count);

/* ---- imapd_mailbox.c ---- */

/* After login: creates and subscribes the folders of imapd_special_use
 * when the user has none of them yet (imapd_autocreate_special_use).
 * Failures are logged, never fatal. */
void imapd_special_use_create(struct imapd_session *s);

/* ---- imapd_msgdata.c ---- */

/* A new session logged in with Maildir root maildir: the cache this
 * process kept from an earlier session is dropped unless it is one of
 * this user's folders (no user's mail stays in memory while the process
 * serves another). */
void imapd_msg_kept_cache_for(const char *maildir);

/* A message's contents for FETCH, SEARCH and SORT; msn is a sequence
 * number of the view. Each returns 1 with the data (valid until the next
 * call of these for another message, or imapd_msg_release), 0 when the
 * message is gone (expunged by someone else), -1 on an I/O error (logged).
 * Headers, BODYSTRUCTURE, BODY and the preview come from the mailbox's
 * cache (lib/mailstore_cache) once computed, without opening the file. */
int imapd_msg_header(struct imapd_session *s, uint32_t msn,
		     const char **data_r, size_t *len_r)
	__attribute__((warn_unused_result));
int imapd_msg_full(struct imapd_session *s, uint32_t msn,
		   const char **data_r, size_t *len_r)
	__attribute__((warn_unused_result));
/* The whole message and its MIME tree. */
int imapd_msg_mime(struct imapd_session *s, uint32_t msn,
		   const char **data_r, size_t *len_r,
		   const struct mime_message **mime_r)
	__attribute__((warn_unused_result));
/* Appends BODYSTRUCTURE (extended) or BODY. */
int imapd_msg_bodystructure(struct imapd_session *s, uint32_t msn,
			    bool extended, struct buf *out)
	__attribute__((warn_unused_result));
/* Appends ENVELOPE, from the cache once computed (cheaper than parsing the
 * header each time). Like BODYSTRUCTURE, its strings are in the plain
 * form (8-bit text as literals), valid whatever the client enabled. */
int imapd_msg_envelope(struct imapd_session *s, uint32_t msn,
		       struct buf *out) __attribute__((warn_unused_result));
/* PREVIEW (RFC 8970): up to 200 characters of plain text, UTF-8. */
int imapd_msg_preview(struct imapd_session *s, uint32_t msn,
		      struct buf *out) __attribute__((warn_unused_result));
/* The mime limits every parse of a message uses. */
extern const struct mime_limits imapd_mime_limits;
/* Drops the loaded message (end of a command). */
void imapd_msg_release(struct imapd_session *s);
/* The cache of the selected mailbox: opened at SELECT, closed (what was
 * added is written) with the mailbox. */
void imapd_msgcache_open(struct imapd_session *s);
void imapd_msgcache_close(struct imapd_session *s);

/* ---- handlers (one file each, see above) ---- */
imapd_cmd_fn imapd_cmd_capability, imapd_cmd_noop, imapd_cmd_logout,
	imapd_cmd_enable, imapd_cmd_id, imapd_cmd_namespace,
	imapd_cmd_starttls, imapd_cmd_login, imapd_cmd_authenticate,
	imapd_cmd_idle, imapd_cmd_compress,
	imapd_cmd_create, imapd_cmd_delete, imapd_cmd_rename,
	imapd_cmd_subscribe, imapd_cmd_unsubscribe, imapd_cmd_list,
	imapd_cmd_lsub, imapd_cmd_status, imapd_cmd_getquota,
	imapd_cmd_getquotaroot, imapd_cmd_setquota, imapd_cmd_getmetadata,
	imapd_cmd_setmetadata,
	imapd_cmd_select, imapd_cmd_examine, imapd_cmd_close,
	imapd_cmd_unselect, imapd_cmd_check, imapd_cmd_expunge,
	imapd_cmd_store, imapd_cmd_copy, imapd_cmd_move, imapd_cmd_append,
	imapd_cmd_fetch, imapd_cmd_search, imapd_cmd_sort, imapd_cmd_thread;
/* REPLACE and UID REPLACE (RFC 8508, imapd_append.c); like MOVE, it
 * reports the EXPUNGE of the message it replaced itself. */
imapd_cmd_fn imapd_cmd_replace;

/* ---- imapd_tls.c ---- */

/* Implicit TLS (imapd_tls_wrappermode): the handshake before the
 * greeting. 0, or -1 (logged, end_reason set): the session is over. */
int imapd_tls_start_implicit(struct imapd_session *s)
	__attribute__((warn_unused_result));

/* ---- imapd_compress.c ---- */

/* Takes COMPRESS=DEFLATE out from under the stream (pending output is
 * flushed first) and frees its state; no-op when it is not on. Called
 * before TLS is taken down at the end of a session. */
void imapd_compress_free(struct imapd_session *s);

/* ---- imapd_session.c ---- */

/* Runs one IMAP session on fd (the caller closes fd). */
void imapd_session_run(int fd, const struct imapd_params *p);
/* Reads one line of input outside the command parser (AUTHENTICATE's
 * responses, IDLE's "DONE"), CRLF removed, at most max octets: 1 with
 * *line_r (valid until the next read), 0 when the line was too long (it
 * was dropped), or -1 when the client is gone or timed out (end_reason
 * set, s->closing). Flushes output first. */
int imapd_read_line(struct imapd_session *s, size_t max, int timeout_ms,
		    const char **line_r, size_t *len_r)
	__attribute__((warn_unused_result));
/* True when a password may be sent now: TLS is on, or the client is on
 * loopback and disable_plaintext_auth is no. */
bool imapd_plaintext_allowed(const struct imapd_session *s);
/* Writes everything queued. 0, or -1 (end_reason set, s->closing). */
int imapd_flush(struct imapd_session *s);

/* ---- main.c ---- */
void imapd_params_load(struct imapd_params *p);

#endif
