/* smtpd_session: one SMTP session from connect to disconnect: the early
 * talker check, the greeting, the command loop with its CRLF policy, error
 * budget and timeouts, and the clean-up that guarantees an unfinished
 * message is never queued. */
#include "config.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "log.h"
#include "mem.h"
#include "netaddr.h"
#include "netmatch.h"
#include "smtpd.h"

static void peer_address(struct smtpd_session *s, int fd)
{
	struct netaddr a;

	netaddr_peer(fd, &a);
	memcpy(s->client_addr, a.text, sizeof(s->client_addr));
	s->loopback = a.loopback;
	/* The tables are fixed for the process: asked once, not per check. */
	s->in_mynetworks = netmatch_has(smtpd_tables.mynetworks,
					s->client_addr);
	if (a.family == 0)
		memcpy(s->client_rfc_addr, "unknown", 8);
	else
		snprintf(s->client_rfc_addr, sizeof(s->client_rfc_addr),
			 "%s%s", a.family == AF_INET6 ? "IPv6:" : "",
			 s->client_addr);
}

bool smtpd_client_is_ours(const struct smtpd_session *s)
{
	return s->sasl_username != NULL || s->in_mynetworks;
}

void smtpd_txn_reset(struct smtpd_session *s)
{
	struct smtpd_txn *t = &s->txn;

	/* An unfinished message is removed: only a 250 makes it real. */
	queue_writer_abort(&t->writer);
	smtp_data_free(&t->decoder);
	smtpd_checks_reset(t);
	queue_envelope_free(&t->env);
	free(t->envid);
	free(t->auth);
	free(t->first_rcpt);
	smtpd_rcpt_set_free(&t->rcpt_set);
	for (size_t i = 0; i < t->prepend_count; i++)
		free(t->prepend[i]);
	free(t->redirect);
	free(t->bcc);
	free(t->filter);
	if (t->spf != NULL) {
		spf_check_free(t->spf);
		free(t->spf);
	}
	smtpd_dmarc_reset(t);
	memset(t, 0, sizeof(*t));
}

/* The early talker check: a client that sends before it is greeted is a
 * spambot that does not wait for replies. */
static int greet(struct smtpd_session *s)
{
	int ret = stream_poll_input(s->stream, s->p->pregreet_wait_ms);

	if (ret == 1) {
		const char *data;
		size_t len;
		char text[200];

		if (stream_peek(s->stream, &data, &len) == 1)
			log_escape(text, sizeof(text), data, len < 40 ? len : 40);
		else
			text[0] = '\0';
		log_info("improper command pipelining after CONNECT from "
			 "%s[%s]: %s", s->client_name, s->client_addr, text);
		smtpd_reply_nocount(s, "554 5.5.1 Error: SMTP protocol "
				    "synchronization");
		stream_set_timeout(s->stream, SMTPD_GOODBYE_TIMEOUT_MS);
		(void)stream_flush(s->stream);
		return -1;
	}
	if (ret < 0) {
		smtpd_lost(s, ret);
		return -1;
	}
	smtpd_reply(s, "220 %s", s->p->banner);
	return 0;
}

/* One command line (LF removed). CRLF only: a bare LF or CR is how SMTP
 * smuggling starts, so it ends the session. */
static enum smtpd_result handle_line(struct smtpd_session *s, const char *line,
				     size_t len)
{
	struct smtp_cmd cmd;
	const char *error;

	/* The stream holds lines as long as an AUTH response may be; other
	 * commands keep line_length_limit (LF included, as the stream
	 * counts). */
	if (len + 1 > s->p->line_length_limit &&
	    !smtpd_sasl_is_auth(line, len)) {
		s->counts[SMTP_VERB_UNKNOWN].total++;
		smtpd_reply(s, "500 5.5.2 Error: line too long");
		return SMTPD_FAIL;
	}
	if (len > 0 && line[len - 1] == '\r') {
		len--;
	} else if (!s->p->allow_bare_lf) {
		smtpd_bare_newline(s, "bare <LF> received");
		return SMTPD_CLOSE;
	}
	if (memchr(line, '\r', len) != NULL) {
		smtpd_bare_newline(s, "bare <CR> received");
		return SMTPD_CLOSE;
	}
	if (smtpd_sasl_is_auth(line, len)) {
		s->counts[SMTPD_COUNT_AUTH].total++;
		s->last_cmd = "AUTH";
		enum smtpd_result result = smtpd_cmd_auth(s, line, len);
		if (result == SMTPD_OK)
			s->counts[SMTPD_COUNT_AUTH].ok++;
		return result;
	}
	if (smtpd_tls_is_starttls(line, len)) {
		s->counts[SMTPD_COUNT_STARTTLS].total++;
		s->last_cmd = "STARTTLS";
		enum smtpd_result result = smtpd_cmd_starttls(s, line, len);
		if (result == SMTPD_OK)
			s->counts[SMTPD_COUNT_STARTTLS].ok++;
		return result;
	}
	int ret = smtp_cmd_parse(s->parser, line, len,
				 s->txn.utf8 ? SMTP_CMD_FLAG_UTF8 : 0, &cmd,
				 &error);
	s->counts[cmd.verb].total++;
	s->last_cmd = cmd.verb == SMTP_VERB_UNKNOWN ? "UNKNOWN" : cmd.name;
	if (ret < 0) {
		smtpd_reply(s, "%s", error);
		return SMTPD_FAIL;
	}
	enum smtpd_result result = smtpd_cmd_dispatch(s, &cmd);
	if (result == SMTPD_OK || result == SMTPD_DONE)
		s->counts[cmd.verb].ok++;
	return result;
}

static void command_loop(struct smtpd_session *s)
{
	for (;;) {
		const char *line;
		size_t len;

		if (s->error_count >= s->p->hard_error_limit) {
			log_info("too many errors after %s from %s[%s]",
				 s->last_cmd, s->client_name, s->client_addr);
			smtpd_reply_nocount(s, "421 4.7.0 %s Error: too many "
					    "errors", s->p->myhostname);
			stream_set_timeout(s->stream, SMTPD_GOODBYE_TIMEOUT_MS);
			(void)stream_flush(s->stream);
			return;
		}
		/* Replies wait while pipelined commands are buffered: one
		 * write answers the whole group. */
		if (smtpd_reply_flush(s, false) < 0) {
			smtpd_lost(s, stream_error(s->stream));
			return;
		}
		stream_set_timeout(s->stream, s->p->timeout_ms);
		int ret = stream_read_line(s->stream, &line, &len);
		if (ret == STREAM_TOO_LONG) {
			s->counts[SMTP_VERB_UNKNOWN].total++;
			smtpd_reply(s, "500 5.5.2 Error: line too long");
			continue;
		}
		if (ret != 1) {
			smtpd_lost(s, ret);
			return;
		}
		enum smtpd_result result = handle_line(s, line, len);
		if (result == SMTPD_CLOSE || result == SMTPD_DONE)
			return;
	}
}

void smtpd_session_run(int fd, const struct smtpd_params *p)
{
	struct smtpd_session s;
	struct smtp_cmd_limits limits = {
		.line_max = p->line_length_limit,
		.smtputf8 = p->smtputf8,
	};

	memset(&s, 0, sizeof(s));
	s.p = p;
	s.client_name = "unknown";
	s.last_cmd = "CONNECT";
	peer_address(&s, fd);
	s.stream = stream_new(fd, p->line_length_limit > SMTPD_SASL_LINE_MAX ?
				  p->line_length_limit : SMTPD_SASL_LINE_MAX);
	stream_set_timeout(s.stream, p->timeout_ms);
	s.parser = smtp_cmd_parser_new(&limits);
	log_info("connect from %s[%s]", s.client_name, s.client_addr);

	if (smtpd_tls_wrapper(&s) == 0 && smtpd_anvil_connect(&s) == 0 &&
	    greet(&s) == 0)
		command_loop(&s);
	smtpd_anvil_disconnect(&s);

	smtpd_txn_reset(&s);
	smtpd_policy_end();
	smtpd_tls_end(&s);
	smtpd_log_disconnect(&s);
	smtpd_sasl_reset(&s);
	free(s.helo);
	smtp_cmd_parser_free(&s.parser);
	stream_free(&s.stream);
}
