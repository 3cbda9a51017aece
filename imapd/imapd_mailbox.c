/* imapd_mailbox: CREATE, DELETE and RENAME (RFC 3501 6.3.3-6.3.5, RFC
 * 9051), and the special-use folders a new user gets.
 *
 * Where the RFCs leave it open we do what Dovecot 2.3 does over the same
 * Maildir++ layout (checked side by side):
 *   - CREATE "a.b.c" makes only that folder; "a" and "a.b" are listed as
 *     \Noselect parents until they are made. A trailing separator is
 *     dropped ("x." makes "x").
 *   - DELETE of a folder with children deletes it; the children stay and
 *     it is listed as a \Noselect parent. DELETE (or RENAME) of the
 *     selected mailbox succeeds and then ends the session ("* BYE"), as
 *     the view has nothing left to show.
 *   - RENAME of a \Noselect parent moves its children.
 *   - Subscriptions are left as they are (RFC 3501 6.3.6).
 * RENAME INBOX moves INBOX's messages into the new folder and leaves
 * INBOX empty (RFC 3501 6.3.5; Dovecot refuses it for a Maildir root):
 * copied with their flags, keywords and dates, then expunged from INBOX,
 * so a crash in between duplicates but never loses. Its METADATA is
 * copied (RFC 5464 4.1); other folders carry theirs in their directory. */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imap_mailbox.h"
#include "imapd.h"
#include "imapd_mbox.h"
#include "log.h"
#include "maildir_quota.h"
#include "mailstore.h"
#include "mem.h"

/* A resolved mailbox argument. */
struct mbox {
	char *name, *folder, *path;
};

static void mbox_free(struct mbox *m)
{
	xfree(&m->name);
	xfree(&m->folder);
	xfree(&m->path);
}

static bool is_inbox(const struct mbox *m)
{
	return strcmp(m->folder, "INBOX") == 0;
}

/* True when the selected mailbox is folder or below it. */
static bool selected_within(const struct imapd_session *s, const char *folder)
{
	size_t n = strlen(folder);

	return s->sel != NULL && strncmp(s->sel->folder, folder, n) == 0 &&
	       (s->sel->folder[n] == '\0' || s->sel->folder[n] == '.');
}

static void internal_error(struct imapd_session *s, const char *what,
			   const char *folder, const char *error)
{
	log_warn("user=%s: %s %s: %s", s->user, what, folder, error);
	imapd_no(s, "[SERVERBUG] Internal error, see the server log.");
}

/* After the tagged OK: the selected mailbox is gone from under the view. */
static void selected_gone(struct imapd_session *s, const char *what)
{
	imapd_bye(s, "selected mailbox gone", what);
}

void imapd_cmd_create(struct imapd_session *s, const struct imap_arg *args)
{
	struct mbox m = { 0 };
	const char *str, *error;
	size_t len;

	if (args == NULL || args->next != NULL ||
	    !imap_arg_get_astring(args, &str, &len)) {
		imapd_bad(s, "CREATE needs one mailbox name.");
		return;
	}
	/* "x." (a parent to be, RFC 3501 6.3.3) is "x". */
	if (len > 1 && str[len - 1] == s->p->separator)
		len--;
	if (imapd_name_resolve_str(s, str, len, &m.name, &m.folder, &m.path,
				   &error) < 0) {
		imapd_no(s, "[CANNOT] %s", error);
		return;
	}
	if (is_inbox(&m)) {
		imapd_no(s, "[ALREADYEXISTS] Mailbox already exists.");
	} else if (mailstore_folder_create(s->maildir, m.folder,
					   &error) == 0) {
		imapd_ok(s, "Create completed.");
	} else if (strcmp(error, "exists") == 0) {
		imapd_no(s, "[ALREADYEXISTS] Mailbox already exists.");
	} else {
		internal_error(s, "CREATE", m.folder, error);
	}
	mbox_free(&m);
}

/* What the folder's messages take, for the Maildir++ quota file. */
static void quota_forget_folder(struct imapd_session *s, const char *path)
{
	struct mailstore *box;
	const char *error;
	int64_t bytes = 0, count = 0;

	if (mailstore_open(path, 0, &box, &error) < 0)
		return;
	for (size_t i = 0; i < mailstore_count(box); i++) {
		bytes += (int64_t)mailstore_msg(box, i)->size;
		count++;
	}
	mailstore_close(&box);
	if (count > 0 &&
	    maildir_quota_update(s->maildir, -bytes, -count, &error) < 0)
		log_warn("user=%s: quota update: %s", s->user, error);
}

void imapd_cmd_delete(struct imapd_session *s, const struct imap_arg *args)
{
	struct mbox m = { 0 };
	const char *error;
	bool was_selected;

	if (args == NULL || args->next != NULL) {
		imapd_bad(s, "DELETE needs one mailbox name.");
		return;
	}
	if (imapd_name_resolve(s, args, &m.name, &m.folder, &m.path,
			       &error) < 0) {
		imapd_no(s, "[CANNOT] %s", error);
		return;
	}
	if (is_inbox(&m)) {
		imapd_no(s, "[CANNOT] INBOX can't be deleted.");
		goto out;
	}
	if (!imapd_folder_exists(m.path)) {
		imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist.");
		goto out;
	}
	was_selected = s->sel != NULL && strcmp(s->sel->folder, m.folder) == 0;
	if (was_selected)
		imapd_view_close(s);
	quota_forget_folder(s, m.path);
	if (mailstore_folder_delete(s->maildir, m.folder, &error) < 0) {
		if (strcmp(error, "no such folder") == 0)
			imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist.");
		else
			internal_error(s, "DELETE", m.folder, error);
	} else {
		imapd_ok(s, "Delete completed.");
	}
	if (was_selected)
		selected_gone(s, "Selected mailbox was deleted, have to "
			      "disconnect.");
out:
	mbox_free(&m);
}

/* Copies INBOX's METADATA file to the new folder (RFC 5464 4.1). */
static void metadata_copy(struct imapd_session *s, const char *to_path)
{
	struct imapd_locked_file f = { .fd = -1 };
	char *from = NULL, *to = NULL, *data = NULL;
	const char *error = NULL;
	size_t len;
	int ret;

	from = xmalloc(strlen(s->maildir) + sizeof("/" IMAPD_METADATA_FILE));
	to = xmalloc(strlen(to_path) + sizeof("/" IMAPD_METADATA_FILE));
	memcpy(from, s->maildir, strlen(s->maildir) + 1);
	memcpy(to, to_path, strlen(to_path) + 1);
	memcpy(from + strlen(from), "/" IMAPD_METADATA_FILE,
	       sizeof("/" IMAPD_METADATA_FILE));
	memcpy(to + strlen(to), "/" IMAPD_METADATA_FILE,
	       sizeof("/" IMAPD_METADATA_FILE));
	ret = imapd_file_read(from, (size_t)s->p->metadata_limit * 2 + 65536,
			      &data, &len, &error);
	if (ret > 0 && imapd_file_lock(&f, to, &error) == 0)
		ret = imapd_file_commit(&f, data, len, &error) < 0 ? -1 : 1;
	if (ret < 0)
		log_warn("user=%s: RENAME INBOX: metadata: %s", s->user, error);
	imapd_file_unlock(&f);
	free(data);
	free(from);
	free(to);
}

/* Moves every message of INBOX into the (new, empty) folder at path. */
static int inbox_move_all(struct imapd_session *s, const char *path,
			  const char **error_r)
{
	struct mailstore *inbox = NULL, *dst = NULL;
	size_t n, *idx = NULL;
	uint32_t *uids = NULL, *old = NULL;
	int ret = -1;

	if (mailstore_open(s->maildir, 0, &inbox, error_r) < 0 ||
	    mailstore_open(path, 0, &dst, error_r) < 0)
		goto out;
	n = mailstore_count(inbox);
	idx = xcalloc(n + 1, sizeof(*idx));
	uids = xcalloc(n + 1, sizeof(*uids));
	old = xcalloc(n + 1, sizeof(*old));
	for (size_t i = 0; i < n; i++) {
		idx[i] = i;
		old[i] = mailstore_msg(inbox, i)->uid;
	}
	if (n > 0 && mailstore_copy(inbox, idx, n, dst, uids, NULL,
				    error_r) < 0)
		goto out;
	/* A message whose file vanished meanwhile (uids[i] 0) is gone from
	 * INBOX anyway: expunging its UID is harmless. */
	if (n > 0 && mailstore_expunge(inbox, old, n, NULL, NULL,
				       error_r) < 0)
		goto out;
	ret = 0;
out:
	if (inbox != NULL)
		mailstore_close(&inbox);
	if (dst != NULL)
		mailstore_close(&dst);
	free(idx);
	free(uids);
	free(old);
	return ret;
}

static void rename_inbox(struct imapd_session *s, const struct mbox *to)
{
	const char *error;

	if (mailstore_folder_create(s->maildir, to->folder, &error) < 0) {
		if (strcmp(error, "exists") == 0)
			imapd_no(s, "[ALREADYEXISTS] Target mailbox already "
				 "exists.");
		else
			internal_error(s, "RENAME INBOX", to->folder, error);
		return;
	}
	if (inbox_move_all(s, to->path, &error) < 0) {
		internal_error(s, "RENAME INBOX", to->folder, error);
		return;
	}
	metadata_copy(s, to->path);
	imapd_ok(s, "Rename completed.");
}

/* A \Noselect parent: its children are renamed one by one (each takes
 * its own children along, so the names are checked again as we go). */
static int rename_children(struct imapd_session *s, const char *from,
			   const char *to, bool *any_r, const char **error_r)
{
	char **all, target[MAILSTORE_FOLDER_MAX + 2];
	size_t n, flen = strlen(from);
	int ret = 0;

	*any_r = false;
	if (mailstore_folder_list(s->maildir, &all, &n, error_r) < 0)
		return -1;
	/* Every target must be free before anything moves. */
	for (size_t i = 0; i < n && ret == 0; i++) {
		char path[PATH_MAX];

		if (strncmp(all[i], from, flen) != 0 || all[i][flen] != '.')
			continue;
		if ((size_t)snprintf(target, sizeof(target), "%s%s", to,
				     all[i] + flen) >= sizeof(target) ||
		    mailstore_folder_path(s->maildir, target, path,
					  sizeof(path), error_r) < 0) {
			*error_r = "folder name too long";
			ret = -1;
		} else if (imapd_folder_exists(path)) {
			*error_r = "exists";
			ret = -1;
		}
	}
	for (size_t i = 0; i < n && ret == 0; i++) {
		char path[PATH_MAX];

		if (strncmp(all[i], from, flen) != 0 || all[i][flen] != '.')
			continue;
		/* Gone when it moved along with a child renamed before. */
		if (mailstore_folder_path(s->maildir, all[i], path,
					  sizeof(path), error_r) < 0 ||
		    !imapd_folder_exists(path))
			continue;
		if ((size_t)snprintf(target, sizeof(target), "%s%s", to,
				     all[i] + flen) >= sizeof(target)) {
			*error_r = "folder name too long";
			ret = -1;
			break;
		}
		ret = mailstore_folder_rename(s->maildir, all[i], target,
					      error_r);
		*any_r = true;
	}
	mailstore_folder_list_free(&all, n);
	return ret;
}

static void rename_error(struct imapd_session *s, const char *folder,
			 const char *error)
{
	if (strcmp(error, "exists") == 0)
		imapd_no(s, "[ALREADYEXISTS] Target mailbox already exists.");
	else if (strcmp(error, "no such folder") == 0)
		imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist.");
	else if (strcmp(error, "folder name too long") == 0 ||
		 strcmp(error, "invalid folder name") == 0)
		imapd_no(s, "[CANNOT] Mailbox name too long.");
	else
		internal_error(s, "RENAME", folder, error);
}

static void rename_folder(struct imapd_session *s, const struct mbox *from,
			  const struct mbox *to)
{
	size_t flen = strlen(from->folder);
	bool was_selected = selected_within(s, from->folder), any;
	const char *error;
	int ret;

	if (strcmp(from->folder, to->folder) == 0) {
		imapd_no(s, "[ALREADYEXISTS] Can't rename mailbox to itself.");
		return;
	}
	if (strncmp(to->folder, from->folder, flen) == 0 &&
	    to->folder[flen] == '.') {
		imapd_no(s, "[CANNOT] Can't rename mailbox under its own "
			 "child.");
		return;
	}
	if (was_selected)
		imapd_view_close(s);
	if (imapd_folder_exists(from->path)) {
		ret = mailstore_folder_rename(s->maildir, from->folder,
					      to->folder, &error);
	} else if (imapd_folder_exists(to->path)) {
		ret = -1;
		error = "exists";
	} else {
		ret = rename_children(s, from->folder, to->folder, &any,
				      &error);
		if (ret == 0 && !any) {
			ret = -1;
			error = "no such folder";
		}
	}
	if (ret < 0)
		rename_error(s, from->folder, error);
	else
		imapd_ok(s, "Rename completed.");
	if (was_selected)
		selected_gone(s, "Selected mailbox was renamed, have to "
			      "disconnect.");
}

void imapd_cmd_rename(struct imapd_session *s, const struct imap_arg *args)
{
	struct mbox from = { 0 }, to = { 0 };
	const char *error;

	if (args == NULL || args->next == NULL || args->next->next != NULL) {
		imapd_bad(s, "RENAME needs two mailbox names.");
		return;
	}
	if (imapd_name_resolve(s, args, &from.name, &from.folder, &from.path,
			       &error) < 0 ||
	    imapd_name_resolve(s, args->next, &to.name, &to.folder, &to.path,
			       &error) < 0) {
		imapd_no(s, "[CANNOT] %s", error);
	} else if (is_inbox(&to)) {
		imapd_no(s, "[ALREADYEXISTS] Target mailbox already exists.");
	} else if (is_inbox(&from)) {
		rename_inbox(s, &to);
	} else {
		rename_folder(s, &from, &to);
	}
	mbox_free(&from);
	mbox_free(&to);
}

/* The folder of a configured special-use name, or -1 (logged). */
static int special_folder(struct imapd_session *s, const char *name,
			  struct buf *folder)
{
	const char *error;

	buf_reset(folder);
	if (imap_mailbox_to_folder(name, strlen(name), s->p->separator,
				   folder, &error) < 0 ||
	    strcmp(folder->data, "INBOX") == 0) {
		log_warn("imapd_special_use: %s: %s", name,
			 strcmp(folder->data, "INBOX") == 0 ?
			 "INBOX cannot be a special-use folder" : error);
		return -1;
	}
	return 0;
}

/* True when at least one configured special-use folder exists. */
static bool special_any_exists(struct imapd_session *s)
{
	const char *cursor = s->p->special_use;
	struct buf name, attr, folder;
	char path[PATH_MAX];
	const char *error;
	bool found = false;

	buf_init(&name, IMAPD_MAILBOX_NAME_MAX + 1);
	buf_init(&attr, 64);
	buf_init(&folder, MAILSTORE_FOLDER_MAX + 1);
	while (!found && imapd_special_use_next(&cursor, &name, &attr))
		found = special_folder(s, name.data, &folder) == 0 &&
			mailstore_folder_path(s->maildir, folder.data, path,
					      sizeof(path), &error) == 0 &&
			imapd_folder_exists(path);
	buf_deinit(&name);
	buf_deinit(&attr);
	buf_deinit(&folder);
	return found;
}

void imapd_special_use_create(struct imapd_session *s)
{
	const char *cursor = s->p->special_use, *error;
	struct buf name, attr, folder;

	if (!s->p->autocreate_special_use || special_any_exists(s))
		return;
	buf_init(&name, IMAPD_MAILBOX_NAME_MAX + 1);
	buf_init(&attr, 64);
	buf_init(&folder, MAILSTORE_FOLDER_MAX + 1);
	while (imapd_special_use_next(&cursor, &name, &attr)) {
		if (special_folder(s, name.data, &folder) < 0)
			continue;
		if (mailstore_folder_create(s->maildir, folder.data,
					    &error) < 0 &&
		    strcmp(error, "exists") != 0) {
			log_warn("user=%s: special-use %s: %s", s->user,
				 folder.data, error);
			continue;
		}
		if (imapd_subscriptions_change(s, folder.data, true,
					       &error) < 0)
			log_warn("user=%s: subscribe %s: %s", s->user,
				 folder.data, error);
	}
	if (imapd_subscriptions_change(s, "INBOX", true, &error) < 0)
		log_warn("user=%s: subscribe INBOX: %s", s->user, error);
	buf_deinit(&name);
	buf_deinit(&attr);
	buf_deinit(&folder);
}
