/* sendmail_smtp: sendmail.surel -bs, SMTP on standard input and output
 * (what Postfix's sendmail -bs does with its stand-alone smtpd): for
 * programs that submit mail by speaking SMTP to a pipe. Each message goes
 * through sureldrop like any other local submission, so the caller needs
 * no more rights than for plain sendmail. HELO, EHLO, MAIL, RCPT, DATA,
 * RSET, NOOP, VRFY, QUIT; no AUTH, STARTTLS or BDAT (not offered). Lines
 * are bounded (line_length_limit); the session ends at QUIT or EOF. */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include "conf.h"
#include "mem.h"
#include "smtp_cmd.h"
#include "sendmail.h"

#define SMTP_LINE_MAX 2048
#define SMTP_ERRORS_MAX 20	/* as smtpd_hard_error_limit */

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\r\n", stdout);
	fflush(stdout);
}

/* One command line without its CRLF; false at EOF. A longer line is
 * read to its end and refused. */
static bool read_line(char *line, size_t size, bool *too_long_r)
{
	size_t n = 0;
	int c;

	*too_long_r = false;
	while ((c = getc_unlocked(stdin)) != EOF && c != '\n') {
		if (n + 1 < size)
			line[n++] = (char)c;
		else
			*too_long_r = true;
	}
	if (c == EOF && n == 0)
		return false;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return true;
}

static void txn_reset(struct submit *s)
{
	for (size_t i = 0; i < s->rcpt_count; i++)
		free(s->rcpts[i]);
	free((char *)s->sender);
	s->sender = NULL;
	s->rcpt_count = 0;
}

/* The reply for sureldrop's outcome. */
static void data_reply(const struct submit *s, int status)
{
	if (status == EX_OK)
		reply("250 2.0.0 Ok: queued");
	else if (status == EX_DATAERR)
		reply("554 5.6.0 Error: %s", *s->error != '\0' ? s->error
							     : "bad message");
	else if (status == EX_NOPERM)
		reply("550 5.7.1 Error: you may not submit mail");
	else
		reply("451 4.3.0 Error: queue file write error");
}

static void do_data(struct submit *s)
{
	s->status = EX_OK;
	s->error[0] = '\0';
	s->size = 0;
	s->eof = false;
	s->len = 0;
	reply("354 End data with <CR><LF>.<CR><LF>");
	sendmail_drop_start(s);
	while (sendmail_next_piece(s))
		sendmail_drop_write(s, s->piece, s->len);
	if (feof(stdin)) {
		/* EOF before the end: nothing is queued. */
		sendmail_fail(s, EX_DATAERR, "unexpected end of input");
	}
	data_reply(s, sendmail_drop_finish(s));
	txn_reset(s);
}

/* One command; false to end the session. */
static bool command(struct submit *s, const struct smtp_cmd *cmd)
{
	const char *error;

	switch (cmd->verb) {
	case SMTP_VERB_HELO:
		reply("250 %s", conf_str("myhostname"));
		break;
	case SMTP_VERB_EHLO:
		reply("250-%s", conf_str("myhostname"));
		reply("250-SIZE %llu",
		      (unsigned long long)conf_size("message_size_limit"));
		reply("250 8BITMIME");
		break;
	case SMTP_VERB_MAIL:
		if (s->sender != NULL) {
			reply("503 5.5.1 Error: nested MAIL command");
			break;
		}
		s->sender = xstrdup(cmd->addr.address);
		reply("250 2.1.0 Ok");
		break;
	case SMTP_VERB_RCPT:
		if (s->sender == NULL)
			reply("503 5.5.1 Error: need MAIL command");
		else if (sendmail_add_rcpt(s, cmd->addr.address, &error) < 0)
			reply("452 4.5.3 Error: too many recipients");
		else
			reply("250 2.1.5 Ok");
		break;
	case SMTP_VERB_DATA:
		if (s->rcpt_count == 0)
			reply("503 5.5.1 Error: need RCPT command");
		else
			do_data(s);
		break;
	case SMTP_VERB_RSET:
		txn_reset(s);
		reply("250 2.0.0 Ok");
		break;
	case SMTP_VERB_NOOP:
		reply("250 2.0.0 Ok");
		break;
	case SMTP_VERB_VRFY:
		reply("252 2.0.0 Send some mail, I'll try my best");
		break;
	case SMTP_VERB_QUIT:
		reply("221 2.0.0 Bye");
		return false;
	default:
		reply("502 5.5.2 Error: command not recognized");
		break;
	}
	return true;
}

int sendmail_smtp(const struct sendmail_opts *o)
{
	struct smtp_cmd_limits limits = { .line_max = SMTP_LINE_MAX - 2 };
	struct smtp_cmd_parser *p = smtp_cmd_parser_new(&limits);
	struct submit *s = xcalloc(1, sizeof(*s));
	char line[SMTP_LINE_MAX];
	unsigned errors = 0;
	bool too_long;

	s->in = stdin;
	s->smtp = true;
	s->drop_fd = -1;
	s->full_name = o->full_name;
	s->size_max = conf_size("message_size_limit");
	if (s->size_max == 0)
		s->size_max = UINT64_MAX;
	s->rcpts = xcalloc(RCPT_MAX, sizeof(*s->rcpts));
	reply("220 %s ESMTP %s", conf_str("myhostname"), conf_str("mail_name"));
	while (errors < SMTP_ERRORS_MAX &&
	       read_line(line, sizeof(line), &too_long)) {
		struct smtp_cmd cmd;
		const char *error;
		if (too_long) {
			reply("500 5.5.0 Error: line too long");
			errors++;
		} else if (smtp_cmd_parse(p, line, strlen(line), 0, &cmd,
					  &error) < 0) {
			reply("%s", error);
			errors++;
		} else if (!command(s, &cmd)) {
			break;
		}
	}
	txn_reset(s);
	free(s->rcpts);
	free(s);
	smtp_cmd_parser_free(&p);
	return EX_OK;
}
