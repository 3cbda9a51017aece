/* imapd_reply: every octet imapd sends goes through here, so that the
 * logout counters are right and a tagged OK or NO first tells the client
 * what changed in the selected mailbox (RFC 3501 5.2, 7: untagged updates
 * come before the tagged reply, and EXPUNGE never during a command that
 * uses sequence numbers, RFC 3501 7.4.1 / RFC 9051 7.5.1). Output is
 * buffered by the stream; the session flushes once no pipelined command
 * is waiting. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "imap_string.h"
#include "mem.h"
#include "imapd.h"

void imapd_write(struct imapd_session *s, const void *data, size_t len)
{
	s->stats.out_bytes += len;
	(void)stream_write(s->stream, data, len);
}

void imapd_write_str(struct imapd_session *s, const char *str)
{
	imapd_write(s, str, strlen(str));
}

/* Formats into a local buffer, or the heap when it is too small. */
static void write_v(struct imapd_session *s, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void write_v(struct imapd_session *s, const char *fmt, va_list ap)
{
	char local[1024], *text = local;
	va_list copy;
	int n;

	va_copy(copy, ap);
	n = vsnprintf(local, sizeof(local), fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(local)) {
		text = xmalloc((size_t)n + 1);
		vsnprintf(text, (size_t)n + 1, fmt, ap);
	}
	imapd_write(s, text, (size_t)n);
	if (text != local)
		free(text);
}

void imapd_printf(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_v(s, fmt, ap);
	va_end(ap);
}

void imapd_untagged(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;

	imapd_write(s, "* ", 2);
	va_start(ap, fmt);
	write_v(s, fmt, ap);
	va_end(ap);
	imapd_write(s, "\r\n", 2);
}

/* Pending changes of the selected mailbox before a tagged OK or NO. */
static void report_changes(struct imapd_session *s)
{
	if (s->state != IMAPD_STATE_SELECTED || s->sel == NULL ||
	    (s->cmd_flags & IMAPD_CMD_NOSYNC) != 0)
		return;
	bool allow_expunge = (s->cmd_flags & IMAPD_CMD_SEQ) == 0 ||
			     s->cmd_uid;
	imapd_view_sync(s, allow_expunge);
}

static void tagged_v(struct imapd_session *s, const char *status,
		     const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void tagged_v(struct imapd_session *s, const char *status,
		     const char *fmt, va_list ap)
{
	const char *tag = s->tag != NULL ? s->tag : "*";

	imapd_write_str(s, tag);
	imapd_write(s, " ", 1);
	imapd_write_str(s, status);
	imapd_write(s, " ", 1);
	write_v(s, fmt, ap);
	imapd_write(s, "\r\n", 2);
	s->tagged_sent = true;
}

void imapd_ok(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;

	report_changes(s);
	va_start(ap, fmt);
	tagged_v(s, "OK", fmt, ap);
	va_end(ap);
}

void imapd_no(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;

	report_changes(s);
	va_start(ap, fmt);
	tagged_v(s, "NO", fmt, ap);
	va_end(ap);
}

void imapd_bad(struct imapd_session *s, const char *fmt, ...)
{
	va_list ap;

	s->error_count++;
	va_start(ap, fmt);
	tagged_v(s, "BAD", fmt, ap);
	va_end(ap);
}

unsigned imapd_string_flags(const struct imapd_session *s)
{
	return (s->enabled & (IMAPD_ENABLED_UTF8 | IMAPD_ENABLED_REV2)) != 0
		       ? IMAP_STRING_UTF8
		       : 0;
}

void imapd_bye(struct imapd_session *s, const char *reason, const char *text)
{
	imapd_untagged(s, "BYE %s", text);
	if (s->end_reason == NULL)
		s->end_reason = reason;
	s->closing = true;
}
