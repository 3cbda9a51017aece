/* smtp_downgrade: the content as it goes out: the queue file's octets,
 * or, for a server without 8BITMIME (RFC 6152 3), their conversion to 7
 * bits by lib/mime_downgrade, checked in a pass that sends nothing before
 * MAIL so that a message that cannot be converted fails with 5.6.3 and
 * nothing sent, as Postfix's smtp does. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "crlf.h"
#include "mem.h"
#include "smtp.h"

#define CHUNK (64 * 1024)
/* What one feed of CHUNK octets may give (mime_downgrade.h). */
#define CONV_MAX (4 * CHUNK + MIME_DOWNGRADE_OUT_EXTRA)

int smtp_content_8bit(int fd, const struct deliver_request2 *req,
		      bool headers_only)
{
	char *buf = xmalloc(CHUNK);
	uint64_t off = req->offset, end = req->offset + req->size;
	bool bol = true;
	int ret = 0;

	while (off < end && ret == 0) {
		size_t want = end - off < CHUNK ? (size_t)(end - off) : CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n <= 0) {
			ret = -1;
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];
			if (c >= 0x80) {
				ret = 1;
				break;
			}
			/* An empty line ends the header section. */
			if (headers_only && c == '\n' && bol) {
				off = end;
				break;
			}
			bol = c == '\n';
		}
		if (off < end)
			off += (uint64_t)n;
	}
	free(buf);
	return ret;
}

void smtp_source_init(struct smtp_source *src,
		      const struct deliver_request2 *req, int fd,
		      struct mime_downgrade *dg)
{
	memset(src, 0, sizeof(*src));
	src->req = req;
	src->fd = fd;
	src->off = req->offset;
	src->end = req->offset + req->size;
	src->dg = dg;
	src->in = xmalloc(CHUNK);
	buf_init(&src->conv, CONV_MAX);
	if (dg != NULL)
		mime_downgrade_rewind(dg);
}

void smtp_source_deinit(struct smtp_source *src)
{
	free(src->in);
	src->in = NULL;
	buf_deinit(&src->conv);
}

static int source_read(struct smtp_source *src, struct smtp_fail *f)
{
	size_t want = src->end - src->off < CHUNK ?
		(size_t)(src->end - src->off) : CHUNK;
	ssize_t n = pread(src->fd, src->in, want, (off_t)src->off);

	if (n <= 0) {
		smtp_fail_set(f, DELIVER_TEMPFAIL, "4.3.0", false,
			      "cannot read queue file %s", src->req->queue_file);
		return -1;
	}
	src->off += (uint64_t)n;
	return (int)n;
}

ssize_t smtp_source_next(struct smtp_source *src, const char **piece_r,
			 struct smtp_fail *f)
{
	const char *error = NULL;
	int r = 0;

	buf_reset(&src->conv);
	while (!src->done && src->conv.len == 0 && r == 0) {
		if (src->off >= src->end) {
			src->done = true;
			if (src->dg != NULL)
				r = mime_downgrade_finish(src->dg, &src->conv,
							  &error);
			break;
		}
		int n = source_read(src, f);
		if (n < 0)
			return -1;
		if (src->dg == NULL) {
			*piece_r = src->in;
			return n;
		}
		r = mime_downgrade_feed(src->dg, src->in, (size_t)n,
					&src->conv, &error);
	}
	if (r < 0) {
		smtp_fail_set(f, DELIVER_TEMPFAIL, "4.3.0", false,
			      "cannot convert queue file %s to 7 bits: %s",
			      src->req->queue_file, error);
		return -1;
	}
	*piece_r = src->conv.data;
	return (ssize_t)src->conv.len;
}

int smtp_source_size(struct smtp_source *src, uint64_t *size_r,
		     struct smtp_fail *f)
{
	bool after_cr = false, at_bol = true;
	uint64_t total = 0, lf, bare;
	const char *p;
	ssize_t n;

	while ((n = smtp_source_next(src, &p, f)) > 0) {
		crlf_count(p, (size_t)n, &lf, &bare);
		/* A CR at the end of the piece before pairs with an LF at
		 * the start of this one. */
		if (after_cr && p[0] == '\n')
			bare--;
		total += (uint64_t)n + bare;
		after_cr = p[n - 1] == '\r';
		at_bol = p[n - 1] == '\n';
	}
	if (n < 0)
		return -1;
	if (!at_bol)
		total += after_cr ? 1 : 2;
	*size_r = total;
	return 0;
}

/* The scan pass: 0 when dg can convert the content, 1 when it cannot
 * (*error_r), -1 on a read error (*f). */
static int downgrade_scan(const struct deliver_request2 *req, int fd,
			  struct mime_downgrade *dg, const char **error_r,
			  struct smtp_fail *f)
{
	struct smtp_source src;
	int r = 0;

	smtp_source_init(&src, req, fd, NULL);
	while (src.off < src.end && r == 0) {
		int n = source_read(&src, f);
		if (n < 0)
			r = -1;
		else if (mime_downgrade_feed(dg, src.in, (size_t)n, NULL,
					     error_r) < 0)
			r = 1;
	}
	if (r == 0 && mime_downgrade_finish(dg, NULL, error_r) < 0)
		r = 1;
	smtp_source_deinit(&src);
	return r;
}

int smtp_downgrade_check(struct smtp_delivery *d,
			 const struct smtp_session *sess, int fd)
{
	const struct deliver_request2 *req = d->req;
	struct mime_downgrade *dg;
	struct smtp_source src;
	const char *error = NULL;
	struct smtp_fail f;
	int r;

	if ((sess->ehlo.ext & SMTP_EXT_8BITMIME) != 0 ||
	    (r = smtp_content_8bit(fd, req, false)) == 0)
		return 0;
	if (r < 0) {
		smtp_result_all(d, DELIVER_TEMPFAIL, "4.3.0",
				"cannot read queue file %s", req->queue_file);
		return -1;
	}
	dg = mime_downgrade_new();
	r = downgrade_scan(req, fd, dg, &error, &f);
	if (r == 0) {
		smtp_source_init(&src, req, fd, dg);
		r = smtp_source_size(&src, &d->downgrade_size, &f) < 0 ? -1 : 0;
		smtp_source_deinit(&src);
	}
	if (r == 0) {
		d->downgrade = dg;
		return 0;
	}
	if (r > 0)
		smtp_result_all(d, DELIVER_PERMFAIL, "5.6.3",
				"host %s does not support 8BITMIME and the "
				"message cannot be converted to 7 bits: %s",
				sess->label, error);
	else
		smtp_result_all(d, f.status, f.dsn, "%s", f.reason);
	mime_downgrade_free(&dg);
	return -1;
}
