/* imapd_notify: the NOTIFY extension (RFC 5465). A client names
 * mailboxes (SELECTED, SELECTED-DELAYED, INBOXES, PERSONAL, SUBSCRIBED,
 * SUBTREE, MAILBOXES) and events (MessageNew with fetch-atts,
 * MessageExpunge, FlagChange, MailboxName, SubscriptionChange); from
 * then on the server tells it of those changes while it is idle, not
 * only at the end of commands and in IDLE:
 *   - the selected mailbox: the usual EXISTS, EXPUNGE (held back with
 *     SELECTED-DELAYED), FETCH FLAGS (imapd_view_sync), and a FETCH of
 *     the fetch-atts for each new message;
 *   - other mailboxes: "* STATUS" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN,
 *     HIGHESTMODSEQ with CONDSTORE) when they change, only what changed
 *     since the last one sent;
 *   - mailboxes created, deleted, renamed (MailboxName) and subscribed
 *     or unsubscribed (SubscriptionChange): "* LIST" responses.
 * Changes are seen through one inotify instance (new/ and cur/ of each
 * watched folder, the Maildir root for folders and the subscriptions
 * file), at most IMAPD_NOTIFY_MAILBOXES_MAX mailboxes; past that, NO or
 * "* OK [NOTIFICATIONOVERFLOW]" and NOTIFY is off, as the RFC says.
 *
 * Files: imapd_notify.c (the command, the filters, the session hooks),
 * imapd_notify_watch.c (the watches and each round of work),
 * imapd_notify_report.c (the STATUS, LIST and FETCH responses). */
#ifndef SUREL_IMAPD_NOTIFY_H
#define SUREL_IMAPD_NOTIFY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "imap_fetch_items.h"
#include "imapd.h"

/* Mailboxes with message events one session may watch (two inotify
 * watches each: fs.inotify.max_user_watches is shared by every imapd
 * process of the mail owner). */
#define IMAPD_NOTIFY_MAILBOXES_MAX 1000

/* ---- the hooks the rest of imapd calls ---- */

/* NOTIFY SET ... / NOTIFY NONE (authenticated and selected states). */
imapd_cmd_fn imapd_cmd_notify;
/* Between commands, once the replies are flushed and no input is
 * buffered: reports changes as they happen until the client sends
 * something (then the caller reads it as usual). Without NOTIFY it
 * returns at once. When the autologout time passes it returns with the
 * stream's timeout shortened so that the caller's read times out. 0, or
 * -1 when the session is over (s->closing: the server is stopping or
 * the client is gone). */
int imapd_notify_wait(struct imapd_session *s)
	__attribute__((warn_unused_result));
/* An fd that is readable while NOTIFY has something to report (IDLE
 * polls it beside the client and the selected mailbox), or -1. */
int imapd_notify_fd(struct imapd_session *s);
/* Reports what changed and flushes (IDLE, when that fd is readable;
 * expunges of the selected mailbox are allowed there). */
void imapd_notify_run(struct imapd_session *s);
/* Ends NOTIFY (logout, end of the session). */
void imapd_notify_free(struct imapd_session *s);

/* ---- between imapd_notify.c and imapd_notify_watch.c ---- */

#define NOTIFY_EV_MESSAGE_NEW		0x001
#define NOTIFY_EV_MESSAGE_EXPUNGE	0x002
#define NOTIFY_EV_FLAG_CHANGE		0x004
#define NOTIFY_EV_ANNOTATION_CHANGE	0x008
#define NOTIFY_EV_MAILBOX_NAME		0x010
#define NOTIFY_EV_SUBSCRIPTION_CHANGE	0x020
#define NOTIFY_EV_MAILBOX_METADATA	0x040
#define NOTIFY_EV_SERVER_METADATA	0x080
#define NOTIFY_EV_UNKNOWN		0x100	/* an event-ext */
#define NOTIFY_EV_MESSAGE (NOTIFY_EV_MESSAGE_NEW | \
			   NOTIFY_EV_MESSAGE_EXPUNGE | \
			   NOTIFY_EV_FLAG_CHANGE | NOTIFY_EV_ANNOTATION_CHANGE)
#define NOTIFY_EV_SUPPORTED (NOTIFY_EV_MESSAGE_NEW | \
			     NOTIFY_EV_MESSAGE_EXPUNGE | \
			     NOTIFY_EV_FLAG_CHANGE | NOTIFY_EV_MAILBOX_NAME | \
			     NOTIFY_EV_SUBSCRIPTION_CHANGE)

enum notify_filter {
	NOTIFY_FILTER_INBOXES,
	NOTIFY_FILTER_PERSONAL,
	NOTIFY_FILTER_SUBSCRIBED,
	NOTIFY_FILTER_SUBTREE,
	NOTIFY_FILTER_MAILBOXES,
};

/* One event group for mailboxes other than the selected one. */
struct notify_group {
	enum notify_filter filter;
	unsigned events;	/* NOTIFY_EV_*; 0 for NONE */
	char **names;		/* SUBTREE, MAILBOXES: UTF-8 names, owned */
	size_t count;
};

/* What one mailbox's STATUS says. */
struct notify_status {
	bool valid;		/* known (the folder could be read) */
	uint32_t uidvalidity, uidnext;
	uint64_t messages, unseen, highestmodseq;
};

/* A mailbox watched for message events. */
struct notify_box {
	char *folder;		/* "INBOX" or the Maildir++ name */
	char *name;		/* its UTF-8 IMAP name */
	unsigned events;	/* the message events wanted */
	int wd_new, wd_cur;	/* inotify watches; -1: none (yet) */
	unsigned retries;	/* watch attempts that found no new/ cur/ */
	bool dirty;		/* changed since its STATUS was looked at */
	struct notify_status st;	/* as last looked at */
};

/* A folder renamed, as inotify paired the two halves. */
struct notify_rename {
	uint32_t cookie;
	char *from, *to;	/* Maildir++ names; to NULL until seen */
};
#define NOTIFY_RENAMES_MAX 64
/* Rescans (RETRY_MS apart) that wait for a new folder's new/ and cur/. */
#define NOTIFY_INCOMPLETE_ROUNDS 30

struct imapd_notify {
	/* What the client asked for. */
	struct notify_group *groups;
	size_t ngroups;
	bool sel_set;		/* a SELECTED or SELECTED-DELAYED group */
	bool sel_delayed;
	unsigned sel_events;
	bool fetch_set;		/* MessageNew's fetch-atts for SELECTED */
	struct imap_fetch_items fetch;

	/* The selected mailbox as last seen here. */
	char *sel_folder;	/* NULL: none */
	uint32_t fetch_last_uid;	/* fetch-atts sent up to this UID */
	int sel_fd;		/* the view's watch in the epoll set; -1 */

	/* Watching. */
	int ep, in, timer;	/* epoll (in, timer, sel_fd), inotify,
				 * timerfd for work left over; -1 */
	int wd_root;
	char **folders;		/* existing folders (not INBOX), sorted */
	size_t nfolders;
	char **subs;		/* subscribed folders, sorted */
	size_t nsubs;
	struct notify_box *boxes;	/* sorted by folder, INBOX first */
	size_t nboxes;
	struct notify_rename renames[NOTIFY_RENAMES_MAX];
	size_t nrenames;
	bool rescan;		/* the folder list may have changed */
	bool rescan_later;	/* a new folder was not complete yet */
	unsigned incomplete_rounds;	/* rescans that found one so */
	bool subs_changed;	/* the subscriptions file may have changed */
	bool overflow;		/* NOTIFICATIONOVERFLOW: stop */
};

/* imapd_notify.c */

/* The events the groups give mailbox name (UTF-8), subscribed or
 * not: those of the groups that match, in order, up to one that says
 * NONE. */
unsigned notify_events_of(const struct imapd_session *s,
			  const struct imapd_notify *n, const char *name,
			  bool subscribed);

/* imapd_notify_watch.c */

/* Opens the watches and reads the mailboxes' state for a new n (groups
 * set). 0, or -1 with *error_r the text of the NO reply. */
int notify_watch_start(struct imapd_session *s, struct imapd_notify *n,
		       const char **error_r)
	__attribute__((warn_unused_result));
/* Closes what notify_watch_start opened and frees the lists. */
void notify_watch_stop(struct imapd_notify *n);
/* The STATUS indicator: the STATUS of every watched mailbox but the
 * selected one. */
void notify_watch_status_all(struct imapd_session *s, struct imapd_notify *n);
/* Reads what the epoll set has and reports it, a bounded amount of work
 * at a time (the timer is armed when some is left). allow_expunge:
 * EXPUNGE of the selected mailbox may be sent now. */
void notify_watch_process(struct imapd_session *s, struct imapd_notify *n,
			  bool allow_expunge);
/* Follows SELECT, CLOSE and the like: the view's watch in the epoll set
 * (with SELECTED events), and the mailbox left again counted as it is
 * now without a STATUS. */
void notify_watch_selected(struct imapd_session *s, struct imapd_notify *n);
/* Sorted string lists: membership, and the two lists read. */
bool notify_list_has(char *const *list, size_t n, const char *s);
int notify_subs_read(struct imapd_session *s, char ***subs_r, size_t *n_r)
	__attribute__((warn_unused_result));
int notify_folders_read(struct imapd_session *s, char ***folders_r,
			size_t *n_r) __attribute__((warn_unused_result));

/* imapd_notify_report.c */

/* A folder's STATUS numbers from its store; st->valid false when it
 * cannot be read (gone: nothing logged; else logged). */
void notify_status_read(struct imapd_session *s, const char *folder,
			struct notify_status *st);
/* Whether the change from old to now is one of events (a first look,
 * old not valid, always is). */
bool notify_status_wanted(const struct imapd_session *s,
			  const struct notify_status *old,
			  const struct notify_status *now, unsigned events);
/* "* STATUS name (MESSAGES UIDNEXT UIDVALIDITY UNSEEN [HIGHESTMODSEQ])"
 * from b->st. */
void notify_status_send(struct imapd_session *s, const struct notify_box *b);
/* One half of a folder rename as inotify told it (to: the new name). */
void notify_rename_note(struct imapd_notify *n, uint32_t cookie,
			const char *folder, bool to);
void notify_renames_clear(struct imapd_notify *n);
/* Reads the folder list again and sends LIST for what was created,
 * deleted or renamed (MailboxName). A new folder counts once its new/
 * and cur/ are there (CREATE makes the directory first): then it can be
 * watched at once, before the client hears of it (else
 * n->rescan_later). */
void notify_folders_update(struct imapd_session *s, struct imapd_notify *n);
/* Reads the subscriptions again and sends LIST for what was subscribed
 * or unsubscribed (SubscriptionChange). True when the box list depends
 * on them (a SUBSCRIBED group). */
bool notify_subs_update(struct imapd_session *s, struct imapd_notify *n);
/* The fetch-atts FETCH of the selected mailbox's new messages, a bounded
 * number at a time. True when some are left. */
bool notify_fetch_new(struct imapd_session *s, struct imapd_notify *n);

#endif
