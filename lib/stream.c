/* stream: buffered socket I/O with timeouts and bounded lines; see
 * stream.h. Reads are tried first and polled for only on EAGAIN, so a
 * transport with its own buffer (TLS) works unchanged. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fsutil.h"
#include "mem.h"
#include "timeutil.h"
#include "stream.h"

#define STREAM_IN_MIN 16384
#define STREAM_OUT_SIZE 16384

struct stream {
	int fd;
	stream_read_fn *read_fn;
	stream_write_fn *write_fn;
	void *io_ctx;
	stream_wait_fn *wait_fn;
	int timeout_ms;
	stream_stall_fn *stall_fn;
	void *stall_ctx;

	char *in;
	size_t in_size, in_start, in_end;
	size_t line_max;

	char *out;
	size_t out_len;
	int write_error;
};

static ssize_t plain_read(void *ctx, void *buf, size_t len)
{
	struct stream *s = ctx;

	return read(s->fd, buf, len);
}

static ssize_t plain_write(void *ctx, const void *buf, size_t len)
{
	struct stream *s = ctx;
	/* MSG_NOSIGNAL: a vanished peer is an error here, not a SIGPIPE. */
	ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);

	if (n < 0 && errno == ENOTSOCK)
		n = write(s->fd, buf, len);
	return n;
}

struct stream *stream_new(int fd, size_t line_max)
{
	struct stream *s = xcalloc(1, sizeof(*s));

	s->fd = fd;
	(void)fs_set_nonblock(fd);
	/* The stream batches its output itself and flushes when a reply
	 * group is complete; Nagle's algorithm would only hold the last
	 * small write back until the peer's delayed ACK (40 ms on Linux)
	 * whenever a reply took more than one write. Fails harmlessly on
	 * a socketpair or a UNIX socket. */
	int on = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	stream_set_io(s, NULL, NULL, NULL);
	s->timeout_ms = 300 * 1000;
	s->line_max = line_max < 2 ? 2 : line_max;
	s->in_size = s->line_max + 1 > STREAM_IN_MIN ? s->line_max + 1
						      : STREAM_IN_MIN;
	s->in = xmalloc(s->in_size);
	s->out = xmalloc(STREAM_OUT_SIZE);
	return s;
}

void stream_free(struct stream **s)
{
	if (*s == NULL)
		return;
	explicit_bzero((*s)->in, (*s)->in_size);
	free((*s)->in);
	free((*s)->out);
	xfree(s);
}

void stream_set_io(struct stream *s, stream_read_fn *read_fn,
		   stream_write_fn *write_fn, void *ctx)
{
	if (read_fn == NULL || write_fn == NULL) {
		s->read_fn = plain_read;
		s->write_fn = plain_write;
		s->io_ctx = s;
	} else {
		s->read_fn = read_fn;
		s->write_fn = write_fn;
		s->io_ctx = ctx;
	}
	s->wait_fn = NULL;
}

void stream_set_io_wait(struct stream *s, stream_wait_fn *wait_fn)
{
	s->wait_fn = wait_fn;
}

void stream_set_stall_hook(struct stream *s, stream_stall_fn *fn, void *ctx)
{
	s->stall_fn = fn;
	s->stall_ctx = ctx;
}

void stream_get_io(const struct stream *s, stream_read_fn **read_fn_r,
		   stream_write_fn **write_fn_r, void **ctx_r,
		   stream_wait_fn **wait_fn_r)
{
	*read_fn_r = s->read_fn;
	*write_fn_r = s->write_fn;
	*ctx_r = s->io_ctx;
	*wait_fn_r = s->wait_fn;
}

/* The events to poll for after the transport said EAGAIN. */
static short io_events(const struct stream *s, short events)
{
	return s->wait_fn != NULL ? s->wait_fn(s->io_ctx, events) : events;
}

void stream_set_timeout(struct stream *s, int timeout_ms)
{
	s->timeout_ms = timeout_ms;
}

int stream_fd(const struct stream *s) { return s->fd; }

/* Waits until fd is ready for events or the deadline passes. Returns 1,
 * STREAM_TIMEOUT or STREAM_IO_ERROR. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	int ret = fs_wait_fd(fd, events, deadline);

	return ret > 0 ? 1 : ret == 0 ? STREAM_TIMEOUT : STREAM_IO_ERROR;
}

/* Reads what is available into the free end of the input buffer, waiting
 * up to the timeout. Returns 1, STREAM_EOF, STREAM_TIMEOUT or
 * STREAM_IO_ERROR. */
/* Moves the unread input to the start of the buffer and wipes what is
 * left behind it. */
static void move_to_front(struct stream *s)
{
	size_t avail = s->in_end - s->in_start;

	memmove(s->in, s->in + s->in_start, avail);
	explicit_bzero(s->in + avail, s->in_end - avail);
	s->in_start = 0;
	s->in_end = avail;
}

static int fill(struct stream *s)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)s->timeout_ms;

	if (s->in_start == s->in_end) {
		/* Consumed input is wiped, not just forgotten: it may have
		 * held a password (PASS, AUTH). */
		explicit_bzero(s->in, s->in_end);
		s->in_start = s->in_end = 0;
	}
	if (s->in_end == s->in_size)
		move_to_front(s);
	for (;;) {
		ssize_t n = s->read_fn(s->io_ctx, s->in + s->in_end,
				       s->in_size - s->in_end);
		if (n > 0) {
			s->in_end += (size_t)n;
			return 1;
		}
		if (n == 0)
			return STREAM_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return STREAM_IO_ERROR;
		int ret = wait_fd(s->fd, io_events(s, POLLIN), deadline);
		if (ret != 1)
			return ret;
	}
}

/* Drops input through the next LF: the tail of an over-long line. */
static int discard_line(struct stream *s)
{
	for (;;) {
		char *lf = memchr(s->in + s->in_start, '\n',
				  s->in_end - s->in_start);
		if (lf != NULL) {
			s->in_start = (size_t)(lf - s->in) + 1;
			return STREAM_TOO_LONG;
		}
		s->in_start = s->in_end = 0;
		int ret = fill(s);
		if (ret != 1)
			return ret;
	}
}

int stream_read_line(struct stream *s, const char **line_r, size_t *len_r)
{
	size_t scanned = 0;

	for (;;) {
		char *start = s->in + s->in_start;
		size_t avail = s->in_end - s->in_start;
		char *lf = memchr(start + scanned, '\n', avail - scanned);

		if (lf != NULL) {
			size_t len = (size_t)(lf - start);
			if (len + 1 > s->line_max) {
				s->in_start += len + 1;
				return STREAM_TOO_LONG;
			}
			*lf = '\0';
			s->in_start += len + 1;
			*line_r = start;
			*len_r = len;
			return 1;
		}
		if (avail >= s->line_max)
			return discard_line(s);
		scanned = avail;
		/* Keep room for a whole line at the end of the buffer. */
		if (s->in_size - s->in_start < s->line_max + 1)
			move_to_front(s);
		int ret = fill(s);
		if (ret != 1)
			return ret;
	}
}

int stream_peek(struct stream *s, const char **data_r, size_t *len_r)
{
	if (s->in_start == s->in_end) {
		int ret = fill(s);
		if (ret != 1)
			return ret;
	}
	*data_r = s->in + s->in_start;
	*len_r = s->in_end - s->in_start;
	return 1;
}

void stream_skip(struct stream *s, size_t n)
{
	if (n > s->in_end - s->in_start)
		n = s->in_end - s->in_start;
	s->in_start += n;
}

bool stream_input_pending(const struct stream *s)
{
	return s->in_start < s->in_end;
}

/* Reads what the transport has at once, without waiting. Returns 1, 0
 * (nothing yet), STREAM_EOF or STREAM_IO_ERROR. */
static int fill_now(struct stream *s)
{
	int saved = s->timeout_ms;

	s->timeout_ms = 0;
	int ret = fill(s);
	s->timeout_ms = saved;
	return ret == STREAM_TIMEOUT ? 0 : ret;
}

int stream_poll_input(struct stream *s, int timeout_ms)
{
	if (stream_input_pending(s))
		return 1;
	/* A transport with its own buffer (TLS) may hold input that the fd
	 * no longer shows. */
	if (s->read_fn != plain_read) {
		int ret = fill_now(s);
		if (ret != 0)
			return ret;
	}
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return STREAM_IO_ERROR;
	if (n == 0)
		return 0;
	return fill_now(s);
}

size_t stream_drop_input(struct stream *s)
{
	size_t n = s->in_end - s->in_start;

	explicit_bzero(s->in, s->in_end);
	s->in_start = s->in_end = 0;
	return n;
}

/* Writes data[0..len) through the transport, waiting (bounded by the
 * timeout) while it would block. 0, or -1 with write_error set. */
static int write_all(struct stream *s, const char *data, size_t len)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)s->timeout_ms;
	size_t done = 0;

	while (done < len) {
		ssize_t n = s->write_fn(s->io_ctx, data + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			stream_stall_fn *stall = s->stall_fn;
			if (stall != NULL) {
				s->stall_fn = NULL;
				stall(s->stall_ctx);
			}
			int ret = wait_fd(s->fd, io_events(s, POLLOUT),
					  deadline);
			if (ret == 1)
				continue;
			s->write_error = ret;
		} else {
			s->write_error = STREAM_IO_ERROR;
		}
		return -1;
	}
	return 0;
}

int stream_flush(struct stream *s)
{
	if (s->write_error != 0)
		return -1;
	int ret = write_all(s, s->out, s->out_len);
	s->out_len = 0;
	return ret;
}

int stream_write(struct stream *s, const void *data, size_t len)
{
	const char *p = data;

	if (s->write_error != 0)
		return -1;
	/* A big write (a message body) goes out from the caller's memory:
	 * copying it through the buffer would cost a copy and many small
	 * sends. What is buffered goes first, to keep the order. */
	if (len >= STREAM_OUT_SIZE) {
		if (stream_flush(s) < 0)
			return -1;
		return write_all(s, p, len);
	}
	while (len > 0) {
		if (s->out_len == STREAM_OUT_SIZE && stream_flush(s) < 0)
			return -1;
		size_t room = STREAM_OUT_SIZE - s->out_len;
		size_t n = len < room ? len : room;
		memcpy(s->out + s->out_len, p, n);
		s->out_len += n;
		p += n;
		len -= n;
	}
	return 0;
}

int stream_printf(struct stream *s, const char *fmt, ...)
{
	char local[1024], *text = local;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(local, sizeof(local), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(local)) {
		text = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(text, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	int ret = stream_write(s, text, (size_t)n);
	if (text != local)
		free(text);
	return ret;
}

int stream_error(const struct stream *s) { return s->write_error; }
