/* imapd_notify_report: what NOTIFY tells the client (RFC 5465 5.1-5.5):
 *   - "* STATUS" for a mailbox other than the selected one whose
 *     messages arrived, went or changed flags (as far as UNSEEN and,
 *     with CONDSTORE, HIGHESTMODSEQ show it), as Dovecot sends it:
 *     MESSAGES UIDNEXT UIDVALIDITY UNSEEN [HIGHESTMODSEQ];
 *   - "* LIST" for a mailbox created, deleted (\NonExistent) or renamed
 *     (with the OLDNAME extended item of RFC 5465 5.4), and for one
 *     subscribed (\Subscribed) or unsubscribed (without it);
 *   - the FETCH of the MessageNew fetch-atts for each new message of
 *     the selected mailbox, after its EXISTS.
 * Folder and subscription changes are found by comparing the lists as
 * they are now with the lists as last seen; inotify's rename cookies
 * say which deletion and creation were one rename. */
#include "config.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imap_subscriptions.h"
#include "imapd_fetch.h"
#include "imapd_mbox.h"
#include "imapd_notify.h"
#include "log.h"
#include "mem.h"

/* FETCH responses of new messages in one round. */
#define FETCH_PER_ROUND 100
/* The most a FETCH response may take in memory (big literals are
 * streamed past it, imapd_fetch.h). */
#define FETCH_RESP_MAX (64u * 1024 * 1024)
#define NAME_BUF_MAX (IMAPD_MAILBOX_NAME_MAX * 2)

void notify_status_read(struct imapd_session *s, const char *folder,
			struct notify_status *st)
{
	char path[PATH_MAX];
	const char *error;
	struct mailstore *box;

	memset(st, 0, sizeof(*st));
	if (mailstore_folder_path(s->maildir, folder, path, sizeof(path),
				  &error) < 0 || !imapd_folder_exists(path))
		return;
	if (mailstore_open(path, 0, &box, &error) < 0) {
		/* Deleted meanwhile is no error. */
		if (imapd_folder_exists(path))
			log_warn("user=<%s>: NOTIFY: %s: %s", s->user, path,
				 error);
		return;
	}
	size_t count = mailstore_count(box);
	st->messages = count;
	for (size_t i = 0; i < count; i++)
		if ((mailstore_msg(box, i)->flags & MAILSTORE_FLAG_SEEN) == 0)
			st->unseen++;
	st->uidvalidity = mailstore_uidvalidity(box);
	st->uidnext = mailstore_uidnext(box);
	st->highestmodseq = mailstore_highest_modseq(box);
	mailstore_close(&box);
	st->valid = true;
}

bool notify_status_wanted(const struct imapd_session *s,
			  const struct notify_status *old,
			  const struct notify_status *now, unsigned events)
{
	bool condstore = (s->enabled & IMAPD_ENABLED_CONDSTORE) != 0;

	if (!old->valid || old->uidvalidity != now->uidvalidity)
		return true;
	uint64_t arrived = now->uidnext > old->uidnext ?
		now->uidnext - old->uidnext : 0;
	if (arrived > 0 && (events & NOTIFY_EV_MESSAGE_NEW) != 0)
		return true;
	/* More went than the count shows when some also arrived. */
	if (old->messages + arrived > now->messages &&
	    (events & NOTIFY_EV_MESSAGE_EXPUNGE) != 0)
		return true;
	return (events & NOTIFY_EV_FLAG_CHANGE) != 0 &&
	       (old->unseen != now->unseen ||
		(condstore && old->highestmodseq != now->highestmodseq));
}

void notify_status_send(struct imapd_session *s, const struct notify_box *b)
{
	const struct notify_status *st = &b->st;
	struct buf out;
	int r;

	buf_init(&out, IMAPD_MAILBOX_NAME_MAX * 4 + 256);
	r = buf_append_str(&out, "* STATUS ");
	if (r == 0)
		r = imapd_name_write(s, &out, b->name);
	if (r == 0)
		r = buf_printf(&out, " (MESSAGES %llu UIDNEXT %u "
			       "UIDVALIDITY %u UNSEEN %llu",
			       (unsigned long long)st->messages, st->uidnext,
			       st->uidvalidity, (unsigned long long)st->unseen);
	if (r == 0 && (s->enabled & IMAPD_ENABLED_CONDSTORE) != 0)
		r = buf_printf(&out, " HIGHESTMODSEQ %llu",
			       (unsigned long long)st->highestmodseq);
	if (r == 0)
		r = buf_append_str(&out, ")\r\n");
	if (r == 0)
		imapd_write(s, out.data, out.len);
	buf_deinit(&out);
}

void notify_rename_note(struct imapd_notify *n, uint32_t cookie,
			const char *folder, bool to)
{
	if (!to) {
		/* Past the limit the halves are a deletion and a creation. */
		if (n->nrenames == NOTIFY_RENAMES_MAX)
			return;
		n->renames[n->nrenames].cookie = cookie;
		n->renames[n->nrenames].from = xstrdup(folder);
		n->renames[n->nrenames++].to = NULL;
		return;
	}
	for (size_t i = 0; i < n->nrenames; i++) {
		struct notify_rename *r = &n->renames[i];
		if (r->cookie == cookie && r->to == NULL) {
			r->to = xstrdup(folder);
			return;
		}
	}
}

void notify_renames_clear(struct imapd_notify *n)
{
	for (size_t i = 0; i < n->nrenames; i++) {
		free(n->renames[i].from);
		free(n->renames[i].to);
	}
	n->nrenames = 0;
}

/* Whether a folder has folders below it ("a" has "a.b"). */
static bool has_children(const struct imapd_notify *n, const char *folder)
{
	size_t len = strlen(folder), lo = 0, hi = n->nfolders;

	/* The first folder not below folder + "." in sort order. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(n->folders[mid], folder, len);
		if (c < 0 || (c == 0 && n->folders[mid][len] < '.'))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n->nfolders && strncmp(n->folders[lo], folder, len) == 0 &&
	       n->folders[lo][len] == '.';
}

/* "* LIST (attributes) "sep" name [("OLDNAME" (old))]". */
static void list_send(struct imapd_session *s, const struct imapd_notify *n,
		      const char *folder, const char *name, const char *old,
		      bool exists, bool subscribed)
{
	const char *special = exists ? imapd_special_use_of(s, name) : NULL;
	struct buf out;
	int r;

	buf_init(&out, IMAPD_MAILBOX_NAME_MAX * 8 + 256);
	r = buf_printf(&out, "* LIST (%s%s%s%s) \"%c\" ",
		       !exists ? "\\NonExistent" :
		       has_children(n, folder) ? "\\HasChildren" :
		       "\\HasNoChildren", subscribed ? " \\Subscribed" : "",
		       special != NULL ? " " : "",
		       special != NULL ? special : "", s->p->separator);
	if (r == 0)
		r = imapd_name_write(s, &out, name);
	if (r == 0 && old != NULL) {
		r = buf_append_str(&out, " (\"OLDNAME\" (");
		if (r == 0)
			r = imapd_name_write(s, &out, old);
		if (r == 0)
			r = buf_append_str(&out, "))");
	}
	if (r == 0)
		r = buf_append_str(&out, "\r\n");
	if (r == 0)
		imapd_write(s, out.data, out.len);
	buf_deinit(&out);
}

/* MailboxName: from NULL for a creation, to NULL for a deletion. Told
 * when the groups want it for the old or the new name. */
static void report_name(struct imapd_session *s, const struct imapd_notify *n,
			const char *from, const char *to)
{
	struct buf oldname, newname;
	bool want = false;

	buf_init(&oldname, NAME_BUF_MAX);
	buf_init(&newname, NAME_BUF_MAX);
	if (from != NULL && imapd_name_from_folder(s, from, &oldname) == 0)
		want |= (notify_events_of(s, n, oldname.data,
			 notify_list_has(n->subs, n->nsubs, from)) &
			 NOTIFY_EV_MAILBOX_NAME) != 0;
	else
		from = NULL;
	if (to != NULL && imapd_name_from_folder(s, to, &newname) == 0)
		want |= (notify_events_of(s, n, newname.data,
			 notify_list_has(n->subs, n->nsubs, to)) &
			 NOTIFY_EV_MAILBOX_NAME) != 0;
	else
		to = NULL;
	if (want && to != NULL)
		list_send(s, n, to, newname.data,
			  from != NULL ? oldname.data : NULL, true, false);
	else if (want && from != NULL)
		list_send(s, n, from, oldname.data, NULL, false, false);
	buf_deinit(&oldname);
	buf_deinit(&newname);
}

/* Marks in gone[] what only a has and in added[] what only b has (both
 * sorted). */
static void lists_diff(char *const *a, size_t na, char *const *b, size_t nb,
		       bool *gone, bool *added)
{
	size_t i = 0, j = 0;

	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i], b[j]);
		if (c < 0)
			gone[i++] = true;
		else if (c > 0)
			added[j++] = true;
		else
			i++, j++;
	}
}

/* Index of str in a sorted list, or SIZE_MAX. */
static size_t list_index(char *const *list, size_t n, const char *str)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(list[mid], str);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

/* Whether folder has its new/ and cur/. */
static bool folder_complete(const struct imapd_session *s, const char *folder)
{
	char path[PATH_MAX], sub[PATH_MAX + 8];
	const char *error;

	if (mailstore_folder_path(s->maildir, folder, path, sizeof(path),
				  &error) < 0)
		return false;
	snprintf(sub, sizeof(sub), "%s/new", path);
	if (!imapd_folder_exists(sub))
		return false;
	snprintf(sub, sizeof(sub), "%s/cur", path);
	return imapd_folder_exists(sub);
}

/* Leaves out of now the new folders that are not complete yet (for
 * NOTIFY_INCOMPLETE_ROUNDS rescans at most: a stray directory is taken
 * as it is then). */
static void drop_incomplete(struct imapd_session *s, struct imapd_notify *n,
			    char **now, size_t *count)
{
	size_t kept = 0;
	bool later = false;

	for (size_t j = 0; j < *count; j++) {
		if (n->incomplete_rounds < NOTIFY_INCOMPLETE_ROUNDS &&
		    list_index(n->folders, n->nfolders, now[j]) == SIZE_MAX &&
		    !folder_complete(s, now[j])) {
			free(now[j]);
			later = true;
			continue;
		}
		now[kept++] = now[j];
	}
	*count = kept;
	n->rescan_later = later;
	n->incomplete_rounds = later ? n->incomplete_rounds + 1 : 0;
}

void notify_folders_update(struct imapd_session *s, struct imapd_notify *n)
{
	char **old = n->folders, **now;
	size_t nold = n->nfolders, count;

	n->rescan = false;
	if (notify_folders_read(s, &now, &count) < 0) {
		notify_renames_clear(n);
		return;
	}
	drop_incomplete(s, n, now, &count);
	/* The attributes of the LIST responses are the new list's. */
	n->folders = now;
	n->nfolders = count;
	bool *gone = xcalloc(nold + 1, sizeof(*gone));
	bool *added = xcalloc(count + 1, sizeof(*added));
	lists_diff(old, nold, now, count, gone, added);
	for (size_t r = 0; r < n->nrenames; r++) {
		if (n->renames[r].to == NULL)
			continue;
		size_t i = list_index(old, nold, n->renames[r].from);
		size_t j = list_index(now, count, n->renames[r].to);
		if (i == SIZE_MAX || j == SIZE_MAX || !gone[i] || !added[j])
			continue;
		report_name(s, n, old[i], now[j]);
		gone[i] = added[j] = false;
	}
	for (size_t i = 0; i < nold; i++)
		if (gone[i])
			report_name(s, n, old[i], NULL);
	for (size_t j = 0; j < count; j++)
		if (added[j])
			report_name(s, n, NULL, now[j]);
	free(gone);
	free(added);
	mailstore_folder_list_free(&old, nold);
	notify_renames_clear(n);
}

/* SubscriptionChange for one folder. */
static void report_subscription(struct imapd_session *s,
				const struct imapd_notify *n,
				const char *folder, bool subscribed)
{
	struct buf name;

	buf_init(&name, NAME_BUF_MAX);
	/* A SUBSCRIBED group matches a name that was or is subscribed. */
	if (imapd_name_from_folder(s, folder, &name) == 0 &&
	    (notify_events_of(s, n, name.data, true) &
	     NOTIFY_EV_SUBSCRIPTION_CHANGE) != 0) {
		bool exists = strcmp(folder, "INBOX") == 0 ||
			notify_list_has(n->folders, n->nfolders, folder);
		list_send(s, n, folder, name.data, NULL, exists, subscribed);
	}
	buf_deinit(&name);
}

bool notify_subs_update(struct imapd_session *s, struct imapd_notify *n)
{
	char **old = n->subs, **now;
	size_t nold = n->nsubs, count;
	bool changed = false, depends = false;

	n->subs_changed = false;
	if (notify_subs_read(s, &now, &count) < 0)
		return false;
	bool *gone = xcalloc(nold + 1, sizeof(*gone));
	bool *added = xcalloc(count + 1, sizeof(*added));
	lists_diff(old, nold, now, count, gone, added);
	n->subs = now;
	n->nsubs = count;
	for (size_t i = 0; i < nold; i++)
		if (gone[i]) {
			report_subscription(s, n, old[i], false);
			changed = true;
		}
	for (size_t j = 0; j < count; j++)
		if (added[j]) {
			report_subscription(s, n, now[j], true);
			changed = true;
		}
	free(gone);
	free(added);
	imap_subscriptions_free(&old, nold);
	for (size_t g = 0; g < n->ngroups; g++)
		depends |= n->groups[g].filter == NOTIFY_FILTER_SUBSCRIBED;
	return changed && depends;
}

/* The first view index whose UID is above uid. */
static size_t view_after(const struct imapd_selected *sel, uint32_t uid)
{
	size_t lo = 0, hi = sel->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sel->msgs[mid].uid <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool notify_fetch_new(struct imapd_session *s, struct imapd_notify *n)
{
	struct imapd_selected *sel = s->sel;
	struct imapd_fetch_ctx ctx;

	if (!n->fetch_set || sel == NULL || sel->count == 0 ||
	    sel->msgs[sel->count - 1].uid <= n->fetch_last_uid)
		return false;
	memset(&ctx, 0, sizeof(ctx));
	ctx.s = s;
	ctx.items = n->fetch;	/* borrowed: n owns the items */
	if ((ctx.items.mask & IMAP_FETCH_BIT(IMAP_FETCH_ENVELOPE)) != 0)
		ctx.need |= IMAPD_FETCH_NEED_HEADER;
	for (size_t i = 0; i < ctx.items.count; i++)
		ctx.need |= imapd_fetch_body_need(&ctx.items.items[i]);
	/* As imapd_cmd_fetch sets its context up (imapd_fetch.h). */
	buf_init(&ctx.resp, FETCH_RESP_MAX);
	buf_init(&ctx.tmp, 64);
	ctx.block = xmalloc(2 * IMAPD_FETCH_BLOCK);
	buf_init(&ctx.env, FETCH_RESP_MAX);
	size_t i = view_after(sel, n->fetch_last_uid);
	for (size_t budget = FETCH_PER_ROUND;
	     i < sel->count && budget > 0 && !s->closing; i++, budget--) {
		long idx = imapd_view_index(s, (uint32_t)(i + 1));
		n->fetch_last_uid = sel->msgs[i].uid;
		/* Never \Seen: the fetch-atts are answered as .PEEK. */
		if (idx >= 0)
			(void)imapd_fetch_msg_write(&ctx, (uint32_t)(i + 1),
						    (size_t)idx, false);
	}
	imapd_msg_release(s);
	buf_deinit(&ctx.resp);
	buf_deinit(&ctx.tmp);
	free(ctx.block);
	buf_deinit(&ctx.env);
	return i < sel->count;
}
