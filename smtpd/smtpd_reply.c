/* smtpd_reply: replies, the per-session error budget, and the log lines
 * operators' tools parse (Postfix's formats). */
#include "config.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "log.h"
#include "smtpd.h"

#define REPLY_MAX 1024

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void reply_v(struct smtpd_session *s, bool count, const char *fmt,
		    va_list ap)
{
	char text[REPLY_MAX];
	int n = vsnprintf(text, sizeof(text) - 2, fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n > sizeof(text) - 3)
		n = (int)sizeof(text) - 3;
	bool error = text[0] == '4' || text[0] == '5';
	if (error && count) {
		/* Tarpit a client that keeps making errors: it slows down
		 * address harvesting and broken loops alike. */
		if (s->error_count >= s->p->soft_error_limit &&
		    s->p->error_sleep_ms > 0) {
			(void)stream_flush(s->stream);
			sleep_ms(s->p->error_sleep_ms);
		}
		s->error_count++;
	}
	memcpy(text + n, "\r\n", 2);
	(void)stream_write(s->stream, text, (size_t)n + 2);
}

void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(s, true, fmt, ap);
	va_end(ap);
}

void smtpd_reply_nocount(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(s, false, fmt, ap);
	va_end(ap);
}

int smtpd_reply_flush(struct smtpd_session *s, bool force)
{
	if (!force && stream_input_pending(s->stream))
		return stream_error(s->stream) == 0 ? 0 : -1;
	return stream_flush(s->stream);
}

void smtpd_log_reject(struct smtpd_session *s, const char *queue_id,
		      const char *reply, const char *rcpt)
{
	char from[ADDR_PATH_MAX * 4 + 1], to[ADDR_PATH_MAX * 4 + 1];
	char helo[ADDR_DOMAIN_MAX * 4 + 1], text[REPLY_MAX];
	struct buf line;

	log_escape(text, sizeof(text), reply, REPLY_MAX);
	buf_init(&line, 8192);
	if (buf_printf(&line, "%s: reject: %s from %s[%s]: %s;",
		       queue_id != NULL ? queue_id : "NOQUEUE", s->last_cmd,
		       s->client_name, s->client_addr, text) < 0)
		goto out;
	if (s->txn.active) {
		log_escape(from, sizeof(from), s->txn.env.sender,
			   ADDR_PATH_MAX);
		if (buf_printf(&line, " from=<%s>", from) < 0)
			goto out;
	}
	if (rcpt != NULL) {
		log_escape(to, sizeof(to), rcpt, ADDR_PATH_MAX);
		if (buf_printf(&line, " to=<%s>", to) < 0)
			goto out;
	}
	if (buf_printf(&line, " proto=%s", s->esmtp ? "ESMTP" : "SMTP") < 0)
		goto out;
	if (s->helo != NULL) {
		log_escape(helo, sizeof(helo), s->helo, ADDR_DOMAIN_MAX);
		if (buf_printf(&line, " helo=<%s>", helo) < 0)
			goto out;
	}
out:
	log_info("%s", buf_cstr(&line));
	buf_deinit(&line);
}

/* Postfix's order, so that log tools see familiar lines. */
static const struct {
	unsigned slot;
	const char *name;
} count_names[] = {
	{ SMTP_VERB_HELO, "helo" }, { SMTP_VERB_EHLO, "ehlo" },
	{ SMTPD_COUNT_STARTTLS, "starttls" },
	{ SMTPD_COUNT_AUTH, "auth" },
	{ SMTP_VERB_MAIL, "mail" }, { SMTP_VERB_RCPT, "rcpt" },
	{ SMTP_VERB_DATA, "data" }, { SMTP_VERB_BDAT, "bdat" },
	{ SMTP_VERB_RSET, "rset" }, { SMTP_VERB_NOOP, "noop" },
	{ SMTP_VERB_VRFY, "vrfy" }, { SMTP_VERB_HELP, "help" },
	{ SMTP_VERB_QUIT, "quit" }, { SMTP_VERB_FORBIDDEN, "forbidden" },
	{ SMTP_VERB_UNKNOWN, "unknown" },
};

static int count_print(struct buf *b, const char *name, unsigned ok,
		       unsigned total)
{
	if (ok == total)
		return buf_printf(b, " %s=%u", name, total);
	return buf_printf(b, " %s=%u/%u", name, ok, total);
}

void smtpd_log_disconnect(struct smtpd_session *s)
{
	struct buf line;
	unsigned ok = 0, total = 0;

	buf_init(&line, 4096);
	if (buf_printf(&line, "disconnect from %s[%s]", s->client_name,
		       s->client_addr) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(count_names) / sizeof(count_names[0]);
	     i++) {
		unsigned c_ok = s->counts[count_names[i].slot].ok;
		unsigned c_total = s->counts[count_names[i].slot].total;
		if (c_total == 0)
			continue;
		ok += c_ok;
		total += c_total;
		if (count_print(&line, count_names[i].name, c_ok, c_total) < 0)
			goto out;
	}
	(void)count_print(&line, "commands", ok, total);
out:
	log_info("%s", buf_cstr(&line));
	buf_deinit(&line);
}

void smtpd_lost(struct smtpd_session *s, int stream_result)
{
	if (stream_result == STREAM_TIMEOUT) {
		log_info("timeout after %s from %s[%s]", s->last_cmd,
			 s->client_name, s->client_addr);
		smtpd_reply_nocount(s, "421 4.4.2 %s Error: timeout exceeded",
				    s->p->myhostname);
		/* A client that stopped reading must not hold us again. */
		stream_set_timeout(s->stream, SMTPD_GOODBYE_TIMEOUT_MS);
		(void)stream_flush(s->stream);
		return;
	}
	log_info("lost connection after %s from %s[%s]", s->last_cmd,
		 s->client_name, s->client_addr);
}

void smtpd_bare_newline(struct smtpd_session *s, const char *what)
{
	log_info("%s after %s from %s[%s]", what, s->last_cmd,
		 s->client_name, s->client_addr);
	smtpd_reply_nocount(s, "521 5.5.2 %s Error: %s", s->p->myhostname,
			    what);
	(void)stream_flush(s->stream);
}
