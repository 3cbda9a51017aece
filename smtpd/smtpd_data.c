/* smtpd_data: DATA and BDAT. The queue file is opened when the envelope is
 * complete, the Received: header goes first, and the content streams
 * through lib/smtp_data straight into the queue writer: the message is
 * never held in memory. 250 is sent only after the commit (fsync of file
 * and directory) succeeded; then qmgr is woken. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "log.h"
#include "mem.h"
#include "str.h"
#include "timeutil.h"
#include "smtpd.h"

#define R_WRITE "451 4.3.0 Error: queue file write error"

static int output(void *ctx, const char *data, size_t len)
{
	struct smtpd_session *s = ctx;
	const char *error;

	/* The content as received, for DKIM and DMARC. */
	smtpd_dmarc_feed(s, data, len);
	/* header_checks and body_checks edit what reaches the file. */
	if (smtpd_checks_content(s, data, len, &error) < 0) {
		/* The decoder stops calling: this is logged once. */
		log_warn("%s: %s", queue_writer_id(s->txn.writer), error);
		return -1;
	}
	return 0;
}

/* RFC 3848 / RFC 6531 "with" keywords, as Postfix writes them (HELO
 * stays "SMTP" even over TLS: there is no keyword for it; AUTH needs
 * EHLO), indexed by [UTF-8][TLS][authenticated]. */
static const char *protocol(const struct smtpd_session *s)
{
	static const char *const names[2][2][2] = {
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};

	if (!s->esmtp && !s->txn.utf8)
		return "SMTP";
	return names[s->txn.utf8][s->tls != NULL][s->sasl_username != NULL];
}

static int write_received(struct smtpd_session *s, const char **error_r)
{
	const struct smtpd_txn *t = &s->txn;
	char date[64];
	struct buf b;
	int ret;

	time_rfc5322(date, sizeof(date), time(NULL));
	buf_init(&b, 4096 + SMTPD_PREPEND_MAX * 1024 + 8192);
	ret = 0;
	/* Access tables' PREPEND headers go first, above our Received:,
	 * as Postfix's smtpd writes them. */
	for (size_t i = 0; ret == 0 && i < t->prepend_count; i++)
		ret = buf_printf(&b, "%s\n", t->prepend[i]);
	/* RFC 7208 9.1: Received-SPF right above our Received:. */
	if (ret == 0 && t->spf != NULL)
		ret = buf_printf(&b, "%s\n", t->spf->header);
	if (ret == 0)
		ret = buf_printf(&b, "Received: from %s (%s [%s])", s->helo,
				 s->client_name, s->client_rfc_addr);
	if (ret == 0)
		ret = smtpd_tls_received(s, &b);
	if (ret == 0)
		ret = buf_printf(&b, "\n\tby %s (%s) with %s id %s",
				 s->p->myhostname, s->p->mail_name,
				 protocol(s), queue_writer_id(t->writer));
	/* Naming the one recipient reveals nothing to the others. */
	if (ret == 0 && t->rcpt_accepted == 1)
		ret = buf_printf(&b, "\n\tfor <%s>", t->first_rcpt);
	if (ret == 0)
		ret = buf_printf(&b, "; %s\n", date);
	if (ret < 0)
		*error_r = "Received: header too long";
	else	/* Postfix's header_checks see smtpd's headers too. */
		ret = smtpd_checks_content(s, b.data, b.len, error_r);
	buf_deinit(&b);
	return ret;
}

static void add_attributes(struct smtpd_session *s)
{
	static const char *const body[] = {
		[SMTP_BODY_NONE] = NULL,
		[SMTP_BODY_7BIT] = "7BIT",
		[SMTP_BODY_8BITMIME] = "8BITMIME",
	};
	static const char *const ret[] = {
		[SMTP_RET_NONE] = NULL,
		[SMTP_RET_FULL] = "FULL",
		[SMTP_RET_HDRS] = "HDRS",
	};
	struct queue_envelope *env = &s->txn.env;

	queue_envelope_add_attr(env, "client_address", s->client_addr);
	queue_envelope_add_attr(env, "client_name", s->client_name);
	queue_envelope_add_attr(env, "helo_name", s->helo);
	queue_envelope_add_attr(env, "protocol", protocol(s));
	if (body[s->txn.body] != NULL)
		queue_envelope_add_attr(env, "body", body[s->txn.body]);
	if (s->txn.utf8)
		queue_envelope_add_attr(env, "smtputf8", "yes");
	if (ret[s->txn.ret] != NULL)
		queue_envelope_add_attr(env, "ret", ret[s->txn.ret]);
	if (s->txn.envid != NULL)
		queue_envelope_add_attr(env, "envid", s->txn.envid);
	/* HOLD from an access table. qmgr does not keep such messages
	 * apart yet (no hold/ queue): the attribute records the verdict. */
	if (s->txn.hold)
		queue_envelope_add_attr(env, "hold", "yes");
	/* For later stages (signing, logs): who submitted it. */
	if (s->sasl_username != NULL) {
		queue_envelope_add_attr(env, "sasl_method", s->sasl_method);
		queue_envelope_add_attr(env, "sasl_username",
					s->sasl_username);
	}
	if (s->txn.auth != NULL)
		queue_envelope_add_attr(env, "sasl_sender", s->txn.auth);
	/* For Authentication-Results (local delivery). */
	if (s->txn.spf != NULL) {
		queue_envelope_add_attr(env, "spf",
					spf_res_name(s->txn.spf->result));
		if (*s->txn.spf->domain != '\0')
			queue_envelope_add_attr(env, "spf_domain",
						s->txn.spf->domain);
		if (s->txn.spf->helo_identity)
			queue_envelope_add_attr(env, "spf_helo", "1");
	}
}

/* Creates the queue file with envelope and Received: header, and the
 * decoder. Returns 0 or -1 (logged; the caller answers 451). */
static int open_message(struct smtpd_session *s, enum smtp_data_mode mode)
{
	struct smtpd_txn *t = &s->txn;
	const struct smtpd_params *p = s->p;
	struct smtp_data_limits limits = {
		.message_size_max = p->message_size_limit,
		.header_line_max = p->line_length_limit - 2,	/* CRLF */
		.header_size_max = p->header_size_limit,
		.allow_bare_lf = p->allow_bare_lf,
	};
	const char *error;

	if (queue_writer_open(p->queue_directory, &t->writer, &error) < 0) {
		log_warn("create queue file in %s: %s", p->queue_directory,
			 error);
		return -1;
	}
	/* Once per transaction: a client may try DATA again after a failed
	 * open, and the envelope must not carry the attributes twice. */
	if (t->env.attr_count == 0) {
		add_attributes(s);
		smtpd_actions_envelope(s, queue_writer_id(t->writer));
	}
	smtpd_checks_start(s);
	if (queue_writer_envelope(t->writer, &t->env, &error) < 0 ||
	    write_received(s, &error) < 0) {
		log_warn("%s: %s", queue_writer_id(t->writer), error);
		queue_writer_abort(&t->writer);
		return -1;
	}
	if (s->sasl_username != NULL)
		log_info("%s: client=%s[%s], sasl_method=%s, "
			 "sasl_username=%s", queue_writer_id(t->writer),
			 s->client_name, s->client_addr, s->sasl_method,
			 s->sasl_username);
	else
		log_info("%s: client=%s[%s]", queue_writer_id(t->writer),
			 s->client_name, s->client_addr);
	t->decoder = smtp_data_new(mode, &limits, output, s);
	return 0;
}

/* The reply that a transaction without a valid envelope deserves, or
 * NULL when DATA/BDAT may go ahead. */
static const char *envelope_problem(const struct smtpd_session *s)
{
	if (!s->txn.active)
		return "503 5.5.1 Error: need MAIL command";
	if (s->txn.rcpt_accepted == 0)
		return s->txn.rcpt_tried > 0
			? "554 5.5.1 Error: no valid recipients"
			: "503 5.5.1 Error: need RCPT command";
	return NULL;
}

/* The reply for a message the decoder flagged, or NULL. */
static const char *content_problem(unsigned flags)
{
	if (flags & SMTP_DATA_TOO_BIG)
		return "552 5.3.4 Message size exceeds fixed limit";
	if (flags & SMTP_DATA_HEADER_SIZE)
		return "552 5.6.0 Error: message header size exceeds limit";
	if (flags & SMTP_DATA_HEADER_LINE)
		return "552 5.6.0 Error: message header line too long";
	if (flags & SMTP_DATA_NUL)
		return "554 5.6.0 Error: message content contains NUL "
		       "characters";
	if (flags & SMTP_DATA_OUTPUT_FAILED)
		return R_WRITE;
	return NULL;
}

/* The connection to qmgr's public/qmgr, kept for the life of this smtpd
 * process: one line per message and no connect() per message, so a burst
 * of 50 smtpds cannot overflow qmgr's listen backlog and lose wakeups. */
static int qmgr_fd = -1;

static int qmgr_connect(const struct smtpd_session *s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/public/qmgr",
			 s->p->queue_directory);

	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Tells qmgr about the new file. Best effort: qmgr also scans incoming/
 * periodically, so a failure here only delays delivery. A send on a kept
 * connection that qmgr closed (idle, restarted) fails; then one fresh
 * connection is tried. A line is one small send on a UNIX stream socket:
 * it arrives whole or, on failure, is dropped whole by qmgr at EOF. */
static void wake_qmgr(const struct smtpd_session *s, const char *id)
{
	char msg[QUEUE_ID_MAX + 16];
	int n = snprintf(msg, sizeof(msg), "incoming %s\n", id);

	for (int attempt = 0; attempt < 2; attempt++) {
		if (qmgr_fd < 0 && (qmgr_fd = qmgr_connect(s)) < 0)
			return;
		if (send(qmgr_fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) ==
		    n)
			return;
		close(qmgr_fd);
		qmgr_fd = -1;
	}
}

/* The end of a message: reject what the decoder flagged, else commit and
 * answer 250. The transaction ends either way. */
static enum smtpd_result finish_message(struct smtpd_session *s)
{
	struct smtpd_txn *t = &s->txn;
	char id[QUEUE_ID_MAX], checks_reply[512];
	const char *reply, *error;

	if (str_copy(id, sizeof(id), queue_writer_id(t->writer)) < 0)
		panic("queue id too long");
	reply = content_problem(smtp_data_flags(t->decoder));
	if (reply != NULL)
		smtpd_log_reject(s, id, reply, t->first_rcpt);
	else if (smtpd_checks_finish(s, checks_reply, sizeof(checks_reply)) < 0)
		reply = checks_reply;	/* logged as Postfix's cleanup does */
	/* Postfix's stage name once the content is in: a client that drops
	 * now is "lost connection after END-OF-MESSAGE", which log readers
	 * tell apart from one lost in the middle of DATA or BDAT. */
	s->last_cmd = "END-OF-MESSAGE";
	if (reply != NULL) {
		smtpd_txn_reset(s);
		smtpd_reply(s, "%s", reply);
		return SMTPD_FAIL;
	}
	if (t->discard || t->checks_discard) {
		/* DISCARD: the client is told it was delivered (access(5));
		 * header/body_checks logged theirs already. */
		if (t->discard)
			log_info("%s: discard: message from %s[%s] dropped "
				 "by an access table", id, s->client_name,
				 s->client_addr);
		smtpd_txn_reset(s);
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", id);
		s->error_count = 0;
		return SMTPD_OK;
	}
	char dmarc_reply[256];
	if (smtpd_dmarc_end(s, id, dmarc_reply, sizeof(dmarc_reply)) < 0) {
		smtpd_log_reject(s, id, dmarc_reply, t->first_rcpt);
		smtpd_txn_reset(s);
		smtpd_reply(s, "%s", dmarc_reply);
		return SMTPD_FAIL;
	}
	if (queue_writer_commit(&t->writer, &error) < 0) {
		log_warn("%s: %s", id, error);
		smtpd_txn_reset(s);
		smtpd_reply(s, R_WRITE);
		return SMTPD_FAIL;
	}
	smtpd_txn_reset(s);
	smtpd_reply(s, "250 2.0.0 Ok: queued as %s", id);
	/* The tarpit is for clients that fail, not for one that delivers
	 * a message now and then among rejected recipients. */
	s->error_count = 0;
	wake_qmgr(s, id);
	return SMTPD_OK;
}

/* Reads n octets of BDAT content into the decoder, or drops them when
 * decoder is NULL. */
static enum smtpd_result read_chunk(struct smtpd_session *s, uint64_t n,
				    struct smtp_data *decoder)
{
	enum smtpd_result result = SMTPD_OK;

	stream_set_timeout(s->stream, s->p->data_timeout_ms);
	while (n > 0) {
		const char *data, *error;
		size_t len, used;
		int ret = stream_peek(s->stream, &data, &len);

		if (ret != 1) {
			smtpd_lost(s, ret);
			result = SMTPD_CLOSE;
			break;
		}
		if (len > n)
			len = (size_t)n;
		if (decoder != NULL &&
		    smtp_data_feed(decoder, data, len, &used, &error) < 0) {
			smtpd_bare_newline(s, error);
			result = SMTPD_CLOSE;
			break;
		}
		stream_skip(s->stream, len);
		n -= len;
	}
	stream_set_timeout(s->stream, s->p->timeout_ms);
	return result;
}

enum smtpd_result smtpd_cmd_data(struct smtpd_session *s,
				  const struct smtp_cmd *cmd)
{
	struct smtpd_txn *t = &s->txn;
	const char *reply = envelope_problem(s);

	if (reply == NULL && (t->writer != NULL || t->bdat_error != NULL))
		reply = "503 5.5.1 Error: DATA after BDAT";
	if (reply != NULL) {
		smtpd_reply(s, "%s", reply);
		return SMTPD_FAIL;
	}
	if (open_message(s, SMTP_DATA_MODE_DOT) < 0) {
		smtpd_reply(s, R_WRITE);
		return SMTPD_FAIL;
	}
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	if (smtpd_reply_flush(s, true) < 0) {
		smtpd_lost(s, stream_error(s->stream));
		return SMTPD_CLOSE;
	}
	stream_set_timeout(s->stream, s->p->data_timeout_ms);
	for (;;) {
		const char *data, *error;
		size_t len, used;
		int ret = stream_peek(s->stream, &data, &len);

		if (ret != 1) {
			/* The session's end aborts the queue file. */
			smtpd_lost(s, ret);
			return SMTPD_CLOSE;
		}
		ret = smtp_data_feed(t->decoder, data, len, &used, &error);
		if (ret < 0) {
			smtpd_bare_newline(s, error);
			return SMTPD_CLOSE;
		}
		stream_skip(s->stream, used);
		if (ret == 1)
			break;
	}
	stream_set_timeout(s->stream, s->p->timeout_ms);
	return finish_message(s);
}

/* The first BDAT of a message opens it; returns NULL or the reply that
 * fails the transaction. */
static const char *bdat_start(struct smtpd_session *s)
{
	const char *reply = envelope_problem(s);

	if (reply != NULL)
		return reply;
	if (open_message(s, SMTP_DATA_MODE_BDAT) < 0)
		return R_WRITE;
	return NULL;
}

/* RFC 3030: a chunk is always read, even when it cannot be taken; after a
 * failed chunk the rest of the transaction's chunks are dropped with the
 * same answer until LAST or RSET. */
enum smtpd_result smtpd_cmd_bdat(struct smtpd_session *s,
				 const struct smtp_cmd *cmd)
{
	struct smtpd_txn *t = &s->txn;
	bool new_error = false;

	if (t->bdat_error == NULL && t->writer == NULL &&
	    (t->bdat_error = bdat_start(s)) != NULL)
		new_error = true;
	if (read_chunk(s, cmd->chunk_size,
		       t->bdat_error == NULL ? t->decoder : NULL) ==
	    SMTPD_CLOSE)
		return SMTPD_CLOSE;
	if (t->bdat_error == NULL && !cmd->last &&
	    (t->bdat_error = content_problem(smtp_data_flags(t->decoder))) !=
		    NULL) {
		new_error = true;
		smtpd_log_reject(s, queue_writer_id(t->writer), t->bdat_error,
				 t->first_rcpt);
		queue_writer_abort(&t->writer);
		smtp_data_free(&t->decoder);
	}
	if (t->bdat_error != NULL) {
		if (new_error)
			smtpd_reply(s, "%s", t->bdat_error);
		else
			smtpd_reply_nocount(s, "%s", t->bdat_error);
		if (cmd->last || !t->active)
			smtpd_txn_reset(s);
		return SMTPD_FAIL;
	}
	if (cmd->last) {
		const char *error;
		if (smtp_data_finish(t->decoder, &error) < 0) {
			smtpd_bare_newline(s, error);
			return SMTPD_CLOSE;
		}
		return finish_message(s);
	}
	smtpd_reply(s, "250 2.0.0 Ok: %llu octets received",
		    (unsigned long long)cmd->chunk_size);
	return SMTPD_OK;
}
