/* imapd_copy: COPY and UID COPY (RFC 3501 6.4.7, with UIDPLUS's COPYUID,
 * RFC 4315) and MOVE and UID MOVE (RFC 6851). A copy is all or nothing
 * (mailstore_copy: hard links or copies, fsync'd, UIDs given under the
 * target's lock); a move is a copy, then "* OK [COPYUID ...]", then the
 * expunge of the originals and its EXPUNGE (or VANISHED) responses. The
 * Maildir++ quota counts copies (a move changes nothing in sum). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "log.h"
#include "maildir_quota.h"
#include "mem.h"
#include "imapd.h"

#define SERVERBUG "[SERVERBUG] Internal error occurred. Refer to server " \
		  "log for more information."

/* The messages to copy, as store indexes and UIDs. */
struct copy_set {
	size_t *idx;
	uint32_t *src_uids;
	uint32_t *dst_uids;	/* 0: its file was gone */
	size_t n;
	uint64_t bytes;		/* their size, for the quota check */
};

static void copy_set_free(struct copy_set *c)
{
	free(c->idx);
	free(c->src_uids);
	free(c->dst_uids);
}

/* The view's messages msns as store indexes. Without UID a message
 * another session expunged is an error (nothing is copied, RFC 3501
 * 6.4.7 wants all or nothing); UID commands skip it as they skip
 * unknown UIDs. 0, or -1 when such a message was found. */
static int copy_collect(struct imapd_session *s, const uint32_t *msns,
			size_t count, struct copy_set *c)
{
	c->idx = xcalloc(count + 1, sizeof(*c->idx));
	c->src_uids = xcalloc(count + 1, sizeof(*c->src_uids));
	c->dst_uids = xcalloc(count + 1, sizeof(*c->dst_uids));
	for (size_t i = 0; i < count; i++) {
		long idx = imapd_view_index(s, msns[i]);
		if (idx < 0) {
			if (!s->cmd_uid)
				return -1;
			continue;
		}
		const struct mailstore_msg *m =
			mailstore_msg(s->sel->box, (size_t)idx);
		c->idx[c->n] = (size_t)idx;
		c->src_uids[c->n++] = m->uid;
		c->bytes += m->size;
	}
	return 0;
}

/* 1 when the copies fit into the user's quota, 0 after the NO. */
static int copy_quota_ok(struct imapd_session *s, const struct copy_set *c)
{
	struct maildir_quota_limit limit = { s->quota_bytes, 0 };
	struct maildir_quota_usage usage;
	const char *error;

	if (s->quota_bytes == 0)
		return 1;
	int ret = maildir_quota_check(s->maildir, &limit, c->bytes, c->n,
				      &usage, &error);
	if (ret < 0) {
		log_error("user=<%s>: %s: quota: %s", s->user, s->maildir,
			  error);
		imapd_no(s, SERVERBUG);
		return 0;
	}
	if (ret == 0) {
		imapd_no(s, "[OVERQUOTA] Quota exceeded (mailbox for user is "
			    "full)");
		return 0;
	}
	return 1;
}

/* Copies into the folder at path. 1 done (c->dst_uids set, the target's
 * UIDVALIDITY in *uidvalidity_r), 0 after the NO. */
static int copy_into(struct imapd_session *s, const char *folder,
		     const char *path, struct copy_set *c,
		     uint32_t *uidvalidity_r)
{
	struct mailstore *dst;
	uint64_t bytes = 0;
	const char *error;

	if (mailstore_open(path, strcmp(folder, "INBOX") == 0 ?
			   MAILSTORE_OPEN_CREATE : 0, &dst, &error) < 0) {
		log_error("user=<%s>: %s: %s", s->user, path, error);
		imapd_no(s, SERVERBUG);
		return 0;
	}
	if (mailstore_copy(s->sel->box, c->idx, c->n, dst, c->dst_uids,
			   &bytes, &error) < 0) {
		log_error("user=<%s>: copy to %s: %s", s->user, path, error);
		mailstore_close(&dst);
		imapd_no(s, SERVERBUG);
		return 0;
	}
	*uidvalidity_r = mailstore_uidvalidity(dst);
	mailstore_close(&dst);
	size_t copied = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->dst_uids[i] != 0)
			copied++;
	if (copied > 0 &&
	    maildir_quota_update(s->maildir, bytes > INT64_MAX ? INT64_MAX :
				 (int64_t)bytes, (int64_t)copied, &error) < 0)
		log_warn("user=<%s>: %s/%s: %s", s->user, s->maildir,
			 MAILDIR_QUOTA_FILE, error);
	return 1;
}

/* Drops the messages whose file was gone from the set: c->src_uids and
 * c->dst_uids then pair up, both ascending. */
static void copy_compact(struct copy_set *c)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (c->dst_uids[i] == 0)
			continue;
		c->src_uids[k] = c->src_uids[i];
		c->dst_uids[k] = c->dst_uids[i];
		k++;
	}
	c->n = k;
}

/* "COPYUID uidvalidity src dst" into b. 0 or -1. */
static int copyuid_write(struct buf *b, uint32_t uidvalidity,
			 const struct copy_set *c)
{
	if (buf_printf(b, "COPYUID %u ", uidvalidity) < 0 ||
	    imapd_view_set_write(b, c->src_uids, c->n) < 0 ||
	    buf_append_char(b, ' ') < 0 ||
	    imapd_view_set_write(b, c->dst_uids, c->n) < 0)
		return -1;
	return 0;
}

/* MOVE's second half: the originals go. */
static void move_finish(struct imapd_session *s, const struct copy_set *c,
			const struct buf *copyuid)
{
	const char *error;

	if (copyuid->len > 0)
		imapd_untagged(s, "OK [%s] Moved UIDs.", buf_cstr(copyuid));
	if (imapd_select_expunge(s, c->src_uids, c->n, &error) < 0) {
		/* The copies stay: nothing is lost, the client sees the
		 * originals still there and can retry. */
		log_error("user=<%s>: %s: expunge after move: %s", s->user,
			  s->sel->path, error);
		imapd_view_sync(s, true);
		imapd_no(s, SERVERBUG);
		return;
	}
	/* The moved messages' EXPUNGE responses belong to MOVE, with or
	 * without UID (RFC 6851 3.3). */
	imapd_view_sync(s, true);
	imapd_ok(s, "Move completed.");
}

/* After the target is known: collect, check, copy, reply. */
static void copy_messages(struct imapd_session *s, const uint32_t *msns,
			  size_t count, const char *folder, const char *path,
			  bool move)
{
	struct copy_set c;
	struct buf copyuid;
	uint32_t uidvalidity = 0;

	memset(&c, 0, sizeof(c));
	buf_init(&copyuid, (count + 1) * 48 + 64);
	if (copy_collect(s, msns, count, &c) < 0) {
		imapd_no(s, "[EXPUNGEISSUED] Some of the requested messages "
			    "no longer exist.");
	} else if (c.n == 0) {
		imapd_ok(s, "No messages found.");
	} else if ((move || copy_quota_ok(s, &c)) &&
		   copy_into(s, folder, path, &c, &uidvalidity)) {
		copy_compact(&c);
		if (c.n > 0 && copyuid_write(&copyuid, uidvalidity, &c) < 0)
			buf_reset(&copyuid);	/* cannot happen: sized */
		if (move)
			move_finish(s, &c, &copyuid);
		else if (copyuid.len > 0)
			imapd_ok(s, "[%s] Copy completed.", buf_cstr(&copyuid));
		else
			imapd_ok(s, "Copy completed.");
	}
	buf_deinit(&copyuid);
	copy_set_free(&c);
}

static void copy_run(struct imapd_session *s, const struct imap_arg *args,
		     bool move)
{
	char *name, *folder, *path;
	uint32_t *msns;
	size_t count;
	const char *error;
	struct stat st;

	if (args == NULL || args->next == NULL || args->next->next != NULL) {
		imapd_bad(s, "Invalid arguments.");
		return;
	}
	if (imapd_view_resolve(s, args, s->cmd_uid, &msns, &count,
			       &error) < 0) {
		imapd_bad(s, "%s.", error);
		return;
	}
	/* EXAMINE promises that the mailbox stays as it is. */
	if (move && s->sel->readonly) {
		free(msns);
		imapd_no(s, "[READ-ONLY] Mailbox is read-only.");
		return;
	}
	if (imapd_name_resolve(s, args->next, &name, &folder, &path,
			       &error) < 0) {
		free(msns);
		imapd_no(s, "[CANNOT] %s", error);
		return;
	}
	/* RFC 3501 6.4.7: the client may CREATE and try again. */
	if (strcmp(folder, "INBOX") != 0 &&
	    (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)))
		imapd_no(s, "[TRYCREATE] Mailbox doesn't exist.");
	else
		copy_messages(s, msns, count, folder, path, move);
	free(msns);
	free(name);
	free(folder);
	free(path);
}

void imapd_cmd_copy(struct imapd_session *s, const struct imap_arg *args)
{
	copy_run(s, args, false);
}

void imapd_cmd_move(struct imapd_session *s, const struct imap_arg *args)
{
	copy_run(s, args, true);
}
