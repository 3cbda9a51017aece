/* imapd_compress: COMPRESS=DEFLATE (RFC 4978). A layer put under the
 * session's stream, over whatever carried it before (the socket or TLS):
 * raw deflate (no zlib header, RFC 1951) in both directions, and every
 * write the stream makes ends with a Z_SYNC_FLUSH so that a reply never
 * waits in the compressor. The decompressor only ever fills the stream's
 * input buffer, so a small input that inflates to much only costs time
 * bounded by the parser's limits, never memory. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include "fsutil.h"
#include "log.h"
#include "mem.h"
#include "timeutil.h"
#include "imapd.h"

#define COMPRESS_BUF 16384

struct imapd_compress {
	/* The transport underneath. */
	stream_read_fn *read_fn;
	stream_write_fn *write_fn;
	void *ctx;
	stream_wait_fn *wait_fn;
	int fd;
	const int *timeout_ms;

	z_stream in, out;
	bool in_end;		/* the client ended its deflate stream */
	unsigned char inbuf[COMPRESS_BUF];	/* compressed input */
	size_t in_len;
	unsigned char outbuf[COMPRESS_BUF];	/* compressed output */
};

/* Inflates what is buffered into buf; reads from the transport when
 * nothing comes out. As read(2) on a non-blocking fd. */
static ssize_t compress_read(void *ctx, void *buf, size_t len)
{
	struct imapd_compress *c = ctx;

	for (;;) {
		if (c->in_end)
			return 0;
		c->in.next_out = buf;
		c->in.avail_out = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
		int ret = inflate(&c->in, Z_SYNC_FLUSH);
		size_t produced = (size_t)(c->in.next_out - (Bytef *)buf);
		if (ret == Z_STREAM_END)
			c->in_end = true;
		else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			errno = EPROTO;
			return -1;
		}
		if (produced > 0)
			return (ssize_t)produced;
		if (c->in_end)
			return 0;
		/* Nothing came out: more compressed input is needed. */
		if (c->in.avail_in > 0 && c->in.next_in != c->inbuf) {
			memmove(c->inbuf, c->in.next_in, c->in.avail_in);
		}
		c->in.next_in = c->inbuf;
		if (c->in.avail_in == sizeof(c->inbuf)) {
			errno = EPROTO;	/* zlib stuck on a full buffer */
			return -1;
		}
		ssize_t n = c->read_fn(c->ctx, c->inbuf + c->in.avail_in,
				       sizeof(c->inbuf) - c->in.avail_in);
		if (n <= 0)
			return n;
		c->in.avail_in += (uInt)n;
	}
}

/* Writes all of data to the transport, waiting when it is full: the
 * stream counts a write as done only when it is on its way. */
static int write_all(struct imapd_compress *c, const unsigned char *data,
		     size_t len)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)*c->timeout_ms;

	while (len > 0) {
		ssize_t n = c->write_fn(c->ctx, data, len);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return -1;
		short events = c->wait_fn != NULL
				       ? c->wait_fn(c->ctx, POLLOUT) : POLLOUT;
		int ret = fs_wait_fd(c->fd, events, deadline);
		if (ret <= 0) {
			errno = ret == 0 ? ETIMEDOUT : errno;
			return -1;
		}
	}
	return 0;
}

/* Deflates all of buf with a sync flush at its end and sends it. */
static ssize_t compress_write(void *ctx, const void *buf, size_t len)
{
	struct imapd_compress *c = ctx;

	if (len > UINT32_MAX)
		len = UINT32_MAX;
	c->out.next_in = (Bytef *)(uintptr_t)buf;
	c->out.avail_in = (uInt)len;
	do {
		c->out.next_out = c->outbuf;
		c->out.avail_out = sizeof(c->outbuf);
		int ret = deflate(&c->out, Z_SYNC_FLUSH);
		if (ret != Z_OK && ret != Z_BUF_ERROR) {
			errno = EPROTO;
			return -1;
		}
		size_t n = sizeof(c->outbuf) - c->out.avail_out;
		if (n > 0 && write_all(c, c->outbuf, n) < 0)
			return -1;
	} while (c->out.avail_out == 0 || c->out.avail_in > 0);
	return (ssize_t)len;
}

/* Reading may need the transport's other direction (TLS). */
static short compress_wait(void *ctx, short events)
{
	struct imapd_compress *c = ctx;

	return c->wait_fn != NULL ? c->wait_fn(c->ctx, events) : events;
}

static struct imapd_compress *compress_new(struct imapd_session *s)
{
	struct imapd_compress *c = xcalloc(1, sizeof(*c));

	stream_get_io(s->stream, &c->read_fn, &c->write_fn, &c->ctx,
		      &c->wait_fn);
	c->fd = stream_fd(s->stream);
	c->timeout_ms = &s->p->timeout_ms;
	/* -15: raw deflate, the largest window (RFC 4978 4). */
	if (inflateInit2(&c->in, -15) != Z_OK ||
	    deflateInit2(&c->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		fatal("zlib: out of memory");
	c->in.next_in = c->inbuf;
	return c;
}

/* Octets the client sent after the COMPRESS command and that the stream
 * already read are compressed: they go to the decompressor. */
static void take_pending_input(struct imapd_session *s,
			       struct imapd_compress *c)
{
	const char *data;
	size_t len;

	if (!stream_input_pending(s->stream) ||
	    stream_peek(s->stream, &data, &len) != 1)
		return;
	if (len > sizeof(c->inbuf))
		len = sizeof(c->inbuf);
	memcpy(c->inbuf, data, len);
	c->in.avail_in = (uInt)len;
	stream_skip(s->stream, len);
}

void imapd_cmd_compress(struct imapd_session *s, const struct imap_arg *args)
{
	const char *mech;

	if (args == NULL || args->next != NULL ||
	    args->type != IMAP_ARG_ATOM || !imap_arg_get_atom(args, &mech)) {
		imapd_bad(s, "Invalid arguments: COMPRESS DEFLATE.");
		return;
	}
	if (s->compress != NULL) {
		imapd_no(s, "[COMPRESSIONACTIVE] DEFLATE active via "
			    "COMPRESS.");
		return;
	}
	if (strcasecmp(mech, "DEFLATE") != 0) {
		imapd_bad(s, "Unknown compression mechanism.");
		return;
	}
	imapd_ok(s, "DEFLATE active.");
	/* The OK is the last thing sent uncompressed. */
	if (imapd_flush(s) < 0)
		return;
	struct imapd_compress *c = compress_new(s);
	take_pending_input(s, c);
	stream_set_io(s->stream, compress_read, compress_write, c);
	stream_set_io_wait(s->stream, compress_wait);
	s->compress = c;
}

void imapd_compress_free(struct imapd_session *s)
{
	struct imapd_compress *c = s->compress;

	if (c == NULL)
		return;
	(void)stream_flush(s->stream);
	stream_set_io(s->stream, c->read_fn, c->write_fn, c->ctx);
	stream_set_io_wait(s->stream, c->wait_fn);
	inflateEnd(&c->in);
	deflateEnd(&c->out);
	free(c);
	s->compress = NULL;
}
