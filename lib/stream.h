/* stream: buffered, bounded I/O over one connected socket for the
 * one-client-per-process daemons (smtpd), with a timeout on every read and
 * write (poll). Lines are bounded: an over-long line is reported once and
 * the rest of it is discarded, so memory stays fixed whatever the peer
 * sends. Raw octets (DATA, BDAT) are read straight from the input buffer
 * without copying.
 *
 * Output is buffered until stream_flush(): a server answers a group of
 * pipelined commands with one write by flushing only when
 * stream_input_pending() says no more input is waiting.
 *
 * The octets move through a read/write function pair so that TLS can be
 * put underneath later without changing any caller. */
#ifndef SUREL_STREAM_H
#define SUREL_STREAM_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Results of the read functions besides 1 (success). */
#define STREAM_EOF (-1)		/* the peer closed the connection */
#define STREAM_TIMEOUT (-2)	/* no octet within the timeout */
#define STREAM_IO_ERROR (-3)	/* read or write failed (errno) */
#define STREAM_TOO_LONG (-4)	/* line over the limit; it was discarded */

/* The transport. Both behave like read(2)/write(2) on a non-blocking fd:
 * -1 with errno EAGAIN means "poll and retry". */
typedef ssize_t stream_read_fn(void *ctx, void *buf, size_t len);
typedef ssize_t stream_write_fn(void *ctx, const void *buf, size_t len);

struct stream;

/* Wraps fd (the caller keeps ownership and closes it after
 * stream_free). The fd is made non-blocking, and TCP_NODELAY is set on a
 * TCP socket (the stream does its own batching). line_max is the longest
 * line stream_read_line returns, LF included; the input buffer is at
 * least that big. */
struct stream *stream_new(int fd, size_t line_max);
void stream_free(struct stream **s);
/* Replaces the transport (TLS). NULL functions restore the plain fd.
 * Also forgets a wait function set earlier. */
void stream_set_io(struct stream *s, stream_read_fn *read_fn,
		   stream_write_fn *write_fn, void *ctx);
/* After the transport failed with EAGAIN, the stream polls the fd for
 * POLLIN (reading) or POLLOUT (writing). A transport that may need the
 * other direction (TLS writes while it reads) says which with wait_fn:
 * it gets the stream's events and the ctx of stream_set_io and returns
 * the events to poll for. NULL: the stream's own. Set it after
 * stream_set_io. */
typedef short stream_wait_fn(void *ctx, short events);
void stream_set_io_wait(struct stream *s, stream_wait_fn *wait_fn);
/* The transport in use: what stream_set_io and stream_set_io_wait set
 * last (the plain fd's own functions and a NULL wait function when none
 * was), so that a layer (COMPRESS=DEFLATE) can go on top of it and later
 * be taken off with stream_set_io and stream_set_io_wait. */
void stream_get_io(const struct stream *s, stream_read_fn **read_fn_r,
		   stream_write_fn **write_fn_r, void **ctx_r,
		   stream_wait_fn **wait_fn_r);
/* A hook run once, the first time a write would have to wait for the
 * peer (its socket buffer is full: a slow reader), before the wait; then
 * forgotten. imapd uses it to release a folder lock that it holds while a
 * reply goes out to a fast client but must not hold for a slow one. The
 * hook must not use the stream. NULL: none. */
typedef void stream_stall_fn(void *ctx);
void stream_set_stall_hook(struct stream *s, stream_stall_fn *fn, void *ctx);
/* Timeout of each read and each write (poll), in milliseconds. */
void stream_set_timeout(struct stream *s, int timeout_ms);
int stream_fd(const struct stream *s);

/* Reads one line through its LF. Returns 1 with *line_r / *len_r: the line
 * without the LF (a CR before it is kept: the caller judges bare LF),
 * NUL-terminated, valid until the next read call. Or STREAM_TOO_LONG
 * (the line was read up to and including its LF, and dropped), or
 * STREAM_EOF (also when the peer closes in the middle of a line),
 * STREAM_TIMEOUT, STREAM_IO_ERROR. */
int stream_read_line(struct stream *s, const char **line_r, size_t *len_r)
	__attribute__((warn_unused_result));
/* Makes input available: returns 1 with *data_r / *len_r pointing at the
 * buffered octets (at least one; reads when none is buffered), or
 * STREAM_EOF, STREAM_TIMEOUT, STREAM_IO_ERROR. Nothing is taken until
 * stream_skip(). */
int stream_peek(struct stream *s, const char **data_r, size_t *len_r)
	__attribute__((warn_unused_result));
/* Takes n (<= what stream_peek returned) octets. */
void stream_skip(struct stream *s, size_t n);
/* True if input is already buffered (pipelined commands). */
bool stream_input_pending(const struct stream *s);
/* Waits up to timeout_ms (0: just looks) for input and reads what has
 * arrived into the buffer. Returns 1 when input is buffered, 0 when none
 * came, or STREAM_EOF / STREAM_IO_ERROR. For spotting clients that talk
 * before the greeting. */
int stream_poll_input(struct stream *s, int timeout_ms)
	__attribute__((warn_unused_result));
/* Throws away the buffered input and returns how many octets that was.
 * STARTTLS: what a client pipelined behind the command in plaintext must
 * never be read as if it had come through TLS (CVE-2011-0411). */
size_t stream_drop_input(struct stream *s);

/* Buffers output; when the buffer is full it is flushed first. Returns 0,
 * or -1 (STREAM_TIMEOUT or STREAM_IO_ERROR left in stream_error()) once a
 * write failed: later writes fail at once. */
int stream_write(struct stream *s, const void *data, size_t len);
int stream_printf(struct stream *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Writes everything buffered. 0 or -1 as stream_write. */
int stream_flush(struct stream *s);
/* The last error of a write (0 when none): STREAM_TIMEOUT or
 * STREAM_IO_ERROR. */
int stream_error(const struct stream *s);

#endif
