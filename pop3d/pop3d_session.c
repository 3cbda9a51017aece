/* pop3d_session: one POP3 session from connect to disconnect: implicit
 * TLS, the greeting, the command loop with its error budget and timeout,
 * replies (answered in order and written once no pipelined command is
 * left), and the one log line that ends the session. */
#include "config.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "log.h"
#include "mem.h"
#include "netaddr.h"
#include "pop3d.h"

#define REPLY_MAX 1024

static void addresses(struct pop3d_session *s, int fd)
{
	struct netaddr a;

	netaddr_peer(fd, &a);
	memcpy(s->rip, a.text, sizeof(s->rip));
	s->loopback = a.loopback;
	netaddr_local(fd, &a);
	memcpy(s->lip, a.text, sizeof(s->lip));
}

static void reply_v(struct pop3d_session *s, const char *prefix,
		    const char *fmt, va_list ap)
{
	char text[REPLY_MAX];
	size_t plen = strlen(prefix);
	int n;

	memcpy(text, prefix, plen);
	n = vsnprintf(text + plen, sizeof(text) - plen - 2, fmt, ap);
	if (n < 0)
		return;
	size_t len = plen + (size_t)n;
	if (len > sizeof(text) - 3)
		len = sizeof(text) - 3;
	memcpy(text + len, "\r\n", 2);
	(void)stream_write(s->stream, text, len + 2);
}

void pop3d_reply(struct pop3d_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(s, "", fmt, ap);
	va_end(ap);
}

void pop3d_err(struct pop3d_session *s, const char *fmt, ...)
{
	va_list ap;

	s->error_count++;
	va_start(ap, fmt);
	reply_v(s, "-ERR ", fmt, ap);
	va_end(ap);
}

void pop3d_err_nocount(struct pop3d_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_v(s, "-ERR ", fmt, ap);
	va_end(ap);
}

int pop3d_flush(struct pop3d_session *s)
{
	if (stream_flush(s->stream) == 0)
		return 0;
	s->end_reason = stream_error(s->stream) == STREAM_TIMEOUT
				? "write timeout" : "connection lost";
	return -1;
}

enum pop3d_result pop3d_lost(struct pop3d_session *s, int stream_result)
{
	if (stream_result == STREAM_TIMEOUT) {
		s->end_reason = "inactivity";
		pop3d_err_nocount(s, "Disconnected for inactivity.");
		/* A client that stopped reading must not hold us again. */
		stream_set_timeout(s->stream, POP3D_GOODBYE_TIMEOUT_MS);
		(void)stream_flush(s->stream);
	} else if (s->end_reason == NULL) {
		s->end_reason = "connection lost";
	}
	return POP3D_CLOSE;
}

bool pop3d_plaintext_allowed(const struct pop3d_session *s)
{
	return s->tls != NULL ||
	       (s->loopback && !s->p->disable_plaintext_auth);
}

void pop3d_wipe(const char *p, size_t len)
{
	explicit_bzero((char *)p, len);
}

/* The parser keeps its copy of the last line until the next call: a
 * line of spaces as long overwrites it. */
static void wipe_parser_copy(struct pop3d_session *s, size_t len)
{
	char spaces[POP3_LINE_MAX_DEFAULT];
	struct pop3_cmd cmd;
	const char *error;

	if (len > sizeof(spaces))
		return;		/* refused before it was copied */
	memset(spaces, ' ', len);
	/* "Unknown command": only the copy mattered. */
	if (pop3_cmd_parse(s->parser, spaces, len, &cmd, &error) < 0)
		return;
}

/* One command line (LF removed; a CR before it is dropped, a bare LF is
 * taken as clients of old do). */
static enum pop3d_result handle_line(struct pop3d_session *s,
				     const char *line, size_t len)
{
	struct pop3_cmd cmd;
	const char *error;
	enum pop3d_result result;
	size_t cmd_len = len > 0 && line[len - 1] == '\r' ? len - 1 : len;

	/* A password or SASL response is not left in memory: before login
	 * every line is wiped (a PASS line the parser refused may hold one
	 * too), the stream's copy at once (the command points into the
	 * parser's copy), the parser's after the command. */
	bool secret = s->state == POP3_STATE_AUTHORIZATION;
	int ret = pop3_cmd_parse(s->parser, line, cmd_len, &cmd, &error);
	if (secret)
		pop3d_wipe(line, len);
	if (ret < 0) {
		pop3d_err(s, "%s", error + strlen("-ERR "));
		result = POP3D_FAIL;
	} else {
		result = pop3d_cmd_dispatch(s, &cmd);
	}
	if (secret)
		wipe_parser_copy(s, cmd_len);
	return result;
}

static void command_loop(struct pop3d_session *s)
{
	for (;;) {
		const char *line;
		size_t len;

		if (s->error_count >= POP3D_ERROR_LIMIT) {
			s->end_reason = "too many bad commands";
			pop3d_err_nocount(s, "Too many bad commands.");
			stream_set_timeout(s->stream, POP3D_GOODBYE_TIMEOUT_MS);
			(void)stream_flush(s->stream);
			return;
		}
		/* A client that vanished in the middle of a reply gets
		 * nothing more done, pipelined QUIT included. */
		if (stream_error(s->stream) != 0) {
			s->end_reason = stream_error(s->stream) ==
				STREAM_TIMEOUT ? "write timeout"
					       : "connection lost";
			return;
		}
		/* Replies wait while pipelined commands are buffered: one
		 * write answers the whole group. */
		if (!stream_input_pending(s->stream) && pop3d_flush(s) < 0)
			return;
		stream_set_timeout(s->stream, s->p->timeout_ms);
		int ret = stream_read_line(s->stream, &line, &len);
		if (ret == STREAM_TOO_LONG) {
			pop3d_err(s, "Line too long");
			continue;
		}
		if (ret != 1) {
			(void)pop3d_lost(s, ret);
			return;
		}
		enum pop3d_result result = handle_line(s, line, len);
		if (result == POP3D_CLOSE || result == POP3D_DONE)
			return;
	}
}

/* POP3S: TLS before anything else is said. */
static int start_implicit_tls(struct pop3d_session *s)
{
	const char *error;

	if (tls_server_start(pop3d_tables.tls, s->stream, s->p->tls_timeout_ms,
			     &s->tls, NULL, &error) < 0) {
		log_info("TLS handshake failed: rip=%s, lip=%s: %s", s->rip,
			 s->lip, error);
		s->end_reason = "TLS handshake failed";
		s->tls = NULL;
		return -1;
	}
	return 0;
}

static void log_end(struct pop3d_session *s)
{
	const struct pop3d_stats *st = &s->stats;
	char user[AUTH_USER_MAX * 4 + 1], event[128];

	if (s->state == POP3_STATE_AUTHORIZATION) {
		log_info("disconnected: %s in AUTHORIZATION state, rip=%s, "
			 "lip=%s", s->end_reason, s->rip, s->lip);
		return;
	}
	/* QUIT after login is "logout"; any other end keeps the mail as
	 * it was. */
	if (s->state == POP3_STATE_UPDATE)
		snprintf(event, sizeof(event), "logout");
	else
		snprintf(event, sizeof(event), "disconnected: %s in "
			 "TRANSACTION state", s->end_reason);
	log_escape(user, sizeof(user), s->user, AUTH_USER_MAX);
	log_info("%s: user=<%s>, rip=%s, top=%u/%llu, retr=%u/%llu, "
		 "del=%u/%zu, size=%llu", event,
		 user, s->rip, st->top, (unsigned long long)st->top_bytes,
		 st->retr, (unsigned long long)st->retr_bytes, st->del,
		 st->msgs, (unsigned long long)st->size);
}

void pop3d_session_run(int fd, const struct pop3d_params *p)
{
	struct pop3d_session s;
	struct pop3_cmd_limits limits = {
		.line_max = POP3_LINE_MAX_DEFAULT,
		.arg_max = AUTH_USER_MAX,
	};

	memset(&s, 0, sizeof(s));
	s.p = p;
	s.state = POP3_STATE_AUTHORIZATION;
	s.drop.lock_fd = -1;
	addresses(&s, fd);
	/* Room for a SASL response line; commands are held to the RFC 2449
	 * limit by the parser. */
	s.stream = stream_new(fd, POP3D_AUTH_LINE_MAX + 2);
	stream_set_timeout(s.stream, p->timeout_ms);
	s.parser = pop3_cmd_parser_new(&limits);

	if (!p->wrappermode || start_implicit_tls(&s) == 0) {
		/* No APOP timestamp: APOP is not offered. */
		pop3d_reply(&s, "+OK %s", p->banner);
		command_loop(&s);
	}
	if (s.end_reason == NULL)
		s.end_reason = "connection lost";
	log_end(&s);

	pop3d_maildrop_close(&s.drop);
	if (s.pending_user != NULL)
		xfree(&s.pending_user);
	if (s.tls != NULL)
		tls_conn_free(&s.tls, s.stream);
	pop3_cmd_parser_free(&s.parser);
	stream_free(&s.stream);
}
