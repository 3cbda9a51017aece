/* smtp_trans: one mail transaction on an open session: the checks that
 * must fail before MAIL (SMTPUTF8, 8BITMIME with its conversion to 7 bits
 * in smtp_downgrade.c, SIZE), MAIL FROM and the
 * RCPTs with the parameters the server offers, pipelined in one write when
 * it offers PIPELINING, DATA with the content dot-stuffed (or one BDAT
 * LAST with CHUNKING), and the per-recipient results. A trace-only
 * request (sendmail -bv) stops after the RCPTs: each RCPT reply is its
 * recipient's result, and RSET ends the transaction without DATA. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mem.h"
#include "smtp.h"
#include "crlf.h"
#include "smtp_dotstuff.h"

#define CHUNK (64 * 1024)

static bool envelope_8bit(const struct deliver_request2 *req)
{
	for (const char *p = req->sender; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return true;
	for (size_t i = 0; i < req->rcpt_count; i++)
		for (const char *p = req->rcpts[i].address; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				return true;
	return false;
}

/* The DKIM-Signature fields' octets with CRLF line ends. */
static uint64_t sig_size(const struct smtp_delivery *d)
{
	uint64_t lf, bare;

	crlf_count(d->dkim_sig.data, d->dkim_sig.len, &lf, &bare);
	return d->dkim_sig.len + bare;
}

/* The content's size as the server is told it (SIZE=). */
static uint64_t trans_size(const struct smtp_delivery *d)
{
	return (d->downgrade != NULL ? d->downgrade_size : d->req->size) +
	       sig_size(d);
}

/* The checks before MAIL. 0 to go on, -1 when every recipient got its
 * result (a read error of the queue file included). */
static int trans_precheck(struct smtp_delivery *d, struct smtp_session *sess,
			  int fd)
{
	const struct deliver_request2 *req = d->req;
	unsigned ext = sess->ehlo.ext;
	int r = 0;

	if (req->smtputf8 && (ext & SMTP_EXT_SMTPUTF8) == 0 &&
	    (envelope_8bit(req) ||
	     (r = smtp_content_8bit(fd, req, true)) != 0)) {
		if (!envelope_8bit(req) && r < 0)
			smtp_result_all(d, DELIVER_TEMPFAIL, "4.3.0",
					"cannot read queue file %s",
					req->queue_file);
		else
			smtp_result_all(d, DELIVER_PERMFAIL, "5.6.7",
					"SMTPUTF8 is required, but was not "
					"offered by host %s", sess->label);
		return -1;
	}
	/* 8-bit content for a server without 8BITMIME: converted to 7
	 * bits, or failed with 5.6.3 when it cannot be (RFC 6152 3). */
	if (smtp_downgrade_check(d, sess, fd) < 0 ||
	    smtp_dkim_prepare(d, fd) < 0)
		return -1;
	if ((ext & SMTP_EXT_SIZE) != 0 && sess->ehlo.size_max > 0 &&
	    trans_size(d) > sess->ehlo.size_max) {
		smtp_result_all(d, DELIVER_PERMFAIL, "5.3.4", "message size "
				"%" PRIu64 " exceeds size limit %" PRIu64
				" of server %s", trans_size(d),
				sess->ehlo.size_max, sess->label);
		return -1;
	}
	return 0;
}

/* Buffers MAIL FROM (mail), RCPT TO for recipients from..to-1, and DATA
 * (data). A failed write stays in the stream: the flush that follows
 * reports it, with the reason (smtp_session_flush). */
static void write_commands(struct smtp_delivery *d, struct smtp_session *sess,
			   size_t from, size_t to, bool mail, bool data)
{
	const struct deliver_request2 *req = d->req;
	unsigned ext = sess->ehlo.ext;
	bool dsn = (ext & SMTP_EXT_DSN) != 0;

	if (mail) {
		(void)stream_printf(sess->s, "MAIL FROM:<%s>", req->sender);
		if ((ext & SMTP_EXT_SIZE) != 0)
			(void)stream_printf(sess->s, " SIZE=%" PRIu64,
					   trans_size(d));
		if (req->body_8bit && (ext & SMTP_EXT_8BITMIME) != 0)
			(void)stream_printf(sess->s, " BODY=8BITMIME");
		if (req->smtputf8 && (ext & SMTP_EXT_SMTPUTF8) != 0)
			(void)stream_printf(sess->s, " SMTPUTF8");
		if (dsn && req->ret[0] != '\0')
			(void)stream_printf(sess->s, " RET=%s", req->ret);
		if (dsn && req->envid[0] != '\0')
			(void)stream_printf(sess->s, " ENVID=%s", req->envid);
		(void)stream_write(sess->s, "\r\n", 2);
	}
	for (size_t i = from; i < to; i++) {
		const struct deliver_rcpt *rc = &req->rcpts[i];
		(void)stream_printf(sess->s, "RCPT TO:<%s>", rc->address);
		if (dsn && rc->notify[0] != '\0')
			(void)stream_printf(sess->s, " NOTIFY=%s", rc->notify);
		if (dsn && rc->orcpt[0] != '\0')
			(void)stream_printf(sess->s, " ORCPT=%s", rc->orcpt);
		(void)stream_write(sess->s, "\r\n", 2);
	}
	if (data)
		(void)stream_write(sess->s, "DATA\r\n", 6);
}

/* Trace only: an accepted RCPT is the answer (deliverable), with the
 * server's reply for the report. */
static void trace_accepted(struct smtp_delivery *d, size_t i,
			   const struct smtp_session *sess,
			   const struct smtp_reply *reply)
{
	struct smtp_reply_result rr;
	struct smtp_fail f;

	smtp_reply_classify(reply, SMTP_REPLY_FLAG_RCPT, &rr);
	smtp_fail_set(&f, DELIVER_OK, rr.status, false, "%s", reply->text);
	smtp_result_reply(&d->res[i], sess, reply, "RCPT TO", &f);
}

/* A lost session: every recipient without a result gets fail's. */
static int trans_lost(struct smtp_delivery *d, const struct smtp_fail *f)
{
	smtp_result_all(d, f->status, f->dsn, "%s", f->reason);
	return -1;
}

/* The envelope, pipelined or one command at a time. Sets accepted[i];
 * returns 1 when DATA got its 354, 0 when the transaction ended with
 * results set (session still usable), -1 when the session is lost. */
static int trans_envelope(struct smtp_delivery *d, struct smtp_session *sess,
			  bool *accepted)
{
	bool pipe = (sess->ehlo.ext & SMTP_EXT_PIPELINING) != 0;
	bool chunking = (sess->ehlo.ext & SMTP_EXT_CHUNKING) != 0;
	bool trace = d->req->trace;
	size_t n = d->req->rcpt_count, ok = 0;
	const struct smtp_reply *reply;
	struct smtp_fail f;
	bool mail_ok;

	write_commands(d, sess, 0, pipe ? n : 0, true,
		       pipe && !chunking && !trace);
	if (smtp_session_flush(sess, smtp_config.mail_ms, "sending MAIL FROM",
			       &f) < 0 ||
	    smtp_session_read(sess, smtp_config.mail_ms, "sending MAIL FROM",
			      &reply, &f) < 0)
		return trans_lost(d, &f);
	mail_ok = reply->code / 100 == 2;
	if (!mail_ok) {
		smtp_session_reply_fail(sess, reply, 0, "MAIL FROM", &f);
		smtp_result_all_reply(d, sess, reply, "MAIL FROM", &f);
		if (!pipe)
			return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!pipe) {
			write_commands(d, sess, i, i + 1, false, false);
			if (smtp_session_flush(sess, smtp_config.rcpt_ms,
					       "sending RCPT TO", &f) < 0)
				return trans_lost(d, &f);
		}
		if (smtp_session_read(sess, smtp_config.rcpt_ms,
				      "sending RCPT TO", &reply, &f) < 0)
			return trans_lost(d, &f);
		if (!mail_ok)
			continue;	/* pipelined: the results are set */
		if (reply->code / 100 == 2) {
			accepted[i] = true;
			ok++;
			if (trace)
				trace_accepted(d, i, sess, reply);
			continue;
		}
		smtp_session_reply_fail(sess, reply, SMTP_REPLY_FLAG_RCPT,
					"RCPT TO", &f);
		smtp_result_reply(&d->res[i], sess, reply, "RCPT TO", &f);
	}
	/* Trace only, after the RCPTs: no DATA. RSET leaves the session
	 * clean for the cache (and QUIT follows when it is not kept); a
	 * server that refuses it is hung up on. The results are set. */
	if (trace)
		return smtp_session_rset(sess);
	/* CHUNKING: BDAT follows once a recipient is accepted; it has no
	 * 354 to wait for. */
	if (chunking)
		return ok > 0 ? 1 : 0;
	if (!pipe && ok == 0)
		return 0;
	if (!pipe)
		write_commands(d, sess, 0, 0, false, true);
	if ((!pipe && smtp_session_flush(sess, smtp_config.data_init_ms,
					 "sending DATA command", &f) < 0) ||
	    smtp_session_read(sess, smtp_config.data_init_ms,
			      "sending DATA command", &reply, &f) < 0)
		return trans_lost(d, &f);
	if (reply->code == 354 && ok == 0) {
		/* RFC 2920 3.1: a server that said 354 to a pipelined DATA
		 * without recipients gets an empty message ended at once. */
		if (smtp_session_command(sess, ".\r\n",
					 smtp_config.data_done_ms,
					 "sending end of data", &reply, &f) < 0)
			return -1;
		return 0;
	}
	if (ok == 0)
		return 0;
	if (reply->code != 354) {
		smtp_session_reply_fail(sess, reply, 0, "DATA", &f);
		smtp_result_all_reply(d, sess, reply, "DATA", &f);
		return 0;
	}
	return 1;
}

/* A write of the message body to sess failed. */
static void body_lost(const struct smtp_session *sess, struct smtp_fail *f)
{
	smtp_fail_set(f, DELIVER_TEMPFAIL, "4.4.2", false,
		      "lost connection with %s while sending message body",
		      sess->label);
}

/* The DKIM-Signature fields before the content, with CRLF line ends
 * (sig_size octets), through out (room for twice their length). */
static int signatures_write(struct smtp_delivery *d,
			    struct smtp_session *sess, char *out,
			    struct smtp_fail *f)
{
	if (d->dkim_sig.len == 0)
		return 0;
	size_t o = crlf_convert(out, d->dkim_sig.data, d->dkim_sig.len, false,
				false);
	if (stream_write(sess->s, out, o) < 0) {
		body_lost(sess, f);
		return -1;
	}
	return 0;
}

/* The content, LF to CRLF and dot-stuffed, and the final dot. */
static int trans_content(struct smtp_delivery *d, struct smtp_session *sess,
			 int fd, struct smtp_fail *f)
{
	char *out = xmalloc(2 * CHUNK + 8);
	struct smtp_dotstuff ds;
	struct smtp_source src;
	const char *p;
	ssize_t n;
	int ret = 0;

	smtp_source_init(&src, d->req, fd, d->downgrade);
	smtp_dotstuff_init(&ds);
	stream_set_timeout(sess->s, smtp_config.data_xfer_ms);
	/* No line of the signatures starts with a dot, and they end with a
	 * line end: the dot-stuffer's state is the same after them. */
	if (signatures_write(d, sess, out, f) < 0)
		ret = -1;
	while (ret == 0 && (n = smtp_source_next(&src, &p, f)) != 0) {
		if (n < 0) {
			ret = -1;
			break;
		}
		/* A converted piece may be longer than CHUNK. */
		for (size_t i = 0; i < (size_t)n && ret == 0; i += CHUNK) {
			size_t len = (size_t)n - i < CHUNK ? (size_t)n - i :
				CHUNK;
			size_t o = smtp_dotstuff_feed(&ds, out, p + i, len);
			if (stream_write(sess->s, out, o) < 0) {
				body_lost(sess, f);
				ret = -1;
			}
		}
	}
	if (ret == 0) {
		size_t o = smtp_dotstuff_finish(&ds, out);
		if (stream_write(sess->s, out, o) < 0 ||
		    smtp_session_flush(sess, smtp_config.data_xfer_ms,
				       "sending message body", f) < 0)
			ret = -1;
	}
	smtp_source_deinit(&src);
	free(out);
	return ret;
}

/* The content with CRLF line ends, as smtp_source_size counts it: a
 * final line end is added when the content lacks one. The octets sent
 * (*sent_r), or -1 with *f. */
static int bdat_write(struct smtp_delivery *d, struct smtp_session *sess,
		      int fd, uint64_t *sent_r, struct smtp_fail *f)
{
	char *out = xmalloc(2 * CHUNK);
	bool after_cr = false, at_bol = true;
	struct smtp_source src;
	uint64_t total = 0;
	const char *p;
	ssize_t n;
	int ret = 0;

	smtp_source_init(&src, d->req, fd, d->downgrade);
	if (signatures_write(d, sess, out, f) < 0)
		ret = -1;
	else
		total = sig_size(d);
	while (ret == 0 && (n = smtp_source_next(&src, &p, f)) != 0) {
		if (n < 0) {
			ret = -1;
			break;
		}
		for (size_t i = 0; i < (size_t)n && ret == 0; i += CHUNK) {
			size_t len = (size_t)n - i < CHUNK ? (size_t)n - i :
				CHUNK;
			size_t o = crlf_convert(out, p + i, len, after_cr,
						false);
			total += o;
			after_cr = p[i + len - 1] == '\r';
			at_bol = p[i + len - 1] == '\n';
			if (stream_write(sess->s, out, o) < 0) {
				body_lost(sess, f);
				ret = -1;
			}
		}
	}
	if (ret == 0 && !at_bol) {
		const char *eol = after_cr ? "\n" : "\r\n";
		total += strlen(eol);
		if (stream_write(sess->s, eol, strlen(eol)) < 0) {
			body_lost(sess, f);
			ret = -1;
		}
	}
	*sent_r = total;
	smtp_source_deinit(&src);
	free(out);
	return ret;
}

/* The content as one "BDAT n LAST" (RFC 3030): no dot-stuffing, no end
 * marker; n is counted first, then the same octets are sent. */
static int trans_bdat(struct smtp_delivery *d, struct smtp_session *sess,
		      int fd, struct smtp_fail *f)
{
	uint64_t size = d->downgrade_size, sent;
	struct smtp_source src;
	int r = 0;

	/* A converted content was counted by the check before MAIL. */
	if (d->downgrade == NULL) {
		smtp_source_init(&src, d->req, fd, NULL);
		r = smtp_source_size(&src, &size, f);
		smtp_source_deinit(&src);
	}
	if (r < 0)
		return -1;
	size += sig_size(d);
	stream_set_timeout(sess->s, smtp_config.data_xfer_ms);
	if (stream_printf(sess->s, "BDAT %" PRIu64 " LAST\r\n", size) < 0 ||
	    bdat_write(d, sess, fd, &sent, f) < 0 ||
	    smtp_session_flush(sess, smtp_config.data_xfer_ms,
			       "sending message body", f) < 0)
		return -1;
	/* The queue file never changes; if it did, the server now reads
	 * the wrong octets as commands: hang up. */
	if (sent != size) {
		smtp_fail_set(f, DELIVER_TEMPFAIL, "4.3.0", false,
			      "queue file %s changed while being sent",
			      d->req->queue_file);
		return -1;
	}
	return 0;
}

static int open_content(struct smtp_delivery *d)
{
	const struct deliver_request2 *req = d->req;
	struct stat st;
	int fd = open(req->queue_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
			O_NOCTTY);

	if (fd < 0) {
		smtp_result_all(d, DELIVER_TEMPFAIL, "4.3.0", "cannot open "
				"queue file %s: %s", req->queue_file,
				strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    req->offset + req->size > (uint64_t)st.st_size) {
		smtp_result_all(d, DELIVER_TEMPFAIL, "4.3.0", "queue file %s "
				"is not a regular file holding the content",
				req->queue_file);
		close(fd);
		return -1;
	}
	return fd;
}

int smtp_trans_run(struct smtp_delivery *d, struct smtp_session *sess)
{
	size_t n = d->req->rcpt_count;
	const struct smtp_reply *reply;
	struct smtp_reply_result rr;
	struct smtp_fail f;
	int fd = open_content(d), ret = 0;

	if (fd < 0)
		return 0;
	/* Trace only: nothing of the content is sent, so nothing about it
	 * (8BITMIME, SIZE, DKIM) can fail. */
	if (!d->req->trace && trans_precheck(d, sess, fd) < 0) {
		mime_downgrade_free(&d->downgrade);
		close(fd);
		return 0;
	}
	bool *accepted = xcalloc(n, sizeof(*accepted));
	int r = trans_envelope(d, sess, accepted);
	if (r <= 0) {
		ret = r;
		goto out;
	}
	if (((sess->ehlo.ext & SMTP_EXT_CHUNKING) != 0 ?
	     trans_bdat(d, sess, fd, &f) : trans_content(d, sess, fd, &f)) < 0) {
		ret = trans_lost(d, &f);
		goto out;
	}
	/* From here on the server may have the message: a lost reply
	 * defers it, and the retry may deliver it twice. */
	if (smtp_session_read(sess, smtp_config.data_done_ms, "sending end "
			      "of data -- message may be sent more than once",
			      &reply, &f) < 0) {
		ret = trans_lost(d, &f);
		goto out;
	}
	if (reply->code / 100 == 2) {
		smtp_reply_classify(reply, 0, &rr);
		smtp_fail_set(&f, DELIVER_OK, rr.status, false, "%s",
			      reply->text);
	} else {
		smtp_session_reply_fail(sess, reply, 0, "end of DATA", &f);
	}
	smtp_result_all_reply(d, sess, reply, "end of DATA", &f);
out:
	free(accepted);
	mime_downgrade_free(&d->downgrade);
	close(fd);
	return ret;
}
