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
#include "maildir_quota.h"
#include "str.h"

/* A map value: decimal digits with an optional k, m or g (K, M, G)
 * suffix, 1024-based, as virtual_mailbox_quota takes. 0 or -1. */
static int local_quota_parse(const char *s, uint64_t *bytes_r)
{
	static const char units[] = "kKmMgG";
	static const unsigned shifts[] = { 10, 10, 20, 20, 30, 30 };
	char digits[24];
	size_t n = strspn(s, "0123456789");
	unsigned shift = 0;
	uint64_t v;

	if (n == 0 || n >= sizeof(digits))
		return -1;
	if (s[n] != '\0') {
		const char *u = strchr(units, s[n]);
		if (u == NULL || s[n + 1] != '\0')
			return -1;
		shift = shifts[u - units];
	}
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (str_to_u64(digits, &v) < 0 || v > ((uint64_t)INT64_MAX >> shift))
		return -1;
	*bytes_r = v << shift;
	return 0;
}

/* The recipient's limit in bytes (0: none). 0 or -1 (res set). */
static int local_quota_limit(const struct deliver_request *req,
			     uint64_t *bytes_r, struct local_result *res)
{
	const char *value, *error;
	int ret = maps_lookup_addr(local_config.quota_maps, req->recipient,
				   local_config.delimiter, &value, &error);

	if (ret < 0) {
		local_result_set(res, DELIVER_TEMPFAIL, "4.3.0",
				 "virtual_mailbox_quota_maps lookup failure: "
				 "%s", error);
		return -1;
	}
	if (ret == 0) {
		*bytes_r = local_config.quota_default;
		return 0;
	}
	if (local_quota_parse(value, bytes_r) < 0) {
		local_result_set(res, DELIVER_TEMPFAIL, "4.3.5",
				 "configuration error: "
				 "virtual_mailbox_quota_maps: \"%.100s\" is "
				 "not a size (like 500m, or 0 for none)",
				 value);
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
