/* smtp_session: one connection to a server: the TCP connect within
 * smtp_connect_timeout, the greeting, EHLO (HELO when refused), STARTTLS
 * as the TLS policy wants, reading bounded replies, and QUIT. Failures
 * are worded as Postfix words them, so that operators' log parsers and
 * the bounces read the same. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "log.h"
#include "mem.h"
#include "smtp.h"
#include "str.h"
#include "timeutil.h"

void smtp_fail_set(struct smtp_fail *f, enum deliver_status status,
		   const char *dsn, bool next_address, const char *fmt, ...)
{
	va_list ap;

	memset(f, 0, sizeof(*f));
	f->status = status;
	f->next_address = next_address;
	/* dsn comes from a parsed reply or from us: it always fits. */
	snprintf(f->dsn, sizeof(f->dsn), "%s", dsn);
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}

/* A reply as a failure. A 5xx that must not be final here (greeting,
 * EHLO) is made temporary by the caller with force_temp. */
static void reply_fail(const struct smtp_session *sess,
		       const struct smtp_reply *reply, unsigned flags,
		       const char *cmd, bool force_temp, struct smtp_fail *f)
{
	struct smtp_reply_result rr;

	smtp_reply_classify(reply, flags, &rr);
	bool perm = rr.class == SMTP_REPLY_PERMANENT && !force_temp;
	/* A 2yz or 3yz where it makes no sense (a 354 to MAIL) is a
	 * protocol error: temporary, like Postfix's 4.5.0 then. */
	if (rr.class == SMTP_REPLY_OK || rr.class == SMTP_REPLY_INTERMEDIATE)
		snprintf(rr.status, sizeof(rr.status), "4.5.0");
	else if (!perm)
		rr.status[0] = '4';
	if (cmd != NULL)
		smtp_fail_set(f, perm ? DELIVER_PERMFAIL : DELIVER_TEMPFAIL,
			      rr.status, false, "host %s said: %s (in reply "
			      "to %s command)", sess->label, reply->text, cmd);
	else
		smtp_fail_set(f, perm ? DELIVER_PERMFAIL : DELIVER_TEMPFAIL,
			      rr.status, false, "host %s refused to talk to "
			      "me: %s", sess->label, reply->text);
}

void smtp_session_reply_fail(const struct smtp_session *sess,
			     const struct smtp_reply *reply, unsigned flags,
			     const char *cmd, struct smtp_fail *fail)
{
	reply_fail(sess, reply, flags, cmd, false, fail);
}

static void io_fail(const struct smtp_session *sess, int err,
		    const char *what, struct smtp_fail *f)
{
	if (err == STREAM_TIMEOUT)
		smtp_fail_set(f, DELIVER_TEMPFAIL, "4.4.2", true,
			      "conversation with %s timed out while %s",
			      sess->label, what);
	else if (err == STREAM_EOF)
		smtp_fail_set(f, DELIVER_TEMPFAIL, "4.4.2", true,
			      "lost connection with %s while %s", sess->label,
			      what);
	else
		smtp_fail_set(f, DELIVER_TEMPFAIL, "4.4.2", true,
			      "lost connection with %s while %s: %s",
			      sess->label, what, strerror(errno));
}

int smtp_session_read(struct smtp_session *sess, int timeout_ms,
		      const char *what, const struct smtp_reply **reply_r,
		      struct smtp_fail *fail)
{
	const char *error;

	stream_set_timeout(sess->s, timeout_ms);
	/* Each round takes at least one octet, and the parser fails past
	 * SMTP_REPLY_TOTAL_MAX octets: the loop is bounded by that. */
	for (size_t round = 0; round <= SMTP_REPLY_TOTAL_MAX; round++) {
		const char *data;
		size_t len, used = 0;
		int r = stream_peek(sess->s, &data, &len);
		if (r != 1) {
			io_fail(sess, r, what, fail);
			return -1;
		}
		r = smtp_reply_parser_feed(sess->parser, data, len, &used,
					   reply_r, &error);
		stream_skip(sess->s, used);
		if (r == 1)
			return 0;
		if (r < 0) {
			smtp_fail_set(fail, DELIVER_TEMPFAIL, "4.5.0", true,
				      "%s while %s from %s", error, what,
				      sess->label);
			return -1;
		}
	}
	smtp_fail_set(fail, DELIVER_TEMPFAIL, "4.5.0", true,
		      "reply too long from %s", sess->label);
	return -1;
}

int smtp_session_flush(struct smtp_session *sess, int timeout_ms,
		       const char *what, struct smtp_fail *fail)
{
	stream_set_timeout(sess->s, timeout_ms);
	if (stream_flush(sess->s) < 0) {
		io_fail(sess, stream_error(sess->s) == STREAM_TIMEOUT ?
			STREAM_TIMEOUT : STREAM_IO_ERROR, what, fail);
		return -1;
	}
	return 0;
}

int smtp_session_command(struct smtp_session *sess, const char *cmd,
			 int timeout_ms, const char *what,
			 const struct smtp_reply **reply_r,
			 struct smtp_fail *fail)
{
	/* A failed write stays in the stream; the flush reports it. */
	(void)stream_write(sess->s, cmd, strlen(cmd));
	if (smtp_session_flush(sess, timeout_ms, what, fail) < 0)
		return -1;
	return smtp_session_read(sess, timeout_ms, what, reply_r, fail);
}

/* Non-blocking connect bounded by smtp_connect_timeout. The fd, or -1
 * with *fail. */
static int session_connect(const struct dns_mx_addr *a, unsigned port,
			   struct smtp_fail *fail)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, err = 0;

	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = a->in6;
		s6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr = a->in4;
		s4->sin_port = htons((uint16_t)port);
		sslen = sizeof(*s4);
	}
	fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		err = errno;
	else if (connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
		err = errno;
		if (err == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t elen = sizeof(err);
			uint64_t end = time_mono_ms() +
				       (uint64_t)smtp_config.connect_ms;
			int n = 0;
			/* A signal restarts the wait, never extends it. */
			for (uint64_t now = time_mono_ms(); now < end;
			     now = time_mono_ms()) {
				n = poll(&p, 1, (int)(end - now));
				if (n >= 0 || errno != EINTR)
					break;
			}
			if (n < 0 && errno == EINTR)
				n = 0;
			if (n == 0)
				err = ETIMEDOUT;
			else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR,
						     &err, &elen) < 0)
				err = errno;
		}
	}
	if (err != 0) {
		if (fd >= 0)
			close(fd);
		smtp_fail_set(fail, DELIVER_TEMPFAIL, "4.4.1", true,
			      "connect to %s[%s]:%u: %s", a->host, a->text,
			      port, err == ETIMEDOUT ? "Connection timed out" :
			      strerror(err));
		return -1;
	}
	return fd;
}

/* The server greets with our own name: the MX or relay points back at
 * us, and the mail would go round until hopcount_limit. Postfix's rule:
 * the first word of the EHLO reply. */
static bool greets_as_us(const struct smtp_reply *reply)
{
	const char *name = reply->lines[0];
	size_t len = strcspn(name, " ");

	return len == strlen(smtp_config.helo_name) &&
	       strncasecmp(name, smtp_config.helo_name, len) == 0;
}

static int session_ehlo(struct smtp_session *sess, struct smtp_fail *fail)
{
	const struct smtp_reply *reply;
	const char *error;

	memset(&sess->ehlo, 0, sizeof(sess->ehlo));
	/* The name goes into the buffer before the line end (as long as
	 * myhostname is); a failed write shows at the command's flush. */
	(void)stream_printf(sess->s, "EHLO %s", smtp_config.helo_name);
	if (smtp_session_command(sess, "\r\n", smtp_config.helo_ms,
				 "performing the EHLO handshake", &reply,
				 fail) < 0)
		return -1;
	if (reply->code / 100 == 2 && greets_as_us(reply)) {
		smtp_fail_set(fail, DELIVER_PERMFAIL, "5.4.6", false,
			      "mail for %s loops back to myself", sess->label);
		return -1;
	}
	if (reply->code / 100 == 2 &&
	    smtp_reply_ehlo_parse(reply, &sess->ehlo, &error) == 0)
		return 0;
	if (reply->code == 421) {
		reply_fail(sess, reply, 0, "EHLO", true, fail);
		fail->next_address = true;
		return -1;
	}
	/* An old server: HELO, and no extension at all. */
	/* The name goes into the buffer before the line end (as long as
	 * myhostname is); a failed write shows at the command's flush. */
	(void)stream_printf(sess->s, "HELO %s", smtp_config.helo_name);
	if (smtp_session_command(sess, "\r\n", smtp_config.helo_ms,
				 "performing the HELO handshake", &reply,
				 fail) < 0)
		return -1;
	if (reply->code / 100 == 2)
		return 0;
	reply_fail(sess, reply, 0, "HELO", false, fail);
	fail->next_address = true;
	return -1;
}

static void tls_params(const struct smtp_session *sess,
		       const struct smtp_tls_want *want,
		       struct tls_client_params *p)
{
	const struct tls_policy *pol = want->policy;

	memset(p, 0, sizeof(*p));
	p->level = want->level;
	p->host = sess->host;
	p->addr = sess->addr;
	p->port = sess->port;
	p->nexthop = want->nexthop_domain;
	p->host_is_secure = want->host_is_secure;
	if (pol != NULL) {
		p->match = (const char *const *)pol->match;
		p->match_count = pol->match_count;
		p->servername = pol->servername;
		p->protocols = pol->protocols;
		p->ciphers = pol->ciphers;
		p->exclude = pol->exclude;
	}
}

/* 0: go on (TLS started, or not wanted or not needed at may); -1:
 * *fail says why (retry_plain at may after a failed handshake). */
static int session_starttls(struct smtp_session *sess,
			    const struct smtp_tls_want *want,
			    struct smtp_fail *fail)
{
	bool may = want->level == TLS_POLICY_MAY;
	const struct smtp_reply *reply;
	struct tls_client_params p;
	struct tls_client_result res;
	const char *error;

	if (want->level == TLS_POLICY_NONE)
		return 0;
	if ((sess->ehlo.ext & SMTP_EXT_STARTTLS) == 0) {
		if (may)
			return 0;
		smtp_fail_set(fail, DELIVER_TEMPFAIL, "4.7.4", true,
			      "TLS is required, but was not offered by host "
			      "%s", sess->label);
		return -1;
	}
	if (smtp_config.tls == NULL) {
		if (may)
			return 0;
		smtp_fail_set(fail, DELIVER_TEMPFAIL, "4.7.5", false,
			      "TLS is required, but unavailable: %s",
			      smtp_config.tls_error);
		return -1;
	}
	if (smtp_session_command(sess, "STARTTLS\r\n", smtp_config.starttls_ms,
				 "sending STARTTLS", &reply, fail) < 0)
		return -1;
	if (reply->code != 220) {
		if (may)
			return 0;
		reply_fail(sess, reply, 0, "STARTTLS", true, fail);
		fail->next_address = true;
		return -1;
	}
	tls_params(sess, want, &p);
	if (tls_client_start(smtp_config.tls, sess->s, smtp_config.starttls_ms,
			     &p, &sess->tls, &res, &error) < 0) {
		smtp_fail_set(fail, DELIVER_TEMPFAIL, "4.7.5", true,
			      "TLS handshake with %s failed: %s", sess->label,
			      res.reason != NULL ? res.reason : error);
		fail->retry_plain = !res.abort;
		tls_client_result_deinit(&res);
		return -1;
	}
	log_info("%s", res.log);
	tls_client_result_deinit(&res);
	smtp_reply_parser_reset(sess->parser);
	return session_ehlo(sess, fail);
}

static void session_free(struct smtp_session **sessp)
{
	struct smtp_session *sess = *sessp;

	if (sess == NULL)
		return;
	if (sess->tls != NULL)
		tls_conn_free(&sess->tls, sess->s);
	stream_free(&sess->s);
	close(sess->fd);
	smtp_reply_parser_free(&sess->parser);
	xfree(sessp);
}

int smtp_session_open(const struct dns_mx_addr *addr, unsigned port,
		      const struct smtp_tls_want *want, bool plain,
		      struct smtp_session **sess_r, struct smtp_fail *fail)
{
	static const struct smtp_reply_limits limits = {
		SMTP_REPLY_LINE_MAX, SMTP_REPLY_LINES_MAX, SMTP_REPLY_TOTAL_MAX
	};
	const struct smtp_reply *reply;
	int fd = session_connect(addr, port, fail);

	*sess_r = NULL;
	if (fd < 0)
		return -1;
	struct smtp_session *sess = xcalloc(1, sizeof(*sess));
	sess->fd = fd;
	sess->s = stream_new(fd, SMTP_REPLY_LINE_MAX + 2);
	sess->parser = smtp_reply_parser_new(&limits);
	sess->port = port;
	snprintf(sess->host, sizeof(sess->host), "%s", addr->host);
	snprintf(sess->addr, sizeof(sess->addr), "%s", addr->text);
	snprintf(sess->label, sizeof(sess->label), "%s[%s]", sess->host,
		 sess->addr);
	if (smtp_session_read(sess, smtp_config.helo_ms,
			      "receiving the initial server greeting", &reply,
			      fail) < 0)
		goto fail;
	if (reply->code / 100 != 2) {
		/* A 5xx greeting is not final, as with Postfix's
		 * smtp_skip_5xx_greeting: another MX may take the mail. */
		reply_fail(sess, reply, 0, NULL, true, fail);
		fail->next_address = true;
		goto fail;
	}
	if (session_ehlo(sess, fail) < 0)
		goto fail;
	struct smtp_tls_want none = *want;
	if (plain)
		none.level = TLS_POLICY_NONE;
	if (session_starttls(sess, &none, fail) < 0)
		goto fail;
	*sess_r = sess;
	return 0;
fail:
	fail->connected = true;
	session_free(&sess);
	return -1;
}

int smtp_session_rset(struct smtp_session *sess)
{
	const struct smtp_reply *reply;
	struct smtp_fail ignored;

	if (smtp_session_command(sess, "RSET\r\n", smtp_config.rset_ms,
				 "sending RSET", &reply, &ignored) < 0)
		return -1;
	return reply->code / 100 == 2 ? 0 : -1;
}

void smtp_session_close(struct smtp_session **sessp, bool lost)
{
	struct smtp_session *sess = *sessp;
	const struct smtp_reply *reply;
	struct smtp_fail ignored;

	if (sess == NULL)
		return;
	/* The delivery is decided: the reply to QUIT only lets the server
	 * close first (no TIME_WAIT on our side), so any failure is fine. */
	if (!lost)
		(void)smtp_session_command(sess, "QUIT\r\n",
					   smtp_config.quit_ms, "sending QUIT",
					   &reply, &ignored);
	session_free(sessp);
}
