/* smtpd_checks: header_checks, mime_header_checks, nested_header_checks
 * and body_checks (lib/content_check) in the DATA/BDAT path: the content
 * goes from the decoder through the checker into the queue file, and the
 * verdict is taken at the end of the message. Logs as Postfix's cleanup
 * does ("ID: reject: header Subject: ... from host[addr]; from=<s>
 * to=<r> proto=ESMTP helo=<h>: 5.7.1 message content rejected"). */
#include "config.h"
#include <string.h>
#include "addr.h"
#include "buf.h"
#include "conf.h"
#include "content_check.h"
#include "log.h"
#include "maps.h"
#include "smtpd.h"
#include "str.h"

/* Of the matched line, as much as Postfix logs. */
#define CHECKS_LOG_LINE 200

static struct content_check_config config;
static bool enabled;

void smtpd_checks_init(void)
{
	const char *error;

	/* A bad table (a bad regex) stops smtpd here, with its file and
	 * line, never at run time. */
	if (content_check_config_load(&config, &enabled, &error) < 0)
		fatal("%s", error);
}

/* The queue file end of the checker (and of the decoder without it). */
static int queue_write(void *ctx, const char *data, size_t len)
{
	struct smtpd_session *s = ctx;

	return queue_writer_content(s->txn.writer, data, len,
				    &s->txn.checks_error);
}

/* "ACTION: header TEXT from host[addr]; from=<s> to=<r> proto=P
 * helo=<h>: TEXT" as Postfix's cleanup logs an action, and under its
 * name: pflogsumm reads header and body actions from cleanup's lines
 * only (from smtpd's it counts them but cannot tell what matched). */
static void log_action(struct smtpd_session *s,
		       const struct content_check_event *ev)
{
	char line[CHECKS_LOG_LINE * 4 + 1], text[CONTENT_CHECK_REPLY_MAX * 4];
	char from[ADDR_PATH_MAX * 4 + 1], to[ADDR_PATH_MAX * 4 + 1];
	char helo[ADDR_DOMAIN_MAX * 4 + 1];
	size_t n = ev->line_len < CHECKS_LOG_LINE ? ev->line_len
						  : CHECKS_LOG_LINE;

	log_escape(line, sizeof(line), ev->line, n);
	log_escape(text, sizeof(text), ev->text, CONTENT_CHECK_REPLY_MAX);
	log_escape(from, sizeof(from), s->txn.env.sender, ADDR_PATH_MAX);
	log_escape(to, sizeof(to),
		   s->txn.first_rcpt != NULL ? s->txn.first_rcpt : "",
		   ADDR_PATH_MAX);
	log_escape(helo, sizeof(helo), s->helo != NULL ? s->helo : "",
		   ADDR_DOMAIN_MAX);
	log_info_as("cleanup", "%s: %s: %s %s from %s[%s]; from=<%s> "
		    "to=<%s> proto=%s helo=<%s>%s%s",
		    queue_writer_id(s->txn.writer), ev->action, ev->context,
		    line, s->client_name, s->client_addr, from, to,
		    s->esmtp ? "ESMTP" : "SMTP", helo,
		    *text != '\0' ? ": " : "", text);
}

/* FILTER, REDIRECT and BCC would change the envelope, which is on disk
 * before the content: said once per process and action. */
static void log_unsupported(const struct content_check_event *ev)
{
	static const char *const names[] = { "BCC", "FILTER", "REDIRECT" };
	static bool said[3];

	for (size_t i = 0; i < 3; i++)
		if (strcmp(ev->action, names[i]) == 0) {
			if (!said[i])
				log_warn("%s map %s: action %s is not "
					 "supported; ignored (logged once)",
					 content_check_param(ev->class), ev->map, names[i]);
			said[i] = true;
		}
}

static void event(void *ctx, const struct content_check_event *ev)
{
	struct smtpd_session *s = ctx;
	const char *id = queue_writer_id(s->txn.writer);
	char text[1024];

	log_escape(text, sizeof(text), ev->text, 256);
	switch (ev->kind) {
	case CONTENT_CHECK_ACTION:
		log_action(s, ev);
		break;
	case CONTENT_CHECK_UNSUPPORTED:
		log_unsupported(ev);
		break;
	case CONTENT_CHECK_BAD_ACTION:
		if (ev->action != NULL)
			log_warn("%s: %s action in %s map %s: %s; ignored",
				 id, ev->action, content_check_param(ev->class), ev->map,
				 text);
		else
			log_warn("%s: unknown command in %s map %s: %s", id,
				 content_check_param(ev->class), ev->map, text);
		break;
	case CONTENT_CHECK_MAP_WARNING:
		log_warn("%s: %s: %s", id, content_check_param(ev->class), text);
		break;
	case CONTENT_CHECK_MAP_ERROR:
		log_warn("%s: %s map lookup problem -- message not accepted, "
			 "try again later: %s", id, content_check_param(ev->class), text);
		break;
	}
}

void smtpd_checks_start(struct smtpd_session *s)
{
	struct smtpd_txn *t = &s->txn;

	content_check_free(&t->checks);	/* a failed earlier open */
	if (!enabled)
		return;
	t->checks = content_check_new(&config, queue_write, event, s);
}

int smtpd_checks_content(struct smtpd_session *s, const char *data,
			 size_t len, const char **error_r)
{
	struct smtpd_txn *t = &s->txn;

	t->checks_error = "queue file write error";
	if (t->checks == NULL ? queue_write(s, data, len) < 0
			      : content_check_feed(t->checks, data, len) < 0) {
		*error_r = t->checks_error;
		return -1;
	}
	return 0;
}

/* Postfix's answer to a write error or a failed table in cleanup. */
#define R_TEMP "451 4.3.0 Error: queue file write error"

int smtpd_checks_finish(struct smtpd_session *s, char *reply, size_t size)
{
	struct smtpd_txn *t = &s->txn;
	const char *id = queue_writer_id(t->writer), *error, *r = NULL;

	if (t->checks == NULL)
		return 0;
	t->checks_error = "queue file write error";
	const struct content_check_verdict *v = content_check_verdict(t->checks);
	if (content_check_finish(t->checks) < 0) {
		log_warn("%s: %s", id, t->checks_error);
		r = R_TEMP;
	} else if (v->final == CONTENT_CHECK_REJECT) {
		r = v->reply;
	} else if (v->final == CONTENT_CHECK_TEMPFAIL) {
		r = R_TEMP;
	} else if (v->final == CONTENT_CHECK_DISCARD) {
		t->checks_discard = true;
	} else if (v->hold && !t->hold &&	/* else in the envelope */
		   queue_writer_late_attr(t->writer, "hold", "yes",
					  &error) < 0) {
		/* A HOLD may come with the last line, after the envelope:
		 * it goes after the content (queue_file.h). */
		log_warn("%s: %s", id, error);
		r = R_TEMP;
	}
	if (r == NULL)
		return 0;
	if (str_copy(reply, size, r) < 0)
		panic("smtpd_checks: reply buffer too small");
	return -1;
}

void smtpd_checks_reset(struct smtpd_txn *t)
{
	content_check_free(&t->checks);
}
