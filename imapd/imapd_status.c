/* imapd_status: STATUS (RFC 3501 6.3.10, RFC 9051 6.3.11) with SIZE (RFC
 * 8438), HIGHESTMODSEQ (RFC 7162), APPENDLIMIT (RFC 7889) and MAILBOXID
 * (RFC 8474), and the STATUS responses of LIST-STATUS (RFC 5819).
 *
 * Every number comes from the store's index (sizes, flags, UIDs): no
 * message file is opened, so a STATUS of a large folder costs one read
 * of its index and directories. For the selected mailbox the numbers are
 * the view's, after reporting what changed (so they agree with the
 * EXISTS and FETCH the client has been told). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imapd.h"
#include "imapd_mbox.h"
#include "log.h"
#include "mailstore.h"
#include "mem.h"

static const struct {
	const char *name;
	unsigned item;
} status_items[] = {
	{ "MESSAGES", IMAPD_STATUS_MESSAGES },
	{ "RECENT", IMAPD_STATUS_RECENT },
	{ "UIDNEXT", IMAPD_STATUS_UIDNEXT },
	{ "UIDVALIDITY", IMAPD_STATUS_UIDVALIDITY },
	{ "UNSEEN", IMAPD_STATUS_UNSEEN },
	{ "DELETED", IMAPD_STATUS_DELETED },
	{ "SIZE", IMAPD_STATUS_SIZE },
	{ "HIGHESTMODSEQ", IMAPD_STATUS_HIGHESTMODSEQ },
	{ "APPENDLIMIT", IMAPD_STATUS_APPENDLIMIT },
	{ "MAILBOXID", IMAPD_STATUS_MAILBOXID },
};
#define STATUS_ITEM_COUNT (sizeof(status_items) / sizeof(status_items[0]))

int imapd_status_items(const struct imap_arg *list, unsigned *items_r,
		       const char **error_r)
{
	unsigned items = 0;

	if (list == NULL || list->type != IMAP_ARG_LIST ||
	    list->list_count == 0) {
		*error_r = "STATUS needs a list of items.";
		return -1;
	}
	for (const struct imap_arg *a = list->list; a != NULL; a = a->next) {
		const char *name;
		size_t i;

		if (!imap_arg_get_atom(a, &name)) {
			*error_r = "Invalid STATUS item.";
			return -1;
		}
		for (i = 0; i < STATUS_ITEM_COUNT; i++)
			if (strcasecmp(name, status_items[i].name) == 0)
				break;
		if (i == STATUS_ITEM_COUNT) {
			*error_r = "Unknown STATUS item.";
			return -1;
		}
		items |= status_items[i].item;
	}
	*items_r = items;
	return 0;
}

/* The numbers of one mailbox. */
struct status_data {
	uint64_t messages, recent, unseen, deleted, size;
	uint32_t uidnext, uidvalidity;
	uint64_t highestmodseq;
	const char *mailboxid;
};

static void count_msg(struct status_data *d, const struct mailstore_msg *m)
{
	if ((m->flags & MAILSTORE_FLAG_SEEN) == 0)
		d->unseen++;
	if ((m->flags & MAILSTORE_FLAG_DELETED) != 0)
		d->deleted++;
	d->size += m->vsize;
}

/* The selected mailbox as the client knows it. */
static void status_of_view(struct imapd_session *s, struct status_data *d)
{
	struct imapd_selected *sel = s->sel;

	d->messages = sel->count;
	d->recent = sel->recent;
	/* After the sync the view holds every message of the store: the
	 * store's figures are the ones the client can see. */
	d->uidnext = mailstore_uidnext(sel->box);
	d->uidvalidity = sel->uidvalidity;
	d->highestmodseq = mailstore_highest_modseq(sel->box);
	d->mailboxid = mailstore_guid(sel->box);
	for (size_t msn = 1; msn <= sel->count; msn++) {
		long idx = imapd_view_index(s, (uint32_t)msn);
		if (idx >= 0)
			count_msg(d, mailstore_msg(sel->box, (size_t)idx));
	}
}

static void status_of_box(struct mailstore *box, struct status_data *d)
{
	size_t n = mailstore_count(box);

	d->messages = n;
	d->uidnext = mailstore_uidnext(box);
	d->uidvalidity = mailstore_uidvalidity(box);
	d->highestmodseq = mailstore_highest_modseq(box);
	d->mailboxid = mailstore_guid(box);
	/* Recent for the next SELECT; this look claims nothing. */
	d->recent = mailstore_recent_count(box);
	for (size_t i = 0; i < n; i++)
		count_msg(d, mailstore_msg(box, i));
}

static int status_format(struct imapd_session *s, const char *name,
			 unsigned items, const struct status_data *d,
			 struct buf *out)
{
	const char *sp = "";
	int r = buf_append_str(out, "* STATUS ");

	if (r == 0)
		r = imapd_name_write(s, out, name);
	if (r == 0)
		r = buf_append_str(out, " (");
#define ITEM(flag, fmt, ...) \
	if (r == 0 && (items & (flag)) != 0) { \
		r = buf_printf(out, "%s" fmt, sp, __VA_ARGS__); \
		sp = " "; \
	}
	ITEM(IMAPD_STATUS_MESSAGES, "MESSAGES %llu",
	     (unsigned long long)d->messages)
	ITEM(IMAPD_STATUS_RECENT, "RECENT %llu", (unsigned long long)d->recent)
	ITEM(IMAPD_STATUS_UIDNEXT, "UIDNEXT %u", d->uidnext)
	ITEM(IMAPD_STATUS_UIDVALIDITY, "UIDVALIDITY %u", d->uidvalidity)
	ITEM(IMAPD_STATUS_UNSEEN, "UNSEEN %llu", (unsigned long long)d->unseen)
	ITEM(IMAPD_STATUS_DELETED, "DELETED %llu",
	     (unsigned long long)d->deleted)
	ITEM(IMAPD_STATUS_SIZE, "SIZE %llu", (unsigned long long)d->size)
	ITEM(IMAPD_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ %llu",
	     (unsigned long long)d->highestmodseq)
	ITEM(IMAPD_STATUS_APPENDLIMIT, "APPENDLIMIT %llu",
	     (unsigned long long)s->p->append_limit)
	ITEM(IMAPD_STATUS_MAILBOXID, "MAILBOXID (%s)", d->mailboxid)
#undef ITEM
	if (r == 0)
		r = buf_append_str(out, ")\r\n");
	return r;
}

int imapd_status_send(struct imapd_session *s, const char *name,
		      const char *folder, const char *path, unsigned items,
		      const char **error_r)
{
	struct status_data d = { 0 };
	struct mailstore *box = NULL;
	struct buf out;
	int ret;

	if (s->sel != NULL && strcmp(s->sel->folder, folder) == 0) {
		status_of_view(s, &d);
	} else {
		if (!imapd_folder_exists(path) ||
		    mailstore_open(path, 0, &box, error_r) < 0) {
			if (!imapd_folder_exists(path))
				*error_r = NULL;
			return -1;
		}
		status_of_box(box, &d);
	}
	buf_init(&out, IMAPD_MAILBOX_NAME_MAX * 4 + 1024);
	ret = status_format(s, name, items, &d, &out);
	if (ret == 0)
		imapd_write(s, out.data, out.len);
	else
		*error_r = "STATUS response too long";
	buf_deinit(&out);
	if (box != NULL)
		mailstore_close(&box);
	return ret;
}

void imapd_cmd_status(struct imapd_session *s, const struct imap_arg *args)
{
	char *name, *folder, *path;
	const char *error;
	unsigned items;

	if (args == NULL || args->next == NULL || args->next->next != NULL) {
		imapd_bad(s, "STATUS needs a mailbox name and a list of "
			  "items.");
		return;
	}
	if (imapd_status_items(args->next, &items, &error) < 0) {
		imapd_bad(s, "%s", error);
		return;
	}
	if (imapd_name_resolve(s, args, &name, &folder, &path, &error) < 0) {
		imapd_no(s, "[CANNOT] %s", error);
		return;
	}
	/* RFC 7162 3.1: STATUS HIGHESTMODSEQ turns CONDSTORE on. */
	if ((items & IMAPD_STATUS_HIGHESTMODSEQ) != 0)
		s->enabled |= IMAPD_ENABLED_CONDSTORE;
	if (s->sel != NULL && strcmp(s->sel->folder, folder) == 0)
		imapd_view_sync(s, (s->cmd_flags & IMAPD_CMD_SEQ) == 0);
	if (imapd_status_send(s, name, folder, path, items, &error) == 0) {
		imapd_ok(s, "Status completed.");
	} else if (error == NULL) {
		imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist.");
	} else {
		log_warn("user=%s: STATUS %s: %s", s->user, folder, error);
		imapd_no(s, "[SERVERBUG] Internal error, see the server log.");
	}
	free(name);
	free(folder);
	free(path);
}
