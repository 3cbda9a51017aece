/* local_quota: the Maildir++ quota around one delivery. The limit is the
 * recipient's entry in virtual_mailbox_quota_maps, else
 * virtual_mailbox_quota; usage and bookkeeping are lib/maildir_quota's.
 *
 * A message is refused when usage + its size would pass the limit:
 * reaching the limit exactly is allowed, one byte more is not (Courier's
 * rule, and Dovecot's with quota_grace = 0; Dovecot's default grace lets
 * the message that crosses the limit in). The size is the delivered
 * file's (S=), as Courier and Dovecot count.
 *
 * Without a limit, a Maildir without maildirsize costs one stat() and
 * nothing more; one with a maildirsize (a limit was set before, or the
 * Maildir came from Dovecot) has its limit line set to "none" and keeps
 * being counted, so that the figures are right when a limit comes
 * back. */
#include "config.h"
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "local.h"
#include "log.h"
#include "mailbox_path.h"
#include "maildir_quota.h"
#include "str.h"

/* The recipient's limit in bytes (0: none). 0 or -1 (res set). */
static int local_quota_limit(const struct deliver_request *req,
			     uint64_t *bytes_r, struct local_result *res)
{
	const char *dsn, *error;

	if (mailbox_path_quota(local_config.quota_maps, local_config.delimiter,
			       req->recipient, local_config.quota_default,
			       bytes_r, &dsn, &error) < 0) {
		local_result_set(res, DELIVER_TEMPFAIL, dsn, "%s", error);
		return -1;
	}
	return 0;
}

/* Without a limit: only keeps an existing maildirsize current. */
static void local_quota_no_limit(const struct deliver_request *req,
				 const char *maildir, struct local_quota *q)
{
	static const struct maildir_quota_limit none = { 0, 0 };
	struct maildir_quota_usage usage;
	char path[PATH_MAX], to[1024];
	const char *error;
	struct stat st;

	int n = snprintf(path, sizeof(path), "%s/%s", maildir,
			 MAILDIR_QUOTA_FILE);
	if (n < 0 || (size_t)n >= sizeof(path) || lstat(path, &st) < 0)
		return;
	q->active = true;
	/* Sets line 1 to "no limit" if it says otherwise. Nothing to
	 * enforce: a failure only delays the figures. */
	if (maildir_quota_get(maildir, &none, &usage, NULL, &error) < 0)
		log_warn("%s: to=<%s>: quota: %s", req->queue_id,
			 log_escape(to, sizeof(to), req->recipient, 512),
			 error);
}

int local_quota_check(const struct deliver_request *req, const char *maildir,
		      uint64_t size, struct local_quota *q,
		      struct local_result *res)
{
	struct maildir_quota_limit limit = { 0, 0 };
	struct maildir_quota_usage usage;
	const char *error;

	q->active = false;
	if (local_quota_limit(req, &limit.bytes, res) < 0)
		return -1;
	if (limit.bytes == 0) {
		local_quota_no_limit(req, maildir, q);
		return 0;
	}
	int ret = maildir_quota_check(maildir, &limit, size, 1, &usage,
				      &error);
	if (ret < 0) {
		local_result_set(res, DELIVER_TEMPFAIL, "4.3.0",
				 "cannot determine the mailbox's quota "
				 "usage: %s", error);
		return -1;
	}
	if (ret == 0) {
		/* Read by the sender in a bounce: plain words. */
		bool bounce = local_config.overquota_bounce;
		local_result_set(res, bounce ? DELIVER_PERMFAIL :
				 DELIVER_TEMPFAIL, bounce ? "5.2.2" : "4.2.2",
				 "mailbox full: user is over quota (used "
				 "%lld of %llu bytes, this message has %llu)",
				 (long long)usage.bytes,
				 (unsigned long long)limit.bytes,
				 (unsigned long long)size);
		return -1;
	}
	q->active = true;
	return 0;
}

void local_quota_update(const struct deliver_request *req, const char *maildir,
			uint64_t size, const struct local_quota *q)
{
	char to[1024];
	const char *error;

	if (!q->active)
		return;
	if (maildir_quota_update(maildir, size > INT64_MAX ? INT64_MAX :
				 (int64_t)size, 1, &error) < 0)
		log_warn("%s: to=<%s>: quota update: %s", req->queue_id,
			 log_escape(to, sizeof(to), req->recipient, 512),
			 error);
}
