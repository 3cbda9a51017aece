/* imapd_quota: QUOTA (RFC 9208) over the Maildir++ quota of the user's
 * Maildir (lib/maildir_quota, the "maildirsize" file delivery keeps).
 * One quota root, "User quota" (Dovecot's name), covers every mailbox;
 * its resource is STORAGE in KiB (usage rounded up, as Dovecot shows
 * it), limited by the user's quota (s->quota_bytes). A user without a
 * limit has no quota root: GETQUOTAROOT lists none (Dovecot says only
 * "OK No quota", which RFC 9208 does not allow: the QUOTAROOT response
 * is required). SETQUOTA is refused: limits are the operator's. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "imapd.h"
#include "imapd_mbox.h"
#include "log.h"
#include "maildir_quota.h"

#define QUOTA_ROOT "User quota"

/* Sends "* QUOTA "User quota" (STORAGE used limit)". 0, or -1 after a
 * NO reply. */
static int quota_send(struct imapd_session *s)
{
	struct maildir_quota_limit limit = { .bytes = s->quota_bytes };
	struct maildir_quota_usage usage;
	const char *error;
	uint64_t used;

	if (maildir_quota_get(s->maildir, &limit, &usage, NULL, &error) < 0) {
		log_warn("user=%s: quota: %s", s->user, error);
		imapd_no(s, "[SERVERBUG] Internal error, see the server log.");
		return -1;
	}
	used = usage.bytes > 0 ? (uint64_t)usage.bytes : 0;
	imapd_untagged(s, "QUOTA \"" QUOTA_ROOT "\" (STORAGE %llu %llu)",
		       (unsigned long long)((used + 1023) / 1024),
		       (unsigned long long)(s->quota_bytes / 1024));
	return 0;
}

void imapd_cmd_getquotaroot(struct imapd_session *s,
			    const struct imap_arg *args)
{
	char *name, *folder, *path;
	const char *error;
	struct buf out;

	if (args == NULL || args->next != NULL) {
		imapd_bad(s, "GETQUOTAROOT needs one mailbox name.");
		return;
	}
	if (imapd_name_resolve(s, args, &name, &folder, &path, &error) < 0) {
		imapd_no(s, "[CANNOT] %s", error);
		return;
	}
	buf_init(&out, IMAPD_MAILBOX_NAME_MAX * 4 + 64);
	if (buf_append_str(&out, "* QUOTAROOT ") < 0 ||
	    imapd_name_write(s, &out, name) < 0 ||
	    (s->quota_bytes > 0 &&
	     buf_append_str(&out, " \"" QUOTA_ROOT "\"") < 0) ||
	    buf_append_str(&out, "\r\n") < 0) {
		imapd_no(s, "[CANNOT] Mailbox name too long.");
	} else {
		imapd_write(s, out.data, out.len);
		if (s->quota_bytes == 0 || quota_send(s) == 0)
			imapd_ok(s, "Getquotaroot completed.");
	}
	buf_deinit(&out);
	free(name);
	free(folder);
	free(path);
}

void imapd_cmd_getquota(struct imapd_session *s, const struct imap_arg *args)
{
	const char *root;
	size_t len;

	if (args == NULL || args->next != NULL ||
	    !imap_arg_get_astring(args, &root, &len)) {
		imapd_bad(s, "GETQUOTA needs one quota root.");
		return;
	}
	if (s->quota_bytes == 0 || len != strlen(QUOTA_ROOT) ||
	    memcmp(root, QUOTA_ROOT, len) != 0) {
		imapd_no(s, "[NONEXISTENT] Quota root doesn't exist.");
		return;
	}
	if (quota_send(s) == 0)
		imapd_ok(s, "Getquota completed.");
}

void imapd_cmd_setquota(struct imapd_session *s, const struct imap_arg *args)
{
	const char *root;
	size_t len;

	if (args == NULL || args->next == NULL || args->next->next != NULL ||
	    !imap_arg_get_astring(args, &root, &len) ||
	    args->next->type != IMAP_ARG_LIST) {
		imapd_bad(s, "SETQUOTA needs a quota root and a list of "
			  "limits.");
		return;
	}
	imapd_no(s, "[NOPERM] Quota can be changed only by the "
		 "administrator.");
}
