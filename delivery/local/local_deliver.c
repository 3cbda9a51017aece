/* local_deliver: one recipient: its Maildir (lib/mailbox_path), the
 * queue file's content, the quota check, Maildir delivery, the quota
 * update. Configuration problems are temporary failures (4.3.5): the
 * operator fixes them and the queue delivers, nothing is bounced for a
 * typo in a map. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "local.h"
#include "mailbox_path.h"
#include "maildir.h"
#include "str.h"
#include "timeutil.h"

/* Return-Path and Delivered-To lines (two addresses and some words) and
 * the Authentication-Results field. */
#define LOCAL_PREFIX_MAX (2 * 4096 + 64 + 16384)

/* The queue file of the previous request: qmgr sends a message's
 * recipients one after the other, so it is usually the same one. */
static struct {
	int fd;
	char name[PATH_MAX];
	off_t size;
	dev_t dev;
	ino_t ino;
	/* Its Authentication-Results field, made at the first recipient
	 * (the same for all: the same content, the same envelope). */
	struct local_authres authres;
} local_qf = { .fd = -1 };

void local_deliver_reset(void)
{
	if (local_qf.fd >= 0)
		close(local_qf.fd);
	local_qf.fd = -1;
	local_qf.name[0] = '\0';
	local_authres_free(&local_qf.authres);
}

void local_result_set(struct local_result *res, enum deliver_status status,
		      const char *dsn, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	res->dsn = dsn;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	/* The reason travels in an ipc attribute and a log line. */
	for (char *p = res->reason; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}

/* Opens (or reuses) the queue file and checks that the content lies
 * inside it. The request names "active/ID", relative to queue_directory,
 * which is our working directory. */
static int local_open_queue_file(const struct deliver_request *req,
				 struct local_result *res)
{
	struct stat st;
	uint64_t end = req->offset + req->size;	/* decoder checked */

	/* The same name and still the same file (a stat() is cheaper than
	 * open, fstat and close). */
	if (local_qf.fd >= 0 && strcmp(local_qf.name, req->queue_file) == 0 &&
	    end <= (uint64_t)local_qf.size &&
	    stat(req->queue_file, &st) == 0 && st.st_dev == local_qf.dev &&
	    st.st_ino == local_qf.ino)
		return local_qf.fd;
	local_deliver_reset();
	int fd = open(req->queue_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
			O_NOCTTY);
	if (fd < 0) {
		local_result_set(res, DELIVER_TEMPFAIL, "4.3.0",
				 "cannot open queue file %s: %s",
				 req->queue_file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    end > (uint64_t)st.st_size) {
		local_result_set(res, DELIVER_TEMPFAIL, "4.3.0",
				 "queue file %s is not a regular file holding "
				 "the content", req->queue_file);
		close(fd);
		return -1;
	}
	/* Kept for the next request (closed by local_deliver_reset); a name
	 * that does not fit (never: "active/ID") just never matches. */
	if (str_copy(local_qf.name, sizeof(local_qf.name), req->queue_file) < 0)
		local_qf.name[0] = '\0';
	local_qf.fd = fd;
	local_qf.size = st.st_size;
	local_qf.dev = st.st_dev;
	local_qf.ino = st.st_ino;
	return fd;
}

/* Finds the Maildir path of the recipient into out. 0 or -1 (res set). */
static int local_mailbox(const struct deliver_request *req, char *out,
			 size_t outsize, struct local_result *res)
{
	const char *dsn, *error;
	int ret = mailbox_path_resolve(local_config.mailbox_maps,
				       local_config.mailbox_base,
				       local_config.delimiter, req->recipient,
				       out, outsize, &dsn, &error);

	if (ret > 0)
		return 0;
	if (ret == 0)
		local_result_set(res, DELIVER_PERMFAIL, "5.1.1",
				 "unknown user: \"%s\"", req->recipient);
	else
		local_result_set(res, dsn[0] == '5' ? DELIVER_PERMFAIL :
				 DELIVER_TEMPFAIL, dsn, "%s", error);
	return -1;
}

/* Return-Path and Delivered-To, then our Authentication-Results field
 * (a new one is added at the top of the message: RFC 8601 5; the two
 * lines above it are the delivery's own). 0, or -1 with res set. */
static int local_prefix(const struct deliver_request *req, int fd,
			struct buf *prefix, struct local_result *res)
{
	/* The sender and recipient come from the queue file, which holds no
	 * CR, LF or NUL: safe as header text. */
	if (buf_printf(prefix, "Return-Path: <%s>\nDelivered-To: %s\n",
		       req->sender, req->recipient) < 0) {
		local_result_set(res, DELIVER_PERMFAIL, "5.1.3",
				 "address too long for a header");
		return -1;
	}
	if (!local_config.authres)
		return 0;
	struct local_authres *ar = &local_qf.authres;
	if (!ar->ready && local_authres_make(req, fd, ar, res) < 0)
		return -1;
	if (buf_append(prefix, ar->field.data, ar->field.len) < 0) {
		local_result_set(res, DELIVER_TEMPFAIL, "4.3.0",
				 "header lines too long");
		return -1;
	}
	return 0;
}

/* Trace only (sendmail -bv): the same mailbox resolution as a delivery,
 * nothing opened or written. The answer does not name the Maildir's
 * path: the report goes to whichever local user asked, and the layout of
 * the mail store is not theirs to learn. Whether the mailbox could take
 * the message (quota, disk) is not known before the attempt, as Postfix
 * does not check it either. */
void local_trace(const struct deliver_request *req, struct local_result *res)
{
	char path[PATH_MAX];

	res->setup_done_us = 0;
	if (local_mailbox(req, path, sizeof(path), res) < 0)
		return;
	local_result_set(res, DELIVER_OK, "2.0.0", "delivers to maildir");
}

void local_deliver(const struct deliver_request *req, struct local_result *res)
{
	char path[PATH_MAX];
	const char *dsn, *error;
	struct buf prefix;

	res->setup_done_us = 0;
	if (local_mailbox(req, path, sizeof(path), res) < 0)
		return;
	int fd = local_open_queue_file(req, res);
	if (fd < 0)
		return;
	buf_init(&prefix, LOCAL_PREFIX_MAX);
	if (local_prefix(req, fd, &prefix, res) < 0) {
		buf_deinit(&prefix);
		return;
	}
	const struct local_authres *ar = &local_qf.authres;
	struct maildir_delivery d = {
		.base = local_config.mailbox_base,
		.hostname = local_config.hostname,
		.prefix = prefix.data,
		.prefix_len = prefix.len,
		.content_fd = fd,
		.content_offset = (off_t)req->offset,
		.content_size = req->size,
		.skip = ar->ready ? ar->skip : NULL,
		.skip_count = ar->ready ? ar->skip_count : 0,
	};
	/* The file's size (S=): what Maildir++ counts. The content lies in
	 * the queue file (checked at open) and the ranges left out inside
	 * it, so this does not overflow. */
	uint64_t size = req->size + prefix.len;
	for (size_t i = 0; i < d.skip_count; i++)
		size -= d.skip[i].len;
	struct local_quota quota;
	if (local_quota_check(req, path, size, &quota, res) < 0) {
		buf_deinit(&prefix);
		return;
	}
	res->setup_done_us = time_wall_us();
	int ret = maildir_deliver(path, &d, NULL, &dsn, &error);
	buf_deinit(&prefix);
	if (ret < 0) {
		local_result_set(res, dsn[0] == '5' ? DELIVER_PERMFAIL :
				 DELIVER_TEMPFAIL, dsn, "maildir delivery "
				 "failed: %s", error);
		return;
	}
	local_quota_update(req, path, size, &quota);
	local_result_set(res, DELIVER_OK, "2.0.0", "delivered to maildir");
}
