/* imapd_append: APPEND (RFC 3501 6.3.11, RFC 9051 6.3.12) with
 * MULTIAPPEND (RFC 3502: several messages, all or nothing), literal8 data
 * (BINARY, RFC 3516), the UTF8 data item (UTF8=ACCEPT, RFC 6855),
 * APPENDUID (UIDPLUS, RFC 4315), and REPLACE / UID REPLACE (RFC 8508).
 *
 * The session's parser has read every literal whole before the command
 * reaches us (a synchronising literal over imapd_append_limit was already
 * refused with [TOOBIG] before the client sent it), so every message is
 * checked before any is written: an error in the last message of a
 * MULTIAPPEND leaves no message behind (keywords its flag lists named
 * may stay defined, as in Dovecot). mailstore_save writes, fsyncs and
 * renames all messages as one step, so the tagged OK is sent only when
 * every message is on disk.
 *
 * Choices where the RFCs leave room, as Dovecot does: an empty message is
 * refused with NO; \Recent or an unknown system flag is BAD; a new
 * keyword is added to the mailbox's keywords. Unlike Dovecot, an invalid
 * date ("31-Feb-2024") is BAD rather than moved to another day, and a
 * NUL in a plain literal (CHAR8 excludes it) is NO: such data must come
 * as a literal8. */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "imap_date.h"
#include "log.h"
#include "maildir_quota.h"
#include "mem.h"
#include "imapd.h"

struct append_msg {
	const char *data;
	size_t len;
	const struct imap_arg *flag_list;	/* or NULL */
	int64_t date;			/* 0: now */
};

/* The parsed command: what APPEND and REPLACE share. */
struct append_req {
	const struct imap_arg *mailbox;
	struct append_msg *msgs;
	size_t count;
	uint64_t bytes;			/* stored size of all (LF line ends) */
};

/* The mailbox the messages go to. */
struct append_target {
	char *name, *folder, *path;
	struct mailstore *box;
	bool own_box;			/* opened here (not the selected one) */
};

static void append_req_free(struct append_req *req)
{
	xfree(&req->msgs);
}

/* ---- parsing ---- */

/* Octets mailstore_save stores: CRLF becomes LF. */
static uint64_t append_stored_size(const char *data, size_t len)
{
	uint64_t size = len;

	for (const char *p = data, *end = data + len;
	     (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++)
		if (p + 1 < end && p[1] == '\n')
			size--;
	return size;
}

/* The message data: a literal, a literal8, or (UTF8=ACCEPT) the UTF8
 * data item, "UTF8 (" literal8 ")". Advances *ap past it. NULL, or the
 * reason for BAD (*no_r: for NO). */
static const char *append_data_parse(struct imapd_session *s,
				     const struct imap_arg **ap,
				     struct append_msg *m, bool *no_r)
{
	const struct imap_arg *a = *ap;
	bool binary;

	if (a != NULL && a->type == IMAP_ARG_ATOM &&
	    strcasecmp(a->str, "UTF8") == 0) {
		if ((s->enabled & IMAPD_ENABLED_UTF8) == 0)
			return "The UTF8 data item needs ENABLE UTF8=ACCEPT.";
		a = a->next;
		if (a == NULL || a->type != IMAP_ARG_LIST ||
		    a->list_count != 1 || a->list->type != IMAP_ARG_LITERAL8)
			return "UTF8 must be followed by (~{size}).";
		m->data = a->list->str;
		m->len = a->list->len;
		binary = true;
	} else if (a != NULL && (a->type == IMAP_ARG_LITERAL ||
				 a->type == IMAP_ARG_LITERAL8)) {
		m->data = a->str;
		m->len = a->len;
		binary = a->type == IMAP_ARG_LITERAL8;
	} else {
		return "Missing message literal.";
	}
	*ap = a->next;
	*no_r = true;
	if (m->len == 0)
		return "Can't save a zero byte message.";
	if (m->len > s->p->append_limit)
		return "[TOOBIG] Message too large.";
	if (!binary && memchr(m->data, '\0', m->len) != NULL)
		return "Message contains NUL octets: send it as a literal8 "
		       "(~{size}, BINARY).";
	*no_r = false;
	return NULL;
}

/* One append-message: [flag-list] [date-time] data. */
static const char *append_msg_parse(struct imapd_session *s,
				    const struct imap_arg **ap,
				    struct append_msg *m, bool *no_r)
{
	const struct imap_arg *a = *ap;

	memset(m, 0, sizeof(*m));
	/* The flags are read once the mailbox is open (its keywords). */
	if (a != NULL && a->type == IMAP_ARG_LIST) {
		m->flag_list = a;
		a = a->next;
	}
	if (a != NULL && a->type == IMAP_ARG_STRING) {
		if (imap_date_time_parse(a->str, a->len, &m->date) < 0)
			return "Invalid date-time.";
		/* 0 means "now" to mailstore_save: the epoch itself is
		 * one second later, which no client will mind. */
		if (m->date == 0)
			m->date = 1;
		a = a->next;
	}
	*ap = a;
	return append_data_parse(s, ap, m, no_r);
}

/* mailbox 1*append-message (max_msgs: 1 for REPLACE). 0, or -1 after the
 * tagged reply. */
static int append_req_parse(struct imapd_session *s,
			    const struct imap_arg *args, size_t max_msgs,
			    struct append_req *req)
{
	const struct imap_arg *a;
	size_t alloc = 0;
	const char *error = NULL;
	bool no = false;

	memset(req, 0, sizeof(*req));
	req->mailbox = args;
	if (args == NULL || args->next == NULL) {
		imapd_bad(s, "Missing arguments.");
		return -1;
	}
	for (a = args->next; a != NULL && error == NULL;) {
		if (req->count == max_msgs) {
			if (max_msgs == 1) {
				error = "Only one message may be given.";
			} else {
				error = "[LIMIT] Too many messages in one "
					"APPEND.";
				no = true;
			}
			break;
		}
		if (req->count == alloc) {
			alloc = alloc == 0 ? 4 : alloc * 2;
			req->msgs = xreallocarray(req->msgs, alloc,
						  sizeof(*req->msgs));
		}
		struct append_msg *m = &req->msgs[req->count];
		error = append_msg_parse(s, &a, m, &no);
		if (error == NULL) {
			req->bytes += append_stored_size(m->data, m->len);
			req->count++;
		}
	}
	if (error == NULL)
		return 0;
	if (no)
		imapd_no(s, "%s", error);
	else
		imapd_bad(s, "%s", error);
	append_req_free(req);
	return -1;
}

/* ---- the target mailbox ---- */

static void append_target_close(struct append_target *t)
{
	if (t->own_box)
		mailstore_close(&t->box);
	t->box = NULL;
	xfree(&t->name);
	xfree(&t->folder);
	xfree(&t->path);
}

/* Resolves and opens the mailbox (the selected one's store when it is
 * that one). INBOX is made when missing (it always exists for IMAP);
 * another missing mailbox is NO [TRYCREATE] (RFC 3501: the client may
 * CREATE it and try again). 0, or -1 after the tagged reply. */
static int append_target_open(struct imapd_session *s,
			      const struct imap_arg *mailbox,
			      struct append_target *t)
{
	const char *error;
	char cur[PATH_MAX];
	struct stat st;
	bool inbox;
	int n;

	memset(t, 0, sizeof(*t));
	if (imapd_name_resolve(s, mailbox, &t->name, &t->folder, &t->path,
			       &error) < 0) {
		imapd_no(s, "[CANNOT] %s", error);
		return -1;
	}
	if (s->sel != NULL && strcmp(s->sel->folder, t->folder) == 0) {
		t->box = s->sel->box;
		return 0;
	}
	inbox = strcmp(t->folder, "INBOX") == 0;
	n = snprintf(cur, sizeof(cur), "%s/cur", t->path);
	if (!inbox && (n < 0 || (size_t)n >= sizeof(cur) ||
		       stat(cur, &st) < 0 || !S_ISDIR(st.st_mode))) {
		imapd_no(s, "[TRYCREATE] Mailbox doesn't exist.");
		append_target_close(t);
		return -1;
	}
	if (mailstore_open(t->path, inbox ? MAILSTORE_OPEN_CREATE : 0,
			   &t->box, &error) < 0) {
		log_error("user %s: APPEND: open %s: %s", s->user, t->path,
			  error);
		imapd_no(s, "[SERVERBUG] Internal error opening the mailbox.");
		append_target_close(t);
		return -1;
	}
	t->own_box = true;
	return 0;
}

/* The flags and keywords of a message's flag list (new keywords are
 * added to the target's). 0, or -1 after the tagged reply. */
static int append_flags(struct imapd_session *s, struct mailstore *box,
			const struct append_msg *m, unsigned *flags_r,
			uint32_t *keywords_r)
{
	const char *error;
	bool bad;

	*flags_r = 0;
	*keywords_r = 0;
	if (m->flag_list == NULL ||
	    imapd_flags_parse(box, m->flag_list, true, flags_r, keywords_r,
			      &bad, &error) == 0)
		return 0;
	if (bad)
		imapd_bad(s, "%s.", error);
	else
		imapd_no(s, "%s.", error);
	return -1;
}

/* ---- quota ---- */

int imapd_append_quota_check(struct imapd_session *s, uint64_t bytes,
			     uint64_t count, bool *active_r)
{
	static const struct maildir_quota_limit none = { 0, 0 };
	struct maildir_quota_limit limit = { s->quota_bytes, 0 };
	struct maildir_quota_usage usage;
	char path[PATH_MAX];
	const char *error;
	struct stat st;
	int n, ret;

	*active_r = false;
	if (s->quota_bytes == 0) {
		/* No limit: keep an existing maildirsize current (its
		 * limit line says "none"), as delivery does. */
		n = snprintf(path, sizeof(path), "%s/%s", s->maildir,
			     MAILDIR_QUOTA_FILE);
		if (n < 0 || (size_t)n >= sizeof(path) ||
		    lstat(path, &st) < 0)
			return 1;
		*active_r = true;
		if (maildir_quota_get(s->maildir, &none, &usage, NULL,
				      &error) < 0)
			log_warn("user %s: quota: %s", s->user, error);
		return 1;
	}
	ret = maildir_quota_check(s->maildir, &limit, bytes, count, &usage,
				  &error);
	if (ret < 0) {
		log_error("user %s: quota: %s", s->user, error);
		return -1;
	}
	*active_r = true;
	return ret;
}

void imapd_append_quota_update(struct imapd_session *s, bool active,
			       int64_t bytes, int64_t count)
{
	const char *error;

	if (active && (bytes != 0 || count != 0) &&
	    maildir_quota_update(s->maildir, bytes, count, &error) < 0)
		log_warn("user %s: quota update: %s", s->user, error);
}

/* ---- saving ---- */

/* Appends uids[0..n) as a uid-set ("5:7,9") to out. */
static void append_uid_set(const uint32_t *uids, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (buf_printf(out, i == 0 ? "%u" : ",%u", uids[i]) < 0 ||
		    (j > i && buf_printf(out, ":%u", uids[j]) < 0))
			break;	/* cannot happen: out is sized for n */
		i = j + 1;
	}
}

/* Saves the messages of req into t (keywords, quota with freed octets
 * already counted against bytes_freed, mailstore_save). uids_r gets
 * req->count UIDs. 0, or -1 after the tagged reply. */
static int append_save(struct imapd_session *s, const struct append_req *req,
		       struct append_target *t, uint64_t bytes_freed,
		       uint32_t *uids_r)
{
	struct mailstore_new_msg *nm;
	uint64_t stored = 0, need;
	const char *error;
	bool quota_active;
	int ret = -1;

	nm = xcalloc(req->count, sizeof(*nm));
	for (size_t i = 0; i < req->count; i++) {
		nm[i].data = req->msgs[i].data;
		nm[i].len = req->msgs[i].len;
		nm[i].internaldate = req->msgs[i].date;
		if (append_flags(s, t->box, &req->msgs[i], &nm[i].flags,
				 &nm[i].keywords) < 0)
			goto out;
	}
	need = req->bytes > bytes_freed ? req->bytes - bytes_freed : 0;
	switch (imapd_append_quota_check(s, need, req->count, &quota_active)) {
	case 0:
		imapd_no(s, "[OVERQUOTA] Quota exceeded (mailbox for user is "
			    "full).");
		goto out;
	case -1:
		imapd_no(s, "[SERVERBUG] Internal error checking the quota.");
		goto out;
	default:
		break;
	}
	if (mailstore_save(t->box, nm, req->count, uids_r, &stored,
			   &error) < 0) {
		log_error("user %s: APPEND to %s: %s", s->user, t->path, error);
		imapd_no(s, "[SERVERBUG] Internal error saving the message.");
		goto out;
	}
	imapd_append_quota_update(s, quota_active,
				  stored > INT64_MAX ? INT64_MAX
						     : (int64_t)stored,
				  (int64_t)req->count);
	s->stats.append_count += (unsigned)req->count;
	ret = 0;
out:
	free(nm);
	return ret;
}

void imapd_cmd_append(struct imapd_session *s, const struct imap_arg *args)
{
	struct append_req req;
	struct append_target t;
	struct buf set;
	uint32_t *uids;

	if (append_req_parse(s, args, IMAPD_APPEND_MESSAGES_MAX, &req) < 0)
		return;
	if (append_target_open(s, req.mailbox, &t) < 0) {
		append_req_free(&req);
		return;
	}
	uids = xcalloc(req.count, sizeof(*uids));
	if (append_save(s, &req, &t, 0, uids) == 0) {
		uint32_t uidvalidity = mailstore_uidvalidity(t.box);

		/* Sized for every UID written out: never full. */
		buf_init(&set, req.count * 11 + 16);
		append_uid_set(uids, req.count, &set);
		append_target_close(&t);
		imapd_ok(s, "[APPENDUID %u %s] Append completed.", uidvalidity,
			 buf_cstr(&set));
		buf_deinit(&set);
	} else {
		append_target_close(&t);
	}
	free(uids);
	append_req_free(&req);
}

/* ---- REPLACE (RFC 8508) ---- */

/* The message to replace: its store index, UID and size. 0, or -1 after
 * the tagged reply. */
static int replace_find(struct imapd_session *s, const struct imap_arg *arg,
			uint32_t *uid_r, uint64_t *size_r)
{
	uint32_t *msns = NULL;
	size_t count = 0;
	const char *error;
	long idx;

	if (arg == NULL || arg->type != IMAP_ARG_NUMBER || arg->num == 0 ||
	    arg->num > UINT32_MAX) {
		imapd_bad(s, "Invalid message number.");
		return -1;
	}
	if (imapd_view_resolve(s, arg, s->cmd_uid, &msns, &count,
			       &error) < 0) {
		imapd_bad(s, "%s", error);
		return -1;
	}
	idx = count == 1 ? imapd_view_index(s, msns[0]) : -1;
	free(msns);
	if (idx < 0) {
		imapd_no(s, "[NONEXISTENT] The message to replace does not "
			    "exist.");
		return -1;
	}
	const struct mailstore_msg *m = mailstore_msg(s->sel->box,
						      (size_t)idx);
	*uid_r = m->uid;
	*size_r = m->size;
	return 0;
}

void imapd_cmd_replace(struct imapd_session *s, const struct imap_arg *args)
{
	struct append_req req;
	struct append_target t;
	uint32_t old_uid, new_uid;
	uint64_t old_size;
	const char *error;

	if (s->sel->readonly) {
		imapd_no(s, "[READ-ONLY] The mailbox is read-only.");
		return;
	}
	if (replace_find(s, args, &old_uid, &old_size) < 0)
		return;
	if (append_req_parse(s, args->next, 1, &req) < 0)
		return;
	if (append_target_open(s, req.mailbox, &t) < 0) {
		append_req_free(&req);
		return;
	}
	/* The replaced message's octets are freed in the same command: an
	 * edited draft must not fail for want of room it gives back. */
	if (append_save(s, &req, &t, old_size, &new_uid) < 0) {
		append_target_close(&t);
		append_req_free(&req);
		return;
	}
	imapd_untagged(s, "OK [APPENDUID %u %u] Replacement Message ready.",
		       mailstore_uidvalidity(t.box), new_uid);
	append_target_close(&t);
	append_req_free(&req);
	/* imapd_select_expunge also gives the octets back to the quota. */
	if (imapd_select_expunge(s, &old_uid, 1, &error) < 0) {
		log_error("user %s: REPLACE: expunge of UID %u: %s", s->user,
			  old_uid, error);
		imapd_no(s, "[SERVERBUG] The new message was saved but the "
			    "old one could not be expunged.");
		return;
	}
	/* RFC 8508 3.3: the client hears of the new message (EXISTS, when
	 * it went to this mailbox) and of the expunge now, like after MOVE,
	 * even for REPLACE by sequence number. */
	imapd_view_sync(s, true);
	imapd_ok(s, "Replace completed.");
}
