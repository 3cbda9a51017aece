/* pop3d_retr: RETR and TOP. The message file (LF line ends, as Maildir
 * keeps them) is streamed through a fixed buffer, never read whole:
 * bare LF becomes CRLF (a CRLF already there is kept), a line starting
 * with '.' gets another (RFC 1939 3), and ".\r\n" ends it. TOP stops
 * after the header, the blank line and the asked number of body lines.
 * Flags are left alone: a POP3 download does not mark mail \Seen. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "pop3d.h"

#define READ_CHUNK 16384

/* The encoder's state between chunks of the file. */
struct body_out {
	struct stream *stream;
	bool top;		/* TOP: stop after lines_left body lines */
	uint32_t lines_left;
	bool at_line_start;
	bool prev_cr;		/* the last octet written was a CR */
	size_t line_len;	/* octets of the current line so far */
	bool in_body;		/* past the blank line after the header */
	bool done;		/* TOP has all it asked for */
	uint64_t bytes;		/* message octets sent (no dot-stuffing) */
};

static void out_write(struct body_out *o, const char *data, size_t len)
{
	(void)stream_write(o->stream, data, len);
	o->bytes += len;
}

/* A line ended (its LF was written). */
static void line_end(struct body_out *o)
{
	bool empty = o->line_len == 0 || (o->line_len == 1 && o->prev_cr);

	if (!o->in_body) {
		if (empty)
			o->in_body = true;
	} else if (o->lines_left > 0) {
		o->lines_left--;
	}
	if (o->top && o->in_body && o->lines_left == 0)
		o->done = true;
	o->at_line_start = true;
	o->prev_cr = false;
	o->line_len = 0;
}

static void encode(struct body_out *o, const char *data, size_t len)
{
	while (len > 0 && !o->done) {
		if (o->at_line_start) {
			if (data[0] == '.')
				(void)stream_write(o->stream, ".", 1);
			o->at_line_start = false;
		}
		const char *lf = memchr(data, '\n', len);
		size_t n = lf != NULL ? (size_t)(lf - data) : len;
		if (n > 0) {
			out_write(o, data, n);
			o->line_len += n;
			o->prev_cr = data[n - 1] == '\r';
		}
		if (lf == NULL)
			return;
		if (o->prev_cr)
			out_write(o, "\n", 1);
		else
			out_write(o, "\r\n", 2);
		line_end(o);
		data += n + 1;
		len -= n + 1;
	}
}

/* Streams the open file fd. 0, or -1 when it could not be read (the
 * reply is broken off: the session must end). */
static int send_body(struct body_out *o, int fd)
{
	char buf[READ_CHUNK];

	while (!o->done) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		encode(o, buf, (size_t)n);
		if (stream_error(o->stream) != 0)
			return 0;	/* the client is gone: seen later */
	}
	/* A last line without LF still ends before the terminator; one that
	 * ends in its CR needs only the LF (not "\r\r\n"). */
	if (!o->at_line_start)
		out_write(o, o->prev_cr ? "\n" : "\r\n", o->prev_cr ? 1 : 2);
	(void)stream_write(o->stream, ".\r\n", 3);
	return 0;
}

/* RETR (top false) or TOP with lines. Opens the file before answering,
 * so that a message deleted by someone else gets a clean -ERR. */
static enum pop3d_result send_message(struct pop3d_session *s, uint32_t msg,
				      bool top, uint32_t lines)
{
	struct pop3d_msg *m = pop3d_maildrop_msg(s, msg);
	const char *error;
	size_t i;
	int fd, ret;

	if (m == NULL)
		return POP3D_FAIL;
	if (mailstore_find_uid(s->drop.box, m->uid, &i) != 1)
		ret = 0;
	else
		ret = mailstore_msg_open(s->drop.box, i, &fd, &error);
	if (ret == 0) {
		pop3d_err_nocount(s, "[SYS/TEMP] Message was deleted by "
				  "another session.");
		return POP3D_FAIL;
	}
	if (ret < 0) {
		log_warn("%s: message UID %u: %s", s->drop.path, m->uid,
			 error);
		pop3d_err_nocount(s, "[SYS/TEMP] Unable to read the "
				  "message.");
		return POP3D_FAIL;
	}
	struct body_out o = {
		.stream = s->stream,
		.top = top,
		.lines_left = lines,
		.at_line_start = true,
	};
	if (top)
		pop3d_reply(s, "+OK");
	else
		pop3d_reply(s, "+OK %llu octets", (unsigned long long)m->size);
	ret = send_body(&o, fd);
	close(fd);
	if (top) {
		s->stats.top++;
		s->stats.top_bytes += o.bytes;
	} else {
		s->stats.retr++;
		s->stats.retr_bytes += o.bytes;
	}
	if (ret < 0) {
		log_warn("%s: message UID %u: read error: %s", s->drop.path,
			 m->uid, strerror(errno));
		s->end_reason = "message read error";
		return POP3D_CLOSE;
	}
	return POP3D_OK;
}

enum pop3d_result pop3d_cmd_retr(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	return send_message(s, cmd->msg, false, 0);
}

enum pop3d_result pop3d_cmd_top(struct pop3d_session *s,
				 const struct pop3_cmd *cmd)
{
	return send_message(s, cmd->msg, true, cmd->lines);
}
