/* imapd_session: one IMAP session from connect to disconnect: implicit
 * TLS, the greeting, the input loop that feeds lib/imap_parser and
 * answers literal announcements ("+ Ready" or [TOOBIG], RFC 7889), the
 * error budget, the inactivity autologout, and the one log line that
 * ends the session. Replies are written once no pipelined input is left,
 * so that a group of pipelined commands is answered with one write. */
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
#include "imapd.h"
#include "imapd_notify.h"

static void addresses(struct imapd_session *s, int fd)
{
	struct netaddr a;

	netaddr_peer(fd, &a);
	memcpy(s->rip, a.text, sizeof(s->rip));
	s->loopback = a.loopback;
	netaddr_local(fd, &a);
	memcpy(s->lip, a.text, sizeof(s->lip));
}

bool imapd_plaintext_allowed(const struct imapd_session *s)
{
	return s->tls != NULL ||
	       (s->loopback && !s->p->disable_plaintext_auth);
}

static void set_end(struct imapd_session *s, const char *reason)
{
	if (s->end_reason == NULL)
		s->end_reason = reason;
	s->closing = true;
}

int imapd_flush(struct imapd_session *s)
{
	if (stream_flush(s->stream) == 0)
		return 0;
	set_end(s, stream_error(s->stream) == STREAM_TIMEOUT
			   ? "write timeout" : "connection lost");
	return -1;
}

/* The last words of a session: written with a short timeout so that a
 * client that stopped reading cannot hold the process. */
static void goodbye_flush(struct imapd_session *s)
{
	stream_set_timeout(s->stream, IMAPD_GOODBYE_TIMEOUT_MS);
	(void)imapd_flush(s);
}

/* A read failed: the autologout (RFC 3501 5.4) or a vanished client. */
static void lost(struct imapd_session *s, int stream_result)
{
	if (stream_result == STREAM_TIMEOUT) {
		imapd_bye(s, "inactivity", "Disconnected for inactivity.");
		goodbye_flush(s);
	} else {
		set_end(s, stream_result == STREAM_EOF ? "connection closed"
						       : "connection lost");
	}
}

int imapd_read_line(struct imapd_session *s, size_t max, int timeout_ms,
		    const char **line_r, size_t *len_r)
{
	const char *line;
	size_t len;

	if (imapd_flush(s) < 0)
		return -1;
	stream_set_timeout(s->stream, timeout_ms);
	int ret = stream_read_line(s->stream, &line, &len);
	stream_set_timeout(s->stream, s->p->timeout_ms);
	if (ret == STREAM_TOO_LONG) {
		s->stats.in_bytes += max;
		return 0;
	}
	if (ret != 1) {
		lost(s, ret);
		return -1;
	}
	s->stats.in_bytes += len + 1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > max)
		return 0;
	*line_r = line;
	*len_r = len;
	return 1;
}

/* A synchronising literal the parser found within its limits: the client
 * waits for the go-ahead before it sends the data. */
static void literal_ready(struct imapd_session *s)
{
	imap_parser_literal_accept(s->parser);
	imapd_write_str(s, "+ Ready for literal data\r\n");
	(void)imapd_flush(s);
}

static bool error_is_toobig(enum imap_parser_error code)
{
	return code == IMAP_PARSER_ERR_LITERAL_TOOBIG ||
	       code == IMAP_PARSER_ERR_COMMAND_TOO_LONG;
}

/* A command the parser refused. Too big is NO [TOOBIG] (RFC 7889: the
 * client then sends none of the data), the rest is BAD; a fatal error
 * (the input cannot be resynchronised) ends the session. */
static void parse_error(struct imapd_session *s, const char *error)
{
	enum imap_parser_error code = imap_parser_error_code(s->parser);

	s->tag = imap_parser_tag(s->parser);
	s->cmd_flags = IMAPD_CMD_NOSYNC;
	s->cmd_uid = false;
	if (error_is_toobig(code) && s->tag != NULL)
		imapd_no(s, "%s", error);
	else if (error_is_toobig(code))
		imapd_untagged(s, "NO %s", error);
	else
		imapd_bad(s, "%s", error);
	s->tag = NULL;
	if (imap_parser_error_fatal(s->parser)) {
		imapd_bye(s, "protocol error",
			  "Too much data or invalid input, disconnecting.");
		goodbye_flush(s);
	}
}

static void run_command(struct imapd_session *s,
			const struct imap_command *cmd)
{
	s->tag = cmd->tag;
	s->cmd_name = cmd->name;
	s->cmd_uid = false;
	s->cmd_flags = 0;
	s->tagged_sent = false;
	imapd_cmd_dispatch(s, cmd);
	if (s->sel != NULL)
		imapd_msg_release(s);
	if (!s->tagged_sent && !s->closing) {
		/* Every handler ends with a tagged reply: a client must
		 * never be left waiting for one. */
		log_error("command %s ended without a reply", cmd->name);
		imapd_no(s, "[SERVERBUG] Internal error.");
	}
	s->tag = NULL;
	s->cmd_name = NULL;
}

/* Feeds the buffered input to the parser up to one event. */
static void feed(struct imapd_session *s, const char *data, size_t len)
{
	const struct imap_command *cmd;
	const char *error;
	size_t consumed = 0;
	int ret = imap_parser_feed(s->parser, data, len, &consumed, &cmd,
				   &error);

	stream_skip(s->stream, consumed);
	s->stats.in_bytes += consumed;
	switch (ret) {
	case IMAP_PARSER_MORE:
		break;
	case IMAP_PARSER_LITERAL:
		literal_ready(s);
		break;
	case IMAP_PARSER_COMMAND:
		run_command(s, cmd);
		break;
	case IMAP_PARSER_ERROR:
	default:
		parse_error(s, error);
		break;
	}
}

static void input_loop(struct imapd_session *s)
{
	while (!s->closing) {
		const char *data;
		size_t len;

		/* A STORE's renames run once its reply is out. */
		imapd_store_finish(s);
		if (s->error_count >= IMAPD_ERROR_LIMIT) {
			imapd_bye(s, "too many invalid commands",
				  "Too many invalid IMAP commands.");
			goodbye_flush(s);
			return;
		}
		/* A client that vanished in the middle of a reply gets
		 * nothing more done. */
		if (stream_error(s->stream) != 0) {
			set_end(s, stream_error(s->stream) == STREAM_TIMEOUT
					   ? "write timeout"
					   : "connection lost");
			return;
		}
		if (!stream_input_pending(s->stream) && imapd_flush(s) < 0)
			return;
		stream_set_timeout(s->stream, s->p->timeout_ms);
		/* NOTIFY (RFC 5465): changes are told while the client is
		 * quiet, not only at the end of its commands. */
		if (!stream_input_pending(s->stream) &&
		    imapd_notify_wait(s) < 0)
			break;
		int ret = stream_peek(s->stream, &data, &len);
		if (ret != 1) {
			lost(s, ret);
			return;
		}
		feed(s, data, len);
	}
	goodbye_flush(s);
}

static void greeting(struct imapd_session *s)
{
	struct buf caps;

	buf_init(&caps, 4096);
	imapd_capabilities(s, &caps);
	imapd_untagged(s, "OK [CAPABILITY %s] %s", buf_cstr(&caps),
		       s->p->banner);
	buf_deinit(&caps);
}

static void log_end(struct imapd_session *s)
{
	const struct imapd_stats *st = &s->stats;
	char user[AUTH_USER_MAX * 4 + 1], event[128];

	if (s->user[0] == '\0') {
		log_info("disconnected: %s in NOT-AUTHENTICATED state, "
			 "rip=%s, lip=%s, in=%llu, out=%llu", s->end_reason,
			 s->rip, s->lip, (unsigned long long)st->in_bytes,
			 (unsigned long long)st->out_bytes);
		return;
	}
	if (strcmp(s->end_reason, "logout") == 0)
		snprintf(event, sizeof(event), "logout");
	else
		snprintf(event, sizeof(event), "disconnected: %s",
			 s->end_reason);
	log_escape(user, sizeof(user), s->user, AUTH_USER_MAX);
	log_info("%s: user=<%s>, rip=%s, lip=%s, in=%llu, out=%llu, "
		 "fetch=%u/%llu, search=%u, store=%u, append=%u, "
		 "expunged=%u", event, user, s->rip, s->lip,
		 (unsigned long long)st->in_bytes,
		 (unsigned long long)st->out_bytes, st->fetch_count,
		 (unsigned long long)st->fetch_bytes, st->search_count,
		 st->store_count, st->append_count, st->expunged);
}

static struct imap_parser *parser_new(const struct imapd_params *p)
{
	/* A MULTIAPPEND of several messages within the APPENDLIMIT each
	 * but over this in all gets [TOOBIG]: what one command may make
	 * the process hold is bounded. */
	struct imap_parser_limits limits = {
		.line_max = p->line_max,
		.literal_max = p->append_limit,
		.command_max = p->append_limit + p->line_max,
		.depth_max = IMAPD_DEPTH_MAX,
		.args_max = IMAPD_ARGS_MAX,
	};

	return imap_parser_new(&limits);
}

static void session_free(struct imapd_session *s)
{
	imapd_notify_free(s);
	if (s->sel != NULL)
		imapd_view_close(s);
	xfree(&s->saved.uids);
	imapd_compress_free(s);
	if (s->tls != NULL)
		tls_conn_free(&s->tls, s->stream);
	imap_parser_free(&s->parser);
	stream_free(&s->stream);
	xfree(&s->maildir);
}

void imapd_session_run(int fd, const struct imapd_params *p)
{
	struct imapd_session s;

	memset(&s, 0, sizeof(s));
	s.p = p;
	s.state = IMAPD_STATE_NOT_AUTH;
	addresses(&s, fd);
	/* The stream's own lines are AUTHENTICATE responses and DONE;
	 * commands go through the parser, which has its own limits. */
	s.stream = stream_new(fd, IMAPD_AUTH_LINE_MAX + 2);
	stream_set_timeout(s.stream, p->timeout_ms);
	s.parser = parser_new(p);

	if (!p->wrappermode || imapd_tls_start_implicit(&s) == 0) {
		greeting(&s);
		input_loop(&s);
	}
	if (s.end_reason == NULL)
		s.end_reason = "connection lost";
	log_end(&s);
	session_free(&s);
}
